/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Where each {{placeholder}} of an offer's markup sits in HTML, and so how
 * its value must be escaped: learned once at catalog load (nginx -t) by
 * running the markup through the page tokenizer (vpt_html.h), kept as one
 * byte per placeholder in the offer, and read by the renderer.
 *
 * Allowed, with their escaping:
 *   text, a quoted attribute value, <textarea>, <title>, <noscript>:
 *       HTML-escaped (VPT_ESC_HTML);
 *   the start of a URL attribute's value (href, src, action, srcset...):
 *       only an http, https, mailto or relative URL, else empty; bytes a
 *       URL may not hold percent-encoded, then HTML-escaped (VPT_ESC_URL,
 *       VPT_ESC_URL_LIST in srcset, where ',' separates URLs);
 *   later in a URL attribute's value whose scheme, if any, is http, https
 *       or mailto: all but A-Z a-z 0-9 - . _ ~ percent-encoded
 *       (VPT_ESC_URL_PART); in a URL that loads code or styles or sets the
 *       base (<script src>, <link href>, <base href>, <iframe src>...),
 *       only after its '?' or '#', and never at its start;
 *   inside a '...' or "..." string of a <script>: JSON-string escaped,
 *       < > & ' " U+2028 U+2029 as \uXXXX (VPT_ESC_JS).
 * Refused: a tag or attribute name, an unquoted value, an on* attribute,
 * style, srcdoc, an SVG animation's to, from, values and by (they can set
 * an href), a script outside a string (or in a template literal,
 * comment or regular expression), <style> and other raw text, a comment or
 * <!...> declaration, a URL of another scheme or whose scheme a value
 * could complete ("java{{x}}script:").  The markup must end in the
 * tokenizer's data state: a comment, tag, attribute value or raw text
 * element left open would swallow the rest of the page.
 *
 * {{beacon}}, the renderer's own query string of percent-encoded ids,
 * joins them with "&amp;" in HTML and URLs (a URL's part too) and with
 * \u0026 in a script string.
 */

#ifndef VPT_RENDER_CTX_H
#define VPT_RENDER_CTX_H

#include "vpt_core.h"
#include "vpt_html.h"


typedef enum {
    VPT_ESC_NONE = 0,       /* refused: renders empty */
    VPT_ESC_HTML,
    VPT_ESC_URL,
    VPT_ESC_URL_LIST,
    VPT_ESC_URL_PART,
    VPT_ESC_JS
} vpt_esc_e;


/* the JavaScript lexer's states (vpt_render_js.c) */
enum {
    VPT_JS_CODE = 0,
    VPT_JS_SQ,
    VPT_JS_DQ,
    VPT_JS_TEMPLATE,
    VPT_JS_LINE_COMMENT,
    VPT_JS_BLOCK_COMMENT,
    VPT_JS_REGEX,
    VPT_JS_REGEX_CLASS
};


/* a JavaScript lexer just good enough to know strings from code */
typedef struct {
    unsigned char   state;
    unsigned char   esc:1;          /* after a backslash */
    unsigned char   slash:1;        /* '/' in code, or '*' in a comment */
    unsigned char   regex:1;        /* a '/' here starts a regex */
    unsigned char   slash_regex:1;  /* regex, as it was at that '/' */
    unsigned char   wlen;
    char            word[12];       /* the identifier being read */
} vpt_js_t;


/* the walk over one markup; opaque, on the caller's stack */
typedef struct {
    vpt_str_t       markup;
    size_t          pos;            /* bytes fed to the tokenizer */
    vpt_html_t      html;
    vpt_js_t        js;
    unsigned char   st[16];         /* the tokenizer's states, by example */
    unsigned char   map[256];       /* a tokenizer state: its st[] index */
    unsigned        states_ok:1;
    unsigned        in_raw:1;       /* in a raw text element's text */
    unsigned        in_script:1;
    size_t          open_at;        /* where the data state was left */
    size_t          tag, tag_len;   /* the last start tag's name */
    size_t          attr, attr_len; /* the attribute being read */
    size_t          value;          /* where its value starts */
    char            raw[12];        /* raw text element, lowercase */
} vpt_mctx_t;


void vpt_mctx_init(vpt_mctx_t *m, vpt_str_t markup);

/*
 * The escaping of the placeholder markup[start - 2, end + 2) ("{{", name,
 * "}}"), the next one after the last: VPT_ESC_NONE with err saying why
 * (err may be NULL) when none is safe.
 */
vpt_esc_e vpt_mctx_placeholder(vpt_mctx_t *m, size_t start, size_t end,
    char *err, size_t errlen);

/* VPT_OK when the markup, read to its end, leaves the data state */
int vpt_mctx_finish(vpt_mctx_t *m, char *err, size_t errlen);

/*
 * A value escaped for where it sits (vpt_render_esc.c), not VPT_ESC_HTML
 * (vpt_html_escape()): returns the size, writes it unless out is NULL.  A
 * URL of another scheme than http, https and mailto is empty.
 */
size_t vpt_url_value(char *out, const char *s, size_t len, int list);
size_t vpt_url_part(char *out, const char *s, size_t len);
size_t vpt_js_string(char *out, const char *s, size_t len);

/* a script's lexer, fed its text a byte at a time (vpt_render_js.c) */
void vpt_js_init(vpt_js_t *js);
void vpt_js_byte(vpt_js_t *js, unsigned char c);

/* whether s[0, len) is one of list, which ends with NULL */
int vpt_in_list(const char **list, const char *s, size_t len);

/*
 * The next "{{name}}" at or after from: 1 and [start, end) is the name;
 * 0: none; -1: "{{" without "}}" (start is just after the "{{").
 */
int vpt_placeholder_next(const char *s, size_t len, size_t from,
    size_t *start, size_t *end);

/*
 * The check of vpt_render_check() that also fills esc[0, n) with each
 * placeholder's escaping (esc NULL: check only); n is
 * vpt_render_placeholders().
 */
int vpt_render_escapes(vpt_str_t markup, unsigned char *esc, size_t n,
    char *err, size_t errlen);
size_t vpt_render_placeholders(vpt_str_t markup);


#endif /* VPT_RENDER_CTX_H */
