/* The transports against the contract (http.h), with a service that echoes
 * what reached it: a request body arrives byte-identical through the four
 * Lambda event shapes (plain and base64), the local server (libcurl as the
 * client, on 127.0.0.1) and the CLI; oversized, malformed and hostile
 * requests get their JSON status from the transport itself. */
#include "testutil.h"

#include <curl/curl.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "event.h"
#include "http.h"
#include "runtime.h"
#include "server.h"

/* --- the echo service ------------------------------------------------------------ */

static struct {
    int calls;
    char method[16];
    char path[256];
    unsigned char *body;
    size_t len;
    int has_body;
    char query0[64];
} last;

static void echo_handle(void *ctx, const struct request *req, struct response *resp)
{
    (void)ctx;
    memset(resp, 0, sizeof *resp);
    last.calls++;
    snprintf(last.method, sizeof last.method, "%s", req->method);
    snprintf(last.path, sizeof last.path, "%s", req->path);
    snprintf(last.query0, sizeof last.query0, "%s", req->nquery ? req->query[0].value : "");
    free(last.body);
    last.body = NULL;
    last.len = req->body_len;
    last.has_body = req->body != NULL;
    if (req->body_len) {
        last.body = malloc(req->body_len);
        assert_non_null(last.body);
        memcpy(last.body, req->body, req->body_len);
    }
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    resp->cors_origin = "*";
    if (req->body_len && req->body_len <= 65536) { /* echoed back when small */
        resp->body = malloc(req->body_len);
        assert_non_null(resp->body);
        memcpy(resp->body, req->body, req->body_len);
        resp->len = req->body_len;
        resp->body_owned = 1;
    }
}

static void echo_refuse(void *ctx, struct response *resp, int err, const char *detail)
{
    (void)ctx;
    http_error(resp, err, detail);
    resp->cors_origin = "*";
}

static const struct http_service echo = { echo_handle, echo_refuse, NULL };

/* A body with every byte value, NULs and invalid UTF-8 included. */
static unsigned char binary[1000];

static void fill_binary(void)
{
    for (size_t i = 0; i < sizeof binary; i++)
        binary[i] = (unsigned char)(i * 7 + 3);
}

static const char json_body[] = "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
                                "\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]},"
                                "\"properties\":{\"name\":\"Zürich \\\"quoted\\\"\"}}";

/* --- Lambda events ------------------------------------------------------------------ */

/* An event of the given shape ("rest", "v2", "url", "alb") for POST /x, with
 * body (already a JSON string literal, or "null") and isBase64Encoded. */
static char *make_event(const char *shape, const char *body_json, int base64)
{
    const char *fmt =
        !strcmp(shape, "rest")
            ? "{\"resource\":\"/{proxy+}\",\"path\":\"/x\",\"httpMethod\":\"POST\","
              "\"headers\":{\"content-type\":\"application/json\"},\"requestContext\":{"
              "\"stage\":\"prod\"},\"body\":%s,\"isBase64Encoded\":%s}"
        : !strcmp(shape, "v2")
            ? "{\"version\":\"2.0\",\"rawPath\":\"/x\",\"rawQueryString\":\"\","
              "\"headers\":{\"content-type\":\"application/json\"},\"requestContext\":{"
              "\"http\":{\"method\":\"POST\",\"path\":\"/x\"},\"stage\":\"$default\","
              "\"domainName\":\"abc.execute-api.eu-west-1.amazonaws.com\"},"
              "\"body\":%s,\"isBase64Encoded\":%s}"
        : !strcmp(shape, "url")
            ? "{\"version\":\"2.0\",\"rawPath\":\"/x\",\"rawQueryString\":\"\","
              "\"headers\":{\"content-type\":\"application/json\"},\"requestContext\":{"
              "\"http\":{\"method\":\"POST\",\"path\":\"/x\"},\"stage\":\"$default\","
              "\"domainName\":\"abc.lambda-url.eu-west-1.on.aws\"},"
              "\"body\":%s,\"isBase64Encoded\":%s}"
            : "{\"requestContext\":{\"elb\":{\"targetGroupArn\":\"arn:x\"}},"
              "\"httpMethod\":\"POST\",\"path\":\"/x\",\"queryStringParameters\":{},"
              "\"headers\":{\"content-type\":\"application/json\"},"
              "\"body\":%s,\"isBase64Encoded\":%s}";
    size_t n = strlen(fmt) + strlen(body_json) + 8;
    char *ev = malloc(n);
    assert_non_null(ev);
    snprintf(ev, n, fmt, body_json, base64 ? "true" : "false");
    return ev;
}

/* A JSON string literal of s (quotes and backslashes escaped). */
static char *json_string(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(2 * n + 3), *w = out;
    assert_non_null(out);
    *w++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *w++ = '\\';
        *w++ = *s;
    }
    *w++ = '"';
    *w = '\0';
    return out;
}

/* The status of the payload runtime_invoke wrote. */
static int payload_status(const char *json)
{
    const char *p = strstr(json, "\"statusCode\":");
    assert_non_null(p);
    return atoi(p + 13);
}

static int invoke(const char *event)
{
    char *json = NULL, msg[256];
    size_t n;
    assert_int_equal(runtime_invoke(&echo, NULL, event, strlen(event), 0, "t", &json, &n, msg,
                                    sizeof msg),
                     CT_OK);
    int status = payload_status(json);
    free(json);
    return status;
}

static void test_event_bodies(void **state)
{
    (void)state;
    static const char *const shapes[] = { "rest", "v2", "url", "alb" };
    char b64[sizeof binary * 2], quoted[sizeof b64 + 3];
    event_base64(binary, sizeof binary, b64);
    snprintf(quoted, sizeof quoted, "\"%s\"", b64);
    char *plain = json_string(json_body);
    for (size_t i = 0; i < 4; i++) {
        /* plain text */
        char *ev = make_event(shapes[i], plain, 0);
        last.calls = 0;
        if (invoke(ev) != 200 || last.calls != 1 || strcmp(last.method, "POST") ||
            last.len != strlen(json_body) || memcmp(last.body, json_body, last.len))
            fail_msg("%s, plain JSON body: not delivered byte-identical (%zu bytes)", shapes[i],
                     last.len);
        free(ev);
        /* base64: every byte value */
        ev = make_event(shapes[i], quoted, 1);
        if (invoke(ev) != 200 || last.len != sizeof binary ||
            memcmp(last.body, binary, sizeof binary))
            fail_msg("%s, base64 binary body: not delivered byte-identical", shapes[i]);
        free(ev);
        /* no body at all, and a null one */
        ev = make_event(shapes[i], "null", 0);
        if (invoke(ev) != 200 || last.has_body || last.len)
            fail_msg("%s, null body: delivered one", shapes[i]);
        free(ev);
        /* malformed base64: 400 from the transport, the service not called */
        static const char *const bad[] = { "\"abc\"", "\"ab=c\"", "\"a*==\"", "\"YQ==YQ==\"",
                                           "\"YR==\"" };
        for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
            ev = make_event(shapes[i], bad[k], 1);
            last.calls = 0;
            int st = invoke(ev);
            if (st != 400 || last.calls)
                fail_msg("%s, base64 body %s: status %d, service called %d times", shapes[i],
                         bad[k], st, last.calls);
            free(ev);
        }
    }
    free(plain);
}

/* A body over 6 MB is 413, plain or base64 (Lambda itself caps the event, but
 * the transport does not rely on that). */
static void test_event_body_too_large(void **state)
{
    (void)state;
    /* plain: 6 MB + 3 characters; base64: characters decoding to 6 MB + 3 bytes */
    const size_t lens[2] = { HTTP_MAX_BODY + 3, (HTTP_MAX_BODY / 3 + 1) * 4 };
    char *big = malloc(lens[1] + 3);
    assert_non_null(big);
    for (int base64 = 0; base64 < 2; base64++) {
        size_t n = lens[base64];
        big[0] = '"';
        memset(big + 1, 'A', n);
        big[n + 1] = '"';
        big[n + 2] = '\0';
        char *ev = make_event("v2", big, base64);
        last.calls = 0;
        int st = invoke(ev);
        if (st != 413 || last.calls)
            fail_msg("%s body of %zu characters: status %d", base64 ? "base64" : "plain", n, st);
        free(ev);
    }
    /* exactly 6 MB decoded is fine */
    size_t ok = HTTP_MAX_BODY / 3 * 4;
    big[ok + 1] = '"';
    big[ok + 2] = '\0';
    char *ev = make_event("alb", big, 1);
    assert_int_equal(invoke(ev), 200);
    assert_int_equal(last.len, HTTP_MAX_BODY);
    free(ev);
    free(big);
}

/* GET, HEAD, OPTIONS and DELETE drop a body unread, even a broken one. */
static void test_event_bodiless_methods(void **state)
{
    (void)state;
    static const char *const methods[] = { "GET", "HEAD", "OPTIONS", "DELETE" };
    for (size_t i = 0; i < 4; i++) {
        char ev[512];
        snprintf(ev, sizeof ev,
                 "{\"version\":\"2.0\",\"rawPath\":\"/x\",\"requestContext\":{\"http\":{"
                 "\"method\":\"%s\"},\"stage\":\"$default\"},\"body\":\"%%%%\","
                 "\"isBase64Encoded\":true}",
                 methods[i]);
        last.calls = 0;
        if (invoke(ev) != 200 || last.calls != 1 || last.has_body)
            fail_msg("%s with a broken body: not dropped", methods[i]);
    }
}

static void test_base64_decoder(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        int ok;
    } cases[] = {
        { "", "", 1 },          { "YQ==", "a", 1 },       { "YWI=", "ab", 1 },
        { "YWJj", "abc", 1 },   { "YWJjZA==", "abcd", 1 }, { "YQ=", NULL, 0 },
        { "YQ", NULL, 0 },      { "Y===", NULL, 0 },       { "YR==", NULL, 0 }, /* stray bits */
        { "YW I=", NULL, 0 },   { "YQ==YQ==", NULL, 0 },   { "YWJ\n", NULL, 0 },
        { "-_==", NULL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char out[16];
        size_t n = 99;
        int err = event_unbase64(cases[i].in, strlen(cases[i].in), out, &n);
        if ((err == CT_OK) != cases[i].ok)
            fail_msg("\"%s\": got %d", cases[i].in, err);
        if (cases[i].ok && (n != strlen(cases[i].out) || memcmp(out, cases[i].out, n)))
            fail_msg("\"%s\": decoded wrong", cases[i].in);
    }
}

/* --- the local server ------------------------------------------------------------------ */

static struct server *srv;
static char base[64];

static int server_setup(void **state)
{
    (void)state;
    void *ctx[2] = { NULL, NULL };
    struct server_opts o = { .host = "127.0.0.1", .port = 0, .svc = &echo, .ctx = ctx,
                             .workers = 2, .receive_ms = 2000 };
    if (server_start(&o, &srv) != CT_OK)
        return -1;
    snprintf(base, sizeof base, "http://127.0.0.1:%d", server_port(srv));
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int server_teardown(void **state)
{
    (void)state;
    server_stop(srv);
    curl_global_cleanup();
    free(last.body);
    last.body = NULL;
    return 0;
}

struct buf {
    unsigned char *p;
    size_t n;
};

static size_t sink(char *d, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    unsigned char *p = realloc(b->p, b->n + size * n + 1);
    assert_non_null(p);
    memcpy(p + b->n, d, size * n);
    b->p = p;
    b->n += size * n;
    b->p[b->n] = '\0';
    return size * n;
}

/* One request with libcurl: the status, the body in *out (free out->p). */
static long http(const char *method, const char *path, const void *body, long len, int chunked,
                 struct buf *out, const char *extra_header)
{
    char url[65536];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    assert_non_null(h);
    memset(out, 0, sizeof *out);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    hdr = curl_slist_append(hdr, "Expect:");
    if (chunked)
        hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
    if (extra_header)
        hdr = curl_slist_append(hdr, extra_header);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, len);
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else
        status = -(long)rc;
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return status;
}

static void test_server_bodies(void **state)
{
    (void)state;
    struct buf b;
    last.calls = 0;
    assert_int_equal(http("POST", "/x?q=1", json_body, (long)strlen(json_body), 0, &b, NULL),
                     200);
    assert_int_equal(last.calls, 1);
    assert_int_equal(last.len, strlen(json_body));
    assert_memory_equal(last.body, json_body, last.len);
    assert_string_equal(last.query0, "1");
    free(b.p);
    assert_int_equal(http("POST", "/x", binary, sizeof binary, 0, &b, NULL), 200);
    assert_int_equal(last.len, sizeof binary);
    assert_memory_equal(last.body, binary, sizeof binary);
    assert_int_equal(b.n, sizeof binary); /* and back again */
    assert_memory_equal(b.p, binary, sizeof binary);
    free(b.p);
    assert_int_equal(http("PUT", "/x", binary, sizeof binary, 1, &b, NULL), 200); /* chunked */
    assert_int_equal(last.len, sizeof binary);
    assert_memory_equal(last.body, binary, sizeof binary);
    free(b.p);
    /* a GET's body is read and dropped */
    assert_int_equal(http("GET", "/x", binary, sizeof binary, 0, &b, NULL), 200);
    assert_false(last.has_body);
    free(b.p);
}

static int is_json_error(const struct buf *b)
{
    return b->n > 10 && strncmp((const char *)b->p, "{\"detail\":", 10) == 0;
}

static void test_server_body_limits(void **state)
{
    (void)state;
    size_t n = HTTP_MAX_BODY + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    struct buf b;
    last.calls = 0;
    /* Content-Length over the limit: 413 before the body is read */
    long st = http("POST", "/x", big, (long)n, 0, &b, NULL);
    if (st != 413 || !is_json_error(&b) || last.calls)
        fail_msg("6 MB + 1 with Content-Length: %ld (%.80s)", st, b.p ? (char *)b.p : "");
    free(b.p);
    /* chunked, no length given: read, dropped, 413 at the end */
    st = http("POST", "/x", big, (long)n, 1, &b, NULL);
    if (st != 413 || !is_json_error(&b) || last.calls)
        fail_msg("6 MB + 1 chunked: %ld", st);
    free(b.p);
    /* exactly the limit: delivered */
    assert_int_equal(http("POST", "/x", big, HTTP_MAX_BODY, 0, &b, NULL), 200);
    assert_int_equal(last.len, HTTP_MAX_BODY);
    free(b.p);
    free(big);
}

/* Hostile URLs: answered JSON at once (no hang), the service not called. */
static void test_server_hostile_urls(void **state)
{
    (void)state;
    static const int counts[] = { 65, 481, 2000, 5000, 11000 };
    struct buf b;
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        static char path[65536];
        size_t at = (size_t)snprintf(path, sizeof path, "/x?");
        for (int k = 0; k < counts[i] && at + 8 < sizeof path; k++)
            at += (size_t)snprintf(path + at, sizeof path - at, "%sa=b", k ? "&" : "");
        last.calls = 0;
        long st = http("GET", path, NULL, 0, 0, &b, NULL);
        if (st != 414 || !is_json_error(&b) || last.calls)
            fail_msg("%d query parameters: %ld (%.80s)", counts[i], st, b.p ? (char *)b.p : "");
        free(b.p);
    }
    /* 64 parameters are fine */
    static char path[1024];
    size_t at = (size_t)snprintf(path, sizeof path, "/x?");
    for (int k = 0; k < 64; k++)
        at += (size_t)snprintf(path + at, sizeof path - at, "%sa=%d", k ? "&" : "", k);
    assert_int_equal(http("GET", path, NULL, 0, 0, &b, NULL), 200);
    free(b.p);
    /* a query longer than 8 KB */
    static char longq[12000];
    memcpy(longq, "/x?a=", 5);
    memset(longq + 5, 'b', 9000);
    assert_int_equal(http("GET", longq, NULL, 0, 0, &b, NULL), 414);
    assert_true(is_json_error(&b));
    free(b.p);
    /* an encoded NUL cuts no path short, and a broken escape is refused */
    static const char *const bad[] = { "/tiles/bluemarble/2/1/1.png%00.jpg", "/x?a=%00",
                                       "/x%zz", "/x?a=%4" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        last.calls = 0;
        long st = http("GET", bad[i], NULL, 0, 0, &b, NULL);
        if (st != 400 || !is_json_error(&b) || last.calls)
            fail_msg("%s: %ld", bad[i], st);
        free(b.p);
    }
    /* after all that, a plain request */
    assert_int_equal(http("GET", "/x?a=%41", NULL, 0, 0, &b, NULL), 200);
    assert_string_equal(last.query0, "A");
    free(b.p);
    /* more than 64 headers: 431 JSON */
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char url[128], line[32];
    snprintf(url, sizeof url, "%s/x", base);
    for (int k = 0; k < 70; k++) {
        snprintf(line, sizeof line, "X-H%d: v", k);
        hdr = curl_slist_append(hdr, line);
    }
    memset(&b, 0, sizeof b);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    long st = 0;
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    assert_int_equal(st, 431);
    assert_true(is_json_error(&b));
    free(b.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
}

/* --- the CLI ------------------------------------------------------------------------ */

/* pthread_cond_timedwait()'s deadlines: normalised (0 <= tv_nsec < 1e9), ms
 * after the clock's now (within the time the test takes), across a carry. */
static void test_timespec_in(void **state)
{
    (void)state;
    static const long cases[] = { 0, 1, 100, 999, 1000, 1500, 61999 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int c = 0; c < 2; c++) {
            clockid_t clock = c ? CLOCK_MONOTONIC : CLOCK_REALTIME;
            struct timespec before, after;
            clock_gettime(clock, &before);
            struct timespec ts = http_timespec_in(clock, cases[i]);
            clock_gettime(clock, &after);
            assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
            double at = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
            double lo = (double)before.tv_sec * 1e3 + (double)before.tv_nsec / 1e6 + cases[i];
            double hi = (double)after.tv_sec * 1e3 + (double)after.tv_nsec / 1e6 + cases[i];
            if (!(at >= lo - 1e-6 && at <= hi + 1e-6))
                fail_msg("%ld ms on clock %d: %.6f not in [%.6f, %.6f]", cases[i], c, at, lo, hi);
        }
    }
}

static void test_cli_body(void **state)
{
    (void)state;
    const char *file = "test/out/transport-body.bin";
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(binary, 1, sizeof binary, f), sizeof binary);
    fclose(f);
    char *argv[] = { "bootstrap", "request", "-X", "POST", "/x?q=%41+b", "--body", (char *)file,
                     "-o", "test/out/transport-answer.bin", NULL };
    last.calls = 0;
    assert_int_equal(cli_request_with(&echo, NULL, 9, argv), 0);
    assert_int_equal(last.calls, 1);
    assert_string_equal(last.method, "POST");
    assert_string_equal(last.path, "/x");
    assert_string_equal(last.query0, "A b");
    assert_int_equal(last.len, sizeof binary);
    assert_memory_equal(last.body, binary, sizeof binary);
    /* a body file over 6 MB: 413 from the CLI, the service not called */
    f = fopen(file, "wb");
    assert_non_null(f);
    static char chunk[65536];
    for (size_t w = 0; w <= HTTP_MAX_BODY; w += sizeof chunk)
        assert_int_equal(fwrite(chunk, 1, sizeof chunk, f), sizeof chunk);
    fclose(f);
    last.calls = 0;
    assert_int_equal(cli_request_with(&echo, NULL, 9, argv), 1);
    assert_int_equal(last.calls, 0);
    remove(file);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    fill_binary();
    const struct CMUnitTest events[] = {
        cmocka_unit_test(test_event_bodies),
        cmocka_unit_test(test_event_body_too_large),
        cmocka_unit_test(test_event_bodiless_methods),
        cmocka_unit_test(test_base64_decoder),
        cmocka_unit_test(test_timespec_in),
        cmocka_unit_test(test_cli_body),
    };
    const struct CMUnitTest server[] = {
        cmocka_unit_test(test_server_bodies),
        cmocka_unit_test(test_server_body_limits),
        cmocka_unit_test(test_server_hostile_urls),
    };
    int failed = cmocka_run_group_tests_name("events and CLI", events, NULL, NULL);
    failed += cmocka_run_group_tests_name("local server", server, server_setup, server_teardown);
    free(last.body);
    return failed;
}
