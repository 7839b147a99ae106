/* The fan-out's pure decisions (fanout.h): how many parts a plan gets, and
 * the Invoke URL a Lambda function builds from the variables Lambda sets
 * (the function itself, its version as the Qualifier, the region's domain,
 * an endpoint override), without any request. test/test_fanout.sh runs the
 * parts themselves. */
#include "testutil.h"

#include "err.h"
#include "fanout.h"

static void test_count(void **state)
{
    (void)state;
    static const struct {
        long long window, chunks;
        int parts, local; /* parts=; with a fan-out set up */
        long long min, per;
        int want;
    } cases[] = {
        { 100000000, 400, 0, 1, 33554432, 16777216, 6 },  /* ceil(1e8 / 16 Mi) */
        { 33554431, 400, 0, 1, 33554432, 16777216, 1 },   /* under the threshold */
        { 33554432, 400, 0, 1, 33554432, 16777216, 2 },   /* at it */
        { 100000000, 400, 0, 0, 33554432, 16777216, 1 },  /* no fan-out set up */
        { 100000000, 400, 7, 0, 33554432, 16777216, 7 },  /* parts= runs here in parts */
        { 1000, 3, 64, 1, 33554432, 16777216, 3 },        /* never more parts than chunks */
        { 1e12, 1LL << 30, 0, 1, 0, 1000, FANOUT_MAX_PARTS },
        { 1e12, 1LL << 30, 5000, 1, 0, 1000, FANOUT_MAX_PARTS },
        { 5, 1, 0, 1, 0, 1, 1 },
    };
    struct fanout *f = NULL;
    struct app *app = NULL;
    struct config cfg;
    assert_int_equal(config_single("x", "test/data/titiler/dem.tif", &cfg), CT_OK);
    assert_int_equal(app_create(&cfg, &app), CT_OK);
    assert_int_equal(fanout_local_new(app, 1, &f), CT_OK);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct zonal_plan plan = { -1, cases[i].window, cases[i].chunks };
        int got = fanout_count(cases[i].local ? f : NULL, &plan, cases[i].parts, cases[i].min,
                               cases[i].per);
        if (got != cases[i].want)
            fail_msg("case %zu: %d parts, want %d", i, got, cases[i].want);
    }
    fanout_free(f);
    app_destroy(app);
}

static void lambda_env(const char *name, const char *version, const char *region,
                       const char *endpoint, int creds)
{
    const char *vars[] = { "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION",
                           "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL",
                           "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    if (name)
        setenv("AWS_LAMBDA_FUNCTION_NAME", name, 1);
    if (version)
        setenv("AWS_LAMBDA_FUNCTION_VERSION", version, 1);
    if (region)
        setenv("AWS_REGION", region, 1);
    if (endpoint)
        setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint, 1);
    if (creds) {
        setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
        setenv("AWS_SESSION_TOKEN", "token", 1);
    }
}

static void test_invoke_url(void **state)
{
    (void)state;
    static const struct {
        const char *name, *version, *region, *endpoint;
        int creds, err;
        const char *url;
    } cases[] = {
        { "cogtiler-tiles", "$LATEST", "us-east-1", NULL, 1, CT_OK,
          "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/cogtiler-tiles/invocations" },
        /* a published version invokes itself: every part runs the same code */
        { "cogtiler-tiles", "123", "us-east-1", NULL, 1, CT_OK,
          "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/cogtiler-tiles/"
          "invocations?Qualifier=123" },
        { "f", "7", "eu-west-1", NULL, 1, CT_OK,
          "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/f/invocations?Qualifier=7" },
        { "f", "$LATEST", "cn-north-1", NULL, 1, CT_OK,
          "https://lambda.cn-north-1.amazonaws.com.cn/2015-03-31/functions/f/invocations" },
        { "f", NULL, "ap-south-1", "http://127.0.0.1:9001/", 1, CT_OK,
          "http://127.0.0.1:9001/2015-03-31/functions/f/invocations" },
        { "f", "$LATEST", "us-east-1", NULL, 0, CT_ECONFIG, NULL },     /* no credentials */
        { NULL, "$LATEST", "us-east-1", NULL, 1, CT_ECONFIG, NULL },    /* no name */
        { "f", "$LATEST", NULL, NULL, 1, CT_ECONFIG, NULL },            /* no region */
        { "f/../g", "$LATEST", "us-east-1", NULL, 1, CT_ECONFIG, NULL }, /* not a name */
        { "f", "1?x=2", "us-east-1", NULL, 1, CT_ECONFIG, NULL },       /* not a version */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct fanout *f = NULL;
        char msg[256] = "";
        lambda_env(cases[i].name, cases[i].version, cases[i].region, cases[i].endpoint,
                   cases[i].creds);
        int err = fanout_lambda_new(8, &f, msg, sizeof msg);
        if (err != cases[i].err)
            fail_msg("case %zu: %d (%s), want %d", i, err, msg, cases[i].err);
        if (!err && strcmp(fanout_invoke_url(f), cases[i].url) != 0)
            fail_msg("case %zu: %s, want %s", i, fanout_invoke_url(f), cases[i].url);
        if (err)
            assert_true(msg[0] != '\0');
        fanout_free(f);
    }
    lambda_env(NULL, NULL, NULL, NULL, 0);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_invoke_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
