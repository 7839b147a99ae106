/* server.h - the local HTTP mode: libmicrohttpd turned into struct request
 * (http.h), answered by a pool of worker threads. */
#ifndef COGTILER_SERVER_H
#define COGTILER_SERVER_H

#include "http.h"

struct server_opts {
    const char *host;     /* an IPv4 address, or "localhost" */
    int port;             /* 0 picks a free one */
    const struct http_service *svc;
    void **ctx;           /* ctx[i] is worker i's: each is used by one thread only;
                             ctx[0] is also given to svc->refuse from the
                             server's own thread, which must only read from it */
    int workers;          /* threads answering requests, >= 1 */
    int per_ip;           /* open connections one client address may hold; 0: 64 */
    int deadline_ms;      /* a request's deadline, from when it is queued; 0: 30 s */
    int receive_ms;       /* a request's line, headers and body must arrive within
                             this (from the connection, or the previous answer on
                             it), however slowly it trickles; 0: 10 s */
};

struct server;

/* Starts listening and the workers. 0 and *out (stop with server_stop), or
 * CT_EINVAL (bad address) / CT_EINTERNAL (cannot listen) with a message on
 * stderr. Requests are queued to the workers in arrival order; a worker
 * blocked on a slow source holds only its own request. */
int server_start(const struct server_opts *o, struct server **out);

/* The port it listens on. */
int server_port(const struct server *s);

/* NULL-safe: stops listening, lets the workers finish, frees. */
void server_stop(struct server *s);

/* server_start, then "listening on http://HOST:PORT" on stdout, then serves
 * until SIGINT or SIGTERM. 0, or the error of server_start. */
int server_run(const struct server_opts *o);

#endif
