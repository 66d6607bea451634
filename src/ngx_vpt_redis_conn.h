
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * A Redis connection besides the single server's (ngx_vpt_redis_adapter.c
 * keeps that one, tuned for one busy link): a cluster node's, a
 * sentinel's.  hiredis's async client on nginx's events, level-triggered
 * both ways; closed only from our own code (a timer, a posted event, a
 * request), never from inside hiredis.  The owner embeds the struct and
 * is told when the TCP connect completed and when the connection ended
 * (every way: connect failure, error, EOF, ngx_vpt_rconn_close()); the
 * calls in flight get a NULL reply first.
 */

#ifndef NGX_VPT_REDIS_CONN_H
#define NGX_VPT_REDIS_CONN_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>


typedef struct ngx_vpt_rconn_s  ngx_vpt_rconn_t;

typedef void (*ngx_vpt_rconn_pt)(ngx_vpt_rconn_t *rc, ngx_uint_t ok);

struct ngx_vpt_rconn_s {
    redisAsyncContext         *ac;          /* NULL: none */
    ngx_connection_t          *conn;
    ngx_str_t                  name;        /* "host:port", for logs */
    ngx_vpt_rconn_pt           connected;   /* TCP up (ok 1) or failed */
    ngx_vpt_rconn_pt           closed;      /* ok: 1 if it had connected */
    void                      *data;
    unsigned                   up:1;        /* TCP connect completed */
};


/* non-blocking; host numeric, NUL-terminated; NGX_ERROR: not started */
ngx_int_t ngx_vpt_rconn_open(ngx_vpt_rconn_t *rc, const char *host,
    int port);
/* from our own code only: the calls in flight get NULL, closed is called */
void ngx_vpt_rconn_close(ngx_vpt_rconn_t *rc);

/* bytes of hiredis's output buffer kept when emptied in place */
#define NGX_VPT_RCONN_OBUF_KEEP  16384

/*
 * a connected context's output buffer written and emptied in place (both
 * adapters); NGX_DECLINED: hiredis's own redisAsyncHandleWrite() to call
 */
ngx_int_t ngx_vpt_rconn_write_obuf(redisAsyncContext *ac);


#endif /* NGX_VPT_REDIS_CONN_H */
