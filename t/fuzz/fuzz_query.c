/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Fuzz entry point for the accept beacon's query string: the input is
 * r->args as nginx hands it to vpt_query_beacon() (any bytes, no NUL).
 * Checked, beyond the sanitizers (the input is an exact-size copy, so a
 * read past its end is an ASan report):
 *
 *   - a second, independent reading of the rules in vpt_query.h (split
 *     first, then classify; decoding written again here) accepts exactly
 *     the same queries, with the same values;
 *   - accepted: d is 16 lowercase hex digits, o and x 1..64 bytes of
 *     [A-Za-z0-9._:-] (x: or absent, with no raw span); each raw span lies
 *     inside the input, decodes to the value, is no shorter than it and at
 *     most three bytes per value byte; decoding a value again changes
 *     nothing; the query rebuilt from the values, plain or with every byte
 *     percent-encoded, parses to the same values; the input with "&&" or
 *     a foreign "&utm=%zz" around it too; with d, o or x appended again,
 *     or "%64=" appended (x twice when it was absent), it is refused;
 *   - refused: the reason is a short line of printable ASCII;
 *   - vpt_query_unescape() of the input into exactly its length never
 *     reports "too long"; when it decodes, the result is the input's
 *     length minus two per '%', is the same in place, is refused one byte
 *     shorter, and every byte of it percent-encoded decodes back to it;
 *     without a '%' it is the input.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc -It/fuzz \
 *       -o build/fuzz/fuzz_query t/fuzz/fuzz_query.c src/vpt_*.c \
 *       -lpcre2-8 -ljansson -lm
 *   build/fuzz/fuzz_query -dict=t/fuzz/query.dict t/fuzz/corpus/query
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_query.h"
#include "fuzz_check.h"


#define NAME_MAX_REF  64


typedef struct {
    int     ok;
    size_t  len[VPT_QUERY_NARGS];
    char    data[VPT_QUERY_NARGS][VPT_QUERY_ID_MAX];
} ref_t;


static const char  names[] = "doxs";   /* VPT_QUERY_D, _O, _X, _S */


static int
ref_hex(unsigned char c)
{
    static const char  digits[] = "0123456789abcdef0123456789ABCDEF";
    const char        *p;

    if (c == '\0' || (p = strchr(digits, c)) == NULL) {
        return -1;
    }

    return (int) ((p - digits) % 16);
}


/* the reference decoder: into out (any size), -1 for a bad escape */
static long
ref_decode(const char *s, size_t len, char *out)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[n++] = s[i];
            continue;
        }

        if (i + 2 >= len || ref_hex(s[i + 1]) < 0 || ref_hex(s[i + 2]) < 0) {
            return -1;
        }

        out[n++] = (char) (ref_hex(s[i + 1]) * 16 + ref_hex(s[i + 2]));
        i += 2;
    }

    return (long) n;
}


static int
ref_is_id(const char *s, size_t len)
{
    size_t  i;

    if (len < 1 || len > VPT_QUERY_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '\0' || strchr("abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789._:-", s[i]) == NULL)
        {
            return 0;
        }
    }

    return 1;
}


static int
ref_is_decision(const char *s, size_t len)
{
    size_t  i;

    if (len != 16) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '\0' || strchr("0123456789abcdef", s[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


/* which of ours a name is, -1 none; *plain: spelled as one byte */
static int
ref_name(const char *s, size_t len, int *plain)
{
    char  a[NAME_MAX_REF], b[NAME_MAX_REF], *p;
    long  n;

    *plain = (len == 1);

    if (len == 0 || len > NAME_MAX_REF) {
        return -1;
    }

    memcpy(a, s, len);
    n = (long) len;

    while (n > 1 && memchr(a, '%', n) != NULL) {
        n = ref_decode(a, (size_t) n, b);
        if (n < 0) {
            return -1;
        }

        memcpy(a, b, (size_t) n);
    }

    if (n != 1 || a[0] == '\0') {
        return -1;
    }

    p = strchr(names, a[0] | 0x20);

    return p ? (int) (p - names) : -1;
}


/* split on '&' first, then judge each parameter, then each value */
static void
ref_parse(const char *q, size_t len, ref_t *r)
{
    int          k, plain;
    long         n;
    char        *out;
    size_t       i, j, eq, nseen[VPT_QUERY_NARGS];
    const char  *val[VPT_QUERY_NARGS];
    size_t       vlen[VPT_QUERY_NARGS];

    memset(r, 0, sizeof(ref_t));
    memset(nseen, 0, sizeof(nseen));
    memset(val, 0, sizeof(val));
    memset(vlen, 0, sizeof(vlen));

    for (i = 0; i <= len; i = j + 1) {
        for (j = i; j < len && q[j] != '&'; j++) {
            /* void */
        }

        for (eq = i; eq < j && q[eq] != '='; eq++) {
            /* void */
        }

        k = ref_name(q + i, eq - i, &plain);
        if (k < 0) {
            continue;
        }

        if (!plain || eq == j || nseen[k]++) {
            return;
        }

        val[k] = q + eq + 1;
        vlen[k] = j - eq - 1;
    }

    if (!nseen[0] || !nseen[1]) {
        return;
    }

    for (k = 0; k < VPT_QUERY_NARGS; k++) {
        if (!nseen[k]) {
            continue;
        }

        out = fuzz_malloc(vlen[k]);
        n = ref_decode(val[k], vlen[k], out);

        if (n < 0 || (k == 0 ? !ref_is_decision(out, (size_t) n)
                             : !ref_is_id(out, (size_t) n)))
        {
            free(out);
            return;
        }

        memcpy(r->data[k], out, (size_t) n);
        r->len[k] = (size_t) n;
        free(out);
    }

    r->ok = 1;
}


static int
parse(vpt_query_beacon_t *q, const char *data, size_t len)
{
    int    rc;
    char  *copy;

    copy = fuzz_malloc(len);
    memcpy(copy, data, len);
    rc = vpt_query_beacon(q, copy, len);
    free(copy);

    return rc;
}


static void
same_values(const vpt_query_beacon_t *a, const vpt_query_beacon_t *b)
{
    int  k;

    for (k = 0; k < VPT_QUERY_NARGS; k++) {
        CHECK(a->arg[k].len == b->arg[k].len);
        CHECK(memcmp(a->arg[k].data, b->arg[k].data, a->arg[k].len) == 0);
    }
}


/* parse(prefix ++ input ++ suffix) */
static int
parse_around(vpt_query_beacon_t *q, const char *prefix, const uint8_t *data,
    size_t size, const char *suffix)
{
    int     rc;
    char   *buf;
    size_t  pl, sl;

    pl = strlen(prefix);
    sl = strlen(suffix);
    buf = fuzz_malloc(pl + size + sl);

    memcpy(buf, prefix, pl);
    if (size) {
        memcpy(buf + pl, data, size);
    }
    memcpy(buf + pl + size, suffix, sl);

    rc = vpt_query_beacon(q, buf, pl + size + sl);
    free(buf);

    return rc;
}


/* "d=..&o=..[&x=..]" from the values, each byte as %XX when encode */
static void
check_rebuilt(const vpt_query_beacon_t *q, int encode)
{
    int                  k;
    char                *buf, *p;
    size_t               i;
    vpt_query_beacon_t   again;
    static const char    hex[] = "0123456789ABCDEF";

    buf = fuzz_malloc(3 * (VPT_QUERY_NARGS * (VPT_QUERY_ID_MAX + 3)));
    p = buf;

    for (k = 0; k < VPT_QUERY_NARGS; k++) {
        if (q->arg[k].len == 0) {
            continue;
        }

        if (p != buf) {
            *p++ = '&';
        }

        *p++ = names[k];
        *p++ = '=';

        for (i = 0; i < q->arg[k].len; i++) {
            if (encode) {
                *p++ = '%';
                *p++ = hex[(unsigned char) q->arg[k].data[i] >> 4];
                *p++ = hex[(unsigned char) q->arg[k].data[i] & 0xf];

            } else {
                *p++ = q->arg[k].data[i];
            }
        }
    }

    CHECK(parse(&again, buf, (size_t) (p - buf)) == VPT_OK);
    same_values(q, &again);

    free(buf);
}


static void
check_accepted(const vpt_query_beacon_t *q, const uint8_t *data, size_t size)
{
    int                       k;
    char                      tmp[VPT_QUERY_ID_MAX];
    size_t                    n;
    const vpt_query_arg_t    *a;
    vpt_query_beacon_t        other;
    static const char *const  again[] = { "&d=0123456789abcdef", "&O=x",
                                          "&x=a&X=a", "&s=a&S=a" };

    CHECK(vpt_query_is_decision(q->arg[VPT_QUERY_D].data,
                                q->arg[VPT_QUERY_D].len));
    CHECK(vpt_query_is_id(q->arg[VPT_QUERY_O].data, q->arg[VPT_QUERY_O].len));
    CHECK(q->arg[VPT_QUERY_X].raw.data != NULL
          || q->arg[VPT_QUERY_X].len == 0);
    CHECK(q->arg[VPT_QUERY_X].raw.data == NULL
          || vpt_query_is_id(q->arg[VPT_QUERY_X].data,
                             q->arg[VPT_QUERY_X].len));

    for (k = 0; k < VPT_QUERY_NARGS; k++) {
        a = &q->arg[k];

        if (a->raw.data == NULL) {
            continue;
        }

        CHECK(a->raw.data >= (const char *) data
              && a->raw.len <= size
              && (size_t) (a->raw.data - (const char *) data)
                 <= size - a->raw.len);
        CHECK(a->raw.len >= a->len && a->raw.len <= 3 * a->len);

        CHECK(vpt_query_unescape(tmp, sizeof(tmp), a->raw.data, a->raw.len,
                                 &n) == VPT_OK);
        CHECK(n == a->len && memcmp(tmp, a->data, n) == 0);

        /* no '%' left: a second decoder sees what we saw */
        CHECK(memchr(a->data, '%', a->len) == NULL);
        CHECK(vpt_query_unescape(tmp, sizeof(tmp), a->data, a->len, &n)
              == VPT_OK);
        CHECK(n == a->len && memcmp(tmp, a->data, n) == 0);
    }

    check_rebuilt(q, 0);
    check_rebuilt(q, 1);

    CHECK(parse_around(&other, "&&", data, size, "&&") == VPT_OK);
    same_values(q, &other);

    CHECK(parse_around(&other, "utm=%zz&", data, size, "&=%&utm") == VPT_OK);
    same_values(q, &other);

    for (k = 0; k < VPT_QUERY_NARGS; k++) {
        CHECK(parse_around(&other, "", data, size, again[k]) == VPT_ERROR);
    }

    CHECK(parse_around(&other, "", data, size, "&%64=0") == VPT_ERROR);
    CHECK(parse_around(&other, "%2578=a&", data, size, "") == VPT_ERROR);
}


static void
check_unescape(const uint8_t *data, size_t size)
{
    int                rc, rc2;
    char              *out, *inplace, *enc;
    size_t             i, n, n2, pct;
    static const char  hex[] = "0123456789abcdef";

    out = fuzz_malloc(size);
    rc = vpt_query_unescape(out, size, (const char *) data, size, &n);
    CHECK(rc == VPT_OK || rc == VPT_QUERY_BAD_ESCAPE);

    pct = 0;
    for (i = 0; i < size; i++) {
        pct += (data[i] == '%');
    }

    if (pct == 0) {
        CHECK(rc == VPT_OK && n == size);
        CHECK(size == 0 || memcmp(out, data, size) == 0);
    }

    if (rc != VPT_OK) {
        free(out);
        return;
    }

    CHECK(n == size - 2 * pct);

    inplace = fuzz_malloc(size);
    if (size) {
        memcpy(inplace, data, size);
    }
    CHECK(vpt_query_unescape(inplace, size, inplace, size, &n2) == VPT_OK);
    CHECK(n2 == n && (n == 0 || memcmp(inplace, out, n) == 0));

    if (n > 0) {
        rc2 = vpt_query_unescape(inplace, n - 1, (const char *) data, size,
                                 &n2);
        CHECK(rc2 == VPT_QUERY_TOO_LONG);
    }

    free(inplace);

    enc = fuzz_malloc(3 * n);
    for (i = 0; i < n; i++) {
        enc[3 * i] = '%';
        enc[3 * i + 1] = hex[(unsigned char) out[i] >> 4];
        enc[3 * i + 2] = hex[(unsigned char) out[i] & 0xf];
    }

    inplace = fuzz_malloc(n);
    CHECK(vpt_query_unescape(inplace, n, enc, 3 * n, &n2) == VPT_OK);
    CHECK(n2 == n && (n == 0 || memcmp(inplace, out, n) == 0));

    free(inplace);
    free(enc);
    free(out);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  k, rc;
    char                *copy;
    size_t               i, wl;
    ref_t                ref;
    vpt_query_beacon_t   q, q2;

    copy = fuzz_malloc(size);
    if (size) {
        memcpy(copy, data, size);
    }

    rc = vpt_query_beacon(&q, copy, size);
    CHECK(rc == VPT_OK || rc == VPT_ERROR);

    /* the same answer twice: nothing depends on what came before */
    CHECK(vpt_query_beacon(&q2, copy, size) == rc);

    ref_parse(copy, size, &ref);

    if (ref.ok != (rc == VPT_OK)) {
        fprintf(stderr, "vpt_query_beacon %s, the reference %s (%s)\n",
                rc == VPT_OK ? "accepts" : "refuses",
                ref.ok ? "accepts" : "refuses", q.why);
    }

    CHECK(ref.ok == (rc == VPT_OK));

    if (rc == VPT_OK) {
        same_values(&q, &q2);

        for (k = 0; k < VPT_QUERY_NARGS; k++) {
            CHECK(ref.len[k] == q.arg[k].len);
            CHECK(memcmp(ref.data[k], q.arg[k].data, ref.len[k]) == 0);
        }

        check_accepted(&q, (const uint8_t *) copy, size);

    } else {
        wl = strlen(q.why);
        CHECK(wl > 0 && wl < sizeof(q.why));
        CHECK(strcmp(q.why, q2.why) == 0);

        for (i = 0; i < wl; i++) {
            CHECK(q.why[i] >= 0x20 && q.why[i] < 0x7f);
        }
    }

    check_unescape((const uint8_t *) copy, size);

    free(copy);

    return 0;
}
