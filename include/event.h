/* event.h - Lambda HTTP events <-> struct request / struct response (cJSON).
 * Handles API Gateway REST APIs (payload 1.0), HTTP APIs (payload 2.0), Lambda
 * Function URLs (2.0 shape) and ALB target groups, told apart by their shape. */
#ifndef COGTILER_EVENT_H
#define COGTILER_EVENT_H

#include <stddef.h>

#include "http.h"

enum event_kind {
    EVENT_REST_V1,      /* API Gateway REST API, payload format 1.0 */
    EVENT_HTTP_V2,      /* API Gateway HTTP API, payload format 2.0 */
    EVENT_FUNCTION_URL, /* Lambda Function URL (2.0 shape, requestContext.domainName *.lambda-url.*) */
    EVENT_ALB,          /* Application Load Balancer (requestContext.elb) */
    EVENT_PART,         /* a fan-out part ({"cogtiler_part": {...}}, fanout.h): sent by the
                           function to itself through the Invoke API, never from HTTP */
};

/* Limits: a path or a query string longer than this, or more pairs than
 * EVENT_MAX_PAIRS, is a bad request (400), not a runtime failure. A body over
 * HTTP_MAX_BODY (after base64 decoding) is 413. */
#define EVENT_MAX_PATH 2048
#define EVENT_MAX_QUERY HTTP_MAX_QUERY
#define EVENT_MAX_PAIRS HTTP_MAX_PAIRS

struct event;

/* Parses one invocation payload json[0..len) (not NUL-terminated).
 * Returns:
 *   CT_OK and *out: a recognised HTTP event, or a part event (EVENT_PART,
 *     see event_part()). If its content is unusable (path or
 *     query too long, too many parameters, a bad percent-encoding, a missing
 *     path, a body that is not valid base64 or is too large), event_error()
 *     says why and event_error_code() which error to answer (400, or 413 for
 *     the body's size) in the event's shape; otherwise event_request() is
 *     ready for the service.
 *   CT_EINVAL: not JSON, or JSON of no known event shape; msg says why. The
 *     runtime reports this to the Runtime API's /error endpoint.
 *   CT_ENOMEM.
 * Free *out with event_free(). */
int event_parse(const char *json, size_t len, struct event **out, char *msg, size_t msgcap);

/* NULL-safe. */
void event_free(struct event *ev);

enum event_kind event_kind(const struct event *ev);

/* NULL when the request is usable, else a short reason for the error answer. */
const char *event_error(const struct event *ev);

/* CT_OK when the request is usable, else the ct_err to answer with
 * (CT_EINVAL, or CT_ETOOLARGE for a body over HTTP_MAX_BODY). */
int event_error_code(const struct event *ev);

/* The part of an EVENT_PART event (a cJSON object, owned by ev), else NULL.
 * Such an event has no request: event_request() is not to be called. */
const void *event_part(const struct event *ev);

/* The request inside ev (owned by ev; valid until event_free). Path:
 * percent-decoded, with an HTTP API's named stage removed from rawPath, and
 * for a REST API the resource path without the stage. Query: percent-decoded
 * pairs, every value of a multi-value parameter. Header names as sent (the
 * handler compares them case-insensitively). base_path: "/" + the API stage
 * when the client's URL carries it (REST APIs, HTTP APIs on a named stage),
 * else NULL. Body: the event's "body" as bytes, decoded from base64 when
 * isBase64Encoded is true (a plain body is text: it ends at its first NUL),
 * NULL when the event has none or the method is GET, HEAD, OPTIONS or
 * DELETE (whose bodies mean nothing and are dropped unread). deadline_ms is 0. */
struct request *event_request(struct event *ev);

/* The Lambda response payload for resp in the shape ev expects: statusCode,
 * headers (plus multiValueHeaders for REST and ALB when the request had them),
 * isBase64Encoded with a base64 body for binary types, plain text for JSON and
 * HTML, statusDescription for ALB. Returns 0 and *json (NUL-terminated, free
 * with free()) of *len bytes, or CT_ENOMEM. */
int event_response(const struct event *ev, const struct response *resp, char **json, size_t *len);

/* Base64 (RFC 4648, with padding) of in[0..n) into out, which must hold
 * 4 * ((n + 2) / 3) + 1 bytes; returns the length written (NUL not counted). */
size_t event_base64(const unsigned char *in, size_t n, char *out);

/* Decodes the base64 text s[0..n) (RFC 4648 alphabet, padding required, no
 * whitespace) into out, which may be s itself (decoding only shortens) and
 * must hold 3 * (n / 4) bytes. Returns 0 and *outlen, or CT_EINVAL. */
int event_unbase64(const char *s, size_t n, unsigned char *out, size_t *outlen);

#endif
