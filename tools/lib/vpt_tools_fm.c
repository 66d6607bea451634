/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The factorization machine under training (AdaGrad on the log-loss, L2 on
 * the parameters a row touches) and the numeric sketches its bins come
 * from.  See vpt_tools_fm.h.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools_fm.h"


void
vpt_fm_init(vpt_fm_t *fm)
{
    memset(fm, 0, sizeof(vpt_fm_t));
    fm->arena = vpt_arena_create();
    vpt_umap_init(&fm->map);
}


uint32_t
vpt_fm_id(vpt_fm_t *fm, uint64_t hash, const char *name, size_t len)
{
    int   added;
    long  id;

    id = vpt_umap_add(&fm->map, hash, &added);

    if (!added) {
        return (uint32_t) id;
    }

    if (fm->n == fm->cap) {
        fm->cap = fm->cap ? fm->cap * 2 : 4096;
        fm->hash = vpt_xrealloc(fm->hash, fm->cap * sizeof(uint64_t));
        fm->names = vpt_xrealloc(fm->names, fm->cap * sizeof(char *));
    }

    fm->hash[fm->n] = hash;
    fm->names[fm->n] = vpt_arena_strdup(fm->arena, name, len);
    fm->n++;

    return (uint32_t) id;
}


void
vpt_fm_reset(vpt_fm_t *fm, unsigned k, double lr, double l2, double bias)
{
    size_t     i, x;
    float     *p;
    uint64_t   rng;

    fm->k = k;
    fm->stride = k + 1;
    fm->lr = lr;
    fm->l2 = l2;
    fm->bias = bias;
    fm->gbias = 0;

    free(fm->p);
    free(fm->g);
    fm->p = vpt_xalloc((fm->n + 1) * fm->stride * sizeof(float));
    fm->g = vpt_xalloc((fm->n + 1) * fm->stride * sizeof(float));

    /* v small and random, a function of the feature and the seed */

    for (i = 0; i < fm->n; i++) {
        p = fm->p + i * fm->stride;
        rng = fm->hash[i] ^ (fm->seed * 0x9e3779b97f4a7c15ULL);

        for (x = 1; x <= k; x++) {
            p[x] = (float) (0.01 * (vpt_rand_unit(&rng) - 0.5) * 3.4641);
        }
    }
}


double
vpt_fm_logit(const vpt_fm_t *fm, const uint32_t *ids, size_t n, double *S)
{
    double        logit, sq;
    size_t        i, x, k;
    const float  *p;

    k = fm->k;
    logit = fm->bias;
    sq = 0;

    for (x = 0; x < k; x++) {
        S[x] = 0;
    }

    for (i = 0; i < n; i++) {
        p = fm->p + ids[i] * fm->stride;
        logit += p[0];

        for (x = 0; x < k; x++) {
            S[x] += p[1 + x];
            sq += (double) p[1 + x] * p[1 + x];
        }
    }

    logit -= 0.5 * sq;

    for (x = 0; x < k; x++) {
        logit += 0.5 * S[x] * S[x];
    }

    return logit;
}


void
vpt_fm_step(vpt_fm_t *fm, const uint32_t *ids, size_t n, int label,
    double weight)
{
    double   S[VPT_MODEL_MAX_K], g, d, lr, l2;
    size_t   i, x, k;
    float   *p, *gs;

    k = fm->k;
    lr = fm->lr;
    l2 = fm->l2;

    g = weight * (vpt_sigmoid(vpt_fm_logit(fm, ids, n, S)) - label);

    fm->gbias += g * g;
    fm->bias -= lr * g / sqrt(fm->gbias + 1e-8);

    for (i = 0; i < n; i++) {
        p = fm->p + ids[i] * fm->stride;
        gs = fm->g + ids[i] * fm->stride;

        d = g + l2 * p[0];
        gs[0] += (float) (d * d);
        p[0] -= (float) (lr * d / sqrt(gs[0] + 1e-8));

        for (x = 0; x < k; x++) {
            d = g * (S[x] - p[1 + x]) + l2 * p[1 + x];
            gs[1 + x] += (float) (d * d);
            p[1 + x] -= (float) (lr * d / sqrt(gs[1 + x] + 1e-8));
        }
    }
}


void
vpt_fm_scale(vpt_fm_t *fm, double a, double b)
{
    size_t   i, x;
    float   *p;
    double   r;

    r = sqrt(a);
    fm->bias = a * fm->bias + b;

    for (i = 0; i < fm->n; i++) {
        p = fm->p + i * fm->stride;
        p[0] = (float) (a * p[0]);

        for (x = 1; x <= fm->k; x++) {
            p[x] = (float) (r * p[x]);
        }
    }
}


/* the sketches */

void
vpt_sketch_init(vpt_sketch_t *s, uint64_t prefix, const char *name,
    size_t len, uint64_t seed)
{
    memset(s, 0, sizeof(vpt_sketch_t));
    s->prefix = prefix;
    s->name = vpt_xalloc(len + 1);
    memcpy(s->name, name, len);
    s->rng = prefix ^ seed;
    s->sample = vpt_xalloc(VPT_SKETCH_SAMPLE * sizeof(double));
    s->distinct = vpt_xalloc(2 * VPT_SKETCH_DISTINCT * sizeof(double));
    s->used = vpt_xalloc(2 * VPT_SKETCH_DISTINCT);
}


void
vpt_sketch_add(vpt_sketch_t *s, double x)
{
    size_t    i, mask;
    uint64_t  bits, r;

    if (!isfinite(x)) {
        return;
    }

    x = (x == 0) ? 0 : x;               /* -0 is 0 */
    s->count++;

    if (s->nsample < VPT_SKETCH_SAMPLE) {
        s->sample[s->nsample++] = x;

    } else {
        r = (uint64_t) (vpt_rand_unit(&s->rng) * (double) s->count);
        if (r < VPT_SKETCH_SAMPLE) {
            s->sample[r] = x;
        }
    }

    if (s->overflow) {
        return;
    }

    memcpy(&bits, &x, sizeof(bits));
    mask = 2 * VPT_SKETCH_DISTINCT - 1;

    for (i = (bits * 0x9e3779b97f4a7c15ULL) >> 53 & mask;
         s->used[i];
         i = (i + 1) & mask)
    {
        if (s->distinct[i] == x) {
            return;
        }
    }

    if (s->ndistinct == VPT_SKETCH_DISTINCT) {
        s->overflow = 1;
        return;
    }

    s->used[i] = 1;
    s->distinct[i] = x;
    s->ndistinct++;
}


static int
vpt_cmp_double(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}


/* quantile edges of nb bins from the sorted values v (n of them) */

static size_t
vpt_sketch_quantiles(const double *v, size_t n, size_t nb, double *edges)
{
    size_t  q, j, ne;
    double  e;

    ne = 0;

    for (q = 1; q < nb; q++) {
        j = (size_t) ((double) q * n / nb);

        /* the edge below v[j]: between it and the value before */
        while (j > 0 && v[j - 1] == v[j]) {
            j--;
        }

        if (j == 0) {
            continue;
        }

        e = v[j - 1] + (v[j] - v[j - 1]) / 2;

        if (ne == 0 || e > edges[ne - 1]) {
            edges[ne++] = e;
        }
    }

    return ne;
}


void
vpt_sketch_bins(vpt_sketch_t *s)
{
    static const size_t  nbins[] = { 4, 16, 64 };

    double   *v, *e;
    size_t    i, n, ne;
    unsigned  l;

    v = vpt_xalloc((s->nsample + VPT_SKETCH_DISTINCT + 1) * sizeof(double));
    e = vpt_xalloc((VPT_SKETCH_DISTINCT + 256) * sizeof(double));

    memcpy(v, s->sample, s->nsample * sizeof(double));
    qsort(v, s->nsample, sizeof(double), vpt_cmp_double);

    s->nlevels = 0;

    for (l = 0; l <= 3; l++) {
        if (l < 3) {
            ne = vpt_sketch_quantiles(v, s->nsample, nbins[l], e);

        } else if (s->overflow) {
            ne = vpt_sketch_quantiles(v, s->nsample, 256, e);

        } else {
            /* every distinct value its own bin */
            n = 0;

            for (i = 0; i < 2 * VPT_SKETCH_DISTINCT; i++) {
                if (s->used[i]) {
                    v[n++] = s->distinct[i];
                }
            }

            qsort(v, n, sizeof(double), vpt_cmp_double);
            ne = 0;

            for (i = 1; i < n; i++) {
                e[ne++] = v[i - 1] + (v[i] - v[i - 1]) / 2;
            }
        }

        if (ne == 0) {
            continue;
        }

        if (s->nlevels > 0 && ne == s->nedges[s->nlevels - 1]
            && memcmp(e, s->edges[s->nlevels - 1], ne * sizeof(double)) == 0)
        {
            continue;
        }

        s->edges[s->nlevels] = vpt_xalloc(ne * sizeof(double));
        memcpy(s->edges[s->nlevels], e, ne * sizeof(double));
        s->nedges[s->nlevels] = ne;
        s->nlevels++;
    }

    free(v);
    free(e);
}
