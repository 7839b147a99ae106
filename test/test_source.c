/* The url= allow-list, case by case: what is admitted (and the GDAL name it
 * becomes) and every kind of attempt that must be refused without a request.
 * The same table runs over real HTTP in test/test_remote.sh. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>

#include "err.h"
#include "fuzz_url.h"
#include "source.h"

static const char *const PREFIXES[] = {
    "https://data.example.com/cogs/",
    "http://127.0.0.1:8080/allowed",
    "s3://bucket/public/",
    "HTTPS://Other.Example.org:8443/a/b/",
};
#define NPREFIXES (sizeof PREFIXES / sizeof PREFIXES[0])

static void test_allowed(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "https://data.example.com/cogs/x.tif", "/vsicurl/https://data.example.com/cogs/x.tif" },
        { "https://DATA.example.com/cogs/d/x.tif", /* hosts compare without case */
          "/vsicurl/https://DATA.example.com/cogs/d/x.tif" },
        /* libcurl normalises numeric IPv4 forms: this is 127.0.0.1, which is listed,
         * and GDAL is given the normalised URL */
        { "http://2130706433:8080/allowed/x.tif", "/vsicurl/http://127.0.0.1:8080/allowed/x.tif" },
        { "http://0x7f.1:8080/allowed/x.tif", "/vsicurl/http://127.0.0.1:8080/allowed/x.tif" },
        { "https://data.example.com:443/cogs/x.tif",
          "/vsicurl/https://data.example.com:443/cogs/x.tif" },
        { "https://data.example.com/cogs/x.tif?X-Amz-Signature=abc",
          "/vsicurl/https://data.example.com/cogs/x.tif?X-Amz-Signature=abc" },
        { "http://127.0.0.1:8080/allowed/x.tif", "/vsicurl/http://127.0.0.1:8080/allowed/x.tif" },
        { "http://127.0.0.1:8080/allowed", "/vsicurl/http://127.0.0.1:8080/allowed" },
        { "s3://bucket/public/k/x.tif", "/vsis3/bucket/public/k/x.tif" },
        { "https://other.example.org:8443/a/b/c.vrt",
          "/vsicurl/https://other.example.org:8443/a/b/c.vrt" },
        { "https://data.example.com/cogs/caf%C3%A9.tif",
          "/vsicurl/https://data.example.com/cogs/caf%C3%A9.tif" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char gdal[512] = "", msg[256] = "";
        int err = source_allow_url(PREFIXES, NPREFIXES, cases[i][0], gdal, sizeof gdal, msg,
                                   sizeof msg);
        if (err != CT_OK || strcmp(gdal, cases[i][1]) != 0)
            fail_msg("%s: %d \"%s\" (%s), want \"%s\"", cases[i][0], err, gdal, msg,
                     cases[i][1]);
    }
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        /* not a URL of an accepted scheme: local files, GDAL names, other schemes */
        { "/etc/passwd", "only http" },
        { "test/data/titiler/dem.tif", "only http" },
        { "file:///etc/passwd", "only http" },
        { "FILE:///etc/passwd", "only http" },
        { "/vsicurl/https://data.example.com/cogs/x.tif", "only http" },
        { "/vsis3/bucket/public/x.tif", "only http" },
        { "/vsizip//vsicurl/https://data.example.com/cogs/x.zip", "only http" },
        { "vrt://https://data.example.com/cogs/x.tif", "only http" },
        { "GTIFF_DIR:1:https://data.example.com/cogs/x.tif", "only http" },
        { "ftp://data.example.com/cogs/x.tif", "only http" },
        { "gopher://127.0.0.1:8080/allowed", "only http" },
        { "https:/data.example.com/cogs/x.tif", "only http" },
        { "", "only http" },
        /* dot segments and percent-encoded tricks */
        { "https://data.example.com/cogs/../secret.tif", "segments" },
        { "https://data.example.com/cogs/./x.tif", "segments" },
        { "https://data.example.com/cogs/..", "segments" },
        { "https://data.example.com/cogs/%2e%2e/secret.tif", "percent" },
        { "https://data.example.com/cogs/%2E%2E/secret.tif", "percent" },
        { "https://data.example.com/cogs%2f..%2fsecret.tif", "percent" },
        { "https://data.example.com/cogs/%252e%252e/secret.tif", "percent" },
        { "https://data.example.com/cogs/..%5csecret.tif", "percent" },
        { "https://data.example.com/cogs/x.tif%00.png", "percent" },
        { "https://data.example.com/cogs\\..\\secret.tif", "backslash" },
        { "https://data.example.com/cogs/x y.tif", "spaces" },
        { "https://data.example.com/cogs/x.tif\r\nHost: evil", "control" },
        { "https://data.example.com/cogs/x.tif#frag", "fragment" },
        /* hosts, ports and paths outside the list */
        { "https://data.example.com/cogsx/x.tif", "not under" },
        { "https://data.example.com/other/x.tif", "not under" },
        { "https://data.example.com.evil.net/cogs/x.tif", "not under" },
        { "https://evil.net/data.example.com/cogs/x.tif", "not under" },
        { "https://data.example.com@evil.net/cogs/x.tif", "credentials" },
        { "https://user:pw@data.example.com/cogs/x.tif", "credentials" },
        { "http://data.example.com/cogs/x.tif", "not under" },
        { "https://data.example.com:444/cogs/x.tif", "not under" },
        { "http://127.0.0.1:8080/allowedx/x.tif", "not under" },
        { "http://127.0.0.1:8081/allowed/x.tif", "not under" },
        { "http://127.0.0.1/allowed/x.tif", "not under" },
        { "http://localhost:8080/allowed/x.tif", "not under" },
        { "http://[::1]:8080/allowed/x.tif", "not under" },
        { "http://2852039166/latest/meta-data/", "not under" }, /* 169.254.169.254 */
        { "http://0xA9FEA9FE/latest/meta-data/", "not under" },
        { "http://169.254.169.254/latest/meta-data/", "not under" },
        { "http://[fe80::1]/cogs/x.tif", "not under" },
        { "http://metadata.google.internal/computeMetadata/v1/", "not under" },
        { "s3://bucket/private/x.tif", "not under" },
        { "s3://bucket2/public/x.tif", "not under" },
        { "s3://bucket/public/x.tif?versionId=1", "without a query" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char gdal[512] = "", msg[256] = "";
        int err = source_allow_url(PREFIXES, NPREFIXES, cases[i][0], gdal, sizeof gdal, msg,
                                   sizeof msg);
        if (err != CT_EFORBIDDEN || !strstr(msg, cases[i][1]))
            fail_msg("\"%s\": %d (%s), want 403 saying \"%s\"", cases[i][0], err, msg,
                     cases[i][1]);
    }
    /* an empty list admits nothing */
    char gdal[512], msg[256];
    assert_int_equal(source_allow_url(NULL, 0, "https://data.example.com/cogs/x.tif", gdal,
                                      sizeof gdal, msg, sizeof msg),
                     CT_EFORBIDDEN);
    assert_non_null(strstr(msg, "disabled"));
}

/* The url= fuzz target's seeds (test/url-corpus/) under its own allow-list
 * (fuzz_url.h): each is admitted or refused for the reason its name states, so
 * the fuzzer starts from every refusal class of source_allow_url, each just
 * beside an admitted URL. A seed missing from this table, or a listed one
 * missing from the folder, fails. */
static void test_url_seeds(void **state)
{
    (void)state;
    static const struct {
        const char *file, *says; /* NULL: admitted */
    } seeds[] = {
        { "allowed-https", NULL },
        { "allowed-port", NULL },
        { "allowed-s3", NULL },
        { "query", NULL },
        { "numeric-ip", NULL }, /* 2130706433 is 127.0.0.1, which is listed */
        { "long-2047-allowed", NULL },
        /* hosts and buckets not listed */
        { "foreign-host", "not under" },
        { "foreign-host-suffix", "not under" },
        { "foreign-host-in-path", "not under" },
        { "foreign-host-trailing-dot", "not under" },
        { "foreign-host-localhost", "not under" },
        { "foreign-host-metadata", "not under" },
        { "foreign-bucket", "not under" },
        /* other schemes, and a listed one that is not this prefix's */
        { "scheme-ftp", "only http" },
        { "scheme-file", "only http" },
        { "scheme-gopher", "only http" },
        { "scheme-one-slash", "only http" },
        { "vsi", "only http" },
        { "scheme-other-allowed", "not under" },
        /* credentials */
        { "userinfo", "credentials" },
        { "credentials-user-password", "credentials" },
        { "credentials-s3", "credentials" },
        /* dot segments, and encoded dots, slashes, backslashes, percent, NUL */
        { "dotdot", "segments" },
        { "dot-single", "segments" },
        { "dot-trailing", "segments" },
        { "dot-s3", "segments" },
        { "pct", "percent-encoded" },
        { "pct-dots-upper", "percent-encoded" },
        { "pct-slash", "percent-encoded" },
        { "pct-backslash", "percent-encoded" },
        { "pct-percent", "percent-encoded" },
        { "pct-nul", "percent-encoded" },
        /* ports */
        { "port-other", "not under" },
        { "port-default", "not under" },
        { "port-https-other", "not under" },
        { "port-invalid", "not a valid URL" },
        /* the prefix's path ends at a '/' boundary */
        { "prefix-boundary", "not under" },
        { "prefix-boundary-slash", "not under" },
        { "prefix-boundary-s3", "not under" },
        { "fragment", "fragments" },
        { "s3-query", "without a query" },
        /* raw bytes that must be percent-encoded */
        { "backslash", "backslashes" },
        { "control-crlf", "control characters" },
        { "control-tab", "control characters" },
        { "control-del", "control characters" },
        { "control-space", "spaces" },
        { "non-ascii-path", "non-ASCII" },
        { "non-ascii-host", "non-ASCII" },
        { "too-long-2048", "longer than 2047" },
        /* 2046 bytes, 2050 once libcurl writes 127.1 as 127.0.0.1 */
        { "too-long-once-normalised", "longer than 2047" },
        /* other spellings of a listed or a foreign host */
        { "ipv6-loopback", "not under" },
        { "ipv6-mapped-ipv4", "not under" },
        { "ipv4-decimal-other-port", "not under" },
        { "ipv4-decimal-metadata", "not under" },
        { "ipv4-hex-metadata", "not under" },
        { "ipv4-octal-metadata", "not under" },
        { "ipv4-short-other-path", "not under" },
    };
    const size_t nseeds = sizeof seeds / sizeof seeds[0];
    DIR *d = opendir("test/url-corpus");
    assert_non_null(d);
    struct dirent *e;
    size_t found = 0;
    while ((e = readdir(d))) {
        char name[256]; /* e->d_name goes with closedir() */
        snprintf(name, sizeof name, "%s", e->d_name);
        if (name[0] == '.')
            continue;
        size_t i = 0;
        while (i < nseeds && strcmp(seeds[i].file, name) != 0)
            i++;
        if (i == nseeds) {
            closedir(d);
            fail_msg("test/url-corpus/%s: not in test_url_seeds' table", name);
        }
        found++;
        /* read as fuzz_url.c reads an input: at most 4096 bytes, NUL-terminated */
        char path[512], value[4097], gdal[8192] = "", msg[256] = "";
        snprintf(path, sizeof path, "test/url-corpus/%s", name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t n = fread(value, 1, sizeof value, f);
        fclose(f);
        assert_true(n < sizeof value);
        value[n] = '\0';
        int err = source_allow_url(FUZZ_URL_PREFIXES, FUZZ_URL_NPREFIXES, value, gdal,
                                   sizeof gdal, msg, sizeof msg);
        int ok = seeds[i].says ? err == CT_EFORBIDDEN && strstr(msg, seeds[i].says)
                               : err == CT_OK;
        if (!ok) {
            closedir(d);
            fail_msg("seed %s: %d (%s), want %s%s", name, err, err ? msg : gdal,
                     seeds[i].says ? "403 saying " : "admitted",
                     seeds[i].says ? seeds[i].says : "");
        }
    }
    closedir(d);
    printf("  %zu url= seeds, each with the verdict its name states\n", found);
    assert_int_equal(found, nseeds);
}

static void test_prefixes_and_names(void **state)
{
    (void)state;
    char msg[256], out[64];
    for (size_t i = 0; i < NPREFIXES; i++)
        assert_int_equal(source_check_prefix(PREFIXES[i], msg, sizeof msg), CT_OK);
    static const char *const bad[] = { "file:///data/",        "/data/",
                                       "https://",             "https://u:p@h/",
                                       "https://h/?q=1",       "https://h/#f",
                                       "ftp://h/",             "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (source_check_prefix(bad[i], msg, sizeof msg) != CT_ECONFIG)
            fail_msg("prefix \"%s\" accepted", bad[i]);
    assert_int_equal(source_gdal_name("s3://b/k.tif", out, sizeof out), CT_OK);
    assert_string_equal(out, "/vsis3/b/k.tif");
    assert_int_equal(source_gdal_name("HTTPS://h/k.tif", out, sizeof out), CT_OK);
    assert_string_equal(out, "/vsicurl/HTTPS://h/k.tif");
    assert_int_equal(source_gdal_name("/data/k.tif", out, sizeof out), CT_OK);
    assert_string_equal(out, "/data/k.tif");
    assert_int_equal(source_gdal_name("https://h/a-very-long-name-that-does-not-fit.tif", out, 16),
                     CT_ETOOBIG);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_url_seeds),
        cmocka_unit_test(test_prefixes_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
