/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Fuzz entry point for the accept-link and preview verifiers (vpt_sign.h),
 * under a set of two secrets (the second as a rotated-out one would be).
 * The input: one selector byte, then fields separated by '\n'.
 *
 *   selector & 3 == 0: "d\no\nx\nTOKEN", an accept link as a shopper
 *                      could send it;
 *   selector & 3 == 1: "TOKEN", a vpt_preview argument;
 *   selector & 3 >= 2: "d\no\nx\nEDITS": the fields are signed (by either
 *                      secret, expiry from the selector), then EDITS
 *                      alter the token (pairs of position, byte; a
 *                      position past the end truncates there).
 *
 * Checked, beyond the sanitizers (every token is an exact-size heap copy):
 *
 *   - a verdict is one of the four, its reason a short printable line,
 *     and the same token checked twice gets the same verdict;
 *   - an accepted (ok or expired) accept token is, byte for byte, what
 *     vpt_sign_accept() makes for those fields and that expiry under the
 *     secret said to match; expired exactly when the expiry is past; an
 *     accepted preview likewise, its value inside the token;
 *   - a token we signed is ok; once edited, it is accepted only when the
 *     edits left it as it was;
 *   - no accept token passes as a preview nor the other way round.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc -It/fuzz \
 *       -o build/fuzz/fuzz_sign t/fuzz/fuzz_sign.c src/vpt_*.c \
 *       -lpcre2-8 -ljansson -lcrypto -lm
 *   build/fuzz/fuzz_sign -dict=t/fuzz/sign.dict t/fuzz/corpus/sign
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_sign.h"
#include "fuzz_check.h"


#define K1   "fuzz-secret-one-0123456789abcdefghijklmnop"
#define K2   "fuzz-secret-two-ABCDEFGHIJKLMNOP0123456789"
#define NOW  1767225000LL

#define NFIELDS  4


typedef struct {
    const char  *data[NFIELDS];
    size_t       len[NFIELDS];
    size_t       n;
} fields_t;


static vpt_sign_keys_t  *both, *only[2];


static vpt_sign_keys_t *
keys(const char *a, const char *b)
{
    vpt_sign_keys_t  *k;

    k = vpt_sign_keys_create();
    CHECK(k != NULL);
    CHECK(vpt_sign_keys_add(k, a, strlen(a), NULL, 0) == VPT_OK);

    if (b != NULL) {
        CHECK(vpt_sign_keys_add(k, b, strlen(b), NULL, 0) == VPT_OK);
    }

    return k;
}


static void
init(void)
{
    if (both == NULL) {
        both = keys(K1, K2);
        only[0] = keys(K1, NULL);
        only[1] = keys(K2, NULL);
    }
}


/* the first NFIELDS - 1 fields end at '\n', the last takes the rest */
static void
split(const uint8_t *data, size_t size, fields_t *f)
{
    size_t  i, start;

    memset(f, 0, sizeof(fields_t));
    start = 0;

    for (i = 0; i < size && f->n < NFIELDS - 1; i++) {
        if (data[i] == '\n') {
            f->data[f->n] = (const char *) data + start;
            f->len[f->n++] = i - start;
            start = i + 1;
        }
    }

    f->data[f->n] = (const char *) data + start;
    f->len[f->n++] = size - start;
}


static void
check_why(const vpt_sign_check_t *res)
{
    size_t  i, n;

    CHECK(res->why != NULL);
    n = strlen(res->why);
    CHECK(n > 0 && n < 80);

    for (i = 0; i < n; i++) {
        CHECK(res->why[i] >= 0x20 && res->why[i] < 0x7f);
    }
}


static vpt_sign_rc_e
verify_accept(const vpt_sign_accept_t *a, const char *tok, size_t len)
{
    char              *copy, want[VPT_SIGN_ACCEPT_MAX];
    size_t             n;
    vpt_sign_rc_e      rc, rc2;
    vpt_sign_check_t   res;
    vpt_sign_accept_t  again;

    copy = fuzz_malloc(len);
    if (len) {
        memcpy(copy, tok, len);
    }

    rc = vpt_sign_accept_verify(both, a, copy, len, NOW, &res);
    CHECK(rc <= VPT_SIGN_MALFORMED);
    check_why(&res);

    rc2 = vpt_sign_accept_verify(both, a, copy, len, NOW, NULL);
    CHECK(rc2 == rc);

    if (rc == VPT_SIGN_OK || rc == VPT_SIGN_EXPIRED) {
        CHECK(res.key == 0 || res.key == 1);
        CHECK((rc == VPT_SIGN_EXPIRED) == (res.expires < NOW));

        again = *a;
        again.expires = res.expires;
        n = vpt_sign_accept(only[res.key], &again, want, sizeof(want));
        CHECK(n == len && memcmp(want, copy, n) == 0);

        /* never a preview */
        CHECK(vpt_sign_preview_verify(both, copy, len, NOW, NULL, NULL)
              >= VPT_SIGN_FORGED);

    } else {
        CHECK(res.key == -1);
    }

    free(copy);

    return rc;
}


static vpt_sign_rc_e
verify_preview(const char *tok, size_t len)
{
    char                *copy, want[VPT_SIGN_PREVIEW_MAX];
    size_t               n;
    vpt_sign_rc_e        rc;
    vpt_sign_check_t     res;
    vpt_sign_accept_t    a;
    vpt_sign_preview_t   p;

    copy = fuzz_malloc(len);
    if (len) {
        memcpy(copy, tok, len);
    }

    memset(&p, 0, sizeof(p));
    rc = vpt_sign_preview_verify(both, copy, len, NOW, &p, &res);
    CHECK(rc <= VPT_SIGN_MALFORMED);
    check_why(&res);
    CHECK(vpt_sign_preview_verify(both, copy, len, NOW, NULL, NULL) == rc);

    if (rc == VPT_SIGN_OK || rc == VPT_SIGN_EXPIRED) {
        CHECK(res.key == 0 || res.key == 1);
        CHECK(p.expires == res.expires);
        CHECK((rc == VPT_SIGN_EXPIRED) == (p.expires < NOW));
        CHECK(p.value.data >= copy && p.value.len >= 1
              && p.value.data + p.value.len == copy + len);

        n = vpt_sign_preview(only[res.key], &p, want, sizeof(want));
        CHECK(n == len && memcmp(want, copy, n) == 0);

    } else {
        CHECK(res.key == -1);
    }

    /* the same bytes as an accept token, for fields a preview signs */
    a.decision.data = copy;
    a.decision.len = len ? 1 : 0;
    a.offer = p.value;
    a.experiment.data = "";
    a.experiment.len = 0;
    a.expires = 0;

    if (len > 2) {
        CHECK(vpt_sign_accept_verify(both, &a, copy + 2, len - 2, NOW, NULL)
              >= VPT_SIGN_FORGED);
    }

    free(copy);

    return rc;
}


static void
accept_fields(const fields_t *f, vpt_sign_accept_t *a)
{
    a->decision.data = f->n > 0 ? f->data[0] : "";
    a->decision.len = f->n > 0 ? f->len[0] : 0;
    a->offer.data = f->n > 1 ? f->data[1] : "";
    a->offer.len = f->n > 1 ? f->len[1] : 0;
    a->experiment.data = f->n > 2 ? f->data[2] : "";
    a->experiment.len = f->n > 2 ? f->len[2] : 0;
    a->expires = 0;
}


/* our own token, edited: accepted exactly when the edits changed nothing */
static void
signed_then_edited(uint8_t sel, const fields_t *f)
{
    char               tok[VPT_SIGN_ACCEPT_MAX], orig[VPT_SIGN_ACCEPT_MAX];
    size_t             n, len, i, pos;
    const uint8_t     *edits;
    vpt_sign_rc_e      rc;
    vpt_sign_accept_t  a;

    accept_fields(f, &a);

    /* expiries on both sides of NOW, and the extremes */
    a.expires = NOW - 600 + (int64_t) (sel >> 2) * 20;
    if ((sel >> 2) == 63) {
        a.expires = VPT_SIGN_EXPIRES_MAX;
    } else if ((sel >> 2) == 62) {
        a.expires = 0;
    }

    n = vpt_sign_accept(only[sel & 1], &a, tok, sizeof(tok));

    if (n == 0) {
        /* only a field over the limit stops signing */
        CHECK(a.decision.len > VPT_SIGN_FIELD_MAX
              || a.offer.len > VPT_SIGN_FIELD_MAX
              || a.experiment.len > VPT_SIGN_FIELD_MAX);
        return;
    }

    rc = verify_accept(&a, tok, n);
    CHECK(rc == (a.expires < NOW ? VPT_SIGN_EXPIRED : VPT_SIGN_OK));

    memcpy(orig, tok, n);
    len = n;
    edits = (const uint8_t *) (f->n > 3 ? f->data[3] : "");

    for (i = 0; f->n > 3 && i + 1 < f->len[3]; i += 2) {
        pos = edits[i];

        if (pos >= len) {
            len = pos % (len + 1);
            continue;
        }

        tok[pos] = (char) edits[i + 1];
    }

    rc = verify_accept(&a, tok, len);

    if (len == n && memcmp(tok, orig, n) == 0) {
        CHECK(rc == VPT_SIGN_OK || rc == VPT_SIGN_EXPIRED);

    } else {
        CHECK(rc == VPT_SIGN_FORGED || rc == VPT_SIGN_MALFORMED);
    }

    /* the same fields and edits as a preview of offer "o" */
    (void) verify_preview(tok, len);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t            sel;
    fields_t           f;
    vpt_sign_accept_t  a;

    init();

    if (size == 0) {
        return 0;
    }

    sel = data[0];
    split(data + 1, size - 1, &f);

    switch (sel & 3) {
    case 0:
        accept_fields(&f, &a);
        (void) verify_accept(&a, f.n > 3 ? f.data[3] : "",
                             f.n > 3 ? f.len[3] : 0);
        break;

    case 1:
        (void) verify_preview((const char *) data + 1, size - 1);
        break;

    default:
        signed_then_edited(sel, &f);
        break;
    }

    return 0;
}
