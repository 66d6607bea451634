/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The command line: the tool's name and usage, its options from a table,
 * and the catalog, model and ranker the options name, each loaded or the
 * tool ends with the loader's message.
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_tools.h"


#define VPT_OPT_MAX   32
#define VPT_OPT_VERSION  1


static const char  *vpt_tool_usage = "";

const char         *vpt_tool = "vpt";


void
vpt_tool_init(const char *name, const char *usage)
{
    vpt_tool = name;
    vpt_tool_usage = usage;
}


void
vpt_usage(int code)
{
    fputs(vpt_tool_usage, code ? stderr : stdout);
    exit(code);
}


double
vpt_num_arg(const char *opt, const char *s, double lo, double hi)
{
    char    *e;
    double   x;

    errno = 0;
    x = strtod(s, &e);

    if (e == s || *e || errno || !(x >= lo && x <= hi)) {
        vpt_die(2, "%s: %s: expected a number in [%.15g, %.15g], "
                "not \"%s\"", vpt_tool, opt, lo, hi, s);
    }

    return x;
}


const vpt_opt_t *
vpt_opt_next(int argc, char **argv, const vpt_opt_t *opts)
{
    int               c, n;
    char              name[64];
    double            x;
    const vpt_opt_t  *o;
    struct option     lo[VPT_OPT_MAX + 3];

    for (n = 0; n < VPT_OPT_MAX && opts[n].name != NULL; n++) {
        lo[n].name = opts[n].name;
        lo[n].has_arg = (opts[n].type == VPT_OPT_FLAG) ? no_argument
                                                       : required_argument;
        lo[n].flag = NULL;
        lo[n].val = 256 + n;
    }

    lo[n].name = "help";
    lo[n].has_arg = no_argument;
    lo[n].flag = NULL;
    lo[n].val = 'h';

    lo[n + 1].name = "version";
    lo[n + 1].has_arg = no_argument;
    lo[n + 1].flag = NULL;
    lo[n + 1].val = VPT_OPT_VERSION;

    memset(&lo[n + 2], 0, sizeof(struct option));

    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {

        if (c == 'h') {
            vpt_usage(0);
        }

        if (c == VPT_OPT_VERSION) {
            printf("%s %s\n", vpt_tool, VPT_VERSION);
            exit(0);
        }

        if (c < 256 || c >= 256 + n) {
            vpt_usage(2);
        }

        o = &opts[c - 256];
        snprintf(name, sizeof(name), "--%s", o->name);

        switch (o->type) {

        case VPT_OPT_FLAG:
            *(int *) o->to = 1;
            break;

        case VPT_OPT_STR:
            *(const char **) o->to = optarg;
            break;

        case VPT_OPT_NUM:
            *(double *) o->to = vpt_num_arg(name, optarg, o->min, o->max);
            break;

        case VPT_OPT_UINT:
            x = vpt_num_arg(name, optarg, o->min, o->max);
            *(unsigned *) o->to = (unsigned) x;
            break;

        case VPT_OPT_U64:
            x = vpt_num_arg(name, optarg, o->min, o->max);
            *(uint64_t *) o->to = (uint64_t) x;
            break;

        default: /* VPT_OPT_OWN */
            return o;
        }
    }

    return NULL;
}


vpt_catalog_t *
vpt_xcatalog_load(const char *path)
{
    char            err[VPT_ERRLEN];
    vpt_catalog_t  *c;

    c = vpt_catalog_load(path, err, sizeof(err));
    if (c == NULL) {
        vpt_die(2, "%s: %s", vpt_tool, err);
    }

    return c;
}


vpt_model_t *
vpt_xmodel_load(const char *path)
{
    char          err[VPT_ERRLEN];
    vpt_model_t  *m;

    if (path == NULL) {
        return NULL;
    }

    m = vpt_model_load(path, err, sizeof(err));
    if (m == NULL) {
        vpt_die(2, "%s: %s", vpt_tool, err);
    }

    return m;
}


vpt_ranker_t *
vpt_xranker_create(const vpt_catalog_t *c, const vpt_model_t *m)
{
    char           err[VPT_ERRLEN];
    vpt_ranker_t  *r;

    r = vpt_ranker_create(c, m, err, sizeof(err));
    if (r == NULL) {
        vpt_die(2, "%s: %s", vpt_tool, err);
    }

    return r;
}
