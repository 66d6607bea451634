/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Fuzz entry point for src/vpt_cluster.c, whatever a Redis node, a
 * sentinel or a shopper's session key may send.  The first byte picks the
 * parser, the rest is its input (an exact-size copy, so ASan sees any
 * read past its end):
 *
 *   'M' (and any byte not below)  an error reply for
 *        vpt_cluster_redirect_parse(): accepted, the slot is below 16384,
 *        the port 1..65535, the host inside the input, printable, at most
 *        255 bytes; the reply written again ("KIND SLOT HOST:PORT", an
 *        IPv6 host in brackets) parses to the same; the kind is what
 *        vpt_redis_error_kind() says.
 *   'S'  a get-master-addr-by-name reply, its elements split on '\n':
 *        accepted, exactly two, the host the first, the port 1..65535.
 *   'W'  a +switch-master message: accepted, name and host inside it.
 *   'K'  a key: its slot is the one a second, plain reading of Redis's
 *        rules gives; the derived key is no longer than its bound and in
 *        the same slot; the key with "{x}" in front hashes to "x".
 *   'C'  CLUSTER SLOTS as text, a range a line: "START END HOST:PORT
 *        [HOST:PORT ...]" (numbers as long long, any sign or size): built,
 *        every slot of a range maps to a master at that range's first
 *        address, the uncovered count is the number of unmapped slots, the
 *        masters' slots and the holes add up to 16384, a replica chosen
 *        for a slot is one of its master's, the holes' text is a NUL-
 *        terminated string within its buffer; refused, the reason is a
 *        non-empty line.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc -It/fuzz \
 *       -o build/fuzz/fuzz_cluster t/fuzz/fuzz_cluster.c src/vpt_*.c \
 *       -lpcre2-8 -ljansson -lm
 *   build/fuzz/fuzz_cluster -dict=t/fuzz/cluster.dict t/fuzz/corpus/cluster
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_cluster.h"
#include "fuzz_check.h"


#define RANGES_MAX  64
#define NODES_MAX   8


static int
inside(const char *p, size_t n, const char *in, size_t len)
{
    return n == 0 || (p >= in && p + n <= in + len);
}


static int
printable(const char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if ((unsigned char) p[i] <= 0x20 || (unsigned char) p[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


static void
fuzz_redirect(const char *in, size_t len)
{
    int                      rc, n;
    char                     again[512];
    vpt_redis_err_e          kind;
    vpt_cluster_redirect_t   r, r2;

    rc = vpt_cluster_redirect_parse(in, len, &r);
    kind = vpt_redis_error_kind(in, len);

    CHECK(rc == VPT_OK || rc == VPT_ERROR || rc == VPT_DECLINED);

    if (rc == VPT_DECLINED) {
        CHECK(kind != VPT_REDIS_ERR_MOVED && kind != VPT_REDIS_ERR_ASK);
        return;
    }

    CHECK(kind == VPT_REDIS_ERR_MOVED || kind == VPT_REDIS_ERR_ASK);

    if (rc != VPT_OK) {
        return;
    }

    CHECK(r.kind == kind);
    CHECK(r.slot < VPT_CLUSTER_SLOTS);
    CHECK(r.port >= 1 && r.port <= 65535);
    CHECK(r.host.len <= VPT_CLUSTER_HOST_MAX);
    CHECK(inside(r.host.data, r.host.len, in, len));
    CHECK(printable(r.host.data, r.host.len));
    CHECK(!(r.host.len == 1 && r.host.data[0] == '?'));

    n = snprintf(again, sizeof(again),
                 memchr(r.host.data, ':', r.host.len) ? "%s %u [%.*s]:%u"
                                                      : "%s %u %.*s:%u",
                 kind == VPT_REDIS_ERR_MOVED ? "MOVED" : "ASK", r.slot,
                 (int) r.host.len, r.host.data, r.port);
    CHECK(n > 0 && (size_t) n < sizeof(again));

    CHECK(vpt_cluster_redirect_parse(again, n, &r2) == VPT_OK);
    CHECK(r2.kind == r.kind && r2.slot == r.slot && r2.port == r.port);
    CHECK(r2.host.len == r.host.len
          && memcmp(r2.host.data, r.host.data, r.host.len) == 0);
}


static void
fuzz_sentinel(const char *in, size_t len)
{
    int          rc;
    size_t       n;
    unsigned     port;
    vpt_str_t    elem[4], host;
    const char  *p, *end, *nl;

    n = 0;
    p = in;
    end = in + len;

    while (len && n < 4) {
        nl = memchr(p, '\n', end - p);
        elem[n].data = p;
        elem[n].len = (nl ? nl : end) - p;
        n++;

        if (nl == NULL) {
            break;
        }

        p = nl + 1;
    }

    rc = vpt_sentinel_master_addr(n ? elem : NULL, n, &host, &port);

    CHECK(rc == VPT_OK || rc == VPT_ERROR || rc == VPT_DECLINED);
    CHECK(rc != VPT_DECLINED || n == 0);

    if (rc == VPT_OK) {
        CHECK(n == 2);
        CHECK(host.data == elem[0].data && host.len == elem[0].len);
        CHECK(host.len > 0 && printable(host.data, host.len));
        CHECK(port >= 1 && port <= 65535);
    }
}


static void
fuzz_switch(const char *in, size_t len)
{
    unsigned    port;
    vpt_str_t   name, host;

    if (vpt_sentinel_switch_parse(in, len, &name, &host, &port) != VPT_OK) {
        return;
    }

    CHECK(name.len > 0 && inside(name.data, name.len, in, len));
    CHECK(host.len > 0 && inside(host.data, host.len, in, len));
    CHECK(printable(host.data, host.len) && printable(name.data, name.len));
    CHECK(port >= 1 && port <= 65535);
}


/* Redis's rule read plainly: first '{', first '}' after it, not empty */

static unsigned
ref_slot(const char *k, size_t len)
{
    size_t  s, e;

    for (s = 0; s < len && k[s] != '{'; s++) {
        /* void */
    }

    if (s < len) {
        for (e = s + 1; e < len && k[e] != '}'; e++) {
            /* void */
        }

        if (e < len && e > s + 1) {
            return vpt_cluster_crc16(k + s + 1, e - s - 1) & 16383;
        }
    }

    return vpt_cluster_crc16(k, len) & 16383;
}


static void
fuzz_key(const char *in, size_t len)
{
    char      *out, *tagged;
    size_t     n, max;
    unsigned   slot;

    slot = vpt_cluster_keyslot(in, len);
    CHECK(slot == ref_slot(in, len));

    max = VPT_CLUSTER_SIBLING_MAX(len, 4);
    out = fuzz_malloc(max);
    n = vpt_cluster_sibling_key(out, in, len, ":vpt", 4);
    CHECK(n <= max);
    CHECK(n >= len + 4);
    CHECK(vpt_cluster_keyslot(out, n) == slot);
    free(out);

    tagged = fuzz_malloc(len + 3);
    memcpy(tagged, "{x}", 3);
    memcpy(tagged + 3, in, len);
    CHECK(vpt_cluster_keyslot(tagged, len + 3)
          == vpt_cluster_keyslot("x", 1));
    free(tagged);
}


/* a signed decimal of any length, saturating; *p moves past it */

static long long
number(const char **p, const char *end)
{
    int        neg;
    long long  v;

    neg = 0;
    v = 0;

    if (*p < end && (**p == '-' || **p == '+')) {
        neg = (**p == '-');
        (*p)++;
    }

    while (*p < end && **p >= '0' && **p <= '9') {
        v = v > 100000000000LL ? v : v * 10 + (**p - '0');
        (*p)++;
    }

    return neg ? -v : v;
}


static void
fuzz_map(const char *in, size_t len)
{
    int                      f;
    char                     err[VPT_CLUSTER_ERRLEN], holes[48];
    size_t                   n, i, s, covered, sum, hl;
    unsigned                 m, r;
    const char              *p, *end, *eol, *sp, *colon;
    vpt_cluster_map_t       *map;
    vpt_cluster_range_in_t   range[RANGES_MAX];
    vpt_cluster_node_in_t    node[RANGES_MAX][NODES_MAX];

    n = 0;
    p = in;
    end = in + len;

    while (p < end && n < RANGES_MAX) {
        eol = memchr(p, '\n', end - p);
        eol = eol ? eol : end;

        range[n].start = number(&p, eol);
        if (p < eol && *p == ' ') {
            p++;
        }

        range[n].end = number(&p, eol);
        range[n].node = node[n];
        range[n].nnodes = 0;

        while (p < eol && *p == ' ' && range[n].nnodes < NODES_MAX) {
            p++;
            sp = memchr(p, ' ', eol - p);
            sp = sp ? sp : eol;

            colon = NULL;
            for (i = 0; p + i < sp; i++) {
                if (p[i] == ':') {
                    colon = p + i;
                }
            }

            node[n][range[n].nnodes].host.data = p;
            node[n][range[n].nnodes].host.len = (colon ? colon : sp) - p;

            p = colon ? colon + 1 : sp;
            node[n][range[n].nnodes].port = number(&p, sp);
            range[n].nnodes++;
            p = sp;
        }

        n++;
        p = eol + 1;
    }

    map = vpt_cluster_map_build(range, n, err, sizeof(err));

    if (map == NULL) {
        CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
        CHECK(strchr(err, '\n') == NULL);
        return;
    }

    CHECK(map->nmasters <= map->nnodes);
    CHECK(map->nnodes <= VPT_CLUSTER_NODES_MAX);

    covered = 0;

    for (s = 0; s < VPT_CLUSTER_SLOTS; s++) {
        m = vpt_cluster_map_master(map, s);

        if (m == VPT_CLUSTER_NO_NODE) {
            CHECK(vpt_cluster_map_replica(map, s, s) == VPT_CLUSTER_NO_NODE);
            continue;
        }

        covered++;
        CHECK(m < map->nmasters && map->node[m].master == m);

        r = vpt_cluster_map_replica(map, s, s * 7919);
        CHECK(r < map->nnodes && map->node[r].master == m);
        CHECK(r == m || r >= map->nmasters);
    }

    CHECK(covered + map->uncovered == VPT_CLUSTER_SLOTS);

    sum = 0;

    for (i = 0; i < map->nmasters; i++) {
        sum += map->node[i].slots;
        f = vpt_cluster_map_find(map, map->node[i].host,
                                 map->node[i].host_len, map->node[i].port);
        CHECK(f == (int) i);
        CHECK(strlen(map->node[i].host) == map->node[i].host_len);
    }

    CHECK(sum == covered);

    for (i = 0; i < n; i++) {
        for (s = (size_t) range[i].start; s <= (size_t) range[i].end; s++) {
            m = vpt_cluster_map_master(map, s);
            CHECK(m < map->nmasters);
            CHECK(map->node[m].port == range[i].node[0].port);
            CHECK(map->node[m].host_len == range[i].node[0].host.len);
            CHECK(memcmp(map->node[m].host, range[i].node[0].host.data,
                         map->node[m].host_len) == 0);
        }
    }

    hl = vpt_cluster_map_holes(map, holes, sizeof(holes));
    CHECK(hl < sizeof(holes) && holes[hl] == '\0' && strlen(holes) == hl);
    CHECK((hl == 0) == (map->uncovered == 0));

    vpt_cluster_map_free(map);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char        *in;
    size_t       len;
    const char  *kind;

    if (size == 0) {
        return 0;
    }

    kind = (const char *) data;
    len = size - 1;
    in = fuzz_malloc(len);
    memcpy(in, data + 1, len);

    switch (*kind) {

    case 'S':
        fuzz_sentinel(in, len);
        break;

    case 'W':
        fuzz_switch(in, len);
        break;

    case 'K':
        fuzz_key(in, len);
        break;

    case 'C':
        fuzz_map(in, len);
        break;

    default:
        fuzz_redirect(in, len);
        break;
    }

    free(in);

    return 0;
}
