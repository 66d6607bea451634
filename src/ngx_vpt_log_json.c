/*
 * Copyright (C) ngx_vpt_module authors
 *
 * $vpt_log_json: the decision log's whole line, one JSON object, for
 *
 *     log_format vpt escape=none '$vpt_log_json';
 *
 * Why the whole line and not one more variable with the context as JSON:
 * escape=json would quote that variable too (the context twice encoded,
 * as before), and with escape=none nginx writes $uri, $request_id and the
 * rest as they are, so a shopper's quote in a URI would break the line;
 * only the module can escape them.  Built here, the line is valid JSON by
 * construction: every string escaped (bytes that are not UTF-8 as \u00XX),
 * numbers bare, null where there is nothing (no value, no lookup), and the
 * context from Redis once, as the object it is ($vpt_context holds it
 * only when it parsed).
 *
 * The fields are nginx variables read by index, so a new one is a line in
 * the table below.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


typedef enum {
    NGX_VPT_JSON_STR = 0,           /* a string, "" when empty */
    NGX_VPT_JSON_NUM,               /* a number, null when empty or "-",
                                       a list of them a string */
    NGX_VPT_JSON_RAW,               /* JSON text already, null when empty */
    NGX_VPT_JSON_OFFERS             /* $vpt_offer's ids alone: a string */
} ngx_vpt_json_type_e;


typedef struct {
    ngx_str_t                 key;
    ngx_str_t                 variable;
    ngx_vpt_json_type_e       type;
} ngx_http_vpt_log_field_t;


static ngx_int_t ngx_http_vpt_log_json_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static u_char *ngx_http_vpt_json_str(u_char *p, u_char *s, size_t len);
static u_char *ngx_http_vpt_json_num(u_char *p, u_char *s, size_t len);
static size_t ngx_http_vpt_utf8_len(u_char *s, size_t len);
static u_char *ngx_http_vpt_json_raw(u_char *p, u_char *s, size_t len);
static ngx_uint_t ngx_http_vpt_json_deeper(u_char *s, size_t len);
static u_char *ngx_http_vpt_json_offers(ngx_http_request_t *r, u_char *p,
    u_char *s, size_t len);


/*
 * Contexts are a few levels deep (user, cart items, features); one nested
 * deeper goes into the log as a string, the older form, which every
 * reader takes (JSON::PP stops at 512 levels, Python near 1,000).
 */
#define NGX_VPT_LOG_JSON_DEPTH  32


static ngx_http_vpt_log_field_t  ngx_http_vpt_log_fields[] = {
    { ngx_string("time"), ngx_string("time_iso8601"), NGX_VPT_JSON_STR },
    { ngx_string("request_id"), ngx_string("request_id"), NGX_VPT_JSON_STR },
    { ngx_string("decision"), ngx_string("vpt_decision"), NGX_VPT_JSON_STR },
    { ngx_string("status"), ngx_string("vpt_status"), NGX_VPT_JSON_STR },
    { ngx_string("page"), ngx_string("vpt_page"), NGX_VPT_JSON_STR },
    { ngx_string("offer"), ngx_string("vpt_offer"), NGX_VPT_JSON_OFFERS },
    { ngx_string("placement"), ngx_string("vpt_placement"),
      NGX_VPT_JSON_STR },
    { ngx_string("value"), ngx_string("vpt_value"), NGX_VPT_JSON_NUM },
    { ngx_string("propensity"), ngx_string("vpt_propensity"),
      NGX_VPT_JSON_NUM },
    { ngx_string("variant"), ngx_string("vpt_variant"), NGX_VPT_JSON_STR },
    { ngx_string("experiment"), ngx_string("vpt_experiment"),
      NGX_VPT_JSON_STR },
    { ngx_string("candidates"), ngx_string("vpt_candidates"),
      NGX_VPT_JSON_STR },
    { ngx_string("context"), ngx_string("vpt_context"), NGX_VPT_JSON_RAW },
    { ngx_string("basis"), ngx_string("vpt_basis"), NGX_VPT_JSON_STR },
    { ngx_string("consent"), ngx_string("vpt_consent"), NGX_VPT_JSON_STR },
    { ngx_string("repeat"), ngx_string("vpt_repeat"), NGX_VPT_JSON_NUM },
    { ngx_string("redis_time"), ngx_string("vpt_redis_time"),
      NGX_VPT_JSON_NUM },
    { ngx_string("uri"), ngx_string("uri"), NGX_VPT_JSON_STR },
    { ngx_string("http_status"), ngx_string("status"), NGX_VPT_JSON_NUM },
    { ngx_string("request_time"), ngx_string("request_time"),
      NGX_VPT_JSON_NUM },
    { ngx_string("bytes"), ngx_string("body_bytes_sent"), NGX_VPT_JSON_NUM },
    { ngx_null_string, ngx_null_string, 0 }
};

#define NGX_VPT_LOG_NFIELDS                                                  \
    (sizeof(ngx_http_vpt_log_fields) / sizeof(ngx_http_vpt_log_field_t) - 1)

/* each field's variable index, found once */
static ngx_int_t  ngx_http_vpt_log_index[NGX_VPT_LOG_NFIELDS];

static ngx_str_t  ngx_http_vpt_log_json_name = ngx_string("vpt_log_json");


ngx_int_t
ngx_http_vpt_add_log_json(ngx_conf_t *cf)
{
    ngx_uint_t            i;
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_vpt_log_json_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_vpt_log_json_variable;

    for (i = 0; i < NGX_VPT_LOG_NFIELDS; i++) {
        ngx_http_vpt_log_index[i] = ngx_http_get_variable_index(cf,
                                        &ngx_http_vpt_log_fields[i].variable);
        if (ngx_http_vpt_log_index[i] == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_log_json_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                     *p, *start;
    size_t                      len;
    ngx_uint_t                  i;
    ngx_http_variable_value_t  *vv[NGX_VPT_LOG_NFIELDS];
    ngx_http_vpt_log_field_t   *f;

    len = sizeof("{}") - 1;

    for (i = 0; i < NGX_VPT_LOG_NFIELDS; i++) {
        f = &ngx_http_vpt_log_fields[i];

        vv[i] = ngx_http_get_indexed_variable(r, ngx_http_vpt_log_index[i]);

        if (vv[i] != NULL && vv[i]->not_found) {
            vv[i] = NULL;
        }

        /* ,"key": and the value, each byte escaped at worst as \u00XX */
        len += f->key.len + sizeof(",\"\":") - 1 + sizeof("null") - 1
               + (vv[i] ? 6 * vv[i]->len + 2 : 0);
    }

    start = ngx_pnalloc(r->pool, len);
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = start;
    *p++ = '{';

    for (i = 0; i < NGX_VPT_LOG_NFIELDS; i++) {
        f = &ngx_http_vpt_log_fields[i];

        if (i) {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_cpymem(p, f->key.data, f->key.len);
        *p++ = '"';
        *p++ = ':';

        if (vv[i] == NULL
            || (vv[i]->len == 0 && f->type != NGX_VPT_JSON_STR
                && f->type != NGX_VPT_JSON_OFFERS))
        {
            p = ngx_cpymem(p, "null", 4);
            continue;
        }

        switch (f->type) {

        case NGX_VPT_JSON_STR:
            p = ngx_http_vpt_json_str(p, vv[i]->data, vv[i]->len);
            break;

        case NGX_VPT_JSON_NUM:
            p = ngx_http_vpt_json_num(p, vv[i]->data, vv[i]->len);
            break;

        case NGX_VPT_JSON_OFFERS:
            p = ngx_http_vpt_json_offers(r, p, vv[i]->data, vv[i]->len);
            break;

        default: /* NGX_VPT_JSON_RAW */
            p = ngx_http_vpt_json_raw(p, vv[i]->data, vv[i]->len);
        }
    }

    *p++ = '}';

    v->len = p - start;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = start;

    return NGX_OK;
}


/*
 * "offer" holds catalog ids alone, as the tools read them, and
 * "placement" their placements: with named placements, $vpt_offer's
 * "NAME:" goes (a name has no ':', an id may).
 */

static u_char *
ngx_http_vpt_json_offers(ngx_http_request_t *r, u_char *p, u_char *s,
    size_t len)
{
    u_char              *q, *end, *item, *colon, *comma;
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_vpt_module);

    if (ctx == NULL || !ctx->conf->named || ctx->accept.offer.len) {
        return ngx_http_vpt_json_str(p, s, len);
    }

    q = ngx_pnalloc(r->pool, len);
    if (q == NULL) {
        return ngx_http_vpt_json_str(p, s, 0);
    }

    end = s + len;
    item = q;

    for ( /* void */ ; s < end; s = comma + 1) {
        comma = ngx_strlchr(s, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        colon = ngx_strlchr(s, comma, ':');

        if (item > q) {
            *item++ = ',';
        }

        item = ngx_cpymem(item, colon ? colon + 1 : s,
                          comma - (colon ? colon + 1 : s));
    }

    return ngx_http_vpt_json_str(p, q, item - q);
}


/* the bytes a JSON string holds as they are: ASCII but controls, " and \ */
static const u_char  ngx_http_vpt_json_plain[256] = {
    [0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1
};


/*
 * A JSON string; bytes that are not UTF-8 as the code points they are.
 * Runs of plain bytes are found by the table and copied whole.
 */

static u_char *
ngx_http_vpt_json_str(u_char *p, u_char *s, size_t len)
{
    u_char   c;
    size_t   i, j, n;

    static u_char  hex[] = "0123456789abcdef";

    *p++ = '"';

    for (i = 0; i < len; /* void */ ) {

        for (j = i; j < len && ngx_http_vpt_json_plain[s[j]]; j++) {
            /* void */
        }

        if (j > i) {
            p = ngx_cpymem(p, s + i, j - i);
            i = j;

            if (i == len) {
                break;
            }
        }

        c = s[i];

        if (c >= 0x80) {
            n = ngx_http_vpt_utf8_len(s + i, len - i);

            if (n) {
                p = ngx_cpymem(p, s + i, n);
                i += n;
                continue;
            }
        }

        *p++ = '\\';

        if (c == '"' || c == '\\') {
            *p++ = c;

        } else if (c == '\n') {
            *p++ = 'n';

        } else {
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }

        i++;
    }

    *p++ = '"';

    return p;
}


/*
 * A decimal number as JSON writes it: no leading zeros ("000", a request
 * that ended without a status, is 0).  "-" (nginx's nothing) is null; a
 * list, the propensities of several slots "0.5,0.25", stays a string as
 * $vpt_offer's ids do.
 */

static u_char *
ngx_http_vpt_json_num(u_char *p, u_char *s, size_t len)
{
    size_t      i, dot;
    ngx_uint_t  digits;

    i = (len && s[0] == '-') ? 1 : 0;
    dot = 0;
    digits = 0;

    for (/* void */; i < len; i++) {
        if (s[i] == '.' && dot == 0 && digits) {
            dot = i;

        } else if (s[i] >= '0' && s[i] <= '9') {
            digits++;

        } else {
            goto other;
        }
    }

    if (digits == 0 || (dot && dot == len - 1)) {
        goto other;
    }

    i = 0;

    if (s[0] == '-') {
        *p++ = '-';
        i = 1;
    }

    /* leading zeros, but one before a point or as the whole number */
    while (i + 1 < len && s[i] == '0' && s[i + 1] != '.') {
        i++;
    }

    return ngx_cpymem(p, s + i, len - i);

other:

    if (len == 1 && s[0] == '-') {
        return ngx_cpymem(p, "null", 4);
    }

    return ngx_http_vpt_json_str(p, s, len);
}


/*
 * JSON that parsed (the context), as it is: its whitespace between tokens
 * may hold line breaks, which a string in it cannot, so they become
 * spaces; nested deeper than NGX_VPT_LOG_JSON_DEPTH, a string.  Copied
 * whole, its line breaks then found with memchr(): a byte at a time, this
 * was most of what the log line cost.
 */

static u_char *
ngx_http_vpt_json_raw(u_char *p, u_char *s, size_t len)
{
    u_char  *start, *b;

    if (ngx_http_vpt_json_deeper(s, len)) {
        return ngx_http_vpt_json_str(p, s, len);
    }

    start = p;
    p = ngx_cpymem(p, s, len);

    for (b = start; (b = memchr(b, '\n', p - b)) != NULL; b++) {
        *b = ' ';
    }

    for (b = start; (b = memchr(b, '\r', p - b)) != NULL; b++) {
        *b = ' ';
    }

    return p;
}


/*
 * Whether JSON nests deeper than NGX_VPT_LOG_JSON_DEPTH.  It cannot when
 * it holds no more '{' and '[' bytes than that, which memchr() counts
 * fast; else its levels are followed, strings skipped.
 */

static ngx_uint_t
ngx_http_vpt_json_deeper(u_char *s, size_t len)
{
    u_char      *b, *end;
    size_t       i;
    ngx_uint_t   n, depth, in_str;

    end = s + len;
    n = 0;

    for (b = s; n <= NGX_VPT_LOG_JSON_DEPTH
                && (b = memchr(b, '{', end - b)) != NULL; b++)
    {
        n++;
    }

    for (b = s; n <= NGX_VPT_LOG_JSON_DEPTH
                && (b = memchr(b, '[', end - b)) != NULL; b++)
    {
        n++;
    }

    if (n <= NGX_VPT_LOG_JSON_DEPTH) {
        return 0;
    }

    depth = 0;
    in_str = 0;

    for (i = 0; i < len; i++) {
        if (in_str) {
            if (s[i] == '\\') {
                i++;

            } else if (s[i] == '"') {
                in_str = 0;
            }

            continue;
        }

        switch (s[i]) {

        case '"':
            in_str = 1;
            break;

        case '{':
        case '[':
            if (++depth > NGX_VPT_LOG_JSON_DEPTH) {
                return 1;
            }

            break;

        case '}':
        case ']':
            depth--;
            break;
        }
    }

    return 0;
}


/* the length of the UTF-8 sequence at s, or 0 if it is not one */

static size_t
ngx_http_vpt_utf8_len(u_char *s, size_t len)
{
    u_char  *p;
    uint32_t  cp;

    p = s;
    cp = ngx_utf8_decode(&p, len);

    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return p - s;
}
