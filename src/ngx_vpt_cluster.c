
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * Redis Cluster routing (vpt_redis_cluster), per worker: the slot map, a
 * connection per node opened on first use, MOVED and ASK followed once.
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

#include "ngx_vpt_redis_int.h"
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


static ngx_vpt_cnode_t *ngx_vpt_cluster_node(const u_char *host,
    size_t len, unsigned port);
static ngx_vpt_cnode_t *ngx_vpt_cluster_usable(ngx_vpt_cnode_t *n);
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
static void ngx_vpt_cluster_schedule(ngx_msec_t delay);
static void ngx_vpt_cluster_refresh_handler(ngx_event_t *ev);
static void ngx_vpt_cluster_deadline_handler(ngx_event_t *ev);
static void ngx_vpt_cluster_slots_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_vpt_cluster_install(redisReply *reply, ngx_vpt_cnode_t *from);
static void ngx_vpt_cluster_refresh_done(ngx_uint_t ok);


static ngx_vpt_cluster_t  ngx_vpt_cluster;


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

static ngx_vpt_cnode_t *
ngx_vpt_cluster_node(const u_char *host, size_t len, unsigned port)
{
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

    for (i = 0; i < len; i++) {
        if (!((host[i] >= '0' && host[i] <= '9') || host[i] == '.' || host[i] == ':'
              || (host[i] >= 'a' && host[i] <= 'f')
              || (host[i] >= 'A' && host[i] <= 'F')))
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

static ngx_vpt_cnode_t *
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


/* the slot map */


static void
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


static void
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


static void
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
