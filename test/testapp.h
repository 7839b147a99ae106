/* testapp.h - the in-process app and its one worker, which the handler-level
 * tests run against. */
#ifndef COGTILER_TESTAPP_H
#define COGTILER_TESTAPP_H

#include "app.h"
#include "config.h"
#include "err.h"

static struct app *app;
static struct worker *worker;

/* Creates app and worker over the layers JSON, sources relative to basedir;
 * a cmocka group setup result (0 or -1). */
static int test_app_open(const char *json, const char *basedir)
{
    struct config c;
    char msg[256];
    if (config_parse(json, basedir, &c, msg, sizeof msg) != CT_OK)
        return -1;
    if (app_create(&c, &app) != CT_OK)
        return -1;
    return app_worker_new(app, &worker) == CT_OK ? 0 : -1;
}

/* cmocka group teardown. */
static int test_app_close(void **state)
{
    (void)state;
    app_worker_free(worker);
    app_destroy(app);
    return 0;
}

#endif
