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
#include "handler.h"
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
    const struct request *req = event_request(ev);
    if (!event_error(ev)) {
        size_t n = strlen(req->path);
        if (n == 0 || n > EVENT_MAX_PATH || !req->method || req->nquery > EVENT_MAX_PAIRS)
            abort();
        struct route r;
        route_parse(req->path, n, &r);
        check_kv(req->query, req->nquery);
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
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_event: cannot open %s\n", path);
        return -1;
    }
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    /* an exact-size copy, so ASan sees a read past the end of the input */
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    if (n)
        memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_event: no such file or directory: %s\n", argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += replay_file(argv[i]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "fuzz_event: cannot read directory %s\n", argv[i]);
            failed++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            char path[4096];
            if (e->d_name[0] == '.' ||
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name) >= (int)sizeof path ||
                stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            failed += replay_file(path) != 0;
            files++;
        }
        closedir(d);
    }
    printf("fuzz_event: replayed %d file(s), %d unreadable\n", files, failed);
    return failed ? 1 : 0;
}
#endif
