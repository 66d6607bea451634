/*
 * Copyright (C) ngx_vpt_module authors
 *
 * An offer's markup with its {{field}} placeholders filled from the
 * context, in the wrapper that carries the decision and offer ids.  One
 * function does both the sizing and the writing (out == NULL: count only),
 * so vpt_render_size() is exact by construction.  Numbers are formatted by
 * hand: no locale can change a decimal point.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vpt_render.h"
#include "vpt_render_ctx.h"


#define VPT_NUM_LEN          48
#define VPT_FEATURES_PREFIX  "features."
#define VPT_RENDER_VALUE_MAX 256    /* bytes of one context string shown */

/* the wrapper, around the two ids and the markup */
#define VPT_WRAP_OPEN        "<div class=\"vpt-offer\" data-vpt-decision=\""
#define VPT_WRAP_OFFER       "\" data-vpt-offer=\""
#define VPT_WRAP_PREVIEW     "\" data-vpt-preview=\"1"
#define VPT_WRAP_PLACEMENT   "\" data-vpt-placement=\""
#define VPT_WRAP_END         "\">"
#define VPT_WRAP_CLOSE       "</div>"

/* no escape writes more than this many bytes for one byte of a value */
#define VPT_ESC_GROWTH       6


typedef enum {
    VPT_F_UNKNOWN = 0,
    VPT_F_DECISION,
    VPT_F_OFFER,
    VPT_F_EXPERIMENT,
    VPT_F_BEACON,
    VPT_F_USER_ID,
    VPT_F_USER_ORDERS,
    VPT_F_DEVICE,
    VPT_F_REFERRER,
    VPT_F_COUNTRY,
    VPT_F_INTENT,
    VPT_F_ORDER_ID,
    VPT_F_ORDER_TOTAL,
    VPT_F_ORDER_CURRENCY,
    VPT_F_FEATURE
} vpt_field_e;


typedef struct {
    const char   *name;
    vpt_field_e   field;
} vpt_field_t;


static const vpt_field_t  vpt_fields[] = {
    { "decision", VPT_F_DECISION },
    { "offer", VPT_F_OFFER },
    { "experiment", VPT_F_EXPERIMENT },
    { "beacon", VPT_F_BEACON },
    { "user.id", VPT_F_USER_ID },
    { "user.orders", VPT_F_USER_ORDERS },
    { "device", VPT_F_DEVICE },
    { "referrer", VPT_F_REFERRER },
    { "country", VPT_F_COUNTRY },
    { "intent", VPT_F_INTENT },
    { "order.id", VPT_F_ORDER_ID },
    { "order.total", VPT_F_ORDER_TOTAL },
    { "order.currency", VPT_F_ORDER_CURRENCY },
    { NULL, VPT_F_UNKNOWN }
};


static size_t vpt_render_do(char *out, const vpt_offer_t *o,
    const vpt_context_t *ctx, const vpt_render_vars_t *vars);
static size_t vpt_render_field(char *out, vpt_field_e field, vpt_esc_e esc,
    vpt_str_t name, const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars);
static size_t vpt_put(char *out, const char *s, size_t len);
static size_t vpt_url_escape(char *out, vpt_str_t s);
static vpt_field_e vpt_field(const char *s, size_t len, vpt_str_t *name);
static size_t vpt_fmt_num(char *buf, double x, unsigned decimals, int trim);


size_t
vpt_render_size(const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars)
{
    return vpt_render_do(NULL, o, ctx, vars);
}


size_t
vpt_render(char *out, const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars)
{
    return vpt_render_do(out, o, ctx, vars);
}


/*
 * What vpt_render() can write at most, without rendering: the markup's
 * text (a placeholder's own text is not written), the wrapper and its ids
 * escaped, and for each placeholder its longest value escaped: a context
 * string of at most VPT_RENDER_VALUE_MAX bytes (a longer one, and every
 * other value longer than that, renders empty), a number shorter than
 * VPT_NUM_LEN, or the beacon's four parts, percent-encoded, with their
 * separators and names.
 */

size_t
vpt_render_max(const vpt_offer_t *o, const vpt_render_vars_t *vars)
{
    size_t  holes, field, beacon;

    holes = (o->escapes != NULL) ? o->nescapes
                                 : vpt_render_placeholders(o->markup);

    field = VPT_ESC_GROWTH * VPT_RENDER_VALUE_MAX;

    beacon = 3 * (vars->decision.len + o->id.len + vars->experiment.len
                  + vars->signature.len)
             + 4 * (sizeof("\\u0026") - 1 + sizeof("d=") - 1);

    if (beacon > field) {
        field = beacon;
    }

    return sizeof(VPT_WRAP_OPEN) - 1 + sizeof(VPT_WRAP_OFFER) - 1
           + sizeof(VPT_WRAP_PREVIEW) - 1 + sizeof(VPT_WRAP_PLACEMENT) - 1
           + sizeof(VPT_WRAP_END) - 1 + sizeof(VPT_WRAP_CLOSE) - 1
           + VPT_ESC_GROWTH * (vars->decision.len + o->id.len
                               + vars->placement.len)
           + o->markup.len + holes * field;
}


int
vpt_render_check(vpt_str_t markup, char *err, size_t errlen)
{
    return vpt_render_escapes(markup, NULL, 0, err, errlen);
}


int
vpt_render_escapes(vpt_str_t markup, unsigned char *esc, size_t n,
    char *err, size_t errlen)
{
    char         show[VPT_SHOW_SIZE], why[192];
    size_t       k, pos, start, end;
    vpt_esc_e    e;
    vpt_str_t    name;
    vpt_mctx_t   m;

    vpt_mctx_init(&m, markup);

    for (pos = 0, k = 0; /* void */; pos = end + 2, k++) {
        switch (vpt_placeholder_next(markup.data, markup.len, pos, &start,
                                     &end))
        {
        case 0:
            return vpt_mctx_finish(&m, err, errlen);

        case -1:
            if (err != NULL && errlen > 0) {
                snprintf(err, errlen, "unclosed \"{{\" at byte %zu",
                         start - 2);
            }

            return VPT_ERROR;
        }

        vpt_show(show, sizeof(show), markup.data + start, end - start);

        if (vpt_field(markup.data + start, end - start, &name)
            == VPT_F_UNKNOWN)
        {
            if (err != NULL && errlen > 0) {
                snprintf(err, errlen, "unknown placeholder \"{{%s}}\"",
                         show);
            }

            return VPT_ERROR;
        }

        e = vpt_mctx_placeholder(&m, start, end, why, sizeof(why));

        if (e == VPT_ESC_NONE) {
            if (err != NULL && errlen > 0) {
                snprintf(err, errlen, "\"{{%s}}\" at byte %zu %s", show,
                         start - 2, why);
            }

            return VPT_ERROR;
        }

        if (esc != NULL && k < n) {
            esc[k] = (unsigned char) e;
        }
    }
}


size_t
vpt_render_placeholders(vpt_str_t markup)
{
    size_t  n, pos, start, end;

    for (n = 0, pos = 0;
         vpt_placeholder_next(markup.data, markup.len, pos, &start, &end) == 1;
         pos = end + 2)
    {
        n++;
    }

    return n;
}


/* the bytes vpt_html_escape() replaces */
static const unsigned char  vpt_html_special[256] = {
    ['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1, ['\''] = 1
};


/* runs of plain bytes are found by the table and copied whole */

size_t
vpt_html_escape(char *out, const char *in, size_t len)
{
    size_t       i, j, n, k;
    const char  *rep;

    n = 0;

    for (i = 0; i < len; i++) {
        for (j = i; j < len && !vpt_html_special[(unsigned char) in[j]]; j++) {
            /* void */
        }

        if (j > i) {
            if (out != NULL) {
                memcpy(out + n, in + i, j - i);
            }

            n += j - i;
            i = j;

            if (i == len) {
                break;
            }
        }

        switch (in[i]) {
        case '&':
            rep = "&amp;";
            k = 5;
            break;
        case '<':
            rep = "&lt;";
            k = 4;
            break;
        case '>':
            rep = "&gt;";
            k = 4;
            break;
        case '"':
            rep = "&quot;";
            k = 6;
            break;
        default: /* '\'' */
            rep = "&#39;";
            k = 5;
            break;
        }

        if (out != NULL) {
            memcpy(out + n, rep, k);
        }

        n += k;
    }

    return n;
}


static size_t
vpt_render_do(char *out, const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars)
{
    int          rc;
    size_t       n, k, pos, start, end;
    vpt_esc_e    esc;
    vpt_str_t    name;
    vpt_mctx_t   m;
    vpt_field_e  field;

#define vpt_at(n)      (out ? out + (n) : NULL)
#define vpt_lit(n, s)  vpt_put(vpt_at(n), s, sizeof(s) - 1)

    n = vpt_lit(0, VPT_WRAP_OPEN);
    n += vpt_html_escape(vpt_at(n), vars->decision.data, vars->decision.len);
    n += vpt_lit(n, VPT_WRAP_OFFER);
    n += vpt_html_escape(vpt_at(n), o->id.data, o->id.len);

    if (vars->preview) {
        n += vpt_lit(n, VPT_WRAP_PREVIEW);
    }

    if (vars->placement.len) {
        n += vpt_lit(n, VPT_WRAP_PLACEMENT);
        n += vpt_html_escape(vpt_at(n), vars->placement.data,
                             vars->placement.len);
    }

    n += vpt_lit(n, VPT_WRAP_END);

    if (o->escapes == NULL) {
        vpt_mctx_init(&m, o->markup);
    }

    for (pos = 0, k = 0; /* void */; pos = end + 2, k++) {
        rc = vpt_placeholder_next(o->markup.data, o->markup.len, pos, &start,
                                  &end);

        if (rc != 1) {
            /* the rest, and an unclosed "{{" (the catalog rejects it) */
            n += vpt_put(vpt_at(n), o->markup.data + pos,
                         o->markup.len - pos);
            break;
        }

        n += vpt_put(vpt_at(n), o->markup.data + pos, start - 2 - pos);

        if (o->escapes == NULL) {
            /* markup the catalog would refuse: refused places stay empty */
            esc = vpt_mctx_placeholder(&m, start, end, NULL, 0);

        } else {
            esc = (k < o->nescapes) ? (vpt_esc_e) o->escapes[k]
                                    : VPT_ESC_NONE;
        }

        field = vpt_field(o->markup.data + start, end - start, &name);
        n += vpt_render_field(vpt_at(n), field, esc, name, o, ctx, vars);
    }

    n += vpt_lit(n, VPT_WRAP_CLOSE);

#undef vpt_lit
#undef vpt_at

    return n;
}


static size_t
vpt_render_field(char *out, vpt_field_e field, vpt_esc_e esc, vpt_str_t name,
    const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars)
{
    char               num[VPT_NUM_LEN];
    size_t             i, n, amp;
    const char        *sep;
    vpt_str_t          v;
    const vpt_attr_t  *a;

    v.data = num;
    v.len = 0;

    switch (field) {

    case VPT_F_DECISION:
        v = vars->decision;
        break;

    case VPT_F_OFFER:
        v = o->id;
        break;

    case VPT_F_EXPERIMENT:
        v = vars->experiment;
        break;

    case VPT_F_BEACON:

        /*
         * d=ID&amp;o=OFFER[&amp;x=EXP][&amp;s=SIG]: percent-encoding leaves
         * nothing else to escape; its '&' is "&amp;" in HTML (a URL's
         * part too: the query string is the beacon's) and \u0026 in a
         * script's string
         */

        if (esc == VPT_ESC_NONE) {
            return 0;
        }

        sep = (esc == VPT_ESC_JS) ? "\\u0026" : "&amp;";
        amp = strlen(sep);

        n = vpt_put(out, "d=", 2);
        n += vpt_url_escape(out ? out + n : NULL, vars->decision);
        n += vpt_put(out ? out + n : NULL, sep, amp);
        n += vpt_put(out ? out + n : NULL, "o=", 2);
        n += vpt_url_escape(out ? out + n : NULL, o->id);

        if (vars->experiment.len) {
            n += vpt_put(out ? out + n : NULL, sep, amp);
            n += vpt_put(out ? out + n : NULL, "x=", 2);
            n += vpt_url_escape(out ? out + n : NULL, vars->experiment);
        }

        if (vars->signature.len) {
            n += vpt_put(out ? out + n : NULL, sep, amp);
            n += vpt_put(out ? out + n : NULL, "s=", 2);
            n += vpt_url_escape(out ? out + n : NULL, vars->signature);
        }

        return n;

    case VPT_F_USER_ID:
        v = ctx->user_id;
        break;

    case VPT_F_USER_ORDERS:
        if (ctx->orders >= 0) {
            v.len = vpt_fmt_num(num, ctx->orders, 6, 1);
        }
        break;

    case VPT_F_DEVICE:
        v = ctx->device;
        break;

    case VPT_F_REFERRER:
        v = ctx->referrer;
        break;

    case VPT_F_COUNTRY:
        v = ctx->country;
        break;

    case VPT_F_INTENT:
        v = ctx->intent;
        break;

    case VPT_F_ORDER_ID:
        v = ctx->order_id;
        break;

    case VPT_F_ORDER_TOTAL:
        if (ctx->order_total >= 0) {
            v.len = vpt_fmt_num(num, ctx->order_total, 2, 0);
        }
        break;

    case VPT_F_ORDER_CURRENCY:
        v = ctx->order_currency;
        break;

    case VPT_F_FEATURE:

        /* the first entry of that name, as the context parser keeps it */

        for (i = 0; i < ctx->nfeatures && i < VPT_CTX_MAX_FEATURES; i++) {
            a = &ctx->features[i];

            if (!vpt_str_eq(a->name, name)) {
                continue;
            }

            if (a->is_num) {
                v.len = vpt_fmt_num(num, a->num, 6, 1);

            } else {
                v = a->str;
            }

            break;
        }

        break;

    default: /* VPT_F_UNKNOWN */
        break;
    }

    /*
     * A shopper's string longer than any id or name renders as absent: cut
     * short, it could end inside a UTF-8 sequence, and whole, a 64 KB
     * context could grow one offer's markup by megabytes (6x escaped, once
     * per placeholder).
     */

    if (v.len > VPT_RENDER_VALUE_MAX) {
        v.len = 0;
    }

    switch (esc) {

    case VPT_ESC_HTML:
        return vpt_html_escape(out, v.data, v.len);

    case VPT_ESC_URL:
    case VPT_ESC_URL_LIST:
        return vpt_url_value(out, v.data, v.len, esc == VPT_ESC_URL_LIST);

    case VPT_ESC_URL_PART:
        return vpt_url_part(out, v.data, v.len);

    case VPT_ESC_JS:
        return vpt_js_string(out, v.data, v.len);

    default: /* VPT_ESC_NONE */
        return 0;
    }
}


static size_t
vpt_put(char *out, const char *s, size_t len)
{
    if (out != NULL && len) {
        memcpy(out, s, len);
    }

    return len;
}


/* RFC 3986's unreserved characters and ':', kept by vpt_url_escape() */
static const unsigned char  vpt_url_keep[256] = {
    ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1,
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, [':'] = 1
};


/* all but RFC 3986's unreserved characters and ':' as %XX */

static size_t
vpt_url_escape(char *out, vpt_str_t s)
{
    size_t          i, j, n;
    unsigned char   c;
    static const char  hex[] = "0123456789ABCDEF";

    n = 0;

    for (i = 0; i < s.len; i++) {
        for (j = i; j < s.len && vpt_url_keep[(unsigned char) s.data[j]]; j++)
        {
            /* void */
        }

        if (j > i) {
            if (out != NULL) {
                memcpy(out + n, s.data + i, j - i);
            }

            n += j - i;
            i = j;

            if (i == s.len) {
                break;
            }
        }

        c = (unsigned char) s.data[i];

        if (out != NULL) {
            out[n] = '%';
            out[n + 1] = hex[c >> 4];
            out[n + 2] = hex[c & 0xf];
        }

        n += 3;
    }

    return n;
}


/* the field a placeholder names; for features.NAME, NAME */

static vpt_field_e
vpt_field(const char *s, size_t len, vpt_str_t *name)
{
    size_t              i, plen;
    const vpt_field_t  *f;

    name->data = NULL;
    name->len = 0;

    for (f = vpt_fields; f->name != NULL; f++) {
        if (strlen(f->name) == len && memcmp(f->name, s, len) == 0) {
            return f->field;
        }
    }

    plen = sizeof(VPT_FEATURES_PREFIX) - 1;

    if (len <= plen || memcmp(s, VPT_FEATURES_PREFIX, plen) != 0) {
        return VPT_F_UNKNOWN;
    }

    for (i = plen; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '_' || s[i] == '.' || s[i] == '-'))
        {
            return VPT_F_UNKNOWN;
        }
    }

    name->data = s + plen;
    name->len = len - plen;

    return VPT_F_FEATURE;
}


/*
 * x with the given decimals (rounded half away from zero), trailing zeros
 * and a bare point dropped when trim: 29.99 -> "29.99", 3 -> "3".
 * Non-finite numbers are empty.
 */

static size_t
vpt_fmt_num(char *buf, double x, unsigned decimals, int trim)
{
    char       digits[24];
    double     ax, ip, scale;
    size_t     n, d;
    unsigned   i;
    uint64_t   whole, frac;

    if (!isfinite(x)) {
        return 0;
    }

    ax = fabs(x);

    if (ax >= 1e15) {
        n = (size_t) snprintf(buf, VPT_NUM_LEN, "%.0f", x);
        return (n < VPT_NUM_LEN) ? n : VPT_NUM_LEN - 1;
    }

    for (scale = 1, i = 0; i < decimals; i++) {
        scale *= 10;
    }

    ip = floor(ax);
    whole = (uint64_t) ip;
    frac = (uint64_t) llround((ax - ip) * scale);

    if (frac >= (uint64_t) scale) {
        whole++;
        frac = 0;
    }

    n = 0;

    if (x < 0 && (whole || frac)) {
        buf[n++] = '-';
    }

    d = 0;

    do {
        digits[d++] = (char) ('0' + whole % 10);
        whole /= 10;
    } while (whole);

    while (d) {
        buf[n++] = digits[--d];
    }

    if (decimals == 0) {
        return n;
    }

    for (i = 0; i < decimals; i++) {
        digits[decimals - 1 - i] = (char) ('0' + frac % 10);
        frac /= 10;
    }

    d = decimals;

    if (trim) {
        while (d && digits[d - 1] == '0') {
            d--;
        }
    }

    if (d) {
        buf[n++] = '.';
        memcpy(buf + n, digits, d);
        n += d;
    }

    return n;
}
