/*
 * Copyright (C) ngx_vpt_module authors
 *
 * A minimal unit-test harness: each test file defines tests with
 * VPT_TEST(name) and lists them in main() with VPT_RUN(name).  The last
 * line printed is "N passed, N failed", which CI reads.
 */

#ifndef VPT_TEST_H
#define VPT_TEST_H

#include <stdio.h>
#include <string.h>
#include <math.h>


static int  vpt_test_failed_now;
static int  vpt_tests_passed;
static int  vpt_tests_failed;


#define VPT_TEST(name)  static void name(void)

#define VPT_RUN(name)                                                       \
    do {                                                                    \
        vpt_test_failed_now = 0;                                            \
        name();                                                             \
        if (vpt_test_failed_now) {                                          \
            vpt_tests_failed++;                                             \
            printf("not ok - %s\n", #name);                                 \
        } else {                                                            \
            vpt_tests_passed++;                                             \
            printf("ok - %s\n", #name);                                     \
        }                                                                   \
    } while (0)

#define VPT_CHECK(cond)                                                     \
    do {                                                                    \
        if (!(cond)) {                                                      \
            printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                   #cond);                                                  \
            vpt_test_failed_now = 1;                                        \
        }                                                                   \
    } while (0)

#define VPT_CHECK_MSG(cond, ...)                                            \
    do {                                                                    \
        if (!(cond)) {                                                      \
            printf("#   %s:%d: check failed: %s: ", __FILE__, __LINE__,    \
                   #cond);                                                  \
            printf(__VA_ARGS__);                                            \
            printf("\n");                                                   \
            vpt_test_failed_now = 1;                                        \
        }                                                                   \
    } while (0)

#define VPT_CHECK_STR(got, gotlen, want)                                    \
    VPT_CHECK_MSG((gotlen) == strlen(want)                                  \
                  && memcmp((got), (want), (gotlen)) == 0,                  \
                  "got \"%.*s\", want \"%s\"", (int) (gotlen), (got), (want))

#define VPT_CHECK_NEAR(a, b, eps)                                           \
    VPT_CHECK_MSG(fabs((double) (a) - (double) (b)) <= (eps),               \
                  "%g vs %g", (double) (a), (double) (b))

#define VPT_DONE()                                                          \
    (printf("unit: %d passed, %d failed\n", vpt_tests_passed,              \
            vpt_tests_failed),                                              \
     vpt_tests_failed ? 1 : 0)


#endif /* VPT_TEST_H */
