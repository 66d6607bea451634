/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The offer's markup: placeholders filled from the decision and the
 * shopper's context, escaped for where each sits (vpt_render_ctx.h),
 * wrapped in the offer's <div>.  The catalog checks markup with
 * vpt_render_escapes() when it loads; the glue renders the chosen offers.
 * Nothing here ranks.
 */

#ifndef VPT_RENDER_H
#define VPT_RENDER_H

#include "vpt_core.h"
#include "vpt_catalog.h"
#include "vpt_context.h"


/*
 * Markup: the offer's markup with {{field}} placeholders filled, wrapped as
 *   <div class="vpt-offer" data-vpt-decision="ID" data-vpt-offer="OFFER">
 *   ...</div>
 * (with data-vpt-placement="NAME" last for a named placement)
 * (both ids HTML-escaped).  Fields: decision, offer, experiment, beacon
 * (the query string "d=ID&o=OFFER" plus "&x=EXPERIMENT" when there is one
 * and "&s=SIGNATURE" when the link is signed (vpt_sign.h), for the accept
 * beacon's URL; each value percent-encoded except RFC 3986's
 * unreserved characters A-Z a-z 0-9 - . _ ~ and ':', so catalog ids and
 * decision ids appear as they are), user.id, user.orders, device,
 * referrer, country, intent, order.id, order.total, order.currency,
 * features.NAME (NAME of [A-Za-z0-9_.-], the context's first feature of
 * that name).  Values are escaped for their place: HTML-escaped in text
 * and quoted attribute values (so beacon's '&' becomes "&amp;"), a URL
 * checked and percent-encoded, a script string JSON-escaped (beacon's '&'
 * as \u0026); see vpt_render_ctx.h.  An unknown value, and one the
 * offer's escapes (o->escapes, or learned at each render without them)
 * refuse, renders empty.  order.total has two decimals ("29.90");
 * user.orders and numeric features up to six, trailing zeros dropped ("3",
 * "2.5"); the decimal point is '.' whatever the locale.  The name between
 * "{{" and the first "}}" is taken as it is (no spaces).
 *
 * vpt_render_size() is the exact number of bytes vpt_render() writes (no
 * NUL); vpt_render() returns it too.
 */
typedef struct {
    vpt_str_t    decision;
    vpt_str_t    experiment;            /* len 0: none */
    vpt_str_t    signature;             /* beacon's "s=", len 0: none;
                                           for this one offer */
    vpt_str_t    placement;             /* data-vpt-placement="NAME"
                                           last, len 0: none */
    unsigned     preview:1;             /* data-vpt-preview="1" after
                                           data-vpt-offer: a QA preview */
} vpt_render_vars_t;

size_t vpt_render_size(const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars);
size_t vpt_render(char *out, const vpt_offer_t *o, const vpt_context_t *ctx,
    const vpt_render_vars_t *vars);

/*
 * At least what vpt_render() writes for this offer and these vars, with
 * any context, in constant time (the offer's escapes are known): a buffer
 * of this size is rendered into once, instead of sizing then rendering.
 */
size_t vpt_render_max(const vpt_offer_t *o, const vpt_render_vars_t *vars);

/*
 * VPT_OK, or VPT_ERROR with err: unknown placeholder "{{name}}", unclosed
 * "{{" at byte N, "{{name}}" at byte N is in <where no escaping is safe>,
 * or leaves <what> open (vpt_render_escapes() without the escapes)
 */
int vpt_render_check(vpt_str_t markup, char *err, size_t errlen);

/* & < > " ' as &amp; &lt; &gt; &quot; &#39;; returns the size (out NULL:
 * only the size) */
size_t vpt_html_escape(char *out, const char *in, size_t len);


#endif /* VPT_RENDER_H */
