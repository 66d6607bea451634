/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Calibration from a histogram of logits (vpt_auc_t, bins of 0.004 in
 * logit): Platt scaling fitted by Newton's method, and the accept rate
 * predicted against observed per decile of p.  Constant memory, however
 * many rows the histogram counts.
 */

#include <math.h>
#include <string.h>

#include "vpt_tools_fm.h"


/* the logit at the middle of histogram bin i (vpt_tools_stats.c's bins) */
static double
vpt_bin_logit(size_t i)
{
    return -20.0 + 40.0 * (i + 0.5) / VPT_AUC_BINS;
}


void
vpt_platt_fit(const vpt_auc_t *h, double *pa, double *pb)
{
    int     it;
    double  a, b, z, p, g0, g1, h00, h01, h11, det, da, db, w, q;
    size_t  i;

    a = 1;
    b = 0;

    for (it = 0; it < 50; it++) {
        g0 = g1 = h00 = h01 = h11 = 0;

        for (i = 0; i < VPT_AUC_BINS; i++) {
            w = h->pos[i] + h->neg[i];
            if (w == 0) {
                continue;
            }

            z = vpt_bin_logit(i);
            p = vpt_sigmoid(a * z + b);
            g0 += (p * w - h->pos[i]) * z;
            g1 += p * w - h->pos[i];
            q = p * (1 - p) * w + 1e-12;
            h00 += q * z * z;
            h01 += q * z;
            h11 += q;
        }

        det = h00 * h11 - h01 * h01;
        if (!(fabs(det) > 1e-300)) {
            break;
        }

        da = (h11 * g0 - h01 * g1) / det;
        db = (h00 * g1 - h01 * g0) / det;
        a -= da;
        b -= db;

        if (fabs(da) + fabs(db) < 1e-10) {
            break;
        }
    }

    *pa = a;
    *pb = b;
}


double
vpt_calibration_deciles(const vpt_auc_t *h, double *n, double *p,
    double *y)
{
    double  tot, c, w, ece;
    size_t  i, d;

    tot = 0;

    for (i = 0; i < VPT_AUC_BINS; i++) {
        tot += h->pos[i] + h->neg[i];
    }

    memset(n, 0, 10 * sizeof(double));
    memset(p, 0, 10 * sizeof(double));
    memset(y, 0, 10 * sizeof(double));
    c = 0;

    /* rows in order of p: a bin goes to the decile of its middle row */

    for (i = 0; i < VPT_AUC_BINS; i++) {
        w = h->pos[i] + h->neg[i];
        if (w == 0) {
            continue;
        }

        d = (size_t) (10 * (c + w / 2) / tot);
        d = d > 9 ? 9 : d;
        c += w;

        n[d] += w;
        p[d] += w * vpt_sigmoid(vpt_bin_logit(i));
        y[d] += h->pos[i];
    }

    ece = 0;

    for (d = 0; d < 10; d++) {
        if (n[d] > 0) {
            p[d] /= n[d];
            y[d] /= n[d];
            ece += n[d] / tot * fabs(p[d] - y[d]);
        }
    }

    return ece;
}
