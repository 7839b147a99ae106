/* tile.h - one tile, end to end: bounds -> raster read -> colour -> PNG. */
#ifndef COGTILER_TILE_H
#define COGTILER_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "colormap.h"
#include "pngenc.h"
#include "raster.h"

struct tile_style {
    const struct colormap *cmap; /* NULL: the raster's palette, else gray */
    int has_rescale;             /* else: Byte 0..255, or the raster's range */
    double min, max;
    const char *resampling;      /* NULL: nearest */
    long long deadline_ms;       /* epoch ms at which to give up (CT_ETIMEOUT); 0 = none */
};

/* Renders tile z/x/y at size px (256 or 512) from r. Returns 0 and *out (free
 * with pngbuf_free), CT_ERANGE for bad z/x/y, CT_EOUTSIDE when the tile does
 * not touch the data, or another ct_err with a message in msg. */
int tile_render(struct raster *r, int z, uint64_t x, uint64_t y, int size,
                const struct tile_style *style, struct pngbuf *out, char *msg, size_t msgcap);

#endif
