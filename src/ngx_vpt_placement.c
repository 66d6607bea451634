/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Placements: "vpt_placement NAME ANCHOR [before | after | replace]
 * [slots=N] [kinds=KIND,...];", several per location, each its own place
 * on the page for offers.  The page's decision is one (ngx_vpt_decision.c):
 * its slots are the placements' in config order, the first the most
 * important, each taking its placement's kinds; the body filter looks for
 * all their anchors in one pass (vpt_splice's set).  Without
 * vpt_placement, vpt_anchor and vpt_slots make the one placement, with no
 * name, so the rest of the module sees placements only.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_vpt.h"


static ngx_int_t ngx_http_vpt_placement_kinds(ngx_conf_t *cf, ngx_str_t *s,
    ngx_uint_t *kinds);
static ngx_int_t ngx_http_vpt_placement_name(ngx_str_t *name);
static void ngx_http_vpt_free_placement_anchor(void *data);


char *
ngx_http_vpt_placement(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpt_loc_conf_t *vlcf = conf;

    char                  err[VPT_ERRLEN];
    ngx_int_t             n;
    ngx_str_t            *value;
    ngx_uint_t            i;
    vpt_place_e           place;
    ngx_pool_cleanup_t   *cln;
    ngx_vpt_placement_t  *pl, *p;

    value = cf->args->elts;

    if (ngx_http_vpt_placement_name(&value[1]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt_placement: invalid name \"%V\", it must be "
                           "1 to 32 bytes of letters, digits, '_' and '-'",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (vlcf->placements == NGX_CONF_UNSET_PTR) {
        vlcf->placements = ngx_array_create(cf->pool, 2,
                                            sizeof(ngx_vpt_placement_t));
        if (vlcf->placements == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    p = vlcf->placements->elts;

    for (i = 0; i < vlcf->placements->nelts; i++) {
        if (p[i].name.len == value[1].len
            && ngx_strncmp(p[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "vpt_placement \"%V\" is duplicate",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    pl = ngx_array_push(vlcf->placements);
    if (pl == NULL) {
        return NGX_CONF_ERROR;
    }

    pl->name = value[1];
    pl->slots = 1;
    pl->first = 0;
    pl->kinds = VPT_KINDS_ALL;
    place = VPT_PLACE_BEFORE;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "before") == 0) {
            place = VPT_PLACE_BEFORE;

        } else if (ngx_strcmp(value[i].data, "after") == 0) {
            place = VPT_PLACE_AFTER;

        } else if (ngx_strcmp(value[i].data, "replace") == 0) {
            place = VPT_PLACE_REPLACE;

        } else if (ngx_strncmp(value[i].data, "slots=", 6) == 0) {
            n = ngx_atoi(value[i].data + 6, value[i].len - 6);

            if (n < 1 || n > VPT_MAX_SLOTS) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "vpt_placement \"%V\": invalid \"%V\", "
                                   "slots must be 1 to %d", &value[1],
                                   &value[i], VPT_MAX_SLOTS);
                return NGX_CONF_ERROR;
            }

            pl->slots = n;

        } else if (ngx_strncmp(value[i].data, "kinds=", 6) == 0) {
            if (ngx_http_vpt_placement_kinds(cf, &value[i], &pl->kinds)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "vpt_placement \"%V\": invalid parameter "
                               "\"%V\", it must be \"before\", \"after\", "
                               "\"replace\", \"slots=N\" or "
                               "\"kinds=KIND,...\"", &value[1], &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    pl->anchor = vpt_anchor_create((char *) value[2].data, value[2].len,
                                   place, err, sizeof(err));
    if (pl->anchor == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpt_placement \"%V\": %s", &value[1], err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_vpt_free_placement_anchor;
    cln->data = pl->anchor;

    return NGX_CONF_OK;
}


/* "kinds=upsell,loyalty": the catalog's kind names */

static ngx_int_t
ngx_http_vpt_placement_kinds(ngx_conf_t *cf, ngx_str_t *s, ngx_uint_t *kinds)
{
    u_char      *p, *end, *comma;
    size_t       len;
    ngx_uint_t   k;
    const char  *name;

    *kinds = 0;
    p = s->data + 6;
    end = s->data + s->len;

    while (p <= end) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        len = comma - p;

        for (k = 0; k < VPT_KIND_N; k++) {
            name = vpt_kind_name((vpt_kind_e) k);

            if (len == ngx_strlen(name) && ngx_strncmp(p, name, len) == 0) {
                break;
            }
        }

        if (k == VPT_KIND_N) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "vpt_placement: unknown kind \"%*s\" in "
                               "\"%V\", it must be one of upsell, "
                               "cross_sell, loyalty, app_install, gift_card, "
                               "third_party", len, p, s);
            return NGX_ERROR;
        }

        *kinds |= 1u << k;
        p = comma + 1;
    }

    return NGX_OK;
}


/* [A-Za-z0-9_-]{1,32}: no ':' nor ',', as $vpt_offer joins with them */

static ngx_int_t
ngx_http_vpt_placement_name(ngx_str_t *name)
{
    u_char      c;
    ngx_uint_t  i;

    if (name->len == 0 || name->len > 32) {
        return NGX_ERROR;
    }

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * After vpt_anchor and vpt_slots are merged: the page's placements (a
 * level without vpt_placement takes the one above's), their slots in
 * order, and the set of anchors the body filter looks for.
 */

char *
ngx_http_vpt_placement_merge(ngx_conf_t *cf, ngx_http_vpt_loc_conf_t *prev,
    ngx_http_vpt_loc_conf_t *conf)
{
    char                  err[VPT_ERRLEN];
    ngx_uint_t            i, j, first;
    ngx_vpt_placement_t  *p;

    ngx_conf_merge_ptr_value(conf->placements, prev->placements, NULL);

    conf->named = (conf->placements != NULL);
    conf->places = conf->placements;

    if (conf->places == NULL) {
        /* vpt_anchor and vpt_slots: one placement, no name, this level's */
        conf->places = ngx_array_create(cf->pool, 1,
                                        sizeof(ngx_vpt_placement_t));
        if (conf->places == NULL) {
            return NGX_CONF_ERROR;
        }

        p = ngx_array_push(conf->places);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_str_null(&p->name);
        p->anchor = conf->anchor;
        p->slots = ngx_min((ngx_uint_t) conf->slots, VPT_MAX_SLOTS);
        p->first = 0;
        p->kinds = VPT_KINDS_ALL;
    }

    p = conf->places->elts;

    if (conf->places->nelts > VPT_SPLICE_SET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%ui placements, at most %d on one page",
                           conf->places->nelts, VPT_SPLICE_SET_MAX);
        return NGX_CONF_ERROR;
    }

    first = 0;

    for (i = 0; i < conf->places->nelts; i++) {
        conf->anchor_set[i] = p[i].anchor;

        if (first + p[i].slots > VPT_MAX_SLOTS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "vpt_placement \"%V\": the placements have "
                               "more than %d slots on one page", &p[i].name,
                               VPT_MAX_SLOTS);
            return NGX_CONF_ERROR;
        }

        /* the slots are the array's, shared by the levels that inherit */
        p[i].first = first;

        for (j = 0; j < p[i].slots; j++) {
            conf->slot_kinds[first + j] = (uint8_t) p[i].kinds;
            conf->slot_place[first + j] = (uint8_t) i;
        }

        first += p[i].slots;
    }

    conf->nslots = first;

    if (vpt_splice_set_check(conf->anchor_set, conf->places->nelts, err,
                             sizeof(err))
        != VPT_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "vpt_placement: %s", err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_vpt_free_placement_anchor(void *data)
{
    vpt_anchor_free(data);
}
