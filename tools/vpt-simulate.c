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
    "Usage: vpt-simulate --catalog FILE --rows N [--seed S] [--explore E]\n"
    "         [--truth-out FILE] [--policy prior | --policy model FILE]\n"
    "         [--long-term-weight W] [--min-value V] [--k K] > "
    "decisions.jsonl\n"
    "Writes a synthetic decision log (JSON Lines on standard output) drawn\n"
    "from a known ground truth, for drills and for testing vpt-train and\n"
    "vpt-eval; a summary of what each policy is truly worth goes to stderr.\n"
    "\n"
    "  --catalog FILE          the offer catalog (as vpt_catalog)\n"
    "  --rows N                how many decisions to write\n"
    "  --seed S                the random seed: same seed, same log "
    "(default 1)\n"
    "  --explore E             the logging policy's exploration, 0 to 1\n"
    "                          (default 0.1)\n"
    "  --truth-out FILE        write the ground truth as a model file, "
    "loadable\n"
    "                          by nginx's vpt_model and by vpt-eval\n"
    "  --policy prior          log with the catalog's priors (the default)\n"
    "  --policy model FILE     log with the ranker on this model\n"
    "  --long-term-weight W    as vpt_long_term_weight (default 1)\n"
    "  --min-value V           as vpt_min_value (default 0)\n"
    "  --k K                   the truth's factor dimension (default 4)\n"
    "  --help                  print this help and exit\n"
    "  --version               print the version and exit\n"
    "\n"
    "Exit status: 0; 1 when output cannot be written; 2 for bad options or\n"
    "catalog.\n";


/* the options */
typedef struct {
    const char      *catalog;
    const char      *truth_out;
    const char      *model;            /* the logging policy's; or NULL */
    uint64_t         rows;
    uint64_t         seed;
    double           explore;
    double           ltw;
    double           minv;
    unsigned         k;
} vpt_sim_opts_t;


/* the policies, the draws, and what the truth expects of them */
typedef struct {
    vpt_catalog_t   *cat;
    vpt_ranker_t    *tr;               /* the truth's ranker */
    vpt_ranker_t    *lr;               /* the logging policy */
    void            *scratch;
    uint32_t        *qidx;
    double          *qp;
    char            *arena;
    uint64_t         rng;              /* shoppers */
    uint64_t         idrng;            /* decision ids */
    uint64_t         arng;             /* accepts */

    double           shown_n;
    double           acc_n;
    double           val_sum;
    double           e_log_acc;
    double           e_log_val;
    double           e_best_acc;
    double           e_best_val;
    size_t           mism;
} vpt_sim_t;


static void vpt_sim_options(int argc, char **argv, vpt_sim_opts_t *o);
static vpt_model_t *vpt_sim_truth(const vpt_sim_opts_t *o,
    const vpt_catalog_t *cat, char *arena);
static void vpt_sim_init(vpt_sim_t *sim, const vpt_sim_opts_t *o);
static void vpt_sim_run(vpt_sim_t *sim, const vpt_sim_opts_t *o);
static void vpt_sim_expect(vpt_sim_t *sim, const vpt_sim_opts_t *o,
    const vpt_context_t *ctx, const vpt_shopper_sim_t *s,
    const vpt_decision_t *d);
static void vpt_sim_print(vpt_sim_t *sim, const vpt_context_t *ctx,
    const vpt_shopper_sim_t *s, const char *id, const vpt_decision_t *d);
static void vpt_sim_report(const vpt_sim_t *sim, const vpt_sim_opts_t *o);


int
main(int argc, char **argv)
{
    vpt_sim_t       sim;
    vpt_sim_opts_t  o;

    vpt_sim_options(argc, argv, &o);
    vpt_sim_init(&sim, &o);
    vpt_sim_run(&sim, &o);
    vpt_sim_report(&sim, &o);

    return 0;
}


static void
vpt_sim_options(int argc, char **argv, vpt_sim_opts_t *o)
{
    const char  *policy;

    vpt_opt_t    opts[] = {
        { "catalog", VPT_OPT_STR, &o->catalog, 0, 0 },
        { "rows", VPT_OPT_U64, &o->rows, 1, 1e12 },
        { "seed", VPT_OPT_U64, &o->seed, 0, 1e18 },
        { "explore", VPT_OPT_NUM, &o->explore, 0, 1 },
        { "truth-out", VPT_OPT_STR, &o->truth_out, 0, 0 },
        { "policy", VPT_OPT_OWN, &policy, 0, 0 },
        { "long-term-weight", VPT_OPT_NUM, &o->ltw, -1e9, 1e9 },
        { "min-value", VPT_OPT_NUM, &o->minv, -1e18, 1e18 },
        { "k", VPT_OPT_UINT, &o->k, 1, VPT_MODEL_MAX_K },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-simulate", vpt_usage_text);

    memset(o, 0, sizeof(vpt_sim_opts_t));
    o->seed = 1;
    o->explore = 0.1;
    o->ltw = 1;
    o->k = 4;

    /* --policy prior, --policy model FILE or --policy model:FILE */

    while (vpt_opt_next(argc, argv, opts) != NULL) {
        policy = optarg;
        if (strncmp(policy, "model:", 6) == 0) {
            o->model = policy + 6;
        } else if (strcmp(policy, "model") == 0) {
            if (optind >= argc) {
                vpt_die(2, "vpt-simulate: --policy model needs a FILE");
            }
            o->model = argv[optind++];
        } else if (strcmp(policy, "prior") == 0) {
            o->model = NULL;
        } else {
            vpt_die(2, "vpt-simulate: --policy: \"prior\" or "
                    "\"model FILE\", not \"%s\"", policy);
        }
    }

    if (o->catalog == NULL || o->rows == 0 || optind != argc) {
        vpt_usage(2);
    }
}


/*
 * The truth model: its vocabulary is what the features code makes of the
 * generator's shoppers and of the catalog; written to --truth-out too.
 */

static vpt_model_t *
vpt_sim_truth(const vpt_sim_opts_t *o, const vpt_catalog_t *cat,
    char *arena)
{
    int                 page;
    char                err[VPT_ERRLEN], *meta, *text;
    FILE               *mem;
    size_t              i, j, nf, len;
    double              bias;
    uint64_t            r, rng;
    vpt_feat_t          f[VPT_MAX_FEATURES];
    vpt_truth_t         truth;
    vpt_model_t        *m;
    vpt_context_t       ctx;
    vpt_shopper_sim_t   s;

    vpt_smap_init(&truth.names);
    truth.params = NULL;
    truth.cap = 0;
    truth.k = o->k;

    rng = vpt_hash_more(o->seed, "vocabulary", 10);

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
    vpt_truth_params(&truth, cat, o->seed, bias);

    meta = NULL;
    len = 0;
    mem = open_memstream(&meta, &len);
    if (mem == NULL) {
        vpt_die(1, "vpt-simulate: %s", strerror(errno));
    }
    fprintf(mem, "{\"trainer\": \"vpt-simulate (ground truth)\", "
            "\"seed\": %llu, \"catalog\": ", (unsigned long long) o->seed);
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

    m = vpt_model_parse(text, len, "truth", err, sizeof(err));
    if (m == NULL) {
        vpt_die(1, "vpt-simulate: the truth model does not load: %s", err);
    }

    if (o->truth_out != NULL
        && vpt_model_write(o->truth_out, truth.k, bias, truth.names.n,
                           truth.names.key, truth.params, meta) != VPT_OK)
    {
        vpt_die(1, "vpt-simulate: %s: %s", o->truth_out, strerror(errno));
    }

    free(text);

    return m;
}


static void
vpt_sim_init(vpt_sim_t *sim, const vpt_sim_opts_t *o)
{
    char          err[VPT_ERRLEN];
    vpt_model_t  *tmodel, *lmodel;

    memset(sim, 0, sizeof(vpt_sim_t));

    sim->cat = vpt_xcatalog_load(o->catalog);
    sim->arena = vpt_xalloc(VPT_SIM_CTX_MAX);

    tmodel = vpt_sim_truth(o, sim->cat, sim->arena);
    lmodel = vpt_xmodel_load(o->model);

    sim->tr = vpt_ranker_create(sim->cat, tmodel, err, sizeof(err));
    sim->lr = vpt_ranker_create(sim->cat, lmodel, err, sizeof(err));
    if (sim->tr == NULL || sim->lr == NULL) {
        vpt_die(1, "vpt-simulate: %s", err);
    }

    sim->scratch = vpt_xalloc(vpt_ranker_scratch_size(sim->lr));
    sim->qidx = vpt_xalloc((sim->cat->n + 1) * sizeof(uint32_t));
    sim->qp = vpt_xalloc((sim->cat->n + 1) * sizeof(double));

    sim->rng = vpt_hash_more(o->seed, "shoppers", 8);
    sim->idrng = vpt_hash_more(o->seed, "decisions", 9);
    sim->arng = vpt_hash_more(o->seed, "accepts", 7);
}


static void
vpt_sim_run(vpt_sim_t *sim, const vpt_sim_opts_t *o)
{
    char                  id[17];
    uint64_t              r;
    vpt_context_t         ctx;
    vpt_decision_t        d;
    vpt_shopper_sim_t     s;
    vpt_decide_params_t   dp;

    setvbuf(stdout, NULL, _IOFBF, 1024 * 1024);

    for (r = 0; r < o->rows; r++) {
        vpt_shopper_gen(&sim->rng, &s);
        s.day = 25 + (int) (r * 6 / o->rows);

        if (vpt_context_parse(&ctx, s.text, s.len, sim->arena,
                              VPT_SIM_CTX_MAX)
            != VPT_OK)
        {
            vpt_die(1, "vpt-simulate: a generated context does not parse");
        }

        snprintf(id, sizeof(id), "%016llx",
                 (unsigned long long) vpt_rand_next(&sim->idrng));

        memset(&dp, 0, sizeof(vpt_decide_params_t));
        dp.page = s.page;
        dp.hour = s.hour;
        dp.slots = 1;
        dp.min_value = o->minv;
        dp.long_term_weight = o->ltw;
        dp.explore = o->explore;
        dp.seed = vpt_hash(id, 16);

        vpt_decide(sim->lr, &ctx, &dp, sim->scratch, &d);

        vpt_sim_expect(sim, o, &ctx, &s, &d);
        vpt_sim_print(sim, &ctx, &s, id, &d);
    }

    if (fflush(stdout) != 0) {
        vpt_die(1, "vpt-simulate: stdout: %s", strerror(errno));
    }
}


/*
 * The policy vpt-eval assumes, checked against the ranker's decision; and
 * what the truth expects of the logging policy and of its own best offer.
 */

static void
vpt_sim_expect(vpt_sim_t *sim, const vpt_sim_opts_t *o,
    const vpt_context_t *ctx, const vpt_shopper_sim_t *s,
    const vpt_decision_t *d)
{
    long                  best;
    size_t                i, m;
    double                pt, pi, ev, bev, explore;
    const vpt_offer_t    *of;
    const vpt_catalog_t  *cat;

    cat = sim->cat;
    explore = o->explore;

    m = vpt_policy_offers(sim->lr, cat, ctx, s->page, s->hour, o->ltw,
                          o->minv, sim->scratch, sim->qidx, sim->qp);

    if (m != 0 && d->n == 1) {
        pi = (d->offer[0] == sim->qidx[0] ? 1 - explore : 0) + explore / m;
        sim->mism += fabs(pi - d->propensity[0]) > 1e-12;
    } else {
        sim->mism += (m != 0) != (d->n != 0);
    }

    for (i = 0; i < m; i++) {
        of = &cat->offers[sim->qidx[i]];
        pt = vpt_ranker_p(sim->tr, ctx, s->page, s->hour, sim->qidx[i]);
        pi = (i == 0 ? 1 - explore : 0) + explore / m;
        sim->e_log_acc += pi * pt;
        sim->e_log_val += pi * pt * of->value;
    }

    best = -1;
    bev = 0;

    for (i = 0; i < cat->n; i++) {
        of = &cat->offers[i];
        if (!vpt_eligible(of, ctx, s->page, s->hour, 0, 0)) {
            continue;
        }
        pt = vpt_ranker_p(sim->tr, ctx, s->page, s->hour, i);
        ev = pt * (of->value + o->ltw * of->long_term_value);
        if (ev >= o->minv && (best < 0 || ev > bev)) {
            best = (long) i;
            bev = ev;
        }
    }

    if (best >= 0) {
        pt = vpt_ranker_p(sim->tr, ctx, s->page, s->hour, best);
        sim->e_best_acc += pt;
        sim->e_best_val += pt * cat->offers[best].value;
    }
}


/* the decision's line, its outcome drawn from the truth */

static void
vpt_sim_print(vpt_sim_t *sim, const vpt_context_t *ctx,
    const vpt_shopper_sim_t *s, const char *id, const vpt_decision_t *d)
{
    size_t                i, cn;
    double                pt;
    const vpt_offer_t    *of;
    const vpt_catalog_t  *cat;

    cat = sim->cat;

    printf("{\"decision\": \"%s\", \"time\": "
           "\"2026-11-%02dT%02d:%02d:%02d+00:00\", \"page\": \"%s\", "
           "\"context\": %.*s, \"candidates\": [", id, s->day, s->hour,
           s->minute, s->second, vpt_page_name(s->page), (int) s->len,
           s->text);

    cn = 0;
    for (i = 0; i < cat->n; i++) {
        of = &cat->offers[i];
        if (vpt_eligible(of, ctx, s->page, s->hour, 0, 0)) {
            fputs(cn++ ? ", " : "", stdout);
            vpt_json_str(stdout, of->id.data, of->id.len);
        }
    }

    if (d->n == 0) {
        printf("], \"shown\": null, \"propensity\": %.17g, "
               "\"accepted\": false, \"value\": 0}\n",
               d->nothing_propensity);
        return;
    }

    of = &cat->offers[d->offer[0]];
    pt = vpt_ranker_p(sim->tr, ctx, s->page, s->hour, d->offer[0]);
    sim->shown_n++;

    fputs("], \"shown\": ", stdout);
    vpt_json_str(stdout, of->id.data, of->id.len);

    if (vpt_rand_unit(&sim->arng) < pt) {
        sim->acc_n++;
        sim->val_sum += of->value;
        printf(", \"propensity\": %.17g, \"accepted\": true, "
               "\"value\": %.17g}\n", d->propensity[0], of->value);
    } else {
        printf(", \"propensity\": %.17g, \"accepted\": false, "
               "\"value\": 0}\n", d->propensity[0]);
    }
}


static void
vpt_sim_report(const vpt_sim_t *sim, const vpt_sim_opts_t *o)
{
    double  rows;

    rows = (double) o->rows;

    fprintf(stderr, "{\"rows\": %llu, \"shown\": %.6f, "
            "\"accept_rate\": %.6f, \"value\": %.6f, \"expected\": "
            "{\"logging\": {\"accept_rate\": %.6f, \"value\": %.6f}, "
            "\"truth_greedy\": {\"accept_rate\": %.6f, \"value\": %.6f}}, "
            "\"propensity_mismatches\": %zu}\n",
            (unsigned long long) o->rows, sim->shown_n / rows,
            sim->acc_n / rows, sim->val_sum / rows, sim->e_log_acc / rows,
            sim->e_log_val / rows, sim->e_best_acc / rows,
            sim->e_best_val / rows, sim->mism);
}
