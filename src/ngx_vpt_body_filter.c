/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The body filter: find the anchor in the page and splice the chosen
 * offers' markup there, once, without holding the page.  The header
 * filter (ngx_vpt_header_filter.c) starts it with ngx_http_vpt_body_start();
 * the markup comes from the decision (ngx_http_vpt_inject()).
 *
 * Buffer ownership, the rules every change here must keep:
 *
 * 1. An input buffer is the caller's (upstream, copy filter).  We never
 *    write to its memory and never keep its chain link after returning;
 *    we keep (in ctx->busy, ctx->held_anchor, ctx->pending_out) only bufs
 *    of our own whose pos/last point into its memory.
 * 2. The last buf of ours that points into an input buffer carries it as
 *    b->shadow.  When that buf has been sent (size 0 in ctx->busy), every
 *    earlier one has been too, so we mark the input consumed
 *    (shadow->pos = shadow->last) and the caller may reuse it.  Input
 *    bytes that the splicer copied into its held buffer are consumed at
 *    once: nothing of ours points at them.
 * 3. Bytes the splicer held back (a partial anchor, at most
 *    vpt_splice_size() / 2) go out as copies in bufs from ctx->free_copies,
 *    which own their memory and are reused.
 * 4. Every chain link we take returns to ctx->free or ctx->free_copies
 *    once its buf is sent, flags-only links included, so a long body
 *    costs a constant number of links.
 * 5. r->buffered has NGX_HTTP_VPT_BUFFERED while we hold bytes: a partial
 *    anchor, or everything from the anchor on while the decision is not
 *    there yet.  The latter lasts at most vpt_redis_timeout and is bounded
 *    by the caller's own buffers, which stay unconsumed meanwhile.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static ngx_int_t ngx_http_vpt_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_vpt_scan(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx, ngx_buf_t *in);
static ngx_int_t ngx_http_vpt_emit(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx, ngx_chain_t ***last, const u_char *held,
    size_t nheld, ngx_buf_t *in, size_t from, size_t to, ngx_buf_t **tail);
static ngx_int_t ngx_http_vpt_emit_copy(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx, ngx_chain_t ***last, const u_char *p,
    size_t len, ngx_buf_t **tail);
static ngx_int_t ngx_http_vpt_carry(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx, ngx_chain_t ***last, ngx_buf_t *in,
    ngx_buf_t *tail);
static ngx_int_t ngx_http_vpt_insert(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);
static ngx_int_t ngx_http_vpt_output(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_buf_ours(ngx_buf_t *b, void *tag);
static void ngx_http_vpt_resume(ngx_http_vpt_ctx_t *ctx);
static ngx_uint_t ngx_http_vpt_part_ends(ngx_chain_t *cl);


static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

/* tags telling our two kinds of bufs apart when they come back */
static ngx_uint_t  ngx_http_vpt_copy_tag;


ngx_int_t
ngx_http_vpt_init_body_filter(ngx_conf_t *cf)
{
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_vpt_body_filter;

    return NGX_OK;
}


/* from the header filter: this response's body is to be filtered */

ngx_int_t
ngx_http_vpt_body_start(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    void  *mem;

    mem = ngx_palloc(r->pool, vpt_splice_size(ctx->conf->anchor));
    if (mem == NULL) {
        return NGX_ERROR;
    }

    vpt_splice_init(&ctx->splice, ctx->conf->anchor, mem);

    ctx->filtering = 1;
    ctx->last_out = &ctx->out;
    ctx->last_pending = &ctx->pending_out;

    if (ctx->verdict == NGX_VPT_UNDECIDED) {
        /* what the page logs if it ends before the lookup does */
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_NO_ANCHOR, 0);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t         *cl;
    ngx_http_vpt_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vpt_module);

    if (ctx == NULL || !ctx->filtering) {
        return ngx_http_next_body_filter(r, in);
    }

    if (in == NULL && ctx->out == NULL && ctx->busy == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "vpt body filter, waiting: %ui", ctx->waiting);

    for (cl = in; cl; cl = cl->next) {

        if (ctx->waiting) {
            if (ngx_chain_add_copy(r->pool, ctx->last_pending, cl)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            while (*ctx->last_pending) {
                ctx->last_pending = &(*ctx->last_pending)->next;
            }

            break;
        }

        if (ctx->spliced) {
            /* after the anchor: the rest passes as it is */
            if (ngx_chain_add_copy(r->pool, ctx->last_out, cl) != NGX_OK) {
                return NGX_ERROR;
            }

            while (*ctx->last_out) {
                ctx->last_out = &(*ctx->last_out)->next;
            }

            break;
        }

        if (ngx_http_vpt_scan(r, ctx, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->waiting && ngx_http_vpt_part_ends(in)) {
        /*
         * The addition filter ends our part here and appends a
         * subrequest's body next: what we hold must go out before it, so
         * stop waiting and go on without an offer.
         */
        ngx_http_vpt_cancel(ctx);
        ngx_http_vpt_decided(ctx, NGX_VPT_OUT_REDIS_TIMEOUT);

        if (ngx_http_vpt_insert(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_vpt_output(r, ctx);
}


/* one input buffer through the splicer; see the rules at the top */

static ngx_int_t
ngx_http_vpt_scan(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx,
    ngx_buf_t *in)
{
    size_t                prev_len, held_len, len;
    ngx_buf_t            *tail;
    ngx_chain_t          *cl, **anchor;
    const u_char         *prev, *held;
    vpt_splice_result_t   res;

    if (!ngx_buf_in_memory(in) && ngx_buf_size(in) > 0) {
        /* only a file: cannot be scanned, so the page goes out as it is */
        held = vpt_splice_held(&ctx->splice, &held_len);
        tail = NULL;

        if (held_len && ngx_http_vpt_emit_copy(r, ctx, &ctx->last_out,
                                               held, held_len, &tail)
                        != NGX_OK)
        {
            return NGX_ERROR;
        }

        ctx->splice.nheld = 0;
        ctx->spliced = 1;
        ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_SKIPPED, 1);

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf = in;
        cl->next = NULL;
        *ctx->last_out = cl;
        ctx->last_out = &cl->next;

        return NGX_OK;
    }

    len = ngx_buf_in_memory(in) ? (size_t) (in->last - in->pos) : 0;

    vpt_splice_feed(&ctx->splice, in->pos, len, &res);
    prev = vpt_splice_prev_held(&ctx->splice, &prev_len);
    tail = NULL;

    if (!res.matched) {
        if (ngx_http_vpt_emit(r, ctx, &ctx->last_out, prev, prev_len, in,
                              0, res.emit, &tail)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (in->last_buf || in->last_in_chain) {
            /* the end, and no anchor: what was held goes out as it is */
            held = vpt_splice_held(&ctx->splice, &held_len);

            if (held_len && ngx_http_vpt_emit_copy(r, ctx, &ctx->last_out,
                                                   held, held_len, &tail)
                            != NGX_OK)
            {
                return NGX_ERROR;
            }

            ctx->splice.nheld = 0;

            if (in->last_buf) {
                ctx->spliced = 1;

                if (ctx->verdict == NGX_VPT_UNDECIDED
                    || ctx->verdict == NGX_VPT_CHOSEN)
                {
                    ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_NO_ANCHOR, 1);
                }
            }
        }

        if (tail == NULL && !ngx_buf_special(in) && !in->last_buf
            && !in->flush && !in->sync)
        {
            /* all of it copied into the splicer: consumed already */
            in->pos = in->last;
            return NGX_OK;
        }

        return ngx_http_vpt_carry(r, ctx, &ctx->last_out, in, tail);
    }

    /* the anchor: V[0, insert_at) goes out now */

    ctx->spliced = 1;

    if (ngx_http_vpt_emit(r, ctx, &ctx->last_out, prev, prev_len, in,
                          0, res.insert_at, &tail)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the anchor's own bytes (replace) wait apart: they may be dropped */

    anchor = &ctx->held_anchor;
    tail = NULL;

    if (ngx_http_vpt_emit(r, ctx, &anchor, prev, prev_len, in,
                          res.insert_at, res.resume_at, &tail)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    tail = NULL;

    if (ngx_http_vpt_emit(r, ctx, &ctx->last_pending, prev, prev_len, in,
                          res.resume_at, prev_len + len, &tail)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * A flags-only link last, whatever came before: the anchor's bufs may
     * be dropped, so the shadow must not ride on them.
     */
    if (ngx_http_vpt_carry(r, ctx, &ctx->last_pending, in, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->verdict == NGX_VPT_UNDECIDED) {
        /* the lookup's end calls ngx_http_vpt_resume() */
        ctx->waiting = 1;
        ctx->resume = ngx_http_vpt_resume;
        return NGX_OK;
    }

    return ngx_http_vpt_insert(r, ctx);
}


/*
 * Appends V[from, to) to a chain, V being the splicer's previous hold
 * followed by the input buffer's bytes: the held part as a copy, the input
 * part as a buf pointing into the input.
 */

static ngx_int_t
ngx_http_vpt_emit(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx,
    ngx_chain_t ***last, const u_char *held, size_t nheld, ngx_buf_t *in,
    size_t from, size_t to, ngx_buf_t **tail)
{
    size_t        end;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (from < nheld) {
        end = ngx_min(to, nheld);

        if (end > from && ngx_http_vpt_emit_copy(r, ctx, last, held + from,
                                                 end - from, tail)
                          != NGX_OK)
        {
            return NGX_ERROR;
        }

        from = end;
    }

    if (to <= from) {
        return NGX_OK;
    }

    cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;
    ngx_memcpy(b, in, sizeof(ngx_buf_t));

    b->pos = in->pos + (from - nheld);
    b->last = in->pos + (to - nheld);
    ngx_http_vpt_buf_ours(b, &ngx_http_vpt_module);

    if (b->in_file) {
        b->file_pos = in->file_pos + (b->pos - in->pos);
        b->file_last = b->file_pos + (b->last - b->pos);
    }

    **last = cl;
    *last = &cl->next;
    *tail = b;

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpt_emit_copy(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx,
    ngx_chain_t ***last, const u_char *p, size_t len, ngx_buf_t **tail)
{
    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    /* every copy is at most what the splicer holds: reuse one size */
    size = vpt_splice_size(ctx->conf->anchor);

    if (ctx->free_copies) {
        cl = ctx->free_copies;
        ctx->free_copies = cl->next;
        cl->next = NULL;
        b = cl->buf;

    } else {
        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        b = ngx_create_temp_buf(r->pool, size);
        if (b == NULL) {
            return NGX_ERROR;
        }

        cl->buf = b;
        cl->next = NULL;
    }

    if (len > (size_t) (b->end - b->start)) {
        /* cannot happen: the splicer never holds more than size / 2 */
        return NGX_ERROR;
    }

    b->pos = b->start;
    b->last = ngx_cpymem(b->start, p, len);
    b->temporary = 1;
    ngx_http_vpt_buf_ours(b, &ngx_http_vpt_copy_tag);

    **last = cl;
    *last = &cl->next;
    *tail = b;

    return NGX_OK;
}


/* a buf of ours, of one of our two kinds: no flags, no shadow yet */

static void
ngx_http_vpt_buf_ours(ngx_buf_t *b, void *tag)
{
    b->shadow = NULL;
    b->last_buf = 0;
    b->last_in_chain = 0;
    b->flush = 0;
    b->sync = 0;
    b->recycled = 0;
    b->tag = (ngx_buf_tag_t) tag;
}


/*
 * The input's flags (last_buf, flush, ...) and the shadow go on the last
 * buf made from it, or on a flags-only buf of their own.
 */

static ngx_int_t
ngx_http_vpt_carry(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx,
    ngx_chain_t ***last, ngx_buf_t *in, ngx_buf_t *tail)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = tail;

    if (b == NULL) {
        cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        b = cl->buf;
        ngx_memzero(b, sizeof(ngx_buf_t));

        b->sync = 1;
        b->tag = (ngx_buf_tag_t) &ngx_http_vpt_module;

        **last = cl;
        *last = &cl->next;
    }

    b->last_buf = in->last_buf;
    b->last_in_chain = in->last_in_chain;
    b->flush = in->flush;
    b->shadow = in;
    b->recycled = in->recycled;

    return NGX_OK;
}


/* the decision is there: markup (or the anchor back), then the rest */

static ngx_int_t
ngx_http_vpt_insert(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl, *next;

    ctx->waiting = 0;
    ctx->resume = NULL;
    r->buffered &= ~NGX_HTTP_VPT_BUFFERED;

    if (ngx_http_vpt_inject(ctx) != NGX_OK) {
        /* nothing to show: the anchor goes back where it was */
        *ctx->last_out = ctx->held_anchor;

        while (*ctx->last_out) {
            ctx->last_out = &(*ctx->last_out)->next;
        }

    } else {
        if (vpt_anchor_place(ctx->conf->anchor) != VPT_PLACE_REPLACE) {
            /* before/after: the anchor part is empty */
            *ctx->last_out = ctx->held_anchor;

            while (*ctx->last_out) {
                ctx->last_out = &(*ctx->last_out)->next;
            }

        } else {
            /* replaced: its copies and pointers are simply not sent */
            for (cl = ctx->held_anchor; cl; cl = next) {
                next = cl->next;

                if (cl->buf->tag == (ngx_buf_tag_t) &ngx_http_vpt_copy_tag) {
                    cl->next = ctx->free_copies;
                    ctx->free_copies = cl;

                } else {
                    cl->next = ctx->free;
                    ctx->free = cl;
                }
            }
        }

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->memory = 1;
        b->pos = ctx->markup.data;
        b->last = ctx->markup.data + ctx->markup.len;

        cl->buf = b;
        cl->next = NULL;

        /* markup before the anchor's bytes when placing "before" */
        *ctx->last_out = cl;
        ctx->last_out = &cl->next;
    }

    ctx->held_anchor = NULL;

    *ctx->last_out = ctx->pending_out;

    while (*ctx->last_out) {
        ctx->last_out = &(*ctx->last_out)->next;
    }

    ctx->pending_out = NULL;
    ctx->last_pending = &ctx->pending_out;

    return NGX_OK;
}


/*
 * ctx->resume while the body filter holds the page at the anchor, called
 * at the lookup's end: let it go, then wake the request's writer, which
 * finishes the request if its last buffer is out.
 */

static void
ngx_http_vpt_resume(ngx_http_vpt_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    rc = ngx_http_vpt_insert(r, ctx);

    if (rc == NGX_OK) {
        rc = ngx_http_vpt_output(r, ctx);
    }

    if (rc == NGX_ERROR) {
        c->error = 1;
    }

    ngx_post_event(c->write, &ngx_posted_events);
}


static ngx_int_t
ngx_http_vpt_output(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    rc = ngx_http_next_body_filter(r, ctx->out);

    if (ctx->busy == NULL) {
        ctx->busy = ctx->out;

    } else {
        for (cl = ctx->busy; cl->next; cl = cl->next) { /* void */ }
        cl->next = ctx->out;
    }

    ctx->out = NULL;
    ctx->last_out = &ctx->out;

    while (ctx->busy) {
        cl = ctx->busy;
        b = cl->buf;

        if (ngx_buf_size(b) != 0) {
            break;
        }

        ctx->busy = cl->next;

        if (b->tag != (ngx_buf_tag_t) &ngx_http_vpt_copy_tag
            && b->tag != (ngx_buf_tag_t) &ngx_http_vpt_module)
        {
            /* passed through untouched, or the markup: not ours to reuse */
            ngx_free_chain(r->pool, cl);
            continue;
        }

        if (b->shadow) {
            b->shadow->pos = b->shadow->last;
            b->shadow->file_pos = b->shadow->file_last;
            b->shadow = NULL;
        }

        if (b->tag == (ngx_buf_tag_t) &ngx_http_vpt_copy_tag) {
            cl->next = ctx->free_copies;
            ctx->free_copies = cl;

        } else {
            cl->next = ctx->free;
            ctx->free = cl;
        }
    }

    if (ctx->waiting || ctx->splice.nheld) {
        r->buffered |= NGX_HTTP_VPT_BUFFERED;

    } else {
        r->buffered &= ~NGX_HTTP_VPT_BUFFERED;
    }

    return rc;
}


/* a buffer that ends this request's part of the body but not the body */

static ngx_uint_t
ngx_http_vpt_part_ends(ngx_chain_t *cl)
{
    for ( /* void */ ; cl; cl = cl->next) {
        if (cl->buf->last_in_chain && !cl->buf->last_buf) {
            return 1;
        }
    }

    return 0;
}
