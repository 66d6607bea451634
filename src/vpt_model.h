/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The factorization machine that turns a decision's features
 * (vpt_features.h) into an acceptance probability, and its model file.
 *
 * Model file (JSON):
 *   {"format": "vpt-fm", "k": 4, "bias": -2.1,
 *    "features": {"device=mobile": [w, v1, ..., vk], ...},
 *    "meta": {...}}
 * "format", "k" (1..VPT_MODEL_MAX_K), "bias" and "features" are required,
 * "meta" (an object: trainer, date, metrics) is optional and ignored, any
 * other field is an error.  Each feature name contains '=' and has exactly
 * k + 1 finite numbers.  Features absent from the file have all-zero
 * parameters.
 */

#ifndef VPT_MODEL_H
#define VPT_MODEL_H

#include "vpt_core.h"
#include "vpt_features.h"


#define VPT_MODEL_MAX_K   64


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
 * The FM's raw score (logit) of a feature set, and the probability:
 *   bias + sum_i w_i + 1/2 sum_f [(sum_i v_if)^2 - sum_i v_if^2]
 * Every listed feature has value 1: a hash listed twice counts twice
 * (its w twice, and its v paired with itself once).  Cheap paths (per
 * request / per offer sums) live in the ranker; this is the reference
 * implementation tools and tests compare against.
 */
double vpt_model_logit(const vpt_model_t *m, const vpt_feat_t *f, size_t n);
double vpt_sigmoid(double x);


#endif /* VPT_MODEL_H */
