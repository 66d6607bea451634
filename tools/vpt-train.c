/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Past 800 lines on purpose: the trainer's choices are documented here in
 * one place (this comment is a tenth of the file) and its steps (read,
 * bin, search, fit, grow trees, stack and calibrate, write, report) read
 * best in order; the FM, the sketches and the calibration are in
 * tools/lib/vpt_tools_fm.c and vpt_tools_calib.c, the trees' growth and
 * the stack's fit in vpt_tools_gbt.c.
 *
 * vpt-train --catalog FILE --model-out FILE [--holdout FRACTION] [--k K]
 *           [--epochs N] [--l2 X] [--lr X] [--ipw] [--clip C] [--seed S]
 *           [--no-calibrate] [--no-trees] [--json] LOG...
 *
 * Trains the ranker's factorization machine on a decision log (JSON
 * Lines, plain or gzip, "-" is stdin): one example per row that showed an
 * offer, label = accepted, features = vpt_features_shopper(context, page,
 * hour) followed by vpt_features_offer(shown offer): the list the ranker
 * scores (vpt_ranker_logit() equals vpt_model_logit() over it).  The hour
 * is the server's, from the row's "time"; the features code prefers the
 * context's local_hour, as in nginx.
 *
 * Numbers.  A numeric feature ("f:age": 41, an offer's "price") is learned
 * as bins, made here from the training rows and written into the model
 * ("bins"), so nginx bins it identically: quantiles in 4, 16 and 64 bins
 * and every distinct value (or 256 quantiles when there are more than
 * 1,024 values), each resolution its own feature, so the coarse ones carry
 * what the fine ones see too rarely (vpt_tools_fm.h).
 *
 * The loss and the weights.  The model is p(accept | shopper, offer), a
 * property of the shopper and the offer, not of the policy that chose the
 * offer: the plain log-loss over the shown rows is an unbiased estimate of
 * each pair's conditional likelihood.  --ipw weights each row by
 * 1/propensity (clipped at --clip, default 20) to spread the fit over
 * offers as if they were shown uniformly; off by default.  The held-out
 * metrics are unweighted either way.
 *
 * Value.  The ranker ranks by p * value; a log's accepts may bring other
 * values than the catalog says (an order's spend).  The model's "values"
 * hold each offer's mean value per accept in the training rows, shrunk
 * towards the catalog's value by 10 pseudo-accepts, and nginx uses them
 * instead of the catalog's "value".  Once any accept of an offer carries
 * a "realized_value" (vpt_conversion's amounts, joined by vpt-join), the
 * offer's mean is of realized values, an accept without one counting 0:
 * what its accepts actually turned into, not what they were logged at.
 *
 * The optimizer: AdaGrad on the log-loss with L2 on the parameters a row
 * touches; v initialised small and random (a function of the feature's
 * hash and --seed), w at 0, the bias at the logit of the training accept
 * rate.  The held-out split (--holdout, default 0.1) is a pure function
 * of the decision id (vpt_heldout()), so it is the same in every run and
 * in vpt-eval --holdout.  The held-out part chooses:
 *   - the epochs: after each one the held-out log-loss decides; when it
 *     does not improve, the best epoch's parameters come back and the
 *     rate halves; three epochs in a row without improvement end the run
 *     (at most --epochs, default 60, and at most VPT_FIT_STEPS rows in
 *     all, three epochs at least), so one noisy epoch cannot;
 *   - k and L2, unless given: k in {4, 8} times L2 in {0.001, 0.01, 0.03}
 *     (a small search; the rate is AdaGrad's, --lr, default 0.01, halved
 *     as above); the search runs on the first VPT_SEARCH_ROWS training
 *     rows, each fit at most VPT_SEARCH_STEPS rows in all, and when there
 *     were more rows the winner is then trained on all of them;
 *   - the calibration: Platt scaling (p = sigmoid(a * logit + b)) fitted
 *     on the held-out logits is folded into the parameters (w and bias
 *     times a, v times sqrt(a), plus b), so nginx scores calibrated
 *     probabilities at no cost; --no-calibrate leaves it out.  The report
 *     gives the held-out accept rate predicted against observed per decile
 *     of p and the expected calibration error (ECE, their mean absolute
 *     difference weighted by rows).  Both are on the rows the scaling was
 *     fitted on: a check of its fit, not an independent test;
 *   - the trees: boosted trees on the shopper's side (vpt_tools_gbt.h:
 *     depth 4, at most 100, on the first 100,000 training rows) whose
 *     number the held-out log-loss chooses; the FM alone underfits
 *     shopper-side non-linearity, the trees alone see no offer, so the
 *     two are stacked, p = sigmoid(a * fm + c * trees + b), fitted on the
 *     held-out part in place of Platt's (trees with c <= 0 are dropped).
 *     nginx walks the trees once per request (vpt_trees.h).  --no-trees
 *     leaves them out.
 * --holdout 0 trains every epoch on everything, with k 8 and L2 0.01
 * unless given, and reports no metrics.
 *
 * Memory and passes.  The input is read once: each usable row becomes a
 * compact record (label, weight, the feature ids, its numbers) in an
 * unlinked temporary file, one for training rows and one for held-out
 * rows; the numbers become bin ids in a second pass over those files, and
 * every epoch then streams them.  In memory: the vocabulary (feature hash
 * -> k + 1 parameters, AdaGrad sums and the name), a bounded sketch per
 * numeric feature name, histograms: bounded by the distinct features, not
 * by rows.  On a terminal, progress (rows/s, epoch, held-out loss) goes to
 * stderr; elsewhere the run is quiet but for bad lines.
 *
 * AUC: from a histogram of 10,000 logit bins (vpt_tools_stats.c),
 * constant memory, exact but for ties within a bin (0.004 in logit).
 *
 * Output: the model file ("vpt-fm" with "bins", "values" and "meta":
 * trainer, catalog, rows, settings, metrics), written to FILE.tmp and
 * renamed.  On stdout a summary, or with --json:
 *   {"rows": N, "logloss": x, "auc": x, "train_rows": N, "features": N,
 *    "epochs": N, "k": K, "l2": x, "lr": x, "logloss_uncalibrated": x,
 *    "calibration": {"method": "platt", "a": x, "b": x, "ece": x,
 *      "deciles": [{"rows": N, "predicted": x, "observed": x}, ...]},
 *    "search": [{"k": K, "l2": x, "logloss": x, "epochs": N}, ...],
 *    "bad_lines": N}
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
#include <time.h>
#include <unistd.h>

#include "vpt_tools.h"
#include "vpt_tools_fm.h"
#include "vpt_tools_gbt.h"


#define VPT_SEARCH_ROWS   100000
#define VPT_SEARCH_STEPS  2000000   /* rows x epochs per search fit */
#define VPT_FIT_STEPS     10000000  /* rows x epochs for the model */
#define VPT_MAX_SKETCHES  4096
#define VPT_VALUE_PRIOR   10        /* pseudo-accepts at the catalog value */
#define VPT_PATIENCE      3
#define VPT_MAX_IDS       (VPT_MAX_FEATURES * 2 * VPT_MODEL_MAX_LEVELS)


typedef struct {
    const char      *catalog;
    const char      *out;
    double           holdout;
    double           clip;
    double           l2;            /* < 0: searched */
    double           lr;
    unsigned         k;             /* 0: searched */
    unsigned         epochs;
    int              ipw;
    int              json;
    int              nocal;
    int              notrees;
    int              progress;      /* stderr is a terminal */
    uint64_t         seed;
    char           **logs;
    int              nlogs;
} vpt_train_opts_t;


typedef struct {
    unsigned         k;
    double           l2;
    double           logloss;
    unsigned         epochs;
} vpt_trial_t;


typedef struct {
    uint64_t         ntrain;
    uint64_t         nheld;
    uint64_t         nothing;
    uint64_t         unknown;
    uint64_t         noprop;
    uint64_t         pos;
    uint64_t         bad;
    unsigned         k;
    double           l2;
    unsigned         epochs;
    double           logloss;
    double           logloss_raw;
    double           auc;
    int              calibrated;
    double           a;
    double           b;
    double           c;             /* the trees' weight in the stack */
    size_t           ntrees;
    double           logloss_trees; /* the trees alone, held out */
    double           ece;
    double           dec_n[10];
    double           dec_p[10];
    double           dec_y[10];
    vpt_trial_t      trials[8];
    unsigned         ntrials;
    size_t           nvalues;
    size_t           nrealized;     /* offers valued by realized value */
} vpt_train_result_t;


/* a record: the header, n feature ids, then nnum (sketch, number) pairs */
typedef struct {
    uint16_t         n;
    uint16_t         nnum;
    uint8_t          label;
    uint8_t          pad[3];
    float            weight;
} vpt_rec_t;


typedef struct {
    vpt_fm_t         fm;
    vpt_sketch_t    *sk;
    size_t           nsk;
    vpt_umap_t       skmap;         /* prefix -> sketch */
    double          *vsum;          /* per offer: value of accepts */
    double          *vacc;          /* per offer: accepts */
    double          *rsum;          /* per offer: realized value */
    double          *racc;          /* per offer: accepts with one */
    FILE            *train;
    FILE            *held;
    vpt_gbt_t        gbt;
    double           t0;
} vpt_train_t;


static void vpt_train_options(int argc, char **argv, vpt_train_opts_t *o);
static void vpt_train_run(vpt_train_t *t, const vpt_train_opts_t *o,
    vpt_catalog_t *cat, vpt_train_result_t *r);
static void vpt_train_read(vpt_train_t *t, const vpt_train_opts_t *o,
    vpt_catalog_t *cat, vpt_train_result_t *res);
static FILE *vpt_train_bin(vpt_train_t *t, FILE *raw, uint64_t limit,
    uint64_t *rows);
static double vpt_train_fit(vpt_train_t *t, const vpt_train_opts_t *o,
    FILE *train, FILE *held, unsigned k, double l2, uint64_t steps,
    unsigned *epochs, const char *what);
static void vpt_train_trees(vpt_train_t *t, const vpt_train_opts_t *o,
    vpt_train_result_t *res);
static void vpt_train_calibrate(vpt_train_t *t, const vpt_train_opts_t *o,
    FILE *held, vpt_train_result_t *res);
static void vpt_train_write(vpt_train_t *t, const vpt_train_opts_t *o,
    vpt_catalog_t *cat, vpt_train_result_t *res);
static void vpt_train_report(const vpt_train_t *t, const vpt_train_opts_t *o,
    const vpt_train_result_t *res);


static double
vpt_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
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
vpt_rec_write(FILE *f, const vpt_rec_t *r, const uint32_t *ids,
    const uint32_t *sk, const double *num)
{
    if (fwrite(r, sizeof(vpt_rec_t), 1, f) != 1
        || fwrite(ids, sizeof(uint32_t), r->n, f) != r->n
        || fwrite(sk, sizeof(uint32_t), r->nnum, f) != r->nnum
        || fwrite(num, sizeof(double), r->nnum, f) != r->nnum)
    {
        vpt_die(1, "vpt-train: a temporary file: %s", strerror(errno));
    }
}


static int
vpt_rec_read(FILE *f, vpt_rec_t *r, uint32_t *ids, uint32_t *sk,
    double *num)
{
    if (fread(r, sizeof(vpt_rec_t), 1, f) != 1) {
        return 0;
    }

    if (fread(ids, sizeof(uint32_t), r->n, f) != r->n
        || fread(sk, sizeof(uint32_t), r->nnum, f) != r->nnum
        || fread(num, sizeof(double), r->nnum, f) != r->nnum)
    {
        vpt_die(1, "vpt-train: a temporary file is short");
    }

    return 1;
}


static void
vpt_evaluate(const vpt_fm_t *fm, FILE *f, vpt_auc_t *auc)
{
    double     S[VPT_MODEL_MAX_K];
    double     num[1];
    uint32_t   ids[VPT_MAX_IDS], sk[1];
    vpt_rec_t  r;

    memset(auc, 0, sizeof(vpt_auc_t));
    rewind(f);

    while (vpt_rec_read(f, &r, ids, sk, num)) {
        vpt_auc_add(auc, vpt_sigmoid(vpt_fm_logit(fm, ids, r.n, S)),
                    r.label, 1);
    }
}


/*
 * A raw record's shopper side as the trees' items: its categories (not
 * the offer's namespaces) and its numbers' bins ("f:" ones only).
 */

static size_t
vpt_train_items(const vpt_train_t *t, const vpt_rec_t *r,
    const uint32_t *ids, const uint32_t *sk, const double *num,
    uint32_t *items)
{
    int                  l;
    size_t               i, n, b;
    const char          *name;
    const vpt_sketch_t  *s;

    n = 0;

    for (i = 0; i < r->n && n < VPT_GBT_MAX_ITEMS; i++) {
        name = t->fm.names[ids[i]];

        if (strncmp(name, "offer=", 6) == 0 || strncmp(name, "kind=", 5) == 0
            || strncmp(name, "advertiser=", 11) == 0
            || strncmp(name, "of:", 3) == 0)
        {
            continue;
        }

        items[n++] = ids[i];
    }

    for (i = 0; i < r->nnum && n < VPT_GBT_MAX_ITEMS; i++) {
        s = &t->sk[sk[i]];
        l = vpt_gbt_level(s);

        if (l < 0 || strncmp(s->name, "f:", 2) != 0) {
            continue;
        }

        b = vpt_bin_find(s->edges[l], s->nedges[l], num[i]);
        if (b <= s->nedges[l]) {
            items[n++] = VPT_GBT_NUM(sk[i], b);
        }
    }

    return n;
}


/* the FM's logits of the binned held-out rows plus the trees' of the raw */

static void
vpt_evaluate_all(const vpt_train_t *t, FILE *held, vpt_auc_t *auc)
{
    double     S[VPT_MODEL_MAX_K], z;
    double     num[VPT_MAX_FEATURES * 2];
    size_t     n;
    uint32_t   ids[VPT_MAX_IDS], sk[VPT_MAX_FEATURES * 2];
    uint32_t   items[VPT_GBT_MAX_ITEMS];
    vpt_rec_t  r, raw;

    if (t->gbt.ntrees == 0) {
        vpt_evaluate(&t->fm, held, auc);
        return;
    }

    memset(auc, 0, sizeof(vpt_auc_t));
    rewind(held);
    rewind(t->held);

    while (vpt_rec_read(held, &r, ids, sk, num)) {
        z = vpt_fm_logit(&t->fm, ids, r.n, S);

        if (!vpt_rec_read(t->held, &raw, ids, sk, num)) {
            vpt_die(1, "vpt-train: a temporary file is short");
        }

        n = vpt_train_items(t, &raw, ids, sk, num, items);
        z += vpt_gbt_score(&t->gbt, items, n);
        vpt_auc_add(auc, vpt_sigmoid(z), r.label, 1);
    }
}


static const char  vpt_usage_text[] =
    "Usage: vpt-train --catalog FILE --model-out FILE [--holdout FRACTION]\n"
    "         [--k K] [--epochs N] [--l2 X] [--lr X] [--ipw] [--clip C]\n"
    "         [--seed S] [--no-calibrate] [--no-trees] [--json] LOG...\n"
    "Trains the ranking model (a factorization machine over the features\n"
    "nginx computes) on a decision log from vpt-join, and reports its\n"
    "log-loss, AUC and calibration on a held-out part of the rows.\n"
    "\n"
    "  --catalog FILE          the offer catalog (as vpt_catalog)\n"
    "  --model-out FILE        where the model goes (written whole, then\n"
    "                          renamed): load it with vpt_model\n"
    "  --holdout FRACTION      the share of decisions held out, chosen by\n"
    "                          decision id (default 0.1); they pick the\n"
    "                          epochs, k, L2 and the calibration; 0 trains\n"
    "                          on all and reports nothing\n"
    "  --k K                   the factor dimension (default: 4 or 8, the\n"
    "                          better on the held-out rows)\n"
    "  --epochs N              passes over the data at most (default 60);\n"
    "                          three without improvement end the run\n"
    "  --l2 X                  L2 regularisation (default: 0.001, 0.01 or\n"
    "                          0.03, the best on the held-out rows)\n"
    "  --lr X                  the AdaGrad learning rate (default 0.01)\n"
    "  --ipw                   weight rows by 1/propensity, to fit rarely\n"
    "                          shown offers as well as favourites (off by\n"
    "                          default)\n"
    "  --clip C                the largest such weight (default 20)\n"
    "  --seed S                the initialisation's seed (default 1)\n"
    "  --no-calibrate          leave out the Platt scaling fitted on the\n"
    "                          held-out rows (with trees: their plain mean\n"
    "                          with the FM in logit space)\n"
    "  --no-trees              leave out the boosted trees on the shopper's\n"
    "                          side (kept when they help on the held-out\n"
    "                          rows)\n"
    "  --json                  print one JSON object instead of text\n"
    "  --help                  print this help and exit\n"
    "  --version               print the version and exit\n"
    "  LOG                     a decision log (JSON Lines), plain or gzip;\n"
    "                          \"-\" is standard input\n"
    "\n"
    "Exit status: 0; 1 for unreadable input or unwritable output; 2 for\n"
    "bad options or catalog.\n";


int
main(int argc, char **argv)
{
    vpt_train_t         t;
    vpt_catalog_t      *cat;
    vpt_train_opts_t    o;
    vpt_train_result_t  res;

    vpt_train_options(argc, argv, &o);

    cat = vpt_xcatalog_load(o.catalog);

    vpt_jansson_arena();
    memset(&t, 0, sizeof(vpt_train_t));
    memset(&res, 0, sizeof(vpt_train_result_t));
    vpt_fm_init(&t.fm);
    t.fm.seed = o.seed;
    t.t0 = vpt_now();

    vpt_train_run(&t, &o, cat, &res);
    vpt_train_report(&t, &o, &res);

    return 0;
}


/* read, bin, search, train, calibrate, write */

static void
vpt_train_run(vpt_train_t *t, const vpt_train_opts_t *o, vpt_catalog_t *cat,
    vpt_train_result_t *r)
{
    unsigned  i, j, ks[2] = { 4, 8 }, epochs;
    uint64_t  nsearch, nheld;
    double    l2s[3] = { 1e-3, 1e-2, 3e-2 }, loss, best, bbias;
    float    *bp;
    char      what[64];
    size_t    size;
    FILE     *train, *held, *strain, *hf;

    vpt_train_read(t, o, cat, r);

    /* the numbers' bins, then the records as feature ids */

    for (i = 0; i < t->nsk; i++) {
        vpt_sketch_bins(&t->sk[i]);
    }

    train = vpt_train_bin(t, t->train, UINT64_MAX, &r->ntrain);
    held = vpt_train_bin(t, t->held, UINT64_MAX, &nheld);

    /* k and L2: the given ones, or the best on the held-out part */

    r->k = o->k ? o->k : 8;
    r->l2 = o->l2 >= 0 ? o->l2 : 1e-2;
    hf = r->nheld > 0 ? held : NULL;
    bp = NULL;
    bbias = 0;

    if (hf != NULL && (o->k == 0 || o->l2 < 0)) {
        strain = train;

        if (r->ntrain > VPT_SEARCH_ROWS) {
            strain = vpt_train_bin(t, t->train, VPT_SEARCH_ROWS, &nsearch);
        }

        best = INFINITY;

        for (i = 0; i < 2; i++) {
            for (j = 0; j < 3; j++) {
                if ((o->k && ks[i] != o->k) || (o->k && i > 0)
                    || (o->l2 >= 0 && j > 0))
                {
                    continue;
                }

                r->trials[r->ntrials].k = o->k ? o->k : ks[i];
                r->trials[r->ntrials].l2 = o->l2 >= 0 ? o->l2 : l2s[j];

                snprintf(what, sizeof(what), "search k %u L2 %g",
                         r->trials[r->ntrials].k,
                         r->trials[r->ntrials].l2);

                loss = vpt_train_fit(t, o, strain, hf,
                                     r->trials[r->ntrials].k,
                                     r->trials[r->ntrials].l2,
                                     VPT_SEARCH_STEPS, &epochs, what);

                r->trials[r->ntrials].logloss = loss;
                r->trials[r->ntrials].epochs = epochs;

                if (loss < best) {
                    best = loss;
                    r->k = r->trials[r->ntrials].k;
                    r->l2 = r->trials[r->ntrials].l2;
                    r->epochs = epochs;
                    free(bp);
                    size = t->fm.n * t->fm.stride * sizeof(float);
                    bp = vpt_xalloc(size + sizeof(float));
                    memcpy(bp, t->fm.p, size);
                    bbias = t->fm.bias;
                }

                r->ntrials++;
            }
        }

        if (strain != train) {
            fclose(strain);
        }
    }

    /* the model: the search's best, or trained on all rows with its k, L2 */

    if (bp != NULL && r->ntrain <= VPT_SEARCH_ROWS) {
        vpt_fm_reset(&t->fm, r->k, o->lr, r->l2, bbias);
        memcpy(t->fm.p, bp, t->fm.n * t->fm.stride * sizeof(float));

    } else {
        snprintf(what, sizeof(what), "k %u L2 %g", r->k, r->l2);
        vpt_train_fit(t, o, train, hf, r->k, r->l2, VPT_FIT_STEPS,
                      &r->epochs, what);
    }

    free(bp);

    if (hf != NULL && !o->notrees) {
        vpt_train_trees(t, o, r);
    }

    if (hf != NULL) {
        vpt_train_calibrate(t, o, held, r);
    }

    vpt_train_write(t, o, cat, r);

    fclose(train);
    fclose(held);
}


static void
vpt_train_options(int argc, char **argv, vpt_train_opts_t *o)
{
    const vpt_opt_t  opts[] = {
        { "catalog", VPT_OPT_STR, &o->catalog, 0, 0 },
        { "model-out", VPT_OPT_STR, &o->out, 0, 0 },
        { "holdout", VPT_OPT_NUM, &o->holdout, 0, 0.99 },
        { "k", VPT_OPT_UINT, &o->k, 1, VPT_MODEL_MAX_K },
        { "epochs", VPT_OPT_UINT, &o->epochs, 1, 1000 },
        { "l2", VPT_OPT_NUM, &o->l2, 0, 100 },
        { "lr", VPT_OPT_NUM, &o->lr, 1e-9, 100 },
        { "ipw", VPT_OPT_FLAG, &o->ipw, 0, 0 },
        { "clip", VPT_OPT_NUM, &o->clip, 1, 1e9 },
        { "seed", VPT_OPT_U64, &o->seed, 0, 1e18 },
        { "no-calibrate", VPT_OPT_FLAG, &o->nocal, 0, 0 },
        { "no-trees", VPT_OPT_FLAG, &o->notrees, 0, 0 },
        { "json", VPT_OPT_FLAG, &o->json, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-train", vpt_usage_text);

    memset(o, 0, sizeof(vpt_train_opts_t));
    o->holdout = 0.1;
    o->epochs = 60;
    o->clip = 20;
    o->k = 0;
    o->l2 = -1;
    o->lr = 0.01;
    o->seed = 1;

    vpt_opt_next(argc, argv, opts);

    if (o->catalog == NULL || o->out == NULL || optind == argc) {
        vpt_usage(2);
    }

    o->logs = argv + optind;
    o->nlogs = argc - optind;
    o->progress = !o->json && isatty(2);
}


/* the one pass over the input: records, the vocabulary, the sketches */

static void
vpt_train_read(vpt_train_t *t, const vpt_train_opts_t *o, vpt_catalog_t *cat,
    vpt_train_result_t *res)
{
    int            added;
    long           s;
    char           text[1024];
    double         w, num[VPT_MAX_FEATURES * 2];
    size_t         i, n, len;
    uint32_t       ids[VPT_MAX_FEATURES * 2], sk[VPT_MAX_FEATURES * 2];
    uint64_t       rows;
    vpt_bad_t      bad;
    vpt_rec_t      r;
    vpt_buf_t      scratch;
    vpt_row_t     *row;
    vpt_feat_t     f[VPT_MAX_FEATURES * 2];
    vpt_logs_t     logs;
    vpt_sketch_t  *x;

    row = vpt_xalloc(sizeof(vpt_row_t));
    memset(&bad, 0, sizeof(vpt_bad_t));
    memset(&scratch, 0, sizeof(vpt_buf_t));

    t->train = vpt_tmp();
    t->held = vpt_tmp();
    t->sk = vpt_xalloc(VPT_MAX_SKETCHES * sizeof(vpt_sketch_t));
    vpt_umap_init(&t->skmap);
    t->vsum = vpt_xalloc((cat->n + 1) * sizeof(double));
    t->vacc = vpt_xalloc((cat->n + 1) * sizeof(double));
    t->rsum = vpt_xalloc((cat->n + 1) * sizeof(double));
    t->racc = vpt_xalloc((cat->n + 1) * sizeof(double));
    rows = 0;

    vpt_logs_init(&logs, o->logs, o->nlogs);

    while (vpt_logs_row(&logs, row, cat, &scratch, &bad)) {
        if (o->progress && (++rows & 0xffff) == 0) {
            fprintf(stderr, "\rvpt-train: reading: %llu rows, %.0f rows/s ",
                    (unsigned long long) rows, rows / (vpt_now() - t->t0));
        }

        if (row->shown < 0) {
            if (row->unknown_offer) {
                res->unknown++;
            } else {
                res->nothing++;
            }
            continue;
        }

        w = 1;

        if (o->ipw) {
            if (!row->has_propensity || !(row->propensity > 0)
                || row->propensity > 1)
            {
                res->noprop++;
                continue;
            }
            w = 1 / row->propensity;
            w = w > o->clip ? o->clip : w;
        }

        n = vpt_row_features(&row->ctx, row->page, row->hour,
                             &cat->offers[row->shown], f,
                             VPT_MAX_FEATURES * 2);

        r.n = 0;
        r.nnum = 0;

        for (i = 0; i < n; i++) {
            len = vpt_feat_text(&f[i], text, sizeof(text));
            len = len < sizeof(text) ? len : sizeof(text) - 1;

            /* numbers get bins, unless their name could not be a key of
             * the model's "bins" (it has '=', or is cut in text) */
            if (f[i].is_num
                && f[i].ns.len + f[i].name.len < sizeof(text) - 1
                && memchr(f[i].name.data, '=', f[i].name.len) == NULL)
            {
                s = vpt_umap_find(&t->skmap, f[i].prefix);

                if (s < 0 && t->nsk < VPT_MAX_SKETCHES) {
                    s = vpt_umap_add(&t->skmap, f[i].prefix, &added);
                    vpt_sketch_init(&t->sk[s], f[i].prefix, text,
                                    f[i].ns.len + f[i].name.len, o->seed);
                    t->nsk++;
                }

                if (s >= 0) {
                    x = &t->sk[s];

                    if (!vpt_heldout(row->decision, row->decision_len,
                                     o->holdout))
                    {
                        vpt_sketch_add(x, f[i].num);
                    }

                    sk[r.nnum] = (uint32_t) s;
                    num[r.nnum++] = f[i].num;
                    continue;
                }
            }

            ids[r.n++] = vpt_fm_id(&t->fm, f[i].hash, text, len);
        }

        r.label = (uint8_t) row->accepted;
        r.weight = (float) w;

        if (vpt_heldout(row->decision, row->decision_len, o->holdout)) {
            vpt_rec_write(t->held, &r, ids, sk, num);
            res->nheld++;

        } else {
            vpt_rec_write(t->train, &r, ids, sk, num);
            res->ntrain++;
            res->pos += row->accepted;

            if (row->accepted && isfinite(row->value)) {
                t->vsum[row->shown] += row->value;
                t->vacc[row->shown] += 1;

                if (row->has_realized) {
                    t->rsum[row->shown] += row->realized;
                    t->racc[row->shown] += 1;
                }
            }
        }
    }

    if (o->progress) {
        fprintf(stderr, "\rvpt-train: read %llu rows in %.1f s%20s\n",
                (unsigned long long) rows, vpt_now() - t->t0, "");
    }

    vpt_bad_print(&bad, stderr);
    res->bad = bad.count;

    if (res->ntrain == 0 || res->pos == 0 || res->pos == res->ntrain) {
        vpt_die(2, "vpt-train: nothing to learn from: %llu training rows, "
                "%llu accepted (rows that showed nothing: %llu, unknown "
                "offers: %llu, bad lines: %llu)",
                (unsigned long long) res->ntrain,
                (unsigned long long) res->pos,
                (unsigned long long) res->nothing,
                (unsigned long long) res->unknown,
                (unsigned long long) bad.count);
    }

    free(row);
}


/*
 * The records of raw (at most limit of them) with their numbers as the
 * ids of their bins, the very features vpt_model_rows() finds in nginx.
 */

static FILE *
vpt_train_bin(vpt_train_t *t, FILE *raw, uint64_t limit, uint64_t *rows)
{
    char           text[1024 + 40];
    double         num[VPT_MAX_FEATURES * 2];
    size_t         i, b, len, nl, bl;
    FILE          *out;
    uint32_t       ids[VPT_MAX_IDS], sk[VPT_MAX_FEATURES * 2];
    uint64_t       h;
    unsigned       l;
    vpt_rec_t      r;
    const char    *bucket;
    vpt_sketch_t  *s;

    out = vpt_tmp();
    rewind(raw);
    *rows = 0;

    while (*rows < limit && vpt_rec_read(raw, &r, ids, sk, num)) {
        for (i = 0; i < r.nnum; i++) {
            s = &t->sk[sk[i]];
            nl = strlen(s->name);
            memcpy(text, s->name, nl);
            text[nl++] = '=';

            if (s->nlevels == 0) {
                /* one value only: the bucket, as nginx without bins */
                bucket = vpt_feat_bucket(num[i]);
                bl = strlen(bucket);
                memcpy(text + nl, bucket, bl);
                h = vpt_hash_more(s->prefix, bucket, bl);
                ids[r.n++] = vpt_fm_id(&t->fm, h, text, nl + bl);
                continue;
            }

            for (l = 0; l < s->nlevels; l++) {
                b = vpt_bin_find(s->edges[l], s->nedges[l], num[i]);
                if (b > s->nedges[l]) {
                    continue;
                }

                len = vpt_feat_bin_text(l, b, text + nl);
                h = vpt_hash_more(s->prefix, text + nl, len);
                ids[r.n++] = vpt_fm_id(&t->fm, h, text, nl + len);
            }
        }

        r.nnum = 0;
        vpt_rec_write(out, &r, ids, sk, num);
        (*rows)++;
    }

    return out;
}


/*
 * Trains from fresh parameters; returns the best held-out log-loss (the
 * model keeps that epoch's parameters) and its epoch.
 */

static double
vpt_train_fit(vpt_train_t *t, const vpt_train_opts_t *o, FILE *train,
    FILE *held, unsigned k, double l2, uint64_t steps, unsigned *epochs,
    const char *what)
{
    double      loss, best, best_bias, t0, pos, n;
    float      *best_p, *best_g;
    size_t      size;
    double      num[1];
    uint32_t    ids[VPT_MAX_IDS], sk[1];
    unsigned    epoch, bad, max;
    vpt_rec_t   r;
    vpt_fm_t   *fm;
    vpt_auc_t  *auc;

    fm = &t->fm;

    /* the bias starts at the training accept rate */

    rewind(train);
    pos = n = 0;

    while (vpt_rec_read(train, &r, ids, sk, num)) {
        pos += r.label;
        n++;
    }

    pos = pos < 0.5 ? 0.5 : (pos > n - 0.5 ? n - 0.5 : pos);

    /* at most steps rows in all, but three epochs at least */
    max = (unsigned) (steps / n);
    max = max < 3 ? 3 : max;
    max = max > o->epochs ? o->epochs : max;
    vpt_fm_reset(fm, k, o->lr, l2, log(pos / (n - pos)));

    size = fm->n * fm->stride * sizeof(float);
    best_p = vpt_xalloc(size + sizeof(float));
    best_g = vpt_xalloc(size + sizeof(float));
    auc = vpt_xalloc(sizeof(vpt_auc_t));
    best = INFINITY;
    best_bias = fm->bias;
    bad = 0;
    *epochs = 0;

    for (epoch = 1; epoch <= max; epoch++) {
        t0 = vpt_now();
        rewind(train);

        while (vpt_rec_read(train, &r, ids, sk, num)) {
            vpt_fm_step(fm, ids, r.n, r.label, r.weight);
        }

        if (held == NULL) {
            *epochs = epoch;
            best = NAN;
            continue;
        }

        vpt_evaluate(fm, held, auc);
        loss = vpt_auc_logloss(auc);

        if (o->progress) {
            fprintf(stderr, "vpt-train: %s: epoch %u: held-out log-loss "
                    "%.5f, AUC %.4f, %.0f rows/s\n", what, epoch, loss,
                    vpt_auc(auc), n / (vpt_now() - t0));
        }

        if (loss < best - 1e-6) {
            best = loss;
            best_bias = fm->bias;
            *epochs = epoch;
            memcpy(best_p, fm->p, size);
            memcpy(best_g, fm->g, size);
            bad = 0;
            continue;
        }

        /* back to the best epoch, at half the rate */

        memcpy(fm->p, best_p, size);
        memcpy(fm->g, best_g, size);
        fm->bias = best_bias;
        fm->lr *= 0.5;

        if (++bad >= VPT_PATIENCE) {
            break;
        }
    }

    free(best_p);
    free(best_g);
    free(auc);

    return best;
}


/*
 * The trees on the shopper's side: grown on the first VPT_GBT_ROWS raw
 * training records, their number chosen on the first VPT_GBT_ROWS
 * held-out ones (vpt_tools_gbt.h).
 */

static void
vpt_train_trees(vpt_train_t *t, const vpt_train_opts_t *o,
    vpt_train_result_t *res)
{
    int        k;
    FILE      *f;
    size_t     n;
    double     num[VPT_MAX_FEATURES * 2];
    uint32_t   ids[VPT_MAX_IDS], sk[VPT_MAX_FEATURES * 2];
    uint32_t   items[VPT_GBT_MAX_ITEMS];
    vpt_rec_t  r;
    vpt_gbt_rows_t  *rows;

    for (k = 0; k < 2; k++) {
        f = k ? t->held : t->train;
        rows = k ? &t->gbt.held : &t->gbt.train;
        rewind(f);

        while (rows->n < VPT_GBT_ROWS && vpt_rec_read(f, &r, ids, sk, num)) {
            n = vpt_train_items(t, &r, ids, sk, num, items);
            vpt_gbt_add(rows, r.label, items, n);
        }
    }

    if (t->gbt.train.n == 0 || t->gbt.held.n == 0) {
        return;
    }

    vpt_gbt_fit(&t->gbt, t->sk, o->progress);
    res->ntrees = t->gbt.ntrees;
    res->logloss_trees = t->gbt.logloss;
}


/*
 * Calibration, fitted on the held-out part and folded into the model.
 * Without trees, Platt scaling: p = sigmoid(a * fm + b).  With trees, the
 * two are stacked the same way, p = sigmoid(a * fm + c * trees + b) (the
 * FM's parameters scaled by a, the leaves by c, b and c times the trees'
 * base into the bias); --no-calibrate then takes their plain mean in
 * logit space.  Trees the stack gives no positive weight are dropped.
 */

static void
vpt_train_calibrate(vpt_train_t *t, const vpt_train_opts_t *o, FILE *held,
    vpt_train_result_t *res)
{
    double      a, b, c, *x, *y, S[VPT_MODEL_MAX_K];
    double      num[VPT_MAX_FEATURES * 2];
    size_t      i, n;
    uint8_t    *lab;
    uint32_t    ids[VPT_MAX_IDS], sk[VPT_MAX_FEATURES * 2];
    vpt_rec_t   r;
    vpt_auc_t  *auc;

    auc = vpt_xalloc(sizeof(vpt_auc_t));
    vpt_evaluate(&t->fm, held, auc);
    res->logloss_raw = vpt_auc_logloss(auc);

    res->a = 1;
    res->b = 0;
    res->c = 0;

    if (t->gbt.ntrees > 0) {
        n = t->gbt.held.n;
        x = vpt_xalloc(n * sizeof(double));
        y = vpt_xalloc(n * sizeof(double));
        lab = vpt_xalloc(n);
        rewind(held);

        for (i = 0; i < n && vpt_rec_read(held, &r, ids, sk, num); i++) {
            x[i] = vpt_fm_logit(&t->fm, ids, r.n, S);
            y[i] = vpt_gbt_held(&t->gbt, i);
            lab[i] = r.label;
        }

        vpt_stack_fit(x, y, lab, i, &a, &c, &b);

        if (o->nocal) {
            a = 0.5;
            c = 0.5;
            b = 0;
        }

        free(x);
        free(y);
        free(lab);

        if (isfinite(a) && isfinite(b) && isfinite(c) && a > 0 && c > 0) {
            res->a = a;
            res->b = b + c * t->gbt.base;
            res->c = c;
            vpt_fm_scale(&t->fm, res->a, res->b);
            vpt_gbt_scale(&t->gbt, c);
            res->calibrated = !o->nocal;

        } else {
            t->gbt.ntrees = 0;
            res->ntrees = 0;
        }
    }

    if (t->gbt.ntrees == 0) {
        vpt_platt_fit(auc, &a, &b);

        if (isfinite(a) && isfinite(b) && a > 0 && !o->nocal) {
            res->a = a;
            res->b = b;
        }

        if (res->a != 1 || res->b != 0) {
            vpt_fm_scale(&t->fm, res->a, res->b);
            res->calibrated = 1;
        }
    }

    vpt_evaluate_all(t, held, auc);
    res->logloss = vpt_auc_logloss(auc);
    res->auc = vpt_auc(auc);
    res->ece = vpt_calibration_deciles(auc, res->dec_n, res->dec_p,
                                       res->dec_y);

    free(auc);
}


/*
 * The model file: meta, bins, values, features.  vpt_model_dump() writes
 * "meta": TEXT then the features; TEXT here closes meta's object and adds
 * "bins" and "values" after it, so the dump needs no knowledge of them.
 */

static void
vpt_train_write(vpt_train_t *t, const vpt_train_opts_t *o,
    vpt_catalog_t *cat, vpt_train_result_t *res)
{
    int            first;
    char          *meta, err[VPT_ERRLEN];
    size_t         mlen, i, e;
    double         v;
    FILE          *mem;
    unsigned       l;
    vpt_model_t   *check;
    vpt_sketch_t  *s;

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
            "\"ipw\": %s, \"calibration\": {\"method\": \"%s\", \"a\": %.9g, "
            "\"b\": %.9g}, \"logloss\": ", (unsigned long long) res->ntrain,
            (unsigned long long) res->nheld, o->holdout, res->epochs, o->lr,
            res->l2, o->ipw ? "true" : "false",
            res->calibrated ? "platt" : "none", res->a, res->b);
    vpt_json_num(mem, res->nheld ? res->logloss : NAN);
    fputs(", \"auc\": ", mem);
    vpt_json_num(mem, res->nheld ? res->auc : NAN);
    fputs("},\n \"bins\": {", mem);

    first = 1;

    for (i = 0; i < t->nsk; i++) {
        s = &t->sk[i];
        if (s->nlevels == 0) {
            continue;
        }

        fputs(first ? "\n  " : ",\n  ", mem);
        vpt_json_str(mem, s->name, strlen(s->name));
        fputs(": [", mem);

        for (l = 0; l < s->nlevels; l++) {
            fputs(l ? ", [" : "[", mem);

            for (e = 0; e < s->nedges[l]; e++) {
                fprintf(mem, e ? ", %.17g" : "%.17g", s->edges[l][e]);
            }

            fputc(']', mem);
        }

        fputc(']', mem);
        first = 0;
    }

    fputs("},\n \"values\": {", mem);

    first = 1;

    for (i = 0; i < cat->n; i++) {
        if (t->vacc[i] == 0) {
            continue;
        }

        /* realized values, once an offer has any: an accept without
         * one turned into nothing */
        v = t->racc[i] > 0 ? t->rsum[i] : t->vsum[i];
        v = (v + VPT_VALUE_PRIOR * cat->offers[i].value)
            / (t->vacc[i] + VPT_VALUE_PRIOR);
        res->nrealized += t->racc[i] > 0;
        v = v < 0 ? 0 : v;

        fputs(first ? "\n  " : ",\n  ", mem);
        vpt_json_str(mem, cat->offers[i].id.data, cat->offers[i].id.len);
        fprintf(mem, ": %.9g", v);
        first = 0;
        res->nvalues++;
    }

    fputs("}", mem);

    if (t->gbt.ntrees > 0) {
        fputs(",\n \"trees\": ", mem);
        vpt_gbt_write(&t->gbt, mem, t->fm.names, t->sk);
    }

    fclose(mem);

    if (vpt_model_write(o->out, t->fm.k, t->fm.bias, t->fm.n, t->fm.names,
                        t->fm.p, meta) != VPT_OK)
    {
        vpt_die(1, "vpt-train: %s: %s", o->out, strerror(errno));
    }

    free(meta);

    check = vpt_model_load(o->out, err, sizeof(err));
    if (check == NULL) {
        vpt_die(1, "vpt-train: the model written does not load: %s", err);
    }

    vpt_model_free(check);
}


static void
vpt_train_report(const vpt_train_t *t, const vpt_train_opts_t *o,
    const vpt_train_result_t *res)
{
    unsigned  i;

    if (o->json) {
        printf("{\"rows\": %llu, \"logloss\": ",
               (unsigned long long) res->nheld);
        vpt_json_num(stdout, res->nheld ? res->logloss : NAN);
        fputs(", \"auc\": ", stdout);
        vpt_json_num(stdout, res->nheld ? res->auc : NAN);
        printf(", \"train_rows\": %llu, \"features\": %zu, \"epochs\": %u, "
               "\"k\": %u, \"l2\": %g, \"lr\": %g, \"logloss_uncalibrated\": ",
               (unsigned long long) res->ntrain, t->fm.n, res->epochs,
               res->k, res->l2, o->lr);
        vpt_json_num(stdout, res->nheld ? res->logloss_raw : NAN);
        printf(", \"trees\": %zu, \"logloss_trees\": ", res->ntrees);
        vpt_json_num(stdout, res->ntrees ? res->logloss_trees : NAN);
        printf(", \"calibration\": {\"method\": \"%s\", \"a\": %.6g, "
               "\"b\": %.6g, \"c\": %.6g, \"ece\": ",
               res->calibrated ? (res->ntrees ? "stack" : "platt") : "none",
               res->a, res->b, res->c);
        vpt_json_num(stdout, res->nheld ? res->ece : NAN);
        fputs(", \"deciles\": [", stdout);

        for (i = 0; res->nheld && i < 10; i++) {
            printf("%s{\"rows\": %.0f, \"predicted\": ", i ? ", " : "",
                   res->dec_n[i]);
            vpt_json_num(stdout, res->dec_n[i] ? res->dec_p[i] : NAN);
            fputs(", \"observed\": ", stdout);
            vpt_json_num(stdout, res->dec_n[i] ? res->dec_y[i] : NAN);
            fputc('}', stdout);
        }

        fputs("]}, \"search\": [", stdout);

        for (i = 0; i < res->ntrials; i++) {
            printf("%s{\"k\": %u, \"l2\": %g, \"logloss\": ", i ? ", " : "",
                   res->trials[i].k, res->trials[i].l2);
            vpt_json_num(stdout, res->trials[i].logloss);
            printf(", \"epochs\": %u}", res->trials[i].epochs);
        }

        printf("], \"values\": %zu, \"realized_values\": %zu, "
               "\"bad_lines\": %llu}\n", res->nvalues, res->nrealized,
               (unsigned long long) res->bad);
        return;
    }

    printf("trained on %llu rows (skipped: %llu that showed nothing, "
           "%llu unknown offers, %llu bad lines, %llu without a "
           "usable propensity)\n",
           (unsigned long long) res->ntrain,
           (unsigned long long) res->nothing,
           (unsigned long long) res->unknown,
           (unsigned long long) res->bad,
           (unsigned long long) res->noprop);
    printf("model: %s (k %u, L2 %g, %zu features, epoch %u, %zu values "
           "per accept, %zu trees)\n", o->out, res->k, res->l2, t->fm.n,
           res->epochs, res->nvalues, res->ntrees);

    for (i = 0; i < res->ntrials; i++) {
        printf("search: k %u, L2 %g: held-out log-loss %.5f (epoch %u)\n",
               res->trials[i].k, res->trials[i].l2, res->trials[i].logloss,
               res->trials[i].epochs);
    }

    if (res->nheld == 0) {
        printf("held out: none\n");
        return;
    }

    printf("held out: %llu rows, log-loss %.5f (%.5f before calibration), "
           "AUC %.4f\n", (unsigned long long) res->nheld, res->logloss,
           res->logloss_raw, res->auc);
    if (res->ntrees) {
        printf("trees alone: held-out log-loss %.5f; stacked with the FM: "
               "p = sigmoid(%.4f fm + %.4f trees + %.4f)\n",
               res->logloss_trees, res->a, res->c, res->b);
    }

    printf("calibration: %s a %.4f b %.4f, ECE %.4f; accept rate per "
           "decile of p, predicted / observed:\n",
           res->calibrated ? (res->ntrees ? "stack" : "Platt") : "none",
           res->a, res->b, res->ece);

    for (i = 0; i < 10; i++) {
        if (res->dec_n[i] > 0) {
            printf("  %2u: %8.0f rows  %.4f / %.4f\n", i + 1, res->dec_n[i],
                   res->dec_p[i], res->dec_y[i]);
        }
    }
}
