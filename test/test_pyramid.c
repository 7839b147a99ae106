/* The pyramid's tile enumeration: ranges and counts per zoom for layer bounds
 * and a clip box (antimeridian, +-85.0511 clamping, edges that only touch),
 * checked against tables and against a brute-force test of every tile's own
 * lon/lat bounds (tilemath_bounds_lonlat); the --zoom and --bbox parsers. */
#include "testutil.h"

#include "err.h"
#include "pyramid.h"
#include "tilemath.h"

#define NOCLIP { 0, 0, 0, 0 }

/* A table case's check: a failure names the case and what differs. */
#define EXPECT(name, cond)                                                                    \
    do {                                                                                      \
        if (!(cond))                                                                          \
            fail_msg("%s: %s", (name), #cond);                                                \
    } while (0)

struct plan_case {
    const char *name;
    struct bbox bounds;
    int has_clip;
    struct bbox clip;
    int minz, maxz;
    uint64_t total;
    size_t nranges;
    struct pyramid_range first; /* the first range, when nranges > 0 */
};

static void test_plan_table(void **state)
{
    (void)state;
    static const struct plan_case cases[] = {
        { "world z0-3", { -180, -90, 180, 90 }, 0, NOCLIP, 0, 3, 1 + 4 + 16 + 64, 4,
          { 0, 0, 0, 0, 0 } },
        { "world z8 alone", { -180, -90, 180, 90 }, 0, NOCLIP, 8, 8, 65536, 1,
          { 8, 0, 255, 0, 255 } },
        { "a degree inside one tile", { 10, 10, 11, 11 }, 0, NOCLIP, 0, 2, 3, 3,
          { 0, 0, 0, 0, 0 } },
        /* x: 0..90 is column 1 at z1, the column west of it only touches 0;
         * y: the equator only touches row 1 */
        { "edges that only touch", { 0, 0, 90, 60 }, 0, NOCLIP, 1, 1, 1, 1,
          { 1, 1, 1, 0, 0 } },
        { "antimeridian, one column at z0 and z1", { 170, -10, -170, 10 }, 0, NOCLIP, 0, 1,
          1 + 4, 2, { 0, 0, 0, 0, 0 } },
        { "antimeridian, two ranges at z3", { 170, -10, -170, 10 }, 0, NOCLIP, 3, 3, 4, 2,
          { 3, 0, 0, 3, 4 } },
        { "clamped to 85.0511", { -180, -89, 180, 89 }, 0, NOCLIP, 2, 2, 16, 1,
          { 2, 0, 3, 0, 3 } },
        { "north of 85.0511: nothing", { 0, 85.06, 10, 90 }, 0, NOCLIP, 0, 5, 0, 0,
          { 0, 0, 0, 0, 0 } },
        { "clip disjoint from the layer", { 0, 0, 10, 10 }, 1, { 20, 0, 30, 10 }, 0, 5, 0, 0,
          { 0, 0, 0, 0, 0 } },
        { "clip inside the layer", { -180, -90, 180, 90 }, 1, { 0.2, 0.2, 1.2, 1.2 }, 8, 8, 1, 1,
          { 8, 128, 128, 127, 127 } },
        { "clip across the antimeridian over the world", { -180, -90, 180, 90 }, 1,
          { 179, -1, -179, 1 }, 4, 4, 4, 2, { 4, 0, 0, 7, 8 } },
        /* [10, 180] + [-180, -10] meets [150, 180] + [-180, 100] in three
         * intervals; at z1 they cover both columns */
        { "three longitude intervals", { 10, -1, -10, 1 }, 1, { 150, -1, 100, 1 }, 1, 1, 4, 1,
          { 1, 0, 1, 0, 1 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct plan_case *c = &cases[i];
        struct pyramid_plan p;
        EXPECT(c->name, pyramid_plan(&c->bounds, c->has_clip ? &c->clip : NULL, c->minz,
                                     c->maxz, &p) == CT_OK);
        if (p.total != c->total || p.n != c->nranges)
            fail_msg("%s: %llu tiles in %zu ranges, want %llu in %zu", c->name,
                     (unsigned long long)p.total, p.n, (unsigned long long)c->total, c->nranges);
        EXPECT(c->name, !c->nranges || (p.r[0].z == c->first.z && p.r[0].x0 == c->first.x0 &&
                                        p.r[0].x1 == c->first.x1 && p.r[0].y0 == c->first.y0 &&
                                        p.r[0].y1 == c->first.y1));
    }
}

static void test_plan_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct bbox b;
        int minz, maxz;
    } cases[] = {
        { "minz > maxz", { 0, 0, 1, 1 }, 3, 2 },
        { "maxz past 30", { 0, 0, 1, 1 }, 0, 31 },
        { "negative zoom", { 0, 0, 1, 1 }, -1, 2 },
        { "NaN", { NAN, 0, 1, 1 }, 0, 1 },
        { "infinite", { 0, 0, INFINITY, 1 }, 0, 1 },
        { "south = north", { 0, 1, 1, 1 }, 0, 1 },
        { "south > north", { 0, 2, 1, 1 }, 0, 1 },
        { "west = east", { 5, 0, 5, 1 }, 0, 1 },
        { "longitude 181", { 0, 0, 181, 1 }, 0, 1 },
        { "latitude -91", { 0, -91, 1, 1 }, 0, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pyramid_plan p;
        EXPECT(cases[i].name,
               pyramid_plan(&cases[i].b, NULL, cases[i].minz, cases[i].maxz, &p) == CT_EINVAL);
        static const struct bbox ok = { 0, 0, 1, 1 };
        if (cases[i].minz <= cases[i].maxz && cases[i].maxz <= 30 && cases[i].minz >= 0)
            EXPECT(cases[i].name, pyramid_plan(&ok, &cases[i].b, cases[i].minz, cases[i].maxz,
                                               &p) == CT_EINVAL);
    }
}

/* The longitudes of b, as open intervals, one or two. */
static int lon_ivs(const struct bbox *b, double iv[2][2])
{
    if (b->minx < b->maxx) {
        iv[0][0] = b->minx, iv[0][1] = b->maxx;
        return 1;
    }
    iv[0][0] = b->minx, iv[0][1] = 180;
    iv[1][0] = -180, iv[1][1] = b->maxx;
    return 2;
}

/* Whether tile z/x/y's own lon/lat box overlaps both boxes' common area. */
static int oracle(const struct bbox *a, const struct bbox *b, int z, uint64_t x, uint64_t y)
{
    struct bbox t;
    assert_int_equal(tilemath_bounds_lonlat(z, x, y, &t), CT_OK);
    double lo = fmax(fmax(a->miny, b->miny), -TILEMATH_MAXLAT);
    double hi = fmin(fmin(a->maxy, b->maxy), TILEMATH_MAXLAT);
    if (!(fmax(lo, t.miny) < fmin(hi, t.maxy)))
        return 0;
    double ia[2][2], ib[2][2];
    int na = lon_ivs(a, ia), nb = lon_ivs(b, ib);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (fmax(fmax(ia[i][0], ib[j][0]), t.minx) < fmin(fmin(ia[i][1], ib[j][1]), t.maxx))
                return 1;
    return 0;
}

/* Every tile of zooms 0..7 is in the plan exactly when the oracle says so,
 * once, and the plan's count is the number enumerated. */
static void test_plan_against_every_tile(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct bbox a, b;
    } cases[] = {
        { "small box", { 7.3, 44.1, 9.8, 46.7 }, { -180, -90, 180, 90 } },
        { "layer across the antimeridian", { 163.2, -47.3, -171.4, -33.9 }, { -180, -90, 180, 90 } },
        { "both across", { 10.7, -20.2, -10.3, 30.6 }, { 150.4, -10.1, 100.9, 70.2 } },
        { "polar, clamped", { -60.5, 60.3, 40.2, 90 }, { -180, -90, 180, 90 } },
        { "clip east half", { -100.1, -60.7, 100.9, 60.2 }, { 0, -90, 180, 90 } },
        { "south pole", { -180, -90, 180, -70.7 }, { -30.5, -89, 170.5, -75.2 } },
    };
    enum { MAXZ = 7 };
    static uint8_t seen[1 << MAXZ][1 << MAXZ];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pyramid_plan p;
        assert_int_equal(pyramid_plan(&cases[i].a, &cases[i].b, 0, MAXZ, &p), CT_OK);
        uint64_t want_total = 0, got = 0;
        for (int z = 0; z <= MAXZ; z++) {
            memset(seen, 0, sizeof seen);
            struct pyramid_cursor c = { 0 };
            int tz;
            uint64_t x, y;
            while (pyramid_next(&p, &c, &tz, &x, &y))
                if (tz == z) {
                    assert_true(x < (1ULL << z) && y < (1ULL << z));
                    if (seen[x][y])
                        fail_msg("%s: %d/%llu/%llu enumerated twice", cases[i].name, z,
                                 (unsigned long long)x, (unsigned long long)y);
                    seen[x][y] = 1;
                }
            for (uint64_t tx = 0; tx < (1ULL << z); tx++)
                for (uint64_t ty = 0; ty < (1ULL << z); ty++) {
                    int want = oracle(&cases[i].a, &cases[i].b, z, tx, ty);
                    if (want != seen[tx][ty])
                        fail_msg("%s: %d/%llu/%llu: in the plan %d, by its bounds %d",
                                 cases[i].name, z, (unsigned long long)tx,
                                 (unsigned long long)ty, seen[tx][ty], want);
                    want_total += (uint64_t)want;
                }
        }
        struct pyramid_cursor c = { 0 };
        int tz;
        uint64_t x, y;
        while (pyramid_next(&p, &c, &tz, &x, &y))
            got++;
        assert_true(want_total > 0);
        assert_int_equal(got, p.total);
        assert_int_equal(want_total, p.total);
        assert_int_equal(pyramid_next(&p, &c, &tz, &x, &y), 0); /* stays at the end */
    }
}

static void test_parse_zooms(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int want, lo, hi;
    } cases[] = {
        { "0-8", CT_OK, 0, 8 },  { "5", CT_OK, 5, 5 },      { "0-30", CT_OK, 0, 30 },
        { "7-7", CT_OK, 7, 7 },  { "8-0", CT_EINVAL, 0, 0 },      { "31", CT_EINVAL, 0, 0 },
        { "", CT_EINVAL, 0, 0 },       { "-3", CT_EINVAL, 0, 0 },       { "1-", CT_EINVAL, 0, 0 },
        { "a", CT_EINVAL, 0, 0 },      { "1-2-3", CT_EINVAL, 0, 0 },    { " 1", CT_EINVAL, 0, 0 },
        { "0-99999999999999999999", CT_EINVAL, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int lo = -1, hi = -1;
        EXPECT(cases[i].s,
               pyramid_parse_zooms(cases[i].s, strlen(cases[i].s), &lo, &hi) == cases[i].want);
        EXPECT(cases[i].s, cases[i].want ? lo == -1 && hi == -1
                                         : lo == cases[i].lo && hi == cases[i].hi);
    }
}

static void test_parse_bbox(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int want;
        struct bbox b;
    } cases[] = {
        { "-10,-5,10,5", CT_OK, { -10, -5, 10, 5 } },
        { "170,-5,-170,5", CT_OK, { 170, -5, -170, 5 } },
        { "-180,-90,180,90", CT_OK, { -180, -90, 180, 90 } },
        { "1.5e1,0,20,1", CT_OK, { 15, 0, 20, 1 } },
        { "1,2,3", CT_EINVAL, NOCLIP },        { "1,2,3,4,5", CT_EINVAL, NOCLIP },
        { "0,5,10,5", CT_EINVAL, NOCLIP },     { "0,6,10,5", CT_EINVAL, NOCLIP },
        { "181,0,182,1", CT_EINVAL, NOCLIP },  { "a,b,c,d", CT_EINVAL, NOCLIP },
        { "1,,3,4", CT_EINVAL, NOCLIP },       { "", CT_EINVAL, NOCLIP },
        { "3,0,3,1", CT_EINVAL, NOCLIP },      { "0,0,1,1,", CT_EINVAL, NOCLIP },
        { "nan,0,1,1", CT_EINVAL, NOCLIP },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bbox b = { -1, -1, -1, -1 };
        EXPECT(cases[i].s, pyramid_parse_bbox(cases[i].s, strlen(cases[i].s), &b) == cases[i].want);
        if (!cases[i].want)
            EXPECT(cases[i].s, b.minx == cases[i].b.minx && b.miny == cases[i].b.miny &&
                                   b.maxx == cases[i].b.maxx && b.maxy == cases[i].b.maxy);
        else
            EXPECT(cases[i].s, b.minx == -1 && b.maxy == -1); /* untouched */
    }
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_table),
        cmocka_unit_test(test_plan_refusals),
        cmocka_unit_test(test_plan_against_every_tile),
        cmocka_unit_test(test_parse_zooms),
        cmocka_unit_test(test_parse_bbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
