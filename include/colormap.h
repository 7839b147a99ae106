/* colormap.h - colormap tables (compiled in from the colormaps/ folder), rescaling,
 * and turning a raster tile into RGBA pixels. Pure, no I/O. */
#ifndef COGTILER_COLORMAP_H
#define COGTILER_COLORMAP_H

#include <stddef.h>
#include <stdint.h>

#include "custom.h"
#include "raster.h"

struct colormap {
    const char *name;
    uint8_t rgba[256][4];
};

/* The built-in colormap called name[0..n), or NULL. */
const struct colormap *colormap_find(const char *name, size_t n);

/* Number of built-in colormaps, and the i-th (0-based, NULL past the end). */
size_t colormap_count(void);
const struct colormap *colormap_at(size_t i);

enum color_mode {
    COLOR_RGB,     /* bands 1-3 as red, green, blue (Byte passes through unless rescaled) */
    COLOR_PALETTE, /* band 1 indexes lut directly (a GDAL colour table) */
    COLOR_RAMP,    /* band 1 rescaled from [min, max] to 0..255, then lut */
    COLOR_CUSTOM,  /* band 1's raw values looked up in a user colormap */
};

struct color_spec {
    enum color_mode mode;
    const uint8_t (*lut)[4]; /* PALETTE, RAMP */
    int lut_n;               /* entries in lut (256 for a ramp) */
    double min, max;         /* RAMP; min < max */
    int rgb_rescale;         /* RGB: rescale with rgb_min/max (always for non-Byte data) */
    double rgb_min[3], rgb_max[3];
    const struct custom_cmap *custom; /* CUSTOM */
};

/* Index 0..255 of value v in [min, max], rounding to nearest and clamping. */
uint8_t colormap_scale(double v, double min, double max);

/* Writes t->size^2 RGBA pixels to rgba. Pixels whose mask is 0, whose value is
 * NaN, or whose palette index has no entry become transparent (0,0,0,0).
 * Returns 0, or CT_EINVAL when spec does not fit t (e.g. RGB from 1 band). */
int colormap_apply(const struct raster_tile *t, const struct color_spec *spec, uint8_t *rgba);

#endif
