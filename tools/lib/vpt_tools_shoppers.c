/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-simulate's shoppers: random contexts as JSON text (device, referrer,
 * country, local hour, loyalty, orders, cart, history, intent, and
 * free-form "features"), on a cart or confirmation page, at an hour of
 * the server's clock drawn from a day's shape, or given.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vpt_tools.h"


typedef struct {
    const char  *name;
    double       weight;
} vpt_choice_t;


static const vpt_choice_t  sim_devices[] = {
    { "mobile", 0.52 }, { "desktop", 0.35 }, { "tablet", 0.10 }, { "", 0.03 },
    { NULL, 0 }
};

static const vpt_choice_t  sim_referrers[] = {
    { "email", 0.2 }, { "search", 0.3 }, { "social", 0.15 },
    { "direct", 0.25 }, { "ads", 0.1 }, { NULL, 0 }
};

static const vpt_choice_t  sim_countries[] = {
    { "US", 0.45 }, { "CA", 0.1 }, { "GB", 0.15 }, { "DE", 0.15 },
    { "FR", 0.15 }, { NULL, 0 }
};

static const vpt_choice_t  sim_categories[] = {
    { "toys", 0.25 }, { "books", 0.2 }, { "dresses", 0.15 },
    { "electronics", 0.15 }, { "home", 0.1 }, { "sports", 0.1 },
    { "beauty", 0.05 }, { NULL, 0 }
};

static const vpt_choice_t  sim_intents[] = {
    { "gift", 0.2 }, { "self", 0.45 }, { "", 0.35 }, { NULL, 0 }
};

static const vpt_choice_t  sim_segments[] = {
    { "new", 0.3 }, { "returning", 0.4 }, { "bargain-hunter", 0.2 },
    { "premium", 0.1 }, { NULL, 0 }
};

static const vpt_choice_t  sim_ages[] = {
    { "18-24", 0.15 }, { "25-34", 0.3 }, { "35-44", 0.25 },
    { "45-64", 0.22 }, { "65+", 0.08 }, { NULL, 0 }
};

/* shoppers by the hour of the server's clock */
static const double  sim_hours[24] = {
    1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.8, 3, 3.2,
    3.4, 3.2, 3, 3, 3.2, 3.6, 4.2, 4.8, 5, 4.4, 3, 1.8
};

static const int  sim_tz[] = { 0, 0, 0, 0, 1, -5, -8, 9 };




static const char *
vpt_pick(uint64_t *rng, const vpt_choice_t *c)
{
    double  u, total;
    size_t  i;

    total = 0;
    for (i = 0; c[i].name; i++) {
        total += c[i].weight;
    }

    u = vpt_rand_unit(rng) * total;

    for (i = 0; c[i + 1].name; i++) {
        if (u < c[i].weight) {
            break;
        }
        u -= c[i].weight;
    }

    return c[i].name;
}


double
vpt_gauss(uint64_t *rng)
{
    double  u, v;

    u = vpt_rand_unit(rng);
    v = vpt_rand_unit(rng);

    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}


#define vpt_cat(s, ...)                                                     \
    do {                                                                    \
        int  _n = snprintf((s)->text + (s)->len,                            \
                           VPT_SIM_CTX_MAX - (s)->len, __VA_ARGS__);        \
        (s)->len += (_n > 0) ? (size_t) _n : 0;                             \
    } while (0)


void
vpt_shopper_gen(uint64_t *rng, vpt_shopper_sim_t *s, long at)
{
    int          i, n, orders, hour;
    double       u, total, price, cart_total;
    const char  *v;

    s->len = 0;
    s->page = vpt_rand_unit(rng) < 0.3 ? VPT_PAGE_CART : VPT_PAGE_CONFIRMATION;

    if (at >= 0) {
        hour = (int) (at / 3600);
        s->minute = (int) (at / 60 % 60);
        s->second = (int) (at % 60);

    } else {
        total = 0;
        for (i = 0; i < 24; i++) {
            total += sim_hours[i];
        }
        u = vpt_rand_unit(rng) * total;
        for (hour = 0; hour < 23 && u >= sim_hours[hour]; hour++) {
            u -= sim_hours[hour];
        }
        s->minute = (int) (vpt_rand_unit(rng) * 60);
        s->second = (int) (vpt_rand_unit(rng) * 60);
    }

    s->hour = hour;

    vpt_cat(s, "{\"user\": {\"id\": \"u-%llu\"",
            (unsigned long long) (vpt_rand_next(rng) % 1000000));

    u = vpt_rand_unit(rng);
    if (u < 0.9) {
        vpt_cat(s, ", \"loyalty_member\": %s", u < 0.3 ? "true" : "false");
    }

    orders = (int) (-log(1 - vpt_rand_unit(rng)) * 3);
    vpt_cat(s, ", \"orders\": %d, \"lifetime_value\": %.2f}", orders,
            orders * 60 * vpt_rand_unit(rng));

    v = vpt_pick(rng, sim_devices);
    if (*v) {
        vpt_cat(s, ", \"device\": \"%s\"", v);
    }

    vpt_cat(s, ", \"referrer\": \"%s\"", vpt_pick(rng, sim_referrers));
    vpt_cat(s, ", \"country\": \"%s\"", vpt_pick(rng, sim_countries));

    if (vpt_rand_unit(rng) < 0.6) {
        i = sim_tz[vpt_rand_next(rng) % (sizeof(sim_tz) / sizeof(int))];
        vpt_cat(s, ", \"local_hour\": %d", (hour + i + 24) % 24);
    }

    n = 1 + (vpt_rand_unit(rng) < 0.5) + (vpt_rand_unit(rng) < 0.2)
        + (vpt_rand_unit(rng) < 0.1);
    cart_total = 0;

    vpt_cat(s, ", \"cart\": [");
    for (i = 0; i < n; i++) {
        v = vpt_pick(rng, sim_categories);
        price = floor(5 + 60 * vpt_rand_unit(rng)) + 0.99;
        cart_total += price;
        vpt_cat(s, "%s{\"sku\": \"%.3s-%d\", \"category\": \"%s\", "
                "\"price\": %.2f, \"qty\": 1}", i ? ", " : "", v,
                (int) (vpt_rand_next(rng) % 50), v, price);
    }
    vpt_cat(s, "]");

    if (s->page == VPT_PAGE_CONFIRMATION) {
        vpt_cat(s, ", \"order\": {\"id\": \"A-%llu\", \"total\": %.2f, "
                "\"currency\": \"USD\"}",
                (unsigned long long) (vpt_rand_next(rng) % 10000000),
                cart_total);
    }

    n = (int) (vpt_rand_unit(rng) * 4);
    if (n > 0) {
        vpt_cat(s, ", \"history\": {\"categories\": [");
        for (i = 0; i < n; i++) {
            vpt_cat(s, "%s\"%s\"", i ? ", " : "",
                    vpt_pick(rng, sim_categories));
        }
        vpt_cat(s, "]}");
    }

    v = vpt_pick(rng, sim_intents);
    if (*v) {
        vpt_cat(s, ", \"intent\": \"%s\"", v);
    }

    vpt_cat(s, ", \"features\": {\"segment\": \"%s\", \"age_band\": \"%s\", "
            "\"visits\": %d}}", vpt_pick(rng, sim_segments),
            vpt_pick(rng, sim_ages),
            (int) (-log(1 - vpt_rand_unit(rng)) * 6));
}


/*
 * Row r is the k-th of its day's n (rows over six days), at the
 * (k + 1/2) / n quantile of the shoppers' hours: the second of its day.
 */

long
vpt_shopper_time(uint64_t r, uint64_t rows)
{
    int       h;
    double    q, total;
    uint64_t  d, first, next;

    d = r * 6 / rows;
    first = (d * rows + 5) / 6;
    next = ((d + 1) * rows + 5) / 6;
    q = ((double) (r - first) + 0.5) / (double) (next - first);

    total = 0;
    for (h = 0; h < 24; h++) {
        total += sim_hours[h];
    }

    q *= total;
    for (h = 0; h < 23 && q >= sim_hours[h]; h++) {
        q -= sim_hours[h];
    }

    q = q / sim_hours[h];

    return h * 3600L + (long) ((q < 1 ? q : 0.9999) * 3600);
}
