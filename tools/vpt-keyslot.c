/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-keyslot [--prefix P] [--json] SESSION...
 * vpt-keyslot [--prefix P] [--json] -          (one session a line)
 *
 * Where a shopper's keys live in a Redis Cluster, computed by the
 * module's own code (src/vpt_cluster.c): for each session key, its
 * context key (P + session, P defaulting to "vpt:ctx:" as
 * vpt_context_prefix does), the hash slot of that key, and the counters
 * key the module derives from it, which is in the same slot.  A shop
 * writing contexts into a cluster can check its keys, and see with
 * CLUSTER KEYSLOT that Redis agrees.
 *
 * Text: "SLOT<TAB>CONTEXT KEY<TAB>COUNTERS KEY" a line, the keys as they
 * are (a session with a tab makes the line ambiguous: use --json).
 * --json: one object a line, {"session": ..., "context_key": ...,
 * "counters_key": ..., "slot": N}.  Exit status 0, 1 when stdin cannot be
 * read, 2 for bad options.
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"
#include "vpt_cluster.h"


static const char  vpt_usage_text[] =
    "Usage: vpt-keyslot [--prefix P] [--json] SESSION...\n"
    "   or: vpt-keyslot [--prefix P] [--json] -    (a session a line)\n"
    "Prints where each shopper's keys live in a Redis Cluster, computed by\n"
    "the module's own code: the hash slot, the context key and the\n"
    "counters key (always in the same slot), a line each: SLOT, TAB,\n"
    "CONTEXT KEY, TAB, COUNTERS KEY.\n"
    "\n"
    "  --prefix P    the key prefix, as vpt_context_prefix (default vpt:ctx:)\n"
    "  --json        one JSON object per session and line\n"
    "  --help        print this help and exit\n"
    "  --version     print the version and exit\n"
    "  SESSION       a session key; \"-\" reads them from standard input\n"
    "\n"
    "Exit status: 0; 1 when standard input cannot be read; 2 for bad\n"
    "options.\n";

static const char  *prefix = "vpt:ctx:";
static int          json;


static void
keyslot(const char *session, size_t len)
{
    char      *ctx, *counters;
    size_t     plen, clen, n;
    unsigned   slot;

    plen = strlen(prefix);
    clen = plen + len;

    ctx = vpt_xalloc(clen + 1);
    memcpy(ctx, prefix, plen);
    memcpy(ctx + plen, session, len);

    /* ":vpt", the module's suffix of the counters (NGX_VPT_COUNTERS) */
    counters = vpt_xalloc(VPT_CLUSTER_SIBLING_MAX(clen, 4));
    n = vpt_cluster_sibling_key(counters, ctx, clen, ":vpt", 4);
    slot = vpt_cluster_keyslot(ctx, clen);

    if (json) {
        fputs("{\"session\": ", stdout);
        vpt_json_str(stdout, session, len);
        fputs(", \"context_key\": ", stdout);
        vpt_json_str(stdout, ctx, clen);
        fputs(", \"counters_key\": ", stdout);
        vpt_json_str(stdout, counters, n);
        printf(", \"slot\": %u}\n", slot);

    } else {
        printf("%u\t%.*s\t%.*s\n", slot, (int) clen, ctx, (int) n,
               counters);
    }

    free(ctx);
    free(counters);
}


int
main(int argc, char **argv)
{
    int        c;
    char      *line;
    size_t     len;
    vpt_in_t   in;

    vpt_opt_t  opts[] = {
        { "prefix", VPT_OPT_STR, &prefix, 0, 0 },
        { "json", VPT_OPT_FLAG, &json, 0, 0 },
        { NULL, 0, NULL, 0, 0 }
    };

    vpt_tool_init("vpt-keyslot", vpt_usage_text);

    vpt_opt_next(argc, argv, opts);

    if (optind == argc) {
        vpt_usage(2);
    }

    vpt_cluster_init();
    setvbuf(stdout, NULL, _IOFBF, 64 * 1024);

    for (c = optind; c < argc; c++) {

        if (strcmp(argv[c], "-") != 0) {
            keyslot(argv[c], strlen(argv[c]));
            continue;
        }

        if (vpt_in_open(&in, "-", 0) != VPT_OK) {
            vpt_die(1, "vpt-keyslot: stdin: %s", strerror(errno));
        }

        while (vpt_in_line(&in, &line, &len) == 1) {
            keyslot(line, len);
        }

        vpt_in_close(&in);
    }

    return 0;
}
