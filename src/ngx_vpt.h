/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What the nginx glue shares between its files: configuration, the
 * per-request context and its outcome.  The pure core (vpt_*.h) knows
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
#include "vpt_reqctx.h"
#include "vpt_sign.h"
#include "vpt_tz.h"
#include "ngx_vpt_redis.h"
#include "ngx_vpt_redis_topology.h"
#include "ngx_vpt_cluster.h"
#include "ngx_vpt_store.h"


/*
 * r->buffered has four bits and nginx's filters use them all; 0x08 is the
 * image filter's, which never sees text/html, so the two never meet.
 */
#define NGX_HTTP_VPT_BUFFERED  0x08


/*
 * A request's outcome, what $vpt_status prints and the log phase counts:
 * ctx->outcome, set only by ngx_http_vpt_set_outcome().  A new one goes
 * before NGX_VPT_OUT_N, with its name in ngx_vpt_outcome_names[]
 * (ngx_vpt_outcome.c) and on the status page at once.
 */
typedef enum {
    NGX_VPT_OUT_NONE = 0,           /* not set: never printed */
    NGX_VPT_OUT_INJECTED,
    NGX_VPT_OUT_SUPPRESSED,
    NGX_VPT_OUT_CONTROL,
    NGX_VPT_OUT_NO_SESSION,
    NGX_VPT_OUT_NO_CONTEXT,
    NGX_VPT_OUT_BAD_CONTEXT,
    NGX_VPT_OUT_REDIS_TIMEOUT,
    NGX_VPT_OUT_REDIS_ERROR,
    NGX_VPT_OUT_NO_ANCHOR,
    NGX_VPT_OUT_SKIPPED,
    NGX_VPT_OUT_OFF,
    NGX_VPT_OUT_ACCEPT,             /* a beacon request, counted */
    NGX_VPT_OUT_ACCEPT_UNCOUNTED,   /* genuine, but expired or repeated */
    NGX_VPT_OUT_CONVERSION,         /* realized value (vpt_conversion) */
    NGX_VPT_OUT_BOT,                /* a bot's User-Agent: never offered */
    NGX_VPT_OUT_PREVIEW,            /* a signed QA preview, not counted */
    NGX_VPT_OUT_N
} ngx_vpt_outcome_e;

extern ngx_str_t  ngx_vpt_outcome_names[];


/*
 * What the decision step concluded, apart from what became of the page
 * (the outcome): $vpt_offer, $vpt_value and $vpt_propensity read it.
 */
typedef enum {
    NGX_VPT_UNDECIDED = 0,          /* the lookup runs */
    NGX_VPT_CHOSEN,                 /* offers to show at the anchor */
    NGX_VPT_NOTHING,                /* nothing worth showing */
    NGX_VPT_HELD_OUT,               /* control: chosen, not shown */
    NGX_VPT_FAILED                  /* no decision (no session, Redis...) */
} ngx_vpt_verdict_e;


/* on what the decision stood: $vpt_basis */
typedef enum {
    NGX_VPT_BASIS_NONE = 0,         /* no decision */
    NGX_VPT_BASIS_PERSONAL,         /* the shop's context from Redis */
    NGX_VPT_BASIS_REQUEST           /* the request context alone */
} ngx_vpt_basis_e;


/* the shopper's consent, lowest first (ngx_vpt_shopper.c) */
typedef enum {
    NGX_VPT_CONSENT_NONE = 0,
    NGX_VPT_CONSENT_FIRST_PARTY,
    NGX_VPT_CONSENT_ALL
} ngx_vpt_consent_e;


typedef enum {
    NGX_VPT_VARIANT_NONE = 0,       /* no vpt_split here */
    NGX_VPT_VARIANT_TREATMENT,
    NGX_VPT_VARIANT_CONTROL
} ngx_vpt_variant_e;


typedef struct {
    vpt_model_t              *model;     /* NULL: catalog priors */
    vpt_ranker_t             *ranker;
} ngx_vpt_ranker_entry_t;


/*
 * A place on the page for offers (ngx_vpt_placement.c): vpt_placement's,
 * or the one vpt_anchor and vpt_slots make (no name).  Its slots are
 * first .. first + slots - 1 of the page's joint decision.
 */
typedef struct {
    ngx_str_t                 name;      /* len 0: vpt_anchor's */
    vpt_anchor_t             *anchor;
    ngx_uint_t                slots;
    ngx_uint_t                first;
    ngx_uint_t                kinds;     /* VPT_KINDS_ALL bits */
} ngx_vpt_placement_t;


typedef struct {
    ngx_str_t                 catalog_file;
    vpt_catalog_t            *catalog;
    ngx_array_t               rankers;   /* ngx_vpt_ranker_entry_t */
    ngx_vpt_redis_addr_t     *redis;     /* NULL: no Redis at all */
    ngx_vpt_redis_topo_t      redis_topo;    /* auth, db, Sentinel */
    vpt_anchor_t             *default_anchor;
    ngx_flag_t                used;      /* some location has vpt on */
    ngx_flag_t                beacons;   /* some location has vpt_beacon */
    vpt_sign_keys_t          *sign_keys; /* vpt_secret; NULL: unsigned */
    ngx_array_t              *splits;    /* ngx_str_t: every vpt_split name */
    ngx_array_t              *experiments;  /* ngx_str_t: vpt_split names */
    ngx_array_t              *model_files;  /* ngx_str_t: for vpt_info */

    /* advertisers' spend (ngx_vpt_spend.c) */
    ngx_msec_t                spend_sync;      /* vpt_spend_sync */
    time_t                    budget_day;      /* vpt_budget_day */
    void                     *spend;           /* NULL: no advertisers */

    vpt_ref_hosts_t          *ref_hosts; /* built in + vpt_referrer_hosts */
    vpt_tz_t                 *server_tz; /* /etc/localtime; NULL: none */
} ngx_http_vpt_main_conf_t;


/* an extension's type is kept by its location up to this length */
#define NGX_HTTP_VPT_EXTEN_MAX  16


typedef struct {
    ngx_flag_t                enable;
    ngx_str_t                 model_file;
    vpt_model_t              *model;
    vpt_ranker_t             *ranker;
    ngx_uint_t                page;      /* vpt_page_e */
    ngx_msec_t                redis_timeout;
    ngx_http_complex_value_t *session_key;
    ngx_int_t                 session_index;   /* its one variable's, or -1 */
    ngx_str_t                 context_prefix;
    vpt_anchor_t             *anchor;
    ngx_int_t                 slots;

    /* vpt_placement's, or one from vpt_anchor and vpt_slots */
    ngx_array_t              *placements;  /* vpt_placement's, inherited */
    ngx_array_t              *places;      /* ngx_vpt_placement_t in use */
    vpt_anchor_t             *anchor_set[VPT_SPLICE_SET_MAX];
    ngx_uint_t                nslots;      /* of all placements */
    uint8_t                   slot_kinds[VPT_MAX_SLOTS];
    uint8_t                   slot_place[VPT_MAX_SLOTS];
    ngx_flag_t                named;       /* vpt_placement is used */
    double                    min_value;
    double                    long_term_weight;
    double                    explore;
    ngx_str_t                 split_name;      /* len 0: no split */
    ngx_int_t                 split_permyriad; /* control share, 1/10000 */
    uint64_t                  split_hash;      /* of "NAME\n", once */
    ngx_flag_t                beacon;
    ngx_flag_t                status_page;
    ngx_flag_t                conversion;      /* vpt_conversion */
    ngx_str_t                 conversion_key;  /* vpt_conversion_key's */
    ngx_hash_t                types;           /* vpt_types */
    ngx_array_t              *types_keys;
    ngx_str_t                *listed_type;     /* the last type judged, */
    size_t                    listed_len;      /* its bytes judged, */
    ngx_uint_t                listed;          /* and whether it is in */
    u_char                    exten[NGX_HTTP_VPT_EXTEN_MAX];
    size_t                    exten_len;       /* 0: none kept */
    ngx_str_t                *exten_type;      /* "types" for exten */

    /* advertisers (ngx_vpt_advertiser.c) */
    ngx_array_t              *block_advertisers;   /* vpt_block_advertisers */
    u_char                   *blocked;       /* per offer; NULL: none */
    ngx_int_t                 max_third_party;     /* -1: no cap */

    ngx_http_complex_value_t *country;         /* vpt_country; NULL: none */
    vpt_tz_t                 *tz;              /* vpt_timezone */
    ngx_http_complex_value_t *consent;         /* vpt_consent; NULL: none */
    ngx_uint_t                consent_default; /* ngx_vpt_consent_e */
    ngx_flag_t                gpc;             /* vpt_gpc */
} ngx_http_vpt_loc_conf_t;


typedef struct ngx_http_vpt_ctx_s  ngx_http_vpt_ctx_t;

/*
 * Where a placement's anchor was found (ngx_vpt_body_filter.c): the
 * markup goes after mark, a link of the output; the anchor's own bytes
 * (replace) wait apart, as they may be dropped.
 */
typedef struct {
    ngx_uint_t                place;
    ngx_chain_t              *mark;
    ngx_chain_t              *anchor;
} ngx_vpt_gap_t;

/* who waits for the decision, woken once it is there */
typedef void (*ngx_http_vpt_resume_pt)(ngx_http_vpt_ctx_t *ctx);

/*
 * One request's context: created, started, cancelled and cleaned up in
 * ngx_vpt_request.c only.
 */
struct ngx_http_vpt_ctx_s {
    ngx_http_request_t       *request;
    ngx_http_vpt_loc_conf_t  *conf;
    ngx_vpt_outcome_e         outcome;       /* ngx_vpt_outcome.c sets */
    ngx_vpt_verdict_e         verdict;       /* ngx_vpt_outcome.c sets */
    ngx_vpt_variant_e         variant;
    ngx_vpt_basis_e           basis;         /* ngx_vpt_decision.c sets */
    ngx_uint_t                consent;       /* ngx_vpt_consent_e */
    vpt_reqctx_t              reqctx;        /* the request context */
    vpt_preview_mode_e        preview_mode;  /* when preview is set */
    ngx_str_t                 preview_value; /* its offer or session */

    ngx_vpt_shopper_t         shopper;       /* session, context, counters */
    vpt_decision_t            decision;
    u_char                    decision_id[17];

    /* a beacon request: what was accepted; a conversion: its amount */
    ngx_vpt_store_accept_t    accept;
    double                    accept_value;
    long                      accept_offer;   /* its catalog index */

    /* accepts of beacon subrequests of this page, counted with it */
    ngx_http_vpt_ctx_t       *sub_accepts;
    ngx_http_vpt_ctx_t       *next_accept;

    /* the Redis lookup */
    ngx_vpt_store_lookup_t   *lookup;        /* NULL: none running */
    ngx_msec_int_t            redis_time;    /* -1: no lookup */
    int64_t                   redis_us;      /* the same, microseconds */
    int64_t                   redis_start;   /* us, monotonic */
    ngx_http_vpt_resume_pt    resume;        /* NULL: nobody waits */

    /* the placements shown (bit per placement), and their offers */
    ngx_uint_t                shown;
    ngx_uint_t                shown_offers;  /* bit per decision.offer[] */

    /* the body filter; buffer rules in ngx_vpt_body_filter.c */
    vpt_splice_t              splice;
    ngx_chain_t              *out;
    ngx_chain_t             **last_out;
    ngx_vpt_gap_t        gaps[VPT_SPLICE_SET_MAX];
    ngx_uint_t                ngaps;
    ngx_uint_t                filled;        /* gaps filled so far */
    ngx_chain_t              *pending_out;   /* after an anchor, waiting */
    ngx_chain_t             **last_pending;
    ngx_chain_t              *free;
    ngx_chain_t              *busy;
    ngx_chain_t              *free_copies;   /* bufs with own memory */

    unsigned                  sealed:1;      /* the outcome is final */
    unsigned                  filtering:1;   /* the body filter is on */
    unsigned                  waiting:1;     /* anchor seen, not decided */
    unsigned                  spliced:1;     /* every anchor handled */
    unsigned                  counted:1;     /* impressions written */
    unsigned                  cancelled:1;   /* lookup let go: not reused */
    unsigned                  preview:1;     /* a genuine vpt_preview= */
    unsigned                  repeat:1;      /* an order's decision again */
};


extern ngx_module_t  ngx_http_vpt_module;


/*
 * A longer session key is no session (ngx_http_vpt_session()).  Session
 * ids are 16 to 64 bytes in practice; 256 leaves room for a signed one.
 */
#define NGX_VPT_SESSION_MAX   256

/* a longer order.id has no memo: it is decided at each view */
#define NGX_VPT_ORDER_MAX     128

/* bytes of a shopper's value shown in a log line, and their escaped room */
#define NGX_VPT_LOG_SHOW      32
#define NGX_VPT_LOG_ESCAPED   (NGX_VPT_LOG_SHOW * 4 + sizeof("..."))

/* reports rate-limited apart: a flood of one kind hides no other */
typedef enum {
    NGX_VPT_LOG_REDIS = 0,
    NGX_VPT_LOG_CONTEXT,
    NGX_VPT_LOG_COUNTERS,
    NGX_VPT_LOG_SESSION,
    NGX_VPT_LOG_ACCEPT,             /* refused beacons: forged, altered */
    NGX_VPT_LOG_N
} ngx_vpt_log_kind_e;


/*
 * Who calls whom, one way only (a file calls only those listed before
 * it, never one after it):
 *
 *   shm, log, secret, store (-> redis), spend, advertiser, outcome, shopper,
 *   decision, types, request, body filter, header filter (it starts the
 *   body filter), beacon, conversion, variables, stats (-> status page)
 *
 * A request goes: request (phase handlers, lookup) -> decision -> header
 * filter -> body filter -> stats (log phase).  What waits for the lookup
 * registers ctx->resume; the request wakes it without knowing who it is.
 */

/*
 * ngx_vpt_shm.c: a shared zone of a fixed size that a reload finds again;
 * its struct begins with this head, so a struct laid out by another build
 * of the module is not read as this one's
 */
typedef struct {
    ngx_uint_t                version;
    size_t                    size;          /* of the whole struct */
} ngx_http_vpt_shm_head_t;

ngx_shm_zone_t *ngx_http_vpt_shm_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t size, ngx_shm_zone_init_pt init, void *data);
void *ngx_http_vpt_shm_struct(ngx_shm_zone_t *shm_zone, void *data,
    ngx_uint_t version, size_t size);

/* ngx_vpt_log.c: shoppers' bytes in log lines, and how often */
size_t ngx_http_vpt_log_escape(u_char *dst, u_char *src, size_t len);
ngx_uint_t ngx_http_vpt_log_allowed(ngx_vpt_log_kind_e kind,
    ngx_uint_t *skipped);

/*
 * ngx_vpt_secret.c: vpt_secret and vpt_conversion_key (secrets read from
 * files), the accept links' signatures; the same keys sign previews
 */
char *ngx_http_vpt_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_vpt_conversion_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_vpt_secret_check(ngx_conf_t *cf);
size_t ngx_http_vpt_sign_accept(ngx_http_request_t *r, ngx_str_t *decision,
    vpt_str_t *offer, ngx_str_t *experiment, u_char *out);
vpt_sign_rc_e ngx_http_vpt_verify_accept(ngx_http_request_t *r,
    ngx_vpt_store_accept_t *a, ngx_str_t *token, vpt_sign_check_t *res);

/*
 * ngx_vpt_spend.c: advertisers' spend in shared memory, synced to Redis
 * through the store from a timer, and charged; ngx_vpt_advertiser.c: the
 * gate a decision applies, the blocklist, the status page's lines
 */
ngx_int_t ngx_http_vpt_init_spend(ngx_conf_t *cf);
ngx_int_t ngx_http_vpt_spend_init_worker(ngx_cycle_t *cycle);
void ngx_http_vpt_spend_impressions(ngx_http_request_t *r,
    const vpt_decision_t *decision);
void ngx_http_vpt_spend_accept(ngx_http_request_t *r, ngx_uint_t offer);
char *ngx_http_vpt_block_advertisers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_vpt_spend_merge(ngx_conf_t *cf, ngx_http_vpt_loc_conf_t *prev,
    ngx_http_vpt_loc_conf_t *conf);
ngx_int_t ngx_http_vpt_spend_gate(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf, const uint32_t *impressions,
    vpt_decide_params_t *params);
ngx_int_t ngx_http_vpt_spend_status(ngx_http_request_t *r, ngx_str_t *text);

/* ngx_vpt_outcome.c: the one writer of ctx->outcome and ctx->verdict */
void ngx_http_vpt_set_outcome(ngx_http_vpt_ctx_t *ctx,
    ngx_vpt_outcome_e outcome, ngx_uint_t final);
void ngx_http_vpt_decided(ngx_http_vpt_ctx_t *ctx,
    ngx_vpt_outcome_e outcome);

/*
 * ngx_vpt_shopper.c: the request context, consent and preview, computed
 * once when the context is created; their directives
 */
extern ngx_conf_enum_t  ngx_http_vpt_consent_levels[];
char *ngx_http_vpt_timezone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_vpt_referrer_hosts(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_vpt_shopper_init_main(ngx_conf_t *cf,
    ngx_http_vpt_main_conf_t *vmcf);
char *ngx_http_vpt_shopper_merge(ngx_conf_t *cf,
    ngx_http_vpt_loc_conf_t *prev, ngx_http_vpt_loc_conf_t *conf);
ngx_int_t ngx_http_vpt_one_variable(ngx_conf_t *cf,
    ngx_http_complex_value_t *cv);
ngx_uint_t ngx_http_vpt_consent(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf);
void ngx_http_vpt_shopper_start(ngx_http_vpt_ctx_t *ctx);

/* ngx_vpt_decision.c: the ranker's choice, its markup */
void ngx_http_vpt_decide(ngx_http_vpt_ctx_t *ctx);
ngx_int_t ngx_http_vpt_inject(ngx_http_vpt_ctx_t *ctx, ngx_uint_t place,
    ngx_str_t *markup);
void ngx_http_vpt_count_shown(ngx_http_vpt_ctx_t *ctx);

/* ngx_vpt_placement.c: vpt_placement, and the page's placements */
char *ngx_http_vpt_placement(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_vpt_placement_merge(ngx_conf_t *cf,
    ngx_http_vpt_loc_conf_t *prev, ngx_http_vpt_loc_conf_t *conf);

/* ngx_vpt_request.c: the context's life cycle */
ngx_int_t ngx_http_vpt_init_request(ngx_conf_t *cf);
ngx_int_t ngx_http_vpt_session(ngx_http_request_t *r,
    ngx_http_vpt_loc_conf_t *vlcf, ngx_str_t *session);
ngx_http_vpt_ctx_t *ngx_http_vpt_new_ctx(ngx_http_request_t *r,
    ngx_vpt_outcome_e outcome);
ngx_http_vpt_ctx_t *ngx_http_vpt_get_ctx(ngx_http_request_t *r);
void ngx_http_vpt_cancel(ngx_http_vpt_ctx_t *ctx);

/* ngx_vpt_types.c: vpt_types, for a request, a static file, a response */
ngx_int_t ngx_http_vpt_may_be_page(ngx_http_request_t *r);
ngx_int_t ngx_http_vpt_static_wanted(ngx_http_request_t *r);
ngx_int_t ngx_http_vpt_response_listed(ngx_http_request_t *r);

/* ngx_vpt_body_filter.c, ngx_vpt_header_filter.c */
ngx_int_t ngx_http_vpt_init_body_filter(ngx_conf_t *cf);
ngx_int_t ngx_http_vpt_body_start(ngx_http_request_t *r,
    ngx_http_vpt_ctx_t *ctx);
ngx_int_t ngx_http_vpt_init_header_filter(ngx_conf_t *cf);

/* ngx_vpt_variables.c; ngx_vpt_log_json.c: $vpt_log_json */
ngx_int_t ngx_http_vpt_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_vpt_add_log_json(ngx_conf_t *cf);

/* ngx_vpt_beacon.c: the "vpt_beacon" directive and its handler */
char *ngx_http_vpt_beacon(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* ngx_vpt_conversion.c: the "vpt_conversion" directive and its handler */
char *ngx_http_vpt_conversion(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * ngx_vpt_stats.c: the shared counters and the log-phase handler that
 * fills them (from postconfiguration); ngx_vpt_status_page.c: the
 * "vpt_status_page" directive and the page that shows them
 */
ngx_int_t ngx_http_vpt_init_stats(ngx_conf_t *cf);
char *ngx_http_vpt_status_page(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_vpt_load.c: what the configuration loads, freed with the cycle */
char *ngx_http_vpt_catalog(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_vpt_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_vpt_anchor(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
vpt_anchor_t *ngx_http_vpt_default_anchor(ngx_conf_t *cf);
vpt_ranker_t *ngx_http_vpt_get_ranker(ngx_conf_t *cf,
    ngx_http_vpt_main_conf_t *vmcf, vpt_model_t *model);
ngx_int_t ngx_http_vpt_add_name(ngx_conf_t *cf, ngx_array_t **list,
    ngx_str_t *name);


#endif /* NGX_VPT_H */
