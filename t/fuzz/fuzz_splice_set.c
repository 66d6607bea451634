/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for a set of anchors in one stream (several
 * placements on a page).  The first byte picks which literals are in the
 * set, the second their placements, the third seeds the chunking; the
 * rest is the body.  The body is fed in random pieces (empty ones too),
 * every match followed by vpt_splice_next() on the same piece, and
 * reassembled as the nginx glue does.  It must be the body with "[k]" at
 * each anchor k's place: from where the last match resumed, the leftmost
 * occurrence of an anchor left that starts where the WHATWG reference
 * tokenizer (t/unit/whatwg_ref.h) reads in the data state over the whole
 * body, the first in the set at one start.  No more than the set's
 * longest literal - 1 bytes are ever held.
 *
 *   t/fuzz/run 60 splice_set
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "vpt_splice.h"

#include "../unit/whatwg_ref.h"
#include "../unit/splice_out.h"


static const char  *lits[] = {
    "</body>",
    "<p>",
    "aab",
    "x",
    "<!-- vpt -->",
    "<div id=\"summary\">",
    "b>",
    "</aside>"
};

#define NLITS  (sizeof(lits) / sizeof(lits[0]))


static vpt_anchor_t  *anchors[NLITS][3];


static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


static int
lit_at(const char *lit, const unsigned char *body, size_t len, size_t i)
{
    size_t  k, ll;

    ll = strlen(lit);

    if (i + ll > len) {
        return 0;
    }

    for (k = 0; k < ll; k++) {
        if (lower(body[i + k]) != lower((unsigned char) lit[k])) {
            return 0;
        }
    }

    return 1;
}


static void
ref_set(const size_t *which, const vpt_place_e *place, size_t n,
    const unsigned char *body, size_t len, out_t *o)
{
    size_t          i, k, cur, ll, ins, res;
    unsigned        left;
    unsigned char  *data;

    data = malloc(len + 1);
    CHECK(data != NULL);
    ref_tokenize(body, len, data);

    left = (1u << n) - 1;
    cur = 0;
    i = 0;

    while (left && i < len) {
        for (k = 0; k < n; k++) {
            if ((left & (1u << k)) && data[i]
                && lit_at(lits[which[k]], body, len, i))
            {
                break;
            }
        }

        if (k == n) {
            i++;
            continue;
        }

        ll = strlen(lits[which[k]]);
        ins = (place[k] == VPT_PLACE_AFTER) ? i + ll : i;
        res = (place[k] == VPT_PLACE_BEFORE) ? i : i + ll;

        out_add(o, body + cur, ins - cur);
        out_mark(o, (unsigned) k);
        cur = res;
        left &= ~(1u << k);
        i = res;
    }

    out_add(o, body + cur, len - cur);
    free(data);
}


int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    void                 *mem;
    size_t                i, k, n, from, to, np, nh, v, len, maxlit;
    size_t                which[NLITS];
    uint64_t              rs;
    vpt_place_e           place[NLITS];
    vpt_splice_t          s;
    vpt_anchor_t         *set[NLITS];
    const unsigned char  *body, *prev, *held, *d;
    out_t                 got, want;
    vpt_splice_result_t   res;
    char                  err[VPT_ERRLEN];

    if (size < 3) {
        return 0;
    }

    if (anchors[0][0] == NULL) {
        for (i = 0; i < NLITS; i++) {
            for (k = 0; k < 3; k++) {
                anchors[i][k] = vpt_anchor_create(lits[i], strlen(lits[i]),
                                                  (vpt_place_e) k, err,
                                                  sizeof(err));
                CHECK(anchors[i][k] != NULL);
            }
        }
    }

    n = 0;
    maxlit = 1;

    for (i = 0; i < NLITS; i++) {
        if (in[0] & (1u << i)) {
            which[n] = i;
            place[n] = (vpt_place_e) (((in[1] >> (i % 4)) + i) % 3);
            set[n] = anchors[i][place[n]];
            maxlit = strlen(lits[i]) > maxlit ? strlen(lits[i]) : maxlit;
            n++;
        }
    }

    if (n == 0) {
        return 0;
    }

    CHECK(vpt_splice_set_check(set, n, err, sizeof(err)) == VPT_OK);

    rs = in[2] * 0x9e3779b97f4a7c15ULL + 1;
    body = in + 3;
    len = size - 3;

    mem = malloc(vpt_splice_set_size(set, n));
    CHECK(mem != NULL);
    vpt_splice_init_set(&s, set, n, mem);

    memset(&got, 0, sizeof(out_t));
    memset(&want, 0, sizeof(out_t));

    for (from = 0; from <= len; from = to) {
        to = from + vpt_rand_next(&rs) % 9;
        to = to < len ? to : len;
        d = (to > from) ? body + from : NULL;

        vpt_splice_feed(&s, d, to - from, &res);
        prev = vpt_splice_prev_held(&s, &np);
        v = 0;

        while (res.matched) {
            CHECK(res.anchor < n);
            CHECK(res.insert_at >= v && res.resume_at >= res.insert_at);
            CHECK(res.resume_at <= np + (to - from));
            out_add_v(&got, prev, np, d, v, res.insert_at);
            out_mark(&got, res.anchor);
            v = res.resume_at;

            if (!s.more) {
                break;
            }

            vpt_splice_next(&s, d, to - from, &res);
        }

        if (!res.matched) {
            CHECK(res.emit >= v && res.emit <= np + (to - from));
        }

        out_add_v(&got, prev, np, d, v,
                  res.matched ? np + (to - from) : res.emit);

        CHECK(s.nheld <= maxlit - 1);

        if (to == len) {
            break;
        }
    }

    held = vpt_splice_held(&s, &nh);
    out_add(&got, held, nh);

    ref_set(which, place, n, body, len, &want);

    if (got.len != want.len
        || (got.len && memcmp(got.data, want.data, got.len) != 0))
    {
        fprintf(stderr, "got  \"%.*s\"\nwant \"%.*s\"\n", (int) got.len,
                got.data ? (char *) got.data : "", (int) want.len,
                want.data ? (char *) want.data : "");
        CHECK(0);
    }

    free(got.data);
    free(want.data);
    free(mem);

    return 0;
}
