/* PNG encoding, checked by decoding with libpng's own reader. */
#include "testutil.h"

#include "err.h"
#include "pngenc.h"

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

static void roundtrip(int w, int h, enum pattern pat, int ncolors, int want_type, int want_depth)
{
    uint8_t *rgba = malloc((size_t)w * h * 4);
    assert_non_null(rgba);
    fill(rgba, w, h, pat, ncolors);
    struct pngbuf b;
    assert_int_equal(pngenc_rgba(rgba, w, h, &b), CT_OK);
    assert_memory_equal(b.data, "\x89PNG\r\n\x1a\n", 8);
    int depth, type;
    ihdr(&b, &depth, &type);
    if (type != want_type || depth != want_depth)
        fail_msg("%dx%d pattern %d (%d colours): colour type %d depth %d, want %d/%d", w, h, pat,
                 ncolors, type, depth, want_type, want_depth);
    int dw, dh;
    uint8_t *dec = test_decode_png(b.data, b.len, &dw, &dh, NULL);
    assert_non_null(dec);
    assert_int_equal(dw, w);
    assert_int_equal(dh, h);
    assert_memory_equal(dec, rgba, (size_t)w * h * 4); /* lossless, whatever the type */
    free(dec);
    pngbuf_free(&b);
    assert_null(b.data);
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
    roundtrip(1, 1, P_GREY, 0, 0, 8);
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

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_palettes),
        cmocka_unit_test(test_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
