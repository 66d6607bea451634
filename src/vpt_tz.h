/*
 * Copyright (C) ngx_vpt_module authors
 *
 * A shopper's local hour and day of the week in a configured IANA time
 * zone, without the C library's TZ machinery: setenv("TZ") and
 * localtime_r() in a worker would change the zone of nginx's own logs and
 * take a lock per call.  The zone is read once, at configuration time,
 * from its TZif file (RFC 8536, versions 1 to 4, as /usr/share/zoneinfo
 * holds them) into one sorted table of UTC offsets: the file's
 * transitions, then those its footer rule (a POSIX TZ string such as
 * "CET-1CEST,M3.5.0,M10.5.0/3") gives for every year up to
 * VPT_TZ_LAST_YEAR, so "slim" files (transitions only until the rule
 * takes over) work too.  After that year the last offset holds.  A
 * lookup is a binary search: about 10 comparisons, no allocation.
 *
 * Refused (VPT_ERROR and a reason): names that are not IANA names (empty
 * components, "..", a leading '/', bytes outside [A-Za-z0-9/_+-]), files
 * that are not TZif, truncated or inconsistent files, files with leap
 * seconds (the "right/" zones: their times are not unix times), a footer
 * that is not a POSIX TZ string.
 */

#ifndef VPT_TZ_H
#define VPT_TZ_H

#include "vpt_core.h"


#define VPT_TZ_DIR          "/usr/share/zoneinfo"
#define VPT_TZ_LOCALTIME    "/etc/localtime"
#define VPT_TZ_LAST_YEAR    2200
#define VPT_TZ_FILE_MAX     (256 * 1024)


typedef struct vpt_tz_s  vpt_tz_t;


/*
 * The zone name (NUL-terminated, e.g. "Europe/Berlin") under dir (NULL:
 * VPT_TZ_DIR); name NULL or "": the server's zone, /etc/localtime.
 * NULL on error, err saying which name or file and why.
 */
vpt_tz_t *vpt_tz_load(const char *name, const char *dir, char *err,
    size_t errlen);

/* a TZif file already read, e.g. by a fuzzer */
vpt_tz_t *vpt_tz_parse(const void *data, size_t len, char *err,
    size_t errlen);

/* UTC everywhere: what a zone that cannot be read falls back to */
vpt_tz_t *vpt_tz_utc(void);

void vpt_tz_free(vpt_tz_t *tz);

/* seconds east of UTC at unix time t */
int32_t vpt_tz_offset(const vpt_tz_t *tz, int64_t t);

/* the local hour (0..23) and weekday (0 = Monday .. 6 = Sunday) at t */
void vpt_tz_local(const vpt_tz_t *tz, int64_t t, int *hour, int *weekday);

/* "mon" .. "sun"; NULL outside 0..6 */
const char *vpt_tz_weekday_name(int weekday);


#endif /* VPT_TZ_H */
