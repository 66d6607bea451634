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
#include "vpt_context.h"


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


static int
is_empty(const vpt_context_t *ctx)
{
    vpt_context_t  empty;

    vpt_context_init(&empty);

    return memcmp(ctx, &empty, sizeof(vpt_context_t)) == 0;
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
        "{\"device\": \"\\ud800\"}", "{\"device\": \"a\\u0000b\"}"
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


VPT_TEST(local_hour_is_an_integer_from_0_to_23)
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
        { "{\"local_hour\": 20.0}", -1 },
        { "{\"local_hour\": 99999999999999}", -1 },
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


/* the same strings and numbers, wherever the strings are */

static int
same_str(vpt_str_t a, vpt_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len)
                                            == 0);
}


static int
same_items(const vpt_item_t *a, const vpt_item_t *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (!same_str(a[i].sku, b[i].sku)
            || !same_str(a[i].category, b[i].category)
            || a[i].price != b[i].price || a[i].qty != b[i].qty)
        {
            return 0;
        }
    }

    return 1;
}


static int
same_context(const vpt_context_t *a, const vpt_context_t *b)
{
    size_t  i;

    if (!same_str(a->user_id, b->user_id)
        || a->loyalty_member != b->loyalty_member
        || a->orders != b->orders || a->lifetime_value != b->lifetime_value
        || !same_str(a->device, b->device)
        || !same_str(a->referrer, b->referrer)
        || !same_str(a->country, b->country)
        || a->local_hour != b->local_hour
        || a->ncart != b->ncart || !same_items(a->cart, b->cart, a->ncart)
        || a->cart_total != b->cart_total
        || !same_str(a->order_id, b->order_id)
        || a->order_total != b->order_total
        || !same_str(a->order_currency, b->order_currency)
        || a->nhistory_categories != b->nhistory_categories
        || a->nhistory_skus != b->nhistory_skus
        || a->nviewed != b->nviewed
        || !same_items(a->viewed, b->viewed, a->nviewed)
        || !same_str(a->intent, b->intent)
        || a->nfeatures != b->nfeatures)
    {
        return 0;
    }

    for (i = 0; i < a->nhistory_categories; i++) {
        if (!same_str(a->history_categories[i], b->history_categories[i])) {
            return 0;
        }
    }

    for (i = 0; i < a->nhistory_skus; i++) {
        if (!same_str(a->history_skus[i], b->history_skus[i])) {
            return 0;
        }
    }

    for (i = 0; i < a->nfeatures; i++) {
        if (!same_str(a->features[i].name, b->features[i].name)
            || a->features[i].is_num != b->features[i].is_num
            || a->features[i].num != b->features[i].num
            || !same_str(a->features[i].str, b->features[i].str))
        {
            return 0;
        }
    }

    return 1;
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
        VPT_CHECK_MSG(same_context(&got, &want), "%zu items", sizes[i]);
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

    /* installed before a parse, as tools/vpt_tools_log.c does */

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

    /* a context too large for the parser's memory: the rest is freed */

    text = big_context(400);
    VPT_CHECK(text != NULL);
    if (text != NULL) {
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
    VPT_RUN(local_hour_is_an_integer_from_0_to_23);
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

    free(arena);

    return VPT_DONE();
}
