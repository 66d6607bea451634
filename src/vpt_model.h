/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Features and the factorization machine that turns them into an
 * acceptance probability.  tools/vpt-train links this very file, so the
 * features a model is trained on are the features nginx computes.
 *
 * A feature is the string "namespace=value" (e.g. "device=mobile",
 * "cart_cat=toys", "f:segment=new", "offer=loyalty"), identified by its
 * vpt_hash() (FNV-1a over the whole text, so a model file's names hash to
 * the same values).  Numbers are bucketed (vpt_feat_bucket()) so every
 * feature is a category with value 1.
 *
 * Shopper namespaces:
 *   page=        cart | confirmation
 *   device=, referrer=, country=, intent=
 *                the context's string as-is: matching is case-sensitive,
 *                so the shop should write these in one case (the
 *                eligibility rules, unlike the model, ignore case)
 *   hour=        night (0-5) | morning (6-11) | afternoon (12-17) |
 *                evening (18-23), of local_hour, else the server's hour
 *   weekday=     mon .. sun, the context's, else the request's (vpt_reqctx.h)
 *   loyal=       yes | no (omitted when unknown)
 *   orders=      0 | 1 | 2-3 | 4-7 | 8+ (omitted when unknown)
 *   cart_cat=    each distinct cart category
 *   hist_cat=    each distinct history category
 *   f:NAME=      each context "features" entry
 * Offer namespaces:
 *   offer=, kind=, advertiser= (third party only), of:NAME= (its features)
 * Empty strings are unknown and make no feature.
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
#include "vpt_catalog.h"
#include "vpt_context.h"


#define VPT_MAX_FEATURES  160   /* per shopper or per offer */
#define VPT_MODEL_MAX_K   64


/*
 * The feature's text is ns ++ value, or ns ++ name ++ "=" ++ value for the
 * free-form namespaces ("f:", "of:") whose name comes from the data.
 */
typedef struct {
    uint64_t     hash;       /* vpt_hash of the text */
    vpt_str_t    ns;         /* "device=" (with the '='), or "f:" */
    vpt_str_t    name;       /* "segment" after "f:"/"of:"; len 0 else */
    vpt_str_t    value;      /* into the context, catalog or static */
} vpt_feat_t;


/*
 * Shopper-side features of one decision, in the order of the namespace
 * list above.  Returns how many were written (at most max: the rest are
 * dropped).  Values point into ctx or to static strings.
 */
size_t vpt_features_shopper(const vpt_context_t *ctx, vpt_page_e page,
    int hour, vpt_feat_t *out, size_t max);

/* offer-side features: id, kind, advertiser, the offer's "features" */
size_t vpt_features_offer(const vpt_offer_t *o, vpt_feat_t *out,
    size_t max);

/*
 * A number's bucket, a static string: "b" (or "-b" when negative) and
 * floor(log2(1 + |x|)), at most 63: 0 -> "b0", 1 -> "b1", 3 -> "b2",
 * 31 -> "b5", -2 -> "-b1"; NaN -> "nan".
 */
const char *vpt_feat_bucket(double x);

/* the text into buf (NUL-terminated, cut to len - 1); the full length */
size_t vpt_feat_text(const vpt_feat_t *f, char *buf, size_t len);


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
