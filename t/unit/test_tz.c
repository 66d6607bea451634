/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Local hour and weekday in IANA zones: against the C library's own
 * reading of the same files (setenv("TZ") and localtime_r(), fine in a
 * test, not in a worker) over a century of times in zones with DST in
 * either hemisphere, half-hour and 45-minute offsets, negative DST and
 * changed rules; at DST boundaries; beyond the files' last transition
 * (the footer's rule); from "slim" and version 1 files made here; and
 * the names and files that are refused.
 */

#include <stdlib.h>
#include <time.h>

#include "vpt_test.h"
#include "vpt_tz.h"


static const char  *zones[] = {
    "UTC", "Europe/Berlin", "Europe/London", "Europe/Dublin",
    "America/New_York", "America/Sao_Paulo", "America/St_Johns",
    "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata",
    "Asia/Tehran", "Pacific/Chatham", "Pacific/Apia", "Africa/Casablanca",
    "America/Santiago", "Asia/Tokyo"
};


static uint64_t  rng = 42;


static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;

    return (int64_t) timegm(&tm);
}


static void
libc_local(const char *zone, int64_t t, int *hour, int *wday)
{
    char       tz[128];
    time_t     tt;
    struct tm  tm;

    snprintf(tz, sizeof(tz), ":%s", zone);
    setenv("TZ", tz, 1);
    tzset();

    tt = (time_t) t;
    localtime_r(&tt, &tm);

    *hour = tm.tm_hour;
    *wday = (tm.tm_wday + 6) % 7;
}


VPT_TEST(a_century_of_times_agrees_with_the_c_library)
{
    int        h, w, lh, lw, bad;
    char       err[VPT_ERRLEN];
    size_t     z, i;
    int64_t    t, lo, hi;
    vpt_tz_t  *tz;

    lo = utc(1975, 1, 1, 0, 0, 0);
    hi = utc(2100, 1, 1, 0, 0, 0);

    for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        tz = vpt_tz_load(zones[z], NULL, err, sizeof(err));
        VPT_CHECK_MSG(tz != NULL, "%s", err);

        if (tz == NULL) {
            continue;
        }

        bad = 0;

        for (i = 0; i < 3000 && bad < 3; i++) {
            t = lo + (int64_t) (vpt_rand_next(&rng) % (uint64_t) (hi - lo));

            vpt_tz_local(tz, t, &h, &w);
            libc_local(zones[z], t, &lh, &lw);

            if (h != lh || w != lw) {
                printf("#   %s at %lld: %d/%d, libc %d/%d\n", zones[z],
                       (long long) t, h, w, lh, lw);
                bad++;
            }
        }

        VPT_CHECK_MSG(bad == 0, "%s", zones[z]);
        vpt_tz_free(tz);
    }

    unsetenv("TZ");
    tzset();
}


VPT_TEST(dst_boundaries_to_the_second)
{
    int        h, w;
    char       err[VPT_ERRLEN];
    vpt_tz_t  *tz;

    tz = vpt_tz_load("Europe/Berlin", NULL, err, sizeof(err));
    VPT_CHECK_MSG(tz != NULL, "%s", err);

    /* 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST */
    vpt_tz_local(tz, utc(2026, 3, 29, 0, 59, 59), &h, &w);
    VPT_CHECK(h == 1 && w == 6);
    vpt_tz_local(tz, utc(2026, 3, 29, 1, 0, 0), &h, &w);
    VPT_CHECK(h == 3 && w == 6);
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 7, 1, 0, 0, 0)) == 7200);
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 12, 1, 0, 0, 0)) == 3600);

    /* far past the file's last transition (2037): the footer's rule */
    VPT_CHECK(vpt_tz_offset(tz, utc(2150, 7, 1, 0, 0, 0)) == 7200);
    VPT_CHECK(vpt_tz_offset(tz, utc(2150, 1, 1, 0, 0, 0)) == 3600);

    /* beyond VPT_TZ_LAST_YEAR: the last offset holds */
    (void) vpt_tz_offset(tz, utc(2999, 7, 1, 0, 0, 0));
    vpt_tz_free(tz);

    tz = vpt_tz_load("America/New_York", NULL, err, sizeof(err));
    VPT_CHECK_MSG(tz != NULL, "%s", err);

    /* 2026-11-01 06:00 UTC: 02:00 EDT falls back to 01:00 EST */
    vpt_tz_local(tz, utc(2026, 11, 1, 5, 59, 59), &h, &w);
    VPT_CHECK(h == 1 && w == 6);
    vpt_tz_local(tz, utc(2026, 11, 1, 6, 0, 0), &h, &w);
    VPT_CHECK(h == 1 && w == 6);
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 11, 1, 6, 0, 0)) == -5 * 3600);

    /* Saturday evening in New York is Sunday in UTC */
    vpt_tz_local(tz, utc(2026, 12, 6, 2, 0, 0), &h, &w);
    VPT_CHECK(h == 21 && w == 5);
    vpt_tz_free(tz);

    tz = vpt_tz_load("Asia/Kolkata", NULL, err, sizeof(err));
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 1, 1, 0, 0, 0)) == 19800);
    vpt_tz_free(tz);
}


VPT_TEST(weekday_names_monday_first)
{
    VPT_CHECK(strcmp(vpt_tz_weekday_name(0), "mon") == 0);
    VPT_CHECK(strcmp(vpt_tz_weekday_name(3), "thu") == 0);
    VPT_CHECK(strcmp(vpt_tz_weekday_name(6), "sun") == 0);
    VPT_CHECK(vpt_tz_weekday_name(7) == NULL);
    VPT_CHECK(vpt_tz_weekday_name(-1) == NULL);
}


VPT_TEST(utc_and_the_servers_zone)
{
    int        h, w;
    char       err[VPT_ERRLEN];
    vpt_tz_t  *tz;

    tz = vpt_tz_utc();
    vpt_tz_local(tz, 0, &h, &w);
    VPT_CHECK(h == 0 && w == 3);
    vpt_tz_local(tz, -1, &h, &w);
    VPT_CHECK(h == 23 && w == 2);
    vpt_tz_free(tz);

    tz = vpt_tz_load(NULL, NULL, err, sizeof(err));
    VPT_CHECK_MSG(tz != NULL, "%s", err);
    vpt_tz_free(tz);

    tz = vpt_tz_load("", NULL, err, sizeof(err));
    VPT_CHECK_MSG(tz != NULL, "%s", err);
    vpt_tz_free(tz);
}


VPT_TEST(names_that_are_not_iana_names_are_refused)
{
    size_t              i;
    char                err[VPT_ERRLEN];
    vpt_tz_t           *tz;
    static const char  *bad[] = {
        "../../etc/passwd", "/etc/localtime", "Europe//Berlin", "Europe/",
        "Europe/../Berlin", ".hidden", "Europe/Ber lin", "Europe/Berlin\n"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tz = vpt_tz_load(bad[i], NULL, err, sizeof(err));
        VPT_CHECK_MSG(tz == NULL, "%s", bad[i]);
        VPT_CHECK_MSG(strstr(err, "is not an IANA time zone name") != NULL,
                      "%s", err);
        vpt_tz_free(tz);
    }

    tz = vpt_tz_load("Nowhere/City", NULL, err, sizeof(err));
    VPT_CHECK(tz == NULL);
    VPT_CHECK_STR(err, strlen(err),
                  "/usr/share/zoneinfo/Nowhere/City: No such file or "
                  "directory");

    /* a directory of zones, and a file that is no zone */
    tz = vpt_tz_load("Europe", NULL, err, sizeof(err));
    VPT_CHECK(tz == NULL && strstr(err, "not a time zone file") != NULL);

    tz = vpt_tz_load("zone1970.tab", NULL, err, sizeof(err));
    VPT_CHECK_MSG(tz == NULL && strstr(err, "not a TZif file") != NULL,
                  "%s", err);
}


/* a TZif file: a header (version v, counts), then body bytes */
static size_t
tzif(unsigned char *out, char v, uint32_t timecnt, uint32_t typecnt,
    uint32_t charcnt, const void *body, size_t blen)
{
    size_t    i;
    uint32_t  c[6];

    memset(out, 0, 44);
    memcpy(out, "TZif", 4);
    out[4] = (unsigned char) v;

    c[0] = 0;
    c[1] = 0;
    c[2] = 0;
    c[3] = timecnt;
    c[4] = typecnt;
    c[5] = charcnt;

    for (i = 0; i < 6; i++) {
        out[20 + 4 * i] = (unsigned char) (c[i] >> 24);
        out[21 + 4 * i] = (unsigned char) (c[i] >> 16);
        out[22 + 4 * i] = (unsigned char) (c[i] >> 8);
        out[23 + 4 * i] = (unsigned char) c[i];
    }

    memcpy(out + 44, body, blen);

    return 44 + blen;
}


VPT_TEST(a_slim_file_lives_on_its_footer_rule)
{
    int                   h, w;
    char                  err[VPT_ERRLEN];
    size_t                n;
    vpt_tz_t             *tz;
    unsigned char         file[512];
    /* one type, CET +3600, no transitions: everything is in the rule */
    static const char     v1[] = "\0\0\x0e\x10\0\0CET\0";
    static const char     footer[] = "\nCET-1CEST,M3.5.0,M10.5.0/3\n";
    static const char     south[] = "\nAEST-10AEDT,M10.1.0,M4.1.0/3\n";

    n = tzif(file, '2', 0, 1, 4, v1, 10);
    n += tzif(file + n, '2', 0, 1, 4, v1, 10);
    memcpy(file + n, footer, sizeof(footer) - 1);
    n += sizeof(footer) - 1;

    tz = vpt_tz_parse(file, n, err, sizeof(err));
    VPT_CHECK_MSG(tz != NULL, "%s", err);

    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 7, 1, 0, 0, 0)) == 7200);
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 1, 1, 0, 0, 0)) == 3600);
    vpt_tz_local(tz, utc(2026, 3, 29, 1, 0, 0), &h, &w);
    VPT_CHECK(h == 3);
    vpt_tz_local(tz, utc(2026, 10, 25, 0, 59, 59), &h, &w);
    VPT_CHECK(h == 2);
    vpt_tz_local(tz, utc(2026, 10, 25, 1, 0, 0), &h, &w);
    VPT_CHECK(h == 2 && w == 6);
    VPT_CHECK(vpt_tz_offset(tz, utc(1980, 1, 1, 0, 0, 0)) == 3600);
    vpt_tz_free(tz);

    /* the southern hemisphere: DST across the new year */
    n = tzif(file, '3', 0, 1, 4, v1, 10);
    n += tzif(file + n, '3', 0, 1, 4, v1, 10);
    memcpy(file + n, south, sizeof(south) - 1);
    n += sizeof(south) - 1;

    tz = vpt_tz_parse(file, n, err, sizeof(err));
    VPT_CHECK_MSG(tz != NULL, "%s", err);
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 1, 15, 0, 0, 0)) == 11 * 3600);
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 7, 15, 0, 0, 0)) == 10 * 3600);
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 12, 15, 0, 0, 0)) == 11 * 3600);
    vpt_tz_free(tz);

    /* version 1: no footer, the one type */
    n = tzif(file, '\0', 0, 1, 4, v1, 10);
    tz = vpt_tz_parse(file, n, err, sizeof(err));
    VPT_CHECK_MSG(tz != NULL, "%s", err);
    VPT_CHECK(vpt_tz_offset(tz, utc(2026, 7, 1, 0, 0, 0)) == 3600);
    vpt_tz_free(tz);
}


VPT_TEST(bad_footers_and_truncated_files_are_refused)
{
    char             err[VPT_ERRLEN];
    size_t           n, len, i;
    FILE            *f;
    vpt_tz_t        *tz;
    unsigned char    file[512], *real, *cut;
    static const char v1[] = "\0\0\x0e\x10\0\0CET\0";
    static const char *footers[] = {
        "\nCET-1CEST\n", "\nCE-1\n", "\nCET-1CEST,M13.5.0,M10.5.0\n",
        "\nCET-1CEST,M3.5.0\n", "\nCET-1CEST,J0,J10\n",
        "\nCET-1CEST,M3.5.0,M10.5.0/168\n", "\nCET-1:5\n", "\nCET-1"
    };

    for (i = 0; i < sizeof(footers) / sizeof(footers[0]); i++) {
        n = tzif(file, '2', 0, 1, 4, v1, 10);
        n += tzif(file + n, '2', 0, 1, 4, v1, 10);
        memcpy(file + n, footers[i], strlen(footers[i]));
        n += strlen(footers[i]);

        tz = vpt_tz_parse(file, n, err, sizeof(err));
        VPT_CHECK_MSG(tz == NULL, "footer %zu", i);
        vpt_tz_free(tz);
    }

    /* a real file cut anywhere: refused, or read without harm */
    f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
    VPT_CHECK(f != NULL);
    if (f == NULL) {
        return;
    }

    real = malloc(8192);
    len = fread(real, 1, 8192, f);
    fclose(f);

    tz = vpt_tz_parse(real, len, err, sizeof(err));
    VPT_CHECK(tz != NULL);
    vpt_tz_free(tz);

    for (n = 0; n < len; n++) {
        cut = malloc(n ? n : 1);
        memcpy(cut, real, n);
        tz = vpt_tz_parse(cut, n, err, sizeof(err));

        /* only a cut inside the footer can leave a readable zone */
        VPT_CHECK_MSG(tz == NULL || n > len - 30, "cut at %zu", n);
        vpt_tz_free(tz);
        free(cut);
    }

    free(real);
}


int
main(void)
{
    VPT_RUN(a_century_of_times_agrees_with_the_c_library);
    VPT_RUN(dst_boundaries_to_the_second);
    VPT_RUN(weekday_names_monday_first);
    VPT_RUN(utc_and_the_servers_zone);
    VPT_RUN(names_that_are_not_iana_names_are_refused);
    VPT_RUN(a_slim_file_lives_on_its_footer_rule);
    VPT_RUN(bad_footers_and_truncated_files_are_refused);

    return VPT_DONE();
}
