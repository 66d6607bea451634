/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Redis beyond one server, the parts that need no connection: the key's
 * hash slot, the shopper's own keys in the context's slot, the slot map
 * from a CLUSTER SLOTS reply, MOVED/ASK and other cluster errors, and the
 * Sentinel's answers.  Plain C with explicit lengths; the store (nginx
 * glue) turns hiredis replies into the plain arrays taken here.
 *
 * Hash slot, exactly as Redis computes it: CRC16-XMODEM (polynomial
 * 0x1021, initial value 0, no reflection, no final XOR) of the hashed
 * part, modulo 16384.  The hashed part is the hash tag when the key has a
 * valid one: the bytes after the key's FIRST '{' up to the first '}' after
 * it, provided there is such a '}' and at least one byte between them.
 * Otherwise (no '{', no '}' after it, or "{}") the whole key is hashed.
 *
 * A shopper's own keys (counters, marks) are derived from the context key
 * K so that they hash to K's slot, and so that no two context keys give
 * the same derived key (one shopper cannot reach another's counters by
 * choosing a session key).  With a suffix SFX (":vpt" for the counters):
 *
 *   1. K has a valid tag and does not start with '{':    K SFX
 *      (the tag is kept: appending cannot move the first '{' or the
 *      first '}' after it; this is also the single-server form)
 *   2. K has no valid tag and no '}':                    "{" K "}" SFX
 *      (the tag is the whole context key)
 *   3. every other key:                                  "{" S "}" K SFX
 *      where S is K's tag when K has one (K starts with '{'), else, for
 *      a key with a '}' but no valid tag (no tag can then be K itself: a
 *      tag ends at the first '}'), a short string from a table, 1 to 3
 *      bytes of [0-9A-Za-z], that hashes to K's slot.
 *
 * Form 1 never starts with '{', forms 2 and 3 always do; in forms 2 and 3
 * S (or K) ends at the first '}' and form 3 has K, non-empty, after it:
 * each derived key names exactly one K.  t/unit/test_cluster.c checks
 * slot equality and injectivity over every short key of a small alphabet.
 *
 * Everything here is reentrant except the first call that needs the
 * form-3 table (built once, ~240k CRCs, about a millisecond):
 * vpt_cluster_init() builds it ahead, in a single-threaded moment (nginx's
 * configuration time).
 */

#ifndef VPT_CLUSTER_H
#define VPT_CLUSTER_H

#include "vpt_core.h"


#define VPT_CLUSTER_SLOTS       16384
#define VPT_CLUSTER_NO_NODE     0xffff      /* a slot no master serves */
#define VPT_CLUSTER_NODES_MAX   1024        /* Redis advises <= 1000 */
#define VPT_CLUSTER_HOST_MAX    255         /* a DNS name at its longest */
#define VPT_CLUSTER_ERRLEN      256


void vpt_cluster_init(void);

uint16_t vpt_cluster_crc16(const char *data, size_t len);
unsigned vpt_cluster_keyslot(const char *key, size_t len);

/* 1 and *tag (pointing into key) when the key has a valid hash tag */
int vpt_cluster_tag(const char *key, size_t len, vpt_str_t *tag);

/*
 * The derived key of context key ctx (see above) into out, which must
 * hold VPT_CLUSTER_SIBLING_MAX(ctx_len, sfx_len) bytes; returns its
 * length.  sfx must not contain '{' or '}' (ours are constants).
 */
#define VPT_CLUSTER_SIBLING_MAX(ctx_len, sfx_len)                           \
    (2 * (ctx_len) + 5 + (sfx_len))

size_t vpt_cluster_sibling_key(char *out, const char *ctx, size_t ctx_len,
    const char *sfx, size_t sfx_len);

/* form 3's string for a slot: 1 to 3 bytes, NUL-terminated */
const char *vpt_cluster_slot_tag(unsigned slot);


/*
 * The slot map.  Input: CLUSTER SLOTS as the store parsed it, one range
 * per entry, its nodes' host and port as received (the port unchecked, a
 * long long, so the checks are here).  An empty host is Redis's "unknown
 * endpoint" (a NULL endpoint in the reply): the host of the node that
 * answered, with this port.
 */
typedef struct {
    vpt_str_t                     host;
    long long                     port;
} vpt_cluster_node_in_t;

typedef struct {
    long long                     start;
    long long                     end;      /* inclusive */
    const vpt_cluster_node_in_t  *node;     /* [0] the master, then
                                               replicas */
    size_t                        nnodes;
} vpt_cluster_range_in_t;

typedef struct {
    const char                   *host;     /* NUL-terminated; "" unknown
                                               endpoint */
    size_t                        host_len;
    unsigned                      port;
    uint16_t                      master;   /* a master: its own index */
    uint16_t                      nreplicas;    /* a master's */
    uint16_t                      replicas;     /* first in replica[] */
    unsigned                      slots;    /* a master's, in the map */
} vpt_cluster_node_t;

typedef struct {
    uint16_t                      slot[VPT_CLUSTER_SLOTS];  /* master's
                                               index, or NO_NODE */
    vpt_cluster_node_t           *node;     /* masters first */
    size_t                        nnodes;
    size_t                        nmasters;
    uint16_t                     *replica;  /* grouped by master */
    size_t                        uncovered;    /* slots without master */
    size_t                        skipped;  /* replicas with a bad address,
                                               left out */
    char                         *strings;  /* the hosts */
} vpt_cluster_map_t;

/*
 * Builds the map, or returns NULL with the reason in err (NUL-terminated,
 * names the range and node): a range out of 0..16383 or reversed, a range
 * without a master, a master's bad host or port (not 1..65535), two
 * ranges sharing a slot, a node both master and replica, too many nodes,
 * out of memory.  Uncovered slots (holes) are not an error: they map to
 * VPT_CLUSTER_NO_NODE, map->uncovered counts them, vpt_cluster_map_holes()
 * names them.  A replica with a bad address is left out (map->skipped).
 */
vpt_cluster_map_t *vpt_cluster_map_build(const vpt_cluster_range_in_t *range,
    size_t n, char *err, size_t errlen);
void vpt_cluster_map_free(vpt_cluster_map_t *map);

/* the slot's master, O(1): a node index or VPT_CLUSTER_NO_NODE */
#define vpt_cluster_map_master(map, s)                                      \
    ((map)->slot[(s) & (VPT_CLUSTER_SLOTS - 1)])

/*
 * A replica of the slot's master, chosen by pick (e.g. a counter) among
 * them; the master itself when it has none; NO_NODE for a hole
 */
unsigned vpt_cluster_map_replica(const vpt_cluster_map_t *map,
    unsigned slot, uint64_t pick);

/*
 * After a MOVED: the slot is served by the node at host:port from now on,
 * until the next map (a MOVED names a master).  Returns the node's index,
 * or -1 when the map does not know the node (then nothing changes: the
 * map must be fetched again before that node can be used).  Only the
 * slot's entry changes; the masters' slot counts stay those of the reply.
 */
int vpt_cluster_map_move(vpt_cluster_map_t *map, unsigned slot,
    const char *host, size_t host_len, unsigned port);

/* the node at host:port (host "" is the unknown endpoint), or -1 */
int vpt_cluster_map_find(const vpt_cluster_map_t *map, const char *host,
    size_t host_len, unsigned port);

/*
 * The uncovered slots as "a-b,c,d-e", NUL-terminated, cut with "..." when
 * buf is short; returns the length written (0: no hole)
 */
size_t vpt_cluster_map_holes(const vpt_cluster_map_t *map, char *buf,
    size_t len);


/* what a cluster or replication error reply (without its '-') is */
typedef enum {
    VPT_REDIS_ERR_OTHER = 0,
    VPT_REDIS_ERR_MOVED,        /* the slot lives elsewhere: refresh map */
    VPT_REDIS_ERR_ASK,          /* migrating: ASKING + retry there once */
    VPT_REDIS_ERR_TRYAGAIN,     /* multi-key during migration */
    VPT_REDIS_ERR_CLUSTERDOWN,
    VPT_REDIS_ERR_READONLY,     /* a replica: the master moved */
    VPT_REDIS_ERR_MASTERDOWN,   /* a replica without its master */
    VPT_REDIS_ERR_LOADING,
    VPT_REDIS_ERR_NOAUTH,
    VPT_REDIS_ERR_WRONGPASS,
    VPT_REDIS_ERR_NOPERM,
    VPT_REDIS_ERR_WRONGTYPE
} vpt_redis_err_e;

/* by the error's first word, case-sensitive as Redis sends it */
vpt_redis_err_e vpt_redis_error_kind(const char *s, size_t len);

typedef struct {
    vpt_redis_err_e               kind;     /* MOVED or ASK */
    unsigned                      slot;
    vpt_str_t                     host;     /* into the input; may be
                                               empty: the node asked */
    unsigned                      port;
} vpt_cluster_redirect_t;

/*
 * "MOVED 3999 127.0.0.1:6381", "ASK 3999 [::1]:6381" or with an IPv6
 * address bare ("ASK 1 ::1:6381": the port is after the last ':'):
 * VPT_OK; VPT_DECLINED when s is neither MOVED nor ASK; VPT_ERROR when
 * it is but malformed (slot not 0..16383, port not 1..65535, a control
 * byte or space in the host, a host over VPT_CLUSTER_HOST_MAX)
 */
int vpt_cluster_redirect_parse(const char *s, size_t len,
    vpt_cluster_redirect_t *r);


/*
 * SENTINEL get-master-addr-by-name NAME: the reply's elements (nelem 0 for
 * Redis's nil, the name unknown to this sentinel).  VPT_OK with host
 * (into elem[0]) and port; VPT_DECLINED for nil; VPT_ERROR for anything
 * but two strings, a host and a port.
 */
int vpt_sentinel_master_addr(const vpt_str_t *elem, size_t nelem,
    vpt_str_t *host, unsigned *port);

/*
 * The message of the "+switch-master" channel:
 * "<name> <old host> <old port> <new host> <new port>".  VPT_OK with the
 * name and the new address (into s), VPT_ERROR otherwise.
 */
int vpt_sentinel_switch_parse(const char *s, size_t len, vpt_str_t *name,
    vpt_str_t *host, unsigned *port);


#endif /* VPT_CLUSTER_H */
