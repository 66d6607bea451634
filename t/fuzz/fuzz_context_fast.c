/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Differential target for the context's fast path (src/vpt_context_fast.c):
 * every input goes to the fast path and to jansson's path, each with an
 * arena of exactly the input's length.  Checked:
 *
 *   - the fast path returns VPT_OK or VPT_DECLINED, never anything else;
 *   - when it returns VPT_OK, jansson accepts the text too and the two
 *     contexts are equal, value for value and string for string
 *     (t/unit/context_eq.h);
 *   - vpt_context_parse(), which tries the fast path first, always
 *     returns what jansson's path returns, with an equal context;
 *   - every string of a context either path gives lies in its arena (the
 *     fast path points into its copy of the text there).
 *
 * The seeds are the context target's (t/fuzz/corpus/context), which are
 * mostly plain contexts the fast path takes; t/fuzz/run names them.
 */

#include <stdint.h>

#include "vpt_context.h"
#include "vpt_context_int.h"
#include "fuzz_check.h"
#include "../unit/context_eq.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            rc_fast, rc_ref, rc_pub;
    char          *a_fast, *a_ref, *a_pub;
    const char    *why, *json;
    vpt_context_t  fast, ref, pub;

    json = (const char *) data;

    a_fast = fuzz_malloc(size);
    a_ref = fuzz_malloc(size);
    a_pub = fuzz_malloc(size);

    rc_fast = vpt_context_parse_fast(&fast, json, size, a_fast, size);
    rc_ref = vpt_context_parse_jansson(&ref, json, size, a_ref, size);
    rc_pub = vpt_context_parse(&pub, json, size, a_pub, size);

    CHECK(rc_fast == VPT_OK || rc_fast == VPT_DECLINED);
    CHECK(rc_pub == rc_ref);

    why = "";

    if (rc_fast == VPT_OK) {
        CHECK(rc_ref == VPT_OK);

        if (!ctx_eq(&fast, &ref, &why)) {
            fprintf(stderr, "fast path and jansson differ in %s\n", why);
            CHECK(0);
        }

        if (!ctx_in_arena(&fast, a_fast, size, &why)) {
            fprintf(stderr, "fast path's %s is outside its arena\n", why);
            CHECK(0);
        }
    }

    if (rc_ref == VPT_OK && !ctx_in_arena(&ref, a_ref, size, &why)) {
        fprintf(stderr, "jansson's path's %s is outside its arena\n", why);
        CHECK(0);
    }

    if (rc_pub == VPT_OK && !ctx_in_arena(&pub, a_pub, size, &why)) {
        fprintf(stderr, "vpt_context_parse's %s is outside its arena\n",
                why);
        CHECK(0);
    }

    if (!ctx_eq(&pub, &ref, &why)) {
        fprintf(stderr, "vpt_context_parse and jansson differ in %s\n", why);
        CHECK(0);
    }

    free(a_fast);
    free(a_ref);
    free(a_pub);

    return 0;
}
