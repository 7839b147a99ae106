/* cli.c - the command-line transport and the commands that start the others. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "config.h"
#include "err.h"
#include "fanout.h"
#include "handler.h"
#include "imgfmt.h"
#include "parse.h"
#include "pyramid.h"
#include "runtime.h"
#include "server.h"
#include "tilestore.h"

#define DEFAULT_CONFIG "data/layers.json"
#define MAX_HEADERS 32

const char cli_usage[] =
    "usage:\n"
    "  bootstrap tile Z/X/Y [--layer NAME | --source PATH] [--config FILE]\n"
    "                 [--colormap NAME] [--rescale MIN,MAX] [--tilesize 256|512]\n"
    "                 [--quality 1..100] -o OUT.{png,webp,jpg,tif}   (the format by extension)\n"
    "  bootstrap request [-X METHOD] PATH[?QUERY] [-H 'Name: value']... [--body FILE|-]\n"
    "                 [-o OUT] [--config FILE]   one request, answered in process\n"
    "  bootstrap stats (--layer NAME | --source PATH) [--config FILE] --geojson FILE|-\n"
    "                 [--query 'coverage=exact&p=2,98&parts=N&...'] [--jobs N (1)]\n"
    "                 zonal statistics (JSON); --jobs: threads computing the parts\n"
    "  bootstrap pyramid (--layer NAME | --source PATH) [--config FILE] [--zoom MIN-MAX]\n"
    "                 [--bbox W,S,E,N] [--format png|webp|jpg] [--jobs N (cores)]\n"
    "                 [--query 'colormap_name=...&rescale=...'] -o OUT.mbtiles|DIR/\n"
    "                 every tile of the zooms over the data into MBTiles or {z}/{x}/{y} files;\n"
    "                 a re-run adds only the missing tiles\n"
    "  bootstrap serve [--host 127.0.0.1] [--port 8080] [--workers N] [--config FILE]\n"
    "                 [--deadline SECONDS (30)] [--receive-timeout SECONDS (10)]\n"
    "  bootstrap invoke [EVENT.json]      one Lambda event (file or stdin) -> response JSON\n"
    "  bootstrap                          with AWS_LAMBDA_RUNTIME_API set: the Lambda runtime\n"
    "The configuration is --config FILE, else $COGTILER_CONFIG_JSON (inline JSON), else\n"
    "$COGTILER_CONFIG (a file), else " DEFAULT_CONFIG ".\n";

/* The app over one ad-hoc source, or over the configuration (--config,
 * $COGTILER_CONFIG_JSON, $COGTILER_CONFIG, DEFAULT_CONFIG). NULL with the
 * reason in msg. */
static struct app *make_app_msg(const char *path, const char *source, char *msg, size_t msgcap)
{
    struct config cfg;
    struct app *app = NULL;
    snprintf(msg, msgcap, "out of memory");
    /* Inline JSON (as a Lambda environment variable) when no file is named;
     * its relative sources are relative to the working directory. */
    const char *inline_json = path ? NULL : getenv("COGTILER_CONFIG_JSON");
    if (!path)
        path = getenv("COGTILER_CONFIG");
    if (!path)
        path = DEFAULT_CONFIG;
    int err = source        ? config_single("source", source, &cfg)
              : inline_json ? config_parse(inline_json, NULL, &cfg, msg, msgcap)
                            : config_load(path, &cfg, msg, msgcap);
    if (err && inline_json) {
        size_t used = strlen(msg);
        snprintf(msg + used, msgcap - used, " (COGTILER_CONFIG_JSON)");
    }
    if (!err)
        err = config_apply_env(&cfg, msg, msgcap);
    if (!err)
        err = app_create(&cfg, &app);
    if (err)
        config_free(&cfg);
    return app;
}

/* The app and one worker, or NULL after printing the reason. */
static struct app *make_app(const char *path, const char *source, struct worker **w)
{
    char msg[512];
    struct app *app = make_app_msg(path, source, msg, sizeof msg);
    if (app && app_worker_new(app, w) != CT_OK) {
        app_destroy(app);
        app = NULL;
        snprintf(msg, sizeof msg, "out of memory");
    }
    if (!app)
        fprintf(stderr, "bootstrap: %s\n", msg);
    return app;
}

static void free_app(struct app *app, struct worker *w)
{
    app_worker_free(w);
    app_destroy(app);
}

/* A command's string option: "--name VALUE" (or its other spelling) into *dst. */
struct str_opt {
    const char *name, *alias;
    const char **dst;
};

/* Where option a of t[0..n) goes, or NULL when it is none of them. */
static const char **opt_dest(const struct str_opt *t, size_t n, const char *a)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a, t[i].name) || (t[i].alias && !strcmp(a, t[i].alias)))
            return t[i].dst;
    return NULL;
}

/* Value of option argv[*i] ("--name VALUE"), advancing *i; NULL if missing. */
static const char *optval(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "bootstrap: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* Reads all of f, at most max bytes: the bytes (NUL-terminated, free with
 * free()) and *len, or NULL when unreadable; *too_big when there were more. */
static char *read_all(FILE *f, size_t max, size_t *len, int *too_big)
{
    size_t cap = 65536, n = 0;
    char *p = malloc(cap + 1);
    *too_big = 0;
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap > max) {
            *too_big = 1;
            free(p);
            return NULL;
        }
        cap *= 2;
        char *q = realloc(p, cap + 1);
        if (!q)
            free(p);
        p = q;
    }
    if (!p || ferror(f) || n > max) {
        *too_big = p && n > max;
        free(p);
        return NULL;
    }
    p[n] = '\0';
    *len = n;
    return p;
}

/* Writes the answer's body to out ("-" or NULL: stdout). 0, or 1 after a message. */
static int write_body(const struct response *resp, const char *out)
{
    int to_stdout = !out || strcmp(out, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(out, "wb");
    int ok = f && fwrite(resp->body, 1, resp->len, f) == resp->len;
    if (f)
        ok &= (to_stdout ? fflush(f) : fclose(f)) == 0;
    if (ok)
        return 0;
    fprintf(stderr, "bootstrap: cannot write %s\n", to_stdout ? "the answer" : out);
    return 1;
}

/* The exit status of an answer. */
static int exit_status(int status)
{
    return status < 400 ? 0 : status == 404 ? 3 : 1;
}

/* The tile extension for output file name f: its own (.jpeg and .tiff
 * too), "png" for standard output, or NULL. */
static const char *out_format(const char *f)
{
    static const char *const names[][2] = { { "png", "png" },   { "webp", "webp" },
                                            { "jpg", "jpg" },   { "jpeg", "jpg" },
                                            { "tif", "tif" },   { "tiff", "tif" } };
    if (!strcmp(f, "-"))
        return "png";
    const char *dot = strrchr(f, '.');
    for (size_t i = 0; dot && i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(dot + 1, names[i][0]))
            return names[i][1];
    return NULL;
}

int cli_tile(int argc, char **argv)
{
    const char *zxy = NULL, *layer = NULL, *source = NULL, *config = NULL, *out = NULL;
    const char *cmap = NULL, *rescale = NULL, *tilesize = NULL, *quality = NULL;
    const struct str_opt opts[] = {
        { "--layer", NULL, &layer },      { "--source", NULL, &source },
        { "--config", NULL, &config },    { "-o", "--output", &out },
        { "--colormap", NULL, &cmap },    { "--rescale", NULL, &rescale },
        { "--tilesize", NULL, &tilesize }, { "--quality", NULL, &quality },
    };
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = NULL, **dst;
        if (a[0] != '-') {
            if (zxy)
                goto bad;
            zxy = a;
            continue;
        }
        if (!(v = optval(argc, argv, &i)))
            return 2;
        if (!(dst = opt_dest(opts, sizeof opts / sizeof opts[0], a)))
            goto bad;
        *dst = v;
    }
    if (!zxy || !out || (layer && source))
        goto bad;
    const char *ext = out_format(out);
    if (!ext) {
        fprintf(stderr, "bootstrap tile: -o names a .png, .webp, .jpg or .tif file (or -)\n");
        return 2;
    }
    /* The options become the query parameters a URL would carry. */
    struct kv query[4];
    size_t nq = 0;
    if (cmap)
        query[nq++] = (struct kv){ "colormap_name", cmap };
    if (rescale)
        query[nq++] = (struct kv){ "rescale", rescale };
    if (tilesize)
        query[nq++] = (struct kv){ "tilesize", tilesize };
    if (quality)
        query[nq++] = (struct kv){ "quality", quality };

    struct worker *w = NULL;
    struct app *app = make_app(config, source, &w);
    if (!app)
        return 1;
    const struct config *c = app_config(app);
    if (!layer)
        layer = c->layers[source ? 0 : c->default_layer].name;

    /* The CLI goes through the same handler as HTTP: it builds the tile path. */
    char path[256];
    int rc = 1;
    if ((size_t)snprintf(path, sizeof path, "/tiles/%s/%s.%s", layer, zxy, ext) >= sizeof path) {
        fprintf(stderr, "bootstrap tile: arguments too long\n");
        free_app(app, w);
        return 2;
    }
    struct request req = { .method = "GET", .path = path, .query = query, .nquery = nq };
    struct response resp;
    handler_handle(w, &req, &resp);
    if (resp.status == 200) {
        rc = write_body(&resp, out);
    } else {
        fprintf(stderr, "bootstrap tile: HTTP %d %.*s (%s)\n", resp.status, (int)resp.len,
                (const char *)resp.body, resp.detail);
        rc = exit_status(resp.status);
    }
    response_free(&resp);
    free_app(app, w);
    return rc;
bad:
    fputs(cli_usage, stderr);
    return 2;
}

/* Splits "a=1&b=2" (in place) into decoded pairs. 0, or CT_EURI for too many. */
static int split_query(char *q, struct kv *pairs, size_t *n)
{
    *n = 0;
    while (q && *q) {
        char *amp = strchr(q, '&'), *next = amp ? amp + 1 : NULL;
        if (amp)
            *amp = '\0';
        if (*q) {
            if (*n == HTTP_MAX_PAIRS)
                return CT_EURI;
            char *eq = strchr(q, '='), *value = eq ? eq + 1 : q + strlen(q);
            if (eq)
                *eq = '\0';
            http_pct_decode(q, 1, NULL);
            http_pct_decode(value, 1, NULL);
            pairs[(*n)++] = (struct kv){ q, value };
        }
        q = next;
    }
    return CT_OK;
}

int cli_request_with(const struct http_service *svc, void *ctx, int argc, char **argv)
{
    const char *method = "GET", *target = NULL, *body_file = NULL, *out = NULL;
    int quiet = 0;
    struct kv headers[MAX_HEADERS];
    char *hbuf[MAX_HEADERS];
    size_t nh = 0;
    int rc = 2;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (a[0] != '-' || !a[1]) {
            if (target)
                goto out;
            target = a;
            continue;
        }
        if (!strcmp(a, "--config")) { /* read by cli_request */
            i++;
            continue;
        }
        if (!strcmp(a, "--quiet")) { /* the status line and headers only for an error */
            quiet = 1;
            continue;
        }
        if (!(v = optval(argc, argv, &i)))
            goto out;
        if (!strcmp(a, "-X")) {
            method = v;
        } else if (!strcmp(a, "--body")) {
            body_file = v;
        } else if (!strcmp(a, "-o")) {
            out = v;
        } else if (!strcmp(a, "-H") && nh < MAX_HEADERS && strchr(v, ':')) {
            char *h = strdup(v);
            if (!h)
                goto out;
            char *colon = strchr(h, ':'), *val = colon + 1;
            *colon = '\0';
            val += strspn(val, " \t");
            hbuf[nh] = h;
            headers[nh++] = (struct kv){ h, val };
        } else {
            goto out;
        }
    }
    if (!target || target[0] != '/')
        goto out;
    rc = 1;
    struct response resp;
    char *path = strdup(target), *body = NULL;
    struct kv query[HTTP_MAX_PAIRS];
    size_t nq = 0, blen = 0;
    int too_big = 0;
    if (!path)
        goto out;
    char *qs = strchr(path, '?');
    if (qs)
        *qs++ = '\0';
    if (body_file) {
        FILE *f = strcmp(body_file, "-") ? fopen(body_file, "rb") : stdin;
        body = f ? read_all(f, HTTP_MAX_BODY, &blen, &too_big) : NULL;
        if (f && f != stdin)
            fclose(f);
        if (!body && !too_big) {
            fprintf(stderr, "bootstrap request: cannot read %s\n", body_file);
            free(path);
            goto out;
        }
    }
    int bad = 0;
    http_pct_decode(path, 0, &bad);
    int err = split_query(qs, query, &nq);
    if (too_big)
        svc->refuse(ctx, &resp, CT_ETOOLARGE, "request body larger than 6 MB");
    else if (err)
        svc->refuse(ctx, &resp, err, "more than 64 query parameters");
    else if (bad)
        svc->refuse(ctx, &resp, CT_EINVAL, "bad percent-encoding, or an encoded NUL, in the URL");
    else {
        struct request req = { .method = method, .path = path, .query = query, .nquery = nq,
                               .headers = headers, .nheaders = nh,
                               .body = (const unsigned char *)body, .body_len = blen };
        svc->handle(ctx, &req, &resp);
    }
    if (quiet && resp.status >= 400) { /* the error alone, as bootstrap tile prints it */
        fprintf(stderr, "bootstrap: HTTP %d %.*s (%s)\n", resp.status, (int)resp.len,
                (const char *)resp.body, resp.detail);
        rc = exit_status(resp.status);
    } else {
        if (!quiet) {
            fprintf(stderr, "HTTP %d\n", resp.status);
            struct kv h[RESPONSE_MAX_HEADERS];
            size_t n = response_headers(&resp, h);
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, "%s: %s\n", h[i].key, h[i].value);
        }
        rc = write_body(&resp, out);
        if (!rc)
            rc = exit_status(resp.status);
    }
    response_free(&resp);
    free(path);
    free(body);
out:
    for (size_t i = 0; i < nh; i++)
        free(hbuf[i]);
    if (rc == 2)
        fputs(cli_usage, stderr);
    return rc;
}

/* A progress line on a terminal, redrawn at most ten times a second. */
struct progress {
    double t0, last;
};

static void show_progress(void *ctx, long long done, long long total)
{
    struct progress *p = ctx;
    double now = http_mono_ms();
    if (done < total && now - p->last < 100)
        return;
    p->last = now;
    double s = (now - p->t0) / 1000, frac = total > 0 ? (double)done / (double)total : 1;
    fprintf(stderr, "\rstats: %5.1f%% of %lld cells, %.1f s%s", 100 * frac, total, s,
            frac > 0 && frac < 1 ? "" : "   ");
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* v as a whole number lo..hi into *out: 0, or 2 after telling stderr
 * ("bootstrap CMD: bad NAME V (LO..HI)"). */
static int opt_number(const char *cmd, const char *name, const char *v, long lo, long hi,
                      long *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || !*v || n < lo || n > hi) {
        fprintf(stderr, "bootstrap %s: bad %s %s (%ld..%ld)\n", cmd, name, v, lo, hi);
        return 2;
    }
    *out = n;
    return 0;
}

/* A fan-out on jobs threads (the caller's thread one of them) for app, set
 * on it; NULL for jobs <= 1 or without memory. */
static struct fanout *local_fanout(struct app *app, int jobs)
{
    struct fanout *f = NULL;
    if (jobs > 1 && fanout_local_new(app, jobs - 1, &f) == CT_OK)
        app_set_fanout(app, f);
    return f;
}

int cli_stats(int argc, char **argv)
{
    const char *layer = NULL, *source = NULL, *config = NULL, *geojson = NULL, *query = "";
    long jobs = 1;
    const struct str_opt opts[] = {
        { "--layer", NULL, &layer },     { "--source", NULL, &source },
        { "--config", NULL, &config },   { "--geojson", NULL, &geojson },
        { "--query", NULL, &query },
    };
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v, **dst;
        if (!(v = optval(argc, argv, &i)))
            return 2;
        if (!strcmp(a, "--jobs")) {
            if (opt_number("stats", "jobs", v, 1, 256, &jobs))
                return 2;
        } else if ((dst = opt_dest(opts, sizeof opts / sizeof opts[0], a))) {
            *dst = v;
        } else {
            fputs(cli_usage, stderr);
            return 2;
        }
    }
    if (!geojson || (layer && source)) {
        fputs(cli_usage, stderr);
        return 2;
    }
    struct worker *w = NULL;
    struct app *app = make_app(config, source, &w);
    if (!app)
        return 1;
    const struct config *c = app_config(app);
    if (!layer)
        layer = c->layers[source ? 0 : c->default_layer].name;
    struct fanout *f = local_fanout(app, (int)jobs);
    struct progress pr = { http_mono_ms(), 0 };
    if (isatty(STDERR_FILENO))
        app_set_progress(w, show_progress, &pr);
    /* the request a client would send: POST /statistics/LAYER?QUERY */
    char target[4096];
    int rc = 2;
    if ((size_t)snprintf(target, sizeof target, "/statistics/%s%s%s", layer, *query ? "?" : "",
                         query) < sizeof target) {
        char *args[] = { argv[0], "request", "-X", "POST", target, "--body", (char *)geojson,
                         "-H", "Content-Type: application/geo+json", "--quiet", NULL };
        rc = cli_request_with(&handler_service, w, 10, args);
    } else {
        fprintf(stderr, "bootstrap stats: --query too long\n");
    }
    fanout_free(f);
    free_app(app, w);
    return rc;
}

int cli_request(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 2; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config"))
            config = argv[i + 1];
    struct worker *w = NULL;
    struct app *app = make_app(config, NULL, &w);
    if (!app)
        return 1;
    int rc = cli_request_with(&handler_service, w, argc, argv);
    free_app(app, w);
    return rc;
}

int cli_invoke(int argc, char **argv)
{
    if (argc > 3) {
        fputs(cli_usage, stderr);
        return 2;
    }
    FILE *f = argc == 3 && strcmp(argv[2], "-") ? fopen(argv[2], "rb") : stdin;
    if (!f) {
        fprintf(stderr, "bootstrap invoke: cannot open %s\n", argv[2]);
        return 1;
    }
    size_t len = 0;
    int too_big;
    char *event = read_all(f, RUNTIME_MAX_PAYLOAD, &len, &too_big);
    if (f != stdin)
        fclose(f);
    if (!event) {
        fprintf(stderr, "bootstrap invoke: cannot read the event%s\n",
                too_big ? " (over 6 MB)" : "");
        return 1;
    }
    struct worker *w = NULL;
    struct app *app = make_app(NULL, NULL, &w);
    int rc = 1;
    if (app) {
        char *json = NULL, msg[512] = "";
        size_t n = 0;
        int err = runtime_invoke(&handler_service, w, event, len, 0, "invoke", &json, &n, msg,
                                 sizeof msg);
        if (err) {
            fprintf(stderr, "bootstrap invoke: %s\n", msg);
        } else {
            fwrite(json, 1, n, stdout);
            fputc('\n', stdout);
            rc = 0;
        }
        free(json);
        free_app(app, w);
    }
    free(event);
    return rc;
}

int cli_serve(int argc, char **argv)
{
    const char *config = NULL;
    struct server_opts o = { .host = "127.0.0.1", .port = 8080, .svc = &handler_service };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.workers = cores > 0 ? (int)cores : 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!(v = optval(argc, argv, &i)))
            return 2;
        if (!strcmp(a, "--host")) {
            o.host = v;
        } else if (!strcmp(a, "--port") || !strcmp(a, "--workers") || !strcmp(a, "--deadline") ||
                   !strcmp(a, "--receive-timeout")) {
            /* name, least, most, destination (seconds become ms) */
            int port = !strcmp(a, "--port"), workers = !strcmp(a, "--workers");
            long lo = port ? 0 : 1, hi = port ? 65535 : workers ? 256 : 3600, n;
            if (opt_number("serve", a + 2, v, lo, hi, &n))
                return 2;
            if (port)
                o.port = (int)n;
            else if (workers)
                o.workers = (int)n;
            else if (!strcmp(a, "--deadline"))
                o.deadline_ms = (int)n * 1000;
            else
                o.receive_ms = (int)n * 1000;
        } else if (!strcmp(a, "--config")) {
            config = v;
        } else {
            fputs(cli_usage, stderr);
            return 2;
        }
    }
    char msg[512];
    struct app *app = make_app_msg(config, NULL, msg, sizeof msg);
    if (!app) {
        fprintf(stderr, "bootstrap: %s\n", msg);
        return 1;
    }
    int err = CT_OK, jobs = app_config(app)->fanout_jobs;
    struct fanout *f = local_fanout(app, jobs ? jobs : (int)(cores > 0 ? cores : 1));
    void **ctx = calloc((size_t)o.workers, sizeof *ctx);
    for (int i = 0; ctx && !err && i < o.workers; i++)
        err = app_worker_new(app, (struct worker **)&ctx[i]);
    if (!ctx || err)
        fprintf(stderr, "bootstrap serve: out of memory\n");
    else
        err = (o.ctx = ctx, server_run(&o));
    for (int i = 0; ctx && i < o.workers; i++)
        app_worker_free(ctx[i]);
    free(ctx);
    fanout_free(f);
    app_destroy(app);
    return err || !ctx ? 1 : 0;
}

int cli_lambda(const char *api)
{
    char msg[512];
    struct app *app = make_app_msg(NULL, NULL, msg, sizeof msg);
    struct worker *w = NULL;
    if (app && app_worker_new(app, &w) != CT_OK) {
        app_destroy(app);
        app = NULL;
        snprintf(msg, sizeof msg, "out of memory");
    }
    if (!app) {
        fprintf(stderr, "bootstrap: %s\n", msg);
        runtime_init_error(api, "Runtime.ConfigError", msg);
        return 1;
    }
    /* parts as invocations of this function (fanout.h), unless turned off */
    struct fanout *f = NULL;
    if (app_config(app)->fanout_concurrency > 0) {
        if (fanout_lambda_new(app_config(app)->fanout_concurrency, &f, msg, sizeof msg) == CT_OK) {
            app_set_fanout(app, f);
            fprintf(stderr, "bootstrap: fan-out invokes %s\n", fanout_invoke_url(f));
        } else
            fprintf(stderr, "bootstrap: no fan-out: %s\n", msg);
    }
    int err = runtime_run(&handler_service, w, api);
    fanout_free(f);
    free_app(app, w);
    return err ? 1 : 0;
}

/* --- bootstrap pyramid ------------------------------------------------------------- */

static volatile sig_atomic_t pyramid_stop;

static void on_sigint(int sig)
{
    (void)sig;
    pyramid_stop = 1;
}

/* The progress of an export: a bar redrawn in place on a terminal, else a
 * line every step tiles. */
struct pyramid_view {
    int tty;
    int started;
    uint64_t step, next;
    int failures; /* printed so far */
};

/* A broken source fails every tile: the first ones tell why, the count the rest. */
#define PYRAMID_FAILURES_SHOWN 20

static void fmt_eta(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || s > 359999)
        snprintf(buf, cap, "--:--");
    else if (s >= 3600)
        snprintf(buf, cap, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else
        snprintf(buf, cap, "%d:%02d", (int)s / 60, (int)s % 60);
}

static void pyramid_progress(void *ctx, const struct pyramid_stats *st, int final)
{
    struct pyramid_view *v = ctx;
    if (!v->started) {
        v->started = 1;
        fprintf(stderr, "pyramid: %llu tiles, %llu present, %llu to do\n",
                (unsigned long long)st->total, (unsigned long long)st->present,
                (unsigned long long)st->todo);
        v->step = st->todo / 20 ? st->todo / 20 : 1;
        if (v->step > 1000)
            v->step = 1000;
        v->next = v->step;
    }
    if (!st->todo)
        return;
    double rate = st->seconds > 0 ? (double)st->done / st->seconds : 0;
    char eta[32];
    fmt_eta(rate > 0 ? (double)(st->todo - st->done) / rate : -1, eta, sizeof eta);
    if (v->tty) {
        char bar[31];
        int fill = (int)(30 * st->done / st->todo);
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(30 - fill));
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %llu/%llu tiles  %.1f tiles/s  ETA %s \033[K%s", bar,
                (unsigned long long)st->done, (unsigned long long)st->todo, rate, eta,
                final ? "\n" : "");
    } else if (st->done >= v->next && !final) {
        fprintf(stderr, "pyramid: %llu/%llu tiles, %.1f tiles/s, ETA %s\n",
                (unsigned long long)st->done, (unsigned long long)st->todo, rate, eta);
        v->next = (st->done / v->step + 1) * v->step;
    }
    fflush(stderr);
}

static void pyramid_failure(void *ctx, int z, uint64_t x, uint64_t y, int status,
                            const char *detail)
{
    struct pyramid_view *v = ctx;
    if (v->failures++ < PYRAMID_FAILURES_SHOWN)
        fprintf(stderr, "%sbootstrap pyramid: %d/%llu/%llu: HTTP %d (%s)%s\n",
                v->tty ? "\r\033[K" : "", z, (unsigned long long)x, (unsigned long long)y, status,
                detail, v->failures == PYRAMID_FAILURES_SHOWN ? "; further failures only counted" : "");
}

/* True when ext names a tile format a map draws (imgfmt.h's names; not tif,
 * which holds values). */
static int map_format(const char *ext)
{
    enum img_format f;
    return !img_format_parse(ext, strlen(ext), &f) && f != IMG_TIFF;
}

/* The layer as its TileJSON describes it (through the service, like a tile). */
struct layer_desc {
    struct bbox bounds; /* /info's: west > east across the antimeridian */
    double center[2];
    int minzoom, maxzoom;
    char name[80], format[8], attribution[1024];
};

/* GET path?q[0..nq) through the service: the JSON body of a 200 (free with
 * cJSON_Delete), or NULL after a message with *rc the exit status (3: no such
 * layer; 2: a bad --query; 1: any other failure). */
static cJSON *get_json(struct worker *w, const char *path, const struct kv *q, size_t nq,
                       int *rc)
{
    struct request req = { .method = "GET", .path = path, .query = q, .nquery = nq };
    struct response resp;
    handler_handle(w, &req, &resp);
    cJSON *o = NULL;
    if (resp.status != 200) {
        fprintf(stderr, "bootstrap pyramid: HTTP %d %.*s (%s)\n", resp.status, (int)resp.len,
                (const char *)resp.body, resp.detail);
        *rc = resp.status == 404 ? 3 : resp.status == 400 ? 2 : 1;
    } else if (!(o = cJSON_ParseWithLength((const char *)resp.body, resp.len))) {
        fprintf(stderr, "bootstrap pyramid: %s is not JSON\n", path);
        *rc = 1;
    }
    response_free(&resp);
    return o;
}

/* The layer as the service describes it: /info's bounds (west > east across
 * the antimeridian, where TileJSON's span every longitude: the plan needs
 * them so), the rest from the TileJSON of tiles asked with QUERY (and
 * tile_format=EXT). 0 and *d, or the exit status after a message. */
static int describe_layer(struct worker *w, const char *layer, const struct kv *query, size_t nq,
                          const char *ext, struct layer_desc *d)
{
    char path[256];
    struct kv q[HTTP_MAX_PAIRS + 1];
    memcpy(q, query, nq * sizeof *q);
    if (ext)
        q[nq] = (struct kv){ "tile_format", ext };
    int rc = 1;
    snprintf(path, sizeof path, "/tiles/%s/tilejson.json", layer);
    cJSON *tj = get_json(w, path, q, nq + (ext ? 1 : 0), &rc);
    snprintf(path, sizeof path, "/tiles/%s/info", layer);
    cJSON *info = tj ? get_json(w, path, query, nq, &rc) : NULL;
    const cJSON *b = cJSON_GetObjectItem(info, "bounds"), *c = cJSON_GetObjectItem(tj, "center");
    const cJSON *f = cJSON_GetObjectItem(tj, "format"), *a = cJSON_GetObjectItem(tj, "attribution");
    const cJSON *n = cJSON_GetObjectItem(tj, "name"), *z0 = cJSON_GetObjectItem(tj, "minzoom");
    const cJSON *z1 = cJSON_GetObjectItem(tj, "maxzoom");
    double v[4];
    int nb = 0;
    for (const cJSON *e = cJSON_GetArraySize(b) == 4 ? b->child : NULL; e && cJSON_IsNumber(e);
         e = e->next)
        v[nb++] = e->valuedouble;
    if (tj && info && nb == 4 && cJSON_GetArraySize(c) >= 2 && cJSON_IsString(f) &&
        cJSON_IsNumber(z0) && cJSON_IsNumber(z1)) {
        d->bounds = (struct bbox){ v[0], v[1], v[2], v[3] };
        d->center[0] = cJSON_GetArrayItem(c, 0)->valuedouble;
        d->center[1] = cJSON_GetArrayItem(c, 1)->valuedouble;
        d->minzoom = z0->valueint;
        d->maxzoom = z1->valueint;
        snprintf(d->format, sizeof d->format, "%s", f->valuestring);
        snprintf(d->name, sizeof d->name, "%s", cJSON_IsString(n) ? n->valuestring : layer);
        snprintf(d->attribution, sizeof d->attribution, "%s",
                 cJSON_IsString(a) ? a->valuestring : "");
        rc = 0;
    } else if (tj && info) {
        fprintf(stderr, "bootstrap pyramid: the layer's description lacks bounds or format\n");
    }
    cJSON_Delete(tj);
    cJSON_Delete(info);
    return rc;
}

/* The metadata member (ours, beside MBTiles 1.3's) naming what the tiles are
 * renderings of: the layer, its source and --query. A re-run into the same
 * file or folder must name the same, or its tiles would be mixed with the
 * others (the tiles already there are skipped, not rendered again). */
#define PYRAMID_RENDERING "cogtiler_rendering"

/* The metadata of the export (MBTiles 1.3's names). */
static int pyramid_meta(struct tilestore *s, const struct layer_desc *d, const struct bbox *clip,
                        int minz, int maxz, const char *ext, const char *query,
                        const char *rendering)
{
    struct bbox b = d->bounds;
    if (clip) {
        b.miny = fmax(b.miny, clip->miny);
        b.maxy = fmin(b.maxy, clip->maxy);
        if (b.minx < b.maxx && clip->minx < clip->maxx) {
            b.minx = fmax(b.minx, clip->minx);
            b.maxx = fmin(b.maxx, clip->maxx);
        } else {
            b.minx = clip->minx;
            b.maxx = clip->maxx;
        }
    }
    double clon = clip ? (b.minx + b.maxx) / 2 : d->center[0];
    double clat = clip ? (b.miny + b.maxy) / 2 : d->center[1];
    if (clip && b.minx > b.maxx)
        clon = clon > 0 ? clon - 180 : clon + 180;
    char bounds[160], center[120], zmin[16], zmax[16], desc[600], v[6][32];
    double nums[6] = { b.minx, b.miny, b.maxx, b.maxy, clon, clat };
    for (int i = 0; i < 6; i++)
        parse_print_double(nums[i], v[i], sizeof v[i]);
    /* MBTiles' bounds, like TileJSON's, do not wrap: across the antimeridian
     * they span every longitude */
    snprintf(bounds, sizeof bounds, "%s,%s,%s,%s", b.minx > b.maxx ? "-180" : v[0], v[1],
             b.minx > b.maxx ? "180" : v[2], v[3]);
    snprintf(center, sizeof center, "%s,%s,%d", v[4], v[5], minz);
    snprintf(zmin, sizeof zmin, "%d", minz);
    snprintf(zmax, sizeof zmax, "%d", maxz);
    snprintf(desc, sizeof desc, "cogtiler export of layer %s%s%.400s", d->name,
             *query ? " with " : "", query);
    struct kv meta[11] = { { "name", d->name },
                           { "format", ext },
                           { "bounds", bounds },
                           { "center", center },
                           { "minzoom", zmin },
                           { "maxzoom", zmax },
                           { "type", "overlay" },
                           { "version", "1" },
                           { "description", desc },
                           { PYRAMID_RENDERING, rendering },
                           { "attribution", d->attribution } };
    char msg[512];
    if (tilestore_set_meta(s, meta, *d->attribution ? 11 : 10, msg, sizeof msg)) {
        fprintf(stderr, "bootstrap pyramid: %s\n", msg);
        return 1;
    }
    return 0;
}

int cli_pyramid(int argc, char **argv)
{
    const char *layer = NULL, *source = NULL, *config = NULL, *zooms = NULL, *bbox_s = NULL;
    const char *format = NULL, *query_s = "", *out = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN), jobs = cores > 0 ? cores : 1;
    int minz = -1, maxz = -1;
    struct bbox clip;
    const struct str_opt opts[] = {
        { "--layer", NULL, &layer },   { "--source", NULL, &source }, { "--config", NULL, &config },
        { "--zoom", NULL, &zooms },    { "--bbox", NULL, &bbox_s },   { "--format", NULL, &format },
        { "--query", NULL, &query_s }, { "-o", "--output", &out },
    };
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v, **dst;
        if (a[0] != '-')
            goto bad;
        if (!(v = optval(argc, argv, &i)))
            return 2;
        if (!strcmp(a, "--jobs")) {
            if (opt_number("pyramid", "jobs", v, 1, 256, &jobs))
                return 2;
        } else if ((dst = opt_dest(opts, sizeof opts / sizeof opts[0], a))) {
            *dst = v;
        } else {
            goto bad;
        }
    }
    if (!out || (layer && source))
        goto bad;
    if (zooms && pyramid_parse_zooms(zooms, strlen(zooms), &minz, &maxz)) {
        fprintf(stderr, "bootstrap pyramid: bad --zoom %s (Z or MIN-MAX, 0..%d)\n", zooms,
                TILEMATH_MAXZ);
        return 2;
    }
    if (bbox_s && pyramid_parse_bbox(bbox_s, strlen(bbox_s), &clip)) {
        fprintf(stderr, "bootstrap pyramid: bad --bbox %s (W,S,E,N in degrees, S < N)\n", bbox_s);
        return 2;
    }
    if (format && !map_format(format)) {
        fprintf(stderr, "bootstrap pyramid: bad --format %s (png, webp or jpg)\n", format);
        return 2;
    }
    if (!tilestore_kind(out)) {
        fprintf(stderr, "bootstrap pyramid: -o names an .mbtiles file or a folder (DIR/)\n");
        return 2;
    }
    /* --query: the pairs every tile request carries (split once, read by all threads) */
    char *qbuf = strdup(query_s);
    struct kv query[HTTP_MAX_PAIRS];
    size_t nq = 0;
    if (!qbuf)
        return 1;
    if (split_query(qbuf, query, &nq)) {
        fprintf(stderr, "bootstrap pyramid: --query has more than %d parameters\n",
                HTTP_MAX_PAIRS);
        free(qbuf);
        return 2;
    }

    struct worker *w = NULL;
    struct tilestore *store = NULL;
    struct app *app = make_app(config, source, &w);
    int rc = 1;
    if (!app)
        goto out;
    const struct config *c = app_config(app);
    if (!layer)
        layer = c->layers[source ? 0 : c->default_layer].name;
    struct layer_desc d;
    if ((rc = describe_layer(w, layer, query, nq, format, &d)))
        goto out;
    /* the layer's own format unless --format; GeoTIFF values are no map tiles */
    const char *ext = format ? format : d.format;
    if (!map_format(ext)) {
        fprintf(stderr, "bootstrap pyramid: layer %s's tiles are %s; give --format png, webp or jpg\n",
                layer, ext);
        rc = 2;
        goto out;
    }
    if (minz < 0) {
        minz = d.minzoom;
        maxz = d.maxzoom;
    }
    struct pyramid_plan *plan = malloc(sizeof *plan);
    rc = 1;
    if (!plan || pyramid_plan(&d.bounds, bbox_s ? &clip : NULL, minz, maxz, plan)) {
        fprintf(stderr, "bootstrap pyramid: %s\n",
                plan ? "the layer's bounds cannot be enumerated" : "out of memory");
        free(plan);
        goto out;
    }
    char msg[512];
    int err = tilestore_open(out, ext, &store, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "bootstrap pyramid: %s\n", msg);
        rc = err == CT_EINVAL ? 2 : 1;
        free(plan);
        goto out;
    }
    const struct layer_conf *lc = config_find(c, layer, strlen(layer));
    char *rendering = NULL;
    if (asprintf(&rendering, "layer %s (%s)%s%s", layer,
                 lc && lc->source ? lc->source : "derived", *query_s ? " with " : "",
                 query_s) < 0)
        rendering = NULL;
    if (!rendering || (err = tilestore_check_meta(store, PYRAMID_RENDERING, rendering, msg,
                                                  sizeof msg))) {
        fprintf(stderr, "bootstrap pyramid: %s\n", rendering ? msg : "out of memory");
        rc = rendering ? 2 : 1;
        free(rendering);
        free(plan);
        goto out;
    }
    rc = pyramid_meta(store, &d, bbox_s ? &clip : NULL, minz, maxz, ext, query_s, rendering);
    free(rendering);
    if (rc) {
        free(plan);
        goto out;
    }
    /* The worker made for the description is not a render worker: its datasets
     * are closed before the threads open theirs. */
    app_worker_free(w);
    w = NULL;

    struct pyramid_view view = { .tty = isatty(STDERR_FILENO) };
    struct pyramid_opts o = { .layer = layer, .ext = ext, .query = query, .nquery = nq,
                              .jobs = (int)jobs, .progress = pyramid_progress,
                              .failure = pyramid_failure, .ctx = &view, .stop = &pyramid_stop };
    /* SIGINT finishes the tiles in hand and commits; a second one kills. */
    struct sigaction sa = { .sa_handler = on_sigint, .sa_flags = SA_RESETHAND }, old;
    sigemptyset(&sa.sa_mask);
    pyramid_stop = 0;
    sigaction(SIGINT, &sa, &old);
    struct pyramid_stats st;
    err = pyramid_run(app, plan, store, &o, &st, msg, sizeof msg);
    free(plan);
    char cmsg[512];
    int cerr = tilestore_close(store, cmsg, sizeof cmsg);
    store = NULL;
    sigaction(SIGINT, &old, NULL);
    fprintf(stderr,
            "pyramid: %llu tiles, %llu present, %llu to do: %llu written (%llu bytes), %llu outside "
            "the data, %llu failed, in %.1f s (%.1f tiles/s)%s\n",
            (unsigned long long)st.total, (unsigned long long)st.present,
            (unsigned long long)st.todo, (unsigned long long)st.written,
            (unsigned long long)st.bytes, (unsigned long long)st.outside,
            (unsigned long long)st.failed, st.seconds,
            st.seconds > 0 ? (double)st.done / st.seconds : 0.0,
            pyramid_stop ? "; interrupted, run again to resume" : "");
    if (err || cerr) {
        fprintf(stderr, "bootstrap pyramid: %s\n", err ? msg : cmsg);
        rc = 1;
    } else if (pyramid_stop) {
        rc = 130;
    } else if (st.failed) {
        fprintf(stderr, "bootstrap pyramid: %llu tiles failed\n", (unsigned long long)st.failed);
        rc = 1;
    } else {
        rc = 0;
    }
out:
    tilestore_close(store, NULL, 0);
    free_app(app, w);
    free(qbuf);
    return rc;
bad:
    fputs(cli_usage, stderr);
    return 2;
}
