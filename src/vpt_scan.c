/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The structural scanner of vpt_scan.h.
 *
 * Blocks are 64 bytes from the start of the buffer; the last one is copied
 * into zeroes.  A block's masks have bit i set when byte i is in the class:
 * lt '<', gtq '>' '"' '\'', wse whitespace (CR too) '/' '='.  AVX2 (chosen
 * at run time, as vpt_splice_lit.c does) and SSE2 classify with vector
 * compares; other architectures byte by byte through a table.
 *
 * Inside a start tag only the bytes of gtq and wse change anything the
 * scanner must know, and they change it as a small machine of the WHATWG
 * attribute states does (vpt_scan_tag): a run of other bytes is one step,
 * whatever its length.  A quote opens a value only after "name =", and the
 * value then ends at the next same quote; a tag without a quote ends at its
 * first '>'.
 */

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* as in vpt_splice_lit.c: AVX2 in a target("avx2") function */
#if defined(__x86_64__) && defined(__SSE2__) && !defined(VPT_NO_AVX2)     \
    && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#include <immintrin.h>
#define VPT_HAVE_AVX2  1
#endif

#include "vpt_scan.h"


typedef struct {
    uint64_t              lt;
    uint64_t              gtq;
    uint64_t              wse;
} vpt_scan_masks_t;


/* a local of vpt_scan() that never escapes: it lives in registers */
typedef struct {
    const unsigned char  *p;
    size_t                len;
    size_t                base;     /* offset of the block classified */
    uint64_t              lt;
    uint64_t              gtq;
    uint64_t              wse;
} vpt_scan_blk_t;


/* which masks vpt_scan_next() looks in */
#define VPT_SCAN_LT    1
#define VPT_SCAN_GTQ   2
#define VPT_SCAN_TAG   6            /* gtq and wse */


/* attribute states: before a name, in one, after one, before a value, in
 * an unquoted value.  After a quoted value and after '/' read as before a
 * name does (WHATWG: both reconsume there, '>' ends the tag in all). */
enum {
    VPT_SCAN_BAN = 0,
    VPT_SCAN_AN,
    VPT_SCAN_AAN,
    VPT_SCAN_BAV,
    VPT_SCAN_UNQ
};

/* the state after a run of ordinary bytes, after whitespace, '/', '=' */
static const unsigned char  vpt_scan_run[] = { 1, 1, 1, 4, 4 };
static const unsigned char  vpt_scan_ws[] =  { 0, 2, 2, 3, 0 };
static const unsigned char  vpt_scan_sl[] =  { 0, 0, 0, 4, 4 };
static const unsigned char  vpt_scan_eq[] =  { 1, 3, 3, 4, 4 };


/* the first letters of raw text elements: s t x i n p */
#define VPT_SCAN_RAW_FIRST                                                   \
    ((1u << ('s' - 'a')) | (1u << ('t' - 'a')) | (1u << ('x' - 'a'))         \
     | (1u << ('i' - 'a')) | (1u << ('n' - 'a')) | (1u << ('p' - 'a')))

/* their lengths: 3 5 6 7 8 9 */
#define VPT_SCAN_RAW_LEN  0x3e8u


static int  vpt_scan_avx2 = -1;


static vpt_scan_masks_t vpt_scan_classify(const unsigned char *p,
    size_t len, size_t base) __attribute__((noinline));
static size_t vpt_scan_slow(vpt_html_t *h, const unsigned char *p,
    size_t len, size_t q);


static inline int
vpt_scan_alpha(unsigned char c)
{
    return (unsigned char) ((c | 0x20) - 'a') < 26;
}


static inline unsigned char
vpt_scan_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


/* the first offset >= from in the masks of which, or len */

static inline void
vpt_scan_block(vpt_scan_blk_t *b, size_t base)
{
    vpt_scan_masks_t  m;

    m = vpt_scan_classify(b->p, b->len, base);

    b->base = base;
    b->lt = m.lt;
    b->gtq = m.gtq;
    b->wse = m.wse;
}


static inline size_t
vpt_scan_next(vpt_scan_blk_t *b, size_t from, unsigned which)
{
    uint64_t  m;

    while (from < b->len) {
        if (from - b->base >= 64) {
            vpt_scan_block(b, from & ~(size_t) 63);
        }


        m = ((which & VPT_SCAN_LT) ? b->lt : 0)
            | ((which & VPT_SCAN_GTQ) ? b->gtq : 0)
            | ((which & 4) ? b->wse : 0);

        m >>= from - b->base;

        if (m) {
            return from + __builtin_ctzll(m);
        }

        from = b->base + 64;
    }

    return b->len;
}


/* whether no byte of p[from, to) is in wse; 0 when unsure (other block) */

static inline int
vpt_scan_none(const vpt_scan_blk_t *b, size_t from, size_t to)
{
    size_t  off;

    off = from - b->base;

    if (from < b->base || to - b->base > 64 || to - from >= 64) {
        return 0;
    }

    return ((b->wse >> off) & ((1ULL << (to - from)) - 1)) == 0;
}


const char *
vpt_scan_path(void)
{
#if defined(VPT_HAVE_AVX2)
    if (vpt_scan_avx2 < 0) {
        __builtin_cpu_init();
        vpt_scan_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    }

    if (vpt_scan_avx2) {
        return "avx2";
    }
#endif

#if defined(__SSE2__)
    return "sse2";
#else
    return "scalar";
#endif
}


vpt_scan_e
vpt_scan(vpt_html_t *h, const unsigned char *p, size_t len,
    const unsigned char *lit, size_t litlen, size_t *pos)
{
    size_t                i, q, e, k, n, prev;
    unsigned              st;
    unsigned char         c;
    vpt_scan_blk_t        b;
    const unsigned char  *f;

    i = 0;

    if (!vpt_html_at_data(h)) {
        i = vpt_html_skip(h, p, len);
    }

    if (i >= len) {
        return VPT_SCAN_NONE;
    }

    if (vpt_scan_avx2 < 0) {
        (void) vpt_scan_path();
    }

    b.p = p;
    b.len = len;
    vpt_scan_block(&b, i & ~(size_t) 63);

    for ( ;; ) {

        /* i is read in the data state: to its next '<' */

        q = vpt_scan_next(&b, i, VPT_SCAN_LT);
        if (q == len) {
            return VPT_SCAN_NONE;
        }

        if (lit != NULL) {
            n = len - q;
            n = (n < litlen) ? n : litlen;

            for (k = 1; k < n && vpt_scan_lower(p[q + k]) == lit[k]; k++) {
                /* void */
            }

            if (k == n) {
                *pos = q;
                return (n == litlen) ? VPT_SCAN_MATCH : VPT_SCAN_PARTIAL;
            }
        }

        if (q + 2 >= len) {
            goto slow;
        }

        c = p[q + 1];

        if (c == '/') {
            /* an end tag: to its first '>', unless a quote comes first */

            if (!vpt_scan_alpha(p[q + 2])) {
                goto slow;
            }

            e = vpt_scan_next(&b, q + 3, VPT_SCAN_GTQ);
            if (e == len || p[e] != '>') {
                goto slow;
            }

            i = e + 1;
            continue;
        }

        if (!vpt_scan_alpha(c)) {
            if (c == '!' || c == '?') {
                goto slow;
            }

            /* "a < b", "x<<": the '<' was text, c is read in data */
            i = q + 1;
            continue;
        }

        /* a start tag: its name ends at whitespace, '/' or '>' */

        e = vpt_scan_next(&b, q + 2, VPT_SCAN_TAG);
        if (e == len) {
            goto slow;
        }

        c = p[e];
        n = e - q - 1;

        if (c == '=' || c == '"' || c == '\'') {
            /* part of an odd name */
            goto slow;
        }

        if (n <= 9 && ((VPT_SCAN_RAW_LEN >> n) & 1)
            && ((VPT_SCAN_RAW_FIRST >> ((p[q + 1] | 0x20) - 'a')) & 1)
            && vpt_html_raw(p + q + 1, n))
        {
            /* the exact tokenizer reads the tag and its raw text */
            goto slow;
        }

        if (c == '>') {
            i = e + 1;
            continue;
        }

        /* p[e], whitespace or '/', is read before a name, as the tag's */

    attrs:

        /*
         * Before an attribute name at e, nothing after it read: the tag
         * ends at the first '>' unless a quote comes first.  The usual
         * quote is a value's after "name=": a byte, then bytes none of
         * wse, then '='.
         */

        k = vpt_scan_next(&b, e, VPT_SCAN_GTQ);
        if (k == len) {
            goto slow;
        }

        c = p[k];

        if (c == '>') {
            i = k + 1;
            continue;
        }

        if (k < e + 3 || p[k - 1] != '='
            || !vpt_scan_none(&b, e + 1, k - 1))
        {
            goto walk;
        }

    value:

        /* a quoted value from k: usually the next of gtq is its end */

        e = vpt_scan_next(&b, k + 1, VPT_SCAN_GTQ);

        if (e < len && p[e] != c) {
            f = memchr(p + e + 1, c, len - e - 1);
            e = f ? (size_t) (f - p) : len;
        }

        if (e >= len) {
            goto slow;
        }

        /* after a quoted value reads as before a name */
        e++;
        goto attrs;

    walk:

        /* anything else: the attribute states, a step per byte of wse */

        st = VPT_SCAN_BAN;
        prev = e;

        for ( ;; ) {
            e = vpt_scan_next(&b, prev, VPT_SCAN_TAG);
            if (e == len) {
                goto slow;
            }

            if (e > prev) {
                /* a run of other bytes */
                st = vpt_scan_run[st];
            }

            c = p[e];

            if (c == '>') {
                break;
            }

            if (c == '"' || c == '\'') {
                if (st == VPT_SCAN_BAV) {
                    k = e;
                    goto value;
                }

                /* a quote in a name or an unquoted value is ordinary */
                st = vpt_scan_run[st];

            } else if (c == '/') {
                st = vpt_scan_sl[st];

            } else if (c == '=') {
                st = vpt_scan_eq[st];

            } else {
                st = vpt_scan_ws[st];
            }

            prev = e + 1;
        }

        i = e + 1;
        continue;

    slow:

        i = vpt_scan_slow(h, p, len, q);
        if (i == len) {
            return VPT_SCAN_NONE;
        }
    }
}


/*
 * The exact tokenizer reads from the '<' at q, read in the data state, to
 * the next byte read in the data state, whose offset it returns (len when
 * there is none in p).
 */

static size_t
vpt_scan_slow(vpt_html_t *h, const unsigned char *p, size_t len, size_t q)
{
    vpt_html_scan(h, p + q, 1);

    q++;

    return q + vpt_html_skip(h, p + q, len - q);
}


/* --- block classifiers ------------------------------------------------ */

#if defined(VPT_HAVE_AVX2)

/*
 * Nibble lookup: lo[b & 15] & hi[b >> 4] has a bit of the byte's class
 * (0 for bytes >= 0x80: vpshufb gives 0 for an index with the top bit).
 * bits: 0x01 \t \n \f \r, 0x02 ' ' '/', 0x04 '"' '\'', 0x08 '<',
 * 0x10 '=', 0x20 '>'.
 */

__attribute__((target("avx2")))
static vpt_scan_masks_t
vpt_scan_avx2_64(const unsigned char *q)
{
    __m256i           v0, v1, c0, c1, lo, hi, nib, zero, lt, gtq, wse;
    vpt_scan_masks_t  m;

    lo = _mm256_setr_epi8(0x02, 0, 0x04, 0, 0, 0, 0, 0x04,
                          0, 0x01, 0x01, 0, 0x09, 0x11, 0x20, 0x02,
                          0x02, 0, 0x04, 0, 0, 0, 0, 0x04,
                          0, 0x01, 0x01, 0, 0x09, 0x11, 0x20, 0x02);
    hi = _mm256_setr_epi8(0x01, 0, 0x06, 0x38, 0, 0, 0, 0,
                          0, 0, 0, 0, 0, 0, 0, 0,
                          0x01, 0, 0x06, 0x38, 0, 0, 0, 0,
                          0, 0, 0, 0, 0, 0, 0, 0);
    nib = _mm256_set1_epi8(0x0f);
    zero = _mm256_setzero_si256();
    lt = _mm256_set1_epi8('<');
    gtq = _mm256_set1_epi8(0x24);
    wse = _mm256_set1_epi8(0x13);

    v0 = _mm256_loadu_si256((const __m256i *) q);
    v1 = _mm256_loadu_si256((const __m256i *) (q + 32));

    c0 = _mm256_and_si256(_mm256_shuffle_epi8(lo, v0),
             _mm256_shuffle_epi8(hi,
                 _mm256_and_si256(_mm256_srli_epi16(v0, 4), nib)));
    c1 = _mm256_and_si256(_mm256_shuffle_epi8(lo, v1),
             _mm256_shuffle_epi8(hi,
                 _mm256_and_si256(_mm256_srli_epi16(v1, 4), nib)));

    m.lt = (uint32_t) _mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, lt))
           | (uint64_t) (uint32_t) _mm256_movemask_epi8(
                 _mm256_cmpeq_epi8(v1, lt)) << 32;
    m.gtq = ~((uint32_t) _mm256_movemask_epi8(_mm256_cmpeq_epi8(
                  _mm256_and_si256(c0, gtq), zero))
              | (uint64_t) (uint32_t) _mm256_movemask_epi8(
                  _mm256_cmpeq_epi8(_mm256_and_si256(c1, gtq), zero))
                << 32);
    m.wse = ~((uint32_t) _mm256_movemask_epi8(_mm256_cmpeq_epi8(
                  _mm256_and_si256(c0, wse), zero))
              | (uint64_t) (uint32_t) _mm256_movemask_epi8(
                  _mm256_cmpeq_epi8(_mm256_and_si256(c1, wse), zero))
                << 32);

    return m;
}

#endif


#if defined(__SSE2__)

static vpt_scan_masks_t
vpt_scan_sse2_64(const unsigned char *q)
{
    int               i;
    uint64_t          lt, gtq, wse;
    __m128i           v, g, w;
    vpt_scan_masks_t  m;

    lt = 0;
    gtq = 0;
    wse = 0;

    for (i = 0; i < 4; i++) {
        v = _mm_loadu_si128((const __m128i *) (q + 16 * i));

        g = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('>')),
                         _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                      _mm_cmpeq_epi8(v,
                                                     _mm_set1_epi8('\''))));

        /* \f and \r differ in their low bit only: one compare */
        w = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('/'))),
                _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('=')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'))),
                    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                        _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(1)),
                                       _mm_set1_epi8(0x0d)))));

        lt |= (uint64_t) (unsigned) _mm_movemask_epi8(
                  _mm_cmpeq_epi8(v, _mm_set1_epi8('<'))) << (16 * i);
        gtq |= (uint64_t) (unsigned) _mm_movemask_epi8(g) << (16 * i);
        wse |= (uint64_t) (unsigned) _mm_movemask_epi8(w) << (16 * i);
    }

    m.lt = lt;
    m.gtq = gtq;
    m.wse = wse;

    return m;
}

#else

/* other architectures: a byte at a time, 1 lt, 2 gtq, 4 wse */

static const unsigned char  vpt_scan_class[256] = {
    ['<'] = 1, ['>'] = 2, ['"'] = 2, ['\''] = 2,
    ['\t'] = 4, ['\n'] = 4, ['\f'] = 4, ['\r'] = 4, [' '] = 4, ['/'] = 4,
    ['='] = 4
};


static vpt_scan_masks_t
vpt_scan_plain_64(const unsigned char *q)
{
    int               i;
    unsigned          c;
    uint64_t          lt, gtq, wse;
    vpt_scan_masks_t  m;

    lt = 0;
    gtq = 0;
    wse = 0;

    for (i = 0; i < 64; i++) {
        c = vpt_scan_class[q[i]];
        lt |= (uint64_t) (c & 1) << i;
        gtq |= (uint64_t) ((c >> 1) & 1) << i;
        wse |= (uint64_t) ((c >> 2) & 1) << i;
    }

    m.lt = lt;
    m.gtq = gtq;
    m.wse = wse;

    return m;
}

#endif


/* the masks of the block at p[base], base < len */

static vpt_scan_masks_t
vpt_scan_classify(const unsigned char *p, size_t len, size_t base)
{
    size_t                n;
    unsigned char         tail[64];
    const unsigned char  *q;

    q = p + base;
    n = len - base;

    if (n < 64) {
        /* zeroes are in no class */
        memset(tail, 0, sizeof(tail));
        memcpy(tail, q, n);
        q = tail;
    }

#if defined(VPT_HAVE_AVX2)
    if (vpt_scan_avx2) {
        return vpt_scan_avx2_64(q);
    }

    return vpt_scan_sse2_64(q);
#elif defined(__SSE2__)
    return vpt_scan_sse2_64(q);
#else
    return vpt_scan_plain_64(q);
#endif
}
