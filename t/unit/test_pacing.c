/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Pacing over simulated days: a clock in a loop, a demand curve with a
 * busy afternoon and a quiet night, one update per simulated sync
 * interval, and the budget gate seeing spend one interval late (as a
 * node sees the other nodes' spend).
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_core.h"
#include "vpt_pacing.h"


#define DAY          86400.0


typedef struct {
    int         even;
    double      budget;
    double      rate;          /* mean opportunities per second */
    double      cost;          /* per impression, or per accept */
    double      accept_p;      /* 1: every impression pays (cpm) */
    double      tick;          /* the sync interval, seconds */
    double      day;

    /* results */
    double      spent;
    double      at[25];        /* spend at each hour (of day / 24) */
    double      worst_tick;    /* the most spent in one interval */
    double      exhausted_at;  /* t the gate first closed; -1: never */
} sim_t;


/* opportunities per second at t: night 0.3x, afternoon peak 1.7x */

static double
demand(const sim_t *s, double t)
{
    double  x;

    x = sin(M_PI * t / s->day);

    return s->rate * (0.3 + 1.4 * x * x);
}


static void
simulate(sim_t *s, uint64_t seed)
{
    int            h;
    double         t, seen, pass, lam, tick_spent, u;
    uint64_t       rs;
    long           n, k;
    vpt_pacing_t   pc;

    rs = seed;
    s->spent = 0;
    s->worst_tick = 0;
    s->exhausted_at = -1;
    seen = 0;
    h = 0;
    s->at[0] = 0;

    vpt_pacing_reset(&pc);
    pass = 1;

    for (t = 0; t < s->day; t += s->tick) {
        /* the sync: spend as the node now knows it, a new pass */
        seen = s->spent;
        pass = vpt_pacing_update(&pc, s->even, s->budget, seen, t, s->day);

        lam = demand(s, t) * s->tick;
        n = (long) lam;
        if (vpt_rand_unit(&rs) < lam - (double) n) {
            n++;
        }

        tick_spent = 0;

        for (k = 0; k < n; k++) {
            /* the gate reads the last sync's spend */
            if (seen >= s->budget) {
                if (s->exhausted_at < 0) {
                    s->exhausted_at = t;
                }
                break;
            }

            if (!(vpt_rand_unit(&rs) < pass)) {
                continue;
            }

            u = vpt_rand_unit(&rs);

            if (u < s->accept_p) {
                s->spent += s->cost;
                tick_spent += s->cost;
            }
        }

        if (tick_spent > s->worst_tick) {
            s->worst_tick = tick_spent;
        }

        while (h < 24 && t + s->tick >= (h + 1) * s->day / 24) {
            s->at[++h] = s->spent;
        }
    }
}


VPT_TEST(even_cpm_day_ends_within_two_percent_of_budget)
{
    uint64_t  seed;
    sim_t     s;

    for (seed = 1; seed <= 3; seed++) {
        memset(&s, 0, sizeof(s));
        s.even = 1;
        s.budget = 2000;
        s.rate = 20;
        s.cost = 0.005;
        s.accept_p = 1;
        s.tick = 1;
        s.day = DAY;

        simulate(&s, seed);
        printf("#   even cpm, seed %lu: spent %.2f of %.0f, one tick %.3f\n",
               (unsigned long) seed, s.spent, s.budget, s.worst_tick);

        VPT_CHECK_MSG(s.spent >= 0.98 * s.budget
                      && s.spent <= s.budget + s.worst_tick,
                      "seed %lu: spent %.3f of %.0f (one tick: %.3f)",
                      (unsigned long) seed, s.spent, s.budget,
                      s.worst_tick);
    }
}


VPT_TEST(even_spends_close_to_linearly_though_demand_is_not)
{
    int    h;
    sim_t  s;

    memset(&s, 0, sizeof(s));
    s.even = 1;
    s.budget = 2000;
    s.rate = 20;
    s.cost = 0.005;
    s.accept_p = 1;
    s.tick = 1;
    s.day = DAY;

    simulate(&s, 7);

    /* from the second hour on, within 3% of the budget of the line */
    for (h = 2; h <= 24; h++) {
        VPT_CHECK_MSG(fabs(s.at[h] - s.budget * h / 24) <= 0.03 * s.budget,
                      "hour %d: spent %.1f, the line says %.1f", h,
                      s.at[h], s.budget * h / 24);
    }
}


VPT_TEST(even_with_lumpy_cpa_spend_ends_within_five_percent)
{
    uint64_t  seed;
    sim_t     s;

    for (seed = 11; seed <= 13; seed++) {
        memset(&s, 0, sizeof(s));
        s.even = 1;
        s.budget = 1500;
        s.rate = 20;
        s.cost = 2.5;               /* per accept */
        s.accept_p = 0.01;
        s.tick = 1;
        s.day = DAY;

        simulate(&s, seed);
        printf("#   even cpa, seed %lu: spent %.1f of %.0f, one tick %.1f\n",
               (unsigned long) seed, s.spent, s.budget, s.worst_tick);

        VPT_CHECK_MSG(s.spent >= 0.95 * s.budget
                      && s.spent <= s.budget + s.worst_tick,
                      "seed %lu: spent %.1f of %.0f (one tick: %.1f)",
                      (unsigned long) seed, s.spent, s.budget,
                      s.worst_tick);
    }
}


VPT_TEST(asap_spends_as_demand_comes_and_stops_at_the_budget)
{
    sim_t  s;

    memset(&s, 0, sizeof(s));
    s.even = 0;
    s.budget = 2000;
    s.rate = 20;
    s.cost = 0.005;
    s.accept_p = 1;
    s.tick = 1;
    s.day = DAY;

    simulate(&s, 3);

    /* demand is 8640 a day: the budget goes well before noon */
    VPT_CHECK_MSG(s.exhausted_at > 0 && s.exhausted_at < DAY / 2,
                  "exhausted at %.0f s", s.exhausted_at);
    VPT_CHECK_MSG(s.spent >= s.budget && s.spent <= s.budget + s.worst_tick,
                  "spent %.3f of %.0f (one tick: %.3f)", s.spent, s.budget,
                  s.worst_tick);
}


VPT_TEST(short_day_of_two_minutes_paces_too)
{
    sim_t  s;

    /* the integration tests' shortened day, at a 1 s sync */
    memset(&s, 0, sizeof(s));
    s.even = 1;
    s.budget = 20;
    s.rate = 60;
    s.cost = 0.01;
    s.accept_p = 1;
    s.tick = 1;
    s.day = 120;

    simulate(&s, 5);

    VPT_CHECK_MSG(s.spent >= 0.9 * s.budget
                  && s.spent <= s.budget + s.worst_tick,
                  "spent %.3f of %.0f", s.spent, s.budget);
    VPT_CHECK_MSG(fabs(s.at[12] - s.budget / 2) <= 0.15 * s.budget,
                  "half-day: spent %.2f", s.at[12]);
}


/*
 * N nodes, asap, demand far above the budget: each node's view of spend
 * is its own, exact at once, plus the others' as of the last sync (every
 * tick), as in ngx_vpt_spend.c.  The documented bound on the overspend,
 * (N - 1) x one node's spend in one sync interval (a round trip is part
 * of the interval here, and no page is in flight between its gate and
 * its charge), holds, and is not far from what happens.
 */

/* in millionths, as the shared zone counts: exact sums */

static int64_t
nodes_overspend(int nn, int64_t budget, int rate, int64_t cost,
    uint64_t seed, int64_t *worst)
{
    int        i, k, n;
    int64_t    own[8], own_sync[8], tick[8], global, view, total;
    uint64_t   rs;

    rs = seed;
    *worst = 0;

    for (i = 0; i < nn; i++) {
        own[i] = 0;
    }

    for ( ;; ) {
        /* the sync: every node reads all nodes' spend */
        global = 0;
        for (i = 0; i < nn; i++) {
            global += own[i];
            own_sync[i] = own[i];
            tick[i] = 0;
        }

        n = 0;

        for (k = 0; k < rate * nn; k++) {
            i = (int) (vpt_rand_unit(&rs) * nn);
            view = global - own_sync[i] + own[i];

            if (view >= budget) {
                continue;
            }

            own[i] += cost;
            tick[i] += cost;
            n++;
        }

        for (i = 0; i < nn; i++) {
            *worst = (tick[i] > *worst) ? tick[i] : *worst;
        }

        if (n == 0) {
            break;
        }
    }

    total = 0;
    for (i = 0; i < nn; i++) {
        total += own[i];
    }

    return total - budget;
}


VPT_TEST(several_nodes_overspend_within_the_documented_bound)
{
    int       nn;
    int64_t   over, worst;
    uint64_t  seed;

    /* a budget of 100 at 0.05 an impression, 300 pages a node a sync */

    for (nn = 1; nn <= 4; nn++) {
        for (seed = 1; seed <= 3; seed++) {
            over = nodes_overspend(nn, 100000000, 300, 50000,
                                   seed * 31 + nn, &worst);
            printf("#   %d nodes, seed %lu: %.2f over a budget of 100, "
                   "bound %.2f\n", nn, (unsigned long) seed, over / 1e6,
                   (nn - 1) * worst / 1e6);

            VPT_CHECK_MSG(over >= 0 && over <= (nn - 1) * worst,
                          "%d nodes: %.3f over, bound %.3f", nn,
                          over / 1e6, (nn - 1) * worst / 1e6);

            /* not vacuous: one node is exact, several do overspend */
            VPT_CHECK_MSG(nn == 1 ? over == 0
                                  : over * 5 > (nn - 1) * worst,
                          "%d nodes: %.3f over, bound %.3f", nn,
                          over / 1e6, (nn - 1) * worst / 1e6);
        }
    }
}


VPT_TEST(budget_spent_is_pass_zero_and_a_new_day_starts_afresh)
{
    vpt_pacing_t  pc;

    vpt_pacing_reset(&pc);

    VPT_CHECK(vpt_pacing_update(&pc, 1, 10, 10, 100, DAY) == 0);
    VPT_CHECK(vpt_pacing_update(&pc, 0, 10, 11, 101, DAY) == 0);

    /* the clock went back: a new day, asap takes everything */
    VPT_CHECK(vpt_pacing_update(&pc, 0, 10, 0, 1, DAY) == 1);
    VPT_CHECK(vpt_pacing_update(&pc, 0, 10, 5, 2, DAY) == 1);

    /* even, nothing known: starts low and ramps up without spend */
    vpt_pacing_reset(&pc);
    VPT_CHECK(pc.pass == VPT_PACING_FIRST_PASS);
    VPT_CHECK(vpt_pacing_update(&pc, 1, 10, 0, 1, DAY)
              == VPT_PACING_FIRST_PASS);
    VPT_CHECK(vpt_pacing_update(&pc, 1, 10, 0, 2, DAY)
              == 2 * VPT_PACING_FIRST_PASS);
}


int
main(void)
{
    VPT_RUN(even_cpm_day_ends_within_two_percent_of_budget);
    VPT_RUN(even_spends_close_to_linearly_though_demand_is_not);
    VPT_RUN(even_with_lumpy_cpa_spend_ends_within_five_percent);
    VPT_RUN(asap_spends_as_demand_comes_and_stops_at_the_budget);
    VPT_RUN(short_day_of_two_minutes_paces_too);
    VPT_RUN(several_nodes_overspend_within_the_documented_bound);
    VPT_RUN(budget_spent_is_pass_zero_and_a_new_day_starts_afresh);

    printf("%d passed, %d failed\n", vpt_tests_passed, vpt_tests_failed);

    return vpt_tests_failed ? 1 : 0;
}
