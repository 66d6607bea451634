/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The request context: device from User-Agent, referrer class from
 * Referer, country, local hour and weekday (see vpt_reqctx.h).
 *
 * The User-Agent is scanned once: at each byte, only the tokens that
 * begin with that (lower-cased) byte are compared, from a table of first
 * bytes built at the first call.  The Referer's host is looked up suffix
 * by suffix in one hash table (built-in and operator entries together),
 * longest suffix first.
 *
 * Past 800 lines on purpose: most of it is the built-in token and host
 * tables, data kept beside the two scanners that read them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_reqctx.h"


/* what a User-Agent token says */
#define VPT_UA_BOT        0x01
#define VPT_UA_TABLET     0x02      /* always a tablet */
#define VPT_UA_TABLETWORD 0x04      /* "tablet": unless Windows */
#define VPT_UA_MOBILE     0x08
#define VPT_UA_ANDROID    0x10
#define VPT_UA_BROWSER    0x20
#define VPT_UA_WINDOWS    0x40

#define VPT_UA_BUCKET     12        /* tokens sharing a first byte, at most */

/*
 * 15 bits from the last three lower-cased bytes, rolled along one byte at
 * a time (the byte three back is shifted out): the filter's index.
 * Letters differ in their low five bits, so tokens rarely share one.
 */
#define VPT_UA_TRI_MASK   0x7fff
#define vpt_ua_roll(h, c)  ((((h) << 5) ^ (size_t) (c)) & VPT_UA_TRI_MASK)

/* classified User-Agents kept, and the longest kept */
#define VPT_UA_CACHE      64
#define VPT_UA_CACHE_LEN  256


typedef struct {
    const char  *s;
    uint8_t      len;
    uint8_t      what;
} vpt_ua_token_t;


/* a classified User-Agent: its bytes (len 0: none yet) and its class */
typedef struct {
    uint16_t     len;
    uint8_t      device;
    char         ua[VPT_UA_CACHE_LEN];
} vpt_ua_cached_t;


typedef struct {
    const char  *key;           /* lower case; a wildcard: its one label */
    uint16_t     len;
    uint8_t      wild;          /* "name.*" */
    uint8_t      cls;
    uint8_t      owned;         /* key was allocated by us */
    uint64_t     hash;
} vpt_ref_entry_t;


struct vpt_ref_hosts_s {
    vpt_ref_entry_t  *slots;
    size_t            cap;      /* a power of two, twice n at least */
    size_t            n;
};


typedef struct {
    uint8_t      cls;
    const char  *host;
} vpt_ref_builtin_t;


static void vpt_ua_init(void);
static int vpt_ref_add(vpt_ref_hosts_t *h, vpt_referrer_e cls,
    const char *key, size_t len, int wild, int owned);
static const vpt_ref_entry_t *vpt_ref_find(const vpt_ref_hosts_t *h,
    const char *key, size_t len, int wild);
static int vpt_ref_grow(vpt_ref_hosts_t *h);
static size_t vpt_ref_host(const char *url, size_t len, char *host);
static size_t vpt_ref_host_chars(const char *s, size_t len, char *out);
static int vpt_ref_sld(const char *s, size_t len);
static size_t vpt_ref_strip_www(const char *s, size_t len);


#define T(s, what)  { s, sizeof(s) - 1, what }

static const vpt_ua_token_t  vpt_ua_tokens[] = {
    /* crawlers, previews, monitors, tools, libraries */
    T("bot", VPT_UA_BOT), T("crawl", VPT_UA_BOT), T("spider", VPT_UA_BOT),
    T("slurp", VPT_UA_BOT), T("curl", VPT_UA_BOT), T("wget", VPT_UA_BOT),
    T("python", VPT_UA_BOT), T("aiohttp", VPT_UA_BOT),
    T("httpx", VPT_UA_BOT), T("httpclient", VPT_UA_BOT),
    T("headless", VPT_UA_BOT), T("lighthouse", VPT_UA_BOT),
    T("phantomjs", VPT_UA_BOT), T("facebookexternalhit", VPT_UA_BOT),
    T("facebookcatalog", VPT_UA_BOT), T("go-http-client", VPT_UA_BOT),
    T("java/", VPT_UA_BOT), T("libwww", VPT_UA_BOT),
    T("scrapy", VPT_UA_BOT), T("node-fetch", VPT_UA_BOT),
    T("axios/", VPT_UA_BOT), T("okhttp", VPT_UA_BOT),
    T("guzzlehttp", VPT_UA_BOT), T("postman", VPT_UA_BOT),
    T("insomnia", VPT_UA_BOT), T("powershell", VPT_UA_BOT),
    T("feedfetcher", VPT_UA_BOT), T("mediapartners", VPT_UA_BOT),
    T("google-inspectiontool", VPT_UA_BOT), T("pingdom", VPT_UA_BOT),
    T("gtmetrix", VPT_UA_BOT), T("ahrefs", VPT_UA_BOT),
    T("semrush", VPT_UA_BOT), T("ia_archiver", VPT_UA_BOT),
    T("dalvik/", VPT_UA_BOT), T("whatsapp/", VPT_UA_BOT),
    T("embedly", VPT_UA_BOT), T("statuscake", VPT_UA_BOT),
    T("datadog", VPT_UA_BOT), T("nagios", VPT_UA_BOT),
    T("zabbix", VPT_UA_BOT), T("site24x7", VPT_UA_BOT),
    T("check_http", VPT_UA_BOT),

    T("ipad", VPT_UA_TABLET), T("kindle", VPT_UA_TABLET),
    T("silk/", VPT_UA_TABLET), T("playbook", VPT_UA_TABLET),
    T("tablet", VPT_UA_TABLETWORD),

    T("iphone", VPT_UA_MOBILE), T("ipod", VPT_UA_MOBILE),
    T("mobile", VPT_UA_MOBILE), T("windows phone", VPT_UA_MOBILE),
    T("blackberry", VPT_UA_MOBILE), T("bb10", VPT_UA_MOBILE),
    T("opera mini", VPT_UA_MOBILE | VPT_UA_BROWSER),
    T("opera mobi", VPT_UA_MOBILE | VPT_UA_BROWSER),
    T("webos", VPT_UA_MOBILE), T("symbian", VPT_UA_MOBILE),
    T("nokia", VPT_UA_MOBILE), T("kaios", VPT_UA_MOBILE),

    T("android", VPT_UA_ANDROID),
    T("mozilla/", VPT_UA_BROWSER), T("opera", VPT_UA_BROWSER),
    T("windows nt", VPT_UA_WINDOWS)
};

#undef T

#define VPT_UA_NTOKENS  (sizeof(vpt_ua_tokens) / sizeof(vpt_ua_tokens[0]))


static const vpt_ref_builtin_t  vpt_ref_builtins[] = {
    { VPT_REF_SEARCH, "google.*" },
    { VPT_REF_SEARCH, "bing.com" },
    { VPT_REF_SEARCH, "yahoo.*" },
    { VPT_REF_SEARCH, "duckduckgo.com" },
    { VPT_REF_SEARCH, "baidu.com" },
    { VPT_REF_SEARCH, "yandex.*" },
    { VPT_REF_SEARCH, "ecosia.org" },
    { VPT_REF_SEARCH, "qwant.com" },
    { VPT_REF_SEARCH, "startpage.com" },
    { VPT_REF_SEARCH, "search.brave.com" },
    { VPT_REF_SEARCH, "kagi.com" },
    { VPT_REF_SEARCH, "ask.com" },
    { VPT_REF_SEARCH, "naver.com" },
    { VPT_REF_SEARCH, "seznam.cz" },
    { VPT_REF_SEARCH, "sogou.com" },
    { VPT_REF_SEARCH, "so.com" },
    { VPT_REF_SEARCH, "search.aol.com" },
    { VPT_REF_SEARCH, "com.google.android.googlequicksearchbox" },

    /* Google's hosts that are not its search */
    { VPT_REF_OTHER, "docs.google.com" },
    { VPT_REF_OTHER, "drive.google.com" },
    { VPT_REF_OTHER, "accounts.google.com" },

    { VPT_REF_SOCIAL, "facebook.com" },
    { VPT_REF_SOCIAL, "fb.com" },
    { VPT_REF_SOCIAL, "fb.me" },
    { VPT_REF_SOCIAL, "messenger.com" },
    { VPT_REF_SOCIAL, "instagram.com" },
    { VPT_REF_SOCIAL, "t.co" },
    { VPT_REF_SOCIAL, "twitter.com" },
    { VPT_REF_SOCIAL, "x.com" },
    { VPT_REF_SOCIAL, "linkedin.com" },
    { VPT_REF_SOCIAL, "lnkd.in" },
    { VPT_REF_SOCIAL, "pinterest.*" },
    { VPT_REF_SOCIAL, "reddit.com" },
    { VPT_REF_SOCIAL, "tiktok.com" },
    { VPT_REF_SOCIAL, "youtube.com" },
    { VPT_REF_SOCIAL, "youtu.be" },
    { VPT_REF_SOCIAL, "snapchat.com" },
    { VPT_REF_SOCIAL, "whatsapp.com" },
    { VPT_REF_SOCIAL, "wa.me" },
    { VPT_REF_SOCIAL, "t.me" },
    { VPT_REF_SOCIAL, "telegram.org" },
    { VPT_REF_SOCIAL, "vk.com" },
    { VPT_REF_SOCIAL, "tumblr.com" },
    { VPT_REF_SOCIAL, "threads.net" },
    { VPT_REF_SOCIAL, "bsky.app" },
    { VPT_REF_SOCIAL, "mastodon.social" },
    { VPT_REF_SOCIAL, "quora.com" },
    { VPT_REF_SOCIAL, "weibo.com" },
    { VPT_REF_SOCIAL, "discord.com" },
    { VPT_REF_SOCIAL, "com.facebook.katana" },
    { VPT_REF_SOCIAL, "com.instagram.android" },
    { VPT_REF_SOCIAL, "com.linkedin.android" },
    { VPT_REF_SOCIAL, "com.twitter.android" },
    { VPT_REF_SOCIAL, "com.pinterest" },
    { VPT_REF_SOCIAL, "com.reddit.frontpage" },
    { VPT_REF_SOCIAL, "com.zhiliaoapp.musically" },

    { VPT_REF_EMAIL, "mail.google.com" },
    { VPT_REF_EMAIL, "outlook.live.com" },
    { VPT_REF_EMAIL, "outlook.office.com" },
    { VPT_REF_EMAIL, "outlook.office365.com" },
    { VPT_REF_EMAIL, "mail.yahoo.com" },
    { VPT_REF_EMAIL, "mail.aol.com" },
    { VPT_REF_EMAIL, "mail.proton.me" },
    { VPT_REF_EMAIL, "mail.protonmail.com" },
    { VPT_REF_EMAIL, "mail.zoho.com" },
    { VPT_REF_EMAIL, "mail.zoho.eu" },
    { VPT_REF_EMAIL, "mail.yandex.ru" },
    { VPT_REF_EMAIL, "mail.yandex.com" },
    { VPT_REF_EMAIL, "mail.ru" },
    { VPT_REF_EMAIL, "mail.com" },
    { VPT_REF_EMAIL, "gmx.*" },
    { VPT_REF_EMAIL, "web.de" },
    { VPT_REF_EMAIL, "email.t-online.de" },
    { VPT_REF_EMAIL, "fastmail.com" },
    { VPT_REF_EMAIL, "icloud.com" },
    { VPT_REF_EMAIL, "com.google.android.gm" },
    { VPT_REF_EMAIL, "com.microsoft.office.outlook" },
    { VPT_REF_EMAIL, "com.yahoo.mobile.client.android.mail" }
};

#define VPT_REF_NBUILTINS                                                    \
    (sizeof(vpt_ref_builtins) / sizeof(vpt_ref_builtins[0]))


static const char  *vpt_device_names[VPT_DEVICE_N] = {
    NULL, "mobile", "tablet", "desktop", "bot"
};

static const char  *vpt_referrer_names[VPT_REF_N] = {
    NULL, "direct", "internal", "search", "social", "email", "other"
};


/*
 * the tokens by their first byte, lower case; and a bit per hash of their
 * first three bytes, so most positions of a User-Agent cost one test
 * (pairs were not enough: "ch", "in", "li", "mo" are in every browser's)
 */
static uint8_t         vpt_ua_tri[(VPT_UA_TRI_MASK + 1) / 8];
static uint8_t         vpt_ua_nfirst[256];
static uint8_t         vpt_ua_first[256][VPT_UA_BUCKET];
static int             vpt_ua_ready;

static uint8_t         vpt_lower[256];

/*
 * The last User-Agents classified, by a hash of their bytes, each used
 * only for the very same bytes: shoppers' browsers send few distinct
 * strings (Chrome's are frozen but for the major version), and scanning
 * one costs some 20 instructions a byte.  Direct-mapped, the last one in
 * a slot stays; single-threaded, like the tables above.
 */
static vpt_ua_cached_t  vpt_ua_cache[VPT_UA_CACHE];

static vpt_device_e vpt_ua_classify(const uint8_t *s, size_t n);
static size_t vpt_ua_slot(const uint8_t *s, size_t n);


const char *
vpt_device_name(vpt_device_e device)
{
    return ((unsigned) device < VPT_DEVICE_N) ? vpt_device_names[device]
                                               : NULL;
}


const char *
vpt_referrer_name(vpt_referrer_e referrer)
{
    return ((unsigned) referrer < VPT_REF_N) ? vpt_referrer_names[referrer]
                                              : NULL;
}


vpt_referrer_e
vpt_referrer_parse(const char *name, size_t len)
{
    int  i;

    for (i = 1; i < VPT_REF_N; i++) {
        if (len == strlen(vpt_referrer_names[i])
            && memcmp(name, vpt_referrer_names[i], len) == 0)
        {
            return (vpt_referrer_e) i;
        }
    }

    return VPT_REF_UNKNOWN;
}


vpt_device_e
vpt_reqctx_device(const char *ua, size_t len)
{
    size_t            n;
    vpt_device_e      d;
    const uint8_t    *s;
    vpt_ua_cached_t  *c;

    if (len == 0) {
        return VPT_DEVICE_BOT;
    }

    s = (const uint8_t *) ua;
    n = (len < VPT_REQCTX_UA_MAX) ? len : VPT_REQCTX_UA_MAX;

    if (n > VPT_UA_CACHE_LEN) {
        return vpt_ua_classify(s, n);
    }

    c = &vpt_ua_cache[vpt_ua_slot(s, n)];

    if (c->len == n && memcmp(c->ua, s, n) == 0) {
        return (vpt_device_e) c->device;
    }

    d = vpt_ua_classify(s, n);

    memcpy(c->ua, s, n);
    c->len = (uint16_t) n;
    c->device = (uint8_t) d;

    return d;
}


vpt_device_e
vpt_reqctx_device_scan(const char *ua, size_t len)
{
    if (len == 0) {
        return VPT_DEVICE_BOT;
    }

    return vpt_ua_classify((const uint8_t *) ua,
                           (len < VPT_REQCTX_UA_MAX) ? len
                                                     : VPT_REQCTX_UA_MAX);
}


/* a multiply-and-fold hash, 8 bytes a step */

static size_t
vpt_ua_slot(const uint8_t *s, size_t n)
{
    size_t    i;
    uint64_t  h, w;

    h = n;

    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }

    w = 0;
    memcpy(&w, s + i, n - i);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;

    return (size_t) (h >> 58) & (VPT_UA_CACHE - 1);
}


/* the scan: s[0, n), n > 0 and at most VPT_REQCTX_UA_MAX */

static vpt_device_e
vpt_ua_classify(const uint8_t *s, size_t n)
{
    size_t                 i, j, k, h;
    uint8_t                c;
    unsigned               what;
    const vpt_ua_token_t  *t;

    if (!vpt_ua_ready) {
        vpt_ua_init();
    }

    what = 0;

    /*
     * every token has three bytes at least: h covers the three from i on,
     * so no token starts at the last two bytes
     */
    h = vpt_ua_roll(vpt_lower[s[0]], (n > 1) ? vpt_lower[s[1]] : 0);

    for (i = 0; i + 2 < n; i++) {
        h = vpt_ua_roll(h, vpt_lower[s[i + 2]]);

        if (!(vpt_ua_tri[h >> 3] & (1u << (h & 7)))) {
            continue;
        }

        c = vpt_lower[s[i]];

        for (j = 0; j < vpt_ua_nfirst[c]; j++) {
            t = &vpt_ua_tokens[vpt_ua_first[c][j]];

            if (t->len > n - i) {
                continue;
            }

            for (k = 1;
                 k < t->len && vpt_lower[s[i + k]] == (uint8_t) t->s[k];
                 k++)
            {
                /* void */
            }

            if (k < t->len) {
                continue;
            }

            /* "Cubot", a maker of Android phones, is no bot */
            if (t->s[0] == 'b' && t->len == 3 && i >= 2
                && vpt_lower[s[i - 2]] == 'c' && vpt_lower[s[i - 1]] == 'u')
            {
                continue;
            }

            if (t->what & VPT_UA_BOT) {
                return VPT_DEVICE_BOT;
            }

            what |= t->what;
        }
    }

    if ((what & VPT_UA_TABLET)
        || ((what & VPT_UA_TABLETWORD) && !(what & VPT_UA_WINDOWS)))
    {
        return VPT_DEVICE_TABLET;
    }

    if (what & VPT_UA_MOBILE) {
        return VPT_DEVICE_MOBILE;
    }

    if (what & VPT_UA_ANDROID) {
        return VPT_DEVICE_TABLET;
    }

    if (what & VPT_UA_BROWSER) {
        return VPT_DEVICE_DESKTOP;
    }

    return VPT_DEVICE_BOT;
}


vpt_ref_hosts_t *
vpt_ref_hosts_create(void)
{
    size_t            i, len;
    const char       *s;
    vpt_ref_hosts_t  *h;

    h = calloc(1, sizeof(vpt_ref_hosts_t));
    if (h == NULL) {
        return NULL;
    }

    for (i = 0; i < VPT_REF_NBUILTINS; i++) {
        s = vpt_ref_builtins[i].host;
        len = strlen(s);

        if (len > 2 && s[len - 1] == '*') {
            len -= 2;

            if (vpt_ref_add(h, vpt_ref_builtins[i].cls, s, len, 1, 0)
                != VPT_OK)
            {
                vpt_ref_hosts_free(h);
                return NULL;
            }

            continue;
        }

        if (vpt_ref_add(h, vpt_ref_builtins[i].cls, s, len, 0, 0) != VPT_OK)
        {
            vpt_ref_hosts_free(h);
            return NULL;
        }
    }

    return h;
}


int
vpt_ref_hosts_add(vpt_ref_hosts_t *hosts, vpt_referrer_e cls,
    const char *host, size_t len, char *err, size_t errlen)
{
    int     wild;
    char   *key;
    char    buf[VPT_REQCTX_HOST_MAX + 1];
    size_t  n;

    if (cls != VPT_REF_SEARCH && cls != VPT_REF_SOCIAL
        && cls != VPT_REF_EMAIL && cls != VPT_REF_INTERNAL
        && cls != VPT_REF_OTHER)
    {
        vpt_err(err, errlen, "the class is not one of search, "
                "social, email, internal, other");
        return VPT_ERROR;
    }

    if (len >= 2 && host[0] == '*' && host[1] == '.') {
        host += 2;
        len -= 2;

    } else if (len >= 1 && host[0] == '.') {
        host++;
        len--;
    }

    wild = 0;

    if (len >= 2 && host[len - 1] == '*' && host[len - 2] == '.') {
        wild = 1;
        len -= 2;
    }

    n = vpt_ref_host_chars(host, len, buf);

    if (n == 0 || n != len || (wild && memchr(buf, '.', n) != NULL)) {
        vpt_err(err, errlen, "\"%.*s\" is not a host name (such as "
                "example.com or name.*)",
                (int) (len < 64 ? len : 64), host);
        return VPT_ERROR;
    }

    /* "example.com." is "example.com", as a Referer's host is read */
    if (buf[n - 1] == '.') {
        n--;
    }

    if (hosts->n >= VPT_REQCTX_HOSTS_MAX) {
        vpt_err(err, errlen, "more than %d referrer hosts",
                VPT_REQCTX_HOSTS_MAX);
        return VPT_ERROR;
    }

    key = malloc(n);
    if (key == NULL) {
        vpt_err(err, errlen, "out of memory");
        return VPT_ERROR;
    }

    memcpy(key, buf, n);

    if (vpt_ref_add(hosts, cls, key, n, wild, 1) != VPT_OK) {
        free(key);
        vpt_err(err, errlen, "out of memory");
        return VPT_ERROR;
    }

    return VPT_OK;
}


void
vpt_ref_hosts_free(vpt_ref_hosts_t *hosts)
{
    size_t  i;

    if (hosts == NULL) {
        return;
    }

    for (i = 0; i < hosts->cap; i++) {
        if (hosts->slots[i].key != NULL && hosts->slots[i].owned) {
            free((char *) hosts->slots[i].key);
        }
    }

    free(hosts->slots);
    free(hosts);
}


vpt_referrer_e
vpt_reqctx_referrer(const vpt_ref_hosts_t *hosts, const char *referer,
    size_t len, const char *self, size_t self_len)
{
    char                    host[VPT_REQCTX_HOST_MAX + 1];
    char                    me[VPT_REQCTX_HOST_MAX + 1];
    size_t                  n, m, i, nlabels, a, b, stem;
    size_t                  start[VPT_REQCTX_HOST_MAX / 2 + 2];
    const vpt_ref_entry_t  *e;

    /* optional whitespace around a header value is not part of it */
    while (len > 0 && (referer[0] == ' ' || referer[0] == '\t')) {
        referer++;
        len--;
    }

    if (len == 0) {
        return VPT_REF_DIRECT;
    }

    n = vpt_ref_host(referer, len, host);
    if (n == 0) {
        return VPT_REF_OTHER;
    }

    if (self_len) {
        for (i = 0; i < self_len && self[i] != ':'; i++) {
            /* void: the port is not part of the host */
        }

        m = vpt_ref_host_chars(self, i, me);

        if (m > 0 && me[m - 1] == '.') {
            m--;
        }

        a = vpt_ref_strip_www(host, n);
        b = vpt_ref_strip_www(me, m);

        if (m > 0 && n - a == m - b && memcmp(host + a, me + b, n - a) == 0) {
            return VPT_REF_INTERNAL;
        }
    }

    if (hosts == NULL) {
        return VPT_REF_OTHER;
    }

    nlabels = 0;
    start[nlabels++] = 0;

    for (i = 0; i < n; i++) {
        if (host[i] == '.') {
            start[nlabels++] = i + 1;
        }
    }

    /* the label "name.*" stands for: before a TLD or a ccTLD's co.uk */
    stem = (size_t) -1;

    if (nlabels >= 3 && n - start[nlabels - 1] == 2
        && vpt_ref_sld(host + start[nlabels - 2],
                       start[nlabels - 1] - start[nlabels - 2] - 1))
    {
        stem = nlabels - 3;

    } else if (nlabels >= 2) {
        stem = nlabels - 2;
    }

    for (i = 0; i < nlabels; i++) {
        e = vpt_ref_find(hosts, host + start[i], n - start[i], 0);
        if (e != NULL) {
            return (vpt_referrer_e) e->cls;
        }

        if (i == stem) {
            e = vpt_ref_find(hosts, host + start[i],
                             start[i + 1] - start[i] - 1, 1);
            if (e != NULL) {
                return (vpt_referrer_e) e->cls;
            }
        }
    }

    return VPT_REF_OTHER;
}


size_t
vpt_reqctx_country(const char *value, size_t len, char *out)
{
    size_t  i;
    char    c;

    if (len != 2) {
        return 0;
    }

    for (i = 0; i < 2; i++) {
        c = value[i];

        if (c >= 'a' && c <= 'z') {
            c = (char) (c - 'a' + 'A');
        }

        if (c < 'A' || c > 'Z') {
            return 0;
        }

        out[i] = c;
    }

    return 2;
}


void
vpt_reqctx_build(vpt_reqctx_t *rq, const vpt_reqctx_conf_t *conf,
    vpt_str_t ua, vpt_str_t referer, vpt_str_t self, vpt_str_t country,
    int64_t now)
{
    rq->device = vpt_reqctx_device(ua.data, ua.len);
    rq->referrer = vpt_reqctx_referrer(conf->hosts, referer.data,
                                       referer.len, self.data, self.len);
    rq->country_len = vpt_reqctx_country(country.data, country.len,
                                         rq->country);

    if (conf->tz != NULL) {
        vpt_tz_local(conf->tz, now, &rq->local_hour, &rq->weekday);

    } else {
        rq->local_hour = -1;
        rq->weekday = -1;
    }
}


void
vpt_reqctx_apply(const vpt_reqctx_t *rq, vpt_context_t *ctx)
{
    const char  *s;

    if (ctx->device.len == 0 && (s = vpt_device_name(rq->device)) != NULL) {
        ctx->device.data = s;
        ctx->device.len = strlen(s);
    }

    if (ctx->referrer.len == 0
        && (s = vpt_referrer_name(rq->referrer)) != NULL)
    {
        ctx->referrer.data = s;
        ctx->referrer.len = strlen(s);
    }

    if (ctx->country.len == 0 && rq->country_len) {
        ctx->country.data = rq->country;
        ctx->country.len = rq->country_len;
    }

    if (ctx->local_hour < 0 && rq->local_hour >= 0) {
        ctx->local_hour = rq->local_hour;
    }

    if (ctx->weekday.len == 0
        && (s = vpt_tz_weekday_name(rq->weekday)) != NULL)
    {
        ctx->weekday.data = s;
        ctx->weekday.len = 3;
    }
}


static void
vpt_ua_init(void)
{
    size_t   i, c;
    uint8_t  first;

    for (c = 0; c < 256; c++) {
        vpt_lower[c] = (c >= 'A' && c <= 'Z') ? (uint8_t) (c + 32)
                                              : (uint8_t) c;
    }

    for (i = 0; i < VPT_UA_NTOKENS; i++) {
        first = (uint8_t) vpt_ua_tokens[i].s[0];
        c = vpt_ua_roll(vpt_ua_roll(first, vpt_ua_tokens[i].s[1]),
                        vpt_ua_tokens[i].s[2]);
        vpt_ua_tri[c >> 3] |= (uint8_t) (1u << (c & 7));

        /* a full bucket is a programming error the unit tests catch */
        if (vpt_ua_nfirst[first] < VPT_UA_BUCKET) {
            vpt_ua_first[first][vpt_ua_nfirst[first]++] = (uint8_t) i;
        }
    }

    vpt_ua_ready = 1;
}


static int
vpt_ref_add(vpt_ref_hosts_t *h, vpt_referrer_e cls, const char *key,
    size_t len, int wild, int owned)
{
    size_t            i;
    uint64_t          hash;
    vpt_ref_entry_t  *e;

    if (2 * (h->n + 1) > h->cap && vpt_ref_grow(h) != VPT_OK) {
        return VPT_ERROR;
    }

    hash = vpt_hash_more(vpt_hash(key, len), wild ? "*" : "", wild ? 1 : 0);

    for (i = hash & (h->cap - 1); ; i = (i + 1) & (h->cap - 1)) {
        e = &h->slots[i];

        if (e->key == NULL) {
            break;
        }

        /* the same host again: the later entry (the operator's) wins */
        if (e->hash == hash && e->len == len && e->wild == wild
            && memcmp(e->key, key, len) == 0)
        {
            if (e->owned) {
                free((char *) e->key);
            }

            e->key = key;
            e->owned = (uint8_t) owned;
            e->cls = (uint8_t) cls;

            return VPT_OK;
        }
    }

    e->key = key;
    e->len = (uint16_t) len;
    e->wild = (uint8_t) wild;
    e->cls = (uint8_t) cls;
    e->owned = (uint8_t) owned;
    e->hash = hash;
    h->n++;

    return VPT_OK;
}


static const vpt_ref_entry_t *
vpt_ref_find(const vpt_ref_hosts_t *h, const char *key, size_t len, int wild)
{
    size_t                  i;
    uint64_t                hash;
    const vpt_ref_entry_t  *e;

    if (h->cap == 0) {
        return NULL;
    }

    hash = vpt_hash_more(vpt_hash(key, len), wild ? "*" : "", wild ? 1 : 0);

    for (i = hash & (h->cap - 1); ; i = (i + 1) & (h->cap - 1)) {
        e = &h->slots[i];

        if (e->key == NULL) {
            return NULL;
        }

        if (e->hash == hash && e->len == len && e->wild == wild
            && memcmp(e->key, key, len) == 0)
        {
            return e;
        }
    }
}


static int
vpt_ref_grow(vpt_ref_hosts_t *h)
{
    size_t            i, j, cap;
    vpt_ref_entry_t  *slots;

    cap = h->cap ? 2 * h->cap : 256;

    slots = calloc(cap, sizeof(vpt_ref_entry_t));
    if (slots == NULL) {
        return VPT_ERROR;
    }

    for (i = 0; i < h->cap; i++) {
        if (h->slots[i].key == NULL) {
            continue;
        }

        for (j = h->slots[i].hash & (cap - 1); slots[j].key != NULL;
             j = (j + 1) & (cap - 1))
        {
            /* void */
        }

        slots[j] = h->slots[i];
    }

    free(h->slots);
    h->slots = slots;
    h->cap = cap;

    return VPT_OK;
}


/*
 * The host of an absolute URL, "scheme://[userinfo@]host[:port][/...]",
 * lower-cased into host (VPT_REQCTX_HOST_MAX + 1 bytes), a trailing dot
 * dropped; 0 when there is none we can match (IP literals in brackets,
 * bytes outside host names, too long).
 */

static size_t
vpt_ref_host(const char *url, size_t len, char *host)
{
    size_t  i, s, e, at;
    char    c;

    for (i = 0; i < len; i++) {
        c = url[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-'
                            || c == '.'))))
        {
            break;
        }
    }

    if (i == 0 || len - i < 3 || memcmp(url + i, "://", 3) != 0) {
        return 0;
    }

    s = i + 3;

    for (e = s; e < len && url[e] != '/' && url[e] != '?' && url[e] != '#';
         e++)
    {
        /* void */
    }

    /* userinfo: the host starts after the authority's last '@' */
    for (at = e; at > s && url[at - 1] != '@'; at--) {
        /* void */
    }

    s = at;

    for (i = s; i < e && url[i] != ':'; i++) {
        /* void: the port is not part of the host */
    }

    e = i;

    if (e == s || e - s > VPT_REQCTX_HOST_MAX) {
        return 0;
    }

    if (vpt_ref_host_chars(url + s, e - s, host) != e - s) {
        return 0;
    }

    e -= s;

    if (host[e - 1] == '.') {
        e--;
    }

    return e;
}


/*
 * s lower-cased into out if it is a host name (labels of [a-z0-9_-]
 * separated by single dots, no leading dot; a trailing one allowed):
 * its length, else 0
 */

static size_t
vpt_ref_host_chars(const char *s, size_t len, char *out)
{
    size_t  i;
    char    c;

    if (len == 0 || len > VPT_REQCTX_HOST_MAX || s[0] == '.') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char) (c + 32);

        } else if (c == '.') {
            if (s[i - 1] == '.') {
                return 0;
            }

        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                     || c == '-' || c == '_'))
        {
            return 0;
        }

        out[i] = c;
    }

    return len;
}


/* second-level labels under which countries register names: co.uk */

static int
vpt_ref_sld(const char *s, size_t len)
{
    static const char  *slds[] = {
        "co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go",
        "gob", "gv"
    };

    size_t  i;

    for (i = 0; i < sizeof(slds) / sizeof(slds[0]); i++) {
        if (len == strlen(slds[i]) && memcmp(s, slds[i], len) == 0) {
            return 1;
        }
    }

    return 0;
}


static size_t
vpt_ref_strip_www(const char *s, size_t len)
{
    return (len > 4 && memcmp(s, "www.", 4) == 0) ? 4 : 0;
}
