
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * Redis Cluster routing for the store (ngx_vpt_cluster.c): commands by
 * key to the slot's master, the slot map, MOVED and ASK.
 */

#ifndef NGX_VPT_CLUSTER_H
#define NGX_VPT_CLUSTER_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_vpt_redis.h"
#include "ngx_vpt_redis_topology.h"


typedef struct {
    ngx_uint_t                 sent;
    ngx_uint_t                 pending;
    ngx_uint_t                 rejected;    /* no map, a hole, no node */
    ngx_uint_t                 timeouts;
    ngx_uint_t                 moved;
    ngx_uint_t                 ask;
    ngx_uint_t                 refreshes_ok;
    ngx_uint_t                 refreshes_error;
    ngx_msec_t                 map_age;
    size_t                     uncovered;
    ngx_uint_t                 have_map;
} ngx_vpt_cluster_stats_t;


typedef struct {
    ngx_str_t                  name;        /* host:port */
    ngx_uint_t                 connected;
    ngx_uint_t                 commands;
    ngx_uint_t                 errors;
    ngx_uint_t                 connects;
} ngx_vpt_cluster_node_stats_t;


ngx_uint_t ngx_vpt_cluster_enabled(void);
void ngx_vpt_cluster_init_worker(ngx_cycle_t *cycle,
    ngx_vpt_redis_topo_t *topo);
void ngx_vpt_cluster_exit_worker(void);

/* as ngx_vpt_redis_command() and _fire(), routed by key */
ngx_vpt_redis_call_t *ngx_vpt_cluster_command(ngx_str_t *key,
    ngx_vpt_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);
ngx_int_t ngx_vpt_cluster_fire(ngx_str_t *key, int argc, const char **argv,
    const size_t *argvlen);
void ngx_vpt_cluster_timed_out(ngx_vpt_redis_call_t *call);

void ngx_vpt_cluster_stats(ngx_vpt_cluster_stats_t *out);
ngx_uint_t ngx_vpt_cluster_nodes(ngx_vpt_cluster_node_stats_t *out,
    ngx_uint_t max);


#endif /* NGX_VPT_CLUSTER_H */
