/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The module's Redis data model, and the only code that knows it: how keys
 * are formed, what a page reads (one pipelined round trip), how replies
 * become the core's structs, what impressions and accepts write, and for
 * how long.  Below it, ngx_vpt_redis*.c is the connection, the hiredis
 * adapter and the breaker; above it, callers speak of shoppers, decisions
 * and accepts, never of keys or commands.
 *
 * Keys, for a location's vpt_context_prefix P and a session key S:
 *
 *     P S          the shopper's context, a JSON string (the shop writes it)
 *     P S ":vpt"   the shopper's counters, a hash: "i:<offer>" impressions,
 *                  "a:<offer>" accepted, "m:<order.id>" the decision shown
 *                  on that order's confirmation page ("<decision id>
 *                  <offer>,<offer>...", so a reload shows it again, read
 *                  by the lookup's HGETALL); it lives 30 days from its
 *                  first write (an accept starts them again), every write
 *                  carrying the TTL
 *     P "vpt:accepted:" D
 *                  decision D was accepted (its value: the offer); made
 *                  only by a signed link's first accept (SET NX), lives 8
 *                  days, a day longer than the link
 *
 *     "vpt:spend:{" A "}:d:" D   advertiser A's spend in budget day D
 *                  (days since the epoch, of vpt_budget_day each), in
 *                  millionths, INCRBY from every node; it lives two days
 *     "vpt:spend:{" A "}"        A's spend since it began, the same way
 *
 * Every command goes out through one function of ngx_vpt_store.c with its
 * key named apart, the place where routing by key (a cluster's slots) goes;
 * ngx_vpt_store_accept.c (accepts) and ngx_vpt_store_order.c (the order
 * memo) use it through ngx_vpt_store_int.h.
 */

#ifndef NGX_VPT_STORE_H
#define NGX_VPT_STORE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "vpt_catalog.h"
#include "vpt_context.h"
#include "vpt_rank.h"


/*
 * The per-shopper counters key ends so; a session key ending so would name
 * another shopper's counters as its context, and is no session.
 */
#define NGX_VPT_STORE_COUNTERS  ":vpt"


/* one shopper as the store knows it: filled by a lookup */

typedef struct {
    ngx_str_t                 prefix;        /* vpt_context_prefix */
    ngx_str_t                 session;       /* len 0: no session */

    ngx_str_t                 context_json;  /* raw, for $vpt_context */
    vpt_context_t            *context;       /* NULL: none */
    uint32_t                 *impressions;   /* per offer, or NULL */
    uint8_t                  *accepted;      /* per offer, or NULL */
    ngx_str_t                 order;         /* order.id of the page: the
                                                decision's memo, len 0 none */
    ngx_str_t                 memo;          /* "m:" of the context's
                                                order.id, len 0 none */

    /* the store's own */
    ngx_str_t                 counters_key;  /* built once */
} ngx_vpt_shopper_t;


/* what a lookup found */

typedef enum {
    NGX_VPT_STORE_FOUND = 0,        /* a context (the counters if any) */
    NGX_VPT_STORE_NO_CONTEXT,
    NGX_VPT_STORE_BAD_CONTEXT,      /* not a JSON object, too big, a hash */
    NGX_VPT_STORE_ERROR,
    NGX_VPT_STORE_TIMEOUT,
    NGX_VPT_STORE_N
} ngx_vpt_store_rc_e;


typedef struct ngx_vpt_store_lookup_s  ngx_vpt_store_lookup_t;

/* called once, from the event loop; ms is the lookup's time */
typedef void (*ngx_vpt_store_done_pt)(void *data, ngx_vpt_store_rc_e rc,
    ngx_msec_int_t ms);


/*
 * The decision a lookup found for shopper->order (its memo): the id into
 * decision_id (16 bytes), the offers still in the catalog into d->offer[]
 * and d->n.  NGX_OK, or NGX_DECLINED: none (or unreadable).
 */
ngx_int_t ngx_vpt_store_order_decision(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, u_char *decision_id, vpt_decision_t *d);


/* an accept, as the beacon read it */

typedef struct {
    ngx_str_t                 decision;
    ngx_str_t                 offer;
    ngx_str_t                 experiment;    /* len 0: none */
} ngx_vpt_store_accept_t;


/* vpt_redis is set in this http block */
ngx_uint_t ngx_vpt_store_configured(ngx_http_request_t *r);

/*
 * Reads the shopper's context and counters into *shopper (its prefix and
 * session set) within timeout ms.  NULL: not started (Redis not usable
 * now, no memory), done is never called.  Otherwise done is called once,
 * after this returns, unless ngx_vpt_store_cancel() comes first.  The
 * lookup lives in r->pool; its Redis calls never see r.
 */
ngx_vpt_store_lookup_t *ngx_vpt_store_lookup(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, ngx_msec_t timeout,
    ngx_vpt_store_done_pt done, void *data);

/* nobody waits for it any more: no done, and no breaker failure */
void ngx_vpt_store_cancel(ngx_vpt_store_lookup_t *lk);

/*
 * The decision is final and its offers were shown: their impressions,
 * and, when shopper->order is set, the order's memo, fire and forget.
 */
void ngx_vpt_store_record_decision(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, const vpt_decision_t *decision,
    ngx_str_t *decision_id);

typedef enum {
    NGX_VPT_STORE_ACCEPT_FIRST = 0,     /* counted now */
    NGX_VPT_STORE_ACCEPT_REPEAT,        /* the decision was accepted before */
    NGX_VPT_STORE_ACCEPT_UNKNOWN        /* Redis failed or was too slow */
} ngx_vpt_store_accept_rc_e;

typedef void (*ngx_vpt_store_accept_pt)(void *data,
    ngx_vpt_store_accept_rc_e rc);

/*
 * An accept of a genuine link (the caller checked it): once signed
 * (once = 1), marks the decision accepted unless it was (SET NX, so two
 * clicks count once); the shopper's counters get "a:<offer>" on the first
 * accept only if they exist already (no key for an unknown session).
 * NGX_OK: done is called once, after this returns, within timeout ms.
 * NGX_DECLINED: no Redis, or not usable now; done is never called.
 */
ngx_int_t ngx_vpt_store_record_accept(ngx_http_request_t *r,
    ngx_vpt_shopper_t *shopper, ngx_vpt_store_accept_t *accept,
    ngx_uint_t once, ngx_msec_t timeout, ngx_vpt_store_accept_pt done,
    void *data);


/*
 * Advertisers' spend (ngx_vpt_spend.c): adds this node's unsynced spend
 * of advertiser id, in millionths, to its day's and its total's counters
 * and reads both back, in one round trip.  NGX_OK: done is called once,
 * later, with NGX_OK and the totals of all nodes, or NGX_ERROR (the
 * deltas may or may not have been added: the caller counts them again,
 * so spend errs high, never low).  NGX_DECLINED: Redis not usable now,
 * nothing sent, done never called.  Nothing here sees a request.
 */
typedef void (*ngx_vpt_store_spend_pt)(void *data, ngx_int_t rc,
    int64_t day_total, int64_t total);

ngx_int_t ngx_vpt_store_spend(ngx_str_t *advertiser, ngx_uint_t day,
    time_t ttl, int64_t day_delta, int64_t total_delta,
    ngx_vpt_store_spend_pt done, void *data);


#endif /* NGX_VPT_STORE_H */
