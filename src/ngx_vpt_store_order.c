/*
 * Copyright (C) ngx_vpt_module authors
 *
 * One decision per order (the layout: ngx_vpt_store.h): the confirmation
 * page's decision is kept in the shopper's counters as "m:<order.id>",
 * which the lookup's HGETALL reads back in the same round trip, so a
 * reload shows the same offers under the same decision id.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "ngx_vpt_store_int.h"
#include "vpt_query.h"


/*
 * HSET "m:<order>" "<decision id> <offer>/<slot>,<offer>/<slot>" in the
 * counters: the slot says in which placement the offer was (an id has no
 * '/'); a memo written before placements has no slot, each offer then
 * takes the next.
 */

void
ngx_vpt_store_memo_write(ngx_http_request_t *r, ngx_vpt_shopper_t *shopper,
    const vpt_decision_t *decision, ngx_str_t *decision_id)
{
    u_char                    *p;
    size_t                     i, len, argvlen[4];
    ngx_str_t                  key, field, value;
    vpt_str_t                 *id;
    const char                *argv[4];
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    if (ngx_vpt_store_key(r, shopper, 1, &key) != NGX_OK) {
        return;
    }

    len = decision_id->len;

    for (i = 0; i < decision->n; i++) {
        len += 1 + vmcf->catalog->offers[decision->offer[i]].id.len
               + sizeof("/7") - 1;
    }

    field.len = 2 + shopper->order.len;
    field.data = ngx_pnalloc(r->pool, field.len + len);
    if (field.data == NULL) {
        return;
    }

    p = ngx_cpymem(field.data, "m:", 2);
    p = ngx_cpymem(p, shopper->order.data, shopper->order.len);

    value.data = p;
    p = ngx_cpymem(p, decision_id->data, decision_id->len);

    for (i = 0; i < decision->n; i++) {
        id = &vmcf->catalog->offers[decision->offer[i]].id;
        *p++ = (u_char) (i ? ',' : ' ');
        p = ngx_cpymem(p, id->data, id->len);
        *p++ = '/';
        *p++ = (u_char) ('0' + decision->slot[i] % VPT_MAX_SLOTS);
    }

    value.len = p - value.data;

    argv[0] = "HSET";
    argvlen[0] = 4;
    argv[2] = (const char *) field.data;
    argvlen[2] = field.len;
    argv[3] = (const char *) value.data;
    argvlen[3] = value.len;

    (void) ngx_vpt_store_fire(&key, 4, argv, argvlen);
}


ngx_int_t
ngx_vpt_store_order_decision(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, u_char *decision_id, vpt_decision_t *d)
{
    u_char                    *p, *end, *comma, *slash;
    ngx_int_t                  slot;
    long                       offer;
    ngx_str_t                 *m;
    vpt_str_t                  id;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    /* the memo read is the one of the context's order.id, this order */

    m = &shopper->memo;

    if (shopper->order.len == 0 || m->len < 18 || m->data[16] != ' '
        || !vpt_query_is_decision((char *) m->data, 16))
    {
        return NGX_DECLINED;
    }

    ngx_memcpy(decision_id, m->data, 16);
    ngx_memzero(d, sizeof(vpt_decision_t));

    p = m->data + 17;
    end = m->data + m->len;

    while (p < end && d->n < VPT_MAX_SLOTS) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        slash = ngx_strlchr(p, comma, '/');
        slot = -1;

        if (slash != NULL) {
            slot = ngx_atoi(slash + 1, comma - slash - 1);
        }

        if (slot < 0 || slot >= VPT_MAX_SLOTS) {
            slot = d->n;
        }

        id.data = (const char *) p;
        id.len = (slash ? slash : comma) - p;

        /* an offer gone from the catalog since is not shown again */
        offer = vpt_catalog_find(vmcf->catalog, id);
        if (offer >= 0) {
            d->offer[d->n] = (uint32_t) offer;
            d->slot[d->n] = (uint8_t) slot;
            d->value[d->n] = vmcf->catalog->offers[offer].value;
            d->propensity[d->n] = 1;
            d->total_value += d->value[d->n];
            d->n++;
        }

        p = comma + 1;
    }

    return d->n ? NGX_OK : NGX_DECLINED;
}


/* an order's memo, kept until the decision knows the page's order.id */

void
ngx_vpt_store_memo_read(ngx_http_request_t *r, ngx_vpt_shopper_t *s,
    vpt_str_t *order, redisReply *value)
{
    vpt_context_t  *c;

    /*
     * The context's reply came first (the lookup's commands are answered
     * in order): only its order's memo can be shown, the others are not
     * kept.
     */

    c = s->context;

    if (c == NULL || c->order_id.len != order->len || s->memo.len
        || ngx_memcmp(c->order_id.data, order->data, order->len) != 0)
    {
        return;
    }

    s->memo.data = ngx_pnalloc(r->pool, value->len);
    if (s->memo.data == NULL) {
        return;
    }

    ngx_memcpy(s->memo.data, value->str, value->len);
    s->memo.len = value->len;
}
