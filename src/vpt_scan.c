/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The structural scanner of vpt_scan.h: a walk per tag, not per event.
 *
 * Masks (vpt_scan_mask.c): the bytes from base (a multiple of 64) to
 * cend, at most VPT_SCAN_BLOCKS blocks (the window), are classified into
 * two bitmasks, '<' and ev ('>' and both quotes); bit k of word w stands
 * for p[base + 64 w + k].
 *
 * In the data state the next '<' is the next bit of the '<' mask: text
 * costs nothing.  The two bytes after it, by one table, say what it opens:
 * text, a tag, something rare (comment, doctype, "<?", "</" and no
 * letter: the exact tokenizer's) or maybe a raw text element (its name is
 * then compared; raw text goes to the exact tokenizer).  The literals are
 * compared there too, after a filter on those two bytes.  A tag, start or
 * end (the tokenizer reads both alike), ends at the first '>' outside its
 * quoted values, and the values are paired blindly from the masks: the
 * first quote opens, the next quote of its type closes, the first quote
 * after that opens again.
 *
 * Why blind pairing finds the tokenizer's '>': as long as both agree on
 * whether (and in which quote) a byte is in a value, they agree on every
 * quote, so the first quote they disagree on is one the pairing opens and
 * the tokenizer reads as text (in a name or an unquoted value).  If the
 * pair (o, c) holds no other quote and no '>', the tokenizer reads all of
 * it outside values, and c is text to it too (agreement again) unless c
 * really opens a value, which only a quote right after '=' or whitespace
 * does: so a closer after '=' or whitespace, or a pair holding '>' or the
 * other quote, is taken only when its opener surely opens a value for the
 * tokenizer (vpt_scan_opener: "name=" right before it, the name after
 * whitespace that does not follow '=', no other '=' between), else the
 * tag is the exact tokenizer's.  Counterexamples to weaker rules:
 * <a ="x="y>z" w>, <a="x y="z>" w>, <a b=c="x>, <a x"b='c"d>.
 *
 * A tag cut by the end of the window is walked again from a window
 * starting at its '<'; one cut by the end of the buffer, or longer than a
 * window, is the exact tokenizer's, which reads from its '<' to its next
 * byte in the data state and hands back.  Nothing the walk did inside
 * such a tag is kept but its place.
 *
 * Measured with callgrind (bench-splice scan, 4 KB buffers): see
 * docs/performance.md.
 */

#include <string.h>

#include "vpt_scan_int.h"


static int  vpt_scan_bmi_ok;           /* vpt_scan_cpu_bmi(), once */


/*
 * Whitespace (CR too) and '/', which end a tag's name, and quotes: no
 * attribute name ends with any of them before its '='.
 */
static const unsigned char  vpt_scan_sp[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1, ['/'] = 1,
    ['"'] = 2, ['\''] = 2
};

/* HTML's whitespace (CR read as LF), and '=': what a real opener follows */
static const unsigned char  vpt_scan_wseq[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1, ['='] = 2
};

/* no literal has any second or third byte */
static const unsigned char  vpt_scan_none[768];


/* what a '<' read in the data state opens, by the two bytes after it */
enum {
    VPT_SCAN_TAG = 0,      /* a start tag (no raw text element) or end tag */
    VPT_SCAN_TEXT,         /* nothing: the '<' was text */
    VPT_SCAN_RAW,          /* a start tag that may open raw text */
    VPT_SCAN_ODD           /* "<!", "<?", "</" and no letter: exact */
};

/* by the two bytes after '<' (a 16-bit load), filled by vpt_scan_init() */
static unsigned char  vpt_scan_open[65536];
static int            vpt_scan_ready;


static void vpt_scan_init(void);
static size_t vpt_scan_slow(vpt_html_t *h, const unsigned char *p,
    size_t len, size_t q);
static vpt_scan_e vpt_scan_lits_at(const vpt_scan_lits_t *lits,
    const unsigned char *p, size_t len, size_t q, unsigned cand,
    unsigned *which);
static int vpt_scan_raw(const unsigned char *p, size_t len, size_t q);
static int vpt_scan_opener(const unsigned char *p, size_t s, size_t o);


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

    /*
     * the 64 KB table now, while the configuration is read: in nginx's
     * master, so workers share it and no page pays for building it
     */
    if (!vpt_scan_ready) {
        vpt_scan_init();
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

        /* the bytes after '<' rule out most literals at most tags */
        vpt_scan_lits_byte(set->next, lit[i], len[i], 1, i);
        vpt_scan_lits_byte(set->next + 256, lit[i], len[i], 2, i);
        vpt_scan_lits_byte(set->next + 512, lit[i], len[i], 3, i);
    }

    set->n = n;

    return VPT_OK;
}






/*
 * Where the walk is in the data state: the word of masks, its bytes and
 * the '<' of it not read yet.
 */

typedef struct {
    const vpt_scan_word_t  *lw;
    const unsigned char    *wp;
    uint64_t                m;
} vpt_scan_at_t;


/*
 * Moves on to the next word with events when *g has none left: 0 at the
 * end of the window.  Inlined into the walk, so it costs what the loop did.
 */

static inline __attribute__((always_inline)) int
vpt_scan_ev_more(const vpt_scan_word_t **ew, const unsigned char **ep,
    uint64_t *g, const vpt_scan_word_t *end)
{
    while (*g == 0) {
        if (++*ew == end) {
            return 0;
        }

        *g = (*ew)->ev;
        *ep += 64;
    }

    return 1;
}


/*
 * The common case, in few registers: tags that are no literal's, no raw
 * text element's, whose quotes (if any) each close at the next event, not
 * after '=' or whitespace.  Returns 0 at the end of the window (at->lw is
 * end), 1 at any other '<' (the lowest bit of at->m), which the caller
 * reads.
 */

static inline __attribute__((always_inline)) int
vpt_scan_run(vpt_scan_at_t *at, const vpt_scan_word_t *end,
    const unsigned char *lim, const unsigned char *next)
{
    size_t                  b, e;
    uint16_t                u;
    uint64_t                m, g;
    unsigned char           t;
    const unsigned char    *wp, *ep, *qp;
    const vpt_scan_word_t  *lw, *ew;

    lw = at->lw;
    wp = at->wp;
    m = at->m;

    for ( ;; ) {
        while (m == 0) {
            if (++lw == end) {
                at->lw = lw;
                return 0;
            }

            m = lw->lt;
            wp += 64;
        }

        b = (size_t) __builtin_ctzll(m);
        qp = wp + b;

        if (qp >= lim) {
            break;
        }

        memcpy(&u, qp + 1, 2);

        if ((next[qp[1]] & next[256 + qp[2]]) | vpt_scan_open[u]) {
            break;
        }

        /* within the word first: lw and wp stay where the tag starts */

        g = lw->ev & (~1ULL << b);

        while (g) {
            e = (size_t) __builtin_ctzll(g);
            t = wp[e];

            if (t == '>') {
                m = lw->lt & (~1ULL << e);
                goto next;
            }

            g &= g - 1;

            if (g == 0) {
                ew = lw;
                ep = wp;
                goto value;
            }

            e = (size_t) __builtin_ctzll(g);

            if (wp[e] != t || vpt_scan_wseq[(wp + e)[-1]]) {
                goto stop;
            }

            g &= g - 1;
        }

        /* across words: ew and ep move on */

        ew = lw;
        ep = wp;

    tag:

        if (!vpt_scan_ev_more(&ew, &ep, &g, end)) {
            goto stop;
        }

        e = (size_t) __builtin_ctzll(g);
        t = ep[e];

        if (t == '>') {
            /* the '<' after the tag's end */
            lw = ew;
            wp = ep;
            m = lw->lt & (~1ULL << e);
            goto next;
        }

        g &= g - 1;

    value:

        if (!vpt_scan_ev_more(&ew, &ep, &g, end)) {
            goto stop;
        }

        e = (size_t) __builtin_ctzll(g);

        /* (ep + e)[-1] is in p: the opener is before it */

        if (ep[e] != t || vpt_scan_wseq[(ep + e)[-1]]) {
            goto stop;
        }

        g &= g - 1;
        goto tag;

    next:

        continue;
    }

stop:

    at->lw = lw;
    at->wp = wp;
    at->m = m;

    return 1;
}


#if defined(VPT_HAVE_AVX2)

__attribute__((target("bmi,bmi2"), noinline))
static int
vpt_scan_run_bmi(vpt_scan_at_t *at, const vpt_scan_word_t *end,
    const unsigned char *lim, const unsigned char *next)
{
    return vpt_scan_run(at, end, lim, next);
}

#endif


__attribute__((noinline))
static int
vpt_scan_run_std(vpt_scan_at_t *at, const vpt_scan_word_t *end,
    const unsigned char *lim, const unsigned char *next)
{
    return vpt_scan_run(at, end, lim, next);
}


/*
 * The walk, compiled twice: with BMI1/2 (one instruction for each count
 * of trailing zeros, lowest bit cleared and variable shift) for the CPUs
 * that have AVX2, and without.
 */

static inline __attribute__((always_inline)) vpt_scan_e
vpt_scan_walk(vpt_html_t *h, const unsigned char *p, size_t len,
    const vpt_scan_lits_t *lits, size_t *pos, unsigned *which, int bmi)
{
    int                     r;
    size_t                  i, q, s, o, base, cend, b, e;
    unsigned                a, in, cand;
    uint16_t                u;
    uint64_t                m, g;
    vpt_scan_e              rc;
    unsigned char           t;
    vpt_scan_at_t           at;
    vpt_scan_masks_t        mk;
    const unsigned char    *wp, *ep, *qp, *lim, *next;
    const vpt_scan_word_t  *lw, *ew, *end;

    i = 0;

    if (!vpt_html_at_data(h)) {
        i = vpt_html_skip(h, p, len);
    }

    if (i >= len) {
        return VPT_SCAN_NONE;
    }

    next = (lits != NULL && lits->n) ? lits->next : vpt_scan_none;

    /* from lim on, fewer than 8 bytes follow a '<' */
    lim = p + ((len > 8) ? len - 7 : 0);

    /* so that compilers see them set on every path */
    q = 0;
    o = 0;
    t = 0;

window:

    /* masks from the block of p[i], read in the data state, i < len */

    base = i & ~(size_t) 63;
    cend = vpt_scan_fill(&mk, p, len, base);
    end = mk.w + ((cend - base + 63) >> 6);

read:

    /* p[i], i in [base, cend), is read in the data state */

    lw = mk.w + ((i - base) >> 6);
    wp = p + (i & ~(size_t) 63);
    m = lw->lt & (~0ULL << (i & 63));

data:

    /* the next '<': the lowest bit of m, or of a later word's */

    at.lw = lw;
    at.wp = wp;
    at.m = m;

#if defined(VPT_HAVE_AVX2)
    r = bmi ? vpt_scan_run_bmi(&at, end, lim, next)
            : vpt_scan_run_std(&at, end, lim, next);
#else
    r = vpt_scan_run_std(&at, end, lim, next);
#endif

    if (r == 0) {
        if (cend == len) {
            return VPT_SCAN_NONE;
        }

        i = cend;
        goto window;
    }

    lw = at.lw;
    wp = at.wp;
    m = at.m;

    /* a '<' the common case does not cover */

    b = (size_t) __builtin_ctzll(m);
    qp = wp + b;

    if (qp >= lim) {
        /* the buffer's last bytes: literals byte by byte, then slow */

        q = (size_t) (qp - p);

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

    cand = next[qp[1]] & next[256 + qp[2]];
    memcpy(&u, qp + 1, 2);
    a = vpt_scan_open[u];

    if (cand | a) {
        q = (size_t) (qp - p);

        /* "</b" is "</button>" more often than "</body>" */
        cand &= next[512 + qp[3]];

        if (cand) {
            rc = vpt_scan_lits_at(lits, p, len, q, cand, which);
            if (rc != VPT_SCAN_NONE) {
                *pos = q;
                return rc;
            }
        }

        if (a == VPT_SCAN_TEXT) {
            /* "a < b", "x<<": the '<' was text, and so is its next */
            m &= m - 1;
            goto data;
        }

        if (a == VPT_SCAN_ODD || (a == VPT_SCAN_RAW && vpt_scan_raw(p, len,
                                                                    q + 1)))
        {
            goto slow;
        }
    }

    /*
     * The tag, which vpt_scan_run() did not take: its events ('>' and
     * quotes) from word ew on, g the bits left of it, ep its bytes; s
     * where it is outside values since, o the last opener.
     */

    ew = lw;
    ep = wp;
    g = ew->ev & (~1ULL << b);
    s = (size_t) (qp - p) + 1;

tag:

    while (g == 0) {
        if (++ew == end) {
            goto cut;
        }

        g = ew->ev;
        ep += 64;
    }

    e = (size_t) __builtin_ctzll(g);
    g &= g - 1;

    if (ep[e] == '>') {
        /* the '<' after the tag's end */
        lw = ew;
        wp = ep;
        m = lw->lt & (~1ULL << e);
        goto data;
    }

    /* a quote opens: the next of its kind closes; in: anything between */

    o = (size_t) (ep - p) + e;
    t = ep[e];
    in = 0;

    while (g == 0) {
        if (++ew == end) {
            goto cut;
        }

        g = ew->ev;
        ep += 64;
    }

    e = (size_t) __builtin_ctzll(g);
    g &= g - 1;

    if (ep[e] != t) {
        /*
         * Other events in the value ('>', the other quote: JSON in an
         * attribute): its closer by a mask of its quote alone.
         */

        in = 1;
        m = vpt_scan_eq(ep, p + len, t) & (~1ULL << e);

        while (m == 0) {
            if (++ew == end) {
                goto cut;
            }

            ep += 64;
            m = vpt_scan_eq(ep, p + len, t);
        }

        e = (size_t) __builtin_ctzll(m);
        g = ew->ev & (~1ULL << e);
    }

    /* p[o] is before the closer */

    if ((in || vpt_scan_wseq[(ep + e)[-1]]) && !vpt_scan_opener(p, s, o)) {
        q = (size_t) (qp - p);
        goto slow;
    }

    s = (size_t) (ep - p) + e + 1;
    goto tag;

cut:

    /* again from a window that starts with the tag, if one can */

    q = (size_t) (qp - p);

    if (cend == len || (q & ~(size_t) 63) == base) {
        goto slow;
    }

    i = q;
    goto window;

slow:

    i = vpt_scan_slow(h, p, len, q);

    if (i >= len) {
        return VPT_SCAN_NONE;
    }

    if (i >= base && i < cend) {
        goto read;
    }

    goto window;
}


#if defined(VPT_HAVE_AVX2)

__attribute__((target("bmi,bmi2")))
static vpt_scan_e
vpt_scan_bmi(vpt_html_t *h, const unsigned char *p, size_t len,
    const vpt_scan_lits_t *lits, size_t *pos, unsigned *which)
{
    return vpt_scan_walk(h, p, len, lits, pos, which, 1);
}

#endif


vpt_scan_e
vpt_scan(vpt_html_t *h, const unsigned char *p, size_t len,
    const vpt_scan_lits_t *lits, size_t *pos, unsigned *which)
{
    if (!vpt_scan_ready) {
        vpt_scan_init();
    }

#if defined(VPT_HAVE_AVX2)
    if (vpt_scan_bmi_ok) {
        return vpt_scan_bmi(h, p, len, lits, pos, which);
    }
#endif

    return vpt_scan_walk(h, p, len, lits, pos, which, 0);
}


static int
vpt_scan_raw2(unsigned c1, unsigned c2)
{
    static const char  *pre[] = {
        "sc", "st", "ti", "te", "xm", "if", "no", "pl"
    };
    unsigned            k;

    for (k = 0; k < sizeof(pre) / sizeof(pre[0]); k++) {
        if ((c1 | 0x20) == (unsigned char) pre[k][0]
            && (c2 | 0x20) == (unsigned char) pre[k][1])
        {
            return 1;
        }
    }

    return 0;
}


#define vpt_scan_alpha(c)  (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')

static void
vpt_scan_init(void)
{
    unsigned       c1, c2, a;
    uint16_t       u;
    unsigned char  pair[2];

    vpt_scan_bmi_ok = vpt_scan_cpu_bmi();

    for (c1 = 0; c1 < 256; c1++) {
        for (c2 = 0; c2 < 256; c2++) {
            if (vpt_scan_alpha(c1)) {
                /* raw text names by their first two letters */
                a = vpt_scan_raw2(c1, c2) ? VPT_SCAN_RAW : VPT_SCAN_TAG;

            } else if (c1 == '/') {
                a = vpt_scan_alpha(c2) ? VPT_SCAN_TAG : VPT_SCAN_ODD;

            } else if (c1 == '!' || c1 == '?') {
                a = VPT_SCAN_ODD;

            } else {
                a = VPT_SCAN_TEXT;
            }

            /* indexed by the two bytes as one 16-bit load reads them */
            pair[0] = (unsigned char) c1;
            pair[1] = (unsigned char) c2;
            memcpy(&u, pair, 2);
            vpt_scan_open[u] = (unsigned char) a;
        }
    }

    vpt_scan_ready = 1;
}


/*
 * Whether the quote at p[o] surely opens a value for the exact tokenizer,
 * which is in the tag, outside values, at p[s] (s after the tag's '<' or
 * after a quote), with no quote or '>' in p[s, o): "name=" right before
 * it, so the tokenizer is in the name (not in the tag's name, not in an
 * unquoted value) at the '=': some whitespace before the name, after a
 * byte that is not '=' (whitespace after "name=" is the value's), and no
 * other '=' between.
 */

static int
vpt_scan_opener(const unsigned char *p, size_t s, size_t o)
{
    size_t  k;

    if (o < s + 2 || p[o - 1] != '=' || vpt_scan_wseq[p[o - 2]]
        || p[o - 2] == '/')
    {
        return 0;
    }

    for (k = o - 3; ; k--) {
        if (k < s || p[k] == '=') {
            return 0;
        }

        if (vpt_scan_wseq[p[k]]) {
            break;
        }
    }

    /* p[s - 1] is '<' or a quote: the loop stops there */

    while (vpt_scan_wseq[p[k - 1]] == 1) {
        k--;
    }

    return p[k - 1] != '=';
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
    /* p[q] is a letter, and its next two a raw text name's (vpt_scan_raw2) */

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
