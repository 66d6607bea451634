/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Shared by the offline tools; each tool includes this file directly.
 */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vpt_tools.h"


#define VPT_IN_CHUNK   (1024 * 1024)


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


/* the line reader */

int
vpt_in_open(vpt_in_t *in, const char *path, int spool)
{
    int  fd;

    memset(in, 0, sizeof(vpt_in_t));
    in->path = path;

    if (strcmp(path, "-") == 0) {
        fd = dup(0);
        if (fd == -1) {
            return VPT_ERROR;
        }

        if (spool) {
            in->spool = tmpfile();
            if (in->spool == NULL) {
                close(fd);
                return VPT_ERROR;
            }
            in->spooling = 1;
        }

        in->gz = gzdopen(fd, "rb");

    } else {
        in->gz = gzopen(path, "rb");
    }

    if (in->gz == NULL) {
        if (errno == 0) {
            errno = ENOMEM;
        }
        return VPT_ERROR;
    }

    gzbuffer(in->gz, 256 * 1024);

    if (in->buf == NULL) {
        in->size = VPT_IN_CHUNK;
        in->buf = vpt_xalloc(in->size + 1);
    }

    return VPT_OK;
}


int
vpt_in_rewind(vpt_in_t *in)
{
    int  fd;

    if (in->spool == NULL) {
        if (gzrewind(in->gz) != 0) {
            return VPT_ERROR;
        }

    } else {
        /* stdin is gone: read its copy from now on */
        gzclose(in->gz);

        if (fflush(in->spool) != 0) {
            return VPT_ERROR;
        }

        fd = dup(fileno(in->spool));
        if (fd == -1 || lseek(fd, 0, SEEK_SET) == -1) {
            return VPT_ERROR;
        }

        in->gz = gzdopen(fd, "rb");
        if (in->gz == NULL) {
            return VPT_ERROR;
        }

        in->spooling = 0;
    }

    in->start = 0;
    in->end = 0;
    in->eof = 0;
    in->toolong = 0;
    in->lineno = 0;
    in->bytes = 0;

    return VPT_OK;
}


void
vpt_in_close(vpt_in_t *in)
{
    if (in->gz) {
        gzclose(in->gz);
        in->gz = NULL;
    }

    if (in->spool) {
        fclose(in->spool);
        in->spool = NULL;
    }

    free(in->buf);
    in->buf = NULL;
}


static int
vpt_in_fill(vpt_in_t *in)
{
    int          n, errnum;
    const char  *msg;

    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }

    if (in->end == in->size) {
        if (in->size >= VPT_LINE_MAX) {
            return 0;
        }
        in->size *= 2;
        in->buf = vpt_xrealloc(in->buf, in->size + 1);
    }

    n = gzread(in->gz, in->buf + in->end, (unsigned) (in->size - in->end));

    if (n < 0) {
        msg = gzerror(in->gz, &errnum);
        fprintf(stderr, "%s: %s\n", in->path,
                errnum == Z_ERRNO ? strerror(errno) : msg);
        return -1;
    }

    if (n == 0) {
        msg = gzerror(in->gz, &errnum);
        if (errnum != Z_OK && !in->warned) {
            /* a log cut while it was written: keep what was read */
            fprintf(stderr, "%s: warning: %s\n", in->path, msg);
            in->warned = 1;
        }
        in->eof = 1;
        return 0;
    }

    if (in->spooling
        && fwrite(in->buf + in->end, 1, n, in->spool) != (size_t) n)
    {
        fprintf(stderr, "%s: cannot copy to a temporary file: %s\n",
                in->path, strerror(errno));
        return -1;
    }

    in->end += n;

    return 1;
}


int
vpt_in_line(vpt_in_t *in, char **line, size_t *len)
{
    int      rc;
    char    *p, *nl;
    size_t   scanned, n;

    in->toolong = 0;
    scanned = 0;

    for ( ;; ) {
        p = in->buf + in->start;
        nl = memchr(p + scanned, '\n', in->end - in->start - scanned);

        if (nl != NULL) {
            n = nl - p;
            in->start += n + 1;
            break;
        }

        scanned = in->end - in->start;

        if (in->eof) {
            if (scanned == 0) {
                return 0;
            }
            n = scanned;
            in->start = in->end;
            break;
        }

        rc = vpt_in_fill(in);

        if (rc == -1) {
            return -1;
        }

        if (rc == 0 && !in->eof) {
            /* VPT_LINE_MAX bytes and no newline: skip to the next one */
            in->toolong = 1;
            in->start = in->end = 0;
            do {
                in->end = 0;
                rc = vpt_in_fill(in);
                if (rc == -1) {
                    return -1;
                }
                nl = memchr(in->buf, '\n', in->end);
            } while (nl == NULL && !in->eof);

            in->start = nl ? (size_t) (nl - in->buf) + 1 : in->end;
            in->lineno++;
            *line = in->buf;
            *len = 0;
            in->buf[0] = '\0';
            return 1;
        }
    }

    in->lineno++;
    in->bytes += n + 1;

    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }

    p[n] = '\0';
    *line = p;
    *len = n;

    return 1;
}


/* the JSON scanner */

static const char *
vpt_jskip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }

    return p;
}


/* p is after the opening quote; returns the closing quote or NULL */
static const char *
vpt_jskip_str(const char *p, const char *end)
{
    const char  *q, *b;

    for ( ;; ) {
        q = memchr(p, '"', end - p);
        if (q == NULL) {
            return NULL;
        }

        /* escaped when preceded by an odd number of backslashes */
        b = q;
        while (b > p && b[-1] == '\\') {
            b--;
        }

        if (((q - b) & 1) == 0) {
            return q;
        }

        p = q + 1;
    }
}


/* p is at '{' or '['; returns the byte after the matching bracket */
static const char *
vpt_jskip_nested(const char *p, const char *end)
{
    char     stack[64];
    size_t   depth;

    depth = 0;

    while (p < end) {
        switch (*p) {

        case '{':
        case '[':
            if (depth == sizeof(stack)) {
                return NULL;
            }
            stack[depth++] = (char) (*p == '{' ? '}' : ']');
            break;

        case '}':
        case ']':
            if (depth == 0 || stack[--depth] != *p) {
                return NULL;
            }
            if (depth == 0) {
                return p + 1;
            }
            break;

        case '"':
            p = vpt_jskip_str(p + 1, end);
            if (p == NULL) {
                return NULL;
            }
            break;
        }

        p++;
    }

    return NULL;
}


static const char *
vpt_jvalue(const char *p, const char *end, vpt_jval_t *v)
{
    const char  *q;

    if (p == end) {
        return NULL;
    }

    switch (*p) {

    case '"':
        q = vpt_jskip_str(p + 1, end);
        if (q == NULL) {
            return NULL;
        }
        v->type = VPT_J_STR;
        v->p = p + 1;
        v->len = q - p - 1;
        return q + 1;

    case '{':
    case '[':
        q = vpt_jskip_nested(p, end);
        if (q == NULL) {
            return NULL;
        }
        v->type = (*p == '{') ? VPT_J_OBJ : VPT_J_ARR;
        v->p = p;
        v->len = q - p;
        return q;

    case 't':
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            v->type = VPT_J_TRUE;
            v->p = p;
            v->len = 4;
            return p + 4;
        }
        return NULL;

    case 'f':
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            v->type = VPT_J_FALSE;
            v->p = p;
            v->len = 5;
            return p + 5;
        }
        return NULL;

    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            v->type = VPT_J_NULL;
            v->p = p;
            v->len = 4;
            return p + 4;
        }
        return NULL;
    }

    q = p;
    while (q < end && ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+'
                       || *q == '.' || *q == 'e' || *q == 'E'))
    {
        q++;
    }

    if (q == p) {
        return NULL;
    }

    v->type = VPT_J_NUM;
    v->p = p;
    v->len = q - p;

    return q;
}


int
vpt_jobj_begin(vpt_jiter_t *it, const char *s, size_t len)
{
    const char  *p, *end;

    end = s + len;
    p = vpt_jskip_ws(s, end);

    if (p == end || *p != '{') {
        return VPT_ERROR;
    }

    it->p = p + 1;
    it->end = end;
    it->first = 1;

    return VPT_OK;
}


int
vpt_jobj_key(vpt_jiter_t *it, vpt_jval_t *key)
{
    const char  *p, *end;

    p = vpt_jskip_ws(it->p, it->end);
    end = it->end;

    if (p < end && *p == '}') {
        /* only whitespace may follow the object */
        p = vpt_jskip_ws(p + 1, end);
        it->p = p;
        return p == end ? 0 : -1;
    }

    if (!it->first) {
        if (p == end || *p != ',') {
            return -1;
        }
        p = vpt_jskip_ws(p + 1, end);
    }

    if (p == end || *p != '"') {
        return -1;
    }

    p = vpt_jvalue(p, end, key);
    if (p == NULL) {
        return -1;
    }

    p = vpt_jskip_ws(p, end);
    if (p == end || *p != ':') {
        return -1;
    }

    it->p = vpt_jskip_ws(p + 1, end);
    it->first = 0;

    return 1;
}


int
vpt_jobj_next(vpt_jiter_t *it, vpt_jval_t *key, vpt_jval_t *val)
{
    int          rc;
    const char  *p;

    rc = vpt_jobj_key(it, key);
    if (rc != 1) {
        return rc;
    }

    p = vpt_jvalue(it->p, it->end, val);
    if (p == NULL) {
        return -1;
    }

    it->p = p;

    return 1;
}


int
vpt_jarr_next_str(const char **pp, const char *end, vpt_jval_t *s)
{
    const char  *p;

    p = vpt_jskip_ws(*pp, end);

    if (p < end && *p == '[') {
        p = vpt_jskip_ws(p + 1, end);
        if (p < end && *p == ']') {
            *pp = p + 1;
            return 0;
        }

    } else if (p < end && *p == ',') {
        p = vpt_jskip_ws(p + 1, end);

    } else if (p < end && *p == ']') {
        *pp = p + 1;
        return 0;

    } else {
        return -1;
    }

    if (p == end || *p != '"') {
        return -1;
    }

    p = vpt_jvalue(p, end, s);
    if (p == NULL) {
        return -1;
    }

    *pp = p;

    return 1;
}


static int
vpt_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}


static long
vpt_hex4(const char *p, const char *end)
{
    long  v;
    int   i, d;

    if (end - p < 4) {
        return -1;
    }

    v = 0;
    for (i = 0; i < 4; i++) {
        d = vpt_hexval((unsigned char) p[i]);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }

    return v;
}


long
vpt_junescape(const char *p, size_t len, char *out)
{
    long         c, lo;
    char        *o;
    const char  *end, *bs;

    end = p + len;
    bs = memchr(p, '\\', len);

    if (bs == NULL) {
        memcpy(out, p, len);
        return (long) len;
    }

    memcpy(out, p, bs - p);
    o = out + (bs - p);
    p = bs;

    while (p < end) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }

        if (++p == end) {
            return -1;
        }

        switch (*p++) {
        case '"':  *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/':  *o++ = '/'; break;
        case 'b':  *o++ = '\b'; break;
        case 'f':  *o++ = '\f'; break;
        case 'n':  *o++ = '\n'; break;
        case 'r':  *o++ = '\r'; break;
        case 't':  *o++ = '\t'; break;

        case 'u':
            c = vpt_hex4(p, end);
            if (c < 0) {
                return -1;
            }
            p += 4;

            if (c >= 0xd800 && c <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u') {
                    return -1;
                }
                lo = vpt_hex4(p + 2, end);
                if (lo < 0xdc00 || lo > 0xdfff) {
                    return -1;
                }
                p += 6;
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);

            } else if (c >= 0xdc00 && c <= 0xdfff) {
                return -1;
            }

            if (c < 0x80) {
                *o++ = (char) c;
            } else if (c < 0x800) {
                *o++ = (char) (0xc0 | (c >> 6));
                *o++ = (char) (0x80 | (c & 0x3f));
            } else if (c < 0x10000) {
                *o++ = (char) (0xe0 | (c >> 12));
                *o++ = (char) (0x80 | ((c >> 6) & 0x3f));
                *o++ = (char) (0x80 | (c & 0x3f));
            } else {
                *o++ = (char) (0xf0 | (c >> 18));
                *o++ = (char) (0x80 | ((c >> 12) & 0x3f));
                *o++ = (char) (0x80 | ((c >> 6) & 0x3f));
                *o++ = (char) (0x80 | (c & 0x3f));
            }
            break;

        default:
            return -1;
        }
    }

    return o - out;
}


int
vpt_jtext(const vpt_jval_t *v, char **pos, const char **p, size_t *len)
{
    long  n;

    if (v->type == VPT_J_NUM) {
        *p = v->p;
        *len = v->len;
        return VPT_OK;
    }

    if (v->type != VPT_J_STR) {
        return VPT_ERROR;
    }

    if (memchr(v->p, '\\', v->len) == NULL) {
        *p = v->p;
        *len = v->len;
        return VPT_OK;
    }

    n = vpt_junescape(v->p, v->len, *pos);
    if (n < 0) {
        return VPT_ERROR;
    }

    *p = *pos;
    *len = n;
    *pos += n;

    return VPT_OK;
}


int
vpt_parse_num(const char *p, size_t len, double *out)
{
    char    buf[64], *e;
    size_t  i;

    if (len == 0 || len >= sizeof(buf)) {
        return VPT_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '+'
              || p[i] == '.' || p[i] == 'e' || p[i] == 'E'))
        {
            return VPT_ERROR;
        }
    }

    memcpy(buf, p, len);
    buf[len] = '\0';

    *out = strtod(buf, &e);

    if (e != buf + len || !isfinite(*out)) {
        return VPT_ERROR;
    }

    return VPT_OK;
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


int
vpt_heldout(const char *id, size_t len, double fraction)
{
    uint64_t  h;

    /* salted, so the split is not the exploration draw of the ranker */
    h = vpt_hash_more(vpt_hash("vpt-holdout:", 12), id, len);

    return (double) (h >> 11) * (1.0 / 9007199254740992.0) < fraction;
}


int
vpt_time_hour(const char *p, size_t len)
{
    if (len < 13 || p[10] != 'T' || p[11] < '0' || p[11] > '2'
        || p[12] < '0' || p[12] > '9')
    {
        return -1;
    }

    return (p[11] - '0') * 10 + (p[12] - '0') < 24
           ? (p[11] - '0') * 10 + (p[12] - '0') : -1;
}


/* statistics */

void
vpt_wilson(double k, double n, double *lo, double *hi)
{
    double  p, z2, c, d;

    if (n <= 0) {
        *lo = NAN;
        *hi = NAN;
        return;
    }

    p = k / n;
    if (p > 1) {
        p = 1;
    }

    z2 = VPT_Z95 * VPT_Z95;
    c = (p + z2 / (2 * n)) / (1 + z2 / n);
    d = VPT_Z95 * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);

    *lo = c - d < 0 ? 0 : c - d;
    *hi = c + d > 1 ? 1 : c + d;
}


/*
 * AUC in constant memory: scores are binned by their logit, 10,000 bins
 * over [-20, 20] (0.004 wide, finer than any model here can resolve), and
 * pairs within one bin count as ties (half).  The error against an exact
 * AUC is below the ties' share, i.e. negligible for real models.
 */

#define VPT_AUC_LO  -20.0
#define VPT_AUC_HI   20.0


void
vpt_auc_add(vpt_auc_t *a, double p, int label, double weight)
{
    long    b;
    double  z, q;

    q = p < 1e-9 ? 1e-9 : (p > 1 - 1e-9 ? 1 - 1e-9 : p);
    z = log(q / (1 - q));
    b = (long) ((z - VPT_AUC_LO) / (VPT_AUC_HI - VPT_AUC_LO) * VPT_AUC_BINS);
    b = b < 0 ? 0 : (b >= VPT_AUC_BINS ? VPT_AUC_BINS - 1 : b);

    if (label) {
        a->pos[b] += weight;
        a->logloss -= weight * log(q);

    } else {
        a->neg[b] += weight;
        a->logloss -= weight * log(1 - q);
    }

    a->n += weight;
}


double
vpt_auc(const vpt_auc_t *a)
{
    long    b;
    double  below, area, P, N;

    below = 0;
    area = 0;
    P = 0;
    N = 0;

    for (b = 0; b < VPT_AUC_BINS; b++) {
        area += a->pos[b] * (below + 0.5 * a->neg[b]);
        below += a->neg[b];
        P += a->pos[b];
        N += a->neg[b];
    }

    if (P == 0 || N == 0) {
        return NAN;
    }

    return area / (P * N);
}


double
vpt_auc_logloss(const vpt_auc_t *a)
{
    return a->n > 0 ? a->logloss / a->n : NAN;
}


/* output */

void
vpt_json_str(FILE *f, const char *p, size_t len)
{
    size_t         i;
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
            } else {
                putc(c, f);
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


/* jansson's arena */

typedef struct vpt_jblock_s  vpt_jblock_t;

struct vpt_jblock_s {
    vpt_jblock_t  *next;
    char           data[];
};

static int            vpt_jarena_on;
static char          *vpt_jarena;
static size_t         vpt_jarena_size;
static size_t         vpt_jarena_used;
static size_t         vpt_jarena_spill;      /* bytes in extra blocks */
static vpt_jblock_t  *vpt_jarena_extra;


static void *
vpt_jmalloc(size_t n)
{
    void          *p;
    vpt_jblock_t  *b;

    n = (n + 15) & ~(size_t) 15;

    if (vpt_jarena_size - vpt_jarena_used >= n) {
        p = vpt_jarena + vpt_jarena_used;
        vpt_jarena_used += n;
        return p;
    }

    /* this line needs more: a block of its own until the next reset */
    b = malloc(sizeof(vpt_jblock_t) + n);
    if (b == NULL) {
        return NULL;
    }

    b->next = vpt_jarena_extra;
    vpt_jarena_extra = b;
    vpt_jarena_spill += n;

    return b->data;
}


static void
vpt_jfree(void *p)
{
    (void) p;
}


static void
vpt_jarena_reset(void)
{
    vpt_jblock_t  *b;

    if (!vpt_jarena_on) {
        return;
    }

    while (vpt_jarena_extra) {
        b = vpt_jarena_extra;
        vpt_jarena_extra = b->next;
        free(b);
    }

    if (vpt_jarena_spill > 0) {
        /* grow, so that lines like this one fit next time */
        vpt_jarena_size = (vpt_jarena_size + vpt_jarena_spill) * 2;
        free(vpt_jarena);
        vpt_jarena = vpt_xalloc(vpt_jarena_size);
        vpt_jarena_spill = 0;
    }

    vpt_jarena_used = 0;
}


void
vpt_jansson_arena(void)
{
    vpt_jarena_size = 256 * 1024;
    vpt_jarena = vpt_xalloc(vpt_jarena_size);
    vpt_jarena_on = 1;

    json_set_alloc_funcs(vpt_jmalloc, vpt_jfree);
}


/*
 * The context of a decision-log line, fast.  vpt_context_parse() is
 * jansson's json_loadb() and the core's vpt_context_from_json(); the
 * lexer is most of a tool's time per line.  Here the text is parsed by a
 * strict JSON parser of our own into the same jansson values (objects in
 * text order, a repeated key replacing the value in place, integers
 * without fraction or exponent as json_integer, numbers beyond range, NUL
 * in strings and invalid UTF-8 refused, as jansson does), then given to
 * vpt_context_from_json().  Whenever this parser does not accept the text
 * (deep nesting, long numbers, anything invalid), vpt_context_parse() on
 * the same text decides: the verdict is always jansson's and the core's.
 */

#define VPT_JB_DEPTH  32


static json_t *vpt_jb_value(const char **pp, const char *end, int depth,
    vpt_buf_t *tmp);

static vpt_buf_t  vpt_jb_tmp;


/* a string's text: in place when it has no escape, else in tmp */
static int
vpt_jb_string(const char **pp, const char *end, vpt_buf_t *tmp,
    const char **s, size_t *len)
{
    int          esc;
    long         n;
    const char  *p, *q;

    p = *pp + 1;
    esc = 0;

    for (q = p; q < end && *q != '"'; q++) {
        if ((unsigned char) *q < 0x20) {
            return VPT_ERROR;
        }

        if (*q == '\\') {
            esc = 1;
            if (++q == end) {
                return VPT_ERROR;
            }
        }
    }

    if (q >= end) {
        return VPT_ERROR;
    }

    *pp = q + 1;

    if (!esc) {
        *s = p;
        *len = q - p;
        return VPT_OK;
    }

    if (tmp->size < (size_t) (q - p) + 1) {
        tmp->size = (q - p) * 2 + 64;
        tmp->data = vpt_xrealloc(tmp->data, tmp->size);
    }

    n = vpt_junescape(p, q - p, tmp->data);
    if (n < 0 || memchr(tmp->data, '\0', n) != NULL) {
        return VPT_ERROR;
    }

    *s = tmp->data;
    *len = n;

    return VPT_OK;
}


static json_t *
vpt_jb_number(const char **pp, const char *end)
{
    int          real;
    char         buf[48], *e;
    double       d;
    long long    ll;
    const char  *p, *s;

    s = p = *pp;
    real = 0;

    if (p < end && *p == '-') {
        p++;
    }

    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        real = 1;
        if (++p == end || *p < '0' || *p > '9') {
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if ((size_t) (p - s) >= sizeof(buf)) {
        return NULL;
    }

    memcpy(buf, s, p - s);
    buf[p - s] = '\0';
    *pp = p;
    errno = 0;

    if (!real) {
        ll = strtoll(buf, &e, 10);
        if (errno == ERANGE || *e) {
            return NULL;
        }
        return json_integer(ll);
    }

    d = strtod(buf, &e);
    if (errno == ERANGE || *e || !isfinite(d)) {
        return NULL;
    }

    return json_real(d);
}


static json_t *
vpt_jb_value(const char **pp, const char *end, int depth, vpt_buf_t *tmp)
{
    size_t       len;
    json_t      *v, *item;
    const char  *p, *s;

    p = vpt_jskip_ws(*pp, end);

    if (p == end) {
        return NULL;
    }

    switch (*p) {

    case '{':
        if (depth >= VPT_JB_DEPTH) {
            return NULL;
        }

        v = json_object();
        p = vpt_jskip_ws(p + 1, end);

        if (p < end && *p == '}') {
            *pp = p + 1;
            return v;
        }

        for ( ;; ) {
            if (p == end || *p != '"'
                || vpt_jb_string(&p, end, tmp, &s, &len) != VPT_OK)
            {
                break;
            }

            p = vpt_jskip_ws(p, end);
            if (p == end || *p != ':') {
                break;
            }
            p++;

            /* the key is in tmp: the value's strings go to a copy */
            {
                char  key[256];

                if (len >= sizeof(key)) {
                    break;
                }
                memcpy(key, s, len);
                key[len] = '\0';

                item = vpt_jb_value(&p, end, depth + 1, tmp);
                if (item == NULL || json_object_set_new(v, key, item) != 0)
                {
                    break;
                }
            }

            p = vpt_jskip_ws(p, end);

            if (p < end && *p == ',') {
                p = vpt_jskip_ws(p + 1, end);
                continue;
            }

            if (p < end && *p == '}') {
                *pp = p + 1;
                return v;
            }

            break;
        }

        json_decref(v);
        return NULL;

    case '[':
        if (depth >= VPT_JB_DEPTH) {
            return NULL;
        }

        v = json_array();
        p = vpt_jskip_ws(p + 1, end);

        if (p < end && *p == ']') {
            *pp = p + 1;
            return v;
        }

        for ( ;; ) {
            item = vpt_jb_value(&p, end, depth + 1, tmp);
            if (item == NULL || json_array_append_new(v, item) != 0) {
                break;
            }

            p = vpt_jskip_ws(p, end);

            if (p < end && *p == ',') {
                p++;
                continue;
            }

            if (p < end && *p == ']') {
                *pp = p + 1;
                return v;
            }

            break;
        }

        json_decref(v);
        return NULL;

    case '"':
        if (vpt_jb_string(&p, end, tmp, &s, &len) != VPT_OK) {
            return NULL;
        }
        *pp = p;
        return json_stringn(s, len);            /* NULL: not UTF-8 */

    case 't':
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            *pp = p + 4;
            return json_true();
        }
        return NULL;

    case 'f':
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            *pp = p + 5;
            return json_false();
        }
        return NULL;

    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            *pp = p + 4;
            return json_null();
        }
        return NULL;
    }

    *pp = p;

    return vpt_jb_number(pp, end);
}


static int
vpt_context_fast(vpt_context_t *ctx, const char *json, size_t len,
    char *arena, size_t arena_len)
{
    int                rc;
    json_t            *root;
    const char        *p, *end;

    if (len <= VPT_CTX_MAX_BYTES) {
        p = json;
        end = json + len;
        root = vpt_jb_value(&p, end, 0, &vpt_jb_tmp);

        if (root != NULL && vpt_jskip_ws(p, end) == end) {
            rc = vpt_context_from_json(ctx, root, arena, arena_len);
            json_decref(root);
            return rc;
        }

        json_decref(root);
    }

    return vpt_context_parse(ctx, json, len, arena, arena_len);
}


/* the decision log */

static void
vpt_buf_reserve(vpt_buf_t *b, size_t n)
{
    if (b->size < n) {
        b->size = n * 2;
        b->data = vpt_xrealloc(b->data, b->size);
    }
}


int
vpt_row_parse(vpt_row_t *row, const vpt_catalog_t *c, const char *line,
    size_t len, vpt_buf_t *scratch, const char **why)
{
    int           rc, page;
    long          n;
    char         *pos;
    unsigned      seen;
    vpt_str_t     s;
    const char   *p;
    vpt_jval_t    key, val, ctx, shown;
    vpt_jiter_t   it;
    static json_t  *root;

    if (vpt_jobj_begin(&it, line, len) != VPT_OK) {
        *why = "not a JSON object";
        return VPT_ERROR;
    }

    vpt_buf_reserve(scratch, len + 1);
    pos = scratch->data;

    row->decision = "";
    row->decision_len = 0;
    row->hour = -1;
    row->page = VPT_PAGE_CONFIRMATION;
    row->shown = -1;
    row->unknown_offer = 0;
    row->has_propensity = 0;
    row->propensity_absent = 1;
    row->propensity = 0;
    row->accepted = 0;
    row->value = 0;

    seen = 0;
    memset(&ctx, 0, sizeof(vpt_jval_t));
    shown = ctx;

    /* the last line's context, then the arena its memory came from */
    json_decref(root);
    root = NULL;
    vpt_jarena_reset();

    while ((rc = vpt_jobj_key(&it, &key)) == 1) {

        if (vpt_jkey_is(&key, "context") && it.p < it.end && *it.p == '{'
            && root == NULL)
        {
            /* parsed once, straight into jansson values (see above) */
            p = it.p;
            root = vpt_jb_value(&p, it.end, 0, &vpt_jb_tmp);

            if (root != NULL && (size_t) (p - it.p) <= VPT_CTX_MAX_BYTES) {
                ctx.type = VPT_J_OBJ;
                ctx.p = it.p;
                ctx.len = p - it.p;
                it.p = p;
                seen |= 2;
                continue;
            }

            json_decref(root);
            root = NULL;
        }

        p = vpt_jvalue(it.p, it.end, &val);
        if (p == NULL) {
            rc = -1;
            break;
        }
        it.p = p;

        if (vpt_jkey_is(&key, "decision")) {
            if (val.type != VPT_J_STR
                || vpt_jtext(&val, &pos, &row->decision, &row->decision_len)
                   != VPT_OK)
            {
                *why = "\"decision\" is not a string";
                return VPT_ERROR;
            }
            seen |= 1;

        } else if (vpt_jkey_is(&key, "time")) {
            if (val.type == VPT_J_STR) {
                row->hour = vpt_time_hour(val.p, val.len);
            }

        } else if (vpt_jkey_is(&key, "page")) {
            s.data = val.p;
            s.len = val.len;
            page = val.type == VPT_J_STR ? vpt_page_parse(s) : -1;
            if (page < 0) {
                *why = "\"page\" is not cart or confirmation";
                return VPT_ERROR;
            }
            row->page = page;

        } else if (vpt_jkey_is(&key, "context")) {
            if (val.type != VPT_J_OBJ && val.type != VPT_J_NULL) {
                *why = "\"context\" is not an object";
                return VPT_ERROR;
            }
            json_decref(root);
            root = NULL;
            ctx = val;
            seen |= 2;

        } else if (vpt_jkey_is(&key, "shown")) {
            if (val.type != VPT_J_STR && val.type != VPT_J_NULL) {
                *why = "\"shown\" is not a string or null";
                return VPT_ERROR;
            }
            shown = val;
            seen |= 4;

        } else if (vpt_jkey_is(&key, "propensity")) {
            row->propensity_absent = 0;
            if (val.type == VPT_J_NUM
                && vpt_parse_num(val.p, val.len, &row->propensity) == VPT_OK)
            {
                row->has_propensity = 1;
            } else if (val.type != VPT_J_NULL) {
                *why = "\"propensity\" is not a number";
                return VPT_ERROR;
            }

        } else if (vpt_jkey_is(&key, "accepted")) {
            if (val.type != VPT_J_TRUE && val.type != VPT_J_FALSE) {
                *why = "\"accepted\" is not true or false";
                return VPT_ERROR;
            }
            row->accepted = (val.type == VPT_J_TRUE);
            seen |= 8;

        } else if (vpt_jkey_is(&key, "value")) {
            if (val.type != VPT_J_NUM
                || vpt_parse_num(val.p, val.len, &row->value) != VPT_OK)
            {
                *why = "\"value\" is not a number";
                return VPT_ERROR;
            }
            seen |= 16;
        }
    }

    if (rc != 0) {
        *why = "not a JSON object";
        return VPT_ERROR;
    }

    if ((seen & 15) != 15) {
        *why = !(seen & 1) ? "no \"decision\"" : !(seen & 2)
               ? "no \"context\"" : !(seen & 4) ? "no \"shown\""
               : "no \"accepted\"";
        return VPT_ERROR;
    }

    if (row->accepted && !(seen & 16)) {
        *why = "accepted without a \"value\"";
        return VPT_ERROR;
    }

    if (!row->accepted) {
        row->value = 0;
    }

    if (shown.type == VPT_J_STR) {
        if (vpt_jtext(&shown, &pos, &s.data, &s.len) != VPT_OK) {
            *why = "\"shown\" is not a string or null";
            return VPT_ERROR;
        }

        row->shown = vpt_catalog_find(c, s);
        row->unknown_offer = (row->shown < 0);

    } else if (row->accepted) {
        *why = "accepted while nothing was shown";
        return VPT_ERROR;
    }

    n = pos - scratch->data;

    if (root != NULL) {
        rc = vpt_context_from_json(&row->ctx, root, pos, scratch->size - n);

    } else if (ctx.type == VPT_J_NULL) {
        vpt_context_init(&row->ctx);
        rc = VPT_OK;

    } else {
        rc = vpt_context_fast(&row->ctx, ctx.p, ctx.len, pos,
                              scratch->size - n);
    }

    if (rc != VPT_OK) {
        *why = "the context is not valid";
        return VPT_ERROR;
    }

    return VPT_OK;
}


size_t
vpt_row_features(const vpt_context_t *ctx, vpt_page_e page, int hour,
    const vpt_offer_t *o, vpt_feat_t *out, size_t max)
{
    size_t  n;

    n = vpt_features_shopper(ctx, page, hour, out, max);

    return n + vpt_features_offer(o, out + n, max - n);
}


size_t
vpt_policy_offers(const vpt_ranker_t *r, const vpt_catalog_t *c,
    const vpt_context_t *ctx, vpt_page_e page, int hour, double ltw,
    double minv, void *scratch, uint32_t *idx, double *p)
{
    size_t                i, m, best;
    double                ev, bev, tp;
    uint32_t              ti;
    vpt_decision_t        d;
    const vpt_offer_t    *o;
    vpt_decide_params_t   dp;

    memset(&dp, 0, sizeof(vpt_decide_params_t));
    dp.page = page;
    dp.hour = hour;
    dp.slots = VPT_MAX_SLOTS;
    dp.min_value = minv;
    dp.long_term_weight = ltw;

    vpt_decide(r, ctx, &dp, scratch, &d);

    if (d.n < VPT_MAX_SLOTS) {
        for (i = 0; i < d.n; i++) {
            idx[i] = d.offer[i];
            p[i] = d.p[i];
        }
        return d.n;
    }

    m = 0;
    best = 0;
    bev = 0;

    for (i = 0; i < c->n; i++) {
        o = &c->offers[i];

        if (!vpt_eligible(o, ctx, page, hour, 0, 0)) {
            continue;
        }

        tp = vpt_ranker_p(r, ctx, page, hour, i);
        ev = tp * (o->value + ltw * o->long_term_value);

        if (!(ev >= minv)) {
            continue;
        }

        if (m == 0 || ev > bev) {
            best = m;
            bev = ev;
        }

        idx[m] = (uint32_t) i;
        p[m] = tp;
        m++;
    }

    if (best != 0) {
        ti = idx[0];
        idx[0] = idx[best];
        idx[best] = ti;
        tp = p[0];
        p[0] = p[best];
        p[best] = tp;
    }

    return m;
}


void
vpt_model_dump(FILE *f, unsigned k, double bias, size_t n,
    char *const *names, const float *params, const char *meta)
{
    int           first;
    size_t        i, x;
    const float  *p;

    fprintf(f, "{\"format\": \"vpt-fm\", \"k\": %u, \"bias\": %.9g,\n"
            " \"meta\": %s,\n \"features\": {", k, bias, meta);

    first = 1;

    for (i = 0; i < n; i++) {
        p = params + i * (k + 1);

        for (x = 0; x <= k && p[x] == 0; x++) {
            /* void */
        }

        if (x > k) {
            continue;
        }

        fputs(first ? "\n  " : ",\n  ", f);
        vpt_json_str(f, names[i], strlen(names[i]));
        fputs(": [", f);

        for (x = 0; x <= k; x++) {
            fprintf(f, x ? ", %.9g" : "%.9g", p[x]);
        }

        fputc(']', f);
        first = 0;
    }

    fputs("\n }}\n", f);
}


int
vpt_model_write(const char *path, unsigned k, double bias, size_t n,
    char *const *names, const float *params, const char *meta)
{
    char  *tmp;
    FILE  *f;

    tmp = vpt_xalloc(strlen(path) + 5);
    sprintf(tmp, "%s.tmp", path);

    f = fopen(tmp, "w");
    if (f == NULL) {
        free(tmp);
        return VPT_ERROR;
    }

    vpt_model_dump(f, k, bias, n, names, params, meta);

    if (ferror(f) | fclose(f)) {
        unlink(tmp);
        free(tmp);
        return VPT_ERROR;
    }

    if (rename(tmp, path) != 0) {
        unlink(tmp);
        free(tmp);
        return VPT_ERROR;
    }

    free(tmp);

    return VPT_OK;
}
