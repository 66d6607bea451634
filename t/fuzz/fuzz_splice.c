/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for the anchor splicer.  The input picks an anchor
 * and a placement, seeds the chunking, and the rest is the body; the body
 * is fed in random pieces (empty ones too), reassembled as the nginx glue
 * does, and compared with the splice of the whole body at once.  One mode
 * takes the regex itself from the input and checks what holds for any
 * anchor: nothing is lost or duplicated, and no more than hold_max bytes
 * are ever held.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       -o build/fuzz_splice t/fuzz/fuzz_splice.c src/vpt_splice.c \
 *       src/vpt_core.c -lpcre2-8
 *   mkdir -p build/corpus && build/fuzz_splice -max_total_time=60 \
 *       build/corpus
 */

#define PCRE2_CODE_UNIT_WIDTH  8

#include <stdlib.h>
#include <string.h>
#include <pcre2.h>

#include "vpt_splice.h"


#define INS  "[INS]"


typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
} out_t;


static const char  *specs[] = {
    "</body>",
    "aab",
    "x",
    "<!-- vpt -->",
    "~</bo?dy\\s*>",
    "~<div id=\"(cart|thanks)\">",
    "~a[^z]{0,5}z|<p>"
};

#define NSPECS  (sizeof(specs) / sizeof(specs[0]))


static vpt_anchor_t  *anchors[NSPECS][3];


static void
out_add(out_t *o, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->data = realloc(o->data, o->cap);
        if (o->data == NULL) {
            abort();
        }
    }

    memcpy(o->data + o->len, p, n);
    o->len += n;
}


static void
out_add_v(out_t *o, const unsigned char *prev, size_t np,
    const unsigned char *d, size_t from, size_t to)
{
    size_t  e;

    if (from < np) {
        e = to < np ? to : np;
        out_add(o, prev + from, e - from);
        from = e;
    }

    if (from < to) {
        out_add(o, d + (from - np), to - from);
    }
}


/* feeds body in random pieces; returns where the insertion went, or -1 */

static long
splice_run(const vpt_anchor_t *a, const unsigned char *body, size_t len,
    uint64_t seed, out_t *o)
{
    long                  at;
    void                 *mem;
    size_t                from, n, np, nh, max;
    vpt_splice_t          s;
    const unsigned char  *prev, *held, *d;
    vpt_splice_result_t   res;

    mem = malloc(vpt_splice_size(a));
    if (mem == NULL) {
        abort();
    }

    vpt_splice_init(&s, a, mem);

    at = -1;
    max = 1 + vpt_rand_next(&seed) % 64;
    from = 0;

    for ( ;; ) {
        n = (vpt_rand_next(&seed) % 8 == 0) ? 0
                                             : 1 + vpt_rand_next(&seed) % max;
        if (n > len - from) {
            n = len - from;
        }

        d = n ? body + from : NULL;

        vpt_splice_feed(&s, d, n, &res);
        prev = vpt_splice_prev_held(&s, &np);

        if (s.nheld > vpt_splice_size(a) / 2) {
            abort();
        }

        if (!res.matched) {
            if (res.emit > np + n) {
                abort();
            }

            out_add_v(o, prev, np, d, 0, res.emit);

        } else {
            if (at != -1 || res.insert_at > res.resume_at
                || res.resume_at > np + n)
            {
                abort();
            }

            out_add_v(o, prev, np, d, 0, res.insert_at);
            at = o->len;
            out_add(o, INS, sizeof(INS) - 1);
            out_add_v(o, prev, np, d, res.resume_at, np + n);
        }

        from += n;

        if (from == len) {
            break;
        }
    }

    held = vpt_splice_held(&s, &nh);
    out_add(o, held, nh);

    free(mem);

    return at;
}


static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


/* the whole-body reference: [*ms, *me) of the first match, or 0 */

static int
ref_find(const char *spec, const unsigned char *body, size_t len,
    size_t *ms, size_t *me)
{
    int                rc, ec, found;
    size_t             i, k, ll, start;
    PCRE2_SIZE         eo, *ov;
    pcre2_code        *re;
    pcre2_match_data  *md;

    if (spec[0] != '~') {
        ll = strlen(spec);

        for (i = 0; i + ll <= len; i++) {
            for (k = 0; k < ll && lower(body[i + k]) == lower(spec[k]); k++) {
                /* void */
            }

            if (k == ll) {
                *ms = i;
                *me = i + ll;
                return 1;
            }
        }

        return 0;
    }

    re = pcre2_compile((PCRE2_SPTR) spec + 1, strlen(spec) - 1,
                       PCRE2_CASELESS, &ec, &eo, NULL);
    md = pcre2_match_data_create(1, NULL);
    if (re == NULL || md == NULL) {
        abort();
    }

    ov = pcre2_get_ovector_pointer(md);

    /* a match longer than VPT_REGEX_HOLD_MAX is never spliced */

    found = 0;

    for (start = 0; start <= len; start = ov[0] + 1) {
        rc = pcre2_match(re, len ? body : (PCRE2_SPTR) "", len, start,
                         PCRE2_NOTBOL, md, NULL);
        if (rc < 0) {
            break;
        }

        if (ov[1] - ov[0] <= VPT_REGEX_HOLD_MAX) {
            *ms = ov[0];
            *me = ov[1];
            found = 1;
            break;
        }
    }

    pcre2_match_data_free(md);
    pcre2_code_free(re);

    return found;
}


static void
fuzz_known(const uint8_t *data, size_t size)
{
    int            found;
    size_t         si, pi, ms, me, want;
    uint64_t       seed;
    out_t          o, r;
    vpt_anchor_t  *a;

    si = data[0] % NSPECS;
    pi = (data[0] / NSPECS) % 3;
    memcpy(&seed, data + 1, 8);
    data += 9;
    size -= 9;

    a = anchors[si][pi];

    memset(&o, 0, sizeof(out_t));
    memset(&r, 0, sizeof(out_t));

    splice_run(a, data, size, seed, &o);

    found = ref_find(specs[si], data, size, &ms, &me);

    if (!found) {
        out_add(&r, data, size);

    } else {
        want = (pi == VPT_PLACE_AFTER) ? me : ms;
        out_add(&r, data, want);
        out_add(&r, INS, sizeof(INS) - 1);
        want = (pi == VPT_PLACE_REPLACE) ? me : want;
        out_add(&r, data + want, size - want);
    }

    if (o.len != r.len || (o.len && memcmp(o.data, r.data, o.len) != 0)) {
        abort();
    }

    free(o.data);
    free(r.data);
}


/* any regex: whatever it matches, removing the insertion gives the body */

static void
fuzz_any(const uint8_t *data, size_t size)
{
    long           at;
    size_t         n;
    uint64_t       seed;
    out_t          o;
    vpt_anchor_t  *a;
    char           err[VPT_ERRLEN];

    n = data[1] % 24;
    memcpy(&seed, data + 2, 8);
    data += 10;
    size -= 10;

    if (n > size) {
        return;
    }

    a = vpt_anchor_create((const char *) data, n, VPT_PLACE_BEFORE, err,
                          sizeof(err));
    if (a == NULL) {
        return;
    }

    data += n;
    size -= n;

    memset(&o, 0, sizeof(out_t));

    at = splice_run(a, data, size, seed, &o);

    if (at == -1) {
        if (o.len != size || (size && memcmp(o.data, data, size) != 0)) {
            abort();
        }

    } else {
        if (o.len != size + sizeof(INS) - 1
            || memcmp(o.data, data, at) != 0
            || memcmp(o.data + at, INS, sizeof(INS) - 1) != 0
            || memcmp(o.data + at + sizeof(INS) - 1, data + at, size - at)
               != 0)
        {
            abort();
        }
    }

    free(o.data);
    vpt_anchor_free(a);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t  i, p;
    char    err[VPT_ERRLEN];

    if (anchors[0][0] == NULL) {
        for (i = 0; i < NSPECS; i++) {
            for (p = 0; p < 3; p++) {
                anchors[i][p] = vpt_anchor_create(specs[i], strlen(specs[i]),
                                                  (vpt_place_e) p, err,
                                                  sizeof(err));
                if (anchors[i][p] == NULL) {
                    abort();
                }
            }
        }
    }

    if (size < 10) {
        return 0;
    }

    if (data[0] == 0xff) {
        fuzz_any(data, size);

    } else {
        fuzz_known(data, size);
    }

    return 0;
}
