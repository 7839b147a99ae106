/* PNG encoding, checked by decoding with libpng's own reader. */
#include "testutil.h"

#include "err.h"
#include "handler.h"
#include "pngenc.h"
#include "testapp.h"

/* Test images: each kind of content the encoder distinguishes. */
enum pattern { P_PHOTO, P_PHOTO_ALPHA, P_GREY, P_GREY_ALPHA_MANY, P_NCOLORS, P_NCOLORS_ALPHA };

static void fill(uint8_t *rgba, int w, int h, enum pattern pat, int ncolors)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgba + 4 * ((size_t)y * w + x);
            int i = y * w + x;
            switch (pat) {
            case P_PHOTO: /* > 256 colours */
            case P_PHOTO_ALPHA:
                p[0] = (uint8_t)(x * 7);
                p[1] = (uint8_t)(y * 3);
                p[2] = (uint8_t)(x ^ y);
                p[3] = pat == P_PHOTO_ALPHA && (x + y) % 5 == 0 ? (uint8_t)(x % 3 ? 0 : 77) : 255;
                break;
            case P_GREY:
                p[0] = p[1] = p[2] = (uint8_t)(x + y);
                p[3] = 255;
                break;
            case P_GREY_ALPHA_MANY: /* > 256 (grey, alpha) pairs */
                p[0] = p[1] = p[2] = (uint8_t)x;
                p[3] = (uint8_t)(y * 5 + 1);
                break;
            case P_NCOLORS: /* exactly ncolors distinct colours, opaque */
            case P_NCOLORS_ALPHA: {
                int c = (i * 7919) % ncolors;
                p[0] = (uint8_t)(c * 37);
                p[1] = (uint8_t)(c * 11 + 3);
                p[2] = (uint8_t)(c / 2);
                /* translucent, never 0: clear pixels would merge into one colour */
                p[3] = pat == P_NCOLORS_ALPHA && c % 3 == 0 ? (uint8_t)(c % 2 ? 128 : 1) : 255;
                break;
            }
            }
            if (p[3] == 0)
                p[0] = p[1] = p[2] = 0;
        }
}

/* The IHDR's bit depth and colour type, read from the bytes (offsets 24, 25). */
static void ihdr(const struct pngbuf *b, int *depth, int *type)
{
    assert_true(b->len > 26);
    assert_memory_equal(b->data + 12, "IHDR", 4);
    *depth = b->data[24];
    *type = b->data[25];
}

/* Encodes rgba, checks the colour type and bit depth and that libpng
 * decodes the very pixels; returns the PNG's bytes. */
static size_t check_encode(const uint8_t *rgba, int w, int h, const char *what, int want_type,
                           int want_depth)
{
    struct pngbuf b;
    assert_int_equal(pngenc_rgba(rgba, w, h, &b), CT_OK);
    assert_memory_equal(b.data, "\x89PNG\r\n\x1a\n", 8);
    int depth, type;
    ihdr(&b, &depth, &type);
    if (type != want_type || depth != want_depth)
        fail_msg("%s %dx%d: colour type %d depth %d, want %d/%d", what, w, h, type, depth,
                 want_type, want_depth);
    int dw, dh;
    uint8_t *dec = test_decode_png(b.data, b.len, &dw, &dh, NULL);
    assert_non_null(dec);
    assert_int_equal(dw, w);
    assert_int_equal(dh, h);
    if (memcmp(dec, rgba, (size_t)w * h * 4) != 0)
        fail_msg("%s %dx%d: decoded pixels differ", what, w, h);
    free(dec);
    size_t len = b.len;
    pngbuf_free(&b);
    assert_null(b.data);
    return len;
}

static void roundtrip(int w, int h, enum pattern pat, int ncolors, int want_type, int want_depth)
{
    uint8_t *rgba = malloc((size_t)w * h * 4);
    assert_non_null(rgba);
    fill(rgba, w, h, pat, ncolors);
    char what[64];
    snprintf(what, sizeof what, "pattern %d (%d colours)", pat, ncolors);
    check_encode(rgba, w, h, what, want_type, want_depth);
    free(rgba);
}

/* PNG colour types: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
static void test_layouts(void **state)
{
    (void)state;
    roundtrip(256, 256, P_PHOTO, 0, 2, 8);
    roundtrip(512, 512, P_PHOTO, 0, 2, 8);
    roundtrip(256, 256, P_PHOTO_ALPHA, 0, 6, 8);
    roundtrip(17, 5, P_PHOTO_ALPHA, 0, 3, 8); /* 85 pixels: at most 85 colours */
    roundtrip(256, 256, P_GREY, 0, 0, 8);
    roundtrip(256, 256, P_GREY_ALPHA_MANY, 0, 4, 8);
    roundtrip(1, 1, P_NCOLORS, 1, 3, 1); /* one colour: a 1-bit palette */
    roundtrip(1, 1, P_GREY, 0, 0, 1);    /* one black pixel: 1-bit grey */
    roundtrip(2, 1, P_GREY, 0, 0, 8);
    /* widths around the filters' 8-byte steps, every layout */
    /* every width modulo 8 (the vector Paeth's step) and its scalar tail;
     * 300 rows and two columns or more: > 256 colours */
    for (int w = 2; w <= 23; w += 3) {
        roundtrip(w, 300, P_PHOTO, 0, 2, 8);
        roundtrip(w, 300, P_PHOTO_ALPHA, 0, 6, 8);
        roundtrip(w, 300, P_GREY, 0, 0, 8);
        roundtrip(w, 300, P_GREY_ALPHA_MANY, 0, 4, 8);
    }
}

/* A tile of one colour is the smallest PNG it can be: 1-bit, rows of zeros
 * (about 100 bytes at 256 px; 334 bytes as a plain RGBA PNG, 393-440 from
 * the encoder before). */
static void test_single_colour(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t rgba[4];
        int type;
        size_t max256, max512;
    } cases[] = {
        { "empty", { 0, 0, 0, 0 }, 0, 102, 125 }, /* 1-bit grey + tRNS */
        { "black", { 0, 0, 0, 255 }, 0, 88, 111 },
        { "white", { 255, 255, 255, 255 }, 3, 103, 126 }, /* a 1-bit palette */
        { "grey", { 7, 7, 7, 255 }, 3, 103, 126 },
        { "colour", { 10, 20, 30, 255 }, 3, 103, 126 },
        { "translucent", { 10, 20, 30, 128 }, 3, 116, 139 },
        { "clear white", { 255, 255, 255, 0 }, 3, 116, 139 },
    };
    uint8_t *rgba = malloc(512 * 512 * 4);
    assert_non_null(rgba);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int size = 256; size <= 512; size *= 2) {
            for (int i = 0; i < size * size; i++)
                memcpy(rgba + 4 * i, cases[c].rgba, 4);
            size_t len = check_encode(rgba, size, size, cases[c].what, cases[c].type, 1);
            size_t max = size == 256 ? cases[c].max256 : cases[c].max512;
            if (len > max)
                fail_msg("%s %d px: %zu bytes, want <= %zu", cases[c].what, size, len, max);
        }
    free(rgba);
}

static void test_palettes(void **state)
{
    (void)state;
    static const struct {
        int n, depth;
    } cases[] = { { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 4 }, { 16, 4 }, { 17, 8 }, { 255, 8 },
                  { 256, 8 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        roundtrip(256, 256, P_NCOLORS, cases[i].n, 3, cases[i].depth);
        roundtrip(256, 256, P_NCOLORS_ALPHA, cases[i].n, 3, cases[i].depth);
        roundtrip(7, 3, P_NCOLORS, cases[i].n < 21 ? cases[i].n : 21,
                  3, cases[i].n < 21 ? cases[i].depth : 8); /* odd widths pack too */
    }
    roundtrip(256, 256, P_NCOLORS, 257, 2, 8);       /* one colour too many */
    roundtrip(256, 256, P_NCOLORS_ALPHA, 257, 6, 8);
}

static void test_bad_sizes(void **state)
{
    (void)state;
    uint8_t px[4] = { 0 };
    struct pngbuf b;
    assert_int_equal(pngenc_rgba(px, 0, 1, &b), CT_ETOOBIG);
    assert_int_equal(pngenc_rgba(px, 1, -1, &b), CT_ETOOBIG);
    assert_int_equal(pngenc_rgba(px, 70000, 1, &b), CT_ETOOBIG);
    pngbuf_free(NULL);
}

static void count_bytes(png_structp png, png_bytep data, png_size_t n)
{
    (void)data;
    *(size_t *)png_get_io_ptr(png) += n;
}

static void no_flush(png_structp png)
{
    (void)png;
}

/* The bytes of a plain 8-bit RGBA PNG at zlib level 6 with libpng's default
 * filters (what rio-tiler/TiTiler write; bench_tiles' RGBA-6 column). */
static size_t rgba6_bytes(const uint8_t *rgba, int w, int h)
{
    size_t total = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed");
    png_set_write_fn(png, &total, count_bytes, no_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGBA,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(rgba + (size_t)y * (size_t)w * 4));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return total;
}

/* Paletted tiles of a real colormap (the bench's DEM: viridis over 1600-2020 m)
 * at most half the bytes of a plain RGBA PNG, the median of the DEM's
 * well-covered tiles (35 % at z15, 100 % at z17): 0.40-0.58 measured, 0.58-0.96
 * before the palette was chain-ordered and filtered. */
static void test_dem_palette_bytes(void **state)
{
    (void)state;
    static const char *const tiles[] = { "/tiles/dem/15/17029/11667.png",
                                         "/tiles/dem/15/17029/11668.png",
                                         "/tiles/dem/17/68119/46672.png" };
    double ratio[3];
    for (int t = 0; t < 3; t++) {
        struct request req = { .method = "GET", .path = tiles[t], .query = NULL, .nquery = 0,
                               .headers = NULL, .nheaders = 0, .deadline_ms = 0,
                               .base_path = NULL };
        struct response r;
        handler_handle(worker, &req, &r);
        if (r.status != 200)
            fail_msg("%s: status %d", tiles[t], r.status);
        int w = 0, h = 0, depth, type;
        ihdr(&(struct pngbuf){ .data = (unsigned char *)r.body, .len = r.len }, &depth, &type);
        assert_int_equal(type, 3);
        uint8_t *rgba = test_decode_png(r.body, r.len, &w, &h, NULL);
        assert_non_null(rgba);
        ratio[t] = (double)r.len / (double)rgba6_bytes(rgba, w, h);
        print_message("%s: %zu bytes, %.3f of RGBA-6\n", tiles[t], r.len, ratio[t]);
        if (ratio[t] > 0.65)
            fail_msg("%s: %.3f of a level-6 RGBA PNG, want <= 0.65", tiles[t], ratio[t]);
        free(rgba);
        response_free(&r);
    }
    double lo = fmin(ratio[0], fmin(ratio[1], ratio[2]));
    double hi = fmax(ratio[0], fmax(ratio[1], ratio[2]));
    double median = ratio[0] + ratio[1] + ratio[2] - lo - hi;
    if (median > 0.5)
        fail_msg("median %.3f of a level-6 RGBA PNG, want <= 0.5", median);
}

static int setup_dem(void **state)
{
    (void)state;
    return test_app_open("{\"layers\":{\"dem\":{\"source\":\"titiler/dem.tif\","
                         "\"colormap\":\"viridis\",\"rescale\":[1600,2020]}}}",
                         "test/data");
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_palettes),
        cmocka_unit_test(test_single_colour),
        cmocka_unit_test(test_bad_sizes),
        cmocka_unit_test_setup_teardown(test_dem_palette_bytes, setup_dem, test_app_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
