/* tile.h - one tile, end to end: bounds -> raster read -> colour -> PNG, WebP
 * or JPEG (imgenc.h); or bounds -> raster read -> GeoTIFF of the values. */
#ifndef COGTILER_TILE_H
#define COGTILER_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "derive.h"
#include "params.h"
#include "pngenc.h"
#include "raster.h"

/* Pixels read around a tile for the terrain algorithms (hillshade looks at
 * neighbours), so a pixel at the tile's edge sees the same neighbours as in
 * the middle and neighbouring tiles join without seams. */
#define TILE_PAD 2

/* Renders tile z/x/y at p->size pixels from r, with parameters that
 * params_tile() parsed and params_check() accepted for r. deadline_ms (epoch
 * ms, 0 = none) cancels the read. p->format: PNG, WebP (lossless, or lossy for
 * imagery shown as it is and whenever p->quality is set) and JPEG of the
 * coloured tile; a GeoTIFF of the values read. Returns 0 and *out (free with pngbuf_free),
 * CT_ERANGE for bad z/x/y, CT_EOUTSIDE when the tile does not touch the data,
 * or an error of the read (CT_ESOURCE, CT_ETIMEOUT, ...), CT_ESOURCE when the
 * source gives no value range to colour with, CT_EUNSUPPORTED when its values
 * or colour table cannot be coloured; with a message in msg. */
int tile_render(struct raster *r, int z, uint64_t x, uint64_t y, const struct tile_params *p,
                long long deadline_ms, struct pngbuf *out, char *msg, size_t msgcap);

/* Renders tile z/x/y of a derived band (derive.h: a weighted overlay, or an
 * expression) at p->size pixels: the value rescaled by p's one range through
 * p's colormap (or its custom colormap), restricted cells in restricted[]
 * (RGBA), NoData transparent. CT_EOUTSIDE when the tile misses an input the
 * result needs (the result is NoData outside any input); else as tile_render.
 * A GeoTIFF holds the Float32 values, NaN for NoData, scale_min - 1 for
 * restricted cells (as statistics count them). */
int tile_render_derived(const struct derive *d, int z, uint64_t x, uint64_t y,
                        const struct tile_params *p, const uint8_t restricted[4],
                        struct pngbuf *out, char *msg, size_t msgcap);

#endif
