/*
 * Copyright (C) ngx_vpt_module authors
 *
 * A Redis link's health (the client's files: ngx_vpt_redis.c).
 *
 * A link counts as connected (w->connected, the status page's
 * vpt_redis_connected) only once it has answered a PING sent right after
 * the TCP connect: a peer that accepts connections but never answers (a
 * stuck proxy) is not taken for a working Redis.  Commands go out from the
 * TCP connect on (w->up), pipelined behind the PING, so the first pages
 * after a connect do not wait for it.  The connect and that PING must be
 * done within NGX_VPT_REDIS_DEAD_AFTER, else the link is dropped as a
 * failed connect.  TCP keepalive (10 s idle, then 3 probes 5 s apart)
 * finds a peer that is gone without a word (a host down, a network cut)
 * on an idle link; a peer that is there but mute is found by the commands
 * that time out (ngx_vpt_redis_check_link()).  A link is dropped through
 * a posted event (ngx_vpt_redis_abort()), whose handler is the adapter's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_vpt_redis_int.h"


static void ngx_vpt_redis_keepalive(redisAsyncContext *ac);
static void ngx_vpt_redis_hello_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_vpt_redis_ready(void);


/* a new link's socket: keepalive, and the time it has to answer */

void
ngx_vpt_redis_link_start(redisAsyncContext *ac)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->addr->unix_path.len == 0) {
        ngx_vpt_redis_keepalive(ac);
    }

    ngx_add_timer(&w->connect_timer, NGX_VPT_REDIS_DEAD_AFTER);
}


/*
 * TCP keepalive on the socket: without it a peer that vanished (a host
 * down, a cut network) leaves an idle link "connected" for hours.  A
 * failure costs only the early warning: logged, not fatal.
 */

static void
ngx_vpt_redis_keepalive(redisAsyncContext *ac)
{
    int  on;
#if (NGX_HAVE_KEEPALIVE_TUNABLE)
    int  idle, intvl, cnt;
#endif

    on = 1;

    if (setsockopt(ac->c.fd, SOL_SOCKET, SO_KEEPALIVE, (const void *) &on,
                   sizeof(int))
        == -1)
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, ngx_socket_errno,
                      "vpt redis \"%V\": setsockopt(SO_KEEPALIVE) failed",
                      &ngx_vpt_redis.addr->name);
        return;
    }

#if (NGX_HAVE_KEEPALIVE_TUNABLE)

    idle = 10;
    intvl = 5;
    cnt = 3;

    if (setsockopt(ac->c.fd, IPPROTO_TCP, TCP_KEEPIDLE,
                   (const void *) &idle, sizeof(int)) == -1
        || setsockopt(ac->c.fd, IPPROTO_TCP, TCP_KEEPINTVL,
                      (const void *) &intvl, sizeof(int)) == -1
        || setsockopt(ac->c.fd, IPPROTO_TCP, TCP_KEEPCNT,
                      (const void *) &cnt, sizeof(int)) == -1)
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, ngx_socket_errno,
                      "vpt redis \"%V\": setting the keepalive timers "
                      "failed", &ngx_vpt_redis.addr->name);
    }

#endif
}


/* TCP is up: a PING, which must be answered before the link is connected */

void
ngx_vpt_redis_link_hello(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (redisAsyncCommand(w->ac, ngx_vpt_redis_hello_reply, NULL, "PING")
        != REDIS_OK)
    {
        ngx_vpt_redis_abort("cannot queue PING");
    }
}


static void
ngx_vpt_redis_hello_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply  *reply;

    reply = r;

    if (reply == NULL || ac != ngx_vpt_redis.ac || ngx_vpt_redis.exiting) {
        /* the link went first: the cleanup hook said why */
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* it answers: the error (NOAUTH...) is every command's, counted */
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "vpt redis \"%V\": PING answered \"%*s\"",
                      &ngx_vpt_redis.addr->name, (size_t) reply->len,
                      reply->str);

    } else if (reply->type != REDIS_REPLY_STATUS || reply->len != 4
               || ngx_strncmp(reply->str, "PONG", 4) != 0)
    {
        /*
         * Another command's reply: bytes were lost on the way (a broken
         * proxy), and each reply would go to the command after its own,
         * another shopper's
         */
        ngx_vpt_redis_abort("PING answered by another reply, "
                            "the replies are out of step");
        return;
    }

    ngx_vpt_redis_ready();
}


/* the link answers: in use from now on */

static void
ngx_vpt_redis_ready(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->connect_timer.timer_set) {
        ngx_del_timer(&w->connect_timer);
    }

    w->connected = 1;
    w->backoff = NGX_VPT_REDIS_BACKOFF_MIN;
    w->silent = 0;
    w->stats.connects++;

    if (w->attempts) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "vpt redis \"%V\": connected after %ui failures",
                      &w->addr->name, w->attempts);

    } else {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "vpt redis \"%V\": connected", &w->addr->name);
    }

    w->attempts = 0;

    ngx_vpt_redis_breaker_link_up();
}


/*
 * The link must go, but we may be deep inside hiredis (an event hook) or
 * in a caller's timer with a lookup half done: free the context from a
 * clean stack, at the end of this event-loop iteration.
 */

void
ngx_vpt_redis_abort(const char *reason)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->ac == NULL || w->abort.posted) {
        return;
    }

    w->abort_reason = reason;
    ngx_post_event(&w->abort, &ngx_posted_events);
}


void
ngx_vpt_redis_connect_timeout_handler(ngx_event_t *ev)
{
    redisAsyncContext  *ac;

    ac = ngx_vpt_redis.ac;

    if (ac == NULL) {
        return;
    }

    ngx_vpt_redis_abort((ac->c.flags & REDIS_CONNECTED)
                        ? "no answer to PING in time"
                        : "connect timed out");
}


/*
 * A peer that stopped answering but keeps the connection open (a paused
 * container, a stuck proxy) is never noticed by TCP.  Commands in a row
 * that timed out with no reply at all, and the oldest command in flight
 * waiting for its reply for long enough to tell a stall from a slow
 * command, mean the link is dead: it is closed (from a posted event: a
 * lookup's timer may be on the stack) and made again with the backoff.
 * Checked when a command times out or is about to be sent: once the
 * breaker is open, only the latter happen.  Replies come in order, so the
 * oldest command in flight has waited since the last reply, or since it
 * was sent when nothing was in flight before it.
 */

void
ngx_vpt_redis_check_link(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->connected && w->pending && !w->abort.posted
        && w->silent >= NGX_VPT_REDIS_SILENT_MAX
        && ngx_current_msec - w->waiting >= NGX_VPT_REDIS_DEAD_AFTER)
    {
        w->stats.drops++;
        ngx_vpt_redis_abort("no reply to the last commands, "
                            "the link is taken as dead");
    }
}
