/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The structural HTML scanner: the fast path of the tokenizer (vpt_html.h)
 * for what pages are mostly made of, text and ordinary tags.  Each 64-byte
 * block is classified once into bitmasks ('<'; '>' and quotes; whitespace,
 * '/' and '='), and the scanner hops between their set bits: text costs
 * nothing per byte, an end tag is one hop, a start tag one hop per name
 * end, '=', quote pair and '>'.  Everything rarer (comments, doctypes,
 * "<!", "<?", raw text elements and their bodies, a quote that is not a
 * value's, a tag cut by the end of the buffer) is handed, from its '<',
 * to the exact tokenizer, which reads up to the next byte in the data
 * state and hands back.  The state between calls is vpt_html_t's alone.
 *
 * With a literal that starts with '<', the scanner also compares it at
 * each '<' it reads in the data state, so the splicer needs no separate
 * search for such anchors.
 */

#ifndef VPT_SCAN_H
#define VPT_SCAN_H

#include "vpt_html.h"


typedef enum {
    VPT_SCAN_NONE = 0,
    VPT_SCAN_MATCH,
    VPT_SCAN_PARTIAL
} vpt_scan_e;


/*
 * Reads p[0, len) as vpt_html_scan() does.  With lit (litlen >= 1 bytes,
 * lowercase, lit[0] == '<'), stops at the first '<' read in the data state
 * where lit matches, ASCII case-insensitively, or, cut by the end of p,
 * could still match: returns VPT_SCAN_MATCH or VPT_SCAN_PARTIAL with its
 * offset in *pos, and the tokenizer has read p[0, *pos).  Otherwise (and
 * always without lit) returns VPT_SCAN_NONE having read all of p.
 */
vpt_scan_e vpt_scan(vpt_html_t *h, const unsigned char *p, size_t len,
    const unsigned char *lit, size_t litlen, size_t *pos);

/* the block classifier this build and CPU use: "avx2", "sse2", "scalar" */
const char *vpt_scan_path(void);


#endif /* VPT_SCAN_H */
