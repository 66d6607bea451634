/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The offer catalog: one pass over the jansson tree validates each field
 * and copies what it keeps into a single allocation, c->mem.  That
 * allocation is sized beforehand by an upper bound taken from the tree:
 * every byte kept is a copy of one of its strings (plus a NUL) or a slot
 * for one of its array or object elements, so the tree bounds the catalog.
 *
 * Layout of c->mem:
 *
 *   vpt_catalog_mem_t    the catalog itself and its id index
 *   vpt_offer_t[n]
 *   uint32_t[nslots]     open addressing, linear probing: offer index + 1,
 *                        0 for an empty slot; at most half full
 *   lists, attributes and string bytes, in document order
 *
 * The first error stops the parse; its message names the file, the offer
 * (index, and id once known) and the field.  Names that come from the file
 * itself are quoted through vpt_show(): control bytes, quotes and
 * backslashes become '?', and long names are cut, so a message is always
 * one clean log line.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vpt_catalog.h"
#include "vpt_rank.h"             /* vpt_render_check() */


#define VPT_ID_MAX          64      /* bytes of an offer id */
#define VPT_SHOW_MAX        48      /* bytes of a file's name in a message */
#define VPT_SLACK           16      /* alignment padding per allocation */
#define VPT_READ_CHUNK      65536

#define VPT_PRIOR_DEFAULT   0.05
#define VPT_HOURS_ALL       0xffffffu


typedef struct {
    vpt_catalog_t        catalog;
    uint32_t            *index;
    size_t               mask;
} vpt_catalog_mem_t;


typedef struct {
    char                *base;
    size_t               used;
    size_t               size;
} vpt_arena_t;


typedef enum {
    VPT_FIELD_ID = 0,
    VPT_FIELD_KIND,
    VPT_FIELD_MARKUP,
    VPT_FIELD_MONEY,                /* a number >= 0 */
    VPT_FIELD_PROB,                 /* a number in [0, 1] */
    VPT_FIELD_PAGES,
    VPT_FIELD_LIST,                 /* non-empty array of non-empty strings */
    VPT_FIELD_HOURS,
    VPT_FIELD_BOOL,                 /* int: 1, 0; -1 when absent */
    VPT_FIELD_CAP,                  /* an integer >= 1 */
    VPT_FIELD_FEATURES,
    VPT_FIELD_STRING                /* a non-empty string */
} vpt_field_type_e;


typedef struct {
    const char          *name;
    vpt_field_type_e     type;
    size_t               offset;    /* in vpt_offer_t */
    unsigned             required:1;
} vpt_field_t;


typedef struct {
    const char          *file;
    char                *err;
    size_t               errlen;
    vpt_arena_t          arena;
    vpt_catalog_mem_t   *m;
    char                 why[256];  /* what is wrong with the field */
} vpt_parse_t;


static size_t vpt_json_bound(json_t *v);
static int vpt_catalog_fill(vpt_parse_t *p, json_t *root);
static int vpt_offer_parse(vpt_parse_t *p, size_t i, json_t *jo,
    vpt_offer_t *o);
static int vpt_field_parse(vpt_parse_t *p, const vpt_field_t *f, json_t *v,
    vpt_offer_t *o);
static int vpt_id_parse(vpt_parse_t *p, json_t *v, vpt_str_t *id);
static int vpt_list_parse(vpt_parse_t *p, json_t *v, vpt_strlist_t *l);
static int vpt_pages_parse(vpt_parse_t *p, json_t *v, unsigned *pages);
static int vpt_hours_parse(vpt_parse_t *p, json_t *v, uint32_t *mask);
static int vpt_hour(json_t *v, int *hour);
static int vpt_features_parse(vpt_parse_t *p, json_t *v, vpt_offer_t *o);
static long vpt_index_lookup(const vpt_catalog_mem_t *m, vpt_str_t id,
    size_t *slot);
static void *vpt_arena_alloc(vpt_arena_t *a, size_t size, size_t align);
static int vpt_arena_str(vpt_parse_t *p, const char *s, size_t len,
    vpt_str_t *out);
static const char *vpt_show(char *buf, size_t size, const char *s,
    size_t len);
static void vpt_error(vpt_parse_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void vpt_offer_error(vpt_parse_t *p, size_t i, vpt_str_t id,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void vpt_vappend(char *err, size_t errlen, size_t *at,
    const char *fmt, va_list args);
static void vpt_append(char *err, size_t errlen, size_t *at,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));


static const char  *vpt_kind_names[VPT_KIND_N] = {
    "upsell",
    "cross_sell",
    "loyalty",
    "app_install",
    "gift_card",
    "third_party"
};


static const char  *vpt_page_names[VPT_PAGE_N] = {
    "cart",
    "confirmation"
};


static const vpt_field_t  vpt_offer_fields[] = {
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
    { NULL, 0, 0, 0 }
};


vpt_catalog_t *
vpt_catalog_load(const char *path, char *err, size_t errlen)
{
    int             fd, e;
    char           *buf, *nbuf;
    size_t          len, size;
    ssize_t         n;
    vpt_parse_t     p;
    vpt_catalog_t  *c;

    memset(&p, 0, sizeof(p));
    p.file = path;
    p.err = err;
    p.errlen = errlen;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        vpt_error(&p, "cannot read: %s", strerror(errno));
        return NULL;
    }

    buf = NULL;
    len = 0;
    size = 0;

    for ( ;; ) {
        if (len == size) {
            size += VPT_READ_CHUNK;
            nbuf = realloc(buf, size);
            if (nbuf == NULL) {
                e = ENOMEM;
                goto failed;
            }
            buf = nbuf;
        }

        n = read(fd, buf + len, size - len);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            e = errno;
            goto failed;
        }

        if (n == 0) {
            break;
        }

        len += (size_t) n;
    }

    close(fd);

    c = vpt_catalog_parse(buf, len, path, err, errlen);
    free(buf);

    return c;

failed:

    close(fd);
    free(buf);
    vpt_error(&p, "cannot read: %s", strerror(e));

    return NULL;
}


vpt_catalog_t *
vpt_catalog_parse(const char *json, size_t len, const char *name, char *err,
    size_t errlen)
{
    size_t              n, nslots, size;
    json_t             *root, *offers;
    json_error_t        je;
    vpt_parse_t         p;
    vpt_catalog_mem_t  *m;

    memset(&p, 0, sizeof(p));
    p.file = name ? name : "-";
    p.err = err;
    p.errlen = errlen;

    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        vpt_error(&p, "line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }

    if (!json_is_object(root)) {
        vpt_error(&p, "expected an object {\"version\": ..., "
                  "\"offers\": [...]}");
        goto failed;
    }

    offers = json_object_get(root, "offers");
    n = json_is_array(offers) ? json_array_size(offers) : 0;

    nslots = 2;
    while (nslots < 2 * n) {
        nslots <<= 1;
    }

    size = sizeof(vpt_catalog_mem_t) + n * sizeof(vpt_offer_t)
           + nslots * sizeof(uint32_t) + 2 * VPT_SLACK
           + vpt_json_bound(root);

    m = calloc(1, size);
    if (m == NULL) {
        vpt_error(&p, "out of memory (%zu bytes)", size);
        goto failed;
    }

    p.m = m;
    p.arena.base = (char *) m;
    p.arena.size = size;
    p.arena.used = sizeof(vpt_catalog_mem_t);

    m->catalog.mem = m;
    m->catalog.version.data = "";
    m->catalog.offers = vpt_arena_alloc(&p.arena, n * sizeof(vpt_offer_t),
                                        __alignof__(vpt_offer_t));
    m->index = vpt_arena_alloc(&p.arena, nslots * sizeof(uint32_t),
                               __alignof__(uint32_t));
    m->mask = nslots - 1;

    if (vpt_catalog_fill(&p, root) != VPT_OK) {
        free(m);
        goto failed;
    }

    json_decref(root);

    return &m->catalog;

failed:

    json_decref(root);

    return NULL;
}


void
vpt_catalog_free(vpt_catalog_t *c)
{
    if (c != NULL) {
        /* c itself lives in c->mem */
        free(c->mem);
    }
}


long
vpt_catalog_find(const vpt_catalog_t *c, vpt_str_t id)
{
    size_t  slot;

    if (c == NULL || c->mem == NULL) {
        return -1;
    }

    return vpt_index_lookup(c->mem, id, &slot);
}


const char *
vpt_kind_name(vpt_kind_e kind)
{
    if ((unsigned) kind >= VPT_KIND_N) {
        return "unknown";
    }

    return vpt_kind_names[kind];
}


const char *
vpt_page_name(vpt_page_e page)
{
    if ((unsigned) page >= VPT_PAGE_N) {
        return "unknown";
    }

    return vpt_page_names[page];
}


int
vpt_page_parse(vpt_str_t s)
{
    int        i;
    vpt_str_t  name;

    for (i = 0; i < VPT_PAGE_N; i++) {
        name.data = vpt_page_names[i];
        name.len = strlen(name.data);

        if (vpt_str_eq(s, name)) {
            return i;
        }
    }

    return -1;
}


/* bytes the catalog may keep of this subtree; see the comment on top */

static size_t
vpt_json_bound(json_t *v)
{
    size_t       n, i, keylen;
    json_t      *e;
    const char  *key;

    switch (json_typeof(v)) {

    case JSON_STRING:
        return json_string_length(v) + 1;

    case JSON_ARRAY:
        n = VPT_SLACK + json_array_size(v) * sizeof(vpt_str_t);

        json_array_foreach(v, i, e) {
            n += vpt_json_bound(e);
        }

        return n;

    case JSON_OBJECT:
        n = VPT_SLACK + json_object_size(v) * sizeof(vpt_attr_t);

        json_object_keylen_foreach(v, key, keylen, e) {
            n += keylen + 1 + vpt_json_bound(e);
        }

        return n;

    default:
        return 0;
    }
}


static int
vpt_catalog_fill(vpt_parse_t *p, json_t *root)
{
    char            show[VPT_SHOW_MAX + 8];
    size_t          i, keylen;
    json_t         *v, *offers;
    const char     *key;
    vpt_catalog_t  *c;

    c = &p->m->catalog;

    json_object_keylen_foreach(root, key, keylen, v) {
        if (keylen == sizeof("version") - 1
            && memcmp(key, "version", keylen) == 0)
        {
            if (!json_is_string(v)) {
                vpt_error(p, "\"version\": expected a string");
                return VPT_ERROR;
            }

            if (vpt_arena_str(p, json_string_value(v), json_string_length(v),
                              &c->version)
                != VPT_OK)
            {
                vpt_error(p, "\"version\": %s", p->why);
                return VPT_ERROR;
            }

            continue;
        }

        if (keylen == sizeof("offers") - 1
            && memcmp(key, "offers", keylen) == 0)
        {
            continue;
        }

        vpt_error(p, "unknown field \"%s\"",
                  vpt_show(show, sizeof(show), key, keylen));
        return VPT_ERROR;
    }

    offers = json_object_get(root, "offers");

    if (offers == NULL) {
        vpt_error(p, "\"offers\": missing");
        return VPT_ERROR;
    }

    if (!json_is_array(offers) || json_array_size(offers) == 0) {
        vpt_error(p, "\"offers\": expected a non-empty array of offers");
        return VPT_ERROR;
    }

    json_array_foreach(offers, i, v) {
        if (vpt_offer_parse(p, i, v, &c->offers[i]) != VPT_OK) {
            return VPT_ERROR;
        }

        c->n = i + 1;
    }

    return VPT_OK;
}


static int
vpt_offer_parse(vpt_parse_t *p, size_t i, json_t *jo, vpt_offer_t *o)
{
    char               show[VPT_SHOW_MAX + 8];
    long               dup;
    size_t             keylen, slot;
    json_t            *v;
    uint32_t           seen;
    vpt_str_t          noid;
    const char        *key;
    const vpt_field_t *f;

    noid.data = "";
    noid.len = 0;

    o->id = noid;
    o->markup = noid;
    o->advertiser = noid;
    o->prior = VPT_PRIOR_DEFAULT;
    o->hours = VPT_HOURS_ALL;
    o->loyalty_member = -1;

    if (!json_is_object(jo)) {
        vpt_offer_error(p, i, noid, "expected an object");
        return VPT_ERROR;
    }

    /* the id first, so that every later message names the offer */

    v = json_object_get(jo, "id");

    if (v == NULL) {
        vpt_offer_error(p, i, noid, "\"id\": missing");
        return VPT_ERROR;
    }

    if (vpt_id_parse(p, v, &o->id) != VPT_OK) {
        vpt_offer_error(p, i, noid, "\"id\": %s", p->why);
        return VPT_ERROR;
    }

    dup = vpt_index_lookup(p->m, o->id, &slot);

    if (dup >= 0) {
        vpt_offer_error(p, i, o->id, "\"id\": duplicate of offer #%ld", dup);
        return VPT_ERROR;
    }

    p->m->index[slot] = (uint32_t) (i + 1);

    seen = 0;

    json_object_keylen_foreach(jo, key, keylen, v) {

        for (f = vpt_offer_fields; f->name; f++) {
            if (strlen(f->name) == keylen
                && memcmp(f->name, key, keylen) == 0)
            {
                break;
            }
        }

        if (f->name == NULL) {
            vpt_offer_error(p, i, o->id, "unknown field \"%s\"",
                            vpt_show(show, sizeof(show), key, keylen));
            return VPT_ERROR;
        }

        seen |= 1u << (f - vpt_offer_fields);

        if (f->type == VPT_FIELD_ID) {
            continue;
        }

        if (vpt_field_parse(p, f, v, o) != VPT_OK) {
            vpt_offer_error(p, i, o->id, "\"%s\": %s", f->name, p->why);
            return VPT_ERROR;
        }
    }

    for (f = vpt_offer_fields; f->name; f++) {
        if (f->required && !(seen & (1u << (f - vpt_offer_fields)))) {
            vpt_offer_error(p, i, o->id, "\"%s\": missing", f->name);
            return VPT_ERROR;
        }
    }

    if (o->kind == VPT_KIND_THIRD_PARTY && o->advertiser.len == 0) {
        vpt_offer_error(p, i, o->id,
                        "\"advertiser\": missing (required for %s offers)",
                        vpt_kind_names[VPT_KIND_THIRD_PARTY]);
        return VPT_ERROR;
    }

    if (o->kind != VPT_KIND_THIRD_PARTY && o->advertiser.len != 0) {
        vpt_offer_error(p, i, o->id,
                        "\"advertiser\": only allowed for %s offers",
                        vpt_kind_names[VPT_KIND_THIRD_PARTY]);
        return VPT_ERROR;
    }

    return VPT_OK;
}


/* VPT_OK, or VPT_ERROR with p->why saying what is wrong with the value */

static int
vpt_field_parse(vpt_parse_t *p, const vpt_field_t *f, json_t *v,
    vpt_offer_t *o)
{
    int          k;
    char        *at;
    double       d;
    size_t       len;
    vpt_str_t    str;
    json_int_t   cap;
    const char  *s;

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

        /* the renderer's own list of placeholders */

        if (vpt_render_check(str, p->why, sizeof(p->why)) != VPT_OK) {
            return VPT_ERROR;
        }

        return vpt_arena_str(p, str.data, str.len, (vpt_str_t *) at);

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
        return vpt_list_parse(p, v, (vpt_strlist_t *) at);

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

        return vpt_arena_str(p, json_string_value(v), json_string_length(v),
                             (vpt_str_t *) at);

    default: /* VPT_FIELD_ID, parsed first */
        return VPT_OK;
    }
}


/* non-empty, at most VPT_ID_MAX bytes of [A-Za-z0-9._:-] */

static int
vpt_id_parse(vpt_parse_t *p, json_t *v, vpt_str_t *id)
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

    return vpt_arena_str(p, s, len, id);
}


static int
vpt_list_parse(vpt_parse_t *p, json_t *v, vpt_strlist_t *l)
{
    size_t   i, n;
    json_t  *e;

    n = json_is_array(v) ? json_array_size(v) : 0;

    if (n == 0) {
        snprintf(p->why, sizeof(p->why),
                 "expected a non-empty array of non-empty strings");
        return VPT_ERROR;
    }

    l->items = vpt_arena_alloc(&p->arena, n * sizeof(vpt_str_t),
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

        if (vpt_arena_str(p, json_string_value(e), json_string_length(e),
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
                 "\"%s\" or \"%s\"", vpt_page_names[0], vpt_page_names[1]);
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
                     vpt_page_names[0], vpt_page_names[1]);
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
    char         show[VPT_SHOW_MAX + 8];
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

    o->features = vpt_arena_alloc(&p->arena, n * sizeof(vpt_attr_t),
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
            if (vpt_arena_str(p, json_string_value(e), json_string_length(e),
                              &a->str)
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

        if (vpt_arena_str(p, key, keylen, &a->name) != VPT_OK) {
            return VPT_ERROR;
        }

        o->nfeatures++;
    }

    return VPT_OK;
}


static long
vpt_index_lookup(const vpt_catalog_mem_t *m, vpt_str_t id, size_t *slot)
{
    size_t    i;
    uint32_t  e;

    i = (size_t) vpt_hash(id.data, id.len) & m->mask;

    while ((e = m->index[i]) != 0) {
        if (vpt_str_eq(m->catalog.offers[e - 1].id, id)) {
            *slot = i;
            return (long) e - 1;
        }

        i = (i + 1) & m->mask;
    }

    *slot = i;

    return -1;
}


static void *
vpt_arena_alloc(vpt_arena_t *a, size_t size, size_t align)
{
    size_t  at;

    at = (a->used + align - 1) & ~(align - 1);

    if (at > a->size || size > a->size - at) {
        return NULL;
    }

    a->used = at + size;

    return a->base + at;
}


/* a NUL-terminated copy in the arena */

static int
vpt_arena_str(vpt_parse_t *p, const char *s, size_t len, vpt_str_t *out)
{
    char  *d;

    d = vpt_arena_alloc(&p->arena, len + 1, 1);
    if (d == NULL) {
        snprintf(p->why, sizeof(p->why), "out of memory");
        return VPT_ERROR;
    }

    memcpy(d, s, len);
    d[len] = '\0';

    out->data = d;
    out->len = len;

    return VPT_OK;
}


/*
 * A name from the file, made safe to quote in a one-line message; buf
 * holds at least VPT_SHOW_MAX + 4 bytes.
 */

static const char *
vpt_show(char *buf, size_t size, const char *s, size_t len)
{
    size_t         i, n;
    unsigned char  c;

    n = len;

    if (n > VPT_SHOW_MAX) {
        n = VPT_SHOW_MAX;

        /* do not cut a UTF-8 sequence */
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    if (n + 4 > size) {
        n = 0;
    }

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];
        buf[i] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : c;
    }

    if (n < len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }

    buf[n] = '\0';

    return buf;
}


static void
vpt_error(vpt_parse_t *p, const char *fmt, ...)
{
    size_t   at;
    va_list  args;

    at = 0;
    vpt_append(p->err, p->errlen, &at, "catalog \"%s\": ", p->file);

    va_start(args, fmt);
    vpt_vappend(p->err, p->errlen, &at, fmt, args);
    va_end(args);
}


static void
vpt_offer_error(vpt_parse_t *p, size_t i, vpt_str_t id, const char *fmt, ...)
{
    size_t   at;
    va_list  args;

    at = 0;
    vpt_append(p->err, p->errlen, &at, "catalog \"%s\": offer #%zu", p->file,
               i);

    if (id.len) {
        /* a checked id: no byte in it needs quoting */
        vpt_append(p->err, p->errlen, &at, " (\"%.*s\")", (int) id.len,
                   id.data);
    }

    vpt_append(p->err, p->errlen, &at, ": ");

    va_start(args, fmt);
    vpt_vappend(p->err, p->errlen, &at, fmt, args);
    va_end(args);
}


static void
vpt_vappend(char *err, size_t errlen, size_t *at, const char *fmt,
    va_list args)
{
    int  n;

    if (err == NULL || *at >= errlen) {
        return;
    }

    n = vsnprintf(err + *at, errlen - *at, fmt, args);

    if (n < 0) {
        return;
    }

    *at += (size_t) n;

    if (*at > errlen - 1) {
        *at = errlen - 1;
    }
}


static void
vpt_append(char *err, size_t errlen, size_t *at, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vpt_vappend(err, errlen, at, fmt, args);
    va_end(args);
}
