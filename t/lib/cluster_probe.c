/*
 * Copyright (C) ngx_vpt_module authors
 *
 * src/vpt_cluster.c's parsers on what real servers said, for
 * t/40-topology.t (which compiles this with the core file).  One command
 * a line on stdin, fields separated by tabs, one answer line each:
 *
 *   redirect TEXT               ok MOVED|ASK SLOT HOST PORT | error | declined
 *   kind TEXT                   the vpt_redis_err_e, as a word
 *   sentinel [HOST PORT]        ok HOST PORT | error | declined (nil)
 *   range START END HOST:PORT...    (no answer: adds a CLUSTER SLOTS entry)
 *   build                       ok NODES MASTERS UNCOVERED | error WHY
 *   master SLOT                 HOST:PORT | none   (of the last build)
 *   holes                       the holes' text, "-" for none
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_cluster.h"


#define RANGES_MAX  1024
#define NODES_MAX   8
#define FIELDS_MAX  (NODES_MAX + 4)


static vpt_cluster_range_in_t  range[RANGES_MAX];
static vpt_cluster_node_in_t   node[RANGES_MAX][NODES_MAX];
static size_t                  nranges;
static vpt_cluster_map_t      *map;

/* in vpt_redis_err_e's order */
static const char  *kinds[] = {
    "OTHER", "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "READONLY",
    "MASTERDOWN", "LOADING", "NOAUTH", "WRONGPASS", "NOPERM", "WRONGTYPE"
};


static size_t
split(char *line, char **f)
{
    size_t  n;
    char   *tab;

    n = 0;

    while (n < FIELDS_MAX) {
        f[n++] = line;
        tab = strchr(line, '\t');

        if (tab == NULL) {
            break;
        }

        *tab = '\0';
        line = tab + 1;
    }

    return n;
}


static void
add_range(char **f, size_t n)
{
    size_t   i;
    char    *colon, *copy;

    if (nranges == RANGES_MAX || n < 3) {
        return;
    }

    range[nranges].start = atoll(f[1]);
    range[nranges].end = atoll(f[2]);
    range[nranges].node = node[nranges];
    range[nranges].nnodes = 0;

    for (i = 3; i < n && i - 3 < NODES_MAX; i++) {
        copy = strdup(f[i]);
        if (copy == NULL) {
            abort();
        }

        colon = strrchr(copy, ':');
        node[nranges][i - 3].host.data = copy;
        node[nranges][i - 3].host.len = colon ? (size_t) (colon - copy)
                                              : strlen(copy);
        node[nranges][i - 3].port = colon ? atoll(colon + 1) : 0;
        range[nranges].nnodes++;
    }

    nranges++;
}


int
main(void)
{
    int                      rc;
    char                     line[65536], holes[4096], *f[FIELDS_MAX];
    char                     err[VPT_CLUSTER_ERRLEN];
    size_t                   n, len, i, j;
    unsigned                 m, port;
    vpt_str_t                host, elem[2];
    vpt_cluster_redirect_t   r;

    setvbuf(stdout, NULL, _IOLBF, 0);

    while (fgets(line, sizeof(line), stdin) != NULL) {
        len = strlen(line);

        if (len && line[len - 1] == '\n') {
            line[--len] = '\0';
        }

        n = split(line, f);

        if (strcmp(f[0], "redirect") == 0 && n == 2) {
            rc = vpt_cluster_redirect_parse(f[1], strlen(f[1]), &r);

            if (rc == VPT_OK) {
                printf("ok %s %u %.*s %u\n",
                       r.kind == VPT_REDIS_ERR_MOVED ? "MOVED" : "ASK",
                       r.slot, (int) r.host.len, r.host.data, r.port);
            } else {
                puts(rc == VPT_DECLINED ? "declined" : "error");
            }

        } else if (strcmp(f[0], "kind") == 0 && n == 2) {
            puts(kinds[vpt_redis_error_kind(f[1], strlen(f[1]))]);

        } else if (strcmp(f[0], "sentinel") == 0) {
            for (i = 1; i < n && i < 3; i++) {
                elem[i - 1].data = f[i];
                elem[i - 1].len = strlen(f[i]);
            }

            rc = vpt_sentinel_master_addr(n > 1 ? elem : NULL, n - 1, &host,
                                          &port);
            if (rc == VPT_OK) {
                printf("ok %.*s %u\n", (int) host.len, host.data, port);
            } else {
                puts(rc == VPT_DECLINED ? "declined" : "error");
            }

        } else if (strcmp(f[0], "range") == 0) {
            add_range(f, n);

        } else if (strcmp(f[0], "build") == 0) {
            vpt_cluster_map_free(map);
            map = vpt_cluster_map_build(range, nranges, err, sizeof(err));

            if (map == NULL) {
                printf("error %s\n", err);
            } else {
                printf("ok %zu %zu %zu\n", map->nnodes, map->nmasters,
                       map->uncovered);
            }

            for (i = 0; i < nranges; i++) {
                for (j = 0; j < range[i].nnodes; j++) {
                    free((char *) node[i][j].host.data);
                }
            }

            nranges = 0;

        } else if (strcmp(f[0], "master") == 0 && n == 2 && map != NULL) {
            m = vpt_cluster_map_master(map, (unsigned) atoi(f[1]));

            if (m == VPT_CLUSTER_NO_NODE) {
                puts("none");
            } else {
                printf("%s:%u\n", map->node[m].host, map->node[m].port);
            }

        } else if (strcmp(f[0], "holes") == 0 && map != NULL) {
            len = vpt_cluster_map_holes(map, holes, sizeof(holes));
            puts(len ? holes : "-");

        } else {
            printf("? %s\n", f[0]);
        }
    }

    vpt_cluster_map_free(map);

    return 0;
}
