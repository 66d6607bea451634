/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Pacing in the tools: "--pass ID=P" (an advertiser's throttle), and a
 * one-slot policy's distribution over its offers when paced advertisers
 * take part by a draw: the same sum over draws and exploration that the
 * ranker logs as the propensity (vpt_propensity.h), so vpt-simulate and
 * vpt-eval agree with nginx on what a pacing policy does.
 */

#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"
#include "vpt_advertiser.h"


void
vpt_paced_init(vpt_paced_t *w, const vpt_ranker_t *r, const vpt_catalog_t *c)
{
    size_t  i;

    w->n = c->n;
    w->rscratch = vpt_xalloc(vpt_ranker_scratch_size(r));
    w->pscratch = vpt_xalloc(vpt_prop_scratch_size(c->n, c->nadvertisers));
    w->o = vpt_xalloc((c->n + 1) * sizeof(vpt_prop_offer_t));
    w->adv_pass = vpt_xalloc((c->nadvertisers + 1) * sizeof(double));
    w->adv_set = vpt_xalloc(c->nadvertisers + 1);
    w->pass = vpt_xalloc((c->n + 1) * sizeof(double));
    w->set = 0;

    for (i = 0; i < c->nadvertisers; i++) {
        w->adv_pass[i] = 1;
        w->adv_set[i] = 0;
    }

    for (i = 0; i < c->n; i++) {
        w->pass[i] = 1;
    }
}


void
vpt_paced_arg(vpt_paced_t *w, const vpt_catalog_t *c, const char *tool,
    const char *arg)
{
    long         k;
    size_t       i;
    double       p;
    vpt_str_t    id;
    const char  *eq;

    eq = strchr(arg, '=');

    if (eq == NULL || eq == arg
        || vpt_parse_num(eq + 1, strlen(eq + 1), &p) != VPT_OK
        || !(p >= 0 && p <= 1))
    {
        vpt_die(2, "%s: --pass: \"ADVERTISER=P\" with P from 0 to 1, not "
                "\"%s\"", tool, arg);
    }

    id.data = arg;
    id.len = (size_t) (eq - arg);
    k = vpt_adv_find(c, id);

    if (k < 0 || !vpt_str_eq(c->advertisers[k].id, id)) {
        vpt_die(2, "%s: --pass: the catalog has no advertiser \"%.*s\"",
                tool, (int) id.len, id.data);
    }

    w->adv_pass[k] = p;
    w->adv_set[k] = 1;
    w->set = 1;

    for (i = 0; i < c->n; i++) {
        if (c->offers[i].kind == VPT_KIND_THIRD_PARTY
            && c->offers[i].adv == k)
        {
            w->pass[i] = p;
        }
    }
}


size_t
vpt_policy_paced(vpt_paced_t *w, const vpt_ranker_t *r,
    const vpt_catalog_t *c, const vpt_context_t *ctx, vpt_page_e page,
    int hour, double ltw, double minv, double explore, const double *pass,
    uint32_t *idx, double *p, double *prob, double *nothing)
{
    size_t                i, m, list;
    vpt_decision_t        d;
    vpt_prop_offer_t     *o;
    const vpt_offer_t    *of;
    vpt_decide_params_t   dp;

    /* the qualifying offers (catalog order): the ranker's candidates */

    memset(&dp, 0, sizeof(vpt_decide_params_t));
    dp.page = page;
    dp.hour = hour;
    dp.slots = 1;
    dp.min_value = minv;
    dp.long_term_weight = ltw;

    vpt_decide(r, ctx, &dp, w->rscratch, &d);

    m = 0;

    for (i = 0; i < d.ncandidates; i++) {
        idx[m] = d.candidates[i];
        of = &c->offers[idx[m]];
        o = &w->o[m];

        /* the ranker's own EV, to the bit: ties go the same way */
        p[m] = vpt_ranker_p(r, ctx, page, hour, idx[m]);
        o->ev = p[m] * (vpt_ranker_value(r, idx[m])
                        + ltw * of->long_term_value)
                + of->impression_value;
        o->index = idx[m];
        o->pass = pass[idx[m]];
        o->third = (of->kind == VPT_KIND_THIRD_PARTY);
        o->group = 0;

        if (!(o->pass > 0)) {
            continue;               /* kept out whatever the draws */
        }

        if (o->pass < 1) {
            if (of->adv < 0) {
                o->pass = 1;
            } else {
                o->group = (uint32_t) of->adv;
            }
        }

        m++;
    }

    for (i = 0; i < m; i++) {
        list = i;
        vpt_prop_list(w->o, m, c->nadvertisers, &list, 1, explore, 0,
                      w->pscratch, &prob[i]);
    }

    *nothing = vpt_prop_nothing(w->o, m, c->nadvertisers, w->pscratch);

    return m;
}
