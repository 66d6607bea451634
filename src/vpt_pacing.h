/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Pacing: how much of its traffic an advertiser takes part in, so that
 * "even" spreads a daily budget over the day and "asap" spends as demand
 * comes.  No clock of its own: the caller says how far into the day it
 * is, so a test runs a day in a loop.
 *
 * "even" is a throttle: pass, the chance that the advertiser's offers
 * take part in a page, is set at each update (every spend sync, about a
 * second) to
 *
 *     pass = min(1, (budget left / time left) / demand)
 *
 * where demand is the spend per second the advertiser would see at
 * pass 1, estimated from the spend observed since the last update
 * divided by the pass then in force, smoothed (EWMA).  Behind plan, the
 * rate wanted rises and pass with it; ahead, it falls.  A budget spent
 * is pass 0.  The ranker's logged propensity sums over each page's
 * draws (vpt_propensity.h), so off-policy estimates see the throttle.
 */

#ifndef VPT_PACING_H
#define VPT_PACING_H

#include "vpt_core.h"


typedef struct {
    double      pass;          /* in [0, 1] */
    double      demand;        /* spend per second at pass 1; <0: unknown */
    double      last_spent;
    double      last_t;
} vpt_pacing_t;


/* the lowest pass while budget is left: the estimate needs some traffic */
#define VPT_PACING_MIN_PASS   0.0005

/*
 * Before any spend is seen, pass starts low and doubles each update
 * without spend: a burst of demand at the start of a short day cannot
 * spend half its budget before the first estimate.  Demand learnt
 * carries over to the next day.
 */
#define VPT_PACING_FIRST_PASS 0.05


/* nothing known: pass VPT_PACING_FIRST_PASS */
void vpt_pacing_reset(vpt_pacing_t *pc);

/*
 * t seconds into a day of day seconds, spent of budget this day (one
 * currency unit, any scale); even: 1, asap: 0.  Returns the new pass.
 * A t before the last update's is a new day.
 */
double vpt_pacing_update(vpt_pacing_t *pc, int even, double budget,
    double spent, double t, double day);


#endif /* VPT_PACING_H */
