/* params.h - the query parameters of the routes (TiTiler's names), parsed and
 * validated into plain structs before any I/O: every 400 a request can earn
 * is decided here. Pure: no GDAL, no allocation; strings in a result point
 * into the request they came from. */
#ifndef COGTILER_PARAMS_H
#define COGTILER_PARAMS_H

#include <stddef.h>

#include "algo.h"
#include "colormap.h"
#include "config.h"
#include "custom.h"
#include "http.h"
#include "imgfmt.h"
#include "overlay.h"
#include "raster.h"
#include "zonal.h"

/* How a tile is rendered. */
struct tile_params {
    int size;                         /* 256 or 512 pixels */
    const struct colormap *cmap;      /* colormap_name= or the layer's default; NULL: the
                                         raster's palette, else gray */
    int has_custom;                   /* colormap= given: custom holds it */
    struct custom_cmap custom;
    int nrescale;                     /* 0, 1 (every band) or 3 (one per band) ranges */
    double rmin[3], rmax[3];
    int nbands;                       /* bidx=: 0 (every data band), 1 or 3 */
    int bands[3];                     /* 1-based */
    int has_nodata;                   /* nodata= replaces the source's nodata and masks */
    double nodata;                    /* may be NaN */
    const char *resampling;           /* a gdalwarp -r name; NULL: nearest */
    enum algo_kind algorithm;         /* ALGO_NONE, or terrain from band 1 (or bidx) */
    struct algo_params algo;
    enum img_format format;           /* the route's extension (params_tile leaves IMG_PNG) */
    int quality;                      /* quality=1..100 (lossy WebP, JPEG), or 0 */
};

/* Reads every rendering parameter of req into *out: tilesize, colormap_name,
 * colormap, rescale (repeatable), bidx, nodata, resampling, algorithm,
 * algorithm_params and quality. defaults (may be NULL) gives the layer's colormap and
 * rescale when the request has none; scale is 2 for an "@2x" path. Unknown
 * parameters are ignored. Returns 0, or CT_EINVAL with a message naming the
 * parameter. *out is complete only on 0. */
int params_tile(const struct request *req, const struct layer_conf *defaults, int scale,
                struct tile_params *out, char *msg, size_t msgcap);

/* The checks that need the source's shape, made after it is opened and before
 * any pixel is read: bidx bands that exist (alpha counted), rescale ranges
 * that fit the bands rendered (1 for one band, 1 or 3 for RGB), an algorithm
 * on one band, no algorithm for a GeoTIFF tile (its values are the source's).
 * 0, or CT_EINVAL with a message. */
int params_check(const struct tile_params *p, const struct raster_info *in, char *msg,
                 size_t msgcap);

/* For the "/cog/" routes: the url= parameter, which must be present and not
 * empty. 0 and *url (pointing into req), or CT_EINVAL with a message. */
int params_url(const struct request *req, const char **url, char *msg, size_t msgcap);

#define PARAMS_MAX_BANDS 64
#define PARAMS_MAX_CLASSES 256
#define PARAMS_MAX_PERCENTILES 32
#define PARAMS_MAX_PARTS 1024 /* FANOUT_MAX_PARTS */

/* How statistics are computed (docs/ZONAL.md). */
struct stats_params {
    enum zonal_coverage coverage;  /* coverage=center|all_touched|exact */
    int nbands;                    /* bidx=1,2,... (0: every data band) */
    int bands[PARAMS_MAX_BANDS];
    int has_nodata;                /* nodata= */
    double nodata;
    int categorical;               /* categorical=true|false */
    int nclasses;                  /* c=1,2,... (repeatable) */
    double classes[PARAMS_MAX_CLASSES];
    int np;                        /* p=2,98 (repeatable; default 2 and 98) */
    double p[PARAMS_MAX_PERCENTILES];
    int histogram_bins;            /* 1..1000, default 10 */
    int has_range;                 /* histogram_range=MIN,MAX (MIN < MAX) */
    double range_min, range_max;
    int max_size;                  /* max_size=N: read an overview whose window fits N^2 (0: no) */
    int parts;                     /* parts=N: fan out in N parts (0: as configured) */
};

/* Reads the statistics parameters of req. 0, or CT_EINVAL naming the parameter. */
int params_stats(const struct request *req, struct stats_params *out, char *msg, size_t msgcap);

/* bidx bands that exist, checked against the opened source. 0 or CT_EINVAL. */
int params_stats_check(const struct stats_params *p, const struct raster_info *in, char *msg,
                       size_t msgcap);

/* Value parsers, exposed for the table tests and the fuzzer. */

/* "MIN,MAX": two finite decimal numbers, MIN < MAX. 0 or CT_EINVAL. */
int params_range(const char *s, double *min, double *max);

/* "B" or "B1,B2,B3": 1-based band numbers 1..65535, one or three. 0 or CT_EINVAL. */
int params_bidx(const char *s, int bands[3], int *n);

/* A finite decimal number, or "nan" (any case). 0 or CT_EINVAL. */
int params_number(const char *s, double *out);


/* What derived layers and band math take from the query (docs/OVERLAY.md). */
struct derive_params {
    const char *expression;           /* expression=, or NULL (points into the request) */
    size_t expression_len;
    int has_weights;                  /* weights=W1,W2,...: one per input, summing to 100 */
    double weights[OVERLAY_MAX_INPUTS];
    unsigned remapped;                /* bit i: remap[i] replaces input i's remap */
    struct remap remap[OVERLAY_MAX_INPUTS];
};

/* Reads expression=, weights= and remap=INPUT:RULES (repeatable) of req for
 * layer l: weights and remap only for a derived layer's weighted overlay
 * (each checked: count, range, sum; the input named, the rules and their
 * targets on the scale). The expression is compiled later (expr.h). 0, or
 * CT_EINVAL naming the parameter. */
int params_derive(const struct request *req, const struct layer_conf *l,
                  struct derive_params *out, char *msg, size_t msgcap);

#endif
