/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Signed accept links and preview tokens, and the random decision ids.
 * The known answers were computed when the test was written, independently
 * of vpt_sign.c: the message built by hand (python3 struct.pack) and
 * signed by "openssl dgst -sha256 -hmac KEY -binary | head -c16 | base64
 * | tr '+/' '-_' | tr -d =".  Each token is verified from an exact-size
 * heap copy, so ASan sees a read past its end.
 */

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vpt_test.h"
#include "vpt_sign.h"
#include "vpt_random.h"


#define K1   "test-secret-0123456789-abcdefghijklmnop"
#define K2   "rotated-secret-ZYXWVUTSRQPONMLKJIHGFEDCBA-987"
#define NOW  1767225000LL       /* 10 minutes before the tokens expire */
#define EXP  1767225600LL


static vpt_sign_keys_t *
keys_of(const char *a, const char *b)
{
    char              err[VPT_ERRLEN];
    vpt_sign_keys_t  *k;

    k = vpt_sign_keys_create();
    if (k == NULL) {
        abort();
    }

    if (a && vpt_sign_keys_add(k, a, strlen(a), err, sizeof(err)) != VPT_OK)
    {
        printf("# %s\n", err);
        abort();
    }

    if (b && vpt_sign_keys_add(k, b, strlen(b), err, sizeof(err)) != VPT_OK)
    {
        printf("# %s\n", err);
        abort();
    }

    return k;
}


static vpt_sign_accept_t
acc(const char *d, const char *o, const char *x, int64_t expires)
{
    vpt_sign_accept_t  a;

    a.decision.data = d;
    a.decision.len = strlen(d);
    a.offer.data = o;
    a.offer.len = strlen(o);
    a.experiment.data = x;
    a.experiment.len = strlen(x);
    a.expires = expires;

    return a;
}


/* verify from an exact-size heap copy */
static vpt_sign_rc_e
verify_acc(vpt_sign_keys_t *k, const vpt_sign_accept_t *a, const char *tok,
    size_t len, int64_t now, vpt_sign_check_t *res)
{
    char           *copy;
    vpt_sign_rc_e   rc;

    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, tok, len);
    rc = vpt_sign_accept_verify(k, a, copy, len, now, res);
    free(copy);

    return rc;
}


static vpt_sign_rc_e
verify_prev(vpt_sign_keys_t *k, const char *tok, size_t len, int64_t now,
    vpt_sign_preview_t *p, char *value)
{
    char           *copy;
    vpt_sign_rc_e   rc;

    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, tok, len);
    rc = vpt_sign_preview_verify(k, copy, len, now, p, NULL);

    if (value != NULL && (rc == VPT_SIGN_OK || rc == VPT_SIGN_EXPIRED)) {
        memcpy(value, p->value.data, p->value.len);
        value[p->value.len] = '\0';
    }

    free(copy);

    return rc;
}


VPT_TEST(accept_token_matches_openssl_hmac_without_experiment)
{
    char               tok[VPT_SIGN_ACCEPT_MAX];
    size_t             n;
    vpt_sign_keys_t   *k;
    vpt_sign_accept_t  a;

    k = keys_of(K1, NULL);
    a = acc("0123456789abcdef", "gift-card", "", EXP);

    n = vpt_sign_accept(k, &a, tok, sizeof(tok));
    VPT_CHECK_STR(tok, n, "1767225600.qNb3ULhmm98B8lVBDYXamw");

    vpt_sign_keys_free(k);

    k = keys_of(K2, NULL);
    n = vpt_sign_accept(k, &a, tok, sizeof(tok));
    VPT_CHECK_STR(tok, n, "1767225600.OJ6suIl2_O-Abgrxa8ZKpw");

    vpt_sign_keys_free(k);
}


VPT_TEST(accept_token_matches_openssl_hmac_with_experiment)
{
    char               tok[VPT_SIGN_ACCEPT_MAX];
    size_t             n, i;
    vpt_sign_keys_t   *k;
    vpt_sign_accept_t  a;

    k = keys_of(K1, NULL);
    a = acc("fedcba9876543210", "app:install.2", "spring-test", 4102444800LL);

    /* the same answer each time: the HMAC state is reset between uses */
    for (i = 0; i < 3; i++) {
        n = vpt_sign_accept(k, &a, tok, sizeof(tok));
        VPT_CHECK_STR(tok, n, "4102444800.5j16YoHRu-lgJ4Y40WU9Ww");
    }

    vpt_sign_keys_free(k);
}


VPT_TEST(preview_token_matches_openssl_hmac)
{
    char                tok[VPT_SIGN_PREVIEW_MAX];
    size_t              n;
    vpt_sign_keys_t    *k;
    vpt_sign_preview_t  p;

    k = keys_of(K1, NULL);

    p.mode = VPT_PREVIEW_OFFER;
    p.value.data = "gift-card";
    p.value.len = 9;
    p.expires = EXP;

    n = vpt_sign_preview(k, &p, tok, sizeof(tok));
    VPT_CHECK_STR(tok, n, "o.1767225600.TdB0WNhQSLCh-TCweKvzgw.gift-card");

    p.mode = VPT_PREVIEW_CONTEXT;
    p.value.data = "sess-42";
    p.value.len = 7;

    n = vpt_sign_preview(k, &p, tok, sizeof(tok));
    VPT_CHECK_STR(tok, n, "c.1767225600.kzhvL2p1A7_lMx2QR-EHmw.sess-42");

    vpt_sign_keys_free(k);
}


VPT_TEST(genuine_accept_is_ok_until_it_expires_then_expired)
{
    char               tok[VPT_SIGN_ACCEPT_MAX];
    size_t             n;
    vpt_sign_keys_t   *k;
    vpt_sign_check_t   res;
    vpt_sign_accept_t  a;

    k = keys_of(K1, NULL);
    a = acc("0123456789abcdef", "gift-card", "exp-a", EXP);
    n = vpt_sign_accept(k, &a, tok, sizeof(tok));
    VPT_CHECK(n > 0);

    VPT_CHECK(verify_acc(k, &a, tok, n, NOW, &res) == VPT_SIGN_OK);
    VPT_CHECK(res.key == 0 && res.expires == EXP);

    /* the last second of its life, then the first after */
    VPT_CHECK(verify_acc(k, &a, tok, n, EXP, &res) == VPT_SIGN_OK);
    VPT_CHECK(verify_acc(k, &a, tok, n, EXP + 1, &res) == VPT_SIGN_EXPIRED);
    VPT_CHECK(res.key == 0 && res.expires == EXP);
    VPT_CHECK(strcmp(vpt_sign_rc_name(VPT_SIGN_EXPIRED), "expired") == 0);

    vpt_sign_keys_free(k);
}


VPT_TEST(another_decision_offer_or_experiment_is_forged)
{
    char               tok[VPT_SIGN_ACCEPT_MAX];
    size_t             n, i;
    vpt_sign_keys_t   *k;
    vpt_sign_accept_t  a, other[6];

    k = keys_of(K1, NULL);
    a = acc("0123456789abcdef", "gift-card", "exp-a", EXP);
    n = vpt_sign_accept(k, &a, tok, sizeof(tok));

    other[0] = acc("0123456789abcdee", "gift-card", "exp-a", 0);
    other[1] = acc("0123456789abcdef", "gift-cart", "exp-a", 0);
    other[2] = acc("0123456789abcdef", "gift-card", "exp-b", 0);
    other[3] = acc("0123456789abcdef", "gift-card", "", 0);
    /* the same bytes, cut elsewhere: the length prefixes tell them apart */
    other[4] = acc("0123456789abcdefg", "ift-card", "exp-a", 0);
    other[5] = acc("0123456789abcdef", "gift-cardexp-a", "", 0);

    for (i = 0; i < 6; i++) {
        VPT_CHECK_MSG(verify_acc(k, &other[i], tok, n, NOW, NULL)
                      == VPT_SIGN_FORGED, "variant %zu", i);
    }

    vpt_sign_keys_free(k);
}


VPT_TEST(every_altered_byte_of_an_accept_token_is_refused)
{
    int                c;
    char               tok[VPT_SIGN_ACCEPT_MAX], bad[VPT_SIGN_ACCEPT_MAX];
    size_t             n, i, accepted;
    vpt_sign_rc_e      rc;
    vpt_sign_keys_t   *k;
    vpt_sign_accept_t  a;

    k = keys_of(K1, K2);
    a = acc("0123456789abcdef", "gift-card", "exp-a", EXP);
    n = vpt_sign_accept(k, &a, tok, sizeof(tok));
    accepted = 0;

    for (i = 0; i < n; i++) {
        for (c = 0; c < 256; c++) {
            if (c == (unsigned char) tok[i]) {
                continue;
            }

            memcpy(bad, tok, n);
            bad[i] = (char) c;
            rc = verify_acc(k, &a, bad, n, NOW, NULL);

            if (rc == VPT_SIGN_OK || rc == VPT_SIGN_EXPIRED) {
                printf("#   accepted with byte %zu = %d\n", i, c);
                accepted++;
            }
        }
    }

    VPT_CHECK(accepted == 0);

    vpt_sign_keys_free(k);
}


VPT_TEST(truncated_or_extended_tokens_are_refused)
{
    char               tok[VPT_SIGN_ACCEPT_MAX + 2];
    size_t             n, i;
    vpt_sign_rc_e      rc;
    vpt_sign_keys_t   *k;
    vpt_sign_accept_t  a;

    k = keys_of(K1, NULL);
    a = acc("0123456789abcdef", "gift-card", "", EXP);
    n = vpt_sign_accept(k, &a, tok, sizeof(tok));

    for (i = 0; i < n; i++) {
        rc = verify_acc(k, &a, tok, i, NOW, NULL);
        VPT_CHECK_MSG(rc == VPT_SIGN_MALFORMED || rc == VPT_SIGN_FORGED,
                      "prefix of %zu bytes: %s", i, vpt_sign_rc_name(rc));
    }

    /* the first characters dropped: an expiry shorter by a digit */
    for (i = 1; i < n; i++) {
        rc = verify_acc(k, &a, tok + i, n - i, NOW, NULL);
        VPT_CHECK(rc == VPT_SIGN_MALFORMED || rc == VPT_SIGN_FORGED);
    }

    tok[n] = 'A';
    VPT_CHECK(verify_acc(k, &a, tok, n + 1, NOW, NULL) != VPT_SIGN_OK);

    /* a leading zero is the same number, but not the token we signed */
    memmove(tok + 1, tok, n);
    tok[0] = '0';
    VPT_CHECK(verify_acc(k, &a, tok, n + 1, NOW, NULL)
              == VPT_SIGN_MALFORMED);

    VPT_CHECK(verify_acc(k, &a, "", 0, NOW, NULL) == VPT_SIGN_MALFORMED);

    vpt_sign_keys_free(k);
}


VPT_TEST(the_last_mac_character_has_one_spelling)
{
    char               tok[VPT_SIGN_ACCEPT_MAX], *last;
    size_t             n, i, ok;
    vpt_sign_keys_t   *k;
    vpt_sign_accept_t  a;
    static const char  b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                               "qrstuvwxyz0123456789-_";

    k = keys_of(K1, NULL);
    a = acc("0123456789abcdef", "gift-card", "", EXP);
    n = vpt_sign_accept(k, &a, tok, sizeof(tok));
    last = &tok[n - 1];

    /* its low four bits carry nothing: a decoder might ignore them */
    VPT_CHECK(((strchr(b64, *last) - b64) & 0x0f) == 0);

    ok = 0;
    for (i = 0; i < 64; i++) {
        *last = b64[i];
        ok += (verify_acc(k, &a, tok, n, NOW, NULL) == VPT_SIGN_OK);
    }

    VPT_CHECK(ok == 1);

    vpt_sign_keys_free(k);
}


VPT_TEST(rotation_first_secret_signs_every_secret_verifies)
{
    char               tok[VPT_SIGN_ACCEPT_MAX], tok2[VPT_SIGN_ACCEPT_MAX];
    size_t             n, n2;
    vpt_sign_keys_t   *old, *both, *fresh;
    vpt_sign_check_t   res;
    vpt_sign_accept_t  a;

    old = keys_of(K1, NULL);
    both = keys_of(K2, K1);
    fresh = keys_of(K2, NULL);
    a = acc("0123456789abcdef", "gift-card", "", EXP);

    /* a link signed before the rollout */
    n = vpt_sign_accept(old, &a, tok, sizeof(tok));
    VPT_CHECK(verify_acc(both, &a, tok, n, NOW, &res) == VPT_SIGN_OK);
    VPT_CHECK(res.key == 1);

    /* new links are signed with the new secret */
    n2 = vpt_sign_accept(both, &a, tok2, sizeof(tok2));
    VPT_CHECK_STR(tok2, n2, "1767225600.OJ6suIl2_O-Abgrxa8ZKpw");
    VPT_CHECK(verify_acc(both, &a, tok2, n2, NOW, &res) == VPT_SIGN_OK);
    VPT_CHECK(res.key == 0);

    /* the old secret removed: its links are forgeries now */
    VPT_CHECK(verify_acc(fresh, &a, tok, n, NOW, &res) == VPT_SIGN_FORGED);
    VPT_CHECK(res.key == -1);
    VPT_CHECK(verify_acc(old, &a, tok2, n2, NOW, NULL) == VPT_SIGN_FORGED);

    vpt_sign_keys_free(old);
    vpt_sign_keys_free(both);
    vpt_sign_keys_free(fresh);
}


VPT_TEST(no_secret_signs_nothing_and_accepts_nothing)
{
    char               tok[VPT_SIGN_ACCEPT_MAX];
    vpt_sign_keys_t   *k;
    vpt_sign_accept_t  a;

    k = keys_of(NULL, NULL);
    a = acc("0123456789abcdef", "gift-card", "", EXP);

    VPT_CHECK(vpt_sign_accept(k, &a, tok, sizeof(tok)) == 0);
    VPT_CHECK(verify_acc(k, &a, "1767225600.qNb3ULhmm98B8lVBDYXamw", 33, NOW,
                         NULL) == VPT_SIGN_FORGED);
    VPT_CHECK(vpt_sign_accept(NULL, &a, tok, sizeof(tok)) == 0);

    vpt_sign_keys_free(k);
}


VPT_TEST(out_of_range_inputs_sign_nothing)
{
    char                tok[VPT_SIGN_PREVIEW_MAX];
    char                big[VPT_SIGN_FIELD_MAX + 1];
    vpt_sign_keys_t    *k;
    vpt_sign_accept_t   a;
    vpt_sign_preview_t  p;

    k = keys_of(K1, NULL);

    a = acc("0123456789abcdef", "gift-card", "", -1);
    VPT_CHECK(vpt_sign_accept(k, &a, tok, sizeof(tok)) == 0);
    a.expires = VPT_SIGN_EXPIRES_MAX + 1;
    VPT_CHECK(vpt_sign_accept(k, &a, tok, sizeof(tok)) == 0);
    a.expires = VPT_SIGN_EXPIRES_MAX;
    VPT_CHECK(vpt_sign_accept(k, &a, tok, sizeof(tok))
              == VPT_SIGN_ACCEPT_MAX);
    VPT_CHECK(vpt_sign_accept(k, &a, tok, VPT_SIGN_ACCEPT_MAX - 1) == 0);

    memset(big, 'a', sizeof(big));
    a.offer.data = big;
    a.offer.len = sizeof(big);
    VPT_CHECK(vpt_sign_accept(k, &a, tok, sizeof(tok)) == 0);
    VPT_CHECK(verify_acc(k, &a, "1767225600.qNb3ULhmm98B8lVBDYXamw", 33, NOW,
                         NULL) == VPT_SIGN_MALFORMED);

    p.mode = VPT_PREVIEW_OFFER;
    p.expires = EXP;
    p.value.data = "gift card";
    p.value.len = 9;
    VPT_CHECK(vpt_sign_preview(k, &p, tok, sizeof(tok)) == 0);
    p.value.len = 0;
    VPT_CHECK(vpt_sign_preview(k, &p, tok, sizeof(tok)) == 0);
    p.value.data = big;
    p.value.len = VPT_SIGN_VALUE_MAX;
    VPT_CHECK(vpt_sign_preview(k, &p, tok, sizeof(tok))
              == 2 + 10 + 1 + VPT_SIGN_MAC_CHARS + 1 + 64);
    p.value.len = VPT_SIGN_VALUE_MAX + 1;
    VPT_CHECK(vpt_sign_preview(k, &p, tok, sizeof(tok)) == 0);
    p.value.len = 3;
    p.mode = (vpt_preview_mode_e) 7;
    VPT_CHECK(vpt_sign_preview(k, &p, tok, sizeof(tok)) == 0);

    vpt_sign_keys_free(k);
}


VPT_TEST(preview_round_trip_rotation_and_expiry)
{
    char                tok[VPT_SIGN_PREVIEW_MAX], value[80];
    size_t              n;
    vpt_sign_keys_t    *k, *both;
    vpt_sign_preview_t  p, got;

    k = keys_of(K1, NULL);
    both = keys_of(K2, K1);

    p.mode = VPT_PREVIEW_OFFER;
    p.value.data = "app:install.2";
    p.value.len = 13;
    p.expires = EXP;
    n = vpt_sign_preview(k, &p, tok, sizeof(tok));

    VPT_CHECK(verify_prev(both, tok, n, NOW, &got, value) == VPT_SIGN_OK);
    VPT_CHECK(got.mode == VPT_PREVIEW_OFFER && got.expires == EXP);
    VPT_CHECK(strcmp(value, "app:install.2") == 0);

    VPT_CHECK(verify_prev(both, tok, n, EXP + 1, &got, value)
              == VPT_SIGN_EXPIRED);

    /* the mode is signed: "o" made "c" is another token */
    tok[0] = 'c';
    VPT_CHECK(verify_prev(both, tok, n, NOW, &got, NULL) == VPT_SIGN_FORGED);

    p.mode = VPT_PREVIEW_CONTEXT;
    p.value.data = "sess-42";
    p.value.len = 7;
    n = vpt_sign_preview(both, &p, tok, sizeof(tok));
    VPT_CHECK(verify_prev(both, tok, n, NOW, &got, value) == VPT_SIGN_OK);
    VPT_CHECK(got.mode == VPT_PREVIEW_CONTEXT && strcmp(value, "sess-42") == 0);
    VPT_CHECK(verify_prev(k, tok, n, NOW, &got, NULL) == VPT_SIGN_FORGED);

    vpt_sign_keys_free(k);
    vpt_sign_keys_free(both);
}


VPT_TEST(every_altered_or_truncated_preview_is_refused)
{
    int                 c;
    char                tok[VPT_SIGN_PREVIEW_MAX], bad[VPT_SIGN_PREVIEW_MAX];
    size_t              n, i, accepted;
    vpt_sign_rc_e       rc;
    vpt_sign_keys_t    *k;
    vpt_sign_preview_t  p, got;

    k = keys_of(K1, NULL);
    p.mode = VPT_PREVIEW_OFFER;
    p.value.data = "gift-card";
    p.value.len = 9;
    p.expires = EXP;
    n = vpt_sign_preview(k, &p, tok, sizeof(tok));
    accepted = 0;

    for (i = 0; i < n; i++) {
        for (c = 0; c < 256; c++) {
            if (c == (unsigned char) tok[i]) {
                continue;
            }

            memcpy(bad, tok, n);
            bad[i] = (char) c;
            rc = verify_prev(k, bad, n, NOW, &got, NULL);
            accepted += (rc == VPT_SIGN_OK || rc == VPT_SIGN_EXPIRED);
        }

        rc = verify_prev(k, tok, i, NOW, &got, NULL);
        accepted += (rc == VPT_SIGN_OK || rc == VPT_SIGN_EXPIRED);
    }

    VPT_CHECK(accepted == 0);

    vpt_sign_keys_free(k);
}


/* an accept's MAC never passes as a preview's, nor the other way round */
VPT_TEST(accept_and_preview_signatures_are_not_interchangeable)
{
    char                tok[VPT_SIGN_PREVIEW_MAX], forged[160];
    size_t              n;
    vpt_sign_keys_t    *k;
    vpt_sign_accept_t   a;
    vpt_sign_preview_t  p;

    k = keys_of(K1, NULL);

    /* an accept of d="o", o="gift-card": the fields a preview signs */
    a = acc("o", "gift-card", "", EXP);
    n = vpt_sign_accept(k, &a, tok, sizeof(tok));
    snprintf(forged, sizeof(forged), "o.%.*s.gift-card", (int) n, tok);
    VPT_CHECK(verify_prev(k, forged, strlen(forged), NOW, &p, NULL)
              == VPT_SIGN_FORGED);

    /* a preview's "EXPIRES.MAC" as an accept token for the same fields */
    p.mode = VPT_PREVIEW_OFFER;
    p.value.data = "gift-card";
    p.value.len = 9;
    p.expires = EXP;
    n = vpt_sign_preview(k, &p, tok, sizeof(tok));
    VPT_CHECK(verify_acc(k, &a, tok + 2, 11 + VPT_SIGN_MAC_CHARS, NOW, NULL)
              == VPT_SIGN_FORGED);
    VPT_CHECK(n > 2 + 11 + VPT_SIGN_MAC_CHARS);

    vpt_sign_keys_free(k);
}


static char *
secret_file(const char *content, size_t len)
{
    int    fd;
    char  *path;

    path = strdup("/tmp/vpt-test-secret-XXXXXX");
    fd = mkstemp(path);

    if (fd == -1 || write(fd, content, len) != (ssize_t) len) {
        abort();
    }

    close(fd);

    return path;
}


VPT_TEST(secret_files_load_with_their_line_ending_removed)
{
    char               err[VPT_ERRLEN], tok[VPT_SIGN_ACCEPT_MAX], *path;
    size_t             n;
    vpt_sign_keys_t   *k;
    vpt_sign_accept_t  a;
    static const char *endings[] = { K1, K1 "\n", K1 "\r\n" };
    size_t             i;

    a = acc("0123456789abcdef", "gift-card", "", EXP);

    for (i = 0; i < 3; i++) {
        k = keys_of(NULL, NULL);
        path = secret_file(endings[i], strlen(endings[i]));

        VPT_CHECK(vpt_sign_keys_load(k, path, err, sizeof(err)) == VPT_OK);
        VPT_CHECK(vpt_sign_keys_count(k) == 1);

        n = vpt_sign_accept(k, &a, tok, sizeof(tok));
        VPT_CHECK_STR(tok, n, "1767225600.qNb3ULhmm98B8lVBDYXamw");

        unlink(path);
        free(path);
        vpt_sign_keys_free(k);
    }
}


VPT_TEST(bad_secret_files_are_named_with_the_reason)
{
    char              err[VPT_ERRLEN], *path, big[VPT_SIGN_SECRET_MAX + 8];
    vpt_sign_keys_t  *k;

    k = keys_of(NULL, NULL);

    path = secret_file("short\n", 6);
    VPT_CHECK(vpt_sign_keys_load(k, path, err, sizeof(err)) == VPT_ERROR);
    VPT_CHECK_MSG(strncmp(err, path, strlen(path)) == 0
                  && strstr(err, "5 bytes") && strstr(err, "at least 32"),
                  "%s", err);
    unlink(path);
    free(path);

    path = secret_file("\n", 1);
    VPT_CHECK(vpt_sign_keys_load(k, path, err, sizeof(err)) == VPT_ERROR);
    VPT_CHECK_MSG(strstr(err, ": empty") != NULL, "%s", err);
    unlink(path);
    free(path);

    /* 31 bytes and a newline: one short */
    path = secret_file("0123456789012345678901234567890\n", 32);
    VPT_CHECK(vpt_sign_keys_load(k, path, err, sizeof(err)) == VPT_ERROR);
    unlink(path);
    free(path);

    memset(big, 'x', sizeof(big));
    path = secret_file(big, sizeof(big));
    VPT_CHECK(vpt_sign_keys_load(k, path, err, sizeof(err)) == VPT_ERROR);
    VPT_CHECK_MSG(strstr(err, "more than 4096") != NULL, "%s", err);
    unlink(path);
    free(path);

    VPT_CHECK(vpt_sign_keys_load(k, "/nonexistent/vpt.key", err, sizeof(err))
              == VPT_ERROR);
    VPT_CHECK_MSG(strcmp(err, "/nonexistent/vpt.key: No such file or "
                         "directory") == 0, "%s", err);

    VPT_CHECK(vpt_sign_keys_load(k, "/tmp", err, sizeof(err)) == VPT_ERROR);
    VPT_CHECK_MSG(strcmp(err, "/tmp: not a regular file") == 0, "%s", err);

    VPT_CHECK(vpt_sign_keys_count(k) == 0);

    vpt_sign_keys_free(k);
}


VPT_TEST(a_secret_others_can_read_is_reported)
{
    char  *path;

    path = secret_file(K1, strlen(K1));

    VPT_CHECK(chmod(path, 0600) == 0);
    VPT_CHECK(vpt_sign_file_exposed(path) == 0);
    VPT_CHECK(chmod(path, 0640) == 0);
    VPT_CHECK(vpt_sign_file_exposed(path) == 0);
    VPT_CHECK(chmod(path, 0644) == 0);
    VPT_CHECK(vpt_sign_file_exposed(path) == 1);
    VPT_CHECK(vpt_sign_file_exposed("/nonexistent/vpt.key") == 0);

    unlink(path);
    free(path);
}


VPT_TEST(at_most_eight_secrets)
{
    int               i;
    char              err[VPT_ERRLEN];
    vpt_sign_keys_t  *k;

    k = keys_of(NULL, NULL);

    for (i = 0; i < VPT_SIGN_KEYS_MAX; i++) {
        VPT_CHECK(vpt_sign_keys_add(k, K1, strlen(K1), err, sizeof(err))
                  == VPT_OK);
    }

    VPT_CHECK(vpt_sign_keys_add(k, K1, strlen(K1), err, sizeof(err))
              == VPT_ERROR);
    VPT_CHECK_MSG(strstr(err, "more than 8") != NULL, "%s", err);

    vpt_sign_keys_free(k);
}


VPT_TEST(decision_ids_are_hex_and_distinct)
{
    int     dup;
    char    ids[2000][16];
    size_t  i, j;

    for (i = 0; i < 2000; i++) {
        VPT_CHECK(vpt_random_hex(ids[i], 16) == VPT_OK);

        for (j = 0; j < 16; j++) {
            VPT_CHECK(strchr("0123456789abcdef", ids[i][j]) != NULL);
        }
    }

    dup = 0;
    for (i = 0; i < 2000; i++) {
        for (j = 0; j < i; j++) {
            dup += (memcmp(ids[i], ids[j], 16) == 0);
        }
    }

    VPT_CHECK(dup == 0);
    VPT_CHECK(vpt_random_hex(ids[0], 15) == VPT_ERROR);
}


/* a worker forked after the master drew an id must not repeat its ids */
VPT_TEST(a_forked_child_does_not_share_the_pool)
{
    int     fd[2], status;
    char    first[16], parent[16], child[16];
    pid_t   pid;

    VPT_CHECK(vpt_random_hex(first, 16) == VPT_OK);
    VPT_CHECK(pipe(fd) == 0);

    pid = fork();
    if (pid == 0) {
        if (vpt_random_hex(child, 16) != VPT_OK
            || write(fd[1], child, 16) != 16)
        {
            _exit(1);
        }

        _exit(0);
    }

    VPT_CHECK(pid > 0);
    VPT_CHECK(vpt_random_hex(parent, 16) == VPT_OK);
    VPT_CHECK(read(fd[0], child, 16) == 16);
    VPT_CHECK(waitpid(pid, &status, 0) == pid && status == 0);
    VPT_CHECK(memcmp(parent, child, 16) != 0);

    close(fd[0]);
    close(fd[1]);
}


int
main(void)
{
    VPT_RUN(accept_token_matches_openssl_hmac_without_experiment);
    VPT_RUN(accept_token_matches_openssl_hmac_with_experiment);
    VPT_RUN(preview_token_matches_openssl_hmac);
    VPT_RUN(genuine_accept_is_ok_until_it_expires_then_expired);
    VPT_RUN(another_decision_offer_or_experiment_is_forged);
    VPT_RUN(every_altered_byte_of_an_accept_token_is_refused);
    VPT_RUN(truncated_or_extended_tokens_are_refused);
    VPT_RUN(the_last_mac_character_has_one_spelling);
    VPT_RUN(rotation_first_secret_signs_every_secret_verifies);
    VPT_RUN(no_secret_signs_nothing_and_accepts_nothing);
    VPT_RUN(out_of_range_inputs_sign_nothing);
    VPT_RUN(preview_round_trip_rotation_and_expiry);
    VPT_RUN(every_altered_or_truncated_preview_is_refused);
    VPT_RUN(accept_and_preview_signatures_are_not_interchangeable);
    VPT_RUN(secret_files_load_with_their_line_ending_removed);
    VPT_RUN(bad_secret_files_are_named_with_the_reason);
    VPT_RUN(a_secret_others_can_read_is_reported);
    VPT_RUN(at_most_eight_secrets);
    VPT_RUN(decision_ids_are_hex_and_distinct);
    VPT_RUN(a_forked_child_does_not_share_the_pool);

    return VPT_DONE();
}
