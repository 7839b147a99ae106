/* main.c - command line: build the app, hand over to the CLI or the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "err.h"
#include "handler.h"
#include "server.h"

#define DEFAULT_CONFIG "data/layers.json"

static const char usage[] =
    "usage:\n"
    "  bootstrap tile Z/X/Y [--layer NAME | --source PATH] [--config FILE]\n"
    "                 [--colormap NAME] [--rescale MIN,MAX] [--tilesize 256|512] -o OUT.png\n"
    "  bootstrap serve [--host 127.0.0.1] [--port 8080] [--config FILE]\n"
    "The configuration is --config, else $COGTILER_CONFIG, else " DEFAULT_CONFIG ".\n";

/* The app over one ad-hoc source, or over the configuration file (--config,
 * $COGTILER_CONFIG, DEFAULT_CONFIG). NULL after printing why. */
static struct app *make_app(const char *path, const char *source)
{
    char msg[512] = "out of memory";
    struct config cfg;
    struct app *app = NULL;
    if (!path)
        path = getenv("COGTILER_CONFIG");
    if (!path)
        path = DEFAULT_CONFIG;
    int err = source ? config_single("source", source, &cfg)
                     : config_load(path, &cfg, msg, sizeof msg);
    if (!err && (err = config_apply_env(&cfg)))
        snprintf(msg, sizeof msg, "COGTILER_CACHE_CONTROL or COGTILER_CORS_ORIGIN: %s",
                 err == CT_ECONFIG ? "control characters or over 256 bytes" : "out of memory");
    if (!err)
        err = app_create(&cfg, &app);
    if (err)
        config_free(&cfg);
    if (err)
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
    struct request req = { "GET", path, query, nq, NULL, 0, 0 };
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

int main(int argc, char **argv)
{
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
