/*
 * Copyright (C) ngx_vpt_module authors
 *
 * An offer's fields: the table of them, and what each one accepts.  A
 * value is checked and copied into the catalog's arena; on error p->why
 * says what is wrong with it, and vpt_catalog.c names the file, the offer
 * and the field around that.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "vpt_catalog_int.h"
#include "vpt_render_ctx.h"       /* vpt_render_escapes() */


#define VPT_ID_MAX          64      /* bytes of an offer id */
#define VPT_URL_MAX         2048    /* bytes of an offer url */


static int vpt_pages_parse(vpt_parse_t *p, json_t *v, unsigned *pages);
static int vpt_hours_parse(vpt_parse_t *p, json_t *v, uint32_t *mask);
static int vpt_hour(json_t *v, int *hour);
static int vpt_features_parse(vpt_parse_t *p, json_t *v, vpt_offer_t *o);
static int vpt_url_parse(vpt_parse_t *p, json_t *v, vpt_str_t *url);


static const char  *vpt_kind_names[VPT_KIND_N] = {
    "upsell",
    "cross_sell",
    "loyalty",
    "app_install",
    "gift_card",
    "third_party"
};


const vpt_field_t  vpt_catalog_fields[] = {
    { "id", VPT_FIELD_ID, offsetof(vpt_offer_t, id), 1 },
    { "kind", VPT_FIELD_KIND, offsetof(vpt_offer_t, kind), 1 },
    { "markup", VPT_FIELD_MARKUP, offsetof(vpt_offer_t, markup), 1 },
    { "pages", VPT_FIELD_PAGES, offsetof(vpt_offer_t, pages), 1 },
    { "value", VPT_FIELD_MONEY, offsetof(vpt_offer_t, value), 0 },
    { "long_term_value", VPT_FIELD_MONEY,
      offsetof(vpt_offer_t, long_term_value), 0 },
    { "prior", VPT_FIELD_PROB, offsetof(vpt_offer_t, prior), 0 },
    { "devices", VPT_FIELD_LIST, offsetof(vpt_offer_t, devices), 0 },
    { "countries", VPT_FIELD_LIST, offsetof(vpt_offer_t, countries), 0 },
    { "referrers", VPT_FIELD_LIST, offsetof(vpt_offer_t, referrers), 0 },
    { "hours", VPT_FIELD_HOURS, offsetof(vpt_offer_t, hours), 0 },
    { "min_cart_total", VPT_FIELD_MONEY,
      offsetof(vpt_offer_t, min_cart_total), 0 },
    { "categories_any", VPT_FIELD_LIST,
      offsetof(vpt_offer_t, categories_any), 0 },
    { "categories_none", VPT_FIELD_LIST,
      offsetof(vpt_offer_t, categories_none), 0 },
    { "exclude_if_in_cart", VPT_FIELD_LIST,
      offsetof(vpt_offer_t, exclude_if_in_cart), 0 },
    { "exclude_if_purchased", VPT_FIELD_LIST,
      offsetof(vpt_offer_t, exclude_if_purchased), 0 },
    { "loyalty_member", VPT_FIELD_BOOL,
      offsetof(vpt_offer_t, loyalty_member), 0 },
    { "cap_per_shopper", VPT_FIELD_CAP,
      offsetof(vpt_offer_t, cap_per_shopper), 0 },
    { "features", VPT_FIELD_FEATURES, offsetof(vpt_offer_t, features), 0 },
    { "advertiser", VPT_FIELD_STRING, offsetof(vpt_offer_t, advertiser), 0 },
    { "url", VPT_FIELD_URL, offsetof(vpt_offer_t, url), 0 },
    { NULL, 0, 0, 0 }
};


const char *
vpt_kind_name(vpt_kind_e kind)
{
    if ((unsigned) kind >= VPT_KIND_N) {
        return "unknown";
    }

    return vpt_kind_names[kind];
}


/* VPT_OK, or VPT_ERROR with p->why saying what is wrong with the value */

int
vpt_catalog_field_parse(vpt_parse_t *p, const vpt_field_t *f, json_t *v,
    vpt_offer_t *o)
{
    int              k;
    char            *at;
    double           d;
    size_t           len, n;
    vpt_str_t        str;
    json_int_t       cap;
    const char      *s;
    unsigned char   *esc;

    at = (char *) o + f->offset;

    switch (f->type) {

    case VPT_FIELD_KIND:
        s = json_string_value(v);
        len = json_string_length(v);

        for (k = 0; s != NULL && k < VPT_KIND_N; k++) {
            if (strlen(vpt_kind_names[k]) == len
                && memcmp(vpt_kind_names[k], s, len) == 0)
            {
                *(vpt_kind_e *) at = (vpt_kind_e) k;
                return VPT_OK;
            }
        }

        snprintf(p->why, sizeof(p->why), "expected one of %s, %s, %s, %s, "
                 "%s, %s", vpt_kind_names[0], vpt_kind_names[1],
                 vpt_kind_names[2], vpt_kind_names[3], vpt_kind_names[4],
                 vpt_kind_names[5]);
        return VPT_ERROR;

    case VPT_FIELD_MARKUP:
        if (!json_is_string(v) || json_string_length(v) == 0) {
            snprintf(p->why, sizeof(p->why), "expected a non-empty string");
            return VPT_ERROR;
        }

        str.data = json_string_value(v);
        str.len = json_string_length(v);

        /*
         * the renderer's own list of placeholders, and where each sits in
         * the HTML: how it is escaped, or why no escaping would do
         */

        n = vpt_render_placeholders(str);
        esc = vpt_catalog_alloc(&p->arena, n + 1, 1);

        if (esc == NULL) {
            snprintf(p->why, sizeof(p->why), "out of memory");
            return VPT_ERROR;
        }

        if (vpt_render_escapes(str, esc, n, p->why, sizeof(p->why))
            != VPT_OK)
        {
            return VPT_ERROR;
        }

        o->escapes = esc;
        o->nescapes = n;

        return vpt_catalog_str(p, str.data, str.len, (vpt_str_t *) at);

    case VPT_FIELD_MONEY:
        if (!json_is_number(v) || json_number_value(v) < 0) {
            snprintf(p->why, sizeof(p->why), "expected a number >= 0");
            return VPT_ERROR;
        }

        *(double *) at = json_number_value(v);
        return VPT_OK;

    case VPT_FIELD_PROB:
        d = json_number_value(v);

        if (!json_is_number(v) || d < 0 || d > 1) {
            snprintf(p->why, sizeof(p->why),
                     "expected a number from 0 to 1");
            return VPT_ERROR;
        }

        *(double *) at = d;
        return VPT_OK;

    case VPT_FIELD_PAGES:
        return vpt_pages_parse(p, v, (unsigned *) at);

    case VPT_FIELD_LIST:
        return vpt_catalog_strlist_parse(p, v, (vpt_strlist_t *) at);

    case VPT_FIELD_HOURS:
        return vpt_hours_parse(p, v, (uint32_t *) at);

    case VPT_FIELD_BOOL:
        if (!json_is_boolean(v)) {
            snprintf(p->why, sizeof(p->why), "expected true or false");
            return VPT_ERROR;
        }

        *(int *) at = json_is_true(v) ? 1 : 0;
        return VPT_OK;

    case VPT_FIELD_CAP:
        cap = json_integer_value(v);

        if (!json_is_integer(v) || cap < 1 || cap > (json_int_t) UINT32_MAX)
        {
            snprintf(p->why, sizeof(p->why),
                     "expected an integer from 1 to %lu",
                     (unsigned long) UINT32_MAX);
            return VPT_ERROR;
        }

        *(unsigned *) at = (unsigned) cap;
        return VPT_OK;

    case VPT_FIELD_FEATURES:
        return vpt_features_parse(p, v, o);

    case VPT_FIELD_STRING:
        if (!json_is_string(v) || json_string_length(v) == 0) {
            snprintf(p->why, sizeof(p->why), "expected a non-empty string");
            return VPT_ERROR;
        }

        return vpt_catalog_str(p, json_string_value(v),
                               json_string_length(v), (vpt_str_t *) at);

    case VPT_FIELD_URL:
        return vpt_url_parse(p, v, (vpt_str_t *) at);

    default: /* VPT_FIELD_ID, parsed first */
        return VPT_OK;
    }
}


/* non-empty, at most VPT_ID_MAX bytes of [A-Za-z0-9._:-] */

int
vpt_catalog_id_parse(vpt_parse_t *p, json_t *v, vpt_str_t *id)
{
    size_t       i, len;
    const char  *s;

    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(p->why, sizeof(p->why), "expected a non-empty string");
        return VPT_ERROR;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len > VPT_ID_MAX) {
        snprintf(p->why, sizeof(p->why), "longer than %d bytes", VPT_ID_MAX);
        return VPT_ERROR;
    }

    for (i = 0; i < len; i++) {
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
            || (s[i] >= '0' && s[i] <= '9')
            || s[i] == '.' || s[i] == '_' || s[i] == ':' || s[i] == '-')
        {
            continue;
        }

        snprintf(p->why, sizeof(p->why), "byte %zu is not a letter, digit, "
                 "'.', '_', ':' or '-'", i);
        return VPT_ERROR;
    }

    return vpt_catalog_str(p, s, len, id);
}


int
vpt_catalog_strlist_parse(vpt_parse_t *p, json_t *v, vpt_strlist_t *l)
{
    size_t   i, n;
    json_t  *e;

    n = json_is_array(v) ? json_array_size(v) : 0;

    if (n == 0) {
        snprintf(p->why, sizeof(p->why),
                 "expected a non-empty array of non-empty strings");
        return VPT_ERROR;
    }

    l->items = vpt_catalog_alloc(&p->arena, n * sizeof(vpt_str_t),
                                 __alignof__(vpt_str_t));
    if (l->items == NULL) {
        snprintf(p->why, sizeof(p->why), "out of memory");
        return VPT_ERROR;
    }

    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || json_string_length(e) == 0) {
            snprintf(p->why, sizeof(p->why),
                     "element #%zu: expected a non-empty string", i);
            return VPT_ERROR;
        }

        if (vpt_catalog_str(p, json_string_value(e), json_string_length(e),
                            &l->items[i])
            != VPT_OK)
        {
            return VPT_ERROR;
        }
    }

    l->n = n;

    return VPT_OK;
}


static int
vpt_pages_parse(vpt_parse_t *p, json_t *v, unsigned *pages)
{
    int        page;
    size_t     i;
    json_t    *e;
    vpt_str_t  s;

    if (!json_is_array(v) || json_array_size(v) == 0) {
        snprintf(p->why, sizeof(p->why), "expected a non-empty array of "
                 "\"%s\" or \"%s\"", vpt_page_name(VPT_PAGE_CART),
                 vpt_page_name(VPT_PAGE_CONFIRMATION));
        return VPT_ERROR;
    }

    *pages = 0;

    json_array_foreach(v, i, e) {
        s.data = json_string_value(e);
        s.len = json_string_length(e);

        page = (s.data != NULL) ? vpt_page_parse(s) : -1;

        if (page < 0) {
            snprintf(p->why, sizeof(p->why),
                     "element #%zu: expected \"%s\" or \"%s\"", i,
                     vpt_page_name(VPT_PAGE_CART),
                     vpt_page_name(VPT_PAGE_CONFIRMATION));
            return VPT_ERROR;
        }

        *pages |= VPT_PAGE_BIT(page);
    }

    return VPT_OK;
}


/*
 * [20, [22, 2], 7]: hours 0..23 and inclusive ranges [from, to], which
 * wrap past midnight when from > to; bit h of the mask is hour h.
 */

static int
vpt_hours_parse(vpt_parse_t *p, json_t *v, uint32_t *mask)
{
    int      h, from, to;
    size_t   i;
    json_t  *e;

    if (!json_is_array(v) || json_array_size(v) == 0) {
        snprintf(p->why, sizeof(p->why), "expected a non-empty array of "
                 "hours 0..23 and [from, to] ranges");
        return VPT_ERROR;
    }

    *mask = 0;

    json_array_foreach(v, i, e) {

        if (vpt_hour(e, &h) == VPT_OK) {
            *mask |= 1u << h;
            continue;
        }

        if (json_is_array(e) && json_array_size(e) == 2
            && vpt_hour(json_array_get(e, 0), &from) == VPT_OK
            && vpt_hour(json_array_get(e, 1), &to) == VPT_OK)
        {
            for (h = from; /* void */; h = (h + 1) % 24) {
                *mask |= 1u << h;

                if (h == to) {
                    break;
                }
            }

            continue;
        }

        snprintf(p->why, sizeof(p->why), "element #%zu: expected an hour "
                 "0..23 or a range [from, to]", i);
        return VPT_ERROR;
    }

    return VPT_OK;
}


static int
vpt_hour(json_t *v, int *hour)
{
    json_int_t  h;

    if (!json_is_integer(v)) {
        return VPT_ERROR;
    }

    h = json_integer_value(v);

    if (h < 0 || h > 23) {
        return VPT_ERROR;
    }

    *hour = (int) h;

    return VPT_OK;
}


static int
vpt_features_parse(vpt_parse_t *p, json_t *v, vpt_offer_t *o)
{
    char         show[VPT_SHOW_SIZE];
    size_t       n, keylen;
    json_t      *e;
    vpt_attr_t  *a;
    const char  *key;

    if (!json_is_object(v)) {
        snprintf(p->why, sizeof(p->why), "expected an object of string or "
                 "number values");
        return VPT_ERROR;
    }

    n = json_object_size(v);

    o->features = vpt_catalog_alloc(&p->arena, n * sizeof(vpt_attr_t),
                                    __alignof__(vpt_attr_t));
    if (o->features == NULL && n != 0) {
        snprintf(p->why, sizeof(p->why), "out of memory");
        return VPT_ERROR;
    }

    o->nfeatures = 0;

    json_object_keylen_foreach(v, key, keylen, e) {
        a = &o->features[o->nfeatures];

        if (keylen == 0) {
            snprintf(p->why, sizeof(p->why), "empty feature name");
            return VPT_ERROR;
        }

        if (json_is_string(e)) {
            if (vpt_catalog_str(p, json_string_value(e),
                                json_string_length(e), &a->str)
                != VPT_OK)
            {
                return VPT_ERROR;
            }

            a->num = 0;
            a->is_num = 0;

        } else if (json_is_number(e)) {
            a->str.data = "";
            a->str.len = 0;
            a->num = json_number_value(e);
            a->is_num = 1;

        } else {
            snprintf(p->why, sizeof(p->why),
                     "\"%s\": expected a string or a number",
                     vpt_show(show, sizeof(show), key, keylen));
            return VPT_ERROR;
        }

        if (vpt_catalog_str(p, key, keylen, &a->name) != VPT_OK) {
            return VPT_ERROR;
        }

        o->nfeatures++;
    }

    return VPT_OK;
}


/*
 * The accept's Location: an absolute http(s) URL with a host, or a path
 * of this site ("/..." but not "//host", which a browser takes for
 * another site).  Only printable ASCII without spaces: a control byte
 * (CR, LF) would split the header, and a URL is sent as it is written.
 */

static int
vpt_url_parse(vpt_parse_t *p, json_t *v, vpt_str_t *url)
{
    size_t       i, len, skip;
    const char  *s;

    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(p->why, sizeof(p->why), "expected a non-empty string");
        return VPT_ERROR;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len > VPT_URL_MAX) {
        snprintf(p->why, sizeof(p->why), "longer than %d bytes",
                 VPT_URL_MAX);
        return VPT_ERROR;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f) {
            snprintf(p->why, sizeof(p->why), "byte %zu is a control "
                     "character, a space or not ASCII (percent-encode it)",
                     i);
            return VPT_ERROR;
        }
    }

    skip = 0;

    if (len > 7 && strncasecmp(s, "http://", 7) == 0) {
        skip = 7;

    } else if (len > 8 && strncasecmp(s, "https://", 8) == 0) {
        skip = 8;
    }

    if (skip) {
        if (s[skip] == '/' || s[skip] == '?' || s[skip] == '#') {
            snprintf(p->why, sizeof(p->why), "has no host");
            return VPT_ERROR;
        }

    } else if (s[0] != '/' || (len > 1 && (s[1] == '/' || s[1] == '\\'))) {
        snprintf(p->why, sizeof(p->why), "expected an absolute http or "
                 "https URL, or a path starting with \"/\" (not \"//\")");
        return VPT_ERROR;
    }

    return vpt_catalog_str(p, s, len, url);
}
