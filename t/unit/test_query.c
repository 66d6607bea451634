/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The accept beacon's query string: what is accepted, and every way of
 * abusing percent-encoding, names and repetition that must be refused.
 * Each query is parsed from an exact-size heap copy without a NUL, so
 * ASan sees any read past its end.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_query.h"


#define D   "0123456789abcdef"


static vpt_query_beacon_t  q;


static int
parse_len(const char *s, size_t len)
{
    int    rc;
    char  *copy;

    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        abort();
    }

    if (len) {
        memcpy(copy, s, len);
    }

    rc = vpt_query_beacon(&q, len ? copy : NULL, len);
    free(copy);

    /* the raw spans pointed into the freed copy: forget them */
    q.arg[0].raw.data = q.arg[1].raw.data = q.arg[2].raw.data = NULL;

    return rc;
}


static int
parse(const char *s)
{
    return parse_len(s, strlen(s));
}


#define CHECK_ACCEPT(query, d, o, x)                                        \
    do {                                                                    \
        VPT_CHECK_MSG(parse(query) == VPT_OK, "\"%s\": %s", query, q.why);  \
        VPT_CHECK_STR(q.arg[VPT_QUERY_D].data, q.arg[VPT_QUERY_D].len, d);  \
        VPT_CHECK_STR(q.arg[VPT_QUERY_O].data, q.arg[VPT_QUERY_O].len, o);  \
        VPT_CHECK_STR(q.arg[VPT_QUERY_X].data, q.arg[VPT_QUERY_X].len, x);  \
    } while (0)

#define CHECK_REFUSE(query, reason)                                         \
    do {                                                                    \
        VPT_CHECK_MSG(parse(query) == VPT_ERROR, "\"%s\" accepted", query); \
        VPT_CHECK_MSG(strstr(q.why, reason) != NULL,                        \
                      "\"%s\": why \"%s\", want \"%s\"", query, q.why,      \
                      reason);                                              \
    } while (0)


VPT_TEST(accepts_decision_and_offer)
{
    CHECK_ACCEPT("d=" D "&o=best", D, "best", "");
    CHECK_ACCEPT("d=" D "&o=best&x=exp-1", D, "best", "exp-1");
    CHECK_ACCEPT("x=e.1_b:c-D&o=Ops:third.v2_x-y&d=" D, D,
                 "Ops:third.v2_x-y", "e.1_b:c-D");
}


VPT_TEST(names_in_either_case_as_arg_variables_match_them)
{
    CHECK_ACCEPT("D=" D "&O=best&X=e", D, "best", "e");
}


VPT_TEST(foreign_and_empty_parameters_are_ignored)
{
    CHECK_ACCEPT("&&&utm_source=mail&&d=" D "&&o=best&", D, "best", "");
    CHECK_ACCEPT("=&=d&=" D "&d=" D "&o=best", D, "best", "");
    CHECK_ACCEPT("dd=1&od=2&xo&%41=1&a%5B%5D=2&d=" D "&o=best", D, "best",
                 "");
    CHECK_ACCEPT("d=" D "&o=best&cb=%zz%&=", D, "best", "");
}


VPT_TEST(percent_encoded_value_is_decoded_once_then_validated)
{
    CHECK_ACCEPT("d=" D "&o=ops%3Athird", D, "ops:third", "");
    CHECK_ACCEPT("d=" D "&o=ops%3athird", D, "ops:third", "");
    CHECK_ACCEPT("d=%30%31%32%33456789abcdef&o=%62%65%73%74&x=%65", D,
                 "best", "e");

    /* decoded, the id holds a byte outside the grammar */
    CHECK_REFUSE("d=" D "&o=best%20", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=a%22b", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=a%26x%3D1", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=best&x=%3Cb%3E", "\"x\" is not");
    CHECK_REFUSE("d=" D "&o=%C3%A9t%C3%A9", "\"o\" is not");
}


VPT_TEST(nul_byte_encoded_or_raw_is_refused)
{
    CHECK_REFUSE("d=" D "&o=best%00", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=%00best", "\"o\" is not");
    CHECK_REFUSE("d=0123456789abcde%00&o=best", "\"d\" is not");

    VPT_CHECK(parse_len("d=" D "&o=be\0st", sizeof("d=" D "&o=be\0st") - 1)
              == VPT_ERROR);
}


VPT_TEST(bad_escapes_are_refused_not_guessed)
{
    static const char  *bad[] = {
        "%", "%4", "%zz", "%4z", "%z4", "%%41", "best%", "best%4", "%g0",
        "be%-1st", "%+1"
    };
    char                 query[128];
    size_t               i, k;
    static const char   *fmt[] = {
        "d=%s&o=best", "d=" D "&o=%s", "d=" D "&o=best&x=%s"
    };
    static const char   *why[] = {
        "\"d\" has a \"%\"", "\"o\" has a \"%\"", "\"x\" has a \"%\""
    };

    for (k = 0; k < 3; k++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            snprintf(query, sizeof(query), fmt[k], bad[i]);
            CHECK_REFUSE(query, why[k]);
        }
    }

    /* the bad escape ends the query: nothing past len is looked at */
    VPT_CHECK(parse_len("d=" D "&o=best%41", sizeof("d=" D "&o=best%4") - 1)
              == VPT_ERROR);
    VPT_CHECK(parse_len("d=" D "&o=best%", sizeof("d=" D "&o=best%") - 1)
              == VPT_ERROR);
}


VPT_TEST(double_encoding_is_refused)
{
    /* "%25%32%35" decodes to "%25": a second decoder would see "%" */
    CHECK_REFUSE("d=" D "&o=%25%32%35", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=best%2541", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=%2562est", "\"o\" is not");
    CHECK_REFUSE("d=%25" D "&o=best", "\"d\" is not");
    CHECK_REFUSE("d=" D "&o=best&x=%2565", "\"x\" is not");
}


VPT_TEST(plus_is_not_a_space_and_not_an_id_byte)
{
    CHECK_REFUSE("d=" D "&o=best+", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=a+b", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=best&x=a%2Bb", "\"x\" is not");
}


VPT_TEST(repeated_names_are_refused_even_with_the_same_value)
{
    CHECK_REFUSE("d=" D "&o=best&d=" D, "\"d\" is repeated");
    CHECK_REFUSE("d=" D "&o=best&o=best", "\"o\" is repeated");
    CHECK_REFUSE("d=" D "&o=best&o=second", "\"o\" is repeated");
    CHECK_REFUSE("d=" D "&o=best&x=a&x=b", "\"x\" is repeated");
    CHECK_REFUSE("d=" D "&o=best&D=" D, "\"d\" is repeated");
    CHECK_REFUSE("d=" D "&o=best&O=best", "\"o\" is repeated");
    CHECK_REFUSE("d=" D "&o=best&x=&x=a", "\"x\" is repeated");
}


VPT_TEST(our_name_without_equals_is_refused)
{
    CHECK_REFUSE("d&d=" D "&o=best", "\"d\" has no \"=\"");
    CHECK_REFUSE("d=" D "&o", "\"o\" has no \"=\"");
    CHECK_REFUSE("d=" D "&o=best&x", "\"x\" has no \"=\"");
    CHECK_REFUSE("d=" D "&o=best&X&", "\"x\" has no \"=\"");
}


VPT_TEST(encoded_names_of_ours_are_refused)
{
    CHECK_REFUSE("%64=" D "&o=best", "percent-encodes \"d\"");
    CHECK_REFUSE("d=" D "&%6F=best", "percent-encodes \"o\"");
    CHECK_REFUSE("d=" D "&%4f=best", "percent-encodes \"o\"");
    CHECK_REFUSE("d=" D "&o=best&%58=e", "percent-encodes \"x\"");
    CHECK_REFUSE("d=" D "&o=best&%2578=e", "percent-encodes \"x\"");
    CHECK_REFUSE("d=" D "&o=best&%25%37%38=e", "percent-encodes \"x\"");
    CHECK_REFUSE("d=" D "&o=best&%252578=e", "percent-encodes \"x\"");
    CHECK_REFUSE("%64&d=" D "&o=best", "percent-encodes \"d\"");

    /* decodes to something else, or not at all: foreign */
    CHECK_ACCEPT("%64%64=1&%6=1&%2=1&%25=1&%64%=1&d=" D "&o=best", D, "best",
                 "");
}


VPT_TEST(missing_or_empty_values_are_refused)
{
    CHECK_REFUSE("", "\"d\" is missing");
    VPT_CHECK(parse_len(NULL, 0) == VPT_ERROR);
    CHECK_REFUSE("&&&", "\"d\" is missing");
    CHECK_REFUSE("o=best", "\"d\" is missing");
    CHECK_REFUSE("d=" D, "\"o\" is missing");
    CHECK_REFUSE("d=&o=best", "\"d\" is not");
    CHECK_REFUSE("d=" D "&o=", "\"o\" is not");
    CHECK_REFUSE("d=" D "&o=best&x=", "\"x\" is not");
}


VPT_TEST(decision_is_16_lowercase_hex_digits)
{
    CHECK_REFUSE("d=0123456789ABCDEF&o=best", "\"d\" is not 16 lowercase");
    CHECK_REFUSE("d=0123456789abcdeg&o=best", "\"d\" is not");
    CHECK_REFUSE("d=0123456789abcde&o=best", "\"d\" is not");
    CHECK_REFUSE("d=0123456789abcdef0&o=best", "\"d\" is not");
    CHECK_REFUSE("d=0123456789abcdef;o=best", "\"d\" is not");
    CHECK_REFUSE("d=0123456789abcdef=&o=best", "\"d\" is not");
}


VPT_TEST(every_byte_of_an_id_outside_the_grammar_is_refused)
{
    int     c, want;
    char    query[64];
    size_t  n;

    for (c = 0; c < 256; c++) {
        n = (size_t) snprintf(query, sizeof(query), "d=" D "&o=a%%%02Xb", c);

        want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
               || (c >= 'A' && c <= 'Z')
               || c == '.' || c == '_' || c == ':' || c == '-';

        VPT_CHECK_MSG((parse_len(query, n) == VPT_OK) == want, "byte 0x%02x",
                      c);

        /* raw, the same verdict unless it is a separator or an escape */
        if (c == '&' || c == '%') {
            continue;
        }

        n = (size_t) snprintf(query, sizeof(query), "d=" D "&o=a");
        query[n++] = (char) c;
        query[n++] = 'b';

        VPT_CHECK_MSG((parse_len(query, n) == VPT_OK) == want,
                      "raw byte 0x%02x", c);
    }
}


VPT_TEST(ids_up_to_64_bytes_raw_or_encoded)
{
    char    query[1024], *p;
    size_t  i;

    p = query + sprintf(query, "d=" D "&o=");
    memset(p, 'a', 64);
    p[64] = '\0';
    VPT_CHECK(parse(query) == VPT_OK);
    VPT_CHECK(q.arg[VPT_QUERY_O].len == 64);

    p[64] = 'a';
    p[65] = '\0';
    CHECK_REFUSE(query, "\"o\" is not 1 to 64 bytes");

    /* 64 bytes, each as %61: 192 raw bytes decode to an id that fits */
    for (i = 0; i < 64; i++) {
        memcpy(p + 3 * i, "%61", 3);
    }

    p[3 * 64] = '\0';
    VPT_CHECK(parse(query) == VPT_OK);
    VPT_CHECK(q.arg[VPT_QUERY_O].len == 64);

    memcpy(p + 3 * 64, "%61", 4);
    CHECK_REFUSE(query, "\"o\" is not 1 to 64 bytes");

    p = query + sprintf(query, "d=" D "&o=best&x=");
    memset(p, 'x', 65);
    p[65] = '\0';
    CHECK_REFUSE(query, "\"x\" is not 1 to 64 bytes");
}


VPT_TEST(very_long_queries_and_values)
{
    char    *query;
    size_t   n, len;

    /* a 1 MB value of o */

    len = 1 << 20;
    query = malloc(len + 64);
    if (query == NULL) {
        abort();
    }

    n = (size_t) sprintf(query, "d=" D "&o=");
    memset(query + n, 'a', len);
    VPT_CHECK(parse_len(query, n + len) == VPT_ERROR);
    VPT_CHECK(strstr(q.why, "\"o\" is not") != NULL);

    /* 1 MB of '&' and foreign parameters, then ours */

    memset(query, '&', len);
    memcpy(query + 1000, "utm=%zz", 7);
    memcpy(query + 5000, "=", 1);
    n = len + (size_t) sprintf(query + len, "d=" D "&o=best");
    VPT_CHECK(parse_len(query, n) == VPT_OK);

    /* 1 MB of one foreign name */

    memset(query, '%', len);
    n = len + (size_t) sprintf(query + len, "&d=" D "&o=best");
    VPT_CHECK(parse_len(query, n) == VPT_OK);

    free(query);
}


VPT_TEST(only_len_bytes_are_read)
{
    static const char  s[] = "d=" D "&o=bestXYZ&d=1";

    VPT_CHECK(parse_len(s, sizeof("d=" D "&o=best") - 1) == VPT_OK);
    VPT_CHECK_STR(q.arg[VPT_QUERY_O].data, q.arg[VPT_QUERY_O].len, "best");
}


VPT_TEST(why_names_the_argument_and_quotes_nothing_of_the_query)
{
    VPT_CHECK(parse("d=" D "&o=%0d%0aSet-Cookie:x") == VPT_ERROR);
    VPT_CHECK(strchr(q.why, '\r') == NULL && strchr(q.why, '\n') == NULL);
    VPT_CHECK(strstr(q.why, "Set-Cookie") == NULL);
    VPT_CHECK(strlen(q.why) < sizeof(q.why));
}


VPT_TEST(raw_spans_point_into_the_query)
{
    static const char  s[] = "x=e%31&d=" D "&o=best";

    VPT_CHECK(vpt_query_beacon(&q, s, sizeof(s) - 1) == VPT_OK);
    VPT_CHECK(q.arg[VPT_QUERY_X].raw.data == s + 2);
    VPT_CHECK(q.arg[VPT_QUERY_X].raw.len == 4);
    VPT_CHECK_STR(q.arg[VPT_QUERY_X].data, q.arg[VPT_QUERY_X].len, "e1");
    VPT_CHECK(q.arg[VPT_QUERY_D].raw.data == s + 9);
    VPT_CHECK(q.arg[VPT_QUERY_O].raw.data == s + sizeof(s) - 5);

    VPT_CHECK(vpt_query_beacon(&q, "d=" D "&o=best",
                               sizeof("d=" D "&o=best") - 1) == VPT_OK);
    VPT_CHECK(q.arg[VPT_QUERY_X].raw.data == NULL);
    VPT_CHECK(q.arg[VPT_QUERY_X].len == 0);
}


VPT_TEST(unescape_never_grows_and_works_in_place)
{
    char    buf[32];
    size_t  n;

    memcpy(buf, "a%41%62c%2525", 13);
    VPT_CHECK(vpt_query_unescape(buf, sizeof(buf), buf, 13, &n) == VPT_OK);
    VPT_CHECK_STR(buf, n, "aAbc%25");

    VPT_CHECK(vpt_query_unescape(buf, 3, "abcd", 4, &n)
              == VPT_QUERY_TOO_LONG);
    VPT_CHECK(vpt_query_unescape(buf, 4, "abcd", 4, &n) == VPT_OK);
    VPT_CHECK(vpt_query_unescape(buf, 1, "%41", 3, &n) == VPT_OK && n == 1);
    VPT_CHECK(vpt_query_unescape(buf, 0, "", 0, &n) == VPT_OK && n == 0);
    VPT_CHECK(vpt_query_unescape(buf, 8, "%4", 2, &n)
              == VPT_QUERY_BAD_ESCAPE);
    VPT_CHECK(vpt_query_unescape(buf, 8, "%", 1, &n)
              == VPT_QUERY_BAD_ESCAPE);
    VPT_CHECK(vpt_query_unescape(buf, 8, "%00", 3, &n) == VPT_OK
              && n == 1 && buf[0] == '\0');
    VPT_CHECK(vpt_query_unescape(buf, 8, "a+b", 3, &n) == VPT_OK);
    VPT_CHECK_STR(buf, n, "a+b");
}


VPT_TEST(result_may_be_copied)
{
    vpt_query_beacon_t  copy;

    VPT_CHECK(parse("d=" D "&o=best&x=e") == VPT_OK);
    copy = q;
    VPT_CHECK(parse("d=" D "&o=second") == VPT_OK);
    VPT_CHECK_STR(copy.arg[VPT_QUERY_O].data, copy.arg[VPT_QUERY_O].len,
                  "best");
    VPT_CHECK_STR(copy.arg[VPT_QUERY_X].data, copy.arg[VPT_QUERY_X].len,
                  "e");
}


int
main(void)
{
    VPT_RUN(accepts_decision_and_offer);
    VPT_RUN(names_in_either_case_as_arg_variables_match_them);
    VPT_RUN(foreign_and_empty_parameters_are_ignored);
    VPT_RUN(percent_encoded_value_is_decoded_once_then_validated);
    VPT_RUN(nul_byte_encoded_or_raw_is_refused);
    VPT_RUN(bad_escapes_are_refused_not_guessed);
    VPT_RUN(double_encoding_is_refused);
    VPT_RUN(plus_is_not_a_space_and_not_an_id_byte);
    VPT_RUN(repeated_names_are_refused_even_with_the_same_value);
    VPT_RUN(our_name_without_equals_is_refused);
    VPT_RUN(encoded_names_of_ours_are_refused);
    VPT_RUN(missing_or_empty_values_are_refused);
    VPT_RUN(decision_is_16_lowercase_hex_digits);
    VPT_RUN(every_byte_of_an_id_outside_the_grammar_is_refused);
    VPT_RUN(ids_up_to_64_bytes_raw_or_encoded);
    VPT_RUN(very_long_queries_and_values);
    VPT_RUN(only_len_bytes_are_read);
    VPT_RUN(why_names_the_argument_and_quotes_nothing_of_the_query);
    VPT_RUN(raw_spans_point_into_the_query);
    VPT_RUN(unescape_never_grows_and_works_in_place);
    VPT_RUN(result_may_be_copied);

    return VPT_DONE();
}
