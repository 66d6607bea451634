
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * Between the Redis client's five files (see ngx_vpt_redis.c): the
 * worker's state and what each file offers the others.
 */

#ifndef NGX_VPT_REDIS_INT_H
#define NGX_VPT_REDIS_INT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_vpt_redis.h"


#define NGX_VPT_REDIS_BACKOFF_MIN      50       /* ms, reconnect */
#define NGX_VPT_BREAKER_OPEN_MIN       100      /* ms */

/*
 * A link is dead when a connect (with its PING) takes longer than this,
 * or when a command has waited this long for a reply with none coming
 * while at least NGX_VPT_REDIS_SILENT_MAX commands timed out in a row.
 */
#define NGX_VPT_REDIS_DEAD_AFTER       1000     /* ms */
#define NGX_VPT_REDIS_SILENT_MAX       3


typedef struct {
    ngx_vpt_redis_call_t       call;        /* first: what callers see */
    unsigned                   recorded:1;  /* outcome given to breaker */
} ngx_vpt_redis_pcall_t;


typedef struct {
    ngx_vpt_redis_addr_t      *addr;
    redisAsyncContext         *ac;          /* NULL: no connection */
    ngx_connection_t          *conn;        /* wraps ac's socket */
    const char                *reason;      /* why we free ac ourselves */

    ngx_event_t                reconnect;   /* timer, cancelable */
    ngx_event_t                abort;       /* posted: drop ac */
    const char                *abort_reason;
    ngx_event_t                connect_timer;  /* connect and its PING */
    ngx_uint_t                 peer;        /* w->addr->peers[peer] */
    ngx_uint_t                 silent;      /* timeouts since a reply */
    ngx_msec_t                 waiting;     /* since when replies are due */
    ngx_msec_t                 backoff;
    ngx_uint_t                 attempts;    /* failures since a connect */
    ngx_uint_t                 pending;

    ngx_msec_t                 fire_logged;
    ngx_uint_t                 fire_errors; /* since last logged */

    ngx_vpt_breaker_state_e    breaker;
    ngx_uint_t                 failures;    /* consecutive, when closed */
    ngx_msec_t                 opened;
    ngx_msec_t                 interval;
    ngx_vpt_redis_pcall_t     *probe;       /* half-open: in flight */

    ngx_vpt_redis_stats_t      stats;

    unsigned                   up:1;        /* TCP connected: in use */
    unsigned                   connected:1; /* and its PING answered */
    unsigned                   level:1;     /* the adapter's level mode */
    unsigned                   exiting:1;
} ngx_vpt_redis_worker_t;


/* this worker's one client (ngx_vpt_redis.c) */
extern ngx_vpt_redis_worker_t  ngx_vpt_redis;


/* ngx_vpt_redis_adapter.c: connects, and reconnects when it fails */
void ngx_vpt_redis_connect(void);
void ngx_vpt_redis_reconnect_handler(ngx_event_t *ev);
void ngx_vpt_redis_abort_handler(ngx_event_t *ev);
/* the address changed (Sentinel): drop and connect to it now */
void ngx_vpt_redis_retarget(void);

/* ngx_vpt_redis_arena.c: the connection's replies from one buffer */
void ngx_vpt_redis_arena_use(redisAsyncContext *ac);

/* ngx_vpt_redis_link.c: a link's health */
void ngx_vpt_redis_link_start(redisAsyncContext *ac);
void ngx_vpt_redis_link_hello(void);
void ngx_vpt_redis_connect_timeout_handler(ngx_event_t *ev);
void ngx_vpt_redis_abort(const char *reason);
void ngx_vpt_redis_check_link(void);

/* ngx_vpt_redis_breaker.c */
ngx_uint_t ngx_vpt_redis_account(redisReply *reply);
void ngx_vpt_redis_outcome(ngx_vpt_redis_pcall_t *pc, ngx_uint_t ok);
ngx_int_t ngx_vpt_redis_breaker_allow(void);
void ngx_vpt_redis_breaker_tick(void);
void ngx_vpt_redis_breaker_failure(void);
void ngx_vpt_redis_breaker_link_up(void);


#endif /* NGX_VPT_REDIS_INT_H */
