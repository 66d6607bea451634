/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The offer catalog: every field, its defaults, every error message, the
 * demo catalog and the fixtures under t/data/ (run from the repo root).
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_fixture.h"
#include "vpt_catalog.h"


#define BASE                                                               \
    "\"id\": \"x\", \"kind\": \"upsell\", \"markup\": \"<p>x</p>\", "       \
    "\"pages\": [\"cart\"]"


static char  err[VPT_ERRLEN];

#define fails_with(c, want)  catalog_fails_with((c), err, (want))


/* a catalog of one offer: the given fields, as JSON object members */

static vpt_catalog_t *
one(const char *fields)
{
    char  buf[8192];

    snprintf(buf, sizeof(buf), "{\"offers\": [{%s}]}", fields);
    err[0] = '\0';

    return vpt_catalog_parse(buf, strlen(buf), "t.json", err, sizeof(err));
}


/* a catalog of one offer: BASE and the given fields */

static vpt_catalog_t *
with(const char *fields)
{
    char  buf[4096];

    snprintf(buf, sizeof(buf), BASE ", %s", fields);

    return one(buf);
}


static int
has(const vpt_strlist_t *l, size_t i, const char *want)
{
    return i < l->n && l->items[i].len == strlen(want)
           && memcmp(l->items[i].data, want, l->items[i].len) == 0
           && l->items[i].data[l->items[i].len] == '\0';
}


VPT_TEST(demo_catalog_loads_with_every_kind)
{
    long            i;
    unsigned        kinds;
    vpt_catalog_t  *c;
    vpt_offer_t    *o;

    c = vpt_catalog_load("conf.d/catalog.json", err, sizeof(err));
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    VPT_CHECK(c->n == 8);
    VPT_CHECK(c->version.len > 0);

    kinds = 0;
    for (i = 0; i < (long) c->n; i++) {
        kinds |= 1u << c->offers[i].kind;
        VPT_CHECK(vpt_catalog_find(c, c->offers[i].id) == i);
        VPT_CHECK(c->offers[i].pages != 0);
        VPT_CHECK(c->offers[i].markup.len > 0);
        VPT_CHECK(strstr(c->offers[i].markup.data, "{{beacon}}") != NULL);
    }
    VPT_CHECK(kinds == (1u << VPT_KIND_N) - 1);

    i = vpt_catalog_find(c, str("loyalty-join"));
    VPT_CHECK(i >= 0);
    if (i >= 0) {
        o = &c->offers[i];
        VPT_CHECK(o->kind == VPT_KIND_LOYALTY);
        VPT_CHECK(o->value == 0);
        VPT_CHECK(o->long_term_value == 60);
        VPT_CHECK(o->loyalty_member == 0);
        VPT_CHECK(o->pages == VPT_PAGE_BIT(VPT_PAGE_CONFIRMATION));
    }

    i = vpt_catalog_find(c, str("toy-batteries"));
    VPT_CHECK(i >= 0);
    if (i >= 0) {
        o = &c->offers[i];
        VPT_CHECK(o->kind == VPT_KIND_UPSELL);
        VPT_CHECK(o->pages == VPT_PAGE_BIT(VPT_PAGE_CART));
        VPT_CHECK(has(&o->exclude_if_in_cart, 0, "BAT-AA"));
    }

    i = vpt_catalog_find(c, str("app-install"));
    VPT_CHECK(i >= 0);
    if (i >= 0) {
        o = &c->offers[i];
        VPT_CHECK(o->devices.n == 1 && has(&o->devices, 0, "mobile"));
        VPT_CHECK(o->cap_per_shopper == 3);
    }

    i = vpt_catalog_find(c, str("gift-card"));
    VPT_CHECK(i >= 0 && c->offers[i].min_cart_total == 50);

    i = vpt_catalog_find(c, str("travel-partner"));
    VPT_CHECK(i >= 0);
    if (i >= 0) {
        o = &c->offers[i];
        VPT_CHECK(o->kind == VPT_KIND_THIRD_PARTY);
        VPT_CHECK_STR(o->advertiser.data, o->advertiser.len,
                      "Sunway Travel");
        VPT_CHECK(has(&o->countries, 0, "US") && has(&o->countries, 1, "CA"));
        VPT_CHECK(o->hours == 0x7fff00);    /* 8..22 */
    }

    vpt_catalog_free(c);
}


VPT_TEST(minimal_fixture_has_one_offer_per_page)
{
    vpt_catalog_t  *c;

    c = vpt_catalog_load("t/data/catalog-min.json", err, sizeof(err));
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    VPT_CHECK(c->n == 2);
    VPT_CHECK_STR(c->version.data, c->version.len, "min-1");
    VPT_CHECK(c->offers[0].pages == VPT_PAGE_BIT(VPT_PAGE_CART));
    VPT_CHECK(c->offers[1].pages == VPT_PAGE_BIT(VPT_PAGE_CONFIRMATION));
    VPT_CHECK(vpt_catalog_find(c, str("cart-offer")) == 0);
    VPT_CHECK(vpt_catalog_find(c, str("confirmation-offer")) == 1);

    vpt_catalog_free(c);
}


VPT_TEST(bad_fixtures_fail_naming_file_offer_and_field)
{
    vpt_catalog_t  *c;

    c = vpt_catalog_load("t/data/catalog-unknown-field.json", err,
                         sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t/data/catalog-unknown-field.json\": "
                         "offer #1 (\"typo\"): unknown field \"valeu\""));

    c = vpt_catalog_load("t/data/catalog-duplicate-id.json", err,
                         sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t/data/catalog-duplicate-id.json\": "
                         "offer #3 (\"dup\"): \"id\": duplicate of offer #1"));

    c = vpt_catalog_load("t/data/catalog-missing-markup.json", err,
                         sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t/data/catalog-missing-markup.json\": "
                         "offer #0 (\"no-markup\"): \"markup\": missing"));

    c = vpt_catalog_load("t/data/catalog-wrong-type.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t/data/catalog-wrong-type.json\": "
                         "offer #3 (\"party-dress\"): \"value\": "
                         "expected a number >= 0"));

    c = vpt_catalog_load("t/data/catalog-bad-placeholder.json", err,
                         sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t/data/catalog-bad-placeholder.json\""
                         ": offer #0 (\"hello\"): \"markup\": unknown "
                         "placeholder \"{{user.name}}\""));
}


VPT_TEST(syntax_error_names_line_and_column)
{
    const char     *want;
    vpt_catalog_t  *c;

    c = vpt_catalog_load("t/data/catalog-bad-syntax.json", err, sizeof(err));
    VPT_CHECK(c == NULL);

    want = "catalog \"t/data/catalog-bad-syntax.json\": line 3, column ";
    VPT_CHECK_MSG(strncmp(err, want, strlen(want)) == 0, "%s", err);
    VPT_CHECK_MSG(strlen(err) > strlen(want) + 4, "%s", err);

    /* keys repeated in one object are an error too */
    c = one(BASE ", \"value\": 1, \"value\": 2");
    VPT_CHECK(c == NULL);
    VPT_CHECK_MSG(strncmp(err, "catalog \"t.json\": line 1, column ", 33) == 0
                  && strstr(err, "duplicate") != NULL, "%s", err);
}


VPT_TEST(unreadable_file_says_why)
{
    vpt_catalog_t  *c;

    c = vpt_catalog_load("t/data/no-such-catalog.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t/data/no-such-catalog.json\": "
                         "cannot read: No such file or directory"));

    c = vpt_catalog_load("t/data", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t/data\": cannot read: "
                         "Is a directory"));
}


VPT_TEST(every_field_is_parsed)
{
    vpt_offer_t    *o;
    vpt_catalog_t  *c;

    c = one("\"id\": \"Full_1.a:b-c\", \"kind\": \"third_party\", "
            "\"markup\": \"<b>{{user.id}} {{features.age_band}}</b>\", "
            "\"pages\": [\"cart\", \"confirmation\"], "
            "\"value\": 12.5, \"long_term_value\": 40, \"prior\": 0.25, "
            "\"devices\": [\"mobile\", \"tablet\"], "
            "\"countries\": [\"US\"], \"referrers\": [\"email\", \"ads\"], "
            "\"hours\": [7, [9, 11]], \"min_cart_total\": 50, "
            "\"categories_any\": [\"toys\", \"games\"], "
            "\"categories_none\": [\"books\"], "
            "\"exclude_if_in_cart\": [\"BAT-AA\"], "
            "\"exclude_if_purchased\": [\"toys\", \"TOY-1\"], "
            "\"loyalty_member\": true, \"cap_per_shopper\": 3, "
            "\"features\": {\"category\": \"travel\", \"price\": 399}, "
            "\"advertiser\": \"Sunway Travel\"");
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    VPT_CHECK(c->n == 1);
    VPT_CHECK(c->version.len == 0);

    o = &c->offers[0];
    VPT_CHECK_STR(o->id.data, o->id.len, "Full_1.a:b-c");
    VPT_CHECK(o->kind == VPT_KIND_THIRD_PARTY);
    VPT_CHECK_STR(o->markup.data, o->markup.len,
                  "<b>{{user.id}} {{features.age_band}}</b>");
    VPT_CHECK(o->markup.data[o->markup.len] == '\0');
    VPT_CHECK(o->pages == (VPT_PAGE_BIT(VPT_PAGE_CART)
                           | VPT_PAGE_BIT(VPT_PAGE_CONFIRMATION)));
    VPT_CHECK(o->value == 12.5);
    VPT_CHECK(o->long_term_value == 40);
    VPT_CHECK(o->prior == 0.25);
    VPT_CHECK(o->devices.n == 2 && has(&o->devices, 0, "mobile")
              && has(&o->devices, 1, "tablet"));
    VPT_CHECK(o->countries.n == 1 && has(&o->countries, 0, "US"));
    VPT_CHECK(o->referrers.n == 2 && has(&o->referrers, 1, "ads"));
    VPT_CHECK(o->hours == ((1u << 7) | (1u << 9) | (1u << 10) | (1u << 11)));
    VPT_CHECK(o->min_cart_total == 50);
    VPT_CHECK(o->categories_any.n == 2 && has(&o->categories_any, 1, "games"));
    VPT_CHECK(o->categories_none.n == 1
              && has(&o->categories_none, 0, "books"));
    VPT_CHECK(o->exclude_if_in_cart.n == 1
              && has(&o->exclude_if_in_cart, 0, "BAT-AA"));
    VPT_CHECK(o->exclude_if_purchased.n == 2
              && has(&o->exclude_if_purchased, 1, "TOY-1"));
    VPT_CHECK(o->loyalty_member == 1);
    VPT_CHECK(o->cap_per_shopper == 3);
    VPT_CHECK(o->nfeatures == 2);
    if (o->nfeatures == 2) {
        VPT_CHECK_STR(o->features[0].name.data, o->features[0].name.len,
                      "category");
        VPT_CHECK(!o->features[0].is_num);
        VPT_CHECK_STR(o->features[0].str.data, o->features[0].str.len,
                      "travel");
        VPT_CHECK_STR(o->features[1].name.data, o->features[1].name.len,
                      "price");
        VPT_CHECK(o->features[1].is_num && o->features[1].num == 399);
    }
    VPT_CHECK_STR(o->advertiser.data, o->advertiser.len, "Sunway Travel");

    vpt_catalog_free(c);
}


VPT_TEST(absent_fields_take_their_defaults)
{
    vpt_offer_t    *o;
    vpt_catalog_t  *c;

    c = one(BASE);
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    o = &c->offers[0];
    VPT_CHECK(o->value == 0);
    VPT_CHECK(o->long_term_value == 0);
    VPT_CHECK(o->prior == 0.05);
    VPT_CHECK(o->hours == 0xffffff);
    VPT_CHECK(o->min_cart_total == 0);
    VPT_CHECK(o->loyalty_member == -1);
    VPT_CHECK(o->cap_per_shopper == 0);
    VPT_CHECK(o->devices.n == 0 && o->countries.n == 0
              && o->referrers.n == 0 && o->categories_any.n == 0
              && o->categories_none.n == 0 && o->exclude_if_in_cart.n == 0
              && o->exclude_if_purchased.n == 0);
    VPT_CHECK(o->nfeatures == 0);
    VPT_CHECK(o->advertiser.len == 0);

    vpt_catalog_free(c);
}


VPT_TEST(integers_are_numbers_and_bounds_are_inclusive)
{
    vpt_catalog_t  *c;

    c = with("\"value\": 0, \"long_term_value\": 7, \"prior\": 1, "
             "\"min_cart_total\": 0, \"loyalty_member\": false, "
             "\"cap_per_shopper\": 4294967295");
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c != NULL) {
        VPT_CHECK(c->offers[0].long_term_value == 7);
        VPT_CHECK(c->offers[0].prior == 1);
        VPT_CHECK(c->offers[0].loyalty_member == 0);
        VPT_CHECK(c->offers[0].cap_per_shopper == 4294967295u);
        vpt_catalog_free(c);
    }

    c = with("\"prior\": 0");
    VPT_CHECK(c != NULL && c->offers[0].prior == 0);
    vpt_catalog_free(c);

    c = with("\"value\": 1e3");
    VPT_CHECK(c != NULL && c->offers[0].value == 1000);
    vpt_catalog_free(c);
}


VPT_TEST(hours_take_single_hours_and_ranges_that_wrap)
{
    size_t          i;
    vpt_catalog_t  *c;

    static const struct {
        const char  *hours;
        uint32_t     mask;
    } ok[] = {
        { "[0]", 1u << 0 },
        { "[23]", 1u << 23 },
        { "[8, 12, 8]", (1u << 8) | (1u << 12) },
        { "[[9, 17]]", 0x3fe00 },
        { "[[22, 2]]", (1u << 22) | (1u << 23) | 0x7 },
        { "[[23, 0]]", (1u << 23) | 1u },
        { "[[5, 5]]", 1u << 5 },
        { "[[0, 23]]", 0xffffff },
        { "[[6, 5]]", 0xffffff },
        { "[1, [3, 4], 20]", (1u << 1) | (1u << 3) | (1u << 4) | (1u << 20) }
    };

    static const char  *bad[] = {
        "[24]", "[-1]", "[8.5]", "[\"8\"]", "[[1]]", "[[1, 2, 3]]",
        "[[1, 24]]", "[[\"1\", 2]]", "[null]", "[true]", "[[]]"
    };

    char  buf[128], want[512];

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(buf, sizeof(buf), "\"hours\": %s", ok[i].hours);
        c = with(buf);
        VPT_CHECK_MSG(c != NULL && c->offers[0].hours == ok[i].mask,
                      "%s: %s / %x", ok[i].hours, err,
                      c ? c->offers[0].hours : 0);
        vpt_catalog_free(c);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "\"hours\": %s", bad[i]);
        c = with(buf);
        snprintf(want, sizeof(want), "catalog \"t.json\": offer #0 (\"x\"): "
                 "\"hours\": element #0: expected an hour 0..23 or a range "
                 "[from, to]");
        VPT_CHECK_MSG(fails_with(c, want), "%s", bad[i]);
    }

    VPT_CHECK(fails_with(with("\"hours\": [1, 2, 99]"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"hours\": "
                         "element #2: expected an hour 0..23 or a range "
                         "[from, to]"));
    VPT_CHECK(fails_with(with("\"hours\": []"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"hours\": "
                         "expected a non-empty array of hours 0..23 and "
                         "[from, to] ranges"));
    VPT_CHECK(fails_with(with("\"hours\": 8"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"hours\": "
                         "expected a non-empty array of hours 0..23 and "
                         "[from, to] ranges"));
}


VPT_TEST(id_is_required_nonempty_short_and_url_safe)
{
    vpt_catalog_t  *c;

    static const char  *missing = "catalog \"t.json\": offer #0: \"id\": "
                                  "missing";
    static const char  *notstr = "catalog \"t.json\": offer #0: \"id\": "
                                 "expected a non-empty string";

    VPT_CHECK(fails_with(one("\"kind\": \"upsell\", \"markup\": \"m\", "
                             "\"pages\": [\"cart\"]"), missing));
    VPT_CHECK(fails_with(one("\"id\": \"\", \"kind\": \"upsell\""), notstr));
    VPT_CHECK(fails_with(one("\"id\": 7, \"kind\": \"upsell\""), notstr));
    VPT_CHECK(fails_with(one("\"id\": null"), notstr));

    VPT_CHECK(fails_with(one("\"id\": \"a b\""),
                         "catalog \"t.json\": offer #0: \"id\": byte 1 is "
                         "not a letter, digit, '.', '_', ':' or '-'"));
    VPT_CHECK(fails_with(one("\"id\": \"a\\\"<b>\""),
                         "catalog \"t.json\": offer #0: \"id\": byte 1 is "
                         "not a letter, digit, '.', '_', ':' or '-'"));
    VPT_CHECK(fails_with(one("\"id\": \"caf\\u00e9\""),
                         "catalog \"t.json\": offer #0: \"id\": byte 3 is "
                         "not a letter, digit, '.', '_', ':' or '-'"));
    VPT_CHECK(fails_with(one("\"id\": \"a/b\""),
                         "catalog \"t.json\": offer #0: \"id\": byte 1 is "
                         "not a letter, digit, '.', '_', ':' or '-'"));
    VPT_CHECK(fails_with(one("\"id\": \"a&b\""),
                         "catalog \"t.json\": offer #0: \"id\": byte 1 is "
                         "not a letter, digit, '.', '_', ':' or '-'"));

    /* 64 bytes pass, 65 do not */
    c = one("\"id\": \"0123456789012345678901234567890123456789"
            "012345678901234567890123\", \"kind\": \"upsell\", "
            "\"markup\": \"m\", \"pages\": [\"cart\"]");
    VPT_CHECK_MSG(c != NULL && c->offers[0].id.len == 64, "%s", err);
    vpt_catalog_free(c);

    VPT_CHECK(fails_with(one("\"id\": \"0123456789012345678901234567890123"
                             "4567890123456789012345678901234\""),
                         "catalog \"t.json\": offer #0: \"id\": longer than "
                         "64 bytes"));
}


VPT_TEST(kind_must_be_one_of_the_six)
{
    static const char  *want = "catalog \"t.json\": offer #0 (\"x\"): "
        "\"kind\": expected one of upsell, cross_sell, loyalty, app_install, "
        "gift_card, third_party";

    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": \"upsel\", "
                             "\"markup\": \"m\", \"pages\": [\"cart\"]"),
                         want));
    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": \"Upsell\""), want));
    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": 1"), want));
    VPT_CHECK(fails_with(one("\"id\": \"x\", \"markup\": \"m\", "
                             "\"pages\": [\"cart\"]"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"kind\": "
                         "missing"));
}


VPT_TEST(markup_placeholders_are_checked)
{
    size_t          i;
    char            buf[256], want[512];
    vpt_catalog_t  *c;

    static const char  *ok[] = {
        "{{decision}}", "{{offer}}", "{{experiment}}", "{{beacon}}",
        "{{user.id}}", "{{user.orders}}", "{{device}}", "{{referrer}}",
        "{{country}}", "{{intent}}", "{{order.id}}", "{{order.total}}",
        "{{order.currency}}", "{{features.segment}}",
        "{{features.Age_band-2.x}}", "a { b } c }} d {x}",
        "<a href=\\\"/vpt/accept?{{beacon}}\\\">{{user.id}}</a>{{intent}}"
    };

    static const struct {
        const char  *markup;
        const char  *why;
    } bad[] = {
        { "{{user.name}}", "unknown placeholder \"{{user.name}}\"" },
        { "{{}}", "unknown placeholder \"{{}}\"" },
        { "{{ user.id }}", "unknown placeholder \"{{ user.id }}\"" },
        { "{{USER.ID}}", "unknown placeholder \"{{USER.ID}}\"" },
        { "{{features.}}", "unknown placeholder \"{{features.}}\"" },
        { "{{features.a b}}", "unknown placeholder \"{{features.a b}}\"" },
        { "{{{beacon}}}", "unknown placeholder \"{{{beacon}}\"" },
        { "ok {{user.id}} {{nope}}", "unknown placeholder \"{{nope}}\"" },
        { "{{a\\\"b\\\\c}}", "unknown placeholder \"{{a?b?c}}\"" },
        { "<p>{{user.id</p>", "unclosed \"{{\" at byte 3" },
        { "<p>{{user.id}</p>", "unclosed \"{{\" at byte 3" },
        { "{{beacon}} {{", "unclosed \"{{\" at byte 11" }
    };

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(buf, sizeof(buf), "\"id\": \"x\", \"kind\": \"upsell\", "
                 "\"pages\": [\"cart\"], \"markup\": \"%s\"", ok[i]);
        c = one(buf);
        VPT_CHECK_MSG(c != NULL, "%s: %s", ok[i], err);
        vpt_catalog_free(c);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "\"id\": \"x\", \"kind\": \"upsell\", "
                 "\"pages\": [\"cart\"], \"markup\": \"%s\"", bad[i].markup);
        snprintf(want, sizeof(want), "catalog \"t.json\": offer #0 (\"x\"): "
                 "\"markup\": %s", bad[i].why);
        VPT_CHECK_MSG(fails_with(one(buf), want), "%s", bad[i].markup);
    }

    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": \"upsell\", "
                             "\"markup\": \"\""),
                         "catalog \"t.json\": offer #0 (\"x\"): \"markup\": "
                         "expected a non-empty string"));
    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": \"upsell\", "
                             "\"markup\": [\"<p>\"]"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"markup\": "
                         "expected a non-empty string"));
}


VPT_TEST(markup_is_an_own_copy_with_unicode_decoded)
{
    char            json[256];
    vpt_catalog_t  *c;

    snprintf(json, sizeof(json), "{\"offers\": [{\"id\": \"x\", "
             "\"kind\": \"upsell\", \"pages\": [\"cart\"], "
             "\"markup\": \"<p>caf\\u00e9 \\ud83c\\udf81</p>\"}]}");

    c = vpt_catalog_parse(json, strlen(json), "t.json", err, sizeof(err));
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    memset(json, 'z', sizeof(json));

    VPT_CHECK_STR(c->offers[0].markup.data, c->offers[0].markup.len,
                  "<p>caf\xc3\xa9 \xf0\x9f\x8e\x81</p>");
    VPT_CHECK_STR(c->offers[0].id.data, c->offers[0].id.len, "x");

    vpt_catalog_free(c);
}


VPT_TEST(pages_are_a_nonempty_set_of_cart_and_confirmation)
{
    vpt_catalog_t  *c;

    static const char  *empty = "catalog \"t.json\": offer #0 (\"x\"): "
        "\"pages\": expected a non-empty array of \"cart\" or "
        "\"confirmation\"";

    c = one("\"id\": \"x\", \"kind\": \"upsell\", \"markup\": \"m\", "
            "\"pages\": [\"confirmation\", \"confirmation\"]");
    VPT_CHECK(c != NULL
              && c->offers[0].pages == VPT_PAGE_BIT(VPT_PAGE_CONFIRMATION));
    vpt_catalog_free(c);

    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": \"upsell\", "
                             "\"markup\": \"m\", \"pages\": []"), empty));
    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": \"upsell\", "
                             "\"markup\": \"m\", \"pages\": \"cart\""),
                         empty));
    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": \"upsell\", "
                             "\"markup\": \"m\", "
                             "\"pages\": [\"cart\", \"home\"]"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"pages\": "
                         "element #1: expected \"cart\" or \"confirmation\""));
    VPT_CHECK(fails_with(one("\"id\": \"x\", \"kind\": \"upsell\", "
                             "\"markup\": \"m\""),
                         "catalog \"t.json\": offer #0 (\"x\"): \"pages\": "
                         "missing"));
}


VPT_TEST(rule_lists_are_nonempty_arrays_of_nonempty_strings)
{
    size_t  i;
    char    buf[256], want[512];

    static const char  *fields[] = {
        "devices", "countries", "referrers", "categories_any",
        "categories_none", "exclude_if_in_cart", "exclude_if_purchased"
    };

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        snprintf(buf, sizeof(buf), "\"%s\": []", fields[i]);
        snprintf(want, sizeof(want), "catalog \"t.json\": offer #0 (\"x\"): "
                 "\"%s\": expected a non-empty array of non-empty strings",
                 fields[i]);
        VPT_CHECK(fails_with(with(buf), want));

        snprintf(buf, sizeof(buf), "\"%s\": \"mobile\"", fields[i]);
        VPT_CHECK(fails_with(with(buf), want));

        snprintf(buf, sizeof(buf), "\"%s\": [\"a\", \"\"]", fields[i]);
        snprintf(want, sizeof(want), "catalog \"t.json\": offer #0 (\"x\"): "
                 "\"%s\": element #1: expected a non-empty string",
                 fields[i]);
        VPT_CHECK(fails_with(with(buf), want));

        snprintf(buf, sizeof(buf), "\"%s\": [1]", fields[i]);
        snprintf(want, sizeof(want), "catalog \"t.json\": offer #0 (\"x\"): "
                 "\"%s\": element #0: expected a non-empty string",
                 fields[i]);
        VPT_CHECK(fails_with(with(buf), want));
    }
}


VPT_TEST(numbers_out_of_range_or_of_the_wrong_type_fail)
{
    VPT_CHECK(fails_with(with("\"value\": -1"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"value\": "
                         "expected a number >= 0"));
    VPT_CHECK(fails_with(with("\"value\": \"12\""),
                         "catalog \"t.json\": offer #0 (\"x\"): \"value\": "
                         "expected a number >= 0"));
    VPT_CHECK(fails_with(with("\"long_term_value\": -0.5"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"long_term_value\": expected a number >= 0"));
    VPT_CHECK(fails_with(with("\"min_cart_total\": true"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"min_cart_total\": expected a number >= 0"));
    VPT_CHECK(fails_with(with("\"prior\": 1.01"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"prior\": "
                         "expected a number from 0 to 1"));
    VPT_CHECK(fails_with(with("\"prior\": -0.01"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"prior\": "
                         "expected a number from 0 to 1"));
    VPT_CHECK(fails_with(with("\"prior\": null"),
                         "catalog \"t.json\": offer #0 (\"x\"): \"prior\": "
                         "expected a number from 0 to 1"));
    VPT_CHECK(fails_with(with("\"loyalty_member\": \"yes\""),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"loyalty_member\": expected true or false"));
    VPT_CHECK(fails_with(with("\"loyalty_member\": 1"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"loyalty_member\": expected true or false"));
    VPT_CHECK(fails_with(with("\"cap_per_shopper\": 0"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"cap_per_shopper\": expected an integer from 1 "
                         "to 4294967295"));
    VPT_CHECK(fails_with(with("\"cap_per_shopper\": 2.5"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"cap_per_shopper\": expected an integer from 1 "
                         "to 4294967295"));
    VPT_CHECK(fails_with(with("\"cap_per_shopper\": 4294967296"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"cap_per_shopper\": expected an integer from 1 "
                         "to 4294967295"));
}


VPT_TEST(features_take_strings_and_numbers_only)
{
    vpt_catalog_t  *c;

    c = with("\"features\": {}");
    VPT_CHECK(c != NULL && c->offers[0].nfeatures == 0);
    vpt_catalog_free(c);

    c = with("\"features\": {\"size\": -2.5, \"band\": \"\"}");
    VPT_CHECK(c != NULL && c->offers[0].nfeatures == 2
              && c->offers[0].features[0].num == -2.5
              && c->offers[0].features[1].str.len == 0);
    vpt_catalog_free(c);

    VPT_CHECK(fails_with(with("\"features\": {\"a\": 1, \"vip\": true}"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"features\": \"vip\": expected a string or a "
                         "number"));
    VPT_CHECK(fails_with(with("\"features\": {\"o\": {}}"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"features\": \"o\": expected a string or a "
                         "number"));
    VPT_CHECK(fails_with(with("\"features\": {\"\": 1}"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"features\": empty feature name"));
    VPT_CHECK(fails_with(with("\"features\": [\"a\"]"),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"features\": expected an object of string or "
                         "number values"));
}


VPT_TEST(advertiser_belongs_to_third_party_offers_only)
{
    vpt_catalog_t  *c;

    c = one("\"id\": \"p\", \"kind\": \"third_party\", \"markup\": \"m\", "
            "\"pages\": [\"cart\"], \"advertiser\": \"ACME\"");
    VPT_CHECK_MSG(c != NULL, "%s", err);
    vpt_catalog_free(c);

    VPT_CHECK(fails_with(one("\"id\": \"p\", \"kind\": \"third_party\", "
                             "\"markup\": \"m\", \"pages\": [\"cart\"]"),
                         "catalog \"t.json\": offer #0 (\"p\"): "
                         "\"advertiser\": missing (required for third_party "
                         "offers)"));
    VPT_CHECK(fails_with(with("\"advertiser\": \"ACME\""),
                         "catalog \"t.json\": offer #0 (\"x\"): "
                         "\"advertiser\": only allowed for third_party "
                         "offers"));
    VPT_CHECK(fails_with(one("\"id\": \"p\", \"kind\": \"third_party\", "
                             "\"markup\": \"m\", \"pages\": [\"cart\"], "
                             "\"advertiser\": \"\""),
                         "catalog \"t.json\": offer #0 (\"p\"): "
                         "\"advertiser\": expected a non-empty string"));
}


VPT_TEST(unknown_names_are_quoted_safely)
{
    VPT_CHECK(fails_with(with("\"va\\\"l\\nu\\\\e\": 1"),
                         "catalog \"t.json\": offer #0 (\"x\"): unknown "
                         "field \"va?l?u?e\""));
    VPT_CHECK(fails_with(with("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                              "aaaaaaaaaaaaaaaaaaaaa\": 1"),
                         "catalog \"t.json\": offer #0 (\"x\"): unknown "
                         "field \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaa...\""));

    /* a multi-byte character is not cut in two */
    VPT_CHECK(fails_with(with("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                              "aa\\u00e9\\u00e9\": 1"),
                         "catalog \"t.json\": offer #0 (\"x\"): unknown "
                         "field \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaa...\""));
}


VPT_TEST(top_level_shape_is_checked)
{
    const char     *json;
    vpt_catalog_t  *c;

    json = "[]";
    c = vpt_catalog_parse(json, strlen(json), "t.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t.json\": expected an object "
                         "{\"version\": ..., \"offers\": [...]}"));

    json = "{\"version\": \"1\"}";
    c = vpt_catalog_parse(json, strlen(json), "t.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t.json\": \"offers\": missing"));

    json = "{\"offers\": []}";
    c = vpt_catalog_parse(json, strlen(json), "t.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t.json\": \"offers\": expected a "
                         "non-empty array of offers"));

    json = "{\"offers\": {}}";
    c = vpt_catalog_parse(json, strlen(json), "t.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t.json\": \"offers\": expected a "
                         "non-empty array of offers"));

    json = "{\"version\": 2, \"offers\": []}";
    c = vpt_catalog_parse(json, strlen(json), "t.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t.json\": \"version\": expected a "
                         "string"));

    json = "{\"offers\": [], \"offer\": []}";
    c = vpt_catalog_parse(json, strlen(json), "t.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t.json\": unknown field \"offer\""));

    json = "{\"offers\": [{\"id\": \"a\", \"kind\": \"upsell\", "
           "\"markup\": \"m\", \"pages\": [\"cart\"]}, \"b\"]}";
    c = vpt_catalog_parse(json, strlen(json), "t.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t.json\": offer #1: expected an "
                         "object"));

    json = "";
    c = vpt_catalog_parse(json, 0, "t.json", err, sizeof(err));
    VPT_CHECK(c == NULL
              && strncmp(err, "catalog \"t.json\": line 1, column ", 33) == 0);
}


VPT_TEST(error_message_never_overflows)
{
    char            small[24];
    const char     *json;
    vpt_catalog_t  *c;

    json = "{\"offers\": [{\"id\": \"x\", \"valeu\": 1}]}";

    memset(small, 'z', sizeof(small));
    c = vpt_catalog_parse(json, strlen(json), "a-rather-long-name.json",
                          small, 10);
    VPT_CHECK(c == NULL);
    VPT_CHECK(strcmp(small, "catalog \"") == 0);
    VPT_CHECK(small[10] == 'z');

    c = vpt_catalog_parse(json, strlen(json), "t.json", NULL, 0);
    VPT_CHECK(c == NULL);

    c = vpt_catalog_load("t/data/nope.json", small, 1);
    VPT_CHECK(c == NULL && small[0] == '\0');
}


VPT_TEST(find_uses_the_whole_id)
{
    size_t          i, at;
    char           *json, id[32];
    vpt_catalog_t  *c;

    c = vpt_catalog_load("conf.d/catalog.json", err, sizeof(err));
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    VPT_CHECK(vpt_catalog_find(c, str("wrapping")) >= 0);
    VPT_CHECK(vpt_catalog_find(c, str("loyalty")) == -1);
    VPT_CHECK(vpt_catalog_find(c, str("loyalty-join ")) == -1);
    VPT_CHECK(vpt_catalog_find(c, str("LOYALTY-JOIN")) == -1);
    VPT_CHECK(vpt_catalog_find(c, str("")) == -1);
    VPT_CHECK(vpt_catalog_find(NULL, str("wrapping")) == -1);

    vpt_catalog_free(c);

    /* many offers: every one found through the index */

    json = malloc(1000 * 128 + 64);
    if (json == NULL) {
        VPT_CHECK(json != NULL);
        return;
    }

    at = (size_t) sprintf(json, "{\"offers\": [");
    for (i = 0; i < 1000; i++) {
        at += (size_t) sprintf(json + at, "%s{\"id\": \"o-%zu\", "
                               "\"kind\": \"upsell\", \"markup\": \"m\", "
                               "\"pages\": [\"cart\"]}", i ? ", " : "", i);
    }
    at += (size_t) sprintf(json + at, "]}");

    c = vpt_catalog_parse(json, at, "many.json", err, sizeof(err));
    free(json);

    VPT_CHECK_MSG(c != NULL && c->n == 1000, "%s", err);
    if (c == NULL) {
        return;
    }

    for (i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "o-%zu", i);
        VPT_CHECK_MSG(vpt_catalog_find(c, str(id)) == (long) i, "%s", id);
    }

    VPT_CHECK(vpt_catalog_find(c, str("o-1000")) == -1);

    vpt_catalog_free(c);
}


VPT_TEST(kind_and_page_names_round_trip)
{
    int  i;

    VPT_CHECK(strcmp(vpt_kind_name(VPT_KIND_UPSELL), "upsell") == 0);
    VPT_CHECK(strcmp(vpt_kind_name(VPT_KIND_CROSS_SELL), "cross_sell") == 0);
    VPT_CHECK(strcmp(vpt_kind_name(VPT_KIND_LOYALTY), "loyalty") == 0);
    VPT_CHECK(strcmp(vpt_kind_name(VPT_KIND_APP_INSTALL), "app_install")
              == 0);
    VPT_CHECK(strcmp(vpt_kind_name(VPT_KIND_GIFT_CARD), "gift_card") == 0);
    VPT_CHECK(strcmp(vpt_kind_name(VPT_KIND_THIRD_PARTY), "third_party")
              == 0);
    VPT_CHECK(strcmp(vpt_kind_name(VPT_KIND_N), "unknown") == 0);

    for (i = 0; i < VPT_PAGE_N; i++) {
        VPT_CHECK(vpt_page_parse(str(vpt_page_name((vpt_page_e) i))) == i);
    }

    VPT_CHECK(strcmp(vpt_page_name(VPT_PAGE_CART), "cart") == 0);
    VPT_CHECK(strcmp(vpt_page_name(VPT_PAGE_CONFIRMATION), "confirmation")
              == 0);
    VPT_CHECK(strcmp(vpt_page_name(VPT_PAGE_N), "unknown") == 0);
    VPT_CHECK(vpt_page_parse(str("checkout")) == -1);
    VPT_CHECK(vpt_page_parse(str("car")) == -1);
    VPT_CHECK(vpt_page_parse(str("")) == -1);
}


/* --- bad input: catalogs at their worst ---------------------------------- */


/*
 * n offers "o-0" ... with rules, features and placeholders, so that each
 * one takes every path of the parser; dup >= 0 makes the last id "o-<dup>".
 * A malloc()ed text of *len bytes.
 */

static char *
many_offers(size_t n, long dup, size_t *len)
{
    char    *s;
    size_t   i, at, size;

    size = n * 400 + 64;
    s = malloc(size);
    if (s == NULL) {
        return NULL;
    }

    at = (size_t) snprintf(s, size, "{\"version\": \"many\", \"offers\": [");

    for (i = 0; i < n; i++) {
        at += (size_t) snprintf(s + at, size - at,
            "%s{\"id\": \"o-%zu\", \"kind\": \"%s\", "
            "\"markup\": \"<p>{{user.id}} {{offer}} %zu</p>\", "
            "\"pages\": [\"cart\", \"confirmation\"], \"value\": %zu.5, "
            "\"prior\": 0.0%zu, \"devices\": [\"mobile\", \"d%zu\"], "
            "\"hours\": [[%zu, %zu]], \"categories_any\": [\"c%zu\"], "
            "\"cap_per_shopper\": %zu, \"features\": {\"category\": "
            "\"c%zu\", \"rank\": %zu}}",
            i ? ", " : "",
            (dup >= 0 && i == n - 1) ? (size_t) dup : i,
            (i % 3) ? "cross_sell" : "upsell", i, i % 100, 1 + i % 9,
            i % 50, i % 24, (i + 5) % 24, i % 40, 1 + i % 5, i % 40, i);
    }

    at += (size_t) snprintf(s + at, size - at, "]}");

    *len = at;

    return s;
}


VPT_TEST(five_thousand_offers_load_and_every_one_is_found)
{
    char           *json, id[32];
    size_t          i, len;
    vpt_catalog_t  *c;

    json = many_offers(5000, -1, &len);
    VPT_CHECK(json != NULL);
    if (json == NULL) {
        return;
    }

    c = vpt_catalog_parse(json, len, "many.json", err, sizeof(err));
    free(json);

    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    VPT_CHECK(c->n == 5000);

    for (i = 0; i < c->n; i++) {
        snprintf(id, sizeof(id), "o-%zu", i);

        if (vpt_catalog_find(c, str(id)) != (long) i) {
            VPT_CHECK_MSG(0, "%s not found at %zu", id, i);
            break;
        }
    }

    VPT_CHECK(c->offers[4999].value == 99.5);
    VPT_CHECK(c->offers[4999].cap_per_shopper == 5);
    VPT_CHECK(has(&c->offers[4999].devices, 1, "d49"));
    VPT_CHECK(c->offers[4999].nfeatures == 2
              && c->offers[4999].features[1].num == 4999);
    VPT_CHECK(vpt_catalog_find(c, str("o-5000")) == -1);

    vpt_catalog_free(c);
}


VPT_TEST(a_duplicate_id_names_both_offers_wherever_it_is)
{
    char           *json;
    size_t          len;
    const char     *text;
    vpt_catalog_t  *c;

    /* the last of 5,000 repeats the 18th */
    json = many_offers(5000, 17, &len);
    VPT_CHECK(json != NULL);
    if (json == NULL) {
        return;
    }

    c = vpt_catalog_parse(json, len, "many.json", err, sizeof(err));
    free(json);
    VPT_CHECK(fails_with(c, "catalog \"many.json\": offer #4999 (\"o-17\"): "
                         "\"id\": duplicate of offer #17"));

    /* the same id, spelled with an escape: still the same */
    text = "{\"offers\": [{" BASE "}, {\"id\": \"\\u0078\", "
           "\"kind\": \"upsell\"}]}";
    c = vpt_catalog_parse(text, strlen(text), "t.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"t.json\": offer #1 (\"x\"): \"id\": "
                         "duplicate of offer #0"));

    /* ids are case-sensitive: "X" is another offer */
    text = "{\"offers\": [{" BASE "}, {\"id\": \"X\", \"kind\": \"upsell\", "
           "\"markup\": \"m\", \"pages\": [\"cart\"]}]}";
    c = vpt_catalog_parse(text, strlen(text), "t.json", err, sizeof(err));
    VPT_CHECK_MSG(c != NULL && c->n == 2, "%s", err);
    vpt_catalog_free(c);
}


VPT_TEST(odd_ids_fail_and_the_message_stays_one_clean_line)
{
    size_t          i, k;
    char            buf[256];
    vpt_catalog_t  *c;

    static const struct {
        const char  *id;
        const char  *why;
    } cases[] = {
        { "a\\r\\nb", "byte 1 is not a letter, digit, '.', '_', ':' or '-'" },
        { "\\u001b[2J",
          "byte 0 is not a letter, digit, '.', '_', ':' or '-'" },
        { "<script>", "byte 0 is not a letter, digit, '.', '_', ':' or '-'" },
        { "a\\u007fb", "byte 1 is not a letter, digit, '.', '_', ':' or '-'" },
        { "\\u2028", "byte 0 is not a letter, digit, '.', '_', ':' or '-'" },
        { "a%0d", "byte 1 is not a letter, digit, '.', '_', ':' or '-'" },
        { " x", "byte 0 is not a letter, digit, '.', '_', ':' or '-'" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "\"id\": \"%s\", \"kind\": \"upsell\"",
                 cases[i].id);

        c = one(buf);
        VPT_CHECK(c == NULL);
        vpt_catalog_free(c);

        snprintf(buf, sizeof(buf), "catalog \"t.json\": offer #0: \"id\": %s",
                 cases[i].why);
        VPT_CHECK_MSG(strcmp(err, buf) == 0, "%s", err);
    }

    /* NUL, DEL and control bytes in jansson's own message are '?' */

    c = one("\"id\": \"a\\u0000\"");
    VPT_CHECK(c == NULL && strstr(err, "line 1, column") != NULL);

    c = vpt_catalog_parse("{\"offers\": \"a\x7f", 14, "t.json", err,
                          sizeof(err));
    VPT_CHECK(c == NULL);
    VPT_CHECK_MSG(strcmp(err, "catalog \"t.json\": line 1, column 14: "
                         "premature end of input near '\"a?'") == 0,
                  "%s", err);

    for (k = 0; err[k]; k++) {
        VPT_CHECK((unsigned char) err[k] >= 0x20 && err[k] != 0x7f);
    }
}


VPT_TEST(enormous_markup_is_kept_whole)
{
    char           *json, *m;
    size_t          len, mlen, at;
    vpt_catalog_t  *c;

    /* 8 MB of markup, placeholders at both ends and in the middle */

    mlen = 8 * 1024 * 1024;
    json = malloc(mlen + 256);
    if (json == NULL) {
        VPT_CHECK(json != NULL);
        return;
    }

    at = (size_t) sprintf(json, "{\"offers\": [{\"id\": \"big\", "
                          "\"kind\": \"upsell\", \"pages\": [\"cart\"], "
                          "\"markup\": \"");
    m = json + at;
    memset(m, 'x', mlen);
    memcpy(m, "{{user.id}}", 11);
    memcpy(m + mlen / 2, "{{offer}}", 9);
    memcpy(m + mlen - 12, "{{decision}}", 12);
    at += mlen;
    len = at + (size_t) sprintf(json + at, "\"}]}");

    c = vpt_catalog_parse(json, len, "big.json", err, sizeof(err));
    VPT_CHECK_MSG(c != NULL, "%s", err);

    if (c != NULL) {
        VPT_CHECK(c->offers[0].markup.len == mlen);
        VPT_CHECK(memcmp(c->offers[0].markup.data, m, mlen) == 0);
        VPT_CHECK(c->offers[0].markup.data[mlen] == '\0');
        vpt_catalog_free(c);
    }

    /* an unknown placeholder at its very end is still found */
    memcpy(m + mlen - 12, "{{nothing}} ", 12);

    c = vpt_catalog_parse(json, len, "big.json", err, sizeof(err));
    VPT_CHECK(fails_with(c, "catalog \"big.json\": offer #0 (\"big\"): "
                         "\"markup\": unknown placeholder \"{{nothing}}\""));

    free(json);
}


int
main(void)
{
    VPT_RUN(demo_catalog_loads_with_every_kind);
    VPT_RUN(minimal_fixture_has_one_offer_per_page);
    VPT_RUN(bad_fixtures_fail_naming_file_offer_and_field);
    VPT_RUN(syntax_error_names_line_and_column);
    VPT_RUN(unreadable_file_says_why);
    VPT_RUN(every_field_is_parsed);
    VPT_RUN(absent_fields_take_their_defaults);
    VPT_RUN(integers_are_numbers_and_bounds_are_inclusive);
    VPT_RUN(hours_take_single_hours_and_ranges_that_wrap);
    VPT_RUN(id_is_required_nonempty_short_and_url_safe);
    VPT_RUN(kind_must_be_one_of_the_six);
    VPT_RUN(markup_placeholders_are_checked);
    VPT_RUN(markup_is_an_own_copy_with_unicode_decoded);
    VPT_RUN(pages_are_a_nonempty_set_of_cart_and_confirmation);
    VPT_RUN(rule_lists_are_nonempty_arrays_of_nonempty_strings);
    VPT_RUN(numbers_out_of_range_or_of_the_wrong_type_fail);
    VPT_RUN(features_take_strings_and_numbers_only);
    VPT_RUN(advertiser_belongs_to_third_party_offers_only);
    VPT_RUN(unknown_names_are_quoted_safely);
    VPT_RUN(top_level_shape_is_checked);
    VPT_RUN(error_message_never_overflows);
    VPT_RUN(find_uses_the_whole_id);
    VPT_RUN(kind_and_page_names_round_trip);
    VPT_RUN(five_thousand_offers_load_and_every_one_is_found);
    VPT_RUN(a_duplicate_id_names_both_offers_wherever_it_is);
    VPT_RUN(odd_ids_fail_and_the_message_stays_one_clean_line);
    VPT_RUN(enormous_markup_is_kept_whole);

    return VPT_DONE();
}
