/* config.h - the layer configuration, read once at start-up from JSON (cJSON). */
#ifndef COGTILER_CONFIG_H
#define COGTILER_CONFIG_H

#include <stddef.h>

struct layer_conf {
    char *name;      /* [A-Za-z0-9_.-]{1,64} */
    char *source;    /* as given, or resolved against the config file's folder */
    char *colormap;  /* default colormap name, or NULL */
    char *attribution; /* shown by map clients (TileJSON "attribution"), or NULL */
    int requester_pays; /* S3: the requester pays (AWS_REQUEST_PAYER=requester) */
    int unsigned_s3;    /* S3: a public bucket, requests not signed (AWS_NO_SIGN_REQUEST) */
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
    char **allowed_prefixes;  /* url= may read under these (http(s):// or s3://); none = off */
    size_t nallowed;
    int dataset_ttl_s;        /* an open dataset is reopened after this long (0 = never) */
};

#define CONFIG_DATASET_TTL 300

#define CONFIG_TILE_CACHE "public, max-age=86400"

/* Parses the JSON text json. Sources become GDAL names (s3://B/K ->
 * /vsis3/B/K, https://... -> /vsicurl/https://...); relative local sources are
 * resolved against basedir (may be NULL). Returns 0 and fills *out (free with
 * config_free), or CT_ECONFIG with a message naming the problem. Format:
 *   {"default_layer": "name",
 *    "cache_control": "public, max-age=86400", "cors_origin": "*",
 *    "public_url": "https://tiles.example.com",
 *    "allowed_url_prefixes": ["https://data.example.com/cogs/", "s3://bucket/"],
 *    "dataset_ttl": 300,
 *    "layers": {"name": {"source": "...", "colormap": "viridis",
 *                        "rescale": [min, max], "attribution": "text",
 *                        "requester_pays": false, "unsigned": false}, ...}} */
int config_parse(const char *json, const char *basedir, struct config *out, char *msg,
                 size_t msgcap);

/* Reads and parses the file at path; see config_parse. */
int config_load(const char *path, struct config *out, char *msg, size_t msgcap);

/* A configuration of one layer called name over source (no file involved). */
int config_single(const char *name, const char *source, struct config *out);

/* Applies the environment's overrides: COGTILER_CACHE_CONTROL (tiles'
 * Cache-Control), COGTILER_CORS_ORIGIN, COGTILER_PUBLIC_URL (printable ASCII,
 * at most 256 bytes), COGTILER_ALLOWED_URL_PREFIXES (comma-separated; replaces
 * the file's list) and COGTILER_DATASET_TTL (seconds). 0, or CT_ECONFIG /
 * CT_ENOMEM with msg naming the variable. */
int config_apply_env(struct config *c, char *msg, size_t msgcap);

/* NULL-safe. */
void config_free(struct config *c);

/* The layer called name[0..n), or NULL. */
const struct layer_conf *config_find(const struct config *c, const char *name, size_t n);

#endif
