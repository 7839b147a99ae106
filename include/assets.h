/* assets.h - files compiled into the binary at build time (web/, Leaflet). */
#ifndef COGTILER_ASSETS_H
#define COGTILER_ASSETS_H

#include <stddef.h>

struct asset {
    const char *name;         /* e.g. "leaflet.js" */
    const char *content_type;
    const char *data;         /* NUL-terminated as well */
    size_t len;
};

/* The embedded file called name, or NULL. */
const struct asset *assets_find(const char *name);

#endif
