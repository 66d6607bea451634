/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-eval --catalog FILE [--model FILE] [--long-term-weight W]
 *          [--min-value V] [--explore E] [--holdout FRACTION] [--json]
 *          LOG...
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


static double  n_rows, sum_w, sum_w2;


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
vpt_snips_est(const vpt_sums_t *s)
{
    double     var, v;
    vpt_est_t  e;

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
    "usage: vpt-eval --catalog FILE [--model FILE] "
    "[--long-term-weight W] [--min-value V]\n"
    "         [--explore E] [--holdout FRACTION] [--json] LOG...\n";


int
main(int argc, char **argv)
{
    int              json;
    long             at;
    size_t           i, m;
    uint32_t        *qidx;
    uint64_t         unknown;
    double           ltw, minv, eps, holdout, *qp, pi, w, p0, dmv, dma;
    double           q0v, q0a, sumq, sumqv, value0;
    void            *scratch;
    FILE            *f;
    vpt_bad_t        bad;
    vpt_logs_t       logs;
    vpt_buf_t        buf;
    vpt_auc_t       *auc;
    vpt_row_t       *row;
    vpt_est_t        acc, val, lacc, lval;
    vpt_sums_t       sv, sa;
    vpt_model_t     *model;
    vpt_ranker_t    *rk;
    vpt_catalog_t   *cat;
    const char      *catalog, *model_path, *cmp_path, *why;
    double          *ev1, *ev2, *rtmp, agree, rho_sum, rho_n, rho;
    size_t           m2;
    vpt_model_t     *cmodel;
    vpt_ranker_t    *crk;

    vpt_opt_t        opts[] = {
        { "catalog", VPT_OPT_STR, &catalog, 0, 0 },
        { "model", VPT_OPT_STR, &model_path, 0, 0 },
        { "long-term-weight", VPT_OPT_NUM, &ltw, -1e9, 1e9 },
        { "min-value", VPT_OPT_NUM, &minv, -1e18, 1e18 },
        { "explore", VPT_OPT_NUM, &eps, 0, 1 },
        { "holdout", VPT_OPT_NUM, &holdout, 0, 1 },
        { "compare", VPT_OPT_STR, &cmp_path, 0, 0 },
        { "json", VPT_OPT_FLAG, &json, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-eval", vpt_usage_text);

    catalog = model_path = cmp_path = NULL;
    ltw = 1;
    minv = 0;
    eps = 0;
    holdout = 0;
    json = 0;

    vpt_opt_next(argc, argv, opts);

    if (catalog == NULL || optind == argc) {
        vpt_usage(2);
    }

    cat = vpt_xcatalog_load(catalog);
    model = vpt_xmodel_load(model_path);
    rk = vpt_xranker_create(cat, model);

    crk = NULL;
    if (cmp_path != NULL) {
        cmodel = vpt_xmodel_load(cmp_path);
        crk = vpt_xranker_create(cat, cmodel);
    }

    ev1 = vpt_xalloc((cat->n + 1) * sizeof(double));
    ev2 = vpt_xalloc((cat->n + 1) * sizeof(double));
    rtmp = vpt_xalloc((cat->n + 1) * 2 * sizeof(double));
    agree = rho_sum = rho_n = 0;

    scratch = vpt_xalloc(vpt_ranker_scratch_size(rk) + (crk ?
                         vpt_ranker_scratch_size(crk) : 0));
    vpt_jansson_arena();
    qidx = vpt_xalloc((cat->n + 1) * sizeof(uint32_t));
    qp = vpt_xalloc((cat->n + 1) * sizeof(double));
    row = vpt_xalloc(sizeof(vpt_row_t));
    auc = vpt_xalloc(sizeof(vpt_auc_t));

    memset(&bad, 0, sizeof(vpt_bad_t));
    memset(&buf, 0, sizeof(vpt_buf_t));
    memset(&sv, 0, sizeof(vpt_sums_t));
    memset(&sa, 0, sizeof(vpt_sums_t));
    unknown = 0;

    vpt_logs_init(&logs, argv + optind, argc - optind);

    while (vpt_logs_row(&logs, row, cat, &buf, &bad)) {
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

        if (holdout > 0
            && !vpt_heldout(row->decision, row->decision_len, holdout))
        {
            continue;
        }

        /* the candidate's distribution and reward model */

        m = vpt_policy_offers(rk, cat, &row->ctx, row->page, row->hour,
                              ltw, minv, scratch, qidx, qp);

        dmv = dma = 0;

        if (m > 0) {
            sumq = sumqv = 0;
            for (i = 0; i < m; i++) {
                sumq += qp[i];
                sumqv += qp[i] * vpt_ranker_value(rk, qidx[i]);
            }
            dma = (1 - eps) * qp[0] + eps * sumq / m;
            dmv = (1 - eps) * qp[0] * vpt_ranker_value(rk, qidx[0])
                  + eps * sumqv / m;
        }

        if (crk != NULL) {
            for (i = 0; i < m; i++) {
                ev1[i] = qp[i] * (vpt_ranker_value(rk, qidx[i])
                                  + ltw * cat->offers[qidx[i]]
                                              .long_term_value);
                ev2[i] = vpt_ranker_p(crk, &row->ctx, row->page,
                                      row->hour, qidx[i])
                         * (vpt_ranker_value(crk, qidx[i])
                            + ltw * cat->offers[qidx[i]].long_term_value);
            }

            m2 = 0;
            for (i = 1; i < m; i++) {
                if (ev2[i] > ev2[m2]) {
                    m2 = i;
                }
            }

            agree += (m == 0 || m2 == 0);

            if (m >= 2) {
                rho = vpt_spearman(ev1, ev2, m, rtmp);
                if (isfinite(rho)) {
                    rho_sum += rho;
                    rho_n++;
                }
            }
        }

        /* the logged action */

        p0 = row->propensity;
        q0v = q0a = 0;

        if (row->shown < 0) {
            pi = (m == 0) ? 1 : 0;
            unknown += row->unknown_offer;

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
                            : vpt_ranker_p(rk, &row->ctx, row->page,
                                           row->hour, row->shown);
            value0 = vpt_ranker_value(rk, row->shown);
            q0v = q0a * value0;

            vpt_auc_add(auc, q0a, row->accepted, 1);
        }

        w = pi / p0;

        n_rows++;
        sum_w += w;
        sum_w2 += w * w;

        vpt_sums_add(&sv, w, row->value, dmv, q0v);
        vpt_sums_add(&sa, w, row->accepted ? 1 : 0, dma, q0a);
    }

    f = stdout;

    if (json) {
        fprintf(f, "{\"rows\": %.0f,\n \"logging\": {\"accept_rate\": ",
                n_rows);
        lacc = vpt_mean_est(sa.log, sa.log2, n_rows);
        lval = vpt_mean_est(sv.log, sv.log2, n_rows);
        vpt_json_num(f, lacc.est);
        fputs(", \"value\": ", f);
        vpt_json_num(f, lval.est);
        fputs(", \"ci95\": ", f);
        vpt_json_ci(f, &lval);
        fputs(", \"accept_rate_ci95\": ", f);
        vpt_json_ci(f, &lacc);
        fputs("},\n ", f);

        acc = vpt_mean_est(sa.ips, sa.ips2, n_rows);
        val = vpt_mean_est(sv.ips, sv.ips2, n_rows);
        vpt_json_est(f, "ips", &acc, &val);
        fputs(",\n ", f);

        acc = vpt_snips_est(&sa);
        val = vpt_snips_est(&sv);
        vpt_json_est(f, "snips", &acc, &val);
        fputs(",\n ", f);

        acc = vpt_mean_est(sa.dr, sa.dr2, n_rows);
        val = vpt_mean_est(sv.dr, sv.dr2, n_rows);
        vpt_json_est(f, "dr", &acc, &val);

        fputs(",\n \"ess\": ", f);
        vpt_json_num(f, sum_w2 > 0 ? sum_w * sum_w / sum_w2 : NAN);
        fputs(", \"model\": {\"auc\": ", f);
        vpt_json_num(f, vpt_auc(auc));
        fputs(", \"logloss\": ", f);
        vpt_json_num(f, vpt_auc_logloss(auc));
        fprintf(f, "},\n \"unknown_offers\": %llu, \"bad_lines\": ",
                (unsigned long long) unknown);
        vpt_bad_json(&bad, f);

        if (crk != NULL) {
            fputs(",\n \"compare\": {\"top_agreement\": ", f);
            vpt_json_num(f, n_rows > 0 ? agree / n_rows : NAN);
            fputs(", \"spearman\": ", f);
            vpt_json_num(f, rho_n > 0 ? rho_sum / rho_n : NAN);
            fputs("}", f);
        }

        fputs("}\n", f);

        return 0;
    }

    fprintf(f, "rows: %.0f%s (bad lines: %llu, logged offers not in the "
            "catalog: %llu)\n", n_rows, holdout > 0 ? " held out" : "",
            (unsigned long long) bad.count, (unsigned long long) unknown);

    lacc = vpt_mean_est(sa.log, sa.log2, n_rows);
    lval = vpt_mean_est(sv.log, sv.log2, n_rows);
    fprintf(f, "logging policy (observed):\n");
    vpt_text_est(f, "logged", &lacc, &lval);

    fprintf(f, "candidate (%s, long-term weight %g, min value %g, "
            "explore %g), 95%% intervals:\n",
            model_path ? model_path : "catalog priors", ltw, minv, eps);

    acc = vpt_mean_est(sa.ips, sa.ips2, n_rows);
    val = vpt_mean_est(sv.ips, sv.ips2, n_rows);
    vpt_text_est(f, "IPS", &acc, &val);

    acc = vpt_snips_est(&sa);
    val = vpt_snips_est(&sv);
    vpt_text_est(f, "SNIPS", &acc, &val);

    acc = vpt_mean_est(sa.dr, sa.dr2, n_rows);
    val = vpt_mean_est(sv.dr, sv.dr2, n_rows);
    vpt_text_est(f, "DR", &acc, &val);

    fprintf(f, "effective sample size: %.1f of %.0f rows\n",
            sum_w2 > 0 ? sum_w * sum_w / sum_w2 : 0, n_rows);
    fprintf(f, "model on the logged offers: AUC %.4f, log-loss %.5f\n",
            vpt_auc(auc), vpt_auc_logloss(auc));

    if (crk != NULL) {
        fprintf(f, "against %s: same best offer on %.1f%% of rows, mean "
                "Spearman of expected values %.3f\n", cmp_path,
                n_rows > 0 ? 100 * agree / n_rows : NAN,
                rho_n > 0 ? rho_sum / rho_n : NAN);
    }

    vpt_bad_print(&bad, f);

    return 0;
}
