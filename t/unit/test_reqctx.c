/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The request context: device classes of real-world User-Agent strings
 * (phones, tablets, the iPad in desktop mode, desktops, crawlers, tools),
 * referrer classes by host lists (built in and the operator's), the
 * country, and how a Redis context's own fields win.  Every string is
 * classified from an exact-size heap copy, so ASan sees a read past its
 * end.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_reqctx.h"


typedef struct {
    vpt_device_e   want;
    const char    *ua;
} ua_case_t;


static const ua_case_t  ua_cases[] = {

    /* phones */
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac "
      "OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 "
      "Mobile/15E148 Safari/604.1" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS "
      "X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 "
      "Mobile/15E148 Safari/604.1" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/"
      "537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (Linux; Android 13; SM-S918B) "
      "AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 "
      "Chrome/115.0.0.0 Mobile Safari/537.36" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (Android 14; Mobile; rv:121.0) "
      "Gecko/121.0 Firefox/121.0" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS "
      "X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
      "[FBAN/FBIOS;FBAV/436.0.0.28.114;FBBV/540003470;FBDV/iPhone14,5;"
      "FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]" },
    { VPT_DEVICE_MOBILE, "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; "
      "Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (Linux; Android 11; CUBOT_X30) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.45 Mobile "
      "Safari/537.36" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-"
      "130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; "
      "Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977" },
    { VPT_DEVICE_MOBILE, "Mozilla/5.0 (BB10; Touch) AppleWebKit/537.35+ "
      "(KHTML, like Gecko) Version/10.3.3.3216 Mobile Safari/537.35+" },

    /* tablets */
    { VPT_DEVICE_TABLET, "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) "
      "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 "
      "Safari/604.1" },
    { VPT_DEVICE_TABLET, "Mozilla/5.0 (Linux; Android 13; SM-X200) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
      "Safari/537.36" },
    { VPT_DEVICE_TABLET, "Mozilla/5.0 (Android 13; Tablet; rv:121.0) "
      "Gecko/121.0 Firefox/121.0" },
    { VPT_DEVICE_TABLET, "Mozilla/5.0 (Linux; Android 9; KFTRWI) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like "
      "Chrome/120.0.6099.230 Safari/537.36" },
    { VPT_DEVICE_TABLET, "Mozilla/5.0 (Linux; U; en-us; KFAPWI Build/JDQ39) "
      "AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.13 Safari/535.19 "
      "Silk-Accelerated=true" },

    /*
     * the caveat: an iPad in Safari's default "desktop website" mode sends
     * a Mac's User-Agent, byte for byte
     */
    { VPT_DEVICE_DESKTOP, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
      "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
      "Safari/605.1.15" },

    /* desktops */
    { VPT_DEVICE_DESKTOP, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
      "Safari/537.36" },
    { VPT_DEVICE_DESKTOP, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
      "Safari/537.36 Edg/120.0.0.0" },
    { VPT_DEVICE_DESKTOP, "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) "
      "Gecko/20100101 Firefox/121.0" },
    { VPT_DEVICE_DESKTOP, "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
      "Safari/537.36" },
    { VPT_DEVICE_DESKTOP, "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; "
      "SLCC2; .NET CLR 2.0.50727; Tablet PC 2.0; rv:11.0) like Gecko" },
    { VPT_DEVICE_DESKTOP, "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 "
      "Version/12.18" },
    { VPT_DEVICE_DESKTOP, "MOZILLA/5.0 (WINDOWS NT 10.0) FIREFOX/121.0" },

    /* crawlers, previews, tools, apps' own HTTP clients */
    { VPT_DEVICE_BOT, "" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (compatible; Googlebot/2.1; "
      "+http://www.google.com/bot.html)" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X "
      "Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
      "+http://www.google.com/bot.html)" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (compatible; bingbot/2.0; "
      "+http://www.bing.com/bingbot.htm)" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (compatible; Yahoo! Slurp; "
      "http://help.yahoo.com/help/us/ysearch/slurp)" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (compatible; Baiduspider/2.0; "
      "+http://www.baidu.com/search/spider.html)" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (compatible; YandexBot/3.0; "
      "+http://yandex.com/bots)" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; "
      "compatible; GPTBot/1.0; +https://openai.com/gptbot)" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (compatible; AhrefsBot/7.0; "
      "+http://ahrefs.com/robot/)" },
    { VPT_DEVICE_BOT, "Screaming Frog SEO Spider/19.4" },
    { VPT_DEVICE_BOT, "facebookexternalhit/1.1 "
      "(+http://www.facebook.com/externalhit_uatext.php)" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) HeadlessChrome/120.0.6099.28 Safari/537.36" },
    { VPT_DEVICE_BOT, "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile "
      "Safari/537.36 Chrome-Lighthouse" },
    { VPT_DEVICE_BOT, "curl/8.4.0" },
    { VPT_DEVICE_BOT, "Wget/1.21.3" },
    { VPT_DEVICE_BOT, "python-requests/2.31.0" },
    { VPT_DEVICE_BOT, "Python-urllib/3.11" },
    { VPT_DEVICE_BOT, "Go-http-client/1.1" },
    { VPT_DEVICE_BOT, "Java/17.0.2" },
    { VPT_DEVICE_BOT, "okhttp/4.12.0" },
    { VPT_DEVICE_BOT, "Apache-HttpClient/4.5.14 (Java/17.0.8)" },
    { VPT_DEVICE_BOT, "Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 "
      "Build/TQ3A.230805.001)" },
    { VPT_DEVICE_BOT, "WhatsApp/2.23.20.0" },
    { VPT_DEVICE_BOT, "MyShopApp/3.2 CFNetwork/1474 Darwin/23.0.0" },
    { VPT_DEVICE_BOT, "-" }
};


static vpt_device_e
device(const char *ua, size_t len)
{
    char          *copy;
    vpt_device_e   d;

    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, ua, len);
    d = vpt_reqctx_device(copy, len);
    free(copy);

    return d;
}


static vpt_referrer_e
referrer(const vpt_ref_hosts_t *h, const char *ref, const char *self)
{
    char            *a, *b;
    size_t           la, lb;
    vpt_referrer_e   r;

    la = strlen(ref);
    lb = self ? strlen(self) : 0;
    a = malloc(la ? la : 1);
    b = malloc(lb ? lb : 1);

    if (a == NULL || b == NULL) {
        abort();
    }

    memcpy(a, ref, la);
    memcpy(b, self ? self : "", lb);
    r = vpt_reqctx_referrer(h, a, la, b, lb);
    free(a);
    free(b);

    return r;
}


VPT_TEST(real_user_agents_get_their_device_class)
{
    size_t        i;
    vpt_device_e  d;

    for (i = 0; i < sizeof(ua_cases) / sizeof(ua_cases[0]); i++) {
        d = device(ua_cases[i].ua, strlen(ua_cases[i].ua));

        VPT_CHECK_MSG(d == ua_cases[i].want, "\"%.60s\": %s, want %s",
                      ua_cases[i].ua, vpt_device_name(d),
                      vpt_device_name(ua_cases[i].want));
    }
}


/*
 * Classified User-Agents are kept for the same bytes only: every case
 * again, in both orders, after the others have filled the slots, and
 * each cut short by a byte (a prefix is another string)
 */
VPT_TEST(a_user_agent_seen_before_gets_the_same_class)
{
    size_t        i, k, n, len;
    vpt_device_e  d;

    n = sizeof(ua_cases) / sizeof(ua_cases[0]);

    for (k = 0; k < 2 * n; k++) {
        i = (k < n) ? k : 2 * n - 1 - k;
        d = device(ua_cases[i].ua, strlen(ua_cases[i].ua));

        VPT_CHECK_MSG(d == ua_cases[i].want, "\"%.60s\": %s, want %s",
                      ua_cases[i].ua, vpt_device_name(d),
                      vpt_device_name(ua_cases[i].want));
    }

    /* "...Googlebot/2.1" cut to "...Googlebo" is no bot */
    for (i = 0; i < n; i++) {
        len = strlen(ua_cases[i].ua);

        if (len < 2) {
            continue;
        }

        (void) device(ua_cases[i].ua, len);
        d = device(ua_cases[i].ua, len - 1);

        VPT_CHECK_MSG(d == vpt_reqctx_device_scan(ua_cases[i].ua, len - 1),
                      "\"%.60s\" less its last byte: %s", ua_cases[i].ua,
                      vpt_device_name(d));
    }
}


VPT_TEST(only_the_first_512_bytes_of_a_user_agent_are_read)
{
    char    ua[2048];
    size_t  n;

    n = (size_t) snprintf(ua, sizeof(ua), "Mozilla/5.0 (Windows NT 10.0) ");
    memset(ua + n, 'x', sizeof(ua) - n);

    /* a bot token past the bound is not seen */
    memcpy(ua + 1000, "Googlebot", 9);
    VPT_CHECK(device(ua, sizeof(ua)) == VPT_DEVICE_DESKTOP);

    /* a token across the bound is not seen either, one before it is */
    memcpy(ua + VPT_REQCTX_UA_MAX - 2, "bot", 3);
    VPT_CHECK(device(ua, sizeof(ua)) == VPT_DEVICE_DESKTOP);
    memcpy(ua + VPT_REQCTX_UA_MAX - 3, "bot", 3);
    VPT_CHECK(device(ua, sizeof(ua)) == VPT_DEVICE_BOT);
}


VPT_TEST(device_and_referrer_names)
{
    VPT_CHECK(strcmp(vpt_device_name(VPT_DEVICE_TABLET), "tablet") == 0);
    VPT_CHECK(strcmp(vpt_device_name(VPT_DEVICE_BOT), "bot") == 0);
    VPT_CHECK(vpt_device_name(VPT_DEVICE_UNKNOWN) == NULL);
    VPT_CHECK(vpt_device_name(VPT_DEVICE_N) == NULL);

    VPT_CHECK(strcmp(vpt_referrer_name(VPT_REF_EMAIL), "email") == 0);
    VPT_CHECK(vpt_referrer_parse("social", 6) == VPT_REF_SOCIAL);
    VPT_CHECK(vpt_referrer_parse("internal", 8) == VPT_REF_INTERNAL);
    VPT_CHECK(vpt_referrer_parse("Social", 6) == VPT_REF_UNKNOWN);
    VPT_CHECK(vpt_referrer_parse("soc", 3) == VPT_REF_UNKNOWN);
}


VPT_TEST(referrers_by_built_in_host_lists)
{
    vpt_ref_hosts_t  *h;

    h = vpt_ref_hosts_create();
    VPT_CHECK(h != NULL);

    VPT_CHECK(referrer(h, "", NULL) == VPT_REF_DIRECT);
    VPT_CHECK(referrer(h, "  ", NULL) == VPT_REF_DIRECT);

    VPT_CHECK(referrer(h, "https://www.google.com/", NULL) == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "https://google.de/search?q=x", NULL)
              == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "https://www.google.co.uk/", NULL)
              == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "https://google.com.br", NULL) == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "https://user:pw@WWW.GOOGLE.COM.:443/x", NULL)
              == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "https://www.bing.com/search?q=dress", NULL)
              == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "https://duckduckgo.com/", NULL) == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "android-app://com.google.android."
                       "googlequicksearchbox/https/www.google.com", NULL)
              == VPT_REF_SEARCH);

    /* labels, not bytes: no "google" inside another name */
    VPT_CHECK(referrer(h, "https://notgoogle.com/", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://google.evil.com/", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://googleusercontent.com/", NULL)
              == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://docs.google.com/x", NULL)
              == VPT_REF_OTHER);

    /* the most specific entry: Gmail is email though google.* is search */
    VPT_CHECK(referrer(h, "https://mail.google.com/mail/u/0/", NULL)
              == VPT_REF_EMAIL);
    VPT_CHECK(referrer(h, "https://mail.yahoo.com/", NULL) == VPT_REF_EMAIL);
    VPT_CHECK(referrer(h, "https://search.yahoo.co.jp/", NULL)
              == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "android-app://com.google.android.gm/", NULL)
              == VPT_REF_EMAIL);
    VPT_CHECK(referrer(h, "https://outlook.live.com/mail/0/", NULL)
              == VPT_REF_EMAIL);
    VPT_CHECK(referrer(h, "https://www.gmx.net/", NULL) == VPT_REF_EMAIL);
    VPT_CHECK(referrer(h, "https://gmail.com/", NULL) == VPT_REF_OTHER);

    VPT_CHECK(referrer(h, "https://l.facebook.com/l.php?u=x", NULL)
              == VPT_REF_SOCIAL);
    VPT_CHECK(referrer(h, "https://m.facebook.com/", NULL) == VPT_REF_SOCIAL);
    VPT_CHECK(referrer(h, "https://t.co/abc", NULL) == VPT_REF_SOCIAL);
    VPT_CHECK(referrer(h, "https://www.pinterest.de/pin/1", NULL)
              == VPT_REF_SOCIAL);
    VPT_CHECK(referrer(h, "https://www.linkedin.com/feed/", NULL)
              == VPT_REF_SOCIAL);

    /* not an absolute URL, or no host we can read */
    VPT_CHECK(referrer(h, "not a url", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "//www.google.com/", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https:///path", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "http://[::1]/", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://www..google.com/", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://www.goo%67le.com/", NULL)
              == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://192.0.2.1/", NULL) == VPT_REF_OTHER);

    /* no lists at all: every host is other */
    VPT_CHECK(referrer(NULL, "https://www.google.com/", NULL)
              == VPT_REF_OTHER);
    VPT_CHECK(referrer(NULL, "", NULL) == VPT_REF_DIRECT);

    vpt_ref_hosts_free(h);
}


VPT_TEST(the_shops_own_pages_are_internal)
{
    vpt_ref_hosts_t  *h;

    h = vpt_ref_hosts_create();

    VPT_CHECK(referrer(h, "https://shop.example/checkout", "shop.example")
              == VPT_REF_INTERNAL);
    VPT_CHECK(referrer(h, "https://shop.example/cart", "www.Shop.Example:8080")
              == VPT_REF_INTERNAL);
    VPT_CHECK(referrer(h, "https://www.shop.example/", "shop.example")
              == VPT_REF_INTERNAL);
    VPT_CHECK(referrer(h, "https://blog.shop.example/", "shop.example")
              == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://shop.example.evil/", "shop.example")
              == VPT_REF_OTHER);

    /* the shop's own host is still the shop, even when it is google.de */
    VPT_CHECK(referrer(h, "https://www.google.de/", "google.de")
              == VPT_REF_INTERNAL);

    vpt_ref_hosts_free(h);
}


VPT_TEST(operator_hosts_extend_and_override_the_built_in_lists)
{
    char              err[VPT_ERRLEN];
    vpt_ref_hosts_t  *h;

    h = vpt_ref_hosts_create();

#define ADD(cls, host)                                                       \
    vpt_ref_hosts_add(h, cls, host, strlen(host), err, sizeof(err))

    VPT_CHECK(ADD(VPT_REF_SEARCH, "Shopping-Portal.example") == VPT_OK);
    VPT_CHECK(ADD(VPT_REF_EMAIL, "*.newsletter.shop.example") == VPT_OK);
    VPT_CHECK(ADD(VPT_REF_SOCIAL, "mastodon.*") == VPT_OK);
    VPT_CHECK(ADD(VPT_REF_OTHER, "news.google.com") == VPT_OK);
    VPT_CHECK(ADD(VPT_REF_INTERNAL, "pay.example") == VPT_OK);
    VPT_CHECK(ADD(VPT_REF_SOCIAL, "t.co") == VPT_OK);
    VPT_CHECK(ADD(VPT_REF_EMAIL, "t.co") == VPT_OK);

    VPT_CHECK(referrer(h, "https://deals.shopping-portal.example/", NULL)
              == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "https://newsletter.shop.example/x", "shop.example")
              == VPT_REF_EMAIL);
    VPT_CHECK(referrer(h, "https://mastodon.de/@x", NULL) == VPT_REF_SOCIAL);
    VPT_CHECK(referrer(h, "https://news.google.com/", NULL) == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://www.google.com/", NULL) == VPT_REF_SEARCH);
    VPT_CHECK(referrer(h, "https://checkout.pay.example/", NULL)
              == VPT_REF_INTERNAL);

    /* the later entry for one host wins */
    VPT_CHECK(referrer(h, "https://t.co/x", NULL) == VPT_REF_EMAIL);

    /* the built-in "google.*" replaced by the operator's */
    VPT_CHECK(ADD(VPT_REF_SOCIAL, "google.*") == VPT_OK);
    VPT_CHECK(referrer(h, "https://www.google.com/", NULL) == VPT_REF_SOCIAL);

    VPT_CHECK(ADD(VPT_REF_SEARCH, "exa mple.com") == VPT_ERROR);
    VPT_CHECK_MSG(strstr(err, "not a host name") != NULL, "%s", err);
    VPT_CHECK(ADD(VPT_REF_SEARCH, "") == VPT_ERROR);
    VPT_CHECK(ADD(VPT_REF_SEARCH, "*.") == VPT_ERROR);
    VPT_CHECK(ADD(VPT_REF_SEARCH, "a..b") == VPT_ERROR);
    VPT_CHECK(ADD(VPT_REF_SEARCH, "foo.*.com") == VPT_ERROR);
    VPT_CHECK(ADD(VPT_REF_SEARCH, "foo.bar.*") == VPT_ERROR);
    VPT_CHECK(ADD(VPT_REF_SEARCH, "https://example.com/") == VPT_ERROR);
    VPT_CHECK(ADD(VPT_REF_DIRECT, "example.com") == VPT_ERROR);
    VPT_CHECK_MSG(strstr(err, "not one of") != NULL, "%s", err);

#undef ADD

    vpt_ref_hosts_free(h);
}


VPT_TEST(many_operator_hosts_grow_the_table)
{
    int               i;
    char              host[64], url[96], err[VPT_ERRLEN];
    vpt_ref_hosts_t  *h;

    h = vpt_ref_hosts_create();

    for (i = 0; i < 1000; i++) {
        snprintf(host, sizeof(host), "portal%d.example", i);
        VPT_CHECK(vpt_ref_hosts_add(h, VPT_REF_SEARCH, host, strlen(host),
                                    err, sizeof(err)) == VPT_OK);
    }

    for (i = 0; i < 1000; i += 37) {
        snprintf(url, sizeof(url), "https://www.portal%d.example/", i);
        VPT_CHECK(referrer(h, url, NULL) == VPT_REF_SEARCH);
    }

    VPT_CHECK(referrer(h, "https://portal1000.example/", NULL)
              == VPT_REF_OTHER);
    VPT_CHECK(referrer(h, "https://www.google.com/", NULL) == VPT_REF_SEARCH);

    vpt_ref_hosts_free(h);
}


VPT_TEST(country_is_two_letters_upper_cased)
{
    char  c[2];

    VPT_CHECK(vpt_reqctx_country("de", 2, c) == 2 && memcmp(c, "DE", 2) == 0);
    VPT_CHECK(vpt_reqctx_country("US", 2, c) == 2 && memcmp(c, "US", 2) == 0);
    VPT_CHECK(vpt_reqctx_country("DEU", 3, c) == 0);
    VPT_CHECK(vpt_reqctx_country("", 0, c) == 0);
    VPT_CHECK(vpt_reqctx_country("T1", 2, c) == 0);
    VPT_CHECK(vpt_reqctx_country("-", 1, c) == 0);
}


VPT_TEST(the_redis_context_wins_field_by_field)
{
    char               err[VPT_ERRLEN];
    vpt_tz_t          *tz;
    vpt_str_t          ua, ref, self, country;
    vpt_reqctx_t       rq;
    vpt_context_t      ctx;
    vpt_ref_hosts_t   *h;
    vpt_reqctx_conf_t  conf;

    h = vpt_ref_hosts_create();
    tz = vpt_tz_load("Europe/Berlin", NULL, err, sizeof(err));
    VPT_CHECK_MSG(tz != NULL, "%s", err);

    conf.hosts = h;
    conf.tz = tz;

    ua.data = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
    ua.len = strlen(ua.data);
    ref.data = "https://www.google.de/";
    ref.len = strlen(ref.data);
    self.data = "shop.example";
    self.len = strlen(self.data);
    country.data = "de";
    country.len = 2;

    /* Sunday 2026-03-29 00:30 UTC: 01:30 in Berlin, before DST begins */
    vpt_reqctx_build(&rq, &conf, ua, ref, self, country, 1774744200LL);

    VPT_CHECK(rq.device == VPT_DEVICE_MOBILE);
    VPT_CHECK(rq.referrer == VPT_REF_SEARCH);
    VPT_CHECK(rq.country_len == 2 && memcmp(rq.country, "DE", 2) == 0);
    VPT_CHECK(rq.local_hour == 1);
    VPT_CHECK(rq.weekday == 6);

    /* no context: everything from the request */
    vpt_context_init(&ctx);
    vpt_reqctx_apply(&rq, &ctx);
    VPT_CHECK_STR(ctx.device.data, ctx.device.len, "mobile");
    VPT_CHECK_STR(ctx.referrer.data, ctx.referrer.len, "search");
    VPT_CHECK_STR(ctx.country.data, ctx.country.len, "DE");
    VPT_CHECK(ctx.local_hour == 1);
    VPT_CHECK_STR(ctx.weekday.data, ctx.weekday.len, "sun");

    /* the shop said device and hour: those stay, the rest is filled */
    vpt_context_init(&ctx);
    ctx.device.data = "desktop";
    ctx.device.len = 7;
    ctx.local_hour = 20;
    vpt_reqctx_apply(&rq, &ctx);
    VPT_CHECK_STR(ctx.device.data, ctx.device.len, "desktop");
    VPT_CHECK(ctx.local_hour == 20);
    VPT_CHECK_STR(ctx.referrer.data, ctx.referrer.len, "search");

    /* without a zone or a country: unknown, and nothing filled */
    conf.tz = NULL;
    country.len = 0;
    vpt_reqctx_build(&rq, &conf, ua, ref, self, country, 1774744200LL);
    VPT_CHECK(rq.local_hour == -1 && rq.weekday == -1);
    VPT_CHECK(rq.country_len == 0);

    vpt_context_init(&ctx);
    vpt_reqctx_apply(&rq, &ctx);
    VPT_CHECK(ctx.local_hour == -1 && ctx.country.len == 0);
    VPT_CHECK(ctx.weekday.len == 0);

    vpt_tz_free(tz);
    vpt_ref_hosts_free(h);
}


int
main(void)
{
    VPT_RUN(real_user_agents_get_their_device_class);
    VPT_RUN(a_user_agent_seen_before_gets_the_same_class);
    VPT_RUN(only_the_first_512_bytes_of_a_user_agent_are_read);
    VPT_RUN(device_and_referrer_names);
    VPT_RUN(referrers_by_built_in_host_lists);
    VPT_RUN(the_shops_own_pages_are_internal);
    VPT_RUN(operator_hosts_extend_and_override_the_built_in_lists);
    VPT_RUN(many_operator_hosts_grow_the_table);
    VPT_RUN(country_is_two_letters_upper_cased);
    VPT_RUN(the_redis_context_wins_field_by_field);

    return VPT_DONE();
}
