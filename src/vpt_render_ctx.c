/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The walk of vpt_render_ctx.h.  The tokenizer is fed the markup's static
 * bytes one at a time inside tags (in long runs in text), and its state
 * after each byte says where tag names, attribute names and values start
 * and end.  Its state numbers are its own business: they are learned from
 * examples ("<a b=\"" is in a double-quoted value) when a walk starts, so
 * the tokenizer may renumber or reorder them; if two states this file
 * tells apart ever become one, every placeholder is refused (and the unit
 * tests say so), never rendered with the wrong escaping.
 *
 * A placeholder's value cannot change the tokenizer's state where it is
 * allowed (escaped, it holds no '<', nor the quote or backslash that would
 * matter there), so the walk skips it.
 */

#include <stdio.h>
#include <string.h>

#include "vpt_render_ctx.h"


/* the tokenizer's states this file tells apart, with their examples */
enum {
    VPT_S_DATA = 0,
    VPT_S_TAG_OPEN,
    VPT_S_END_OPEN,
    VPT_S_TAG_NAME,
    VPT_S_END_NAME,
    VPT_S_BEFORE_ATTR,
    VPT_S_ATTR_NAME,
    VPT_S_BEFORE_VALUE,
    VPT_S_VALUE_DQ,
    VPT_S_VALUE_SQ,
    VPT_S_VALUE_UNQ,
    VPT_S_RAW,
    VPT_S_PLAINTEXT,
    VPT_S_DECIDE,               /* the ones above must differ */
    VPT_S_COMMENT = VPT_S_DECIDE,
    VPT_S_COMMENT_START,
    VPT_S_N
};

static const char  *vpt_state_examples[VPT_S_N] = {
    "", "<", "</", "<a", "</a", "<a ", "<a b", "<a b=", "<a b=\"", "<a b='",
    "<a b=c", "<script>", "<plaintext>", "<!--x", "<!--"
};


/* attributes whose value is a URL */
static const char  *vpt_url_attrs[] = {
    "href", "src", "action", "formaction", "xlink:href", "poster", "cite",
    "background", "data", "codebase", "longdesc", "usemap", "manifest",
    "ping", "archive", "lowsrc", "dynsrc", "classid", "profile", "icon",
    "srcset", "imagesrcset", NULL
};

/*
 * URLs that choose code, styles or the page's base: a value may only be
 * in their query or fragment ("tag attribute", lowercase)
 */
static const char  *vpt_code_urls[] = {
    "script src", "script href", "script xlink:href", "link href",
    "base href", "object data", "object codebase", "embed src",
    "iframe src", "frame src", "applet codebase", "applet archive", NULL
};

/* SVG animations set another attribute, href too, to these values */
static const char  *vpt_svg_animations[] = {
    "animate", "set", "animatemotion", "animatetransform", NULL
};

static const char  *vpt_svg_animation_attrs[] = {
    "to", "from", "values", "by", NULL
};


static void vpt_mctx_feed(vpt_mctx_t *m, size_t to);
static size_t vpt_mctx_run(unsigned s, const unsigned char *p, size_t len);
static void vpt_mctx_step(vpt_mctx_t *m, unsigned prev, size_t i);
static vpt_esc_e vpt_mctx_attr(vpt_mctx_t *m, size_t start, size_t end,
    char *err, size_t errlen);
static vpt_esc_e vpt_mctx_script(vpt_mctx_t *m, char *err, size_t errlen);
static int vpt_url_prefix(const char *s, size_t len, char *scheme,
    size_t size);
static int vpt_url_suffix_colon(const char *s, size_t len, int list);


#define vpt_why(err, errlen, ...)                                            \
    do {                                                                     \
        if ((err) != NULL && (errlen) > 0) {                                 \
            snprintf(err, errlen, __VA_ARGS__);                              \
        }                                                                    \
    } while (0)


static int
vpt_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}


static unsigned char
vpt_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


void
vpt_mctx_init(vpt_mctx_t *m, vpt_str_t markup)
{
    size_t      i, j;
    vpt_html_t  h;

    memset(m, 0, sizeof(vpt_mctx_t));
    m->markup = markup;

    for (i = 0; i < VPT_S_N; i++) {
        vpt_html_init(&h);
        vpt_html_scan(&h, (const unsigned char *) vpt_state_examples[i],
                      strlen(vpt_state_examples[i]));
        m->st[i] = h.state;
    }

    /* the first example of a state names it, as they are checked below */

    memset(m->map, VPT_S_N, sizeof(m->map));

    for (i = VPT_S_N; i > 0; i--) {
        m->map[m->st[i - 1]] = (unsigned char) (i - 1);
    }

    m->states_ok = 1;

    for (i = 0; i < VPT_S_DECIDE; i++) {
        for (j = i + 1; j < VPT_S_DECIDE; j++) {
            if (m->st[i] == m->st[j]) {
                m->states_ok = 0;
            }
        }
    }

    vpt_html_init(&m->html);
}


vpt_esc_e
vpt_mctx_placeholder(vpt_mctx_t *m, size_t start, size_t end, char *err,
    size_t errlen)
{
    unsigned  s;

    vpt_mctx_feed(m, start - 2);
    m->pos = end + 2;

    s = m->map[m->html.state];

    if (!m->states_ok) {
        vpt_why(err, errlen, "cannot be placed: this build's HTML tokenizer "
                "does not tell text from attributes (vpt_html.c changed?)");
        return VPT_ESC_NONE;
    }

    switch (s) {

    case VPT_S_DATA:
        return VPT_ESC_HTML;

    case VPT_S_TAG_OPEN:
    case VPT_S_END_OPEN:
    case VPT_S_TAG_NAME:
    case VPT_S_END_NAME:
        vpt_why(err, errlen, "is in a tag's name");
        return VPT_ESC_NONE;

    case VPT_S_BEFORE_ATTR:
    case VPT_S_ATTR_NAME:
        vpt_why(err, errlen, "is in a tag where an attribute name goes");
        return VPT_ESC_NONE;

    case VPT_S_BEFORE_VALUE:
    case VPT_S_VALUE_UNQ:
        vpt_why(err, errlen, "is in an unquoted attribute value, where a "
                "space would start a new attribute: quote the value");
        return VPT_ESC_NONE;

    case VPT_S_VALUE_DQ:
    case VPT_S_VALUE_SQ:
        return vpt_mctx_attr(m, start, end, err, errlen);

    case VPT_S_RAW:
        if (m->in_script) {
            return vpt_mctx_script(m, err, errlen);
        }

        /* RCDATA decodes the escapes; noscript is text without script */

        if (strcmp(m->raw, "textarea") == 0 || strcmp(m->raw, "title") == 0
            || strcmp(m->raw, "noscript") == 0)
        {
            return VPT_ESC_HTML;
        }

        vpt_why(err, errlen, "is in <%s>, whose text no escaping makes "
                "safe", m->raw);
        return VPT_ESC_NONE;

    case VPT_S_PLAINTEXT:
        vpt_why(err, errlen, "is after <plaintext>");
        return VPT_ESC_NONE;

    case VPT_S_COMMENT:
    case VPT_S_COMMENT_START:
        vpt_why(err, errlen, "is in an HTML comment");
        return VPT_ESC_NONE;

    default:
        if (m->in_raw) {
            vpt_why(err, errlen, "is in <%s> after a \"<\" or in a \"<!--\" "
                    "escape, where it could end the element", m->raw);

        } else {
            vpt_why(err, errlen, "is in a <!...> or <?...> declaration");
        }

        return VPT_ESC_NONE;
    }
}


int
vpt_mctx_finish(vpt_mctx_t *m, char *err, size_t errlen)
{
    char      show[VPT_SHOW_SIZE];
    unsigned  s;

    vpt_mctx_feed(m, m->markup.len);

    s = m->map[m->html.state];

    if (s == VPT_S_DATA) {
        return VPT_OK;
    }

    vpt_show(show, sizeof(show), m->markup.data + m->open_at,
             m->markup.len - m->open_at);

    if (m->in_raw) {
        vpt_why(err, errlen, "leaves <%s> open (\"%s\" at byte %zu): the "
                "rest of the page would be its text", m->raw, show,
                m->open_at);

    } else if (s == VPT_S_COMMENT || s == VPT_S_COMMENT_START) {
        vpt_why(err, errlen, "leaves a comment open (\"%s\" at byte %zu): "
                "the rest of the page would be hidden in it", show,
                m->open_at);

    } else if (s == VPT_S_VALUE_DQ || s == VPT_S_VALUE_SQ) {
        vpt_why(err, errlen, "leaves an attribute value open (\"%s\" at "
                "byte %zu): the rest of the page would be read as it", show,
                m->open_at);

    } else {
        vpt_why(err, errlen, "leaves a tag or declaration open (\"%s\" at "
                "byte %zu): the rest of the page would be read as it", show,
                m->open_at);
    }

    return VPT_ERROR;
}


int
vpt_placeholder_next(const char *s, size_t len, size_t from, size_t *start,
    size_t *end)
{
    const char  *p, *q, *last;

    /* memchr() to each '{' and '}': this runs at every render */

    if (from + 1 >= len) {
        return 0;
    }

    last = s + len - 1;             /* a pair starts before it */

    for (p = s + from; p < last; p = q + 1) {
        q = memchr(p, '{', last - p);
        if (q == NULL) {
            return 0;
        }

        if (q[1] != '{') {
            continue;
        }

        *start = q + 2 - s;

        for (p = q + 2; p < last; p = q + 1) {
            q = memchr(p, '}', last - p);
            if (q == NULL) {
                break;
            }

            if (q[1] == '}') {
                *end = q - s;
                return 1;
            }
        }

        return -1;
    }

    return 0;
}


/*
 * Feeds markup[m->pos, to): each byte alone, to see each state change,
 * but for runs of bytes that cannot change the state they are read in
 * (WHATWG's rules, not this tokenizer's), which go in one call.
 */

static void
vpt_mctx_feed(vpt_mctx_t *m, size_t to)
{
    size_t                i, j, k;
    unsigned              prev;
    const unsigned char  *p;

    p = (const unsigned char *) m->markup.data;

    for (i = m->pos; i < to; /* void */) {
        prev = m->map[m->html.state];
        j = i + vpt_mctx_run(prev, p + i, to - i);

        for (k = i; m->in_script && k < j; k++) {
            vpt_js_byte(&m->js, p[k]);
        }

        if (j > i) {
            vpt_html_scan(&m->html, p + i, j - i);
            i = j;
            continue;
        }

        if (m->in_script) {
            vpt_js_byte(&m->js, p[i]);
        }

        vpt_html_scan(&m->html, p + i, 1);
        vpt_mctx_step(m, prev, i);
        i++;
    }

    m->pos = to;
}


/* how many of p[0, len) leave state s as it is */

static size_t
vpt_mctx_run(unsigned s, const unsigned char *p, size_t len)
{
    size_t  i;

    switch (s) {

    case VPT_S_DATA:
    case VPT_S_RAW:
        for (i = 0; i < len && p[i] != '<'; i++) { /* void */ }
        return i;

    case VPT_S_VALUE_DQ:
        for (i = 0; i < len && p[i] != '"'; i++) { /* void */ }
        return i;

    case VPT_S_VALUE_SQ:
        for (i = 0; i < len && p[i] != '\''; i++) { /* void */ }
        return i;

    case VPT_S_TAG_NAME:
    case VPT_S_ATTR_NAME:
        for (i = 0;
             i < len && !vpt_is_ws(p[i]) && p[i] != '/' && p[i] != '>'
             && p[i] != '=';
             i++)
        {
            /* void */
        }

        return i;

    default:
        return 0;
    }
}


/* after byte i moved the tokenizer from prev */

static void
vpt_mctx_step(vpt_mctx_t *m, unsigned prev, size_t i)
{
    size_t       k, n;
    unsigned     cur;
    const char  *s;

    cur = m->map[m->html.state];

    if (cur == prev) {
        return;
    }

    s = m->markup.data;

    if (prev == VPT_S_DATA) {
        m->open_at = i;
    }

    if (cur == VPT_S_TAG_NAME) {
        m->tag = i;
    }

    if (prev == VPT_S_TAG_NAME) {
        m->tag_len = i - m->tag;
    }

    if (cur == VPT_S_ATTR_NAME) {
        m->attr = i;
    }

    if (prev == VPT_S_ATTR_NAME) {

        /*
         * "b c =": b had no value, c is the name ('=' may start one): the
         * tokenizer reads whitespace after a name as part of it
         */

        for (n = i; n > m->attr && vpt_is_ws((unsigned char) s[n - 1]); n--)
        {
            /* void */
        }

        for (k = n; k > m->attr && !vpt_is_ws((unsigned char) s[k - 1]);
             k--)
        {
            /* void */
        }

        m->attr_len = n - k;
        m->attr = k;
    }

    if (cur == VPT_S_VALUE_DQ || cur == VPT_S_VALUE_SQ) {
        m->value = i + 1;

    } else if (cur == VPT_S_VALUE_UNQ) {
        m->value = i;
    }

    if ((cur == VPT_S_RAW || cur == VPT_S_PLAINTEXT) && !m->in_raw) {
        m->in_raw = 1;
        n = (m->tag_len < sizeof(m->raw) - 1) ? m->tag_len
                                               : sizeof(m->raw) - 1;

        for (k = 0; k < n; k++) {
            m->raw[k] = (char) vpt_lower((unsigned char) s[m->tag + k]);
        }

        m->raw[n] = '\0';

        if (strcmp(m->raw, "script") == 0) {
            m->in_script = 1;
            vpt_js_init(&m->js);
        }

    } else if (cur <= VPT_S_VALUE_UNQ) {
        /* text or a tag: "</script>" or "</script " was read */
        m->in_raw = 0;
        m->in_script = 0;
    }
}


/* a placeholder in a quoted attribute value */

static vpt_esc_e
vpt_mctx_attr(vpt_mctx_t *m, size_t start, size_t end, char *err,
    size_t errlen)
{
    int          list, colon, code;
    char         name[24], tag[24], pair[48], scheme[24];
    char         show[VPT_SHOW_SIZE];
    size_t       i, k, n, len;
    const char  *s, *v, *q;

    s = m->markup.data;
    n = (m->attr_len < sizeof(name) - 1) ? m->attr_len : sizeof(name) - 1;

    for (i = 0; i < n; i++) {
        name[i] = (char) vpt_lower((unsigned char) s[m->attr + i]);
    }

    name[n] = '\0';

    if (m->attr_len > 2 && name[0] == 'o' && name[1] == 'n') {
        vpt_why(err, errlen, "is in the event handler attribute \"%s\", "
                "which is JavaScript",
                vpt_show(show, sizeof(show), s + m->attr, m->attr_len));
        return VPT_ESC_NONE;
    }

    if (strcmp(name, "style") == 0 || strcmp(name, "srcdoc") == 0) {
        vpt_why(err, errlen, "is in the attribute \"%s\", which is %s", name,
                name[1] == 't' ? "CSS" : "HTML");
        return VPT_ESC_NONE;
    }

    /* "tag attribute", lowercase, for the lists above */

    k = (m->tag_len < sizeof(tag) - 1) ? m->tag_len : sizeof(tag) - 1;

    for (i = 0; i < k; i++) {
        tag[i] = (char) vpt_lower((unsigned char) s[m->tag + i]);
    }

    tag[k] = '\0';

    if (vpt_in_list(vpt_svg_animations, tag, k)
        && vpt_in_list(vpt_svg_animation_attrs, name, n))
    {
        vpt_why(err, errlen, "is in \"%s\" of <%s>, which can set an href",
                name, tag);
        return VPT_ESC_NONE;
    }

    if (m->attr_len >= sizeof(name) || !vpt_in_list(vpt_url_attrs, name, n))
    {
        return VPT_ESC_HTML;
    }

    snprintf(pair, sizeof(pair), "%s %s", tag, name);
    code = vpt_in_list(vpt_code_urls, pair, strlen(pair));

    /*
     * A URL, from the value's start to the placeholder: in srcset, the
     * list's URL from the last ','; and what follows, to the value's end
     * (to a space or ',' in srcset)
     */

    list = (strstr(name, "srcset") != NULL);
    v = s + m->value;
    len = start - 2 - m->value;

    for (i = len; list && i > 0; i--) {
        if (v[i - 1] == ',') {
            v += i;
            len -= i;
            break;
        }
    }

    if (code && memchr(v, '?', len) == NULL && memchr(v, '#', len) == NULL)
    {
        vpt_why(err, errlen, "would choose what <%s %s> loads: only its "
                "query or fragment may take a value", tag, name);
        return VPT_ESC_NONE;
    }

    q = memchr(s + end + 2, s[m->value - 1], m->markup.len - end - 2);
    n = (q != NULL) ? (size_t) (q - s) - end - 2 : m->markup.len - end - 2;
    colon = vpt_url_suffix_colon(s + end + 2, n, list);

    for (i = 0; i < len && (unsigned char) v[i] <= 0x20; i++) {
        /* void */
    }

    if (i == len) {
        if (colon) {
            vpt_why(err, errlen, "starts a URL (\"%s\") whose ':' after it "
                    "would let the value choose the scheme", name);
            return VPT_ESC_NONE;
        }

        return list ? VPT_ESC_URL_LIST : VPT_ESC_URL;
    }

    switch (vpt_url_prefix(v, len, scheme, sizeof(scheme))) {

    case 0:
        return VPT_ESC_URL_PART;

    case 3:
        /* "page{{x}}": static bytes after it must not make that a scheme */

        if (colon) {
            vpt_why(err, errlen, "is in a URL (\"%s\") whose scheme the "
                    "value could complete", name);
            return VPT_ESC_NONE;
        }

        return VPT_ESC_URL_PART;

    case 1:
        vpt_why(err, errlen, "is in a \"%s:\" URL (\"%s\"): only http, "
                "https, mailto and relative URLs may take a value", scheme,
                name);
        return VPT_ESC_NONE;

    default:
        vpt_why(err, errlen, "is in a URL (\"%s\") whose scheme is hidden "
                "behind a character reference or a placeholder", name);
        return VPT_ESC_NONE;
    }
}


/*
 * The scheme a URL's first bytes give it, as a browser reads them (leading
 * spaces and controls dropped, tabs and newlines ignored): 0 none (a
 * relative URL), http, https or mailto; 1 another, in scheme; 2 a '&' or
 * a placeholder in the scheme; 3 not known yet: all bytes could be a
 * scheme's.  A placeholder is skipped: at the start, the renderer checks
 * its value's scheme and vpt_url_suffix_colon() the bytes after it.
 */

static int
vpt_url_prefix(const char *s, size_t len, char *scheme, size_t size)
{
    size_t         i, n;
    unsigned char  c;
    unsigned       ph;

    for (i = 0; i < len && (unsigned char) s[i] <= 0x20; i++) {
        /* void */
    }

    for (n = 0, ph = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '\t' || c == '\n' || c == '\r') {
            continue;
        }

        if (c == '{' && i + 1 < len && s[i + 1] == '{') {
            while (i + 1 < len && !(s[i] == '}' && s[i + 1] == '}')) {
                i++;
            }

            i++;
            ph = 1;
            continue;
        }

        if (c == ':') {
            if (ph) {
                return 2;
            }

            break;
        }

        if (c == '&') {
            return 2;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (n > 0 && ((c >= '0' && c <= '9')
                            || c == '+' || c == '-' || c == '.'))))
        {
            /* '/', '?', '#', or a byte no scheme has: relative */
            return 0;
        }

        if (n + 1 < size) {
            scheme[n++] = (char) vpt_lower(c);
        }
    }

    if (i == len) {
        return (n > 0) ? 3 : 0;
    }

    if (n == 0) {
        return 0;
    }

    scheme[n] = '\0';

    return (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0
            || strcmp(scheme, "mailto") == 0) ? 0 : 1;
}


/*
 * Whether bytes after a placeholder could put a ':' in its URL's scheme:
 * one before the first '/', '?' or '#' (or, in a list, space or ','), as
 * a byte or a character reference (&colon; &#58; &#x3a;, and any other
 * numeric one, to be safe); other placeholders are skipped.
 */

static int
vpt_url_suffix_colon(const char *s, size_t len, int list)
{
    size_t  i, k;

    for (i = 0; i < len; i++) {
        if (list && (s[i] == ',' || vpt_is_ws((unsigned char) s[i]))) {
            return 0;
        }

        switch (s[i]) {

        case '/':
        case '?':
        case '#':
            return 0;

        case ':':
            return 1;

        case '&':
            for (k = i + 1; k < len && s[k] != ';' && k - i < 10; k++) {
                /* void */
            }

            if (k - i >= 3 && (s[i + 1] == '#' || memchr("cC", s[i + 1], 2)))
            {
                /* a reference that may be a colon */
                return 1;
            }

            break;
        }
    }

    return 0;
}


/* a placeholder in a script's text */

static vpt_esc_e
vpt_mctx_script(vpt_mctx_t *m, char *err, size_t errlen)
{
    switch (m->js.state) {

    case VPT_JS_SQ:
    case VPT_JS_DQ:
        if (m->js.esc) {
            vpt_why(err, errlen, "is right after a backslash in a "
                    "JavaScript string");
            return VPT_ESC_NONE;
        }

        return VPT_ESC_JS;

    case VPT_JS_TEMPLATE:
        vpt_why(err, errlen, "is in a JavaScript template literal (`...`): "
                "use a '...' or \"...\" string");
        return VPT_ESC_NONE;

    case VPT_JS_LINE_COMMENT:
    case VPT_JS_BLOCK_COMMENT:
        vpt_why(err, errlen, "is in a JavaScript comment");
        return VPT_ESC_NONE;

    case VPT_JS_REGEX:
    case VPT_JS_REGEX_CLASS:
        vpt_why(err, errlen, "is in a JavaScript regular expression");
        return VPT_ESC_NONE;

    default:
        if (m->js.slash && m->js.slash_regex) {
            vpt_why(err, errlen, "is in a JavaScript regular expression");
            return VPT_ESC_NONE;
        }

        vpt_why(err, errlen, "is in a <script> outside a string: only a "
                "'...' or \"...\" string can hold a value safely");
        return VPT_ESC_NONE;
    }
}


/* whether s[0, len) is one of the NULL-terminated list */

int
vpt_in_list(const char **list, const char *s, size_t len)
{
    for (/* void */; *list != NULL; list++) {
        if (strlen(*list) == len && memcmp(*list, s, len) == 0) {
            return 1;
        }
    }

    return 0;
}
