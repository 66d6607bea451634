/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Streaming anchor search; vpt_splice.h defines the coordinates.
 *
 * A feed looks at V = H ++ D in two steps, so the bulk of a page is never
 * copied:
 *
 *   1. When bytes are held, the boundary region H ++ D[0, hold_max) is
 *      copied to the stream's scratch and searched for a match, or a
 *      partial match, that starts inside H.  A match starting in H that is
 *      at most hold_max bytes long ends inside that region.
 *   2. Otherwise H is released and D is searched in place.
 *
 * The leftmost start where the anchor matches or could still match wins:
 * a partial match at p is held even when a complete match follows it, as
 * the anchor may turn out to match at p once more bytes arrive.  A regex
 * match longer than hold_max is skipped even when one buffer holds all of
 * it, so what is spliced never depends on how the body was buffered.
 *
 * A literal is looked for by its two rarest bytes, 64 starts at a time
 * with SSE2 or AVX2 (vpt_lit_pairs); a regex with pcre2_match and
 * PCRE2_PARTIAL_HARD, JIT compiled when PCRE2 can.
 *
 * Only a match that starts where the HTML tokenizer is in the data state
 * counts (vpt_html.h): one in a comment, a script, a tag is passed over.
 * The tokenizer reads V in order and only what the feed decides on: at a
 * feed's start it has read everything before V[0] (held bytes are read
 * once released), and a feed moves it (t, a V offset) to each candidate
 * match before judging it, to the end of V when nothing is held, or to the
 * first held byte.  A candidate in markup skips the search to the next
 * byte read in the data state (vpt_html_skip), so neither the search nor
 * the tokenizer reads a byte twice, whatever the pattern.
 *
 * Held bytes are written to the half of the double buffer that does not
 * hold the current H, so the H of a feed stays readable until the next one.
 *
 * A set of literal anchors (several placements on one page) is searched
 * the same way: the leftmost candidate among the anchors not matched yet
 * is judged (vpt_splice_find()), and after a match the same V is searched
 * on from where the match left it, until every anchor matched or the body
 * ends.  The set holds at most its longest literal's length - 1 bytes.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_splice_int.h"


/*
 * A regex match or partial match longer than hold_max is given up on and
 * the search resumes one byte further; after this many give-ups in one feed
 * the feed stops looking and holds only the last hold_max bytes, which
 * bounds the cost of patterns like "a[^z]*z" over a run of "a".
 */
#define VPT_REGEX_RETRY_MAX  32


static int vpt_anchor_literal(vpt_anchor_t *a, const char *spec, size_t len,
    char *err, size_t errlen);
static int vpt_anchor_regex(vpt_anchor_t *a, const char *spec, size_t len,
    char *err, size_t errlen);
static void vpt_splice_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static vpt_find_e vpt_re_find(const vpt_anchor_t *a,
    const unsigned char *p, size_t len, size_t start, size_t *ms,
    size_t *me);

static void vpt_splice_feed_literal(vpt_splice_t *s,
    const unsigned char *data, size_t len, vpt_splice_result_t *res);
static void vpt_splice_feed_regex(vpt_splice_t *s,
    const unsigned char *data, size_t len, vpt_splice_result_t *res);
static size_t vpt_splice_boundary(vpt_splice_t *s, const unsigned char *data,
    size_t len);
static void vpt_splice_tokenize(vpt_splice_t *s, const unsigned char *data,
    size_t *t, size_t to);
static int vpt_splice_real(vpt_splice_t *s, const unsigned char *data,
    size_t len, size_t *t, size_t q);
static void vpt_splice_hold(vpt_splice_t *s, const unsigned char *data,
    size_t len, size_t p, vpt_splice_result_t *res);
static void vpt_splice_match(vpt_splice_t *s, unsigned k, size_t t,
    size_t ms, size_t me, vpt_splice_result_t *res);
static void vpt_splice_set_reset(vpt_splice_t *s);
static vpt_find_e vpt_splice_pick(vpt_splice_t *s, size_t from, size_t *pos,
    unsigned *which);
static vpt_find_e vpt_splice_find_held(vpt_splice_t *s, size_t vlen,
    size_t from, size_t h, size_t *pos, unsigned *which);
static vpt_find_e vpt_splice_find(vpt_splice_t *s, const unsigned char *data,
    size_t len, size_t d, size_t *pos, unsigned *which);


vpt_anchor_t *
vpt_anchor_create(const char *spec, size_t len, vpt_place_e place,
    char *err, size_t errlen)
{
    int            rc;
    vpt_anchor_t  *a;

    if (place != VPT_PLACE_BEFORE && place != VPT_PLACE_AFTER
        && place != VPT_PLACE_REPLACE)
    {
        vpt_splice_error(err, errlen, "invalid anchor placement %d",
                         (int) place);
        return NULL;
    }

    a = calloc(1, sizeof(vpt_anchor_t));
    if (a == NULL) {
        vpt_splice_error(err, errlen, "out of memory");
        return NULL;
    }

    a->place = place;

    if (len > 0 && spec[0] == '~') {
        rc = vpt_anchor_regex(a, spec + 1, len - 1, err, errlen);

    } else {
        rc = vpt_anchor_literal(a, spec, len, err, errlen);
    }

    if (rc != VPT_OK) {
        vpt_anchor_free(a);
        return NULL;
    }

    return a;
}


static int
vpt_anchor_literal(vpt_anchor_t *a, const char *spec, size_t len, char *err,
    size_t errlen)
{
    size_t  i;

    if (len == 0) {
        vpt_splice_error(err, errlen, "empty anchor");
        return VPT_ERROR;
    }

    a->lit = malloc(len);
    if (a->lit == NULL) {
        vpt_splice_error(err, errlen, "out of memory");
        return VPT_ERROR;
    }

    for (i = 0; i < len; i++) {
        a->lit[i] = vpt_splice_lower((unsigned char) spec[i]);
    }

    a->litlen = len;
    a->hold_max = len - 1;
    vpt_lit_prepare(a);

    return VPT_OK;
}


static int
vpt_anchor_regex(vpt_anchor_t *a, const char *spec, size_t len, char *err,
    size_t errlen)
{
    int          errcode;
    uint32_t     minlen, options;
    PCRE2_SIZE   erroff;
    PCRE2_UCHAR  msg[256];

    if (len == 0) {
        vpt_splice_error(err, errlen, "empty regex");
        return VPT_ERROR;
    }

    a->regex = 1;
    a->hold_max = VPT_REGEX_HOLD_MAX;

    a->re = pcre2_compile((PCRE2_SPTR) spec, len, PCRE2_CASELESS, &errcode,
                          &erroff, NULL);
    if (a->re == NULL) {
        if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0) {
            snprintf((char *) msg, sizeof(msg), "error %d", errcode);
        }

        vpt_splice_error(err, errlen,
                         "invalid regex \"%.*s\": %s at offset %zu",
                         (int) len, spec, (char *) msg, (size_t) erroff);
        return VPT_ERROR;
    }

    /*
     * The minimum length is a lower bound, so 0 covers every pattern that
     * can match the empty string: it would match at the first byte of every
     * page.
     */

    if (pcre2_pattern_info(a->re, PCRE2_INFO_MINLENGTH, &minlen) != 0
        || minlen == 0)
    {
        vpt_splice_error(err, errlen, "regex \"%.*s\" can match the empty "
                         "string, so it would match at the start of every "
                         "page", (int) len, spec);
        return VPT_ERROR;
    }

    /* a stream has no start a buffer could be anchored to */

    if (pcre2_pattern_info(a->re, PCRE2_INFO_ALLOPTIONS, &options) != 0
        || (options & PCRE2_ANCHORED))
    {
        vpt_splice_error(err, errlen, "regex \"%.*s\" is anchored to the "
                         "start of the subject, which a streamed body does "
                         "not have", (int) len, spec);
        return VPT_ERROR;
    }

    /* no JIT (not built in, or no executable memory) is only slower */
    (void) pcre2_jit_compile(a->re, PCRE2_JIT_COMPLETE|PCRE2_JIT_PARTIAL_HARD);

    a->md = pcre2_match_data_create(1, NULL);
    a->mctx = pcre2_match_context_create(NULL);

    if (a->md == NULL || a->mctx == NULL) {
        vpt_splice_error(err, errlen, "out of memory");
        return VPT_ERROR;
    }

    pcre2_set_match_limit(a->mctx, VPT_REGEX_MATCH_LIMIT);

    return VPT_OK;
}


static void
vpt_splice_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


void
vpt_anchor_free(vpt_anchor_t *a)
{
    if (a == NULL) {
        return;
    }

    pcre2_match_context_free(a->mctx);
    pcre2_match_data_free(a->md);
    pcre2_code_free(a->re);
    free(a->lit);
    free(a);
}


vpt_place_e
vpt_anchor_place(const vpt_anchor_t *a)
{
    return a->place;
}


size_t
vpt_splice_size(const vpt_anchor_t *a)
{
    return vpt_splice_set_size((vpt_anchor_t *const *) &a, 1);
}


int
vpt_splice_set_check(vpt_anchor_t *const *a, size_t n, char *err,
    size_t errlen)
{
    size_t  i;

    if (n == 0 || n > VPT_SPLICE_SET_MAX) {
        vpt_splice_error(err, errlen, "%zu anchors in one set, at most %d",
                         n, VPT_SPLICE_SET_MAX);
        return VPT_ERROR;
    }

    for (i = 0; n > 1 && i < n; i++) {
        if (a[i]->regex) {
            vpt_splice_error(err, errlen, "a regex anchor cannot be one of "
                             "several on a page: only literals can be "
                             "searched for together");
            return VPT_ERROR;
        }
    }

    return VPT_OK;
}


/* the held double buffer, then the scratch: 4 * the set's hold_cap */

size_t
vpt_splice_set_size(vpt_anchor_t *const *a, size_t n)
{
    size_t  i, cap;

    cap = 1;

    for (i = 0; i < n; i++) {
        if (a[i]->hold_max > cap) {
            cap = a[i]->hold_max;
        }
    }

    return 4 * cap;
}


void
vpt_splice_init(vpt_splice_t *s, const vpt_anchor_t *a, void *mem)
{
    vpt_splice_init_set(s, (vpt_anchor_t *const *) &a, 1, mem);
}


void
vpt_splice_init_set(vpt_splice_t *s, vpt_anchor_t *const *a, size_t n,
    void *mem)
{
    size_t  i;

    memset(s, 0, sizeof(vpt_splice_t));

    s->anchor = a[0];
    s->nset = (unsigned) n;
    s->left = (1u << n) - 1;

    for (i = 0; i < n; i++) {
        s->set[i] = a[i];

        if (a[i]->hold_max > s->hold_max) {
            s->hold_max = a[i]->hold_max;
        }
    }

    s->hold_cap = s->hold_max ? s->hold_max : 1;
    s->held[0] = mem;
    s->held[1] = (unsigned char *) mem + s->hold_cap;
    s->scratch = (unsigned char *) mem + 2 * s->hold_cap;
    s->vh = s->held[0];

    vpt_html_init(&s->html);
}


void
vpt_splice_feed(vpt_splice_t *s, const unsigned char *data, size_t len,
    vpt_splice_result_t *res)
{
    memset(res, 0, sizeof(vpt_splice_result_t));

    s->vh = s->held[s->cur];
    s->vn = s->done ? 0 : s->nheld;
    s->t = 0;
    s->from = 0;
    s->more = 0;

    if (s->done) {
        /* nothing is held once done: V is D, and all of it goes out */
        vpt_splice_hold(s, data, len, len, res);
        return;
    }

    if (s->nheld == 0 && s->nlast > 0) {
        /* the caller sent the held bytes itself (and zeroed nheld) */
        vpt_html_scan(&s->html, s->held[s->cur], s->nlast);
        s->nlast = 0;
    }

    if (s->anchor->regex) {
        vpt_splice_feed_regex(s, data, len, res);

    } else {
        vpt_splice_feed_literal(s, data, len, res);
    }
}


void
vpt_splice_next(vpt_splice_t *s, const unsigned char *data, size_t len,
    vpt_splice_result_t *res)
{
    memset(res, 0, sizeof(vpt_splice_result_t));

    if (!s->more) {
        /* nothing left in this V: all of it went out */
        res->emit = s->vn + len;
        return;
    }

    s->more = 0;

    /* only a literal set goes on after a match (vpt_splice_set_check) */
    vpt_splice_feed_literal(s, data, len, res);
}


const unsigned char *
vpt_splice_prev_held(const vpt_splice_t *s, size_t *len)
{
    *len = s->vn;
    return s->vh;
}


const unsigned char *
vpt_splice_held(const vpt_splice_t *s, size_t *len)
{
    *len = s->nheld;
    return s->held[s->cur];
}


static void
vpt_splice_feed_literal(vpt_splice_t *s, const unsigned char *data,
    size_t len, vpt_splice_result_t *res)
{
    size_t      h, n, d, pos, t, from;
    unsigned    k;
    vpt_find_e  rc;

    h = s->vn;
    t = s->t;           /* the tokenizer has read V[0, t) */
    from = s->from;     /* no real match starts in V[0, from) */

    if (from < h) {
        n = vpt_splice_boundary(s, data, len);
        vpt_splice_set_reset(s);

        while (from < h) {
            rc = vpt_splice_find_held(s, h + n, from, h, &pos, &k);
            if (rc == VPT_FIND_NONE) {
                break;
            }

            if (!vpt_splice_real(s, data, len, &t, pos)) {
                from = t;
                continue;
            }

            if (rc == VPT_FIND_MATCH) {
                vpt_splice_match(s, k, t, pos,
                                 pos + s->set[k]->litlen, res);
                return;
            }

            /*
             * a partial match starting in H is shorter than its literal,
             * so it reaches the end of V and the region held all of D
             */
            vpt_splice_hold(s, data, len, pos, res);
            return;
        }
    }

    /* nothing real starts in H: search D in place */

    vpt_splice_set_reset(s);

    for ( ;; ) {
        d = (from > h) ? from - h : 0;

        if (d >= len) {
            /* also keeps an empty D, which may be NULL, out of reach */
            break;
        }

        rc = vpt_splice_find(s, data, len, d, &pos, &k);
        if (rc == VPT_FIND_NONE) {
            break;
        }

        pos += h;

        if (!vpt_splice_real(s, data, len, &t, pos)) {
            from = t;
            continue;
        }

        if (rc == VPT_FIND_MATCH) {
            vpt_splice_match(s, k, t, pos,
                             pos + s->set[k]->litlen, res);
            return;
        }

        vpt_splice_hold(s, data, len, pos, res);
        return;
    }

    vpt_splice_tokenize(s, data, &t, h + len);
    vpt_splice_hold(s, data, len, h + len, res);
}


/*
 * The set's search, one function for all its literals (a set of one is a
 * single anchor): the leftmost candidate among the anchors not matched
 * yet, a complete match before a partial one at one start, then the first
 * in the set.  Each anchor's next candidate is kept while it lies at or
 * past the search's start, so a candidate that is passed over as markup
 * costs a new search of its own anchor only.
 */

static void
vpt_splice_set_reset(vpt_splice_t *s)
{
    unsigned  k;

    for (k = 0; k < s->nset; k++) {
        s->crc[k] = VPT_FIND_ERROR;     /* not searched yet */
    }
}


static vpt_find_e
vpt_splice_pick(vpt_splice_t *s, size_t from, size_t *pos, unsigned *which)
{
    unsigned    k, best;
    vpt_find_e  rc;

    best = s->nset;

    for (k = 0; k < s->nset; k++) {
        rc = (vpt_find_e) s->crc[k];

        if (!(s->left & (1u << k)) || rc == VPT_FIND_NONE
            || s->cpos[k] < from)
        {
            continue;
        }

        if (best == s->nset || s->cpos[k] < s->cpos[best]
            || (s->cpos[k] == s->cpos[best] && rc == VPT_FIND_MATCH
                && s->crc[best] == VPT_FIND_PARTIAL))
        {
            best = k;
        }
    }

    if (best == s->nset) {
        return VPT_FIND_NONE;
    }

    *pos = s->cpos[best];
    *which = best;

    return (vpt_find_e) s->crc[best];
}


/* in the scratch (H ++ D's head, vlen bytes): candidates starting in H */

static vpt_find_e
vpt_splice_find_held(vpt_splice_t *s, size_t vlen, size_t from, size_t h,
    size_t *pos, unsigned *which)
{
    unsigned    k;
    vpt_find_e  rc;

    for (k = 0; k < s->nset; k++) {
        if (!(s->left & (1u << k))
            || (s->crc[k] != VPT_FIND_ERROR && s->cpos[k] >= from)
            || s->crc[k] == VPT_FIND_NONE)
        {
            continue;
        }

        rc = vpt_lit_find_in_held(s->set[k], s->scratch, vlen, from, h,
                                  &s->cpos[k]);
        s->crc[k] = (unsigned char) rc;
    }

    return vpt_splice_pick(s, from, pos, which);
}


/* in D from d: candidates, as D offsets */

static vpt_find_e
vpt_splice_find(vpt_splice_t *s, const unsigned char *data, size_t len,
    size_t d, size_t *pos, unsigned *which)
{
    size_t      p;
    unsigned    k;
    vpt_find_e  rc;

    for (k = 0; k < s->nset; k++) {
        if (!(s->left & (1u << k))
            || (s->crc[k] != VPT_FIND_ERROR && s->cpos[k] >= d)
            || s->crc[k] == VPT_FIND_NONE)
        {
            continue;
        }

        rc = vpt_lit_find(s->set[k], data + d, len - d, &p);
        s->crc[k] = (unsigned char) rc;
        s->cpos[k] = p + d;
    }

    return vpt_splice_pick(s, d, pos, which);
}


static void
vpt_splice_feed_regex(vpt_splice_t *s, const unsigned char *data, size_t len,
    vpt_splice_result_t *res)
{
    size_t               h, n, vlen, start, ms, me, t;
    unsigned             retries;
    vpt_find_e           rc;
    const vpt_anchor_t  *a;

    a = s->anchor;
    h = s->vn;
    vlen = h + len;
    retries = 0;
    t = 0;          /* the tokenizer has read V[0, t) */
    start = 0;      /* V offset the search goes on from */

    if (h > 0) {
        n = vpt_splice_boundary(s, data, len);

        while (start < h) {
            rc = vpt_re_find(a, s->scratch, h + n, start, &ms, &me);

            if (rc == VPT_FIND_ERROR) {
                /* fail open: pass everything, hold nothing */
                goto release;
            }

            if (rc == VPT_FIND_NONE || ms >= h) {
                break;
            }

            if ((rc == VPT_FIND_MATCH && me - ms <= a->hold_max)
                || (rc == VPT_FIND_PARTIAL && h + n == vlen
                    && vlen - ms <= a->hold_max))
            {
                /* a match, or a partial match that fits: is it real? */

                if (!vpt_splice_real(s, data, len, &t, ms)) {
                    start = t;
                    continue;
                }

                if (rc == VPT_FIND_MATCH) {
                    vpt_splice_match(s, 0, t, ms, me, res);

                } else {
                    vpt_splice_hold(s, data, len, ms, res);
                }

                return;
            }

            /*
             * A match, or partial match, longer than hold_max: it could not
             * be seen across a buffer boundary, so it is never spliced,
             * whatever the buffers.  Look one byte further.
             */

            if (++retries == VPT_REGEX_RETRY_MAX) {
                goto give_up;
            }

            start = ms + 1;
        }
    }

    /* nothing starts in H: release it and search D in place */

    start = (start > h) ? start - h : 0;

    while (start < len) {
        rc = vpt_re_find(a, data, len, start, &ms, &me);

        if (rc == VPT_FIND_NONE || rc == VPT_FIND_ERROR) {
            /* no match, or fail open on an error: hold nothing */
            break;
        }

        if ((rc == VPT_FIND_MATCH && me - ms <= a->hold_max)
            || (rc == VPT_FIND_PARTIAL && len - ms <= a->hold_max))
        {
            if (!vpt_splice_real(s, data, len, &t, h + ms)) {
                start = t - h;
                continue;
            }

            if (rc == VPT_FIND_MATCH) {
                vpt_splice_match(s, 0, t, h + ms, h + me, res);

            } else {
                vpt_splice_hold(s, data, len, h + ms, res);
            }

            return;
        }

        /* longer than hold_max, as above */

        if (++retries == VPT_REGEX_RETRY_MAX) {
            goto give_up;
        }

        start = ms + 1;
    }

release:

    vpt_splice_tokenize(s, data, &t, vlen);
    vpt_splice_hold(s, data, len, vlen, res);
    return;

give_up:

    /*
     * Hold the last hold_max bytes, or fewer: no real match starts before
     * t, where the tokenizer is, and held bytes must be unread.
     */

    start = (vlen > a->hold_max) ? vlen - a->hold_max : 0;

    if (start < t) {
        start = t;
    }

    vpt_splice_tokenize(s, data, &t, start);
    vpt_splice_hold(s, data, len, start, res);
}


static vpt_find_e
vpt_re_find(const vpt_anchor_t *a, const unsigned char *p, size_t len,
    size_t start, size_t *ms, size_t *me)
{
    int          rc;
    PCRE2_SIZE  *ov;

    /*
     * NOTBOL: the start of a buffer is not the start of the body.  The
     * subject is one buffer (or H and the head of D), so a lookbehind or
     * \b does not see the bytes before it.
     */

    rc = pcre2_match(a->re, (PCRE2_SPTR) p, len, start,
                     PCRE2_PARTIAL_HARD|PCRE2_NOTBOL, a->md, a->mctx);

    if (rc == PCRE2_ERROR_NOMATCH) {
        return VPT_FIND_NONE;
    }

    if (rc < 0 && rc != PCRE2_ERROR_PARTIAL) {
        /* PCRE2_ERROR_MATCHLIMIT, the JIT stack, ... */
        return VPT_FIND_ERROR;
    }

    ov = pcre2_get_ovector_pointer(a->md);

    *ms = ov[0];
    *me = ov[1];

    if (*ms > len || *me > len || *me < *ms) {
        /* \K can report odd offsets: be safe rather than clever */
        return VPT_FIND_ERROR;
    }

    return (rc == PCRE2_ERROR_PARTIAL) ? VPT_FIND_PARTIAL : VPT_FIND_MATCH;
}


/*
 * Copies H ++ D[0, min(len, hold_max)) to the stream's scratch and returns
 * how many bytes of D it took.
 */

static size_t
vpt_splice_boundary(vpt_splice_t *s, const unsigned char *data, size_t len)
{
    size_t  n;

    n = (len < s->hold_max) ? len : s->hold_max;

    memcpy(s->scratch, s->vh, s->vn);

    if (n) {
        memcpy(s->scratch + s->vn, data, n);
    }

    return n;
}


/* the tokenizer reads V[*t, to): the rest of H, then D */

static void
vpt_splice_tokenize(vpt_splice_t *s, const unsigned char *data, size_t *t,
    size_t to)
{
    size_t  h, e;

    h = s->vn;

    if (*t < h && *t < to) {
        e = (to < h) ? to : h;
        vpt_html_scan(&s->html, s->vh + *t, e - *t);
        *t = e;
    }

    if (*t < to) {
        vpt_html_scan(&s->html, data + (*t - h), to - *t);
        *t = to;
    }
}


/*
 * Whether a match starting at V[q] is real: the tokenizer reads up to q
 * and is in the data state there.  If not, it reads on to the next byte
 * read in the data state (at least one byte on): no match starts in
 * between, and the caller searches on from *t.
 */

static int
vpt_splice_real(vpt_splice_t *s, const unsigned char *data, size_t len,
    size_t *t, size_t q)
{
    size_t          h;
    unsigned char   c;

    h = s->vn;

    vpt_splice_tokenize(s, data, t, q);

    c = (q < h) ? s->vh[q] : data[q - h];

    if (vpt_html_in_data(&s->html, c)) {
        return 1;
    }

    if (q < h) {
        q += vpt_html_skip(&s->html, s->vh + q, h - q);
    }

    if (q >= h && q < h + len) {
        q += vpt_html_skip(&s->html, data + (q - h), len - (q - h));
    }

    if (q == *t) {
        /* out of the data state a skip always moves; never loop anyway */
        vpt_html_scan(&s->html, &c, 1);
        q++;
    }

    *t = q;

    return 0;
}


/* no match: V[0, p) goes out and V[p, end) is held in the other half */

static void
vpt_splice_hold(vpt_splice_t *s, const unsigned char *data, size_t len,
    size_t p, vpt_splice_result_t *res)
{
    size_t          h, n;
    unsigned char  *dst;

    h = s->vn;
    dst = (s->vh == s->held[0]) ? s->held[1] : s->held[0];
    n = 0;

    res->emit = p;

    if (p < h) {
        n = h - p;
        memcpy(dst, s->vh + p, n);
        p = h;
    }

    if (p < h + len) {
        memcpy(dst + n, data + (p - h), h + len - p);
        n += h + len - p;
    }

    s->nheld = n;
    s->nlast = n;
    s->cur = (dst == s->held[1]);
}


/*
 * set[k] matches at V[ms, me), the tokenizer at t (= ms: the match is
 * real).  With anchors of the set left, vpt_splice_next() goes on from
 * resume_at; else the stream is done.
 */

static void
vpt_splice_match(vpt_splice_t *s, unsigned k, size_t t, size_t ms, size_t me,
    vpt_splice_result_t *res)
{
    res->matched = 1;
    res->anchor = k;

    switch (s->set[k]->place) {

    case VPT_PLACE_BEFORE:
        res->insert_at = ms;
        res->resume_at = ms;
        break;

    case VPT_PLACE_AFTER:
        res->insert_at = me;
        res->resume_at = me;
        break;

    default: /* VPT_PLACE_REPLACE */
        res->insert_at = ms;
        res->resume_at = me;
        break;
    }

    res->emit = res->insert_at;

    s->left &= ~(1u << k);

    if (s->left) {
        /*
         * The rest of V is searched from resume_at (the anchor is out of
         * the set); the tokenizer stays at ms and reads the anchor's bytes
         * on its way to the next candidate: the page as it was, even where
         * they are replaced.
         */
        s->t = t;
        s->from = res->resume_at;
        s->more = 1;
        return;
    }

    s->nheld = 0;
    s->nlast = 0;
    s->cur ^= 1;
    s->done = 1;
}
