
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * The status page's topology section (see ngx_vpt_status_topology.h).
 * Published with plain word stores like the rest of the zone: a node's
 * name is written before its length, and a reader copies the whole slot
 * once, so a name is at worst the previous one.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_vpt_redis_topology.h"
#include "ngx_vpt_cluster.h"
#include "ngx_vpt_status_topology.h"


static u_char *ngx_vpt_status_topology_write(u_char *p, u_char *last,
    ngx_vpt_topo_shm_t *topo, ngx_uint_t *workers, ngx_uint_t nworkers);


void
ngx_vpt_status_topology_publish(ngx_vpt_topo_shm_t *topo, ngx_uint_t worker)
{
    size_t                         len;
    ngx_str_t                     *master;
    ngx_uint_t                     i, n;
    ngx_vpt_topo_shm_t            *t;
    ngx_vpt_cluster_stats_t        cs;
    ngx_vpt_cluster_node_stats_t   nodes[NGX_VPT_TOPO_NODES];

    if (worker >= NGX_VPT_TOPO_WORKERS) {
        return;
    }

    t = &topo[worker];

    if (ngx_vpt_cluster_enabled()) {
        ngx_vpt_cluster_stats(&cs);

        t->mode = 2;
        t->have_map = cs.have_map;
        t->map_age = cs.map_age;
        t->uncovered = cs.uncovered;
        t->moved = cs.moved;
        t->ask = cs.ask;
        t->refreshes_ok = cs.refreshes_ok;
        t->refreshes_error = cs.refreshes_error;

        n = ngx_vpt_cluster_nodes(nodes, NGX_VPT_TOPO_NODES);

        for (i = 0; i < n; i++) {
            len = ngx_min(nodes[i].name.len, NGX_VPT_TOPO_NAME);
            ngx_memcpy(t->node[i].name, nodes[i].name.data, len);
            t->node[i].len = len;
            t->node[i].connected = nodes[i].connected;
            t->node[i].commands = nodes[i].commands;
            t->node[i].errors = nodes[i].errors;
        }

        t->nnodes = n;
        return;
    }

    if (ngx_vpt_redis_sentinel_enabled()) {
        t->mode = 1;
        t->switches = ngx_vpt_redis_sentinel_switches();

        master = ngx_vpt_redis_sentinel_master();
        len = ngx_min(master->len, NGX_VPT_TOPO_NAME);
        ngx_memcpy(t->node[0].name, master->data, len);
        t->node[0].len = len;
        t->node[0].connected = ngx_vpt_redis_connected();
        t->nnodes = len ? 1 : 0;
    }
}


ngx_int_t
ngx_vpt_status_topology_text(ngx_pool_t *pool, ngx_vpt_topo_shm_t *topo,
    ngx_uint_t *workers, ngx_uint_t nworkers, ngx_str_t *out)
{
    u_char              *p;
    size_t               size;
    ngx_uint_t           i, w;
    ngx_vpt_topo_shm_t  *copy;

    out->len = 0;

    copy = ngx_palloc(pool, NGX_VPT_TOPO_WORKERS * sizeof(ngx_vpt_topo_shm_t));
    if (copy == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < nworkers; i++) {
        w = workers[i];

        if (w < NGX_VPT_TOPO_WORKERS) {
            copy[w] = topo[w];
        }
    }

    /* a line is at most ~200 bytes; a worker has at most ~60 lines */
    size = 1024 + nworkers * (12 + 4 * NGX_VPT_TOPO_NODES) * 200;

    p = ngx_pnalloc(pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    out->len = ngx_vpt_status_topology_write(p, p + size, copy, workers,
                                             nworkers) - p;

    return NGX_OK;
}


static u_char *
ngx_vpt_status_topology_write(u_char *p, u_char *last,
    ngx_vpt_topo_shm_t *topo, ngx_uint_t *workers, ngx_uint_t nworkers)
{
    ngx_uint_t               i, j, w, n, mode;
    ngx_vpt_topo_shm_t      *t;
    ngx_vpt_topo_shm_node_t *nd;

    mode = 0;

    for (i = 0; i < nworkers; i++) {
        if (workers[i] < NGX_VPT_TOPO_WORKERS) {
            mode = topo[workers[i]].mode;
        }
    }

    if (mode == 0) {
        return p;
    }

#define ngx_vpt_family(name, type, help)                                      \
    p = ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n",                \
                     name, help, name, type)

#define ngx_vpt_each_worker                                                   \
    for (i = 0; i < nworkers; i++)                                            \
        if ((w = workers[i]) < NGX_VPT_TOPO_WORKERS                           \
            && (t = &topo[w])->mode == mode)

    if (mode == 1) {
        ngx_vpt_family("vpt_redis_sentinel_master", "gauge",
                       "The master the sentinels named to each worker "
                       "(node), 1 when connected to it.");

        ngx_vpt_each_worker {
            if (t->nnodes) {
                p = ngx_slprintf(p, last, "vpt_redis_sentinel_master"
                                 "{worker=\"%ui\",node=\"%*s\"} %uA\n", w,
                                 (size_t) t->node[0].len, t->node[0].name,
                                 t->node[0].connected);
            }
        }

        ngx_vpt_family("vpt_redis_sentinel_switches_total", "counter",
                       "Masters the sentinels named to each worker since "
                       "it started, the first included.");

        ngx_vpt_each_worker {
            p = ngx_slprintf(p, last, "vpt_redis_sentinel_switches_total"
                             "{worker=\"%ui\"} %uA\n", w, t->switches);
        }

        return p;
    }

    ngx_vpt_family("vpt_redis_node_connected", "gauge",
                   "1 when the worker's connection to the cluster node is "
                   "up.");

    ngx_vpt_each_worker {
        n = ngx_min(t->nnodes, NGX_VPT_TOPO_NODES);

        for (j = 0; j < n; j++) {
            nd = &t->node[j];
            p = ngx_slprintf(p, last, "vpt_redis_node_connected{worker="
                             "\"%ui\",node=\"%*s\"} %uA\n", w,
                             (size_t) ngx_min(nd->len, NGX_VPT_TOPO_NAME),
                             nd->name, nd->connected);
        }
    }

    ngx_vpt_family("vpt_redis_node_commands_total", "counter",
                   "Commands the worker sent to the node, redirected "
                   "ones included.");

    ngx_vpt_each_worker {
        n = ngx_min(t->nnodes, NGX_VPT_TOPO_NODES);

        for (j = 0; j < n; j++) {
            nd = &t->node[j];
            p = ngx_slprintf(p, last, "vpt_redis_node_commands_total{worker="
                             "\"%ui\",node=\"%*s\"} %uA\n", w,
                             (size_t) ngx_min(nd->len, NGX_VPT_TOPO_NAME),
                             nd->name, nd->commands);
        }
    }

    ngx_vpt_family("vpt_redis_node_errors_total", "counter",
                   "Error replies from the node (MOVED and ASK followed "
                   "not counted) and commands lost with its connection.");

    ngx_vpt_each_worker {
        n = ngx_min(t->nnodes, NGX_VPT_TOPO_NODES);

        for (j = 0; j < n; j++) {
            nd = &t->node[j];
            p = ngx_slprintf(p, last, "vpt_redis_node_errors_total{worker="
                             "\"%ui\",node=\"%*s\"} %uA\n", w,
                             (size_t) ngx_min(nd->len, NGX_VPT_TOPO_NAME),
                             nd->name, nd->errors);
        }
    }

    ngx_vpt_family("vpt_redis_redirects_total", "counter",
                   "MOVED and ASK replies the worker received.");

    ngx_vpt_each_worker {
        p = ngx_slprintf(p, last, "vpt_redis_redirects_total{worker=\"%ui\","
                         "kind=\"moved\"} %uA\n"
                         "vpt_redis_redirects_total{worker=\"%ui\","
                         "kind=\"ask\"} %uA\n", w, t->moved, w, t->ask);
    }

    ngx_vpt_family("vpt_redis_cluster_map_age_seconds", "gauge",
                   "Since the worker's slot map was fetched (-1: none "
                   "yet).");

    ngx_vpt_each_worker {
        if (t->have_map) {
            p = ngx_slprintf(p, last, "vpt_redis_cluster_map_age_seconds"
                             "{worker=\"%ui\"} %uA.%03uA\n", w,
                             t->map_age / 1000, t->map_age % 1000);

        } else {
            p = ngx_slprintf(p, last, "vpt_redis_cluster_map_age_seconds"
                             "{worker=\"%ui\"} -1\n", w);
        }
    }

    ngx_vpt_family("vpt_redis_cluster_map_refreshes_total", "counter",
                   "CLUSTER SLOTS the worker asked, by result.");

    ngx_vpt_each_worker {
        p = ngx_slprintf(p, last, "vpt_redis_cluster_map_refreshes_total"
                         "{worker=\"%ui\",result=\"ok\"} %uA\n"
                         "vpt_redis_cluster_map_refreshes_total"
                         "{worker=\"%ui\",result=\"error\"} %uA\n", w,
                         t->refreshes_ok, w, t->refreshes_error);
    }

    ngx_vpt_family("vpt_redis_cluster_slots_uncovered", "gauge",
                   "Slots without a master in the worker's map (16384 "
                   "without a map): their shoppers get no offer.");

    ngx_vpt_each_worker {
        p = ngx_slprintf(p, last, "vpt_redis_cluster_slots_uncovered"
                         "{worker=\"%ui\"} %uA\n", w, t->uncovered);
    }

#undef ngx_vpt_family
#undef ngx_vpt_each_worker

    return p;
}
