/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt_types: which requests may be answered with a page (before Redis is
 * asked), which static files are waited for, which responses are
 * filtered.  A location keeps its last answer, by the address of the
 * type it judged (its own memory), so a page's questions cost a
 * comparison after the first.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static ngx_str_t *ngx_http_vpt_exten_type(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf, ngx_http_core_loc_conf_t *clcf);
static ngx_int_t ngx_http_vpt_type_listed(ngx_http_request_t *r,
    ngx_str_t *type);


/*
 * A request that may be answered with a page of a vpt_types type, judged
 * before anything is asked of Redis: a GET or a HEAD, whose extension the
 * location's "types" do not map to a type vpt_types leaves out.  An
 * extension nginx does not know (".php"), or none ("/checkout"), may be a
 * page; for a file nginx serves itself, an unknown extension is the
 * location's default_type, as the static module will say.
 */

ngx_int_t
ngx_http_vpt_may_be_page(ngx_http_request_t *r)
{
    ngx_str_t                 *type;
    ngx_http_vpt_loc_conf_t   *vlcf;
    ngx_http_core_loc_conf_t  *clcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return 0;
    }

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    if (vlcf->types.size == 0 || r->exten.len == 0) {
        /* vpt_types *, or no extension to tell */
        return 1;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    type = ngx_http_vpt_exten_type(r, vlcf, clcf);

    if (type == NULL) {
        if (r->content_handler != NULL) {
            return 1;
        }

        type = &clcf->default_type;
    }

    return ngx_http_vpt_type_listed(r, type);
}


/*
 * The type the static module will give the file, as it finds it
 * (ngx_http_set_content_type()), against vpt_types: an image in a
 * location where vpt is on does not wait.
 */

ngx_int_t
ngx_http_vpt_static_wanted(ngx_http_request_t *r)
{
    ngx_str_t                  *type;
    ngx_http_vpt_loc_conf_t    *vlcf;
    ngx_http_core_loc_conf_t   *clcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (vlcf->types.size == 0) {
        /* vpt_types *: any type */
        return 1;
    }

    type = r->exten.len ? ngx_http_vpt_exten_type(r, vlcf, clcf) : NULL;

    if (type == NULL) {
        type = &clcf->default_type;
    }

    return ngx_http_vpt_type_listed(r, type);
}


/*
 * The type the location's "types" give the request's extension, or NULL,
 * as the static module looks it up.  The last extension asked (its bytes,
 * when short) and its type are kept by the location, whose "types" they
 * are: a page asks twice (preaccess, precontent), and the next page
 * likely has the same extension.
 */

static ngx_str_t *
ngx_http_vpt_exten_type(ngx_http_request_t *r, ngx_http_vpt_loc_conf_t *vlcf,
    ngx_http_core_loc_conf_t *clcf)
{
    u_char      *lower;
    ngx_str_t   *type;
    ngx_uint_t   hash;

    if (r->exten.len == vlcf->exten_len
        && ngx_memcmp(r->exten.data, vlcf->exten, r->exten.len) == 0)
    {
        return vlcf->exten_type;
    }

    lower = ngx_pnalloc(r->pool, r->exten.len);
    if (lower == NULL) {
        return NULL;
    }

    hash = ngx_hash_strlow(lower, r->exten.data, r->exten.len);
    type = ngx_hash_find(&clcf->types_hash, hash, lower, r->exten.len);

    if (r->exten.len <= NGX_HTTP_VPT_EXTEN_MAX) {
        ngx_memcpy(vlcf->exten, r->exten.data, r->exten.len);
        vlcf->exten_len = r->exten.len;
        vlcf->exten_type = type;
    }

    return type;
}


/*
 * A MIME type, without its parameters, in vpt_types.  The type is always
 * the location's own (a value of its types hash, or its default_type),
 * memory that lives as long as the location's configuration: so the last
 * answer is kept there, by the type's address, and a page's two questions
 * (preaccess, precontent), and the next page's, cost a comparison.
 */

static ngx_int_t
ngx_http_vpt_type_listed(ngx_http_request_t *r, ngx_str_t *type)
{
    u_char                    c, *lower;
    size_t                    len;
    ngx_uint_t                i, hash;
    ngx_http_vpt_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    if (type == vlcf->listed_type) {
        return vlcf->listed;
    }

    for (len = 0; len < type->len; len++) {
        if (type->data[len] == ';' || type->data[len] == ' ') {
            break;
        }
    }

    lower = ngx_pnalloc(r->pool, len);
    if (lower == NULL) {
        return 0;
    }

    hash = 0;

    for (i = 0; i < len; i++) {
        c = ngx_tolower(type->data[i]);
        hash = ngx_hash(hash, c);
        lower[i] = c;
    }

    vlcf->listed = (ngx_hash_find(&vlcf->types, hash, lower, len) != NULL);
    vlcf->listed_type = type;
    vlcf->listed_len = len;

    return vlcf->listed;
}


/*
 * The response's Content-Type in vpt_types, as ngx_http_test_content_type()
 * says.  A static file's is the bytes of its location's type (same
 * address, same length): then the answer kept by ngx_http_vpt_type_listed().
 */

ngx_int_t
ngx_http_vpt_response_listed(ngx_http_request_t *r)
{
    ngx_http_vpt_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpt_module);

    if (vlcf->listed_type != NULL
        && r->headers_out.content_type.data == vlcf->listed_type->data
        && r->headers_out.content_type_len == vlcf->listed_len)
    {
        return vlcf->listed;
    }

    return ngx_http_test_content_type(r, &vlcf->types) != NULL;
}
