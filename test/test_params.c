/* Table-driven tests of the parameter module (params.h) and the lexical rules
 * it shares (parse.h): every case has a name, and a failure prints it. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

#include "config.h"
#include "err.h"
#include "params.h"
#include "parse.h"

#define Q(k, v) { k, v }

/* One query of up to 4 pairs. */
struct query {
    struct kv kv[4];
};

static size_t count(const struct query *q)
{
    size_t n = 0;
    while (n < 4 && q->kv[n].key)
        n++;
    return n;
}

static void test_tile_params(void **state)
{
    (void)state;
    static const struct layer_conf dem = { .name = "dem", .colormap = "viridis",
                                           .has_rescale = 1, .rescale_min = 0,
                                           .rescale_max = 3000 };
    static const struct {
        const char *name;
        struct query q;
        int defaults; /* use the "dem" layer's defaults */
        int scale;
        int want;
        const char *msg; /* in the message when want != 0 */
        int size, nrescale, nbands, has_nodata, has_custom;
        enum algo_kind algo;
        const char *resampling, *cmap;
    } cases[] = {
        { "no parameters", { { { 0 } } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "@2x path", { { { 0 } } }, 0, 2, CT_OK, NULL, 512, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "tilesize=512", { { Q("tilesize", "512") } }, 0, 1, CT_OK, NULL, 512, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "tilesize=300", { { Q("tilesize", "300") } }, 0, 1, CT_EINVAL, "tilesize", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "tilesize=", { { Q("tilesize", "") } }, 0, 1, CT_EINVAL, "tilesize", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "layer defaults", { { { 0 } } }, 1, 1, CT_OK, NULL, 256, 1, 0, 0, 0, ALGO_NONE, NULL, "viridis" },
        { "colormap_name over the default", { { Q("colormap_name", "terrain") } }, 1, 1, CT_OK, NULL, 256, 1, 0, 0, 0, ALGO_NONE, NULL, "terrain" },
        { "unknown colormap_name", { { Q("colormap_name", "nope") } }, 0, 1, CT_EINVAL, "colormap_name: unknown colormap \"nope\"", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "custom colormap", { { Q("colormap", "{\"1\": [255, 0, 0]}") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 1, ALGO_NONE, NULL, NULL },
        { "custom colormap with a layer default name", { { Q("colormap", "{\"1\": [255, 0, 0]}") } }, 1, 1, CT_OK, NULL, 256, 1, 0, 0, 1, ALGO_NONE, NULL, "viridis" },
        { "colormap and colormap_name", { { Q("colormap", "{\"1\": [255, 0, 0]}"), Q("colormap_name", "viridis") } }, 0, 1, CT_EINVAL, "not both", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "bad custom colormap", { { Q("colormap", "{\"x\": [1]}") } }, 0, 1, CT_EINVAL, "colormap: ", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "rescale overrides the default", { { Q("rescale", "5,6") } }, 1, 1, CT_OK, NULL, 256, 1, 0, 0, 0, ALGO_NONE, NULL, "viridis" },
        { "three rescales", { { Q("rescale", "0,1"), Q("rescale", "0,2"), Q("rescale", "0,3") } }, 0, 1, CT_OK, NULL, 256, 3, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "four rescales", { { Q("rescale", "0,1"), Q("rescale", "0,2"), Q("rescale", "0,3"), Q("rescale", "0,4") } }, 0, 1, CT_EINVAL, "at most 3", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "rescale min >= max", { { Q("rescale", "9,1") } }, 0, 1, CT_EINVAL, "rescale: expected MIN,MAX", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "bidx one band", { { Q("bidx", "2") } }, 0, 1, CT_OK, NULL, 256, 0, 1, 0, 0, ALGO_NONE, NULL, NULL },
        { "bidx three bands", { { Q("bidx", "4,3,2") } }, 0, 1, CT_OK, NULL, 256, 0, 3, 0, 0, ALGO_NONE, NULL, NULL },
        { "bidx two bands", { { Q("bidx", "1,2") } }, 0, 1, CT_EINVAL, "bidx", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "bidx 0", { { Q("bidx", "0") } }, 0, 1, CT_EINVAL, "bidx", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "nodata number", { { Q("nodata", "-9999") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 1, 0, ALGO_NONE, NULL, NULL },
        { "nodata nan", { { Q("nodata", "NaN") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 1, 0, ALGO_NONE, NULL, NULL },
        { "nodata garbage", { { Q("nodata", "x") } }, 0, 1, CT_EINVAL, "nodata", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "resampling nearest", { { Q("resampling", "nearest") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 0, ALGO_NONE, "near", NULL },
        { "resampling cubic", { { Q("resampling", "cubic") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 0, ALGO_NONE, "cubic", NULL },
        { "resampling lanczos", { { Q("resampling", "lanczos") } }, 0, 1, CT_EINVAL, "resampling", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "hillshade defaults to bilinear", { { Q("algorithm", "hillshade") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 0, ALGO_HILLSHADE, "bilinear", NULL },
        { "hillshade keeps a given resampling", { { Q("algorithm", "hillshade"), Q("resampling", "cubic") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 0, ALGO_HILLSHADE, "cubic", NULL },
        { "terrainrgb", { { Q("algorithm", "terrainrgb") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 0, ALGO_TERRAINRGB, NULL, NULL },
        { "unknown algorithm", { { Q("algorithm", "slope") } }, 0, 1, CT_EINVAL, "algorithm: expected", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "algorithm_params alone", { { Q("algorithm_params", "{}") } }, 0, 1, CT_EINVAL, "without algorithm", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "algorithm_params fine", { { Q("algorithm", "hillshade"), Q("algorithm_params", "{\"azimuth\": 90, \"z_factor\": 2}") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 0, ALGO_HILLSHADE, "bilinear", NULL },
        { "algorithm_params unknown key", { { Q("algorithm", "hillshade"), Q("algorithm_params", "{\"sun\": 1}") } }, 0, 1, CT_EINVAL, "algorithm_params", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "algorithm_params altitude 91", { { Q("algorithm", "hillshade"), Q("algorithm_params", "{\"angle_altitude\": 91}") } }, 0, 1, CT_EINVAL, "algorithm_params", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "algorithm_params z_factor 0", { { Q("algorithm", "hillshade"), Q("algorithm_params", "{\"z_factor\": 0}") } }, 0, 1, CT_EINVAL, "algorithm_params", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "algorithm_params not JSON", { { Q("algorithm", "hillshade"), Q("algorithm_params", "{") } }, 0, 1, CT_EINVAL, "algorithm_params", 0, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
        { "unknown parameters are ignored", { { Q("foo", "bar"), Q("url", "x") } }, 0, 1, CT_OK, NULL, 256, 0, 0, 0, 0, ALGO_NONE, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct request req = { .method = "GET", .path = "/", .query = cases[i].q.kv,
                               .nquery = count(&cases[i].q) };
        struct tile_params p;
        char msg[256] = "";
        int err = params_tile(&req, cases[i].defaults ? &dem : NULL, cases[i].scale, &p, msg,
                              sizeof msg);
        if (err != cases[i].want)
            fail_msg("%s: got %d (%s), want %d", cases[i].name, err, msg, cases[i].want);
        if (err) {
            if (!strstr(msg, cases[i].msg))
                fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, msg, cases[i].msg);
            continue;
        }
        const char *cm = p.cmap ? p.cmap->name : NULL;
        if (p.size != cases[i].size || p.nrescale != cases[i].nrescale ||
            p.nbands != cases[i].nbands || p.has_nodata != cases[i].has_nodata ||
            p.has_custom != cases[i].has_custom || p.algorithm != cases[i].algo ||
            (p.resampling != cases[i].resampling &&
             (!p.resampling || !cases[i].resampling ||
              strcmp(p.resampling, cases[i].resampling))) ||
            (cm != cases[i].cmap && (!cm || !cases[i].cmap || strcmp(cm, cases[i].cmap))))
            fail_msg("%s: size %d rescale %d bands %d nodata %d custom %d algo %d "
                     "resampling %s cmap %s",
                     cases[i].name, p.size, p.nrescale, p.nbands, p.has_nodata, p.has_custom,
                     (int)p.algorithm, p.resampling ? p.resampling : "-", cm ? cm : "-");
    }
}

/* The checks against the source's shape (made before any read). */
static void test_check(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct query q;
        int nbands, has_alpha;
        int want;
        const char *msg;
    } cases[] = {
        { "one band, nothing asked", { { { 0 } } }, 1, 0, CT_OK, NULL },
        { "bidx within the bands", { { Q("bidx", "3") } }, 3, 0, CT_OK, NULL },
        { "bidx names the alpha band", { { Q("bidx", "4") } }, 3, 1, CT_OK, NULL },
        { "bidx past the bands", { { Q("bidx", "4") } }, 3, 0, CT_EINVAL, "bidx: band 4 does not exist (the source has 3)" },
        { "bidx RGB past the bands", { { Q("bidx", "1,2,9") } }, 3, 0, CT_EINVAL, "band 9" },
        { "one rescale for RGB", { { Q("rescale", "0,1") } }, 3, 0, CT_OK, NULL },
        { "three rescales for RGB", { { Q("rescale", "0,1"), Q("rescale", "0,1"), Q("rescale", "0,1") } }, 3, 0, CT_OK, NULL },
        { "two rescales for RGB", { { Q("rescale", "0,1"), Q("rescale", "0,1") } }, 3, 0, CT_EINVAL, "one per band" },
        { "two rescales for one band", { { Q("rescale", "0,1"), Q("rescale", "0,1") } }, 1, 0, CT_EINVAL, "one range for a single band" },
        { "three rescales for bidx=1", { { Q("bidx", "1"), Q("rescale", "0,1"), Q("rescale", "0,1"), Q("rescale", "0,1") } }, 3, 0, CT_EINVAL, "single band" },
        { "hillshade on one band", { { Q("algorithm", "hillshade") } }, 1, 0, CT_OK, NULL },
        { "hillshade on bidx=2", { { Q("algorithm", "hillshade"), Q("bidx", "2") } }, 3, 0, CT_OK, NULL },
        { "hillshade on three bands", { { Q("algorithm", "hillshade"), Q("bidx", "1,2,3") } }, 3, 0, CT_EINVAL, "needs one band" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct request req = { .method = "GET", .path = "/", .query = cases[i].q.kv,
                               .nquery = count(&cases[i].q) };
        struct tile_params p;
        struct raster_info in = { .nbands = cases[i].nbands, .has_alpha = cases[i].has_alpha };
        char msg[256] = "";
        if (params_tile(&req, NULL, 1, &p, msg, sizeof msg))
            fail_msg("%s: params_tile refused it (%s)", cases[i].name, msg);
        int err = params_check(&p, &in, msg, sizeof msg);
        if (err != cases[i].want)
            fail_msg("%s: got %d (%s), want %d", cases[i].name, err, msg, cases[i].want);
        if (err && !strstr(msg, cases[i].msg))
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, msg, cases[i].msg);
    }
}

static void test_url(void **state)
{
    (void)state;
    const char *url = NULL;
    char msg[128];
    struct kv q[] = { { "url", "https://a.example/x.tif" }, { "url", "" } };
    struct request req = { .query = q, .nquery = 1 };
    assert_int_equal(params_url(&req, &url, msg, sizeof msg), CT_OK);
    assert_string_equal(url, "https://a.example/x.tif");
    req.query = q + 1;
    assert_int_equal(params_url(&req, &url, msg, sizeof msg), CT_EINVAL);
    assert_non_null(strstr(msg, "url: required"));
    req.nquery = 0;
    assert_int_equal(params_url(&req, &url, msg, sizeof msg), CT_EINVAL);
}

static void test_lexical(void **state)
{
    (void)state;
    static const struct {
        const char *name, *s;
        int want;
        double v;
    } decimals[] = {
        { "integer", "42", CT_OK, 42 },         { "negative", "-1.5", CT_OK, -1.5 },
        { "exponent", "1e3", CT_OK, 1000 },     { "underflow reads as zero", "1e-400", CT_OK, 0 },
        { "overflow", "1e999", CT_EINVAL, 0 },  { "nan", "nan", CT_EINVAL, 0 },
        { "inf", "inf", CT_EINVAL, 0 },         { "hex", "0x10", CT_EINVAL, 0 },
        { "space", " 1", CT_EINVAL, 0 },        { "empty", "", CT_EINVAL, 0 },
        { "trailing junk", "1a", CT_EINVAL, 0 }, { "two dots", "1..2", CT_EINVAL, 0 },
    };
    for (size_t i = 0; i < sizeof decimals / sizeof decimals[0]; i++) {
        double v = -7;
        int err = parse_decimal(decimals[i].s, strlen(decimals[i].s), &v);
        if (err != decimals[i].want || (!err && v != decimals[i].v))
            fail_msg("decimal %s (\"%s\"): got %d, %g", decimals[i].name, decimals[i].s, err, v);
        if (err && v != -7)
            fail_msg("decimal %s: wrote its result on failure", decimals[i].name);
    }
    static const struct {
        const char *name, *s;
        int ok;
    } names[] = {
        { "plain", "dem", 1 },           { "all characters", "a.b-c_D9", 1 },
        { "dot", ".", 0 },               { "dot dot", "..", 0 },
        { "three dots", "...", 1 },      { "empty", "", 0 },
        { "slash", "a/b", 0 },           { "space", "a b", 0 },
        { "quote", "a\"b", 0 },          { "angle", "a<b", 0 },
        { "64 characters", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1 },
        { "65 characters", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (parse_layer_name(names[i].s, strlen(names[i].s)) != names[i].ok)
            fail_msg("layer name %s (\"%s\"): want %d", names[i].name, names[i].s, names[i].ok);
}

static void test_range_param(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int want;
        double min, max;
    } cases[] = {
        { "0,255", CT_OK, 0, 255 },
        { "-9999.5,1e3", CT_OK, -9999.5, 1000 },
        { "1,1", CT_EINVAL, 0, 0 },
        { "2,1", CT_EINVAL, 0, 0 },
        { "1", CT_EINVAL, 0, 0 },
        { "", CT_EINVAL, 0, 0 },
        { ",", CT_EINVAL, 0, 0 },
        { "a,b", CT_EINVAL, 0, 0 },
        { "nan,1", CT_EINVAL, 0, 0 },
        { "0,inf", CT_EINVAL, 0, 0 },
        { "0,1e999", CT_EINVAL, 0, 0 },
        { "0x10,20", CT_EINVAL, 0, 0 },
        { "0,1,2", CT_EINVAL, 0, 0 },
        { " 0,1", CT_EINVAL, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double a = 0, b = 0;
        int err = params_range(cases[i].s, &a, &b);
        if (err != cases[i].want)
            fail_msg("\"%s\": got %d, want %d", cases[i].s, err, cases[i].want);
        if (!err) {
            assert_true(a == cases[i].min);
            assert_true(b == cases[i].max);
        }
    }
}

static void test_u64(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(parse_u64("0", 1, &v), CT_OK);
    assert_int_equal(v, 0);
    assert_int_equal(parse_u64("123456789012345", 15, &v), CT_OK);
    assert_int_equal(v, 123456789012345ULL);
    assert_int_equal(parse_u64("1234567890123456", 16, &v), CT_EINVAL);
    assert_int_equal(parse_u64("", 0, &v), CT_EINVAL);
    assert_int_equal(parse_u64("12a", 3, &v), CT_EINVAL);
    assert_int_equal(parse_u64("-1", 2, &v), CT_EINVAL);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tile_params),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_lexical),
        cmocka_unit_test(test_range_param),
        cmocka_unit_test(test_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
