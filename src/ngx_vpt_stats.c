/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Shared counters; the status page that shows them is
 * ngx_vpt_status_page.c.
 *
 * The counters live in one shared memory zone, "vpt_status", of a fixed
 * size (room for NGX_VPT_STATS_MAX_OFFERS offers), so that a reload finds
 * it again and the counters go on from where they were.  Every counter is
 * an ngx_atomic_t changed only with ngx_atomic_fetch_add(): no lock on the
 * request path.  Offers are counted in slots keyed by the offer's id, which
 * the zone stores; the zone's init handler maps the catalog's offers to
 * their slots (by id, so a reordered or extended catalog keeps its counts)
 * and that map is per cycle, in the configuration's memory.
 *
 * A log phase handler counts every main request that has the module's
 * context once, by its outcome (ctx->outcome, which $vpt_status prints:
 * the page and the access log never disagree).
 *
 * The Redis circuit breaker and connection are per worker: each worker
 * publishes its own state into its slot of the zone (by ngx_worker) from
 * the log handler, on every request it logs, and before it answers a
 * scrape; the page lists the workers that have published since the zone
 * was (re)initialised.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "ngx_vpt_stats_int.h"


#define NGX_VPT_STATS_VERSION      2


static ngx_int_t ngx_http_vpt_stats_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_vpt_stats_log_handler(ngx_http_request_t *r);
static void ngx_http_vpt_stats_count_offer(ngx_http_vpt_stats_conf_t *conf,
    ngx_uint_t offer, ngx_uint_t accept);
static void ngx_http_vpt_stats_count_accept(ngx_http_vpt_stats_conf_t *conf,
    ngx_http_vpt_ctx_t *ctx);


static ngx_str_t  ngx_http_vpt_stats_zone_name = ngx_string("vpt_status");

/* microseconds */
static int64_t  ngx_http_vpt_stats_bounds[NGX_VPT_STATS_BUCKETS - 1] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000
};


/* from postconfiguration: the zone and the log phase handler */

ngx_int_t
ngx_http_vpt_init_stats(ngx_conf_t *cf)
{
    ngx_uint_t                   i;
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_vpt_main_conf_t    *vmcf;
    ngx_http_vpt_stats_conf_t  *conf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    if (vmcf->catalog == NULL) {
        /* nothing can be counted: the page shows zeros */
        return NGX_OK;
    }

    if (vmcf->catalog->n > NGX_VPT_STATS_MAX_OFFERS) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "vpt: the status page counts the first %d "
                           "offers of the catalog's %uz",
                           NGX_VPT_STATS_MAX_OFFERS, vmcf->catalog->n);
    }

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpt_stats_conf_t));
    if (conf == NULL) {
        return NGX_ERROR;
    }

    conf->catalog = vmcf->catalog;
    conf->redis = (vmcf->redis != NULL);

    conf->slot = ngx_palloc(cf->pool,
                            (vmcf->catalog->n + 1) * sizeof(uint32_t));
    conf->taken = ngx_palloc(cf->pool, NGX_VPT_STATS_MAX_OFFERS);
    if (conf->slot == NULL || conf->taken == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < vmcf->catalog->n; i++) {
        conf->slot[i] = NGX_VPT_STATS_NO_SLOT;
    }

    if (ngx_http_vpt_stats_experiments(cf, conf) != NGX_OK
        || ngx_http_vpt_stats_info(cf, conf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a fixed size, whatever the catalog: a reload finds the zone again */
    if (ngx_http_vpt_shm_add(cf, &ngx_http_vpt_stats_zone_name,
                             sizeof(ngx_http_vpt_stats_shm_t),
                             ngx_http_vpt_stats_init_zone, conf)
        == NULL)
    {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_vpt_stats_log_handler;

    return NGX_OK;
}


/*
 * In the master, once per cycle.  data is the previous cycle's conf when
 * the zone is reused (a reload): its counters stay, and the new catalog's
 * offers are mapped to their slots by id.  A new id takes a slot never
 * used, else one whose id the new catalog no longer has (its counts are
 * dropped).  Workers of the old cycle may still count while this runs;
 * they only add to counters, and ids move only when slots run out.
 */

static ngx_int_t
ngx_http_vpt_stats_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_vpt_stats_conf_t  *conf = shm_zone->data;

    long                          i;
    size_t                        n;
    uint32_t                      j, spare;
    vpt_str_t                     id;
    vpt_offer_t                  *o;
    ngx_http_vpt_stats_shm_t    *sh;
    ngx_http_vpt_stats_offer_t  *slot;

    sh = ngx_http_vpt_shm_struct(shm_zone, data, NGX_VPT_STATS_VERSION,
                                 sizeof(ngx_http_vpt_stats_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    conf->sh = sh;

    /* the new workers publish again; the old ones' states are stale */

    for (j = 0; j < NGX_MAX_PROCESSES; j++) {
        sh->workers[j].pid = 0;
    }

    ngx_memzero(conf->taken, NGX_VPT_STATS_MAX_OFFERS);

    n = ngx_min(conf->catalog->n, NGX_VPT_STATS_MAX_OFFERS);

    for (j = 0; j < sh->nslots; j++) {
        slot = &sh->offers[j];

        if (slot->len == 0) {
            continue;
        }

        id.data = (const char *) slot->id;
        id.len = slot->len;

        i = vpt_catalog_find(conf->catalog, id);

        if (i >= 0 && (size_t) i < n) {
            conf->slot[i] = j;
            conf->taken[j] = 1;
        }
    }

    spare = 0;

    for (i = 0; (size_t) i < n; i++) {
        if (conf->slot[i] != NGX_VPT_STATS_NO_SLOT) {
            continue;
        }

        o = &conf->catalog->offers[i];

        if (o->id.len == 0 || o->id.len > NGX_VPT_STATS_ID_LEN) {
            continue;
        }

        if (sh->nslots < NGX_VPT_STATS_MAX_OFFERS) {
            j = sh->nslots++;

        } else {
            /* reuse the slot of an offer that is gone */

            while (spare < NGX_VPT_STATS_MAX_OFFERS && conf->taken[spare]) {
                spare++;
            }

            if (spare == NGX_VPT_STATS_MAX_OFFERS) {
                break;
            }

            j = spare;
        }

        slot = &sh->offers[j];
        slot->impressions = 0;
        slot->accepts = 0;
        slot->value = 0;
        slot->len = o->id.len;
        ngx_memcpy(slot->id, o->id.data, o->id.len);

        conf->slot[i] = j;
        conf->taken[j] = 1;
    }

    ngx_http_vpt_stats_map_experiments(conf);

    return NGX_OK;
}


/* this cycle's counters, or NULL when there are none (no catalog) */

ngx_http_vpt_stats_conf_t *
ngx_http_vpt_stats_conf(void)
{
    ngx_uint_t        i;
    ngx_shm_zone_t   *zone;
    ngx_list_part_t  *part;

    static ngx_cycle_t                 *cycle;
    static ngx_http_vpt_stats_conf_t  *conf;

    /* a worker lives in one cycle: look the zone up once */
    if (cycle == ngx_cycle) {
        return conf;
    }

    cycle = (ngx_cycle_t *) ngx_cycle;
    conf = NULL;

    part = (ngx_list_part_t *) &ngx_cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == &ngx_http_vpt_module
            && zone[i].shm.name.len == ngx_http_vpt_stats_zone_name.len
            && ngx_strncmp(zone[i].shm.name.data,
                           ngx_http_vpt_stats_zone_name.data,
                           ngx_http_vpt_stats_zone_name.len)
               == 0)
        {
            conf = zone[i].data;
            return conf;
        }
    }
}


/* this worker's Redis state, into its slot (plain word stores) */

void
ngx_http_vpt_stats_publish(ngx_http_vpt_stats_conf_t *conf)
{
    ngx_vpt_redis_stats_t         rs;
    ngx_http_vpt_stats_worker_t  *w;

    if (!conf->redis || ngx_worker >= NGX_MAX_PROCESSES) {
        return;
    }

    w = &conf->sh->workers[ngx_worker];

    ngx_vpt_redis_stats(&rs);

    w->breaker = (ngx_atomic_uint_t) rs.breaker;
    w->connected = rs.connected ? 1 : 0;
    w->errors = (ngx_atomic_uint_t) rs.errors;
    w->timeouts = (ngx_atomic_uint_t) rs.timeouts;
    w->in_flight = (ngx_atomic_uint_t) rs.pending;
    w->reconnects = (ngx_atomic_uint_t) (rs.connects ? rs.connects - 1 : 0);
    ngx_vpt_status_topology_publish(conf->sh->topo, ngx_worker);
    w->pid = (ngx_atomic_uint_t) ngx_pid;
}


static ngx_int_t
ngx_http_vpt_stats_log_handler(ngx_http_request_t *r)
{
    int64_t                      us;
    ngx_uint_t                   i, b;
    ngx_vpt_outcome_e             st;
    ngx_http_vpt_ctx_t          *ctx, *sub;
    ngx_http_vpt_stats_shm_t   *sh;
    ngx_http_vpt_stats_conf_t  *conf;

    /* the requests vpt never saw cost one pointer test */

    if (r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_vpt_module);
    if (ctx == NULL) {
        return NGX_OK;
    }

    conf = ngx_http_vpt_stats_conf();
    if (conf == NULL || conf->sh == NULL) {
        return NGX_OK;
    }

    ngx_http_vpt_stats_publish(conf);

    st = ctx->outcome;

    if (st == NGX_VPT_OUT_NONE || st >= NGX_VPT_OUT_N) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "vpt: request logged without an outcome");
        return NGX_OK;
    }

    sh = conf->sh;

    (void) ngx_atomic_fetch_add(&sh->requests, 1);
    (void) ngx_atomic_fetch_add(&sh->outcomes[st], 1);

    if (st == NGX_VPT_OUT_INJECTED && !ctx->repeat) {
        for (i = 0; i < ctx->decision.n && i < VPT_MAX_SLOTS; i++) {
            ngx_http_vpt_stats_count_offer(conf, ctx->decision.offer[i], 0);
        }

    } else if (st == NGX_VPT_OUT_ACCEPT) {
        ngx_http_vpt_stats_count_accept(conf, ctx);
    }

    ngx_http_vpt_stats_count_arm(conf, ctx);

    /* beacons this page ran as subrequests, which have no log phase */

    for (sub = ctx->sub_accepts; sub; sub = sub->next_accept) {
        (void) ngx_atomic_fetch_add(&sh->requests, 1);
        (void) ngx_atomic_fetch_add(&sh->outcomes[NGX_VPT_OUT_ACCEPT], 1);
        ngx_http_vpt_stats_count_accept(conf, sub);
        ngx_http_vpt_stats_count_arm(conf, sub);
    }

    if (ctx->redis_us >= 0) {
        us = ctx->redis_us;

        for (b = 0; b < NGX_VPT_STATS_BUCKETS - 1; b++) {
            if (us <= ngx_http_vpt_stats_bounds[b]) {
                break;
            }
        }

        (void) ngx_atomic_fetch_add(&sh->latency[b], 1);
        (void) ngx_atomic_fetch_add(&sh->latency_sum, (ngx_atomic_int_t) us);
    }

    return NGX_OK;
}


static void
ngx_http_vpt_stats_count_offer(ngx_http_vpt_stats_conf_t *conf,
    ngx_uint_t offer, ngx_uint_t accept)
{
    uint32_t                      j;
    ngx_http_vpt_stats_offer_t  *slot;

    /* (ngx_uint_t) -1, not found, is out of range too */
    if (offer >= conf->catalog->n) {
        return;
    }

    j = conf->slot[offer];
    if (j == NGX_VPT_STATS_NO_SLOT) {
        return;
    }

    slot = &conf->sh->offers[j];

    if (accept) {
        (void) ngx_atomic_fetch_add(&slot->accepts, 1);

    } else {
        (void) ngx_atomic_fetch_add(&slot->impressions, 1);
    }
}


/* an accept: its offer's accepts and accepted value */

static void
ngx_http_vpt_stats_count_accept(ngx_http_vpt_stats_conf_t *conf,
    ngx_http_vpt_ctx_t *ctx)
{
    long                          i;
    uint32_t                      j;
    vpt_str_t                     id;

    if (ctx->accept.offer.len == 0) {
        return;
    }

    id.data = (const char *) ctx->accept.offer.data;
    id.len = ctx->accept.offer.len;

    i = vpt_catalog_find(conf->catalog, id);
    ngx_http_vpt_stats_count_offer(conf, (ngx_uint_t) i, 1);

    if (i < 0 || ctx->accept_value <= 0) {
        return;
    }

    j = conf->slot[i];
    if (j == NGX_VPT_STATS_NO_SLOT) {
        return;
    }

    (void) ngx_atomic_fetch_add(&conf->sh->offers[j].value, (ngx_atomic_int_t)
                        (ctx->accept_value * NGX_VPT_STATS_VALUE_UNIT + 0.5));
}
