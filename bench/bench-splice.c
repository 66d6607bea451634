/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Micro-benchmark of the anchor splicer: an HTML page (a file, or a
 * generated 30 KB one with </body> at the end) fed in 4 KB buffers, many
 * times; prints the cost per byte and per page for the literal anchor and
 * for a regex one.  The splicer tokenizes the HTML as it searches, so the
 * page's markup, not only its size, sets the cost.
 *
 *   make bench-bin  (builds build/bench/bench-splice, -O2)
 *   build/bench/bench-splice [iterations [page.html [anchor]]]
 *   build/bench/bench-splice 20000 bench/pages/confirmation.html
 *   build/bench/bench-splice 20000 bench/pages/confirmation.html '<h2>'
 *
 * With "scan" or "html" first, the same feeds go through the structural
 * scanner alone (vpt_scan.h, looking for the anchor, a literal starting
 * with '<') or the exact tokenizer alone (vpt_html.h, the whole page), so
 * that the two can be compared, e.g. under callgrind:
 *
 *   build/bench/bench-splice scan 20000 bench/pages/confirmation.html
 *
 * Instructions per page (docs/performance.md): callgrind's total with N
 * = 11 minus that with N = 1, over 50, as each of the 5 rounds feeds the
 * page N times:
 *
 *   valgrind --tool=callgrind build/bench/bench-splice scan 11 \
 *       bench/pages/confirmation.html '</body>'
 *
 * Times are the process's CPU time, the best of 5 rounds: on a shared
 * machine wall time measures the neighbours.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpt_scan.h"
#include "vpt_splice.h"


#define PAGE_SIZE  (30 * 1024)
#define PAGE_MAX   (16 * 1024 * 1024)
#define BUF_SIZE   4096
#define ROUNDS     5


static size_t
make_page(char *page, size_t size)
{
    size_t             len, n, i;
    static const char  head[] =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Shop</title><link rel=\"stylesheet\" href=\"/s.css\">"
        "</head>\n<body class=\"shop\">\n";
    static const char  item[] =
        "<div class=\"product\" data-id=\"%04zu\"><a href=\"/p/%04zu\">"
        "<img src=\"/i/%04zu.jpg\" alt=\"Product %zu\"></a><h2>Product "
        "%zu</h2><p class=\"price\">$%zu.99</p><p>A fine thing, made to "
        "last, shipped in two days.</p><button type=\"submit\">Add to "
        "cart</button></div>\n";
    static const char  tail[] = "</body></html>\n";

    len = 0;
    memcpy(page, head, sizeof(head) - 1);
    len += sizeof(head) - 1;

    for (i = 0; ; i++) {
        n = snprintf(page + len, size - len, item, i, i, i, i, i, i % 90);
        if (len + n + sizeof(tail) - 1 >= size) {
            break;
        }

        len += n;
    }

    memcpy(page + len, tail, sizeof(tail) - 1);
    len += sizeof(tail) - 1;

    return len;
}


static size_t
read_page(const char *path, char *page, size_t size)
{
    FILE    *f;
    size_t   len;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 0;
    }

    len = fread(page, 1, size, f);

    if (ferror(f) || !feof(f)) {
        fprintf(stderr, "bench-splice: %s: unreadable or over %d bytes\n",
                path, PAGE_MAX);
        len = 0;
    }

    fclose(f);

    return len;
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
bench(const char *spec, const char *page, size_t len, long iters)
{
    int                   round;
    long                  it;
    char                  err[VPT_ERRLEN];
    void                 *mem;
    size_t                off, n, matched_at;
    double                t0, t, best;
    vpt_splice_t          s;
    vpt_anchor_t         *a;
    vpt_splice_result_t   res;

    a = vpt_anchor_create(spec, strlen(spec), VPT_PLACE_BEFORE, err,
                          sizeof(err));
    if (a == NULL) {
        fprintf(stderr, "bench-splice: %s\n", err);
        return 1;
    }

    mem = malloc(vpt_splice_size(a));
    if (mem == NULL) {
        return 1;
    }

    matched_at = 0;
    best = 0;

    for (round = 0; round < ROUNDS; round++) {
        t0 = now();

        for (it = 0; it < iters; it++) {
            vpt_splice_init(&s, a, mem);

            for (off = 0; off < len; off += n) {
                n = (len - off < BUF_SIZE) ? len - off : BUF_SIZE;

                vpt_splice_feed(&s, (const unsigned char *) page + off, n,
                                &res);

                if (res.matched) {
                    matched_at = off - s.vn + res.insert_at;
                }
            }
        }

        t = now() - t0;

        if (round == 0 || t < best) {
            best = t;
        }
    }

    printf("%-14s %zu-byte page in %d-byte buffers, %ld times: "
           "%.3f ns/byte, %.2f us/page (anchor at %zu)\n",
           spec, len, BUF_SIZE, iters, best * 1e9 / ((double) len * iters),
           best * 1e6 / iters, matched_at);

    free(mem);
    vpt_anchor_free(a);

    return 0;
}


/*
 * The scanner (scan) or the tokenizer (html) alone over the page in the
 * splicer's buffers; the scanner stops at the anchor, and a partial match
 * at a buffer's end is read on by the tokenizer, as a caller would.
 */

static int
bench_scan(int scan, const char *anchor, const char *page, size_t len,
    long iters)
{
    int                   round;
    long                  it;
    size_t                off, n, pos, found, ll;
    double                t0, t, best;
    unsigned              which;
    vpt_html_t            h;
    vpt_scan_e            rc;
    vpt_scan_lits_t       set;
    const unsigned char  *lit;

    ll = strlen(anchor);

    if (scan && (ll == 0 || anchor[0] != '<')) {
        fprintf(stderr, "bench-splice: a scanner's anchor starts with <\n");
        return 1;
    }

    lit = (const unsigned char *) anchor;

    if (scan && vpt_scan_lits_init(&set, &lit, &ll, 1) != VPT_OK) {
        fprintf(stderr, "bench-splice: a scanner's anchor is lowercase\n");
        return 1;
    }

    found = 0;
    best = 0;

    for (round = 0; round < ROUNDS; round++) {
        t0 = now();

        for (it = 0; it < iters; it++) {
            vpt_html_init(&h);

            for (off = 0; off < len; off += n) {
                n = (len - off < BUF_SIZE) ? len - off : BUF_SIZE;

                if (!scan) {
                    vpt_html_scan(&h, (const unsigned char *) page + off, n);
                    continue;
                }

                rc = vpt_scan(&h, (const unsigned char *) page + off, n,
                              &set, &pos, &which);

                if (rc == VPT_SCAN_MATCH) {
                    found = off + pos;
                    break;
                }

                if (rc == VPT_SCAN_PARTIAL) {
                    vpt_html_scan(&h, (const unsigned char *) page + off + pos,
                                  n - pos);
                }
            }
        }

        t = now() - t0;

        if (round == 0 || t < best) {
            best = t;
        }
    }

    printf("%-14s %s (%s), %zu-byte page in %d-byte buffers, %ld times: "
           "%.3f ns/byte, %.2f us/page (anchor at %zu)\n",
           anchor, scan ? "scanner" : "tokenizer", vpt_scan_path(), len,
           BUF_SIZE, iters, best * 1e9 / ((double) len * iters),
           best * 1e6 / iters, found);

    return 0;
}


int
main(int argc, char **argv)
{
    int     mode;
    long    iters;
    char   *page;
    size_t  len;

    /* 0 the splicer, 1 the scanner alone, 2 the tokenizer alone */
    mode = 0;

    if (argc > 1 && (strcmp(argv[1], "scan") == 0
                     || strcmp(argv[1], "html") == 0))
    {
        mode = (argv[1][0] == 's') ? 1 : 2;
        argc--;
        argv++;
    }

    iters = (argc > 1) ? atol(argv[1]) : 20000;

    page = malloc(PAGE_MAX);
    if (page == NULL || iters <= 0) {
        return 1;
    }

    len = (argc > 2) ? read_page(argv[2], page, PAGE_MAX)
                     : make_page(page, PAGE_SIZE);
    if (len == 0) {
        return 1;
    }

    if (mode != 0) {
        if (bench_scan(mode == 1, (argc > 3) ? argv[3] : "</body>", page,
                       len, iters) != 0)
        {
            return 1;
        }

    } else if (argc > 3) {
        /* the operator's own anchor: the splicer reads up to it */
        if (bench(argv[3], page, len, iters) != 0) {
            return 1;
        }

    } else if (bench("</body>", page, len, iters) != 0
               || bench("~</body\\s*>", page, len, iters / 4 + 1) != 0)
    {
        return 1;
    }

    free(page);

    return 0;
}
