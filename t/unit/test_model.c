/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Features and the factorization machine: names, buckets, the model file's
 * validation and the reference score.
 */

#include <stdlib.h>
#include <unistd.h>

#include "vpt_test.h"
#include "vpt_fixture.h"
#include "vpt_model.h"


static char  err[VPT_ERRLEN];


static int
has_feature(const vpt_feat_t *f, size_t n, const char *text)
{
    char    buf[256];
    size_t  i;

    for (i = 0; i < n; i++) {
        vpt_feat_text(&f[i], buf, sizeof(buf));
        if (strcmp(buf, text) == 0) {
            return 1;
        }
    }

    return 0;
}


static vpt_model_t *
parse(const char *json)
{
    err[0] = '\0';
    return vpt_model_parse(json, strlen(json), "m.json", err, sizeof(err));
}


static int
parse_fails_with(const char *json, const char *want)
{
    vpt_model_t  *m;

    m = parse(json);
    if (m != NULL) {
        vpt_model_free(m);
        printf("#   parsed, want error \"%s\"\n", want);
        return 0;
    }

    if (strstr(err, want) == NULL) {
        printf("#   error \"%s\", want \"%s\"\n", err, want);
        return 0;
    }

    return 1;
}


VPT_TEST(shopper_features_cover_every_namespace)
{
    vpt_feat_t     f[VPT_MAX_FEATURES];
    size_t         n;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    ctx.device = str("mobile");
    ctx.referrer = str("email");
    ctx.country = str("US");
    ctx.local_hour = 20;
    ctx.loyalty_member = 0;
    ctx.orders = 3;
    ctx.ncart = 3;
    ctx.cart[0].category = str("toys");
    ctx.cart[1].category = str("books");
    ctx.cart[2].category = str("toys");
    ctx.nhistory_categories = 1;
    ctx.history_categories[0] = str("books");
    ctx.intent = str("gift");
    ctx.nfeatures = 0;
    attr_str(ctx.features, &ctx.nfeatures, "segment", "bargain-hunter");
    attr_num(ctx.features, &ctx.nfeatures, "age", 31);

    n = vpt_features_shopper(&ctx, VPT_PAGE_CONFIRMATION, 3, f,
                             VPT_MAX_FEATURES);

    VPT_CHECK(n == 13);
    VPT_CHECK(has_feature(f, n, "page=confirmation"));
    VPT_CHECK(has_feature(f, n, "device=mobile"));
    VPT_CHECK(has_feature(f, n, "referrer=email"));
    VPT_CHECK(has_feature(f, n, "country=US"));
    VPT_CHECK(has_feature(f, n, "hour=evening"));
    VPT_CHECK(has_feature(f, n, "loyal=no"));
    VPT_CHECK(has_feature(f, n, "orders=2-3"));
    VPT_CHECK(has_feature(f, n, "cart_cat=toys"));
    VPT_CHECK(has_feature(f, n, "cart_cat=books"));
    VPT_CHECK(has_feature(f, n, "hist_cat=books"));
    VPT_CHECK(has_feature(f, n, "intent=gift"));
    VPT_CHECK(has_feature(f, n, "f:segment=bargain-hunter"));
    VPT_CHECK(has_feature(f, n, "f:age=b5"));
}


VPT_TEST(feature_hash_is_the_hash_of_its_text)
{
    char           buf[256];
    size_t         n, i, len;
    vpt_feat_t     f[VPT_MAX_FEATURES];
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    ctx.device = str("tablet");
    ctx.nfeatures = 0;
    attr_str(ctx.features, &ctx.nfeatures, "segment", "new");

    n = vpt_features_shopper(&ctx, VPT_PAGE_CART, 9, f, VPT_MAX_FEATURES);

    VPT_CHECK(n == 4);

    for (i = 0; i < n; i++) {
        len = vpt_feat_text(&f[i], buf, sizeof(buf));
        VPT_CHECK(len == strlen(buf));
        VPT_CHECK(f[i].hash == vpt_hash(buf, len));
    }

    VPT_CHECK(has_feature(f, n, "hour=morning"));
    VPT_CHECK(vpt_hash("f:segment=new", 13) == f[3].hash);
}


VPT_TEST(unknown_context_fields_make_no_features)
{
    size_t         n;
    vpt_feat_t     f[VPT_MAX_FEATURES];
    vpt_context_t  ctx;

    vpt_context_init(&ctx);

    n = vpt_features_shopper(&ctx, VPT_PAGE_CART, -1, f, VPT_MAX_FEATURES);

    VPT_CHECK(n == 1);
    VPT_CHECK(has_feature(f, n, "page=cart"));
}


VPT_TEST(hour_and_order_buckets)
{
    size_t         n;
    vpt_feat_t     f[VPT_MAX_FEATURES];
    vpt_context_t  ctx;

    static const struct {
        int          hour;
        double       orders;
        const char  *hour_want;
        const char  *orders_want;
    } cases[] = {
        { 0, 0, "hour=night", "orders=0" },
        { 5, 1, "hour=night", "orders=1" },
        { 6, 2, "hour=morning", "orders=2-3" },
        { 11, 3, "hour=morning", "orders=2-3" },
        { 12, 4, "hour=afternoon", "orders=4-7" },
        { 17, 7, "hour=afternoon", "orders=4-7" },
        { 18, 8, "hour=evening", "orders=8+" },
        { 23, 1000, "hour=evening", "orders=8+" },
    };
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vpt_context_init(&ctx);
        ctx.orders = cases[i].orders;

        /* the server's hour when the context has none */
        n = vpt_features_shopper(&ctx, VPT_PAGE_CART, cases[i].hour, f,
                                 VPT_MAX_FEATURES);
        VPT_CHECK_MSG(has_feature(f, n, cases[i].hour_want), "%s",
                      cases[i].hour_want);
        VPT_CHECK_MSG(has_feature(f, n, cases[i].orders_want), "%s",
                      cases[i].orders_want);

        /* the context's hour wins */
        ctx.local_hour = cases[i].hour;
        n = vpt_features_shopper(&ctx, VPT_PAGE_CART, (cases[i].hour + 12)
                                 % 24, f, VPT_MAX_FEATURES);
        VPT_CHECK_MSG(has_feature(f, n, cases[i].hour_want), "%s",
                      cases[i].hour_want);
    }
}


VPT_TEST(number_buckets_are_log2_with_sign)
{
    VPT_CHECK(strcmp(vpt_feat_bucket(0), "b0") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(-0.0), "b0") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(0.99), "b0") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(1), "b1") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(2), "b1") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(3), "b2") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(30.9), "b4") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(31), "b5") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(-2), "-b1") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(-0.5), "-b0") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(1e300), "b63") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(-INFINITY), "-b63") == 0);
    VPT_CHECK(strcmp(vpt_feat_bucket(NAN), "nan") == 0);
}


VPT_TEST(offer_features_name_id_kind_advertiser_and_attributes)
{
    size_t       n;
    vpt_feat_t   f[VPT_MAX_FEATURES];
    vpt_attr_t   attrs[2];
    vpt_offer_t  o;

    memset(&o, 0, sizeof(o));
    memset(attrs, 0, sizeof(attrs));
    o.id = str("partner-mag");
    o.kind = VPT_KIND_THIRD_PARTY;
    o.advertiser = str("acme");
    attrs[0].name = str("category");
    attrs[0].str = str("toys");
    attrs[1].name = str("discount");
    attrs[1].num = 10;
    attrs[1].is_num = 1;
    o.features = attrs;
    o.nfeatures = 2;

    n = vpt_features_offer(&o, f, VPT_MAX_FEATURES);

    VPT_CHECK(n == 5);
    VPT_CHECK(has_feature(f, n, "offer=partner-mag"));
    VPT_CHECK(has_feature(f, n, "kind=third_party"));
    VPT_CHECK(has_feature(f, n, "advertiser=acme"));
    VPT_CHECK(has_feature(f, n, "of:category=toys"));
    VPT_CHECK(has_feature(f, n, "of:discount=b3"));

    /* the cap is respected */
    n = vpt_features_offer(&o, f, 2);
    VPT_CHECK(n == 2);
}


VPT_TEST(feature_text_is_cut_to_the_buffer)
{
    char        buf[8];
    size_t      len;
    vpt_feat_t  f;

    memset(&f, 0, sizeof(f));
    f.ns = str("of:");
    f.name = str("category");
    f.value = str("toys");

    len = vpt_feat_text(&f, buf, sizeof(buf));
    VPT_CHECK(len == strlen("of:category=toys"));
    VPT_CHECK(strcmp(buf, "of:cate") == 0);
}


VPT_TEST(model_parses_and_looks_up_features)
{
    const float  *p;
    vpt_model_t  *m;

    m = parse("{\"format\": \"vpt-fm\", \"k\": 2, \"bias\": -1.5,"
              " \"meta\": {\"trainer\": \"vpt-train 1\"},"
              " \"features\": {\"device=mobile\": [0.5, 1, 2],"
              "                \"offer=loyalty\": [-0.25, 3, -1]}}");
    VPT_CHECK_MSG(m != NULL, "%s", err);
    if (m == NULL) {
        return;
    }

    VPT_CHECK(vpt_model_k(m) == 2);
    VPT_CHECK_NEAR(vpt_model_bias(m), -1.5, 0);

    p = vpt_model_lookup(m, vpt_hash("device=mobile", 13));
    VPT_CHECK(p != NULL && p[0] == 0.5f && p[1] == 1.0f && p[2] == 2.0f);

    p = vpt_model_lookup(m, vpt_hash("offer=loyalty", 13));
    VPT_CHECK(p != NULL && p[0] == -0.25f && p[2] == -1.0f);

    VPT_CHECK(vpt_model_lookup(m, vpt_hash("device=desktop", 14)) == NULL);

    vpt_model_free(m);
}


VPT_TEST(model_logit_is_the_fm_formula)
{
    vpt_feat_t    f[3];
    vpt_model_t  *m;

    m = parse("{\"format\": \"vpt-fm\", \"k\": 2, \"bias\": -1.5,"
              " \"features\": {\"a=1\": [0.5, 1, 2],"
              "                \"b=1\": [-0.25, 3, -1]}}");
    VPT_CHECK_MSG(m != NULL, "%s", err);
    if (m == NULL) {
        return;
    }

    memset(f, 0, sizeof(f));
    f[0].hash = vpt_hash("a=1", 3);
    f[1].hash = vpt_hash("b=1", 3);
    f[2].hash = vpt_hash("c=1", 3);     /* unknown: all zero */

    VPT_CHECK_NEAR(vpt_model_logit(m, f, 0), -1.5, 1e-12);
    VPT_CHECK_NEAR(vpt_model_logit(m, f, 1), -1.0, 1e-12);

    /* -1.5 + 0.5 - 0.25 + <(1,2),(3,-1)> = -1.25 + 1 */
    VPT_CHECK_NEAR(vpt_model_logit(m, f, 3), -0.25, 1e-12);

    /* a listed twice: w twice, and <v_a, v_a> = 5 once */
    f[1] = f[0];
    VPT_CHECK_NEAR(vpt_model_logit(m, f, 2), -1.5 + 1.0 + 5.0, 1e-12);

    VPT_CHECK_NEAR(vpt_sigmoid(0), 0.5, 1e-15);
    VPT_CHECK_NEAR(vpt_sigmoid(-800), 0, 1e-300);
    VPT_CHECK_NEAR(vpt_sigmoid(800), 1, 1e-15);
    VPT_CHECK_NEAR(vpt_sigmoid(2) + vpt_sigmoid(-2), 1, 1e-15);

    vpt_model_free(m);
}


VPT_TEST(model_with_many_features_finds_each)
{
    char          name[32], *json, *p;
    size_t        i, n, bad;
    const float  *w;
    vpt_model_t  *m;

    n = 5000;
    json = malloc(n * 48 + 128);
    p = json + sprintf(json, "{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,"
                       "\"features\":{");

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s\"f:x=%zu\":[%zu,1]", i ? "," : "", i, i);
    }

    strcpy(p, "}}");

    m = parse(json);
    free(json);
    VPT_CHECK_MSG(m != NULL, "%s", err);
    if (m == NULL) {
        return;
    }

    bad = 0;

    for (i = 0; i < n; i++) {
        sprintf(name, "f:x=%zu", i);
        w = vpt_model_lookup(m, vpt_hash(name, strlen(name)));
        bad += (w == NULL || w[0] != (float) i);

        sprintf(name, "f:y=%zu", i);
        bad += (vpt_model_lookup(m, vpt_hash(name, strlen(name))) != NULL);
    }

    VPT_CHECK(bad == 0);

    vpt_model_free(m);
}


VPT_TEST(model_rejects_bad_k)
{
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":0,\"bias\":0,"
                               "\"features\":{}}",
                               "model \"m.json\": \"k\": expected an "
                               "integer 1..64"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":65,\"bias\":0,"
                               "\"features\":{}}", "\"k\": expected"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":2.5,"
                               "\"bias\":0,\"features\":{}}",
                               "\"k\": expected"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":\"4\","
                               "\"bias\":0,\"features\":{}}",
                               "\"k\": expected"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"bias\":0,"
                               "\"features\":{}}", "\"k\": expected"));
}


VPT_TEST(model_rejects_a_vector_of_the_wrong_length)
{
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":4,\"bias\":0,"
                               "\"features\":{\"device=mobile\":"
                               "[1,2,3,4]}}",
                               "model \"m.json\": feature \"device=mobile\":"
                               " expected 5 numbers, got 4"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,"
                               "\"features\":{\"device=mobile\":3}}",
                               "feature \"device=mobile\": expected an "
                               "array of 2 numbers"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,"
                               "\"features\":{\"device=mobile\":[1,\"x\"]}}",
                               "feature \"device=mobile\": element 1: "
                               "expected a number"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,"
                               "\"features\":{\"device=mobile\":[1,1e39]}}",
                               "element 1: expected a number"));
}


VPT_TEST(model_rejects_unknown_and_missing_fields)
{
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,"
                               "\"features\":{},\"featurs\":{}}",
                               "model \"m.json\": unknown field "
                               "\"featurs\""));
    VPT_CHECK(parse_fails_with("{\"format\":\"fm\",\"k\":1,\"bias\":0,"
                               "\"features\":{}}",
                               "\"format\": expected \"vpt-fm\""));
    VPT_CHECK(parse_fails_with("{\"k\":1,\"bias\":0,\"features\":{}}",
                               "\"format\": expected"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,"
                               "\"features\":{}}", "\"bias\": expected"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0}",
                               "\"features\": expected an object"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,"
                               "\"features\":{},\"meta\":3}",
                               "\"meta\": expected an object"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,"
                               "\"features\":{\"mobile\":[1,1]}}",
                               "feature \"mobile\": expected a name"));
    VPT_CHECK(parse_fails_with("[1, 2]", "expected a JSON object"));
}


VPT_TEST(model_syntax_errors_name_line_and_column)
{
    VPT_CHECK(parse_fails_with("{\"format\": \"vpt-fm\",\n"
                               " \"k\": 1,\n"
                               " \"bias\": 0,,\n"
                               " \"features\": {}}",
                               "model \"m.json\": line 3, column"));
    VPT_CHECK(parse_fails_with("{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,"
                               "\"features\":{\"a=1\":[1,1],\"a=1\":[2,2]}}",
                               "line 1"));
    VPT_CHECK(parse_fails_with("", "line 1"));
}


VPT_TEST(model_loads_from_a_file_and_names_it_in_errors)
{
    char          path[] = "/tmp/vpt-model-XXXXXX";
    int           fd;
    const char   *json;
    vpt_model_t  *m;

    json = "{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0.5,"
           "\"features\":{\"a=1\":[1,1]}}";

    fd = mkstemp(path);
    VPT_CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }

    VPT_CHECK(write(fd, json, strlen(json)) == (ssize_t) strlen(json));
    close(fd);

    m = vpt_model_load(path, err, sizeof(err));
    VPT_CHECK_MSG(m != NULL, "%s", err);
    if (m != NULL) {
        VPT_CHECK_NEAR(vpt_model_bias(m), 0.5, 0);
        vpt_model_free(m);
    }

    unlink(path);

    m = vpt_model_load(path, err, sizeof(err));
    VPT_CHECK(m == NULL);
    VPT_CHECK(strstr(err, path) != NULL);
    VPT_CHECK(strstr(err, "No such file") != NULL);
}


VPT_TEST(bin_is_the_count_of_edges_at_or_below)
{
    static const double  e[3] = { 1, 2, 3 };

    VPT_CHECK(vpt_bin_find(e, 3, 0) == 0);
    VPT_CHECK(vpt_bin_find(e, 3, -INFINITY) == 0);
    VPT_CHECK(vpt_bin_find(e, 3, 1) == 1);
    VPT_CHECK(vpt_bin_find(e, 3, 1.5) == 1);
    VPT_CHECK(vpt_bin_find(e, 3, 2) == 2);
    VPT_CHECK(vpt_bin_find(e, 3, 3) == 3);
    VPT_CHECK(vpt_bin_find(e, 3, 1e300) == 3);
    VPT_CHECK(vpt_bin_find(e, 3, NAN) == 4);
    VPT_CHECK(vpt_bin_find(e, 1, 0.5) == 0);
    VPT_CHECK(vpt_bin_find(e, 1, 7) == 1);
}


/* a shopper with the numbers age and visits */
static double
logit_of(vpt_model_t *m, double age, double visits)
{
    size_t         n;
    vpt_feat_t     f[VPT_MAX_FEATURES];
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    ctx.features[0].name = str("age");
    ctx.features[0].num = age;
    ctx.features[0].is_num = 1;
    ctx.features[1].name = str("visits");
    ctx.features[1].num = visits;
    ctx.features[1].is_num = 1;
    ctx.nfeatures = 2;

    n = vpt_features_shopper(&ctx, (vpt_page_e) -1, -1, f, VPT_MAX_FEATURES);

    return vpt_model_logit(m, f, n);
}


VPT_TEST(model_bins_make_one_feature_per_resolution)
{
    vpt_model_t  *m;

    /* age: [30] and [20, 40]; visits has no bins: its log2 bucket */
    m = parse("{\"format\": \"vpt-fm\", \"k\": 1, \"bias\": -2,"
              " \"bins\": {\"f:age\": [[30], [20, 40]]},"
              " \"features\": {\"f:age=#0:0\": [1, 0], \"f:age=#0:1\": [2, 0],"
              "   \"f:age=#1:1\": [10, 0], \"f:age=#1:2\": [20, 0],"
              "   \"f:visits=b2\": [100, 0], \"f:age=b5\": [1000, 0]}}");
    VPT_CHECK_MSG(m != NULL, "%s", err);
    if (m == NULL) {
        return;
    }

    VPT_CHECK_NEAR(logit_of(m, 35, 0), -2 + 2 + 10, 1e-12);
    VPT_CHECK_NEAR(logit_of(m, 45, 0), -2 + 2 + 20, 1e-12);
    VPT_CHECK_NEAR(logit_of(m, 30, 0), -2 + 2 + 10, 1e-12);   /* on edge */
    VPT_CHECK_NEAR(logit_of(m, 29.999, 0), -2 + 1 + 10, 1e-12);
    VPT_CHECK_NEAR(logit_of(m, 10, 0), -2 + 1, 1e-12);    /* #1:0 unknown */
    VPT_CHECK_NEAR(logit_of(m, NAN, 0), -2, 1e-12);       /* no bin at all */
    VPT_CHECK_NEAR(logit_of(m, 10, 3), -2 + 1 + 100, 1e-12);  /* b2 */

    vpt_model_free(m);
}


VPT_TEST(model_values_per_accept_by_offer_id)
{
    vpt_model_t  *m;

    m = parse("{\"format\": \"vpt-fm\", \"k\": 1, \"bias\": 0,"
              " \"values\": {\"party-dress\": 41.5, \"app\": 0},"
              " \"features\": {}}");
    VPT_CHECK_MSG(m != NULL, "%s", err);
    if (m == NULL) {
        return;
    }

    VPT_CHECK_NEAR(vpt_model_value(m, str("party-dress")), 41.5, 0);
    VPT_CHECK_NEAR(vpt_model_value(m, str("app")), 0, 0);
    VPT_CHECK(isnan(vpt_model_value(m, str("loyalty"))));
    vpt_model_free(m);

    m = parse("{\"format\": \"vpt-fm\", \"k\": 1, \"bias\": 0,"
              " \"features\": {}}");
    VPT_CHECK(m != NULL && isnan(vpt_model_value(m, str("app"))));
    vpt_model_free(m);
}


VPT_TEST(model_rejects_bad_bins_and_values)
{
#define HEAD  "{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,\"features\":{},"

    VPT_CHECK(parse_fails_with(HEAD "\"bins\":[]}",
                               "\"bins\": expected an object"));
    VPT_CHECK(parse_fails_with(HEAD "\"bins\":{\"f:a\":[]}}",
                               "\"bins\": \"f:a\": expected an array of "
                               "1..8 arrays"));
    VPT_CHECK(parse_fails_with(HEAD "\"bins\":{\"f:a\":[[1],[],[2]]}}",
                               "\"f:a\": resolution 1: expected an array"));
    VPT_CHECK(parse_fails_with(HEAD "\"bins\":{\"f:a\":[[1,3,2]]}}",
                               "\"f:a\": resolution 0: element 2: expected "
                               "a number above the one before"));
    VPT_CHECK(parse_fails_with(HEAD "\"bins\":{\"f:a\":[[1,\"x\"]]}}",
                               "resolution 0: element 1"));
    VPT_CHECK(parse_fails_with(HEAD "\"bins\":{\"f:a=1\":[[1]]}}",
                               "\"f:a=1\": expected a feature's name"));
    VPT_CHECK(parse_fails_with(HEAD "\"bins\":{\"f:a\":[[1],[1],[1],[1],"
                               "[1],[1],[1],[1],[1]]}}",
                               "1..8 arrays"));
    VPT_CHECK(parse_fails_with(HEAD "\"values\":[]}",
                               "\"values\": expected an object"));
    VPT_CHECK(parse_fails_with(HEAD "\"values\":{\"a\":-1}}",
                               "\"values\": \"a\": expected a number >= 0"));
    VPT_CHECK(parse_fails_with(HEAD "\"values\":{\"a\":\"5\"}}",
                               "\"values\": \"a\": expected a number"));

#undef HEAD
}


static double
trees_logit(const vpt_model_t *m, const char *device, double age)
{
    size_t         n;
    vpt_feat_t     f[VPT_MAX_FEATURES];
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    ctx.device = str(device);
    ctx.nfeatures = 0;

    if (!isnan(age)) {
        attr_num(ctx.features, &ctx.nfeatures, "age", age);
    }

    n = vpt_features_shopper(&ctx, VPT_PAGE_CART, 9, f, VPT_MAX_FEATURES);

    VPT_CHECK_NEAR(vpt_model_logit(m, f, n),
                   vpt_model_bias(m) + vpt_model_trees(m, f, n), 1e-12);

    return vpt_model_logit(m, f, n);
}


VPT_TEST(trees_add_the_leaves_the_shopper_reaches)
{
    vpt_model_t  *m;

    m = parse("{\"format\": \"vpt-fm\", \"k\": 1, \"bias\": 0.5,"
              " \"features\": {}, \"trees\": ["
              "  [{\"number\": \"f:age\", \"below\": 30, \"yes\": 1,"
              "    \"no\": 2}, {\"leaf\": 1},"
              "   {\"feature\": \"device=mobile\", \"yes\": 3, \"no\": 4},"
              "   {\"leaf\": 10}, {\"leaf\": 100}],"
              "  [{\"leaf\": 0.25}]]}");
    VPT_CHECK_MSG(m != NULL, "%s", err);
    if (m == NULL) {
        return;
    }

    VPT_CHECK(vpt_model_ntrees(m) == 2);
    VPT_CHECK_NEAR(trees_logit(m, "mobile", 20), 1.75, 1e-12);
    VPT_CHECK_NEAR(trees_logit(m, "mobile", 40), 10.75, 1e-12);
    VPT_CHECK_NEAR(trees_logit(m, "desktop", 40), 100.75, 1e-12);
    /* "below" is strict, and a missing number goes "no" */
    VPT_CHECK_NEAR(trees_logit(m, "desktop", 30), 100.75, 1e-12);
    VPT_CHECK_NEAR(trees_logit(m, "desktop", 29.999), 1.75, 1e-12);
    VPT_CHECK_NEAR(trees_logit(m, "mobile", NAN), 10.75, 1e-12);
    vpt_model_free(m);
}


VPT_TEST(model_rejects_bad_trees)
{
#define HEAD  "{\"format\":\"vpt-fm\",\"k\":1,\"bias\":0,\"features\":{},"
#define TWO   "{\"leaf\":0},{\"leaf\":0}"

    VPT_CHECK(parse_fails_with(HEAD "\"trees\":{}}",
                               "\"trees\": expected an array"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[]]}",
                               "\"trees\"[0]: expected an array of 1 to "
                               "1024 nodes"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"leaf\":0}],"
                               "[{\"leaf\":\"x\"}]]}",
                               "\"trees\"[1][0]: a leaf is"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"leaf\":1,\"yes\":1}]]}",
                               "\"trees\"[0][0]: a leaf is"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"feature\":\"device=m\","
                               "\"yes\":0,\"no\":1}," TWO "]]}",
                               "\"trees\"[0][0]: \"yes\" and \"no\": "
                               "expected indexes of later nodes"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"feature\":\"device=m\","
                               "\"yes\":1,\"no\":3}," TWO "]]}",
                               "(1 to 2)"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"number\":\"f:age\","
                               "\"yes\":1,\"no\":2}," TWO "]]}",
                               "\"trees\"[0][0]: expected \"leaf\""));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"number\":\"f:age=1\","
                               "\"below\":1,\"yes\":1,\"no\":2}," TWO "]]}",
                               "\"number\": expected a number's name"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"feature\":\"device\","
                               "\"yes\":1,\"no\":2}," TWO "]]}",
                               "\"feature\": expected a feature"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"number\":\"f:age\","
                               "\"below\":\"1\",\"yes\":1,\"no\":2}," TWO
                               "]]}",
                               "\"below\": expected a number"));

    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"feature\":\"kind=app\","
                               "\"yes\":1,\"no\":2}," TWO "]]}",
                               "\"kind=app\" is an offer's feature"));
    VPT_CHECK(parse_fails_with(HEAD "\"trees\":[[{\"number\":\"of:price\","
                               "\"below\":1,\"yes\":1,\"no\":2}," TWO
                               "]]}",
                               "trees test the shopper's side only"));

#undef TWO
#undef HEAD
}


int
main(void)
{
    VPT_RUN(shopper_features_cover_every_namespace);
    VPT_RUN(feature_hash_is_the_hash_of_its_text);
    VPT_RUN(unknown_context_fields_make_no_features);
    VPT_RUN(hour_and_order_buckets);
    VPT_RUN(number_buckets_are_log2_with_sign);
    VPT_RUN(offer_features_name_id_kind_advertiser_and_attributes);
    VPT_RUN(feature_text_is_cut_to_the_buffer);
    VPT_RUN(model_parses_and_looks_up_features);
    VPT_RUN(model_logit_is_the_fm_formula);
    VPT_RUN(model_with_many_features_finds_each);
    VPT_RUN(model_rejects_bad_k);
    VPT_RUN(model_rejects_a_vector_of_the_wrong_length);
    VPT_RUN(model_rejects_unknown_and_missing_fields);
    VPT_RUN(model_syntax_errors_name_line_and_column);
    VPT_RUN(model_loads_from_a_file_and_names_it_in_errors);
    VPT_RUN(bin_is_the_count_of_edges_at_or_below);
    VPT_RUN(model_bins_make_one_feature_per_resolution);
    VPT_RUN(model_values_per_accept_by_offer_id);
    VPT_RUN(model_rejects_bad_bins_and_values);
    VPT_RUN(trees_add_the_leaves_the_shopper_reaches);
    VPT_RUN(model_rejects_bad_trees);

    return VPT_DONE();
}
