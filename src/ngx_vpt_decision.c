/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The decision: the ranker's choice for a shopper the store has read (on
 * a personal basis: the shop's context, its gaps filled from the request)
 * or for one it has not (on the request context alone: no counters, so no
 * capped offer), and, when the body filter reaches the anchor, the chosen
 * offers' markup.  A choice is final once its markup goes out: its
 * impressions are written then (the store), never for a page whose anchor
 * never came, nor for a preview.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static ngx_int_t ngx_http_vpt_render(ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_force(ngx_http_vpt_ctx_t *ctx);


void
ngx_http_vpt_decide(ngx_http_vpt_ctx_t *ctx)
{
    void                      *scratch;
    ngx_http_request_t        *r;
    vpt_decide_params_t        params;
    ngx_http_vpt_loc_conf_t   *vlcf;

    r = ctx->request;
    vlcf = ctx->conf;

    if (ctx->shopper.context == NULL) {
        ctx->shopper.context = ngx_palloc(r->pool, sizeof(vpt_context_t));
        if (ctx->shopper.context == NULL) {
            ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);
            return;
        }

        vpt_context_init(ctx->shopper.context);
        ctx->basis = NGX_VPT_BASIS_REQUEST;

    } else {
        ctx->basis = NGX_VPT_BASIS_PERSONAL;
    }

    /* the shop's values win, field by field */
    vpt_reqctx_apply(&ctx->reqctx, ctx->shopper.context);

    if (ctx->preview && ctx->preview_mode == VPT_PREVIEW_OFFER) {
        ngx_http_vpt_force(ctx);
        return;
    }

    if (vlcf->ranker == NULL) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);
        return;
    }

    scratch = ngx_palloc(r->pool, vpt_ranker_scratch_size(vlcf->ranker));
    if (scratch == NULL) {
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);
        return;
    }

    ngx_memzero(&params, sizeof(vpt_decide_params_t));

    /* the request's local hour (vpt_timezone), if the context has none */
    params.page = (vpt_page_e) vlcf->page;
    params.hour = ctx->reqctx.local_hour;
    params.slots = (unsigned) vlcf->slots;
    params.min_value = vlcf->min_value;
    params.long_term_weight = vlcf->long_term_weight;
    params.explore = vlcf->explore;
    params.seed = vpt_hash(ctx->decision_id, 16);
    params.impressions = ctx->shopper.impressions;
    params.accepted = ctx->shopper.accepted;
    params.no_capped = (ctx->basis == NGX_VPT_BASIS_REQUEST);
    params.no_third_party = (ctx->consent < NGX_VPT_CONSENT_ALL
                             && !ctx->preview);
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

    if (ctx->variant == NGX_VPT_VARIANT_CONTROL && !ctx->preview) {
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

    if (ctx->preview) {
        /* shown, but not an impression nor a decision to learn from */
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_PREVIEW, 1);
        return NGX_OK;
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
    vars.preview = ctx->preview;

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


/*
 * A preview of one offer (vpt_sign.h's "o" mode): shown whatever the
 * rules say, so QA sees it before it goes live; an id the catalog does
 * not have shows nothing.
 */

static void
ngx_http_vpt_force(ngx_http_vpt_ctx_t *ctx)
{
    long                       i;
    vpt_str_t                  id;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_vpt_module);

    id.data = (const char *) ctx->preview_value.data;
    id.len = ctx->preview_value.len;

    i = vpt_catalog_find(vmcf->catalog, id);

    if (i < 0) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "vpt: preview of \"%V\": no such offer",
                      &ctx->preview_value);
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_SUPPRESSED);
        return;
    }

    ngx_memzero(&ctx->decision, sizeof(vpt_decision_t));

    ctx->decision.n = 1;
    ctx->decision.offer[0] = (uint32_t) i;
    ctx->decision.propensity[0] = 1;
    ctx->decision.eligible = 1;

    ngx_http_vpt_decided(ctx, NGX_VPT_OUT_INJECTED);
}
