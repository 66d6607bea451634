/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Features and the factorization machine that turns them into an
 * acceptance probability.  tools/vpt-train links this very file, so the
 * features a model is trained on are the features nginx computes.
 *
 * A feature is the string "namespace=value" (e.g. "device=mobile",
 * "cart_cat=toys", "f:segment=new", "offer=loyalty"), identified by its
 * vpt_hash().  Numbers are bucketed (see vpt_features.c) so every feature is
 * a category with value 1.
 *
 * Model file (JSON):
 *   {"format": "vpt-fm", "k": 4, "bias": -2.1,
 *    "features": {"device=mobile": [w, v1, ..., vk], ...}}
 * Features absent from the file have all-zero parameters.
 */

#ifndef VPT_MODEL_H
#define VPT_MODEL_H

#include "vpt_core.h"
#include "vpt_catalog.h"
#include "vpt_context.h"


#define VPT_MAX_FEATURES  160   /* per shopper or per offer */
#define VPT_MODEL_MAX_K   64


typedef struct {
    uint64_t     hash;       /* vpt_hash of ns ++ value */
    vpt_str_t    ns;         /* "device=" (with the '='), for tools */
    vpt_str_t    value;      /* points into the context or the catalog */
} vpt_feat_t;


/*
 * Shopper-side features of one decision: page, device, referrer, country,
 * hour bucket (context's local_hour, else the hour given), loyalty, order
 * count bucket, cart and history categories, intent, and every context
 * "features" entry.  Returns how many were written (at most max).
 * Number buckets are written to buf (bucket names are static strings, so
 * buf is not needed today; it is here so the signature can stay).
 */
size_t vpt_features_shopper(const vpt_context_t *ctx, vpt_page_e page,
    int hour, vpt_feat_t *out, size_t max);

/* offer-side features: id, kind, advertiser, the offer's "features" */
size_t vpt_features_offer(const vpt_offer_t *o, vpt_feat_t *out,
    size_t max);


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
 * The FM's raw score (logit) of a feature set, and the probability.
 * Cheap paths (per request / per offer sums) live in the ranker; this is
 * the reference implementation tools and tests compare against.
 */
double vpt_model_logit(const vpt_model_t *m, const vpt_feat_t *f, size_t n);
double vpt_sigmoid(double x);


#endif /* VPT_MODEL_H */
