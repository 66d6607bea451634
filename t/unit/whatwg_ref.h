/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The test suites' reference HTML tokenizer, shared by t/unit/test_splice.c,
 * t/unit/test_scan.c and t/fuzz/fuzz_splice.c (included, not linked: each
 * is one program).  It is deliberately slow and plain, to be read against
 * the standard, never tuned.
 */

#ifndef VPT_WHATWG_REF_H
#define VPT_WHATWG_REF_H

#include <string.h>


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


#endif /* VPT_WHATWG_REF_H */
