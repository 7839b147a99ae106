/* The GeoJSON reader of the statistics routes (geojson.h): accepted shapes,
 * every refusal with the JSON path it names, and the answer built back. */
#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>

#include "err.h"
#include "geojson.h"

#define SQ "[[0,0],[1,0],[1,1],[0,1],[0,0]]"
#define POLY "{\"type\":\"Polygon\",\"coordinates\":[" SQ "]}"

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *name, *json, *path_and_why;
    } cases[] = {
        { "not JSON", "{\"type\":", "not valid JSON" },
        { "trailing data", POLY " x", "data after" },
        { "an array", "[1,2]", "expected a GeoJSON object" },
        { "no type", "{\"coordinates\":[]}", "expected a GeoJSON object" },
        { "a point", "{\"type\":\"Point\",\"coordinates\":[0,0]}", "type: Point is not accepted" },
        { "a feature of a line", "{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[0,0],[1,1]]}}",
          "geometry: geometry type LineString is not accepted" },
        { "a feature without geometry", "{\"type\":\"Feature\",\"properties\":{},\"geometry\":null}",
          "geometry: a feature without a geometry" },
        { "properties not an object", "{\"type\":\"Feature\",\"properties\":3,\"geometry\":" POLY "}",
          "\"properties\" must be" },
        { "empty collection", "{\"type\":\"FeatureCollection\",\"features\":[]}", "features: " },
        { "collection of a geometry", "{\"type\":\"FeatureCollection\",\"features\":[" POLY "]}",
          "features[0]: expected a Feature" },
        { "unclosed ring", "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}",
          "coordinates[0]: a ring must be closed" },
        { "three positions", "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[0,0]]]}",
          "coordinates[0]: a ring needs at least 4" },
        { "no rings", "{\"type\":\"Polygon\",\"coordinates\":[]}", "coordinates: a polygon's" },
        { "a ring not an array", "{\"type\":\"Polygon\",\"coordinates\":[3]}", "coordinates[0]: a ring must be" },
        { "a position of one number", "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1],[1,1],[0,0]]]}",
          "coordinates[0][1]: a position is" },
        { "a position of strings", "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[\"1\",0],[1,1],[0,0]]]}",
          "coordinates[0][1]" },
        { "longitude 181", "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[181,0],[1,1],[0,0]]]}",
          "coordinates[0][1]: longitude must be" },
        { "latitude -91", "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,-91],[1,1],[0,0]]]}",
          "coordinates[0][1]" },
        { "an overflowing number", "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1e999,0],[1,1],[0,0]]]}",
          "coordinates[0][1]" },
        { "an edge across the antimeridian",
          "{\"type\":\"Polygon\",\"coordinates\":[[[170,0],[-170,0],[-170,1],[170,1],[170,0]]]}",
          "coordinates[0][1]: an edge spans more than 180" },
        { "a hole of a multipolygon",
          "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":null,"
          "\"geometry\":" POLY "},{\"type\":\"Feature\",\"properties\":null,\"geometry\":{\"type\":"
          "\"MultiPolygon\",\"coordinates\":[[" SQ "],[" SQ ",[[0,0],[1,0],[0,0]]]]}}]}",
          "features[1].geometry.coordinates[1][1]: a ring needs at least 4" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct gj_zones *z = (struct gj_zones *)1;
        char msg[256] = "";
        int err = gj_parse(cases[i].json, strlen(cases[i].json), &z, msg, sizeof msg);
        if (err != CT_EINVAL || z != NULL || !strstr(msg, cases[i].path_and_why))
            fail_msg("%s: got %d, \"%s\" (want \"%s\")", cases[i].name, err, msg,
                     cases[i].path_and_why);
    }
}

static void test_limits(void **state)
{
    (void)state;
    /* GJ_MAX_FEATURES + 1 features */
    size_t cap = 64 + (GJ_MAX_FEATURES + 1) * 120;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t n = (size_t)snprintf(s, cap, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (int i = 0; i <= GJ_MAX_FEATURES; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s{\"type\":\"Feature\",\"properties\":null,\"geometry\":%s}",
                              i ? "," : "", POLY);
    n += (size_t)snprintf(s + n, cap - n, "]}");
    struct gj_zones *z = NULL;
    char msg[256];
    assert_int_equal(gj_parse(s, n, &z, msg, sizeof msg), CT_EINVAL);
    assert_non_null(strstr(msg, "more than 1000 features"));
    free(s);
    /* one ring of GJ_MAX_POSITIONS + 1 positions */
    cap = 64 + (GJ_MAX_POSITIONS + 1) * 8;
    s = malloc(cap);
    assert_non_null(s);
    n = (size_t)snprintf(s, cap, "{\"type\":\"Polygon\",\"coordinates\":[[");
    for (int i = 0; i <= GJ_MAX_POSITIONS; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s[0,%d]", i ? "," : "", i == GJ_MAX_POSITIONS ? 0 : i % 2);
    n += (size_t)snprintf(s + n, cap - n, "]]}");
    assert_int_equal(gj_parse(s, n, &z, msg, sizeof msg), CT_EINVAL);
    assert_non_null(strstr(msg, "positions in all"));
    free(s);
}

static void test_accepted(void **state)
{
    (void)state;
    char msg[256];
    struct gj_zones *z = NULL;
    /* a bare polygon with a hole and altitudes: answered as a Feature */
    const char *poly = "{\"type\":\"Polygon\",\"coordinates\":[[[0,0,5],[4,0,5],[4,4,5],[0,4,5],[0,0,5]],"
                       "[[1,1],[2,1],[2,2],[1,1]]]}";
    assert_int_equal(gj_parse(poly, strlen(poly), &z, msg, sizeof msg), CT_OK);
    assert_int_equal(gj_count(z), 1);
    assert_true(gj_single(z));
    const struct gj_feature *f = gj_feature(z, 0);
    assert_int_equal(f->npolys, 1);
    assert_int_equal(f->polys[0].nrings, 2);
    assert_int_equal(f->polys[0].rings[0].n, 5);
    assert_true(f->polys[0].rings[0].xy[2] == 4 && f->polys[0].rings[0].xy[3] == 0);
    assert_int_equal(f->polys[0].rings[1].n, 4);
    cJSON *stats = cJSON_CreateObject();
    cJSON_AddNumberToObject(stats, "b1", 7);
    assert_int_equal(gj_set_statistics(z, 0, stats), CT_OK);
    char *out = gj_print(z);
    cJSON *o = cJSON_Parse(out);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "Feature");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "properties"), "statistics"), "b1")->valuedouble == 7);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "geometry"), "type")->valuestring, "Polygon");
    cJSON_Delete(o);
    free(out);
    gj_free(z);
    /* a collection: ids, properties and order kept; a null properties replaced */
    const char *fc = "{\"type\":\"FeatureCollection\",\"name\":\"x\",\"features\":["
                     "{\"type\":\"Feature\",\"id\":\"a\",\"properties\":{\"k\":1},\"geometry\":" POLY "},"
                     "{\"type\":\"Feature\",\"id\":7,\"properties\":null,\"geometry\":{\"type\":\"MultiPolygon\","
                     "\"coordinates\":[[" SQ "],[[[5,5],[6,5],[6,6],[5,5]]]]}}]}";
    assert_int_equal(gj_parse(fc, strlen(fc), &z, msg, sizeof msg), CT_OK);
    assert_int_equal(gj_count(z), 2);
    assert_false(gj_single(z));
    assert_int_equal(gj_feature(z, 1)->npolys, 2);
    for (size_t i = 0; i < 2; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddNumberToObject(s, "i", (double)i);
        assert_int_equal(gj_set_statistics(z, i, s), CT_OK);
    }
    out = gj_print(z);
    o = cJSON_Parse(out);
    assert_string_equal(cJSON_GetObjectItem(o, "name")->valuestring, "x");
    cJSON *fs = cJSON_GetObjectItem(o, "features");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(fs, 0), "id")->valuestring, "a");
    cJSON *p0 = cJSON_GetObjectItem(cJSON_GetArrayItem(fs, 0), "properties");
    assert_true(cJSON_GetObjectItem(p0, "k")->valuedouble == 1);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(p0, "statistics"), "i")->valuedouble == 0);
    cJSON *p1 = cJSON_GetObjectItem(cJSON_GetArrayItem(fs, 1), "properties");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(p1, "statistics"), "i")->valuedouble == 1);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(fs, 1), "id")->valuedouble == 7);
    cJSON_Delete(o);
    free(out);
    gj_free(z);
    gj_free(NULL);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
