/* Layer configuration: valid files, and each invalid one named clearly. */
#include "testutil.h"

#include "config.h"
#include "err.h"

static void test_valid(void **state)
{
    (void)state;
    struct config c;
    char msg[256] = "";
    const char *json = "{\"default_layer\":\"b\",\"layers\":{"
                       "\"a\":{\"source\":\"x.tif\"},"
                       "\"b\":{\"source\":\"/abs/y.tif\",\"colormap\":\"viridis\","
                       "\"rescale\":[-10,20.5],\"attribution\":\"\u00a9 Someone\"},"
                       "\"c\":{\"source\":\"https://example.invalid/z.tif\"},"
                       "\"s3\":{\"source\":\"s3://bucket/k/z.tif\",\"requester_pays\":true,"
                       "\"unsigned\":false},"
                       "\"d\":{\"source\":\"NETCDF:f.nc:var\"},"
                       "\"e\":{\"source\":\"dir/a:b.tif\",\"format\":\"webp\","
                       "\"resampling\":\"bilinear\",\"minzoom\":2,\"maxzoom\":9,"
                       "\"gcp_order\":3},"
                       "\"f\":{\"source\":\"s1.tif\",\"gcp_transform\":\"tps\"}}}";
    assert_int_equal(config_parse(json, "/base", &c, msg, sizeof msg), CT_OK);
    assert_int_equal(c.nlayers, 7);
    assert_int_equal(c.default_layer, 1);
    assert_string_equal(c.layers[0].source, "/base/x.tif");
    assert_string_equal(c.layers[1].source, "/abs/y.tif");
    assert_string_equal(c.layers[2].source, "/vsicurl/https://example.invalid/z.tif");
    assert_string_equal(c.layers[3].source, "/vsis3/bucket/k/z.tif");
    assert_true(c.layers[3].requester_pays && !c.layers[3].unsigned_s3);
    assert_string_equal(c.layers[4].source, "NETCDF:f.nc:var"); /* GDAL names as given */
    assert_string_equal(c.layers[5].source, "/base/dir/a:b.tif");
    assert_string_equal(c.layers[1].colormap, "viridis");
    assert_true(c.layers[1].has_rescale && c.layers[1].rescale_min == -10 &&
                c.layers[1].rescale_max == 20.5);
    assert_false(c.layers[0].has_rescale);
    assert_string_equal(c.layers[1].attribution, "\xc2\xa9 Someone");
    assert_null(c.layers[0].attribution);
    assert_int_equal(c.layers[5].format, IMG_WEBP);
    assert_int_equal(c.layers[0].format, IMG_PNG);
    assert_string_equal(c.layers[5].resampling, "bilinear");
    assert_null(c.layers[0].resampling);
    assert_true(c.layers[5].has_minzoom && c.layers[5].minzoom == 2 && c.layers[5].has_maxzoom &&
                c.layers[5].maxzoom == 9);
    assert_false(c.layers[0].has_minzoom || c.layers[0].has_maxzoom);
    assert_true(c.layers[5].gcp_order == 3 && !c.layers[5].gcp_tps);
    assert_true(c.layers[6].gcp_tps && c.layers[6].gcp_order == 0);
    assert_true(!c.layers[0].gcp_tps && c.layers[0].gcp_order == 0);
    assert_non_null(config_find(&c, "c", 1));
    assert_null(config_find(&c, "g", 1));
    config_free(&c);
    config_free(&c); /* idempotent */
}

static void test_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        { "", "not valid JSON" },
        { "{", "not valid JSON" },
        { "[]", "layers" },
        { "{\"layers\":{}}", "layers" },
        { "{\"layers\":[1]}", "layers" },
        { "{\"layers\":{\"a\":1}}", "must be an object" },
        { "{\"layers\":{\"a\":{}}}", "source" },
        { "{\"layers\":{\"a\":{\"source\":\"\"}}}", "source" },
        { "{\"layers\":{\"a\":{\"source\":5}}}", "source" },
        { "{\"layers\":{\"a b\":{\"source\":\"x\"}}}", "layer name" },
        { "{\"layers\":{\"..\":{\"source\":\"x\"}}}", "layer name" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"colormap\":\"nope\"}}}", "unknown colormap" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"rescale\":[2,1]}}}", "rescale" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"rescale\":[1]}}}", "rescale" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"attribution\":7}}}", "attribution" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"unsigned\":1}}}", "unsigned" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"format\":\"gif\"}}}", "format" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"format\":1}}}", "format" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"resampling\":\"lanczos2\"}}}", "resampling" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"minzoom\":1.5}}}", "minzoom" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"gcp_transform\":\"rpc\"}}}", "gcp_transform" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"gcp_order\":4}}}", "gcp_order" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"gcp_order\":1.5}}}", "gcp_order" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"gcp_order\":2,\"gcp_transform\":\"tps\"}}}",
          "gcp_order" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"maxzoom\":31}}}", "maxzoom" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"maxzoom\":\"9\"}}}", "maxzoom" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"minzoom\":5,\"maxzoom\":4}}}", "above" },
        { "{\"layers\":{\"a\":{\"source\":\"x\"}},\"allowed_url_prefixes\":\"https://a/\"}",
          "allowed_url_prefixes" },
        { "{\"layers\":{\"a\":{\"source\":\"x\"}},\"allowed_url_prefixes\":[\"ftp://a/\"]}",
          "ftp://a/" },
        { "{\"layers\":{\"a\":{\"source\":\"x\"}},\"allowed_url_prefixes\":[\"https://a/?q\"]}",
          "query" },
        { "{\"layers\":{\"a\":{\"source\":\"x\"}},\"dataset_ttl\":-5}", "dataset_ttl" },
        { "{\"layers\":{\"a\":{\"source\":\"x\"}},\"dataset_ttl\":1.5}", "dataset_ttl" },
        { "{\"layers\":{\"a\":{\"source\":\"x\",\"rescale\":\"0,1\"}}}", "rescale" },
        { "{\"layers\":{\"a\":{\"source\":\"x\"},\"a\":{\"source\":\"y\"}}}", "twice" },
        { "{\"default_layer\":\"q\",\"layers\":{\"a\":{\"source\":\"x\"}}}", "default_layer" },
        { "{\"default_layer\":3,\"layers\":{\"a\":{\"source\":\"x\"}}}", "default_layer" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config c;
        char msg[256] = "";
        int err = config_parse(cases[i].json, NULL, &c, msg, sizeof msg);
        if (err != CT_ECONFIG || !strstr(msg, cases[i].needle))
            fail_msg("%s: err %d msg \"%s\", want \"%s\"", cases[i].json, err, msg,
                     cases[i].needle);
        assert_null(c.layers);
    }
}

static void test_load_file(void **state)
{
    (void)state;
    struct config c;
    char msg[256] = "";
    assert_int_equal(config_load("data/layers.json", &c, msg, sizeof msg), CT_OK);
    assert_true(c.nlayers >= 1);
    assert_string_equal(c.layers[c.default_layer].name, "bluemarble");
    assert_non_null(strstr(c.layers[c.default_layer].source, "data/"));
    config_free(&c);
    assert_int_equal(config_load("test/data/does-not-exist.json", &c, msg, sizeof msg),
                     CT_ECONFIG);
    assert_non_null(strstr(msg, "cannot open"));
}

static void test_headers_and_env(void **state)
{
    (void)state;
    struct config c;
    char msg[256] = "";
    const char *json = "{\"cache_control\":\"public, max-age=600\",\"cors_origin\":"
                       "\"https://maps.example\",\"layers\":{\"a\":{\"source\":\"x\"}}}";
    assert_int_equal(config_parse(json, NULL, &c, msg, sizeof msg), CT_OK);
    assert_string_equal(c.tile_cache_control, "public, max-age=600");
    assert_string_equal(c.cors_origin, "https://maps.example");
    setenv("COGTILER_CORS_ORIGIN", "https://other.example", 1);
    unsetenv("COGTILER_CACHE_CONTROL");
    assert_int_equal(config_apply_env(&c, msg, sizeof msg), CT_OK);
    assert_string_equal(c.cors_origin, "https://other.example");
    assert_string_equal(c.tile_cache_control, "public, max-age=600");
    setenv("COGTILER_CACHE_CONTROL", "max-age=1\r\nX-Evil: 1", 1);
    assert_int_equal(config_apply_env(&c, msg, sizeof msg), CT_ECONFIG);
    assert_non_null(strstr(msg, "COGTILER_CACHE_CONTROL"));
    unsetenv("COGTILER_CACHE_CONTROL");
    unsetenv("COGTILER_CORS_ORIGIN");
    /* the allow-list and the dataset lifetime */
    assert_int_equal(c.nallowed, 0);
    assert_int_equal(c.dataset_ttl_s, CONFIG_DATASET_TTL);
    setenv("COGTILER_ALLOWED_URL_PREFIXES", "https://a.example/cogs/, s3://bucket/x/", 1);
    setenv("COGTILER_DATASET_TTL", "60", 1);
    assert_int_equal(config_apply_env(&c, msg, sizeof msg), CT_OK);
    assert_int_equal(c.nallowed, 2);
    assert_string_equal(c.allowed_prefixes[0], "https://a.example/cogs/");
    assert_string_equal(c.allowed_prefixes[1], "s3://bucket/x/");
    assert_int_equal(c.dataset_ttl_s, 60);
    static const char *const bad_env[][2] = {
        { "COGTILER_ALLOWED_URL_PREFIXES", "file:///etc/" },
        { "COGTILER_ALLOWED_URL_PREFIXES", "https://user:pw@a.example/" },
        { "COGTILER_ALLOWED_URL_PREFIXES", "/vsicurl/https://a.example/" },
        { "COGTILER_DATASET_TTL", "-1" },
        { "COGTILER_DATASET_TTL", "5s" },
    };
    for (size_t i = 0; i < sizeof bad_env / sizeof bad_env[0]; i++) {
        setenv(bad_env[i][0], bad_env[i][1], 1);
        msg[0] = '\0';
        if (config_apply_env(&c, msg, sizeof msg) != CT_ECONFIG || !strstr(msg, bad_env[i][0]))
            fail_msg("%s=%s accepted (%s)", bad_env[i][0], bad_env[i][1], msg);
        unsetenv(bad_env[i][0]);
    }
    unsetenv("COGTILER_ALLOWED_URL_PREFIXES");
    unsetenv("COGTILER_DATASET_TTL");
    config_free(&c);
    const char *bad = "{\"cors_origin\":\"a\\nb\",\"layers\":{\"a\":{\"source\":\"x\"}}}";
    assert_int_equal(config_parse(bad, NULL, &c, msg, sizeof msg), CT_ECONFIG);
    assert_non_null(strstr(msg, "cors_origin"));
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_headers_and_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
