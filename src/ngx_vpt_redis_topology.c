
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * Authentication and the database: the directives (read and checked at
 * configuration time) and what every new connection sends first.
 *
 * AUTH and SELECT are queued as soon as the connection is up, before the
 * connection is usable, so they precede every request's command on it
 * (hiredis sends in order; they need no wait: requests pipelined behind
 * them are answered after them).  A refused AUTH or SELECT is a
 * configuration error seen at run time: it is logged at "error", at most
 * once every NGX_VPT_REDIS_GREET_LOG_EVERY ms with the count in between,
 * and the connection is dropped, so the reconnect (with its backoff) tries
 * again; the requests behind it get the same error and fail open as
 * redis_error.  The password is never logged.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_vpt.h"
#include "ngx_vpt_redis_int.h"
#include "ngx_vpt_redis_topology.h"
#include "ngx_vpt_redis_conn.h"
#include "vpt_cluster.h"


#define NGX_VPT_REDIS_PASSWORD_MAX     4096     /* bytes of the file read */
#define NGX_VPT_REDIS_GREET_LOG_EVERY  10000    /* ms */


static ngx_array_t *ngx_vpt_redis_conf_addrs(ngx_conf_t *cf,
    ngx_uint_t first, const char *what);
static void ngx_vpt_redis_greet_reply(redisAsyncContext *ac, void *r,
    void *privdata);


static ngx_vpt_redis_topo_t  *ngx_vpt_redis_topo;
static ngx_msec_t             ngx_vpt_redis_greet_logged;
static ngx_uint_t             ngx_vpt_redis_greet_failures;
static ngx_uint_t             ngx_vpt_redis_greet_any;
static ngx_str_t              ngx_vpt_redis_cluster_node =
    ngx_string("cluster node");


/* vpt_redis_password_file FILE: the secret is the file's first line */

char *
ngx_vpt_redis_conf_password_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_vpt_redis_topo_t  *topo = (ngx_vpt_redis_topo_t *)
                                      ((char *) conf + cmd->offset);

    u_char           *buf, *p, *last;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t        *value, name;
    ngx_file_info_t   fi;

    if (topo->password_file.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "vpt_redis_password_file: cannot open \"%V\"",
                           &name);
        return NGX_CONF_ERROR;
    }

    buf = ngx_pnalloc(cf->pool, NGX_VPT_REDIS_PASSWORD_MAX);
    if (buf == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, NGX_VPT_REDIS_PASSWORD_MAX);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "vpt_redis_password_file: cannot read \"%V\"",
                           &name);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR
        && (ngx_file_access(&fi) & 0004))
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "vpt_redis_password_file \"%V\" is readable "
                           "by every user", &name);
    }

    ngx_close_file(fd);

    last = buf + n;

    for (p = buf; p < last && *p != LF && *p != CR; p++) {
        /* the first line */
    }

    if (p == buf) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt_redis_password_file: the first line of "
                           "\"%V\" is empty", &name);
        return NGX_CONF_ERROR;
    }

    topo->password.data = buf;
    topo->password.len = p - buf;
    topo->password_file = name;

    return NGX_CONF_OK;
}


/* vpt_redis_sentinel MASTER_NAME host:port [host:port ...] */

char *
ngx_vpt_redis_conf_sentinel(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_vpt_redis_topo_t  *topo = (ngx_vpt_redis_topo_t *)
                                      ((char *) conf + cmd->offset);

    ngx_str_t             *value;

    if (topo->master_name.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "has an empty master name";
    }

    topo->master_name = value[1];
    topo->forms++;

    topo->sentinels = ngx_vpt_redis_conf_addrs(cf, 2, "a sentinel");
    if (topo->sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* vpt_redis_cluster host:port [host:port ...]: the seeds */

char *
ngx_vpt_redis_conf_cluster(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_vpt_redis_topo_t  *topo = (ngx_vpt_redis_topo_t *)
                                      ((char *) conf + cmd->offset);

    if (topo->seeds) {
        return "is duplicate";
    }

    topo->forms++;

    topo->seeds = ngx_vpt_redis_conf_addrs(cf, 1, "a cluster node");
    if (topo->seeds == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the counters key's table, built now rather than in a worker */
    vpt_cluster_init();

    return NGX_CONF_OK;
}


char *
ngx_vpt_redis_conf_check(ngx_conf_t *cf, ngx_vpt_redis_topo_t *topo,
    ngx_vpt_redis_addr_t *redis)
{
    if (topo->forms + (redis != NULL) > 1) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "only one of vpt_redis, vpt_redis_sentinel and "
                      "vpt_redis_cluster may be set in an http block");
        return NGX_CONF_ERROR;
    }

    if (topo->user.len && topo->password.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "vpt_redis_user \"%V\" needs "
                      "vpt_redis_password_file", &topo->user);
        return NGX_CONF_ERROR;
    }

    if (topo->seeds && topo->db != NGX_CONF_UNSET && topo->db != 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "vpt_redis_db %i with vpt_redis_cluster: a Redis "
                      "Cluster has only database 0", topo->db);
        return NGX_CONF_ERROR;
    }

    if (topo->db != NGX_CONF_UNSET && (topo->db < 0 || topo->db > 65535)) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "vpt_redis_db %i is out of range 0..65535", topo->db);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


void
ngx_vpt_redis_topology_init(ngx_vpt_redis_topo_t *topo)
{
    ngx_vpt_redis_topo = topo;
    ngx_vpt_redis_greet_logged = ngx_current_msec
                                 - NGX_VPT_REDIS_GREET_LOG_EVERY;
    ngx_vpt_redis_greet_failures = 0;
    ngx_vpt_redis_greet_any = 0;
}


void
ngx_vpt_redis_topology_greet(redisAsyncContext *ac)
{
    int                    argc;
    u_char                 db[NGX_INT_T_LEN];
    size_t                 argvlen[3];
    const char            *argv[3];
    ngx_vpt_redis_topo_t  *topo;

    topo = ngx_vpt_redis_topo;

    if (topo == NULL) {
        return;
    }

    if (topo->password.len) {
        argc = 0;
        argv[argc] = "AUTH";
        argvlen[argc++] = 4;

        if (topo->user.len) {
            argv[argc] = (const char *) topo->user.data;
            argvlen[argc++] = topo->user.len;
        }

        argv[argc] = (const char *) topo->password.data;
        argvlen[argc++] = topo->password.len;

        if (redisAsyncCommandArgv(ac, ngx_vpt_redis_greet_reply, "AUTH",
                                  argc, argv, argvlen)
            != REDIS_OK)
        {
            ngx_vpt_redis_abort("cannot queue AUTH");
            return;
        }
    }

    if (topo->db != NGX_CONF_UNSET && topo->db != 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", topo->db) - db;

        if (redisAsyncCommandArgv(ac, ngx_vpt_redis_greet_reply, "SELECT",
                                  2, argv, argvlen)
            != REDIS_OK)
        {
            ngx_vpt_redis_abort("cannot queue SELECT");
        }
    }
}


static void
ngx_vpt_redis_greet_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_str_t        *name;
    redisReply       *reply = r;
    ngx_vpt_rconn_t  *rc;

    if (reply == NULL || ngx_vpt_redis.exiting) {
        /* the connection went: logged there */
        return;
    }

    if (ngx_vpt_redis_topo->seeds) {
        /* a cluster node's (ngx_vpt_redis_conn.c) */
        rc = ac->data;
        name = rc ? &rc->name : &ngx_vpt_redis_cluster_node;

    } else {
        name = &ngx_vpt_redis.addr->name;
    }

    if (reply->type != REDIS_REPLY_ERROR) {
        if (ngx_vpt_redis_greet_any) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "vpt redis \"%V\": %s accepted",
                          name, (char *) privdata);
            ngx_vpt_redis_greet_any = 0;
        }

        return;
    }

    ngx_vpt_redis_greet_failures++;

    if (ngx_current_msec - ngx_vpt_redis_greet_logged
        >= NGX_VPT_REDIS_GREET_LOG_EVERY)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "vpt redis \"%V\": %s refused: \"%*s\"%s%V%s "
                      "(%ui times since the last such message); "
                      "pages go out without offers",
                      name, (char *) privdata,
                      (size_t) ngx_min(reply->len, 200), reply->str,
                      ngx_vpt_redis_topo->password_file.len
                      ? " (password from " : "",
                      &ngx_vpt_redis_topo->password_file,
                      ngx_vpt_redis_topo->password_file.len ? ")" : "",
                      ngx_vpt_redis_greet_failures);

        ngx_vpt_redis_greet_logged = ngx_current_msec;
        ngx_vpt_redis_greet_failures = 0;
    }

    ngx_vpt_redis_greet_any = 1;

    if (ngx_vpt_redis_topo->seeds == NULL) {
        /* not from inside hiredis: the reconnect's backoff tries again */
        ngx_vpt_redis_abort("AUTH or SELECT refused");
    }

    /* a cluster node's connection stays: its commands fail open */
}


void
ngx_vpt_redis_topology_error(const redisReply *reply)
{
    vpt_redis_err_e  kind;

    if (!ngx_vpt_redis_sentinel_enabled()) {
        return;
    }

    kind = vpt_redis_error_kind(reply->str, reply->len);

    if (kind == VPT_REDIS_ERR_READONLY || kind == VPT_REDIS_ERR_MASTERDOWN) {
        ngx_vpt_redis_sentinel_ask(kind == VPT_REDIS_ERR_READONLY
                                   ? "the master answered READONLY"
                                   : "the master answered MASTERDOWN");
    }
}


void
ngx_vpt_redis_topology_lost(void)
{
    if (ngx_vpt_redis_sentinel_enabled()) {
        ngx_vpt_redis_sentinel_ask("the master's connection failed");
    }
}


/*
 * The directive's arguments from the first on, each a TCP host:port
 * (Sentinel and Cluster speak of addresses, not of a socket path); NULL
 * when one is not, after saying so
 */

static ngx_array_t *
ngx_vpt_redis_conf_addrs(ngx_conf_t *cf, ngx_uint_t first, const char *what)
{
    ngx_str_t             *value;
    ngx_uint_t             i;
    ngx_array_t           *addrs;
    ngx_vpt_redis_addr_t  *addr;

    value = cf->args->elts;

    addrs = ngx_array_create(cf->pool, cf->args->nelts - first,
                             sizeof(ngx_vpt_redis_addr_t));
    if (addrs == NULL) {
        return NULL;
    }

    for (i = first; i < cf->args->nelts; i++) {
        addr = ngx_array_push(addrs);
        if (addr == NULL) {
            return NULL;
        }

        /* it says what is wrong */
        if (ngx_vpt_redis_parse_addr(cf, &value[i], addr) != NGX_CONF_OK) {
            return NULL;
        }

        if (addr->unix_path.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V \"%V\": %s is host:port", &value[0],
                               &value[i], what);
            return NULL;
        }
    }

    return addrs;
}
