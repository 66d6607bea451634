/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Decision ids from the kernel's CSPRNG, through a small pool: see
 * vpt_random.h.  A drawn byte is wiped from the pool, so nothing read
 * from this process's memory later tells a past id.
 */

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <unistd.h>

#include "vpt_random.h"


static unsigned char  vpt_random_pool[VPT_RANDOM_POOL];
static size_t         vpt_random_left;
static int            vpt_random_atfork;


static int vpt_random_fill(void);
static void vpt_random_forked(void);


int
vpt_random_bytes(void *buf, size_t n)
{
    size_t          k, off;
    unsigned char  *p;

    p = buf;

    while (n > 0) {
        if (vpt_random_left == 0 && vpt_random_fill() != VPT_OK) {
            return VPT_ERROR;
        }

        k = (n < vpt_random_left) ? n : vpt_random_left;
        off = VPT_RANDOM_POOL - vpt_random_left;

        memcpy(p, vpt_random_pool + off, k);
        memset(vpt_random_pool + off, 0, k);

        vpt_random_left -= k;
        p += k;
        n -= k;
    }

    return VPT_OK;
}


int
vpt_random_hex(char *out, size_t len)
{
    size_t             i;
    unsigned char      b[64];
    static const char  hex[] = "0123456789abcdef";

    if (len % 2 || len / 2 > sizeof(b)) {
        return VPT_ERROR;
    }

    if (vpt_random_bytes(b, len / 2) != VPT_OK) {
        return VPT_ERROR;
    }

    for (i = 0; i < len / 2; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 0x0f];
    }

    memset(b, 0, sizeof(b));

    return VPT_OK;
}


static int
vpt_random_fill(void)
{
    size_t   got;
    ssize_t  n;

    got = 0;

    while (got < VPT_RANDOM_POOL) {
        n = getrandom(vpt_random_pool + got, VPT_RANDOM_POOL - got, 0);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            return VPT_ERROR;
        }

        got += (size_t) n;
    }

    /*
     * a fork copies the pool: the child must not reuse the parent's
     * bytes.  An atfork handler, not a getpid() per draw (a system call,
     * about 200 ns); glibc forgets the handler when a module that
     * registered it is unloaded (dlclose at an nginx reload).
     */
    if (!vpt_random_atfork) {
        if (pthread_atfork(NULL, NULL, vpt_random_forked) != 0) {
            return VPT_ERROR;
        }

        vpt_random_atfork = 1;
    }

    vpt_random_left = VPT_RANDOM_POOL;

    return VPT_OK;
}


static void
vpt_random_forked(void)
{
    memset(vpt_random_pool, 0, sizeof(vpt_random_pool));
    vpt_random_left = 0;
}
