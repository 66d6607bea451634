/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The structural scanner's block classifiers (vpt_scan_int.h): each block
 * of 64 bytes into a mask of '<' and one of '>' and quotes, with AVX2
 * (chosen at run time, as vpt_splice_lit.c does), SSE2, or byte by byte
 * on other architectures; and the CPU features the walk may use.
 */

#include <string.h>

#include "vpt_scan_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(VPT_HAVE_AVX2)
#include <immintrin.h>
#endif


static int  vpt_scan_has_avx2 = -1;    /* the CPU has it; -1: not asked yet */
static int  vpt_scan_has_bmi;          /* and BMI1 and BMI2 */


const char *
vpt_scan_path(void)
{
#if defined(VPT_HAVE_AVX2)
    if (vpt_scan_has_avx2 < 0) {
        __builtin_cpu_init();
        vpt_scan_has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
        vpt_scan_has_bmi = vpt_scan_has_avx2
                           && __builtin_cpu_supports("bmi")
                           && __builtin_cpu_supports("bmi2");
    }

    if (vpt_scan_has_avx2) {
        return "avx2";
    }
#endif

#if defined(__SSE2__)
    return "sse2";
#else
    return "scalar";
#endif
}

int
vpt_scan_cpu_bmi(void)
{
    if (vpt_scan_has_avx2 < 0) {
        (void) vpt_scan_path();
    }

    return vpt_scan_has_bmi;
}


uint64_t
vpt_scan_eq(const unsigned char *ep, const unsigned char *pend,
    unsigned char c)
{
    size_t    k, n;
    uint64_t  m;

#if defined(__SSE2__)
    __m128i   v;

    if (pend - ep >= 64) {
        v = _mm_set1_epi8((char) c);

        return (uint64_t) (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v,
                   _mm_loadu_si128((const __m128i *) ep)))
               | (uint64_t) (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v,
                     _mm_loadu_si128((const __m128i *) (ep + 16)))) << 16
               | (uint64_t) (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v,
                     _mm_loadu_si128((const __m128i *) (ep + 32)))) << 32
               | (uint64_t) (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v,
                     _mm_loadu_si128((const __m128i *) (ep + 48)))) << 48;
    }
#endif

    n = (size_t) (pend - ep);
    n = (n < 64) ? n : 64;
    m = 0;

    for (k = 0; k < n; k++) {
        m |= (uint64_t) (ep[k] == c) << k;
    }

    return m;
}


/* --- block classifiers ------------------------------------------------ */

#if defined(VPT_HAVE_AVX2)

/*
 * ev by one lookup: the table holds, at each low nibble, the one event
 * byte with it ('"' 2, '\'' 7, '>' E) or a byte without it, so a byte
 * equals its lookup only when it is an event (vpshufb gives 0 for bytes
 * >= 0x80, which no event equals).
 */

__attribute__((target("avx2")))
static void
vpt_scan_avx2(const unsigned char *q, size_t n, vpt_scan_masks_t *mk,
    size_t w)
{
    __m256i  v0, v1, tab, lt;

    tab = _mm256_setr_epi8(0x01, 0, 0x22, 0, 0, 0, 0, 0x27,
                           0, 0, 0, 0, 0, 0, 0x3e, 0,
                           0x01, 0, 0x22, 0, 0, 0, 0, 0x27,
                           0, 0, 0, 0, 0, 0, 0x3e, 0);
    lt = _mm256_set1_epi8('<');

    for (n += w; w < n; w++, q += 64) {
        v0 = _mm256_loadu_si256((const __m256i *) q);
        v1 = _mm256_loadu_si256((const __m256i *) (q + 32));

        mk->w[w].lt = (uint32_t) _mm256_movemask_epi8(
                        _mm256_cmpeq_epi8(v0, lt))
                    | (uint64_t) (uint32_t) _mm256_movemask_epi8(
                          _mm256_cmpeq_epi8(v1, lt)) << 32;

        mk->w[w].ev = (uint32_t) _mm256_movemask_epi8(
                        _mm256_cmpeq_epi8(_mm256_shuffle_epi8(tab, v0), v0))
                    | (uint64_t) (uint32_t) _mm256_movemask_epi8(
                          _mm256_cmpeq_epi8(_mm256_shuffle_epi8(tab, v1), v1))
                      << 32;
    }
}

#endif


#if defined(__SSE2__)

static void
vpt_scan_sse2(const unsigned char *q, size_t n, vpt_scan_masks_t *mk,
    size_t w)
{
    int       i;
    uint64_t  lt, ev;
    __m128i   v, e;

    for (n += w; w < n; w++, q += 64) {
        lt = 0;
        ev = 0;

        for (i = 0; i < 4; i++) {
            v = _mm_loadu_si128((const __m128i *) (q + 16 * i));

            e = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('>')),
                    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\''))));

            lt |= (uint64_t) (unsigned) _mm_movemask_epi8(
                      _mm_cmpeq_epi8(v, _mm_set1_epi8('<'))) << (16 * i);
            ev |= (uint64_t) (unsigned) _mm_movemask_epi8(e) << (16 * i);
        }

        mk->w[w].lt = lt;
        mk->w[w].ev = ev;
    }
}

#else

/* other architectures: a byte at a time, bit 0 '<', bit 1 the others */

static const unsigned char  vpt_scan_class[256] = {
    ['<'] = 1, ['>'] = 2, ['"'] = 2, ['\''] = 2
};


static void
vpt_scan_plain(const unsigned char *q, size_t n, vpt_scan_masks_t *mk,
    size_t w)
{
    int       i;
    unsigned  c;
    uint64_t  lt, ev;

    for (n += w; w < n; w++, q += 64) {
        lt = 0;
        ev = 0;

        for (i = 0; i < 64; i++) {
            c = vpt_scan_class[q[i]];
            lt |= (uint64_t) (c & 1) << i;
            ev |= (uint64_t) (c >> 1) << i;
        }

        mk->w[w].lt = lt;
        mk->w[w].ev = ev;
    }
}

#endif


static void
vpt_scan_classify(const unsigned char *q, size_t n, vpt_scan_masks_t *mk,
    size_t w)
{
#if defined(VPT_HAVE_AVX2)
    if (vpt_scan_has_avx2) {
        vpt_scan_avx2(q, n, mk, w);
        return;
    }

    vpt_scan_sse2(q, n, mk, w);
#elif defined(__SSE2__)
    vpt_scan_sse2(q, n, mk, w);
#else
    vpt_scan_plain(q, n, mk, w);
#endif
}


size_t
vpt_scan_fill(vpt_scan_masks_t *mk, const unsigned char *p, size_t len,
    size_t base)
{
    size_t         n, full;
    unsigned char  tail[64];

    n = len - base;
    n = (n < VPT_SCAN_BLOCKS * 64) ? n : VPT_SCAN_BLOCKS * 64;
    full = n / 64;

    vpt_scan_classify(p + base, full, mk, 0);

    if (n & 63) {
        memset(tail, 0, sizeof(tail));
        memcpy(tail, p + base + full * 64, n & 63);
        vpt_scan_classify(tail, 1, mk, full);
    }

    return base + n;
}
