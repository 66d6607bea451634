/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The literal anchor's search: by its two rarest bytes, 64 starts at a
 * time with SSE2, or AVX2 when the CPU has it; each candidate compares the
 * whole literal, in either case.
 */

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* AVX2 intrinsics in a target("avx2") function: gcc 4.9 on, clang */
#if defined(__x86_64__) && defined(__SSE2__) && !defined(VPT_NO_AVX2)     \
    && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#include <immintrin.h>
#define VPT_HAVE_AVX2  1
#endif

#include "vpt_splice_int.h"


static size_t vpt_lit_rarest(const unsigned char *lit, size_t len,
    size_t skip);
static int vpt_lit_at(const vpt_anchor_t *a, const unsigned char *p);
#if defined(VPT_HAVE_AVX2)
static int vpt_lit_pairs_avx2(const vpt_anchor_t *a, const unsigned char *p,
    size_t n, size_t *s, size_t *pos);
#endif
#if defined(__SSE2__)
static int vpt_lit_pairs(const vpt_anchor_t *a, const unsigned char *p,
    size_t n, size_t *pos);
#endif


/* bytes by how often they occur in HTML, most often first; letters folded */
static const char  vpt_lit_common[] =
    " e\"t<>=/aoisnrlcdhpum-.\nfgbvywk:0123456789;_#,&!()'x?jqz\t";


void
vpt_lit_prepare(vpt_anchor_t *a)
{
    size_t  len;

    len = a->litlen;

    a->rare = vpt_lit_rarest(a->lit, len, len);
    a->rare2 = (len > 1) ? vpt_lit_rarest(a->lit, len, a->rare) : a->rare;

    /* a letter matches in either case as (b | 0x20) == letter */
    a->fold = (a->lit[a->rare] >= 'a' && a->lit[a->rare] <= 'z') ? 0x20 : 0;
    a->fold2 = (a->lit[a->rare2] >= 'a' && a->lit[a->rare2] <= 'z')
               ? 0x20 : 0;

#if defined(VPT_HAVE_AVX2)
    __builtin_cpu_init();
    a->avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
}


/*
 * The offset of the literal's byte least likely to occur in a page, by a
 * rough ranking of bytes in HTML (most frequent first; letters folded),
 * other than offset skip.  Bytes not listed count as rarest.  A wrong
 * guess only costs speed.
 */

static size_t
vpt_lit_rarest(const unsigned char *lit, size_t len, size_t skip)
{
    size_t       i, best, rank, best_rank;
    const char  *f;

    best = (skip == 0) ? 1 : 0;
    best_rank = 0;

    for (i = 0; i < len; i++) {
        if (i == skip) {
            continue;
        }

        /* NUL is never looked up: strchr() would find the terminator */
        f = lit[i] ? strchr(vpt_lit_common, lit[i]) : NULL;
        rank = f ? (size_t) (f - vpt_lit_common) : sizeof(vpt_lit_common);

        if (rank > best_rank) {
            best = i;
            best_rank = rank;
        }
    }

    return best;
}


/*
 * The leftmost match or partial match of the literal in p[0, len).
 *
 * Complete matches: candidates are the starts where the literal's two
 * rarest bytes are in place (vpt_lit_pairs), or, for a one-byte literal or
 * without SSE2, where memchr finds its rarest byte (both cases of a
 * letter, each scan advanced lazily past the other's hits, so the total
 * stays linear).  Each candidate compares the whole literal.
 * In HTML the first byte is usually '<', which would stop a search every
 * few dozen bytes; one rare byte alone, such as the 'y' of "</body>",
 * still does every few dozen bytes of English text.
 * A partial match starts in the last litlen - 1 bytes, and may not reach
 * the rarest byte: those few starts are compared one by one.
 */

vpt_find_e
vpt_lit_find(const vpt_anchor_t *a, const unsigned char *p, size_t len,
    size_t *pos)
{
    size_t                i, n, k, ll;
    unsigned char         lo, up;
    const unsigned char  *base, *end, *nlo, *nup, *c, *lit;

    lit = a->lit;
    ll = a->litlen;

#if defined(__SSE2__)

    if (len >= ll && ll > 1) {
        if (vpt_lit_pairs(a, p, len - ll + 1, pos)) {
            return VPT_FIND_MATCH;
        }

        goto partial;
    }

#endif

    if (len >= ll) {
        /* the rarest byte of a match starting in [0, len - ll] */
        base = p + a->rare;
        end = base + (len - ll + 1);

        lo = lit[a->rare];
        up = (lo >= 'a' && lo <= 'z') ? (unsigned char) (lo & ~0x20) : lo;

        nlo = memchr(base, lo, end - base);
        nup = (up != lo) ? memchr(base, up, end - base) : NULL;

        while (nlo != NULL || nup != NULL) {
            c = (nup == NULL || (nlo != NULL && nlo < nup)) ? nlo : nup;
            i = c - base;

            if (vpt_lit_at(a, p + i)) {
                *pos = i;
                return VPT_FIND_MATCH;
            }

            if (c == nlo) {
                nlo = memchr(c + 1, lo, end - c - 1);

            } else {
                nup = memchr(c + 1, up, end - c - 1);
            }
        }
    }

#if defined(__SSE2__)
partial:
#endif

    for (i = (len >= ll) ? len - ll + 1 : 0; i < len; i++) {
        n = len - i;

        for (k = 0; k < n; k++) {
            if (vpt_splice_lower(p[i + k]) != lit[k]) {
                break;
            }
        }

        if (k == n) {
            *pos = i;
            return VPT_FIND_PARTIAL;
        }
    }

    return VPT_FIND_NONE;
}


/* whether the whole literal is at p, in either case */

static int
vpt_lit_at(const vpt_anchor_t *a, const unsigned char *p)
{
    size_t  k;

    for (k = 0; k < a->litlen; k++) {
        if (vpt_splice_lower(p[k]) != a->lit[k]) {
            return 0;
        }
    }

    return 1;
}


#if defined(VPT_HAVE_AVX2)

/*
 * vpt_lit_pairs() 64 starts a step with AVX2: 1 with *pos set, or 0 with
 * *s the first start left to look at.
 */

__attribute__((target("avx2")))
static int
vpt_lit_pairs_avx2(const vpt_anchor_t *a, const unsigned char *p, size_t n,
    size_t *s_left, size_t *pos)
{
    __m256i               f1, f2, v1, v2, e0, e1;
    size_t                s, k;
    uint64_t              m;
    const unsigned char  *p1, *p2;

    p1 = p + a->rare;
    p2 = p + a->rare2;
    f1 = _mm256_set1_epi8((char) a->fold);
    f2 = _mm256_set1_epi8((char) a->fold2);
    v1 = _mm256_set1_epi8((char) a->lit[a->rare]);
    v2 = _mm256_set1_epi8((char) a->lit[a->rare2]);

    for (s = 0; s + 64 <= n; s += 64) {
        e0 = _mm256_and_si256(
               _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256(
                   (const __m256i *) (p1 + s)), f1), v1),
               _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256(
                   (const __m256i *) (p2 + s)), f2), v2));
        e1 = _mm256_and_si256(
               _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256(
                   (const __m256i *) (p1 + s + 32)), f1), v1),
               _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256(
                   (const __m256i *) (p2 + s + 32)), f2), v2));

        if (_mm256_testz_si256(_mm256_or_si256(e0, e1),
                               _mm256_or_si256(e0, e1)))
        {
            continue;
        }

        m = (uint64_t) (unsigned) _mm256_movemask_epi8(e0)
            | (uint64_t) (unsigned) _mm256_movemask_epi8(e1) << 32;

        for ( /* void */ ; m; m &= m - 1) {
            k = s + __builtin_ctzll(m);

            if (vpt_lit_at(a, p + k)) {
                *pos = k;
                return 1;
            }
        }
    }

    *s_left = s;

    return 0;
}

#endif


#if defined(__SSE2__)

/*
 * The first of the starts p[0, n) where the literal is, each of its
 * bytes p[s, s + litlen) in the buffer: a start is a candidate when the
 * bytes at offsets rare and rare2 both match, as (b | fold) == byte: a
 * letter's fold is 0x20, which no other byte than its two cases passes.
 * 64 starts a step, with AVX2 when the CPU has it; the last few one by
 * one.
 */

static int
vpt_lit_pairs(const vpt_anchor_t *a, const unsigned char *p, size_t n,
    size_t *pos)
{
    __m128i               f1, f2, v1, v2, e[4];
    size_t                s, i, k;
    uint64_t              m;
    const unsigned char  *p1, *p2;

    s = 0;

#if defined(VPT_HAVE_AVX2)
    if (a->avx2 && vpt_lit_pairs_avx2(a, p, n, &s, pos)) {
        return 1;
    }
#endif

    p1 = p + a->rare;
    p2 = p + a->rare2;
    f1 = _mm_set1_epi8((char) a->fold);
    f2 = _mm_set1_epi8((char) a->fold2);
    v1 = _mm_set1_epi8((char) a->lit[a->rare]);
    v2 = _mm_set1_epi8((char) a->lit[a->rare2]);

    for ( /* void */ ; s + 64 <= n; s += 64) {
        for (i = 0; i < 4; i++) {
            e[i] = _mm_and_si128(
                     _mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(
                         (const __m128i *) (p1 + s + 16 * i)), f1), v1),
                     _mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(
                         (const __m128i *) (p2 + s + 16 * i)), f2), v2));
        }

        if (!_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(e[0], e[1]),
                                            _mm_or_si128(e[2], e[3]))))
        {
            continue;
        }

        m = 0;

        for (i = 0; i < 4; i++) {
            m |= (uint64_t) (unsigned) _mm_movemask_epi8(e[i]) << (16 * i);
        }

        for ( /* void */ ; m; m &= m - 1) {
            k = s + __builtin_ctzll(m);

            if (vpt_lit_at(a, p + k)) {
                *pos = k;
                return 1;
            }
        }
    }

    for ( /* void */ ; s < n; s++) {
        if (vpt_lit_at(a, p + s)) {
            *pos = s;
            return 1;
        }
    }

    return 0;
}

#endif


/* the leftmost match or partial match of the literal starting in p[from, h) */

vpt_find_e
vpt_lit_find_in_held(const vpt_anchor_t *a, const unsigned char *p,
    size_t len, size_t from, size_t h, size_t *pos)
{
    size_t  i, k, n;

    for (i = from; i < h; i++) {
        n = len - i;
        if (n > a->litlen) {
            n = a->litlen;
        }

        for (k = 0; k < n; k++) {
            if (vpt_splice_lower(p[i + k]) != a->lit[k]) {
                break;
            }
        }

        if (k == n) {
            *pos = i;
            return (n == a->litlen) ? VPT_FIND_MATCH : VPT_FIND_PARTIAL;
        }
    }

    return VPT_FIND_NONE;
}
