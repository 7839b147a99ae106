/* config.h - the layer configuration, read once at start-up from JSON (cJSON). */
#ifndef COGTILER_CONFIG_H
#define COGTILER_CONFIG_H

#include <stddef.h>

struct layer_conf {
    char *name;      /* [A-Za-z0-9_.-]{1,64} */
    char *source;    /* as given, or resolved against the config file's folder */
    char *colormap;  /* default colormap name, or NULL */
    char *attribution; /* shown by map clients (TileJSON "attribution"), or NULL */
    int has_rescale;
    double rescale_min, rescale_max;
};

struct config {
    struct layer_conf *layers;
    size_t nlayers;
    size_t default_layer;     /* index into layers */
    char *tile_cache_control; /* Cache-Control of tiles; NULL = CONFIG_TILE_CACHE */
    char *cors_origin;        /* Access-Control-Allow-Origin; NULL = "*" */
    char *public_url;         /* base of absolute URLs (e.g. the CloudFront domain), or NULL */
};

#define CONFIG_TILE_CACHE "public, max-age=86400"

/* Parses the JSON text json. Relative local sources are resolved against
 * basedir (may be NULL). Returns 0 and fills *out (free with config_free), or
 * CT_ECONFIG with a message naming the problem. Format:
 *   {"default_layer": "name",
 *    "cache_control": "public, max-age=86400", "cors_origin": "*",
 *    "public_url": "https://tiles.example.com",
 *    "layers": {"name": {"source": "...", "colormap": "viridis",
 *                        "rescale": [min, max], "attribution": "text"}, ...}} */
int config_parse(const char *json, const char *basedir, struct config *out, char *msg,
                 size_t msgcap);

/* Reads and parses the file at path; see config_parse. */
int config_load(const char *path, struct config *out, char *msg, size_t msgcap);

/* A configuration of one layer called name over source (no file involved). */
int config_single(const char *name, const char *source, struct config *out);

/* Applies the environment's overrides: COGTILER_CACHE_CONTROL (tiles'
 * Cache-Control), COGTILER_CORS_ORIGIN and COGTILER_PUBLIC_URL. 0, CT_ECONFIG for a value with
 * control characters or over 256 bytes, or CT_ENOMEM. */
int config_apply_env(struct config *c);

/* NULL-safe. */
void config_free(struct config *c);

/* The layer called name[0..n), or NULL. */
const struct layer_conf *config_find(const struct config *c, const char *name, size_t n);

#endif
