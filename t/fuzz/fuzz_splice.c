/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for the anchor splicer.  The input picks an anchor
 * and a placement, seeds the chunking, and the rest is the body; the body
 * is fed in random pieces (empty ones too), reassembled as the nginx glue
 * does, and must be the body with the insertion exactly once at the first
 * real anchor, or the body unchanged.  "Real" is decided by a reference
 * kept simple enough to read against the standard: the WHATWG tokenizer's
 * states one byte at a time over the whole body (below), and the first
 * occurrence that starts where it reads in the data state.  The streaming
 * tokenizer is also asked, at the start of every piece, whether that byte
 * is text, and must agree with the reference.
 *
 * One mode takes the regex itself from the input and checks what holds
 * for any anchor: nothing is lost or duplicated, and no more than hold_max
 * bytes are ever held.
 *
 *   t/fuzz/run 60 splice
 */

#define PCRE2_CODE_UNIT_WIDTH  8

#include <stdlib.h>
#include <string.h>
#include <pcre2.h>

#include "fuzz_check.h"
#include "vpt_splice.h"
#include "vpt_html.h"


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
    "<p>",
    "~</bo?dy\\s*>",
    "~<div id=\"(cart|thanks)\">",
    "~a[^z]{0,5}z|<p>",
    "~-->|<x"
};

#define NSPECS  (sizeof(specs) / sizeof(specs[0]))


static vpt_anchor_t       *anchors[NSPECS][3];
static pcre2_code         *ref_re[NSPECS];      /* the reference's own */
static pcre2_match_data   *ref_md;


static void
out_add(out_t *o, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->data = realloc(o->data, o->cap);
        CHECK(o->data != NULL);
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


/*
 * Feeds body in random pieces and returns where the insertion went, or -1.
 * With data (the reference's), also checks the splicer's tokenizer at the
 * start of each piece: it has read everything before the held bytes.
 */

static long
splice_run(const vpt_anchor_t *a, const unsigned char *body, size_t len,
    uint64_t seed, const unsigned char *data, out_t *o)
{
    long                  at;
    void                 *mem;
    size_t                from, n, np, nh, max;
    vpt_splice_t          s;
    const unsigned char  *prev, *held, *d;
    vpt_splice_result_t   res;

    mem = fuzz_malloc(vpt_splice_size(a));

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

        if (data != NULL && at == -1 && from - s.nheld < len) {
            CHECK(vpt_html_in_data(&s.html, body[from - s.nheld])
                  == data[from - s.nheld]);
        }

        d = n ? body + from : NULL;

        vpt_splice_feed(&s, d, n, &res);
        prev = vpt_splice_prev_held(&s, &np);

        CHECK(s.nheld <= s.hold_cap);

        if (!res.matched) {
            CHECK(res.emit <= np + n);
            out_add_v(o, prev, np, d, 0, res.emit);

        } else {
            CHECK(at == -1 && res.insert_at <= res.resume_at
                  && res.resume_at <= np + n);

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


#include "../unit/whatwg_ref.h"


/*
 * The whole-body reference: [*ms, *me) of the first match that starts in
 * the data state, or 0.  For a regex, as the splicer documents: a match
 * longer than VPT_REGEX_HOLD_MAX is never spliced, and the leftmost start
 * where the regex matches or could still match wins, so a partial match
 * that is still open when the body ends hides any complete match after
 * it (the held bytes go out as they are).
 */

static int
ref_find(size_t si, const unsigned char *body, size_t len,
    const unsigned char *data, size_t *ms, size_t *me)
{
    int          rc, found;
    size_t       i, k, ll, start;
    PCRE2_SIZE  *ov;
    const char  *spec;

    spec = specs[si];

    if (spec[0] != '~') {
        ll = strlen(spec);

        for (i = 0; i + ll <= len; i++) {
            for (k = 0; k < ll && r_lower(body[i + k]) == r_lower(spec[k]);
                 k++)
            {
                /* void */
            }

            if (k == ll && data[i]) {
                *ms = i;
                *me = i + ll;
                return 1;
            }
        }

        return 0;
    }

    ov = pcre2_get_ovector_pointer(ref_md);

    found = 0;

    for (start = 0; start <= len; start = ov[0] + 1) {
        rc = pcre2_match(ref_re[si], len ? body : (PCRE2_SPTR) "", len,
                         start, PCRE2_NOTBOL|PCRE2_PARTIAL_HARD, ref_md,
                         NULL);
        if (rc < 0 && rc != PCRE2_ERROR_PARTIAL) {
            break;
        }

        if (ov[1] - ov[0] <= VPT_REGEX_HOLD_MAX && ov[0] < len
            && data[ov[0]])
        {
            if (rc == PCRE2_ERROR_PARTIAL) {
                break;
            }

            *ms = ov[0];
            *me = ov[1];
            found = 1;
            break;
        }
    }

    return found;
}


static void
fuzz_known(const uint8_t *in, size_t size)
{
    int             found;
    size_t          si, pi, ms, me, want;
    uint64_t        seed;
    out_t           o, r;
    vpt_anchor_t   *a;
    unsigned char  *data;

    si = in[0] % NSPECS;
    pi = (in[0] / NSPECS) % 3;
    memcpy(&seed, in + 1, 8);
    in += 9;
    size -= 9;

    a = anchors[si][pi];

    memset(&o, 0, sizeof(out_t));
    memset(&r, 0, sizeof(out_t));

    data = fuzz_malloc(size);
    ref_tokenize(in, size, data);

    splice_run(a, in, size, seed, data, &o);

    found = ref_find(si, in, size, data, &ms, &me);

    if (!found) {
        out_add(&r, in, size);

    } else {
        want = (pi == VPT_PLACE_AFTER) ? me : ms;
        out_add(&r, in, want);
        out_add(&r, INS, sizeof(INS) - 1);
        want = (pi == VPT_PLACE_REPLACE) ? me : want;
        out_add(&r, in + want, size - want);
    }

    /* the body with the markup once at the first real anchor, or as is */
    CHECK(o.len == r.len && (o.len == 0 || memcmp(o.data, r.data, o.len) == 0));

    free(data);
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

    at = splice_run(a, data, size, seed, NULL, &o);

    if (at == -1) {
        CHECK(o.len == size && (size == 0 || memcmp(o.data, data, size) == 0));

    } else {
        CHECK(o.len == size + sizeof(INS) - 1
              && memcmp(o.data, data, at) == 0
              && memcmp(o.data + at, INS, sizeof(INS) - 1) == 0
              && memcmp(o.data + at + sizeof(INS) - 1, data + at, size - at)
                 == 0);
    }

    free(o.data);
    vpt_anchor_free(a);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int         ec;
    size_t      i, p;
    char        err[VPT_ERRLEN];
    PCRE2_SIZE  eo;

    if (anchors[0][0] == NULL) {
        ref_md = pcre2_match_data_create(1, NULL);
        CHECK(ref_md != NULL);

        for (i = 0; i < NSPECS; i++) {
            if (specs[i][0] == '~') {
                ref_re[i] = pcre2_compile((PCRE2_SPTR) specs[i] + 1,
                                          strlen(specs[i]) - 1,
                                          PCRE2_CASELESS, &ec, &eo, NULL);
                CHECK(ref_re[i] != NULL);
            }

            for (p = 0; p < 3; p++) {
                anchors[i][p] = vpt_anchor_create(specs[i], strlen(specs[i]),
                                                  (vpt_place_e) p, err,
                                                  sizeof(err));
                CHECK(anchors[i][p] != NULL);
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
