/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What the store's files share (ngx_vpt_store.c: keys, commands, the
 * lookup, impressions; ngx_vpt_store_accept.c: accepts;
 * ngx_vpt_store_order.c: the per-order memo).  Nothing outside them
 * includes this.
 */

#ifndef NGX_VPT_STORE_INT_H
#define NGX_VPT_STORE_INT_H

#include "ngx_vpt.h"


/* the counters live 30 days from the first impression or accept */
#define NGX_VPT_STORE_COUNTERS_TTL   "2592000"


/* "<prefix><session>", or the counters' "<prefix><session>:vpt" */
ngx_int_t ngx_vpt_store_key(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, ngx_uint_t counters, ngx_str_t *key);

/* every command goes out through these two, argv[1] its key */
ngx_vpt_redis_call_t *ngx_vpt_store_send(ngx_str_t *key,
    ngx_vpt_redis_handler_pt handler, void *data, int argc,
    const char **argv, size_t *argvlen);
ngx_int_t ngx_vpt_store_fire(ngx_str_t *key, int argc, const char **argv,
    size_t *argvlen);

/*
 * HINCRBY or HSET of "<kind>:<offer>" in the counters, then their TTL:
 * "EXPIRE ... NX" with ttl_nx (an impression), else a plain EXPIRE (an
 * accept starts the 30 days again)
 */
ngx_int_t ngx_vpt_store_count(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, const char *cmd, u_char kind,
    vpt_str_t *offer, ngx_uint_t ttl_nx);

/* ngx_vpt_store_order.c */
void ngx_vpt_store_memo_write(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, const vpt_decision_t *decision,
    ngx_str_t *decision_id);
void ngx_vpt_store_memo_read(ngx_http_request_t *r, ngx_vpt_shopper_t *s,
    vpt_str_t *order, redisReply *value);


#endif /* NGX_VPT_STORE_INT_H */
