/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The structural HTML scanner: the fast path of the tokenizer (vpt_html.h)
 * for what pages are mostly made of, text and ordinary tags.  Blocks of 64
 * bytes are classified once into two bitmasks, '<' and '>' '"' '\'' '=',
 * and the scanner hops between their set bits: text costs nothing per
 * byte, an end tag or a tag without values is one hop to its '>', and a
 * quoted value one hop to its '=' and one to its closing quote.
 * Everything rarer (comments, doctypes, "<!", "<?", raw text elements and
 * their bodies, unquoted values, odd attribute syntax, a tag cut by the
 * end of the buffer) is handed, from its '<', to the exact tokenizer,
 * which reads up to the next byte in the data state and hands back.  The
 * state between calls is vpt_html_t's alone.
 *
 * The scanner also compares a small set of literals, each starting with
 * '<', at each '<' it reads in the data state, so the splicer needs no
 * separate search for such anchors, however many there are.
 */

#ifndef VPT_SCAN_H
#define VPT_SCAN_H

#include "vpt_html.h"


#define VPT_SCAN_LITS_MAX  8


typedef enum {
    VPT_SCAN_NONE = 0,
    VPT_SCAN_MATCH,
    VPT_SCAN_PARTIAL
} vpt_scan_e;


/* literals to look for: vpt_scan_lits_init() sets it, nothing frees it */
typedef struct {
    unsigned              n;
    const unsigned char  *lit[VPT_SCAN_LITS_MAX];
    size_t                len[VPT_SCAN_LITS_MAX];
    /* bit i of next[b]: b may be literal i's 2nd byte; of next[256 + b],
     * its 3rd; of next[512 + b], its 4th */
    unsigned char         next[768];
} vpt_scan_lits_t;


/*
 * n literals (n <= VPT_SCAN_LITS_MAX), each at least 1 byte, lowercase,
 * starting with '<'; they must stay readable while the set is used.
 * Returns VPT_ERROR for a set that breaks these rules.
 */
int vpt_scan_lits_init(vpt_scan_lits_t *set, const unsigned char **lit,
    const size_t *len, unsigned n);


/*
 * Reads p[0, len) as vpt_html_scan() does.  With lits (NULL: none), stops
 * at the first '<' read in the data state where a literal matches, ASCII
 * case-insensitively, or, cut by the end of p, could still match; the
 * tokenizer has read p[0, *pos) then.  Returns VPT_SCAN_PARTIAL when any
 * literal could still match there (*which: those), else VPT_SCAN_MATCH
 * (*which: the literals that match, bit i for literal i).  Otherwise, and
 * always without lits, returns VPT_SCAN_NONE having read all of p.
 *
 * A partial match wins over a whole one at the same '<', so that the
 * caller, holding the bytes from there, learns of both with the next
 * buffer; at the end of the stream it may compare the held bytes itself.
 */
vpt_scan_e vpt_scan(vpt_html_t *h, const unsigned char *p, size_t len,
    const vpt_scan_lits_t *lits, size_t *pos, unsigned *which);

/* the block classifier this build and CPU use: "avx2", "sse2", "scalar" */
const char *vpt_scan_path(void);


#endif /* VPT_SCAN_H */
