/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Fuzz entry point for the request context (vpt_reqctx.h): the
 * User-Agent and Referer classifiers, the operator's host entries, the
 * country, and the TZif reader behind the local hour (vpt_tz.h).  The
 * input: one selector byte, then fields separated by '\n'.
 *
 *   selector % 3 == 0: "UA\nREFERER\nHOST": classified as sent;
 *   selector % 3 == 1: "CLASS-BYTE HOST\n..." operator entries, each added
 *                      to a fresh set, then "https://HOST/" looked up;
 *   selector % 3 == 2: the rest is a TZif file.
 *
 * Checked, beyond the sanitizers (exact-size heap copies throughout):
 *
 *   - verdicts are in range and the same twice; ASCII case changes
 *     nothing (the whole string upper- or lower-cased);
 *   - a User-Agent is judged by its first VPT_REQCTX_UA_MAX bytes only;
 *   - an empty Referer is direct, a non-empty one never;
 *   - a host added by the operator, exactly, is that class when it is
 *     the Referer's host (a later entry for the same host wins);
 *   - a country is 0 or 2 upper-case letters;
 *   - a TZif file is refused or gives offsets within 26 hours, local
 *     hours 0..23 and weekdays 0..6 at any time.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc -It/fuzz \
 *       -o build/fuzz/fuzz_reqctx t/fuzz/fuzz_reqctx.c src/vpt_*.c \
 *       -lpcre2-8 -ljansson -lcrypto -lm
 *   build/fuzz/fuzz_reqctx -dict=t/fuzz/reqctx.dict t/fuzz/corpus/reqctx
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_reqctx.h"
#include "fuzz_check.h"


#define NFIELDS  3


static vpt_ref_hosts_t  *builtin;


static char *
copy_case(const char *s, size_t len, int how)
{
    char    *c;
    size_t   i;

    c = fuzz_malloc(len);

    for (i = 0; i < len; i++) {
        c[i] = s[i];

        if (how > 0 && c[i] >= 'a' && c[i] <= 'z') {
            c[i] = (char) (c[i] - 32);

        } else if (how < 0 && c[i] >= 'A' && c[i] <= 'Z') {
            c[i] = (char) (c[i] + 32);
        }
    }

    return c;
}


static void
check_device(const char *ua, size_t len)
{
    int           how;
    char         *c;
    vpt_device_e  d, d2;

    c = copy_case(ua, len, 0);
    d = vpt_reqctx_device(c, len);
    CHECK(d > VPT_DEVICE_UNKNOWN && d < VPT_DEVICE_N);
    CHECK(vpt_reqctx_device(c, len) == d);
    /* what was kept is what a scan says */
    CHECK(vpt_reqctx_device_scan(c, len) == d);
    CHECK(vpt_device_name(d) != NULL);

    if (len > VPT_REQCTX_UA_MAX) {
        CHECK(vpt_reqctx_device(c, VPT_REQCTX_UA_MAX) == d);
    }

    free(c);

    for (how = -1; how <= 1; how += 2) {
        c = copy_case(ua, len, how);
        d2 = vpt_reqctx_device(c, len);
        free(c);
        CHECK(d2 == d);
    }
}


static void
check_referrer(const char *ref, size_t len, const char *self, size_t slen)
{
    int             how;
    char           *c, *s;
    vpt_referrer_e  r, r2;

    c = copy_case(ref, len, 0);
    s = copy_case(self, slen, 0);

    r = vpt_reqctx_referrer(builtin, c, len, s, slen);
    CHECK(r > VPT_REF_UNKNOWN && r < VPT_REF_N);
    CHECK(vpt_reqctx_referrer(builtin, c, len, s, slen) == r);
    CHECK(vpt_referrer_name(r) != NULL);
    CHECK(len > 0 || r == VPT_REF_DIRECT);

    if (r == VPT_REF_DIRECT) {
        /* only whitespace, or nothing */
        CHECK(len == 0 || c[0] == ' ' || c[0] == '\t');
    }

    /* no lists: nothing but direct, internal and other */
    r2 = vpt_reqctx_referrer(NULL, c, len, s, slen);
    CHECK(r2 == VPT_REF_DIRECT || r2 == VPT_REF_INTERNAL
          || r2 == VPT_REF_OTHER);
    CHECK((r2 == VPT_REF_DIRECT) == (r == VPT_REF_DIRECT));
    CHECK((r2 == VPT_REF_INTERNAL) == (r == VPT_REF_INTERNAL));

    free(c);
    free(s);

    for (how = -1; how <= 1; how += 2) {
        c = copy_case(ref, len, how);
        s = copy_case(self, slen, how);
        r2 = vpt_reqctx_referrer(builtin, c, len, s, slen);
        free(c);
        free(s);
        CHECK(r2 == r);
    }
}


static void
check_country(const char *v, size_t len)
{
    char    *c, out[2];
    size_t   n;

    c = copy_case(v, len, 0);
    n = vpt_reqctx_country(c, len, out);
    free(c);

    CHECK(n == 0 || n == 2);
    CHECK(n == 0 || (out[0] >= 'A' && out[0] <= 'Z'
                     && out[1] >= 'A' && out[1] <= 'Z'));
    CHECK(n == 0 || len == 2);
}


static void
check_hosts(const uint8_t *data, size_t size)
{
    int               rc;
    char             *host, *url, err[VPT_ERRLEN];
    size_t            i, start, len;
    vpt_referrer_e    cls, got;
    vpt_ref_hosts_t  *h;

    h = vpt_ref_hosts_create();
    CHECK(h != NULL);

    for (start = 0; start < size; start = i + 1) {
        for (i = start; i < size && data[i] != '\n'; i++) {
            /* void */
        }

        if (i == start) {
            continue;
        }

        cls = (vpt_referrer_e) (data[start] % (VPT_REF_N + 1));
        len = i - start - 1;
        host = copy_case((const char *) data + start + 1, len, 0);

        err[0] = '\0';
        rc = vpt_ref_hosts_add(h, cls, host, len, err, sizeof(err));
        CHECK(rc == VPT_OK || (rc == VPT_ERROR && err[0] != '\0'));

        /* an exact host (no '*', no leading dot): that class */
        if (rc == VPT_OK && len > 0 && memchr(host, '*', len) == NULL
            && host[0] != '.' && host[len - 1] != '.')
        {
            url = fuzz_malloc(len + 9);
            memcpy(url, "https://", 8);
            memcpy(url + 8, host, len);
            url[len + 8] = '/';

            got = vpt_reqctx_referrer(h, url, len + 9, "", 0);
            CHECK(got == cls);
            free(url);
        }

        free(host);
    }

    vpt_ref_hosts_free(h);
}


static void
check_tz(const uint8_t *data, size_t size)
{
    int        hour, wday;
    char      *c, err[VPT_ERRLEN];
    size_t     i;
    int32_t    off;
    vpt_tz_t  *tz;

    static const int64_t  times[] = {
        INT64_MIN / 2, -2147483648LL, -1, 0, 1, 1767225600LL,
        2147483647LL, 4102444800LL, 7258118400LL, INT64_MAX / 2
    };

    c = copy_case((const char *) data, size, 0);
    tz = vpt_tz_parse(c, size, err, sizeof(err));
    free(c);

    if (tz == NULL) {
        CHECK(err[0] != '\0');
        return;
    }

    for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        off = vpt_tz_offset(tz, times[i]);
        CHECK(off >= -26 * 3600 && off <= 26 * 3600);

        vpt_tz_local(tz, times[i], &hour, &wday);
        CHECK(hour >= 0 && hour <= 23 && wday >= 0 && wday <= 6);
    }

    vpt_tz_free(tz);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       i, start, n;
    const char  *f[NFIELDS];
    size_t       flen[NFIELDS];

    if (builtin == NULL) {
        builtin = vpt_ref_hosts_create();
        CHECK(builtin != NULL);
    }

    if (size == 0) {
        return 0;
    }

    switch (data[0] % 3) {

    case 0:
        memset(flen, 0, sizeof(flen));
        n = 0;
        start = 1;

        for (i = 1; i < size && n < NFIELDS - 1; i++) {
            if (data[i] == '\n') {
                f[n] = (const char *) data + start;
                flen[n++] = i - start;
                start = i + 1;
            }
        }

        f[n] = (const char *) data + start;
        flen[n++] = size - start;

        for (i = n; i < NFIELDS; i++) {
            f[i] = "";
        }

        check_device(f[0], flen[0]);
        check_referrer(f[1], flen[1], f[2], flen[2]);
        check_country(f[2], flen[2]);
        break;

    case 1:
        check_hosts(data + 1, size - 1);
        break;

    default:
        check_tz(data + 1, size - 1);
        break;
    }

    return 0;
}
