/* The statistics route in process (POST /statistics/{layer}): statuses, the
 * answer's shape, the coverage rules against each other, limits, and that
 * the chunk budget changes nothing. Numbers against independent references
 * are test/test_zonal.sh's (gdal_rasterize + numpy). */
#include "testutil.h"
#include "testapp.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>

#include "handler.h"
#include "zonal.h"

/* A square of about 0.02 degree inside cog_cmap.tif (EPSG:3857, nodata 0). */
#define SQUARE "{\"type\":\"Polygon\",\"coordinates\":[[[-79.42,39.83],[-79.40,39.83],[-79.40,39.85]," \
               "[-79.42,39.85],[-79.42,39.83]]]}"
#define OUTSIDE "{\"type\":\"Polygon\",\"coordinates\":[[[10,10],[11,10],[11,11],[10,11],[10,10]]]}"

static int setup(void **state)
{
    (void)state;
    return test_app_open("{\"layers\":{\"cmap\":{\"source\":\"rio-tiler/cog_cmap.tif\"},"
                         "\"dem\":{\"source\":\"titiler/dem.tif\"},"
                         "\"world\":{\"source\":\"mapserver/temperatures.tif\"}},"
                         "\"max_cells\":5000000}",
                         "test/data");
}

/* POSTs body to path?query with content type ct; the answer in *r. */
static void post(const char *path, const char *query_key, const char *query_value,
                 const char *ct, const char *body, struct response *r)
{
    struct kv q[1] = { { query_key, query_value } };
    struct kv h[1] = { { "Content-Type", ct } };
    struct request req = { .method = "POST", .path = path, .query = q,
                           .nquery = query_key ? 1 : 0, .headers = h, .nheaders = ct ? 1 : 0,
                           .body = (const unsigned char *)body, .body_len = body ? strlen(body) : 0 };
    handler_handle(worker, &req, r);
}

/* The answer's statistics of feature i, band b1 (the answer parsed into *root). */
static cJSON *band1(const struct response *r, int i, cJSON **root)
{
    *root = cJSON_ParseWithLength((const char *)r->body, r->len);
    assert_non_null(*root);
    cJSON *f = *root;
    if (cJSON_GetObjectItem(f, "features"))
        f = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "features"), i);
    cJSON *b = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(f, "properties"), "statistics"), "b1");
    assert_non_null(b);
    return b;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void expect_status(const char *what, const struct response *r, int status,
                          const char *needle)
{
    if (r->status != status || (needle && !strstr(r->detail, needle)))
        fail_msg("%s: %d (%s), want %d with \"%s\"", what, r->status, r->detail, status,
                 needle ? needle : "");
}

static void test_statuses(void **state)
{
    (void)state;
    struct response r;
    post("/statistics/cmap", NULL, NULL, "application/geo+json", SQUARE, &r);
    expect_status("a polygon", &r, 200, NULL);
    assert_string_equal(r.content_type, "application/json");
    response_free(&r);
    post("/statistics/cmap", NULL, NULL, "application/json; charset=utf-8", SQUARE, &r);
    expect_status("application/json with a charset", &r, 200, NULL);
    response_free(&r);
    post("/statistics/cmap", NULL, NULL, "text/plain", SQUARE, &r);
    expect_status("text/plain", &r, 415, "Content-Type");
    response_free(&r);
    post("/statistics/cmap", NULL, NULL, NULL, SQUARE, &r);
    expect_status("no Content-Type", &r, 415, NULL);
    response_free(&r);
    post("/statistics/cmap", NULL, NULL, "application/json", NULL, &r);
    expect_status("no body", &r, 400, "GeoJSON");
    response_free(&r);
    post("/statistics/cmap", NULL, NULL, "application/json", "{\"type\":\"Point\"}", &r);
    expect_status("a point", &r, 400, "type: Point");
    response_free(&r);
    post("/statistics/nope", NULL, NULL, "application/json", SQUARE, &r);
    expect_status("unknown layer", &r, 404, "unknown layer");
    response_free(&r);
    post("/statistics/cmap", "coverage", "bogus", "application/json", SQUARE, &r);
    expect_status("coverage=bogus", &r, 400, "coverage");
    response_free(&r);
    post("/statistics/cmap", "bidx", "2", "application/json", SQUARE, &r);
    expect_status("bidx=2 of a one-band source", &r, 400, "band 2 does not exist");
    response_free(&r);
    post("/statistics/cmap", NULL, NULL, "application/json", OUTSIDE, &r);
    expect_status("a polygon outside the data", &r, 404, "outside");
    response_free(&r);
    post("/cog/statistics", NULL, NULL, "application/json", SQUARE, &r);
    expect_status("/cog/statistics without url=", &r, 400, "url");
    response_free(&r);
    struct request get = { .method = "GET", .path = "/statistics/cmap" };
    handler_handle(worker, &get, &r);
    expect_status("GET", &r, 405, NULL);
    assert_string_equal(r.allow, "POST, OPTIONS");
    response_free(&r);
    /* and the next request is served */
    post("/statistics/cmap", NULL, NULL, "application/geo+json", SQUARE, &r);
    expect_status("after the errors", &r, 200, NULL);
    response_free(&r);
}

static void test_collection(void **state)
{
    (void)state;
    const char *fc = "{\"type\":\"FeatureCollection\",\"features\":["
                     "{\"type\":\"Feature\",\"id\":1,\"properties\":{\"n\":\"in\"},\"geometry\":" SQUARE "},"
                     "{\"type\":\"Feature\",\"id\":2,\"properties\":{\"n\":\"out\"},\"geometry\":" OUTSIDE "}]}";
    struct response r;
    post("/statistics/cmap", "categorical", "true", "application/json", fc, &r);
    expect_status("a collection with a feature outside", &r, 200, NULL);
    cJSON *root, *b = band1(&r, 0, &root);
    double count = num(b, "count");
    assert_true(count > 1000 && count == floor(count));
    assert_true(num(b, "valid_pixels") == count);
    assert_true(num(b, "min") >= 1 && num(b, "max") <= 12);
    cJSON *cats = cJSON_GetObjectItem(b, "categories");
    double sum = 0, fsum = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, cats)
    {
        sum += num(c, "count");
        fsum += num(c, "fraction");
    }
    assert_true(sum == count && fabs(fsum - 1) < 1e-12);
    cJSON_Delete(root);
    b = band1(&r, 1, &root); /* the one outside: count 0, nulls */
    assert_true(num(b, "count") == 0 && cJSON_IsNull(cJSON_GetObjectItem(b, "mean")) &&
                cJSON_IsNull(cJSON_GetObjectItem(b, "median")));
    cJSON_Delete(root);
    response_free(&r);
}

/* exact >= all_touched... no: center and exact count close, all_touched the most. */
static void test_coverage_rules(void **state)
{
    (void)state;
    static const char *const modes[] = { "center", "all_touched", "exact" };
    double counts[3], means[3];
    for (int i = 0; i < 3; i++) {
        struct response r;
        post("/statistics/dem", "coverage", modes[i], "application/json",
             "{\"type\":\"Polygon\",\"coordinates\":[[[7.092,45.922],[7.1,45.921],[7.098,45.927],"
             "[7.092,45.922]]]}",
             &r);
        expect_status(modes[i], &r, 200, NULL);
        cJSON *root, *b = band1(&r, 0, &root);
        counts[i] = num(b, "count") + num(b, "masked_pixels");
        means[i] = num(b, "mean");
        cJSON_Delete(root);
        response_free(&r);
    }
    /* all_touched adds the boundary cells; exact weighs them by their share, and
     * over a triangle of some hundred cells lands within the boundary of center */
    assert_true(counts[1] > counts[0] && counts[1] > counts[2]);
    assert_true(fabs(counts[2] - counts[0]) < 0.5 * (counts[1] - counts[0]) + 1);
    assert_true(fabs(means[2] - means[0]) < 5 && fabs(means[1] - means[0]) < 5);
}

/* max_size: an overview instead of full resolution, said in the answer. */
static void test_max_size(void **state)
{
    (void)state;
    struct response r;
    post("/statistics/cmap", NULL, NULL, "application/json", SQUARE, &r);
    cJSON *root, *b = band1(&r, 0, &root);
    double full = num(b, "count") + num(b, "masked_pixels"), full_mean = num(b, "mean");
    assert_null(cJSON_GetObjectItem(b, "overview"));
    cJSON_Delete(root);
    response_free(&r);
    post("/statistics/cmap", "max_size", "600", "application/json", SQUARE, &r);
    expect_status("max_size=600", &r, 200, NULL);
    b = band1(&r, 0, &root);
    double level = num(b, "overview"), cells = num(b, "count") + num(b, "masked_pixels");
    /* cog_cmap.tif's overviews halve each time: the window of about 1,900 x 2,400
     * cells fits 600 x 600 from the third (level 2, 1/8) on */
    assert_true(level == 2);
    assert_true(fabs(cells * 64 / full - 1) < 0.05);
    assert_true(fabs(num(b, "mean") - full_mean) < 0.2);
    cJSON_Delete(root);
    response_free(&r);
    /* a feature outside the data read nothing: no overview, whatever the one before it read */
    const char *fc = "{\"type\":\"FeatureCollection\",\"features\":["
                     "{\"type\":\"Feature\",\"properties\":{},\"geometry\":" SQUARE "},"
                     "{\"type\":\"Feature\",\"properties\":{},\"geometry\":" OUTSIDE "}]}";
    post("/statistics/cmap", "max_size", "600", "application/json", fc, &r);
    expect_status("max_size=600, a collection with a feature outside", &r, 200, NULL);
    b = band1(&r, 0, &root);
    assert_true(num(b, "overview") == 2);
    cJSON_Delete(root);
    b = band1(&r, 1, &root);
    assert_true(num(b, "count") == 0);
    assert_null(cJSON_GetObjectItem(b, "overview"));
    cJSON_Delete(root);
    response_free(&r);
    post("/statistics/cmap", "max_size", "0", "application/json", SQUARE, &r);
    expect_status("max_size=0", &r, 400, "max_size");
    response_free(&r);
}

/* A polygon over the whole raster: over the app's max_cells (5,000,000). */
#define WHOLE "{\"type\":\"Polygon\",\"coordinates\":[[[-79.5,39.8],[-79.3,39.8],[-79.3,39.9]," \
              "[-79.5,39.9],[-79.5,39.8]]]}"

static void test_limits(void **state)
{
    (void)state;
    struct response r;
    post("/statistics/cmap", NULL, NULL, "application/json", WHOLE, &r);
    expect_status("over max_cells", &r, 413, "over max_cells (5000000)");
    response_free(&r);
    struct kv h[1] = { { "Content-Type", "application/json" } };
    struct request req = { .method = "POST", .path = "/statistics/cmap", .headers = h,
                           .nheaders = 1, .body = (const unsigned char *)SQUARE,
                           .body_len = strlen(SQUARE), .deadline_ms = 1 /* long past */ };
    handler_handle(worker, &req, &r);
    expect_status("deadline passed", &r, 504, NULL);
    response_free(&r);
    /* A zig-zag of 2,000 edges of 179 degrees, valid GeoJSON: split every 0.01
     * degree for this projected source it would be 36 million positions
     * (10 s and 1.9 GB before anything is read). Refused before it is built. */
    size_t cap = 64 + 2001 * 32;
    char *zig = malloc(cap);
    size_t k = (size_t)snprintf(zig, cap, "{\"type\":\"Polygon\",\"coordinates\":[[");
    for (int i = 0; i <= 2000; i++)
        k += (size_t)snprintf(zig + k, cap - k, "%s[%d,%.3f]", i ? "," : "",
                              i % 2 && i < 2000 ? 0 : -179, i < 2000 ? -80 + 0.08 * i : -80.0);
    snprintf(zig + k, cap - k, "]]}");
    post("/statistics/cmap", NULL, NULL, "application/json", zig, &r);
    expect_status("a zig-zag of 179-degree edges on a projected source", &r, 413,
                  "over 2000000 positions");
    response_free(&r);
    free(zig);
    post("/statistics/cmap", NULL, NULL, "application/geo+json", SQUARE, &r);
    expect_status("the request after it", &r, 200, NULL);
    response_free(&r);
}

/* zonal_open, zonal_run, zonal_close: the error of the first that fails. */
static int run_zone(struct raster *r, const struct polygon *poly, const struct zonal_opts *o,
                    struct stats **s, struct zonal_info *info, char *msg, size_t msgcap)
{
    struct zonal_zone *zz = NULL;
    int err = zonal_open(r, poly, 1, o, &zz, msg, msgcap);
    if (!err)
        err = zonal_run(zz, o, s, info, msg, msgcap);
    zonal_close(zz);
    return err;
}

/* The same statistics whatever the chunk budget: one block (512 x 512), a
 * few, the whole window; zonal_run straight on the raster. */
static void test_chunk_budget(void **state)
{
    (void)state;
    struct raster *r = NULL;
    char msg[256];
    assert_int_equal(raster_open("test/data/rio-tiler/cog_cmap.tif", NULL, &r, msg, sizeof msg),
                     CT_OK);
    static const long long budgets[] = { 262144, 1048576, 100000000 };
    double sq[] = { -79.42, 39.83, -79.40, 39.83, -79.40, 39.85, -79.42, 39.85, -79.42, 39.83 };
    struct ring ring = { sq, 5 };
    struct polygon poly = { &ring, 1 };
    int band = 1;
    for (int mode = ZONAL_CENTER; mode <= ZONAL_EXACT; mode++) {
        struct stats *first = NULL;
        for (int i = 0; i < 3; i++) {
            struct stats *s = NULL;
            struct zonal_info info;
            struct zonal_opts o = { .coverage = (enum zonal_coverage)mode, .nbands = 1,
                                    .bands = &band, .max_cells = 1LL << 40,
                                    .chunk_cells = budgets[i], .max_unique = 1000 };
            assert_int_equal(stats_new(1000, &s), CT_OK);
            assert_int_equal(run_zone(r, &poly, &o, &s, &info, msg, sizeof msg), CT_OK);
            if (i == 0)
                assert_true(info.chunks > 4 && info.chunks_read > 4);
            if (i == 2)
                assert_true(info.chunks == 1);
            if (!first) {
                first = s;
                continue;
            }
            struct stats_moments a, b;
            stats_moments(first, &a);
            stats_moments(s, &b);
            double x[] = { a.count, a.masked, a.sum, a.mean, a.std, a.min, a.max, a.area_m2 };
            double y[] = { b.count, b.masked, b.sum, b.mean, b.std, b.min, b.max, b.area_m2 };
            for (int k = 0; k < 8; k++)
                if (!(fabs(x[k] - y[k]) <= 1e-12 * fmax(1, fabs(x[k]))))
                    fail_msg("mode %d, chunk budget %lld: moment %d %.17g vs %.17g", mode,
                             budgets[i], k, x[k], y[k]);
            for (double p = 0; p <= 100; p += 2.5)
                assert_true(stats_percentile(first, p) == stats_percentile(s, p));
            stats_free(s);
        }
        stats_free(first);
    }
    /* and the deadline stops it between chunks */
    struct stats *s = NULL;
    struct zonal_info info;
    struct zonal_opts o = { .coverage = ZONAL_CENTER, .nbands = 1, .bands = &band,
                            .max_cells = 1LL << 40, .chunk_cells = 262144, .max_unique = 10,
                            .deadline_ms = 1 };
    assert_int_equal(stats_new(10, &s), CT_OK);
    assert_int_equal(run_zone(r, &poly, &o, &s, &info, msg, sizeof msg), CT_ETIMEOUT);
    stats_free(s);
    raster_close(r);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_collection),
        cmocka_unit_test(test_coverage_rules),
        cmocka_unit_test(test_max_size),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_chunk_budget),
    };
    return cmocka_run_group_tests(tests, setup, test_app_close);
}
