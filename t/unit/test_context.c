/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The session context: the shop's data is never an error but for not being
 * a JSON object; wrong types are absent, arrays are bounded.
 */

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "vpt_test.h"
#include "vpt_fixture.h"
#include "vpt_context.h"
#include "context_eq.h"


static char  *arena;


/* parse with an arena of exactly len bytes, so ASan sees any overrun */

static int
parse(vpt_context_t *ctx, const char *json)
{
    size_t  len;

    len = strlen(json);

    free(arena);
    arena = malloc(len ? len : 1);
    if (arena == NULL) {
        return -2;
    }

    return vpt_context_parse(ctx, json, len, arena, len);
}


/* every value of vpt_context_init()'s (entries past a count are no value) */

static int
is_empty(const vpt_context_t *ctx)
{
    const char     *why;
    vpt_context_t   empty;

    vpt_context_init(&empty);

    return ctx_eq(ctx, &empty, &why);
}


#define CHECK_S(s, want)  VPT_CHECK_STR((s).data, (s).len, want)


VPT_TEST(init_makes_everything_unknown)
{
    vpt_context_t  ctx;

    memset(&ctx, 0x5a, sizeof(ctx));
    vpt_context_init(&ctx);

    VPT_CHECK(ctx.user_id.len == 0);
    VPT_CHECK(ctx.loyalty_member == -1);
    VPT_CHECK(ctx.orders == -1);
    VPT_CHECK(ctx.lifetime_value == -1);
    VPT_CHECK(ctx.device.len == 0 && ctx.referrer.len == 0
              && ctx.country.len == 0 && ctx.intent.len == 0);
    VPT_CHECK(ctx.local_hour == -1);
    VPT_CHECK(ctx.ncart == 0 && ctx.cart_total == 0);
    VPT_CHECK(ctx.order_id.len == 0 && ctx.order_currency.len == 0);
    VPT_CHECK(ctx.order_total == -1);
    VPT_CHECK(ctx.nhistory_categories == 0 && ctx.nhistory_skus == 0);
    VPT_CHECK(ctx.nviewed == 0 && ctx.nfeatures == 0);
}


VPT_TEST(interface_example_parses_in_full)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\n"
        "  \"user\": {\"id\": \"u-123\", \"loyalty_member\": false, "
        "\"orders\": 3, \"lifetime_value\": 420.0},\n"
        "  \"device\": \"mobile\", \"referrer\": \"email\", "
        "\"country\": \"US\", \"local_hour\": 20,\n"
        "  \"cart\": [{\"sku\": \"TOY-1\", \"category\": \"toys\", "
        "\"price\": 29.99, \"qty\": 1}],\n"
        "  \"order\": {\"id\": \"A-1001\", \"total\": 29.99, "
        "\"currency\": \"USD\"},\n"
        "  \"history\": {\"categories\": [\"books\"], \"skus\": [\"BK-9\"]},\n"
        "  \"viewed\": [{\"sku\": \"DR-7\", \"category\": \"dresses\"}],\n"
        "  \"intent\": \"gift\",\n"
        "  \"features\": {\"segment\": \"bargain-hunter\", "
        "\"age_band\": \"25-34\"}\n"
        "}") == VPT_OK);

    CHECK_S(ctx.user_id, "u-123");
    VPT_CHECK(ctx.loyalty_member == 0);
    VPT_CHECK(ctx.orders == 3);
    VPT_CHECK(ctx.lifetime_value == 420);
    CHECK_S(ctx.device, "mobile");
    CHECK_S(ctx.referrer, "email");
    CHECK_S(ctx.country, "US");
    VPT_CHECK(ctx.local_hour == 20);

    VPT_CHECK(ctx.ncart == 1);
    CHECK_S(ctx.cart[0].sku, "TOY-1");
    CHECK_S(ctx.cart[0].category, "toys");
    VPT_CHECK(ctx.cart[0].price == 29.99 && ctx.cart[0].qty == 1);
    VPT_CHECK_NEAR(ctx.cart_total, 29.99, 1e-9);

    CHECK_S(ctx.order_id, "A-1001");
    VPT_CHECK(ctx.order_total == 29.99);
    CHECK_S(ctx.order_currency, "USD");

    VPT_CHECK(ctx.nhistory_categories == 1 && ctx.nhistory_skus == 1);
    CHECK_S(ctx.history_categories[0], "books");
    CHECK_S(ctx.history_skus[0], "BK-9");

    VPT_CHECK(ctx.nviewed == 1);
    CHECK_S(ctx.viewed[0].sku, "DR-7");
    CHECK_S(ctx.viewed[0].category, "dresses");

    CHECK_S(ctx.intent, "gift");

    VPT_CHECK(ctx.nfeatures == 2);
    CHECK_S(ctx.features[0].name, "segment");
    VPT_CHECK(!ctx.features[0].is_num);
    CHECK_S(ctx.features[0].str, "bargain-hunter");
    CHECK_S(ctx.features[1].name, "age_band");
    CHECK_S(ctx.features[1].str, "25-34");

    /* every string lives in the arena */
    VPT_CHECK(ctx.user_id.data >= arena && ctx.intent.data >= arena);
}


VPT_TEST(empty_object_is_an_empty_context)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx, "{}") == VPT_OK);
    VPT_CHECK(is_empty(&ctx));

    VPT_CHECK(parse(&ctx, " \n{ } \n") == VPT_OK);
    VPT_CHECK(is_empty(&ctx));
}


VPT_TEST(not_an_object_is_bad_context)
{
    size_t         i;
    vpt_context_t  ctx;

    static const char  *bad[] = {
        "[]", "[{\"device\": \"mobile\"}]", "42", "-1.5", "\"mobile\"",
        "null", "true", "false"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        VPT_CHECK_MSG(parse(&ctx, bad[i]) == VPT_ERROR, "%s", bad[i]);
        VPT_CHECK(is_empty(&ctx));
    }

    VPT_CHECK(vpt_context_from_json(&ctx, NULL, NULL, 0) == VPT_ERROR);
}


VPT_TEST(malformed_json_is_bad_context)
{
    size_t         i;
    vpt_context_t  ctx;

    static const char  *bad[] = {
        "", " ", "{", "{\"device\": }", "{\"device\": \"mobile\"",
        "{\"device\": \"mobile\"} x", "{\"device\": \"mob\nile\"}",
        "{'device': 'mobile'}", "{\"a\": NaN}", "{\"a\": 1e999}",
        "{\"device\": \"\\ud800\"}"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        VPT_CHECK_MSG(parse(&ctx, bad[i]) == VPT_ERROR, "%s", bad[i]);
        VPT_CHECK(is_empty(&ctx));
    }

    /* invalid UTF-8 */
    VPT_CHECK(parse(&ctx, "{\"device\": \"\xff\xfe\"}") == VPT_ERROR);

    /* a previous context is not left behind by a failure */
    VPT_CHECK(parse(&ctx, "{\"device\": \"mobile\"}") == VPT_OK);
    VPT_CHECK(parse(&ctx, "{") == VPT_ERROR);
    VPT_CHECK(is_empty(&ctx));
}


VPT_TEST(context_larger_than_64k_is_bad_context)
{
    char           *json;
    size_t          len;
    vpt_context_t   ctx;

    /* {"device": "mobile", "pad": "xxx...x"} of exactly the limit */

    json = malloc(VPT_CTX_MAX_BYTES + 2);
    if (json == NULL) {
        VPT_CHECK(json != NULL);
        return;
    }

    len = VPT_CTX_MAX_BYTES;
    memset(json, 'x', len);
    memcpy(json, "{\"device\": \"mobile\", \"pad\": \"", 29);
    memcpy(json + len - 2, "\"}", 2);
    json[len] = '\0';

    VPT_CHECK(parse(&ctx, json) == VPT_OK);
    CHECK_S(ctx.device, "mobile");

    memset(json, 'x', len + 1);
    memcpy(json, "{\"device\": \"mobile\", \"pad\": \"", 29);
    memcpy(json + len - 1, "\"}", 2);
    json[len + 1] = '\0';

    VPT_CHECK(parse(&ctx, json) == VPT_ERROR);
    VPT_CHECK(is_empty(&ctx));

    free(json);
}


VPT_TEST(wrong_types_leave_fields_absent)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\"user\": {\"id\": 123, \"loyalty_member\": \"no\", "
        "\"orders\": \"3\", \"lifetime_value\": -5},"
        " \"device\": 1, \"referrer\": null, \"country\": [\"US\"],"
        " \"local_hour\": \"20\", \"cart\": {\"sku\": \"A\"},"
        " \"order\": {\"id\": 1001, \"total\": \"29.99\", \"currency\": 840},"
        " \"history\": {\"categories\": \"books\", \"skus\": {}},"
        " \"viewed\": \"DR-7\", \"intent\": true, \"features\": [\"a\"]}")
        == VPT_OK);
    VPT_CHECK(is_empty(&ctx));

    VPT_CHECK(parse(&ctx, "{\"user\": \"u-123\", \"order\": \"A-1\", "
                    "\"history\": [\"books\"]}") == VPT_OK);
    VPT_CHECK(is_empty(&ctx));

    /* empty strings are unknown */
    VPT_CHECK(parse(&ctx, "{\"user\": {\"id\": \"\"}, \"device\": \"\", "
                    "\"intent\": \"\"}") == VPT_OK);
    VPT_CHECK(is_empty(&ctx));

    /* the fields of the right type around them are kept */
    VPT_CHECK(parse(&ctx, "{\"user\": {\"id\": 7, \"orders\": 0}, "
                    "\"device\": \"tablet\", \"country\": 1}") == VPT_OK);
    VPT_CHECK(ctx.user_id.len == 0 && ctx.orders == 0);
    CHECK_S(ctx.device, "tablet");
    VPT_CHECK(ctx.country.len == 0);
}


VPT_TEST(local_hour_is_a_whole_number_from_0_to_23)
{
    size_t         i;
    vpt_context_t  ctx;

    static const struct {
        const char  *json;
        int          hour;
    } cases[] = {
        { "{\"local_hour\": 0}", 0 },
        { "{\"local_hour\": 23}", 23 },
        { "{\"local_hour\": 24}", -1 },
        { "{\"local_hour\": -1}", -1 },
        { "{\"local_hour\": 20.5}", -1 },
        { "{\"local_hour\": 20.0}", 20 },
        { "{\"local_hour\": 2e1}", 20 },
        { "{\"local_hour\": -0}", 0 },
        { "{\"local_hour\": 25}", -1 },
        { "{\"local_hour\": 23.000001}", -1 },
        { "{\"local_hour\": 1e-300}", -1 },
        { "{\"local_hour\": 99999999999999}", -1 },
        { "{\"local_hour\": 4294967316}", -1 },          /* 2^32 + 20 */
        { "{\"local_hour\": 18446744073709551636}", -1 },  /* 2^64 + 20 */
        { "{\"local_hour\": -4294967276}", -1 },
        { "{\"local_hour\": 1e308}", -1 },
        { "{\"local_hour\": \"7\"}", -1 },
        { "{\"local_hour\": true}", -1 },
        { "{\"local_hour\": [7]}", -1 },
        { "{\"local_hour\": null}", -1 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        VPT_CHECK(parse(&ctx, cases[i].json) == VPT_OK);
        VPT_CHECK_MSG(ctx.local_hour == cases[i].hour, "%s: %d",
                      cases[i].json, ctx.local_hour);
    }
}


VPT_TEST(loyalty_member_and_user_numbers)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx, "{\"user\": {\"loyalty_member\": true, "
                    "\"orders\": 0, \"lifetime_value\": 0.5}}") == VPT_OK);
    VPT_CHECK(ctx.loyalty_member == 1);
    VPT_CHECK(ctx.orders == 0);
    VPT_CHECK(ctx.lifetime_value == 0.5);

    VPT_CHECK(parse(&ctx, "{\"user\": {\"loyalty_member\": 1, "
                    "\"orders\": -1, \"lifetime_value\": null}}") == VPT_OK);
    VPT_CHECK(ctx.loyalty_member == -1);
    VPT_CHECK(ctx.orders == -1);
    VPT_CHECK(ctx.lifetime_value == -1);

    VPT_CHECK(parse(&ctx, "{\"order\": {\"total\": 0}}") == VPT_OK);
    VPT_CHECK(ctx.order_total == 0);

    VPT_CHECK(parse(&ctx, "{\"order\": {\"total\": -3}}") == VPT_OK);
    VPT_CHECK(ctx.order_total == -1);
}


VPT_TEST(cart_total_is_price_times_qty_over_every_item)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\"cart\": ["
        "{\"sku\": \"A\", \"price\": 10, \"qty\": 3},"
        "{\"sku\": \"B\", \"price\": 2.5},"
        "{\"sku\": \"C\", \"qty\": 4},"
        "{\"sku\": \"D\", \"price\": \"9\", \"qty\": 2},"
        "{\"sku\": \"E\", \"price\": -5, \"qty\": -2},"
        "{\"sku\": \"F\", \"price\": 1, \"qty\": 0}"
        "]}") == VPT_OK);

    VPT_CHECK(ctx.ncart == 6);
    VPT_CHECK(ctx.cart[0].price == 10 && ctx.cart[0].qty == 3);
    VPT_CHECK(ctx.cart[1].price == 2.5 && ctx.cart[1].qty == 1);
    VPT_CHECK(ctx.cart[2].price == 0 && ctx.cart[2].qty == 4);
    VPT_CHECK(ctx.cart[3].price == 0 && ctx.cart[3].qty == 2);
    VPT_CHECK(ctx.cart[4].price == 0 && ctx.cart[4].qty == 1);
    VPT_CHECK(ctx.cart[5].qty == 0);
    VPT_CHECK_NEAR(ctx.cart_total, 32.5, 1e-9);

    /* viewed items never count */
    VPT_CHECK(parse(&ctx, "{\"viewed\": [{\"sku\": \"V\", \"price\": 99}]}")
              == VPT_OK);
    VPT_CHECK(ctx.nviewed == 1 && ctx.viewed[0].price == 99);
    VPT_CHECK(ctx.cart_total == 0);
}


VPT_TEST(array_entries_of_the_wrong_type_are_skipped)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\"cart\": [1, \"TOY-1\", null, {\"sku\": \"A\", \"price\": 5}, "
        "[], {\"sku\": 7, \"category\": \"toys\"}, {}],"
        " \"history\": {\"categories\": [\"books\", 2, \"\", null, "
        "\"toys\", {}], \"skus\": [[\"X\"], \"BK-9\"]},"
        " \"viewed\": [\"DR-7\", {\"category\": \"dresses\"}]}") == VPT_OK);

    VPT_CHECK(ctx.ncart == 3);
    CHECK_S(ctx.cart[0].sku, "A");
    VPT_CHECK(ctx.cart[1].sku.len == 0);
    CHECK_S(ctx.cart[1].category, "toys");
    VPT_CHECK(ctx.cart[2].sku.len == 0 && ctx.cart[2].category.len == 0);
    VPT_CHECK(ctx.cart_total == 5);

    VPT_CHECK(ctx.nhistory_categories == 2);
    CHECK_S(ctx.history_categories[0], "books");
    CHECK_S(ctx.history_categories[1], "toys");
    VPT_CHECK(ctx.nhistory_skus == 1);
    CHECK_S(ctx.history_skus[0], "BK-9");

    VPT_CHECK(ctx.nviewed == 1);
    CHECK_S(ctx.viewed[0].category, "dresses");
}


VPT_TEST(arrays_are_truncated_at_their_sizes)
{
    char           *json;
    size_t          i, at;
    vpt_context_t   ctx;

    json = malloc(16384);
    if (json == NULL) {
        VPT_CHECK(json != NULL);
        return;
    }

    at = (size_t) sprintf(json, "{\"cart\": [");
    for (i = 0; i < 40; i++) {
        at += (size_t) sprintf(json + at, "%s{\"sku\": \"S%zu\", "
                               "\"price\": 1}", i ? "," : "", i);
    }

    at += (size_t) sprintf(json + at, "], \"viewed\": [");
    for (i = 0; i < 40; i++) {
        at += (size_t) sprintf(json + at, "%s{\"sku\": \"V%zu\"}",
                               i ? "," : "", i);
    }

    at += (size_t) sprintf(json + at, "], \"history\": {\"categories\": [");
    for (i = 0; i < 40; i++) {
        at += (size_t) sprintf(json + at, "%s\"c%zu\"", i ? "," : "", i);
    }

    at += (size_t) sprintf(json + at, "], \"skus\": [");
    for (i = 0; i < 40; i++) {
        at += (size_t) sprintf(json + at, "%s\"k%zu\"", i ? "," : "", i);
    }

    at += (size_t) sprintf(json + at, "]}, \"features\": {");
    for (i = 0; i < 40; i++) {
        at += (size_t) sprintf(json + at, "%s\"f%zu\": %zu", i ? "," : "",
                               i, i);
    }

    sprintf(json + at, "}, \"device\": \"mobile\"}");

    VPT_CHECK(parse(&ctx, json) == VPT_OK);
    free(json);

    VPT_CHECK(ctx.ncart == VPT_CTX_MAX_ITEMS);
    CHECK_S(ctx.cart[31].sku, "S31");
    VPT_CHECK(ctx.cart_total == 40);
    VPT_CHECK(ctx.nviewed == VPT_CTX_MAX_ITEMS);
    CHECK_S(ctx.viewed[31].sku, "V31");
    VPT_CHECK(ctx.nhistory_categories == VPT_CTX_MAX_STRS);
    CHECK_S(ctx.history_categories[31], "c31");
    VPT_CHECK(ctx.nhistory_skus == VPT_CTX_MAX_STRS);
    CHECK_S(ctx.history_skus[31], "k31");
    VPT_CHECK(ctx.nfeatures == VPT_CTX_MAX_FEATURES);
    CHECK_S(ctx.features[31].name, "f31");
    VPT_CHECK(ctx.features[31].is_num && ctx.features[31].num == 31);
    CHECK_S(ctx.device, "mobile");
}


VPT_TEST(features_keep_strings_and_numbers_only)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\"features\": {\"segment\": \"new\", \"vip\": true, \"age\": 31,"
        " \"none\": null, \"obj\": {}, \"arr\": [1], \"\": \"x\","
        " \"blank\": \"\", \"score\": -0.25}}") == VPT_OK);

    VPT_CHECK(ctx.nfeatures == 3);
    CHECK_S(ctx.features[0].name, "segment");
    VPT_CHECK(!ctx.features[0].is_num);
    CHECK_S(ctx.features[0].str, "new");
    CHECK_S(ctx.features[1].name, "age");
    VPT_CHECK(ctx.features[1].is_num && ctx.features[1].num == 31);
    CHECK_S(ctx.features[2].name, "score");
    VPT_CHECK(ctx.features[2].is_num && ctx.features[2].num == -0.25);
}


VPT_TEST(unicode_escapes_are_decoded)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\"user\": {\"id\": \"\\u00e9l\\u00e8ve\"},"
        " \"intent\": \"\\ud83c\\udf81 gift\","
        " \"country\": \"\\u0055\\u0053\","
        " \"features\": {\"caf\\u00e9\": \"\\\"quoted\\\"\\n\"}}")
        == VPT_OK);

    CHECK_S(ctx.user_id, "\xc3\xa9l\xc3\xa8ve");
    CHECK_S(ctx.intent, "\xf0\x9f\x8e\x81 gift");
    CHECK_S(ctx.country, "US");
    VPT_CHECK(ctx.nfeatures == 1);
    CHECK_S(ctx.features[0].name, "caf\xc3\xa9");
    CHECK_S(ctx.features[0].str, "\"quoted\"\n");
}


VPT_TEST(unknown_fields_are_ignored)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\"schema\": 2, \"device\": \"mobile\", \"extra\": {\"a\": [1]},"
        " \"user\": {\"id\": \"u-1\", \"email\": \"a@b.c\"},"
        " \"cart\": [{\"sku\": \"A\", \"color\": \"red\"}],"
        " \"order\": {\"id\": \"O-1\", \"shipping\": 4}}") == VPT_OK);

    CHECK_S(ctx.device, "mobile");
    CHECK_S(ctx.user_id, "u-1");
    VPT_CHECK(ctx.ncart == 1);
    CHECK_S(ctx.cart[0].sku, "A");
    CHECK_S(ctx.order_id, "O-1");
}


VPT_TEST(an_arena_of_the_text_length_holds_every_string)
{
    vpt_context_t  ctx;

    /* nothing but strings, with the fewest bytes of syntax around them */
    VPT_CHECK(parse(&ctx, "{\"device\":\"abcdefgh\",\"intent\":\"ijkl\","
                    "\"features\":{\"a\":\"b\"}}") == VPT_OK);
    CHECK_S(ctx.device, "abcdefgh");
    CHECK_S(ctx.intent, "ijkl");
    VPT_CHECK(ctx.nfeatures == 1);
    CHECK_S(ctx.features[0].name, "a");
    CHECK_S(ctx.features[0].str, "b");
}


VPT_TEST(strings_that_do_not_fit_the_arena_are_absent)
{
    char            small[8];
    json_t         *root;
    json_error_t    je;
    vpt_context_t   ctx;

    root = json_loads("{\"device\": \"mobile\", \"country\": \"US\", "
                      "\"referrer\": \"email\", \"local_hour\": 7, "
                      "\"features\": {\"k\": \"long value\", \"n\": 2}, "
                      "\"cart\": [{\"sku\": \"SKU-1\", \"price\": 3}]}",
                      0, &je);
    VPT_CHECK(root != NULL);
    if (root == NULL) {
        return;
    }

    VPT_CHECK(vpt_context_from_json(&ctx, root, small, sizeof(small))
              == VPT_OK);

    CHECK_S(ctx.device, "mobile");      /* 6 bytes */
    CHECK_S(ctx.country, "US");         /* 8 */
    VPT_CHECK(ctx.referrer.len == 0);   /* full */
    VPT_CHECK(ctx.local_hour == 7);
    VPT_CHECK(ctx.ncart == 1 && ctx.cart[0].sku.len == 0);
    VPT_CHECK(ctx.cart_total == 3);
    VPT_CHECK(ctx.nfeatures == 0);

    /* no arena at all: numbers only */
    VPT_CHECK(vpt_context_from_json(&ctx, root, NULL, 0) == VPT_OK);
    VPT_CHECK(ctx.device.len == 0 && ctx.local_hour == 7);
    VPT_CHECK(ctx.cart_total == 3);

    json_decref(root);

    root = json_loads("[1]", 0, &je);
    VPT_CHECK(vpt_context_from_json(&ctx, root, small, sizeof(small))
              == VPT_ERROR);
    json_decref(root);
}


VPT_TEST(a_repeated_key_keeps_its_last_value)
{
    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\"device\": \"a\", \"country\": \"US\", \"device\": \"b\","
        " \"user\": {\"id\": \"x\", \"orders\": 2, \"id\": \"y\"},"
        " \"cart\": [{\"sku\": \"A\", \"price\": 1, \"sku\": \"B\","
        " \"price\": 2}],"
        " \"features\": {\"k\": \"1\", \"j\": 3, \"k\": \"2\"},"
        " \"intent\": 5, \"intent\": \"gift\"}") == VPT_OK);

    CHECK_S(ctx.device, "b");
    CHECK_S(ctx.country, "US");
    CHECK_S(ctx.user_id, "y");
    VPT_CHECK(ctx.orders == 2);
    VPT_CHECK(ctx.ncart == 1);
    CHECK_S(ctx.cart[0].sku, "B");
    VPT_CHECK(ctx.cart[0].price == 2 && ctx.cart_total == 2);
    CHECK_S(ctx.intent, "gift");

    /* the key keeps its place, with the new value */
    VPT_CHECK(ctx.nfeatures == 2);
    CHECK_S(ctx.features[0].name, "k");
    CHECK_S(ctx.features[0].str, "2");
    CHECK_S(ctx.features[1].name, "j");
    VPT_CHECK(ctx.features[1].is_num && ctx.features[1].num == 3);

    /* names are matched in full, not by prefix or by first letter */
    VPT_CHECK(parse(&ctx,
        "{\"devices\": \"a\", \"devic\": \"b\", \"Device\": \"c\","
        " \"dEvice\": \"d\", \"user\": {\"i\": \"x\", \"idx\": \"y\"}}")
        == VPT_OK);
    VPT_CHECK(is_empty(&ctx));
}


/* a context of n cart and viewed items, features, history: ~95 n bytes */

static char *
big_context(size_t n)
{
    char    *s;
    size_t   i, len, size;

    size = 200 * n + 512;
    s = malloc(size);
    if (s == NULL) {
        return NULL;
    }

    len = snprintf(s, size, "{\"user\": {\"id\": \"u-big\", \"orders\": 9},"
                   " \"device\": \"mobile\", \"local_hour\": 3, \"cart\": [");

    for (i = 0; i < n; i++) {
        len += snprintf(s + len, size - len, "%s{\"sku\": \"SKU-%zu\","
                        " \"category\": \"cat-%zu\", \"price\": %zu.25,"
                        " \"qty\": %zu}", i ? ", " : "", i, i % 7, i % 50,
                        1 + i % 3);
    }

    len += snprintf(s + len, size - len, "], \"viewed\": [");

    for (i = 0; i < n; i++) {
        len += snprintf(s + len, size - len, "%s{\"sku\": \"V-%zu\"}",
                        i ? ", " : "", i);
    }

    len += snprintf(s + len, size - len, "], \"history\": {\"skus\": [\"H-1\","
                    " \"H-2\"]}, \"features\": {\"a\": \"x\", \"b\": 2},"
                    " \"intent\": \"browse\"}");

    return s;
}


VPT_TEST(parse_is_from_json_of_jansson_s_tree)
{
    char            *text, *a1, *a2;
    size_t           i, len;
    json_t          *root;
    const char      *why;
    vpt_context_t    got, want;
    static size_t    sizes[] = { 0, 1, 4, 32, 100, 400 };

    /* from a few items to a tree larger than the parser's own memory */

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        text = big_context(sizes[i]);
        VPT_CHECK(text != NULL);
        if (text == NULL) {
            return;
        }

        len = strlen(text);
        a1 = malloc(len);
        a2 = malloc(len);

        root = json_loadb(text, len, 0, NULL);
        VPT_CHECK(root != NULL);

        VPT_CHECK(vpt_context_from_json(&want, root, a2, len) == VPT_OK);
        VPT_CHECK(vpt_context_parse(&got, text, len, a1, len) == VPT_OK);
        why = "";
        VPT_CHECK_MSG(ctx_eq(&got, &want, &why), "%zu items: %s differs",
                      sizes[i], why);
        VPT_CHECK(got.ncart == (sizes[i] < VPT_CTX_MAX_ITEMS
                                ? sizes[i] : VPT_CTX_MAX_ITEMS));

        /* broken at the end: bad_context, whatever was built is freed */
        VPT_CHECK(vpt_context_parse(&got, text, len - 1, a1, len)
                  == VPT_ERROR);
        VPT_CHECK(is_empty(&got));

        json_decref(root);
        free(a1);
        free(a2);
        free(text);
    }
}


VPT_TEST(a_context_outlives_the_next_parse)
{
    char           a1[64], a2[64];
    vpt_context_t  c1, c2;

    VPT_CHECK(vpt_context_parse(&c1, "{\"device\": \"mobile\"}", 20,
                                a1, sizeof(a1)) == VPT_OK);
    VPT_CHECK(vpt_context_parse(&c2, "{\"device\": \"tablet\"}", 20,
                                a2, sizeof(a2)) == VPT_OK);

    CHECK_S(c1.device, "mobile");
    CHECK_S(c2.device, "tablet");
}


/* an allocator of jansson's installed by someone else, counting calls */

static size_t  other_mallocs, other_frees;


static void *
other_malloc(size_t n)
{
    other_mallocs++;
    return malloc(n);
}


static void
other_free(void *p)
{
    if (p != NULL) {
        other_frees++;
    }

    free(p);
}


VPT_TEST(jansson_s_other_users_keep_their_allocator)
{
    char           *text, *a;
    size_t          len, mallocs;
    json_t         *before, *after;
    vpt_context_t   ctx;

    /* installed before a parse, as a program with its own arena does */

    json_set_alloc_funcs(other_malloc, other_free);
    other_mallocs = other_frees = 0;

    before = json_pack("{s:s, s:[i, i]}", "name", "catalog", "ids", 1, 2);
    VPT_CHECK(before != NULL && other_mallocs > 0);

    /* a small context takes nothing from it */

    mallocs = other_mallocs;
    VPT_CHECK(parse(&ctx, "{\"device\": \"mobile\", \"cart\": [{\"sku\":"
                    " \"A\", \"price\": 2.5}], \"features\": {\"a\": 1}}")
              == VPT_OK);
    VPT_CHECK(other_mallocs == mallocs);
    CHECK_S(ctx.device, "mobile");

    /* outside a parse, jansson's memory is still its */

    after = json_pack("{s:s}", "name", "model");
    VPT_CHECK(after != NULL && other_mallocs > mallocs);

    json_decref(before);
    json_decref(after);
    VPT_CHECK(other_frees == other_mallocs);

    /*
     * a context too large for the parser's memory: the rest is freed.  A
     * "\u0000" (in place of "browse") keeps the fast path out: jansson
     * reads it.
     */

    text = big_context(400);
    VPT_CHECK(text != NULL && strstr(text, "\"browse\"") != NULL);
    if (text != NULL && strstr(text, "\"browse\"") != NULL) {
        memcpy(strstr(text, "\"browse\"") + 1, "\\u0000", 6);
        len = strlen(text);
        a = malloc(len);

        mallocs = other_mallocs;
        VPT_CHECK(vpt_context_parse(&ctx, text, len, a, len) == VPT_OK);
        VPT_CHECK(other_mallocs > mallocs);
        VPT_CHECK(other_frees == other_mallocs);
        VPT_CHECK(ctx.ncart == VPT_CTX_MAX_ITEMS);

        VPT_CHECK(vpt_context_parse(&ctx, text, len - 2, a, len)
                  == VPT_ERROR);
        VPT_CHECK(other_frees == other_mallocs);

        free(a);
        free(text);
    }

    /* installed after a parse: the next parse keeps it too */

    json_set_alloc_funcs(malloc, free);
    VPT_CHECK(parse(&ctx, "{\"device\": \"tablet\"}") == VPT_OK);

    json_set_alloc_funcs(other_malloc, other_free);
    other_mallocs = other_frees = 0;

    VPT_CHECK(parse(&ctx, "{\"device\": \"desktop\"}") == VPT_OK);
    CHECK_S(ctx.device, "desktop");

    after = json_pack("[s]", "x");
    VPT_CHECK(after != NULL && other_mallocs > 0);
    json_decref(after);
    VPT_CHECK(other_frees == other_mallocs);

    json_set_alloc_funcs(malloc, free);
}


/* --- bad input: the shop's data at its worst ----------------------------- */


/* parse len bytes (NULs and all), with an arena of exactly len bytes */

static int
parse_n(vpt_context_t *ctx, const char *json, size_t len)
{
    free(arena);
    arena = malloc(len ? len : 1);
    if (arena == NULL) {
        return -2;
    }

    return vpt_context_parse(ctx, json, len, arena, len);
}


/* pre, then unit n times, then post: a malloc()ed, NUL-terminated text */

static char *
repeat(const char *pre, const char *unit, size_t n, const char *post)
{
    char    *s, *p;
    size_t   lpre, lunit, lpost, i;

    lpre = strlen(pre);
    lunit = strlen(unit);
    lpost = strlen(post);

    s = malloc(lpre + lunit * n + lpost + 1);
    if (s == NULL) {
        return NULL;
    }

    p = s;
    memcpy(p, pre, lpre);
    p += lpre;

    for (i = 0; i < n; i++) {
        memcpy(p, unit, lunit);
        p += lunit;
    }

    memcpy(p, post, lpost);
    p[lpost] = '\0';

    return s;
}


/*
 * jansson's memory through an allocator installed before the parses, as
 * the tools' is: what is live now, the most that was, and the calls.
 */

typedef struct {
    size_t  size;
    size_t  pad;                        /* keeps malloc()'s alignment */
} heap_hdr_t;

static size_t  heap_live, heap_peak, heap_calls;


static void *
heap_malloc(size_t n)
{
    heap_hdr_t  *h;

    h = malloc(sizeof(heap_hdr_t) + n);
    if (h == NULL) {
        return NULL;
    }

    h->size = n;
    heap_live += n;
    heap_calls++;

    if (heap_live > heap_peak) {
        heap_peak = heap_live;
    }

    return h + 1;
}


static void
heap_free(void *p)
{
    heap_hdr_t  *h;

    if (p == NULL) {
        return;
    }

    h = (heap_hdr_t *) p - 1;
    heap_live -= h->size;
    free(h);
}


VPT_TEST(a_nul_byte_makes_its_string_absent_not_the_context)
{
    static const char  raw_in_string[] = "{\"device\": \"a\0b\"}";
    static const char  raw_after[] = "{\"device\": \"mobile\"}\0";

    vpt_context_t  ctx;

    VPT_CHECK(parse(&ctx,
        "{\"device\": \"mob\\u0000ile\", \"country\": \"\\u0000\","
        " \"user\": {\"id\": \"u\\u0000\", \"orders\": 2},"
        " \"cart\": [{\"sku\": \"\\u0000A\", \"category\": \"toys\","
        " \"price\": 3}],"
        " \"history\": {\"skus\": [\"H\\u00001\", \"H2\"]},"
        " \"features\": {\"seg\": \"a\\u0000\", \"age\": 3},"
        " \"intent\": \"gift\"}") == VPT_OK);

    VPT_CHECK(ctx.device.len == 0 && ctx.country.len == 0);
    VPT_CHECK(ctx.user_id.len == 0 && ctx.orders == 2);
    VPT_CHECK(ctx.ncart == 1 && ctx.cart[0].sku.len == 0);
    CHECK_S(ctx.cart[0].category, "toys");
    VPT_CHECK(ctx.cart_total == 3);
    VPT_CHECK(ctx.nhistory_skus == 1);
    CHECK_S(ctx.history_skus[0], "H2");
    VPT_CHECK(ctx.nfeatures == 1);
    CHECK_S(ctx.features[0].name, "age");
    CHECK_S(ctx.intent, "gift");

    /* jansson never takes a NUL in a key, nor a raw one in a string */
    VPT_CHECK(parse(&ctx, "{\"features\": {\"a\\u0000b\": 1}}")
              == VPT_ERROR);
    VPT_CHECK(parse(&ctx, "{\"dev\\u0000ice\": \"mobile\"}") == VPT_ERROR);
    VPT_CHECK(parse_n(&ctx, raw_in_string, sizeof(raw_in_string) - 1)
              == VPT_ERROR);
    VPT_CHECK(is_empty(&ctx));

    /* a NUL after the object is a byte after the object */
    VPT_CHECK(parse_n(&ctx, raw_after, sizeof(raw_after) - 2) == VPT_OK);
    VPT_CHECK(parse_n(&ctx, raw_after, sizeof(raw_after) - 1) == VPT_ERROR);
}


/*
 * Every field, with every JSON value of another type or out of its range,
 * parses as if the field were not there at all: the rest of the context
 * is untouched.  A case is the text before the member, its name, the text
 * after it, the values of the right type (bits of values[]), and one of
 * them that must make a difference (so the case tests something).
 */

enum {
    V_NULL = 0, V_TRUE, V_FALSE, V_ZERO, V_NEG, V_FRAC, V_BIG, V_NEG_BIG,
    V_HUGE_INT, V_NEG_HUGE_INT, V_TINY, V_EMPTY_STR, V_STR, V_EMPTY_ARR,
    V_ARR_NUM, V_ARR_STR, V_ARR_ARR, V_EMPTY_OBJ, V_OBJ, V_N
};

#define V(x)     (1u << (x))
#define V_BOOL   (V(V_TRUE) | V(V_FALSE))
#define V_MONEY  (V(V_ZERO) | V(V_FRAC) | V(V_BIG) | V(V_HUGE_INT)           \
                  | V(V_TINY))
#define V_NUM    (V_MONEY | V(V_NEG) | V(V_NEG_BIG) | V(V_NEG_HUGE_INT))

static const char  *values[V_N] = {
    [V_NULL] = "null", [V_TRUE] = "true", [V_FALSE] = "false",
    [V_ZERO] = "0", [V_NEG] = "-1", [V_FRAC] = "1.5", [V_BIG] = "1e300",
    [V_NEG_BIG] = "-1e300", [V_HUGE_INT] = "99999999999999999999999",
    [V_NEG_HUGE_INT] = "-99999999999999999999999", [V_TINY] = "1e-400",
    [V_EMPTY_STR] = "\"\"", [V_STR] = "\"x\"", [V_EMPTY_ARR] = "[]",
    [V_ARR_NUM] = "[1]", [V_ARR_STR] = "[\"x\"]", [V_ARR_ARR] = "[[\"x\"]]",
    [V_EMPTY_OBJ] = "{}", [V_OBJ] = "{\"a\": 1}"
};


VPT_TEST(every_field_of_the_wrong_type_or_range_is_absent)
{
    char            json[512], without[512];
    size_t          i, v;
    const char     *why;
    vpt_context_t   got, want;
    char           *a1, *a2;

    static const struct {
        const char  *pre, *name, *post;
        unsigned     kept;
        const char  *valid;
    } cases[] = {
        { "{", "user", "\"intent\": \"gift\"}", 0,
          "{\"id\": \"u\"}" },
        { "{\"user\": {", "id", "\"orders\": 2}}", V(V_STR), "\"u\"" },
        { "{\"user\": {", "loyalty_member", "\"orders\": 2}}", V_BOOL,
          "true" },
        { "{\"user\": {", "orders", "\"id\": \"u\"}}", V_MONEY, "3" },
        { "{\"user\": {", "lifetime_value", "\"id\": \"u\"}}", V_MONEY,
          "3" },
        { "{", "device", "\"intent\": \"gift\"}", V(V_STR), "\"mobile\"" },
        { "{", "referrer", "\"intent\": \"gift\"}", V(V_STR), "\"email\"" },
        { "{", "country", "\"intent\": \"gift\"}", V(V_STR), "\"US\"" },
        { "{", "local_hour", "\"intent\": \"gift\"}", V(V_ZERO) | V(V_TINY),
          "7" },
        { "{", "cart", "\"intent\": \"gift\"}", 0,
          "[{\"price\": 2}]" },
        { "{\"cart\": [{", "sku", "\"price\": 2}]}", V(V_STR), "\"A\"" },
        { "{\"cart\": [{", "category", "\"price\": 2}]}", V(V_STR),
          "\"toys\"" },
        { "{\"cart\": [{", "price", "\"sku\": \"A\"}]}", V_MONEY, "2" },
        { "{\"cart\": [{", "qty", "\"sku\": \"A\", \"price\": 2}]}",
          V_MONEY, "3" },
        { "{", "order", "\"intent\": \"gift\"}", 0, "{\"id\": \"A-1\"}" },
        { "{\"order\": {", "id", "\"total\": 5}}", V(V_STR), "\"A-1\"" },
        { "{\"order\": {", "total", "\"id\": \"A-1\"}}", V_MONEY, "5" },
        { "{\"order\": {", "currency", "\"id\": \"A-1\"}}", V(V_STR),
          "\"USD\"" },
        { "{", "history", "\"intent\": \"gift\"}", 0,
          "{\"skus\": [\"H\"]}" },
        { "{\"history\": {", "categories", "\"skus\": [\"H\"]}}",
          V(V_ARR_STR), "[\"books\"]" },
        { "{\"history\": {", "skus", "\"categories\": [\"c\"]}}",
          V(V_ARR_STR), "[\"H\"]" },
        { "{", "viewed", "\"intent\": \"gift\"}", 0,
          "[{\"sku\": \"V\"}]" },
        { "{\"viewed\": [{", "sku", "\"category\": \"c\"}]}", V(V_STR),
          "\"V\"" },
        { "{", "intent", "\"device\": \"mobile\"}", V(V_STR), "\"gift\"" },
        { "{", "features", "\"intent\": \"gift\"}", V(V_OBJ),
          "{\"a\": \"b\"}" },
        { "{\"features\": {", "k", "\"z\": 1}}", V(V_STR) | V_NUM, "\"v\"" }
    };

    a1 = malloc(sizeof(json));
    a2 = malloc(sizeof(json));
    if (a1 == NULL || a2 == NULL) {
        VPT_CHECK(a1 != NULL && a2 != NULL);
        free(a1);
        free(a2);
        return;
    }

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(without, sizeof(without), "%s%s", cases[i].pre,
                 cases[i].post);
        VPT_CHECK(vpt_context_parse(&want, without, strlen(without), a2,
                                    sizeof(json)) == VPT_OK);

        for (v = 0; v <= V_N; v++) {
            snprintf(json, sizeof(json), "%s\"%s\": %s, %s", cases[i].pre,
                     cases[i].name, v < V_N ? values[v] : cases[i].valid,
                     cases[i].post);

            VPT_CHECK_MSG(vpt_context_parse(&got, json, strlen(json), a1,
                                            sizeof(json)) == VPT_OK,
                          "%s", json);

            why = "";

            if (v == V_N) {
                VPT_CHECK_MSG(!ctx_eq(&got, &want, &why),
                              "%s: the valid value changed nothing", json);

            } else if (!(cases[i].kept & V(v))) {
                VPT_CHECK_MSG(ctx_eq(&got, &want, &why),
                              "%s: not the same as %s (%s)", json, without,
                              why);
            }
        }
    }

    free(a1);
    free(a2);
}


VPT_TEST(numbers_beyond_a_double_or_not_json_are_bad_context)
{
    size_t         i;
    vpt_context_t  ctx;

    static const char  *bad[] = {
        "{\"user\": {\"orders\": 1e400}}", "{\"user\": {\"orders\": -1e400}}",
        "{\"unknown\": 1e400}", "{\"local_hour\": 1E+999}",
        "{\"cart\": [{\"price\": 1" "0000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000}]}",
        "{\"a\": NaN}", "{\"a\": nan}", "{\"a\": -NaN}", "{\"a\": Infinity}",
        "{\"a\": -Infinity}", "{\"a\": inf}", "{\"a\": +1}", "{\"a\": 01}",
        "{\"a\": .5}", "{\"a\": 1.}", "{\"a\": 0x10}", "{\"a\": 1e}",
        "{\"a\": -}", "{\"a\": 1_000}", "{\"a\": \"1\" 2}"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        VPT_CHECK_MSG(parse(&ctx, bad[i]) == VPT_ERROR, "%s", bad[i]);
        VPT_CHECK(is_empty(&ctx));
    }
}


VPT_TEST(numbers_at_the_edges_of_a_double)
{
    vpt_context_t  ctx;

    /* integers past 64 bits are numbers; too small ones are 0 */
    VPT_CHECK(parse(&ctx,
        "{\"user\": {\"orders\": 99999999999999999999999,"
        " \"lifetime_value\": 18446744073709551616},"
        " \"order\": {\"total\": 1e-400},"
        " \"features\": {\"n\": -99999999999999999999999}}") == VPT_OK);
    VPT_CHECK(ctx.orders == 1e23);
    VPT_CHECK(ctx.lifetime_value == 18446744073709551616.0);
    VPT_CHECK(ctx.order_total == 0);
    VPT_CHECK(ctx.nfeatures == 1 && ctx.features[0].is_num
              && ctx.features[0].num == -1e23);

    /* the cart total may overflow to infinity, never to NaN */
    VPT_CHECK(parse(&ctx,
        "{\"cart\": [{\"price\": 1e300, \"qty\": 1e300},"
        " {\"price\": 0, \"qty\": 1e308}, {\"price\": 1.7e308, \"qty\": 0},"
        " {\"price\": 1.7e308, \"qty\": 1.7e308}]}") == VPT_OK);
    VPT_CHECK(ctx.ncart == 4);
    VPT_CHECK(isinf(ctx.cart_total) && ctx.cart_total > 0);

    VPT_CHECK(parse(&ctx,
        "{\"cart\": [{\"price\": 1.7976931348623157e308, \"qty\": 1}]}")
        == VPT_OK);
    VPT_CHECK(ctx.cart_total == 1.7976931348623157e308);
}


VPT_TEST(invalid_utf8_anywhere_is_bad_context)
{
    char           json[64];
    size_t         i;
    vpt_context_t  ctx;

    static const char  *bad[] = {
        "\xff", "\xfe", "\xc3", "\xc3\x28", "\xc0\xaf", "\xe0\x80\xaf",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",
        "\xf8\x88\x80\x80\x80", "\x80", "\xe2\x82", "\xf0\x9f\x8e"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(json, sizeof(json), "{\"device\": \"a%sb\"}", bad[i]);
        VPT_CHECK_MSG(parse(&ctx, json) == VPT_ERROR, "value %zu", i);

        snprintf(json, sizeof(json), "{\"unknown\": [\"%s\"]}", bad[i]);
        VPT_CHECK_MSG(parse(&ctx, json) == VPT_ERROR, "unknown %zu", i);

        snprintf(json, sizeof(json), "{\"features\": {\"%s\": 1}}", bad[i]);
        VPT_CHECK_MSG(parse(&ctx, json) == VPT_ERROR, "key %zu", i);
    }

    /* a byte-order mark is not JSON either; valid UTF-8 of every length is */
    VPT_CHECK(parse(&ctx, "\xef\xbb\xbf{}") == VPT_ERROR);
    VPT_CHECK(parse(&ctx, "{\"intent\": \"\x7f" "a\xc3\xa9\xe2\x82\xac"
                    "\xf0\x9f\x8e\x81\xf4\x8f\xbf\xbf\"}") == VPT_OK);
    CHECK_S(ctx.intent, "\x7f" "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\x81"
            "\xf4\x8f\xbf\xbf");
}


VPT_TEST(bytes_around_the_object_and_empty_input)
{
    size_t         i;
    vpt_context_t  ctx;

    static const char  *bad[] = {
        "", " ", "\n\t\r ", "{}{}", "{} {}", "{}x", "{},", "{}]", "{}}",
        "{} null", "{} // comment", "/* c */ {}", "{\"a\": 1,}",
        "{\"a\": [1,]}", "{,}", "{\"a\" 1}", "{\"a\": 1 \"b\": 2}", "\x1b{}"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        VPT_CHECK_MSG(parse(&ctx, bad[i]) == VPT_ERROR, "%s", bad[i]);
        VPT_CHECK(is_empty(&ctx));
    }

    VPT_CHECK(parse(&ctx, " \t\r\n{\"intent\": \"gift\"} \t\r\n") == VPT_OK);
    CHECK_S(ctx.intent, "gift");

    /* no text at all, with no arena */
    VPT_CHECK(vpt_context_parse(&ctx, "", 0, NULL, 0) == VPT_ERROR);
    VPT_CHECK(vpt_context_parse(&ctx, NULL, 0, NULL, 0) == VPT_ERROR);
}


VPT_TEST(deep_nesting_is_bad_context_or_ignored_never_a_crash)
{
    char           *s;
    size_t          i, depth;
    vpt_context_t   ctx;

    static const char  *where[] = { "cart", "unknown", "features" };

    /* 100,000 '[' are past the size limit before jansson sees them */

    for (i = 0; i < 3; i++) {
        char  pre[64];

        snprintf(pre, sizeof(pre), "{\"device\": \"mobile\", \"%s\": ",
                 where[i]);

        s = repeat(pre, "[", 100000, "");
        VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_ERROR);
        free(s);

        /* within the size limit, past jansson's depth: bad_context */
        s = repeat(pre, "[", 60000, "");
        VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_ERROR);
        free(s);

        s = repeat(pre, "{\"a\":", 12000, "");
        VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_ERROR);
        free(s);

        /* as deep as jansson goes, balanced: the field is ignored */
        for (depth = 2040; depth <= 2050; depth += 10) {
            char  *open, *close;

            open = repeat(pre, "[", depth, "");
            close = repeat(open ? open : "", "]", depth, "}");
            free(open);

            VPT_CHECK(close != NULL);
            if (close == NULL) {
                return;
            }

            if (depth < 2048) {
                VPT_CHECK_MSG(parse(&ctx, close) == VPT_OK, "%s %zu",
                              where[i], depth);
                CHECK_S(ctx.device, "mobile");
                VPT_CHECK(ctx.ncart == 0 && ctx.nfeatures == 0);

            } else {
                VPT_CHECK_MSG(parse(&ctx, close) == VPT_ERROR, "%s %zu",
                              where[i], depth);
            }

            free(close);
        }
    }
}


VPT_TEST(enormous_strings_are_kept_whole_or_the_context_is_bad)
{
    char           *s, *big;
    size_t          n;
    vpt_context_t   ctx;

    /* 1 MB sku, 64 KB key: past the size limit */

    big = malloc(1024 * 1024 + 1);
    if (big == NULL) {
        VPT_CHECK(big != NULL);
        return;
    }

    memset(big, 'S', 1024 * 1024);
    big[1024 * 1024] = '\0';

    s = repeat("{\"cart\": [{\"sku\": \"", big, 1, "\"}]}");
    VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_ERROR);
    free(s);

    big[64 * 1024] = '\0';
    s = repeat("{\"features\": {\"", big, 1, "\": 1}}");
    VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_ERROR);
    free(s);

    /* just within it: kept whole, in an arena of the text's length */

    n = VPT_CTX_MAX_BYTES - 64;
    big[n / 2] = '\0';

    s = malloc(VPT_CTX_MAX_BYTES + 1);
    if (s == NULL) {
        VPT_CHECK(s != NULL);
        free(big);
        return;
    }

    snprintf(s, VPT_CTX_MAX_BYTES + 1,
             "{\"cart\": [{\"sku\": \"%s\"}], "
             "\"features\": {\"%.*s\": \"v\"}}",
             big, (int) (n / 2 - 8), big);

    VPT_CHECK(strlen(s) <= VPT_CTX_MAX_BYTES);
    VPT_CHECK(parse(&ctx, s) == VPT_OK);
    VPT_CHECK(ctx.ncart == 1 && ctx.cart[0].sku.len == n / 2);
    VPT_CHECK(ctx.cart[0].sku.data[0] == 'S'
              && ctx.cart[0].sku.data[n / 2 - 1] == 'S');
    VPT_CHECK(ctx.nfeatures == 1 && ctx.features[0].name.len == n / 2 - 8);
    CHECK_S(ctx.features[0].str, "v");

    free(s);
    free(big);
}


VPT_TEST(a_repeated_field_replaces_the_whole_value)
{
    char           *s;
    vpt_context_t   ctx;

    /* 40 items, then the same key again with one: only the last counts */
    s = repeat("{\"cart\": [", "{\"sku\": \"A\", \"price\": 1}, ", 40,
               "{}], \"device\": \"x\", \"cart\": [{\"sku\": \"B\","
               " \"price\": 5}], \"device\": 5}");
    VPT_CHECK(s != NULL);
    if (s == NULL) {
        return;
    }

    VPT_CHECK(parse(&ctx, s) == VPT_OK);
    VPT_CHECK(ctx.ncart == 1);
    CHECK_S(ctx.cart[0].sku, "B");
    VPT_CHECK(ctx.cart_total == 5);
    VPT_CHECK(ctx.device.len == 0);
    free(s);
}


VPT_TEST(thousands_of_entries_are_cut_to_the_struct_s_sizes)
{
    char           *s;
    size_t          i;
    vpt_context_t   ctx;

    s = repeat("{\"cart\": [", "{\"price\": 1}, ", 4000, "{\"price\": 1}]}");
    VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_OK);
    VPT_CHECK(ctx.ncart == VPT_CTX_MAX_ITEMS && ctx.cart_total == 4001);
    free(s);

    s = repeat("{\"viewed\": [", "{\"sku\": \"v\"}, ", 4000, "{}]}");
    VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_OK);
    VPT_CHECK(ctx.nviewed == VPT_CTX_MAX_ITEMS);
    free(s);

    s = repeat("{\"history\": {\"skus\": [", "\"k\", ", 12000,
               "\"k\"], \"categories\": [\"c\"]}}");
    VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_OK);
    VPT_CHECK(ctx.nhistory_skus == VPT_CTX_MAX_STRS);
    VPT_CHECK(ctx.nhistory_categories == 1);
    free(s);

    /* entries of the wrong type before the good ones do not use up room */
    s = repeat("{\"history\": {\"skus\": [", "1, ", 10000,
               "\"a\", \"b\"]}}");
    VPT_CHECK(s != NULL && parse(&ctx, s) == VPT_OK);
    VPT_CHECK(ctx.nhistory_skus == 2);
    free(s);

    s = malloc(2 * VPT_CTX_MAX_BYTES);
    if (s == NULL) {
        VPT_CHECK(s != NULL);
        return;
    }

    strcpy(s, "{\"features\": {");
    for (i = 0; i < 4000; i++) {
        sprintf(s + strlen(s), "\"f%zu\": %zu, ", i, i);
    }
    strcat(s, "\"last\": 1}}");

    VPT_CHECK(strlen(s) < VPT_CTX_MAX_BYTES);
    VPT_CHECK(parse(&ctx, s) == VPT_OK);
    VPT_CHECK(ctx.nfeatures == VPT_CTX_MAX_FEATURES);
    CHECK_S(ctx.features[VPT_CTX_MAX_FEATURES - 1].name, "f31");
    free(s);
}


/*
 * The worst 64 KB for jansson's memory: every parse frees what it took,
 * and the most it ever holds stays in a few MB (about 70 bytes of tree a
 * byte of text for empty objects).  The "\u0000" in front keeps any
 * shortcut around jansson out of it.
 */

VPT_TEST(the_parse_s_memory_is_bounded_and_returned)
{
    char           *s;
    size_t          i, len;
    vpt_context_t   ctx;

    static const struct {
        const char  *pre, *unit, *post;
    } worst[] = {
        { "{\"e\": \"\\u0000\", \"cart\": [", "{}, ", "{}]}" },
        { "{\"e\": \"\\u0000\", \"cart\": [", "{},", "{}]}" },
        { "{\"e\": \"\\u0000\", \"x\": [", "[],", "[]]}" },
        { "{\"e\": \"\\u0000\", \"x\": [", "0,", "0]}" },
        { "{\"e\": \"\\u0000\", \"x\": [", "\"\",", "\"\"]}" },
        { "{\"e\": \"\\u0000\", \"cart\": [", "{\"a\":{}},", "{}]}" },
        { "{\"e\": \"\\u0000\", \"x\": ", "[", "" }   /* too deep: freed too */
    };

    json_set_alloc_funcs(heap_malloc, heap_free);

    for (i = 0; i < sizeof(worst) / sizeof(worst[0]); i++) {
        len = VPT_CTX_MAX_BYTES - 16;
        s = repeat(worst[i].pre, worst[i].unit,
                   len / strlen(worst[i].unit), worst[i].post);
        VPT_CHECK(s != NULL);
        if (s == NULL) {
            break;
        }

        if (strlen(s) > VPT_CTX_MAX_BYTES) {
            s[VPT_CTX_MAX_BYTES] = '\0';
        }

        heap_live = 0;
        heap_peak = 0;
        heap_calls = 0;

        (void) parse(&ctx, s);

        /* the tree outgrew the parser's own buffer: this measured it */
        VPT_CHECK_MSG(heap_calls > 0, "%s...: jansson took nothing",
                      worst[i].unit);
        VPT_CHECK_MSG(heap_live == 0, "%s...: %zu bytes not freed",
                      worst[i].unit, heap_live);
        VPT_CHECK_MSG(heap_peak < 8 * 1024 * 1024, "%s...: %zu bytes",
                      worst[i].unit, heap_peak);

        free(s);
    }

    json_set_alloc_funcs(malloc, free);
}


int
main(void)
{
    VPT_RUN(init_makes_everything_unknown);
    VPT_RUN(interface_example_parses_in_full);
    VPT_RUN(empty_object_is_an_empty_context);
    VPT_RUN(not_an_object_is_bad_context);
    VPT_RUN(malformed_json_is_bad_context);
    VPT_RUN(context_larger_than_64k_is_bad_context);
    VPT_RUN(wrong_types_leave_fields_absent);
    VPT_RUN(local_hour_is_a_whole_number_from_0_to_23);
    VPT_RUN(loyalty_member_and_user_numbers);
    VPT_RUN(cart_total_is_price_times_qty_over_every_item);
    VPT_RUN(array_entries_of_the_wrong_type_are_skipped);
    VPT_RUN(arrays_are_truncated_at_their_sizes);
    VPT_RUN(features_keep_strings_and_numbers_only);
    VPT_RUN(unicode_escapes_are_decoded);
    VPT_RUN(unknown_fields_are_ignored);
    VPT_RUN(an_arena_of_the_text_length_holds_every_string);
    VPT_RUN(strings_that_do_not_fit_the_arena_are_absent);
    VPT_RUN(a_repeated_key_keeps_its_last_value);
    VPT_RUN(parse_is_from_json_of_jansson_s_tree);
    VPT_RUN(a_context_outlives_the_next_parse);
    VPT_RUN(jansson_s_other_users_keep_their_allocator);
    VPT_RUN(a_nul_byte_makes_its_string_absent_not_the_context);
    VPT_RUN(every_field_of_the_wrong_type_or_range_is_absent);
    VPT_RUN(numbers_beyond_a_double_or_not_json_are_bad_context);
    VPT_RUN(numbers_at_the_edges_of_a_double);
    VPT_RUN(invalid_utf8_anywhere_is_bad_context);
    VPT_RUN(bytes_around_the_object_and_empty_input);
    VPT_RUN(deep_nesting_is_bad_context_or_ignored_never_a_crash);
    VPT_RUN(enormous_strings_are_kept_whole_or_the_context_is_bad);
    VPT_RUN(a_repeated_field_replaces_the_whole_value);
    VPT_RUN(thousands_of_entries_are_cut_to_the_struct_s_sizes);
    VPT_RUN(the_parse_s_memory_is_bounded_and_returned);

    free(arena);

    return VPT_DONE();
}
