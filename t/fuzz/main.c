/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The plain-main fallback: links with any t/fuzz/fuzz_*.c instead of
 * libFuzzer, so every target also builds with gcc (and ASan/UBSan):
 *
 *   gcc -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
 *       -Isrc -It/fuzz -o build/fuzz/plain_query t/fuzz/fuzz_query.c \
 *       t/fuzz/main.c src/vpt_*.c -lpcre2-8 -ljansson -lm
 *   build/fuzz/plain_query [-flag=N ...] FILE|DIR...
 *
 * It runs LLVMFuzzerTestOneInput() over every file named, and every
 * regular file of every directory named (the seed corpus, in name order),
 * then over deterministic mutations of them: without coverage to guide
 * it, a cheap random walk around the seeds (bit flips, interesting bytes,
 * inserts, deletions, duplicated ranges, truncations, splices of two
 * seeds, dictionary tokens).  Flags, libFuzzer's spelling where there is
 * one (others, e.g. -timeout=, are ignored, so a runner can pass one set):
 *
 *   -mutations=N        mutants per seed (default 10000; 0: seeds only)
 *   -max_total_time=S   stop mutating after S seconds (default 0: no limit)
 *   -seed=N             the PRNG seed (default 1): same seed, same inputs
 *   -max_len=N          mutants grow to at most N bytes (default 4096)
 *   -dict=FILE          libFuzzer-format tokens to insert
 *   -artifact_prefix=P  where a crashing input is written (default ./)
 *
 * Every input is an exact-size heap copy, so ASan sees a read past its
 * end.  When a sanitizer or a broken invariant ends the process, or a
 * SIGTERM does (timeout(1) on a hang), the input is written to P "crash-"
 * HASH first and its name printed.  The last
 * line is "fallback: N inputs (S seeds, M mutants) in T s, R exec/s".
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));


typedef struct {
    uint8_t  *data;
    size_t    len;
} blob_t;

typedef struct {
    blob_t   *elts;
    size_t    n;
    size_t    cap;
} blobs_t;


#define BURST  16


static blobs_t          seeds;
static blobs_t          dict;
static uint64_t         rng;
static size_t           max_len = 4096;
static const char      *prefix = "./";

/* the input being run, for the crash handlers */
static const uint8_t   *cur_data;
static size_t           cur_len;
static volatile int     dumped;


static void
die(const char *what, const char *arg)
{
    fprintf(stderr, "fallback: %s %s: %s\n", what, arg,
            errno ? strerror(errno) : "");
    exit(2);
}


static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "fallback: out of memory\n");
        exit(2);
    }

    return p;
}


static void
blobs_push(blobs_t *b, uint8_t *data, size_t len)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->elts = xrealloc(b->elts, b->cap * sizeof(blob_t));
    }

    b->elts[b->n].data = data;
    b->elts[b->n].len = len;
    b->n++;
}


/* xorshift64*: small and seedable; never seeded with 0 */
static uint64_t
rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;

    return rng * 2685821657736338717ULL;
}


static size_t
rnd_below(size_t n)
{
    return n ? (size_t) (rnd() % n) : 0;
}


/*
 * Crash handlers: write the input with async-signal-safe calls only,
 * named by its FNV-1a hash, and say where.
 */

static void
dump_input(void)
{
    int       fd;
    char      path[4096], hex[17];
    size_t    i, pl;
    uint64_t  h;

    if (dumped++ || cur_data == NULL) {
        return;
    }

    h = 14695981039346656037ULL;
    for (i = 0; i < cur_len; i++) {
        h = (h ^ cur_data[i]) * 1099511628211ULL;
    }

    for (i = 0; i < 16; i++) {
        hex[i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 0xf];
    }

    hex[16] = '\0';

    pl = strlen(prefix);
    if (pl + sizeof("crash-") + 16 > sizeof(path)) {
        return;
    }

    memcpy(path, prefix, pl);
    memcpy(path + pl, "crash-", 6);
    memcpy(path + pl + 6, hex, 17);

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return;
    }

    if (write(fd, cur_data, cur_len) != (ssize_t) cur_len) {
        /* nothing more to do in a dying process */
    }

    close(fd);

    (void) !write(2, "fallback: crashing input written to ", 36);
    (void) !write(2, path, strlen(path));
    (void) !write(2, "\n", 1);
}


static void
on_signal(int signo)
{
    dump_input();
    signal(signo, SIG_DFL);
    raise(signo);
}


static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE     *f;
    uint8_t  *buf;
    size_t    n, cap;

    f = fopen(path, "rb");
    if (f == NULL) {
        die("cannot open", path);
    }

    cap = 4096;
    buf = xrealloc(NULL, cap);
    n = 0;

    while ((*len = fread(buf + n, 1, cap - n, f)) > 0) {
        n += *len;

        if (n == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }

    if (ferror(f)) {
        die("cannot read", path);
    }

    fclose(f);
    *len = n;

    return buf;
}


static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


/* a file, or a directory's regular files in name order */
static void
load_seeds(const char *path)
{
    DIR            *dir;
    char          **names, *full;
    size_t          i, n, cap, len, pl;
    uint8_t        *data;
    struct stat     st;
    struct dirent  *de;

    if (stat(path, &st) != 0) {
        die("cannot stat", path);
    }

    if (!S_ISDIR(st.st_mode)) {
        data = read_file(path, &len);
        blobs_push(&seeds, data, len);
        return;
    }

    dir = opendir(path);
    if (dir == NULL) {
        die("cannot open", path);
    }

    names = NULL;
    n = 0;
    cap = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        pl = strlen(path);
        len = strlen(de->d_name);
        full = xrealloc(NULL, pl + len + 2);
        memcpy(full, path, pl);
        full[pl] = '/';
        memcpy(full + pl + 1, de->d_name, len + 1);

        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            continue;
        }

        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = xrealloc(names, cap * sizeof(char *));
        }

        names[n++] = full;
    }

    closedir(dir);

    qsort(names, n, sizeof(char *), cmp_names);

    for (i = 0; i < n; i++) {
        data = read_file(names[i], &len);
        blobs_push(&seeds, data, len);
        free(names[i]);
    }

    free(names);
}


static int
hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/* libFuzzer's dictionary format: [name=]"token", \\ \" \xNN escapes */
static void
load_dict(const char *path)
{
    FILE     *f;
    char      line[4096], *p;
    size_t    n;
    uint8_t  *tok;

    f = fopen(path, "r");
    if (f == NULL) {
        die("cannot open", path);
    }

    while (fgets(line, sizeof(line), f) != NULL) {
        p = line + strspn(line, " \t");

        if (*p == '#' || (p = strchr(p, '"')) == NULL) {
            continue;
        }

        tok = xrealloc(NULL, strlen(p));
        n = 0;

        for (p++; *p && *p != '"'; p++) {
            if (*p != '\\') {
                tok[n++] = (uint8_t) *p;

            } else if (p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0)
            {
                tok[n++] = (uint8_t) (hexval(p[2]) << 4 | hexval(p[3]));
                p += 3;

            } else if (p[1] != '\0') {
                tok[n++] = (uint8_t) *++p;
            }
        }

        if (*p == '"' && n > 0) {
            blobs_push(&dict, tok, n);

        } else {
            free(tok);
        }
    }

    fclose(f);
}


/* one random edit of buf (len bytes used, room for max bytes) */
static size_t
mutate_once(uint8_t *buf, size_t len, size_t max)
{
    size_t         at, n, k;
    uint8_t        tmp[64];
    const blob_t  *b;
    static const uint8_t  interesting[] = {
        0x00, 0xff, 0x7f, 0x80, '%', '&', '=', '"', '\\', '<', '>', '/',
        '{', '}', '[', ']', ':', ',', '-', '0', '9', 'e', '.', ' ', '\n'
    };

    switch (rnd_below(10)) {

    case 0:     /* flip a bit */
        if (len) {
            buf[rnd_below(len)] ^= (uint8_t) (1u << rnd_below(8));
        }
        return len;

    case 1:     /* a random or an interesting byte */
        if (len) {
            buf[rnd_below(len)] = (rnd() & 1)
                                  ? (uint8_t) rnd()
                                  : interesting[rnd_below(
                                        sizeof(interesting))];
        }
        return len;

    case 2:     /* insert bytes */
        n = 1 + rnd_below(4);
        if (len + n > max) {
            return len;
        }

        at = rnd_below(len + 1);
        memmove(buf + at + n, buf + at, len - at);

        for (k = 0; k < n; k++) {
            buf[at + k] = (rnd() & 1) ? (uint8_t) rnd()
                                      : interesting[rnd_below(
                                            sizeof(interesting))];
        }

        return len + n;

    case 3:     /* delete a range */
        if (len == 0) {
            return len;
        }

        at = rnd_below(len);
        n = 1 + rnd_below(len - at < 16 ? len - at : 16);
        memmove(buf + at, buf + at + n, len - at - n);
        return len - n;

    case 4:     /* duplicate a range */
        if (len == 0) {
            return len;
        }

        at = rnd_below(len);
        n = 1 + rnd_below(len - at < 64 ? len - at : 64);
        if (len + n > max) {
            return len;
        }

        memcpy(tmp, buf + at, n);

        k = rnd_below(len + 1);
        memmove(buf + k + n, buf + k, len - k);
        memcpy(buf + k, tmp, n);
        return len + n;

    case 5:     /* truncate */
        return rnd_below(len + 1);

    case 6:     /* splice: our head, another seed's tail */
        b = &seeds.elts[rnd_below(seeds.n)];
        at = rnd_below(len + 1);
        k = rnd_below(b->len + 1);
        n = b->len - k;
        if (at + n > max) {
            n = max - at;
        }

        if (n) {
            memcpy(buf + at, b->data + k, n);
        }

        return at + n;

    default:    /* a dictionary token, inserted or written over */
        if (dict.n == 0) {
            return len ? len - 1 : 0;
        }

        b = &dict.elts[rnd_below(dict.n)];
        if (b->len > max) {
            return len;
        }

        if ((rnd() & 1) && len >= b->len) {
            memcpy(buf + rnd_below(len - b->len + 1), b->data, b->len);
            return len;
        }

        if (len + b->len > max) {
            return len;
        }

        at = rnd_below(len + 1);
        memmove(buf + at + b->len, buf + at, len - at);
        memcpy(buf + at, b->data, b->len);
        return len + b->len;
    }
}


static void
run_one(const uint8_t *data, size_t len)
{
    uint8_t  *copy;

    copy = xrealloc(NULL, len);
    if (len) {
        memcpy(copy, data, len);
    }

    cur_data = copy;
    cur_len = len;

    (void) LLVMFuzzerTestOneInput(copy, len);

    cur_data = NULL;
    free(copy);
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    int        i, k, nmut, out_of_time;
    char      *a;
    double     start, limit, elapsed;
    size_t     s, len, cap, total, mutants;
    uint8_t   *buf;
    uint64_t   runs, seed, done, burst, j;
    blob_t     empty;

    runs = 10000;
    seed = 1;
    limit = 0;

    for (i = 1; i < argc; i++) {
        a = argv[i];

        if (a[0] != '-') {
            continue;
        }

        if (strncmp(a, "-mutations=", 11) == 0) {
            runs = strtoull(a + 11, NULL, 10);

        } else if (strncmp(a, "-max_total_time=", 16) == 0) {
            limit = strtod(a + 16, NULL);

        } else if (strncmp(a, "-seed=", 6) == 0) {
            seed = strtoull(a + 6, NULL, 10);

        } else if (strncmp(a, "-max_len=", 9) == 0) {
            max_len = strtoull(a + 9, NULL, 10);

        } else if (strncmp(a, "-dict=", 6) == 0) {
            load_dict(a + 6);

        } else if (strncmp(a, "-artifact_prefix=", 17) == 0) {
            prefix = a + 17;
        }
    }

    for (i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            load_seeds(argv[i]);
        }
    }

    /* no seeds (a target without a corpus yet): grow from nothing */
    if (seeds.n == 0) {
        empty.data = NULL;
        empty.len = 0;
        blobs_push(&seeds, empty.data, empty.len);
    }

    rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    if (rng == 0) {
        rng = 1;
    }

    signal(SIGABRT, on_signal);
    signal(SIGSEGV, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);
    signal(SIGTERM, on_signal);         /* timeout(1): save what hung */

    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(dump_input);
    }

    if (LLVMFuzzerInitialize) {
        LLVMFuzzerInitialize(&argc, &argv);
    }

    start = now();

    for (s = 0; s < seeds.n; s++) {
        run_one(seeds.elts[s].data, seeds.elts[s].len);
    }

    /* a seed longer than max_len is mutated within its own length */

    cap = max_len;
    for (s = 0; s < seeds.n; s++) {
        cap = seeds.elts[s].len > cap ? seeds.elts[s].len : cap;
    }

    buf = xrealloc(NULL, cap);
    total = seeds.n;
    mutants = 0;
    out_of_time = 0;

    /*
     * Rounds over the seeds: each seed in turn gets a burst of mutants, a
     * random walk from it that goes back to the seed now and then.
     */

    for (done = 0; done < runs && !out_of_time; done += burst) {
        burst = runs - done < BURST ? runs - done : BURST;

        for (s = 0; s < seeds.n && !out_of_time; s++) {
            len = 0;

            for (j = 0; j < burst; j++) {
                if (j == 0 || rnd_below(4) == 0) {
                    len = seeds.elts[s].len;
                    if (len) {
                        memcpy(buf, seeds.elts[s].data, len);
                    }
                }

                nmut = 1 + (int) rnd_below(4);
                for (k = 0; k < nmut; k++) {
                    len = mutate_once(buf, len, cap);
                }

                run_one(buf, len);
                mutants++;
            }

            out_of_time = limit > 0 && now() - start >= limit;
        }
    }

    total += mutants;
    elapsed = now() - start;

    printf("fallback: %zu inputs (%zu seeds, %zu mutants) in %.1f s, "
           "%.0f exec/s\n", total, seeds.n, mutants, elapsed,
           elapsed > 0 ? total / elapsed : 0.0);

    free(buf);

    return 0;
}
