/* Table-driven tests of route parsing, garbage included (the query values are
 * test_params.c's). */
#include "testutil.h"

#include "err.h"
#include "route.h"

static void test_route_table(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        int want;
        enum route_kind kind;
        const char *layer;
        int z;
        uint64_t x, y;
        int scale;
    } cases[] = {
        { "/", CT_OK, ROUTE_INDEX, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/0/0/0.png", CT_OK, ROUTE_TILE, "demo", 0, 0, 0, 1 },
        { "/tiles/demo/3/7/7@2x.png", CT_OK, ROUTE_TILE, "demo", 3, 7, 7, 2 },
        { "/tiles/a.b-c_d/30/1073741823/1073741823.png", CT_OK, ROUTE_TILE, "a.b-c_d", 30,
          1073741823, 1073741823, 1 },
        { "/tiles/demo/1/2/0.png", CT_ERANGE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/0/0/1.png", CT_ERANGE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/31/0/0.png", CT_ERANGE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/999999999999999/0/0.png", CT_ERANGE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/9999999999999999/0/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/-1/0/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/+1/0/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/a/0/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0x1/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/ 1/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1//0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0.gif", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0.PNG", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0.jpeg", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0.tiff", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0.", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0.png.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0.pngx", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0@3x.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/../1/0/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/a b/1/0/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles//1/0/0.png", CT_EINVAL, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0.png/", CT_ENOROUTE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0/0/0.png", CT_ENOROUTE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/1/0", CT_ENOROUTE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/demo", CT_ENOROUTE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tiles/", CT_ENOROUTE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/tile/demo/0/0/0.png", CT_ENOROUTE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "", CT_ENOROUTE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "//", CT_ENOROUTE, ROUTE_TILE, NULL, 0, 0, 0, 0 },
        { "/static/leaflet.js", CT_OK, ROUTE_STATIC, NULL, 0, 0, 0, 0 },
        { "/static/a/b.js", CT_ENOROUTE, ROUTE_STATIC, NULL, 0, 0, 0, 0 },
        { "/index.html", CT_ENOROUTE, ROUTE_STATIC, NULL, 0, 0, 0, 0 },
        { "/colormaps", CT_OK, ROUTE_COLORMAPS, NULL, 0, 0, 0, 0 },
        { "/colormaps/viridis", CT_OK, ROUTE_COLORMAP, NULL, 0, 0, 0, 0 },
        { "/colormaps/a/b", CT_ENOROUTE, ROUTE_COLORMAP, NULL, 0, 0, 0, 0 },
        { "/colormapsx", CT_ENOROUTE, ROUTE_COLORMAP, NULL, 0, 0, 0, 0 },
        { "/layers", CT_OK, ROUTE_LAYERS, NULL, 0, 0, 0, 0 },
        { "/map/demo", CT_OK, ROUTE_MAP, "demo", 0, 0, 0, 0 },
        { "/map/a.b-c_d", CT_OK, ROUTE_MAP, "a.b-c_d", 0, 0, 0, 0 },
        { "/map/", CT_ENOROUTE, ROUTE_MAP, NULL, 0, 0, 0, 0 },
        { "/map", CT_ENOROUTE, ROUTE_MAP, NULL, 0, 0, 0, 0 },
        { "/map/demo/", CT_ENOROUTE, ROUTE_MAP, NULL, 0, 0, 0, 0 },
        { "/map/demo/x", CT_ENOROUTE, ROUTE_MAP, NULL, 0, 0, 0, 0 },
        { "/map/..", CT_EINVAL, ROUTE_MAP, NULL, 0, 0, 0, 0 },
        { "/map/a<b", CT_EINVAL, ROUTE_MAP, NULL, 0, 0, 0, 0 },
        { "/map/\"x", CT_EINVAL, ROUTE_MAP, NULL, 0, 0, 0, 0 },
        { "/layers/", CT_ENOROUTE, ROUTE_LAYERS, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/info", CT_OK, ROUTE_INFO, "demo", 0, 0, 0, 0 },
        { "/tiles/demo/tilejson.json", CT_OK, ROUTE_TILEJSON, "demo", 0, 0, 0, 0 },
        { "/tiles/demo/point/2.5,-48.75", CT_OK, ROUTE_POINT, "demo", 0, 0, 0, 0 },
        { "/tiles/demo/point/181,0", CT_EINVAL, ROUTE_POINT, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/point/0,91", CT_EINVAL, ROUTE_POINT, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/point/0", CT_EINVAL, ROUTE_POINT, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/point/a,b", CT_EINVAL, ROUTE_POINT, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/point/nan,0", CT_EINVAL, ROUTE_POINT, NULL, 0, 0, 0, 0 },
        { "/tiles/../info", CT_EINVAL, ROUTE_INFO, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/other", CT_ENOROUTE, ROUTE_INFO, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/info/", CT_ENOROUTE, ROUTE_INFO, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/WMTSCapabilities.xml", CT_OK, ROUTE_WMTS, "demo", 0, 0, 0, 0 },
        { "/cog/WMTSCapabilities.xml", CT_OK, ROUTE_WMTS, "cog", 0, 0, 0, 0 },
        { "/tiles/../WMTSCapabilities.xml", CT_EINVAL, ROUTE_WMTS, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/wmtscapabilities.xml", CT_ENOROUTE, ROUTE_WMTS, NULL, 0, 0, 0, 0 },
        { "/tiles/demo/WMTSCapabilities.xml/", CT_ENOROUTE, ROUTE_WMTS, NULL, 0, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct route r;
        int err = route_parse(cases[i].path, strlen(cases[i].path), &r);
        if (err != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].path, err, cases[i].want);
        if (err)
            continue;
        assert_int_equal(r.kind, cases[i].kind);
        if (r.kind == ROUTE_INFO || r.kind == ROUTE_TILEJSON || r.kind == ROUTE_POINT ||
            r.kind == ROUTE_MAP || r.kind == ROUTE_WMTS)
            assert_true(strview_eq(r.layer, cases[i].layer));
        if (r.kind == ROUTE_POINT)
            assert_true(r.lon == 2.5 && r.lat == -48.75);
        if (r.kind == ROUTE_TILE) {
            assert_true(strview_eq(r.layer, cases[i].layer));
            assert_int_equal(r.z, cases[i].z);
            assert_int_equal(r.x, cases[i].x);
            assert_int_equal(r.y, cases[i].y);
            assert_int_equal(r.scale, cases[i].scale);
        }
    }
}

/* The parser reads only the given length: a path followed by garbage in the
 * same buffer parses as the prefix. */
static void test_route_uses_length(void **state)
{
    (void)state;
    const char buf[] = "/tiles/demo/2/1/1.pngGARBAGE";
    struct route r;
    assert_int_equal(route_parse(buf, strlen("/tiles/demo/2/1/1.png"), &r), CT_OK);
    assert_int_equal(r.z, 2);
    /* and every truncation of a valid path fails cleanly */
    const char *p = "/tiles/demo/2/1/1@2x.png";
    for (size_t n = 0; n < strlen(p); n++)
        assert_int_not_equal(route_parse(p, n, &r) == CT_OK && r.kind == ROUTE_TILE, 1);
}

/* The extension names the tile's format, on both tile routes and with @2x. */
static void test_route_formats(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        enum img_format want;
        int scale;
    } cases[] = {
        { "/tiles/demo/1/0/0.png", IMG_PNG, 1 },      { "/tiles/demo/1/0/0.webp", IMG_WEBP, 1 },
        { "/tiles/demo/1/0/0@2x.jpg", IMG_JPEG, 2 },  { "/tiles/demo/1/0/0.tif", IMG_TIFF, 1 },
        { "/cog/tiles/1/0/0@2x.webp", IMG_WEBP, 2 },  { "/cog/tiles/1/0/0.tif", IMG_TIFF, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct route r;
        assert_int_equal(route_parse(cases[i].path, strlen(cases[i].path), &r), CT_OK);
        assert_int_equal(r.kind, ROUTE_TILE);
        if (r.format != cases[i].want || r.scale != cases[i].scale)
            fail_msg("%s: format %d scale %d", cases[i].path, r.format, r.scale);
    }
    assert_string_equal(img_format_mime(IMG_WEBP), "image/webp");
    assert_string_equal(img_format_mime(IMG_JPEG), "image/jpeg");
    assert_string_equal(img_format_mime(IMG_TIFF), "image/tiff");
    assert_string_equal(img_format_ext(IMG_JPEG), "jpg");
}

/* Every route answers GET, HEAD and OPTIONS; a path that is no route has no Allow. */
static void test_allow(void **state)
{
    (void)state;
    assert_null(route_allow(ROUTE_NONE));
    for (int k = ROUTE_INDEX; k <= ROUTE_MAP; k++)
        assert_string_equal(route_allow((enum route_kind)k), "GET, HEAD, OPTIONS");
    assert_string_equal(route_allow(ROUTE_WMTS), "GET, HEAD, OPTIONS");
    struct route r;
    assert_int_equal(route_parse("/nope", 5, &r), CT_ENOROUTE);
    assert_int_equal(r.kind, ROUTE_NONE);
    assert_int_equal(route_parse("/tiles/demo/1/0", 15, &r), CT_ENOROUTE);
    assert_int_equal(r.kind, ROUTE_NONE);
    assert_int_equal(route_parse("/tiles/demo/point/x", 19, &r), CT_EINVAL);
    assert_int_equal(r.kind, ROUTE_POINT);
    assert_int_equal(route_parse("/map/..", 7, &r), CT_EINVAL);
    assert_int_equal(r.kind, ROUTE_MAP);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_table),
        cmocka_unit_test(test_route_uses_length),
        cmocka_unit_test(test_route_formats),
        cmocka_unit_test(test_allow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
