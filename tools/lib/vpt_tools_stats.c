/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Statistics: the held-out split, Wilson intervals and the area under
 * the ROC curve.
 */

#include <math.h>

#include "vpt_tools.h"


int
vpt_heldout(const char *id, size_t len, double fraction)
{
    uint64_t  h;

    /* salted, so the split is not the exploration draw of the ranker */
    h = vpt_hash_more(vpt_hash("vpt-holdout:", 12), id, len);

    /*
     * FNV-1a's top bits hardly depend on the last bytes: ids that differ
     * only at the end ("row-1041", "row-1042") would be held out together,
     * so a log in time order would hold out periods; mixed (murmur3's
     * finalizer) every bit counts.
     */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return (double) (h >> 11) * (1.0 / 9007199254740992.0) < fraction;
}


/* statistics */

void
vpt_wilson(double k, double n, double *lo, double *hi)
{
    double  p, z2, c, d;

    if (n <= 0) {
        *lo = NAN;
        *hi = NAN;
        return;
    }

    p = k / n;
    if (p > 1) {
        p = 1;
    }

    z2 = VPT_Z95 * VPT_Z95;
    c = (p + z2 / (2 * n)) / (1 + z2 / n);
    d = VPT_Z95 * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);

    *lo = c - d < 0 ? 0 : c - d;
    *hi = c + d > 1 ? 1 : c + d;
}


/*
 * AUC in constant memory: scores are binned by their logit, 10,000 bins
 * over [-20, 20] (0.004 wide, finer than any model here can resolve), and
 * pairs within one bin count as ties (half).  The error against an exact
 * AUC is below the ties' share, i.e. negligible for real models.
 */

#define VPT_AUC_LO  -20.0
#define VPT_AUC_HI   20.0


void
vpt_auc_add(vpt_auc_t *a, double p, int label, double weight)
{
    long    b;
    double  z, q;

    q = p < 1e-9 ? 1e-9 : (p > 1 - 1e-9 ? 1 - 1e-9 : p);
    z = log(q / (1 - q));
    b = (long) ((z - VPT_AUC_LO) / (VPT_AUC_HI - VPT_AUC_LO) * VPT_AUC_BINS);
    b = b < 0 ? 0 : (b >= VPT_AUC_BINS ? VPT_AUC_BINS - 1 : b);

    if (label) {
        a->pos[b] += weight;
        a->logloss -= weight * log(q);

    } else {
        a->neg[b] += weight;
        a->logloss -= weight * log(1 - q);
    }

    a->n += weight;
}


double
vpt_auc(const vpt_auc_t *a)
{
    long    b;
    double  below, area, P, N;

    below = 0;
    area = 0;
    P = 0;
    N = 0;

    for (b = 0; b < VPT_AUC_BINS; b++) {
        area += a->pos[b] * (below + 0.5 * a->neg[b]);
        below += a->neg[b];
        P += a->pos[b];
        N += a->neg[b];
    }

    if (P == 0 || N == 0) {
        return NAN;
    }

    return area / (P * N);
}


double
vpt_auc_logloss(const vpt_auc_t *a)
{
    return a->n > 0 ? a->logloss / a->n : NAN;
}
