
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * hiredis's async client on nginx's events for the connections that are
 * not the single server's (see ngx_vpt_redis_conn.h).  Level-triggered
 * both ways: the read event is registered from the start for the
 * connection's life (hiredis reads 16k a call; what is left is reported
 * again), the write event while hiredis has something to send (its
 * addWrite/delWrite), so nothing is ever left unread or unsent and no
 * peek is needed.  The cleanup hook, called on every way a context ends,
 * frees the nginx connection without closing the fd (hiredis does).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_vpt_redis_conn.h"


static void ngx_vpt_rconn_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_vpt_rconn_read(ngx_event_t *ev);
static void ngx_vpt_rconn_write(ngx_event_t *ev);
static void ngx_vpt_rconn_event(ngx_vpt_rconn_t *rc, ngx_uint_t write,
    ngx_uint_t on);
static void ngx_vpt_rconn_add_read(void *data);
static void ngx_vpt_rconn_del_read(void *data);
static void ngx_vpt_rconn_add_write(void *data);
static void ngx_vpt_rconn_del_write(void *data);
static void ngx_vpt_rconn_cleanup(void *data);


ngx_int_t
ngx_vpt_rconn_open(ngx_vpt_rconn_t *rc, const char *host, int port)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    if (rc->ac != NULL) {
        return NGX_OK;
    }

    ac = redisAsyncConnect(host, port);

    if (ac == NULL) {
        return NGX_ERROR;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "vpt redis %V: connect failed: %s", &rc->name,
                      ac->errstr);
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, ngx_cycle->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c->data = rc;
    c->read->handler = ngx_vpt_rconn_read;
    c->write->handler = ngx_vpt_rconn_write;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    rc->ac = ac;
    rc->conn = c;
    rc->up = 0;

    ac->data = rc;
    ac->ev.data = rc;
    ac->ev.addRead = ngx_vpt_rconn_add_read;
    ac->ev.delRead = ngx_vpt_rconn_del_read;
    ac->ev.addWrite = ngx_vpt_rconn_add_write;
    ac->ev.delWrite = ngx_vpt_rconn_del_write;
    ac->ev.cleanup = ngx_vpt_rconn_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_vpt_rconn_on_connect);

    /* the connect completes with the first write event */
    ngx_vpt_rconn_event(rc, 1, 1);
    ngx_vpt_rconn_event(rc, 0, 1);

    return NGX_OK;
}


void
ngx_vpt_rconn_close(ngx_vpt_rconn_t *rc)
{
    if (rc->ac != NULL) {
        redisAsyncFree(rc->ac);
    }
}


static void
ngx_vpt_rconn_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_vpt_rconn_t  *rc;

    rc = ac->data;

    if (rc == NULL || rc->ac != ac) {
        return;
    }

    if (status == REDIS_OK) {
        rc->up = 1;
    }

    if (rc->connected) {
        rc->connected(rc, status == REDIS_OK);
    }
}


static void
ngx_vpt_rconn_read(ngx_event_t *ev)
{
    ngx_connection_t  *c;
    ngx_vpt_rconn_t   *rc;

    c = ev->data;
    rc = c->data;

    if (rc == NULL || rc->ac == NULL || rc->conn != c) {
        return;
    }

    redisAsyncHandleRead(rc->ac);
}


static void
ngx_vpt_rconn_write(ngx_event_t *ev)
{
    ngx_connection_t  *c;
    ngx_vpt_rconn_t   *rc;

    c = ev->data;
    rc = c->data;

    if (rc == NULL || rc->ac == NULL || rc->conn != c) {
        return;
    }

    if (ngx_vpt_rconn_write_obuf(rc->ac) == NGX_OK) {
        if (sdslen(rc->ac->c.obuf) == 0) {
            /* all sent: as hiredis's delWrite after its own write */
            ngx_vpt_rconn_event(rc, 1, 0);
        }

        /* else the socket is full: the write event stays registered */
        return;
    }

    redisAsyncHandleWrite(rc->ac);
}


/*
 * Both adapters' writes, once connected: hiredis's output buffer written
 * as its redisBufferWrite() writes it, but emptied in place (sdsclear)
 * where hiredis frees it and allocates an empty one, which the next
 * command then grows again: that free(), malloc() and realloc() were some
 * 1,000 instructions a lookup.  A buffer grown past NGX_VPT_RCONN_OBUF_KEEP
 * by a burst is left to hiredis, which frees it once written, so what is
 * kept stays small.  NGX_OK: written, all or what the socket took (the
 * rest stays in the buffer), or nothing to write; NGX_DECLINED: hiredis's
 * turn (connecting, an error, which its own write then meets and turns
 * into a disconnect).
 */

ngx_int_t
ngx_vpt_rconn_write_obuf(redisAsyncContext *ac)
{
    sds        obuf;
    size_t     len;
    ssize_t    n;
    ngx_err_t  err;

    obuf = ac->c.obuf;

    if (!(ac->c.flags & REDIS_CONNECTED) || ac->c.err
        || sdsalloc(obuf) > NGX_VPT_RCONN_OBUF_KEEP)
    {
        return NGX_DECLINED;
    }

    len = sdslen(obuf);

    if (len == 0) {
        return NGX_OK;
    }

    n = write(ac->c.fd, obuf, len);

    if (n == -1) {
        err = ngx_socket_errno;

        return (err == NGX_EAGAIN || err == NGX_EINTR)
               ? NGX_OK : NGX_DECLINED;
    }

    if ((size_t) n == len) {
        sdsclear(obuf);

    } else {
        sdsrange(obuf, (int) n, -1);
    }

    return NGX_OK;
}


static void
ngx_vpt_rconn_event(ngx_vpt_rconn_t *rc, ngx_uint_t write, ngx_uint_t on)
{
    ngx_event_t  *ev;

    if (rc == NULL || rc->conn == NULL) {
        return;
    }

    ev = write ? rc->conn->write : rc->conn->read;

    if (on && !ev->active) {
        if (ngx_add_event(ev, write ? NGX_WRITE_EVENT : NGX_READ_EVENT,
                          NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "vpt redis %V: cannot add an event", &rc->name);
        }

    } else if (!on && ev->active) {
        (void) ngx_del_event(ev, write ? NGX_WRITE_EVENT : NGX_READ_EVENT,
                             0);
    }
}


static void
ngx_vpt_rconn_add_read(void *data)
{
    ngx_vpt_rconn_event(data, 0, 1);
}


static void
ngx_vpt_rconn_del_read(void *data)
{
    /* registered for the connection's life */
}


static void
ngx_vpt_rconn_add_write(void *data)
{
    ngx_vpt_rconn_event(data, 1, 1);
}


static void
ngx_vpt_rconn_del_write(void *data)
{
    ngx_vpt_rconn_event(data, 1, 0);
}


static void
ngx_vpt_rconn_cleanup(void *data)
{
    ngx_uint_t          up, flags;
    ngx_connection_t   *c;
    redisAsyncContext  *ac;
    ngx_vpt_rconn_t    *rc = data;

    if (rc == NULL || rc->ac == NULL) {
        return;
    }

    ac = rc->ac;

    ac->ev.data = NULL;
    ac->ev.addRead = NULL;
    ac->ev.delRead = NULL;
    ac->ev.addWrite = NULL;
    ac->ev.delWrite = NULL;
    ac->ev.cleanup = NULL;
    ac->data = NULL;

    c = rc->conn;
    up = rc->up;

    rc->ac = NULL;
    rc->conn = NULL;
    rc->up = 0;

    if (c != NULL) {
        flags = (ac->c.fd == c->fd) ? 0 : NGX_CLOSE_EVENT;

        if (c->read->active) {
            ngx_del_event(c->read, NGX_READ_EVENT, flags);
        }

        if (c->write->active) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
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

        /* hiredis closes the socket */
        c->fd = (ngx_socket_t) -1;
    }

    if (rc->closed) {
        rc->closed(rc, up);
    }
}
