/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The shopper-side boosted trees (vpt_trees.h).  Every feature a node
 * tests is a key with a slot; scoring first looks each of the decision's
 * features up once (an open-addressing table of the keys), so walking a
 * node is one array read and a compare, whatever the number of features.
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_trees.h"


#define VPT_TREES_LEAF   0
#define VPT_TREES_CAT    1
#define VPT_TREES_NUM    2
#define VPT_TREES_SLOTS  (2 * VPT_TREES_MAX_KEYS)   /* a power of 2 */


/*
 * One test for both kinds: yes when val[key] < x, a category's x being
 * 0.5 (present: 0, absent: NaN); so the walk has no branch on the kind
 * but the leaf's.
 */
typedef struct {
    double       x;          /* the threshold, or the leaf's value */
    uint32_t     next[2];    /* absolute node indexes: yes, no */
    uint16_t     key;        /* the slot of what a test reads */
    uint8_t      kind;
} vpt_node_t;


struct vpt_trees_s {
    vpt_node_t  *nodes;
    size_t       nnodes;
    uint32_t    *roots;
    size_t       ntrees;
    size_t       nkeys;
    uint64_t     keys[VPT_TREES_SLOTS];     /* the hash, or a prefix */
    uint8_t      kinds[VPT_TREES_SLOTS];    /* 0: empty */
    uint16_t     slot[VPT_TREES_SLOTS];     /* the key's index */
};


static int vpt_trees_node(vpt_trees_t *t, json_t *jn, size_t tree,
    size_t node, size_t base, size_t n, const char *name, char *err,
    size_t errlen);
static int vpt_trees_offer_side(const char *s, size_t len);
static int vpt_trees_key(vpt_trees_t *t, uint64_t hash, uint8_t kind);
static int vpt_trees_find(const vpt_trees_t *t, uint64_t hash,
    uint8_t kind);
static void vpt_trees_err(char *err, size_t errlen, const char *name,
    const char *fmt, ...);


vpt_trees_t *
vpt_trees_parse(json_t *trees, const char *name, char *err, size_t errlen)
{
    size_t        i, j, n, total;
    json_t       *tree;
    vpt_trees_t  *t;

    if (!json_is_array(trees) || json_array_size(trees) > VPT_TREES_MAX) {
        vpt_trees_err(err, errlen, name, "\"trees\": expected an array of "
                      "at most %d trees", VPT_TREES_MAX);
        return NULL;
    }

    total = 0;

    json_array_foreach(trees, i, tree) {
        n = json_is_array(tree) ? json_array_size(tree) : 0;

        if (n < 1 || n > VPT_TREES_MAX_NODES) {
            vpt_trees_err(err, errlen, name, "\"trees\"[%zu]: expected an "
                          "array of 1 to %d nodes", i, VPT_TREES_MAX_NODES);
            return NULL;
        }

        total += n;
    }

    t = calloc(1, sizeof(vpt_trees_t));
    if (t == NULL) {
        vpt_trees_err(err, errlen, name, "out of memory");
        return NULL;
    }

    t->nodes = calloc(total + 1, sizeof(vpt_node_t));
    t->roots = calloc(json_array_size(trees) + 1, sizeof(uint32_t));

    if (t->nodes == NULL || t->roots == NULL) {
        vpt_trees_err(err, errlen, name, "out of memory");
        vpt_trees_free(t);
        return NULL;
    }

    json_array_foreach(trees, i, tree) {
        n = json_array_size(tree);
        t->roots[i] = (uint32_t) t->nnodes;

        for (j = 0; j < n; j++) {
            if (vpt_trees_node(t, json_array_get(tree, j), i, j, t->nnodes,
                               n, name, err, errlen)
                != VPT_OK)
            {
                vpt_trees_free(t);
                return NULL;
            }
        }

        t->nnodes += n;
        t->ntrees++;
    }

    return t;
}


void
vpt_trees_free(vpt_trees_t *t)
{
    if (t == NULL) {
        return;
    }

    free(t->nodes);
    free(t->roots);
    free(t);
}


size_t
vpt_trees_count(const vpt_trees_t *t)
{
    return t ? t->ntrees : 0;
}


/*
 * val[key]: a category present is 0, a number its value, anything absent
 * NaN, which no "<" holds: the absent go "no".
 */

double
vpt_trees_score(const vpt_trees_t *t, const vpt_feat_t *f, size_t n)
{
    int                s;
    double             sum, val[VPT_TREES_MAX_KEYS], v;
    size_t             i;
    const vpt_node_t  *nd;

    if (t == NULL || t->ntrees == 0) {
        return 0;
    }

    for (i = 0; i < t->nkeys; i++) {
        val[i] = NAN;
    }

    for (i = 0; i < n; i++) {
        if (f[i].is_num) {
            s = vpt_trees_find(t, f[i].prefix, VPT_TREES_NUM);
            if (s >= 0 && isnan(val[s])) {
                val[s] = f[i].num;
            }

        } else {
            s = vpt_trees_find(t, f[i].hash, VPT_TREES_CAT);
            if (s >= 0) {
                val[s] = 0;
            }
        }
    }

    sum = 0;

    for (i = 0; i < t->ntrees; i++) {
        nd = &t->nodes[t->roots[i]];

        while (nd->kind != VPT_TREES_LEAF) {
            v = val[nd->key];
            nd = &t->nodes[nd->next[!(v < nd->x)]];
        }

        sum += nd->x;
    }

    return sum;
}


static int
vpt_trees_node(vpt_trees_t *t, json_t *jn, size_t tree, size_t node,
    size_t base, size_t n, const char *name, char *err, size_t errlen)
{
    int          key, kind;
    size_t       len, fields;
    double       x;
    json_t      *leaf, *feature, *number, *below, *yes, *no;
    json_int_t   to[2];
    const char  *s;
    vpt_node_t  *nd;

    nd = &t->nodes[base + node];

    if (!json_is_object(jn)) {
        vpt_trees_err(err, errlen, name, "\"trees\"[%zu][%zu]: expected an "
                      "object", tree, node);
        return VPT_ERROR;
    }

    leaf = json_object_get(jn, "leaf");
    feature = json_object_get(jn, "feature");
    number = json_object_get(jn, "number");
    below = json_object_get(jn, "below");
    yes = json_object_get(jn, "yes");
    no = json_object_get(jn, "no");

    if (leaf != NULL) {
        x = json_number_value(leaf);

        if (json_object_size(jn) != 1 || !json_is_number(leaf)
            || !isfinite(x))
        {
            vpt_trees_err(err, errlen, name, "\"trees\"[%zu][%zu]: a leaf "
                          "is {\"leaf\": NUMBER}", tree, node);
            return VPT_ERROR;
        }

        nd->kind = VPT_TREES_LEAF;
        nd->x = x;
        return VPT_OK;
    }

    fields = (feature != NULL) + (number != NULL) + (below != NULL)
             + (yes != NULL) + (no != NULL);

    if (fields != json_object_size(jn)
        || (feature != NULL) == (number != NULL)
        || (below != NULL) != (number != NULL))
    {
        vpt_trees_err(err, errlen, name, "\"trees\"[%zu][%zu]: expected "
                      "\"leaf\", \"feature\" with \"yes\" and \"no\", or "
                      "\"number\" and \"below\" with \"yes\" and \"no\"",
                      tree, node);
        return VPT_ERROR;
    }

    s = json_string_value(feature ? feature : number);
    len = s ? strlen(s) : 0;

    if (s == NULL || len == 0
        || (memchr(s, '=', len) == NULL) == (feature != NULL))
    {
        vpt_trees_err(err, errlen, name, "\"trees\"[%zu][%zu]: \"%s\": "
                      "expected %s", tree, node,
                      feature ? "feature" : "number",
                      feature ? "a feature \"namespace=value\""
                              : "a number's name, such as \"f:age\"");
        return VPT_ERROR;
    }

    if (vpt_trees_offer_side(s, len)) {
        vpt_trees_err(err, errlen, name, "\"trees\"[%zu][%zu]: \"%s\" is "
                      "an offer's feature; trees test the shopper's side "
                      "only", tree, node, s);
        return VPT_ERROR;
    }

    if (number != NULL) {
        x = json_number_value(below);

        if (!json_is_number(below) || isnan(x)) {
            vpt_trees_err(err, errlen, name, "\"trees\"[%zu][%zu]: "
                          "\"below\": expected a number", tree, node);
            return VPT_ERROR;
        }

        nd->x = x;
        kind = VPT_TREES_NUM;
        key = vpt_trees_key(t, vpt_hash_more(vpt_hash(s, len), "=", 1),
                            VPT_TREES_NUM);

    } else {
        nd->x = 0.5;
        kind = VPT_TREES_CAT;
        key = vpt_trees_key(t, vpt_hash(s, len), VPT_TREES_CAT);
    }

    if (key < 0) {
        vpt_trees_err(err, errlen, name, "\"trees\"[%zu][%zu]: more than "
                      "%d distinct features tested", tree, node,
                      VPT_TREES_MAX_KEYS);
        return VPT_ERROR;
    }

    to[0] = json_is_integer(yes) ? json_integer_value(yes) : -1;
    to[1] = json_is_integer(no) ? json_integer_value(no) : -1;

    if (to[0] <= (json_int_t) node || to[0] >= (json_int_t) n
        || to[1] <= (json_int_t) node || to[1] >= (json_int_t) n)
    {
        vpt_trees_err(err, errlen, name, "\"trees\"[%zu][%zu]: \"yes\" and "
                      "\"no\": expected indexes of later nodes of this tree "
                      "(%zu to %zu)", tree, node, node + 1, n - 1);
        return VPT_ERROR;
    }

    nd->kind = (uint8_t) kind;
    nd->key = (uint16_t) key;
    nd->next[0] = (uint32_t) (base + to[0]);
    nd->next[1] = (uint32_t) (base + to[1]);

    return VPT_OK;
}


/*
 * The offer's namespaces (vpt_features.h): the ranker walks the trees over
 * the shopper's features alone, so a test of these could never hold there
 * while it would in vpt_model_logit() over both sides.
 */

static int
vpt_trees_offer_side(const char *s, size_t len)
{
    static const char  *ns[] = { "offer=", "kind=", "advertiser=", "of:" };
    size_t              i, n;

    for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        n = strlen(ns[i]);
        if (len >= n && memcmp(s, ns[i], n) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the key's index, added when new; -1 when the table is full */

static int
vpt_trees_key(vpt_trees_t *t, uint64_t hash, uint8_t kind)
{
    int     s;
    size_t  i;

    s = vpt_trees_find(t, hash, kind);
    if (s >= 0) {
        return s;
    }

    if (t->nkeys >= VPT_TREES_MAX_KEYS) {
        return -1;
    }

    for (i = (hash * 0x9e3779b97f4a7c15ULL) >> 54;
         t->kinds[i] != 0;
         i = (i + 1) & (VPT_TREES_SLOTS - 1))
    {
        /* void */
    }

    t->keys[i] = hash;
    t->kinds[i] = kind;
    t->slot[i] = (uint16_t) t->nkeys;

    return (int) t->nkeys++;
}


static int
vpt_trees_find(const vpt_trees_t *t, uint64_t hash, uint8_t kind)
{
    size_t  i;

    /* the top 10 bits: VPT_TREES_SLOTS is 1024 */
    for (i = (hash * 0x9e3779b97f4a7c15ULL) >> 54;
         t->kinds[i] != 0;
         i = (i + 1) & (VPT_TREES_SLOTS - 1))
    {
        if (t->keys[i] == hash && t->kinds[i] == kind) {
            return t->slot[i];
        }
    }

    return -1;
}


static void
vpt_trees_err(char *err, size_t errlen, const char *name, const char *fmt,
    ...)
{
    int      n;
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    n = snprintf(err, errlen, "model \"%s\": ", name ? name : "-");

    if (n < 0 || (size_t) n >= errlen) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err + n, errlen - n, fmt, args);
    va_end(args);
}
