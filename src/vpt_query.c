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


static const char  vpt_query_names[VPT_QUERY_NARGS] = { 'd', 'o', 'x' };


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
            if (k == VPT_QUERY_X) {
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
