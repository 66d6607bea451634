/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Between the spend counters (ngx_vpt_spend.c) and what pages read of
 * them (ngx_vpt_advertiser.c): the zone's layout, in millionths.
 */

#ifndef NGX_VPT_SPEND_INT_H
#define NGX_VPT_SPEND_INT_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_vpt.h"
#include "vpt_advertiser.h"
#include "vpt_pacing.h"


#define NGX_VPT_SPEND_VERSION     1
#define NGX_VPT_SPEND_MAX         256
#define NGX_VPT_SPEND_ID_LEN      64
#define NGX_VPT_SPEND_NO_SLOT     ((uint32_t) -1)
#define NGX_VPT_PASS_ONE          1000000


typedef struct {
    ngx_atomic_t              day;           /* the budget day counted */
    ngx_atomic_t              day_unsynced;
    ngx_atomic_t              day_inflight;
    ngx_atomic_t              day_global;
    ngx_atomic_t              total_unsynced;
    ngx_atomic_t              total_inflight;
    ngx_atomic_t              total_global;
    ngx_atomic_t              impressions;   /* this node's */
    ngx_atomic_t              accepts;
    ngx_atomic_t              pass;          /* millionths */
    ngx_atomic_t              tick;          /* msec of the next update */
    vpt_pacing_t              pacing;        /* the tick's winner's */
    size_t                    len;           /* 0: a free slot */
    u_char                    id[NGX_VPT_SPEND_ID_LEN];
} ngx_vpt_spend_slot_t;


typedef struct {
    ngx_http_vpt_shm_head_t   head;          /* first, for ngx_vpt_shm.c */
    ngx_uint_t                nslots;
    ngx_vpt_spend_slot_t      slots[NGX_VPT_SPEND_MAX];
} ngx_vpt_spend_shm_t;


/* per cycle: vmcf->spend, the zone's data */

typedef struct {
    ngx_vpt_spend_shm_t      *sh;
    vpt_catalog_t            *catalog;
    uint32_t                 *slot;          /* per advertiser */
    u_char                   *busy;          /* per advertiser, worker's */
    ngx_msec_t                sync;
    time_t                    day;
    ngx_uint_t                redis;
    ngx_event_t               timer;
} ngx_vpt_spend_conf_t;


#define ngx_http_vpt_spend_day_of(s)                                          \
    ((int64_t) ((s)->day_global + (s)->day_inflight + (s)->day_unsynced))
#define ngx_http_vpt_spend_total_of(s)                                        \
    ((int64_t) ((s)->total_global + (s)->total_inflight                       \
                + (s)->total_unsynced))


/* advertiser adv's slot, or NULL (no zone, or no room for it) */
ngx_vpt_spend_slot_t *ngx_http_vpt_spend_slot(ngx_vpt_spend_conf_t *conf,
    ngx_uint_t adv);

/* a new budget day: the first to see it resets the day's counters */
void ngx_http_vpt_spend_roll(ngx_vpt_spend_conf_t *conf,
    ngx_vpt_spend_slot_t *s);


#endif /* NGX_VPT_SPEND_INT_H */
