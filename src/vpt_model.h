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
 * the same values).  Every feature is a category with value 1: a number
 * ("f:age": 41) becomes the bins the model file learned for its name
 * ("bins" below: one feature per resolution, "f:age=#0:1", "f:age=#3:17"),
 * or, when the model has no bins for it, its vpt_feat_bucket()
 * ("f:age=b5").
 *
 * Shopper namespaces:
 *   page=        cart | confirmation
 *   device=, referrer=, country=, intent=
 *                the context's string as-is: matching is case-sensitive,
 *                so the shop should write these in one case (the
 *                eligibility rules, unlike the model, ignore case)
 *   hour=        night (0-5) | morning (6-11) | afternoon (12-17) |
 *                evening (18-23), of local_hour, else the server's hour
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
 */

#ifndef VPT_MODEL_H
#define VPT_MODEL_H

#include "vpt_core.h"
#include "vpt_catalog.h"
#include "vpt_context.h"


#define VPT_MAX_FEATURES  160   /* per shopper or per offer */
#define VPT_MODEL_MAX_K   64
#define VPT_MODEL_MAX_LEVELS  8
#define VPT_MODEL_MAX_EDGES   4096


/*
 * The feature's text is ns ++ value, or ns ++ name ++ "=" ++ value for the
 * free-form namespaces ("f:", "of:") whose name comes from the data.
 */
typedef struct {
    uint64_t     hash;       /* vpt_hash of the text */
    vpt_str_t    ns;         /* "device=" (with the '='), or "f:" */
    vpt_str_t    name;       /* "segment" after "f:"/"of:"; len 0 else */
    vpt_str_t    value;      /* into the context, catalog or static */
    uint64_t     prefix;     /* a number's: vpt_hash of "ns name=" */
    double       num;        /* a number's value (value: its bucket) */
    unsigned     is_num;
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

/* the bin of x among n increasing edges: how many are <= x (NaN: n + 1) */
size_t vpt_bin_find(const double *edges, size_t n, double x);

/*
 * A bin's value text "#level:bin" into buf (at least 32 bytes), its length;
 * the feature's hash is vpt_hash_more(prefix, buf, length).
 */
size_t vpt_feat_bin_text(unsigned level, size_t bin, char *buf);


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
 *   bias + sum_i w_i + 1/2 sum_f [(sum_i v_if)^2 - sum_i v_if^2]
 * over the rows of every feature (vpt_model_rows()).
 * Every listed feature has value 1: a hash listed twice counts twice
 * (its w twice, and its v paired with itself once).  Cheap paths (per
 * request / per offer sums) live in the ranker; this is the reference
 * implementation tools and tests compare against.
 */
double vpt_model_logit(const vpt_model_t *m, const vpt_feat_t *f, size_t n);
double vpt_sigmoid(double x);


#endif /* VPT_MODEL_H */
