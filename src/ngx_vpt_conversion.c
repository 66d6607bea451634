/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Realized value, server to server: "vpt_conversion;" makes a location
 * answer
 *
 *     POST (or GET) d=DECISION&v=AMOUNT[&c=CURRENCY]
 *     Authorization: Bearer KEY
 *
 * with 204, once the key matches vpt_conversion_key's (compared in
 * constant time); 401 without it or with another; 400 for bad input.
 * Nothing is written to Redis: the conversion is a log line ($vpt_status
 * "conversion", $vpt_decision, $vpt_value the amount) that vpt-join
 * carries into the decision's record as "realized_value".
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>

#include "ngx_vpt.h"
#include "vpt_query.h"


/* a form of three short fields: anything longer is not ours */
#define NGX_VPT_CONVERSION_BODY_MAX  512


static ngx_int_t ngx_http_vpt_conversion_handler(ngx_http_request_t *r);
static void ngx_http_vpt_conversion_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_conversion_run(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_conversion_authorized(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf);


char *
ngx_http_vpt_conversion(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t  *vlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (vlcf->conversion != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    if (vlcf->enable == 1 || vlcf->beacon == 1) {
        return "cannot be used with \"vpt on\" or \"vpt_beacon\"";
    }

    vlcf->enable = 0;
    vlcf->conversion = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vpt_conversion_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vpt_conversion_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    ngx_http_set_ctx(r, NULL, ngx_http_vpt_module);

    if (r->method == NGX_HTTP_GET) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_vpt_conversion_run(r);
    }

    if (r->method != NGX_HTTP_POST) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r->headers_in.content_length_n > NGX_VPT_CONVERSION_BODY_MAX) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_vpt_conversion_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_vpt_conversion_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_vpt_conversion_run(r));
}


static ngx_int_t
ngx_http_vpt_conversion_run(ngx_http_request_t *r)
{
    u_char                   *p;
    size_t                    len;
    ngx_buf_t                *b;
    vpt_query_conversion_t    q;
    ngx_http_vpt_ctx_t       *ctx;
    ngx_http_vpt_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    if (ngx_http_vpt_conversion_authorized(r, vlcf) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vpt conversion: no or wrong bearer key");
        return NGX_HTTP_UNAUTHORIZED;
    }

    p = r->args.data;
    len = r->args.len;

    if (r->method == NGX_HTTP_POST) {
        if (r->request_body == NULL || r->request_body->bufs == NULL) {
            p = (u_char *) "";
            len = 0;

        } else {
            b = r->request_body->bufs->buf;

            if (b->in_file || r->request_body->bufs->next != NULL) {
                return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
            }

            p = b->pos;
            len = b->last - b->pos;
        }
    }

    if (vpt_query_conversion(&q, (const char *) p, len) != VPT_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt conversion: %s", q.why);
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx = ngx_http_vpt_new_ctx(r, NGX_VPT_OUT_CONVERSION);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->accept.decision.data = ngx_pnalloc(r->pool, q.decision_len);
    if (ctx->accept.decision.data == NULL) {
        ngx_http_set_ctx(r, NULL, ngx_http_vpt_module);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->accept.decision.data, q.decision, q.decision_len);
    ctx->accept.decision.len = q.decision_len;
    ctx->accept_value = q.value;

    ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_CONVERSION, 1);

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


static ngx_int_t
ngx_http_vpt_conversion_authorized(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf)
{
    u_char     *key;
    size_t      len;
    ngx_str_t  *h;

    if (r->headers_in.authorization == NULL) {
        return NGX_DECLINED;
    }

    h = &r->headers_in.authorization->value;

    if (h->len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(h->data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    key = h->data + sizeof("Bearer ") - 1;
    len = h->len - (sizeof("Bearer ") - 1);

    /* the time taken says nothing of how much of the key matched */

    if (len != vlcf->conversion_key.len) {
        (void) CRYPTO_memcmp(vlcf->conversion_key.data,
                             vlcf->conversion_key.data,
                             vlcf->conversion_key.len);
        return NGX_DECLINED;
    }

    if (CRYPTO_memcmp(key, vlcf->conversion_key.data, len) != 0) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}
