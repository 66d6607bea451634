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
 *     escapes are decoded into the arena as jansson decodes them;
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


typedef enum {
    VPT_FJ_STR = 0,
    VPT_FJ_INT,
    VPT_FJ_REAL,
    VPT_FJ_TRUE,
    VPT_FJ_FALSE,
    VPT_FJ_NULL,
    VPT_FJ_OBJECT,
    VPT_FJ_ARRAY
} vpt_fj_type_e;


typedef struct {
    vpt_fj_type_e   type;
    const char     *s;          /* VPT_FJ_STR: the text between quotes, */
    size_t          len;        /* or its decoded copy in the arena */
    unsigned        decoded:1;  /* s is in the arena already */
    double          num;        /* VPT_FJ_INT and VPT_FJ_REAL */
} vpt_fj_val_t;


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    char                 *arena;
    size_t                used;
    int                   depth;
    int                   decoded;      /* the last string is in the arena */
} vpt_fj_t;


/* sets the field k of an object from its value */
typedef void (*vpt_fj_set_pt)(vpt_fj_t *r, void *obj, int k,
    const vpt_fj_val_t *v);


/* a byte of a string that needs nothing: not '"', '\\', < 0x20, >= 0x80 */
static const unsigned char  vpt_fj_plain[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['0'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['@'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['P'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    ['`'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['p'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};


static int vpt_fj_root(vpt_fj_t *r, vpt_context_t *ctx);
static int vpt_fj_history(vpt_fj_t *r, vpt_context_t *ctx);
static int vpt_fj_items(vpt_fj_t *r, vpt_item_t *items, size_t *n,
    double *total);
static int vpt_fj_item(vpt_fj_t *r, vpt_item_t *it);
static inline int vpt_fj_fields(vpt_fj_t *r, const vpt_ctx_key_t *keys,
    size_t nkeys, vpt_fj_set_pt set, void *obj)
    __attribute__((always_inline));
static void vpt_fj_set_user(vpt_fj_t *r, void *obj, int k,
    const vpt_fj_val_t *v);
static void vpt_fj_set_order(vpt_fj_t *r, void *obj, int k,
    const vpt_fj_val_t *v);
static void vpt_fj_set_item(vpt_fj_t *r, void *obj, int k,
    const vpt_fj_val_t *v);
static int vpt_fj_strs(vpt_fj_t *r, vpt_str_t *strs, size_t *n);
static int vpt_fj_features(vpt_fj_t *r, vpt_context_t *ctx);
static inline int vpt_fj_key(vpt_fj_t *r, vpt_str_t *key)
    __attribute__((always_inline));
static inline int vpt_fj_next(vpt_fj_t *r, int close, int *more)
    __attribute__((always_inline));
static inline int vpt_fj_open(vpt_fj_t *r, int open, int close, int *empty)
    __attribute__((always_inline));
static inline int vpt_fj_scalar(vpt_fj_t *r, vpt_fj_val_t *v)
    __attribute__((always_inline));
static int vpt_fj_skip(vpt_fj_t *r);
static inline int vpt_fj_string(vpt_fj_t *r, vpt_str_t *s)
    __attribute__((always_inline));
static int vpt_fj_decode(vpt_fj_t *r, vpt_str_t *s)
    __attribute__((noinline, cold));
static int vpt_fj_hex4(const unsigned char *p, const unsigned char *end,
    uint32_t *cp);
static size_t vpt_fj_utf8_len(const unsigned char *p,
    const unsigned char *end);
static int vpt_fj_number(vpt_fj_t *r, vpt_fj_val_t *v);
static inline int vpt_fj_seen(unsigned *seen, int k)
    __attribute__((always_inline));
static inline void vpt_fj_str(vpt_fj_t *r, const vpt_fj_val_t *v,
    vpt_str_t *out);
static void vpt_fj_num(const vpt_fj_val_t *v, double *out);


/*
 * The first byte from p on that a plain string does not hold (see
 * vpt_fj_plain), or end: 16 bytes a step where SSE2 is, where a signed
 * compare with 0x20 finds both the controls and the bytes from 0x80 on
 */

static inline const unsigned char *
vpt_fj_plain_end(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    int      m;
    __m128i  x, quote, bslash, space;

    quote = _mm_set1_epi8('"');
    bslash = _mm_set1_epi8('\\');
    space = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
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


/* JSON's whitespace: ' ', '\t', '\n', '\r' */
static const unsigned char  vpt_fj_space[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1
};


/* one compare for the usual byte after a token, which is no space */

static inline void
vpt_fj_ws(vpt_fj_t *r)
{
    while (r->p < r->end && *r->p <= ' ' && vpt_fj_space[*r->p]) {
        r->p++;
    }
}


int
vpt_context_parse_fast(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len)
{
    vpt_fj_t  r;

    if (arena == NULL || arena_len < len) {
        return VPT_DECLINED;
    }

    r.p = (const unsigned char *) json;
    r.end = r.p + len;
    r.arena = arena;
    r.used = 0;
    r.depth = 0;
    r.decoded = 0;

    vpt_context_clear(ctx);
    vpt_fj_ws(&r);

    if (vpt_fj_root(&r, ctx) != VPT_OK) {
        return VPT_DECLINED;
    }

    vpt_fj_ws(&r);

    if (r.p != r.end) {
        return VPT_DECLINED;
    }

    return VPT_OK;
}


/*
 * Each reader below is called with r->p at its value (whitespace skipped)
 * and returns with r->p just past it.  A value of another type than the
 * field wants is skipped, which validates it, and leaves the field absent.
 */

static int
vpt_fj_root(vpt_fj_t *r, vpt_context_t *ctx)
{
    int           k, more;
    unsigned      seen;
    vpt_str_t     key;
    vpt_fj_val_t  v;

    if (vpt_fj_open(r, '{', '}', &more) != VPT_OK) {
        return VPT_DECLINED;
    }

    seen = 0;

    while (more) {
        if (vpt_fj_key(r, &key) != VPT_OK) {
            return VPT_DECLINED;
        }

        k = vpt_ctx_key_find(vpt_ctx_root_keys, VPT_CTX_NROOT, key.data,
                             key.len);

        if (k >= 0 && vpt_fj_seen(&seen, k) != VPT_OK) {
            return VPT_DECLINED;
        }

        switch (k) {

        case VPT_CTX_USER:
            if (vpt_fj_fields(r, vpt_ctx_user_keys, VPT_CTX_NUSER,
                              vpt_fj_set_user, ctx)
                != VPT_OK)
            {
                return VPT_DECLINED;
            }
            break;

        case VPT_CTX_CART:
            if (vpt_fj_items(r, ctx->cart, &ctx->ncart, &ctx->cart_total)
                != VPT_OK)
            {
                return VPT_DECLINED;
            }
            break;

        case VPT_CTX_VIEWED:
            if (vpt_fj_items(r, ctx->viewed, &ctx->nviewed, NULL)
                != VPT_OK)
            {
                return VPT_DECLINED;
            }
            break;

        case VPT_CTX_ORDER:
            if (vpt_fj_fields(r, vpt_ctx_order_keys, VPT_CTX_NORDER,
                              vpt_fj_set_order, ctx)
                != VPT_OK)
            {
                return VPT_DECLINED;
            }
            break;

        case VPT_CTX_HISTORY:
            if (vpt_fj_history(r, ctx) != VPT_OK) {
                return VPT_DECLINED;
            }
            break;

        case VPT_CTX_FEATURES:
            if (vpt_fj_features(r, ctx) != VPT_OK) {
                return VPT_DECLINED;
            }
            break;

        default:
            if (vpt_fj_scalar(r, &v) != VPT_OK) {
                return VPT_DECLINED;
            }

            if (k == VPT_CTX_DEVICE) {
                vpt_fj_str(r, &v, &ctx->device);

            } else if (k == VPT_CTX_REFERRER) {
                vpt_fj_str(r, &v, &ctx->referrer);

            } else if (k == VPT_CTX_COUNTRY) {
                vpt_fj_str(r, &v, &ctx->country);

            } else if (k == VPT_CTX_INTENT) {
                vpt_fj_str(r, &v, &ctx->intent);

            } else if (k == VPT_CTX_WEEKDAY) {
                vpt_fj_str(r, &v, &ctx->weekday);

            } else if (k == VPT_CTX_LOCAL_HOUR) {
                /* a whole number: 20 and 20.0 alike */
                if ((v.type == VPT_FJ_INT || v.type == VPT_FJ_REAL)
                    && v.num >= 0 && v.num <= 23
                    && v.num == (double) (int) v.num)
                {
                    ctx->local_hour = (int) v.num;
                }
            }
        }

        if (vpt_fj_next(r, '}', &more) != VPT_OK) {
            return VPT_DECLINED;
        }
    }

    return VPT_OK;
}


static void
vpt_fj_set_user(vpt_fj_t *r, void *obj, int k, const vpt_fj_val_t *v)
{
    vpt_context_t  *ctx = obj;

    switch (k) {

    case VPT_CTX_USER_ID:
        vpt_fj_str(r, v, &ctx->user_id);
        break;

    case VPT_CTX_USER_LOYALTY:
        if (v->type == VPT_FJ_TRUE || v->type == VPT_FJ_FALSE) {
            ctx->loyalty_member = (v->type == VPT_FJ_TRUE);
        }
        break;

    case VPT_CTX_USER_ORDERS:
        vpt_fj_num(v, &ctx->orders);
        break;

    case VPT_CTX_USER_LTV:
        vpt_fj_num(v, &ctx->lifetime_value);
        break;
    }
}


static void
vpt_fj_set_order(vpt_fj_t *r, void *obj, int k, const vpt_fj_val_t *v)
{
    vpt_context_t  *ctx = obj;

    switch (k) {

    case VPT_CTX_ORDER_ID:
        vpt_fj_str(r, v, &ctx->order_id);
        break;

    case VPT_CTX_ORDER_TOTAL:
        vpt_fj_num(v, &ctx->order_total);
        break;

    case VPT_CTX_ORDER_CURRENCY:
        vpt_fj_str(r, v, &ctx->order_currency);
        break;
    }
}


static int
vpt_fj_history(vpt_fj_t *r, vpt_context_t *ctx)
{
    int        k, more, rc;
    unsigned   seen;
    vpt_str_t  key;

    if (*r->p != '{') {
        return vpt_fj_skip(r);
    }

    if (vpt_fj_open(r, '{', '}', &more) != VPT_OK) {
        return VPT_DECLINED;
    }

    seen = 0;

    while (more) {
        if (vpt_fj_key(r, &key) != VPT_OK) {
            return VPT_DECLINED;
        }

        k = vpt_ctx_key_find(vpt_ctx_history_keys, VPT_CTX_NHISTORY,
                             key.data, key.len);

        if (k >= 0 && vpt_fj_seen(&seen, k) != VPT_OK) {
            return VPT_DECLINED;
        }

        if (k == VPT_CTX_HISTORY_CATEGORIES) {
            rc = vpt_fj_strs(r, ctx->history_categories,
                             &ctx->nhistory_categories);

        } else if (k == VPT_CTX_HISTORY_SKUS) {
            rc = vpt_fj_strs(r, ctx->history_skus, &ctx->nhistory_skus);

        } else {
            rc = vpt_fj_skip(r);
        }

        if (rc != VPT_OK || vpt_fj_next(r, '}', &more) != VPT_OK) {
            return VPT_DECLINED;
        }
    }

    r->depth--;

    return VPT_OK;
}


/* as vpt_ctx_items(): see vpt_context.c */

static int
vpt_fj_items(vpt_fj_t *r, vpt_item_t *items, size_t *n, double *total)
{
    int         more;
    vpt_item_t  item, *it;

    if (*r->p != '[') {
        return vpt_fj_skip(r);
    }

    if (vpt_fj_open(r, '[', ']', &more) != VPT_OK) {
        return VPT_DECLINED;
    }

    while (more) {
        if (*r->p != '{') {
            if (vpt_fj_skip(r) != VPT_OK) {
                return VPT_DECLINED;
            }

        } else {
            it = (*n < VPT_CTX_MAX_ITEMS) ? &items[*n] : &item;

            if (vpt_fj_item(r, it) != VPT_OK) {
                return VPT_DECLINED;
            }

            if (total != NULL) {
                *total += it->price * it->qty;
            }

            if (it != &item) {
                (*n)++;
            }
        }

        if (vpt_fj_next(r, ']', &more) != VPT_OK) {
            return VPT_DECLINED;
        }
    }

    r->depth--;

    return VPT_OK;
}


static int
vpt_fj_item(vpt_fj_t *r, vpt_item_t *it)
{
    memset(it, 0, sizeof(vpt_item_t));
    it->qty = 1;

    return vpt_fj_fields(r, vpt_ctx_item_keys, VPT_CTX_NITEM,
                         vpt_fj_set_item, it);
}


static void
vpt_fj_set_item(vpt_fj_t *r, void *obj, int k, const vpt_fj_val_t *v)
{
    vpt_item_t  *it = obj;

    switch (k) {

    case VPT_CTX_ITEM_SKU:
        vpt_fj_str(r, v, &it->sku);
        break;

    case VPT_CTX_ITEM_CATEGORY:
        vpt_fj_str(r, v, &it->category);
        break;

    case VPT_CTX_ITEM_PRICE:
        vpt_fj_num(v, &it->price);
        break;

    case VPT_CTX_ITEM_QTY:
        vpt_fj_num(v, &it->qty);
        break;
    }
}


/*
 * An object of scalar fields named in keys: set() for each one the ranker
 * reads, the others validated and passed over; a value that is not an
 * object is passed over whole.
 */

static inline int
vpt_fj_fields(vpt_fj_t *r, const vpt_ctx_key_t *keys, size_t nkeys,
    vpt_fj_set_pt set, void *obj)
{
    int           k, more;
    unsigned      seen;
    vpt_str_t     key;
    vpt_fj_val_t  v;

    if (*r->p != '{') {
        return vpt_fj_skip(r);
    }

    if (vpt_fj_open(r, '{', '}', &more) != VPT_OK) {
        return VPT_DECLINED;
    }

    seen = 0;

    while (more) {
        if (vpt_fj_key(r, &key) != VPT_OK) {
            return VPT_DECLINED;
        }

        k = vpt_ctx_key_find(keys, nkeys, key.data, key.len);

        if (k >= 0 && vpt_fj_seen(&seen, k) != VPT_OK) {
            return VPT_DECLINED;
        }

        if (vpt_fj_scalar(r, &v) != VPT_OK) {
            return VPT_DECLINED;
        }

        if (k >= 0) {
            set(r, obj, k, &v);
        }

        if (vpt_fj_next(r, '}', &more) != VPT_OK) {
            return VPT_DECLINED;
        }
    }

    r->depth--;

    return VPT_OK;
}


/* as vpt_ctx_strs(): the first VPT_CTX_MAX_STRS non-empty strings */

static int
vpt_fj_strs(vpt_fj_t *r, vpt_str_t *strs, size_t *n)
{
    int           more;
    vpt_fj_val_t  v;

    if (*r->p != '[') {
        return vpt_fj_skip(r);
    }

    if (vpt_fj_open(r, '[', ']', &more) != VPT_OK) {
        return VPT_DECLINED;
    }

    while (more) {
        if (vpt_fj_scalar(r, &v) != VPT_OK) {
            return VPT_DECLINED;
        }

        if (*n < VPT_CTX_MAX_STRS && v.type == VPT_FJ_STR && v.len > 0) {
            vpt_fj_str(r, &v, &strs[*n]);
            (*n)++;
        }

        if (vpt_fj_next(r, ']', &more) != VPT_OK) {
            return VPT_DECLINED;
        }
    }

    r->depth--;

    return VPT_OK;
}


/* as vpt_ctx_features(): named strings and numbers, in their order */

static int
vpt_fj_features(vpt_fj_t *r, vpt_context_t *ctx)
{
    int           more, decoded;
    size_t        i, nkeys;
    vpt_str_t     key, keys[VPT_FAST_FEATURES];
    vpt_attr_t   *f;
    vpt_fj_val_t  v;

    if (*r->p != '{') {
        return vpt_fj_skip(r);
    }

    if (vpt_fj_open(r, '{', '}', &more) != VPT_OK) {
        return VPT_DECLINED;
    }

    nkeys = 0;

    while (more) {
        if (vpt_fj_key(r, &key) != VPT_OK || nkeys == VPT_FAST_FEATURES) {
            return VPT_DECLINED;
        }

        decoded = r->decoded;

        for (i = 0; i < nkeys; i++) {
            if (keys[i].len == key.len
                && memcmp(keys[i].data, key.data, key.len) == 0)
            {
                return VPT_DECLINED;
            }
        }

        keys[nkeys++] = key;

        if (vpt_fj_scalar(r, &v) != VPT_OK) {
            return VPT_DECLINED;
        }

        if (ctx->nfeatures < VPT_CTX_MAX_FEATURES && key.len > 0
            && ((v.type == VPT_FJ_STR && v.len > 0)
                || v.type == VPT_FJ_INT || v.type == VPT_FJ_REAL))
        {
            f = &ctx->features[ctx->nfeatures++];
            memset(f, 0, sizeof(vpt_attr_t));

            if (decoded) {
                f->name = key;

            } else {
                memcpy(r->arena + r->used, key.data, key.len);
                f->name.data = r->arena + r->used;
                f->name.len = key.len;
                r->used += key.len;
            }

            if (v.type == VPT_FJ_STR) {
                vpt_fj_str(r, &v, &f->str);

            } else {
                f->num = v.num;
                f->is_num = 1;
            }
        }

        if (vpt_fj_next(r, '}', &more) != VPT_OK) {
            return VPT_DECLINED;
        }
    }

    r->depth--;

    return VPT_OK;
}


/*
 * "name" : -- r->p then at the value; keys follow the string rules (and
 * r->decoded says whether the key is in the arena already)
 */

static inline int
vpt_fj_key(vpt_fj_t *r, vpt_str_t *key)
{
    if (vpt_fj_string(r, key) != VPT_OK) {
        return VPT_DECLINED;
    }

    vpt_fj_ws(r);

    if (r->p == r->end || *r->p != ':') {
        return VPT_DECLINED;
    }

    r->p++;
    vpt_fj_ws(r);

    return (r->p < r->end) ? VPT_OK : VPT_DECLINED;
}


/* after a member: ',' and more (r->p at the next one) or the close */

static inline int
vpt_fj_next(vpt_fj_t *r, int close, int *more)
{
    vpt_fj_ws(r);

    if (r->p == r->end) {
        return VPT_DECLINED;
    }

    if (*r->p == ',') {
        r->p++;
        vpt_fj_ws(r);
        *more = 1;
        return (r->p < r->end && (close == ']' || *r->p == '"'))
               ? VPT_OK : VPT_DECLINED;
    }

    if (*r->p == close) {
        r->p++;
        *more = 0;
        return VPT_OK;
    }

    return VPT_DECLINED;
}


/*
 * '{' or '[': one level deeper, *more when it is not empty, r->p then at
 * its first member.  Whoever opens a level closes it: r->depth-- after the
 * last vpt_fj_next().
 */

static inline int
vpt_fj_open(vpt_fj_t *r, int open, int close, int *more)
{
    if (r->p == r->end || *r->p != open || ++r->depth > VPT_FAST_DEPTH) {
        return VPT_DECLINED;
    }

    r->p++;
    vpt_fj_ws(r);

    if (r->p == r->end) {
        return VPT_DECLINED;
    }

    if (*r->p == close) {
        r->p++;
        *more = 0;
        return VPT_OK;
    }

    *more = 1;

    return (open == '[' || *r->p == '"') ? VPT_OK : VPT_DECLINED;
}


/* any value; an object or array is skipped and told by its type only */

static inline int
vpt_fj_scalar(vpt_fj_t *r, vpt_fj_val_t *v)
{
    vpt_str_t  s;

    if (r->p == r->end) {
        return VPT_DECLINED;
    }

    switch (*r->p) {

    case '"':
        if (vpt_fj_string(r, &s) != VPT_OK) {
            return VPT_DECLINED;
        }

        v->type = VPT_FJ_STR;
        v->s = s.data;
        v->len = s.len;
        v->decoded = r->decoded;
        return VPT_OK;

    case '{':
        v->type = VPT_FJ_OBJECT;
        return vpt_fj_skip(r);

    case '[':
        v->type = VPT_FJ_ARRAY;
        return vpt_fj_skip(r);

    case 't':
        v->type = VPT_FJ_TRUE;
        if (r->end - r->p >= 4 && memcmp(r->p, "true", 4) == 0) {
            r->p += 4;
            return VPT_OK;
        }
        return VPT_DECLINED;

    case 'f':
        v->type = VPT_FJ_FALSE;
        if (r->end - r->p >= 5 && memcmp(r->p, "false", 5) == 0) {
            r->p += 5;
            return VPT_OK;
        }
        return VPT_DECLINED;

    case 'n':
        v->type = VPT_FJ_NULL;
        if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0) {
            r->p += 4;
            return VPT_OK;
        }
        return VPT_DECLINED;

    default:
        return vpt_fj_number(r, v);
    }
}


/* any value, validated and passed over */

static int
vpt_fj_skip(vpt_fj_t *r)
{
    int           more, close;
    vpt_str_t     key;
    vpt_fj_val_t  v;

    if (r->p == r->end) {
        return VPT_DECLINED;
    }

    if (*r->p != '{' && *r->p != '[') {
        return vpt_fj_scalar(r, &v);
    }

    close = (*r->p == '{') ? '}' : ']';

    if (vpt_fj_open(r, *r->p, close, &more) != VPT_OK) {
        return VPT_DECLINED;
    }

    /* recursion is bounded by VPT_FAST_DEPTH */

    while (more) {
        if (close == '}' && vpt_fj_key(r, &key) != VPT_OK) {
            return VPT_DECLINED;
        }

        if (vpt_fj_skip(r) != VPT_OK
            || vpt_fj_next(r, close, &more) != VPT_OK)
        {
            return VPT_DECLINED;
        }
    }

    r->depth--;

    return VPT_OK;
}


/*
 * A string: in place when it is plain (the common case, one table lookup
 * a byte), else decoded into the arena (r->decoded then set).
 */

static inline int
vpt_fj_string(vpt_fj_t *r, vpt_str_t *s)
{
    const unsigned char  *p;

    if (r->p == r->end || *r->p != '"') {
        return VPT_DECLINED;
    }

    p = ++r->p;
    p = vpt_fj_plain_end(p, r->end);

    if (p == r->end || *p != '"') {
        r->decoded = 1;
        return vpt_fj_decode(r, s);
    }

    s->data = (const char *) r->p;
    s->len = p - r->p;
    r->decoded = 0;

    r->p = p + 1;

    return VPT_OK;
}


/*
 * A string with escapes or bytes >= 0x80, r->p after its opening quote,
 * decoded at the arena's end as jansson decodes it.  The decoded text is
 * never longer than the raw one ("\n" is 1 byte of 2, "\u00e9" 2 of 6, a
 * surrogate pair 4 of 12), so the arena, as long as the whole text, holds
 * every string written there, decoded or copied, at most once each.
 */

static int
vpt_fj_decode(vpt_fj_t *r, vpt_str_t *s)
{
    size_t                n;
    uint32_t              cp, lo;
    unsigned char        *out, *start;
    const unsigned char  *p, *end;

    p = r->p;
    end = r->end;
    start = out = (unsigned char *) r->arena + r->used;

    while (p < end && *p != '"') {

        if (*p < 0x20) {
            return VPT_DECLINED;
        }

        if (*p >= 0x80) {
            n = vpt_fj_utf8_len(p, end);
            if (n == 0) {
                return VPT_DECLINED;
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
            return VPT_DECLINED;
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
        default:   return VPT_DECLINED;
        }

        if (vpt_fj_hex4(p, end, &cp) != VPT_OK || cp == 0
            || (cp >= 0xdc00 && cp <= 0xdfff))
        {
            return VPT_DECLINED;
        }

        p += 4;

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
                || vpt_fj_hex4(p + 2, end, &lo) != VPT_OK
                || lo < 0xdc00 || lo > 0xdfff)
            {
                return VPT_DECLINED;
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
        return VPT_DECLINED;
    }

    s->data = (const char *) start;
    s->len = out - start;

    r->used += s->len;
    r->p = p + 1;

    return VPT_OK;
}


static int
vpt_fj_hex4(const unsigned char *p, const unsigned char *end, uint32_t *cp)
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
vpt_fj_utf8_len(const unsigned char *p, const unsigned char *end)
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
 * JSON's number grammar.  The value is what jansson's strtod() gives
 * (JSON_DECODE_INT_AS_REAL: integers too), computed without strtod() in
 * the common case: a mantissa of at most 15 significant digits is exact
 * in a double, and so is 10^k for k <= 22, so m * 10^k and m / 10^k are
 * each one correctly rounded operation, the correctly rounded value that
 * strtod() returns (Clinger's fast path).  Other numbers go to strtod()
 * (nginx runs in the "C" locale, whose decimal point is JSON's).
 */

static const double  vpt_fj_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


static int
vpt_fj_number(vpt_fj_t *r, vpt_fj_val_t *v)
{
    int                   neg, exp, eneg, e10, nsig;
    char                  buf[VPT_FAST_REAL_MAX + 1];
    size_t                len;
    uint64_t              m;
    const unsigned char  *p, *start;

    start = p = r->p;
    neg = 0;

    if (p < r->end && *p == '-') {
        neg = 1;
        p++;
    }

    if (p == r->end || *p < '0' || *p > '9') {
        return VPT_DECLINED;
    }

    m = 0;
    nsig = 0;
    e10 = 0;
    v->type = VPT_FJ_INT;

    if (*p == '0') {
        p++;

    } else {
        while (p < r->end && *p >= '0' && *p <= '9') {
            if (++nsig <= 15) {
                m = m * 10 + (*p - '0');

            } else {
                e10++;
            }
            p++;
        }
    }

    if (p < r->end && *p == '.') {
        p++;
        v->type = VPT_FJ_REAL;

        if (p == r->end || *p < '0' || *p > '9') {
            return VPT_DECLINED;
        }

        while (p < r->end && *p >= '0' && *p <= '9') {
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

    if (p < r->end && (*p == 'e' || *p == 'E')) {
        p++;
        v->type = VPT_FJ_REAL;
        eneg = 0;
        exp = 0;

        if (p < r->end && (*p == '+' || *p == '-')) {
            eneg = (*p == '-');
            p++;
        }

        if (p == r->end || *p < '0' || *p > '9') {
            return VPT_DECLINED;
        }

        while (p < r->end && *p >= '0' && *p <= '9') {
            if (exp < 10000) {
                exp = exp * 10 + (*p - '0');
            }
            p++;
        }

        e10 += eneg ? -exp : exp;
    }

    r->p = p;

    if (nsig <= 15 && e10 >= -22 && e10 <= 22) {
        v->num = (e10 >= 0) ? (double) m * vpt_fj_pow10[e10]
                            : (double) m / vpt_fj_pow10[-e10];

        if (neg) {
            v->num = -v->num;
        }

        return VPT_OK;
    }

    len = p - start;

    if (len > VPT_FAST_REAL_MAX) {
        return VPT_DECLINED;
    }

    memcpy(buf, start, len);
    buf[len] = '\0';

    errno = 0;
    v->num = strtod(buf, NULL);

    return (errno == 0) ? VPT_OK : VPT_DECLINED;
}


/* a key read by the ranker twice in one object: jansson's business */

static inline int
vpt_fj_seen(unsigned *seen, int k)
{
    if (*seen & (1u << k)) {
        return VPT_DECLINED;
    }

    *seen |= 1u << k;

    return VPT_OK;
}


/* as vpt_ctx_str(): a non-empty string, in the arena */

static inline void
vpt_fj_str(vpt_fj_t *r, const vpt_fj_val_t *v, vpt_str_t *out)
{
    if (v->type != VPT_FJ_STR || v->len == 0) {
        return;
    }

    if (v->decoded) {
        out->data = v->s;
        out->len = v->len;
        return;
    }

    memcpy(r->arena + r->used, v->s, v->len);

    out->data = r->arena + r->used;
    out->len = v->len;

    r->used += v->len;
}


/* as vpt_ctx_num(): a number >= 0 */

static void
vpt_fj_num(const vpt_fj_val_t *v, double *out)
{
    if ((v->type == VPT_FJ_INT || v->type == VPT_FJ_REAL) && v->num >= 0) {
        *out = v->num;
    }
}
