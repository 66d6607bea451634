/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The Redis data model (keys, the lookup, replies, writes, TTLs); the
 * layout is at the top of ngx_vpt_store.h.
 *
 * A lookup is GETRANGE of the context and HGETALL of the counters,
 * pipelined on the worker's connection: one round trip.  Its timer is its
 * own; its replies reach it through ngx_vpt_redis_call_t, which cancel
 * detaches, so nothing here outlives the request that asked.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "ngx_vpt_store_int.h"
#include "vpt_cluster.h"


/* VPT_CTX_MAX_BYTES: GETRANGE's end is inclusive, one more tells "too big" */
#define NGX_VPT_STORE_CTX_LAST_BYTE  "65536"

/* parsed contexts kept for reuse, 5.8 KB each */
#define NGX_VPT_STORE_SPARE_CONTEXTS 16


enum {
    NGX_VPT_STORE_CALL_CONTEXT = 0,
    NGX_VPT_STORE_CALL_COUNTERS,
    NGX_VPT_STORE_NCALLS
};


struct ngx_vpt_store_lookup_s {
    ngx_http_request_t       *request;
    ngx_vpt_shopper_t        *shopper;
    ngx_vpt_store_done_pt     done;
    void                     *data;
    ngx_vpt_redis_call_t     *calls[NGX_VPT_STORE_NCALLS];
    ngx_uint_t                pending;       /* replies outstanding */
    ngx_vpt_store_rc_e        rc;
    ngx_event_t               timer;
    ngx_msec_t                start;
};


static ngx_int_t ngx_vpt_store_cluster_key(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, ngx_str_t *key);
static void ngx_vpt_store_context_reply(ngx_vpt_redis_call_t *call,
    redisReply *reply);
static void ngx_vpt_store_counters_reply(ngx_vpt_redis_call_t *call,
    redisReply *reply);
static ngx_int_t ngx_vpt_store_counters(ngx_vpt_store_lookup_t *lk,
    redisReply *reply);
static uint32_t ngx_vpt_store_count_value(redisReply *value);
static void ngx_vpt_store_reply_done(ngx_vpt_store_lookup_t *lk);
static void ngx_vpt_store_timeout(ngx_event_t *ev);
static vpt_context_t *ngx_vpt_store_context_get(ngx_http_request_t *r);
static void ngx_vpt_store_context_put(void *data);


/*
 * A context struct is too large for the request's pool (a malloc() and a
 * free() per lookup, some 350 instructions): the worker keeps a few for
 * its requests, free ones on a stack, static so that nothing is left to
 * free at exit; past them a request mallocs its own.
 */
static vpt_context_t  ngx_vpt_store_contexts[NGX_VPT_STORE_SPARE_CONTEXTS];
static vpt_context_t *ngx_vpt_store_spare[NGX_VPT_STORE_SPARE_CONTEXTS];
static ngx_uint_t     ngx_vpt_store_nspare = (ngx_uint_t) -1;


ngx_uint_t
ngx_vpt_store_configured(ngx_http_request_t *r)
{
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    return vmcf->redis != NULL;
}


/* "<prefix><session>", or the counters' "<prefix><session>:vpt" */

ngx_int_t
ngx_vpt_store_key(ngx_http_request_t *r, ngx_vpt_shopper_t *shopper,
    ngx_uint_t counters, ngx_str_t *key)
{
    u_char  *p;
    size_t   suffix;

    /* built once: the lookup reads the counters, the impressions write */
    if (counters && shopper->counters_key.len) {
        *key = shopper->counters_key;
        return NGX_OK;
    }

    if (ngx_vpt_cluster_enabled()) {
        if (counters) {
            return ngx_vpt_store_cluster_key(r, shopper, key);
        }

        suffix = 0;

    } else {
        /*
         * both in one piece: the counters' key is the context's and
         * ":vpt", so the one built first gives the other
         */
        suffix = sizeof(NGX_VPT_STORE_COUNTERS) - 1;
    }

    key->len = shopper->prefix.len + shopper->session.len + suffix;
    key->data = ngx_pnalloc(r->pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, shopper->prefix.data, shopper->prefix.len);
    p = ngx_cpymem(p, shopper->session.data, shopper->session.len);
    ngx_memcpy(p, NGX_VPT_STORE_COUNTERS, suffix);

    if (suffix) {
        shopper->counters_key = *key;
    }

    if (!counters) {
        key->len -= suffix;
    }

    return NGX_OK;
}


/*
 * In a cluster the counters must share the context's slot, so that the
 * lookup is one pipelined round trip to one node: the core's sibling key
 * (vpt_cluster.h: "<context key>:vpt" when the context key has a hash tag
 * and does not start with '{', "{<context key>}:vpt" or a tagged form
 * otherwise; never another shopper's).
 */

static ngx_int_t
ngx_vpt_store_cluster_key(ngx_http_request_t *r, ngx_vpt_shopper_t *shopper,
    ngx_str_t *key)
{
    u_char     *ctx, *p;
    size_t      len;
    ngx_str_t   sfx = ngx_string(NGX_VPT_STORE_COUNTERS);

    len = shopper->prefix.len + shopper->session.len;

    ctx = ngx_pnalloc(r->pool, len + VPT_CLUSTER_SIBLING_MAX(len, sfx.len));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(ctx, shopper->prefix.data, shopper->prefix.len);
    ngx_memcpy(p, shopper->session.data, shopper->session.len);

    key->data = ctx + len;
    key->len = vpt_cluster_sibling_key((char *) key->data, (char *) ctx, len,
                                       (char *) sfx.data, sfx.len);

    shopper->counters_key = *key;

    return NGX_OK;
}


/*
 * Every command goes out through these two, argv[1] its key: where a
 * cluster's routing by slot goes.
 */

ngx_vpt_redis_call_t *
ngx_vpt_store_send(ngx_str_t *key, ngx_vpt_redis_handler_pt handler,
    void *data, int argc, const char **argv, size_t *argvlen)
{
    argv[1] = (const char *) key->data;
    argvlen[1] = key->len;

    if (ngx_vpt_cluster_enabled()) {
        return ngx_vpt_cluster_command(key, handler, data, argc, argv,
                                       argvlen);
    }

    return ngx_vpt_redis_command(handler, data, argc, argv, argvlen);
}


ngx_int_t
ngx_vpt_store_fire(ngx_str_t *key, int argc, const char **argv,
    size_t *argvlen)
{
    argv[1] = (const char *) key->data;
    argvlen[1] = key->len;

    if (ngx_vpt_cluster_enabled()) {
        return ngx_vpt_cluster_fire(key, argc, argv, argvlen);
    }

    return ngx_vpt_redis_fire(argc, argv, argvlen);
}


/*
 * HINCRBY or HSET of "<kind>:<offer>" in the counters, then their TTL in
 * the same pipeline: the one writer of the counters.  Any write may be
 * the one that creates the hash (it may have expired since the lookup
 * read it), so every write carries a TTL: "EXPIRE ... NX" (Redis 7) for
 * impressions, which keeps the 30 days counted from the hash's first
 * write; a plain EXPIRE for accepts (ttl_nx 0), which start them again.
 */

ngx_int_t
ngx_vpt_store_count(ngx_http_request_t *r, ngx_vpt_shopper_t *shopper,
    const char *cmd, u_char kind, vpt_str_t *offer, ngx_uint_t ttl_nx)
{
    size_t       argvlen[4];
    ngx_int_t    rc;
    ngx_str_t    key, field;
    const char  *argv[4];

    if (ngx_vpt_store_key(r, shopper, 1, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    field.len = 2 + offer->len;
    field.data = ngx_pnalloc(r->pool, field.len);
    if (field.data == NULL) {
        return NGX_ERROR;
    }

    field.data[0] = kind;
    field.data[1] = ':';
    ngx_memcpy(field.data + 2, offer->data, offer->len);

    argv[0] = cmd;
    argvlen[0] = ngx_strlen(cmd);
    argv[2] = (const char *) field.data;
    argvlen[2] = field.len;
    argv[3] = "1";
    argvlen[3] = 1;

    rc = ngx_vpt_store_fire(&key, 4, argv, argvlen);

    if (rc != NGX_OK) {
        return rc;
    }

    argv[0] = "EXPIRE";
    argvlen[0] = sizeof("EXPIRE") - 1;
    argv[2] = NGX_VPT_STORE_COUNTERS_TTL;
    argvlen[2] = sizeof(NGX_VPT_STORE_COUNTERS_TTL) - 1;
    argv[3] = "NX";
    argvlen[3] = 2;

    (void) ngx_vpt_store_fire(&key, ttl_nx ? 4 : 3, argv, argvlen);

    return NGX_OK;
}


void
ngx_vpt_store_record_decision(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, const vpt_decision_t *decision,
    ngx_str_t *decision_id)
{
    size_t                     i;
    vpt_str_t                 *id;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    if (vmcf->redis == NULL || shopper->session.len == 0) {
        return;
    }

    for (i = 0; i < decision->n; i++) {
        id = &vmcf->catalog->offers[decision->offer[i]].id;

        (void) ngx_vpt_store_count(r, shopper, "HINCRBY", 'i', id, 1);
    }

    if (shopper->order.len && decision->n) {
        ngx_vpt_store_memo_write(r, shopper, decision, decision_id);
    }
}


ngx_vpt_store_lookup_t *
ngx_vpt_store_lookup(ngx_http_request_t *r, ngx_vpt_shopper_t *shopper,
    ngx_msec_t timeout, ngx_vpt_store_done_pt done, void *data)
{
    size_t                   argvlen[4];
    ngx_str_t                key, counters;
    const char              *argv[4];
    ngx_vpt_store_lookup_t  *lk;

    lk = ngx_pcalloc(r->pool, sizeof(ngx_vpt_store_lookup_t));
    if (lk == NULL
        || ngx_vpt_store_key(r, shopper, 0, &key) != NGX_OK
        || ngx_vpt_store_key(r, shopper, 1, &counters) != NGX_OK)
    {
        return NULL;
    }

    lk->request = r;
    lk->shopper = shopper;
    lk->done = done;
    lk->data = data;
    lk->start = ngx_current_msec;

    /*
     * GETRANGE, not GET: a runaway value costs one byte more than the
     * largest context we accept, never its whole size
     */
    argv[0] = "GETRANGE";
    argvlen[0] = sizeof("GETRANGE") - 1;
    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = NGX_VPT_STORE_CTX_LAST_BYTE;
    argvlen[3] = sizeof(NGX_VPT_STORE_CTX_LAST_BYTE) - 1;

    lk->calls[NGX_VPT_STORE_CALL_CONTEXT] =
        ngx_vpt_store_send(&key, ngx_vpt_store_context_reply, lk, 4, argv,
                           argvlen);

    if (lk->calls[NGX_VPT_STORE_CALL_CONTEXT] == NULL) {
        return NULL;
    }

    /* pipelined on the same connection: one round trip for both */
    argv[0] = "HGETALL";
    argvlen[0] = sizeof("HGETALL") - 1;

    lk->calls[NGX_VPT_STORE_CALL_COUNTERS] =
        ngx_vpt_store_send(&counters, ngx_vpt_store_counters_reply, lk, 2,
                           argv, argvlen);

    if (lk->calls[NGX_VPT_STORE_CALL_COUNTERS] == NULL) {
        /* without the counters, caps and accepts would be ignored */
        ngx_vpt_redis_detach(lk->calls[NGX_VPT_STORE_CALL_CONTEXT]);
        return NULL;
    }

    lk->pending = NGX_VPT_STORE_NCALLS;

    lk->timer.handler = ngx_vpt_store_timeout;
    lk->timer.data = lk;
    lk->timer.log = r->connection->log;

    ngx_add_timer(&lk->timer, timeout);

    return lk;
}


void
ngx_vpt_store_cancel(ngx_vpt_store_lookup_t *lk)
{
    ngx_uint_t  i;

    if (lk == NULL) {
        return;
    }

    for (i = 0; i < NGX_VPT_STORE_NCALLS; i++) {
        ngx_vpt_redis_detach(lk->calls[i]);
        lk->calls[i] = NULL;
    }

    lk->pending = 0;

    if (lk->timer.timer_set) {
        ngx_del_timer(&lk->timer);
    }
}


static void
ngx_vpt_store_context_reply(ngx_vpt_redis_call_t *call, redisReply *reply)
{
    ngx_vpt_store_lookup_t  *lk = call->data;

    char                *arena;
    size_t               n;
    u_char               show[NGX_VPT_LOG_ESCAPED];
    ngx_uint_t           skipped;
    ngx_vpt_shopper_t   *s;
    ngx_http_request_t  *r;

    r = lk->request;
    s = lk->shopper;
    lk->calls[NGX_VPT_STORE_CALL_CONTEXT] = NULL;
    lk->pending--;

    if (ngx_vpt_redis_wrongtype(reply)) {
        /*
         * a hash or a list under the context's key: the shop's data,
         * reported below as any bad context
         */
        lk->rc = NGX_VPT_STORE_BAD_CONTEXT;

    } else if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        lk->rc = NGX_VPT_STORE_ERROR;

        if (ngx_http_vpt_log_allowed(NGX_VPT_LOG_REDIS, &skipped)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "vpt: redis GETRANGE failed: %s "
                          "(%ui more since the last report)",
                          reply ? reply->str : "connection lost", skipped);
        }

    } else if (reply->type == REDIS_REPLY_NIL
               || (reply->type == REDIS_REPLY_STRING && reply->len == 0))
    {
        /* GETRANGE answers a missing key with an empty string */
        lk->rc = NGX_VPT_STORE_NO_CONTEXT;

    } else if (reply->type != REDIS_REPLY_STRING
               || reply->len > VPT_CTX_MAX_BYTES)
    {
        lk->rc = NGX_VPT_STORE_BAD_CONTEXT;

    } else {
        s->context_json.data = ngx_pnalloc(r->pool, reply->len);
        arena = ngx_pnalloc(r->pool, reply->len + 1);
        s->context = ngx_vpt_store_context_get(r);

        if (s->context_json.data == NULL || arena == NULL
            || s->context == NULL)
        {
            s->context = NULL;
            lk->rc = NGX_VPT_STORE_ERROR;

        } else if (vpt_context_parse(s->context, reply->str, reply->len,
                                     arena, reply->len + 1)
                   != VPT_OK)
        {
            /*
             * not kept for $vpt_context: it may be no UTF-8 at all, which
             * escape=json passes on, and one such line is not JSON
             */
            s->context = NULL;
            lk->rc = NGX_VPT_STORE_BAD_CONTEXT;

        } else {
            ngx_memcpy(s->context_json.data, reply->str, reply->len);
            s->context_json.len = reply->len;
        }
    }

    if (lk->rc == NGX_VPT_STORE_BAD_CONTEXT
        && ngx_http_vpt_log_allowed(NGX_VPT_LOG_CONTEXT, &skipped))
    {
        n = ngx_http_vpt_log_escape(show, s->session.data, s->session.len);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vpt: context of session \"%*s\" is not a JSON object "
                      "of at most %d bytes (%ui more since the last report)",
                      n, show, VPT_CTX_MAX_BYTES, skipped);
    }

    ngx_vpt_store_reply_done(lk);
}


/* a context struct for the request, back to the spares when it ends */

static vpt_context_t *
ngx_vpt_store_context_get(ngx_http_request_t *r)
{
    ngx_uint_t           i;
    vpt_context_t       *c;
    ngx_pool_cleanup_t  *cln;

    if (ngx_vpt_store_nspare == (ngx_uint_t) -1) {
        for (i = 0; i < NGX_VPT_STORE_SPARE_CONTEXTS; i++) {
            ngx_vpt_store_spare[i] = &ngx_vpt_store_contexts[i];
        }

        ngx_vpt_store_nspare = NGX_VPT_STORE_SPARE_CONTEXTS;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    if (ngx_vpt_store_nspare) {
        c = ngx_vpt_store_spare[--ngx_vpt_store_nspare];

    } else {
        c = ngx_alloc(sizeof(vpt_context_t), r->connection->log);
        if (c == NULL) {
            return NULL;
        }
    }

    cln->handler = ngx_vpt_store_context_put;
    cln->data = c;

    return c;
}


static void
ngx_vpt_store_context_put(void *data)
{
    vpt_context_t  *c = data;

    if (c >= ngx_vpt_store_contexts
        && c < ngx_vpt_store_contexts + NGX_VPT_STORE_SPARE_CONTEXTS)
    {
        ngx_vpt_store_spare[ngx_vpt_store_nspare++] = c;
        return;
    }

    ngx_free(c);
}


static void
ngx_vpt_store_counters_reply(ngx_vpt_redis_call_t *call, redisReply *reply)
{
    ngx_vpt_store_lookup_t  *lk = call->data;

    lk->calls[NGX_VPT_STORE_CALL_COUNTERS] = NULL;
    lk->pending--;

    if (ngx_vpt_store_counters(lk, reply) != NGX_OK) {
        lk->rc = NGX_VPT_STORE_ERROR;
    }

    ngx_vpt_store_reply_done(lk);
}


/* the HGETALL reply into impressions[] and accepted[], by catalog index */

static ngx_int_t
ngx_vpt_store_counters(ngx_vpt_store_lookup_t *lk, redisReply *reply)
{
    size_t                     i, n;
    long                       offer;
    vpt_str_t                  id;
    ngx_uint_t                 skipped;
    redisReply                *field, *value;
    vpt_catalog_t             *catalog;
    ngx_vpt_shopper_t         *s;
    ngx_http_request_t        *r;
    ngx_http_vpt_main_conf_t  *vmcf;

    r = lk->request;
    s = lk->shopper;
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    catalog = vmcf->catalog;
    n = catalog->n;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements >= 2)
    {
        s->impressions = ngx_pcalloc(r->pool, n * sizeof(uint32_t));
        s->accepted = ngx_pcalloc(r->pool, n);

        if (s->impressions == NULL || s->accepted == NULL) {
            /* caps and accepts are never ignored: no offer */
            s->impressions = NULL;
            s->accepted = NULL;
            return NGX_ERROR;
        }

        for (i = 0; i + 1 < reply->elements; i += 2) {
            field = reply->element[i];
            value = reply->element[i + 1];

            if (field->type != REDIS_REPLY_STRING || field->len < 3
                || field->str[1] != ':' || value->type != REDIS_REPLY_STRING)
            {
                continue;
            }

            id.data = field->str + 2;
            id.len = field->len - 2;

            if (field->str[0] == 'm') {
                ngx_vpt_store_memo_read(r, s, &id, value);
                continue;
            }

            offer = vpt_catalog_find(catalog, id);
            if (offer < 0) {
                continue;
            }

            if (field->str[0] == 'i') {
                s->impressions[offer] = ngx_vpt_store_count_value(value);

            } else if (field->str[0] == 'a') {
                s->accepted[offer] = 1;
            }
        }

        return NGX_OK;
    }

    if (reply != NULL && reply->type != REDIS_REPLY_ERROR) {
        /* no hash: nothing shown or accepted yet */
        return NGX_OK;
    }

    if (!ngx_vpt_redis_wrongtype(reply)) {
        /*
         * Lost (the connection went between the two replies) or an error
         * reply: caps and accept marks are unknown, and any offer may have
         * been accepted, so no offer is known to be eligible: the lookup
         * fails (redis_error), as when the command could not be sent.
         */

        if (ngx_http_vpt_log_allowed(NGX_VPT_LOG_COUNTERS, &skipped)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "vpt: redis HGETALL of the counters failed: %s; "
                          "no offer is shown "
                          "(%ui more since the last report)",
                          reply ? reply->str : "connection lost", skipped);
        }

        return NGX_ERROR;
    }

    /*
     * WRONGTYPE, a string under the counters' key: no capped offer can be
     * shown to be under its cap, so none is shown; the others still are
     * (no accept can have been marked: HSET fails there too).
     */

    s->impressions = ngx_palloc(r->pool, n * sizeof(uint32_t));
    s->accepted = ngx_pcalloc(r->pool, n);

    if (s->impressions == NULL || s->accepted == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        s->impressions[i] = UINT32_MAX;
    }

    if (ngx_http_vpt_log_allowed(NGX_VPT_LOG_COUNTERS, &skipped)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vpt: redis HGETALL of the counters failed: %s; "
                      "capped offers are not shown "
                      "(%ui more since the last report)",
                      reply->str, skipped);
    }

    return NGX_OK;
}


/*
 * An impression count as HINCRBY writes it, up to 9 digits, read here
 * (strtoul() and its locale cost ten times more); anything else as
 * strtoul() reads it, as before
 */

static uint32_t
ngx_vpt_store_count_value(redisReply *value)
{
    size_t    i;
    uint32_t  n, d;

    if (value->len == 0 || value->len > 9) {
        return (uint32_t) strtoul(value->str, NULL, 10);
    }

    n = 0;

    for (i = 0; i < value->len; i++) {
        d = (uint32_t) ((u_char) value->str[i] - '0');

        if (d > 9) {
            return (uint32_t) strtoul(value->str, NULL, 10);
        }

        n = n * 10 + d;
    }

    return n;
}


static void
ngx_vpt_store_reply_done(ngx_vpt_store_lookup_t *lk)
{
    if (lk->pending) {
        return;
    }

    if (lk->timer.timer_set) {
        ngx_del_timer(&lk->timer);
    }

    lk->done(lk->data, lk->rc,
             (ngx_msec_int_t) (ngx_current_msec - lk->start));
}


static void
ngx_vpt_store_timeout(ngx_event_t *ev)
{
    ngx_vpt_store_lookup_t  *lk = ev->data;

    ngx_vpt_redis_call_t  **first, **second;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0, "vpt redis timeout");

    first = &lk->calls[NGX_VPT_STORE_CALL_CONTEXT];
    second = &lk->calls[NGX_VPT_STORE_CALL_COUNTERS];

    /* one failure for the breaker, however many commands were in flight */
    if (ngx_vpt_cluster_enabled()) {
        ngx_vpt_cluster_timed_out(*first ? *first : *second);
        ngx_vpt_redis_detach(*second);

    } else if (*first) {
        ngx_vpt_redis_timed_out(*first);
        ngx_vpt_redis_detach(*second);

    } else {
        ngx_vpt_redis_timed_out(*second);
    }

    *first = NULL;
    *second = NULL;
    lk->pending = 0;

    lk->done(lk->data, NGX_VPT_STORE_TIMEOUT,
             (ngx_msec_int_t) (ngx_current_msec - lk->start));
}
