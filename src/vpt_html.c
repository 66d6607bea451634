/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The tokenizer states of vpt_html.h.  Names follow the WHATWG states; some
 * are merged where they read every byte alike (after an attribute name is
 * "in" it; after a quoted value and after "/" are "before a name"), and
 * the states that only report parse errors (a comment's "<!--") are left
 * out, as they end where the plain ones do.
 *
 * Each state first skips what cannot change it: text and raw text to the
 * next '<', a comment to the next '-', an attribute value to its quote, an
 * attribute name to '=', '>' or '/'.  The bytes after such a stop are
 * looked at one by one, and "reconsume" (the WHATWG term) is a state change
 * that leaves p where it is.
 *
 * Past 800 lines on purpose: one state machine, the WHATWG tokenizer's
 * states, each with its skip; split, it would be read in two places.
 */

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "vpt_html.h"


enum {
    VPT_HTML_DATA = 0,        /* 0: vpt_html_at_data() and memset */
    VPT_HTML_TAG_OPEN,        /* "<" in text */
    VPT_HTML_END_OPEN,        /* "</" */
    VPT_HTML_TAG_NAME,        /* a start tag's, n: bytes of the name */
    VPT_HTML_END_NAME,        /* an end tag's */
    VPT_HTML_BEFORE_ATTR,     /* also after "/" and after a quoted value */
    VPT_HTML_ATTR_NAME,       /* in or after an attribute name */
    VPT_HTML_BEFORE_VALUE,
    VPT_HTML_VALUE_DQ,
    VPT_HTML_VALUE_SQ,
    VPT_HTML_VALUE_UNQ,
    VPT_HTML_MARKUP,          /* "<!", n: dashes after it */
    VPT_HTML_BOGUS,           /* "<?", "</ ", "<!x", "<!DOCTYPE": to '>' */
    VPT_HTML_COMMENT_START,   /* "<!--", n: dashes after it */
    VPT_HTML_COMMENT,         /* n: 0 text, 1 "-", 2 "--", 3 "--!" */
    VPT_HTML_RAW,             /* the text of elem */
    VPT_HTML_RAW_LT,          /* "<" and n - 1 bytes of "/name" */
    VPT_HTML_SCRIPT_BANG,     /* "<!" in script data, n: dashes */
    VPT_HTML_ESC,             /* script data (double) escaped, n: dashes */
    VPT_HTML_ESC_LT,          /* "<" in ESC */
    VPT_HTML_ESC_NAME,        /* n bytes of "script" after "<" or "</" */
    VPT_HTML_PLAINTEXT        /* to the end of the stream */
};


/* byte classes */
#define VPT_HTML_WS     0x01   /* HTML's whitespace, and CR (read as LF) */
#define VPT_HTML_ALPHA  0x02
#define VPT_HTML_GT     0x04
#define VPT_HTML_SLASH  0x08
#define VPT_HTML_EQ     0x10

#define VPT_HTML_NAME_END   (VPT_HTML_WS|VPT_HTML_GT|VPT_HTML_SLASH)
#define VPT_HTML_UNQ_END    (VPT_HTML_WS|VPT_HTML_GT)
#define VPT_HTML_ATTR_END   (VPT_HTML_EQ|VPT_HTML_GT|VPT_HTML_SLASH)


/* what a start tag switches the tokenizer to */
enum {
    VPT_HTML_KIND_RAW = 0,    /* RAWTEXT, RCDATA: to "</name" */
    VPT_HTML_KIND_SCRIPT,     /* script data, with its escapes */
    VPT_HTML_KIND_PLAINTEXT   /* never leaves */
};


typedef struct {
    const char     *name;
    unsigned char   len;
    unsigned char   kind;
} vpt_html_elem_t;


/* index 0 is "no element"; the others by length, for vpt_html_elem() */
static const vpt_html_elem_t  vpt_html_elems[] = {
    { "", 0, VPT_HTML_KIND_RAW },
    { "xmp", 3, VPT_HTML_KIND_RAW },
    { "style", 5, VPT_HTML_KIND_RAW },
    { "title", 5, VPT_HTML_KIND_RAW },
    { "script", 6, VPT_HTML_KIND_SCRIPT },
    { "iframe", 6, VPT_HTML_KIND_RAW },
    { "noembed", 7, VPT_HTML_KIND_RAW },
    { "textarea", 8, VPT_HTML_KIND_RAW },
    { "noframes", 8, VPT_HTML_KIND_RAW },
    { "noscript", 8, VPT_HTML_KIND_RAW },
    { "plaintext", 9, VPT_HTML_KIND_PLAINTEXT }
};

#define VPT_HTML_NELEMS  (sizeof(vpt_html_elems) / sizeof(vpt_html_elems[0]))

/* the first element of each name length, 0 for none */
static const unsigned char  vpt_html_elems_by_len[VPT_HTML_NAME_MAX + 1] = {
    0, 0, 0, 1, 0, 2, 4, 6, 7, 10
};


static const unsigned char  vpt_html_class[256] = {
    ['\t'] = VPT_HTML_WS, ['\n'] = VPT_HTML_WS, ['\f'] = VPT_HTML_WS,
    ['\r'] = VPT_HTML_WS, [' '] = VPT_HTML_WS,
    ['>'] = VPT_HTML_GT, ['/'] = VPT_HTML_SLASH, ['='] = VPT_HTML_EQ,

#define VPT_HTML_L(c)  [c] = VPT_HTML_ALPHA, [c - 'a' + 'A'] = VPT_HTML_ALPHA
    VPT_HTML_L('a'), VPT_HTML_L('b'), VPT_HTML_L('c'), VPT_HTML_L('d'),
    VPT_HTML_L('e'), VPT_HTML_L('f'), VPT_HTML_L('g'), VPT_HTML_L('h'),
    VPT_HTML_L('i'), VPT_HTML_L('j'), VPT_HTML_L('k'), VPT_HTML_L('l'),
    VPT_HTML_L('m'), VPT_HTML_L('n'), VPT_HTML_L('o'), VPT_HTML_L('p'),
    VPT_HTML_L('q'), VPT_HTML_L('r'), VPT_HTML_L('s'), VPT_HTML_L('t'),
    VPT_HTML_L('u'), VPT_HTML_L('v'), VPT_HTML_L('w'), VPT_HTML_L('x'),
    VPT_HTML_L('y'), VPT_HTML_L('z')
#undef VPT_HTML_L
};


static size_t vpt_html_run(vpt_html_t *h, const unsigned char *start,
    size_t len, int stop);
static unsigned vpt_html_elem(const unsigned char *name, size_t n);


/* whether c, a letter, starts a raw text element's name: s t x i n p */

static inline int
vpt_html_raw_first(unsigned char c)
{
    return (0x8ca100u >> (((c | 0x20) - 'a') & 31)) & 1;
}


static unsigned char
vpt_html_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


/*
 * The first a in [p, end), or end: text between tags and attribute values
 * are mostly short, so the next 16 bytes are searched here (a memchr call
 * costs more than that) and memchr, vectorised, takes longer runs.
 *
 * Branches that predict well beat dependent loads: short hops inside a
 * tag (names) are byte loops over vpt_html_class[], faster here than any
 * word-at-a-time search.
 */

#if defined(__SSE2__)

static inline const unsigned char *
vpt_html_find1(const unsigned char *p, const unsigned char *end,
    unsigned char a)
{
    unsigned              m;
    __m128i               w;
    const unsigned char  *q;

    if (end - p >= 16) {
        w = _mm_loadu_si128((const __m128i *) p);
        m = _mm_movemask_epi8(_mm_cmpeq_epi8(w, _mm_set1_epi8((char) a)));

        if (m) {
            return p + __builtin_ctz(m);
        }

        p += 16;
    }

    q = memchr(p, a, end - p);

    return q ? q : end;
}

#endif


/*
 * Without SSE2, words of 8 bytes.  vpt_html_zero() sets the top bit of
 * every byte of w that is zero, and of no other (exact, so the first match
 * is the first set bit in memory order either way).
 */

#define VPT_HTML_ONES  0x0101010101010101ULL
#define VPT_HTML_LOW7  0x7f7f7f7f7f7f7f7fULL


static inline uint64_t
vpt_html_zero(uint64_t w)
{
    return ~(((w & VPT_HTML_LOW7) + VPT_HTML_LOW7) | w | VPT_HTML_LOW7);
}


static inline size_t
vpt_html_first(uint64_t m)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_clzll(m) >> 3;
#else
    return __builtin_ctzll(m) >> 3;
#endif
}


#if !defined(__SSE2__)

static inline const unsigned char *
vpt_html_find1(const unsigned char *p, const unsigned char *end,
    unsigned char a)
{
    uint64_t              w, m, wa;
    const unsigned char  *q;

    wa = a * VPT_HTML_ONES;

    if (end - p >= 16) {
        memcpy(&w, p, 8);
        m = vpt_html_zero(w ^ wa);

        if (m) {
            return p + vpt_html_first(m);
        }

        memcpy(&w, p + 8, 8);
        m = vpt_html_zero(w ^ wa);

        if (m) {
            return p + 8 + vpt_html_first(m);
        }

        p += 16;
    }

    q = memchr(p, a, end - p);

    return q ? q : end;
}

#endif


/* the first a or b in [p, end), or end: for escaped scripts, rare */

static inline const unsigned char *
vpt_html_find2(const unsigned char *p, const unsigned char *end,
    unsigned char a, unsigned char b)
{
    uint64_t  w, m, wa, wb;

    wa = a * VPT_HTML_ONES;
    wb = b * VPT_HTML_ONES;

    while (end - p >= 8) {
        memcpy(&w, p, 8);
        m = vpt_html_zero(w ^ wa) | vpt_html_zero(w ^ wb);

        if (m) {
            return p + vpt_html_first(m);
        }

        p += 8;
    }

    while (p < end && *p != a && *p != b) {
        p++;
    }

    return p;
}


void
vpt_html_init(vpt_html_t *h)
{
    memset(h, 0, sizeof(vpt_html_t));
}


void
vpt_html_scan(vpt_html_t *h, const unsigned char *p, size_t len)
{
    (void) vpt_html_run(h, p, len, 0);
}


size_t
vpt_html_skip(vpt_html_t *h, const unsigned char *p, size_t len)
{
    return vpt_html_run(h, p, len, 1);
}


int
vpt_html_in_data(const vpt_html_t *h, unsigned char c)
{
    if (h->state == VPT_HTML_DATA) {
        return 1;
    }

    /* "<" then a byte that starts no tag: that byte is text (reconsumed) */

    return h->state == VPT_HTML_TAG_OPEN
           && !(vpt_html_class[c] & (VPT_HTML_ALPHA|VPT_HTML_SLASH))
           && c != '!' && c != '?';
}


/*
 * Reads start[0, len); with stop, returns at the first byte read in the
 * data state.
 *
 * One label per state, entered through the switch when a call begins and
 * by goto from the state before otherwise: a tag costs a few predictable
 * jumps, not a dispatch per state change.  VPT_HTML_NEED() leaves, saving
 * the state, when the buffer ends before the byte a state must look at;
 * the state lives in locals while it runs.
 */

#define VPT_HTML_NEED(s)                                                     \
    if (p == end) {                                                          \
        st = (s);                                                            \
        goto done;                                                           \
    }

static size_t
vpt_html_run(vpt_html_t *h, const unsigned char *start, size_t len, int stop)
{
    unsigned                  st, n, c;
    const unsigned char      *p, *q, *end;
    const vpt_html_elem_t    *e;

    p = start;
    end = start + len;
    st = h->state;
    n = h->n;

    switch (st) {
    case VPT_HTML_DATA:           goto data;
    case VPT_HTML_TAG_OPEN:       goto tag_open;
    case VPT_HTML_END_OPEN:       goto end_open;
    case VPT_HTML_TAG_NAME:       goto tag_name;
    case VPT_HTML_END_NAME:       goto end_name;
    case VPT_HTML_BEFORE_ATTR:    goto before_attr;
    case VPT_HTML_ATTR_NAME:      goto attr_name;
    case VPT_HTML_BEFORE_VALUE:   goto before_value;
    case VPT_HTML_VALUE_DQ:       goto value_dq;
    case VPT_HTML_VALUE_SQ:       goto value_sq;
    case VPT_HTML_VALUE_UNQ:      goto value_unq;
    case VPT_HTML_MARKUP:         goto markup;
    case VPT_HTML_BOGUS:          goto bogus;
    case VPT_HTML_COMMENT_START:  goto comment_start;
    case VPT_HTML_COMMENT:        goto comment;
    case VPT_HTML_RAW:            goto raw;
    case VPT_HTML_RAW_LT:         goto raw_lt;
    case VPT_HTML_SCRIPT_BANG:    goto script_bang;
    case VPT_HTML_ESC:            goto esc;
    case VPT_HTML_ESC_LT:         goto esc_lt;
    case VPT_HTML_ESC_NAME:       goto esc_name;
    default:                      goto plaintext;
    }

data:

    if (stop || p == end) {
        st = VPT_HTML_DATA;
        goto done;
    }

    p = vpt_html_find1(p, end, '<');
    if (p == end) {
        st = VPT_HTML_DATA;
        goto done;
    }

    p++;

tag_open:

    VPT_HTML_NEED(VPT_HTML_TAG_OPEN);

    c = *p;

    if (vpt_html_class[c] & VPT_HTML_ALPHA) {
        /*
         * The letter is the name's first.  A name this buffer holds all of
         * is read in place, not copied, and looked up only when its first
         * letter is a raw text element's; a cut one is kept (tag_name).
         */

        q = p + 1;

        while (q < end && !(vpt_html_class[*q] & VPT_HTML_NAME_END)) {
            q++;
        }

        if (q == end) {
            n = 0;
            goto tag_name;
        }

        h->elem = vpt_html_raw_first(c) ? vpt_html_elem(p, q - p) : 0;
        p = q;

        if (*p++ == '>') {
            goto tag_end;
        }

        goto before_attr;
    }

    if (c == '/') {
        p++;
        goto end_open;
    }

    if (c == '!') {
        p++;
        n = 0;
        goto markup;
    }

    if (c == '?') {
        goto bogus;
    }

    /* "a < b", "x<<": the '<' was text, and c is read as text */
    goto data;

end_open:

    VPT_HTML_NEED(VPT_HTML_END_OPEN);

    c = *p;

    if (vpt_html_class[c] & VPT_HTML_ALPHA) {
        h->elem = 0;
        goto end_name;
    }

    if (c == '>') {
        /* "</>" is dropped */
        p++;
        goto data;
    }

    goto bogus;

tag_name:

    /* a start tag's name: short, byte by byte, kept for the raw text check */

    while (p < end && !(vpt_html_class[*p] & VPT_HTML_NAME_END)) {
        if (n < VPT_HTML_NAME_MAX) {
            h->name[n] = *p;
        }

        n += (n <= VPT_HTML_NAME_MAX);
        p++;
    }

    VPT_HTML_NEED(VPT_HTML_TAG_NAME);

    h->elem = vpt_html_elem(h->name, n);

    if (*p++ == '>') {
        goto tag_end;
    }

    goto before_attr;

end_name:

    /* an end tag's name opens nothing: not kept */

    while (p < end && !(vpt_html_class[*p] & VPT_HTML_NAME_END)) {
        p++;
    }

    VPT_HTML_NEED(VPT_HTML_END_NAME);

    if (*p++ == '>') {
        goto data;
    }

before_attr:

    /* also after "/" and after a quoted value: they read bytes alike */

    while (p < end && (vpt_html_class[*p] & VPT_HTML_WS)) {
        p++;
    }

    VPT_HTML_NEED(VPT_HTML_BEFORE_ATTR);

    c = *p++;

    if (c == '>') {
        goto tag_end;
    }

    if (c == '/') {
        goto before_attr;
    }

    /* anything else, '=' too, starts a name */

attr_name:

    /* in or after the name: whitespace changes nothing we look at */

    while (p < end && !(vpt_html_class[*p] & VPT_HTML_ATTR_END)) {
        p++;
    }

    VPT_HTML_NEED(VPT_HTML_ATTR_NAME);

    c = *p++;

    if (c == '>') {
        goto tag_end;
    }

    if (c == '/') {
        goto before_attr;
    }

before_value:

    while (p < end && (vpt_html_class[*p] & VPT_HTML_WS)) {
        p++;
    }

    VPT_HTML_NEED(VPT_HTML_BEFORE_VALUE);

    c = *p;

    if (c == '"') {
        p++;
        goto value_dq;
    }

    if (c == '\'') {
        p++;
        goto value_sq;
    }

    if (c == '>') {
        p++;
        goto tag_end;
    }

value_unq:

    while (p < end && !(vpt_html_class[*p] & VPT_HTML_UNQ_END)) {
        p++;
    }

    VPT_HTML_NEED(VPT_HTML_VALUE_UNQ);

    if (*p++ == '>') {
        goto tag_end;
    }

    goto before_attr;

value_dq:

    p = vpt_html_find1(p, end, '"');
    VPT_HTML_NEED(VPT_HTML_VALUE_DQ);
    p++;
    goto before_attr;

value_sq:

    p = vpt_html_find1(p, end, '\'');
    VPT_HTML_NEED(VPT_HTML_VALUE_SQ);
    p++;
    goto before_attr;

tag_end:

    if (h->elem == 0) {
        goto data;
    }

    n = 0;

    if (vpt_html_elems[h->elem].kind == VPT_HTML_KIND_PLAINTEXT) {
        goto plaintext;
    }

    goto raw;

markup:

    /* "<!" and n dashes */

    VPT_HTML_NEED(VPT_HTML_MARKUP);

    if (*p != '-') {
        /* "<!x", "<!-x", "<!DOCTYPE": *p is the bogus comment's */
        goto bogus;
    }

    p++;

    if (n == 0) {
        n = 1;
        goto markup;
    }

    n = 0;

comment_start:

    /* "<!--" and n dashes */

    VPT_HTML_NEED(VPT_HTML_COMMENT_START);

    c = *p;

    if (c == '>') {
        /* "<!-->" and "<!--->" close at once */
        p++;
        goto data;
    }

    if (c != '-') {
        n = 0;
        goto comment;
    }

    p++;

    if (n == 0) {
        n = 1;
        goto comment_start;
    }

    n = 2;

comment:

    /* n: 0 in text, 1 after "-", 2 after "--", 3 after "--!" */

    if (n == 0) {
        p = vpt_html_find1(p, end, '-');
        VPT_HTML_NEED(VPT_HTML_COMMENT);
        p++;
        n = 1;
    }

    VPT_HTML_NEED(VPT_HTML_COMMENT);

    c = *p;

    if (c == '-') {
        p++;

        if (n == 3) {
            /* "--!-" is one dash again */
            n = 1;
            goto comment;
        }

        /* "--", and any run of dashes after it */

        while (p < end && *p == '-') {
            p++;
        }

        n = 2;
        goto comment;
    }

    if (c == '>' && n >= 2) {
        /* "-->" or "--!>" */
        p++;
        goto data;
    }

    if (c == '!' && n == 2) {
        p++;
        n = 3;
        goto comment;
    }

    n = 0;
    goto comment;

bogus:

    p = vpt_html_find1(p, end, '>');
    VPT_HTML_NEED(VPT_HTML_BOGUS);
    p++;
    goto data;

raw:

    p = vpt_html_find1(p, end, '<');
    VPT_HTML_NEED(VPT_HTML_RAW);
    p++;
    n = 0;

raw_lt:

    /* "<" and n - 1 bytes of "/name"; also "</" in an escaped script */

    VPT_HTML_NEED(VPT_HTML_RAW_LT);

    e = &vpt_html_elems[h->elem];
    c = *p;

    if (n == 0) {
        if (c == '/') {
            p++;
            n = 1;
            goto raw_lt;
        }

        if (c == '!' && e->kind == VPT_HTML_KIND_SCRIPT) {
            p++;
            goto script_bang;
        }

        goto raw;
    }

    if (n <= e->len) {
        if (vpt_html_lower(c) == (unsigned char) e->name[n - 1]) {
            p++;
            n++;
            goto raw_lt;
        }

    } else if (vpt_html_class[c] & (VPT_HTML_WS|VPT_HTML_SLASH)) {
        /* "</script " or "</script/": the end tag's attributes follow */
        p++;
        h->elem = 0;
        h->esc = 0;
        goto before_attr;

    } else if (c == '>') {
        p++;
        h->elem = 0;
        h->esc = 0;
        goto data;
    }

    /* not the end tag: c is text, of the escape if in one */

    n = 0;

    if (h->esc) {
        h->esc = 0;
        goto esc;
    }

    goto raw;

script_bang:

    /* "<!" and n dashes in script data: "<!--" starts an escape */

    VPT_HTML_NEED(VPT_HTML_SCRIPT_BANG);

    if (*p != '-') {
        goto raw;
    }

    p++;

    if (n == 0) {
        n = 1;
        goto script_bang;
    }

    /* as after two dashes: "<!-->" ends the escape at once */
    h->dbl = 0;
    n = 2;

esc:

    /* script data escaped, double escaped if h->dbl; n dashes */

    if (n == 0) {
        p = vpt_html_find2(p, end, '-', '<');
        VPT_HTML_NEED(VPT_HTML_ESC);

        if (*p++ == '<') {
            goto esc_lt;
        }

        n = 1;
    }

    VPT_HTML_NEED(VPT_HTML_ESC);

    c = *p;

    if (c == '-') {
        p++;
        n = 2;
        goto esc;
    }

    if (c == '<') {
        p++;
        goto esc_lt;
    }

    if (c == '>' && n == 2) {
        /* "-->" ends the escape, double or not */
        p++;
        h->dbl = 0;
        n = 0;
        goto raw;
    }

    n = 0;
    goto esc;

esc_lt:

    VPT_HTML_NEED(VPT_HTML_ESC_LT);

    c = *p;
    n = 0;

    if (c == '/') {
        p++;

        if (h->dbl) {
            /* "</script" ends the double escape */
            goto esc_name;
        }

        /* "</script" ends the script, escaped or not */
        h->esc = 1;
        n = 1;
        goto raw_lt;
    }

    if (!h->dbl && (vpt_html_class[c] & VPT_HTML_ALPHA)) {
        /* "<script" may start a double escape */
        goto esc_name;
    }

    goto esc;

esc_name:

    /* n bytes of "script" after "<" or "</" in an escape */

    VPT_HTML_NEED(VPT_HTML_ESC_NAME);

    c = *p;

    if (n < 6) {
        if (vpt_html_lower(c) == (unsigned char) "script"[n]) {
            p++;
            n++;
            goto esc_name;
        }

    } else if (vpt_html_class[c] & VPT_HTML_NAME_END) {
        /* "<script>" starts a double escape, "</script>" ends it */
        p++;
        h->dbl ^= 1;
    }

    n = 0;
    goto esc;

plaintext:

    p = end;
    st = VPT_HTML_PLAINTEXT;

done:

    h->state = (unsigned char) st;
    h->n = (unsigned char) n;

    return p - start;
}


/*
 * The raw text element a start tag's name opens, or 0.  The name is as
 * read: (b | 0x20) equals a lowercase letter only when b is that letter in
 * either case.
 */

static unsigned
vpt_html_elem(const unsigned char *name, size_t n)
{
    size_t                  i, k;
    const vpt_html_elem_t  *e;

    if (n == 0 || n > VPT_HTML_NAME_MAX || !vpt_html_raw_first(name[0])) {
        return 0;
    }

    for (i = vpt_html_elems_by_len[n]; i != 0 && i < VPT_HTML_NELEMS; i++) {
        e = &vpt_html_elems[i];

        if (e->len != n) {
            break;
        }

        for (k = 0; k < n; k++) {
            if ((name[k] | 0x20) != (unsigned char) e->name[k]) {
                break;
            }
        }

        if (k == n) {
            return i;
        }
    }

    return 0;
}
