/* testutil.h - cmocka and the few helpers the test programs share. */
#ifndef COGTILER_TESTUTIL_H
#define COGTILER_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

/* The first call of every test program's main. The tests read test/data/...
 * relative to the project's root: from anywhere else they would fail for no
 * reason of theirs, so this stops with status 2 and says so. When
 * COGTILER_TEST_FILTER is set (`make check T=test_params F=test_lexical`), only
 * the cases whose names match it run (cmocka's pattern: * and ?). */
static inline void test_main_init(int argc, char **argv)
{
    const char *self = argc > 0 && argv[0] ? argv[0] : "test";
    if (access("test/data", F_OK) != 0) {
        fprintf(stderr, "%s: run from the project's root (test/data not found)\n", self);
        exit(2);
    }
    const char *filter = getenv("COGTILER_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
}

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
