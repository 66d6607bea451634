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
 * What each field of an offer accepts is in vpt_catalog_fields.c.
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

#include "vpt_catalog_int.h"
#include "vpt_advertiser_int.h"


#define VPT_SLACK           16      /* alignment padding per allocation */
#define VPT_READ_CHUNK      65536

#define VPT_PRIOR_DEFAULT   0.05
#define VPT_HOURS_ALL       0xffffffu


static size_t vpt_json_bound(json_t *v);
static int vpt_catalog_fill(vpt_parse_t *p, json_t *root);
static int vpt_offer_parse(vpt_parse_t *p, size_t i, json_t *jo,
    vpt_offer_t *o);
static long vpt_index_lookup(const vpt_catalog_mem_t *m, vpt_str_t id,
    size_t *slot);
static void vpt_error(vpt_parse_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void vpt_offer_error(vpt_parse_t *p, size_t i, vpt_str_t id,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void vpt_vappend(char *err, size_t errlen, size_t *at,
    const char *fmt, va_list args);
static void vpt_append(char *err, size_t errlen, size_t *at,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));


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
        vpt_error(&p, "line %d, column %d: %s", je.line, je.column,
                  vpt_printable(je.text));
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
           + vpt_json_bound(root) + vpt_adv_bound(root);

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
    m->catalog.offers = vpt_catalog_alloc(&p.arena, n * sizeof(vpt_offer_t),
                                          __alignof__(vpt_offer_t));
    m->index = vpt_catalog_alloc(&p.arena, nslots * sizeof(uint32_t),
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

            /* a markup's escapes: a byte per placeholder ("{{}}" and more) */

            if (keylen == 6 && memcmp(key, "markup", 6) == 0) {
                n += json_string_length(e) / 4 + 1;
            }
        }

        return n;

    default:
        return 0;
    }
}


static int
vpt_catalog_fill(vpt_parse_t *p, json_t *root)
{
    char            show[VPT_SHOW_SIZE];
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

            if (vpt_catalog_str(p, json_string_value(v),
                                json_string_length(v), &c->version)
                != VPT_OK)
            {
                vpt_error(p, "\"version\": %s", p->why);
                return VPT_ERROR;
            }

            continue;
        }

        if ((keylen == sizeof("offers") - 1
             && memcmp(key, "offers", keylen) == 0)
            || (keylen == sizeof("advertisers") - 1
                && memcmp(key, "advertisers", keylen) == 0))
        {
            continue;
        }

        vpt_error(p, "unknown field \"%s\"",
                  vpt_show(show, sizeof(show), key, keylen));
        return VPT_ERROR;
    }

    /* before the offers, which name them (vpt_advertiser.c) */
    v = json_object_get(root, "advertisers");

    if (v != NULL && vpt_adv_parse_all(p, v) != VPT_OK) {
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
    char               show[VPT_SHOW_SIZE];
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

    if (vpt_catalog_id_parse(p, v, &o->id) != VPT_OK) {
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

        for (f = vpt_catalog_fields; f->name; f++) {
            if (strlen(f->name) == keylen
                && memcmp(f->name, key, keylen) == 0)
            {
                break;
            }
        }

        if (f->name == NULL) {
            vpt_offer_error(p, i, o->id, "unknown field \"%s\"",
                            vpt_show(show, sizeof(show), key,
                                             keylen));
            return VPT_ERROR;
        }

        seen |= 1u << (f - vpt_catalog_fields);

        if (f->type == VPT_FIELD_ID) {
            continue;
        }

        if (vpt_catalog_field_parse(p, f, v, o) != VPT_OK) {
            vpt_offer_error(p, i, o->id, "\"%s\": %s", f->name, p->why);
            return VPT_ERROR;
        }
    }

    for (f = vpt_catalog_fields; f->name; f++) {
        if (f->required && !(seen & (1u << (f - vpt_catalog_fields)))) {
            vpt_offer_error(p, i, o->id, "\"%s\": missing", f->name);
            return VPT_ERROR;
        }
    }

    if (o->kind == VPT_KIND_THIRD_PARTY && o->advertiser.len == 0) {
        vpt_offer_error(p, i, o->id,
                        "\"advertiser\": missing (required for %s offers)",
                        vpt_kind_name(VPT_KIND_THIRD_PARTY));
        return VPT_ERROR;
    }

    if (o->kind != VPT_KIND_THIRD_PARTY && o->advertiser.len != 0) {
        vpt_offer_error(p, i, o->id,
                        "\"advertiser\": only allowed for %s offers",
                        vpt_kind_name(VPT_KIND_THIRD_PARTY));
        return VPT_ERROR;
    }

    if (vpt_adv_link(p, jo, o) != VPT_OK) {
        vpt_offer_error(p, i, o->id, "%s", p->why);
        return VPT_ERROR;
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


void *
vpt_catalog_alloc(vpt_arena_t *a, size_t size, size_t align)
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

int
vpt_catalog_str(vpt_parse_t *p, const char *s, size_t len, vpt_str_t *out)
{
    char  *d;

    d = vpt_catalog_alloc(&p->arena, len + 1, 1);
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
