/* pyramid.h - a layer's tile pyramid exported: which tiles (the plan: pure,
 * allocating nothing) and their rendering on worker threads through the same
 * service as HTTP (handler.h), each tile handed to a tile store (tilestore.h).
 * README "Pyramid export". */
#ifndef COGTILER_PYRAMID_H
#define COGTILER_PYRAMID_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "tilemath.h"

struct app;
struct tilestore;

/* The tiles of one zoom in one rectangle: columns x0..x1 and rows y0..y1
 * (inclusive, y from the north, as XYZ URLs count). */
struct pyramid_range {
    int z;
    uint64_t x0, x1, y0, y1;
};

/* A longitude set is at most three intervals once a layer crossing the
 * antimeridian meets a box crossing it; per zoom their columns may merge. */
#define PYRAMID_MAX_RANGES ((TILEMATH_MAXZ + 1) * 3)

struct pyramid_plan {
    size_t n;                                   /* ranges, by zoom then column */
    struct pyramid_range r[PYRAMID_MAX_RANGES];
    uint64_t total;                             /* tiles in every range */
};

/* The tiles of zooms minz..maxz (0 <= minz <= maxz <= TILEMATH_MAXZ) whose
 * longitude/latitude box overlaps (with positive area, as the tile route's
 * own test) both bounds and clip (NULL: no clip), in degrees; a box with
 * minx > maxx crosses the antimeridian. Latitudes are clamped to
 * +-TILEMATH_MAXLAT. Boxes that do not meet give an empty plan. Returns 0, or
 * CT_EINVAL for bad zooms or a box that is not finite, has miny >= maxy or
 * minx == maxx, or lies outside +-180 / +-90. */
int pyramid_plan(const struct bbox *bounds, const struct bbox *clip, int minz, int maxz,
                 struct pyramid_plan *out);

/* Where an enumeration is: zero it to start. */
struct pyramid_cursor {
    size_t range;
    uint64_t x, y;
    int started;
};

/* The next tile of plan after *c into *z, *x, *y: 1, or 0 at the end. */
int pyramid_next(const struct pyramid_plan *plan, struct pyramid_cursor *c, int *z, uint64_t *x,
                 uint64_t *y);

/* "Z" or "MIN-MAX" (0..TILEMATH_MAXZ, MIN <= MAX) from s[0..n). 0, or CT_EINVAL. */
int pyramid_parse_zooms(const char *s, size_t n, int *minz, int *maxz);

/* "W,S,E,N" in degrees from s[0..n) (W > E crosses the antimeridian). 0, or
 * CT_EINVAL for anything pyramid_plan would refuse. */
int pyramid_parse_bbox(const char *s, size_t n, struct bbox *out);

/* Where a run is. present: tiles of the plan the store already had at the
 * start (skipped); todo = total - present; done counts the tiles of todo that
 * were answered (written, outside or failed). */
struct pyramid_stats {
    uint64_t total, present, todo, done, written, outside, failed;
    uint64_t bytes;     /* written */
    double seconds;     /* since the rendering started */
};

struct pyramid_opts {
    const char *layer;          /* the tiles' route: /tiles/LAYER/Z/X/Y.EXT */
    const char *ext;            /* "png", "webp" or "jpg" */
    const struct kv *query;     /* the rendering's query parameters (read only) */
    size_t nquery;
    int jobs;                   /* render threads, >= 1, each with its own worker */
    /* Told once the tiles present are counted, about every 100 ms, and once at
     * the end (final set), on the calling thread;
     * failure() on a render thread for a tile answered with an error other than
     * 404 (the status and the answer's detail). Never both at once. Either may
     * be NULL. */
    void (*progress)(void *ctx, const struct pyramid_stats *st, int final);
    void (*failure)(void *ctx, int z, uint64_t x, uint64_t y, int status, const char *detail);
    void *ctx;
    /* Set (by a signal handler) to stop: the threads finish the tile in hand
     * and take no other. May be NULL. */
    volatile sig_atomic_t *stop;
};

/* Renders every tile of plan that store does not have yet: each render
 * thread asks the service (handler_handle on a worker of its own) for the
 * tile's path with the query, and puts a 200's body into store as it is; a
 * 404 (outside the data) writes nothing; any other answer counts as failed.
 * Returns 0 with *st (failed tiles included), or CT_ENOMEM / CT_EINTERNAL
 * (threads), or the store's error (a write that failed stops the run), with
 * a message. */
int pyramid_run(struct app *app, const struct pyramid_plan *plan, struct tilestore *store,
                const struct pyramid_opts *o, struct pyramid_stats *st, char *msg,
                size_t msgcap);

#endif
