/*
 * Copyright (C) ngx_vpt_module authors
 *
 * hiredis's async client on nginx's own event loop: one persistent
 * connection per worker, commands pipelined on it, reconnect with backoff,
 * and a circuit breaker.  Nothing here ever blocks: the address is resolved
 * at configuration time, connect is non-blocking, and a request's own
 * timeout is an nginx timer owned by the caller (hiredis 0.14 has none per
 * command).
 *
 * Ownership: hiredis's callback data is an ngx_vpt_redis_call_t allocated
 * here (ngx_alloc), never from the request.  A request that goes away
 * detaches its call (handler set to NULL); the reply, when it comes, is then
 * dropped and the call freed.  So the caller's pointer to a call is valid
 * only until the first of: its handler returns, ngx_vpt_redis_detach(),
 * ngx_vpt_redis_timed_out().  Forget it then.
 *
 * Everything here is per worker process and runs on nginx's event loop; no
 * function may be called from another thread.
 */

#ifndef NGX_VPT_REDIS_H
#define NGX_VPT_REDIS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>


typedef struct ngx_vpt_redis_call_s  ngx_vpt_redis_call_t;

/*
 * reply is NULL when the command failed (connection lost before the
 * reply); it is freed by hiredis after the handler returns, and so is the
 * call.  The handler may send new commands.
 */
typedef void (*ngx_vpt_redis_handler_pt)(ngx_vpt_redis_call_t *call,
    redisReply *reply);

struct ngx_vpt_redis_call_s {
    ngx_vpt_redis_handler_pt   handler;    /* NULL: detached */
    void                      *data;
    ngx_msec_t                 start;      /* ngx_current_msec at send */
};


typedef enum {
    NGX_VPT_BREAKER_CLOSED = 0,     /* healthy */
    NGX_VPT_BREAKER_OPEN,           /* failing: do not wait on Redis */
    NGX_VPT_BREAKER_HALF_OPEN       /* probing */
} ngx_vpt_breaker_state_e;


/*
 * Per-worker counters.  Latency has one histogram, the status page's
 * (ngx_vpt_stats.c): a lookup's time as the request saw it.
 */
typedef struct {
    ngx_uint_t                 sent;       /* queued, fire included */
    ngx_uint_t                 replies;    /* received, error replies too */
    ngx_uint_t                 errors;     /* error replies, lost commands */
    ngx_uint_t                 timeouts;   /* ngx_vpt_redis_timed_out() */
    ngx_uint_t                 drops;      /* links closed as dead */
    ngx_uint_t                 rejected;   /* refused at once: not usable */
    ngx_uint_t                 pending;    /* in flight now */
    ngx_uint_t                 connects;   /* links that answered */
    ngx_uint_t                 breaker_opens;
    ngx_uint_t                 connected;  /* 1: connected, answering */
    ngx_vpt_breaker_state_e    breaker;
} ngx_vpt_redis_stats_t;


/* one address of vpt_redis, numeric */
typedef struct {
    ngx_str_t                  host;       /* numeric, NUL-terminated */
    in_port_t                  port;
} ngx_vpt_redis_peer_t;


/*
 * what the configuration resolved (vpt_redis ADDRESS); the port defaults
 * to 6379; a name is resolved at configuration time (never by a worker:
 * hiredis would block), and all its addresses are kept: each connect
 * after a failure tries the next one
 */
typedef struct {
    ngx_str_t                  name;       /* as written, for logs */
    struct sockaddr_storage    sockaddr;   /* resolved at config time */
    socklen_t                  socklen;
    ngx_str_t                  unix_path;  /* "unix:/path": NUL-terminated */
    ngx_str_t                  host;       /* numeric, NUL-terminated */
    in_port_t                  port;
    ngx_vpt_redis_peer_t      *peers;      /* every address, first = host */
    ngx_uint_t                 npeers;
} ngx_vpt_redis_addr_t;


/* parse and resolve "host:port" or "unix:/path"; NGX_CONF_ERROR on error */
char *ngx_vpt_redis_parse_addr(ngx_conf_t *cf, ngx_str_t *value,
    ngx_vpt_redis_addr_t *addr);

/*
 * from init_process: starts the first (non-blocking) connect; addr must live
 * as long as the cycle (the module's configuration).  Does nothing in
 * helper processes (cache manager and loader) or when addr is NULL.
 */
ngx_int_t ngx_vpt_redis_init_worker(ngx_cycle_t *cycle,
    ngx_vpt_redis_addr_t *addr);

/*
 * from exit_process: frees the connection and every call still in flight
 * without calling their handlers (the process is going away)
 */
void ngx_vpt_redis_exit_worker(ngx_cycle_t *cycle);

/*
 * Sends a command; the handler is called once, from the event loop, with
 * the reply (or NULL).  Returns NULL, without calling the handler, when
 * Redis is not usable now (not connected, breaker open, out of memory):
 * the caller goes on without it at once.
 */
ngx_vpt_redis_call_t *ngx_vpt_redis_command(ngx_vpt_redis_handler_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen);

/*
 * fire and forget (impressions, accepts): NGX_OK if queued, NGX_DECLINED
 * when Redis is not usable now (not connected, breaker not closed),
 * NGX_ERROR when hiredis refused it.  Its outcome does not feed the
 * breaker; error replies are counted and logged (at most once a second).
 */
ngx_int_t ngx_vpt_redis_fire(int argc, const char **argv,
    const size_t *argvlen);

/* the request is gone or stopped waiting: never call its handler */
void ngx_vpt_redis_detach(ngx_vpt_redis_call_t *call);

/*
 * The caller's timer fired before the reply: counts as a failure for the
 * breaker (the reply, if it ever comes, is dropped).  A link on which
 * commands keep timing out with no reply at all is closed and made again
 * (ngx_vpt_redis.c).
 */
void ngx_vpt_redis_timed_out(ngx_vpt_redis_call_t *call);

ngx_vpt_breaker_state_e ngx_vpt_redis_breaker_state(void);
ngx_uint_t ngx_vpt_redis_connected(void);
/* error replies and lost commands so far (stats.errors) */
ngx_uint_t ngx_vpt_redis_errors(void);

/* a value of the wrong type under the key: the shop's data, not a failure */
ngx_uint_t ngx_vpt_redis_wrongtype(const redisReply *reply);

/* a copy of this worker's counters */
void ngx_vpt_redis_stats(ngx_vpt_redis_stats_t *out);


#endif /* NGX_VPT_REDIS_H */
