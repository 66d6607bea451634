/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The decision: the ranker's choice for a shopper the store has read, and,
 * when the body filter reaches the anchor, the chosen offers' markup.  A
 * choice is final once its markup goes out: its impressions are written
 * then (the store), never for a page whose anchor never came.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static ngx_int_t ngx_http_vpt_render(ngx_http_vpt_ctx_t *ctx);


void
ngx_http_vpt_decide(ngx_http_vpt_ctx_t *ctx)
{
    void                      *scratch;
    ngx_int_t                  hour;
    ngx_time_t                *tp;
    ngx_http_request_t        *r;
    vpt_decide_params_t        params;
    ngx_http_vpt_loc_conf_t   *vlcf;

    r = ctx->request;
    vlcf = ctx->conf;

    if (vlcf->ranker == NULL || ctx->shopper.context == NULL) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);
        return;
    }

    scratch = ngx_palloc(r->pool, vpt_ranker_scratch_size(vlcf->ranker));
    if (scratch == NULL) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);
        return;
    }

    /* the server's local hour, from nginx's cached time: no libc call */
    tp = ngx_timeofday();
    hour = (ngx_int_t) (((tp->sec + tp->gmtoff * 60) / 3600) % 24);

    params.page = (vpt_page_e) vlcf->page;
    params.hour = (int) (hour < 0 ? hour + 24 : hour);
    params.slots = (unsigned) vlcf->slots;
    params.min_value = vlcf->min_value;
    params.long_term_weight = vlcf->long_term_weight;
    params.explore = vlcf->explore;
    params.seed = vpt_hash(ctx->decision_id, 16);
    params.impressions = ctx->shopper.impressions;
    params.accepted = ctx->shopper.accepted;
    params.gate = NULL;
    params.pass = NULL;
    params.max_third_party = 0;

    /* advertisers: blocked, out of flight or budget, paced, capped */
    if (ngx_http_vpt_spend_gate(r, vlcf, ctx->shopper.impressions, &params)
        != NGX_OK)
    {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);
        return;
    }

    vpt_decide(vlcf->ranker, ctx->shopper.context, &params, scratch,
               &ctx->decision);

    if (ctx->variant == NGX_VPT_VARIANT_CONTROL) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_CONTROL);

    } else if (ctx->decision.n == 0) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);

    } else {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_INJECTED);
    }
}


/*
 * The body filter is at the anchor and the decision is there: NGX_OK with
 * ctx->markup to splice (the outcome is then "injected" and the
 * impressions are written), or NGX_DECLINED: nothing to show, the anchor
 * stays as it was.
 */

ngx_int_t
ngx_http_vpt_inject(ngx_http_vpt_ctx_t *ctx)
{
    ngx_str_t  id;

    if (ctx->verdict != NGX_VPT_CHOSEN) {
        return NGX_DECLINED;
    }

    if (ngx_http_vpt_render(ctx) != NGX_OK || ctx->markup.len == 0) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);
        return NGX_DECLINED;
    }

    ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_INJECTED, 1);

    id.data = ctx->decision_id;
    id.len = 16;

    ngx_vpt_store_record_decision(ctx->request, &ctx->shopper,
                                  &ctx->decision, &id);
    ngx_http_vpt_spend_impressions(ctx->request, &ctx->decision);

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_render(ngx_http_vpt_ctx_t *ctx)
{
    u_char                    *p;
    size_t                     i, len;
    vpt_offer_t               *offer;
    vpt_catalog_t             *catalog;
    vpt_render_vars_t          vars;
    ngx_http_request_t        *r;
    ngx_http_vpt_main_conf_t  *vmcf;

    r = ctx->request;
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    catalog = vmcf->catalog;

    vars.decision.data = (char *) ctx->decision_id;
    vars.decision.len = 16;
    vars.experiment.data = (char *) ctx->conf->split_name.data;
    vars.experiment.len = ctx->variant == NGX_VPT_VARIANT_NONE
                          ? 0 : ctx->conf->split_name.len;

    len = 0;

    for (i = 0; i < ctx->decision.n; i++) {
        offer = &catalog->offers[ctx->decision.offer[i]];
        len += vpt_render_size(offer, ctx->shopper.context, &vars);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->markup.data = p;

    for (i = 0; i < ctx->decision.n; i++) {
        offer = &catalog->offers[ctx->decision.offer[i]];
        p += vpt_render((char *) p, offer, ctx->shopper.context, &vars);
    }

    ctx->markup.len = p - ctx->markup.data;

    return NGX_OK;
}
