#include "tile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colormap.h"
#include "err.h"
#include "imgenc.h"
#include "tilemath.h"

/* Decides how pixels get colour: passthrough, palette, or rescale + ramp.
 * The request was checked by params_check(); what can still fail here is the
 * source's (no value range, a broken colour table). */
static int choose_colors(struct raster *r, const struct tile_params *p, int nbands,
                         struct color_spec *spec, uint8_t palette[256][4], char *msg,
                         size_t msgcap)
{
    const struct raster_info *in = raster_get_info(r);
    const int band1 = p->nbands ? p->bands[0] : 1;
    memset(spec, 0, sizeof *spec);
    if (nbands >= 3) {
        spec->mode = COLOR_RGB;
        spec->rgb_rescale = p->nrescale > 0;
        for (int b = 0; b < 3; b++) {
            int k = p->nrescale > 1 ? b : 0;
            if (p->nrescale) {
                spec->rgb_min[b] = p->rmin[k];
                spec->rgb_max[b] = p->rmax[k];
            } else if (!in->is_byte) {
                int band = p->nbands ? p->bands[b] : b + 1;
                if (raster_range(r, band, &spec->rgb_min[b], &spec->rgb_max[b])) {
                    snprintf(msg, msgcap, "no value range: give rescale=min,max");
                    return CT_ESOURCE;
                }
            }
        }
        return CT_OK;
    }
    if (p->has_custom) {
        spec->mode = COLOR_CUSTOM;
        spec->custom = &p->custom;
        return CT_OK;
    }
    if (in->has_palette && band1 == 1 && !p->cmap) {
        spec->mode = COLOR_PALETTE;
        spec->lut = (const uint8_t(*)[4])palette;
        if (raster_palette(r, palette, &spec->lut_n))
            return CT_EINTERNAL;
        return CT_OK;
    }
    spec->mode = COLOR_RAMP;
    const struct colormap *cm = p->cmap ? p->cmap : colormap_find("gray", 4);
    if (!cm)
        return CT_EINTERNAL;
    spec->lut = (const uint8_t(*)[4])cm->rgba;
    spec->lut_n = 256;
    if (p->nrescale) {
        spec->min = p->rmin[0];
        spec->max = p->rmax[0];
    } else if (raster_is_byte_band(r, band1)) {
        spec->min = 0;
        spec->max = 255;
    } else if (raster_range(r, band1, &spec->min, &spec->max)) {
        snprintf(msg, msgcap, "no value range: give rescale=min,max");
        return CT_ESOURCE;
    }
    return CT_OK;
}

/* Encodes a coloured tile in the format p asks for. */
static int encode(const uint8_t *rgba, int size, const struct tile_params *p, int imagery,
                  struct pngbuf *out, char *msg, size_t msgcap)
{
    const struct img_opts o = { .format = p->format,
                                .lossy = p->format == IMG_WEBP && (imagery || p->quality),
                                .quality = p->quality };
    int err = imgenc_rgba(rgba, size, size, &o, out);
    if (err)
        snprintf(msg, msgcap, "cannot encode the %s tile", img_format_ext(p->format));
    return err;
}

static int outside(int z, uint64_t x, uint64_t y, char *msg, size_t msgcap)
{
    snprintf(msg, msgcap, "tile %d/%llu/%llu is outside the data", z, (unsigned long long)x,
             (unsigned long long)y);
    return CT_EOUTSIDE;
}

int tile_render(struct raster *r, int z, uint64_t x, uint64_t y, const struct tile_params *p,
                long long deadline_ms, struct pngbuf *out, char *msg, size_t msgcap)
{
    struct bbox merc, ll;
    struct raster_tile t = { 0 };
    struct color_spec spec;
    uint8_t palette[256][4];
    uint8_t *rgba = NULL;
    const int size = p->size;
    int err;

    memset(out, 0, sizeof *out);
    if ((err = tilemath_bounds(z, x, y, &merc)) || (err = tilemath_bounds_lonlat(z, x, y, &ll)))
        return err;
    if (!raster_intersects(r, &ll))
        return outside(z, x, y, msg, msgcap);
    struct raster_read_opts ro = {
        .resampling = p->resampling,
        .nbands = p->nbands,
        .has_nodata = p->has_nodata,
        .nodata = p->nodata,
        .deadline_ms = deadline_ms,
    };
    memcpy(ro.bands, p->bands, sizeof ro.bands);
    /* Resampling kernels need no padding here: GDAL's warper already reads the
     * source with the kernel's radius around the window, so tiles join without
     * seams (test_handler's seam test); padding would only move sampling
     * points. Hillshade needs real neighbours and reads TILE_PAD more. */
    const int pad = p->algorithm == ALGO_HILLSHADE ? TILE_PAD : 0;
    struct bbox win = merc;
    const double px = (merc.maxx - merc.minx) / size;
    if (p->algorithm != ALGO_NONE) {
        ro.as_double = 1;
        if (!ro.nbands) { /* terrain comes from band 1 unless bidx says otherwise */
            ro.nbands = 1;
            ro.bands[0] = 1;
        }
        win.minx -= pad * px;
        win.maxx += pad * px;
        win.miny -= pad * px;
        win.maxy += pad * px;
    }
    if ((err = raster_read(r, &win, size + 2 * pad, &ro, &t, msg, msgcap)))
        return err;
    if (p->format == IMG_TIFF) { /* the values, not colours (no algorithm: params_check) */
        const struct raster_info *in = raster_get_info(r);
        err = raster_geotiff(r, p->nbands ? p->bands : NULL, &t, &merc,
                             p->has_nodata || in->has_nodata,
                             p->has_nodata ? p->nodata : in->nodata, out, msg, msgcap);
        goto out;
    }
    if (p->algorithm == ALGO_NONE &&
        (err = choose_colors(r, p, t.nbands, &spec, palette, msg, msgcap)))
        goto out;
    /* size <= 4096 (checked by raster_read), so size^2 * 4 fits in size_t. */
    rgba = malloc((size_t)size * (size_t)size * 4);
    if (!rgba) {
        err = CT_ENOMEM;
        goto out;
    }
    if (p->algorithm != ALGO_NONE) {
        /* Slopes in ground metres: a Web Mercator pixel spans cos(latitude)
         * times its projected size (taken at the tile's centre). */
        double lat = (ll.miny + ll.maxy) / 2 * M_PI / 180.0;
        double ground = px * cos(lat);
        if ((err = algo_render(p->algorithm, t.data, t.mask, size, pad, ground, ground, &p->algo,
                               rgba))) {
            err = CT_EINTERNAL; /* params_tile() checked the parameters */
            snprintf(msg, msgcap, "algorithm: bad parameters");
            goto out;
        }
    } else if (colormap_apply(&t, &spec, rgba)) {
        /* the request was valid: the source's values or colour table are not */
        err = CT_EUNSUPPORTED;
        snprintf(msg, msgcap, "cannot colour this raster");
        goto out;
    }
    /* imagery (bands shown as they are) is a photograph: lossy WebP unless asked
     * otherwise; colours from a ramp or a palette stay exact */
    err = encode(rgba, size, p, p->algorithm == ALGO_NONE && spec.mode == COLOR_RGB, out, msg,
                 msgcap);
out:
    free(rgba);
    raster_tile_free(&t);
    return err;
}

int tile_render_derived(const struct derive *d, int z, uint64_t x, uint64_t y,
                        const struct tile_params *p, const uint8_t restricted[4],
                        struct pngbuf *out, char *msg, size_t msgcap)
{
    struct bbox merc, ll;
    const int size = p->size;
    int err;
    memset(out, 0, sizeof *out);
    if ((err = tilemath_bounds(z, x, y, &merc)) || (err = tilemath_bounds_lonlat(z, x, y, &ll)))
        return err;
    if (!derive_intersects(d, &ll))
        return outside(z, x, y, msg, msgcap);
    /* size <= 512 (params_tile), so these products fit. */
    const size_t px = (size_t)size * (size_t)size;
    double *v = malloc(px * sizeof *v);
    uint8_t *state = malloc(px), *rgba = malloc(px * 4);
    if (!v || !state || !rgba) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    if ((err = derive_tile(d, &merc, size, (ll.miny + ll.maxy) / 2, v, state, msg, msgcap)))
        goto out;
    if (p->format == IMG_TIFF) { /* the values: restricted as in statistics, scale_min - 1 */
        for (size_t i = 0; i < px; i++)
            if (state[i] == DERIVE_RESTRICTED)
                v[i] = d->smin - 1;
        struct raster_tile vt = { .size = size, .nbands = 1, .data = v, .mask = state };
        err = raster_geotiff(NULL, NULL, &vt, &merc, 0, 0, out, msg, msgcap);
        goto out;
    }
    /* state as the mask: restricted cells are coloured, then painted over */
    struct raster_tile t = { .size = size, .nbands = 1, .is_byte = 0, .data = v, .mask = state };
    struct color_spec spec = { .mode = COLOR_RAMP, .lut_n = 256 };
    const struct colormap *cm = p->cmap ? p->cmap : colormap_find("gray", 4);
    if (p->has_custom) {
        spec.mode = COLOR_CUSTOM;
        spec.custom = &p->custom;
    } else if (cm) {
        spec.lut = (const uint8_t(*)[4])cm->rgba;
        spec.min = p->rmin[0];
        spec.max = p->rmax[0];
    }
    if (!cm || (!p->has_custom && !p->nrescale) || colormap_apply(&t, &spec, rgba)) {
        err = CT_EINTERNAL;
        snprintf(msg, msgcap, "cannot colour the derived band");
        goto out;
    }
    for (size_t i = 0; i < px; i++)
        if (state[i] == DERIVE_RESTRICTED)
            memcpy(rgba + 4 * i, restricted, 4);
    err = encode(rgba, size, p, 0, out, msg, msgcap);
out:
    free(v);
    free(state);
    free(rgba);
    return err;
}
