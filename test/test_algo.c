/* Terrain algorithms: the encodings against their published decoders, hillshade against
 * the physics of a lit plane and, pixel for pixel, against `gdaldem hillshade` run on a real
 * DEM warped to Web Mercator. Run from the repository root (paths are relative to it). */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include <gdal.h>

#include "algo.h"
#include "err.h"

#define OUT_DIR "test/out/algo"
#define DEM "test/data/titiler/dem.tif"
#define MERC_ORIGIN 20037508.342789244
#define MERC_R 6378137.0

/* ---- helpers --------------------------------------------------------------------- */

static uint8_t *alloc_rgba(int size)
{
    uint8_t *p = malloc((size_t)size * (size_t)size * 4);
    assert_non_null(p);
    return p;
}

static void run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
}

/* Band 1 of path as doubles (malloc'd), with its geotransform and nodata. */
static double *read_raster(const char *path, int *w, int *h, double gt[6], int *has_nd, double *nd)
{
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds)
        fail_msg("cannot open %s", path);
    *w = GDALGetRasterXSize(ds);
    *h = GDALGetRasterYSize(ds);
    assert_int_equal(GDALGetGeoTransform(ds, gt), CE_None);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    *nd = GDALGetRasterNoDataValue(b, has_nd);
    double *v = malloc((size_t)*w * (size_t)*h * sizeof *v);
    assert_non_null(v);
    assert_int_equal(GDALRasterIO(b, GF_Read, 0, 0, *w, *h, v, *w, *h, GDT_Float64, 0, 0), CE_None);
    GDALClose(ds);
    return v;
}

/* Lambertian shading of a surface with gradient (dh/dEast, dh/dNorth) by a light at
 * azimuth az (clockwise from north) and altitude alt, degrees: the cosine between the
 * surface normal and the direction of the light, written from scratch (not GDAL's
 * rearranged formula). */
static double lambert(double dhde, double dhdn, double az, double alt)
{
    const double d = M_PI / 180.0;
    const double lx = sin(az * d) * cos(alt * d), ly = cos(az * d) * cos(alt * d),
                 lz = sin(alt * d);
    const double n = sqrt(dhde * dhde + dhdn * dhdn + 1.0);
    return (-dhde * lx - dhdn * ly + lz) / n;
}

/* ---- argument checking and parsing ------------------------------------------------ */

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int want;
        enum algo_kind kind;
    } cases[] = {
        { "hillshade", CT_OK, ALGO_HILLSHADE },
        { "terrainrgb", CT_OK, ALGO_TERRAINRGB },
        { "terrarium", CT_OK, ALGO_TERRARIUM },
        { "", CT_EINVAL, 0 },
        { "Hillshade", CT_EINVAL, 0 },
        { "hillshade ", CT_EINVAL, 0 },
        { "hill", CT_EINVAL, 0 },
        { "terrain-rgb", CT_EINVAL, 0 },
        { "terrariumx", CT_EINVAL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum algo_kind k = (enum algo_kind)77;
        int err = algo_parse(cases[i].s, &k);
        if (err != cases[i].want)
            fail_msg("\"%s\": got %d, want %d", cases[i].s, err, cases[i].want);
        if (err == CT_OK)
            assert_int_equal(k, cases[i].kind);
        else
            assert_int_equal(k, 77);
    }
    enum algo_kind k;
    assert_int_equal(algo_parse(NULL, &k), CT_EINVAL);
    assert_int_equal(algo_parse("hillshade", NULL), CT_EINVAL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    double elev[5 * 5] = { 0 };
    uint8_t rgba[3 * 3 * 4];
    const struct algo_params def = ALGO_PARAMS_DEFAULT;
    static const struct {
        int kind, size, pad;
        double rx, ry, az, alt, z;
    } cases[] = {
        { ALGO_HILLSHADE, 0, 1, 1, 1, 315, 45, 1 },
        { ALGO_HILLSHADE, -3, 1, 1, 1, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, 0, 1, 1, 315, 45, 1 }, /* hillshade needs pad >= 1 */
        { ALGO_TERRAINRGB, 3, -1, 1, 1, 315, 45, 1 },
        { ALGO_TERRARIUM, 3, -1, 1, 1, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, INT_MAX, 1, 1, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, 0, 1, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, 0, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, -1, 1, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, -1, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, NAN, 1, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, INFINITY, 315, 45, 1 },
        { ALGO_TERRAINRGB, 3, 1, 0, 1, 315, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, 1, NAN, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, 1, INFINITY, 45, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, 1, 315, NAN, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, 1, 315, -0.001, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, 1, 315, 90.001, 1 },
        { ALGO_HILLSHADE, 3, 1, 1, 1, 315, 45, NAN },
        { ALGO_HILLSHADE, 3, 1, 1, 1, 315, 45, -INFINITY },
        { ALGO_TERRARIUM, 3, 1, 1, 1, 315, 120, 1 },
        { ALGO_TERRARIUM + 1, 3, 1, 1, 1, 315, 45, 1 }, /* no such kind */
        { ALGO_NONE, 3, 1, 1, 1, 315, 45, 1 },
        { -1, 3, 1, 1, 1, 315, 45, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct algo_params p = { cases[i].az, cases[i].alt, cases[i].z };
        memset(rgba, 0xAA, sizeof rgba);
        int err = algo_render((enum algo_kind)cases[i].kind, elev, NULL, cases[i].size,
                              cases[i].pad, cases[i].rx, cases[i].ry, &p, rgba);
        if (err != CT_EINVAL)
            fail_msg("case %zu: got %d, want CT_EINVAL", i, err);
        for (size_t j = 0; j < sizeof rgba; j++)
            assert_int_equal(rgba[j], 0xAA); /* untouched on error */
    }
    assert_int_equal(algo_render(ALGO_HILLSHADE, NULL, NULL, 3, 1, 1, 1, &def, rgba), CT_EINVAL);
    assert_int_equal(algo_render(ALGO_HILLSHADE, elev, NULL, 3, 1, 1, 1, &def, NULL), CT_EINVAL);
    /* The limits themselves are fine, and NULL params mean the defaults. */
    struct algo_params edge = { -720, 0, -3 };
    assert_int_equal(algo_render(ALGO_HILLSHADE, elev, NULL, 3, 1, 1, 1, &edge, rgba), CT_OK);
    edge.altitude = 90;
    assert_int_equal(algo_render(ALGO_HILLSHADE, elev, NULL, 3, 1, 1, 1, &edge, rgba), CT_OK);
    assert_int_equal(algo_render(ALGO_HILLSHADE, elev, NULL, 3, 1, 1, 1, NULL, rgba), CT_OK);
    assert_int_equal(algo_render(ALGO_TERRAINRGB, elev, NULL, 3, 1, 1, 1, NULL, rgba), CT_OK);
}

/* ---- encodings ------------------------------------------------------------------- */

/* Mapbox's published decoder. */
static double decode_terrainrgb(const uint8_t *px)
{
    return -10000.0 + (px[0] * 65536.0 + px[1] * 256.0 + px[2]) * 0.1;
}

/* Mapzen/Tilezen's published decoder. */
static double decode_terrarium(const uint8_t *px)
{
    return (px[0] * 256.0 + px[1] + px[2] / 256.0) - 32768.0;
}

/* A 256x256 tile of heights from -10000 to 8848 m (fractional and negative ones, and some
 * chosen values), encoded with pad = 2 to check the indexing too. */
static void check_encoding(enum algo_kind kind, double (*decode)(const uint8_t *), double tol)
{
    enum { SIZE = 256, PAD = 2, SIDE = SIZE + 2 * PAD };
    static const double chosen[] = { 0, -0.05, 0.05, -0.04, 0.04, -0.3, 0.3, 1e-9, -1e-9,
                                     -10000, -9999.95, 8848.86, 8848, 1234.5678, -432.1 };
    const size_t nchosen = sizeof chosen / sizeof chosen[0];
    double *elev = malloc(SIDE * SIDE * sizeof *elev);
    uint8_t *rgba = alloc_rgba(SIZE);
    assert_non_null(elev);
    for (size_t i = 0; i < SIDE * SIDE; i++)
        elev[i] = 1e6; /* the pad, never read */
    for (int i = 0; i < SIZE * SIZE; i++) {
        double h = -10000.0 + i * (18848.0 / (SIZE * SIZE - 1));
        if ((size_t)i < nchosen)
            h = chosen[i];
        elev[(size_t)(i / SIZE + PAD) * SIDE + (size_t)(i % SIZE + PAD)] = h;
    }
    assert_int_equal(algo_render(kind, elev, NULL, SIZE, PAD, 1, 1, NULL, rgba), CT_OK);
    double worst = 0;
    for (int i = 0; i < SIZE * SIZE; i++) {
        const double h = elev[(size_t)(i / SIZE + PAD) * SIDE + (size_t)(i % SIZE + PAD)];
        const uint8_t *px = rgba + 4 * i;
        assert_int_equal(px[3], 255);
        const double err = fabs(decode(px) - h);
        if (err > tol + 1e-9)
            fail_msg("h = %.10g: decoded %.10g (RGB %d,%d,%d)", h, decode(px), px[0], px[1], px[2]);
        if (err > worst)
            worst = err;
    }
    print_message("%s: worst decoding error %.6f m over %d heights\n",
                  kind == ALGO_TERRAINRGB ? "terrainrgb" : "terrarium", worst, SIZE * SIZE);
    free(elev);
    free(rgba);
}

static void test_terrainrgb_roundtrip(void **state)
{
    (void)state;
    check_encoding(ALGO_TERRAINRGB, decode_terrainrgb, 0.05);
}

static void test_terrarium_roundtrip(void **state)
{
    (void)state;
    check_encoding(ALGO_TERRARIUM, decode_terrarium, 1.0 / 256.0);
}

/* Known codes (worked by hand from the formulas), clamping, and no data. */
static void test_encoding_values(void **state)
{
    (void)state;
    static const struct {
        enum algo_kind kind;
        double h;
        uint8_t r, g, b;
    } cases[] = {
        /* (h + 10000) * 10 = 100000 = 0x0186A0 */
        { ALGO_TERRAINRGB, 0, 0x01, 0x86, 0xA0 },
        { ALGO_TERRAINRGB, -10000, 0, 0, 0 },
        { ALGO_TERRAINRGB, -10000.04, 0, 0, 0 },
        { ALGO_TERRAINRGB, -10000.06, 0, 0, 0 },
        { ALGO_TERRAINRGB, -20000, 0, 0, 0 },
        { ALGO_TERRAINRGB, -1e300, 0, 0, 0 },
        { ALGO_TERRAINRGB, -9999.9, 0, 0, 1 },
        { ALGO_TERRAINRGB, 1667721.5, 255, 255, 255 }, /* the largest code */
        { ALGO_TERRAINRGB, 1667721.6, 255, 255, 255 },
        { ALGO_TERRAINRGB, 1e300, 255, 255, 255 },
        /* 8848.86: 188488.6 -> 188489 = 0x02E049 */
        { ALGO_TERRAINRGB, 8848.86, 0x02, 0xE0, 0x49 },
        /* v = 32768 -> 0x80 0x00, 0 */
        { ALGO_TERRARIUM, 0, 128, 0, 0 },
        /* v = 32767.7: R 127, G 255, B floor(0.7*256) = 179 */
        { ALGO_TERRARIUM, -0.3, 127, 255, 179 },
        { ALGO_TERRARIUM, 0.5, 128, 0, 128 },
        { ALGO_TERRARIUM, 8848, 162, 144, 0 }, /* 41616 = 162*256 + 144 */
        { ALGO_TERRARIUM, -32768, 0, 0, 0 },
        { ALGO_TERRARIUM, -40000, 0, 0, 0 },
        { ALGO_TERRARIUM, -1e300, 0, 0, 0 },
        { ALGO_TERRARIUM, 32767 + 255.0 / 256, 255, 255, 255 },
        { ALGO_TERRARIUM, 32767.999, 255, 255, 255 },
        { ALGO_TERRARIUM, 40000, 255, 255, 255 },
        { ALGO_TERRARIUM, 1e300, 255, 255, 255 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t px[4];
        assert_int_equal(algo_render(cases[i].kind, &cases[i].h, NULL, 1, 0, 1, 1, NULL, px), CT_OK);
        if (px[0] != cases[i].r || px[1] != cases[i].g || px[2] != cases[i].b || px[3] != 255)
            fail_msg("case %zu (h = %.10g): got %d,%d,%d,%d want %d,%d,%d,255", i, cases[i].h,
                     px[0], px[1], px[2], px[3], cases[i].r, cases[i].g, cases[i].b);
    }
    /* No data: the mask, and non-finite heights even where the mask says valid. */
    const double elev[6] = { 100, 200, NAN, INFINITY, -INFINITY, 300 };
    const uint8_t valid[6] = { 1, 0, 1, 1, 1, 1 };
    for (int kind = ALGO_TERRAINRGB; kind <= ALGO_TERRARIUM; kind++) {
        for (int i = 0; i < 6; i++) {
            uint8_t px[4];
            assert_int_equal(algo_render((enum algo_kind)kind, &elev[i], &valid[i], 1, 0, 1, 1,
                                         NULL, px),
                             CT_OK);
            const int want_alpha = (i == 0 || i == 5) ? 255 : 0;
            assert_int_equal(px[3], want_alpha);
            if (!want_alpha)
                assert_true(px[0] == 0 && px[1] == 0 && px[2] == 0);
        }
    }
}

/* ---- hillshade: synthetic surfaces ------------------------------------------------- */

/* A flat surface is lit at sin(altitude) whatever the azimuth: 1 + 254*sin(alt) rounded. */
static void test_hillshade_flat(void **state)
{
    (void)state;
    enum { SIZE = 16, SIDE = SIZE + 2 };
    double elev[SIDE * SIDE];
    uint8_t rgba[SIZE * SIZE * 4];
    for (int i = 0; i < SIDE * SIDE; i++)
        elev[i] = 1234.5;
    static const double alts[] = { 0, 10, 30, 45, 60, 89, 90 };
    for (size_t a = 0; a < sizeof alts / sizeof alts[0]; a++) {
        for (double az = 0; az < 360; az += 45) {
            struct algo_params p = { az, alts[a], 3 };
            assert_int_equal(algo_render(ALGO_HILLSHADE, elev, NULL, SIZE, 1, 2.5, 2.5, &p, rgba),
                             CT_OK);
            const int want = (int)floor(1.0 + 254.0 * sin(alts[a] * M_PI / 180) + 0.5);
            for (int i = 0; i < SIZE * SIZE; i++) {
                if (rgba[4 * i] != want || rgba[4 * i + 1] != want || rgba[4 * i + 2] != want ||
                    rgba[4 * i + 3] != 255)
                    fail_msg("alt %g az %g pixel %d: %d, want %d", alts[a], az, i, rgba[4 * i],
                             want);
            }
        }
    }
    /* The defaults (alt 45): 1 + 254 * 0.7071 = 180.6 -> 181. */
    assert_int_equal(algo_render(ALGO_HILLSHADE, elev, NULL, SIZE, 1, 1, 1, NULL, rgba), CT_OK);
    assert_int_equal(rgba[0], 181);
}

/* Tilted planes against the Lambertian cosine, for several lights, z factors and
 * non-square ground pixels: this pins the orientation (north up, azimuth clockwise). */
static void test_hillshade_planes(void **state)
{
    (void)state;
    enum { SIZE = 4, SIDE = SIZE + 2 };
    static const struct {
        double dhde, dhdn; /* metres per metre */
    } planes[] = { { 0.5, 0 }, { -0.5, 0 }, { 0, 0.5 }, { 0, -0.5 }, { 0.3, -0.7 },
                   { 2, 1 },   { -1.5, 3 }, { 0.01, 0.02 } };
    static const struct algo_params lights[] = { { 315, 45, 1 }, { 0, 30, 1 },   { 90, 60, 2 },
                                                 { 180, 10, 0.5 }, { 270, 80, 1 }, { 45, 0, 1 },
                                                 { 200, 90, 1 } };
    static const double res[][2] = { { 1, 1 }, { 2.5, 2.5 }, { 3, 1.5 } };
    int exact = 0, total = 0;
    for (size_t pl = 0; pl < sizeof planes / sizeof planes[0]; pl++)
        for (size_t li = 0; li < sizeof lights / sizeof lights[0]; li++)
            for (size_t re = 0; re < sizeof res / sizeof res[0]; re++) {
                const double rx = res[re][0], ry = res[re][1];
                const struct algo_params *p = &lights[li];
                double elev[SIDE * SIDE];
                uint8_t rgba[SIZE * SIZE * 4];
                for (int r = 0; r < SIDE; r++)
                    for (int c = 0; c < SIDE; c++) /* row r is (r * ry) metres south */
                        elev[r * SIDE + c] =
                            100 + planes[pl].dhde * c * rx - planes[pl].dhdn * r * ry;
                assert_int_equal(algo_render(ALGO_HILLSHADE, elev, NULL, SIZE, 1, rx, ry, p, rgba),
                                 CT_OK);
                const double cang = lambert(p->zfactor * planes[pl].dhde,
                                            p->zfactor * planes[pl].dhdn, p->azimuth, p->altitude);
                const double f = cang <= 0 ? 1.0 : 1.0 + 254.0 * cang;
                const int want = (int)floor(f + 0.5);
                const int near_tie = fabs(f - floor(f) - 0.5) < 1e-6;
                for (int i = 0; i < SIZE * SIZE; i++) {
                    const int got = rgba[4 * i];
                    total++;
                    exact += got == want;
                    if (got != want && !(near_tie && abs(got - want) <= 1))
                        fail_msg("plane %zu light %zu res %zu: got %d, want %d (%.6f)", pl, li, re,
                                 got, want, f);
                    assert_int_equal(rgba[4 * i + 3], 255);
                }
            }
    print_message("tilted planes: %d/%d pixels equal to the Lambertian reference\n", exact, total);
}

/* One invalid pixel blanks itself and its 8 neighbours, whether it lies in the tile or in
 * the pad; a NaN elevation counts as invalid too. */
static void test_hillshade_nodata(void **state)
{
    (void)state;
    enum { SIZE = 8, SIDE = SIZE + 2 };
    double elev[SIDE * SIDE];
    uint8_t valid[SIDE * SIDE], rgba[SIZE * SIZE * 4];
    static const struct {
        int r, c; /* in the padded grid */
        int nan;
    } holes[] = { { 4, 5, 0 }, { 0, 0, 0 }, { 9, 9, 0 }, { 0, 5, 0 }, { 1, 1, 0 }, { 6, 3, 1 } };
    for (size_t h = 0; h < sizeof holes / sizeof holes[0]; h++) {
        for (int i = 0; i < SIDE * SIDE; i++) {
            elev[i] = 500 + 3 * (i % SIDE) + 2 * (i / SIDE);
            valid[i] = 1;
        }
        const int hr = holes[h].r, hc = holes[h].c;
        if (holes[h].nan)
            elev[hr * SIDE + hc] = NAN;
        else
            valid[hr * SIDE + hc] = 0;
        assert_int_equal(algo_render(ALGO_HILLSHADE, elev, valid, SIZE, 1, 2, 2, NULL, rgba), CT_OK);
        for (int r = 0; r < SIZE; r++)
            for (int c = 0; c < SIZE; c++) {
                const uint8_t *px = rgba + 4 * (r * SIZE + c);
                const int blank = abs(r + 1 - hr) <= 1 && abs(c + 1 - hc) <= 1;
                if (blank != (px[3] == 0))
                    fail_msg("hole %zu at (%d,%d): pixel (%d,%d) alpha %d", h, hr, hc, r, c, px[3]);
                if (blank)
                    assert_true(px[0] == 0 && px[1] == 0 && px[2] == 0);
                else
                    assert_true(px[0] >= 1 && px[0] == px[1] && px[1] == px[2]);
            }
    }
}

/* A wider pad changes nothing but the indexing: the same surface rendered with pad 1 and
 * pad 3 gives the same pixels. */
static void test_hillshade_pad(void **state)
{
    (void)state;
    enum { SIZE = 32 };
    const int side1 = SIZE + 2, side3 = SIZE + 6;
    double *e1 = malloc((size_t)side1 * side1 * sizeof *e1);
    double *e3 = malloc((size_t)side3 * side3 * sizeof *e3);
    uint8_t *a = alloc_rgba(SIZE), *b = alloc_rgba(SIZE);
    assert_non_null(e1);
    assert_non_null(e3);
    for (int r = 0; r < side3; r++)
        for (int c = 0; c < side3; c++) {
            const double v = 800 + 40 * sin(r * 0.3) * cos(c * 0.21) + 0.37 * r * c;
            e3[r * side3 + c] = v;
            if (r >= 2 && r < side3 - 2 && c >= 2 && c < side3 - 2)
                e1[(r - 2) * side1 + (c - 2)] = v;
        }
    const struct algo_params p = { 100, 35, 1.7 };
    assert_int_equal(algo_render(ALGO_HILLSHADE, e1, NULL, SIZE, 1, 1.3, 1.1, &p, a), CT_OK);
    assert_int_equal(algo_render(ALGO_HILLSHADE, e3, NULL, SIZE, 3, 1.3, 1.1, &p, b), CT_OK);
    assert_memory_equal(a, b, (size_t)SIZE * SIZE * 4);
    free(e1);
    free(e3);
    free(a);
    free(b);
}

/* ---- hillshade: differential test against gdaldem ---------------------------------- */

/* Tile 16/34060/23335 lies inside dem.tif (lon 7.0972..7.1027, lat 45.9168..45.9206 against
 * the data's 7.091..7.104, 45.917..45.926); the window adds a 1-pixel margin around it. */
enum { TZ = 16, TX = 34060, TY = 23335, TSIZE = 256 };

struct window {
    double *elev; /* (TSIZE + 2)^2 warped elevations */
    uint8_t *valid;
    double gt[6];
    double coslat; /* at the window centre */
};

/* Warps the window and reads it back. x_stretch scales it east-west, making the pixels
 * non-square. by_res: ask gdalwarp for the pixel size (-tr), which it then writes as is,
 * so the pixels are exactly square (gdaldem's same-resolution path); otherwise for the
 * pixel count (-ts), which divides the two extents and leaves the pixel width and height
 * some 1e-12 apart (gdaldem's general path). */
static void make_window(const char *path, double x_stretch, int by_res, struct window *w)
{
    const double s = 2 * MERC_ORIGIN / (double)(1 << TZ), px = s / TSIZE;
    const double minx = -MERC_ORIGIN + TX * s, maxy = MERC_ORIGIN - TY * s;
    const double maxx = minx + s, miny = maxy - s;
    const double cx = (minx + maxx) / 2, cy = (miny + maxy) / 2;
    const double half_w = (s / 2 + px) * x_stretch, half_h = s / 2 + px;
    char size[128], cmd[1024];
    if (by_res)
        snprintf(size, sizeof size, "-tr %.17g %.17g", 2 * half_w / (TSIZE + 2),
                 2 * half_h / (TSIZE + 2));
    else
        snprintf(size, sizeof size, "-ts %d %d", TSIZE + 2, TSIZE + 2);
    snprintf(cmd, sizeof cmd,
             "gdalwarp -q -overwrite -t_srs EPSG:3857 -te %.17g %.17g %.17g %.17g %s "
             "-r bilinear " DEM " %s",
             cx - half_w, cy - half_h, cx + half_w, cy + half_h, size, path);
    run(cmd);
    int ww, hh, has_nd;
    double nd;
    w->elev = read_raster(path, &ww, &hh, w->gt, &has_nd, &nd);
    assert_int_equal(ww, TSIZE + 2);
    assert_int_equal(hh, TSIZE + 2);
    const size_t n = (size_t)ww * (size_t)hh;
    w->valid = malloc(n);
    assert_non_null(w->valid);
    for (size_t i = 0; i < n; i++) {
        w->valid[i] = !(has_nd && w->elev[i] == nd);
        if (!w->valid[i])
            fail_msg("%s: pixel %zu is nodata: the window is not inside the DEM", path, i);
    }
    w->coslat = cos(atan(sinh(cy / MERC_R)));
}

/* Writes a copy of the window with some pixels set to nodata, for gdaldem. */
static void punch_holes(const char *src, const char *dst, struct window *w)
{
    static const int holes[][2] = { { 0, 0 }, { 10, 20 }, { 11, 22 }, { 100, 257 }, { 200, 5 },
                                    { 257, 130 }, { 128, 128 } };
    GDALDatasetH in = GDALOpen(src, GA_ReadOnly);
    assert_non_null(in);
    GDALDatasetH out = GDALCreateCopy(GDALGetDriverByName("GTiff"), dst, in, FALSE, NULL, NULL,
                                      NULL);
    assert_non_null(out);
    GDALClose(in);
    GDALRasterBandH b = GDALGetRasterBand(out, 1);
    int has_nd;
    const double nd = GDALGetRasterNoDataValue(b, &has_nd);
    assert_true(has_nd);
    const float ndf = (float)nd;
    for (size_t i = 0; i < sizeof holes / sizeof holes[0]; i++) {
        const int r = holes[i][0], c = holes[i][1];
        assert_int_equal(GDALRasterIO(b, GF_Write, c, r, 1, 1, (void *)&ndf, 1, 1, GDT_Float32, 0,
                                      0),
                         CE_None);
        w->valid[(size_t)r * (TSIZE + 2) + (size_t)c] = 0;
    }
    GDALClose(out);
}

/* Runs gdaldem hillshade with args on src and compares its interior with algo_render.
 * p NULL: gdaldem's defaults against ours. Returns the share of identical pixels. */
static double compare_gdaldem(const char *label, const char *src, const struct window *w,
                              const char *args, const struct algo_params *p)
{
    char cmd[1024];
    const char *ref_path = OUT_DIR "/ref.tif";
    snprintf(cmd, sizeof cmd, "gdaldem hillshade -q %s -s %.17g %s %s", args, w->coslat, src,
             ref_path);
    run(cmd);
    int rw, rh, has_nd;
    double gt[6], nd;
    double *ref = read_raster(ref_path, &rw, &rh, gt, &has_nd, &nd);
    assert_int_equal(rw, TSIZE + 2);
    assert_int_equal(rh, TSIZE + 2);

    uint8_t *rgba = alloc_rgba(TSIZE);
    const double res_x = w->gt[1] * w->coslat, res_y = -w->gt[5] * w->coslat;
    assert_int_equal(algo_render(ALGO_HILLSHADE, w->elev, w->valid, TSIZE, 1, res_x, res_y, p, rgba),
                     CT_OK);
    long equal = 0, off_by_one = 0, blank = 0;
    for (int r = 0; r < TSIZE; r++)
        for (int c = 0; c < TSIZE; c++) {
            const double want = ref[(size_t)(r + 1) * (TSIZE + 2) + (size_t)(c + 1)];
            const uint8_t *px = rgba + 4 * (r * TSIZE + c);
            if (want == 0) { /* gdaldem's nodata */
                blank++;
                if (px[3] != 0)
                    fail_msg("%s (%d,%d): gdaldem nodata, ours %d alpha %d", label, r, c, px[0],
                             px[3]);
                equal++;
                continue;
            }
            if (px[3] != 255)
                fail_msg("%s (%d,%d): gdaldem %g, ours transparent", label, r, c, want);
            const double d = fabs(px[0] - want);
            if (d == 0)
                equal++;
            else if (d <= 1)
                off_by_one++;
            else
                fail_msg("%s (%d,%d): gdaldem %g, ours %d", label, r, c, want, px[0]);
        }
    const double share = (double)equal / (TSIZE * TSIZE);
    print_message("%-40s %7.3f%% identical to gdaldem (%ld off by one, %ld nodata)\n", label,
                  100 * share, off_by_one, blank);
    free(ref);
    free(rgba);
    return share;
}

static void test_hillshade_vs_gdaldem(void **state)
{
    (void)state;
    if (mkdir(OUT_DIR, 0777) != 0 && errno != EEXIST)
        fail_msg("mkdir " OUT_DIR ": %s", strerror(errno));
    GDALAllRegister();

    struct window w, sq, wide;
    make_window(OUT_DIR "/win.tif", 1.0, 0, &w);
    make_window(OUT_DIR "/win_square.tif", 1.0, 1, &sq);
    make_window(OUT_DIR "/win_narrow.tif", 0.7, 0, &wide);
    assert_true(w.gt[1] != -w.gt[5]);
    assert_true(sq.gt[1] == -sq.gt[5]);
    static const struct {
        const char *label, *args;
        struct algo_params p;
    } cases[] = {
        { "az 30 alt 60", "-az 30 -alt 60", { 30, 60, 1 } },
        { "az 135 alt 25 z 3", "-az 135 -alt 25 -z 3", { 135, 25, 3 } },
        { "az 270 alt 10 z 0.4", "-az 270 -alt 10 -z 0.4", { 270, 10, 0.4 } },
        { "az 200 alt 89 z 10", "-az 200 -alt 89 -z 10", { 200, 89, 10 } },
    };
    assert_true(compare_gdaldem("defaults", OUT_DIR "/win.tif", &w, "", NULL) >= 0.999);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_true(compare_gdaldem(cases[i].label, OUT_DIR "/win.tif", &w, cases[i].args,
                                    &cases[i].p) >= 0.999);
    assert_true(compare_gdaldem("defaults, square pixels", OUT_DIR "/win_square.tif", &sq, "",
                                NULL) >= 0.999);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "%s, square pixels", cases[i].label);
        assert_true(compare_gdaldem(label, OUT_DIR "/win_square.tif", &sq, cases[i].args,
                                    &cases[i].p) >= 0.999);
    }
    assert_true(compare_gdaldem("defaults, 0.7:1 pixels", OUT_DIR "/win_narrow.tif", &wide, "", NULL) >=
                0.999);
    assert_true(compare_gdaldem("az 135 alt 25 z 3, 0.7:1 pixels", OUT_DIR "/win_narrow.tif", &wide,
                                "-az 135 -alt 25 -z 3", &cases[1].p) >= 0.999);
    punch_holes(OUT_DIR "/win.tif", OUT_DIR "/win_holes.tif", &w);
    assert_true(compare_gdaldem("defaults, 7 nodata pixels", OUT_DIR "/win_holes.tif", &w, "",
                                NULL) >= 0.999);

    free(w.elev);
    free(w.valid);
    free(sq.elev);
    free(sq.valid);
    free(wide.elev);
    free(wide.valid);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_terrainrgb_roundtrip),
        cmocka_unit_test(test_terrarium_roundtrip),
        cmocka_unit_test(test_encoding_values),
        cmocka_unit_test(test_hillshade_flat),
        cmocka_unit_test(test_hillshade_planes),
        cmocka_unit_test(test_hillshade_nodata),
        cmocka_unit_test(test_hillshade_pad),
        cmocka_unit_test(test_hillshade_vs_gdaldem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
