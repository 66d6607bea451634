/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-preview: a signed QA preview token, for the query argument
 * vpt_preview=TOKEN, which shows an offer (or the decision for a stored
 * context) on the shop's real page before it goes live.  Signed with the
 * accept links' secret (vpt_secret: the first file there), so only
 * someone who can read that file can make one.
 *
 *   vpt-preview --secret FILE --offer ID [--ttl SECONDS] [--url URL]
 *   vpt-preview --secret FILE --context SESSION [--ttl SECONDS] [--url URL]
 *
 * Prints the token, or with --url the URL with vpt_preview=TOKEN added.
 * The token expires after --ttl seconds (default 3600, at most 30 days).
 * Exit status 0, 1 when the secret cannot be read, 2 for a bad command
 * line.
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vpt_sign.h"
#include "vpt_tools.h"


#define VPT_PREVIEW_TTL      3600
#define VPT_PREVIEW_TTL_MAX  (30 * 86400)


static const char  usage[] =
    "Usage: vpt-preview --secret FILE (--offer ID | --context SESSION)\n"
    "                   [--ttl SECONDS] [--url URL]\n"
    "\n"
    "Prints a signed preview token for the query argument vpt_preview=,\n"
    "which forces the offer ID (or shows the decision for the context\n"
    "stored for SESSION) on the page; nothing is counted or logged as a\n"
    "decision.  FILE is the secret nginx signs accept links with (the first\n"
    "file of vpt_secret).\n"
    "\n"
    "  --secret FILE      the secret (at least 32 bytes)\n"
    "  --offer ID         an offer id of the catalog\n"
    "  --context SESSION  a session key whose stored context decides\n"
    "  --ttl SECONDS      how long the token is valid (default 3600,\n"
    "                     at most 2592000)\n"
    "  --url URL          print URL with vpt_preview=TOKEN added\n"
    "  --help             print this help and exit\n"
    "  --version          print the release and exit\n";


/* the token for offer or context, valid for ttl seconds; n its length */
static size_t
preview_sign(const char *secret, const char *offer, const char *context,
    double ttl, char *tok, size_t size)
{
    char                 err[VPT_ERRLEN];
    size_t               n;
    vpt_sign_keys_t     *keys;
    vpt_sign_preview_t   p;

    p.mode = offer ? VPT_PREVIEW_OFFER : VPT_PREVIEW_CONTEXT;
    p.value.data = offer ? offer : context;
    p.value.len = strlen(p.value.data);
    p.expires = (int64_t) time(NULL) + (int64_t) ttl;

    keys = vpt_sign_keys_create();
    if (keys == NULL) {
        vpt_die(1, "%s: libcrypto has no HMAC", vpt_tool);
    }

    if (vpt_sign_keys_load(keys, secret, err, sizeof(err)) != VPT_OK) {
        vpt_die(1, "%s: %s", vpt_tool, err);
    }

    n = vpt_sign_preview(keys, &p, tok, size);
    vpt_sign_keys_free(keys);

    if (n == 0) {
        vpt_die(2, offer ? "%s: --offer: \"%s\" is not an offer id (1 to 64 "
                           "of A-Z a-z 0-9 . _ : -)"
                         : "%s: --context: \"%s\" is not a session key this "
                           "preview can carry (1 to 64 of A-Z a-z 0-9 . _ : "
                           "-)",
                vpt_tool, p.value.data);
    }

    return n;
}


/* the token alone, or url with vpt_preview=TOKEN before any fragment */
static void
preview_print(const char *url, const char *tok, size_t n)
{
    const char  *frag, *query;

    if (url == NULL) {
        printf("%.*s\n", (int) n, tok);
        return;
    }

    frag = strchr(url, '#');
    query = strchr(url, '?');

    printf("%.*s%svpt_preview=%.*s%s\n",
           (int) (frag ? frag - url : (long) strlen(url)), url,
           query && (frag == NULL || query < frag) ? "&" : "?",
           (int) n, tok, frag ? frag : "");
}


int
main(int argc, char **argv)
{
    char         tok[VPT_SIGN_PREVIEW_MAX];
    size_t       n;
    double       ttl;
    const char  *secret, *offer, *context, *url;

    const vpt_opt_t  opts[] = {
        { "secret",  VPT_OPT_STR, &secret,  0, 0 },
        { "offer",   VPT_OPT_STR, &offer,   0, 0 },
        { "context", VPT_OPT_STR, &context, 0, 0 },
        { "ttl",     VPT_OPT_NUM, &ttl,     1, VPT_PREVIEW_TTL_MAX },
        { "url",     VPT_OPT_STR, &url,     0, 0 },
        { NULL,      0,           NULL,     0, 0 }
    };

    vpt_tool_init("vpt-preview", usage);

    secret = offer = context = url = NULL;
    ttl = VPT_PREVIEW_TTL;

    (void) vpt_opt_next(argc, argv, opts);

    if (optind != argc || secret == NULL
        || (offer == NULL) == (context == NULL))
    {
        vpt_usage(2);
    }

    n = preview_sign(secret, offer, context, ttl, tok, sizeof(tok));
    preview_print(url, tok, n);

    return 0;
}
