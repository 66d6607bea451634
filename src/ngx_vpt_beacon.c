/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The accept beacon: "vpt_beacon;" makes a location answer
 *
 *     GET /vpt/accept?d=DECISION&o=OFFER[&x=EXPERIMENT]
 *
 * with 204.  The accept is logged through the $vpt_* variables (outcome
 * "accept", the decision, the offer and its catalog value) and recorded
 * in the shopper's counters by the store (ngx_vpt_store.c), so the ranker
 * never shows that offer to this shopper again.  The Redis write is fire
 * and forget: the answer never waits on it.
 *
 * Anything malformed is 400 and leaves no trace: no context (so no
 * "accept" in the log) and no Redis write.  What malformed means (repeated
 * or encoded names, bad percent-encoding, the id grammars) is decided by
 * the pure core, vpt_query_beacon(); here we only look the offer up.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "vpt_query.h"


static ngx_int_t ngx_http_vpt_beacon_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_beacon_copy(ngx_http_request_t *r,
    vpt_query_beacon_t *q, ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_beacon_record(ngx_http_vpt_ctx_t *ctx);
static ngx_int_t ngx_http_vpt_add_header(ngx_http_request_t *r,
    char *key, char *value);


char *
ngx_http_vpt_beacon(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t  *vlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (vlcf->beacon != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    if (vlcf->enable == 1) {
        return "cannot be used in a location with \"vpt on\"";
    }

    /*
     * A beacon is not a page: it does not inherit "vpt on" from above, so
     * no lookup is started for it.  The header filter also leaves
     * locations with vlcf->beacon alone.
     */

    vlcf->enable = 0;
    vlcf->beacon = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vpt_beacon_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vpt_beacon_handler(ngx_http_request_t *r)
{
    long                       offer;
    ngx_int_t                  rc;
    vpt_str_t                  id;
    vpt_query_beacon_t         q;
    ngx_http_vpt_ctx_t        *ctx;
    ngx_http_vpt_main_conf_t  *vmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_vpt_add_header(r, "Allow", "GET, HEAD") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    /* only a valid accept has a context, whatever ran before us */
    ngx_http_set_ctx(r, NULL, ngx_http_vpt_module);

    /* the request line the log adds to the message shows the query */

    if (vpt_query_beacon(&q, (const char *) r->args.data, r->args.len)
        != VPT_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: %s", q.why);
        return NGX_HTTP_BAD_REQUEST;
    }

    id.data = q.arg[VPT_QUERY_O].data;
    id.len = q.arg[VPT_QUERY_O].len;

    offer = vpt_catalog_find(vmcf->catalog, id);

    if (offer < 0) {
        /* safe to log: it passed the id grammar */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: unknown offer \"%*s\"", id.len, id.data);
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx = ngx_http_vpt_new_ctx(r, NGX_VPT_OUT_ACCEPT);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_ACCEPT, 1);

    if (ngx_http_vpt_beacon_copy(r, &q, ctx) != NGX_OK) {
        /* no context then, as for any failed accept */
        ngx_http_set_ctx(r, NULL, ngx_http_vpt_module);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->accept_value = vmcf->catalog->offers[offer].value;

    ngx_http_vpt_beacon_record(ctx);
    ngx_http_vpt_spend_accept(r, (ngx_uint_t) offer);

    if (ngx_http_vpt_add_header(r, "Cache-Control", "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/*
 * The decoded arguments live in q, on our stack: the log handler and the
 * variables read them later, from one copy in r->pool.
 */

static ngx_int_t
ngx_http_vpt_beacon_copy(ngx_http_request_t *r, vpt_query_beacon_t *q,
    ngx_http_vpt_ctx_t *ctx)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i;
    ngx_str_t        *dst[VPT_QUERY_NARGS];
    vpt_query_arg_t  *a;

    dst[VPT_QUERY_D] = &ctx->accept.decision;
    dst[VPT_QUERY_O] = &ctx->accept.offer;
    dst[VPT_QUERY_X] = &ctx->accept.experiment;

    len = 0;

    for (i = 0; i < VPT_QUERY_NARGS; i++) {
        len += q->arg[i].len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < VPT_QUERY_NARGS; i++) {
        a = &q->arg[i];

        dst[i]->data = p;
        dst[i]->len = a->len;
        p = ngx_cpymem(p, a->data, a->len);
    }

    return NGX_OK;
}


/*
 * Into the shopper's counters, through the store.  Without a session (or
 * with a key the pages refuse, see ngx_http_vpt_session()) there is no one
 * to remember the accept for; it is still logged.
 */

static void
ngx_http_vpt_beacon_record(ngx_http_vpt_ctx_t *ctx)
{
    size_t               n;
    u_char               show[NGX_VPT_LOG_ESCAPED];
    ngx_int_t            rc;
    ngx_vpt_shopper_t   *s;
    ngx_http_request_t  *r;

    r = ctx->request;
    s = &ctx->shopper;

    /* without consent to anything personal, nothing is written for it */

    if (!ngx_vpt_store_configured(r)
        || ngx_http_vpt_consent(r, ctx->conf) == NGX_VPT_CONSENT_NONE
        || ngx_http_vpt_session(r, ctx->conf, &s->session) != NGX_OK)
    {
        return;
    }

    s->prefix = ctx->conf->context_prefix;

    rc = ngx_vpt_store_record_accept(r, s, &ctx->accept);

    if (rc != NGX_OK) {
        n = ngx_http_vpt_log_escape(show, s->session.data, s->session.len);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: accept of \"%V\" by session \"%*s\" "
                      "not recorded in Redis: %s", &ctx->accept.offer, n,
                      show, rc == NGX_DECLINED ? "not usable now" : "refused");
    }
}


static ngx_int_t
ngx_http_vpt_add_header(ngx_http_request_t *r, char *key, char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}
