/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The ranker: every eligibility rule, "never offer what was just bought",
 * expected-value order, suppression, exploration's propensities and the
 * FM fast path.  Offers are built in code, so these tests do not depend on
 * the catalog parser.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_fixture.h"
#include "vpt_rank.h"


#define POOL  4096


static vpt_str_t    pool[POOL];
static size_t       npool;
static char         err[VPT_ERRLEN];


/* a rule list from a NULL-terminated array of strings */
static vpt_strlist_t
list(const char **items)
{
    vpt_strlist_t  l;

    l.items = &pool[npool];
    l.n = 0;

    while (items[l.n] != NULL && npool < POOL) {
        pool[npool++] = str(items[l.n]);
        l.n++;
    }

    return l;
}

#define LIST(...)  list((const char *[]) { __VA_ARGS__, NULL })


static int
elig(const vpt_offer_t *o, const vpt_context_t *ctx, vpt_page_e page)
{
    return vpt_eligible(o, ctx, page, 12, 0, 0);
}


static void
params_init(vpt_decide_params_t *p, vpt_page_e page)
{
    memset(p, 0, sizeof(vpt_decide_params_t));
    p->page = page;
    p->hour = 12;
    p->slots = 1;
    p->long_term_weight = 1;
}


/* a decision over offers o[0..n-1]; the ranker lives for one call */
static void
decide(vpt_offer_t *o, size_t n, const vpt_model_t *m,
    const vpt_context_t *ctx, const vpt_decide_params_t *params,
    vpt_decision_t *d)
{
    void           *scratch;
    vpt_ranker_t   *r;
    vpt_catalog_t   c;

    memset(&c, 0, sizeof(c));
    c.offers = o;
    c.n = n;

    r = vpt_ranker_create(&c, m, err, sizeof(err));
    VPT_CHECK_MSG(r != NULL, "%s", err);
    if (r == NULL) {
        memset(d, 0, sizeof(vpt_decision_t));
        return;
    }

    scratch = malloc(vpt_ranker_scratch_size(r));
    vpt_decide(r, ctx, params, scratch, d);
    free(scratch);
    vpt_ranker_free(r);
}


VPT_TEST(rule_pages)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    offer_init(&o, "a", 1, 0, 0.5);

    o.pages = VPT_PAGE_BIT(VPT_PAGE_CART);
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CONFIRMATION));

    o.pages = VPT_PAGE_BIT(VPT_PAGE_CONFIRMATION);
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CONFIRMATION));
}


VPT_TEST(rule_devices_ignore_case_and_need_a_device)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    offer_init(&o, "a", 1, 0, 0.5);
    o.devices = LIST("Mobile", "tablet");

    ctx.device = str("mobile");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    ctx.device = str("TABLET");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    ctx.device = str("desktop");
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    ctx.device = str("mobile2");
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    ctx.device.len = 0;
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    o.devices.n = 0;
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
}


VPT_TEST(rule_countries_ignore_case_and_need_a_country)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    offer_init(&o, "a", 1, 0, 0.5);
    o.countries = LIST("US", "CA");

    ctx.country = str("us");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    ctx.country = str("FR");
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    ctx.country.len = 0;
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
}


VPT_TEST(rule_referrers_ignore_case_and_need_a_referrer)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    offer_init(&o, "a", 1, 0, 0.5);
    o.referrers = LIST("email");

    ctx.referrer = str("Email");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    ctx.referrer = str("search");
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    ctx.referrer.len = 0;
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
}


VPT_TEST(rule_hours_use_the_shoppers_hour_else_the_servers)
{
    int            h;
    vpt_offer_t    o;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    offer_init(&o, "a", 1, 0, 0.5);

    o.hours = 0;

    for (h = 18; h < 24; h++) {
        o.hours |= 1u << h;
    }

    ctx.local_hour = 20;
    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, 9, 0, 0));
    ctx.local_hour = 3;
    VPT_CHECK(!vpt_eligible(&o, &ctx, VPT_PAGE_CART, 20, 0, 0));

    /* the edges of the window */
    ctx.local_hour = 17;
    VPT_CHECK(!vpt_eligible(&o, &ctx, VPT_PAGE_CART, 20, 0, 0));
    ctx.local_hour = 18;
    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, 9, 0, 0));
    ctx.local_hour = 23;
    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, 9, 0, 0));
    ctx.local_hour = 0;
    VPT_CHECK(!vpt_eligible(&o, &ctx, VPT_PAGE_CART, 20, 0, 0));

    ctx.local_hour = -1;
    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, 19, 0, 0));
    VPT_CHECK(!vpt_eligible(&o, &ctx, VPT_PAGE_CART, 9, 0, 0));
    VPT_CHECK(!vpt_eligible(&o, &ctx, VPT_PAGE_CART, -1, 0, 0));

    /* no rule: any hour, even an unknown one */
    o.hours = 0xffffff;
    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, -1, 0, 0));
    o.hours = 0;
    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, -1, 0, 0));
}


VPT_TEST(rule_min_cart_total)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    offer_init(&o, "a", 1, 0, 0.5);
    o.min_cart_total = 50;

    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    cart_add(&ctx, "TOY-1", "toys", 49.99);
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    ctx.cart_total = 50;
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
}


VPT_TEST(rule_categories_any_looks_at_cart_history_and_viewed)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    offer_init(&o, "a", 1, 0, 0.5);
    o.categories_any = LIST("dresses", "toys");

    vpt_context_init(&ctx);
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    cart_add(&ctx, "BK-1", "books", 10);
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    cart_add(&ctx, "TOY-1", "toys", 10);
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));

    vpt_context_init(&ctx);
    ctx.history_categories[ctx.nhistory_categories++] = str("toys");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));

    vpt_context_init(&ctx);
    ctx.viewed[ctx.nviewed].sku = str("DR-7");
    ctx.viewed[ctx.nviewed++].category = str("dresses");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));

    /* categories are case-sensitive */
    vpt_context_init(&ctx);
    ctx.history_categories[ctx.nhistory_categories++] = str("Toys");
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
}


VPT_TEST(rule_categories_none_looks_at_cart_and_history)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    offer_init(&o, "a", 1, 0, 0.5);
    o.categories_none = LIST("toys");

    vpt_context_init(&ctx);
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    cart_add(&ctx, "BK-1", "books", 10);
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    cart_add(&ctx, "TOY-1", "toys", 10);
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    vpt_context_init(&ctx);
    ctx.history_categories[ctx.nhistory_categories++] = str("toys");
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    /* a viewed category is not a bought one */
    vpt_context_init(&ctx);
    ctx.viewed[ctx.nviewed++].category = str("toys");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
}


VPT_TEST(rule_exclude_if_in_cart_matches_skus_and_categories)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    offer_init(&o, "a", 1, 0, 0.5);
    o.exclude_if_in_cart = LIST("WARRANTY-1", "phones");

    vpt_context_init(&ctx);
    cart_add(&ctx, "PH-1", "cases", 10);
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));

    cart_add(&ctx, "WARRANTY-1", "services", 10);
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    vpt_context_init(&ctx);
    cart_add(&ctx, "PH-9", "phones", 10);
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    /* bought before is not in the cart */
    vpt_context_init(&ctx);
    ctx.history_skus[ctx.nhistory_skus++] = str("WARRANTY-1");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
}


VPT_TEST(rule_exclude_if_purchased_includes_the_cart_on_confirmation)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    offer_init(&o, "a", 1, 0, 0.5);
    o.exclude_if_purchased = LIST("MEMBERSHIP", "gift-cards");

    vpt_context_init(&ctx);
    ctx.history_skus[ctx.nhistory_skus++] = str("BK-9");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    ctx.history_skus[ctx.nhistory_skus++] = str("MEMBERSHIP");
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    vpt_context_init(&ctx);
    ctx.history_categories[ctx.nhistory_categories++] = str("gift-cards");
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    /* looked at is not bought */
    vpt_context_init(&ctx);
    ctx.viewed[ctx.nviewed++].category = str("gift-cards");
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CONFIRMATION));

    /* in the cart: not bought yet on the cart page, bought on confirmation */
    vpt_context_init(&ctx);
    cart_add(&ctx, "MEMBERSHIP", "services", 10);
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CONFIRMATION));

    vpt_context_init(&ctx);
    cart_add(&ctx, "GC-25", "gift-cards", 25);
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CONFIRMATION));
}


VPT_TEST(rule_loyalty_member_needs_a_known_membership)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    offer_init(&o, "a", 1, 0, 0.5);

    o.loyalty_member = 0;
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));
    ctx.loyalty_member = 0;
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    ctx.loyalty_member = 1;
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    o.loyalty_member = 1;
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
    ctx.loyalty_member = -1;
    VPT_CHECK(!elig(&o, &ctx, VPT_PAGE_CART));

    o.loyalty_member = -1;
    VPT_CHECK(elig(&o, &ctx, VPT_PAGE_CART));
}


VPT_TEST(rule_cap_per_shopper_counts_impressions)
{
    vpt_offer_t    o;
    vpt_context_t  ctx;

    vpt_context_init(&ctx);
    offer_init(&o, "a", 1, 0, 0.5);

    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, 12, 1000, 0));

    o.cap_per_shopper = 2;
    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, 12, 0, 0));
    VPT_CHECK(vpt_eligible(&o, &ctx, VPT_PAGE_CART, 12, 1, 0));
    VPT_CHECK(!vpt_eligible(&o, &ctx, VPT_PAGE_CART, 12, 2, 0));
    VPT_CHECK(!vpt_eligible(&o, &ctx, VPT_PAGE_CART, 12, 3, 0));
}


VPT_TEST(rule_an_accepted_offer_is_not_shown_again)
{
    vpt_offer_t          o[2];
    uint8_t              accepted[2] = { 1, 0 };
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    vpt_context_init(&ctx);
    offer_init(&o[0], "a", 10, 0, 0.5);
    offer_init(&o[1], "b", 1, 0, 0.5);

    VPT_CHECK(vpt_eligible(&o[0], &ctx, VPT_PAGE_CART, 12, 0, 0));
    VPT_CHECK(!vpt_eligible(&o[0], &ctx, VPT_PAGE_CART, 12, 0, 1));

    params_init(&p, VPT_PAGE_CART);
    p.accepted = accepted;
    decide(o, 2, NULL, &ctx, &p, &d);

    VPT_CHECK(d.eligible == 1 && d.n == 1 && d.offer[0] == 1);
}


VPT_TEST(impressions_reach_the_cap_in_a_decision)
{
    vpt_offer_t          o[2];
    uint32_t             impressions[2] = { 3, 0 };
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    vpt_context_init(&ctx);
    offer_init(&o[0], "a", 10, 0, 0.5);
    offer_init(&o[1], "b", 1, 0, 0.5);
    o[0].cap_per_shopper = 3;

    params_init(&p, VPT_PAGE_CART);
    p.impressions = impressions;
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 1 && d.offer[0] == 1);

    impressions[0] = 2;
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 1 && d.offer[0] == 0);
}


VPT_TEST(gift_buyer_who_bought_a_toy_gets_no_toy_offer_on_confirmation)
{
    vpt_attr_t           toy_attr, sku_attr;
    vpt_offer_t          o[2];
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    memset(&toy_attr, 0, sizeof(toy_attr));
    toy_attr.name = str("category");
    toy_attr.str = str("toys");

    offer_init(&o[0], "toy-bundle", 30, 0, 0.5);     /* the best by EV */
    o[0].kind = VPT_KIND_CROSS_SELL;
    o[0].features = &toy_attr;
    o[0].nfeatures = 1;
    offer_init(&o[1], "gift-wrap", 5, 0, 0.5);

    vpt_context_init(&ctx);
    ctx.intent = str("gift");
    cart_add(&ctx, "TOY-1", "toys", 29.99);

    VPT_CHECK(!elig(&o[0], &ctx, VPT_PAGE_CONFIRMATION));
    VPT_CHECK(elig(&o[0], &ctx, VPT_PAGE_CART));
    VPT_CHECK(elig(&o[1], &ctx, VPT_PAGE_CONFIRMATION));

    params_init(&p, VPT_PAGE_CONFIRMATION);
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.eligible == 1 && d.n == 1 && d.offer[0] == 1);

    params_init(&p, VPT_PAGE_CART);
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.eligible == 2 && d.n == 1 && d.offer[0] == 0);

    /* an offer of the very SKU: not while it is in the cart, nor after */
    memset(&sku_attr, 0, sizeof(sku_attr));
    sku_attr.name = str("sku");
    sku_attr.str = str("TOY-1");
    o[0].features = &sku_attr;
    VPT_CHECK(!elig(&o[0], &ctx, VPT_PAGE_CART));
    VPT_CHECK(!elig(&o[0], &ctx, VPT_PAGE_CONFIRMATION));

    vpt_context_init(&ctx);
    ctx.history_skus[ctx.nhistory_skus++] = str("TOY-1");
    VPT_CHECK(!elig(&o[0], &ctx, VPT_PAGE_CART));
    ctx.history_skus[0] = str("TOY-2");
    VPT_CHECK(elig(&o[0], &ctx, VPT_PAGE_CART));
}


VPT_TEST(offers_are_ranked_by_expected_value)
{
    vpt_offer_t          o[4];
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    vpt_context_init(&ctx);
    offer_init(&o[0], "a", 10, 0, 0.1);     /* EV 1 */
    offer_init(&o[1], "b", 20, 0, 0.2);     /* EV 4 */
    offer_init(&o[2], "c", 5, 0, 0.5);      /* EV 2.5 */
    offer_init(&o[3], "d", 100, 0, 0.05);   /* EV 5 */

    params_init(&p, VPT_PAGE_CART);
    p.slots = 3;
    decide(o, 4, NULL, &ctx, &p, &d);

    VPT_CHECK(d.n == 3 && d.eligible == 4);
    VPT_CHECK(d.offer[0] == 3 && d.offer[1] == 1 && d.offer[2] == 2);
    VPT_CHECK_NEAR(d.value[0], 5, 1e-12);
    VPT_CHECK_NEAR(d.value[1], 4, 1e-12);
    VPT_CHECK_NEAR(d.value[2], 2.5, 1e-12);
    VPT_CHECK_NEAR(d.p[0], 0.05, 1e-12);
    VPT_CHECK_NEAR(d.total_value, 11.5, 1e-12);
    VPT_CHECK_NEAR(d.propensity[0], 1, 0);
    VPT_CHECK_NEAR(d.propensity[2], 1, 0);
    VPT_CHECK(d.nothing_propensity == 0 && !d.suppressed);

    /* more slots than offers */
    p.slots = 8;
    decide(o, 4, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 4 && d.offer[3] == 0);
}


VPT_TEST(anonymous_and_first_party_shoppers_choose_among_the_rest)
{
    vpt_offer_t          o[3];
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    vpt_context_init(&ctx);
    offer_init(&o[0], "capped", 100, 0, 0.5);
    offer_init(&o[1], "partner", 50, 0, 0.5);
    offer_init(&o[2], "own", 1, 0, 0.5);
    o[0].cap_per_shopper = 3;
    o[1].kind = VPT_KIND_THIRD_PARTY;

    params_init(&p, VPT_PAGE_CART);
    decide(o, 3, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 1 && d.offer[0] == 0 && d.eligible == 3);

    /* no counters read: a capped offer cannot be checked, so is out */
    p.no_capped = 1;
    decide(o, 3, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 1 && d.offer[0] == 1 && d.eligible == 2);

    /* no third parties either; exploration is over what is left */
    p.no_third_party = 1;
    p.explore = 1;
    decide(o, 3, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 1 && d.offer[0] == 2 && d.eligible == 1);
    VPT_CHECK_NEAR(d.propensity[0], 1, 1e-12);
}


VPT_TEST(equal_values_keep_catalog_order)
{
    vpt_offer_t          o[3];
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    vpt_context_init(&ctx);
    offer_init(&o[0], "a", 1, 0, 0.5);
    offer_init(&o[1], "b", 2, 0, 0.5);
    offer_init(&o[2], "c", 2, 0, 0.5);

    params_init(&p, VPT_PAGE_CART);
    p.slots = 3;
    decide(o, 3, NULL, &ctx, &p, &d);

    VPT_CHECK(d.n == 3);
    VPT_CHECK(d.offer[0] == 1 && d.offer[1] == 2 && d.offer[2] == 0);
}


VPT_TEST(long_term_weight_can_put_loyalty_before_an_upsell)
{
    vpt_offer_t          o[2];
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    vpt_context_init(&ctx);
    offer_init(&o[0], "upsell", 20, 0, 0.5);        /* EV 10 */
    offer_init(&o[1], "loyalty", 0, 100, 0.3);      /* EV 30 w */
    o[1].kind = VPT_KIND_LOYALTY;

    params_init(&p, VPT_PAGE_CONFIRMATION);
    p.slots = 2;

    p.long_term_weight = 1;
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 2 && d.offer[0] == 1 && d.offer[1] == 0);
    VPT_CHECK_NEAR(d.value[0], 30, 1e-12);

    p.long_term_weight = 0.25;
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 2 && d.offer[0] == 0 && d.offer[1] == 1);
    VPT_CHECK_NEAR(d.value[1], 7.5, 1e-12);

    p.long_term_weight = 0;
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.offer[0] == 0);
    VPT_CHECK_NEAR(d.value[1], 0, 0);
}


VPT_TEST(nothing_worth_showing_is_suppressed)
{
    vpt_offer_t          o[2];
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    vpt_context_init(&ctx);
    offer_init(&o[0], "a", 10, 0, 0.1);     /* EV 1 */
    offer_init(&o[1], "b", 4, 0, 0.5);      /* EV 2 */

    params_init(&p, VPT_PAGE_CART);
    p.slots = 2;
    p.min_value = 1.5;
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 1 && d.offer[0] == 1 && !d.suppressed);
    VPT_CHECK(d.eligible == 2);

    p.min_value = 2.5;
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 0 && d.suppressed && d.eligible == 2);
    VPT_CHECK(d.nothing_propensity == 1);
    VPT_CHECK(d.total_value == 0);

    /* nothing eligible: not suppressed, just nothing */
    o[0].pages = o[1].pages = VPT_PAGE_BIT(VPT_PAGE_CONFIRMATION);
    p.min_value = 0;
    decide(o, 2, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 0 && !d.suppressed && d.eligible == 0);
    VPT_CHECK(d.nothing_propensity == 1);

    /* an empty catalog */
    decide(o, 0, NULL, &ctx, &p, &d);
    VPT_CHECK(d.n == 0 && d.eligible == 0 && d.nothing_propensity == 1);
}


VPT_TEST(exploration_propensities_are_true_frequencies)
{
    int                  bad;
    double               prop0[5], prop1[5], want;
    size_t               i, j, runs, n0[5], n1[5], best_first;
    vpt_offer_t          o[6];
    vpt_context_t        ctx;
    vpt_ranker_t        *r;
    vpt_catalog_t        c;
    vpt_decision_t       d;
    vpt_decide_params_t  p;
    void                *scratch;

    vpt_context_init(&ctx);
    offer_init(&o[0], "a", 1, 0, 0.5);
    offer_init(&o[1], "b", 2, 0, 0.5);
    offer_init(&o[2], "c", 3, 0, 0.5);
    offer_init(&o[3], "d", 4, 0, 0.5);
    offer_init(&o[4], "e", 5, 0, 0.5);
    offer_init(&o[5], "f", 0.5, 0, 0.5);    /* below min_value */

    memset(&c, 0, sizeof(c));
    c.offers = o;
    c.n = 6;
    r = vpt_ranker_create(&c, NULL, err, sizeof(err));
    scratch = malloc(vpt_ranker_scratch_size(r));

    params_init(&p, VPT_PAGE_CART);
    p.slots = 2;
    p.explore = 0.3;
    p.min_value = 0.4;

    memset(n0, 0, sizeof(n0));
    memset(n1, 0, sizeof(n1));
    memset(prop0, 0, sizeof(prop0));
    memset(prop1, 0, sizeof(prop1));

    runs = 20000;
    best_first = 0;
    bad = 0;

    for (i = 0; i < runs; i++) {
        p.seed = vpt_hash(&i, sizeof(i));
        vpt_decide(r, &ctx, &p, scratch, &d);

        bad += (d.n != 2 || d.offer[0] == 5 || d.offer[1] == 5
                || d.offer[0] == d.offer[1]);
        if (d.n != 2) {
            continue;
        }

        n0[d.offer[0]]++;
        prop0[d.offer[0]] = d.propensity[0];

        /* the second slot, given the best went first */
        if (d.offer[0] == 4) {
            best_first++;
            n1[d.offer[1]]++;
            prop1[d.offer[1]] = d.propensity[1];
        }
    }

    VPT_CHECK(bad == 0);

    for (j = 0; j < 5; j++) {
        want = (j == 4) ? 0.7 + 0.3 / 5 : 0.3 / 5;
        VPT_CHECK_NEAR(prop0[j], want, 1e-12);
        VPT_CHECK_NEAR((double) n0[j] / runs, prop0[j], 0.01);
    }

    VPT_CHECK(n1[4] == 0);

    for (j = 0; j < 4; j++) {
        want = (j == 3) ? 0.7 + 0.3 / 4 : 0.3 / 4;
        VPT_CHECK_NEAR(prop1[j], want, 1e-12);
        VPT_CHECK_NEAR((double) n1[j] / best_first, prop1[j], 0.015);
    }

    /* full exploration: uniform */
    p.explore = 1;
    p.slots = 1;
    memset(n0, 0, sizeof(n0));

    for (i = 0; i < runs; i++) {
        p.seed = i * 7919 + 1;
        vpt_decide(r, &ctx, &p, scratch, &d);
        n0[d.offer[0]]++;
        bad += (fabs(d.propensity[0] - 0.2) > 1e-12);
    }

    VPT_CHECK(bad == 0);

    for (j = 0; j < 5; j++) {
        VPT_CHECK_NEAR((double) n0[j] / runs, 0.2, 0.01);
    }

    free(scratch);
    vpt_ranker_free(r);
}


/*
 * Placements: slot 0 takes upsells, slots 1 and 2 loyalty or gift cards.
 * Each slot chooses among what is left of its kinds, no offer twice, an
 * empty slot when none is left; each propensity is that slot's true
 * frequency given the slots before it.
 */

VPT_TEST(placement_slots_choose_among_their_kinds)
{
    int                  bad;
    double               prop[6], want;
    size_t               i, j, runs, n1[6], given;
    uint8_t              kinds[3];
    vpt_offer_t          o[6];
    vpt_context_t        ctx;
    vpt_ranker_t        *r;
    vpt_catalog_t        c;
    vpt_decision_t       d;
    vpt_decide_params_t  p;
    void                *scratch;

    vpt_context_init(&ctx);
    offer_init(&o[0], "up-1", 1, 0, 0.5);
    offer_init(&o[1], "up-2", 9, 0, 0.5);           /* the best overall */
    offer_init(&o[2], "loy-1", 2, 0, 0.5);
    offer_init(&o[3], "loy-2", 3, 0, 0.5);
    offer_init(&o[4], "gift", 4, 0, 0.5);
    offer_init(&o[5], "app", 8, 0, 0.5);            /* no slot takes it */
    o[2].kind = VPT_KIND_LOYALTY;
    o[3].kind = VPT_KIND_LOYALTY;
    o[4].kind = VPT_KIND_GIFT_CARD;
    o[5].kind = VPT_KIND_APP_INSTALL;

    kinds[0] = 1u << VPT_KIND_UPSELL;
    kinds[1] = (1u << VPT_KIND_LOYALTY) | (1u << VPT_KIND_GIFT_CARD);
    kinds[2] = kinds[1];

    memset(&c, 0, sizeof(c));
    c.offers = o;
    c.n = 6;
    r = vpt_ranker_create(&c, NULL, err, sizeof(err));
    scratch = malloc(vpt_ranker_scratch_size(r));

    params_init(&p, VPT_PAGE_CART);
    p.slots = 3;
    p.slot_kinds = kinds;

    /* no exploration: the best of each slot's kinds, in slot order */
    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK(d.n == 3 && d.offer[0] == 1 && d.offer[1] == 4
              && d.offer[2] == 3);
    VPT_CHECK(d.slot[0] == 0 && d.slot[1] == 1 && d.slot[2] == 2);
    VPT_CHECK(d.propensity[0] == 1 && d.propensity[2] == 1);

    /* slot 0 finds nothing of its kind: it stays empty, the others fill */
    o[0].kind = VPT_KIND_CROSS_SELL;
    o[1].kind = VPT_KIND_CROSS_SELL;
    vpt_ranker_free(r);
    r = vpt_ranker_create(&c, NULL, err, sizeof(err));

    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK(d.n == 2 && d.offer[0] == 4 && d.offer[1] == 3
              && d.slot[0] == 1 && d.slot[1] == 2);

    /* nothing of any slot's kinds: nothing, with propensity 1 */
    kinds[1] = kinds[2] = 1u << VPT_KIND_THIRD_PARTY;
    vpt_decide(r, &ctx, &p, scratch, &d);
    VPT_CHECK(d.n == 0 && d.nothing_propensity == 1);

    /* exploration: slot 1's frequencies given slot 0, three to choose */
    kinds[1] = kinds[2] = (1u << VPT_KIND_LOYALTY)
                          | (1u << VPT_KIND_GIFT_CARD);
    p.explore = 0.3;
    runs = 20000;
    given = 0;
    bad = 0;
    memset(n1, 0, sizeof(n1));
    memset(prop, 0, sizeof(prop));

    for (i = 0; i < runs; i++) {
        p.seed = vpt_hash(&i, sizeof(i));
        vpt_decide(r, &ctx, &p, scratch, &d);

        bad += (d.n != 2 || d.offer[0] == d.offer[1]);

        for (j = 0; j < d.n; j++) {
            bad += !(kinds[d.slot[j]] & (1u << o[d.offer[j]].kind));
        }

        if (d.n == 2 && d.slot[0] == 1) {
            given++;
            n1[d.offer[0]]++;
            prop[d.offer[0]] = d.propensity[0];
        }
    }

    VPT_CHECK(bad == 0 && given == runs);

    for (j = 2; j < 5; j++) {
        want = (j == 4) ? 0.7 + 0.3 / 3 : 0.3 / 3;
        VPT_CHECK_NEAR(prop[j], want, 1e-12);
        VPT_CHECK_NEAR((double) n1[j] / given, prop[j], 0.01);
    }

    free(scratch);
    vpt_ranker_free(r);
}


VPT_TEST(the_same_seed_gives_the_same_decision)
{
    int                  differ;
    size_t               i, j;
    vpt_offer_t          o[8];
    vpt_context_t        ctx;
    vpt_ranker_t        *r;
    vpt_catalog_t        c;
    vpt_decision_t       d1, d2;
    vpt_decide_params_t  p;
    char                *scratch;

    vpt_context_init(&ctx);

    for (i = 0; i < 8; i++) {
        offer_init(&o[i], "x", (double) i + 1, 0, 0.5);
    }

    memset(&c, 0, sizeof(c));
    c.offers = o;
    c.n = 8;
    r = vpt_ranker_create(&c, NULL, err, sizeof(err));
    scratch = malloc(vpt_ranker_scratch_size(r) + 1);

    params_init(&p, VPT_PAGE_CART);
    p.slots = 3;
    p.explore = 0.5;
    differ = 0;

    for (i = 0; i < 100; i++) {
        p.seed = 0x7f3a9c01e2ULL + i;

        vpt_decide(r, &ctx, &p, scratch, &d1);
        vpt_decide(r, &ctx, &p, scratch + 1, &d2);   /* any alignment */

        VPT_CHECK(d1.n == 3 && d2.n == 3);

        for (j = 0; j < 3; j++) {
            VPT_CHECK(d1.offer[j] == d2.offer[j]);
            VPT_CHECK(d1.propensity[j] == d2.propensity[j]);
        }

        differ += (d1.offer[0] != 7);
    }

    /* and different seeds explore differently */
    VPT_CHECK(differ > 20 && differ < 80);

    free(scratch);
    vpt_ranker_free(r);
}


/* random data for the model and consistency tests */

static uint64_t  rng = 42;

static const char  *devices[] = { "mobile", "Mobile", "desktop", "tablet" };
static const char  *countries[] = { "US", "us", "CA", "FR", "DE" };
static const char  *referrers[] = { "email", "Email", "search", "social" };
static const char  *cats[] = { "toys", "books", "dresses", "phones",
                               "cases", "garden" };
static const char  *skus[] = { "TOY-1", "BK-9", "DR-7", "PH-1", "CS-2" };
static const char  *segs[] = { "new", "bargain-hunter", "vip" };


static size_t
rnd(size_t n)
{
    return (size_t) (vpt_rand_unit(&rng) * (double) n);
}

#define PICK(a)  (a)[rnd(sizeof(a) / sizeof((a)[0]))]


static void
random_context(vpt_context_t *ctx)
{
    size_t  i, n;

    vpt_context_init(ctx);

    if (rnd(4)) {
        ctx->device = str(PICK(devices));
    }

    if (rnd(4)) {
        ctx->country = str(PICK(countries));
    }

    if (rnd(2)) {
        ctx->referrer = str(PICK(referrers));
    }

    ctx->local_hour = (int) rnd(25) - 1;
    ctx->loyalty_member = (int) rnd(3) - 1;
    ctx->orders = (double) rnd(12) - 1;

    n = rnd(4);

    for (i = 0; i < n; i++) {
        cart_add(ctx, PICK(skus), PICK(cats), (double) rnd(100));
    }

    n = rnd(4);

    for (i = 0; i < n; i++) {
        ctx->history_categories[ctx->nhistory_categories++] = str(PICK(cats));
        ctx->history_skus[ctx->nhistory_skus++] = str(PICK(skus));
    }

    n = rnd(3);

    for (i = 0; i < n; i++) {
        ctx->viewed[ctx->nviewed++].category = str(PICK(cats));
    }

    if (rnd(2)) {
        ctx->intent = str("gift");
    }

    ctx->nfeatures = 0;
    attr_str(ctx->features, &ctx->nfeatures, "segment", PICK(segs));
    attr_num(ctx->features, &ctx->nfeatures, "age", (double) rnd(80) - 5);
}


static void
random_offer(vpt_offer_t *o, vpt_attr_t *attrs, size_t i)
{
    static const char  *ids[] = { "o0", "o1", "o2", "o3", "o4", "o5", "o6",
                                  "o7", "o8", "o9" };
    int                 h;

    offer_init(o, ids[i % 10], (double) rnd(50), (double) rnd(3) * 20,
               0.05 + vpt_rand_unit(&rng) * 0.5);
    o->kind = (vpt_kind_e) rnd(VPT_KIND_N);

    if (o->kind == VPT_KIND_THIRD_PARTY) {
        o->advertiser = str("acme");
    }

    if (rnd(4) == 0) {
        o->pages = VPT_PAGE_BIT(rnd(2));
    }

    if (rnd(4) == 0) {
        o->devices = LIST(PICK(devices));
    }

    if (rnd(4) == 0) {
        o->countries = LIST(PICK(countries), PICK(countries));
    }

    if (rnd(6) == 0) {
        o->referrers = LIST(PICK(referrers));
    }

    if (rnd(4) == 0) {
        o->hours = 0;
        for (h = (int) rnd(24); h < 24; h++) {
            o->hours |= 1u << h;
        }
    }

    if (rnd(5) == 0) {
        o->min_cart_total = (double) rnd(150);
    }

    if (rnd(4) == 0) {
        o->categories_any = LIST(PICK(cats), PICK(cats));
    }

    if (rnd(5) == 0) {
        o->categories_none = LIST(PICK(cats));
    }

    if (rnd(5) == 0) {
        o->exclude_if_in_cart = LIST(PICK(skus), PICK(cats));
    }

    if (rnd(5) == 0) {
        o->exclude_if_purchased = LIST(PICK(skus), PICK(cats));
    }

    if (rnd(5) == 0) {
        o->loyalty_member = (int) rnd(2);
    }

    if (rnd(5) == 0) {
        o->cap_per_shopper = 1 + (unsigned) rnd(3);
    }

    memset(attrs, 0, 3 * sizeof(vpt_attr_t));
    attrs[0].name = str("category");
    attrs[0].str = str(PICK(cats));
    attrs[1].name = str("sku");
    attrs[1].str = str(PICK(skus));
    attrs[2].name = str("discount");
    attrs[2].num = (double) rnd(40);
    attrs[2].is_num = 1;
    o->features = attrs;
    o->nfeatures = rnd(4);
}


/* a model over features drawn from random contexts and offers */
static vpt_model_t *
random_model(unsigned k, vpt_offer_t *o, size_t n)
{
    char           *json, *p, name[256];
    size_t          i, j, nf, cap;
    unsigned        x;
    vpt_feat_t      f[VPT_MAX_FEATURES];
    vpt_model_t    *m;
    vpt_context_t   ctx;

    cap = 1 << 20;
    json = malloc(cap);
    p = json + sprintf(json, "{\"format\":\"vpt-fm\",\"k\":%u,\"bias\":%.17g,"
                       "\"features\":{", k, vpt_rand_unit(&rng) * 4 - 2);

    for (i = 0; i < 200 + n; i++) {
        if (i < n) {
            nf = vpt_features_offer(&o[i], f, VPT_MAX_FEATURES);

        } else {
            random_context(&ctx);
            nf = vpt_features_shopper(&ctx, (vpt_page_e) rnd(2), 12, f,
                                      VPT_MAX_FEATURES);
        }

        for (j = 0; j < nf; j++) {
            vpt_feat_text(&f[j], name, sizeof(name));

            /* some features stay unknown to the model */
            if (strstr(json, name) != NULL || rnd(8) == 0) {
                continue;
            }

            p += sprintf(p, "%s\"%s\":[%.9g", p[-1] == '{' ? "" : ",", name,
                         vpt_rand_unit(&rng) - 0.5);

            for (x = 0; x < k; x++) {
                p += sprintf(p, ",%.9g", vpt_rand_unit(&rng) * 1.6 - 0.8);
            }

            *p++ = ']';
            *p = '\0';
        }
    }

    strcpy(p, "}}");

    m = vpt_model_parse(json, strlen(json), "random", err, sizeof(err));
    VPT_CHECK_MSG(m != NULL, "%s", err);
    free(json);

    return m;
}


VPT_TEST(fm_fast_path_equals_the_reference_logit)
{
    double          ref, fast, worst;
    size_t          round, i, j, n, ns, no;
    unsigned        ks[] = { 1, 4, 8, 64 };
    vpt_feat_t      f[2 * VPT_MAX_FEATURES];
    vpt_attr_t      attrs[10][3];
    vpt_offer_t     o[10];
    vpt_page_e      page;
    vpt_model_t    *m;
    vpt_ranker_t   *r;
    vpt_catalog_t   c;
    vpt_context_t   ctx;

    worst = 0;
    n = 10;

    for (round = 0; round < 4; round++) {
        npool = 0;

        for (i = 0; i < n; i++) {
            random_offer(&o[i], attrs[i], i);
        }

        m = random_model(ks[round], o, n);
        if (m == NULL) {
            return;
        }

        memset(&c, 0, sizeof(c));
        c.offers = o;
        c.n = n;
        r = vpt_ranker_create(&c, m, err, sizeof(err));

        for (j = 0; j < 100; j++) {
            random_context(&ctx);
            page = (vpt_page_e) rnd(2);
            ns = vpt_features_shopper(&ctx, page, 15, f, VPT_MAX_FEATURES);

            for (i = 0; i < n; i++) {
                no = vpt_features_offer(&o[i], f + ns, VPT_MAX_FEATURES);
                ref = vpt_model_logit(m, f, ns + no);
                fast = vpt_ranker_logit(r, &ctx, page, 15, i);

                if (fabs(fast - ref) / fmax(1, fabs(ref)) > worst) {
                    worst = fabs(fast - ref) / fmax(1, fabs(ref));
                }

                VPT_CHECK_NEAR(vpt_ranker_p(r, &ctx, page, 15, i),
                               vpt_sigmoid(ref), 1e-9);
            }
        }

        vpt_ranker_free(r);
        vpt_model_free(m);
    }

    VPT_CHECK_MSG(worst <= 1e-9, "worst relative error %g", worst);
}


VPT_TEST(decisions_use_the_model_probability)
{
    double               ev, best;
    size_t               i, j, n, besti;
    vpt_attr_t           attrs[10][3];
    vpt_offer_t          o[10];
    vpt_model_t         *m;
    vpt_ranker_t        *r;
    vpt_catalog_t        c;
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;
    void                *scratch;

    npool = 0;
    n = 10;

    for (i = 0; i < n; i++) {
        random_offer(&o[i], attrs[i], i);
        o[i].value = 1 + (double) i;
    }

    m = random_model(8, o, n);
    if (m == NULL) {
        return;
    }

    memset(&c, 0, sizeof(c));
    c.offers = o;
    c.n = n;
    r = vpt_ranker_create(&c, m, err, sizeof(err));
    scratch = malloc(vpt_ranker_scratch_size(r));

    params_init(&p, VPT_PAGE_CART);

    for (j = 0; j < 200; j++) {
        random_context(&ctx);
        p.page = (vpt_page_e) rnd(2);
        p.long_term_weight = vpt_rand_unit(&rng);
        vpt_decide(r, &ctx, &p, scratch, &d);

        best = -1;
        besti = n;

        for (i = 0; i < n; i++) {
            if (!vpt_eligible(&o[i], &ctx, p.page, p.hour, 0, 0)) {
                continue;
            }

            ev = vpt_ranker_p(r, &ctx, p.page, p.hour, i)
                 * (o[i].value + p.long_term_weight * o[i].long_term_value);

            if (ev > best) {
                best = ev;
                besti = i;
            }
        }

        VPT_CHECK(d.n == (besti < n));
        if (d.n) {
            VPT_CHECK(d.offer[0] == besti);
            VPT_CHECK_NEAR(d.value[0], best, 1e-12);
            VPT_CHECK_NEAR(d.p[0], vpt_ranker_p(r, &ctx, p.page, p.hour,
                                                besti), 1e-15);
        }
    }

    free(scratch);
    vpt_ranker_free(r);
    vpt_model_free(m);
}


VPT_TEST(decisions_apply_the_same_rules_as_vpt_eligible)
{
    size_t               i, j, n, want, mismatch;
    uint32_t             imp[40];
    uint8_t              acc[40];
    vpt_attr_t           attrs[40][3];
    vpt_offer_t          o[40];
    vpt_ranker_t        *r;
    vpt_catalog_t        c;
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;
    void                *scratch;

    npool = 0;
    n = 40;

    for (i = 0; i < n; i++) {
        random_offer(&o[i], attrs[i], i);
    }

    memset(&c, 0, sizeof(c));
    c.offers = o;
    c.n = n;
    r = vpt_ranker_create(&c, NULL, err, sizeof(err));
    scratch = malloc(vpt_ranker_scratch_size(r));

    params_init(&p, VPT_PAGE_CART);
    p.impressions = imp;
    p.accepted = acc;
    mismatch = 0;

    for (j = 0; j < 2000; j++) {
        random_context(&ctx);
        p.page = (vpt_page_e) rnd(2);
        p.hour = (int) rnd(25) - 1;

        for (i = 0; i < n; i++) {
            imp[i] = (uint32_t) rnd(4);
            acc[i] = (rnd(10) == 0);
        }

        want = 0;

        for (i = 0; i < n; i++) {
            want += vpt_eligible(&o[i], &ctx, p.page, p.hour, imp[i], acc[i]);
        }

        vpt_decide(r, &ctx, &p, scratch, &d);
        mismatch += (d.eligible != want);
    }

    VPT_CHECK(mismatch == 0);

    free(scratch);
    vpt_ranker_free(r);
}


VPT_TEST(without_a_model_p_is_the_prior)
{
    vpt_offer_t     o[2];
    vpt_ranker_t   *r;
    vpt_catalog_t   c;
    vpt_context_t   ctx;

    vpt_context_init(&ctx);
    offer_init(&o[0], "a", 1, 0, 0.125);
    offer_init(&o[1], "b", 1, 0, 0.75);

    memset(&c, 0, sizeof(c));
    c.offers = o;
    c.n = 2;
    r = vpt_ranker_create(&c, NULL, err, sizeof(err));

    VPT_CHECK(vpt_ranker_p(r, &ctx, VPT_PAGE_CART, 12, 0) == 0.125);
    VPT_CHECK(vpt_ranker_p(r, &ctx, VPT_PAGE_CART, 12, 1) == 0.75);
    VPT_CHECK(vpt_ranker_logit(r, &ctx, VPT_PAGE_CART, 12, 1) == 0);

    vpt_ranker_free(r);
}


/* the demo shop, through the real catalog and context parsers */

static const char  *gift_buyer =
    "{\"user\": {\"id\": \"u-1\", \"loyalty_member\": false, \"orders\": 1},"
    " \"device\": \"mobile\", \"country\": \"US\", \"local_hour\": 20,"
    " \"cart\": [{\"sku\": \"TOY-1\", \"category\": \"toys\","
    "            \"price\": 29.99, \"qty\": 1}],"
    " \"order\": {\"id\": \"A-1001\", \"total\": 29.99},"
    " \"intent\": \"gift\"}";


static size_t
offer_named(const vpt_catalog_t *c, const char *id)
{
    long  i;

    i = vpt_catalog_find(c, str(id));
    VPT_CHECK_MSG(i >= 0, "no offer \"%s\"", id);

    return (i >= 0) ? (size_t) i : c->n;
}


VPT_TEST(demo_gift_buyer_gets_no_more_toys_on_confirmation)
{
    char                 arena[4096];
    size_t               i, toys, dress, loyalty;
    vpt_catalog_t       *c;
    vpt_context_t        ctx;
    vpt_decision_t       d;
    vpt_decide_params_t  p;

    c = vpt_catalog_load("conf.d/catalog.json", err, sizeof(err));
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    VPT_CHECK(vpt_context_parse(&ctx, gift_buyer, strlen(gift_buyer), arena,
                                sizeof(arena)) == VPT_OK);

    toys = offer_named(c, "more-toys");
    dress = offer_named(c, "party-dress");
    loyalty = offer_named(c, "loyalty-join");

    VPT_CHECK(!elig(&c->offers[toys], &ctx, VPT_PAGE_CONFIRMATION));
    VPT_CHECK(elig(&c->offers[dress], &ctx, VPT_PAGE_CONFIRMATION));
    VPT_CHECK(elig(&c->offers[loyalty], &ctx, VPT_PAGE_CONFIRMATION));

    /* even when its own rule is gone, the just-bought rule holds */
    c->offers[toys].exclude_if_purchased.n = 0;
    VPT_CHECK(!elig(&c->offers[toys], &ctx, VPT_PAGE_CONFIRMATION));

    params_init(&p, VPT_PAGE_CONFIRMATION);
    p.slots = VPT_MAX_SLOTS;
    decide(c->offers, c->n, NULL, &ctx, &p, &d);

    VPT_CHECK(d.n > 0 && d.n == d.eligible);

    for (i = 0; i < d.n; i++) {
        VPT_CHECK(d.offer[i] != toys);
    }

    /* loyalty: 0.12 * 60 beats the dress's 0.04 * 39 */
    VPT_CHECK(d.offer[0] == loyalty);

    vpt_catalog_free(c);
}


int
main(void)
{
    VPT_RUN(rule_pages);
    VPT_RUN(rule_devices_ignore_case_and_need_a_device);
    VPT_RUN(rule_countries_ignore_case_and_need_a_country);
    VPT_RUN(rule_referrers_ignore_case_and_need_a_referrer);
    VPT_RUN(rule_hours_use_the_shoppers_hour_else_the_servers);
    VPT_RUN(rule_min_cart_total);
    VPT_RUN(rule_categories_any_looks_at_cart_history_and_viewed);
    VPT_RUN(rule_categories_none_looks_at_cart_and_history);
    VPT_RUN(rule_exclude_if_in_cart_matches_skus_and_categories);
    VPT_RUN(rule_exclude_if_purchased_includes_the_cart_on_confirmation);
    VPT_RUN(rule_loyalty_member_needs_a_known_membership);
    VPT_RUN(rule_cap_per_shopper_counts_impressions);
    VPT_RUN(rule_an_accepted_offer_is_not_shown_again);
    VPT_RUN(impressions_reach_the_cap_in_a_decision);
    VPT_RUN(gift_buyer_who_bought_a_toy_gets_no_toy_offer_on_confirmation);
    VPT_RUN(offers_are_ranked_by_expected_value);
    VPT_RUN(anonymous_and_first_party_shoppers_choose_among_the_rest);
    VPT_RUN(equal_values_keep_catalog_order);
    VPT_RUN(long_term_weight_can_put_loyalty_before_an_upsell);
    VPT_RUN(nothing_worth_showing_is_suppressed);
    VPT_RUN(exploration_propensities_are_true_frequencies);
    VPT_RUN(placement_slots_choose_among_their_kinds);
    VPT_RUN(the_same_seed_gives_the_same_decision);
    VPT_RUN(fm_fast_path_equals_the_reference_logit);
    VPT_RUN(decisions_use_the_model_probability);
    VPT_RUN(decisions_apply_the_same_rules_as_vpt_eligible);
    VPT_RUN(without_a_model_p_is_the_prior);
    VPT_RUN(demo_gift_buyer_gets_no_more_toys_on_confirmation);

    return VPT_DONE();
}
