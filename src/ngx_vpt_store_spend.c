/*
 * Copyright (C) ngx_vpt_module authors
 *
 * An advertiser's spend in Redis (the layout: ngx_vpt_store.h): the day's
 * and the total, each an INCRBY of what this worker spent since its last
 * sync, the day's with its TTL; ngx_vpt_spend.c keeps the counts.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "ngx_vpt_store_int.h"


/* an advertiser's spend keys: "vpt:spend:{ID}:d:DAY", ID <= 64 bytes */
#define NGX_VPT_STORE_SPEND_KEY      160


/* one advertiser's spend sync: two INCRBYs in flight */

typedef struct {
    ngx_vpt_store_spend_pt    done;
    void                     *data;
    ngx_uint_t                pending;
    ngx_int_t                 rc;
    int64_t                   value[2];      /* the day's, the total */
} ngx_vpt_store_spend_t;


static void
ngx_vpt_store_spend_reply(ngx_vpt_store_spend_t *sp, ngx_uint_t which,
    redisReply *reply)
{
    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
        sp->value[which] = (int64_t) reply->integer;

    } else {
        sp->rc = NGX_ERROR;
    }

    if (--sp->pending) {
        return;
    }

    sp->done(sp->data, sp->rc, sp->value[0], sp->value[1]);
    ngx_free(sp);
}


static void
ngx_vpt_store_spend_day_reply(ngx_vpt_redis_call_t *call, redisReply *reply)
{
    ngx_vpt_store_spend_reply(call->data, 0, reply);
}


static void
ngx_vpt_store_spend_total_reply(ngx_vpt_redis_call_t *call,
    redisReply *reply)
{
    ngx_vpt_store_spend_reply(call->data, 1, reply);
}


ngx_int_t
ngx_vpt_store_spend(ngx_str_t *advertiser, ngx_uint_t day, time_t ttl,
    int64_t day_delta, int64_t total_delta, ngx_vpt_store_spend_pt done,
    void *data)
{
    u_char                  dkey[NGX_VPT_STORE_SPEND_KEY];
    u_char                  tkey[NGX_VPT_STORE_SPEND_KEY];
    u_char                  dnum[NGX_INT64_LEN], tnum[NGX_INT64_LEN];
    u_char                  ttlnum[NGX_TIME_T_LEN];
    size_t                  argvlen[3];
    ngx_str_t               key;
    const char             *argv[3];
    ngx_vpt_redis_call_t   *call;
    ngx_vpt_store_spend_t  *sp;

    if (advertiser->len > NGX_VPT_STORE_SPEND_KEY - 64) {
        return NGX_DECLINED;
    }

    sp = ngx_alloc(sizeof(ngx_vpt_store_spend_t), ngx_cycle->log);
    if (sp == NULL) {
        return NGX_DECLINED;
    }

    sp->done = done;
    sp->data = data;
    sp->pending = 0;
    sp->rc = NGX_OK;
    sp->value[0] = 0;
    sp->value[1] = 0;

    /* the braces: both keys in one slot of a cluster */

    key.data = dkey;
    key.len = ngx_sprintf(dkey, "vpt:spend:{%V}:d:%ui", advertiser, day)
              - dkey;

    argv[0] = "INCRBY";
    argvlen[0] = sizeof("INCRBY") - 1;
    argv[2] = (const char *) dnum;
    argvlen[2] = ngx_sprintf(dnum, "%L", day_delta) - dnum;

    call = ngx_vpt_store_send(&key, ngx_vpt_store_spend_day_reply, sp, 3,
                              argv, argvlen);
    if (call == NULL) {
        ngx_free(sp);
        return NGX_DECLINED;
    }

    sp->pending++;

    argv[0] = "EXPIRE";
    argvlen[0] = sizeof("EXPIRE") - 1;
    argv[2] = (const char *) ttlnum;
    argvlen[2] = ngx_sprintf(ttlnum, "%T", ttl) - ttlnum;

    (void) ngx_vpt_store_fire(&key, 3, argv, argvlen);

    key.data = tkey;
    key.len = ngx_sprintf(tkey, "vpt:spend:{%V}", advertiser) - tkey;

    argv[0] = "INCRBY";
    argvlen[0] = sizeof("INCRBY") - 1;
    argv[2] = (const char *) tnum;
    argvlen[2] = ngx_sprintf(tnum, "%L", total_delta) - tnum;

    call = ngx_vpt_store_send(&key, ngx_vpt_store_spend_total_reply, sp, 3,
                              argv, argvlen);
    if (call == NULL) {
        /* the day's reply still comes, and reports the error */
        sp->rc = NGX_ERROR;
        return NGX_OK;
    }

    sp->pending++;

    return NGX_OK;
}
