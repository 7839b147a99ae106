#include "app.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gate.h"
#include "http.h"
#include "source.h"

/* Ad-hoc (url=) datasets a worker keeps open at once; the least recently used goes. */
#define APP_ADHOC_MAX 16
/* Sources remembered as failing to open. */
#define APP_NEGATIVE_MAX 64
/* A timeout this close to a request's deadline is the request's, not the source's. */
#define APP_DEADLINE_SLACK_MS 250

/* A source that failed to open, and how. */
struct failure {
    char *name;        /* GDAL's name; NULL for a free entry */
    long long until;   /* monotonic ms after which it is tried again */
    int err;
    char msg[256];
};

struct app {
    struct config cfg;
    struct fanout *fanout;
    pthread_mutex_t lock; /* guards failures */
    struct failure failures[APP_NEGATIVE_MAX];
};

struct slot {
    struct raster *r;  /* NULL until opened */
    long long opened;  /* monotonic ms */
    long long used;
    char *gdal;        /* ad-hoc slots: GDAL's name of the URL */
};

struct worker {
    struct app *app;
    void (*progress)(void *ctx, long long done, long long total);
    void *progress_ctx;
    long long deadline_ms; /* of the request being answered; 0 = none */
    struct slot *layers; /* one per layer */
    struct slot adhoc[APP_ADHOC_MAX];
};

static long long now_ms(void)
{
    return (long long)http_mono_ms();
}

int app_create(struct config *cfg, struct app **out)
{
    struct app *app = calloc(1, sizeof *app);
    if (!app || pthread_mutex_init(&app->lock, NULL) != 0) {
        free(app);
        return CT_ENOMEM;
    }
    app->cfg = *cfg;
    *cfg = (struct config){ 0 };
    raster_global_init();
    gate_configure((const char *const *)app->cfg.allowed_prefixes, app->cfg.nallowed,
                   app->cfg.url_max_requests, app->cfg.url_max_bytes);
    *out = app;
    return CT_OK;
}

void app_destroy(struct app *app)
{
    if (!app)
        return;
    for (size_t i = 0; i < APP_NEGATIVE_MAX; i++)
        free(app->failures[i].name);
    pthread_mutex_destroy(&app->lock);
    config_free(&app->cfg);
    free(app);
    raster_global_cleanup();
}

const struct config *app_config(const struct app *app)
{
    return &app->cfg;
}

int app_worker_new(struct app *app, struct worker **out)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return CT_ENOMEM;
    w->layers = calloc(app->cfg.nlayers ? app->cfg.nlayers : 1, sizeof *w->layers);
    if (!w->layers) {
        free(w);
        return CT_ENOMEM;
    }
    w->app = app;
    *out = w;
    return CT_OK;
}

static void slot_clear(struct slot *s)
{
    raster_close(s->r);
    free(s->gdal);
    memset(s, 0, sizeof *s);
}

void app_worker_free(struct worker *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->app->cfg.nlayers; i++)
        slot_clear(&w->layers[i]);
    for (size_t i = 0; i < APP_ADHOC_MAX; i++)
        slot_clear(&w->adhoc[i]);
    free(w->layers);
    free(w);
}

void app_set_fanout(struct app *app, struct fanout *f)
{
    app->fanout = f;
}

struct fanout *app_fanout(const struct app *app)
{
    return app->fanout;
}

struct app *worker_app(const struct worker *w)
{
    return w->app;
}

void app_request_begin(struct worker *w, long long deadline_ms)
{
    w->deadline_ms = deadline_ms;
    gate_begin(deadline_ms);
}

void app_set_progress(struct worker *w, void (*fn)(void *ctx, long long done, long long total),
                      void *ctx)
{
    w->progress = fn;
    w->progress_ctx = ctx;
}

void app_progress(const struct worker *w, void (**fn)(void *, long long, long long), void **ctx)
{
    *fn = w->progress;
    *ctx = w->progress_ctx;
}

void app_request_end(struct worker *w)
{
    w->deadline_ms = 0;
    gate_end();
}

/* The remembered failure of name, if it has not expired: 1 with its error and
 * message, else 0. */
static int failure_get(struct app *app, const char *name, long long now, int *err, char *msg,
                       size_t msgcap)
{
    int found = 0;
    pthread_mutex_lock(&app->lock);
    for (size_t i = 0; i < APP_NEGATIVE_MAX && !found; i++) {
        struct failure *f = &app->failures[i];
        if (f->name && strcmp(f->name, name) == 0 && now < f->until) {
            *err = f->err;
            snprintf(msg, msgcap, "%s", f->msg);
            found = 1;
        }
    }
    pthread_mutex_unlock(&app->lock);
    return found;
}

/* Remembers that name failed with err for negative_ttl_s (in the entry of
 * name, a free or expired one, or the one closest to expiry). */
static void failure_put(struct app *app, const char *name, long long now, int err,
                        const char *msg)
{
    if (app->cfg.negative_ttl_s <= 0)
        return;
    pthread_mutex_lock(&app->lock);
    struct failure *victim = &app->failures[0];
    for (size_t i = 0; i < APP_NEGATIVE_MAX; i++) {
        struct failure *f = &app->failures[i];
        if (f->name && strcmp(f->name, name) == 0) {
            victim = f;
            break;
        }
        if (!f->name || f->until < victim->until)
            victim = f;
    }
    if (!victim->name || strcmp(victim->name, name) != 0) {
        free(victim->name);
        victim->name = strdup(name);
    }
    if (victim->name) {
        victim->until = now + app->cfg.negative_ttl_s * 1000LL;
        victim->err = err;
        snprintf(victim->msg, sizeof victim->msg, "%s", msg);
    }
    pthread_mutex_unlock(&app->lock);
}

/* True when the slot's dataset has lived longer than dataset_ttl_s. */
static int expired(const struct app *app, const struct slot *s, long long now)
{
    return app->cfg.dataset_ttl_s > 0 && now - s->opened >= app->cfg.dataset_ttl_s * 1000LL;
}

/* Opens name into the slot s, unless it failed recently. */
static int open_slot(struct worker *w, struct slot *s, const char *name,
                     const struct raster_open_opts *o, long long now, char *msg, size_t msgcap)
{
    int err;
    if (failure_get(w->app, name, now, &err, msg, msgcap))
        return err;
    err = raster_open(name, o, &s->r, msg, msgcap);
    /* A timeout or a refused connection costs its full wait: remembered, the
     * next requests answer at once. Running out of the request's own time is
     * not the source's fault, and not remembered. */
    if (err) {
        int own_deadline = err == CT_ETIMEOUT && w->deadline_ms &&
                           http_clock_ms() + APP_DEADLINE_SLACK_MS >= w->deadline_ms;
        if (!own_deadline)
            failure_put(w->app, name, now, err, msg);
        return err;
    }
    s->opened = now;
    return CT_OK;
}

int app_raster(struct worker *w, const struct layer_conf *l, struct raster **out, char *msg,
               size_t msgcap)
{
    const struct config *c = &w->app->cfg;
    size_t i = (size_t)(l - c->layers);
    if (i >= c->nlayers)
        return CT_EINTERNAL;
    if (!l->source) { /* a derived layer has inputs, not a source (derive.h) */
        snprintf(msg, msgcap, "a derived layer has no source of its own");
        return CT_EINVAL;
    }
    struct slot *s = &w->layers[i];
    long long now = now_ms();
    if (s->r && expired(w->app, s, now))
        slot_clear(s); /* reopened below: a replaced object is picked up */
    if (!s->r) {
        struct raster_open_opts o = { .requester_pays = l->requester_pays,
                                      .unsigned_s3 = l->unsigned_s3, .gcp_tps = l->gcp_tps,
                                      .gcp_order = l->gcp_order };
        int err = open_slot(w, s, l->source, &o, now, msg, msgcap);
        if (err)
            return err;
    }
    s->used = now;
    *out = s->r;
    return CT_OK;
}

int app_adhoc_raster(struct worker *w, const char *url, struct raster **out, char *msg,
                     size_t msgcap)
{
    const struct config *c = &w->app->cfg;
    const char *const *prefixes = (const char *const *)c->allowed_prefixes;
    char gdal[4096];
    int err = source_allow_url(prefixes, c->nallowed, url, gdal, sizeof gdal, msg, msgcap);
    if (err)
        return err;
    /* http(s): every byte through the gate. s3: GDAL's /vsis3/, whose
     * endpoint is the operator's (AWS_S3_ENDPOINT, or AWS) and which follows
     * no redirect to another host. */
    if (strncmp(gdal, "/vsicurl/", 9) == 0) {
        char http[sizeof gdal];
        snprintf(http, sizeof http, "%s", gdal + 9);
        if (gate_name(http, gdal, sizeof gdal) != CT_OK)
            return CT_ETOOBIG;
    }
    long long now = now_ms();
    struct slot *victim = &w->adhoc[0];
    for (size_t i = 0; i < APP_ADHOC_MAX; i++) {
        struct slot *s = &w->adhoc[i];
        if (s->r && strcmp(s->gdal, gdal) == 0) {
            if (expired(w->app, s, now)) {
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
    slot_clear(victim);
    if (!(victim->gdal = strdup(gdal)))
        return CT_ENOMEM;
    struct raster_open_opts o = { .untrusted = 1 };
    if ((err = open_slot(w, victim, gdal, &o, now, msg, msgcap))) {
        slot_clear(victim);
        return err;
    }
    victim->used = now;
    *out = victim->r;
    return CT_OK;
}
