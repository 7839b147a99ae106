/* server.h - the local HTTP mode: libmicrohttpd turned into struct request. */
#ifndef COGTILER_SERVER_H
#define COGTILER_SERVER_H

#include "app.h"

/* Serves app on host:port (port 0 picks a free one) until SIGINT or SIGTERM.
 * Requests are handled one at a time on the server thread, since GDAL dataset
 * handles are not thread-safe. Prints "listening on http://HOST:PORT" to
 * stdout once ready. Returns 0, or CT_EINVAL / CT_EINTERNAL if it cannot start. */
int server_run(struct app *app, const char *host, int port);

#endif
