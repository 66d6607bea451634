/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The body filter: find the placements' anchors in the page and splice
 * each one's offers there, once, without holding the page.  The header
 * filter (ngx_vpt_header_filter.c) starts it with ngx_http_vpt_body_start();
 * the markup comes from the decision (ngx_http_vpt_inject()).
 *
 * Anchors come in any page order (vpt_splice's set).  Where one is found,
 * a gap is left in the output: an empty link (the mark) that the markup,
 * or the anchor's own bytes, follow once the decision is there.  Until
 * then everything after the first gap waits in ctx->pending_out, and the
 * search goes on in it.  When every anchor is found, or the body ends,
 * the decision counts what was shown (ngx_http_vpt_count_shown()).
 *
 * Buffer ownership, the rules every change here must keep:
 *
 * 1. An input buffer is the caller's (upstream, copy filter).  We never
 *    write to its memory and never keep its chain link after returning;
 *    we keep (in ctx->busy, a gap's anchor, ctx->pending_out) only bufs
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
 *    anchor, or everything from the first anchor on while the decision is
 *    not there yet.  The latter lasts at most vpt_redis_timeout and is bounded
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
static ngx_int_t ngx_http_vpt_gap(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx, const u_char *prev, size_t prev_len,
    ngx_buf_t *in, vpt_splice_result_t *res);
static ngx_int_t ngx_http_vpt_fill(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx, ngx_vpt_gap_t *gap, ngx_chain_t ***last);
static ngx_int_t ngx_http_vpt_insert(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);
static ngx_int_t ngx_http_vpt_output(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);
static void ngx_http_vpt_buf_ours(ngx_buf_t *b, void *tag);
static void ngx_http_vpt_resume(ngx_http_vpt_ctx_t *ctx);
static ngx_uint_t ngx_http_vpt_part_ends(ngx_chain_t *cl);


static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

/* where output goes now: after a gap not filled yet, it waits */
#define ngx_http_vpt_last(ctx)                                               \
    ((ctx)->waiting ? &(ctx)->last_pending : &(ctx)->last_out)

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
    void         *mem;
    ngx_buf_t    *b;
    ngx_uint_t    n, i, nbufs;
    ngx_chain_t  *cl;

    n = ctx->conf->places->nelts;

    /*
     * The bufs a page takes in the common case (the page before each
     * anchor, its mark, the rest after the last), in ctx->free from the
     * start: one allocation, not a link and a buf from the pool for each
     * (~170 instructions a buf).  Every buf taken from ctx->free is
     * written whole (a copy of the input's, or zeroed) before use.
     */
    nbufs = 2 + 2 * n;

    mem = ngx_palloc(r->pool, vpt_splice_set_size(ctx->conf->anchor_set, n)
                              + nbufs * (sizeof(ngx_chain_t)
                                         + sizeof(ngx_buf_t)));
    if (mem == NULL) {
        return NGX_ERROR;
    }

    b = mem;
    cl = (ngx_chain_t *) (b + nbufs);

    for (i = 0; i < nbufs; i++) {
        cl[i].buf = &b[i];
        cl[i].next = ctx->free;
        ctx->free = &cl[i];
    }

    vpt_splice_init_set(&ctx->splice, ctx->conf->anchor_set, n,
                        cl + nbufs);

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
    ngx_chain_t         *cl, ***last;
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

        if (ctx->spliced) {
            /* after the last anchor: the rest passes as it is, or waits */
            last = ngx_http_vpt_last(ctx);

            if (ngx_chain_add_copy(r->pool, *last, cl) != NGX_OK) {
                return NGX_ERROR;
            }

            while (**last) {
                *last = &(**last)->next;
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
    size_t                prev_len, held_len, len, v;
    ngx_buf_t            *tail;
    ngx_uint_t            gaps;
    ngx_chain_t          *cl;
    const u_char         *prev, *held;
    vpt_splice_result_t   res;

    if (!ngx_buf_in_memory(in) && ngx_buf_size(in) > 0) {
        /* only a file: cannot be scanned, so the page goes out as it is */
        held = vpt_splice_held(&ctx->splice, &held_len);
        tail = NULL;

        if (held_len && ngx_http_vpt_emit_copy(r, ctx, ngx_http_vpt_last(ctx),
                                               held, held_len, &tail)
                        != NGX_OK)
        {
            return NGX_ERROR;
        }

        ctx->splice.nheld = 0;
        ctx->spliced = 1;

        if (ctx->ngaps == 0) {
            ngx_http_vpt_set_outcome(ctx, NGX_VPT_OUT_SKIPPED, 1);

        } else if (!ctx->waiting) {
            ngx_http_vpt_count_shown(ctx);
        }

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf = in;
        cl->next = NULL;
        **ngx_http_vpt_last(ctx) = cl;
        *ngx_http_vpt_last(ctx) = &cl->next;

        return NGX_OK;
    }

    len = ngx_buf_in_memory(in) ? (size_t) (in->last - in->pos) : 0;

    vpt_splice_feed(&ctx->splice, in->pos, len, &res);
    prev = vpt_splice_prev_held(&ctx->splice, &prev_len);
    tail = NULL;
    gaps = ctx->ngaps;
    v = 0;              /* V[0, v) is out */

    /* each anchor in this buffer: V[v, insert_at) out, then its gap */

    while (res.matched) {
        if (ngx_http_vpt_emit(r, ctx, ngx_http_vpt_last(ctx), prev,
                              prev_len, in, v, res.insert_at, &tail)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ngx_http_vpt_gap(r, ctx, prev, prev_len, in, &res) != NGX_OK) {
            return NGX_ERROR;
        }

        v = res.resume_at;

        if (ctx->splice.done) {
            ctx->spliced = 1;
            res.emit = prev_len + len;
            break;
        }

        vpt_splice_next(&ctx->splice, in->pos, len, &res);
    }

    if (ngx_http_vpt_emit(r, ctx, ngx_http_vpt_last(ctx), prev, prev_len,
                          in, v, res.emit, &tail)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ctx->spliced && (in->last_buf || in->last_in_chain)) {
        /* the end: what was held goes out as it is */
        held = vpt_splice_held(&ctx->splice, &held_len);

        if (held_len && ngx_http_vpt_emit_copy(r, ctx, ngx_http_vpt_last(ctx),
                                               held, held_len, &tail)
                        != NGX_OK)
        {
            return NGX_ERROR;
        }

        ctx->splice.nheld = 0;

        if (in->last_buf) {
            ctx->spliced = 1;
        }
    }

    if (ctx->spliced && !ctx->waiting) {
        /* every anchor found, or the body ends: what was shown counts */
        ngx_http_vpt_count_shown(ctx);
    }

    if (ctx->ngaps > gaps) {
        /*
         * A flags-only link last, whatever came before: an anchor's bufs
         * may be dropped or go out after ours, so the shadow must not ride
         * on them nor on a buf before them.
         */
        tail = NULL;

    } else if (tail == NULL && !ngx_buf_special(in) && !in->last_buf
               && !in->flush && !in->sync)
    {
        /* all of it copied into the splicer: consumed already */
        in->pos = in->last;
        return NGX_OK;
    }

    return ngx_http_vpt_carry(r, ctx, ngx_http_vpt_last(ctx), in, tail);
}


/*
 * An anchor found: its bytes (a replace's, else none) apart in the gap, a
 * mark in the output, and the gap filled now if the decision is there;
 * else the output waits from here (ctx->resume wakes it).
 */

static ngx_int_t
ngx_http_vpt_gap(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx,
    const u_char *prev, size_t prev_len, ngx_buf_t *in,
    vpt_splice_result_t *res)
{
    ngx_buf_t       *b, *anchor_tail;
    ngx_chain_t     *cl, **anchor, ***last;
    ngx_vpt_gap_t   *gap;

    gap = &ctx->gaps[ctx->ngaps++];
    gap->place = res->anchor;
    gap->anchor = NULL;

    anchor = &gap->anchor;
    anchor_tail = NULL;

    if (ngx_http_vpt_emit(r, ctx, &anchor, prev, prev_len, in,
                          res->insert_at, res->resume_at, &anchor_tail)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;
    ngx_memzero(b, sizeof(ngx_buf_t));
    b->sync = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_vpt_module;

    if (ctx->verdict == NGX_VPT_UNDECIDED) {
        /*
         * The lookup's end calls ngx_http_vpt_resume().  The mark waits
         * too: one sent would be reused before its gap is filled.
         */
        ctx->waiting = 1;
        ctx->resume = ngx_http_vpt_resume;
    }

    last = ngx_http_vpt_last(ctx);
    **last = cl;
    *last = &cl->next;
    gap->mark = cl;

    if (ctx->waiting) {
        return NGX_OK;
    }

    ctx->filled++;

    return ngx_http_vpt_fill(r, ctx, gap, last);
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
    size = ctx->splice.hold_cap;

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


/*
 * A gap's markup, or its anchor's bytes back: linked after its mark, in
 * the chain whose end *last is.
 */

static ngx_int_t
ngx_http_vpt_fill(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx,
    ngx_vpt_gap_t *gap, ngx_chain_t ***last)
{
    ngx_buf_t            *b;
    ngx_str_t             markup;
    ngx_chain_t          *cl, *next, *first, **ll;
    ngx_vpt_placement_t  *pl;

    first = NULL;
    ll = &first;
    pl = ctx->conf->places->elts;

    if (ngx_http_vpt_inject(ctx, gap->place, &markup) != NGX_OK) {
        /* nothing to show here: the anchor goes back where it was */
        first = gap->anchor;

    } else {
        if (vpt_anchor_place(pl[gap->place].anchor) == VPT_PLACE_REPLACE) {
            /* replaced: its copies and pointers are simply not sent */
            for (cl = gap->anchor; cl; cl = next) {
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

        /* before/after: the anchor's part is empty */

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->memory = 1;
        b->pos = markup.data;
        b->last = markup.data + markup.len;

        cl->buf = b;
        cl->next = NULL;
        first = cl;
    }

    gap->anchor = NULL;

    if (first == NULL) {
        return NGX_OK;
    }

    for (ll = &first; *ll; ll = &(*ll)->next) { /* void */ }

    *ll = gap->mark->next;

    if (*last == &gap->mark->next) {
        *last = ll;
    }

    gap->mark->next = first;

    return NGX_OK;
}


/* the decision is there: every gap filled, then what waited goes out */

static ngx_int_t
ngx_http_vpt_insert(ngx_http_request_t *r, ngx_http_vpt_ctx_t *ctx)
{
    ctx->waiting = 0;
    ctx->resume = NULL;
    r->buffered &= ~NGX_HTTP_VPT_BUFFERED;

    /* the marks of the gaps not filled yet all wait in pending */

    for ( /* void */ ; ctx->filled < ctx->ngaps; ctx->filled++) {
        if (ngx_http_vpt_fill(r, ctx, &ctx->gaps[ctx->filled],
                              &ctx->last_pending)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    *ctx->last_out = ctx->pending_out;

    while (*ctx->last_out) {
        ctx->last_out = &(*ctx->last_out)->next;
    }

    ctx->pending_out = NULL;
    ctx->last_pending = &ctx->pending_out;

    if (ctx->spliced) {
        ngx_http_vpt_count_shown(ctx);
    }

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
