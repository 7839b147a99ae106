/* fuzz_event.c - libFuzzer target for event_parse: any bytes as a Lambda
 * invocation payload; what parses goes on to route_parse and event_response.
 * Invariants the module promises are checked with abort(), so a broken one
 * counts as a crash.
 *
 * With -DCOGTILER_LIBFUZZER it is linked against libFuzzer
 * (-fsanitize=fuzzer); without, a plain main() replays every file of the
 * directories (or the files) given as arguments, so saved crashers in
 * test/fuzz/crashers/ run as regression tests with any compiler. Seed
 * corpus: test/events/. */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "http.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte of every pair, for ASan to check. */
static volatile size_t sink;

static void check_kv(const struct kv *kv, size_t n)
{
    if (n && !kv)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!kv[i].key || !kv[i].value)
            abort();
        sink += strlen(kv[i].key) + strlen(kv[i].value);
    }
}

static void respond(const struct event *ev, const struct response *resp)
{
    char *json = NULL;
    size_t len = 0;
    if (event_response(ev, resp, &json, &len) != CT_OK)
        return; /* out of memory */
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!o || strlen(json) != len ||
        !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "statusCode")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "body")) ||
        !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "isBase64Encoded")))
        abort();
    cJSON_Delete(o);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0xff };
    static char error_body[] = "{\"detail\":\"no such tile\"}";
    struct event *ev = NULL;
    char msg[160] = "";
    int err = event_parse((const char *)data, size, &ev, msg, sizeof msg);
    if (err != CT_OK) {
        if (ev || (err != CT_EINVAL && err != CT_ENOMEM) || !msg[0])
            abort();
        return 0;
    }
    if (event_kind(ev) == EVENT_PART) { /* a fan-out part: no request, no HTTP answer */
        if (!event_part(ev))
            abort();
        event_free(ev);
        return 0;
    }
    const struct request *req = event_request(ev);
    if (!event_error(ev)) {
        size_t n = strlen(req->path);
        if (n == 0 || n > EVENT_MAX_PATH || !req->method || req->nquery > EVENT_MAX_PAIRS)
            abort();
        struct route r;
        route_parse(req->path, n, &r);
        check_kv(req->query, req->nquery);
        if ((req->body_len && !req->body) || req->body_len > HTTP_MAX_BODY)
            abort();
        for (size_t i = 0; i < req->body_len; i++) /* every byte readable */
            sink += req->body[i];
    } else if (event_error_code(ev) != CT_EINVAL && event_error_code(ev) != CT_ETOOLARGE) {
        abort();
    }
    check_kv(req->headers, req->nheaders);

    struct response tile = { .status = 200,
                             .content_type = "image/png",
                             .cache_control = "public, max-age=3600",
                             .etag = "\"0011223344556677\"",
                             .body = png,
                             .len = sizeof png };
    struct response error = { .status = event_error(ev) ? 400 : 404,
                              .content_type = "application/json",
                              .cors_origin = "*",
                              .body = (unsigned char *)error_body,
                              .len = sizeof error_body - 1 };
    struct response empty = { .status = 304, .content_type = "image/png" };
    respond(ev, &tile);
    respond(ev, &error);
    respond(ev, &empty);
    event_free(ev);
    return 0;
}

#ifndef COGTILER_LIBFUZZER
#include "fuzz_replay.h"

int main(int argc, char **argv)
{
    return fuzz_replay_main("fuzz_event", argc, argv);
}
#endif
