/* imgenc.h - a tile's RGBA pixels into the bytes of an image format: PNG
 * (pngenc.h), WebP (libwebp, lossless or lossy, with alpha) or JPEG
 * (libjpeg-turbo, opaque). The GeoTIFF tile of raw values is written by the
 * raster module (raster_geotiff), which owns GDAL. */
#ifndef COGTILER_IMGENC_H
#define COGTILER_IMGENC_H

#include <stddef.h>
#include <stdint.h>

#include "imgfmt.h"
#include "pngenc.h"

/* Lossy quality when the request gives none (quality=1..100). */
#define IMG_WEBP_QUALITY 80
#define IMG_JPEG_QUALITY 85
/* JPEG has no alpha: a pixel with alpha < 255 is composited over this (white,
 * as a map's paper is); a fully transparent one becomes it. */
#define IMG_JPEG_BACKGROUND 255

struct img_opts {
    enum img_format format; /* IMG_PNG, IMG_WEBP or IMG_JPEG */
    int lossy;              /* WebP: lossy (else lossless, pixels exact) */
    int quality;            /* WebP lossy and JPEG: 1..100; 0 = the format's default */
};

/* Encodes w x h RGBA pixels (row-major, 4 bytes each; w, h in 1..16383) as
 * o says. 0 and *out (free with pngbuf_free), or CT_ENOMEM / CT_ETOOBIG /
 * CT_EINVAL (a format this cannot encode) / CT_EINTERNAL. */
int imgenc_rgba(const uint8_t *rgba, int w, int h, const struct img_opts *o, struct pngbuf *out);

#endif
