/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Shared counters and the status page (being written).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


char *
ngx_http_vpt_status_page(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t  *vlcf = conf;

    vlcf->status_page = 1;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_vpt_init_status(ngx_conf_t *cf)
{
    return NGX_OK;
}
