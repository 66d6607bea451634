/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What the nginx glue shares between its files: configuration, the
 * per-request context and the statuses.  The pure core (vpt_*.h) knows
 * nothing of this.
 */

#ifndef NGX_VPT_H
#define NGX_VPT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "vpt_core.h"
#include "vpt_splice.h"
#include "vpt_catalog.h"
#include "vpt_context.h"
#include "vpt_model.h"
#include "vpt_rank.h"
#include "vpt_render.h"
#include "ngx_vpt_redis.h"


/*
 * r->buffered has four bits and nginx's filters use them all; 0x08 is the
 * image filter's, which never sees text/html, so the two never meet.
 */
#define NGX_HTTP_VPT_BUFFERED  0x08


typedef enum {
    NGX_VPT_ST_NONE = 0,            /* not decided yet */
    NGX_VPT_ST_INJECTED,
    NGX_VPT_ST_SUPPRESSED,
    NGX_VPT_ST_CONTROL,
    NGX_VPT_ST_NO_SESSION,
    NGX_VPT_ST_NO_CONTEXT,
    NGX_VPT_ST_BAD_CONTEXT,
    NGX_VPT_ST_REDIS_TIMEOUT,
    NGX_VPT_ST_REDIS_ERROR,
    NGX_VPT_ST_NO_ANCHOR,
    NGX_VPT_ST_SKIPPED,
    NGX_VPT_ST_OFF,
    NGX_VPT_ST_ACCEPT,              /* a beacon request */
    NGX_VPT_ST_N
} ngx_vpt_status_e;

extern ngx_str_t  ngx_vpt_status_names[];


typedef enum {
    NGX_VPT_VARIANT_NONE = 0,       /* no vpt_split here */
    NGX_VPT_VARIANT_TREATMENT,
    NGX_VPT_VARIANT_CONTROL
} ngx_vpt_variant_e;


typedef struct {
    vpt_model_t              *model;     /* NULL: catalog priors */
    vpt_ranker_t             *ranker;
} ngx_vpt_ranker_entry_t;


typedef struct {
    ngx_str_t                 catalog_file;
    vpt_catalog_t            *catalog;
    ngx_array_t               rankers;   /* ngx_vpt_ranker_entry_t */
    ngx_vpt_redis_addr_t     *redis;     /* NULL: no vpt_redis */
    vpt_anchor_t             *default_anchor;
    ngx_flag_t                used;      /* some location has vpt on */
} ngx_http_vpt_main_conf_t;


typedef struct {
    ngx_flag_t                enable;
    ngx_str_t                 model_file;
    vpt_model_t              *model;
    vpt_ranker_t             *ranker;
    ngx_uint_t                page;      /* vpt_page_e */
    ngx_msec_t                redis_timeout;
    ngx_http_complex_value_t *session_key;
    ngx_str_t                 context_prefix;
    vpt_anchor_t             *anchor;
    ngx_int_t                 slots;
    double                    min_value;
    double                    long_term_weight;
    double                    explore;
    ngx_str_t                 split_name;      /* len 0: no split */
    ngx_int_t                 split_permyriad; /* control share, 1/10000 */
    uint64_t                  split_hash;      /* of "NAME\n", once */
    ngx_flag_t                beacon;
    ngx_flag_t                status_page;
} ngx_http_vpt_loc_conf_t;


typedef struct ngx_http_vpt_ctx_s  ngx_http_vpt_ctx_t;

struct ngx_http_vpt_ctx_s {
    ngx_http_request_t       *request;
    ngx_http_vpt_loc_conf_t  *conf;
    ngx_vpt_status_e          status;        /* of the context and choice */
    ngx_vpt_status_e          final;         /* what $vpt_status says */
    ngx_vpt_variant_e         variant;

    ngx_str_t                 session;
    ngx_str_t                 context_json;  /* raw, for $vpt_context */
    vpt_context_t            *shopper;
    uint32_t                 *impressions;   /* per offer, or NULL */
    uint8_t                  *accepted;
    vpt_decision_t            decision;
    u_char                    decision_id[17];
    ngx_str_t                 markup;        /* rendered offers */

    /* a beacon request: what was accepted */
    ngx_str_t                 accept_decision;
    ngx_str_t                 accept_offer;
    ngx_str_t                 accept_experiment;
    double                    accept_value;

    /* the Redis lookup */
    ngx_vpt_redis_call_t     *calls[2];      /* context, caps */
    ngx_uint_t                pending;       /* replies outstanding */
    ngx_event_t               timer;
    ngx_str_t                 counters_key;  /* "<prefix><session>:vpt" */
    ngx_msec_t                redis_start;
    ngx_msec_int_t            redis_time;    /* -1: no lookup */

    /* the body filter; buffer rules in ngx_vpt_filter.c */
    vpt_splice_t              splice;
    ngx_chain_t              *out;
    ngx_chain_t             **last_out;
    ngx_chain_t              *held_anchor;   /* anchor bytes, while waiting */
    ngx_chain_t              *pending_out;   /* after the anchor, waiting */
    ngx_chain_t             **last_pending;
    ngx_chain_t              *free;
    ngx_chain_t              *busy;
    ngx_chain_t              *free_copies;   /* bufs with own memory */

    unsigned                  decided:1;     /* status is final */
    unsigned                  filtering:1;   /* the body filter is on */
    unsigned                  waiting:1;     /* anchor seen, not decided */
    unsigned                  parked:1;      /* phases wait for the lookup */
    unsigned                  spliced:1;     /* anchor handled */
    unsigned                  timed_out:1;
    unsigned                  counters_known:1;  /* the hash exists */
    unsigned                  cancelled:1;   /* lookup let go: not reused */
};


extern ngx_module_t  ngx_http_vpt_module;


/*
 * A longer session key is no session (ngx_http_vpt_session()).  Session
 * ids are 16 to 64 bytes in practice; 256 leaves room for a signed one.
 */
#define NGX_VPT_SESSION_MAX   256

/*
 * The per-shopper counters live at "<prefix><session>" NGX_VPT_COUNTERS;
 * a session key ending so would name another shopper's counters as its
 * context, and is no session.
 */
#define NGX_VPT_COUNTERS      ":vpt"

/* bytes of a shopper's value shown in a log line, and their escaped room */
#define NGX_VPT_LOG_SHOW      32
#define NGX_VPT_LOG_ESCAPED   (NGX_VPT_LOG_SHOW * 4 + sizeof("..."))


/* ngx_vpt_request.c */
ngx_int_t ngx_http_vpt_init_request(ngx_conf_t *cf);
ngx_int_t ngx_http_vpt_session(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf, ngx_str_t *session);
size_t ngx_http_vpt_log_escape(u_char *dst, u_char *src, size_t len);
ngx_http_vpt_ctx_t *ngx_http_vpt_get_ctx(ngx_http_request_t *r);
void ngx_http_vpt_cancel(ngx_http_vpt_ctx_t *ctx);
ngx_int_t ngx_http_vpt_render(ngx_http_vpt_ctx_t *ctx);

/* ngx_vpt_filter.c */
ngx_int_t ngx_http_vpt_init_filter(ngx_conf_t *cf);
void ngx_http_vpt_resume(ngx_http_vpt_ctx_t *ctx);
ngx_int_t ngx_http_vpt_type_is_html(ngx_str_t *type);

/* ngx_vpt_variables.c */
ngx_int_t ngx_http_vpt_add_variables(ngx_conf_t *cf);

/* ngx_vpt_beacon.c: the "vpt_beacon" directive and its handler */
char *ngx_http_vpt_beacon(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/*
 * ngx_vpt_status.c: the "vpt_status_page" directive, the shared counters
 * and the log-phase handler that fills them (from postconfiguration)
 */
char *ngx_http_vpt_status_page(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_vpt_init_status(ngx_conf_t *cf);


#endif /* NGX_VPT_H */
