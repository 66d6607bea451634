/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Boosted trees on the shopper's side of a decision: a model's "trees"
 * (vpt_model.h) add their leaves' sum to the logit.  They test only the
 * shopper's features, so nginx walks them once per request and the cost
 * per offer stays the factorization machine's O(k).
 *
 * In the model file, "trees" is an array of trees, each an array of
 * nodes; a tree starts at its node 0:
 *   {"feature": "f:job=admin.", "yes": 1, "no": 2}
 *       yes when the decision has that category feature
 *   {"number": "f:age", "below": 30.5, "yes": 1, "no": 2}
 *       yes when the number is below the threshold; a missing number
 *       (or NaN) goes "no"
 *   {"leaf": -0.21}
 *       adds the number to the logit
 * "yes" and "no" are indexes of later nodes of the same tree, so every
 * walk ends at a leaf.  A test of an offer's namespace ("offer=", "kind=",
 * "advertiser=", "of:") is an error: the trees see the shopper alone.
 */

#ifndef VPT_TREES_H
#define VPT_TREES_H

#include <jansson.h>

#include "vpt_core.h"
#include "vpt_features.h"


#define VPT_TREES_MAX        1024   /* trees per model */
#define VPT_TREES_MAX_NODES  1024   /* nodes per tree */
#define VPT_TREES_MAX_KEYS   512    /* distinct features tested */


typedef struct vpt_trees_s  vpt_trees_t;

/* NULL on error, with err as "model "NAME": "trees"[t][n]: what" */
vpt_trees_t *vpt_trees_parse(json_t *trees, const char *name, char *err,
    size_t errlen);
void vpt_trees_free(vpt_trees_t *t);
size_t vpt_trees_count(const vpt_trees_t *t);

/* the sum of the leaves the features reach (0 for NULL) */
double vpt_trees_score(const vpt_trees_t *t, const vpt_feat_t *f, size_t n);


#endif /* VPT_TREES_H */
