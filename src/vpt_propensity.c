/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The exact propensity under pacing's draws; the model is at the top of
 * vpt_propensity.h.
 *
 * For a prefix of the list (its first L slots) the offers fall in three
 * roles: "base" offers always took part when the prefix did (the shop's
 * own, advertisers at pass 1, and the advertisers of the offers chosen,
 * which must have taken part: a factor pass each), "free" offers belong
 * to a paced advertiser none of whose offers was chosen, and "never"
 * offers have pass 0.  Given the free advertisers S that took part, slot
 * j chose its offer with
 *
 *   (1 - explore) * [it is the best remaining of base and S]
 *   + explore / (base remaining + S's offers)
 *
 * (past the third-party cap only the shop's own offers count, and S
 * plays no part).  S's offers are never chosen in the prefix, so S
 * changes the first term only through its best offer, and the second
 * only through how many offers it has: the table D[X][h] holds the
 * probability that the free advertisers which took part have X offers
 * and a best offer above exactly the h lowest-ranked of the chosen ones.
 */

#include <string.h>

#include "vpt_propensity.h"


#define vpt_prop_align(n)   (((n) + 7) & ~(size_t) 7)

#define VPT_ROLE_BASE   0
#define VPT_ROLE_FREE   1
#define VPT_ROLE_NEVER  2


/* the scratch, carved out of the caller's bytes */
typedef struct {
    uint8_t            *role;       /* per offer */
    long               *gslot;      /* per group: -1 none, -2 chosen, >= 0 */
    double             *gpass;      /* per free advertiser */
    size_t             *gcount;
    size_t             *gtop;
    size_t             *gh;
    double             *d;          /* two tables of (n + 1) x (MAX + 1) */
    double             *e;
    vpt_prop_offer_t   *merged;     /* vpt_prop_decision()'s offers */
} vpt_prop_scratch_t;


static void vpt_prop_carve(vpt_prop_scratch_t *s, void *scratch, size_t n,
    size_t ngroups);
static double vpt_prop_prefix(const vpt_prop_offer_t *o, size_t n,
    size_t ngroups, const size_t *list, size_t nl, double eps,
    unsigned max3, vpt_prop_scratch_t *s);


/* a is ranked above b: the ranker's order, ties to the lower index */

static int
vpt_prop_above(const vpt_prop_offer_t *a, const vpt_prop_offer_t *b)
{
    return a->ev > b->ev || (a->ev == b->ev && a->index < b->index);
}


size_t
vpt_prop_scratch_size(size_t n, size_t ngroups)
{
    return 8 + vpt_prop_align(n)
           + vpt_prop_align(ngroups * sizeof(long))
           + n * (sizeof(double) + 3 * sizeof(size_t))
           + 2 * (n + 1) * (VPT_PROP_MAX + 1) * sizeof(double)
           + vpt_prop_align(n * sizeof(vpt_prop_offer_t));
}


static void
vpt_prop_carve(vpt_prop_scratch_t *s, void *scratch, size_t n,
    size_t ngroups)
{
    uintptr_t  a;

    a = ((uintptr_t) scratch + 7) & ~(uintptr_t) 7;

    s->merged = (vpt_prop_offer_t *) a;
    a += vpt_prop_align(n * sizeof(vpt_prop_offer_t));
    s->d = (double *) a;
    a += (n + 1) * (VPT_PROP_MAX + 1) * sizeof(double);
    s->e = (double *) a;
    a += (n + 1) * (VPT_PROP_MAX + 1) * sizeof(double);
    s->gpass = (double *) a;
    a += n * sizeof(double);
    s->gcount = (size_t *) a;
    a += n * sizeof(size_t);
    s->gtop = (size_t *) a;
    a += n * sizeof(size_t);
    s->gh = (size_t *) a;
    a += n * sizeof(size_t);
    s->gslot = (long *) a;
    a += vpt_prop_align(ngroups * sizeof(long));
    s->role = (uint8_t *) a;
}


void
vpt_prop_list(const vpt_prop_offer_t *o, size_t n, size_t ngroups,
    const size_t *list, size_t nlist, double explore,
    unsigned max_third_party, void *scratch, double *prop)
{
    size_t              l;
    double              before, now;
    vpt_prop_scratch_t  s;

    vpt_prop_carve(&s, scratch, n, ngroups);

    nlist = (nlist < VPT_PROP_MAX) ? nlist : VPT_PROP_MAX;
    before = 1;

    /* P(slot j | the slots before) = P(first j + 1) / P(first j) */

    for (l = 1; l <= nlist; l++) {
        now = vpt_prop_prefix(o, n, ngroups, list, l, explore,
                              max_third_party, &s);
        prop[l - 1] = (before > 0) ? now / before : 0;
        before = now;
    }
}


double
vpt_prop_nothing(const vpt_prop_offer_t *o, size_t n, size_t ngroups,
    void *scratch)
{
    size_t              i;
    double              p;
    vpt_prop_scratch_t  s;

    vpt_prop_carve(&s, scratch, n, ngroups);

    for (i = 0; i < ngroups; i++) {
        s.gslot[i] = -1;
    }

    p = 1;

    for (i = 0; i < n; i++) {
        if (o[i].pass >= 1) {
            return 0;               /* a sure offer: something shows */
        }

        if (o[i].pass > 0 && s.gslot[o[i].group] == -1) {
            s.gslot[o[i].group] = 0;
            p *= 1 - o[i].pass;
        }
    }

    return p;
}


/* P(the list's first nl slots are what they are), over draws and explore */

static double
vpt_prop_prefix(const vpt_prop_offer_t *o, size_t n, size_t ngroups,
    const size_t *list, size_t nl, double eps, unsigned max3,
    vpt_prop_scratch_t *s)
{
    long                     gs;
    size_t                   i, j, t, g, ng, x, h, xmax, hmax, w, rest;
    size_t                   b, brest[VPT_PROP_MAX], low[VPT_PROP_MAX];
    double                   factor, sum, f, v, *tmp;
    unsigned                 n3;
    uint8_t                  cap[VPT_PROP_MAX], best[VPT_PROP_MAX];
    const vpt_prop_offer_t  *p;

    for (g = 0; g < ngroups; g++) {
        s->gslot[g] = -1;
    }

    /* the chosen offers' advertisers took part */

    factor = 1;

    for (j = 0; j < nl; j++) {
        p = &o[list[j]];

        if (p->pass < 1 && s->gslot[p->group] == -1) {
            s->gslot[p->group] = -2;
            factor *= (p->pass > 0) ? p->pass : 0;
        }
    }

    if (!(factor > 0)) {
        return 0;
    }

    /* roles; the free advertisers' offer counts and best offers */

    ng = 0;

    for (i = 0; i < n; i++) {
        p = &o[i];

        if (p->pass >= 1 || s->gslot[p->group] == -2) {
            s->role[i] = VPT_ROLE_BASE;
            continue;
        }

        if (!(p->pass > 0)) {
            s->role[i] = VPT_ROLE_NEVER;
            continue;
        }

        s->role[i] = VPT_ROLE_FREE;
        gs = s->gslot[p->group];

        if (gs < 0) {
            gs = (long) ng++;
            s->gslot[p->group] = gs;
            s->gpass[gs] = p->pass;
            s->gcount[gs] = 0;
            s->gtop[gs] = i;
        }

        s->gcount[gs]++;

        if (vpt_prop_above(p, &o[s->gtop[gs]])) {
            s->gtop[gs] = i;
        }
    }

    /* per slot: the cap, base's best remaining and how many remain */

    n3 = 0;
    hmax = 0;

    for (j = 0; j < nl; j++) {
        cap[j] = (max3 && n3 >= max3);
        n3 += o[list[j]].third;
        hmax += !cap[j];

        b = n;
        rest = 0;

        for (i = 0; i < n; i++) {
            if (s->role[i] != VPT_ROLE_BASE || (cap[j] && o[i].third)) {
                continue;
            }

            for (t = 0; t < j && list[t] != i; t++) {
                /* void */
            }

            if (t < j) {
                continue;               /* chosen in an earlier slot */
            }

            rest++;

            if (b == n || vpt_prop_above(&o[i], &o[b])) {
                b = i;
            }
        }

        best[j] = (b == list[j]);
        brest[j] = rest;
    }

    /* low[j]: the chosen offers below slot j's (outside the cap) */

    for (j = 0; j < nl; j++) {
        low[j] = 0;

        for (t = 0; t < nl; t++) {
            low[j] += (!cap[t] && vpt_prop_above(&o[list[j]], &o[list[t]]));
        }
    }

    xmax = 0;

    for (g = 0; g < ng; g++) {
        s->gh[g] = 0;

        for (t = 0; t < nl; t++) {
            s->gh[g] += (!cap[t]
                         && vpt_prop_above(&o[s->gtop[g]], &o[list[t]]));
        }

        xmax += (eps > 0) ? s->gcount[g] : 0;
    }

    /* D[x][h], one free advertiser at a time */

    w = hmax + 1;
    memset(s->d, 0, (xmax + 1) * w * sizeof(double));
    s->d[0] = 1;

    for (g = 0; g < ng; g++) {
        memset(s->e, 0, (xmax + 1) * w * sizeof(double));

        for (x = 0; x <= xmax; x++) {
            for (h = 0; h <= hmax; h++) {
                v = s->d[x * w + h];

                if (v == 0) {
                    continue;
                }

                s->e[x * w + h] += v * (1 - s->gpass[g]);

                t = (eps > 0) ? x + s->gcount[g] : 0;
                i = (h > s->gh[g]) ? h : s->gh[g];
                s->e[t * w + i] += v * s->gpass[g];
            }
        }

        tmp = s->d;
        s->d = s->e;
        s->e = tmp;
    }

    sum = 0;

    for (x = 0; x <= xmax; x++) {
        for (h = 0; h <= hmax; h++) {
            v = s->d[x * w + h];

            if (v == 0) {
                continue;
            }

            f = 1;

            for (j = 0; j < nl; j++) {
                if (cap[j]) {
                    f *= (best[j] ? 1 - eps : 0) + eps / (double) brest[j];

                } else {
                    f *= ((best[j] && low[j] >= h) ? 1 - eps : 0)
                         + eps / (double) (brest[j] + x);
                }
            }

            sum += v * f;
        }
    }

    return factor * sum;
}


int
vpt_prop_decision(const vpt_catalog_t *c, const double *pass,
    const double *qev, const uint32_t *qidx, size_t m, const double *sev,
    const uint32_t *sidx, size_t ns, const uint32_t *chosen, size_t nchosen,
    double explore, unsigned max_third_party, void *scratch, double *prop,
    double *nothing)
{
    int                  paced;
    size_t               i, a, b, n, lo, hi, mid, list[VPT_PROP_MAX];
    uint32_t             idx;
    vpt_prop_offer_t    *o, *mo;
    vpt_prop_scratch_t   s;
    const vpt_offer_t   *of;

    vpt_prop_carve(&s, scratch, m + ns, c->nadvertisers);

    /* merge: in ascending, out descending, into catalog order */

    mo = s.merged;
    n = m + ns;
    paced = 0;
    a = 0;
    b = ns;

    for (i = 0; i < n; i++) {
        o = &mo[i];

        if (b == 0 || (a < m && qidx[a] < sidx[b - 1])) {
            o->index = qidx[a];
            o->ev = qev[a++];

        } else {
            o->index = sidx[--b];
            o->ev = sev[b];
        }

        of = &c->offers[o->index];
        o->pass = pass[o->index];
        o->third = (of->kind == VPT_KIND_THIRD_PARTY);
        o->group = 0;

        if (o->pass < 1) {
            if (of->adv < 0 || (size_t) of->adv >= c->nadvertisers) {
                o->pass = 1;            /* not paced: no draw to sum */

            } else {
                o->group = (uint32_t) of->adv;
                paced = 1;
            }
        }
    }

    if (!paced) {
        return 0;
    }

    if (nchosen == 0) {
        *nothing = vpt_prop_nothing(mo, n, c->nadvertisers, scratch);
        return 1;
    }

    nchosen = (nchosen < VPT_PROP_MAX) ? nchosen : VPT_PROP_MAX;

    for (i = 0; i < nchosen; i++) {
        idx = chosen[i];
        lo = 0;
        hi = n;

        while (lo < hi) {
            mid = lo + (hi - lo) / 2;

            if (mo[mid].index < idx) {
                lo = mid + 1;

            } else {
                hi = mid;
            }
        }

        if (lo == n || mo[lo].index != idx) {
            return 0;                   /* not a qualifying offer */
        }

        list[i] = lo;
    }

    vpt_prop_list(mo, n, c->nadvertisers, list, nchosen, explore,
                  max_third_party, (char *) scratch, prop);

    return 1;
}
