// The demo's operator page: the status page's counters and the decision
// log's last lines, read every 2 seconds and shown as tables.
"use strict";

function metrics(text) {
    const m = [];
    for (const line of text.split("\n")) {
        const r = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
        if (!r) continue;
        const labels = {};
        for (const l of (r[2] || "").matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]] = l[2];
        m.push({ name: r[1], labels: labels, value: Number(r[3]) });
    }
    return m;
}

function sum(m, name) {
    return m.filter(x => x.name === name).reduce((a, x) => a + x.value, 0);
}

function pct(x) {
    return isFinite(x) ? (100 * x).toFixed(1) + "%" : "-";
}

function cell(tr, text, cls) {
    const td = tr.insertCell();
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
}

function clear(table) {
    while (table.rows.length > 1) table.deleteRow(1);
}

function show(m) {
    const total = sum(m, "vpt_requests_total");
    const st = {};
    m.filter(x => x.name === "vpt_status_total")
     .forEach(x => { st[x.labels.status] = x.value; });
    const pages = total - (st.accept || 0);
    const shown = sum(m, "vpt_impressions_total");
    const acc = sum(m, "vpt_accepts_total");
    document.getElementById("c-decisions").textContent = pages;
    document.getElementById("c-injected").textContent = pct((st.injected || 0) / pages);
    document.getElementById("c-accepts").textContent = acc;
    document.getElementById("c-rate").textContent = pct(acc / shown);
    const conn = m.filter(x => x.name === "vpt_redis_connected");
    const open = m.filter(x => x.name === "vpt_redis_breaker_state" && x.value === 1);
    document.getElementById("c-redis").textContent =
        conn.length && conn.every(x => x.value === 1) && !open.length
        ? "connected" : "DOWN";

    const t = document.getElementById("statuses");
    clear(t);
    Object.keys(st).filter(k => st[k] > 0).sort((a, b) => st[b] - st[a])
        .forEach(k => {
            const tr = t.insertRow();
            cell(tr, k, "st-" + k);
            cell(tr, st[k], "num");
            const bar = document.createElement("span");
            bar.className = "bar";
            bar.style.width = Math.round(160 * st[k] / total) + "px";
            tr.insertCell().appendChild(bar);
        });

    const o = document.getElementById("offers");
    clear(o);
    const imp = {}, acc2 = {};
    m.forEach(x => {
        if (x.name === "vpt_impressions_total") imp[x.labels.offer] = x.value;
        if (x.name === "vpt_accepts_total") acc2[x.labels.offer] = x.value;
    });
    Object.keys(imp).sort((a, b) => imp[b] - imp[a]).forEach(k => {
        const tr = o.insertRow();
        cell(tr, k);
        cell(tr, imp[k], "num");
        cell(tr, acc2[k] || 0, "num");
        cell(tr, imp[k] ? pct((acc2[k] || 0) / imp[k]) : "-", "num");
    });
}

function decisions(text) {
    const lines = text.split("\n").filter(l => l.startsWith("{"));
    const t = document.getElementById("decisions");
    clear(t);
    lines.slice(-15).reverse().forEach(l => {
        let d;
        try { d = JSON.parse(l); } catch (e) { return; }
        let who = "-";
        try {
            // an object; logs before $vpt_log_json held its text
            const c = typeof d.context === "string" ? JSON.parse(d.context)
                                                    : d.context;
            who = c.user.id;
        } catch (e) { /* none */ }
        const tr = t.insertRow();
        cell(tr, (d.time || "").substr(11, 8));
        cell(tr, who);
        cell(tr, d.page || "-");
        cell(tr, d.status, "st-" + d.status);
        cell(tr, d.offer || "-");
        const has = v => v !== null && v !== undefined && v !== "" && v !== "-";
        cell(tr, has(d.value) ? Number(d.value).toFixed(2) : "-", "num");
        cell(tr, d.experiment ? d.experiment + ": " + d.variant : "-");
        cell(tr, has(d.redis_time)
                 ? (d.redis_time >= 0.001
                    ? (1000 * d.redis_time).toFixed(0) + " ms" : "< 1 ms")
                 : "-", "num");
    });
}

async function tick() {
    try {
        const s = await fetch("/vpt/status", { cache: "no-store" });
        show(metrics(await s.text()));
        const l = await fetch("/demo/decisions.log",
                              { cache: "no-store", headers: { Range: "bytes=-16384" } });
        decisions(l.ok ? await l.text() : "");
        document.getElementById("updated").textContent =
            "Updated " + new Date().toLocaleTimeString() + ".";
    } catch (e) {
        document.getElementById("updated").textContent = "Not reachable: " + e;
    }
}

tick();
setInterval(tick, 2000);
