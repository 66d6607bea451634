/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The context's fast path (src/vpt_context_fast.c) against jansson's: on
 * every text it accepts, the context must be the one jansson's path
 * gives; what it declines must be what it documents, and the public
 * vpt_context_parse() then gives jansson's answer.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_context.h"
#include "vpt_context_int.h"
#include "context_eq.h"


#define ARENA  (128 * 1024)

static char  arena_fast[ARENA];
static char  arena_ref[ARENA];


/* 1: the fast path took it, and agrees with jansson */

static int
fast_agrees(const char *json, size_t len)
{
    int            rc_fast, rc_ref;
    const char    *why;
    vpt_context_t  fast, ref;

    /* nothing may depend on what the struct held before */
    memset(&fast, 0xa5, sizeof(vpt_context_t));

    rc_fast = vpt_context_parse_fast(&fast, json, len, arena_fast, len);
    rc_ref = vpt_context_parse_jansson(&ref, json, len, arena_ref, len);

    if (rc_fast == VPT_DECLINED) {
        return 0;
    }

    VPT_CHECK_MSG(rc_fast == VPT_OK, "fast rc %d: %.*s", rc_fast,
                  (int) len, json);
    VPT_CHECK_MSG(rc_ref == VPT_OK, "jansson refused what fast took: %.*s",
                  (int) len, json);

    why = "";
    VPT_CHECK_MSG(ctx_eq(&fast, &ref, &why), "%s differs: %.*s", why,
                  (int) len, json);
    VPT_CHECK_MSG(ctx_in_arena(&fast, arena_fast, len, &why),
                  "%s is outside the arena: %.*s", why, (int) len, json);

    return 1;
}


static int
fast_takes(const char *json)
{
    return fast_agrees(json, strlen(json));
}


/* declined, and vpt_context_parse() answers as jansson does */

static void
check_declined(const char *json)
{
    int            rc, rc_ref;
    size_t         len;
    const char    *why;
    vpt_context_t  fast, ref, pub;

    len = strlen(json);

    rc = vpt_context_parse_fast(&fast, json, len, arena_fast, len);
    VPT_CHECK_MSG(rc == VPT_DECLINED, "not declined (%d): %s", rc, json);

    memset(&pub, 0xa5, sizeof(vpt_context_t));
    rc = vpt_context_parse(&pub, json, len, arena_fast, len);
    rc_ref = vpt_context_parse_jansson(&ref, json, len, arena_ref, len);

    VPT_CHECK_MSG(rc == rc_ref, "rc %d, jansson %d: %s", rc, rc_ref, json);

    why = "";
    VPT_CHECK_MSG(ctx_eq(&pub, &ref, &why), "%s differs: %s", why, json);
}


VPT_TEST(demo_personas_take_the_fast_path)
{
    VPT_CHECK(fast_takes(
        "{\"user\": {\"id\": \"u-gift\", \"loyalty_member\": false, "
        "\"orders\": 1}, \"device\": \"desktop\", \"referrer\": \"search\", "
        "\"country\": \"US\", \"intent\": \"gift\", \"cart\": [{\"sku\": "
        "\"TOY-1\", \"category\": \"toys\", \"price\": 29.99, \"qty\": 1}], "
        "\"order\": {\"id\": \"A-1001\", \"total\": 29.99, \"currency\": "
        "\"USD\"}, \"viewed\": [{\"sku\": \"DR-7\", \"category\": "
        "\"dresses\"}]}"));

    VPT_CHECK(fast_takes(
        "{\"user\": {\"id\": \"u-loyal\", \"loyalty_member\": true, "
        "\"orders\": 14, \"lifetime_value\": 1240.0}, \"device\": "
        "\"mobile\", \"referrer\": \"email\", \"country\": \"US\", "
        "\"cart\": [{\"sku\": \"PZ-5\", \"category\": \"puzzles\", "
        "\"price\": 18.0, \"qty\": 1}], \"order\": {\"id\": \"A-1002\", "
        "\"total\": 18.0, \"currency\": \"USD\"}, \"history\": "
        "{\"categories\": [\"toys\", \"puzzles\"], \"skus\": [\"TOY-9\"]}}"));

    VPT_CHECK(fast_takes(
        "{\"user\":{\"id\":\"u-123\",\"loyalty_member\":false,\"orders\":3,"
        "\"lifetime_value\":420.0},\"device\":\"mobile\",\"referrer\":"
        "\"email\",\"country\":\"US\",\"local_hour\":20,\"cart\":[{\"sku\":"
        "\"TOY-1\",\"category\":\"toys\",\"price\":29.99,\"qty\":1}],"
        "\"order\":{\"id\":\"A-1001\",\"total\":29.99,\"currency\":\"USD\"},"
        "\"history\":{\"categories\":[\"books\"],\"skus\":[\"BK-9\"]},"
        "\"viewed\":[{\"sku\":\"DR-7\",\"category\":\"dresses\"}],"
        "\"intent\":\"gift\",\"features\":{\"segment\":\"bargain-hunter\","
        "\"age_band\":\"25-34\",\"visits\":7}}"));
}


VPT_TEST(any_whitespace_between_tokens_takes_the_fast_path)
{
    /* pretty-printed, and with whitespace where the names' quick match
     * does not expect it (before ':', after '[' and ',', tabs, CRLF) */

    VPT_CHECK(fast_takes(
        "{\n  \"user\": {\n    \"id\": \"u-gift\",\n    "
        "\"loyalty_member\": false,\n    \"orders\": 1\n  },\n  "
        "\"device\": \"desktop\",\n  \"cart\": [\n    {\n      "
        "\"sku\": \"TOY-1\",\n      \"price\": 29.99,\n      "
        "\"qty\": 1\n    }\n  ],\n  \"history\": {\n    "
        "\"categories\": [\n      \"toys\"\n    ]\n  }\n}\n"));

    VPT_CHECK(fast_takes(
        "{ \"user\" : { \"id\" :\t\"u\" , \"orders\" : 2 } ,\r\n"
        "\"device\"\t:\"mobile\" , \"local_hour\" :  7 , \"cart\" : "
        "[ { \"sku\" : \"S\" , \"qty\" : 3 } , { } ] , \"viewed\""
        ":[{\"category\":\"c\"}],\"features\" : { \"a\" : 1 ,"
        "  \"b\" :\"x\" } , \"history\" : { \"skus\" : [ \"k\" , "
        "\"\" ] } , \"order\" : { \"total\" : 5 } }"));
}


VPT_TEST(values_and_types_agree_with_jansson)
{
    VPT_CHECK(fast_takes("{}"));
    VPT_CHECK(fast_takes(" \t\r\n{ \n} \n"));
    VPT_CHECK(fast_takes("{\"local_hour\": 0}"));
    VPT_CHECK(fast_takes("{\"local_hour\": 23}"));
    VPT_CHECK(fast_takes("{\"local_hour\": 24}"));
    VPT_CHECK(fast_takes("{\"local_hour\": -1}"));
    VPT_CHECK(fast_takes("{\"local_hour\": 20.0}"));
    VPT_CHECK(fast_takes("{\"local_hour\": 20.5}"));
    VPT_CHECK(fast_takes("{\"local_hour\": 2e1}"));
    VPT_CHECK(fast_takes("{\"local_hour\": \"20\"}"));
    VPT_CHECK(fast_takes("{\"user\": {\"orders\": -0, \"lifetime_value\": "
                         "-0.0}}"));
    VPT_CHECK(fast_takes("{\"user\": {\"orders\": 123456789012345678}}"));
    VPT_CHECK(fast_takes("{\"user\": {\"orders\": 9007199254740993}}"));
    VPT_CHECK(fast_takes("{\"user\": {\"orders\": 1234567890123456789}}"));
    VPT_CHECK(fast_takes("{\"user\": {\"orders\": 0.1, \"lifetime_value\": "
                         "123456.789012345678}}"));
    VPT_CHECK(fast_takes("{\"order\": {\"total\": 0.30000000000000004}}"));
    VPT_CHECK(fast_takes("{\"order\": {\"total\": 1e22}, \"user\": "
                         "{\"orders\": 1e23, \"lifetime_value\": 1e-22}}"));
    /* taken or not (strtod's range error on denormals), never different */
    (void) fast_takes("{\"order\": {\"total\": 0e99999}, \"user\": "
                      "{\"orders\": 4.9e-324, \"lifetime_value\": "
                      "2.2250738585072011e-308}}");
    VPT_CHECK(fast_takes("{\"user\": {\"lifetime_value\": 1.5E+3, "
                         "\"orders\": 1e-300}}"));
    VPT_CHECK(fast_takes("{\"user\": {\"loyalty_member\": null, \"id\": 7}}"));
    VPT_CHECK(fast_takes("{\"user\": [1, 2], \"order\": \"x\", "
                         "\"history\": 3, \"cart\": {}, \"viewed\": null, "
                         "\"features\": []}"));
    VPT_CHECK(fast_takes("{\"device\": \"\", \"country\": true, "
                         "\"intent\": [\"gift\"]}"));
    VPT_CHECK(fast_takes("{\"cart\": [1, \"a\", null, {\"price\": -3, "
                         "\"qty\": 2}, {\"sku\": \"\", \"qty\": 0.5, "
                         "\"price\": 10}, [], {}]}"));
    VPT_CHECK(fast_takes("{\"history\": {\"categories\": [\"\", 1, \"a\", "
                         "{}, \"b\"], \"skus\": \"x\", \"other\": [[[]]]}}"));
    VPT_CHECK(fast_takes("{\"features\": {\"\": \"x\", \"a\": \"\", "
                         "\"b\": 1, \"c\": true, \"d\": null, \"e\": [1], "
                         "\"f\": {\"g\": 1}, \"h\": -2.5, \"i\": \"v\"}}"));
    /* an empty name is no name read, wherever it is */
    VPT_CHECK(fast_takes("{\"\": \"x\", \"cart\": [{\"\": \"y\", "
                         "\"price\": 2}], \"user\": {\"\": 1, \"id\": "
                         "\"u\"}, \"order\": {\"\": \"z\"}, \"history\": "
                         "{\"\": []}}"));
    VPT_CHECK(fast_takes("{\"unknown\": {\"deep\": [[{\"x\": [1, {\"y\": "
                         "null}]}]]}, \"user\": {\"id\": \"u\", "
                         "\"unknown\": {\"id\": \"not me\"}}}"));
}


VPT_TEST(escapes_and_utf8_are_decoded_as_jansson_does)
{
    VPT_CHECK(fast_takes("{\"x\": \"\\u00e9\", \"device\": \"mobile\"}"));
    VPT_CHECK(fast_takes("{\"device\": \"mob\\u0069le\"}"));
    VPT_CHECK(fast_takes("{\"device\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}"));
    VPT_CHECK(fast_takes("{\"device\": \"caf\xc3\xa9 \xe2\x82\xac "
                         "\xf0\x9f\x98\x80\"}"));
    VPT_CHECK(fast_takes("{\"intent\": \"\\u20AC \\ud83d\\ude00\"}"));
    VPT_CHECK(fast_takes("{\"dev\\u0069ce\": \"mobile\"}"));
    VPT_CHECK(fast_takes("{\"features\": {\"s\\u00e9g\": \"v\\u00e9\", "
                         "\"n\\u00e9\": 2}, \"note\": "
                         "\"a \\\"quoted\\\" word\"}"));
    VPT_CHECK(fast_takes("{\"cart\": [{\"sku\": \"\\u0041-1\", \"category\":"
                         " \"to\\u0079s\", \"price\": 2}], \"history\": "
                         "{\"skus\": [\"\\u00e9\", \"\\\\\"]}}"));

    /* a decoded key is still a repeated one */
    check_declined("{\"device\": \"a\", \"dev\\u0069ce\": \"b\"}");
}


VPT_TEST(arrays_are_truncated_as_jansson_s_path_does)
{
    int     i;
    char   *p, buf[16384];

    p = buf;
    p += sprintf(p, "{\"cart\": [");

    for (i = 0; i < 40; i++) {
        p += sprintf(p, "%s{\"sku\": \"S-%d\", \"price\": %d.25, \"qty\": %d}",
                     i ? ", " : "", i, i, i % 3);
    }

    p += sprintf(p, "], \"history\": {\"skus\": [");

    for (i = 0; i < 40; i++) {
        p += sprintf(p, "%s\"K-%d\"", i ? ", " : "", i);
    }

    p += sprintf(p, "]}, \"features\": {");

    for (i = 0; i < 40; i++) {
        p += sprintf(p, "%s\"f%d\": %d", i ? ", " : "", i, i);
    }

    sprintf(p, "}}");

    VPT_CHECK(fast_takes(buf));
}


VPT_TEST(what_the_fast_path_declines)
{
    char  deep[200];
    int   i;

    /* NUL, control bytes, escapes and bytes jansson refuses */
    check_declined("{\"x\": \"\\u0000\"}");
    check_declined("{\"device\": \"a\\u0000b\"}");
    check_declined("{\"device\": \"a\tb\"}");
    check_declined("{\"device\": \"a\\xb\"}");
    check_declined("{\"device\": \"a\\u12\"}");
    check_declined("{\"device\": \"a\\u12g4\"}");
    check_declined("{\"device\": \"a\\\"}");
    check_declined("{\"device\": \"\\ud83d\"}");
    check_declined("{\"device\": \"\\ud83dx\"}");
    check_declined("{\"device\": \"\\ud83d\\u0041\"}");
    check_declined("{\"device\": \"\\ude00\"}");
    check_declined("{\"device\": \"caf\xe9\"}");
    check_declined("{\"device\": \"\xc0\xaf\"}");
    check_declined("{\"device\": \"\xe0\x80\xaf\"}");
    check_declined("{\"device\": \"\xed\xa0\x80\"}");
    check_declined("{\"device\": \"\xf4\x90\x80\x80\"}");
    check_declined("{\"device\": \"\xf5\x80\x80\x80\"}");
    check_declined("{\"device\": \"\xe2\x82\"}");
    check_declined("{\"device\": \"\x80\"}");

    /* repeated names the ranker reads */
    check_declined("{\"device\": \"a\", \"device\": \"b\"}");
    check_declined("{\"user\": {\"id\": \"a\", \"id\": \"b\"}}");
    check_declined("{\"cart\": [{\"qty\": 1, \"qty\": 2}]}");
    check_declined("{\"features\": {\"a\": 1, \"b\": 2, \"a\": 3}}");

    /* numbers */
    check_declined("{\"user\": {\"orders\": 1e400}}");
    check_declined("{\"user\": {\"orders\": 1e-400}}");
    check_declined("{\"user\": {\"orders\": 01}}");
    check_declined("{\"user\": {\"orders\": 1.}}");
    check_declined("{\"user\": {\"orders\": .5}}");
    check_declined("{\"user\": {\"orders\": -}}");
    check_declined("{\"user\": {\"orders\": +1}}");
    check_declined("{\"user\": {\"orders\": 1e}}");
    check_declined("{\"user\": {\"orders\": NaN}}");

    /* not JSON, or not an object */
    check_declined("");
    check_declined("[]");
    check_declined("\"x\"");
    check_declined("{");
    check_declined("{\"a\"}");
    check_declined("{\"a\": }");
    check_declined("{\"a\": 1,}");
    check_declined("{\"a\": [1,]}");
    check_declined("{\"a\": tru}");
    check_declined("{\"a\": 1} x");
    check_declined("{\"a\": 1}{}");
    check_declined("{a: 1}");
    check_declined("{\"a\" 1}");
    check_declined("{\"a\": 1 \"b\": 2}");

    /* deeper than the fast path goes */
    for (i = 0; i < 40; i++) {
        deep[i] = '[';
    }

    for (i = 40; i < 80; i++) {
        deep[i] = ']';
    }

    memcpy(deep, "{\"x\":", 5);
    deep[79] = '}';
    deep[80] = '\0';
    check_declined(deep);
}


VPT_TEST(a_short_arena_is_declined)
{
    int            rc;
    const char    *json = "{\"device\": \"mobile\"}";
    vpt_context_t  ctx;

    rc = vpt_context_parse_fast(&ctx, json, strlen(json), arena_fast,
                                strlen(json) - 1);
    VPT_CHECK(rc == VPT_DECLINED);

    rc = vpt_context_parse_fast(&ctx, json, strlen(json), NULL, 0);
    VPT_CHECK(rc == VPT_DECLINED);
}


/*
 * Random documents from a small grammar that mixes the context's own
 * names with others, values of every type, noise and truncation: every
 * one the fast path takes must agree with jansson, and it must take most
 * of the clean ones.
 */

static uint64_t  gen_state = 42;

static unsigned
gen(unsigned n)
{
    return (unsigned) (vpt_rand_next(&gen_state) % n);
}


static char *
gen_value(char *p, char *end, int depth);

static const char  *gen_names[] = {
    "user", "device", "referrer", "country", "local_hour", "cart", "order",
    "history", "viewed", "intent", "features", "id", "loyalty_member",
    "orders", "lifetime_value", "sku", "category", "price", "qty", "total",
    "currency", "categories", "skus", "x", "", "segment",
    "dev\\u0069ce", "caf\xc3\xa9", "a\\\"b", "\\ud83d\\ude00", "\\u00e9\\n",
    "\xf0\x9f\x98\x80", "\\u0000", "\xe9"
};

#define NNAMES  (sizeof(gen_names) / sizeof(gen_names[0]))


static char *
gen_value(char *p, char *end, int depth)
{
    unsigned  i, n;

    if (end - p < 64) {
        return p + sprintf(p, "0");
    }

    switch (gen(depth > 4 ? 6 : 8)) {
    case 0:
        return p + sprintf(p, "\"%s\"", gen_names[gen(NNAMES)]);
    case 1:
        return p + sprintf(p, "%d", (int) gen(50) - 10);
    case 2:
        return p + sprintf(p, "%d.%02u", (int) gen(30) - 5, gen(100));
    case 3:
        return p + sprintf(p, "%s", gen(2) ? "true" : "false");
    case 4:
        return p + sprintf(p, "null");
    case 5:
        return p + sprintf(p, "%ue%d", gen(9), (int) gen(6) - 3);
    case 6:
        n = gen(5);
        *p++ = '[';
        for (i = 0; i < n; i++) {
            if (i) {
                *p++ = ',';
            }
            p = gen_value(p, end, depth + 1);
        }
        *p++ = ']';
        return p;
    default:
        n = gen(6);
        *p++ = '{';
        for (i = 0; i < n; i++) {
            if (i) {
                p += sprintf(p, gen(2) ? ", " : ",");
            }
            p += sprintf(p, "\"%s\": ", gen_names[gen(NNAMES)]);
            p = gen_value(p, end, depth + 1);
        }
        *p++ = '}';
        return p;
    }
}


VPT_TEST(random_documents_agree_with_jansson)
{
    int       i, taken, clean;
    char      buf[8192], *p;
    size_t    len;
    unsigned  k, n;

    taken = 0;
    clean = 0;

    for (i = 0; i < 20000; i++) {
        p = buf;
        n = gen(8);
        *p++ = '{';

        for (k = 0; k < n; k++) {
            if (k) {
                *p++ = ',';
            }
            p += sprintf(p, "\"%s\":", gen_names[gen(11)]);
            p = gen_value(p, buf + sizeof(buf) - 512, 1);
        }

        *p++ = '}';
        len = p - buf;

        if (i % 4 == 3) {
            /* noise: a byte changed, or the text cut short */
            if (gen(2)) {
                buf[gen(len)] = "{}[],:\"0-e.x \\"[gen(14)];
            } else {
                len = gen(len);
            }

        } else {
            clean++;
        }

        taken += fast_agrees(buf, len);
    }

    /* repeated names are declined: most clean documents have none */
    printf("# the fast path took %d of %d clean documents\n", taken, clean);
    VPT_CHECK_MSG(taken > clean / 2, "fast path took %d of %d", taken,
                  clean);
}


int
main(void)
{
    VPT_RUN(demo_personas_take_the_fast_path);
    VPT_RUN(any_whitespace_between_tokens_takes_the_fast_path);
    VPT_RUN(values_and_types_agree_with_jansson);
    VPT_RUN(escapes_and_utf8_are_decoded_as_jansson_does);
    VPT_RUN(arrays_are_truncated_as_jansson_s_path_does);
    VPT_RUN(what_the_fast_path_declines);
    VPT_RUN(a_short_arena_is_declined);
    VPT_RUN(random_documents_agree_with_jansson);

    return VPT_DONE();
}
