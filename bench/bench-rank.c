/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Micro-benchmark of the ranker: catalogs of 100, 1,000 and 10,000 offers
 * with varied rules and features, a random FM model (k = 8) over every
 * feature they and the shoppers have, 200 varied shoppers; prints the
 * median cost of one decision per catalog size, with priors only, with
 * the model, and with the model plus NTREES boosted trees of depth 4 on
 * the shopper's side (as many as vpt-train writes at most), which nginx
 * walks once per request.
 *
 *   bench/bench-rank [runs]       (builds build/bench/bench-rank first)
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpt_rank.h"


#define NCTX     200
#define K        8
#define NCATS    40
#define NSKUS    400
#define RUN_NS   40000000.0      /* each timed run lasts about 40 ms */
#define NTREES   100
#define NPOOL    256


static const char  *devices[] = { "mobile", "desktop", "tablet" };
static const char  *countries[] = { "US", "CA", "GB", "FR", "DE", "ES",
                                    "IT", "NL", "SE", "JP" };
static const char  *referrers[] = { "email", "search", "social", "direct",
                                    "affiliate" };
static const char  *segments[] = { "new", "bargain-hunter", "vip",
                                   "lapsed", "gift-giver" };
static const char  *bands[] = { "low", "mid", "high", "premium" };
static const char  *advertisers[] = { "Sunway Travel", "Acme Insurance",
                                      "Bright Energy" };

static char   cats[NCATS][16];
static char   skus[NSKUS][16];
static uint64_t  rng = 0x5eed;


static size_t
rnd(size_t n)
{
    return (size_t) (vpt_rand_unit(&rng) * (double) n);
}

#define PICK(a)  (a)[rnd(sizeof(a) / sizeof((a)[0]))]


static vpt_str_t
str(const char *s)
{
    vpt_str_t  v;

    v.data = s;
    v.len = strlen(s);

    return v;
}


static vpt_strlist_t
list(vpt_str_t *mem, size_t *used, size_t n, int kind)
{
    size_t         i;
    vpt_strlist_t  l;

    l.items = mem + *used;
    l.n = n;

    for (i = 0; i < n; i++) {
        switch (kind) {
        case 0:
            mem[(*used)++] = str(PICK(devices));
            break;
        case 1:
            mem[(*used)++] = str(PICK(countries));
            break;
        case 2:
            mem[(*used)++] = str(PICK(referrers));
            break;
        case 3:
            mem[(*used)++] = str(cats[rnd(NCATS)]);
            break;
        default:
            mem[(*used)++] = rnd(2) ? str(cats[rnd(NCATS)])
                                    : str(skus[rnd(NSKUS)]);
            break;
        }
    }

    return l;
}


/* a catalog built in memory, without the parser */
typedef struct {
    vpt_catalog_t   c;
    char           *ids;
    vpt_str_t      *strs;
    vpt_attr_t     *attrs;
} bench_catalog_t;


/* offers with a realistic mix: most have two or three rules */
static bench_catalog_t *
make_catalog(size_t n)
{
    int               h, from, to;
    char             *ids;
    size_t            i, used;
    vpt_str_t        *mem;
    vpt_attr_t       *attrs;
    vpt_offer_t      *o;
    vpt_catalog_t    *c;
    bench_catalog_t  *bc;

    bc = calloc(1, sizeof(bench_catalog_t));
    c = &bc->c;
    c->offers = calloc(n, sizeof(vpt_offer_t));
    c->n = n;
    bc->ids = ids = malloc(n * 16);
    bc->strs = mem = malloc(n * 24 * sizeof(vpt_str_t));
    bc->attrs = attrs = calloc(n * 4, sizeof(vpt_attr_t));
    used = 0;

    for (i = 0; i < n; i++) {
        o = &c->offers[i];
        snprintf(ids + i * 16, 16, "offer-%u", (unsigned) (i % 100000000));

        o->id = str(ids + i * 16);
        o->kind = (vpt_kind_e) rnd(VPT_KIND_N);
        o->markup = str("<p>{{device}}</p>");
        o->value = (double) rnd(60);
        o->long_term_value = rnd(3) ? 0 : (double) rnd(100);
        o->prior = 0.01 + vpt_rand_unit(&rng) * 0.2;
        o->pages = rnd(3) ? VPT_PAGE_BIT(rnd(2))
                          : VPT_PAGE_BIT(0) | VPT_PAGE_BIT(1);
        o->hours = 0xffffff;
        o->loyalty_member = -1;

        if (o->kind == VPT_KIND_THIRD_PARTY) {
            o->advertiser = str(PICK(advertisers));
        }

        if (rnd(4) == 0) {
            o->devices = list(mem, &used, 1 + rnd(2), 0);
        }

        if (rnd(4) == 0) {
            o->countries = list(mem, &used, 1 + rnd(4), 1);
        }

        if (rnd(8) == 0) {
            o->referrers = list(mem, &used, 1, 2);
        }

        if (rnd(6) == 0) {
            from = (int) rnd(24);
            to = (int) rnd(24);
            o->hours = 0;

            for (h = from; ; h = (h + 1) % 24) {
                o->hours |= 1u << h;
                if (h == to) {
                    break;
                }
            }
        }

        if (rnd(5) == 0) {
            o->min_cart_total = (double) rnd(150);
        }

        if (rnd(3) == 0) {
            o->categories_any = list(mem, &used, 1 + rnd(5), 3);
        }

        if (rnd(6) == 0) {
            o->categories_none = list(mem, &used, 1 + rnd(3), 3);
        }

        if (rnd(4) == 0) {
            o->exclude_if_in_cart = list(mem, &used, 1 + rnd(3), 4);
        }

        if (rnd(4) == 0) {
            o->exclude_if_purchased = list(mem, &used, 1 + rnd(3), 4);
        }

        if (rnd(8) == 0) {
            o->loyalty_member = (int) rnd(2);
        }

        if (rnd(3) == 0) {
            o->cap_per_shopper = 1 + (unsigned) rnd(5);
        }

        o->features = attrs + i * 4;
        o->nfeatures = 0;

        o->features[o->nfeatures].name = str("category");
        o->features[o->nfeatures++].str = str(cats[rnd(NCATS)]);

        o->features[o->nfeatures].name = str("price_band");
        o->features[o->nfeatures++].str = str(PICK(bands));

        if (rnd(3) == 0) {
            o->features[o->nfeatures].name = str("sku");
            o->features[o->nfeatures++].str = str(skus[rnd(NSKUS)]);
        }

        if (rnd(2) == 0) {
            o->features[o->nfeatures].name = str("discount");
            o->features[o->nfeatures].num = (double) rnd(50);
            o->features[o->nfeatures++].is_num = 1;
        }
    }

    return bc;
}


static void
free_catalog(bench_catalog_t *bc)
{
    free(bc->attrs);
    free(bc->strs);
    free(bc->ids);
    free(bc->c.offers);
    free(bc);
}


static void
make_context(vpt_context_t *ctx)
{
    size_t  i, n;

    memset(ctx, 0, sizeof(vpt_context_t));

    ctx->loyalty_member = (int) rnd(3) - 1;
    ctx->orders = (double) rnd(20) - 1;
    ctx->lifetime_value = -1;
    ctx->local_hour = rnd(4) ? (int) rnd(24) : -1;
    ctx->order_total = -1;

    if (rnd(6)) {
        ctx->device = str(PICK(devices));
    }

    if (rnd(6)) {
        ctx->country = str(PICK(countries));
    }

    if (rnd(2)) {
        ctx->referrer = str(PICK(referrers));
    }

    n = rnd(6);

    for (i = 0; i < n; i++) {
        ctx->cart[i].sku = str(skus[rnd(NSKUS)]);
        ctx->cart[i].category = str(cats[rnd(NCATS)]);
        ctx->cart[i].price = (double) rnd(80);
        ctx->cart[i].qty = 1;
        ctx->cart_total += ctx->cart[i].price;
    }

    ctx->ncart = n;
    n = rnd(8);

    for (i = 0; i < n; i++) {
        ctx->history_categories[i] = str(cats[rnd(NCATS)]);
        ctx->history_skus[i] = str(skus[rnd(NSKUS)]);
    }

    ctx->nhistory_categories = n;
    ctx->nhistory_skus = n;
    n = rnd(6);

    for (i = 0; i < n; i++) {
        ctx->viewed[i].sku = str(skus[rnd(NSKUS)]);
        ctx->viewed[i].category = str(cats[rnd(NCATS)]);
    }

    ctx->nviewed = n;

    if (rnd(3) == 0) {
        ctx->intent = str("gift");
    }

    ctx->features[0].name = str("segment");
    ctx->features[0].str = str(PICK(segments));
    ctx->features[1].name = str("age");
    ctx->features[1].num = (double) (18 + rnd(60));
    ctx->features[1].is_num = 1;
    ctx->nfeatures = 2;
}


/* a text buffer that grows */
typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} buf_t;


static void
buf_printf(buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  args;

    for ( ;; ) {
        va_start(args, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, args);
        va_end(args);

        if ((size_t) n < b->cap - b->len) {
            b->len += n;
            return;
        }

        b->cap = b->cap * 2 + n;
        b->data = realloc(b->data, b->cap);
    }
}


/* the model's names so far: an open-addressing set of hashes */
typedef struct {
    uint64_t  *hash;
    size_t     cap;
    size_t     n;
} set_t;


static int
set_add(set_t *set, uint64_t h)
{
    size_t     i, old;
    uint64_t  *prev;

    if (2 * (set->n + 1) > set->cap) {
        prev = set->hash;
        old = set->cap;
        set->cap = old ? old * 2 : 1024;
        set->hash = calloc(set->cap, sizeof(uint64_t));
        set->n = 0;

        for (i = 0; i < old; i++) {
            if (prev[i]) {
                set_add(set, prev[i]);
            }
        }

        free(prev);
    }

    h |= 1;     /* 0 marks an empty slot */

    for (i = (h * 0x9e3779b97f4a7c15ULL) % set->cap; set->hash[i];
         i = (i + 1) % set->cap)
    {
        if (set->hash[i] == h) {
            return 0;
        }
    }

    set->hash[i] = h;
    set->n++;

    return 1;
}


static char    pool[NPOOL][64];     /* shopper categories for the trees */
static size_t  npool;


/* full binary trees of depth 4, nodes in breadth-first order */
static void
trees_add(buf_t *b)
{
    size_t  t, i;

    buf_printf(b, ",\"trees\":[");

    for (t = 0; t < NTREES; t++) {
        buf_printf(b, "%s[", t ? "," : "");

        for (i = 0; i < 31; i++) {
            if (i < 15) {
                buf_printf(b, "%s{\"feature\":\"%s\",\"yes\":%zu,"
                           "\"no\":%zu}", i ? "," : "", pool[rnd(npool)],
                           2 * i + 1, 2 * i + 2);
            } else {
                buf_printf(b, ",{\"leaf\":%.6f}",
                           vpt_rand_unit(&rng) * 0.2 - 0.1);
            }
        }

        buf_printf(b, "]");
    }

    buf_printf(b, "]");
}


static void
model_add(buf_t *b, set_t *seen, const vpt_feat_t *f, size_t n)
{
    char      name[256];
    size_t    i;
    unsigned  x;

    for (i = 0; i < n; i++) {
        if (!set_add(seen, f[i].hash)) {
            continue;
        }

        vpt_feat_text(&f[i], name, sizeof(name));

        if (!f[i].is_num && npool < NPOOL && strlen(name) < 64
            && strncmp(name, "offer=", 6) != 0
            && strncmp(name, "kind=", 5) != 0
            && strncmp(name, "advertiser=", 11) != 0
            && strncmp(name, "of:", 3) != 0)
        {
            memcpy(pool[npool++], name, strlen(name) + 1);
        }

        buf_printf(b, "%s\"%s\":[%.6f", seen->n == 1 ? "" : ",", name,
                   vpt_rand_unit(&rng) * 0.6 - 0.3);

        for (x = 0; x < K; x++) {
            buf_printf(b, ",%.6f", vpt_rand_unit(&rng) * 0.4 - 0.2);
        }

        buf_printf(b, "]");
    }
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


static double
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}


/* median ns per decision over runs; eligible: mean eligible per decision */
static double
bench(const vpt_ranker_t *r, const vpt_context_t *ctx, size_t runs,
    double *eligible, double *sink)
{
    char                 *scratch;
    double               *t, start, ns, med;
    size_t                run, reps, i, j, done, elig;
    uint32_t             *impressions;
    vpt_decision_t        d;
    vpt_decide_params_t   p;

    scratch = malloc(vpt_ranker_scratch_size(r));
    impressions = calloc(100000, sizeof(uint32_t));
    t = malloc(runs * sizeof(double));

    memset(&p, 0, sizeof(p));
    p.hour = 14;
    p.long_term_weight = 1;
    p.explore = 0.05;
    p.impressions = impressions;

    /* calibrate: how many passes over the contexts fill a run */
    start = now_ns();

    for (i = 0; i < NCTX; i++) {
        p.page = (vpt_page_e) (i & 1);
        p.slots = 1 + (unsigned) (i % 3);
        p.seed = i;
        vpt_decide(r, &ctx[i], &p, scratch, &d);
    }

    ns = now_ns() - start;
    reps = (size_t) (RUN_NS / (ns > 1 ? ns : 1)) + 1;
    elig = 0;
    done = 0;

    for (run = 0; run < runs; run++) {
        start = now_ns();

        for (j = 0; j < reps; j++) {
            for (i = 0; i < NCTX; i++) {
                p.page = (vpt_page_e) (i & 1);
                p.slots = 1 + (unsigned) (i % 3);
                p.seed = j * NCTX + i;
                vpt_decide(r, &ctx[i], &p, scratch, &d);
                elig += d.eligible;
                *sink += d.total_value;
            }
        }

        t[run] = (now_ns() - start) / (double) (reps * NCTX);
        done += reps * NCTX;
    }

    qsort(t, runs, sizeof(double), cmp_double);
    med = t[runs / 2];
    *eligible = (double) elig / (double) done;

    free(t);
    free(impressions);
    free(scratch);

    return med;
}


int
main(int argc, char **argv)
{
    char             err[VPT_ERRLEN];
    double           ns_prior, ns_model, ns_trees, elig, sink;
    size_t           mark;
    size_t           sizes[] = { 100, 1000, 10000 };
    size_t           s, i, n, runs;
    buf_t            b;
    set_t            seen;
    vpt_feat_t       f[VPT_MAX_FEATURES];
    vpt_model_t     *m;
    vpt_ranker_t    *r;
    vpt_catalog_t   *c;
    vpt_context_t   *ctx;
    bench_catalog_t *bc;

    runs = (argc > 1) ? (size_t) atoi(argv[1]) : 7;
    runs = runs ? runs : 1;

    for (i = 0; i < NCATS; i++) {
        snprintf(cats[i], sizeof(cats[i]), "cat-%u", (unsigned) i);
    }

    for (i = 0; i < NSKUS; i++) {
        snprintf(skus[i], sizeof(skus[i]), "SKU-%04u", (unsigned) i);
    }

    ctx = malloc(NCTX * sizeof(vpt_context_t));

    for (i = 0; i < NCTX; i++) {
        make_context(&ctx[i]);
    }

    sink = 0;

    printf("ranker: %d shoppers, k = %d, median of %zu runs, ns per "
           "decision\n", NCTX, K, runs);
    printf("%8s %10s %12s %12s %12s %12s %12s\n", "offers", "eligible",
           "priors", "model", "model/offer", "+trees", "+trees/offer");

    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        bc = make_catalog(sizes[s]);
        c = &bc->c;

        /* the model knows every offer feature and the shoppers' */
        memset(&b, 0, sizeof(b));
        b.cap = 1 << 16;
        b.data = malloc(b.cap);
        b.data[0] = '\0';
        buf_printf(&b, "{\"format\":\"vpt-fm\",\"k\":%d,\"bias\":-2.5,"
                   "\"features\":{", K);

        memset(&seen, 0, sizeof(seen));

        for (i = 0; i < NCTX; i++) {
            n = vpt_features_shopper(&ctx[i], (vpt_page_e) (i & 1), 14, f,
                                     VPT_MAX_FEATURES);
            model_add(&b, &seen, f, n);
        }

        for (i = 0; i < c->n; i++) {
            n = vpt_features_offer(&c->offers[i], f, VPT_MAX_FEATURES);
            model_add(&b, &seen, f, n);
        }

        buf_printf(&b, "}");
        mark = b.len;
        buf_printf(&b, "}");
        free(seen.hash);

        m = vpt_model_parse(b.data, b.len, "bench", err, sizeof(err));
        if (m == NULL) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }

        r = vpt_ranker_create(c, NULL, err, sizeof(err));
        ns_prior = bench(r, ctx, runs, &elig, &sink);
        vpt_ranker_free(r);

        r = vpt_ranker_create(c, m, err, sizeof(err));
        ns_model = bench(r, ctx, runs, &elig, &sink);
        vpt_ranker_free(r);
        vpt_model_free(m);

        /* the same model with trees */
        b.len = mark;
        trees_add(&b);
        buf_printf(&b, "}");

        m = vpt_model_parse(b.data, b.len, "bench", err, sizeof(err));
        if (m == NULL) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }

        free(b.data);

        r = vpt_ranker_create(c, m, err, sizeof(err));
        ns_trees = bench(r, ctx, runs, &elig, &sink);
        vpt_ranker_free(r);

        printf("%8zu %10.1f %12.0f %12.0f %12.2f %12.0f %12.2f\n", c->n,
               elig, ns_prior, ns_model, ns_model / (double) c->n,
               ns_trees, ns_trees / (double) c->n);

        vpt_model_free(m);
        free_catalog(bc);
    }

    free(ctx);

    return sink == 12345.678 ? 2 : 0;
}
