/* Table-driven tests of tile math: bounds, range checks, lon/lat -> tile. */
#include "testutil.h"

#include <math.h>

#include "err.h"
#include "tilemath.h"

#define O TILEMATH_ORIGIN

static void test_bounds_table(void **state)
{
    (void)state;
    static const struct {
        int z;
        uint64_t x, y;
        double minx, miny, maxx, maxy;
    } cases[] = {
        { 0, 0, 0, -O, -O, O, O },
        { 1, 0, 0, -O, 0, 0, O },
        { 1, 1, 1, 0, -O, O, 0 },
        { 2, 3, 0, O / 2, O / 2, O, O },
        { 2, 0, 3, -O, -O, -O / 2, -O / 2 },
        /* last tile at z=30 */
        { 30, (1ULL << 30) - 1, (1ULL << 30) - 1, O - 2 * O / 1073741824.0, -O,
          O, -O + 2 * O / 1073741824.0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bbox b;
        assert_int_equal(tilemath_bounds(cases[i].z, cases[i].x, cases[i].y, &b), CT_OK);
        assert_true(fabs(b.minx - cases[i].minx) < 1e-6);
        assert_true(fabs(b.miny - cases[i].miny) < 1e-6);
        assert_true(fabs(b.maxx - cases[i].maxx) < 1e-6);
        assert_true(fabs(b.maxy - cases[i].maxy) < 1e-6);
    }
}

static void test_range_checks(void **state)
{
    (void)state;
    static const struct {
        int z;
        uint64_t x, y;
        int want;
    } cases[] = {
        { 0, 0, 0, CT_OK },     { 0, 1, 0, CT_ERANGE },  { 0, 0, 1, CT_ERANGE },
        { 1, 1, 1, CT_OK },     { 1, 2, 0, CT_ERANGE },  { -1, 0, 0, CT_ERANGE },
        { 31, 0, 0, CT_ERANGE }, { 30, (1ULL << 30) - 1, 0, CT_OK },
        { 30, 1ULL << 30, 0, CT_ERANGE }, { 64, 0, 0, CT_ERANGE },
        { 5, UINT64_MAX, 0, CT_ERANGE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bbox b;
        assert_int_equal(tilemath_check(cases[i].z, cases[i].x, cases[i].y), cases[i].want);
        assert_int_equal(tilemath_bounds(cases[i].z, cases[i].x, cases[i].y, &b), cases[i].want);
    }
}

static void test_neighbours_share_edges(void **state)
{
    (void)state;
    for (int z = 1; z <= 30; z += 7) {
        uint64_t x = (1ULL << z) / 3, y = (1ULL << z) / 5;
        struct bbox a, b, c;
        assert_int_equal(tilemath_bounds(z, x, y, &a), 0);
        assert_int_equal(tilemath_bounds(z, x + 1, y, &b), 0);
        assert_int_equal(tilemath_bounds(z, x, y + 1, &c), 0);
        assert_true(a.maxx == b.minx);
        assert_true(a.miny == c.maxy);
    }
}

static void test_lonlat_to_tile(void **state)
{
    (void)state;
    static const struct {
        double lon, lat;
        int z;
        uint64_t x, y;
        int want;
    } cases[] = {
        { 0, 0, 0, 0, 0, CT_OK },
        { -180, 85.0511, 1, 0, 0, CT_OK },
        { 180, -85.0511, 1, 1, 1, CT_OK },      /* lon 180 is in the last column */
        { 179.999, 0.0001, 1, 1, 0, CT_OK },
        { 13.4050, 52.5200, 10, 550, 335, CT_OK }, /* Berlin, OSM wiki */
        { -122.4194, 37.7749, 12, 655, 1583, CT_OK },
        { 0, 90, 3, 4, 0, CT_OK },               /* clamped to the Mercator limit */
        { 0, -90, 3, 4, 7, CT_OK },
        { 181, 0, 3, 0, 0, CT_ERANGE },
        { 0, 91, 3, 0, 0, CT_ERANGE },
        { NAN, 0, 3, 0, 0, CT_ERANGE },
        { 0, 0, 31, 0, 0, CT_ERANGE },
        { 0, 0, -1, 0, 0, CT_ERANGE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t x = 99, y = 99;
        int err = tilemath_lonlat_to_tile(cases[i].lon, cases[i].lat, cases[i].z, &x, &y);
        assert_int_equal(err, cases[i].want);
        if (err == CT_OK) {
            assert_int_equal(x, cases[i].x);
            assert_int_equal(y, cases[i].y);
        }
    }
}

/* The tile found for a point contains the point (round trip). */
static void test_roundtrip(void **state)
{
    (void)state;
    for (int z = 0; z <= 30; z += 3) {
        for (double lon = -179.5; lon < 180; lon += 37.3) {
            for (double lat = -84.9; lat < 85; lat += 21.7) {
                uint64_t x, y;
                assert_int_equal(tilemath_lonlat_to_tile(lon, lat, z, &x, &y), 0);
                struct bbox ll;
                assert_int_equal(tilemath_bounds_lonlat(z, x, y, &ll), 0);
                assert_true(lon >= ll.minx - 1e-9 && lon <= ll.maxx + 1e-9);
                assert_true(lat >= ll.miny - 1e-9 && lat <= ll.maxy + 1e-9);
            }
        }
    }
}

static void test_lonlat_bounds_and_resolution(void **state)
{
    (void)state;
    struct bbox ll;
    assert_int_equal(tilemath_bounds_lonlat(0, 0, 0, &ll), 0);
    assert_true(fabs(ll.minx + 180) < 1e-9 && fabs(ll.maxx - 180) < 1e-9);
    assert_true(fabs(ll.maxy - TILEMATH_MAXLAT) < 1e-9);
    assert_true(fabs(ll.miny + TILEMATH_MAXLAT) < 1e-9);
    /* 156543.03392804097 m/px at z0 for 256 px tiles (OGC WMTS GoogleMapsCompatible). */
    assert_true(fabs(tilemath_resolution(0, 256) - 156543.03392804097) < 1e-6);
    assert_true(fabs(tilemath_resolution(3, 512) - 156543.03392804097 / 16) < 1e-6);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_table),
        cmocka_unit_test(test_range_checks),
        cmocka_unit_test(test_neighbours_share_edges),
        cmocka_unit_test(test_lonlat_to_tile),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_lonlat_bounds_and_resolution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
