/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The line reader: plain or gzip files, "-" for stdin (spooled to a
 * temporary file when the tool reads its input twice).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpt_tools.h"


#define VPT_IN_CHUNK   (1024 * 1024)


int
vpt_in_open(vpt_in_t *in, const char *path, int spool)
{
    int  fd;

    memset(in, 0, sizeof(vpt_in_t));
    in->path = path;

    if (strcmp(path, "-") == 0) {
        fd = dup(0);
        if (fd == -1) {
            return VPT_ERROR;
        }

        if (spool) {
            in->spool = tmpfile();
            if (in->spool == NULL) {
                close(fd);
                return VPT_ERROR;
            }
            in->spooling = 1;
        }

        in->gz = gzdopen(fd, "rb");

    } else {
        in->gz = gzopen(path, "rb");
    }

    if (in->gz == NULL) {
        if (errno == 0) {
            errno = ENOMEM;
        }
        return VPT_ERROR;
    }

    gzbuffer(in->gz, 256 * 1024);

    if (in->buf == NULL) {
        in->size = VPT_IN_CHUNK;
        in->buf = vpt_xalloc(in->size + 1);
    }

    return VPT_OK;
}


int
vpt_in_rewind(vpt_in_t *in)
{
    int  fd;

    if (in->spool == NULL) {
        if (gzrewind(in->gz) != 0) {
            return VPT_ERROR;
        }

    } else {
        /* stdin is gone: read its copy from now on */
        gzclose(in->gz);

        if (fflush(in->spool) != 0) {
            return VPT_ERROR;
        }

        fd = dup(fileno(in->spool));
        if (fd == -1 || lseek(fd, 0, SEEK_SET) == -1) {
            return VPT_ERROR;
        }

        in->gz = gzdopen(fd, "rb");
        if (in->gz == NULL) {
            return VPT_ERROR;
        }

        in->spooling = 0;
    }

    in->start = 0;
    in->end = 0;
    in->eof = 0;
    in->toolong = 0;
    in->lineno = 0;
    in->bytes = 0;

    return VPT_OK;
}


void
vpt_in_close(vpt_in_t *in)
{
    if (in->gz) {
        gzclose(in->gz);
        in->gz = NULL;
    }

    if (in->spool) {
        fclose(in->spool);
        in->spool = NULL;
    }

    free(in->buf);
    in->buf = NULL;
}


static int
vpt_in_fill(vpt_in_t *in)
{
    int          n, errnum;
    const char  *msg;

    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }

    if (in->end == in->size) {
        if (in->size >= VPT_LINE_MAX) {
            return 0;
        }
        in->size *= 2;
        in->buf = vpt_xrealloc(in->buf, in->size + 1);
    }

    n = gzread(in->gz, in->buf + in->end, (unsigned) (in->size - in->end));

    if (n < 0) {
        msg = gzerror(in->gz, &errnum);
        fprintf(stderr, "%s: %s\n", in->path,
                errnum == Z_ERRNO ? strerror(errno) : msg);
        return -1;
    }

    if (n == 0) {
        msg = gzerror(in->gz, &errnum);
        if (errnum != Z_OK && !in->warned) {
            /* a log cut while it was written: keep what was read */
            fprintf(stderr, "%s: warning: %s\n", in->path, msg);
            in->warned = 1;
        }
        in->eof = 1;
        return 0;
    }

    if (in->spooling
        && fwrite(in->buf + in->end, 1, n, in->spool) != (size_t) n)
    {
        fprintf(stderr, "%s: cannot copy to a temporary file: %s\n",
                in->path, strerror(errno));
        return -1;
    }

    in->end += n;

    return 1;
}


int
vpt_in_line(vpt_in_t *in, char **line, size_t *len)
{
    int      rc;
    char    *p, *nl;
    size_t   scanned, n;

    in->toolong = 0;
    scanned = 0;

    for ( ;; ) {
        p = in->buf + in->start;
        nl = memchr(p + scanned, '\n', in->end - in->start - scanned);

        if (nl != NULL) {
            n = nl - p;
            in->start += n + 1;
            break;
        }

        scanned = in->end - in->start;

        if (in->eof) {
            if (scanned == 0) {
                return 0;
            }
            n = scanned;
            in->start = in->end;
            break;
        }

        rc = vpt_in_fill(in);

        if (rc == -1) {
            return -1;
        }

        if (rc == 0 && !in->eof) {
            /* VPT_LINE_MAX bytes and no newline: skip to the next one */
            in->toolong = 1;
            in->start = in->end = 0;
            do {
                in->end = 0;
                rc = vpt_in_fill(in);
                if (rc == -1) {
                    return -1;
                }
                nl = memchr(in->buf, '\n', in->end);
            } while (nl == NULL && !in->eof);

            in->start = nl ? (size_t) (nl - in->buf) + 1 : in->end;
            in->lineno++;
            *line = in->buf;
            *len = 0;
            in->buf[0] = '\0';
            return 1;
        }
    }

    in->lineno++;
    in->bytes += n + 1;

    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }

    p[n] = '\0';
    *line = p;
    *len = n;

    return 1;
}


/* the logs named on the command line */

void
vpt_logs_init(vpt_logs_t *l, char **paths, int npaths)
{
    memset(l, 0, sizeof(vpt_logs_t));
    l->paths = paths;
    l->npaths = npaths;
}


int
vpt_logs_line(vpt_logs_t *l, char **line, size_t *len)
{
    int  rc;

    for ( ;; ) {
        if (!l->reading) {
            if (l->next == l->npaths) {
                return 0;
            }

            if (vpt_in_open(&l->in, l->paths[l->next], 0) != VPT_OK) {
                vpt_die(1, "%s: %s: %s", vpt_tool, l->paths[l->next],
                        strerror(errno));
            }

            l->next++;
            l->reading = 1;
        }

        rc = vpt_in_line(&l->in, line, len);

        if (rc == 1) {
            if (*len == 0 && !l->in.toolong) {
                continue;
            }

            return 1;
        }

        vpt_in_close(&l->in);
        l->reading = 0;

        if (rc < 0) {
            vpt_die(1, "%s: %s: read error", vpt_tool, l->paths[l->next - 1]);
        }
    }
}
