/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Signed accept links and preview tokens: see vpt_sign.h for the formats.
 * A check never decodes the MAC it is given: it computes the expected MAC
 * under each secret, encodes it, and compares the two spellings in
 * constant time, so only the one canonical spelling is accepted.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "vpt_sign.h"


#define VPT_SIGN_ACCEPT_DOMAIN   "vpt-accept-v1"
#define VPT_SIGN_PREVIEW_DOMAIN  "vpt-preview-v1"

/* the longest message: the domain, NUL, three length-prefixed fields */
#define VPT_SIGN_MSG_MAX  (16 + 3 * (1 + VPT_SIGN_FIELD_MAX) + 8)


struct vpt_sign_keys_s {
    EVP_MAC       *mac;
    EVP_MAC_CTX   *ctx[VPT_SIGN_KEYS_MAX];
    size_t         n;
};


typedef struct {
    unsigned char  data[VPT_SIGN_MSG_MAX];
    size_t         len;
} vpt_sign_msg_t;


static void vpt_sign_msg_domain(vpt_sign_msg_t *m, const char *domain);
static int vpt_sign_msg_field(vpt_sign_msg_t *m, const char *data,
    size_t len);
static void vpt_sign_msg_expires(vpt_sign_msg_t *m, int64_t expires);
static int vpt_sign_mac(const vpt_sign_keys_t *keys, size_t k,
    const vpt_sign_msg_t *m, char *b64);
static size_t vpt_sign_expires_put(int64_t expires, char *out);
static int vpt_sign_expires_parse(const char *s, size_t len,
    int64_t *expires);
static int vpt_sign_is_b64(const char *s, size_t len);
static int vpt_sign_is_value(const char *s, size_t len);
static vpt_sign_rc_e vpt_sign_check(const vpt_sign_keys_t *keys,
    const vpt_sign_msg_t *m, const char *mac, int64_t expires, int64_t now,
    vpt_sign_check_t *res);


static const char  vpt_sign_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


vpt_sign_keys_t *
vpt_sign_keys_create(void)
{
    vpt_sign_keys_t  *keys;

    keys = calloc(1, sizeof(vpt_sign_keys_t));
    if (keys == NULL) {
        return NULL;
    }

    keys->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (keys->mac == NULL) {
        free(keys);
        return NULL;
    }

    return keys;
}


void
vpt_sign_keys_free(vpt_sign_keys_t *keys)
{
    size_t  i;

    if (keys == NULL) {
        return;
    }

    for (i = 0; i < keys->n; i++) {
        EVP_MAC_CTX_free(keys->ctx[i]);
    }

    EVP_MAC_free(keys->mac);
    free(keys);
}


size_t
vpt_sign_keys_count(const vpt_sign_keys_t *keys)
{
    return keys ? keys->n : 0;
}


int
vpt_sign_keys_add(vpt_sign_keys_t *keys, const void *secret, size_t len,
    char *err, size_t errlen)
{
    char          digest[] = "SHA256";
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;

    if (keys->n == VPT_SIGN_KEYS_MAX) {
        vpt_err(err, errlen, "more than %d secrets",
                VPT_SIGN_KEYS_MAX);
        return VPT_ERROR;
    }

    if (len < VPT_SIGN_SECRET_MIN) {
        vpt_err(err, errlen, "the secret has %zu bytes, at least %d "
                "are needed (e.g. head -c 48 /dev/urandom | base64)",
                len, VPT_SIGN_SECRET_MIN);
        return VPT_ERROR;
    }

    if (len > VPT_SIGN_SECRET_MAX) {
        vpt_err(err, errlen, "the secret has more than %d bytes",
                VPT_SIGN_SECRET_MAX);
        return VPT_ERROR;
    }

    ctx = EVP_MAC_CTX_new(keys->mac);
    if (ctx == NULL) {
        vpt_err(err, errlen, "libcrypto: EVP_MAC_CTX_new() failed");
        return VPT_ERROR;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_end();

    if (!EVP_MAC_init(ctx, secret, len, params)) {
        EVP_MAC_CTX_free(ctx);
        vpt_err(err, errlen, "libcrypto: HMAC-SHA256 refused the key");
        return VPT_ERROR;
    }

    keys->ctx[keys->n++] = ctx;

    return VPT_OK;
}


int
vpt_sign_keys_load(vpt_sign_keys_t *keys, const char *path, char *err,
    size_t errlen)
{
    int          fd, rc;
    char         e[VPT_ERRLEN];
    size_t       len;
    ssize_t      n;
    struct stat  st;

    /* one byte more than the largest secret and its line ending */
    unsigned char  buf[VPT_SIGN_SECRET_MAX + 3];

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        vpt_err(err, errlen, "%s: %s", path, strerror(errno));
        return VPT_ERROR;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        vpt_err(err, errlen, "%s: not a regular file", path);
        return VPT_ERROR;
    }

    len = 0;

    while (len < sizeof(buf)) {
        n = read(fd, buf + len, sizeof(buf) - len);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1) {
            vpt_err(err, errlen, "%s: %s", path, strerror(errno));
            close(fd);
            OPENSSL_cleanse(buf, sizeof(buf));
            return VPT_ERROR;
        }

        if (n == 0) {
            break;
        }

        len += (size_t) n;
    }

    close(fd);

    if (len > 0 && buf[len - 1] == '\n') {
        len--;

        if (len > 0 && buf[len - 1] == '\r') {
            len--;
        }
    }

    if (len == 0) {
        vpt_err(err, errlen, "%s: empty", path);
        return VPT_ERROR;
    }

    rc = vpt_sign_keys_add(keys, buf, len, e, sizeof(e));
    OPENSSL_cleanse(buf, sizeof(buf));

    if (rc != VPT_OK) {
        vpt_err(err, errlen, "%s: %s", path, e);
    }

    return rc;
}


int
vpt_sign_file_exposed(const char *path)
{
    struct stat  st;

    if (stat(path, &st) == -1) {
        return 0;
    }

    return (st.st_mode & S_IROTH) ? 1 : 0;
}


size_t
vpt_sign_accept(const vpt_sign_keys_t *keys, const vpt_sign_accept_t *a,
    char *out, size_t outlen)
{
    char            tok[VPT_SIGN_ACCEPT_MAX];
    size_t          n;
    vpt_sign_msg_t  m;

    if (keys == NULL || keys->n == 0
        || a->expires < 0 || a->expires > VPT_SIGN_EXPIRES_MAX)
    {
        return 0;
    }

    vpt_sign_msg_domain(&m, VPT_SIGN_ACCEPT_DOMAIN);

    if (vpt_sign_msg_field(&m, a->decision.data, a->decision.len) != VPT_OK
        || vpt_sign_msg_field(&m, a->offer.data, a->offer.len) != VPT_OK
        || vpt_sign_msg_field(&m, a->experiment.data, a->experiment.len)
           != VPT_OK)
    {
        return 0;
    }

    vpt_sign_msg_expires(&m, a->expires);

    n = vpt_sign_expires_put(a->expires, tok);
    tok[n++] = '.';

    if (vpt_sign_mac(keys, 0, &m, tok + n) != VPT_OK) {
        return 0;
    }

    n += VPT_SIGN_MAC_CHARS;

    if (n > outlen) {
        return 0;
    }

    memcpy(out, tok, n);

    return n;
}


vpt_sign_rc_e
vpt_sign_accept_verify(const vpt_sign_keys_t *keys,
    const vpt_sign_accept_t *a, const char *token, size_t len, int64_t now,
    vpt_sign_check_t *res)
{
    size_t            dot;
    int64_t           expires;
    vpt_sign_msg_t    m;
    vpt_sign_check_t  dummy;

    if (res == NULL) {
        res = &dummy;
    }

    res->expires = 0;
    res->key = -1;

    if (len < 2 + VPT_SIGN_MAC_CHARS || len > VPT_SIGN_ACCEPT_MAX) {
        res->why = "the token's length is wrong";
        return VPT_SIGN_MALFORMED;
    }

    dot = len - VPT_SIGN_MAC_CHARS - 1;

    if (token[dot] != '.'
        || vpt_sign_expires_parse(token, dot, &expires) != VPT_OK)
    {
        res->why = "the token's expiry is not a number";
        return VPT_SIGN_MALFORMED;
    }

    if (!vpt_sign_is_b64(token + dot + 1, VPT_SIGN_MAC_CHARS)) {
        res->why = "the token's signature is not base64url";
        return VPT_SIGN_MALFORMED;
    }

    res->expires = expires;

    vpt_sign_msg_domain(&m, VPT_SIGN_ACCEPT_DOMAIN);

    if (vpt_sign_msg_field(&m, a->decision.data, a->decision.len) != VPT_OK
        || vpt_sign_msg_field(&m, a->offer.data, a->offer.len) != VPT_OK
        || vpt_sign_msg_field(&m, a->experiment.data, a->experiment.len)
           != VPT_OK)
    {
        res->why = "a signed field is too long";
        return VPT_SIGN_MALFORMED;
    }

    vpt_sign_msg_expires(&m, expires);

    return vpt_sign_check(keys, &m, token + dot + 1, expires, now, res);
}


size_t
vpt_sign_preview(const vpt_sign_keys_t *keys, const vpt_sign_preview_t *p,
    char *out, size_t outlen)
{
    char            tok[VPT_SIGN_PREVIEW_MAX];
    size_t          n;
    vpt_sign_msg_t  m;

    if (keys == NULL || keys->n == 0
        || (p->mode != VPT_PREVIEW_OFFER && p->mode != VPT_PREVIEW_CONTEXT)
        || p->expires < 0 || p->expires > VPT_SIGN_EXPIRES_MAX
        || !vpt_sign_is_value(p->value.data, p->value.len))
    {
        return 0;
    }

    tok[0] = (p->mode == VPT_PREVIEW_OFFER) ? 'o' : 'c';

    vpt_sign_msg_domain(&m, VPT_SIGN_PREVIEW_DOMAIN);
    (void) vpt_sign_msg_field(&m, tok, 1);
    (void) vpt_sign_msg_field(&m, p->value.data, p->value.len);
    vpt_sign_msg_expires(&m, p->expires);

    tok[1] = '.';
    n = 2 + vpt_sign_expires_put(p->expires, tok + 2);
    tok[n++] = '.';

    if (vpt_sign_mac(keys, 0, &m, tok + n) != VPT_OK) {
        return 0;
    }

    n += VPT_SIGN_MAC_CHARS;
    tok[n++] = '.';
    memcpy(tok + n, p->value.data, p->value.len);
    n += p->value.len;

    if (n > outlen) {
        return 0;
    }

    memcpy(out, tok, n);

    return n;
}


vpt_sign_rc_e
vpt_sign_preview_verify(const vpt_sign_keys_t *keys, const char *token,
    size_t len, int64_t now, vpt_sign_preview_t *p, vpt_sign_check_t *res)
{
    size_t             i, dot;
    int64_t            expires;
    const char        *mac;
    vpt_sign_rc_e      rc;
    vpt_sign_msg_t     m;
    vpt_sign_check_t   dummy;

    if (res == NULL) {
        res = &dummy;
    }

    res->expires = 0;
    res->key = -1;

    if (len < 2 || len > VPT_SIGN_PREVIEW_MAX
        || (token[0] != 'o' && token[0] != 'c') || token[1] != '.')
    {
        res->why = "not a preview token";
        return VPT_SIGN_MALFORMED;
    }

    /* the expiry ends at the first '.' after "M." */
    for (dot = 2; dot < len && dot < 2 + 12 && token[dot] != '.'; dot++) {
        /* void */
    }

    if (dot >= len || token[dot] != '.'
        || vpt_sign_expires_parse(token + 2, dot - 2, &expires) != VPT_OK)
    {
        res->why = "the preview's expiry is not a number";
        return VPT_SIGN_MALFORMED;
    }

    i = dot + 1;
    mac = token + i;

    if (len - i < VPT_SIGN_MAC_CHARS + 2
        || !vpt_sign_is_b64(mac, VPT_SIGN_MAC_CHARS)
        || token[i + VPT_SIGN_MAC_CHARS] != '.')
    {
        res->why = "the preview's signature is not base64url";
        return VPT_SIGN_MALFORMED;
    }

    i += VPT_SIGN_MAC_CHARS + 1;

    if (!vpt_sign_is_value(token + i, len - i)) {
        res->why = "the preview's offer or session is not an id";
        return VPT_SIGN_MALFORMED;
    }

    res->expires = expires;

    vpt_sign_msg_domain(&m, VPT_SIGN_PREVIEW_DOMAIN);
    (void) vpt_sign_msg_field(&m, token, 1);
    (void) vpt_sign_msg_field(&m, token + i, len - i);
    vpt_sign_msg_expires(&m, expires);

    rc = vpt_sign_check(keys, &m, mac, expires, now, res);

    if (p != NULL && (rc == VPT_SIGN_OK || rc == VPT_SIGN_EXPIRED)) {
        p->mode = (token[0] == 'o') ? VPT_PREVIEW_OFFER : VPT_PREVIEW_CONTEXT;
        p->value.data = token + i;
        p->value.len = len - i;
        p->expires = expires;
    }

    return rc;
}


const char *
vpt_sign_rc_name(vpt_sign_rc_e rc)
{
    switch (rc) {
    case VPT_SIGN_OK:
        return "ok";
    case VPT_SIGN_EXPIRED:
        return "expired";
    case VPT_SIGN_FORGED:
        return "forged";
    default:
        return "malformed";
    }
}


/* every secret is tried, so the time taken does not say which matched */

static vpt_sign_rc_e
vpt_sign_check(const vpt_sign_keys_t *keys, const vpt_sign_msg_t *m,
    const char *mac, int64_t expires, int64_t now, vpt_sign_check_t *res)
{
    int     match;
    char    want[VPT_SIGN_MAC_CHARS];
    size_t  k;

    if (keys == NULL || keys->n == 0) {
        res->why = "no secret is configured";
        return VPT_SIGN_FORGED;
    }

    for (k = 0; k < keys->n; k++) {
        if (vpt_sign_mac(keys, k, m, want) != VPT_OK) {
            res->why = "libcrypto failed";
            return VPT_SIGN_FORGED;
        }

        match = (CRYPTO_memcmp(want, mac, VPT_SIGN_MAC_CHARS) == 0);

        if (match && res->key < 0) {
            res->key = (int) k;
        }
    }

    if (res->key < 0) {
        res->why = "the signature matches no secret";
        return VPT_SIGN_FORGED;
    }

    if (expires < now) {
        res->why = "expired";
        return VPT_SIGN_EXPIRED;
    }

    res->why = "ok";

    return VPT_SIGN_OK;
}


static void
vpt_sign_msg_domain(vpt_sign_msg_t *m, const char *domain)
{
    size_t  n;

    n = strlen(domain) + 1;
    memcpy(m->data, domain, n);
    m->len = n;
}


static int
vpt_sign_msg_field(vpt_sign_msg_t *m, const char *data, size_t len)
{
    if (len > VPT_SIGN_FIELD_MAX || (len && data == NULL)) {
        return VPT_ERROR;
    }

    m->data[m->len++] = (unsigned char) len;

    if (len) {
        memcpy(m->data + m->len, data, len);
        m->len += len;
    }

    return VPT_OK;
}


static void
vpt_sign_msg_expires(vpt_sign_msg_t *m, int64_t expires)
{
    int       i;
    uint64_t  v;

    v = (uint64_t) expires;

    for (i = 7; i >= 0; i--) {
        m->data[m->len + i] = (unsigned char) (v & 0xff);
        v >>= 8;
    }

    m->len += 8;
}


/* the first 128 bits of HMAC-SHA256 under secret k, as 22 base64url */

static int
vpt_sign_mac(const vpt_sign_keys_t *keys, size_t k, const vpt_sign_msg_t *m,
    char *b64)
{
    size_t          i, n, outl;
    uint32_t        v;
    unsigned char   md[EVP_MAX_MD_SIZE];
    EVP_MAC_CTX    *ctx;

    ctx = keys->ctx[k];

    /* a NULL key: the same key again, the state reset */
    if (!EVP_MAC_init(ctx, NULL, 0, NULL)
        || !EVP_MAC_update(ctx, m->data, m->len)
        || !EVP_MAC_final(ctx, md, &outl, sizeof(md))
        || outl < VPT_SIGN_MAC_BYTES)
    {
        return VPT_ERROR;
    }

    n = 0;

    for (i = 0; i + 3 <= VPT_SIGN_MAC_BYTES; i += 3) {
        v = (uint32_t) md[i] << 16 | (uint32_t) md[i + 1] << 8 | md[i + 2];
        b64[n++] = vpt_sign_b64[(v >> 18) & 0x3f];
        b64[n++] = vpt_sign_b64[(v >> 12) & 0x3f];
        b64[n++] = vpt_sign_b64[(v >> 6) & 0x3f];
        b64[n++] = vpt_sign_b64[v & 0x3f];
    }

    /* 16 = 5 * 3 + 1: one byte left, two characters */
    b64[n++] = vpt_sign_b64[md[i] >> 2];
    b64[n++] = vpt_sign_b64[(md[i] & 0x03) << 4];

    OPENSSL_cleanse(md, sizeof(md));

    return VPT_OK;
}


static size_t
vpt_sign_expires_put(int64_t expires, char *out)
{
    char    tmp[24];
    size_t  n, i;

    n = 0;

    do {
        tmp[n++] = (char) ('0' + expires % 10);
        expires /= 10;
    } while (expires > 0);

    for (i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }

    return n;
}


/* 1..11 digits, no leading zero but "0" itself: one spelling per value */

static int
vpt_sign_expires_parse(const char *s, size_t len, int64_t *expires)
{
    size_t   i;
    int64_t  v;

    if (len == 0 || len > 11 || (s[0] == '0' && len > 1)) {
        return VPT_ERROR;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return VPT_ERROR;
        }

        v = v * 10 + (s[i] - '0');
    }

    *expires = v;

    return VPT_OK;
}


static int
vpt_sign_is_b64(const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/* the catalog's id grammar: 1..64 of [A-Za-z0-9._:-] */

static int
vpt_sign_is_value(const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > VPT_SIGN_VALUE_MAX || s == NULL) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_'
              || c == ':' || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}
