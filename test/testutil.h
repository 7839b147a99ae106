/* testutil.h - cmocka and the few helpers the test programs share. */
#ifndef COGTILER_TESTUTIL_H
#define COGTILER_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <png.h>

/* Decodes a PNG in memory to RGBA with libpng (an independent decoder, not
 * our encoder). Returns a malloc'd w*h*4 buffer or NULL; *channels gets the
 * PNG's own channel count (3 = RGB, 4 = RGBA). */
static inline uint8_t *test_decode_png(const void *data, size_t len, int *w, int *h,
                                       int *channels)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, len))
        return NULL;
    if (channels)
        *channels = PNG_IMAGE_SAMPLE_CHANNELS(img.format);
    img.format = PNG_FORMAT_RGBA;
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(img));
    if (!buf || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        png_image_free(&img);
        return NULL;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return buf;
}

#endif
