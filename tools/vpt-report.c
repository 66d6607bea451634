/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Past 800 lines on purpose: one tool, its counting and its two outputs.
 *
 * vpt-report [--json] [--catalog FILE] LOG...
 *
 * Reads nginx access logs in the "vpt" log_format (conf.d/vpt-log.conf,
 * one JSON object per line; plain or gzip; "-" is stdin) in one pass and
 * prints, per experiment and arm: decisions, impressions and accepts per
 * offer, the acceptance rate with its 95% Wilson interval, the value per
 * transaction (VPT) with its 95% interval, and the lift of treatment over
 * control.  Memory is a few counters per experiment, arm and offer: it
 * never grows with the number of decisions.
 *
 * What is counted:
 *   - a page line (any status but "accept") belongs to the arm named by
 *     its "experiment" and "variant"; without a split, to experiment "-",
 *     arm "all".  Lines with status "skipped" (not an HTML page) or "off"
 *     are counted per status but are not decisions: the module had no
 *     transaction to decide on.
 *   - every offer of an "injected" line is an impression.
 *   - an "accept" line adds one accept and its "value" to its offer and
 *     to its arm.  VPT = sum of accepted values / decisions, each decision
 *     worth 0 unless accepted; its variance uses the sums of value and
 *     value^2 (two accepts of one decision count as two independent
 *     values, a slight underestimate for multi-slot pages).
 *   - expected VPT: the module's own "value" (expected value of what was,
 *     or under control would have been, shown) per decision, to compare
 *     the model's promise with what happened.
 *   - lift: treatment VPT - control VPT, Welch interval; relative lift by
 *     the delta method, undefined while control's VPT is 0 (a holdout that
 *     sees no offers earns no offer value: then the absolute lift is the
 *     answer).
 * Lines that are not JSON objects, lack a field or have an unknown status
 * are bad: counted, the first few reported as file:line, never fatal.
 * Exit status: 0, 1 when a file cannot be read, 2 for bad options.
 *
 * --json prints one object:
 *   {"lines": N, "bad_lines": {"count": N, "first": ["file:line: why"]},
 *    "experiments": [
 *      {"experiment": "checkout" | "-",
 *       "arms": [
 *         {"arm": "treatment" | "control" | "all" | ...,
 *          "decisions": N,
 *          "statuses": {"injected": N, ...},    (only those seen)
 *          "impressions": N, "accepts": N, "accepted_value": x,
 *          "accept_rate": x | null, "accept_rate_ci95": [lo, hi] | null,
 *          "vpt": x | null, "vpt_ci95": [lo, hi] | null,
 *          "expected_vpt": x | null,
 *          "offers": [
 *            {"offer": "id", "impressions": N, "accepts": N,
 *             "accepted_value": x, "accept_rate": x | null,
 *             "accept_rate_ci95": [lo, hi] | null}]}],
 *       "lift": null | {"vpt_diff": x, "ci95": [lo, hi],
 *                       "relative": x | null,
 *                       "relative_ci95": [lo, hi] | null}}]}
 * Arms are ordered treatment, control, all, then by name; offers by
 * impressions, then accepts, descending; rates are fractions (not %).
 *
 * With --catalog, a catalog with "advertisers": per advertiser, over all
 * arms, its offers' impressions and accepts, its spend at its price (cpm
 * per impression, cpa and cpc per accept), its total budget left (null:
 * none) and its effective prices (spend per accept, per thousand
 * impressions); in --json as "advertisers": [{"advertiser": "id",
 * "impressions": N, "accepts": N, "spend": x, "budget_left": x | null,
 * "cost_per_accept": x | null, "ecpm": x | null}] after "experiments".
 */

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"
#include "vpt_advertiser.h"


#define VPT_MAX_ARMS     10000
#define VPT_MAX_OFFERS   100000      /* (arm, offer) pairs; then "(other)" */


typedef enum {
    VPT_ST_INJECTED = 0,
    VPT_ST_SUPPRESSED,
    VPT_ST_CONTROL,
    VPT_ST_NO_SESSION,
    VPT_ST_NO_CONTEXT,
    VPT_ST_BAD_CONTEXT,
    VPT_ST_REDIS_TIMEOUT,
    VPT_ST_REDIS_ERROR,
    VPT_ST_NO_ANCHOR,
    VPT_ST_SKIPPED,
    VPT_ST_OFF,
    VPT_ST_ACCEPT,
    VPT_ST_N
} vpt_status_e;


static const char  *vpt_status_names[VPT_ST_N] = {
    "injected", "suppressed", "control", "no_session", "no_context",
    "bad_context", "redis_timeout", "redis_error", "no_anchor", "skipped",
    "off", "accept"
};


typedef struct {
    char        *experiment;
    char        *arm;
    double       decisions;
    double       status[VPT_ST_N];
    double       impressions;
    double       accepts;
    double       sum;            /* accepted value */
    double       sum2;
    double       expected;       /* the module's expected value */
    size_t       noffers;
} vpt_arm_t;


typedef struct {
    uint32_t     arm;
    char        *id;
    double       impressions;
    double       accepts;
    double       value;
} vpt_offer_stat_t;


typedef struct {
    vpt_smap_t         arms_map;
    vpt_arm_t         *arms;
    size_t             narms;
    vpt_smap_t         offers_map;
    vpt_offer_stat_t  *offers;
    size_t             noffers;
    size_t             offers_cap;
    uint64_t           lines;
    vpt_bad_t          bad;
    char              *scratch;      /* unescaped strings of one line */
    size_t             scratch_len;
} vpt_report_t;


static vpt_report_t   rep;
static vpt_catalog_t *catalog;         /* --catalog, or NULL */

static void vpt_print_advertisers(FILE *f, int json);


static int
vpt_status_parse(const char *p, size_t len)
{
    int  i;

    for (i = 0; i < VPT_ST_N; i++) {
        if (strlen(vpt_status_names[i]) == len
            && memcmp(vpt_status_names[i], p, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


static long
vpt_arm_get(const char *exp, size_t elen, const char *arm, size_t alen)
{
    long        id;
    char        key[512];
    vpt_arm_t  *a;

    if (elen == 0) {
        exp = "-";
        elen = 1;
    }

    if (alen == 0) {
        arm = "all";
        alen = 3;
    }

    if (elen + alen + 1 > sizeof(key)) {
        return -1;
    }

    memcpy(key, exp, elen);
    key[elen] = '\0';
    memcpy(key + elen + 1, arm, alen);

    id = vpt_smap_find(&rep.arms_map, key, elen + 1 + alen);
    if (id >= 0) {
        return id;
    }

    if (rep.narms == VPT_MAX_ARMS) {
        return -1;
    }

    id = vpt_smap_add(&rep.arms_map, key, elen + 1 + alen);

    rep.arms = vpt_xrealloc(rep.arms, (rep.narms + 1) * sizeof(vpt_arm_t));
    a = &rep.arms[rep.narms++];
    memset(a, 0, sizeof(vpt_arm_t));
    a->experiment = rep.arms_map.key[id];
    a->arm = rep.arms_map.key[id] + elen + 1;

    return id;
}


static vpt_offer_stat_t *
vpt_offer_get(uint32_t arm, const char *id, size_t len)
{
    long               n;
    char               key[300];
    vpt_offer_stat_t  *o;

    if (len > 256 || rep.noffers >= VPT_MAX_OFFERS) {
        id = "(other)";
        len = 7;
    }

    memcpy(key, &arm, sizeof(uint32_t));
    memcpy(key + sizeof(uint32_t), id, len);

    n = vpt_smap_add(&rep.offers_map, key, sizeof(uint32_t) + len);

    if ((size_t) n == rep.noffers) {
        if (rep.noffers == rep.offers_cap) {
            rep.offers_cap = rep.offers_cap ? rep.offers_cap * 2 : 64;
            rep.offers = vpt_xrealloc(rep.offers,
                              rep.offers_cap * sizeof(vpt_offer_stat_t));
        }
        o = &rep.offers[rep.noffers++];
        memset(o, 0, sizeof(vpt_offer_stat_t));
        o->arm = arm;
        o->id = rep.offers_map.key[n] + sizeof(uint32_t);
        rep.arms[arm].noffers++;
    }

    return &rep.offers[n];
}


static void
vpt_report_line(vpt_in_t *in, const char *line, size_t len)
{
    int                st;
    long               arm;
    char              *pos;
    double             value;
    size_t             i, n, slen, olen, vlen, xlen, alen;
    vpt_arm_t         *a;
    vpt_jval_t         key, val, status, offer, vvalue, variant, exp;
    const char        *s, *o, *v, *x, *ar, *end, *why;
    vpt_jiter_t        it;
    vpt_offer_stat_t  *os;
    unsigned           seen;
    int                rc;

    rep.lines++;

    if (len > rep.scratch_len) {
        rep.scratch_len = len * 2;
        rep.scratch = vpt_xrealloc(rep.scratch, rep.scratch_len);
    }

    if (in->toolong || vpt_jobj_begin(&it, line, len) != VPT_OK) {
        vpt_bad_add(&rep.bad, in, "not a JSON object");
        return;
    }

    seen = 0;
    memset(&status, 0, sizeof(vpt_jval_t));
    offer = vvalue = variant = exp = status;

    while ((rc = vpt_jobj_next(&it, &key, &val)) == 1) {
        if (key.len < 5) {
            continue;
        }

        switch (key.p[0]) {
        case 's':
            if (vpt_jkey_is(&key, "status")) {
                status = val;
                seen |= 1;
            }
            break;
        case 'o':
            if (vpt_jkey_is(&key, "offer")) {
                offer = val;
                seen |= 2;
            }
            break;
        case 'v':
            if (vpt_jkey_is(&key, "value")) {
                vvalue = val;
                seen |= 4;
            } else if (vpt_jkey_is(&key, "variant")) {
                variant = val;
                seen |= 8;
            }
            break;
        case 'e':
            if (vpt_jkey_is(&key, "experiment")) {
                exp = val;
                seen |= 16;
            }
            break;
        }
    }

    if (rc != 0) {
        vpt_bad_add(&rep.bad, in, "not a JSON object");
        return;
    }

    if (seen != 31) {
        why = !(seen & 1) ? "no \"status\"" : !(seen & 2) ? "no \"offer\""
              : !(seen & 4) ? "no \"value\"" : !(seen & 8) ? "no \"variant\""
              : "no \"experiment\"";
        vpt_bad_add(&rep.bad, in, why);
        return;
    }

    pos = rep.scratch;

    if (vpt_jtext(&status, &pos, &s, &slen) != VPT_OK
        || vpt_jtext(&offer, &pos, &o, &olen) != VPT_OK
        || vpt_jtext(&vvalue, &pos, &v, &vlen) != VPT_OK
        || vpt_jtext(&variant, &pos, &ar, &alen) != VPT_OK
        || vpt_jtext(&exp, &pos, &x, &xlen) != VPT_OK)
    {
        vpt_bad_add(&rep.bad, in, "a field is not a string");
        return;
    }

    st = vpt_status_parse(s, slen);
    if (st < 0) {
        vpt_bad_add(&rep.bad, in, "unknown \"status\"");
        return;
    }

    value = 0;

    if (st == VPT_ST_ACCEPT
        || (vlen > 0 && (st == VPT_ST_INJECTED || st == VPT_ST_CONTROL)))
    {
        if (vpt_parse_num(v, vlen, &value) != VPT_OK) {
            vpt_bad_add(&rep.bad, in, "\"value\" is not a number");
            return;
        }
    }

    if (st == VPT_ST_ACCEPT && olen == 0) {
        vpt_bad_add(&rep.bad, in, "accept without \"offer\"");
        return;
    }

    arm = vpt_arm_get(x, xlen, ar, alen);
    if (arm < 0) {
        vpt_bad_add(&rep.bad, in, "too many experiments and arms");
        return;
    }

    a = &rep.arms[arm];
    a->status[st]++;

    if (st == VPT_ST_ACCEPT) {
        os = vpt_offer_get(arm, o, olen);
        a = &rep.arms[arm];
        os->accepts++;
        os->value += value;
        a->accepts++;
        a->sum += value;
        a->sum2 += value * value;
        return;
    }

    if (st == VPT_ST_SKIPPED || st == VPT_ST_OFF) {
        return;
    }

    a->decisions++;

    if (olen > 0) {
        a->expected += value;
    }

    if (st != VPT_ST_INJECTED) {
        return;
    }

    end = o + olen;

    while (o < end) {
        s = memchr(o, ',', end - o);
        n = (s ? s : end) - o;

        for (i = 0; i < n && o[i] == ' '; i++) {
            /* void */
        }

        if (n > i) {
            os = vpt_offer_get(arm, o + i, n - i);
            os->impressions++;
            rep.arms[arm].impressions++;
        }

        o += n + 1;
    }
}


/* results */

typedef struct {
    double       vpt;
    double       lo;
    double       hi;
    double       var;            /* of one decision's value */
    double       n;
} vpt_mean_t;


static vpt_mean_t
vpt_arm_vpt(const vpt_arm_t *a)
{
    double      se;
    vpt_mean_t  m;

    m.n = a->decisions;
    m.vpt = m.lo = m.hi = m.var = NAN;

    if (m.n <= 0) {
        return m;
    }

    m.vpt = a->sum / m.n;
    m.var = m.n > 1 ? (a->sum2 - a->sum * a->sum / m.n) / (m.n - 1) : 0;
    if (m.var < 0) {
        m.var = 0;
    }

    se = sqrt(m.var / m.n);
    m.lo = m.vpt - VPT_Z95 * se;
    m.hi = m.vpt + VPT_Z95 * se;

    return m;
}


typedef struct {
    double       diff;
    double       lo;
    double       hi;
    double       rel;
    double       rel_lo;
    double       rel_hi;
} vpt_lift_t;


static vpt_lift_t
vpt_lift(const vpt_arm_t *t, const vpt_arm_t *c)
{
    double      se, vt, vc, rse;
    vpt_lift_t  l;
    vpt_mean_t  mt, mc;

    mt = vpt_arm_vpt(t);
    mc = vpt_arm_vpt(c);

    l.diff = mt.vpt - mc.vpt;
    vt = mt.n > 0 ? mt.var / mt.n : NAN;
    vc = mc.n > 0 ? mc.var / mc.n : NAN;
    se = sqrt(vt + vc);
    l.lo = l.diff - VPT_Z95 * se;
    l.hi = l.diff + VPT_Z95 * se;

    l.rel = l.rel_lo = l.rel_hi = NAN;

    if (mc.vpt > 0) {
        /* t/c - 1 by the delta method */
        l.rel = mt.vpt / mc.vpt - 1;
        rse = sqrt(vt / (mc.vpt * mc.vpt)
                   + vc * mt.vpt * mt.vpt / pow(mc.vpt, 4));
        l.rel_lo = l.rel - VPT_Z95 * rse;
        l.rel_hi = l.rel + VPT_Z95 * rse;
    }

    return l;
}


static int
vpt_arm_rank(const char *arm)
{
    return strcmp(arm, "treatment") == 0 ? 0 : strcmp(arm, "control") == 0
           ? 1 : strcmp(arm, "all") == 0 ? 2 : 3;
}


static int
vpt_arm_cmp(const void *one, const void *two)
{
    int               d;
    const vpt_arm_t  *a = *(vpt_arm_t * const *) one;
    const vpt_arm_t  *b = *(vpt_arm_t * const *) two;

    d = strcmp(a->experiment, b->experiment);
    if (d) {
        return d;
    }

    d = vpt_arm_rank(a->arm) - vpt_arm_rank(b->arm);

    return d ? d : strcmp(a->arm, b->arm);
}


static int
vpt_offer_cmp(const void *one, const void *two)
{
    const vpt_offer_stat_t  *a = *(vpt_offer_stat_t * const *) one;
    const vpt_offer_stat_t  *b = *(vpt_offer_stat_t * const *) two;

    if (a->impressions != b->impressions) {
        return a->impressions < b->impressions ? 1 : -1;
    }

    if (a->accepts != b->accepts) {
        return a->accepts < b->accepts ? 1 : -1;
    }

    return strcmp(a->id, b->id);
}


static vpt_offer_stat_t **
vpt_arm_offers(uint32_t arm, size_t *n)
{
    size_t              i, k;
    vpt_offer_stat_t  **list;

    list = vpt_xalloc((rep.arms[arm].noffers + 1) * sizeof(void *));
    k = 0;

    for (i = 0; i < rep.noffers; i++) {
        if (rep.offers[i].arm == arm) {
            list[k++] = &rep.offers[i];
        }
    }

    qsort(list, k, sizeof(void *), vpt_offer_cmp);
    *n = k;

    return list;
}


static void
vpt_json_ci(FILE *f, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        fputs("null", f);
        return;
    }

    fputc('[', f);
    vpt_json_num(f, lo);
    fputs(", ", f);
    vpt_json_num(f, hi);
    fputc(']', f);
}


/* "impressions": N, ... "accept_rate_ci95": [lo, hi] of an arm or offer */

static void
vpt_json_rate(FILE *f, double impressions, double accepts, double value)
{
    double  lo, hi;

    fputs("\"impressions\": ", f);
    vpt_json_num(f, impressions);
    fputs(", \"accepts\": ", f);
    vpt_json_num(f, accepts);
    fputs(", \"accepted_value\": ", f);
    vpt_json_num(f, value);
    fputs(", \"accept_rate\": ", f);
    vpt_json_num(f, impressions > 0 ? accepts / impressions : NAN);
    fputs(", \"accept_rate_ci95\": ", f);
    vpt_wilson(accepts, impressions, &lo, &hi);
    vpt_json_ci(f, lo, hi);
}


static void
vpt_print_json(vpt_arm_t **order)
{
    int                 comma;
    size_t              i, j, k, n;
    uint32_t            id;
    vpt_arm_t          *a, *t, *c;
    vpt_lift_t          l;
    vpt_mean_t          m;
    vpt_offer_stat_t  **offers, *o;
    FILE               *f = stdout;

    fprintf(f, "{\"lines\": %llu, \"bad_lines\": ",
            (unsigned long long) rep.lines);
    vpt_bad_json(&rep.bad, f);
    fputs(", \"experiments\": [", f);

    for (i = 0; i < rep.narms; i = j) {
        t = c = NULL;

        fprintf(f, "%s\n  {\"experiment\": ", i ? "," : "");
        vpt_json_str(f, order[i]->experiment, strlen(order[i]->experiment));
        fputs(", \"arms\": [", f);

        for (j = i; j < rep.narms
                    && strcmp(order[j]->experiment, order[i]->experiment) == 0;
             j++)
        {
            a = order[j];
            id = (uint32_t) (a - rep.arms);

            if (strcmp(a->arm, "treatment") == 0) {
                t = a;
            } else if (strcmp(a->arm, "control") == 0) {
                c = a;
            }

            fprintf(f, "%s\n    {\"arm\": ", j > i ? "," : "");
            vpt_json_str(f, a->arm, strlen(a->arm));
            fputs(", \"decisions\": ", f);
            vpt_json_num(f, a->decisions);
            fputs(", \"statuses\": {", f);

            comma = 0;
            for (k = 0; k < VPT_ST_N; k++) {
                if (a->status[k] > 0) {
                    fprintf(f, "%s\"%s\": ", comma ? ", " : "",
                            vpt_status_names[k]);
                    vpt_json_num(f, a->status[k]);
                    comma = 1;
                }
            }

            fputs("}, ", f);
            vpt_json_rate(f, a->impressions, a->accepts, a->sum);

            m = vpt_arm_vpt(a);
            fputs(", \"vpt\": ", f);
            vpt_json_num(f, m.vpt);
            fputs(", \"vpt_ci95\": ", f);
            vpt_json_ci(f, m.lo, m.hi);
            fputs(", \"expected_vpt\": ", f);
            vpt_json_num(f, a->decisions > 0
                            ? a->expected / a->decisions : NAN);
            fputs(",\n     \"offers\": [", f);

            offers = vpt_arm_offers(id, &n);

            for (k = 0; k < n; k++) {
                o = offers[k];
                fprintf(f, "%s\n      {\"offer\": ", k ? "," : "");
                vpt_json_str(f, o->id, strlen(o->id));
                fputs(", ", f);
                vpt_json_rate(f, o->impressions, o->accepts, o->value);
                fputs("}", f);
            }

            free(offers);
            fputs("]}", f);
        }

        fputs("],\n   \"lift\": ", f);

        if (t && c && t->decisions > 0 && c->decisions > 0) {
            l = vpt_lift(t, c);
            fputs("{\"vpt_diff\": ", f);
            vpt_json_num(f, l.diff);
            fputs(", \"ci95\": ", f);
            vpt_json_ci(f, l.lo, l.hi);
            fputs(", \"relative\": ", f);
            vpt_json_num(f, l.rel);
            fputs(", \"relative_ci95\": ", f);
            vpt_json_ci(f, l.rel_lo, l.rel_hi);
            fputs("}", f);

        } else {
            fputs("null", f);
        }

        fputs("}", f);
    }

    fputs("]", f);
    vpt_print_advertisers(f, 1);
    fputs("}\n", f);
}


static void
vpt_fmt_rate(char *buf, size_t len, double k, double n)
{
    double  lo, hi;

    if (n <= 0) {
        snprintf(buf, len, "-");
        return;
    }

    vpt_wilson(k, n, &lo, &hi);
    snprintf(buf, len, "%.2f%% [%.2f%%, %.2f%%]", 100 * k / n, 100 * lo,
             100 * hi);
}


static void
vpt_print_text(vpt_arm_t **order)
{
    char                rate[64], vpt[80];
    size_t              i, j, k, n;
    uint32_t            id;
    vpt_arm_t          *a, *t, *c;
    vpt_lift_t          l;
    vpt_mean_t          m;
    vpt_offer_stat_t  **offers, *o;
    FILE               *f = stdout;

    fprintf(f, "lines: %llu, bad: %llu\n", (unsigned long long) rep.lines,
            (unsigned long long) rep.bad.count);

    for (i = 0; i < rep.narms; i = j) {
        t = c = NULL;

        fprintf(f, "\nexperiment %s\n", order[i]->experiment);
        fprintf(f, "  %-10s %10s %11s %8s  %-28s %-30s %s\n", "arm",
                "decisions", "impressions", "accepts",
                "accept rate [95% CI]", "VPT [95% CI]", "expected VPT");

        for (j = i; j < rep.narms
                    && strcmp(order[j]->experiment, order[i]->experiment) == 0;
             j++)
        {
            a = order[j];

            if (strcmp(a->arm, "treatment") == 0) {
                t = a;
            } else if (strcmp(a->arm, "control") == 0) {
                c = a;
            }

            m = vpt_arm_vpt(a);
            vpt_fmt_rate(rate, sizeof(rate), a->accepts, a->impressions);

            if (a->decisions > 0) {
                snprintf(vpt, sizeof(vpt), "%.4f [%.4f, %.4f]", m.vpt, m.lo,
                         m.hi);
            } else {
                snprintf(vpt, sizeof(vpt), "-");
            }

            fprintf(f, "  %-10s %10.0f %11.0f %8.0f  %-28s %-30s ", a->arm,
                    a->decisions, a->impressions, a->accepts, rate, vpt);

            if (a->decisions > 0) {
                fprintf(f, "%.4f\n", a->expected / a->decisions);
            } else {
                fprintf(f, "-\n");
            }
        }

        if (t && c && t->decisions > 0 && c->decisions > 0) {
            l = vpt_lift(t, c);
            fprintf(f, "  lift (treatment - control): VPT %+.4f "
                    "[%+.4f, %+.4f]", l.diff, l.lo, l.hi);

            if (isfinite(l.rel)) {
                fprintf(f, ", %+.1f%% [%+.1f%%, %+.1f%%]\n", 100 * l.rel,
                        100 * l.rel_lo, 100 * l.rel_hi);
            } else {
                fprintf(f, " (control earns no offer value: "
                        "relative lift undefined)\n");
            }
        }

        for (k = i; k < j; k++) {
            a = order[k];
            id = (uint32_t) (a - rep.arms);

            fprintf(f, "  %s %s statuses:", a->experiment, a->arm);
            for (n = 0; n < VPT_ST_N; n++) {
                if (a->status[n] > 0) {
                    fprintf(f, " %s %.0f", vpt_status_names[n],
                            a->status[n]);
                }
            }
            fputc('\n', f);

            offers = vpt_arm_offers(id, &n);
            if (n == 0) {
                free(offers);
                continue;
            }

            fprintf(f, "    %-24s %11s %8s  %-28s %s\n", "offer",
                    "impressions", "accepts", "accept rate [95% CI]",
                    "accepted value");

            for (n = 0; n < a->noffers; n++) {
                o = offers[n];
                vpt_fmt_rate(rate, sizeof(rate), o->accepts, o->impressions);
                fprintf(f, "    %-24s %11.0f %8.0f  %-28s %.2f\n", o->id,
                        o->impressions, o->accepts, rate, o->value);
            }

            free(offers);
        }
    }

    vpt_print_advertisers(f, 0);

    if (rep.bad.count) {
        fputc('\n', f);
        vpt_bad_print(&rep.bad, f);
    }
}


/* per advertiser of --catalog, over all arms: see the top of the file */

static void
vpt_print_advertisers(FILE *f, int json)
{
    long                     k;
    double                   spend, left, *imp, *acc;
    size_t                   i, n;
    vpt_str_t                id;
    const vpt_advertiser_t  *a;

    n = (catalog != NULL) ? catalog->nadvertisers : 0;

    if (n == 0) {
        return;
    }

    imp = vpt_xalloc(n * sizeof(double));
    acc = vpt_xalloc(n * sizeof(double));
    memset(imp, 0, n * sizeof(double));
    memset(acc, 0, n * sizeof(double));

    for (i = 0; i < rep.noffers; i++) {
        id.data = rep.offers[i].id;
        id.len = strlen(rep.offers[i].id);
        k = vpt_catalog_find(catalog, id);

        if (k >= 0 && catalog->offers[k].adv >= 0) {
            imp[catalog->offers[k].adv] += rep.offers[i].impressions;
            acc[catalog->offers[k].adv] += rep.offers[i].accepts;
        }
    }

    fputs(json ? ",\n \"advertisers\": [" : "\nadvertisers\n"
          "  advertiser               impressions  accepts        spend"
          "  budget left  cost/accept      eCPM\n", f);

    for (i = 0; i < n; i++) {
        a = &catalog->advertisers[i];
        spend = (imp[i] * (double) vpt_adv_impression_cost(a)
                 + acc[i] * (double) vpt_adv_accept_cost(a))
                / VPT_MONEY_UNIT;
        left = (a->total_budget == VPT_MONEY_NONE)
               ? NAN : (double) a->total_budget / VPT_MONEY_UNIT - spend;

        if (!json) {
            fprintf(f, "  %-24s %11.0f %8.0f %12.2f %12.2f %12.2f %9.2f\n",
                    a->id.data, imp[i], acc[i], spend, left,
                    acc[i] > 0 ? spend / acc[i] : NAN,
                    imp[i] > 0 ? 1000 * spend / imp[i] : NAN);
            continue;
        }

        fprintf(f, "%s\n  {\"advertiser\": ", i ? "," : "");
        vpt_json_str(f, a->id.data, a->id.len);
        fprintf(f, ", \"impressions\": %.0f, \"accepts\": %.0f, "
                "\"spend\": ", imp[i], acc[i]);
        vpt_json_num(f, spend);
        fputs(", \"budget_left\": ", f);
        vpt_json_num(f, left);
        fputs(", \"cost_per_accept\": ", f);
        vpt_json_num(f, acc[i] > 0 ? spend / acc[i] : NAN);
        fputs(", \"ecpm\": ", f);
        vpt_json_num(f, imp[i] > 0 ? 1000 * spend / imp[i] : NAN);
        fputs("}", f);
    }

    if (json) {
        fputs("]", f);
    }

    free(imp);
    free(acc);
}


static const char  vpt_usage_text[] =
    "usage: vpt-report [--json] [--catalog FILE] LOG...\n"
    "  LOG: an access log in the vpt log_format, plain or gzip; "
    "\"-\" is stdin\n";


static int vpt_report_options(int argc, char **argv);
static void vpt_report_read(char **paths, int npaths);
static void vpt_report_print(int json);


int
main(int argc, char **argv)
{
    int  json;

    json = vpt_report_options(argc, argv);
    vpt_report_read(argv + optind, argc - optind);
    vpt_report_print(json);

    return 0;
}


/* --json or not; the logs from optind */

static int
vpt_report_options(int argc, char **argv)
{
    int          json;
    const char  *catalog_file;

    vpt_opt_t    opts[] = {
        { "json", VPT_OPT_FLAG, &json, 0, 0 },
        { "catalog", VPT_OPT_STR, &catalog_file, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-report", vpt_usage_text);

    json = 0;
    catalog_file = NULL;

    vpt_opt_next(argc, argv, opts);

    if (catalog_file != NULL) {
        catalog = vpt_xcatalog_load(catalog_file);
    }

    if (optind == argc) {
        vpt_usage(2);
    }

    return json;
}


static void
vpt_report_read(char **paths, int npaths)
{
    char        *line;
    size_t       len;
    vpt_logs_t   logs;

    vpt_smap_init(&rep.arms_map);
    vpt_smap_init(&rep.offers_map);

    vpt_logs_init(&logs, paths, npaths);

    while (vpt_logs_line(&logs, &line, &len)) {
        vpt_report_line(&logs.in, line, len);
    }
}


/* the arms in their order (vpt_arm_cmp), as JSON or text */

static void
vpt_report_print(int json)
{
    size_t       i;
    vpt_arm_t  **order;

    order = vpt_xalloc((rep.narms + 1) * sizeof(vpt_arm_t *));
    for (i = 0; i < rep.narms; i++) {
        order[i] = &rep.arms[i];
    }
    qsort(order, rep.narms, sizeof(vpt_arm_t *), vpt_arm_cmp);

    if (json) {
        vpt_print_json(order);
    } else {
        vpt_print_text(order);
    }

    free(order);
}
