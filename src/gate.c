/* gate.c - the url= gate: a GDAL VSI plugin file system whose every byte is
 * fetched here, with libcurl, request by request: allow-list on each hop,
 * addresses checked as the socket is opened, a request budget and the
 * client's deadline. Small reads are served from windows kept per open file
 * (GDAL's own VSICachedFile would split a large read into many small
 * requests); GDAL's block cache keeps the decoded tiles. */
#include "gate.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>

#include "err.h"
#include "http.h"
#include "source.h"

/* Bytes of a file read at open (its size comes with them): the header, IFDs
 * and tile offsets of typical COGs, as GDAL's GDAL_INGESTED_BYTES_AT_OPEN. */
#define HEAD_BYTES 32768
#define MAX_REDIRECTS 5
#define MAX_URL 2048
/* Per request: connect within 2 s, answer within 5 s (less when the
 * client's deadline is nearer), stop 100 ms before that deadline. */
#define CONNECT_MS 2000L
#define REQUEST_MS 5000L
#define MARGIN_MS 100LL
/* 429 and 5xx answers are tried again this often, 0.5 s then 1 s later. */
#define RETRIES 2
#define RETRY_MS 500

static struct {
    const char *const *prefixes;
    size_t n;
    int max_requests;
    long max_bytes;
} policy;

/* What one thread's current client request has spent, and its last failure. */
struct budget {
    long long deadline_ms;
    int requests;
    int err;
    char msg[256];
    /* The head fetched by the last stat(), for the open() that follows it. */
    char *memo_url;
    unsigned char *memo;
    size_t memo_len;
    uint64_t memo_size;
};
static _Thread_local struct budget tls;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t curl_key;

static void curl_free_handle(void *h)
{
    curl_easy_cleanup(h);
}

static void make_key(void)
{
    pthread_key_create(&curl_key, curl_free_handle);
}

/* This thread's easy handle: kept, so connections to a source are reused. */
static CURL *thread_curl(void)
{
    pthread_once(&key_once, make_key);
    CURL *h = pthread_getspecific(curl_key);
    if (!h && (h = curl_easy_init()))
        pthread_setspecific(curl_key, h);
    return h;
}

static void memo_clear(void)
{
    free(tls.memo_url);
    free(tls.memo);
    tls.memo_url = NULL;
    tls.memo = NULL;
    tls.memo_len = 0;
}

void gate_begin(long long deadline_ms)
{
    memo_clear();
    tls.deadline_ms = deadline_ms;
    tls.requests = 0;
    tls.err = CT_OK;
    tls.msg[0] = '\0';
}

void gate_end(void)
{
    gate_begin(0);
}

int gate_last_error(char *msg, size_t msgcap)
{
    if (tls.err && msg && msgcap)
        snprintf(msg, msgcap, "%s", tls.msg);
    return tls.err;
}

int gate_requests(void)
{
    return tls.requests;
}

static int fail(int err, const char *fmt, const char *arg)
{
    tls.err = err;
    snprintf(tls.msg, sizeof tls.msg, fmt, arg ? arg : "");
    return err;
}

int gate_name(const char *url, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", GATE_PREFIX, url);
    return n >= 0 && (size_t)n < cap ? CT_OK : CT_ETOOBIG;
}

/* --- addresses --------------------------------------------------------------------- */

static int v4_special(const uint8_t a[4])
{
    static const struct {
        uint8_t net[4];
        int bits;
    } ranges[] = {
        { { 0, 0, 0, 0 }, 8 },       /* "this network", unspecified */
        { { 10, 0, 0, 0 }, 8 },      /* private */
        { { 100, 64, 0, 0 }, 10 },   /* shared address space (carrier NAT) */
        { { 127, 0, 0, 0 }, 8 },     /* loopback */
        { { 169, 254, 0, 0 }, 16 },  /* link-local, cloud metadata */
        { { 172, 16, 0, 0 }, 12 },   /* private */
        { { 192, 0, 0, 0 }, 24 },    /* IETF protocol assignments */
        { { 192, 0, 2, 0 }, 24 },    /* documentation */
        { { 192, 168, 0, 0 }, 16 },  /* private */
        { { 198, 18, 0, 0 }, 15 },   /* benchmarking */
        { { 198, 51, 100, 0 }, 24 }, /* documentation */
        { { 203, 0, 113, 0 }, 24 },  /* documentation */
        { { 224, 0, 0, 0 }, 4 },     /* multicast */
        { { 240, 0, 0, 0 }, 4 },     /* reserved, broadcast */
    };
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        const uint8_t *n = ranges[i].net;
        uint32_t net = (uint32_t)n[0] << 24 | (uint32_t)n[1] << 16 | (uint32_t)n[2] << 8 | n[3];
        uint32_t mask = ranges[i].bits ? 0xffffffffu << (32 - ranges[i].bits) : 0;
        if ((v & mask) == net)
            return 1;
    }
    return 0;
}

static int v6_special(const uint8_t a[16])
{
    static const uint8_t zero[16] = { 0 };
    /* IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d and 6to4 2002:ab:cd::
     * carry an IPv4 address that decides. */
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
    if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12))
        return v4_special(a + 12);
    if (a[0] == 0x20 && a[1] == 0x02)
        return v4_special(a + 2);
    if (!memcmp(a, zero, 12))
        return 1; /* ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d */
    if ((a[0] & 0xfe) == 0xfc)
        return 1; /* unique local fc00::/7 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return 1; /* link-local fe80::/10 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return 1; /* site-local fec0::/10 */
    if (a[0] == 0xff)
        return 1; /* multicast */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return 1; /* documentation 2001:db8::/32 */
    if (a[0] == 0x01 && !memcmp(a + 1, zero, 7))
        return 1; /* discard 100::/64 */
    return 0;
}

int gate_address_allowed(const char *addr, const char *host)
{
    uint8_t a[16], h[16];
    char lit[64];
    size_t hl = host ? strlen(host) : 0;
    /* the host as written in the URL: "[::1]" for IPv6 */
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof lit) {
        memcpy(lit, host + 1, hl - 2);
        lit[hl - 2] = '\0';
    } else {
        snprintf(lit, sizeof lit, "%s", host ? host : "");
    }
    if (inet_pton(AF_INET, addr, a) == 1)
        return !v4_special(a) || (inet_pton(AF_INET, lit, h) == 1 && !memcmp(a, h, 4));
    if (inet_pton(AF_INET6, addr, a) == 1)
        return !v6_special(a) || (inet_pton(AF_INET6, lit, h) == 1 && !memcmp(a, h, 16));
    return 0;
}

struct sockcheck {
    char host[256];
    int refused;
    char addr[INET6_ADDRSTRLEN];
};

/* libcurl opens every socket here: the address it is about to connect to is
 * the one checked, so what the name resolves to later cannot matter. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *sa)
{
    struct sockcheck *sc = clientp;
    char text[INET6_ADDRSTRLEN] = "";
    (void)purpose;
    if (sa->family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&sa->addr)->sin_addr, text, sizeof text);
    else if (sa->family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa->addr)->sin6_addr, text, sizeof text);
    if (!gate_address_allowed(text, sc->host)) {
        sc->refused = 1;
        snprintf(sc->addr, sizeof sc->addr, "%s", text);
        return CURL_SOCKET_BAD;
    }
    return socket(sa->family, sa->socktype, sa->protocol);
}

/* --- requests ---------------------------------------------------------------------- */

struct xfer {
    unsigned char *out;
    size_t cap, len;
    int overflow;
    long long range_start, total; /* from Content-Range; -1 when absent */
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t k = size * n;
    if (k > x->cap - x->len) { /* more than asked for: stop reading */
        x->overflow = 1;
        return 0;
    }
    memcpy(x->out + x->len, p, k);
    x->len += k;
    return k;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t k = size * n;
    long long a, b, t;
    char buf[128];
    if (k < sizeof buf && k > 14 && !strncasecmp(line, "Content-Range:", 14)) {
        memcpy(buf, line, k);
        buf[k] = '\0';
        if (sscanf(buf + 14, " bytes %lld-%lld/%lld", &a, &b, &t) == 3) {
            x->range_start = a;
            x->total = t;
        } else if (sscanf(buf + 14, " bytes */%lld", &t) == 1) {
            x->total = t;
        }
    }
    return k;
}

static void set_ca(CURL *h)
{
    /* The certificates GDAL would trust (it reads the same variables). */
    static const char *const vars[] = { "GDAL_CURL_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]) && *getenv(vars[i])) {
            curl_easy_setopt(h, CURLOPT_CAINFO, getenv(vars[i]));
            return;
        }
}

/* Milliseconds a request may take now, or 0 when the deadline leaves none. */
static long time_left(void)
{
    if (!tls.deadline_ms)
        return REQUEST_MS;
    long long left = tls.deadline_ms - MARGIN_MS - http_clock_ms();
    return left <= 0 ? 0 : left < REQUEST_MS ? (long)left : REQUEST_MS;
}

/* GETs bytes [off, off + len) of url (len >= 1) into out, following
 * redirects by hand. *got: bytes received; *total: the file's size (-1 when
 * the server did not say). 0, or the ct_err recorded for gate_last_error(). */
static int fetch(const char *url0, uint64_t off, size_t len, unsigned char *out, size_t *got,
                 long long *total)
{
    char url[MAX_URL], gdal[MAX_URL + 16], msg[200];
    CURL *h = thread_curl();
    if (!h)
        return fail(CT_ENOMEM, "out of memory", NULL);
    if ((long)len > policy.max_bytes || len > (size_t)policy.max_bytes) {
        snprintf(msg, sizeof msg, "a read of %zu bytes is over url_max_bytes", len);
        return fail(CT_ESOURCE, "%s", msg);
    }
    snprintf(url, sizeof url, "%s", url0);
    int attempt = 0;
    for (int hop = 0;;) {
        if (source_allow_url(policy.prefixes, policy.n, url, gdal, sizeof gdal, msg,
                             sizeof msg) != CT_OK || strncmp(url, "http", 4) != 0)
            return fail(CT_EFORBIDDEN,
                        hop ? "the source redirects outside the allowed URL prefixes" : "%s",
                        msg);
        if (tls.requests >= policy.max_requests) {
            snprintf(msg, sizeof msg,
                     "the source needs more than %d requests for one answer (url_max_requests)",
                     policy.max_requests);
            return fail(CT_ESOURCE, "%s", msg);
        }
        long ms = time_left();
        if (!ms)
            return fail(CT_ETIMEOUT, "no time left before the deadline to read the source",
                        NULL);
        struct sockcheck sc = { .refused = 0 };
        CURLU *u = curl_url();
        char *host = NULL;
        if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
            snprintf(sc.host, sizeof sc.host, "%s", host);
        curl_free(host);
        curl_url_cleanup(u);

        char range[64];
        snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
        struct xfer x = { .out = out, .cap = len, .range_start = -1, .total = -1 };
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(h, CURLOPT_RANGE, range);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms < CONNECT_MS ? ms : CONNECT_MS);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "cogtiler");
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &sc);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
        set_ca(h);
        tls.requests++;
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (sc.refused)
            return fail(CT_EFORBIDDEN,
                        "the source's host resolves to an address that is not public (%s)",
                        sc.addr);
        if (rc == CURLE_OPERATION_TIMEDOUT)
            return fail(CT_ETIMEOUT, "the source's server did not answer in time", NULL);
        if (rc == CURLE_WRITE_ERROR && x.overflow && status == 200)
            return fail(CT_ESOURCE, "the source's server does not answer range requests",
                        NULL);
        if (rc == CURLE_WRITE_ERROR && x.overflow)
            return fail(CT_ESOURCE, "the source's server sent more than was asked", NULL);
        if (rc != CURLE_OK) {
            snprintf(msg, sizeof msg, "cannot reach the source's server: %s",
                     curl_easy_strerror(rc));
            return fail(CT_ESOURCE, "%s", msg);
        }
        if (status >= 300 && status < 400) {
            char *next = NULL;
            curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next);
            if (!next || ++hop > MAX_REDIRECTS)
                return fail(CT_ESOURCE, "the source redirects too often, or nowhere", NULL);
            snprintf(url, sizeof url, "%s", next);
            continue;
        }
        if (status == 206 && x.range_start == (long long)off) {
            *got = x.len;
            *total = x.total;
            return CT_OK;
        }
        if (status == 200 && off == 0) { /* the whole file, which fit */
            *got = x.len;
            *total = (long long)x.len;
            return CT_OK;
        }
        if (status == 416) { /* past the end */
            *got = 0;
            *total = x.total;
            return CT_OK;
        }
        if (status == 200 || status == 206)
            return fail(CT_ESOURCE, "the source's server does not answer range requests",
                        NULL);
        if ((status == 429 || status >= 500) && attempt < RETRIES &&
            time_left() > (RETRY_MS << attempt)) {
            usleep((useconds_t)(RETRY_MS << attempt) * 1000u);
            attempt++;
            continue;
        }
        snprintf(msg, sizeof msg, "the source's server answered HTTP %ld", status);
        return fail(ct_upstream_err(status) ? ct_upstream_err(status) : CT_ESOURCE, "%s", msg);
    }
}

/* --- the file system ----------------------------------------------------------------- */

/* Small reads (IFDs, tile offsets) are served from windows of WINDOW bytes
 * around them, kept per open file; reads of more than WINDOW / 4 (tiles) go
 * straight to the server, since GDAL caches the decoded blocks itself. */
#define WINDOW 65536
#define WINDOWS 8

struct window {
    uint64_t off;
    size_t len;
    unsigned char *data; /* NULL: unused */
    unsigned long used;
};

struct gfile {
    char *url;
    uint64_t size, pos;
    int eof;
    unsigned char *head; /* the first head_len bytes, read at open */
    size_t head_len;
    struct window win[WINDOWS];
    unsigned long tick;
};

/* The first HEAD_BYTES of url and its size: from the memo of this request's
 * last stat(), or one request. 0, or the error. */
static int head_of(const char *url, unsigned char **head, size_t *len, uint64_t *size)
{
    if (tls.memo_url && strcmp(tls.memo_url, url) == 0) {
        *head = malloc(tls.memo_len ? tls.memo_len : 1);
        if (!*head)
            return fail(CT_ENOMEM, "out of memory", NULL);
        memcpy(*head, tls.memo, tls.memo_len);
        *len = tls.memo_len;
        *size = tls.memo_size;
        return CT_OK;
    }
    unsigned char *buf = malloc(HEAD_BYTES);
    size_t got = 0;
    long long total = -1;
    if (!buf)
        return fail(CT_ENOMEM, "out of memory", NULL);
    int err = fetch(url, 0, HEAD_BYTES, buf, &got, &total);
    if (!err && total < 0)
        err = fail(CT_ESOURCE, "the source's server does not give the file's size", NULL);
    if (err) {
        free(buf);
        return err;
    }
    memo_clear();
    tls.memo_url = strdup(url);
    tls.memo = malloc(got ? got : 1);
    if (tls.memo_url && tls.memo) {
        memcpy(tls.memo, buf, got);
        tls.memo_len = got;
        tls.memo_size = (uint64_t)total;
    } else {
        memo_clear();
    }
    *head = buf;
    *len = got;
    *size = (uint64_t)total;
    return CT_OK;
}

/* Copies [off, off + n) from a window that holds it; 1 when one did. */
static int from_window(struct gfile *f, uint64_t off, size_t n, unsigned char *out)
{
    for (int i = 0; i < WINDOWS; i++) {
        struct window *w = &f->win[i];
        if (w->data && off >= w->off && off + n <= w->off + w->len) {
            memcpy(out, w->data + (off - w->off), n);
            w->used = ++f->tick;
            return 1;
        }
    }
    return 0;
}

/* Reads [off, off + n) of f (within its size) into out. 0, or the error. */
static int read_at(struct gfile *f, uint64_t off, size_t n, unsigned char *out)
{
    size_t got = 0;
    long long total;
    if (off < f->head_len) { /* from the bytes read at open */
        size_t k = f->head_len - (size_t)off < n ? f->head_len - (size_t)off : n;
        memcpy(out, f->head + off, k);
        off += k;
        out += k;
        n -= k;
    }
    if (!n || from_window(f, off, n, out))
        return CT_OK;
    if (n > WINDOW / 4) {
        int err = fetch(f->url, off, n, out, &got, &total);
        return err ? err : got == n ? CT_OK : fail(CT_ESOURCE, "the source is shorter than its size", NULL);
    }
    /* A window of whole WINDOWs around the read, in the least recently used slot. */
    uint64_t start = off / WINDOW * WINDOW, end = (off + n + WINDOW - 1) / WINDOW * WINDOW;
    if (end > f->size)
        end = f->size;
    struct window *w = &f->win[0];
    for (int i = 1; i < WINDOWS; i++)
        if (!f->win[i].data || (w->data && f->win[i].used < w->used))
            w = &f->win[i];
    size_t len = (size_t)(end - start);
    unsigned char *data = realloc(w->data, len);
    if (!data)
        return fail(CT_ENOMEM, "out of memory", NULL);
    w->data = data;
    w->len = 0;
    int err = fetch(f->url, start, len, data, &got, &total);
    if (err)
        return err;
    w->off = start;
    w->len = got;
    w->used = ++f->tick;
    return from_window(f, off, n, out) ? CT_OK
                                       : fail(CT_ESOURCE, "the source is shorter than its size", NULL);
}

static int fs_stat(void *ud, const char *name, VSIStatBufL *st, int flags)
{
    (void)ud;
    (void)flags;
    unsigned char *head = NULL;
    size_t len;
    uint64_t size;
    memset(st, 0, sizeof *st);
    if (head_of(name, &head, &len, &size))
        return -1;
    free(head);
    st->st_size = (off_t)size;
    st->st_mode = S_IFREG | 0444;
    return 0;
}

static void *fs_open(void *ud, const char *name, const char *access)
{
    (void)ud;
    if (strchr(access, 'w') || strchr(access, '+') || strchr(access, 'a'))
        return NULL;
    struct gfile *f = calloc(1, sizeof *f);
    if (!f || !(f->url = strdup(name)) || head_of(name, &f->head, &f->head_len, &f->size)) {
        if (f)
            free(f->url);
        free(f);
        return NULL;
    }
    return f;
}

static vsi_l_offset fs_tell(void *h)
{
    return ((struct gfile *)h)->pos;
}

static int fs_seek(void *h, vsi_l_offset off, int whence)
{
    struct gfile *f = h;
    f->pos = whence == SEEK_SET ? off : whence == SEEK_CUR ? f->pos + off : f->size + off;
    f->eof = 0;
    return 0;
}

static size_t fs_read(void *h, void *buf, size_t size, size_t count)
{
    struct gfile *f = h;
    if (!size || !count || count > SIZE_MAX / size)
        return 0;
    size_t want = size * count;
    if (f->pos >= f->size) {
        f->eof = 1;
        return 0;
    }
    if (want > f->size - f->pos) {
        want = (size_t)(f->size - f->pos);
        f->eof = 1;
    }
    if (read_at(f, f->pos, want, buf))
        return 0;
    f->pos += want;
    return want / size;
}

/* GDAL's GTiff driver asks for the blocks of a read at once; GDAL has merged
 * adjacent ranges already. One request per range (or none, from the head
 * and windows). 0, or -1. */
static int fs_read_multi(void *h, int n, void **data, const vsi_l_offset *offs,
                         const size_t *sizes)
{
    struct gfile *f = h;
    for (int i = 0; i < n; i++) {
        if (offs[i] > f->size || sizes[i] > f->size - offs[i])
            return -1;
        if (read_at(f, offs[i], sizes[i], data[i]))
            return -1;
    }
    return 0;
}

static int fs_eof(void *h)
{
    return ((struct gfile *)h)->eof;
}

static int fs_close(void *h)
{
    struct gfile *f = h;
    for (int i = 0; i < WINDOWS; i++)
        free(f->win[i].data);
    free(f->url);
    free(f->head);
    free(f);
    return 0;
}

/* No file sits beside a gate file as far as GDAL knows: no sidecar probes. */
static char **fs_siblings(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return CPLCalloc(1, sizeof(char *));
}

void gate_configure(const char *const *prefixes, size_t nprefixes, int max_requests,
                    long max_bytes)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    policy.prefixes = prefixes;
    policy.n = nprefixes;
    policy.max_requests = max_requests > 0 ? max_requests : 1;
    policy.max_bytes = max_bytes > 0 ? max_bytes : HEAD_BYTES;
    /* Installed again on every call: GDAL's clean-up (raster_global_cleanup)
     * drops its handlers with the driver manager. */
    VSIFilesystemPluginCallbacksStruct *cb = VSIAllocFilesystemPluginCallbacksStruct();
    cb->stat = fs_stat;
    cb->open = fs_open;
    cb->tell = fs_tell;
    cb->seek = fs_seek;
    cb->read = fs_read;
    cb->read_multi_range = fs_read_multi;
    cb->eof = fs_eof;
    cb->close = fs_close;
    cb->sibling_files = fs_siblings;
    VSIInstallPluginHandler(GATE_PREFIX, cb);
    VSIFreeFilesystemPluginCallbacksStruct(cb);
}
