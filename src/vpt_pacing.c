/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Pacing's throttle; the model is at the top of vpt_pacing.h.
 */

#include "vpt_pacing.h"


/* weight of the newest demand sample: about ten updates of memory */
#define VPT_PACING_ALPHA      0.1


void
vpt_pacing_reset(vpt_pacing_t *pc)
{
    pc->pass = VPT_PACING_FIRST_PASS;
    pc->demand = -1;
    pc->last_spent = 0;
    pc->last_t = -1;                /* never updated */
}


double
vpt_pacing_update(vpt_pacing_t *pc, int even, double budget, double spent,
    double t, double day)
{
    double  dt, sample, want, left;

    if (pc->last_t < 0) {
        /* the first update: a reference point, nothing to estimate yet */
        pc->last_t = t;
        pc->last_spent = spent;
    }

    if (t < pc->last_t || spent < pc->last_spent) {
        /* a new day: what was learnt of demand still holds */
        pc->last_t = t;
        pc->last_spent = spent;
    }

    dt = t - pc->last_t;

    if (!(spent < budget)) {
        pc->pass = 0;
        pc->last_spent = spent;
        pc->last_t = t;
        return 0;
    }

    if (!even) {
        pc->pass = 1;
        pc->last_spent = spent;
        pc->last_t = t;
        return 1;
    }

    if (dt <= 0 && pc->demand < 0) {
        return pc->pass;
    }

    if (dt > 0 && pc->pass > 0) {
        /* what pass 1 would have spent per second since the last update */
        sample = (spent - pc->last_spent) / dt / pc->pass;

        pc->demand = (pc->demand <= 0)
                     ? sample
                     : pc->demand + VPT_PACING_ALPHA * (sample - pc->demand);
    }

    pc->last_spent = spent;
    pc->last_t = t;

    left = day - t;

    if (left <= 0 || pc->demand <= 0) {
        /* no spend seen yet: ramp up, do not jump to 1 */
        pc->pass = (pc->pass > 0) ? pc->pass * 2 : VPT_PACING_FIRST_PASS;
        pc->pass = (pc->pass < 1) ? pc->pass : 1;
        return pc->pass;
    }

    want = (budget - spent) / left;

    pc->pass = want / pc->demand;

    if (pc->pass > 1) {
        pc->pass = 1;

    } else if (!(pc->pass >= VPT_PACING_MIN_PASS)) {
        pc->pass = VPT_PACING_MIN_PASS;
    }

    return pc->pass;
}
