/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-eval --catalog FILE [--model FILE] [--long-term-weight W]
 *          [--min-value V] [--explore E] [--holdout FRACTION] [--json]
 *          [--pass ADVERTISER=P ...] LOG...
 *
 * Off-policy evaluation: what the candidate policy would have earned on
 * the logged decisions (decision log, JSON Lines, plain or gzip, "-" is
 * stdin), from what the logging policy showed and its propensities.
 *
 * The candidate is the real ranker (vpt_ranker_create() with the catalog
 * and --model, or the catalog's priors without one; one slot) with W, V
 * and E as nginx's vpt_long_term_weight, vpt_min_value and vpt_explore.
 * Its action distribution on a logged context x (page and server hour
 * from the row, no frequency-cap history) is vpt_decide()'s: with m
 * qualifying offers (eligible, EV >= V), the best with 1 - E + E/m, each
 * other with E/m; nothing with probability 1 when m is 0.  A decision's
 * seed only picks a draw from that distribution, so the estimators use
 * the distribution itself (vpt-simulate checks it against vpt_decide()).
 *
 * Per row: logged action a0 (an offer or nothing) with propensity p0,
 * reward r = the row's value (accepted value, 0 if not) and, for the
 * accept-rate version, r = accepted; w = pi(a0|x) / p0.  The reward model
 * is the candidate's own: q(x, a) = p(accept | x, a) * value(a) (p for the
 * accept rate; 0 for nothing).
 *   IPS   = mean(w r)
 *   SNIPS = sum(w r) / sum(w)
 *   DR    = mean(sum_a pi(a|x) q(x, a) + w (r - q(x, a0)))
 * 95% intervals: normal approximation from the per-row sample variance;
 * SNIPS's by the delta method, var = sum(w^2 (r - SNIPS)^2) / sum(w)^2.
 * ESS = (sum w)^2 / sum w^2: how many logged rows the estimate is worth.
 * "logging" is the observed accept rate and value per decision.  "model"
 * is the candidate's AUC and log-loss on the logged shown offers (AUC from
 * 10,000 logit bins, see vpt_tools_stats.c).
 *
 * --compare MODEL sets the candidate beside another model on the same
 * contexts: the share of rows where both pick the same best offer (or
 * both nothing), and the mean Spearman correlation of the two models'
 * expected values over the candidate's qualifying offers (rows with at
 * least two).  E.g. a new model against the one in production, or, on
 * simulated logs, a trained model against vpt-simulate's truth.
 *
 * --holdout F evaluates only the rows vpt-train --holdout F held out (the
 * split is a function of the decision id), to compare models on rows none
 * of them was trained on.
 *
 * --pass ID=P makes the candidate a pacing policy too: advertiser ID
 * takes part in a page with probability P (all its offers by one draw,
 * as nginx's even pacing does at pass P), so pi(a|x) sums over the draws
 * as well as exploration (vpt_policy_paced(), the ranker's own sum).
 * With the log's propensities summed the same way (nginx and vpt-simulate
 * log them so), a throttle can be evaluated on a log made under another.
 * Not with --compare.
 *
 * A row whose propensity is missing, null, <= 0 or > 1 cannot be
 * evaluated: vpt-eval stops with "FILE:LINE: ..." and exit status 2.
 * Malformed lines are counted, the first 10 reported with file:line, and
 * skipped.  A logged offer the catalog no longer has is an action the
 * candidate never takes (w = 0); such rows are counted.  Exit status: 0,
 * 1 for unreadable input, 2 for bad options, catalog, model, propensity.
 *
 * --json prints:
 *   {"rows": N,
 *    "logging": {"accept_rate": x, "value": x, "ci95": [lo, hi]},
 *    "ips": {"accept_rate": x, "value": x, "ci95": [lo, hi],
 *            "accept_rate_ci95": [lo, hi]},
 *    "snips": {...}, "dr": {...},
 *    "ess": x, "model": {"auc": x, "logloss": x},
 *    "unknown_offers": N, "bad_lines": {"count": N, "first": [...]},
 *    "compare": {"top_agreement": x, "spearman": x}}   (with --compare)
 * ci95 is for value; undefined numbers are null.
 */

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"


/* sums for one reward (value, or accepted) */
typedef struct {
    double       ips;
    double       ips2;
    double       wr;
    double       w2r;
    double       w2r2;
    double       dr;
    double       dr2;
    double       log;
    double       log2;
} vpt_sums_t;


typedef struct {
    double       est;
    double       lo;
    double       hi;
} vpt_est_t;


/* the options */
typedef struct {
    const char      *catalog;
    const char      *model;
    const char      *compare;
    double           ltw;
    double           minv;
    double           explore;
    double           holdout;
    int              json;
    const char      *pass[64];         /* --pass, as given */
    unsigned         npass;
    char           **logs;
    int              nlogs;
} vpt_eval_opts_t;


/* the candidate, its scratch, and the sums over the rows */
typedef struct {
    vpt_catalog_t   *cat;
    vpt_ranker_t    *rk;
    vpt_ranker_t    *crk;              /* --compare's; NULL without */
    void            *scratch;
    uint32_t        *qidx;             /* the candidate's offers, best */
    double          *qp;               /* first, and their p(accept) */
    double          *ev1;              /* --compare: expected values */
    double          *ev2;
    double          *rtmp;

    double           n_rows;
    double           sum_w;
    double           sum_w2;
    vpt_sums_t       sv;               /* reward: value */
    vpt_sums_t       sa;               /* reward: accepted */
    vpt_auc_t       *auc;
    vpt_bad_t        bad;
    uint64_t         unknown;
    double           agree;
    double           rho_sum;
    double           rho_n;
    vpt_paced_t      paced;            /* --pass */
    double          *prob;
} vpt_eval_t;


/* Spearman's rho of two score lists (average ranks for ties) */
static void
vpt_ranks(const double *x, size_t n, double *rank)
{
    size_t  i, j, less, same;

    for (i = 0; i < n; i++) {
        less = same = 0;
        for (j = 0; j < n; j++) {
            less += x[j] < x[i];
            same += x[j] == x[i];
        }
        rank[i] = less + (same + 1) / 2.0;
    }
}


static double
vpt_spearman(const double *a, const double *b, size_t n, double *tmp)
{
    size_t   i;
    double   ma, mb, sab, saa, sbb, *ra, *rb;

    ra = tmp;
    rb = tmp + n;
    vpt_ranks(a, n, ra);
    vpt_ranks(b, n, rb);

    ma = mb = (n + 1) / 2.0;
    sab = saa = sbb = 0;

    for (i = 0; i < n; i++) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }

    return (saa > 0 && sbb > 0) ? sab / sqrt(saa * sbb) : NAN;
}


static void
vpt_sums_add(vpt_sums_t *s, double w, double r, double dm, double q0)
{
    double  x;

    s->ips += w * r;
    s->ips2 += w * r * w * r;
    s->wr += w * r;
    s->w2r += w * w * r;
    s->w2r2 += w * w * r * r;

    x = dm + w * (r - q0);
    s->dr += x;
    s->dr2 += x * x;

    s->log += r;
    s->log2 += r * r;
}


static vpt_est_t
vpt_mean_est(double sum, double sum2, double n)
{
    double     var;
    vpt_est_t  e;

    if (n <= 0) {
        e.est = e.lo = e.hi = NAN;
        return e;
    }

    e.est = sum / n;
    var = n > 1 ? (sum2 - sum * sum / n) / (n - 1) : 0;
    var = var > 0 ? var : 0;
    e.lo = e.est - VPT_Z95 * sqrt(var / n);
    e.hi = e.est + VPT_Z95 * sqrt(var / n);

    return e;
}


static vpt_est_t
vpt_snips_est(const vpt_eval_t *ev, const vpt_sums_t *s)
{
    double     var, v, sum_w, sum_w2;
    vpt_est_t  e;

    sum_w = ev->sum_w;
    sum_w2 = ev->sum_w2;

    if (!(sum_w > 0)) {
        e.est = e.lo = e.hi = NAN;
        return e;
    }

    v = s->wr / sum_w;

    /* sum w^2 (r - v)^2 = sum w^2 r^2 - 2 v sum w^2 r + v^2 sum w^2 */
    var = (s->w2r2 - 2 * v * s->w2r + v * v * sum_w2) / (sum_w * sum_w);
    var = var > 0 ? var : 0;

    e.est = v;
    e.lo = v - VPT_Z95 * sqrt(var);
    e.hi = v + VPT_Z95 * sqrt(var);

    return e;
}


static void
vpt_json_ci(FILE *f, const vpt_est_t *e)
{
    if (!isfinite(e->lo) || !isfinite(e->hi)) {
        fputs("null", f);
        return;
    }

    fputc('[', f);
    vpt_json_num(f, e->lo);
    fputs(", ", f);
    vpt_json_num(f, e->hi);
    fputc(']', f);
}


static void
vpt_json_est(FILE *f, const char *name, const vpt_est_t *acc,
    const vpt_est_t *val)
{
    fprintf(f, "\"%s\": {\"accept_rate\": ", name);
    vpt_json_num(f, acc->est);
    fputs(", \"value\": ", f);
    vpt_json_num(f, val->est);
    fputs(", \"ci95\": ", f);
    vpt_json_ci(f, val);
    fputs(", \"accept_rate_ci95\": ", f);
    vpt_json_ci(f, acc);
    fputs("}", f);
}


static void
vpt_text_est(FILE *f, const char *name, const vpt_est_t *acc,
    const vpt_est_t *val)
{
    fprintf(f, "  %-8s accept rate %.4f [%.4f, %.4f]   "
            "value per decision %.4f [%.4f, %.4f]\n", name, acc->est,
            acc->lo, acc->hi, val->est, val->lo, val->hi);
}


static const char  vpt_usage_text[] =
    "Usage: vpt-eval --catalog FILE [--model FILE] [--long-term-weight W]\n"
    "         [--min-value V] [--explore E] [--holdout FRACTION]\n"
    "         [--compare MODEL] [--json] LOG...\n"
    "Off-policy evaluation: what a candidate ranking policy would have earned\n"
    "on the logged decisions (a decision log from vpt-join), estimated from\n"
    "what was shown and its logged propensities (IPS, SNIPS, doubly robust),\n"
    "with 95% intervals and the effective sample size.\n"
    "\n"
    "  --catalog FILE          the offer catalog (as vpt_catalog)\n"
    "  --model FILE            the candidate's model (as vpt_model); without\n"
    "                          one, the catalog's priors\n"
    "  --long-term-weight W    as vpt_long_term_weight (default 1)\n"
    "  --min-value V           as vpt_min_value (default 0)\n"
    "  --explore E             as vpt_explore, 0 to 1 (default 0)\n"
    "  --holdout FRACTION      only the rows vpt-train --holdout FRACTION "
    "held\n"
    "                          out (default: every row)\n"
    "  --compare MODEL         also compare the candidate with MODEL on "
    "the same\n"
    "                          contexts: how often both pick the same best "
    "offer,\n"
    "                          and how alike they rank offers (Spearman)\n"
    "  --pass ADVERTISER=P     the candidate paces the advertiser: it takes\n"
    "                          part in a page with probability P (0 to 1);\n"
    "                          repeatable\n"
    "  --json                  print one JSON object instead of text\n"
    "  --help                  print this help and exit\n"
    "  --version               print the version and exit\n"
    "  LOG                     a decision log (JSON Lines), plain or gzip; "
    "\"-\"\n"
    "                          is standard input\n"
    "\n"
    "Exit status: 0; 1 for unreadable input; 2 for bad options, catalog,\n"
    "model, or a row without a usable propensity (log with vpt_explore > 0).\n";


static void vpt_eval_options(int argc, char **argv, vpt_eval_opts_t *o);
static void vpt_eval_init(vpt_eval_t *ev, const vpt_eval_opts_t *o);
static void vpt_eval_run(vpt_eval_t *ev, const vpt_eval_opts_t *o);
static void vpt_eval_row(vpt_eval_t *ev, const vpt_eval_opts_t *o,
    const vpt_row_t *row);
static void vpt_eval_row_paced(vpt_eval_t *ev, const vpt_eval_opts_t *o,
    const vpt_row_t *row);
static void vpt_eval_compare(vpt_eval_t *ev, const vpt_eval_opts_t *o,
    const vpt_row_t *row, size_t m);
static void vpt_eval_report_json(const vpt_eval_t *ev, FILE *f);
static void vpt_eval_report_text(const vpt_eval_t *ev,
    const vpt_eval_opts_t *o, FILE *f);


int
main(int argc, char **argv)
{
    vpt_eval_t       ev;
    vpt_eval_opts_t  o;

    vpt_eval_options(argc, argv, &o);
    vpt_eval_init(&ev, &o);
    vpt_eval_run(&ev, &o);

    if (o.json) {
        vpt_eval_report_json(&ev, stdout);

    } else {
        vpt_eval_report_text(&ev, &o, stdout);
    }

    return 0;
}


static void
vpt_eval_options(int argc, char **argv, vpt_eval_opts_t *o)
{
    const vpt_opt_t  *got;

    vpt_opt_t  opts[] = {
        { "catalog", VPT_OPT_STR, &o->catalog, 0, 0 },
        { "model", VPT_OPT_STR, &o->model, 0, 0 },
        { "long-term-weight", VPT_OPT_NUM, &o->ltw, -1e9, 1e9 },
        { "min-value", VPT_OPT_NUM, &o->minv, -1e18, 1e18 },
        { "explore", VPT_OPT_NUM, &o->explore, 0, 1 },
        { "holdout", VPT_OPT_NUM, &o->holdout, 0, 1 },
        { "compare", VPT_OPT_STR, &o->compare, 0, 0 },
        { "json", VPT_OPT_FLAG, &o->json, 0, 0 },
        { "pass", VPT_OPT_OWN, &o->pass, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-eval", vpt_usage_text);

    memset(o, 0, sizeof(vpt_eval_opts_t));
    o->ltw = 1;

    while ((got = vpt_opt_next(argc, argv, opts)) != NULL) {
        if (o->npass == 64) {
            vpt_die(2, "vpt-eval: --pass: at most 64");
        }

        o->pass[o->npass++] = optarg;
    }

    if (o->npass > 0 && o->compare != NULL) {
        vpt_die(2, "vpt-eval: --pass and --compare do not go together");
    }

    if (o->catalog == NULL || optind == argc) {
        vpt_usage(2);
    }

    o->logs = argv + optind;
    o->nlogs = argc - optind;
}


static void
vpt_eval_init(vpt_eval_t *ev, const vpt_eval_opts_t *o)
{
    size_t    n;
    unsigned  i;

    memset(ev, 0, sizeof(vpt_eval_t));

    ev->cat = vpt_xcatalog_load(o->catalog);
    ev->rk = vpt_xranker_create(ev->cat, vpt_xmodel_load(o->model));

    if (o->compare != NULL) {
        ev->crk = vpt_xranker_create(ev->cat, vpt_xmodel_load(o->compare));
    }

    n = ev->cat->n + 1;

    ev->ev1 = vpt_xalloc(n * sizeof(double));
    ev->ev2 = vpt_xalloc(n * sizeof(double));
    ev->rtmp = vpt_xalloc(n * 2 * sizeof(double));
    ev->scratch = vpt_xalloc(vpt_ranker_scratch_size(ev->rk)
                             + (ev->crk ? vpt_ranker_scratch_size(ev->crk)
                                        : 0));
    ev->qidx = vpt_xalloc(n * sizeof(uint32_t));
    ev->qp = vpt_xalloc(n * sizeof(double));
    ev->auc = vpt_xalloc(sizeof(vpt_auc_t));

    vpt_paced_init(&ev->paced, ev->rk, ev->cat);
    ev->prob = vpt_xalloc(n * sizeof(double));

    for (i = 0; i < o->npass; i++) {
        vpt_paced_arg(&ev->paced, ev->cat, "vpt-eval", o->pass[i]);
    }
}


static void
vpt_eval_run(vpt_eval_t *ev, const vpt_eval_opts_t *o)
{
    const char  *why;
    vpt_buf_t    buf;
    vpt_row_t   *row;
    vpt_logs_t   logs;

    row = vpt_xalloc(sizeof(vpt_row_t));
    memset(&buf, 0, sizeof(vpt_buf_t));

    vpt_logs_init(&logs, o->logs, o->nlogs);

    while (vpt_logs_row(&logs, row, ev->cat, &buf, &ev->bad)) {
        if (!row->has_propensity || !(row->propensity > 0)
            || row->propensity > 1)
        {
            if (row->propensity_absent) {
                why = "no \"propensity\"";
            } else if (!row->has_propensity) {
                why = "\"propensity\" is null";
            } else {
                why = "\"propensity\" is not in (0, 1]";
            }

            vpt_die(2, "vpt-eval: %s:%lu: %s: the row cannot be "
                    "evaluated off-policy (fix the log or leave the "
                    "row out)", logs.in.path, logs.in.lineno, why);
        }

        if (o->holdout > 0
            && !vpt_heldout(row->decision, row->decision_len, o->holdout))
        {
            continue;
        }

        vpt_eval_row(ev, o, row);
    }
}


static void
vpt_eval_row(vpt_eval_t *ev, const vpt_eval_opts_t *o, const vpt_row_t *row)
{
    long                  at;
    size_t                i, m;
    double                eps, pi, w, p0, dmv, dma, q0v, q0a, sumq, sumqv;
    const double         *qp;
    const uint32_t       *qidx;
    const vpt_catalog_t  *cat;

    cat = ev->cat;
    eps = o->explore;
    qidx = ev->qidx;
    qp = ev->qp;

    /* the candidate's distribution and reward model */

    if (ev->paced.set) {
        vpt_eval_row_paced(ev, o, row);
        return;
    }

    m = vpt_policy_offers(ev->rk, cat, &row->ctx, row->page, row->hour,
                          o->ltw, o->minv, ev->scratch, ev->qidx, ev->qp);

    dmv = dma = 0;

    if (m > 0) {
        sumq = sumqv = 0;
        for (i = 0; i < m; i++) {
            sumq += qp[i];
            sumqv += qp[i] * vpt_ranker_value(ev->rk, qidx[i]);
        }
        dma = (1 - eps) * qp[0] + eps * sumq / m;
        dmv = (1 - eps) * qp[0] * vpt_ranker_value(ev->rk, qidx[0])
              + eps * sumqv / m;
    }

    if (ev->crk != NULL) {
        vpt_eval_compare(ev, o, row, m);
    }

    /* the logged action */

    p0 = row->propensity;
    q0v = q0a = 0;

    if (row->shown < 0) {
        pi = (m == 0) ? 1 : 0;
        ev->unknown += row->unknown_offer;

    } else {
        at = -1;
        for (i = 0; i < m; i++) {
            if (qidx[i] == (uint32_t) row->shown) {
                at = (long) i;
                break;
            }
        }

        pi = (at < 0) ? 0 : (at == 0 ? 1 - eps : 0) + eps / m;

        q0a = (at >= 0) ? qp[at]
                        : vpt_ranker_p(ev->rk, &row->ctx, row->page,
                                       row->hour, row->shown);
        q0v = q0a * vpt_ranker_value(ev->rk, row->shown);

        vpt_auc_add(ev->auc, q0a, row->accepted, 1);
    }

    w = pi / p0;

    ev->n_rows++;
    ev->sum_w += w;
    ev->sum_w2 += w * w;

    vpt_sums_add(&ev->sv, w, row->value, dmv, q0v);
    vpt_sums_add(&ev->sa, w, row->accepted ? 1 : 0, dma, q0a);
}


/* the same with --pass: pi over the draws too (vpt_policy_paced()) */

static void
vpt_eval_row_paced(vpt_eval_t *ev, const vpt_eval_opts_t *o,
    const vpt_row_t *row)
{
    size_t   i, m;
    double   pi, w, dmv, dma, q0v, q0a, nothing, v;

    m = vpt_policy_paced(&ev->paced, ev->rk, ev->cat, &row->ctx, row->page,
                         row->hour, o->ltw, o->minv, o->explore,
                         ev->paced.pass, ev->qidx, ev->qp, ev->prob,
                         &nothing);

    dmv = dma = 0;
    pi = (row->shown < 0) ? nothing : 0;
    q0v = q0a = 0;

    for (i = 0; i < m; i++) {
        v = vpt_ranker_value(ev->rk, ev->qidx[i]);
        dma += ev->prob[i] * ev->qp[i];
        dmv += ev->prob[i] * ev->qp[i] * v;

        if (row->shown >= 0 && ev->qidx[i] == (uint32_t) row->shown) {
            pi = ev->prob[i];
        }
    }

    if (row->shown < 0) {
        ev->unknown += row->unknown_offer;

    } else {
        q0a = vpt_ranker_p(ev->rk, &row->ctx, row->page, row->hour,
                           row->shown);
        q0v = q0a * vpt_ranker_value(ev->rk, row->shown);
        vpt_auc_add(ev->auc, q0a, row->accepted, 1);
    }

    w = pi / row->propensity;

    ev->n_rows++;
    ev->sum_w += w;
    ev->sum_w2 += w * w;

    vpt_sums_add(&ev->sv, w, row->value, dmv, q0v);
    vpt_sums_add(&ev->sa, w, row->accepted ? 1 : 0, dma, q0a);
}


/* --compare: the same best offer, and the order of expected values */

static void
vpt_eval_compare(vpt_eval_t *ev, const vpt_eval_opts_t *o,
    const vpt_row_t *row, size_t m)
{
    size_t              i, m2;
    double              rho;
    const vpt_offer_t  *of;

    for (i = 0; i < m; i++) {
        of = &ev->cat->offers[ev->qidx[i]];
        ev->ev1[i] = ev->qp[i] * (vpt_ranker_value(ev->rk, ev->qidx[i])
                                  + o->ltw * of->long_term_value);
        ev->ev2[i] = vpt_ranker_p(ev->crk, &row->ctx, row->page, row->hour,
                                  ev->qidx[i])
                     * (vpt_ranker_value(ev->crk, ev->qidx[i])
                        + o->ltw * of->long_term_value);
    }

    m2 = 0;
    for (i = 1; i < m; i++) {
        if (ev->ev2[i] > ev->ev2[m2]) {
            m2 = i;
        }
    }

    ev->agree += (m == 0 || m2 == 0);

    if (m >= 2) {
        rho = vpt_spearman(ev->ev1, ev->ev2, m, ev->rtmp);
        if (isfinite(rho)) {
            ev->rho_sum += rho;
            ev->rho_n++;
        }
    }
}


static void
vpt_eval_report_json(const vpt_eval_t *ev, FILE *f)
{
    double     n;
    vpt_est_t  acc, val;

    n = ev->n_rows;

    fprintf(f, "{\"rows\": %.0f,\n \"logging\": {\"accept_rate\": ", n);
    acc = vpt_mean_est(ev->sa.log, ev->sa.log2, n);
    val = vpt_mean_est(ev->sv.log, ev->sv.log2, n);
    vpt_json_num(f, acc.est);
    fputs(", \"value\": ", f);
    vpt_json_num(f, val.est);
    fputs(", \"ci95\": ", f);
    vpt_json_ci(f, &val);
    fputs(", \"accept_rate_ci95\": ", f);
    vpt_json_ci(f, &acc);
    fputs("},\n ", f);

    acc = vpt_mean_est(ev->sa.ips, ev->sa.ips2, n);
    val = vpt_mean_est(ev->sv.ips, ev->sv.ips2, n);
    vpt_json_est(f, "ips", &acc, &val);
    fputs(",\n ", f);

    acc = vpt_snips_est(ev, &ev->sa);
    val = vpt_snips_est(ev, &ev->sv);
    vpt_json_est(f, "snips", &acc, &val);
    fputs(",\n ", f);

    acc = vpt_mean_est(ev->sa.dr, ev->sa.dr2, n);
    val = vpt_mean_est(ev->sv.dr, ev->sv.dr2, n);
    vpt_json_est(f, "dr", &acc, &val);

    fputs(",\n \"ess\": ", f);
    vpt_json_num(f, ev->sum_w2 > 0 ? ev->sum_w * ev->sum_w / ev->sum_w2
                                   : NAN);
    fputs(", \"model\": {\"auc\": ", f);
    vpt_json_num(f, vpt_auc(ev->auc));
    fputs(", \"logloss\": ", f);
    vpt_json_num(f, vpt_auc_logloss(ev->auc));
    fprintf(f, "},\n \"unknown_offers\": %llu, \"bad_lines\": ",
            (unsigned long long) ev->unknown);
    vpt_bad_json(&ev->bad, f);

    if (ev->crk != NULL) {
        fputs(",\n \"compare\": {\"top_agreement\": ", f);
        vpt_json_num(f, n > 0 ? ev->agree / n : NAN);
        fputs(", \"spearman\": ", f);
        vpt_json_num(f, ev->rho_n > 0 ? ev->rho_sum / ev->rho_n : NAN);
        fputs("}", f);
    }

    fputs("}\n", f);
}


static void
vpt_eval_report_text(const vpt_eval_t *ev, const vpt_eval_opts_t *o,
    FILE *f)
{
    double     n;
    vpt_est_t  acc, val;

    n = ev->n_rows;

    fprintf(f, "rows: %.0f%s (bad lines: %llu, logged offers not in the "
            "catalog: %llu)\n", n, o->holdout > 0 ? " held out" : "",
            (unsigned long long) ev->bad.count,
            (unsigned long long) ev->unknown);

    acc = vpt_mean_est(ev->sa.log, ev->sa.log2, n);
    val = vpt_mean_est(ev->sv.log, ev->sv.log2, n);
    fprintf(f, "logging policy (observed):\n");
    vpt_text_est(f, "logged", &acc, &val);

    fprintf(f, "candidate (%s, long-term weight %g, min value %g, "
            "explore %g), 95%% intervals:\n",
            o->model ? o->model : "catalog priors", o->ltw, o->minv,
            o->explore);

    acc = vpt_mean_est(ev->sa.ips, ev->sa.ips2, n);
    val = vpt_mean_est(ev->sv.ips, ev->sv.ips2, n);
    vpt_text_est(f, "IPS", &acc, &val);

    acc = vpt_snips_est(ev, &ev->sa);
    val = vpt_snips_est(ev, &ev->sv);
    vpt_text_est(f, "SNIPS", &acc, &val);

    acc = vpt_mean_est(ev->sa.dr, ev->sa.dr2, n);
    val = vpt_mean_est(ev->sv.dr, ev->sv.dr2, n);
    vpt_text_est(f, "DR", &acc, &val);

    fprintf(f, "effective sample size: %.1f of %.0f rows\n",
            ev->sum_w2 > 0 ? ev->sum_w * ev->sum_w / ev->sum_w2 : 0, n);
    fprintf(f, "model on the logged offers: AUC %.4f, log-loss %.5f\n",
            vpt_auc(ev->auc), vpt_auc_logloss(ev->auc));

    if (ev->crk != NULL) {
        fprintf(f, "against %s: same best offer on %.1f%% of rows, mean "
                "Spearman of expected values %.3f\n", o->compare,
                n > 0 ? 100 * ev->agree / n : NAN,
                ev->rho_n > 0 ? ev->rho_sum / ev->rho_n : NAN);
    }

    vpt_bad_print(&ev->bad, f);
}
