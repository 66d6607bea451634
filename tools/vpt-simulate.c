/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-simulate --catalog FILE --rows N [--seed S] [--explore E]
 *              [--truth-out FILE] [--policy prior | --policy model FILE]
 *              [--long-term-weight W] [--min-value V] [--k K]
 *              [--pass ADVERTISER=P ...]
 *
 * Writes a decision log (JSON Lines, the interface's format) drawn from a
 * known truth, to test the learning and evaluation tools:
 *
 *   - shoppers: random contexts (device, referrer, country, local hour or
 *     only the server's, loyalty, orders, cart and history categories,
 *     intent, and free-form "features": segment, age band, visits), a cart
 *     or confirmation page, a server time (vpt_tools_shoppers.c);
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
 *     is then the offer's catalog value;
 *   - with "advertisers" in the catalog, the shop runs them as nginx does
 *     (vpt_tools_market.c): six days of pages in time order, shaped by
 *     the hour of the day, each page gated (flights, budgets, pacing's
 *     draw), spend charged, even pacing's throttle updated once a
 *     simulated minute; --pass ID=P fixes an advertiser's throttle at P
 *     instead, its budgets not enforced (a stationary pacing policy,
 *     whose value vpt-eval --pass estimates off-policy from another
 *     policy's log).  The logged
 *     propensity is the ranker's, summed over the draws.
 *
 * On stderr, one JSON object sums up what happened and what the truth
 * says each policy is worth (expected values, not draws):
 *   {"rows": N, "shown": x, "accept_rate": x, "value": x,
 *    "expected": {"logging": {"accept_rate": x, "value": x},
 *                 "truth_greedy": {"accept_rate": x, "value": x}},
 *    "propensity_mismatches": N, "advertisers": [...]}
 * truth_greedy is the ranker with the truth model, the same W and min
 * value, without exploration (and without pacing): the best the catalog
 * allows.  A propensity mismatch (vpt_decide() against the policy vpt-eval
 * assumes) should never happen; it is counted to prove it.  "advertisers"
 * (with advertisers only): per advertiser, impressions, accepts, spend
 * (all, and per day), daily_budget and the mean pass over pages.
 */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"


#define VPT_SIM_VOCAB_SAMPLES  20000


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
    "  --pass ADVERTISER=P     hold the advertiser's pacing throttle at P\n"
    "                          (0 to 1) instead of the catalog's pacing,\n"
    "                          its budgets not enforced; repeatable\n"
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
    const char      *pass[64];         /* --pass, as given */
    unsigned         npass;
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

    /* with advertisers */
    int              adv;
    vpt_paced_t      paced;
    vpt_market_t     mk;
    double          *prob;
} vpt_sim_t;


static void vpt_sim_options(int argc, char **argv, vpt_sim_opts_t *o);
static vpt_model_t *vpt_sim_truth(const vpt_sim_opts_t *o,
    const vpt_catalog_t *cat, char *arena);
static void vpt_sim_init(vpt_sim_t *sim, const vpt_sim_opts_t *o);
static void vpt_sim_run(vpt_sim_t *sim, const vpt_sim_opts_t *o);
static void vpt_sim_expect(vpt_sim_t *sim, const vpt_sim_opts_t *o,
    const vpt_context_t *ctx, const vpt_shopper_sim_t *s,
    const vpt_decision_t *d);
static void vpt_sim_best(vpt_sim_t *sim, const vpt_sim_opts_t *o,
    const vpt_context_t *ctx, const vpt_shopper_sim_t *s);
static void vpt_sim_expect_paced(vpt_sim_t *sim, const vpt_sim_opts_t *o,
    const vpt_context_t *ctx, const vpt_shopper_sim_t *s,
    const vpt_decision_t *d);
static int vpt_sim_print(vpt_sim_t *sim, const vpt_context_t *ctx,
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
    const vpt_opt_t  *got;

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
        { "pass", VPT_OPT_OWN, &o->pass, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-simulate", vpt_usage_text);

    memset(o, 0, sizeof(vpt_sim_opts_t));
    o->seed = 1;
    o->explore = 0.1;
    o->ltw = 1;
    o->k = 4;

    /* --policy prior, --policy model FILE or --policy model:FILE */

    while ((got = vpt_opt_next(argc, argv, opts)) != NULL) {
        if (got->to == (void *) &o->pass) {
            if (o->npass == 64) {
                vpt_die(2, "vpt-simulate: --pass: at most 64");
            }
            o->pass[o->npass++] = optarg;
            continue;
        }

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
        vpt_shopper_gen(&rng, &s, -1);

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
    int64_t       start;
    unsigned      i;
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

    if (sim->cat->nadvertisers > 0) {
        sim->adv = 1;
        vpt_paced_init(&sim->paced, sim->lr, sim->cat);
        sim->prob = vpt_xalloc((sim->cat->n + 1) * sizeof(double));

        for (i = 0; i < o->npass; i++) {
            vpt_paced_arg(&sim->paced, sim->cat, "vpt-simulate", o->pass[i]);
        }

        if (vpt_adv_parse_date("2026-11-25", 10, 0, &start) != VPT_OK) {
            vpt_die(1, "vpt-simulate: the start date does not parse");
        }

        vpt_market_init(&sim->mk, sim->cat, &sim->paced, start);

    } else if (o->npass > 0) {
        vpt_die(2, "vpt-simulate: --pass: the catalog has no advertisers");
    }

    sim->rng = vpt_hash_more(o->seed, "shoppers", 8);
    sim->idrng = vpt_hash_more(o->seed, "decisions", 9);
    sim->arng = vpt_hash_more(o->seed, "accepts", 7);
}


static void
vpt_sim_run(vpt_sim_t *sim, const vpt_sim_opts_t *o)
{
    int                   acc;
    char                  id[17];
    long                  at;
    uint64_t              r;
    vpt_context_t         ctx;
    vpt_decision_t        d;
    vpt_shopper_sim_t     s;
    vpt_decide_params_t   dp;

    setvbuf(stdout, NULL, _IOFBF, 1024 * 1024);

    for (r = 0; r < o->rows; r++) {
        at = sim->adv ? vpt_shopper_time(r, o->rows) : -1;
        vpt_shopper_gen(&sim->rng, &s, at);
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

        if (sim->adv) {
            /* the page's gate, as nginx's (its day starts on the 25th) */
            vpt_market_gate(&sim->mk, (double) (s.day - 25) * 86400 + at,
                            dp.seed);
            dp.gate = sim->mk.gate;
            dp.pass = sim->mk.pass;
        }

        vpt_decide(sim->lr, &ctx, &dp, sim->scratch, &d);

        if (sim->adv) {
            vpt_sim_expect_paced(sim, o, &ctx, &s, &d);
        } else {
            vpt_sim_expect(sim, o, &ctx, &s, &d);
        }

        acc = vpt_sim_print(sim, &ctx, &s, id, &d);

        if (sim->adv && d.n > 0) {
            vpt_market_charge(&sim->mk, d.offer[0], acc);
        }
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
    size_t                i, m;
    double                pt, pi, explore;
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

    vpt_sim_best(sim, o, ctx, s);
}


/* what the truth expects of its own best offer */

static void
vpt_sim_best(vpt_sim_t *sim, const vpt_sim_opts_t *o,
    const vpt_context_t *ctx, const vpt_shopper_sim_t *s)
{
    long                  best;
    size_t                i;
    double                pt, ev, bev;
    const vpt_offer_t    *of;
    const vpt_catalog_t  *cat;

    cat = sim->cat;
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


/*
 * With advertisers: the policy's distribution over the draws (what can
 * take part on this page, pacing's pass), checked against the ranker's
 * logged propensity, and what the truth expects of it.
 */

static void
vpt_sim_expect_paced(vpt_sim_t *sim, const vpt_sim_opts_t *o,
    const vpt_context_t *ctx, const vpt_shopper_sim_t *s,
    const vpt_decision_t *d)
{
    size_t                i, m;
    double                pt, nothing, want;
    const vpt_offer_t    *of;
    const vpt_catalog_t  *cat;

    cat = sim->cat;

    m = vpt_policy_paced(&sim->paced, sim->lr, cat, ctx, s->page, s->hour,
                         o->ltw, o->minv, o->explore, sim->mk.pe, sim->qidx,
                         sim->qp, sim->prob, &nothing);

    want = nothing;

    for (i = 0; i < m; i++) {
        if (d->n > 0 && sim->qidx[i] == d->offer[0]) {
            want = sim->prob[i];
        }

        of = &cat->offers[sim->qidx[i]];
        pt = vpt_ranker_p(sim->tr, ctx, s->page, s->hour, sim->qidx[i]);
        sim->e_log_acc += sim->prob[i] * pt;
        sim->e_log_val += sim->prob[i] * pt * of->value;
    }

    sim->mism += fabs(want - (d->n ? d->propensity[0]
                                   : d->nothing_propensity)) > 1e-9;

    vpt_sim_best(sim, o, ctx, s);
}


/* the decision's line, its outcome drawn from the truth: 1 if accepted */

static int
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
        return 0;
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
        return 1;
    }

    printf(", \"propensity\": %.17g, \"accepted\": false, "
           "\"value\": 0}\n", d->propensity[0]);

    return 0;
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
            "\"propensity_mismatches\": %zu",
            (unsigned long long) o->rows, sim->shown_n / rows,
            sim->acc_n / rows, sim->val_sum / rows, sim->e_log_acc / rows,
            sim->e_log_val / rows, sim->e_best_acc / rows,
            sim->e_best_val / rows, sim->mism);

    if (sim->adv) {
        fputs(", \"advertisers\": ", stderr);
        vpt_market_report(&sim->mk, stderr);
    }

    fputs("}\n", stderr);
}
