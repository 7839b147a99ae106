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

/* The open dataset of layer l (opened on first use and kept). Returns 0 and
 * *out (owned by app), or the error of raster_open with its message. */
int app_raster(struct app *app, const struct layer_conf *l, struct raster **out, char *msg,
               size_t msgcap);

#endif
