/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The output a splice test reassembles from the splicer's results, shared
 * by test_splice, test_splice_set and fuzz_splice_set: a growing buffer,
 * the slice V[from, to) of a feed (V = the previous hold ++ the data, as
 * vpt_splice.h defines it) and "[k]" for set[k]'s insertion.
 */

#ifndef SPLICE_OUT_H
#define SPLICE_OUT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
} out_t;


static inline void
out_add(out_t *o, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->data = realloc(o->data, o->cap);
        if (o->data == NULL) {
            abort();
        }
    }

    memcpy(o->data + o->len, p, n);
    o->len += n;
}


/* appends V[from, to) where V = prev[0, np) ++ d[0, n) */

static inline void
out_add_v(out_t *o, const unsigned char *prev, size_t np,
    const unsigned char *d, size_t from, size_t to)
{
    size_t  e;

    if (from > to) {
        abort();
    }

    if (from < np) {
        e = to < np ? to : np;
        out_add(o, prev + from, e - from);
        from = e;
    }

    if (from < to) {
        out_add(o, d + (from - np), to - from);
    }
}


static inline void
out_mark(out_t *o, unsigned k)
{
    char  m[8];

    snprintf(m, sizeof(m), "[%u]", k);
    out_add(o, m, strlen(m));
}


#endif /* SPLICE_OUT_H */
