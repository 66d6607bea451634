/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What the splicer (vpt_splice.c) and its literal search (vpt_splice_lit.c)
 * share: the anchor, and what a search finds.
 */

#ifndef VPT_SPLICE_INT_H
#define VPT_SPLICE_INT_H

#define PCRE2_CODE_UNIT_WIDTH  8

#include <pcre2.h>

#include "vpt_splice.h"


typedef enum {
    VPT_FIND_NONE = 0,
    VPT_FIND_MATCH,
    VPT_FIND_PARTIAL,
    VPT_FIND_ERROR
} vpt_find_e;


struct vpt_anchor_s {
    vpt_place_e            place;
    unsigned               regex:1;

    size_t                 hold_max;   /* longest partial match ever held */

    unsigned char         *lit;        /* the literal, lowercased */
    size_t                 litlen;
    size_t                 rare;       /* offset of its rarest byte */
    size_t                 rare2;      /* of the next rarest, or rare */
    unsigned char          fold;       /* 0x20 if lit[rare] is a letter */
    unsigned char          fold2;      /* the same for lit[rare2] */
    unsigned               avx2:1;     /* the CPU has it */

    pcre2_code            *re;
    pcre2_match_data      *md;         /* one pair: the match or partial */
    pcre2_match_context   *mctx;       /* VPT_REGEX_MATCH_LIMIT */
};


static inline unsigned char
vpt_splice_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


/* sets the literal's search: a->lit and a->litlen are set */
void vpt_lit_prepare(vpt_anchor_t *a);

/* the leftmost match or partial match of the literal in p[0, len) */
vpt_find_e vpt_lit_find(const vpt_anchor_t *a, const unsigned char *p,
    size_t len, size_t *pos);

/* the leftmost match or partial match of the literal starting in p[from, h) */
vpt_find_e vpt_lit_find_in_held(const vpt_anchor_t *a,
    const unsigned char *p, size_t len, size_t from, size_t h, size_t *pos);


#endif /* VPT_SPLICE_INT_H */
