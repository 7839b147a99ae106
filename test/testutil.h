/* testutil.h - cmocka and the few helpers the test programs share. */
#ifndef COGTILER_TESTUTIL_H
#define COGTILER_TESTUTIL_H

#include <math.h>
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

/* The XYZ tile grid of Web Mercator (EPSG:3857), written again here rather
 * than taken from src/tilemath.c: a test that asks gdalwarp for the window
 * the product computed would follow the product's mistake (a tile shifted by
 * a row would match its own reference). The world is the square of half-width
 * pi * 6378137 m, 2^z tiles a side, x counted from the west, y from the
 * north. */
#define TEST_MERC_ORIGIN 20037508.342789244

struct test_bounds {
    double minx, miny, maxx, maxy;
};

/* EPSG:3857 bounds of tile z/x/y (0 <= z <= 30, x and y < 2^z: the caller's
 * tiles are valid ones). */
static inline struct test_bounds test_tile_bounds(int z, unsigned long long x,
                                                  unsigned long long y)
{
    const double tile = 2.0 * TEST_MERC_ORIGIN / (double)(1ULL << z);
    struct test_bounds b = {
        .minx = -TEST_MERC_ORIGIN + (double)x * tile,
        .maxx = -TEST_MERC_ORIGIN + (double)(x + 1) * tile,
        .maxy = TEST_MERC_ORIGIN - (double)y * tile,
        .miny = TEST_MERC_ORIGIN - (double)(y + 1) * tile,
    };
    return b;
}

/* Latitude in degrees of the northern edge of tile row y at zoom z (the
 * slippy-map formula; row 2^z gives the southern edge of the last row). */
static inline double test_tile_lat(int z, unsigned long long y)
{
    return atan(sinh(M_PI * (1.0 - 2.0 * (double)y / (double)(1ULL << z)))) * 180.0 / M_PI;
}

#endif
