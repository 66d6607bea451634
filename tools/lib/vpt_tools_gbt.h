/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The boosted trees vpt-train grows on the shopper's side (vpt_trees.h is
 * what nginx reads of them): Newton boosting on the log-loss, trees of
 * depth VPT_GBT_DEPTH grown level by level from histograms, the number of
 * trees chosen on the held-out rows.
 *
 * A row is a list of items: a category feature (its vpt_fm_t id) or a
 * number's bin (sketch s, bin b of the sketch's finest resolution of at
 * most 255 edges, VPT_GBT_NUM(s, b)).  The rows live in memory, at most
 * VPT_GBT_ROWS for training and as many held out, so memory is bounded.
 */

#ifndef VPT_TOOLS_GBT_H
#define VPT_TOOLS_GBT_H

#include "vpt_tools_fm.h"


#define VPT_GBT_ROWS      100000
#define VPT_GBT_DEPTH     4
#define VPT_GBT_TREES     100
#define VPT_GBT_PATIENCE  20
#define VPT_GBT_RATE      0.1
#define VPT_GBT_LAMBDA    1.0
#define VPT_GBT_MIN_ROWS  20

#define VPT_GBT_NUM_FLAG  0x80000000u
#define VPT_GBT_NUM(s, b) (VPT_GBT_NUM_FLAG | ((uint32_t) (s) << 9) \
                           | (uint32_t) (b))


typedef struct {
    size_t       n;
    size_t       cap;
    uint8_t     *y;
    size_t      *off;           /* n + 1 */
    uint32_t    *item;
    size_t       nitem;
    size_t       capitem;
} vpt_gbt_rows_t;


typedef struct {
    int          kind;          /* 0 leaf, 1 category, 2 number */
    uint32_t     col;           /* the column tested */
    uint32_t     bin;           /* a number: yes when its bin <= this */
    uint32_t     yes;           /* node indexes within the tree */
    uint32_t     no;
    double       leaf;
} vpt_gbt_node_t;


typedef struct {
    vpt_gbt_rows_t   train;
    vpt_gbt_rows_t   held;

    /* the columns and their histogram slots */
    size_t           ncol;
    uint32_t        *col_item;      /* a category's id, or a sketch */
    int             *col_kind;
    size_t          *col_slot;      /* first slot */
    size_t          *col_nbin;      /* slots */
    size_t           nslot;
    uint32_t        *slot_col;
    vpt_umap_t       cols;          /* an item's column key -> column */

    /* the trees kept */
    vpt_gbt_node_t  *nodes;
    size_t           nnodes;
    size_t           capnodes;
    size_t          *roots;
    size_t           ntrees;

    double           base;          /* the starting logit */
    double           logloss;       /* held-out, at the trees kept */
    double          *fheld;         /* held-out margins, trees only */
} vpt_gbt_t;


void vpt_gbt_add(vpt_gbt_rows_t *rows, int label, const uint32_t *items,
    size_t n);

/*
 * Grows the trees on gbt->train, choosing their number on gbt->held
 * (which must not be empty); progress on stderr when asked.
 */
void vpt_gbt_fit(vpt_gbt_t *gbt, const vpt_sketch_t *sk, int progress);

#define VPT_GBT_MAX_ITEMS  4096

/* the leaves' sum (no base) of one row's items, as vpt_gbt_add() took */
double vpt_gbt_score(const vpt_gbt_t *gbt, const uint32_t *items, size_t n);

/* the held-out row i's margin: base + the trees */
double vpt_gbt_held(const vpt_gbt_t *gbt, size_t i);

/* the sketch's resolution the trees bin it by, or -1 */
int vpt_gbt_level(const vpt_sketch_t *s);

/* multiplies every leaf and the base by c */
void vpt_gbt_scale(vpt_gbt_t *gbt, double c);

/*
 * "trees": [...] as vpt_trees.h reads it, the base left out (the caller
 * folds it into the FM's bias); names: the FM's feature names.
 */
void vpt_gbt_write(const vpt_gbt_t *gbt, FILE *f, char *const *names,
    const vpt_sketch_t *sk);

void vpt_gbt_free(vpt_gbt_t *gbt);

/*
 * Stacking: the a, c, b of p = sigmoid(a * x + c * y + b) that maximise
 * the likelihood of labels; Newton's method, n pairs.
 */
void vpt_stack_fit(const double *x, const double *y, const uint8_t *label,
    size_t n, double *a, double *c, double *b);


#endif /* VPT_TOOLS_GBT_H */
