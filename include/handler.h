/* handler.h - the transport-neutral core: struct request in, struct response
 * out. The local HTTP server, the CLI and (later) the Lambda runtime are thin
 * transports around handler_handle(). */
#ifndef COGTILER_HANDLER_H
#define COGTILER_HANDLER_H

#include <stddef.h>

#include "app.h"

struct kv {
    const char *key, *value;
};

struct request {
    const char *method;      /* "GET", "HEAD", ... */
    const char *path;        /* percent-decoded, without the query string */
    const struct kv *query;  /* percent-decoded pairs; a key may repeat */
    size_t nquery;
    const struct kv *headers; /* names compared case-insensitively */
    size_t nheaders;
    long long deadline_ms;   /* wall-clock (epoch) ms by which to answer; 0 = none */
    const char *base_path;   /* prefix the client used before path (an API stage,
                                "/prod"), or NULL; for URLs the answer builds */
};

struct response {
    int status;
    const char *content_type;   /* static string */
    const char *cache_control;  /* static string, or NULL */
    const char *cors_origin;    /* Access-Control-Allow-Origin, or NULL */
    char etag[24];              /* quoted strong ETag, or "" */
    unsigned char *body;
    size_t len;
    int body_owned;             /* body is malloc'd and freed by response_free */
    char detail[256];           /* the full error message, for logs */
};

#define RESPONSE_MAX_HEADERS 4

/* The headers of resp as name/value pairs in out (room for
 * RESPONSE_MAX_HEADERS): Content-Type, Cache-Control, ETag and
 * Access-Control-Allow-Origin, each when set. Returns the count. The one list
 * every transport sends. */
size_t response_headers(const struct response *resp, struct kv *out);

/* Fills *resp with the JSON error for err and the same headers as the
 * handler's own errors, for a transport that rejects a request before the
 * handler sees it. */
void handler_error(struct app *app, struct response *resp, int err, const char *detail);

/* Fills *resp for req; never fails (errors become JSON error responses). */
void handler_handle(struct app *app, const struct request *req, struct response *resp);

/* NULL-safe; frees an owned body. */
void response_free(struct response *resp);

/* The value of the first query parameter called key, or NULL. */
const char *request_query(const struct request *req, const char *key);

/* The wall clock in epoch ms: the clock of request.deadline_ms. */
long long handler_clock_ms(void);

/* The value of the first header called name (case-insensitive), or NULL. */
const char *request_header(const struct request *req, const char *name);

#endif
