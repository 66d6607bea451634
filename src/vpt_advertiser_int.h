/*
 * Copyright (C) ngx_vpt_module authors
 *
 * Between the catalog's parser (vpt_catalog.c) and the advertisers
 * (vpt_advertiser.c): what the parser calls while it reads the file.
 */

#ifndef VPT_ADVERTISER_INT_H
#define VPT_ADVERTISER_INT_H

#include <jansson.h>

#include "vpt_catalog_int.h"
#include "vpt_advertiser.h"


/* arena bytes the "advertisers" array needs beyond vpt_json_bound() */
size_t vpt_adv_bound(json_t *root);

/* the "advertisers" array into the catalog; VPT_ERROR with p->err set */
int vpt_adv_parse_all(vpt_parse_t *p, json_t *v);

/* the offer's advertiser and value; VPT_ERROR with p->why set */
int vpt_adv_link(vpt_parse_t *p, json_t *jo, vpt_offer_t *o);


#endif /* VPT_ADVERTISER_INT_H */
