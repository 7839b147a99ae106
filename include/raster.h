/* raster.h - opening datasets and reading tile windows warped to EPSG:3857.
 * The only module that includes GDAL. Handles are not thread-safe. */
#ifndef COGTILER_RASTER_H
#define COGTILER_RASTER_H

#include <stddef.h>
#include <stdint.h>

#include "tilemath.h"

struct raster;

struct raster_info {
    int width, height;
    int nbands;          /* data bands (a trailing alpha band is not counted) */
    int is_byte;         /* every data band is GDT_Byte */
    int has_palette;     /* band 1 carries a colour table */
    int has_alpha;       /* the dataset has an alpha band */
    int noverviews;      /* of band 1 */
    int has_nodata;
    double nodata;
    struct bbox lonlat;  /* data extent in degrees; minx > maxx when it crosses 180 */
    double merc_res;     /* approximate pixel size in EPSG:3857 metres */
    char dtype[16];      /* GDAL's name of band 1's type, e.g. "UInt16" */
    char crs[64];        /* "EPSG:32618", or the CRS's name */
    int ovr_width[16], ovr_height[16]; /* of the first 16 overviews of band 1 */
};

/* A tile read: band-sequential values plus a validity mask, both size x size. */
struct raster_tile {
    int size;
    int nbands;
    int is_byte;         /* data is uint8_t when set, double otherwise */
    void *data;
    uint8_t *mask;       /* 0 = no data (transparent), 255 = valid */
};

/* Process-wide GDAL set-up: drivers, quiet error handler, option defaults.
 * Call once before any other raster_ function. */
void raster_global_init(void);
void raster_global_cleanup(void);

/* How to open a source. All zero (or a NULL pointer): a trusted, configured source. */
struct raster_open_opts {
    /* An untrusted (url=) source: GDAL may read it as a GeoTIFF only (no VRT,
     * no other driver, no sidecar file), and a failure to open names what it
     * is when GDAL can tell (a VRT, another format: CT_EFORBIDDEN). */
    int untrusted;
    int requester_pays; /* /vsis3/: AWS_REQUEST_PAYER=requester for this object */
    int unsigned_s3;    /* /vsis3/: AWS_NO_SIGN_REQUEST=YES for this object */
};

/* Opens source (a path or GDAL name). Returns 0 and *out, or: CT_ENOTFOUND
 * (the source's server has no such object), CT_EDENIED (it refused access),
 * CT_ETIMEOUT (it did not answer in time), CT_ESOURCE (any other failure to
 * open: missing, truncated or corrupt, not a raster), CT_EFORBIDDEN (the url=
 * gate refused a request, or an untrusted source is not a GeoTIFF),
 * CT_EUNSUPPORTED (no geotransform, no CRS, not an Earth CRS); with a message
 * in msg that names no location in GDAL's own code. Close with
 * raster_close(), which also forgets GDAL's cached bytes of a remote source,
 * so that reopening it picks up a replaced object. */
int raster_open(const char *source, const struct raster_open_opts *opts, struct raster **out,
                char *msg, size_t msgcap);

/* NULL-safe. */
void raster_close(struct raster *r);

const struct raster_info *raster_get_info(const struct raster *r);

/* True when the lon/lat box ll overlaps the data extent (antimeridian aware). */
int raster_intersects(const struct raster *r, const struct bbox *ll);

/* What a read takes besides the window. Zero-initialised means: nearest, all
 * data bands, the source's own nodata and masks, no deadline. */
struct raster_read_opts {
    const char *resampling; /* NULL or "near"; or a gdalwarp -r name (bilinear, cubic, ...) */
    int nbands;             /* 0: every data band; else read bands[0..nbands) */
    int bands[3];           /* 1-based band numbers, each <= the dataset's band count */
    int has_nodata;         /* replace the source's nodata and masks by this value */
    double nodata;
    long long deadline_ms;  /* epoch ms at which GDAL is asked to stop (CT_ETIMEOUT); 0 = never */
    int as_double;          /* deliver doubles even for Byte bands */
};

/* Reads the EPSG:3857 window merc at size x size pixels (GDAL picks the
 * overview). Returns 0 and fills *out (free with raster_tile_free), or a
 * negative ct_err with a message in msg: CT_EINVAL for a band that does not
 * exist, CT_ETIMEOUT when the deadline passed, CT_ESOURCE when GDAL fails. */
int raster_read(struct raster *r, const struct bbox *merc, int size,
                const struct raster_read_opts *o, struct raster_tile *out, char *msg,
                size_t msgcap);

/* The number of bands of the dataset, alpha included (for bidx= checks). */
int raster_band_count(const struct raster *r);

/* True when band (1-based, existing) holds Byte data. */
int raster_is_byte_band(const struct raster *r, int band);

/* The data band values at lon/lat (degrees): fills values[0..*n) (n <= max,
 * the data bands) and *valid (0 where nodata/masked). 0, CT_EOUTSIDE when the
 * point is off the raster, CT_ESOURCE when it cannot be read. */
int raster_point(struct raster *r, double lon, double lat, double *values, int max, int *n,
                 int *valid, char *msg, size_t msgcap);

/* NULL-safe; frees the buffers of t, not t itself. */
void raster_tile_free(struct raster_tile *t);

/* A value range for band (1-based) from stored statistics or, failing that,
 * approximate statistics (overviews or sampled blocks, never a full scan).
 * Cached in r per band. 0, CT_EINVAL for a band that is not a data band, or
 * CT_ESOURCE. */
int raster_range(struct raster *r, int band, double *min, double *max);

/* Copies band 1's colour table as RGBA into rgba (up to 256 entries) and sets
 * *n. 0, or CT_EINVAL when there is none. */
int raster_palette(const struct raster *r, uint8_t rgba[256][4], int *n);

#endif
