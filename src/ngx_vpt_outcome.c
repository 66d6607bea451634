/*
 * Copyright (C) ngx_vpt_module authors
 *
 * A request's one outcome: what $vpt_status prints, the log phase counts
 * and the status page lists, from ctx->outcome through the table below.
 *
 * It is kept true at every moment, so that a log line written at any
 * point (a client gone, a body cut) says what happened so far:
 *
 *   created          skipped, or control for a control shopper
 *   filtering        no_anchor until the lookup or the anchor says more
 *   decided          the decision's outcome; offers chosen read no_anchor
 *                    until they are spliced
 *   final            injected, no_anchor, skipped (the filters), accept
 *                    (the beacon): a later answer of Redis changes nothing
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


ngx_str_t  ngx_vpt_outcome_names[] = {
    ngx_null_string,
    ngx_string("injected"),
    ngx_string("suppressed"),
    ngx_string("control"),
    ngx_string("no_session"),
    ngx_string("no_context"),
    ngx_string("bad_context"),
    ngx_string("redis_timeout"),
    ngx_string("redis_error"),
    ngx_string("no_anchor"),
    ngx_string("skipped"),
    ngx_string("off"),
    ngx_string("accept"),
    ngx_string("bot"),
    ngx_string("preview")
};

/* a name for every outcome */
typedef char  ngx_vpt_outcome_names_check[
    (sizeof(ngx_vpt_outcome_names) / sizeof(ngx_str_t) == NGX_VPT_OUT_N)
    ? 1 : -1];


void
ngx_http_vpt_set_outcome(ngx_http_vpt_ctx_t *ctx, ngx_vpt_outcome_e outcome,
    ngx_uint_t final)
{
    if (ctx->sealed) {
        return;
    }

    ctx->outcome = outcome;
    ctx->sealed = final ? 1 : 0;
}


/*
 * The decision step is over (a choice, or why there is none): the one
 * place that says so, for the lookup's callers, the ranker and the
 * filters giving up on Redis.
 */

void
ngx_http_vpt_decided(ngx_http_vpt_ctx_t *ctx, ngx_vpt_outcome_e outcome)
{
    switch (outcome) {

    case NGX_VPT_OUT_INJECTED:
        ctx->verdict = NGX_VPT_CHOSEN;

        /* shown only once spliced (ngx_http_vpt_inject()) */
        outcome = NGX_VPT_OUT_NO_ANCHOR;
        break;

    case NGX_VPT_OUT_SUPPRESSED:
        ctx->verdict = NGX_VPT_NOTHING;
        break;

    case NGX_VPT_OUT_CONTROL:
        ctx->verdict = NGX_VPT_HELD_OUT;
        break;

    default:
        ctx->verdict = NGX_VPT_FAILED;
    }

    ngx_http_vpt_set_outcome(ctx, outcome, 0);
}
