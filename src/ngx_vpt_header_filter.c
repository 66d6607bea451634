/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The header filter: which responses the body filter sees (a main
 * request's 200 of a vpt_types type, not compressed, not HEAD), and what
 * their headers become when the body will change.  Every other response
 * is left alone and its outcome is "skipped".
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static ngx_int_t ngx_http_vpt_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpt_set_private(ngx_http_request_t *r);
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
        || (r->method & NGX_HTTP_HEAD)
        || (r->headers_out.content_encoding
            && r->headers_out.content_encoding->value.len)
        || ngx_http_test_content_type(r, &vlcf->types) == NULL)
    {
        return ngx_http_vpt_skip(r, ctx);
    }

    if (ctx == NULL) {
        ctx = ngx_http_vpt_get_ctx(r);
        if (ctx == NULL) {
            return ngx_http_next_header_filter(r);
        }
    }

    /* the page will go out as it is: leave even its headers alone */

    if (ctx->variant == NGX_VPT_VARIANT_CONTROL
        || (ctx->verdict != NGX_VPT_UNDECIDED
            && ctx->verdict != NGX_VPT_CHOSEN))
    {
        return ngx_http_next_header_filter(r);
    }

    if (ngx_http_vpt_body_start(r, ctx) != NGX_OK) {
        return ngx_http_next_header_filter(r);
    }

    /* the body changes, so do its length and validators (as sub does) */

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    if (ngx_http_vpt_set_private(r) != NGX_OK) {
        return NGX_ERROR;
    }

    r->filter_need_in_memory = 1;

    return ngx_http_next_header_filter(r);
}


/*
 * Personalised markup must not be stored by shared caches; a response that
 * already forbids storing keeps its own header.
 */

static ngx_int_t
ngx_http_vpt_set_private(ngx_http_request_t *r)
{
    u_char            *p, *last, *tok, *end, *comma;
    size_t             len;
    ngx_uint_t         i, n;
    ngx_table_elt_t  **ccp, *cc;

    ccp = r->headers_out.cache_control.elts;
    n = r->headers_out.cache_control.nelts;
    len = sizeof("private") - 1;

    for (i = 0; i < n; i++) {
        if (ngx_strlcasestrn(ccp[i]->value.data,
                             ccp[i]->value.data + ccp[i]->value.len,
                             (u_char *) "private", 7 - 1)
            || ngx_strlcasestrn(ccp[i]->value.data,
                                ccp[i]->value.data + ccp[i]->value.len,
                                (u_char *) "no-store", 8 - 1))
        {
            return NGX_OK;
        }

        len += 2 + ccp[i]->value.len;
    }

    /* "private", then the other directives as they were, but "public" */

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_cpymem(p, "private", sizeof("private") - 1);

    for (i = 0; i < n; i++) {
        ccp[i]->hash = 0;
        end = ccp[i]->value.data + ccp[i]->value.len;

        for (tok = ccp[i]->value.data; tok < end; tok++) {
            while (tok < end && (*tok == ' ' || *tok == ',')) {
                tok++;
            }

            comma = ngx_strlchr(tok, end, ',');
            len = (comma ? comma : end) - tok;

            while (len && tok[len - 1] == ' ') {
                len--;
            }

            if (len && !(len == 6 && ngx_strncasecmp(tok, (u_char *) "public",
                                                     6) == 0))
            {
                last = ngx_cpymem(last, ", ", 2);
                last = ngx_cpymem(last, tok, len);
            }

            tok = comma ? comma : end;
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


static ngx_int_t
ngx_http_vpt_skip(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    if (ctx == NULL) {
        /* no lookup was started for it (HEAD, a static non-page) */
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
