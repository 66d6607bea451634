/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Advertisers: the catalog's "advertisers" array (who pays for third_party
 * offers, how, how much, when) and the per-page gate that keeps an offer
 * out when its advertiser is blocked, out of flight, out of budget, over
 * its per-shopper cap or throttled by pacing.  No nginx types: the glue
 * owns the spend counters and hands their values in.
 *
 * Money is in the catalog's currency; spend is counted in millionths
 * (vpt_money_t) so that counters are exact integers everywhere (shared
 * memory atomics, Redis INCRBY).
 */

#ifndef VPT_ADVERTISER_H
#define VPT_ADVERTISER_H

#include <stdint.h>

#include "vpt_core.h"
#include "vpt_catalog.h"
#include "vpt_propensity.h"


typedef int64_t  vpt_money_t;                  /* millionths */

#define VPT_MONEY_UNIT       1000000
#define vpt_money(x)         ((vpt_money_t) ((x) * VPT_MONEY_UNIT + 0.5))
#define VPT_MONEY_NONE       INT64_MAX         /* no budget */

#define VPT_ADV_NO_START     INT64_MIN
#define VPT_ADV_NO_END       INT64_MAX


typedef enum {
    VPT_PRICING_CPA = 0,            /* per accept */
    VPT_PRICING_CPC,                /* per click through the accept link */
    VPT_PRICING_CPM                 /* per thousand impressions */
} vpt_pricing_e;


typedef enum {
    VPT_PACING_EVEN = 0,
    VPT_PACING_ASAP
} vpt_pacing_e;


struct vpt_advertiser_s {
    vpt_str_t        id;
    vpt_pricing_e    pricing;
    double           price;
    vpt_money_t      daily_budget;     /* VPT_MONEY_NONE: none */
    vpt_money_t      total_budget;     /* VPT_MONEY_NONE: none */
    vpt_pacing_e     pacing;
    int64_t          start;            /* Unix seconds, inclusive */
    int64_t          end;              /* Unix seconds, exclusive */
    unsigned         cap_per_shopper;  /* 0: none */
    vpt_strlist_t    categories;
};


/*
 * What one impression, and one accept (or click), costs the advertiser:
 * cpm prices impressions, cpa and cpc accepts.
 */
vpt_money_t vpt_adv_impression_cost(const vpt_advertiser_t *a);
vpt_money_t vpt_adv_accept_cost(const vpt_advertiser_t *a);

/* the advertiser named id (a string, or an entry's category) */
long vpt_adv_find(const vpt_catalog_t *c, vpt_str_t id);

/*
 * 1 when the name is the advertiser's id or one of its categories: what
 * vpt_block_advertisers matches.
 */
int vpt_adv_matches(const vpt_advertiser_t *a, vpt_str_t name);

/*
 * "2026-12-01" (the day's start, UTC) or "2026-12-01T10:30:00Z" (also
 * with "+01:00"-style offsets, or no zone: UTC) into Unix seconds;
 * end_of_day: a date alone means the end of that day (for "end").
 * VPT_OK or VPT_ERROR.
 */
int vpt_adv_parse_date(const char *s, size_t len, int end_of_day,
    int64_t *out);


/* what the glue knows of one advertiser when a page is decided */
typedef struct {
    vpt_money_t      spent_day;        /* this budget day, all nodes */
    vpt_money_t      spent_total;
    double           pass;             /* pacing: chance to take part */
    unsigned         blocked:1;        /* by vpt_block_advertisers */
} vpt_adv_state_t;


/*
 * Per offer, gate[i] nonzero keeps offer i out: VPT_GATE_DRAW when
 * pacing's draw alone did, VPT_GATE_OUT otherwise; pass[i] is the chance
 * its advertiser takes part (1 for the shop's own offers), over which
 * the ranker sums for exact propensities.  One draw per advertiser
 * from seed, so all its offers take part or none.  Out: blocked, before
 * start or from end (now, Unix seconds), daily or total budget spent,
 * cap_per_shopper impressions reached (impressions per offer, NULL: none
 * known), first_party_only (consent), or the pacing draw lost.  state
 * holds c->nadvertisers entries.
 */
void vpt_adv_gate(const vpt_catalog_t *c, const vpt_adv_state_t *state,
    int64_t now, const uint32_t *impressions, int first_party_only,
    uint64_t seed, uint8_t *gate, double *pass);


#endif /* VPT_ADVERTISER_H */
