/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The ranker.  vpt_ranker_create() compiles each offer into a compact
 * record: its numeric rules, the hashes of its rule lists' strings, and
 * the offer's side of the factorization machine:
 *
 *   logit = bias + lin_s + pair_s + lin_o + pair_o + <S, O>
 *
 * where lin is the sum of the features' w, pair is the FM's pairwise term
 * within one side, and S, O are the sums of the v vectors of the shopper's
 * and the offer's features.  The shopper's side is computed once per
 * decision, so an offer costs its rules and one k-dot product.
 *
 * Rules on strings compare hashes first (a 64-bit bloom word per context
 * set, then the hash, then the bytes), so an offer whose strings match
 * nothing in the context costs a few word operations per list item.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_rank.h"


#define VPT_HOURS_ALL   0xffffffu
#define VPT_SET_MAX     VPT_CTX_MAX_ITEMS

#define vpt_bloom_bit(h)  (1ULL << ((h) >> 58))
#define vpt_align(n)      (((n) + 7) & ~(size_t) 7)


/* the offer's rule lists, in the order of their hashes in the record */
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


/* the context's string sets */
typedef enum {
    VPT_S_CART_SKU = 0,
    VPT_S_CART_CAT,
    VPT_S_HIST_SKU,
    VPT_S_HIST_CAT,
    VPT_S_VIEW_CAT,
    VPT_S_N
} vpt_set_e;

#define VPT_SET(s)  (1u << (s))


typedef struct {
    uint64_t          bloom;
    size_t            n;
    uint64_t          hash[VPT_SET_MAX];
    const vpt_str_t  *str[VPT_SET_MAX];
} vpt_set_t;


/* what the rules need of one decision's context, hashed once */
typedef struct {
    const vpt_context_t  *ctx;
    vpt_page_e            page;
    int                   hour;         /* -1: unknown */
    uint64_t              device;       /* case-folded hashes */
    uint64_t              country;
    uint64_t              referrer;
    vpt_set_t             set[VPT_S_N];
} vpt_shopper_t;


/* the offer's "sku" and "category" features (the just-bought rule) */
typedef struct {
    vpt_str_t             sku;          /* len 0: none */
    vpt_str_t             category;
    uint64_t              sku_hash;
    uint64_t              category_hash;
} vpt_keys_t;


typedef struct {
    const vpt_offer_t    *offer;
    const uint64_t       *lh[VPT_L_N];  /* hashes of each list's items */
    vpt_keys_t            keys;
    double                base;         /* lin_o + pair_o */
    double                value;
    double                long_term_value;
    double                prior;
    double                min_cart_total;
    uint32_t              hours;        /* VPT_HOURS_ALL: no rule */
    uint32_t              cap;
    unsigned              pages;
    int                   loyalty;
    unsigned              strings:1;    /* has a string rule */
} vpt_rank_offer_t;


struct vpt_ranker_s {
    const vpt_catalog_t  *catalog;
    const vpt_model_t    *model;
    unsigned              k;
    size_t                n;
    vpt_rank_offer_t     *offers;
    double               *ovec;         /* n rows of k: O of each offer */
    uint64_t             *hashes;       /* the lists' hashes */
};


static void vpt_shopper_init(vpt_shopper_t *s, const vpt_context_t *ctx,
    vpt_page_e page, int hour);
static void vpt_set_add(vpt_set_t *set, const vpt_str_t *v);
static double vpt_shopper_fm(const vpt_ranker_t *r, const vpt_context_t *ctx,
    vpt_page_e page, int hour, double *S);
static double vpt_offer_logit(const vpt_ranker_t *r, size_t i, double sbase,
    const double *S);
static int vpt_rules_numeric(const vpt_shopper_t *s, unsigned pages,
    uint32_t hours, double min_cart_total, int loyalty, uint32_t cap,
    uint32_t impressions, int accepted);
static int vpt_rules_strings(const vpt_shopper_t *s, const vpt_offer_t *o,
    const uint64_t *const *lh, const vpt_keys_t *keys);
static const vpt_strlist_t *vpt_offer_list(const vpt_offer_t *o,
    vpt_list_e l);
static void vpt_offer_keys(const vpt_offer_t *o, vpt_keys_t *keys);
static int vpt_list_has_caseless(const vpt_strlist_t *l, const uint64_t *lh,
    vpt_str_t v, uint64_t vh);
static int vpt_list_meets(const vpt_shopper_t *s, const vpt_strlist_t *l,
    const uint64_t *lh, unsigned sets);
static int vpt_set_has(const vpt_shopper_t *s, unsigned sets, uint64_t h,
    vpt_str_t v);
static uint64_t vpt_hash_caseless(vpt_str_t v);


vpt_ranker_t *
vpt_ranker_create(const vpt_catalog_t *c, const vpt_model_t *m, char *err,
    size_t errlen)
{
    double                sum[VPT_MODEL_MAX_K], sq, lin;
    size_t                i, j, nf, nh, h;
    unsigned              l, x, k;
    uint64_t             *hp;
    vpt_feat_t            f[VPT_MAX_FEATURES];
    const float          *p;
    vpt_ranker_t         *r;
    vpt_rank_offer_t     *ro;
    const vpt_offer_t    *o;
    const vpt_strlist_t  *list;

    if (c->n > UINT32_MAX) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "ranker: too many offers");
        }

        return NULL;
    }

    r = calloc(1, sizeof(vpt_ranker_t));
    if (r == NULL) {
        goto nomem;
    }

    r->catalog = c;
    r->model = m;
    r->k = m ? vpt_model_k(m) : 0;
    r->n = c->n;

    nh = 0;

    for (i = 0; i < c->n; i++) {
        for (l = 0; l < VPT_L_N; l++) {
            nh += vpt_offer_list(&c->offers[i], l)->n;
        }
    }

    r->offers = calloc(c->n ? c->n : 1, sizeof(vpt_rank_offer_t));
    r->hashes = malloc((nh ? nh : 1) * sizeof(uint64_t));
    r->ovec = malloc((c->n * r->k + 1) * sizeof(double));

    if (r->offers == NULL || r->hashes == NULL || r->ovec == NULL) {
        goto nomem;
    }

    hp = r->hashes;
    k = r->k;

    for (i = 0; i < c->n; i++) {
        o = &c->offers[i];
        ro = &r->offers[i];

        ro->offer = o;
        ro->value = o->value;
        ro->long_term_value = o->long_term_value;
        ro->prior = o->prior;
        ro->min_cart_total = o->min_cart_total;
        ro->hours = (o->hours & VPT_HOURS_ALL) ? o->hours & VPT_HOURS_ALL
                                               : VPT_HOURS_ALL;
        ro->cap = o->cap_per_shopper;
        ro->pages = o->pages;
        ro->loyalty = o->loyalty_member;

        for (l = 0; l < VPT_L_N; l++) {
            list = vpt_offer_list(o, l);

            if (list->n == 0) {
                continue;
            }

            ro->lh[l] = hp;
            ro->strings = 1;

            for (h = 0; h < list->n; h++) {
                *hp++ = (l <= VPT_L_REFERRERS)
                        ? vpt_hash_caseless(list->items[h])
                        : vpt_hash(list->items[h].data, list->items[h].len);
            }
        }

        vpt_offer_keys(o, &ro->keys);

        if (ro->keys.sku.len || ro->keys.category.len) {
            ro->strings = 1;
        }

        if (m == NULL) {
            continue;
        }

        nf = vpt_features_offer(o, f, VPT_MAX_FEATURES);
        lin = 0;

        for (x = 0; x < k; x++) {
            sum[x] = 0;
        }

        sq = 0;

        for (j = 0; j < nf; j++) {
            p = vpt_model_lookup(m, f[j].hash);
            if (p == NULL) {
                continue;
            }

            lin += p[0];

            for (x = 0; x < k; x++) {
                sum[x] += p[1 + x];
                sq += (double) p[1 + x] * p[1 + x];
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

    free(r->offers);
    free(r->hashes);
    free(r->ovec);
    free(r);
}


size_t
vpt_ranker_scratch_size(const vpt_ranker_t *r)
{
    /* ev[n], p[n] and idx[n] of the qualifying offers, and alignment */
    return 8 + vpt_align(r->n * 2 * sizeof(double) + r->n * sizeof(uint32_t)
                         + 1);
}


void
vpt_decide(const vpt_ranker_t *r, const vpt_context_t *ctx,
    const vpt_decide_params_t *params, void *scratch, vpt_decision_t *d)
{
    double                   S[VPT_MODEL_MAX_K], sbase, eps, ltw, minv, p;
    double                   ev, *qev, *qp;
    size_t                   i, m, j, t, ntop, top[VPT_MAX_SLOTS];
    size_t                   pick, best, pos, rest, picked[VPT_MAX_SLOTS];
    size_t                   sorted[VPT_MAX_SLOTS];
    unsigned                 slots;
    uint32_t                *qidx, imp;
    uint64_t                 state;
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

    vpt_shopper_init(&s, ctx, params->page, params->hour);

    sbase = (r->model != NULL)
            ? vpt_shopper_fm(r, ctx, params->page, params->hour, S) : 0;

    m = 0;
    ntop = 0;

    for (i = 0; i < r->n; i++) {
        ro = &r->offers[i];
        imp = params->impressions ? params->impressions[i] : 0;

        if (!vpt_rules_numeric(&s, ro->pages, ro->hours, ro->min_cart_total,
                               ro->loyalty, ro->cap, imp,
                               params->accepted ? params->accepted[i] : 0))
        {
            continue;
        }

        if (ro->strings
            && !vpt_rules_strings(&s, ro->offer, ro->lh, &ro->keys))
        {
            continue;
        }

        d->eligible++;

        p = (r->model != NULL) ? vpt_sigmoid(vpt_offer_logit(r, i, sbase, S))
                               : ro->prior;
        ev = p * (ro->value + ltw * ro->long_term_value);

        if (!(ev >= minv)) {
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
        return;
    }

    state = params->seed;

    for (j = 0; j < slots && j < m; j++) {
        rest = m - j;

        /* the best remaining: the first of top not picked yet */

        best = top[0];

        for (t = 0; t < ntop; t++) {
            for (i = 0; i < j && picked[i] != top[t]; i++) {
                /* void */
            }

            if (i == j) {
                best = top[t];
                break;
            }
        }

        pick = best;

        if (eps > 0 && vpt_rand_unit(&state) < eps) {
            pos = (size_t) (vpt_rand_unit(&state) * (double) rest);
            pos = (pos < rest) ? pos : rest - 1;

            /* the pos-th position not picked: skip the picked, ascending */

            for (t = 0; t < j; t++) {
                if (sorted[t] <= pos) {
                    pos++;
                }
            }

            pick = pos;
        }

        picked[j] = pick;

        for (t = j; t > 0 && sorted[t - 1] > pick; t--) {
            sorted[t] = sorted[t - 1];
        }

        sorted[t] = pick;

        d->offer[j] = qidx[pick];
        d->p[j] = qp[pick];
        d->value[j] = qev[pick];
        d->propensity[j] = ((pick == best) ? 1 - eps : 0) + eps / rest;
        d->total_value += qev[pick];
        d->n = j + 1;
    }

    d->nothing_propensity = 0;
}


int
vpt_eligible(const vpt_offer_t *o, const vpt_context_t *ctx, vpt_page_e page,
    int hour, uint32_t impressions, int accepted)
{
    uint32_t       hours;
    vpt_keys_t     keys;
    vpt_shopper_t  s;

    vpt_shopper_init(&s, ctx, page, hour);

    hours = (o->hours & VPT_HOURS_ALL) ? o->hours & VPT_HOURS_ALL
                                       : VPT_HOURS_ALL;

    if (!vpt_rules_numeric(&s, o->pages, hours, o->min_cart_total,
                           o->loyalty_member, o->cap_per_shopper,
                           impressions, accepted))
    {
        return 0;
    }

    vpt_offer_keys(o, &keys);

    return vpt_rules_strings(&s, o, NULL, &keys);
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


static void
vpt_shopper_init(vpt_shopper_t *s, const vpt_context_t *ctx, vpt_page_e page,
    int hour)
{
    size_t  i;

    s->ctx = ctx;
    s->page = page;

    if (ctx->local_hour >= 0 && ctx->local_hour <= 23) {
        s->hour = ctx->local_hour;

    } else {
        s->hour = (hour >= 0 && hour <= 23) ? hour : -1;
    }

    s->device = vpt_hash_caseless(ctx->device);
    s->country = vpt_hash_caseless(ctx->country);
    s->referrer = vpt_hash_caseless(ctx->referrer);

    for (i = 0; i < VPT_S_N; i++) {
        s->set[i].bloom = 0;
        s->set[i].n = 0;
    }

    for (i = 0; i < ctx->ncart && i < VPT_CTX_MAX_ITEMS; i++) {
        vpt_set_add(&s->set[VPT_S_CART_SKU], &ctx->cart[i].sku);
        vpt_set_add(&s->set[VPT_S_CART_CAT], &ctx->cart[i].category);
    }

    for (i = 0; i < ctx->nhistory_skus && i < VPT_CTX_MAX_STRS; i++) {
        vpt_set_add(&s->set[VPT_S_HIST_SKU], &ctx->history_skus[i]);
    }

    for (i = 0; i < ctx->nhistory_categories && i < VPT_CTX_MAX_STRS; i++) {
        vpt_set_add(&s->set[VPT_S_HIST_CAT], &ctx->history_categories[i]);
    }

    for (i = 0; i < ctx->nviewed && i < VPT_CTX_MAX_ITEMS; i++) {
        vpt_set_add(&s->set[VPT_S_VIEW_CAT], &ctx->viewed[i].category);
    }
}


static void
vpt_set_add(vpt_set_t *set, const vpt_str_t *v)
{
    uint64_t  h;

    if (v->len == 0 || set->n == VPT_SET_MAX) {
        return;
    }

    h = vpt_hash(v->data, v->len);

    set->hash[set->n] = h;
    set->str[set->n] = v;
    set->bloom |= vpt_bloom_bit(h);
    set->n++;
}


/* bias + lin_s + pair_s; S = the sum of the shopper's v vectors */

static double
vpt_shopper_fm(const vpt_ranker_t *r, const vpt_context_t *ctx,
    vpt_page_e page, int hour, double *S)
{
    double        sbase, sq;
    size_t        i, n;
    unsigned      x, k;
    vpt_feat_t    f[VPT_MAX_FEATURES];
    const float  *p;

    k = r->k;
    n = vpt_features_shopper(ctx, page, hour, f, VPT_MAX_FEATURES);

    sbase = vpt_model_bias(r->model);
    sq = 0;

    for (x = 0; x < k; x++) {
        S[x] = 0;
    }

    for (i = 0; i < n; i++) {
        p = vpt_model_lookup(r->model, f[i].hash);
        if (p == NULL) {
            continue;
        }

        sbase += p[0];

        for (x = 0; x < k; x++) {
            S[x] += p[1 + x];
            sq += (double) p[1 + x] * p[1 + x];
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


/* pages, accepted, cap, hours, loyalty, cart total: no strings */

static int
vpt_rules_numeric(const vpt_shopper_t *s, unsigned pages, uint32_t hours,
    double min_cart_total, int loyalty, uint32_t cap, uint32_t impressions,
    int accepted)
{
    if (!(pages & VPT_PAGE_BIT(s->page)) || accepted) {
        return 0;
    }

    if (cap && impressions >= cap) {
        return 0;
    }

    if (hours != VPT_HOURS_ALL
        && (s->hour < 0 || !(hours & (1u << s->hour))))
    {
        return 0;
    }

    if (loyalty >= 0 && s->ctx->loyalty_member != (loyalty ? 1 : 0)) {
        return 0;
    }

    if (min_cart_total > 0 && !(s->ctx->cart_total >= min_cart_total)) {
        return 0;
    }

    return 1;
}


/*
 * The rules on strings, and "never offer what was just bought".  lh holds
 * the hashes of each list's items (vpt_ranker_create), or is NULL: then
 * they are computed here.
 */

static int
vpt_rules_strings(const vpt_shopper_t *s, const vpt_offer_t *o,
    const uint64_t *const *lh, const vpt_keys_t *keys)
{
    unsigned              bought;
    const vpt_context_t  *ctx;

    ctx = s->ctx;

#define vpt_lh(l)  (lh ? lh[l] : NULL)

    if (o->devices.n
        && !vpt_list_has_caseless(&o->devices, vpt_lh(VPT_L_DEVICES),
                                  ctx->device, s->device))
    {
        return 0;
    }

    if (o->countries.n
        && !vpt_list_has_caseless(&o->countries, vpt_lh(VPT_L_COUNTRIES),
                                  ctx->country, s->country))
    {
        return 0;
    }

    if (o->referrers.n
        && !vpt_list_has_caseless(&o->referrers, vpt_lh(VPT_L_REFERRERS),
                                  ctx->referrer, s->referrer))
    {
        return 0;
    }

    if (o->categories_any.n
        && !vpt_list_meets(s, &o->categories_any, vpt_lh(VPT_L_CAT_ANY),
                           VPT_SET(VPT_S_CART_CAT) | VPT_SET(VPT_S_HIST_CAT)
                           | VPT_SET(VPT_S_VIEW_CAT)))
    {
        return 0;
    }

    if (o->categories_none.n
        && vpt_list_meets(s, &o->categories_none, vpt_lh(VPT_L_CAT_NONE),
                          VPT_SET(VPT_S_CART_CAT) | VPT_SET(VPT_S_HIST_CAT)))
    {
        return 0;
    }

    if (o->exclude_if_in_cart.n
        && vpt_list_meets(s, &o->exclude_if_in_cart, vpt_lh(VPT_L_IN_CART),
                          VPT_SET(VPT_S_CART_SKU) | VPT_SET(VPT_S_CART_CAT)))
    {
        return 0;
    }

    /* on the confirmation page the cart has just been bought */

    bought = VPT_SET(VPT_S_HIST_SKU) | VPT_SET(VPT_S_HIST_CAT);

    if (s->page == VPT_PAGE_CONFIRMATION) {
        bought |= VPT_SET(VPT_S_CART_SKU) | VPT_SET(VPT_S_CART_CAT);
    }

    if (o->exclude_if_purchased.n
        && vpt_list_meets(s, &o->exclude_if_purchased,
                          vpt_lh(VPT_L_PURCHASED), bought))
    {
        return 0;
    }

#undef vpt_lh

    /* never offer what is in the cart or was bought */

    if (keys->sku.len
        && vpt_set_has(s, VPT_SET(VPT_S_CART_SKU) | VPT_SET(VPT_S_HIST_SKU),
                       keys->sku_hash, keys->sku))
    {
        return 0;
    }

    if (keys->category.len && s->page == VPT_PAGE_CONFIRMATION
        && vpt_set_has(s, VPT_SET(VPT_S_CART_CAT), keys->category_hash,
                       keys->category))
    {
        return 0;
    }

    return 1;
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


static void
vpt_offer_keys(const vpt_offer_t *o, vpt_keys_t *keys)
{
    size_t             i;
    const vpt_attr_t  *a;

    memset(keys, 0, sizeof(vpt_keys_t));

    for (i = 0; i < o->nfeatures; i++) {
        a = &o->features[i];

        if (a->is_num || a->str.len == 0) {
            continue;
        }

        if (keys->sku.len == 0 && a->name.len == 3
            && memcmp(a->name.data, "sku", 3) == 0)
        {
            keys->sku = a->str;
            keys->sku_hash = vpt_hash(a->str.data, a->str.len);

        } else if (keys->category.len == 0 && a->name.len == 8
                   && memcmp(a->name.data, "category", 8) == 0)
        {
            keys->category = a->str;
            keys->category_hash = vpt_hash(a->str.data, a->str.len);
        }
    }
}


/* a present rule against an unknown context value fails */

static int
vpt_list_has_caseless(const vpt_strlist_t *l, const uint64_t *lh,
    vpt_str_t v, uint64_t vh)
{
    size_t  i;

    if (v.len == 0) {
        return 0;
    }

    for (i = 0; i < l->n; i++) {
        if ((lh ? lh[i] : vpt_hash_caseless(l->items[i])) == vh
            && vpt_str_caseeq(l->items[i], v))
        {
            return 1;
        }
    }

    return 0;
}


/* does any item of the list occur in one of the sets? */

static int
vpt_list_meets(const vpt_shopper_t *s, const vpt_strlist_t *l,
    const uint64_t *lh, unsigned sets)
{
    size_t    i, j;
    uint64_t  h, bloom;

    bloom = 0;

    for (j = 0; j < VPT_S_N; j++) {
        if (sets & VPT_SET(j)) {
            bloom |= s->set[j].bloom;
        }
    }

    if (bloom == 0) {
        return 0;
    }

    for (i = 0; i < l->n; i++) {
        h = lh ? lh[i] : vpt_hash(l->items[i].data, l->items[i].len);

        if ((bloom & vpt_bloom_bit(h))
            && vpt_set_has(s, sets, h, l->items[i]))
        {
            return 1;
        }
    }

    return 0;
}


static int
vpt_set_has(const vpt_shopper_t *s, unsigned sets, uint64_t h, vpt_str_t v)
{
    size_t           i, j;
    const vpt_set_t  *set;

    for (j = 0; j < VPT_S_N; j++) {
        set = &s->set[j];

        if (!(sets & VPT_SET(j)) || !(set->bloom & vpt_bloom_bit(h))) {
            continue;
        }

        for (i = 0; i < set->n; i++) {
            if (set->hash[i] == h && vpt_str_eq(*set->str[i], v)) {
                return 1;
            }
        }
    }

    return 0;
}


/* FNV-1a of the ASCII-lowercased bytes; 0 for an empty string */

static uint64_t
vpt_hash_caseless(vpt_str_t v)
{
    size_t    i;
    uint64_t  h;
    unsigned  c;

    if (v.len == 0) {
        return 0;
    }

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < v.len; i++) {
        c = (unsigned char) v.data[i];
        c = (c >= 'A' && c <= 'Z') ? (c | 0x20) : c;
        h ^= c;
        h *= 0x100000001b3ULL;
    }

    return h;
}
