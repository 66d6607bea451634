/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The session context.  The shop writes it, so nothing in it is trusted
 * and nothing in it is an error but the whole not being a JSON object:
 *
 *   - unknown fields are ignored;
 *   - a field of the wrong type, or a number out of its range, is absent
 *     (its vpt_context_init() value);
 *   - array entries of the wrong type are skipped, and entries past the
 *     array sizes are dropped (cart_total still counts every cart item);
 *   - empty strings are absent, like missing ones, and so are strings
 *     with a NUL byte ("\u0000");
 *   - a string that no longer fits in the arena is absent.
 *
 * What jansson refuses is not JSON to us either, and the whole value is
 * bad: more than VPT_CTX_MAX_BYTES, invalid UTF-8, a NUL byte in a key,
 * nesting deeper than JSON_PARSER_MAX_DEPTH (2048), a number beyond a
 * double's range (1e400; an integer of any size below that is a double
 * here), NaN or Infinity, bytes after the object.
 *
 * Bounds.  VPT_CTX_MAX_BYTES bounds everything: the parse is linear in
 * the text, and jansson's tree of 64 KB of the worst text for it, ~21,000
 * empty objects in an array, is about 4.4 MB, freed before the parse
 * returns (t/unit/test_context.c measures it).  What is kept is bounded by
 * the struct: VPT_CTX_MAX_ITEMS, _STRS and _FEATURES entries, strings in
 * the caller's arena; nothing is allocated per entry beyond jansson's own.
 *
 * Strings are copied into the caller's arena without a NUL.  A decoded
 * JSON string is never longer than its text minus its two quotes, so an
 * arena of the text's length always holds every string vpt_context_parse()
 * keeps.
 *
 * Cost.  json_loadb() is most of a parse, about 175 instructions a byte
 * of text in jansson 2.14's lexer alone, which this file cannot change;
 * around it were jansson's allocations (a context of 330 bytes makes some
 * 120 malloc() and as many free() calls: 15% of the parse) and our own
 * hash lookup of each field.  So:
 *
 *   - while json_loadb() runs here, jansson allocates from vpt_ctx_jmem, a
 *     static buffer emptied at every parse, by bumping an offset; free()
 *     of that memory does nothing.  A tree that fits there, as that of any
 *     context of a few KB does, is never freed: emptying the buffer at the
 *     next parse drops it.  A context that needs more gets the rest from
 *     the allocator installed before ours (malloc() normally), and its tree
 *     is freed with json_decref() as before;
 *
 *   - json_set_alloc_funcs() is process-wide: our functions stay installed
 *     after the first parse and, outside json_loadb() here, pass every call
 *     on to the functions they replaced, so the catalog, the model and
 *     whatever allocator a program installed keep their memory; a
 *     pointer is ours by its address.  Functions someone installs later are
 *     chained to at the next parse.  This assumes no other thread uses
 *     jansson while vpt_context_parse() runs: an nginx worker and the tools
 *     have a single thread;
 *
 *   - the fields of an object are found in one pass over its keys, not by
 *     a hash lookup each, and copied in the same order as before (which
 *     matters when the arena is too small for every string).
 *
 * Under AddressSanitizer, only what jansson was given during the current
 * parse of vpt_ctx_jmem is addressable.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "vpt_context.h"
#include "vpt_context_int.h"


#if defined(__SANITIZE_ADDRESS__)
#define VPT_CTX_ASAN  1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VPT_CTX_ASAN  1
#endif
#endif

#ifdef VPT_CTX_ASAN
#include <sanitizer/asan_interface.h>
#define vpt_ctx_poison(p, n)    ASAN_POISON_MEMORY_REGION(p, n)
#define vpt_ctx_unpoison(p, n)  ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define vpt_ctx_poison(p, n)
#define vpt_ctx_unpoison(p, n)
#endif


typedef struct {
    char    *base;
    size_t   used;
    size_t   size;
} vpt_ctx_arena_t;


/* the keys read from each object: vpt_context_int.h */


/*
 * jansson's memory while vpt_context_parse() runs json_loadb(): 64 KB
 * holds the tree of a context of about 6 KB (jansson needs about ten
 * bytes per byte of text).
 */

#define VPT_CTX_JMEM    (64 * 1024)
#define VPT_CTX_JALIGN  16              /* as malloc()'s */

static char           vpt_ctx_jmem[VPT_CTX_JMEM]
                          __attribute__((aligned(VPT_CTX_JALIGN)));
static size_t         vpt_ctx_jused;
static int            vpt_ctx_jactive;    /* json_loadb() running */
static int            vpt_ctx_jspilled;   /* it needed the heap too */
static json_malloc_t  vpt_ctx_jprev_malloc;
static json_free_t    vpt_ctx_jprev_free;


static void vpt_ctx_user(vpt_context_t *ctx, vpt_ctx_arena_t *a, json_t *v);
static void vpt_ctx_order(vpt_context_t *ctx, vpt_ctx_arena_t *a,
    json_t *v);
static void vpt_ctx_history(vpt_context_t *ctx, vpt_ctx_arena_t *a,
    json_t *v);
static size_t vpt_ctx_items(vpt_ctx_arena_t *a, json_t *v, vpt_item_t *items,
    double *total);
static size_t vpt_ctx_strs(vpt_ctx_arena_t *a, json_t *v, vpt_str_t *strs);
static void vpt_ctx_features(vpt_context_t *ctx, vpt_ctx_arena_t *a,
    json_t *v);
static int vpt_ctx_str(vpt_ctx_arena_t *a, json_t *v, vpt_str_t *out);
static int vpt_ctx_num(json_t *v, double *out);
static void vpt_ctx_fields(json_t *obj, const vpt_ctx_key_t *keys,
    size_t nkeys, json_t **out);
static void vpt_ctx_jbegin(void);
static void vpt_ctx_jend(json_t *root);
static void *vpt_ctx_jmalloc(size_t n);
static void vpt_ctx_jfree(void *p);


void
vpt_context_init(vpt_context_t *ctx)
{
    memset(ctx, 0, sizeof(vpt_context_t));

    ctx->loyalty_member = -1;
    ctx->orders = -1;
    ctx->lifetime_value = -1;
    ctx->local_hour = -1;
    ctx->order_total = -1;
}


/*
 * vpt_context_init() but for the arrays' entries (5.6 KB of the 5.8 KB):
 * nothing reads an entry past its array's count, and the parsers write
 * each entry whole before they count it.  A new scalar field anywhere is
 * zeroed too; a new array is not.
 */

#define vpt_ctx_zero(ctx, from, to)                                         \
    memset((char *) (ctx) + offsetof(vpt_context_t, from), 0,               \
           offsetof(vpt_context_t, to) - offsetof(vpt_context_t, from))

void
vpt_context_clear(vpt_context_t *ctx)
{
    memset(ctx, 0, offsetof(vpt_context_t, cart));
    vpt_ctx_zero(ctx, ncart, history_categories);
    vpt_ctx_zero(ctx, nhistory_categories, history_skus);
    vpt_ctx_zero(ctx, nhistory_skus, viewed);
    vpt_ctx_zero(ctx, nviewed, features);
    memset(&ctx->nfeatures, 0,
           sizeof(vpt_context_t) - offsetof(vpt_context_t, nfeatures));

    ctx->loyalty_member = -1;
    ctx->orders = -1;
    ctx->lifetime_value = -1;
    ctx->local_hour = -1;
    ctx->order_total = -1;
}


int
vpt_context_parse(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len)
{
    if (len > VPT_CTX_MAX_BYTES) {
        vpt_context_init(ctx);
        return VPT_ERROR;
    }

    /* plain contexts, the common case, without jansson's cost */

    if (vpt_context_parse_fast(ctx, json, len, arena, arena_len) == VPT_OK) {
        return VPT_OK;
    }

    return vpt_context_parse_jansson(ctx, json, len, arena, arena_len);
}


int
vpt_context_parse_jansson(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len)
{
    int      rc;
    json_t  *root;

    if (len > VPT_CTX_MAX_BYTES) {
        vpt_context_init(ctx);
        return VPT_ERROR;
    }

    /* no json_error_t: its message would only cost time on bad contexts */

    /*
     * JSON_ALLOW_NUL: a "\u0000" makes its string absent (vpt_ctx_str()),
     * not the whole context bad.  JSON_DECODE_INT_AS_REAL: an integer
     * beyond 64 bits is a number like any other, not a syntax error; no
     * field needs more than a double's 53 bits of precision.
     */

    vpt_ctx_jbegin();
    root = json_loadb(json, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                      NULL);
    vpt_ctx_jactive = 0;

    /* VPT_ERROR for a NULL root, after vpt_context_init() */
    rc = vpt_context_from_json(ctx, root, arena, arena_len);

    vpt_ctx_jend(root);

    return rc;
}


int
vpt_context_from_json(vpt_context_t *ctx, const void *obj, char *arena,
    size_t arena_len)
{
    double            hour;
    json_t           *root, *f[VPT_CTX_NROOT];
    vpt_ctx_arena_t   a;

    vpt_context_init(ctx);

    root = (json_t *) obj;

    if (root == NULL || !json_is_object(root)) {
        return VPT_ERROR;
    }

    a.base = arena;
    a.used = 0;
    a.size = (arena != NULL) ? arena_len : 0;

    vpt_ctx_fields(root, vpt_ctx_root_keys, VPT_CTX_NROOT, f);

    vpt_ctx_user(ctx, &a, f[VPT_CTX_USER]);

    vpt_ctx_str(&a, f[VPT_CTX_DEVICE], &ctx->device);
    vpt_ctx_str(&a, f[VPT_CTX_REFERRER], &ctx->referrer);
    vpt_ctx_str(&a, f[VPT_CTX_COUNTRY], &ctx->country);
    vpt_ctx_str(&a, f[VPT_CTX_WEEKDAY], &ctx->weekday);

    /* a whole number: 20 and 20.0 alike, as integers may be reals here */

    if (vpt_ctx_num(f[VPT_CTX_LOCAL_HOUR], &hour) == VPT_OK
        && hour <= 23 && hour == (double) (int) hour)
    {
        ctx->local_hour = (int) hour;
    }

    ctx->ncart = vpt_ctx_items(&a, f[VPT_CTX_CART], ctx->cart,
                               &ctx->cart_total);

    vpt_ctx_order(ctx, &a, f[VPT_CTX_ORDER]);
    vpt_ctx_history(ctx, &a, f[VPT_CTX_HISTORY]);

    ctx->nviewed = vpt_ctx_items(&a, f[VPT_CTX_VIEWED], ctx->viewed, NULL);

    vpt_ctx_str(&a, f[VPT_CTX_INTENT], &ctx->intent);

    vpt_ctx_features(ctx, &a, f[VPT_CTX_FEATURES]);

    return VPT_OK;
}


/* "user": {"id": "u-123", "loyalty_member": false, "orders": 3, ...} */

static void
vpt_ctx_user(vpt_context_t *ctx, vpt_ctx_arena_t *a, json_t *v)
{
    json_t  *e, *f[VPT_CTX_NUSER];

    if (!json_is_object(v)) {
        return;
    }

    vpt_ctx_fields(v, vpt_ctx_user_keys, VPT_CTX_NUSER, f);

    vpt_ctx_str(a, f[VPT_CTX_USER_ID], &ctx->user_id);

    e = f[VPT_CTX_USER_LOYALTY];

    if (json_is_boolean(e)) {
        ctx->loyalty_member = json_is_true(e) ? 1 : 0;
    }

    vpt_ctx_num(f[VPT_CTX_USER_ORDERS], &ctx->orders);
    vpt_ctx_num(f[VPT_CTX_USER_LTV], &ctx->lifetime_value);
}


/* "order": {"id": "A-1001", "total": 29.99, "currency": "USD"} */

static void
vpt_ctx_order(vpt_context_t *ctx, vpt_ctx_arena_t *a, json_t *v)
{
    json_t  *f[VPT_CTX_NORDER];

    if (!json_is_object(v)) {
        return;
    }

    vpt_ctx_fields(v, vpt_ctx_order_keys, VPT_CTX_NORDER, f);

    vpt_ctx_str(a, f[VPT_CTX_ORDER_ID], &ctx->order_id);
    vpt_ctx_num(f[VPT_CTX_ORDER_TOTAL], &ctx->order_total);
    vpt_ctx_str(a, f[VPT_CTX_ORDER_CURRENCY], &ctx->order_currency);
}


/* "history": {"categories": ["books"], "skus": ["BK-9"]} */

static void
vpt_ctx_history(vpt_context_t *ctx, vpt_ctx_arena_t *a, json_t *v)
{
    json_t  *f[VPT_CTX_NHISTORY];

    if (!json_is_object(v)) {
        return;
    }

    vpt_ctx_fields(v, vpt_ctx_history_keys, VPT_CTX_NHISTORY, f);

    ctx->nhistory_categories = vpt_ctx_strs(a, f[VPT_CTX_HISTORY_CATEGORIES],
                                            ctx->history_categories);

    ctx->nhistory_skus = vpt_ctx_strs(a, f[VPT_CTX_HISTORY_SKUS],
                                      ctx->history_skus);
}


/*
 * [{"sku": "TOY-1", "category": "toys", "price": 29.99, "qty": 1}, ...]:
 * price and qty are numbers >= 0, price 0 and qty 1 when absent.  total,
 * when not NULL, is the sum of price * qty over every item, including
 * those dropped past VPT_CTX_MAX_ITEMS.
 */

static size_t
vpt_ctx_items(vpt_ctx_arena_t *a, json_t *v, vpt_item_t *items,
    double *total)
{
    size_t       i, n;
    json_t      *e, *f[VPT_CTX_NITEM];
    vpt_item_t   item, *it;

    if (total != NULL) {
        *total = 0;
    }

    if (!json_is_array(v)) {
        return 0;
    }

    n = 0;

    json_array_foreach(v, i, e) {
        if (!json_is_object(e)) {
            continue;
        }

        it = (n < VPT_CTX_MAX_ITEMS) ? &items[n] : &item;

        memset(it, 0, sizeof(vpt_item_t));
        it->qty = 1;

        vpt_ctx_fields(e, vpt_ctx_item_keys, VPT_CTX_NITEM, f);

        vpt_ctx_num(f[VPT_CTX_ITEM_PRICE], &it->price);
        vpt_ctx_num(f[VPT_CTX_ITEM_QTY], &it->qty);

        if (total != NULL) {
            *total += it->price * it->qty;
        }

        if (it == &item) {
            continue;
        }

        vpt_ctx_str(a, f[VPT_CTX_ITEM_SKU], &it->sku);
        vpt_ctx_str(a, f[VPT_CTX_ITEM_CATEGORY], &it->category);

        n++;
    }

    return n;
}


/* an array of strings: other entries and empty strings are skipped */

static size_t
vpt_ctx_strs(vpt_ctx_arena_t *a, json_t *v, vpt_str_t *strs)
{
    size_t   i, n;
    json_t  *e;

    if (!json_is_array(v)) {
        return 0;
    }

    n = 0;

    json_array_foreach(v, i, e) {
        if (n == VPT_CTX_MAX_STRS) {
            break;
        }

        if (vpt_ctx_str(a, e, &strs[n]) == VPT_OK) {
            n++;
        }
    }

    return n;
}


/* "features": {"segment": "bargain-hunter", "age": 31} */

static void
vpt_ctx_features(vpt_context_t *ctx, vpt_ctx_arena_t *a, json_t *v)
{
    void        *iter;
    size_t       keylen, used;
    json_t      *e;
    vpt_attr_t  *f;
    const char  *key;

    if (!json_is_object(v)) {
        return;
    }

    for (iter = json_object_iter(v);
         iter != NULL && ctx->nfeatures < VPT_CTX_MAX_FEATURES;
         iter = json_object_iter_next(v, iter))
    {
        key = json_object_iter_key(iter);
        keylen = json_object_iter_key_len(iter);
        e = json_object_iter_value(iter);

        if (keylen == 0 || memchr(key, '\0', keylen) != NULL
            || !(json_is_string(e) || json_is_number(e)))
        {
            continue;
        }

        f = &ctx->features[ctx->nfeatures];
        memset(f, 0, sizeof(vpt_attr_t));

        used = a->used;

        if (keylen > a->size - a->used) {
            continue;
        }

        memcpy(a->base + a->used, key, keylen);
        f->name.data = a->base + a->used;
        f->name.len = keylen;
        a->used += keylen;

        if (json_is_number(e)) {
            f->num = json_number_value(e);
            f->is_num = 1;

        } else if (vpt_ctx_str(a, e, &f->str) != VPT_OK) {
            /* an empty value, or no room left: forget the name too */
            a->used = used;
            memset(f, 0, sizeof(vpt_attr_t));
            continue;
        }

        ctx->nfeatures++;
    }
}


/*
 * VPT_OK and a copy in the arena for a non-empty string that fits.  One
 * with a NUL byte is absent: no name, id or category has one, and C string
 * functions further on (snprintf's %s in a tool) would cut it short.
 */

static int
vpt_ctx_str(vpt_ctx_arena_t *a, json_t *v, vpt_str_t *out)
{
    size_t       len;
    const char  *s;

    if (!json_is_string(v)) {
        return VPT_ERROR;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len == 0 || len > a->size - a->used || memchr(s, '\0', len) != NULL)
    {
        return VPT_ERROR;
    }

    memcpy(a->base + a->used, s, len);

    out->data = a->base + a->used;
    out->len = len;

    a->used += len;

    return VPT_OK;
}


/* a number >= 0 (a JSON integer or real); out is left as is otherwise */

static int
vpt_ctx_num(json_t *v, double *out)
{
    double  d;

    if (!json_is_number(v)) {
        return VPT_ERROR;
    }

    d = json_number_value(v);

    if (!(d >= 0)) {
        return VPT_ERROR;
    }

    *out = d;

    return VPT_OK;
}


/*
 * out[k]: the value of keys[k] in obj, or NULL.  A key appears once in a
 * jansson object (a repeated key replaces the value), so this finds what
 * json_object_get() would, without hashing every name looked up.
 */

static void
vpt_ctx_fields(json_t *obj, const vpt_ctx_key_t *keys, size_t nkeys,
    json_t **out)
{
    int     k;
    void   *iter;
    size_t  i;

    for (i = 0; i < nkeys; i++) {
        out[i] = NULL;
    }

    for (iter = json_object_iter(obj);
         iter != NULL;
         iter = json_object_iter_next(obj, iter))
    {
        k = vpt_ctx_key_find(keys, nkeys, json_object_iter_key(iter),
                             json_object_iter_key_len(iter));

        if (k >= 0) {
            out[k] = json_object_iter_value(iter);
        }
    }
}


/* jansson's memory: see the top of this file */

static void
vpt_ctx_jbegin(void)
{
    json_free_t    f;
    json_malloc_t  m;

    json_get_alloc_funcs(&m, &f);

    if (m != vpt_ctx_jmalloc) {
        /* the first parse, or someone installed theirs since */
        vpt_ctx_jprev_malloc = m;
        vpt_ctx_jprev_free = f;
        json_set_alloc_funcs(vpt_ctx_jmalloc, vpt_ctx_jfree);
    }

    vpt_ctx_poison(vpt_ctx_jmem, VPT_CTX_JMEM);

    vpt_ctx_jused = 0;
    vpt_ctx_jspilled = 0;
    vpt_ctx_jactive = 1;
}


/*
 * After the parse: a tree that lives in vpt_ctx_jmem only is dropped with
 * it (nothing but this file ever saw it); one with heap parts is freed.
 */

static void
vpt_ctx_jend(json_t *root)
{
    if (root != NULL && vpt_ctx_jspilled) {
        json_decref(root);
    }

    vpt_ctx_poison(vpt_ctx_jmem, vpt_ctx_jused);
}


static void *
vpt_ctx_jmalloc(size_t n)
{
    char    *p;
    size_t   size;

    if (vpt_ctx_jactive) {
        size = (n + VPT_CTX_JALIGN - 1) & ~(size_t) (VPT_CTX_JALIGN - 1);

        if (size >= n && size <= VPT_CTX_JMEM - vpt_ctx_jused) {
            p = vpt_ctx_jmem + vpt_ctx_jused;
            vpt_ctx_jused += size;

            vpt_ctx_unpoison(p, n);

            return p;
        }

        vpt_ctx_jspilled = 1;
    }

    return vpt_ctx_jprev_malloc(n);
}


static void
vpt_ctx_jfree(void *p)
{
    if ((uintptr_t) p - (uintptr_t) vpt_ctx_jmem < VPT_CTX_JMEM) {
        return;
    }

    vpt_ctx_jprev_free(p);
}
