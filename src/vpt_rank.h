/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The ranker: eligibility rules, expected value per transaction, the choice
 * of what to show (possibly nothing) and its propensity.
 *
 *   EV(offer) = p(accept | shopper, offer)
 *               * (value + long_term_weight * long_term_value)
 *
 * p is the model's sigmoid(logit), or the offer's prior without a model.
 * The catalog and model are compiled once into flat arrays (per-offer FM
 * sums precomputed), so a decision costs the shopper's features once and
 * O(k) per eligible offer, with no allocation but the caller's scratch.
 */

#ifndef VPT_RANK_H
#define VPT_RANK_H

#include "vpt_core.h"
#include "vpt_catalog.h"
#include "vpt_context.h"
#include "vpt_features.h"
#include "vpt_model.h"


#define VPT_MAX_SLOTS  8

/* a slot's kinds: bit (1 << vpt_kind_e) */
#define VPT_KINDS_ALL  ((1u << VPT_KIND_N) - 1)


typedef struct vpt_ranker_s  vpt_ranker_t;

/*
 * model may be NULL (priors); the ranker keeps pointers to both, which
 * must outlive it.  Offers built in code rather than by the catalog parser
 * may leave hours 0: like all 24 bits set, it means "any hour".
 */
vpt_ranker_t *vpt_ranker_create(const vpt_catalog_t *c, const vpt_model_t *m,
    char *err, size_t errlen);
void vpt_ranker_free(vpt_ranker_t *r);
size_t vpt_ranker_scratch_size(const vpt_ranker_t *r);


typedef struct {
    vpt_page_e        page;
    int               hour;             /* server local hour, 0..23 */
    unsigned          slots;            /* 1..VPT_MAX_SLOTS */
    double            min_value;
    double            long_term_weight;
    double            explore;          /* epsilon in [0, 1] */
    uint64_t          seed;             /* from the decision id */
    const uint32_t   *impressions;      /* per offer index, or NULL */
    const uint8_t    *accepted;         /* per offer index, or NULL */

    /* advertisers (vpt_adv_gate()): NULL, 0: none */
    const uint8_t    *gate;             /* per offer index: nonzero keeps
                                           out; VPT_GATE_DRAW: pacing's
                                           draw alone */
    const double     *pass;             /* per offer index: pacing's */
    unsigned          max_third_party;  /* per page; 0: no cap */

    /* per slot, the kinds it takes (VPT_KINDS_ALL bits); NULL: any */
    const uint8_t    *slot_kinds;

    /*
     * Offers left out before the rules, so exploration and propensities
     * are over what remains: capped offers when the counters were not
     * read (an anonymous shopper), third_party offers when the shopper's
     * consent does not reach third parties.
     */
    unsigned          no_capped:1;
    unsigned          no_third_party:1;
} vpt_decide_params_t;


typedef struct {
    size_t       n;                     /* offers chosen; 0: show nothing */
    uint32_t     offer[VPT_MAX_SLOTS];  /* catalog indexes, in slot order */
    uint8_t      slot[VPT_MAX_SLOTS];   /* the slot offer[i] fills */
    double       p[VPT_MAX_SLOTS];      /* acceptance probability */
    double       value[VPT_MAX_SLOTS];  /* expected value */
    double       propensity[VPT_MAX_SLOTS];
    double       total_value;           /* sum of value[] */
    double       nothing_propensity;    /* 1 when n == 0, else 0 */
    size_t       eligible;              /* offers that passed the rules */
    unsigned     suppressed:1;          /* eligible, but none >= min_value */

    /* the offers the policy chose among (eligible, EV >= min_value), in
     * catalog order; points into the scratch, valid as long as it is */
    const uint32_t  *candidates;
    size_t           ncandidates;
} vpt_decision_t;


/*
 * scratch: vpt_ranker_scratch_size() bytes, any alignment (a request pool
 * allocation); nothing else is allocated.  The decision is a pure function
 * of (ranker, ctx, params): the same seed gives the same choice.
 *
 * The qualifying offers are the eligible ones with EV >= min_value.  Each
 * slot in turn, with probability explore, takes one of the remaining
 * qualifying offers uniformly at random, else the best remaining by EV
 * (ties: the lower catalog index).  So without exploration the offers are
 * best first, and propensity[j] is the true probability of offer[j] in
 * slot j given the slots before it:
 *   (1 - explore) * [offer[j] is the best remaining] + explore / remaining
 * (the propensity of the whole list is their product).  With no qualifying
 * offer n is 0 and nothing_propensity 1.
 *
 * With slot_kinds, a slot chooses among the remaining qualifying offers of
 * its kinds alone (best, or uniformly with probability explore, as above;
 * the propensity's "remaining" counts those); a slot none of them is left
 * for stays empty, so offer[] holds the chosen in slot order and slot[]
 * says which slot each fills (without slot_kinds, slot[i] is i).
 *
 * An offer with gate[i] set is not eligible.  EV adds the offer's
 * impression_value (cpm) to p * value.  Once max_third_party third_party
 * offers are chosen, the remaining slots choose among the others alone
 * (best, or uniformly with probability explore, as above).  With pass,
 * the propensities (and nothing_propensity) are summed over pacing's
 * draws too, so they stay the true probabilities of what was shown
 * (vpt_propensity.h): an offer that sat out its draw (VPT_GATE_DRAW) is
 * never chosen, but it counts.
 */
void vpt_decide(const vpt_ranker_t *r, const vpt_context_t *ctx,
    const vpt_decide_params_t *params, void *scratch, vpt_decision_t *d);

/*
 * The eligibility rules alone (for tests and tools); 1: eligible.  Beyond
 * the catalog's rules, an offer never shows what was just bought: not when
 * its feature "sku" is a cart or history SKU, nor on the confirmation page
 * when its feature "category" is a cart item's category.  devices,
 * countries and referrers ignore ASCII case; SKUs and categories do not.
 * A rule on a context field the context does not have (device, country,
 * referrer, loyalty, the hour when neither the context nor the server has
 * one) fails.  It runs vpt_decide()'s own code on a ranker of this one
 * offer, so it allocates (and says 0 when memory runs out).
 */
int vpt_eligible(const vpt_offer_t *o, const vpt_context_t *ctx,
    vpt_page_e page, int hour, uint32_t impressions, int accepted);

/*
 * p(accept) of one offer through the same code path as vpt_decide(), and
 * the model's logit (0 without a model): equal to vpt_model_logit() over
 * the shopper's and the offer's features together.
 */
double vpt_ranker_p(const vpt_ranker_t *r, const vpt_context_t *ctx,
    vpt_page_e page, int hour, size_t offer);

/* an offer's value per accept as ranked: the model's "values", else the
 * catalog's "value" */
double vpt_ranker_value(const vpt_ranker_t *r, size_t offer);
double vpt_ranker_logit(const vpt_ranker_t *r, const vpt_context_t *ctx,
    vpt_page_e page, int hour, size_t offer);


#endif /* VPT_RANK_H */
