
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * hiredis's async client on nginx's event loop, in five files, each
 * calling only those below it:
 *
 *   ngx_vpt_redis.c          the address, a worker's start and end,
 *                            commands and their replies
 *   ngx_vpt_redis_adapter.c  hiredis's socket as an nginx connection:
 *                            its events, draining, the end of a
 *                            connection, reconnect
 *   ngx_vpt_redis_link.c     a link's health: the PING that makes it
 *                            connected, keepalive, a dead link dropped
 *   ngx_vpt_redis_breaker.c  the circuit breaker and the counters
 *   ngx_vpt_redis_arena.c    the connection's reply objects, from one
 *                            buffer instead of malloc()
 *
 * One connection per worker, its state in one struct, ngx_vpt_redis
 * (ngx_vpt_redis_int.h).
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

#include "ngx_vpt_redis_int.h"


#define NGX_VPT_REDIS_DEFAULT_PORT     6379
#define NGX_VPT_REDIS_MAX_PENDING      10000    /* commands in flight */
#define NGX_VPT_REDIS_LOG_EVERY        1000     /* ms, fire error logs */
#define NGX_VPT_REDIS_CMD_STACK        512      /* bytes, a command */
#define NGX_VPT_REDIS_SPARE_CALLS      64       /* kept for reuse */


static char *ngx_vpt_redis_peers(ngx_conf_t *cf, ngx_url_t *u,
    ngx_vpt_redis_addr_t *addr);
static ngx_uint_t ngx_vpt_redis_usable(void);
static ngx_int_t ngx_vpt_redis_send(redisCallbackFn *fn, void *privdata,
    int argc, const char **argv, const size_t *argvlen);
static u_char *ngx_vpt_redis_number(u_char *p, size_t n);
static void ngx_vpt_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_vpt_redis_fire_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static ngx_vpt_redis_pcall_t *ngx_vpt_redis_call_alloc(void);
static void ngx_vpt_redis_call_free(ngx_vpt_redis_pcall_t *pc);


ngx_vpt_redis_worker_t  ngx_vpt_redis;

/*
 * calls are freed here to be reused: a malloc() and a free() per command
 * were a tenth of what sending it cost
 */
static ngx_vpt_redis_pcall_t  *ngx_vpt_redis_spare[NGX_VPT_REDIS_SPARE_CALLS];
static ngx_uint_t              ngx_vpt_redis_nspare;


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

    return ngx_vpt_redis_peers(cf, &u, addr);
}


/*
 * Every address the name had at configuration time, numeric: a worker
 * tries the next one after each failed or lost connection, without
 * asking DNS (hiredis's getaddrinfo() would block the worker).
 */

static char *
ngx_vpt_redis_peers(ngx_conf_t *cf, ngx_url_t *u, ngx_vpt_redis_addr_t *addr)
{
    u_char                *p;
    size_t                 len;
    ngx_uint_t             i, n;
    ngx_vpt_redis_peer_t  *peer;
    u_char                 text[NGX_SOCKADDR_STRLEN];

    addr->peers = ngx_pcalloc(cf->pool,
                              u->naddrs * sizeof(ngx_vpt_redis_peer_t));
    if (addr->peers == NULL) {
        return NGX_CONF_ERROR;
    }

    n = 0;

    for (i = 0; i < u->naddrs; i++) {
        len = ngx_sock_ntop(u->addrs[i].sockaddr, u->addrs[i].socklen, text,
                            NGX_SOCKADDR_STRLEN, 0);
        if (len == 0) {
            continue;
        }

        p = ngx_pnalloc(cf->pool, len + 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(p, text, len);
        p[len] = '\0';

        peer = &addr->peers[n++];
        peer->host.data = p;
        peer->host.len = len;
        peer->port = ngx_inet_get_port(u->addrs[i].sockaddr);
    }

    addr->npeers = n;

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

    w->connect_timer.handler = ngx_vpt_redis_connect_timeout_handler;
    w->connect_timer.data = w;
    w->connect_timer.log = cycle->log;
    w->connect_timer.cancelable = 1;

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

    if (w->connect_timer.timer_set) {
        ngx_del_timer(&w->connect_timer);
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

    while (ngx_vpt_redis_nspare) {
        ngx_free(ngx_vpt_redis_spare[--ngx_vpt_redis_nspare]);
    }
}


ngx_vpt_redis_call_t *
ngx_vpt_redis_command(ngx_vpt_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen)
{
    ngx_int_t                rc;
    ngx_vpt_redis_pcall_t   *pc;
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    ngx_vpt_redis_check_link();

    if (!ngx_vpt_redis_usable()) {
        w->stats.rejected++;
        return NULL;
    }

    rc = ngx_vpt_redis_breaker_allow();

    if (rc == NGX_DECLINED) {
        w->stats.rejected++;
        return NULL;
    }

    pc = ngx_vpt_redis_call_alloc();
    if (pc == NULL) {
        w->stats.rejected++;
        return NULL;
    }

    pc->call.handler = handler;
    pc->call.data = data;
    pc->call.start = ngx_current_msec;
    pc->recorded = 0;

    if (ngx_vpt_redis_send(ngx_vpt_redis_reply, pc, argc, argv, argvlen)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "vpt redis \"%V\": cannot queue a command: %s",
                      &w->addr->name,
                      w->ac->c.err ? w->ac->c.errstr : "out of memory");
        ngx_vpt_redis_call_free(pc);
        w->stats.rejected++;
        return NULL;
    }

    if (w->pending++ == 0) {
        w->waiting = ngx_current_msec;
    }

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

    ngx_vpt_redis_check_link();

    if (!ngx_vpt_redis_usable()) {
        w->stats.rejected++;
        return NGX_DECLINED;
    }

    ngx_vpt_redis_breaker_tick();

    if (w->breaker != NGX_VPT_BREAKER_CLOSED) {
        w->stats.rejected++;
        return NGX_DECLINED;
    }

    /* no call record: the reply is only counted */

    if (ngx_vpt_redis_send(ngx_vpt_redis_fire_reply, NULL, argc, argv,
                           argvlen)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "vpt redis \"%V\": cannot queue a command: %s",
                      &w->addr->name,
                      w->ac->c.err ? w->ac->c.errstr : "out of memory");
        w->stats.rejected++;
        return NGX_ERROR;
    }

    if (w->pending++ == 0) {
        w->waiting = ngx_current_msec;
    }

    w->stats.sent++;

    return NGX_OK;
}


/*
 * Queues a command in Redis's protocol (RESP), written here instead of by
 * redisAsyncCommandArgv(): hiredis's formatter builds it in an sds string
 * with sdscatfmt(), a few reallocations and a format parse per argument,
 * about two thirds of what queueing a command cost (~2,400 of ~3,500
 * instructions).  The same bytes: "*<argc>\r\n", then
 * "$<length>\r\n<argument>\r\n" for each argument.  A command fits on
 * the stack unless its arguments are long; hiredis copies it into its
 * output buffer.
 */

static ngx_int_t
ngx_vpt_redis_send(redisCallbackFn *fn, void *privdata, int argc,
    const char **argv, const size_t *argvlen)
{
    int       i, rc;
    size_t    len;
    u_char   *buf, *p;
    u_char    stack[NGX_VPT_REDIS_CMD_STACK];

    if (argc <= 0) {
        return NGX_ERROR;
    }

    /* the digits of a length at their longest; and a NUL */

    len = sizeof("*\r\n") - 1 + NGX_SIZE_T_LEN + 1;

    for (i = 0; i < argc; i++) {
        len += sizeof("$\r\n\r\n") - 1 + NGX_SIZE_T_LEN + argvlen[i];
    }

    if (len <= sizeof(stack)) {
        buf = stack;

    } else {
        buf = ngx_alloc(len, ngx_cycle->log);
        if (buf == NULL) {
            return NGX_ERROR;
        }
    }

    p = buf;

    *p++ = '*';
    p = ngx_vpt_redis_number(p, (size_t) argc);
    *p++ = CR; *p++ = LF;

    for (i = 0; i < argc; i++) {
        *p++ = '$';
        p = ngx_vpt_redis_number(p, argvlen[i]);
        *p++ = CR; *p++ = LF;
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = CR; *p++ = LF;
    }

    /*
     * not sent: hiredis, looking for the command's name, reads the byte
     * after the first argument, past the end of a one-argument command
     */
    *p = '\0';

    rc = redisAsyncFormattedCommand(ngx_vpt_redis.ac, fn, privdata,
                                    (const char *) buf, p - buf);

    if (buf != stack) {
        ngx_free(buf);
    }

    return (rc == REDIS_OK) ? NGX_OK : NGX_ERROR;
}


/* decimal digits, no sign; most are one or two (argc, short arguments) */

static u_char *
ngx_vpt_redis_number(u_char *p, size_t n)
{
    u_char  *d, digits[NGX_SIZE_T_LEN];

    if (n < 10) {
        *p++ = (u_char) ('0' + n);
        return p;
    }

    if (n < 100) {
        *p++ = (u_char) ('0' + n / 10);
        *p++ = (u_char) ('0' + n % 10);
        return p;
    }

    d = digits + NGX_SIZE_T_LEN;

    do {
        *--d = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    while (d < digits + NGX_SIZE_T_LEN) {
        *p++ = *d++;
    }

    return p;
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
    ngx_vpt_redis_worker_t  *w;

    if (call == NULL) {
        return;
    }

    w = &ngx_vpt_redis;

    call->handler = NULL;

    w->stats.timeouts++;

    /* the call is the first member of its ngx_vpt_redis_pcall_t */
    ngx_vpt_redis_outcome((ngx_vpt_redis_pcall_t *) call, 0);

    w->silent++;

    ngx_vpt_redis_check_link();
}


ngx_uint_t
ngx_vpt_redis_connected(void)
{
    return ngx_vpt_redis.connected;
}


ngx_uint_t
ngx_vpt_redis_errors(void)
{
    return ngx_vpt_redis.stats.errors;
}

/* replies */


static ngx_uint_t
ngx_vpt_redis_usable(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    return w->ac != NULL
           && w->up
           && !w->abort.posted
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

    ok = ngx_vpt_redis_account(reply);

    if (reply != NULL) {
        w->silent = 0;
        w->waiting = ngx_current_msec;
    }

    if (!w->exiting) {
        ngx_vpt_redis_outcome(pc, ok);

        if (pc->call.handler != NULL) {
            pc->call.handler(&pc->call, reply);
        }
    }

    if (w->probe == pc) {
        w->probe = NULL;
    }

    ngx_vpt_redis_call_free(pc);
}


static ngx_vpt_redis_pcall_t *
ngx_vpt_redis_call_alloc(void)
{
    if (ngx_vpt_redis_nspare) {
        return ngx_vpt_redis_spare[--ngx_vpt_redis_nspare];
    }

    return ngx_alloc(sizeof(ngx_vpt_redis_pcall_t), ngx_cycle->log);
}


static void
ngx_vpt_redis_call_free(ngx_vpt_redis_pcall_t *pc)
{
    if (ngx_vpt_redis_nspare < NGX_VPT_REDIS_SPARE_CALLS
        && !ngx_vpt_redis.exiting)
    {
        ngx_vpt_redis_spare[ngx_vpt_redis_nspare++] = pc;
        return;
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

    if (reply != NULL) {
        w->silent = 0;
        w->waiting = ngx_current_msec;
    }

    if (ngx_vpt_redis_account(reply) || reply == NULL || w->exiting)
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
