/* PNG encoding, checked by decoding with libpng's own reader. */
#include "testutil.h"

#include "err.h"
#include "pngenc.h"

static void fill(uint8_t *rgba, int w, int h, int with_alpha)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgba + 4 * ((size_t)y * w + x);
            p[0] = (uint8_t)(x * 7);
            p[1] = (uint8_t)(y * 3);
            p[2] = (uint8_t)(x ^ y);
            p[3] = with_alpha && (x + y) % 5 == 0 ? (uint8_t)(x % 3 ? 0 : 77) : 255;
            if (p[3] == 0)
                p[0] = p[1] = p[2] = 0;
        }
}

static void roundtrip(int w, int h, int with_alpha)
{
    uint8_t *rgba = malloc((size_t)w * h * 4);
    assert_non_null(rgba);
    fill(rgba, w, h, with_alpha);
    struct pngbuf b;
    assert_int_equal(pngenc_rgba(rgba, w, h, &b), CT_OK);
    assert_true(b.len > 8);
    assert_memory_equal(b.data, "\x89PNG\r\n\x1a\n", 8);
    int dw, dh, ch;
    uint8_t *dec = test_decode_png(b.data, b.len, &dw, &dh, &ch);
    assert_non_null(dec);
    assert_int_equal(dw, w);
    assert_int_equal(dh, h);
    assert_int_equal(ch, with_alpha ? 4 : 3); /* RGB when fully opaque */
    assert_memory_equal(dec, rgba, (size_t)w * h * 4);
    free(dec);
    pngbuf_free(&b);
    assert_null(b.data);
    free(rgba);
}

static void test_rgb_roundtrip(void **state)
{
    (void)state;
    roundtrip(256, 256, 0);
    roundtrip(512, 512, 0);
    roundtrip(1, 1, 0);
    roundtrip(3, 7, 0);
}

static void test_rgba_roundtrip(void **state)
{
    (void)state;
    roundtrip(256, 256, 1);
    roundtrip(17, 5, 1);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rgb_roundtrip),
        cmocka_unit_test(test_rgba_roundtrip),
        cmocka_unit_test(test_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
