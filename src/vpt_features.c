/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Features of a shopper and of an offer (namespaces: vpt_model.h).  This
 * file allocates nothing: every feature points into the context, the
 * catalog or the static strings below.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vpt_features.h"


#define VPT_BUCKETS  64


static size_t vpt_feat_add(vpt_feat_t *out, size_t n, size_t max,
    const char *ns, size_t nslen, vpt_str_t value);
static size_t vpt_feat_add_attr(vpt_feat_t *out, size_t n, size_t max,
    const char *ns, size_t nslen, const vpt_attr_t *a);
static size_t vpt_feat_add_set(vpt_feat_t *out, size_t n, size_t max,
    const char *ns, size_t nslen, vpt_str_t value);
static const char *vpt_feat_hour(int hour);
static const char *vpt_feat_orders(double orders);


static const char  *vpt_bucket_pos[VPT_BUCKETS] = {
    "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7",
    "b8", "b9", "b10", "b11", "b12", "b13", "b14", "b15",
    "b16", "b17", "b18", "b19", "b20", "b21", "b22", "b23",
    "b24", "b25", "b26", "b27", "b28", "b29", "b30", "b31",
    "b32", "b33", "b34", "b35", "b36", "b37", "b38", "b39",
    "b40", "b41", "b42", "b43", "b44", "b45", "b46", "b47",
    "b48", "b49", "b50", "b51", "b52", "b53", "b54", "b55",
    "b56", "b57", "b58", "b59", "b60", "b61", "b62", "b63"
};

static const char  *vpt_bucket_neg[VPT_BUCKETS] = {
    "-b0", "-b1", "-b2", "-b3", "-b4", "-b5", "-b6", "-b7",
    "-b8", "-b9", "-b10", "-b11", "-b12", "-b13", "-b14", "-b15",
    "-b16", "-b17", "-b18", "-b19", "-b20", "-b21", "-b22", "-b23",
    "-b24", "-b25", "-b26", "-b27", "-b28", "-b29", "-b30", "-b31",
    "-b32", "-b33", "-b34", "-b35", "-b36", "-b37", "-b38", "-b39",
    "-b40", "-b41", "-b42", "-b43", "-b44", "-b45", "-b46", "-b47",
    "-b48", "-b49", "-b50", "-b51", "-b52", "-b53", "-b54", "-b55",
    "-b56", "-b57", "-b58", "-b59", "-b60", "-b61", "-b62", "-b63"
};

#define vpt_ns(s)  s, sizeof(s) - 1


size_t
vpt_features_shopper(const vpt_context_t *ctx, vpt_page_e page, int hour,
    vpt_feat_t *out, size_t max)
{
    size_t       n, i;
    vpt_str_t    v;
    const char  *s;

    n = 0;

    if ((unsigned) page < VPT_PAGE_N) {
        s = vpt_page_name(page);
        v.data = s;
        v.len = strlen(s);
        n = vpt_feat_add(out, n, max, vpt_ns("page="), v);
    }

    n = vpt_feat_add(out, n, max, vpt_ns("device="), ctx->device);
    n = vpt_feat_add(out, n, max, vpt_ns("referrer="), ctx->referrer);
    n = vpt_feat_add(out, n, max, vpt_ns("country="), ctx->country);

    s = vpt_feat_hour(ctx->local_hour >= 0 ? ctx->local_hour : hour);
    if (s != NULL) {
        v.data = s;
        v.len = strlen(s);
        n = vpt_feat_add(out, n, max, vpt_ns("hour="), v);
    }

    n = vpt_feat_add(out, n, max, vpt_ns("weekday="), ctx->weekday);

    if (ctx->loyalty_member >= 0) {
        v.data = ctx->loyalty_member ? "yes" : "no";
        v.len = strlen(v.data);
        n = vpt_feat_add(out, n, max, vpt_ns("loyal="), v);
    }

    s = vpt_feat_orders(ctx->orders);
    if (s != NULL) {
        v.data = s;
        v.len = strlen(s);
        n = vpt_feat_add(out, n, max, vpt_ns("orders="), v);
    }

    for (i = 0; i < ctx->ncart && i < VPT_CTX_MAX_ITEMS; i++) {
        n = vpt_feat_add_set(out, n, max, vpt_ns("cart_cat="),
                             ctx->cart[i].category);
    }

    for (i = 0; i < ctx->nhistory_categories && i < VPT_CTX_MAX_STRS; i++) {
        n = vpt_feat_add_set(out, n, max, vpt_ns("hist_cat="),
                             ctx->history_categories[i]);
    }

    n = vpt_feat_add(out, n, max, vpt_ns("intent="), ctx->intent);

    for (i = 0; i < ctx->nfeatures && i < VPT_CTX_MAX_FEATURES; i++) {
        n = vpt_feat_add_attr(out, n, max, vpt_ns("f:"), &ctx->features[i]);
    }

    return n;
}


size_t
vpt_features_offer(const vpt_offer_t *o, vpt_feat_t *out, size_t max)
{
    size_t     n, i;
    vpt_str_t  v;

    n = vpt_feat_add(out, 0, max, vpt_ns("offer="), o->id);

    if ((unsigned) o->kind < VPT_KIND_N) {
        v.data = vpt_kind_name(o->kind);
        v.len = strlen(v.data);
        n = vpt_feat_add(out, n, max, vpt_ns("kind="), v);
    }

    n = vpt_feat_add(out, n, max, vpt_ns("advertiser="), o->advertiser);

    for (i = 0; i < o->nfeatures; i++) {
        n = vpt_feat_add_attr(out, n, max, vpt_ns("of:"), &o->features[i]);
    }

    return n;
}


const char *
vpt_feat_bucket(double x)
{
    int  e;

    if (isnan(x)) {
        return "nan";
    }

    /* 1 + |x| = m * 2^e with m in [0.5, 1): floor(log2(1 + |x|)) = e - 1 */

    if (isinf(x)) {
        e = VPT_BUCKETS;

    } else {
        (void) frexp(1.0 + fabs(x), &e);
    }

    e = (e - 1 < VPT_BUCKETS - 1) ? e - 1 : VPT_BUCKETS - 1;

    return (x < 0) ? vpt_bucket_neg[e] : vpt_bucket_pos[e];
}


size_t
vpt_feat_text(const vpt_feat_t *f, char *buf, size_t len)
{
    size_t      total, n, i;
    vpt_str_t   part[4];

    part[0] = f->ns;
    part[1] = f->name;
    part[2].data = "=";
    part[2].len = f->name.len ? 1 : 0;
    part[3] = f->value;

    total = 0;

    for (i = 0; i < 4; i++) {
        if (len > total + 1) {
            n = len - 1 - total;
            n = (part[i].len < n) ? part[i].len : n;
            memcpy(buf + total, part[i].data, n);
        }

        total += part[i].len;
    }

    if (len > 0) {
        buf[total < len ? total : len - 1] = '\0';
    }

    return total;
}


size_t
vpt_bin_find(const double *edges, size_t n, double x)
{
    size_t  lo, hi, mid;

    if (isnan(x)) {
        return n + 1;
    }

    /* the first edge > x */

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (edges[mid] <= x) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo;
}


size_t
vpt_feat_bin_text(unsigned level, size_t bin, char *buf)
{
    int  n;

    n = snprintf(buf, 32, "#%u:%zu", level, bin);

    return (n > 0 && n < 32) ? (size_t) n : 0;
}


static size_t
vpt_feat_add(vpt_feat_t *out, size_t n, size_t max, const char *ns,
    size_t nslen, vpt_str_t value)
{
    vpt_feat_t  *f;

    if (n >= max || value.len == 0) {
        return n;
    }

    f = &out[n];
    f->ns.data = ns;
    f->ns.len = nslen;
    f->name.data = "";
    f->name.len = 0;
    f->value = value;
    f->hash = vpt_hash_more(vpt_hash(ns, nslen), value.data, value.len);
    f->prefix = 0;
    f->num = 0;
    f->is_num = 0;

    return n + 1;
}


/*
 * "f:NAME=value"; a number as its bucket, with the number and the hash of
 * "f:NAME=" kept for the model's bins (vpt_model_rows())
 */

static size_t
vpt_feat_add_attr(vpt_feat_t *out, size_t n, size_t max, const char *ns,
    size_t nslen, const vpt_attr_t *a)
{
    uint64_t     h;
    vpt_str_t    value;
    vpt_feat_t  *f;

    if (a->is_num) {
        value.data = vpt_feat_bucket(a->num);
        value.len = strlen(value.data);

    } else {
        value = a->str;
    }

    if (n >= max || value.len == 0 || a->name.len == 0) {
        return n;
    }

    h = vpt_hash(ns, nslen);
    h = vpt_hash_more(h, a->name.data, a->name.len);
    h = vpt_hash_more(h, "=", 1);

    f = &out[n];
    f->ns.data = ns;
    f->ns.len = nslen;
    f->name = a->name;
    f->value = value;
    f->hash = vpt_hash_more(h, value.data, value.len);
    f->prefix = h;
    f->num = a->is_num ? a->num : 0;
    f->is_num = a->is_num;

    return n + 1;
}


/* adds the feature unless the same one was added before */

static size_t
vpt_feat_add_set(vpt_feat_t *out, size_t n, size_t max, const char *ns,
    size_t nslen, vpt_str_t value)
{
    size_t    i;
    uint64_t  h;

    if (n >= max || value.len == 0) {
        return n;
    }

    h = vpt_hash_more(vpt_hash(ns, nslen), value.data, value.len);

    for (i = n; i > 0; i--) {
        if (out[i - 1].hash == h) {
            return n;
        }
    }

    return vpt_feat_add(out, n, max, ns, nslen, value);
}


static const char *
vpt_feat_hour(int hour)
{
    static const char  *names[4] = {
        "night", "morning", "afternoon", "evening"
    };

    if (hour < 0 || hour > 23) {
        return NULL;
    }

    return names[hour / 6];
}


static const char *
vpt_feat_orders(double orders)
{
    if (!(orders >= 0)) {
        return NULL;
    }

    if (orders < 1) {
        return "0";
    }

    if (orders < 2) {
        return "1";
    }

    if (orders < 4) {
        return "2-3";
    }

    if (orders < 8) {
        return "4-7";
    }

    return "8+";
}
