/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Boosted trees for vpt-train (vpt_tools_gbt.h).  Each level of a tree
 * is one pass over the training rows into per-node histograms of the
 * gradient and hessian per slot (a category's presence, a number's bin);
 * the best split of a node maximises the usual second-order gain
 * G_L^2 / (H_L + lambda) + G_R^2 / (H_R + lambda) - G^2 / (H + lambda)
 * with at least VPT_GBT_MIN_ROWS rows on each side.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools_gbt.h"


#define VPT_GBT_NONE  0xffffffffu


static void vpt_gbt_columns(vpt_gbt_t *gbt, const vpt_sketch_t *sk);
static void vpt_gbt_slots(const vpt_gbt_t *gbt, vpt_gbt_rows_t *rows);
static int vpt_gbt_yes(const vpt_gbt_t *gbt, const vpt_gbt_rows_t *rows,
    size_t i, const vpt_gbt_node_t *nd);
static double vpt_gbt_walk(const vpt_gbt_t *gbt, const vpt_gbt_rows_t *rows,
    size_t i, size_t root);
static size_t vpt_gbt_node(vpt_gbt_t *gbt);
static uint64_t vpt_gbt_key(uint32_t it);
static double vpt_gbt_loss(const double *f, const vpt_gbt_rows_t *rows);


void
vpt_gbt_add(vpt_gbt_rows_t *rows, int label, const uint32_t *items,
    size_t n)
{
    if (rows->n + 1 >= rows->cap) {
        rows->cap = rows->cap ? rows->cap * 2 : 1024;
        rows->y = realloc(rows->y, rows->cap);
        rows->off = realloc(rows->off, (rows->cap + 1) * sizeof(size_t));
        if (rows->y == NULL || rows->off == NULL) {
            vpt_die(1, "vpt-train: out of memory");
        }
        rows->off[0] = 0;
    }

    while (rows->nitem + n > rows->capitem) {
        rows->capitem = rows->capitem ? rows->capitem * 2 : 16384;
        rows->item = realloc(rows->item, rows->capitem * sizeof(uint32_t));
        if (rows->item == NULL) {
            vpt_die(1, "vpt-train: out of memory");
        }
    }

    memcpy(rows->item + rows->nitem, items, n * sizeof(uint32_t));
    rows->nitem += n;
    rows->y[rows->n] = (uint8_t) (label != 0);
    rows->off[++rows->n] = rows->nitem;
}


void
vpt_gbt_fit(vpt_gbt_t *gbt, const vpt_sketch_t *sk, int progress)
{
    int              yes;
    double          *f, *g, *h, *G, *H, *tg, *th, pos, p, loss, best;
    double           gain, bg, gl, hl, gr, hr, parent, cl;
    size_t           i, j, t, lo, hi, nopen, pos_i, c, s, e, bestn;
    size_t           bt, tree_nodes, depth, kept, bcol, bbin;
    uint32_t        *at, *C, *tc;
    vpt_gbt_node_t  *nd;

    vpt_gbt_columns(gbt, sk);
    vpt_gbt_slots(gbt, &gbt->train);
    vpt_gbt_slots(gbt, &gbt->held);

    pos = 0;
    for (i = 0; i < gbt->train.n; i++) {
        pos += gbt->train.y[i];
    }

    pos = pos < 0.5 ? 0.5 : pos;
    pos = pos > gbt->train.n - 0.5 ? gbt->train.n - 0.5 : pos;
    gbt->base = log(pos / (gbt->train.n - pos));

    f = vpt_xalloc(gbt->train.n * sizeof(double));
    g = vpt_xalloc(gbt->train.n * sizeof(double));
    h = vpt_xalloc(gbt->train.n * sizeof(double));
    at = vpt_xalloc(gbt->train.n * sizeof(uint32_t));
    gbt->fheld = vpt_xalloc((gbt->held.n + 1) * sizeof(double));

    for (i = 0; i < gbt->train.n; i++) {
        f[i] = gbt->base;
    }

    for (i = 0; i < gbt->held.n; i++) {
        gbt->fheld[i] = gbt->base;
    }

    /* the last level has at most 2^(depth - 1) nodes to split */
    nopen = (size_t) 1 << (VPT_GBT_DEPTH - 1);
    G = vpt_xalloc(nopen * (gbt->nslot + 1) * sizeof(double));
    H = vpt_xalloc(nopen * (gbt->nslot + 1) * sizeof(double));
    C = vpt_xalloc(nopen * (gbt->nslot + 1) * sizeof(uint32_t));
    /* and the last level itself 2^depth, all leaves */
    tg = vpt_xalloc(2 * nopen * sizeof(double));
    th = vpt_xalloc(2 * nopen * sizeof(double));
    tc = vpt_xalloc(2 * nopen * sizeof(uint32_t));

    best = vpt_gbt_loss(gbt->fheld, &gbt->held);
    bestn = 0;
    kept = 0;
    gbt->ntrees = 0;
    gbt->nnodes = 0;
    gbt->roots = vpt_xalloc((VPT_GBT_TREES + 1) * sizeof(size_t));

    for (t = 0; t < VPT_GBT_TREES; t++) {
        for (i = 0; i < gbt->train.n; i++) {
            p = vpt_sigmoid(f[i]);
            g[i] = p - gbt->train.y[i];
            h[i] = p * (1 - p);
            at[i] = 0;
        }

        gbt->roots[t] = gbt->nnodes;
        tree_nodes = gbt->nnodes;
        vpt_gbt_node(gbt);

        /* level by level: the open nodes are [lo, hi) of this tree */
        lo = 0;
        hi = 1;

        for (depth = 0; depth <= VPT_GBT_DEPTH && lo < hi; depth++) {
            nopen = hi - lo;
            memset(tg, 0, nopen * sizeof(double));
            memset(th, 0, nopen * sizeof(double));
            memset(tc, 0, nopen * sizeof(uint32_t));

            if (depth < VPT_GBT_DEPTH) {
                memset(G, 0, nopen * gbt->nslot * sizeof(double));
                memset(H, 0, nopen * gbt->nslot * sizeof(double));
                memset(C, 0, nopen * gbt->nslot * sizeof(uint32_t));
            }

            for (i = 0; i < gbt->train.n; i++) {
                if (at[i] < lo || at[i] >= hi) {
                    continue;
                }

                pos_i = at[i] - lo;
                tg[pos_i] += g[i];
                th[pos_i] += h[i];
                tc[pos_i]++;

                if (depth == VPT_GBT_DEPTH) {
                    continue;
                }

                for (e = gbt->train.off[i]; e < gbt->train.off[i + 1]; e++) {
                    s = gbt->train.item[e];
                    if (s == VPT_GBT_NONE) {
                        continue;
                    }

                    s += pos_i * gbt->nslot;
                    G[s] += g[i];
                    H[s] += h[i];
                    C[s]++;
                }
            }

            for (j = 0; j < nopen; j++) {
                nd = &gbt->nodes[tree_nodes + lo + j];
                parent = tg[j] * tg[j] / (th[j] + VPT_GBT_LAMBDA);
                bg = 1e-6;
                bcol = VPT_GBT_NONE;
                bbin = 0;

                for (c = 0; depth < VPT_GBT_DEPTH && c < gbt->ncol; c++) {
                    gl = hl = cl = 0;

                    for (e = 0; e < gbt->col_nbin[c]; e++) {
                        s = j * gbt->nslot + gbt->col_slot[c] + e;
                        gl += G[s];
                        hl += H[s];
                        cl += C[s];

                        if (cl < VPT_GBT_MIN_ROWS
                            || tc[j] - cl < VPT_GBT_MIN_ROWS)
                        {
                            continue;
                        }

                        gr = tg[j] - gl;
                        hr = th[j] - hl;
                        gain = gl * gl / (hl + VPT_GBT_LAMBDA)
                               + gr * gr / (hr + VPT_GBT_LAMBDA) - parent;

                        if (gain > bg) {
                            bg = gain;
                            bcol = c;
                            bbin = e;
                        }
                    }
                }

                if (bcol == VPT_GBT_NONE) {
                    nd->kind = 0;
                    nd->leaf = -VPT_GBT_RATE * tg[j]
                               / (th[j] + VPT_GBT_LAMBDA);
                    continue;
                }

                /* the children (the nodes array may move) */
                i = vpt_gbt_node(gbt) - tree_nodes;
                vpt_gbt_node(gbt);
                nd = &gbt->nodes[tree_nodes + lo + j];
                nd->kind = gbt->col_kind[bcol];
                nd->col = (uint32_t) bcol;
                nd->bin = (uint32_t) bbin;
                nd->yes = (uint32_t) i;
                nd->no = (uint32_t) i + 1;
            }

            /* the rows of split nodes go down */
            for (i = 0; i < gbt->train.n; i++) {
                if (at[i] < lo || at[i] >= hi) {
                    continue;
                }

                nd = &gbt->nodes[tree_nodes + at[i]];
                if (nd->kind == 0) {
                    f[i] += nd->leaf;
                    at[i] = VPT_GBT_NONE;
                    continue;
                }

                yes = vpt_gbt_yes(gbt, &gbt->train, i, nd);
                at[i] = yes ? nd->yes : nd->no;
            }

            lo = hi;
            hi = gbt->nnodes - tree_nodes;
        }

        gbt->ntrees = t + 1;

        for (i = 0; i < gbt->held.n; i++) {
            gbt->fheld[i] += vpt_gbt_walk(gbt, &gbt->held, i,
                                          gbt->roots[t]);
        }

        loss = vpt_gbt_loss(gbt->fheld, &gbt->held);

        if (progress) {
            fprintf(stderr, "vpt-train: trees: %zu: held-out log-loss "
                    "%.5f\n", t + 1, loss);
        }

        if (loss < best - 1e-6) {
            best = loss;
            bestn = t + 1;
            kept = gbt->nnodes;

        } else if (t + 1 - bestn >= VPT_GBT_PATIENCE) {
            break;
        }
    }

    /* back to the best number of trees */

    gbt->ntrees = bestn;
    gbt->nnodes = kept;
    gbt->logloss = best;

    for (i = 0; i < gbt->held.n; i++) {
        gbt->fheld[i] = gbt->base;

        for (bt = 0; bt < bestn; bt++) {
            gbt->fheld[i] += vpt_gbt_walk(gbt, &gbt->held, i,
                                          gbt->roots[bt]);
        }
    }

    free(f);
    free(g);
    free(h);
    free(at);
    free(G);
    free(H);
    free(C);
    free(tg);
    free(th);
    free(tc);
}


double
vpt_gbt_score(const vpt_gbt_t *gbt, const uint32_t *items, size_t n)
{
    double          sum;
    size_t          t, off[2];
    uint32_t        slots[VPT_GBT_MAX_ITEMS];
    vpt_gbt_rows_t  row;

    n = n < VPT_GBT_MAX_ITEMS ? n : VPT_GBT_MAX_ITEMS;
    memcpy(slots, items, n * sizeof(uint32_t));

    memset(&row, 0, sizeof(vpt_gbt_rows_t));
    row.n = 1;
    row.nitem = n;
    row.item = slots;
    off[0] = 0;
    off[1] = n;
    row.off = off;
    vpt_gbt_slots(gbt, &row);

    sum = 0;

    for (t = 0; t < gbt->ntrees; t++) {
        sum += vpt_gbt_walk(gbt, &row, 0, gbt->roots[t]);
    }

    return sum;
}


double
vpt_gbt_held(const vpt_gbt_t *gbt, size_t i)
{
    return gbt->fheld[i];
}


void
vpt_gbt_scale(vpt_gbt_t *gbt, double c)
{
    size_t  i;

    for (i = 0; i < gbt->nnodes; i++) {
        gbt->nodes[i].leaf *= c;
    }

    gbt->base *= c;
}


void
vpt_gbt_write(const vpt_gbt_t *gbt, FILE *f, char *const *names,
    const vpt_sketch_t *sk)
{
    size_t                t, i, end, c;
    const char           *name;
    const vpt_sketch_t   *s;
    const vpt_gbt_node_t *nd;

    fputs("[", f);

    for (t = 0; t < gbt->ntrees; t++) {
        end = t + 1 < gbt->ntrees ? gbt->roots[t + 1] : gbt->nnodes;
        fputs(t ? ",\n  [" : "\n  [", f);

        for (i = gbt->roots[t]; i < end; i++) {
            nd = &gbt->nodes[i];
            fputs(i > gbt->roots[t] ? ", " : "", f);

            if (nd->kind == 0) {
                fprintf(f, "{\"leaf\": %.9g}", nd->leaf);
                continue;
            }

            c = nd->col;

            if (nd->kind == 1) {
                name = names[gbt->col_item[c]];
                fputs("{\"feature\": ", f);
                vpt_json_str(f, name, strlen(name));

            } else {
                s = &sk[gbt->col_item[c]];
                fputs("{\"number\": ", f);
                vpt_json_str(f, s->name, strlen(s->name));
                fprintf(f, ", \"below\": %.17g",
                        s->edges[vpt_gbt_level(s)][nd->bin]);
            }

            fprintf(f, ", \"yes\": %u, \"no\": %u}", nd->yes, nd->no);
        }

        fputs("]", f);
    }

    fputs("]", f);
}


void
vpt_gbt_free(vpt_gbt_t *gbt)
{
    vpt_gbt_rows_t  *r;
    int              k;

    for (k = 0; k < 2; k++) {
        r = k ? &gbt->held : &gbt->train;
        free(r->y);
        free(r->off);
        free(r->item);
    }

    free(gbt->col_item);
    free(gbt->col_kind);
    free(gbt->col_slot);
    free(gbt->col_nbin);
    free(gbt->slot_col);
    free(gbt->nodes);
    free(gbt->roots);
    free(gbt->fheld);
    memset(gbt, 0, sizeof(vpt_gbt_t));
}


int
vpt_gbt_level(const vpt_sketch_t *s)
{
    int       l, best;

    best = -1;

    for (l = 0; l < (int) s->nlevels; l++) {
        if (s->nedges[l] <= 255) {
            best = l;
        }
    }

    return best;
}


void
vpt_stack_fit(const double *x, const double *y, const uint8_t *label,
    size_t n, double *pa, double *pc, double *pb)
{
    int     it, r, q;
    double  w[3], gr[3], hs[3][3], z[3], p, d, m[3][4], f;
    size_t  i;

    w[0] = 0.5;
    w[1] = 0.5;
    w[2] = 0;

    for (it = 0; it < 50; it++) {
        memset(gr, 0, sizeof(gr));
        memset(hs, 0, sizeof(hs));

        for (i = 0; i < n; i++) {
            z[0] = x[i];
            z[1] = y[i];
            z[2] = 1;
            p = vpt_sigmoid(w[0] * z[0] + w[1] * z[1] + w[2]);
            d = p * (1 - p) + 1e-12;

            for (r = 0; r < 3; r++) {
                gr[r] += (p - label[i]) * z[r];
                for (q = 0; q < 3; q++) {
                    hs[r][q] += d * z[r] * z[q];
                }
            }
        }

        /* solve hs * delta = gr by Gauss-Jordan with partial pivoting */
        for (r = 0; r < 3; r++) {
            for (q = 0; q < 3; q++) {
                m[r][q] = hs[r][q] + (r == q ? 1e-9 : 0);
            }
            m[r][3] = gr[r];
        }

        for (r = 0; r < 3; r++) {
            int  piv = r;

            for (q = r + 1; q < 3; q++) {
                if (fabs(m[q][r]) > fabs(m[piv][r])) {
                    piv = q;
                }
            }

            for (q = 0; q < 4; q++) {
                f = m[r][q];
                m[r][q] = m[piv][q];
                m[piv][q] = f;
            }

            if (!(fabs(m[r][r]) > 1e-300)) {
                goto done;
            }

            for (q = 0; q < 3; q++) {
                if (q != r) {
                    f = m[q][r] / m[r][r];
                    for (i = 0; i < 4; i++) {
                        m[q][i] -= f * m[r][i];
                    }
                }
            }
        }

        d = 0;
        for (r = 0; r < 3; r++) {
            f = m[r][3] / m[r][r];
            w[r] -= f;
            d += fabs(f);
        }

        if (d < 1e-10) {
            break;
        }
    }

done:

    *pa = w[0];
    *pc = w[1];
    *pb = w[2];
}


/*
 * The columns: the categories seen in at least VPT_GBT_MIN_ROWS training
 * rows, and every number with bins; slots in column order.  A column's
 * key in gbt->cols is the item with a number's bin cleared.
 */

static uint64_t
vpt_gbt_key(uint32_t it)
{
    return (it & VPT_GBT_NUM_FLAG) ? (it & ~(uint32_t) 0x1ff) : it;
}


static void
vpt_gbt_columns(vpt_gbt_t *gbt, const vpt_sketch_t *sk)
{
    int         added, l;
    long        c;
    size_t      i, cap, nc;
    uint32_t    it, s;
    uint32_t   *count;
    vpt_umap_t  seen;

    vpt_umap_init(&seen);
    vpt_umap_init(&gbt->cols);
    cap = 0;
    count = NULL;

    for (i = 0; i < gbt->train.nitem; i++) {
        c = vpt_umap_add(&seen, vpt_gbt_key(gbt->train.item[i]), &added);

        if ((size_t) c >= cap) {
            count = realloc(count, (2 * cap + 1024) * sizeof(uint32_t));
            if (count == NULL) {
                vpt_die(1, "vpt-train: out of memory");
            }
            memset(count + cap, 0, (cap + 1024) * sizeof(uint32_t));
            cap = 2 * cap + 1024;
        }

        count[c]++;
    }

    nc = seen.n;
    gbt->col_item = vpt_xalloc((nc + 1) * sizeof(uint32_t));
    gbt->col_kind = vpt_xalloc((nc + 1) * sizeof(int));
    gbt->col_slot = vpt_xalloc((nc + 1) * sizeof(size_t));
    gbt->col_nbin = vpt_xalloc((nc + 1) * sizeof(size_t));
    gbt->ncol = 0;
    gbt->nslot = 0;

    for (i = 0; i < gbt->train.nitem; i++) {
        it = gbt->train.item[i];
        c = vpt_umap_find(&seen, vpt_gbt_key(it));

        if (count[c] < VPT_GBT_MIN_ROWS
            || vpt_umap_find(&gbt->cols, vpt_gbt_key(it)) >= 0)
        {
            continue;
        }

        if (it & VPT_GBT_NUM_FLAG) {
            s = (it & ~VPT_GBT_NUM_FLAG) >> 9;
            l = vpt_gbt_level(&sk[s]);
            if (l < 0) {
                continue;
            }

            gbt->col_item[gbt->ncol] = s;
            gbt->col_kind[gbt->ncol] = 2;
            gbt->col_nbin[gbt->ncol] = sk[s].nedges[l] + 1;

        } else {
            gbt->col_item[gbt->ncol] = it;
            gbt->col_kind[gbt->ncol] = 1;
            gbt->col_nbin[gbt->ncol] = 1;
        }

        vpt_umap_add(&gbt->cols, vpt_gbt_key(it), &added);
        gbt->col_slot[gbt->ncol] = gbt->nslot;
        gbt->nslot += gbt->col_nbin[gbt->ncol];
        gbt->ncol++;
    }

    free(count);
    free(seen.key);
    free(seen.id);
}


/* each item becomes its slot, or VPT_GBT_NONE outside every column */

static void
vpt_gbt_slots(const vpt_gbt_t *gbt, vpt_gbt_rows_t *rows)
{
    long      c;
    size_t    i;
    uint32_t  it;

    for (i = 0; i < rows->nitem; i++) {
        it = rows->item[i];
        c = vpt_umap_find(&gbt->cols, vpt_gbt_key(it));

        if (c < 0) {
            rows->item[i] = VPT_GBT_NONE;

        } else if (gbt->col_kind[c] == 2) {
            rows->item[i] = (uint32_t) (gbt->col_slot[c] + (it & 0x1ff));

        } else {
            rows->item[i] = (uint32_t) gbt->col_slot[c];
        }
    }
}


static int
vpt_gbt_yes(const vpt_gbt_t *gbt, const vpt_gbt_rows_t *rows, size_t i,
    const vpt_gbt_node_t *nd)
{
    size_t    e, lo, hi;
    uint32_t  s;

    lo = gbt->col_slot[nd->col];
    hi = nd->kind == 1 ? lo : lo + nd->bin;

    for (e = rows->off[i]; e < rows->off[i + 1]; e++) {
        s = rows->item[e];
        if (s >= lo && s <= hi) {
            return 1;
        }
    }

    return 0;
}


static double
vpt_gbt_walk(const vpt_gbt_t *gbt, const vpt_gbt_rows_t *rows, size_t i,
    size_t root)
{
    const vpt_gbt_node_t  *nd;

    nd = &gbt->nodes[root];

    while (nd->kind != 0) {
        nd = &gbt->nodes[root + (vpt_gbt_yes(gbt, rows, i, nd)
                                 ? nd->yes : nd->no)];
    }

    return nd->leaf;
}


static size_t
vpt_gbt_node(vpt_gbt_t *gbt)
{
    if (gbt->nnodes == gbt->capnodes) {
        gbt->capnodes = gbt->capnodes ? gbt->capnodes * 2 : 1024;
        gbt->nodes = realloc(gbt->nodes,
                             gbt->capnodes * sizeof(vpt_gbt_node_t));
        if (gbt->nodes == NULL) {
            vpt_die(1, "vpt-train: out of memory");
        }
    }

    memset(&gbt->nodes[gbt->nnodes], 0, sizeof(vpt_gbt_node_t));

    return gbt->nnodes++;
}


static double
vpt_gbt_loss(const double *f, const vpt_gbt_rows_t *rows)
{
    double  sum, p;
    size_t  i;

    sum = 0;

    for (i = 0; i < rows->n; i++) {
        p = vpt_sigmoid(rows->y[i] ? f[i] : -f[i]);
        sum -= log(p > 1e-15 ? p : 1e-15);
    }

    return rows->n ? sum / rows->n : 0;
}
