/*
 * Copyright (C) ngx_vpt_module authors
 *
 * One request's way to a decision: the session key, the A/B arm, the Redis
 * lookup (context and per-shopper counters, pipelined in one round trip),
 * its timer, and the ranker's choice.
 *
 * The lookup starts in the preaccess phase, so the Redis round trip runs
 * while the upstream works.  The body filter waits only if it reaches the
 * anchor first, and never beyond vpt_redis_timeout from the request's
 * start.  Redis callbacks never see the request: they get an
 * ngx_vpt_redis_call_t, which this request detaches when it is freed.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


/* VPT_CTX_MAX_BYTES: GETRANGE's end is inclusive, one more tells "too big" */
#define NGX_VPT_CTX_LAST_BYTE  "65536"

/* counters live 30 days from the first impression or accept */
#define NGX_VPT_COUNTERS_TTL  "2592000"


static ngx_int_t ngx_http_vpt_phase_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_park_handler(ngx_http_request_t *r);
static ngx_http_vpt_ctx_t *ngx_http_vpt_create_ctx(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf);
static void ngx_http_vpt_start_lookup(ngx_http_vpt_ctx_t *ctx,
    ngx_http_vpt_main_conf_t *vmcf);
static void ngx_http_vpt_context_reply(ngx_vpt_redis_call_t *call,
    redisReply *reply);
static void ngx_http_vpt_counters_reply(ngx_vpt_redis_call_t *call,
    redisReply *reply);
static ngx_int_t ngx_http_vpt_static_html(ngx_http_request_t *r);
static void ngx_http_vpt_unpark(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_lookup_done(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_timeout_handler(ngx_event_t *ev);
static void ngx_http_vpt_decide(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_cleanup(void *data);
static ngx_int_t ngx_http_vpt_counters_key(ngx_http_vpt_ctx_t *ctx,
    ngx_str_t *key);
static ngx_uint_t ngx_http_vpt_log_allowed(ngx_uint_t kind,
    ngx_uint_t *skipped);


/* reports rate-limited apart: a flood of one kind hides no other */
enum {
    NGX_HTTP_VPT_LOG_REDIS = 0,
    NGX_HTTP_VPT_LOG_CONTEXT,
    NGX_HTTP_VPT_LOG_COUNTERS,
    NGX_HTTP_VPT_LOG_SESSION,
    NGX_HTTP_VPT_LOG_N
};


static u_char  ngx_http_vpt_hex[] = "0123456789abcdef";


ngx_int_t
ngx_http_vpt_init_request(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_vpt_phase_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_vpt_park_handler;

    return NGX_OK;
}


/*
 * Preaccess: the lookup starts as early as the request is known, so the
 * Redis round trip runs while the rest of the request is worked on.
 */

static ngx_int_t
ngx_http_vpt_phase_handler(ngx_http_request_t *r)
{
    ngx_http_vpt_loc_conf_t  *vlcf;

    if (r != r->main || (r->method & NGX_HTTP_HEAD)) {
        return NGX_DECLINED;
    }

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    if (!vlcf->enable || vlcf->beacon || vlcf->status_page) {
        return NGX_DECLINED;
    }

    /* an allocation failure only means no offer: fail open */
    (void) ngx_http_vpt_get_ctx(r);

    return NGX_DECLINED;
}


/*
 * Precontent, after the access checks and the rate limits: a page nginx
 * makes itself (a static file, no content handler) is read and reaches
 * its anchor in this event-loop iteration, before Redis can answer.
 * Waiting here for the lookup (never past its timer) costs the end of the
 * page no time, as it waited for the lookup anyway, and the page is then
 * read, spliced and sent in one go, not in two writes around a held
 * anchor.  Only a GET of an HTML file waits: a proxied page is not held
 * (its upstream works while Redis answers), nor another method or an
 * error page, which are not spliced.  Control shoppers wait like the
 * others: their would-be decision is logged, and both arms see the same
 * latency.  Re-entered after ngx_http_vpt_unpark().
 */

static ngx_int_t
ngx_http_vpt_park_handler(ngx_http_request_t *r)
{
    ngx_http_vpt_ctx_t  *ctx;

    if (r != r->main || r->method != NGX_HTTP_GET
        || r->content_handler != NULL)
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_vpt_module);

    /* the lookup's replies or its timer are what wake the request */

    if (ctx == NULL || ctx->decided || ctx->pending == 0
        || !ctx->timer.timer_set)
    {
        return NGX_DECLINED;
    }

    if (ctx->parked) {
        /* a write event while parked */
        return NGX_AGAIN;
    }

    if ((r->err_status && r->err_status != NGX_HTTP_OK)
        || !ngx_http_vpt_static_html(r))
    {
        return NGX_DECLINED;
    }

    /*
     * The client is not read while parked (the wait is bounded by the
     * timer): one that only half-closed still gets its page.
     */

    ctx->parked = 1;
    r->read_event_handler = ngx_http_block_reading;

    return NGX_AGAIN;
}


/*
 * The type the static module will give the file, as it finds it
 * (ngx_http_set_content_type()): an image in a location where vpt is on
 * does not wait.
 */

static ngx_int_t
ngx_http_vpt_static_html(ngx_http_request_t *r)
{
    u_char                     c, lower[16];
    ngx_str_t                 *type;
    ngx_uint_t                 i, hash;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    type = &clcf->default_type;

    if (r->exten.len && r->exten.len <= sizeof(lower)) {
        hash = 0;

        for (i = 0; i < r->exten.len; i++) {
            c = ngx_tolower(r->exten.data[i]);
            hash = ngx_hash(hash, c);
            lower[i] = c;
        }

        type = ngx_hash_find(&clcf->types_hash, hash, lower, r->exten.len);

        if (type == NULL) {
            type = &clcf->default_type;
        }
    }

    return ngx_http_vpt_type_is_html(type);
}


/*
 * The lookup is over: the phases go on, from the posted write event
 * (ngx_http_request_handler() -> ngx_http_core_run_phases()), at the end
 * of this event-loop iteration.
 */

static void
ngx_http_vpt_unpark(ngx_http_vpt_ctx_t *ctx)
{
    ngx_http_request_t  *r;

    r = ctx->request;

    ctx->parked = 0;
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_post_event(r->connection->write, &ngx_posted_events);
}


/*
 * The request's context, created (and its lookup started) on first use:
 * in the preaccess phase, or in the header filter for responses that
 * never went through it (return, error_page).
 */

ngx_http_vpt_ctx_t *
ngx_http_vpt_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t       *cln;
    ngx_http_vpt_ctx_t       *ctx, *old;
    ngx_http_vpt_loc_conf_t  *vlcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vpt_module);
    if (ctx != NULL) {
        return ctx;
    }

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    if (r->internal) {
        /*
         * An internal redirect cleared r->ctx, but the lookup started
         * before it is still ours (its cleanup is in the pool): go on with
         * it for the same location; for another, stop it, so one page
         * never costs two lookups nor two breaker failures.
         */

        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler != ngx_http_vpt_cleanup) {
                continue;
            }

            old = cln->data;

            if (old->conf == vlcf && !old->filtering && !old->cancelled) {
                ngx_http_set_ctx(r, old, ngx_http_vpt_module);
                return old;
            }

            ngx_http_vpt_cancel(old);
        }
    }

    return ngx_http_vpt_create_ctx(r, vlcf);
}


/*
 * The lookup's result will not be used: let go of the Redis calls (without
 * counting a failure) and of the timer.
 */

void
ngx_http_vpt_cancel(ngx_http_vpt_ctx_t *ctx)
{
    ngx_vpt_redis_detach(ctx->calls[0]);
    ngx_vpt_redis_detach(ctx->calls[1]);

    ctx->calls[0] = NULL;
    ctx->calls[1] = NULL;
    ctx->pending = 0;
    ctx->cancelled = 1;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }
}


static ngx_http_vpt_ctx_t *
ngx_http_vpt_create_ctx(ngx_http_request_t *r, ngx_http_vpt_loc_conf_t *vlcf)
{
    uint64_t                   h;
    ngx_uint_t                 bucket;
    ngx_pool_cleanup_t        *cln;
    ngx_http_vpt_ctx_t        *ctx;
    ngx_http_vpt_main_conf_t  *vmcf;
    struct {
        ngx_pid_t              pid;
        ngx_atomic_uint_t      conn;
        ngx_uint_t             requests;
        time_t                 sec;
        ngx_msec_t             msec;
        long                   rnd;
    }                          seed;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vpt_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_vpt_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->conf = vlcf;
    ctx->redis_time = -1;

    ngx_http_set_ctx(r, ctx, ngx_http_vpt_module);

    /* unique enough across workers and restarts; also the ranker's seed */
    ngx_memzero(&seed, sizeof(seed));
    seed.pid = ngx_pid;
    seed.conn = r->connection->number;
    seed.requests = r->connection->requests;
    seed.sec = r->start_sec;
    seed.msec = r->start_msec;
    seed.rnd = ngx_random();

    h = vpt_hash(&seed, sizeof(seed));
    ngx_hex_dump(ctx->decision_id, (u_char *) &h, sizeof(h));

    if (ngx_http_vpt_session(r, vlcf, &ctx->session) != NGX_OK) {
        ctx->status = NGX_VPT_ST_NO_SESSION;
        ctx->decided = 1;
        return ctx;
    }

    if (vlcf->split_name.len) {
        h = vpt_hash_more(vlcf->split_hash, ctx->session.data,
                          ctx->session.len);
        bucket = (ngx_uint_t) (h % 10000);

        ctx->variant = (bucket < (ngx_uint_t) vlcf->split_permyriad)
                       ? NGX_VPT_VARIANT_CONTROL
                       : NGX_VPT_VARIANT_TREATMENT;
    }

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    if (vmcf->redis == NULL) {
        /* no Redis: every shopper is a first-time visitor */
        ctx->shopper = ngx_palloc(r->pool, sizeof(vpt_context_t));
        if (ctx->shopper == NULL) {
            ctx->status = NGX_VPT_ST_REDIS_ERROR;
            ctx->decided = 1;
            return ctx;
        }

        vpt_context_init(ctx->shopper);
        ngx_http_vpt_decide(ctx);
        return ctx;
    }

    ngx_http_vpt_start_lookup(ctx, vmcf);

    return ctx;
}


static void
ngx_http_vpt_start_lookup(ngx_http_vpt_ctx_t *ctx,
    ngx_http_vpt_main_conf_t *vmcf)
{
    u_char                   *p;
    size_t                    argvlen[4];
    ngx_str_t                 key, counters;
    const char               *argv[4];
    ngx_msec_int_t            elapsed, left;
    ngx_time_t               *tp;
    ngx_http_request_t       *r;
    ngx_http_vpt_loc_conf_t  *vlcf;

    r = ctx->request;
    vlcf = ctx->conf;

    tp = ngx_timeofday();
    elapsed = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                                + (tp->msec - r->start_msec));
    left = (ngx_msec_int_t) vlcf->redis_timeout - elapsed;

    if (left <= 0) {
        ctx->status = NGX_VPT_ST_REDIS_TIMEOUT;
        ctx->decided = 1;
        return;
    }

    key.len = vlcf->context_prefix.len + ctx->session.len;
    key.data = ngx_pnalloc(r->pool, key.len);

    if (key.data == NULL || ngx_http_vpt_counters_key(ctx, &counters)
                            != NGX_OK)
    {
        ctx->status = NGX_VPT_ST_REDIS_ERROR;
        ctx->decided = 1;
        return;
    }

    p = ngx_cpymem(key.data, vlcf->context_prefix.data,
                   vlcf->context_prefix.len);
    ngx_memcpy(p, ctx->session.data, ctx->session.len);

    ctx->redis_start = ngx_current_msec;

    /*
     * GETRANGE, not GET: a runaway value costs one byte more than the
     * largest context we accept, never its whole size
     */
    argv[0] = "GETRANGE";
    argvlen[0] = 8;
    argv[1] = (const char *) key.data;
    argvlen[1] = key.len;
    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = NGX_VPT_CTX_LAST_BYTE;
    argvlen[3] = sizeof(NGX_VPT_CTX_LAST_BYTE) - 1;

    ctx->calls[0] = ngx_vpt_redis_command(ngx_http_vpt_context_reply, ctx,
                                          4, argv, argvlen);
    if (ctx->calls[0] == NULL) {
        ctx->status = NGX_VPT_ST_REDIS_ERROR;
        ctx->decided = 1;
        return;
    }

    ctx->pending = 1;

    /* pipelined on the same connection: one round trip for both */
    argv[0] = "HGETALL";
    argvlen[0] = 7;
    argv[1] = (const char *) counters.data;
    argvlen[1] = counters.len;

    ctx->calls[1] = ngx_vpt_redis_command(ngx_http_vpt_counters_reply, ctx,
                                          2, argv, argvlen);
    if (ctx->calls[1] == NULL) {
        /* without the counters, caps and accepts would be ignored */
        ngx_vpt_redis_detach(ctx->calls[0]);
        ctx->calls[0] = NULL;
        ctx->pending = 0;
        ctx->status = NGX_VPT_ST_REDIS_ERROR;
        ctx->decided = 1;
        return;
    }

    ctx->pending++;

    ctx->timer.handler = ngx_http_vpt_timeout_handler;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;

    ngx_add_timer(&ctx->timer, (ngx_msec_t) left);
}


/* "<prefix><session>:vpt", a hash of "i:<offer>" and "a:<offer>" */

static ngx_int_t
ngx_http_vpt_counters_key(ngx_http_vpt_ctx_t *ctx, ngx_str_t *key)
{
    u_char                   *p;
    ngx_http_vpt_loc_conf_t  *vlcf;

    /* built once: the lookup reads the hash, the impressions write it */
    if (ctx->counters_key.len) {
        *key = ctx->counters_key;
        return NGX_OK;
    }

    vlcf = ctx->conf;

    key->len = vlcf->context_prefix.len + ctx->session.len
               + sizeof(NGX_VPT_COUNTERS) - 1;
    key->data = ngx_pnalloc(ctx->request->pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, vlcf->context_prefix.data,
                   vlcf->context_prefix.len);
    p = ngx_cpymem(p, ctx->session.data, ctx->session.len);
    ngx_memcpy(p, NGX_VPT_COUNTERS, sizeof(NGX_VPT_COUNTERS) - 1);

    ctx->counters_key = *key;

    return NGX_OK;
}


static void
ngx_http_vpt_context_reply(ngx_vpt_redis_call_t *call, redisReply *reply)
{
    ngx_http_vpt_ctx_t  *ctx = call->data;

    char                *arena;
    size_t               n;
    u_char               show[NGX_VPT_LOG_ESCAPED];
    ngx_uint_t           skipped;
    ngx_http_request_t  *r;

    r = ctx->request;
    ctx->calls[0] = NULL;
    ctx->pending--;

    if (ngx_vpt_redis_wrongtype(reply)) {
        /*
         * a hash or a list under the context's key: the shop's data,
         * reported below as any bad context
         */
        ctx->status = NGX_VPT_ST_BAD_CONTEXT;

    } else if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ctx->status = NGX_VPT_ST_REDIS_ERROR;

        if (ngx_http_vpt_log_allowed(NGX_HTTP_VPT_LOG_REDIS, &skipped)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "vpt: redis GETRANGE failed: %s "
                          "(%ui more since the last report)",
                          reply ? reply->str : "connection lost", skipped);
        }

    } else if (reply->type == REDIS_REPLY_NIL
               || (reply->type == REDIS_REPLY_STRING && reply->len == 0))
    {
        /* GETRANGE answers a missing key with an empty string */
        ctx->status = NGX_VPT_ST_NO_CONTEXT;

    } else if (reply->type != REDIS_REPLY_STRING
               || reply->len > VPT_CTX_MAX_BYTES)
    {
        ctx->status = NGX_VPT_ST_BAD_CONTEXT;

    } else {
        ctx->context_json.data = ngx_pnalloc(r->pool, reply->len);
        arena = ngx_pnalloc(r->pool, reply->len + 1);
        ctx->shopper = ngx_palloc(r->pool, sizeof(vpt_context_t));

        if (ctx->context_json.data == NULL || arena == NULL
            || ctx->shopper == NULL)
        {
            ctx->status = NGX_VPT_ST_REDIS_ERROR;

        } else if (vpt_context_parse(ctx->shopper, reply->str, reply->len,
                                     arena, reply->len + 1)
                   != VPT_OK)
        {
            /*
             * not kept for $vpt_context: it may be no UTF-8 at all, which
             * escape=json passes on, and one such line is not JSON
             */
            ctx->status = NGX_VPT_ST_BAD_CONTEXT;

        } else {
            ngx_memcpy(ctx->context_json.data, reply->str, reply->len);
            ctx->context_json.len = reply->len;
        }
    }

    if (ctx->status == NGX_VPT_ST_BAD_CONTEXT
        && ngx_http_vpt_log_allowed(NGX_HTTP_VPT_LOG_CONTEXT, &skipped))
    {
        n = ngx_http_vpt_log_escape(show, ctx->session.data,
                                    ctx->session.len);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vpt: context of session \"%*s\" is not a JSON object "
                      "of at most %d bytes (%ui more since the last report)",
                      n, show, VPT_CTX_MAX_BYTES, skipped);
    }

    if (ctx->pending == 0) {
        ngx_http_vpt_lookup_done(ctx);
    }
}


static void
ngx_http_vpt_counters_reply(ngx_vpt_redis_call_t *call, redisReply *reply)
{
    ngx_http_vpt_ctx_t  *ctx = call->data;

    size_t               i, n;
    long                 offer;
    vpt_str_t            id;
    ngx_uint_t           skipped;
    redisReply          *field, *value;
    vpt_catalog_t       *catalog;
    ngx_http_request_t  *r;

    ngx_http_vpt_main_conf_t  *vmcf;

    r = ctx->request;
    ctx->calls[1] = NULL;
    ctx->pending--;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    catalog = vmcf->catalog;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements >= 2)
    {
        ctx->counters_known = 1;
        n = catalog->n;
        ctx->impressions = ngx_pcalloc(r->pool, n * sizeof(uint32_t));
        ctx->accepted = ngx_pcalloc(r->pool, n);

        if (ctx->impressions == NULL || ctx->accepted == NULL) {
            ctx->impressions = NULL;
            ctx->accepted = NULL;
            goto done;
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

            offer = vpt_catalog_find(catalog, id);
            if (offer < 0) {
                continue;
            }

            if (field->str[0] == 'i') {
                ctx->impressions[offer] = (uint32_t) strtoul(value->str,
                                                             NULL, 10);

            } else if (field->str[0] == 'a') {
                ctx->accepted[offer] = 1;
            }
        }

    } else if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {

        /*
         * The counters cannot be read (an error reply; usually WRONGTYPE, a
         * string under their key): no capped offer can be shown to be
         * under its cap, so none is shown; the others still are.
         */

        ctx->counters_known = 1;
        n = catalog->n;
        ctx->impressions = ngx_palloc(r->pool, n * sizeof(uint32_t));
        ctx->accepted = ngx_pcalloc(r->pool, n);

        if (ctx->impressions == NULL || ctx->accepted == NULL) {
            ctx->status = NGX_VPT_ST_REDIS_ERROR;
            goto done;
        }

        for (i = 0; i < n; i++) {
            ctx->impressions[i] = UINT32_MAX;
        }

        if (ngx_http_vpt_log_allowed(NGX_HTTP_VPT_LOG_COUNTERS, &skipped)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "vpt: redis HGETALL of the counters failed: %s; "
                          "capped offers are not shown "
                          "(%ui more since the last report)",
                          reply->str, skipped);
        }
    }

done:

    if (ctx->pending == 0) {
        ngx_http_vpt_lookup_done(ctx);
    }
}


static void
ngx_http_vpt_lookup_done(ngx_http_vpt_ctx_t *ctx)
{
    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    ctx->redis_time = (ngx_msec_int_t) (ngx_current_msec - ctx->redis_start);

    if (ctx->status == NGX_VPT_ST_NONE) {
        ngx_http_vpt_decide(ctx);

    } else {
        ctx->decided = 1;
    }

    if (ctx->waiting) {
        ngx_http_vpt_resume(ctx);

    } else if (ctx->parked) {
        ngx_http_vpt_unpark(ctx);
    }
}


static void
ngx_http_vpt_timeout_handler(ngx_event_t *ev)
{
    ngx_http_vpt_ctx_t  *ctx = ev->data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0, "vpt redis timeout");

    /* one failure for the breaker, however many commands were in flight */
    if (ctx->calls[0]) {
        ngx_vpt_redis_timed_out(ctx->calls[0]);
        ngx_vpt_redis_detach(ctx->calls[1]);

    } else {
        ngx_vpt_redis_timed_out(ctx->calls[1]);
    }

    ctx->calls[0] = NULL;
    ctx->calls[1] = NULL;
    ctx->pending = 0;
    ctx->timed_out = 1;
    ctx->status = NGX_VPT_ST_REDIS_TIMEOUT;
    ctx->redis_time = (ngx_msec_int_t) (ngx_current_msec - ctx->redis_start);
    ctx->decided = 1;

    if (ctx->waiting) {
        ngx_http_vpt_resume(ctx);

    } else if (ctx->parked) {
        ngx_http_vpt_unpark(ctx);
    }
}


static void
ngx_http_vpt_decide(ngx_http_vpt_ctx_t *ctx)
{
    void                      *scratch;
    ngx_int_t                  hour;
    ngx_time_t                *tp;
    ngx_http_request_t        *r;
    vpt_decide_params_t        params;
    ngx_http_vpt_loc_conf_t   *vlcf;

    r = ctx->request;
    vlcf = ctx->conf;

    ctx->decided = 1;

    if (vlcf->ranker == NULL || ctx->shopper == NULL) {
        ctx->status = NGX_VPT_ST_SUPPRESSED;
        return;
    }

    scratch = ngx_palloc(r->pool, vpt_ranker_scratch_size(vlcf->ranker));
    if (scratch == NULL) {
        ctx->status = NGX_VPT_ST_SUPPRESSED;
        return;
    }

    /* the server's local hour, from nginx's cached time: no libc call */
    tp = ngx_timeofday();
    hour = (ngx_int_t) (((tp->sec + tp->gmtoff * 60) / 3600) % 24);

    params.page = (vpt_page_e) vlcf->page;
    params.hour = (int) (hour < 0 ? hour + 24 : hour);
    params.slots = (unsigned) vlcf->slots;
    params.min_value = vlcf->min_value;
    params.long_term_weight = vlcf->long_term_weight;
    params.explore = vlcf->explore;
    params.seed = vpt_hash(ctx->decision_id, 16);
    params.impressions = ctx->impressions;
    params.accepted = ctx->accepted;

    vpt_decide(vlcf->ranker, ctx->shopper, &params, scratch, &ctx->decision);

    if (ctx->variant == NGX_VPT_VARIANT_CONTROL) {
        ctx->status = NGX_VPT_ST_CONTROL;

    } else if (ctx->decision.n == 0) {
        ctx->status = NGX_VPT_ST_SUPPRESSED;

    } else {
        ctx->status = NGX_VPT_ST_INJECTED;
    }
}


/*
 * The chosen offers' markup, rendered when the anchor is found.  Also
 * records the impressions in Redis, fire and forget.
 */

ngx_int_t
ngx_http_vpt_render(ngx_http_vpt_ctx_t *ctx)
{
    u_char                    *p;
    size_t                     i, len, argvlen[4];
    ngx_str_t                  key, field;
    const char                *argv[4];
    vpt_offer_t               *offer;
    vpt_catalog_t             *catalog;
    vpt_render_vars_t          vars;
    ngx_http_request_t        *r;
    ngx_http_vpt_main_conf_t  *vmcf;

    r = ctx->request;
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    catalog = vmcf->catalog;

    vars.decision.data = (char *) ctx->decision_id;
    vars.decision.len = 16;
    vars.experiment.data = (char *) ctx->conf->split_name.data;
    vars.experiment.len = ctx->variant == NGX_VPT_VARIANT_NONE
                          ? 0 : ctx->conf->split_name.len;

    len = 0;

    for (i = 0; i < ctx->decision.n; i++) {
        offer = &catalog->offers[ctx->decision.offer[i]];
        len += vpt_render_size(offer, ctx->shopper, &vars);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->markup.data = p;

    for (i = 0; i < ctx->decision.n; i++) {
        offer = &catalog->offers[ctx->decision.offer[i]];
        p += vpt_render((char *) p, offer, ctx->shopper, &vars);
    }

    ctx->markup.len = p - ctx->markup.data;

    if (vmcf->redis == NULL || ngx_http_vpt_counters_key(ctx, &key)
                               != NGX_OK)
    {
        return NGX_OK;
    }

    for (i = 0; i < ctx->decision.n; i++) {
        offer = &catalog->offers[ctx->decision.offer[i]];

        field.len = 2 + offer->id.len;
        field.data = ngx_pnalloc(r->pool, field.len);
        if (field.data == NULL) {
            return NGX_OK;
        }

        ngx_memcpy(field.data, "i:", 2);
        ngx_memcpy(field.data + 2, offer->id.data, offer->id.len);

        argv[0] = "HINCRBY";
        argvlen[0] = 7;
        argv[1] = (const char *) key.data;
        argvlen[1] = key.len;
        argv[2] = (const char *) field.data;
        argvlen[2] = field.len;
        argv[3] = "1";
        argvlen[3] = 1;

        (void) ngx_vpt_redis_fire(4, argv, argvlen);
    }

    if (ctx->counters_known) {
        /* it has its TTL since it was made: one command, not two */
        return NGX_OK;
    }

    argv[0] = "EXPIRE";
    argvlen[0] = 6;
    argv[1] = (const char *) key.data;
    argvlen[1] = key.len;
    argv[2] = NGX_VPT_COUNTERS_TTL;
    argvlen[2] = sizeof(NGX_VPT_COUNTERS_TTL) - 1;

    (void) ngx_vpt_redis_fire(3, argv, argvlen);

    return NGX_OK;
}


static void
ngx_http_vpt_cleanup(void *data)
{
    ngx_http_vpt_cancel(data);
}


/*
 * The shopper's session key: NGX_OK, or NGX_DECLINED (and session->len 0)
 * for no session.  A key longer than NGX_VPT_SESSION_MAX bytes or with a
 * control byte (below 0x20, or 0x7f) is no session either: no shop names
 * its shoppers so (a cookie cannot even carry a control byte), each byte
 * would travel to Redis twice per page, and the counters would make keys
 * there that nothing ever reads.  Nor is one ending in NGX_VPT_COUNTERS:
 * its context key would be another shopper's counters.  Spaces and bytes
 * from 0x80 up are kept: Redis keys are binary-safe, and our commands are
 * length-prefixed.  A refused key is reported, escaped and cut short, at
 * most once a second.
 */

ngx_int_t
ngx_http_vpt_session(ngx_http_request_t *r, ngx_http_vpt_loc_conf_t *vlcf,
    ngx_str_t *session)
{
    u_char      *p, *last;
    size_t       n;
    u_char       show[NGX_VPT_LOG_ESCAPED];
    ngx_uint_t   skipped;
    const char  *why;

    if (ngx_http_complex_value(r, vlcf->session_key, session) != NGX_OK) {
        session->len = 0;
        return NGX_DECLINED;
    }

    if (session->len == 0) {
        return NGX_DECLINED;
    }

    last = session->data + session->len;
    why = NULL;

    if (session->len > NGX_VPT_SESSION_MAX) {
        why = "too long";

    } else {
        for (p = session->data; p < last; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                why = "a control byte";
                break;
            }
        }

        n = sizeof(NGX_VPT_COUNTERS) - 1;

        if (why == NULL && session->len >= n
            && ngx_strncmp(last - n, NGX_VPT_COUNTERS, n) == 0)
        {
            why = "it ends in \"" NGX_VPT_COUNTERS "\"";
        }
    }

    if (why == NULL) {
        return NGX_OK;
    }

    if (ngx_http_vpt_log_allowed(NGX_HTTP_VPT_LOG_SESSION, &skipped)) {
        n = ngx_http_vpt_log_escape(show, session->data, session->len);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vpt: session key \"%*s\" of %uz bytes ignored: %s, "
                      "a key is at most %d bytes without control bytes, "
                      "not ending in \"%s\" "
                      "(%ui more since the last report)",
                      n, show, session->len, why, NGX_VPT_SESSION_MAX,
                      NGX_VPT_COUNTERS, skipped);
    }

    session->len = 0;

    return NGX_DECLINED;
}


/*
 * Bytes a shopper controls, made safe for a log line: at most
 * NGX_VPT_LOG_SHOW of them, each byte outside printable ASCII and each
 * '"' and '\' as \xHH, and "..." when cut.  dst has NGX_VPT_LOG_ESCAPED
 * bytes; the length written is returned (for "%*s").
 */

size_t
ngx_http_vpt_log_escape(u_char *dst, u_char *src, size_t len)
{
    u_char  c, *d;
    size_t  i, n;

    n = ngx_min(len, NGX_VPT_LOG_SHOW);
    d = dst;

    for (i = 0; i < n; i++) {
        c = src[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            *d++ = '\\';
            *d++ = 'x';
            *d++ = ngx_http_vpt_hex[c >> 4];
            *d++ = ngx_http_vpt_hex[c & 0xf];

        } else {
            *d++ = c;
        }
    }

    if (n < len) {
        d = ngx_cpymem(d, "...", 3);
    }

    return d - dst;
}


/*
 * Bad data at run time is reported, but at most once a second per worker
 * and kind: a broken writer of contexts must not flood the error log, nor
 * a shopper's odd session key hide a Redis failure.
 */

static ngx_uint_t
ngx_http_vpt_log_allowed(ngx_uint_t kind, ngx_uint_t *skipped)
{
    static time_t      last[NGX_HTTP_VPT_LOG_N];
    static ngx_uint_t  count[NGX_HTTP_VPT_LOG_N];

    if (ngx_time() == last[kind]) {
        count[kind]++;
        return 0;
    }

    last[kind] = ngx_time();
    *skipped = count[kind];
    count[kind] = 0;

    return 1;
}
