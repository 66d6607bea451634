/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The escapings of vpt_render_ctx.h beyond HTML's: a URL, a part of one,
 * a JavaScript string.  Each sizes (out NULL) and writes with one code
 * path, so the renderer's size stays exact.
 */

#include <string.h>

#include "vpt_render_ctx.h"


static const char  vpt_hex[] = "0123456789ABCDEF";


static size_t
vpt_pct(char *out, unsigned char c)
{
    if (out != NULL) {
        out[0] = '%';
        out[1] = vpt_hex[c >> 4];
        out[2] = vpt_hex[c & 0xf];
    }

    return 3;
}


static int
vpt_scheme_is(const char *s, size_t len, const char *lit)
{
    vpt_str_t  a, b;

    a.data = s;
    a.len = len;
    b.data = lit;
    b.len = strlen(lit);

    return vpt_str_caseeq(a, b);
}


/*
 * Whether s is an http, https, mailto or relative URL: its scheme is the
 * bytes before the first ':' when they are a letter then letters, digits,
 * '+', '-' or '.'; any other byte first ('/', '?', '#', a space, a
 * control) makes it relative.  A browser drops leading spaces and
 * controls and ignores tabs and newlines, but vpt_url_value() encodes
 * them, so it reads "%20javascript:" and "java%09script:" as relative
 * too.
 */

static int
vpt_url_scheme_ok(const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == ':') {
            break;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (i > 0 && ((c >= '0' && c <= '9')
                            || c == '+' || c == '-' || c == '.'))))
        {
            return 1;
        }
    }

    if (i == len || i == 0) {
        return 1;
    }

    return vpt_scheme_is(s, i, "http") || vpt_scheme_is(s, i, "https")
           || vpt_scheme_is(s, i, "mailto");
}


/*
 * A whole URL in an attribute: empty unless its scheme is allowed; RFC
 * 3986's unreserved and reserved bytes and '%' kept ('&' as "&amp;"), all
 * others percent-encoded ('\'' too, and ',' in a list such as srcset).
 */

size_t
vpt_url_value(char *out, const char *s, size_t len, int list)
{
    size_t         i, n;
    unsigned char  c;

    if (!vpt_url_scheme_ok(s, len)) {
        return 0;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '&') {
            if (out != NULL) {
                memcpy(out + n, "&amp;", 5);
            }

            n += 5;
            continue;
        }

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || (c != '\0' && strchr("-._~:/?#[]@!$()*+;=%", c) != NULL)
            || (c == ',' && !list))
        {
            if (out != NULL) {
                out[n] = (char) c;
            }

            n++;
            continue;
        }

        n += vpt_pct(out ? out + n : NULL, c);
    }

    return n;
}


/* a part of a URL: all but A-Z a-z 0-9 - . _ ~ percent-encoded */

size_t
vpt_url_part(char *out, const char *s, size_t len)
{
    size_t         i, n;
    unsigned char  c;

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            if (out != NULL) {
                out[n] = (char) c;
            }

            n++;
            continue;
        }

        n += vpt_pct(out ? out + n : NULL, c);
    }

    return n;
}


/*
 * The inside of a JavaScript (or JSON) string in a <script>: '\\' doubled;
 * both quotes, '<', '>', '&', '`', controls, DEL and the line separators
 * U+2028 and U+2029 (line ends in older JavaScript) as \uXXXX, so the
 * value ends no string, no script and no "<!--" escape.  Other bytes,
 * UTF-8 included, as they are.
 */

size_t
vpt_js_string(char *out, const char *s, size_t len)
{
    size_t         i, n;
    unsigned char  c, u[6];

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == 0xe2 && i + 2 < len && (unsigned char) s[i + 1] == 0x80
            && ((unsigned char) s[i + 2] == 0xa8
                || (unsigned char) s[i + 2] == 0xa9))
        {
            if (out != NULL) {
                memcpy(out + n, (unsigned char) s[i + 2] == 0xa8
                                ? "\\u2028" : "\\u2029", 6);
            }

            n += 6;
            i += 2;
            continue;
        }

        if (c == '\\') {
            if (out != NULL) {
                memcpy(out + n, "\\\\", 2);
            }

            n += 2;
            continue;
        }

        if (c < 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '<'
            || c == '>' || c == '&' || c == '`')
        {
            if (out != NULL) {
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = (unsigned char) "0123456789abcdef"[c >> 4];
                u[5] = (unsigned char) "0123456789abcdef"[c & 0xf];
                memcpy(out + n, u, 6);
            }

            n += 6;
            continue;
        }

        if (out != NULL) {
            out[n] = (char) c;
        }

        n++;
    }

    return n;
}
