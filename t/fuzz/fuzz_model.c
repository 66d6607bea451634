/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for the model parser: the input is a model file
 * (tools/vpt-train's output, or an operator's), as vpt_model_parse() sees
 * it.  Checked, beyond the sanitizers and LeakSanitizer:
 *
 *   - a rejected model has a message that names the file;
 *   - an accepted one has the file's k and bias, and vpt_model_lookup()
 *     of every feature the file lists (read again with jansson) gives its
 *     k + 1 numbers as floats, while a hash the file does not list (a few
 *     known feature names, and random hashes) gives NULL;
 *   - vpt_model_logit() of no feature is the bias plus the trees' leaves
 *     that no feature reaches (0 without trees), and over random
 *     features (listed ones, repeated ones, unknown ones, numbers of the
 *     names that may have bins, NaN and infinities among them) is finite;
 *   - vpt_model_value() of every id "values" lists is its number, of an
 *     id it does not list NaN;
 *   - a ranker of a small embedded catalog with this model decides for an
 *     embedded context with finite logits and p in [0, 1], and its logit
 *     is vpt_model_logit() over the shopper's and the offer's features
 *     (numbers binned by the model's bins on both paths).
 *
 * Build and run from the repository root (t/fuzz/run does both):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc -It/fuzz \
 *       -o build/fuzz/fuzz_model t/fuzz/fuzz_model.c src/vpt_*.c \
 *       -lpcre2-8 -ljansson -lm
 *   mkdir -p build/fuzz/corpus/model
 *   build/fuzz/fuzz_model -dict=t/fuzz/model.dict -max_total_time=60 \
 *       build/fuzz/corpus/model t/fuzz/corpus/model
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vpt_catalog.h"
#include "vpt_context.h"
#include "vpt_model.h"
#include "vpt_rank.h"
#include "fuzz_check.h"


#define NAME       "fuzz"
#define MAX_FEATS  (2 * VPT_MAX_FEATURES)


static const char  *known[] = {
    "device=mobile",
    "intent=gift",
    "loyal=no",
    "kind=loyalty",
    "kind=app_install",
    "of:category=dresses",
    "page=cart",
    "hour=evening",
    "orders=2-3",
    "f:segment=new",
    "offer=party-dress",
    "=",
    "",
    NULL
};

#define NKNOWN  (sizeof(known) / sizeof(known[0]) - 1)


static const char  catalog_json[] =
    "{\"version\": \"fuzz-model\", \"offers\": ["
    " {\"id\": \"party-dress\", \"kind\": \"cross_sell\", \"value\": 34,"
    "  \"long_term_value\": 5, \"pages\": [\"confirmation\"],"
    "  \"markup\": \"<p>dress</p>\","
    "  \"features\": {\"category\": \"dresses\", \"price\": 34.5}},"
    " {\"id\": \"loyalty\", \"kind\": \"loyalty\", \"value\": 0,"
    "  \"long_term_value\": 60, \"pages\": [\"cart\", \"confirmation\"],"
    "  \"markup\": \"<p>join</p>\", \"features\": {\"segment\": \"new\"}},"
    " {\"id\": \"travel\", \"kind\": \"third_party\", \"value\": 1.5,"
    "  \"advertiser\": \"Sunway Travel\", \"pages\": [\"cart\"],"
    "  \"markup\": \"<p>trips</p>\"}]}";

static const char  context_json[] =
    "{\"user\": {\"id\": \"u-1\", \"loyalty_member\": false, \"orders\": 3},"
    " \"device\": \"mobile\", \"referrer\": \"email\", \"country\": \"US\","
    " \"local_hour\": 20, \"intent\": \"gift\","
    " \"cart\": [{\"sku\": \"TOY-1\", \"category\": \"toys\","
    "            \"price\": 29.99}],"
    " \"history\": {\"categories\": [\"books\", \"dresses\"]},"
    " \"features\": {\"segment\": \"new\", \"age\": 31}}";


static vpt_catalog_t  *catalog;
static vpt_context_t   context;
static char            arena[sizeof(context_json)];


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[VPT_ERRLEN];

    catalog = vpt_catalog_parse(catalog_json, sizeof(catalog_json) - 1,
                                "embedded", err, sizeof(err));
    if (catalog == NULL) {
        fprintf(stderr, "fuzz_model: %s\n", err);
        exit(2);
    }

    if (vpt_context_parse(&context, context_json, sizeof(context_json) - 1,
                          arena, sizeof(arena))
        != VPT_OK)
    {
        fprintf(stderr, "fuzz_model: the embedded context does not parse\n");
        exit(2);
    }

    return 0;
}


static int
listed(const uint64_t *hashes, size_t n, uint64_t h)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (hashes[i] == h) {
            return 1;
        }
    }

    return 0;
}


/* numbers that land on, around and far from edges */
static const double  numbers[] = {
    0, -0.0, 31, 34.5, -1, 1e300, -1e300, 0.5, 30.5, 31.5
};

#define NNUMBERS  (sizeof(numbers) / sizeof(numbers[0]))

static const char  *numeric_names[] = { "f:age", "of:price", "f:visits" };


/* the file again, through jansson: every feature is found, as floats */
static uint64_t *
check_listed(const vpt_model_t *m, const uint8_t *data, size_t size,
    size_t *nhashes)
{
    size_t        i, n;
    json_t       *root, *features, *values, *v;
    unsigned      k;
    vpt_str_t     id;
    uint64_t     *hashes;
    const char   *key;
    const float  *p;
    json_error_t  je;

    root = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &je);
    CHECK(root != NULL);

    k = vpt_model_k(m);
    CHECK(k >= 1 && k <= VPT_MODEL_MAX_K);
    CHECK((json_int_t) k == json_integer_value(json_object_get(root, "k")));
    CHECK(isfinite(vpt_model_bias(m)));
    CHECK(vpt_model_bias(m)
          == json_number_value(json_object_get(root, "bias")));

    features = json_object_get(root, "features");
    CHECK(json_is_object(features));

    hashes = fuzz_malloc(json_object_size(features) * sizeof(uint64_t));
    n = 0;

    values = json_object_get(root, "values");

    json_object_foreach(values, key, v) {
        id.data = key;
        id.len = strlen(key);
        CHECK(vpt_model_value(m, id) == json_number_value(v));
    }

    id.data = "not-an-offer-id";
    id.len = strlen(id.data);
    CHECK(json_object_get(values, id.data) != NULL
          || isnan(vpt_model_value(m, id)));

    json_object_foreach(features, key, v) {
        hashes[n] = vpt_hash(key, strlen(key));

        p = vpt_model_lookup(m, hashes[n]);
        CHECK(p != NULL);
        CHECK(json_array_size(v) == k + 1);

        for (i = 0; i <= k; i++) {
            CHECK(p[i] == (float) json_number_value(json_array_get(v, i)));
        }

        n++;
    }

    json_decref(root);

    *nhashes = n;

    return hashes;
}


/* what rounding scales with: the sum of the terms' sizes */
static double
magnitude(const vpt_model_t *m, const vpt_feat_t *f, size_t n)
{
    double        mag, s;
    size_t        i, r, nr;
    unsigned      j, k;
    const float  *rows[VPT_MODEL_MAX_LEVELS];

    k = vpt_model_k(m);
    mag = 1 + fabs(vpt_model_bias(m));
    s = 0;

    for (i = 0; i < n; i++) {
        nr = vpt_model_rows(m, &f[i], rows);

        for (r = 0; r < nr; r++) {
            mag += fabs(rows[r][0]);

            for (j = 1; j <= k; j++) {
                s += fabs(rows[r][j]);
            }
        }
    }

    return (mag + s * s) * (n + 1);
}


static void
check_ranker(const vpt_model_t *m)
{
    char                 *scratch, err[VPT_ERRLEN];
    double                logit, ref;
    size_t                i, ns, no;
    unsigned              page;
    vpt_feat_t           *f;
    vpt_ranker_t         *r;
    vpt_decision_t        d;
    vpt_decide_params_t   params;

    r = vpt_ranker_create(catalog, m, err, sizeof(err));

    if (r == NULL) {
        fprintf(stderr, "fuzz_model: %s\n", err);
    }

    CHECK(r != NULL);

    scratch = fuzz_malloc(vpt_ranker_scratch_size(r));

    for (page = 0; page < VPT_PAGE_N; page++) {
        memset(&params, 0, sizeof(params));
        params.page = (vpt_page_e) page;
        params.hour = 20;
        params.slots = VPT_MAX_SLOTS;
        params.long_term_weight = 0.5;
        params.min_value = -INFINITY;

        vpt_decide(r, &context, &params, scratch, &d);

        for (i = 0; i < d.n; i++) {
            CHECK(d.offer[i] < catalog->n);
            CHECK(d.p[i] >= 0 && d.p[i] <= 1);
            CHECK(isfinite(d.value[i]));
        }

        f = fuzz_malloc(MAX_FEATS * sizeof(vpt_feat_t));
        ns = vpt_features_shopper(&context, params.page, params.hour, f,
                                  VPT_MAX_FEATURES);

        for (i = 0; i < catalog->n; i++) {
            logit = vpt_ranker_logit(r, &context, params.page, params.hour,
                                     i);
            CHECK(isfinite(logit));

            no = vpt_features_offer(&catalog->offers[i], f + ns,
                                    VPT_MAX_FEATURES);
            ref = vpt_model_logit(m, f, ns + no);
            CHECK(fabs(logit - ref) <= 1e-9 * magnitude(m, f, ns + no));
        }

        free(f);
    }

    free(scratch);
    vpt_ranker_free(r);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char          err[VPT_ERRLEN];
    double        logit, p;
    size_t        i, n, nhashes;
    uint64_t      state, x, h, *hashes;
    vpt_feat_t    f[MAX_FEATS];
    vpt_model_t  *m;
    const char   *name;

    err[0] = '\0';

    m = vpt_model_parse((const char *) data, size, NAME, err, sizeof(err));

    if (m == NULL) {
        CHECK(strncmp(err, "model \"" NAME "\": ",
                      sizeof("model \"" NAME "\": ") - 1) == 0);
        return 0;
    }

    hashes = check_listed(m, data, size, &nhashes);

    /* what the file does not list is not found */

    for (i = 0; known[i] != NULL; i++) {
        h = vpt_hash(known[i], strlen(known[i]));
        CHECK((vpt_model_lookup(m, h) != NULL) == listed(hashes, nhashes, h));
    }

    state = vpt_hash(data, size);

    for (i = 0; i < 16; i++) {
        h = vpt_rand_next(&state);
        CHECK((vpt_model_lookup(m, h) != NULL) == listed(hashes, nhashes, h));
    }

    /* the logit */

    CHECK(vpt_model_logit(m, f, 0)
          == vpt_model_bias(m) + vpt_model_trees(m, f, 0));
    CHECK(vpt_model_ntrees(m) > 0 || vpt_model_trees(m, f, 0) == 0);

    memset(f, 0, sizeof(f));
    n = vpt_rand_next(&state) % (MAX_FEATS + 1);

    for (i = 0; i < n; i++) {
        x = vpt_rand_next(&state);

        switch (x % 5) {
        case 4:
            /* a number of a name that may have bins */
            name = numeric_names[(x >> 3) % 3];
            f[i].hash = x;
            f[i].prefix = vpt_hash_more(vpt_hash(name, strlen(name)), "=",
                                        1);
            f[i].num = ((x >> 8) & 1) ? numbers[(x >> 9) % NNUMBERS]
                       : ((x >> 9) & 1) ? NAN : INFINITY;
            f[i].is_num = 1;
            break;
        case 0:
        case 1:
            f[i].hash = nhashes ? hashes[(x >> 2) % nhashes] : x;
            break;
        case 2:
            f[i].hash = vpt_hash(known[(x >> 2) % NKNOWN],
                                 strlen(known[(x >> 2) % NKNOWN]));
            break;
        default:
            f[i].hash = x;
        }
    }

    logit = vpt_model_logit(m, f, n);
    CHECK(isfinite(logit));

    p = vpt_sigmoid(logit);
    CHECK(p >= 0 && p <= 1);

    check_ranker(m);

    free(hashes);
    vpt_model_free(m);

    return 0;
}
