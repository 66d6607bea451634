/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-join [--all-slots] LOG...
 *
 * Turns access logs in the vpt log_format (conf.d/vpt-log.conf) into the
 * decision log the other tools read (JSON Lines, see the interface):
 * one line per page decision whose status is "injected" or "suppressed"
 * (not "repeat": "1", a reload of an order's page showing its decision),
 *
 *   {"decision": ID, "time": T, "page": P, "context": {...},
 *    "candidates": [...], "shown": ID | null, "propensity": x | null,
 *    "accepted": bool, "value": x, "experiment": S, "variant": S}
 *
 * shown is the first offer shown (null when suppressed), propensity that
 * slot's propensity (the probability of showing nothing when suppressed;
 * null when the module logged none, which vpt-eval refuses), accepted
 * whether an accept beacon names this decision and this offer, value the
 * accept's value, and "realized_value": the sum of the amounts that
 * vpt_conversion logged for the decision ($vpt_status "conversion"), on
 * the accepted offer's line, when there is any.  With --all-slots, every offer of a multi-slot page is a
 * line of its own, with "slot": i.  The context is the shop's JSON text
 * as logged (checked to be an object); when it has no valid local_hour
 * (an integer 0..23), the hour of the line's time is added, as the module
 * used the server's local hour.  "control" lines
 * are left out: the holdout arm is not the logging policy.
 *
 * The join reads its input twice.  The first pass keeps the accepts, keyed
 * by decision and offer: memory grows with accepts (a few per hundred
 * decisions), never with decisions.  The second pass writes.  An accept
 * may be in a later file than its page (log rotation): all files are read
 * in the first pass before any is written.  Standard input ("-") cannot
 * be read twice, so it is copied to an unlinked temporary file during the
 * first pass (disk grows with the input, memory does not).
 *
 * Bad lines are counted and the first few reported on stderr with their
 * file:line, as are accepts that match no decision.  Exit status: 0, 1
 * when a file cannot be read, 2 for bad options.
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vpt_tools.h"


typedef struct {
    double       value;
    unsigned     matched:1;
} vpt_accept_t;


typedef struct {
    vpt_jval_t   decision;
    vpt_jval_t   time;
    vpt_jval_t   status;
    vpt_jval_t   page;
    vpt_jval_t   offer;
    vpt_jval_t   value;
    vpt_jval_t   propensity;
    vpt_jval_t   variant;
    vpt_jval_t   experiment;
    vpt_jval_t   candidates;
    vpt_jval_t   context;
    vpt_jval_t   repeat;
    unsigned     seen;
} vpt_line_t;


static vpt_smap_t     accepts_map;
static vpt_accept_t  *accepts;
static size_t         naccepts;
static vpt_smap_t     conv_map;      /* decision -> conv[] */
static vpt_accept_t  *conv;          /* value: the realized sum */
static size_t         nconv;
static vpt_bad_t      bad;
static vpt_bad_t      bad_again;     /* the second pass's scan failures */
static vpt_bad_t     *scan_bad = &bad;
static char          *scratch;
static size_t         scratch_len;
static int            all_slots;
static uint64_t       written, written_accepted;


#define VPT_F(name, bit)                                                    \
    if (vpt_jkey_is(&key, #name)) { l->name = val; l->seen |= bit; continue; }


static int
vpt_line_scan(vpt_in_t *in, const char *line, size_t len, vpt_line_t *l)
{
    int          rc;
    vpt_jval_t   key, val;
    vpt_jiter_t  it;

    memset(l, 0, sizeof(vpt_line_t));

    if (in->toolong || vpt_jobj_begin(&it, line, len) != VPT_OK) {
        vpt_bad_add(scan_bad, in, "not a JSON object");
        return VPT_ERROR;
    }

    while ((rc = vpt_jobj_next(&it, &key, &val)) == 1) {
        VPT_F(decision, 0x001);
        VPT_F(time, 0x002);
        VPT_F(status, 0x004);
        VPT_F(page, 0x008);
        VPT_F(offer, 0x010);
        VPT_F(value, 0x020);
        VPT_F(propensity, 0x040);
        VPT_F(variant, 0x080);
        VPT_F(experiment, 0x100);
        VPT_F(candidates, 0x200);
        VPT_F(context, 0x400);
        VPT_F(repeat, 0x800);
    }

    if (rc != 0) {
        vpt_bad_add(scan_bad, in, "not a JSON object");
        return VPT_ERROR;
    }

    if ((l->seen & 0x015) != 0x015) {
        vpt_bad_add(scan_bad, in,
                    "no \"decision\", \"status\" or \"offer\"");
        return VPT_ERROR;
    }

    if (l->status.type != VPT_J_STR || l->decision.type != VPT_J_STR
        || l->offer.type != VPT_J_STR)
    {
        vpt_bad_add(scan_bad, in, "a field is not a string");
        return VPT_ERROR;
    }

    return VPT_OK;
}


static int
vpt_status_is(const vpt_jval_t *v, const char *s)
{
    return v->len == strlen(s) && memcmp(v->p, s, v->len) == 0;
}


/* a realized value, summed per decision (several purchases add up) */
static void
vpt_collect_conversion(vpt_in_t *in, vpt_line_t *l)
{
    long          id;
    char         *pos;
    double        value;
    size_t        dlen, vlen;
    const char   *d, *v;

    pos = scratch;

    if (vpt_jtext(&l->decision, &pos, &d, &dlen) != VPT_OK
        || !(l->seen & 0x020)
        || vpt_jtext(&l->value, &pos, &v, &vlen) != VPT_OK
        || vpt_parse_num(v, vlen, &value) != VPT_OK
        || dlen == 0 || value < 0)
    {
        vpt_bad_add(&bad, in, "conversion without decision or value");
        return;
    }

    id = vpt_smap_add(&conv_map, d, dlen);

    if ((size_t) id == nconv) {
        if ((nconv & (nconv - 1)) == 0) {
            conv = vpt_xrealloc(conv, (nconv ? nconv * 2 : 1)
                                      * sizeof(vpt_accept_t));
        }
        conv[nconv].value = 0;
        conv[nconv].matched = 0;
        nconv++;
    }

    conv[id].value += value;
}


/* pass 1: the accepts */
static void
vpt_collect(vpt_in_t *in, const char *line, size_t len)
{
    long          id;
    char         *pos, *key;
    double        value;
    size_t        dlen, olen, vlen;
    vpt_line_t    l;
    const char   *d, *o, *v;

    if (vpt_line_scan(in, line, len, &l) != VPT_OK) {
        return;
    }

    if (vpt_status_is(&l.status, "conversion")) {
        vpt_collect_conversion(in, &l);
        return;
    }

    if (!vpt_status_is(&l.status, "accept")) {
        return;
    }

    pos = scratch;

    if (vpt_jtext(&l.decision, &pos, &d, &dlen) != VPT_OK
        || vpt_jtext(&l.offer, &pos, &o, &olen) != VPT_OK
        || !(l.seen & 0x020)
        || vpt_jtext(&l.value, &pos, &v, &vlen) != VPT_OK
        || vpt_parse_num(v, vlen, &value) != VPT_OK
        || dlen == 0 || olen == 0)
    {
        vpt_bad_add(&bad, in, "accept without decision, offer or value");
        return;
    }

    key = pos;
    memcpy(key, d, dlen);
    key[dlen] = '\0';
    memcpy(key + dlen + 1, o, olen);

    id = vpt_smap_add(&accepts_map, key, dlen + 1 + olen);

    if ((size_t) id == naccepts) {
        /* the first accept of a (decision, offer) counts; repeats do not */
        if ((naccepts & (naccepts - 1)) == 0) {
            accepts = vpt_xrealloc(accepts,
                               (naccepts ? naccepts * 2 : 1)
                               * sizeof(vpt_accept_t));
        }
        accepts[naccepts].value = value;
        accepts[naccepts].matched = 0;
        naccepts++;
    }
}


static void
vpt_put_text(FILE *f, const vpt_jval_t *v, int seen)
{
    char        *pos;
    size_t       len;
    const char  *p;

    pos = scratch;

    if (!seen || vpt_jtext(v, &pos, &p, &len) != VPT_OK) {
        fputs("\"\"", f);
        return;
    }

    vpt_json_str(f, p, len);
}


/* the i-th comma-separated item, or len 0 */
static void
vpt_item(const char *p, size_t len, size_t i, const char **item,
    size_t *ilen)
{
    const char  *end, *c;

    end = p + len;

    for ( ;; ) {
        c = memchr(p, ',', end - p);
        if (i == 0) {
            *item = p;
            *ilen = (c ? c : end) - p;
            return;
        }
        if (c == NULL) {
            *item = end;
            *ilen = 0;
            return;
        }
        p = c + 1;
        i--;
    }
}


/* pass 2: the decisions */
static void
vpt_emit(vpt_in_t *in, const char *line, size_t len)
{
    int           injected, hour, h, add, dump;
    long          id;
    char         *pos, *key;
    double        prop;
    size_t        i, nslots, dlen, olen, plen, clen, xlen, slen, ilen, shlen;
    json_t       *ctx, *lh;
    vpt_line_t    l;
    const char   *d, *o, *p, *c, *x, *s, *item, *sh;
    json_error_t  je;
    FILE         *f = stdout;

    if (vpt_line_scan(in, line, len, &l) != VPT_OK) {
        return;
    }

    injected = vpt_status_is(&l.status, "injected");

    if (!injected && !vpt_status_is(&l.status, "suppressed")) {
        return;
    }

    /* a reload of an order's page: its decision was logged once already */
    if ((l.seen & 0x800) && vpt_status_is(&l.repeat, "1")) {
        return;
    }

    pos = scratch;
    p = c = x = "";
    plen = clen = xlen = 0;

    if (vpt_jtext(&l.decision, &pos, &d, &dlen) != VPT_OK
        || vpt_jtext(&l.offer, &pos, &o, &olen) != VPT_OK
        || (l.seen & 0x040
            && vpt_jtext(&l.propensity, &pos, &p, &plen) != VPT_OK)
        || (l.seen & 0x200
            && vpt_jtext(&l.candidates, &pos, &c, &clen) != VPT_OK)
        || (l.seen & 0x400
            && vpt_jjson(&l.context, &pos, &x, &xlen) != VPT_OK)
        || dlen == 0 || (injected && olen == 0))
    {
        vpt_bad_add(&bad, in, "bad decision, offer, propensity, candidates "
                    "or context");
        return;
    }

    hour = -1;
    if (l.seen & 0x002 && l.time.type == VPT_J_STR) {
        hour = vpt_time_hour(l.time.p, l.time.len);
    }

    if (xlen == 0) {
        ctx = json_object();

    } else {
        ctx = json_loadb(x, xlen, 0, &je);
        if (ctx == NULL || !json_is_object(ctx)) {
            json_decref(ctx);
            vpt_bad_add(&bad, in, "the context is not a JSON object");
            return;
        }
    }

    /*
     * The shop's text goes out as it came (numbers keep their digits);
     * a missing local_hour is appended before the closing brace.  Only a
     * local_hour of the wrong type is replaced, by writing jansson's copy.
     */

    lh = json_object_get(ctx, "local_hour");
    h = json_is_integer(lh) ? (int) json_integer_value(lh) : -1;
    add = 0;
    dump = (xlen == 0);

    if ((h < 0 || h > 23) && hour >= 0) {
        if (lh == NULL && xlen > 0) {
            add = 1;
            while (xlen > 0 && x[xlen - 1] != '}') {
                xlen--;
            }
            xlen--;

        } else {
            json_object_set_new(ctx, "local_hour", json_integer(hour));
            dump = 1;
        }
    }

    nslots = 1;
    if (injected && all_slots) {
        for (i = 0; i < olen; i++) {
            nslots += (o[i] == ',');
        }
    }

    /* the key buffer: after what was unescaped */
    key = pos;

    for (i = 0; i < nslots; i++) {
        fputs("{\"decision\": ", f);
        vpt_json_str(f, d, dlen);
        fputs(", \"time\": ", f);
        vpt_put_text(f, &l.time, l.seen & 0x002);
        fputs(", \"page\": ", f);
        vpt_put_text(f, &l.page, l.seen & 0x008);
        fputs(", \"context\": ", f);

        if (dump) {
            json_dumpf(ctx, f, JSON_COMPACT);

        } else {
            fwrite(x, 1, xlen, f);
            if (add) {
                fprintf(f, "%s\"local_hour\": %d}",
                        json_object_size(ctx) ? ", " : "", hour);
            }
        }

        fputs(", \"candidates\": [", f);

        for (s = c; s < c + clen; s = item + ilen + 1) {
            vpt_item(s, c + clen - s, 0, &item, &ilen);
            if (s != c) {
                fputs(", ", f);
            }
            vpt_json_str(f, item, ilen);
        }

        fputs("], \"shown\": ", f);

        sh = "";
        shlen = 0;

        if (injected) {
            vpt_item(o, olen, i, &sh, &shlen);
            vpt_json_str(f, sh, shlen);
        } else {
            fputs("null", f);
        }

        fputs(", \"propensity\": ", f);

        vpt_item(p, plen, injected ? i : 0, &s, &slen);
        if (vpt_parse_num(s, slen, &prop) == VPT_OK) {
            vpt_json_num(f, prop);
        } else {
            fputs("null", f);
        }

        id = -1;
        if (injected) {
            memcpy(key, d, dlen);
            key[dlen] = '\0';
            memcpy(key + dlen + 1, sh, shlen);
            id = vpt_smap_find(&accepts_map, key, dlen + 1 + shlen);
        }

        if (id >= 0) {
            accepts[id].matched = 1;
            written_accepted++;
            fputs(", \"accepted\": true, \"value\": ", f);
            vpt_json_num(f, accepts[id].value);

            id = vpt_smap_find(&conv_map, d, dlen);
            if (id >= 0) {
                conv[id].matched = 1;
                fputs(", \"realized_value\": ", f);
                vpt_json_num(f, conv[id].value);
            }
        } else {
            fputs(", \"accepted\": false, \"value\": 0", f);
        }

        fputs(", \"experiment\": ", f);
        vpt_put_text(f, &l.experiment, l.seen & 0x100);
        fputs(", \"variant\": ", f);
        vpt_put_text(f, &l.variant, l.seen & 0x080);

        if (all_slots) {
            fprintf(f, ", \"slot\": %zu", i);
        }

        fputs("}\n", f);
        written++;
    }

    json_decref(ctx);
}


static const char  vpt_usage_text[] =
    "Usage: vpt-join [--all-slots] LOG... > decisions.jsonl\n"
    "Turns nginx access logs in the vpt log_format into the decision log the\n"
    "other tools read (JSON Lines on standard output): one line per injected\n"
    "or suppressed decision, with its context, candidates, the offer shown,\n"
    "its propensity, and whether and for how much it was accepted (accepts\n"
    "may be in a later file, as after a log rotation).\n"
    "\n"
    "  --all-slots   a line per offer of a multi-slot page (with \"slot\": "
    "i),\n"
    "                not only the first\n"
    "  --help        print this help and exit\n"
    "  --version     print the version and exit\n"
    "  LOG           an access log in the vpt log_format, plain or gzip; "
    "\"-\"\n"
    "                is standard input\n"
    "\n"
    "Exit status: 0; 1 when a log cannot be read; 2 for bad options.\n";


static void vpt_join_options(int argc, char **argv, char ***logs,
    int *nlogs);
static void vpt_join_pass(int pass, char **logs, int nlogs, vpt_in_t *sin);
static void vpt_join_report(void);


int
main(int argc, char **argv)
{
    int        pass, nlogs;
    char     **logs;
    vpt_in_t   sin;

    vpt_join_options(argc, argv, &logs, &nlogs);

    vpt_smap_init(&accepts_map);
    vpt_smap_init(&conv_map);
    setvbuf(stdout, NULL, _IOFBF, 1024 * 1024);
    memset(&sin, 0, sizeof(vpt_in_t));

    /* the accepts first, then the decisions: see the top of the file */

    for (pass = 0; pass < 2; pass++) {
        vpt_join_pass(pass, logs, nlogs, &sin);
    }

    if (fflush(stdout) != 0) {
        vpt_die(1, "vpt-join: stdout: %s", strerror(errno));
    }

    vpt_join_report();

    return 0;
}


static void
vpt_join_options(int argc, char **argv, char ***logs, int *nlogs)
{
    int        c, nstdin;

    vpt_opt_t  opts[] = {
        { "all-slots", VPT_OPT_FLAG, &all_slots, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-join", vpt_usage_text);

    vpt_opt_next(argc, argv, opts);

    if (optind == argc) {
        vpt_usage(2);
    }

    nstdin = 0;
    for (c = optind; c < argc; c++) {
        nstdin += strcmp(argv[c], "-") == 0;
    }

    if (nstdin > 1) {
        vpt_die(2, "vpt-join: \"-\" can be given once");
    }

    *logs = argv + optind;
    *nlogs = argc - optind;
}


/* pass 0 collects the accepts, pass 1 writes; "-" is spooled in pass 0 */

static void
vpt_join_pass(int pass, char **logs, int nlogs, vpt_in_t *sin)
{
    int        c, rc;
    char      *line;
    size_t     len;
    vpt_in_t   in;

    for (c = 0; c < nlogs; c++) {

        if (strcmp(logs[c], "-") == 0) {
            if ((pass == 0 && vpt_in_open(sin, "-", 1) != VPT_OK)
                || (pass == 1 && vpt_in_rewind(sin) != VPT_OK))
            {
                vpt_die(1, "vpt-join: stdin: %s", strerror(errno));
            }
            in = *sin;

        } else if (vpt_in_open(&in, logs[c], 0) != VPT_OK) {
            vpt_die(1, "vpt-join: %s: %s", logs[c], strerror(errno));
        }

        /* the first pass has counted the lines that do not scan */
        scan_bad = pass == 0 ? &bad : &bad_again;

        while ((rc = vpt_in_line(&in, &line, &len)) == 1) {
            if (len == 0 && !in.toolong) {
                continue;
            }

            if (len * 2 + 16 > scratch_len) {
                scratch_len = len * 2 + 16;
                scratch = vpt_xrealloc(scratch, scratch_len);
            }

            if (pass == 0) {
                vpt_collect(&in, line, len);
            } else {
                vpt_emit(&in, line, len);
            }
        }

        if (rc < 0) {
            vpt_die(1, "vpt-join: %s: read error", logs[c]);
        }

        if (strcmp(logs[c], "-") == 0) {
            *sin = in;
            if (pass == 1) {
                vpt_in_close(sin);
            }

        } else {
            vpt_in_close(&in);
        }
    }
}


static void
vpt_join_report(void)
{
    size_t  i, unmatched;

    unmatched = 0;
    for (i = 0; i < naccepts; i++) {
        unmatched += !accepts[i].matched;
    }

    fprintf(stderr, "vpt-join: %llu decisions written, %llu accepted; "
            "%zu accepts, %zu matching no injected decision\n",
            (unsigned long long) written,
            (unsigned long long) written_accepted, naccepts, unmatched);

    vpt_bad_print(&bad, stderr);
}
