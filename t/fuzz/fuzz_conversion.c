/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Fuzz entry point for the realized value's parser: the input is the body
 * or query string vpt_conversion hands to vpt_query_conversion() (any
 * bytes).  Checked, beyond the sanitizers (the input is an exact-size
 * copy, so a read past its end is an ASan report):
 *
 *   - a second, independent reading of the rules in vpt_query.h (split on
 *     '&', then each part judged apart; the amount read by strtod() once
 *     its grammar is checked) accepts exactly the same inputs, with the
 *     same decision, amount and currency;
 *   - the same answer twice;
 *   - accepted: d is 16 lowercase hex digits, the amount a finite number
 *     from 0 to VPT_QUERY_AMOUNT_MAX, the currency absent or three
 *     uppercase letters; the input with "&x=1" or "&&" around it too;
 *     with its own "&d=", "&v=" or "&c=" part appended again, refused;
 *   - refused: the reason is a short line of printable ASCII.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc -It/fuzz \
 *       -o build/fuzz/fuzz_conversion t/fuzz/fuzz_conversion.c \
 *       src/vpt_*.c -lpcre2-8 -ljansson -lcrypto -lm
 *   build/fuzz/fuzz_conversion -dict=t/fuzz/conversion.dict \
 *       t/fuzz/corpus/conversion
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_query.h"
#include "fuzz_check.h"


typedef struct {
    int          ok;
    const char  *d;
    double       v;
    const char  *c;         /* NULL: absent */
    const char  *dpart;     /* "d=...", for appending again */
    size_t       dlen;
    const char  *vpart;
    size_t       vlen;
    const char  *cpart;
    size_t       clen;
} ref_t;


static int
ref_amount(const char *s, size_t n, double *v)
{
    char    buf[32];
    size_t  i, dot, frac;

    /* digits, then optionally '.' and 1 to 6 digits; 16 bytes at most */
    if (n == 0 || n > 16 || s[0] < '0' || s[0] > '9') {
        return 0;
    }

    dot = n;

    for (i = 0; i < n; i++) {
        if (s[i] == '.' && dot == n) {
            dot = i;

        } else if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    frac = (dot == n) ? 0 : n - dot - 1;

    if (dot != n && (frac == 0 || frac > 6)) {
        return 0;
    }

    memcpy(buf, s, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);

    return *v <= VPT_QUERY_AMOUNT_MAX;
}


static void
ref_parse(const char *q, size_t len, ref_t *r)
{
    size_t       start, end, i, n;
    const char  *val, *amp;

    memset(r, 0, sizeof(ref_t));

    for (start = 0; start <= len; start = end + 1) {
        amp = (start < len) ? memchr(q + start, '&', len - start) : NULL;
        end = amp ? (size_t) (amp - q) : len;

        if (end - start < 2 || q[start + 1] != '=') {
            continue;
        }

        val = q + start + 2;
        n = end - start - 2;

        if (q[start] == 'd') {
            if (r->d != NULL || n != 16) {
                return;
            }

            for (i = 0; i < n; i++) {
                if (!((val[i] >= '0' && val[i] <= '9')
                      || (val[i] >= 'a' && val[i] <= 'f')))
                {
                    return;
                }
            }

            r->d = val;
            r->dpart = q + start;
            r->dlen = n + 2;

        } else if (q[start] == 'v') {
            if (r->vpart != NULL || !ref_amount(val, n, &r->v)) {
                return;
            }

            r->vpart = q + start;
            r->vlen = n + 2;

        } else if (q[start] == 'c') {
            if (r->c != NULL || n != 3) {
                return;
            }

            for (i = 0; i < 3; i++) {
                if (val[i] < 'A' || val[i] > 'Z') {
                    return;
                }
            }

            r->c = val;
            r->cpart = q + start;
            r->clen = n + 2;
        }
    }

    r->ok = (r->d != NULL && r->vpart != NULL);
}


static int
parse_with(const char *pre, const char *q, size_t len, const char *post,
    size_t postlen, vpt_query_conversion_t *c)
{
    int     rc;
    char   *s;
    size_t  n, p;

    p = strlen(pre);
    n = p + len + postlen;
    s = fuzz_malloc(n);
    memcpy(s, pre, p);
    memcpy(s + p, q, len);
    memcpy(s + p + len, post, postlen);

    rc = vpt_query_conversion(c, s, n);
    free(s);

    return rc;
}


static void
check_why(const vpt_query_conversion_t *c)
{
    size_t  i, n;

    n = strnlen(c->why, sizeof(c->why));
    CHECK(n > 0 && n < sizeof(c->why));

    for (i = 0; i < n; i++) {
        CHECK(c->why[i] >= 0x20 && c->why[i] < 0x7f);
    }
}


static void
same(const vpt_query_conversion_t *a, const vpt_query_conversion_t *b)
{
    CHECK(a->decision_len == b->decision_len);
    CHECK(memcmp(a->decision, b->decision, a->decision_len) == 0);
    CHECK(a->value == b->value);
    CHECK(a->currency_len == b->currency_len);
    CHECK(memcmp(a->currency, b->currency, a->currency_len) == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      rc;
    char                    *copy, *twice;
    size_t                   i;
    ref_t                    ref;
    vpt_query_conversion_t   c, c2;

    copy = fuzz_malloc(size);
    if (size) {
        memcpy(copy, data, size);
    }

    rc = vpt_query_conversion(&c, copy, size);
    CHECK(rc == VPT_OK || rc == VPT_ERROR);
    CHECK(vpt_query_conversion(&c2, copy, size) == rc);

    ref_parse(copy, size, &ref);

    if (ref.ok != (rc == VPT_OK)) {
        fprintf(stderr, "vpt_query_conversion %s, the reference %s (%s)\n",
                rc == VPT_OK ? "accepts" : "refuses",
                ref.ok ? "accepts" : "refuses", c.why);
    }

    CHECK(ref.ok == (rc == VPT_OK));

    if (rc != VPT_OK) {
        check_why(&c);
        free(copy);
        return 0;
    }

    same(&c, &c2);

    /* what was accepted is what the rules allow */
    CHECK(c.decision_len == 16 && vpt_query_is_decision(c.decision, 16));
    CHECK(memcmp(c.decision, ref.d, 16) == 0);
    CHECK(isfinite(c.value) && c.value >= 0
          && c.value <= VPT_QUERY_AMOUNT_MAX);
    CHECK(fabs(c.value - ref.v) <= 1e-9 * (1 + ref.v));
    CHECK(c.currency_len == (ref.c ? 3 : 0));

    for (i = 0; i < c.currency_len; i++) {
        CHECK(c.currency[i] >= 'A' && c.currency[i] <= 'Z'
              && c.currency[i] == ref.c[i]);
    }

    /* other parameters and empty parts around it change nothing */
    CHECK(parse_with("x=1&&", copy, size, "&&utm=%zz", 9, &c2) == VPT_OK);
    same(&c, &c2);

    /* a part of ours twice is refused */
    CHECK(parse_with("", copy, size, "&", 1, &c2) == VPT_OK);

    twice = fuzz_malloc(ref.dlen + 1);
    twice[0] = '&';
    memcpy(twice + 1, ref.dpart, ref.dlen);
    CHECK(parse_with("", copy, size, twice, ref.dlen + 1, &c2) == VPT_ERROR);
    free(twice);

    twice = fuzz_malloc(ref.vlen + 1);
    twice[0] = '&';
    memcpy(twice + 1, ref.vpart, ref.vlen);
    CHECK(parse_with("", copy, size, twice, ref.vlen + 1, &c2) == VPT_ERROR);
    free(twice);

    if (ref.c) {
        twice = fuzz_malloc(ref.clen + 1);
        twice[0] = '&';
        memcpy(twice + 1, ref.cpart, ref.clen);
        CHECK(parse_with("", copy, size, twice, ref.clen + 1, &c2)
              == VPT_ERROR);
        free(twice);
    }

    free(copy);

    return 0;
}
