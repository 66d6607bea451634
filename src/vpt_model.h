/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The factorization machine that turns a decision's features
 * (vpt_features.h) into an acceptance probability, and its model file.
 *
 * Model file (JSON):
 *   {"format": "vpt-fm", "k": 4, "bias": -2.1,
 *    "features": {"device=mobile": [w, v1, ..., vk], ...},
 *    "bins": {"f:age": [[30.5, 45.5], [25.5, 30.5, 38.5, 52.5]], ...},
 *    "values": {"party-dress": 41.5, ...},
 *    "meta": {...}}
 * "format", "k" (1..VPT_MODEL_MAX_K), "bias" and "features" are required,
 * "meta" (an object: trainer, date, metrics) is optional and ignored, any
 * other field is an error.  Each feature name contains '=' and has exactly
 * k + 1 finite numbers.  Features absent from the file have all-zero
 * parameters.
 *
 * "bins" (optional): for a numeric feature's name ("f:NAME" or "of:NAME"),
 * 1..VPT_MODEL_MAX_LEVELS resolutions, each 1..VPT_MODEL_MAX_EDGES
 * strictly increasing finite edges.  A number x falls in bin b of a
 * resolution l when b edges are <= x (vpt_bin_find()), and makes the
 * feature "NAME=#l:b" (vpt_feat_bin_text()) of each resolution; NaN
 * makes none.
 *
 * "values" (optional): an offer id's value per accept as learned from the
 * log (a finite number >= 0); the ranker uses it instead of the catalog's
 * "value".  Ids the catalog does not have are ignored.
 *
 * "trees" (optional): boosted trees over the shopper's features whose
 * leaves add to the logit (vpt_trees.h for their form).
 */

#ifndef VPT_MODEL_H
#define VPT_MODEL_H

#include "vpt_core.h"
#include "vpt_features.h"


#define VPT_MODEL_MAX_K       64
#define VPT_MODEL_MAX_LEVELS  8
#define VPT_MODEL_MAX_EDGES   4096


typedef struct vpt_model_s  vpt_model_t;

/* NULL on error; err names the file, the feature and what is wrong */
vpt_model_t *vpt_model_load(const char *path, char *err, size_t errlen);
vpt_model_t *vpt_model_parse(const char *json, size_t len, const char *name,
    char *err, size_t errlen);
void vpt_model_free(vpt_model_t *m);

unsigned vpt_model_k(const vpt_model_t *m);
double vpt_model_bias(const vpt_model_t *m);

/* [w, v1..vk] of a feature, or NULL when the model does not know it */
const float *vpt_model_lookup(const vpt_model_t *m, uint64_t hash);

/*
 * The parameter rows of one feature: a number with bins in the model has
 * one per resolution (those the model knows), anything else its
 * vpt_model_lookup().  At most VPT_MODEL_MAX_LEVELS; returns how many.
 */
size_t vpt_model_rows(const vpt_model_t *m, const vpt_feat_t *f,
    const float **rows);

/* an offer's value per accept from "values", or NaN when not listed */
double vpt_model_value(const vpt_model_t *m, vpt_str_t offer_id);

/*
 * The FM's raw score (logit) of a feature set, and the probability:
 *   bias + trees + sum_i w_i + 1/2 sum_f [(sum_i v_if)^2 - sum_i v_if^2]
 * over the rows of every feature (vpt_model_rows()).
 * Every listed feature has value 1: a hash listed twice counts twice
 * (its w twice, and its v paired with itself once).  Cheap paths (per
 * request / per offer sums) live in the ranker; this is the reference
 * implementation tools and tests compare against.
 */
double vpt_model_logit(const vpt_model_t *m, const vpt_feat_t *f, size_t n);

/*
 * The trees' part of that logit (0 without "trees"): the ranker adds it
 * once per request, as the trees test only the shopper's features.
 */
double vpt_model_trees(const vpt_model_t *m, const vpt_feat_t *f, size_t n);
size_t vpt_model_ntrees(const vpt_model_t *m);
double vpt_sigmoid(double x);


#endif /* VPT_MODEL_H */
