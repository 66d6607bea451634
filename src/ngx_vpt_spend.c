/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Advertisers' spend across a node's workers and across nodes, and
 * pacing's updates.  What pages read of it (the gate, the blocklist, the
 * status page's lines) is ngx_vpt_advertiser.c.
 *
 * A node's spend lives in one shared memory zone, "vpt_spend", one slot
 * per advertiser keyed by its id (a reload keeps the counts).  Every
 * counter is an ngx_atomic_t in millionths, changed with
 * ngx_atomic_fetch_add() or ngx_atomic_cmp_set(): no lock on the page's
 * path.  A page adds its cost to "unsynced".  Every vpt_spend_sync, each
 * worker's timer moves what is unsynced to "inflight" and sends it to
 * Redis through the store (INCRBY of the day's and the total's keys,
 * which answer the totals of all nodes); the reply sets "global" and
 * takes the delta out of inflight.  So the node's view of an
 * advertiser's spend is
 *
 *     global + inflight + unsynced
 *
 * exact for this node's own spend at once, and behind the other nodes'
 * by at most one sync interval plus a round trip.  When Redis cannot be
 * reached the delta goes back to unsynced (fail open: pages go on,
 * gated by what this node knows) and is sent with the next sync that
 * works: reconciled, never lost.  A reply lost after Redis applied the
 * INCRBY counts that delta twice: spend errs high, never low.
 *
 * Overspend bound of a daily budget B with N nodes, sync interval T:
 * each node stops once its view reaches B; its view misses at most the
 * other nodes' spend of the last T plus a round trip, so the overspend
 * is at most (N - 1) x (one node's spend in T + RTT), plus the cost of
 * pages decided but not yet shown when B was reached (one decision per
 * page in flight), plus, for cpa and cpc, accepts of offers shown before
 * B was reached.  A Redis outage of D seconds widens the (N - 1) term to
 * D: each node then only knows its own spend.
 *
 * Budget days are vpt_budget_day long (1d by default), counted from the
 * Unix epoch, so at 00:00 UTC for whole days; a shorter day is for tests
 * and drills.  At a day's turn the first worker to see it resets the
 * day's counters; a delta in flight across the turn is dropped from the
 * day (not from the total).
 *
 * Pacing: the first worker whose timer fires in an interval updates each
 * even-paced advertiser's pass (vpt_pacing.c) from the node's view of
 * the day's spend; pages read it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "ngx_vpt_spend_int.h"


/* one sync in flight: what goes back to unsynced if it fails */

typedef struct {
    ngx_vpt_spend_conf_t     *conf;
    ngx_uint_t                adv;
    ngx_uint_t                day;
    int64_t                   day_delta;
    int64_t                   total_delta;
} ngx_vpt_spend_sync_t;


static ngx_int_t ngx_http_vpt_spend_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_vpt_spend_find(ngx_vpt_spend_shm_t *sh,
    const vpt_advertiser_t *a);
static void ngx_http_vpt_spend_charge(ngx_http_request_t *r,
    ngx_uint_t offer, ngx_uint_t accept);
static int64_t ngx_http_vpt_spend_take(ngx_atomic_t *a);
static void ngx_http_vpt_spend_timer(ngx_event_t *ev);
static void ngx_http_vpt_spend_synced(void *data, ngx_int_t rc,
    int64_t day_total, int64_t total);
static void ngx_http_vpt_spend_raise(ngx_atomic_t *a, int64_t v);
static void ngx_http_vpt_spend_pace(ngx_vpt_spend_conf_t *conf);


/* a zone, not a directive: spelt out, so no name list takes it for one */
static ngx_str_t  ngx_http_vpt_spend_zone_name = {
    sizeof("vpt_spend") - 1, (u_char *) "vpt_spend"
};


/* from postconfiguration: the zone, when the catalog has advertisers */

ngx_int_t
ngx_http_vpt_init_spend(ngx_conf_t *cf)
{
    ngx_uint_t                 i;
    ngx_vpt_spend_conf_t      *conf;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    ngx_conf_init_msec_value(vmcf->spend_sync, 1000);
    ngx_conf_init_value(vmcf->budget_day, 86400);

    if (vmcf->catalog == NULL || vmcf->catalog->nadvertisers == 0) {
        return NGX_OK;
    }

    if (vmcf->catalog->nadvertisers > NGX_VPT_SPEND_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt: the catalog has %uz advertisers, spend is "
                           "counted for at most %d",
                           vmcf->catalog->nadvertisers, NGX_VPT_SPEND_MAX);
        return NGX_ERROR;
    }

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_vpt_spend_conf_t));
    if (conf == NULL) {
        return NGX_ERROR;
    }

    conf->catalog = vmcf->catalog;
    conf->sync = vmcf->spend_sync;
    conf->day = vmcf->budget_day;
    conf->redis = (vmcf->redis != NULL);
    conf->slot = ngx_palloc(cf->pool,
                            vmcf->catalog->nadvertisers * sizeof(uint32_t));
    conf->busy = ngx_pcalloc(cf->pool, vmcf->catalog->nadvertisers);
    if (conf->slot == NULL || conf->busy == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < vmcf->catalog->nadvertisers; i++) {
        conf->slot[i] = NGX_VPT_SPEND_NO_SLOT;
    }

    /* a fixed size: a reload finds the zone again */
    if (ngx_http_vpt_shm_add(cf, &ngx_http_vpt_spend_zone_name,
                             sizeof(ngx_vpt_spend_shm_t),
                             ngx_http_vpt_spend_init_zone, conf)
        == NULL)
    {
        return NGX_ERROR;
    }

    vmcf->spend = conf;

    return NGX_OK;
}


/*
 * In the master, once per cycle: the advertisers to their slots, by id;
 * a slot keeps its counts across reloads, a new id takes a free one.
 */

static ngx_int_t
ngx_http_vpt_spend_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_vpt_spend_conf_t  *conf = shm_zone->data;

    ngx_uint_t               i, j, n;
    ngx_vpt_spend_shm_t     *sh;
    ngx_vpt_spend_slot_t    *s;
    const vpt_advertiser_t  *a;

    sh = ngx_http_vpt_shm_struct(shm_zone, data, NGX_VPT_SPEND_VERSION,
                                 sizeof(ngx_vpt_spend_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    conf->sh = sh;

    /* ids come and go over reloads: when the new ones find no room, the
     * zone starts afresh (counts known to Redis come back with the first
     * sync) */

    n = sh->nslots;

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        if (ngx_http_vpt_spend_find(sh, &conf->catalog->advertisers[i])
            == sh->nslots)
        {
            n++;
        }
    }

    if (n > NGX_VPT_SPEND_MAX) {
        sh->nslots = 0;
    }

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        a = &conf->catalog->advertisers[i];
        j = ngx_http_vpt_spend_find(sh, a);

        if (j == sh->nslots) {
            j = sh->nslots++;
            s = &sh->slots[j];
            ngx_memzero(s, sizeof(ngx_vpt_spend_slot_t));
            s->len = a->id.len;
            ngx_memcpy(s->id, a->id.data, a->id.len);
            vpt_pacing_reset(&s->pacing);
            s->pass = (a->pacing == VPT_PACING_EVEN
                       && a->daily_budget != VPT_MONEY_NONE)
                      ? (ngx_atomic_uint_t) (s->pacing.pass
                                             * NGX_VPT_PASS_ONE)
                      : NGX_VPT_PASS_ONE;
        }

        conf->slot[i] = (uint32_t) j;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_vpt_spend_find(ngx_vpt_spend_shm_t *sh, const vpt_advertiser_t *a)
{
    ngx_uint_t  j;

    for (j = 0; j < sh->nslots; j++) {
        if (sh->slots[j].len == a->id.len
            && ngx_memcmp(sh->slots[j].id, a->id.data, a->id.len) == 0)
        {
            break;
        }
    }

    return j;
}


/* from init_process: each worker's sync timer */

ngx_int_t
ngx_http_vpt_spend_init_worker(ngx_cycle_t *cycle)
{
    ngx_vpt_spend_conf_t      *conf;
    ngx_http_vpt_main_conf_t  *vmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpt_module);

    if (vmcf == NULL || vmcf->spend == NULL) {
        return NGX_OK;
    }

    conf = vmcf->spend;

    conf->timer.handler = ngx_http_vpt_spend_timer;
    conf->timer.data = conf;
    conf->timer.log = cycle->log;
    conf->timer.cancelable = 1;

    /* workers spread over the interval, not all at once */
    ngx_add_timer(&conf->timer, conf->sync / 2 + ngx_random() % conf->sync);

    return NGX_OK;
}


ngx_vpt_spend_slot_t *
ngx_http_vpt_spend_slot(ngx_vpt_spend_conf_t *conf, ngx_uint_t adv)
{
    if (conf == NULL || conf->sh == NULL
        || adv >= conf->catalog->nadvertisers
        || conf->slot[adv] == NGX_VPT_SPEND_NO_SLOT)
    {
        return NULL;
    }

    return &conf->sh->slots[conf->slot[adv]];
}


/* a new budget day: the first to see it resets the day's counters */

void
ngx_http_vpt_spend_roll(ngx_vpt_spend_conf_t *conf, ngx_vpt_spend_slot_t *s)
{
    ngx_atomic_uint_t  today, seen;

    today = (ngx_atomic_uint_t) (ngx_time() / conf->day);
    seen = s->day;

    if (seen == today || !ngx_atomic_cmp_set(&s->day, seen, today)) {
        return;
    }

    s->day_unsynced = 0;
    s->day_inflight = 0;
    s->day_global = 0;
}


/* the page's offers were shown: cpm's cost, and the impressions */

void
ngx_http_vpt_spend_impressions(ngx_http_request_t *r,
    const vpt_decision_t *decision)
{
    size_t  i;

    for (i = 0; i < decision->n; i++) {
        ngx_http_vpt_spend_charge(r, decision->offer[i], 0);
    }
}


/* an accept (the beacon): cpa's and cpc's cost */

void
ngx_http_vpt_spend_accept(ngx_http_request_t *r, ngx_uint_t offer)
{
    ngx_http_vpt_spend_charge(r, offer, 1);
}


static void
ngx_http_vpt_spend_charge(ngx_http_request_t *r, ngx_uint_t offer,
    ngx_uint_t accept)
{
    int64_t                    cost;
    vpt_offer_t               *o;
    vpt_advertiser_t          *a;
    ngx_vpt_spend_slot_t      *s;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    if (vmcf->spend == NULL || offer >= vmcf->catalog->n) {
        return;
    }

    o = &vmcf->catalog->offers[offer];

    if (o->kind != VPT_KIND_THIRD_PARTY || o->adv < 0) {
        return;
    }

    s = ngx_http_vpt_spend_slot(vmcf->spend, (ngx_uint_t) o->adv);
    if (s == NULL) {
        return;
    }

    a = &vmcf->catalog->advertisers[o->adv];
    cost = accept ? vpt_adv_accept_cost(a) : vpt_adv_impression_cost(a);

    ngx_http_vpt_spend_roll(vmcf->spend, s);

    (void) ngx_atomic_fetch_add(accept ? &s->accepts : &s->impressions, 1);

    if (cost) {
        (void) ngx_atomic_fetch_add(&s->day_unsynced, cost);
        (void) ngx_atomic_fetch_add(&s->total_unsynced, cost);
    }
}


/* all of *a, leaving 0, whoever else adds meanwhile */

static int64_t
ngx_http_vpt_spend_take(ngx_atomic_t *a)
{
    ngx_atomic_uint_t  v;

    do {
        v = *a;
    } while (v != 0 && !ngx_atomic_cmp_set(a, v, 0));

    return (int64_t) v;
}


static void
ngx_http_vpt_spend_timer(ngx_event_t *ev)
{
    ngx_vpt_spend_conf_t  *conf = ev->data;

    int64_t                 dd, dt;
    ngx_int_t               rc;
    ngx_uint_t              i;
    ngx_str_t               id;
    ngx_vpt_spend_slot_t   *s;
    ngx_vpt_spend_sync_t   *sync;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    for (i = 0; conf->redis && i < conf->catalog->nadvertisers; i++) {
        s = ngx_http_vpt_spend_slot(conf, i);

        /* one sync per advertiser in flight per worker */
        if (s == NULL || conf->busy[i]) {
            continue;
        }

        ngx_http_vpt_spend_roll(conf, s);

        sync = ngx_alloc(sizeof(ngx_vpt_spend_sync_t), ev->log);
        if (sync == NULL) {
            break;
        }

        sync->conf = conf;
        sync->adv = i;
        sync->day = s->day;

        dd = ngx_http_vpt_spend_take(&s->day_unsynced);
        dt = ngx_http_vpt_spend_take(&s->total_unsynced);
        (void) ngx_atomic_fetch_add(&s->day_inflight, dd);
        (void) ngx_atomic_fetch_add(&s->total_inflight, dt);

        sync->day_delta = dd;
        sync->total_delta = dt;

        id.data = s->id;
        id.len = s->len;

        /* a delta of 0 still reads the other nodes' spend back */
        rc = ngx_vpt_store_spend(&id, sync->day, 2 * conf->day + 60, dd, dt,
                                 ngx_http_vpt_spend_synced, sync);

        if (rc == NGX_OK) {
            conf->busy[i] = 1;
            continue;
        }

        /* Redis not usable now: kept for the next sync */
        ngx_http_vpt_spend_synced(sync, NGX_DECLINED, 0, 0);
    }

    ngx_http_vpt_spend_pace(conf);

    ngx_add_timer(ev, conf->sync);
}


static void
ngx_http_vpt_spend_synced(void *data, ngx_int_t rc, int64_t day_total,
    int64_t total)
{
    ngx_vpt_spend_sync_t  *sync = data;

    ngx_uint_t             same_day;
    ngx_vpt_spend_slot_t  *s;
    ngx_vpt_spend_conf_t  *conf;

    conf = sync->conf;
    conf->busy[sync->adv] = 0;
    s = ngx_http_vpt_spend_slot(conf, sync->adv);

    if (s == NULL) {
        ngx_free(sync);
        return;
    }

    same_day = (s->day == sync->day);

    if (same_day) {
        (void) ngx_atomic_fetch_add(&s->day_inflight, -sync->day_delta);
    }

    (void) ngx_atomic_fetch_add(&s->total_inflight, -sync->total_delta);

    if (rc == NGX_OK) {
        if (same_day) {
            ngx_http_vpt_spend_raise(&s->day_global, day_total);
        }

        ngx_http_vpt_spend_raise(&s->total_global, total);

    } else {
        /* not known to be counted: again, with the next sync */
        if (same_day) {
            (void) ngx_atomic_fetch_add(&s->day_unsynced, sync->day_delta);
        }

        (void) ngx_atomic_fetch_add(&s->total_unsynced, sync->total_delta);
    }

    ngx_free(sync);
}


/* replies of several workers may cross: Redis's totals only grow */

static void
ngx_http_vpt_spend_raise(ngx_atomic_t *a, int64_t v)
{
    ngx_atomic_uint_t  old;

    do {
        old = *a;
    } while ((int64_t) old < v
             && !ngx_atomic_cmp_set(a, old, (ngx_atomic_uint_t) v));
}


/* once per interval per node: the first worker there updates the pass */

static void
ngx_http_vpt_spend_pace(ngx_vpt_spend_conf_t *conf)
{
    double                   t, pass, budget, spent;
    ngx_uint_t               i;
    ngx_msec_t               now;
    ngx_time_t              *tp;
    ngx_atomic_uint_t        next;
    ngx_vpt_spend_slot_t    *s;
    const vpt_advertiser_t  *a;

    tp = ngx_timeofday();
    now = (ngx_msec_t) (tp->sec * 1000 + tp->msec);

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        s = ngx_http_vpt_spend_slot(conf, i);
        a = &conf->catalog->advertisers[i];

        if (s == NULL) {
            continue;
        }

        next = s->tick;

        if ((ngx_atomic_uint_t) now < next
            || !ngx_atomic_cmp_set(&s->tick, next,
                                   (ngx_atomic_uint_t) now
                                   + conf->sync * 3 / 4))
        {
            continue;
        }

        if (a->daily_budget == VPT_MONEY_NONE) {
            s->pass = NGX_VPT_PASS_ONE;
            continue;
        }

        t = (double) (tp->sec % conf->day) + (double) tp->msec / 1000;
        budget = (double) a->daily_budget / VPT_MONEY_UNIT;
        spent = (double) ngx_http_vpt_spend_day_of(s) / VPT_MONEY_UNIT;

        pass = vpt_pacing_update(&s->pacing, a->pacing == VPT_PACING_EVEN,
                                 budget, spent, t, (double) conf->day);

        s->pass = (ngx_atomic_uint_t) (pass * NGX_VPT_PASS_ONE + 0.5);
    }
}
