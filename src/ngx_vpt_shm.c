/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The module's shared zones (the counters, the advertisers' spend): each
 * is one struct of a fixed size, so that a reload finds the zone again
 * (nginx reuses a zone only at the same size), and the struct is kept
 * over the reload only when this build laid it out the same way.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


/* from postconfiguration: a zone of size bytes, its init and data */

ngx_shm_zone_t *
ngx_http_vpt_shm_add(ngx_conf_t *cf, ngx_str_t *name, size_t size,
    ngx_shm_zone_init_pt init, void *data)
{
    ngx_shm_zone_t  *shm_zone;

    /* the slab allocator takes a few pages of its own */
    size = ngx_align(size, ngx_pagesize) + 8 * ngx_pagesize;

    shm_zone = ngx_shared_memory_add(cf, name, size, &ngx_http_vpt_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "shared memory zone \"%V\" is already used",
                           name);
        return NULL;
    }

    shm_zone->init = init;
    shm_zone->data = data;

    return shm_zone;
}


/*
 * From a zone's init, in the master: its struct of size bytes, which
 * begins with ngx_http_vpt_shm_head_t.  The previous cycle's (data set)
 * is kept when its version and size match; one laid out by another build
 * is freed and the zone starts afresh, zeroed.
 */

void *
ngx_http_vpt_shm_struct(ngx_shm_zone_t *shm_zone, void *data,
    ngx_uint_t version, size_t size)
{
    ngx_slab_pool_t          *shpool;
    ngx_http_vpt_shm_head_t  *head;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    head = data ? shpool->data : NULL;

    if (head != NULL && (head->version != version || head->size != size)) {
        ngx_slab_free(shpool, head);
        head = NULL;
    }

    if (head == NULL) {
        head = ngx_slab_calloc(shpool, size);
        if (head == NULL) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "vpt: shared memory zone \"%V\" is too small",
                          &shm_zone->shm.name);
            return NULL;
        }

        head->version = version;
        head->size = size;
        shpool->data = head;
    }

    return head;
}
