/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Streaming anchor search.  The body arrives in buffers that may split the
 * anchor anywhere; the splicer sees each buffer once and holds back only
 * the bytes that could still be the start of the anchor (a literal's
 * length - 1, or at most VPT_REGEX_HOLD_MAX for a regex).
 *
 * Coordinates: each feed works on a virtual stream V = H ++ D, where H are
 * the bytes held back by the previous feed and D is the new data.  The
 * previous H stays readable through vpt_splice_prev_held() until the next
 * feed (the splicer double-buffers it), so the caller can copy it out.
 *
 * The body is HTML: an occurrence of the anchor counts only where it
 * starts in the tokenizer's data state (text, or the '<' of a tag), so one
 * inside a comment, a script, style, textarea or other raw text element,
 * a tag or its attribute values, a doctype or a bogus comment is passed
 * over (vpt_html.h).  The tokenizer's state is a few bytes in the stream:
 * it holds nothing more back.
 */

#ifndef VPT_SPLICE_H
#define VPT_SPLICE_H

#include "vpt_core.h"
#include "vpt_html.h"


#define VPT_REGEX_HOLD_MAX  1024    /* longest regex match we can see */
#define VPT_SPLICE_SET_MAX  8       /* anchors one stream looks for */
#define VPT_REGEX_MATCH_LIMIT  100000   /* bounds backtracking per feed */


typedef enum {
    VPT_PLACE_BEFORE = 0,
    VPT_PLACE_AFTER,
    VPT_PLACE_REPLACE
} vpt_place_e;


typedef struct vpt_anchor_s  vpt_anchor_t;


/*
 * Compiles an anchor: a literal (matched ASCII case-insensitively) or, when
 * it starts with '~', a PCRE2 pattern (compiled caseless; "(?-i)" opts out).
 * On error returns NULL and writes a message (for a regex: PCRE2's text and
 * the offset) to err.  An empty anchor is an error, and so is a regex that
 * can match the empty string (it would match everywhere) or is anchored to
 * the subject start (^ or \A: a stream of buffers has no such start).
 *
 * An anchor may be shared by any number of streams of one process, but not
 * by threads: it owns the scratch memory and PCRE2 match data every feed
 * uses.  (nginx workers are single-threaded, forked processes.)
 *
 * Regex limits: a match longer than VPT_REGEX_HOLD_MAX bytes is never
 * spliced, however the body is buffered (its bytes flow through unchanged
 * and a later match is still found); a lookbehind, \b or (?m)^ does not
 * see bytes before the held ones or the current buffer; a feed that hits
 * VPT_REGEX_MATCH_LIMIT counts as no match and holds nothing.
 */
vpt_anchor_t *vpt_anchor_create(const char *spec, size_t len,
    vpt_place_e place, char *err, size_t errlen);
void vpt_anchor_free(vpt_anchor_t *a);
vpt_place_e vpt_anchor_place(const vpt_anchor_t *a);

/* bytes of memory a stream for this anchor needs (vpt_splice_init's mem) */
size_t vpt_splice_size(const vpt_anchor_t *a);

/*
 * A set of anchors looked for in one stream (several placements on one
 * page): VPT_OK, or VPT_ERROR with err when there are more than
 * VPT_SPLICE_SET_MAX or, with more than one, one of them is a regex (a
 * set is searched by its literals only).
 */
int vpt_splice_set_check(vpt_anchor_t *const *a, size_t n, char *err,
    size_t errlen);
size_t vpt_splice_set_size(vpt_anchor_t *const *a, size_t n);


typedef struct {
    unsigned     matched:1;
    /*
     * no match: V[0, emit) goes out unchanged, V[emit, end) is now held.
     * match: V[0, insert_at) goes out, then the insertion, then V[resume_at,
     * end); the stream is done and later feeds pass everything through.
     * emit is insert_at then; nothing is held.
     *
     * With a set of anchors, a match is of set[anchor], the leftmost real
     * one among those not matched yet (at one start: a complete match
     * before a partial one, then the first in the set).  Until every
     * anchor has matched, the stream is not done: vpt_splice_next() goes
     * on in the same V from resume_at, and its result is read the same
     * way with V[resume_at, ...) in place of V[0, ...).
     */
    size_t       emit;
    size_t       insert_at;
    size_t       resume_at;
    unsigned     anchor;
} vpt_splice_result_t;


/*
 * A caller may send the held bytes itself (vpt_splice_held()) and set
 * nheld to 0, e.g. at the end of a part of the body; the tokenizer reads
 * them at the next feed.
 */

typedef struct {
    const vpt_anchor_t  *anchor;   /* set[0] */
    const vpt_anchor_t  *set[VPT_SPLICE_SET_MAX];
    unsigned             nset;
    unsigned             left;     /* bit i: set[i] not matched yet */
    size_t               hold_max; /* the set's longest hold */
    size_t               hold_cap; /* bytes of each held[] half, >= 1 */
    unsigned char       *held[2];  /* double buffer: held[cur] is H */
    unsigned char       *scratch;  /* 2 * hold_cap: H ++ D's head */
    size_t               nheld;    /* bytes held in held[cur] */
    size_t               nlast;    /* nheld as the last feed left it */

    /* the feed under way: V's H, and where a match left it */
    const unsigned char *vh;
    size_t               vn;
    size_t               t;        /* the tokenizer has read V[0, t) */
    size_t               from;     /* no real match starts in V[0, from) */

    /* per anchor, its next candidate in this feed (the set's search) */
    size_t               cpos[VPT_SPLICE_SET_MAX];
    unsigned char        crc[VPT_SPLICE_SET_MAX];

    vpt_html_t           html;     /* has read all but the held bytes */
    unsigned             cur:1;
    unsigned             done:1;
    unsigned             more:1;   /* matched: vpt_splice_next() goes on */
} vpt_splice_t;


/* mem: vpt_splice_size(a) bytes owned by the caller, e.g. a request pool */
void vpt_splice_init(vpt_splice_t *s, const vpt_anchor_t *a, void *mem);

/* a set that vpt_splice_set_check() accepted; mem: vpt_splice_set_size() */
void vpt_splice_init_set(vpt_splice_t *s, vpt_anchor_t *const *a, size_t n,
    void *mem);

/* never fails; a regex that hits its match limit counts as "no match" */
void vpt_splice_feed(vpt_splice_t *s, const unsigned char *data, size_t len,
    vpt_splice_result_t *res);

/*
 * After a match that left anchors of the set (s->more): the same data
 * again, searched on from the match's resume_at; the result is read as
 * vpt_splice_feed()'s.
 */
void vpt_splice_next(vpt_splice_t *s, const unsigned char *data, size_t len,
    vpt_splice_result_t *res);

/* the H of the last feed, valid until the next feed */
const unsigned char *vpt_splice_prev_held(const vpt_splice_t *s,
    size_t *len);

/* end of stream: the held bytes must go out as they are */
const unsigned char *vpt_splice_held(const vpt_splice_t *s, size_t *len);


#endif /* VPT_SPLICE_H */
