/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The accept beacon: "vpt_beacon;" makes a location answer
 *
 *     GET /vpt/accept?d=DECISION&o=OFFER[&x=EXPERIMENT]
 *
 * with 204.  The accept is logged through the $vpt_* variables (status
 * "accept", the decision, the offer and its catalog value) and recorded
 * in the shopper's Redis hash "<prefix><session>:vpt" as "a:<offer>", so
 * the ranker never shows that offer to this shopper again.  The Redis
 * write is fire and forget: the answer never waits on it.
 *
 * Anything malformed is 400 and leaves no trace: no context (so no
 * "accept" in the log) and no Redis write.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


#define NGX_VPT_DECISION_LEN    16
#define NGX_VPT_MAX_ID_LEN      64
#define NGX_VPT_ACCEPTED_TTL    "2592000"       /* 30 days */


static ngx_int_t ngx_http_vpt_beacon_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_beacon_arg(ngx_http_request_t *r,
    char *name, ngx_str_t *value);
static ngx_int_t ngx_http_vpt_is_decision(ngx_str_t *s);
static ngx_int_t ngx_http_vpt_is_id(ngx_str_t *s);
static void ngx_http_vpt_beacon_record(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf, ngx_str_t *offer);
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
    ngx_str_t                  d, o, x;
    ngx_http_vpt_ctx_t        *ctx;
    ngx_http_vpt_loc_conf_t   *vlcf;
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
    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    /* only a valid accept has a context, whatever ran before us */
    ngx_http_set_ctx(r, NULL, ngx_http_vpt_module);

    if (ngx_http_vpt_beacon_arg(r, "d", &d) != NGX_OK
        || ngx_http_vpt_beacon_arg(r, "o", &o) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: \"d\" and \"o\" are required");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (!ngx_http_vpt_is_decision(&d)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: invalid decision id \"%V\"", &d);
        return NGX_HTTP_BAD_REQUEST;
    }

    id.data = (const char *) o.data;
    id.len = o.len;

    offer = ngx_http_vpt_is_id(&o) ? vpt_catalog_find(vmcf->catalog, id) : -1;

    if (offer < 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: unknown offer \"%V\"", &o);
        return NGX_HTTP_BAD_REQUEST;
    }

    rc = ngx_http_vpt_beacon_arg(r, "x", &x);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_null(&x);

    } else if (!ngx_http_vpt_is_id(&x)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: invalid experiment \"%V\"", &x);
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vpt_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the args are copies in r->pool already */

    ctx->request = r;
    ctx->conf = vlcf;
    ctx->redis_time = -1;
    ctx->decided = 1;
    ctx->final = NGX_VPT_ST_ACCEPT;
    ctx->accept_decision = d;
    ctx->accept_offer = o;
    ctx->accept_experiment = x;
    ctx->accept_value = vmcf->catalog->offers[offer].value;

    ngx_http_set_ctx(r, ctx, ngx_http_vpt_module);

    if (vmcf->redis != NULL) {
        ngx_http_vpt_beacon_record(r, vlcf, &o);
    }

    if (ngx_http_vpt_add_header(r, "Cache-Control", "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/*
 * An argument, percent-decoded into r->pool: NGX_OK, NGX_DECLINED when it
 * is absent, NGX_ERROR when out of memory.  The first of repeated
 * arguments wins, as with $arg_*.
 */

static ngx_int_t
ngx_http_vpt_beacon_arg(ngx_http_request_t *r, char *name, ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(r->pool, raw.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    dst = value->data;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, 0);

    value->len = dst - value->data;

    return NGX_OK;
}


/* our decision ids: 16 lowercase hex digits (ngx_hex_dump of 64 bits) */

static ngx_int_t
ngx_http_vpt_is_decision(ngx_str_t *s)
{
    ngx_uint_t  i;

    if (s->len != NGX_VPT_DECISION_LEN) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        if (!((s->data[i] >= '0' && s->data[i] <= '9')
              || (s->data[i] >= 'a' && s->data[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


/* offer ids and experiment names: 1..64 bytes of [A-Za-z0-9._:-] */

static ngx_int_t
ngx_http_vpt_is_id(ngx_str_t *s)
{
    u_char      c;
    ngx_uint_t  i;

    if (s->len == 0 || s->len > NGX_VPT_MAX_ID_LEN) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
            || (c >= 'A' && c <= 'Z')
            || c == '.' || c == '_' || c == ':' || c == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/*
 * HSET <prefix><session>:vpt a:<offer> 1, then EXPIRE, fire and forget:
 * the hash the page requests read with HGETALL.  Without a session there
 * is no one to remember the accept for; it is still logged.
 */

static void
ngx_http_vpt_beacon_record(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf, ngx_str_t *offer)
{
    u_char      *p;
    size_t       argvlen[4];
    ngx_int_t    rc;
    ngx_str_t    session, key, field;
    const char  *argv[4];

    if (ngx_http_complex_value(r, vlcf->session_key, &session) != NGX_OK
        || session.len == 0)
    {
        return;
    }

    key.len = vlcf->context_prefix.len + session.len + sizeof(":vpt") - 1;
    field.len = sizeof("a:") - 1 + offer->len;

    key.data = ngx_pnalloc(r->pool, key.len + field.len);
    if (key.data == NULL) {
        return;
    }

    p = ngx_cpymem(key.data, vlcf->context_prefix.data,
                   vlcf->context_prefix.len);
    p = ngx_cpymem(p, session.data, session.len);
    p = ngx_cpymem(p, ":vpt", sizeof(":vpt") - 1);

    field.data = p;
    p = ngx_cpymem(p, "a:", sizeof("a:") - 1);
    ngx_memcpy(p, offer->data, offer->len);

    argv[0] = "HSET";
    argvlen[0] = sizeof("HSET") - 1;
    argv[1] = (const char *) key.data;
    argvlen[1] = key.len;
    argv[2] = (const char *) field.data;
    argvlen[2] = field.len;
    argv[3] = "1";
    argvlen[3] = 1;

    rc = ngx_vpt_redis_fire(4, argv, argvlen);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: accept of \"%V\" by session \"%V\" "
                      "not recorded in Redis: %s", offer, &session,
                      rc == NGX_DECLINED ? "not usable now" : "refused");
        return;
    }

    argv[0] = "EXPIRE";
    argvlen[0] = sizeof("EXPIRE") - 1;
    argv[2] = NGX_VPT_ACCEPTED_TTL;
    argvlen[2] = sizeof(NGX_VPT_ACCEPTED_TTL) - 1;

    (void) ngx_vpt_redis_fire(3, argv, argvlen);
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
