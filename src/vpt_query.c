/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The accept beacon's query string: see vpt_query.h for the rules.  All
 * indexes, no pointer past the query's end: the glue hands us r->args,
 * which is not NUL-terminated.
 */

#include <stdio.h>
#include <string.h>

#include "vpt_query.h"


/* a longer name is never ours: 'd' takes 31 layers of "%25" to get there */
#define VPT_QUERY_NAME_MAX  64


static int vpt_query_name(const char *name, size_t len, int *encoded);
static int vpt_query_key(unsigned char c);
static int vpt_query_hex(unsigned char c);


static const char  vpt_query_names[VPT_QUERY_NARGS] = { 'd', 'o', 'x', 's' };


int
vpt_query_beacon(vpt_query_beacon_t *q, const char *query, size_t len)
{
    int               k, rc, encoded, valid;
    size_t            i, start, eq;
    vpt_query_arg_t  *a;

    memset(q, 0, sizeof(vpt_query_beacon_t));

    for (start = 0; start < len; start = i + 1) {

        /* the parameter [start, i), its name [start, eq) */

        eq = len;

        for (i = start; i < len && query[i] != '&'; i++) {
            if (query[i] == '=' && eq == len) {
                eq = i;
            }
        }

        k = vpt_query_name(query + start, (eq < i ? eq : i) - start,
                           &encoded);
        if (k < 0) {
            continue;
        }

        if (encoded) {
            snprintf(q->why, sizeof(q->why), "a parameter name "
                     "percent-encodes \"%c\"", vpt_query_names[k]);
            return VPT_ERROR;
        }

        a = &q->arg[k];

        if (a->raw.data != NULL) {
            snprintf(q->why, sizeof(q->why), "\"%c\" is repeated",
                     vpt_query_names[k]);
            return VPT_ERROR;
        }

        if (eq >= i) {
            snprintf(q->why, sizeof(q->why), "\"%c\" has no \"=\"",
                     vpt_query_names[k]);
            return VPT_ERROR;
        }

        a->raw.data = query + eq + 1;
        a->raw.len = i - eq - 1;
    }

    for (k = 0; k < VPT_QUERY_NARGS; k++) {
        a = &q->arg[k];

        if (a->raw.data == NULL) {
            if (k == VPT_QUERY_X || k == VPT_QUERY_S) {
                continue;
            }

            snprintf(q->why, sizeof(q->why), "\"%c\" is missing",
                     vpt_query_names[k]);
            return VPT_ERROR;
        }

        rc = vpt_query_unescape(a->data, sizeof(a->data), a->raw.data,
                                a->raw.len, &a->len);

        if (rc == VPT_QUERY_BAD_ESCAPE) {
            snprintf(q->why, sizeof(q->why), "\"%c\" has a \"%%\" not "
                     "followed by two hex digits", vpt_query_names[k]);
            return VPT_ERROR;
        }

        if (k == VPT_QUERY_D) {
            valid = rc == VPT_OK && vpt_query_is_decision(a->data, a->len);

        } else {
            valid = rc == VPT_OK && vpt_query_is_id(a->data, a->len);
        }

        if (!valid) {
            a->len = 0;
            snprintf(q->why, sizeof(q->why), "\"%c\" is not %s",
                     vpt_query_names[k],
                     k == VPT_QUERY_D ? "16 lowercase hex digits"
                                      : "1 to 64 bytes of [A-Za-z0-9._:-]");
            return VPT_ERROR;
        }
    }

    return VPT_OK;
}


int
vpt_query_unescape(char *dst, size_t size, const char *src, size_t len,
    size_t *n)
{
    int            hi, lo;
    size_t         i, j;
    unsigned char  c;

    /* j <= i: in place, each byte is read before it can be overwritten */

    for (i = 0, j = 0; i < len; j++) {
        c = (unsigned char) src[i];

        if (c == '%') {
            if (len - i < 3) {
                return VPT_QUERY_BAD_ESCAPE;
            }

            hi = vpt_query_hex((unsigned char) src[i + 1]);
            lo = vpt_query_hex((unsigned char) src[i + 2]);

            if (hi < 0 || lo < 0) {
                return VPT_QUERY_BAD_ESCAPE;
            }

            c = (unsigned char) (hi << 4 | lo);
            i += 3;

        } else {
            i++;
        }

        if (j == size) {
            return VPT_QUERY_TOO_LONG;
        }

        dst[j] = (char) c;
    }

    *n = j;

    return VPT_OK;
}


/* our decision ids: 16 lowercase hex digits (ngx_hex_dump of 64 bits) */

int
vpt_query_is_decision(const char *s, size_t len)
{
    size_t  i;

    if (len != VPT_QUERY_DECISION_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }

    return 1;
}


/* offer ids and experiment names: 1..64 bytes of [A-Za-z0-9._:-] */

int
vpt_query_is_id(const char *s, size_t len)
{
    char    c;
    size_t  i;

    if (len == 0 || len > VPT_QUERY_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
            || (c >= 'A' && c <= 'Z')
            || c == '.' || c == '_' || c == ':' || c == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/*
 * Which of ours a parameter name is (-1: none).  *encoded is set when it
 * only becomes ours once percent-decoded, however many times: a reader
 * that decodes names, even twice, must not find a d, o or x we did not.
 */

static int
vpt_query_name(const char *name, size_t len, int *encoded)
{
    char    buf[VPT_QUERY_NAME_MAX];
    size_t  n;

    *encoded = 0;

    if (len == 1) {
        return vpt_query_key((unsigned char) name[0]);
    }

    if (len < 3 || len > VPT_QUERY_NAME_MAX || memchr(name, '%', len) == NULL)
    {
        return -1;
    }

    memcpy(buf, name, len);
    n = len;

    /* each round that decodes something shrinks the name */

    while (n > 1 && memchr(buf, '%', n) != NULL
           && vpt_query_unescape(buf, n, buf, n, &n) == VPT_OK)
    {
        /* void */
    }

    if (n != 1) {
        return -1;
    }

    *encoded = 1;

    return vpt_query_key((unsigned char) buf[0]);
}


/* names in either case, as nginx's $arg_* matches them */

static int
vpt_query_key(unsigned char c)
{
    switch (c | 0x20) {
    case 'd':
        return VPT_QUERY_D;
    case 'o':
        return VPT_QUERY_O;
    case 'x':
        return VPT_QUERY_X;
    case 's':
        return VPT_QUERY_S;
    default:
        return -1;
    }
}


static int
vpt_query_hex(unsigned char c)
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


int
vpt_query_conversion(vpt_query_conversion_t *c, const char *query,
    size_t len)
{
    int          seen_d, seen_v, dot, frac;
    size_t       i, j, start, vlen;
    double       v, scale;
    const char  *val;

    memset(c, 0, sizeof(vpt_query_conversion_t));
    seen_d = 0;
    seen_v = 0;

    for (start = 0; start <= len; start = i + 1) {

        for (i = start; i < len && query[i] != '&'; i++) {
            /* void */
        }

        if (i - start < 2 || query[start + 1] != '=') {
            continue;
        }

        val = query + start + 2;
        vlen = i - start - 2;

        switch (query[start]) {

        case 'd':
            if (seen_d++ || !vpt_query_is_decision(val, vlen)) {
                snprintf(c->why, sizeof(c->why), "\"d\" is repeated or not "
                         "16 lowercase hex digits");
                return VPT_ERROR;
            }

            memcpy(c->decision, val, vlen);
            c->decision_len = vlen;
            break;

        case 'v':
            v = 0;
            dot = 0;
            frac = 0;
            scale = 1;

            for (j = 0; j < vlen; j++) {
                if (val[j] == '.' && !dot && j > 0) {
                    dot = 1;

                } else if (val[j] >= '0' && val[j] <= '9' && frac < 6
                           && j < 16)
                {
                    if (dot) {
                        scale /= 10;
                        frac++;
                        v += (val[j] - '0') * scale;

                    } else {
                        v = v * 10 + (val[j] - '0');
                    }

                } else {
                    break;
                }
            }

            if (seen_v++ || vlen == 0 || j < vlen || val[vlen - 1] == '.'
                || v > VPT_QUERY_AMOUNT_MAX)
            {
                snprintf(c->why, sizeof(c->why), "\"v\" is repeated or not "
                         "an amount from 0 to 1e9 with at most 6 decimals");
                return VPT_ERROR;
            }

            c->value = v;
            break;

        case 'c':
            if (c->currency_len || vlen != 3
                || val[0] < 'A' || val[0] > 'Z'
                || val[1] < 'A' || val[1] > 'Z'
                || val[2] < 'A' || val[2] > 'Z')
            {
                snprintf(c->why, sizeof(c->why), "\"c\" is repeated or not "
                         "three uppercase letters");
                return VPT_ERROR;
            }

            memcpy(c->currency, val, 3);
            c->currency_len = 3;
            break;

        default:
            break;
        }
    }

    if (!seen_d || !seen_v) {
        snprintf(c->why, sizeof(c->why), "\"%s\" is missing",
                 seen_d ? "v" : "d");
        return VPT_ERROR;
    }

    return VPT_OK;
}
