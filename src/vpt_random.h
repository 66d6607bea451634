/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Unpredictable bytes for decision ids: getrandom(2) (the kernel's
 * CSPRNG), drawn VPT_RANDOM_POOL bytes at a time so a decision costs a
 * memcpy, not a system call.  A forked child (an nginx worker forked after
 * the master drew bytes) empties its copy of the pool (pthread_atfork), so
 * no two workers hand out the same ids.  Not thread-safe (one pool per
 * process).
 *
 * Why 64 bits (16 hex digits, today's format) and not 128: what makes an
 * accept genuine is the link's signature (vpt_sign.h), not the id being
 * hard to guess; the id only has to be unpredictable (so nobody can aim a
 * link at a decision not yet made) and unique in a log's lifetime.  At
 * 10^8 decisions the chance that any two collide is about 3 in 10^4, and
 * a collision costs one accept joined to the wrong decision (or counted
 * once instead of twice).  Keeping 16 digits keeps the beacon's grammar
 * (vpt_query.h), the logs, vpt-join and vpt-report as they are.
 * vpt_random_hex() takes any even length: 32 digits is one argument away.
 */

#ifndef VPT_RANDOM_H
#define VPT_RANDOM_H

#include "vpt_core.h"


#define VPT_RANDOM_POOL  512


/*
 * n random bytes into buf: VPT_OK, or VPT_ERROR when the kernel has no
 * getrandom(2) or it fails (nothing written then: fail open, no
 * decision).  Blocks only before the kernel's pool is first seeded (early
 * boot), never after.
 */
int vpt_random_bytes(void *buf, size_t n);

/* len lowercase hex digits (len even) into out, not NUL-terminated */
int vpt_random_hex(char *out, size_t len);


#endif /* VPT_RANDOM_H */
