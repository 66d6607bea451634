/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Advertisers: the catalog's "advertisers" array, parsed into the
 * catalog's own memory (vpt_catalog.c calls in here so that its file
 * stays about offers), the link from a third_party offer to the
 * advertiser that pays for it, prices, dates, and the per-page gate.
 *
 * Without an "advertisers" array a third_party offer's "advertiser" is a
 * free-form tag and its "value" is the catalog's, as before; with one,
 * every third_party offer names an entry and its value is the price.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "vpt_advertiser_int.h"


#define VPT_ADV_SLACK        16


static int vpt_adv_parse(vpt_parse_t *p, size_t i, json_t *ja,
    vpt_advertiser_t *a);
static int vpt_adv_budget(json_t *v, vpt_money_t *out);
static void vpt_adv_error(vpt_parse_t *p, size_t i, vpt_str_t id,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));


/* bytes the advertisers need beyond what vpt_json_bound() counts */

size_t
vpt_adv_bound(json_t *root)
{
    json_t  *v;

    v = json_object_get(root, "advertisers");

    if (!json_is_array(v)) {
        return 0;
    }

    return VPT_ADV_SLACK + json_array_size(v) * sizeof(vpt_advertiser_t);
}


int
vpt_adv_parse_all(vpt_parse_t *p, json_t *v)
{
    size_t          i, j;
    json_t         *ja;
    vpt_catalog_t  *c;

    c = &p->m->catalog;

    if (!json_is_array(v) || json_array_size(v) == 0) {
        snprintf(p->err, p->errlen, "catalog \"%s\": \"advertisers\": "
                 "expected a non-empty array of advertisers", p->file);
        return VPT_ERROR;
    }

    c->advertisers = vpt_catalog_alloc(&p->arena,
                                       json_array_size(v)
                                       * sizeof(vpt_advertiser_t),
                                       __alignof__(vpt_advertiser_t));
    if (c->advertisers == NULL) {
        snprintf(p->err, p->errlen, "catalog \"%s\": out of memory",
                 p->file);
        return VPT_ERROR;
    }

    json_array_foreach(v, i, ja) {
        if (vpt_adv_parse(p, i, ja, &c->advertisers[i]) != VPT_OK) {
            return VPT_ERROR;
        }

        for (j = 0; j < i; j++) {
            if (vpt_str_eq(c->advertisers[j].id, c->advertisers[i].id)) {
                vpt_adv_error(p, i, c->advertisers[i].id,
                              "\"id\": duplicate of advertiser #%zu", j);
                return VPT_ERROR;
            }
        }

        c->nadvertisers = i + 1;
    }

    return VPT_OK;
}


static int
vpt_adv_parse(vpt_parse_t *p, size_t i, json_t *ja, vpt_advertiser_t *a)
{
    char         show[VPT_SHOW_SIZE];
    double       d;
    size_t       keylen;
    json_t      *v;
    vpt_str_t    noid, s;
    const char  *key;

    noid.data = "";
    noid.len = 0;

    memset(a, 0, sizeof(vpt_advertiser_t));
    a->id = noid;
    a->price = -1;
    a->daily_budget = VPT_MONEY_NONE;
    a->total_budget = VPT_MONEY_NONE;
    a->pacing = VPT_PACING_EVEN;
    a->start = VPT_ADV_NO_START;
    a->end = VPT_ADV_NO_END;

    if (!json_is_object(ja)) {
        vpt_adv_error(p, i, noid, "expected an object");
        return VPT_ERROR;
    }

    v = json_object_get(ja, "id");

    if (v == NULL) {
        vpt_adv_error(p, i, noid, "\"id\": missing");
        return VPT_ERROR;
    }

    if (vpt_catalog_id_parse(p, v, &a->id) != VPT_OK) {
        vpt_adv_error(p, i, noid, "\"id\": %s", p->why);
        return VPT_ERROR;
    }

    json_object_keylen_foreach(ja, key, keylen, v) {
        s.data = key;
        s.len = keylen;

#define VPT_KEY(name)  (keylen == sizeof(name) - 1                            \
                        && memcmp(key, name, keylen) == 0)

        if (VPT_KEY("id")) {
            continue;

        } else if (VPT_KEY("pricing")) {
            if (json_is_string(v) && strcmp(json_string_value(v), "cpa") == 0) {
                a->pricing = VPT_PRICING_CPA;
            } else if (json_is_string(v)
                       && strcmp(json_string_value(v), "cpc") == 0)
            {
                a->pricing = VPT_PRICING_CPC;
            } else if (json_is_string(v)
                       && strcmp(json_string_value(v), "cpm") == 0)
            {
                a->pricing = VPT_PRICING_CPM;
            } else {
                vpt_adv_error(p, i, a->id, "\"pricing\": expected "
                              "\"cpa\", \"cpc\" or \"cpm\"");
                return VPT_ERROR;
            }

        } else if (VPT_KEY("price")) {
            d = json_is_number(v) ? json_number_value(v) : -1;

            if (!(d >= 0 && d < 1e12)) {
                vpt_adv_error(p, i, a->id,
                              "\"price\": expected a number >= 0");
                return VPT_ERROR;
            }

            a->price = d;

        } else if (VPT_KEY("daily_budget") || VPT_KEY("total_budget")) {
            if (vpt_adv_budget(v, VPT_KEY("daily_budget") ? &a->daily_budget
                                                          : &a->total_budget)
                != VPT_OK)
            {
                vpt_adv_error(p, i, a->id, "\"%.*s\": expected a number "
                              ">= 0", (int) keylen, key);
                return VPT_ERROR;
            }

        } else if (VPT_KEY("pacing")) {
            if (json_is_string(v)
                && strcmp(json_string_value(v), "even") == 0)
            {
                a->pacing = VPT_PACING_EVEN;
            } else if (json_is_string(v)
                       && strcmp(json_string_value(v), "asap") == 0)
            {
                a->pacing = VPT_PACING_ASAP;
            } else {
                vpt_adv_error(p, i, a->id,
                              "\"pacing\": expected \"even\" or \"asap\"");
                return VPT_ERROR;
            }

        } else if (VPT_KEY("start") || VPT_KEY("end")) {
            if (!json_is_string(v)
                || vpt_adv_parse_date(json_string_value(v),
                                      json_string_length(v), VPT_KEY("end"),
                                      VPT_KEY("end") ? &a->end : &a->start)
                   != VPT_OK)
            {
                vpt_adv_error(p, i, a->id, "\"%.*s\": expected an ISO 8601 "
                              "date (2026-12-01) or time "
                              "(2026-12-01T10:00:00Z)", (int) keylen, key);
                return VPT_ERROR;
            }

        } else if (VPT_KEY("cap_per_shopper")) {
            if (!json_is_integer(v) || json_integer_value(v) < 1
                || json_integer_value(v) > 1000000)
            {
                vpt_adv_error(p, i, a->id, "\"cap_per_shopper\": expected "
                              "an integer >= 1");
                return VPT_ERROR;
            }

            a->cap_per_shopper = (unsigned) json_integer_value(v);

        } else if (VPT_KEY("categories")) {
            if (vpt_catalog_strlist_parse(p, v, &a->categories) != VPT_OK) {
                vpt_adv_error(p, i, a->id, "\"categories\": %s", p->why);
                return VPT_ERROR;
            }

        } else {
            vpt_adv_error(p, i, a->id, "unknown field \"%s\"",
                          vpt_show(show, sizeof(show), s.data,
                                           s.len));
            return VPT_ERROR;
        }

#undef VPT_KEY
    }

    if (json_object_get(ja, "pricing") == NULL) {
        vpt_adv_error(p, i, a->id, "\"pricing\": missing");
        return VPT_ERROR;
    }

    if (a->price < 0) {
        vpt_adv_error(p, i, a->id, "\"price\": missing");
        return VPT_ERROR;
    }

    if (a->end <= a->start) {
        vpt_adv_error(p, i, a->id, "\"end\": before \"start\"");
        return VPT_ERROR;
    }

    return VPT_OK;
}


static int
vpt_adv_budget(json_t *v, vpt_money_t *out)
{
    double  d;

    d = json_is_number(v) ? json_number_value(v) : -1;

    /* millionths in an int64 with room to add a day's spend */
    if (!(d >= 0 && d < 1e12)) {
        return VPT_ERROR;
    }

    *out = vpt_money(d);

    return VPT_OK;
}


/*
 * An offer's tie to its advertiser, once the offer's own fields are read:
 * VPT_OK, or VPT_ERROR with p->why naming the field.
 */

int
vpt_adv_link(vpt_parse_t *p, json_t *jo, vpt_offer_t *o)
{
    long                     k;
    vpt_catalog_t           *c;
    const vpt_advertiser_t  *a;

    c = &p->m->catalog;
    o->adv = -1;
    o->impression_value = 0;

    if (c->advertisers == NULL || o->kind != VPT_KIND_THIRD_PARTY) {
        return VPT_OK;
    }

    k = vpt_adv_find(c, o->advertiser);

    if (k < 0) {
        snprintf(p->why, sizeof(p->why), "\"advertiser\": not one of "
                 "\"advertisers\"");
        return VPT_ERROR;
    }

    if (json_object_get(jo, "value") != NULL) {
        snprintf(p->why, sizeof(p->why), "\"value\": must be absent, the "
                 "advertiser's price is the offer's value");
        return VPT_ERROR;
    }

    a = &c->advertisers[k];
    o->adv = k;

    if (a->pricing == VPT_PRICING_CPM) {
        o->value = 0;
        o->impression_value = a->price / 1000;

    } else {
        o->value = a->price;
    }

    return VPT_OK;
}


long
vpt_adv_find(const vpt_catalog_t *c, vpt_str_t id)
{
    size_t  i;

    for (i = 0; i < c->nadvertisers; i++) {
        if (vpt_str_eq(c->advertisers[i].id, id)) {
            return (long) i;
        }
    }

    return -1;
}


int
vpt_adv_matches(const vpt_advertiser_t *a, vpt_str_t name)
{
    size_t  i;

    if (vpt_str_eq(a->id, name)) {
        return 1;
    }

    for (i = 0; i < a->categories.n; i++) {
        if (vpt_str_eq(a->categories.items[i], name)) {
            return 1;
        }
    }

    return 0;
}


vpt_money_t
vpt_adv_impression_cost(const vpt_advertiser_t *a)
{
    return a->pricing == VPT_PRICING_CPM ? vpt_money(a->price / 1000) : 0;
}


vpt_money_t
vpt_adv_accept_cost(const vpt_advertiser_t *a)
{
    return a->pricing == VPT_PRICING_CPM ? 0 : vpt_money(a->price);
}


/* days since 1970-01-01 of a proleptic Gregorian date */

static int64_t
vpt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}


static int
vpt_digits(const char *s, size_t n, unsigned *out)
{
    size_t    i;
    unsigned  v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return VPT_ERROR;
        }

        v = v * 10 + (unsigned) (s[i] - '0');
    }

    *out = v;

    return VPT_OK;
}


int
vpt_adv_parse_date(const char *s, size_t len, int end_of_day, int64_t *out)
{
    int64_t   t;
    unsigned  y, m, d, hh, mm, ss, oh, om, mdays;

    static const unsigned  days[12] = {
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (len < 10 || s[4] != '-' || s[7] != '-'
        || vpt_digits(s, 4, &y) != VPT_OK
        || vpt_digits(s + 5, 2, &m) != VPT_OK
        || vpt_digits(s + 8, 2, &d) != VPT_OK
        || m < 1 || m > 12 || d < 1)
    {
        return VPT_ERROR;
    }

    mdays = days[m - 1];

    if (m == 2 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        mdays = 28;
    }

    if (d > mdays) {
        return VPT_ERROR;
    }

    t = vpt_days_from_civil(y, m, d) * 86400;

    if (len == 10) {
        *out = t + (end_of_day ? 86400 : 0);
        return VPT_OK;
    }

    /* "T10:30:00" then "Z", "+01:00", "-05:00" or nothing */

    if (len < 19 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':'
        || s[16] != ':'
        || vpt_digits(s + 11, 2, &hh) != VPT_OK
        || vpt_digits(s + 14, 2, &mm) != VPT_OK
        || vpt_digits(s + 17, 2, &ss) != VPT_OK
        || hh > 23 || mm > 59 || ss > 60)
    {
        return VPT_ERROR;
    }

    t += hh * 3600 + mm * 60 + ss;

    if (len == 19 || (len == 20 && s[19] == 'Z')) {
        *out = t;
        return VPT_OK;
    }

    if (len != 25 || (s[19] != '+' && s[19] != '-') || s[22] != ':'
        || vpt_digits(s + 20, 2, &oh) != VPT_OK
        || vpt_digits(s + 23, 2, &om) != VPT_OK
        || oh > 23 || om > 59)
    {
        return VPT_ERROR;
    }

    /* local time = UTC + offset */
    t += (s[19] == '+' ? -1 : 1) * (int64_t) (oh * 3600 + om * 60);

    *out = t;

    return VPT_OK;
}


void
vpt_adv_gate(const vpt_catalog_t *c, const vpt_adv_state_t *state,
    int64_t now, const uint32_t *impressions, int first_party_only,
    uint64_t seed, uint8_t *gate, double *pass)
{
    size_t                   i, j, k;
    uint32_t                 shown;
    uint64_t                 rs;
    const vpt_offer_t       *o;
    const vpt_adv_state_t   *st;
    const vpt_advertiser_t  *a;

    /*
     * The pacing draw is seeded by the decision and the advertiser's id,
     * so every offer of one advertiser gets the same verdict; the cap
     * counts the shopper's impressions of all its offers.
     */

    for (i = 0; i < c->n; i++) {
        o = &c->offers[i];
        gate[i] = 0;
        pass[i] = 1;

        if (o->kind != VPT_KIND_THIRD_PARTY) {
            continue;
        }

        if (first_party_only) {
            gate[i] = VPT_GATE_OUT;
            continue;
        }

        if (c->nadvertisers == 0) {
            continue;               /* a free-form tag: nothing to gate */
        }

        if (o->adv < 0 || (size_t) o->adv >= c->nadvertisers) {
            gate[i] = VPT_GATE_OUT;
            continue;
        }

        k = (size_t) o->adv;
        a = &c->advertisers[k];
        st = &state[k];
        pass[i] = st->pass < 1 ? (st->pass > 0 ? st->pass : 0) : 1;

        shown = 0;

        if (a->cap_per_shopper && impressions != NULL) {
            for (j = 0; j < c->n; j++) {
                if (c->offers[j].kind == VPT_KIND_THIRD_PARTY
                    && c->offers[j].adv == o->adv)
                {
                    shown += impressions[j];
                }
            }
        }

        rs = seed ^ vpt_hash(a->id.data, a->id.len);

        if (st->blocked
            || now < a->start || now >= a->end
            || st->spent_day >= a->daily_budget
            || st->spent_total >= a->total_budget
            || (a->cap_per_shopper && shown >= a->cap_per_shopper))
        {
            gate[i] = VPT_GATE_OUT;

        } else if (!(vpt_rand_unit(&rs) < pass[i])) {
            /* the draw alone: the ranker sums over it for propensities */
            gate[i] = VPT_GATE_DRAW;
        }
    }
}


static void
vpt_adv_error(vpt_parse_t *p, size_t i, vpt_str_t id, const char *fmt, ...)
{
    int      n;
    size_t   at;
    va_list  args;

    if (p->err == NULL || p->errlen == 0) {
        return;
    }

    n = snprintf(p->err, p->errlen, "catalog \"%s\": advertiser #%zu",
                 p->file, i);
    at = (n < 0) ? 0 : (size_t) n;

    if (id.len && at < p->errlen) {
        /* a checked id: no byte in it needs quoting */
        n = snprintf(p->err + at, p->errlen - at, " (\"%.*s\")",
                     (int) id.len, id.data);
        at += (n < 0) ? 0 : (size_t) n;
    }

    if (at + 2 < p->errlen) {
        memcpy(p->err + at, ": ", 3);
        at += 2;

        va_start(args, fmt);
        vsnprintf(p->err + at, p->errlen - at, fmt, args);
        va_end(args);
    }
}
