/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-score --catalog FILE [--model FILE] [--long-term-weight W]
 *           [--page cart|confirmation] [--hour H] [--json]
 *           [CONTEXT_JSON_FILE | -]
 *
 * Scores one session context the way nginx does: reads the context (the
 * JSON object a shop stores in Redis; a file, or "-" / nothing for
 * stdin), parses it with vpt_context_parse() (nginx's own parser of the
 * Redis text), and for every offer of the catalog that the ranker's rules
 * let through (vpt_eligible(), no impressions, nothing accepted) prints
 *
 *   p   = vpt_ranker_p(): the ranker's own path (the per-offer FM sums
 *         precomputed at vpt_ranker_create(), the shopper's once), or
 *         the catalog prior without --model;
 *   EV  = p * (value + W * long_term_value), W from --long-term-weight
 *         (default 1, like vpt_long_term_weight);
 *
 * best EV first (ties: catalog order, as vpt_decide() breaks them), and
 * what vpt_decide() picks with one slot, no exploration, min value 0:
 * the offer nginx shows and its $vpt_value.
 *
 * The hour is --hour, else the local hour now (nginx uses its server's
 * local hour); a context's "local_hour" wins over either, for the rules
 * and the features alike.
 *
 * To tell a ranker bug from a feature bug, each offer also carries
 * "logit" (vpt_ranker_logit(), the fast path) and "logit_ref":
 * vpt_model_logit(), the model's reference implementation, over the
 * shopper's and the offer's features as vpt-train lists them
 * (vpt_row_features()).  Both are null without a model.
 *
 * --json prints one object, numbers with 17 significant digits:
 *   {"page": "confirmation", "hour": H,
 *    "offers": [{"offer": id, "p": x, "ev": x, "logit": x,
 *                "logit_ref": x}, ...],
 *    "chosen": id | null, "value": x}
 * where "hour" is the one the features used (the context's local_hour,
 * else the server's) and "value" is vpt_decide()'s total value (0 when
 * nothing is chosen).
 *
 * Exit status: 0; 1 when the context cannot be read; 2 for bad options,
 * catalog, model, or a context nginx would call bad_context (not a JSON
 * object, or larger than 64 KB).
 */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpt_tools.h"


typedef struct {
    uint32_t     offer;
    double       p;
    double       ev;
    double       logit;
    double       logit_ref;
} vpt_score_t;


static const char  vpt_usage_text[] =
    "usage: vpt-score --catalog FILE [--model FILE] "
    "[--long-term-weight W]\n"
    "         [--page cart|confirmation] [--hour H] [--json] "
    "[CONTEXT_JSON_FILE|-]\n";


/* a number with every bit of it: 17 significant digits, null if not finite */
static void
vpt_json_exact(FILE *f, double x)
{
    if (!isfinite(x)) {
        fputs("null", f);
        return;
    }

    fprintf(f, "%.17g", x);
}


/* the whole context, at most one byte past what nginx accepts */
static char *
vpt_read_context(const char *path, size_t *len)
{
    char    *buf;
    size_t   n, max;
    FILE    *f;

    if (strcmp(path, "-") == 0) {
        f = stdin;

    } else {
        f = fopen(path, "rb");
        if (f == NULL) {
            vpt_die(1, "vpt-score: %s: %s", path, strerror(errno));
        }
    }

    max = VPT_CTX_MAX_BYTES + 1;
    buf = vpt_xalloc(max + 1);
    n = fread(buf, 1, max, f);

    if (ferror(f)) {
        vpt_die(1, "vpt-score: %s: %s", path, strerror(errno));
    }

    if (f != stdin) {
        fclose(f);
    }

    if (n > VPT_CTX_MAX_BYTES) {
        vpt_die(2, "vpt-score: %s: the context is larger than %d bytes "
                "(nginx: bad_context)", path, VPT_CTX_MAX_BYTES);
    }

    buf[n] = '\0';
    *len = n;

    return buf;
}


static int
vpt_score_cmp(const void *a, const void *b)
{
    const vpt_score_t  *x, *y;

    x = a;
    y = b;

    if (x->ev > y->ev) {
        return -1;
    }

    if (x->ev < y->ev) {
        return 1;
    }

    return (x->offer > y->offer) - (x->offer < y->offer);
}


/* the options */
typedef struct {
    const char      *catalog;
    const char      *model;
    const char      *path;             /* the context's file, or "-" */
    double           ltw;
    vpt_page_e       page;
    int              hour;             /* the server's: given, or now */
    int              json;
} vpt_score_opts_t;


/* the ranker, the shopper, and the scores of every eligible offer */
typedef struct {
    vpt_catalog_t   *cat;
    vpt_model_t     *model;
    vpt_ranker_t    *rk;
    char            *text;
    char            *arena;
    vpt_context_t    ctx;
    int              used_hour;        /* the context's, else the server's */
    vpt_score_t     *sc;               /* best first */
    size_t           n;
    vpt_decision_t   d;                /* what nginx decides */
} vpt_score_run_t;


static void vpt_score_options(int argc, char **argv, vpt_score_opts_t *o);
static void vpt_score_init(vpt_score_run_t *sr, const vpt_score_opts_t *o);
static void vpt_score_run(vpt_score_run_t *sr, const vpt_score_opts_t *o);
static void vpt_score_report_json(const vpt_score_run_t *sr,
    const vpt_score_opts_t *o);
static void vpt_score_report_text(const vpt_score_run_t *sr,
    const vpt_score_opts_t *o);
static void vpt_score_free(vpt_score_run_t *sr);


int
main(int argc, char **argv)
{
    vpt_score_run_t   sr;
    vpt_score_opts_t  o;

    vpt_score_options(argc, argv, &o);
    vpt_score_init(&sr, &o);
    vpt_score_run(&sr, &o);

    if (o.json) {
        vpt_score_report_json(&sr, &o);

    } else {
        vpt_score_report_text(&sr, &o);
    }

    if (fflush(stdout) != 0) {
        vpt_die(1, "vpt-score: stdout: %s", strerror(errno));
    }

    vpt_score_free(&sr);

    return 0;
}


static void
vpt_score_options(int argc, char **argv, vpt_score_opts_t *o)
{
    int               page;
    time_t            now;
    struct tm         tm;
    vpt_str_t         s;
    const vpt_opt_t  *opt;

    vpt_opt_t         opts[] = {
        { "catalog", VPT_OPT_STR, &o->catalog, 0, 0 },
        { "model", VPT_OPT_STR, &o->model, 0, 0 },
        { "long-term-weight", VPT_OPT_NUM, &o->ltw, -1e9, 1e9 },
        { "page", VPT_OPT_OWN, NULL, 0, 0 },
        { "hour", VPT_OPT_OWN, NULL, 0, 0 },
        { "json", VPT_OPT_FLAG, &o->json, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-score", vpt_usage_text);

    memset(o, 0, sizeof(vpt_score_opts_t));
    o->ltw = 1;
    o->page = VPT_PAGE_CONFIRMATION;
    o->hour = -1;

    while ((opt = vpt_opt_next(argc, argv, opts)) != NULL) {
        if (strcmp(opt->name, "page") == 0) {
            s.data = optarg;
            s.len = strlen(optarg);
            page = vpt_page_parse(s);
            if (page < 0) {
                vpt_die(2, "vpt-score: --page: expected cart or "
                        "confirmation, not \"%s\"", optarg);
            }
            o->page = (vpt_page_e) page;

        } else { /* "hour" */
            o->hour = (int) vpt_num_arg("--hour", optarg, 0, 23);
            if (o->hour != atof(optarg)) {
                vpt_die(2, "vpt-score: --hour: expected a whole hour "
                        "0-23, not \"%s\"", optarg);
            }
        }
    }

    if (o->catalog == NULL || argc - optind > 1) {
        vpt_usage(2);
    }

    o->path = (optind < argc) ? argv[optind] : "-";

    if (o->hour < 0) {
        /* as nginx: ngx_localtime() of now */
        now = time(NULL);
        localtime_r(&now, &tm);
        o->hour = tm.tm_hour;
    }
}


static void
vpt_score_init(vpt_score_run_t *sr, const vpt_score_opts_t *o)
{
    size_t  len;

    memset(sr, 0, sizeof(vpt_score_run_t));

    sr->cat = vpt_xcatalog_load(o->catalog);
    sr->model = vpt_xmodel_load(o->model);
    sr->rk = vpt_xranker_create(sr->cat, sr->model);

    sr->text = vpt_read_context(o->path, &len);
    sr->arena = vpt_xalloc(len + 1);

    if (vpt_context_parse(&sr->ctx, sr->text, len, sr->arena, len + 1)
        != VPT_OK)
    {
        vpt_die(2, "vpt-score: %s: not a JSON object (nginx: bad_context)",
                o->path);
    }

    sr->used_hour = (sr->ctx.local_hour >= 0) ? sr->ctx.local_hour
                                               : o->hour;
    sr->sc = vpt_xalloc((sr->cat->n + 1) * sizeof(vpt_score_t));
}


/* every eligible offer through the ranker's own scoring, and its choice */

static void
vpt_score_run(vpt_score_run_t *sr, const vpt_score_opts_t *o)
{
    int                    hour;
    size_t                 i, n, nf;
    void                  *scratch;
    vpt_page_e             page;
    vpt_feat_t            *feat;
    vpt_score_t           *sc;
    vpt_decide_params_t    dp;
    const vpt_offer_t     *of;
    const vpt_context_t   *ctx;

    page = o->page;
    hour = o->hour;
    ctx = &sr->ctx;
    sc = sr->sc;
    feat = vpt_xalloc(2 * VPT_MAX_FEATURES * sizeof(vpt_feat_t));
    n = 0;

    for (i = 0; i < sr->cat->n; i++) {
        of = &sr->cat->offers[i];

        if (!vpt_eligible(of, ctx, page, hour, 0, 0)) {
            continue;
        }

        sc[n].offer = (uint32_t) i;
        sc[n].p = vpt_ranker_p(sr->rk, ctx, page, hour, i);
        sc[n].ev = sc[n].p * (vpt_ranker_value(sr->rk, i)
                              + o->ltw * of->long_term_value);

        if (sr->model != NULL) {
            sc[n].logit = vpt_ranker_logit(sr->rk, ctx, page, hour, i);
            nf = vpt_row_features(ctx, page, hour, of, feat,
                                  2 * VPT_MAX_FEATURES);
            sc[n].logit_ref = vpt_model_logit(sr->model, feat, nf);

        } else {
            sc[n].logit = NAN;
            sc[n].logit_ref = NAN;
        }

        n++;
    }

    qsort(sc, n, sizeof(vpt_score_t), vpt_score_cmp);
    sr->n = n;

    /* what nginx decides: one slot, no exploration, min value 0 */

    memset(&dp, 0, sizeof(vpt_decide_params_t));
    dp.page = page;
    dp.hour = hour;
    dp.slots = 1;
    dp.min_value = 0;
    dp.long_term_weight = o->ltw;
    dp.explore = 0;

    scratch = vpt_xalloc(vpt_ranker_scratch_size(sr->rk));
    vpt_decide(sr->rk, ctx, &dp, scratch, &sr->d);

    if (sr->d.eligible != n) {
        fprintf(stderr, "vpt-score: warning: vpt_decide() found %zu "
                "eligible offers, vpt_eligible() %zu\n", sr->d.eligible, n);
    }

    free(scratch);
    free(feat);
}


static void
vpt_score_report_json(const vpt_score_run_t *sr, const vpt_score_opts_t *o)
{
    size_t              i;
    const vpt_offer_t  *of;

    printf("{\"page\": \"%s\", \"hour\": %d, \"offers\": [",
           vpt_page_name(o->page), sr->used_hour);

    for (i = 0; i < sr->n; i++) {
        of = &sr->cat->offers[sr->sc[i].offer];
        fputs(i ? ", {\"offer\": " : "{\"offer\": ", stdout);
        vpt_json_str(stdout, of->id.data, of->id.len);
        fputs(", \"p\": ", stdout);
        vpt_json_exact(stdout, sr->sc[i].p);
        fputs(", \"ev\": ", stdout);
        vpt_json_exact(stdout, sr->sc[i].ev);
        fputs(", \"logit\": ", stdout);
        vpt_json_exact(stdout, sr->sc[i].logit);
        fputs(", \"logit_ref\": ", stdout);
        vpt_json_exact(stdout, sr->sc[i].logit_ref);
        fputs("}", stdout);
    }

    fputs("], \"chosen\": ", stdout);

    if (sr->d.n > 0) {
        of = &sr->cat->offers[sr->d.offer[0]];
        vpt_json_str(stdout, of->id.data, of->id.len);

    } else {
        fputs("null", stdout);
    }

    fputs(", \"value\": ", stdout);
    vpt_json_exact(stdout, sr->d.n > 0 ? sr->d.total_value : 0);
    fputs("}\n", stdout);
}


static void
vpt_score_report_text(const vpt_score_run_t *sr, const vpt_score_opts_t *o)
{
    size_t              i;
    const vpt_offer_t  *of;

    printf("page %s, hour %d%s, %s, long-term weight %g\n",
           vpt_page_name(o->page), sr->used_hour,
           sr->ctx.local_hour >= 0 ? " (the context's local_hour)" : "",
           sr->model != NULL ? o->model : "catalog priors", o->ltw);

    if (sr->n == 0) {
        printf("no eligible offer\n");
    }

    for (i = 0; i < sr->n; i++) {
        of = &sr->cat->offers[sr->sc[i].offer];
        printf("  %-24.*s  p %.6f  EV %10.6f\n", (int) of->id.len,
               of->id.data, sr->sc[i].p, sr->sc[i].ev);
    }

    if (sr->d.n > 0) {
        of = &sr->cat->offers[sr->d.offer[0]];
        printf("chosen: %.*s (expected value %.6f)\n", (int) of->id.len,
               of->id.data, sr->d.total_value);

    } else {
        printf("chosen: nothing%s\n",
               sr->d.suppressed ? " (suppressed)" : "");
    }
}


static void
vpt_score_free(vpt_score_run_t *sr)
{
    free(sr->sc);
    free(sr->arena);
    free(sr->text);
    vpt_ranker_free(sr->rk);
    vpt_model_free(sr->model);
    vpt_catalog_free(sr->cat);
}
