#include "tile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tilemath.h"

/* Decides how pixels get colour: passthrough, palette, or rescale + ramp. */
static int choose_colors(struct raster *r, const struct tile_style *st, struct color_spec *spec,
                         uint8_t palette[256][4], char *msg, size_t msgcap)
{
    const struct raster_info *in = raster_get_info(r);
    memset(spec, 0, sizeof *spec);
    if (in->nbands >= 3) {
        spec->mode = COLOR_RGB;
    } else if (in->has_palette && !st->cmap) {
        spec->mode = COLOR_PALETTE;
        spec->lut = (const uint8_t(*)[4])palette;
        if (raster_palette(r, palette, &spec->lut_n))
            return CT_EINTERNAL;
        return CT_OK;
    } else {
        spec->mode = COLOR_RAMP;
        const struct colormap *cm = st->cmap ? st->cmap : colormap_find("gray", 4);
        if (!cm)
            return CT_EINTERNAL;
        spec->lut = (const uint8_t(*)[4])cm->rgba;
        spec->lut_n = 256;
    }
    if (st->has_rescale) {
        spec->min = st->min;
        spec->max = st->max;
    } else if (in->is_byte) {
        spec->min = 0;
        spec->max = 255;
    } else if (raster_range(r, 1, &spec->min, &spec->max)) {
        snprintf(msg, msgcap, "no value range: give rescale=min,max");
        return CT_ESOURCE;
    }
    return CT_OK;
}

int tile_render(struct raster *r, int z, uint64_t x, uint64_t y, int size,
                const struct tile_style *style, struct pngbuf *out, char *msg, size_t msgcap)
{
    struct bbox merc, ll;
    struct raster_tile t = { 0 };
    struct color_spec spec;
    uint8_t palette[256][4];
    uint8_t *rgba = NULL;
    int err;

    memset(out, 0, sizeof *out);
    if ((err = tilemath_bounds(z, x, y, &merc)) || (err = tilemath_bounds_lonlat(z, x, y, &ll)))
        return err;
    if (!raster_intersects(r, &ll)) {
        snprintf(msg, msgcap, "tile %d/%llu/%llu is outside the data", z, (unsigned long long)x,
                 (unsigned long long)y);
        return CT_EOUTSIDE;
    }
    if ((err = choose_colors(r, style, &spec, palette, msg, msgcap)))
        return err;
    if ((err = raster_read(r, &merc, size, style->resampling, style->deadline_ms, &t, msg,
                           msgcap)))
        return err;
    /* size <= 4096 (checked by raster_read), so size^2 * 4 fits in size_t. */
    rgba = malloc((size_t)size * (size_t)size * 4);
    if (!rgba) {
        err = CT_ENOMEM;
        goto out;
    }
    if ((err = colormap_apply(&t, &spec, rgba))) {
        snprintf(msg, msgcap, "cannot colour this raster");
        goto out;
    }
    err = pngenc_rgba(rgba, size, size, out);
out:
    free(rgba);
    raster_tile_free(&t);
    return err;
}
