
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * hiredis's socket on nginx's event loop.
 *
 * The socket that hiredis opens is wrapped in an nginx connection
 * (ngx_get_connection); hiredis's addRead/delRead/addWrite/delWrite hooks
 * tell what it wants, and how they map to events depends on the event
 * method.
 *
 * epoll ("level" mode, w->level): the socket is registered once for
 * reading, level-triggered (not with EPOLLET, which nginx uses for its
 * own connections), and stays so until the connection ends; writing needs
 * no registration in the common case.  Per command nothing reaches the
 * kernel but the write() that sends it, shared with the other commands
 * of the same event-loop iteration.
 *
 *   Reading.  redisAsyncHandleRead() does a single read() of at most 16k.
 *   The read event being level-triggered, whatever that read left in the
 *   socket (a longer burst, an EOF or error that came right behind the
 *   data) is reported again by the next epoll_wait(): nothing is ever
 *   left unread, and no extra syscall is needed to find that out (an
 *   edge-triggered socket would need one after every read, a peek or a
 *   read until EAGAIN, since nothing else says the read drained it: the
 *   bytes hiredis read are not visible from outside).  A long burst is
 *   thereby read 16k per event-loop iteration, other connections running
 *   in between.
 *
 *   Writing.  The write event is "ready" (wev->ready, kept by this file)
 *   while the socket is believed to take more data.  hiredis calls
 *   addWrite for every command it queues; then, if the write event is
 *   ready, it is posted (ngx_posted_events, run at the end of the current
 *   event-loop iteration), so all the commands queued in one iteration, by
 *   any number of requests, go out in one write().  If that write leaves
 *   data behind (the socket is full; hiredis keeps the rest in its output
 *   buffer), the event is no longer ready and is registered,
 *   level-triggered, until the buffer is empty again: a partial write
 *   always means a wait for the socket to drain, never a busy loop.
 *   delWrite does nothing: the write handler itself sees that the buffer
 *   is empty.  The connect, too, completes with the write event, which is
 *   registered from the start until then.
 *
 * The other event methods (kqueue, poll, ...: "generic" mode, as it
 * always was; Debian's nginx has epoll only): every hook maps straight to
 * ngx_add_event/ngx_del_event, edge-triggered where the method is
 * (NGX_CLEAR_EVENT), level otherwise.  Under edge-triggered events the
 * read handler drains: after each hiredis read it peeks one byte with
 * recv(MSG_PEEK|MSG_DONTWAIT) and calls hiredis again unless the peek
 * says EAGAIN.  The peek also sees a pending EOF (0) or socket error
 * (-1), which hiredis then reads and turns into a disconnect, so a FIN
 * that came with the last data is not lost either.  After 64 rounds (1M)
 * the handler yields: its event is posted to the next loop iteration so
 * other connections run.  hiredis writes its whole buffer and asks for a
 * write event only when the socket was full, and that edge does come.
 *
 * The end of a connection.  hiredis calls the ev.cleanup hook on every way
 * a context ends (connect failure, error, EOF, our own redisAsyncFree()),
 * while onDisconnect is called only for contexts that had connected, so
 * the cleanup hook is the one place that handles it: it deletes the
 * events (and a posted write), frees the nginx connection without closing
 * the fd (hiredis closes it right after, in redisFree(); the connection's
 * fd is set to -1 so a stale event for it in the same epoll batch is
 * skipped), forgets the context and schedules the reconnect.  Past that
 * point hiredis frees the context: nothing here touches it again, which
 * is why every handler that calls into hiredis checks afterwards that the
 * context is still ours.
 *
 * A link's health (the PING that makes it connected, its timeouts,
 * keepalive): ngx_vpt_redis_link.c.
 *
 * Reconnect: a cancelable timer, 50 ms doubling to 5 s, +-25% jitter,
 * reset when a new link answers its PING (not at the TCP connect: a link
 * dropped as mute comes back no faster than a refused one); none once the
 * worker is exiting.  Each failure moves to the next address the name had
 * at configuration time.  The first failure after a success is logged at
 * "error", the next ones at "info" until a link answers (then at
 * "notice").
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_vpt_redis_int.h"
#include "ngx_vpt_redis_conn.h"
#include "ngx_vpt_redis_topology.h"


#define NGX_VPT_REDIS_BACKOFF_MAX      5000     /* ms */
#define NGX_VPT_REDIS_READS_PER_EVENT  64       /* hiredis reads 16k each */


static void ngx_vpt_redis_failed(const char *reason,
    ngx_uint_t was_connected);
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


/* connection */


void
ngx_vpt_redis_connect(void)
{
    ngx_connection_t        *c;
    redisAsyncContext       *ac;
    ngx_vpt_redis_peer_t    *peer;
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->ac != NULL || w->exiting) {
        return;
    }

    if (w->addr->unix_path.len == 0 && w->addr->npeers == 0) {
        /* Sentinel has not named the master yet */
        return;
    }

    /* non-blocking: the connect is still in progress on return */

    if (w->addr->unix_path.len) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                       "vpt redis \"%V\": connecting", &w->addr->name);

        ac = redisAsyncConnectUnix((const char *) w->addr->unix_path.data);

    } else {
        peer = &w->addr->peers[w->peer % w->addr->npeers];

        ngx_log_debug3(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                       "vpt redis \"%V\": connecting to %V:%d",
                       &w->addr->name, &peer->host, (int) peer->port);

        ac = redisAsyncConnect((const char *) peer->host.data,
                               (int) peer->port);
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

    ngx_vpt_redis_arena_use(ac);

    c->read->handler = ngx_vpt_redis_read_handler;
    c->write->handler = ngx_vpt_redis_write_handler;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    w->ac = ac;
    w->conn = c;
    w->reason = NULL;
    w->level = (ngx_event_flags & NGX_USE_EPOLL_EVENT) ? 1 : 0;

    ac->ev.data = ac;
    ac->ev.addRead = ngx_vpt_redis_add_read;
    ac->ev.delRead = ngx_vpt_redis_del_read;
    ac->ev.addWrite = ngx_vpt_redis_add_write;
    ac->ev.delWrite = ngx_vpt_redis_del_write;
    ac->ev.cleanup = ngx_vpt_redis_cleanup;

    redisAsyncSetDisconnectCallback(ac, ngx_vpt_redis_on_disconnect);
    redisAsyncSetConnectCallback(ac, ngx_vpt_redis_on_connect);

    ngx_vpt_redis_link_start(ac);

    /* the connect completes with the first write event */

    ngx_vpt_redis_event(ac, 1, 1);

    if (w->level) {
        /* registered once, for the life of the connection */
        ngx_vpt_redis_event(ac, 0, 1);
    }
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

    /* the next address the name had, if it had several */
    w->peer++;

    ngx_vpt_redis_topology_lost();

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


void
ngx_vpt_redis_reconnect_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ngx_vpt_redis.exiting) {
        return;
    }

    ngx_vpt_redis_connect();
}


/* the link must go (ngx_vpt_redis_abort()): from a clean stack */

void
ngx_vpt_redis_abort_handler(ngx_event_t *ev)
{
    ngx_vpt_redis_drop(ngx_vpt_redis.abort_reason);
}


/*
 * Frees the context from our own code (never from a hiredis callback):
 * the calls in flight get a NULL reply, then the cleanup hook runs.
 */

/* Sentinel named another master: go there now, not after a backoff */

void
ngx_vpt_redis_retarget(void)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (w->exiting) {
        return;
    }

    ngx_vpt_redis_drop("the master moved");

    if (w->reconnect.timer_set) {
        ngx_del_timer(&w->reconnect);
    }

    w->backoff = NGX_VPT_REDIS_BACKOFF_MIN;
    w->attempts = 0;
    w->peer = 0;

    ngx_vpt_redis_connect();
}


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


/* TCP is up: commands may go, behind the PING that tells it works */

static void
ngx_vpt_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (status != REDIS_OK || ac != w->ac) {
        /* hiredis frees the context now: the cleanup hook deals with it */
        return;
    }

    /* AUTH and SELECT before the PING and any request's command */
    ngx_vpt_redis_topology_greet(w->ac);

    w->up = 1;

    ngx_vpt_redis_link_hello();
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

    if (ngx_vpt_redis.level) {
        /* level-triggered: what this read leaves is reported again */
        redisAsyncHandleRead(ac);
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

    if (!ngx_vpt_redis.level) {
        /* completes the connect, then writes hiredis's buffer once */
        redisAsyncHandleWrite(ac);
        return;
    }

    if (ngx_vpt_rconn_write_obuf(ac) != NGX_OK) {

        /* not ready while hiredis writes: addWrite must not post us */
        wev->ready = 0;

        /* completes the connect, then writes hiredis's buffer once */

        redisAsyncHandleWrite(ac);

        if (ngx_vpt_redis.ac != ac) {
            /* freed inside: c, wev and ac are no longer ours */
            return;
        }

        if (!(ac->c.flags & REDIS_CONNECTED)) {
            /* still connecting: the write event stays registered */
            return;
        }
    }

    if (sdslen(ac->c.obuf) == 0) {
        /* all sent: the socket takes more, no event needed for that */

        wev->ready = 1;

        if (wev->active) {
            ngx_vpt_redis_event(ac, 1, 0);
        }

        return;
    }

    /*
     * A partial write (or none, EAGAIN): the socket is full, hiredis keeps
     * the rest.  Wait for the socket to drain: the write event,
     * level-triggered, stays registered until the buffer is empty.
     */

    if (!wev->active) {
        ngx_vpt_redis_event(ac, 1, 1);
    }
}


/* hiredis's event hooks; privdata is the context */

static void
ngx_vpt_redis_add_read(void *data)
{
    if (!ngx_vpt_redis.level) {
        ngx_vpt_redis_event(data, 0, 1);
    }

    /* level mode: registered from the connect on */
}


static void
ngx_vpt_redis_del_read(void *data)
{
    if (!ngx_vpt_redis.level) {
        ngx_vpt_redis_event(data, 0, 0);
    }

    /* level mode: hiredis reads only when called, and always reads */
}


/* called for each command queued, and after a write that left data */

static void
ngx_vpt_redis_add_write(void *data)
{
    ngx_event_t             *wev;
    ngx_vpt_redis_worker_t  *w;

    w = &ngx_vpt_redis;

    if (!w->level) {
        ngx_vpt_redis_event(data, 1, 1);
        return;
    }

    if (data == NULL || data != w->ac || w->conn == NULL) {
        return;
    }

    wev = w->conn->write;

    /*
     * Not ready: the write handler is running, or the write event is
     * registered (connecting, or waiting for the socket to drain); either
     * way the new command goes out with the rest.
     */

    if (wev->ready && !wev->posted) {
        /* the end of this event-loop iteration: one write for all */
        ngx_post_event(wev, &ngx_posted_events);
    }
}


static void
ngx_vpt_redis_del_write(void *data)
{
    if (!ngx_vpt_redis.level) {
        ngx_vpt_redis_event(data, 1, 0);
    }

    /* level mode: the write handler sees the empty buffer itself */
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
                           (!w->level
                            && (ngx_event_flags & NGX_USE_CLEAR_EVENT))
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
        ngx_vpt_redis_abort("cannot register its events");
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
    w->up = 0;
    w->connected = 0;

    if (c != NULL) {
        ngx_vpt_redis_close_connection(c, ac->c.fd == c->fd);
    }

    if (w->abort.posted) {
        ngx_delete_posted_event(&w->abort);
    }

    if (w->connect_timer.timer_set) {
        ngx_del_timer(&w->connect_timer);
    }

    ngx_vpt_redis_failed(ac->c.err ? ac->c.errstr
                         : (w->reason ? w->reason : "closed"),
                         was_connected);

    w->reason = NULL;
}
