/*
 * Copyright (C) ngx_vpt_module authors
 *
 * What the offline tools share: the command line (options from a table,
 * usage, the catalog and model loaded), a streaming line reader (plain or
 * gzip, "-" for stdin, re-readable for multi-pass tools), a scanner for
 * the top level of one JSON object per line, string maps, an arena, the
 * held-out split, statistics and JSON output helpers.
 *
 * The Makefile links every tool with all of tools/lib/vpt_tools*.c: one file
 * a concern, named at the top of vpt_tools.c.
 */

#ifndef VPT_TOOLS_H
#define VPT_TOOLS_H

#include <stdio.h>
#include <stdint.h>
#include <stddef.h>
#include <zlib.h>

#include "vpt_core.h"
#include "vpt_catalog.h"
#include "vpt_context.h"
#include "vpt_features.h"
#include "vpt_model.h"
#include "vpt_rank.h"
#include "vpt_propensity.h"
#include "vpt_advertiser.h"
#include "vpt_pacing.h"
#include "vpt_render.h"
#include "vpt_version.h"


#define VPT_Z95         1.959963984540054   /* two-sided 95% normal */
#define VPT_LINE_MAX    (16 * 1024 * 1024)  /* longer lines are bad */
#define VPT_BAD_KEEP    10                  /* bad line numbers shown */


/*
 * The line reader.  A line is returned without its "\n" (and "\r"), NUL-
 * terminated in place, valid until the next call.  With spool set, "-"
 * is copied to an unlinked temporary file while it is read, so
 * vpt_in_rewind() can read it again: memory stays constant, disk grows
 * with the input.
 */
typedef struct {
    const char     *path;
    gzFile          gz;
    FILE           *spool;
    unsigned        spooling:1;
    unsigned        eof:1;
    unsigned        toolong:1;      /* the last line was cut: a bad line */
    unsigned        warned:1;
    char           *buf;
    size_t          size;
    size_t          start;
    size_t          end;
    unsigned long   lineno;
    uint64_t        bytes;          /* uncompressed bytes returned */
} vpt_in_t;

int vpt_in_open(vpt_in_t *in, const char *path, int spool);
int vpt_in_line(vpt_in_t *in, char **line, size_t *len);  /* 1, 0: EOF */
int vpt_in_rewind(vpt_in_t *in);
void vpt_in_close(vpt_in_t *in);

/*
 * The lines of the logs named on the command line, one file after the
 * other, empty lines left out (a line cut for its length comes as an empty
 * one with in.toolong set).  A file that cannot be opened or read ends the
 * tool (exit 1).
 */
typedef struct {
    vpt_in_t        in;             /* the file being read */
    char          **paths;
    int             npaths;
    int             next;           /* of paths, the next to open */
    unsigned        reading:1;
} vpt_logs_t;

void vpt_logs_init(vpt_logs_t *l, char **paths, int npaths);
int vpt_logs_line(vpt_logs_t *l, char **line, size_t *len);  /* 1, 0: end */


/*
 * The top level of a JSON object, member by member, without building a
 * tree.  A string value is given raw (between its quotes, still escaped);
 * an object or array value is given as its full text (brackets included)
 * after checking its brackets and strings balance.  Deeper syntax is left
 * to whoever parses that text (vpt_context_parse(), for the context).
 */
typedef enum {
    VPT_J_STR = 0,
    VPT_J_NUM,
    VPT_J_TRUE,
    VPT_J_FALSE,
    VPT_J_NULL,
    VPT_J_OBJ,
    VPT_J_ARR
} vpt_jtype_e;

typedef struct {
    vpt_jtype_e     type;
    const char     *p;
    size_t          len;
} vpt_jval_t;

typedef struct {
    const char     *p;
    const char     *end;
    unsigned        first:1;
} vpt_jiter_t;

int vpt_jobj_begin(vpt_jiter_t *it, const char *s, size_t len);
int vpt_jobj_next(vpt_jiter_t *it, vpt_jval_t *key, vpt_jval_t *val);
                                            /* 1, 0: end, -1: bad */
/* the key alone; it->p is left at the value, for the caller to parse */
int vpt_jobj_key(vpt_jiter_t *it, vpt_jval_t *key);
#define vpt_jkey_is(k, lit)                                                 \
    ((k)->len == sizeof(lit) - 1 && memcmp((k)->p, lit, sizeof(lit) - 1) == 0)

/* unescapes a raw string into out (len bytes suffice); -1 if bad */
long vpt_junescape(const char *p, size_t len, char *out);

/*
 * The text of a string (or number) value, null as empty: the raw bytes
 * when there is no escape, else unescaped at *pos, which advances (callers
 * give it as many bytes as the line has).
 */
int vpt_jtext(const vpt_jval_t *v, char **pos, const char **p, size_t *len);

/* an object's text, or that text in a string (older logs); null: empty */
int vpt_jjson(const vpt_jval_t *v, char **pos, const char **p, size_t *len);

/* the next raw string of a JSON array of strings; 1, 0: end, -1: bad */
int vpt_jarr_next_str(const char **p, const char *end, vpt_jval_t *s);

/* a number from text (a JSON number, or a string holding one) */
int vpt_parse_num(const char *p, size_t len, double *out);


/* growing memory for strings that live as long as the tool */
typedef struct vpt_arena_s  vpt_arena_t;

vpt_arena_t *vpt_arena_create(void);
void *vpt_arena_alloc(vpt_arena_t *a, size_t n);
char *vpt_arena_strdup(vpt_arena_t *a, const char *p, size_t len);


/* string -> dense id (0, 1, ...), keys copied into the map's arena */
typedef struct {
    uint64_t       *hash;
    uint32_t       *id;            /* UINT32_MAX: empty slot */
    size_t          cap;
    size_t          n;
    char          **key;           /* by id */
    size_t         *keylen;
    size_t          keycap;
    vpt_arena_t    *arena;
} vpt_smap_t;

void vpt_smap_init(vpt_smap_t *m);
long vpt_smap_find(vpt_smap_t *m, const char *p, size_t len);  /* or -1 */
long vpt_smap_add(vpt_smap_t *m, const char *p, size_t len); /* or found */

/* 64-bit key -> dense id */
typedef struct {
    uint64_t       *key;
    uint32_t       *id;
    size_t          cap;
    size_t          n;
} vpt_umap_t;

void vpt_umap_init(vpt_umap_t *m);
long vpt_umap_find(const vpt_umap_t *m, uint64_t key);
long vpt_umap_add(vpt_umap_t *m, uint64_t key, int *added);


/* bad lines: counted, the first VPT_BAD_KEEP kept as "file:line: why" */
typedef struct {
    uint64_t        count;
    char            first[VPT_BAD_KEEP][160];
} vpt_bad_t;

void vpt_bad_add(vpt_bad_t *b, const vpt_in_t *in, const char *why);
void vpt_bad_print(const vpt_bad_t *b, FILE *f);
void vpt_bad_json(const vpt_bad_t *b, FILE *f);


/* the held-out split: a pure function of the decision id */
int vpt_heldout(const char *id, size_t len, double fraction);

/* hour of an ISO 8601 time "YYYY-MM-DDTHH...", or -1 */
int vpt_time_hour(const char *p, size_t len);


/*
 * One line of the decision log (the interface's format), parsed for
 * vpt-train and vpt-eval.  The context goes through vpt_context_parse(),
 * the parser nginx runs on the text from Redis.
 */
typedef struct {
    const char      *decision;         /* into the line or the scratch */
    size_t           decision_len;
    int              hour;             /* of "time"; -1: none */
    vpt_page_e       page;             /* "confirmation" when absent */
    long             shown;            /* catalog index; -1: null */
    unsigned         unknown_offer:1;  /* shown is not in the catalog */
    unsigned         has_propensity:1; /* a number was given */
    unsigned         propensity_absent:1;
    double           propensity;
    int              accepted;
    double           value;
    unsigned         has_realized:1;   /* "realized_value" is a number */
    double           realized;         /* what the accept turned into */
    vpt_context_t    ctx;
} vpt_row_t;

typedef struct {
    char            *data;
    size_t           size;
} vpt_buf_t;

/* VPT_OK, or VPT_ERROR and why (a malformed line) */
int vpt_row_parse(vpt_row_t *row, const vpt_catalog_t *c, const char *line,
    size_t len, vpt_buf_t *scratch, const char **why);

/*
 * The next row of the logs that parses: 1, 0 at their end.  The other
 * lines go to bad, with why they were left out.
 */
int vpt_logs_row(vpt_logs_t *l, vpt_row_t *row, const vpt_catalog_t *c,
    vpt_buf_t *scratch, vpt_bad_t *bad);

/* does nothing now (see vpt_tools_log.c); vpt-train.c still calls it */
void vpt_jansson_arena(void);

/* the features the ranker scores for (context, offer): shopper's, offer's */
size_t vpt_row_features(const vpt_context_t *ctx, vpt_page_e page, int hour,
    const vpt_offer_t *o, vpt_feat_t *out, size_t max);

/*
 * The offers a ranker may show for one context: eligible, with EV >= min
 * value; the best (as vpt_decide() picks it: highest EV, then lowest
 * catalog index) first.  idx and p hold catalog-size arrays; returns how
 * many.  vpt_decide() without exploration gives them when there are fewer
 * than VPT_MAX_SLOTS; else every offer is checked.
 * The policy with exploration e shows idx[0] with 1 - e + e/m, each other
 * with e/m, and nothing (probability 1) when m is 0.
 */
size_t vpt_policy_offers(const vpt_ranker_t *r, const vpt_catalog_t *c,
    const vpt_context_t *ctx, vpt_page_e page, int hour, double ltw,
    double minv, void *scratch, uint32_t *idx, double *p);

/*
 * Pacing (vpt_tools_pacing.c).  pass is per offer (1: the shop's own and
 * unpaced advertisers'), from adv_pass, set by "--pass ID=P"; set says
 * some --pass was given.
 */
typedef struct {
    size_t             n;
    double            *adv_pass;
    uint8_t           *adv_set;         /* by --pass */
    double            *pass;
    int                set;
    void              *rscratch;
    void              *pscratch;
    vpt_prop_offer_t  *o;
} vpt_paced_t;

void vpt_paced_init(vpt_paced_t *w, const vpt_ranker_t *r,
    const vpt_catalog_t *c);

/* "ID=P": advertiser ID takes part with P; dies (status 2) on a bad one */
void vpt_paced_arg(vpt_paced_t *w, const vpt_catalog_t *c, const char *tool,
    const char *arg);

/*
 * A one-slot policy (min value, explore) when each offer takes part with
 * pass[offer] (0: kept out; the offers of one advertiser by one draw):
 * the m qualifying offers that can take part in idx (catalog order), their
 * p(accept) in p, and in prob the chance each is shown, over the draws and
 * exploration (as vpt_decide() logs it); *nothing, the chance of nothing.
 */
size_t vpt_policy_paced(vpt_paced_t *w, const vpt_ranker_t *r,
    const vpt_catalog_t *c, const vpt_context_t *ctx, vpt_page_e page,
    int hour, double ltw, double minv, double explore, const double *pass,
    uint32_t *idx, double *p, double *prob, double *nothing);

/*
 * A simulated shop's advertisers (vpt_tools_market.c): each page's gate
 * at t simulated seconds from start (Unix seconds, for flight dates),
 * with pacing updated once a simulated minute from each day's spend, or
 * fixed where fixed->adv_set (a stationary policy: no budget
 * closes it); gate and pass as vpt_adv_gate() gives
 * them, pe what can take part (0: kept out whatever the draws).
 */
typedef struct {
    const vpt_catalog_t  *c;
    const vpt_paced_t    *fixed;
    int64_t               start;
    int                   day;
    double                next_sync;
    uint64_t              pages;
    vpt_adv_state_t      *st;
    vpt_pacing_t         *pc;
    uint8_t              *gate;
    double               *pass;
    double               *pe;
    uint64_t             *imps;
    uint64_t             *accs;
    vpt_money_t          *spend;
    double               *pass_sum;
} vpt_market_t;

void vpt_market_init(vpt_market_t *mk, const vpt_catalog_t *c,
    const vpt_paced_t *fixed, int64_t start);
void vpt_market_gate(vpt_market_t *mk, double t, uint64_t seed);
void vpt_market_charge(vpt_market_t *mk, uint32_t offer, int accepted);
void vpt_market_report(const vpt_market_t *mk, FILE *f);

/* vpt-simulate's shoppers (vpt_tools_shoppers.c) */
#define VPT_SIM_CTX_MAX        8192

typedef struct {
    char         text[VPT_SIM_CTX_MAX];
    size_t       len;
    vpt_page_e   page;
    int          hour;             /* the server's */
    int          day;
    int          minute;
    int          second;
} vpt_shopper_sim_t;

/* at: the second of the day, or -1 to draw the hour (and the minute) */
void vpt_shopper_gen(uint64_t *rng, vpt_shopper_sim_t *s, long at);

/* pages in time order: row r of rows over six days, its second of day */
long vpt_shopper_time(uint64_t r, uint64_t rows);

/* a standard normal draw */
double vpt_gauss(uint64_t *rng);

/*
 * Writes a "vpt-fm" model file: rows of k + 1 floats, names[i] the text of
 * row i; all-zero rows are left out; meta is the text of a JSON object.
 * Written to PATH.tmp and renamed, so a reader never sees half a model.
 */
int vpt_model_write(const char *path, unsigned k, double bias, size_t n,
    char *const *names, const float *params, const char *meta);
void vpt_model_dump(FILE *f, unsigned k, double bias, size_t n,
    char *const *names, const float *params, const char *meta);


/* statistics */
void vpt_wilson(double k, double n, double *lo, double *hi);

/* the area under the ROC curve from score histograms (vpt_tools_stats.c) */
#define VPT_AUC_BINS  10000

typedef struct {
    double          pos[VPT_AUC_BINS];
    double          neg[VPT_AUC_BINS];
    double          logloss;
    double          n;
} vpt_auc_t;

void vpt_auc_add(vpt_auc_t *a, double p, int label, double weight);
double vpt_auc(const vpt_auc_t *a);
double vpt_auc_logloss(const vpt_auc_t *a);


/* output */
void vpt_json_str(FILE *f, const char *p, size_t len);
void vpt_json_num(FILE *f, double x);    /* null when not finite */

void *vpt_xalloc(size_t n);              /* zeroed; exits when out */
void *vpt_xrealloc(void *p, size_t n);
void vpt_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));


/*
 * The command line.  vpt_tool_init() comes first: the tool's name starts
 * the messages of the helpers below, and its usage is what --help prints
 * (to stdout, exit 0) and what a bad option gets (to stderr, exit 2).
 * --version prints "NAME VPT_VERSION" (to stdout, exit 0).
 */
extern const char  *vpt_tool;

void vpt_tool_init(const char *name, const char *usage);
void vpt_usage(int code) __attribute__((noreturn));

/* a number in [lo, hi], or the tool ends: "--OPT: expected a number ..." */
double vpt_num_arg(const char *opt, const char *s, double lo, double hi);

typedef enum {
    VPT_OPT_FLAG = 0,               /* int *: 1 when given */
    VPT_OPT_STR,                    /* const char **: the argument */
    VPT_OPT_NUM,                    /* double *: a number in [min, max] */
    VPT_OPT_UINT,                   /* unsigned *: the same, truncated */
    VPT_OPT_U64,                    /* uint64_t *: the same, truncated */
    VPT_OPT_OWN                     /* the caller's: vpt_opt_next() says */
} vpt_opt_type_e;

typedef struct {
    const char     *name;           /* --name; a NULL name ends the table */
    vpt_opt_type_e  type;
    void           *to;
    double          min;
    double          max;
} vpt_opt_t;

/*
 * Reads the options (getopt_long(), with --help, -h and --version
 * added): stores each into its variable, and returns the next VPT_OPT_OWN
 * one, its argument in optarg, or NULL when the options end (operands from
 * optind).  Without VPT_OPT_OWN options, one call reads them all.
 */
const vpt_opt_t *vpt_opt_next(int argc, char **argv, const vpt_opt_t *opts);

/*
 * vpt_tools_html.c: vpt-report's JSON (json, len) as one self-contained
 * HTML page, naming the logs it came from
 */
int vpt_html_report(FILE *f, const char *json, size_t len, char **logs,
    int nlogs);

/* loaded, or the tool ends with the loader's message (exit 2) */
vpt_catalog_t *vpt_xcatalog_load(const char *path);
vpt_model_t *vpt_xmodel_load(const char *path);         /* NULL: none */
vpt_ranker_t *vpt_xranker_create(const vpt_catalog_t *c,
    const vpt_model_t *m);


#endif /* VPT_TOOLS_H */
