/* testapp.h - the in-process app the handler-level tests run against. */
#ifndef COGTILER_TESTAPP_H
#define COGTILER_TESTAPP_H

#include "app.h"
#include "config.h"
#include "err.h"

static struct app *app;

/* Creates app over the layers JSON, sources relative to basedir; a cmocka
 * group setup result (0 or -1). */
static int test_app_open(const char *json, const char *basedir)
{
    struct config c;
    char msg[256];
    if (config_parse(json, basedir, &c, msg, sizeof msg) != CT_OK)
        return -1;
    return app_create(&c, &app) == CT_OK ? 0 : -1;
}

/* cmocka group teardown. */
static int test_app_close(void **state)
{
    (void)state;
    app_destroy(app);
    return 0;
}

#endif
