/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for the offer catalog parser: the input is the
 * operator's catalog file, as vpt_catalog_parse() sees it.  Checked,
 * beyond the sanitizers and LeakSanitizer:
 *
 *   - a rejected catalog has a message that names the file, and is never
 *     rejected for "out of memory" (the parser sizes its one allocation
 *     from the JSON tree, which is meant to bound everything it keeps);
 *   - an accepted catalog holds what vpt_catalog.h promises: at least one
 *     offer; ids of 1..64 bytes of [A-Za-z0-9._:-], each found by
 *     vpt_catalog_find() at its own index; a known kind; markup that
 *     passes vpt_render_check() with an escaping for each placeholder; money >= 0, a prior in [0, 1], pages and
 *     hours non-empty sets of valid bits, rule lists of non-empty,
 *     NUL-terminated strings, named features, an advertiser exactly for
 *     third-party offers;
 *   - vpt_catalog_find() of an id that is too long, or of one byte more
 *     than an offer's id, finds nothing or an offer of exactly that id;
 *   - vpt_ranker_create() succeeds without a model and with one; each
 *     decides for an empty context on both pages within a scratch of
 *     exactly vpt_ranker_scratch_size() bytes, choosing distinct offers of
 *     that page; each offer renders into exactly vpt_render_size() bytes,
 *     with hostile context values, leaving the page's tokenizer in text,
 *     and the same with escapes learned at render as with the catalog's.
 *
 * Build and run from the repository root (t/fuzz/run does both):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc -It/fuzz \
 *       -o build/fuzz/fuzz_catalog t/fuzz/fuzz_catalog.c src/vpt_*.c \
 *       -lpcre2-8 -ljansson -lm
 *   mkdir -p build/fuzz/corpus/catalog
 *   build/fuzz/fuzz_catalog -dict=t/fuzz/catalog.dict -max_total_time=60 \
 *       build/fuzz/corpus/catalog t/fuzz/corpus/catalog
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_catalog.h"
#include "vpt_context.h"
#include "vpt_model.h"
#include "vpt_rank.h"
#include "vpt_render.h"
#include "vpt_html.h"
#include "vpt_render_ctx.h"
#include "fuzz_check.h"


#define NAME    "fuzz"
#define ID_MAX  64


/* a small model, for the offer side of the FM on fuzzed offers */
static const char  model_json[] =
    "{\"format\": \"vpt-fm\", \"k\": 2, \"bias\": -2,"
    " \"features\": {"
    "  \"kind=upsell\": [0.5, 1, 0],"
    "  \"kind=third_party\": [-0.5, 0, 1],"
    "  \"of:category=toys\": [0.25, 1, 1],"
    "  \"of:price=b3\": [0.1, -1, 0.5],"
    "  \"advertiser=Sunway Travel\": [0.3, 0.5, 0.5],"
    "  \"offer=a\": [1, 0, 0]}}";


static vpt_model_t  *model;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[VPT_ERRLEN];

    model = vpt_model_parse(model_json, sizeof(model_json) - 1, "embedded",
                            err, sizeof(err));
    if (model == NULL) {
        fprintf(stderr, "fuzz_catalog: %s\n", err);
        exit(2);
    }

    return 0;
}


static int
id_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || c == '.' || c == '_' || c == ':' || c == '-';
}


static void
check_list(const vpt_strlist_t *l)
{
    size_t  i;

    CHECK(l->n == 0 || l->items != NULL);

    for (i = 0; i < l->n; i++) {
        CHECK(l->items[i].len > 0);
        CHECK(l->items[i].data[l->items[i].len] == '\0');
    }
}


static void
check_offer(const vpt_catalog_t *c, size_t i)
{
    char               id[ID_MAX + 2];
    long               found;
    size_t             j;
    vpt_str_t          s;
    const vpt_offer_t  *o;

    o = &c->offers[i];

    CHECK(o->id.len >= 1 && o->id.len <= ID_MAX);
    CHECK(o->id.data[o->id.len] == '\0');

    for (j = 0; j < o->id.len; j++) {
        CHECK(id_byte(o->id.data[j]));
    }

    CHECK(vpt_catalog_find(c, o->id) == (long) i);

    /* the id and one byte more: absent, or exactly that other offer */

    memcpy(id, o->id.data, o->id.len);
    id[o->id.len] = 'x';
    s.data = id;
    s.len = o->id.len + 1;

    found = vpt_catalog_find(c, s);

    CHECK(found == -1
          || (found >= 0 && (size_t) found < c->n
              && vpt_str_eq(c->offers[found].id, s)));

    if (s.len > ID_MAX) {
        CHECK(found == -1);
    }

    CHECK((unsigned) o->kind < VPT_KIND_N);

    CHECK(o->markup.len > 0);
    CHECK(vpt_render_check(o->markup, NULL, 0) == VPT_OK);

    /* an escaping learned for each placeholder, none of them "refused" */
    CHECK(o->escapes != NULL);
    CHECK(o->nescapes == vpt_render_placeholders(o->markup));

    for (j = 0; o->escapes != NULL && j < o->nescapes; j++) {
        CHECK(o->escapes[j] > VPT_ESC_NONE && o->escapes[j] <= VPT_ESC_JS);
    }

    CHECK(o->value >= 0);
    CHECK(o->long_term_value >= 0);
    CHECK(o->min_cart_total >= 0);
    CHECK(o->prior >= 0 && o->prior <= 1);

    CHECK(o->pages != 0);
    CHECK((o->pages & ~((1u << VPT_PAGE_N) - 1)) == 0);

    CHECK(o->hours != 0);
    CHECK((o->hours & ~0xffffffu) == 0);

    CHECK(o->loyalty_member >= -1 && o->loyalty_member <= 1);

    check_list(&o->devices);
    check_list(&o->countries);
    check_list(&o->referrers);
    check_list(&o->categories_any);
    check_list(&o->categories_none);
    check_list(&o->exclude_if_in_cart);
    check_list(&o->exclude_if_purchased);

    CHECK(o->nfeatures == 0 || o->features != NULL);

    for (j = 0; j < o->nfeatures; j++) {
        CHECK(o->features[j].name.len > 0);
    }

    CHECK((o->kind == VPT_KIND_THIRD_PARTY) == (o->advertiser.len > 0));
}


/* an empty context on each page: distinct offers of that page */
static void
check_ranker(const vpt_catalog_t *c, const vpt_model_t *m)
{
    char                 *scratch, err[VPT_ERRLEN];
    size_t                i, j, ss;
    unsigned              page;
    vpt_context_t         ctx;
    vpt_ranker_t         *r;
    vpt_decision_t        d;
    vpt_decide_params_t   params;

    r = vpt_ranker_create(c, m, err, sizeof(err));

    if (r == NULL) {
        fprintf(stderr, "fuzz_catalog: %s\n", err);
    }

    CHECK(r != NULL);

    ss = vpt_ranker_scratch_size(r);
    scratch = fuzz_malloc(ss);

    vpt_context_init(&ctx);

    for (page = 0; page < VPT_PAGE_N; page++) {
        memset(&params, 0, sizeof(params));
        params.page = (vpt_page_e) page;
        params.hour = 12;
        params.slots = VPT_MAX_SLOTS;
        params.long_term_weight = 1;
        params.min_value = -1;

        vpt_decide(r, &ctx, &params, scratch, &d);

        CHECK(d.n <= VPT_MAX_SLOTS);
        CHECK(d.eligible <= c->n);

        for (i = 0; i < d.n; i++) {
            CHECK(d.offer[i] < c->n);
            CHECK(c->offers[d.offer[i]].pages & VPT_PAGE_BIT(page));
            CHECK(d.p[i] >= 0 && d.p[i] <= 1);

            for (j = 0; j < i; j++) {
                CHECK(d.offer[i] != d.offer[j]);
            }
        }
    }

    free(scratch);
    vpt_ranker_free(r);
}


static void
check_render(const vpt_catalog_t *c)
{
    char               *out, *again;
    size_t              i, size;
    vpt_html_t          h;
    vpt_offer_t         o;
    vpt_context_t       ctx;
    vpt_render_vars_t   vars;

    static const char  evil[] = "javascript:x'\"<!--</script>\\\xe2\x80\xa8";

    vpt_context_init(&ctx);
    ctx.user_id.data = evil;
    ctx.user_id.len = sizeof(evil) - 1;
    ctx.intent = ctx.user_id;

    memset(&vars, 0, sizeof(vars));
    vars.decision.data = "0123456789abcdef";
    vars.decision.len = 16;
    vars.experiment.data = "exp";
    vars.experiment.len = 3;

    for (i = 0; i < c->n; i++) {
        o = c->offers[i];
        size = vpt_render_size(&o, &ctx, &vars);
        out = fuzz_malloc(size);
        CHECK(vpt_render(out, &o, &ctx, &vars) == size);

        /* the page's tokenizer is back in text after the offer */
        vpt_html_init(&h);
        vpt_html_scan(&h, (const unsigned char *) out, size);
        CHECK(vpt_html_in_data(&h, 'a'));

        /* escapes learned at render agree with the catalog's */
        o.escapes = NULL;
        CHECK(vpt_render_size(&o, &ctx, &vars) == size);
        again = fuzz_malloc(size);
        CHECK(vpt_render(again, &o, &ctx, &vars) == size);
        CHECK(size == 0 || memcmp(out, again, size) == 0);

        free(again);
        free(out);
    }
}


/*
 * The parser's own "out of memory", not a name quoted from the input that
 * happens to say so: a field's value ran out of room (the message ends
 * with it, and quoted names end with a quote), or the calloc failed (just
 * after the file's name).
 */
static int
oom(const char *err)
{
    size_t  len;

    static const char  head[] = "catalog \"" NAME "\": out of memory (";
    static const char  tail[] = ": out of memory";

    len = strlen(err);

    return (len >= sizeof(tail) - 1
            && strcmp(err + len - (sizeof(tail) - 1), tail) == 0)
           || strncmp(err, head, sizeof(head) - 1) == 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            err[VPT_ERRLEN], toolong[ID_MAX + 1];
    size_t          i;
    vpt_str_t       s;
    vpt_catalog_t  *c;

    err[0] = '\0';

    c = vpt_catalog_parse((const char *) data, size, NAME, err, sizeof(err));

    if (c == NULL) {
        CHECK(strncmp(err, "catalog \"" NAME "\": ",
                      sizeof("catalog \"" NAME "\": ") - 1) == 0);

        if (oom(err)) {
            fprintf(stderr, "fuzz_catalog: %s\n", err);
        }

        CHECK(!oom(err));

        return 0;
    }

    CHECK(c->mem != NULL);
    CHECK(c->n >= 1 && c->offers != NULL);
    CHECK(c->version.data != NULL);

    for (i = 0; i < c->n; i++) {
        check_offer(c, i);
    }

    memset(toolong, 'a', sizeof(toolong));
    s.data = toolong;
    s.len = sizeof(toolong);
    CHECK(vpt_catalog_find(c, s) == -1);

    check_ranker(c, NULL);
    check_ranker(c, model);
    check_render(c);

    vpt_catalog_free(c);

    return 0;
}
