/* app.h - process state: configuration and the open datasets, created once at
 * start-up and passed explicitly to the handler. Not thread-safe. */
#ifndef COGTILER_APP_H
#define COGTILER_APP_H

#include <stddef.h>

#include "config.h"
#include "raster.h"

struct app;

/* Takes ownership of *cfg (which is zeroed) and initialises GDAL. Returns 0
 * and *out (free with app_destroy), or CT_ENOMEM. */
int app_create(struct config *cfg, struct app **out);

/* NULL-safe: closes every dataset and frees the configuration. */
void app_destroy(struct app *app);

const struct config *app_config(const struct app *app);

/* The open dataset of layer l (opened on first use, kept, and reopened once it
 * is older than the configuration's dataset_ttl_s). Returns 0 and *out (owned
 * by app, valid until the next app_ call), or the error of raster_open with
 * its message. */
int app_raster(struct app *app, const struct layer_conf *l, struct raster **out, char *msg,
               size_t msgcap);

/* The dataset of an ad-hoc url= source: CT_EFORBIDDEN without any request
 * unless the allow-list admits url; then, when not already open (a bounded
 * LRU of 16, same lifetime as layers), the redirect probe and an open that
 * checks every file the source refers to (source.h, raster.h). Returns 0 and
 * *out (owned by app), or the error with its message. */
int app_adhoc_raster(struct app *app, const char *url, struct raster **out, char *msg,
                     size_t msgcap);

#endif
