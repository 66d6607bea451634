/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The names the context's readers look for, shared by the jansson walk
 * (vpt_context.c) and the fast path (vpt_context_fast.c), so the two
 * cannot disagree on them.
 */

#ifndef VPT_CONTEXT_INT_H
#define VPT_CONTEXT_INT_H

#include <stdint.h>
#include <string.h>

#include "vpt_core.h"
#include "vpt_context.h"


typedef struct {
    const char  *name;
    size_t       len;
} vpt_ctx_key_t;

#define vpt_ctx_key(s)  { s, sizeof(s) - 1 }

enum {
    VPT_CTX_USER = 0,
    VPT_CTX_DEVICE,
    VPT_CTX_REFERRER,
    VPT_CTX_COUNTRY,
    VPT_CTX_LOCAL_HOUR,
    VPT_CTX_WEEKDAY,
    VPT_CTX_CART,
    VPT_CTX_ORDER,
    VPT_CTX_HISTORY,
    VPT_CTX_VIEWED,
    VPT_CTX_INTENT,
    VPT_CTX_FEATURES,
    VPT_CTX_NROOT
};

static const vpt_ctx_key_t  vpt_ctx_root_keys[] = {
    [VPT_CTX_USER] = vpt_ctx_key("user"),
    [VPT_CTX_DEVICE] = vpt_ctx_key("device"),
    [VPT_CTX_REFERRER] = vpt_ctx_key("referrer"),
    [VPT_CTX_COUNTRY] = vpt_ctx_key("country"),
    [VPT_CTX_LOCAL_HOUR] = vpt_ctx_key("local_hour"),
    [VPT_CTX_WEEKDAY] = vpt_ctx_key("weekday"),
    [VPT_CTX_CART] = vpt_ctx_key("cart"),
    [VPT_CTX_ORDER] = vpt_ctx_key("order"),
    [VPT_CTX_HISTORY] = vpt_ctx_key("history"),
    [VPT_CTX_VIEWED] = vpt_ctx_key("viewed"),
    [VPT_CTX_INTENT] = vpt_ctx_key("intent"),
    [VPT_CTX_FEATURES] = vpt_ctx_key("features")
};

enum {
    VPT_CTX_USER_ID = 0,
    VPT_CTX_USER_LOYALTY,
    VPT_CTX_USER_ORDERS,
    VPT_CTX_USER_LTV,
    VPT_CTX_NUSER
};

static const vpt_ctx_key_t  vpt_ctx_user_keys[] = {
    [VPT_CTX_USER_ID] = vpt_ctx_key("id"),
    [VPT_CTX_USER_LOYALTY] = vpt_ctx_key("loyalty_member"),
    [VPT_CTX_USER_ORDERS] = vpt_ctx_key("orders"),
    [VPT_CTX_USER_LTV] = vpt_ctx_key("lifetime_value")
};

enum {
    VPT_CTX_ORDER_ID = 0,
    VPT_CTX_ORDER_TOTAL,
    VPT_CTX_ORDER_CURRENCY,
    VPT_CTX_NORDER
};

static const vpt_ctx_key_t  vpt_ctx_order_keys[] = {
    [VPT_CTX_ORDER_ID] = vpt_ctx_key("id"),
    [VPT_CTX_ORDER_TOTAL] = vpt_ctx_key("total"),
    [VPT_CTX_ORDER_CURRENCY] = vpt_ctx_key("currency")
};

enum {
    VPT_CTX_HISTORY_CATEGORIES = 0,
    VPT_CTX_HISTORY_SKUS,
    VPT_CTX_NHISTORY
};

static const vpt_ctx_key_t  vpt_ctx_history_keys[] = {
    [VPT_CTX_HISTORY_CATEGORIES] = vpt_ctx_key("categories"),
    [VPT_CTX_HISTORY_SKUS] = vpt_ctx_key("skus")
};

enum {
    VPT_CTX_ITEM_SKU = 0,
    VPT_CTX_ITEM_CATEGORY,
    VPT_CTX_ITEM_PRICE,
    VPT_CTX_ITEM_QTY,
    VPT_CTX_NITEM
};

static const vpt_ctx_key_t  vpt_ctx_item_keys[] = {
    [VPT_CTX_ITEM_SKU] = vpt_ctx_key("sku"),
    [VPT_CTX_ITEM_CATEGORY] = vpt_ctx_key("category"),
    [VPT_CTX_ITEM_PRICE] = vpt_ctx_key("price"),
    [VPT_CTX_ITEM_QTY] = vpt_ctx_key("qty")
};

#define vpt_ctx_keys_check(keys, n)                                         \
    _Static_assert(sizeof(keys) / sizeof(keys[0]) == n, #keys)

vpt_ctx_keys_check(vpt_ctx_root_keys, VPT_CTX_NROOT);
vpt_ctx_keys_check(vpt_ctx_user_keys, VPT_CTX_NUSER);
vpt_ctx_keys_check(vpt_ctx_order_keys, VPT_CTX_NORDER);
vpt_ctx_keys_check(vpt_ctx_history_keys, VPT_CTX_NHISTORY);
vpt_ctx_keys_check(vpt_ctx_item_keys, VPT_CTX_NITEM);


/*
 * len bytes equal; names are a few bytes, compared by their first and last
 * words (overlapping) instead of by a call to memcmp()
 */

static inline int
vpt_ctx_name_eq(const char *a, const char *b, size_t len)
{
    size_t    k;
    uint32_t  u, v;
    uint64_t  x, y;

    if (len > 16) {
        return memcmp(a, b, len) == 0;
    }

    if (len >= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);

        if (x != y) {
            return 0;
        }

        memcpy(&x, a + len - 8, 8);
        memcpy(&y, b + len - 8, 8);

        return x == y;
    }

    if (len >= 4) {
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);

        if (u != v) {
            return 0;
        }

        memcpy(&u, a + len - 4, 4);
        memcpy(&v, b + len - 4, 4);

        return u == v;
    }

    for (k = 0; k < len; k++) {
        if (a[k] != b[k]) {
            return 0;
        }
    }

    return 1;
}


/* the index of name in keys, or -1 */

static inline int
vpt_ctx_key_find(const vpt_ctx_key_t *keys, size_t nkeys, const char *name,
    size_t len)
{
    size_t  k;

    for (k = 0; k < nkeys; k++) {
        if (keys[k].len == len && name[0] == keys[k].name[0]
            && vpt_ctx_name_eq(name, keys[k].name, len))
        {
            return (int) k;
        }
    }

    return -1;
}


/*
 * The fast path: VPT_OK with ctx filled, or VPT_DECLINED for jansson to
 * parse (see vpt_context_fast.c).  Never VPT_ERROR.
 */
int vpt_context_parse_fast(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len);

/* jansson alone: what vpt_context_parse() does with what the fast path
 * declines, and the reference the fast path is tested against */
int vpt_context_parse_jansson(vpt_context_t *ctx, const char *json,
    size_t len, char *arena, size_t arena_len);


#endif /* VPT_CONTEXT_INT_H */
