/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Redis Cluster and Sentinel without connections (vpt_cluster.h): hash
 * slots, derived keys, the slot map, error replies, Sentinel answers.
 *
 * Past 800 lines on purpose: every reply the store reads from a cluster
 * or a sentinel is parsed here, checked byte by byte, with no I/O.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpt_cluster.h"


#define VPT_SLOT_MASK   (VPT_CLUSTER_SLOTS - 1)


static int vpt_cluster_port(const char *p, size_t len, unsigned *port);
static int vpt_cluster_host_ok(const char *p, size_t len, int empty_ok);
static void vpt_cluster_err(char *err, size_t errlen, const char *fmt, ...);


static uint16_t  vpt_crc16_table[256];
static char      vpt_slot_tags[VPT_CLUSTER_SLOTS][4];
static int       vpt_crc16_ready;
static int       vpt_slot_tags_ready;


static const char  vpt_tag_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";


void
vpt_cluster_init(void)
{
    char      s[3];
    size_t    a, n, i, j, k, filled;
    unsigned  slot, bit;
    uint16_t  crc;

    if (vpt_slot_tags_ready) {
        return;
    }

    for (i = 0; i < 256; i++) {
        crc = (uint16_t) (i << 8);

        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t) ((crc << 1) ^ 0x1021)
                                 : (uint16_t) (crc << 1);
        }

        vpt_crc16_table[i] = crc;
    }

    vpt_crc16_ready = 1;

    /*
     * Form 3's strings: the first of 1, 2, then 3 bytes of the alphabet,
     * in the alphabet's order, that lands in each slot.  t/unit checks
     * every slot gets one (3 bytes of 62 make 238,328 strings).
     */
    a = sizeof(vpt_tag_alphabet) - 1;
    filled = 0;

    for (n = 1; n <= 3 && filled < VPT_CLUSTER_SLOTS; n++) {
        for (i = 0; i < a; i++) {
            for (j = 0; j < (n > 1 ? a : 1); j++) {
                for (k = 0; k < (n > 2 ? a : 1); k++) {
                    s[0] = vpt_tag_alphabet[i];
                    s[1] = vpt_tag_alphabet[j];
                    s[2] = vpt_tag_alphabet[k];

                    slot = vpt_cluster_crc16(s, n) & VPT_SLOT_MASK;

                    if (vpt_slot_tags[slot][0] == '\0') {
                        memcpy(vpt_slot_tags[slot], s, n);
                        filled++;
                    }
                }
            }
        }
    }

    vpt_slot_tags_ready = 1;
}


uint16_t
vpt_cluster_crc16(const char *data, size_t len)
{
    uint16_t              crc;
    const unsigned char  *p;

    if (!vpt_crc16_ready) {
        vpt_cluster_init();
    }

    p = (const unsigned char *) data;
    crc = 0;

    while (len--) {
        crc = (uint16_t) ((crc << 8) ^ vpt_crc16_table[(crc >> 8) ^ *p++]);
    }

    return crc;
}


int
vpt_cluster_tag(const char *key, size_t len, vpt_str_t *tag)
{
    const char  *open, *close;

    open = memchr(key, '{', len);
    if (open == NULL) {
        return 0;
    }

    open++;

    close = memchr(open, '}', len - (open - key));
    if (close == NULL || close == open) {
        return 0;
    }

    tag->data = open;
    tag->len = close - open;

    return 1;
}


unsigned
vpt_cluster_keyslot(const char *key, size_t len)
{
    vpt_str_t  tag;

    if (vpt_cluster_tag(key, len, &tag)) {
        return vpt_cluster_crc16(tag.data, tag.len) & VPT_SLOT_MASK;
    }

    return vpt_cluster_crc16(key, len) & VPT_SLOT_MASK;
}


const char *
vpt_cluster_slot_tag(unsigned slot)
{
    if (!vpt_slot_tags_ready) {
        vpt_cluster_init();
    }

    return vpt_slot_tags[slot & VPT_SLOT_MASK];
}


size_t
vpt_cluster_sibling_key(char *out, const char *ctx, size_t ctx_len,
    const char *sfx, size_t sfx_len)
{
    char        *p;
    vpt_str_t    tag;
    const char  *s;

    p = out;

    if (vpt_cluster_tag(ctx, ctx_len, &tag)) {

        if (ctx_len == 0 || ctx[0] != '{') {
            /* form 1 */
            memcpy(p, ctx, ctx_len);
            memcpy(p + ctx_len, sfx, sfx_len);
            return ctx_len + sfx_len;
        }

        /* form 3, with K's own tag */

    } else if (ctx_len > 0 && memchr(ctx, '}', ctx_len) == NULL) {
        /* form 2 */
        *p++ = '{';
        memcpy(p, ctx, ctx_len);
        p += ctx_len;
        *p++ = '}';
        memcpy(p, sfx, sfx_len);
        return p + sfx_len - out;

    } else {
        /* form 3, with the table's string for K's slot */
        s = vpt_cluster_slot_tag(vpt_cluster_crc16(ctx, ctx_len));
        tag.data = s;
        tag.len = strlen(s);
    }

    *p++ = '{';
    memcpy(p, tag.data, tag.len);
    p += tag.len;
    *p++ = '}';
    memcpy(p, ctx, ctx_len);
    p += ctx_len;
    memcpy(p, sfx, sfx_len);

    return p + sfx_len - out;
}


/* the slot map */


typedef struct {
    const vpt_cluster_node_in_t  *in;
    size_t                        range;    /* where first seen */
    uint16_t                      master;   /* index into the sorted */
    unsigned                      is_master:1;
} vpt_cluster_seen_t;


/* the node at host:port among the first n seen, or -1 */
static long
vpt_cluster_seen_find(const vpt_cluster_seen_t *seen, size_t n,
    const vpt_cluster_node_in_t *in)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (seen[i].in->port == in->port
            && seen[i].in->host.len == in->host.len
            && memcmp(seen[i].in->host.data, in->host.data, in->host.len)
               == 0)
        {
            return (long) i;
        }
    }

    return -1;
}


vpt_cluster_map_t *
vpt_cluster_map_build(const vpt_cluster_range_in_t *range, size_t n,
    char *err, size_t errlen)
{
    char                         *p;
    long                          f, m;
    size_t                        i, j, s, total, nseen, strings, nm, nr;
    size_t                        r0;
    uint16_t                     *index, *owner, *rmaster;
    vpt_cluster_map_t            *map;
    vpt_cluster_node_t           *node;
    vpt_cluster_seen_t           *seen;
    const vpt_cluster_node_in_t  *in;

    map = NULL;
    seen = NULL;
    index = NULL;
    owner = NULL;
    rmaster = NULL;
    err[0] = '\0';

    total = 0;

    for (i = 0; i < n; i++) {
        total += range[i].nnodes;
    }

    seen = malloc((total ? total : 1) * sizeof(vpt_cluster_seen_t));
    index = malloc((total ? total : 1) * sizeof(uint16_t));
    owner = malloc(VPT_CLUSTER_SLOTS * sizeof(uint16_t));
    rmaster = malloc((n ? n : 1) * sizeof(uint16_t));
    map = calloc(1, sizeof(vpt_cluster_map_t));

    if (seen == NULL || index == NULL || owner == NULL || rmaster == NULL
        || map == NULL)
    {
        vpt_cluster_err(err, errlen, "out of memory");
        goto failed;
    }

    /* owner[slot]: the range that claims it, to name both on overlap */
    for (s = 0; s < VPT_CLUSTER_SLOTS; s++) {
        owner[s] = VPT_CLUSTER_NO_NODE;
    }

    nseen = 0;
    strings = 0;

    for (i = 0; i < n; i++) {

        if (range[i].start < 0 || range[i].end >= VPT_CLUSTER_SLOTS
            || range[i].start > range[i].end)
        {
            vpt_cluster_err(err, errlen, "range %zu: slots %lld-%lld are "
                            "not within 0-16383", i, range[i].start,
                            range[i].end);
            goto failed;
        }

        if (range[i].nnodes == 0) {
            vpt_cluster_err(err, errlen, "range %zu (slots %lld-%lld): "
                            "no master", i, range[i].start, range[i].end);
            goto failed;
        }

        if (i >= VPT_CLUSTER_NO_NODE) {
            vpt_cluster_err(err, errlen, "more than %d ranges",
                            VPT_CLUSTER_NO_NODE - 1);
            goto failed;
        }

        for (s = (size_t) range[i].start; s <= (size_t) range[i].end; s++) {
            if (owner[s] != VPT_CLUSTER_NO_NODE) {
                r0 = owner[s];
                vpt_cluster_err(err, errlen, "ranges %zu (slots %lld-%lld) "
                                "and %zu (slots %lld-%lld) share slot %zu",
                                r0, range[r0].start, range[r0].end, i,
                                range[i].start, range[i].end, s);
                goto failed;
            }

            owner[s] = (uint16_t) i;
        }

        for (j = 0; j < range[i].nnodes; j++) {
            in = &range[i].node[j];

            if (!vpt_cluster_host_ok(in->host.data, in->host.len, 1)
                || in->port < 1 || in->port > 65535)
            {
                if (j > 0) {
                    map->skipped++;
                    continue;
                }

                if (!vpt_cluster_host_ok(in->host.data, in->host.len, 1)) {
                    vpt_cluster_err(err, errlen, "range %zu (slots "
                                    "%lld-%lld): the master's host (%zu "
                                    "bytes) is not an address", i,
                                    range[i].start, range[i].end,
                                    in->host.len);
                } else {
                    vpt_cluster_err(err, errlen, "range %zu (slots "
                                    "%lld-%lld): master %.*s: port %lld "
                                    "is not within 1-65535", i,
                                    range[i].start, range[i].end,
                                    (int) in->host.len, in->host.data,
                                    in->port);
                }

                goto failed;
            }

            f = vpt_cluster_seen_find(seen, nseen, in);

            if (f < 0) {
                if (nseen == VPT_CLUSTER_NODES_MAX) {
                    vpt_cluster_err(err, errlen, "more than %d nodes",
                                    VPT_CLUSTER_NODES_MAX);
                    goto failed;
                }

                seen[nseen].in = in;
                seen[nseen].range = i;
                seen[nseen].is_master = (j == 0);
                seen[nseen].master = (uint16_t) (j == 0 ? nseen : 0);
                f = (long) nseen++;
                strings += in->host.len + 1;
            }

            if (j == 0) {
                rmaster[i] = (uint16_t) f;      /* its seen index */
            }

            if (seen[f].is_master != (j == 0)) {
                vpt_cluster_err(err, errlen, "node %.*s:%lld is a master "
                                "in one range and a replica in another "
                                "(ranges %zu and %zu)",
                                (int) (in->host.len > 64 ? 64
                                                         : in->host.len),
                                in->host.data, in->port, seen[f].range, i);
                goto failed;
            }

            if (j > 0) {
                /* the master's seen index, made a map index below */
                m = vpt_cluster_seen_find(seen, nseen, &range[i].node[0]);

                if (seen[f].range != i && seen[f].master != m) {
                    vpt_cluster_err(err, errlen, "node %.*s:%lld is a "
                                    "replica of two masters (ranges %zu "
                                    "and %zu)", (int) in->host.len,
                                    in->host.data, in->port, seen[f].range,
                                    i);
                    goto failed;
                }

                seen[f].master = (uint16_t) m;
            }
        }
    }

    /* masters first, then replicas; index[]: seen -> sorted */

    nm = 0;

    for (i = 0; i < nseen; i++) {
        if (seen[i].is_master) {
            index[i] = (uint16_t) nm++;
        }
    }

    nr = nm;

    for (i = 0; i < nseen; i++) {
        if (!seen[i].is_master) {
            index[i] = (uint16_t) nr++;
        }
    }

    map->node = calloc(nseen ? nseen : 1, sizeof(vpt_cluster_node_t));
    map->replica = calloc(nseen ? nseen : 1, sizeof(uint16_t));
    map->strings = malloc(strings ? strings : 1);

    if (map->node == NULL || map->replica == NULL || map->strings == NULL) {
        vpt_cluster_err(err, errlen, "out of memory");
        goto failed;
    }

    map->nnodes = nseen;
    map->nmasters = nm;
    p = map->strings;

    for (i = 0; i < nseen; i++) {
        node = &map->node[index[i]];
        in = seen[i].in;

        node->host = p;
        node->host_len = in->host.len;
        memcpy(p, in->host.data, in->host.len);
        p[in->host.len] = '\0';
        p += in->host.len + 1;
        node->port = (unsigned) in->port;
        node->master = index[seen[i].master];
    }

    /* replicas grouped by master, in the order they were seen */

    j = 0;

    for (i = 0; i < nm; i++) {
        map->node[i].replicas = (uint16_t) j;

        for (s = nm; s < nseen; s++) {
            if (map->node[s].master == i) {
                map->replica[j++] = (uint16_t) s;
                map->node[i].nreplicas++;
            }
        }
    }

    for (s = 0; s < VPT_CLUSTER_SLOTS; s++) {
        if (owner[s] == VPT_CLUSTER_NO_NODE) {
            map->slot[s] = VPT_CLUSTER_NO_NODE;
            map->uncovered++;
            continue;
        }

        m = index[rmaster[owner[s]]];
        map->slot[s] = (uint16_t) m;
        map->node[m].slots++;
    }

    free(seen);
    free(index);
    free(owner);
    free(rmaster);

    return map;

failed:

    free(seen);
    free(index);
    free(owner);
    free(rmaster);
    vpt_cluster_map_free(map);

    return NULL;
}


void
vpt_cluster_map_free(vpt_cluster_map_t *map)
{
    if (map == NULL) {
        return;
    }

    free(map->node);
    free(map->replica);
    free(map->strings);
    free(map);
}


unsigned
vpt_cluster_map_replica(const vpt_cluster_map_t *map, unsigned slot,
    uint64_t pick)
{
    unsigned                   m;
    const vpt_cluster_node_t  *master;

    m = vpt_cluster_map_master(map, slot);

    if (m == VPT_CLUSTER_NO_NODE) {
        return m;
    }

    master = &map->node[m];

    if (master->nreplicas == 0) {
        return m;
    }

    return map->replica[master->replicas + pick % master->nreplicas];
}


int
vpt_cluster_map_find(const vpt_cluster_map_t *map, const char *host,
    size_t host_len, unsigned port)
{
    size_t  i;

    for (i = 0; i < map->nnodes; i++) {
        if (map->node[i].port == port && map->node[i].host_len == host_len
            && memcmp(map->node[i].host, host, host_len) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


int
vpt_cluster_map_move(vpt_cluster_map_t *map, unsigned slot, const char *host,
    size_t host_len, unsigned port)
{
    int  n;

    n = vpt_cluster_map_find(map, host, host_len, port);

    /* a replica named by MOVED: it was promoted; wait for the new map */
    if (n < 0 || (size_t) n >= map->nmasters) {
        return -1;
    }

    map->slot[slot & VPT_SLOT_MASK] = (uint16_t) n;

    return n;
}


size_t
vpt_cluster_map_holes(const vpt_cluster_map_t *map, char *buf, size_t len)
{
    int     w;
    size_t  s, e, used;

    if (len == 0) {
        return 0;
    }

    buf[0] = '\0';
    used = 0;

    for (s = 0; s < VPT_CLUSTER_SLOTS; s = e + 1) {
        if (map->slot[s] != VPT_CLUSTER_NO_NODE) {
            e = s;
            continue;
        }

        for (e = s; e + 1 < VPT_CLUSTER_SLOTS
                    && map->slot[e + 1] == VPT_CLUSTER_NO_NODE; e++)
        {
            /* the end of this hole */
        }

        w = (s == e)
            ? snprintf(buf + used, len - used, "%s%zu", used ? "," : "", s)
            : snprintf(buf + used, len - used, "%s%zu-%zu", used ? "," : "",
                       s, e);

        if (w < 0 || (size_t) w >= len - used) {
            /* cut: "..." in place of what did not fit, if there is room */
            if (len >= 4) {
                used = used + 3 < len ? used : len - 4;
                memcpy(buf + used, "...", 4);
                return used + 3;
            }

            buf[used] = '\0';
            return used;
        }

        used += (size_t) w;
    }

    return used;
}


/* errors */


typedef struct {
    const char       *word;
    size_t            len;
    vpt_redis_err_e   kind;
} vpt_redis_err_word_t;


#define vpt_err_word(w, k)  { w, sizeof(w) - 1, k }

static const vpt_redis_err_word_t  vpt_redis_err_words[] = {
    vpt_err_word("MOVED", VPT_REDIS_ERR_MOVED),
    vpt_err_word("ASK", VPT_REDIS_ERR_ASK),
    vpt_err_word("TRYAGAIN", VPT_REDIS_ERR_TRYAGAIN),
    vpt_err_word("CLUSTERDOWN", VPT_REDIS_ERR_CLUSTERDOWN),
    vpt_err_word("READONLY", VPT_REDIS_ERR_READONLY),
    vpt_err_word("MASTERDOWN", VPT_REDIS_ERR_MASTERDOWN),
    vpt_err_word("LOADING", VPT_REDIS_ERR_LOADING),
    vpt_err_word("NOAUTH", VPT_REDIS_ERR_NOAUTH),
    vpt_err_word("WRONGPASS", VPT_REDIS_ERR_WRONGPASS),
    vpt_err_word("NOPERM", VPT_REDIS_ERR_NOPERM),
    vpt_err_word("WRONGTYPE", VPT_REDIS_ERR_WRONGTYPE)
};


vpt_redis_err_e
vpt_redis_error_kind(const char *s, size_t len)
{
    size_t                       i, n;
    const vpt_redis_err_word_t  *w;

    /* the first word: up to a space or the end */
    for (n = 0; n < len && s[n] != ' '; n++) {
        /* void */
    }

    for (i = 0; i < sizeof(vpt_redis_err_words)
                    / sizeof(vpt_redis_err_words[0]); i++)
    {
        w = &vpt_redis_err_words[i];

        if (n == w->len && memcmp(s, w->word, n) == 0) {
            return w->kind;
        }
    }

    return VPT_REDIS_ERR_OTHER;
}


int
vpt_cluster_redirect_parse(const char *s, size_t len,
    vpt_cluster_redirect_t *r)
{
    size_t       i, n;
    unsigned     slot;
    const char  *p, *end, *colon, *host;

    r->kind = vpt_redis_error_kind(s, len);

    if (r->kind != VPT_REDIS_ERR_MOVED && r->kind != VPT_REDIS_ERR_ASK) {
        return VPT_DECLINED;
    }

    p = s + (r->kind == VPT_REDIS_ERR_MOVED ? 5 : 3);
    end = s + len;

    if (p == end || *p++ != ' ') {
        return VPT_ERROR;
    }

    /* the slot: 1 to 5 digits, below 16384 */

    slot = 0;

    for (n = 0; p < end && *p >= '0' && *p <= '9' && n < 6; p++, n++) {
        slot = slot * 10 + (unsigned) (*p - '0');
    }

    if (n == 0 || n > 5 || slot >= VPT_CLUSTER_SLOTS
        || (n > 1 && *(p - n) == '0')
        || p == end || *p++ != ' ')
    {
        return VPT_ERROR;
    }

    /* host:port, the port after the last ':' */

    colon = NULL;

    for (i = 0; p + i < end; i++) {
        if (p[i] == ':') {
            colon = p + i;
        }
    }

    if (colon == NULL
        || vpt_cluster_port(colon + 1, end - colon - 1, &r->port) != VPT_OK)
    {
        return VPT_ERROR;
    }

    host = p;
    n = colon - p;

    /* an IPv6 address may come in brackets; no bracket is left in it */

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }

    if (memchr(host, '[', n) != NULL || memchr(host, ']', n) != NULL
        || !vpt_cluster_host_ok(host, n, 1))
    {
        return VPT_ERROR;
    }

    r->slot = slot;
    r->host.data = host;
    r->host.len = n;

    return VPT_OK;
}


/* Sentinel */


int
vpt_sentinel_master_addr(const vpt_str_t *elem, size_t nelem,
    vpt_str_t *host, unsigned *port)
{
    if (nelem == 0) {
        return VPT_DECLINED;
    }

    if (nelem != 2 || elem[0].data == NULL || elem[1].data == NULL
        || !vpt_cluster_host_ok(elem[0].data, elem[0].len, 0)
        || vpt_cluster_port(elem[1].data, elem[1].len, port) != VPT_OK)
    {
        return VPT_ERROR;
    }

    *host = elem[0];

    return VPT_OK;
}


int
vpt_sentinel_switch_parse(const char *s, size_t len, vpt_str_t *name,
    vpt_str_t *host, unsigned *port)
{
    size_t       n, i;
    unsigned     p;
    vpt_str_t    word[5];
    const char  *end, *sp;

    end = s + len;

    for (n = 0; n < 5; n++) {
        sp = memchr(s, ' ', end - s);

        if (n < 4 && sp == NULL) {
            return VPT_ERROR;
        }

        if (n == 4) {
            if (sp != NULL) {
                return VPT_ERROR;
            }

            sp = end;
        }

        word[n].data = s;
        word[n].len = sp - s;

        if (word[n].len == 0) {
            return VPT_ERROR;
        }

        s = sp + 1;
    }

    for (i = 0; i < word[0].len; i++) {
        if ((unsigned char) word[0].data[i] <= 0x20
            || (unsigned char) word[0].data[i] >= 0x7f)
        {
            return VPT_ERROR;
        }
    }

    if (!vpt_cluster_host_ok(word[1].data, word[1].len, 0)
        || vpt_cluster_port(word[2].data, word[2].len, &p) != VPT_OK
        || !vpt_cluster_host_ok(word[3].data, word[3].len, 0)
        || vpt_cluster_port(word[4].data, word[4].len, port) != VPT_OK)
    {
        return VPT_ERROR;
    }

    *name = word[0];
    *host = word[3];

    return VPT_OK;
}


/* helpers */


/* 1 to 5 digits, no sign, no leading zero, 1..65535; p NULL: *port 0 */

static int
vpt_cluster_port(const char *p, size_t len, unsigned *port)
{
    size_t    i;
    unsigned  v;

    *port = 0;

    if (p == NULL || len == 0 || len > 5 || p[0] == '0') {
        return VPT_ERROR;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return VPT_ERROR;
        }

        v = v * 10 + (unsigned) (p[i] - '0');
    }

    if (v > 65535) {
        return VPT_ERROR;
    }

    *port = v;

    return VPT_OK;
}


/*
 * An address we may connect to or log: at most VPT_CLUSTER_HOST_MAX
 * printable bytes, no space; not "?", Redis's "hostname not known"
 * (cluster-preferred-endpoint-type hostname without an announced one).
 * Whether it is a numeric address is the store's to check.
 */

static int
vpt_cluster_host_ok(const char *p, size_t len, int empty_ok)
{
    size_t  i;

    if (len == 0) {
        return empty_ok;
    }

    if (p == NULL || len > VPT_CLUSTER_HOST_MAX || (len == 1 && p[0] == '?'))
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) p[i] <= 0x20 || (unsigned char) p[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


static void
vpt_cluster_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (errlen == 0) {
        return;
    }

    va_start(args, fmt);
    (void) vsnprintf(err, errlen, fmt, args);
    va_end(args);
}
