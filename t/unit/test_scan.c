/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The structural scanner (vpt_scan.h) against the exact tokenizer and the
 * WHATWG reference (whatwg_ref.h), differentially: random HTML made of the
 * pieces the scanner must hand over (comments, raw text, odd attributes,
 * quotes that open nothing, tags across 64-byte blocks) and the demo's
 * confirmation page, cut into buffers every way tried (one byte a buffer
 * too).  The anchor must be found exactly where the reference reads it in
 * the data state, and after every buffer the scanner's tokenizer state must
 * be the exact tokenizer's.  Built three times (make unit): AVX2 when the
 * CPU has it, SSE2, and without SSE2 (the scalar classifier).
 */

#include <stdio.h>
#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_scan.h"
#include "whatwg_ref.h"


#define MAXBODY  4096


static const char  *pieces[] = {
    "<", ">", "/", "!", "-", "\"", "'", "=", " ", "\n", "\t", "\r", "\f",
    "a", "x", "\xe9", "\0",
    "</body>", "</BODY >", "</body", "</bo", "<h2>", "<H2 class=\"x\">",
    "<p>", "</p>", "<div class=\"tile\">", "</div>",
    "<img src=\"/i.jpg\" alt='a \"b\" >' width=120>",
    "<a href=x>", "<a b=c=\"d\">", "<x a= b=\"c>\">", "<a\"b>", "<a=b>",
    "<img/ src=\"x\">", "</a b=\">\">", "<a b='\">'>", "<a b c=\"x>\">",
    "<input type=checkbox checked value=\"1\">", "<a =\"x\">",
    "<a b= \"c\" d =\"e\">", "<x a= b=\"c>\"<p>", "<a b=c=\"d>\"<p>",
    "<a \"b=\"c>\"<p>", "<a b=\"c\"d=\"e>f\"<p>", "<a/b=\"c>\"<p>",
    "<a b/=\"c>\"<p>", "<a b =\n\"c>\"<p>", "<a =\"c>\"<p>", "<a b=\"c\"d=\"e\">", "<a b=\"c\"/>",
    "<a  b=\"c>\"<p>", "<a b=\"c\"\td='e>'<p>", "<a b=\"c\" />",
    "<a b=\"c\"/d=\"e>\"<p>", "<a\"b=\"c>\"<p>", "<a \">\">", "<br>",
    "<ab>", "<a/>", "<a b>", "</ab>", "</a b>", "</abc>", "<a b=>",
    "<a b =\"c>\"<p>", "<a b=\"\">", "<a b='c\"d>'>",
    "<a=\"b>\"<p>", "<ab=\"c>\"<p>", "<a b=\"c\"=\"d>\"<p>",
    "<a b='c'=\"d>\"<p>", "<a\tb\f=\"c>\"<p>", "<a b\r=\"c>\"<p>",
    "<div data-json='{\"a\":\"</body>\",\"b\":[1,2]}'>",
    "<strong>", "<table>", "<td>", "<title>x</title>", "<script>",
    "</script>", "<script>var s = \"</body>\";</script>",
    "<style>p{}</style>", "<textarea></body></textarea>",
    "<svg viewBox=\"0 0 10 10\"><path d=\"M0 0L10 10\"/></svg>",
    "<!--", "-->", "<!-- </body> -->", "<!DOCTYPE html>", "<?x?>", "<!x>",
    "</ x>", "</>", "a < b", "x<<", "<3", "<plaintext>",
    /* blind pairing of quotes (vpt_scan.c's top): where it must hand over */
    "<a =\"x=\"y>z\" w>", "<a=\"x y=\"z>\" w>", "<a b=c=\"x>",
    "<a x\"b='c\"d>", "<a x\"y\" b>", "<a b='x\"y' c=\"z'w\">",
    "<a b=c\"d e=\"f>\">", "<a b=\"x=\" c=\"y>\">", "<a b=\"x \" c='>'>",
    "<a b=\"x>y\">", "<a x\"y>z\" w>", "<a/\"b>\">", "</a b='\">'>",
    "<div data-j='{\"a\":\">\",\"b\":\"</body>\"}'>", "<a b=\"c\"d=\"e>\">",
    "<a b=x /c=\"d>\">", "<a b= /c=\"d>\">", "<a =b=\"c>\">",
    "<a b='x\"' c=\"y>\">", "<a b\n=\n'c>'>", "<a b=\"\"c=\">\">",
    "<a b=\"'\" c='\"'>", "<a\tb='>'\fc=\"'\">", "<p x=\"", "\" y='", "'>",
    "<abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl "
    "attribute-name-longer-than-a-block-of-sixty-four-bytes-to-cross-it"
    "=\"v\">"
};

#define NPIECES  (sizeof(pieces) / sizeof(pieces[0]))


static const char  *anchors[] = { "</body>", "<h2", "<", "</p>", "<a b" };

#define NANCHORS  (sizeof(anchors) / sizeof(anchors[0]))


static size_t
random_html(uint64_t *rs, unsigned char *body, size_t max)
{
    size_t       len, n, k, i;
    const char  *s;

    len = 0;
    n = 1 + vpt_rand_next(rs) % 60;

    for (i = 0; i < n; i++) {
        s = pieces[vpt_rand_next(rs) % NPIECES];
        k = s[0] ? strlen(s) : 1;

        if (len + k > max) {
            break;
        }

        memcpy(body + len, s, k);
        len += k;
    }

    return len;
}


/* the reference: the first start read in the data state where lit is */

static long
ref_find(const unsigned char *body, size_t len, const unsigned char *data,
    const char *lit, size_t ll)
{
    size_t  i, k;

    for (i = 0; i + ll <= len; i++) {
        for (k = 0; k < ll && r_lower(body[i + k]) == (unsigned char) lit[k];
             k++)
        {
            /* void */
        }

        if (k == ll && data[i]) {
            return (long) i;
        }
    }

    return -1;
}


/*
 * The tokenizer states agree: their state and what it carries (n, the
 * progress within a state, is left stale by some and not compared).
 */

static int
same_state(const vpt_html_t *a, const vpt_html_t *b)
{
    if (vpt_html_at_data(a) || vpt_html_at_data(b)) {
        return vpt_html_at_data(a) && vpt_html_at_data(b);
    }

    return a->state == b->state && a->elem == b->elem && a->esc == b->esc
           && a->dbl == b->dbl;
}


/*
 * Feeds body in buffers of the sizes step() gives, as the splicer would:
 * after a partial match the bytes from it are fed again with the next
 * buffer.  Returns where lit was found, or -1; with lit NULL checks the
 * state against the exact tokenizer after every buffer instead.
 */

static long
scan_run(const unsigned char *body, size_t len, const char *lit, size_t ll,
    uint64_t seed, size_t max, int *bad)
{
    size_t                from, n, held, pos;
    unsigned              which;
    vpt_html_t            h, x;
    vpt_scan_e            rc;
    unsigned char        *buf;
    vpt_scan_lits_t       set;
    const unsigned char  *litp;

    litp = (const unsigned char *) lit;

    if (lit != NULL && vpt_scan_lits_init(&set, &litp, &ll, 1) != VPT_OK) {
        abort();
    }

    buf = malloc(len + 1);
    if (buf == NULL) {
        abort();
    }

    vpt_html_init(&h);
    vpt_html_init(&x);

    from = 0;
    held = 0;

    while (from < len) {
        n = (max == 1) ? 1 : 1 + vpt_rand_next(&seed) % max;
        n = (n < len - from) ? n : len - from;

        /* held bytes (a partial match), then the buffer */
        memcpy(buf + held, body + from, n);
        from += n;
        n += held;

        rc = vpt_scan(&h, buf, n, lit ? &set : NULL, &pos, &which);

        if (rc == VPT_SCAN_MATCH) {
            free(buf);
            return (long) (from - n + pos);
        }

        if (rc == VPT_SCAN_PARTIAL) {
            held = n - pos;
            memmove(buf, buf + pos, held);
            continue;
        }

        held = 0;

        if (lit == NULL) {
            vpt_html_scan(&x, body + from - n, n);

            if (!same_state(&h, &x)) {
                *bad = 1;
            }
        }
    }

    free(buf);

    return -1;
}


/*
 * Every anchor of the list, and the four bytes from each '<' of the body
 * (wherever the reference reads it: anchors in the odd places), in every
 * way of buffering tried.
 */

static void
check_body(const unsigned char *body, size_t len, uint64_t seed,
    const char *what)
{
    int             bad;
    long            got, want;
    size_t          a, i, k, ll, m, maxes[] = { 1, 2, 7, 64, 200, 100000 };
    unsigned char  *data;
    char            lit[8];

    data = malloc(len + 1);
    if (data == NULL) {
        abort();
    }

    ref_tokenize(body, len, data);

    for (m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
        for (a = 0, i = 0; a < NANCHORS || i < len; ) {
            if (a < NANCHORS) {
                ll = strlen(anchors[a]);
                memcpy(lit, anchors[a], ll);
                a++;

            } else {
                if (body[i++] != '<') {
                    continue;
                }

                ll = (len - i + 1 < 4) ? len - i + 1 : 4;

                for (k = 0; k < ll; k++) {
                    lit[k] = (char) r_lower(body[i - 1 + k]);
                }
            }

            bad = 0;
            want = ref_find(body, len, data, lit, ll);
            got = scan_run(body, len, lit, ll, seed + i, maxes[m], &bad);

            VPT_CHECK_MSG(got == want, "%s, anchor \"%.*s\", buffers <= "
                          "%zu: found at %ld, the reference at %ld: \"%.*s\"",
                          what, (int) ll, lit, maxes[m], got, want,
                          (int) len, body);

            if (got != want) {
                break;
            }
        }

        bad = 0;
        (void) scan_run(body, len, NULL, 0, seed, maxes[m], &bad);

        VPT_CHECK_MSG(!bad, "%s, buffers <= %zu: state differs from the "
                      "exact tokenizer's: \"%.*s\"", what, maxes[m],
                      (int) len, body);
    }

    free(data);
}


VPT_TEST(anchor_found_where_the_reference_reads_it_in_random_html)
{
    int            i;
    size_t         len;
    uint64_t       rs;
    unsigned char  body[MAXBODY];
    char           what[64];

    rs = 0x5ca11ed;

    for (i = 0; i < 1500; i++) {
        len = random_html(&rs, body, sizeof(body));
        snprintf(what, sizeof(what), "random body %d", i);
        check_body(body, len, rs, what);

        if (vpt_test_failed_now) {
            return;
        }
    }
}


VPT_TEST(every_two_buffer_split_of_the_demo_page)
{
    int                   bad;
    long                  got, want;
    FILE                 *f;
    size_t                len, cut, a, held, pos, n, ll;
    unsigned              which;
    vpt_html_t            h;
    vpt_scan_e            rc;
    unsigned char        *page, *data;
    vpt_scan_lits_t       set;
    const unsigned char  *litp;
    static const char    *lits[] = { "</body>", "<h2>" };

    page = malloc(1 << 20);
    f = fopen("conf.d/shop/confirmation.html", "rb");
    VPT_CHECK(f != NULL && page != NULL);
    if (f == NULL || page == NULL) {
        free(page);
        return;
    }

    len = fread(page, 1, 1 << 20, f);
    fclose(f);

    data = malloc(len);
    ref_tokenize(page, len, data);

    for (a = 0; a < 2; a++) {
        ll = strlen(lits[a]);
        litp = (const unsigned char *) lits[a];
        VPT_CHECK(vpt_scan_lits_init(&set, &litp, &ll, 1) == VPT_OK);
        want = ref_find(page, len, data, lits[a], ll);
        VPT_CHECK(want > 0);

        for (cut = 0; cut <= len; cut++) {
            /* page[0, cut) then page[cut, len), as the splicer holds */
            vpt_html_init(&h);
            got = -1;

            rc = vpt_scan(&h, page, cut, &set, &pos, &which);

            if (rc == VPT_SCAN_MATCH) {
                got = (long) pos;

            } else {
                held = (rc == VPT_SCAN_PARTIAL) ? pos : cut;
                n = len - held;

                rc = vpt_scan(&h, page + held, n, &set, &pos, &which);
                if (rc == VPT_SCAN_MATCH) {
                    got = (long) (held + pos);
                }
            }

            VPT_CHECK_MSG(got == want, "%s cut at %zu: %ld, want %ld",
                          lits[a], cut, got, want);
            if (got != want) {
                break;
            }
        }

        bad = 0;
        got = scan_run(page, len, lits[a], ll, 1, 1, &bad);
        VPT_CHECK_MSG(got == want, "%s one byte a buffer: %ld, want %ld",
                      lits[a], got, want);
    }

    bad = 0;
    (void) scan_run(page, len, NULL, 0, 7, 1, &bad);
    VPT_CHECK(!bad);
    (void) scan_run(page, len, NULL, 0, 7, 300, &bad);
    VPT_CHECK(!bad);

    free(data);
    free(page);
}


VPT_TEST(tags_and_values_across_blocks_and_buffers)
{
    size_t         i, len;
    unsigned char  body[MAXBODY];
    char           what[64];

    /* a long page of one tag kind, each shifted by one byte more */
    for (i = 0; i < 70; i++) {
        memset(body, ' ', i);
        len = i;
        len += (size_t) snprintf((char *) body + len, sizeof(body) - len,
                   "<div class=\"tile wide\" data-x='{\"k\":\"<\\/body>\"}'"
                   " id=p%zu><p>x</p></div><a b=c d>\"</a>'"
                   "<!-- </body> --></body>", i);
        snprintf(what, sizeof(what), "shift %zu", i);
        check_body(body, len, i, what);
    }
}


/*
 * The tags where blind quote pairing must hand over or must not, at every
 * place in a 64-byte block (the walk's masks are per block) and with the
 * anchor after them.
 */

VPT_TEST(quote_pairing_counterexamples_at_every_offset_of_a_block)
{
    size_t              i, k, len;
    unsigned char       body[MAXBODY];
    char                what[64];
    static const char  *tags[] = {
        "<a =\"x=\"y>z\" w>", "<a=\"x y=\"z>\" w>", "<a b=c=\"x>y\" z>",
        "<a x\"b='c\"d>e' f>", "<a b=\"c>d\" e='f\"g>h' i=j\"k>",
        "</a b=\">\" c='>'>", "<a/\"b>\" c>", "<a b=\"x \" c=\"y>z\">",
        "<a b=\"x=\" c='>'>", "<div data-j='{\"a\":\"</body>\"}' c=\">\">",
        "<a\nb\n=\n\"c>d\">", "<a b= c=\"d>e\">"
    };

    for (k = 0; k < sizeof(tags) / sizeof(tags[0]); k++) {
        for (i = 0; i < 70; i++) {
            memset(body, 'x', i);
            len = i;
            len += (size_t) snprintf((char *) body + len, sizeof(body) - len,
                                     "%s<p>\"</p>'</body>", tags[k]);
            snprintf(what, sizeof(what), "tag %zu at %zu", k, i);
            check_body(body, len, i, what);

            if (vpt_test_failed_now) {
                return;
            }
        }
    }
}


/*
 * Bodies longer than the scanner's window of masks (4 KB) in buffers
 * larger than it: tags cut by a window's end are walked again from the
 * next window, or handed over when they are longer than a window.
 */

VPT_TEST(bodies_longer_than_a_window_of_masks)
{
    int             bad, i;
    long            got, want;
    size_t          a, m, ll, len, n, maxes[] = { 1000000, 9000, 4097, 700 };
    uint64_t        rs;
    unsigned char  *body, *data;
    char            what[64];

    body = malloc(48 * 1024);
    data = malloc(48 * 1024);
    if (body == NULL || data == NULL) {
        abort();
    }

    rs = 0xb16b0d;

    for (i = 0; i < 40; i++) {
        len = 0;

        while (len < 40 * 1024) {
            n = random_html(&rs, body + len, 48 * 1024 - len);
            if (n == 0) {
                break;
            }

            len += n;
        }

        if (i % 4 == 0) {
            /* a tag longer than a window, once in a while */
            memcpy(body + 5000, "<div data-x='", 13);
            memset(body + 5013, '"', 5000);
            memcpy(body + 10013, "'>", 2);
        }

        if (i % 2 == 1) {
            /* plain tags, and tags with anchors inside across windows */
            for (n = 0; n + 16 <= len; n += 16) {
                memcpy(body + n, "<p a=\"x\">t</p> ", 16);
            }

            for (n = 4096 - 30 + i; n + 4096 < len; n += 4096) {
                memcpy(body + n, "<a b=\"x</body>\" c='<h2>' d='</p>'>", 34);
            }

            memcpy(body + len - 7, "</body>", 7);
        }

        ref_tokenize(body, len, data);
        snprintf(what, sizeof(what), "long body %d", i);

        for (m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
            for (a = 0; a < NANCHORS; a++) {
                ll = strlen(anchors[a]);
                bad = 0;
                want = ref_find(body, len, data, anchors[a], ll);
                got = scan_run(body, len, anchors[a], ll, rs + a, maxes[m],
                               &bad);

                VPT_CHECK_MSG(got == want, "%s, anchor \"%s\", buffers <= "
                              "%zu: found at %ld, the reference at %ld",
                              what, anchors[a], maxes[m], got, want);
            }

            bad = 0;
            (void) scan_run(body, len, NULL, 0, rs, maxes[m], &bad);

            VPT_CHECK_MSG(!bad, "%s, buffers <= %zu: state differs from the "
                          "exact tokenizer's", what, maxes[m]);

            if (vpt_test_failed_now) {
                free(body);
                free(data);
                return;
            }
        }
    }

    free(body);
    free(data);
}


/*
 * A set of literals: the scanner stops at the first place any of them is
 * read in the data state, and says which match there, whatever the
 * buffers (a partial match is held and fed again, as the splicer does).
 */

VPT_TEST(a_set_of_literals_stops_at_the_first_of_any_and_says_which)
{
    int                   i;
    long                  want, got, wi;
    size_t                len, a, from, n, held, pos, m, lens[4];
    size_t                maxes[] = { 1, 7, 100000 };
    uint64_t              rs, seed;
    unsigned              which, want_which, got_which;
    vpt_html_t            h;
    vpt_scan_e            rc;
    unsigned char         body[MAXBODY], buf[MAXBODY + 16], data[MAXBODY];
    vpt_scan_lits_t       set;
    const unsigned char  *lits[4];
    static const char    *names[] = { "</body>", "<h2", "</p>", "<a b" };

    for (a = 0; a < 4; a++) {
        lits[a] = (const unsigned char *) names[a];
        lens[a] = strlen(names[a]);
    }

    VPT_CHECK(vpt_scan_lits_init(&set, lits, lens, 4) == VPT_OK);

    rs = 0x5e75;

    for (i = 0; i < 800; i++) {
        len = random_html(&rs, body, sizeof(body));
        ref_tokenize(body, len, data);

        /* the first place any literal is, and which are there */
        want = -1;
        want_which = 0;

        for (a = 0; a < 4; a++) {
            wi = ref_find(body, len, data, names[a], lens[a]);

            if (wi >= 0 && (want < 0 || wi < want)) {
                want = wi;
                want_which = 0;
            }

            if (wi >= 0 && wi == want) {
                want_which |= 1u << a;
            }
        }

        for (m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
            vpt_html_init(&h);
            seed = rs;
            from = 0;
            held = 0;
            got = -1;
            got_which = 0;

            while (from < len) {
                n = 1 + vpt_rand_next(&seed) % maxes[m];
                n = (n < len - from) ? n : len - from;
                memcpy(buf + held, body + from, n);
                from += n;
                n += held;

                rc = vpt_scan(&h, buf, n, &set, &pos, &which);

                if (rc == VPT_SCAN_MATCH) {
                    got = (long) (from - n + pos);
                    got_which = which;
                    break;
                }

                held = 0;

                if (rc == VPT_SCAN_PARTIAL) {
                    held = n - pos;
                    memmove(buf, buf + pos, held);
                }
            }

            VPT_CHECK_MSG(got == want && got_which == want_which,
                          "body %d, buffers <= %zu: at %ld (%x), the "
                          "reference at %ld (%x): \"%.*s\"", i, maxes[m],
                          got, got_which, want, want_which, (int) len, body);

            if (vpt_test_failed_now) {
                return;
            }
        }
    }

}


VPT_TEST(literal_sets_that_break_the_rules_are_refused)
{
    size_t                lens[VPT_SCAN_LITS_MAX + 1];
    unsigned              i;
    vpt_scan_lits_t       set;
    const unsigned char  *lits[VPT_SCAN_LITS_MAX + 1];

    for (i = 0; i <= VPT_SCAN_LITS_MAX; i++) {
        lits[i] = (const unsigned char *) "<p>";
        lens[i] = 3;
    }

    VPT_CHECK(vpt_scan_lits_init(&set, lits, lens, VPT_SCAN_LITS_MAX)
              == VPT_OK);
    VPT_CHECK(vpt_scan_lits_init(&set, lits, lens, VPT_SCAN_LITS_MAX + 1)
              == VPT_ERROR);

    lits[0] = (const unsigned char *) "p>";
    VPT_CHECK(vpt_scan_lits_init(&set, lits, lens, 1) == VPT_ERROR);

    lits[0] = (const unsigned char *) "<P>";
    VPT_CHECK(vpt_scan_lits_init(&set, lits, lens, 1) == VPT_ERROR);

    lens[0] = 0;
    VPT_CHECK(vpt_scan_lits_init(&set, lits, lens, 1) == VPT_ERROR);
}


int
main(void)
{
    printf("# classifier: %s\n", vpt_scan_path());

    VPT_RUN(anchor_found_where_the_reference_reads_it_in_random_html);
    VPT_RUN(every_two_buffer_split_of_the_demo_page);
    VPT_RUN(tags_and_values_across_blocks_and_buffers);
    VPT_RUN(quote_pairing_counterexamples_at_every_offset_of_a_block);
    VPT_RUN(bodies_longer_than_a_window_of_masks);
    VPT_RUN(a_set_of_literals_stops_at_the_first_of_any_and_says_which);
    VPT_RUN(literal_sets_that_break_the_rules_are_refused);

    printf("unit: %d passed, %d failed\n", vpt_tests_passed,
           vpt_tests_failed);

    return vpt_tests_failed ? 1 : 0;
}
