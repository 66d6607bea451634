/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Every shopper, as far as the request itself says: the request context
 * (device, referrer, country, local hour and weekday: vpt_reqctx.h), the
 * consent level (vpt_consent, vpt_consent_default, Sec-GPC) and a signed
 * QA preview (vpt_preview=TOKEN).  Computed once, when the request's
 * context is created, from headers nginx has already parsed; the zone and
 * the referrer host lists are read at configuration time.
 *
 * Consent levels, lowest first, so "at most" is a minimum:
 *
 *   none         nothing personal: no session key, no Redis read or write
 *                for the shopper, the request context alone
 *   first_party  the shop's own offers only (third_party ineligible)
 *   all          everything
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static void ngx_http_vpt_tz_cleanup(void *data);
static void ngx_http_vpt_hosts_cleanup(void *data);
static void ngx_http_vpt_preview_start(ngx_http_vpt_ctx_t *ctx);
static ngx_uint_t ngx_http_vpt_gpc_header(ngx_http_request_t *r);


ngx_conf_enum_t  ngx_http_vpt_consent_levels[] = {
    { ngx_string("none"), NGX_VPT_CONSENT_NONE },
    { ngx_string("first_party"), NGX_VPT_CONSENT_FIRST_PARTY },
    { ngx_string("all"), NGX_VPT_CONSENT_ALL },
    { ngx_null_string, 0 }
};


/* vpt_timezone ZONE; read now, so nginx -t names a zone it cannot read */

char *
ngx_http_vpt_timezone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t *vlcf = conf;

    char                 err[256];
    ngx_str_t           *value;
    ngx_pool_cleanup_t  *cln;

    if (vlcf->tz != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    /* value[1] is NUL-terminated by the configuration parser */
    vlcf->tz = vpt_tz_load((char *) value[1].data, NULL, err, sizeof(err));

    if (vlcf->tz == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt_timezone \"%V\": %s", &value[1], err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_vpt_tz_cleanup;
    cln->data = vlcf->tz;

    return NGX_CONF_OK;
}


/* vpt_referrer_hosts CLASS HOST ...; extends the built-in lists */

char *
ngx_http_vpt_referrer_hosts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_main_conf_t *vmcf = conf;

    char                 err[256];
    ngx_str_t           *value;
    ngx_uint_t           i;
    vpt_referrer_e       cls;
    ngx_pool_cleanup_t  *cln;

    value = cf->args->elts;

    cls = vpt_referrer_parse((char *) value[1].data, value[1].len);

    if (cls != VPT_REF_SEARCH && cls != VPT_REF_SOCIAL
        && cls != VPT_REF_EMAIL && cls != VPT_REF_INTERNAL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt_referrer_hosts: unknown class \"%V\", "
                           "it must be search, social, email or internal",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (vmcf->ref_hosts == NULL) {
        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        vmcf->ref_hosts = vpt_ref_hosts_create();
        if (vmcf->ref_hosts == NULL) {
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_vpt_hosts_cleanup;
        cln->data = vmcf->ref_hosts;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (vpt_ref_hosts_add(vmcf->ref_hosts, cls, (char *) value[i].data,
                              value[i].len, err, sizeof(err))
            != VPT_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "vpt_referrer_hosts %V: \"%V\": %s",
                               &value[1], &value[i], err);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * After the http block is read: the built-in host lists when no
 * vpt_referrer_hosts made them, and the server's zone (/etc/localtime) for
 * locations without vpt_timezone.  A server without a readable zone file
 * falls back to nginx's own offset (ngx_http_vpt_shopper_start()).
 */

char *
ngx_http_vpt_shopper_init_main(ngx_conf_t *cf, ngx_http_vpt_main_conf_t *vmcf)
{
    char                 err[256];
    ngx_pool_cleanup_t  *cln;

    if (vmcf->ref_hosts == NULL) {
        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        vmcf->ref_hosts = vpt_ref_hosts_create();
        if (vmcf->ref_hosts == NULL) {
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_vpt_hosts_cleanup;
        cln->data = vmcf->ref_hosts;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    vmcf->server_tz = vpt_tz_load(NULL, NULL, err, sizeof(err));

    if (vmcf->server_tz == NULL) {
        ngx_log_error(NGX_LOG_INFO, cf->log, 0,
                      "vpt: the server's zone: %s, nginx's offset is used",
                      err);
        return NGX_CONF_OK;
    }

    cln->handler = ngx_http_vpt_tz_cleanup;
    cln->data = vmcf->server_tz;

    return NGX_CONF_OK;
}


char *
ngx_http_vpt_shopper_merge(ngx_conf_t *cf, ngx_http_vpt_loc_conf_t *prev,
    ngx_http_vpt_loc_conf_t *conf)
{
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    ngx_conf_merge_ptr_value(conf->tz, prev->tz, vmcf->server_tz);
    ngx_conf_merge_ptr_value(conf->country, prev->country, NULL);
    ngx_conf_merge_ptr_value(conf->consent, prev->consent, NULL);
    ngx_conf_merge_uint_value(conf->consent_default, prev->consent_default,
                              NGX_VPT_CONSENT_ALL);
    ngx_conf_merge_value(conf->gpc, prev->gpc, 1);

    return NGX_CONF_OK;
}


/*
 * The index of the one variable a complex value is ("$name" or
 * "${name}"), or NGX_ERROR for anything else (text, several variables, a
 * regex capture): such a value can be read as the variable itself,
 * without the script that evaluates a complex value and its copy.
 */

ngx_int_t
ngx_http_vpt_one_variable(ngx_conf_t *cf, ngx_http_complex_value_t *cv)
{
    size_t     i;
    ngx_str_t  name;

    name = cv->value;

    if (cv->lengths == NULL || name.len < 2 || name.data[0] != '$') {
        return NGX_ERROR;
    }

    name.data++;
    name.len--;

    if (name.data[0] == '{') {
        if (name.len < 3 || name.data[name.len - 1] != '}') {
            return NGX_ERROR;
        }

        name.data++;
        name.len -= 2;
    }

    if (name.data[0] >= '0' && name.data[0] <= '9') {
        /* a capture */
        return NGX_ERROR;
    }

    for (i = 0; i < name.len; i++) {
        if (name.data[i] != '_'
            && !(name.data[i] >= 'a' && name.data[i] <= 'z')
            && !(name.data[i] >= 'A' && name.data[i] <= 'Z')
            && !(name.data[i] >= '0' && name.data[i] <= '9'))
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_get_variable_index(cf, &name);
}


/*
 * The shopper's consent: vpt_consent's value ("" is vpt_consent_default,
 * an unknown value is none: a CMP's value we cannot read grants nothing),
 * then Sec-GPC: 1 lowers it to first_party at most.
 */

ngx_uint_t
ngx_http_vpt_consent(ngx_http_request_t *r, ngx_http_vpt_loc_conf_t *vlcf)
{
    ngx_str_t         value;
    ngx_uint_t        level;
    ngx_conf_enum_t  *e;

    level = vlcf->consent_default;

    if (vlcf->consent != NULL) {
        if (ngx_http_complex_value(r, vlcf->consent, &value) != NGX_OK) {
            return NGX_VPT_CONSENT_NONE;
        }

        if (value.len) {
            level = NGX_VPT_CONSENT_NONE;

            for (e = ngx_http_vpt_consent_levels; e->name.len; e++) {
                if (e->name.len == value.len
                    && ngx_strncasecmp(e->name.data, value.data, value.len)
                       == 0)
                {
                    level = e->value;
                    break;
                }
            }
        }
    }

    if (vlcf->gpc && level > NGX_VPT_CONSENT_FIRST_PARTY
        && ngx_http_vpt_gpc_header(r))
    {
        level = NGX_VPT_CONSENT_FIRST_PARTY;
    }

    return level;
}


/* "Sec-GPC: 1" (the only value the draft defines); nginx does not parse it */

static ngx_uint_t
ngx_http_vpt_gpc_header(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Sec-GPC") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Sec-GPC",
                               sizeof("Sec-GPC") - 1) == 0)
        {
            return h[i].value.len == 1 && h[i].value.data[0] == '1';
        }
    }
}


/*
 * The request context, the consent and the preview, once per request: a
 * User-Agent and a Referer classified, a country copied, a zone looked up
 * (no allocation, no system call: nginx's cached time).
 */

void
ngx_http_vpt_shopper_start(ngx_http_vpt_ctx_t *ctx)
{
    int                        hour, weekday;
    time_t                     now;
    ngx_str_t                  country;
    vpt_str_t                  ua, referer, self, cc;
    ngx_time_t                *tp;
    ngx_http_request_t        *r;
    vpt_reqctx_conf_t          rc;
    ngx_http_vpt_loc_conf_t   *vlcf;
    ngx_http_vpt_main_conf_t  *vmcf;

    r = ctx->request;
    vlcf = ctx->conf;
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    ua.data = NULL;
    ua.len = 0;
    referer = ua;
    self = ua;
    cc = ua;

    if (r->headers_in.user_agent) {
        ua.data = (char *) r->headers_in.user_agent->value.data;
        ua.len = r->headers_in.user_agent->value.len;
    }

    if (r->headers_in.referer) {
        referer.data = (char *) r->headers_in.referer->value.data;
        referer.len = r->headers_in.referer->value.len;
    }

    self.data = (char *) r->headers_in.server.data;
    self.len = r->headers_in.server.len;

    if (vlcf->country != NULL
        && ngx_http_complex_value(r, vlcf->country, &country) == NGX_OK)
    {
        cc.data = (char *) country.data;
        cc.len = country.len;
    }

    rc.hosts = vmcf->ref_hosts;
    rc.tz = vlcf->tz;

    now = ngx_time();

    vpt_reqctx_build(&ctx->reqctx, &rc, ua, referer, self, cc,
                     (int64_t) now);

    if (vlcf->tz == NULL) {
        /* no zone file: nginx's own offset, from its cached time */
        tp = ngx_timeofday();
        now = tp->sec + tp->gmtoff * 60;
        hour = (int) ((now / 3600) % 24);
        weekday = (int) (((now / 86400) + 3) % 7);
        ctx->reqctx.local_hour = hour < 0 ? hour + 24 : hour;
        ctx->reqctx.weekday = weekday < 0 ? weekday + 7 : weekday;
    }

    ctx->consent = ngx_http_vpt_consent(r, vlcf);

    ngx_http_vpt_preview_start(ctx);
}


/*
 * vpt_preview=TOKEN: a genuine, unexpired token (vpt_sign.h) makes this a
 * preview; any other is ignored and the page decides as usual, so a link
 * shared too widely or too late does nothing.
 */

static void
ngx_http_vpt_preview_start(ngx_http_vpt_ctx_t *ctx)
{
    u_char                    *dst, *src;
    ngx_str_t                  arg, token;
    ngx_http_request_t        *r;
    vpt_sign_rc_e              rc;
    vpt_sign_check_t           res;
    vpt_sign_preview_t         p;
    ngx_http_vpt_main_conf_t  *vmcf;

    r = ctx->request;
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);

    if (r->args.len == 0
        || ngx_http_arg(r, (u_char *) "vpt_preview",
                        sizeof("vpt_preview") - 1, &arg)
           != NGX_OK)
    {
        return;
    }

    if (vmcf->sign_keys == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt: preview ignored: no \"vpt_secret\"");
        return;
    }

    if (arg.len > VPT_SIGN_PREVIEW_MAX * 3) {
        return;
    }

    /* ':' of a session may come percent-encoded */

    token.data = ngx_pnalloc(r->pool, arg.len);
    if (token.data == NULL) {
        return;
    }

    dst = token.data;
    src = arg.data;
    ngx_unescape_uri(&dst, &src, arg.len, 0);
    token.len = dst - token.data;

    rc = vpt_sign_preview_verify(vmcf->sign_keys, (char *) token.data,
                                 token.len, (int64_t) ngx_time(), &p, &res);

    if (rc != VPT_SIGN_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpt: preview ignored: %s (%s)",
                      vpt_sign_rc_name(rc), res.why ? res.why : "");
        return;
    }

    ctx->preview = 1;
    ctx->preview_mode = p.mode;
    ctx->preview_value.data = (u_char *) p.value.data;
    ctx->preview_value.len = p.value.len;
}


static void
ngx_http_vpt_tz_cleanup(void *data)
{
    vpt_tz_free(data);
}


static void
ngx_http_vpt_hosts_cleanup(void *data)
{
    vpt_ref_hosts_free(data);
}
