/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The decision log: one line parsed into a row.  The line's top level is
 * scanned (vpt_tools_json.c); its context is parsed by the core's
 * vpt_context_parse(), the very parser nginx runs on the text from Redis
 * (its fast path, else jansson).
 */

#include <math.h>
#include <string.h>

#include "vpt_tools_int.h"


/*
 * Kept for tools/vpt-train.c, which calls it, until its rewrite drops the
 * call: the context's parser (vpt_context_parse(), the core's) has its own
 * arena for jansson, so there is nothing left to install here.
 */

void
vpt_jansson_arena(void)
{
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

    if (vpt_jobj_begin(&it, line, len) != VPT_OK) {
        *why = "not a JSON object";
        return VPT_ERROR;
    }

    /* unescaped strings, a context in a string, the context's parse */
    vpt_buf_reserve(scratch, 2 * len + 1);
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
    row->has_realized = 0;
    row->realized = 0;

    seen = 0;
    memset(&ctx, 0, sizeof(vpt_jval_t));
    shown = ctx;

    while ((rc = vpt_jobj_key(&it, &key)) == 1) {
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
            if (val.type != VPT_J_OBJ && val.type != VPT_J_NULL
                && val.type != VPT_J_STR)
            {
                *why = "\"context\" is not an object";
                return VPT_ERROR;
            }
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

        } else if (vpt_jkey_is(&key, "realized_value")) {
            /* vpt-join's sum of vpt_conversion's amounts; null: none */
            if (val.type == VPT_J_NULL) {
                continue;
            }

            if (val.type != VPT_J_NUM
                || vpt_parse_num(val.p, val.len, &row->realized) != VPT_OK
                || !isfinite(row->realized))
            {
                *why = "\"realized_value\" is not a number";
                return VPT_ERROR;
            }
            row->has_realized = 1;
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

    /* an access log's context, as older logs wrote it: its text, quoted */
    if (ctx.type == VPT_J_STR) {
        if (vpt_jjson(&ctx, &pos, &ctx.p, &ctx.len) != VPT_OK) {
            *why = "the context is not valid";
            return VPT_ERROR;
        }

        ctx.type = ctx.len ? VPT_J_OBJ : VPT_J_NULL;
    }

    n = pos - scratch->data;

    if (ctx.type == VPT_J_NULL) {
        vpt_context_init(&row->ctx);
        rc = VPT_OK;

    } else {
        rc = vpt_context_parse(&row->ctx, ctx.p, ctx.len, pos,
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
