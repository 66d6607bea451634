/*
 * Copyright (C) ngx_vpt_module authors
 *
 * "vpt_secret FILE [FILE ...];" (http): the secrets of vpt_sign.h, the
 * first signs, every one verifies.  Minimal: here for the QA preview until
 * the signed accepts (branch accept) bring their own, fuller file of this
 * name, with the same directive, function and vmcf->sign_keys: on merge,
 * theirs replaces this one.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static void ngx_http_vpt_sign_keys_cleanup(void *data);


char *
ngx_http_vpt_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_main_conf_t *vmcf = conf;

    char                 err[512];
    ngx_str_t           *value, path;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    if (vmcf->sign_keys != NULL) {
        return "is duplicate";
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    vmcf->sign_keys = vpt_sign_keys_create();
    if (vmcf->sign_keys == NULL) {
        return "cannot create the keys: no HMAC-SHA256 in libcrypto?";
    }

    cln->handler = ngx_http_vpt_sign_keys_cleanup;
    cln->data = vmcf->sign_keys;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        path = value[i];

        /* relative to the configuration prefix; NUL-terminated */
        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (vpt_sign_keys_load(vmcf->sign_keys, (char *) path.data, err,
                               sizeof(err))
            != VPT_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "vpt_secret: %s", err);
            return NGX_CONF_ERROR;
        }

        if (vpt_sign_file_exposed((char *) path.data)) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "vpt_secret: \"%V\" is readable by other "
                               "users: they can forge previews", &path);
        }
    }

    return NGX_CONF_OK;
}


static void
ngx_http_vpt_sign_keys_cleanup(void *data)
{
    vpt_sign_keys_free(data);
}
