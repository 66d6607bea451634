/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The request context: what the request itself says about a shopper the
 * shop has not described in Redis (or has, partly).  Computed once per
 * request from headers nginx already parsed, with bounded work: at most
 * VPT_REQCTX_UA_MAX bytes of User-Agent and VPT_REQCTX_HOST_MAX bytes of
 * the Referer's host are looked at, whatever was sent.
 *
 * device (User-Agent), in this order of precedence:
 *
 *   bot      empty; or a crawler's or a tool's token anywhere (bot, crawl,
 *            spider, slurp, curl/, wget, python-requests, HeadlessChrome,
 *            Lighthouse, ... see vpt_reqctx.c; "Cubot", a phone maker,
 *            is not "bot"); or no browser at all (neither "Mozilla/" nor
 *            "Opera" in it: HTTP libraries, apps' own clients, scripts)
 *   tablet   iPad, Kindle, Silk, PlayBook, "Tablet" (not Windows' "Tablet
 *            PC"), or Android without "Mobile" (Android phones' browsers
 *            say "Mobile", its tablets' do not)
 *   mobile   iPhone, iPod, "Mobile", Windows Phone, BlackBerry, Opera
 *            Mini, KaiOS, ...
 *   desktop  any other browser.
 *
 * Caveat: since iPadOS 13, Safari on an iPad asks for desktop sites by
 * default and sends the Macintosh User-Agent, byte for byte a Mac's: it
 * is "desktop" here.  Only the page's script (touch points) tells them
 * apart; a shop that knows better writes "device" into the context, which
 * overrides this.
 *
 * referrer (Referer):
 *
 *   direct    no Referer (or an empty one)
 *   internal  the request's own host (a leading "www." ignored on both):
 *             the shopper came from the shop's own pages, the common case
 *             on a confirmation page.  Not in interface.md's list: without
 *             it every checkout page would be "other", mixing the shop's
 *             own pages with unknown sites.
 *   search, social, email
 *             the Referer's host is in that class's host list (built in,
 *             extended by vpt_referrer_hosts), "android-app://PACKAGE"
 *             referrers by the app's package (Gmail's is email)
 *   other     any other host, and a Referer that is not an absolute URL.
 *
 * Host lists.  An entry "example.com" matches that host and every host
 * under it, label by label ("www.example.com", "a.b.example.com", not
 * "notexample.com"); "name.*" matches the label "name" followed by a
 * top-level domain or a country's second-level one ("google.de",
 * "www.google.co.uk", "google.com.br", not "google.evil.com").  The most
 * specific entry wins ("mail.google.com" is email though "google.*" is
 * search); an operator's entry replaces a built-in one of the same host.
 *
 * local_hour and weekday: from the request's time in a zone (vpt_tz.h).
 * country: two ASCII letters (a GeoIP2 or CDN value), upper-cased;
 * anything else is unknown.
 *
 * As features (names as the model sees them, vpt_model.h): device=,
 * referrer=, country=, hour= (the existing bucket of local_hour) and
 * weekday=.  vpt_reqctx_apply() fills a Redis context's unknown fields
 * from the request's: the shop's values win field by field.
 */

#ifndef VPT_REQCTX_H
#define VPT_REQCTX_H

#include "vpt_core.h"
#include "vpt_context.h"
#include "vpt_tz.h"


#define VPT_REQCTX_UA_MAX      512
#define VPT_REQCTX_HOST_MAX    253
#define VPT_REQCTX_HOSTS_MAX   4096     /* entries per set */


typedef enum {
    VPT_DEVICE_UNKNOWN = 0,
    VPT_DEVICE_MOBILE,
    VPT_DEVICE_TABLET,
    VPT_DEVICE_DESKTOP,
    VPT_DEVICE_BOT,
    VPT_DEVICE_N
} vpt_device_e;


typedef enum {
    VPT_REF_UNKNOWN = 0,
    VPT_REF_DIRECT,
    VPT_REF_INTERNAL,
    VPT_REF_SEARCH,
    VPT_REF_SOCIAL,
    VPT_REF_EMAIL,
    VPT_REF_OTHER,
    VPT_REF_N
} vpt_referrer_e;


typedef struct vpt_ref_hosts_s  vpt_ref_hosts_t;


typedef struct {
    vpt_device_e     device;
    vpt_referrer_e   referrer;
    char             country[2];
    size_t           country_len;       /* 0: unknown */
    int              local_hour;        /* -1: unknown */
    int              weekday;           /* 0 = Monday; -1: unknown */
} vpt_reqctx_t;


/* what a location configures: both may be NULL (referrer other, no time) */
typedef struct {
    const vpt_ref_hosts_t  *hosts;
    const vpt_tz_t         *tz;
} vpt_reqctx_conf_t;


/* "mobile", "tablet", "desktop", "bot"; NULL for unknown */
const char *vpt_device_name(vpt_device_e device);

/* "direct", "internal", "search", "social", "email", "other"; or NULL */
const char *vpt_referrer_name(vpt_referrer_e referrer);

/* the class named (for vpt_referrer_hosts), VPT_REF_UNKNOWN if none */
vpt_referrer_e vpt_referrer_parse(const char *name, size_t len);

vpt_device_e vpt_reqctx_device(const char *ua, size_t len);

/*
 * The same, always scanning: vpt_reqctx_device() keeps the class of the
 * last User-Agents it scanned (up to 256 bytes) for the same bytes
 */
vpt_device_e vpt_reqctx_device_scan(const char *ua, size_t len);

/* the built-in lists; NULL when out of memory */
vpt_ref_hosts_t *vpt_ref_hosts_create(void);

/*
 * Adds host ("example.com", "name.*"; a leading "*." or "." is dropped;
 * any case) to class search, social, email or internal.  VPT_ERROR, err
 * saying why: not a host name, another class, too many.
 */
int vpt_ref_hosts_add(vpt_ref_hosts_t *hosts, vpt_referrer_e cls,
    const char *host, size_t len, char *err, size_t errlen);

void vpt_ref_hosts_free(vpt_ref_hosts_t *hosts);

/*
 * The class of a Referer value; self is the request's Host (a port is
 * ignored; len 0: none).
 */
vpt_referrer_e vpt_reqctx_referrer(const vpt_ref_hosts_t *hosts,
    const char *referer, size_t len, const char *self, size_t self_len);

/* two letters into out, upper-cased: 2; anything else: 0 */
size_t vpt_reqctx_country(const char *value, size_t len, char *out);

/* everything at once; now is unix seconds */
void vpt_reqctx_build(vpt_reqctx_t *rq, const vpt_reqctx_conf_t *conf,
    vpt_str_t ua, vpt_str_t referer, vpt_str_t self, vpt_str_t country,
    int64_t now);

/*
 * Fills ctx's unknown device, referrer, country, local_hour and weekday
 * from rq (strings point to static names or into rq: rq must outlive
 * ctx's use).
 */
void vpt_reqctx_apply(const vpt_reqctx_t *rq, vpt_context_t *ctx);


#endif /* VPT_REQCTX_H */
