/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Past 800 lines on purpose: the compiled offers and the loop that reads them.
 *
 * The ranker.  vpt_ranker_create() compiles each offer into a compact
 * record (its numeric rules and values), a short program of its rules on
 * strings, and the offer's side of the factorization machine:
 *
 *   logit = bias + trees_s + lin_s + pair_s + lin_o + pair_o + <S, O>
 *
 * where lin is the sum of the features' w, pair is the FM's pairwise term
 * within one side, S, O are the sums of the v vectors of the shopper's
 * and the offer's features, and trees_s the model's shopper-side trees
 * (vpt_trees.h).  The shopper's side is computed once per decision, so an
 * offer costs its rules and one k-dot product.
 *
 * Strings become ids.  Two dictionaries hold every string the offers'
 * rules name: one for SKUs and categories (exact bytes), one for devices,
 * countries and referrers (ASCII case ignored).  A decision looks each
 * context string up once: the device becomes an id, and each SKU or
 * category sets, in a byte per id in the scratch memory, the bits of the
 * context sets that hold it (cart SKUs, cart categories, ...).  A rule then
 * compares ids or reads one byte per list item; a string no offer names
 * cannot match a rule, so it is simply not found.
 *
 * An offer's program is a run of uint32: for each rule list present (the
 * VPT_LIST() bits of its record, in vpt_list_e order) the count and the
 * ids, then when VPT_KEYS the ids of its "sku" and "category" features
 * (VPT_NOID when absent).  One offer's rules sit in one or two cache lines.
 *
 * vpt_eligible() runs the very same code on a ranker of one offer.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_rank.h"
#include "vpt_propensity.h"


#define VPT_HOURS_ALL   0xffffffu
#define VPT_NOID        0xffffffffu

#define vpt_align(n)    (((n) + 7) & ~(size_t) 7)

/* the numeric rules inline in the scan, the string rules a call away */
#if defined(__GNUC__)
#define vpt_noinline    __attribute__((noinline))
#else
#define vpt_noinline
#endif


/* the offer's rule lists, in program order */
typedef enum {
    VPT_L_DEVICES = 0,
    VPT_L_COUNTRIES,
    VPT_L_REFERRERS,
    VPT_L_CAT_ANY,
    VPT_L_CAT_NONE,
    VPT_L_IN_CART,
    VPT_L_PURCHASED,
    VPT_L_N
} vpt_list_e;

#define VPT_LIST(l)     (1u << (l))
#define VPT_KEYS        (1u << VPT_L_N)     /* has "sku" or "category" */


/* the context's string sets */
typedef enum {
    VPT_S_CART_SKU = 0,
    VPT_S_CART_CAT,
    VPT_S_HIST_SKU,
    VPT_S_HIST_CAT,
    VPT_S_VIEW_CAT,
    VPT_S_N
} vpt_set_e;

#define VPT_SET(s)      (1u << (s))


/* the context sets each list of SKUs or categories is matched against */
static const unsigned  vpt_list_sets[VPT_L_N] = {
    0, 0, 0,
    VPT_SET(VPT_S_CART_CAT) | VPT_SET(VPT_S_HIST_CAT)
    | VPT_SET(VPT_S_VIEW_CAT),                          /* categories_any */
    VPT_SET(VPT_S_CART_CAT) | VPT_SET(VPT_S_HIST_CAT),  /* categories_none */
    VPT_SET(VPT_S_CART_SKU) | VPT_SET(VPT_S_CART_CAT),  /* in cart */
    0   /* purchased: history, and the cart on the confirmation page */
};


/* strings to ids: open addressing, at most half full */
typedef struct {
    size_t                n;            /* ids given */
    size_t                mask;         /* slots - 1 */
    unsigned              shift;        /* 64 - log2(slots) */
    unsigned              caseless:1;
    uint64_t             *hash;         /* per slot */
    const vpt_str_t     **str;          /* per slot; NULL: empty */
    uint32_t             *id;           /* per slot */
} vpt_dict_t;


/* what a decision reads of every offer, in 64 bytes */
typedef struct {
    double                base;         /* lin_o + pair_o */
    double                value;
    double                long_term_value;
    double                impression_value;
    double                prior;
    double                min_cart_total;
    uint32_t              hours;        /* VPT_HOURS_ALL: no rule */
    uint32_t              cap;
    uint32_t              prog;         /* offset of its program */
    uint8_t               pages;
    int8_t                loyalty;      /* -1: any */
    uint8_t               strings;      /* VPT_LIST() bits and VPT_KEYS */
} vpt_rank_offer_t;


struct vpt_ranker_s {
    const vpt_catalog_t  *catalog;
    const vpt_model_t    *model;
    unsigned              k;
    size_t                n;
    vpt_rank_offer_t     *offers;
    uint32_t             *prog;         /* the offers' programs */
    uint32_t             *on[VPT_PAGE_N];   /* the offers of each page */
    size_t                non[VPT_PAGE_N];
    double               *ovec;         /* n rows of k: O of each offer */
    vpt_dict_t            ids;          /* SKUs and categories */
    vpt_dict_t            cids;         /* devices, countries, referrers */
};


/* what the rules need of one decision's context */
typedef struct {
    const vpt_context_t  *ctx;
    vpt_page_e            page;
    int                   hour;         /* -1: unknown */
    uint32_t              device;       /* cids ids; VPT_NOID: none */
    uint32_t              country;
    uint32_t              referrer;
    unsigned              sets;         /* sets with a string found */
    uint8_t              *mask;         /* the sets of each ids id */
} vpt_shopper_t;


static int vpt_dict_init(vpt_dict_t *dict, size_t max, int caseless);
static void vpt_dict_free(vpt_dict_t *dict);
static uint32_t vpt_dict_add(vpt_dict_t *dict, const vpt_str_t *v);
static uint32_t vpt_dict_find(const vpt_dict_t *dict, vpt_str_t v);
static uint32_t *vpt_prog_compile(vpt_ranker_t *r, const vpt_offer_t *o,
    uint32_t *p, uint8_t *has);
static void vpt_shopper_init(const vpt_ranker_t *r, vpt_shopper_t *s,
    const vpt_context_t *ctx, vpt_page_e page, int hour, uint8_t *mask);
static void vpt_shopper_add(const vpt_ranker_t *r, vpt_shopper_t *s,
    const vpt_str_t *v, unsigned set);
static inline int vpt_rules(const vpt_ranker_t *r,
    const vpt_shopper_t *s, size_t i, uint32_t impressions, int accepted);
static vpt_noinline int vpt_rules_strings(const vpt_shopper_t *s,
    const uint32_t *p, unsigned has);
static double vpt_shopper_fm(const vpt_ranker_t *r, const vpt_context_t *ctx,
    vpt_page_e page, int hour, double *S);
static double vpt_offer_logit(const vpt_ranker_t *r, size_t i, double sbase,
    const double *S);
static const vpt_strlist_t *vpt_offer_list(const vpt_offer_t *o,
    vpt_list_e l);
static uint64_t vpt_hash_caseless(vpt_str_t v);
static size_t vpt_pick_kinds(const vpt_ranker_t *r, const double *qev,
    const uint32_t *qidx, size_t m, const size_t *picked, size_t j,
    unsigned kinds, double eps, uint64_t *state, size_t *best, size_t *rest);


vpt_ranker_t *
vpt_ranker_create(const vpt_catalog_t *c, const vpt_model_t *m, char *err,
    size_t errlen)
{
    double              sum[VPT_MODEL_MAX_K], sq, lin, v;
    size_t              i, j, jr, nf, nr, nc, ni, np, n;
    unsigned            l, x, k;
    uint32_t           *p;
    vpt_feat_t          f[VPT_MAX_FEATURES];
    const float        *w, *rows[VPT_MODEL_MAX_LEVELS];
    vpt_ranker_t       *r;
    vpt_rank_offer_t   *ro;
    const vpt_offer_t  *o;

    r = calloc(1, sizeof(vpt_ranker_t));
    if (r == NULL) {
        goto nomem;
    }

    r->catalog = c;
    r->model = m;
    r->k = m ? vpt_model_k(m) : 0;
    r->n = c->n;

    /* nc case-ignoring and ni exact strings at most; np program words */

    nc = 0;
    ni = 0;
    np = 0;

    for (i = 0; i < c->n; i++) {
        for (l = 0; l < VPT_L_N; l++) {
            n = vpt_offer_list(&c->offers[i], l)->n;

            if (l <= VPT_L_REFERRERS) {
                nc += n;

            } else {
                ni += n;
            }

            np += n ? n + 1 : 0;
        }

        ni += 2;
        np += 2;
    }

    if (np >= VPT_NOID / 2) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "ranker: too many offers");
        }

        vpt_ranker_free(r);
        return NULL;
    }

    r->offers = calloc(c->n ? c->n : 1, sizeof(vpt_rank_offer_t));
    r->prog = malloc(np * sizeof(uint32_t));
    r->ovec = malloc((c->n * r->k + 1) * sizeof(double));
    r->on[0] = malloc(VPT_PAGE_N * (c->n + 1) * sizeof(uint32_t));

    if (r->offers == NULL || r->prog == NULL || r->ovec == NULL
        || r->on[0] == NULL
        || vpt_dict_init(&r->ids, ni, 0) != VPT_OK
        || vpt_dict_init(&r->cids, nc, 1) != VPT_OK)
    {
        goto nomem;
    }

    p = r->prog;
    k = r->k;

    for (l = 1; l < VPT_PAGE_N; l++) {
        r->on[l] = r->on[l - 1] + c->n + 1;
    }

    for (i = 0; i < c->n; i++) {
        o = &c->offers[i];
        ro = &r->offers[i];

        for (l = 0; l < VPT_PAGE_N; l++) {
            if (o->pages & VPT_PAGE_BIT(l)) {
                r->on[l][r->non[l]++] = (uint32_t) i;
            }
        }

        /* the value per accept the model learned from the log, if any */
        ro->value = (m != NULL && !isnan(v = vpt_model_value(m, o->id)))
                    ? v : o->value;
        ro->long_term_value = o->long_term_value;
        ro->impression_value = o->impression_value;
        ro->prior = o->prior;
        ro->min_cart_total = o->min_cart_total;
        ro->hours = (o->hours & VPT_HOURS_ALL) ? o->hours & VPT_HOURS_ALL
                                               : VPT_HOURS_ALL;
        ro->cap = o->cap_per_shopper;
        ro->pages = (uint8_t) o->pages;
        ro->loyalty = (int8_t) (o->loyalty_member < 0 ? -1
                                : o->loyalty_member ? 1 : 0);
        ro->prog = (uint32_t) (p - r->prog);

        p = vpt_prog_compile(r, o, p, &ro->strings);

        if (m == NULL) {
            continue;
        }

        nf = vpt_features_offer(o, f, VPT_MAX_FEATURES);
        lin = 0;
        sq = 0;

        for (x = 0; x < k; x++) {
            sum[x] = 0;
        }

        for (j = 0; j < nf; j++) {
            nr = vpt_model_rows(m, &f[j], rows);

            for (jr = 0; jr < nr; jr++) {
                w = rows[jr];
                lin += w[0];

                for (x = 0; x < k; x++) {
                    sum[x] += w[1 + x];
                    sq += (double) w[1 + x] * w[1 + x];
                }
            }
        }

        ro->base = lin - 0.5 * sq;

        for (x = 0; x < k; x++) {
            ro->base += 0.5 * sum[x] * sum[x];
            r->ovec[i * k + x] = sum[x];
        }
    }

    return r;

nomem:

    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "ranker: out of memory");
    }

    vpt_ranker_free(r);

    return NULL;
}


void
vpt_ranker_free(vpt_ranker_t *r)
{
    if (r == NULL) {
        return;
    }

    vpt_dict_free(&r->ids);
    vpt_dict_free(&r->cids);
    free(r->offers);
    free(r->prog);
    free(r->on[0]);
    free(r->ovec);
    free(r);
}


size_t
vpt_ranker_scratch_size(const vpt_ranker_t *r)
{
    /* ev[n], p[n], idx[n] of the qualifying offers, the sets of each id,
     * and alignment; then, with advertisers, the exact propensity's */
    return 8 + vpt_align(r->n * (2 * sizeof(double) + sizeof(uint32_t))
                         + r->ids.n + 1)
           + (r->catalog->nadvertisers
              ? vpt_prop_scratch_size(r->n, r->catalog->nadvertisers) : 0);
}


void
vpt_decide(const vpt_ranker_t *r, const vpt_context_t *ctx,
    const vpt_decide_params_t *params, void *scratch, vpt_decision_t *d)
{
    double                   S[VPT_MODEL_MAX_K], sbase, eps, ltw, minv, p;
    double                   ev, *qev, *qp;
    size_t                   i, o, non, m, j, t, ntop, top[VPT_MAX_SLOTS];
    size_t                   pick, best, pos, rest, picked[VPT_MAX_SLOTS];
    size_t                   sorted[VPT_MAX_SLOTS], c, ns;
    unsigned                 slots, n3, kinds, draw;
    char                    *pscratch;
    uint8_t                 *mask;
    uint32_t                *qidx;
    uint64_t                 state;
    const uint32_t          *on;
    uintptr_t                a;
    vpt_shopper_t            s;
    const vpt_rank_offer_t  *ro;

    memset(d, 0, sizeof(vpt_decision_t));
    d->nothing_propensity = 1;

    slots = params->slots;
    slots = (slots < 1) ? 1 : (slots > VPT_MAX_SLOTS ? VPT_MAX_SLOTS : slots);

    eps = params->explore;
    eps = (eps > 0) ? (eps < 1 ? eps : 1) : 0;     /* NaN -> 0 */

    ltw = params->long_term_weight;
    minv = params->min_value;

    a = ((uintptr_t) scratch + 7) & ~(uintptr_t) 7;
    qev = (double *) a;
    qp = qev + r->n;
    qidx = (uint32_t *) (qp + r->n);
    mask = (uint8_t *) (qidx + r->n);

    vpt_shopper_init(r, &s, ctx, params->page, params->hour, mask);

    sbase = (r->model != NULL)
            ? vpt_shopper_fm(r, ctx, params->page, params->hour, S) : 0;

    m = 0;
    ns = 0;
    ntop = 0;
    pscratch = (char *) scratch + 8
               + vpt_align(r->n * (2 * sizeof(double) + sizeof(uint32_t))
                           + r->ids.n + 1);

    if ((unsigned) params->page >= VPT_PAGE_N) {
        return;
    }

    /* only the offers of this page, in catalog order */

    on = r->on[params->page];
    non = r->non[params->page];

    for (o = 0; o < non; o++) {
        i = on[o];

        draw = (params->gate != NULL && params->gate[i] == VPT_GATE_DRAW);

        if ((params->gate != NULL && params->gate[i] && !draw)
            || (params->no_capped && r->offers[i].cap)
            || (params->no_third_party
                && r->catalog->offers[i].kind == VPT_KIND_THIRD_PARTY))
        {
            continue;
        }

        if (!vpt_rules(r, &s, i,
                       params->impressions ? params->impressions[i] : 0,
                       params->accepted ? params->accepted[i] : 0))
        {
            continue;
        }

        d->eligible += !draw;

        ro = &r->offers[i];
        p = (r->model != NULL) ? vpt_sigmoid(vpt_offer_logit(r, i, sbase, S))
                               : ro->prior;
        ev = p * (ro->value + ltw * ro->long_term_value)
             + ro->impression_value;

        if (!(ev >= minv)) {
            continue;
        }

        if (draw) {
            /* sat out pacing's draw: not chosen, but its chance to take
             * part counts in the propensities (kept at the scratch's end) */
            ns++;
            qev[r->n - ns] = ev;
            qidx[r->n - ns] = (uint32_t) i;
            continue;
        }

        qev[m] = ev;
        qp[m] = p;
        qidx[m] = (uint32_t) i;

        /* the best slots: strictly better only, so ties keep catalog order */

        if (ntop < slots || ev > qev[top[ntop - 1]]) {
            t = (ntop < slots) ? ntop++ : ntop - 1;

            while (t > 0 && ev > qev[top[t - 1]]) {
                top[t] = top[t - 1];
                t--;
            }

            top[t] = m;
        }

        m++;
    }

    if (m == 0) {
        d->suppressed = (d->eligible > 0);

        if (ns > 0 && params->pass != NULL && r->catalog->nadvertisers) {
            vpt_prop_decision(r->catalog, params->pass, qev, qidx, 0,
                              qev + r->n - ns, qidx + r->n - ns, ns, NULL, 0,
                              eps, params->max_third_party, pscratch,
                              d->propensity, &d->nothing_propensity);
        }

        return;
    }

    d->candidates = qidx;
    d->ncandidates = m;

    state = params->seed;

    n3 = 0;

    /*
     * Slot j in turn (several placements: theirs in config order, the
     * most important first); c offers chosen so far.  A slot whose kinds
     * or the third-party cap leave out some offers chooses among the
     * others alone, with the same rule; one with none left stays empty.
     */

    for (j = 0, c = 0; j < slots && c < m; j++) {
        rest = m - c;

        kinds = params->slot_kinds ? params->slot_kinds[j] : VPT_KINDS_ALL;

        if (params->max_third_party && n3 >= params->max_third_party) {
            kinds &= ~(1u << VPT_KIND_THIRD_PARTY);
        }

        if ((kinds & VPT_KINDS_ALL) != VPT_KINDS_ALL) {
            pick = vpt_pick_kinds(r, qev, qidx, m, picked, c, kinds, eps,
                                  &state, &best, &rest);
            if (pick == m) {
                continue;
            }

            goto chosen;
        }

        /* the best remaining: the first of top not picked yet */

        best = top[0];

        for (t = 0; t < ntop; t++) {
            for (i = 0; i < c && picked[i] != top[t]; i++) {
                /* void */
            }

            if (i == c) {
                best = top[t];
                break;
            }
        }

        pick = best;

        if (eps > 0 && vpt_rand_unit(&state) < eps) {
            pos = (size_t) (vpt_rand_unit(&state) * (double) rest);
            pos = (pos < rest) ? pos : rest - 1;

            /* the pos-th position not picked: skip the picked, ascending */

            for (t = 0; t < c; t++) {
                if (sorted[t] <= pos) {
                    pos++;
                }
            }

            pick = pos;
        }

    chosen:

        picked[c] = pick;
        n3 += (r->catalog->offers[qidx[pick]].kind == VPT_KIND_THIRD_PARTY);

        for (t = c; t > 0 && sorted[t - 1] > pick; t--) {
            sorted[t] = sorted[t - 1];
        }

        sorted[t] = pick;

        d->offer[c] = qidx[pick];
        d->slot[c] = (uint8_t) j;
        d->p[c] = qp[pick];
        d->value[c] = qev[pick];
        d->propensity[c] = ((pick == best) ? 1 - eps : 0) + eps / rest;
        d->total_value += qev[pick];
        d->n = ++c;
    }

    /* every slot's kinds may have left every offer out */
    d->nothing_propensity = (d->n == 0);

    if (params->pass == NULL || !r->catalog->nadvertisers) {
        return;
    }

    if (params->slot_kinds == NULL) {
        /* paced advertisers: the propensities summed over their draws */
        vpt_prop_decision(r->catalog, params->pass, qev, qidx, m,
                          qev + r->n - ns, qidx + r->n - ns, ns, d->offer,
                          d->n, eps, params->max_third_party,
                          pscratch, d->propensity,
                          &d->nothing_propensity);
        return;
    }

    /*
     * Placements' kinds, which the sum over the draws does not model: each
     * chosen offer's slot propensity times its advertiser's pass, exact
     * for the shop's own offers, approximate for a paced one's.
     */

    for (c = 0; c < d->n; c++) {
        d->propensity[c] *= params->pass[d->offer[c]];
    }
}


/*
 * A slot that takes some kinds only (a placement's kinds, or none
 * third_party past the cap): the best remaining offer of those kinds (or,
 * with probability eps, one of them uniformly), with *best and *rest for
 * its propensity; m when none is left.
 */

static size_t
vpt_pick_kinds(const vpt_ranker_t *r, const double *qev,
    const uint32_t *qidx, size_t m, const size_t *picked, size_t j,
    unsigned kinds, double eps, uint64_t *state, size_t *best, size_t *rest)
{
    size_t  q, t, n, pos;

    *best = m;
    n = 0;

    for (q = 0; q < m; q++) {
        for (t = 0; t < j && picked[t] != q; t++) {
            /* void */
        }

        if (t < j
            || !(kinds & (1u << r->catalog->offers[qidx[q]].kind)))
        {
            continue;
        }

        n++;

        if (*best == m || qev[q] > qev[*best]) {
            *best = q;
        }
    }

    *rest = n;

    if (n == 0 || !(eps > 0 && vpt_rand_unit(state) < eps)) {
        return *best;
    }

    pos = (size_t) (vpt_rand_unit(state) * (double) n);
    pos = (pos < n) ? pos : n - 1;

    for (q = 0; q < m; q++) {
        for (t = 0; t < j && picked[t] != q; t++) {
            /* void */
        }

        if (t < j
            || !(kinds & (1u << r->catalog->offers[qidx[q]].kind)))
        {
            continue;
        }

        if (pos-- == 0) {
            return q;
        }
    }

    return *best;
}


int
vpt_eligible(const vpt_offer_t *o, const vpt_context_t *ctx, vpt_page_e page,
    int hour, uint32_t impressions, int accepted)
{
    int             ok;
    uint8_t        *mask;
    vpt_ranker_t   *r;
    vpt_catalog_t   c;
    vpt_shopper_t   s;

    memset(&c, 0, sizeof(vpt_catalog_t));
    c.offers = (vpt_offer_t *) o;
    c.n = 1;

    r = vpt_ranker_create(&c, NULL, NULL, 0);
    mask = (r != NULL) ? malloc(r->ids.n + 1) : NULL;

    if (mask == NULL) {
        vpt_ranker_free(r);
        return 0;
    }

    vpt_shopper_init(r, &s, ctx, page, hour, mask);
    ok = vpt_rules(r, &s, 0, impressions, accepted);

    free(mask);
    vpt_ranker_free(r);

    return ok;
}


double
vpt_ranker_logit(const vpt_ranker_t *r, const vpt_context_t *ctx,
    vpt_page_e page, int hour, size_t offer)
{
    double  S[VPT_MODEL_MAX_K], sbase;

    if (r->model == NULL || offer >= r->n) {
        return 0;
    }

    sbase = vpt_shopper_fm(r, ctx, page, hour, S);

    return vpt_offer_logit(r, offer, sbase, S);
}


double
vpt_ranker_p(const vpt_ranker_t *r, const vpt_context_t *ctx,
    vpt_page_e page, int hour, size_t offer)
{
    if (offer >= r->n) {
        return 0;
    }

    if (r->model == NULL) {
        return r->offers[offer].prior;
    }

    return vpt_sigmoid(vpt_ranker_logit(r, ctx, page, hour, offer));
}


double
vpt_ranker_value(const vpt_ranker_t *r, size_t offer)
{
    return (offer < r->n) ? r->offers[offer].value : 0;
}


static int
vpt_dict_init(vpt_dict_t *dict, size_t max, int caseless)
{
    size_t  slots;

    for (slots = 16, dict->shift = 60; slots < 2 * max; slots *= 2) {
        dict->shift--;
    }

    dict->n = 0;
    dict->mask = slots - 1;
    dict->caseless = caseless ? 1 : 0;
    dict->hash = malloc(slots * sizeof(uint64_t));
    dict->str = calloc(slots, sizeof(vpt_str_t *));
    dict->id = malloc(slots * sizeof(uint32_t));

    if (dict->hash == NULL || dict->str == NULL || dict->id == NULL) {
        return VPT_ERROR;
    }

    return VPT_OK;
}


static void
vpt_dict_free(vpt_dict_t *dict)
{
    free(dict->hash);
    free(dict->str);
    free(dict->id);
}


/* the string's id, a new one if it had none */

static uint32_t
vpt_dict_add(vpt_dict_t *dict, const vpt_str_t *v)
{
    size_t    i;
    uint64_t  h;

    h = dict->caseless ? vpt_hash_caseless(*v) : vpt_hash(v->data, v->len);
    i = (size_t) ((h * 0x9e3779b97f4a7c15ULL) >> dict->shift);

    for ( ;; ) {
        if (dict->str[i] == NULL) {
            dict->hash[i] = h;
            dict->str[i] = v;
            dict->id[i] = (uint32_t) dict->n++;
            return dict->id[i];
        }

        if (dict->hash[i] == h
            && (dict->caseless ? vpt_str_caseeq(*dict->str[i], *v)
                               : vpt_str_eq(*dict->str[i], *v)))
        {
            return dict->id[i];
        }

        i = (i + 1) & dict->mask;
    }
}


/* the string's id, or VPT_NOID (always for an empty string) */

static uint32_t
vpt_dict_find(const vpt_dict_t *dict, vpt_str_t v)
{
    size_t    i;
    uint64_t  h;

    if (v.len == 0) {
        return VPT_NOID;
    }

    h = dict->caseless ? vpt_hash_caseless(v) : vpt_hash(v.data, v.len);
    i = (size_t) ((h * 0x9e3779b97f4a7c15ULL) >> dict->shift);

    for ( ;; ) {
        if (dict->str[i] == NULL) {
            return VPT_NOID;
        }

        if (dict->hash[i] == h
            && (dict->caseless ? vpt_str_caseeq(*dict->str[i], v)
                               : vpt_str_eq(*dict->str[i], v)))
        {
            return dict->id[i];
        }

        i = (i + 1) & dict->mask;
    }
}


/* writes the offer's program at p; returns its end */

static uint32_t *
vpt_prog_compile(vpt_ranker_t *r, const vpt_offer_t *o, uint32_t *p,
    uint8_t *has)
{
    size_t                i;
    unsigned              l, bits;
    uint32_t              sku, category;
    vpt_dict_t           *dict;
    const vpt_attr_t     *a;
    const vpt_strlist_t  *list;

    bits = 0;

    for (l = 0; l < VPT_L_N; l++) {
        list = vpt_offer_list(o, l);

        if (list->n == 0) {
            continue;
        }

        bits |= VPT_LIST(l);
        dict = (l <= VPT_L_REFERRERS) ? &r->cids : &r->ids;

        *p++ = (uint32_t) list->n;

        for (i = 0; i < list->n; i++) {
            *p++ = vpt_dict_add(dict, &list->items[i]);
        }
    }

    sku = VPT_NOID;
    category = VPT_NOID;

    for (i = 0; i < o->nfeatures; i++) {
        a = &o->features[i];

        if (a->is_num || a->str.len == 0) {
            continue;
        }

        if (sku == VPT_NOID && a->name.len == 3
            && memcmp(a->name.data, "sku", 3) == 0)
        {
            sku = vpt_dict_add(&r->ids, &a->str);

        } else if (category == VPT_NOID && a->name.len == 8
                   && memcmp(a->name.data, "category", 8) == 0)
        {
            category = vpt_dict_add(&r->ids, &a->str);
        }
    }

    if (sku != VPT_NOID || category != VPT_NOID) {
        bits |= VPT_KEYS;
        *p++ = sku;
        *p++ = category;
    }

    *has = (uint8_t) bits;

    return p;
}


static void
vpt_shopper_init(const vpt_ranker_t *r, vpt_shopper_t *s,
    const vpt_context_t *ctx, vpt_page_e page, int hour, uint8_t *mask)
{
    size_t  i, n;

    s->ctx = ctx;
    s->page = page;

    if (ctx->local_hour >= 0 && ctx->local_hour <= 23) {
        s->hour = ctx->local_hour;

    } else {
        s->hour = (hour >= 0 && hour <= 23) ? hour : -1;
    }

    s->device = vpt_dict_find(&r->cids, ctx->device);
    s->country = vpt_dict_find(&r->cids, ctx->country);
    s->referrer = vpt_dict_find(&r->cids, ctx->referrer);
    s->sets = 0;
    s->mask = mask;

    memset(mask, 0, r->ids.n);

    if (r->ids.n == 0) {
        return;
    }

    n = (ctx->ncart < VPT_CTX_MAX_ITEMS) ? ctx->ncart : VPT_CTX_MAX_ITEMS;

    for (i = 0; i < n; i++) {
        vpt_shopper_add(r, s, &ctx->cart[i].sku, VPT_SET(VPT_S_CART_SKU));
        vpt_shopper_add(r, s, &ctx->cart[i].category,
                        VPT_SET(VPT_S_CART_CAT));
    }

    n = (ctx->nhistory_skus < VPT_CTX_MAX_STRS) ? ctx->nhistory_skus
                                                : VPT_CTX_MAX_STRS;

    for (i = 0; i < n; i++) {
        vpt_shopper_add(r, s, &ctx->history_skus[i],
                        VPT_SET(VPT_S_HIST_SKU));
    }

    n = (ctx->nhistory_categories < VPT_CTX_MAX_STRS)
        ? ctx->nhistory_categories : VPT_CTX_MAX_STRS;

    for (i = 0; i < n; i++) {
        vpt_shopper_add(r, s, &ctx->history_categories[i],
                        VPT_SET(VPT_S_HIST_CAT));
    }

    n = (ctx->nviewed < VPT_CTX_MAX_ITEMS) ? ctx->nviewed : VPT_CTX_MAX_ITEMS;

    for (i = 0; i < n; i++) {
        vpt_shopper_add(r, s, &ctx->viewed[i].category,
                        VPT_SET(VPT_S_VIEW_CAT));
    }
}


static void
vpt_shopper_add(const vpt_ranker_t *r, vpt_shopper_t *s, const vpt_str_t *v,
    unsigned set)
{
    uint32_t  id;

    id = vpt_dict_find(&r->ids, *v);

    if (id != VPT_NOID) {
        s->mask[id] |= (uint8_t) set;
        s->sets |= set;
    }
}


/* all the rules of offer i: 1 when eligible */

static inline int
vpt_rules(const vpt_ranker_t *r, const vpt_shopper_t *s, size_t i,
    uint32_t impressions, int accepted)
{
    const vpt_rank_offer_t  *ro;

    ro = &r->offers[i];

    if (!(ro->pages & VPT_PAGE_BIT(s->page)) || accepted) {
        return 0;
    }

    if (ro->cap && impressions >= ro->cap) {
        return 0;
    }

    if (ro->hours != VPT_HOURS_ALL
        && (s->hour < 0 || !(ro->hours & (1u << s->hour))))
    {
        return 0;
    }

    if (ro->loyalty >= 0 && s->ctx->loyalty_member != ro->loyalty) {
        return 0;
    }

    if (ro->min_cart_total > 0
        && !(s->ctx->cart_total >= ro->min_cart_total))
    {
        return 0;
    }

    if (ro->strings == 0) {
        return 1;
    }

    return vpt_rules_strings(s, r->prog + ro->prog, ro->strings);
}


/*
 * The rules on strings (a rule on a context field the context lacks
 * fails: its id is VPT_NOID, which no list holds), and "never offer what
 * was just bought".
 */

static vpt_noinline int
vpt_rules_strings(const vpt_shopper_t *s, const uint32_t *p, unsigned has)
{
    size_t          i, n;
    unsigned        l, sets, bought, hit;
    uint32_t        want;
    const uint8_t  *mask;

    mask = s->mask;

    /* on the confirmation page the cart has just been bought */

    bought = VPT_SET(VPT_S_HIST_SKU) | VPT_SET(VPT_S_HIST_CAT);

    if (s->page == VPT_PAGE_CONFIRMATION) {
        bought |= VPT_SET(VPT_S_CART_SKU) | VPT_SET(VPT_S_CART_CAT);
    }

    for (l = 0; l < VPT_L_N; l++) {
        if (!(has & VPT_LIST(l))) {
            continue;
        }

        n = *p++;
        hit = 0;

        if (l <= VPT_L_REFERRERS) {
            want = (l == VPT_L_DEVICES) ? s->device
                   : (l == VPT_L_COUNTRIES) ? s->country : s->referrer;

            for (i = 0; i < n && !hit; i++) {
                hit = (p[i] == want);
            }

            if (!hit) {
                return 0;
            }

        } else {
            sets = (l == VPT_L_PURCHASED) ? bought : vpt_list_sets[l];

            if (s->sets & sets) {
                for (i = 0; i < n && !hit; i++) {
                    hit = mask[p[i]] & sets;
                }
            }

            /* categories_any needs a hit, the others forbid one */

            if ((l == VPT_L_CAT_ANY) != (hit != 0)) {
                return 0;
            }
        }

        p += n;
    }

    if (!(has & VPT_KEYS)) {
        return 1;
    }

    /* never offer what is in the cart or was bought */

    if (p[0] != VPT_NOID
        && (mask[p[0]] & (VPT_SET(VPT_S_CART_SKU) | VPT_SET(VPT_S_HIST_SKU))))
    {
        return 0;
    }

    if (p[1] != VPT_NOID && s->page == VPT_PAGE_CONFIRMATION
        && (mask[p[1]] & VPT_SET(VPT_S_CART_CAT)))
    {
        return 0;
    }

    return 1;
}


/*
 * bias + trees + lin_s + pair_s; S = the sum of the shopper's v vectors.
 * The trees test shopper features only (the trainer grows them so); an
 * offer's features would not reach them here.
 */

static double
vpt_shopper_fm(const vpt_ranker_t *r, const vpt_context_t *ctx,
    vpt_page_e page, int hour, double *S)
{
    double        sbase, sq;
    size_t        i, n, j, nr;
    unsigned      x, k;
    vpt_feat_t    f[VPT_MAX_FEATURES];
    const float  *p, *rows[VPT_MODEL_MAX_LEVELS];

    k = r->k;
    n = vpt_features_shopper(ctx, page, hour, f, VPT_MAX_FEATURES);

    sbase = vpt_model_bias(r->model) + vpt_model_trees(r->model, f, n);
    sq = 0;

    for (x = 0; x < k; x++) {
        S[x] = 0;
    }

    for (i = 0; i < n; i++) {
        nr = vpt_model_rows(r->model, &f[i], rows);

        for (j = 0; j < nr; j++) {
            p = rows[j];
            sbase += p[0];

            for (x = 0; x < k; x++) {
                S[x] += p[1 + x];
                sq += (double) p[1 + x] * p[1 + x];
            }
        }
    }

    sbase -= 0.5 * sq;

    for (x = 0; x < k; x++) {
        sbase += 0.5 * S[x] * S[x];
    }

    return sbase;
}


static double
vpt_offer_logit(const vpt_ranker_t *r, size_t i, double sbase,
    const double *S)
{
    double         logit;
    unsigned       x, k;
    const double  *o;

    k = r->k;
    o = r->ovec + i * k;
    logit = sbase + r->offers[i].base;

    for (x = 0; x < k; x++) {
        logit += S[x] * o[x];
    }

    return logit;
}


static const vpt_strlist_t *
vpt_offer_list(const vpt_offer_t *o, vpt_list_e l)
{
    switch (l) {

    case VPT_L_DEVICES:
        return &o->devices;

    case VPT_L_COUNTRIES:
        return &o->countries;

    case VPT_L_REFERRERS:
        return &o->referrers;

    case VPT_L_CAT_ANY:
        return &o->categories_any;

    case VPT_L_CAT_NONE:
        return &o->categories_none;

    case VPT_L_IN_CART:
        return &o->exclude_if_in_cart;

    default: /* VPT_L_PURCHASED */
        return &o->exclude_if_purchased;
    }
}


/* FNV-1a of the ASCII-lowercased bytes */

static uint64_t
vpt_hash_caseless(vpt_str_t v)
{
    size_t    i;
    uint64_t  h;
    unsigned  c;

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < v.len; i++) {
        c = (unsigned char) v.data[i];
        c = (c >= 'A' && c <= 'Z') ? (c | 0x20) : c;
        h ^= c;
        h *= 0x100000001b3ULL;
    }

    return h;
}
