/* handler.h - the tile service behind every transport: a struct request in, a
 * struct response out (http.h), for one worker (app.h). It routes, checks the
 * method and the body's type, parses the parameters, and answers tiles, the
 * viewer page and the metadata JSON. */
#ifndef COGTILER_HANDLER_H
#define COGTILER_HANDLER_H

#include "app.h"
#include "http.h"

/* Fills *resp for req with worker w (a struct worker *); never fails: errors
 * become JSON error responses. */
void handler_handle(void *w, const struct request *req, struct response *resp);

/* The JSON error err with the headers of the handler's own errors (CORS), for
 * a request a transport rejects before the handler sees it. */
void handler_refuse(void *w, struct response *resp, int err, const char *detail);

/* The two above, as the service every transport is given. */
extern const struct http_service handler_service;

#endif
