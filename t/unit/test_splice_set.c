/*
 * Copyright (C) ngx_vpt_module authors
 *
 * A set of anchors in one stream (several placements on one page).
 * set_run() drives a body through the splicer in pieces, as the nginx glue
 * does: per feed the slices V's coordinates name, each match's insertion
 * ("[k]" for set[k]), then vpt_splice_next() on the same data while the
 * set has anchors left.  It also notes where in the body each anchor was
 * matched.  The checks: against single-anchor splicers run over the same
 * body (the differential: with "before", nothing is skipped, so each
 * anchor matches where it alone would), and against a reference on the
 * whole body (the leftmost real occurrence among the anchors left, from
 * where the last match resumed), over every chunking of hand-written
 * pages and random ones.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_splice.h"
#include "splice_out.h"

#include "whatwg_ref.h"


#define MAXCUTS  4096
#define NOPOS    ((size_t) -1)


typedef struct {
    out_t           out;
    size_t          at[VPT_SPLICE_SET_MAX];   /* body offset of each match */
    size_t          max_held;
} run_t;


static void
set_run(vpt_anchor_t *const *a, size_t n, const char *body, size_t len,
    const size_t *cuts, size_t ncuts, run_t *r)
{
    size_t                i, k, from, to, np, nh, v;
    void                 *mem;
    vpt_splice_t          s;
    const unsigned char  *prev, *held, *d;
    vpt_splice_result_t   res;

    memset(r, 0, sizeof(run_t));

    for (k = 0; k < VPT_SPLICE_SET_MAX; k++) {
        r->at[k] = NOPOS;
    }

    /* exactly the size asked for, so ASan sees any overflow */
    mem = malloc(vpt_splice_set_size(a, n));
    if (mem == NULL) {
        abort();
    }

    vpt_splice_init_set(&s, a, n, mem);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;
        d = (to > from) ? (const unsigned char *) body + from : NULL;

        vpt_splice_feed(&s, d, to - from, &res);

        prev = vpt_splice_prev_held(&s, &np);
        v = 0;      /* V[0, v) went out */

        while (res.matched) {
            out_add_v(&r->out, prev, np, d, v, res.insert_at);
            out_mark(&r->out, res.anchor);

            /* V[x] is body[from - np + x] */
            r->at[res.anchor] = from - np + res.insert_at;
            v = res.resume_at;

            if (!s.more) {
                break;
            }

            vpt_splice_next(&s, d, to - from, &res);
        }

        out_add_v(&r->out, prev, np, d, v,
                  res.matched ? np + (to - from) : res.emit);

        if (s.nheld > r->max_held) {
            r->max_held = s.nheld;
        }

        from = to;
    }

    held = vpt_splice_held(&s, &nh);
    out_add(&r->out, held, nh);

    free(mem);
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


static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


static int
lit_at(const char *lit, const char *body, size_t len, size_t i)
{
    size_t  k, ll;

    ll = strlen(lit);

    if (i + ll > len) {
        return 0;
    }

    for (k = 0; k < ll; k++) {
        if (lower(body[i + k]) != lower(lit[k])) {
            return 0;
        }
    }

    return 1;
}


/*
 * The reference on the whole body: from where the last match resumed, the
 * leftmost occurrence of an anchor left that starts in the data state (the
 * tokenizer reads the page as it was); at one start the first in the set.
 */

static void
ref_set(const char *const *lit, const vpt_place_e *place, size_t n,
    const char *body, size_t len, out_t *o, size_t *at)
{
    size_t          i, k, cur, ll, ins, res;
    unsigned        left;
    unsigned char  *data;

    memset(o, 0, sizeof(out_t));

    data = malloc(len + 1);
    if (data == NULL) {
        abort();
    }

    ref_tokenize((const unsigned char *) body, len, data);

    for (k = 0; k < VPT_SPLICE_SET_MAX; k++) {
        at[k] = NOPOS;
    }

    left = (1u << n) - 1;
    cur = 0;        /* body[0, cur) is out */
    i = 0;

    while (left && i < len) {
        for (k = 0; k < n; k++) {
            if ((left & (1u << k)) && data[i] && lit_at(lit[k], body, len, i))
            {
                break;
            }
        }

        if (k == n) {
            i++;
            continue;
        }

        ll = strlen(lit[k]);
        ins = (place[k] == VPT_PLACE_AFTER) ? i + ll : i;
        res = (place[k] == VPT_PLACE_BEFORE) ? i : i + ll;

        out_add(o, body + cur, ins - cur);
        out_mark(o, (unsigned) k);
        at[k] = ins;
        cur = res;
        left &= ~(1u << k);
        i = res;
    }

    out_add(o, body + cur, len - cur);
    free(data);
}


static int
run_ok(vpt_anchor_t *const *a, size_t n, const char *body, size_t len,
    const size_t *cuts, size_t ncuts, const out_t *want, const size_t *at)
{
    int     ok;
    size_t  k, cap;
    run_t   r;

    set_run(a, n, body, len, cuts, ncuts, &r);

    cap = vpt_splice_set_size(a, n) / 4;
    ok = r.out.len == want->len
         && (want->len == 0 || memcmp(r.out.data, want->data, want->len) == 0)
         && r.max_held <= cap;

    for (k = 0; k < n; k++) {
        ok = ok && r.at[k] == at[k];
    }

    if (!ok) {
        printf("#   body \"%.*s\", %zu cuts, first %zu: got \"%.*s\", "
               "want \"%.*s\", held %zu of %zu\n", (int) len, body, ncuts,
               ncuts ? cuts[0] : 0, (int) r.out.len,
               r.out.data ? (char *) r.out.data : "", (int) want->len,
               want->data ? (char *) want->data : "", r.max_held, cap);
    }

    free(r.out.data);

    return ok;
}


/* whole, every cut in two and three pieces, one byte per buffer */

static int
all_splits(vpt_anchor_t *const *a, size_t n, const char *body, size_t len,
    const out_t *want, const size_t *at)
{
    size_t  i, j, cuts[MAXCUTS];

    if (!run_ok(a, n, body, len, NULL, 0, want, at)) {
        return 0;
    }

    for (i = 0; i <= len; i++) {
        cuts[0] = i;
        if (!run_ok(a, n, body, len, cuts, 1, want, at)) {
            return 0;
        }

        for (j = i; j <= len && len < 200; j++) {
            cuts[1] = j;
            if (!run_ok(a, n, body, len, cuts, 2, want, at)) {
                return 0;
            }
        }
    }

    for (i = 1; i < len && i < MAXCUTS; i++) {
        cuts[i - 1] = i;
    }

    return run_ok(a, n, body, len, cuts, len ? len - 1 : 0, want, at);
}


static int
check_set(const char *const *lit, const vpt_place_e *place, size_t n,
    const char *body)
{
    int            ok;
    size_t         k, len, at[VPT_SPLICE_SET_MAX];
    out_t          want;
    vpt_anchor_t  *a[VPT_SPLICE_SET_MAX];

    for (k = 0; k < n; k++) {
        a[k] = anchor(lit[k], place[k]);
        if (a[k] == NULL) {
            return 0;
        }
    }

    len = strlen(body);
    ref_set(lit, place, n, body, len, &want, at);
    ok = all_splits(a, n, body, len, &want, at);

    free(want.data);

    for (k = 0; k < n; k++) {
        vpt_anchor_free(a[k]);
    }

    return ok;
}


static const char  page[] =
    "<html><head><title>Order 1042</title>"
    "<script>var s = '<aside id=\"side\">';</script></head><body>"
    "<!-- <div id=\"summary\"> -->"
    "<main><div id=\"summary\">Dress, 89.00</div>"
    "<p>Thanks!</p></main>"
    "<aside id=\"side\"><h2>More</h2></aside>"
    "<footer>bye</footer></body></html>";


VPT_TEST(two_anchors_in_page_order_and_against_it)
{
    static const char  *lit[] = { "<div id=\"summary\">", "<aside id=\"side\">",
                                  "</footer>" };
    static const char  *rev[] = { "</footer>", "<aside id=\"side\">",
                                  "<div id=\"summary\">" };
    vpt_place_e         p[3];
    int                 i, j;

    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            p[0] = (vpt_place_e) i;
            p[1] = (vpt_place_e) j;
            p[2] = (vpt_place_e) ((i + j) % 3);

            VPT_CHECK_MSG(check_set(lit, p, 3, page), "places %d %d", i, j);
            VPT_CHECK_MSG(check_set(rev, p, 3, page), "places %d %d", i, j);
        }
    }
}


VPT_TEST(a_missing_anchor_leaves_the_others)
{
    static const char  *lit[] = { "<nav id=\"none\">", "<aside id=\"side\">" };
    static const vpt_place_e  p[] = { VPT_PLACE_AFTER, VPT_PLACE_BEFORE };

    VPT_CHECK(check_set(lit, p, 2, page));
}


VPT_TEST(anchors_at_one_start_and_inside_each_other)
{
    static const char  *lit[] = { "<p>", "<p>x", "x</p>" };
    static const vpt_place_e  b[] = { VPT_PLACE_BEFORE, VPT_PLACE_BEFORE,
                                      VPT_PLACE_BEFORE };
    static const vpt_place_e  r[] = { VPT_PLACE_REPLACE, VPT_PLACE_AFTER,
                                      VPT_PLACE_REPLACE };

    VPT_CHECK(check_set(lit, b, 3, "a<p>x</p>b<p>x</p>"));
    VPT_CHECK(check_set(lit, r, 3, "a<p>x</p>b<p>x</p>"));
    VPT_CHECK(check_set(lit, r, 3, "<P>X</P><p>x</p>"));
    VPT_CHECK(check_set(lit, b, 3, "<!--<p>x</p>--><p>x</p>"));
}


VPT_TEST(a_long_anchor_partial_before_a_short_match)
{
    static const char  *lit[] = { "abcdef", "c" };
    static const vpt_place_e  p[] = { VPT_PLACE_REPLACE, VPT_PLACE_AFTER };

    VPT_CHECK(check_set(lit, p, 2, "xxabcdxabcdefc"));
    VPT_CHECK(check_set(lit, p, 2, "abcdeabcdef"));
}


/*
 * The differential: with every anchor "before", a match skips nothing,
 * so each anchor of the set matches where a splicer of it alone does.
 */

static size_t
single_at(vpt_anchor_t *a, const char *body, size_t len, const size_t *cuts,
    size_t ncuts)
{
    run_t  r;

    set_run(&a, 1, body, len, cuts, ncuts, &r);
    free(r.out.data);

    return r.at[0];
}


static const char  *pieces[] = {
    "<", ">", "/", "!", "-", "--", "\"", "'", "=", " ", "a", "x", "p",
    "<p>", "</p>", "<P>", "<b>", "</b>", "<i>", "<script>", "</script>",
    "<style>", "</style>", "<!--", "-->", "<a href=", "<title>", "</title>",
    "<b", "</b", "<p", "xp>"
};

#define NPIECES  (sizeof(pieces) / sizeof(pieces[0]))


static size_t
random_html(uint64_t *rs, char *body, size_t max)
{
    size_t       len, n, k, i;
    const char  *s;

    len = 0;
    n = 1 + vpt_rand_next(rs) % 50;

    for (i = 0; i < n; i++) {
        s = pieces[vpt_rand_next(rs) % NPIECES];
        k = strlen(s);

        if (len + k > max) {
            break;
        }

        memcpy(body + len, s, k);
        len += k;
    }

    body[len] = '\0';

    return len;
}


static size_t
random_cuts(uint64_t *rs, size_t len, size_t *cuts)
{
    size_t  n, i, c;

    n = len ? vpt_rand_next(rs) % (len + 1) : 0;
    c = 0;

    for (i = 0; i < n; i++) {
        c += vpt_rand_next(rs) % 4;
        cuts[i] = c < len ? c : len;
    }

    return n;
}


VPT_TEST(set_of_befores_matches_where_single_splicers_do)
{
    int            bad;
    char           body[256];
    size_t         i, k, len, n, cuts[MAXCUTS], at;
    run_t          r;
    uint64_t       rs;
    vpt_anchor_t  *a[3];
    static const char  *lit[] = { "<p>", "</b>", "<i>" };

    rs = 20261207;
    bad = 0;

    for (k = 0; k < 3; k++) {
        a[k] = anchor(lit[k], VPT_PLACE_BEFORE);
        if (a[k] == NULL) {
            return;
        }
    }

    for (i = 0; i < 3000 && bad < 3; i++) {
        len = random_html(&rs, body, sizeof(body) - 1);
        n = random_cuts(&rs, len, cuts);

        set_run(a, 3, body, len, cuts, n, &r);

        for (k = 0; k < 3; k++) {
            at = single_at(a[k], body, len, cuts, n);

            if (r.at[k] != at) {
                printf("#   \"%s\": anchor %zu at %zu in the set, %zu alone\n",
                       body, k, r.at[k], at);
                bad++;
            }
        }

        free(r.out.data);
    }

    VPT_CHECK(bad == 0);

    for (k = 0; k < 3; k++) {
        vpt_anchor_free(a[k]);
    }
}


VPT_TEST(random_sets_and_chunkings_match_the_whole_body_reference)
{
    int            bad;
    char           body[256];
    size_t         i, k, len, n, cuts[MAXCUTS], at[VPT_SPLICE_SET_MAX];
    out_t          want;
    uint64_t       rs;
    vpt_place_e    place[3];
    vpt_anchor_t  *a[3];
    static const char  *lit[] = { "<p>", "</b>", "xp>" };

    rs = 1207;
    bad = 0;

    for (i = 0; i < 3000 && bad < 3; i++) {
        for (k = 0; k < 3; k++) {
            place[k] = (vpt_place_e) (vpt_rand_next(&rs) % 3);
            a[k] = anchor(lit[k], place[k]);
            if (a[k] == NULL) {
                return;
            }
        }

        len = random_html(&rs, body, sizeof(body) - 1);
        n = random_cuts(&rs, len, cuts);

        ref_set(lit, place, 3, body, len, &want, at);
        bad += !run_ok(a, 3, body, len, cuts, n, &want, at);
        free(want.data);

        for (k = 0; k < 3; k++) {
            vpt_anchor_free(a[k]);
        }
    }

    VPT_CHECK(bad == 0);
}


VPT_TEST(a_set_refuses_regexes_and_too_many_anchors)
{
    char           err[VPT_ERRLEN];
    size_t         k;
    vpt_anchor_t  *a[VPT_SPLICE_SET_MAX + 1];

    a[0] = anchor("~</body\\s*>", VPT_PLACE_BEFORE);
    a[1] = anchor("<p>", VPT_PLACE_BEFORE);
    if (a[0] == NULL || a[1] == NULL) {
        return;
    }

    VPT_CHECK(vpt_splice_set_check(a, 1, err, sizeof(err)) == VPT_OK);
    VPT_CHECK(vpt_splice_set_check(a, 2, err, sizeof(err)) == VPT_ERROR
              && strstr(err, "regex") != NULL);

    vpt_anchor_free(a[0]);

    for (k = 0; k <= VPT_SPLICE_SET_MAX; k++) {
        a[k] = a[1];
    }

    VPT_CHECK(vpt_splice_set_check(a, VPT_SPLICE_SET_MAX, err, sizeof(err))
              == VPT_OK);
    VPT_CHECK(vpt_splice_set_check(a, VPT_SPLICE_SET_MAX + 1, err,
                                   sizeof(err)) == VPT_ERROR);

    vpt_anchor_free(a[1]);
}


int
main(void)
{
    VPT_RUN(two_anchors_in_page_order_and_against_it);
    VPT_RUN(a_missing_anchor_leaves_the_others);
    VPT_RUN(anchors_at_one_start_and_inside_each_other);
    VPT_RUN(a_long_anchor_partial_before_a_short_match);
    VPT_RUN(set_of_befores_matches_where_single_splicers_do);
    VPT_RUN(random_sets_and_chunkings_match_the_whole_body_reference);
    VPT_RUN(a_set_refuses_regexes_and_too_many_anchors);

    printf("unit: %d passed, %d failed\n", vpt_tests_passed,
           vpt_tests_failed);

    return vpt_tests_failed ? 1 : 0;
}
