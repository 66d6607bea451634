/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The advertisers' side of a simulated shop (vpt-simulate): budgets per
 * day, pacing's throttle updated on the simulated clock once a sync
 * interval as a node does, the gate of each page (vpt_adv_gate(), as
 * nginx calls it), spend charged as nginx charges it (cpm per impression,
 * cpa and cpc per accept), and what each advertiser got.
 */

#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"


/* simulated seconds between pacing updates (vpt_spend_sync) */
#define VPT_MARKET_SYNC   60.0
#define VPT_MARKET_DAY    86400.0


void
vpt_market_init(vpt_market_t *mk, const vpt_catalog_t *c,
    const vpt_paced_t *fixed, int64_t start)
{
    size_t  k, n;

    memset(mk, 0, sizeof(vpt_market_t));

    n = c->nadvertisers + 1;

    mk->c = c;
    mk->start = start;
    mk->day = -1;
    mk->next_sync = -1;
    mk->fixed = fixed;
    mk->st = vpt_xalloc(n * sizeof(vpt_adv_state_t));
    mk->pc = vpt_xalloc(n * sizeof(vpt_pacing_t));
    mk->imps = vpt_xalloc(n * sizeof(uint64_t));
    mk->accs = vpt_xalloc(n * sizeof(uint64_t));
    mk->spend = vpt_xalloc(n * sizeof(vpt_money_t));
    mk->pass_sum = vpt_xalloc(n * sizeof(double));
    mk->gate = vpt_xalloc(c->n + 1);
    mk->pass = vpt_xalloc((c->n + 1) * sizeof(double));
    mk->pe = vpt_xalloc((c->n + 1) * sizeof(double));

    memset(mk->st, 0, n * sizeof(vpt_adv_state_t));
    memset(mk->imps, 0, n * sizeof(uint64_t));
    memset(mk->accs, 0, n * sizeof(uint64_t));
    memset(mk->spend, 0, n * sizeof(vpt_money_t));
    memset(mk->pass_sum, 0, n * sizeof(double));

    for (k = 0; k < c->nadvertisers; k++) {
        vpt_pacing_reset(&mk->pc[k]);
        mk->st[k].pass = 1;
    }
}


/* t: simulated seconds from the start, on day t / 86400 */

void
vpt_market_gate(vpt_market_t *mk, double t, uint64_t seed)
{
    int                      day;
    size_t                   i, k;
    double                   sod, budget;
    const vpt_advertiser_t  *a;

    day = (int) (t / VPT_MARKET_DAY);
    sod = t - day * VPT_MARKET_DAY;

    if (day != mk->day) {
        for (k = 0; k < mk->c->nadvertisers; k++) {
            mk->st[k].spent_day = 0;
        }

        mk->day = day;
    }

    if (t >= mk->next_sync) {
        for (k = 0; k < mk->c->nadvertisers; k++) {
            a = &mk->c->advertisers[k];

            if (mk->fixed != NULL && mk->fixed->adv_set[k]) {
                /* a stationary policy: P whatever it spends */
                mk->st[k].pass = mk->fixed->adv_pass[k];
                mk->st[k].spent_day = 0;
                mk->st[k].spent_total = 0;
                continue;
            }

            if (a->daily_budget == VPT_MONEY_NONE) {
                mk->st[k].pass = 1;
                continue;
            }

            budget = (double) a->daily_budget / VPT_MONEY_UNIT;
            mk->st[k].pass = vpt_pacing_update(&mk->pc[k],
                                 a->pacing == VPT_PACING_EVEN, budget,
                                 (double) mk->st[k].spent_day
                                 / VPT_MONEY_UNIT,
                                 sod, VPT_MARKET_DAY);
        }

        mk->next_sync = t + VPT_MARKET_SYNC;
    }

    for (k = 0; k < mk->c->nadvertisers; k++) {
        mk->pass_sum[k] += mk->st[k].pass;
    }

    mk->pages++;

    vpt_adv_gate(mk->c, mk->st, mk->start + (int64_t) t, NULL, 0, seed,
                 mk->gate, mk->pass);

    /* what can take part, for the policy's distribution */

    for (i = 0; i < mk->c->n; i++) {
        mk->pe[i] = (mk->gate[i] & VPT_GATE_OUT) ? 0 : mk->pass[i];
    }
}


void
vpt_market_charge(vpt_market_t *mk, uint32_t offer, int accepted)
{
    long                     k;
    vpt_money_t              cost;
    const vpt_advertiser_t  *a;

    k = mk->c->offers[offer].adv;

    if (mk->c->offers[offer].kind != VPT_KIND_THIRD_PARTY || k < 0) {
        return;
    }

    a = &mk->c->advertisers[k];
    cost = vpt_adv_impression_cost(a);
    mk->imps[k]++;

    if (accepted) {
        mk->accs[k]++;
        cost += vpt_adv_accept_cost(a);
    }

    mk->spend[k] += cost;

    if (mk->fixed == NULL || !mk->fixed->adv_set[k]) {
        mk->st[k].spent_day += cost;
        mk->st[k].spent_total += cost;
    }
}


/* a JSON array: per advertiser what it got, and its mean pass per page */

void
vpt_market_report(const vpt_market_t *mk, FILE *f)
{
    size_t                   k;
    double                   pages;
    const vpt_advertiser_t  *a;

    pages = mk->pages ? (double) mk->pages : 1;

    fputc('[', f);

    for (k = 0; k < mk->c->nadvertisers; k++) {
        a = &mk->c->advertisers[k];

        fputs(k ? ", {\"id\": " : "{\"id\": ", f);
        vpt_json_str(f, a->id.data, a->id.len);
        fprintf(f, ", \"impressions\": %llu, \"accepts\": %llu, "
                "\"spend\": %.6f, \"spend_per_day\": %.6f, "
                "\"daily_budget\": ",
                (unsigned long long) mk->imps[k],
                (unsigned long long) mk->accs[k],
                (double) mk->spend[k] / VPT_MONEY_UNIT,
                (double) mk->spend[k] / VPT_MONEY_UNIT
                / (mk->day >= 0 ? mk->day + 1 : 1));

        if (a->daily_budget == VPT_MONEY_NONE) {
            fputs("null", f);
        } else {
            fprintf(f, "%.6f", (double) a->daily_budget / VPT_MONEY_UNIT);
        }

        fprintf(f, ", \"mean_pass\": %.6f}", mk->pass_sum[k] / pages);
    }

    fputc(']', f);
}
