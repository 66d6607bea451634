/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Signed accept links and QA preview tokens: an HMAC-SHA256 (OpenSSL
 * libcrypto) under secrets read from files, so a link or a preview can
 * only come from us, and an altered one is refused.
 *
 * Secrets.  A set of up to VPT_SIGN_KEYS_MAX secrets, loaded in order
 * (vpt_secret FILE [FILE ...];): the first signs, every one verifies, so
 * a new secret is rolled out as "vpt_secret new old;" and the old one
 * removed once the links it signed have expired.  A secret is a file's
 * bytes, one trailing "\n" or "\r\n" removed, at least
 * VPT_SIGN_SECRET_MIN bytes (make one: head -c 48 /dev/urandom | base64).
 *
 * The accept token, the value of the link's "s" argument beside d, o and
 * x (the glue's choice of name; "e" is not needed, the expiry is in the
 * token):
 *
 *     EXPIRES "." MAC          e.g. 1767225600.q5Vt0bE6M2kq3a8UHVx_0A
 *
 * EXPIRES: unix seconds in decimal, 1..11 digits, no leading zero; MAC:
 * the first 128 bits of HMAC-SHA256(secret, message) in base64url without
 * padding (22 characters, the last one's two unused bits zero, so each
 * MAC has exactly one spelling).  The message binds a domain prefix, the
 * decision id, the offer id, the experiment (empty when none) and the
 * expiry, each field length-prefixed, so no two inputs share a message:
 *
 *     "vpt-accept-v1" NUL  len(d) d  len(o) o  len(x) x  expires (8 bytes,
 *                                                         big-endian)
 *
 * The token's bytes are [0-9A-Za-z._-]: the beacon's id grammar
 * (vpt_query.h), safe in a query string unescaped.
 *
 * The preview token, the value of "vpt_preview=":
 *
 *     MODE "." EXPIRES "." MAC "." VALUE
 *
 * MODE "o": force the offer VALUE; "c": show the decision for the stored
 * context of session VALUE.  VALUE: 1..64 bytes of [A-Za-z0-9._:-].  The
 * message begins "vpt-preview-v1" NUL, then MODE, VALUE and EXPIRES as
 * above, so an accept MAC is never a preview MAC nor the other way round,
 * whatever the fields.
 *
 * Verification parses first (VPT_SIGN_MALFORMED: nothing to check), then
 * compares the MAC under every secret in constant time (CRYPTO_memcmp, and
 * every secret is tried even after a match, so the time says nothing of
 * which one matched), then the expiry: VPT_SIGN_EXPIRED only for a genuine
 * token (an expired link still redirects but counts nothing).  A token of
 * a forged or altered link is VPT_SIGN_FORGED.
 *
 * Cost (bench/bench-reqctx, callgrind): signing about 9,000
 * instructions, a check about 9,000 per secret configured (every one is
 * tried).  No allocation after vpt_sign_keys_add(): each secret keeps its
 * keyed EVP_MAC_CTX, re-initialised per use.  Not thread-safe (one set
 * per thread; an nginx worker has one thread).
 */

#ifndef VPT_SIGN_H
#define VPT_SIGN_H

#include "vpt_core.h"


#define VPT_SIGN_KEYS_MAX        8
#define VPT_SIGN_SECRET_MIN      32
#define VPT_SIGN_SECRET_MAX      4096
#define VPT_SIGN_FIELD_MAX       255        /* d, o, x: longer is refused */
#define VPT_SIGN_VALUE_MAX       64         /* a preview's VALUE */
#define VPT_SIGN_EXPIRES_MAX     99999999999LL   /* 11 digits */

#define VPT_SIGN_MAC_BYTES       16         /* of HMAC-SHA256's 32 */
#define VPT_SIGN_MAC_CHARS       22         /* base64url of 16 bytes */

/* "EXPIRES.MAC": the longest accept token, without a NUL */
#define VPT_SIGN_ACCEPT_MAX      (11 + 1 + VPT_SIGN_MAC_CHARS)

/* "M.EXPIRES.MAC.VALUE": the longest preview token, without a NUL */
#define VPT_SIGN_PREVIEW_MAX     (2 + 11 + 1 + VPT_SIGN_MAC_CHARS + 1 \
                                  + VPT_SIGN_VALUE_MAX)


typedef enum {
    VPT_SIGN_OK = 0,
    VPT_SIGN_EXPIRED,           /* genuine, but past its expiry */
    VPT_SIGN_FORGED,            /* well-formed, no secret made it */
    VPT_SIGN_MALFORMED          /* not a token at all */
} vpt_sign_rc_e;


typedef enum {
    VPT_PREVIEW_OFFER = 0,      /* "o": force one offer */
    VPT_PREVIEW_CONTEXT         /* "c": the decision for a stored context */
} vpt_preview_mode_e;


/* opaque: the secrets and their keyed HMAC contexts */
typedef struct vpt_sign_keys_s  vpt_sign_keys_t;


typedef struct {
    vpt_str_t    decision;      /* d */
    vpt_str_t    offer;         /* o */
    vpt_str_t    experiment;    /* x, len 0: none */
    int64_t      expires;       /* unix seconds */
} vpt_sign_accept_t;


typedef struct {
    vpt_preview_mode_e   mode;
    vpt_str_t            value;     /* offer id or session id */
    int64_t              expires;
} vpt_sign_preview_t;


/* what a check found, for the error log */
typedef struct {
    int64_t      expires;       /* parsed; 0 when malformed */
    int          key;           /* the secret that matched, -1 none */
    const char  *why;           /* static text, never quotes the input */
} vpt_sign_check_t;


/* an empty set; NULL when out of memory or libcrypto has no HMAC */
vpt_sign_keys_t *vpt_sign_keys_create(void);
void vpt_sign_keys_free(vpt_sign_keys_t *keys);
size_t vpt_sign_keys_count(const vpt_sign_keys_t *keys);

/*
 * Adds a secret after those loaded (the first one added signs).  VPT_OK,
 * or VPT_ERROR with err saying why (too short, too long, too many, a
 * libcrypto failure).
 */
int vpt_sign_keys_add(vpt_sign_keys_t *keys, const void *secret, size_t len,
    char *err, size_t errlen);

/*
 * Reads the secret in the file at path (NUL-terminated) and adds it.
 * VPT_ERROR: err is "PATH: REASON" (cannot open, empty, too short with
 * its length and the minimum, too long), for nginx -t.
 */
int vpt_sign_keys_load(vpt_sign_keys_t *keys, const char *path, char *err,
    size_t errlen);

/*
 * 1 when users other than the file's owner and group may read the file at
 * path (nginx -t warns: whoever reads the secret can forge accepts), 0
 * when they may not or the file cannot be examined (the loader reports
 * that).
 */
int vpt_sign_file_exposed(const char *path);

/*
 * The accept token for a (a->expires in 0..VPT_SIGN_EXPIRES_MAX, fields
 * at most VPT_SIGN_FIELD_MAX bytes, any bytes) into out, not
 * NUL-terminated; returns its length, 0 when there is no secret, a field
 * or the expiry is out of range, out is shorter than the token or
 * libcrypto fails.  VPT_SIGN_ACCEPT_MAX bytes always suffice.
 */
size_t vpt_sign_accept(const vpt_sign_keys_t *keys,
    const vpt_sign_accept_t *a, char *out, size_t outlen);

/*
 * Checks token (len bytes, any bytes) for d, o and x of a (a->expires is
 * ignored: the expiry is the token's) at time now.  res, when not NULL,
 * says what was found.
 */
vpt_sign_rc_e vpt_sign_accept_verify(const vpt_sign_keys_t *keys,
    const vpt_sign_accept_t *a, const char *token, size_t len, int64_t now,
    vpt_sign_check_t *res);

/* the preview token for p, as vpt_sign_accept() */
size_t vpt_sign_preview(const vpt_sign_keys_t *keys,
    const vpt_sign_preview_t *p, char *out, size_t outlen);

/*
 * Checks a preview token; on VPT_SIGN_OK and VPT_SIGN_EXPIRED, p holds
 * its mode, value (pointing into token) and expiry.
 */
vpt_sign_rc_e vpt_sign_preview_verify(const vpt_sign_keys_t *keys,
    const char *token, size_t len, int64_t now, vpt_sign_preview_t *p,
    vpt_sign_check_t *res);

/* "ok", "expired", "forged", "malformed" */
const char *vpt_sign_rc_name(vpt_sign_rc_e rc);


#endif /* VPT_SIGN_H */
