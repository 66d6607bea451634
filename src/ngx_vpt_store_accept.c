/*
 * Copyright (C) ngx_vpt_module authors
 *
 * An accept in Redis (the layout: ngx_vpt_store.h).  The beacon waits for
 * it: whether the accept counts is known only from the replies.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "ngx_vpt_store_int.h"


/* a decision's accept mark: a day longer than its link (7 days) */
#define NGX_VPT_STORE_ACCEPTED       "vpt:accepted:"
#define NGX_VPT_STORE_ACCEPTED_TTL   "691200"


static void ngx_vpt_store_accept_reply(ngx_vpt_redis_call_t *call,
    redisReply *reply);
static void ngx_vpt_store_accept_timeout(ngx_event_t *ev);


/*
 * An accept: SET NX of the decision's mark (signed links only: an
 * unsigned d is anyone's to make up, and each would be a key) and EXISTS
 * of the counters, pipelined: one round trip.  Each is atomic, and no key
 * is created but the mark of a genuine decision.  Only on the first
 * accept, and only when the counters exist, "a:<offer>" is written to
 * them (HSET, then EXPIRE as every counters write: should the hash expire
 * between EXISTS and HSET, a matter of microseconds after 30 days, the
 * HSET makes a new one that expires too).  Why not MULTI/EXEC: it cannot
 * make one command depend on another's answer, and the two keys may live
 * in two cluster slots.
 */

enum {
    NGX_VPT_STORE_ACCEPT_MARK = 0,
    NGX_VPT_STORE_ACCEPT_EXISTS,
    NGX_VPT_STORE_ACCEPT_NCALLS
};


typedef struct {
    ngx_http_request_t         *request;
    ngx_vpt_shopper_t          *shopper;
    vpt_str_t                   offer;
    ngx_vpt_store_accept_pt     done;
    void                       *data;
    ngx_vpt_redis_call_t       *calls[NGX_VPT_STORE_ACCEPT_NCALLS];
    ngx_uint_t                  pending;
    ngx_event_t                 timer;
    unsigned                    failed:1;
    unsigned                    repeat:1;
    unsigned                    exists:1;
} ngx_vpt_store_accept_op_t;


ngx_int_t
ngx_vpt_store_record_accept(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, ngx_vpt_store_accept_t *accept,
    ngx_uint_t once, ngx_msec_t timeout, ngx_vpt_store_accept_pt done,
    void *data)
{
    u_char                     *p;
    size_t                      argvlen[6];
    ngx_str_t                   key;
    const char                 *argv[6];
    ngx_vpt_store_accept_op_t  *op;

    if (!ngx_vpt_store_configured(r)
        || (!once && shopper->session.len == 0))
    {
        return NGX_DECLINED;
    }

    op = ngx_pcalloc(r->pool, sizeof(ngx_vpt_store_accept_op_t));
    if (op == NULL) {
        return NGX_DECLINED;
    }

    op->request = r;
    op->shopper = shopper;
    op->offer.data = (const char *) accept->offer.data;
    op->offer.len = accept->offer.len;
    op->done = done;
    op->data = data;

    if (once) {
        key.len = shopper->prefix.len + sizeof(NGX_VPT_STORE_ACCEPTED) - 1
                  + accept->decision.len;
        key.data = ngx_pnalloc(r->pool, key.len);
        if (key.data == NULL) {
            return NGX_DECLINED;
        }

        p = ngx_cpymem(key.data, shopper->prefix.data, shopper->prefix.len);
        p = ngx_cpymem(p, NGX_VPT_STORE_ACCEPTED,
                       sizeof(NGX_VPT_STORE_ACCEPTED) - 1);
        ngx_memcpy(p, accept->decision.data, accept->decision.len);

        argv[0] = "SET";
        argvlen[0] = 3;
        argv[2] = (const char *) accept->offer.data;
        argvlen[2] = accept->offer.len;
        argv[3] = "NX";
        argvlen[3] = 2;
        argv[4] = "EX";
        argvlen[4] = 2;
        argv[5] = NGX_VPT_STORE_ACCEPTED_TTL;
        argvlen[5] = sizeof(NGX_VPT_STORE_ACCEPTED_TTL) - 1;

        op->calls[NGX_VPT_STORE_ACCEPT_MARK] =
            ngx_vpt_store_send(&key, ngx_vpt_store_accept_reply, op, 6, argv,
                               argvlen);

        if (op->calls[NGX_VPT_STORE_ACCEPT_MARK] == NULL) {
            return NGX_DECLINED;
        }

        op->pending++;
    }

    if (shopper->session.len
        && ngx_vpt_store_key(r, shopper, 1, &key) == NGX_OK)
    {
        argv[0] = "EXISTS";
        argvlen[0] = sizeof("EXISTS") - 1;

        op->calls[NGX_VPT_STORE_ACCEPT_EXISTS] =
            ngx_vpt_store_send(&key, ngx_vpt_store_accept_reply, op, 2, argv,
                               argvlen);

        if (op->calls[NGX_VPT_STORE_ACCEPT_EXISTS] != NULL) {
            op->pending++;
        }
    }

    if (op->pending == 0) {
        return NGX_DECLINED;
    }

    op->timer.handler = ngx_vpt_store_accept_timeout;
    op->timer.data = op;
    op->timer.log = r->connection->log;

    ngx_add_timer(&op->timer, timeout);

    return NGX_OK;
}


static void
ngx_vpt_store_accept_reply(ngx_vpt_redis_call_t *call, redisReply *reply)
{
    ngx_vpt_store_accept_op_t  *op = call->data;

    ngx_uint_t  skipped;

    if (call == op->calls[NGX_VPT_STORE_ACCEPT_MARK]) {
        op->calls[NGX_VPT_STORE_ACCEPT_MARK] = NULL;

        if (reply != NULL && reply->type == REDIS_REPLY_NIL) {
            op->repeat = 1;

        } else if (reply == NULL || reply->type != REDIS_REPLY_STATUS) {
            op->failed = 1;
        }

    } else {
        op->calls[NGX_VPT_STORE_ACCEPT_EXISTS] = NULL;

        if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
            op->exists = reply->integer > 0;

        } else {
            op->failed = 1;
        }
    }

    if (op->failed && reply != NULL && reply->type == REDIS_REPLY_ERROR
        && ngx_http_vpt_log_allowed(NGX_VPT_LOG_REDIS, &skipped))
    {
        ngx_log_error(NGX_LOG_WARN, op->request->connection->log, 0,
                      "vpt: redis failed recording an accept: %s "
                      "(%ui more since the last report)", reply->str,
                      skipped);
    }

    if (--op->pending) {
        return;
    }

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (op->failed) {
        op->done(op->data, NGX_VPT_STORE_ACCEPT_UNKNOWN);
        return;
    }

    if (op->repeat) {
        op->done(op->data, NGX_VPT_STORE_ACCEPT_REPEAT);
        return;
    }

    if (op->exists) {
        (void) ngx_vpt_store_count(op->request, op->shopper, "HSET", 'a',
                                   &op->offer, 0);
    }

    op->done(op->data, NGX_VPT_STORE_ACCEPT_FIRST);
}


static void
ngx_vpt_store_accept_timeout(ngx_event_t *ev)
{
    ngx_vpt_store_accept_op_t  *op = ev->data;

    ngx_uint_t  i, first;

    first = 1;

    for (i = 0; i < NGX_VPT_STORE_ACCEPT_NCALLS; i++) {
        if (op->calls[i] == NULL) {
            continue;
        }

        /* one failure for the breaker, however many were in flight */
        if (first) {
            ngx_vpt_redis_timed_out(op->calls[i]);
            first = 0;

        } else {
            ngx_vpt_redis_detach(op->calls[i]);
        }

        op->calls[i] = NULL;
    }

    op->pending = 0;

    op->done(op->data, NGX_VPT_STORE_ACCEPT_UNKNOWN);
}
