/*
 * Copyright (C) ngx_vpt_module authors
 *
 * TZif files and POSIX TZ rules into one table of offsets: see vpt_tz.h.
 * Everything read from the file is checked before it is used: counts
 * against the file's length, type indexes against the type count, offsets
 * against +-26 hours, transitions for order.
 *
 * Past 800 lines on purpose: the TZif reader and the POSIX rule that
 * extends its table are one format, checked in one place.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpt_tz.h"


#define VPT_TZ_OFF_MAX    (26 * 3600)
#define VPT_TZ_TYPES_MAX  256


struct vpt_tz_s {
    int64_t   *at;          /* transitions, ascending */
    int32_t   *off;         /* off[i]: the offset from at[i] on */
    size_t     n;
    int32_t    before;      /* the offset before at[0] */
};


typedef struct {
    int        kind;        /* 'M', 'J' or 'n' (zero-based day) */
    int        month, week, day;
    int32_t    secs;        /* local time of day the change happens */
} vpt_tz_date_t;


typedef struct {
    int32_t        std, dst;      /* offsets east of UTC */
    int            has_dst;
    vpt_tz_date_t  start, end;
} vpt_tz_rule_t;


typedef struct {
    const unsigned char  *p;
    size_t                left;
} vpt_tz_in_t;


static int vpt_tz_name_ok(const char *name);
static int vpt_tz_read(const char *path, unsigned char **data, size_t *len,
    char *err, size_t errlen);
static int vpt_tz_push(vpt_tz_t *tz, size_t *cap, int64_t at, int32_t off);
static int vpt_tz_footer(vpt_tz_t *tz, size_t *cap, const char *s,
    size_t len);
static int vpt_tz_rule_parse(const char *s, size_t len, vpt_tz_rule_t *r);
static const char *vpt_tz_name_skip(const char *p, const char *end);
static const char *vpt_tz_secs(const char *p, const char *end, int32_t *secs,
    int32_t max_hours);
static const char *vpt_tz_date(const char *p, const char *end,
    vpt_tz_date_t *d);
static int64_t vpt_tz_when(const vpt_tz_date_t *d, int year);
static int64_t vpt_tz_days(int64_t y, int m, int d);
static int vpt_tz_leap(int64_t y);
static int vpt_tz_year_of(int64_t t);
static uint32_t vpt_tz_be32(const unsigned char *p);
static int64_t vpt_tz_be64(const unsigned char *p);


static const char  *vpt_tz_weekdays[7] = {
    "mon", "tue", "wed", "thu", "fri", "sat", "sun"
};


vpt_tz_t *
vpt_tz_load(const char *name, const char *dir, char *err, size_t errlen)
{
    char            path[4096], e[VPT_ERRLEN];
    size_t          len;
    vpt_tz_t       *tz;
    unsigned char  *data;

    if (name == NULL || name[0] == '\0') {
        snprintf(path, sizeof(path), "%s", VPT_TZ_LOCALTIME);

    } else {
        if (!vpt_tz_name_ok(name)) {
            vpt_err(err, errlen, "\"%.64s\" is not an IANA time zone "
                    "name (such as Europe/Berlin)", name);
            return NULL;
        }

        snprintf(path, sizeof(path), "%s/%s", dir ? dir : VPT_TZ_DIR, name);
    }

    if (vpt_tz_read(path, &data, &len, err, errlen) != VPT_OK) {
        return NULL;
    }

    tz = vpt_tz_parse(data, len, e, sizeof(e));
    free(data);

    if (tz == NULL) {
        vpt_err(err, errlen, "%s: %s", path, e);
    }

    return tz;
}


vpt_tz_t *
vpt_tz_parse(const void *data, size_t len, char *err, size_t errlen)
{
    int                   v2;
    size_t                i, cap, timecnt, typecnt, charcnt, leapcnt,
                          isstdcnt, isutcnt, tsize, body, end;
    int32_t               offs[VPT_TZ_TYPES_MAX], off;
    int64_t               at, prev;
    vpt_tz_t             *tz;
    const unsigned char  *p, *times, *idx, *types, *nl;

    p = data;

    if (len < 44 || memcmp(p, "TZif", 4) != 0) {
        vpt_err(err, errlen, "not a TZif file");
        return NULL;
    }

    v2 = (p[4] >= '2');
    tsize = 4;

    for ( ;; ) {
        isutcnt = vpt_tz_be32(p + 20);
        isstdcnt = vpt_tz_be32(p + 24);
        leapcnt = vpt_tz_be32(p + 28);
        timecnt = vpt_tz_be32(p + 32);
        typecnt = vpt_tz_be32(p + 36);
        charcnt = vpt_tz_be32(p + 40);

        if (timecnt > len || typecnt > VPT_TZ_TYPES_MAX || charcnt > len
            || leapcnt > len || isstdcnt > len || isutcnt > len)
        {
            vpt_err(err, errlen, "counts beyond the file's end");
            return NULL;
        }

        body = timecnt * (tsize + 1) + typecnt * 6 + charcnt
               + leapcnt * (tsize + 4) + isstdcnt + isutcnt;

        if (body > len - 44) {
            vpt_err(err, errlen, "truncated");
            return NULL;
        }

        if (!v2 || tsize == 8) {
            break;
        }

        /* skip the 32-bit block: the 64-bit one follows with its header */
        len -= 44 + body;
        p += 44 + body;

        if (len < 44 || memcmp(p, "TZif", 4) != 0) {
            vpt_err(err, errlen, "no second header");
            return NULL;
        }

        tsize = 8;
    }

    if (leapcnt) {
        vpt_err(err, errlen, "leap seconds (a \"right/\" zone?) are not "
                "supported");
        return NULL;
    }

    if (typecnt == 0 || (isstdcnt && isstdcnt != typecnt)
        || (isutcnt && isutcnt != typecnt))
    {
        vpt_err(err, errlen, "inconsistent counts");
        return NULL;
    }

    times = p + 44;
    idx = times + timecnt * tsize;
    types = idx + timecnt;

    for (i = 0; i < typecnt; i++) {
        off = (int32_t) vpt_tz_be32(types + 6 * i);

        if (off < -VPT_TZ_OFF_MAX || off > VPT_TZ_OFF_MAX) {
            vpt_err(err, errlen, "an offset beyond 26 hours");
            return NULL;
        }

        offs[i] = off;
    }

    tz = calloc(1, sizeof(vpt_tz_t));
    if (tz == NULL) {
        vpt_err(err, errlen, "out of memory");
        return NULL;
    }

    /* RFC 8536: before the first transition, the first type */
    tz->before = offs[0];
    cap = 0;
    prev = INT64_MIN;

    for (i = 0; i < timecnt; i++) {
        at = (tsize == 8) ? vpt_tz_be64(times + 8 * i)
                          : (int32_t) vpt_tz_be32(times + 4 * i);

        if (idx[i] >= typecnt || at <= prev) {
            vpt_tz_free(tz);
            vpt_err(err, errlen, "a transition out of order or of no "
                    "type");
            return NULL;
        }

        if (vpt_tz_push(tz, &cap, at, offs[idx[i]]) != VPT_OK) {
            vpt_tz_free(tz);
            vpt_err(err, errlen, "out of memory");
            return NULL;
        }

        prev = at;
    }

    if (!v2) {
        return tz;
    }

    /* the footer: "\n" TZ-string "\n" after the 64-bit block */
    end = 44 + timecnt * 9 + typecnt * 6 + charcnt + isstdcnt + isutcnt;

    if (end < len && p[end] == '\n') {
        nl = memchr(p + end + 1, '\n', len - end - 1);

        if (nl == NULL
            || vpt_tz_footer(tz, &cap, (const char *) p + end + 1,
                             (size_t) (nl - (p + end + 1))) != VPT_OK)
        {
            vpt_tz_free(tz);
            vpt_err(err, errlen, "the footer is not a POSIX TZ rule");
            return NULL;
        }
    }

    return tz;
}


vpt_tz_t *
vpt_tz_utc(void)
{
    return calloc(1, sizeof(vpt_tz_t));
}


void
vpt_tz_free(vpt_tz_t *tz)
{
    if (tz == NULL) {
        return;
    }

    free(tz->at);
    free(tz->off);
    free(tz);
}


int32_t
vpt_tz_offset(const vpt_tz_t *tz, int64_t t)
{
    size_t  lo, hi, mid;

    if (tz->n == 0 || t < tz->at[0]) {
        return tz->before;
    }

    /* the last transition at or before t */
    lo = 0;
    hi = tz->n;

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (tz->at[mid] <= t) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return tz->off[lo];
}


void
vpt_tz_local(const vpt_tz_t *tz, int64_t t, int *hour, int *weekday)
{
    int64_t  local, days, secs;

    local = t + vpt_tz_offset(tz, t);

    /* floor division: times before 1970 too */
    days = local / 86400;
    secs = local % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }

    *hour = (int) (secs / 3600);

    /* 1970-01-01 was a Thursday: 3 with Monday 0 */
    *weekday = (int) (((days + 3) % 7 + 7) % 7);
}


const char *
vpt_tz_weekday_name(int weekday)
{
    return (weekday >= 0 && weekday < 7) ? vpt_tz_weekdays[weekday] : NULL;
}


static int
vpt_tz_name_ok(const char *name)
{
    size_t       n, comp;
    const char  *p;

    n = strlen(name);

    if (n == 0 || n > 255 || name[0] == '/') {
        return 0;
    }

    comp = 0;

    for (p = name; *p; p++) {
        if (*p == '/') {
            if (comp == 0) {
                return 0;
            }

            comp = 0;
            continue;
        }

        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '+'
              || *p == '-' || *p == '.'))
        {
            return 0;
        }

        /* "..": a component of dots only would leave the directory */
        if (*p == '.' && (comp == 0 || p[-1] == '.')) {
            return 0;
        }

        comp++;
    }

    return comp > 0;
}


static int
vpt_tz_read(const char *path, unsigned char **data, size_t *len, char *err,
    size_t errlen)
{
    int             fd;
    size_t          got;
    ssize_t         n;
    struct stat     st;
    unsigned char  *buf;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        vpt_err(err, errlen, "%s: %s", path, strerror(errno));
        return VPT_ERROR;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)
        || st.st_size > VPT_TZ_FILE_MAX)
    {
        close(fd);
        vpt_err(err, errlen, "%s: not a time zone file", path);
        return VPT_ERROR;
    }

    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        vpt_err(err, errlen, "%s: out of memory", path);
        return VPT_ERROR;
    }

    got = 0;

    while (got < (size_t) st.st_size) {
        n = read(fd, buf + got, (size_t) st.st_size - got);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            vpt_err(err, errlen, "%s: %s", path,
                    n ? strerror(errno) : "shorter than its size");
            close(fd);
            free(buf);
            return VPT_ERROR;
        }

        got += (size_t) n;
    }

    close(fd);

    *data = buf;
    *len = got;

    return VPT_OK;
}


static int
vpt_tz_push(vpt_tz_t *tz, size_t *cap, int64_t at, int32_t off)
{
    size_t    ncap;
    int32_t  *o;
    int64_t  *a;

    if (tz->n == *cap) {
        ncap = *cap ? 2 * *cap : 64;

        a = realloc(tz->at, ncap * sizeof(int64_t));
        if (a == NULL) {
            return VPT_ERROR;
        }

        tz->at = a;

        o = realloc(tz->off, ncap * sizeof(int32_t));
        if (o == NULL) {
            return VPT_ERROR;
        }

        tz->off = o;
        *cap = ncap;
    }

    tz->at[tz->n] = at;
    tz->off[tz->n] = off;
    tz->n++;

    return VPT_OK;
}


/* the rule's transitions after the file's last, up to VPT_TZ_LAST_YEAR */

static int
vpt_tz_footer(vpt_tz_t *tz, size_t *cap, const char *s, size_t len)
{
    int            year, first, swap;
    int64_t        last, on, off, a[2];
    int32_t        o[2];
    vpt_tz_rule_t  r;

    if (len == 0) {
        /* no rule: the last transition's offset holds */
        return VPT_OK;
    }

    if (vpt_tz_rule_parse(s, len, &r) != VPT_OK) {
        return VPT_ERROR;
    }

    last = tz->n ? tz->at[tz->n - 1] : INT64_MIN;

    if (!r.has_dst) {
        if (tz->n == 0) {
            tz->before = r.std;

        } else if (tz->off[tz->n - 1] != r.std) {
            return vpt_tz_push(tz, cap, last + 1, r.std);
        }

        return VPT_OK;
    }

    first = tz->n ? vpt_tz_year_of(last) : 1970;

    for (year = first; year <= VPT_TZ_LAST_YEAR; year++) {

        /* both are in local time: the start in standard, the end in DST */
        on = vpt_tz_when(&r.start, year) - r.std;
        off = vpt_tz_when(&r.end, year) - r.dst;

        /* southern hemisphere: DST ends before it starts in a year */
        swap = (off < on);
        a[0] = swap ? off : on;
        o[0] = swap ? r.std : r.dst;
        a[1] = swap ? on : off;
        o[1] = swap ? r.dst : r.std;

        if (a[0] > last) {
            if (tz->n == 0 && year == first) {
                tz->before = o[1];
            }

            if (vpt_tz_push(tz, cap, a[0], o[0]) != VPT_OK) {
                return VPT_ERROR;
            }

            last = a[0];
        }

        if (a[1] > last) {
            if (vpt_tz_push(tz, cap, a[1], o[1]) != VPT_OK) {
                return VPT_ERROR;
            }

            last = a[1];
        }
    }

    return VPT_OK;
}


/*
 * std offset [dst [offset] [,start[/time],end[/time]]], offsets "[+-]h
 * [:mm[:ss]]" west of UTC (POSIX's sign), names alphabetic or <quoted>.
 * A DST without a rule is refused: POSIX leaves it to the implementation
 * and zic never writes one.
 */

static int
vpt_tz_rule_parse(const char *s, size_t len, vpt_tz_rule_t *r)
{
    int32_t      secs;
    const char  *p, *end;

    memset(r, 0, sizeof(vpt_tz_rule_t));
    p = s;
    end = s + len;

    p = vpt_tz_name_skip(p, end);
    if (p == NULL) {
        return VPT_ERROR;
    }

    p = vpt_tz_secs(p, end, &secs, 24);
    if (p == NULL) {
        return VPT_ERROR;
    }

    r->std = -secs;

    if (p == end) {
        return VPT_OK;
    }

    p = vpt_tz_name_skip(p, end);
    if (p == NULL) {
        return VPT_ERROR;
    }

    r->has_dst = 1;
    r->dst = r->std + 3600;

    if (p < end && *p != ',') {
        p = vpt_tz_secs(p, end, &secs, 24);
        if (p == NULL) {
            return VPT_ERROR;
        }

        r->dst = -secs;
    }

    if (p == end || *p != ',') {
        return VPT_ERROR;
    }

    p = vpt_tz_date(p + 1, end, &r->start);
    if (p == NULL || p == end || *p != ',') {
        return VPT_ERROR;
    }

    p = vpt_tz_date(p + 1, end, &r->end);
    if (p != end) {
        return VPT_ERROR;
    }

    return VPT_OK;
}


static const char *
vpt_tz_name_skip(const char *p, const char *end)
{
    const char  *start;

    if (p < end && *p == '<') {
        for (start = ++p; p < end && *p != '>'; p++) {
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
                  || (*p >= '0' && *p <= '9') || *p == '+' || *p == '-'))
            {
                return NULL;
            }
        }

        return (p < end && p - start >= 3) ? p + 1 : NULL;
    }

    for (start = p; p < end && ((*p >= 'A' && *p <= 'Z')
                                || (*p >= 'a' && *p <= 'z')); p++)
    {
        /* void */
    }

    return (p - start >= 3) ? p : NULL;
}


/* [+-]hh[:mm[:ss]], hours up to max_hours (167 for a rule's time) */

static const char *
vpt_tz_secs(const char *p, const char *end, int32_t *secs, int32_t max_hours)
{
    int      sign, part, digits;
    int32_t  v[3];

    sign = 1;

    if (p < end && (*p == '+' || *p == '-')) {
        sign = (*p == '-') ? -1 : 1;
        p++;
    }

    v[0] = v[1] = v[2] = 0;

    for (part = 0; part < 3; part++) {
        if (part > 0) {
            if (p >= end || *p != ':') {
                break;
            }

            p++;
        }

        for (digits = 0; p < end && *p >= '0' && *p <= '9' && digits < 3;
             digits++, p++)
        {
            v[part] = v[part] * 10 + (*p - '0');
        }

        if (digits == 0 || (part > 0 && (digits != 2 || v[part] > 59))) {
            return NULL;
        }
    }

    if (v[0] > max_hours) {
        return NULL;
    }

    *secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);

    return p;
}


/* Mm.w.d, Jn or n, then an optional "/time" (default 02:00:00) */

static const char *
vpt_tz_date(const char *p, const char *end, vpt_tz_date_t *d)
{
    int  v[3], i, max[3];

    memset(d, 0, sizeof(vpt_tz_date_t));
    d->secs = 7200;

    if (p < end && *p == 'M') {
        d->kind = 'M';
        p++;
        max[0] = 12;
        max[1] = 5;
        max[2] = 6;

        for (i = 0; i < 3; i++) {
            if (i > 0) {
                if (p >= end || *p != '.') {
                    return NULL;
                }

                p++;
            }

            if (p >= end || *p < '0' || *p > '9') {
                return NULL;
            }

            v[i] = 0;

            while (p < end && *p >= '0' && *p <= '9' && v[i] <= 12) {
                v[i] = v[i] * 10 + (*p++ - '0');
            }

            if (v[i] > max[i] || (i < 2 && v[i] < 1)) {
                return NULL;
            }
        }

        d->month = v[0];
        d->week = v[1];
        d->day = v[2];

    } else {
        d->kind = 'n';

        if (p < end && *p == 'J') {
            d->kind = 'J';
            p++;
        }

        if (p >= end || *p < '0' || *p > '9') {
            return NULL;
        }

        v[0] = 0;

        while (p < end && *p >= '0' && *p <= '9' && v[0] <= 365) {
            v[0] = v[0] * 10 + (*p++ - '0');
        }

        if (v[0] > 365 || (d->kind == 'J' && v[0] < 1)) {
            return NULL;
        }

        d->day = v[0];
    }

    if (p < end && *p == '/') {
        p = vpt_tz_secs(p + 1, end, &d->secs, 167);
    }

    return p;
}


/* the rule's date in year, at its local time, as seconds since 1970 */

static int64_t
vpt_tz_when(const vpt_tz_date_t *d, int year)
{
    int      mdays, first;
    int64_t  days;

    static const int  month_days[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    switch (d->kind) {

    case 'M':
        days = vpt_tz_days(year, d->month, 1);

        /* the first of the month's weekday, Sunday 0 */
        first = (int) (((days + 4) % 7 + 7) % 7);
        days += (d->day - first + 7) % 7 + 7 * (d->week - 1);

        mdays = month_days[d->month - 1]
                + (d->month == 2 && vpt_tz_leap(year));

        /* week 5: the last such day, which may be in week 4 */
        while (days >= vpt_tz_days(year, d->month, 1) + mdays) {
            days -= 7;
        }

        break;

    case 'J':
        /* 1..365, February 29 never counted */
        days = vpt_tz_days(year, 1, 1) + d->day - 1
               + (vpt_tz_leap(year) && d->day >= 60);
        break;

    default:
        days = vpt_tz_days(year, 1, 1) + d->day;
        break;
    }

    return days * 86400 + d->secs;
}


/* days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar */

static int64_t
vpt_tz_days(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static int
vpt_tz_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


/* the UTC year of t, clamped to what the rule expansion covers */

static int
vpt_tz_year_of(int64_t t)
{
    int64_t  y;

    if (t < vpt_tz_days(1800, 1, 1) * 86400) {
        return 1800;
    }

    if (t >= vpt_tz_days(VPT_TZ_LAST_YEAR, 1, 1) * 86400) {
        return VPT_TZ_LAST_YEAR;
    }

    y = 1970 + t / (365 * 86400 + 21600);

    while (vpt_tz_days(y, 1, 1) * 86400 > t) {
        y--;
    }

    while (vpt_tz_days(y + 1, 1, 1) * 86400 <= t) {
        y++;
    }

    return (int) y;
}


static uint32_t
vpt_tz_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static int64_t
vpt_tz_be64(const unsigned char *p)
{
    return (int64_t) ((uint64_t) vpt_tz_be32(p) << 32 | vpt_tz_be32(p + 4));
}
