/*
 * Copyright (C) ngx_vpt_module authors
 *
 * $vpt_* variables: every decision readable from the access log.  They are
 * evaluated when the log line is written, so they show the final outcome.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


#define NGX_VPT_MAX_CANDIDATES  64


static ngx_int_t ngx_http_vpt_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_offer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_value_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_propensity_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_experiment_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_decision_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_redis_time_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_page_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_candidates_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_context_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_basis_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_consent_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_repeat_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_vpt_placement_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_vpt_vars[] = {

    { ngx_string("vpt_status"), NULL, ngx_http_vpt_status_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_offer"), NULL, ngx_http_vpt_offer_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_placement"), NULL, ngx_http_vpt_placement_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_value"), NULL, ngx_http_vpt_value_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_propensity"), NULL, ngx_http_vpt_propensity_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_variant"), NULL, ngx_http_vpt_variant_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_experiment"), NULL, ngx_http_vpt_experiment_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_decision"), NULL, ngx_http_vpt_decision_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_redis_time"), NULL, ngx_http_vpt_redis_time_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_page"), NULL, ngx_http_vpt_page_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_candidates"), NULL, ngx_http_vpt_candidates_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_context"), NULL, ngx_http_vpt_context_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_basis"), NULL, ngx_http_vpt_basis_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_consent"), NULL, ngx_http_vpt_consent_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpt_repeat"), NULL, ngx_http_vpt_repeat_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_vpt_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_vpt_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    /* the whole log line, from these (ngx_vpt_log_json.c) */
    return ngx_http_vpt_add_log_json(cf);
}


static void
ngx_http_vpt_set(ngx_http_variable_value_t *v, u_char *data, size_t len)
{
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = data;
}


/* the page's context; a beacon subrequest's own line shows its accept */

static ngx_http_vpt_ctx_t *
ngx_http_vpt_var_ctx(ngx_http_request_t *r)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vpt_module);

    if (ctx != NULL && ctx->outcome == NGX_VPT_OUT_ACCEPT) {
        return ctx;
    }

    return ngx_http_get_module_ctx(r->main, ngx_http_vpt_module);
}


/*
 * "id1,id2,..." of catalog offers given by index; with ctx (named
 * placements), "NAME:id1,..." by the placement of each offer's slot
 */

static ngx_int_t
ngx_http_vpt_offer_ids(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    const uint32_t *offers, ngx_uint_t n, ngx_http_vpt_ctx_t *ctx)
{
    u_char                    *p;
    size_t                     len;
    ngx_str_t                 *name;
    ngx_uint_t                 i;
    vpt_offer_t               *o;
    ngx_vpt_placement_t       *pl;
    ngx_http_vpt_main_conf_t  *vmcf;

    if (n == 0) {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    len = 0;

    pl = ctx ? ctx->conf->places->elts : NULL;

    for (i = 0; i < n; i++) {
        len += vmcf->catalog->offers[offers[i]].id.len + 1;

        if (pl) {
            len += pl[ctx->conf->slot_place[ctx->decision.slot[i]]].name.len
                   + 1;
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < n; i++) {
        o = &vmcf->catalog->offers[offers[i]];

        if (i) {
            *p++ = ',';
        }

        if (pl) {
            name = &pl[ctx->conf->slot_place[ctx->decision.slot[i]]].name;
            p = ngx_cpymem(p, name->data, name->len);
            *p++ = ':';
        }

        p = ngx_cpymem(p, o->id.data, o->id.len);
    }

    ngx_http_vpt_set(v, v->data, p - v->data);

    return NGX_OK;
}


/* what was shown (or, for control, what would have been) */

static ngx_uint_t
ngx_http_vpt_shown(ngx_http_vpt_ctx_t *ctx)
{
    if (ctx == NULL) {
        return 0;
    }

    if (ctx->outcome == NGX_VPT_OUT_INJECTED
        || ctx->verdict == NGX_VPT_HELD_OUT)
    {
        return ctx->decision.n;
    }

    return 0;
}


/* the outcome as it is now: see ngx_vpt_outcome.c */

static ngx_int_t
ngx_http_vpt_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_vpt_outcome_e         out;
    ngx_http_vpt_ctx_t       *ctx;
    ngx_http_vpt_loc_conf_t  *vlcf;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx != NULL) {
        out = ctx->outcome;

    } else {
        /* never seen by vpt */
        vlcf = ngx_http_get_module_loc_conf(r->main, ngx_http_vpt_module);
        out = vlcf->enable ? NGX_VPT_OUT_SKIPPED : NGX_VPT_OUT_OFF;
    }

    ngx_http_vpt_set(v, ngx_vpt_outcome_names[out].data,
                     ngx_vpt_outcome_names[out].len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_offer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx != NULL && ctx->accept.offer.len) {
        ngx_http_vpt_set(v, ctx->accept.offer.data, ctx->accept.offer.len);
        return NGX_OK;
    }

    return ngx_http_vpt_offer_ids(r, v, ctx ? ctx->decision.offer : NULL,
                                  ngx_http_vpt_shown(ctx),
                                  (ctx && ctx->conf->named) ? ctx : NULL);
}


/* the placement of each offer of $vpt_offer, "main,side"; none unnamed */

static ngx_int_t
ngx_http_vpt_placement_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    size_t                len;
    ngx_str_t            *name;
    ngx_uint_t            i, n;
    ngx_http_vpt_ctx_t   *ctx;
    ngx_vpt_placement_t  *pl;

    ctx = ngx_http_vpt_var_ctx(r);
    n = ngx_http_vpt_shown(ctx);

    if (n == 0 || ctx->accept.offer.len || !ctx->conf->named) {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    pl = ctx->conf->places->elts;
    len = 0;

    for (i = 0; i < n; i++) {
        len += pl[ctx->conf->slot_place[ctx->decision.slot[i]]].name.len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < n; i++) {
        name = &pl[ctx->conf->slot_place[ctx->decision.slot[i]]].name;

        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, name->data, name->len);
    }

    ngx_http_vpt_set(v, v->data, p - v->data);

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_value_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char              *p;
    double               value;
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx == NULL) {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    if (ctx->accept.offer.len || ctx->outcome == NGX_VPT_OUT_CONVERSION) {
        value = ctx->accept_value;

    } else if (ngx_http_vpt_shown(ctx)) {
        value = ctx->decision.total_value;

    } else if (ctx->verdict == NGX_VPT_NOTHING) {
        value = 0;

    } else {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, 64);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* %.6f: enough to compare with the trainer's own figure */
    ngx_http_vpt_set(v, p, ngx_snprintf(p, 64, "%.6f", value) - p);

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_propensity_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char              *p, *last;
    ngx_uint_t           i, n;
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx == NULL || ctx->accept.offer.len
        || (ctx->verdict != NGX_VPT_CHOSEN
            && ctx->verdict != NGX_VPT_NOTHING
            && ctx->verdict != NGX_VPT_HELD_OUT))
    {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, VPT_MAX_SLOTS * 16);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = p + VPT_MAX_SLOTS * 16;
    v->data = p;
    n = ngx_http_vpt_shown(ctx);

    if (n == 0) {
        p = ngx_snprintf(p, last - p, "%.6f",
                         ctx->decision.n ? 1.0
                                         : ctx->decision.nothing_propensity);
    }

    for (i = 0; i < n; i++) {
        p = ngx_snprintf(p, last - p, i ? ",%.6f" : "%.6f",
                         ctx->decision.propensity[i]);
    }

    ngx_http_vpt_set(v, v->data, p - v->data);

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx != NULL && ctx->accept.experiment.len) {
        ngx_http_vpt_set(v, (u_char *) "treatment", 9);

    } else if (ctx == NULL || ctx->variant == NGX_VPT_VARIANT_NONE) {
        ngx_http_vpt_set(v, (u_char *) "", 0);

    } else if (ctx->variant == NGX_VPT_VARIANT_CONTROL) {
        ngx_http_vpt_set(v, (u_char *) "control", 7);

    } else {
        ngx_http_vpt_set(v, (u_char *) "treatment", 9);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_experiment_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx != NULL && ctx->accept.experiment.len) {
        ngx_http_vpt_set(v, ctx->accept.experiment.data,
                         ctx->accept.experiment.len);

    } else if (ctx == NULL || ctx->variant == NGX_VPT_VARIANT_NONE) {
        ngx_http_vpt_set(v, (u_char *) "", 0);

    } else {
        ngx_http_vpt_set(v, ctx->conf->split_name.data,
                         ctx->conf->split_name.len);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_decision_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx != NULL && ctx->accept.decision.len) {
        ngx_http_vpt_set(v, ctx->accept.decision.data,
                         ctx->accept.decision.len);

    } else if (ctx == NULL || ctx->decision_id[0] == '\0') {
        ngx_http_vpt_set(v, (u_char *) "", 0);

    } else {
        ngx_http_vpt_set(v, ctx->decision_id, 16);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_redis_time_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char              *p;
    ngx_msec_int_t       ms;
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx == NULL || ctx->redis_time < 0) {
        ngx_http_vpt_set(v, (u_char *) "-", 1);
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 4);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ms = ngx_max(ctx->redis_time, 0);

    /* like $upstream_response_time: seconds, millisecond resolution */
    ngx_http_vpt_set(v, p, ngx_sprintf(p, "%T.%03M", (time_t) ms / 1000,
                                       ms % 1000) - p);

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_page_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char               *name;
    ngx_http_vpt_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r->main, ngx_http_vpt_module);

    if (!vlcf->enable) {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    name = vpt_page_name((vpt_page_e) vlcf->page);
    ngx_http_vpt_set(v, (u_char *) name, ngx_strlen(name));

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_candidates_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx == NULL) {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    return ngx_http_vpt_offer_ids(r, v, ctx->decision.candidates,
                                  ngx_min(ctx->decision.ncandidates,
                                          NGX_VPT_MAX_CANDIDATES), NULL);
}


static ngx_int_t
ngx_http_vpt_context_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx == NULL || ctx->shopper.context_json.len == 0) {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    ngx_http_vpt_set(v, ctx->shopper.context_json.data,
                     ctx->shopper.context_json.len);

    return NGX_OK;
}


/* "personal" or "request": what the decision stood on; empty: none */

static ngx_int_t
ngx_http_vpt_basis_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx == NULL || ctx->basis == NGX_VPT_BASIS_NONE) {
        ngx_http_vpt_set(v, (u_char *) "", 0);

    } else if (ctx->basis == NGX_VPT_BASIS_PERSONAL) {
        ngx_http_vpt_set(v, (u_char *) "personal", sizeof("personal") - 1);

    } else {
        ngx_http_vpt_set(v, (u_char *) "request", sizeof("request") - 1);
    }

    return NGX_OK;
}


/* the consent level a page was decided under; empty for other requests */

static ngx_int_t
ngx_http_vpt_consent_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t           *name;
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx == NULL || ctx->outcome == NGX_VPT_OUT_NONE
        || ctx->outcome == NGX_VPT_OUT_ACCEPT
        || ctx->outcome == NGX_VPT_OUT_ACCEPT_UNCOUNTED
        || ctx->outcome == NGX_VPT_OUT_CONVERSION)
    {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    name = &ngx_http_vpt_consent_levels[ctx->consent].name;
    ngx_http_vpt_set(v, name->data, name->len);

    return NGX_OK;
}


/* "1": an order's page shown its decision again; "0" for other pages */

static ngx_int_t
ngx_http_vpt_repeat_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_vpt_var_ctx(r);

    if (ctx == NULL || ctx->accept.decision.len) {
        ngx_http_vpt_set(v, (u_char *) "", 0);
        return NGX_OK;
    }

    ngx_http_vpt_set(v, (u_char *) (ctx->repeat ? "1" : "0"), 1);

    return NGX_OK;
}
