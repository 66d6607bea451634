
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * Redis Cluster routing (vpt_redis_cluster), per worker: a connection per
 * node opened on first use, commands by key, MOVED and ASK followed once;
 * the slot map and its refresh are in ngx_vpt_cluster_map.c.
 * The store calls here instead of the single server's client when the
 * http block names a cluster; the calls it gets back are the same
 * ngx_vpt_redis_call_t (detach as usual, ngx_vpt_cluster_timed_out() for
 * a timeout).  The rules are docs/design-redis-topology.md's:
 *
 * - The map: CLUSTER SLOTS asked of one known node at a time (the seeds,
 *   then the nodes maps named), each bounded by a timer, until one
 *   answers with a map vpt_cluster_map_build() accepts; again after a
 *   MOVED, a CLUSTERDOWN or a node's connection lost (at most one every
 *   NGX_VPT_CLUSTER_REFRESH_MIN ms), every NGX_VPT_CLUSTER_REFRESH_HOLES
 *   ms while the map has holes or there is none, and every
 *   NGX_VPT_CLUSTER_REFRESH_EVERY ms otherwise.  A map refused keeps the
 *   old one.  Only numeric hosts are used: resolving a name would block.
 * - A command: the key's slot, the slot's master, its connection (made
 *   now if there is none, unless the last attempt failed less than
 *   NGX_VPT_CLUSTER_RETRY ms ago; hiredis queues the command meanwhile
 *   and the request's own timer bounds the wait).  No map, a hole, no
 *   connection: NULL at once, the page fails open.
 * - MOVED: the map learns the slot's new master, a refresh is scheduled,
 *   and the command (kept, formatted, with its call) is sent there once.
 *   ASK: ASKING and the command, back to back, to the node named, once;
 *   the map unchanged.  Not for a call nobody waits for any more (a
 *   detached or timed-out lookup); fire-and-forget writes are followed.
 *   A second redirect, TRYAGAIN, CLUSTERDOWN and the rest go to the
 *   caller as the error replies they are: the page fails open.
 *
 * No circuit breaker here: a dead node refuses its connects at once, and
 * a mute one costs each request at most vpt_redis_timeout.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_vpt_cluster_int.h"


static void ngx_vpt_cluster_node_connected(ngx_vpt_rconn_t *rc,
    ngx_uint_t ok);
static void ngx_vpt_cluster_node_closed(ngx_vpt_rconn_t *rc, ngx_uint_t ok);
static ngx_vpt_ccall_t *ngx_vpt_cluster_call(ngx_str_t *key,
    ngx_vpt_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);
static ngx_int_t ngx_vpt_cluster_send(ngx_vpt_ccall_t *pc,
    ngx_vpt_cnode_t *n, ngx_uint_t asking);
static void ngx_vpt_cluster_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static ngx_uint_t ngx_vpt_cluster_redirect(ngx_vpt_ccall_t *pc,
    redisReply *reply, vpt_redis_err_e kind);


ngx_vpt_cluster_t  ngx_vpt_cluster;


ngx_uint_t
ngx_vpt_cluster_enabled(void)
{
    return ngx_vpt_cluster.enabled;
}


void
ngx_vpt_cluster_init_worker(ngx_cycle_t *cycle, ngx_vpt_redis_topo_t *topo)
{
    ngx_uint_t             i;
    ngx_vpt_cluster_t     *cl;
    ngx_vpt_redis_addr_t  *seed;

    cl = &ngx_vpt_cluster;

    ngx_memzero(cl, sizeof(ngx_vpt_cluster_t));

    cl->topo = topo;
    cl->enabled = 1;
    cl->logged = ngx_current_msec - NGX_VPT_CLUSTER_LOG_EVERY;

    cl->refresh.handler = ngx_vpt_cluster_refresh_handler;
    cl->refresh.log = cycle->log;
    cl->refresh.cancelable = 1;
    cl->deadline.handler = ngx_vpt_cluster_deadline_handler;
    cl->deadline.log = cycle->log;
    cl->deadline.cancelable = 1;

    seed = topo->seeds->elts;

    for (i = 0; i < topo->seeds->nelts; i++) {
        (void) ngx_vpt_cluster_node(seed[i].host.data, seed[i].host.len,
                                    seed[i].port);
    }

    ngx_vpt_cluster_schedule(0);
}


void
ngx_vpt_cluster_exit_worker(void)
{
    ngx_uint_t          i;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    if (!cl->enabled) {
        return;
    }

    cl->exiting = 1;

    if (cl->refresh.timer_set) {
        ngx_del_timer(&cl->refresh);
    }

    if (cl->deadline.timer_set) {
        ngx_del_timer(&cl->deadline);
    }

    for (i = 0; i < cl->nnodes; i++) {
        ngx_vpt_rconn_close(&cl->node[i].rc);
    }

    if (cl->map) {
        vpt_cluster_map_free(cl->map);
        ngx_free(cl->map_node);
        cl->map = NULL;
    }
}


/* the node at host:port, added when new; NULL: not numeric, table full */

ngx_vpt_cnode_t *
ngx_vpt_cluster_node(const u_char *host, size_t len, unsigned port)
{
    u_char              c;
    size_t              i;
    ngx_vpt_cnode_t    *n;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    for (i = 0; i < cl->nnodes; i++) {
        n = &cl->node[i];

        if (n->port == port && n->host_len == len
            && ngx_memcmp(n->host, host, len) == 0)
        {
            return n;
        }
    }

    /* digits, hex digits, '.' and ':': an IPv4 or IPv6 address */

    for (i = 0; i < len; i++) {
        c = host[i] | 0x20;

        if (!((c >= '0' && c <= '9') || c == '.' || c == ':'
              || (c >= 'a' && c <= 'f')))
        {
            break;
        }
    }

    if (len == 0 || i < len || len > NGX_SOCKADDR_STRLEN
        || cl->nnodes == NGX_VPT_CLUSTER_NODES)
    {
        if (ngx_current_msec - cl->logged >= NGX_VPT_CLUSTER_LOG_EVERY) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "vpt redis cluster: node \"%*s:%ui\" not used: %s",
                          len, host, (ngx_uint_t) port,
                          cl->nnodes == NGX_VPT_CLUSTER_NODES
                          ? "too many nodes"
                          : "not a numeric address (names would be "
                            "resolved with a blocking call)");
            cl->logged = ngx_current_msec;
        }

        return NULL;
    }

    n = &cl->node[cl->nnodes++];

    ngx_memzero(n, sizeof(ngx_vpt_cnode_t));
    ngx_memcpy(n->host, host, len);
    n->host[len] = '\0';
    n->host_len = len;
    n->port = port;
    n->rc.name.data = n->text;
    n->rc.name.len = ngx_sprintf(n->text, "%s:%ui", n->host,
                                 (ngx_uint_t) port) - n->text;
    n->rc.connected = ngx_vpt_cluster_node_connected;
    n->rc.closed = ngx_vpt_cluster_node_closed;
    n->rc.data = n;
    n->logged = ngx_current_msec - NGX_VPT_CLUSTER_LOG_EVERY;

    return n;
}


/* the node's connection, made on first use; NULL: not now */

ngx_vpt_cnode_t *
ngx_vpt_cluster_usable(ngx_vpt_cnode_t *n)
{
    if (n == NULL || ngx_vpt_cluster.exiting) {
        return NULL;
    }

    if (n->rc.ac == NULL) {
        if (n->failures && ngx_current_msec - n->failed_at
                           < NGX_VPT_CLUSTER_RETRY)
        {
            return NULL;
        }

        if (ngx_vpt_rconn_open(&n->rc, (const char *) n->host,
                               (int) n->port)
            != NGX_OK)
        {
            n->failures++;
            n->failed_at = ngx_current_msec;
            return NULL;
        }

        /* before any command */
        ngx_vpt_redis_topology_greet(n->rc.ac);
    }

    if (n->rc.ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)) {
        return NULL;
    }

    return n;
}


static void
ngx_vpt_cluster_node_connected(ngx_vpt_rconn_t *rc, ngx_uint_t ok)
{
    ngx_vpt_cnode_t  *n = rc->data;

    if (!ok) {
        return;
    }

    n->stats.connects++;

    if (n->failures) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "vpt redis cluster node %V: connected again",
                      &rc->name);

    } else {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "vpt redis cluster node %V: connected", &rc->name);
    }

    n->failures = 0;
}


static void
ngx_vpt_cluster_node_closed(ngx_vpt_rconn_t *rc, ngx_uint_t ok)
{
    ngx_vpt_cnode_t    *n = rc->data;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    if (cl->exiting) {
        return;
    }

    n->failures++;
    n->failed_at = ngx_current_msec;

    if (ok || ngx_current_msec - n->logged >= NGX_VPT_CLUSTER_LOG_EVERY) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "vpt redis cluster node %V: %s%s (%ui failures in a "
                      "row); its shoppers' pages go out without offers "
                      "until the map names another master", &rc->name,
                      ok ? "connection lost" : "connect failed",
                      n->failures > 1 ? ", again" : "", n->failures);
        n->logged = ngx_current_msec;
    }

    /* a master gone: its replica takes over, the map will say so */
    ngx_vpt_cluster_schedule(0);
}


/* commands */


ngx_vpt_redis_call_t *
ngx_vpt_cluster_command(ngx_str_t *key, ngx_vpt_redis_handler_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    ngx_vpt_ccall_t  *pc;

    pc = ngx_vpt_cluster_call(key, handler, data, argc, argv, argvlen);

    return pc ? &pc->call : NULL;
}


ngx_int_t
ngx_vpt_cluster_fire(ngx_str_t *key, int argc, const char **argv,
    const size_t *argvlen)
{
    ngx_vpt_ccall_t  *pc;

    pc = ngx_vpt_cluster_call(key, NULL, NULL, argc, argv, argvlen);

    return pc ? NGX_OK : NGX_DECLINED;
}


void
ngx_vpt_cluster_timed_out(ngx_vpt_redis_call_t *call)
{
    if (call != NULL) {
        call->handler = NULL;
        ngx_vpt_cluster.stats.timeouts++;
    }
}


static ngx_vpt_ccall_t *
ngx_vpt_cluster_call(ngx_str_t *key, ngx_vpt_redis_handler_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    int                 i;
    size_t              len;
    u_char             *p;
    unsigned            slot, idx;
    ngx_vpt_cnode_t    *n;
    ngx_vpt_ccall_t    *pc;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;

    if (cl->map == NULL || cl->stats.pending >= NGX_VPT_CLUSTER_MAX_PENDING)
    {
        cl->stats.rejected++;
        return NULL;
    }

    slot = vpt_cluster_keyslot((const char *) key->data, key->len);
    idx = vpt_cluster_map_master(cl->map, slot);

    n = (idx == VPT_CLUSTER_NO_NODE) ? NULL
        : ngx_vpt_cluster_usable(cl->map_node[idx]);

    if (n == NULL) {
        cl->stats.rejected++;
        return NULL;
    }

    /* RESP, kept with the call to be sent again after a redirect */

    len = sizeof("*\r\n") - 1 + NGX_INT_T_LEN + 1;

    for (i = 0; i < argc; i++) {
        len += sizeof("$\r\n\r\n") - 1 + NGX_SIZE_T_LEN + argvlen[i];
    }

    pc = ngx_alloc(sizeof(ngx_vpt_ccall_t) + len, ngx_cycle->log);
    if (pc == NULL) {
        cl->stats.rejected++;
        return NULL;
    }

    p = ngx_sprintf(pc->cmd, "*%d\r\n", argc);

    for (i = 0; i < argc; i++) {
        p = ngx_sprintf(p, "$%uz\r\n", argvlen[i]);
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = CR; *p++ = LF;
    }

    /* hiredis looks one byte past a one-argument command for its name */
    *p = '\0';

    pc->len = p - pc->cmd;
    pc->call.handler = handler;
    pc->call.data = data;
    pc->call.start = ngx_current_msec;
    pc->node = NULL;
    pc->fire = (handler == NULL);
    pc->redirected = 0;

    if (ngx_vpt_cluster_send(pc, n, 0) != NGX_OK) {
        ngx_free(pc);
        cl->stats.rejected++;
        return NULL;
    }

    return pc;
}


static ngx_int_t
ngx_vpt_cluster_send(ngx_vpt_ccall_t *pc, ngx_vpt_cnode_t *n,
    ngx_uint_t asking)
{
    static const char  asking_cmd[] = "*1\r\n$6\r\nASKING\r\n";

    if (asking
        && redisAsyncFormattedCommand(n->rc.ac, NULL, NULL, asking_cmd,
                                      sizeof(asking_cmd) - 1)
           != REDIS_OK)
    {
        return NGX_ERROR;
    }

    if (redisAsyncFormattedCommand(n->rc.ac, ngx_vpt_cluster_reply, pc,
                                   (const char *) pc->cmd, pc->len)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    pc->node = n;
    n->stats.commands++;
    ngx_vpt_cluster.stats.pending++;
    ngx_vpt_cluster.stats.sent++;

    return NGX_OK;
}


static void
ngx_vpt_cluster_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply         *reply = r;
    vpt_redis_err_e     kind;
    ngx_vpt_ccall_t    *pc = privdata;
    ngx_vpt_cluster_t  *cl;

    cl = &ngx_vpt_cluster;
    cl->stats.pending--;

    if (reply == NULL) {
        pc->node->stats.errors++;

    } else if (reply->type == REDIS_REPLY_ERROR && !cl->exiting) {
        kind = vpt_redis_error_kind(reply->str, reply->len);

        if ((kind == VPT_REDIS_ERR_MOVED || kind == VPT_REDIS_ERR_ASK)
            && ngx_vpt_cluster_redirect(pc, reply, kind))
        {
            /* sent again: the same call, another reply to come */
            return;
        }

        if (kind == VPT_REDIS_ERR_CLUSTERDOWN
            || kind == VPT_REDIS_ERR_MOVED)
        {
            ngx_vpt_cluster_schedule(0);
        }

        if (kind != VPT_REDIS_ERR_WRONGTYPE) {
            pc->node->stats.errors++;
        }

        if (pc->fire
            && ngx_current_msec - cl->logged >= NGX_VPT_CLUSTER_LOG_EVERY)
        {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "vpt redis cluster node %V: write failed: \"%*s\"",
                          &pc->node->rc.name,
                          (size_t) ngx_min(reply->len, 200), reply->str);
            cl->logged = ngx_current_msec;
        }
    }

    if (!cl->exiting && pc->call.handler != NULL) {
        pc->call.handler(&pc->call, reply);
    }

    ngx_free(pc);
}


/* MOVED or ASK: 1 if the command went again, to the node named */

static ngx_uint_t
ngx_vpt_cluster_redirect(ngx_vpt_ccall_t *pc, redisReply *reply,
    vpt_redis_err_e kind)
{
    int                      idx;
    size_t                   hlen;
    const u_char            *host;
    ngx_vpt_cnode_t         *n;
    ngx_vpt_cluster_t       *cl;
    vpt_cluster_redirect_t   rd;

    cl = &ngx_vpt_cluster;

    if (kind == VPT_REDIS_ERR_MOVED) {
        cl->stats.moved++;

    } else {
        cl->stats.ask++;
    }

    if (pc->redirected || (!pc->fire && pc->call.handler == NULL)) {
        /* once per command; nobody waits for this one */
        return 0;
    }

    if (vpt_cluster_redirect_parse(reply->str, reply->len, &rd) != VPT_OK) {
        return 0;
    }

    /* an empty host: the node that answered */
    host = rd.host.len ? (const u_char *) rd.host.data : pc->node->host;
    hlen = rd.host.len ? rd.host.len : pc->node->host_len;

    n = NULL;

    if (kind == VPT_REDIS_ERR_MOVED && cl->map != NULL) {
        idx = vpt_cluster_map_move(cl->map, rd.slot, (const char *) host,
                                   hlen, rd.port);
        if (idx >= 0) {
            n = cl->map_node[idx];
        }

        ngx_vpt_cluster_schedule(0);
    }

    if (n == NULL) {
        n = ngx_vpt_cluster_node(host, hlen, rd.port);
    }

    n = ngx_vpt_cluster_usable(n);

    if (n == NULL) {
        return 0;
    }

    pc->redirected = 1;

    return ngx_vpt_cluster_send(pc, n, kind == VPT_REDIS_ERR_ASK) == NGX_OK;
}
