/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The header filter: which responses the body filter sees (a main
 * request's 200 of a vpt_types type, not compressed, not HEAD), and what
 * their headers become when the body will change.  Every other response
 * is left alone and its outcome is "skipped".
 *
 * Caches.  A personalised response (one the body filter may put an offer
 * in, or whose decision read the shopper's context) must not be kept by a
 * shared cache: Cache-Control gets "private", the CDN's own fields
 * (CDN-Cache-Control and its vendor forms, Surrogate-Control), which
 * override Cache-Control there, are removed, and Vary names where the
 * session key comes from (Cookie, or its header).  A page that goes out
 * without an offer to a shopper who could get one loses its validators
 * (ETag, Last-Modified): else the browser's next conditional request is
 * answered 304 by nginx before this module runs, and that page never
 * shows an offer again.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static ngx_int_t ngx_http_vpt_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_unchanged(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);
static ngx_int_t ngx_http_vpt_personal(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);
static ngx_int_t ngx_http_vpt_set_private(ngx_http_request_t *r);
static u_char *ngx_http_vpt_cc_next(u_char *p, u_char *end,
    ngx_str_t *name, ngx_str_t *directive);
static void ngx_http_vpt_drop_cdn_control(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_vary(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);
static ngx_int_t ngx_http_vpt_vary_add(ngx_http_request_t *r, u_char *name,
    size_t len);
static ngx_int_t ngx_http_vpt_skip(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


ngx_int_t
ngx_http_vpt_init_header_filter(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_vpt_header_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_header_filter(ngx_http_request_t *r)
{
    ngx_http_vpt_ctx_t       *ctx;
    ngx_http_vpt_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    if (!vlcf->enable || vlcf->beacon || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_vpt_module);

    if (r->headers_out.status != NGX_HTTP_OK
        || r->header_only
        || r->method != NGX_HTTP_GET
        || (r->headers_out.content_encoding
            && r->headers_out.content_encoding->value.len)
        || !ngx_http_vpt_response_listed(r))
    {
        return ngx_http_vpt_skip(r, ctx);
    }

    if (ctx == NULL) {
        ctx = ngx_http_vpt_get_ctx(r);
        if (ctx == NULL) {
            return ngx_http_next_header_filter(r);
        }
    }

    /* a control shopper's page goes out as it is: even its headers */

    if (ctx->variant == NGX_VPT_VARIANT_CONTROL) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx->verdict != NGX_VPT_UNDECIDED && ctx->verdict != NGX_VPT_CHOSEN) {
        return ngx_http_vpt_unchanged(r, ctx);
    }

    if (ngx_http_vpt_body_start(r, ctx) != NGX_OK) {
        return ngx_http_next_header_filter(r);
    }

    /* the body changes, so do its length and validators (as sub does) */

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    if (ngx_http_vpt_personal(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    r->filter_need_in_memory = 1;

    return ngx_http_next_header_filter(r);
}


/*
 * The body goes out as it is (the decision is known: nothing to show, or
 * no decision).  Its validators go when the shopper could get an offer on
 * a later view: anyone but a bot, to whom nothing is ever offered (and a
 * shopper without a session where no decision is made for them); it is
 * personal when the decision read the shopper's context.
 */

static ngx_int_t
ngx_http_vpt_unchanged(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    if (ctx->outcome != NGX_VPT_OUT_NO_SESSION
        && ctx->outcome != NGX_VPT_OUT_BOT)
    {
        ngx_http_clear_last_modified(r);
        ngx_http_clear_etag(r);
    }

    if (ctx->verdict == NGX_VPT_NOTHING && ctx->shopper.context_json.len
        && ngx_http_vpt_personal(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


/* kept out of shared caches, CDNs included, and varying by the session */

static ngx_int_t
ngx_http_vpt_personal(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    if (ngx_http_vpt_set_private(r) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_vpt_drop_cdn_control(r);

    return ngx_http_vpt_vary(r, ctx);
}


/*
 * Cache-Control as RFC 9111 reads it: directives split on commas outside
 * quoted strings.  A response that already says "private" (bare) or
 * "no-store" keeps its header.  Otherwise "private" goes first and the
 * other directives follow as they were, but "public" and the field-name
 * form 'private="Set-Cookie"' (which keeps only those fields out of
 * shared caches: the whole response is private now).
 */

static ngx_int_t
ngx_http_vpt_set_private(ngx_http_request_t *r)
{
    u_char            *p, *last, *tok, *end;
    size_t             len;
    ngx_str_t          name, dir;
    ngx_uint_t         i, n;
    ngx_table_elt_t  **ccp, *cc;

    ccp = r->headers_out.cache_control.elts;
    n = r->headers_out.cache_control.nelts;
    len = sizeof("private") - 1;

    for (i = 0; i < n; i++) {
        end = ccp[i]->value.data + ccp[i]->value.len;

        for (tok = ccp[i]->value.data; tok < end; /* void */) {
            tok = ngx_http_vpt_cc_next(tok, end, &name, &dir);

            if ((name.len == 7 && dir.len == 7
                 && ngx_strncasecmp(name.data, (u_char *) "private", 7) == 0)
                || (name.len == 8
                    && ngx_strncasecmp(name.data, (u_char *) "no-store", 8)
                       == 0))
            {
                return NGX_OK;
            }
        }

        len += 2 + ccp[i]->value.len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_cpymem(p, "private", sizeof("private") - 1);

    for (i = 0; i < n; i++) {
        ccp[i]->hash = 0;
        end = ccp[i]->value.data + ccp[i]->value.len;

        for (tok = ccp[i]->value.data; tok < end; /* void */) {
            tok = ngx_http_vpt_cc_next(tok, end, &name, &dir);

            if (dir.len == 0
                || (name.len == 6
                    && ngx_strncasecmp(name.data, (u_char *) "public", 6)
                       == 0)
                || (name.len == 7
                    && ngx_strncasecmp(name.data, (u_char *) "private", 7)
                       == 0))
            {
                continue;
            }

            last = ngx_cpymem(last, ", ", 2);
            last = ngx_cpymem(last, dir.data, dir.len);
        }
    }

    if (r->headers_out.cache_control.elts == NULL) {
        if (ngx_array_init(&r->headers_out.cache_control, r->pool, 1,
                           sizeof(ngx_table_elt_t *))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    r->headers_out.cache_control.nelts = 0;

    ccp = ngx_array_push(&r->headers_out.cache_control);
    if (ccp == NULL) {
        return NGX_ERROR;
    }

    cc = ngx_list_push(&r->headers_out.headers);
    if (cc == NULL) {
        return NGX_ERROR;
    }

    cc->hash = 1;
    ngx_str_set(&cc->key, "Cache-Control");
    cc->value.data = p;
    cc->value.len = last - p;
    *ccp = cc;

    return NGX_OK;
}


/*
 * The next directive from p: its name, and the whole directive (name and
 * value), trimmed; a quoted value may hold commas and escaped quotes.
 * Returns where the next one starts.
 */

static u_char *
ngx_http_vpt_cc_next(u_char *p, u_char *end, ngx_str_t *name,
    ngx_str_t *directive)
{
    u_char      *start, *last;
    ngx_uint_t   quoted;

    while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
        p++;
    }

    start = p;
    name->data = p;

    while (p < end && *p != '=' && *p != ',' && *p != ' ' && *p != '\t') {
        p++;
    }

    name->len = p - start;
    quoted = 0;

    while (p < end && (quoted || *p != ',')) {
        if (quoted && *p == '\\' && p + 1 < end) {
            p++;

        } else if (*p == '"') {
            quoted = !quoted;
        }

        p++;
    }

    last = p;

    while (last > start && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    directive->data = start;
    directive->len = last - start;

    return p;
}


/*
 * CDN-Cache-Control (RFC 9213) and its vendor forms ("Cloudflare-CDN-
 * Cache-Control"...), and Surrogate-Control: the CDN obeys these over
 * Cache-Control, so a max-age there would store the page for everyone
 */

static void
ngx_http_vpt_drop_cdn_control(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  cdn = ngx_string("CDN-Cache-Control");

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        if ((h[i].key.len == sizeof("Surrogate-Control") - 1
             && ngx_strncasecmp(h[i].key.data, (u_char *) "Surrogate-Control",
                                h[i].key.len) == 0)
            || (h[i].key.len >= cdn.len
                && ngx_strncasecmp(h[i].key.data + h[i].key.len - cdn.len,
                                   cdn.data, cdn.len) == 0))
        {
            h[i].hash = 0;
        }
    }
}


/*
 * Vary: where the session key comes from, read from vpt_session_key's
 * text: a $cookie_* variable is the Cookie header, $http_NAME the NAME
 * header; a key from the URL ($arg_*, a capture) needs none.
 */

static ngx_int_t
ngx_http_vpt_vary(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    u_char     *p, *end, *name;
    size_t      len;
    ngx_uint_t  i;
    u_char      header[64];

    p = ctx->conf->session_key->value.data;
    end = p + ctx->conf->session_key->value.len;

    while ((p = ngx_strlchr(p, end, '$')) != NULL) {
        p++;

        if (p < end && *p == '{') {
            p++;
        }

        if ((size_t) (end - p) > sizeof("cookie_") - 1
            && ngx_strncmp(p, "cookie_", sizeof("cookie_") - 1) == 0)
        {
            if (ngx_http_vpt_vary_add(r, (u_char *) "Cookie",
                                      sizeof("Cookie") - 1)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        if ((size_t) (end - p) <= sizeof("http_") - 1
            || ngx_strncmp(p, "http_", sizeof("http_") - 1) != 0)
        {
            continue;
        }

        name = p + sizeof("http_") - 1;

        for (len = 0; name + len < end && len < sizeof(header); len++) {
            if (name[len] == '_') {
                header[len] = '-';

            } else if ((name[len] >= 'a' && name[len] <= 'z')
                       || (name[len] >= 'A' && name[len] <= 'Z')
                       || (name[len] >= '0' && name[len] <= '9')
                       || name[len] == '-')
            {
                header[len] = name[len];

            } else {
                break;
            }
        }

        /* the first letter of each word up, as headers are written */

        for (i = 0; i < len; i++) {
            if (i == 0 || header[i - 1] == '-') {
                header[i] = ngx_toupper(header[i]);
            }
        }

        if (len && ngx_http_vpt_vary_add(r, header, len) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a Vary header for name, unless one already names it (or says "*") */

static ngx_int_t
ngx_http_vpt_vary_add(ngx_http_request_t *r, u_char *name, size_t len)
{
    u_char           *p, *end, *tok;
    size_t            n;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *vary;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || h[i].key.len != sizeof("Vary") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Vary", 4) != 0)
        {
            continue;
        }

        p = h[i].value.data;
        end = p + h[i].value.len;

        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            tok = p;

            while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
                p++;
            }

            n = p - tok;

            if ((n == 1 && *tok == '*')
                || (n == len && ngx_strncasecmp(tok, name, len) == 0))
            {
                return NGX_OK;
            }
        }
    }

    vary = ngx_list_push(&r->headers_out.headers);
    if (vary == NULL) {
        return NGX_ERROR;
    }

    vary->value.data = ngx_pnalloc(r->pool, len);
    if (vary->value.data == NULL) {
        return NGX_ERROR;
    }

    vary->hash = 1;
    ngx_str_set(&vary->key, "Vary");
    ngx_memcpy(vary->value.data, name, len);
    vary->value.len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_skip(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    if (ctx == NULL) {
        if (!ngx_http_vpt_may_be_page(r)) {
            /* an asset, a POST: not a page view, not counted */
            return ngx_http_next_header_filter(r);
        }

        /* a page view no lookup was started for (HEAD, an error page) */
        ctx = ngx_http_vpt_new_ctx(r, NGX_VPT_OUT_SKIPPED);
        if (ctx == NULL) {
            return ngx_http_next_header_filter(r);
        }

    } else if (ctx->verdict == NGX_VPT_UNDECIDED) {
        /* nobody will use the answer: no wait, no breaker failure */
        ngx_http_vpt_cancel(ctx);
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SKIPPED);
    }

    ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_SKIPPED, 1);

    return ngx_http_next_header_filter(r);
}
