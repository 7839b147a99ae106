#include "app.h"

#include <stdlib.h>

#include "err.h"

struct app {
    struct config cfg;
    struct raster **rasters; /* one per layer, NULL until first opened */
};

int app_create(struct config *cfg, struct app **out)
{
    struct app *app = calloc(1, sizeof *app);
    if (!app)
        return CT_ENOMEM;
    app->rasters = calloc(cfg->nlayers ? cfg->nlayers : 1, sizeof *app->rasters);
    if (!app->rasters) {
        free(app);
        return CT_ENOMEM;
    }
    app->cfg = *cfg;
    *cfg = (struct config){ 0 };
    raster_global_init();
    *out = app;
    return CT_OK;
}

void app_destroy(struct app *app)
{
    if (!app)
        return;
    for (size_t i = 0; i < app->cfg.nlayers; i++)
        raster_close(app->rasters[i]);
    free(app->rasters);
    config_free(&app->cfg);
    free(app);
    raster_global_cleanup();
}

const struct config *app_config(const struct app *app)
{
    return &app->cfg;
}

int app_raster(struct app *app, const struct layer_conf *l, struct raster **out, char *msg,
               size_t msgcap)
{
    size_t i = (size_t)(l - app->cfg.layers);
    if (i >= app->cfg.nlayers)
        return CT_EINTERNAL;
    /* A failed open is not remembered: the next request tries again. */
    if (!app->rasters[i]) {
        int err = raster_open(l->source, &app->rasters[i], msg, msgcap);
        if (err)
            return err;
    }
    *out = app->rasters[i];
    return CT_OK;
}
