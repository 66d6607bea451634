/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Just enough of the HTML tokenizer (WHATWG, "Tokenization") to tell text
 * from markup in a stream: whether a byte is read in the data state, where
 * a tag or text may begin, or inside a comment, a tag (its attribute
 * values too), a doctype or bogus comment, or the raw text of script,
 * style, textarea, title, xmp, iframe, noembed, noframes, noscript and
 * plaintext (script's "<!--" escapes included).
 *
 * The state is a few bytes: buffers may split the page anywhere, and a
 * token cut in two ("</scr" | "ipt>") is carried as progress counters, never
 * as held bytes.  Each state skips to the next byte that can change it
 * (memchr or a word-at-a-time search), so text, attribute values and
 * scripts are not looked at byte by byte.
 *
 * Not modelled: character references (they never end a token), the tree
 * builder's foreign content (<svg>, <math>: their <style> and <script> are
 * read as HTML's, and CDATA sections as bogus comments), and encodings that
 * are not ASCII-compatible.  NUL and bytes >= 0x80 are ordinary text.
 */

#ifndef VPT_HTML_H
#define VPT_HTML_H

#include "vpt_core.h"


#define VPT_HTML_NAME_MAX  9    /* longest raw text element: "plaintext" */


typedef struct {
    unsigned char  state;
    unsigned char  n;          /* progress within the current state */
    unsigned char  elem;       /* raw text element opened or being read */
    unsigned char  esc:1;      /* "</script" read in an escaped script */
    unsigned char  dbl:1;      /* script data double escaped */
    unsigned char  name[VPT_HTML_NAME_MAX];  /* start tag name, lowercase */
} vpt_html_t;


void vpt_html_init(vpt_html_t *h);

/* reads p[0, len) */
void vpt_html_scan(vpt_html_t *h, const unsigned char *p, size_t len);

/*
 * Reads p[0, len) up to the first byte read in the data state and returns
 * how many bytes it read (len when there is none).  Called out of the data
 * state: every byte it reads is markup, a comment or raw text.
 */
size_t vpt_html_skip(vpt_html_t *h, const unsigned char *p, size_t len);

/*
 * Whether the next byte, c, is read in the data state: text, or the '<' of
 * a tag, comment or doctype.  c matters only right after a '<', which
 * starts nothing when c is not a letter, '/', '!' or '?' ("a <b", "x<<").
 */
int vpt_html_in_data(const vpt_html_t *h, unsigned char c);

/*
 * Whether the next byte is read in the data state whatever it is (the
 * structural scanner, vpt_scan.h, runs only there): state 0 is data.
 */
static inline int
vpt_html_at_data(const vpt_html_t *h)
{
    return h->state == 0;
}


#endif /* VPT_HTML_H */
