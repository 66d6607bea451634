/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Redis Cluster and Sentinel without connections (src/vpt_cluster.c):
 * hash slots against values Redis itself gave, hash tags, a shopper's
 * derived keys in the context's slot (every short key of a small
 * alphabet), slot maps with holes, overlaps and bad nodes, MOVED/ASK and
 * the Sentinel's answers.  Inputs are exact-size heap copies where a
 * parser reads them, so ASan sees a read past the end.
 */

#include <stdlib.h>

#include "vpt_test.h"
#include "vpt_cluster.h"


static char *
copy(const char *s, size_t len)
{
    char  *c;

    c = malloc(len ? len : 1);
    if (c == NULL) {
        abort();
    }

    memcpy(c, s, len);

    return c;
}


static unsigned
slot_of(const char *s, size_t len)
{
    char      *c;
    unsigned   slot;

    c = copy(s, len);
    slot = vpt_cluster_keyslot(c, len);
    free(c);

    return slot;
}


/*
 * redis-cli -p PORT cluster keyslot KEY, on redis-server 7.0.15 started
 * with --cluster-enabled yes, when this test was written
 */
VPT_TEST(keyslot_agrees_with_redis_cluster_keyslot)
{
    static const struct {
        const char  *key;
        unsigned     slot;
    } known[] = {
        { "123456789", 12739 },
        { "foo", 12182 },
        { "bar", 5061 },
        { "", 0 },
        { "a", 15495 },
        { "{user1000}.following", 3443 },
        { "{user1000}.followers", 3443 },
        { "foo{}{bar}", 8363 },
        { "foo{{bar}}zap", 4015 },
        { "foo{bar}{zap}", 5061 },
        { "{}foo", 9500 },
        { "}{a}", 15495 },
        { "{a", 10276 },
        { "a}", 5921 },
        { "vpt:ctx:abc", 7145 },
        { "{vpt:ctx:abc}:vpt", 7145 },
        { "vpt:ctx:{u42}:x", 11448 },
        { "\xc3\xa9", 10180 }
    };

    size_t  i;

    /* the CRC's published check value */
    VPT_CHECK(vpt_cluster_crc16("123456789", 9) == 0x31c3);

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        VPT_CHECK_MSG(slot_of(known[i].key, strlen(known[i].key))
                      == known[i].slot, "\"%s\": %u, Redis says %u",
                      known[i].key, slot_of(known[i].key,
                                            strlen(known[i].key)),
                      known[i].slot);
    }
}


VPT_TEST(hash_tag_is_first_open_brace_to_first_close_after_it)
{
    static const struct {
        const char  *key;
        const char  *tag;       /* NULL: none */
    } cases[] = {
        { "{user1000}.following", "user1000" },
        { "foo{bar}{zap}", "bar" },
        { "foo{{bar}}zap", "{bar" },
        { "foo{}{bar}", NULL },         /* empty at the first '{' */
        { "{}", NULL },
        { "}{a}", "a" },
        { "{a", NULL },
        { "a}", NULL },
        { "a{b}", "b" },
        { "{{}}", "{" },
        { "x{ }y", " " },
        { "", NULL },
        { "{", NULL },
        { "}", NULL }
    };

    char       *c;
    size_t      i, len;
    vpt_str_t   tag;
    int         has;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = strlen(cases[i].key);
        c = copy(cases[i].key, len);
        has = vpt_cluster_tag(c, len, &tag);

        if (cases[i].tag == NULL) {
            VPT_CHECK_MSG(!has, "\"%s\" has tag \"%.*s\"", cases[i].key,
                          (int) tag.len, tag.data);

        } else {
            VPT_CHECK_MSG(has, "\"%s\" has no tag", cases[i].key);

            if (has) {
                VPT_CHECK_STR(tag.data, tag.len, cases[i].tag);
                VPT_CHECK(vpt_cluster_keyslot(c, len)
                          == (vpt_cluster_crc16(cases[i].tag,
                                                strlen(cases[i].tag))
                              & 16383));
            }
        }

        free(c);
    }
}


VPT_TEST(every_slot_has_a_short_brace_free_tag)
{
    size_t       i, j, len;
    const char  *t;

    for (i = 0; i < VPT_CLUSTER_SLOTS; i++) {
        t = vpt_cluster_slot_tag((unsigned) i);
        len = strlen(t);

        VPT_CHECK_MSG(len >= 1 && len <= 3, "slot %zu: \"%s\"", i, t);

        for (j = 0; j < len; j++) {
            VPT_CHECK_MSG((t[j] >= '0' && t[j] <= '9')
                          || (t[j] >= 'a' && t[j] <= 'z')
                          || (t[j] >= 'A' && t[j] <= 'Z'),
                          "slot %zu: \"%s\"", i, t);
        }

        VPT_CHECK_MSG(vpt_cluster_keyslot(t, len) == i, "slot %zu: \"%s\"",
                      i, t);
    }
}


static size_t
sibling(char *out, const char *ctx)
{
    char    *c;
    size_t   n, len;

    len = strlen(ctx);
    c = copy(ctx, len);
    n = vpt_cluster_sibling_key(out, c, len, ":vpt", 4);
    free(c);

    return n;
}


VPT_TEST(counters_key_forms)
{
    char    out[256];
    size_t  n;

    /* 1: a tag, not at the start: today's form */
    n = sibling(out, "vpt:ctx:{u42}");
    VPT_CHECK_STR(out, n, "vpt:ctx:{u42}:vpt");
    n = sibling(out, "vpt:ctx:{u42}x}");
    VPT_CHECK_STR(out, n, "vpt:ctx:{u42}x}:vpt");

    /* 2: no tag, no '}': the context key is the tag */
    n = sibling(out, "vpt:ctx:abc");
    VPT_CHECK_STR(out, n, "{vpt:ctx:abc}:vpt");
    n = sibling(out, "vpt:ctx:a{b");
    VPT_CHECK_STR(out, n, "{vpt:ctx:a{b}:vpt");

    /* 3: a tag at the start: the tag again, in front */
    n = sibling(out, "{shop}:ctx:abc");
    VPT_CHECK_STR(out, n, "{shop}{shop}:ctx:abc:vpt");

    /* 3: a '}' and no tag: the table's string for the slot */
    n = sibling(out, "vpt:ctx:a}b");
    VPT_CHECK(n > 4 && out[0] == '{');
    VPT_CHECK(slot_of(out, n) == slot_of("vpt:ctx:a}b", 11));
    VPT_CHECK(n >= 11 + 4 && memcmp(out + n - 15, "vpt:ctx:a}b:vpt", 15)
                             == 0);
    n = sibling(out, "vpt:ctx:{}x");
    VPT_CHECK(out[0] == '{');
    VPT_CHECK(slot_of(out, n) == slot_of("vpt:ctx:{}x", 11));
}


typedef struct {
    char    *key;
    size_t   len;
    size_t   from;      /* index of the context key */
} derived_t;


static int
derived_cmp(const void *a, const void *b)
{
    int               c;
    const derived_t  *x = a, *y = b;

    c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}


/*
 * Every context key of 1 to 8 bytes over { a b { } } (87,380 keys), and
 * each behind the prefixes "vpt:ctx:" and "{" and "}": the derived key
 * is in the context key's slot, is at most VPT_CLUSTER_SIBLING_MAX, and
 * no two context keys share one
 */
VPT_TEST(counters_key_in_context_slot_and_one_per_context_every_short_key)
{
    static const char   alpha[] = "ab{}";
    static const char  *prefix[] = { "", "vpt:ctx:", "{", "}" };

    char        key[32], *out;
    size_t      np, len, i, k, n, total, count, x, dup;
    derived_t  *d;

    total = 0;

    for (len = 1, n = 4; len <= 8; len++, n *= 4) {
        total += n;
    }

    for (np = 0; np < sizeof(prefix) / sizeof(prefix[0]); np++) {
        d = calloc(total, sizeof(derived_t));
        if (d == NULL) {
            abort();
        }

        count = 0;
        dup = 0;

        for (len = 1; len <= 8; len++) {
            n = 1;

            for (i = 0; i < len; i++) {
                n *= 4;
            }

            for (k = 0; k < n; k++) {
                size_t  plen = strlen(prefix[np]);

                memcpy(key, prefix[np], plen);

                for (i = 0, x = k; i < len; i++, x /= 4) {
                    key[plen + i] = alpha[x % 4];
                }

                out = malloc(VPT_CLUSTER_SIBLING_MAX(plen + len, 4));
                if (out == NULL) {
                    abort();
                }

                d[count].len = vpt_cluster_sibling_key(out, key, plen + len,
                                                       ":vpt", 4);
                d[count].key = out;
                d[count].from = count;

                if (d[count].len > VPT_CLUSTER_SIBLING_MAX(plen + len, 4)
                    || vpt_cluster_keyslot(out, d[count].len)
                       != vpt_cluster_keyslot(key, plen + len))
                {
                    if (dup++ < 5) {
                        VPT_CHECK_MSG(0, "\"%.*s\" -> \"%.*s\"",
                                      (int) (plen + len), key,
                                      (int) d[count].len, out);
                    }
                }

                count++;
            }
        }

        qsort(d, count, sizeof(derived_t), derived_cmp);

        for (i = 1; i < count; i++) {
            if (derived_cmp(&d[i - 1], &d[i]) == 0 && dup++ < 10) {
                VPT_CHECK_MSG(0, "prefix \"%s\": two context keys give "
                              "\"%.*s\"", prefix[np], (int) d[i].len,
                              d[i].key);
            }
        }

        VPT_CHECK(count == total);

        for (i = 0; i < count; i++) {
            free(d[i].key);
        }

        free(d);
    }
}


/*
 * The module refuses session keys ending in ":vpt"; with that rule, no
 * context key is ever another shopper's counters key: every session of
 * 1 to 5 bytes of { a { } : v p t } behind ten prefixes, every derived
 * key compared with every context key
 */
VPT_TEST(no_context_key_is_a_counters_key_unless_its_session_ends_in_vpt)
{
    static const char   alpha[] = "a{}:vpt";
    static const char  *prefix[] = { "", "{", "}", "x:vp", "{a}", "a{",
                                     ":vp", "{:vp", "x{a}", "vpt:ctx:{" };

    char        key[32];
    size_t      np, plen, len, n, k, x, i, count, total, bad;
    derived_t  *ctx, *der, *hit, probe;

    total = 0;

    for (len = 1, n = 7; len <= 5; len++, n *= 7) {
        total += n;
    }

    bad = 0;

    for (np = 0; np < sizeof(prefix) / sizeof(prefix[0]); np++) {
        plen = strlen(prefix[np]);
        ctx = calloc(total, sizeof(derived_t));
        der = calloc(total, sizeof(derived_t));
        if (ctx == NULL || der == NULL) {
            abort();
        }

        count = 0;

        for (len = 1, n = 7; len <= 5; len++, n *= 7) {
            for (k = 0; k < n; k++) {
                memcpy(key, prefix[np], plen);

                for (i = 0, x = k; i < len; i++, x /= 7) {
                    key[plen + i] = alpha[x % 7];
                }

                ctx[count].len = plen + len;
                ctx[count].key = copy(key, plen + len);
                ctx[count].from = (len >= 4
                                   && memcmp(key + plen + len - 4, ":vpt", 4)
                                      == 0);
                der[count].key = malloc(VPT_CLUSTER_SIBLING_MAX(plen + len,
                                                                4));
                if (der[count].key == NULL) {
                    abort();
                }

                der[count].len = vpt_cluster_sibling_key(der[count].key, key,
                                                         plen + len, ":vpt",
                                                         4);
                count++;
            }
        }

        qsort(der, count, sizeof(derived_t), derived_cmp);

        for (i = 0; i < count; i++) {
            if (ctx[i].from) {
                continue;       /* refused by the module */
            }

            probe = ctx[i];
            hit = bsearch(&probe, der, count, sizeof(derived_t),
                          derived_cmp);

            if (hit != NULL && bad++ < 5) {
                VPT_CHECK_MSG(0, "context key \"%.*s\" is a counters key",
                              (int) ctx[i].len, ctx[i].key);
            }
        }

        for (i = 0; i < count; i++) {
            free(ctx[i].key);
            free(der[i].key);
        }

        free(ctx);
        free(der);
    }

    VPT_CHECK(bad == 0);
}


/* a cluster as CLUSTER SLOTS gives it: 3 masters with a replica each */

static vpt_cluster_node_in_t  n0[] = {
    { vpt_str_lit("127.0.0.1"), 7000 }, { vpt_str_lit("127.0.0.1"), 7003 } };
static vpt_cluster_node_in_t  n1[] = {
    { vpt_str_lit("127.0.0.1"), 7001 }, { vpt_str_lit("127.0.0.1"), 7004 } };
static vpt_cluster_node_in_t  n2[] = {
    { vpt_str_lit("127.0.0.1"), 7002 }, { vpt_str_lit("127.0.0.1"), 7005 } };


static vpt_cluster_map_t *
build(const vpt_cluster_range_in_t *r, size_t n, char *err)
{
    return vpt_cluster_map_build(r, n, err, VPT_CLUSTER_ERRLEN);
}


VPT_TEST(slot_map_of_three_masters_and_replicas)
{
    int                      f;
    char                     err[VPT_CLUSTER_ERRLEN], holes[64];
    unsigned                 m, r, r2;
    vpt_cluster_map_t       *map;
    vpt_cluster_range_in_t   ranges[] = {
        { 0, 5460, n0, 2 }, { 5461, 10922, n1, 2 }, { 10923, 16383, n2, 2 }
    };

    map = build(ranges, 3, err);
    VPT_CHECK_MSG(map != NULL, "%s", err);
    if (map == NULL) {
        return;
    }

    VPT_CHECK(map->nnodes == 6 && map->nmasters == 3);
    VPT_CHECK(map->uncovered == 0 && map->skipped == 0);
    VPT_CHECK(vpt_cluster_map_holes(map, holes, sizeof(holes)) == 0);
    VPT_CHECK(holes[0] == '\0');

    m = vpt_cluster_map_master(map, 0);
    VPT_CHECK(m < 3 && map->node[m].port == 7000);
    VPT_CHECK(strcmp(map->node[m].host, "127.0.0.1") == 0);
    VPT_CHECK(map->node[m].slots == 5461);
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 5460)].port == 7000);
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 5461)].port == 7001);
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 16383)].port == 7002);
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 12182)].port == 7002);

    r = vpt_cluster_map_replica(map, 100, 0);
    r2 = vpt_cluster_map_replica(map, 100, 1);
    VPT_CHECK(r >= 3 && r < 6 && map->node[r].port == 7003);
    VPT_CHECK(r2 == r && map->node[r].master == m);

    /* MOVED to another master: that slot alone follows */
    VPT_CHECK(vpt_cluster_map_move(map, 100, "127.0.0.1", 9, 7002) >= 0);
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 100)].port == 7002);
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 101)].port == 7000);
    /* to a replica or an unknown node: nothing changes */
    VPT_CHECK(vpt_cluster_map_move(map, 101, "127.0.0.1", 9, 7003) == -1);
    VPT_CHECK(vpt_cluster_map_move(map, 101, "127.0.0.1", 9, 7010) == -1);
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 101)].port == 7000);

    f = vpt_cluster_map_find(map, "127.0.0.1", 9, 7004);
    VPT_CHECK(f >= 3 && map->node[f].port == 7004);
    VPT_CHECK(vpt_cluster_map_find(map, "127.0.0.1", 9, 7009) == -1);
    VPT_CHECK(vpt_cluster_map_find(map, "127.0.0.2", 9, 7000) == -1);

    vpt_cluster_map_free(map);
}


VPT_TEST(slot_map_master_of_several_ranges_and_two_replicas)
{
    char                     err[VPT_CLUSTER_ERRLEN];
    unsigned                 a, b, c;
    vpt_cluster_map_t       *map;
    vpt_cluster_node_in_t    three[] = {
        { vpt_str_lit("10.0.0.1"), 6379 }, { vpt_str_lit("10.0.0.2"), 6379 },
        { vpt_str_lit("10.0.0.3"), 6379 } };
    vpt_cluster_node_in_t    other[] = { { vpt_str_lit("10.0.0.4"), 6379 } };
    vpt_cluster_range_in_t   ranges[] = {
        { 0, 99, three, 3 }, { 100, 16000, other, 1 },
        { 16001, 16383, three, 3 }
    };

    map = build(ranges, 3, err);
    VPT_CHECK_MSG(map != NULL, "%s", err);
    if (map == NULL) {
        return;
    }

    VPT_CHECK(map->nnodes == 4 && map->nmasters == 2);
    VPT_CHECK(vpt_cluster_map_master(map, 0)
              == vpt_cluster_map_master(map, 16383));
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 0)].slots == 100 + 383);
    VPT_CHECK(map->node[vpt_cluster_map_master(map, 0)].nreplicas == 2);

    a = vpt_cluster_map_replica(map, 5, 0);
    b = vpt_cluster_map_replica(map, 5, 1);
    c = vpt_cluster_map_replica(map, 5, 2);
    VPT_CHECK(a != b && a == c);
    VPT_CHECK(map->node[a].port == 6379 && map->node[b].port == 6379);

    /* no replica: the master */
    VPT_CHECK(vpt_cluster_map_replica(map, 200, 7)
              == vpt_cluster_map_master(map, 200));

    vpt_cluster_map_free(map);
}


VPT_TEST(slot_map_holes_named_and_unserved)
{
    char                     err[VPT_CLUSTER_ERRLEN], holes[64], tiny[12];
    size_t                   n;
    vpt_cluster_map_t       *map;
    vpt_cluster_range_in_t   ranges[] = {
        { 1, 5460, n0, 2 }, { 5462, 10000, n1, 2 }, { 10923, 16382, n2, 2 }
    };

    map = build(ranges, 3, err);
    VPT_CHECK_MSG(map != NULL, "%s", err);
    if (map == NULL) {
        return;
    }

    VPT_CHECK(map->uncovered == 1 + 1 + 922 + 1);
    VPT_CHECK(vpt_cluster_map_master(map, 0) == VPT_CLUSTER_NO_NODE);
    VPT_CHECK(vpt_cluster_map_master(map, 5461) == VPT_CLUSTER_NO_NODE);
    VPT_CHECK(vpt_cluster_map_master(map, 10500) == VPT_CLUSTER_NO_NODE);
    VPT_CHECK(vpt_cluster_map_master(map, 16383) == VPT_CLUSTER_NO_NODE);
    VPT_CHECK(vpt_cluster_map_replica(map, 16383, 0) == VPT_CLUSTER_NO_NODE);

    n = vpt_cluster_map_holes(map, holes, sizeof(holes));
    VPT_CHECK_STR(holes, n, "0,5461,10001-10922,16383");

    n = vpt_cluster_map_holes(map, tiny, sizeof(tiny));
    VPT_CHECK(n < sizeof(tiny) && tiny[n] == '\0');
    VPT_CHECK_MSG(n >= 3 && memcmp(tiny + n - 3, "...", 3) == 0, "\"%s\"",
                  tiny);

    vpt_cluster_map_free(map);

    /* nothing at all: every slot a hole, not an error */
    map = build(NULL, 0, err);
    VPT_CHECK_MSG(map != NULL, "%s", err);
    if (map != NULL) {
        VPT_CHECK(map->uncovered == VPT_CLUSTER_SLOTS && map->nnodes == 0);
        n = vpt_cluster_map_holes(map, holes, sizeof(holes));
        VPT_CHECK_STR(holes, n, "0-16383");
        vpt_cluster_map_free(map);
    }
}


#define CHECK_REFUSED(ranges, n, why)                                       \
    do {                                                                    \
        char                err_[VPT_CLUSTER_ERRLEN];                       \
        vpt_cluster_map_t  *m_;                                             \
                                                                            \
        m_ = build(ranges, n, err_);                                        \
        VPT_CHECK_MSG(m_ == NULL, "accepted, want \"%s\"", why);            \
        vpt_cluster_map_free(m_);                                           \
        VPT_CHECK_MSG(m_ != NULL || strstr(err_, why) != NULL,              \
                      "\"%s\", want \"%s\"", err_, why);                    \
    } while (0)


VPT_TEST(slot_map_refuses_overlaps_bad_ranges_and_bad_masters)
{
    vpt_cluster_node_in_t    badport[] = { { vpt_str_lit("127.0.0.1"), 0 } };
    vpt_cluster_node_in_t    bigport[] = {
        { vpt_str_lit("127.0.0.1"), 65536 } };
    vpt_cluster_node_in_t    badhost[] = { { vpt_str_lit("a b"), 7000 } };
    vpt_cluster_node_in_t    qhost[] = { { vpt_str_lit("?"), 7000 } };
    vpt_cluster_node_in_t    swap[] = {
        { vpt_str_lit("127.0.0.1"), 7003 }, { vpt_str_lit("127.0.0.1"), 7000 }
    };
    vpt_cluster_node_in_t    two[] = {
        { vpt_str_lit("127.0.0.1"), 7001 }, { vpt_str_lit("127.0.0.1"), 7003 }
    };

    vpt_cluster_range_in_t   overlap[] = {
        { 0, 5460, n0, 2 }, { 5460, 16383, n1, 2 } };
    vpt_cluster_range_in_t   out[] = { { 0, 16384, n0, 2 } };
    vpt_cluster_range_in_t   neg[] = { { -1, 5, n0, 2 } };
    vpt_cluster_range_in_t   rev[] = { { 10, 5, n0, 2 } };
    vpt_cluster_range_in_t   nomaster[] = { { 0, 5, n0, 0 } };
    vpt_cluster_range_in_t   port0[] = { { 0, 5, badport, 1 } };
    vpt_cluster_range_in_t   port65536[] = { { 0, 5, bigport, 1 } };
    vpt_cluster_range_in_t   host[] = { { 0, 5, badhost, 1 } };
    vpt_cluster_range_in_t   unknown[] = { { 0, 5, qhost, 1 } };
    vpt_cluster_range_in_t   both[] = { { 0, 5, n0, 2 }, { 6, 9, swap, 2 } };
    vpt_cluster_range_in_t   twice[] = { { 0, 5, n0, 2 }, { 6, 9, two, 2 } };

    CHECK_REFUSED(overlap, 2, "share slot 5460");
    CHECK_REFUSED(out, 1, "not within 0-16383");
    CHECK_REFUSED(neg, 1, "not within 0-16383");
    CHECK_REFUSED(rev, 1, "not within 0-16383");
    CHECK_REFUSED(nomaster, 1, "no master");
    CHECK_REFUSED(port0, 1, "port 0 is not within 1-65535");
    CHECK_REFUSED(port65536, 1, "port 65536 is not within 1-65535");
    CHECK_REFUSED(host, 1, "not an address");
    CHECK_REFUSED(unknown, 1, "not an address");
    CHECK_REFUSED(both, 2, "a master in one range and a replica");
    CHECK_REFUSED(twice, 2, "a replica of two masters");
}


VPT_TEST(slot_map_leaves_out_bad_replicas_and_keeps_unknown_endpoints)
{
    char                     err[VPT_CLUSTER_ERRLEN];
    unsigned                 m;
    vpt_cluster_map_t       *map;
    vpt_cluster_node_in_t    nodes[] = {
        { vpt_str_lit(""), 7000 }, { vpt_str_lit("127.0.0.1"), 0 },
        { vpt_str_lit("?"), 7003 }, { vpt_str_lit(""), 7004 } };
    vpt_cluster_range_in_t   ranges[] = { { 0, 16383, nodes, 4 } };

    map = build(ranges, 1, err);
    VPT_CHECK_MSG(map != NULL, "%s", err);
    if (map == NULL) {
        return;
    }

    VPT_CHECK(map->skipped == 2 && map->nnodes == 2);
    m = vpt_cluster_map_master(map, 42);
    VPT_CHECK(map->node[m].host_len == 0 && map->node[m].port == 7000);
    VPT_CHECK(map->node[vpt_cluster_map_replica(map, 42, 0)].port == 7004);
    VPT_CHECK(vpt_cluster_map_find(map, "", 0, 7004) >= 0);

    vpt_cluster_map_free(map);
}


static int
redirect(const char *s, vpt_cluster_redirect_t *r)
{
    int     rc;
    char   *c;
    size_t  len;

    len = strlen(s);
    c = copy(s, len);
    rc = vpt_cluster_redirect_parse(c, len, r);

    /* the host pointed into the copy: keep its text for the checks */
    if (rc == VPT_OK) {
        r->host.data = s + (r->host.data - c);
    }

    free(c);

    return rc;
}


#define CHECK_REDIRECT(s, k, sl, h, p)                                      \
    do {                                                                    \
        vpt_cluster_redirect_t  r_;                                         \
                                                                            \
        VPT_CHECK_MSG(redirect(s, &r_) == VPT_OK, "\"%s\" refused", s);     \
        VPT_CHECK(r_.kind == (k) && r_.slot == (sl) && r_.port == (p));     \
        VPT_CHECK_STR(r_.host.data, r_.host.len, h);                        \
    } while (0)


VPT_TEST(moved_and_ask_parsed)
{
    size_t                   i;
    vpt_cluster_redirect_t   r;
    static const char       *bad[] = {
        "MOVED", "MOVED ", "MOVED 3999", "MOVED 3999 ", "MOVED 3999 host",
        "MOVED 16384 127.0.0.1:6381", "MOVED -1 127.0.0.1:6381",
        "MOVED 03999 127.0.0.1:6381", "MOVED 123456 127.0.0.1:6381",
        "MOVED  3999 127.0.0.1:6381", "MOVED 3999  127.0.0.1:6381",
        "MOVED 3999 127.0.0.1:0", "MOVED 3999 127.0.0.1:65536",
        "MOVED 3999 127.0.0.1:6381 ", "MOVED 3999 127.0.0.1:+6381",
        "MOVED 3999 127.0.0.1:", "MOVED 3999 127.0.0.1:06381",
        "MOVED 3999 a b:6381", "MOVED 3999 ?:6381", "MOVED 3999 [::1:6381",
        "MOVED 3999 ::1]:6381", "ASK 3999 127.0.0.1\t:6381",
        "ASK x 127.0.0.1:6381", "ASK 3999\n127.0.0.1:6381"
    };

    CHECK_REDIRECT("MOVED 3999 127.0.0.1:6381", VPT_REDIS_ERR_MOVED, 3999,
                   "127.0.0.1", 6381);
    CHECK_REDIRECT("ASK 0 10.1.2.3:1", VPT_REDIS_ERR_ASK, 0, "10.1.2.3", 1);
    CHECK_REDIRECT("ASK 16383 ::1:65535", VPT_REDIS_ERR_ASK, 16383, "::1",
                   65535);
    CHECK_REDIRECT("MOVED 7 [2001:db8::1]:7000", VPT_REDIS_ERR_MOVED, 7,
                   "2001:db8::1", 7000);
    CHECK_REDIRECT("MOVED 7 :7000", VPT_REDIS_ERR_MOVED, 7, "", 7000);
    CHECK_REDIRECT("MOVED 12 redis-3.example:6379", VPT_REDIS_ERR_MOVED, 12,
                   "redis-3.example", 6379);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        VPT_CHECK_MSG(redirect(bad[i], &r) == VPT_ERROR, "\"%s\" accepted",
                      bad[i]);
    }

    VPT_CHECK(redirect("MOVEDX 1 a:1", &r) == VPT_DECLINED);
    VPT_CHECK(redirect("ERR unknown command", &r) == VPT_DECLINED);
    VPT_CHECK(redirect("", &r) == VPT_DECLINED);
    VPT_CHECK(redirect("moved 1 a:1", &r) == VPT_DECLINED);
}


VPT_TEST(error_kinds_by_first_word)
{
#define KIND(s)  vpt_redis_error_kind(s, sizeof(s) - 1)

    VPT_CHECK(KIND("TRYAGAIN Multiple keys request during rehashing of "
                   "slot") == VPT_REDIS_ERR_TRYAGAIN);
    VPT_CHECK(KIND("CLUSTERDOWN The cluster is down")
              == VPT_REDIS_ERR_CLUSTERDOWN);
    VPT_CHECK(KIND("CLUSTERDOWN Hash slot not served")
              == VPT_REDIS_ERR_CLUSTERDOWN);
    VPT_CHECK(KIND("READONLY You can't write against a read only replica.")
              == VPT_REDIS_ERR_READONLY);
    VPT_CHECK(KIND("MASTERDOWN Link with MASTER is down and "
                   "replica-serve-stale-data is set to 'no'.")
              == VPT_REDIS_ERR_MASTERDOWN);
    VPT_CHECK(KIND("LOADING Redis is loading the dataset in memory")
              == VPT_REDIS_ERR_LOADING);
    VPT_CHECK(KIND("NOAUTH Authentication required.")
              == VPT_REDIS_ERR_NOAUTH);
    VPT_CHECK(KIND("WRONGPASS invalid username-password pair or user is "
                   "disabled.") == VPT_REDIS_ERR_WRONGPASS);
    VPT_CHECK(KIND("NOPERM this user has no permissions to run the 'get' "
                   "command") == VPT_REDIS_ERR_NOPERM);
    VPT_CHECK(KIND("WRONGTYPE Operation against a key holding the wrong "
                   "kind of value") == VPT_REDIS_ERR_WRONGTYPE);
    VPT_CHECK(KIND("MOVED 1 a:1") == VPT_REDIS_ERR_MOVED);
    VPT_CHECK(KIND("ASK") == VPT_REDIS_ERR_ASK);
    VPT_CHECK(KIND("ERR wrong number of arguments") == VPT_REDIS_ERR_OTHER);
    VPT_CHECK(KIND("ASKING") == VPT_REDIS_ERR_OTHER);
    VPT_CHECK(KIND("") == VPT_REDIS_ERR_OTHER);

#undef KIND
}


VPT_TEST(sentinel_master_address)
{
    unsigned    port;
    vpt_str_t   host;
    vpt_str_t   ok[] = { vpt_str_lit("127.0.0.1"), vpt_str_lit("6380") };
    vpt_str_t   v6[] = { vpt_str_lit("::1"), vpt_str_lit("7000") };
    vpt_str_t   noport[] = { vpt_str_lit("127.0.0.1"), vpt_str_lit("") };
    vpt_str_t   bigport[] = { vpt_str_lit("127.0.0.1"),
                              vpt_str_lit("70000") };
    vpt_str_t   nohost[] = { vpt_str_lit(""), vpt_str_lit("6380") };
    vpt_str_t   three[] = { vpt_str_lit("a"), vpt_str_lit("1"),
                            vpt_str_lit("2") };
    vpt_str_t   null[] = { { NULL, 0 }, vpt_str_lit("6380") };

    VPT_CHECK(vpt_sentinel_master_addr(ok, 2, &host, &port) == VPT_OK);
    VPT_CHECK_STR(host.data, host.len, "127.0.0.1");
    VPT_CHECK(port == 6380);
    VPT_CHECK(vpt_sentinel_master_addr(v6, 2, &host, &port) == VPT_OK);
    VPT_CHECK(port == 7000);

    VPT_CHECK(vpt_sentinel_master_addr(NULL, 0, &host, &port)
              == VPT_DECLINED);

    VPT_CHECK(vpt_sentinel_master_addr(ok, 1, &host, &port) == VPT_ERROR);
    VPT_CHECK(vpt_sentinel_master_addr(three, 3, &host, &port) == VPT_ERROR);
    VPT_CHECK(vpt_sentinel_master_addr(noport, 2, &host, &port)
              == VPT_ERROR);
    VPT_CHECK(vpt_sentinel_master_addr(bigport, 2, &host, &port)
              == VPT_ERROR);
    VPT_CHECK(vpt_sentinel_master_addr(nohost, 2, &host, &port)
              == VPT_ERROR);
    VPT_CHECK(vpt_sentinel_master_addr(null, 2, &host, &port) == VPT_ERROR);
}


VPT_TEST(sentinel_switch_master_message)
{
    char        *c;
    unsigned     port;
    vpt_str_t    name, host;
    const char  *ok = "shop 127.0.0.1 6380 127.0.0.1 6381";
    size_t       i;
    static const char  *bad[] = {
        "", "shop", "shop 127.0.0.1 6380 127.0.0.1",
        "shop 127.0.0.1 6380 127.0.0.1 6381 x",
        "shop 127.0.0.1 6380 127.0.0.1 0", "shop  127.0.0.1 6380 a 1",
        "shop 127.0.0.1 6380 127.0.0.1 6381 ", "shop a x b 1"
    };

    c = copy(ok, strlen(ok));
    VPT_CHECK(vpt_sentinel_switch_parse(c, strlen(ok), &name, &host, &port)
              == VPT_OK);
    VPT_CHECK_STR(name.data, name.len, "shop");
    VPT_CHECK_STR(host.data, host.len, "127.0.0.1");
    VPT_CHECK(port == 6381);
    free(c);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = copy(bad[i], strlen(bad[i]));
        VPT_CHECK_MSG(vpt_sentinel_switch_parse(c, strlen(bad[i]), &name,
                                                &host, &port)
                      == VPT_ERROR, "\"%s\" accepted", bad[i]);
        free(c);
    }
}


int
main(void)
{
    VPT_RUN(keyslot_agrees_with_redis_cluster_keyslot);
    VPT_RUN(hash_tag_is_first_open_brace_to_first_close_after_it);
    VPT_RUN(every_slot_has_a_short_brace_free_tag);
    VPT_RUN(counters_key_forms);
    VPT_RUN(counters_key_in_context_slot_and_one_per_context_every_short_key);
    VPT_RUN(no_context_key_is_a_counters_key_unless_its_session_ends_in_vpt);
    VPT_RUN(slot_map_of_three_masters_and_replicas);
    VPT_RUN(slot_map_master_of_several_ranges_and_two_replicas);
    VPT_RUN(slot_map_holes_named_and_unserved);
    VPT_RUN(slot_map_refuses_overlaps_bad_ranges_and_bad_masters);
    VPT_RUN(slot_map_leaves_out_bad_replicas_and_keeps_unknown_endpoints);
    VPT_RUN(moved_and_ask_parsed);
    VPT_RUN(error_kinds_by_first_word);
    VPT_RUN(sentinel_master_address);
    VPT_RUN(sentinel_switch_master_message);

    return VPT_DONE();
}
