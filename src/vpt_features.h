/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The features of one decision: what the model scores and the trainer
 * learns from.  tools/vpt-train links this very file (vpt_features.c), so
 * the features a model is trained on are the features nginx computes.
 *
 * A feature is the string "namespace=value" (e.g. "device=mobile",
 * "cart_cat=toys", "f:segment=new", "offer=loyalty"), identified by its
 * vpt_hash() (FNV-1a over the whole text, so a model file's names hash to
 * the same values).  Every feature is a category with value 1: a number
 * ("f:age": 41) becomes the bins the model file learned for its name
 * (vpt_model.h's "bins": one feature per resolution, "f:age=#0:1",
 * "f:age=#3:17"), or, when the model has no bins for it, its
 * vpt_feat_bucket() ("f:age=b5").
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
 */

#ifndef VPT_FEATURES_H
#define VPT_FEATURES_H

#include "vpt_core.h"
#include "vpt_catalog.h"
#include "vpt_context.h"


#define VPT_MAX_FEATURES  160   /* per shopper or per offer */


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


#endif /* VPT_FEATURES_H */
