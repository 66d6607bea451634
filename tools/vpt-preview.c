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
 * line.  Only the core (vpt_sign) is used: no helper of tools/lib.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpt_sign.h"

#if defined(__has_include)
#if __has_include("vpt_version.h")
#include "vpt_version.h"
#endif
#endif

#ifndef VPT_VERSION
#define VPT_VERSION  "dev"
#endif


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


static void
die(int code, const char *fmt, const char *arg)
{
    fprintf(stderr, "vpt-preview: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(code);
}


int
main(int argc, char **argv)
{
    int                  c;
    char                *end, err[VPT_ERRLEN], tok[VPT_SIGN_PREVIEW_MAX];
    size_t               n;
    long long            ttl;
    const char          *secret, *offer, *context, *url;
    vpt_sign_keys_t     *keys;
    vpt_sign_preview_t   p;

    static const struct option  opts[] = {
        { "secret",  required_argument, NULL, 's' },
        { "offer",   required_argument, NULL, 'o' },
        { "context", required_argument, NULL, 'c' },
        { "ttl",     required_argument, NULL, 't' },
        { "url",     required_argument, NULL, 'u' },
        { "help",    no_argument,       NULL, 'h' },
        { "version", no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };

    secret = offer = context = url = NULL;
    ttl = VPT_PREVIEW_TTL;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {

        case 's':
            secret = optarg;
            break;

        case 'o':
            offer = optarg;
            break;

        case 'c':
            context = optarg;
            break;

        case 'u':
            url = optarg;
            break;

        case 't':
            errno = 0;
            ttl = strtoll(optarg, &end, 10);

            if (errno || end == optarg || *end || ttl < 1
                || ttl > VPT_PREVIEW_TTL_MAX)
            {
                die(2, "--ttl: expected seconds in [1, 2592000], not \"%s\"",
                    optarg);
            }

            break;

        case 'h':
            fputs(usage, stdout);
            return 0;

        case 'V':
            printf("vpt-preview %s\n", VPT_VERSION);
            return 0;

        default:
            fputs(usage, stderr);
            return 2;
        }
    }

    if (optind != argc || secret == NULL
        || (offer == NULL) == (context == NULL))
    {
        fputs(usage, stderr);
        return 2;
    }

    p.mode = offer ? VPT_PREVIEW_OFFER : VPT_PREVIEW_CONTEXT;
    p.value.data = offer ? offer : context;
    p.value.len = strlen(p.value.data);
    p.expires = (int64_t) time(NULL) + ttl;

    keys = vpt_sign_keys_create();
    if (keys == NULL) {
        die(1, "%s", "libcrypto has no HMAC");
    }

    if (vpt_sign_keys_load(keys, secret, err, sizeof(err)) != VPT_OK) {
        die(1, "%s", err);
    }

    n = vpt_sign_preview(keys, &p, tok, sizeof(tok));
    vpt_sign_keys_free(keys);

    if (n == 0) {
        die(2, offer ? "--offer: \"%s\" is not an offer id (1 to 64 of "
                       "A-Z a-z 0-9 . _ : -)"
                     : "--context: \"%s\" is not a session key this preview "
                       "can carry (1 to 64 of A-Z a-z 0-9 . _ : -)",
            p.value.data);
    }

    if (url == NULL) {
        printf("%.*s\n", (int) n, tok);
        return 0;
    }

    /* before a fragment, after any query the URL has */
    end = strchr(url, '#');
    printf("%.*s%svpt_preview=%.*s%s\n",
           (int) (end ? end - url : (long) strlen(url)), url,
           strchr(url, '?') && (end == NULL || strchr(url, '?') < end)
               ? "&" : "?",
           (int) n, tok, end ? end : "");

    return 0;
}
