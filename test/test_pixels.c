/* Differential pixel test: every tile of test/data/tiles.txt is rendered by
 * cogtiler (through the handler) and by GDAL's own `gdalwarp -t_srs EPSG:3857
 * -te <tile bounds> -ts 256 256 -r near -dstalpha`, and the two are compared
 * pixel by pixel: transparency, and colour where both are opaque. The tile
 * bounds come from the test's own tile formula (testutil.h), not src/.
 *   RGB(A) Byte sources: the warped RGB must match exactly.
 *   Paletted sources:   the warped index looked up in the source colour table.
 *   Other single bands: the warped value linearly rescaled (to gray) by this
 *                       test, with the range passed to cogtiler as rescale=.
 * Required share of identical pixels: 99% at native, over-zoom and edge tiles,
 * 97% at world and overview zooms (the overview choice may differ). An
 * "outside" tile must be 404 from cogtiler and fully transparent in gdalwarp.
 * A tile below 100% must also be listed in KNOWN_BELOW_100 with the reason,
 * or it fails: a change of behaviour is looked at, not absorbed by the margin.
 * The tiles come from test/data/tiles.txt and test/tiles-extra.txt. */
#include "testutil.h"
#include "testapp.h"

#include <gdal.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>

#include "app.h"
#include "err.h"
#include "handler.h"

#define MAX_TILES 256
#define MAX_FIXTURES 64
#define TS 256

struct tile_case {
    char fixture[160];
    char kind[16];
    int z;
    unsigned long long x, y;
    char resampling[16]; /* optional "resampling=NAME" column: -r NAME for gdalwarp */
    char nodata[32];     /* optional "nodata=V" column: -srcnodata V for gdalwarp */
};

struct fixture {
    const char *path; /* into the first case */
    char layer[8];
    struct tile_case *cases[32];
    int ncases;
};

static struct tile_case cases[MAX_TILES];
static int ncases;
static struct fixture fixtures[MAX_FIXTURES];
static int nfixtures;

/* Tiles known to be below 100%, and why. None today: with GDAL 3.6.2 (Debian
 * 12) every listed tile matches gdalwarp pixel for pixel (within one level for
 * interpolating kernels), through the warp path and the direct read of
 * EPSG:3857 sources alike. */
static const struct {
    const char *fixture, *zxy, *why;
} KNOWN_BELOW_100[] = {
    { NULL, NULL, NULL },
};

/* Web Mercator COGs (three on the z9 grid, one off it) made from the CC0 rasterio scenes with GDAL's
 * own tools, one per kind of transparency of the direct read path. */
static int make_derived(void)
{
    static const char *const cmds[] = {
        "gdal_translate -q -of COG -co TILING_SCHEME=GoogleMapsCompatible -co COMPRESS=DEFLATE "
        "test/data/rasterio/RGB.byte.tif test/out/derived/rgb_3857_nodata.tif",
        "gdal_translate -q -of COG -co TILING_SCHEME=GoogleMapsCompatible -co COMPRESS=DEFLATE "
        "test/data/rasterio/RGBA.byte.tif test/out/derived/rgba_3857_alpha.tif",
        "gdal_translate -q -of COG -co COMPRESS=DEFLATE -b 1 -b 2 -b 3 -mask 4 "
        "test/out/derived/rgba_3857_alpha.tif test/out/derived/rgb_3857_mask.tif",
        /* off the tile grid: 250 m pixels from an arbitrary origin */
        "gdalwarp -q -overwrite -of COG -t_srs EPSG:3857 -tr 250 250 -co COMPRESS=DEFLATE "
        "test/data/rasterio/RGB.byte.tif test/out/derived/rgb_3857_unaligned.tif",
    };
    mkdir("test/out", 0755);
    mkdir("test/out/derived", 0755);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s 2>/dev/null", cmds[i]);
        if (system(cmd) != 0) {
            fprintf(stderr, "failed: %s\n", cmds[i]);
            return -1;
        }
    }
    return 0;
}

static int load_cases(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        struct tile_case c;
        char opt[2][64] = { "", "" };
        memset(&c, 0, sizeof c);
        if (line[0] == '#' || line[0] == '\n')
            continue;
        int n = sscanf(line, "%159s %15s %d %llu %llu %63s %63s", c.fixture, c.kind, &c.z, &c.x,
                       &c.y, opt[0], opt[1]);
        if (n < 5 || ncases == MAX_TILES) {
            fclose(f);
            return -1;
        }
        for (int i = 0; i < 2; i++) {
            if (sscanf(opt[i], "resampling=%15s", c.resampling) == 1 ||
                sscanf(opt[i], "nodata=%31s", c.nodata) == 1 || !opt[i][0])
                continue;
            fclose(f);
            return -1;
        }
        cases[ncases++] = c;
    }
    fclose(f);
    return 0;
}

static int group_fixtures(void)
{
    for (int i = 0; i < ncases; i++) {
        struct fixture *fx = NULL;
        for (int j = 0; j < nfixtures; j++)
            if (!strcmp(fixtures[j].path, cases[i].fixture))
                fx = &fixtures[j];
        if (!fx) {
            if (nfixtures == MAX_FIXTURES)
                return -1;
            fx = &fixtures[nfixtures];
            fx->path = cases[i].fixture;
            snprintf(fx->layer, sizeof fx->layer, "f%d", nfixtures);
            nfixtures++;
        }
        if (fx->ncases == 32)
            return -1;
        fx->cases[fx->ncases++] = &cases[i];
    }
    return 0;
}

static int setup_app(void **state)
{
    (void)state;
    /* One layer per fixture. */
    char *json = malloc(65536);
    size_t n = (size_t)snprintf(json, 65536, "{\"layers\":{");
    for (int i = 0; i < nfixtures; i++)
        n += (size_t)snprintf(json + n, 65536 - n, "%s\"%s\":{\"source\":\"%s\"}", i ? "," : "",
                              fixtures[i].layer, fixtures[i].path);
    snprintf(json + n, 65536 - n, "}}");
    mkdir("test/out", 0755);
    mkdir("test/out/pixels", 0755);
    int rc = test_app_open(json, "test/data");
    free(json);
    return rc;
}

/* The reference: gdalwarp run as a separate program on the same window. */
static GDALDatasetH reference(const struct tile_case *c, const char *out)
{
    /* The window from the tile formula in testutil.h, not from src/. */
    const struct test_bounds b = test_tile_bounds(c->z, c->x, c->y);
    char cmd[1024], nodata[64] = "";
    if (c->nodata[0])
        snprintf(nodata, sizeof nodata, "-srcnodata %s", c->nodata);
    snprintf(cmd, sizeof cmd,
             "gdalwarp -q -overwrite -t_srs EPSG:3857 -te %.17g %.17g %.17g %.17g -ts %d %d "
             "-r %s %s -dstalpha -of GTiff 'test/data/%s' '%s' 2>/dev/null",
             b.minx, b.miny, b.maxx, b.maxy, TS, TS,
             c->resampling[0] ? (strcmp(c->resampling, "nearest") ? c->resampling : "near")
                              : "near",
             nodata, c->fixture, out);
    if (system(cmd) != 0)
        fail_msg("gdalwarp failed: %s", cmd);
    GDALDatasetH ds = GDALOpen(out, GA_ReadOnly);
    assert_non_null(ds);
    return ds;
}

static double *read_band(GDALDatasetH ds, int band)
{
    double *v = malloc(sizeof(double) * TS * TS);
    assert_non_null(v);
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, band), GF_Read, 0, 0, TS, TS, v, TS, TS,
                                  GDT_Float64, 0, 0),
                     CE_None);
    return v;
}

static const char *known_reason(const char *fixture, const char *zxy)
{
    for (size_t i = 0; i < sizeof KNOWN_BELOW_100 / sizeof KNOWN_BELOW_100[0]; i++)
        if (KNOWN_BELOW_100[i].fixture && !strcmp(KNOWN_BELOW_100[i].fixture, fixture) &&
            !strcmp(KNOWN_BELOW_100[i].zxy, zxy))
            return KNOWN_BELOW_100[i].why;
    return NULL;
}

/* Compares one tile; returns 1 when it meets its threshold. */
static int check_tile(const struct fixture *fx, const struct tile_case *c)
{
    char out[256], zxy[64], path[256], rs[96];
    snprintf(zxy, sizeof zxy, "%d/%llu/%llu", c->z, c->x, c->y);
    snprintf(out, sizeof out, "test/out/pixels/%s_%d_%llu_%llu_%s_%s.tif", fx->layer, c->z, c->x,
             c->y, c->resampling, c->nodata);
    if (c->resampling[0] || c->nodata[0])
        snprintf(zxy + strlen(zxy), sizeof zxy - strlen(zxy), " %s%s%s", c->resampling,
                 c->resampling[0] && c->nodata[0] ? " nodata=" : c->nodata[0] ? "nodata=" : "",
                 c->nodata);
    GDALDatasetH ref = reference(c, out);
    const int nb = GDALGetRasterCount(ref), ndata = nb - 1;
    double *alpha = read_band(ref, nb);
    int ref_valid = 0;
    for (int i = 0; i < TS * TS; i++)
        ref_valid += alpha[i] > 0;

    /* Source properties, read with GDAL directly. */
    char srcpath[256];
    snprintf(srcpath, sizeof srcpath, "test/data/%s", c->fixture);
    GDALDatasetH src = GDALOpen(srcpath, GA_ReadOnly);
    assert_non_null(src);
    GDALRasterBandH sb1 = GDALGetRasterBand(src, 1);
    GDALColorTableH ct = ndata == 1 ? GDALGetRasterColorTable(sb1) : NULL;
    const int rgb = ndata >= 3;

    double *v[3] = { NULL, NULL, NULL };
    for (int b = 0; b < (rgb ? 3 : 1); b++)
        v[b] = read_band(ref, b + 1);
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    if (!rgb && !ct) {
        for (int i = 0; i < TS * TS; i++)
            if (alpha[i] > 0 && !isnan(v[0][i])) {
                lo = fmin(lo, v[0][i]);
                hi = fmax(hi, v[0][i]);
            }
        if (!(lo < hi)) { /* empty or constant tile: any valid range */
            lo = isfinite(lo) ? lo : 0;
            hi = lo + 1;
        }
    }
    struct kv q[4];
    size_t nq = 0;
    if (c->resampling[0])
        q[nq++] = (struct kv){ "resampling", c->resampling };
    if (c->nodata[0])
        q[nq++] = (struct kv){ "nodata", c->nodata };
    if (!rgb && !ct) {
        snprintf(rs, sizeof rs, "%.17g,%.17g", lo, hi);
        q[nq++] = (struct kv){ "colormap_name", "gray" };
        q[nq++] = (struct kv){ "rescale", rs };
    }
    snprintf(path, sizeof path, "/tiles/%s/%d/%llu/%llu.png", fx->layer, c->z, c->x, c->y);
    struct request req = { .method = "GET", .path = path, .query = q, .nquery = nq, .headers = NULL,
                           .nheaders = 0, .deadline_ms = 0, .base_path = NULL };
    struct response resp;
    handler_handle(worker, &req, &resp);

    int pass;
    double pct = 0;
    if (!strcmp(c->kind, "outside")) {
        pass = resp.status == 404 && ref_valid == 0;
        printf("  %-56s %-8s %-22s status %d, reference valid px %d -> %s\n", c->fixture, c->kind,
               zxy, resp.status, ref_valid, pass ? "ok" : "FAIL");
        goto done;
    }
    if (resp.status != 200) {
        /* cogtiler may answer 404 for a tile whose bbox misses the data only
         * when gdalwarp finds no valid pixel either. */
        pass = resp.status == 404 && ref_valid == 0;
        printf("  %-56s %-8s %-22s status %d (%s), reference valid px %d -> %s\n", c->fixture,
               c->kind, zxy, resp.status, resp.detail, ref_valid, pass ? "ok" : "FAIL");
        goto done;
    }
    int w, h;
    uint8_t *px = test_decode_png(resp.body, resp.len, &w, &h, NULL);
    assert_non_null(px);
    assert_int_equal(w, TS);
    assert_int_equal(h, TS);
    /* Interpolating kernels: GDAL computes each value from the same source
     * pixels, but the approximate transformer places a padded window's pixel
     * centres a hair differently, so values may differ by one level. */
    const int tol = c->resampling[0] && strcmp(c->resampling, "nearest") ? 1 : 0;
    int same = 0, alpha_diff = 0;
    for (int i = 0; i < TS * TS; i++) {
        const uint8_t *o = px + 4 * i;
        int rvalid = alpha[i] > 0;
        uint8_t e[4] = { 0, 0, 0, 0 };
        if (rvalid) {
            if (rgb) {
                for (int b = 0; b < 3; b++)
                    e[b] = (uint8_t)v[b][i];
                e[3] = 255;
            } else if (ct) {
                const GDALColorEntry *ce = GDALGetColorEntry(ct, (int)v[0][i]);
                if (ce) {
                    e[0] = (uint8_t)ce->c1;
                    e[1] = (uint8_t)ce->c2;
                    e[2] = (uint8_t)ce->c3;
                    e[3] = (uint8_t)ce->c4;
                }
            } else if (!isnan(v[0][i])) {
                double t = (v[0][i] - lo) / (hi - lo) * 255.0;
                uint8_t g = t <= 0 ? 0 : t >= 255 ? 255 : (uint8_t)lround(t);
                e[0] = e[1] = e[2] = g;
                e[3] = 255;
            }
        }
        if (e[3] == 0 && o[3] == 0)
            same++;
        else if (e[3] == o[3] && abs(e[0] - o[0]) <= tol && abs(e[1] - o[1]) <= tol &&
                 abs(e[2] - o[2]) <= tol)
            same++;
        alpha_diff += (e[3] == 0) != (o[3] == 0);
    }
    free(px);
    pct = 100.0 * same / (TS * TS);
    double need = (!strcmp(c->kind, "world") || !strcmp(c->kind, "overview")) ? 97.0 : 99.0;
    const char *why = known_reason(c->fixture, zxy);
    /* Every tile matches gdalwarp exactly today; a tile that stops doing so
     * fails until it is understood and listed, even above the threshold. */
    pass = pct >= need && (pct == 100.0 || why);
    printf("  %-56s %-8s %-22s %7.3f%% %s (alpha differs %d px, need %.0f%%) -> %s%s%s\n",
           c->fixture, c->kind, zxy, pct, tol ? "within 1" : "identical", alpha_diff, need,
           pass ? "ok" : "FAIL",
           why ? "; known: " : "", why ? why : "");
    if (pct < 100.0 && !why)
        printf("    ^ below 100%% and not listed in KNOWN_BELOW_100: fails\n");
done:
    response_free(&resp);
    for (int b = 0; b < 3; b++)
        free(v[b]);
    free(alpha);
    GDALClose(src);
    GDALClose(ref);
    return pass;
}

static void test_fixture(void **state)
{
    const struct fixture *fx = *state;
    int failures = 0;
    for (int i = 0; i < fx->ncases; i++)
        failures += !check_tile(fx, fx->cases[i]);
    if (failures)
        fail_msg("%s: %d tile(s) below threshold", fx->path, failures);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    /* One cmocka test per fixture, built from the tile lists. */
    if (load_cases("test/data/tiles.txt") || load_cases("test/tiles-extra.txt") || ncases == 0 ||
        group_fixtures() || make_derived()) {
        fprintf(stderr, "cannot read the tile lists or make the derived fixtures\n");
        return 1;
    }
    struct CMUnitTest tests[MAX_FIXTURES];
    for (int i = 0; i < nfixtures; i++)
        tests[i] = (struct CMUnitTest){ fixtures[i].path, test_fixture, NULL, NULL, &fixtures[i] };
    return _cmocka_run_group_tests("pixels", tests, (size_t)nfixtures, setup_app,
                                   test_app_close);
}
