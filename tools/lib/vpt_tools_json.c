/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The top level of a JSON object, member by member, without building a
 * tree; strings unescaped on demand, numbers from text.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools_int.h"


/* p is after the opening quote; returns the closing quote or NULL */
static const char *
vpt_jskip_str(const char *p, const char *end)
{
    const char  *q, *b;

    for ( ;; ) {
        q = memchr(p, '"', end - p);
        if (q == NULL) {
            return NULL;
        }

        /* escaped when preceded by an odd number of backslashes */
        b = q;
        while (b > p && b[-1] == '\\') {
            b--;
        }

        if (((q - b) & 1) == 0) {
            return q;
        }

        p = q + 1;
    }
}


/* p is at '{' or '['; returns the byte after the matching bracket */
static const char *
vpt_jskip_nested(const char *p, const char *end)
{
    char     stack[64];
    size_t   depth;

    depth = 0;

    while (p < end) {
        switch (*p) {

        case '{':
        case '[':
            if (depth == sizeof(stack)) {
                return NULL;
            }
            stack[depth++] = (char) (*p == '{' ? '}' : ']');
            break;

        case '}':
        case ']':
            if (depth == 0 || stack[--depth] != *p) {
                return NULL;
            }
            if (depth == 0) {
                return p + 1;
            }
            break;

        case '"':
            p = vpt_jskip_str(p + 1, end);
            if (p == NULL) {
                return NULL;
            }
            break;
        }

        p++;
    }

    return NULL;
}


const char *
vpt_jvalue(const char *p, const char *end, vpt_jval_t *v)
{
    const char  *q;

    if (p == end) {
        return NULL;
    }

    switch (*p) {

    case '"':
        q = vpt_jskip_str(p + 1, end);
        if (q == NULL) {
            return NULL;
        }
        v->type = VPT_J_STR;
        v->p = p + 1;
        v->len = q - p - 1;
        return q + 1;

    case '{':
    case '[':
        q = vpt_jskip_nested(p, end);
        if (q == NULL) {
            return NULL;
        }
        v->type = (*p == '{') ? VPT_J_OBJ : VPT_J_ARR;
        v->p = p;
        v->len = q - p;
        return q;

    case 't':
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            v->type = VPT_J_TRUE;
            v->p = p;
            v->len = 4;
            return p + 4;
        }
        return NULL;

    case 'f':
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            v->type = VPT_J_FALSE;
            v->p = p;
            v->len = 5;
            return p + 5;
        }
        return NULL;

    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            v->type = VPT_J_NULL;
            v->p = p;
            v->len = 4;
            return p + 4;
        }
        return NULL;
    }

    q = p;
    while (q < end && ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+'
                       || *q == '.' || *q == 'e' || *q == 'E'))
    {
        q++;
    }

    if (q == p) {
        return NULL;
    }

    v->type = VPT_J_NUM;
    v->p = p;
    v->len = q - p;

    return q;
}


int
vpt_jobj_begin(vpt_jiter_t *it, const char *s, size_t len)
{
    const char  *p, *end;

    end = s + len;
    p = vpt_jskip_ws(s, end);

    if (p == end || *p != '{') {
        return VPT_ERROR;
    }

    it->p = p + 1;
    it->end = end;
    it->first = 1;

    return VPT_OK;
}


int
vpt_jobj_key(vpt_jiter_t *it, vpt_jval_t *key)
{
    const char  *p, *end;

    p = vpt_jskip_ws(it->p, it->end);
    end = it->end;

    if (p < end && *p == '}') {
        /* only whitespace may follow the object */
        p = vpt_jskip_ws(p + 1, end);
        it->p = p;
        return p == end ? 0 : -1;
    }

    if (!it->first) {
        if (p == end || *p != ',') {
            return -1;
        }
        p = vpt_jskip_ws(p + 1, end);
    }

    if (p == end || *p != '"') {
        return -1;
    }

    p = vpt_jvalue(p, end, key);
    if (p == NULL) {
        return -1;
    }

    p = vpt_jskip_ws(p, end);
    if (p == end || *p != ':') {
        return -1;
    }

    it->p = vpt_jskip_ws(p + 1, end);
    it->first = 0;

    return 1;
}


int
vpt_jobj_next(vpt_jiter_t *it, vpt_jval_t *key, vpt_jval_t *val)
{
    int          rc;
    const char  *p;

    rc = vpt_jobj_key(it, key);
    if (rc != 1) {
        return rc;
    }

    p = vpt_jvalue(it->p, it->end, val);
    if (p == NULL) {
        return -1;
    }

    it->p = p;

    return 1;
}


int
vpt_jarr_next_str(const char **pp, const char *end, vpt_jval_t *s)
{
    const char  *p;

    p = vpt_jskip_ws(*pp, end);

    if (p < end && *p == '[') {
        p = vpt_jskip_ws(p + 1, end);
        if (p < end && *p == ']') {
            *pp = p + 1;
            return 0;
        }

    } else if (p < end && *p == ',') {
        p = vpt_jskip_ws(p + 1, end);

    } else if (p < end && *p == ']') {
        *pp = p + 1;
        return 0;

    } else {
        return -1;
    }

    if (p == end || *p != '"') {
        return -1;
    }

    p = vpt_jvalue(p, end, s);
    if (p == NULL) {
        return -1;
    }

    *pp = p;

    return 1;
}


static int
vpt_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}


static long
vpt_hex4(const char *p, const char *end)
{
    long  v;
    int   i, d;

    if (end - p < 4) {
        return -1;
    }

    v = 0;
    for (i = 0; i < 4; i++) {
        d = vpt_hexval((unsigned char) p[i]);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }

    return v;
}


long
vpt_junescape(const char *p, size_t len, char *out)
{
    long         c, lo;
    char        *o;
    const char  *end, *bs;

    end = p + len;
    bs = memchr(p, '\\', len);

    if (bs == NULL) {
        memcpy(out, p, len);
        return (long) len;
    }

    memcpy(out, p, bs - p);
    o = out + (bs - p);
    p = bs;

    while (p < end) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }

        if (++p == end) {
            return -1;
        }

        switch (*p++) {
        case '"':  *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/':  *o++ = '/'; break;
        case 'b':  *o++ = '\b'; break;
        case 'f':  *o++ = '\f'; break;
        case 'n':  *o++ = '\n'; break;
        case 'r':  *o++ = '\r'; break;
        case 't':  *o++ = '\t'; break;

        case 'u':
            c = vpt_hex4(p, end);
            if (c < 0) {
                return -1;
            }
            p += 4;

            if (c >= 0xd800 && c <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u') {
                    return -1;
                }
                lo = vpt_hex4(p + 2, end);
                if (lo < 0xdc00 || lo > 0xdfff) {
                    return -1;
                }
                p += 6;
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);

            } else if (c >= 0xdc00 && c <= 0xdfff) {
                return -1;
            }

            if (c < 0x80) {
                *o++ = (char) c;
            } else if (c < 0x800) {
                *o++ = (char) (0xc0 | (c >> 6));
                *o++ = (char) (0x80 | (c & 0x3f));
            } else if (c < 0x10000) {
                *o++ = (char) (0xe0 | (c >> 12));
                *o++ = (char) (0x80 | ((c >> 6) & 0x3f));
                *o++ = (char) (0x80 | (c & 0x3f));
            } else {
                *o++ = (char) (0xf0 | (c >> 18));
                *o++ = (char) (0x80 | ((c >> 12) & 0x3f));
                *o++ = (char) (0x80 | ((c >> 6) & 0x3f));
                *o++ = (char) (0x80 | (c & 0x3f));
            }
            break;

        default:
            return -1;
        }
    }

    return o - out;
}


int
vpt_jtext(const vpt_jval_t *v, char **pos, const char **p, size_t *len)
{
    long  n;

    if (v->type == VPT_J_NUM) {
        *p = v->p;
        *len = v->len;
        return VPT_OK;
    }

    /* the access log writes null where it once wrote "" */
    if (v->type == VPT_J_NULL) {
        *p = "";
        *len = 0;
        return VPT_OK;
    }

    if (v->type != VPT_J_STR) {
        return VPT_ERROR;
    }

    if (memchr(v->p, '\\', v->len) == NULL) {
        *p = v->p;
        *len = v->len;
        return VPT_OK;
    }

    n = vpt_junescape(v->p, v->len, *pos);
    if (n < 0) {
        return VPT_ERROR;
    }

    *p = *pos;
    *len = n;
    *pos += n;

    return VPT_OK;
}


/*
 * A field holding JSON, the access log's "context": the object's own text,
 * or, in logs written before $vpt_log_json, that text in a string.
 */

int
vpt_jjson(const vpt_jval_t *v, char **pos, const char **p, size_t *len)
{
    if (v->type == VPT_J_OBJ) {
        *p = v->p;
        *len = v->len;
        return VPT_OK;
    }

    if (v->type != VPT_J_STR && v->type != VPT_J_NULL) {
        return VPT_ERROR;
    }

    return vpt_jtext(v, pos, p, len);
}


int
vpt_parse_num(const char *p, size_t len, double *out)
{
    char    buf[64], *e;
    size_t  i;

    if (len == 0 || len >= sizeof(buf)) {
        return VPT_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '+'
              || p[i] == '.' || p[i] == 'e' || p[i] == 'E'))
        {
            return VPT_ERROR;
        }
    }

    memcpy(buf, p, len);
    buf[len] = '\0';

    *out = strtod(buf, &e);

    if (e != buf + len || !isfinite(*out)) {
        return VPT_ERROR;
    }

    return VPT_OK;
}
