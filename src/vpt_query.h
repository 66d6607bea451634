/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The accept beacon's query string,
 * "d=DECISION&o=OFFER[&x=EXPERIMENT][&s=SIGNATURE]",
 * parsed and validated with explicit lengths (the nginx glue passes
 * r->args).  The rules, chosen so that no two readers of the same URL
 * that split it on '&' (nginx's $arg_*, a framework, a WAF, a log
 * pipeline that decodes once more) can disagree on what an accepted
 * beacon said (a reader that also splits on ';', as old CGI code did, may
 * see a d, o or x inside another parameter's value):
 *
 *   - Parameters are separated by '&'; empty ones ("&&&", a leading or
 *     trailing '&') are skipped.  A parameter's name ends at its first '='.
 *   - Our names are d, o, x and s, in either case (as $arg_d sees them).
 *     Other parameters, "=value" with no name among them, are ignored.
 *   - Refused (VPT_ERROR): one of ours twice ("d=..&D=.."), one of ours
 *     without '=', and a name that percent-decodes, once or more, to one
 *     of ours without being spelled so ("%64=", "%2564=").
 *   - Values are percent-decoded exactly once, then validated; '%' must be
 *     followed by two hex digits (either case), so "%", "%4" and "%zz" are
 *     refused; '+' stays '+'.  No decoded value may contain '%' (nor '+',
 *     '&', '=', ';', NUL, ...): a double encoding such as "%25%32%35"
 *     decodes to "%25" and is refused, so decoding an accepted value again
 *     changes nothing.
 *   - d is 16 lowercase hex digits, o and x 1..64 bytes of [A-Za-z0-9._:-]
 *     (the catalog's id grammar), s too (a signed link's token,
 *     vpt_sign.h, is of that grammar).  d and o are required, x and s
 *     are optional.
 *
 * Parsing is one pass over the query, allocates nothing and reads no byte
 * outside it, whatever its length.
 */

#ifndef VPT_QUERY_H
#define VPT_QUERY_H

#include "vpt_core.h"


#define VPT_QUERY_DECISION_LEN  16
#define VPT_QUERY_ID_MAX        64
#define VPT_QUERY_WHYLEN        96

#define VPT_QUERY_BAD_ESCAPE    -2
#define VPT_QUERY_TOO_LONG      -3


typedef enum {
    VPT_QUERY_D = 0,
    VPT_QUERY_O,
    VPT_QUERY_X,
    VPT_QUERY_S,                            /* the signature, vpt_sign.h */
    VPT_QUERY_NARGS
} vpt_query_arg_e;


typedef struct {
    vpt_str_t   raw;                        /* as in the query; data NULL:
                                               absent */
    size_t      len;                        /* decoded */
    char        data[VPT_QUERY_ID_MAX];     /* decoded, not NUL-terminated */
} vpt_query_arg_t;


typedef struct {
    vpt_query_arg_t  arg[VPT_QUERY_NARGS];
    char             why[VPT_QUERY_WHYLEN];  /* on VPT_ERROR */
} vpt_query_beacon_t;


/*
 * VPT_OK: arg[VPT_QUERY_D] and arg[VPT_QUERY_O] hold valid ids, and
 * arg[VPT_QUERY_X] and arg[VPT_QUERY_S] one too or len 0 when absent.  VPT_ERROR: why says
 * what is wrong (quoting no byte of the query).  The struct holds its
 * strings: it may be copied.
 */
int vpt_query_beacon(vpt_query_beacon_t *q, const char *query, size_t len);

/*
 * Percent-decodes src into dst (which may be src: decoding never grows).
 * Returns VPT_OK and sets *n, VPT_QUERY_BAD_ESCAPE for a '%' not followed
 * by two hex digits, or VPT_QUERY_TOO_LONG when the result exceeds size.
 */
int vpt_query_unescape(char *dst, size_t size, const char *src, size_t len,
    size_t *n);

/*
 * A realized value, "d=DECISION&v=AMOUNT[&c=CURRENCY]" (vpt_conversion's
 * form or query): names exactly so, each once; no percent-encoding (no
 * value of ours needs it); d as above, v a decimal amount (digits, an
 * optional '.' and 1 to 6 more), at most VPT_QUERY_AMOUNT_MAX, c three
 * uppercase letters (ISO 4217).  Other parameters are ignored.
 */
#define VPT_QUERY_AMOUNT_MAX  1e9

typedef struct {
    char        decision[VPT_QUERY_DECISION_LEN];
    size_t      decision_len;
    double      value;
    char        currency[3];
    size_t      currency_len;               /* 0: absent */
    char        why[VPT_QUERY_WHYLEN];      /* on VPT_ERROR */
} vpt_query_conversion_t;

int vpt_query_conversion(vpt_query_conversion_t *c, const char *query,
    size_t len);

int vpt_query_is_decision(const char *s, size_t len);
int vpt_query_is_id(const char *s, size_t len);


#endif /* VPT_QUERY_H */
