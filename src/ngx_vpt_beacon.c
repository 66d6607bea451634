/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The accept beacon: "vpt_beacon;" makes a location answer
 *
 *     GET /vpt/accept?d=DECISION&o=OFFER[&x=EXPERIMENT][&s=SIGNATURE]
 *
 * with 302 to the offer's catalog "url" (never a URL from the request),
 * or 204 when it has none.  The link must be genuine: with vpt_secret, s
 * signs d, o and x (ngx_vpt_secret.c); a forged or altered link is 403,
 * logged (rate limited) and counted nowhere.  x must name a configured
 * vpt_split.  An expired genuine link and a second accept of one decision
 * still lead to the offer, but count nothing ($vpt_status
 * "accept_uncounted").  HEAD answers as GET would and changes nothing.
 *
 * A counted accept is logged through the $vpt_* variables (outcome
 * "accept", the decision, the offer and its catalog value) and recorded by
 * the store (ngx_vpt_store.c): the decision's mark, so it counts once, and
 * the shopper's counters, so the ranker never shows that offer to this
 * shopper again.  The answer waits for Redis (at most vpt_redis_timeout):
 * whether the accept counts is known only then.  Should Redis fail, the
 * shopper is still sent on, and the accept is logged as counted (the
 * error log says the count is unknown).
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
static ngx_int_t ngx_http_vpt_beacon_check(ngx_http_request_t *r,
    vpt_query_beacon_t *q, long *offer);
static ngx_int_t ngx_http_vpt_beacon_copy(ngx_http_request_t *r,
    vpt_query_beacon_t *q, ngx_http_vpt_ctx_t *ctx);
static ngx_int_t ngx_http_vpt_beacon_record(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_beacon_subrequest(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_beacon_recorded(void *data,
    ngx_vpt_store_accept_rc_e rc);
static ngx_int_t ngx_http_vpt_beacon_answer(ngx_http_request_t *r,
    long offer);
static ngx_int_t ngx_http_vpt_add_header(ngx_http_request_t *r,
    char *key, ngx_str_t *value);


char *
ngx_http_vpt_beacon(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t  *vlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_vpt_main_conf_t  *vmcf;

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

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);
    vmcf->beacons = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vpt_beacon_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vpt_beacon_handler(ngx_http_request_t *r)
{
    long                       offer;
    ngx_int_t                  rc;
    static ngx_str_t           cc = ngx_string("no-store");
    vpt_query_beacon_t         q;
    ngx_http_vpt_ctx_t        *ctx;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_vpt_add_header(r, "Allow", NULL) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* only a counted accept has a context, whatever ran before us */
    ngx_http_set_ctx(r, NULL, ngx_http_vpt_module);

    if (ngx_http_vpt_add_header(r, "Cache-Control", &cc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_vpt_beacon_check(r, &q, &offer);

    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    if (r->method == NGX_HTTP_HEAD) {
        /* where it leads, and nothing else: no count, no write */
        return ngx_http_vpt_beacon_answer(r, offer);
    }

    ctx = ngx_http_vpt_new_ctx(r, NGX_VPT_OUT_ACCEPT);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_vpt_beacon_copy(r, &q, ctx) != NGX_OK) {
        /* no context then, as for any failed accept */
        ngx_http_set_ctx(r, NULL, ngx_http_vpt_module);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->accept_value = vmcf->catalog->offers[offer].value;
    ctx->accept_offer = offer;

    if (rc == NGX_DECLINED) {
        /* genuine but expired: it still leads to the offer */
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_ACCEPT_UNCOUNTED, 1);
        return ngx_http_vpt_beacon_answer(r, offer);
    }

    ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_ACCEPT, 0);

    if (r != r->main) {
        ngx_http_vpt_beacon_subrequest(ctx);
    }

    if (ngx_http_vpt_beacon_record(ctx) == NGX_OK) {
        /* the answer waits for the store's (ngx_http_vpt_beacon_recorded) */
        r->main->count++;
        return NGX_DONE;
    }

    ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_ACCEPT, 1);
    ngx_http_vpt_spend_accept(r, (ngx_uint_t) offer);

    return ngx_http_vpt_beacon_answer(r, offer);
}


/*
 * NGX_OK: a genuine accept to count; NGX_DECLINED: genuine but expired,
 * answered, not counted; else the status to answer.  *offer is the
 * catalog's index of the offer whenever the link is genuine.
 */

static ngx_int_t
ngx_http_vpt_beacon_check(ngx_http_request_t *r, vpt_query_beacon_t *q,
    long *offer)
{
    ngx_str_t                  token, *name;
    vpt_str_t                  id;
    ngx_uint_t                 i, skipped;
    vpt_sign_rc_e              rc;
    vpt_sign_check_t           res;
    ngx_vpt_store_accept_t     a;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    /* the request line the log adds to the message shows the query */

    if (vpt_query_beacon(q, (const char *) r->args.data, r->args.len)
        != VPT_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: %s", q->why);
        return NGX_HTTP_BAD_REQUEST;
    }

    id.data = q->arg[VPT_QUERY_O].data;
    id.len = q->arg[VPT_QUERY_O].len;

    *offer = vpt_catalog_find(vmcf->catalog, id);

    if (*offer < 0) {
        /* safe to log: it passed the id grammar */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: unknown offer \"%*s\"", id.len, id.data);
        return NGX_HTTP_BAD_REQUEST;
    }

    /* a made-up experiment would fill the reports' arm tables */

    if (q->arg[VPT_QUERY_X].len) {
        name = vmcf->splits ? vmcf->splits->elts : NULL;

        for (i = 0; vmcf->splits && i < vmcf->splits->nelts; i++) {
            if (name[i].len == q->arg[VPT_QUERY_X].len
                && ngx_memcmp(name[i].data, q->arg[VPT_QUERY_X].data,
                              name[i].len) == 0)
            {
                break;
            }
        }

        if (vmcf->splits == NULL || i == vmcf->splits->nelts) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "vpt beacon: \"x\" names no vpt_split");
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    if (vmcf->sign_keys == NULL) {
        /* nginx -t warned: anyone can forge accepts */
        return NGX_OK;
    }

    a.decision.data = (u_char *) q->arg[VPT_QUERY_D].data;
    a.decision.len = q->arg[VPT_QUERY_D].len;
    a.offer.data = (u_char *) q->arg[VPT_QUERY_O].data;
    a.offer.len = q->arg[VPT_QUERY_O].len;
    a.experiment.data = (u_char *) q->arg[VPT_QUERY_X].data;
    a.experiment.len = q->arg[VPT_QUERY_X].len;
    token.data = (u_char *) q->arg[VPT_QUERY_S].data;
    token.len = q->arg[VPT_QUERY_S].len;

    rc = ngx_http_vpt_verify_accept(r, &a, &token, &res);

    if (rc == VPT_SIGN_OK) {
        return NGX_OK;
    }

    if (rc == VPT_SIGN_EXPIRED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: link expired at %L, not counted",
                      (int64_t) res.expires);
        return NGX_DECLINED;
    }

    if (ngx_http_vpt_log_allowed(NGX_VPT_LOG_ACCEPT, &skipped)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vpt beacon: refused a %s link: %s "
                      "(%ui more since the last report)",
                      vpt_sign_rc_name(rc), res.why ? res.why : "no signature",
                      skipped);
    }

    return NGX_HTTP_FORBIDDEN;
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
    ngx_str_t        *dst[VPT_QUERY_S];
    vpt_query_arg_t  *a;

    dst[VPT_QUERY_D] = &ctx->accept.decision;
    dst[VPT_QUERY_O] = &ctx->accept.offer;
    dst[VPT_QUERY_X] = &ctx->accept.experiment;

    /* d, o, x: the signature is not needed once checked */
    len = 0;

    for (i = 0; i < VPT_QUERY_S; i++) {
        len += q->arg[i].len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < VPT_QUERY_S; i++) {
        a = &q->arg[i];

        dst[i]->data = p;
        dst[i]->len = a->len;
        p = ngx_cpymem(p, a->data, a->len);
    }

    return NGX_OK;
}


/*
 * Through the store: NGX_OK when it answers later, NGX_DECLINED when there
 * is nothing to wait for (no Redis, or not usable now: the accept is
 * counted in the log all the same; without a session the store still
 * marks a signed decision).
 */

static ngx_int_t
ngx_http_vpt_beacon_record(ngx_http_vpt_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_vpt_shopper_t         *s;
    ngx_http_request_t        *r;
    ngx_http_vpt_main_conf_t  *vmcf;

    r = ctx->request;
    s = &ctx->shopper;
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    if (!ngx_vpt_store_configured(r)) {
        return NGX_DECLINED;
    }

    /*
     * Without consent to anything personal nothing is written for the
     * shopper (their counters); the signed decision is still marked once.
     */

    if (ngx_http_vpt_consent(r, ctx->conf) == NGX_VPT_CONSENT_NONE
        || ngx_http_vpt_session(r, ctx->conf, &s->session) != NGX_OK)
    {
        s->session.len = 0;
    }

    s->prefix = ctx->conf->context_prefix;

    rc = ngx_vpt_store_record_accept(r, s, &ctx->accept,
                                     vmcf->sign_keys != NULL,
                                     ctx->conf->redis_timeout,
                                     ngx_http_vpt_beacon_recorded, ctx);

    if (rc != NGX_OK && s->session.len) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: accept of \"%V\" not recorded in Redis: "
                      "not usable now", &ctx->accept.offer);
    }

    return rc;
}


static void
ngx_http_vpt_beacon_recorded(void *data, ngx_vpt_store_accept_rc_e rc)
{
    ngx_http_vpt_ctx_t  *ctx = data;

    ngx_http_request_t  *r;

    r = ctx->request;

    switch (rc) {

    case NGX_VPT_STORE_ACCEPT_REPEAT:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt beacon: decision %V was accepted before, "
                      "not counted", &ctx->accept.decision);
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_ACCEPT_UNCOUNTED, 1);
        break;

    case NGX_VPT_STORE_ACCEPT_UNKNOWN:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vpt beacon: redis did not answer, the accept of "
                      "decision %V is logged but its count is unknown",
                      &ctx->accept.decision);
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_ACCEPT, 1);
        ngx_http_vpt_spend_accept(r, (ngx_uint_t) ctx->accept_offer);
        break;

    default:
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_ACCEPT, 1);
        ngx_http_vpt_spend_accept(r, (ngx_uint_t) ctx->accept_offer);
    }

    ngx_http_finalize_request(r,
        ngx_http_vpt_beacon_answer(r, ctx->accept_offer));
}


/* 302 to the offer's catalog url, or 204 */

static ngx_int_t
ngx_http_vpt_beacon_answer(ngx_http_request_t *r, long offer)
{
    vpt_offer_t               *o;
    ngx_table_elt_t           *h;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    o = &vmcf->catalog->offers[offer];

    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    if (o->url.len == 0) {
        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        return ngx_http_send_header(r);
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* checked at load: no byte that could split the header */
    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = (u_char *) o->url.data;
    h->value.len = o->url.len;

    r->headers_out.location = h;
    r->headers_out.status = NGX_HTTP_MOVED_TEMPORARILY;

    return ngx_http_send_header(r);
}


/*
 * A beacon run as a subrequest (SSI, mirror, auth_request of a landing
 * page) has no log phase of its own unless log_subrequest is on: the main
 * request carries its accept.  A main request that is no vpt page takes
 * the accept as its context, so its log line and the counters show it; a
 * page keeps its own decision and counts the accept beside it (the
 * subrequest's own line, with log_subrequest on, shows the accept).
 */

static void
ngx_http_vpt_beacon_subrequest(ngx_http_vpt_ctx_t *ctx)
{
    ngx_http_request_t       *r, *main;
    ngx_http_vpt_ctx_t       *page;
    ngx_http_vpt_loc_conf_t  *vlcf;

    r = ctx->request;
    main = r->main;

    page = ngx_http_get_module_ctx(main, ngx_http_vpt_module);

    if (page != NULL) {
        ctx->next_accept = page->sub_accepts;
        page->sub_accepts = ctx;
        return;
    }

    vlcf = ngx_http_get_module_loc_conf(main, ngx_http_vpt_module);

    if (!vlcf->enable || vlcf->beacon) {
        ngx_http_set_ctx(main, ctx, ngx_http_vpt_module);
        return;
    }

    /* a page that never had a context (a HEAD): its filters would */

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "vpt beacon: accept of \"%V\" in a subrequest of a page "
                  "without a decision is not counted", &ctx->accept.offer);
}


static ngx_int_t
ngx_http_vpt_add_header(ngx_http_request_t *r, char *key, ngx_str_t *value)
{
    ngx_table_elt_t  *h;
    static ngx_str_t  allow = ngx_string("GET, HEAD");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = value ? *value : allow;

    return NGX_OK;
}
