/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What every tool needs: errors and memory, an arena, string and integer
 * maps, bad lines and JSON output.  The rest of the shared code, one file
 * a concern: vpt_tools_opt.c (the command line: options, and loading the
 * catalog and model they name), vpt_tools_in.c (the line reader, and the
 * logs given as operands), vpt_tools_json.c (the top-level JSON scanner),
 * vpt_tools_log.c (a decision-log line, with its context's fast path),
 * vpt_tools_model.c (features, the policy's offers, model files),
 * vpt_tools_pacing.c (--pass, a paced policy's distribution),
 * vpt_tools_market.c (a simulated shop's advertisers),
 * vpt_tools_shoppers.c (vpt-simulate's shoppers) and
 * vpt_tools_stats.c (held-out split, Wilson interval, AUC).
 */

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"


void
vpt_die(int code, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);

    exit(code);
}


void *
vpt_xalloc(size_t n)
{
    void  *p;

    p = calloc(1, n ? n : 1);
    if (p == NULL) {
        vpt_die(1, "out of memory (%zu bytes)", n);
    }

    return p;
}


void *
vpt_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL) {
        vpt_die(1, "out of memory (%zu bytes)", n);
    }

    return p;
}


/* the arena */

typedef struct vpt_arena_block_s  vpt_arena_block_t;

struct vpt_arena_block_s {
    vpt_arena_block_t  *next;
    size_t              used;
    size_t              size;
    char                data[];
};

struct vpt_arena_s {
    vpt_arena_block_t  *head;
};


vpt_arena_t *
vpt_arena_create(void)
{
    return vpt_xalloc(sizeof(vpt_arena_t));
}


void *
vpt_arena_alloc(vpt_arena_t *a, size_t n)
{
    size_t              size;
    vpt_arena_block_t  *b;

    n = (n + 7) & ~(size_t) 7;
    b = a->head;

    if (b == NULL || b->size - b->used < n) {
        size = n > 64 * 1024 ? n : 64 * 1024;
        b = vpt_xalloc(sizeof(vpt_arena_block_t) + size);
        b->size = size;
        b->next = a->head;
        a->head = b;
    }

    b->used += n;

    return b->data + b->used - n;
}


char *
vpt_arena_strdup(vpt_arena_t *a, const char *p, size_t len)
{
    char  *s;

    s = vpt_arena_alloc(a, len + 1);
    memcpy(s, p, len);
    s[len] = '\0';

    return s;
}


/* the maps: open addressing, linear probing, load at most 1/2 */

void
vpt_smap_init(vpt_smap_t *m)
{
    memset(m, 0, sizeof(vpt_smap_t));
    m->arena = vpt_arena_create();
}


static void
vpt_smap_grow(vpt_smap_t *m)
{
    size_t     cap, i, j;
    uint32_t  *id;
    uint64_t  *hash;

    cap = m->cap ? m->cap * 2 : 64;
    hash = vpt_xalloc(cap * sizeof(uint64_t));
    id = vpt_xalloc(cap * sizeof(uint32_t));
    memset(id, 0xff, cap * sizeof(uint32_t));

    for (i = 0; i < m->cap; i++) {
        if (m->id[i] == UINT32_MAX) {
            continue;
        }
        for (j = m->hash[i] & (cap - 1); id[j] != UINT32_MAX;
             j = (j + 1) & (cap - 1))
        {
            /* void */
        }
        hash[j] = m->hash[i];
        id[j] = m->id[i];
    }

    free(m->hash);
    free(m->id);
    m->hash = hash;
    m->id = id;
    m->cap = cap;
}


static long
vpt_smap_lookup(vpt_smap_t *m, const char *p, size_t len, int add)
{
    size_t    j;
    uint32_t  id;
    uint64_t  h;

    if (m->cap == 0 || (add && (m->n + 1) * 2 > m->cap)) {
        if (!add) {
            return -1;
        }
        vpt_smap_grow(m);
    }

    h = vpt_hash(p, len);

    for (j = h & (m->cap - 1); m->id[j] != UINT32_MAX;
         j = (j + 1) & (m->cap - 1))
    {
        id = m->id[j];
        if (m->hash[j] == h && m->keylen[id] == len
            && memcmp(m->key[id], p, len) == 0)
        {
            return id;
        }
    }

    if (!add) {
        return -1;
    }

    if (m->n == m->keycap) {
        m->keycap = m->keycap ? m->keycap * 2 : 64;
        m->key = vpt_xrealloc(m->key, m->keycap * sizeof(char *));
        m->keylen = vpt_xrealloc(m->keylen, m->keycap * sizeof(size_t));
    }

    m->key[m->n] = vpt_arena_strdup(m->arena, p, len);
    m->keylen[m->n] = len;
    m->hash[j] = h;
    m->id[j] = (uint32_t) m->n;

    return (long) m->n++;
}


long
vpt_smap_find(vpt_smap_t *m, const char *p, size_t len)
{
    return vpt_smap_lookup(m, p, len, 0);
}


long
vpt_smap_add(vpt_smap_t *m, const char *p, size_t len)
{
    return vpt_smap_lookup(m, p, len, 1);
}


void
vpt_umap_init(vpt_umap_t *m)
{
    memset(m, 0, sizeof(vpt_umap_t));
}


static size_t
vpt_umap_slot(uint64_t key, size_t cap)
{
    /* the keys are FNV hashes already; mix once more for the low bits */
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;

    return key & (cap - 1);
}


long
vpt_umap_find(const vpt_umap_t *m, uint64_t key)
{
    size_t  j;

    if (m->cap == 0) {
        return -1;
    }

    for (j = vpt_umap_slot(key, m->cap); m->id[j] != UINT32_MAX;
         j = (j + 1) & (m->cap - 1))
    {
        if (m->key[j] == key) {
            return m->id[j];
        }
    }

    return -1;
}


long
vpt_umap_add(vpt_umap_t *m, uint64_t key, int *added)
{
    size_t     cap, i, j;
    uint32_t  *id;
    uint64_t  *keys;

    *added = 0;

    if ((m->n + 1) * 2 > m->cap) {
        cap = m->cap ? m->cap * 2 : 1024;
        keys = vpt_xalloc(cap * sizeof(uint64_t));
        id = vpt_xalloc(cap * sizeof(uint32_t));
        memset(id, 0xff, cap * sizeof(uint32_t));

        for (i = 0; i < m->cap; i++) {
            if (m->id[i] == UINT32_MAX) {
                continue;
            }
            for (j = vpt_umap_slot(m->key[i], cap); id[j] != UINT32_MAX;
                 j = (j + 1) & (cap - 1))
            {
                /* void */
            }
            keys[j] = m->key[i];
            id[j] = m->id[i];
        }

        free(m->key);
        free(m->id);
        m->key = keys;
        m->id = id;
        m->cap = cap;
    }

    for (j = vpt_umap_slot(key, m->cap); m->id[j] != UINT32_MAX;
         j = (j + 1) & (m->cap - 1))
    {
        if (m->key[j] == key) {
            return m->id[j];
        }
    }

    m->key[j] = key;
    m->id[j] = (uint32_t) m->n;
    *added = 1;

    return (long) m->n++;
}


/* bad lines */

void
vpt_bad_add(vpt_bad_t *b, const vpt_in_t *in, const char *why)
{
    if (b->count < VPT_BAD_KEEP) {
        snprintf(b->first[b->count], sizeof(b->first[0]), "%s:%lu: %s",
                 in->path, in->lineno, why);
    }

    b->count++;
}


void
vpt_bad_print(const vpt_bad_t *b, FILE *f)
{
    uint64_t  i;

    if (b->count == 0) {
        return;
    }

    fprintf(f, "bad lines: %llu (skipped)\n", (unsigned long long) b->count);

    for (i = 0; i < b->count && i < VPT_BAD_KEEP; i++) {
        fprintf(f, "  %s\n", b->first[i]);
    }

    if (b->count > VPT_BAD_KEEP) {
        fprintf(f, "  ...\n");
    }
}


void
vpt_bad_json(const vpt_bad_t *b, FILE *f)
{
    uint64_t  i;

    fprintf(f, "{\"count\": %llu, \"first\": [",
            (unsigned long long) b->count);

    for (i = 0; i < b->count && i < VPT_BAD_KEEP; i++) {
        if (i) {
            fputs(", ", f);
        }
        vpt_json_str(f, b->first[i], strlen(b->first[i]));
    }

    fputs("]}", f);
}


/* output */

/*
 * The length of the UTF-8 sequence at p (RFC 3629: no overlong form, no
 * surrogate, nothing past U+10FFFF), or 0 when it is not one
 */
static size_t
vpt_utf8_len(const unsigned char *p, size_t len)
{
    size_t    i, n;
    uint32_t  cp, min;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1f;
        min = 0x80;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        cp = p[0] & 0x0f;
        min = 0x800;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        cp = cp << 6 | (p[i] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


/* a byte that is not UTF-8 goes out as the code point it is, \u00XX */

void
vpt_json_str(FILE *f, const char *p, size_t len)
{
    size_t         i, n;
    unsigned char  c;

    putc('"', f);

    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];

        switch (c) {
        case '"':  fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20) {
                fprintf(f, "\\u%04x", c);

            } else if (c < 0x80) {
                putc(c, f);

            } else {
                n = vpt_utf8_len((const unsigned char *) p + i, len - i);

                if (n == 0) {
                    fprintf(f, "\\u%04x", c);

                } else {
                    fwrite(p + i, 1, n, f);
                    i += n - 1;
                }
            }
        }
    }

    putc('"', f);
}


void
vpt_json_num(FILE *f, double x)
{
    if (!isfinite(x)) {
        fputs("null", f);
        return;
    }

    if (x == floor(x) && fabs(x) < 1e15) {
        fprintf(f, "%.0f", x);
        return;
    }

    fprintf(f, "%.10g", x);
}
