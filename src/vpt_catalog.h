/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The offer catalog: parsed and validated once, at configuration time.
 * Every string is copied into memory the catalog owns (NUL-terminated for
 * convenience, but always used with its length).
 */

#ifndef VPT_CATALOG_H
#define VPT_CATALOG_H

#include "vpt_core.h"


typedef enum {
    VPT_KIND_UPSELL = 0,
    VPT_KIND_CROSS_SELL,
    VPT_KIND_LOYALTY,
    VPT_KIND_APP_INSTALL,
    VPT_KIND_GIFT_CARD,
    VPT_KIND_THIRD_PARTY,
    VPT_KIND_N
} vpt_kind_e;


/* a free-form attribute: {"segment": "new"} or {"age": 31} */
typedef struct {
    vpt_str_t    name;
    vpt_str_t    str;          /* when !is_num */
    double       num;          /* when is_num */
    unsigned     is_num:1;
} vpt_attr_t;


typedef struct {
    vpt_str_t   *items;
    size_t       n;            /* 0: the rule is absent */
} vpt_strlist_t;


/* vpt_advertiser.h */
typedef struct vpt_advertiser_s  vpt_advertiser_t;


typedef struct {
    vpt_str_t      id;
    vpt_kind_e     kind;
    vpt_str_t      markup;
    double         value;
    double         long_term_value;
    double         prior;              /* in [0, 1] */
    unsigned       pages;              /* VPT_PAGE_BIT() set, never 0 */

    /* eligibility rules; an absent list means "any" */
    vpt_strlist_t  devices;
    vpt_strlist_t  countries;
    vpt_strlist_t  referrers;
    uint32_t       hours;              /* bit h: eligible at hour h */
    double         min_cart_total;     /* 0: no minimum */
    vpt_strlist_t  categories_any;     /* cart or history has one of these */
    vpt_strlist_t  categories_none;    /* cart and history have none */
    vpt_strlist_t  exclude_if_in_cart;     /* SKUs or categories */
    vpt_strlist_t  exclude_if_purchased;   /* SKUs or categories */
    int            loyalty_member;     /* -1: any, 0: non-members, 1 */
    unsigned       cap_per_shopper;    /* impressions; 0: no cap */

    vpt_attr_t    *features;
    size_t         nfeatures;
    vpt_str_t      advertiser;         /* third_party only; len 0 if none */

    /*
     * how each placeholder of markup is escaped, in order (vpt_esc_e of
     * vpt_render_ctx.h), as the catalog learned it at load; NULL (offers
     * built in code): learned again at each render
     */
    const unsigned char  *escapes;
    size_t                nescapes;

    /* with an "advertisers" array: its entry, and the value it pays */
    long           adv;                /* index; -1: none */
    double         impression_value;   /* cpm: price / 1000, whatever p */
} vpt_offer_t;


typedef struct {
    vpt_str_t      version;
    vpt_offer_t   *offers;
    size_t         n;
    vpt_advertiser_t  *advertisers;    /* vpt_advertiser.h */
    size_t         nadvertisers;
    void          *mem;                /* owns everything above */
} vpt_catalog_t;


/*
 * On error: NULL, and err names the file, the offer (index from 0, and id
 * once it is known to be valid) and the field, e.g.
 *   catalog "x.json": offer #2 ("party-dress"): "value": expected a number >= 0
 *   catalog "x.json": offer #0: "id": missing
 *   catalog "x.json": offer #1 ("x"): unknown field "valeu"
 *   catalog "x.json": offer #4 ("dup"): "id": duplicate of offer #1
 *   catalog "x.json": line 3, column 7: <the JSON parser's message>
 *   catalog "x.json": cannot read: <strerror>
 *
 * Schema notes beyond the field list: an id is 1..64 bytes of
 * [A-Za-z0-9._:-]; "prior" defaults to 0.05; rule lists, "pages" and
 * "hours" may not be empty arrays; "hours" holds hours 0..23 and inclusive
 * [from, to] ranges that wrap past midnight ([22, 2] is 22, 23, 0, 1, 2);
 * markup placeholders are checked at load; keys repeated within one object
 * are a syntax error.  vpt_catalog_free() frees all (c lives in c->mem).
 */
vpt_catalog_t *vpt_catalog_load(const char *path, char *err, size_t errlen);
vpt_catalog_t *vpt_catalog_parse(const char *json, size_t len,
    const char *name, char *err, size_t errlen);
void vpt_catalog_free(vpt_catalog_t *c);

/* index of the offer with this id, or -1 */
long vpt_catalog_find(const vpt_catalog_t *c, vpt_str_t id);

const char *vpt_kind_name(vpt_kind_e kind);


#endif /* VPT_CATALOG_H */
