/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Between the shared counters (ngx_vpt_stats.c) and the status page
 * (ngx_vpt_status_page.c): the zone's layout and this cycle's view of it.
 */

#ifndef NGX_VPT_STATS_INT_H
#define NGX_VPT_STATS_INT_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_vpt.h"
#include "ngx_vpt_status_topology.h"


#define NGX_VPT_STATS_MAX_OFFERS   4096
#define NGX_VPT_STATS_ID_LEN       64          /* the catalog's limit */
#define NGX_VPT_STATS_NO_SLOT      ((uint32_t) -1)

/*
 * Redis latency buckets: bounds in microseconds in ngx_vpt_stats.c, the
 * same in seconds as the page's "le" labels; the last bucket is +Inf.
 * They start at 100 us: a Redis on the same host answers in a fraction of
 * a millisecond.
 */
#define NGX_VPT_STATS_BUCKETS      13

/* experiments (vpt_split names) counted per arm */
#define NGX_VPT_STATS_MAX_EXPERIMENTS  64

/* accepted value is counted in millionths, in an integer counter */
#define NGX_VPT_STATS_VALUE_UNIT   1000000


typedef struct {
    ngx_atomic_t                impressions;
    ngx_atomic_t                accepts;
    size_t                      len;            /* 0: a free slot */
    u_char                      id[NGX_VPT_STATS_ID_LEN];
    ngx_atomic_t                value;          /* accepted, millionths */
} ngx_http_vpt_stats_offer_t;


/* one arm of an experiment: 0 treatment, 1 control */

typedef struct {
    ngx_atomic_t                decisions;
    ngx_atomic_t                accepts;
    ngx_atomic_t                value;          /* accepted, millionths */
} ngx_http_vpt_stats_arm_t;


typedef struct {
    size_t                      len;            /* 0: a free slot */
    u_char                      name[NGX_VPT_STATS_ID_LEN];
    ngx_http_vpt_stats_arm_t    arms[2];
} ngx_http_vpt_stats_experiment_t;


typedef struct {
    ngx_atomic_t                pid;            /* 0: never published */
    ngx_atomic_t                breaker;        /* ngx_vpt_breaker_state_e */
    ngx_atomic_t                connected;
    ngx_atomic_t                errors;         /* since the worker began */
    ngx_atomic_t                timeouts;       /* since the worker began */
    ngx_atomic_t                in_flight;      /* commands, now */
    ngx_atomic_t                reconnects;     /* links after the first */
} ngx_http_vpt_stats_worker_t;


/* the zone */

typedef struct {
    ngx_http_vpt_shm_head_t     head;           /* first: ngx_vpt_shm.c */
    ngx_atomic_t                requests;
    ngx_atomic_t                outcomes[NGX_VPT_OUT_N];
    ngx_atomic_t                latency[NGX_VPT_STATS_BUCKETS];
    ngx_atomic_t                latency_sum;    /* us */
    ngx_uint_t                  nslots;         /* slots ever used */
    ngx_http_vpt_stats_worker_t  workers[NGX_MAX_PROCESSES];
    ngx_http_vpt_stats_offer_t   offers[NGX_VPT_STATS_MAX_OFFERS];
    ngx_uint_t                  nexperiments;   /* slots ever used */
    ngx_http_vpt_stats_experiment_t
                                experiments[NGX_VPT_STATS_MAX_EXPERIMENTS];
    ngx_vpt_topo_shm_t          topo[NGX_VPT_TOPO_WORKERS];
} ngx_http_vpt_stats_shm_t;


/* per cycle: the zone's data */

typedef struct {
    ngx_http_vpt_stats_shm_t  *sh;
    vpt_catalog_t              *catalog;
    uint32_t                   *slot;           /* per catalog offer */
    u_char                     *taken;          /* per slot, for the init */
    ngx_uint_t                  redis;          /* vpt_redis is set */

    /* this cycle's experiments (vpt_split names) and their zone slots */
    ngx_str_t                  *experiments;
    uint32_t                   *experiment_slot;
    ngx_uint_t                  nexperiments;

    /* the vpt_info lines, written once at configuration time */
    ngx_str_t                   info;
} ngx_http_vpt_stats_conf_t;


/* this cycle's counters, or NULL when there are none (no catalog) */
ngx_http_vpt_stats_conf_t *ngx_http_vpt_stats_conf(void);

/* this worker's Redis state, into its slot of the zone */
void ngx_http_vpt_stats_publish(ngx_http_vpt_stats_conf_t *conf);

/*
 * ngx_vpt_stats_ops.c: what operators read beside the outcomes: the
 * vpt_info lines, the per-arm counters, accepted value
 */
ngx_int_t ngx_http_vpt_stats_info(ngx_conf_t *cf,
    ngx_http_vpt_stats_conf_t *conf);
ngx_int_t ngx_http_vpt_stats_experiments(ngx_conf_t *cf,
    ngx_http_vpt_stats_conf_t *conf);
void ngx_http_vpt_stats_map_experiments(ngx_http_vpt_stats_conf_t *conf);
void ngx_http_vpt_stats_count_arm(ngx_http_vpt_stats_conf_t *conf,
    ngx_http_vpt_ctx_t *ctx);


#endif /* NGX_VPT_STATS_INT_H */
