/* app.h - process state, created once at start-up and passed explicitly: the
 * configuration and the sources that recently failed to open (shared by every
 * worker, behind a lock). Open datasets belong to a worker: GDAL dataset
 * handles are not thread-safe, so each serving thread has its own worker, and
 * a worker is used by one thread at a time. The Lambda runtime and the CLI
 * have one worker; the local server one per thread. */
#ifndef COGTILER_APP_H
#define COGTILER_APP_H

#include <stddef.h>

#include "config.h"
#include "raster.h"

struct app;
struct worker;
struct fanout;

/* Takes ownership of *cfg (which is zeroed) and initialises GDAL. Returns 0
 * and *out (free with app_destroy, after every worker), or CT_ENOMEM. */
int app_create(struct config *cfg, struct app **out);

/* NULL-safe: frees the configuration and shuts GDAL down. */
void app_destroy(struct app *app);

const struct config *app_config(const struct app *app);

/* Where statistics fan out (fanout.h): f is owned by the caller, who frees
 * it before app_destroy; NULL (the default): nothing fans out. */
void app_set_fanout(struct app *app, struct fanout *f);
struct fanout *app_fanout(const struct app *app);

/* A worker of app with no dataset open yet. 0 and *out, or CT_ENOMEM. */
int app_worker_new(struct app *app, struct worker **out);

/* NULL-safe: closes the worker's datasets. */
void app_worker_free(struct worker *w);

struct app *worker_app(const struct worker *w);

/* Brackets the answer to one client request on w: its deadline (epoch ms, 0 =
 * none) bounds the url= gate's waits, and its budget of upstream requests
 * starts (gate_begin). */
void app_request_begin(struct worker *w, long long deadline_ms);
void app_request_end(struct worker *w);

/* A function told of the progress of long work on w (statistics: cells done
 * and in all), or NULL. The CLI shows it on a terminal. */
void app_set_progress(struct worker *w, void (*fn)(void *ctx, long long done, long long total),
                      void *ctx);
void app_progress(const struct worker *w, void (**fn)(void *, long long, long long), void **ctx);

/* The open dataset of layer l (opened on first use, kept, and reopened once it
 * is older than the configuration's dataset_ttl_s). A source that failed to
 * open is not tried again for negative_ttl_s: the same error is answered at
 * once. Returns 0 and *out (owned by w, valid until the next app_ call on
 * w), or the error of raster_open with its message. */
int app_raster(struct worker *w, const struct layer_conf *l, struct raster **out, char *msg,
               size_t msgcap);

/* The dataset of an ad-hoc url= source: CT_EFORBIDDEN without any request
 * unless the allow-list admits url; then, when not already open (a bounded
 * LRU of 16 per worker, same lifetime as layers), an open as a GeoTIFF only:
 * http(s) through the url= gate (gate.h), s3 through GDAL's /vsis3/. A failed
 * open is remembered like a layer's. Returns 0 and *out (owned by w), or the
 * error with its message. */
int app_adhoc_raster(struct worker *w, const char *url, struct raster **out, char *msg,
                     size_t msgcap);

#endif
