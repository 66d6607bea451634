/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Between the structural scanner's walk (vpt_scan.c) and its block
 * classifiers (vpt_scan_mask.c): the masks of a window of the buffer and
 * the CPU features the walk may use.
 */

#ifndef VPT_SCAN_INT_H
#define VPT_SCAN_INT_H

#include "vpt_scan.h"


/* as in vpt_splice_lit.c: AVX2 (and BMI) in target("...") functions */
#if defined(__x86_64__) && defined(__SSE2__) && !defined(VPT_NO_AVX2)     \
    && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#define VPT_HAVE_AVX2  1
#endif


/* blocks classified at a time: 4 KB, 1 KB of masks on the stack */
#define VPT_SCAN_BLOCKS  64


/* a block's masks, side by side: a tag's walk reads both */
typedef struct {
    uint64_t  lt;                       /* '<' */
    uint64_t  ev;                       /* '>' '"' '\'' */
} vpt_scan_word_t;

/* bit k of w[i] stands for p[base + 64 i + k] */
typedef struct {
    vpt_scan_word_t  w[VPT_SCAN_BLOCKS];
} vpt_scan_masks_t;


/*
 * Classifies p[base, cend), cend = min(len, base + VPT_SCAN_BLOCKS * 64),
 * base < len, a multiple of 64; returns cend.  A last, partial block is
 * classified from a copy padded with zeroes.
 */
size_t vpt_scan_fill(vpt_scan_masks_t *mk, const unsigned char *p,
    size_t len, size_t base);

/* bit k: ep[k] is c, for the bytes of ep's block before pend */
uint64_t vpt_scan_eq(const unsigned char *ep, const unsigned char *pend,
    unsigned char c);

/* whether the walk may use BMI1 and BMI2 (the CPU has them and AVX2) */
int vpt_scan_cpu_bmi(void);


#endif /* VPT_SCAN_INT_H */
