/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Fixture builders the core's unit tests share: strings, offers with no
 * rules, cart items, attributes (a context's or an offer's "features"),
 * the equality of two parsed contexts (context_eq.h), and a catalog that
 * must fail with one message.  Offers and
 * contexts are built in code, so the ranker's, the model's and the
 * markup's tests do not depend on the catalog or context parsers; an
 * empty context is vpt_context_init()'s, so it cannot drift from it.
 * Everything is static inline: a test uses what it needs.
 */

#ifndef VPT_FIXTURE_H
#define VPT_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "vpt_core.h"
#include "vpt_catalog.h"
#include "vpt_context.h"
#include "context_eq.h"


static inline vpt_str_t
str(const char *s)
{
    vpt_str_t  v;

    v.data = s;
    v.len = strlen(s);

    return v;
}


/* an offer with no rules, on both pages, at any hour */
static inline void
offer_init(vpt_offer_t *o, const char *id, double value, double ltv,
    double prior)
{
    memset(o, 0, sizeof(vpt_offer_t));
    o->id = str(id);
    o->kind = VPT_KIND_UPSELL;
    o->markup = str("<p>offer</p>");
    o->value = value;
    o->long_term_value = ltv;
    o->prior = prior;
    o->pages = VPT_PAGE_BIT(VPT_PAGE_CART)
               | VPT_PAGE_BIT(VPT_PAGE_CONFIRMATION);
    o->hours = 0xffffff;
    o->loyalty_member = -1;
}


/* one item of qty 1 in the context's cart, counted in its total */
static inline void
cart_add(vpt_context_t *ctx, const char *sku, const char *category,
    double price)
{
    vpt_item_t  *it;

    it = &ctx->cart[ctx->ncart++];
    it->sku = str(sku);
    it->category = str(category);
    it->price = price;
    it->qty = 1;
    ctx->cart_total += price;
}


/* attributes: a[(*n)++] named name, with a string or a number */
static inline void
attr_str(vpt_attr_t *a, size_t *n, const char *name, const char *value)
{
    memset(&a[*n], 0, sizeof(vpt_attr_t));
    a[*n].name = str(name);
    a[*n].str = str(value);
    (*n)++;
}


static inline void
attr_num(vpt_attr_t *a, size_t *n, const char *name, double value)
{
    memset(&a[*n], 0, sizeof(vpt_attr_t));
    a[*n].name = str(name);
    a[*n].num = value;
    a[*n].is_num = 1;
    (*n)++;
}



/*
 * A catalog that must not have parsed: c is NULL and the parser's message
 * err is want; otherwise the "#" lines say what came instead
 */
static inline int
catalog_fails_with(vpt_catalog_t *c, const char *err, const char *want)
{
    if (c != NULL) {
        vpt_catalog_free(c);
        printf("#   parsed, expected: %s\n", want);
        return 0;
    }

    if (strcmp(err, want) != 0) {
        printf("#   got:  %s\n#   want: %s\n", err, want);
        return 0;
    }

    return 1;
}


#endif /* VPT_FIXTURE_H */
