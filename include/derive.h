/* derive.h - derived layers (docs/OVERLAY.md): the inputs of a weighted
 * overlay or of an expression, each read for the same tile window (its own
 * overview, its own resampling) or onto one statistics grid, combined into
 * one band. Also a plain layer's expression= over its bands. */
#ifndef COGTILER_DERIVE_H
#define COGTILER_DERIVE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "expr.h"
#include "overlay.h"
#include "raster.h"
#include "tilemath.h"

#define DERIVE_MAX_INPUTS EXPR_MAX_VARS

/* One input, ready to read: its open raster and what to take from it. */
struct derive_input {
    struct raster *r;
    int band;                     /* 1-based */
    enum derive_terrain terrain;
    const char *resampling;       /* gdalwarp -r name */
    const struct remap *remap;    /* the overlay's (NULL for expressions) */
    double weight;
};

/* What one request computes. Nothing is owned but expr (derive_clear). */
struct derive {
    int n;
    struct derive_input in[DERIVE_MAX_INPUTS];
    struct expr *expr;            /* NULL: the weighted overlay */
    double smin, smax;            /* the evaluation scale */
    enum overlay_round round;
    int grid;                     /* statistics: the input whose raster holds the zone's grid */
    long long deadline_ms;        /* epoch ms, 0 = none */
};

/* What a cell of a derived tile is (derive_tile's state[]). */
enum { DERIVE_NODATA = 0, DERIVE_VALUE = 1, DERIVE_RESTRICTED = 2 };

/* Frees d->expr. */
void derive_clear(struct derive *d);

/* True when input i counts: every input of an overlay, the variables an
 * expression uses. */
int derive_uses(const struct derive *d, int i);

/* True when every input that counts overlaps the lon/lat box ll (the result
 * is NoData outside any of them). */
int derive_intersects(const struct derive *d, const struct bbox *ll);

/* The derived band over the EPSG:3857 window merc at size x size pixels
 * (lat: the window's central latitude, for terrain inputs' ground size): v[]
 * the score or the expression's value, state[] DERIVE_NODATA, DERIVE_VALUE or
 * DERIVE_RESTRICTED. 0, or the error of an input's read with msg (CT_ENOMEM). */
int derive_tile(const struct derive *d, const struct bbox *merc, int size, double lat,
                double *v, uint8_t *state, char *msg, size_t msgcap);

/* A zonal reader (zonal_opts.read): the derived band on the cells win of the
 * zone's grid (the raster of input d->grid), the inputs of that raster read
 * as they are (terrain: its cells plus a ring, warped with nearest) and the
 * others warped onto it;
 * restricted cells take the value smin - 1 (ArcGIS's convention). ctx is the
 * struct derive. */
int derive_chunk(void *ctx, struct raster_zone *z, const struct raster_window *win, double *v,
                 uint8_t *valid, char *msg, size_t msgcap);

#endif
