/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The accept beacon (being written).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


char *
ngx_http_vpt_beacon(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t  *vlcf = conf;

    vlcf->beacon = 1;

    return NGX_CONF_OK;
}
