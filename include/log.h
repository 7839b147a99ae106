/* log.h - one structured JSON line per request on stderr (CloudWatch style). */
#ifndef COGTILER_LOG_H
#define COGTILER_LOG_H

#include "http.h"

/* Writes {"request_id","method","path","status","ms","bytes"[,"error"]}.
 * request_id may be NULL. */
void log_request(const char *request_id, const struct request *req, const struct response *resp,
                 double ms);

#endif
