/* runtime.c - the Lambda Runtime API loop over libcurl. */
#include "runtime.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "log.h"

#define API_PREFIX "/2018-06-01/runtime"
#define POST_TIMEOUT_S 10L
#define CONNECT_RETRIES 4

/* What /invocation/next said in its headers. */
struct next {
    char request_id[128];
    char trace_id[512];
    char function_arn[256];
    long long deadline_ms;
};

struct runtime {
    CURL *curl;
    char base[300]; /* http://HOST:PORT/2018-06-01/runtime */
    struct buf body;
    struct next next;
    char curl_err[CURL_ERROR_SIZE];
    /* "_X_AMZN_TRACE_ID=..." as the environment holds it (see set_trace_id). */
    char trace_env[sizeof "_X_AMZN_TRACE_ID=" + sizeof(((struct next *)0)->trace_id)];
    int trace_put;
};

int runtime_invoke(const struct http_service *svc, void *ctx, const char *event, size_t len,
                   long long deadline_ms, const char *request_id, char **json, size_t *json_len,
                   char *msg, size_t msgcap)
{
    double t0 = http_mono_ms();
    struct event *ev = NULL;
    struct response resp;
    struct request empty = { .method = "", .path = "" };
    const struct request *req = &empty;
    int err = event_parse(event, len, &ev, msg, msgcap);
    if (err)
        return err;
    if (event_kind(ev) == EVENT_PART) {
        if (!svc->part) {
            snprintf(msg, msgcap, "this service takes no part events");
            event_free(ev);
            return CT_EINVAL;
        }
        err = svc->part(ctx, event_part(ev), deadline_ms ? deadline_ms - RUNTIME_DEADLINE_MARGIN_MS : 0,
                        json, json_len);
        event_free(ev);
        if (err)
            snprintf(msg, msgcap, "out of memory");
        return err;
    }
    const char *bad = event_error(ev);
    if (bad) {
        req = event_request(ev); /* for the log: what of it could be read */
        svc->refuse(ctx, &resp, event_error_code(ev), bad);
    } else {
        struct request *r = event_request(ev);
        if (deadline_ms)
            r->deadline_ms = deadline_ms - RUNTIME_DEADLINE_MARGIN_MS;
        req = r;
        svc->handle(ctx, r, &resp);
        if (r->method && strcmp(r->method, "HEAD") == 0)
            response_free(&resp); /* headers only */
    }
    err = event_response(ev, &resp, json, json_len);
    if (!err && *json_len > RUNTIME_MAX_PAYLOAD) {
        free(*json);
        *json = NULL;
        response_free(&resp);
        svc->refuse(ctx, &resp, CT_ETOOBIG, "response larger than Lambda's 6 MB limit");
        err = event_response(ev, &resp, json, json_len);
    }
    log_request(request_id, req, &resp, http_mono_ms() - t0);
    response_free(&resp);
    event_free(ev);
    if (err)
        snprintf(msg, msgcap, "out of memory");
    return err;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t add = size * n;
    /* An event over Lambda's payload limit cannot be genuine: stop reading. */
    if (add > RUNTIME_MAX_PAYLOAD + 65536 - b->n)
        return 0;
    return buf_add(b, data, add) ? 0 : add;
}

/* Copies the value of header line "Name: value\r\n" into dst when it is name. */
static void header_value(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return;
    const char *v = line + k + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t len = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct next *nx = arg;
    size_t len = size * n;
    char deadline[32] = "";
    header_value(line, len, "Lambda-Runtime-Aws-Request-Id", nx->request_id,
                 sizeof nx->request_id);
    header_value(line, len, "Lambda-Runtime-Trace-Id", nx->trace_id, sizeof nx->trace_id);
    header_value(line, len, "Lambda-Runtime-Invoked-Function-Arn", nx->function_arn,
                 sizeof nx->function_arn);
    header_value(line, len, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline);
    if (deadline[0])
        nx->deadline_ms = strtoll(deadline, NULL, 10);
    return len;
}

/* POSTs body to base + path; returns the HTTP status or -1. */
static long post(struct runtime *rt, const char *path, const char *body, size_t len,
                 const char *error_type)
{
    char url[600], hdr[160];
    snprintf(url, sizeof url, "%s%s", rt->base, path);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h && error_type) {
        snprintf(hdr, sizeof hdr, "Lambda-Runtime-Function-Error-Type: %s", error_type);
        struct curl_slist *h2 = curl_slist_append(h, hdr);
        h = h2 ? h2 : h;
    }
    curl_easy_reset(rt->curl);
    curl_easy_setopt(rt->curl, CURLOPT_URL, url);
    curl_easy_setopt(rt->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(rt->curl, CURLOPT_TIMEOUT, POST_TIMEOUT_S);
    curl_easy_setopt(rt->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(rt->curl, CURLOPT_ERRORBUFFER, rt->curl_err);
    curl_easy_setopt(rt->curl, CURLOPT_NOPROXY, "*");
    long code = -1;
    if (curl_easy_perform(rt->curl) == CURLE_OK)
        curl_easy_getinfo(rt->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    return code;
}

/* {"errorMessage": message, "errorType": type}, or NULL. */
static char *error_json(const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o && cJSON_AddStringToObject(o, "errorMessage", message) &&
        cJSON_AddStringToObject(o, "errorType", type))
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The log line of an invocation reported to /error (no HTTP status exists). */
static void log_invocation_error(const char *request_id, const char *type, const char *msg,
                                 long posted)
{
    cJSON *o = cJSON_CreateObject();
    char *line = NULL;
    if (o && cJSON_AddStringToObject(o, "request_id", request_id) &&
        cJSON_AddStringToObject(o, "errorType", type) &&
        cJSON_AddStringToObject(o, "error", msg) &&
        cJSON_AddNumberToObject(o, "posted", (double)posted))
        line = cJSON_PrintUnformatted(o);
    if (line)
        fprintf(stderr, "%s\n", line);
    free(line);
    cJSON_Delete(o);
}

static int runtime_open(struct runtime *rt, const char *api)
{
    memset(rt, 0, sizeof *rt);
    if ((size_t)snprintf(rt->base, sizeof rt->base, "http://%s" API_PREFIX, api) >=
        sizeof rt->base)
        return CT_EINVAL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rt->curl = curl_easy_init();
    return rt->curl ? CT_OK : CT_ENOMEM;
}

/* _X_AMZN_TRACE_ID for this invocation, as Lambda's own runtimes set it. glibc's
 * setenv() keeps every value it was ever given (a trace id is new each time: about
 * 200 bytes an invocation, found by bench/soak.sh), so the variable is a buffer of
 * the runtime's, put into the environment once with putenv() and rewritten in
 * place; runtime_close() takes it out before the buffer goes. */
static void set_trace_id(struct runtime *rt, const char *id)
{
    if (!id[0]) {
        if (rt->trace_put)
            unsetenv("_X_AMZN_TRACE_ID");
        rt->trace_put = 0;
        return;
    }
    snprintf(rt->trace_env, sizeof rt->trace_env, "_X_AMZN_TRACE_ID=%s", id);
    if (!rt->trace_put && putenv(rt->trace_env) == 0)
        rt->trace_put = 1;
}

static void runtime_close(struct runtime *rt)
{
    set_trace_id(rt, "");
    if (rt->curl)
        curl_easy_cleanup(rt->curl);
    buf_free(&rt->body);
    curl_global_cleanup();
}

int runtime_init_error(const char *api, const char *type, const char *message)
{
    struct runtime rt;
    int err = runtime_open(&rt, api);
    char *body = err ? NULL : error_json(type, message);
    if (body && post(&rt, "/init/error", body, strlen(body), type) == 202)
        err = CT_OK;
    else
        err = CT_ESOURCE;
    free(body);
    runtime_close(&rt);
    return err;
}

/* GET /invocation/next. No timeout: Lambda freezes the process between
 * invocations, and the call may legitimately wait for hours. */
static CURLcode next_invocation(struct runtime *rt, long *code)
{
    char url[600];
    snprintf(url, sizeof url, "%s/invocation/next", rt->base);
    buf_reset(&rt->body);
    memset(&rt->next, 0, sizeof rt->next);
    curl_easy_reset(rt->curl);
    curl_easy_setopt(rt->curl, CURLOPT_URL, url);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(rt->curl, CURLOPT_TIMEOUT, 0L);
    curl_easy_setopt(rt->curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(rt->curl, CURLOPT_WRITEDATA, &rt->body);
    curl_easy_setopt(rt->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(rt->curl, CURLOPT_HEADERDATA, &rt->next);
    curl_easy_setopt(rt->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(rt->curl, CURLOPT_ERRORBUFFER, rt->curl_err);
    curl_easy_setopt(rt->curl, CURLOPT_NOPROXY, "*");
    rt->curl_err[0] = '\0';
    *code = -1;
    CURLcode rc = curl_easy_perform(rt->curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(rt->curl, CURLINFO_RESPONSE_CODE, code);
    return rc;
}

int runtime_run(const struct http_service *svc, void *ctx, const char *api)
{
    struct runtime rt;
    int err = runtime_open(&rt, api);
    if (err) {
        fprintf(stderr, "bootstrap: cannot set up the Runtime API client for %s\n", api);
        return CT_ESOURCE;
    }
    int failures = 0;
    for (;;) {
        long code;
        CURLcode rc = next_invocation(&rt, &code);
        if (rc != CURLE_OK || code != 200 || !rt.next.request_id[0]) {
            /* The Runtime API is gone (or broken): retry briefly, then stop
             * rather than spin. */
            if (++failures > CONNECT_RETRIES) {
                fprintf(stderr,
                        "bootstrap: Runtime API at %s unreachable (%s, HTTP %ld); exiting\n", api,
                        rc != CURLE_OK ? (rt.curl_err[0] ? rt.curl_err : curl_easy_strerror(rc))
                                       : "bad answer",
                        code);
                runtime_close(&rt);
                return CT_ESOURCE;
            }
            usleep(100000u << failures);
            continue;
        }
        failures = 0;
        set_trace_id(&rt, rt.next.trace_id);

        char path[300], msg[512] = "";
        char *json = NULL;
        size_t len = 0;
        err = runtime_invoke(svc, ctx, rt.body.p ? rt.body.p : "", rt.body.n,
                             rt.next.deadline_ms, rt.next.request_id, &json, &len, msg,
                             sizeof msg);
        if (err) {
            /* Not an HTTP event at all: a failure of this invocation. */
            char *body = error_json(err == CT_EINVAL ? "InvalidEvent" : "Runtime.Internal", msg);
            snprintf(path, sizeof path, "/invocation/%s/error", rt.next.request_id);
            long st = body ? post(&rt, path, body, strlen(body),
                                  err == CT_EINVAL ? "InvalidEvent" : "Runtime.Internal")
                           : -1;
            log_invocation_error(rt.next.request_id, err == CT_EINVAL ? "InvalidEvent"
                                                                      : "Runtime.Internal",
                                 msg, st);
            free(body);
            continue;
        }
        snprintf(path, sizeof path, "/invocation/%s/response", rt.next.request_id);
        long st = post(&rt, path, json, len, NULL);
        if (st != 202)
            fprintf(stderr, "bootstrap: posting the response of %s got HTTP %ld %s\n",
                    rt.next.request_id, st, rt.curl_err);
        free(json);
    }
}
