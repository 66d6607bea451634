/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for the structural scanner (vpt_scan.h) against
 * the exact tokenizer (vpt_html.h) and the WHATWG reference
 * (t/unit/whatwg_ref.h).  The first byte picks an anchor, the next eight
 * seed the buffering (one byte a buffer when the seed is even), the rest
 * is the body.  Checks:
 *
 *   - the anchor is found at the first start the reference reads in the
 *     data state, fed as the splicer feeds (after a partial match its
 *     bytes come again with the next buffer), and never elsewhere;
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
    long                  got, want;
    size_t                from, n, held, pos, ll, k, len;
    uint64_t              seed, s;
    vpt_html_t            h, x;
    vpt_scan_e            rc;
    unsigned              which;
    vpt_scan_lits_t       set;
    unsigned char        *buf, *cur, *data, lit[32];
    const unsigned char  *body, *litp;

    if (size < 9) {
        return 0;
    }

    ll = strlen(anchors[in[0] % NANCHORS]);
    for (k = 0; k < ll; k++) {
        lit[k] = r_lower((unsigned char) anchors[in[0] % NANCHORS][k]);
    }

    litp = lit;
    CHECK(vpt_scan_lits_init(&set, &litp, &ll, 1) == VPT_OK);

    memcpy(&seed, in + 1, 8);
    body = in + 9;
    len = size - 9;

    data = fuzz_malloc(len + 1);
    buf = fuzz_malloc(len + 1);

    ref_tokenize(body, len, data);
    want = ref_find(body, len, data, lit, ll);

    /* the anchor, fed as the splicer feeds */

    vpt_html_init(&h);
    got = -1;
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
            CHECK(which == 1);
        }

        if (rc == VPT_SCAN_MATCH) {
            got = (long) (from - n + pos);
            break;
        }

        held = 0;

        if (rc == VPT_SCAN_PARTIAL) {
            CHECK(pos < n && n - pos < ll);
            held = n - pos;
            memmove(buf, buf + pos, held);
        }
    }

    CHECK(got == want);

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
