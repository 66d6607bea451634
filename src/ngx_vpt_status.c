/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Shared counters and the status page.
 *
 * The counters live in one shared memory zone, "vpt_status", of a fixed
 * size (room for NGX_VPT_STATUS_MAX_OFFERS offers), so that a reload finds
 * it again and the counters go on from where they were.  Every counter is
 * an ngx_atomic_t changed only with ngx_atomic_fetch_add(): no lock on the
 * request path.  Offers are counted in slots keyed by the offer's id, which
 * the zone stores; the zone's init handler maps the catalog's offers to
 * their slots (by id, so a reordered or extended catalog keeps its counts)
 * and that map is per cycle, in the configuration's memory.
 *
 * A log phase handler counts every main request that has the module's
 * context once, by its $vpt_status (read through the variable itself, so
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


#define NGX_VPT_STATUS_MAX_OFFERS   4096
#define NGX_VPT_STATUS_ID_LEN       64          /* the catalog's limit */
#define NGX_VPT_STATUS_NO_SLOT      ((uint32_t) -1)
#define NGX_VPT_STATUS_VERSION      1

/* bounds in ms; the last bucket is +Inf */
#define NGX_VPT_STATUS_BUCKETS      8

#define NGX_VPT_STATUS_LINE_MAX     512


typedef struct {
    ngx_atomic_t                impressions;
    ngx_atomic_t                accepts;
    size_t                      len;            /* 0: a free slot */
    u_char                      id[NGX_VPT_STATUS_ID_LEN];
} ngx_http_vpt_status_offer_t;


typedef struct {
    ngx_atomic_t                pid;            /* 0: never published */
    ngx_atomic_t                breaker;        /* ngx_vpt_breaker_state_e */
    ngx_atomic_t                connected;
} ngx_http_vpt_status_worker_t;


/* the zone */

typedef struct {
    ngx_uint_t                  version;
    size_t                      size;           /* of this struct */
    ngx_atomic_t                requests;
    ngx_atomic_t                status[NGX_VPT_ST_N];
    ngx_atomic_t                latency[NGX_VPT_STATUS_BUCKETS];
    ngx_atomic_t                latency_sum;    /* ms */
    ngx_uint_t                  nslots;         /* slots ever used */
    ngx_http_vpt_status_worker_t  workers[NGX_MAX_PROCESSES];
    ngx_http_vpt_status_offer_t   offers[NGX_VPT_STATUS_MAX_OFFERS];
} ngx_http_vpt_status_shm_t;


/* per cycle: the zone's data */

typedef struct {
    ngx_http_vpt_status_shm_t  *sh;
    vpt_catalog_t              *catalog;
    uint32_t                   *slot;           /* per catalog offer */
    u_char                     *taken;          /* per slot, for the init */
    ngx_int_t                   status_index;   /* of $vpt_status */
    ngx_uint_t                  redis;          /* vpt_redis is set */
} ngx_http_vpt_status_conf_t;


/* what the page shows, copied from the zone once */

typedef struct {
    ngx_str_t                   id;
    ngx_atomic_uint_t           impressions;
    ngx_atomic_uint_t           accepts;
} ngx_http_vpt_status_snap_offer_t;


typedef struct {
    ngx_uint_t                  worker;
    ngx_atomic_uint_t           breaker;
    ngx_atomic_uint_t           connected;
} ngx_http_vpt_status_snap_worker_t;


typedef struct {
    ngx_atomic_uint_t           requests;
    ngx_atomic_uint_t           status[NGX_VPT_ST_N];
    ngx_atomic_uint_t           latency[NGX_VPT_STATUS_BUCKETS];
    ngx_atomic_uint_t           latency_sum;
    ngx_http_vpt_status_snap_offer_t   *offers;
    ngx_uint_t                          noffers;
    ngx_http_vpt_status_snap_worker_t  *workers;
    ngx_uint_t                          nworkers;
} ngx_http_vpt_status_snap_t;


/* the page being written; pos NULL: only count its length */

typedef struct {
    u_char                     *pos;
    size_t                      len;
} ngx_http_vpt_status_out_t;


static ngx_int_t ngx_http_vpt_status_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_vpt_status_conf_t *ngx_http_vpt_status_conf(void);
static void ngx_http_vpt_status_publish(ngx_http_vpt_status_conf_t *conf);
static ngx_int_t ngx_http_vpt_status_log_handler(ngx_http_request_t *r);
static void ngx_http_vpt_status_count_offer(ngx_http_vpt_status_conf_t *conf,
    ngx_uint_t offer, ngx_uint_t accept);
static ngx_int_t ngx_http_vpt_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_status_snapshot(ngx_http_request_t *r,
    ngx_http_vpt_status_snap_t *snap);
static void ngx_http_vpt_status_write(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap);
static void ngx_http_vpt_status_family(ngx_http_vpt_status_out_t *out,
    char *name, char *type, char *help);
static void ngx_http_vpt_status_printf(ngx_http_vpt_status_out_t *out,
    const char *fmt, ...);
static size_t ngx_http_vpt_status_escape(u_char *dst, ngx_str_t *src);


static ngx_str_t  ngx_http_vpt_status_zone_name = ngx_string("vpt_status");
static ngx_str_t  ngx_http_vpt_status_var = ngx_string("vpt_status");

static ngx_msec_t  ngx_http_vpt_status_bounds[NGX_VPT_STATUS_BUCKETS - 1] = {
    1, 2, 5, 10, 25, 50, 100
};

static char  *ngx_http_vpt_status_le[NGX_VPT_STATUS_BUCKETS] = {
    "0.001", "0.002", "0.005", "0.01", "0.025", "0.05", "0.1", "+Inf"
};


char *
ngx_http_vpt_status_page(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t  *vlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (vlcf->status_page != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    if (vlcf->enable == 1) {
        return "cannot be used in a location with \"vpt on\"";
    }

    /* the page is not a shop page: it does not inherit "vpt on" */

    vlcf->enable = 0;
    vlcf->status_page = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vpt_status_handler;

    return NGX_CONF_OK;
}


/* from postconfiguration: the zone and the log phase handler */

ngx_int_t
ngx_http_vpt_init_status(ngx_conf_t *cf)
{
    size_t                       size;
    ngx_uint_t                   i;
    ngx_shm_zone_t              *shm_zone;
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_vpt_main_conf_t    *vmcf;
    ngx_http_vpt_status_conf_t  *conf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    if (vmcf->catalog == NULL) {
        /* nothing can be counted: the page shows zeros */
        return NGX_OK;
    }

    if (vmcf->catalog->n > NGX_VPT_STATUS_MAX_OFFERS) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "vpt: the status page counts the first %d "
                           "offers of the catalog's %uz",
                           NGX_VPT_STATUS_MAX_OFFERS, vmcf->catalog->n);
    }

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpt_status_conf_t));
    if (conf == NULL) {
        return NGX_ERROR;
    }

    conf->catalog = vmcf->catalog;
    conf->redis = (vmcf->redis != NULL);

    conf->slot = ngx_palloc(cf->pool,
                            (vmcf->catalog->n + 1) * sizeof(uint32_t));
    conf->taken = ngx_palloc(cf->pool, NGX_VPT_STATUS_MAX_OFFERS);
    if (conf->slot == NULL || conf->taken == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < vmcf->catalog->n; i++) {
        conf->slot[i] = NGX_VPT_STATUS_NO_SLOT;
    }

    conf->status_index = ngx_http_get_variable_index(cf,
                                                 &ngx_http_vpt_status_var);
    if (conf->status_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    /*
     * A fixed size, whatever the catalog: a zone is reused on reload only
     * when its size is unchanged.  The slab allocator takes a few pages of
     * its own.
     */

    size = ngx_align(sizeof(ngx_http_vpt_status_shm_t), ngx_pagesize)
           + 8 * ngx_pagesize;

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_vpt_status_zone_name,
                                     size, &ngx_http_vpt_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "shared memory zone \"%V\" is already used",
                           &ngx_http_vpt_status_zone_name);
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_vpt_status_init_zone;
    shm_zone->data = conf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_vpt_status_log_handler;

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
ngx_http_vpt_status_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_vpt_status_conf_t  *conf = shm_zone->data;

    long                          i;
    size_t                        n;
    uint32_t                      j, spare;
    vpt_str_t                     id;
    ngx_slab_pool_t              *shpool;
    vpt_offer_t                  *o;
    ngx_http_vpt_status_shm_t    *sh;
    ngx_http_vpt_status_offer_t  *slot;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = data ? shpool->data : NULL;

    if (sh != NULL && (sh->version != NGX_VPT_STATUS_VERSION
                       || sh->size != sizeof(ngx_http_vpt_status_shm_t)))
    {
        /* laid out by another build of the module: start afresh */
        ngx_slab_free(shpool, sh);
        sh = NULL;
    }

    if (sh == NULL) {
        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_vpt_status_shm_t));
        if (sh == NULL) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "vpt: shared memory zone \"%V\" is too small",
                          &shm_zone->shm.name);
            return NGX_ERROR;
        }

        sh->version = NGX_VPT_STATUS_VERSION;
        sh->size = sizeof(ngx_http_vpt_status_shm_t);
        shpool->data = sh;
    }

    conf->sh = sh;

    /* the new workers publish again; the old ones' states are stale */

    for (j = 0; j < NGX_MAX_PROCESSES; j++) {
        sh->workers[j].pid = 0;
    }

    ngx_memzero(conf->taken, NGX_VPT_STATUS_MAX_OFFERS);

    n = ngx_min(conf->catalog->n, NGX_VPT_STATUS_MAX_OFFERS);

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
        if (conf->slot[i] != NGX_VPT_STATUS_NO_SLOT) {
            continue;
        }

        o = &conf->catalog->offers[i];

        if (o->id.len == 0 || o->id.len > NGX_VPT_STATUS_ID_LEN) {
            continue;
        }

        if (sh->nslots < NGX_VPT_STATUS_MAX_OFFERS) {
            j = sh->nslots++;

        } else {
            /* reuse the slot of an offer that is gone */

            while (spare < NGX_VPT_STATUS_MAX_OFFERS && conf->taken[spare]) {
                spare++;
            }

            if (spare == NGX_VPT_STATUS_MAX_OFFERS) {
                break;
            }

            j = spare;
        }

        slot = &sh->offers[j];
        slot->impressions = 0;
        slot->accepts = 0;
        slot->len = o->id.len;
        ngx_memcpy(slot->id, o->id.data, o->id.len);

        conf->slot[i] = j;
        conf->taken[j] = 1;
    }

    return NGX_OK;
}


/* this cycle's counters, or NULL when there are none (no catalog) */

static ngx_http_vpt_status_conf_t *
ngx_http_vpt_status_conf(void)
{
    ngx_uint_t        i;
    ngx_shm_zone_t   *zone;
    ngx_list_part_t  *part;

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
            && zone[i].shm.name.len == ngx_http_vpt_status_zone_name.len
            && ngx_strncmp(zone[i].shm.name.data,
                           ngx_http_vpt_status_zone_name.data,
                           ngx_http_vpt_status_zone_name.len)
               == 0)
        {
            return zone[i].data;
        }
    }
}


/* this worker's Redis state, into its slot (plain word stores) */

static void
ngx_http_vpt_status_publish(ngx_http_vpt_status_conf_t *conf)
{
    ngx_http_vpt_status_worker_t  *w;

    if (!conf->redis || ngx_worker >= NGX_MAX_PROCESSES) {
        return;
    }

    w = &conf->sh->workers[ngx_worker];

    w->breaker = (ngx_atomic_uint_t) ngx_vpt_redis_breaker_state();
    w->connected = ngx_vpt_redis_connected() ? 1 : 0;
    w->pid = (ngx_atomic_uint_t) ngx_pid;
}


static ngx_int_t
ngx_http_vpt_status_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                   i, b;
    ngx_msec_t                   ms;
    vpt_str_t                    id;
    ngx_vpt_status_e             st;
    ngx_http_vpt_ctx_t          *ctx;
    ngx_http_variable_value_t   *v;
    ngx_http_vpt_status_shm_t   *sh;
    ngx_http_vpt_status_conf_t  *conf;

    conf = ngx_http_vpt_status_conf();
    if (conf == NULL || conf->sh == NULL) {
        return NGX_OK;
    }

    ngx_http_vpt_status_publish(conf);

    if (r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_vpt_module);
    if (ctx == NULL) {
        return NGX_OK;
    }

    v = ngx_http_get_indexed_variable(r, conf->status_index);
    if (v == NULL || v->not_found) {
        return NGX_OK;
    }

    for (st = NGX_VPT_ST_NONE + 1; st < NGX_VPT_ST_N; st++) {
        if (v->len == ngx_vpt_status_names[st].len
            && ngx_strncmp(v->data, ngx_vpt_status_names[st].data, v->len)
               == 0)
        {
            break;
        }
    }

    if (st == NGX_VPT_ST_N) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "vpt: unknown $vpt_status \"%v\"", v);
        return NGX_OK;
    }

    sh = conf->sh;

    (void) ngx_atomic_fetch_add(&sh->requests, 1);
    (void) ngx_atomic_fetch_add(&sh->status[st], 1);

    if (st == NGX_VPT_ST_INJECTED) {
        for (i = 0; i < ctx->decision.n && i < VPT_MAX_SLOTS; i++) {
            ngx_http_vpt_status_count_offer(conf, ctx->decision.offer[i], 0);
        }

    } else if (st == NGX_VPT_ST_ACCEPT && ctx->accept_offer.len) {
        id.data = (const char *) ctx->accept_offer.data;
        id.len = ctx->accept_offer.len;

        i = (ngx_uint_t) vpt_catalog_find(conf->catalog, id);
        ngx_http_vpt_status_count_offer(conf, i, 1);
    }

    if (ctx->redis_time >= 0) {
        ms = (ngx_msec_t) ctx->redis_time;

        for (b = 0; b < NGX_VPT_STATUS_BUCKETS - 1; b++) {
            if (ms <= ngx_http_vpt_status_bounds[b]) {
                break;
            }
        }

        (void) ngx_atomic_fetch_add(&sh->latency[b], 1);
        (void) ngx_atomic_fetch_add(&sh->latency_sum, ms);
    }

    return NGX_OK;
}


static void
ngx_http_vpt_status_count_offer(ngx_http_vpt_status_conf_t *conf,
    ngx_uint_t offer, ngx_uint_t accept)
{
    uint32_t                      j;
    ngx_http_vpt_status_offer_t  *slot;

    /* (ngx_uint_t) -1, not found, is out of range too */
    if (offer >= conf->catalog->n) {
        return;
    }

    j = conf->slot[offer];
    if (j == NGX_VPT_STATUS_NO_SLOT) {
        return;
    }

    slot = &conf->sh->offers[j];

    if (accept) {
        (void) ngx_atomic_fetch_add(&slot->accepts, 1);

    } else {
        (void) ngx_atomic_fetch_add(&slot->impressions, 1);
    }
}


static ngx_int_t
ngx_http_vpt_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_buf_t                   *b;
    ngx_chain_t                  out;
    ngx_table_elt_t             *h;
    ngx_http_vpt_status_out_t    page;
    ngx_http_vpt_status_snap_t   snap;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD");

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_vpt_status_snapshot(r, &snap) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the first pass measures, the second writes the same bytes */

    page.pos = NULL;
    page.len = 0;
    ngx_http_vpt_status_write(&page, &snap);

    b = ngx_create_temp_buf(r->pool, page.len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    page.pos = b->pos;
    page.len = 0;
    ngx_http_vpt_status_write(&page, &snap);

    b->last = page.pos;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_vpt_status_snapshot(ngx_http_request_t *r,
    ngx_http_vpt_status_snap_t *snap)
{
    ngx_uint_t                     i, j, nworkers;
    ngx_core_conf_t               *ccf;
    ngx_http_vpt_status_shm_t     *sh;
    ngx_http_vpt_status_conf_t    *conf;
    ngx_http_vpt_status_worker_t  *w;

    ngx_memzero(snap, sizeof(ngx_http_vpt_status_snap_t));

    conf = ngx_http_vpt_status_conf();
    if (conf == NULL || conf->sh == NULL) {
        return NGX_OK;
    }

    sh = conf->sh;

    ngx_http_vpt_status_publish(conf);

    snap->requests = sh->requests;

    for (i = 0; i < NGX_VPT_ST_N; i++) {
        snap->status[i] = sh->status[i];
    }

    for (i = 0; i < NGX_VPT_STATUS_BUCKETS; i++) {
        snap->latency[i] = sh->latency[i];
    }

    snap->latency_sum = sh->latency_sum;

    snap->offers = ngx_palloc(r->pool, (conf->catalog->n + 1)
                              * sizeof(ngx_http_vpt_status_snap_offer_t));
    if (snap->offers == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < conf->catalog->n; i++) {
        j = conf->slot[i];

        if (j == NGX_VPT_STATUS_NO_SLOT) {
            continue;
        }

        snap->offers[snap->noffers].id.data =
                                 (u_char *) conf->catalog->offers[i].id.data;
        snap->offers[snap->noffers].id.len = conf->catalog->offers[i].id.len;
        snap->offers[snap->noffers].impressions = sh->offers[j].impressions;
        snap->offers[snap->noffers].accepts = sh->offers[j].accepts;
        snap->noffers++;
    }

    if (!conf->redis) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    nworkers = ngx_min((ngx_uint_t) ngx_max(ccf->worker_processes, 1),
                       NGX_MAX_PROCESSES);

    snap->workers = ngx_palloc(r->pool,
                         nworkers * sizeof(ngx_http_vpt_status_snap_worker_t));
    if (snap->workers == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < nworkers; i++) {
        w = &sh->workers[i];

        if (w->pid == 0) {
            continue;
        }

        snap->workers[snap->nworkers].worker = i;
        snap->workers[snap->nworkers].breaker = w->breaker;
        snap->workers[snap->nworkers].connected = w->connected;
        snap->nworkers++;
    }

    return NGX_OK;
}


/* the Prometheus text exposition format, version 0.0.4 */

static void
ngx_http_vpt_status_write(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap)
{
    size_t              len;
    u_char              label[2 * NGX_VPT_STATUS_ID_LEN];
    ngx_uint_t          i;
    ngx_atomic_uint_t   cumulative;

    ngx_http_vpt_status_family(out, "vpt_requests_total", "counter",
        "Requests with a vpt decision or accept, counted once when logged.");
    ngx_http_vpt_status_printf(out, "vpt_requests_total %uA\n",
                               snap->requests);

    ngx_http_vpt_status_family(out, "vpt_status_total", "counter",
        "Requests by their $vpt_status.");

    for (i = NGX_VPT_ST_NONE + 1; i < NGX_VPT_ST_N; i++) {
        len = ngx_http_vpt_status_escape(label, &ngx_vpt_status_names[i]);
        ngx_http_vpt_status_printf(out,
                                   "vpt_status_total{status=\"%*s\"} %uA\n",
                                   len, label, snap->status[i]);
    }

    ngx_http_vpt_status_family(out, "vpt_impressions_total", "counter",
        "Offers shown, by offer id.");

    for (i = 0; i < snap->noffers; i++) {
        len = ngx_http_vpt_status_escape(label, &snap->offers[i].id);
        ngx_http_vpt_status_printf(out,
                                   "vpt_impressions_total{offer=\"%*s\"} %uA\n",
                                   len, label, snap->offers[i].impressions);
    }

    ngx_http_vpt_status_family(out, "vpt_accepts_total", "counter",
        "Offers accepted (beacon requests), by offer id.");

    for (i = 0; i < snap->noffers; i++) {
        len = ngx_http_vpt_status_escape(label, &snap->offers[i].id);
        ngx_http_vpt_status_printf(out,
                                   "vpt_accepts_total{offer=\"%*s\"} %uA\n",
                                   len, label, snap->offers[i].accepts);
    }

    ngx_http_vpt_status_family(out, "vpt_redis_latency_seconds", "histogram",
        "Time a request waited for its Redis lookup, until the answer "
        "or the timeout ($vpt_redis_time).");

    /* _count is the buckets' sum, so +Inf always equals it */

    cumulative = 0;

    for (i = 0; i < NGX_VPT_STATUS_BUCKETS; i++) {
        cumulative += snap->latency[i];
        ngx_http_vpt_status_printf(out,
                               "vpt_redis_latency_seconds_bucket{le=\"%s\"} "
                               "%uA\n", ngx_http_vpt_status_le[i], cumulative);
    }

    ngx_http_vpt_status_printf(out, "vpt_redis_latency_seconds_sum %uA.%03uA\n",
                               snap->latency_sum / 1000,
                               snap->latency_sum % 1000);
    ngx_http_vpt_status_printf(out, "vpt_redis_latency_seconds_count %uA\n",
                               cumulative);

    ngx_http_vpt_status_family(out, "vpt_redis_breaker_state", "gauge",
        "Redis circuit breaker of each worker: 0 closed, 1 open, "
        "2 half-open.");

    for (i = 0; i < snap->nworkers; i++) {
        ngx_http_vpt_status_printf(out,
                                 "vpt_redis_breaker_state{worker=\"%ui\"} "
                                 "%uA\n", snap->workers[i].worker,
                                 snap->workers[i].breaker);
    }

    ngx_http_vpt_status_family(out, "vpt_redis_connected", "gauge",
        "1 when the worker's Redis connection is up.");

    for (i = 0; i < snap->nworkers; i++) {
        ngx_http_vpt_status_printf(out,
                                 "vpt_redis_connected{worker=\"%ui\"} %uA\n",
                                 snap->workers[i].worker,
                                 snap->workers[i].connected);
    }
}


static void
ngx_http_vpt_status_family(ngx_http_vpt_status_out_t *out, char *name,
    char *type, char *help)
{
    ngx_http_vpt_status_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
                               name, help, name, type);
}


static void
ngx_http_vpt_status_printf(ngx_http_vpt_status_out_t *out,
    const char *fmt, ...)
{
    u_char   *p, line[NGX_VPT_STATUS_LINE_MAX];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(line, line + sizeof(line), fmt, args);
    va_end(args);

    if (out->pos != NULL) {
        out->pos = ngx_cpymem(out->pos, line, p - line);
    }

    out->len += p - line;
}


/*
 * A label value: backslash, double quote and newline escaped; dst has
 * room for twice src (ids are at most NGX_VPT_STATUS_ID_LEN bytes).
 */

static size_t
ngx_http_vpt_status_escape(u_char *dst, ngx_str_t *src)
{
    u_char      *p;
    ngx_uint_t   i;

    p = dst;

    for (i = 0; i < src->len && i < NGX_VPT_STATUS_ID_LEN; i++) {
        switch (src->data[i]) {

        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;

        case '"':
            *p++ = '\\';
            *p++ = '"';
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = src->data[i];
        }
    }

    return p - dst;
}
