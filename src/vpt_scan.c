/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The structural scanner of vpt_scan.h.
 *
 * Events: the bytes from base (a multiple of 64) to cend, at most
 * VPT_SCAN_BLOCKS blocks, are classified into one bitmask, ev, of the
 * bytes that can change where a tag ends: '<', '>', '"', '\'' and '=';
 * bit i of word w stands for p[base + 64 w + i].  A last, partial block
 * is classified from a copy padded with zeroes.  AVX2 (chosen at run time,
 * as vpt_splice_lit.c does) and SSE2 classify with vector compares (one
 * table lookup and one compare a vector with AVX2), other architectures
 * byte by byte through a table.
 *
 * The walk takes the events in order, a few instructions each (count
 * trailing zeros, clear the lowest bit, read the byte), through a small
 * machine of the WHATWG tokenizer's states:
 *
 *   data   '<' starts a tag (its next byte says which) or is text; the
 *          literals are compared here; anything else is text.
 *   tag    in a start tag: '>' ends it; '=' after a name (no whitespace
 *          or '/' before it, the first after the tag's name) followed by
 *          a quote opens a value (open, then value); '<' is a name's.
 *   value  a quoted value: ends at the same quote, back to tag.
 *   etag   in an end tag: '>' ends it.
 *
 * A quote where no value opens, '=' not followed by a quote (an unquoted
 * value), "a =", "<!", "<?", raw text elements (known by their first
 * letters) and a tag cut by the end of the buffer are the exact
 * tokenizer's, from the tag's '<' to its next byte in the data state: rare
 * in pages, and always right.  Between the '<' and that byte nothing the
 * walk did is kept but its place.
 *
 * Measured with callgrind (bench-splice scan, 4 KB buffers): see
 * docs/performance.md.
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


/* blocks classified at a time: 2 KB, 256 bytes of masks on the stack */
#define VPT_SCAN_BLOCKS  32


static int  vpt_scan_has_avx2 = -1;    /* the CPU has it; -1: not asked yet */


/*
 * Whitespace (CR too) and '/', which end a tag's name, and quotes: no
 * attribute name ends with any of them before its '='.
 */
static const unsigned char  vpt_scan_sp[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1, ['/'] = 1,
    ['"'] = 2, ['\''] = 2
};

/* no literal has any second or third byte */
static const unsigned char  vpt_scan_none[512];


/* what the byte after a '<' read in the data state opens */
enum {
    VPT_SCAN_TEXT = 0,     /* nothing: the '<' was text */
    VPT_SCAN_ODD,          /* "<!", "<?": the exact tokenizer's */
    VPT_SCAN_END,          /* "</" */
    VPT_SCAN_NAME,         /* a start tag's name, no raw text element's */
    VPT_SCAN_RAW1          /* one that may be: s t x i n p */
};

#define VPT_SCAN_N(c)  [c] = VPT_SCAN_NAME, [c - 'a' + 'A'] = VPT_SCAN_NAME
#define VPT_SCAN_R(c)  [c] = VPT_SCAN_RAW1, [c - 'a' + 'A'] = VPT_SCAN_RAW1

static const unsigned char  vpt_scan_open[256] = {
    ['!'] = VPT_SCAN_ODD, ['?'] = VPT_SCAN_ODD, ['/'] = VPT_SCAN_END,
    VPT_SCAN_N('a'), VPT_SCAN_N('b'), VPT_SCAN_N('c'), VPT_SCAN_N('d'),
    VPT_SCAN_N('e'), VPT_SCAN_N('f'), VPT_SCAN_N('g'), VPT_SCAN_N('h'),
    VPT_SCAN_R('i'), VPT_SCAN_N('j'), VPT_SCAN_N('k'), VPT_SCAN_N('l'),
    VPT_SCAN_N('m'), VPT_SCAN_R('n'), VPT_SCAN_N('o'), VPT_SCAN_R('p'),
    VPT_SCAN_N('q'), VPT_SCAN_N('r'), VPT_SCAN_R('s'), VPT_SCAN_R('t'),
    VPT_SCAN_N('u'), VPT_SCAN_N('v'), VPT_SCAN_N('w'), VPT_SCAN_R('x'),
    VPT_SCAN_N('y'), VPT_SCAN_N('z')
};

#undef VPT_SCAN_N
#undef VPT_SCAN_R


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


static size_t vpt_scan_fill(uint64_t *ev, const unsigned char *p,
    size_t len, size_t base);
static size_t vpt_scan_slow(vpt_html_t *h, const unsigned char *p,
    size_t len, size_t q);
static vpt_scan_e vpt_scan_lits_at(const vpt_scan_lits_t *lits,
    const unsigned char *p, size_t len, size_t q, unsigned cand,
    unsigned *which);
static int vpt_scan_raw(const unsigned char *p, size_t len, size_t q);


/* bit i of t[b]: literal i may have b at offset k */

static void
vpt_scan_lits_byte(unsigned char *t, const unsigned char *lit, size_t len,
    size_t k, unsigned i)
{
    size_t  b;

    for (b = 0; b < 256; b++) {
        if (len <= k || b == lit[k]
            || (lit[k] >= 'a' && lit[k] <= 'z'
                && b == (size_t) (lit[k] & ~0x20)))
        {
            t[b] |= (unsigned char) (1u << i);
        }
    }
}


int
vpt_scan_lits_init(vpt_scan_lits_t *set, const unsigned char **lit,
    const size_t *len, unsigned n)
{
    size_t    k;
    unsigned  i;

    if (n > VPT_SCAN_LITS_MAX) {
        return VPT_ERROR;
    }

    memset(set, 0, sizeof(vpt_scan_lits_t));

    for (i = 0; i < n; i++) {
        if (len[i] == 0 || lit[i][0] != '<') {
            return VPT_ERROR;
        }

        for (k = 0; k < len[i]; k++) {
            if (lit[i][k] >= 'A' && lit[i][k] <= 'Z') {
                return VPT_ERROR;
            }
        }

        set->lit[i] = lit[i];
        set->len[i] = len[i];

        /* the two bytes after '<' rule out most literals at most tags */
        vpt_scan_lits_byte(set->next, lit[i], len[i], 1, i);
        vpt_scan_lits_byte(set->next + 256, lit[i], len[i], 2, i);
    }

    set->n = n;

    return VPT_OK;
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
    const vpt_scan_lits_t *lits, size_t *pos, unsigned *which)
{
    size_t                i, q, k, w, nw, wbase, base, cend, lim;
    unsigned              st, first;
    uint64_t              m;
    vpt_scan_e            rc;
    unsigned char         c, qc;
    uint64_t              ev[VPT_SCAN_BLOCKS];
    const unsigned char  *next;

    enum { DATA = 0, TAG, OPEN, VALUE, ETAG };

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

    next = (lits != NULL && lits->n) ? lits->next : vpt_scan_none;

    /* from lim on, fewer than 8 bytes follow a '<' */
    lim = (len > 8) ? len - 7 : 0;

    /* so that compilers see them set on every path */
    q = 0;
    qc = 0;
    first = 0;

    base = i & ~(size_t) 63;
    cend = vpt_scan_fill(ev, p, len, base);

at:

    /* the events from i on, i in [base, cend) and read in the data state */

    nw = (cend - base + 63) >> 6;
    w = (i - base) >> 6;
    wbase = base + (w << 6);
    m = ev[w] & (~0ULL << (i & 63));

    /*
     * The next event: k and its byte c.  At the end of the masks, refill
     * (st says where to go on) or, at the end of p, stop.
     */

#define VPT_SCAN_EVENT(state)                                                \
    while (m == 0) {                                                         \
        if (++w == nw) {                                                     \
            st = (state);                                                    \
            goto refill;                                                     \
        }                                                                    \
                                                                             \
        m = ev[w];                                                           \
        wbase += 64;                                                         \
    }                                                                        \
                                                                             \
    k = wbase + (unsigned) __builtin_ctzll(m);                               \
    m &= m - 1;                                                              \
    c = p[k]

data:

    VPT_SCAN_EVENT(DATA);

    if (c != '<') {
        goto data;
    }

    q = k;

    if (q >= lim) {
        /* the buffer's last bytes: literals byte by byte, then slow */

        if (lits != NULL && lits->n) {
            rc = vpt_scan_lits_at(lits, p, len, q, (1u << lits->n) - 1,
                                  which);
            if (rc != VPT_SCAN_NONE) {
                *pos = q;
                return rc;
            }
        }

        goto slow;
    }

    c = p[q + 1];

    if (next[c] & next[256 + p[q + 2]]) {
        rc = vpt_scan_lits_at(lits, p, len, q,
                              next[c] & next[256 + p[q + 2]], which);
        if (rc != VPT_SCAN_NONE) {
            *pos = q;
            return rc;
        }
    }

    switch (vpt_scan_open[c]) {

    case VPT_SCAN_RAW1:
        /* by the first two letters, then the name: with its text, slow */
        c = (unsigned char) ((p[q + 2] | 0x20) - 'a');

        if (c < 26 && ((vpt_scan_raw2[(p[q + 1] | 0x20) - 'a'] >> c) & 1)
            && vpt_scan_raw(p, len, q + 1))
        {
            goto slow;
        }

        /* fall through */

    case VPT_SCAN_NAME:
        first = 1;
        goto tag;

    case VPT_SCAN_END:
        if (vpt_scan_open[p[q + 2]] < VPT_SCAN_NAME) {
            goto slow;
        }

        goto etag;

    case VPT_SCAN_ODD:
        goto slow;

    default:
        /* "a < b", "x<<": the '<' was text, and so is c */
        goto data;
    }

tag:

    /* since the name or the last value: no '>', quote or '=' */

    VPT_SCAN_EVENT(TAG);

    if (c == '>') {
        goto data;
    }

    if (c == '<') {
        goto tag;
    }

    /* "name=" and a quote, the first name after the tag's */

    if (c != '=' || k + 1 == len) {
        goto slow;
    }

    qc = p[k + 1];

    if ((qc != '"' && qc != '\'') || vpt_scan_sp[p[k - 1]]) {
        goto slow;
    }

    if (first) {
        for (i = q + 2; i < k - 1 && !vpt_scan_sp[p[i]]; i++) {
            /* void */
        }

        if (i >= k - 1) {
            /* '=' in the tag's name */
            goto slow;
        }

        first = 0;
    }

    if ((k & 63) != 63) {
        /* the opening quote, k + 1, is the lowest bit left */
        m &= m - 1;
        goto value;
    }

open:

    VPT_SCAN_EVENT(OPEN);

value:

    VPT_SCAN_EVENT(VALUE);

    if (c != qc) {
        goto value;
    }

    goto tag;

etag:

    VPT_SCAN_EVENT(ETAG);

    if (c == '>') {
        goto data;
    }

    if (c == '<') {
        goto etag;
    }

    goto slow;

refill:

    if (cend == len) {
        if (st == DATA) {
            return VPT_SCAN_NONE;
        }

        /* a tag cut by the end of p */
        goto slow;
    }

    base = cend;
    cend = vpt_scan_fill(ev, p, len, base);
    nw = (cend - base + 63) >> 6;
    w = 0;
    wbase = base;
    m = ev[0];

    switch (st) {
    case DATA:   goto data;
    case TAG:    goto tag;
    case OPEN:   goto open;
    case VALUE:  goto value;
    default:     goto etag;
    }

slow:

    i = vpt_scan_slow(h, p, len, q);

    if (i >= len) {
        return VPT_SCAN_NONE;
    }

    if (i < base || i >= cend) {
        base = i & ~(size_t) 63;
        cend = vpt_scan_fill(ev, p, len, base);
    }

    goto at;

#undef VPT_SCAN_EVENT
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


/*
 * The literals of cand compared at p[q] to their ends or to the end of p:
 * partial matches first (the caller must hold them), then whole ones.
 */

static vpt_scan_e
vpt_scan_lits_at(const vpt_scan_lits_t *lits, const unsigned char *p,
    size_t len, size_t q, unsigned cand, unsigned *which)
{
    size_t                k, n, ll;
    unsigned              i, full, part;
    unsigned char         c;
    const unsigned char  *lit;

    full = 0;
    part = 0;

    for (i = 0; i < lits->n; i++) {
        if (!((cand >> i) & 1)) {
            continue;
        }

        lit = lits->lit[i];
        ll = lits->len[i];
        n = (len - q < ll) ? len - q : ll;

        for (k = 1; k < n; k++) {
            c = p[q + k];
            c = (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;

            if (c != lit[k]) {
                break;
            }
        }

        if (k == n) {
            if (n == ll) {
                full |= 1u << i;

            } else {
                part |= 1u << i;
            }
        }
    }

    if (part) {
        *which = part;
        return VPT_SCAN_PARTIAL;
    }

    if (full) {
        *which = full;
        return VPT_SCAN_MATCH;
    }

    return VPT_SCAN_NONE;
}


/*
 * Whether the start tag whose name starts at p[q] opens raw text, or the
 * buffer ends too soon to tell: by its letters.
 */

static inline int
vpt_scan_is(const unsigned char *p, size_t len, size_t q, const char *name,
    size_t n)
{
    size_t  k;

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

    return p[q + n] == '>' || vpt_scan_sp[p[q + n]] == 1;
}


static int
vpt_scan_raw(const unsigned char *p, size_t len, size_t q)
{
    /* p[q] is a letter, and its next two are in vpt_scan_raw2 */

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


/* --- block classifiers ------------------------------------------------ */

#if defined(VPT_HAVE_AVX2)

/*
 * ev by one lookup: the table holds, at each low nibble, the one event
 * byte with it ('"' 2, '\'' 7, '<' C, '=' D, '>' E) or a byte without it,
 * so a byte equals its lookup only when it is an event (vpshufb gives 0
 * for bytes >= 0x80, which no event equals).
 */

__attribute__((target("avx2")))
static void
vpt_scan_avx2(const unsigned char *q, size_t n, uint64_t *ev)
{
    size_t   k;
    __m256i  v0, v1, tab;

    tab = _mm256_setr_epi8(0x01, 0, 0x22, 0, 0, 0, 0, 0x27,
                           0, 0, 0, 0, 0x3c, 0x3d, 0x3e, 0,
                           0x01, 0, 0x22, 0, 0, 0, 0, 0x27,
                           0, 0, 0, 0, 0x3c, 0x3d, 0x3e, 0);

    for (k = 0; k < n; k++, q += 64) {
        v0 = _mm256_loadu_si256((const __m256i *) q);
        v1 = _mm256_loadu_si256((const __m256i *) (q + 32));

        ev[k] = (uint32_t) _mm256_movemask_epi8(
                    _mm256_cmpeq_epi8(_mm256_shuffle_epi8(tab, v0), v0))
                | (uint64_t) (uint32_t) _mm256_movemask_epi8(
                      _mm256_cmpeq_epi8(_mm256_shuffle_epi8(tab, v1), v1))
                  << 32;
    }
}

#endif


#if defined(__SSE2__)

static void
vpt_scan_sse2(const unsigned char *q, size_t n, uint64_t *ev)
{
    int       i;
    size_t    k;
    uint64_t  e;
    __m128i   v, lg, g;

    for (k = 0; k < n; k++, q += 64) {
        e = 0;

        for (i = 0; i < 4; i++) {
            v = _mm_loadu_si128((const __m128i *) (q + 16 * i));

            /* '<' '=' '>' are 0x3c..0x3e: one unsigned range compare */
            lg = _mm_cmpeq_epi8(
                     _mm_min_epu8(_mm_sub_epi8(v, _mm_set1_epi8(0x3c)),
                                  _mm_set1_epi8(2)),
                     _mm_sub_epi8(v, _mm_set1_epi8(0x3c)));

            g = _mm_or_si128(lg,
                    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\''))));

            e |= (uint64_t) (unsigned) _mm_movemask_epi8(g) << (16 * i);
        }

        ev[k] = e;
    }
}

#else

/* other architectures: a byte at a time */

static const unsigned char  vpt_scan_class[256] = {
    ['<'] = 1, ['>'] = 1, ['"'] = 1, ['\''] = 1, ['='] = 1
};


static void
vpt_scan_plain(const unsigned char *q, size_t n, uint64_t *ev)
{
    int       i;
    size_t    k;
    uint64_t  e;

    for (k = 0; k < n; k++, q += 64) {
        e = 0;

        for (i = 0; i < 64; i++) {
            e |= (uint64_t) vpt_scan_class[q[i]] << i;
        }

        ev[k] = e;
    }
}

#endif


static void
vpt_scan_classify(const unsigned char *q, size_t n, uint64_t *ev)
{
#if defined(VPT_HAVE_AVX2)
    if (vpt_scan_has_avx2) {
        vpt_scan_avx2(q, n, ev);
        return;
    }

    vpt_scan_sse2(q, n, ev);
#elif defined(__SSE2__)
    vpt_scan_sse2(q, n, ev);
#else
    vpt_scan_plain(q, n, ev);
#endif
}


/*
 * Classifies p[base, cend), cend = min(len, base + VPT_SCAN_BLOCKS * 64),
 * base < len; returns cend.
 */

static size_t
vpt_scan_fill(uint64_t *ev, const unsigned char *p, size_t len, size_t base)
{
    size_t         n, full;
    unsigned char  tail[64];

    n = len - base;
    n = (n < VPT_SCAN_BLOCKS * 64) ? n : VPT_SCAN_BLOCKS * 64;
    full = n / 64;

    vpt_scan_classify(p + base, full, ev);

    if (n & 63) {
        memset(tail, 0, sizeof(tail));
        memcpy(tail, p + base + full * 64, n & 63);
        vpt_scan_classify(tail, 1, ev + full);
    }

    return base + n;
}
