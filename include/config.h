/* config.h - the layer configuration, read once at start-up from JSON (cJSON). */
#ifndef COGTILER_CONFIG_H
#define COGTILER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "imgfmt.h"
#include "overlay.h"

/* What a derived layer's input computes from its layer's band. */
enum derive_terrain { TERRAIN_NONE = 0, TERRAIN_SLOPE, TERRAIN_ASPECT };

#define DERIVED_MAX_NAME 32

/* One input of a derived layer (docs/OVERLAY.md). */
struct derived_input {
    char name[DERIVED_MAX_NAME + 1]; /* [A-Za-z_][A-Za-z0-9_]*: the expression's variable */
    size_t layer;                    /* index of a plain (source) layer */
    int band;                        /* 1-based */
    enum derive_terrain terrain;     /* slope (degrees) or aspect of the band, as gdaldem */
    const char *resampling;          /* a gdalwarp -r name (static); "near" by default */
    struct remap remap;              /* n == 0: none (expressions only) */
    double weight;                   /* percent influence */
};

/* A layer computed from other layers: a weighted overlay, or an expression of
 * its inputs. */
struct derived {
    int ninputs;
    struct derived_input in[OVERLAY_MAX_INPUTS];
    double scale_min, scale_max;     /* the evaluation scale; restricted = scale_min - 1 */
    enum overlay_round round;
    char *expression;                /* NULL: the weighted overlay */
    int grid;                        /* the input whose grid statistics are computed on */
    uint8_t restricted_rgba[4];      /* the colour of restricted cells in tiles */
};

struct layer_conf {
    char *name;      /* [A-Za-z0-9_.-]{1,64} */
    char *source;    /* as given, or resolved against the config file's folder; NULL when derived */
    struct derived *derived; /* a derived layer (no source), or NULL */
    char *colormap;  /* default colormap name, or NULL */
    char *attribution; /* shown by map clients (TileJSON "attribution"), or NULL */
    int requester_pays; /* S3: the requester pays (AWS_REQUEST_PAYER=requester) */
    int unsigned_s3;    /* S3: a public bucket, requests not signed (AWS_NO_SIGN_REQUEST) */
    int has_rescale;
    double rescale_min, rescale_max;
    enum img_format format; /* "format": the tile format TileJSON and the viewer ask
                               for (IMG_PNG when not given) */
    const char *resampling; /* "resampling": tiles' default (a gdalwarp -r name), or NULL */
    int has_minzoom, minzoom; /* "minzoom" / "maxzoom": what clients are told (TileJSON,
                                 WMTS, /layers) instead of the data's zoom range */
    int has_maxzoom, maxzoom;
    int gcp_tps;     /* "gcp_transform": "tps" (a thin plate spline), else "polynomial" */
    int gcp_order;   /* "gcp_order": 1..3, the polynomial's order; 0: as gdalwarp chooses */
};

struct config {
    struct layer_conf *layers;
    size_t nlayers;
    size_t default_layer;     /* index into layers */
    char *tile_cache_control; /* Cache-Control of tiles; NULL = CONFIG_TILE_CACHE */
    char *cors_origin;        /* Access-Control-Allow-Origin; NULL = "*" */
    char *public_url;         /* base of absolute URLs (e.g. the CloudFront domain), or NULL */
    char *origin_secret;      /* when the X-Cogtiler-Origin-Secret header carries it, the
                                 request came through our CloudFront distribution and its
                                 X-Forwarded-Host names the public host; or NULL */
    char **allowed_prefixes;  /* url= may read under these (http(s):// or s3://); none = off */
    size_t nallowed;
    int dataset_ttl_s;        /* an open dataset is reopened after this long (0 = never) */
    int negative_ttl_s;       /* a source that failed to open is not retried for this long */
    int url_max_requests;     /* requests a url= source may cause per client request */
    int url_max_bytes;        /* bytes one upstream answer of a url= source may carry */
    int max_cells;            /* statistics: the largest window of one zone, in cells */
    int chunk_cells;          /* statistics: cells read at once (at least one block) */
    int stats_max_unique;     /* statistics: distinct values counted exactly per band */
    int fanout_min_cells;     /* statistics: a window of fewer cells never fans out */
    int fanout_part_cells;    /* statistics: cells per part of a fan-out */
    int fanout_concurrency;   /* Lambda: parts in flight at once (0: no fan-out) */
    int fanout_jobs;          /* local server: part threads (0: one per CPU; 1: no fan-out) */
};

#define CONFIG_DATASET_TTL 300
/* Long enough that a dead source costs one timeout per burst of tiles (a map
 * view asks for a dozen at once), short enough that a recovered one is back
 * before a user retries. */
#define CONFIG_NEGATIVE_TTL 5
/* A 512 px tile over a COG of 256 px blocks touches at most 3 x 3 blocks per
 * overview level, each one ranged GET (fewer, merged); with the header GET and
 * the retries of a few of them, 32 leaves room for real use and stops a
 * source that keeps the server busy with requests. */
#define CONFIG_URL_MAX_REQUESTS 32
/* The largest block of a typical COG is well under 1 MB (512 x 512 x 4 bands
 * x 4 bytes, uncompressed, is 4 MB); 16 MB bounds the memory one answer can
 * take while leaving every real block readable. */
#define CONFIG_URL_MAX_BYTES (16 << 20)
/* About a national land cover at 30 m; at the measured rate (BENCHMARKS.md,
 * zonal) well inside a 30 s request. */
#define CONFIG_MAX_CELLS 1000000000
/* A chunk of 1 Mi cells takes about 20 MB of buffers (values, weights,
 * validity), so a 128 MB function keeps its footprint whatever the zone. */
#define CONFIG_CHUNK_CELLS 524288
/* Integer land covers have a few hundred classes; a DEM's distinct values go
 * past this quickly and fall back to the 8,192-bin histogram. */
#define CONFIG_STATS_MAX_UNIQUE 100000

/* Fan-out (docs/ZONAL.md): a part of 16 Mi cells takes about 0.1-0.3 s of
 * CPU at the measured rate (BENCHMARKS.md, fanout), several times an
 * invocation's overhead; smaller windows are answered faster by one function. */
#define CONFIG_FANOUT_MIN_CELLS (32 << 20)
#define CONFIG_FANOUT_PART_CELLS (16 << 20)
#define CONFIG_FANOUT_CONCURRENCY 64

#define CONFIG_TILE_CACHE "public, max-age=86400"

/* A weighted overlay without a colormap of its own: red (low) to green (high)
 * over its scale (docs/OVERLAY.md). */
#define CONFIG_OVERLAY_COLORMAP "rdylgn"

/* Parses the JSON text json. Sources become GDAL names (s3://B/K ->
 * /vsis3/B/K, https://... -> /vsicurl/https://...); relative local sources are
 * resolved against basedir (may be NULL). Returns 0 and fills *out (free with
 * config_free), or CT_ECONFIG with a message naming the problem. Format:
 *   {"default_layer": "name",
 *    "cache_control": "public, max-age=86400", "cors_origin": "*",
 *    "public_url": "https://tiles.example.com",
 *    "allowed_url_prefixes": ["https://data.example.com/cogs/", "s3://bucket/"],
 *    "dataset_ttl": 300, "negative_ttl": 5,
 *    "url_max_requests": 32, "url_max_bytes": 16777216,
 *    "max_cells": 1000000000, "chunk_cells": 524288, "stats_max_unique": 100000,
 *    "fanout_min_cells": 33554432, "fanout_part_cells": 16777216,
 *    "fanout_concurrency": 64, "fanout_jobs": 0,
 *    "layers": {"name": {"source": "...", "colormap": "viridis",
 *                        "rescale": [min, max], "attribution": "text",
 *                        "requester_pays": false, "unsigned": false,
 *                        "gcp_transform": "polynomial", "gcp_order": 2},
 *               "derived": {"inputs": [{"name": "cover", "layer": "name", "band": 1,
 *                                       "terrain": "slope", "resampling": "bilinear",
 *                                       "remap": "1:restricted,2..5:3", "weight": 60}, ...],
 *                           "scale": [1, 9], "round": "nearest", "grid": "cover",
 *                           "expression": "...", "restricted_color": [0, 0, 0, 255],
 *                           "colormap": "rdylgn"}, ...}}
 * (docs/OVERLAY.md: a layer with "inputs" has no "source"). */
int config_parse(const char *json, const char *basedir, struct config *out, char *msg,
                 size_t msgcap);

/* Reads and parses the file at path; see config_parse. */
int config_load(const char *path, struct config *out, char *msg, size_t msgcap);

/* A configuration of one layer called name over source (no file involved). */
int config_single(const char *name, const char *source, struct config *out);

/* Applies the environment's overrides: COGTILER_CACHE_CONTROL (tiles'
 * Cache-Control), COGTILER_CORS_ORIGIN, COGTILER_PUBLIC_URL (printable ASCII,
 * at most 256 bytes), COGTILER_ALLOWED_URL_PREFIXES (comma-separated; replaces
 * the file's list), COGTILER_DATASET_TTL and COGTILER_NEGATIVE_TTL (seconds),
 * COGTILER_URL_MAX_REQUESTS, COGTILER_URL_MAX_BYTES, COGTILER_MAX_CELLS,
 * COGTILER_CHUNK_CELLS, COGTILER_STATS_MAX_UNIQUE, COGTILER_FANOUT_MIN_CELLS,
 * COGTILER_FANOUT_PART_CELLS, COGTILER_FANOUT_CONCURRENCY and
 * COGTILER_FANOUT_JOBS. 0, or CT_ECONFIG /
 * CT_ENOMEM with msg naming the variable. */
int config_apply_env(struct config *c, char *msg, size_t msgcap);

/* NULL-safe. */
void config_free(struct config *c);

/* The layer called name[0..n), or NULL. */
const struct layer_conf *config_find(const struct config *c, const char *name, size_t n);

#endif
