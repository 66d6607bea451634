/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-forget: removes what the module and the shop keep in Redis about
 * shoppers, for a data-subject erasure request, and says what it removed.
 *
 *   vpt-forget (--redis HOST:PORT|unix:PATH | --sentinel NAME HOST:PORT
 *              | --cluster HOST:PORT) [--prefix P] [--json]
 *              [--password-file FILE] [--user NAME] [--db N] SESSION ...
 *
 * For each session key (a SESSION of "-" reads more, one a line, from
 * standard input):
 *
 *   <prefix><session>       the shopper's context (the shop's JSON)
 *   <prefix><session>:vpt   the module's counters: "i:<offer>" impressions
 *                           and "a:<offer>" accept marks
 *
 * are read and deleted in one MULTI/EXEC (a session key ending in ":vpt"
 * is refused, as the module refuses it), so what is reported is exactly
 * what was deleted, even while nginx writes.  The prefix is the module's
 * vpt_context_prefix (default "vpt:ctx:").  Text output, a line per key
 * removed ("SESSION: deleted KEY (...)") or "SESSION: nothing stored";
 * with --json one JSON object per session and line.  Exit status 0, 1 when
 * Redis fails or refuses (what was done until then is printed), 2 for a
 * bad command line.  --sentinel asks the sentinel for the master's
 * address and works there.  --cluster starts at a seed node and follows
 * MOVED (asked with EXISTS before each MULTI, which a redirect would
 * abort); in a cluster the counters are the key the module derives
 * (vpt_cluster_sibling_key(): "{<prefix><session>}:vpt" for a key without
 * braces), in the context's slot.
 *
 * hiredis's synchronous API: right for a tool, never in nginx.  The
 * options are read as every tool's (tools/lib); of the core only
 * vpt_cluster.c (the counters key in a cluster); the other key formats
 * are the glue's (src/ngx_vpt_store.c), written here once.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "vpt_cluster.h"

#include "vpt_tools.h"


#define VPT_FORGET_PREFIX    "vpt:ctx:"
#define VPT_FORGET_COUNTERS  ":vpt"
#define VPT_FORGET_TIMEOUT   5          /* seconds, connect and each reply */
#define VPT_FORGET_SID_MAX   4096


typedef struct {
    const char  *prefix;
    int          json;
    int          failed;
    int          cluster;
    const char  *password_file;
    const char  *user;
} forget_t;


static const char  usage[] =
    "Usage: vpt-forget (--redis HOST:PORT|unix:PATH\n"
    "                   | --sentinel NAME HOST:PORT | --cluster HOST:PORT)\n"
    "                  [--prefix P] [--json] [--password-file FILE]\n"
    "                  [--user NAME] [--db N] SESSION ...\n"
    "\n"
    "Deletes each shopper's context (<prefix><session>) and counters\n"
    "(<prefix><session>:vpt: impressions and accept marks) and prints what\n"
    "it deleted.  A SESSION of - reads session keys from standard input,\n"
    "one a line.\n"
    "\n"
    "  --redis ADDR          the Redis server, as vpt_redis names it\n"
    "  --sentinel NAME ADDR  the master NAME as the sentinel at ADDR names it\n"
    "  --cluster ADDR        a node of the Redis Cluster (counters: the\n"
    "                        cluster's key, {<prefix><session>}:vpt)\n"
    "  --prefix P            vpt_context_prefix (default vpt:ctx:)\n"
    "  --password-file FILE  AUTH with the file's first line\n"
    "  --user NAME           AUTH as this ACL user\n"
    "  --db N                SELECT N\n"
    "  --json                one JSON object per session and line\n"
    "  --help                print this help and exit\n"
    "  --version             print the release and exit\n";


/* a JSON string (tools/lib's), or text with control bytes escaped */
static void
put_str(const char *s, size_t len, int json)
{
    size_t         i;
    unsigned char  c;

    if (json) {
        vpt_json_str(stdout, s, len);
        return;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == 0x7f) {
            printf("\\x%02x", c);

        } else {
            putchar(c);
        }
    }
}


static redisReply *
command(redisContext *rc, int argc, const char **argv, const size_t *len)
{
    redisReply  *r;

    r = redisCommandArgv(rc, argc, argv, len);

    if (r == NULL) {
        vpt_die(1, "vpt-forget: Redis: %s",
                rc->errstr[0] ? rc->errstr : "no reply");
    }

    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "vpt-forget: Redis refused %s: %s\n", argv[0],
                r->str);
        freeReplyObject(r);
        exit(1);
    }

    return r;
}


static redisContext *
connect_redis(const char *addr, const char *password_file, const char *user,
    const char *db)
{
    int              port, argc;
    char            *colon, *end, host[256], password[1024];
    FILE            *f;
    size_t           len[3];
    const char      *argv[3];
    redisReply      *r;
    redisContext    *rc;
    struct timeval   tv;

    tv.tv_sec = VPT_FORGET_TIMEOUT;
    tv.tv_usec = 0;

    if (strncmp(addr, "unix:", 5) == 0) {
        rc = redisConnectUnixWithTimeout(addr + 5, tv);

    } else {
        colon = strrchr(addr, ':');

        if (colon == NULL || colon == addr
            || (size_t) (colon - addr) >= sizeof(host))
        {
            vpt_die(2, "vpt-forget: --redis: expected host:port or "
                    "unix:/path, not \"%s\"", addr);
        }

        errno = 0;
        port = (int) strtol(colon + 1, &end, 10);

        if (errno || *end || end == colon + 1 || port < 1 || port > 65535) {
            vpt_die(2, "vpt-forget: --redis: \"%s\" has no valid port", addr);
        }

        memcpy(host, addr, (size_t) (colon - addr));
        host[colon - addr] = '\0';

        rc = redisConnectWithTimeout(host, port, tv);
    }

    if (rc == NULL) {
        vpt_die(1, "vpt-forget: cannot connect to %s: out of memory", addr);
    }

    if (rc->err) {
        fprintf(stderr, "vpt-forget: cannot connect to %s: %s\n", addr,
                rc->errstr);
        exit(1);
    }

    redisSetTimeout(rc, tv);

    if (password_file != NULL) {
        f = fopen(password_file, "r");

        if (f == NULL) {
            fprintf(stderr, "vpt-forget: %s: %s\n", password_file,
                    strerror(errno));
            exit(1);
        }

        if (fgets(password, sizeof(password), f) == NULL) {
            password[0] = '\0';
        }

        fclose(f);
        password[strcspn(password, "\r\n")] = '\0';

        argc = 0;
        argv[argc] = "AUTH";
        len[argc++] = 4;

        if (user != NULL) {
            argv[argc] = user;
            len[argc++] = strlen(user);
        }

        argv[argc] = password;
        len[argc++] = strlen(password);

        r = command(rc, argc, argv, len);
        freeReplyObject(r);
        memset(password, 0, sizeof(password));
    }

    if (db != NULL) {
        argv[0] = "SELECT";
        len[0] = 6;
        argv[1] = db;
        len[1] = strlen(db);

        r = command(rc, 2, argv, len);
        freeReplyObject(r);
    }

    return rc;
}


/*
 * A cluster: the connection moves to the node that serves the key's slot,
 * told by MOVED (at most a few hops)
 */
static void
route(forget_t *fg, redisContext **rcp, const char *key, size_t len)
{
    int          hops;
    char         addr[300], *sp;
    redisReply  *r;

    for (hops = 0; hops < 4; hops++) {
        r = redisCommand(*rcp, "EXISTS %b", key, len);

        if (r == NULL) {
            vpt_die(1, "vpt-forget: Redis: %s",
                    (*rcp)->errstr[0] ? (*rcp)->errstr : "no reply");
        }

        if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "MOVED ", 6) != 0)
        {
            freeReplyObject(r);
            return;
        }

        /* "MOVED <slot> <host>:<port>" */
        sp = strchr(r->str + 6, ' ');

        if (sp == NULL || strlen(sp + 1) >= sizeof(addr)) {
            vpt_die(1, "vpt-forget: Redis: unexpected \"%s\"", r->str);
        }

        strcpy(addr, sp + 1);
        freeReplyObject(r);

        redisFree(*rcp);
        *rcp = connect_redis(addr, fg->password_file, fg->user, NULL);
    }

    vpt_die(1, "vpt-forget: Redis: MOVED more than 3 times for one key");
}


/* the master's "host:port" as a sentinel names it */
static void
sentinel_master(const char *sentinel, const char *name, char *out,
    size_t size)
{
    redisReply    *r;
    redisContext  *rc;

    rc = connect_redis(sentinel, NULL, NULL, NULL);

    r = redisCommand(rc, "SENTINEL get-master-addr-by-name %s", name);

    if (r == NULL) {
        vpt_die(1, "vpt-forget: sentinel: %s",
                rc->errstr[0] ? rc->errstr : "no reply");
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING
        || r->element[0]->len + r->element[1]->len + 2 > size)
    {
        vpt_die(1, "vpt-forget: the sentinel does not know master \"%s\"",
                name);
    }

    snprintf(out, size, "%s:%s", r->element[0]->str, r->element[1]->str);

    freeReplyObject(r);
    redisFree(rc);
}


/* the counters' fields: total impressions, and each accepted offer */
static void
put_counters(const redisReply *h, int json)
{
    size_t             i, nacc;
    long long          imp, noffers;
    const redisReply  *k, *v;

    imp = 0;
    noffers = 0;

    for (i = 0; i + 1 < h->elements; i += 2) {
        k = h->element[i];
        v = h->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && k->len > 2
            && memcmp(k->str, "i:", 2) == 0 && v->type == REDIS_REPLY_STRING)
        {
            imp += strtoll(v->str, NULL, 10);
            noffers++;
        }
    }

    if (json) {
        printf("\"impressions\":%lld,\"offers_shown\":%lld,\"accepted\":[",
               imp, noffers);

    } else {
        printf("counters: %lld impression%s of %lld offer%s, accepted: ",
               imp, imp == 1 ? "" : "s", noffers, noffers == 1 ? "" : "s");
    }

    nacc = 0;

    for (i = 0; i + 1 < h->elements; i += 2) {
        k = h->element[i];

        if (k->type == REDIS_REPLY_STRING && k->len > 2
            && memcmp(k->str, "a:", 2) == 0)
        {
            printf("%s", nacc++ ? (json ? "," : " ") : "");
            put_str(k->str + 2, k->len - 2, json);
        }
    }

    printf(json ? "]" : (nacc ? "" : "none"));
}


/*
 * A session key ending in ":vpt" would name another shopper's counters as
 * its context: the module takes no such session (ngx_vpt_store.h), and
 * neither do we.
 */
static int
session_ok(const char *sid, size_t len)
{
    size_t  sl;

    sl = sizeof(VPT_FORGET_COUNTERS) - 1;

    return len > 0 && len <= VPT_FORGET_SID_MAX
           && !(len >= sl && memcmp(sid + len - sl, VPT_FORGET_COUNTERS, sl)
                             == 0);
}


static void
forget(forget_t *fg, redisContext **rcp, const char *sid, size_t sid_len)
{
    redisContext  *rc;

    int          removed;
    char        *ctx, *cnt;
    size_t       plen, ctx_len, cnt_len, i, len[2];
    const char  *argv[2];
    redisReply  *r, *exec, *strlen_r, *hash_r, *del_ctx, *del_cnt;

    plen = strlen(fg->prefix);
    ctx = malloc(plen + sid_len);
    cnt = malloc(VPT_CLUSTER_SIBLING_MAX(plen + sid_len,
                                         sizeof(VPT_FORGET_COUNTERS) - 1));

    if (ctx == NULL || cnt == NULL) {
        vpt_die(1, "vpt-forget: out of memory");
    }

    memcpy(ctx, fg->prefix, plen);
    memcpy(ctx + plen, sid, sid_len);
    memcpy(cnt, ctx, plen + sid_len);
    memcpy(cnt + plen + sid_len, VPT_FORGET_COUNTERS,
           sizeof(VPT_FORGET_COUNTERS) - 1);

    ctx_len = plen + sid_len;
    cnt_len = ctx_len + sizeof(VPT_FORGET_COUNTERS) - 1;

    if (fg->cluster) {
        /* the module's counters key in a cluster, in the context's slot */
        cnt_len = vpt_cluster_sibling_key(cnt, ctx, ctx_len,
                                          VPT_FORGET_COUNTERS,
                                          sizeof(VPT_FORGET_COUNTERS) - 1);
        route(fg, rcp, ctx, ctx_len);
    }

    rc = *rcp;

    /* read and delete at once: what is reported is what was deleted */
    argv[0] = "MULTI";
    len[0] = 5;
    redisAppendCommandArgv(rc, 1, argv, len);

    argv[0] = "STRLEN";
    len[0] = 6;
    argv[1] = ctx;
    len[1] = ctx_len;
    redisAppendCommandArgv(rc, 2, argv, len);

    argv[0] = "HGETALL";
    len[0] = 7;
    argv[1] = cnt;
    len[1] = cnt_len;
    redisAppendCommandArgv(rc, 2, argv, len);

    argv[0] = "DEL";
    len[0] = 3;
    argv[1] = ctx;
    len[1] = ctx_len;
    redisAppendCommandArgv(rc, 2, argv, len);

    argv[1] = cnt;
    len[1] = cnt_len;
    redisAppendCommandArgv(rc, 2, argv, len);

    argv[0] = "EXEC";
    len[0] = 4;
    redisAppendCommandArgv(rc, 1, argv, len);

    /* MULTI's OK and four QUEUED, then EXEC's array */
    exec = NULL;

    for (i = 0; i < 6; i++) {
        if (redisGetReply(rc, (void **) &r) != REDIS_OK || r == NULL) {
            vpt_die(1, "vpt-forget: Redis: %s",
                    rc->errstr[0] ? rc->errstr : "no reply");
        }

        if (r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "vpt-forget: Redis refused the deletion: %s\n",
                    r->str);
            exit(1);
        }

        if (i < 5) {
            freeReplyObject(r);

        } else {
            exec = r;
        }
    }

    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 4) {
        vpt_die(1, "vpt-forget: Redis: EXEC did not run the deletion");
    }

    strlen_r = exec->element[0];
    hash_r = exec->element[1];
    del_ctx = exec->element[2];
    del_cnt = exec->element[3];

    removed = 0;

    if (fg->json) {
        printf("{\"session\":");
        put_str(sid, sid_len, 1);
        printf(",\"deleted\":[");
    }

    if (del_ctx->type == REDIS_REPLY_INTEGER && del_ctx->integer == 1) {
        if (fg->json) {
            printf("{\"key\":");
            put_str(ctx, ctx_len, 1);
            printf(",\"what\":\"context\"");

            if (strlen_r->type == REDIS_REPLY_INTEGER) {
                printf(",\"bytes\":%lld", strlen_r->integer);
            }

            printf("}");

        } else {
            put_str(sid, sid_len, 0);
            printf(": deleted ");
            put_str(ctx, ctx_len, 0);

            if (strlen_r->type == REDIS_REPLY_INTEGER) {
                printf(" (context, %lld bytes)\n", strlen_r->integer);

            } else {
                printf(" (context, not a string)\n");
            }
        }

        removed++;
    }

    if (del_cnt->type == REDIS_REPLY_INTEGER && del_cnt->integer == 1) {
        if (fg->json) {
            printf("%s{\"key\":", removed ? "," : "");
            put_str(cnt, cnt_len, 1);
            printf(",\"what\":\"counters\"");

            if (hash_r->type == REDIS_REPLY_ARRAY) {
                printf(",");
                put_counters(hash_r, 1);
            }

            printf("}");

        } else {
            put_str(sid, sid_len, 0);
            printf(": deleted ");
            put_str(cnt, cnt_len, 0);
            printf(" (");

            if (hash_r->type == REDIS_REPLY_ARRAY) {
                put_counters(hash_r, 0);

            } else {
                printf("counters, not a hash");
            }

            printf(")\n");
        }

        removed++;
    }

    if (fg->json) {
        printf("]}\n");

    } else if (removed == 0) {
        put_str(sid, sid_len, 0);
        printf(": nothing stored\n");
    }

    fflush(stdout);
    freeReplyObject(exec);
    free(ctx);
    free(cnt);
}


static void
forget_stdin(forget_t *fg, redisContext **rc)
{
    char    line[VPT_FORGET_SID_MAX + 2];
    size_t  n;

    while (fgets(line, sizeof(line), stdin) != NULL) {
        n = strcspn(line, "\r\n");

        if (n == sizeof(line) - 1) {
            fprintf(stderr, "vpt-forget: a session key on standard input "
                    "is longer than %d bytes\n", VPT_FORGET_SID_MAX);
            fg->failed = 1;
            return;
        }

        if (n == 0) {
            continue;
        }

        if (!session_ok(line, n)) {
            fprintf(stderr, "vpt-forget: \"%.*s\" is no session key (it "
                    "ends in \":vpt\")\n", (int) (n < 64 ? n : 64), line);
            fg->failed = 1;
            continue;
        }

        forget(fg, rc, line, n);
    }
}


/* --sentinel NAME ADDR, --db N: what the option table cannot read */
static void
forget_own(int argc, char **argv, const vpt_opt_t *o, const char **sentinel,
    const char **sentinel_name, const char **db)
{
    char  *end;

    if (strcmp(o->name, "sentinel") == 0) {
        if (optind >= argc) {
            vpt_die(2, "vpt-forget: --sentinel: expected NAME HOST:PORT");
        }

        *sentinel_name = optarg;
        *sentinel = argv[optind++];
        return;
    }

    errno = 0;
    (void) strtol(optarg, &end, 10);

    if (errno || *end || end == optarg || optarg[0] == '-') {
        vpt_die(2, "vpt-forget: --db: expected a database number, not "
                "\"%s\"", optarg);
    }

    *db = optarg;
}


int
main(int argc, char **argv)
{
    int               i;
    forget_t          fg;
    char              master[300];
    const char       *redis, *db, *sentinel, *sentinel_name, *cluster;
    redisContext     *rc;
    const vpt_opt_t  *o;

    const vpt_opt_t  opts[] = {
        { "redis",         VPT_OPT_STR,  &redis,            0, 0 },
        { "sentinel",      VPT_OPT_OWN,  NULL,              0, 0 },
        { "cluster",       VPT_OPT_STR,  &cluster,          0, 0 },
        { "prefix",        VPT_OPT_STR,  &fg.prefix,        0, 0 },
        { "password-file", VPT_OPT_STR,  &fg.password_file, 0, 0 },
        { "user",          VPT_OPT_STR,  &fg.user,          0, 0 },
        { "db",            VPT_OPT_OWN,  NULL,              0, 0 },
        { "json",          VPT_OPT_FLAG, &fg.json,          0, 0 },
        { NULL,            0,            NULL,              0, 0 }
    };

    vpt_tool_init("vpt-forget", usage);

    memset(&fg, 0, sizeof(forget_t));
    fg.prefix = VPT_FORGET_PREFIX;
    redis = db = sentinel = sentinel_name = cluster = NULL;

    while ((o = vpt_opt_next(argc, argv, opts)) != NULL) {
        forget_own(argc, argv, o, &sentinel, &sentinel_name, &db);
    }

    if ((redis != NULL) + (sentinel != NULL) + (cluster != NULL) != 1
        || optind == argc)
    {
        vpt_usage(2);
    }

    fg.cluster = (cluster != NULL);

    if (fg.cluster && db != NULL) {
        vpt_die(2, "vpt-forget: --db with --cluster: a Redis Cluster has "
                "only database 0");
    }

    if (fg.user != NULL && fg.password_file == NULL) {
        vpt_die(2, "vpt-forget: --user needs --password-file");
    }

    for (i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") != 0 && !session_ok(argv[i], strlen(argv[i])))
        {
            vpt_die(2, "vpt-forget: \"%.64s\" is no session key (1 to 4096 "
                    "bytes, not ending in \":vpt\")", argv[i]);
        }
    }

    if (sentinel != NULL) {
        sentinel_master(sentinel, sentinel_name, master, sizeof(master));
        redis = master;

    } else if (cluster != NULL) {
        redis = cluster;
    }

    rc = connect_redis(redis, fg.password_file, fg.user, db);

    for (i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            forget_stdin(&fg, &rc);

        } else {
            forget(&fg, &rc, argv[i], strlen(argv[i]));
        }
    }

    redisFree(rc);

    return fg.failed ? 1 : 0;
}
