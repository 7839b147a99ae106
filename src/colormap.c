#include "colormap.h"

#include <math.h>
#include <string.h>

#include "err.h"

/* Generated at build time from the colormaps/ folder (see Makefile). */
extern const struct colormap colormap_table[];
extern const size_t colormap_table_len;

const struct colormap *colormap_find(const char *name, size_t n)
{
    for (size_t i = 0; i < colormap_table_len; i++)
        if (strlen(colormap_table[i].name) == n && memcmp(colormap_table[i].name, name, n) == 0)
            return &colormap_table[i];
    return NULL;
}

size_t colormap_count(void)
{
    return colormap_table_len;
}

const struct colormap *colormap_at(size_t i)
{
    return i < colormap_table_len ? &colormap_table[i] : NULL;
}

uint8_t colormap_scale(double v, double min, double max)
{
    double t = (v - min) / (max - min) * 255.0;
    if (!(t > 0.0)) /* also NaN */
        return 0;
    if (t >= 255.0)
        return 255;
    return (uint8_t)floor(t + 0.5);
}

static double value_at(const struct raster_tile *t, size_t band, size_t i)
{
    size_t px = (size_t)t->size * (size_t)t->size;
    if (t->is_byte)
        return ((const uint8_t *)t->data)[band * px + i];
    return ((const double *)t->data)[band * px + i];
}

int colormap_apply(const struct raster_tile *t, const struct color_spec *spec, uint8_t *rgba)
{
    const size_t px = (size_t)t->size * (size_t)t->size;
    if (spec->mode == COLOR_RGB && t->nbands < 3)
        return CT_EINVAL;
    if (spec->mode == COLOR_CUSTOM && !spec->custom)
        return CT_EINVAL;
    if ((spec->mode == COLOR_RAMP || spec->mode == COLOR_PALETTE) &&
        (!spec->lut || spec->lut_n < 1 || spec->lut_n > 256))
        return CT_EINVAL;
    const int rescale = spec->mode == COLOR_RGB && (spec->rgb_rescale || !t->is_byte);
    if (spec->mode == COLOR_RAMP && !(spec->min < spec->max))
        return CT_EINVAL;
    for (int b = 0; rescale && b < 3; b++)
        if (!(spec->rgb_min[b] < spec->rgb_max[b]))
            return CT_EINVAL;

    if (spec->mode == COLOR_RGB && !rescale) {
        /* The common case (Byte RGB imagery) without per-pixel dispatch. */
        const uint8_t *r = t->data, *g = r + px, *b = g + px;
        for (size_t i = 0; i < px; i++) {
            uint8_t *o = rgba + 4 * i;
            uint8_t m = t->mask[i] ? 255 : 0;
            o[0] = r[i] & m;
            o[1] = g[i] & m;
            o[2] = b[i] & m;
            o[3] = m;
        }
        return CT_OK;
    }
    for (size_t i = 0; i < px; i++) {
        uint8_t *o = rgba + 4 * i;
        memset(o, 0, 4);
        if (!t->mask[i])
            continue;
        if (spec->mode == COLOR_RGB) {
            int nan = 0;
            for (size_t b = 0; b < 3; b++) {
                double v = value_at(t, b, i);
                nan |= isnan(v);
                o[b] = colormap_scale(v, spec->rgb_min[b], spec->rgb_max[b]);
            }
            o[3] = nan ? 0 : 255;
            if (nan)
                memset(o, 0, 4);
            continue;
        }
        double v = value_at(t, 0, i);
        if (isnan(v))
            continue;
        if (spec->mode == COLOR_CUSTOM) {
            if (!custom_lookup(spec->custom, v, o))
                memset(o, 0, 4);
            continue;
        }
        int idx;
        if (spec->mode == COLOR_PALETTE) {
            if (v < 0 || v >= spec->lut_n)
                continue;
            idx = (int)v;
        } else {
            idx = colormap_scale(v, spec->min, spec->max);
        }
        memcpy(o, spec->lut[idx], 4);
    }
    return CT_OK;
}
