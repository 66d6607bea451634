
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * A cluster's slot map (see ngx_vpt_cluster.c): CLUSTER SLOTS asked of one
 * node at a time, the reply turned into the core's map
 * (vpt_cluster_map_build()), holes and refusals logged, the next refresh
 * scheduled.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_vpt_cluster_int.h"


static void ngx_vpt_cluster_slots_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_vpt_cluster_install(redisReply *reply, ngx_vpt_cnode_t *from);
static void ngx_vpt_cluster_refresh_done(ngx_uint_t ok);


void
ngx_vpt_cluster_schedule(ngx_msec_t delay)
{
    ngx_msec_t          since;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    if (cl->exiting || ngx_exiting || ngx_terminate) {
        return;
    }

    if (cl->asked != NULL) {
        /* one in flight; when it ends, the next is scheduled */
        return;
    }

    since = ngx_current_msec - cl->refreshed;

    if (delay < NGX_VPT_CLUSTER_REFRESH_MIN
        && since < NGX_VPT_CLUSTER_REFRESH_MIN)
    {
        delay = NGX_VPT_CLUSTER_REFRESH_MIN - since;
    }

    if (cl->refresh.timer_set) {
        if (cl->refresh.timer.key <= ngx_current_msec + delay) {
            return;
        }

        ngx_del_timer(&cl->refresh);
    }

    ngx_add_timer(&cl->refresh, delay ? delay : 1);
}


void
ngx_vpt_cluster_refresh_handler(ngx_event_t *ev)
{
    ngx_uint_t          i;
    ngx_vpt_cnode_t    *n;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    if (cl->exiting || cl->asked != NULL || ngx_exiting || ngx_terminate) {
        return;
    }

    /* the next node that can be asked, from where the last one was */

    for (i = 0; i < cl->nnodes; i++) {
        n = &cl->node[cl->candidate++ % cl->nnodes];

        if (ngx_vpt_cluster_usable(n) == NULL) {
            continue;
        }

        if (redisAsyncCommand(n->rc.ac, ngx_vpt_cluster_slots_reply,
                              (void *) (uintptr_t) ++cl->generation,
                              "CLUSTER SLOTS")
            != REDIS_OK)
        {
            continue;
        }

        cl->asked = n;
        cl->refreshed = ngx_current_msec;
        ngx_add_timer(&cl->deadline, NGX_VPT_CLUSTER_ASK_TIMEOUT);
        return;
    }

    cl->refreshed = ngx_current_msec;
    ngx_vpt_cluster_refresh_done(0);
}


void
ngx_vpt_cluster_deadline_handler(ngx_event_t *ev)
{
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    if (cl->asked == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "vpt redis cluster node %V: no answer to CLUSTER SLOTS "
                  "in %M ms", &cl->asked->rc.name,
                  (ngx_msec_t) NGX_VPT_CLUSTER_ASK_TIMEOUT);

    cl->asked = NULL;
    cl->generation++;
    ngx_vpt_cluster_refresh_done(0);
}


static void
ngx_vpt_cluster_slots_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply         *reply = r;
    ngx_vpt_cnode_t    *n;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    if (cl->exiting || cl->asked == NULL
        || (uintptr_t) privdata != cl->generation)
    {
        /* late: its deadline has passed */
        return;
    }

    n = cl->asked;
    cl->asked = NULL;

    if (cl->deadline.timer_set) {
        ngx_del_timer(&cl->deadline);
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "vpt redis cluster node %V: CLUSTER SLOTS failed: %*s",
                      &n->rc.name,
                      reply ? (size_t) ngx_min(reply->len, 200) : 4,
                      reply ? (u_char *) reply->str : (u_char *) "lost");
        ngx_vpt_cluster_refresh_done(0);
        return;
    }

    ngx_vpt_cluster_install(reply, n);
}


static void
ngx_vpt_cluster_install(redisReply *reply, ngx_vpt_cnode_t *from)
{
    size_t                   i, j, k, nn;
    char                     err[VPT_CLUSTER_ERRLEN], holes[256];
    redisReply              *e, *ne;
    ngx_vpt_cnode_t        **map_node;
    vpt_cluster_map_t       *map;
    ngx_vpt_cluster_t       *cl;
    vpt_cluster_node_in_t   *node;
    vpt_cluster_range_in_t  *range;
    const vpt_cluster_node_t  *mn;

    cl = &ngx_vpt_cluster;

    nn = 0;

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type == REDIS_REPLY_ARRAY) {
            nn += reply->element[i]->elements;
        }
    }

    range = ngx_alloc(reply->elements * sizeof(vpt_cluster_range_in_t) + 1,
                      ngx_cycle->log);
    node = ngx_alloc(nn * sizeof(vpt_cluster_node_in_t) + 1, ngx_cycle->log);

    if (range == NULL || node == NULL) {
        goto failed;
    }

    k = 0;

    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3
            || e->element[0]->type != REDIS_REPLY_INTEGER
            || e->element[1]->type != REDIS_REPLY_INTEGER)
        {
            ngx_snprintf((u_char *) err, sizeof(err), "range %uz is not "
                         "[start, end, node...]%Z", i);
            goto refused;
        }

        range[i].start = e->element[0]->integer;
        range[i].end = e->element[1]->integer;
        range[i].node = &node[k];
        range[i].nnodes = 0;

        for (j = 2; j < e->elements; j++) {
            ne = e->element[j];

            if (ne->type != REDIS_REPLY_ARRAY || ne->elements < 2
                || ne->element[1]->type != REDIS_REPLY_INTEGER)
            {
                continue;
            }

            if (ne->element[0]->type == REDIS_REPLY_STRING) {
                node[k].host.data = ne->element[0]->str;
                node[k].host.len = ne->element[0]->len;

            } else {
                /* nil: the unknown endpoint */
                node[k].host.data = "";
                node[k].host.len = 0;
            }

            node[k].port = ne->element[1]->integer;
            k++;
            range[i].nnodes++;
        }
    }

    map = vpt_cluster_map_build(range, reply->elements, err, sizeof(err));

    if (map == NULL) {
        goto refused;
    }

    map_node = ngx_alloc((map->nnodes + 1) * sizeof(ngx_vpt_cnode_t *),
                         ngx_cycle->log);
    if (map_node == NULL) {
        vpt_cluster_map_free(map);
        goto failed;
    }

    for (i = 0; i < map->nnodes; i++) {
        mn = &map->node[i];

        /* "" is the node that answered */
        map_node[i] = mn->host_len
                      ? ngx_vpt_cluster_node((const u_char *) mn->host,
                                             mn->host_len, mn->port)
                      : ngx_vpt_cluster_node(from->host, from->host_len,
                                             mn->port);
    }

    if (map->uncovered
        && (cl->map == NULL || cl->map->uncovered != map->uncovered
            || ngx_current_msec - cl->logged >= NGX_VPT_CLUSTER_LOG_EVERY))
    {
        (void) vpt_cluster_map_holes(map, holes, sizeof(holes));
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "vpt redis cluster: the slot map from %V leaves %uz "
                      "slots without a master (%s): their shoppers' pages "
                      "go out without offers", &from->rc.name,
                      map->uncovered, holes);
        cl->logged = ngx_current_msec;

    } else if (cl->map == NULL || cl->map->uncovered != map->uncovered
               || cl->map->nmasters != map->nmasters)
    {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "vpt redis cluster: slot map from %V: %uz masters, "
                      "%uz nodes, %uz slots uncovered", &from->rc.name,
                      map->nmasters, map->nnodes, map->uncovered);
    }

    if (cl->map) {
        vpt_cluster_map_free(cl->map);
        ngx_free(cl->map_node);
    }

    cl->map = map;
    cl->map_node = map_node;
    cl->map_time = ngx_current_msec;
    cl->stats.refreshes_ok++;

    ngx_free(range);
    ngx_free(node);

    ngx_vpt_cluster_refresh_done(1);
    return;

refused:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "vpt redis cluster: the slot map from %V is refused, the "
                  "last one kept: %s", &from->rc.name, err);

failed:

    if (range) {
        ngx_free(range);
    }

    if (node) {
        ngx_free(node);
    }

    ngx_vpt_cluster_refresh_done(0);
}


static void
ngx_vpt_cluster_refresh_done(ngx_uint_t ok)
{
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    if (!ok) {
        cl->stats.refreshes_error++;

        if (cl->map == NULL
            && ngx_current_msec - cl->logged >= NGX_VPT_CLUSTER_LOG_EVERY)
        {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "vpt redis cluster: no node answered CLUSTER "
                          "SLOTS yet (%ui attempts); pages go out without "
                          "offers", cl->stats.refreshes_error);
            cl->logged = ngx_current_msec;
        }
    }

    ngx_vpt_cluster_schedule((cl->map == NULL || cl->map->uncovered || !ok)
                             ? NGX_VPT_CLUSTER_REFRESH_HOLES
                             : NGX_VPT_CLUSTER_REFRESH_EVERY);
}


void
ngx_vpt_cluster_stats(ngx_vpt_cluster_stats_t *out)
{
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    *out = cl->stats;
    out->map_age = cl->map ? ngx_current_msec - cl->map_time : 0;
    out->uncovered = cl->map ? cl->map->uncovered : VPT_CLUSTER_SLOTS;
    out->have_map = (cl->map != NULL);
}


ngx_uint_t
ngx_vpt_cluster_nodes(ngx_vpt_cluster_node_stats_t *out, ngx_uint_t max)
{
    ngx_uint_t          i;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    for (i = 0; i < cl->nnodes && i < max; i++) {
        out[i] = cl->node[i].stats;
        out[i].name = cl->node[i].rc.name;
        out[i].connected = cl->node[i].rc.up;
    }

    return i;
}
