/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The exact propensity of a ranked list when pacing's draws decide which
 * advertisers take part in a page.
 *
 * Each paced advertiser (a "group": all its offers take part or none)
 * takes part with its pass, independently of the others; then the ranker
 * chooses among the offers that took part (vpt_rank.h: per slot the best
 * remaining with 1 - explore, one uniformly with explore; past the
 * third-party cap, among the shop's own offers alone).  The probability
 * of a list is therefore a sum over the draws:
 *
 *   P(list) = sum over S  P(S) * P(list | only S's offers took part)
 *
 * An advertiser that sat out can matter even when none of its offers was
 * chosen: had it taken part, its best offer might have ranked above the
 * one shown, and its offers count in the explore share's denominator.
 * Summing over 2^G draws is not needed: what a set S of advertisers that
 * were not chosen changes is only how many offers it adds (X) and how
 * many of the chosen offers its best offer outranks (h, the same for any
 * S with the same best), so a small table over (X, h) built one
 * advertiser at a time gives the exact sum: O(G * n * slots) at most, and
 * nothing at all for a page without a paced advertiser.
 */

#ifndef VPT_PROPENSITY_H
#define VPT_PROPENSITY_H

#include <stdint.h>

#include "vpt_core.h"
#include "vpt_catalog.h"


/* the gate's verdicts per offer (vpt_adv_gate(), vpt_decide()) */
#define VPT_GATE_OUT     1          /* kept out whatever the draws */
#define VPT_GATE_DRAW    2          /* kept out by its pacing draw alone */

/* the longest list (vpt_rank.h's VPT_MAX_SLOTS) */
#define VPT_PROP_MAX     8


typedef struct {
    double      ev;         /* the ranker's expected value */
    double      pass;       /* its group's chance to take part; >= 1: sure */
    uint32_t    group;      /* < ngroups; offers with pass < 1 only */
    uint32_t    index;      /* catalog index: equal ev, the lower first */
    unsigned    third:1;    /* third_party: counts toward the cap */
} vpt_prop_offer_t;


size_t vpt_prop_scratch_size(size_t n, size_t ngroups);

/*
 * o: the n offers that qualify for the page if they take part (eligible,
 * ev >= the minimum), whether or not they did, in catalog order; paced
 * ones (pass < 1) must be third_party.  list: the positions in o of the
 * chosen offers, in slot order (nlist <= VPT_PROP_MAX).  prop[j] becomes
 * P(list[j] in slot j | the slots before it), over the draws and the
 * exploration alike; their product is the list's probability.
 */
void vpt_prop_list(const vpt_prop_offer_t *o, size_t n, size_t ngroups,
    const size_t *list, size_t nlist, double explore,
    unsigned max_third_party, void *scratch, double *prop);

/* the chance that none of the n offers takes part: nothing to show */
double vpt_prop_nothing(const vpt_prop_offer_t *o, size_t n, size_t ngroups,
    void *scratch);

/*
 * The ranker's side: the qualifying offers that took part (in: qev[m],
 * qidx[m], catalog order) and those that sat out their draw (out: sev[ns],
 * sidx[ns], descending catalog order), each offer's pass (per catalog
 * index), the chosen offers (catalog indexes).  Writes prop[] as above,
 * or returns 0 and leaves it alone when no qualifying offer was paced;
 * with nchosen 0, *nothing.
 */
int vpt_prop_decision(const vpt_catalog_t *c, const double *pass,
    const double *qev, const uint32_t *qidx, size_t m, const double *sev,
    const uint32_t *sidx, size_t ns, const uint32_t *chosen, size_t nchosen,
    double explore, unsigned max_third_party, void *scratch, double *prop,
    double *nothing);


#endif /* VPT_PROPENSITY_H */
