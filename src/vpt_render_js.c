/*
 * Copyright (C) ngx_vpt_module authors
 *
 * A JavaScript lexer just good enough to tell, byte by byte, whether a
 * <script>'s text is in a string, a template literal, a comment, a regular
 * expression or code: where vpt_render_ctx.c lets a placeholder in.
 */

#include <string.h>

#include "vpt_render_ctx.h"


/* keywords after which a '/' starts a regular expression */
static const char  *vpt_js_keywords[] = {
    "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
    "throw", "case", "do", "else", "yield", "await", NULL
};


void
vpt_js_init(vpt_js_t *js)
{
    memset(js, 0, sizeof(vpt_js_t));

    /* a script starts with a statement: a '/' there is a regex */
    js->regex = 1;
}


/*
 * One byte of a script.  A '/' in code starts a regular expression after
 * an operator, '(' or a keyword, and divides after a name, a number or a
 * closing bracket: the usual guess, right for the scripts offers carry.
 */

void
vpt_js_byte(vpt_js_t *js, unsigned char c)
{
    int  ident;

    switch (js->state) {

    case VPT_JS_SQ:
    case VPT_JS_DQ:
    case VPT_JS_TEMPLATE:
        if (js->esc) {
            js->esc = 0;

        } else if (c == '\\') {
            js->esc = 1;

        } else if ((js->state == VPT_JS_SQ && c == '\'')
                   || (js->state == VPT_JS_DQ && c == '"')
                   || (js->state == VPT_JS_TEMPLATE && c == '`'))
        {
            js->state = VPT_JS_CODE;
            js->regex = 0;

        } else if ((c == '\n' || c == '\r') && js->state != VPT_JS_TEMPLATE)
        {
            /* an unterminated string ends the statement */
            js->state = VPT_JS_CODE;
            js->regex = 1;
        }

        return;

    case VPT_JS_LINE_COMMENT:
        if (c == '\n' || c == '\r') {
            js->state = VPT_JS_CODE;
        }

        return;

    case VPT_JS_BLOCK_COMMENT:
        if (js->slash && c == '/') {
            js->state = VPT_JS_CODE;
        }

        js->slash = (c == '*');
        return;

    case VPT_JS_REGEX:
    case VPT_JS_REGEX_CLASS:
        if (js->esc) {
            js->esc = 0;

        } else if (c == '\\') {
            js->esc = 1;

        } else if (c == '[') {
            js->state = VPT_JS_REGEX_CLASS;

        } else if (c == ']' && js->state == VPT_JS_REGEX_CLASS) {
            js->state = VPT_JS_REGEX;

        } else if (c == '/' && js->state == VPT_JS_REGEX) {
            js->state = VPT_JS_CODE;
            js->regex = 0;

        } else if (c == '\n' || c == '\r') {
            js->state = VPT_JS_CODE;
            js->regex = 1;
        }

        return;
    }

    /* code */

    if (js->slash) {
        js->slash = 0;

        if (c == '/') {
            js->state = VPT_JS_LINE_COMMENT;
            return;
        }

        if (c == '*') {
            js->state = VPT_JS_BLOCK_COMMENT;
            return;
        }

        if (js->slash_regex) {
            js->state = VPT_JS_REGEX;
            vpt_js_byte(js, c);
            return;
        }

        /* a division: c follows an operator */
        js->regex = 1;
    }

    ident = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;

    if (ident) {
        if (js->wlen < sizeof(js->word)) {
            js->word[js->wlen] = (char) c;
        }

        js->wlen += (js->wlen <= sizeof(js->word));
        js->regex = 0;
        return;
    }

    if (js->wlen) {
        js->regex = js->wlen <= sizeof(js->word)
                    && vpt_in_list(vpt_js_keywords, js->word, js->wlen);
        js->wlen = 0;
    }

    switch (c) {

    case ' ': case '\t': case '\n': case '\r': case '\f': case '\v':
        return;

    case '\'':
        js->state = VPT_JS_SQ;
        return;

    case '"':
        js->state = VPT_JS_DQ;
        return;

    case '`':
        js->state = VPT_JS_TEMPLATE;
        return;

    case '/':
        js->slash = 1;
        js->slash_regex = js->regex;
        return;

    case ')': case ']': case '}':
        js->regex = 0;
        return;

    default:
        js->regex = 1;
        return;
    }
}
