/* raster.h - opening datasets and reading tile windows warped to EPSG:3857.
 * The only module that includes GDAL. Handles are not thread-safe. */
#ifndef COGTILER_RASTER_H
#define COGTILER_RASTER_H

#include <stddef.h>
#include <stdint.h>

#include "geom.h"
#include "pngenc.h"
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
    int gcps;            /* the GCPs that place a GCP-referenced source; 0: a geotransform */
    const char *gcp_method; /* "polynomial" or "tps" when gcps > 0, else NULL */
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
    /* A source placed by GCPs (no geotransform) is warped as gdalwarp warps it:
     * a polynomial of the order GDAL chooses from the GCP count, or of
     * gcp_order (1..3); gcp_tps: a thin plate spline instead (gdalwarp -tps).
     * Ignored for a source with a geotransform. */
    int gcp_tps;
    int gcp_order;
};

/* Opens source (a path or GDAL name), placed on the Earth by its geotransform
 * or, failing that, by its GCPs (docs/ARCHITECTURE.md, "GCP-referenced
 * sources"). Returns 0 and *out, or: CT_ENOTFOUND
 * (the source's server has no such object), CT_EDENIED (it refused access),
 * CT_ETIMEOUT (it did not answer in time), CT_ESOURCE (any other failure to
 * open: missing, truncated or corrupt, not a raster), CT_EFORBIDDEN (the url=
 * gate refused a request, or an untrusted source is not a GeoTIFF),
 * CT_EUNSUPPORTED (neither a geotransform nor GCPs, GCPs that define no
 * transformation, no CRS, not an Earth CRS); with a message
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

/* Writes tile t, read from r's bands[0..t->nbands) (NULL: 1..nbands) for the
 * EPSG:3857 window merc, as a GeoTIFF of its values (GDAL's GTiff driver,
 * DEFLATE): the type the source stores (the union of the bands'), the
 * window's geotransform and EPSG:3857, masked cells set to nodata when
 * has_nodata, the type holds it and no valid cell does, else an internal
 * per-dataset mask (none when every cell is valid). r NULL:
 * a derived band, Float32 with NaN as nodata unless has_nodata. 0 and *out
 * (free with pngbuf_free), or CT_ENOMEM / CT_EINTERNAL with a message. */
int raster_geotiff(const struct raster *r, const int *bands, const struct raster_tile *t,
                   const struct bbox *merc, int has_nodata, double nodata,
                   struct pngbuf *out, char *msg, size_t msgcap);

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

/* --- zonal reads (docs/ZONAL.md): the source's own cells, no resampling ------------- */

/* A rectangle of cells of a zone's grid. */
struct raster_window {
    int x, y, w, h;
};

/* Polygons in the source's CRS and on one of its grids (full resolution or an
 * overview level). */
struct raster_zone;

/* The polygons polys[0..n) (longitude/latitude) on r's grid at overview level
 * ovr (-1: full resolution): edges split into pieces of at most 0.01 degree
 * first when the source's CRS is projected, positions transformed to the
 * source's CRS, then to cell coordinates. Returns 0 and *out (free with
 * raster_zone_free; it uses r, which must outlive it); CT_EOUTSIDE when the
 * polygons' bounding box misses the raster; CT_EINVAL when a position cannot
 * be transformed (msg says so) or ovr does not exist; CT_ENOMEM. */
int raster_zone_new(struct raster *r, const struct polygon *polys, size_t n, int ovr,
                    struct raster_zone **out, char *msg, size_t msgcap);

/* NULL-safe. */
void raster_zone_free(struct raster_zone *z);

/* The cells the polygons' bounding box covers, clipped to the grid. */
const struct raster_window *raster_zone_window(const struct raster_zone *z);

/* The polygons in cell coordinates of the zone's grid (x: column, y: row, cell
 * (c, r) spanning [c, c + 1) x [r, r + 1)); *n of them. Owned by z. */
const struct polygon *raster_zone_cells(const struct raster_zone *z, size_t *n);

/* The grid's internal block size (band 1). */
void raster_zone_blocks(const struct raster_zone *z, int *bw, int *bh);

/* The grid's size (width x height cells) and overview level (-1: full resolution). */
void raster_zone_grid(const struct raster_zone *z, int *width, int *height, int *level);

/* mask[win->w * win->h]: 1 for the cells of win that GDAL's rasterizer burns
 * for the polygons (their centre inside, or with all_touched every cell they
 * touch: gdal_rasterize [-at]), 0 for the others. 0, or CT_EINTERNAL. */
int raster_zone_mask(struct raster_zone *z, const struct raster_window *win, int all_touched,
                     uint8_t *mask, char *msg, size_t msgcap);

/* Band band's values of win as doubles (v[win->w * win->h]) and their
 * validity (valid[]: 0 for nodata, NaN and masked cells); nodata (NULL: the
 * band's own nodata and mask) replaces the source's nodata and masks. 0,
 * CT_EINVAL (no such band), or the source's fault with msg. */
int raster_zone_read(struct raster_zone *z, int band, const struct raster_window *win,
                     const double *nodata, double *v, uint8_t *valid, char *msg, size_t msgcap);

/* Drops the blocks GDAL keeps in its cache for the zone's grid. */
void raster_zone_forget(struct raster_zone *z);

/* The area in square metres of a cell in row row of the zone's grid: the
 * geodesic area on the source's ellipsoid for a geographic CRS (the same for
 * every cell of a row; the quadrangle between its parallels and meridians),
 * the cell's width times height in metres for a projected one (every cell). */
double raster_zone_cell_area(const struct raster_zone *z, int row);

/* True when cells of different rows have different areas (a geographic CRS). */
int raster_zone_area_by_row(const struct raster_zone *z);

/* Another raster's band warped onto the zone's grid (`gdalwarp -r resampling
 * -dstalpha` to the grid's CRS and cells, overview AUTO): the cells of win
 * plus pad cells around it, (win->w + 2 pad) x (win->h + 2 pad) values into v
 * and validity into valid (0 where src has no data or does not reach). For
 * the inputs of derived layers (docs/OVERLAY.md). 0, CT_EINVAL (no such band),
 * CT_ETIMEOUT, or the source's fault with msg. */
int raster_zone_warp(struct raster_zone *z, struct raster *src, int band,
                     const struct raster_window *win, int pad, const char *resampling,
                     long long deadline_ms, double *v, uint8_t *valid, char *msg, size_t msgcap);

/* gdaldem's view of the zone's grid: the geotransform's pixel size and the
 * ratio of metres to one horizontal unit (-s: 111120 for degrees, as gdaldem
 * documents; the unit's metres for a projected CRS). */
void raster_zone_terrain(const struct raster_zone *z, double *ewres, double *nsres,
                         double *scale);

#endif
