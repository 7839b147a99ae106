/* runtime.h - the AWS Lambda custom runtime: the Runtime API (2018-06-01) loop
 * over libcurl, and one invocation from event JSON to response JSON. */
#ifndef COGTILER_RUNTIME_H
#define COGTILER_RUNTIME_H

#include <stddef.h>

#include "http.h"

/* Lambda's limit on a synchronous response payload (and on an event). */
#define RUNTIME_MAX_PAYLOAD 6291456
/* Work stops this long before Lambda-Runtime-Deadline-Ms, to leave time to
 * post the 504. */
#define RUNTIME_DEADLINE_MARGIN_MS 250

/* One invocation: parses event[0..len), hands its request to svc with ctx
 * (giving it deadline_ms, epoch ms or 0, less RUNTIME_DEADLINE_MARGIN_MS) and
 * writes the response payload to *json (free with free()). Returns 0, or
 * CT_EINVAL when the event cannot be parsed as an HTTP event at all (msg says
 * why: a runtime failure to report to the /error endpoint), or CT_ENOMEM.
 * request_id (may be NULL) goes into the log line written on stderr. */
int runtime_invoke(const struct http_service *svc, void *ctx, const char *event, size_t len,
                   long long deadline_ms, const char *request_id, char **json, size_t *json_len,
                   char *msg, size_t msgcap);

/* Serves invocations from the Runtime API at api ("host:port") one at a time
 * with svc and ctx, until it goes away. Returns CT_ESOURCE (with a message on
 * stderr) when it cannot be reached after a few retries; never returns
 * otherwise. */
int runtime_run(const struct http_service *svc, void *ctx, const char *api);

/* Posts a start-up failure to /runtime/init/error. 0 or CT_ESOURCE. */
int runtime_init_error(const char *api, const char *type, const char *message);

#endif
