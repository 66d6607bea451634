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
 *   - empty strings are absent, like missing ones;
 *   - a string that no longer fits in the arena is absent.
 *
 * Strings are copied into the caller's arena without a NUL.  A decoded
 * JSON string is never longer than its text minus its two quotes, so an
 * arena of the text's length always holds every string vpt_context_parse()
 * keeps.
 */

#include <string.h>

#include <jansson.h>

#include "vpt_context.h"


typedef struct {
    char    *base;
    size_t   used;
    size_t   size;
} vpt_ctx_arena_t;


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


int
vpt_context_parse(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len)
{
    int           rc;
    json_t       *root;
    json_error_t  je;

    vpt_context_init(ctx);

    if (len > VPT_CTX_MAX_BYTES) {
        return VPT_ERROR;
    }

    root = json_loadb(json, len, 0, &je);
    if (root == NULL) {
        return VPT_ERROR;
    }

    rc = vpt_context_from_json(ctx, root, arena, arena_len);

    json_decref(root);

    return rc;
}


int
vpt_context_from_json(vpt_context_t *ctx, const void *obj, char *arena,
    size_t arena_len)
{
    json_t           *root, *v;
    json_int_t        hour;
    vpt_ctx_arena_t   a;

    vpt_context_init(ctx);

    root = (json_t *) obj;

    if (root == NULL || !json_is_object(root)) {
        return VPT_ERROR;
    }

    a.base = arena;
    a.used = 0;
    a.size = (arena != NULL) ? arena_len : 0;

    vpt_ctx_user(ctx, &a, json_object_get(root, "user"));

    vpt_ctx_str(&a, json_object_get(root, "device"), &ctx->device);
    vpt_ctx_str(&a, json_object_get(root, "referrer"), &ctx->referrer);
    vpt_ctx_str(&a, json_object_get(root, "country"), &ctx->country);

    v = json_object_get(root, "local_hour");

    if (json_is_integer(v)) {
        hour = json_integer_value(v);

        if (hour >= 0 && hour <= 23) {
            ctx->local_hour = (int) hour;
        }
    }

    ctx->ncart = vpt_ctx_items(&a, json_object_get(root, "cart"), ctx->cart,
                               &ctx->cart_total);

    vpt_ctx_order(ctx, &a, json_object_get(root, "order"));
    vpt_ctx_history(ctx, &a, json_object_get(root, "history"));

    ctx->nviewed = vpt_ctx_items(&a, json_object_get(root, "viewed"),
                                 ctx->viewed, NULL);

    vpt_ctx_str(&a, json_object_get(root, "intent"), &ctx->intent);

    vpt_ctx_features(ctx, &a, json_object_get(root, "features"));

    return VPT_OK;
}


/* "user": {"id": "u-123", "loyalty_member": false, "orders": 3, ...} */

static void
vpt_ctx_user(vpt_context_t *ctx, vpt_ctx_arena_t *a, json_t *v)
{
    json_t  *e;

    if (!json_is_object(v)) {
        return;
    }

    vpt_ctx_str(a, json_object_get(v, "id"), &ctx->user_id);

    e = json_object_get(v, "loyalty_member");

    if (json_is_boolean(e)) {
        ctx->loyalty_member = json_is_true(e) ? 1 : 0;
    }

    vpt_ctx_num(json_object_get(v, "orders"), &ctx->orders);
    vpt_ctx_num(json_object_get(v, "lifetime_value"), &ctx->lifetime_value);
}


/* "order": {"id": "A-1001", "total": 29.99, "currency": "USD"} */

static void
vpt_ctx_order(vpt_context_t *ctx, vpt_ctx_arena_t *a, json_t *v)
{
    if (!json_is_object(v)) {
        return;
    }

    vpt_ctx_str(a, json_object_get(v, "id"), &ctx->order_id);
    vpt_ctx_num(json_object_get(v, "total"), &ctx->order_total);
    vpt_ctx_str(a, json_object_get(v, "currency"), &ctx->order_currency);
}


/* "history": {"categories": ["books"], "skus": ["BK-9"]} */

static void
vpt_ctx_history(vpt_context_t *ctx, vpt_ctx_arena_t *a, json_t *v)
{
    if (!json_is_object(v)) {
        return;
    }

    ctx->nhistory_categories = vpt_ctx_strs(a,
                                   json_object_get(v, "categories"),
                                   ctx->history_categories);

    ctx->nhistory_skus = vpt_ctx_strs(a, json_object_get(v, "skus"),
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
    json_t      *e;
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

        vpt_ctx_num(json_object_get(e, "price"), &it->price);
        vpt_ctx_num(json_object_get(e, "qty"), &it->qty);

        if (total != NULL) {
            *total += it->price * it->qty;
        }

        if (it == &item) {
            continue;
        }

        vpt_ctx_str(a, json_object_get(e, "sku"), &it->sku);
        vpt_ctx_str(a, json_object_get(e, "category"), &it->category);

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
    size_t       keylen, used;
    json_t      *e;
    vpt_attr_t  *f;
    const char  *key;

    if (!json_is_object(v)) {
        return;
    }

    json_object_keylen_foreach(v, key, keylen, e) {
        if (ctx->nfeatures == VPT_CTX_MAX_FEATURES) {
            break;
        }

        if (keylen == 0 || !(json_is_string(e) || json_is_number(e))) {
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


/* VPT_OK and a copy in the arena for a non-empty string that fits */

static int
vpt_ctx_str(vpt_ctx_arena_t *a, json_t *v, vpt_str_t *out)
{
    size_t  len;

    if (!json_is_string(v)) {
        return VPT_ERROR;
    }

    len = json_string_length(v);

    if (len == 0 || len > a->size - a->used) {
        return VPT_ERROR;
    }

    memcpy(a->base + a->used, json_string_value(v), len);

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
