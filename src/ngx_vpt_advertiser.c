/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What a page reads of the advertisers: the gate a decision applies
 * (vpt_adv_gate() with this node's view of spend and pacing from
 * ngx_vpt_spend.c, vpt_block_advertisers, vpt_max_third_party), and the
 * advertisers' lines of the status page.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "ngx_vpt_spend_int.h"


static u_char *ngx_http_vpt_spend_money(u_char *p, u_char *last,
    int64_t m);


/*
 * vpt_block_advertisers into a per-offer map: a third_party offer whose
 * advertiser (its entry's id or one of its categories, or, without
 * "advertisers", its tag) is listed
 */

/*
 * vpt_block_advertisers NAME ...: every name, and those of each repeated
 * directive (the stock str_array slot keeps only each one's first)
 */

char *
ngx_http_vpt_block_advertisers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_vpt_loc_conf_t  *vlcf = conf;

    ngx_str_t   *value, *s;
    ngx_uint_t   i;

    if (vlcf->block_advertisers == NGX_CONF_UNSET_PTR
        || vlcf->block_advertisers == NULL)
    {
        vlcf->block_advertisers = ngx_array_create(cf->pool, 4,
                                                   sizeof(ngx_str_t));
        if (vlcf->block_advertisers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        s = ngx_array_push(vlcf->block_advertisers);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


char *
ngx_http_vpt_spend_merge(ngx_conf_t *cf, ngx_http_vpt_loc_conf_t *prev,
    ngx_http_vpt_loc_conf_t *conf)
{
    ngx_str_t                *name;
    vpt_str_t                 n;
    ngx_uint_t                i, j, found;
    vpt_offer_t              *o;
    vpt_catalog_t            *c;
    ngx_http_vpt_main_conf_t *vmcf;

    ngx_conf_merge_value(conf->max_third_party, prev->max_third_party, -1);

    if (conf->block_advertisers == NGX_CONF_UNSET_PTR) {
        conf->block_advertisers = prev->block_advertisers;
        conf->blocked = prev->blocked;
        return NGX_CONF_OK;
    }

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);
    c = vmcf->catalog;

    if (c == NULL || conf->block_advertisers == NULL) {
        return NGX_CONF_OK;
    }

    conf->blocked = ngx_pcalloc(cf->pool, c->n);
    if (conf->blocked == NULL) {
        return NGX_CONF_ERROR;
    }

    name = conf->block_advertisers->elts;

    for (j = 0; j < conf->block_advertisers->nelts; j++) {
        n.data = (const char *) name[j].data;
        n.len = name[j].len;
        found = 0;

        for (i = 0; i < c->n; i++) {
            o = &c->offers[i];

            if (o->kind != VPT_KIND_THIRD_PARTY) {
                continue;
            }

            if (vpt_str_eq(o->advertiser, n)
                || (o->adv >= 0 && (size_t) o->adv < c->nadvertisers
                    && vpt_adv_matches(&c->advertisers[o->adv], n)))
            {
                conf->blocked[i] = 1;
                found = 1;
            }
        }

        if (!found) {
            /* a block ahead of a catalog that names it is no error */
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "vpt_block_advertisers: \"%V\" is no "
                               "advertiser or category of an offer in "
                               "\"%V\"", &name[j], &vmcf->catalog_file);
        }
    }

    return NGX_CONF_OK;
}


/*
 * Per offer of the page: the gate and pacing's pass for the ranker; no
 * advertisers, no blocklist and no cap: nothing to do.
 */

ngx_int_t
ngx_http_vpt_spend_gate(ngx_http_request_t *r, ngx_http_vpt_loc_conf_t *vlcf,
    const uint32_t *impressions, vpt_decide_params_t *params)
{
    double                    *pass;
    uint8_t                   *gate;
    ngx_uint_t                 i, first_party;
    vpt_catalog_t             *c;
    vpt_adv_state_t           *st;
    ngx_vpt_spend_conf_t      *conf;
    ngx_vpt_spend_slot_t      *s;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    c = vmcf->catalog;
    conf = vmcf->spend;

    first_party = (vlcf->max_third_party == 0);

    if (vlcf->max_third_party > 0
        && vlcf->max_third_party < (ngx_int_t) params->slots)
    {
        params->max_third_party = (unsigned) vlcf->max_third_party;
    }

    if (c->nadvertisers == 0 && vlcf->blocked == NULL && !first_party) {
        return NGX_OK;
    }

    gate = ngx_palloc(r->pool, c->n);
    pass = ngx_palloc(r->pool, c->n * sizeof(double));
    st = ngx_pcalloc(r->pool, (c->nadvertisers + 1) * sizeof(vpt_adv_state_t));
    if (gate == NULL || pass == NULL || st == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < c->nadvertisers; i++) {
        st[i].pass = 1;
        s = ngx_http_vpt_spend_slot(conf, i);

        if (s == NULL) {
            continue;
        }

        ngx_http_vpt_spend_roll(conf, s);

        st[i].spent_day = ngx_http_vpt_spend_day_of(s);
        st[i].spent_total = ngx_http_vpt_spend_total_of(s);
        st[i].pass = (double) s->pass / NGX_VPT_PASS_ONE;
    }

    vpt_adv_gate(c, st, (int64_t) ngx_time(), impressions, first_party,
                 params->seed, gate, pass);

    if (vlcf->blocked != NULL) {
        for (i = 0; i < c->n; i++) {
            gate[i] |= vlcf->blocked[i];
        }
    }

    params->gate = gate;
    params->pass = pass;

    return NGX_OK;
}


/* the advertisers' lines of the status page, in r->pool */

ngx_int_t
ngx_http_vpt_spend_status(ngx_http_request_t *r, ngx_str_t *text)
{
    u_char                    *p, *last;
    size_t                     size;
    int64_t                    left, l2;
    ngx_uint_t                 i;
    ngx_vpt_spend_conf_t      *conf;
    ngx_vpt_spend_slot_t      *s;
    vpt_advertiser_t          *a;
    ngx_http_vpt_main_conf_t  *vmcf;

    text->len = 0;
    text->data = (u_char *) "";

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpt_module);
    conf = vmcf->spend;

    if (conf == NULL || conf->sh == NULL) {
        return NGX_OK;
    }

    size = 1024 + conf->catalog->nadvertisers * 7 * 160;

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text->data = p;
    last = p + size;

    p = ngx_slprintf(p, last,
            "# HELP vpt_advertiser_spend_total Spend since the advertiser "
            "began, all nodes as this node knows them.\n"
            "# TYPE vpt_advertiser_spend_total counter\n");

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        s = ngx_http_vpt_spend_slot(conf, i);
        if (s != NULL) {
            p = ngx_slprintf(p, last,
                             "vpt_advertiser_spend_total{advertiser=\"%*s\"} ",
                             s->len, s->id);
            p = ngx_http_vpt_spend_money(p, last,
                                         ngx_http_vpt_spend_total_of(s));
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP vpt_advertiser_spend_today Spend this budget day "
            "(vpt_budget_day), all nodes as this node knows them.\n"
            "# TYPE vpt_advertiser_spend_today gauge\n");

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        s = ngx_http_vpt_spend_slot(conf, i);
        if (s != NULL) {
            ngx_http_vpt_spend_roll(conf, s);
            p = ngx_slprintf(p, last,
                             "vpt_advertiser_spend_today{advertiser=\"%*s\"} ",
                             s->len, s->id);
            p = ngx_http_vpt_spend_money(p, last,
                                         ngx_http_vpt_spend_day_of(s));
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP vpt_advertiser_budget_remaining The smaller of the "
            "daily and the total budget left; +Inf without a budget.\n"
            "# TYPE vpt_advertiser_budget_remaining gauge\n");

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        s = ngx_http_vpt_spend_slot(conf, i);
        a = &conf->catalog->advertisers[i];

        if (s == NULL) {
            continue;
        }

        p = ngx_slprintf(p, last,
                         "vpt_advertiser_budget_remaining{advertiser=\"%*s\"} ",
                         s->len, s->id);

        if (a->daily_budget == VPT_MONEY_NONE
            && a->total_budget == VPT_MONEY_NONE)
        {
            p = ngx_slprintf(p, last, "+Inf\n");
            continue;
        }

        left = (a->daily_budget == VPT_MONEY_NONE) ? INT64_MAX
               : a->daily_budget - ngx_http_vpt_spend_day_of(s);
        l2 = (a->total_budget == VPT_MONEY_NONE) ? INT64_MAX
             : a->total_budget - ngx_http_vpt_spend_total_of(s);

        p = ngx_http_vpt_spend_money(p, last, ngx_min(left, l2));
    }

    p = ngx_slprintf(p, last,
            "# HELP vpt_advertiser_pacing_pass Share of pages the "
            "advertiser takes part in (pacing's throttle).\n"
            "# TYPE vpt_advertiser_pacing_pass gauge\n");

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        s = ngx_http_vpt_spend_slot(conf, i);
        if (s != NULL) {
            p = ngx_slprintf(p, last,
                             "vpt_advertiser_pacing_pass{advertiser=\"%*s\"} "
                             "%uA.%06uA\n", s->len, s->id,
                             s->pass / NGX_VPT_PASS_ONE,
                             s->pass % NGX_VPT_PASS_ONE);
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP vpt_advertiser_impressions_total Impressions of the "
            "advertiser's offers on this node.\n"
            "# TYPE vpt_advertiser_impressions_total counter\n");

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        s = ngx_http_vpt_spend_slot(conf, i);
        if (s != NULL) {
            p = ngx_slprintf(p, last, "vpt_advertiser_impressions_total"
                             "{advertiser=\"%*s\"} %uA\n", s->len, s->id,
                             s->impressions);
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP vpt_advertiser_accepts_total Accepts of the "
            "advertiser's offers on this node.\n"
            "# TYPE vpt_advertiser_accepts_total counter\n");

    for (i = 0; i < conf->catalog->nadvertisers; i++) {
        s = ngx_http_vpt_spend_slot(conf, i);
        if (s != NULL) {
            p = ngx_slprintf(p, last, "vpt_advertiser_accepts_total"
                             "{advertiser=\"%*s\"} %uA\n", s->len, s->id,
                             s->accepts);
        }
    }

    text->len = p - text->data;

    return NGX_OK;
}


/* millionths as a decimal number, and a newline */

static u_char *
ngx_http_vpt_spend_money(u_char *p, u_char *last, int64_t m)
{
    uint64_t  u;

    u = (m < 0) ? (uint64_t) -m : (uint64_t) m;

    return ngx_slprintf(p, last, "%s%uL.%06uL\n", m < 0 ? "-" : "",
                        u / VPT_MONEY_UNIT, u % VPT_MONEY_UNIT);
}
