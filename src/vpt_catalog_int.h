/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Between the catalog's parser (vpt_catalog.c) and its fields
 * (vpt_catalog_fields.c): the parse state and the arena.
 */

#ifndef VPT_CATALOG_INT_H
#define VPT_CATALOG_INT_H

#include <jansson.h>

#include "vpt_catalog.h"


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
    VPT_FIELD_STRING,               /* a non-empty string */
    VPT_FIELD_URL                   /* where an accept leads */
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


/* the fields of an offer, ending with a NULL name */
extern const vpt_field_t  vpt_catalog_fields[];

/* VPT_OK, or VPT_ERROR with p->why saying what is wrong with the value */
int vpt_catalog_field_parse(vpt_parse_t *p, const vpt_field_t *f, json_t *v,
    vpt_offer_t *o);
int vpt_catalog_id_parse(vpt_parse_t *p, json_t *v, vpt_str_t *id);

/* a non-empty array of non-empty strings (an offer's or an advertiser's) */
int vpt_catalog_strlist_parse(vpt_parse_t *p, json_t *v, vpt_strlist_t *l);

/* size bytes at align in the arena, or NULL */
void *vpt_catalog_alloc(vpt_arena_t *a, size_t size, size_t align);

/* a NUL-terminated copy in the arena; out of memory: p->why says so */
int vpt_catalog_str(vpt_parse_t *p, const char *s, size_t len,
    vpt_str_t *out);


#endif /* VPT_CATALOG_INT_H */
