/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Offer markup: placeholders, escaping, number formats and the exact size
 * the splicer allocates.
 */

#include <locale.h>
#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_fixture.h"
#include "vpt_render.h"
#include "vpt_render_ctx.h"


#define XSS  "<script>alert(1)</script>"


static char  out[65536];


/* an offer of this markup (offer_init()'s other fields do not render) */
static void
markup_offer(vpt_offer_t *o, const char *id, const char *markup)
{
    offer_init(o, id, 0, 0, 0);
    o->markup = str(markup);
}


static void
vars_init(vpt_render_vars_t *vars, const char *decision,
    const char *experiment)
{
    vars->decision = str(decision);
    vars->experiment = str(experiment);
    vars->preview = 0;
    vars->signature = str("");
    vars->placement = str("");
}


/* renders into out (NUL-terminated); checks the size is exact */
static const char *
render(const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars)
{
    size_t  size, n;

    size = vpt_render_size(o, ctx, vars);
    memset(out, '#', size + 16);
    n = vpt_render(out, o, ctx, vars);

    VPT_CHECK_MSG(n == size, "size %zu, wrote %zu", size, n);
    VPT_CHECK_MSG(n <= vpt_render_max(o, vars), "wrote %zu, bound %zu", n,
                  vpt_render_max(o, vars));
    VPT_CHECK(out[size] == '#');
    out[n] = '\0';

    return out;
}


#define CHECK_RENDER(o, ctx, vars, want)                                    \
    do {                                                                    \
        const char  *got_ = render(o, ctx, vars);                           \
        VPT_CHECK_MSG(strcmp(got_, want) == 0, "got \"%s\", want \"%s\"",   \
                      got_, want);                                          \
    } while (0)


VPT_TEST(markup_is_wrapped_with_the_decision_and_offer)
{
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;

    vpt_context_init(&ctx);
    markup_offer(&o, "loyalty", "<p>Join!</p>");
    vars_init(&vars, "7f3a9c01e2", "");

    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"7f3a9c01e2\""
                 " data-vpt-offer=\"loyalty\"><p>Join!</p></div>");

    vars.preview = 1;
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"7f3a9c01e2\""
                 " data-vpt-offer=\"loyalty\" data-vpt-preview=\"1\">"
                 "<p>Join!</p></div>");

    /* a named placement's wrapper says which, escaped */
    vars.preview = 0;
    vars.placement = str("side");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"7f3a9c01e2\""
                 " data-vpt-offer=\"loyalty\" data-vpt-placement=\"side\">"
                 "<p>Join!</p></div>");
}


VPT_TEST(every_placeholder_is_filled_from_the_context)
{
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;

    vpt_context_init(&ctx);
    ctx.user_id = str("u-123");
    ctx.orders = 3;
    ctx.device = str("mobile");
    ctx.referrer = str("email");
    ctx.country = str("US");
    ctx.intent = str("gift");
    ctx.order_id = str("A-1001");
    ctx.order_total = 29.9;
    ctx.order_currency = str("USD");
    ctx.nfeatures = 0;
    attr_str(ctx.features, &ctx.nfeatures, "segment", "new");
    attr_str(ctx.features, &ctx.nfeatures, "age_band", "25-34");

    markup_offer(&o, "thanks",
                 "{{decision}}|{{offer}}|{{experiment}}|{{user.id}}|"
                 "{{user.orders}}|{{device}}|{{referrer}}|{{country}}|"
                 "{{intent}}|{{order.id}}|{{order.total}}|{{order.currency}}|"
                 "{{features.segment}}|{{features.age_band}}");
    vars_init(&vars, "d1", "spring");

    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"d1\""
                 " data-vpt-offer=\"thanks\">d1|thanks|spring|u-123|3|mobile|"
                 "email|US|gift|A-1001|29.90|USD|new|25-34</div>");
}


VPT_TEST(unknown_values_render_empty)
{
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;

    vpt_context_init(&ctx);
    markup_offer(&o, "x",
                 "[{{user.id}}][{{user.orders}}][{{device}}][{{order.total}}]"
                 "[{{experiment}}][{{features.nope}}]");
    vars_init(&vars, "d", "");

    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"d\""
                 " data-vpt-offer=\"x\">[][][][][][]</div>");
}


VPT_TEST(context_strings_longer_than_256_bytes_render_empty)
{
    char               big[1025];
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    vpt_context_init(&ctx);
    ctx.user_id.data = big;
    ctx.user_id.len = 256;
    ctx.device.data = big;
    ctx.device.len = 257;
    ctx.intent.data = big;
    ctx.intent.len = 1024;

    markup_offer(&o, "x", "[{{device}}][{{intent}}]");
    vars_init(&vars, "d", "");

    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"d\""
                 " data-vpt-offer=\"x\">[][]</div>");

    markup_offer(&o, "x", "{{user.id}}");
    VPT_CHECK(vpt_render_size(&o, &ctx, &vars)
              == sizeof("<div class=\"vpt-offer\" data-vpt-decision=\"d\""
                        " data-vpt-offer=\"x\"></div>") - 1 + 256);
}


VPT_TEST(beacon_is_an_escaped_query_string)
{
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;

    vpt_context_init(&ctx);
    markup_offer(&o, "loyalty", "<img src=\"/vpt/accept?{{beacon}}\">");

    vars_init(&vars, "7f3a", "");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"7f3a\""
                 " data-vpt-offer=\"loyalty\">"
                 "<img src=\"/vpt/accept?d=7f3a&amp;o=loyalty\"></div>");

    vars_init(&vars, "7f3a", "spring-2026");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"7f3a\""
                 " data-vpt-offer=\"loyalty\">"
                 "<img src=\"/vpt/accept?d=7f3a&amp;o=loyalty"
                 "&amp;x=spring-2026\"></div>");

    /* characters that would break the URL are percent-encoded */
    markup_offer(&o, "a&b c", "{{beacon}}");
    vars_init(&vars, "7f3a", "x=\"1\"");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"7f3a\""
                 " data-vpt-offer=\"a&amp;b c\">"
                 "d=7f3a&amp;o=a%26b%20c&amp;x=x%3D%221%22</div>");

    /* a signed link: the token last, as it is (its bytes are unreserved) */
    markup_offer(&o, "loyalty", "{{beacon}}");
    vars_init(&vars, "7f3a", "spring");
    vars.signature = str("1767225600.q5Vt0bE6M2kq3a8UHVx_0A");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"7f3a\""
                 " data-vpt-offer=\"loyalty\">"
                 "d=7f3a&amp;o=loyalty&amp;x=spring"
                 "&amp;s=1767225600.q5Vt0bE6M2kq3a8UHVx_0A</div>");
}


VPT_TEST(numbers_are_formatted_without_the_locale)
{
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;

    static const struct {
        double       total;
        double       orders;
        double       feature;
        const char  *want;
    } cases[] = {
        { 29.99, 3, 31, "29.99|3|31" },
        { 30, 0, -0.5, "30.00|0|-0.5" },
        { 0.125, 2.5, 0.1, "0.13|2.5|0.1" },
        { 1234567.891, 1e6, -17.25, "1234567.89|1000000|-17.25" },
        { 0.999, 12, 1.0000004, "1.00|12|1" },
        { 0, 7, -0.0000001, "0.00|7|0" },
        { 1e15, 1, 2e15, "1000000000000000|1|2000000000000000" },
    };
    size_t  i;
    char    want[256];

    vars_init(&vars, "d", "");
    markup_offer(&o, "x", "{{order.total}}|{{user.orders}}|{{features.n}}");

    /* a locale with a decimal comma, when the machine has one */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL) {
        setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    }

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vpt_context_init(&ctx);
        ctx.order_total = cases[i].total;
        ctx.orders = cases[i].orders;
        ctx.nfeatures = 0;
        attr_num(ctx.features, &ctx.nfeatures, "n", cases[i].feature);

        snprintf(want, sizeof(want), "<div class=\"vpt-offer\""
                 " data-vpt-decision=\"d\" data-vpt-offer=\"x\">%s</div>",
                 cases[i].want);
        CHECK_RENDER(&o, &ctx, &vars, want);
    }

    setlocale(LC_NUMERIC, "C");
}


VPT_TEST(context_values_never_appear_unescaped)
{
    const char         *got;
    vpt_offer_t         o;
    vpt_context_t       ctx;
    vpt_render_vars_t   vars;

    vpt_context_init(&ctx);
    ctx.device = str(XSS);
    ctx.user_id = str(XSS);
    ctx.referrer = str("\"><img onerror='x'>");
    ctx.nfeatures = 0;
    attr_str(ctx.features, &ctx.nfeatures, "segment", XSS);

    markup_offer(&o, XSS,
                 "<b>{{device}}</b><i>{{features.segment}}</i>"
                 "<a title=\"{{referrer}}\" href=\"?{{beacon}}\">"
                 "{{user.id}}{{offer}}{{decision}}{{experiment}}</a>");
    vars_init(&vars, XSS, XSS);

    got = render(&o, &ctx, &vars);

    VPT_CHECK(strstr(got, "<script") == NULL);
    VPT_CHECK(strstr(got, "</script") == NULL);
    VPT_CHECK(strstr(got, "<img") == NULL);
    VPT_CHECK(strstr(got, "'") == NULL);
    VPT_CHECK(strstr(got, "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>")
              != NULL);
    VPT_CHECK(strstr(got, "title=\"&quot;&gt;&lt;img onerror=&#39;x&#39;"
                     "&gt;\"") != NULL);
    VPT_CHECK(strstr(got, "data-vpt-decision=\"&lt;script&gt;") != NULL);
    VPT_CHECK(strstr(got, "data-vpt-offer=\"&lt;script&gt;") != NULL);
}


VPT_TEST(html_escape_escapes_the_five_characters)
{
    char        buf[64];
    size_t      n;
    const char  *in = "a&b<c>d\"e'f";
    const char  *want = "a&amp;b&lt;c&gt;d&quot;e&#39;f";

    n = vpt_html_escape(NULL, in, strlen(in));
    VPT_CHECK(n == strlen(want));

    n = vpt_html_escape(buf, in, strlen(in));
    VPT_CHECK_STR(buf, n, want);

    VPT_CHECK(vpt_html_escape(NULL, "plain", 5) == 5);
    VPT_CHECK(vpt_html_escape(NULL, "", 0) == 0);
}


VPT_TEST(braces_that_are_not_placeholders_stay)
{
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;

    vpt_context_init(&ctx);
    ctx.device = str("mobile");
    vars_init(&vars, "d", "");

    markup_offer(&o, "x", "{a} }} {{device}}{ {{device}}}");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"d\""
                 " data-vpt-offer=\"x\">{a} }} mobile{ mobile}</div>");

    /* the catalog rejects these; rendering them must still be safe */
    markup_offer(&o, "x", "a {{device");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"d\""
                 " data-vpt-offer=\"x\">a {{device</div>");

    markup_offer(&o, "x", "[{{nope}}]");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"d\""
                 " data-vpt-offer=\"x\">[]</div>");

    markup_offer(&o, "x", "");
    CHECK_RENDER(&o, &ctx, &vars,
                 "<div class=\"vpt-offer\" data-vpt-decision=\"d\""
                 " data-vpt-offer=\"x\"></div>");
}


VPT_TEST(check_names_unknown_and_unclosed_placeholders)
{
    char  err[VPT_ERRLEN];

    VPT_CHECK(vpt_render_check(str("<p>{{user.id}} {{features.age_band}}"
                                   " {{beacon}}</p>"), err, sizeof(err))
              == VPT_OK);
    VPT_CHECK(vpt_render_check(str("no placeholders { } }}"), err,
                               sizeof(err)) == VPT_OK);

    VPT_CHECK(vpt_render_check(str("<p>{{user.name}}</p>"), err,
                               sizeof(err)) == VPT_ERROR);
    VPT_CHECK(strcmp(err, "unknown placeholder \"{{user.name}}\"") == 0);

    VPT_CHECK(vpt_render_check(str("{{ device }}"), err, sizeof(err))
              == VPT_ERROR);
    VPT_CHECK(strcmp(err, "unknown placeholder \"{{ device }}\"") == 0);

    VPT_CHECK(vpt_render_check(str("{{features.}}"), err, sizeof(err))
              == VPT_ERROR);
    VPT_CHECK(vpt_render_check(str("{{features.a b}}"), err, sizeof(err))
              == VPT_ERROR);
    VPT_CHECK(vpt_render_check(str("{{}}"), err, sizeof(err)) == VPT_ERROR);
    VPT_CHECK(strcmp(err, "unknown placeholder \"{{}}\"") == 0);

    VPT_CHECK(vpt_render_check(str("<p>{{device}} {{device</p>"), err,
                               sizeof(err)) == VPT_ERROR);
    VPT_CHECK(strcmp(err, "unclosed \"{{\" at byte 14") == 0);
}


/* random strings with every character that needs escaping */
static uint64_t  rng = 7;

static void
random_str(char *buf, size_t max, vpt_str_t *v)
{
    static const char  chars[] = "ab<>&\"' {}%=.\xc3\xa9";
    size_t             i, n;

    n = (size_t) (vpt_rand_unit(&rng) * (double) max);

    for (i = 0; i < n; i++) {
        buf[i] = chars[(size_t) (vpt_rand_unit(&rng)
                                 * (double) (sizeof(chars) - 1))];
    }

    v->data = buf;
    v->len = n;
}


VPT_TEST(render_size_is_exact_for_any_context)
{
    char               *buf, markup[1024], s[16][32], *p;
    size_t              round, i, size, n, bad;
    vpt_str_t           text;
    vpt_offer_t         o;
    vpt_context_t       ctx;
    vpt_render_vars_t   vars;

    static const char  *names[] = {
        "decision", "offer", "experiment", "beacon", "user.id",
        "user.orders", "device", "referrer", "country", "intent",
        "order.id", "order.total", "order.currency", "features.a",
        "features.b", "nope", "{", "}"
    };

    bad = 0;

    for (round = 0; round < 2000; round++) {
        vpt_context_init(&ctx);
        random_str(s[0], 32, &ctx.user_id);
        random_str(s[1], 32, &ctx.device);
        random_str(s[2], 32, &ctx.referrer);
        random_str(s[3], 32, &ctx.country);
        random_str(s[4], 32, &ctx.intent);
        random_str(s[5], 32, &ctx.order_id);
        random_str(s[6], 32, &ctx.order_currency);
        ctx.orders = (vpt_rand_unit(&rng) < 0.2) ? -1
                     : floor(vpt_rand_unit(&rng) * 1e4) / 8;
        ctx.order_total = (vpt_rand_unit(&rng) < 0.2) ? -1
                          : vpt_rand_unit(&rng) * 1e7;
        ctx.nfeatures = 2;
        ctx.features[0].name = str("a");
        random_str(s[7], 32, &ctx.features[0].str);
        ctx.features[1].name = str("b");
        ctx.features[1].num = (vpt_rand_unit(&rng) - 0.5) * 1e5;
        ctx.features[1].is_num = 1;

        memset(&vars, 0, sizeof(vars));
        random_str(s[8], 32, &vars.decision);
        random_str(s[9], 32, &vars.experiment);
        random_str(s[12], 32, &vars.signature);

        p = markup;

        for (i = 0; i < 12; i++) {
            random_str(s[10], 16, &text);
            memcpy(p, text.data, text.len);
            p += text.len;
            p += sprintf(p, "{{%s}}", names[(size_t) (vpt_rand_unit(&rng)
                                     * (sizeof(names) / sizeof(names[0])))]);
        }

        memset(&o, 0, sizeof(o));
        random_str(s[11], 32, &o.id);
        o.markup.data = markup;
        o.markup.len = (size_t) (p - markup);

        size = vpt_render_size(&o, &ctx, &vars);

        /* exactly size bytes: ASan reports any write past them */
        buf = malloc(size ? size : 1);
        n = vpt_render(buf, &o, &ctx, &vars);
        bad += (n != size);
        bad += (n > vpt_render_max(&o, &vars));
        free(buf);
    }

    VPT_CHECK_MSG(bad == 0, "%zu sizes differ", bad);
}


/*
 * The bound a render buffer is sized by, at its tightest: 256-byte values
 * (the longest shown) of bytes each escaped to six in HTML, in a script
 * string and in a URL, and a beacon of long ids needing %XX throughout
 */
VPT_TEST(render_bound_holds_for_the_longest_values)
{
    char               quotes[256], ctl[256], id[200], sig[200];
    size_t             k, n, max;
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;
    unsigned char      esc[8];

    static const char  *markups[] = {
        "<p title=\"{{user.id}}\">{{intent}}{{device}}</p>",
        "<script>var a = \"{{user.id}}{{intent}}\";</script>",
        "<a href=\"https://x.test/?q={{user.id}}&b={{beacon}}\">x</a>",
        "<a href=\"/vpt/accept?{{beacon}}\">{{beacon}}</a>",
        "<script>var b = \"{{beacon}}\";</script>"
    };

    memset(quotes, '"', sizeof(quotes));
    memset(ctl, '\x01', sizeof(ctl));
    memset(id, ' ', sizeof(id));
    memset(sig, '/', sizeof(sig));

    vpt_context_init(&ctx);
    ctx.user_id.data = quotes;
    ctx.user_id.len = sizeof(quotes);
    ctx.intent.data = ctl;
    ctx.intent.len = sizeof(ctl);
    ctx.device.data = quotes;
    ctx.device.len = sizeof(quotes);

    vars.decision.data = id;
    vars.decision.len = sizeof(id);
    vars.experiment.data = id;
    vars.experiment.len = sizeof(id);
    vars.signature.data = sig;
    vars.signature.len = sizeof(sig);
    vars.placement.data = id;
    vars.placement.len = sizeof(id);
    vars.preview = 1;

    for (k = 0; k < sizeof(markups) / sizeof(markups[0]); k++) {
        markup_offer(&o, "o1", markups[k]);
        o.id.data = id;
        o.id.len = sizeof(id);

        /* as the catalog loads it, and as rendered without its escapes */
        max = vpt_render_max(&o, &vars);
        n = vpt_render_size(&o, &ctx, &vars);
        VPT_CHECK_MSG(n <= max, "markup %zu: %zu bytes, bound %zu", k, n,
                      max);

        o.nescapes = vpt_render_placeholders(o.markup);
        VPT_CHECK(o.nescapes <= sizeof(esc));
        VPT_CHECK(vpt_render_escapes(o.markup, esc, o.nescapes, NULL, 0)
                  == VPT_OK);
        o.escapes = esc;

        max = vpt_render_max(&o, &vars);
        n = vpt_render_size(&o, &ctx, &vars);
        VPT_CHECK_MSG(n <= max, "markup %zu: %zu bytes, bound %zu", k, n,
                      max);
        VPT_CHECK_MSG(n > 256, "markup %zu: %zu bytes", k, n);
    }
}


VPT_TEST(demo_catalog_markup_renders_with_its_beacon)
{
    char                err[VPT_ERRLEN];
    size_t              i;
    const char         *got;
    vpt_catalog_t      *c;
    vpt_context_t       ctx;
    vpt_render_vars_t   vars;

    c = vpt_catalog_load("conf.d/catalog.json", err, sizeof(err));
    VPT_CHECK_MSG(c != NULL, "%s", err);
    if (c == NULL) {
        return;
    }

    vpt_context_init(&ctx);
    ctx.order_id = str("A-1001");
    vars_init(&vars, "7f3a9c01e2", "spring");

    for (i = 0; i < c->n; i++) {
        VPT_CHECK(vpt_render_check(c->offers[i].markup, err, sizeof(err))
                  == VPT_OK);

        got = render(&c->offers[i], &ctx, &vars);
        VPT_CHECK(strstr(got, "{{") == NULL);
        VPT_CHECK(strstr(got, "/vpt/accept?d=7f3a9c01e2&amp;o=") != NULL);
        VPT_CHECK(strstr(got, "&amp;x=spring\"") != NULL);
    }

    vpt_catalog_free(c);
}


int
main(void)
{
    VPT_RUN(markup_is_wrapped_with_the_decision_and_offer);
    VPT_RUN(every_placeholder_is_filled_from_the_context);
    VPT_RUN(unknown_values_render_empty);
    VPT_RUN(context_strings_longer_than_256_bytes_render_empty);
    VPT_RUN(beacon_is_an_escaped_query_string);
    VPT_RUN(numbers_are_formatted_without_the_locale);
    VPT_RUN(context_values_never_appear_unescaped);
    VPT_RUN(html_escape_escapes_the_five_characters);
    VPT_RUN(braces_that_are_not_placeholders_stay);
    VPT_RUN(check_names_unknown_and_unclosed_placeholders);
    VPT_RUN(render_size_is_exact_for_any_context);
    VPT_RUN(render_bound_holds_for_the_longest_values);
    VPT_RUN(demo_catalog_markup_renders_with_its_beacon);

    return VPT_DONE();
}
