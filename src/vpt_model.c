/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Just past 800 lines: the file's validation and its error messages are
 * most of it, and they belong with the format they check.
 *
 * The factorization machine: its file, its parameters and the reference
 * score (the shopper-side trees' part is vpt_trees.c's).  Parameters are one flat float array, a row of k + 1 ([w, v1..vk])
 * per feature; an open-addressing table (linear probing, load factor at
 * most 1/2) maps a feature's hash to its row.  A number's bins resolve,
 * when the file is read, to each bin's row, so scoring a number costs a
 * binary search per resolution.
 */

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vpt_model.h"
#include "vpt_trees.h"


#define VPT_MODEL_EMPTY  0xffffffffu
#define VPT_MODEL_MAX_FILE  (256 * 1024 * 1024)


typedef struct {
    uint64_t       prefix;     /* vpt_hash of "f:NAME=" */
    unsigned       nlevels;
    size_t         nedges[VPT_MODEL_MAX_LEVELS];
    double        *edges[VPT_MODEL_MAX_LEVELS];
    const float  **rows[VPT_MODEL_MAX_LEVELS];  /* nedges + 1 each */
} vpt_model_bins_t;


typedef struct {
    uint64_t       hash;       /* vpt_hash of the offer id */
    double         value;
} vpt_model_value_t;


struct vpt_model_s {
    vpt_model_bins_t   *bins;  /* sorted by prefix */
    size_t              nbins;
    vpt_model_value_t  *values;    /* sorted by hash */
    size_t              nvalues;
    vpt_trees_t        *trees;     /* NULL: none */
    unsigned     k;
    double       bias;
    size_t       n;          /* features */
    float       *params;     /* n rows of k + 1 */
    uint64_t    *keys;       /* cap slots: feature hashes */
    uint32_t    *rows;       /* cap slots: row, or VPT_MODEL_EMPTY */
    unsigned     shift;      /* 64 - log2(cap) */
};


static int vpt_model_read(vpt_model_t *m, json_t *root, const char *name,
    char *err, size_t errlen);
static int vpt_model_row(vpt_model_t *m, size_t row, const char *feature,
    json_t *vec, const char *name, char *err, size_t errlen);
static int vpt_model_read_bins(vpt_model_t *m, json_t *bins,
    const char *name, char *err, size_t errlen);
static int vpt_model_read_values(vpt_model_t *m, json_t *values,
    const char *name, char *err, size_t errlen);
static int vpt_model_cmp_bins(const void *a, const void *b);
static int vpt_model_cmp_values(const void *a, const void *b);
static int vpt_model_insert(vpt_model_t *m, uint64_t hash, uint32_t row);
static size_t vpt_model_slot(const vpt_model_t *m, uint64_t hash);
static void vpt_model_err(char *err, size_t errlen, const char *name,
    const char *fmt, ...);


vpt_model_t *
vpt_model_load(const char *path, char *err, size_t errlen)
{
    long          size;
    FILE         *f;
    char         *buf;
    size_t        len;
    vpt_model_t  *m;

    f = fopen(path, "rb");
    if (f == NULL) {
        vpt_model_err(err, errlen, path, "%s", strerror(errno));
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0
        || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        vpt_model_err(err, errlen, path, "%s", strerror(errno));
        fclose(f);
        return NULL;
    }

    if (size > VPT_MODEL_MAX_FILE) {
        vpt_model_err(err, errlen, path, "larger than %d bytes",
                      VPT_MODEL_MAX_FILE);
        fclose(f);
        return NULL;
    }

    buf = malloc((size_t) size + 1);
    if (buf == NULL) {
        vpt_model_err(err, errlen, path, "out of memory");
        fclose(f);
        return NULL;
    }

    len = fread(buf, 1, (size_t) size, f);

    if (ferror(f)) {
        vpt_model_err(err, errlen, path, "read error");
        free(buf);
        fclose(f);
        return NULL;
    }

    fclose(f);

    m = vpt_model_parse(buf, len, path, err, errlen);

    free(buf);

    return m;
}


vpt_model_t *
vpt_model_parse(const char *json, size_t len, const char *name, char *err,
    size_t errlen)
{
    json_t        *root;
    vpt_model_t   *m;
    json_error_t   jerr;

    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        vpt_model_err(err, errlen, name, "line %d, column %d: %s",
                      jerr.line, jerr.column, vpt_printable(jerr.text));
        return NULL;
    }

    m = calloc(1, sizeof(vpt_model_t));
    if (m == NULL) {
        vpt_model_err(err, errlen, name, "out of memory");
        json_decref(root);
        return NULL;
    }

    if (vpt_model_read(m, root, name, err, errlen) != VPT_OK) {
        vpt_model_free(m);
        json_decref(root);
        return NULL;
    }

    json_decref(root);

    return m;
}


void
vpt_model_free(vpt_model_t *m)
{
    size_t    i;
    unsigned  l;

    if (m == NULL) {
        return;
    }

    for (i = 0; m->bins != NULL && i < m->nbins; i++) {
        for (l = 0; l < m->bins[i].nlevels; l++) {
            free(m->bins[i].edges[l]);
            free(m->bins[i].rows[l]);
        }
    }

    free(m->bins);
    free(m->values);
    vpt_trees_free(m->trees);
    free(m->params);
    free(m->keys);
    free(m->rows);
    free(m);
}


unsigned
vpt_model_k(const vpt_model_t *m)
{
    return m->k;
}


double
vpt_model_bias(const vpt_model_t *m)
{
    return m->bias;
}


const float *
vpt_model_lookup(const vpt_model_t *m, uint64_t hash)
{
    size_t    i, mask;
    uint32_t  row;

    mask = ((size_t) 1 << (64 - m->shift)) - 1;

    for (i = vpt_model_slot(m, hash); ; i = (i + 1) & mask) {
        row = m->rows[i];

        if (row == VPT_MODEL_EMPTY) {
            return NULL;
        }

        if (m->keys[i] == hash) {
            return m->params + (size_t) row * (m->k + 1);
        }
    }
}


size_t
vpt_model_rows(const vpt_model_t *m, const vpt_feat_t *f, const float **rows)
{
    size_t                   lo, hi, mid, b, n;
    unsigned                 l;
    const float             *p;
    const vpt_model_bins_t  *bins;

    if (f->is_num && m->nbins > 0) {
        lo = 0;
        hi = m->nbins;

        while (lo < hi) {
            mid = lo + (hi - lo) / 2;

            if (m->bins[mid].prefix < f->prefix) {
                lo = mid + 1;

            } else {
                hi = mid;
            }
        }

        if (lo < m->nbins && m->bins[lo].prefix == f->prefix) {
            bins = &m->bins[lo];
            n = 0;

            for (l = 0; l < bins->nlevels; l++) {
                b = vpt_bin_find(bins->edges[l], bins->nedges[l], f->num);

                if (b <= bins->nedges[l] && bins->rows[l][b] != NULL) {
                    rows[n++] = bins->rows[l][b];
                }
            }

            return n;
        }
    }

    p = vpt_model_lookup(m, f->hash);
    if (p == NULL) {
        return 0;
    }

    rows[0] = p;

    return 1;
}


double
vpt_model_value(const vpt_model_t *m, vpt_str_t offer_id)
{
    size_t    lo, hi, mid;
    uint64_t  h;

    if (m->nvalues == 0) {
        return NAN;
    }

    h = vpt_hash(offer_id.data, offer_id.len);
    lo = 0;
    hi = m->nvalues;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (m->values[mid].hash < h) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return (lo < m->nvalues && m->values[lo].hash == h)
           ? m->values[lo].value : NAN;
}


double
vpt_model_logit(const vpt_model_t *m, const vpt_feat_t *f, size_t n)
{
    double        logit, sum[VPT_MODEL_MAX_K], sq[VPT_MODEL_MAX_K];
    size_t        i, r, nr;
    unsigned      j, k;
    const float  *p, *rows[VPT_MODEL_MAX_LEVELS];

    k = m->k;
    logit = m->bias + vpt_trees_score(m->trees, f, n);

    for (j = 0; j < k; j++) {
        sum[j] = 0;
        sq[j] = 0;
    }

    for (i = 0; i < n; i++) {
        nr = vpt_model_rows(m, &f[i], rows);

        for (r = 0; r < nr; r++) {
            p = rows[r];
            logit += p[0];

            for (j = 0; j < k; j++) {
                sum[j] += p[1 + j];
                sq[j] += (double) p[1 + j] * p[1 + j];
            }
        }
    }

    for (j = 0; j < k; j++) {
        logit += 0.5 * (sum[j] * sum[j] - sq[j]);
    }

    return logit;
}


double
vpt_model_trees(const vpt_model_t *m, const vpt_feat_t *f, size_t n)
{
    return vpt_trees_score(m->trees, f, n);
}


size_t
vpt_model_ntrees(const vpt_model_t *m)
{
    return vpt_trees_count(m->trees);
}


double
vpt_sigmoid(double x)
{
    double  e;

    if (x >= 0) {
        return 1.0 / (1.0 + exp(-x));
    }

    e = exp(x);

    return e / (1.0 + e);
}


static int
vpt_model_read(vpt_model_t *m, json_t *root, const char *name, char *err,
    size_t errlen)
{
    size_t       cap, row, n;
    json_t      *v, *format, *k, *bias, *features, *bins, *values, *trees;
    json_int_t   kv;
    const char  *key;

    if (!json_is_object(root)) {
        vpt_model_err(err, errlen, name, "expected a JSON object");
        return VPT_ERROR;
    }

    format = k = bias = features = bins = values = trees = NULL;

    json_object_foreach(root, key, v) {
        if (strcmp(key, "format") == 0) {
            format = v;

        } else if (strcmp(key, "k") == 0) {
            k = v;

        } else if (strcmp(key, "bias") == 0) {
            bias = v;

        } else if (strcmp(key, "features") == 0) {
            features = v;

        } else if (strcmp(key, "bins") == 0) {
            bins = v;

        } else if (strcmp(key, "values") == 0) {
            values = v;

        } else if (strcmp(key, "trees") == 0) {
            trees = v;

        } else if (strcmp(key, "meta") == 0) {
            if (!json_is_object(v)) {
                vpt_model_err(err, errlen, name,
                              "\"meta\": expected an object");
                return VPT_ERROR;
            }

        } else {
            vpt_model_err(err, errlen, name, "unknown field \"%s\"", key);
            return VPT_ERROR;
        }
    }

    if (format == NULL || !json_is_string(format)
        || strcmp(json_string_value(format), "vpt-fm") != 0)
    {
        vpt_model_err(err, errlen, name,
                      "\"format\": expected \"vpt-fm\"");
        return VPT_ERROR;
    }

    kv = (k != NULL && json_is_integer(k)) ? json_integer_value(k) : 0;

    if (kv < 1 || kv > VPT_MODEL_MAX_K) {
        vpt_model_err(err, errlen, name,
                      "\"k\": expected an integer 1..%d", VPT_MODEL_MAX_K);
        return VPT_ERROR;
    }

    m->k = (unsigned) kv;

    if (bias == NULL || !json_is_number(bias)
        || !isfinite(json_number_value(bias)))
    {
        vpt_model_err(err, errlen, name, "\"bias\": expected a number");
        return VPT_ERROR;
    }

    m->bias = json_number_value(bias);

    if (features == NULL || !json_is_object(features)) {
        vpt_model_err(err, errlen, name, "\"features\": expected an object");
        return VPT_ERROR;
    }

    n = json_object_size(features);

    if (n >= VPT_MODEL_EMPTY / 2) {
        vpt_model_err(err, errlen, name, "\"features\": too many");
        return VPT_ERROR;
    }

    for (cap = 8, m->shift = 61; cap < 2 * n; cap *= 2, m->shift--) {
        /* void */
    }

    m->params = malloc((n ? n : 1) * (m->k + 1) * sizeof(float));
    m->keys = malloc(cap * sizeof(uint64_t));
    m->rows = malloc(cap * sizeof(uint32_t));

    if (m->params == NULL || m->keys == NULL || m->rows == NULL) {
        vpt_model_err(err, errlen, name, "out of memory");
        return VPT_ERROR;
    }

    memset(m->rows, 0xff, cap * sizeof(uint32_t));

    row = 0;

    json_object_foreach(features, key, v) {
        if (vpt_model_row(m, row, key, v, name, err, errlen) != VPT_OK) {
            return VPT_ERROR;
        }

        row++;
    }

    m->n = row;

    if (bins != NULL
        && vpt_model_read_bins(m, bins, name, err, errlen) != VPT_OK)
    {
        return VPT_ERROR;
    }

    if (values != NULL
        && vpt_model_read_values(m, values, name, err, errlen) != VPT_OK)
    {
        return VPT_ERROR;
    }

    if (trees != NULL) {
        m->trees = vpt_trees_parse(trees, name, err, errlen);
        if (m->trees == NULL) {
            return VPT_ERROR;
        }
    }

    return VPT_OK;
}


/* "bins": {"f:age": [[edges], ...]}, after "features" (rows resolve) */

static int
vpt_model_read_bins(vpt_model_t *m, json_t *bins, const char *name,
    char *err, size_t errlen)
{
    char               text[32];
    size_t             len, i, e, ne, tlen;
    double             x;
    json_t            *levels, *edges, *je;
    uint64_t           prefix;
    unsigned           l;
    const char        *key;
    vpt_model_bins_t  *b;

    if (!json_is_object(bins)) {
        vpt_model_err(err, errlen, name, "\"bins\": expected an object");
        return VPT_ERROR;
    }

    m->bins = calloc(json_object_size(bins) + 1, sizeof(vpt_model_bins_t));
    if (m->bins == NULL) {
        vpt_model_err(err, errlen, name, "out of memory");
        return VPT_ERROR;
    }

    json_object_foreach(bins, key, levels) {
        len = strlen(key);

        if (len == 0 || memchr(key, '=', len) != NULL) {
            vpt_model_err(err, errlen, name, "\"bins\": \"%s\": expected "
                          "a feature's name without '=' (\"f:age\")", key);
            return VPT_ERROR;
        }

        if (!json_is_array(levels) || json_array_size(levels) < 1
            || json_array_size(levels) > VPT_MODEL_MAX_LEVELS)
        {
            vpt_model_err(err, errlen, name, "\"bins\": \"%s\": expected "
                          "an array of 1..%d arrays of edges", key,
                          VPT_MODEL_MAX_LEVELS);
            return VPT_ERROR;
        }

        b = &m->bins[m->nbins++];
        prefix = vpt_hash_more(vpt_hash(key, len), "=", 1);
        b->prefix = prefix;
        b->nlevels = (unsigned) json_array_size(levels);

        for (l = 0; l < b->nlevels; l++) {
            edges = json_array_get(levels, l);
            ne = json_is_array(edges) ? json_array_size(edges) : 0;

            if (ne < 1 || ne > VPT_MODEL_MAX_EDGES) {
                vpt_model_err(err, errlen, name, "\"bins\": \"%s\": "
                              "resolution %u: expected an array of 1..%d "
                              "numbers", key, l, VPT_MODEL_MAX_EDGES);
                return VPT_ERROR;
            }

            b->nedges[l] = ne;
            b->edges[l] = malloc(ne * sizeof(double));
            b->rows[l] = malloc((ne + 1) * sizeof(float *));

            if (b->edges[l] == NULL || b->rows[l] == NULL) {
                vpt_model_err(err, errlen, name, "out of memory");
                return VPT_ERROR;
            }

            for (e = 0; e < ne; e++) {
                je = json_array_get(edges, e);
                x = json_number_value(je);

                if (!json_is_number(je) || !isfinite(x)
                    || (e > 0 && !(x > b->edges[l][e - 1])))
                {
                    vpt_model_err(err, errlen, name, "\"bins\": \"%s\": "
                                  "resolution %u: element %zu: expected a "
                                  "number above the one before", key, l, e);
                    return VPT_ERROR;
                }

                b->edges[l][e] = x;
            }

            for (e = 0; e <= ne; e++) {
                tlen = vpt_feat_bin_text(l, e, text);
                b->rows[l][e] = vpt_model_lookup(m,
                                    vpt_hash_more(prefix, text, tlen));
            }
        }
    }

    qsort(m->bins, m->nbins, sizeof(vpt_model_bins_t), vpt_model_cmp_bins);

    for (i = 1; i < m->nbins; i++) {
        if (m->bins[i].prefix == m->bins[i - 1].prefix) {
            vpt_model_err(err, errlen, name, "\"bins\": two names hash "
                          "alike; rename one");
            return VPT_ERROR;
        }
    }

    return VPT_OK;
}


/* "values": {"party-dress": 41.5} */

static int
vpt_model_read_values(vpt_model_t *m, json_t *values, const char *name,
    char *err, size_t errlen)
{
    size_t       i;
    double       x;
    json_t      *v;
    const char  *key;

    if (!json_is_object(values)) {
        vpt_model_err(err, errlen, name, "\"values\": expected an object");
        return VPT_ERROR;
    }

    m->values = calloc(json_object_size(values) + 1,
                       sizeof(vpt_model_value_t));
    if (m->values == NULL) {
        vpt_model_err(err, errlen, name, "out of memory");
        return VPT_ERROR;
    }

    json_object_foreach(values, key, v) {
        x = json_number_value(v);

        if (!json_is_number(v) || !isfinite(x) || x < 0) {
            vpt_model_err(err, errlen, name, "\"values\": \"%s\": "
                          "expected a number >= 0", key);
            return VPT_ERROR;
        }

        m->values[m->nvalues].hash = vpt_hash(key, strlen(key));
        m->values[m->nvalues].value = x;
        m->nvalues++;
    }

    qsort(m->values, m->nvalues, sizeof(vpt_model_value_t),
          vpt_model_cmp_values);

    for (i = 1; i < m->nvalues; i++) {
        if (m->values[i].hash == m->values[i - 1].hash) {
            vpt_model_err(err, errlen, name, "\"values\": two ids hash "
                          "alike; rename one");
            return VPT_ERROR;
        }
    }

    return VPT_OK;
}


static int
vpt_model_cmp_bins(const void *a, const void *b)
{
    uint64_t  x, y;

    x = ((const vpt_model_bins_t *) a)->prefix;
    y = ((const vpt_model_bins_t *) b)->prefix;

    return (x > y) - (x < y);
}


static int
vpt_model_cmp_values(const void *a, const void *b)
{
    uint64_t  x, y;

    x = ((const vpt_model_value_t *) a)->hash;
    y = ((const vpt_model_value_t *) b)->hash;

    return (x > y) - (x < y);
}


static int
vpt_model_row(vpt_model_t *m, size_t row, const char *feature, json_t *vec,
    const char *name, char *err, size_t errlen)
{
    double   x;
    size_t   i, len;
    float   *p;

    len = strlen(feature);

    if (len == 0 || memchr(feature, '=', len) == NULL) {
        vpt_model_err(err, errlen, name,
                      "feature \"%s\": expected a name \"namespace=value\"",
                      feature);
        return VPT_ERROR;
    }

    if (!json_is_array(vec)) {
        vpt_model_err(err, errlen, name,
                      "feature \"%s\": expected an array of %u numbers",
                      feature, m->k + 1);
        return VPT_ERROR;
    }

    if (json_array_size(vec) != m->k + 1) {
        vpt_model_err(err, errlen, name,
                      "feature \"%s\": expected %u numbers, got %zu",
                      feature, m->k + 1, json_array_size(vec));
        return VPT_ERROR;
    }

    p = m->params + row * (m->k + 1);

    for (i = 0; i <= m->k; i++) {
        x = json_number_value(json_array_get(vec, i));

        if (!json_is_number(json_array_get(vec, i))
            || !isfinite(x) || fabs(x) > FLT_MAX)
        {
            vpt_model_err(err, errlen, name,
                          "feature \"%s\": element %zu: expected a number",
                          feature, i);
            return VPT_ERROR;
        }

        p[i] = (float) x;
    }

    if (vpt_model_insert(m, vpt_hash(feature, len), (uint32_t) row)
        != VPT_OK)
    {
        vpt_model_err(err, errlen, name,
                      "feature \"%s\": its hash collides with another "
                      "feature's; rename one", feature);
        return VPT_ERROR;
    }

    return VPT_OK;
}


static int
vpt_model_insert(vpt_model_t *m, uint64_t hash, uint32_t row)
{
    size_t  i, mask;

    mask = ((size_t) 1 << (64 - m->shift)) - 1;

    for (i = vpt_model_slot(m, hash); ; i = (i + 1) & mask) {
        if (m->rows[i] == VPT_MODEL_EMPTY) {
            m->keys[i] = hash;
            m->rows[i] = row;
            return VPT_OK;
        }

        if (m->keys[i] == hash) {
            return VPT_ERROR;
        }
    }
}


/* Fibonacci hashing: FNV's low bits alone cluster on similar names */

static size_t
vpt_model_slot(const vpt_model_t *m, uint64_t hash)
{
    return (size_t) ((hash * 0x9e3779b97f4a7c15ULL) >> m->shift);
}


static void
vpt_model_err(char *err, size_t errlen, const char *name, const char *fmt,
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
