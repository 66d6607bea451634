/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Two parsed contexts are equal when every value and every string's bytes
 * are: where the strings sit in their arenas does not matter (that they
 * sit in them is ctx_in_arena()'s check).  Shared by
 * t/unit/test_context_fast.c and t/fuzz/fuzz_context_fast.c, which compare
 * the fast path with jansson's.
 */

#ifndef CONTEXT_EQ_H
#define CONTEXT_EQ_H

#include <stdio.h>
#include <string.h>

#include "vpt_context.h"


static inline int
ctx_eq_str(vpt_str_t a, vpt_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}


/* doubles: equal bits but for 0 == -0; NaN is never parsed */

static inline int
ctx_eq_items(const vpt_item_t *a, const vpt_item_t *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (!ctx_eq_str(a[i].sku, b[i].sku)
            || !ctx_eq_str(a[i].category, b[i].category)
            || a[i].price != b[i].price || a[i].qty != b[i].qty)
        {
            return 0;
        }
    }

    return 1;
}


/* 1 if equal; else 0 and the first field that differs in why */

static inline int
ctx_eq(const vpt_context_t *a, const vpt_context_t *b, const char **why)
{
    size_t  i;

#define CTX_EQ(cond, name)  if (!(cond)) { *why = name; return 0; }

    CTX_EQ(ctx_eq_str(a->user_id, b->user_id), "user.id");
    CTX_EQ(a->loyalty_member == b->loyalty_member, "user.loyalty_member");
    CTX_EQ(a->orders == b->orders, "user.orders");
    CTX_EQ(a->lifetime_value == b->lifetime_value, "user.lifetime_value");
    CTX_EQ(ctx_eq_str(a->device, b->device), "device");
    CTX_EQ(ctx_eq_str(a->referrer, b->referrer), "referrer");
    CTX_EQ(ctx_eq_str(a->country, b->country), "country");
    CTX_EQ(a->local_hour == b->local_hour, "local_hour");
    CTX_EQ(a->ncart == b->ncart, "ncart");
    CTX_EQ(ctx_eq_items(a->cart, b->cart, a->ncart), "cart");
    CTX_EQ(a->cart_total == b->cart_total, "cart_total");
    CTX_EQ(ctx_eq_str(a->order_id, b->order_id), "order.id");
    CTX_EQ(a->order_total == b->order_total, "order.total");
    CTX_EQ(ctx_eq_str(a->order_currency, b->order_currency),
           "order.currency");
    CTX_EQ(a->nhistory_categories == b->nhistory_categories,
           "nhistory_categories");

    for (i = 0; i < a->nhistory_categories; i++) {
        CTX_EQ(ctx_eq_str(a->history_categories[i], b->history_categories[i]),
               "history.categories");
    }

    CTX_EQ(a->nhistory_skus == b->nhistory_skus, "nhistory_skus");

    for (i = 0; i < a->nhistory_skus; i++) {
        CTX_EQ(ctx_eq_str(a->history_skus[i], b->history_skus[i]),
               "history.skus");
    }

    CTX_EQ(a->nviewed == b->nviewed, "nviewed");
    CTX_EQ(ctx_eq_items(a->viewed, b->viewed, a->nviewed), "viewed");
    CTX_EQ(ctx_eq_str(a->intent, b->intent), "intent");
    CTX_EQ(ctx_eq_str(a->weekday, b->weekday), "weekday");
    CTX_EQ(a->nfeatures == b->nfeatures, "nfeatures");

    for (i = 0; i < a->nfeatures; i++) {
        CTX_EQ(ctx_eq_str(a->features[i].name, b->features[i].name),
               "features.name");
        CTX_EQ(a->features[i].is_num == b->features[i].is_num,
               "features.is_num");

        if (a->features[i].is_num) {
            CTX_EQ(a->features[i].num == b->features[i].num,
                   "features.num");

        } else {
            CTX_EQ(ctx_eq_str(a->features[i].str, b->features[i].str),
                   "features.str");
        }
    }

#undef CTX_EQ

    return 1;
}


/*
 * 1 if every string of ctx lies in [arena, arena + len), as
 * vpt_context_parse() promises; else 0 and the first field outside
 */

static inline int
ctx_in_arena_str(vpt_str_t s, const char *arena, size_t len)
{
    return s.len == 0
           || (s.data >= arena && s.len <= len
               && (size_t) (s.data - arena) <= len - s.len);
}


static inline int
ctx_in_arena(const vpt_context_t *c, const char *arena, size_t len,
    const char **why)
{
    size_t  i;

#define CTX_IN(s, name)                                                     \
    if (!ctx_in_arena_str(s, arena, len)) { *why = name; return 0; }

    CTX_IN(c->user_id, "user.id");
    CTX_IN(c->device, "device");
    CTX_IN(c->referrer, "referrer");
    CTX_IN(c->country, "country");
    CTX_IN(c->weekday, "weekday");
    CTX_IN(c->order_id, "order.id");
    CTX_IN(c->order_currency, "order.currency");
    CTX_IN(c->intent, "intent");

    for (i = 0; i < c->ncart; i++) {
        CTX_IN(c->cart[i].sku, "cart.sku");
        CTX_IN(c->cart[i].category, "cart.category");
    }

    for (i = 0; i < c->nviewed; i++) {
        CTX_IN(c->viewed[i].sku, "viewed.sku");
        CTX_IN(c->viewed[i].category, "viewed.category");
    }

    for (i = 0; i < c->nhistory_categories; i++) {
        CTX_IN(c->history_categories[i], "history.categories");
    }

    for (i = 0; i < c->nhistory_skus; i++) {
        CTX_IN(c->history_skus[i], "history.skus");
    }

    for (i = 0; i < c->nfeatures; i++) {
        CTX_IN(c->features[i].name, "features.name");
        CTX_IN(c->features[i].str, "features.str");
    }

#undef CTX_IN

    return 1;
}


#endif /* CONTEXT_EQ_H */
