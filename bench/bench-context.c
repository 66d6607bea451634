/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Micro-benchmark of vpt_context_parse(): the demo shop's three personas
 * (tools/vpt-demo's seed()) and a bigger context of about 4 KB with 32 cart
 * items; prints the median cost of one parse for each.
 *
 *   bench/bench-context [-n parses] [-d] [name ...]
 *
 * (bench/bench-context builds build/bench/bench-context first.)  With -n,
 * each named context (all by default) is parsed once and then exactly that
 * many times, untimed, for valgrind --tool=callgrind
 * --toggle-collect=vpt_context_parse: the instructions collected divided
 * by n + 1 are the cost of one parse (bench/bench-context --callgrind does
 * that).  With -d, each context is parsed once and printed in full, to
 * compare the results of two builds.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpt_context.h"


#define RUN_NS  40000000.0      /* each timed run lasts about 40 ms */
#define RUNS    7


typedef struct {
    const char  *name;
    const char  *json;
    size_t       len;
} bench_ctx_t;


static bench_ctx_t  contexts[] = {
    { "gift-buyer",
      "{\"user\": {\"id\": \"u-gift\", \"loyalty_member\": false, "
      "\"orders\": 1}, \"device\": \"desktop\", \"referrer\": \"search\", "
      "\"country\": \"US\", \"intent\": \"gift\", \"cart\": [{\"sku\": "
      "\"TOY-1\", \"category\": \"toys\", \"price\": 29.99, \"qty\": 1}], "
      "\"order\": {\"id\": \"A-1001\", \"total\": 29.99, \"currency\": "
      "\"USD\"}, \"viewed\": [{\"sku\": \"DR-7\", \"category\": "
      "\"dresses\"}]}", 0 },

    { "loyal-mobile",
      "{\"user\": {\"id\": \"u-loyal\", \"loyalty_member\": true, "
      "\"orders\": 14, \"lifetime_value\": 1240.0}, \"device\": \"mobile\", "
      "\"referrer\": \"email\", \"country\": \"US\", \"cart\": [{\"sku\": "
      "\"PZ-5\", \"category\": \"puzzles\", \"price\": 18.0, \"qty\": 1}], "
      "\"order\": {\"id\": \"A-1002\", \"total\": 18.0, \"currency\": "
      "\"USD\"}, \"history\": {\"categories\": [\"toys\", \"puzzles\"], "
      "\"skus\": [\"TOY-9\"]}}", 0 },

    { "first-desktop",
      "{\"user\": {\"id\": \"u-new\", \"loyalty_member\": false, "
      "\"orders\": 0}, \"device\": \"desktop\", \"referrer\": \"ads\", "
      "\"country\": \"DE\", \"cart\": [{\"sku\": \"BK-3\", \"category\": "
      "\"books\", \"price\": 12.5, \"qty\": 2}], \"order\": {\"id\": "
      "\"A-1003\", \"total\": 25.0, \"currency\": \"EUR\"}}", 0 },

    { "big-cart", NULL, 0 }     /* built by big_context() */
};

#define NCONTEXTS  (sizeof(contexts) / sizeof(contexts[0]))


static char  big[8192];


/* ~4 KB: 32 cart items, history, 16 viewed items, features, local_hour */

static const char *
big_context(void)
{
    size_t             i, n;
    static const char  *cats[] = { "toys", "books", "puzzles", "dresses",
                                   "garden", "kitchen" };

#define ADD(...)  n += snprintf(big + n, sizeof(big) - n, __VA_ARGS__)

    n = 0;

    ADD("{\"user\": {\"id\": \"u-0042-big-spender\", \"loyalty_member\": "
        "true, \"orders\": 57, \"lifetime_value\": 8421.5}, "
        "\"device\": \"tablet\", \"referrer\": \"affiliate\", "
        "\"country\": \"GB\", \"local_hour\": 21, \"intent\": \"restock\", "
        "\"cart\": [");

    for (i = 0; i < 32; i++) {
        ADD("%s{\"sku\": \"SKU-%04zu\", \"category\": \"%s\", "
            "\"price\": %zu.%02zu, \"qty\": %zu}", i ? ", " : "",
            1000 + i * 37, cats[i % 6], 3 + i * 7 % 90, i * 13 % 100,
            1 + i % 3);
    }

    ADD("], \"order\": {\"id\": \"B-778812\", \"total\": 1893.42, "
        "\"currency\": \"GBP\"}, \"history\": {\"categories\": [");

    for (i = 0; i < 6; i++) {
        ADD("%s\"%s\"", i ? ", " : "", cats[i]);
    }

    ADD("], \"skus\": [");

    for (i = 0; i < 12; i++) {
        ADD("%s\"HX-%03zu\"", i ? ", " : "", i * 11);
    }

    ADD("]}, \"viewed\": [");

    for (i = 0; i < 16; i++) {
        ADD("%s{\"sku\": \"VW-%03zu\", \"category\": \"%s\", "
            "\"price\": %zu.5}", i ? ", " : "", i * 3, cats[(i + 2) % 6],
            10 + i);
    }

    ADD("], \"features\": {\"segment\": \"vip\", \"age_band\": \"35-44\", "
        "\"age\": 41, \"newsletter\": \"weekly\", \"ab_bucket\": 7, "
        "\"region\": \"north-west\", \"basket_affinity\": 0.83, "
        "\"campaign\": \"spring-sale-2024\", \"store\": \"manchester-arndale\", "
        "\"payment\": \"card\", \"visits_30d\": 12, "
        "\"browser\": \"safari\", \"os\": \"ipados\", "
        "\"coupon\": \"WELCOME10\", \"tier\": \"gold\"}}");

#undef ADD

    return big;
}


static double
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e9 + ts.tv_nsec;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


static void
print_str(const char *name, vpt_str_t s)
{
    if (s.len > 0) {
        printf("  %s \"%.*s\"\n", name, (int) s.len, s.data);
    }
}


static void
print_items(const char *name, const vpt_item_t *it, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        printf("  %s[%zu] \"%.*s\" \"%.*s\" %.17g x %.17g\n", name, i,
               (int) it[i].sku.len, it[i].sku.data ? it[i].sku.data : "",
               (int) it[i].category.len,
               it[i].category.data ? it[i].category.data : "",
               it[i].price, it[i].qty);
    }
}


static void
dump(const bench_ctx_t *b, const vpt_context_t *ctx, int rc)
{
    size_t  i;

    printf("%s: rc %d\n", b->name, rc);
    print_str("user_id", ctx->user_id);
    printf("  loyalty_member %d orders %.17g lifetime_value %.17g\n",
           ctx->loyalty_member, ctx->orders, ctx->lifetime_value);
    print_str("device", ctx->device);
    print_str("referrer", ctx->referrer);
    print_str("country", ctx->country);
    printf("  local_hour %d\n", ctx->local_hour);
    print_items("cart", ctx->cart, ctx->ncart);
    printf("  cart_total %.17g\n", ctx->cart_total);
    print_str("order_id", ctx->order_id);
    printf("  order_total %.17g\n", ctx->order_total);
    print_str("order_currency", ctx->order_currency);

    for (i = 0; i < ctx->nhistory_categories; i++) {
        print_str("history_category", ctx->history_categories[i]);
    }

    for (i = 0; i < ctx->nhistory_skus; i++) {
        print_str("history_sku", ctx->history_skus[i]);
    }

    print_items("viewed", ctx->viewed, ctx->nviewed);
    print_str("intent", ctx->intent);

    for (i = 0; i < ctx->nfeatures; i++) {
        if (ctx->features[i].is_num) {
            printf("  feature \"%.*s\" %.17g\n",
                   (int) ctx->features[i].name.len,
                   ctx->features[i].name.data, ctx->features[i].num);

        } else {
            printf("  feature \"%.*s\" \"%.*s\"\n",
                   (int) ctx->features[i].name.len,
                   ctx->features[i].name.data,
                   (int) ctx->features[i].str.len,
                   ctx->features[i].str.data);
        }
    }
}


static int
selected(const char *name, int argc, char **argv, int first)
{
    int  i;

    if (first == argc) {
        return 1;
    }

    for (i = first; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int             rc, i, r, dumping;
    char           *arena;
    long            count;
    size_t          k, n, iters;
    double          t0, t, runs[RUNS];
    bench_ctx_t    *b;
    vpt_context_t   ctx;

    count = 0;
    dumping = 0;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            count = atol(argv[++i]);

        } else if (strcmp(argv[i], "-d") == 0) {
            dumping = 1;

        } else {
            fprintf(stderr, "usage: bench-context [-n parses] [-d] "
                    "[name ...]\n");
            return 2;
        }
    }

    contexts[NCONTEXTS - 1].json = big_context();

    for (k = 0; k < NCONTEXTS; k++) {
        contexts[k].len = strlen(contexts[k].json);
    }

    arena = malloc(sizeof(big));
    if (arena == NULL) {
        return 1;
    }

    if (!dumping && count == 0) {
        printf("%-14s %6s %10s\n", "context", "bytes", "ns/parse");
    }

    for (k = 0; k < NCONTEXTS; k++) {
        b = &contexts[k];

        if (!selected(b->name, argc, argv, i)) {
            continue;
        }

        rc = vpt_context_parse(&ctx, b->json, b->len, arena, b->len);

        if (rc != VPT_OK) {
            fprintf(stderr, "bench-context: %s does not parse\n", b->name);
            return 1;
        }

        if (dumping) {
            dump(b, &ctx, rc);
            continue;
        }

        if (count > 0) {
            for (n = 0; n < (size_t) count; n++) {
                vpt_context_parse(&ctx, b->json, b->len, arena, b->len);
            }

            printf("%s: %ld parses\n", b->name, count);
            continue;
        }

        /* how many parses last about RUN_NS */

        iters = 16;

        for ( ;; ) {
            t0 = now_ns();

            for (n = 0; n < iters; n++) {
                vpt_context_parse(&ctx, b->json, b->len, arena, b->len);
            }

            t = now_ns() - t0;

            if (t > RUN_NS / 4) {
                break;
            }

            iters *= 2;
        }

        iters = (size_t) (iters * RUN_NS / t) + 1;

        for (r = 0; r < RUNS; r++) {
            t0 = now_ns();

            for (n = 0; n < iters; n++) {
                vpt_context_parse(&ctx, b->json, b->len, arena, b->len);
            }

            runs[r] = (now_ns() - t0) / iters;
        }

        qsort(runs, RUNS, sizeof(double), cmp_double);

        printf("%-14s %6zu %10.0f   (min %.0f, %zu parses a run, "
               "ncart %zu)\n", b->name, b->len, runs[RUNS / 2], runs[0],
               iters, ctx.ncart);
    }

    free(arena);

    return 0;
}
