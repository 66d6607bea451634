
/*
 * Copyright (C) ngx_vpt_module authors
 */


/*
 * hiredis's reply objects for the worker's connection, from one buffer
 * instead of a malloc() per element and a free() per element after the
 * callback: for a lookup's two replies that was some 4,000 instructions
 * of the allocator, more than reading them.
 *
 * The objects are hiredis's own redisReply, so every reader of a reply is
 * unchanged.  hiredis hands a reply to its callback only once it is whole
 * and frees it (freeObject) right after the callback returns, before it
 * reads the next one; so at most one reply tree is live at a time (two
 * while a callback runs and a reader error frees a partial one, hence a
 * few slots).  The buffer is emptied when no reply it holds is live.
 *
 * What does not fit (a context of many KB, or a root when every slot is
 * taken) is malloc()ed as hiredis does, and freed at freeObject; an object
 * is the buffer's when its address is in it.  Nothing of a reply may be
 * kept past its callback (hiredis's rule already).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>

#include "ngx_vpt_redis_int.h"


#define NGX_VPT_ARENA_SIZE   16384
#define NGX_VPT_ARENA_ROOTS  4


typedef struct {
    size_t        used;
    ngx_uint_t    foreign;                       /* pieces malloc()ed */
    redisReply   *roots[NGX_VPT_ARENA_ROOTS];    /* live, from the buffer */
    ngx_uint_t    nroots;
    u_char        buf[NGX_VPT_ARENA_SIZE];
} ngx_vpt_redis_arena_t;


static void *ngx_vpt_arena_string(const redisReadTask *task, char *str,
    size_t len);
static void *ngx_vpt_arena_array(const redisReadTask *task, int elements);
static void *ngx_vpt_arena_integer(const redisReadTask *task,
    long long value);
static void *ngx_vpt_arena_nil(const redisReadTask *task);
static void ngx_vpt_arena_free(void *obj);
static redisReply *ngx_vpt_arena_object(const redisReadTask *task, int type,
    size_t extra);
static void *ngx_vpt_arena_alloc(size_t size);
static void ngx_vpt_arena_link(const redisReadTask *task, redisReply *r);
static ngx_uint_t ngx_vpt_arena_has(const void *p);
static void ngx_vpt_arena_release(redisReply *r);


static ngx_vpt_redis_arena_t  ngx_vpt_arena;

static redisReplyObjectFunctions  ngx_vpt_arena_functions = {
    ngx_vpt_arena_string,
    ngx_vpt_arena_array,
    ngx_vpt_arena_integer,
    ngx_vpt_arena_nil,
    ngx_vpt_arena_free
};


/* one connection per worker uses it: ngx_vpt_redis.ac */

void
ngx_vpt_redis_arena_use(redisAsyncContext *ac)
{
    ac->c.reader->fn = &ngx_vpt_arena_functions;
}


static void *
ngx_vpt_arena_string(const redisReadTask *task, char *str, size_t len)
{
    char        *s;
    redisReply  *r;

    /* NUL-terminated, as hiredis's: error replies are logged with %s */

    r = ngx_vpt_arena_object(task, task->type, len + 1);
    if (r == NULL) {
        return NULL;
    }

    if (ngx_vpt_arena_has(r)) {
        s = (char *) (r + 1);

    } else {
        s = malloc(len + 1);
        if (s == NULL) {
            ngx_vpt_arena_free(r);
            return NULL;
        }
    }

    ngx_memcpy(s, str, len);
    s[len] = '\0';

    r->str = s;
    r->len = len;

    ngx_vpt_arena_link(task, r);

    return r;
}


static void *
ngx_vpt_arena_array(const redisReadTask *task, int elements)
{
    size_t       size;
    redisReply  *r;

    size = (elements > 0) ? elements * sizeof(redisReply *) : 0;

    r = ngx_vpt_arena_object(task, REDIS_REPLY_ARRAY, size);
    if (r == NULL) {
        return NULL;
    }

    if (size) {
        if (ngx_vpt_arena_has(r)) {
            r->element = (redisReply **) (r + 1);

        } else {
            r->element = malloc(size);
            if (r->element == NULL) {
                ngx_vpt_arena_free(r);
                return NULL;
            }
        }

        /* a reply cut short by an error is freed with its gaps */
        ngx_memzero(r->element, size);
        r->elements = elements;
    }

    ngx_vpt_arena_link(task, r);

    return r;
}


static void *
ngx_vpt_arena_integer(const redisReadTask *task, long long value)
{
    redisReply  *r;

    r = ngx_vpt_arena_object(task, REDIS_REPLY_INTEGER, 0);
    if (r == NULL) {
        return NULL;
    }

    r->integer = value;

    ngx_vpt_arena_link(task, r);

    return r;
}


static void *
ngx_vpt_arena_nil(const redisReadTask *task)
{
    redisReply  *r;

    r = ngx_vpt_arena_object(task, REDIS_REPLY_NIL, 0);
    if (r == NULL) {
        return NULL;
    }

    ngx_vpt_arena_link(task, r);

    return r;
}


/*
 * A new object, with room for its string or its elements after it when
 * it is the buffer's: a root from the buffer when it has room and a slot,
 * an element from it when its parent is (so that a tree malloc()ed at its
 * root never depends on the buffer, which may be emptied under it).  What
 * is malloc()ed is counted in "foreign": while none is, freeing a root of
 * the buffer has nothing to walk.
 */

static redisReply *
ngx_vpt_arena_object(const redisReadTask *task, int type, size_t extra)
{
    redisReply             *r;
    ngx_vpt_redis_arena_t  *a;

    a = &ngx_vpt_arena;
    r = NULL;

    if (task->parent == NULL) {
        if (a->nroots < NGX_VPT_ARENA_ROOTS) {
            r = ngx_vpt_arena_alloc(sizeof(redisReply) + extra);

            if (r != NULL) {
                a->roots[a->nroots++] = r;
            }
        }

    } else if (ngx_vpt_arena_has(task->parent->obj)) {
        r = ngx_vpt_arena_alloc(sizeof(redisReply) + extra);
    }

    if (r == NULL) {
        r = malloc(sizeof(redisReply));
        if (r == NULL) {
            return NULL;
        }

        a->foreign++;
    }

    r->type = type;
    r->integer = 0;
    r->len = 0;
    r->str = NULL;
    r->elements = 0;
    r->element = NULL;

    return r;
}


/* 8-byte aligned from the buffer, or NULL when it has no room */

static void *
ngx_vpt_arena_alloc(size_t size)
{
    void                   *p;
    ngx_vpt_redis_arena_t  *a;

    a = &ngx_vpt_arena;

    if (size > NGX_VPT_ARENA_SIZE - a->used) {
        return NULL;
    }

    p = a->buf + a->used;
    a->used = ngx_min(ngx_align(a->used + size, 8), NGX_VPT_ARENA_SIZE);

    return p;
}


/* as hiredis does, once the object is whole */

static void
ngx_vpt_arena_link(const redisReadTask *task, redisReply *r)
{
    redisReply  *parent;

    if (task->parent != NULL) {
        parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
}


static ngx_uint_t
ngx_vpt_arena_has(const void *p)
{
    return (const u_char *) p >= ngx_vpt_arena.buf
           && (const u_char *) p < ngx_vpt_arena.buf + NGX_VPT_ARENA_SIZE;
}


/*
 * hiredis frees only roots; a root of the buffer leaves its slot, and the
 * buffer is empty again once none is left
 */

static void
ngx_vpt_arena_free(void *obj)
{
    ngx_uint_t              i;
    redisReply             *r;
    ngx_vpt_redis_arena_t  *a;

    r = obj;
    a = &ngx_vpt_arena;

    if (r == NULL) {
        return;
    }

    if (!ngx_vpt_arena_has(r)) {
        ngx_vpt_arena_release(r);
        return;
    }

    if (a->foreign) {
        ngx_vpt_arena_release(r);
    }

    for (i = 0; i < a->nroots; i++) {
        if (a->roots[i] == r) {
            a->roots[i] = a->roots[--a->nroots];
            break;
        }
    }

    if (a->nroots == 0) {
        /* a malloc()ed tree still growing counts again, at worst */
        a->used = 0;
        a->foreign = 0;
    }
}


/* what malloc() gave, the object's and its elements' */

static void
ngx_vpt_arena_release(redisReply *r)
{
    size_t  i;

    switch (r->type) {

    case REDIS_REPLY_ARRAY:
        if (r->element == NULL) {
            break;
        }

        for (i = 0; i < r->elements; i++) {
            if (r->element[i] != NULL) {
                ngx_vpt_arena_release(r->element[i]);
            }
        }

        if (!ngx_vpt_arena_has(r->element)) {
            free(r->element);
        }

        break;

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        if (r->str != NULL && !ngx_vpt_arena_has(r->str)) {
            free(r->str);
        }

        break;

    default:
        break;
    }

    if (!ngx_vpt_arena_has(r)) {
        free(r);
    }
}
