/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The decision log: one line parsed into a row, its context by a fast
 * path into jansson values whose memory is an arena emptied per line.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vpt_tools_int.h"


/* jansson's arena */

typedef struct vpt_jblock_s  vpt_jblock_t;

struct vpt_jblock_s {
    vpt_jblock_t  *next;
    char           data[];
};

static int            vpt_jarena_on;
static char          *vpt_jarena;
static size_t         vpt_jarena_size;
static size_t         vpt_jarena_used;
static size_t         vpt_jarena_spill;      /* bytes in extra blocks */
static vpt_jblock_t  *vpt_jarena_extra;


static void *
vpt_jmalloc(size_t n)
{
    void          *p;
    vpt_jblock_t  *b;

    n = (n + 15) & ~(size_t) 15;

    if (vpt_jarena_size - vpt_jarena_used >= n) {
        p = vpt_jarena + vpt_jarena_used;
        vpt_jarena_used += n;
        return p;
    }

    /* this line needs more: a block of its own until the next reset */
    b = malloc(sizeof(vpt_jblock_t) + n);
    if (b == NULL) {
        return NULL;
    }

    b->next = vpt_jarena_extra;
    vpt_jarena_extra = b;
    vpt_jarena_spill += n;

    return b->data;
}


static void
vpt_jfree(void *p)
{
    (void) p;
}


static void
vpt_jarena_reset(void)
{
    vpt_jblock_t  *b;

    if (!vpt_jarena_on) {
        return;
    }

    while (vpt_jarena_extra) {
        b = vpt_jarena_extra;
        vpt_jarena_extra = b->next;
        free(b);
    }

    if (vpt_jarena_spill > 0) {
        /* grow, so that lines like this one fit next time */
        vpt_jarena_size = (vpt_jarena_size + vpt_jarena_spill) * 2;
        free(vpt_jarena);
        vpt_jarena = vpt_xalloc(vpt_jarena_size);
        vpt_jarena_spill = 0;
    }

    vpt_jarena_used = 0;
}


void
vpt_jansson_arena(void)
{
    vpt_jarena_size = 256 * 1024;
    vpt_jarena = vpt_xalloc(vpt_jarena_size);
    vpt_jarena_on = 1;

    json_set_alloc_funcs(vpt_jmalloc, vpt_jfree);
}


/*
 * The context of a decision-log line, fast.  vpt_context_parse() is
 * jansson's json_loadb() and the core's vpt_context_from_json(); the
 * lexer is most of a tool's time per line.  Here the text is parsed by a
 * strict JSON parser of our own into the same jansson values (objects in
 * text order, a repeated key replacing the value in place, integers
 * without fraction or exponent as json_integer, numbers beyond range, NUL
 * in strings and invalid UTF-8 refused, as jansson does), then given to
 * vpt_context_from_json().  Whenever this parser does not accept the text
 * (deep nesting, long numbers, anything invalid), vpt_context_parse() on
 * the same text decides: the verdict is always jansson's and the core's.
 */

#define VPT_JB_DEPTH  32


static json_t *vpt_jb_value(const char **pp, const char *end, int depth,
    vpt_buf_t *tmp);

static vpt_buf_t  vpt_jb_tmp;


/* a string's text: in place when it has no escape, else in tmp */
static int
vpt_jb_string(const char **pp, const char *end, vpt_buf_t *tmp,
    const char **s, size_t *len)
{
    int          esc;
    long         n;
    const char  *p, *q;

    p = *pp + 1;
    esc = 0;

    for (q = p; q < end && *q != '"'; q++) {
        if ((unsigned char) *q < 0x20) {
            return VPT_ERROR;
        }

        if (*q == '\\') {
            esc = 1;
            if (++q == end) {
                return VPT_ERROR;
            }
        }
    }

    if (q >= end) {
        return VPT_ERROR;
    }

    *pp = q + 1;

    if (!esc) {
        *s = p;
        *len = q - p;
        return VPT_OK;
    }

    if (tmp->size < (size_t) (q - p) + 1) {
        tmp->size = (q - p) * 2 + 64;
        tmp->data = vpt_xrealloc(tmp->data, tmp->size);
    }

    n = vpt_junescape(p, q - p, tmp->data);
    if (n < 0 || memchr(tmp->data, '\0', n) != NULL) {
        return VPT_ERROR;
    }

    *s = tmp->data;
    *len = n;

    return VPT_OK;
}


static json_t *
vpt_jb_number(const char **pp, const char *end)
{
    int          real;
    char         buf[48], *e;
    double       d;
    long long    ll;
    const char  *p, *s;

    s = p = *pp;
    real = 0;

    if (p < end && *p == '-') {
        p++;
    }

    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        real = 1;
        if (++p == end || *p < '0' || *p > '9') {
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if ((size_t) (p - s) >= sizeof(buf)) {
        return NULL;
    }

    memcpy(buf, s, p - s);
    buf[p - s] = '\0';
    *pp = p;
    errno = 0;

    if (!real) {
        ll = strtoll(buf, &e, 10);
        if (errno == ERANGE || *e) {
            return NULL;
        }
        return json_integer(ll);
    }

    d = strtod(buf, &e);
    if (errno == ERANGE || *e || !isfinite(d)) {
        return NULL;
    }

    return json_real(d);
}


static json_t *
vpt_jb_value(const char **pp, const char *end, int depth, vpt_buf_t *tmp)
{
    size_t       len;
    json_t      *v, *item;
    const char  *p, *s;

    p = vpt_jskip_ws(*pp, end);

    if (p == end) {
        return NULL;
    }

    switch (*p) {

    case '{':
        if (depth >= VPT_JB_DEPTH) {
            return NULL;
        }

        v = json_object();
        p = vpt_jskip_ws(p + 1, end);

        if (p < end && *p == '}') {
            *pp = p + 1;
            return v;
        }

        for ( ;; ) {
            if (p == end || *p != '"'
                || vpt_jb_string(&p, end, tmp, &s, &len) != VPT_OK)
            {
                break;
            }

            p = vpt_jskip_ws(p, end);
            if (p == end || *p != ':') {
                break;
            }
            p++;

            /* the key is in tmp: the value's strings go to a copy */
            {
                char  key[256];

                if (len >= sizeof(key)) {
                    break;
                }
                memcpy(key, s, len);
                key[len] = '\0';

                item = vpt_jb_value(&p, end, depth + 1, tmp);
                if (item == NULL || json_object_set_new(v, key, item) != 0)
                {
                    break;
                }
            }

            p = vpt_jskip_ws(p, end);

            if (p < end && *p == ',') {
                p = vpt_jskip_ws(p + 1, end);
                continue;
            }

            if (p < end && *p == '}') {
                *pp = p + 1;
                return v;
            }

            break;
        }

        json_decref(v);
        return NULL;

    case '[':
        if (depth >= VPT_JB_DEPTH) {
            return NULL;
        }

        v = json_array();
        p = vpt_jskip_ws(p + 1, end);

        if (p < end && *p == ']') {
            *pp = p + 1;
            return v;
        }

        for ( ;; ) {
            item = vpt_jb_value(&p, end, depth + 1, tmp);
            if (item == NULL || json_array_append_new(v, item) != 0) {
                break;
            }

            p = vpt_jskip_ws(p, end);

            if (p < end && *p == ',') {
                p++;
                continue;
            }

            if (p < end && *p == ']') {
                *pp = p + 1;
                return v;
            }

            break;
        }

        json_decref(v);
        return NULL;

    case '"':
        if (vpt_jb_string(&p, end, tmp, &s, &len) != VPT_OK) {
            return NULL;
        }
        *pp = p;
        return json_stringn(s, len);            /* NULL: not UTF-8 */

    case 't':
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            *pp = p + 4;
            return json_true();
        }
        return NULL;

    case 'f':
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            *pp = p + 5;
            return json_false();
        }
        return NULL;

    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            *pp = p + 4;
            return json_null();
        }
        return NULL;
    }

    *pp = p;

    return vpt_jb_number(pp, end);
}


static int
vpt_context_fast(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len)
{
    int                rc;
    json_t            *root;
    const char        *p, *end;

    if (len <= VPT_CTX_MAX_BYTES) {
        p = json;
        end = json + len;
        root = vpt_jb_value(&p, end, 0, &vpt_jb_tmp);

        if (root != NULL && vpt_jskip_ws(p, end) == end) {
            rc = vpt_context_from_json(ctx, root, arena, arena_len);
            json_decref(root);
            return rc;
        }

        json_decref(root);
    }

    return vpt_context_parse(ctx, json, len, arena, arena_len);
}


/* the decision log */

static void
vpt_buf_reserve(vpt_buf_t *b, size_t n)
{
    if (b->size < n) {
        b->size = n * 2;
        b->data = vpt_xrealloc(b->data, b->size);
    }
}


int
vpt_row_parse(vpt_row_t *row, const vpt_catalog_t *c, const char *line,
    size_t len, vpt_buf_t *scratch, const char **why)
{
    int           rc, page;
    long          n;
    char         *pos;
    unsigned      seen;
    vpt_str_t     s;
    const char   *p;
    vpt_jval_t    key, val, ctx, shown;
    vpt_jiter_t   it;
    static json_t  *root;

    if (vpt_jobj_begin(&it, line, len) != VPT_OK) {
        *why = "not a JSON object";
        return VPT_ERROR;
    }

    vpt_buf_reserve(scratch, len + 1);
    pos = scratch->data;

    row->decision = "";
    row->decision_len = 0;
    row->hour = -1;
    row->page = VPT_PAGE_CONFIRMATION;
    row->shown = -1;
    row->unknown_offer = 0;
    row->has_propensity = 0;
    row->propensity_absent = 1;
    row->propensity = 0;
    row->accepted = 0;
    row->value = 0;

    seen = 0;
    memset(&ctx, 0, sizeof(vpt_jval_t));
    shown = ctx;

    /* the last line's context, then the arena its memory came from */
    json_decref(root);
    root = NULL;
    vpt_jarena_reset();

    while ((rc = vpt_jobj_key(&it, &key)) == 1) {

        if (vpt_jkey_is(&key, "context") && it.p < it.end && *it.p == '{'
            && root == NULL)
        {
            /* parsed once, straight into jansson values (see above) */
            p = it.p;
            root = vpt_jb_value(&p, it.end, 0, &vpt_jb_tmp);

            if (root != NULL && (size_t) (p - it.p) <= VPT_CTX_MAX_BYTES) {
                ctx.type = VPT_J_OBJ;
                ctx.p = it.p;
                ctx.len = p - it.p;
                it.p = p;
                seen |= 2;
                continue;
            }

            json_decref(root);
            root = NULL;
        }

        p = vpt_jvalue(it.p, it.end, &val);
        if (p == NULL) {
            rc = -1;
            break;
        }
        it.p = p;

        if (vpt_jkey_is(&key, "decision")) {
            if (val.type != VPT_J_STR
                || vpt_jtext(&val, &pos, &row->decision, &row->decision_len)
                   != VPT_OK)
            {
                *why = "\"decision\" is not a string";
                return VPT_ERROR;
            }
            seen |= 1;

        } else if (vpt_jkey_is(&key, "time")) {
            if (val.type == VPT_J_STR) {
                row->hour = vpt_time_hour(val.p, val.len);
            }

        } else if (vpt_jkey_is(&key, "page")) {
            s.data = val.p;
            s.len = val.len;
            page = val.type == VPT_J_STR ? vpt_page_parse(s) : -1;
            if (page < 0) {
                *why = "\"page\" is not cart or confirmation";
                return VPT_ERROR;
            }
            row->page = page;

        } else if (vpt_jkey_is(&key, "context")) {
            if (val.type != VPT_J_OBJ && val.type != VPT_J_NULL) {
                *why = "\"context\" is not an object";
                return VPT_ERROR;
            }
            json_decref(root);
            root = NULL;
            ctx = val;
            seen |= 2;

        } else if (vpt_jkey_is(&key, "shown")) {
            if (val.type != VPT_J_STR && val.type != VPT_J_NULL) {
                *why = "\"shown\" is not a string or null";
                return VPT_ERROR;
            }
            shown = val;
            seen |= 4;

        } else if (vpt_jkey_is(&key, "propensity")) {
            row->propensity_absent = 0;
            if (val.type == VPT_J_NUM
                && vpt_parse_num(val.p, val.len, &row->propensity) == VPT_OK)
            {
                row->has_propensity = 1;
            } else if (val.type != VPT_J_NULL) {
                *why = "\"propensity\" is not a number";
                return VPT_ERROR;
            }

        } else if (vpt_jkey_is(&key, "accepted")) {
            if (val.type != VPT_J_TRUE && val.type != VPT_J_FALSE) {
                *why = "\"accepted\" is not true or false";
                return VPT_ERROR;
            }
            row->accepted = (val.type == VPT_J_TRUE);
            seen |= 8;

        } else if (vpt_jkey_is(&key, "value")) {
            if (val.type != VPT_J_NUM
                || vpt_parse_num(val.p, val.len, &row->value) != VPT_OK)
            {
                *why = "\"value\" is not a number";
                return VPT_ERROR;
            }
            seen |= 16;
        }
    }

    if (rc != 0) {
        *why = "not a JSON object";
        return VPT_ERROR;
    }

    if ((seen & 15) != 15) {
        *why = !(seen & 1) ? "no \"decision\"" : !(seen & 2)
               ? "no \"context\"" : !(seen & 4) ? "no \"shown\""
               : "no \"accepted\"";
        return VPT_ERROR;
    }

    if (row->accepted && !(seen & 16)) {
        *why = "accepted without a \"value\"";
        return VPT_ERROR;
    }

    if (!row->accepted) {
        row->value = 0;
    }

    if (shown.type == VPT_J_STR) {
        if (vpt_jtext(&shown, &pos, &s.data, &s.len) != VPT_OK) {
            *why = "\"shown\" is not a string or null";
            return VPT_ERROR;
        }

        row->shown = vpt_catalog_find(c, s);
        row->unknown_offer = (row->shown < 0);

    } else if (row->accepted) {
        *why = "accepted while nothing was shown";
        return VPT_ERROR;
    }

    n = pos - scratch->data;

    if (root != NULL) {
        rc = vpt_context_from_json(&row->ctx, root, pos, scratch->size - n);

    } else if (ctx.type == VPT_J_NULL) {
        vpt_context_init(&row->ctx);
        rc = VPT_OK;

    } else {
        rc = vpt_context_fast(&row->ctx, ctx.p, ctx.len, pos,
                              scratch->size - n);
    }

    if (rc != VPT_OK) {
        *why = "the context is not valid";
        return VPT_ERROR;
    }

    return VPT_OK;
}


int
vpt_logs_row(vpt_logs_t *l, vpt_row_t *row, const vpt_catalog_t *c,
    vpt_buf_t *scratch, vpt_bad_t *bad)
{
    char        *line;
    size_t       len;
    const char  *why;

    while (vpt_logs_line(l, &line, &len)) {
        if (l->in.toolong) {
            vpt_bad_add(bad, &l->in, "longer than 16 MB");
            continue;
        }

        if (vpt_row_parse(row, c, line, len, scratch, &why) != VPT_OK) {
            vpt_bad_add(bad, &l->in, why);
            continue;
        }

        return 1;
    }

    return 0;
}

int
vpt_time_hour(const char *p, size_t len)
{
    if (len < 13 || p[10] != 'T' || p[11] < '0' || p[11] > '2'
        || p[12] < '0' || p[12] > '9')
    {
        return -1;
    }

    return (p[11] - '0') * 10 + (p[12] - '0') < 24
           ? (p[11] - '0') * 10 + (p[12] - '0') : -1;
}
