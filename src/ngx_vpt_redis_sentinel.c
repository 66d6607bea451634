
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * The master's address, asked of the sentinels (vpt_redis_sentinel).
 *
 * A round: a short-lived connection to every sentinel at once, each sent
 * SENTINEL get-master-addr-by-name; the first address given ends the round
 * (the others are closed), and so does NGX_VPT_SENTINEL_ROUND ms without
 * one.  If the address differs from the one the connection layer uses, it
 * changes and the master's connection is made again at once.  Rounds run
 * at worker start; when the master's connection fails or a reply says
 * READONLY or MASTERDOWN (a failover); every NGX_VPT_SENTINEL_POLL_DOWN
 * ms while the master is not connected (Sentinel promotes a replica a
 * couple of seconds after a master dies, and the reconnect's backoff
 * alone would notice late); and every NGX_VPT_SENTINEL_POLL_UP ms
 * otherwise.  One round at a time.  Nothing waits for a round: until the
 * master is connected, pages fail open at once (the connection layer
 * refuses commands it cannot send).
 *
 * A sentinel's connection (ngx_vpt_redis_conn.c) lives for one command;
 * it is closed only from a timer or a posted event, never from inside
 * hiredis.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_vpt_redis_int.h"
#include "ngx_vpt_redis_topology.h"
#include "ngx_vpt_redis_conn.h"
#include "vpt_cluster.h"


#define NGX_VPT_SENTINEL_ROUND       1000     /* ms, a round at most */
#define NGX_VPT_SENTINEL_POLL_DOWN   300      /* ms, master not connected */
#define NGX_VPT_SENTINEL_POLL_UP     10000    /* ms, master connected */
#define NGX_VPT_SENTINEL_LOG_EVERY   10000    /* ms, "no sentinel answered" */


typedef struct {
    ngx_vpt_rconn_t            rc;          /* first */
    ngx_vpt_redis_addr_t      *addr;
} ngx_vpt_sentinel_probe_t;


typedef struct {
    ngx_vpt_redis_topo_t      *topo;
    ngx_vpt_sentinel_probe_t  *probe;
    ngx_uint_t                 nprobes;
    ngx_uint_t                 answered;    /* this round */

    ngx_event_t                round;       /* the round's deadline */
    ngx_event_t                done;        /* posted: the round ends */
    ngx_event_t                poll;        /* the next round */

    ngx_vpt_redis_addr_t       master;      /* what the client uses */
    ngx_vpt_redis_peer_t       peer;        /* its one address */
    u_char                     host[NGX_SOCKADDR_STRLEN + 1];
    u_char                     name[NGX_SOCKADDR_STRLEN + 256];
    ngx_str_t                  current;     /* "host:port", into name */

    u_char                     found_host[NGX_SOCKADDR_STRLEN + 1];
    size_t                     found_len;
    unsigned                   found_port;

    ngx_uint_t                 switches;
    ngx_uint_t                 failed_rounds;
    ngx_msec_t                 logged;
    const char                *why;

    unsigned                   enabled:1;
    unsigned                   asking:1;
    unsigned                   found:1;
    unsigned                   exiting:1;
} ngx_vpt_sentinel_t;


static void ngx_vpt_sentinel_round_start(void);
static void ngx_vpt_sentinel_probe_start(ngx_vpt_sentinel_probe_t *pr);
static void ngx_vpt_sentinel_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_vpt_sentinel_deadline(ngx_event_t *ev);
static void ngx_vpt_sentinel_done(ngx_event_t *ev);
static void ngx_vpt_sentinel_poll(ngx_event_t *ev);
static void ngx_vpt_sentinel_apply(void);


static ngx_vpt_sentinel_t  ngx_vpt_sentinel;


ngx_uint_t
ngx_vpt_redis_sentinel_enabled(void)
{
    return ngx_vpt_sentinel.enabled;
}


ngx_str_t *
ngx_vpt_redis_sentinel_master(void)
{
    return &ngx_vpt_sentinel.current;
}


ngx_uint_t
ngx_vpt_redis_sentinel_switches(void)
{
    return ngx_vpt_sentinel.switches;
}


void
ngx_vpt_redis_sentinel_init_worker(ngx_cycle_t *cycle,
    ngx_vpt_redis_topo_t *topo)
{
    ngx_uint_t           i;
    ngx_vpt_sentinel_t  *s;

    s = &ngx_vpt_sentinel;

    ngx_memzero(s, sizeof(ngx_vpt_sentinel_t));

    s->topo = topo;
    s->nprobes = topo->sentinels->nelts;
    s->probe = ngx_pcalloc(cycle->pool,
                           s->nprobes * sizeof(ngx_vpt_sentinel_probe_t));
    if (s->probe == NULL) {
        return;
    }

    for (i = 0; i < s->nprobes; i++) {
        s->probe[i].addr = (ngx_vpt_redis_addr_t *) topo->sentinels->elts
                           + i;
        s->probe[i].rc.name = s->probe[i].addr->name;
        s->probe[i].rc.data = &s->probe[i];
    }

    s->round.handler = ngx_vpt_sentinel_deadline;
    s->round.log = cycle->log;
    s->round.cancelable = 1;
    s->done.handler = ngx_vpt_sentinel_done;
    s->done.log = cycle->log;
    s->poll.handler = ngx_vpt_sentinel_poll;
    s->poll.log = cycle->log;
    s->poll.cancelable = 1;

    /* no host yet: the client waits for a round to name the master */

    s->master.name.data = s->name;
    s->master.name.len = ngx_sprintf(s->name, "%V (master unknown)",
                                     &topo->master_name) - s->name;
    s->current.data = s->name;
    s->current.len = 0;
    s->logged = ngx_current_msec - NGX_VPT_SENTINEL_LOG_EVERY;
    s->enabled = 1;

    ngx_vpt_redis_init_worker(cycle, &s->master);

    s->why = "worker start";
    ngx_vpt_sentinel_round_start();
}


void
ngx_vpt_redis_sentinel_exit_worker(void)
{
    ngx_uint_t           i;
    ngx_vpt_sentinel_t  *s;

    s = &ngx_vpt_sentinel;

    if (!s->enabled) {
        return;
    }

    s->exiting = 1;

    if (s->round.timer_set) {
        ngx_del_timer(&s->round);
    }

    if (s->poll.timer_set) {
        ngx_del_timer(&s->poll);
    }

    if (s->done.posted) {
        ngx_delete_posted_event(&s->done);
    }

    for (i = 0; i < s->nprobes; i++) {
        ngx_vpt_rconn_close(&s->probe[i].rc);
    }
}


void
ngx_vpt_redis_sentinel_ask(const char *why)
{
    ngx_vpt_sentinel_t  *s;

    s = &ngx_vpt_sentinel;

    if (!s->enabled || s->exiting || s->asking) {
        return;
    }

    s->why = why;

    if (s->poll.timer_set) {
        ngx_del_timer(&s->poll);
    }

    /* a failing master calls here often: not more than the poll's pace */
    ngx_add_timer(&s->poll, 1);
}


static void
ngx_vpt_sentinel_poll(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate) {
        return;
    }

    ngx_vpt_sentinel_round_start();
}


static void
ngx_vpt_sentinel_round_start(void)
{
    ngx_uint_t           i;
    ngx_vpt_sentinel_t  *s;

    s = &ngx_vpt_sentinel;

    if (s->asking || s->exiting) {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                   "vpt redis sentinel \"%V\": asking (%s)",
                   &s->topo->master_name, s->why);

    s->asking = 1;
    s->found = 0;
    s->answered = 0;

    ngx_add_timer(&s->round, NGX_VPT_SENTINEL_ROUND);

    for (i = 0; i < s->nprobes; i++) {
        ngx_vpt_sentinel_probe_start(&s->probe[i]);
    }
}


static void
ngx_vpt_sentinel_probe_start(ngx_vpt_sentinel_probe_t *pr)
{
    ngx_vpt_sentinel_t  *s;

    s = &ngx_vpt_sentinel;

    if (pr->rc.ac != NULL) {
        /* still there from the last round: leave it to answer */
        return;
    }

    if (ngx_vpt_rconn_open(&pr->rc, (const char *) pr->addr->host.data,
                           (int) pr->addr->port)
        == NGX_OK
        && redisAsyncCommand(pr->rc.ac, ngx_vpt_sentinel_reply, pr,
                             "SENTINEL get-master-addr-by-name %b",
                             s->topo->master_name.data,
                             s->topo->master_name.len)
           == REDIS_OK)
    {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "vpt redis sentinel %V: cannot connect",
                  &pr->addr->name);

    if (++s->answered == s->nprobes && !s->done.posted) {
        ngx_post_event(&s->done, &ngx_posted_events);
    }
}


static void
ngx_vpt_sentinel_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    int                        rc;
    size_t                     i, n;
    unsigned                   port;
    vpt_str_t                  elem[2], host;
    redisReply                *reply = r;
    ngx_vpt_sentinel_t        *s;
    ngx_vpt_sentinel_probe_t  *pr = privdata;

    s = &ngx_vpt_sentinel;

    if (s->exiting || !s->asking) {
        return;
    }

    s->answered++;

    if (reply == NULL) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "vpt redis sentinel %V: no answer: %s",
                      &pr->addr->name,
                      ac->c.err ? ac->c.errstr : "connection closed");
        goto next;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "vpt redis sentinel %V: \"%*s\"", &pr->addr->name,
                      (size_t) ngx_min(reply->len, 200), reply->str);
        goto next;
    }

    n = 0;
    port = 0;

    if (reply->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < reply->elements && i < 2; i++) {
            if (reply->element[i]->type != REDIS_REPLY_STRING) {
                break;
            }

            elem[i].data = reply->element[i]->str;
            elem[i].len = reply->element[i]->len;
        }

        n = (i == reply->elements) ? i : 3;
    }

    rc = (n <= 2) ? vpt_sentinel_master_addr(elem, n, &host, &port)
                  : VPT_ERROR;

    if (rc == VPT_DECLINED) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "vpt redis sentinel %V does not know master \"%V\"",
                      &pr->addr->name, &s->topo->master_name);
        goto next;
    }

    if (rc != VPT_OK || host.len > NGX_SOCKADDR_STRLEN) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "vpt redis sentinel %V: unexpected reply to "
                      "get-master-addr-by-name", &pr->addr->name);
        goto next;
    }

    if (!s->found) {
        ngx_memcpy(s->found_host, host.data, host.len);
        s->found_host[host.len] = '\0';
        s->found_len = host.len;
        s->found_port = port;
        s->found = 1;
    }

next:

    if ((s->found || s->answered == s->nprobes) && !s->done.posted) {
        /* not freed here, inside hiredis */
        ngx_post_event(&s->done, &ngx_posted_events);
    }
}


static void
ngx_vpt_sentinel_deadline(ngx_event_t *ev)
{
    ngx_vpt_sentinel_done(ev);
}


static void
ngx_vpt_sentinel_done(ngx_event_t *ev)
{
    ngx_uint_t           i;
    ngx_msec_t           next;
    ngx_vpt_sentinel_t  *s;

    s = &ngx_vpt_sentinel;

    if (!s->asking || s->exiting) {
        return;
    }

    s->asking = 0;

    if (s->round.timer_set) {
        ngx_del_timer(&s->round);
    }

    if (s->done.posted) {
        ngx_delete_posted_event(&s->done);
    }

    for (i = 0; i < s->nprobes; i++) {
        ngx_vpt_rconn_close(&s->probe[i].rc);
    }

    if (s->found) {
        s->failed_rounds = 0;
        ngx_vpt_sentinel_apply();

    } else {
        s->failed_rounds++;

        if (ngx_current_msec - s->logged >= NGX_VPT_SENTINEL_LOG_EVERY) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "vpt redis sentinel: no sentinel named master "
                          "\"%V\" (%ui rounds in a row, asked because: %s); "
                          "pages go out without offers meanwhile",
                          &s->topo->master_name, s->failed_rounds, s->why);
            s->logged = ngx_current_msec;
        }
    }

    if (!s->poll.timer_set && !ngx_exiting && !ngx_terminate) {
        next = ngx_vpt_redis_connected() ? NGX_VPT_SENTINEL_POLL_UP
                                         : NGX_VPT_SENTINEL_POLL_DOWN;
        s->why = "periodic check";
        ngx_add_timer(&s->poll, next);
    }
}


static void
ngx_vpt_sentinel_apply(void)
{
    u_char              *p;
    ngx_vpt_sentinel_t  *s;

    s = &ngx_vpt_sentinel;

    if (s->master.host.len == s->found_len
        && s->master.port == s->found_port
        && ngx_memcmp(s->master.host.data, s->found_host, s->found_len)
           == 0)
    {
        return;
    }

    ngx_memcpy(s->host, s->found_host, s->found_len + 1);
    s->master.host.data = s->host;
    s->master.host.len = s->found_len;
    s->master.port = (in_port_t) s->found_port;
    s->peer.host = s->master.host;
    s->peer.port = s->master.port;
    s->master.peers = &s->peer;
    s->master.npeers = 1;

    p = ngx_sprintf(s->name, "%V %s:%ui", &s->topo->master_name,
                    s->host, (ngx_uint_t) s->found_port);
    s->master.name.len = p - s->name;

    s->current.data = s->name + s->topo->master_name.len + 1;
    s->current.len = p - s->current.data;

    if (s->switches++ == 0) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "vpt redis sentinel: master \"%V\" is %V",
                      &s->topo->master_name, &s->current);

    } else {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "vpt redis sentinel: master \"%V\" is now %V",
                      &s->topo->master_name, &s->current);
    }

    ngx_vpt_redis_retarget();
}
