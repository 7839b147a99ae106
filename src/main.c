/* main.c - command line: build the app, hand over to the CLI or the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "err.h"
#include "handler.h"
#include "runtime.h"
#include "server.h"

#define DEFAULT_CONFIG "data/layers.json"

static const char usage[] =
    "usage:\n"
    "  bootstrap tile Z/X/Y [--layer NAME | --source PATH] [--config FILE]\n"
    "                 [--colormap NAME] [--rescale MIN,MAX] [--tilesize 256|512] -o OUT.png\n"
    "  bootstrap serve [--host 127.0.0.1] [--port 8080] [--config FILE]\n"
    "  bootstrap invoke [EVENT.json]      one Lambda event (file or stdin) -> response JSON\n"
    "  bootstrap                          with AWS_LAMBDA_RUNTIME_API set: the Lambda runtime\n"
    "The configuration is --config FILE, else $COGTILER_CONFIG_JSON (inline JSON), else\n"
    "$COGTILER_CONFIG (a file), else " DEFAULT_CONFIG ".\n";

/* The app over one ad-hoc source, or over the configuration file (--config,
 * $COGTILER_CONFIG, DEFAULT_CONFIG). NULL with the reason in msg. */
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

/* make_app_msg() that prints the reason. */
static struct app *make_app(const char *path, const char *source)
{
    char msg[512];
    struct app *app = make_app_msg(path, source, msg, sizeof msg);
    if (!app)
        fprintf(stderr, "bootstrap: %s\n", msg);
    return app;
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

static int cmd_tile(int argc, char **argv)
{
    const char *zxy = NULL, *layer = NULL, *source = NULL, *config = NULL, *out = NULL;
    const char *cmap = NULL, *rescale = NULL, *tilesize = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (a[0] != '-') {
            if (zxy)
                goto bad;
            zxy = a;
            continue;
        }
        if (!(v = optval(argc, argv, &i)))
            return 2;
        if (!strcmp(a, "--layer"))
            layer = v;
        else if (!strcmp(a, "--source"))
            source = v;
        else if (!strcmp(a, "--config"))
            config = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--colormap"))
            cmap = v;
        else if (!strcmp(a, "--rescale"))
            rescale = v;
        else if (!strcmp(a, "--tilesize"))
            tilesize = v;
        else
            goto bad;
    }
    if (!zxy || !out || (layer && source))
        goto bad;
    /* The options become the query parameters a URL would carry. */
    struct kv query[3];
    size_t nq = 0;
    if (cmap)
        query[nq++] = (struct kv){ "colormap_name", cmap };
    if (rescale)
        query[nq++] = (struct kv){ "rescale", rescale };
    if (tilesize)
        query[nq++] = (struct kv){ "tilesize", tilesize };

    struct app *app = make_app(config, source);
    if (!app)
        return 1;
    const struct config *c = app_config(app);
    if (!layer)
        layer = c->layers[source ? 0 : c->default_layer].name;

    /* The CLI goes through the same handler as HTTP: it builds the tile path. */
    char path[256];
    int rc = 1;
    if ((size_t)snprintf(path, sizeof path, "/tiles/%s/%s.png", layer, zxy) >= sizeof path) {
        fprintf(stderr, "bootstrap tile: arguments too long\n");
        app_destroy(app);
        return 2;
    }
    struct request req = { "GET", path, query, nq, NULL, 0, 0, NULL };
    struct response resp;
    handler_handle(app, &req, &resp);
    if (resp.status == 200) {
        FILE *f = fopen(out, "wb");
        if (f && fwrite(resp.body, 1, resp.len, f) == resp.len && fclose(f) == 0) {
            rc = 0;
        } else {
            if (f)
                fclose(f);
            fprintf(stderr, "bootstrap tile: cannot write %s\n", out);
        }
    } else {
        fprintf(stderr, "bootstrap tile: HTTP %d %.*s (%s)\n", resp.status, (int)resp.len,
                (const char *)resp.body, resp.detail);
        rc = resp.status == 404 ? 3 : 1;
    }
    response_free(&resp);
    app_destroy(app);
    return rc;
bad:
    fputs(usage, stderr);
    return 2;
}

static int cmd_serve(int argc, char **argv)
{
    const char *host = "127.0.0.1", *config = NULL;
    int port = 8080;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!(v = optval(argc, argv, &i)))
            return 2;
        if (!strcmp(a, "--host")) {
            host = v;
        } else if (!strcmp(a, "--port")) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p < 0 || p > 65535) {
                fprintf(stderr, "bootstrap serve: bad port %s\n", v);
                return 2;
            }
            port = (int)p;
        } else if (!strcmp(a, "--config")) {
            config = v;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    struct app *app = make_app(config, NULL);
    if (!app)
        return 1;
    int err = server_run(app, host, port);
    app_destroy(app);
    return err ? 1 : 0;
}

/* Reads all of f (at most max bytes). NULL when larger or unreadable. */
static char *read_all(FILE *f, size_t max, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *p = malloc(cap + 1);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= max) {
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
        free(p);
        return NULL;
    }
    p[n] = '\0';
    *len = n;
    return p;
}

static int cmd_invoke(int argc, char **argv)
{
    if (argc > 3) {
        fputs(usage, stderr);
        return 2;
    }
    FILE *f = argc == 3 && strcmp(argv[2], "-") ? fopen(argv[2], "rb") : stdin;
    if (!f) {
        fprintf(stderr, "bootstrap invoke: cannot open %s\n", argv[2]);
        return 1;
    }
    size_t len = 0;
    char *event = read_all(f, RUNTIME_MAX_PAYLOAD, &len);
    if (f != stdin)
        fclose(f);
    if (!event) {
        fprintf(stderr, "bootstrap invoke: cannot read the event (over 6 MB?)\n");
        return 1;
    }
    struct app *app = make_app(NULL, NULL);
    int rc = 1;
    if (app) {
        char *json = NULL, msg[512] = "";
        size_t n = 0;
        int err = runtime_invoke(app, event, len, 0, "invoke", &json, &n, msg, sizeof msg);
        if (err) {
            fprintf(stderr, "bootstrap invoke: %s\n", msg);
        } else {
            fwrite(json, 1, n, stdout);
            fputc('\n', stdout);
            rc = 0;
        }
        free(json);
        app_destroy(app);
    }
    free(event);
    return rc;
}

/* The Lambda custom runtime: start-up failures go to /runtime/init/error. */
static int cmd_lambda(const char *api)
{
    char msg[512];
    struct app *app = make_app_msg(NULL, NULL, msg, sizeof msg);
    if (!app) {
        fprintf(stderr, "bootstrap: %s\n", msg);
        runtime_init_error(api, "Runtime.ConfigError", msg);
        return 1;
    }
    int err = runtime_run(app, api);
    app_destroy(app);
    return err ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (argc == 1 && api && *api)
        return cmd_lambda(api);
    if (argc >= 2 && !strcmp(argv[1], "invoke"))
        return cmd_invoke(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "tile"))
        return cmd_tile(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return cmd_serve(argc, argv);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
                      !strcmp(argv[1], "help"))) {
        fputs(usage, stdout);
        return 0;
    }
    fputs(usage, stderr);
    return 2;
}
