/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The counters an operator reads beside the outcomes (ngx_vpt_stats.c
 * has the zone and its log handler):
 *
 *   - vpt_info: the build's version, the catalog's own "version" and
 *     sha256 and each model's sha256 (first 12 hex digits, what
 *     "sha256sum FILE | cut -c1-12" prints), with the time the
 *     configuration was loaded; written once per cycle, at configuration
 *     time, so a scrape only copies them;
 *   - decisions, accepts and accepted value per experiment and arm, the
 *     experiments being the vpt_split names of the configuration (a label
 *     set the operator bounds, never what a shopper sends: an accept's x=
 *     counts only when it names one of them).
 *
 * Experiments keep their counts across reloads like offers do: slots of
 * the zone keyed by name, mapped to this cycle's names by the zone's init.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_vpt.h"
#include "ngx_vpt_stats_int.h"
#include "vpt_version.h"


#define NGX_VPT_STATS_HASH_HEX     12
#define NGX_VPT_STATS_ARM_TREATMENT  0
#define NGX_VPT_STATS_ARM_CONTROL    1


static ngx_int_t ngx_http_vpt_stats_digest(ngx_conf_t *cf, ngx_str_t *file,
    u_char *hex);
static u_char *ngx_http_vpt_stats_label(u_char *p, u_char *last,
    u_char *data, size_t len);
static ngx_http_vpt_stats_arm_t *ngx_http_vpt_stats_arm(
    ngx_http_vpt_stats_conf_t *conf, u_char *name, size_t len,
    ngx_uint_t arm);


/*
 * The vpt_info family and the load time, as the page shows them: one line
 * per model loaded (model="none" without one), each with the catalog.
 */

ngx_int_t
ngx_http_vpt_stats_info(ngx_conf_t *cf, ngx_http_vpt_stats_conf_t *conf)
{
    u_char                    *p, *last;
    u_char                     catalog[NGX_VPT_STATS_HASH_HEX];
    u_char                     model[NGX_VPT_STATS_HASH_HEX];
    size_t                     size;
    ngx_str_t                 *files, none = ngx_string("none");
    ngx_uint_t                 i, n;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    if (ngx_http_vpt_stats_digest(cf, &vmcf->catalog_file, catalog)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    n = vmcf->model_files ? vmcf->model_files->nelts : 0;
    files = vmcf->model_files ? vmcf->model_files->elts : NULL;

    /* a catalog version is at most a few hundred bytes, escaped twice */
    size = 1024 + ngx_max(n, 1) * (512 + 2 * vmcf->catalog->version.len);

    p = ngx_pnalloc(cf->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    conf->info.data = p;
    last = p + size;

    p = ngx_slprintf(p, last,
            "# HELP vpt_info The module's version, the catalog's version "
            "and sha256, each model's sha256 (first %d hex digits).\n"
            "# TYPE vpt_info gauge\n", NGX_VPT_STATS_HASH_HEX);

    for (i = 0; i < ngx_max(n, 1); i++) {

        if (n == 0) {
            ngx_memcpy(model, none.data, none.len);

        } else if (ngx_http_vpt_stats_digest(cf, &files[i], model) != NGX_OK) {
            return NGX_ERROR;
        }

        p = ngx_slprintf(p, last, "vpt_info{version=\"%s\",catalog=\"",
                         VPT_VERSION);
        p = ngx_http_vpt_stats_label(p, last,
                                  (u_char *) vmcf->catalog->version.data,
                                  vmcf->catalog->version.len);
        p = ngx_slprintf(p, last, "\",catalog_sha256=\"%*s\","
                         "model_sha256=\"%*s\"} 1\n",
                         (size_t) NGX_VPT_STATS_HASH_HEX, catalog,
                         n ? (size_t) NGX_VPT_STATS_HASH_HEX : none.len,
                         model);
    }

    p = ngx_slprintf(p, last,
            "# HELP vpt_config_load_timestamp_seconds When this "
            "configuration (catalog, models) was loaded: start or reload.\n"
            "# TYPE vpt_config_load_timestamp_seconds gauge\n"
            "vpt_config_load_timestamp_seconds %T\n", ngx_time());

    conf->info.len = p - conf->info.data;

    return NGX_OK;
}


/* the first NGX_VPT_STATS_HASH_HEX hex digits of the file's sha256 */

static ngx_int_t
ngx_http_vpt_stats_digest(ngx_conf_t *cf, ngx_str_t *file, u_char *hex)
{
    u_char         buf[8192], md[EVP_MAX_MD_SIZE];
    ssize_t        n;
    ngx_fd_t       fd;
    ngx_int_t      rc;
    unsigned int   mdlen;
    EVP_MD_CTX    *md_ctx;

    /* the loaders made the name full and NUL-terminated */
    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", file);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    md_ctx = EVP_MD_CTX_new();
    if (md_ctx == NULL || EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL) != 1)
    {
        goto done;
    }

    for ( ;; ) {
        n = ngx_read_fd(fd, buf, sizeof(buf));

        if (n == -1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               ngx_read_fd_n " \"%V\" failed", file);
            goto done;
        }

        if (n == 0) {
            break;
        }

        if (EVP_DigestUpdate(md_ctx, buf, n) != 1) {
            goto done;
        }
    }

    if (EVP_DigestFinal_ex(md_ctx, md, &mdlen) != 1) {
        goto done;
    }

    (void) ngx_hex_dump(hex, md, NGX_VPT_STATS_HASH_HEX / 2);
    rc = NGX_OK;

done:

    if (rc != NGX_OK && md_ctx != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt: cannot hash \"%V\" for vpt_info", file);
    }

    EVP_MD_CTX_free(md_ctx);
    (void) ngx_close_file(fd);

    return rc;
}


/* a label value: backslash, double quote and newline escaped */

static u_char *
ngx_http_vpt_stats_label(u_char *p, u_char *last, u_char *data, size_t len)
{
    size_t  i;

    for (i = 0; i < len && p + 2 <= last; i++) {
        switch (data[i]) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = data[i];
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = data[i];
        }
    }

    return p;
}


/* this cycle's experiments, from the vpt_split names */

ngx_int_t
ngx_http_vpt_stats_experiments(ngx_conf_t *cf,
    ngx_http_vpt_stats_conf_t *conf)
{
    ngx_uint_t                 n;
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    if (vmcf->experiments == NULL) {
        return NGX_OK;
    }

    n = vmcf->experiments->nelts;

    if (n > NGX_VPT_STATS_MAX_EXPERIMENTS) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "vpt: the status page counts the first %d "
                           "experiments (vpt_split names) of %ui",
                           NGX_VPT_STATS_MAX_EXPERIMENTS, n);
        n = NGX_VPT_STATS_MAX_EXPERIMENTS;
    }

    conf->experiments = vmcf->experiments->elts;
    conf->nexperiments = n;

    conf->experiment_slot = ngx_palloc(cf->pool, n * sizeof(uint32_t));
    if (conf->experiment_slot == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * From the zone's init, in the master: each experiment to the slot that
 * has its name, else a slot never used, else one whose name this
 * configuration no longer has (its counts start again).
 */

void
ngx_http_vpt_stats_map_experiments(ngx_http_vpt_stats_conf_t *conf)
{
    u_char                            taken[NGX_VPT_STATS_MAX_EXPERIMENTS];
    uint32_t                          i, j, spare;
    ngx_str_t                        *name;
    ngx_http_vpt_stats_shm_t         *sh;
    ngx_http_vpt_stats_experiment_t  *e;

    sh = conf->sh;

    ngx_memzero(taken, sizeof(taken));

    for (i = 0; i < conf->nexperiments; i++) {
        name = &conf->experiments[i];
        conf->experiment_slot[i] = NGX_VPT_STATS_NO_SLOT;

        for (j = 0; j < sh->nexperiments; j++) {
            e = &sh->experiments[j];

            if (e->len == name->len
                && ngx_strncmp(e->name, name->data, name->len) == 0)
            {
                conf->experiment_slot[i] = j;
                taken[j] = 1;
                break;
            }
        }
    }

    spare = 0;

    for (i = 0; i < conf->nexperiments; i++) {
        name = &conf->experiments[i];

        if (conf->experiment_slot[i] != NGX_VPT_STATS_NO_SLOT
            || name->len > NGX_VPT_STATS_ID_LEN)
        {
            continue;
        }

        if (sh->nexperiments < NGX_VPT_STATS_MAX_EXPERIMENTS) {
            j = sh->nexperiments++;

        } else {
            while (spare < NGX_VPT_STATS_MAX_EXPERIMENTS && taken[spare]) {
                spare++;
            }

            if (spare == NGX_VPT_STATS_MAX_EXPERIMENTS) {
                break;
            }

            j = spare;
        }

        e = &sh->experiments[j];
        ngx_memzero(e->arms, sizeof(e->arms));
        e->len = name->len;
        ngx_memcpy(e->name, name->data, name->len);

        conf->experiment_slot[i] = j;
        taken[j] = 1;
    }
}


/*
 * From the log handler.  A page in an experiment counts one decision in
 * its arm once the decision step concluded (offers chosen, nothing worth
 * showing, or held out for control), whatever became of the page; an
 * accept counts in the treatment arm of the experiment its link names
 * (x=), with the offer's value: control shoppers see no offer.
 */

void
ngx_http_vpt_stats_count_arm(ngx_http_vpt_stats_conf_t *conf,
    ngx_http_vpt_ctx_t *ctx)
{
    ngx_str_t                 *name;
    ngx_http_vpt_stats_arm_t  *arm;

    if (conf->nexperiments == 0) {
        return;
    }

    if (ctx->outcome == NGX_VPT_OUT_ACCEPT) {
        arm = ngx_http_vpt_stats_arm(conf, ctx->accept.experiment.data,
                                     ctx->accept.experiment.len,
                                     NGX_VPT_STATS_ARM_TREATMENT);
        if (arm == NULL) {
            return;
        }

        (void) ngx_atomic_fetch_add(&arm->accepts, 1);

        if (ctx->accept_value > 0) {
            (void) ngx_atomic_fetch_add(&arm->value, (ngx_atomic_int_t)
                       (ctx->accept_value * NGX_VPT_STATS_VALUE_UNIT + 0.5));
        }

        return;
    }

    if (ctx->variant == NGX_VPT_VARIANT_NONE
        || (ctx->verdict != NGX_VPT_CHOSEN
            && ctx->verdict != NGX_VPT_NOTHING
            && ctx->verdict != NGX_VPT_HELD_OUT))
    {
        return;
    }

    name = &ctx->conf->split_name;

    arm = ngx_http_vpt_stats_arm(conf, name->data, name->len,
                                 ctx->variant == NGX_VPT_VARIANT_CONTROL
                                 ? NGX_VPT_STATS_ARM_CONTROL
                                 : NGX_VPT_STATS_ARM_TREATMENT);
    if (arm != NULL) {
        (void) ngx_atomic_fetch_add(&arm->decisions, 1);
    }
}


/* a handful of experiments: a scan costs less than a hash */

static ngx_http_vpt_stats_arm_t *
ngx_http_vpt_stats_arm(ngx_http_vpt_stats_conf_t *conf, u_char *name,
    size_t len, ngx_uint_t arm)
{
    ngx_uint_t  i;

    if (len == 0) {
        return NULL;
    }

    for (i = 0; i < conf->nexperiments; i++) {
        if (conf->experiments[i].len == len
            && ngx_strncmp(conf->experiments[i].data, name, len) == 0)
        {
            if (conf->experiment_slot[i] == NGX_VPT_STATS_NO_SLOT) {
                return NULL;
            }

            return &conf->sh->experiments[conf->experiment_slot[i]].arms[arm];
        }
    }

    return NULL;
}
