/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The HTML tokenizer the splicer asks where text is.  Each case is a body
 * and, under it, a mask written by hand: 'T' where the byte is read in the
 * data state (text, or the '<' that opens a tag), '.' where it is markup,
 * a comment or raw text.  Every case is checked at every byte, with the
 * body cut at every place (once and twice) and one byte per buffer, and
 * vpt_html_skip() from every byte that is not text.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_html.h"


typedef struct {
    const char  *body;
    const char  *mask;
    size_t       len;       /* 0: strlen(body) */
} html_case_t;


/*
 * Reads body[0, at) in the pieces cuts[] makes of it (cuts past at are
 * ignored) and returns whether body[at] is read in the data state.
 */

static int
in_data_after(const char *body, size_t at, const size_t *cuts, size_t ncuts)
{
    size_t      i, from, to;
    vpt_html_t  h;

    vpt_html_init(&h);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts && cuts[i] < at) ? cuts[i] : at;

        if (to < from) {
            to = from;
        }

        vpt_html_scan(&h, (const unsigned char *) body + from, to - from);
        from = to;
    }

    return vpt_html_in_data(&h, (unsigned char) body[at]);
}


static int
check_case(const html_case_t *c)
{
    size_t      len, at, i, j, k, n, cuts[2];
    vpt_html_t  h;

    len = c->len ? c->len : strlen(c->body);

    if (strlen(c->mask) != len) {
        printf("#   mask of \"%s\": %zu bytes for %zu\n", c->mask,
               strlen(c->mask), len);
        return 0;
    }

    for (at = 0; at < len; at++) {
        for (i = 0; i <= at; i++) {
            for (j = i; j <= at; j++) {
                cuts[0] = i;
                cuts[1] = j;

                if (in_data_after(c->body, at, cuts, 2)
                    != (c->mask[at] == 'T'))
                {
                    printf("#   \"%s\" byte %zu, cut at %zu, %zu: want "
                           "%c\n", c->mask, at, i, j, c->mask[at]);
                    return 0;
                }
            }
        }
    }

    /* one byte per buffer, and the skip from every byte that is markup */

    vpt_html_init(&h);

    for (at = 0; at < len; at++) {
        if (vpt_html_in_data(&h, (unsigned char) c->body[at])
            != (c->mask[at] == 'T'))
        {
            printf("#   \"%s\" byte %zu, one byte per buffer: want %c\n",
                   c->mask, at, c->mask[at]);
            return 0;
        }

        if (c->mask[at] != 'T') {
            vpt_html_t  sk = h;

            n = vpt_html_skip(&sk, (const unsigned char *) c->body + at,
                              len - at);

            for (k = at; k < len && c->mask[k] != 'T'; k++) {
                /* void */
            }

            if (at + n != k) {
                printf("#   \"%s\" skip from %zu: to %zu, want %zu\n",
                       c->mask, at, at + n, k);
                return 0;
            }
        }

        vpt_html_scan(&h, (const unsigned char *) c->body + at, 1);
    }

    return 1;
}


static int
check_cases(const html_case_t *cases, size_t n)
{
    size_t  i;
    int     ok;

    ok = 1;

    for (i = 0; i < n; i++) {
        if (!check_case(&cases[i])) {
            printf("#   case %zu: \"%.*s\"\n", i,
                   (int) (cases[i].len ? cases[i].len
                                       : strlen(cases[i].body)),
                   cases[i].body);
            ok = 0;
        }
    }

    return ok;
}


#define NCASES(c)  (sizeof(c) / sizeof((c)[0]))


VPT_TEST(text_and_tags)
{
    static const html_case_t  cases[] = {
        { "a<b>c</b>d",
          "TT..TT...T", 0 },
        { "a < b",
          "TTTTT", 0 },
        { "x<3>",
          "TTTT", 0 },
        /* "<<": the first '<' was text, the second opens the tag */
        { "x<<y>z",
          "TTT..T", 0 },
        { "<br/>a<img />b",
          "T....TT......T", 0 },
        /* "</>" is dropped; "</ " and "</3" open bogus comments */
        { "</>a</ a>b</3>c",
          "T..TT....TT...T", 0 },
        { "<P\tCLASS=X\n>a</DIV\f>b",
          "T...........TT......T", 0 },
        /* CR is whitespace (read as LF) */
        { "<p\ra=\">\">x",
          "T........T", 0 },
    };

    VPT_CHECK(check_cases(cases, NCASES(cases)));
}


VPT_TEST(attribute_values_hide_their_bytes)
{
    static const html_case_t  cases[] = {
        { "<a t=\"1>2\" u='3>4' v=5>6",
          "T......................T", 0 },
        { "<a t = \"</body>\">x",
          "T................T", 0 },
        { "<a href=x/y'z\">w",
          "T..............T", 0 },
        { "<div class=\"x>y\">z",
          "T................T", 0 },
        /* a quote after a name, or after an unquoted value, is a byte */
        { "<a b\"c>d\">",
          "T......TTT", 0 },
        { "<a b=c\"d>e\">",
          "T........TTT", 0 },
        /* '=' first in a name is part of it: no value follows */
        { "<p =\">\"x>",
          "T.....TTT", 0 },
        { "<p a =\">\"x>y",
          "T..........T", 0 },
        { "<p a==\">\"x>y",
          "T.......TTTT", 0 },
        { "<p/a=\">\"/>y",
          "T.........T", 0 },
        { "<p a=\"x\"b=\">\">y",
          "T.............T", 0 },
        { "<a b= >c",
          "T......T", 0 },
    };

    VPT_CHECK(check_cases(cases, NCASES(cases)));
}


VPT_TEST(comments_doctypes_and_bogus_comments)
{
    static const html_case_t  cases[] = {
        { "a<!--x-->b",
          "TT.......T", 0 },
        { "<!-->x",
          "T....T", 0 },
        { "<!--->x",
          "T.....T", 0 },
        { "<!---->x",
          "T......T", 0 },
        { "<!--!>x-->y",
          "T.........T", 0 },
        { "<!-- a --!>x",
          "T..........T", 0 },
        { "<!-- --!->x-->y",
          "T.............T", 0 },
        { "<!-- a --!-->c",
          "T............T", 0 },
        { "<!-- a -- b --->c",
          "T...............T", 0 },
        { "<!-- - -> --x>y-->z",
          "T.................T", 0 },
        { "<!--<!-->z",
          "T........T", 0 },
        { "<!--<!--->z",
          "T.........T", 0 },
        { "<!-x>y<!>z",
          "T....TT..T", 0 },
        /* every doctype state ends at '>', quoted identifiers too */
        { "<!DOCTYPE html PUBLIC \"a>b\">c",
          "T........................TTTT", 0 },
        { "<?xml a=\"</b>\"?>z",
          "T............TTTT", 0 },
        { "<![CDATA[</b>]]>x",
          "T............TTTT", 0 },
    };

    VPT_CHECK(check_cases(cases, NCASES(cases)));
}


VPT_TEST(raw_text_elements_end_only_at_their_end_tag)
{
    static const html_case_t  cases[] = {
        { "<script>s=\"</body>\"</script>x",
          "T...........................T", 0 },
        { "<SCRIPT>a</Script >b",
          "T..................T", 0 },
        { "<script>a</scripts></script/>b",
          "T............................T", 0 },
        { "<script src=\"a>\">b</script>c",
          "T..........................T", 0 },
        { "<style>p{}</style x=\"</y>\">z",
          "T..........................T", 0 },
        { "<textarea></body><b></textarea>q",
          "T..............................T", 0 },
        { "<title><b></title\t>q",
          "T..................T", 0 },
        { "<xmp><p></xmp>a<iframe><b></iframe>a",
          "T.............TT...................T", 0 },
        { "<noscript><b></noscript>a<noembed><i></noembed>a",
          "T.......................TT.....................T", 0 },
        { "<noframes><u></noframes>a",
          "T.......................T", 0 },
        { "<scriptx>a</scriptx>b",
          "T........TT.........T", 0 },
        { "<plaintext></plaintext>x",
          "T.......................", 0 },
        /* a start tag's '/' changes nothing: still raw text */
        { "<script/>a</script>b",
          "T..................T", 0 },
        /* "</script" must be followed by whitespace, '/' or '>' */
        { "<script></script\0></script>b",
          "T..........................T", 28 },
    };

    VPT_CHECK(check_cases(cases, NCASES(cases)));
}


VPT_TEST(script_escapes_and_double_escapes)
{
    static const html_case_t  cases[] = {
        /* escaped: "</script>" still ends the script */
        { "<script><!--</script>y",
          "T....................T", 0 },
        /* double escaped: "</script>" does not; "-->" ends both */
        { "<script><!--<script></script>x--></script>y",
          "T.........................................T", 0 },
        { "<script><!--<script>--></script>y",
          "T...............................T", 0 },
        { "<script><!--<SCRIPT/></script ></script>y",
          "T.......................................T", 0 },
        /* "<scripts" does not double escape */
        { "<script><!--<scripts></script>y",
          "T.............................T", 0 },
        /* "<!-->" ends the escape it starts */
        { "<script><!--><script></script>y",
          "T.............................T", 0 },
        { "<script><!x</script>y",
          "T...................T", 0 },
    };

    VPT_CHECK(check_cases(cases, NCASES(cases)));
}


VPT_TEST(nul_and_bytes_above_ascii_are_text)
{
    static const html_case_t  cases[] = {
        { "\0<\xff>\xe9<b\0>\xc3(",
          "TTTTTT...TT", 11 },
        { "<a \0=\"\0>\">\x80",
          "T.........T", 11 },
        { "<a\0b=\"\0>\">\x80",
          "T.......TTT", 11 },
        { "<!--\0-->\xfe",
          "T.......T", 9 },
    };

    VPT_CHECK(check_cases(cases, NCASES(cases)));
}


VPT_TEST(state_is_a_few_bytes_carried_across_buffers)
{
    size_t      i;
    vpt_html_t  h;
    static const char  *pieces[] = {
        "<scr", "ipt>x</scr", "ipt", " a", "=", "'", ">'", ">", "</bo"
    };

    /* the tokenizer never points into a buffer it was given */
    VPT_CHECK(sizeof(vpt_html_t) <= 16);

    vpt_html_init(&h);

    for (i = 0; i < 8; i++) {
        vpt_html_scan(&h, (const unsigned char *) pieces[i],
                      strlen(pieces[i]));
    }

    VPT_CHECK(vpt_html_in_data(&h, '<'));

    vpt_html_scan(&h, (const unsigned char *) pieces[8], 4);
    VPT_CHECK(!vpt_html_in_data(&h, 'd'));
}


int
main(void)
{
    VPT_RUN(text_and_tags);
    VPT_RUN(attribute_values_hide_their_bytes);
    VPT_RUN(comments_doctypes_and_bogus_comments);
    VPT_RUN(raw_text_elements_end_only_at_their_end_tag);
    VPT_RUN(script_escapes_and_double_escapes);
    VPT_RUN(nul_and_bytes_above_ascii_are_text);
    VPT_RUN(state_is_a_few_bytes_carried_across_buffers);

    return VPT_DONE();
}
