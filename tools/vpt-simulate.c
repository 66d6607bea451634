/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-simulate --catalog FILE --rows N [--seed S] [--explore E]
 *              [--truth-out FILE] [--policy prior | --policy model FILE]
 *              [--long-term-weight W] [--min-value V] [--k K]
 *
 * Writes a decision log (JSON Lines, the interface's format) drawn from a
 * known truth, to test the learning and evaluation tools:
 *
 *   - shoppers: random contexts (device, referrer, country, local hour or
 *     only the server's, loyalty, orders, cart and history categories,
 *     intent, and free-form "features": segment, age band, visits), a cart
 *     or confirmation page, a server time;
 *   - the truth: a factorization machine over exactly the features nginx
 *     computes (vpt_features_shopper() and vpt_features_offer()), its
 *     vocabulary found by sampling the same shopper generator; each
 *     parameter is a pure function of the feature's name and the seed.
 *     An offer's own weight centres its acceptance on its catalog prior;
 *     the pairwise terms make the best offer depend on the shopper.
 *     --truth-out writes it as a "vpt-fm" model, loadable by vpt_model
 *     and so by the ranker, vpt-eval and nginx;
 *   - the logging policy: the real ranker (vpt_ranker_create(),
 *     vpt_decide(), one slot) on the catalog's priors or a model, with
 *     exploration E (default 0.1), the seed taken from the decision id as
 *     nginx does;
 *   - the outcome: accepted with the truth's p of the shown offer; value
 *     is then the offer's catalog value.
 *
 * On stderr, one JSON object sums up what happened and what the truth
 * says each policy is worth (expected values, not draws):
 *   {"rows": N, "shown": x, "accept_rate": x, "value": x,
 *    "expected": {"logging": {"accept_rate": x, "value": x},
 *                 "truth_greedy": {"accept_rate": x, "value": x}},
 *    "propensity_mismatches": N}
 * truth_greedy is the ranker with the truth model, the same W and min
 * value, without exploration: the best the catalog allows.  A propensity
 * mismatch (vpt_decide() against the policy vpt-eval assumes) should never
 * happen; it is counted to prove it.
 */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"


#define VPT_SIM_VOCAB_SAMPLES  20000
#define VPT_SIM_CTX_MAX        8192


typedef struct {
    const char  *name;
    double       weight;
} vpt_choice_t;


static const vpt_choice_t  sim_devices[] = {
    { "mobile", 0.52 }, { "desktop", 0.35 }, { "tablet", 0.10 }, { "", 0.03 },
    { NULL, 0 }
};

static const vpt_choice_t  sim_referrers[] = {
    { "email", 0.2 }, { "search", 0.3 }, { "social", 0.15 },
    { "direct", 0.25 }, { "ads", 0.1 }, { NULL, 0 }
};

static const vpt_choice_t  sim_countries[] = {
    { "US", 0.45 }, { "CA", 0.1 }, { "GB", 0.15 }, { "DE", 0.15 },
    { "FR", 0.15 }, { NULL, 0 }
};

static const vpt_choice_t  sim_categories[] = {
    { "toys", 0.25 }, { "books", 0.2 }, { "dresses", 0.15 },
    { "electronics", 0.15 }, { "home", 0.1 }, { "sports", 0.1 },
    { "beauty", 0.05 }, { NULL, 0 }
};

static const vpt_choice_t  sim_intents[] = {
    { "gift", 0.2 }, { "self", 0.45 }, { "", 0.35 }, { NULL, 0 }
};

static const vpt_choice_t  sim_segments[] = {
    { "new", 0.3 }, { "returning", 0.4 }, { "bargain-hunter", 0.2 },
    { "premium", 0.1 }, { NULL, 0 }
};

static const vpt_choice_t  sim_ages[] = {
    { "18-24", 0.15 }, { "25-34", 0.3 }, { "35-44", 0.25 },
    { "45-64", 0.22 }, { "65+", 0.08 }, { NULL, 0 }
};

/* shoppers by the hour of the server's clock */
static const double  sim_hours[24] = {
    1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.8, 3, 3.2,
    3.4, 3.2, 3, 3, 3.2, 3.6, 4.2, 4.8, 5, 4.4, 3, 1.8
};

static const int  sim_tz[] = { 0, 0, 0, 0, 1, -5, -8, 9 };


typedef struct {
    char         text[VPT_SIM_CTX_MAX];
    size_t       len;
    vpt_page_e   page;
    int          hour;             /* the server's */
    int          day;
    int          minute;
    int          second;
} vpt_shopper_sim_t;


static const char *
vpt_pick(uint64_t *rng, const vpt_choice_t *c)
{
    double  u, total;
    size_t  i;

    total = 0;
    for (i = 0; c[i].name; i++) {
        total += c[i].weight;
    }

    u = vpt_rand_unit(rng) * total;

    for (i = 0; c[i + 1].name; i++) {
        if (u < c[i].weight) {
            break;
        }
        u -= c[i].weight;
    }

    return c[i].name;
}


static double
vpt_gauss(uint64_t *rng)
{
    double  u, v;

    u = vpt_rand_unit(rng);
    v = vpt_rand_unit(rng);

    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}


#define vpt_cat(s, ...)                                                     \
    do {                                                                    \
        int  _n = snprintf((s)->text + (s)->len,                            \
                           VPT_SIM_CTX_MAX - (s)->len, __VA_ARGS__);        \
        (s)->len += (_n > 0) ? (size_t) _n : 0;                             \
    } while (0)


static void
vpt_shopper_gen(uint64_t *rng, vpt_shopper_sim_t *s)
{
    int          i, n, orders, hour;
    double       u, total, price, cart_total;
    const char  *v;

    s->len = 0;
    s->page = vpt_rand_unit(rng) < 0.3 ? VPT_PAGE_CART : VPT_PAGE_CONFIRMATION;

    total = 0;
    for (i = 0; i < 24; i++) {
        total += sim_hours[i];
    }
    u = vpt_rand_unit(rng) * total;
    for (hour = 0; hour < 23 && u >= sim_hours[hour]; hour++) {
        u -= sim_hours[hour];
    }
    s->hour = hour;
    s->minute = (int) (vpt_rand_unit(rng) * 60);
    s->second = (int) (vpt_rand_unit(rng) * 60);

    vpt_cat(s, "{\"user\": {\"id\": \"u-%llu\"",
            (unsigned long long) (vpt_rand_next(rng) % 1000000));

    u = vpt_rand_unit(rng);
    if (u < 0.9) {
        vpt_cat(s, ", \"loyalty_member\": %s", u < 0.3 ? "true" : "false");
    }

    orders = (int) (-log(1 - vpt_rand_unit(rng)) * 3);
    vpt_cat(s, ", \"orders\": %d, \"lifetime_value\": %.2f}", orders,
            orders * 60 * vpt_rand_unit(rng));

    v = vpt_pick(rng, sim_devices);
    if (*v) {
        vpt_cat(s, ", \"device\": \"%s\"", v);
    }

    vpt_cat(s, ", \"referrer\": \"%s\"", vpt_pick(rng, sim_referrers));
    vpt_cat(s, ", \"country\": \"%s\"", vpt_pick(rng, sim_countries));

    if (vpt_rand_unit(rng) < 0.6) {
        i = sim_tz[vpt_rand_next(rng) % (sizeof(sim_tz) / sizeof(int))];
        vpt_cat(s, ", \"local_hour\": %d", (hour + i + 24) % 24);
    }

    n = 1 + (vpt_rand_unit(rng) < 0.5) + (vpt_rand_unit(rng) < 0.2)
        + (vpt_rand_unit(rng) < 0.1);
    cart_total = 0;

    vpt_cat(s, ", \"cart\": [");
    for (i = 0; i < n; i++) {
        v = vpt_pick(rng, sim_categories);
        price = floor(5 + 60 * vpt_rand_unit(rng)) + 0.99;
        cart_total += price;
        vpt_cat(s, "%s{\"sku\": \"%.3s-%d\", \"category\": \"%s\", "
                "\"price\": %.2f, \"qty\": 1}", i ? ", " : "", v,
                (int) (vpt_rand_next(rng) % 50), v, price);
    }
    vpt_cat(s, "]");

    if (s->page == VPT_PAGE_CONFIRMATION) {
        vpt_cat(s, ", \"order\": {\"id\": \"A-%llu\", \"total\": %.2f, "
                "\"currency\": \"USD\"}",
                (unsigned long long) (vpt_rand_next(rng) % 10000000),
                cart_total);
    }

    n = (int) (vpt_rand_unit(rng) * 4);
    if (n > 0) {
        vpt_cat(s, ", \"history\": {\"categories\": [");
        for (i = 0; i < n; i++) {
            vpt_cat(s, "%s\"%s\"", i ? ", " : "",
                    vpt_pick(rng, sim_categories));
        }
        vpt_cat(s, "]}");
    }

    v = vpt_pick(rng, sim_intents);
    if (*v) {
        vpt_cat(s, ", \"intent\": \"%s\"", v);
    }

    vpt_cat(s, ", \"features\": {\"segment\": \"%s\", \"age_band\": \"%s\", "
            "\"visits\": %d}}", vpt_pick(rng, sim_segments),
            vpt_pick(rng, sim_ages),
            (int) (-log(1 - vpt_rand_unit(rng)) * 6));
}


/* the truth: every parameter a function of the seed and the name */

typedef struct {
    vpt_smap_t   names;
    float       *params;
    size_t       cap;
    unsigned     k;
} vpt_truth_t;


static void
vpt_truth_add(vpt_truth_t *t, const vpt_feat_t *f)
{
    char  text[1024];
    long  id;

    vpt_feat_text(f, text, sizeof(text));
    id = vpt_smap_add(&t->names, text, strlen(text));

    if ((size_t) id >= t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->params = vpt_xrealloc(t->params,
                                 t->cap * (t->k + 1) * sizeof(float));
    }
}


static void
vpt_truth_params(vpt_truth_t *t, const vpt_catalog_t *c, uint64_t seed,
    double bias)
{
    long          id;
    char          text[1024];
    size_t        i, x;
    double        prior, sw, sv;
    float        *p;
    uint64_t      rng;
    vpt_feat_t    f[VPT_MAX_FEATURES];
    const char   *name;

    for (i = 0; i < t->names.n; i++) {
        name = t->names.key[i];
        p = t->params + i * (t->k + 1);
        rng = vpt_hash_more(seed * 0x9e3779b97f4a7c15ULL, name,
                            strlen(name));

        if (strncmp(name, "offer=", 6) == 0) {
            sw = 0.3;
            sv = 0.35;
        } else if (strncmp(name, "kind=", 5) == 0
                   || strncmp(name, "of:", 3) == 0
                   || strncmp(name, "advertiser=", 11) == 0)
        {
            sw = 0.15;
            sv = 0.35;
        } else {
            sw = 0.15;
            sv = 0.2;
        }

        p[0] = (float) (sw * vpt_gauss(&rng));

        for (x = 1; x <= t->k; x++) {
            p[x] = (float) (sv * vpt_gauss(&rng));
        }
    }

    /* an offer's own weight centres it on its prior */

    for (i = 0; i < c->n; i++) {
        vpt_features_offer(&c->offers[i], f, VPT_MAX_FEATURES);
        vpt_feat_text(&f[0], text, sizeof(text));
        id = vpt_smap_find(&t->names, text, strlen(text));
        prior = c->offers[i].prior;
        prior = prior < 1e-4 ? 1e-4 : (prior > 0.9999 ? 0.9999 : prior);

        t->params[id * (t->k + 1)] += (float) (log(prior / (1 - prior))
                                               - bias);
    }
}


static const char  vpt_usage_text[] =
    "usage: vpt-simulate --catalog FILE --rows N [--seed S] "
    "[--explore E]\n"
    "         [--truth-out FILE] [--policy prior | --policy model "
    "FILE]\n"
    "         [--long-term-weight W] [--min-value V] [--k K]"
    " > decisions.jsonl\n";


int
main(int argc, char **argv)
{
    int                   page;
    char                  err[VPT_ERRLEN], id[17], *meta, *text;
    size_t                i, j, m, nf, len, cn, mism;
    uint32_t             *qidx;
    uint64_t              seed, rows, r, rng, idrng, arng;
    double                explore, ltw, minv, bias, pt, pi, *qp, ev, bev;
    double                shown_n, acc_n, val_sum, e_log_acc, e_log_val;
    double                e_best_acc, e_best_val;
    long                  best;
    void                 *scratch;
    FILE                 *mem;
    vpt_feat_t            f[VPT_MAX_FEATURES];
    vpt_truth_t           truth;
    vpt_model_t          *tmodel, *lmodel;
    vpt_catalog_t        *cat;
    vpt_ranker_t         *tr, *lr;
    vpt_context_t         ctx;
    vpt_decision_t        d;
    vpt_shopper_sim_t     s;
    vpt_decide_params_t   dp;
    const vpt_offer_t    *o;
    char                 *arena;
    const char           *catalog, *truth_out, *policy, *model_path;

    vpt_opt_t             opts[] = {
        { "catalog", VPT_OPT_STR, &catalog, 0, 0 },
        { "rows", VPT_OPT_U64, &rows, 1, 1e12 },
        { "seed", VPT_OPT_U64, &seed, 0, 1e18 },
        { "explore", VPT_OPT_NUM, &explore, 0, 1 },
        { "truth-out", VPT_OPT_STR, &truth_out, 0, 0 },
        { "policy", VPT_OPT_OWN, &policy, 0, 0 },
        { "long-term-weight", VPT_OPT_NUM, &ltw, -1e9, 1e9 },
        { "min-value", VPT_OPT_NUM, &minv, -1e18, 1e18 },
        { "k", VPT_OPT_UINT, &truth.k, 1, VPT_MODEL_MAX_K },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-simulate", vpt_usage_text);

    catalog = truth_out = model_path = NULL;
    policy = "prior";
    rows = 0;
    seed = 1;
    explore = 0.1;
    ltw = 1;
    minv = 0;
    truth.k = 4;

    /* --policy prior, --policy model FILE or --policy model:FILE */

    while (vpt_opt_next(argc, argv, opts) != NULL) {
        policy = optarg;
        if (strncmp(policy, "model:", 6) == 0) {
            model_path = policy + 6;
            policy = "model";
        } else if (strcmp(policy, "model") == 0) {
            if (optind >= argc) {
                vpt_die(2, "vpt-simulate: --policy model needs a FILE");
            }
            model_path = argv[optind++];
        } else if (strcmp(policy, "prior") != 0) {
            vpt_die(2, "vpt-simulate: --policy: \"prior\" or "
                    "\"model FILE\", not \"%s\"", policy);
        }
    }

    if (catalog == NULL || rows == 0 || optind != argc) {
        vpt_usage(2);
    }

    cat = vpt_xcatalog_load(catalog);

    /* the truth's vocabulary: what the features code makes of shoppers */

    vpt_smap_init(&truth.names);
    truth.params = NULL;
    truth.cap = 0;

    arena = vpt_xalloc(VPT_SIM_CTX_MAX);
    rng = vpt_hash_more(seed, "vocabulary", 10);

    for (r = 0; r < VPT_SIM_VOCAB_SAMPLES; r++) {
        vpt_shopper_gen(&rng, &s);

        if (vpt_context_parse(&ctx, s.text, s.len, arena, VPT_SIM_CTX_MAX)
            != VPT_OK)
        {
            vpt_die(1, "vpt-simulate: a generated context does not parse: "
                    "%.*s", (int) s.len, s.text);
        }

        for (page = 0; page < VPT_PAGE_N; page++) {
            nf = vpt_features_shopper(&ctx, page, s.hour, f,
                                      VPT_MAX_FEATURES);
            for (i = 0; i < nf; i++) {
                vpt_truth_add(&truth, &f[i]);
            }
        }
    }

    for (i = 0; i < cat->n; i++) {
        nf = vpt_features_offer(&cat->offers[i], f, VPT_MAX_FEATURES);
        for (j = 0; j < nf; j++) {
            vpt_truth_add(&truth, &f[j]);
        }
    }

    bias = -3.0;
    vpt_truth_params(&truth, cat, seed, bias);

    meta = NULL;
    len = 0;
    mem = open_memstream(&meta, &len);
    if (mem == NULL) {
        vpt_die(1, "vpt-simulate: %s", strerror(errno));
    }
    fprintf(mem, "{\"trainer\": \"vpt-simulate (ground truth)\", "
            "\"seed\": %llu, \"catalog\": ", (unsigned long long) seed);
    vpt_json_str(mem, cat->version.data, cat->version.len);
    fputc('}', mem);
    fclose(mem);

    text = NULL;
    len = 0;
    mem = open_memstream(&text, &len);
    if (mem == NULL) {
        vpt_die(1, "vpt-simulate: %s", strerror(errno));
    }
    vpt_model_dump(mem, truth.k, bias, truth.names.n, truth.names.key,
                   truth.params, meta);
    fclose(mem);

    tmodel = vpt_model_parse(text, len, "truth", err, sizeof(err));
    if (tmodel == NULL) {
        vpt_die(1, "vpt-simulate: the truth model does not load: %s", err);
    }

    if (truth_out != NULL
        && vpt_model_write(truth_out, truth.k, bias, truth.names.n,
                           truth.names.key, truth.params, meta) != VPT_OK)
    {
        vpt_die(1, "vpt-simulate: %s: %s", truth_out, strerror(errno));
    }

    free(text);

    lmodel = vpt_xmodel_load(model_path);

    tr = vpt_ranker_create(cat, tmodel, err, sizeof(err));
    lr = vpt_ranker_create(cat, lmodel, err, sizeof(err));
    if (tr == NULL || lr == NULL) {
        vpt_die(1, "vpt-simulate: %s", err);
    }

    scratch = vpt_xalloc(vpt_ranker_scratch_size(lr));
    qidx = vpt_xalloc((cat->n + 1) * sizeof(uint32_t));
    qp = vpt_xalloc((cat->n + 1) * sizeof(double));

    /* the decisions */

    setvbuf(stdout, NULL, _IOFBF, 1024 * 1024);

    rng = vpt_hash_more(seed, "shoppers", 8);
    idrng = vpt_hash_more(seed, "decisions", 9);
    arng = vpt_hash_more(seed, "accepts", 7);

    shown_n = acc_n = val_sum = 0;
    e_log_acc = e_log_val = e_best_acc = e_best_val = 0;
    mism = 0;

    for (r = 0; r < rows; r++) {
        vpt_shopper_gen(&rng, &s);
        s.day = 25 + (int) (r * 6 / rows);

        if (vpt_context_parse(&ctx, s.text, s.len, arena, VPT_SIM_CTX_MAX)
            != VPT_OK)
        {
            vpt_die(1, "vpt-simulate: a generated context does not parse");
        }

        snprintf(id, sizeof(id), "%016llx",
                 (unsigned long long) vpt_rand_next(&idrng));

        memset(&dp, 0, sizeof(vpt_decide_params_t));
        dp.page = s.page;
        dp.hour = s.hour;
        dp.slots = 1;
        dp.min_value = minv;
        dp.long_term_weight = ltw;
        dp.explore = explore;
        dp.seed = vpt_hash(id, 16);

        vpt_decide(lr, &ctx, &dp, scratch, &d);

        /* the policy vpt-eval assumes, checked against the ranker's */

        m = vpt_policy_offers(lr, cat, &ctx, s.page, s.hour, ltw, minv,
                              scratch, qidx, qp);

        if (m != 0 && d.n == 1) {
            pi = (d.offer[0] == qidx[0] ? 1 - explore : 0) + explore / m;
            mism += fabs(pi - d.propensity[0]) > 1e-12;
        } else {
            mism += (m != 0) != (d.n != 0);
        }

        /* what the truth expects of the logging policy and its best */

        best = -1;
        bev = 0;

        for (i = 0; i < m; i++) {
            o = &cat->offers[qidx[i]];
            pt = vpt_ranker_p(tr, &ctx, s.page, s.hour, qidx[i]);
            pi = (i == 0 ? 1 - explore : 0) + explore / m;
            e_log_acc += pi * pt;
            e_log_val += pi * pt * o->value;
        }

        for (i = 0; i < cat->n; i++) {
            o = &cat->offers[i];
            if (!vpt_eligible(o, &ctx, s.page, s.hour, 0, 0)) {
                continue;
            }
            pt = vpt_ranker_p(tr, &ctx, s.page, s.hour, i);
            ev = pt * (o->value + ltw * o->long_term_value);
            if (ev >= minv && (best < 0 || ev > bev)) {
                best = (long) i;
                bev = ev;
            }
        }

        if (best >= 0) {
            pt = vpt_ranker_p(tr, &ctx, s.page, s.hour, best);
            e_best_acc += pt;
            e_best_val += pt * cat->offers[best].value;
        }

        /* the line */

        printf("{\"decision\": \"%s\", \"time\": "
               "\"2026-11-%02dT%02d:%02d:%02d+00:00\", \"page\": \"%s\", "
               "\"context\": %.*s, \"candidates\": [", id, s.day, s.hour,
               s.minute, s.second, vpt_page_name(s.page), (int) s.len,
               s.text);

        cn = 0;
        for (i = 0; i < cat->n; i++) {
            o = &cat->offers[i];
            if (vpt_eligible(o, &ctx, s.page, s.hour, 0, 0)) {
                fputs(cn++ ? ", " : "", stdout);
                vpt_json_str(stdout, o->id.data, o->id.len);
            }
        }

        if (d.n == 0) {
            printf("], \"shown\": null, \"propensity\": %.17g, "
                   "\"accepted\": false, \"value\": 0}\n",
                   d.nothing_propensity);
            continue;
        }

        o = &cat->offers[d.offer[0]];
        pt = vpt_ranker_p(tr, &ctx, s.page, s.hour, d.offer[0]);
        shown_n++;

        fputs("], \"shown\": ", stdout);
        vpt_json_str(stdout, o->id.data, o->id.len);

        if (vpt_rand_unit(&arng) < pt) {
            acc_n++;
            val_sum += o->value;
            printf(", \"propensity\": %.17g, \"accepted\": true, "
                   "\"value\": %.17g}\n", d.propensity[0], o->value);
        } else {
            printf(", \"propensity\": %.17g, \"accepted\": false, "
                   "\"value\": 0}\n", d.propensity[0]);
        }
    }

    if (fflush(stdout) != 0) {
        vpt_die(1, "vpt-simulate: stdout: %s", strerror(errno));
    }

    fprintf(stderr, "{\"rows\": %llu, \"shown\": %.6f, "
            "\"accept_rate\": %.6f, \"value\": %.6f, \"expected\": "
            "{\"logging\": {\"accept_rate\": %.6f, \"value\": %.6f}, "
            "\"truth_greedy\": {\"accept_rate\": %.6f, \"value\": %.6f}}, "
            "\"propensity_mismatches\": %zu}\n",
            (unsigned long long) rows, shown_n / rows, acc_n / rows,
            val_sum / rows, e_log_acc / rows, e_log_val / rows,
            e_best_acc / rows, e_best_val / rows, mism);

    return 0;
}
