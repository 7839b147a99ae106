#include "app.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "source.h"

/* Ad-hoc (url=) datasets kept open at once; the least recently used goes. */
#define APP_ADHOC_MAX 16
/* The redirect probe of an ad-hoc URL gives up after this long. */
#define APP_PROBE_MS 5000

struct slot {
    struct raster *r;  /* NULL until opened */
    long long opened;  /* monotonic ms */
    long long used;
    char *gdal;        /* ad-hoc slots: GDAL's name of the URL */
};

struct app {
    struct config cfg;
    struct slot *layers; /* one per layer */
    struct slot adhoc[APP_ADHOC_MAX];
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int app_create(struct config *cfg, struct app **out)
{
    struct app *app = calloc(1, sizeof *app);
    if (!app)
        return CT_ENOMEM;
    app->layers = calloc(cfg->nlayers ? cfg->nlayers : 1, sizeof *app->layers);
    if (!app->layers) {
        free(app);
        return CT_ENOMEM;
    }
    app->cfg = *cfg;
    *cfg = (struct config){ 0 };
    raster_global_init();
    *out = app;
    return CT_OK;
}

static void slot_clear(struct slot *s)
{
    raster_close(s->r);
    free(s->gdal);
    memset(s, 0, sizeof *s);
}

void app_destroy(struct app *app)
{
    if (!app)
        return;
    for (size_t i = 0; i < app->cfg.nlayers; i++)
        slot_clear(&app->layers[i]);
    for (size_t i = 0; i < APP_ADHOC_MAX; i++)
        slot_clear(&app->adhoc[i]);
    free(app->layers);
    config_free(&app->cfg);
    free(app);
    raster_global_cleanup();
}

const struct config *app_config(const struct app *app)
{
    return &app->cfg;
}

/* True when the slot's dataset has lived longer than dataset_ttl_s. */
static int expired(const struct app *app, const struct slot *s, long long now)
{
    return app->cfg.dataset_ttl_s > 0 && now - s->opened >= app->cfg.dataset_ttl_s * 1000LL;
}

int app_raster(struct app *app, const struct layer_conf *l, struct raster **out, char *msg,
               size_t msgcap)
{
    size_t i = (size_t)(l - app->cfg.layers);
    if (i >= app->cfg.nlayers)
        return CT_EINTERNAL;
    struct slot *s = &app->layers[i];
    long long now = now_ms();
    if (s->r && expired(app, s, now))
        slot_clear(s); /* reopened below: a replaced object is picked up */
    /* A failed open is not remembered: the next request tries again. */
    if (!s->r) {
        struct raster_open_opts o = { .requester_pays = l->requester_pays,
                                      .unsigned_s3 = l->unsigned_s3 };
        int err = raster_open(l->source, &o, &s->r, msg, msgcap);
        if (err)
            return err;
        s->opened = now;
    }
    s->used = now;
    *out = s->r;
    return CT_OK;
}

/* raster_open_opts.allow for ad-hoc sources: the allow-list decides. */
static int allow_file(void *ctx, const char *gdal_name, char *msg, size_t msgcap)
{
    const struct config *c = ctx;
    return source_allow_gdal_name((const char *const *)c->allowed_prefixes, c->nallowed,
                                  gdal_name, msg, msgcap);
}

int app_adhoc_raster(struct app *app, const char *url, struct raster **out, char *msg,
                     size_t msgcap)
{
    const struct config *c = &app->cfg;
    const char *const *prefixes = (const char *const *)c->allowed_prefixes;
    char gdal[4096];
    int err = source_allow_url(prefixes, c->nallowed, url, gdal, sizeof gdal, msg, msgcap);
    if (err)
        return err;
    long long now = now_ms();
    struct slot *victim = &app->adhoc[0];
    for (size_t i = 0; i < APP_ADHOC_MAX; i++) {
        struct slot *s = &app->adhoc[i];
        if (s->r && strcmp(s->gdal, gdal) == 0) {
            if (expired(app, s, now)) {
                slot_clear(s);
                victim = s;
                break;
            }
            s->used = now;
            *out = s->r;
            return CT_OK;
        }
        if (!s->r || (victim->r && s->used < victim->used))
            victim = s;
    }
    /* Not open: check where the URL redirects, then open with every file it
     * refers to checked against the allow-list. */
    if ((err = source_probe(prefixes, c->nallowed, gdal, APP_PROBE_MS, msg, msgcap)))
        return err;
    slot_clear(victim);
    if (!(victim->gdal = strdup(gdal)))
        return CT_ENOMEM;
    struct raster_open_opts o = { .allow = allow_file, .ctx = &app->cfg };
    if ((err = raster_open(gdal, &o, &victim->r, msg, msgcap))) {
        slot_clear(victim);
        return err;
    }
    victim->opened = victim->used = now;
    *out = victim->r;
    return CT_OK;
}
