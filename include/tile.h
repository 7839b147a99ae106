/* tile.h - one tile, end to end: bounds -> raster read -> colour -> PNG. */
#ifndef COGTILER_TILE_H
#define COGTILER_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "colormap.h"
#include "pngenc.h"
#include "algo.h"
#include "raster.h"

struct tile_style {
    const struct colormap *cmap;  /* NULL: the raster's palette, else gray */
    const struct custom_cmap *custom; /* a user colormap (colormap=), raw values */
    int nrescale;                 /* 0 (Byte 0..255, or the raster's range), 1 (every
                                     band), or one range per band */
    double rmin[3], rmax[3];
    struct raster_read_opts read; /* bands, nodata, resampling, deadline */
    int algorithm;                /* 0, or 1 + enum algo_kind: terrain from band 1 (or bidx) */
    struct algo_params algo;
};

/* Pixels read around a tile for the terrain algorithms (hillshade looks at
 * neighbours), so a pixel at the tile's edge sees the same neighbours as in
 * the middle and neighbouring tiles join without seams. */
#define TILE_PAD 2

/* Renders tile z/x/y at size px (256 or 512) from r. Returns 0 and *out (free
 * with pngbuf_free), CT_ERANGE for bad z/x/y, CT_EOUTSIDE when the tile does
 * not touch the data, or another ct_err with a message in msg. */
int tile_render(struct raster *r, int z, uint64_t x, uint64_t y, int size,
                const struct tile_style *style, struct pngbuf *out, char *msg, size_t msgcap);

#endif
