/* Lambda events -> struct request, struct response -> Lambda payload: the
 * sample events in test/events/, table-driven edge cases and the response
 * shapes, read back with cJSON. */
#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>

#include "err.h"
#include "event.h"
#include "handler.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", path);
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* "key=value" lines, to compare a whole list at once. */
static void join_kv(const struct kv *kv, size_t n, const char *sep, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + used, cap - used, "%s%s%s\n", kv[i].key, sep, kv[i].value);
        assert_true(w >= 0 && (size_t)w < cap - used);
        used += (size_t)w;
    }
}

static struct event *parse_file(const char *path)
{
    size_t len;
    char *json = read_file(path, &len), msg[256] = "";
    struct event *ev = NULL;
    int err = event_parse(json, len, &ev, msg, sizeof msg);
    free(json);
    if (err != CT_OK)
        fail_msg("%s: event_parse returned %d: %s", path, err, msg);
    return ev;
}

static struct event *parse_text(const char *json)
{
    char msg[256] = "";
    struct event *ev = NULL;
    int err = event_parse(json, strlen(json), &ev, msg, sizeof msg);
    if (err != CT_OK)
        fail_msg("%.80s: event_parse returned %d: %s", json, err, msg);
    return ev;
}

static void test_samples(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        enum event_kind kind;
        const char *method, *path, *query, *headers;
    } cases[] = {
        { "test/events/rest-v1.json", EVENT_REST_V1, "GET", "/tiles/bluemarble/2/1/1.png",
          "rescale=0,255\ntag=a\ntag=b c\n",
          "Accept: image/png\n"
          "Host: a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com\n"
          "If-None-Match: \"abc\"\n"
          "X-Forwarded-Proto: https\n"
          "X-Tag: one\n"
          "X-Tag: two\n" },
        { "test/events/http-v2-default.json", EVENT_HTTP_V2, "GET", "/tiles/bluemarble/2/1/1.png",
          "rescale=0,255\ntag=a\ntag=b c\ncolormap_name=viridis\nempty=\nflag=\n",
          "accept: image/png,image/*\n"
          "host: a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com\n"
          "x-forwarded-proto: https\n" },
        { "test/events/http-v2-stage.json", EVENT_HTTP_V2, "HEAD", "/tiles/blue-marble/2/1/1.png",
          "",
          "accept: */*\n"
          "host: a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com\n"
          "x-tag: one,two\n" },
        { "test/events/function-url.json", EVENT_FUNCTION_URL, "GET",
          "/tiles/bluemarble/2/1/1@2x.png", "colormap_name=viridis\nrescale=0,255\n",
          "accept: image/png\n"
          "host: abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws\n"
          "x-amzn-trace-id: Root=1-66153a40-0123456789abcdef01234567\n" },
        { "test/events/alb-multivalue.json", EVENT_ALB, "GET", "/tiles/bluemarble/2/1/1.png",
          "rescale=0,255\ntag=a b\ntag=c d\n",
          "accept: image/png\n"
          "host: cogtiler-alb-123456789.eu-west-1.elb.amazonaws.com\n"
          "x-forwarded-for: 192.0.2.10\n"
          "x-tag: one\n"
          "x-tag: two\n" },
        { "test/events/alb.json", EVENT_ALB, "GET", "/tiles/bluemarble/2/1/1.png",
          "colormap_name=viridis\nrescale=0,255\n",
          "accept: image/png\n"
          "host: cogtiler-alb-123456789.eu-west-1.elb.amazonaws.com\n"
          "x-forwarded-for: 192.0.2.10\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event *ev = parse_file(cases[i].file);
        if (event_error(ev))
            fail_msg("%s: unexpected error \"%s\"", cases[i].file, event_error(ev));
        assert_int_equal(event_kind(ev), cases[i].kind);
        const struct request *req = event_request(ev);
        assert_string_equal(req->method, cases[i].method);
        assert_string_equal(req->path, cases[i].path);
        assert_int_equal(req->deadline_ms, 0);
        char buf[2048];
        join_kv(req->query, req->nquery, "=", buf, sizeof buf);
        assert_string_equal(buf, cases[i].query);
        join_kv(req->headers, req->nheaders, ": ", buf, sizeof buf);
        assert_string_equal(buf, cases[i].headers);
        event_free(ev);
    }
}

static void test_bad_samples(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int err;
        const char *error; /* event_error() when err is CT_OK */
    } cases[] = {
        { "test/events/bad-not-json.json", CT_EINVAL, NULL },
        { "test/events/bad-unknown-shape.json", CT_EINVAL, NULL },
        { "test/events/bad-missing-path.json", CT_OK, "missing path" },
        { "test/events/bad-percent.json", CT_OK, "bad percent-encoding in path" },
        { "test/events/bad-enormous-path.json", CT_OK, "path too long" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *json = read_file(cases[i].file, &len), msg[256] = "";
        static char sentinel;
        struct event *ev = (struct event *)&sentinel; /* must be reset to NULL */
        int err = event_parse(json, len, &ev, msg, sizeof msg);
        free(json);
        if (err != cases[i].err)
            fail_msg("%s: got %d, want %d (%s)", cases[i].file, err, cases[i].err, msg);
        if (err) {
            assert_null(ev);
            assert_true(msg[0] != '\0');
            continue;
        }
        assert_non_null(event_error(ev));
        assert_string_equal(event_error(ev), cases[i].error);
        event_free(ev);
    }
}

#define V2(RAWPATH, STAGE, QUERY)                                                                  \
    "{\"version\":\"2.0\",\"rawPath\":" RAWPATH "," QUERY "\"requestContext\":{\"stage\":" STAGE \
    ",\"http\":{\"method\":\"GET\"}}}"
#define ALB(PATH, QUERY)                                                                           \
    "{\"requestContext\":{\"elb\":{}},\"httpMethod\":\"GET\",\"path\":" PATH "," QUERY          \
    "\"headers\":{}}"
#define REST(PATH, QUERY)                                                                          \
    "{\"resource\":\"/{proxy+}\",\"httpMethod\":\"GET\",\"path\":" PATH "," QUERY                 \
    "\"requestContext\":{\"stage\":\"prod\"}}"

static void test_table(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int err;
        const char *error, *path, *query;
    } cases[] = {
        /* HTTP API stages */
        { V2("\"/prod/tiles/a/0/0/0.png\"", "\"prod\"", ""), CT_OK, NULL, "/tiles/a/0/0/0.png",
          "" },
        { V2("\"/prod\"", "\"prod\"", ""), CT_OK, NULL, "/", "" },
        { V2("\"/prod/\"", "\"prod\"", ""), CT_OK, NULL, "/", "" },
        { V2("\"/production/x\"", "\"prod\"", ""), CT_OK, NULL, "/production/x", "" },
        { V2("\"/prod/x\"", "\"$default\"", ""), CT_OK, NULL, "/prod/x", "" },
        { V2("\"/prod/x\"", "\"\"", ""), CT_OK, NULL, "/prod/x", "" },
        { V2("\"/x/prod/y\"", "\"prod\"", ""), CT_OK, NULL, "/x/prod/y", "" },
        /* percent-decoding of paths */
        { V2("\"/a%20b/%C3%A9\"", "\"$default\"", ""), CT_OK, NULL, "/a b/\xC3\xA9", "" },
        { V2("\"/a+b\"", "\"$default\"", ""), CT_OK, NULL, "/a+b", "" },
        { V2("\"/a%2fb\"", "\"$default\"", ""), CT_OK, NULL, "/a/b", "" },
        { V2("\"/a%zz\"", "\"$default\"", ""), CT_OK, "bad percent-encoding in path", NULL, NULL },
        { V2("\"/a%4\"", "\"$default\"", ""), CT_OK, "bad percent-encoding in path", NULL, NULL },
        { V2("\"/a%\"", "\"$default\"", ""), CT_OK, "bad percent-encoding in path", NULL, NULL },
        { V2("\"/a%4g\"", "\"$default\"", ""), CT_OK, "bad percent-encoding in path", NULL, NULL },
        { V2("\"/a%00b\"", "\"$default\"", ""), CT_OK, "bad percent-encoding in path", NULL, NULL },
        { V2("\"\"", "\"$default\"", ""), CT_OK, "missing path", NULL, NULL },
        { V2("7", "\"$default\"", ""), CT_OK, "missing path", NULL, NULL },
        { V2("null", "\"$default\"", ""), CT_OK, "missing path", NULL, NULL },
        /* HTTP API query: rawQueryString first, queryStringParameters as fallback */
        { V2("\"/\"", "\"$default\"", "\"rawQueryString\":\"a=1&a=2&b=x+y%2By&&c\","), CT_OK, NULL,
          "/", "a=1\na=2\nb=x y+y\nc=\n" },
        { V2("\"/\"", "\"$default\"", "\"rawQueryString\":\"k%3D=v%26w=z\","), CT_OK, NULL, "/",
          "k==v&w=z\n" },
        { V2("\"/\"", "\"$default\"", "\"rawQueryString\":\"a=%zz\","), CT_OK,
          "bad percent-encoding in query", NULL, NULL },
        { V2("\"/\"", "\"$default\"", "\"rawQueryString\":\"%00=1\","), CT_OK,
          "bad percent-encoding in query", NULL, NULL },
        { V2("\"/\"", "\"$default\"", "\"queryStringParameters\":{\"a\":\"1,2\",\"b\":\"50%\"},"),
          CT_OK, NULL, "/", "a=1,2\nb=50%\n" },
        { V2("\"/\"", "\"$default\"",
             "\"rawQueryString\":\"\",\"queryStringParameters\":{\"a\":\"1\"},"),
          CT_OK, NULL, "/", "" },
        /* REST: path as given, decoded once; query values already decoded */
        { REST("\"/tiles/a%20b\"", "\"queryStringParameters\":{\"q\":\"50%\",\"r\":\"a+b\"},"),
          CT_OK, NULL, "/tiles/a b", "q=50%\nr=a+b\n" },
        { REST("\"/prod/x\"", "\"queryStringParameters\":null,"), CT_OK, NULL, "/prod/x", "" },
        { REST("\"/x\"",
               "\"multiValueQueryStringParameters\":null,\"queryStringParameters\":{\"a\":\"1\"},"),
          CT_OK, NULL, "/x", "a=1\n" },
        { REST("\"/x\"",
               "\"multiValueQueryStringParameters\":{\"a\":[\"1\",2,\"3\"],\"b\":\"no\"},"),
          CT_OK, NULL, "/x", "a=1\na=3\n" },
        /* ALB: query keys and values arrive encoded */
        { ALB("\"/x\"", "\"queryStringParameters\":{\"a%5Bb%5D\":\"1+2%2B3\"},"), CT_OK, NULL, "/x",
          "a[b]=1 2+3\n" },
        { ALB("\"/x\"", "\"multiValueQueryStringParameters\":{\"a%3D\":[\"%41\",\"%2541\"]},"),
          CT_OK, NULL, "/x", "a==A\na==%41\n" },
        { ALB("\"/x\"", "\"queryStringParameters\":{\"a\":\"%g0\"},"), CT_OK,
          "bad percent-encoding in query", NULL, NULL },
        { ALB("\"/x\"", "\"queryStringParameters\":{\"%\":\"1\"},"), CT_OK,
          "bad percent-encoding in query", NULL, NULL },
        /* bodies are ignored */
        { ALB("\"/x\"", "\"body\":\"AAAA\",\"isBase64Encoded\":true,"), CT_OK, NULL, "/x", "" },
        { REST("\"/x\"", "\"body\":\"{\\\"a\\\":1}\",\"isBase64Encoded\":false,"), CT_OK, NULL,
          "/x", "" },
        /* no method */
        { "{\"requestContext\":{\"elb\":{}},\"path\":\"/x\"}", CT_OK, "missing method", NULL,
          NULL },
        { "{\"version\":\"2.0\",\"rawPath\":\"/x\",\"requestContext\":{}}", CT_OK, "missing method",
          NULL, NULL },
        /* shape */
        { "{\"version\":\"2.0\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}", CT_OK,
          "missing path", NULL, NULL },
        { "{\"version\":\"2.0\",\"routeKey\":\"$default\"}", CT_EINVAL, NULL, NULL, NULL },
        { "{\"version\":\"1.0\",\"rawPath\":\"/x\"}", CT_EINVAL, NULL, NULL, NULL },
        { "{\"path\":\"/x\",\"httpMethod\":\"GET\"}", CT_EINVAL, NULL, NULL, NULL },
        { "{\"path\":\"/x\",\"requestContext\":{\"elb\":\"x\"}}", CT_EINVAL, NULL, NULL, NULL },
        { "{\"requestContext\":{\"stage\":\"prod\",\"eventType\":\"MESSAGE\"}}", CT_EINVAL, NULL,
          NULL, NULL },
        { "[]", CT_EINVAL, NULL, NULL, NULL },
        { "null", CT_EINVAL, NULL, NULL, NULL },
        { "\"{}\"", CT_EINVAL, NULL, NULL, NULL },
        { "", CT_EINVAL, NULL, NULL, NULL },
        { "{", CT_EINVAL, NULL, NULL, NULL },
        { "{\"requestContext\":{\"elb\":{}},\"httpMethod\":\"GET\",\"path\":\"/x\"} x", CT_EINVAL,
          NULL, NULL, NULL },
        { "{\"requestContext\":{\"elb\":{}},\"httpMethod\":\"GET\",\"path\":\"/x\"}{}", CT_EINVAL,
          NULL, NULL, NULL },
        { " {\"requestContext\":{\"elb\":{}},\"httpMethod\":\"GET\",\"path\":\"/x\"}\r\n ", CT_OK,
          NULL, "/x", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[256] = "";
        struct event *ev = NULL;
        int err = event_parse(cases[i].json, strlen(cases[i].json), &ev, msg, sizeof msg);
        if (err != cases[i].err)
            fail_msg("case %zu %s: got %d, want %d (%s)", i, cases[i].json, err, cases[i].err, msg);
        if (err) {
            assert_null(ev);
            assert_true(msg[0] != '\0');
            continue;
        }
        const char *e = event_error(ev);
        if (cases[i].error || e) {
            if (!cases[i].error || !e || strcmp(e, cases[i].error) != 0)
                fail_msg("case %zu %s: error \"%s\", want \"%s\"", i, cases[i].json,
                         e ? e : "(none)", cases[i].error ? cases[i].error : "(none)");
            event_free(ev);
            continue;
        }
        const struct request *req = event_request(ev);
        if (strcmp(req->path, cases[i].path) != 0)
            fail_msg("case %zu %s: path \"%s\", want \"%s\"", i, cases[i].json, req->path,
                     cases[i].path);
        char buf[1024];
        join_kv(req->query, req->nquery, "=", buf, sizeof buf);
        if (strcmp(buf, cases[i].query) != 0)
            fail_msg("case %zu %s: query \"%s\", want \"%s\"", i, cases[i].json, buf,
                     cases[i].query);
        event_free(ev);
    }
}

/* An HTTP API event with the given rawPath and rawQueryString. */
static struct event *parse_built(const char *path, const char *query, int *err)
{
    size_t n = strlen(path) + strlen(query) + 256;
    char *json = malloc(n), msg[256] = "";
    assert_non_null(json);
    snprintf(json, n,
             "{\"version\":\"2.0\",\"rawPath\":\"%s\",\"rawQueryString\":\"%s\","
             "\"requestContext\":{\"http\":{\"method\":\"GET\"}}}",
             path, query);
    struct event *ev = NULL;
    *err = event_parse(json, strlen(json), &ev, msg, sizeof msg);
    free(json);
    return ev;
}

static char *repeat(const char *prefix, const char *unit, size_t times)
{
    size_t n = strlen(prefix) + strlen(unit) * times + 1;
    char *s = malloc(n);
    assert_non_null(s);
    strcpy(s, prefix);
    for (size_t i = 0; i < times; i++)
        strcat(s, unit);
    return s;
}

static void test_limits(void **state)
{
    (void)state;
    static const struct {
        const char *path_unit;
        size_t path_times;
        const char *query_unit;
        size_t query_times;
        const char *error;
    } cases[] = {
        { "a", EVENT_MAX_PATH - 1, "", 0, NULL },             /* "/" + 2047 = the limit */
        { "a", EVENT_MAX_PATH, "", 0, "path too long" },
        { "%41", EVENT_MAX_PATH - 1, "", 0, NULL },           /* the decoded length counts */
        { "%41", EVENT_MAX_PATH, "", 0, "path too long" },
        { "a", 1, "a=1&", EVENT_MAX_PAIRS, NULL },
        { "a", 1, "a=1&", EVENT_MAX_PAIRS + 1, "too many query parameters" },
        { "a", 1, "&", EVENT_MAX_QUERY, NULL },                /* no pairs at all */
        { "a", 1, "&", EVENT_MAX_QUERY + 1, "query string too long" },
        { "a", 1, "abcdefgh", EVENT_MAX_QUERY / 8, NULL },     /* one long key */
        { "a", 1, "abcdefgh", EVENT_MAX_QUERY / 8 + 1, "query string too long" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = repeat("/", cases[i].path_unit, cases[i].path_times);
        char *query = repeat("", cases[i].query_unit, cases[i].query_times);
        int err;
        struct event *ev = parse_built(path, query, &err);
        assert_int_equal(err, CT_OK);
        const char *e = event_error(ev);
        if (cases[i].error ? !e || strcmp(e, cases[i].error) != 0 : e != NULL)
            fail_msg("case %zu: error \"%s\", want \"%s\"", i, e ? e : "(none)",
                     cases[i].error ? cases[i].error : "(none)");
        if (!e)
            assert_true(strlen(event_request(ev)->path) <= EVENT_MAX_PATH);
        event_free(ev);
        free(path);
        free(query);
    }
}

/* A fan-out part ({"cogtiler_part": {...}}) is an event of its own kind,
 * recognised only at the top of an invocation: an HTTP event cannot carry
 * one, and a part beside an HTTP shape is refused, not guessed at. */
static void test_part_events(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int err;
    } cases[] = {
        { "{\"cogtiler_part\": {\"v\": 1}}", CT_OK },
        { "{\"cogtiler_part\": 1}", CT_EINVAL },
        { "{\"cogtiler_part\": {}, \"requestContext\": {\"stage\": \"prod\"}, \"path\": \"/\"}",
          CT_EINVAL },
        { "{\"cogtiler_part\": {}, \"body\": \"x\"}", CT_EINVAL },
        { "{\"cogtiler_part\": {}, \"version\": \"2.0\", \"rawPath\": \"/\"}", CT_EINVAL },
        { "{\"cogtiler_part\": {}, \"httpMethod\": \"POST\"}", CT_EINVAL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct event *ev = NULL;
        char msg[256];
        int err = event_parse(cases[i].json, strlen(cases[i].json), &ev, msg, sizeof msg);
        if (err != cases[i].err)
            fail_msg("case %zu: %d, want %d", i, err, cases[i].err);
        if (!err) {
            assert_int_equal(event_kind(ev), EVENT_PART);
            assert_non_null(event_part(ev));
        }
        event_free(ev);
    }
    /* a part as the body of an HTTP event stays a body */
    const char *http = "{\"version\": \"2.0\", \"rawPath\": \"/statistics/x\", \"requestContext\": "
                       "{\"http\": {\"method\": \"POST\"}}, \"body\": "
                       "\"{\\\"cogtiler_part\\\": {\\\"v\\\": 1}}\"}";
    struct event *ev = NULL;
    char msg[256];
    assert_int_equal(event_parse(http, strlen(http), &ev, msg, sizeof msg), CT_OK);
    assert_int_equal(event_kind(ev), EVENT_HTTP_V2);
    assert_null(event_part(ev));
    assert_non_null(strstr((const char *)event_request(ev)->body, "cogtiler_part"));
    event_free(ev);
}

/* Only json[0..len) is read: an event followed by garbage in the same buffer. */
static void test_uses_length(void **state)
{
    (void)state;
    const char buf[] = "{\"requestContext\":{\"elb\":{}},\"httpMethod\":\"GET\",\"path\":\"/x\"}"
                       "GARBAGE";
    struct event *ev = NULL;
    char msg[128];
    assert_int_equal(event_parse(buf, strlen(buf) - 7, &ev, msg, sizeof msg), CT_OK);
    assert_string_equal(event_request(ev)->path, "/x");
    event_free(ev);
    assert_int_equal(event_parse(buf, strlen(buf) - 8, &ev, msg, sizeof msg), CT_EINVAL);
    assert_null(ev);
    /* msg may be NULL / empty */
    assert_int_equal(event_parse("[]", 2, &ev, NULL, 0), CT_EINVAL);
    event_free(NULL);
}

static void test_base64_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "", "" },          { "f", "Zg==" },         { "fo", "Zm8=" },
        { "foo", "Zm9v" },   { "foob", "Zm9vYg==" },  { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        char out[32];
        memset(out, 'X', sizeof out);
        size_t w = event_base64((const unsigned char *)cases[i].in, n, out);
        assert_int_equal(w, strlen(cases[i].out));
        assert_int_equal(w + 1, 4 * ((n + 2) / 3) + 1); /* the documented size, NUL included */
        assert_string_equal(out, cases[i].out);
    }
    const unsigned char all[] = { 0x00, 0xff, 0xfe, 0x3e, 0x3f, 0x80 };
    char out[16];
    assert_int_equal(event_base64(all, sizeof all, out), 8);
    assert_string_equal(out, "AP/+Pj+A");
}

/* An independent base64 decoder (RFC 4648, padded). Returns the length or -1. */
static long b64_decode(const char *s, unsigned char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    if (n % 4)
        return -1;
    long w = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            const char *p = s[i + j] ? strchr(abc, s[i + j]) : NULL;
            v[j] = s[i + j] == '=' && j >= 2 ? -1 : p ? (int)(p - abc) : -2;
            if (v[j] == -2)
                return -1;
        }
        out[w++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (v[2] >= 0)
            out[w++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        if (v[3] >= 0)
            out[w++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
    }
    return w;
}

/* event_response(ev, resp) parsed back. */
static cJSON *respond(const struct event *ev, const struct response *resp)
{
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(event_response(ev, resp, &json, &len), CT_OK);
    assert_non_null(json);
    assert_int_equal(strlen(json), len);
    cJSON *o = cJSON_Parse(json);
    free(json);
    assert_non_null(o);
    return o;
}

static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

static void test_response_png(void **state)
{
    (void)state;
    static unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                   0x00, 0x00, 0x00, 0x0d, 'I',  'H', 'D', 'R', 0xff };
    struct response resp = { .status = 200,
                             .content_type = "image/png",
                             .cache_control = "public, max-age=3600",
                             .cors_origin = "*",
                             .etag = "\"0123456789abcdef\"",
                             .body = png,
                             .len = sizeof png };
    struct event *ev = parse_file("test/events/http-v2-default.json");
    cJSON *o = respond(ev, &resp);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "statusCode");
    assert_true(cJSON_IsNumber(code) && code->valueint == 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "isBase64Encoded")));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "headers");
    assert_int_equal(cJSON_GetArraySize(h), 4);
    assert_string_equal(str_member(h, "Content-Type"), "image/png");
    assert_string_equal(str_member(h, "Cache-Control"), "public, max-age=3600");
    assert_string_equal(str_member(h, "ETag"), "\"0123456789abcdef\"");
    assert_string_equal(str_member(h, "Access-Control-Allow-Origin"), "*");
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "multiValueHeaders"));
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "statusDescription"));
    unsigned char back[64];
    const char *body = str_member(o, "body");
    assert_non_null(body);
    assert_int_equal(b64_decode(body, back), sizeof png);
    assert_memory_equal(back, png, sizeof png);
    cJSON_Delete(o);
    event_free(ev);
}

static void test_response_text(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        const char *body; /* NULL: empty */
        size_t len;
        int base64;
    } cases[] = {
        { "application/json", "{\"detail\":\"rescale: expected MIN,MAX\"}", 38, 0 },
        { "text/html; charset=utf-8", "<p>caf\xC3\xA9 \xF0\x9F\x97\xBA</p>", 17, 0 },
        { "text/css", "a{}\n\t\"\\", 7, 0 },
        { "image/png", NULL, 0, 0 },                      /* 304 / HEAD */
        { "application/json", NULL, 0, 0 },
        { "application/javascript", "var a;", 6, 1 },
        { "text/plain", "a\0b", 3, 1 },                   /* a NUL cannot travel as text */
        { "text/plain", "\xC3", 1, 1 },                   /* nor a broken UTF-8 sequence */
        { "text/plain", "\xC0\x80", 2, 1 },               /* nor an overlong one */
        { "text/plain", "\xED\xA0\x80", 3, 1 },           /* nor a surrogate */
        { NULL, "abc", 3, 1 },
    };
    struct event *ev = parse_file("test/events/function-url.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct response resp = { .status = cases[i].body ? 400 : 304,
                                 .content_type = cases[i].type,
                                 .body = (unsigned char *)cases[i].body,
                                 .len = cases[i].len };
        cJSON *o = respond(ev, &resp);
        const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(o, "isBase64Encoded");
        assert_true(cJSON_IsBool(b64));
        if (cJSON_IsTrue(b64) != cases[i].base64)
            fail_msg("case %zu (%s): isBase64Encoded %d", i, cases[i].type, cJSON_IsTrue(b64));
        const char *body = str_member(o, "body");
        assert_non_null(body);
        if (cases[i].base64) {
            unsigned char back[64];
            assert_int_equal(b64_decode(body, back), cases[i].len);
            assert_memory_equal(back, cases[i].body, cases[i].len);
        } else {
            assert_int_equal(strlen(body), cases[i].len);
            if (cases[i].len)
                assert_memory_equal(body, cases[i].body, cases[i].len);
        }
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "headers");
        assert_true(cJSON_IsObject(h));
        if (cases[i].type)
            assert_string_equal(str_member(h, "Content-Type"), cases[i].type);
        else
            assert_int_equal(cJSON_GetArraySize(h), 0);
        cJSON_Delete(o);
    }
    event_free(ev);
}

static void test_response_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *file, *inline_json;
        int multivalue, alb;
    } cases[] = {
        { "test/events/rest-v1.json", NULL, 1, 0 },
        { NULL, REST("\"/x\"", "\"headers\":{\"a\":\"b\"},\"multiValueHeaders\":null,"), 0, 0 },
        { NULL, REST("\"/x\"", ""), 0, 0 },
        { "test/events/http-v2-default.json", NULL, 0, 0 },
        { "test/events/http-v2-stage.json", NULL, 0, 0 },
        { "test/events/function-url.json", NULL, 0, 0 },
        { "test/events/alb-multivalue.json", NULL, 1, 1 },
        { "test/events/alb.json", NULL, 0, 1 },
        { "test/events/bad-enormous-path.json", NULL, 0, 1 }, /* a 400 keeps the shape */
        { NULL, ALB("\"/%zz\"", "\"multiValueHeaders\":{\"a\":[\"b\"]},"), 1, 1 },
        /* v2 events never take multiValueHeaders, even when sent some */
        { NULL, V2("\"/\"", "\"$default\"", "\"multiValueHeaders\":{\"a\":[\"b\"]},"), 0, 0 },
    };
    static const struct {
        int status;
        const char *description;
    } statuses[] = {
        { 200, "200 OK" },           { 304, "304 Not Modified" },
        { 400, "400 Bad Request" },  { 404, "404 Not Found" },
        { 500, "500 Internal Server Error" },
        { 418, "418 Client Error" }, { 299, "299 Success" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event *ev =
            cases[i].file ? parse_file(cases[i].file) : parse_text(cases[i].inline_json);
        for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++) {
            struct response resp = { .status = statuses[s].status,
                                     .content_type = "application/json",
                                     .cache_control = "no-store",
                                     .body = (unsigned char *)"{}",
                                     .len = 2 };
            cJSON *o = respond(ev, &resp);
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "statusCode");
            assert_true(cJSON_IsNumber(code) && code->valueint == statuses[s].status);
            const char *desc = str_member(o, "statusDescription");
            if (cases[i].alb) {
                assert_non_null(desc);
                assert_string_equal(desc, statuses[s].description);
            } else {
                assert_null(cJSON_GetObjectItemCaseSensitive(o, "statusDescription"));
            }
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "headers");
            assert_string_equal(str_member(h, "Content-Type"), "application/json");
            assert_string_equal(str_member(h, "Cache-Control"), "no-store");
            const cJSON *mv = cJSON_GetObjectItemCaseSensitive(o, "multiValueHeaders");
            if (!cases[i].multivalue) {
                if (mv)
                    fail_msg("case %zu: unexpected multiValueHeaders", i);
            } else {
                if (!cJSON_IsObject(mv))
                    fail_msg("case %zu: no multiValueHeaders", i);
                assert_int_equal(cJSON_GetArraySize(mv), 2);
                const cJSON *ct = cJSON_GetObjectItemCaseSensitive(mv, "Content-Type");
                assert_true(cJSON_IsArray(ct) && cJSON_GetArraySize(ct) == 1);
                assert_string_equal(cJSON_GetArrayItem(ct, 0)->valuestring, "application/json");
            }
            assert_string_equal(str_member(o, "body"), "{}");
            assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "isBase64Encoded")));
            cJSON_Delete(o);
        }
        event_free(ev);
    }
}

/* The prefix the client's URL had before the route: the API stage. */
static void test_base_path(void **state)
{
    (void)state;
    static const struct {
        const char *file, *base;
    } cases[] = {
        { "test/events/http-v2-stage.json", "/prod" },
        { "test/events/rest-v1.json", "/prod" },
        { "test/events/http-v2-default.json", NULL },
        { "test/events/function-url.json", NULL },
        { "test/events/alb.json", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *json = read_file(cases[i].file, &len), msg[256] = "";
        assert_non_null(json);
        struct event *ev = NULL;
        assert_int_equal(event_parse(json, len, &ev, msg, sizeof msg), CT_OK);
        const char *b = event_request(ev)->base_path;
        if (cases[i].base)
            assert_string_equal(b, cases[i].base);
        else
            assert_null(b);
        event_free(ev);
        free(json);
    }
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_base_path),
        cmocka_unit_test(test_bad_samples),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_part_events),
        cmocka_unit_test(test_uses_length),
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_response_png),
        cmocka_unit_test(test_response_text),
        cmocka_unit_test(test_response_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
