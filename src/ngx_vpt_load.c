/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What the configuration loads through the core: the catalog, the models,
 * one ranker per model and the anchors.  Each is validated now (an error
 * fails "nginx -t" with the loader's message) and freed with the cycle's
 * pool.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


typedef void *(*ngx_http_vpt_load_pt)(const char *path, char *err,
    size_t errlen);


static void *ngx_http_vpt_load_file(ngx_conf_t *cf, ngx_str_t *name,
    ngx_http_vpt_load_pt load, ngx_pool_cleanup_pt free);
static void *ngx_http_vpt_load_catalog(const char *path, char *err,
    size_t errlen);
static void *ngx_http_vpt_load_model(const char *path, char *err,
    size_t errlen);
static void ngx_http_vpt_free_catalog(void *data);
static void ngx_http_vpt_free_model(void *data);
static void ngx_http_vpt_free_ranker(void *data);
static void ngx_http_vpt_free_anchor(void *data);


/* one compiled ranker per model, shared by every location using it */

vpt_ranker_t *
ngx_http_vpt_get_ranker(ngx_conf_t *cf, ngx_http_vpt_main_conf_t *vmcf,
    vpt_model_t *model)
{
    char                     err[VPT_ERRLEN];
    ngx_uint_t               i;
    ngx_pool_cleanup_t      *cln;
    ngx_vpt_ranker_entry_t  *e;

    e = vmcf->rankers.elts;

    for (i = 0; i < vmcf->rankers.nelts; i++) {
        if (e[i].model == model) {
            return e[i].ranker;
        }
    }

    e = ngx_array_push(&vmcf->rankers);
    if (e == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    e->model = model;
    e->ranker = vpt_ranker_create(vmcf->catalog, model, err, sizeof(err));

    if (e->ranker == NULL) {
        vmcf->rankers.nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "vpt: %s", err);
        return NULL;
    }

    cln->handler = ngx_http_vpt_free_ranker;
    cln->data = e->ranker;

    return e->ranker;
}


char *
ngx_http_vpt_catalog(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_main_conf_t *vmcf = conf;

    ngx_str_t  *value;

    if (vmcf->catalog != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    vmcf->catalog_file = value[1];

    vmcf->catalog = ngx_http_vpt_load_file(cf, &vmcf->catalog_file,
                                           ngx_http_vpt_load_catalog,
                                           ngx_http_vpt_free_catalog);

    return vmcf->catalog ? NGX_CONF_OK : NGX_CONF_ERROR;
}


char *
ngx_http_vpt_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t *vlcf = conf;

    ngx_str_t                 *value;
    ngx_http_vpt_main_conf_t  *vmcf;

    if (vlcf->model != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        vlcf->model = NULL;
        return NGX_CONF_OK;
    }

    vlcf->model_file = value[1];

    vlcf->model = ngx_http_vpt_load_file(cf, &vlcf->model_file,
                                         ngx_http_vpt_load_model,
                                         ngx_http_vpt_free_model);

    if (vlcf->model == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the status page's vpt_info names every model loaded */
    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    return ngx_http_vpt_add_name(cf, &vmcf->model_files, &vlcf->model_file)
           == NGX_OK ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/*
 * A catalog or a model: the path relative to the configuration prefix,
 * loaded and validated now (any error fails "nginx -t" with the loader's
 * message), freed with the cycle's pool.
 */

static void *
ngx_http_vpt_load_file(ngx_conf_t *cf, ngx_str_t *name,
    ngx_http_vpt_load_pt load, ngx_pool_cleanup_pt free)
{
    char                 err[VPT_ERRLEN];
    void                *data;
    ngx_pool_cleanup_t  *cln;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    /* ngx_conf_full_name() NUL-terminates */
    data = load((char *) name->data, err, sizeof(err));

    if (data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NULL;
    }

    cln->handler = free;
    cln->data = data;

    return data;
}


static void *
ngx_http_vpt_load_catalog(const char *path, char *err, size_t errlen)
{
    return vpt_catalog_load(path, err, errlen);
}


static void *
ngx_http_vpt_load_model(const char *path, char *err, size_t errlen)
{
    return vpt_model_load(path, err, errlen);
}


char *
ngx_http_vpt_anchor(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t *vlcf = conf;

    char                 err[VPT_ERRLEN];
    ngx_str_t           *value;
    vpt_place_e          place;
    ngx_pool_cleanup_t  *cln;

    if (vlcf->anchor != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    place = VPT_PLACE_BEFORE;

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "before") == 0) {
            place = VPT_PLACE_BEFORE;

        } else if (ngx_strcmp(value[2].data, "after") == 0) {
            place = VPT_PLACE_AFTER;

        } else if (ngx_strcmp(value[2].data, "replace") == 0) {
            place = VPT_PLACE_REPLACE;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid placement \"%V\", "
                               "it must be \"before\", \"after\" "
                               "or \"replace\"", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    vlcf->anchor = vpt_anchor_create((char *) value[1].data, value[1].len,
                                     place, err, sizeof(err));
    if (vlcf->anchor == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "vpt_anchor: %s", err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_vpt_free_anchor;
    cln->data = vlcf->anchor;

    return NGX_CONF_OK;
}


/* "</body>", placing before: where vpt_anchor is not set */

vpt_anchor_t *
ngx_http_vpt_default_anchor(ngx_conf_t *cf)
{
    char                 err[VPT_ERRLEN];
    vpt_anchor_t        *anchor;
    ngx_pool_cleanup_t  *cln;

    anchor = vpt_anchor_create("</body>", 7, VPT_PLACE_BEFORE, err,
                               sizeof(err));
    if (anchor == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "vpt: %s", err);
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        vpt_anchor_free(anchor);
        return NULL;
    }

    cln->handler = ngx_http_vpt_free_anchor;
    cln->data = anchor;

    return anchor;
}


static void
ngx_http_vpt_free_catalog(void *data)
{
    vpt_catalog_free(data);
}


static void
ngx_http_vpt_free_model(void *data)
{
    vpt_model_free(data);
}


static void
ngx_http_vpt_free_ranker(void *data)
{
    vpt_ranker_free(data);
}


static void
ngx_http_vpt_free_anchor(void *data)
{
    vpt_anchor_free(data);
}


/* a name into a list of distinct names, made on first use */

ngx_int_t
ngx_http_vpt_add_name(ngx_conf_t *cf, ngx_array_t **list, ngx_str_t *name)
{
    ngx_str_t   *s;
    ngx_uint_t   i;

    if (*list == NULL) {
        *list = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (*list == NULL) {
            return NGX_ERROR;
        }
    }

    s = (*list)->elts;

    for (i = 0; i < (*list)->nelts; i++) {
        if (s[i].len == name->len
            && ngx_strncmp(s[i].data, name->data, name->len) == 0)
        {
            return NGX_OK;
        }
    }

    s = ngx_array_push(*list);
    if (s == NULL) {
        return NGX_ERROR;
    }

    *s = *name;

    return NGX_OK;
}
