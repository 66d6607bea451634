/*
 * Copyright (C) ngx_vpt_module authors
 *
 * vpt-report --html: the report as one self-contained HTML page, drawn
 * from the very JSON that --json prints (so the page and the JSON never
 * disagree): inline CSS, inline SVG charts, no script, nothing fetched.
 *
 * Per experiment: the lift of treatment over control with its 95%
 * interval (green when the interval is above zero, red below, grey when
 * it spans it), then accept rate and VPT per arm and per offer, each a
 * bar with its interval as a whisker, and a table with the figures.
 * Every bar carries data-metric, data-arm, data-offer and data-value (the
 * JSON's number), for tests and for anyone scraping the page.
 */

#include <math.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "vpt_tools.h"


#define VPT_SVG_W        800
#define VPT_SVG_LABEL    220
#define VPT_SVG_PLOT     380
#define VPT_SVG_ROW      26
#define VPT_LABEL_MAX    24             /* bytes of a label shown */


typedef struct {
    const char   *label;
    const char   *arm;
    const char   *offer;
    double        value;
    double        lo;                 /* NAN: no interval */
    double        hi;
    double        mark;               /* NAN: none (expected VPT) */
} vpt_bar_t;


typedef enum {
    VPT_FMT_RATE = 0,                 /* 12.3% */
    VPT_FMT_MONEY                     /* 1.23 */
} vpt_fmt_e;


static const char  vpt_html_css[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "margin:0;background:#f5f6f8;color:#1d2430}"
    "header{background:#1d2430;color:#fff;padding:18px 32px}"
    "header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.8}"
    "main{max-width:1100px;margin:0 auto;padding:16px 32px 48px}"
    "section.experiment{background:#fff;border-radius:10px;padding:8px 24px"
    " 20px;margin:20px 0;box-shadow:0 1px 3px rgba(0,0,0,.12)}"
    "h2{font-size:19px;margin:16px 0 4px}h3{font-size:15px;margin:18px 0 4px;"
    "color:#445}"
    ".lift{font-size:17px;margin:8px 0}.lift b{font-size:24px}"
    ".up{color:#18794e}.down{color:#c0362c}.flat{color:#667}"
    "table{border-collapse:collapse;margin:8px 0;font-variant-numeric:"
    "tabular-nums}th,td{padding:4px 10px;text-align:right;border-bottom:"
    "1px solid #e3e6ea}th:first-child,td:first-child{text-align:left}"
    "th{color:#556;font-weight:600}"
    "svg{display:block;max-width:100%;height:auto}"
    "svg text{font:12px system-ui,sans-serif;fill:#1d2430}"
    ".note{color:#667;font-size:13px}"
    ".bad{background:#fff4e5;border-left:4px solid #e8a33d;padding:8px 12px}";


static void vpt_html_esc(FILE *f, const char *s);
static void vpt_html_label(FILE *f, const char *s);
static double vpt_jnum(json_t *o, const char *key);
static double vpt_jci(json_t *o, const char *key, int hi);
static void vpt_fmt(FILE *f, double x, vpt_fmt_e fmt);
static void vpt_svg_bars(FILE *f, const char *metric, const vpt_bar_t *b,
    size_t n, vpt_fmt_e fmt);
static void vpt_html_experiment(FILE *f, json_t *e);
static int vpt_html_empty(json_t *e);


int
vpt_html_report(FILE *f, const char *json, size_t len, char **logs,
    int nlogs)
{
    int           i;
    char          when[64];
    size_t        k;
    time_t        now;
    json_t       *root, *exps, *bad, *first, *s;
    json_error_t  je;

    root = json_loadb(json, len, 0, &je);
    if (root == NULL) {
        return VPT_ERROR;
    }

    now = time(NULL);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width\">"
          "<title>vpt report</title><style>", f);
    fputs(vpt_html_css, f);
    fputs("</style></head><body>\n<header><h1>Offers: what they earned"
          "</h1><p>", f);
    fprintf(f, "vpt-report %s, %s, %.0f log lines from ", VPT_VERSION, when,
            vpt_jnum(root, "lines"));

    for (i = 0; i < nlogs; i++) {
        fputs(i ? ", " : "", f);
        vpt_html_esc(f, logs[i]);
    }

    fputs("</p></header>\n<main>\n", f);

    bad = json_object_get(root, "bad_lines");

    if (vpt_jnum(bad, "count") > 0) {
        fprintf(f, "<p class=\"bad\">%.0f lines could not be read "
                "(skipped)", vpt_jnum(bad, "count"));
        first = json_object_get(bad, "first");

        json_array_foreach(first, k, s) {
            fputs(k ? "; " : ": ", f);
            vpt_html_esc(f, json_string_value(s));
        }

        fputs("</p>\n", f);
    }

    exps = json_object_get(root, "experiments");

    if (json_array_size(exps) == 0) {
        fputs("<p>No decisions in these logs.</p>\n", f);
    }

    json_array_foreach(exps, k, s) {
        if (vpt_html_empty(s)) {
            continue;
        }

        vpt_html_experiment(f, s);
    }

    fputs("<p class=\"note\">Bars are the figures; whiskers their 95% "
          "intervals (Wilson for rates, normal for VPT, Welch for the lift)."
          " VPT: accepted value per decision, every decision counted, "
          "accepted or not; the tick is the VPT the ranker expected. Value "
          "per impression of an offer: its accepted value over its "
          "impressions.</p>\n</main></body></html>\n", f);

    json_decref(root);

    return ferror(f) ? VPT_ERROR : VPT_OK;
}


/* no decision and no accept in any arm (lines that were not pages) */

static int
vpt_html_empty(json_t *e)
{
    size_t   i;
    json_t  *a;

    json_array_foreach(json_object_get(e, "arms"), i, a) {
        if (vpt_jnum(a, "decisions") > 0 || vpt_jnum(a, "accepts") > 0) {
            return 0;
        }
    }

    return 1;
}


static void
vpt_html_experiment(FILE *f, json_t *e)
{
    int           pass;
    size_t        i, j, n, na;
    double        d, lo, hi;
    json_t       *arms, *a, *offers, *o, *lift;
    vpt_bar_t    *bars, l;
    const char   *name, *cls, *arm;

    name = json_string_value(json_object_get(e, "experiment"));
    name = name ? name : "-";
    arms = json_object_get(e, "arms");
    na = json_array_size(arms);

    fputs("<section class=\"experiment\" data-experiment=\"", f);
    vpt_html_esc(f, name);
    fputs("\"><h2>", f);

    if (strcmp(name, "-") == 0) {
        fputs("Without an experiment", f);

    } else {
        fputs("Experiment ", f);
        vpt_html_esc(f, name);
    }

    fputs("</h2>\n", f);

    lift = json_object_get(e, "lift");

    if (json_is_object(lift)) {
        d = vpt_jnum(lift, "vpt_diff");
        lo = vpt_jci(lift, "ci95", 0);
        hi = vpt_jci(lift, "ci95", 1);
        cls = lo > 0 ? "up" : hi < 0 ? "down" : "flat";

        fprintf(f, "<p class=\"lift %s\">Lift (treatment − control VPT): "
                "<b data-metric=\"lift\" data-value=\"%.9g\">", cls, d);
        fputs(d > 0 ? "+" : "", f);
        vpt_fmt(f, d, VPT_FMT_MONEY);
        fputs("</b> per decision, 95% interval ", f);
        vpt_fmt(f, lo, VPT_FMT_MONEY);
        fputs(" to ", f);
        vpt_fmt(f, hi, VPT_FMT_MONEY);

        d = vpt_jnum(lift, "relative");
        if (isfinite(d)) {
            fprintf(f, " (<span data-metric=\"relative_lift\" "
                    "data-value=\"%.9g\">%+.1f%%</span>)", d, 100 * d);
        }

        fputs(lo > 0 ? ": treatment earns more."
              : hi < 0 ? ": treatment earns less."
              : ": not distinguishable from zero yet.", f);
        fputs("</p>\n", f);

        l.label = "treatment − control";
        l.arm = "";
        l.offer = "";
        l.mark = NAN;
        l.value = vpt_jnum(lift, "vpt_diff");
        l.lo = lo;
        l.hi = hi;
        vpt_svg_bars(f, "lift_chart", &l, 1, VPT_FMT_MONEY);
    }

    /* the arms */

    bars = vpt_xalloc((na + 1) * sizeof(vpt_bar_t));

    fputs("<h3>Accept rate per arm</h3>\n", f);

    json_array_foreach(arms, i, a) {
        arm = json_string_value(json_object_get(a, "arm"));
        bars[i].label = bars[i].arm = arm ? arm : "";
        bars[i].offer = "";
        bars[i].value = vpt_jnum(a, "accept_rate");
        bars[i].lo = vpt_jci(a, "accept_rate_ci95", 0);
        bars[i].hi = vpt_jci(a, "accept_rate_ci95", 1);
        bars[i].mark = NAN;
    }

    vpt_svg_bars(f, "accept_rate", bars, na, VPT_FMT_RATE);

    fputs("<h3>VPT per arm (accepted value per decision)</h3>\n", f);

    json_array_foreach(arms, i, a) {
        bars[i].value = vpt_jnum(a, "vpt");
        bars[i].lo = vpt_jci(a, "vpt_ci95", 0);
        bars[i].hi = vpt_jci(a, "vpt_ci95", 1);
        bars[i].mark = vpt_jnum(a, "expected_vpt");
    }

    vpt_svg_bars(f, "vpt", bars, na, VPT_FMT_MONEY);

    fputs("<table><tr><th>arm</th><th>decisions</th><th>impressions</th>"
          "<th>accepts</th><th>accept rate</th><th>accepted value</th>"
          "<th>VPT</th><th>expected VPT</th></tr>\n", f);

    json_array_foreach(arms, i, a) {
        fputs("<tr><td>", f);
        vpt_html_esc(f, bars[i].arm);
        fprintf(f, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>",
                vpt_jnum(a, "decisions"), vpt_jnum(a, "impressions"),
                vpt_jnum(a, "accepts"));
        vpt_fmt(f, vpt_jnum(a, "accept_rate"), VPT_FMT_RATE);
        fputs("</td><td>", f);
        vpt_fmt(f, vpt_jnum(a, "accepted_value"), VPT_FMT_MONEY);
        fputs("</td><td>", f);
        vpt_fmt(f, vpt_jnum(a, "vpt"), VPT_FMT_MONEY);
        fputs("</td><td>", f);
        vpt_fmt(f, vpt_jnum(a, "expected_vpt"), VPT_FMT_MONEY);
        fputs("</td></tr>\n", f);
    }

    fputs("</table>\n", f);
    free(bars);

    /* the offers of every arm */

    n = 0;
    json_array_foreach(arms, i, a) {
        n += json_array_size(json_object_get(a, "offers"));
    }

    if (n == 0) {
        fputs("</section>\n", f);
        return;
    }

    bars = vpt_xalloc(n * sizeof(vpt_bar_t));

    for (pass = 0; pass < 2; pass++) {
        fputs(pass == 0 ? "<h3>Accept rate per offer</h3>\n"
                        : "<h3>Value per impression, per offer</h3>\n", f);
        n = 0;

        json_array_foreach(arms, i, a) {
            arm = json_string_value(json_object_get(a, "arm"));
            offers = json_object_get(a, "offers");

            json_array_foreach(offers, j, o) {
                bars[n].arm = arm ? arm : "";
                bars[n].offer = json_string_value(json_object_get(o,
                                                                  "offer"));
                bars[n].offer = bars[n].offer ? bars[n].offer : "";
                bars[n].label = bars[n].offer;
                bars[n].mark = NAN;

                if (pass == 0) {
                    bars[n].value = vpt_jnum(o, "accept_rate");
                    bars[n].lo = vpt_jci(o, "accept_rate_ci95", 0);
                    bars[n].hi = vpt_jci(o, "accept_rate_ci95", 1);

                } else {
                    d = vpt_jnum(o, "impressions");
                    bars[n].value = d > 0
                                    ? vpt_jnum(o, "accepted_value") / d : NAN;
                    bars[n].lo = bars[n].hi = NAN;
                }

                n++;
            }
        }

        vpt_svg_bars(f, pass == 0 ? "offer_accept_rate" : "offer_value",
                     bars, n, pass == 0 ? VPT_FMT_RATE : VPT_FMT_MONEY);
    }

    free(bars);
    fputs("</section>\n", f);
}


/*
 * Horizontal bars from zero, each with its interval as a whisker and the
 * figure at the right; one scale for the chart, zero included.  A row
 * with no figure (no impressions yet) says so.
 */

static void
vpt_svg_bars(FILE *f, const char *metric, const vpt_bar_t *b, size_t n,
    vpt_fmt_e fmt)
{
    size_t   i;
    double   lo, hi, x0, x1, xl, xh, y;
    int      height;

    lo = 0;
    hi = 0;

    for (i = 0; i < n; i++) {
        if (isfinite(b[i].value)) {
            lo = fmin(lo, b[i].value);
            hi = fmax(hi, b[i].value);
        }

        if (isfinite(b[i].lo) && isfinite(b[i].hi)) {
            lo = fmin(lo, b[i].lo);
            hi = fmax(hi, b[i].hi);
        }

        if (isfinite(b[i].mark)) {
            hi = fmax(hi, b[i].mark);
        }
    }

    if (hi - lo <= 0) {
        hi = lo + (fmt == VPT_FMT_RATE ? 0.01 : 1);
    }

#define VPT_X(v)  (VPT_SVG_LABEL + ((v) - lo) / (hi - lo) * VPT_SVG_PLOT)

    height = (int) n * VPT_SVG_ROW + 10;

    fprintf(f, "<svg class=\"chart\" data-metric=\"%s\" viewBox=\"0 0 %d %d\""
            " width=\"%d\" height=\"%d\" role=\"img\">\n", metric, VPT_SVG_W,
            height, VPT_SVG_W, height);

    x0 = VPT_X(0.0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"#99a\" stroke-width=\"1\"/>\n", x0, x0, height);

    for (i = 0; i < n; i++) {
        y = 5 + (double) i * VPT_SVG_ROW;

        fputs("<g class=\"bar\" data-metric=\"", f);
        fputs(metric, f);
        fputs("\" data-arm=\"", f);
        vpt_html_esc(f, b[i].arm);
        fputs("\" data-offer=\"", f);
        vpt_html_esc(f, b[i].offer);

        if (isfinite(b[i].value)) {
            fprintf(f, "\" data-value=\"%.9g\">", b[i].value);

        } else {
            fputs("\" data-value=\"\">", f);
        }

        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
                VPT_SVG_LABEL - 8, y + 15);
        vpt_html_label(f, b[i].label);

        if (*b[i].offer && *b[i].arm && strcmp(b[i].arm, "all") != 0) {
            fputs(" (", f);
            vpt_html_esc(f, b[i].arm);
            fputc(')', f);
        }

        fputs("</text>", f);

        if (!isfinite(b[i].value)) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#667\">nothing "
                    "to count yet</text></g>\n", x0 + 6, y + 15);
            continue;
        }

        x1 = VPT_X(b[i].value);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"16\" rx=\"2\" fill=\"%s\"/>", fmin(x0, x1), y + 2,
                fabs(x1 - x0) < 1 ? 1 : fabs(x1 - x0),
                strcmp(b[i].arm, "control") == 0 ? "#9aa5b8" : "#3b6fd8");

        if (isfinite(b[i].lo) && isfinite(b[i].hi)) {
            xl = VPT_X(b[i].lo);
            xh = VPT_X(b[i].hi);
            fprintf(f, "<path d=\"M%.1f %.1fv8M%.1f %.1fH%.1fM%.1f %.1fv8\" "
                    "stroke=\"#1d2430\" stroke-width=\"1.5\" fill=\"none\"/>",
                    xl, y + 6, xl, y + 10, xh, xh, y + 6);
        }

        if (isfinite(b[i].mark)) {
            xl = VPT_X(b[i].mark);
            fprintf(f, "<path d=\"M%.1f %.1fv20\" stroke=\"#e8a33d\" "
                    "stroke-width=\"3\"/>", xl, y);
        }

        fprintf(f, "<text x=\"%d\" y=\"%.1f\">", VPT_SVG_LABEL + VPT_SVG_PLOT
                + 10, y + 15);
        vpt_fmt(f, b[i].value, fmt);

        if (isfinite(b[i].lo) && isfinite(b[i].hi)) {
            fputs(" [", f);
            vpt_fmt(f, b[i].lo, fmt);
            fputs(", ", f);
            vpt_fmt(f, b[i].hi, fmt);
            fputc(']', f);
        }

        fputs("</text></g>\n", f);
    }

#undef VPT_X

    fputs("</svg>\n", f);
}


static void
vpt_fmt(FILE *f, double x, vpt_fmt_e fmt)
{
    if (!isfinite(x)) {
        fputs("–", f);

    } else if (fmt == VPT_FMT_RATE) {
        fprintf(f, "%.1f%%", 100 * x);

    } else {
        fprintf(f, "%.2f", x);
    }
}


/* a number of the JSON, NAN when absent or null */

static double
vpt_jnum(json_t *o, const char *key)
{
    json_t  *v;

    v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : NAN;
}


static double
vpt_jci(json_t *o, const char *key, int hi)
{
    json_t  *v;

    v = json_array_get(json_object_get(o, key), hi ? 1 : 0);

    return json_is_number(v) ? json_number_value(v) : NAN;
}


/* a label that fits left of the bars: cut (at a character) with "..." */

static void
vpt_html_label(FILE *f, const char *s)
{
    char    buf[VPT_LABEL_MAX + 4];
    size_t  n;

    n = strlen(s);

    if (n <= VPT_LABEL_MAX) {
        vpt_html_esc(f, s);
        return;
    }

    n = VPT_LABEL_MAX;
    while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
        n--;
    }

    memcpy(buf, s, n);
    memcpy(buf + n, "...", 4);
    vpt_html_esc(f, buf);
}


/* text and attribute values: & < > " ' escaped */

static void
vpt_html_esc(FILE *f, const char *s)
{
    if (s == NULL) {
        return;
    }

    for (/* void */; *s; s++) {
        switch (*s) {

        case '&':
            fputs("&amp;", f);
            break;

        case '<':
            fputs("&lt;", f);
            break;

        case '>':
            fputs("&gt;", f);
            break;

        case '"':
            fputs("&quot;", f);
            break;

        case '\'':
            fputs("&#39;", f);
            break;

        default:
            fputc(*s, f);
        }
    }
}
