/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The module definition: directives, configuration and its merge, worker
 * start and stop.  What the configuration loads is in src/ngx_vpt_load.c,
 * the request's way through the module in src/ngx_vpt_*.c (a map at the
 * end of src/ngx_vpt.h); everything nginx-free in src/vpt_*.c.
 *
 * Past 800 lines on purpose: the table of every directive and the one
 * configuration merge that reads them all.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"
#include "vpt_query.h"


static ngx_int_t ngx_http_vpt_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_vpt_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_vpt_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_vpt_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_vpt_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_vpt_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_vpt_init_process(ngx_cycle_t *cycle);
static void ngx_http_vpt_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_vpt_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vpt_split(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vpt_set_double(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vpt_check_slots(ngx_conf_t *cf, void *post,
    void *data);


typedef struct {
    double   min;
    double   max;
} ngx_http_vpt_double_bounds_t;



static ngx_conf_enum_t  ngx_http_vpt_pages[] = {
    { ngx_string("cart"), VPT_PAGE_CART },
    { ngx_string("confirmation"), VPT_PAGE_CONFIRMATION },
    { ngx_null_string, 0 }
};

static ngx_conf_post_handler_pt  ngx_http_vpt_slots_post =
    ngx_http_vpt_check_slots;

static ngx_conf_num_bounds_t  ngx_http_vpt_spend_sync_post = {
    ngx_conf_check_num_bounds, 10, 60000
};

static ngx_conf_num_bounds_t  ngx_http_vpt_budget_day_post = {
    ngx_conf_check_num_bounds, 10, 86400 * 366
};

static ngx_http_vpt_double_bounds_t  ngx_http_vpt_min_value_bounds =
    { 0, 1e12 };
static ngx_http_vpt_double_bounds_t  ngx_http_vpt_weight_bounds = { 0, 1e6 };
static ngx_http_vpt_double_bounds_t  ngx_http_vpt_explore_bounds = { 0, 1 };


static ngx_command_t  ngx_http_vpt_commands[] = {

    { ngx_string("vpt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, enable),
      NULL },

    { ngx_string("vpt_catalog"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_vpt_catalog,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_model"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpt_model,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_page"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, page),
      &ngx_http_vpt_pages },

    { ngx_string("vpt_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_vpt_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_redis_sentinel"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_vpt_redis_conf_sentinel,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vpt_main_conf_t, redis_topo),
      NULL },

    { ngx_string("vpt_redis_cluster"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_vpt_redis_conf_cluster,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vpt_main_conf_t, redis_topo),
      NULL },

    { ngx_string("vpt_redis_password_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_vpt_redis_conf_password_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vpt_main_conf_t, redis_topo),
      NULL },

    { ngx_string("vpt_redis_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vpt_main_conf_t, redis_topo.user),
      NULL },

    { ngx_string("vpt_redis_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vpt_main_conf_t, redis_topo.db),
      NULL },

    { ngx_string("vpt_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, redis_timeout),
      NULL },

    { ngx_string("vpt_session_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, session_key),
      NULL },

    { ngx_string("vpt_context_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, context_prefix),
      NULL },

    { ngx_string("vpt_anchor"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
                        |NGX_CONF_TAKE12,
      ngx_http_vpt_anchor,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_types"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_types_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, types_keys),
      &ngx_http_html_default_types[0] },

    { ngx_string("vpt_placement"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
                        |NGX_CONF_2MORE,
      ngx_http_vpt_placement,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_slots"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, slots),
      &ngx_http_vpt_slots_post },

    { ngx_string("vpt_min_value"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpt_set_double,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, min_value),
      &ngx_http_vpt_min_value_bounds },

    { ngx_string("vpt_long_term_weight"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpt_set_double,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, long_term_weight),
      &ngx_http_vpt_weight_bounds },

    { ngx_string("vpt_explore"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpt_set_double,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, explore),
      &ngx_http_vpt_explore_bounds },

    { ngx_string("vpt_split"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_vpt_split,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_beacon"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_vpt_beacon,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_block_advertisers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_vpt_block_advertisers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_max_third_party"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, max_third_party),
      NULL },

    { ngx_string("vpt_spend_sync"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vpt_main_conf_t, spend_sync),
      &ngx_http_vpt_spend_sync_post },

    { ngx_string("vpt_budget_day"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_vpt_main_conf_t, budget_day),
      &ngx_http_vpt_budget_day_post },

    { ngx_string("vpt_status_page"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_vpt_status_page,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_vpt_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    /* every shopper: ngx_vpt_shopper.c */

    { ngx_string("vpt_country"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, country),
      NULL },

    { ngx_string("vpt_timezone"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpt_timezone,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_referrer_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_vpt_referrer_hosts,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_consent"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, consent),
      NULL },

    { ngx_string("vpt_consent_default"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, consent_default),
      &ngx_http_vpt_consent_levels },

    { ngx_string("vpt_gpc"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpt_loc_conf_t, gpc),
      NULL },

    /* realized value: ngx_vpt_conversion.c */

    { ngx_string("vpt_conversion"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_vpt_conversion,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpt_conversion_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpt_conversion_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vpt_module_ctx = {
    ngx_http_vpt_preconfiguration,         /* preconfiguration */
    ngx_http_vpt_postconfiguration,        /* postconfiguration */

    ngx_http_vpt_create_main_conf,         /* create main configuration */
    ngx_http_vpt_init_main_conf,           /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_vpt_create_loc_conf,          /* create location configuration */
    ngx_http_vpt_merge_loc_conf            /* merge location configuration */
};


ngx_module_t  ngx_http_vpt_module = {
    NGX_MODULE_V1,
    &ngx_http_vpt_module_ctx,              /* module context */
    ngx_http_vpt_commands,                 /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_vpt_init_process,             /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_vpt_exit_process,             /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_vpt_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_vpt_add_variables(cf);
}


static ngx_int_t
ngx_http_vpt_postconfiguration(ngx_conf_t *cf)
{
    /* the context parser's tables, once, before the workers fork */
    if (vpt_context_prepare() != VPT_OK) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "vpt: the fast context parser is off (its tables "
                           "could not be built); contexts go to jansson");
    }

    if (ngx_http_vpt_init_header_filter(cf) != NGX_OK
        || ngx_http_vpt_init_body_filter(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_vpt_init_stats(cf) != NGX_OK
        || ngx_http_vpt_secret_check(cf) != NGX_OK
        || ngx_http_vpt_init_spend(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_vpt_init_request(cf);
}


static void *
ngx_http_vpt_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpt_main_conf_t));
    if (vmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     vmcf->catalog_file = { 0, NULL };
     *     vmcf->catalog = NULL;
     *     vmcf->redis = NULL;
     *     vmcf->default_anchor = NULL;
     *     vmcf->redis_topo = { 0 } but its db;
     */

    vmcf->redis_topo.db = NGX_CONF_UNSET;
    vmcf->spend_sync = NGX_CONF_UNSET_MSEC;
    vmcf->budget_day = NGX_CONF_UNSET;

    if (ngx_array_init(&vmcf->rankers, cf->pool, 4,
                       sizeof(ngx_vpt_ranker_entry_t))
        != NGX_OK)
    {
        return NULL;
    }

    return vmcf;
}


static char *
ngx_http_vpt_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_vpt_main_conf_t *vmcf = conf;

    if (ngx_vpt_redis_conf_check(cf, &vmcf->redis_topo, vmcf->redis)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (vmcf->redis_topo.master_name.len || vmcf->redis_topo.seeds) {
        /*
         * a placeholder: the addresses come from the sentinels or the
         * cluster's slot map
         */

        vmcf->redis = ngx_pcalloc(cf->pool, sizeof(ngx_vpt_redis_addr_t));
        if (vmcf->redis == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_str_set(&vmcf->redis->name, "cluster");

        if (vmcf->redis_topo.master_name.len) {
            vmcf->redis->name = vmcf->redis_topo.master_name;
        }
    }

    vmcf->default_anchor = ngx_http_vpt_default_anchor(cf);

    if (vmcf->default_anchor == NULL) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_vpt_shopper_init_main(cf, vmcf);
}


static void *
ngx_http_vpt_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_vpt_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpt_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->model_file = { 0, NULL };
     *     conf->context_prefix = { 0, NULL };
     *     conf->split_name = { 0, NULL };
     *     conf->ranker = NULL;
     *     conf->types = { NULL };
     *     conf->types_keys = NULL;
     *     conf->listed_type = NULL;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->model = NGX_CONF_UNSET_PTR;
    conf->page = NGX_CONF_UNSET_UINT;
    conf->redis_timeout = NGX_CONF_UNSET_MSEC;
    conf->session_key = NGX_CONF_UNSET_PTR;
    conf->session_index = NGX_ERROR;
    conf->anchor = NGX_CONF_UNSET_PTR;
    conf->slots = NGX_CONF_UNSET;
    conf->placements = NGX_CONF_UNSET_PTR;
    conf->min_value = -1;
    conf->long_term_weight = -1;
    conf->explore = -1;
    conf->split_permyriad = NGX_CONF_UNSET;
    conf->beacon = NGX_CONF_UNSET;
    conf->status_page = NGX_CONF_UNSET;
    conf->conversion = NGX_CONF_UNSET;
    conf->block_advertisers = NGX_CONF_UNSET_PTR;
    conf->max_third_party = NGX_CONF_UNSET;
    conf->country = NGX_CONF_UNSET_PTR;
    conf->tz = NGX_CONF_UNSET_PTR;
    conf->consent = NGX_CONF_UNSET_PTR;
    conf->consent_default = NGX_CONF_UNSET_UINT;
    conf->gpc = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_vpt_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_vpt_loc_conf_t *prev = parent;
    ngx_http_vpt_loc_conf_t *conf = child;

    ngx_http_vpt_main_conf_t          *vmcf;
    ngx_http_compile_complex_value_t   ccv;
    static ngx_str_t                   default_key =
                                           ngx_string("$cookie_vpt_sid");

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_ptr_value(conf->model, prev->model, NULL);
    ngx_conf_merge_uint_value(conf->page, prev->page,
                              VPT_PAGE_CONFIRMATION);
    ngx_conf_merge_msec_value(conf->redis_timeout, prev->redis_timeout, 5);
    ngx_conf_merge_str_value(conf->context_prefix, prev->context_prefix,
                             "vpt:ctx:");
    ngx_conf_merge_ptr_value(conf->anchor, prev->anchor,
                             vmcf->default_anchor);
    ngx_conf_merge_value(conf->slots, prev->slots, 1);

    if (ngx_http_vpt_placement_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }
    ngx_conf_merge_value(conf->beacon, prev->beacon, 0);
    ngx_conf_merge_value(conf->status_page, prev->status_page, 0);
    ngx_conf_merge_value(conf->conversion, prev->conversion, 0);
    ngx_conf_merge_str_value(conf->conversion_key, prev->conversion_key, "");

    if (conf->conversion && conf->conversion_key.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"vpt_conversion\" needs \"vpt_conversion_key\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_vpt_shopper_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_merge_types(cf, &conf->types_keys, &conf->types,
                             &prev->types_keys, &prev->types,
                             ngx_http_html_default_types)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->min_value < 0) {
        conf->min_value = prev->min_value < 0 ? 0 : prev->min_value;
    }

    if (conf->long_term_weight < 0) {
        conf->long_term_weight = prev->long_term_weight < 0
                                 ? 1 : prev->long_term_weight;
    }

    if (conf->explore < 0) {
        conf->explore = prev->explore < 0 ? 0 : prev->explore;
    }

    if (conf->split_permyriad == NGX_CONF_UNSET) {
        conf->split_name = prev->split_name;
        conf->split_permyriad = prev->split_permyriad;
        conf->split_hash = prev->split_hash;
    }

    ngx_conf_merge_ptr_value(conf->session_key, prev->session_key, NULL);

    if (ngx_http_vpt_spend_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->session_key == NULL) {
        conf->session_key = ngx_palloc(cf->pool,
                                       sizeof(ngx_http_complex_value_t));
        if (conf->session_key == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &default_key;
        ccv.complex_value = conf->session_key;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        /* share the compiled default with the locations below */
        if (prev->session_key == NGX_CONF_UNSET_PTR
            || prev->session_key == NULL)
        {
            prev->session_key = conf->session_key;
        }
    }

    conf->session_index = ngx_http_vpt_one_variable(cf, conf->session_key);

    if (!conf->enable && !conf->beacon) {
        return NGX_CONF_OK;
    }

    if (vmcf->catalog == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"vpt on\" and \"vpt_beacon\" need "
                           "\"vpt_catalog\" in the http block");
        return NGX_CONF_ERROR;
    }

    vmcf->used = 1;

    conf->ranker = ngx_http_vpt_get_ranker(cf, vmcf, conf->model);
    if (conf->ranker == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_vpt_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_main_conf_t *vmcf = conf;

    ngx_str_t  *value;

    if (vmcf->redis != NULL) {
        return "is duplicate";
    }

    vmcf->redis = ngx_pcalloc(cf->pool, sizeof(ngx_vpt_redis_addr_t));
    if (vmcf->redis == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    return ngx_vpt_redis_parse_addr(cf, &value[1], vmcf->redis);
}


/* vpt_split NAME PERCENT%; vpt_split off; is "vpt_split off 0%" */

static char *
ngx_http_vpt_split(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t *vlcf = conf;

    ngx_str_t                 *value, *name;
    ngx_int_t                  permyriad;
    ngx_http_vpt_main_conf_t  *vmcf;

    if (vlcf->split_permyriad != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);
    value = cf->args->elts;

    if (value[1].len == 0 || value[2].len < 2
        || value[2].data[value[2].len - 1] != '%')
    {
        goto invalid;
    }

    /* a percentage to two decimals is a share in 1/10000 */
    permyriad = ngx_atofp(value[2].data, value[2].len - 1, 2);

    if (permyriad == NGX_ERROR || permyriad > 10000) {
        goto invalid;
    }

    /* the name is the beacon's x=: it must pass the beacon's own check */

    if (!vpt_query_is_id((char *) value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt_split name \"%V\" must be 1 to 64 letters, "
                           "digits, \".\", \"_\", \":\" or \"-\": "
                           "the beacon's x= carries it", &value[1]);
        return NGX_CONF_ERROR;
    }

    vlcf->split_name = value[1];
    vlcf->split_permyriad = permyriad;

    /* the beacon's x= must be one of these */

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpt_module);

    if (vmcf->splits == NULL) {
        vmcf->splits = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (vmcf->splits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    name = ngx_array_push(vmcf->splits);
    if (name == NULL) {
        return NGX_CONF_ERROR;
    }

    *name = value[1];

    /* the status page counts each experiment per arm */
    if (ngx_http_vpt_add_name(cf, &vmcf->experiments, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the per-request hash goes on from here with the session key */
    vlcf->split_hash = vpt_hash_more(vpt_hash(value[1].data, value[1].len),
                                     "\n", 1);

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid split \"%V %V\", it must be "
                       "NAME PERCENT%% with PERCENT from 0 to 100",
                       &value[1], &value[2]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_vpt_set_double(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_double_bounds_t  *bounds = cmd->post;

    char       buf[64], *end;
    double     d, *field;
    ngx_str_t  *value;

    field = (double *) ((char *) conf + cmd->offset);

    if (*field >= 0) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len >= sizeof(buf)) {
        goto invalid;
    }

    ngx_memcpy(buf, value[1].data, value[1].len);
    buf[value[1].len] = '\0';

    d = strtod(buf, &end);

    if (*end != '\0' || d != d || d < bounds->min || d > bounds->max) {
        goto invalid;
    }

    *field = d;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\", it must be a number "
                       "from %.0f to %.0f", &value[1],
                       bounds->min, bounds->max);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_vpt_check_slots(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np < 1 || *np > VPT_MAX_SLOTS) {
        return "must be from 1 to 8";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vpt_init_process(ngx_cycle_t *cycle)
{
    ngx_http_vpt_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpt_module);

    if (vmcf == NULL || !vmcf->used) {
        return NGX_OK;
    }

    if (ngx_http_vpt_spend_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (vmcf->redis == NULL) {
        return NGX_OK;
    }

    ngx_vpt_redis_topology_init(&vmcf->redis_topo);

    if (vmcf->redis_topo.master_name.len || vmcf->redis_topo.seeds) {
        if (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE)
        {
            return NGX_OK;
        }

        if (vmcf->redis_topo.seeds) {
            ngx_vpt_cluster_init_worker(cycle, &vmcf->redis_topo);

        } else {
            ngx_vpt_redis_sentinel_init_worker(cycle, &vmcf->redis_topo);
        }

        return NGX_OK;
    }

    return ngx_vpt_redis_init_worker(cycle, vmcf->redis);
}


static void
ngx_http_vpt_exit_process(ngx_cycle_t *cycle)
{
    ngx_vpt_redis_sentinel_exit_worker();
    ngx_vpt_cluster_exit_worker();
    ngx_vpt_redis_exit_worker(cycle);
}


