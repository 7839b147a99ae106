#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "handler.h"
#include "log.h"

#define MAX_PAIRS 64
#define SERVE_DEADLINE_MS 30000

struct pairs {
    struct kv kv[MAX_PAIRS];
    size_t n;
    int overflow;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    struct pairs *p = cls;
    if (p->n == MAX_PAIRS) {
        p->overflow = 1;
        return MHD_NO;
    }
    p->kv[p->n++] = (struct kv){ key, value ? value : "" };
    return MHD_YES;
}

static enum MHD_Result queue(struct MHD_Connection *conn, const struct response *resp)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    struct kv h[RESPONSE_MAX_HEADERS];
    size_t n = response_headers(resp, h);
    for (size_t i = 0; i < n; i++)
        MHD_add_response_header(r, h[i].key, h[i].value);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    static int marker;
    if (!*con_cls) { /* headers only so far; answer on the next call */
        *con_cls = &marker;
        return MHD_YES;
    }
    if (*upload_size) { /* a body is not expected; discard it */
        *upload_size = 0;
        return MHD_YES;
    }
    struct app *app = cls;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    struct pairs query = { 0 }, headers = { 0 };
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect, &query);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect, &headers);
    /* Requests are served one at a time: none may hold the others for long. */
    long long deadline = handler_clock_ms() + SERVE_DEADLINE_MS;
    struct request req = { method, url, query.kv, query.n, headers.kv, headers.n, deadline, NULL };
    struct response resp;
    if (query.overflow || headers.overflow) {
        handler_error(app, &resp, CT_EINVAL, "too many query parameters or headers");
    } else {
        handler_handle(app, &req, &resp);
    }
    enum MHD_Result ret = queue(conn, &resp);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    log_request(NULL, &req, &resp,
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    response_free(&resp);
    return ret;
}

int server_run(struct app *app, const char *host, int port)
{
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    addr.sin_port = htons((uint16_t)port);
    if (port < 0 || port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "bootstrap serve: bad address %s:%d (want an IPv4 address)\n", host, port);
        return CT_EINVAL;
    }

    /* Block the stop signals before the server thread starts, so it inherits
     * the mask and only this thread receives them, through sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, app,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bootstrap serve: cannot listen on %s:%d\n", host, port);
        return CT_EINTERNAL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on http://%s:%u\n", host, info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    return CT_OK;
}
