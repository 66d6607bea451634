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


int
main(int argc, char **argv)
{
    int                    json, hour, used_hour, page;
    char                  *text, *arena;
    size_t                 i, n, len, nf;
    double                 ltw;
    void                  *scratch;
    time_t                 now;
    struct tm              tm;
    vpt_str_t              s;
    vpt_feat_t            *feat;
    vpt_score_t           *sc;
    vpt_model_t           *model;
    vpt_ranker_t          *rk;
    vpt_catalog_t         *cat;
    vpt_context_t         *ctx;
    vpt_decision_t         d;
    vpt_decide_params_t    dp;
    const char            *catalog, *model_path, *path;
    const vpt_opt_t       *opt;
    const vpt_offer_t     *o;

    vpt_opt_t              opts[] = {
        { "catalog", VPT_OPT_STR, &catalog, 0, 0 },
        { "model", VPT_OPT_STR, &model_path, 0, 0 },
        { "long-term-weight", VPT_OPT_NUM, &ltw, -1e9, 1e9 },
        { "page", VPT_OPT_OWN, &page, 0, 0 },
        { "hour", VPT_OPT_OWN, &hour, 0, 0 },
        { "json", VPT_OPT_FLAG, &json, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-score", vpt_usage_text);

    catalog = model_path = NULL;
    ltw = 1;
    page = VPT_PAGE_CONFIRMATION;
    hour = -1;
    json = 0;

    while ((opt = vpt_opt_next(argc, argv, opts)) != NULL) {
        if (strcmp(opt->name, "page") == 0) {
            s.data = optarg;
            s.len = strlen(optarg);
            page = vpt_page_parse(s);
            if (page < 0) {
                vpt_die(2, "vpt-score: --page: expected cart or "
                        "confirmation, not \"%s\"", optarg);
            }

        } else { /* "hour" */
            hour = (int) vpt_num_arg("--hour", optarg, 0, 23);
            if (hour != atof(optarg)) {
                vpt_die(2, "vpt-score: --hour: expected a whole hour "
                        "0-23, not \"%s\"", optarg);
            }
        }
    }

    if (catalog == NULL || argc - optind > 1) {
        vpt_usage(2);
    }

    path = (optind < argc) ? argv[optind] : "-";

    if (hour < 0) {
        /* as nginx: ngx_localtime() of now */
        now = time(NULL);
        localtime_r(&now, &tm);
        hour = tm.tm_hour;
    }

    cat = vpt_xcatalog_load(catalog);
    model = vpt_xmodel_load(model_path);
    rk = vpt_xranker_create(cat, model);

    text = vpt_read_context(path, &len);
    arena = vpt_xalloc(len + 1);
    ctx = vpt_xalloc(sizeof(vpt_context_t));

    if (vpt_context_parse(ctx, text, len, arena, len + 1) != VPT_OK) {
        vpt_die(2, "vpt-score: %s: not a JSON object (nginx: bad_context)",
                path);
    }

    used_hour = (ctx->local_hour >= 0) ? ctx->local_hour : hour;

    /* every eligible offer, through the ranker's own scoring */

    sc = vpt_xalloc((cat->n + 1) * sizeof(vpt_score_t));
    feat = vpt_xalloc(2 * VPT_MAX_FEATURES * sizeof(vpt_feat_t));
    n = 0;

    for (i = 0; i < cat->n; i++) {
        o = &cat->offers[i];

        if (!vpt_eligible(o, ctx, (vpt_page_e) page, hour, 0, 0)) {
            continue;
        }

        sc[n].offer = (uint32_t) i;
        sc[n].p = vpt_ranker_p(rk, ctx, (vpt_page_e) page, hour, i);
        sc[n].ev = sc[n].p * (vpt_ranker_value(rk, i)
                              + ltw * o->long_term_value);

        if (model != NULL) {
            sc[n].logit = vpt_ranker_logit(rk, ctx, (vpt_page_e) page,
                                           hour, i);
            nf = vpt_row_features(ctx, (vpt_page_e) page, hour, o, feat,
                                  2 * VPT_MAX_FEATURES);
            sc[n].logit_ref = vpt_model_logit(model, feat, nf);

        } else {
            sc[n].logit = NAN;
            sc[n].logit_ref = NAN;
        }

        n++;
    }

    qsort(sc, n, sizeof(vpt_score_t), vpt_score_cmp);

    /* what nginx decides: one slot, no exploration, min value 0 */

    memset(&dp, 0, sizeof(vpt_decide_params_t));
    dp.page = (vpt_page_e) page;
    dp.hour = hour;
    dp.slots = 1;
    dp.min_value = 0;
    dp.long_term_weight = ltw;
    dp.explore = 0;

    scratch = vpt_xalloc(vpt_ranker_scratch_size(rk));
    vpt_decide(rk, ctx, &dp, scratch, &d);

    if (d.eligible != n) {
        fprintf(stderr, "vpt-score: warning: vpt_decide() found %zu "
                "eligible offers, vpt_eligible() %zu\n", d.eligible, n);
    }

    if (json) {
        printf("{\"page\": \"%s\", \"hour\": %d, \"offers\": [",
               vpt_page_name((vpt_page_e) page), used_hour);

        for (i = 0; i < n; i++) {
            o = &cat->offers[sc[i].offer];
            fputs(i ? ", {\"offer\": " : "{\"offer\": ", stdout);
            vpt_json_str(stdout, o->id.data, o->id.len);
            fputs(", \"p\": ", stdout);
            vpt_json_exact(stdout, sc[i].p);
            fputs(", \"ev\": ", stdout);
            vpt_json_exact(stdout, sc[i].ev);
            fputs(", \"logit\": ", stdout);
            vpt_json_exact(stdout, sc[i].logit);
            fputs(", \"logit_ref\": ", stdout);
            vpt_json_exact(stdout, sc[i].logit_ref);
            fputs("}", stdout);
        }

        fputs("], \"chosen\": ", stdout);

        if (d.n > 0) {
            o = &cat->offers[d.offer[0]];
            vpt_json_str(stdout, o->id.data, o->id.len);

        } else {
            fputs("null", stdout);
        }

        fputs(", \"value\": ", stdout);
        vpt_json_exact(stdout, d.n > 0 ? d.total_value : 0);
        fputs("}\n", stdout);

    } else {
        printf("page %s, hour %d%s, %s, long-term weight %g\n",
               vpt_page_name((vpt_page_e) page), used_hour,
               ctx->local_hour >= 0 ? " (the context's local_hour)" : "",
               model != NULL ? model_path : "catalog priors", ltw);

        if (n == 0) {
            printf("no eligible offer\n");
        }

        for (i = 0; i < n; i++) {
            o = &cat->offers[sc[i].offer];
            printf("  %-24.*s  p %.6f  EV %10.6f\n", (int) o->id.len,
                   o->id.data, sc[i].p, sc[i].ev);
        }

        if (d.n > 0) {
            o = &cat->offers[d.offer[0]];
            printf("chosen: %.*s (expected value %.6f)\n", (int) o->id.len,
                   o->id.data, d.total_value);

        } else {
            printf("chosen: nothing%s\n",
                   d.suppressed ? " (suppressed)" : "");
        }
    }

    if (fflush(stdout) != 0) {
        vpt_die(1, "vpt-score: stdout: %s", strerror(errno));
    }

    free(scratch);
    free(feat);
    free(sc);
    free(ctx);
    free(arena);
    free(text);
    vpt_ranker_free(rk);
    vpt_model_free(model);
    vpt_catalog_free(cat);

    return 0;
}
