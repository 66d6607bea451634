/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Advertisers: the catalog's "advertisers" and every message it can fail
 * with, a third_party offer's value from its advertiser's price, dates,
 * and the gate (blocklist, flight, budgets, cap, pacing's draw) with the
 * ranker's third-party cap and propensity.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_fixture.h"
#include "vpt_catalog.h"
#include "vpt_advertiser.h"
#include "vpt_rank.h"


#define ADV_ACME                                                           \
    "{\"id\": \"acme\", \"pricing\": \"cpa\", \"price\": 4, "              \
    "\"daily_budget\": 100, \"categories\": [\"travel\"]}"

#define ADV_ZED                                                            \
    "{\"id\": \"zed\", \"pricing\": \"cpm\", \"price\": 12, "              \
    "\"pacing\": \"asap\", \"start\": \"2026-12-01\", "                    \
    "\"end\": \"2026-12-31\", \"cap_per_shopper\": 2}"

#define TP(id, adv)                                                        \
    "{\"id\": \"" id "\", \"kind\": \"third_party\", "                     \
    "\"advertiser\": \"" adv "\", \"markup\": \"<p>x</p>\", "              \
    "\"pages\": [\"confirmation\"], \"prior\": 0.1}"

#define OWN(id, value)                                                     \
    "{\"id\": \"" id "\", \"kind\": \"upsell\", \"markup\": \"<p>x</p>\", " \
    "\"pages\": [\"confirmation\"], \"prior\": 0.1, \"value\": " value "}"


static char  err[VPT_ERRLEN];

#define fails_with(c, want)  catalog_fails_with((c), err, (want))


static vpt_catalog_t *
parse(const char *advertisers, const char *offers)
{
    char  buf[8192];

    if (advertisers != NULL) {
        snprintf(buf, sizeof(buf), "{\"advertisers\": [%s], "
                 "\"offers\": [%s]}", advertisers, offers);
    } else {
        snprintf(buf, sizeof(buf), "{\"offers\": [%s]}", offers);
    }

    err[0] = '\0';

    return vpt_catalog_parse(buf, strlen(buf), "t.json", err, sizeof(err));
}


VPT_TEST(third_party_value_comes_from_the_advertisers_price)
{
    vpt_catalog_t  *c;

    c = parse(ADV_ACME "," ADV_ZED, TP("a", "acme") "," TP("z", "zed"));
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    VPT_CHECK(c->nadvertisers == 2);
    VPT_CHECK(c->offers[0].adv == 0 && c->offers[0].value == 4);
    VPT_CHECK(c->offers[0].impression_value == 0);
    VPT_CHECK(c->offers[1].adv == 1 && c->offers[1].value == 0);
    VPT_CHECK(fabs(c->offers[1].impression_value - 0.012) < 1e-12);

    VPT_CHECK(c->advertisers[0].pacing == VPT_PACING_EVEN);
    VPT_CHECK(c->advertisers[0].daily_budget == 100 * VPT_MONEY_UNIT);
    VPT_CHECK(c->advertisers[0].total_budget == VPT_MONEY_NONE);
    VPT_CHECK(c->advertisers[1].pacing == VPT_PACING_ASAP);
    VPT_CHECK(c->advertisers[1].cap_per_shopper == 2);
    /* 2026-12-01T00:00:00Z and the end of 2026-12-31 */
    VPT_CHECK(c->advertisers[1].start == 1796083200);
    VPT_CHECK(c->advertisers[1].end == 1796083200 + 31 * 86400);

    VPT_CHECK(vpt_adv_accept_cost(&c->advertisers[0]) == 4000000);
    VPT_CHECK(vpt_adv_impression_cost(&c->advertisers[0]) == 0);
    VPT_CHECK(vpt_adv_impression_cost(&c->advertisers[1]) == 12000);
    VPT_CHECK(vpt_adv_accept_cost(&c->advertisers[1]) == 0);

    vpt_catalog_free(c);
}


/*
 * Pricing in VPT terms: per accept (cpa) and per click through the accept
 * link (cpc) are worth p x price and cost the price when an accept
 * counts; per thousand impressions (cpm) is worth price / 1000 whatever
 * p, and costs it per impression.  The ranker ranks by those values.
 */
VPT_TEST(cpa_cpc_and_cpm_are_valued_and_charged_as_documented)
{
    char                 arena[256];
    void                *scratch;
    vpt_context_t        ctx;
    vpt_catalog_t       *c;
    vpt_ranker_t        *r;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    c = parse("{\"id\": \"pa\", \"pricing\": \"cpa\", \"price\": 3},"
              "{\"id\": \"pc\", \"pricing\": \"cpc\", \"price\": 2.5},"
              "{\"id\": \"pm\", \"pricing\": \"cpm\", \"price\": 250}",
              TP("a", "pa") "," TP("c", "pc") "," TP("m", "pm"));
    if (c == NULL) {
        VPT_CHECK_MSG(0, "%s", err);
        return;
    }

    VPT_CHECK(c->advertisers[1].pricing == VPT_PRICING_CPC);
    VPT_CHECK(c->offers[1].value == 2.5 && c->offers[1].impression_value == 0);
    VPT_CHECK(vpt_adv_accept_cost(&c->advertisers[1]) == 2500000);
    VPT_CHECK(vpt_adv_impression_cost(&c->advertisers[1]) == 0);
    VPT_CHECK(vpt_adv_accept_cost(&c->advertisers[2]) == 0);
    VPT_CHECK(vpt_adv_impression_cost(&c->advertisers[2]) == 250000);

    /* priors 0.1: EVs 0.3 (cpa), 0.25 (cpc), 0.25 (cpm, from the price) */
    r = vpt_ranker_create(c, NULL, err, sizeof(err));
    VPT_CHECK(r != NULL);
    VPT_CHECK(vpt_context_parse(&ctx, "{}", 2, arena, sizeof(arena))
              == VPT_OK);
    scratch = malloc(vpt_ranker_scratch_size(r));

    memset(&p, 0, sizeof(p));
    p.page = VPT_PAGE_CONFIRMATION;
    p.hour = 12;
    p.slots = 3;

    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK_MSG(d.n == 3 && d.offer[0] == 0 && d.offer[1] == 1
                  && d.offer[2] == 2, "n %zu: %u %u %u", d.n, d.offer[0],
                  d.offer[1], d.offer[2]);
    VPT_CHECK(fabs(d.value[0] - 0.3) < 1e-12);
    VPT_CHECK(fabs(d.value[1] - 0.25) < 1e-12);
    VPT_CHECK(fabs(d.value[2] - 0.25) < 1e-12);

    /* a cpm offer's value does not move with p; a cpa one's does */
    c->offers[2].prior = 0.9;
    c->offers[0].prior = 0.01;
    vpt_ranker_free(r);
    r = vpt_ranker_create(c, NULL, err, sizeof(err));
    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK(d.n == 3 && d.offer[0] == 1 && d.offer[1] == 2
              && d.offer[2] == 0);
    VPT_CHECK(fabs(d.value[1] - 0.25) < 1e-12);
    VPT_CHECK(fabs(d.value[2] - 0.03) < 1e-12);

    free(scratch);
    vpt_ranker_free(r);
    vpt_catalog_free(c);
}


/*
 * Placements' kinds with paced advertisers: each chosen offer's slot
 * propensity times its advertiser's pass (the sum over the draws does not
 * know kinds), and the slots say where each went.
 */
VPT_TEST(placements_with_pacing_scale_each_slot_by_the_pass)
{
    char                 arena[256];
    void                *scratch;
    double               pass[3];
    uint8_t              kinds[3];
    vpt_context_t        ctx;
    vpt_catalog_t       *c;
    vpt_ranker_t        *r;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    c = parse("{\"id\": \"pa\", \"pricing\": \"cpa\", \"price\": 3},"
              "{\"id\": \"pc\", \"pricing\": \"cpc\", \"price\": 2.5},"
              "{\"id\": \"pm\", \"pricing\": \"cpm\", \"price\": 250}",
              TP("a", "pa") "," TP("c", "pc") "," TP("m", "pm"));
    if (c == NULL) {
        VPT_CHECK_MSG(0, "%s", err);
        return;
    }

    r = vpt_ranker_create(c, NULL, err, sizeof(err));
    VPT_CHECK(r != NULL);
    VPT_CHECK(vpt_context_parse(&ctx, "{}", 2, arena, sizeof(arena))
              == VPT_OK);
    scratch = malloc(vpt_ranker_scratch_size(r));

    memset(&p, 0, sizeof(p));
    p.page = VPT_PAGE_CONFIRMATION;
    p.hour = 12;
    p.slots = 3;
    p.pass = pass;
    p.slot_kinds = kinds;

    pass[0] = 0.5;
    pass[1] = 1;
    pass[2] = 0.25;
    kinds[0] = 1u << VPT_KIND_LOYALTY;          /* none of these: empty */
    kinds[1] = 1u << VPT_KIND_THIRD_PARTY;
    kinds[2] = 1u << VPT_KIND_THIRD_PARTY;

    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK_MSG(d.n == 2 && d.offer[0] == 0 && d.offer[1] == 1
                  && d.slot[0] == 1 && d.slot[1] == 2,
                  "n %zu: %u/%u %u/%u", d.n, d.offer[0], d.slot[0],
                  d.offer[1], d.slot[1]);
    VPT_CHECK(fabs(d.propensity[0] - 0.5) < 1e-12);
    VPT_CHECK(fabs(d.propensity[1] - 1) < 1e-12);
    VPT_CHECK(d.nothing_propensity == 0);

    free(scratch);
    vpt_ranker_free(r);
    vpt_catalog_free(c);
}


VPT_TEST(without_advertisers_a_third_party_offer_is_as_before)
{
    vpt_catalog_t  *c;

    c = parse(NULL, "{\"id\": \"t\", \"kind\": \"third_party\", "
              "\"advertiser\": \"Sunway Travel\", \"markup\": \"<p>x</p>\", "
              "\"pages\": [\"cart\"], \"value\": 3}");
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c != NULL) {
        VPT_CHECK(c->offers[0].adv == -1 && c->offers[0].value == 3);
        vpt_catalog_free(c);
    }
}


VPT_TEST(bad_advertisers_fail_naming_file_entry_and_field)
{
    VPT_CHECK(fails_with(parse("", OWN("o", "1")),
        "catalog \"t.json\": \"advertisers\": expected a non-empty array "
        "of advertisers"));
    VPT_CHECK(fails_with(parse("{\"pricing\": \"cpa\"}", OWN("o", "1")),
        "catalog \"t.json\": advertiser #0: \"id\": missing"));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"price\": 1}",
                               OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"pricing\": missing"));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpx\", "
                               "\"price\": 1}", OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"pricing\": expected "
        "\"cpa\", \"cpc\" or \"cpm\""));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\", "
                               "\"price\": -1}", OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"price\": expected a "
        "number >= 0"));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\"}",
                               OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"price\": missing"));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\", "
                               "\"price\": 1, \"daily_budget\": \"10\"}",
                               OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"daily_budget\": "
        "expected a number >= 0"));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\", "
                               "\"price\": 1, \"pacing\": \"fast\"}",
                               OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"pacing\": expected "
        "\"even\" or \"asap\""));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\", "
                               "\"price\": 1, \"end\": \"2026-02-30\"}",
                               OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"end\": expected an "
        "ISO 8601 date (2026-12-01) or time (2026-12-01T10:00:00Z)"));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\", "
                               "\"price\": 1, \"start\": \"2026-12-02\", "
                               "\"end\": \"2026-12-01\"}", OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"end\": before "
        "\"start\""));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\", "
                               "\"price\": 1, \"cap_per_shopper\": 0}",
                               OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"cap_per_shopper\": "
        "expected an integer >= 1"));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\", "
                               "\"price\": 1, \"categories\": []}",
                               OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): \"categories\": "
        "expected a non-empty array of non-empty strings"));
    VPT_CHECK(fails_with(parse("{\"id\": \"a\", \"pricing\": \"cpa\", "
                               "\"price\": 1, \"budget\": 1}",
                               OWN("o", "1")),
        "catalog \"t.json\": advertiser #0 (\"a\"): unknown field "
        "\"budget\""));
    VPT_CHECK(fails_with(parse(ADV_ACME "," ADV_ACME, OWN("o", "1")),
        "catalog \"t.json\": advertiser #1 (\"acme\"): \"id\": duplicate "
        "of advertiser #0"));
    VPT_CHECK(fails_with(parse(ADV_ACME, TP("t", "nobody")),
        "catalog \"t.json\": offer #0 (\"t\"): \"advertiser\": not one of "
        "\"advertisers\""));
    VPT_CHECK(fails_with(parse(ADV_ACME,
        "{\"id\": \"t\", \"kind\": \"third_party\", \"advertiser\": "
        "\"acme\", \"markup\": \"<p>x</p>\", \"pages\": [\"cart\"], "
        "\"value\": 3}"),
        "catalog \"t.json\": offer #0 (\"t\"): \"value\": must be absent, "
        "the advertiser's price is the offer's value"));
}


VPT_TEST(dates_in_iso_8601_forms)
{
    int64_t  t;

    VPT_CHECK(vpt_adv_parse_date("1970-01-02", 10, 0, &t) == VPT_OK
              && t == 86400);
    VPT_CHECK(vpt_adv_parse_date("1970-01-02", 10, 1, &t) == VPT_OK
              && t == 2 * 86400);
    VPT_CHECK(vpt_adv_parse_date("2024-02-29T12:00:00Z", 20, 0, &t)
              == VPT_OK && t == 1709208000);
    VPT_CHECK(vpt_adv_parse_date("2024-02-29T13:00:00+01:00", 25, 0, &t)
              == VPT_OK && t == 1709208000);
    VPT_CHECK(vpt_adv_parse_date("2024-02-29T07:00:00-05:00", 25, 0, &t)
              == VPT_OK && t == 1709208000);
    VPT_CHECK(vpt_adv_parse_date("2023-02-29", 10, 0, &t) == VPT_ERROR);
    VPT_CHECK(vpt_adv_parse_date("2023-13-01", 10, 0, &t) == VPT_ERROR);
    VPT_CHECK(vpt_adv_parse_date("2023-1-01", 9, 0, &t) == VPT_ERROR);
    VPT_CHECK(vpt_adv_parse_date("2023-01-01T25:00:00Z", 20, 0, &t)
              == VPT_ERROR);
    VPT_CHECK(vpt_adv_parse_date("2023-01-01X", 11, 0, &t) == VPT_ERROR);
}


VPT_TEST(gate_keeps_out_blocked_unflighted_spent_capped_and_throttled)
{
    double            pass[3];
    uint8_t           gate[3];
    uint32_t          imps[3];
    vpt_catalog_t    *c;
    vpt_adv_state_t   st[2];
    int64_t           in_flight = 1796083200 + 86400;

    c = parse(ADV_ACME "," ADV_ZED,
              TP("a", "acme") "," TP("z", "zed") "," OWN("o", "1"));
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    memset(st, 0, sizeof(st));
    st[0].pass = 1;
    st[1].pass = 1;

    vpt_adv_gate(c, st, in_flight, NULL, 0, 1, gate, pass);
    VPT_CHECK(!gate[0] && !gate[1] && !gate[2]);

    /* zed's flight: 2026-12 */
    vpt_adv_gate(c, st, 1796083200 - 1, NULL, 0, 1, gate, pass);
    VPT_CHECK(!gate[0] && gate[1] && !gate[2]);
    vpt_adv_gate(c, st, 1796083200 + 31 * 86400, NULL, 0, 1, gate, pass);
    VPT_CHECK(!gate[0] && gate[1]);

    /* first party only: no third_party offer at all */
    vpt_adv_gate(c, st, in_flight, NULL, 1, 1, gate, pass);
    VPT_CHECK(gate[0] && gate[1] && !gate[2]);

    st[0].blocked = 1;
    vpt_adv_gate(c, st, in_flight, NULL, 0, 1, gate, pass);
    VPT_CHECK(gate[0] && !gate[1]);
    st[0].blocked = 0;

    st[0].spent_day = 100 * VPT_MONEY_UNIT;
    vpt_adv_gate(c, st, in_flight, NULL, 0, 1, gate, pass);
    VPT_CHECK(gate[0] && !gate[1]);
    st[0].spent_day = 100 * VPT_MONEY_UNIT - 1;
    vpt_adv_gate(c, st, in_flight, NULL, 0, 1, gate, pass);
    VPT_CHECK(!gate[0]);

    /* zed's cap of 2 counts the shopper's impressions of its offers */
    imps[0] = 5;
    imps[1] = 1;
    imps[2] = 9;
    vpt_adv_gate(c, st, in_flight, imps, 0, 1, gate, pass);
    VPT_CHECK(!gate[1]);
    imps[1] = 2;
    vpt_adv_gate(c, st, in_flight, imps, 0, 1, gate, pass);
    VPT_CHECK(gate[1] && !gate[0]);

    vpt_catalog_free(c);
}


VPT_TEST(pacing_draw_takes_part_at_its_pass_rate_and_is_logged)
{
    int               in;
    double            pass[3];
    uint8_t           gate[3];
    uint64_t          seed;
    vpt_catalog_t    *c;
    vpt_adv_state_t   st[2];

    c = parse(ADV_ACME "," ADV_ZED,
              TP("a", "acme") "," TP("z", "zed") "," OWN("o", "1"));
    if (c == NULL) {
        VPT_CHECK_MSG(0, "%s", err);
        return;
    }

    memset(st, 0, sizeof(st));
    st[0].pass = 0.25;
    st[1].pass = 1;
    in = 0;

    for (seed = 0; seed < 20000; seed++) {
        vpt_adv_gate(c, st, 1796083200 + 86400, NULL, 0, seed * 7919, gate,
                     pass);
        in += !gate[0];
        VPT_CHECK(pass[0] == 0.25 && pass[1] == 1 && pass[2] == 1);
    }

    VPT_CHECK_MSG(in > 4700 && in < 5300, "took part %d of 20000", in);

    vpt_catalog_free(c);
}


VPT_TEST(ranker_caps_third_party_offers_and_counts_the_draw_in_propensity)
{
    char                 arena[256];
    void                *scratch;
    double               pass[4];
    uint8_t              gate[4];
    vpt_context_t        ctx;
    vpt_catalog_t       *c;
    vpt_ranker_t        *r;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    /* EVs: a 0.4, b 0.4 (acme pays 4 per accept at p 0.1), o 0.2, q 0.1 */
    c = parse(ADV_ACME, TP("a", "acme") "," TP("b", "acme") ","
              OWN("o", "2") "," OWN("q", "1"));
    if (c == NULL) {
        VPT_CHECK_MSG(0, "%s", err);
        return;
    }

    r = vpt_ranker_create(c, NULL, err, sizeof(err));
    VPT_CHECK(r != NULL);
    VPT_CHECK(vpt_context_parse(&ctx, "{}", 2, arena, sizeof(arena))
              == VPT_OK);
    scratch = malloc(vpt_ranker_scratch_size(r));

    memset(&p, 0, sizeof(p));
    p.page = VPT_PAGE_CONFIRMATION;
    p.hour = 12;
    p.slots = 3;
    p.seed = 42;

    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK(d.n == 3 && d.offer[0] == 0 && d.offer[1] == 1
              && d.offer[2] == 2);
    VPT_CHECK(fabs(d.value[0] - 0.4) < 1e-9);

    p.max_third_party = 1;
    memset(gate, 0, sizeof(gate));
    pass[0] = 0.5;
    pass[1] = 0.5;
    pass[2] = 1;
    pass[3] = 1;
    p.gate = gate;
    p.pass = pass;

    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK_MSG(d.n == 3 && d.offer[0] == 0 && d.offer[1] == 2
                  && d.offer[2] == 3, "n %zu: %u %u %u", d.n, d.offer[0],
                  d.offer[1], d.offer[2]);
    VPT_CHECK(fabs(d.propensity[0] - 0.5) < 1e-12);
    VPT_CHECK(fabs(d.propensity[1] - 1) < 1e-12);

    /* with exploration too, never two third_party offers */
    p.explore = 0.5;
    for (p.seed = 0; p.seed < 2000; p.seed++) {
        vpt_decide(r, &ctx, &p, scratch, &d);
        VPT_CHECK(d.n == 3);
        VPT_CHECK((d.offer[0] <= 1) + (d.offer[1] <= 1) + (d.offer[2] <= 1)
                  == 1);
    }

    p.explore = 0;
    gate[0] = 1;
    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK(d.n == 3 && d.offer[0] == 1 && d.offer[1] == 2);

    free(scratch);
    vpt_ranker_free(r);
    vpt_catalog_free(c);
}


int
main(void)
{
    VPT_RUN(third_party_value_comes_from_the_advertisers_price);
    VPT_RUN(cpa_cpc_and_cpm_are_valued_and_charged_as_documented);
    VPT_RUN(placements_with_pacing_scale_each_slot_by_the_pass);
    VPT_RUN(without_advertisers_a_third_party_offer_is_as_before);
    VPT_RUN(bad_advertisers_fail_naming_file_entry_and_field);
    VPT_RUN(dates_in_iso_8601_forms);
    VPT_RUN(gate_keeps_out_blocked_unflighted_spent_capped_and_throttled);
    VPT_RUN(pacing_draw_takes_part_at_its_pass_rate_and_is_logged);
    VPT_RUN(ranker_caps_third_party_offers_and_counts_the_draw_in_propensity);

    printf("%d passed, %d failed\n", vpt_tests_passed, vpt_tests_failed);

    return vpt_tests_failed ? 1 : 0;
}
