/*
 * Copyright (C) ngx_vpt_module authors
 *
 * One request's context, from its creation to its cleanup: the phase
 * handlers, the session key, the A/B arm, the store's lookup started and
 * let go, and the one path that wakes whoever waits for the decision.
 *
 * The lookup starts in the preaccess phase, so the Redis round trip runs
 * while the upstream works.  The body filter waits only if it reaches the
 * anchor first, and never beyond vpt_redis_timeout from the request's
 * start.  The lookup never sees the request once cancelled, and the
 * context's pool cleanup cancels it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "vpt_random.h"


static ngx_int_t ngx_http_vpt_phase_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_park_handler(ngx_http_request_t *r);
static ngx_http_vpt_ctx_t *ngx_http_vpt_create_ctx(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf);
static void ngx_http_vpt_init_ctx(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx, ngx_vpt_outcome_e outcome);
static void ngx_http_vpt_start_lookup(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_lookup_done(void *data, ngx_vpt_store_rc_e rc,
    ngx_msec_int_t ms);
static ngx_int_t ngx_http_vpt_rebind(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx, ngx_http_vpt_loc_conf_t *vlcf);
static void ngx_http_vpt_split(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_unpark(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_cleanup(void *data);
static int64_t ngx_http_vpt_usec(void);


/* what a lookup's end means for $vpt_status, by ngx_vpt_store_rc_e */
static ngx_vpt_outcome_e  ngx_http_vpt_lookup_outcomes[] = {
    NGX_VPT_OUT_NONE,               /* found: the ranker says */
    NGX_VPT_OUT_NONE,               /* no context: the request's */
    NGX_VPT_OUT_BAD_CONTEXT,
    NGX_VPT_OUT_REDIS_ERROR,
    NGX_VPT_OUT_REDIS_TIMEOUT
};

/*
 * A page's context is 1.2 KB, a third of the request pool's first block:
 * with nginx's own allocations it took a page's pool into a third 4 KB
 * block (a posix_memalign() and a free(), ~500 instructions).  The worker
 * keeps some for its pages, static so that nothing is left to free at
 * exit, back at the pool's cleanup; past them a page takes one from its
 * pool.  Beacons, conversions and responses without a lookup take theirs
 * from the pool (ngx_http_vpt_new_ctx()).
 */
#define NGX_HTTP_VPT_SPARE_CTXS  32

/* the sanitizer's build takes each from the pool: a stale use is caught */
#if defined(__SANITIZE_ADDRESS__)
#define NGX_HTTP_VPT_SPARES_USED  0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NGX_HTTP_VPT_SPARES_USED  0
#endif
#endif

#ifndef NGX_HTTP_VPT_SPARES_USED
#define NGX_HTTP_VPT_SPARES_USED  NGX_HTTP_VPT_SPARE_CTXS
#endif

static ngx_http_vpt_ctx_t   ngx_http_vpt_ctxs[NGX_HTTP_VPT_SPARE_CTXS];
static ngx_http_vpt_ctx_t  *ngx_http_vpt_spare[NGX_HTTP_VPT_SPARE_CTXS];
static ngx_uint_t           ngx_http_vpt_nspare = (ngx_uint_t) -1;


typedef char  ngx_http_vpt_lookup_outcomes_check[
    (sizeof(ngx_http_vpt_lookup_outcomes) / sizeof(ngx_vpt_outcome_e)
     == NGX_VPT_STORE_N) ? 1 : -1];


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

    if (r != r->main || r->method != NGX_HTTP_GET) {
        return NGX_DECLINED;
    }

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    if (!vlcf->enable || vlcf->beacon || vlcf->status_page) {
        return NGX_DECLINED;
    }

    if (!ngx_http_vpt_may_be_page(r)) {
        /* an image, a script, a style sheet: no lookup, not counted */
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

    /* the lookup's end (replies or timer) is what wakes the request */

    if (ctx == NULL || ctx->lookup == NULL) {
        return NGX_DECLINED;
    }

    if (ctx->resume == ngx_http_vpt_unpark) {
        /* a write event while parked */
        return NGX_AGAIN;
    }

    if ((r->err_status && r->err_status != NGX_HTTP_OK)
        || !ngx_http_vpt_static_wanted(r))
    {
        return NGX_DECLINED;
    }

    /*
     * The client is not read while parked (the wait is bounded by the
     * timer): one that only half-closed still gets its page.
     */

    ctx->resume = ngx_http_vpt_unpark;
    r->read_event_handler = ngx_http_block_reading;

    return NGX_AGAIN;
}


/*
 * The parked phases go on, from the posted write event
 * (ngx_http_request_handler() -> ngx_http_core_run_phases()), at the end
 * of this event-loop iteration.
 */

static void
ngx_http_vpt_unpark(ngx_http_vpt_ctx_t *ctx)
{
    ngx_http_request_t  *r;

    r = ctx->request;

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
         * An internal redirect (try_files, a named location, error_page,
         * X-Accel-Redirect) cleared r->ctx, but the context made before
         * it is still ours, found by its cleanup in the pool: the page
         * goes on with its lookup, in this location or another that
         * reads the same key, so one page never costs two lookups nor two
         * breaker failures.  One that cannot serve (another key, a body
         * already filtered, an outcome already final) is stopped.
         */

        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler != ngx_http_vpt_cleanup) {
                continue;
            }

            old = cln->data;

            if (!old->filtering && !old->cancelled && !old->sealed
                && ngx_http_vpt_rebind(r, old, vlcf) == NGX_OK)
            {
                ngx_http_set_ctx(r, old, ngx_http_vpt_module);
                return old;
            }

            ngx_http_vpt_cancel(old);
        }
    }

    return ngx_http_vpt_create_ctx(r, vlcf);
}


/*
 * The context of the location before a redirect, for this one: the same
 * lookup if it reads the same key (prefix and session key), the arm of
 * this location's split, and, once the lookup's answer is in, this
 * location's decision from it (its ranker, page, slots...).  A failed
 * lookup stays failed: the next one would read the same Redis.
 */

static ngx_int_t
ngx_http_vpt_rebind(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx,
    ngx_http_vpt_loc_conf_t *vlcf)
{
    ngx_str_t  session;

    if (ctx->conf == vlcf) {
        return NGX_OK;
    }

    if (vlcf->context_prefix.len != ctx->shopper.prefix.len
        || ngx_strncmp(vlcf->context_prefix.data, ctx->shopper.prefix.data,
                       vlcf->context_prefix.len) != 0)
    {
        return NGX_DECLINED;
    }

    (void) ngx_http_vpt_session(r, vlcf, &session);

    if (session.len != ctx->shopper.session.len
        || ngx_strncmp(session.data, ctx->shopper.session.data, session.len)
           != 0)
    {
        return NGX_DECLINED;
    }

    ctx->conf = vlcf;

    if (session.len) {
        ngx_http_vpt_split(ctx);
    }

    if (ctx->verdict != NGX_VPT_UNDECIDED && ctx->shopper.context != NULL) {
        /* the lookup's answer is in: this location's choice from it */
        ngx_http_vpt_decide(ctx);
    }

    /* else the lookup runs, and its end decides for this location */

    return NGX_OK;
}


/*
 * The A/B arm, by a hash of the split's name and the session key; until
 * the lookup says more, a control page logs "control"
 */

static void
ngx_http_vpt_split(ngx_http_vpt_ctx_t *ctx)
{
    uint64_t                  h;
    ngx_http_vpt_loc_conf_t  *vlcf;

    vlcf = ctx->conf;

    if (vlcf->split_name.len == 0) {
        ctx->variant = NGX_VPT_VARIANT_NONE;

    } else {
        h = vpt_hash_more(vlcf->split_hash, ctx->shopper.session.data,
                          ctx->shopper.session.len);

        ctx->variant = ((ngx_uint_t) (h % 10000)
                        < (ngx_uint_t) vlcf->split_permyriad)
                       ? NGX_VPT_VARIANT_CONTROL : NGX_VPT_VARIANT_TREATMENT;
    }

    if (ctx->verdict == NGX_VPT_UNDECIDED) {
        ngx_http_vpt_set_outcome(ctx,
                                 ctx->variant == NGX_VPT_VARIANT_CONTROL
                                 ? NGX_VPT_OUT_CONTROL : NGX_VPT_OUT_SKIPPED,
                                 0);
    }
}


/*
 * A context with its outcome and nothing started: for the beacon, and for
 * a response no lookup was started for (HEAD)
 */

ngx_http_vpt_ctx_t *
ngx_http_vpt_new_ctx(ngx_http_request_t *r, ngx_vpt_outcome_e outcome)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vpt_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ngx_http_vpt_init_ctx(r, ctx, outcome);

    return ctx;
}


static void
ngx_http_vpt_init_ctx(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx,
    ngx_vpt_outcome_e outcome)
{
    ctx->request = r;
    ctx->conf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);
    ctx->redis_time = -1;
    ctx->redis_us = -1;

    ngx_http_vpt_set_outcome(ctx, outcome, 0);

    ngx_http_set_ctx(r, ctx, ngx_http_vpt_module);
}


/*
 * The lookup's result will not be used: let go of it (without counting a
 * failure) and of its timer; nobody is woken.
 */

void
ngx_http_vpt_cancel(ngx_http_vpt_ctx_t *ctx)
{
    ngx_vpt_store_cancel(ctx->lookup);

    ctx->lookup = NULL;
    ctx->cancelled = 1;
}


/*
 * The end of a page's pool: its lookup is let go (its timer deleted, its
 * replies detached), and nothing else refers to its context past this
 * (the beacon subrequests' contexts go with the same pool), so a spare
 * goes back to the worker's stack here.
 */

static void
ngx_http_vpt_cleanup(void *data)
{
    ngx_http_vpt_ctx_t  *ctx = data;

    ngx_http_vpt_cancel(ctx);

    if (ctx >= ngx_http_vpt_ctxs
        && ctx < ngx_http_vpt_ctxs + NGX_HTTP_VPT_SPARE_CTXS)
    {
        ngx_http_vpt_spare[ngx_http_vpt_nspare++] = ctx;
    }
}


static ngx_http_vpt_ctx_t *
ngx_http_vpt_create_ctx(ngx_http_request_t *r, ngx_http_vpt_loc_conf_t *vlcf)
{
    ngx_uint_t            i;
    ngx_pool_cleanup_t   *cln;
    ngx_http_vpt_ctx_t   *ctx;

    if (ngx_http_vpt_nspare == (ngx_uint_t) -1) {
        for (i = 0; i < NGX_HTTP_VPT_SPARES_USED; i++) {
            ngx_http_vpt_spare[i] = &ngx_http_vpt_ctxs[i];
        }

        ngx_http_vpt_nspare = NGX_HTTP_VPT_SPARES_USED;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    if (ngx_http_vpt_nspare) {
        ctx = ngx_http_vpt_spare[--ngx_http_vpt_nspare];
        ngx_memzero(ctx, sizeof(ngx_http_vpt_ctx_t));

    } else {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_vpt_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }
    }

    cln->handler = ngx_http_vpt_cleanup;
    cln->data = ctx;

    ngx_http_vpt_init_ctx(r, ctx, NGX_VPT_OUT_SKIPPED);

    /*
     * From the kernel's CSPRNG (vpt_random.h): nobody can aim a link at a
     * decision not yet made.  Also the ranker's seed.
     */
    if (vpt_random_hex((char *) ctx->decision_id, 16) != VPT_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      "vpt: getrandom() failed, no decision");
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_REDIS_ERROR);
        return ctx;
    }

    ctx->shopper.prefix = vlcf->context_prefix;

    ngx_http_vpt_shopper_start(ctx);

    if (ctx->preview) {
        /* QA's: no bot check, no consent, no split, nothing written */

        if (ctx->preview_mode == VPT_PREVIEW_OFFER
            || !ngx_vpt_store_configured(r))
        {
            ngx_http_vpt_decide(ctx);
            return ctx;
        }

        ctx->shopper.session = ctx->preview_value;
        ngx_http_vpt_start_lookup(ctx);
        return ctx;
    }

    if (ctx->reqctx.device == VPT_DEVICE_BOT) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_BOT);
        return ctx;
    }

    /*
     * No consent to anything personal, or no session key: the request
     * context alone, and not a byte to Redis.
     */

    if (ctx->consent == NGX_VPT_CONSENT_NONE
        || ngx_http_vpt_session(r, vlcf, &ctx->shopper.session) != NGX_OK)
    {
        ctx->shopper.session.len = 0;
        ngx_http_vpt_decide(ctx);
        return ctx;
    }

    ngx_http_vpt_split(ctx);

    if (ngx_vpt_store_configured(r)) {
        ngx_http_vpt_start_lookup(ctx);
        return ctx;
    }

    /* no Redis: every shopper is known by the request alone */

    ngx_http_vpt_decide(ctx);

    return ctx;
}


static void
ngx_http_vpt_start_lookup(ngx_http_vpt_ctx_t *ctx)
{
    ngx_time_t          *tp;
    ngx_msec_int_t       elapsed, left;
    ngx_http_request_t  *r;

    r = ctx->request;

    tp = ngx_timeofday();
    elapsed = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                                + (tp->msec - r->start_msec));
    left = (ngx_msec_int_t) ctx->conf->redis_timeout - elapsed;

    if (left <= 0) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_REDIS_TIMEOUT);
        return;
    }

    ctx->redis_start = ngx_http_vpt_usec();

    ctx->lookup = ngx_vpt_store_lookup(r, &ctx->shopper, (ngx_msec_t) left,
                                       ngx_http_vpt_lookup_done, ctx);

    if (ctx->lookup == NULL) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_REDIS_ERROR);
    }
}


/*
 * The store's answer, or its timer: the decision, then the one path that
 * wakes whoever waits for it (the body filter at the anchor, or the parked
 * phases).
 */

static void
ngx_http_vpt_lookup_done(void *data, ngx_vpt_store_rc_e rc,
    ngx_msec_int_t ms)
{
    ngx_http_vpt_ctx_t  *ctx = data;

    ngx_http_vpt_resume_pt  resume;

    ctx->lookup = NULL;
    ctx->redis_time = ms;
    ctx->redis_us = ngx_max(ngx_http_vpt_usec() - ctx->redis_start, 0);

    if (rc == NGX_VPT_STORE_FOUND || rc == NGX_VPT_STORE_NO_CONTEXT) {
        ngx_http_vpt_decide(ctx);

    } else {
        ngx_http_vpt_decided(ctx, ngx_http_vpt_lookup_outcomes[rc]);
    }

    resume = ctx->resume;

    if (resume != NULL) {
        ctx->resume = NULL;
        resume(ctx);
    }
}


/*
 * The shopper's session key: NGX_OK, or NGX_DECLINED (and session->len 0)
 * for no session.  A key longer than NGX_VPT_SESSION_MAX bytes or with a
 * control byte (below 0x20, or 0x7f) is no session either: no shop names
 * its shoppers so (a cookie cannot even carry a control byte), each byte
 * would travel to Redis twice per page, and the counters would make keys
 * there that nothing ever reads.  Nor is one ending in NGX_VPT_STORE_COUNTERS:
 * its context key would be another shopper's counters.  Spaces and bytes
 * from 0x80 up are kept: Redis keys are binary-safe, and our commands are
 * length-prefixed.  A refused key is reported, escaped and cut short, at
 * most once a second.
 */

ngx_int_t
ngx_http_vpt_session(ngx_http_request_t *r, ngx_http_vpt_loc_conf_t *vlcf,
    ngx_str_t *session)
{
    u_char                     *p, *last;
    size_t                      n;
    u_char                      show[NGX_VPT_LOG_ESCAPED];
    ngx_uint_t                  skipped;
    const char                 *why;
    ngx_http_variable_value_t  *v;

    if (vlcf->session_index != NGX_ERROR) {
        /*
         * one variable: what ngx_http_complex_value() gives, its value
         * (empty when not found), without its script and copy
         */
        v = ngx_http_get_flushed_variable(r, vlcf->session_index);

        if (v == NULL || v->not_found) {
            session->len = 0;
            return NGX_DECLINED;
        }

        session->data = v->data;
        session->len = v->len;

    } else if (ngx_http_complex_value(r, vlcf->session_key, session)
               != NGX_OK)
    {
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

        n = sizeof(NGX_VPT_STORE_COUNTERS) - 1;

        if (why == NULL && session->len >= n
            && ngx_strncmp(last - n, NGX_VPT_STORE_COUNTERS, n) == 0)
        {
            why = "it ends in \"" NGX_VPT_STORE_COUNTERS "\"";
        }
    }

    if (why == NULL) {
        return NGX_OK;
    }

    if (ngx_http_vpt_log_allowed(NGX_VPT_LOG_SESSION, &skipped)) {
        n = ngx_http_vpt_log_escape(show, session->data, session->len);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "vpt: session key \"%*s\" of %uz bytes ignored: %s, "
                      "a key is at most %d bytes without control bytes, "
                      "not ending in \"%s\" "
                      "(%ui more since the last report)",
                      n, show, session->len, why, NGX_VPT_SESSION_MAX,
                      NGX_VPT_STORE_COUNTERS, skipped);
    }

    session->len = 0;

    return NGX_DECLINED;
}


/*
 * A monotonic clock in microseconds, for the status page's latency
 * histogram: ngx_current_msec is cached per event-loop turn and counts
 * whole milliseconds, and a local Redis answers in a fraction of one.
 */

static int64_t
ngx_http_vpt_usec(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
