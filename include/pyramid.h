/* pyramid.h - a layer's tile pyramid exported: which tiles (the plan: pure,
 * allocating nothing). */
#ifndef COGTILER_PYRAMID_H
#define COGTILER_PYRAMID_H

#include <stddef.h>
#include <stdint.h>

#include "tilemath.h"

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

#endif
