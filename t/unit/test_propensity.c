/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The logged propensity under pacing: cases small enough to work out by
 * hand, the table's sum against every draw enumerated (20,000 random
 * small cases: ties, caps, passes of 0 and 1), every list's logged
 * probability against how often the gate and the ranker together
 * produce it, and a simulated day (pacing's throttle moving on a
 * simulated clock) over which inverse-propensity weights average to one
 * for every offer in every slot, as off-policy estimates need.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_catalog.h"
#include "vpt_advertiser.h"
#include "vpt_pacing.h"
#include "vpt_propensity.h"
#include "vpt_rank.h"


#define ADV(id, price, pacing)                                             \
    "{\"id\": \"" id "\", \"pricing\": \"cpa\", \"price\": " price ", "    \
    "\"daily_budget\": 1000, \"pacing\": \"" pacing "\"}"

#define TP(id, adv)                                                        \
    "{\"id\": \"" id "\", \"kind\": \"third_party\", "                     \
    "\"advertiser\": \"" adv "\", \"markup\": \"<p>x</p>\", "              \
    "\"pages\": [\"confirmation\"], \"prior\": 0.1}"

#define OWN(id, value)                                                     \
    "{\"id\": \"" id "\", \"kind\": \"upsell\", \"markup\": \"<p>x</p>\", " \
    "\"pages\": [\"confirmation\"], \"prior\": 0.1, \"value\": " value "}"

/*
 * EVs (p 0.1): h1, h2 0.5 (hi, paced), o1 0.4, m1 0.3 (mid, paced),
 * s1 0.2 (sure, at pass 1), o2 0.1.
 */
#define CATALOG                                                            \
    "{\"advertisers\": [" ADV("hi", "5", "even") ","                       \
    ADV("mid", "3", "even") "," ADV("sure", "2", "asap") "], "             \
    "\"offers\": [" TP("h1", "hi") "," TP("h2", "hi") "," OWN("o1", "4")   \
    "," TP("m1", "mid") "," TP("s1", "sure") "," OWN("o2", "1") "]}"

#define NOFFERS  6
#define NLISTS   (NOFFERS * (NOFFERS + 1) + 1)


static char  err[VPT_ERRLEN];


typedef struct {
    vpt_catalog_t   *c;
    vpt_ranker_t    *r;
    void            *scratch;
    vpt_context_t    ctx;
    char             arena[256];
} fixture_t;


static int
fixture_init(fixture_t *f)
{
    f->c = vpt_catalog_parse(CATALOG, strlen(CATALOG), "t.json", err,
                             sizeof(err));
    if (f->c == NULL) {
        printf("#   %s\n", err);
        return VPT_ERROR;
    }

    f->r = vpt_ranker_create(f->c, NULL, err, sizeof(err));
    f->scratch = malloc(vpt_ranker_scratch_size(f->r));

    return vpt_context_parse(&f->ctx, "{}", 2, f->arena, sizeof(f->arena));
}


static void
fixture_free(fixture_t *f)
{
    free(f->scratch);
    vpt_ranker_free(f->r);
    vpt_catalog_free(f->c);
}


/* one page: the gate's draws at passes ph, pm, then the ranker */

static void
decide(fixture_t *f, double ph, double pm, double explore, unsigned slots,
    unsigned max3, uint64_t seed, vpt_decision_t *d)
{
    double               pass[NOFFERS];
    uint8_t              gate[NOFFERS];
    vpt_adv_state_t      st[3];
    vpt_decide_params_t  p;

    memset(st, 0, sizeof(st));
    st[0].pass = ph;
    st[1].pass = pm;
    st[2].pass = 1;

    vpt_adv_gate(f->c, st, 1796083200, NULL, 0, seed, gate, pass);

    memset(&p, 0, sizeof(p));
    p.page = VPT_PAGE_CONFIRMATION;
    p.hour = 12;
    p.slots = slots;
    p.explore = explore;
    p.max_third_party = max3;
    p.seed = seed;
    p.gate = gate;
    p.pass = pass;

    vpt_decide(f->r, &f->ctx, &p, f->scratch, d);
}


VPT_TEST(propensities_worked_out_by_hand)
{
    char              scratch[4096];
    size_t            list[2];
    double            prop[2];
    vpt_prop_offer_t  o[3];

    /* a: paced at 0.3 and ranked first; b: the shop's own */

    memset(o, 0, sizeof(o));
    o[0].ev = 2;
    o[0].pass = 0.3;
    o[0].third = 1;
    o[1].ev = 1;
    o[1].pass = 1;
    o[1].index = 1;

    /* b shows only when a sat out (the old log said 1) */
    list[0] = 1;
    vpt_prop_list(o, 2, 1, list, 1, 0, 0, scratch, prop);
    VPT_CHECK_MSG(fabs(prop[0] - 0.7) < 1e-12, "%.17g", prop[0]);

    list[0] = 0;
    vpt_prop_list(o, 2, 1, list, 1, 0, 0, scratch, prop);
    VPT_CHECK_MSG(fabs(prop[0] - 0.3) < 1e-12, "%.17g", prop[0]);

    /* explore 0.1: b = 0.3 * 0.05 + 0.7 * 1, a = 0.3 * 0.95 */
    list[0] = 1;
    vpt_prop_list(o, 2, 1, list, 1, 0.1, 0, scratch, prop);
    VPT_CHECK_MSG(fabs(prop[0] - 0.715) < 1e-12, "%.17g", prop[0]);

    list[0] = 0;
    vpt_prop_list(o, 2, 1, list, 1, 0.1, 0, scratch, prop);
    VPT_CHECK_MSG(fabs(prop[0] - 0.285) < 1e-12, "%.17g", prop[0]);

    /* b then a: a's slot given b's; b first means mostly a sat out */
    list[0] = 1;
    list[1] = 0;
    vpt_prop_list(o, 2, 1, list, 2, 0.1, 0, scratch, prop);
    VPT_CHECK_MSG(fabs(prop[0] * prop[1] - 0.3 * 0.05) < 1e-12,
                  "%.17g %.17g", prop[0], prop[1]);

    /* nothing: two paced advertisers both sat out */
    o[1].pass = 0.5;
    o[1].group = 1;
    o[1].third = 1;
    VPT_CHECK(fabs(vpt_prop_nothing(o, 2, 2, scratch) - 0.35) < 1e-12);

    o[2] = o[1];
    o[2].index = 2;
    VPT_CHECK(fabs(vpt_prop_nothing(o, 3, 2, scratch) - 0.35) < 1e-12);
}


/*
 * The policy written out plainly, for one set of advertisers that took
 * part (bit g of in): P(list | in), slot by slot as vpt_rank.h says.
 */

static double
brute_given(const vpt_prop_offer_t *o, size_t n, unsigned in,
    const size_t *list, size_t nl, double eps, unsigned max3)
{
    int       taken[16];
    size_t    i, j, b, rest;
    double    p;
    unsigned  n3;

    memset(taken, 0, sizeof(taken));
    p = 1;
    n3 = 0;

    for (j = 0; j < nl; j++) {
        b = n;
        rest = 0;

        for (i = 0; i < n; i++) {
            if (taken[i] || (o[i].pass < 1 && !(in >> o[i].group & 1))
                || (max3 && n3 >= max3 && o[i].third))
            {
                continue;
            }

            rest++;

            if (b == n || o[i].ev > o[b].ev
                || (o[i].ev == o[b].ev && o[i].index < o[b].index))
            {
                b = i;
            }
        }

        if (rest == 0 || taken[list[j]]
            || (o[list[j]].pass < 1 && !(in >> o[list[j]].group & 1))
            || (max3 && n3 >= max3 && o[list[j]].third))
        {
            return 0;
        }

        p *= ((b == list[j]) ? 1 - eps : 0) + eps / (double) rest;
        taken[list[j]] = 1;
        n3 += o[list[j]].third;
    }

    return p;
}


/* P(list) over every set of advertisers that can take part */

static double
brute(const vpt_prop_offer_t *o, size_t n, const double *pass, size_t ng,
    const size_t *list, size_t nl, double eps, unsigned max3)
{
    size_t    g;
    double    p, sum;
    unsigned  in;

    sum = 0;

    for (in = 0; in < (1u << ng); in++) {
        p = 1;

        for (g = 0; g < ng; g++) {
            p *= (in >> g & 1) ? pass[g] : 1 - pass[g];
        }

        if (p > 0) {
            sum += p * brute_given(o, n, in, list, nl, eps, max3);
        }
    }

    return sum;
}


VPT_TEST(the_sum_over_draws_equals_every_draw_enumerated)
{
    int               bad, tried;
    char              scratch[1 << 16];
    size_t            i, j, n, ng, nl, list[4];
    double            pass[4], prop[4], got, want, eps;
    uint64_t          rs;
    unsigned          max3, k;
    vpt_prop_offer_t  o[7];

    static const double  evs[] = { 0.1, 0.2, 0.2, 0.3, 0.5, 0.5, 0.9 };
    static const double  passes[] = { 0, 0.05, 0.3, 0.5, 0.99, 1 };

    rs = 99;
    bad = 0;
    tried = 0;

    for (k = 0; k < 20000; k++) {
        n = 2 + vpt_rand_next(&rs) % 6;
        ng = 1 + vpt_rand_next(&rs) % 4;
        eps = (vpt_rand_next(&rs) % 3) * 0.25;
        max3 = vpt_rand_next(&rs) % 3;

        for (j = 0; j < ng; j++) {
            pass[j] = passes[vpt_rand_next(&rs) % 6];
        }

        /* offers: some the shop's own, some paced (third_party) */
        for (i = 0; i < n; i++) {
            memset(&o[i], 0, sizeof(o[i]));
            o[i].ev = evs[vpt_rand_next(&rs) % 7];
            o[i].index = (uint32_t) i;
            o[i].third = vpt_rand_next(&rs) % 3 != 0;
            o[i].pass = 1;

            if (o[i].third && vpt_rand_next(&rs) % 4 != 0) {
                o[i].group = (uint32_t) (vpt_rand_next(&rs) % ng);
                o[i].pass = pass[o[i].group];
            }
        }

        /* the brute force treats a group at pass 1 like any other */
        for (j = 0; j < ng; j++) {
            pass[j] = (pass[j] < 1) ? pass[j] : 1;
        }

        /* a list of distinct offers */
        nl = 1 + vpt_rand_next(&rs) % (n < 3 ? n : 3);
        for (j = 0; j < nl; j++) {
            do {
                list[j] = vpt_rand_next(&rs) % n;
                for (i = 0; i < j && list[i] != list[j]; i++) {
                    /* void */
                }
            } while (i < j);
        }

        want = brute(o, n, pass, ng, list, nl, eps, max3);
        if (want <= 0) {
            continue;       /* a list the policy never makes */
        }

        tried++;
        vpt_prop_list(o, n, ng, list, nl, eps, max3, scratch, prop);

        got = 1;
        for (j = 0; j < nl; j++) {
            got *= prop[j];
        }

        if (fabs(got - want) > 1e-12 * (1 + want)) {
            if (bad++ < 5) {
                printf("#   case %u: %zu offers, %zu groups, explore %.2f, "
                       "cap %u: got %.15g, want %.15g\n", k, n, ng, eps,
                       max3, got, want);
            }
        }
    }

    VPT_CHECK_MSG(bad == 0 && tried > 5000, "%d of %d lists wrong", bad,
                  tried);
}


/* list id: 0 nothing, else 1 + first + NOFFERS * (1 + second or -1) */

static size_t
list_id(const vpt_decision_t *d)
{
    if (d->n == 0) {
        return 0;
    }

    return 1 + d->offer[0]
           + NOFFERS * (d->n > 1 ? 1 + (size_t) d->offer[1] : 0);
}


VPT_TEST(every_lists_logged_probability_is_how_often_it_happens)
{
    int             bad;
    long            n, count[NLISTS];
    size_t          id, k, c;
    double          logged[NLISTS], lp, freq, se, total;
    uint64_t        seed;
    fixture_t       f;
    vpt_decision_t  d;

    static const struct {
        double      explore;
        unsigned    slots;
        unsigned    max3;
    } runs[] = { { 0, 2, 0 }, { 0.2, 2, 0 }, { 0.3, 2, 1 }, { 0.1, 1, 0 } };

    if (fixture_init(&f) != VPT_OK) {
        VPT_CHECK(0);
        return;
    }

    n = 200000;

    for (k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
        memset(count, 0, sizeof(count));
        bad = 0;

        for (seed = 0; seed < (uint64_t) n; seed++) {
            decide(&f, 0.3, 0.6, runs[k].explore, runs[k].slots,
                   runs[k].max3, vpt_hash(&seed, sizeof(seed)), &d);

            id = list_id(&d);
            lp = (d.n == 0) ? d.nothing_propensity
                 : d.propensity[0] * (d.n > 1 ? d.propensity[1] : 1);

            /* the same list is always logged with the same probability */
            if (count[id]++ == 0) {
                logged[id] = lp;
            } else if (fabs(logged[id] - lp) > 1e-12) {
                bad++;
            }
        }

        VPT_CHECK_MSG(bad == 0, "run %zu: %d lists logged differently", k,
                      bad);

        total = 0;
        c = 0;

        for (id = 0; id < NLISTS; id++) {
            if (count[id] == 0) {
                continue;
            }

            c++;
            total += logged[id];
            freq = (double) count[id] / (double) n;
            se = sqrt(logged[id] * (1 - logged[id]) / (double) n);

            VPT_CHECK_MSG(fabs(freq - logged[id]) < 5 * se + 1e-9,
                          "run %zu, list %zu: seen %.5f, logged %.5f "
                          "(se %.5f)", k, id, freq, logged[id], se);
        }

        /* every list that can happen did: the logged ones add up to 1 */
        VPT_CHECK_MSG(fabs(total - 1) < 1e-9, "run %zu: %zu lists, sum %.12f",
                      k, c, total);
    }

    fixture_free(&f);
}


/* what one simulated day adds up */
typedef struct {
    long        pages;
    long        first[NOFFERS];     /* pages with the offer in slot 0 */
    double      sw[2][NOFFERS];     /* per slot: sum of 1 / propensity */
    double      sw2[2][NOFFERS];
    double      spent[2];
    double      pass_min;
} day_t;


/*
 * A day on a simulated clock: every "sync" (10 s) pacing updates both
 * paced advertisers' pass from their spend against the day's elapsed
 * share (even), or leaves them at 1 (asap); pages come at a rate that
 * swings from night to afternoon; a shown offer is accepted one time in
 * ten and charged its advertiser's price.
 */

static void
run_day(fixture_t *f, int even, const double *budget, day_t *r)
{
    int             t, k, j;
    long            n, i;
    double          day, pass[2], lam, w;
    uint64_t        rs, seed;
    vpt_pacing_t    pc[2];
    vpt_decision_t  d;

    memset(r, 0, sizeof(day_t));
    r->pass_min = 1;
    day = 3600;
    rs = 7;
    seed = 0;
    vpt_pacing_reset(&pc[0]);
    vpt_pacing_reset(&pc[1]);

    for (t = 0; t < (int) day; t += 10) {
        for (k = 0; k < 2; k++) {
            pass[k] = vpt_pacing_update(&pc[k], even, budget[k],
                                        r->spent[k], t, day);
            r->pass_min = (pass[k] < r->pass_min) ? pass[k] : r->pass_min;
        }

        lam = 300 * (0.3 + 1.4 * pow(sin(M_PI * t / day), 2));
        n = (long) (lam + vpt_rand_unit(&rs));

        for (i = 0; i < n; i++) {
            seed++;
            decide(f, pass[0], pass[1], 0.3, 2, 0,
                   vpt_hash(&seed, sizeof(seed)), &d);
            r->pages++;
            r->first[d.offer[0]] += (d.n > 0);

            for (j = 0; j < (int) d.n; j++) {
                /* slot 1's propensity is conditional on slot 0's offer */
                w = 1 / d.propensity[j];
                r->sw[j][d.offer[j]] += w;
                r->sw2[j][d.offer[j]] += w * w;

                k = (d.offer[j] <= 1) ? 0 : (d.offer[j] == 3 ? 1 : -1);

                if (k >= 0 && vpt_rand_unit(&rs) < 0.1) {
                    r->spent[k] += (k == 0) ? 5 : 3;
                }
            }
        }
    }
}


/*
 * Budgets of half what asap spends, so even's throttle moves all day.
 * For every offer and slot, the mean over pages of [shown there] /
 * propensity is the share of pages where it could be shown there (every
 * page for slot 0; for slot 1, those where it was not first), within
 * the estimate's own standard error: what IPS needs, whatever the pass
 * was at the time.
 */
VPT_TEST(inverse_propensities_average_to_one_over_a_paced_day)
{
    int        k, j;
    double     budget[2], w, se, want, pages;
    day_t      asap, even;
    fixture_t  f;

    if (fixture_init(&f) != VPT_OK) {
        VPT_CHECK(0);
        return;
    }

    budget[0] = budget[1] = 1e18;
    run_day(&f, 0, budget, &asap);

    budget[0] = asap.spent[0] / 2;
    budget[1] = asap.spent[1] / 2;
    run_day(&f, 1, budget, &even);

    pages = (double) even.pages;

    VPT_CHECK_MSG(even.spent[0] < budget[0] * 1.05
                  && even.spent[0] > budget[0] * 0.9
                  && even.spent[1] < budget[1] * 1.05
                  && even.spent[1] > budget[1] * 0.9
                  && even.pass_min < 0.5,
                  "spent %.0f of %.0f, %.0f of %.0f, pass down to %.3f",
                  even.spent[0], budget[0], even.spent[1], budget[1],
                  even.pass_min);

    for (j = 0; j < 2; j++) {
        for (k = 0; k < NOFFERS; k++) {
            w = even.sw[j][k] / pages;
            se = sqrt((even.sw2[j][k] / pages - w * w) / pages);
            want = (j == 0) ? 1 : 1 - (double) even.first[k] / pages;

            VPT_CHECK_MSG(fabs(w - want) < 5 * se && se < 0.05,
                          "slot %d, offer %d: %.4f, want %.4f (se %.4f) "
                          "over %.0f pages", j, k, w, want, se, pages);
        }
    }

    fixture_free(&f);
}


int
main(void)
{
    VPT_RUN(propensities_worked_out_by_hand);
    VPT_RUN(the_sum_over_draws_equals_every_draw_enumerated);
    VPT_RUN(every_lists_logged_probability_is_how_often_it_happens);
    VPT_RUN(inverse_propensities_average_to_one_over_a_paced_day);

    printf("%d passed, %d failed\n", vpt_tests_passed, vpt_tests_failed);

    return vpt_tests_failed ? 1 : 0;
}
