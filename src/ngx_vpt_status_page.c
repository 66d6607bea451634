/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The status page: the shared counters of ngx_vpt_stats.c in the
 * Prometheus text format.  A scrape publishes its own worker's Redis state,
 * copies the zone once, then writes the page twice: once to measure it,
 * once into a buffer of that size.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "ngx_vpt_stats_int.h"


#define NGX_VPT_STATUS_LINE_MAX     512


/* what the page shows, copied from the zone once */

typedef struct {
    ngx_str_t                   id;
    ngx_atomic_uint_t           impressions;
    ngx_atomic_uint_t           accepts;
    ngx_atomic_uint_t           value;          /* millionths */
} ngx_http_vpt_status_snap_offer_t;


typedef struct {
    ngx_str_t                   name;
    ngx_atomic_uint_t           decisions[2];   /* treatment, control */
    ngx_atomic_uint_t           accepts[2];
    ngx_atomic_uint_t           value[2];       /* millionths */
} ngx_http_vpt_status_snap_experiment_t;


typedef struct {
    ngx_uint_t                  worker;
    ngx_atomic_uint_t           breaker;
    ngx_atomic_uint_t           connected;
    ngx_atomic_uint_t           errors;
    ngx_atomic_uint_t           timeouts;
    ngx_atomic_uint_t           in_flight;
    ngx_atomic_uint_t           reconnects;
} ngx_http_vpt_status_snap_worker_t;


typedef struct {
    ngx_atomic_uint_t           requests;
    ngx_atomic_uint_t           outcomes[NGX_VPT_OUT_N];
    ngx_atomic_uint_t           latency[NGX_VPT_STATS_BUCKETS];
    ngx_atomic_uint_t           latency_sum;
    ngx_http_vpt_status_snap_offer_t   *offers;
    ngx_uint_t                          noffers;
    ngx_http_vpt_status_snap_worker_t  *workers;
    ngx_uint_t                          nworkers;
    ngx_http_vpt_status_snap_experiment_t  *experiments;
    ngx_uint_t                              nexperiments;
    ngx_str_t                               info;
    ngx_str_t                               topology;   /* the section */
} ngx_http_vpt_status_snap_t;


/* the page being written; pos NULL: only count its length */

typedef struct {
    u_char                     *pos;
    size_t                      len;
} ngx_http_vpt_status_out_t;


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
static ngx_int_t ngx_http_vpt_status_snap_ops(ngx_http_request_t *r,
    ngx_http_vpt_stats_conf_t *conf, ngx_http_vpt_status_snap_t *snap);
static void ngx_http_vpt_status_write_info(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap);
static void ngx_http_vpt_status_write_value(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap);
static void ngx_http_vpt_status_write_arms(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap);


/* the upper bounds of ngx_http_vpt_stats_bounds[], in seconds */
static char  *ngx_http_vpt_status_le[NGX_VPT_STATS_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "+Inf"
};

static char  *ngx_http_vpt_status_arm[2] = { "treatment", "control" };


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


static ngx_int_t
ngx_http_vpt_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    adv;
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

    /* the advertisers' lines (ngx_vpt_spend.c) */
    if (ngx_http_vpt_spend_status(r, &adv) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_create_temp_buf(r->pool, page.len + adv.len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    page.pos = b->pos;
    page.len = 0;
    ngx_http_vpt_status_write(&page, &snap);

    b->last = ngx_cpymem(page.pos, adv.data, adv.len);
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
    ngx_uint_t                     i, j, nworkers, *worker;
    ngx_core_conf_t               *ccf;
    ngx_http_vpt_stats_shm_t     *sh;
    ngx_http_vpt_stats_conf_t    *conf;
    ngx_http_vpt_stats_worker_t  *w;

    ngx_memzero(snap, sizeof(ngx_http_vpt_status_snap_t));

    conf = ngx_http_vpt_stats_conf();
    if (conf == NULL || conf->sh == NULL) {
        return NGX_OK;
    }

    sh = conf->sh;

    ngx_http_vpt_stats_publish(conf);

    snap->requests = sh->requests;

    for (i = 0; i < NGX_VPT_OUT_N; i++) {
        snap->outcomes[i] = sh->outcomes[i];
    }

    for (i = 0; i < NGX_VPT_STATS_BUCKETS; i++) {
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

        if (j == NGX_VPT_STATS_NO_SLOT) {
            continue;
        }

        snap->offers[snap->noffers].id.data =
                                 (u_char *) conf->catalog->offers[i].id.data;
        snap->offers[snap->noffers].id.len = conf->catalog->offers[i].id.len;
        snap->offers[snap->noffers].impressions = sh->offers[j].impressions;
        snap->offers[snap->noffers].accepts = sh->offers[j].accepts;
        snap->offers[snap->noffers].value = sh->offers[j].value;
        snap->noffers++;
    }

    if (ngx_http_vpt_status_snap_ops(r, conf, snap) != NGX_OK) {
        return NGX_ERROR;
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
        snap->workers[snap->nworkers].errors = w->errors;
        snap->workers[snap->nworkers].timeouts = w->timeouts;
        snap->workers[snap->nworkers].in_flight = w->in_flight;
        snap->workers[snap->nworkers].reconnects = w->reconnects;
        snap->nworkers++;
    }

    worker = ngx_palloc(r->pool, (snap->nworkers + 1) * sizeof(ngx_uint_t));
    if (worker == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < snap->nworkers; i++) {
        worker[i] = snap->workers[i].worker;
    }

    return ngx_vpt_status_topology_text(r->pool, sh->topo, worker,
                                        snap->nworkers, &snap->topology);
}


/* the Prometheus text exposition format, version 0.0.4 */

static void
ngx_http_vpt_status_write(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap)
{
    size_t              len;
    u_char              label[2 * NGX_VPT_STATS_ID_LEN];
    ngx_uint_t          i;
    ngx_atomic_uint_t   cumulative;

    ngx_http_vpt_status_write_info(out, snap);

    ngx_http_vpt_status_family(out, "vpt_requests_total", "counter",
        "Requests with a vpt decision or accept, counted once when logged.");
    ngx_http_vpt_status_printf(out, "vpt_requests_total %uA\n",
                               snap->requests);

    ngx_http_vpt_status_family(out, "vpt_status_total", "counter",
        "Requests by their $vpt_status.");

    for (i = NGX_VPT_OUT_NONE + 1; i < NGX_VPT_OUT_N; i++) {
        len = ngx_http_vpt_status_escape(label, &ngx_vpt_outcome_names[i]);
        ngx_http_vpt_status_printf(out,
                                   "vpt_status_total{status=\"%*s\"} %uA\n",
                                   len, label, snap->outcomes[i]);
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

    ngx_http_vpt_status_write_value(out, snap);
    ngx_http_vpt_status_write_arms(out, snap);

    ngx_http_vpt_status_family(out, "vpt_redis_latency_seconds", "histogram",
        "Time a request waited for its Redis lookup, until the answer "
        "or the timeout ($vpt_redis_time).");

    /* _count is the buckets' sum, so +Inf always equals it */

    cumulative = 0;

    for (i = 0; i < NGX_VPT_STATS_BUCKETS; i++) {
        cumulative += snap->latency[i];
        ngx_http_vpt_status_printf(out,
                               "vpt_redis_latency_seconds_bucket{le=\"%s\"} "
                               "%uA\n", ngx_http_vpt_status_le[i], cumulative);
    }

    ngx_http_vpt_status_printf(out, "vpt_redis_latency_seconds_sum %uA.%06uA\n",
                               snap->latency_sum / 1000000,
                               snap->latency_sum % 1000000);
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
        "1 when the worker's Redis connection is up and answering "
        "(0 from a lost or dead link until a new one answers its PING).");

    for (i = 0; i < snap->nworkers; i++) {
        ngx_http_vpt_status_printf(out,
                                 "vpt_redis_connected{worker=\"%ui\"} %uA\n",
                                 snap->workers[i].worker,
                                 snap->workers[i].connected);
    }

    ngx_http_vpt_status_family(out, "vpt_redis_errors_total", "counter",
        "Redis error replies and commands lost with the connection, of "
        "each worker since it started; WRONGTYPE (the shop's data under "
        "our key) is not one.");

    for (i = 0; i < snap->nworkers; i++) {
        ngx_http_vpt_status_printf(out,
                                 "vpt_redis_errors_total{worker=\"%ui\"} "
                                 "%uA\n", snap->workers[i].worker,
                                 snap->workers[i].errors);
    }

    ngx_http_vpt_status_family(out, "vpt_redis_timeouts_total", "counter",
        "Redis lookups of each worker that ran out of vpt_redis_timeout "
        "(redis_timeout), since it started.");

    for (i = 0; i < snap->nworkers; i++) {
        ngx_http_vpt_status_printf(out,
                                 "vpt_redis_timeouts_total{worker=\"%ui\"} "
                                 "%uA\n", snap->workers[i].worker,
                                 snap->workers[i].timeouts);
    }

    ngx_http_vpt_status_family(out, "vpt_redis_commands_in_flight", "gauge",
        "Redis commands each worker has sent and not had a reply to, "
        "fire-and-forget writes included.");

    for (i = 0; i < snap->nworkers; i++) {
        ngx_http_vpt_status_printf(out,
                                 "vpt_redis_commands_in_flight"
                                 "{worker=\"%ui\"} %uA\n",
                                 snap->workers[i].worker,
                                 snap->workers[i].in_flight);
    }

    ngx_http_vpt_status_family(out, "vpt_redis_reconnects_total", "counter",
        "Redis links each worker made after its first (after a link was "
        "lost, refused, or closed as dead), since it started.");

    for (i = 0; i < snap->nworkers; i++) {
        ngx_http_vpt_status_printf(out,
                                 "vpt_redis_reconnects_total"
                                 "{worker=\"%ui\"} %uA\n",
                                 snap->workers[i].worker,
                                 snap->workers[i].reconnects);
    }

    /* Sentinel's or the cluster's, made once in the snapshot */

    /* no section (one server): no data pointer to copy from */

    if (out->pos && snap->topology.len) {
        out->pos = ngx_cpymem(out->pos, snap->topology.data,
                              snap->topology.len);
    }

    out->len += snap->topology.len;
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
 * room for twice src (ids are at most NGX_VPT_STATS_ID_LEN bytes).
 */

static size_t
ngx_http_vpt_status_escape(u_char *dst, ngx_str_t *src)
{
    u_char      *p;
    ngx_uint_t   i;

    p = dst;

    for (i = 0; i < src->len && i < NGX_VPT_STATS_ID_LEN; i++) {
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


/* what ngx_vpt_stats_ops.c counts: the arms, and the info lines */

static ngx_int_t
ngx_http_vpt_status_snap_ops(ngx_http_request_t *r,
    ngx_http_vpt_stats_conf_t *conf, ngx_http_vpt_status_snap_t *snap)
{
    uint32_t                                j;
    ngx_uint_t                              i, a;
    ngx_http_vpt_stats_experiment_t        *e;
    ngx_http_vpt_status_snap_experiment_t  *x;

    snap->info = conf->info;

    if (conf->nexperiments == 0) {
        return NGX_OK;
    }

    snap->experiments = ngx_palloc(r->pool, conf->nexperiments
                              * sizeof(ngx_http_vpt_status_snap_experiment_t));
    if (snap->experiments == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < conf->nexperiments; i++) {
        j = conf->experiment_slot[i];

        if (j == NGX_VPT_STATS_NO_SLOT) {
            continue;
        }

        e = &conf->sh->experiments[j];
        x = &snap->experiments[snap->nexperiments++];
        x->name = conf->experiments[i];

        for (a = 0; a < 2; a++) {
            x->decisions[a] = e->arms[a].decisions;
            x->accepts[a] = e->arms[a].accepts;
            x->value[a] = e->arms[a].value;
        }
    }

    return NGX_OK;
}


static void
ngx_http_vpt_status_write_info(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap)
{
    if (out->pos != NULL && snap->info.len) {
        out->pos = ngx_cpymem(out->pos, snap->info.data, snap->info.len);
    }

    out->len += snap->info.len;
}


static void
ngx_http_vpt_status_write_value(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap)
{
    size_t              len;
    u_char              label[2 * NGX_VPT_STATS_ID_LEN];
    ngx_uint_t          i;
    ngx_atomic_uint_t   v;

    ngx_http_vpt_status_family(out, "vpt_accepted_value_total", "counter",
        "Value of the offers accepted (the catalog's value), by offer id.");

    for (i = 0; i < snap->noffers; i++) {
        len = ngx_http_vpt_status_escape(label, &snap->offers[i].id);
        v = snap->offers[i].value;
        ngx_http_vpt_status_printf(out,
                                   "vpt_accepted_value_total{offer=\"%*s\"} "
                                   "%uA.%06uA\n", len, label,
                                   v / NGX_VPT_STATS_VALUE_UNIT,
                                   v % NGX_VPT_STATS_VALUE_UNIT);
    }
}


/*
 * Per experiment (vpt_split name) and arm.  Names of their own, not more
 * labels on vpt_accepts_total{offer}: a sum over one family must not
 * count an accept twice.
 */

static void
ngx_http_vpt_status_write_arms(ngx_http_vpt_status_out_t *out,
    ngx_http_vpt_status_snap_t *snap)
{
    size_t                                  len;
    u_char                                  label[2 * NGX_VPT_STATS_ID_LEN];
    ngx_uint_t                              i, a;
    ngx_http_vpt_status_snap_experiment_t  *x;

    ngx_http_vpt_status_family(out, "vpt_experiment_decisions_total",
        "counter", "Decisions by experiment (vpt_split) and arm, control's "
        "held-out ones included.");

    for (i = 0; i < snap->nexperiments; i++) {
        x = &snap->experiments[i];
        len = ngx_http_vpt_status_escape(label, &x->name);

        for (a = 0; a < 2; a++) {
            ngx_http_vpt_status_printf(out,
                    "vpt_experiment_decisions_total{experiment=\"%*s\","
                    "arm=\"%s\"} %uA\n", len, label,
                    ngx_http_vpt_status_arm[a], x->decisions[a]);
        }
    }

    ngx_http_vpt_status_family(out, "vpt_experiment_accepts_total",
        "counter", "Accepts by experiment and arm (the link's x=).");

    for (i = 0; i < snap->nexperiments; i++) {
        x = &snap->experiments[i];
        len = ngx_http_vpt_status_escape(label, &x->name);

        for (a = 0; a < 2; a++) {
            ngx_http_vpt_status_printf(out,
                    "vpt_experiment_accepts_total{experiment=\"%*s\","
                    "arm=\"%s\"} %uA\n", len, label,
                    ngx_http_vpt_status_arm[a], x->accepts[a]);
        }
    }

    ngx_http_vpt_status_family(out, "vpt_experiment_accepted_value_total",
        "counter", "Value of the offers accepted, by experiment and arm.");

    for (i = 0; i < snap->nexperiments; i++) {
        x = &snap->experiments[i];
        len = ngx_http_vpt_status_escape(label, &x->name);

        for (a = 0; a < 2; a++) {
            ngx_http_vpt_status_printf(out,
                    "vpt_experiment_accepted_value_total{experiment=\"%*s\","
                    "arm=\"%s\"} %uA.%06uA\n", len, label,
                    ngx_http_vpt_status_arm[a],
                    x->value[a] / NGX_VPT_STATS_VALUE_UNIT,
                    x->value[a] % NGX_VPT_STATS_VALUE_UNIT);
        }
    }
}
