/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for the anchor splicer.  The input picks an anchor
 * and a placement, seeds the chunking, and the rest is the body; the body
 * is fed in random pieces (empty ones too), reassembled as the nginx glue
 * does, and must be the body with the insertion exactly once at the first
 * real anchor, or the body unchanged.  "Real" is decided by a reference
 * kept simple enough to read against the standard: the WHATWG tokenizer's
 * states one byte at a time over the whole body (below), and the first
 * occurrence that starts where it reads in the data state.  The streaming
 * tokenizer is also asked, at the start of every piece, whether that byte
 * is text, and must agree with the reference.
 *
 * One mode takes the regex itself from the input and checks what holds
 * for any anchor: nothing is lost or duplicated, and no more than hold_max
 * bytes are ever held.
 *
 *   t/fuzz/run 60 splice
 */

#define PCRE2_CODE_UNIT_WIDTH  8

#include <stdlib.h>
#include <string.h>
#include <pcre2.h>

#include "fuzz_check.h"
#include "vpt_splice.h"
#include "vpt_html.h"


#define INS  "[INS]"


typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
} out_t;


static const char  *specs[] = {
    "</body>",
    "aab",
    "x",
    "<!-- vpt -->",
    "<p>",
    "~</bo?dy\\s*>",
    "~<div id=\"(cart|thanks)\">",
    "~a[^z]{0,5}z|<p>",
    "~-->|<x"
};

#define NSPECS  (sizeof(specs) / sizeof(specs[0]))


static vpt_anchor_t       *anchors[NSPECS][3];
static pcre2_code         *ref_re[NSPECS];      /* the reference's own */
static pcre2_match_data   *ref_md;


static void
out_add(out_t *o, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->data = realloc(o->data, o->cap);
        CHECK(o->data != NULL);
    }

    memcpy(o->data + o->len, p, n);
    o->len += n;
}


static void
out_add_v(out_t *o, const unsigned char *prev, size_t np,
    const unsigned char *d, size_t from, size_t to)
{
    size_t  e;

    if (from < np) {
        e = to < np ? to : np;
        out_add(o, prev + from, e - from);
        from = e;
    }

    if (from < to) {
        out_add(o, d + (from - np), to - from);
    }
}


/*
 * Feeds body in random pieces and returns where the insertion went, or -1.
 * With data (the reference's), also checks the splicer's tokenizer at the
 * start of each piece: it has read everything before the held bytes.
 */

static long
splice_run(const vpt_anchor_t *a, const unsigned char *body, size_t len,
    uint64_t seed, const unsigned char *data, out_t *o)
{
    long                  at;
    void                 *mem;
    size_t                from, n, np, nh, max;
    vpt_splice_t          s;
    const unsigned char  *prev, *held, *d;
    vpt_splice_result_t   res;

    mem = fuzz_malloc(vpt_splice_size(a));

    vpt_splice_init(&s, a, mem);

    at = -1;
    max = 1 + vpt_rand_next(&seed) % 64;
    from = 0;

    for ( ;; ) {
        n = (vpt_rand_next(&seed) % 8 == 0) ? 0
                                             : 1 + vpt_rand_next(&seed) % max;
        if (n > len - from) {
            n = len - from;
        }

        if (data != NULL && at == -1 && from - s.nheld < len) {
            CHECK(vpt_html_in_data(&s.html, body[from - s.nheld])
                  == data[from - s.nheld]);
        }

        d = n ? body + from : NULL;

        vpt_splice_feed(&s, d, n, &res);
        prev = vpt_splice_prev_held(&s, &np);

        CHECK(s.nheld <= vpt_splice_size(a) / 2);

        if (!res.matched) {
            CHECK(res.emit <= np + n);
            out_add_v(o, prev, np, d, 0, res.emit);

        } else {
            CHECK(at == -1 && res.insert_at <= res.resume_at
                  && res.resume_at <= np + n);

            out_add_v(o, prev, np, d, 0, res.insert_at);
            at = o->len;
            out_add(o, INS, sizeof(INS) - 1);
            out_add_v(o, prev, np, d, res.resume_at, np + n);
        }

        from += n;

        if (from == len) {
            break;
        }
    }

    held = vpt_splice_held(&s, &nh);
    out_add(o, held, nh);

    free(mem);

    return at;
}


/*
 * The reference: the WHATWG tokenizer's states as the standard lists them,
 * one byte at a time over the whole body, with lookahead where the
 * standard has it.  data[i] is 1 when body[i] is read in the data state
 * (first, or reconsumed there).  Only what decides the state is kept: no
 * tokens, no character references, no parse errors.
 */

enum {
    R_DATA, R_TAG_OPEN, R_END_TAG_OPEN, R_TAG_NAME, R_BEFORE_ATTR_NAME,
    R_ATTR_NAME, R_AFTER_ATTR_NAME, R_BEFORE_ATTR_VALUE, R_ATTR_VALUE_DQ,
    R_ATTR_VALUE_SQ, R_ATTR_VALUE_UNQ, R_AFTER_ATTR_VALUE_QUOTED,
    R_SELF_CLOSING, R_BOGUS_COMMENT, R_MARKUP_DECL_OPEN, R_COMMENT_START,
    R_COMMENT_START_DASH, R_COMMENT, R_COMMENT_LT, R_COMMENT_LT_BANG,
    R_COMMENT_LT_BANG_DASH, R_COMMENT_LT_BANG_DASH_DASH, R_COMMENT_END_DASH,
    R_COMMENT_END, R_COMMENT_END_BANG, R_DOCTYPE, R_TEXT, R_TEXT_LT,
    R_TEXT_END_TAG_OPEN, R_TEXT_END_TAG_NAME, R_SCRIPT, R_SCRIPT_LT,
    R_SCRIPT_END_TAG_OPEN, R_SCRIPT_END_TAG_NAME, R_SCRIPT_ESC_START,
    R_SCRIPT_ESC_START_DASH, R_SCRIPT_ESC, R_SCRIPT_ESC_DASH,
    R_SCRIPT_ESC_DASH_DASH, R_SCRIPT_ESC_LT, R_SCRIPT_ESC_END_TAG_OPEN,
    R_SCRIPT_ESC_END_TAG_NAME, R_SCRIPT_DBL_START, R_SCRIPT_DBL,
    R_SCRIPT_DBL_DASH, R_SCRIPT_DBL_DASH_DASH, R_SCRIPT_DBL_LT,
    R_SCRIPT_DBL_END, R_PLAINTEXT
};


static int
r_ws(unsigned char c)
{
    /* CR is read as LF by the input stream preprocessor */
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}


static int
r_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static unsigned char
r_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}


/* body[i, i + n) equals s, ASCII case-insensitively */

static int
r_ahead(const unsigned char *body, size_t len, size_t i, const char *s)
{
    size_t  k, n;

    n = strlen(s);

    if (len - i < n) {
        return 0;
    }

    for (k = 0; k < n; k++) {
        if (r_lower(body[i + k]) != (unsigned char) s[k]) {
            return 0;
        }
    }

    return 1;
}


typedef struct {
    int     state;
    int     end;             /* the tag being read is an end tag */
    char    name[64];        /* its name, lowercase, truncated */
    size_t  nlen;
    char    last[64];        /* the last start tag's name */
    char    tmp[64];         /* the temporary buffer */
    size_t  tlen;
} ref_t;


static void
r_add(char *buf, size_t *len, unsigned char c)
{
    /* NUL is read as U+FFFD: here any byte that is not a letter */
    if (c == '\0') {
        c = 0xff;
    }

    if (*len < 63) {
        buf[(*len)++] = (char) r_lower(c);
        buf[*len] = '\0';
    }
}


/* the tree builder's part: a start tag may switch the tokenizer */

static int
r_emit(ref_t *r)
{
    static const char  *text[] = {
        "style", "textarea", "title", "xmp", "iframe", "noembed",
        "noframes", "noscript", NULL
    };
    size_t  i;

    if (r->end) {
        return R_DATA;
    }

    strcpy(r->last, r->name);

    if (strcmp(r->name, "script") == 0) {
        return R_SCRIPT;
    }

    if (strcmp(r->name, "plaintext") == 0) {
        return R_PLAINTEXT;
    }

    for (i = 0; text[i]; i++) {
        if (strcmp(r->name, text[i]) == 0) {
            return R_TEXT;
        }
    }

    return R_DATA;
}


static int
r_appropriate(const ref_t *r)
{
    return strcmp(r->name, r->last) == 0;
}


static void
ref_tokenize(const unsigned char *body, size_t len, unsigned char *data)
{
    int            again;
    size_t         i, skip;
    unsigned char  c;
    ref_t          r;

    memset(&r, 0, sizeof(ref_t));
    r.state = R_DATA;
    skip = 0;

    for (i = 0; i < len; i++) {
        data[i] = 0;

        if (skip) {
            /* consumed by a lookahead */
            skip--;
            continue;
        }

        c = body[i];

        do {
            again = 0;

            switch (r.state) {

            case R_DATA:
                data[i] = 1;
                if (c == '<') {
                    r.state = R_TAG_OPEN;
                }
                break;

            case R_TAG_OPEN:
                if (c == '!') {
                    r.state = R_MARKUP_DECL_OPEN;
                } else if (c == '/') {
                    r.state = R_END_TAG_OPEN;
                } else if (r_alpha(c)) {
                    r.end = 0;
                    r.nlen = 0;
                    r.name[0] = '\0';
                    r.state = R_TAG_NAME;
                    again = 1;
                } else if (c == '?') {
                    r.state = R_BOGUS_COMMENT;
                    again = 1;
                } else {
                    r.state = R_DATA;
                    again = 1;
                }
                break;

            case R_END_TAG_OPEN:
                if (r_alpha(c)) {
                    r.end = 1;
                    r.nlen = 0;
                    r.name[0] = '\0';
                    r.state = R_TAG_NAME;
                    again = 1;
                } else if (c == '>') {
                    r.state = R_DATA;
                } else {
                    r.state = R_BOGUS_COMMENT;
                    again = 1;
                }
                break;

            case R_TAG_NAME:
                if (r_ws(c)) {
                    r.state = R_BEFORE_ATTR_NAME;
                } else if (c == '/') {
                    r.state = R_SELF_CLOSING;
                } else if (c == '>') {
                    r.state = r_emit(&r);
                } else {
                    r_add(r.name, &r.nlen, c);
                }
                break;

            case R_BEFORE_ATTR_NAME:
                if (r_ws(c)) {
                    /* ignore */
                } else if (c == '/' || c == '>') {
                    r.state = R_AFTER_ATTR_NAME;
                    again = 1;
                } else if (c == '=') {
                    r.state = R_ATTR_NAME;
                } else {
                    r.state = R_ATTR_NAME;
                    again = 1;
                }
                break;

            case R_ATTR_NAME:
                if (r_ws(c) || c == '/' || c == '>') {
                    r.state = R_AFTER_ATTR_NAME;
                    again = 1;
                } else if (c == '=') {
                    r.state = R_BEFORE_ATTR_VALUE;
                }
                break;

            case R_AFTER_ATTR_NAME:
                if (r_ws(c)) {
                    /* ignore */
                } else if (c == '/') {
                    r.state = R_SELF_CLOSING;
                } else if (c == '=') {
                    r.state = R_BEFORE_ATTR_VALUE;
                } else if (c == '>') {
                    r.state = r_emit(&r);
                } else {
                    r.state = R_ATTR_NAME;
                    again = 1;
                }
                break;

            case R_BEFORE_ATTR_VALUE:
                if (r_ws(c)) {
                    /* ignore */
                } else if (c == '"') {
                    r.state = R_ATTR_VALUE_DQ;
                } else if (c == '\'') {
                    r.state = R_ATTR_VALUE_SQ;
                } else if (c == '>') {
                    r.state = r_emit(&r);
                } else {
                    r.state = R_ATTR_VALUE_UNQ;
                    again = 1;
                }
                break;

            case R_ATTR_VALUE_DQ:
                if (c == '"') {
                    r.state = R_AFTER_ATTR_VALUE_QUOTED;
                }
                break;

            case R_ATTR_VALUE_SQ:
                if (c == '\'') {
                    r.state = R_AFTER_ATTR_VALUE_QUOTED;
                }
                break;

            case R_ATTR_VALUE_UNQ:
                if (r_ws(c)) {
                    r.state = R_BEFORE_ATTR_NAME;
                } else if (c == '>') {
                    r.state = r_emit(&r);
                }
                break;

            case R_AFTER_ATTR_VALUE_QUOTED:
                if (r_ws(c)) {
                    r.state = R_BEFORE_ATTR_NAME;
                } else if (c == '/') {
                    r.state = R_SELF_CLOSING;
                } else if (c == '>') {
                    r.state = r_emit(&r);
                } else {
                    r.state = R_BEFORE_ATTR_NAME;
                    again = 1;
                }
                break;

            case R_SELF_CLOSING:
                if (c == '>') {
                    /* the self-closing flag changes nothing for HTML */
                    r.state = r_emit(&r);
                } else {
                    r.state = R_BEFORE_ATTR_NAME;
                    again = 1;
                }
                break;

            case R_BOGUS_COMMENT:
                if (c == '>') {
                    r.state = R_DATA;
                }
                break;

            case R_MARKUP_DECL_OPEN:
                if (r_ahead(body, len, i, "--")) {
                    skip = 1;
                    r.state = R_COMMENT_START;
                } else if (r_ahead(body, len, i, "doctype")) {
                    skip = 6;
                    r.state = R_DOCTYPE;
                } else {
                    /* "[CDATA[" too: a bogus comment outside svg, math */
                    r.state = R_BOGUS_COMMENT;
                    again = 1;
                }
                break;

            case R_COMMENT_START:
                if (c == '-') {
                    r.state = R_COMMENT_START_DASH;
                } else if (c == '>') {
                    r.state = R_DATA;
                } else {
                    r.state = R_COMMENT;
                    again = 1;
                }
                break;

            case R_COMMENT_START_DASH:
                if (c == '-') {
                    r.state = R_COMMENT_END;
                } else if (c == '>') {
                    r.state = R_DATA;
                } else {
                    r.state = R_COMMENT;
                    again = 1;
                }
                break;

            case R_COMMENT:
                if (c == '<') {
                    r.state = R_COMMENT_LT;
                } else if (c == '-') {
                    r.state = R_COMMENT_END_DASH;
                }
                break;

            case R_COMMENT_LT:
                if (c == '!') {
                    r.state = R_COMMENT_LT_BANG;
                } else if (c != '<') {
                    r.state = R_COMMENT;
                    again = 1;
                }
                break;

            case R_COMMENT_LT_BANG:
                if (c == '-') {
                    r.state = R_COMMENT_LT_BANG_DASH;
                } else {
                    r.state = R_COMMENT;
                    again = 1;
                }
                break;

            case R_COMMENT_LT_BANG_DASH:
                if (c == '-') {
                    r.state = R_COMMENT_LT_BANG_DASH_DASH;
                } else {
                    r.state = R_COMMENT_END_DASH;
                    again = 1;
                }
                break;

            case R_COMMENT_LT_BANG_DASH_DASH:
                /* '>' or a nested-comment error: the comment end reads c */
                r.state = R_COMMENT_END;
                again = 1;
                break;

            case R_COMMENT_END_DASH:
                if (c == '-') {
                    r.state = R_COMMENT_END;
                } else {
                    r.state = R_COMMENT;
                    again = 1;
                }
                break;

            case R_COMMENT_END:
                if (c == '>') {
                    r.state = R_DATA;
                } else if (c == '!') {
                    r.state = R_COMMENT_END_BANG;
                } else if (c != '-') {
                    r.state = R_COMMENT;
                    again = 1;
                }
                break;

            case R_COMMENT_END_BANG:
                if (c == '-') {
                    r.state = R_COMMENT_END_DASH;
                } else if (c == '>') {
                    r.state = R_DATA;
                } else {
                    r.state = R_COMMENT;
                    again = 1;
                }
                break;

            case R_DOCTYPE:
                /* every DOCTYPE state, quoted identifiers too, ends at '>' */
                if (c == '>') {
                    r.state = R_DATA;
                }
                break;

            case R_TEXT:
                /* RCDATA and RAWTEXT alike: character references aside */
                if (c == '<') {
                    r.state = R_TEXT_LT;
                }
                break;

            case R_TEXT_LT:
                if (c == '/') {
                    r.tlen = 0;
                    r.tmp[0] = '\0';
                    r.state = R_TEXT_END_TAG_OPEN;
                } else {
                    r.state = R_TEXT;
                    again = 1;
                }
                break;

            case R_TEXT_END_TAG_OPEN:
            case R_SCRIPT_END_TAG_OPEN:
            case R_SCRIPT_ESC_END_TAG_OPEN:
                if (r_alpha(c)) {
                    r.end = 1;
                    r.nlen = 0;
                    r.name[0] = '\0';
                    r.state = (r.state == R_TEXT_END_TAG_OPEN)
                              ? R_TEXT_END_TAG_NAME
                              : (r.state == R_SCRIPT_END_TAG_OPEN)
                              ? R_SCRIPT_END_TAG_NAME
                              : R_SCRIPT_ESC_END_TAG_NAME;
                } else {
                    r.state = (r.state == R_TEXT_END_TAG_OPEN) ? R_TEXT
                              : (r.state == R_SCRIPT_END_TAG_OPEN) ? R_SCRIPT
                              : R_SCRIPT_ESC;
                }
                again = 1;
                break;

            case R_TEXT_END_TAG_NAME:
            case R_SCRIPT_END_TAG_NAME:
            case R_SCRIPT_ESC_END_TAG_NAME:
                if (r_ws(c) && r_appropriate(&r)) {
                    r.state = R_BEFORE_ATTR_NAME;
                } else if (c == '/' && r_appropriate(&r)) {
                    r.state = R_SELF_CLOSING;
                } else if (c == '>' && r_appropriate(&r)) {
                    r.state = R_DATA;
                } else if (r_alpha(c)) {
                    r_add(r.name, &r.nlen, c);
                    r_add(r.tmp, &r.tlen, c);
                } else {
                    r.state = (r.state == R_TEXT_END_TAG_NAME) ? R_TEXT
                              : (r.state == R_SCRIPT_END_TAG_NAME) ? R_SCRIPT
                              : R_SCRIPT_ESC;
                    again = 1;
                }
                break;

            case R_SCRIPT:
                if (c == '<') {
                    r.state = R_SCRIPT_LT;
                }
                break;

            case R_SCRIPT_LT:
                if (c == '/') {
                    r.tlen = 0;
                    r.tmp[0] = '\0';
                    r.state = R_SCRIPT_END_TAG_OPEN;
                } else if (c == '!') {
                    r.state = R_SCRIPT_ESC_START;
                } else {
                    r.state = R_SCRIPT;
                    again = 1;
                }
                break;

            case R_SCRIPT_ESC_START:
                if (c == '-') {
                    r.state = R_SCRIPT_ESC_START_DASH;
                } else {
                    r.state = R_SCRIPT;
                    again = 1;
                }
                break;

            case R_SCRIPT_ESC_START_DASH:
                if (c == '-') {
                    r.state = R_SCRIPT_ESC_DASH_DASH;
                } else {
                    r.state = R_SCRIPT;
                    again = 1;
                }
                break;

            case R_SCRIPT_ESC:
                if (c == '-') {
                    r.state = R_SCRIPT_ESC_DASH;
                } else if (c == '<') {
                    r.state = R_SCRIPT_ESC_LT;
                }
                break;

            case R_SCRIPT_ESC_DASH:
                if (c == '-') {
                    r.state = R_SCRIPT_ESC_DASH_DASH;
                } else if (c == '<') {
                    r.state = R_SCRIPT_ESC_LT;
                } else {
                    r.state = R_SCRIPT_ESC;
                }
                break;

            case R_SCRIPT_ESC_DASH_DASH:
                if (c == '-') {
                    /* stay */
                } else if (c == '<') {
                    r.state = R_SCRIPT_ESC_LT;
                } else if (c == '>') {
                    r.state = R_SCRIPT;
                } else {
                    r.state = R_SCRIPT_ESC;
                }
                break;

            case R_SCRIPT_ESC_LT:
                if (c == '/') {
                    r.tlen = 0;
                    r.tmp[0] = '\0';
                    r.state = R_SCRIPT_ESC_END_TAG_OPEN;
                } else if (r_alpha(c)) {
                    r.tlen = 0;
                    r.tmp[0] = '\0';
                    r.state = R_SCRIPT_DBL_START;
                    again = 1;
                } else {
                    r.state = R_SCRIPT_ESC;
                    again = 1;
                }
                break;

            case R_SCRIPT_DBL_START:
                if (r_ws(c) || c == '/' || c == '>') {
                    r.state = strcmp(r.tmp, "script") == 0 ? R_SCRIPT_DBL
                                                           : R_SCRIPT_ESC;
                } else if (r_alpha(c)) {
                    r_add(r.tmp, &r.tlen, c);
                } else {
                    r.state = R_SCRIPT_ESC;
                    again = 1;
                }
                break;

            case R_SCRIPT_DBL:
                if (c == '-') {
                    r.state = R_SCRIPT_DBL_DASH;
                } else if (c == '<') {
                    r.state = R_SCRIPT_DBL_LT;
                }
                break;

            case R_SCRIPT_DBL_DASH:
                if (c == '-') {
                    r.state = R_SCRIPT_DBL_DASH_DASH;
                } else if (c == '<') {
                    r.state = R_SCRIPT_DBL_LT;
                } else {
                    r.state = R_SCRIPT_DBL;
                }
                break;

            case R_SCRIPT_DBL_DASH_DASH:
                if (c == '-') {
                    /* stay */
                } else if (c == '<') {
                    r.state = R_SCRIPT_DBL_LT;
                } else if (c == '>') {
                    r.state = R_SCRIPT;
                } else {
                    r.state = R_SCRIPT_DBL;
                }
                break;

            case R_SCRIPT_DBL_LT:
                if (c == '/') {
                    r.tlen = 0;
                    r.tmp[0] = '\0';
                    r.state = R_SCRIPT_DBL_END;
                } else {
                    r.state = R_SCRIPT_DBL;
                    again = 1;
                }
                break;

            case R_SCRIPT_DBL_END:
                if (r_ws(c) || c == '/' || c == '>') {
                    r.state = strcmp(r.tmp, "script") == 0 ? R_SCRIPT_ESC
                                                           : R_SCRIPT_DBL;
                } else if (r_alpha(c)) {
                    r_add(r.tmp, &r.tlen, c);
                } else {
                    r.state = R_SCRIPT_DBL;
                    again = 1;
                }
                break;

            default: /* R_PLAINTEXT */
                break;
            }

        } while (again);
    }
}


/*
 * The whole-body reference: [*ms, *me) of the first match that starts in
 * the data state, or 0.  For a regex, as the splicer documents: a match
 * longer than VPT_REGEX_HOLD_MAX is never spliced, and the leftmost start
 * where the regex matches or could still match wins, so a partial match
 * that is still open when the body ends hides any complete match after
 * it (the held bytes go out as they are).
 */

static int
ref_find(size_t si, const unsigned char *body, size_t len,
    const unsigned char *data, size_t *ms, size_t *me)
{
    int          rc, found;
    size_t       i, k, ll, start;
    PCRE2_SIZE  *ov;
    const char  *spec;

    spec = specs[si];

    if (spec[0] != '~') {
        ll = strlen(spec);

        for (i = 0; i + ll <= len; i++) {
            for (k = 0; k < ll && r_lower(body[i + k]) == r_lower(spec[k]);
                 k++)
            {
                /* void */
            }

            if (k == ll && data[i]) {
                *ms = i;
                *me = i + ll;
                return 1;
            }
        }

        return 0;
    }

    ov = pcre2_get_ovector_pointer(ref_md);

    found = 0;

    for (start = 0; start <= len; start = ov[0] + 1) {
        rc = pcre2_match(ref_re[si], len ? body : (PCRE2_SPTR) "", len,
                         start, PCRE2_NOTBOL|PCRE2_PARTIAL_HARD, ref_md,
                         NULL);
        if (rc < 0 && rc != PCRE2_ERROR_PARTIAL) {
            break;
        }

        if (ov[1] - ov[0] <= VPT_REGEX_HOLD_MAX && ov[0] < len
            && data[ov[0]])
        {
            if (rc == PCRE2_ERROR_PARTIAL) {
                break;
            }

            *ms = ov[0];
            *me = ov[1];
            found = 1;
            break;
        }
    }

    return found;
}


static void
fuzz_known(const uint8_t *in, size_t size)
{
    int             found;
    size_t          si, pi, ms, me, want;
    uint64_t        seed;
    out_t           o, r;
    vpt_anchor_t   *a;
    unsigned char  *data;

    si = in[0] % NSPECS;
    pi = (in[0] / NSPECS) % 3;
    memcpy(&seed, in + 1, 8);
    in += 9;
    size -= 9;

    a = anchors[si][pi];

    memset(&o, 0, sizeof(out_t));
    memset(&r, 0, sizeof(out_t));

    data = fuzz_malloc(size);
    ref_tokenize(in, size, data);

    splice_run(a, in, size, seed, data, &o);

    found = ref_find(si, in, size, data, &ms, &me);

    if (!found) {
        out_add(&r, in, size);

    } else {
        want = (pi == VPT_PLACE_AFTER) ? me : ms;
        out_add(&r, in, want);
        out_add(&r, INS, sizeof(INS) - 1);
        want = (pi == VPT_PLACE_REPLACE) ? me : want;
        out_add(&r, in + want, size - want);
    }

    /* the body with the markup once at the first real anchor, or as is */
    CHECK(o.len == r.len && (o.len == 0 || memcmp(o.data, r.data, o.len) == 0));

    free(data);
    free(o.data);
    free(r.data);
}


/* any regex: whatever it matches, removing the insertion gives the body */

static void
fuzz_any(const uint8_t *data, size_t size)
{
    long           at;
    size_t         n;
    uint64_t       seed;
    out_t          o;
    vpt_anchor_t  *a;
    char           err[VPT_ERRLEN];

    n = data[1] % 24;
    memcpy(&seed, data + 2, 8);
    data += 10;
    size -= 10;

    if (n > size) {
        return;
    }

    a = vpt_anchor_create((const char *) data, n, VPT_PLACE_BEFORE, err,
                          sizeof(err));
    if (a == NULL) {
        return;
    }

    data += n;
    size -= n;

    memset(&o, 0, sizeof(out_t));

    at = splice_run(a, data, size, seed, NULL, &o);

    if (at == -1) {
        CHECK(o.len == size && (size == 0 || memcmp(o.data, data, size) == 0));

    } else {
        CHECK(o.len == size + sizeof(INS) - 1
              && memcmp(o.data, data, at) == 0
              && memcmp(o.data + at, INS, sizeof(INS) - 1) == 0
              && memcmp(o.data + at + sizeof(INS) - 1, data + at, size - at)
                 == 0);
    }

    free(o.data);
    vpt_anchor_free(a);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int         ec;
    size_t      i, p;
    char        err[VPT_ERRLEN];
    PCRE2_SIZE  eo;

    if (anchors[0][0] == NULL) {
        ref_md = pcre2_match_data_create(1, NULL);
        CHECK(ref_md != NULL);

        for (i = 0; i < NSPECS; i++) {
            if (specs[i][0] == '~') {
                ref_re[i] = pcre2_compile((PCRE2_SPTR) specs[i] + 1,
                                          strlen(specs[i]) - 1,
                                          PCRE2_CASELESS, &ec, &eo, NULL);
                CHECK(ref_re[i] != NULL);
            }

            for (p = 0; p < 3; p++) {
                anchors[i][p] = vpt_anchor_create(specs[i], strlen(specs[i]),
                                                  (vpt_place_e) p, err,
                                                  sizeof(err));
                CHECK(anchors[i][p] != NULL);
            }
        }
    }

    if (size < 10) {
        return 0;
    }

    if (data[0] == 0xff) {
        fuzz_any(data, size);

    } else {
        fuzz_known(data, size);
    }

    return 0;
}
