/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The ranker and the model as the tools use them: the features of a
 * (context, offer) pair, the offers a policy may show, model files.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpt_tools.h"


size_t
vpt_row_features(const vpt_context_t *ctx, vpt_page_e page, int hour,
    const vpt_offer_t *o, vpt_feat_t *out, size_t max)
{
    size_t  n;

    n = vpt_features_shopper(ctx, page, hour, out, max);

    return n + vpt_features_offer(o, out + n, max - n);
}


size_t
vpt_policy_offers(const vpt_ranker_t *r, const vpt_catalog_t *c,
    const vpt_context_t *ctx, vpt_page_e page, int hour, double ltw,
    double minv, void *scratch, uint32_t *idx, double *p)
{
    size_t                i, m, best;
    double                ev, bev, tp;
    uint32_t              ti;
    vpt_decision_t        d;
    const vpt_offer_t    *o;
    vpt_decide_params_t   dp;

    memset(&dp, 0, sizeof(vpt_decide_params_t));
    dp.page = page;
    dp.hour = hour;
    dp.slots = VPT_MAX_SLOTS;
    dp.min_value = minv;
    dp.long_term_weight = ltw;

    vpt_decide(r, ctx, &dp, scratch, &d);

    if (d.n < VPT_MAX_SLOTS) {
        for (i = 0; i < d.n; i++) {
            idx[i] = d.offer[i];
            p[i] = d.p[i];
        }
        return d.n;
    }

    m = 0;
    best = 0;
    bev = 0;

    for (i = 0; i < c->n; i++) {
        o = &c->offers[i];

        if (!vpt_eligible(o, ctx, page, hour, 0, 0)) {
            continue;
        }

        tp = vpt_ranker_p(r, ctx, page, hour, i);
        ev = tp * (vpt_ranker_value(r, i) + ltw * o->long_term_value);

        if (!(ev >= minv)) {
            continue;
        }

        if (m == 0 || ev > bev) {
            best = m;
            bev = ev;
        }

        idx[m] = (uint32_t) i;
        p[m] = tp;
        m++;
    }

    if (best != 0) {
        ti = idx[0];
        idx[0] = idx[best];
        idx[best] = ti;
        tp = p[0];
        p[0] = p[best];
        p[best] = tp;
    }

    return m;
}


void
vpt_model_dump(FILE *f, unsigned k, double bias, size_t n,
    char *const *names, const float *params, const char *meta)
{
    int           first;
    size_t        i, x;
    const float  *p;

    fprintf(f, "{\"format\": \"vpt-fm\", \"k\": %u, \"bias\": %.9g,\n"
            " \"meta\": %s,\n \"features\": {", k, bias, meta);

    first = 1;

    for (i = 0; i < n; i++) {
        p = params + i * (k + 1);

        for (x = 0; x <= k && p[x] == 0; x++) {
            /* void */
        }

        if (x > k) {
            continue;
        }

        fputs(first ? "\n  " : ",\n  ", f);
        vpt_json_str(f, names[i], strlen(names[i]));
        fputs(": [", f);

        for (x = 0; x <= k; x++) {
            fprintf(f, x ? ", %.9g" : "%.9g", p[x]);
        }

        fputc(']', f);
        first = 0;
    }

    fputs("\n }}\n", f);
}


int
vpt_model_write(const char *path, unsigned k, double bias, size_t n,
    char *const *names, const float *params, const char *meta)
{
    char  *tmp;
    FILE  *f;

    tmp = vpt_xalloc(strlen(path) + 5);
    sprintf(tmp, "%s.tmp", path);

    f = fopen(tmp, "w");
    if (f == NULL) {
        free(tmp);
        return VPT_ERROR;
    }

    vpt_model_dump(f, k, bias, n, names, params, meta);

    if (ferror(f) | fclose(f)) {
        unlink(tmp);
        free(tmp);
        return VPT_ERROR;
    }

    if (rename(tmp, path) != 0) {
        unlink(tmp);
        free(tmp);
        return VPT_ERROR;
    }

    free(tmp);

    return VPT_OK;
}
