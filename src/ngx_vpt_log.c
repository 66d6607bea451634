/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What a shopper sends, in the error log: escaped, cut short, and at most
 * once a second per kind of report.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static u_char  ngx_http_vpt_hex[] = "0123456789abcdef";


/*
 * Bytes a shopper controls, made safe for a log line: at most
 * NGX_VPT_LOG_SHOW of them, each byte outside printable ASCII and each
 * '"' and '\' as \xHH, and "..." when cut.  dst has NGX_VPT_LOG_ESCAPED
 * bytes; the length written is returned (for "%*s").
 */

size_t
ngx_http_vpt_log_escape(u_char *dst, u_char *src, size_t len)
{
    u_char  c, *d;
    size_t  i, n;

    n = ngx_min(len, NGX_VPT_LOG_SHOW);
    d = dst;

    for (i = 0; i < n; i++) {
        c = src[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            *d++ = '\\';
            *d++ = 'x';
            *d++ = ngx_http_vpt_hex[c >> 4];
            *d++ = ngx_http_vpt_hex[c & 0xf];

        } else {
            *d++ = c;
        }
    }

    if (n < len) {
        d = ngx_cpymem(d, "...", 3);
    }

    return d - dst;
}


/*
 * Bad data at run time is reported, but at most once a second per worker
 * and kind: a broken writer of contexts must not flood the error log, nor
 * a shopper's odd session key hide a Redis failure.
 */

ngx_uint_t
ngx_http_vpt_log_allowed(ngx_vpt_log_kind_e kind, ngx_uint_t *skipped)
{
    static time_t      last[NGX_VPT_LOG_N];
    static ngx_uint_t  count[NGX_VPT_LOG_N];

    if (ngx_time() == last[kind]) {
        count[kind]++;
        return 0;
    }

    last[kind] = ngx_time();
    *skipped = count[kind];
    count[kind] = 0;

    return 1;
}
