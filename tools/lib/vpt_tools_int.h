/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Between the tools' helper files: the JSON scanner's pieces that the
 * decision-log parser (vpt_tools_log.c) uses too.
 */

#ifndef VPT_TOOLS_INT_H
#define VPT_TOOLS_INT_H

#include "vpt_tools.h"


static inline const char *
vpt_jskip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }

    return p;
}


/* the value at p, which must not be whitespace; the byte after it, or NULL */
const char *vpt_jvalue(const char *p, const char *end, vpt_jval_t *v);


#endif /* VPT_TOOLS_INT_H */
