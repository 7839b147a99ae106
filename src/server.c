/* server.c - libmicrohttpd (its own polling thread) receives requests; worker
 * threads answer them. A request is read whole (line, headers, a body of at
 * most HTTP_MAX_BODY), its connection suspended and the request queued; a
 * worker runs the service with its own context (its own GDAL handles) and
 * resumes the connection, which then sends the answer. A reaper thread shuts
 * down connections whose request has not arrived within receive_ms, however
 * slowly it trickles (libmicrohttpd's own timeout restarts on every byte). */
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "http.h"
#include "log.h"

#define DEFAULT_PER_IP 64
#define DEFAULT_DEADLINE_MS 30000
#define DEFAULT_RECEIVE_MS 10000
/* An answer that is still being sent this long after its request began is
 * given up (a client that reads a byte at a time). */
#define SEND_GRACE_MS 30000
#define MAX_CONNECTIONS 512
/* libmicrohttpd's per-connection memory: the request line and headers must
 * fit, so a URI up to about half of it reaches us and gets our JSON 414. */
#define CONNECTION_MEMORY (64 * 1024)
#define REAP_EVERY_MS 250

struct server;

/* One connection (libmicrohttpd's socket context). */
struct conn {
    struct server *srv;
    int fd;
    double since;    /* monotonic ms: when the request now arriving began */
    int busy;        /* its request is queued or answered: not reaped as slow */
    int bad_escape;  /* the URL held a bad percent-encoding or an encoded NUL */
    struct conn *prev, *next;
};

enum job_state { JOB_NEW, JOB_RECEIVING, JOB_QUEUED, JOB_DONE };

/* One request (libmicrohttpd's per-request context). */
struct job {
    enum job_state state;
    struct MHD_Connection *mc;
    struct conn *conn;
    int early_err;                /* an error decided before the body: CT_EURI ... */
    const char *early_msg;
    unsigned char *body;
    size_t len, cap;
    int body_overflow;            /* more than HTTP_MAX_BODY arrived: discarded */
    int refused;                  /* answered by the server's thread already */
    struct kv query[HTTP_MAX_PAIRS], headers[HTTP_MAX_PAIRS];
    struct request req;
    struct response resp;
    double t0;                    /* monotonic ms when queued */
    struct job *next;             /* in the queue */
};

struct server {
    struct server_opts o;
    struct MHD_Daemon *d;
    pthread_t *threads;
    int nthreads;
    pthread_t reaper;
    int reaper_started;
    pthread_mutex_t lock;         /* guards the queue, the connection list and stop */
    pthread_cond_t ready;
    pthread_cond_t stopped;
    struct job *head, *tail;
    struct conn *conns;
    int stop;
    int port;
};

/* --- connections and the reaper ----------------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *c = calloc(1, sizeof *c);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!c)
            return; /* not reaped: libmicrohttpd's own timeout still applies */
        c->srv = s;
        c->fd = ci ? ci->connect_fd : -1;
        c->since = http_mono_ms();
        pthread_mutex_lock(&s->lock);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        pthread_mutex_unlock(&s->lock);
        *socket_ctx = c;
        return;
    }
    struct conn *c = *socket_ctx;
    if (!c)
        return;
    /* Called before libmicrohttpd closes the socket: once off the list, the
     * reaper can no longer shut down a descriptor that is reused. */
    pthread_mutex_lock(&s->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->lock);
    free(c);
    *socket_ctx = NULL;
}

static void *reap(void *arg)
{
    struct server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct timespec ts = http_timespec_in(CLOCK_REALTIME, REAP_EVERY_MS);
        pthread_cond_timedwait(&s->stopped, &s->lock, &ts);
        double now = http_mono_ms();
        for (struct conn *c = s->conns; c; c = c->next) {
            double age = now - c->since;
            int slow = c->busy ? age > s->o.deadline_ms + SEND_GRACE_MS : age > s->o.receive_ms;
            /* shutdown(), not close(): libmicrohttpd still owns the
             * descriptor; its next read fails and it closes the connection. */
            if (slow && c->fd >= 0)
                shutdown(c->fd, SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* --- what libmicrohttpd parses for us ------------------------------------------ */

/* libmicrohttpd's unescape hook, for the path and every query key and value:
 * the same decoding as its own, but a '%' not followed by two hex digits, or
 * one encoding NUL (which would cut the string short), marks the request bad. */
static size_t unescape(void *cls, struct MHD_Connection *mc, char *s)
{
    (void)cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn *c = ci ? ci->socket_context : NULL;
    int bad = 0;
    size_t n = http_pct_decode(s, 0, &bad);
    if (bad && c)
        c->bad_escape = 1;
    return n;
}

/* libmicrohttpd's URI hook, called with the raw request target before it
 * splits the query into its pool: a query too long or of too many pairs
 * would exhaust that pool, and libmicrohttpd 0.9.75 then leaves the
 * connection hanging. Such a query is cut off here (its first byte made the
 * end of the string, so libmicrohttpd parses nothing) and the request
 * answered 414. Returns the request's context (the access handler's *con_cls). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    (void)cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->mc = mc;
    j->conn = ci ? ci->socket_context : NULL;
    if (j->conn)
        j->conn->bad_escape = 0;
    char *q = strchr(uri, '?');
    if (q) {
        size_t pairs = 1, len = strlen(q + 1);
        for (const char *p = q + 1; *p; p++)
            pairs += *p == '&';
        if (len > HTTP_MAX_QUERY || pairs > HTTP_MAX_PAIRS) {
            j->early_err = CT_EURI;
            j->early_msg = len > HTTP_MAX_QUERY ? "query string longer than 8192 bytes"
                                                : "more than 64 query parameters";
            q[1] = '\0'; /* libmicrohttpd's own buffer, which it parses next */
        }
    }
    return j;
}

struct pairs {
    struct kv *kv;
    size_t n;
    int overflow;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    struct pairs *p = cls;
    if (p->n == HTTP_MAX_PAIRS) {
        p->overflow = 1;
        return MHD_NO;
    }
    p->kv[p->n++] = (struct kv){ key, value ? value : "" };
    return MHD_YES;
}

/* --- answering ------------------------------------------------------------------ */

static enum MHD_Result send_response(struct MHD_Connection *mc, const struct response *resp)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    struct kv h[RESPONSE_MAX_HEADERS];
    size_t n = response_headers(resp, h);
    for (size_t i = 0; i < n; i++)
        MHD_add_response_header(r, h[i].key, h[i].value);
    enum MHD_Result ret = MHD_queue_response(mc, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Answers err at once, from the server's thread. */
static enum MHD_Result refuse(struct server *s, struct job *j, const char *method,
                              const char *url, int err, const char *msg)
{
    struct response resp;
    struct request req = { .method = method, .path = url };
    s->o.svc->refuse(s->o.ctx[0], &resp, err, msg);
    enum MHD_Result ret = send_response(j->mc, &resp);
    log_request(NULL, &req, &resp, 0);
    response_free(&resp);
    j->state = JOB_DONE;
    j->refused = 1;
    return ret;
}

static int append_body(struct job *j, const char *data, size_t n)
{
    if (j->body_overflow || n > HTTP_MAX_BODY - j->len) {
        j->body_overflow = 1; /* the rest is read and dropped; 413 at the end */
        return CT_OK;
    }
    if (j->len + n > j->cap) {
        size_t cap = j->cap ? j->cap : 16384;
        while (cap < j->len + n)
            cap *= 2;
        if (cap > HTTP_MAX_BODY)
            cap = HTTP_MAX_BODY;
        unsigned char *p = realloc(j->body, cap);
        if (!p)
            return CT_ENOMEM;
        j->body = p;
        j->cap = cap;
    }
    memcpy(j->body + j->len, data, n);
    j->len += n;
    return CT_OK;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct server *s = cls;
    struct job *j = *con_cls;
    if (!j)
        return MHD_NO; /* out of memory in on_uri: drop the connection */
    switch (j->state) {
    case JOB_NEW: {
        /* Everything that can be refused before the body is refused now. */
        j->state = JOB_RECEIVING;
        if (j->early_err)
            return refuse(s, j, method, url, j->early_err, j->early_msg);
        if (j->conn && j->conn->bad_escape)
            return refuse(s, j, method, url, CT_EINVAL,
                          "bad percent-encoding, or an encoded NUL, in the URL");
        const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > HTTP_MAX_BODY)
            return refuse(s, j, method, url, CT_ETOOLARGE, "request body larger than 6 MB");
        return MHD_YES;
    }
    case JOB_RECEIVING:
        if (*upload_size) {
            /* A body means nothing to these methods: read and dropped. */
            int keep = strcmp(method, "GET") && strcmp(method, "HEAD") &&
                       strcmp(method, "OPTIONS") && strcmp(method, "DELETE");
            if (keep && append_body(j, upload_data, *upload_size))
                return MHD_NO;
            *upload_size = 0;
            return MHD_YES;
        }
        break;
    case JOB_QUEUED:
        return MHD_YES; /* resumed early? the worker has not finished */
    case JOB_DONE: {
        if (*upload_size || j->refused) { /* a body after an early answer: dropped */
            *upload_size = 0;
            return MHD_YES;
        }
        enum MHD_Result ret = send_response(mc, &j->resp);
        log_request(NULL, &j->req, &j->resp, http_mono_ms() - j->t0);
        return ret;
    }
    }
    /* The whole request is here. */
    if (j->body_overflow)
        return refuse(s, j, method, url, CT_ETOOLARGE, "request body larger than 6 MB");
    struct pairs query = { j->query, 0, 0 }, headers = { j->headers, 0, 0 };
    MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, collect, &query);
    MHD_get_connection_values(mc, MHD_HEADER_KIND, collect, &headers);
    if (query.overflow)
        return refuse(s, j, method, url, CT_EURI, "more than 64 query parameters");
    if (headers.overflow)
        return refuse(s, j, method, url, CT_EHEADERS, "more than 64 request headers");
    j->t0 = http_mono_ms();
    j->req = (struct request){
        .method = method,
        .path = url,
        .query = j->query,
        .nquery = query.n,
        .headers = j->headers,
        .nheaders = headers.n,
        .body = j->body,
        .body_len = j->len,
        .deadline_ms = http_clock_ms() + s->o.deadline_ms,
    };
    pthread_mutex_lock(&s->lock);
    if (s->stop) {
        pthread_mutex_unlock(&s->lock);
        return refuse(s, j, method, url, CT_EBUSY, "the server is stopping");
    }
    j->state = JOB_QUEUED;
    if (j->conn)
        j->conn->busy = 1;
    MHD_suspend_connection(mc);
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    pthread_cond_signal(&s->ready);
    pthread_mutex_unlock(&s->lock);
    return MHD_YES;
}

/* A request's end (answered, or its connection gone): the next request on
 * the connection is timed from now. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)mc;
    (void)code;
    struct server *s = cls;
    struct job *j = *con_cls;
    if (!j)
        return;
    if (j->conn) {
        pthread_mutex_lock(&s->lock);
        j->conn->busy = 0;
        j->conn->since = http_mono_ms();
        pthread_mutex_unlock(&s->lock);
    }
    response_free(&j->resp);
    free(j->body);
    free(j);
    *con_cls = NULL;
}

struct worker_arg {
    struct server *s;
    void *ctx;
};

static void *work(void *arg)
{
    struct worker_arg *wa = arg;
    struct server *s = wa->s;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->head && !s->stop)
            pthread_cond_wait(&s->ready, &s->lock);
        struct job *j = s->head;
        if (!j) { /* stopping, and nothing left */
            pthread_mutex_unlock(&s->lock);
            break;
        }
        s->head = j->next;
        if (!s->head)
            s->tail = NULL;
        pthread_mutex_unlock(&s->lock);
        s->o.svc->handle(wa->ctx, &j->req, &j->resp);
        j->state = JOB_DONE;
        MHD_resume_connection(j->mc);
    }
    free(wa);
    return NULL;
}

int server_start(const struct server_opts *o, struct server **out)
{
    struct sockaddr_in addr = { 0 };
    const char *host = strcmp(o->host, "localhost") == 0 ? "127.0.0.1" : o->host;
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o->port);
    if (o->port < 0 || o->port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "bootstrap serve: bad address %s:%d (want an IPv4 address)\n", o->host,
                o->port);
        return CT_EINVAL;
    }
    if (o->workers < 1 || !o->svc || !o->ctx)
        return CT_EINVAL;
    struct server *s = calloc(1, sizeof *s);
    if (!s)
        return CT_ENOMEM;
    s->o = *o;
    s->o.per_ip = o->per_ip > 0 ? o->per_ip : DEFAULT_PER_IP;
    s->o.deadline_ms = o->deadline_ms > 0 ? o->deadline_ms : DEFAULT_DEADLINE_MS;
    s->o.receive_ms = o->receive_ms > 0 ? o->receive_ms : DEFAULT_RECEIVE_MS;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->ready, NULL);
    pthread_cond_init(&s->stopped, NULL);
    s->threads = calloc((size_t)o->workers, sizeof *s->threads);
    if (!s->threads) {
        server_stop(s);
        return CT_ENOMEM;
    }
    for (int i = 0; i < o->workers; i++) {
        struct worker_arg *wa = malloc(sizeof *wa);
        if (wa) {
            wa->s = s;
            wa->ctx = o->ctx[i];
        }
        if (!wa || pthread_create(&s->threads[i], NULL, work, wa) != 0) {
            free(wa);
            server_stop(s);
            return CT_EINTERNAL;
        }
        s->nthreads++;
    }
    if (pthread_create(&s->reaper, NULL, reap, s) != 0) {
        server_stop(s);
        return CT_EINTERNAL;
    }
    s->reaper_started = 1;
    unsigned idle_s = (unsigned)(s->o.receive_ms + 999) / 1000;
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->o.per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape, s, MHD_OPTION_END);
    if (!s->d) {
        fprintf(stderr, "bootstrap serve: cannot listen on %s:%d\n", o->host, o->port);
        server_stop(s);
        return CT_EINTERNAL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    *out = s;
    return CT_OK;
}

int server_port(const struct server *s)
{
    return s->port;
}

void server_stop(struct server *s)
{
    if (!s)
        return;
    /* Stop accepting first; requests already queued are still answered, so
     * no worker is left holding a suspended connection. */
    if (s->d)
        MHD_quiesce_daemon(s->d);
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_broadcast(&s->ready);
    pthread_cond_broadcast(&s->stopped);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    if (s->reaper_started)
        pthread_join(s->reaper, NULL);
    if (s->d)
        MHD_stop_daemon(s->d);
    pthread_cond_destroy(&s->ready);
    pthread_cond_destroy(&s->stopped);
    pthread_mutex_destroy(&s->lock);
    free(s->threads);
    free(s);
}

int server_run(const struct server_opts *o)
{
    /* Block the stop signals before any thread starts, so every thread
     * inherits the mask and only this one receives them, through sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct server *s = NULL;
    int err = server_start(o, &s);
    if (err)
        return err;
    printf("listening on http://%s:%d\n", strcmp(o->host, "localhost") ? o->host : "127.0.0.1",
           server_port(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    server_stop(s);
    return CT_OK;
}
