/* imgfmt.h - the tile formats by name: the extension of a tile's path, its
 * Content-Type. Pure (the route parser uses it); the encoders are imgenc.h. */
#ifndef COGTILER_IMGFMT_H
#define COGTILER_IMGFMT_H

#include <stddef.h>

enum img_format { IMG_PNG = 0, IMG_WEBP, IMG_JPEG, IMG_TIFF };

/* The format of a file extension without its dot ("png", "webp", "jpg",
 * "tif"); reads p[0..n). 0 and *out, or CT_EINVAL. */
int img_format_parse(const char *p, size_t n, enum img_format *out);

/* "png", "webp", "jpg", "tif". */
const char *img_format_ext(enum img_format f);

/* The Content-Type: "image/png", "image/webp", "image/jpeg", "image/tiff". */
const char *img_format_mime(enum img_format f);

#endif
