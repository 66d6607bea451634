/*
 * fault-inject-load: the load generator of bench/fault-inject.  Keep-alive
 * HTTP/1.1 connections to 127.0.0.1 (epoll, non-blocking sockets, one
 * thread), and every response body checked: it must be the origin page
 * byte for byte, or the origin page with exactly one offer block
 * (<div class="vpt-offer" data-vpt-decision="...">...</div>) inserted
 * right before its first "</body>".
 *
 *   fault-inject-load -p PORT -o ORIGIN -u PATH [-u PATH ...] [-s SID ...]
 *                     [-c CONNS] [-r RATE] [-t SECONDS] [-n REQUESTS]
 *                     [-T TIMEOUT_MS] [-d BAD_DIR] [-P PHASE]
 *
 * -u  request paths, used in turn ("/confirmation.html", ...)
 * -s  session ids, sent as "Cookie: vpt_sid=SID"; "-" sends no cookie;
 *     every path is requested with every session id in turn
 * -c  connections (default 32)
 * -r  requests per second over all connections, 0: as fast as they go
 *     (default 0)
 * -t  hard bound on the run in seconds (default 600)
 * -n  hard bound on the requests sent (default 10000000)
 * -T  a request without its complete response after this many ms is a
 *     timeout (default 5000)
 * -d  the first bad responses (status, headers and body) are saved there
 * -P  the name of the first phase (default "start")
 *
 * Standard input drives it: a line "phase NAME" starts a phase (requests
 * are counted in the phase they were sent in, and carry ?p=NAME&n=SEQ so
 * the access log can be tallied the same way); "stop" or end of input
 * stops sending, waits for the requests in flight (at most the timeout),
 * and prints one line per phase on standard output:
 *
 *   phase=NAME sent= received= s2xx= non2xx= unchanged= offer= broken=
 *   connect_err= ka_closed= closed= truncated= timeouts= p50_us= p99_us=
 *   max_us=
 *
 * ka_closed: the connection closed or reset before any byte of the
 * response, on a connection that had already served a request (the
 * keep-alive race a browser retries); closed: the same on a fresh
 * connection; truncated: closed after part of the response.
 *
 * Loopback only: the address is 127.0.0.1, not an option.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define MAX_PHASES    64
#define MAX_LIST      64
#define MAX_CONNS     4096
#define MAX_HEADER    16384
#define MAX_BODY      (4 * 1024 * 1024)
#define MAX_SAVED     8
#define LAT_BUCKETS   2000          /* 10 us each: up to 20 s */

#define WRAPPER       "<div class=\"vpt-offer\" data-vpt-decision=\""


typedef struct {
    char      name[64];
    uint64_t  sent, received, s2xx, non2xx, unchanged, offer, broken;
    uint64_t  connect_err, ka_closed, closed, truncated, timeouts;
    uint64_t  lat[LAT_BUCKETS + 1];
    uint64_t  lat_max;
} phase_t;

enum { C_CLOSED, C_CONNECTING, C_WAITING, C_WRITING, C_READING, C_BACKOFF };

enum {
    P_STATUS, P_HEADERS, P_BODY_LEN, P_BODY_EOF, P_CHUNK_SIZE, P_CHUNK_DATA,
    P_CHUNK_CRLF, P_TRAILER, P_DONE
};

typedef struct conn_s conn_t;

struct conn_s {
    int        fd;
    int        state;
    unsigned   served;              /* responses on this connection */
    conn_t    *next_wait;

    /* the request in flight */
    char       req[1024];
    size_t     req_len, req_off;
    int        phase;
    uint64_t   seq;
    double     started;
    size_t     got;                 /* response bytes seen */

    /* the response parser */
    int        pstate;
    char       hdr[MAX_HEADER];
    size_t     hdr_len;
    int        status;
    int        chunked, has_len, conn_close;
    size_t     remaining;
    char       line[64];
    size_t     line_len;
    char      *body;
    size_t     body_len, body_cap;
    int        too_big;

    double     retry_at;
};


static struct {
    int        port;
    const char *paths[MAX_LIST];
    int        npaths;
    const char *sids[MAX_LIST];
    int        nsids;
    int        nconns;
    double     rate;
    double     max_seconds;
    uint64_t   max_requests;
    double     timeout;
    const char *bad_dir;

    char      *origin;
    size_t     origin_len, anchor;

    int        ep;
    conn_t    *conns;
    conn_t    *wait_head, *wait_tail;
    phase_t    phases[MAX_PHASES];
    int        nphases;
    uint64_t   seq;
    double     budget, budget_at;
    int        stopping;
    double     stop_at;
    int        saved;
    char       inbuf[4096];
    size_t     inlen;
} g;


static void
die(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    fputs("fault-inject-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        die("out of memory");
    }
    return p;
}


static void
new_phase(const char *name)
{
    phase_t  *p;

    if (g.nphases == MAX_PHASES) {
        die("more than %d phases", MAX_PHASES);
    }
    p = &g.phases[g.nphases++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
}


/* the origin page and its anchor: the first "</body>", any case */

static void
load_origin(const char *path)
{
    FILE    *f;
    long     n;
    size_t   i;

    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        die("%s: %s", path, strerror(errno));
    }
    rewind(f);
    g.origin = xrealloc(NULL, n + 1);
    if (fread(g.origin, 1, n, f) != (size_t) n) {
        die("%s: short read", path);
    }
    fclose(f);
    g.origin_len = n;

    for (i = 0; i + 7 <= g.origin_len; i++) {
        if (strncasecmp(g.origin + i, "</body>", 7) == 0) {
            break;
        }
    }
    if (i + 7 > g.origin_len) {
        die("%s: no </body>", path);
    }
    g.anchor = i;
}


static size_t
count_of(const char *s, size_t n, const char *what)
{
    size_t       c, k;
    const char  *p, *end;

    c = 0;
    k = strlen(what);
    end = s + n;
    for (p = s; (p = memmem(p, end - p, what, k)) != NULL; p += k) {
        c++;
    }
    return c;
}


/*
 * 0: the origin page; 1: the origin page plus one offer block at the
 * anchor; -1: anything else
 */

static int
check_body(const char *b, size_t n)
{
    size_t       tail, mid, i;
    const char  *m, *q;

    if (n == g.origin_len && memcmp(b, g.origin, n) == 0) {
        return 0;
    }

    tail = g.origin_len - g.anchor;
    if (n <= g.origin_len
        || memcmp(b, g.origin, g.anchor) != 0
        || memcmp(b + n - tail, g.origin + g.anchor, tail) != 0)
    {
        return -1;
    }

    /* what was inserted: one block, nothing around it */
    m = b + g.anchor;
    mid = n - g.origin_len;

    if (mid < sizeof(WRAPPER) - 1 + 16 + 8
        || memcmp(m, WRAPPER, sizeof(WRAPPER) - 1) != 0
        || memcmp(m + mid - 6, "</div>", 6) != 0
        || count_of(m, mid, WRAPPER) != 1
        || count_of(m, mid, "<div") != count_of(m, mid, "</div>"))
    {
        return -1;
    }

    /* a 16-hex-digit decision id, then data-vpt-offer="id"> */
    q = m + sizeof(WRAPPER) - 1;
    for (i = 0; i < 16; i++) {
        if (!((q[i] >= '0' && q[i] <= '9') || (q[i] >= 'a' && q[i] <= 'f'))) {
            return -1;
        }
    }
    q += 16;
    if (m + mid - q < 20 || memcmp(q, "\" data-vpt-offer=\"", 18) != 0) {
        return -1;
    }
    for (q += 18; q < m + mid && *q != '"'; q++) {
        if (!(*q == '-' || *q == '.' || *q == '_' || *q == ':'
              || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z')
              || (*q >= 'A' && *q <= 'Z')))
        {
            return -1;
        }
    }
    if (q + 2 > m + mid || q[1] != '>') {
        return -1;
    }

    return 1;
}


static void
save_bad(conn_t *c, const char *why)
{
    char   path[4096];
    FILE  *f;

    if (g.bad_dir == NULL || g.saved >= MAX_SAVED) {
        return;
    }
    snprintf(path, sizeof(path), "%s/bad-%d-%s-%llu.txt", g.bad_dir,
             g.saved++, g.phases[c->phase].name, (unsigned long long) c->seq);
    f = fopen(path, "wb");
    if (f == NULL) {
        return;
    }
    fprintf(f, "%s\n%.*s\n", why, (int) c->req_len, c->req);
    fwrite(c->hdr, 1, c->hdr_len, f);
    if (c->body) {
        fwrite(c->body, 1, c->body_len, f);
    }
    fclose(f);
}


static void
latency(phase_t *p, double secs)
{
    uint64_t  us;
    size_t    b;

    us = secs > 0 ? (uint64_t) (secs * 1e6) : 0;
    b = us / 10;
    p->lat[b < LAT_BUCKETS ? b : LAT_BUCKETS]++;
    if (us > p->lat_max) {
        p->lat_max = us;
    }
}


static uint64_t
percentile(const phase_t *p, double q)
{
    uint64_t  total, want, acc;
    size_t    i;

    total = 0;
    for (i = 0; i <= LAT_BUCKETS; i++) {
        total += p->lat[i];
    }
    if (total == 0) {
        return 0;
    }
    want = (uint64_t) (q * total);
    if (want >= total) {
        want = total - 1;
    }
    acc = 0;
    for (i = 0; i <= LAT_BUCKETS; i++) {
        acc += p->lat[i];
        if (acc > want) {
            return i == LAT_BUCKETS ? p->lat_max : i * 10 + 5;
        }
    }
    return p->lat_max;
}


/* connections */

static void conn_open(conn_t *c);
static void conn_send(conn_t *c);


static void
conn_close(conn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);       /* removes it from the epoll set */
    }
    c->fd = -1;
    c->state = C_CLOSED;
    c->served = 0;
}


static void
wait_push(conn_t *c)
{
    c->state = C_WAITING;
    c->next_wait = NULL;
    if (g.wait_tail) {
        g.wait_tail->next_wait = c;
    } else {
        g.wait_head = c;
    }
    g.wait_tail = c;
}


static void
wait_remove(conn_t *c)
{
    conn_t  **pp, *prev;

    prev = NULL;
    for (pp = &g.wait_head; *pp; pp = &(*pp)->next_wait) {
        if (*pp == c) {
            *pp = c->next_wait;
            if (g.wait_tail == c) {
                g.wait_tail = prev;
            }
            return;
        }
        prev = *pp;
    }
}


/* a connection is free for the next request: send it, or queue for a token */

static void
conn_ready(conn_t *c)
{
    if (g.stopping) {
        conn_close(c);
        return;
    }
    if (g.rate > 0) {
        wait_push(c);
        return;
    }
    conn_send(c);
}


static void
conn_failed(conn_t *c, int connecting)
{
    phase_t  *p;

    if (c->state == C_WRITING || c->state == C_READING) {
        p = &g.phases[c->phase];
        if (connecting) {
            p->connect_err++;
        } else if (c->got > 0) {
            p->truncated++;
            save_bad(c, "truncated");
        } else if (c->served > 0) {
            p->ka_closed++;
        } else {
            p->closed++;
        }
    } else if (connecting) {
        g.phases[g.nphases - 1].connect_err++;
    }
    conn_close(c);
    if (g.stopping) {
        return;
    }
    if (connecting) {
        c->state = C_BACKOFF;
        c->retry_at = now() + 0.01;
    } else {
        conn_open(c);
    }
}


static void
conn_open(conn_t *c)
{
    struct sockaddr_in  sin;
    struct epoll_event  ev;
    int                 one;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        die("socket: %s", strerror(errno));
    }
    one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(g.port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    c->served = 0;
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        die("epoll_ctl: %s", strerror(errno));
    }

    if (connect(c->fd, (struct sockaddr *) &sin, sizeof(sin)) != 0
        && errno != EINPROGRESS)
    {
        c->state = C_CONNECTING;
        conn_failed(c, 1);
        return;
    }
    c->state = C_CONNECTING;
}


static void
conn_send(conn_t *c)
{
    const char  *path, *sid;
    phase_t     *p;
    uint64_t     seq;
    int          n;

    if (g.seq >= g.max_requests) {
        g.stopping = 1;
        g.stop_at = now();
        conn_close(c);
        return;
    }

    seq = g.seq++;
    path = g.paths[seq % g.npaths];
    sid = g.sids[(seq / g.npaths) % g.nsids];
    p = &g.phases[g.nphases - 1];

    n = snprintf(c->req, sizeof(c->req),
                 "GET %s?p=%s&n=%llu HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "User-Agent: fault-inject-load\r\n%s%s%s\r\n",
                 path, p->name, (unsigned long long) seq,
                 strcmp(sid, "-") ? "Cookie: vpt_sid=" : "",
                 strcmp(sid, "-") ? sid : "",
                 strcmp(sid, "-") ? "\r\n" : "");
    if (n < 0 || (size_t) n >= sizeof(c->req)) {
        die("request too long");
    }
    c->req_len = n;
    c->req_off = 0;
    c->phase = g.nphases - 1;
    c->seq = seq;
    c->started = now();
    c->got = 0;
    c->pstate = P_STATUS;
    c->hdr_len = 0;
    c->status = 0;
    c->chunked = c->has_len = c->conn_close = 0;
    c->remaining = 0;
    c->line_len = 0;
    c->body_len = 0;
    c->too_big = 0;
    c->state = C_WRITING;
    p->sent++;

    /* the first write is tried at once; EPOLLOUT does the rest */
    n = write(c->fd, c->req, c->req_len);
    if (n > 0) {
        c->req_off = n;
    } else if (n < 0 && errno != EAGAIN) {
        conn_failed(c, 0);
        return;
    }
    if (c->req_off == c->req_len) {
        c->state = C_READING;
    }
}


static void
body_append(conn_t *c, const char *s, size_t n)
{
    if (c->body_len + n > MAX_BODY) {
        c->too_big = 1;
        return;
    }
    if (c->body_len + n > c->body_cap) {
        c->body_cap = c->body_cap ? c->body_cap : 65536;
        while (c->body_cap < c->body_len + n) {
            c->body_cap *= 2;
        }
        c->body = xrealloc(c->body, c->body_cap);
    }
    memcpy(c->body + c->body_len, s, n);
    c->body_len += n;
}


static int
header_is(const char *line, size_t n, const char *name, const char **value)
{
    size_t  k;

    k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') {
        return 0;
    }
    for (line += k + 1; *line == ' ' || *line == '\t'; line++) { /* void */ }
    *value = line;
    return 1;
}


/* the headers are complete in c->hdr: status, framing */

static int
parse_headers(conn_t *c)
{
    char        *p, *eol, *end;
    const char  *v;
    int          http10;

    end = c->hdr + c->hdr_len;
    if (c->hdr_len < 12 || memcmp(c->hdr, "HTTP/1.", 7) != 0) {
        return -1;
    }
    http10 = c->hdr[7] == '0';
    c->status = atoi(c->hdr + 9);
    c->conn_close = http10;

    for (p = (char *) memchr(c->hdr, '\n', c->hdr_len) + 1; p < end;
         p = eol + 1)
    {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL || eol == p || (eol == p + 1 && *p == '\r')) {
            break;
        }
        *eol = '\0';
        if (eol > p && eol[-1] == '\r') {
            eol[-1] = '\0';
        }
        if (header_is(p, eol - p, "Content-Length", &v)) {
            c->has_len = 1;
            c->remaining = strtoull(v, NULL, 10);
        } else if (header_is(p, eol - p, "Transfer-Encoding", &v)) {
            c->chunked = strcasestr(v, "chunked") != NULL;
        } else if (header_is(p, eol - p, "Connection", &v)) {
            if (strcasestr(v, "close")) {
                c->conn_close = 1;
            } else if (strcasestr(v, "keep-alive")) {
                c->conn_close = 0;
            }
        }
        *eol = '\n';
    }

    if (c->chunked) {
        c->pstate = P_CHUNK_SIZE;
    } else if (c->has_len) {
        c->pstate = c->remaining ? P_BODY_LEN : P_DONE;
    } else if (c->status == 204 || c->status == 304 || c->status < 200) {
        c->pstate = P_DONE;
    } else {
        c->pstate = P_BODY_EOF;
        c->conn_close = 1;
    }
    return 0;
}


/* feeds response bytes to the parser; -1 on a protocol error */

static int
parse(conn_t *c, const char *s, size_t n)
{
    size_t       k;
    const char  *e;

    while (n > 0 && c->pstate != P_DONE) {
        switch (c->pstate) {

        case P_STATUS:
        case P_HEADERS:
            k = n < MAX_HEADER - c->hdr_len ? n : MAX_HEADER - c->hdr_len;
            if (k == 0) {
                return -1;
            }
            memcpy(c->hdr + c->hdr_len, s, k);
            c->hdr_len += k;
            e = memmem(c->hdr, c->hdr_len, "\r\n\r\n", 4);
            if (e == NULL) {
                s += k;
                n -= k;
                break;
            }
            /* give back what follows the headers */
            k -= c->hdr_len - (e + 4 - c->hdr);
            c->hdr_len = e + 4 - c->hdr;
            s += k;
            n -= k;
            if (parse_headers(c) != 0) {
                return -1;
            }
            break;

        case P_BODY_LEN:
            k = n < c->remaining ? n : c->remaining;
            body_append(c, s, k);
            c->remaining -= k;
            s += k;
            n -= k;
            if (c->remaining == 0) {
                c->pstate = P_DONE;
            }
            break;

        case P_BODY_EOF:
            body_append(c, s, n);
            n = 0;
            break;

        case P_CHUNK_SIZE:
        case P_TRAILER:
            if (c->line_len == sizeof(c->line) - 1) {
                /* chunk extensions or trailers we do not need: skip */
                c->line_len = 1;
            }
            c->line[c->line_len++] = *s;
            s++;
            n--;
            if (c->line[c->line_len - 1] != '\n') {
                break;
            }
            c->line[c->line_len] = '\0';
            if (c->pstate == P_TRAILER) {
                if (c->line_len <= 2) {
                    c->pstate = P_DONE;
                }
                c->line_len = 0;
                break;
            }
            {
                char  *endp;

                c->remaining = strtoull(c->line, &endp, 16);
                if (endp == c->line) {
                    return -1;
                }
            }
            c->line_len = 0;
            c->pstate = c->remaining ? P_CHUNK_DATA : P_TRAILER;
            break;

        case P_CHUNK_DATA:
            k = n < c->remaining ? n : c->remaining;
            body_append(c, s, k);
            c->remaining -= k;
            s += k;
            n -= k;
            if (c->remaining == 0) {
                c->pstate = P_CHUNK_CRLF;
                c->line_len = 0;
            }
            break;

        case P_CHUNK_CRLF:
            c->line[c->line_len++] = *s;
            s++;
            n--;
            if (c->line_len == 2) {
                if (c->line[0] != '\r' || c->line[1] != '\n') {
                    return -1;
                }
                c->line_len = 0;
                c->pstate = P_CHUNK_SIZE;
            }
            break;
        }
    }

    /* bytes after a complete response: we never pipeline */
    return n > 0 ? -1 : 0;
}


static void
response_done(conn_t *c)
{
    phase_t  *p;
    int       r;

    p = &g.phases[c->phase];
    p->received++;
    latency(p, now() - c->started);
    c->served++;

    if (c->status >= 200 && c->status < 300) {
        p->s2xx++;
        r = c->too_big ? -1 : check_body(c->body, c->body_len);
        if (r == 0) {
            p->unchanged++;
        } else if (r == 1) {
            p->offer++;
        } else {
            p->broken++;
            save_bad(c, "body is neither the origin page nor the origin page "
                     "plus one offer block");
        }
    } else {
        p->non2xx++;
        save_bad(c, "non-2xx");
    }

    if (c->body_cap > 4 * 65536) {
        free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }

    if (c->conn_close) {
        conn_close(c);
        if (!g.stopping) {
            conn_open(c);
        }
        return;
    }
    conn_ready(c);
}


static void
conn_event(conn_t *c, uint32_t events)
{
    char     buf[65536];
    ssize_t  n;
    int      err;
    socklen_t len;

    if (c->state == C_CONNECTING) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            conn_failed(c, 1);
            return;
        }
        if (!(events & EPOLLOUT)) {
            return;
        }
        err = 0;
        len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            conn_failed(c, 1);
            return;
        }
        conn_ready(c);
        return;
    }

    if (c->state == C_WRITING && (events & EPOLLOUT)) {
        n = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (n < 0 && errno != EAGAIN) {
            conn_failed(c, 0);
            return;
        }
        if (n > 0) {
            c->req_off += n;
        }
        if (c->req_off == c->req_len) {
            c->state = C_READING;
        }
    }

    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        return;
    }

    if (c->state == C_WAITING) {
        /* the server closed an idle connection: open another */
        wait_remove(c);
        conn_close(c);
        if (!g.stopping) {
            conn_open(c);
        }
        return;
    }

    if (c->state != C_READING && c->state != C_WRITING) {
        return;
    }

    for ( ;; ) {
        n = read(c->fd, buf, sizeof(buf));
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0 && c->pstate == P_BODY_EOF) {
                c->pstate = P_DONE;
                response_done(c);
                return;
            }
            conn_failed(c, 0);
            return;
        }
        c->got += n;
        if (parse(c, buf, n) != 0) {
            g.phases[c->phase].broken++;
            g.phases[c->phase].received++;
            save_bad(c, "HTTP protocol error");
            conn_close(c);
            if (!g.stopping) {
                conn_open(c);
            }
            return;
        }
        if (c->pstate == P_DONE) {
            response_done(c);
            return;
        }
    }
}


/* standard input: phases and stop */

static void
input_line(char *line)
{
    if (strncmp(line, "phase ", 6) == 0 && line[6] != '\0') {
        if (g.stopping) {
            return;
        }
        if (strlen(line + 6) >= sizeof(g.phases[0].name)
            || strpbrk(line + 6, " &?#%\r") != NULL)
        {
            fprintf(stderr, "fault-inject-load: bad phase name \"%s\"\n",
                    line + 6);
            return;
        }
        new_phase(line + 6);
    } else if (strcmp(line, "stop") == 0) {
        if (!g.stopping) {
            g.stopping = 1;
            g.stop_at = now();
        }
    } else if (line[0] != '\0') {
        fprintf(stderr, "fault-inject-load: unknown command \"%s\"\n", line);
    }
}


static void
input_event(void)
{
    ssize_t  n;
    char    *nl;

    n = read(0, g.inbuf + g.inlen, sizeof(g.inbuf) - 1 - g.inlen);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        epoll_ctl(g.ep, EPOLL_CTL_DEL, 0, NULL);
        input_line("stop");
        return;
    }
    g.inlen += n;
    g.inbuf[g.inlen] = '\0';
    while ((nl = memchr(g.inbuf, '\n', g.inlen)) != NULL) {
        *nl = '\0';
        input_line(g.inbuf);
        g.inlen -= nl + 1 - g.inbuf;
        memmove(g.inbuf, nl + 1, g.inlen);
        g.inbuf[g.inlen] = '\0';
    }
    if (g.inlen == sizeof(g.inbuf) - 1) {
        g.inlen = 0;
    }
}


static void
report(void)
{
    int       i;
    phase_t  *p;

    for (i = 0; i < g.nphases; i++) {
        p = &g.phases[i];
        printf("phase=%s sent=%llu received=%llu s2xx=%llu non2xx=%llu "
               "unchanged=%llu offer=%llu broken=%llu connect_err=%llu "
               "ka_closed=%llu closed=%llu truncated=%llu timeouts=%llu "
               "p50_us=%llu p99_us=%llu max_us=%llu\n", p->name,
               (unsigned long long) p->sent,
               (unsigned long long) p->received,
               (unsigned long long) p->s2xx,
               (unsigned long long) p->non2xx,
               (unsigned long long) p->unchanged,
               (unsigned long long) p->offer,
               (unsigned long long) p->broken,
               (unsigned long long) p->connect_err,
               (unsigned long long) p->ka_closed,
               (unsigned long long) p->closed,
               (unsigned long long) p->truncated,
               (unsigned long long) p->timeouts,
               (unsigned long long) percentile(p, 0.5),
               (unsigned long long) percentile(p, 0.99),
               (unsigned long long) p->lat_max);
    }
    fflush(stdout);
}


static void
usage(void)
{
    fputs("usage: fault-inject-load -p PORT -o ORIGIN -u PATH [-u PATH ...] "
          "[-s SID ...]\n         [-c CONNS] [-r RATE] [-t SECONDS] "
          "[-n REQUESTS] [-T TIMEOUT_MS] [-d BAD_DIR] [-P PHASE]\n", stderr);
    exit(2);
}


static double
number(const char *s, double min, double max)
{
    char    *end;
    double   v;

    v = strtod(s, &end);
    if (end == s || *end != '\0' || v < min || v > max) {
        die("bad number \"%s\" (%g to %g)", s, min, max);
    }
    return v;
}


int
main(int argc, char **argv)
{
    int                 opt, i, n, active;
    double              t, started, last_scan;
    conn_t             *c;
    struct epoll_event  evs[256], ev;
    const char         *origin, *first;

    signal(SIGPIPE, SIG_IGN);

    g.nconns = 32;
    g.max_seconds = 600;
    g.max_requests = 10000000;
    g.timeout = 5.0;
    origin = NULL;
    first = "start";

    while ((opt = getopt(argc, argv, "p:o:u:s:c:r:t:n:T:d:P:h")) != -1) {
        switch (opt) {
        case 'p': g.port = number(optarg, 1, 65535); break;
        case 'o': origin = optarg; break;
        case 'u':
            if (g.npaths == MAX_LIST || optarg[0] != '/'
                || strpbrk(optarg, " ?\r\n") != NULL)
            {
                die("bad path \"%s\"", optarg);
            }
            g.paths[g.npaths++] = optarg;
            break;
        case 's':
            if (g.nsids == MAX_LIST || strlen(optarg) > 200
                || strpbrk(optarg, " ;\r\n") != NULL)
            {
                die("bad session id \"%s\"", optarg);
            }
            g.sids[g.nsids++] = optarg;
            break;
        case 'c': g.nconns = number(optarg, 1, MAX_CONNS); break;
        case 'r': g.rate = number(optarg, 0, 1e7); break;
        case 't': g.max_seconds = number(optarg, 0.1, 3600); break;
        case 'n': g.max_requests = number(optarg, 1, 1e12); break;
        case 'T': g.timeout = number(optarg, 1, 600000) / 1000; break;
        case 'd': g.bad_dir = optarg; break;
        case 'P':
            if (strlen(optarg) >= sizeof(g.phases[0].name)
                || strpbrk(optarg, " &?#%\r\n") != NULL)
            {
                die("bad phase name \"%s\"", optarg);
            }
            first = optarg;
            break;
        default: usage();
        }
    }
    if (optind != argc || g.port == 0 || origin == NULL || g.npaths == 0) {
        usage();
    }
    if (g.nsids == 0) {
        g.sids[g.nsids++] = "-";
    }
    load_origin(origin);

    g.ep = epoll_create1(EPOLL_CLOEXEC);
    if (g.ep < 0) {
        die("epoll_create1: %s", strerror(errno));
    }
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, 0, &ev) != 0) {
        /* not a pipe or a terminal (/dev/null): run until -t or -n */
        g.inlen = 0;
    }

    new_phase(first);
    g.conns = calloc(g.nconns, sizeof(conn_t));
    if (g.conns == NULL) {
        die("out of memory");
    }
    started = now();
    g.budget_at = started;
    last_scan = started;
    for (i = 0; i < g.nconns; i++) {
        g.conns[i].fd = -1;
        conn_open(&g.conns[i]);
    }

    for ( ;; ) {
        n = epoll_wait(g.ep, evs, 256, g.wait_head || !g.stopping ? 1 : 10);
        if (n < 0 && errno != EINTR) {
            die("epoll_wait: %s", strerror(errno));
        }
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                input_event();
            } else {
                conn_event(evs[i].data.ptr, evs[i].events);
            }
        }

        t = now();
        if (!g.stopping && t - started > g.max_seconds) {
            fprintf(stderr, "fault-inject-load: %g s bound reached\n",
                    g.max_seconds);
            g.stopping = 1;
            g.stop_at = t;
        }

        /* tokens for the connections waiting to send */
        if (g.rate > 0) {
            g.budget += (t - g.budget_at) * g.rate;
            g.budget_at = t;
            if (g.budget > g.nconns) {
                g.budget = g.nconns;
            }
            while (g.wait_head && (g.budget >= 1 || g.stopping)) {
                c = g.wait_head;
                g.wait_head = c->next_wait;
                if (g.wait_head == NULL) {
                    g.wait_tail = NULL;
                }
                if (g.stopping) {
                    conn_close(c);
                    continue;
                }
                g.budget -= 1;
                conn_send(c);
            }
        }

        if (t - last_scan < 0.01 && !g.stopping) {
            continue;
        }
        last_scan = t;

        /* timeouts, reconnects after a failed connect, the end */
        active = 0;
        for (i = 0; i < g.nconns; i++) {
            c = &g.conns[i];
            if ((c->state == C_WRITING || c->state == C_READING)
                && t - c->started > g.timeout)
            {
                g.phases[c->phase].timeouts++;
                save_bad(c, "timeout");
                conn_close(c);
                if (!g.stopping) {
                    conn_open(c);
                }
            } else if (c->state == C_BACKOFF && t >= c->retry_at
                       && !g.stopping)
            {
                conn_open(c);
            } else if (g.stopping && c->state != C_WRITING
                       && c->state != C_READING)
            {
                if (c->state == C_WAITING) {
                    wait_remove(c);
                }
                conn_close(c);
            }
            if (c->state == C_WRITING || c->state == C_READING) {
                active++;
            }
        }
        if (g.stopping && (active == 0 || t - g.stop_at > g.timeout + 1)) {
            break;
        }
    }

    /* whatever is still in flight never got its response */
    for (i = 0; i < g.nconns; i++) {
        c = &g.conns[i];
        if (c->state == C_WRITING || c->state == C_READING) {
            g.phases[c->phase].timeouts++;
            conn_close(c);
        }
    }

    report();
    return 0;
}
