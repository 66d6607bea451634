/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Shared types of the pure core.  Nothing here knows about nginx: the core
 * is plain C99 with explicit lengths, so it can be unit-tested, fuzzed,
 * benchmarked and linked by tools/ exactly as the module links it.
 */

#ifndef VPT_CORE_H
#define VPT_CORE_H

#include <stddef.h>
#include <stdint.h>


#define VPT_OK          0
#define VPT_ERROR      -1
#define VPT_DECLINED   -5      /* not mine: let the general path decide */

#define VPT_ERRLEN      512


/* a byte string that is not NUL-terminated unless said otherwise */
typedef struct {
    const char  *data;
    size_t       len;
} vpt_str_t;

#define vpt_str_lit(s)   { (s), sizeof(s) - 1 }


/* pages of the transaction moment, as a bit set for offer rules */
typedef enum {
    VPT_PAGE_CART = 0,
    VPT_PAGE_CONFIRMATION,
    VPT_PAGE_N
} vpt_page_e;

#define VPT_PAGE_BIT(p)  (1u << (p))

/* "cart", "confirmation"; "unknown" out of range */
const char *vpt_page_name(vpt_page_e page);
int vpt_page_parse(vpt_str_t s);    /* vpt_page_e, or -1 */


/* 64-bit FNV-1a: feature names, split buckets and decision seeds */
uint64_t vpt_hash(const void *data, size_t len);
uint64_t vpt_hash_more(uint64_t h, const void *data, size_t len);

/* case-insensitive ASCII equality of two explicit-length strings */
int vpt_str_eq(vpt_str_t a, vpt_str_t b);
int vpt_str_caseeq(vpt_str_t a, vpt_str_t b);

/*
 * s, a NUL-terminated message that quotes a file (jansson's syntax error
 * text), with each control byte and DEL made '?', so nginx -t prints no
 * raw byte of a bad file
 */
char *vpt_printable(char *s);

/*
 * A name from a file (a catalog's field or placeholder), made safe to
 * quote in a one-line message: control bytes, DEL, '"' and '\\' become
 * '?', and a name longer than VPT_SHOW_MAX bytes is cut (never inside a
 * UTF-8 sequence) and ends in "...".  buf holds VPT_SHOW_SIZE bytes;
 * returns buf.
 */
#define VPT_SHOW_MAX   48
#define VPT_SHOW_SIZE  (VPT_SHOW_MAX + 4)

const char *vpt_show(char *buf, size_t size, const char *s, size_t len);

/* a message into err (errlen bytes, cut to fit); nothing when err is NULL */
void vpt_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* splitmix64: tiny, seedable, good enough for exploration draws */
uint64_t vpt_rand_next(uint64_t *state);
double vpt_rand_unit(uint64_t *state);    /* uniform in [0, 1) */


#endif /* VPT_CORE_H */
