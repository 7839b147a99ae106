#include "imgfmt.h"

#include <string.h>

#include "err.h"

static const struct {
    const char *ext, *mime;
} FORMATS[] = {
    [IMG_PNG] = { "png", "image/png" },
    [IMG_WEBP] = { "webp", "image/webp" },
    [IMG_JPEG] = { "jpg", "image/jpeg" },
    [IMG_TIFF] = { "tif", "image/tiff" },
};

int img_format_parse(const char *p, size_t n, enum img_format *out)
{
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++)
        if (strlen(FORMATS[i].ext) == n && memcmp(FORMATS[i].ext, p, n) == 0) {
            *out = (enum img_format)i;
            return CT_OK;
        }
    return CT_EINVAL;
}

const char *img_format_ext(enum img_format f)
{
    return (unsigned)f < sizeof FORMATS / sizeof FORMATS[0] ? FORMATS[f].ext : "png";
}

const char *img_format_mime(enum img_format f)
{
    return (unsigned)f < sizeof FORMATS / sizeof FORMATS[0] ? FORMATS[f].mime : "image/png";
}
