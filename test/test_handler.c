/* The core handler end to end, in process: routes, statuses, JSON errors, and
 * that a failure never stops the next request from being served. */
#include "testutil.h"
#include "testapp.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "app.h"
#include "err.h"
#include "handler.h"
#include "tile.h"
#include <gdal.h>


/* A copy of a real COG cut short, and a file that is not a raster at all. */
static void make_broken_files(void)
{
    mkdir("test/out", 0755);
    FILE *in = fopen("test/data/rio-tiler/cog.tif", "rb");
    FILE *out = fopen("test/out/truncated.tif", "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, in); /* header and IFDs, no tile data */
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    /* five bands in UTM (the warp path), from the UInt16 COG */
    assert_int_equal(system("gdal_translate -q -b 1 -b 1 -b 1 -b 1 -b 1 "
                            "test/data/rio-tiler/cog.tif test/out/five.tif"),
                     0);
    /* no georeferencing at all; two GCPs; three collinear GCPs */
    assert_int_equal(system("rm -f test/out/nogeoref.tif && gdal_create -q -of GTiff -outsize "
                            "16 16 -bands 1 test/out/nogeoref.tif && gdal_translate -q "
                            "-a_srs EPSG:4326 -gcp 0 0 10 10 -gcp 16 0 11 10 "
                            "test/out/nogeoref.tif test/out/twogcps.tif && gdal_translate -q "
                            "-a_srs EPSG:4326 -gcp 0 0 10 10 -gcp 8 8 10.5 10.5 -gcp 16 16 11 "
                            "11 test/out/nogeoref.tif test/out/colgcps.tif"),
                     0);
    /* hostile GCPs: latitudes of +-1000 degrees; longitudes of +-1e7; a NaN */
    assert_int_equal(system("gdal_translate -q -a_srs EPSG:4326 -gcp 0 0 10 1000 -gcp 16 0 11 "
                            "1000 -gcp 0 16 10 -1000 test/out/nogeoref.tif test/out/badlat.tif "
                            "&& gdal_translate -q -a_srs EPSG:4326 -gcp 0 0 -1e7 80 -gcp 16 0 "
                            "1e7 80 -gcp 0 16 -1e7 -80 -gcp 16 16 1e7 -80 test/out/nogeoref.tif "
                            "test/out/widegcps.tif && gdal_translate -q -a_srs EPSG:4326 -gcp 0 "
                            "0 nan 1 -gcp 16 0 2 1 -gcp 0 16 1 2 test/out/nogeoref.tif "
                            "test/out/nangcps.tif"),
                     0);
    out = fopen("test/out/not-a-raster.tif", "wb");
    assert_non_null(out);
    fputs("this is not a TIFF\n", out);
    fclose(out);
}

static int setup(void **state)
{
    (void)state;
    make_broken_files();
    const char *json =
        "{\"default_layer\":\"world\",\"origin_secret\":\"s3cr3t-origin\",\"layers\":{"
        "\"world\":{\"source\":\"rasterio/world.rgb.tif\",\"attribution\":\"rasterio tests\"},"
        "\"dem\":{\"source\":\"titiler/dem.tif\",\"colormap\":\"viridis\"},"
        "\"byte\":{\"source\":\"rasterio/byte.tif\"},"
        "\"cmap\":{\"source\":\"rio-tiler/cog_cmap.tif\"},"
        "\"five\":{\"source\":\"../out/five.tif\"},"
        "\"rgba\":{\"source\":\"rasterio/RGBA.byte.tif\"},"
        "\"nogeo\":{\"source\":\"rasterio/float.tif\"},"
        "\"gcps\":{\"source\":\"rio-tiler/cog_gcps.tif\"},"
        "\"nogeoref\":{\"source\":\"../out/nogeoref.tif\"},"
        "\"twogcps\":{\"source\":\"../out/twogcps.tif\"},"
        "\"colgcps\":{\"source\":\"../out/colgcps.tif\"},"
        "\"badlat\":{\"source\":\"../out/badlat.tif\"},"
        "\"widegcps\":{\"source\":\"../out/widegcps.tif\"},"
        "\"nangcps\":{\"source\":\"../out/nangcps.tif\"},"
        "\"europa\":{\"source\":\"rio-tiler/cog_nonearth.tif\"},"
        "\"missing\":{\"source\":\"nope/missing.tif\"},"
        "\"truncated\":{\"source\":\"../out/truncated.tif\"},"
        "\"garbage\":{\"source\":\"../out/not-a-raster.tif\"}}}";
    return test_app_open(json, "test/data");
}

static void get(const char *method, const char *path, const struct kv *q, size_t nq,
                struct response *r)
{
    struct request req = { .method = method, .path = path, .query = q, .nquery = nq,
                           .headers = NULL, .nheaders = 0, .deadline_ms = 0, .base_path = NULL };
    handler_handle(worker, &req, r);
}

/* Asserts a JSON error with that status, whose "detail" contains needle. */
static void expect_error(const char *path, const struct kv *q, size_t nq, int status,
                         const char *needle)
{
    struct response r;
    get("GET", path, q, nq, &r);
    if (r.status != status)
        fail_msg("%s: status %d, want %d (%.*s)", path, r.status, status, (int)r.len, r.body);
    assert_string_equal(r.content_type, "application/json");
    char *text = strndup((const char *)r.body, r.len);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "detail");
    assert_true(cJSON_IsString(d));
    if (needle && !strstr(d->valuestring, needle) && !strstr(r.detail, needle))
        fail_msg("%s: detail \"%s\" / \"%s\" lacks \"%s\"", path, d->valuestring, r.detail,
                 needle);
    if (status >= 500)
        assert_string_equal(r.cache_control, "no-store");
    cJSON_Delete(j);
    free(text);
    response_free(&r);
}

static void expect_png(const char *path, const struct kv *q, size_t nq, int size)
{
    struct response r;
    get("GET", path, q, nq, &r);
    if (r.status != 200)
        fail_msg("%s: status %d (%.*s)", path, r.status, (int)r.len, r.body);
    assert_string_equal(r.content_type, "image/png");
    int w, h, ch;
    uint8_t *px = test_decode_png(r.body, r.len, &w, &h, &ch);
    assert_non_null(px);
    assert_int_equal(w, size);
    assert_int_equal(h, size);
    free(px);
    response_free(&r);
}

static void test_pages(void **state)
{
    (void)state;
    struct response r;
    get("GET", "/", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    char *html = strndup((const char *)r.body, r.len);
    assert_non_null(strstr(html, "src=\"./static/leaflet.js\""));
    assert_non_null(strstr(html, "data-layer=\"world\""));
    assert_null(strstr(html, "{{")); /* every placeholder filled */
    assert_null(strstr(html, "://")); /* nothing loaded from elsewhere */
    free(html);
    response_free(&r);
    /* /map/LAYER: the same page on that layer, assets one level up */
    get("GET", "/map/dem", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    html = strndup((const char *)r.body, r.len);
    assert_non_null(strstr(html, "src=\"../static/viewer.js\""));
    assert_non_null(strstr(html, "data-layer=\"dem\""));
    assert_non_null(strstr(html, "data-root=\"../\""));
    assert_null(strstr(html, "{{"));
    free(html);
    response_free(&r);
    expect_error("/map/nosuch", NULL, 0, 404, "unknown layer");
    expect_error("/map/a%3Cb", NULL, 0, 400, "layer names");
    expect_error("/map/a<b", NULL, 0, 400, "layer names");
    expect_error("/map/dem/x", NULL, 0, 404, NULL);
    get("GET", "/static/viewer.js", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/javascript");
    response_free(&r);
    get("GET", "/static/leaflet.js", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.len > 100000);
    response_free(&r);
    get("HEAD", "/static/leaflet.css", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
    expect_error("/static/nope.js", NULL, 0, 404, NULL);
    expect_error("/static/index.html", NULL, 0, 404, NULL);
}

static void test_tiles(void **state)
{
    (void)state;
    expect_png("/tiles/world/0/0/0.png", NULL, 0, 256);
    expect_png("/tiles/world/1/1/0@2x.png", NULL, 0, 512);
    struct kv q512[] = { { "tilesize", "512" } };
    expect_png("/tiles/world/2/1/1.png", q512, 1, 512);
    struct kv qstyle[] = { { "colormap_name", "gray" }, { "rescale", "1000,3000" } };
    expect_png("/tiles/dem/14/8514/5833.png", qstyle, 2, 256);
    expect_png("/tiles/dem/14/8514/5833.png", NULL, 0, 256); /* layer colormap, stats range */
}

static void test_bad_requests(void **state)
{
    (void)state;
    expect_error("/tiles/world/a/0/0.png", NULL, 0, 400, "malformed");
    expect_error("/tiles/world/1/2/0.png", NULL, 0, 400, "out of range");
    expect_error("/tiles/world/31/0/0.png", NULL, 0, 400, "out of range");
    expect_error("/tiles/world/1/0/0.gif", NULL, 0, 400, "malformed");
    expect_error("/tiles/world/1/-1/0.png", NULL, 0, 400, NULL);
    struct kv q1[] = { { "colormap_name", "nope" } };
    expect_error("/tiles/world/0/0/0.png", q1, 1, 400, "colormap_name");
    struct kv q2[] = { { "rescale", "5,1" } };
    expect_error("/tiles/world/0/0/0.png", q2, 1, 400, "rescale");
    struct kv q3[] = { { "rescale", "abc" } };
    expect_error("/tiles/world/0/0/0.png", q3, 1, 400, "rescale");
    struct kv q4[] = { { "tilesize", "300" } };
    expect_error("/tiles/world/0/0/0.png", q4, 1, 400, "tilesize");
    static const char *const bad_quality[] = { "0", "101", "8.5", "", "-1", "80x" };
    for (size_t i = 0; i < sizeof bad_quality / sizeof bad_quality[0]; i++) {
        struct kv q[] = { { "quality", bad_quality[i] } };
        expect_error("/tiles/world/0/0/0.webp", q, 1, 400, "quality");
    }
    struct kv hs[] = { { "algorithm", "hillshade" } };
    expect_error("/tiles/dem/14/8514/5833.tif", hs, 1, 400, "algorithm");
    struct kv tf[] = { { "tile_format", "gif" } };
    expect_error("/tiles/world/tilejson.json", tf, 1, 400, "tile_format");
    expect_error("/tiles/nosuch/0/0/0.png", NULL, 0, 404, "unknown layer");
    expect_error("/nowhere", NULL, 0, 404, NULL);
    expect_error("/tiles/world/0/0", NULL, 0, 404, NULL);
    /* byte.tif covers a few hundred metres in California: Europe is outside */
    expect_error("/tiles/byte/10/540/347.png", NULL, 0, 404, "outside");
    struct response r;
    get("POST", "/tiles/world/0/0/0.png", NULL, 0, &r);
    assert_int_equal(r.status, 405);
    response_free(&r);
}

static void test_bad_sources_then_good(void **state)
{
    (void)state;
    static const struct {
        const char *layer, *needle;
        int status;
    } cases[] = {
        { "nogeo", "no coordinate reference system", 500 },
        { "nogeoref", "neither a geotransform nor GCPs", 500 },
        { "twogcps", "2 GCPs define no transformation", 500 },
        { "colgcps", "3 GCPs define no transformation", 500 },
        { "badlat", "3 GCPs define no transformation", 500 },
        { "widegcps", "4 GCPs define no transformation", 500 },
        { "nangcps", "3 GCPs define no transformation", 500 },
        { "europa", "Earth", 500 },
        { "missing", "cannot open", 502 }, /* an upstream fault, not ours */
        { "garbage", "cannot open", 502 },
    };
    char path[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "/tiles/%s/0/0/0.png", cases[i].layer);
        expect_error(path, NULL, 0, cases[i].status, cases[i].needle);
        expect_png("/tiles/world/0/0/0.png", NULL, 0, 256); /* the next request works */
    }
    /* truncated: opens (header intact), fails on reading full-resolution blocks;
     * the small overviews come first in a COG and still render */
    expect_error("/tiles/truncated/10/350/198.png", NULL, 0, 502, NULL);
    expect_png("/tiles/truncated/0/0/0.png", NULL, 0, 256);
    expect_png("/tiles/world/0/0/0.png", NULL, 0, 256);
}

static void test_etag_and_conditional_get(void **state)
{
    (void)state;
    struct response r, r2;
    get("GET", "/tiles/world/1/0/0.png", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_true(strlen(r.etag) > 2 && r.etag[0] == '"' && r.etag[strlen(r.etag) - 1] == '"');
    assert_string_equal(r.cors_origin, "*");
    assert_string_equal(r.cache_control, "public, max-age=86400");
    /* another tile, another validator */
    get("GET", "/tiles/world/1/1/0.png", NULL, 0, &r2);
    assert_string_not_equal(r.etag, r2.etag);
    response_free(&r2);

    static const char *const matching[] = { NULL, "\"x\", %s", "W/%s", "*" };
    for (size_t i = 0; i < sizeof matching / sizeof matching[0]; i++) {
        char inm[128];
        snprintf(inm, sizeof inm, matching[i] ? matching[i] : "%s", r.etag);
        struct kv h[] = { { "if-none-match", inm } };
        struct request req = { .method = "GET", .path = "/tiles/world/1/0/0.png", .query = NULL,
                               .nquery = 0, .headers = h, .nheaders = 1, .deadline_ms = 0,
                               .base_path = NULL };
        struct response c;
        handler_handle(worker, &req, &c);
        if (c.status != 304)
            fail_msg("If-None-Match: %s gave %d", inm, c.status);
        assert_int_equal(c.len, 0);
        assert_string_equal(c.etag, r.etag);
        response_free(&c);
    }
    struct kv h[] = { { "If-None-Match", "\"0000000000000000\"" } };
    struct request req = { .method = "GET", .path = "/tiles/world/1/0/0.png", .query = NULL,
                           .nquery = 0, .headers = h, .nheaders = 1, .deadline_ms = 0,
                           .base_path = NULL };
    struct response c;
    handler_handle(worker, &req, &c);
    assert_int_equal(c.status, 200);
    assert_int_equal(c.len, r.len);
    response_free(&c);
    response_free(&r);

    /* the header list every transport sends */
    get("GET", "/tiles/world/0/0/0.png", NULL, 0, &r);
    struct kv hs[RESPONSE_MAX_HEADERS];
    size_t n = response_headers(&r, hs);
    assert_int_equal(n, 4);
    assert_string_equal(hs[0].key, "Content-Type");
    assert_string_equal(hs[2].key, "ETag");
    response_free(&r);
    get("GET", "/tiles/world/9/0/0.png?", NULL, 0, &r); /* error: no ETag */
    assert_int_equal(response_headers(&r, hs), 3);
    assert_string_equal(r.cors_origin, "*");
    response_free(&r);
}

static void test_colormap_endpoints(void **state)
{
    (void)state;
    struct response r;
    get("GET", "/colormaps", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    cJSON *j = cJSON_ParseWithLength((const char *)r.body, r.len);
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(j, "colormaps");
    assert_true(cJSON_GetArraySize(names) >= 44);
    int found = 0;
    const cJSON *n;
    cJSON_ArrayForEach(n, names) found += cJSON_IsString(n) && !strcmp(n->valuestring, "rdylgn_r");
    assert_int_equal(found, 1);
    cJSON_Delete(j);
    response_free(&r);

    get("GET", "/colormaps/viridis", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    j = cJSON_ParseWithLength((const char *)r.body, r.len);
    assert_int_equal(cJSON_GetArraySize(j), 256);
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(j, "255");
    assert_int_equal(cJSON_GetArraySize(last), 4);
    assert_int_equal(cJSON_GetArrayItem(last, 0)->valueint, 0xfd); /* #fde725 */
    assert_int_equal(cJSON_GetArrayItem(last, 1)->valueint, 0xe7);
    assert_int_equal(cJSON_GetArrayItem(last, 2)->valueint, 0x25);
    assert_int_equal(cJSON_GetArrayItem(last, 3)->valueint, 255);
    cJSON_Delete(j);
    response_free(&r);
    expect_error("/colormaps/nope", NULL, 0, 404, "unknown colormap");
}

/* Reads band b of a GeoTIFF written by a GDAL tool, as doubles. */
static double *read_tif(const char *path, int band, int n)
{
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    assert_non_null(ds);
    double *v = malloc(sizeof(double) * (size_t)n * (size_t)n);
    assert_non_null(v);
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, band), GF_Read, 0, 0, n, n, v, n, n,
                                  GDT_Float64, 0, 0),
                     CE_None);
    GDALClose(ds);
    return v;
}

/* Renders z/x/y at size px with query q and returns decoded RGBA (or fails). */
static uint8_t *render(const char *layer, int z, int x, int y, struct kv *q, size_t nq, int size)
{
    char path[128];
    snprintf(path, sizeof path, "/tiles/%s/%d/%d/%d.png", layer, z, x, y);
    struct response r;
    get("GET", path, q, nq, &r);
    if (r.status != 200)
        fail_msg("%s: %d %s", path, r.status, r.detail);
    int w = 0, h = 0;
    uint8_t *px = test_decode_png(r.body, r.len, &w, &h, NULL);
    assert_non_null(px);
    assert_int_equal(w, size);
    response_free(&r);
    return px;
}

/* No seams: a 2x2 block of tiles at z+1 against one 512 px tile of the same
 * area at z (the same pixel grid): the pixels along the block's inner edges
 * must match as closely as the interior does. */
static void check_seams(const char *layer, int z, int x, int y, const char *resampling)
{
    /* "hillshade" stands for algorithm=hillshade (bilinear by default) */
    int hs = strcmp(resampling, "hillshade") == 0;
    struct kv q[2] = { { hs ? "algorithm" : "resampling", resampling }, { "tilesize", "512" } };
    uint8_t *big = render(layer, z, x, y, q, 2, 512);
    double edge = 0, inner = 0;
    long nedge = 0, ninner = 0;
    for (int ty = 0; ty < 2; ty++)
        for (int tx = 0; tx < 2; tx++) {
            uint8_t *t = render(layer, z + 1, 2 * x + tx, 2 * y + ty, q, 1, 256);
            for (int j = 0; j < 256; j++)
                for (int i = 0; i < 256; i++) {
                    int X = tx * 256 + i, Y = ty * 256 + j;
                    const uint8_t *a = t + 4 * (j * 256 + i), *b = big + 4 * (Y * 512 + X);
                    double d = 0;
                    for (int c = 0; c < 4; c++)
                        d += abs(a[c] - b[c]);
                    /* within 2 px of the inner seams, away from the outer border */
                    int near_seam = fabs(X - 255.5) < 2.5 || fabs(Y - 255.5) < 2.5;
                    if (near_seam) {
                        edge += d;
                        nedge++;
                    } else {
                        inner += d;
                        ninner++;
                    }
                }
            free(t);
        }
    free(big);
    edge /= (double)nedge;
    inner /= (double)ninner;
    printf("  seams %s %d/%d/%d %s: mean |diff| at inner edges %.4f, interior %.4f\n", layer, z,
           x, y, resampling, edge, inner);
    if (edge > inner + 0.05)
        fail_msg("%s %s: seams (edge %.4f vs interior %.4f)", layer, resampling, edge, inner);
}

static void test_no_seams(void **state)
{
    (void)state;
    check_seams("world", 1, 1, 0, "bilinear");
    check_seams("world", 2, 2, 1, "cubic");
    check_seams("world", 1, 0, 0, "average");
    check_seams("dem", 16, 34059, 23335, "bilinear");
    check_seams("dem", 16, 34059, 23335, "hillshade");
    /* placed by GCPs: tiles inside the scene, and one over its edge */
    check_seams("gcps", 9, 365, 241, "bilinear");
    check_seams("gcps", 9, 365, 242, "cubic");
    check_seams("gcps", 8, 182, 120, "near");
    check_seams("gcps", 8, 182, 120, "average");
    check_seams("gcps", 12, 2924, 1931, "near");
}

static void test_rendering_options(void **state)
{
    (void)state;
    /* bidx: one band as grey, three reordered */
    struct kv q1[] = { { "bidx", "1" } };
    uint8_t *grey = render("world", 1, 1, 0, q1, 1, 256);
    uint8_t *rgb = render("world", 1, 1, 0, NULL, 0, 256);
    struct kv q3[] = { { "bidx", "3,2,1" } };
    uint8_t *bgr = render("world", 1, 1, 0, q3, 1, 256);
    for (int i = 0; i < 256 * 256; i++) {
        assert_int_equal(grey[4 * i], rgb[4 * i]);          /* band 1 as grey */
        assert_int_equal(grey[4 * i + 1], rgb[4 * i]);
        assert_int_equal(bgr[4 * i], rgb[4 * i + 2]);       /* swapped */
        assert_int_equal(bgr[4 * i + 2], rgb[4 * i]);
    }
    free(grey);
    free(rgb);
    free(bgr);
    struct kv bad[][1] = {
        { { "bidx", "4" } },        { { "bidx", "0" } },         { { "bidx", "1,2" } },
        { { "bidx", "1,2,3,4" } },  { { "bidx", "a" } },         { { "nodata", "x" } },
        { { "nodata", "" } },       { { "resampling", "lanczos2" } },
    };
    static const char *const needles[] = { "bidx", "bidx", "bidx", "bidx", "bidx",
                                           "nodata", "nodata", "resampling" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error("/tiles/world/1/1/0.png", bad[i], 1, 400, needles[i]);
    struct kv r2[] = { { "rescale", "0,100" }, { "rescale", "0,200" } };
    expect_error("/tiles/world/1/1/0.png", r2, 2, 400, "rescale");
    expect_error("/tiles/dem/14/8514/5833.png", r2, 2, 400, "rescale");
    struct kv r4[] = { { "rescale", "0,1" }, { "rescale", "0,1" }, { "rescale", "0,1" },
                       { "rescale", "0,1" } };
    expect_error("/tiles/world/1/1/0.png", r4, 4, 400, "rescale");
    /* per-band rescale of Byte RGB: stretching band 1 only to 0..127 brightens red */
    struct kv r3[] = { { "rescale", "0,127" }, { "rescale", "0,255" }, { "rescale", "0,255" } };
    uint8_t *base = render("world", 1, 1, 0, NULL, 0, 256);
    uint8_t *red = render("world", 1, 1, 0, r3, 3, 256);
    for (int i = 0; i < 256 * 256; i++) {
        int want = base[4 * i] >= 127 ? 255 : (int)floor(base[4 * i] * 255.0 / 127.0 + 0.5);
        assert_int_equal(red[4 * i], want);
        assert_int_equal(red[4 * i + 1], base[4 * i + 1]);
    }
    free(base);
    free(red);
    struct kv nd[] = { { "nodata", "nan" } };
    expect_png("/tiles/dem/14/8514/5833.png", nd, 1, 256);
}

/* colormap= (TiTiler's custom colormaps) on real data: every pixel of the DEM
 * tile falls in one of two intervals split at 1650 m (the tile spans 1619-1755 m), which the nearest read
 * of the same window by gdalwarp decides independently. */
static void test_custom_colormaps(void **state)
{
    (void)state;
    const int z = 16, x = 34060, y = 23335;
    const struct test_bounds b = test_tile_bounds(z, x, y); /* not src/'s */
    char cmd[768];
    snprintf(cmd, sizeof cmd,
             "gdalwarp -q -overwrite -t_srs EPSG:3857 -te %.17g %.17g %.17g %.17g -ts 256 256 "
             "-r near test/data/titiler/dem.tif test/out/custom_ref.tif 2>/dev/null",
             b.minx, b.miny, b.maxx, b.maxy);
    assert_int_equal(system(cmd), 0);
    double *h = read_tif("test/out/custom_ref.tif", 1, 256);
    struct kv q[] = { { "colormap", "[[[0,1650],[0,0,255]],[[1650,9000],[255,0,0,200]]]" } };
    uint8_t *px = render("dem", z, x, y, q, 1, 256);
    int low = 0, high = 0;
    for (int i = 0; i < 256 * 256; i++) {
        const uint8_t *p = px + 4 * i;
        if (h[i] < 1650) {
            low++;
            assert_true(p[0] == 0 && p[1] == 0 && p[2] == 255 && p[3] == 255);
        } else {
            high++;
            assert_true(p[0] == 255 && p[1] == 0 && p[2] == 0 && p[3] == 200);
        }
    }
    printf("  custom intervals: %d px below 1650 m, %d above\n", low, high);
    assert_true(low > 0 && high > 0); /* the split runs through this tile */
    free(px);
    free(h);

    /* discrete on a paletted (categorical) raster: one class coloured, others clear */
    struct kv qd[] = { { "colormap", "{\"1\": [10, 20, 30]}" } };
    expect_png("/tiles/cmap/17/36624/49695.png", qd, 1, 256);

    static const char *const bad[] = {
        "{", "[]", "{\"a\": [1,2,3]}", "{\"1\": [1,2]}", "{\"1\": [1,2,300]}",
        "[[[5,1],[1,2,3]]]", "[[[0,2],[1,2,3]],[[1,3],[1,2,3]]]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct kv qb[] = { { "colormap", bad[i] } };
        expect_error("/tiles/dem/16/34060/23335.png", qb, 1, 400, "colormap");
    }
    /* 257 entries */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "{");
    for (int i = 0; i < 257; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"%d\":[1,2,3]", i ? "," : "", i);
    snprintf(big + n, sizeof big - n, "}");
    struct kv qbig[] = { { "colormap", big } };
    expect_error("/tiles/dem/16/34060/23335.png", qbig, 1, 400, "colormap");
    struct kv both[] = { { "colormap", "{\"1\": [1,2,3]}" }, { "colormap_name", "viridis" } };
    expect_error("/tiles/dem/16/34060/23335.png", both, 2, 400, "colormap");
}

/* Terrain end to end, against GDAL's own tools on the same window: gdalwarp
 * for the elevations (decoded back from Terrain-RGB / Terrarium), gdaldem
 * hillshade for the shading. The tile is z16/34060/23335, inside dem.tif. */
static void test_terrain(void **state)
{
    (void)state;
    const int z = 16, x = 34060, y = 23335;
    const struct test_bounds b = test_tile_bounds(z, x, y); /* not src/'s */
    double px = (b.maxx - b.minx) / 256;
    char cmd[1024];
    /* Elevations at the tile's pixels, nearest, as cogtiler reads them. */
    snprintf(cmd, sizeof cmd,
             "gdalwarp -q -overwrite -t_srs EPSG:3857 -te %.17g %.17g %.17g %.17g -ts 256 256 "
             "-r near test/data/titiler/dem.tif test/out/terrain_ref.tif 2>/dev/null",
             b.minx, b.miny, b.maxx, b.maxy);
    assert_int_equal(system(cmd), 0);
    double *h = read_tif("test/out/terrain_ref.tif", 1, 256);
    struct kv qr[] = { { "algorithm", "terrainrgb" } };
    struct kv qt[] = { { "algorithm", "terrarium" } };
    uint8_t *rgb = render("dem", z, x, y, qr, 1, 256);
    uint8_t *ter = render("dem", z, x, y, qt, 1, 256);
    double worst_rgb = 0, worst_ter = 0;
    for (int i = 0; i < 256 * 256; i++) {
        const uint8_t *p = rgb + 4 * i, *q = ter + 4 * i;
        assert_int_equal(p[3], 255);
        double hr = -10000 + (p[0] * 65536.0 + p[1] * 256.0 + p[2]) * 0.1;
        double ht = (q[0] * 256.0 + q[1] + q[2] / 256.0) - 32768;
        worst_rgb = fmax(worst_rgb, fabs(hr - h[i]));
        worst_ter = fmax(worst_ter, fabs(ht - h[i]));
    }
    printf("  terrainrgb worst |decoded - gdalwarp| %.4f m, terrarium %.4f m\n", worst_rgb,
           worst_ter);
    assert_true(worst_rgb <= 0.05 + 1e-9);
    assert_true(worst_ter <= 1.0 / 256 + 1e-9);
    free(h);
    free(rgb);
    free(ter);

    /* Hillshade: the tile plus TILE_PAD pixels, bilinear (the default for
     * terrain), shaded by gdaldem with the ground scale cos(latitude). */
    const int pad = TILE_PAD, n = 256 + 2 * pad;
    double s = cos((test_tile_lat(z, y) + test_tile_lat(z, y + 1)) / 2 * M_PI / 180);
    snprintf(cmd, sizeof cmd,
             "gdalwarp -q -overwrite -t_srs EPSG:3857 -te %.17g %.17g %.17g %.17g -ts %d %d "
             "-r bilinear test/data/titiler/dem.tif test/out/hs_win.tif 2>/dev/null && "
             "gdaldem hillshade -q -s %.17g -az 200 -alt 30 -z 2 test/out/hs_win.tif "
             "test/out/hs_ref.tif",
             b.minx - pad * px, b.miny - pad * px, b.maxx + pad * px, b.maxy + pad * px, n, n, s);
    assert_int_equal(system(cmd), 0);
    double *ref = read_tif("test/out/hs_ref.tif", 1, n);
    struct kv qh[] = { { "algorithm", "hillshade" },
                       { "algorithm_params",
                         "{\"azimuth\":200,\"angle_altitude\":30,\"z_factor\":2}" } };
    uint8_t *hs = render("dem", z, x, y, qh, 2, 256);
    int same = 0, close = 0;
    for (int j = 0; j < 256; j++)
        for (int i = 0; i < 256; i++) {
            int got = hs[4 * (j * 256 + i)], want = (int)ref[(j + pad) * n + i + pad];
            same += got == want;
            close += abs(got - want) <= 1;
        }
    printf("  hillshade vs gdaldem: %.3f%% identical, %.3f%% within 1\n", same * 100.0 / 65536,
           close * 100.0 / 65536);
    assert_true(same >= 65536 * 0.99);
    assert_int_equal(close, 65536);
    free(ref);
    free(hs);

    struct kv bad1[] = { { "algorithm", "slope" } };
    expect_error("/tiles/dem/16/34060/23335.png", bad1, 1, 400, "algorithm");
    struct kv bad2[] = { { "algorithm", "hillshade" }, { "algorithm_params", "{\"azimuth\":" } };
    expect_error("/tiles/dem/16/34060/23335.png", bad2, 2, 400, "algorithm_params");
    struct kv bad3[] = { { "algorithm", "hillshade" },
                         { "algorithm_params", "{\"angle_altitude\":95}" } };
    expect_error("/tiles/dem/16/34060/23335.png", bad3, 2, 400, "algorithm_params");
    struct kv bad4[] = { { "algorithm_params", "{}" } };
    expect_error("/tiles/dem/16/34060/23335.png", bad4, 1, 400, "algorithm_params");
    struct kv bad5[] = { { "algorithm", "hillshade" }, { "bidx", "1,1,1" } };
    expect_error("/tiles/world/1/1/0.png", bad5, 2, 400, "algorithm");
}

/* Band selection and nodata on sources with many bands or an alpha band. */
static void test_bands_and_masks(void **state)
{
    (void)state;
    struct kv n0[] = { { "nodata", "0" } };
    expect_png("/tiles/five/9/175/99.png", n0, 1, 256);
    struct kv n0b[] = { { "nodata", "0" }, { "resampling", "bilinear" } };
    expect_png("/tiles/five/9/175/99.png", n0b, 2, 256);
    struct kv hs[] = { { "algorithm", "hillshade" } };
    expect_png("/tiles/five/9/175/99.png", hs, 1, 256);
    struct kv b5[] = { { "bidx", "5" }, { "nodata", "0" } };
    expect_png("/tiles/five/9/175/99.png", b5, 2, 256);
    struct kv b6[] = { { "bidx", "6" } };
    expect_error("/tiles/five/9/175/99.png", b6, 1, 400, "bidx");

    /* an alpha band keeps masking when bands are picked (warp path: UTM) */
    struct kv sel[] = { { "bidx", "1,2,3" } };
    uint8_t *all = render("rgba", 8, 71, 110, NULL, 0, 256);
    uint8_t *picked = render("rgba", 8, 71, 110, sel, 1, 256);
    int clear_all = 0, clear_picked = 0;
    for (int i = 0; i < 256 * 256; i++) {
        clear_all += all[4 * i + 3] == 0;
        clear_picked += picked[4 * i + 3] == 0;
    }
    assert_true(clear_all > 1000);
    assert_int_equal(clear_picked, clear_all);
    assert_memory_equal(all, picked, 256 * 256 * 4);
    /* the alpha band itself as data (bidx=4): grey, its own value where it is
     * not 0 (masked by itself), was a 502 (the warper took it for the alpha) */
    struct kv a4[] = { { "bidx", "4" } };
    uint8_t *alpha = render("rgba", 8, 71, 110, a4, 1, 256);
    struct kv a412[] = { { "bidx", "4,1,2" } };
    uint8_t *mixed = render("rgba", 8, 71, 110, a412, 1, 256);
    for (int i = 0; i < 256 * 256; i++) {
        assert_int_equal(alpha[4 * i + 3], all[4 * i + 3]);
        assert_int_equal(mixed[4 * i + 3], all[4 * i + 3]);
        if (all[4 * i + 3]) {
            assert_int_equal(alpha[4 * i], all[4 * i + 3]);
            assert_int_equal(alpha[4 * i + 1], all[4 * i + 3]);
            assert_int_equal(mixed[4 * i], all[4 * i + 3]);
            assert_int_equal(mixed[4 * i + 1], all[4 * i]);
            assert_int_equal(mixed[4 * i + 2], all[4 * i + 1]);
        }
    }
    free(alpha);
    free(mixed);
    free(all);
    free(picked);
}

static cJSON *get_json(const char *path, const struct kv *h, size_t nh, int want)
{
    struct request req = { .method = "GET", .path = path, .query = NULL, .nquery = 0, .headers = h,
                           .nheaders = nh, .deadline_ms = 0, .base_path = NULL };
    struct response r;
    handler_handle(worker, &req, &r);
    if (r.status != want)
        fail_msg("%s: %d, want %d (%.*s)", path, r.status, want, (int)r.len, r.body);
    cJSON *j = cJSON_ParseWithLength((const char *)r.body, r.len);
    assert_non_null(j);
    response_free(&r);
    return j;
}

/* Layer metadata, compared with what GDAL itself reports of the fixtures. */
static void test_metadata(void **state)
{
    (void)state;
    cJSON *j = get_json("/tiles/dem/info", NULL, 0, 200);
    assert_int_equal(cJSON_GetObjectItem(j, "width")->valueint, 400);
    assert_int_equal(cJSON_GetObjectItem(j, "height")->valueint, 400);
    assert_string_equal(cJSON_GetObjectItem(j, "dtype")->valuestring, "Float32");
    assert_string_equal(cJSON_GetObjectItem(j, "crs")->valuestring, "EPSG:2056");
    assert_true(cJSON_GetObjectItem(j, "nodata")->valuedouble == -9999);
    const cJSON *b = cJSON_GetObjectItem(j, "bounds");
    /* gdalinfo -json wgs84Extent: lon 7.091..7.104, lat 45.916..45.925 */
    assert_true(fabs(cJSON_GetArrayItem(b, 0)->valuedouble - 7.091) < 0.002);
    assert_true(fabs(cJSON_GetArrayItem(b, 3)->valuedouble - 45.925) < 0.002);
    /* 2.5 m pixels at lat 45.9 are 3.59 Web Mercator metres: z15 tiles have 4.78 m
     * pixels, z16 2.39 m, so z16 is the first zoom as fine as the data */
    assert_int_equal(cJSON_GetObjectItem(j, "maxzoom")->valueint, 16);
    assert_string_equal(cJSON_GetObjectItem(j, "colormap")->valuestring, "viridis");
    cJSON_Delete(j);

    j = get_json("/tiles/world/info", NULL, 0, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "overviews")), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "nodata")));
    assert_int_equal(cJSON_GetObjectItem(j, "minzoom")->valueint, 0);
    cJSON_Delete(j);

    j = get_json("/layers", NULL, 0, 200);
    const cJSON *layers = cJSON_GetObjectItem(j, "layers"), *it;
    int found = 0, broken = 0;
    cJSON_ArrayForEach(it, layers)
    {
        found += !strcmp(cJSON_GetObjectItem(it, "name")->valuestring, "dem");
        broken += cJSON_GetObjectItem(it, "error") != NULL;
    }
    assert_int_equal(found, 1);
    assert_true(broken >= 3); /* nogeo, missing, garbage... are listed with a reason */
    assert_string_equal(cJSON_GetObjectItem(j, "default")->valuestring, "world");
    cJSON_Delete(j);

    /* TileJSON: absolute URL from Host, X-Forwarded-Proto; the query carried */
    struct kv h[] = { { "Host", "tiles.example" }, { "X-Forwarded-Proto", "https" } };
    struct kv q[] = { { "colormap_name", "magma" }, { "rescale", "0,3000" } };
    struct request req = { .method = "GET", .path = "/tiles/dem/tilejson.json", .query = q,
                           .nquery = 2, .headers = h, .nheaders = 2, .deadline_ms = 0,
                           .base_path = "/prod" };
    struct response r;
    handler_handle(worker, &req, &r);
    assert_int_equal(r.status, 200);
    j = cJSON_ParseWithLength((const char *)r.body, r.len);
    response_free(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "tilejson")->valuestring, "3.0.0");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tiles"), 0)->valuestring,
                        "https://tiles.example/prod/tiles/dem/{z}/{x}/{y}.png"
                        "?colormap_name=magma&rescale=0%2C3000");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "center")), 3);
    cJSON_Delete(j);
    /* Behind the distribution (template.yaml): X-Forwarded-Host, which its
     * CloudFront Function copies from the viewer's Host, is trusted only with
     * the origin secret; then the URL is https://that-host with no API stage. */
    static const struct {
        const char *secret, *fwd;
        int status;
        const char *want;
    } cf[] = {
        { "s3cr3t-origin", "d111.cloudfront.net", 200, "https://d111.cloudfront.net/tiles/dem/" },
        { "s3cr3t-origin", "tiles.example.org:8443", 200, "https://tiles.example.org:8443/tiles/" },
        { "s3cr3t-origiN", "d111.cloudfront.net", 200, "https://tiles.example/prod/tiles/dem/" },
        { "s3cr3t-origin-", "d111.cloudfront.net", 200, "https://tiles.example/prod/tiles/dem/" },
        { "s3cr3t", "d111.cloudfront.net", 200, "https://tiles.example/prod/tiles/dem/" },
        { NULL, "d111.cloudfront.net", 200, "https://tiles.example/prod/tiles/dem/" },
        { "s3cr3t-origin", "evil.test/x", 400, NULL },
    };
    for (size_t i = 0; i < sizeof cf / sizeof cf[0]; i++) {
        struct kv hh[] = { { "Host", "tiles.example" }, { "X-Forwarded-Proto", "https" },
                           { "X-Forwarded-Host", cf[i].fwd },
                           { "X-Cogtiler-Origin-Secret", cf[i].secret } };
        struct request rq = { .method = "GET", .path = "/tiles/dem/tilejson.json",
                              .headers = hh, .nheaders = cf[i].secret ? 4 : 3,
                              .base_path = "/prod" };
        handler_handle(worker, &rq, &r);
        if (r.status != cf[i].status)
            fail_msg("forwarded host %s with secret %s: status %d", cf[i].fwd,
                     cf[i].secret ? cf[i].secret : "(none)", r.status);
        if (cf[i].want) {
            j = cJSON_ParseWithLength((const char *)r.body, r.len);
            const char *u = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tiles"), 0)->valuestring;
            if (strncmp(u, cf[i].want, strlen(cf[i].want)) != 0)
                fail_msg("forwarded host %s with secret %s: %s", cf[i].fwd,
                         cf[i].secret ? cf[i].secret : "(none)", u);
            cJSON_Delete(j);
        }
        response_free(&r);
    }
    cJSON_Delete(get_json("/tiles/nosuch/tilejson.json", NULL, 0, 404));
    j = get_json("/tiles/world/tilejson.json", NULL, 0, 200);
    assert_string_equal(cJSON_GetObjectItem(j, "attribution")->valuestring, "rasterio tests");
    assert_int_equal(cJSON_GetObjectItem(j, "bands")->valueint, 3);
    cJSON_Delete(j);
    /* a source that cannot be opened: 502 saying why (GDAL's reason), without
     * the file's path */
    j = get_json("/tiles/missing/tilejson.json", NULL, 0, 502);
    const char *why = cJSON_GetObjectItem(j, "detail")->valuestring;
    if (!strstr(why, "cannot open source") || !strstr(why, "No such file") ||
        strstr(why, "test/data"))
        fail_msg("502 detail: %s", why);
    cJSON_Delete(j);

    /* point: the value GDAL reads at the same place (gdallocationinfo -wgs84) */
    FILE *p = popen("gdallocationinfo -valonly -wgs84 test/data/titiler/dem.tif 7.0975 45.9205",
                    "r");
    assert_non_null(p);
    double want = NAN;
    assert_int_equal(fscanf(p, "%lf", &want), 1);
    pclose(p);
    j = get_json("/tiles/dem/point/7.0975,45.9205", NULL, 0, 200);
    const cJSON *vals = cJSON_GetObjectItem(j, "values");
    assert_int_equal(cJSON_GetArraySize(vals), 1);
    assert_true(fabs(cJSON_GetArrayItem(vals, 0)->valuedouble - want) < 1e-3);
    cJSON_Delete(j);
    cJSON_Delete(get_json("/tiles/dem/point/0,0", NULL, 0, 404));
    cJSON_Delete(get_json("/tiles/dem/point/0,95", NULL, 0, 400));
    cJSON_Delete(get_json("/tiles/dem/point/x,1", NULL, 0, 400));
}

static void test_deadline(void **state)
{
    (void)state;
    /* already past: 504 before any read */
    struct request req = { .method = "GET", .path = "/tiles/world/2/1/1.png", .query = NULL,
                           .nquery = 0, .headers = NULL, .nheaders = 0, .deadline_ms = 1000,
                           .base_path = NULL };
    struct response r;
    handler_handle(worker, &req, &r);
    assert_int_equal(r.status, 504);
    assert_string_equal(r.cache_control, "no-store");
    response_free(&r);
    /* far in the future: served */
    req.deadline_ms = 4102444800000LL; /* 2100-01-01 */
    handler_handle(worker, &req, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_tiles),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_bad_sources_then_good),
        cmocka_unit_test(test_etag_and_conditional_get),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_no_seams),
        cmocka_unit_test(test_rendering_options),
        cmocka_unit_test(test_terrain),
        cmocka_unit_test(test_custom_colormaps),
        cmocka_unit_test(test_bands_and_masks),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_colormap_endpoints),
    };
    return cmocka_run_group_tests(tests, setup, test_app_close);
}
