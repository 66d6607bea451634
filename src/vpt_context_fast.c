/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Past 800 lines on purpose: one reader of one format, whose every
 * verdict must be jansson's; its fields and its lexer read together.
 *
 * The context's fast path.  jansson parses a context of a few hundred
 * bytes in some 60k instructions (its lexer reads a byte at a time through
 * a callback and builds a hash table per object), which alone is more
 * than the module's whole CPU budget per page.  The contexts shops write
 * are plain: short strings, short numbers, shallow nesting.  This file
 * reads that subset of JSON in one pass, straight into the vpt_context_t,
 * and declines everything else, which then goes to jansson as before:
 *
 *   - a string with a control byte, a byte sequence that is not UTF-8 as
 *     jansson checks it (overlong, surrogates, past U+10FFFF), a "\u0000"
 *     (with JSON_ALLOW_NUL jansson keeps the string, the context reader
 *     then drops it: rare enough not to copy), or an escape jansson
 *     refuses (an unknown one, a lone or unpaired surrogate); other
 *     escapes are decoded as jansson decodes them;
 *   - a number of more than 63 bytes that is not plain, or one strtod()
 *     flags as out of range (jansson fails those: 1e400; or takes them
 *     with a range error we do not copy: 1e-400);
 *   - nesting deeper than VPT_FAST_DEPTH;
 *   - a key read by the ranker that appears twice in one object, and any
 *     repeated name in "features" (jansson keeps the last value at the
 *     first one's place: correct, but rare enough not to copy);
 *   - more than VPT_FAST_FEATURES names in "features";
 *   - anything that is not valid JSON, or a top-level value that is not
 *     an object (jansson then says bad_context, with no shortcut here);
 *   - an arena shorter than the text.
 *
 * So the fast path never decides differently from jansson: a context it
 * accepts gives the vpt_context_t that vpt_context_from_json() gives for
 * jansson's tree of the same text (same values and strings, in the same
 * order; only the strings' places in the arena differ).  The differential
 * fuzz target t/fuzz/fuzz_context_fast.c checks exactly that.
 *
 * Cost (bench/bench-context --callgrind: about 2,200 instructions for
 * the demo gift-buyer's 330 bytes, some 100 a member):
 *
 *   - the text is copied into the arena once, whole, and every string
 *     the context keeps points at its own bytes there: no copy per
 *     string.  A string with escapes is decoded over its own raw text in
 *     the copy, which it never outgrows ("\n" is 1 byte of 2, "\u00e9" 2
 *     of 6, a surrogate pair 4 of 12);
 *   - the root's closing '}' (the last byte but whitespace) stops every
 *     scan but a string's, so whitespace, digits and punctuation are
 *     read without a bounds check; only a string's scan, a name's quick
 *     match, a literal and each nested close compare with it;
 *   - a name read is matched, with its closing quote and ':', by one
 *     slot of a table hashed on its first 3 bytes and two masked word
 *     compares; the tables are built from vpt_context_int.h's names at
 *     the first parse.  Other names, and names with escapes or spaced
 *     from their ':', take the general way: decoded, then looked up;
 *   - whitespace is skipped only where the byte a reader expects is not
 *     there, and one space after ':' and ',' without a table;
 *   - each field's reader is inlined where it is read, numbers of up to
 *     15 digits without an exponent are converted inline, and anything
 *     else (skipped values, escapes, other numbers) goes to out-of-line
 *     code.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_context.h"
#include "vpt_context_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


#define VPT_FAST_DEPTH     32
#define VPT_FAST_FEATURES  64
#define VPT_FAST_REAL_MAX  63
#define VPT_FAST_NAME_MAX  14          /* names read, their quote and ':' */
#define VPT_FAST_SLOTS     64          /* in 2 words; slots per table */
#define VPT_FAST_SLOT_BITS 6


typedef const unsigned char  vpt_fj_u8;


typedef struct {
    vpt_fj_u8   *json;
    vpt_fj_u8   *last;          /* the root's closing '}' */
    vpt_fj_u8   *wide;          /* below it, 16 bytes from p on are
                                   before last: last - 16, or json */
    char        *arena;         /* the text's copy */
    uintptr_t    to_arena;      /* arena - json: a byte's copy is at
                                   its address plus this */
} vpt_fj_t;


/*
 * A name read, as the text after its opening quote shows it when written
 * as shops do: the name, its closing quote and the ':' right after it, in
 * two words (native order) with a mask each of the bytes that count
 */

typedef struct {
    uint64_t     w0, m0;        /* bytes 0 to 7 */
    uint64_t     w1, m1;        /* bytes 8 to 15, m1 0 for a short name */
    size_t       next;          /* from the opening quote to past the
                                   ':': the name's length + 3 */
    int          k;             /* -1: an empty slot, which nothing
                                   matches (m0 0, w0 not) */
    char         pad[64 - 5 * 8 - sizeof(int)];  /* a shift to index */
} vpt_fj_slot_t;


typedef struct {
    uint64_t              mult;
    const vpt_ctx_key_t  *keys;
    size_t                nkeys;
    vpt_fj_slot_t         slot[VPT_FAST_SLOTS];
} vpt_fj_names_t;


static vpt_fj_names_t  vpt_fj_root_names;
static vpt_fj_names_t  vpt_fj_user_names;
static vpt_fj_names_t  vpt_fj_order_names;
static vpt_fj_names_t  vpt_fj_history_names;
static vpt_fj_names_t  vpt_fj_item_names;
static int             vpt_fj_ready;   /* 0: not yet, 1: built, -1: failed */


/* a byte of a string that needs nothing: not '"', '\\', < 0x20, >= 0x80 */
static const unsigned char  vpt_fj_plain[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['0'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['@'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['P'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    ['`'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['p'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};


/* JSON's whitespace: ' ', '\t', '\n', '\r' */
static const unsigned char  vpt_fj_space[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1
};


static int vpt_fj_init(void) __attribute__((noinline, cold));
static int vpt_fj_names_init(vpt_fj_names_t *names,
    const vpt_ctx_key_t *keys, size_t nkeys);
static vpt_fj_u8 *vpt_fj_user(const vpt_fj_t *r, vpt_fj_u8 *p,
    vpt_context_t *ctx);
static vpt_fj_u8 *vpt_fj_order(const vpt_fj_t *r, vpt_fj_u8 *p,
    vpt_context_t *ctx);
static vpt_fj_u8 *vpt_fj_history(const vpt_fj_t *r, vpt_fj_u8 *p,
    vpt_context_t *ctx);
static vpt_fj_u8 *vpt_fj_items(const vpt_fj_t *r, vpt_fj_u8 *p,
    vpt_item_t *items, size_t *n, double *total);
static inline vpt_fj_u8 *vpt_fj_item(const vpt_fj_t *r, vpt_fj_u8 *p,
    vpt_item_t *it) __attribute__((always_inline));
static vpt_fj_u8 *vpt_fj_strs(const vpt_fj_t *r, vpt_fj_u8 *p,
    vpt_str_t *strs, size_t *n);
static vpt_fj_u8 *vpt_fj_features(const vpt_fj_t *r, vpt_fj_u8 *p,
    vpt_context_t *ctx);
static vpt_fj_u8 *vpt_fj_skip(const vpt_fj_t *r, vpt_fj_u8 *p, int depth);
static vpt_fj_u8 *vpt_fj_decode(const vpt_fj_t *r, vpt_fj_u8 *start,
    vpt_fj_u8 *p, vpt_str_t *s) __attribute__((noinline, cold));
static int vpt_fj_hex4(vpt_fj_u8 *p, vpt_fj_u8 *end, uint32_t *cp);
static size_t vpt_fj_utf8_len(vpt_fj_u8 *p, vpt_fj_u8 *end);
static vpt_fj_u8 *vpt_fj_number_slow(vpt_fj_u8 *p, double *out)
    __attribute__((noinline));


/* the whitespace from p on: what stops it is at the root's '}' at most */

static inline vpt_fj_u8 *
vpt_fj_ws(vpt_fj_u8 *p)
{
    /* none, or one space: how contexts are written */

    if (*p > ' ') {
        return p;
    }

    if (*p == ' ' && p[1] > ' ') {
        return p + 1;
    }

    while (vpt_fj_space[*p]) {
        p++;
    }

    return p;
}


/*
 * p when it is at c, else past the whitespace there: each reader checks
 * for the byte it expects first, and skips whitespace only when that
 * check fails
 */

static inline vpt_fj_u8 *
vpt_fj_at(vpt_fj_u8 *p, int c)
{
    return (*p == c) ? p : vpt_fj_ws(p);
}


/* past one space, the usual one after ':' and ',' (vpt_fj_at() does the
 * rest) */

static inline vpt_fj_u8 *
vpt_fj_sp(vpt_fj_u8 *p)
{
    return p + (*p == ' ');
}


/*
 * The first byte from p on that a plain string does not hold (see
 * vpt_fj_plain), or end: 16 bytes a step below wide where SSE2 is, where
 * a signed compare with 0x20 finds both the controls and the bytes from
 * 0x80 on
 */

static inline vpt_fj_u8 *
vpt_fj_plain_end(vpt_fj_u8 *p, vpt_fj_u8 *wide, vpt_fj_u8 *end)
{
#if defined(__SSE2__)
    int      m;
    __m128i  x, quote, bslash, space;

    quote = _mm_set1_epi8('"');
    bslash = _mm_set1_epi8('\\');
    space = _mm_set1_epi8(0x20);

    while (p < wide) {
        x = _mm_loadu_si128((const __m128i *) p);

        m = _mm_movemask_epi8(
                _mm_or_si128(_mm_cmplt_epi8(x, space),
                             _mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                          _mm_cmpeq_epi8(x, bslash))));
        if (m) {
            return p + __builtin_ctz((unsigned) m);
        }

        p += 16;
    }
#endif

    while (p < end && vpt_fj_plain[*p]) {
        p++;
    }

    return p;
}


/*
 * A string, p at its opening quote: s is its text in the arena (decoded
 * there when it has escapes or bytes >= 0x80), and p past its closing one
 */

static inline vpt_fj_u8 *
vpt_fj_string(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_str_t *s)
{
    vpt_fj_u8  *q;

    p++;
    q = vpt_fj_plain_end(p, r->wide, r->last);

    s->data = (const char *) ((uintptr_t) p + r->to_arena);

    /* *q is readable: q is at r->last at most, which is no quote */

    if (*q != '"') {
        return vpt_fj_decode(r, p, q, s);
    }

    s->len = q - p;

    return q + 1;
}


/*
 * JSON's number grammar, p at '-' or a digit.  The value is what
 * jansson's strtod() gives (JSON_DECODE_INT_AS_REAL: integers too),
 * computed without strtod() in the common case: a mantissa of at most 15
 * digits is exact in a double, and so is 10^k for k <= 22, so m / 10^k is
 * one correctly rounded operation, the correctly rounded value that
 * strtod() returns (Clinger's fast path).  Every loop stops at the root's
 * '}' at the latest.
 */

static const double  vpt_fj_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


static inline vpt_fj_u8 *
vpt_fj_number(vpt_fj_u8 *p, double *out)
{
    int         neg;
    double      d;
    size_t      ndig, nfrac;
    uint64_t    m, c;
    vpt_fj_u8  *start, *q;

    start = p;
    neg = (*p == '-');
    p += neg;

    c = (uint64_t) *p - '0';        /* a digit's value, or > 9 */

    if (c > 9) {
        return NULL;
    }

    m = 0;
    ndig = 0;
    nfrac = 0;

    if (c == 0) {
        p++;

    } else {
        q = p;

        do {
            m = m * 10 + c;
            c = (uint64_t) *++p - '0';
        } while (c <= 9);

        ndig = p - q;
    }

    if (*p == '.') {
        q = ++p;
        c = (uint64_t) *p - '0';

        while (c <= 9) {
            m = m * 10 + c;
            c = (uint64_t) *++p - '0';
        }

        nfrac = p - q;

        if (nfrac == 0) {
            return NULL;
        }

        ndig += nfrac;
    }

    /* 'e' and 'E' alike; no other byte is 'e' once or'ed with 0x20 */

    if ((*p | 0x20) == 'e' || ndig > 15) {
        return vpt_fj_number_slow(start, out);
    }

    d = (double) m;

    if (nfrac) {
        d /= vpt_fj_pow10[nfrac];
    }

    *out = neg ? -d : d;

    return p;
}


/* a literal of n bytes at p, which is no further than the root's '}' */

static inline vpt_fj_u8 *
vpt_fj_literal(const vpt_fj_t *r, vpt_fj_u8 *p, const char *lit, size_t n)
{
    if ((size_t) (r->last - p) < n || memcmp(p, lit, n) != 0) {
        return NULL;
    }

    return p + n;
}


/*
 * The slot of a name by its first 3 bytes after the opening quote (the
 * shortest name read, "id", has 2, then its quote), from a word read in
 * native order
 */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define vpt_fj_head(w)  ((w) >> 40)
#else
#define vpt_fj_head(w)  ((w) & 0xffffff)
#endif

static inline const vpt_fj_slot_t *
vpt_fj_slot(const vpt_fj_names_t *names, uint64_t w0)
{
    return &names->slot[(vpt_fj_head(w0) * names->mult)
                        >> (64 - VPT_FAST_SLOT_BITS)];
}


/* "name" : -- p at the quote, then at the value */

static inline vpt_fj_u8 *
vpt_fj_name(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_str_t *name)
{
    p = vpt_fj_at(p, '"');

    if (*p != '"') {
        return NULL;
    }

    p = vpt_fj_string(r, p, name);

    if (p == NULL) {
        return NULL;
    }

    p = vpt_fj_at(p, ':');

    if (*p != ':') {
        return NULL;
    }

    return vpt_fj_sp(p + 1);
}


/*
 * A member's name, p then at its value: *k is the name's index in names
 * or -1.  A name read twice in one object (seen) is declined: jansson
 * would keep the last value.
 *
 * The names read are plain and short, so the 16 bytes after the opening
 * quote either start with one of them, its closing quote and ':', found
 * by one slot's two masked compares, or the name is another one (or one
 * with escapes, or whitespace before its ':'), which takes the general
 * way.
 */

static inline __attribute__((always_inline)) vpt_fj_u8 *
vpt_fj_member(const vpt_fj_t *r, vpt_fj_u8 *p, const vpt_fj_names_t *names,
    unsigned *seen, int *k)
{
    uint64_t              x0, x1;
    vpt_str_t             name;
    const vpt_fj_slot_t  *e;

    p = vpt_fj_at(p, '"');

    if (*p != '"') {
        return NULL;
    }

    /* 16 bytes after the quote, which is before the root's '}' */

    if (p >= r->wide) {
        goto general;
    }

    memcpy(&x0, p + 1, 8);
    memcpy(&x1, p + 9, 8);

    e = vpt_fj_slot(names, x0);

    if ((((x0 & e->m0) ^ e->w0) | ((x1 & e->m1) ^ e->w1)) != 0) {
        goto general;
    }

    *k = e->k;
    p = vpt_fj_sp(p + e->next);

    goto found;

general:

    p = vpt_fj_name(r, p, &name);

    if (p == NULL) {
        return NULL;
    }

    *k = vpt_ctx_key_find(names->keys, names->nkeys, name.data, name.len);

    if (*k < 0) {
        return p;
    }

found:

    if (*seen & (1u << *k)) {
        return NULL;
    }

    *seen |= 1u << *k;

    return p;
}


/*
 * '{' or '[' at p: *more and p at its first member, or past its close
 * (which the root's '}' is not: the root is read by its own loop)
 */

static inline vpt_fj_u8 *
vpt_fj_open(const vpt_fj_t *r, vpt_fj_u8 *p, int close, int *more)
{
    p = vpt_fj_ws(p + 1);

    if (*p == close) {
        *more = 0;
        return (p == r->last) ? NULL : p + 1;
    }

    *more = 1;

    return p;
}


/* after a member: ',' and *more (p at the next one) or the close */

static inline vpt_fj_u8 *
vpt_fj_next(const vpt_fj_t *r, vpt_fj_u8 *p, int close, int *more)
{
    p = vpt_fj_at(p, ',');

    if (*p == ',') {
        *more = 1;
        return vpt_fj_sp(p + 1);
    }

    *more = 0;

    if (*p != close || p == r->last) {
        return NULL;
    }

    return p + 1;
}


static inline int
vpt_fj_is_number(vpt_fj_u8 *p)
{
    return *p == '-' || (unsigned) (*p - '0') <= 9;
}


/*
 * The readers of one field each: the value, p at it, is kept when it is
 * of the field's type and range, else validated and passed over, which
 * leaves the field absent (as vpt_ctx_str() and vpt_ctx_num() do)
 */

static inline vpt_fj_u8 *
vpt_fj_str_field(const vpt_fj_t *r, vpt_fj_u8 *p, int depth, vpt_str_t *out)
{
    p = vpt_fj_at(p, '"');

    if (*p != '"') {
        return vpt_fj_skip(r, p, depth);
    }

    /* an empty string leaves len 0: the field absent, as it was */

    return vpt_fj_string(r, p, out);
}


static inline vpt_fj_u8 *
vpt_fj_num_field(const vpt_fj_t *r, vpt_fj_u8 *p, int depth, double *out)
{
    double  d;

    if (!vpt_fj_is_number(p)) {
        p = vpt_fj_ws(p);

        if (!vpt_fj_is_number(p)) {
            return vpt_fj_skip(r, p, depth);
        }
    }

    p = vpt_fj_number(p, &d);

    if (p != NULL && d >= 0) {
        *out = d;
    }

    return p;
}


int
vpt_context_parse_fast(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len)
{
    int          k;
    double       d;
    unsigned     seen;
    vpt_fj_t     r;
    vpt_fj_u8   *p, *last;

    if (arena == NULL || arena_len < len || len < 2) {
        return VPT_DECLINED;
    }

    if (vpt_fj_ready <= 0 && vpt_fj_init() != VPT_OK) {
        return VPT_DECLINED;
    }

    p = (vpt_fj_u8 *) json;
    last = p + len - 1;

    while (last > p && vpt_fj_space[*last]) {
        last--;
    }

    if (*last != '}') {
        return VPT_DECLINED;
    }

    /* stops at last at the latest */

    while (vpt_fj_space[*p]) {
        p++;
    }

    if (*p != '{') {
        return VPT_DECLINED;
    }

    memcpy(arena, json, len);

    r.json = (vpt_fj_u8 *) json;
    r.last = last;
    r.wide = (last - r.json > 16) ? last - 16 : r.json;
    r.arena = arena;
    r.to_arena = (uintptr_t) arena - (uintptr_t) json;

    vpt_context_clear(ctx);

    p = vpt_fj_ws(p + 1);

    if (*p == '}') {
        return (p == last) ? VPT_OK : VPT_DECLINED;
    }

    seen = 0;

    for ( ;; ) {
        p = vpt_fj_member(&r, p, &vpt_fj_root_names, &seen, &k);

        if (p == NULL) {
            return VPT_DECLINED;
        }

        switch (k) {

        case VPT_CTX_USER:
            p = vpt_fj_user(&r, p, ctx);
            break;

        case VPT_CTX_DEVICE:
            p = vpt_fj_str_field(&r, p, 1, &ctx->device);
            break;

        case VPT_CTX_REFERRER:
            p = vpt_fj_str_field(&r, p, 1, &ctx->referrer);
            break;

        case VPT_CTX_COUNTRY:
            p = vpt_fj_str_field(&r, p, 1, &ctx->country);
            break;

        case VPT_CTX_WEEKDAY:
            p = vpt_fj_str_field(&r, p, 1, &ctx->weekday);
            break;

        case VPT_CTX_INTENT:
            p = vpt_fj_str_field(&r, p, 1, &ctx->intent);
            break;

        case VPT_CTX_LOCAL_HOUR:
            p = vpt_fj_ws(p);

            if (!vpt_fj_is_number(p)) {
                p = vpt_fj_skip(&r, p, 1);
                break;
            }

            p = vpt_fj_number(p, &d);

            /* a whole number: 20 and 20.0 alike */

            if (p != NULL && d >= 0 && d <= 23 && d == (double) (int) d) {
                ctx->local_hour = (int) d;
            }

            break;

        case VPT_CTX_CART:
            p = vpt_fj_items(&r, p, ctx->cart, &ctx->ncart,
                             &ctx->cart_total);
            break;

        case VPT_CTX_VIEWED:
            p = vpt_fj_items(&r, p, ctx->viewed, &ctx->nviewed, NULL);
            break;

        case VPT_CTX_ORDER:
            p = vpt_fj_order(&r, p, ctx);
            break;

        case VPT_CTX_HISTORY:
            p = vpt_fj_history(&r, p, ctx);
            break;

        case VPT_CTX_FEATURES:
            p = vpt_fj_features(&r, p, ctx);
            break;

        default:
            p = vpt_fj_skip(&r, p, 1);
        }

        if (p == NULL) {
            return VPT_DECLINED;
        }

        p = vpt_fj_at(p, ',');

        if (*p == ',') {
            p = vpt_fj_sp(p + 1);
            continue;
        }

        /* only whitespace after the root's '}': last is that '}' */

        return (*p == '}' && p == last) ? VPT_OK : VPT_DECLINED;
    }
}


/*
 * Each reader below is called with p at its value or at whitespace
 * before it, and returns p just past it, or NULL to decline.  depth is
 * the nesting of the container that holds a value (the root is 1).
 */

static vpt_fj_u8 *
vpt_fj_user(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_context_t *ctx)
{
    int       k, more;
    unsigned  seen;

    p = vpt_fj_at(p, '{');

    if (*p != '{') {
        return vpt_fj_skip(r, p, 1);
    }

    p = vpt_fj_open(r, p, '}', &more);
    seen = 0;

    while (p != NULL && more) {
        p = vpt_fj_member(r, p, &vpt_fj_user_names, &seen, &k);

        if (p == NULL) {
            return NULL;
        }

        switch (k) {

        case VPT_CTX_USER_ID:
            p = vpt_fj_str_field(r, p, 2, &ctx->user_id);
            break;

        case VPT_CTX_USER_LOYALTY:
            p = vpt_fj_ws(p);

            if (*p == 't') {
                p = vpt_fj_literal(r, p, "true", 4);
                ctx->loyalty_member = 1;

            } else if (*p == 'f') {
                p = vpt_fj_literal(r, p, "false", 5);
                ctx->loyalty_member = 0;

            } else {
                p = vpt_fj_skip(r, p, 2);
            }

            /* set even when p is NULL: a declined parse's ctx is unused */
            break;

        case VPT_CTX_USER_ORDERS:
            p = vpt_fj_num_field(r, p, 2, &ctx->orders);
            break;

        case VPT_CTX_USER_LTV:
            p = vpt_fj_num_field(r, p, 2, &ctx->lifetime_value);
            break;

        default:
            p = vpt_fj_skip(r, p, 2);
        }

        if (p == NULL) {
            return NULL;
        }

        p = vpt_fj_next(r, p, '}', &more);
    }

    return p;
}


static vpt_fj_u8 *
vpt_fj_order(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_context_t *ctx)
{
    int       k, more;
    unsigned  seen;

    p = vpt_fj_at(p, '{');

    if (*p != '{') {
        return vpt_fj_skip(r, p, 1);
    }

    p = vpt_fj_open(r, p, '}', &more);
    seen = 0;

    while (p != NULL && more) {
        p = vpt_fj_member(r, p, &vpt_fj_order_names, &seen, &k);

        if (p == NULL) {
            return NULL;
        }

        switch (k) {

        case VPT_CTX_ORDER_ID:
            p = vpt_fj_str_field(r, p, 2, &ctx->order_id);
            break;

        case VPT_CTX_ORDER_TOTAL:
            p = vpt_fj_num_field(r, p, 2, &ctx->order_total);
            break;

        case VPT_CTX_ORDER_CURRENCY:
            p = vpt_fj_str_field(r, p, 2, &ctx->order_currency);
            break;

        default:
            p = vpt_fj_skip(r, p, 2);
        }

        if (p == NULL) {
            return NULL;
        }

        p = vpt_fj_next(r, p, '}', &more);
    }

    return p;
}


static vpt_fj_u8 *
vpt_fj_history(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_context_t *ctx)
{
    int       k, more;
    unsigned  seen;

    p = vpt_fj_at(p, '{');

    if (*p != '{') {
        return vpt_fj_skip(r, p, 1);
    }

    p = vpt_fj_open(r, p, '}', &more);
    seen = 0;

    while (p != NULL && more) {
        p = vpt_fj_member(r, p, &vpt_fj_history_names, &seen, &k);

        if (p == NULL) {
            return NULL;
        }

        if (k == VPT_CTX_HISTORY_CATEGORIES) {
            p = vpt_fj_strs(r, p, ctx->history_categories,
                            &ctx->nhistory_categories);

        } else if (k == VPT_CTX_HISTORY_SKUS) {
            p = vpt_fj_strs(r, p, ctx->history_skus, &ctx->nhistory_skus);

        } else {
            p = vpt_fj_skip(r, p, 2);
        }

        if (p == NULL) {
            return NULL;
        }

        p = vpt_fj_next(r, p, '}', &more);
    }

    return p;
}


/*
 * as vpt_ctx_items(): see vpt_context.c.  Every object counts in total,
 * those past VPT_CTX_MAX_ITEMS too.
 */

static vpt_fj_u8 *
vpt_fj_items(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_item_t *items, size_t *n,
    double *total)
{
    int          more;
    vpt_item_t   spare, *it;

    p = vpt_fj_at(p, '[');

    if (*p != '[') {
        return vpt_fj_skip(r, p, 1);
    }

    p = vpt_fj_open(r, p, ']', &more);

    while (p != NULL && more) {
        p = vpt_fj_at(p, '{');

        if (*p == '{') {
            it = (*n < VPT_CTX_MAX_ITEMS) ? &items[*n] : &spare;

            p = vpt_fj_item(r, p, it);

            if (p == NULL) {
                return NULL;
            }

            if (total != NULL) {
                *total += it->price * it->qty;
            }

            if (it != &spare) {
                (*n)++;
            }

        } else {
            p = vpt_fj_skip(r, p, 2);

            if (p == NULL) {
                return NULL;
            }
        }

        p = vpt_fj_next(r, p, ']', &more);
    }

    return p;
}


/* an item: price 0 and qty 1 when absent */

static inline vpt_fj_u8 *
vpt_fj_item(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_item_t *it)
{
    int       k, more;
    unsigned  seen;

    it->sku.data = NULL;
    it->sku.len = 0;
    it->category.data = NULL;
    it->category.len = 0;
    it->price = 0;
    it->qty = 1;

    p = vpt_fj_open(r, p, '}', &more);
    seen = 0;

    while (p != NULL && more) {
        p = vpt_fj_member(r, p, &vpt_fj_item_names, &seen, &k);

        if (p == NULL) {
            return NULL;
        }

        switch (k) {

        case VPT_CTX_ITEM_SKU:
            p = vpt_fj_str_field(r, p, 3, &it->sku);
            break;

        case VPT_CTX_ITEM_CATEGORY:
            p = vpt_fj_str_field(r, p, 3, &it->category);
            break;

        case VPT_CTX_ITEM_PRICE:
            p = vpt_fj_num_field(r, p, 3, &it->price);
            break;

        case VPT_CTX_ITEM_QTY:
            p = vpt_fj_num_field(r, p, 3, &it->qty);
            break;

        default:
            p = vpt_fj_skip(r, p, 3);
        }

        if (p == NULL) {
            return NULL;
        }

        p = vpt_fj_next(r, p, '}', &more);
    }

    return p;
}


/* as vpt_ctx_strs(): the first VPT_CTX_MAX_STRS non-empty strings */

static vpt_fj_u8 *
vpt_fj_strs(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_str_t *strs, size_t *n)
{
    int        more;
    vpt_str_t  s;

    p = vpt_fj_at(p, '[');

    if (*p != '[') {
        return vpt_fj_skip(r, p, 2);
    }

    p = vpt_fj_open(r, p, ']', &more);

    while (p != NULL && more) {
        p = vpt_fj_at(p, '"');

        if (*p == '"') {
            p = vpt_fj_string(r, p, &s);

            if (p != NULL && s.len > 0 && *n < VPT_CTX_MAX_STRS) {
                strs[(*n)++] = s;
            }

        } else {
            p = vpt_fj_skip(r, p, 3);
        }

        if (p == NULL) {
            return NULL;
        }

        p = vpt_fj_next(r, p, ']', &more);
    }

    return p;
}


/* as vpt_ctx_features(): named strings and numbers, in their order */

static vpt_fj_u8 *
vpt_fj_features(const vpt_fj_t *r, vpt_fj_u8 *p, vpt_context_t *ctx)
{
    int          more;
    double       d;
    size_t       i, nnames;
    vpt_str_t    s, name, names[VPT_FAST_FEATURES];
    vpt_attr_t  *f;

    p = vpt_fj_at(p, '{');

    if (*p != '{') {
        return vpt_fj_skip(r, p, 1);
    }

    p = vpt_fj_open(r, p, '}', &more);
    nnames = 0;

    while (p != NULL && more) {
        if (nnames == VPT_FAST_FEATURES) {
            return NULL;
        }

        p = vpt_fj_name(r, p, &name);

        if (p == NULL) {
            return NULL;
        }

        for (i = 0; i < nnames; i++) {
            if (names[i].len == name.len
                && memcmp(names[i].data, name.data, name.len) == 0)
            {
                return NULL;
            }
        }

        names[nnames++] = name;

        f = (ctx->nfeatures < VPT_CTX_MAX_FEATURES && name.len > 0)
            ? &ctx->features[ctx->nfeatures] : NULL;

        p = vpt_fj_ws(p);

        if (*p == '"') {
            p = vpt_fj_string(r, p, &s);

            if (p != NULL && f != NULL && s.len > 0) {
                memset(f, 0, sizeof(vpt_attr_t));
                f->name = name;
                f->str = s;
                ctx->nfeatures++;
            }

        } else if (vpt_fj_is_number(p)) {
            p = vpt_fj_number(p, &d);

            if (p != NULL && f != NULL) {
                memset(f, 0, sizeof(vpt_attr_t));
                f->name = name;
                f->num = d;
                f->is_num = 1;
                ctx->nfeatures++;
            }

        } else {
            p = vpt_fj_skip(r, p, 2);
        }

        if (p == NULL) {
            return NULL;
        }

        p = vpt_fj_next(r, p, '}', &more);
    }

    return p;
}


/* any value, validated and passed over */

static vpt_fj_u8 *
vpt_fj_skip(const vpt_fj_t *r, vpt_fj_u8 *p, int depth)
{
    int        more, close;
    double     d;
    vpt_str_t  s;

    p = vpt_fj_ws(p);

    switch (*p) {

    case '"':
        return vpt_fj_string(r, p, &s);

    case '{':
    case '[':
        if (depth >= VPT_FAST_DEPTH) {
            return NULL;
        }

        close = (*p == '{') ? '}' : ']';
        p = vpt_fj_open(r, p, close, &more);

        /* recursion is bounded by VPT_FAST_DEPTH */

        while (p != NULL && more) {
            if (close == '}') {
                p = vpt_fj_name(r, p, &s);

                if (p == NULL) {
                    return NULL;
                }
            }

            p = vpt_fj_skip(r, p, depth + 1);

            if (p == NULL) {
                return NULL;
            }

            p = vpt_fj_next(r, p, close, &more);
        }

        return p;

    case 't':
        return vpt_fj_literal(r, p, "true", 4);

    case 'f':
        return vpt_fj_literal(r, p, "false", 5);

    case 'n':
        return vpt_fj_literal(r, p, "null", 4);

    default:
        return vpt_fj_is_number(p) ? vpt_fj_number(p, &d) : NULL;
    }
}


/*
 * The rest of a string with escapes or bytes >= 0x80: start is its first
 * byte, p the first that is not plain; decoded as jansson decodes it,
 * over its own text in the arena (never longer: see the top of the file)
 */

static vpt_fj_u8 *
vpt_fj_decode(const vpt_fj_t *r, vpt_fj_u8 *start, vpt_fj_u8 *p,
    vpt_str_t *s)
{
    size_t          n;
    uint32_t        cp, lo;
    vpt_fj_u8      *end;
    unsigned char  *out;

    end = r->last;
    out = (unsigned char *) r->arena + (p - r->json);

    while (p < end && *p != '"') {

        if (*p < 0x20) {
            return NULL;
        }

        if (*p >= 0x80) {
            n = vpt_fj_utf8_len(p, end);
            if (n == 0) {
                return NULL;
            }

            memcpy(out, p, n);
            out += n;
            p += n;
            continue;
        }

        if (*p != '\\') {
            *out++ = *p++;
            continue;
        }

        if (++p == end) {
            return NULL;
        }

        switch (*p++) {
        case '"':  *out++ = '"'; continue;
        case '\\': *out++ = '\\'; continue;
        case '/':  *out++ = '/'; continue;
        case 'b':  *out++ = '\b'; continue;
        case 'f':  *out++ = '\f'; continue;
        case 'n':  *out++ = '\n'; continue;
        case 'r':  *out++ = '\r'; continue;
        case 't':  *out++ = '\t'; continue;
        case 'u':  break;
        default:   return NULL;
        }

        if (vpt_fj_hex4(p, end, &cp) != VPT_OK || cp == 0
            || (cp >= 0xdc00 && cp <= 0xdfff))
        {
            return NULL;
        }

        p += 4;

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
                || vpt_fj_hex4(p + 2, end, &lo) != VPT_OK
                || lo < 0xdc00 || lo > 0xdfff)
            {
                return NULL;
            }

            p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }

        if (cp < 0x80) {
            *out++ = (unsigned char) cp;

        } else if (cp < 0x800) {
            *out++ = (unsigned char) (0xc0 | (cp >> 6));
            *out++ = (unsigned char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            *out++ = (unsigned char) (0xe0 | (cp >> 12));
            *out++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            *out++ = (unsigned char) (0x80 | (cp & 0x3f));

        } else {
            *out++ = (unsigned char) (0xf0 | (cp >> 18));
            *out++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
            *out++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            *out++ = (unsigned char) (0x80 | (cp & 0x3f));
        }
    }

    if (p == end) {
        return NULL;
    }

    s->data = r->arena + (start - r->json);
    s->len = (char *) out - s->data;

    return p + 1;
}


static int
vpt_fj_hex4(vpt_fj_u8 *p, vpt_fj_u8 *end, uint32_t *cp)
{
    int       i;
    uint32_t  v;

    if (end - p < 4) {
        return VPT_DECLINED;
    }

    v = 0;

    for (i = 0; i < 4; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            v = v * 16 + (p[i] - '0');

        } else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f') {
            v = v * 16 + ((p[i] | 0x20) - 'a' + 10);

        } else {
            return VPT_DECLINED;
        }
    }

    *cp = v;

    return VPT_OK;
}


/*
 * The length of the UTF-8 sequence at p (p[0] >= 0x80), or 0 when jansson
 * refuses it: a stray continuation byte, an overlong form, a surrogate,
 * past U+10FFFF, or cut short.
 */

static size_t
vpt_fj_utf8_len(vpt_fj_u8 *p, vpt_fj_u8 *end)
{
    size_t         n, i;
    unsigned char  lo, hi;

    lo = 0x80;
    hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        lo = (p[0] == 0xe0) ? 0xa0 : 0x80;      /* overlong */
        hi = (p[0] == 0xed) ? 0x9f : 0xbf;      /* surrogates */

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        lo = (p[0] == 0xf0) ? 0x90 : 0x80;      /* overlong */
        hi = (p[0] == 0xf4) ? 0x8f : 0xbf;      /* past U+10FFFF */

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


/*
 * A number vpt_fj_number() leaves: more than 15 significant digits, or an
 * exponent.  The grammar checked again; Clinger's fast path where leading
 * zeros and the exponent leave at most 15 digits and |10^k| <= 10^22, else
 * strtod() (nginx runs in the "C" locale, whose decimal point is JSON's).
 * Its loops too stop at the root's '}'.
 */

static vpt_fj_u8 *
vpt_fj_number_slow(vpt_fj_u8 *p, double *out)
{
    int         neg, exp, eneg, e10, nsig;
    char        buf[VPT_FAST_REAL_MAX + 1];
    size_t      len;
    uint64_t    m;
    vpt_fj_u8  *start;

    start = p;
    neg = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }

    if (*p < '0' || *p > '9') {
        return NULL;
    }

    m = 0;
    nsig = 0;
    e10 = 0;

    if (*p == '0') {
        p++;

    } else {
        while (*p >= '0' && *p <= '9') {
            if (++nsig <= 15) {
                m = m * 10 + (*p - '0');

            } else {
                e10++;
            }
            p++;
        }
    }

    if (*p == '.') {
        p++;

        if (*p < '0' || *p > '9') {
            return NULL;
        }

        while (*p >= '0' && *p <= '9') {
            if (nsig > 0 || *p != '0') {
                nsig++;
            }

            if (nsig <= 15) {
                m = m * 10 + (*p - '0');
                e10--;
            }
            p++;
        }
    }

    if (*p == 'e' || *p == 'E') {
        p++;
        eneg = 0;
        exp = 0;

        if (*p == '+' || *p == '-') {
            eneg = (*p == '-');
            p++;
        }

        if (*p < '0' || *p > '9') {
            return NULL;
        }

        while (*p >= '0' && *p <= '9') {
            if (exp < 10000) {
                exp = exp * 10 + (*p - '0');
            }
            p++;
        }

        e10 += eneg ? -exp : exp;
    }

    if (nsig <= 15 && e10 >= -22 && e10 <= 22) {
        *out = (e10 >= 0) ? (double) m * vpt_fj_pow10[e10]
                          : (double) m / vpt_fj_pow10[-e10];

        if (neg) {
            *out = -*out;
        }

        return p;
    }

    len = p - start;

    if (len > VPT_FAST_REAL_MAX) {
        return NULL;
    }

    memcpy(buf, start, len);
    buf[len] = '\0';

    errno = 0;
    *out = strtod(buf, NULL);

    return (errno == 0) ? p : NULL;
}


int
vpt_context_prepare(void)
{
    return vpt_fj_init();
}


/* the names' tables, once: -1 for good if one cannot be built */

static int
vpt_fj_init(void)
{
    if (vpt_fj_ready == 0) {
        vpt_fj_ready =
            (vpt_fj_names_init(&vpt_fj_root_names, vpt_ctx_root_keys,
                               VPT_CTX_NROOT) == VPT_OK
             && vpt_fj_names_init(&vpt_fj_user_names, vpt_ctx_user_keys,
                                  VPT_CTX_NUSER) == VPT_OK
             && vpt_fj_names_init(&vpt_fj_order_names, vpt_ctx_order_keys,
                                  VPT_CTX_NORDER) == VPT_OK
             && vpt_fj_names_init(&vpt_fj_history_names,
                                  vpt_ctx_history_keys, VPT_CTX_NHISTORY)
                == VPT_OK
             && vpt_fj_names_init(&vpt_fj_item_names, vpt_ctx_item_keys,
                                  VPT_CTX_NITEM) == VPT_OK)
            ? 1 : -1;
    }

    return (vpt_fj_ready == 1) ? VPT_OK : VPT_ERROR;
}


/*
 * A table where each name has a slot of its own: multipliers are tried
 * in a fixed sequence until one spreads the names without a collision
 * (with at most 12 names in 64 slots, one in three does)
 */

static int
vpt_fj_names_init(vpt_fj_names_t *names, const vpt_ctx_key_t *keys,
    size_t nkeys)
{
    int             try;
    size_t          i, h, n;
    uint64_t        w0, mult;
    unsigned char   text[16], mask[16];
    vpt_fj_slot_t  *e;

    mult = 0x9e3779b97f4a7c15;

    for (try = 0; try < 1000; try++) {
        memset(names, 0, sizeof(vpt_fj_names_t));
        names->mult = mult;
        names->keys = keys;
        names->nkeys = nkeys;

        for (h = 0; h < VPT_FAST_SLOTS; h++) {
            names->slot[h].w0 = 1;
            names->slot[h].k = -1;
        }

        for (i = 0; i < nkeys; i++) {
            n = keys[i].len;

            if (n < 2 || n > VPT_FAST_NAME_MAX
                || memchr(keys[i].name, '"', n) != NULL
                || memchr(keys[i].name, '\\', n) != NULL)
            {
                return VPT_ERROR;
            }

            memset(text, 0, 16);
            memset(mask, 0, 16);
            memcpy(text, keys[i].name, n);
            text[n] = '"';
            text[n + 1] = ':';
            memset(mask, 0xff, n + 2);

            memcpy(&w0, text, 8);
            e = (vpt_fj_slot_t *) vpt_fj_slot(names, w0);

            if (e->k != -1) {
                break;
            }

            memcpy(&e->w0, text, 8);
            memcpy(&e->m0, mask, 8);
            memcpy(&e->w1, text + 8, 8);
            memcpy(&e->m1, mask + 8, 8);
            e->next = n + 3;
            e->k = (int) i;
        }

        if (i == nkeys) {
            return VPT_OK;
        }

        /* the next odd multiplier of an LCG's sequence */
        mult = (mult * 6364136223846793005ULL + 1442695040888963407ULL) | 1;
    }

    return VPT_ERROR;
}
