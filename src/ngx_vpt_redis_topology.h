
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * Redis past one plain server: authentication, the database, and the
 * Sentinel that names the master.  The connection layer (ngx_vpt_redis*.c)
 * asks here what to send on a new connection and tells here when the
 * master's connection failed or a reply says it is no longer the master.
 *
 *   ngx_vpt_redis_topology.c  the directives, AUTH and SELECT on every
 *                             new connection
 *   ngx_vpt_redis_sentinel.c  the master's address asked of the sentinels
 */

#ifndef NGX_VPT_REDIS_TOPOLOGY_H
#define NGX_VPT_REDIS_TOPOLOGY_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_vpt_redis.h"


/* the http block's vpt_redis_* topology directives */
typedef struct {
    ngx_str_t                  password;      /* len 0: no AUTH */
    ngx_str_t                  password_file; /* for logs */
    ngx_str_t                  user;          /* len 0: AUTH password */
    ngx_int_t                  db;            /* NGX_CONF_UNSET: none */
    ngx_str_t                  master_name;   /* len 0: not Sentinel */
    ngx_array_t               *sentinels;     /* ngx_vpt_redis_addr_t */
    ngx_array_t               *seeds;         /* cluster's, same */
    ngx_uint_t                 forms;         /* vpt_redis* seen: 1 */
} ngx_vpt_redis_topo_t;


char *ngx_vpt_redis_conf_password_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_vpt_redis_conf_cluster(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_vpt_redis_conf_sentinel(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
/* the one-form rule, and what each form allows; from init_main_conf */
char *ngx_vpt_redis_conf_check(ngx_conf_t *cf, ngx_vpt_redis_topo_t *topo,
    ngx_vpt_redis_addr_t *redis);

/* from init_process, before ngx_vpt_redis_init_worker() */
void ngx_vpt_redis_topology_init(ngx_vpt_redis_topo_t *topo);

/*
 * A new connection is up: AUTH and SELECT, queued before any other
 * command (hiredis keeps the order)
 */
void ngx_vpt_redis_topology_greet(redisAsyncContext *ac);

/* every error reply: READONLY and MASTERDOWN send us to the sentinels */
void ngx_vpt_redis_topology_error(const redisReply *reply);

/* the master's connection failed or was lost */
void ngx_vpt_redis_topology_lost(void);

/* Sentinel (ngx_vpt_redis_sentinel.c) */
ngx_uint_t ngx_vpt_redis_sentinel_enabled(void);
void ngx_vpt_redis_sentinel_init_worker(ngx_cycle_t *cycle,
    ngx_vpt_redis_topo_t *topo);
void ngx_vpt_redis_sentinel_exit_worker(void);
/* look for the master again (at most one round in flight) */
void ngx_vpt_redis_sentinel_ask(const char *why);
/* the master as last found, "" before */
ngx_str_t *ngx_vpt_redis_sentinel_master(void);
ngx_uint_t ngx_vpt_redis_sentinel_switches(void);


#endif /* NGX_VPT_REDIS_TOPOLOGY_H */
