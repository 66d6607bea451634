/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for the structural scanner (vpt_scan.h) against
 * the exact tokenizer (vpt_html.h) and the WHATWG reference
 * (t/unit/whatwg_ref.h).  The first byte picks two anchors (one set, of
 * one anchor when both are the same), the next eight seed the buffering
 * (one byte a buffer when the seed is even), the rest is the body.
 * Checks:
 *
 *   - the set stops at the first start where the reference reads any of
 *     its anchors in the data state, and says which are there, fed as the
 *     splicer feeds (after a partial match its bytes come again with the
 *     next buffer; at the end, held bytes are compared as they are), and
 *     never elsewhere;
 *   - without an anchor, after every buffer the scanner's tokenizer is in
 *     the state the exact tokenizer reaches on the same bytes;
 *   - nothing is read beyond a buffer (ASan), whatever the bytes.
 *
 *   t/fuzz/run 60 scan
 */

#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "vpt_scan.h"
#include "../unit/whatwg_ref.h"


static const char  *anchors[] = {
    "</body>", "<h2", "<", "</p>", "<a b", "<div class=\"offer\">",
    "</BODY", "<!--"
};

#define NANCHORS  (sizeof(anchors) / sizeof(anchors[0]))


static long
ref_find(const unsigned char *body, size_t len, const unsigned char *data,
    const unsigned char *lit, size_t ll)
{
    size_t  i, k;

    for (i = 0; i + ll <= len; i++) {
        for (k = 0; k < ll && r_lower(body[i + k]) == lit[k]; k++) {
            /* void */
        }

        if (k == ll && data[i]) {
            return (long) i;
        }
    }

    return -1;
}


static int
same_state(const vpt_html_t *a, const vpt_html_t *b)
{
    if (vpt_html_at_data(a) || vpt_html_at_data(b)) {
        return vpt_html_at_data(a) && vpt_html_at_data(b);
    }

    return a->state == b->state && a->elem == b->elem && a->esc == b->esc
           && a->dbl == b->dbl;
}


static size_t
next_size(uint64_t *seed, size_t left)
{
    size_t  n;

    n = (*seed & 1) ? 1 + vpt_rand_next(seed) % 300 : 1;

    return (n < left) ? n : left;
}


int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    long                  got, want, at;
    size_t                from, n, held, pos, k, len, ll[2];
    uint64_t              seed, s;
    unsigned              which, want_which, got_which, a, nl;
    vpt_html_t            h, x;
    vpt_scan_e            rc;
    vpt_scan_lits_t       set;
    unsigned char        *buf, *cur, *data, lit[2][32];
    const unsigned char  *body, *litp[2];

    if (size < 9) {
        return 0;
    }

    nl = (in[0] % NANCHORS == (in[0] / NANCHORS) % NANCHORS) ? 1 : 2;

    for (a = 0; a < nl; a++) {
        litp[a] = lit[a];
        ll[a] = strlen(anchors[a ? (in[0] / NANCHORS) % NANCHORS
                                 : in[0] % NANCHORS]);

        for (k = 0; k < ll[a]; k++) {
            lit[a][k] = r_lower((unsigned char) anchors[a ? (in[0] / NANCHORS)
                                % NANCHORS : in[0] % NANCHORS][k]);
        }
    }

    CHECK(vpt_scan_lits_init(&set, litp, ll, nl) == VPT_OK);

    memcpy(&seed, in + 1, 8);
    body = in + 9;
    len = size - 9;

    data = fuzz_malloc(len + 1);
    buf = fuzz_malloc(len + 1);

    ref_tokenize(body, len, data);

    want = -1;
    want_which = 0;

    for (a = 0; a < nl; a++) {
        at = ref_find(body, len, data, lit[a], ll[a]);

        if (at >= 0 && (want < 0 || at < want)) {
            want = at;
            want_which = 0;
        }

        if (at >= 0 && at == want) {
            want_which |= 1u << a;
        }
    }

    /* the anchors, fed as the splicer feeds */

    vpt_html_init(&h);
    got = -1;
    got_which = 0;
    from = 0;
    held = 0;
    s = seed;

    while (from < len) {
        n = next_size(&s, len - from);

        /* held bytes, then the buffer, in memory of exactly that size */
        cur = fuzz_malloc(held + n);
        memcpy(cur, buf, held);
        memcpy(cur + held, body + from, n);
        from += n;
        n += held;

        rc = vpt_scan(&h, cur, n, &set, &pos, &which);
        memcpy(buf, cur, n);
        free(cur);

        if (rc != VPT_SCAN_NONE) {
            CHECK(pos < n && which != 0 && which < (1u << nl));
        }

        if (rc == VPT_SCAN_MATCH) {
            got = (long) (from - n + pos);
            got_which = which;
            break;
        }

        held = 0;

        if (rc == VPT_SCAN_PARTIAL) {
            held = n - pos;
            memmove(buf, buf + pos, held);

            for (a = 0; a < nl; a++) {
                /* a partial match is shorter than its literal */
                CHECK(!((which >> a) & 1) || held < ll[a]);
            }
        }
    }

    if (got < 0 && held > 0) {
        /* the end: the held bytes are whole matches of some, or of none */

        for (a = 0; a < nl; a++) {
            if (ll[a] > held) {
                continue;
            }

            for (k = 0; k < ll[a] && r_lower(buf[k]) == lit[a][k]; k++) {
                /* void */
            }

            if (k == ll[a]) {
                got = (long) (len - held);
                got_which |= 1u << a;
            }
        }
    }

    CHECK(got == want && got_which == want_which);

    /* no anchor: the state after every buffer is the exact tokenizer's */

    vpt_html_init(&h);
    vpt_html_init(&x);
    from = 0;
    s = seed ^ 1;

    while (from < len) {
        n = next_size(&s, len - from);

        /* a buffer of its own: ASan sees any read past it */
        cur = fuzz_malloc(n);
        memcpy(cur, body + from, n);

        CHECK(vpt_scan(&h, cur, n, NULL, NULL, NULL) == VPT_SCAN_NONE);
        free(cur);
        vpt_html_scan(&x, body + from, n);
        from += n;

        CHECK(same_state(&h, &x));
    }

    free(buf);
    free(data);

    return 0;
}
