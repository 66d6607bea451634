
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * The status page's Redis topology section (Sentinel's master, a
 * cluster's nodes and slot map), per worker: each worker publishes its
 * own into its slot of the stats zone, the page prints them.
 */

#ifndef NGX_VPT_STATUS_TOPOLOGY_H
#define NGX_VPT_STATUS_TOPOLOGY_H

#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_VPT_TOPO_WORKERS       64      /* more are not shown */
#define NGX_VPT_TOPO_NODES         16      /* per worker, shown */
#define NGX_VPT_TOPO_NAME          48


typedef struct {
    ngx_atomic_t               connected;
    ngx_atomic_t               commands;
    ngx_atomic_t               errors;
    ngx_atomic_t               len;
    u_char                     name[NGX_VPT_TOPO_NAME];
} ngx_vpt_topo_shm_node_t;


typedef struct {
    ngx_atomic_t               mode;        /* 0 none, 1 Sentinel, 2 Cluster */
    ngx_atomic_t               have_map;
    ngx_atomic_t               map_age;     /* ms */
    ngx_atomic_t               uncovered;
    ngx_atomic_t               moved;
    ngx_atomic_t               ask;
    ngx_atomic_t               refreshes_ok;
    ngx_atomic_t               refreshes_error;
    ngx_atomic_t               switches;
    ngx_atomic_t               nnodes;
    ngx_vpt_topo_shm_node_t    node[NGX_VPT_TOPO_NODES];
} ngx_vpt_topo_shm_t;


/* this worker's state into its slot */
void ngx_vpt_status_topology_publish(ngx_vpt_topo_shm_t *topo,
    ngx_uint_t worker);

/* the page's section for the workers that published, into out */
ngx_int_t ngx_vpt_status_topology_text(ngx_pool_t *pool,
    ngx_vpt_topo_shm_t *topo, ngx_uint_t *workers, ngx_uint_t nworkers,
    ngx_str_t *out);


#endif /* NGX_VPT_STATUS_TOPOLOGY_H */
