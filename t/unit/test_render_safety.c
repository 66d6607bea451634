/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Markup safety: where a placeholder sits in the HTML decides how its
 * value is escaped, or that the catalog is refused; markup must close all
 * it opens.  Each case renders twice, with the escapes the catalog learns
 * at load and with none (learned at render), and both must agree.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_fixture.h"
#include "vpt_html.h"
#include "vpt_render.h"
#include "vpt_render_ctx.h"


#define WRAP_OPEN  "<div class=\"vpt-offer\" data-vpt-decision=\"7f3a\"" \
                   " data-vpt-offer=\"o1\">"


static char  out[65536];
static char  out2[65536];


/* a shopper whose every string is value, and features.link too */
static void
ctx_init(vpt_context_t *ctx, const char *value)
{
    vpt_context_init(ctx);
    ctx->orders = 3;
    ctx->order_total = 12.5;
    ctx->user_id = str(value);
    ctx->intent = str(value);
    ctx->device = str(value);
    attr_str(ctx->features, &ctx->nfeatures, "link", value);
}


/*
 * The markup's inside, rendered as the catalog would (escapes learned at
 * load) into out; also rendered with no escapes, which must agree.  NULL
 * when the catalog would refuse it.
 */
static const char *
render(const char *markup, const char *value)
{
    size_t             n, size, np;
    unsigned char      esc[64];
    vpt_offer_t        o;
    vpt_context_t      ctx;
    vpt_render_vars_t  vars;

    offer_init(&o, "o1", 1, 0, 0.5);
    o.markup = str(markup);
    ctx_init(&ctx, value);
    memset(&vars, 0, sizeof(vpt_render_vars_t));
    vars.decision = str("7f3a");
    vars.experiment = str("");

    np = vpt_render_placeholders(o.markup);
    VPT_CHECK(np <= sizeof(esc));

    if (vpt_render_escapes(o.markup, esc, np, NULL, 0) != VPT_OK) {
        return NULL;
    }

    n = vpt_render(out2, &o, &ctx, &vars);
    VPT_CHECK(n == vpt_render_size(&o, &ctx, &vars));
    out2[n] = '\0';

    o.escapes = esc;
    o.nescapes = np;
    size = vpt_render_size(&o, &ctx, &vars);
    n = vpt_render(out, &o, &ctx, &vars);
    VPT_CHECK_MSG(n == size, "size %zu, wrote %zu", size, n);
    out[n] = '\0';

    VPT_CHECK_MSG(strcmp(out, out2) == 0, "learned at load \"%s\", at "
                  "render \"%s\"", out, out2);

    /* the inside of the wrapper */
    VPT_CHECK(strncmp(out, WRAP_OPEN, sizeof(WRAP_OPEN) - 1) == 0);
    VPT_CHECK(n >= sizeof(WRAP_OPEN) - 1 + 6);
    out[n - 6] = '\0';

    return out + sizeof(WRAP_OPEN) - 1;
}


#define CHECK_RENDER(markup, value, want)                                   \
    do {                                                                    \
        const char  *got_ = render(markup, value);                          \
        VPT_CHECK_MSG(got_ != NULL && strcmp(got_, want) == 0,              \
                      "%s: got \"%s\", want \"%s\"", markup,                \
                      got_ ? got_ : "(refused)", want);                     \
    } while (0)


/* refused, with a message that holds why */
#define CHECK_REFUSED(markup, why)                                          \
    do {                                                                    \
        char  err_[VPT_ERRLEN];                                             \
        err_[0] = '\0';                                                     \
        VPT_CHECK_MSG(vpt_render_check(str(markup), err_, sizeof(err_))     \
                      == VPT_ERROR && strstr(err_, why) != NULL,            \
                      "%s: \"%s\", want \"%s\"", markup, err_, why);        \
    } while (0)


VPT_TEST(the_tokenizer_states_the_walk_tells_apart_are_distinct)
{
    vpt_mctx_t  m;

    /* if vpt_html.c ever merges them, every placeholder is refused */
    vpt_mctx_init(&m, str("<p>{{user.id}}</p>"));
    VPT_CHECK(m.states_ok);
    VPT_CHECK(vpt_render_check(str("<p>{{user.id}}</p>"), NULL, 0)
              == VPT_OK);
}


VPT_TEST(text_and_quoted_attribute_values_stay_html_escaped)
{
    CHECK_RENDER("<p>{{user.id}}</p>", "<b>\"x\"&'",
                 "<p>&lt;b&gt;&quot;x&quot;&amp;&#39;</p>");
    CHECK_RENDER("<a title=\"{{user.id}}\" class='{{device}}'>x</a>",
                 "\"><img src=x onerror=alert(1)>",
                 "<a title=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\""
                 " class='&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'>"
                 "x</a>");
    CHECK_RENDER("<textarea>{{user.id}}</textarea><title>{{device}}</title>",
                 "</textarea>", "<textarea>&lt;/textarea&gt;</textarea>"
                 "<title>&lt;/textarea&gt;</title>");

    /* an attribute name after a valueless one, spaces around '=' */
    CHECK_RENDER("<input disabled title = \"{{user.id}}\">", "a b",
                 "<input disabled title = \"a b\">");
}


VPT_TEST(a_url_attribute_takes_only_http_https_mailto_or_relative_urls)
{
    static const struct {
        const char  *value;
        const char  *want;
    } cases[] = {
        { "javascript:alert(1)", "" },
        { "JavaScript:alert(1)", "" },
        { "data:text/html,<script>alert(1)</script>", "" },
        { "vbscript:msgbox", "" },
        { " javascript:alert(1)", "%20javascript:alert(1)" },
        { "java\tscript:alert(1)", "java%09script:alert(1)" },
        { "\x01javascript:alert(1)", "%01javascript:alert(1)" },
        { "https://shop.example/a?b=1&c=2#top",
          "https://shop.example/a?b=1&amp;c=2#top" },
        { "HTTP://shop.example/", "HTTP://shop.example/" },
        { "mailto:help@shop.example", "mailto:help@shop.example" },
        { "/sale/red shoes\"><b>", "/sale/red%20shoes%22%3E%3Cb%3E" },
        { "//cdn.example/x.png", "//cdn.example/x.png" },
        { "it's", "it%27s" },
        { "caf\xc3\xa9", "caf%C3%A9" },
        { "", "" },
    };
    size_t  i;
    char    want[256];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(want, sizeof(want), "<a href=\"%s\">x</a>", cases[i].want);
        CHECK_RENDER("<a href=\"{{features.link}}\">x</a>", cases[i].value,
                     want);
    }

    /* any case, any quote, spaces before the value, other URL attributes */
    CHECK_RENDER("<a HREF=' {{features.link}}'>x</a>", "javascript:x",
                 "<a HREF=' '>x</a>");
    CHECK_RENDER("<form action=\"{{features.link}}\"></form>",
                 "javascript:x", "<form action=\"\"></form>");
    CHECK_RENDER("<img src=\"{{features.link}}\">", "/a.png",
                 "<img src=\"/a.png\">");
    CHECK_RENDER("<svg><a xlink:href=\"{{features.link}}\">x</a></svg>",
                 "javascript:x", "<svg><a xlink:href=\"\">x</a></svg>");

    /* srcset: ',' separates URLs, so it is encoded */
    CHECK_RENDER("<img srcset=\"{{features.link}} 1x, /b.png 2x\">",
                 "a.png, javascript:x 2x",
                 "<img srcset=\"a.png%2C%20javascript:x%202x 1x, /b.png 2x\">");
    CHECK_RENDER("<img srcset=\"/a.png 1x, {{features.link}} 2x\">",
                 "javascript:x", "<img srcset=\"/a.png 1x,  2x\">");
    CHECK_RENDER("<img srcset=\"{{features.link}} 1x, https://b/c.png 2x\">",
                 "/a.png", "<img srcset=\"/a.png 1x, https://b/c.png 2x\">");
    CHECK_REFUSED("<img srcset=\"/a.png 1x, java{{user.id}}script:x 2x\">",
                  "scheme the value could complete");

    /* not a URL attribute: HTML escaping as before */
    CHECK_RENDER("<a data-href=\"{{features.link}}\">x</a>", "javascript:x",
                 "<a data-href=\"javascript:x\">x</a>");
}


VPT_TEST(later_in_a_url_a_value_is_percent_encoded_whole)
{
    CHECK_RENDER("<a href=\"/search?q={{intent}}&amp;n=1\">x</a>",
                 "a&b=c d#e:f/g", "<a href=\"/search?q=a%26b%3Dc%20d%23e%3Af"
                 "%2Fg&amp;n=1\">x</a>");
    CHECK_RENDER("<a href=\"https://shop.example/{{user.id}}\">x</a>",
                 "\"><script>", "<a href=\"https://shop.example/"
                 "%22%3E%3Cscript%3E\">x</a>");

    /* a value cannot finish a scheme the markup starts */
    CHECK_RENDER("<a href=\"java{{user.id}}\">x</a>", "script:alert(1)",
                 "<a href=\"javascript%3Aalert%281%29\">x</a>");
    CHECK_RENDER("<a href=\"{{user.id}}{{device}}\">x</a>",
                 "javascript:x", "<a href=\"javascript%3Ax\">x</a>");
}


VPT_TEST(a_placeholder_in_a_url_of_another_scheme_is_refused)
{
    CHECK_REFUSED("<a href=\"javascript:go('{{user.id}}')\">x</a>",
                  "\"javascript:\" URL");
    CHECK_REFUSED("<a href=\" JavaScript:{{user.id}}\">x</a>",
                  "\"javascript:\" URL");
    CHECK_REFUSED("<a href=\"data:text/html,{{user.id}}\">x</a>",
                  "\"data:\" URL");
    CHECK_REFUSED("<a href=\"javascript&#58;{{user.id}}\">x</a>",
                  "character reference");
    CHECK_REFUSED("<a href=\"java{{user.id}}script:x\">x</a>",
                  "scheme the value could complete");
    CHECK_REFUSED("<a href=\"{{user.id}}:x\">x</a>", "':' after it");
    CHECK_REFUSED("<a href=\"{{user.id}}{{device}}:x\">x</a>",
                  "':' after it");
    CHECK_REFUSED("<a href=\"{{user.id}}&#58;x\">x</a>", "':' after it");

    /* the first's is checked, not the markup's */
    VPT_CHECK(vpt_render_check(str("<a href=\"{{user.id}}/{{device}}:x\">"
                                   "</a>"), NULL, 0) == VPT_OK);
    VPT_CHECK(vpt_render_check(str("<a href=\"mailto:{{user.id}}\"></a>"),
                               NULL, 0) == VPT_OK);
}


VPT_TEST(a_value_never_chooses_where_code_or_styles_load_from)
{
    CHECK_REFUSED("<script src=\"{{features.link}}\"></script>",
                  "would choose what <script src> loads");
    CHECK_REFUSED("<script src=\"https://{{features.link}}/a.js\"></script>",
                  "would choose what <script src> loads");
    CHECK_REFUSED("<link rel=\"stylesheet\" href=\"/css/{{device}}.css\">",
                  "would choose what <link href> loads");
    CHECK_REFUSED("<base href=\"{{features.link}}\">",
                  "would choose what <base href> loads");
    CHECK_REFUSED("<IFRAME SRC=\"{{features.link}}\"></IFRAME>",
                  "would choose what <iframe src> loads");
    CHECK_REFUSED("<svg><set attributeName=\"href\" to=\"{{user.id}}\"/>"
                  "</svg>", "\"to\" of <set>, which can set an href");

    /* the query is fine, percent-encoded */
    CHECK_RENDER("<script src=\"/js/offer.js?u={{user.id}}\"></script>",
                 "a&b", "<script src=\"/js/offer.js?u=a%26b\"></script>");
}


VPT_TEST(a_script_string_takes_a_json_escaped_value)
{
    CHECK_RENDER("<script>var u = '{{user.id}}';</script>", "u-1\\",
                 "<script>var u = 'u-1\\\\';</script>");
    CHECK_RENDER("<script>var u = \"{{user.id}}\";</script>",
                 "';alert(1)//\"", "<script>var u = \"\\u0027;alert(1)//"
                 "\\u0022\";</script>");
    CHECK_RENDER("<script>var u = '{{user.id}}';</script>",
                 "</script><script>alert(1)</script><!--",
                 "<script>var u = '\\u003c/script\\u003e\\u003cscript"
                 "\\u003ealert(1)\\u003c/script\\u003e\\u003c!--';</script>");
    CHECK_RENDER("<script>var u = '{{user.id}}';</script>",
                 "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\n&`",
                 "<script>var u = 'a\\u2028b\\u2029c\\u000a\\u0026\\u0060';"
                 "</script>");
    CHECK_RENDER("<script type=\"application/ld+json\">{\"id\": "
                 "\"{{user.id}}\", \"n\": \"{{user.orders}}\"}</script>",
                 "x\"y", "<script type=\"application/ld+json\">{\"id\": "
                 "\"x\\u0022y\", \"n\": \"3\"}</script>");

    /* regular expressions and divisions told apart, comments skipped */
    CHECK_RENDER("<script>var r = /'/g, h = a / 2, s = '{{user.id}}';"
                 "</script>", "x", "<script>var r = /'/g, h = a / 2, "
                 "s = 'x';</script>");
    CHECK_RENDER("<script>if (a) return /[/']/.test(b) ? \"{{user.id}}\""
                 " : ''; // it's\n/* it's */ x = '{{device}}'</script>",
                 "'", "<script>if (a) return /[/']/.test(b) ? \"\\u0027\""
                 " : ''; // it's\n/* it's */ x = '\\u0027'</script>");
}


VPT_TEST(the_beacon_renders_for_where_it_is)
{
    CHECK_RENDER("<a href=\"/vpt/accept?{{beacon}}\">x</a>", "",
                 "<a href=\"/vpt/accept?d=7f3a&amp;o=o1\">x</a>");
    CHECK_RENDER("<a href=\"{{beacon}}\">x</a>", "",
                 "<a href=\"d=7f3a&amp;o=o1\">x</a>");
    CHECK_RENDER("<p>{{beacon}}</p>", "", "<p>d=7f3a&amp;o=o1</p>");
    CHECK_RENDER("<script>navigator.sendBeacon('/vpt/accept?{{beacon}}');"
                 "</script>", "", "<script>navigator.sendBeacon("
                 "'/vpt/accept?d=7f3a\\u0026o=o1');</script>");
    CHECK_REFUSED("<script>var b = {{beacon}};</script>",
                  "outside a string");
    CHECK_REFUSED("<a onclick=\"go('{{beacon}}')\">x</a>", "event handler");
}


VPT_TEST(a_script_outside_a_string_is_refused)
{
    CHECK_REFUSED("<script>var n = {{user.orders}};</script>",
                  "<script> outside a string");
    CHECK_REFUSED("<script>var n = `{{user.id}}`;</script>",
                  "template literal");
    CHECK_REFUSED("<script>// {{user.id}}\n</script>",
                  "JavaScript comment");
    CHECK_REFUSED("<script>/* '{{user.id}}' */</script>",
                  "JavaScript comment");
    CHECK_REFUSED("<script>var r = /{{user.id}}/;</script>",
                  "regular expression");
    CHECK_REFUSED("<script>var s = '\\{{user.id}}';</script>",
                  "after a backslash");
    CHECK_REFUSED("<script><!-- var s = '{{user.id}}'; --></script>",
                  "escape");
    CHECK_REFUSED("<script>var s = '</{{user.id}}';</script>",
                  "after a \"<\"");

    /* a string closed before it */
    CHECK_REFUSED("<script>var s = 'a' + {{user.id}};</script>",
                  "outside a string");
    CHECK_REFUSED("<script>var s = 'a\\'' + {{user.id}};</script>",
                  "outside a string");
}


VPT_TEST(css_event_handlers_comments_and_names_are_refused)
{
    CHECK_REFUSED("<a onclick=\"track('{{user.id}}')\">x</a>",
                  "event handler attribute \"onclick\"");
    CHECK_REFUSED("<a OnMouseOver='{{user.id}}'>x</a>",
                  "event handler attribute \"OnMouseOver\"");
    CHECK_REFUSED("<a on\"x='{{user.id}}'>x</a>",
                  "event handler attribute \"on?x\"");
    CHECK_REFUSED("<p style=\"color: {{features.link}}\">x</p>",
                  "\"style\", which is CSS");
    CHECK_REFUSED("<iframe srcdoc=\"{{user.id}}\"></iframe>",
                  "\"srcdoc\", which is HTML");
    CHECK_REFUSED("<style>.x { color: {{device}} }</style>", "<style>");
    CHECK_REFUSED("<xmp>{{device}}</xmp>", "<xmp>");
    CHECK_REFUSED("<p><!-- {{user.id}} --></p>", "HTML comment");
    CHECK_REFUSED("<!DOCTYPE {{user.id}}>", "declaration");
    CHECK_REFUSED("<{{device}}>x", "tag's name");
    CHECK_REFUSED("<p{{device}}>x</p>", "tag's name");
    CHECK_REFUSED("</{{device}}>", "tag's name");
    CHECK_REFUSED("<p {{device}}>x</p>", "attribute name");
    CHECK_REFUSED("<p a{{device}}=\"1\">x</p>", "attribute name");
    CHECK_REFUSED("<p title={{device}}>x</p>", "unquoted attribute value");
    CHECK_REFUSED("<p title=a{{device}}>x</p>", "unquoted attribute value");
    CHECK_REFUSED("<textarea><{{device}}</textarea>", "after a \"<\"");

    /* the message names the placeholder and where it is */
    CHECK_REFUSED("<p>ok</p><a onclick=\"{{user.id}}\">x</a>",
                  "\"{{user.id}}\" at byte 21 is in the event handler");
}


VPT_TEST(markup_that_leaves_anything_open_is_refused)
{
    CHECK_REFUSED("<p>Thanks!</p><!-- tracking pixel below",
                  "leaves a comment open (\"<!-- tracking pixel below\" "
                  "at byte 14)");
    CHECK_REFUSED("<p>Thanks!</p><!-- tracking pixel below and more and "
                  "more and more",
                  "(\"<!-- tracking pixel below and more and more and ...\" "
                  "at byte 14)");
    CHECK_REFUSED("<script>var a = 1;", "leaves <script> open");
    CHECK_REFUSED("<textarea>Tell us", "leaves <textarea> open");
    CHECK_REFUSED("<title>x", "leaves <title> open");
    CHECK_REFUSED("<style>p{}", "leaves <style> open");
    CHECK_REFUSED("<plaintext>x", "leaves <plaintext> open");
    CHECK_REFUSED("<a href=\"/x>y</a>", "leaves an attribute value open");
    CHECK_REFUSED("<a href='/x>y</a>", "leaves an attribute value open");
    CHECK_REFUSED("<a href=\"/x\"", "leaves a tag or declaration open");
    CHECK_REFUSED("<p>a <b", "leaves a tag or declaration open");
    CHECK_REFUSED("<!DOCTYPE html", "leaves a tag or declaration open");
    CHECK_REFUSED("<script>a = '</script'", "leaves <script> open");
    CHECK_REFUSED("<p>{{user.id}}</p><!--", "leaves a comment open");

    /* what closes is fine */
    VPT_CHECK(vpt_render_check(str("<!-- c --><script>a = '<' + 1;</script>"
                                   "<textarea>{{user.id}}</textarea>"
                                   "<p title=\"a>b\">1 < 2</p>"), NULL, 0)
              == VPT_OK);
    VPT_CHECK(vpt_render_check(str("<script>\n<!--\nx();\n-->\n</script>"),
                               NULL, 0) == VPT_OK);
}


VPT_TEST(the_catalog_names_file_offer_field_and_reason)
{
    char            err[VPT_ERRLEN];
    vpt_catalog_t  *c;

    static const char  json[] =
        "{\"version\": \"v\", \"offers\": ["
        " {\"id\": \"ok\", \"kind\": \"upsell\", \"pages\": [\"cart\"],"
        "  \"markup\": \"<a href=\\\"{{features.link}}\\\">x</a>\"},"
        " {\"id\": \"pixel\", \"kind\": \"upsell\", \"pages\": [\"cart\"],"
        "  \"markup\": \"<p>Hi</p><!-- tracking pixel below\"}]}";

    c = vpt_catalog_parse(json, sizeof(json) - 1, "shop.json", err,
                          sizeof(err));
    VPT_CHECK(c == NULL);
    VPT_CHECK_MSG(strstr(err, "catalog \"shop.json\": offer #1 (\"pixel\"): "
                         "\"markup\": leaves a comment open") == err,
                  "%s", err);

    /* an accepted catalog carries the escapes it learned */
    c = vpt_catalog_parse(json, strstr(json, ", {\"id\": \"pixel\"") - json,
                          "shop.json", err, sizeof(err));
    VPT_CHECK(c == NULL);   /* cut JSON: a syntax error */

    {
        static const char  ok[] =
            "{\"version\": \"v\", \"offers\": ["
            " {\"id\": \"ok\", \"kind\": \"upsell\", \"pages\": [\"cart\"],"
            "  \"markup\": \"<a href=\\\"{{features.link}}\\\">{{user.id}}"
            "</a><script>x('{{beacon}}')</script>\"},"
            " {\"id\": \"plain\", \"kind\": \"upsell\", \"pages\": [\"cart\"],"
            "  \"markup\": \"<p>no placeholder</p>\"}]}";

        c = vpt_catalog_parse(ok, sizeof(ok) - 1, "shop.json", err,
                              sizeof(err));
        VPT_CHECK_MSG(c != NULL, "%s", err);

        if (c != NULL) {
            VPT_CHECK(c->offers[0].nescapes == 3);
            VPT_CHECK(c->offers[0].escapes[0] == VPT_ESC_URL);
            VPT_CHECK(c->offers[0].escapes[1] == VPT_ESC_HTML);
            VPT_CHECK(c->offers[0].escapes[2] == VPT_ESC_JS);
            VPT_CHECK(c->offers[1].nescapes == 0);
            VPT_CHECK(c->offers[1].escapes != NULL);
            vpt_catalog_free(c);
        }
    }
}


/* bytes of set in s */
static size_t
count(const char *s, const char *set)
{
    size_t  n;

    for (n = 0; *s; s++) {
        n += (strchr(set, *s) != NULL);
    }

    return n;
}


/*
 * Markup of random fragments: whatever the catalog accepts, rendered with
 * hostile values, leaves the page's tokenizer in text, adds no '<', quote
 * or backtick to the markup's, and puts no value's scheme in a URL.
 */

static uint64_t  rng = 17;

VPT_TEST(accepted_markup_stays_safe_with_any_value)
{
    static const char  *frags[] = {
        "<p>", "</p>", "<a href=\"", "<a href='", "<img srcset=\"", "\">",
        "'>", "\"", "'", " title=\"", "<script>", "</script>", "var s = '",
        "var t = \"", "/x/", " / ", "`", "<!--", "-->", "<style>", "<textarea>",
        "</textarea>", "/search?q=", "https://x/", "javascript:", "&amp;",
        "<", ">", "=", " ", "\\", "\n", "{{user.id}}", "{{features.link}}",
        "{{beacon}}", "{{user.orders}}", "{{device}}", "onclick=\"",
        "<title>", "</title>", "//", "/*", "*/", ",", ":"
    };
    static const char  *values[] = {
        "javascript:alert(1)", "\"><script>alert(1)</script>",
        "';alert(1)//\\", "</textarea></title>-->", " onload=alert(1) ",
        "\xe2\x80\xa8", "data:text/html,x"
    };
    char        markup[512], *p;
    const char  *got;
    size_t      round, i, k, accepted, n;
    vpt_html_t  h;

    accepted = 0;

    for (round = 0; round < 20000; round++) {
        p = markup;
        n = 1 + (size_t) (vpt_rand_unit(&rng) * 14);

        for (i = 0; i < n; i++) {
            k = (size_t) (vpt_rand_unit(&rng)
                          * (sizeof(frags) / sizeof(frags[0])));
            p += sprintf(p, "%s", frags[k]);
        }

        *p = '\0';

        if (vpt_render_check(str(markup), NULL, 0) != VPT_OK
            || strstr(markup, "{{") == NULL)
        {
            continue;
        }

        accepted++;

        for (k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
            got = render(markup, values[k]);
            VPT_CHECK(got != NULL);

            if (got == NULL) {
                continue;
            }

            vpt_html_init(&h);
            vpt_html_scan(&h, (const unsigned char *) got, strlen(got));
            VPT_CHECK_MSG(vpt_html_in_data(&h, 'a'), "%s -> %s", markup,
                          got);
            VPT_CHECK_MSG(count(got, "<\"'`") == count(markup, "<\"'`"),
                          "%s -> %s", markup, got);
            /* (raw text may show "href=" as text) */
            VPT_CHECK_MSG(strstr(markup, "javascript:") != NULL
                          || strstr(markup, "<t") != NULL
                          || strstr(markup, "<s") != NULL
                          || (strstr(got, "href=\"javascript:") == NULL
                              && strstr(got, "href='javascript:") == NULL
                              && strstr(got, "srcset=\"javascript:") == NULL
                              && strstr(got, "href=\"data:") == NULL
                              && strstr(got, "href='data:") == NULL),
                          "%s -> %s", markup, got);
        }
    }

    VPT_CHECK_MSG(accepted > 200, "only %zu accepted", accepted);
}


int
main(void)
{
    VPT_RUN(the_tokenizer_states_the_walk_tells_apart_are_distinct);
    VPT_RUN(text_and_quoted_attribute_values_stay_html_escaped);
    VPT_RUN(a_url_attribute_takes_only_http_https_mailto_or_relative_urls);
    VPT_RUN(later_in_a_url_a_value_is_percent_encoded_whole);
    VPT_RUN(a_placeholder_in_a_url_of_another_scheme_is_refused);
    VPT_RUN(a_value_never_chooses_where_code_or_styles_load_from);
    VPT_RUN(a_script_string_takes_a_json_escaped_value);
    VPT_RUN(the_beacon_renders_for_where_it_is);
    VPT_RUN(a_script_outside_a_string_is_refused);
    VPT_RUN(css_event_handlers_comments_and_names_are_refused);
    VPT_RUN(markup_that_leaves_anything_open_is_refused);
    VPT_RUN(the_catalog_names_file_offer_field_and_reason);
    VPT_RUN(accepted_markup_stays_safe_with_any_value);

    return VPT_DONE();
}
