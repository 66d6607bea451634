/*
 * Copyright (C) ngx_vpt_module authors
 *
 * libFuzzer entry point for the session context: the input is the shop's
 * Redis value, as it reaches vpt_context_parse().  A parsed context then
 * goes through the real ranker (conf.d/catalog.json and conf.d/model.json,
 * loaded once) and the renderer, with decision parameters drawn from a
 * hash of the input.  Checked, beyond the sanitizers:
 *
 *   - the context is what vpt_context.h promises: counts within the array
 *     sizes, numbers unknown (-1) or in range, every string non-empty and
 *     inside the arena (an arena of exactly the input's length, as the
 *     header allows);
 *   - every shopper feature's text hashes to its hash;
 *   - vpt_decide() with a scratch of exactly vpt_ranker_scratch_size()
 *     bytes at any alignment: chosen offers are distinct, on the page,
 *     among the candidates, best first without exploration; its p is
 *     vpt_ranker_p()'s; the eligible offers are those vpt_eligible()
 *     accepts; the ranker's logit is vpt_model_logit() over the shopper's
 *     and the offer's features;
 *   - vpt_render() of each chosen offer and of a probe offer that uses
 *     every placeholder, into exactly vpt_render_size() bytes, returns that
 *     size, and no byte of < > " ' comes from the context: their counts
 *     are those of the same offer rendered for an empty context, also after
 *     every context string is overwritten with '<'.
 *
 * Build and run from the repository root (the catalog and model paths are
 * relative to it); t/fuzz/run does both:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc -It/fuzz \
 *       -o build/fuzz/fuzz_context t/fuzz/fuzz_context.c src/vpt_*.c \
 *       -lpcre2-8 -ljansson -lm
 *   mkdir -p build/fuzz/corpus/context
 *   build/fuzz/fuzz_context -dict=t/fuzz/context.dict -max_total_time=60 \
 *       build/fuzz/corpus/context t/fuzz/corpus/context
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_context.h"
#include "vpt_model.h"
#include "vpt_rank.h"
#include "vpt_render.h"
#include "fuzz_check.h"


#define CATALOG  "conf.d/catalog.json"
#define MODEL    "conf.d/model.json"


/* one offer whose markup names every placeholder vpt_render() fills */
static const char  probe_json[] =
    "{\"version\": \"fuzz-probe\", \"offers\": [{"
    "\"id\": \"probe:all-fields\", \"kind\": \"upsell\","
    "\"pages\": [\"cart\", \"confirmation\"],"
    "\"markup\": \"<p title='{{user.id}}'>{{decision}} {{offer}}"
    " {{experiment}} <a href=\\\"/vpt/accept?{{beacon}}\\\">{{user.id}}</a>"
    " {{user.orders}} {{device}} {{referrer}} {{country}} {{intent}}"
    " {{order.id}} {{order.total}} {{order.currency}} {{features.segment}}"
    " {{features.age_band}} {{features.age}} {{features.a}}"
    " {{features.x.y-z_1}}</p>\"}]}";


static vpt_catalog_t  *catalog;
static vpt_catalog_t  *probe;
static vpt_model_t    *model;
static vpt_ranker_t   *ranker;


static const char  specials[] = "<>\"'";

#define NSPECIALS  (sizeof(specials) - 1)


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[VPT_ERRLEN];

    catalog = vpt_catalog_load(CATALOG, err, sizeof(err));
    if (catalog == NULL) {
        fprintf(stderr, "fuzz_context: %s (run from the repository root)\n",
                err);
        exit(2);
    }

    model = vpt_model_load(MODEL, err, sizeof(err));
    if (model == NULL) {
        fprintf(stderr, "fuzz_context: %s (run from the repository root)\n",
                err);
        exit(2);
    }

    ranker = vpt_ranker_create(catalog, model, err, sizeof(err));
    if (ranker == NULL) {
        fprintf(stderr, "fuzz_context: %s\n", err);
        exit(2);
    }

    probe = vpt_catalog_parse(probe_json, sizeof(probe_json) - 1, "probe",
                              err, sizeof(err));
    if (probe == NULL) {
        fprintf(stderr, "fuzz_context: %s\n", err);
        exit(2);
    }

    return 0;
}


/* a string of the context: absent (len 0), or non-empty inside the arena */
static void
check_str(vpt_str_t s, const char *arena, size_t size)
{
    if (s.len == 0) {
        return;
    }

    CHECK(s.data != NULL);
    CHECK(s.data >= arena && s.len <= size
          && (size_t) (s.data - arena) <= size - s.len);
}


static void
check_present(vpt_str_t s, const char *arena, size_t size)
{
    CHECK(s.len > 0);
    check_str(s, arena, size);
}


static void
check_items(const vpt_item_t *items, size_t n, const char *arena,
    size_t size)
{
    size_t  i;

    CHECK(n <= VPT_CTX_MAX_ITEMS);

    for (i = 0; i < n; i++) {
        check_str(items[i].sku, arena, size);
        check_str(items[i].category, arena, size);
        CHECK(items[i].price >= 0);
        CHECK(items[i].qty >= 0);
    }
}


static void
check_context(const vpt_context_t *ctx, const char *arena, size_t size)
{
    size_t  i;

    check_str(ctx->user_id, arena, size);
    CHECK(ctx->loyalty_member >= -1 && ctx->loyalty_member <= 1);
    CHECK(ctx->orders == -1 || ctx->orders >= 0);
    CHECK(ctx->lifetime_value == -1 || ctx->lifetime_value >= 0);

    check_str(ctx->device, arena, size);
    check_str(ctx->referrer, arena, size);
    check_str(ctx->country, arena, size);
    CHECK(ctx->local_hour >= -1 && ctx->local_hour <= 23);

    check_items(ctx->cart, ctx->ncart, arena, size);
    CHECK(ctx->cart_total >= 0);

    check_str(ctx->order_id, arena, size);
    CHECK(ctx->order_total == -1 || ctx->order_total >= 0);
    check_str(ctx->order_currency, arena, size);

    CHECK(ctx->nhistory_categories <= VPT_CTX_MAX_STRS);
    for (i = 0; i < ctx->nhistory_categories; i++) {
        check_present(ctx->history_categories[i], arena, size);
    }

    CHECK(ctx->nhistory_skus <= VPT_CTX_MAX_STRS);
    for (i = 0; i < ctx->nhistory_skus; i++) {
        check_present(ctx->history_skus[i], arena, size);
    }

    check_items(ctx->viewed, ctx->nviewed, arena, size);

    check_str(ctx->intent, arena, size);

    CHECK(ctx->nfeatures <= VPT_CTX_MAX_FEATURES);
    for (i = 0; i < ctx->nfeatures; i++) {
        check_present(ctx->features[i].name, arena, size);

        if (!ctx->features[i].is_num) {
            check_present(ctx->features[i].str, arena, size);
        }
    }
}


/* each feature's text, built by vpt_feat_text(), hashes to its hash */
static size_t
check_features(const vpt_feat_t *f, size_t n)
{
    char    small[4], *text;
    size_t  i, len;

    for (i = 0; i < n; i++) {
        len = vpt_feat_text(&f[i], small, sizeof(small));

        text = fuzz_malloc(len + 1);
        CHECK(vpt_feat_text(&f[i], text, len + 1) == len);
        CHECK(text[len] == '\0');
        CHECK(vpt_hash(text, len) == f[i].hash);
        CHECK(len < sizeof(small) || memcmp(small, text, sizeof(small) - 1)
                                     == 0);
        free(text);
    }

    return n;
}


/*
 * Renders into exactly vpt_render_size() bytes; counts the bytes of
 * specials[] in the output.
 */
static void
render(const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars, size_t counts[NSPECIALS])
{
    char        *out;
    size_t       size, n, i, k;
    static const char  head[] = "<div class=\"vpt-offer\" data-vpt-decision=\"";
    static const char  tail[] = "</div>";

    size = vpt_render_size(o, ctx, vars);
    CHECK(size >= sizeof(head) - 1 + sizeof(tail) - 1);

    out = fuzz_malloc(size);
    n = vpt_render(out, o, ctx, vars);
    CHECK(n == size);
    CHECK(n <= vpt_render_max(o, vars));

    CHECK(memcmp(out, head, sizeof(head) - 1) == 0);
    CHECK(memcmp(out + size - (sizeof(tail) - 1), tail, sizeof(tail) - 1)
          == 0);

    for (k = 0; k < NSPECIALS; k++) {
        counts[k] = 0;
    }

    for (i = 0; i < size; i++) {
        for (k = 0; k < NSPECIALS; k++) {
            counts[k] += (out[i] == specials[k]);
        }
    }

    free(out);
}


/* what the context writes into the offer is escaped: it adds no special */
static void
render_check(const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars)
{
    size_t         k, got[NSPECIALS], want[NSPECIALS];
    vpt_context_t  empty;

    vpt_context_init(&empty);

    render(o, &empty, vars, want);
    render(o, ctx, vars, got);

    for (k = 0; k < NSPECIALS; k++) {
        if (got[k] != want[k]) {
            fprintf(stderr, "offer \"%.*s\": %zu '%c' with this context, "
                    "%zu with an empty one\n", (int) o->id.len, o->id.data,
                    got[k], specials[k], want[k]);
        }

        CHECK(got[k] == want[k]);
    }
}


static void
check_decision(const vpt_context_t *ctx, const vpt_decide_params_t *params,
    const vpt_decision_t *d)
{
    int                 eligible;
    double              l1, l2, scale;
    size_t              i, j, ns, no, neligible, c;
    vpt_feat_t          f[2 * VPT_MAX_FEATURES];
    const vpt_offer_t  *o;

    CHECK(d->n <= params->slots);
    CHECK(d->n <= d->ncandidates);
    CHECK(d->ncandidates <= d->eligible);
    CHECK(d->eligible <= catalog->n);
    CHECK(d->n > 0 || d->nothing_propensity == 1);
    CHECK(d->n == 0 || d->nothing_propensity == 0);
    CHECK(!d->suppressed || (d->n == 0 && d->eligible > 0));
    CHECK(d->ncandidates == 0 || d->candidates != NULL);

    for (i = 0; i < d->ncandidates; i++) {
        CHECK(d->candidates[i] < catalog->n);
        CHECK(i == 0 || d->candidates[i - 1] < d->candidates[i]);
    }

    for (j = 0; j < d->n; j++) {
        CHECK(d->offer[j] < catalog->n);
        CHECK(catalog->offers[d->offer[j]].pages
              & VPT_PAGE_BIT(params->page));

        for (i = 0; i < j; i++) {
            CHECK(d->offer[i] != d->offer[j]);
        }

        for (i = 0; i < d->ncandidates && d->candidates[i] != d->offer[j];
             i++)
        {
            /* void */
        }

        CHECK(i < d->ncandidates);

        CHECK(d->p[j] >= 0 && d->p[j] <= 1);
        CHECK(d->propensity[j] > 0 && d->propensity[j] <= 1);
        CHECK(d->value[j] >= params->min_value);
        CHECK(d->p[j] == vpt_ranker_p(ranker, ctx, params->page,
                                      params->hour, d->offer[j]));

        if (params->explore == 0) {
            CHECK(d->propensity[j] == 1);
            CHECK(j == 0 || d->value[j - 1] >= d->value[j]);
        }
    }

    /* the eligible offers, one at a time through vpt_eligible() */

    neligible = 0;
    c = 0;

    for (i = 0; i < catalog->n; i++) {
        eligible = vpt_eligible(&catalog->offers[i], ctx, params->page,
                                params->hour,
                                params->impressions
                                ? params->impressions[i] : 0,
                                params->accepted ? params->accepted[i] : 0);

        neligible += eligible;

        if (c < d->ncandidates && d->candidates[c] == i) {
            CHECK(eligible);
            c++;

        } else if (isinf(params->min_value) && params->min_value < 0) {
            /* every eligible offer qualifies */
            CHECK(!eligible);
        }
    }

    CHECK(neligible == d->eligible);

    /* the ranker's fast logit is the model's over both feature sets */

    ns = vpt_features_shopper(ctx, params->page, params->hour, f,
                              VPT_MAX_FEATURES);
    CHECK(ns <= VPT_MAX_FEATURES);
    check_features(f, ns);

    for (i = 0; i < catalog->n; i++) {
        o = &catalog->offers[i];
        no = vpt_features_offer(o, f + ns, VPT_MAX_FEATURES);
        CHECK(no <= VPT_MAX_FEATURES);
        check_features(f + ns, no);

        l1 = vpt_ranker_logit(ranker, ctx, params->page, params->hour, i);
        l2 = vpt_model_logit(model, f, ns + no);
        scale = 1 + fabs(l2);

        if (!(fabs(l1 - l2) <= 1e-9 * scale)) {
            fprintf(stderr, "offer \"%s\": ranker logit %.17g, model %.17g\n",
                    o->id.data, l1, l2);
        }

        CHECK(fabs(l1 - l2) <= 1e-9 * scale);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 *arena, *buf, decision[17];
    size_t                i, ss, off;
    uint8_t              *accepted;
    uint32_t             *impressions;
    uint64_t              state, x;
    vpt_context_t         ctx;
    vpt_decision_t        d;
    vpt_render_vars_t     vars;
    vpt_decide_params_t   params;
    static const char     hex[] = "0123456789abcdef";

    /* an arena of exactly the input's length: ASan sees a write past it */

    arena = fuzz_malloc(size);

    if (vpt_context_parse(&ctx, (const char *) data, size, arena, size)
        != VPT_OK)
    {
        free(arena);
        return 0;
    }

    CHECK(size <= VPT_CTX_MAX_BYTES);
    check_context(&ctx, arena, size);

    /* the decision's parameters: a pure function of the input */

    state = vpt_hash(data, size);

    memset(&params, 0, sizeof(params));

    x = vpt_rand_next(&state);
    params.page = (vpt_page_e) (x & 1);
    params.hour = (int) ((x >> 1) % 24);
    params.slots = 1 + (unsigned) ((x >> 8) % VPT_MAX_SLOTS);
    params.explore = ((x >> 12) & 3) ? 0 : ((x >> 14) & 0xff) / 255.0;
    params.long_term_weight = ((x >> 22) & 0xf) / 8.0;
    params.seed = vpt_rand_next(&state);

    switch ((x >> 26) & 3) {
    case 0:
        params.min_value = -INFINITY;
        break;
    case 1:
        params.min_value = ((x >> 28) & 0xff) / 16.0;
        break;
    default:
        params.min_value = 0;
    }

    impressions = NULL;
    accepted = NULL;

    if ((x >> 36) & 1) {
        impressions = fuzz_malloc(catalog->n * sizeof(uint32_t));
        accepted = fuzz_malloc(catalog->n);

        for (i = 0; i < catalog->n; i++) {
            x = vpt_rand_next(&state);
            impressions[i] = (uint32_t) (x % 6);
            accepted[i] = (x >> 8) % 8 == 0;
        }

        params.impressions = impressions;
        params.accepted = accepted;
    }

    /* a scratch of exactly the size asked for, at any alignment */

    x = vpt_rand_next(&state);
    ss = vpt_ranker_scratch_size(ranker);
    off = x & 7;
    buf = fuzz_malloc(ss + off);

    vpt_decide(ranker, &ctx, &params, buf + off, &d);

    check_decision(&ctx, &params, &d);

    /* render what was chosen, and the probe */

    for (i = 0; i < 16; i++) {
        decision[i] = hex[(x >> (4 * i)) & 0xf];
    }

    decision[16] = '\0';

    memset(&vars, 0, sizeof(vars));
    vars.decision.data = decision;
    vars.decision.len = 16;
    vars.experiment.data = ((x >> 62) & 1) ? "exp-1" : "";
    vars.experiment.len = strlen(vars.experiment.data);
    vars.signature.data = "";
    vars.signature.len = 0;

    for (i = 0; i < d.n; i++) {
        render_check(&catalog->offers[d.offer[i]], &ctx, &vars);
    }

    render_check(&probe->offers[0], &ctx, &vars);

    /* again with every string of the context made of '<' */

    memset(arena, '<', size);

    for (i = 0; i < d.n; i++) {
        render_check(&catalog->offers[d.offer[i]], &ctx, &vars);
    }

    render_check(&probe->offers[0], &ctx, &vars);

    free(buf);
    free(impressions);
    free(accepted);
    free(arena);

    return 0;
}
