/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The decision: the ranker's choice for a shopper the store has read (on
 * a personal basis: the shop's context, its gaps filled from the request)
 * or for one it has not (on the request context alone: no counters, so no
 * capped offer), and, when the body filter reaches a placement's anchor,
 * that placement's offers' markup.  The decision is one for the page: its
 * slots are the placements' (ngx_vpt_placement.c), so no offer shows
 * twice.  It is final once the body filter has found every anchor or the
 * body ended (ngx_http_vpt_count_shown()): the offers shown are the decision
 * then, and their impressions are written (the store); an offer whose
 * anchor never came is not, nor anything of a preview.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static ngx_int_t ngx_http_vpt_decide_again(ngx_http_vpt_ctx_t *ctx);
static ngx_int_t ngx_http_vpt_render(ngx_http_vpt_ctx_t *ctx,
    ngx_uint_t place, ngx_str_t *markup, ngx_uint_t *offers);
static void ngx_http_vpt_keep_shown(ngx_http_vpt_ctx_t *ctx);


/*
 * The worker's render buffer: rendering never waits, so one is enough;
 * static, so nothing is left to free at exit.  Offers whose bound is
 * larger (many placeholders) render into the request's pool.
 */
static u_char  ngx_http_vpt_scratch[32768];
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

        vpt_context_clear(ctx->shopper.context);
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

    if (ngx_http_vpt_decide_again(ctx) == NGX_OK) {
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
    params.slots = (unsigned) vlcf->nslots;
    params.slot_kinds = vlcf->named ? vlcf->slot_kinds : NULL;
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
 * One decision per order: on the confirmation page of an order (context
 * order.id), the decision its first view showed, kept by the store, is
 * shown again with its id ($vpt_repeat 1): a reload is not a new
 * impression.  NGX_OK: decided so; NGX_DECLINED: decide as usual (and
 * the store keeps what is shown for this order).
 */

static ngx_int_t
ngx_http_vpt_decide_again(ngx_http_vpt_ctx_t *ctx)
{
    vpt_context_t  *c;

    c = ctx->shopper.context;

    if (ctx->conf->page != VPT_PAGE_CONFIRMATION || c->order_id.len == 0
        || c->order_id.len > NGX_VPT_ORDER_MAX
        || ctx->variant == NGX_VPT_VARIANT_CONTROL)
    {
        return NGX_DECLINED;
    }

    ctx->shopper.order.data = (u_char *) c->order_id.data;
    ctx->shopper.order.len = c->order_id.len;

    if (ngx_vpt_store_order_decision(ctx->request, &ctx->shopper,
                                     ctx->decision_id, &ctx->decision)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ctx->repeat = 1;
    ngx_http_vpt_decided(ctx, NGX_VPT_OUT_INJECTED);

    return NGX_OK;
}


/*
 * The body filter is at placement place's anchor and the decision is
 * there: NGX_OK with its offers' markup to splice, or NGX_DECLINED:
 * nothing to show there, the anchor stays as it was.
 */

ngx_int_t
ngx_http_vpt_inject(ngx_http_vpt_ctx_t *ctx, ngx_uint_t place,
    ngx_str_t *markup)
{
    ngx_uint_t  offers;

    if (ctx->verdict != NGX_VPT_CHOSEN || ctx->counted) {
        return NGX_DECLINED;
    }

    offers = 0;

    if (ngx_http_vpt_render(ctx, place, markup, &offers) != NGX_OK
        || markup->len == 0)
    {
        return NGX_DECLINED;
    }

    ctx->shown |= (ngx_uint_t) 1 << place;
    ctx->shown_offers |= offers;

    /* what a log line written now says; final in ngx_http_vpt_count_shown() */
    ngx_http_vpt_set_outcome(ctx, ctx->preview ? NGX_VPT_OUT_PREVIEW
                                               : NGX_VPT_OUT_INJECTED, 0);

    return NGX_OK;
}


/*
 * Every anchor was found, or the body ended: the offers shown are the
 * decision now (what $vpt_offer, the log and the counters see), and
 * their impressions are written; a page that showed none says why.
 */

void
ngx_http_vpt_count_shown(ngx_http_vpt_ctx_t *ctx)
{
    ngx_str_t  id;

    if (ctx->counted) {
        return;
    }

    ctx->counted = 1;

    if (ctx->verdict == NGX_VPT_UNDECIDED) {
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_NO_ANCHOR, 1);
        return;
    }

    if (ctx->verdict != NGX_VPT_CHOSEN) {
        return;
    }

    if (ctx->shown_offers == 0) {
        /* not one anchor that had offers came */
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_NO_ANCHOR, 1);
        return;
    }

    ngx_http_vpt_keep_shown(ctx);

    if (ctx->preview) {
        /* shown, but not an impression nor a decision to learn from */
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_PREVIEW, 1);
        return;
    }

    ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_INJECTED, 1);

    id.data = ctx->decision_id;
    id.len = 16;

    if (!ctx->repeat) {
        ngx_vpt_store_record_decision(ctx->request, &ctx->shopper,
                                      &ctx->decision, &id);
        ngx_http_vpt_spend_impressions(ctx->request, &ctx->decision);
    }
}


/* the decision keeps the offers shown, in slot order */

static void
ngx_http_vpt_keep_shown(ngx_http_vpt_ctx_t *ctx)
{
    size_t           i, n;
    vpt_decision_t  *d;

    d = &ctx->decision;
    n = 0;
    d->total_value = 0;

    for (i = 0; i < d->n; i++) {
        if (!(ctx->shown_offers & ((ngx_uint_t) 1 << i))) {
            continue;
        }

        d->offer[n] = d->offer[i];
        d->slot[n] = d->slot[i];
        d->p[n] = d->p[i];
        d->value[n] = d->value[i];
        d->propensity[n] = d->propensity[i];
        d->total_value += d->value[i];
        n++;
    }

    d->n = n;
}


/*
 * Placement place's offers, each in its wrapper; bit i of *offers: shown.
 * Renders once, into a buffer of the offers' bound (vpt_render_max()),
 * then copies the markup into the request's pool: sizing first, as
 * before, rendered twice.
 */

static ngx_int_t
ngx_http_vpt_render(ngx_http_vpt_ctx_t *ctx, ngx_uint_t place,
    ngx_str_t *markup, ngx_uint_t *offers)
{
    u_char                    *buf;
    size_t                     i, len, max;
    ngx_str_t                  id, experiment;
    vpt_offer_t               *offer;
    vpt_catalog_t             *catalog;
    vpt_render_vars_t          vars;
    ngx_http_request_t        *r;
    ngx_vpt_placement_t       *pl;
    ngx_http_vpt_main_conf_t  *vmcf;
    u_char                     sig[VPT_MAX_SLOTS][VPT_SIGN_ACCEPT_MAX];
    size_t                     siglen[VPT_MAX_SLOTS];

    r = ctx->request;
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    catalog = vmcf->catalog;
    pl = ctx->conf->places->elts;

    id.data = ctx->decision_id;
    id.len = 16;
    experiment.data = ctx->conf->split_name.data;
    experiment.len = ctx->variant == NGX_VPT_VARIANT_NONE
                     ? 0 : ctx->conf->split_name.len;

    vars.decision.data = (char *) id.data;
    vars.decision.len = id.len;
    vars.experiment.data = (char *) experiment.data;
    vars.experiment.len = experiment.len;
    vars.placement.data = (char *) pl[place].name.data;
    vars.placement.len = pl[place].name.len;
    vars.preview = ctx->preview;

    max = 0;

    /*
     * Each offer's link signs the decision, the offer and the experiment
     * (only the treatment is shown offers, so the arm is in it too)
     */

    for (i = 0; i < ctx->decision.n && i < VPT_MAX_SLOTS; i++) {
        if (ctx->conf->slot_place[ctx->decision.slot[i]] != place) {
            continue;
        }

        offer = &catalog->offers[ctx->decision.offer[i]];
        siglen[i] = ngx_http_vpt_sign_accept(r, &id, &offer->id,
                                             &experiment, sig[i]);

        vars.signature.data = (char *) sig[i];
        vars.signature.len = siglen[i];

        max += vpt_render_max(offer, &vars);
        *offers |= (ngx_uint_t) 1 << i;
    }

    markup->len = 0;

    if (max == 0) {
        return NGX_OK;
    }

    if (max <= sizeof(ngx_http_vpt_scratch)) {
        buf = ngx_http_vpt_scratch;

    } else {
        buf = ngx_pnalloc(r->pool, max);
        if (buf == NULL) {
            *offers = 0;
            return NGX_ERROR;
        }
    }

    len = 0;

    for (i = 0; i < ctx->decision.n && i < VPT_MAX_SLOTS; i++) {
        if (!(*offers & ((ngx_uint_t) 1 << i))) {
            continue;
        }

        offer = &catalog->offers[ctx->decision.offer[i]];

        vars.signature.data = (char *) sig[i];
        vars.signature.len = siglen[i];

        len += vpt_render((char *) buf + len, offer, ctx->shopper.context,
                          &vars);
    }

    markup->data = ngx_pnalloc(r->pool, len);
    if (markup->data == NULL) {
        *offers = 0;
        return NGX_ERROR;
    }

    ngx_memcpy(markup->data, buf, len);
    markup->len = len;

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
