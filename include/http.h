/* http.h - the transport contract. Every transport (the Lambda runtime with its
 * events, the local HTTP server, the command line) turns what it received into
 * a struct request, hands it to a service it was given (struct http_service),
 * and sends back the struct response it gets. Transports depend on this header
 * (and err.h) alone, never on the service's modules, as aws-lambda-cpp's
 * runtime.h owns its request/response types and the handler is a function the
 * runtime is given. */
#ifndef COGTILER_HTTP_H
#define COGTILER_HTTP_H

#include <stddef.h>
#include <time.h>

struct kv {
    const char *key, *value;
};

/* Lambda's limit on a synchronous payload: no request body may be larger. */
#define HTTP_MAX_BODY 6291456
/* Query parameters (pairs) and headers a request may carry; more is a 414/431
 * decided by the transport, before the service sees the request. */
#define HTTP_MAX_PAIRS 64
#define HTTP_MAX_QUERY 8192

struct request {
    const char *method;         /* "GET", "HEAD", "POST", "OPTIONS", ... */
    const char *path;           /* percent-decoded, without the query string */
    const struct kv *query;     /* percent-decoded pairs; a key may repeat */
    size_t nquery;
    const struct kv *headers;   /* names compared case-insensitively */
    size_t nheaders;
    long long deadline_ms;      /* wall-clock (epoch) ms by which to answer; 0 = none */
    const char *base_path;      /* prefix the client used before path (an API stage,
                                   "/prod"), or NULL; for URLs the answer builds */
    const unsigned char *body;  /* the request body (decoded from base64 where the
                                   transport received it so), or NULL */
    size_t body_len;            /* <= HTTP_MAX_BODY */
};

struct response {
    int status;
    const char *content_type;   /* static string */
    const char *cache_control;  /* static string, or NULL */
    const char *cors_origin;    /* Access-Control-Allow-Origin, or NULL */
    const char *allow;          /* Allow (405, OPTIONS), or NULL */
    const char *cors_methods;   /* Access-Control-Allow-Methods (preflight), or NULL */
    const char *cors_max_age;   /* Access-Control-Max-Age (preflight), or NULL */
    char cors_headers[160];     /* Access-Control-Allow-Headers (preflight), or "" */
    char etag[24];              /* quoted strong ETag, or "" */
    unsigned char *body;
    size_t len;
    int body_owned;             /* body is malloc'd and freed by response_free */
    char detail[256];           /* the full error message, for logs */
};

#define RESPONSE_MAX_HEADERS 8

/* The headers of resp as name/value pairs in out (room for
 * RESPONSE_MAX_HEADERS): Content-Type, Cache-Control, ETag, Allow and the
 * Access-Control-* headers, each when set. Returns the count. The one list
 * every transport sends. */
size_t response_headers(const struct response *resp, struct kv *out);

/* NULL-safe; frees an owned body. */
void response_free(struct response *resp);

/* Fills *resp (zeroed first) with the JSON error {"detail": "..."} for err
 * (an enum ct_err): its status from ct_http_status(), Cache-Control no-store
 * for 5xx and one minute for 4xx. The public text is detail for 4xx and 502
 * (already scrubbed by the caller) and ct_strerror(err) for other 5xx; the
 * whole detail stays in resp->detail for the log. Never fails (an answer that
 * cannot be built becomes a static 500). */
void http_error(struct response *resp, int err, const char *detail);

/* The value of the first query parameter called key, or NULL. */
const char *request_query(const struct request *req, const char *key);

/* The value of the first header called name (case-insensitive), or NULL. */
const char *request_header(const struct request *req, const char *name);

/* Percent-decodes the NUL-terminated s in place (decoding only shortens), with
 * '+' read as a space when plus is set (query strings). A '%' not followed by
 * two hex digits, and "%00" (which no C string can carry), are kept as they
 * are and set *bad (when bad is not NULL). Returns the new length. */
size_t http_pct_decode(char *s, int plus, int *bad);

/* The wall clock in epoch ms: the clock of request.deadline_ms. */
long long http_clock_ms(void);

/* A monotonic clock in ms, for durations. */
double http_mono_ms(void);

/* The time ms milliseconds from now on clock (CLOCK_REALTIME, or the clock a
 * condition variable was made with): pthread_cond_timedwait()'s deadline. */
struct timespec http_timespec_in(clockid_t clock, long ms);

/* What a transport is given. handle() fills *resp for req and never fails;
 * refuse() fills *resp with the JSON error err for a request the transport
 * itself rejects (too large, malformed), with the same headers as the
 * service's own errors. ctx is the transport's per-worker context. */
struct http_service {
    void (*handle)(void *ctx, const struct request *req, struct response *resp);
    void (*refuse)(void *ctx, struct response *resp, int err, const char *detail);
    /* A fan-out part (only the Lambda runtime receives them): the part's
     * object, the invocation's deadline (epoch ms, 0 = none), and its answer
     * as JSON into *json (free with free()). 0 or CT_ENOMEM. NULL: parts are
     * refused. */
    int (*part)(void *ctx, const void *part, long long deadline_ms, char **json, size_t *len);
};

#endif
