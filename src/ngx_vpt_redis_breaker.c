
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * The circuit breaker and the counters of the status page.
 *
 * Circuit breaker: closed until 5 consecutive failures (error replies, lost
 * commands, timeouts, connect failures and lost connections), then open
 * for 100 ms; then half-open: one command goes through as a probe, the
 * others are refused; the probe's success closes the breaker, its failure
 * (or no answer within 1 s) opens it again for twice as long, up to 10 s;
 * a new connection that answers its PING makes an open breaker half-open
 * at once.
 * Time is ngx_current_msec; no timer is needed.  Each call's outcome is
 * counted once, even when its request detached before the reply (the reply
 * still tells how Redis is doing) and not again when a call that timed out
 * gets its reply late.  Fire-and-forget writes do not feed the breaker,
 * but are refused while it is not closed, so they add no load to a Redis
 * that is failing.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_vpt_redis_int.h"
#include "ngx_vpt_redis_topology.h"


#define NGX_VPT_BREAKER_THRESHOLD      5        /* consecutive failures */
#define NGX_VPT_BREAKER_OPEN_MAX       10000    /* ms */
#define NGX_VPT_BREAKER_PROBE_MAX      1000     /* unanswered probe: failed */


static void ngx_vpt_redis_breaker_open(const char *why);
static void ngx_vpt_redis_breaker_close(void);


ngx_vpt_breaker_state_e
ngx_vpt_redis_breaker_state(void)
{
    ngx_vpt_redis_breaker_tick();

    return ngx_vpt_redis.breaker;
}


void
ngx_vpt_redis_stats(ngx_vpt_redis_stats_t *out)
{
    *out = ngx_vpt_redis.stats;

    out->breaker = ngx_vpt_redis_breaker_state();
    out->pending = ngx_vpt_redis.pending;
    out->connected = ngx_vpt_redis.connected;
}


/* a value of the wrong type under the key: the shop's data, not a failure */

ngx_uint_t
ngx_vpt_redis_wrongtype(const redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_ERROR
           && reply->len >= sizeof("WRONGTYPE") - 1
           && ngx_strncmp(reply->str, "WRONGTYPE", sizeof("WRONGTYPE") - 1)
              == 0;
}


/* counts a reply (NULL: lost); returns 1 for success */

ngx_uint_t
ngx_vpt_redis_account(redisReply *reply)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (reply == NULL) {
        w->stats.errors++;
        return 0;
    }

    w->stats.replies++;

    /*
     * WRONGTYPE is the shop's data under our key, not Redis failing: it
     * must not open the breaker for everyone
     */

    if (reply->type == REDIS_REPLY_ERROR && !ngx_vpt_redis_wrongtype(reply)) {
        w->stats.errors++;
        ngx_vpt_redis_topology_error(reply);
        return 0;
    }

    return 1;
}


/* circuit breaker */


/* a call's outcome, counted once per call */

void
ngx_vpt_redis_outcome(ngx_vpt_redis_pcall_t *pc, ngx_uint_t ok)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (pc->recorded) {
        return;
    }

    pc->recorded = 1;

    if (pc == w->probe) {
        w->probe = NULL;

        if (ok) {
            ngx_vpt_redis_breaker_close();

        } else {
            w->interval = ngx_min(w->interval * 2, NGX_VPT_BREAKER_OPEN_MAX);
            ngx_vpt_redis_breaker_open("the probe failed");
        }

        return;
    }

    if (ok) {
        if (w->breaker == NGX_VPT_BREAKER_CLOSED) {
            w->failures = 0;
        }

        return;
    }

    ngx_vpt_redis_breaker_failure();
}


/* NGX_OK: send; NGX_AGAIN: send as the half-open probe; NGX_DECLINED: not */

ngx_int_t
ngx_vpt_redis_breaker_allow(void)
{
    ngx_vpt_redis_breaker_tick();

    switch (ngx_vpt_redis.breaker) {

    case NGX_VPT_BREAKER_CLOSED:
        return NGX_OK;

    case NGX_VPT_BREAKER_HALF_OPEN:
        return (ngx_vpt_redis.probe == NULL) ? NGX_AGAIN : NGX_DECLINED;

    default: /* NGX_VPT_BREAKER_OPEN */
        return NGX_DECLINED;
    }
}


/* the breaker's moves in time: open -> half-open, probe never answered */

void
ngx_vpt_redis_breaker_tick(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->breaker == NGX_VPT_BREAKER_OPEN
        && ngx_current_msec - w->opened >= w->interval)
    {
        w->breaker = NGX_VPT_BREAKER_HALF_OPEN;

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "vpt redis \"%V\": circuit breaker half-open, "
                      "probing", &w->addr->name);
        return;
    }

    if (w->breaker == NGX_VPT_BREAKER_HALF_OPEN
        && w->probe != NULL
        && ngx_current_msec - w->probe->call.start
           >= NGX_VPT_BREAKER_PROBE_MAX)
    {
        /*
         * its request detached and Redis never answered: a timeout with
         * no reply, as ngx_vpt_redis_check_link() counts them
         */

        w->probe->recorded = 1;
        w->probe = NULL;
        w->silent++;

        w->interval = ngx_min(w->interval * 2, NGX_VPT_BREAKER_OPEN_MAX);
        ngx_vpt_redis_breaker_open("the probe was not answered");
    }
}


void
ngx_vpt_redis_breaker_failure(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    /* when not closed, only the probe counts */

    if (w->breaker != NGX_VPT_BREAKER_CLOSED) {
        return;
    }

    if (++w->failures < NGX_VPT_BREAKER_THRESHOLD) {
        return;
    }

    ngx_vpt_redis_breaker_open("consecutive failures");
}


/*
 * A new link answered its PING: an open breaker need not wait out its
 * interval (up to 10 s after a long outage) to probe the Redis that
 * answers now
 */

void
ngx_vpt_redis_breaker_link_up(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->breaker != NGX_VPT_BREAKER_OPEN) {
        return;
    }

    w->breaker = NGX_VPT_BREAKER_HALF_OPEN;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "vpt redis \"%V\": circuit breaker half-open, "
                  "probing the new connection", &w->addr->name);
}


static void
ngx_vpt_redis_breaker_open(const char *why)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    w->breaker = NGX_VPT_BREAKER_OPEN;
    w->opened = ngx_current_msec;
    w->failures = 0;
    w->stats.breaker_opens++;

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "vpt redis \"%V\": circuit breaker open for %M ms: %s",
                  &w->addr->name, w->interval, why);
}


static void
ngx_vpt_redis_breaker_close(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    w->breaker = NGX_VPT_BREAKER_CLOSED;
    w->interval = NGX_VPT_BREAKER_OPEN_MIN;
    w->failures = 0;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "vpt redis \"%V\": circuit breaker closed",
                  &w->addr->name);
}
