/* http.c - the transport contract's helpers: header list, lookups, clocks and
 * the JSON error body every transport and the service share. */
#include "http.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"

#define CACHE_ERROR_4XX "public, max-age=60"
#define CACHE_NONE "no-store"

const char *request_query(const struct request *req, const char *key)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (req->query[i].key && strcmp(req->query[i].key, key) == 0)
            return req->query[i].value ? req->query[i].value : "";
    return NULL;
}

const char *request_header(const struct request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].key && strcasecmp(req->headers[i].key, name) == 0)
            return req->headers[i].value ? req->headers[i].value : "";
    return NULL;
}

size_t response_headers(const struct response *resp, struct kv *out)
{
    const struct kv all[RESPONSE_MAX_HEADERS] = {
        { "Content-Type", resp->content_type },
        { "Cache-Control", resp->cache_control },
        { "ETag", resp->etag[0] ? resp->etag : NULL },
        { "Allow", resp->allow },
        { "Access-Control-Allow-Origin", resp->cors_origin },
        { "Access-Control-Allow-Methods", resp->cors_methods },
        { "Access-Control-Allow-Headers", resp->cors_headers[0] ? resp->cors_headers : NULL },
        { "Access-Control-Max-Age", resp->cors_max_age },
    };
    size_t n = 0;
    for (size_t i = 0; i < RESPONSE_MAX_HEADERS; i++)
        if (all[i].value)
            out[n++] = all[i];
    return n;
}

void response_free(struct response *resp)
{
    if (!resp)
        return;
    if (resp->body_owned)
        free(resp->body);
    resp->body = NULL;
    resp->len = 0;
    resp->body_owned = 0;
}

void http_error(struct response *resp, int err, const char *detail)
{
    memset(resp, 0, sizeof *resp);
    resp->status = ct_http_status(err);
    resp->content_type = "application/json";
    resp->cache_control = resp->status >= 500 ? CACHE_NONE : CACHE_ERROR_4XX;
    snprintf(resp->detail, sizeof resp->detail, "%s", detail && *detail ? detail : ct_strerror(err));
    /* Internal faults stay generic in public (the log has the detail); an
     * upstream fault or a timeout says why (which read, which part), its
     * source's name and GDAL's code locations already scrubbed by the caller. */
    const char *pub = resp->status < 500 || err == CT_ESOURCE || err == CT_ETIMEOUT
                          ? resp->detail
                          : ct_strerror(err);

    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "detail", pub))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text) {
        resp->body = (unsigned char *)text;
        resp->len = strlen(text);
        resp->body_owned = 1;
    } else {
        static const char oom[] = "{\"detail\":\"out of memory\"}";
        resp->status = 500;
        resp->cache_control = CACHE_NONE;
        resp->body = (unsigned char *)oom;
        resp->len = sizeof oom - 1;
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

size_t http_pct_decode(char *s, int plus, int *bad)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (*r == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi || lo)) {
            *w++ = (char)(hi << 4 | lo);
            r += 2;
            continue;
        }
        if (*r == '%' && bad)
            *bad = 1;
        *w++ = plus && *r == '+' ? ' ' : *r;
    }
    *w = '\0';
    return (size_t)(w - s);
}

long long http_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double http_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct timespec http_timespec_in(clockid_t clock, long ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
