/* The core handler end to end, in process: routes, statuses, JSON errors, and
 * that a failure never stops the next request from being served. */
#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <sys/stat.h>

#include "app.h"
#include "err.h"
#include "handler.h"

static struct app *app;

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
        "{\"default_layer\":\"world\",\"layers\":{"
        "\"world\":{\"source\":\"rasterio/world.rgb.tif\"},"
        "\"dem\":{\"source\":\"titiler/dem.tif\",\"colormap\":\"viridis\"},"
        "\"byte\":{\"source\":\"rasterio/byte.tif\"},"
        "\"nogeo\":{\"source\":\"rasterio/float.tif\"},"
        "\"gcps\":{\"source\":\"rio-tiler/cog_gcps.tif\"},"
        "\"europa\":{\"source\":\"rio-tiler/cog_nonearth.tif\"},"
        "\"missing\":{\"source\":\"nope/missing.tif\"},"
        "\"truncated\":{\"source\":\"../out/truncated.tif\"},"
        "\"garbage\":{\"source\":\"../out/not-a-raster.tif\"}}}";
    struct config c;
    char msg[256];
    if (config_parse(json, "test/data", &c, msg, sizeof msg) != CT_OK)
        return -1;
    return app_create(&c, &app) == CT_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    app_destroy(app);
    return 0;
}

static void get(const char *method, const char *path, const struct kv *q, size_t nq,
                struct response *r)
{
    struct request req = { method, path, q, nq, NULL, 0, 0 };
    handler_handle(app, &req, r);
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
    assert_non_null(strstr(html, "static/leaflet.js"));
    assert_non_null(strstr(html, "\"world\""));
    assert_null(strstr(html, "__DEFAULT_LAYER__"));
    assert_null(strstr(html, "://")); /* nothing loaded from elsewhere */
    free(html);
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
    expect_error("/tiles/world/1/0/0.webp", NULL, 0, 400, "malformed");
    expect_error("/tiles/world/1/-1/0.png", NULL, 0, 400, NULL);
    struct kv q1[] = { { "colormap_name", "nope" } };
    expect_error("/tiles/world/0/0/0.png", q1, 1, 400, "colormap_name");
    struct kv q2[] = { { "rescale", "5,1" } };
    expect_error("/tiles/world/0/0/0.png", q2, 1, 400, "rescale");
    struct kv q3[] = { { "rescale", "abc" } };
    expect_error("/tiles/world/0/0/0.png", q3, 1, 400, "rescale");
    struct kv q4[] = { { "tilesize", "300" } };
    expect_error("/tiles/world/0/0/0.png", q4, 1, 400, "tilesize");
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
    } cases[] = {
        { "nogeo", "no coordinate reference system" }, { "gcps", "geotransform" }, { "europa", "Earth" },
        { "missing", "cannot open" },  { "garbage", "cannot open" },
    };
    char path[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "/tiles/%s/0/0/0.png", cases[i].layer);
        expect_error(path, NULL, 0, 500, cases[i].needle);
        expect_png("/tiles/world/0/0/0.png", NULL, 0, 256); /* the next request works */
    }
    /* truncated: opens (header intact), fails on reading full-resolution blocks;
     * the small overviews come first in a COG and still render */
    expect_error("/tiles/truncated/10/350/198.png", NULL, 0, 500, NULL);
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
        struct request req = { "GET", "/tiles/world/1/0/0.png", NULL, 0, h, 1, 0 };
        struct response c;
        handler_handle(app, &req, &c);
        if (c.status != 304)
            fail_msg("If-None-Match: %s gave %d", inm, c.status);
        assert_int_equal(c.len, 0);
        assert_string_equal(c.etag, r.etag);
        response_free(&c);
    }
    struct kv h[] = { { "If-None-Match", "\"0000000000000000\"" } };
    struct request req = { "GET", "/tiles/world/1/0/0.png", NULL, 0, h, 1, 0 };
    struct response c;
    handler_handle(app, &req, &c);
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

static void test_deadline(void **state)
{
    (void)state;
    /* already past: 504 before any read */
    struct request req = { "GET", "/tiles/world/2/1/1.png", NULL, 0, NULL, 0, 1000 };
    struct response r;
    handler_handle(app, &req, &r);
    assert_int_equal(r.status, 504);
    assert_string_equal(r.cache_control, "no-store");
    response_free(&r);
    /* far in the future: served */
    req.deadline_ms = 4102444800000LL; /* 2100-01-01 */
    handler_handle(app, &req, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_tiles),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_bad_sources_then_good),
        cmocka_unit_test(test_etag_and_conditional_get),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_colormap_endpoints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
