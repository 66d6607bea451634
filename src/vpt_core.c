/*
 * Copyright (C) ngx_vpt_module authors
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vpt_core.h"


#define VPT_FNV_OFFSET  0xcbf29ce484222325ULL
#define VPT_FNV_PRIME   0x100000001b3ULL


uint64_t
vpt_hash(const void *data, size_t len)
{
    return vpt_hash_more(VPT_FNV_OFFSET, data, len);
}


uint64_t
vpt_hash_more(uint64_t h, const void *data, size_t len)
{
    const unsigned char  *p = data;

    while (len--) {
        h ^= *p++;
        h *= VPT_FNV_PRIME;
    }

    return h;
}


int
vpt_str_eq(vpt_str_t a, vpt_str_t b)
{
    size_t  i;

    if (a.len != b.len) {
        return 0;
    }

    for (i = 0; i < a.len; i++) {
        if (a.data[i] != b.data[i]) {
            return 0;
        }
    }

    return 1;
}


static unsigned char
vpt_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


int
vpt_str_caseeq(vpt_str_t a, vpt_str_t b)
{
    size_t  i;

    if (a.len != b.len) {
        return 0;
    }

    for (i = 0; i < a.len; i++) {
        if (vpt_lower(a.data[i]) != vpt_lower(b.data[i])) {
            return 0;
        }
    }

    return 1;
}


uint64_t
vpt_rand_next(uint64_t *state)
{
    uint64_t  z;

    z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

    return z ^ (z >> 31);
}


double
vpt_rand_unit(uint64_t *state)
{
    /* the top 53 bits make an exact double in [0, 1) */
    return (double) (vpt_rand_next(state) >> 11) * (1.0 / 9007199254740992.0);
}


char *
vpt_printable(char *s)
{
    char  *c;

    for (c = s; *c; c++) {
        if ((unsigned char) *c < 0x20 || *c == 0x7f) {
            *c = '?';
        }
    }

    return s;
}


static const char  *vpt_page_names[VPT_PAGE_N] = {
    "cart",
    "confirmation"
};


const char *
vpt_page_name(vpt_page_e page)
{
    if ((unsigned) page >= VPT_PAGE_N) {
        return "unknown";
    }

    return vpt_page_names[page];
}


int
vpt_page_parse(vpt_str_t s)
{
    int        i;
    vpt_str_t  name;

    for (i = 0; i < VPT_PAGE_N; i++) {
        name.data = vpt_page_names[i];
        name.len = strlen(name.data);

        if (vpt_str_eq(s, name)) {
            return i;
        }
    }

    return -1;
}


const char *
vpt_show(char *buf, size_t size, const char *s, size_t len)
{
    size_t         i, n;
    unsigned char  c;

    n = len;

    if (n > VPT_SHOW_MAX) {
        n = VPT_SHOW_MAX;

        /* do not cut a UTF-8 sequence */
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    if (n + 4 > size) {
        n = 0;
    }

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];
        buf[i] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : c;
    }

    if (n < len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }

    buf[n] = '\0';

    return buf;
}


void
vpt_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}
