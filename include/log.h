/* log.h - one structured JSON line per request, fan-out or part on stderr
 * (CloudWatch style). */
#ifndef COGTILER_LOG_H
#define COGTILER_LOG_H

#include "http.h"

/* Writes {"request_id","method","path","status","ms","bytes"[,"error"]}.
 * request_id may be NULL. */
void log_request(const char *request_id, const struct request *req, const struct response *resp,
                 double ms);

/* {"fanout": {"on": where, "parts", "computed_here", "chunks", "failed",
 * "ms"}}: a zone's fan-out (fanout.h), once settled. */
void log_fanout(const char *where, int parts, int here, long long chunks, int failed, double ms);

/* {"request_id", "part": {"part", "parts", "status", "ms"}}: a part event
 * answered (status: 200, or the HTTP status of its error). */
void log_part(const char *request_id, int part, int parts, int status, double ms);

#endif
