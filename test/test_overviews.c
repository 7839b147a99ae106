/* A low-zoom tile must read an overview, never full resolution. The proof is
 * by construction: a raster whose pixels are all 10 gets the external overviews
 * (.ovr) of a raster of the same shape whose pixels are all 200. A tile that
 * shows 200 was read from an overview, one that shows 10 from full resolution.
 * Done for both read paths: EPSG:3857 (direct read) and EPSG:4326 (warp). */
#include "testutil.h"
#include "testapp.h"

#include <stdio.h>
#include <sys/stat.h>

#include "app.h"
#include "err.h"
#include "handler.h"


/* Same shape as z6/32/20, 4096 px: native zoom z10, overviews 2..16x. */
#define EXT_3857 "0 7514065.628545966 626172.1357121654 6887893.4928338025"
#define EXT_4326 "0 55.77657301866769 5.625 52.48278022207822"

static int make(const char *name, const char *srs, const char *ullr)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "set -e; d=test/out/ovr; rm -f $d/%1$s.tif $d/%1$s.tif.ovr $d/%1$s_b.tif*; "
             "gdal_create -q -of GTiff -outsize 4096 4096 -bands 1 -ot Byte -burn 10 "
             "-a_srs %2$s -a_ullr %3$s $d/%1$s.tif; "
             "gdal_create -q -of GTiff -outsize 4096 4096 -bands 1 -ot Byte -burn 200 "
             "-a_srs %2$s -a_ullr %3$s $d/%1$s_b.tif; "
             "gdaladdo -q -ro -r nearest $d/%1$s_b.tif 2 4 8 16; "
             "mv $d/%1$s_b.tif.ovr $d/%1$s.tif.ovr",
             name, srs, ullr);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    mkdir("test/out", 0755);
    mkdir("test/out/ovr", 0755);
    if (make("merc", "EPSG:3857", EXT_3857) || make("geo", "EPSG:4326", EXT_4326))
        return -1;
    const char *json = "{\"layers\":{\"merc\":{\"source\":\"merc.tif\"},"
                       "\"geo\":{\"source\":\"geo.tif\"}}}";
    return test_app_open(json, "test/out/ovr");
}

/* The grey level at the tile's centre pixel. */
static int centre_value(const char *path)
{
    struct request req = { .method = "GET", .path = path, .query = NULL, .nquery = 0,
                           .headers = NULL, .nheaders = 0, .deadline_ms = 0, .base_path = NULL };
    struct response r;
    handler_handle(worker, &req, &r);
    if (r.status != 200)
        fail_msg("%s: status %d", path, r.status);
    int w = 0, h = 0;
    uint8_t *px = test_decode_png(r.body, r.len, &w, &h, NULL);
    assert_non_null(px);
    const uint8_t *c = px + 4 * ((size_t)(h / 2) * w + w / 2);
    assert_int_equal(c[3], 255);
    int v = c[0];
    free(px);
    response_free(&r);
    return v;
}

static void check_layer(const char *layer)
{
    static const struct {
        const char *zxy;
        int want;
    } cases[] = {
        { "6/32/20", 200 },     /* 16x: an overview */
        { "7/65/40", 200 },     /* 8x */
        { "8/130/81", 200 },    /* 4x */
        { "10/520/327", 10 },   /* native: full resolution */
        { "12/2080/1311", 10 }, /* over-zoom */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/tiles/%s/%s.png", layer, cases[i].zxy);
        int v = centre_value(path);
        if (v != cases[i].want)
            fail_msg("%s: value %d, want %d (%s)", path, v, cases[i].want,
                     cases[i].want == 200 ? "read full resolution instead of an overview"
                                          : "read an overview at native zoom");
    }
}

static void test_direct_path_reads_overviews(void **state)
{
    (void)state;
    check_layer("merc");
}

static void test_warp_path_reads_overviews(void **state)
{
    (void)state;
    check_layer("geo");
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_path_reads_overviews),
        cmocka_unit_test(test_warp_path_reads_overviews),
    };
    return cmocka_run_group_tests(tests, setup, test_app_close);
}
