
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * Between the cluster's two files: ngx_vpt_cluster.c (nodes, commands,
 * redirects) and ngx_vpt_cluster_map.c (the slot map and its refresh).
 * The rules they follow are at the top of ngx_vpt_cluster.c.
 */

#ifndef NGX_VPT_CLUSTER_INT_H
#define NGX_VPT_CLUSTER_INT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_vpt_redis_conn.h"
#include "ngx_vpt_redis_topology.h"
#include "ngx_vpt_cluster.h"
#include "vpt_cluster.h"


#define NGX_VPT_CLUSTER_NODES          64
#define NGX_VPT_CLUSTER_ASK_TIMEOUT    1000     /* ms, one CLUSTER SLOTS */
#define NGX_VPT_CLUSTER_REFRESH_MIN    100      /* ms between two */
#define NGX_VPT_CLUSTER_REFRESH_HOLES  1000     /* ms, no map or holes */
#define NGX_VPT_CLUSTER_REFRESH_EVERY  30000    /* ms */
#define NGX_VPT_CLUSTER_RETRY          100      /* ms, reconnect a node */
#define NGX_VPT_CLUSTER_LOG_EVERY      10000    /* ms, repeated messages */
#define NGX_VPT_CLUSTER_MAX_PENDING    10000    /* commands in flight */


typedef struct {
    ngx_vpt_rconn_t            rc;          /* first */
    u_char                     host[NGX_SOCKADDR_STRLEN + 1];
    size_t                     host_len;
    unsigned                   port;
    u_char                     text[NGX_SOCKADDR_STRLEN + 8];
    ngx_msec_t                 failed_at;
    ngx_msec_t                 logged;
    ngx_uint_t                 failures;    /* connects, since a success */
    ngx_vpt_cluster_node_stats_t  stats;
} ngx_vpt_cnode_t;


typedef struct {
    ngx_vpt_redis_call_t       call;        /* first: what callers see */
    ngx_vpt_cnode_t           *node;
    size_t                     len;
    unsigned                   fire:1;
    unsigned                   redirected:1;
    u_char                     cmd[1];      /* RESP, NUL-terminated */
} ngx_vpt_ccall_t;


typedef struct {
    ngx_vpt_redis_topo_t      *topo;
    ngx_vpt_cnode_t            node[NGX_VPT_CLUSTER_NODES];
    ngx_uint_t                 nnodes;

    vpt_cluster_map_t         *map;
    ngx_vpt_cnode_t          **map_node;    /* by the map's node index */
    ngx_msec_t                 map_time;

    ngx_event_t                refresh;     /* the next CLUSTER SLOTS */
    ngx_event_t                deadline;    /* the one in flight */
    ngx_vpt_cnode_t           *asked;       /* NULL: none in flight */
    ngx_uint_t                 generation;
    ngx_uint_t                 candidate;
    ngx_msec_t                 refreshed;   /* when the last was sent */
    ngx_msec_t                 logged;

    ngx_vpt_cluster_stats_t    stats;

    unsigned                   enabled:1;
    unsigned                   exiting:1;
} ngx_vpt_cluster_t;


/* this worker's (ngx_vpt_cluster.c) */
extern ngx_vpt_cluster_t  ngx_vpt_cluster;


/* ngx_vpt_cluster.c */
ngx_vpt_cnode_t *ngx_vpt_cluster_node(const u_char *host, size_t len,
    unsigned port);
ngx_vpt_cnode_t *ngx_vpt_cluster_usable(ngx_vpt_cnode_t *n);

/* ngx_vpt_cluster_map.c: the next CLUSTER SLOTS in delay ms at most */
void ngx_vpt_cluster_schedule(ngx_msec_t delay);
void ngx_vpt_cluster_refresh_handler(ngx_event_t *ev);
void ngx_vpt_cluster_deadline_handler(ngx_event_t *ev);


#endif /* NGX_VPT_CLUSTER_INT_H */
