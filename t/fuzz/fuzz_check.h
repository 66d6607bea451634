/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What the fuzz targets share: a check that names the broken invariant
 * before it aborts (libFuzzer then saves the input as a crash), and a
 * malloc that never returns NULL.
 */

#ifndef VPT_FUZZ_CHECK_H
#define VPT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: invariant broken: %s\n",                 \
                    __FILE__, __LINE__, #cond);                              \
            abort();                                                         \
        }                                                                    \
    } while (0)


static inline void *
fuzz_malloc(size_t n)
{
    void  *p;

    p = malloc(n ? n : 1);
    if (p == NULL) {
        abort();
    }

    return p;
}


#endif /* VPT_FUZZ_CHECK_H */
