/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The streaming anchor splicer.  splice_run() drives a body through the
 * splicer in pieces and reassembles the output the way the nginx glue
 * does: per feed, the slice of the previous hold and the slice of the data
 * that V's coordinates name, the insertion at most once, and the held bytes
 * at the end of the stream.  Most tests compare that output with a
 * reference computed on the whole body at once: the first occurrence that
 * starts where a plain transcription of the WHATWG tokenizer (below, its
 * states as the standard lists them) reads in the data state.  Hand-written
 * expectations check the reference itself.
 */

#define PCRE2_CODE_UNIT_WIDTH  8

#include <ctype.h>
#include <stdlib.h>
#include <pcre2.h>

#include "vpt_test.h"
#include "vpt_splice.h"
#include "splice_out.h"


#include "whatwg_ref.h"


#define INS      "[INS]"
#define MAXCUTS  4096


typedef struct {
    out_t           out;
    int             matched;
    size_t          max_held;    /* most bytes held after any feed */
    int             held_over;   /* nheld ever above a buffer half */
} run_t;


/*
 * Feeds body[0, len) cut at cuts[0..ncuts) (ascending, may repeat, which
 * makes an empty buffer) and reassembles the output into r.
 */

static void
splice_run(const vpt_anchor_t *a, const char *body, size_t len,
    const size_t *cuts, size_t ncuts, run_t *r)
{
    size_t                i, from, to, np, nh;
    void                 *mem;
    vpt_splice_t          s;
    const unsigned char  *prev, *held, *d;
    vpt_splice_result_t   res;

    memset(r, 0, sizeof(run_t));

    /* exactly the size asked for, so ASan sees any overflow */
    mem = malloc(vpt_splice_size(a));
    if (mem == NULL) {
        abort();
    }

    vpt_splice_init(&s, a, mem);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;
        d = (to > from) ? (const unsigned char *) body + from : NULL;

        vpt_splice_feed(&s, d, to - from, &res);

        prev = vpt_splice_prev_held(&s, &np);

        if (!res.matched) {
            out_add_v(&r->out, prev, np, d, 0, res.emit);

        } else {
            out_add_v(&r->out, prev, np, d, 0, res.insert_at);

            if (!r->matched) {
                out_add(&r->out, INS, sizeof(INS) - 1);
                r->matched = 1;
            }

            out_add_v(&r->out, prev, np, d, res.resume_at,
                      np + (to - from));
        }

        if (s.nheld > r->max_held) {
            r->max_held = s.nheld;
        }

        if (s.nheld > s.hold_cap) {
            r->held_over = 1;
        }

        from = to;
    }

    held = vpt_splice_held(&s, &nh);
    out_add(&r->out, held, nh);

    free(mem);
}


static void
run_free(run_t *r)
{
    free(r->out.data);
    r->out.data = NULL;
}


/* what the splice of the whole body at [ms, me) must produce */

static void
expect_splice(out_t *o, const char *body, size_t len, int found, size_t ms,
    size_t me, vpt_place_e place)
{
    memset(o, 0, sizeof(out_t));

    if (!found) {
        out_add(o, body, len);
        return;
    }

    switch (place) {

    case VPT_PLACE_BEFORE:
        out_add(o, body, ms);
        out_add(o, INS, sizeof(INS) - 1);
        out_add(o, body + ms, len - ms);
        break;

    case VPT_PLACE_AFTER:
        out_add(o, body, me);
        out_add(o, INS, sizeof(INS) - 1);
        out_add(o, body + me, len - me);
        break;

    default:
        out_add(o, body, ms);
        out_add(o, INS, sizeof(INS) - 1);
        out_add(o, body + me, len - me);
        break;
    }
}


static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


/* where the body is read in the data state, by the reference tokenizer */

static unsigned char *
ref_data(const char *body, size_t len)
{
    unsigned char  *data;

    data = malloc(len + 1);
    if (data == NULL) {
        abort();
    }

    ref_tokenize((const unsigned char *) body, len, data);

    return data;
}


/*
 * The reference: the first case-insensitive occurrence in the whole body
 * that starts in the data state.
 */

static void
ref_literal(const char *lit, size_t ll, const char *body, size_t len,
    vpt_place_e place, out_t *o)
{
    size_t          i, k;
    unsigned char  *data;

    data = ref_data(body, len);

    for (i = 0; i + ll <= len; i++) {
        for (k = 0; k < ll; k++) {
            if (lower(body[i + k]) != lower(lit[k])) {
                break;
            }
        }

        if (k == ll && data[i]) {
            expect_splice(o, body, len, 1, i, i + ll, place);
            free(data);
            return;
        }
    }

    expect_splice(o, body, len, 0, 0, 0, place);
    free(data);
}


/* the reference for a regex: PCRE2 over the whole body at once */

static void
ref_regex(const char *pat, const char *body, size_t len, vpt_place_e place,
    out_t *o)
{
    int                 rc, ec;
    size_t              start;
    PCRE2_SIZE          eo, *ov;
    pcre2_code         *re;
    unsigned char      *data;
    pcre2_match_data   *md;

    re = pcre2_compile((PCRE2_SPTR) pat, strlen(pat), PCRE2_CASELESS, &ec,
                       &eo, NULL);
    md = pcre2_match_data_create(1, NULL);
    if (re == NULL || md == NULL) {
        abort();
    }

    data = ref_data(body, len);
    ov = pcre2_get_ovector_pointer(md);
    rc = -1;

    for (start = 0; start <= len; start = ov[0] + 1) {
        rc = pcre2_match(re, (PCRE2_SPTR) (len ? body : ""), len, start,
                         PCRE2_NOTBOL, md, NULL);

        if (rc < 0 || (ov[0] < len && data[ov[0]])) {
            break;
        }

        rc = -1;
    }

    expect_splice(o, body, len, rc >= 0, rc >= 0 ? ov[0] : 0,
                  rc >= 0 ? ov[1] : 0, place);

    free(data);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}


static int
out_eq(const out_t *a, const out_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


static vpt_anchor_t *
anchor(const char *spec, vpt_place_e place)
{
    char           err[VPT_ERRLEN];
    vpt_anchor_t  *a;

    err[0] = '\0';
    a = vpt_anchor_create(spec, strlen(spec), place, err, sizeof(err));
    VPT_CHECK_MSG(a != NULL, "anchor \"%s\": %s", spec, err);

    return a;
}


/* one run with the given cuts, checked against want */

static int
check_cuts(const vpt_anchor_t *a, const char *body, size_t len,
    const size_t *cuts, size_t ncuts, const out_t *want)
{
    int    ok;
    run_t  r;

    splice_run(a, body, len, cuts, ncuts, &r);

    ok = out_eq(&r.out, want) && !r.held_over;

    if (!ok) {
        printf("#   body \"%.*s\", %zu cuts, first %zu: got \"%.*s\", "
               "want \"%.*s\"%s\n", (int) len, body, ncuts,
               ncuts ? cuts[0] : 0, (int) r.out.len,
               r.out.data ? (char *) r.out.data : "", (int) want->len,
               want->data ? (char *) want->data : "",
               r.held_over ? " (held too much)" : "");
    }

    run_free(&r);

    return ok;
}


/* every way to cut body in 1, 2 and 3 pieces, and one byte per buffer */

static int
check_all_splits(const vpt_anchor_t *a, const char *body, size_t len,
    const out_t *want)
{
    size_t  i, j, cuts[MAXCUTS];

    if (!check_cuts(a, body, len, NULL, 0, want)) {
        return 0;
    }

    for (i = 0; i <= len; i++) {
        cuts[0] = i;
        if (!check_cuts(a, body, len, cuts, 1, want)) {
            return 0;
        }

        for (j = i; j <= len; j++) {
            cuts[1] = j;
            if (!check_cuts(a, body, len, cuts, 2, want)) {
                return 0;
            }
        }
    }

    for (i = 1; i < len && i < MAXCUTS; i++) {
        cuts[i - 1] = i;
    }

    return check_cuts(a, body, len, cuts, len ? len - 1 : 0, want);
}


static int
check_literal_n(const char *lit, vpt_place_e place, const char *body,
    size_t len)
{
    int            ok;
    out_t          want;
    vpt_anchor_t  *a;

    a = anchor(lit, place);
    if (a == NULL) {
        return 0;
    }

    ref_literal(lit, strlen(lit), body, len, place, &want);
    ok = check_all_splits(a, body, len, &want);

    free(want.data);
    vpt_anchor_free(a);

    return ok;
}


static int
check_literal(const char *lit, vpt_place_e place, const char *body)
{
    return check_literal_n(lit, place, body, strlen(body));
}


static int
check_regex_n(const char *spec, vpt_place_e place, const char *body,
    size_t len)
{
    int            ok;
    out_t          want;
    vpt_anchor_t  *a;

    a = anchor(spec, place);
    if (a == NULL) {
        return 0;
    }

    ref_regex(spec + 1, body, len, place, &want);
    ok = check_all_splits(a, body, len, &want);

    free(want.data);
    vpt_anchor_free(a);

    return ok;
}


static int
check_regex(const char *spec, vpt_place_e place, const char *body)
{
    return check_regex_n(spec, place, body, strlen(body));
}


/* the output for a body fed whole, as a NUL-terminated string to compare */

static char *
splice_whole(const char *spec, vpt_place_e place, const char *body)
{
    char          *p;
    run_t          r;
    vpt_anchor_t  *a;

    a = anchor(spec, place);
    if (a == NULL) {
        return strdup("");
    }

    splice_run(a, body, strlen(body), NULL, 0, &r);
    out_add(&r.out, "", 1);
    p = (char *) r.out.data;

    vpt_anchor_free(a);

    return p;
}


static const char  page[] =
    "<html><head><title>t</title></head><body><p>Hi</p>"
    "<div id=\"cart\">2 items</div></body></html>\n";


VPT_TEST(literal_anchor_split_across_every_buffer_boundary)
{
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, page));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_AFTER, page));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_REPLACE, page));
}


VPT_TEST(body_delivered_one_byte_per_buffer)
{
    char  *got;

    /* check_all_splits ends with one byte per buffer; spell one out */
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, page));

    got = splice_whole("</body>", VPT_PLACE_BEFORE, "a</body>b");
    VPT_CHECK_STR(got, strlen(got), "a" INS "</body>b");
    free(got);
}


VPT_TEST(literal_matches_case_insensitively)
{
    char  *got;

    got = splice_whole("</body>", VPT_PLACE_BEFORE, "x</BODY>y");
    VPT_CHECK_STR(got, strlen(got), "x" INS "</BODY>y");
    free(got);

    got = splice_whole("</body>", VPT_PLACE_REPLACE, "x</Body>y");
    VPT_CHECK_STR(got, strlen(got), "x" INS "y");
    free(got);

    got = splice_whole("</BoDy>", VPT_PLACE_AFTER, "x</body>y");
    VPT_CHECK_STR(got, strlen(got), "x</body>" INS "y");
    free(got);

    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "a</bODY>b</BODY>"));
}


VPT_TEST(placements_before_after_and_replace)
{
    char          *got;
    vpt_anchor_t  *a;

    got = splice_whole("<hr>", VPT_PLACE_BEFORE, "a<hr>b");
    VPT_CHECK_STR(got, strlen(got), "a" INS "<hr>b");
    free(got);

    got = splice_whole("<hr>", VPT_PLACE_AFTER, "a<hr>b");
    VPT_CHECK_STR(got, strlen(got), "a<hr>" INS "b");
    free(got);

    got = splice_whole("<hr>", VPT_PLACE_REPLACE, "a<hr>b");
    VPT_CHECK_STR(got, strlen(got), "a" INS "b");
    free(got);

    a = anchor("<hr>", VPT_PLACE_REPLACE);
    VPT_CHECK(a != NULL && vpt_anchor_place(a) == VPT_PLACE_REPLACE);
    vpt_anchor_free(a);
}


VPT_TEST(anchor_at_the_very_start_or_end_of_the_body)
{
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "</body>"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_AFTER, "</body>tail"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_REPLACE, "head</body>"));
    VPT_CHECK(check_regex("~</body\\s*>", VPT_PLACE_REPLACE, "</body >"));
}


VPT_TEST(only_the_first_occurrence_is_spliced)
{
    char  *got;

    got = splice_whole("<hr>", VPT_PLACE_AFTER, "<hr>1<HR>2<hr>");
    VPT_CHECK_STR(got, strlen(got), "<hr>" INS "1<HR>2<hr>");
    free(got);

    VPT_CHECK(check_literal("</body>", VPT_PLACE_REPLACE,
                            "a</body>b</body>c</body>"));
    VPT_CHECK(check_regex("~</body\\s*>", VPT_PLACE_AFTER,
                          "a</body >b</body>c"));
}


VPT_TEST(no_anchor_passes_the_body_byte_identical)
{
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, ""));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE,
                            "<html><p>no anchor here</p></html>"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "page ends</bo"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "</body"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "<"));
    VPT_CHECK(check_regex("~</body\\s*>", VPT_PLACE_BEFORE, "x</body   "));
    VPT_CHECK(check_regex("~<div id=\"(cart|thanks)\">", VPT_PLACE_BEFORE,
                          "<div id=\"than"));
}


VPT_TEST(near_miss_prefixes_do_not_hide_the_anchor)
{
    char  *got;

    /* in text, a near miss opens a tag that ends at its '>' */
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "<></body>"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "</b></body>"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_AFTER,
                            "</bod></bod x></body></body>"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_REPLACE,
                            "<</ /></bo></bod></body"));
    VPT_CHECK(check_regex("~</body\\s*>", VPT_PLACE_REPLACE,
                          "</body </body\n> </body\n>"));

    got = splice_whole("</body>", VPT_PLACE_BEFORE, "</bod></bod x></body>");
    VPT_CHECK_STR(got, strlen(got), "</bod></bod x>" INS "</body>");
    free(got);

    /* and these are inside one: "</b<" is an end tag's name, "/body" and
     * "</body" its attributes */
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "<</body>"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE, "</b</body>"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_AFTER,
                            "</bod</bod</body></body>"));
    VPT_CHECK(check_literal("</body>", VPT_PLACE_REPLACE,
                            "<<//</bo</bod</body"));
    VPT_CHECK(check_literal("aab", VPT_PLACE_BEFORE, "aaaaab"));
    VPT_CHECK(check_literal("abab", VPT_PLACE_BEFORE, "abaabababab"));
    VPT_CHECK(check_regex("~</body\\s*>", VPT_PLACE_REPLACE,
                          "</body </body\n>"));
}


VPT_TEST(literal_found_whichever_of_its_bytes_the_scan_keys_on)
{
    /* the scan looks for the literal's rarest byte, not its first */
    VPT_CHECK(check_literal("<!-- vpt -->", VPT_PLACE_REPLACE,
                            "<p><!-- v --><!-- vpt --></p>"));
    VPT_CHECK(check_literal("zebra", VPT_PLACE_AFTER, "zzebzebrZEBRA"));
    VPT_CHECK(check_literal("q<>", VPT_PLACE_BEFORE, "<>q<q<>"));
    VPT_CHECK(check_literal("q<>", VPT_PLACE_BEFORE, "<>q<q<>q<>"));
    VPT_CHECK(check_literal("<div class=\"product\" data-id=\"0042\">",
                            VPT_PLACE_BEFORE,
                            "<div class=\"product\" data-id=\"0041\">"
                            "<div class=\"PRODUCT\" data-id=\"0042\">"));
}


VPT_TEST(long_bodies_find_the_literal_at_every_offset)
{
    int                 bad;
    char                body[300];
    size_t              i, k, at, len, cut, cuts[1];
    out_t               want;
    vpt_anchor_t       *a;
    static const char  *lits[] = { "</body>", "<h2>", "zebra", "q<>", "y" };
    static const char   filler[] =
        "<p>body ybody, </bod> </b y> </BOD? BODY> <bo dy> by </y></p>\n";

    /*
     * Text long enough for the scan's 64-start steps, strewn with near
     * misses (both rare bytes of "</body>" in place, not the rest), and
     * the literal, case flipped, at each offset: found there, whole or cut
     * in two, not at a near miss before it.
     */

    bad = 0;

    for (k = 0; k < sizeof(lits) / sizeof(lits[0]); k++) {
        a = anchor(lits[k], VPT_PLACE_BEFORE);
        if (a == NULL) {
            return;
        }

        len = sizeof(body) - 1;

        for (at = 0; at + strlen(lits[k]) <= len && bad < 5; at++) {
            for (i = 0; i < len; i++) {
                body[i] = filler[i % (sizeof(filler) - 1)];
            }

            for (i = 0; lits[k][i]; i++) {
                body[at + i] = (i % 2) ? (char) toupper(lits[k][i])
                                       : lits[k][i];
            }

            body[len] = '\0';

            ref_literal(lits[k], strlen(lits[k]), body, len,
                        VPT_PLACE_BEFORE, &want);

            cut = (at * 7) % (len + 1);
            cuts[0] = cut;

            bad += !check_cuts(a, body, len, NULL, 0, &want);
            bad += !check_cuts(a, body, len, cuts, 1, &want);

            free(want.data);
        }

        vpt_anchor_free(a);
    }

    VPT_CHECK(bad == 0);
}


VPT_TEST(one_byte_literal_holds_nothing)
{
    run_t          r;
    vpt_anchor_t  *a;
    size_t         cuts[] = { 1, 2, 3 };

    VPT_CHECK(check_literal(">", VPT_PLACE_AFTER, "ab>c>"));
    VPT_CHECK(check_literal("Q", VPT_PLACE_REPLACE, "aqbQ"));

    a = anchor("x", VPT_PLACE_BEFORE);
    if (a == NULL) {
        return;
    }

    VPT_CHECK(vpt_splice_size(a) > 0);

    splice_run(a, "abcd", 4, cuts, 3, &r);
    VPT_CHECK(r.max_held == 0);
    VPT_CHECK_STR((char *) r.out.data, r.out.len, "abcd");
    run_free(&r);

    vpt_anchor_free(a);
}


VPT_TEST(literal_with_nul_and_high_bytes_uses_explicit_lengths)
{
    run_t          r;
    vpt_anchor_t  *a;
    char           err[VPT_ERRLEN];
    size_t         cuts[] = { 2, 3 };
    static const char  spec[] = "\0\xe9Z";
    static const char  body[] = "x\0\xe9\0\xe9zy";

    a = vpt_anchor_create(spec, 3, VPT_PLACE_REPLACE, err, sizeof(err));
    VPT_CHECK_MSG(a != NULL, "%s", err);
    if (a == NULL) {
        return;
    }

    splice_run(a, body, sizeof(body) - 1, cuts, 2, &r);
    VPT_CHECK(r.out.len == 9
              && memcmp(r.out.data, "x\0\xe9" INS "y", 9) == 0);
    run_free(&r);

    vpt_anchor_free(a);
}


VPT_TEST(empty_buffers_and_feeds_after_the_match_pass_through)
{
    run_t          r;
    vpt_anchor_t  *a;
    size_t         cuts[] = { 0, 0, 3, 3, 3, 9, 9, 12, 14, 14 };

    a = anchor("</body>", VPT_PLACE_REPLACE);
    if (a == NULL) {
        return;
    }

    splice_run(a, "ab</body>cd</body>", 18, cuts, 10, &r);
    VPT_CHECK_STR((char *) r.out.data, r.out.len, "ab" INS "cd</body>");
    run_free(&r);

    vpt_anchor_free(a);
}


VPT_TEST(prev_held_stays_readable_until_the_next_feed)
{
    size_t               np;
    void                *mem;
    vpt_splice_t         s;
    vpt_anchor_t        *a;
    vpt_splice_result_t  res;
    const unsigned char *prev;

    a = anchor("</body>", VPT_PLACE_BEFORE);
    if (a == NULL) {
        return;
    }

    mem = malloc(vpt_splice_size(a));
    vpt_splice_init(&s, a, mem);

    vpt_splice_feed(&s, (const unsigned char *) "ab</bo", 6, &res);
    VPT_CHECK(!res.matched && res.emit == 2 && s.nheld == 4);

    /* the hold is released, and still readable for this feed */
    vpt_splice_feed(&s, (const unsigned char *) "x>", 2, &res);
    prev = vpt_splice_prev_held(&s, &np);
    VPT_CHECK(!res.matched && res.emit == 6 && s.nheld == 0);
    VPT_CHECK_STR((const char *) prev, np, "</bo");

    vpt_splice_feed(&s, (const unsigned char *) "</", 2, &res);
    VPT_CHECK(!res.matched && res.emit == 0 && s.nheld == 2);

    vpt_splice_feed(&s, (const unsigned char *) "body>!", 6, &res);
    prev = vpt_splice_prev_held(&s, &np);
    VPT_CHECK(res.matched && res.insert_at == 0 && res.resume_at == 0);
    VPT_CHECK_STR((const char *) prev, np, "</");
    VPT_CHECK(s.done && s.nheld == 0);

    vpt_splice_feed(&s, (const unsigned char *) "</body>", 7, &res);
    VPT_CHECK(!res.matched && res.emit == 7 && s.nheld == 0);

    free(mem);
    vpt_anchor_free(a);
}


VPT_TEST(regex_anchor_split_at_every_boundary)
{
    VPT_CHECK(check_regex("~</body\\s*>", VPT_PLACE_BEFORE, page));
    VPT_CHECK(check_regex("~</body\\s*>", VPT_PLACE_REPLACE,
                          "<p>x</p></body \n\t>tail"));
    VPT_CHECK(check_regex("~<div id=\"(cart|thanks)\">", VPT_PLACE_AFTER,
                          page));
    VPT_CHECK(check_regex("~<div id=\"(cart|thanks)\">", VPT_PLACE_REPLACE,
                          "<div id=\"car\"><div id=\"thanks\">ok</div>"));
    VPT_CHECK(check_regex("~<DIV ID=\"(cart|thanks)\">", VPT_PLACE_BEFORE,
                          "<div id=\"CART\">"));
}


VPT_TEST(regex_case_sensitivity_can_be_opted_out_of)
{
    VPT_CHECK(check_regex("~(?-i)</body>", VPT_PLACE_BEFORE,
                          "a</BODY>b</body>c"));
}


VPT_TEST(regex_partial_longer_than_hold_max_does_not_grow_memory)
{
    char          *body, *p;
    size_t         len, i, cuts[16];
    run_t          r;
    out_t          want;
    vpt_anchor_t  *a;

    /* "</body" + 3000 blanks + ">": a match too long to be seen */
    len = 6 + 3000 + 1 + 20 + 7;
    body = malloc(len + 1);
    p = body;
    memcpy(p, "</body", 6);
    p += 6;
    memset(p, ' ', 3000);
    p += 3000;
    memcpy(p, ">", 1);
    p += 1;
    memcpy(p, "-rest-of-the-page-- ", 20);
    p += 20;
    memcpy(p, "</body>", 7);
    body[len] = '\0';

    a = anchor("~</body\\s*>", VPT_PLACE_REPLACE);
    if (a == NULL) {
        free(body);
        return;
    }

    memset(&want, 0, sizeof(out_t));
    out_add(&want, body, len - 7);
    out_add(&want, INS, sizeof(INS) - 1);

    for (i = 0; i < 15; i++) {
        cuts[i] = (i + 1) * 200;
    }

    splice_run(a, body, len, cuts, 15, &r);
    VPT_CHECK(!r.held_over && r.max_held <= VPT_REGEX_HOLD_MAX);
    VPT_CHECK(out_eq(&r.out, &want));
    run_free(&r);

    splice_run(a, body, len, NULL, 0, &r);
    VPT_CHECK(!r.held_over && out_eq(&r.out, &want));
    run_free(&r);

    VPT_CHECK(check_cuts(a, body, len, NULL, 0, &want));

    free(want.data);
    free(body);
    vpt_anchor_free(a);
}


VPT_TEST(regex_match_inside_a_too_long_partial_is_still_found)
{
    char          *body;
    size_t         len, cuts[MAXCUTS], i;
    run_t          r;
    out_t          want;
    vpt_anchor_t  *a;

    /* "a" + 2000 "b" + "<p>" + "z": "a...z" is too long, "<p>" is not */
    len = 1 + 2000 + 3 + 1;
    body = malloc(len + 1);
    body[0] = 'a';
    memset(body + 1, 'b', 2000);
    memcpy(body + 2001, "<p>z", 4);
    body[len] = '\0';

    a = anchor("~a[^z]*z|<p>", VPT_PLACE_REPLACE);
    if (a == NULL) {
        free(body);
        return;
    }

    memset(&want, 0, sizeof(out_t));
    out_add(&want, body, 2001);
    out_add(&want, INS "z", sizeof(INS));

    splice_run(a, body, len, NULL, 0, &r);
    VPT_CHECK(out_eq(&r.out, &want));
    run_free(&r);

    for (i = 0; i < len - 1; i++) {
        cuts[i] = i + 1;
    }

    splice_run(a, body, len, cuts, len - 1, &r);
    VPT_CHECK(out_eq(&r.out, &want) && !r.held_over);
    run_free(&r);

    free(want.data);
    free(body);
    vpt_anchor_free(a);
}


VPT_TEST(regex_pathological_partials_stay_bounded_and_flow)
{
    char          *body;
    size_t         len, i, cuts[64];
    run_t          r;
    vpt_anchor_t  *a;

    /* every byte starts a partial match that never ends */
    len = 64 * 1024;
    body = malloc(len + 1);
    memset(body, 'a', len);
    body[len] = '\0';

    a = anchor("~a[^z]*z", VPT_PLACE_BEFORE);
    if (a == NULL) {
        free(body);
        return;
    }

    for (i = 0; i < 15; i++) {
        cuts[i] = (i + 1) * 4096;
    }

    splice_run(a, body, len, cuts, 15, &r);
    VPT_CHECK(!r.held_over && r.max_held <= VPT_REGEX_HOLD_MAX);
    VPT_CHECK(!r.matched && r.out.len == len
              && memcmp(r.out.data, body, len) == 0);
    run_free(&r);

    free(body);
    vpt_anchor_free(a);
}


VPT_TEST(regex_hitting_the_match_limit_fails_open)
{
    size_t               np;
    void                *mem;
    vpt_splice_t         s;
    vpt_anchor_t        *a;
    vpt_splice_result_t  res;
    static const char    boom[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";

    a = anchor("~(a+)+b", VPT_PLACE_REPLACE);
    if (a == NULL) {
        return;
    }

    mem = malloc(vpt_splice_size(a));
    vpt_splice_init(&s, a, mem);

    vpt_splice_feed(&s, (const unsigned char *) boom, sizeof(boom) - 1,
                    &res);
    VPT_CHECK(!res.matched && res.emit == sizeof(boom) - 1 && s.nheld == 0);

    vpt_splice_feed(&s, (const unsigned char *) "xab", 3, &res);
    (void) vpt_splice_prev_held(&s, &np);
    VPT_CHECK(res.matched && res.insert_at == 1 && res.resume_at == 3
              && np == 0);

    free(mem);
    vpt_anchor_free(a);
}


VPT_TEST(invalid_regex_error_names_pcre2_message_and_offset)
{
    char           err[VPT_ERRLEN];
    vpt_anchor_t  *a;

    err[0] = '\0';
    a = vpt_anchor_create("~(foo", 5, VPT_PLACE_BEFORE, err, sizeof(err));
    VPT_CHECK(a == NULL);
    VPT_CHECK_MSG(strcmp(err, "invalid regex \"(foo\": missing closing "
                         "parenthesis at offset 4") == 0, "%s", err);

    /* a short err buffer is truncated, not overrun; NULL is fine */
    a = vpt_anchor_create("~[x", 3, VPT_PLACE_BEFORE, err, 8);
    VPT_CHECK(a == NULL && strlen(err) == 7);
    a = vpt_anchor_create("~[x", 3, VPT_PLACE_BEFORE, NULL, 0);
    VPT_CHECK(a == NULL);
}


VPT_TEST(empty_and_empty_matching_anchors_are_rejected)
{
    size_t         i;
    char           err[VPT_ERRLEN];
    vpt_anchor_t  *a;
    static const char  *bad[] = {
        "", "~", "~a*", "~(?:)", "~x|", "~\\b", "~(?=<)?", "~^<body",
        "~\\A<body"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        a = vpt_anchor_create(bad[i], strlen(bad[i]), VPT_PLACE_BEFORE, err,
                              sizeof(err));
        VPT_CHECK_MSG(a == NULL && err[0] != '\0', "\"%s\" accepted",
                      bad[i]);
        vpt_anchor_free(a);
    }

    err[0] = '\0';
    a = vpt_anchor_create("~a*", 3, VPT_PLACE_BEFORE, err, sizeof(err));
    VPT_CHECK_MSG(strstr(err, "empty string") != NULL, "%s", err);

    vpt_anchor_free(NULL);
}


VPT_TEST(held_bytes_never_exceed_hold_max)
{
    run_t          r;
    vpt_anchor_t  *a;
    size_t         i, cuts[MAXCUTS];
    static const char  body[] = "</bod> </bo> </b> </ </> < </body";

    a = anchor("</body>", VPT_PLACE_BEFORE);
    if (a == NULL) {
        return;
    }

    VPT_CHECK(vpt_splice_size(a) == 4 * 6);

    for (i = 0; i + 2 < sizeof(body); i++) {
        cuts[i] = i + 1;
    }

    splice_run(a, body, sizeof(body) - 1, cuts, sizeof(body) - 2, &r);
    VPT_CHECK(r.max_held == 6 && !r.held_over);
    VPT_CHECK_STR((char *) r.out.data, r.out.len, body);
    run_free(&r);

    vpt_anchor_free(a);

    a = anchor("~</body\\s*>", VPT_PLACE_BEFORE);
    VPT_CHECK(a != NULL && vpt_splice_size(a) == 4 * VPT_REGEX_HOLD_MAX);
    vpt_anchor_free(a);
}


/* random bodies over a small alphabet, random chunks, against the reference */

static size_t
random_body(uint64_t *rs, char *body, size_t max)
{
    size_t             len, i;
    static const char  alpha[] = "<>/bodyBODY x";

    len = vpt_rand_next(rs) % max;

    for (i = 0; i < len; i++) {
        body[i] = alpha[vpt_rand_next(rs) % (sizeof(alpha) - 1)];
    }

    /* plant the anchor in half of them, possibly with odd case */
    if (len > 10 && vpt_rand_next(rs) % 2) {
        memcpy(body + vpt_rand_next(rs) % (len - 7),
               vpt_rand_next(rs) % 2 ? "</body>" : "</BoDy>", 7);
    }

    body[len] = '\0';

    return len;
}


static size_t
random_cuts(uint64_t *rs, size_t len, size_t *cuts)
{
    size_t  n, at, step;

    n = 0;
    at = 0;
    step = 1 + vpt_rand_next(rs) % 12;

    for ( ;; ) {
        at += vpt_rand_next(rs) % (step + 1);    /* 0: an empty buffer */
        if (at >= len || n == MAXCUTS) {
            return n;
        }

        cuts[n++] = at;
    }
}


static int
random_round(uint64_t *rs, const vpt_anchor_t *a, const char *spec,
    int regex)
{
    int          ok;
    char         body[256];
    size_t       len, n, cuts[MAXCUTS];
    vpt_place_e  place;
    out_t        want;

    len = random_body(rs, body, sizeof(body) - 1);
    n = random_cuts(rs, len, cuts);
    place = vpt_anchor_place(a);

    if (regex) {
        ref_regex(spec + 1, body, len, place, &want);

    } else {
        ref_literal(spec, strlen(spec), body, len, place, &want);
    }

    ok = check_cuts(a, body, len, cuts, n, &want);

    free(want.data);

    return ok;
}


VPT_TEST(random_bodies_and_chunkings_match_the_whole_body_reference)
{
    int            i, p, bad;
    uint64_t       rs;
    vpt_anchor_t  *a;

    rs = 20260125;
    bad = 0;

    for (p = 0; p < 3; p++) {
        a = anchor("</body>", (vpt_place_e) p);
        if (a == NULL) {
            return;
        }

        for (i = 0; i < 2000 && bad < 5; i++) {
            bad += !random_round(&rs, a, "</body>", 0);
        }

        vpt_anchor_free(a);

        a = anchor("~</bo?dy\\s*>", (vpt_place_e) p);
        if (a == NULL) {
            return;
        }

        for (i = 0; i < 2000 && bad < 5; i++) {
            bad += !random_round(&rs, a, "~</bo?dy\\s*>", 1);
        }

        vpt_anchor_free(a);
    }

    VPT_CHECK(bad == 0);
}


/* --- anchors that are not anchors ---------------------------------------- */


/*
 * Bodies whose real anchor, if any, is the last "</body>": each earlier
 * one starts in markup.  The expectation is stated without the reference
 * (before the last "</body>", or nothing when real is 0), and the
 * reference must agree with it at every split.
 */

typedef struct {
    const char  *body;
    int          real;
} markup_case_t;


static const markup_case_t  in_markup[] = {
    { "<!-- </body> --><p>x</p></body>", 1 },
    { "<script>var s = \"</body>\";</script></body>", 1 },
    { "<script>document.write('</body>')</script>\n</body>", 1 },
    { "<script>if (a</body) {}</script></body>", 1 },
    { "<style>/* </body> */</style></body>", 1 },
    { "<textarea></body></textarea></body>", 1 },
    { "<title></body></title></body>", 1 },
    { "<noscript></body></noscript></body>", 1 },
    { "<div title=\"</body>\"></div></body>", 1 },
    { "<div title='</body>'></div></body>", 1 },
    { "<a href=/x/</body>x>y</a></body>", 1 },
    { "<div class=\"x>y </body>\">z</div></body>", 1 },
    { "<div </body>></body>", 1 },
    { "<!DOCTYPE </body>><p></body>", 1 },
    { "<?php echo '</body>' ?></body>", 1 },
    { "<! </body>></body>", 1 },
    { "<![CDATA[</body>]]></body>", 1 },
    { "<!--></body>", 1 },
    { "<!---></body>", 1 },
    { "<!-- --!></body>", 1 },
    { "<script><!--<script></body></script>--></script></body>", 1 },
    { "<script><!-- </body> --></script></body>", 1 },
    { "<SCRIPT>\"</BODY>\"</Script ></BODY>", 1 },
    { "<!-- </body> -->", 0 },
    { "<!--</body>--!-></body>", 0 },
    { "<script>\"</body>\"", 0 },
    { "<plaintext></body>", 0 },
    { "<p class=\"</body>", 0 },
    { "<script><!--<script></script></body>", 0 },
};


/* the body with INS before its last "</body>", any case */

static void
expect_before_last(const char *body, out_t *o)
{
    size_t  i, k, len, at;

    len = strlen(body);
    at = len;

    for (i = 0; i + 7 <= len; i++) {
        for (k = 0; k < 7 && lower(body[i + k]) == "</body>"[k]; k++) {
            /* void */
        }

        if (k == 7) {
            at = i;
        }
    }

    expect_splice(o, body, len, at < len, at, at + 7, VPT_PLACE_BEFORE);
}


VPT_TEST(anchor_in_comments_scripts_and_attributes_is_passed_over)
{
    char    *got;
    size_t   i, p;
    out_t    want, ref;

    for (i = 0; i < sizeof(in_markup) / sizeof(in_markup[0]); i++) {
        expect_before_last(in_markup[i].body, &want);

        if (!in_markup[i].real) {
            free(want.data);
            memset(&want, 0, sizeof(out_t));
            out_add(&want, in_markup[i].body, strlen(in_markup[i].body));
        }

        /* the reference agrees with what is stated by hand */
        ref_literal("</body>", 7, in_markup[i].body,
                    strlen(in_markup[i].body), VPT_PLACE_BEFORE, &ref);
        VPT_CHECK_MSG(out_eq(&ref, &want), "reference: \"%s\"",
                      in_markup[i].body);
        free(ref.data);

        got = splice_whole("</body>", VPT_PLACE_BEFORE, in_markup[i].body);
        VPT_CHECK_MSG(strlen(got) == want.len
                      && memcmp(got, want.data, want.len) == 0,
                      "\"%s\": got \"%s\"", in_markup[i].body, got);
        free(got);
        free(want.data);

        /* every split, one byte per buffer, every placement, and regex */
        for (p = 0; p < 3; p++) {
            VPT_CHECK(check_literal("</body>", (vpt_place_e) p,
                                    in_markup[i].body));
        }

        VPT_CHECK(check_regex("~</body\\s*>", VPT_PLACE_REPLACE,
                              in_markup[i].body));
    }
}


VPT_TEST(anchor_case_and_repetition_in_markup)
{
    char  *got;

    got = splice_whole("</body>", VPT_PLACE_BEFORE,
                       "<SCRIPT>x='</BODY>'</Script\t><!--</Body>--></bOdY>");
    VPT_CHECK_STR(got, strlen(got),
                  "<SCRIPT>x='</BODY>'</Script\t><!--</Body>-->" INS
                  "</bOdY>");
    free(got);

    got = splice_whole("</body>", VPT_PLACE_AFTER,
                       "<a b='</body>'></body></body>");
    VPT_CHECK_STR(got, strlen(got), "<a b='</body>'></body>" INS "</body>");
    free(got);

    VPT_CHECK(check_literal("</BODY>", VPT_PLACE_REPLACE,
                            "<a b=</BODY> c></BODY></body>"));

    got = splice_whole("</body>", VPT_PLACE_REPLACE,
                       "<!-- </body> --></body></body></body>");
    VPT_CHECK_STR(got, strlen(got), "<!-- </body> -->" INS "</body></body>");
    free(got);

    VPT_CHECK(check_literal("</body>", VPT_PLACE_BEFORE,
                            "<!-- </body> --></body></body></body>"));
}


VPT_TEST(nul_bytes_and_invalid_utf8_in_the_body)
{
    run_t          r;
    vpt_anchor_t  *a;
    static const char  body[] =
        "\0<!--\xff</body>\0-->\xc3\x28<a b=\"\0</body>\xfe\">\x80</body>\0";
    static const char  want[] =
        "\0<!--\xff</body>\0-->\xc3\x28<a b=\"\0</body>\xfe\">\x80"
        INS "</body>\0";

    VPT_CHECK(check_literal_n("</body>", VPT_PLACE_BEFORE, body,
                              sizeof(body) - 1));
    VPT_CHECK(check_regex_n("~</body\\s*>", VPT_PLACE_AFTER, body,
                            sizeof(body) - 1));

    a = anchor("</body>", VPT_PLACE_BEFORE);
    if (a == NULL) {
        return;
    }

    splice_run(a, body, sizeof(body) - 1, NULL, 0, &r);
    VPT_CHECK(r.out.len == sizeof(want) - 1
              && memcmp(r.out.data, want, r.out.len) == 0);
    run_free(&r);

    vpt_anchor_free(a);
}


VPT_TEST(regex_anchor_in_markup_is_passed_over)
{
    char  *got;

    got = splice_whole("~<div id=\"(cart|thanks)\">", VPT_PLACE_BEFORE,
                       "<!-- <div id=\"cart\"> --><script>'<div id=\"cart\">'"
                       "</script><p title='<div id=\"thanks\">'>"
                       "<div id=\"thanks\">");
    VPT_CHECK_STR(got, strlen(got),
                  "<!-- <div id=\"cart\"> --><script>'<div id=\"cart\">'"
                  "</script><p title='<div id=\"thanks\">'>"
                  INS "<div id=\"thanks\">");
    free(got);

    /* a match that starts in a tag (id="cart") is not real: whole tags */
    got = splice_whole("~id=\"cart\"", VPT_PLACE_BEFORE, "<div id=\"cart\">");
    VPT_CHECK_STR(got, strlen(got), "<div id=\"cart\">");
    free(got);

    VPT_CHECK(check_regex("~<div id=\"(cart|thanks)\">", VPT_PLACE_AFTER,
                          "<!--<div id=\"cart\">--><div id=\"cart\">"));
    VPT_CHECK(check_regex("~</?body\\s*>", VPT_PLACE_REPLACE,
                          "<script></body></script><body >"));
}


VPT_TEST(text_anchors_count_in_text_only)
{
    char  *got;

    /* an anchor that is not a tag: text counts, attribute values do not */
    got = splice_whole("Thank you", VPT_PLACE_AFTER,
                       "<img alt=\"Thank you\"><!--Thank you-->Thank you!");
    VPT_CHECK_STR(got, strlen(got),
                  "<img alt=\"Thank you\"><!--Thank you-->Thank you" INS "!");
    free(got);

    /* a comment as the anchor starts in text: it counts */
    got = splice_whole("<!-- offers -->", VPT_PLACE_REPLACE,
                       "<script>'<!-- offers -->'</script><!-- offers -->x");
    VPT_CHECK_STR(got, strlen(got),
                  "<script>'<!-- offers -->'</script>" INS "x");
    free(got);

    VPT_CHECK(check_literal("x", VPT_PLACE_BEFORE, "<x y=x><!--x-->x"));
    VPT_CHECK(check_literal("<", VPT_PLACE_AFTER, "<!--<--><a title='<'><"));
}


VPT_TEST(held_bytes_the_caller_sent_itself_are_still_tokenized)
{
    size_t               np;
    void                *mem;
    vpt_splice_t         s;
    vpt_anchor_t        *a;
    vpt_splice_result_t  res;

    a = anchor("<p>", VPT_PLACE_BEFORE);
    if (a == NULL) {
        return;
    }

    mem = malloc(vpt_splice_size(a));
    vpt_splice_init(&s, a, mem);

    /* "<" is held, then sent by the caller (the end of a part) */
    vpt_splice_feed(&s, (const unsigned char *) "a<", 2, &res);
    VPT_CHECK(!res.matched && res.emit == 1 && s.nheld == 1);
    s.nheld = 0;

    /* so "!-- <p> -->" continues a comment: its <p> is not real */
    vpt_splice_feed(&s, (const unsigned char *) "!-- <p> --><p>", 14, &res);
    (void) vpt_splice_prev_held(&s, &np);
    VPT_CHECK(np == 0 && res.matched && res.insert_at == 11);

    free(mem);
    vpt_anchor_free(a);
}


VPT_TEST(many_anchors_in_markup_cost_one_pass)
{
    char          *body;
    size_t         len, i, cuts[64];
    run_t          r;
    vpt_anchor_t  *a;

    /* 64 KB of "</body>" in a comment, then the real one */
    len = 4 + 9362 * 7 + 3 + 7;
    body = malloc(len + 1);
    memcpy(body, "<!--", 4);

    for (i = 0; i < 9362; i++) {
        memcpy(body + 4 + i * 7, "</body>", 7);
    }

    memcpy(body + len - 10, "--></body>", 10);
    body[len] = '\0';

    for (i = 0; i < 15; i++) {
        cuts[i] = (i + 1) * 4093;
    }

    a = anchor("~</body\\s*>", VPT_PLACE_BEFORE);
    if (a != NULL) {
        splice_run(a, body, len, cuts, 15, &r);
        VPT_CHECK(r.matched && r.out.len == len + sizeof(INS) - 1
                  && memcmp(r.out.data + len - 7, INS, sizeof(INS) - 1)
                     == 0);
        run_free(&r);
        vpt_anchor_free(a);
    }

    a = anchor("</body>", VPT_PLACE_BEFORE);
    if (a != NULL) {
        splice_run(a, body, len, cuts, 15, &r);
        VPT_CHECK(r.matched && r.out.len == len + sizeof(INS) - 1
                  && memcmp(r.out.data + len - 7, INS, sizeof(INS) - 1)
                     == 0);
        run_free(&r);
        vpt_anchor_free(a);
    }

    free(body);
}


/* random bodies of HTML pieces, random chunks, against the reference */

static const char  *html_pieces[] = {
    "<", ">", "/", "!", "-", "--", "\"", "'", "=", " ", "\n", "a", "x",
    "body", "BODY", "</body>", "</BoDy >", "</body", "</bo", "script",
    "<script>", "</script>", "</script ", "<style>", "</style>", "<title>",
    "</title>", "<textarea>", "</textarea>", "<plaintext>", "<!--", "-->",
    "--!>", "<!-->", "<!--->", "<!-", "<!DOCTYPE", "<?", "<p>", "<div a=",
    "<a href=", "<!--<script>", "</scr", "ipt>", "\t", "\r", "\0", "\xe9",
    "<![CDATA[", "?>", "<img alt='"
};

#define NPIECES  (sizeof(html_pieces) / sizeof(html_pieces[0]))


static size_t
random_html(uint64_t *rs, char *body, size_t max)
{
    size_t       len, n, k, i;
    const char  *s;

    len = 0;
    n = 1 + vpt_rand_next(rs) % 40;

    for (i = 0; i < n; i++) {
        s = html_pieces[vpt_rand_next(rs) % NPIECES];
        k = s[0] ? strlen(s) : 1;

        if (len + k > max) {
            break;
        }

        memcpy(body + len, s, k);
        len += k;
    }

    return len;
}


VPT_TEST(random_html_and_chunkings_match_the_whole_body_reference)
{
    int            p, bad;
    char           body[400];
    size_t         i, len, n, cuts[MAXCUTS];
    out_t          want;
    uint64_t       rs;
    vpt_anchor_t  *a[2];
    static const char  *specs[] = { "</body>", "~</bo?dy\\s*>" };

    rs = 20260126;
    bad = 0;

    for (p = 0; p < 3; p++) {
        a[0] = anchor(specs[0], (vpt_place_e) p);
        a[1] = anchor(specs[1], (vpt_place_e) p);

        if (a[0] == NULL || a[1] == NULL) {
            return;
        }

        for (i = 0; i < 3000 && bad < 5; i++) {
            len = random_html(&rs, body, sizeof(body));
            n = random_cuts(&rs, len, cuts);

            ref_literal(specs[0], 7, body, len, (vpt_place_e) p, &want);
            bad += !check_cuts(a[0], body, len, cuts, n, &want);
            free(want.data);

            ref_regex(specs[1] + 1, body, len, (vpt_place_e) p, &want);
            bad += !check_cuts(a[1], body, len, cuts, n, &want);
            free(want.data);
        }

        vpt_anchor_free(a[0]);
        vpt_anchor_free(a[1]);
    }

    VPT_CHECK(bad == 0);
}


VPT_TEST(streaming_tokenizer_reads_every_byte_as_the_reference)
{
    int             bad;
    char            body[400];
    size_t          i, k, len, off, n;
    uint64_t        rs;
    vpt_html_t      h;
    unsigned char  *data;

    rs = 7;
    bad = 0;

    for (i = 0; i < 5000 && bad < 5; i++) {
        len = random_html(&rs, body, sizeof(body));
        data = ref_data(body, len);

        /* in random pieces, asked at each piece's first byte */
        vpt_html_init(&h);

        for (off = 0; off < len; off += n) {
            if (vpt_html_in_data(&h, (unsigned char) body[off])
                != data[off])
            {
                printf("#   byte %zu of \"%.*s\"\n", off, (int) len, body);
                bad++;
                break;
            }

            n = vpt_rand_next(&rs) % 9;
            n = (n > len - off) ? len - off : n;

            if (!data[off] && n == 0) {
                /* the skip lands on the next byte read as text */
                n = vpt_html_skip(&h, (const unsigned char *) body + off,
                                  len - off);

                for (k = off; k < len && !data[k]; k++) {
                    /* void */
                }

                if (off + n != k) {
                    printf("#   skip from %zu of \"%.*s\"\n", off,
                           (int) len, body);
                    bad++;
                    break;
                }

                if (n == 0) {
                    break;
                }

                continue;
            }

            vpt_html_scan(&h, (const unsigned char *) body + off, n);
        }

        free(data);
    }

    VPT_CHECK(bad == 0);
}


int
main(void)
{
    VPT_RUN(literal_anchor_split_across_every_buffer_boundary);
    VPT_RUN(body_delivered_one_byte_per_buffer);
    VPT_RUN(literal_matches_case_insensitively);
    VPT_RUN(placements_before_after_and_replace);
    VPT_RUN(anchor_at_the_very_start_or_end_of_the_body);
    VPT_RUN(only_the_first_occurrence_is_spliced);
    VPT_RUN(no_anchor_passes_the_body_byte_identical);
    VPT_RUN(near_miss_prefixes_do_not_hide_the_anchor);
    VPT_RUN(literal_found_whichever_of_its_bytes_the_scan_keys_on);
    VPT_RUN(long_bodies_find_the_literal_at_every_offset);
    VPT_RUN(one_byte_literal_holds_nothing);
    VPT_RUN(literal_with_nul_and_high_bytes_uses_explicit_lengths);
    VPT_RUN(empty_buffers_and_feeds_after_the_match_pass_through);
    VPT_RUN(prev_held_stays_readable_until_the_next_feed);
    VPT_RUN(regex_anchor_split_at_every_boundary);
    VPT_RUN(regex_case_sensitivity_can_be_opted_out_of);
    VPT_RUN(regex_partial_longer_than_hold_max_does_not_grow_memory);
    VPT_RUN(regex_match_inside_a_too_long_partial_is_still_found);
    VPT_RUN(regex_pathological_partials_stay_bounded_and_flow);
    VPT_RUN(regex_hitting_the_match_limit_fails_open);
    VPT_RUN(invalid_regex_error_names_pcre2_message_and_offset);
    VPT_RUN(empty_and_empty_matching_anchors_are_rejected);
    VPT_RUN(held_bytes_never_exceed_hold_max);
    VPT_RUN(random_bodies_and_chunkings_match_the_whole_body_reference);
    VPT_RUN(anchor_in_comments_scripts_and_attributes_is_passed_over);
    VPT_RUN(anchor_case_and_repetition_in_markup);
    VPT_RUN(nul_bytes_and_invalid_utf8_in_the_body);
    VPT_RUN(regex_anchor_in_markup_is_passed_over);
    VPT_RUN(text_anchors_count_in_text_only);
    VPT_RUN(held_bytes_the_caller_sent_itself_are_still_tokenized);
    VPT_RUN(many_anchors_in_markup_cost_one_pass);
    VPT_RUN(random_html_and_chunkings_match_the_whole_body_reference);
    VPT_RUN(streaming_tokenizer_reads_every_byte_as_the_reference);

    return VPT_DONE();
}
