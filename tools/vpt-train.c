/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-train --catalog FILE --model-out FILE [--holdout FRACTION] [--k K]
 *           [--epochs N] [--l2 X] [--lr X] [--ipw] [--clip C] [--seed S]
 *           [--json] LOG...
 *
 * Trains the ranker's factorization machine on a decision log (JSON
 * Lines, plain or gzip, "-" is stdin): one example per row that showed an
 * offer, label = accepted, features = vpt_features_shopper(context, page,
 * hour) followed by vpt_features_offer(shown offer): the list the ranker
 * scores (vpt_ranker_logit() equals vpt_model_logit() over it).  The hour
 * is the server's, from the row's "time"; the features code prefers the
 * context's local_hour, as in nginx.
 *
 * The loss and the weights.  The model is p(accept | shopper, offer), a
 * property of the shopper and the offer, not of the policy that chose the
 * offer.  The logging policy decides which (x, a) pairs are seen, not how
 * the label given (x, a) is drawn, so the plain log-loss over the shown
 * rows is an unbiased estimate of each pair's conditional likelihood; with
 * a well-specified model, weighting by 1/propensity changes nothing in
 * expectation and only adds variance.  What the logging policy does bias
 * is where the model is accurate: pairs it rarely shows are few, so a
 * misspecified model fits the favourite offers best.  --ipw weights each
 * row by 1/propensity (clipped at --clip, default 20, so a 1% exploration
 * draw weighs 20, not 100) to spread the fit over offers as if they were
 * shown uniformly; it is off by default.  The held-out metrics are
 * unweighted either way.
 *
 * The optimizer: AdaGrad on the log-loss with L2 (--l2, on the parameters
 * a row touches), rate --lr; v initialised small and random (a function of
 * the feature's hash and --seed), w at 0, the bias at the logit of the
 * training accept rate.  The held-out split (--holdout, default 0.1) is a
 * pure function of the decision id (vpt_heldout()), so it is the same in
 * every run and in vpt-eval --holdout.  After each epoch the held-out
 * log-loss decides: while it improves, training goes on (at most
 * --epochs, default 10); when it does not, the best epoch's parameters
 * are kept.  --holdout 0 trains every epoch on everything and reports no
 * metrics.
 *
 * Memory and passes.  The input is read once: each usable row becomes a
 * compact record (label, weight, the feature ids) in an unlinked temporary
 * file, one for training rows and one for held-out rows; every epoch then
 * streams those files.  In memory: only the vocabulary (feature hash ->
 * row of k + 1 parameters and AdaGrad sums, and the feature's name for the
 * model file), which is bounded by the distinct features, not by rows.
 * Disk: about 4 bytes per feature per row.
 *
 * AUC: from a histogram of 10,000 logit bins (vpt_tools_stats.c),
 * constant memory, exact but for ties within a bin (0.004 in logit).
 *
 * Output: the model file ("vpt-fm", with "meta": trainer, catalog, rows,
 * settings, metrics), written to FILE.tmp and renamed.  On stdout a
 * summary, or with --json:
 *   {"rows": N, "logloss": x, "auc": x,
 *    "train_rows": N, "features": N, "epochs": N, "bad_lines": N}
 * where rows, logloss and auc are of the held-out part (null without one).
 * Malformed lines are counted and the first ones reported on stderr
 * (file:line), then skipped; so are rows whose offer is not in the
 * catalog.  Exit status: 0, 1 for unreadable input or unwritable output,
 * 2 for bad options, catalog or an empty training set.
 */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"


typedef struct {
    uint16_t     n;
    uint8_t      label;
    uint8_t      pad;
    float        weight;
} vpt_rec_t;


typedef struct {
    unsigned     k;
    size_t       stride;            /* k + 1 */
    vpt_umap_t   map;
    size_t       n;
    size_t       cap;
    float       *p;                 /* n rows of [w, v1..vk] */
    float       *g;                 /* AdaGrad sums, same layout */
    char       **names;
    vpt_arena_t *arena;
    double       bias;
    double       gbias;
    double       lr;
    double       l2;
    uint64_t     seed;
} vpt_fm_t;


static vpt_fm_t   fm;


static uint32_t
vpt_fm_id(const vpt_feat_t *f)
{
    int       added;
    long      id;
    char      text[1024];
    size_t    len, x;
    uint64_t  rng;
    float    *p;

    id = vpt_umap_add(&fm.map, f->hash, &added);

    if (!added) {
        return (uint32_t) id;
    }

    if (fm.n == fm.cap) {
        fm.cap = fm.cap ? fm.cap * 2 : 4096;
        fm.p = vpt_xrealloc(fm.p, fm.cap * fm.stride * sizeof(float));
        fm.g = vpt_xrealloc(fm.g, fm.cap * fm.stride * sizeof(float));
        fm.names = vpt_xrealloc(fm.names, fm.cap * sizeof(char *));
    }

    len = vpt_feat_text(f, text, sizeof(text));
    if (len >= sizeof(text)) {
        len = sizeof(text) - 1;
    }

    fm.names[fm.n] = vpt_arena_strdup(fm.arena, text, len);

    p = fm.p + fm.n * fm.stride;
    rng = f->hash ^ (fm.seed * 0x9e3779b97f4a7c15ULL);
    p[0] = 0;

    for (x = 1; x <= fm.k; x++) {
        p[x] = (float) (0.01 * (vpt_rand_unit(&rng) - 0.5) * 3.4641);
    }

    memset(fm.g + fm.n * fm.stride, 0, fm.stride * sizeof(float));
    fm.n++;

    return (uint32_t) id;
}


/* the logit, and S (the sums of v) for the gradient */
static double
vpt_fm_logit(const uint32_t *ids, size_t n, double *S)
{
    double        logit, sq;
    size_t        i, x, k;
    const float  *p;

    k = fm.k;
    logit = fm.bias;
    sq = 0;

    for (x = 0; x < k; x++) {
        S[x] = 0;
    }

    for (i = 0; i < n; i++) {
        p = fm.p + ids[i] * fm.stride;
        logit += p[0];

        for (x = 0; x < k; x++) {
            S[x] += p[1 + x];
            sq += (double) p[1 + x] * p[1 + x];
        }
    }

    logit -= 0.5 * sq;

    for (x = 0; x < k; x++) {
        logit += 0.5 * S[x] * S[x];
    }

    return logit;
}


static void
vpt_fm_step(const uint32_t *ids, size_t n, int label, double weight)
{
    double   S[VPT_MODEL_MAX_K], g, d, lr, l2;
    size_t   i, x, k;
    float   *p, *gs;

    k = fm.k;
    lr = fm.lr;
    l2 = fm.l2;

    g = weight * (vpt_sigmoid(vpt_fm_logit(ids, n, S)) - label);

    fm.gbias += g * g;
    fm.bias -= lr * g / sqrt(fm.gbias + 1e-8);

    for (i = 0; i < n; i++) {
        p = fm.p + ids[i] * fm.stride;
        gs = fm.g + ids[i] * fm.stride;

        d = g + l2 * p[0];
        gs[0] += (float) (d * d);
        p[0] -= (float) (lr * d / sqrt(gs[0] + 1e-8));

        for (x = 0; x < k; x++) {
            d = g * (S[x] - p[1 + x]) + l2 * p[1 + x];
            gs[1 + x] += (float) (d * d);
            p[1 + x] -= (float) (lr * d / sqrt(gs[1 + x] + 1e-8));
        }
    }
}


/* the record files */

static FILE *
vpt_tmp(void)
{
    FILE  *f;

    f = tmpfile();
    if (f == NULL) {
        vpt_die(1, "vpt-train: a temporary file: %s", strerror(errno));
    }

    setvbuf(f, NULL, _IOFBF, 1024 * 1024);

    return f;
}


static void
vpt_rec_write(FILE *f, int label, double weight, const uint32_t *ids,
    size_t n)
{
    vpt_rec_t  r;

    r.n = (uint16_t) n;
    r.label = (uint8_t) label;
    r.pad = 0;
    r.weight = (float) weight;

    if (fwrite(&r, sizeof(r), 1, f) != 1
        || fwrite(ids, sizeof(uint32_t), n, f) != n)
    {
        vpt_die(1, "vpt-train: a temporary file: %s", strerror(errno));
    }
}


static int
vpt_rec_read(FILE *f, vpt_rec_t *r, uint32_t *ids)
{
    if (fread(r, sizeof(vpt_rec_t), 1, f) != 1) {
        return 0;
    }

    if (fread(ids, sizeof(uint32_t), r->n, f) != r->n) {
        vpt_die(1, "vpt-train: a temporary file is short");
    }

    return 1;
}


static void
vpt_evaluate(FILE *f, vpt_auc_t *auc)
{
    double     S[VPT_MODEL_MAX_K];
    uint32_t   ids[VPT_MAX_FEATURES * 2];
    vpt_rec_t  r;

    memset(auc, 0, sizeof(vpt_auc_t));
    rewind(f);

    while (vpt_rec_read(f, &r, ids)) {
        vpt_auc_add(auc, vpt_sigmoid(vpt_fm_logit(ids, r.n, S)), r.label, 1);
    }
}


static const char  vpt_usage_text[] =
    "Usage: vpt-train --catalog FILE --model-out FILE [--holdout FRACTION] "
    "[--k K]\n"
    "         [--epochs N] [--l2 X] [--lr X] [--ipw] [--clip C] [--seed S] "
    "[--json]\n"
    "         LOG...\n"
    "Trains the ranking model (a factorization machine over the features "
    "nginx\n"
    "computes) on a decision log from vpt-join, and reports its log-loss and\n"
    "AUC on a held-out part of the rows.\n"
    "\n"
    "  --catalog FILE          the offer catalog (as vpt_catalog)\n"
    "  --model-out FILE        where the model goes (written whole, then\n"
    "                          renamed): load it with vpt_model\n"
    "  --holdout FRACTION      the share of decisions held out for the\n"
    "                          metrics, chosen by decision id (default 0.1;\n"
    "                          0 trains on all and reports none)\n"
    "  --k K                   the factor dimension (default 4)\n"
    "  --epochs N              passes over the data at most (default 10); the\n"
    "                          best epoch on the held-out rows is kept\n"
    "  --l2 X                  L2 regularisation (default 0.0001)\n"
    "  --lr X                  the AdaGrad learning rate (default 0.05)\n"
    "  --ipw                   weight rows by 1/propensity, to fit rarely "
    "shown\n"
    "                          offers as well as favourites (off by default)\n"
    "  --clip C                the largest such weight (default 20)\n"
    "  --seed S                the initialisation's seed (default 1)\n"
    "  --json                  print one JSON object instead of text\n"
    "  --help                  print this help and exit\n"
    "  --version               print the version and exit\n"
    "  LOG                     a decision log (JSON Lines), plain or gzip; "
    "\"-\"\n"
    "                          is standard input\n"
    "\n"
    "Exit status: 0; 1 for unreadable input or unwritable output; 2 for bad\n"
    "options or catalog.\n";


int
main(int argc, char **argv)
{
    int              json, ipw, improved;
    char             err[VPT_ERRLEN], *meta;
    size_t           i, n, mlen;
    unsigned         epochs, epoch, best_epoch;
    uint32_t         ids[VPT_MAX_FEATURES * 2];
    uint64_t         ntrain, nheld, nothing, unknown, noprop, pos;
    double           holdout, clip, w, best_loss, best_auc, best_bias, loss;
    float           *best_p;
    FILE            *trainf, *heldf, *mem;
    vpt_bad_t        bad;
    vpt_logs_t       logs;
    vpt_buf_t        scratch;
    vpt_auc_t       *auc;
    vpt_row_t       *row;
    vpt_rec_t        r;
    vpt_feat_t       f[VPT_MAX_FEATURES * 2];
    vpt_model_t     *check;
    vpt_catalog_t   *cat;
    const char      *catalog, *out;

    vpt_opt_t        opts[] = {
        { "catalog", VPT_OPT_STR, &catalog, 0, 0 },
        { "model-out", VPT_OPT_STR, &out, 0, 0 },
        { "holdout", VPT_OPT_NUM, &holdout, 0, 0.99 },
        { "k", VPT_OPT_UINT, &fm.k, 1, VPT_MODEL_MAX_K },
        { "epochs", VPT_OPT_UINT, &epochs, 1, 1000 },
        { "l2", VPT_OPT_NUM, &fm.l2, 0, 100 },
        { "lr", VPT_OPT_NUM, &fm.lr, 1e-9, 100 },
        { "ipw", VPT_OPT_FLAG, &ipw, 0, 0 },
        { "clip", VPT_OPT_NUM, &clip, 1, 1e9 },
        { "seed", VPT_OPT_U64, &fm.seed, 0, 1e18 },
        { "json", VPT_OPT_FLAG, &json, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-train", vpt_usage_text);

    catalog = out = NULL;
    holdout = 0.1;
    epochs = 10;
    ipw = 0;
    clip = 20;
    json = 0;

    fm.k = 4;
    fm.lr = 0.05;
    fm.l2 = 1e-4;
    fm.seed = 1;

    vpt_opt_next(argc, argv, opts);

    if (catalog == NULL || out == NULL || optind == argc) {
        vpt_usage(2);
    }

    cat = vpt_xcatalog_load(catalog);

    vpt_jansson_arena();
    fm.stride = fm.k + 1;
    fm.arena = vpt_arena_create();
    vpt_umap_init(&fm.map);

    row = vpt_xalloc(sizeof(vpt_row_t));
    auc = vpt_xalloc(sizeof(vpt_auc_t));
    memset(&bad, 0, sizeof(vpt_bad_t));
    memset(&scratch, 0, sizeof(vpt_buf_t));

    trainf = vpt_tmp();
    heldf = vpt_tmp();
    ntrain = nheld = nothing = unknown = noprop = pos = 0;

    /* the one pass over the input: records and the vocabulary */

    vpt_logs_init(&logs, argv + optind, argc - optind);

    while (vpt_logs_row(&logs, row, cat, &scratch, &bad)) {
        if (row->shown < 0) {
            if (row->unknown_offer) {
                unknown++;
            } else {
                nothing++;
            }
            continue;
        }

        w = 1;

        if (ipw) {
            if (!row->has_propensity || !(row->propensity > 0)
                || row->propensity > 1)
            {
                noprop++;
                continue;
            }
            w = 1 / row->propensity;
            w = w > clip ? clip : w;
        }

        n = vpt_row_features(&row->ctx, row->page, row->hour,
                             &cat->offers[row->shown], f,
                             VPT_MAX_FEATURES * 2);

        for (i = 0; i < n; i++) {
            ids[i] = vpt_fm_id(&f[i]);
        }

        if (vpt_heldout(row->decision, row->decision_len, holdout)) {
            vpt_rec_write(heldf, row->accepted, w, ids, n);
            nheld++;

        } else {
            vpt_rec_write(trainf, row->accepted, w, ids, n);
            ntrain++;
            pos += row->accepted;
        }
    }

    vpt_bad_print(&bad, stderr);

    if (ntrain == 0 || pos == 0 || pos == ntrain) {
        vpt_die(2, "vpt-train: nothing to learn from: %llu training rows, "
                "%llu accepted (rows that showed nothing: %llu, unknown "
                "offers: %llu, bad lines: %llu)",
                (unsigned long long) ntrain, (unsigned long long) pos,
                (unsigned long long) nothing, (unsigned long long) unknown,
                (unsigned long long) bad.count);
    }

    fm.bias = log((double) pos / (ntrain - pos));

    /* the epochs */

    best_p = vpt_xalloc(fm.n * fm.stride * sizeof(float));
    best_loss = INFINITY;
    best_auc = NAN;
    best_bias = fm.bias;
    best_epoch = 0;

    for (epoch = 1; epoch <= epochs; epoch++) {
        rewind(trainf);

        while (vpt_rec_read(trainf, &r, ids)) {
            vpt_fm_step(ids, r.n, r.label, r.weight);
        }

        if (nheld == 0) {
            best_epoch = epoch;
            continue;
        }

        vpt_evaluate(heldf, auc);
        loss = vpt_auc_logloss(auc);
        improved = loss < best_loss - 1e-6;

        if (!json) {
            fprintf(stderr, "vpt-train: epoch %u: held-out log-loss %.5f, "
                    "AUC %.4f%s\n", epoch, loss, vpt_auc(auc),
                    improved ? "" : " (no better: stop)");
        }

        if (!improved) {
            break;
        }

        best_loss = loss;
        best_auc = vpt_auc(auc);
        best_bias = fm.bias;
        best_epoch = epoch;
        memcpy(best_p, fm.p, fm.n * fm.stride * sizeof(float));
    }

    if (nheld > 0) {
        memcpy(fm.p, best_p, fm.n * fm.stride * sizeof(float));
        fm.bias = best_bias;
    }

    /* the model file */

    meta = NULL;
    mlen = 0;
    mem = open_memstream(&meta, &mlen);
    if (mem == NULL) {
        vpt_die(1, "vpt-train: %s", strerror(errno));
    }

    fprintf(mem, "{\"trainer\": \"vpt-train\", \"catalog\": ");
    vpt_json_str(mem, cat->version.data, cat->version.len);
    fprintf(mem, ", \"rows\": %llu, \"heldout_rows\": %llu, "
            "\"holdout\": %g, \"epochs\": %u, \"lr\": %g, \"l2\": %g, "
            "\"ipw\": %s, \"logloss\": ", (unsigned long long) ntrain,
            (unsigned long long) nheld, holdout, best_epoch, fm.lr, fm.l2,
            ipw ? "true" : "false");
    vpt_json_num(mem, nheld ? best_loss : NAN);
    fputs(", \"auc\": ", mem);
    vpt_json_num(mem, nheld ? best_auc : NAN);
    fputc('}', mem);
    fclose(mem);

    if (vpt_model_write(out, fm.k, fm.bias, fm.n, fm.names, fm.p, meta)
        != VPT_OK)
    {
        vpt_die(1, "vpt-train: %s: %s", out, strerror(errno));
    }

    check = vpt_model_load(out, err, sizeof(err));
    if (check == NULL) {
        vpt_die(1, "vpt-train: the model written does not load: %s", err);
    }
    vpt_model_free(check);

    if (json) {
        printf("{\"rows\": %llu, \"logloss\": ", (unsigned long long) nheld);
        vpt_json_num(stdout, nheld ? best_loss : NAN);
        fputs(", \"auc\": ", stdout);
        vpt_json_num(stdout, nheld ? best_auc : NAN);
        printf(", \"train_rows\": %llu, \"features\": %zu, \"epochs\": %u, "
               "\"bad_lines\": %llu}\n", (unsigned long long) ntrain, fm.n,
               best_epoch, (unsigned long long) bad.count);

    } else {
        printf("trained on %llu rows (skipped: %llu that showed nothing, "
               "%llu unknown offers, %llu bad lines, %llu without a "
               "usable propensity)\n",
               (unsigned long long) ntrain, (unsigned long long) nothing,
               (unsigned long long) unknown,
               (unsigned long long) bad.count, (unsigned long long) noprop);
        printf("model: %s (k %u, %zu features, epoch %u)\n", out, fm.k,
               fm.n, best_epoch);

        if (nheld > 0) {
            printf("held out: %llu rows, log-loss %.5f, AUC %.4f\n",
                   (unsigned long long) nheld, best_loss, best_auc);
        } else {
            printf("held out: none\n");
        }
    }

    return 0;
}
