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
 * attribute states does (the walk in vpt_scan()): a run of other bytes is
 * one step, whatever its length.  A quote opens a value only after
 * "name =", and the value then ends at the next same quote; a tag without
 * a quote ends at its first '>'.  The usual tag takes shortcuts: a '>'
 * within 4 bytes of a start tag's '<' ends it (no value can open before),
 * an end tag is one hop, and each "name=" of a value one hop, its value
 * another.
 *
 * Not yet the splicer's tokenizer (measured with callgrind, bench-splice's
 * scan, html and splice modes, 4 KB buffers): 172k instructions on the
 * demo page, where the tokenizer alone takes 180k and the splicer (search
 * and tokenizer) 197k; 786k on bench/gen-shop-page's 173 KB page against
 * 793k and 893k.  A hop (vpt_scan_next) is ~14 instructions, the '<' and
 * tag checks around it ~40 a tag, classifying ~0.6 a byte: no cheaper
 * than the byte loops of vpt_html.c, whose short hops predict well, by
 * enough to be worth a second tokenizer in the splicer.  It is built,
 * tested (t/unit/test_scan.c, all three classifiers) and fuzzed
 * (t/fuzz/fuzz_scan.c) so that tuning it is safe.
 *
 * Past 800 lines on purpose: the classifier's three builds (AVX2, SSE2,
 * scalar) and the walk over their masks are one piece of code.
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


/* blocks classified at a time: one call, masks in a small array */
#define VPT_SCAN_BLOCKS  64


/*
 * A local of vpt_scan(): the masks of p[base, base + span), base and span
 * kept apart in locals so that they live in registers.
 */
typedef struct {
    uint64_t              lt[VPT_SCAN_BLOCKS];
    uint64_t              gtq[VPT_SCAN_BLOCKS];
    uint64_t              wse[VPT_SCAN_BLOCKS];
} vpt_scan_blk_t;



/* which masks vpt_scan_next() looks in */
#define VPT_SCAN_LT    1
#define VPT_SCAN_GTQ   2
#define VPT_SCAN_WSE   4
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


static int  vpt_scan_has_avx2 = -1;    /* the CPU has it; -1: not asked yet */


static size_t vpt_scan_fill(vpt_scan_blk_t *b, const unsigned char *p,
    size_t len, size_t base) __attribute__((noinline));
static size_t vpt_scan_slow(vpt_html_t *h, const unsigned char *p,
    size_t len, size_t q);


static inline int
vpt_scan_alpha(unsigned char c)
{
    return (unsigned char) ((c | 0x20) - 'a') < 26;
}


/* HTML's whitespace (CR too) and '/': read alike before a name */

static inline int
vpt_scan_space(unsigned char c)
{
    return c == ' ' || c == '/' || c == '\n' || c == '\t' || c == '\r'
           || c == '\f';
}


static inline unsigned char
vpt_scan_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


/*
 * The first offset >= from in the masks of which, or len.  Inlined, which
 * is a constant at each use: the usual case, a bit in the word at hand, is
 * a few instructions; crossing words or classifying more blocks is
 * vpt_scan_next_far()'s.
 */

#define VPT_SCAN_NEXT(from, which)                                           \
    vpt_scan_next(&b, p, len, &base, &span, from, which)

/* what vpt_scan_next_far() found, and where the masks at hand start */
typedef struct {
    size_t                pos;
    size_t                base;
} vpt_scan_far_t;


static vpt_scan_far_t vpt_scan_next_far(vpt_scan_blk_t *b,
    const unsigned char *p, size_t len, size_t base, size_t span,
    size_t from, unsigned which) __attribute__((noinline));


/* the bytes the masks cover from base: see vpt_scan_fill() */

static inline size_t
vpt_scan_span(size_t base, size_t len)
{
    size_t  n;

    n = (len - base + 63) & ~(size_t) 63;

    return (n < VPT_SCAN_BLOCKS * 64) ? n : VPT_SCAN_BLOCKS * 64;
}


static inline uint64_t
vpt_scan_mask(const vpt_scan_blk_t *b, size_t w, unsigned which)
{
    return ((which & VPT_SCAN_LT) ? b->lt[w] : 0)
           | ((which & VPT_SCAN_GTQ) ? b->gtq[w] : 0)
           | ((which & VPT_SCAN_WSE) ? b->wse[w] : 0);
}


static inline __attribute__((always_inline)) size_t
vpt_scan_next(vpt_scan_blk_t *b, const unsigned char *p, size_t len,
    size_t *base, size_t *span, size_t from, unsigned which)
{
    size_t          off;
    uint64_t        m;
    vpt_scan_far_t  r;

    for ( ;; ) {
        off = from - *base;
        if (off >= *span) {
            /* base and span stay locals of the caller: in registers */
            r = vpt_scan_next_far(b, p, len, *base, *span, from, which);
            *base = r.base;
            *span = vpt_scan_span(r.base, len);

            return r.pos;
        }

        m = vpt_scan_mask(b, off >> 6, which) >> (off & 63);

        if (m) {
            return from + (unsigned) __builtin_ctzll(m);
        }

        from = (from | 63) + 1;
    }
}


static vpt_scan_far_t
vpt_scan_next_far(vpt_scan_blk_t *b, const unsigned char *p, size_t len,
    size_t base, size_t span, size_t from, unsigned which)
{
    size_t          w;
    uint64_t        m;
    vpt_scan_far_t  r;

    for ( ;; ) {
        if (from - base >= span) {
            if (from >= len) {
                r.pos = len;
                break;
            }

            base = from & ~(size_t) 63;
            span = vpt_scan_fill(b, p, len, base);
        }

        w = (from - base) >> 6;

        m = vpt_scan_mask(b, w, which) >> (from & 63);

        if (m) {
            r.pos = from + (unsigned) __builtin_ctzll(m);
            break;
        }

        from = (from | 63) + 1;
    }

    r.base = base;

    return r;
}


/*
 * The '>' among the 8 bytes of w (as in memory, p[q] first): bit 8k + 7
 * set for p[q + k]; VPT_SCAN_AT(k) is that bit, vpt_scan_at() back.
 */

#define VPT_SCAN_AT(k)  (1ULL << (8 * (k) + 7))

static inline uint64_t
vpt_scan_gt(uint64_t w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t  x;

    /* the top bit of each byte of x that is zero, exactly */
    x = w ^ 0x3e3e3e3e3e3e3e3eULL;

    return ~(((x & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | x
             | 0x7f7f7f7f7f7f7f7fULL);
#else
    unsigned        k;
    uint64_t        m;
    unsigned char   b[8];

    memcpy(b, &w, 8);
    m = 0;

    for (k = 0; k < 8; k++) {
        m |= (b[k] == '>') ? VPT_SCAN_AT(k) : 0;
    }

    return m;
#endif
}


static inline size_t
vpt_scan_at(uint64_t m)
{
    return (unsigned) __builtin_ctzll(m) >> 3;
}


/*
 * Whether lit, whose first k bytes are known to match at p[q], matches
 * there to its end or to the end of p: *pos = q then.
 */

static int
vpt_scan_lit(const unsigned char *p, size_t len, size_t q,
    const unsigned char *lit, size_t litlen, size_t k, size_t *pos)
{
    size_t  n;

    n = len - q;
    n = (n < litlen) ? n : litlen;

    while (k < n && vpt_scan_lower(p[q + k]) == lit[k]) {
        k++;
    }

    if (k < n) {
        return 0;
    }

    *pos = q;

    return 1;
}


/*
 * Whether the start tag whose name starts at p[q] opens raw text, or the
 * buffer ends too soon to tell: by its first letter, then the rest.
 */

static inline int
vpt_scan_is(const unsigned char *p, size_t len, size_t q, const char *name,
    size_t n)
{
    size_t         k;
    unsigned char  c;

    for (k = 1; k < n; k++) {
        if (q + k >= len) {
            return 1;
        }

        /* (b | 0x20) is a lowercase letter only for that letter */
        if ((p[q + k] | 0x20) != (unsigned char) name[k]) {
            return 0;
        }
    }

    if (q + n >= len) {
        return 1;
    }

    c = p[q + n];

    return c == '>' || c == '/' || c == ' ' || c == '\n' || c == '\t'
           || c == '\r' || c == '\f';
}


/*
 * The second letters, as bits, of the raw text elements' names by their
 * first letter: sc st ti te xm if no pl.  Most names ("p", "td", "span")
 * are ruled out by one lookup.
 */

#define VPT_SCAN_B(c)  (1u << ((c) - 'a'))

static const uint32_t  vpt_scan_raw2[26] = {
    ['i' - 'a'] = VPT_SCAN_B('f'),
    ['n' - 'a'] = VPT_SCAN_B('o'),
    ['p' - 'a'] = VPT_SCAN_B('l'),
    ['s' - 'a'] = VPT_SCAN_B('c') | VPT_SCAN_B('t'),
    ['t' - 'a'] = VPT_SCAN_B('i') | VPT_SCAN_B('e'),
    ['x' - 'a'] = VPT_SCAN_B('m')
};


static inline int
vpt_scan_raw(const unsigned char *p, size_t len, size_t q)
{
    unsigned  c2;

    /* p[q] is a letter; (b | 0x20) - 'a' < 26 only for letters */
    if (q + 1 < len) {
        c2 = (unsigned) ((p[q + 1] | 0x20) - 'a');

        if (c2 >= 26 || !((vpt_scan_raw2[(p[q] | 0x20) - 'a'] >> c2) & 1)) {
            return 0;
        }
    }

    switch (p[q] | 0x20) {

    case 's':
        return vpt_scan_is(p, len, q, "script", 6)
               || vpt_scan_is(p, len, q, "style", 5);

    case 't':
        return vpt_scan_is(p, len, q, "title", 5)
               || vpt_scan_is(p, len, q, "textarea", 8);

    case 'x':
        return vpt_scan_is(p, len, q, "xmp", 3);

    case 'i':
        return vpt_scan_is(p, len, q, "iframe", 6);

    case 'n':
        return vpt_scan_is(p, len, q, "noembed", 7)
               || vpt_scan_is(p, len, q, "noframes", 8)
               || vpt_scan_is(p, len, q, "noscript", 8);

    case 'p':
        return vpt_scan_is(p, len, q, "plaintext", 9);

    default:
        return 0;
    }
}


const char *
vpt_scan_path(void)
{
#if defined(VPT_HAVE_AVX2)
    if (vpt_scan_has_avx2 < 0) {
        __builtin_cpu_init();
        vpt_scan_has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
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


vpt_scan_e
vpt_scan(vpt_html_t *h, const unsigned char *p, size_t len,
    const unsigned char *lit, size_t litlen, size_t *pos)
{
    size_t                i, q, e, k, prev;
    unsigned              st;
    size_t                lhead, base, span;
    uint64_t              gt, w, lword, lfold, lmask;
    unsigned char         c, word[24];
    vpt_scan_blk_t        b;
    const unsigned char  *f;

    i = 0;

    if (!vpt_html_at_data(h)) {
        i = vpt_html_skip(h, p, len);
    }

    if (i >= len) {
        return VPT_SCAN_NONE;
    }

    if (vpt_scan_has_avx2 < 0) {
        (void) vpt_scan_path();
    }

    /* masks are always at hand for [base, base + span) */
    base = i & ~(size_t) 63;
    span = vpt_scan_fill(&b, p, len, base);

    lhead = (litlen < 8) ? litlen : 8;
    /* without a literal, a head no '<' matches */
    lword = 1;
    lfold = 0;
    lmask = 0;

    if (lit != NULL) {
        /* the literal's first bytes as a word, where case folds, its mask */
        memset(word, 0, sizeof(word));

        for (k = 0; k < 8; k++) {
            word[k] = (k < lhead) ? lit[k] : 0;
            word[8 + k] = (k < lhead && lit[k] >= 'a' && lit[k] <= 'z')
                          ? 0x20 : 0;
            word[16 + k] = (k < lhead) ? 0xff : 0;
        }

        memcpy(&lword, word, 8);
        memcpy(&lfold, word + 8, 8);
        memcpy(&lmask, word + 16, 8);
    }

    for ( ;; ) {

        /* i is read in the data state: to its next '<', often i itself */

        if (i < len && p[i] == '<') {
            q = i;

        } else {
            q = VPT_SCAN_NEXT(i, VPT_SCAN_LT);
            if (q == len) {
                return VPT_SCAN_NONE;
            }
        }

        if (len - q < 8) {
            /* the buffer's last few bytes: the exact tokenizer reads them */
            if (lit != NULL
                && vpt_scan_lit(p, len, q, lit, litlen, 1, pos))
            {
                return (len - q >= litlen) ? VPT_SCAN_MATCH
                                           : VPT_SCAN_PARTIAL;
            }

            goto slow;
        }

        /* its first 8 bytes: the literal's head (never, without one) */
        memcpy(&w, p + q, 8);

        if (((w | lfold) & lmask) == lword
            && vpt_scan_lit(p, len, q, lit, litlen, lhead, pos))
        {
            return (len - q >= litlen) ? VPT_SCAN_MATCH : VPT_SCAN_PARTIAL;
        }

        c = p[q + 1];

        if (c == '/') {
            /*
             * An end tag: to its first '>', unless a quote opening a value
             * comes first.  Quotes are rare in end tags: all go slow.
             */

            if (!vpt_scan_alpha(p[q + 2])) {
                goto slow;
            }

            e = VPT_SCAN_NEXT(q + 3, VPT_SCAN_GTQ);
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

        /*
         * A start tag.  A quote opens a value at q + 5 ("<a b=") at the
         * earliest, so a '>' before it ends the tag; names of one or two
         * letters open no raw text.
         */

        gt = vpt_scan_gt(w)
             & (VPT_SCAN_AT(2) | VPT_SCAN_AT(3) | VPT_SCAN_AT(4)
                | VPT_SCAN_AT(5));

        if (gt & (VPT_SCAN_AT(2) | VPT_SCAN_AT(3))) {
            i = q + vpt_scan_at(gt) + 1;
            continue;
        }

        /* raw text elements are known by their letters */

        if (vpt_scan_raw(p, len, q + 1)) {
            /* the exact tokenizer reads the tag and its raw text */
            goto slow;
        }

        if (gt) {
            i = q + vpt_scan_at(gt) + 1;
            continue;
        }

        /* the name's end: '>', or whitespace or '/' before attributes */

        e = VPT_SCAN_NEXT(q + 2, VPT_SCAN_TAG);
        if (e == len) {
            goto slow;
        }

        c = p[e];

        if (c == '>') {
            i = e + 1;
            continue;
        }

        if (c == '=' || c == '"' || c == '\'') {
            /* part of an odd name */
            goto slow;
        }

    names:

        /*
         * p[e] is whitespace or '/' read before an attribute name, so is
         * p[e + 1].  Bytes none of gtq and wse then make a name, and the
         * usual next is '>', which ends the tag, or "=" and a quote, which
         * opens a value.  Anything else takes the attribute states.
         */

        k = VPT_SCAN_NEXT(e + 1, VPT_SCAN_TAG);
        if (k == len) {
            goto slow;
        }

        c = p[k];

        if (c == '>') {
            i = k + 1;
            continue;
        }

        if (c != '=' || k == e + 1 || k + 1 == len) {
            goto walk;
        }

        c = p[++k];

        if (c != '"' && c != '\'') {
            /* back to the byte before the name: the states from there */
            goto walk;
        }

    value:

        /* a quoted value from k: usually the next of gtq is its end */

        e = VPT_SCAN_NEXT(k + 1, VPT_SCAN_GTQ);

        if (e < len && p[e] != c) {
            f = memchr(p + e + 1, c, len - e - 1);
            e = f ? (size_t) (f - p) : len;
        }

        if (e + 1 >= len) {
            goto slow;
        }

        /*
         * After a quoted value: '>' ends the tag, whitespace or '/' is read
         * before a name, anything else starts one (the attribute states).
         */

        c = p[++e];

        if (c == '>') {
            i = e + 1;
            continue;
        }

        if (vpt_scan_space(c)) {
            goto names;
        }

    walk:

        /* anything else: the attribute states, a step per byte of wse */

        st = VPT_SCAN_BAN;
        prev = e;

        for ( ;; ) {
            e = VPT_SCAN_NEXT(prev, VPT_SCAN_TAG);
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
static void
vpt_scan_avx2(const unsigned char *q, size_t n, uint64_t *lts,
    uint64_t *gtqs, uint64_t *wses)
{
    size_t   k;
    __m256i  v0, v1, c0, c1, lo, hi, nib, lt, gtq, gtqa, wse, wsea, gtq0,
             gtq1, wse0, wse1;

    lo = _mm256_setr_epi8(0x02, 0, 0x04, 0, 0, 0, 0, 0x04,
                          0, 0x01, 0x01, 0, 0x09, 0x11, 0x20, 0x02,
                          0x02, 0, 0x04, 0, 0, 0, 0, 0x04,
                          0, 0x01, 0x01, 0, 0x09, 0x11, 0x20, 0x02);
    hi = _mm256_setr_epi8(0x01, 0, 0x06, 0x38, 0, 0, 0, 0,
                          0, 0, 0, 0, 0, 0, 0, 0,
                          0x01, 0, 0x06, 0x38, 0, 0, 0, 0,
                          0, 0, 0, 0, 0, 0, 0, 0);
    nib = _mm256_set1_epi8(0x0f);
    lt = _mm256_set1_epi8('<');
    gtq = _mm256_set1_epi8(0x24);
    gtqa = _mm256_set1_epi8(0x7c);
    wse = _mm256_set1_epi8(0x13);
    wsea = _mm256_set1_epi8(0x7f);

    for (k = 0; k < n; k++, q += 64) {
        v0 = _mm256_loadu_si256((const __m256i *) q);
        v1 = _mm256_loadu_si256((const __m256i *) (q + 32));

        c0 = _mm256_and_si256(_mm256_shuffle_epi8(lo, v0),
                 _mm256_shuffle_epi8(hi,
                     _mm256_and_si256(_mm256_srli_epi16(v0, 4), nib)));
        c1 = _mm256_and_si256(_mm256_shuffle_epi8(lo, v1),
                 _mm256_shuffle_epi8(hi,
                     _mm256_and_si256(_mm256_srli_epi16(v1, 4), nib)));

        lts[k] = (uint32_t) _mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, lt))
                 | (uint64_t) (uint32_t) _mm256_movemask_epi8(
                       _mm256_cmpeq_epi8(v1, lt)) << 32;

        /* a class's bits plus (0x80 - its lowest bit): the top bit */
        gtq0 = _mm256_add_epi8(_mm256_and_si256(c0, gtq), gtqa);
        gtq1 = _mm256_add_epi8(_mm256_and_si256(c1, gtq), gtqa);
        wse0 = _mm256_add_epi8(_mm256_and_si256(c0, wse), wsea);
        wse1 = _mm256_add_epi8(_mm256_and_si256(c1, wse), wsea);

        gtqs[k] = (uint32_t) _mm256_movemask_epi8(gtq0)
                  | (uint64_t) (uint32_t) _mm256_movemask_epi8(gtq1) << 32;
        wses[k] = (uint32_t) _mm256_movemask_epi8(wse0)
                  | (uint64_t) (uint32_t) _mm256_movemask_epi8(wse1) << 32;
    }
}

#endif


#if defined(__SSE2__)

static void
vpt_scan_sse2(const unsigned char *q, size_t n, uint64_t *lts,
    uint64_t *gtqs, uint64_t *wses)
{
    int       i;
    size_t    k;
    uint64_t  lt, gtq, wse;
    __m128i   v, g, w;

    for (k = 0; k < n; k++, q += 64) {
        lt = 0;
        gtq = 0;
        wse = 0;

        for (i = 0; i < 4; i++) {
            v = _mm_loadu_si128((const __m128i *) (q + 16 * i));

            g = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('>')),
                    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\''))));

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

        lts[k] = lt;
        gtqs[k] = gtq;
        wses[k] = wse;
    }
}

#else

/* other architectures: a byte at a time, 1 lt, 2 gtq, 4 wse */

static const unsigned char  vpt_scan_class[256] = {
    ['<'] = 1, ['>'] = 2, ['"'] = 2, ['\''] = 2,
    ['\t'] = 4, ['\n'] = 4, ['\f'] = 4, ['\r'] = 4, [' '] = 4, ['/'] = 4,
    ['='] = 4
};


static void
vpt_scan_plain(const unsigned char *q, size_t n, uint64_t *lts,
    uint64_t *gtqs, uint64_t *wses)
{
    int       i;
    size_t    k;
    unsigned  c;
    uint64_t  lt, gtq, wse;

    for (k = 0; k < n; k++, q += 64) {
        lt = 0;
        gtq = 0;
        wse = 0;

        for (i = 0; i < 64; i++) {
            c = vpt_scan_class[q[i]];
            lt |= (uint64_t) (c & 1) << i;
            gtq |= (uint64_t) ((c >> 1) & 1) << i;
            wse |= (uint64_t) ((c >> 2) & 1) << i;
        }

        lts[k] = lt;
        gtqs[k] = gtq;
        wses[k] = wse;
    }
}

#endif


static void
vpt_scan_classify(const unsigned char *q, size_t n, uint64_t *lts,
    uint64_t *gtqs, uint64_t *wses)
{
#if defined(VPT_HAVE_AVX2)
    if (vpt_scan_has_avx2) {
        vpt_scan_avx2(q, n, lts, gtqs, wses);
        return;
    }

    vpt_scan_sse2(q, n, lts, gtqs, wses);
#elif defined(__SSE2__)
    vpt_scan_sse2(q, n, lts, gtqs, wses);
#else
    vpt_scan_plain(q, n, lts, gtqs, wses);
#endif
}


/*
 * Classifies up to VPT_SCAN_BLOCKS blocks from p[base] (base < len); a
 * last, partial block is copied into zeroes first.  Returns how many bytes
 * the masks cover.
 */

static size_t
vpt_scan_fill(vpt_scan_blk_t *b, const unsigned char *p, size_t len,
    size_t base)
{
    size_t         full;
    unsigned char  tail[64];

    full = (len - base) / 64;
    full = (full < VPT_SCAN_BLOCKS) ? full : VPT_SCAN_BLOCKS;

    vpt_scan_classify(p + base, full, b->lt, b->gtq, b->wse);

    if (full < VPT_SCAN_BLOCKS && base + full * 64 < len) {
        memset(tail, 0, sizeof(tail));
        memcpy(tail, p + base + full * 64, len - base - full * 64);
        vpt_scan_classify(tail, 1, b->lt + full, b->gtq + full,
                          b->wse + full);
        full++;
    }

    return full * 64;
}
