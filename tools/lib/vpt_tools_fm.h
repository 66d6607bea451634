/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What vpt-train learns with (vpt_tools_fm.c): the factorization machine's
 * parameters under training, and the sketches of numeric features from
 * which a model's bins are made; and its calibration (vpt_tools_calib.c).
 */

#ifndef VPT_TOOLS_FM_H
#define VPT_TOOLS_FM_H

#include "vpt_tools.h"


/* the vocabulary and the parameters: a row of k + 1 per feature */
typedef struct {
    unsigned     k;
    size_t       stride;            /* k + 1 */
    vpt_umap_t   map;
    size_t       n;
    size_t       cap;
    float       *p;                 /* n rows of [w, v1..vk] */
    float       *g;                 /* AdaGrad sums, same layout */
    uint64_t    *hash;              /* per feature, for the initial v */
    char       **names;
    vpt_arena_t *arena;
    double       bias;
    double       gbias;
    double       lr;
    double       l2;
    uint64_t     seed;
} vpt_fm_t;

void vpt_fm_init(vpt_fm_t *fm);

/* a feature's id, added with its name when new */
uint32_t vpt_fm_id(vpt_fm_t *fm, uint64_t hash, const char *name,
    size_t len);

/* fresh parameters of rank k for every feature; bias at the given logit */
void vpt_fm_reset(vpt_fm_t *fm, unsigned k, double lr, double l2,
    double bias);

/* the logit, and S (the sums of v, k of them) for the gradient */
double vpt_fm_logit(const vpt_fm_t *fm, const uint32_t *ids, size_t n,
    double *S);

/* one AdaGrad step on the log-loss of one row */
void vpt_fm_step(vpt_fm_t *fm, const uint32_t *ids, size_t n, int label,
    double weight);

/*
 * Platt scaling folded into the parameters: the logit becomes
 * a * logit + b (w and the bias scaled by a, v by sqrt(a)); a > 0.
 */
void vpt_fm_scale(vpt_fm_t *fm, double a, double b);


/*
 * A numeric feature's values in bounded memory: every distinct value up
 * to VPT_SKETCH_DISTINCT of them, and a uniform sample (reservoir) of
 * VPT_SKETCH_SAMPLE values for the quantiles.
 */
#define VPT_SKETCH_DISTINCT  1024
#define VPT_SKETCH_SAMPLE    32768

typedef struct {
    uint64_t     prefix;            /* vpt_hash of "f:NAME=" */
    char        *name;              /* "f:NAME" */
    uint64_t     count;
    uint64_t     rng;
    double      *sample;
    size_t       nsample;
    double      *distinct;          /* open addressing, 2 * DISTINCT */
    uint8_t     *used;
    size_t       ndistinct;
    int          overflow;          /* more distinct values than kept */

    /* the bins made of it */
    unsigned     nlevels;
    size_t       nedges[VPT_MODEL_MAX_LEVELS];
    double      *edges[VPT_MODEL_MAX_LEVELS];
} vpt_sketch_t;

void vpt_sketch_init(vpt_sketch_t *s, uint64_t prefix, const char *name,
    size_t len, uint64_t seed);
void vpt_sketch_add(vpt_sketch_t *s, double x);

/*
 * The resolutions: quantiles in 4, 16 and 64 bins, then every distinct
 * value its own bin (when there are at most VPT_SKETCH_DISTINCT), else
 * quantiles in 256 bins; a resolution that repeats the one before is left
 * out.  Edges are midpoints between neighbouring values seen.
 */
void vpt_sketch_bins(vpt_sketch_t *s);


/*
 * Calibration from a histogram of logits (vpt_tools_calib.c): Platt's a
 * and b (p = sigmoid(a * logit + b)) that maximise the likelihood, and
 * the rows, mean p and accept rate of each decile of p (10 each); returns
 * the expected calibration error, their mean |p - rate| weighted by rows.
 */
void vpt_platt_fit(const vpt_auc_t *h, double *a, double *b);
double vpt_calibration_deciles(const vpt_auc_t *h, double *n, double *p,
    double *y);


#endif /* VPT_TOOLS_FM_H */
