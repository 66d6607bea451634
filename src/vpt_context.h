/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The shopper's session context, as the shop stores it in Redis.  Parsed
 * into fixed-size arrays whose strings live in a caller-provided arena, so
 * the ranker reads it without further allocation.  The shop owns this data:
 * unknown fields are ignored, a field of the wrong type (or a number out of
 * its range: negative, an hour outside 0..23 or not whole) is absent, an
 * empty string or one with a NUL byte is absent, items beyond the array
 * sizes are dropped.  An item's price is 0 and its qty 1 when absent.
 * Text that jansson refuses (see vpt_context.c) is not a context at all.
 */

#ifndef VPT_CONTEXT_H
#define VPT_CONTEXT_H

#include "vpt_core.h"
#include "vpt_catalog.h"


#define VPT_CTX_MAX_ITEMS     32
#define VPT_CTX_MAX_STRS      32
#define VPT_CTX_MAX_FEATURES  32

#define VPT_CTX_MAX_BYTES     (64 * 1024)  /* larger is bad_context */


typedef struct {
    vpt_str_t    sku;
    vpt_str_t    category;
    double       price;
    double       qty;
} vpt_item_t;


typedef struct {
    vpt_str_t    user_id;
    int          loyalty_member;       /* -1: unknown */
    double       orders;               /* -1: unknown */
    double       lifetime_value;       /* -1: unknown */

    vpt_str_t    device;               /* len 0: unknown */
    vpt_str_t    referrer;
    vpt_str_t    country;
    int          local_hour;           /* -1: unknown */
    vpt_str_t    weekday;              /* "mon".."sun" as the shop or the
                                          request says; len 0: unknown */

    vpt_item_t   cart[VPT_CTX_MAX_ITEMS];
    size_t       ncart;
    double       cart_total;           /* sum of price * qty, over every
                                          cart item, even those dropped */

    vpt_str_t    order_id;
    double       order_total;          /* -1: unknown */
    vpt_str_t    order_currency;

    vpt_str_t    history_categories[VPT_CTX_MAX_STRS];
    size_t       nhistory_categories;
    vpt_str_t    history_skus[VPT_CTX_MAX_STRS];
    size_t       nhistory_skus;

    vpt_item_t   viewed[VPT_CTX_MAX_ITEMS];
    size_t       nviewed;

    vpt_str_t    intent;

    vpt_attr_t   features[VPT_CTX_MAX_FEATURES];
    size_t       nfeatures;
} vpt_context_t;


/* an empty context: everything unknown */
void vpt_context_init(vpt_context_t *ctx);

/*
 * The same empty context, but the arrays' entries are left as they were
 * (nothing reads one past its array's count): 0.2 KB written, not 5.8 KB
 */
void vpt_context_clear(vpt_context_t *ctx);

/*
 * VPT_OK, or VPT_ERROR when json is not a JSON object (bad_context).
 * arena must have at least len bytes and not overlap json; strings of
 * ctx point into it (a plain context's into a copy of the whole text).
 *
 * Single-threaded: while it runs, jansson allocates from a static buffer
 * of vpt_context.c, through allocation functions it installs with
 * json_set_alloc_funcs() (process-wide) at the first call.  Outside the
 * parse they pass every call on to the functions installed before them,
 * so other users of jansson in the process are not affected, but no other
 * thread may use jansson while a parse runs (an nginx worker and the tools
 * have one thread).
 */
int vpt_context_parse(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len);

/*
 * Builds the fast parser's tables of names, which vpt_context_parse()
 * otherwise builds at its first call: nginx calls it while reading its
 * configuration, so that workers share them.  VPT_ERROR if one cannot be
 * built (every context then goes to jansson: right, slower).
 */
int vpt_context_prepare(void);

/*
 * Same, from an already decoded jansson object (json_t *), for tools that
 * read the context out of a decision-log line.
 */
int vpt_context_from_json(vpt_context_t *ctx, const void *json_object,
    char *arena, size_t arena_len);


#endif /* VPT_CONTEXT_H */
