/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Secrets read from files, so none is in nginx.conf: "vpt_secret FILE
 * [FILE ...];" signs and checks the accept links (the core's vpt_sign.h;
 * the first file signs, every one verifies, for rotation), and
 * "vpt_conversion_key FILE;" is the bearer key vpt_conversion asks for.
 * nginx -t warns when beacons take unsigned links, and when a secret's
 * file is readable by others than its owner and group.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


/* a signed link is good for a week: long enough for a next-day click */
#define NGX_VPT_ACCEPT_LINK_TTL  (7 * 86400)


static void ngx_http_vpt_free_keys(void *data);
static ngx_int_t ngx_http_vpt_secret_path(ngx_conf_t *cf, ngx_str_t *name);


char *
ngx_http_vpt_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_main_conf_t *vmcf = conf;

    char                 err[VPT_ERRLEN];
    ngx_str_t           *value;
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
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt_secret: no HMAC-SHA256 in libcrypto");
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_vpt_free_keys;
    cln->data = vmcf->sign_keys;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_http_vpt_secret_path(cf, &value[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (vpt_sign_keys_load(vmcf->sign_keys, (char *) value[i].data, err,
                               sizeof(err))
            != VPT_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "vpt_secret: %s", err);
            return NGX_CONF_ERROR;
        }

        if (vpt_sign_file_exposed((char *) value[i].data)) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "vpt_secret: \"%V\" is readable by other "
                               "users, who could sign accepts with it",
                               &value[i]);
        }
    }

    return NGX_CONF_OK;
}


/*
 * The key is the file's first line (a trailing "\n" or "\r\n" dropped),
 * kept in the configuration's pool; at least 16 bytes, printable.
 */

char *
ngx_http_vpt_conversion_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t *vlcf = conf;

    u_char     *p;
    size_t      i;
    ssize_t     n;
    ngx_fd_t    fd;
    ngx_str_t  *value;
    u_char      buf[1024];

    if (vlcf->conversion_key.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_vpt_secret_path(cf, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(value[1].data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "vpt_conversion_key: cannot open \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    n = read(fd, buf, sizeof(buf));
    (void) ngx_close_file(fd);

    if (n < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "vpt_conversion_key: cannot read \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    p = ngx_strlchr(buf, buf + n, '\n');
    if (p != NULL) {
        n = p - buf;
    }

    if (n > 0 && buf[n - 1] == '\r') {
        n--;
    }

    for (i = 0; i < (size_t) n; i++) {
        if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
            break;
        }
    }

    if (n < 16 || n >= (ssize_t) sizeof(buf) || i < (size_t) n) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt_conversion_key: \"%V\" must hold 16 to 1023 "
                           "printable characters without spaces on its "
                           "first line", &value[1]);
        return NGX_CONF_ERROR;
    }

    vlcf->conversion_key.data = ngx_pnalloc(cf->pool, n);
    if (vlcf->conversion_key.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(vlcf->conversion_key.data, buf, n);
    vlcf->conversion_key.len = n;

    ngx_explicit_memzero(buf, sizeof(buf));

    if (vpt_sign_file_exposed((char *) value[1].data)) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "vpt_conversion_key: \"%V\" is readable by other "
                           "users", &value[1]);
    }

    return NGX_CONF_OK;
}


/* from postconfiguration: accepts that anyone could forge are worth a word */

ngx_int_t
ngx_http_vpt_secret_check(ngx_conf_t *cf)
{
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    if ((vmcf->used || vmcf->beacons) && vmcf->sign_keys == NULL) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "vpt: no \"vpt_secret\": accept links are not signed, "
                      "so anyone can forge accepts");
    }

    return NGX_OK;
}


/*
 * The token of a link for offer in a decision (experiment len 0: none),
 * into out (VPT_SIGN_ACCEPT_MAX bytes); 0 without vpt_secret or on error.
 */

size_t
ngx_http_vpt_sign_accept(ngx_http_request_t *r, ngx_str_t *decision,
    vpt_str_t *offer, ngx_str_t *experiment, u_char *out)
{
    vpt_sign_accept_t          a;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    if (vmcf->sign_keys == NULL) {
        return 0;
    }

    a.decision.data = (const char *) decision->data;
    a.decision.len = decision->len;
    a.offer = *offer;
    a.experiment.data = (const char *) experiment->data;
    a.experiment.len = experiment->len;
    a.expires = (int64_t) ngx_time() + NGX_VPT_ACCEPT_LINK_TTL;

    return vpt_sign_accept(vmcf->sign_keys, &a, (char *) out,
                           VPT_SIGN_ACCEPT_MAX);
}


vpt_sign_rc_e
ngx_http_vpt_verify_accept(ngx_http_request_t *r, ngx_vpt_store_accept_t *a,
    ngx_str_t *token, vpt_sign_check_t *res)
{
    vpt_sign_accept_t          sa;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    sa.decision.data = (const char *) a->decision.data;
    sa.decision.len = a->decision.len;
    sa.offer.data = (const char *) a->offer.data;
    sa.offer.len = a->offer.len;
    sa.experiment.data = (const char *) a->experiment.data;
    sa.experiment.len = a->experiment.len;
    sa.expires = 0;

    return vpt_sign_accept_verify(vmcf->sign_keys, &sa,
                                  (const char *) token->data, token->len,
                                  (int64_t) ngx_time(), res);
}


static void
ngx_http_vpt_free_keys(void *data)
{
    vpt_sign_keys_free(data);
}


/* relative to the configuration prefix, NUL-terminated */

static ngx_int_t
ngx_http_vpt_secret_path(ngx_conf_t *cf, ngx_str_t *name)
{
    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}
