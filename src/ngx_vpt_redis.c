
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * hiredis's async client on nginx's event loop.
 *
 * One connection per worker, in one static state struct.  The socket that
 * hiredis opens is wrapped in an nginx connection (ngx_get_connection) so
 * that hiredis's addRead/delRead/addWrite/delWrite hooks map straight to
 * ngx_add_event/ngx_del_event on its read and write events, edge-triggered
 * where nginx's event method is (NGX_CLEAR_EVENT), level otherwise.
 *
 * Draining.  redisAsyncHandleRead() does a single read() of at most 16k.
 * Under edge-triggered epoll a read that leaves data in the socket would
 * never be reported again, so the read handler loops: after each call it
 * peeks one byte with recv(MSG_PEEK|MSG_DONTWAIT) and calls hiredis again
 * unless the peek says EAGAIN.  The peek also sees a pending EOF (0) or
 * socket error (-1), which hiredis then reads and turns into a disconnect,
 * so a FIN that came with the last data is not lost either.  After 64
 * rounds (1M) the handler yields: its event is posted to the next loop
 * iteration so other connections run.  Writes need no loop: hiredis writes
 * its whole buffer and asks for a write event (addWrite) only when the
 * socket was full, and that edge does come.
 *
 * The end of a connection.  hiredis calls the ev.cleanup hook on every way
 * a context ends (connect failure, error, EOF, our own redisAsyncFree()),
 * while onDisconnect is called only for contexts that had connected, so
 * the cleanup hook is the one place that handles it: it deletes the
 * events, frees the nginx connection without closing the fd (hiredis
 * closes it right after, in redisFree(); the connection's fd is set to -1
 * so a stale event for it in the same epoll batch is skipped), forgets the
 * context and schedules the reconnect.  Past that point hiredis frees the
 * context: nothing here touches it again, which is why every handler that
 * calls into hiredis checks afterwards that the context is still ours.
 *
 * Reconnect: a cancelable timer, 50 ms doubling to 5 s, +-25% jitter,
 * reset by a successful connect; none once the worker is exiting.  The
 * first failure after a success is logged at "error", the next ones at
 * "info" until a connect succeeds (then at "notice").
 *
 * Circuit breaker: closed until 5 consecutive failures (error replies, lost
 * commands, timeouts, connect failures and lost connections), then open
 * for 100 ms; then half-open: one command goes through as a probe, the
 * others are refused; the probe's success closes the breaker, its failure
 * (or no answer within 1 s) opens it again for twice as long, up to 10 s.
 * Time is ngx_current_msec; no timer is needed.  Each call's outcome is
 * counted once, even when its request detached before the reply (the reply
 * still tells how Redis is doing) and not again when a call that timed out
 * gets its reply late.  Fire-and-forget writes do not feed the breaker,
 * but are refused while it is not closed, so they add no load to a Redis
 * that is failing.
 *
 * Latency is taken from ngx_current_msec (the event loop's cached time).
 *
 * Nothing here blocks: the address is numeric (resolved at configuration
 * time), hiredis's async connect is non-blocking, and only its async API is
 * used.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_vpt_redis.h"


#define NGX_VPT_REDIS_DEFAULT_PORT     6379

#define NGX_VPT_REDIS_BACKOFF_MIN      50       /* ms */
#define NGX_VPT_REDIS_BACKOFF_MAX      5000

#define NGX_VPT_BREAKER_THRESHOLD      5        /* consecutive failures */
#define NGX_VPT_BREAKER_OPEN_MIN       100      /* ms */
#define NGX_VPT_BREAKER_OPEN_MAX       10000
#define NGX_VPT_BREAKER_PROBE_MAX      1000     /* unanswered probe: failed */

#define NGX_VPT_REDIS_MAX_PENDING      10000    /* commands in flight */
#define NGX_VPT_REDIS_READS_PER_EVENT  64       /* hiredis reads 16k each */
#define NGX_VPT_REDIS_LOG_EVERY        1000     /* ms, fire error logs */


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

    unsigned                   connected:1;
    unsigned                   exiting:1;
} ngx_vpt_redis_worker_t;


static void ngx_vpt_redis_connect(void);
static void ngx_vpt_redis_failed(const char *reason,
    ngx_uint_t was_connected);
static void ngx_vpt_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_vpt_redis_abort_handler(ngx_event_t *ev);
static void ngx_vpt_redis_drop(const char *reason);
static void ngx_vpt_redis_close_connection(ngx_connection_t *c,
    ngx_uint_t fd_open);

static void ngx_vpt_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_vpt_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_vpt_redis_read_handler(ngx_event_t *rev);
static void ngx_vpt_redis_write_handler(ngx_event_t *wev);

static void ngx_vpt_redis_add_read(void *data);
static void ngx_vpt_redis_del_read(void *data);
static void ngx_vpt_redis_add_write(void *data);
static void ngx_vpt_redis_del_write(void *data);
static void ngx_vpt_redis_cleanup(void *data);
static void ngx_vpt_redis_event(redisAsyncContext *ac, ngx_uint_t write,
    ngx_uint_t on);

static ngx_uint_t ngx_vpt_redis_usable(void);
static void ngx_vpt_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_vpt_redis_fire_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static ngx_uint_t ngx_vpt_redis_account(redisReply *reply,
    ngx_msec_t start);

static void ngx_vpt_redis_outcome(ngx_vpt_redis_pcall_t *pc, ngx_uint_t ok);
static ngx_int_t ngx_vpt_redis_breaker_allow(void);
static void ngx_vpt_redis_breaker_tick(void);
static void ngx_vpt_redis_breaker_failure(void);
static void ngx_vpt_redis_breaker_open(const char *why);
static void ngx_vpt_redis_breaker_close(void);


static ngx_vpt_redis_worker_t  ngx_vpt_redis;

static ngx_msec_t  ngx_vpt_redis_latency_bounds[] = {
    NGX_VPT_REDIS_LATENCY_BOUNDS
};

/* the bounds and the bucket count of the header must agree */
typedef char  ngx_vpt_redis_buckets_check[
    (sizeof(ngx_vpt_redis_latency_bounds) / sizeof(ngx_msec_t) + 1
     == NGX_VPT_REDIS_LATENCY_BUCKETS) ? 1 : -1];


char *
ngx_vpt_redis_parse_addr(ngx_conf_t *cf, ngx_str_t *value,
    ngx_vpt_redis_addr_t *addr)
{
    u_char     *p;
    size_t      len;
    ngx_url_t   u;
    u_char      text[NGX_SOCKADDR_STRLEN];

    ngx_memzero(addr, sizeof(ngx_vpt_redis_addr_t));
    addr->name = *value;

    if (value->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty address in vpt_redis");
        return NGX_CONF_ERROR;
    }

    /* blocking name resolution is fine here: configuration time */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *value;
    u.default_port = NGX_VPT_REDIS_DEFAULT_PORT;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in vpt_redis \"%V\"", u.err, value);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0 || u.addrs == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for vpt_redis \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    if (u.addrs[0].socklen > sizeof(addr->sockaddr)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "address too long in vpt_redis \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(&addr->sockaddr, u.addrs[0].sockaddr, u.addrs[0].socklen);
    addr->socklen = u.addrs[0].socklen;

#if (NGX_HAVE_UNIX_DOMAIN)

    if (u.addrs[0].sockaddr->sa_family == AF_UNIX) {

        /* ngx_parse_url() checked the "unix:" prefix and the path */

        len = value->len - (sizeof("unix:") - 1);

        p = ngx_pnalloc(cf->pool, len + 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(p, value->data + sizeof("unix:") - 1, len);
        p[len] = '\0';

        addr->unix_path.data = p;
        addr->unix_path.len = len;

        return NGX_CONF_OK;
    }

#endif

    /*
     * a numeric host, without brackets for IPv6: hiredis passes it to
     * getaddrinfo(), which then never asks DNS
     */

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, text,
                        NGX_SOCKADDR_STRLEN, 0);
    if (len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unsupported address in vpt_redis \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, text, len);
    p[len] = '\0';

    addr->host.data = p;
    addr->host.len = len;
    addr->port = ngx_inet_get_port(u.addrs[0].sockaddr);

    return NGX_CONF_OK;
}


ngx_int_t
ngx_vpt_redis_init_worker(ngx_cycle_t *cycle, ngx_vpt_redis_addr_t *addr)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (addr == NULL || addr->name.len == 0) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (w->ac != NULL || w->reconnect.timer_set) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "vpt redis \"%V\": already initialized", &addr->name);
        return NGX_OK;
    }

    ngx_memzero(w, sizeof(ngx_vpt_redis_worker_t));

    w->addr = addr;
    w->backoff = NGX_VPT_REDIS_BACKOFF_MIN;
    w->breaker = NGX_VPT_BREAKER_CLOSED;
    w->interval = NGX_VPT_BREAKER_OPEN_MIN;
    w->fire_logged = ngx_current_msec - NGX_VPT_REDIS_LOG_EVERY;

    w->reconnect.handler = ngx_vpt_redis_reconnect_handler;
    w->reconnect.data = w;
    w->reconnect.log = cycle->log;
    w->reconnect.cancelable = 1;

    w->abort.handler = ngx_vpt_redis_abort_handler;
    w->abort.data = w;
    w->abort.log = cycle->log;

    ngx_vpt_redis_connect();

    return NGX_OK;
}


void
ngx_vpt_redis_exit_worker(ngx_cycle_t *cycle)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    w->exiting = 1;

    if (w->reconnect.timer_set) {
        ngx_del_timer(&w->reconnect);
    }

    if (w->abort.posted) {
        ngx_delete_posted_event(&w->abort);
    }

    if (w->ac != NULL) {
        /*
         * hiredis frees the calls in flight through our reply callbacks
         * (which skip their handlers now), then calls the cleanup hook,
         * which frees the nginx connection; then it closes the socket
         */
        w->reason = "worker exiting";
        redisAsyncFree(w->ac);
    }

    w->probe = NULL;
}


ngx_vpt_redis_call_t *
ngx_vpt_redis_command(ngx_vpt_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen)
{
    ngx_int_t                rc;
    ngx_vpt_redis_pcall_t   *pc;
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (!ngx_vpt_redis_usable()) {
        w->stats.rejected++;
        return NULL;
    }

    rc = ngx_vpt_redis_breaker_allow();

    if (rc == NGX_DECLINED) {
        w->stats.rejected++;
        return NULL;
    }

    pc = ngx_alloc(sizeof(ngx_vpt_redis_pcall_t), ngx_cycle->log);
    if (pc == NULL) {
        w->stats.rejected++;
        return NULL;
    }

    pc->call.handler = handler;
    pc->call.data = data;
    pc->call.start = ngx_current_msec;
    pc->recorded = 0;

    if (redisAsyncCommandArgv(w->ac, ngx_vpt_redis_reply, pc, argc, argv,
                              argvlen)
        != REDIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "vpt redis \"%V\": cannot queue a command: %s",
                      &w->addr->name,
                      w->ac->c.err ? w->ac->c.errstr : "out of memory");
        ngx_free(pc);
        w->stats.rejected++;
        return NULL;
    }

    w->pending++;
    w->stats.sent++;

    if (rc == NGX_AGAIN) {
        w->probe = pc;
    }

    return &pc->call;
}


ngx_int_t
ngx_vpt_redis_fire(int argc, const char **argv, const size_t *argvlen)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (!ngx_vpt_redis_usable()) {
        w->stats.rejected++;
        return NGX_DECLINED;
    }

    ngx_vpt_redis_breaker_tick();

    if (w->breaker != NGX_VPT_BREAKER_CLOSED) {
        w->stats.rejected++;
        return NGX_DECLINED;
    }

    /* no call record: the send time travels as the callback's data */

    if (redisAsyncCommandArgv(w->ac, ngx_vpt_redis_fire_reply,
                              (void *) (uintptr_t) ngx_current_msec,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "vpt redis \"%V\": cannot queue a command: %s",
                      &w->addr->name,
                      w->ac->c.err ? w->ac->c.errstr : "out of memory");
        w->stats.rejected++;
        return NGX_ERROR;
    }

    w->pending++;
    w->stats.sent++;

    return NGX_OK;
}


void
ngx_vpt_redis_detach(ngx_vpt_redis_call_t *call)
{
    if (call != NULL) {
        call->handler = NULL;
    }
}


void
ngx_vpt_redis_timed_out(ngx_vpt_redis_call_t *call)
{
    if (call == NULL) {
        return;
    }

    call->handler = NULL;

    ngx_vpt_redis.stats.timeouts++;

    /* the call is the first member of its ngx_vpt_redis_pcall_t */
    ngx_vpt_redis_outcome((ngx_vpt_redis_pcall_t *) call, 0);
}


ngx_vpt_breaker_state_e
ngx_vpt_redis_breaker_state(void)
{
    ngx_vpt_redis_breaker_tick();

    return ngx_vpt_redis.breaker;
}


ngx_uint_t
ngx_vpt_redis_connected(void)
{
    return ngx_vpt_redis.connected;
}


void
ngx_vpt_redis_stats(ngx_vpt_redis_stats_t *out)
{
    *out = ngx_vpt_redis.stats;

    out->breaker = ngx_vpt_redis_breaker_state();
    out->pending = ngx_vpt_redis.pending;
    out->connected = ngx_vpt_redis.connected;
}


/* connection */


static void
ngx_vpt_redis_connect(void)
{
    ngx_connection_t        *c;
    redisAsyncContext       *ac;
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->ac != NULL || w->exiting) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                   "vpt redis \"%V\": connecting", &w->addr->name);

    /* non-blocking: the connect is still in progress on return */

    if (w->addr->unix_path.len) {
        ac = redisAsyncConnectUnix((const char *) w->addr->unix_path.data);

    } else {
        ac = redisAsyncConnect((const char *) w->addr->host.data,
                               (int) w->addr->port);
    }

    if (ac == NULL) {
        ngx_vpt_redis_failed("out of memory", 0);
        return;
    }

    if (ac->err) {
        ngx_vpt_redis_failed(ac->errstr, 0);
        redisAsyncFree(ac);
        return;
    }

    c = ngx_get_connection(ac->c.fd, ngx_cycle->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_vpt_redis_failed("no free connection", 0);
        return;
    }

    c->read->handler = ngx_vpt_redis_read_handler;
    c->write->handler = ngx_vpt_redis_write_handler;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    w->ac = ac;
    w->conn = c;
    w->reason = NULL;

    ac->ev.data = ac;
    ac->ev.addRead = ngx_vpt_redis_add_read;
    ac->ev.delRead = ngx_vpt_redis_del_read;
    ac->ev.addWrite = ngx_vpt_redis_add_write;
    ac->ev.delWrite = ngx_vpt_redis_del_write;
    ac->ev.cleanup = ngx_vpt_redis_cleanup;

    redisAsyncSetDisconnectCallback(ac, ngx_vpt_redis_on_disconnect);
    redisAsyncSetConnectCallback(ac, ngx_vpt_redis_on_connect);

    /* the connect completes with the first write event */

    ngx_vpt_redis_event(ac, 1, 1);
}


/* counts and logs a failed connect or a lost connection, then reconnects */

static void
ngx_vpt_redis_failed(const char *reason, ngx_uint_t was_connected)
{
    ngx_uint_t               level;
    ngx_msec_t               delay, b;
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (ngx_exiting || ngx_terminate || w->exiting) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "vpt redis \"%V\": closed: %s", &w->addr->name, reason);
        return;
    }

    level = (w->attempts == 0) ? NGX_LOG_ERR : NGX_LOG_INFO;
    w->attempts++;

    if (was_connected) {
        ngx_log_error(level, ngx_cycle->log, 0,
                      "vpt redis \"%V\": connection lost: %s",
                      &w->addr->name, reason);

    } else {
        ngx_log_error(level, ngx_cycle->log, 0,
                      "vpt redis \"%V\": connect failed: %s "
                      "(%ui failures in a row)",
                      &w->addr->name, reason, w->attempts);
    }

    ngx_vpt_redis_breaker_failure();

    if (w->reconnect.timer_set) {
        return;
    }

    b = w->backoff;
    delay = b - b / 4 + (ngx_msec_t) ngx_random() % (b / 2 + 1);

    w->backoff = ngx_min(b * 2, NGX_VPT_REDIS_BACKOFF_MAX);

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                   "vpt redis \"%V\": reconnect in %M ms",
                   &w->addr->name, delay);

    ngx_add_timer(&w->reconnect, delay);
}


static void
ngx_vpt_redis_reconnect_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ngx_vpt_redis.exiting) {
        return;
    }

    ngx_vpt_redis_connect();
}


/* ngx_add_event() failed inside a hook: free the context from a clean stack */

static void
ngx_vpt_redis_abort_handler(ngx_event_t *ev)
{
    ngx_vpt_redis_drop("cannot register its events");
}


/*
 * Frees the context from our own code (never from a hiredis callback):
 * the calls in flight get a NULL reply, then the cleanup hook runs.
 */

static void
ngx_vpt_redis_drop(const char *reason)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->ac == NULL) {
        return;
    }

    w->reason = reason;
    redisAsyncFree(w->ac);
}


static void
ngx_vpt_redis_close_connection(ngx_connection_t *c, ngx_uint_t fd_open)
{
    ngx_uint_t  flags;

    /* with the fd already closed, the kernel has dropped it from epoll */
    flags = fd_open ? 0 : NGX_CLOSE_EVENT;

    if (c->read->active || c->read->disabled) {
        ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active || c->write->disabled) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);

    /* not closed here: hiredis owns the socket and closes it */
    c->fd = (ngx_socket_t) -1;
}


static void
ngx_vpt_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (status != REDIS_OK || ac != w->ac) {
        /* hiredis frees the context now: the cleanup hook deals with it */
        return;
    }

    w->connected = 1;
    w->backoff = NGX_VPT_REDIS_BACKOFF_MIN;
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
}


static void
ngx_vpt_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    /* called after the cleanup hook, which has done the work */

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                   "vpt redis: disconnected, status %d, err %d",
                   status, ac->c.err);
}


static void
ngx_vpt_redis_read_handler(ngx_event_t *rev)
{
    u_char              byte;
    ssize_t             n;
    ngx_err_t           err;
    ngx_uint_t          i;
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    c = rev->data;
    ac = ngx_vpt_redis.ac;

    if (ac == NULL || c != ngx_vpt_redis.conn) {
        return;
    }

    if (c->close) {
        /* worker_shutdown_timeout: nginx closes every connection */
        ngx_vpt_redis_drop("worker shutting down");
        return;
    }

    for (i = 0; i < NGX_VPT_REDIS_READS_PER_EVENT; i++) {

        redisAsyncHandleRead(ac);

        if (ngx_vpt_redis.ac != ac) {
            /* freed inside: c, rev and ac are no longer ours */
            return;
        }

        if (!(ac->c.flags & REDIS_CONNECTED)) {
            /* still connecting */
            return;
        }

        n = recv(ac->c.fd, &byte, 1, MSG_PEEK|MSG_DONTWAIT);

        if (n == -1) {
            err = ngx_socket_errno;

            if (err == NGX_EAGAIN) {
                return;
            }
        }

        /* data, EOF or an error: hiredis reads it */
    }

    /* a long burst: let other connections run first */

    ngx_post_event(rev, &ngx_posted_next_events);
}


static void
ngx_vpt_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    c = wev->data;
    ac = ngx_vpt_redis.ac;

    if (ac == NULL || c != ngx_vpt_redis.conn) {
        return;
    }

    /* completes the connect, then writes hiredis's buffer once */

    redisAsyncHandleWrite(ac);
}


/* hiredis's event hooks; privdata is the context */

static void
ngx_vpt_redis_add_read(void *data)
{
    ngx_vpt_redis_event(data, 0, 1);
}


static void
ngx_vpt_redis_del_read(void *data)
{
    ngx_vpt_redis_event(data, 0, 0);
}


static void
ngx_vpt_redis_add_write(void *data)
{
    ngx_vpt_redis_event(data, 1, 1);
}


static void
ngx_vpt_redis_del_write(void *data)
{
    ngx_vpt_redis_event(data, 1, 0);
}


static void
ngx_vpt_redis_event(redisAsyncContext *ac, ngx_uint_t write, ngx_uint_t on)
{
    ngx_int_t                rc;
    ngx_uint_t               event;
    ngx_event_t             *ev;
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (ac == NULL || ac != w->ac || w->conn == NULL) {
        return;
    }

    if (write) {
        ev = w->conn->write;
        event = NGX_WRITE_EVENT;

    } else {
        ev = w->conn->read;
        event = NGX_READ_EVENT;
    }

    /* hiredis calls these repeatedly: only changes reach the kernel */

    if (on) {
        if (ev->active) {
            return;
        }

        rc = ngx_add_event(ev, event,
                           (ngx_event_flags & NGX_USE_CLEAR_EVENT)
                           ? NGX_CLEAR_EVENT : NGX_LEVEL_EVENT);

    } else {
        if (!ev->active) {
            return;
        }

        rc = ngx_del_event(ev, event, 0);
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "vpt redis \"%V\": cannot %s the %s event, "
                      "dropping the connection", &w->addr->name,
                      on ? "add" : "delete", write ? "write" : "read");

        /* we may be deep inside hiredis here: free the context later */

        if (!w->abort.posted) {
            ngx_post_event(&w->abort, &ngx_posted_events);
        }
    }
}


/*
 * The context is going away (connect failure, error, EOF or our own
 * redisAsyncFree()); hiredis may call this twice, and frees the context
 * and closes its socket soon after.
 */

static void
ngx_vpt_redis_cleanup(void *data)
{
    redisAsyncContext       *ac;
    ngx_connection_t        *c;
    ngx_uint_t               was_connected;
    ngx_vpt_redis_worker_t  *w;

    ac = data;
    w = &ngx_vpt_redis;

    if (ac == NULL) {
        return;
    }

    /* no hook may run for this context any more */

    ac->ev.data = NULL;
    ac->ev.addRead = NULL;
    ac->ev.delRead = NULL;
    ac->ev.addWrite = NULL;
    ac->ev.delWrite = NULL;
    ac->ev.cleanup = NULL;

    if (ac != w->ac) {
        return;
    }

    c = w->conn;
    was_connected = w->connected;

    w->ac = NULL;
    w->conn = NULL;
    w->connected = 0;

    if (c != NULL) {
        ngx_vpt_redis_close_connection(c, ac->c.fd == c->fd);
    }

    if (w->abort.posted) {
        ngx_delete_posted_event(&w->abort);
    }

    ngx_vpt_redis_failed(ac->c.err ? ac->c.errstr
                         : (w->reason ? w->reason : "closed"),
                         was_connected);

    w->reason = NULL;
}


/* replies */


static ngx_uint_t
ngx_vpt_redis_usable(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    return w->ac != NULL
           && w->connected
           && !w->exiting
           && !(w->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING))
           && w->pending < NGX_VPT_REDIS_MAX_PENDING;
}


static void
ngx_vpt_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply              *reply;
    ngx_uint_t               ok;
    ngx_vpt_redis_pcall_t   *pc;
    ngx_vpt_redis_worker_t  *w;

    reply = r;
    pc = privdata;
    w = &ngx_vpt_redis;

    w->pending--;

    ok = ngx_vpt_redis_account(reply, pc->call.start);

    if (!w->exiting) {
        ngx_vpt_redis_outcome(pc, ok);

        if (pc->call.handler != NULL) {
            pc->call.handler(&pc->call, reply);
        }
    }

    if (w->probe == pc) {
        w->probe = NULL;
    }

    ngx_free(pc);
}


static void
ngx_vpt_redis_fire_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply              *reply;
    ngx_vpt_redis_worker_t  *w;

    reply = r;
    w = &ngx_vpt_redis;

    w->pending--;

    if (ngx_vpt_redis_account(reply, (ngx_msec_t) (uintptr_t) privdata)
        || reply == NULL || w->exiting)
    {
        /* a lost command goes with a lost connection, logged already */
        return;
    }

    w->fire_errors++;

    if (ngx_current_msec - w->fire_logged < NGX_VPT_REDIS_LOG_EVERY) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "vpt redis \"%V\": write failed: \"%*s\" "
                  "(%ui failures since the last message)",
                  &w->addr->name, (size_t) reply->len, reply->str,
                  w->fire_errors);

    w->fire_logged = ngx_current_msec;
    w->fire_errors = 0;
}


/* counts a reply (NULL: lost); returns 1 for success */

static ngx_uint_t
ngx_vpt_redis_account(redisReply *reply, ngx_msec_t start)
{
    ngx_uint_t               i;
    ngx_msec_t               ms;
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (reply == NULL) {
        w->stats.errors++;
        return 0;
    }

    w->stats.replies++;

    ms = ngx_current_msec - start;

    for (i = 0; i < NGX_VPT_REDIS_LATENCY_BUCKETS - 1; i++) {
        if (ms <= ngx_vpt_redis_latency_bounds[i]) {
            break;
        }
    }

    w->stats.latency[i]++;
    w->stats.latency_sum += ms;

    if (reply->type == REDIS_REPLY_ERROR) {
        w->stats.errors++;
        return 0;
    }

    return 1;
}


/* circuit breaker */


/* a call's outcome, counted once per call */

static void
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

static ngx_int_t
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

static void
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
        /* its request detached and Redis never answered */

        w->probe->recorded = 1;
        w->probe = NULL;

        w->interval = ngx_min(w->interval * 2, NGX_VPT_BREAKER_OPEN_MAX);
        ngx_vpt_redis_breaker_open("the probe was not answered");
    }
}


static void
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
