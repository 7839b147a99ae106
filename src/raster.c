/* raster.c - GDAL behind a narrow interface: open, describe, warp one tile. */
#include "raster.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <ogr_srs_api.h>

#include "err.h"

/* Earth ellipsoids have semi-major axes of 6377-6379 km; anything far from that
 * (Mars, Europa, the Moon) must not be drawn on a Web Mercator map of the Earth. */
#define EARTH_A_MIN 6.30e6
#define EARTH_A_MAX 6.45e6

struct raster {
    GDALDatasetH ds;
    struct raster_info info;
    int range_known;
    double range_min, range_max;
    char *wkt3857;
};

void raster_global_init(void)
{
    GDALAllRegister();
    /* Never write .aux.xml next to a source (read-only buckets, test fixtures). */
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
    /* Errors reach the caller through CPLGetLastErrorMsg(), not stderr. */
    CPLSetErrorHandler(CPLQuietErrorHandler);
}

void raster_global_cleanup(void)
{
    GDALDestroyDriverManager();
    OSRCleanup();
}

static void set_msg(char *msg, size_t cap, const char *prefix)
{
    if (!msg || cap == 0)
        return;
    const char *gdal = CPLGetLastErrorMsg();
    if (gdal && *gdal)
        snprintf(msg, cap, "%s: %s", prefix, gdal);
    else
        snprintf(msg, cap, "%s", prefix);
}

/* Extent of the dataset in lon/lat, from its (possibly rotated) geotransform. */
static int compute_lonlat(GDALDatasetH ds, OGRSpatialReferenceH srs, struct bbox *out)
{
    double gt[6];
    if (GDALGetGeoTransform(ds, gt) != CE_None)
        return CT_EUNSUPPORTED;
    double w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    double cx[4] = { 0, w, 0, w }, cy[4] = { 0, 0, h, h };
    double minx = HUGE_VAL, miny = HUGE_VAL, maxx = -HUGE_VAL, maxy = -HUGE_VAL;
    for (int i = 0; i < 4; i++) {
        double x = gt[0] + cx[i] * gt[1] + cy[i] * gt[2];
        double y = gt[3] + cx[i] * gt[4] + cy[i] * gt[5];
        minx = fmin(minx, x);
        maxx = fmax(maxx, x);
        miny = fmin(miny, y);
        maxy = fmax(maxy, y);
    }

    int err = CT_EUNSUPPORTED;
    OGRSpatialReferenceH wgs84 = OSRNewSpatialReference(NULL);
    OGRCoordinateTransformationH ct = NULL;
    if (!wgs84 || OSRImportFromEPSG(wgs84, 4326) != OGRERR_NONE)
        goto out;
    OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    ct = OCTNewCoordinateTransformation(srs, wgs84);
    if (!ct)
        goto out;
    /* Densified edges; for a geographic target GDAL reports a crossing of the
     * antimeridian as minx > maxx. */
    if (!OCTTransformBounds(ct, minx, miny, maxx, maxy, &out->minx, &out->miny, &out->maxx,
                            &out->maxy, 21))
        goto out;
    /* A geographic source wider than the world (e.g. -180.12..179.88) covers all longitudes. */
    if (OSRIsGeographic(srs) && maxx - minx >= 359.999) {
        out->minx = -180.0;
        out->maxx = 180.0;
    }
    out->miny = fmax(out->miny, -90.0);
    out->maxy = fmin(out->maxy, 90.0);
    err = CT_OK;
out:
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(wgs84);
    return err;
}

int raster_open(const char *source, struct raster **out, char *msg, size_t msgcap)
{
    struct raster *r = NULL;
    OGRSpatialReferenceH srs = NULL;
    OGRSpatialReferenceH merc = NULL;
    int err;

    CPLErrorReset();
    r = calloc(1, sizeof *r);
    if (!r) {
        err = CT_ENOMEM;
        set_msg(msg, msgcap, "out of memory");
        goto error;
    }
    r->ds = GDALOpenEx(source, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!r->ds) {
        err = CT_ESOURCE;
        set_msg(msg, msgcap, "cannot open source");
        goto error;
    }
    int nb = GDALGetRasterCount(r->ds);
    if (nb < 1) {
        err = CT_EUNSUPPORTED;
        set_msg(msg, msgcap, "source has no raster band");
        goto error;
    }
    double gt[6];
    if (GDALGetGeoTransform(r->ds, gt) != CE_None) {
        err = CT_EUNSUPPORTED;
        snprintf(msg, msgcap, "source has no geotransform (GCP-only or not georeferenced)");
        goto error;
    }
    const OGRSpatialReferenceH dsrs = GDALGetSpatialRef(r->ds);
    if (!dsrs) {
        err = CT_EUNSUPPORTED;
        snprintf(msg, msgcap, "source has no coordinate reference system");
        goto error;
    }
    srs = OSRClone(dsrs);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    OGRErr oe = OGRERR_NONE;
    double a = OSRGetSemiMajor(srs, &oe);
    if (oe != OGRERR_NONE || a < EARTH_A_MIN || a > EARTH_A_MAX) {
        err = CT_EUNSUPPORTED;
        snprintf(msg, msgcap, "source CRS is not on the Earth (semi-major axis %.0f m)", a);
        goto error;
    }

    struct raster_info *in = &r->info;
    in->width = GDALGetRasterXSize(r->ds);
    in->height = GDALGetRasterYSize(r->ds);
    GDALRasterBandH last = GDALGetRasterBand(r->ds, nb);
    in->has_alpha = nb > 1 && GDALGetRasterColorInterpretation(last) == GCI_AlphaBand;
    in->nbands = in->has_alpha ? nb - 1 : nb;
    in->is_byte = 1;
    for (int i = 1; i <= in->nbands; i++)
        if (GDALGetRasterDataType(GDALGetRasterBand(r->ds, i)) != GDT_Byte)
            in->is_byte = 0;
    GDALRasterBandH b1 = GDALGetRasterBand(r->ds, 1);
    in->has_palette = in->nbands == 1 && GDALGetRasterColorTable(b1) != NULL;
    in->noverviews = GDALGetOverviewCount(b1);
    in->nodata = GDALGetRasterNoDataValue(b1, &in->has_nodata);

    err = compute_lonlat(r->ds, srs, &in->lonlat);
    if (err) {
        set_msg(msg, msgcap, "cannot transform the source extent to longitude/latitude");
        goto error;
    }

    merc = OSRNewSpatialReference(NULL);
    if (!merc || OSRImportFromEPSG(merc, 3857) != OGRERR_NONE ||
        OSRExportToWkt(merc, &r->wkt3857) != OGRERR_NONE) {
        err = CT_EINTERNAL;
        set_msg(msg, msgcap, "cannot build EPSG:3857");
        goto error;
    }
    OSRDestroySpatialReference(merc);
    OSRDestroySpatialReference(srs);
    *out = r;
    return CT_OK;

error:
    OSRDestroySpatialReference(merc);
    OSRDestroySpatialReference(srs);
    raster_close(r);
    return err;
}

void raster_close(struct raster *r)
{
    if (!r)
        return;
    if (r->ds)
        GDALClose(r->ds);
    CPLFree(r->wkt3857);
    free(r);
}

const struct raster_info *raster_get_info(const struct raster *r)
{
    return &r->info;
}

int raster_intersects(const struct raster *r, const struct bbox *ll)
{
    const struct bbox *d = &r->info.lonlat;
    if (!(ll->maxy > d->miny && ll->miny < d->maxy))
        return 0;
    if (d->minx <= d->maxx)
        return ll->maxx > d->minx && ll->minx < d->maxx;
    /* Crosses the antimeridian: [minx, 180] and [-180, maxx]. */
    return ll->maxx > d->minx || ll->minx < d->maxx;
}

void raster_tile_free(struct raster_tile *t)
{
    if (!t)
        return;
    free(t->data);
    free(t->mask);
    t->data = NULL;
    t->mask = NULL;
}

/* Adds a MEM band whose pixels live in buf, so the warp writes straight into it. */
static int add_mem_band(GDALDatasetH mem, GDALDataType type, void *buf)
{
    char ptr[64];
    snprintf(ptr, sizeof ptr, "DATAPOINTER=%p", buf);
    char *opts[] = { ptr, NULL };
    return GDALAddBand(mem, type, opts) == CE_None ? CT_OK : CT_EINTERNAL;
}

int raster_read(struct raster *r, const struct bbox *merc, int size, const char *resampling,
                struct raster_tile *out, char *msg, size_t msgcap)
{
    GDALDatasetH mem = NULL;
    GDALWarpAppOptions *wopts = NULL;
    int err = CT_OK;
    memset(out, 0, sizeof *out);

    if (size < 1 || size > 4096) {
        snprintf(msg, msgcap, "tile size out of range");
        return CT_EINVAL;
    }
    const int nb = r->info.nbands;
    const size_t px = (size_t)size * (size_t)size;
    const size_t bpp = r->info.is_byte ? 1 : sizeof(double);
    /* nb <= INT_MAX and px <= 2^24, so only the product with bpp can overflow. */
    if ((size_t)nb > SIZE_MAX / bpp / px) {
        snprintf(msg, msgcap, "tile buffer too large");
        return CT_ETOOBIG;
    }
    out->size = size;
    out->nbands = nb;
    out->is_byte = r->info.is_byte;
    out->data = calloc((size_t)nb * px, bpp);
    out->mask = calloc(px, 1);
    if (!out->data || !out->mask) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }

    GDALDriverH drv = GDALGetDriverByName("MEM");
    mem = drv ? GDALCreate(drv, "", size, size, 0, GDT_Byte, NULL) : NULL;
    if (!mem) {
        err = CT_EINTERNAL;
        set_msg(msg, msgcap, "cannot create the tile buffer");
        goto out;
    }
    GDALDataType dt = r->info.is_byte ? GDT_Byte : GDT_Float64;
    for (int i = 0; i < nb && !err; i++)
        err = add_mem_band(mem, dt, (unsigned char *)out->data + (size_t)i * px * bpp);
    if (!err)
        err = add_mem_band(mem, GDT_Byte, out->mask);
    if (err) {
        set_msg(msg, msgcap, "cannot create the tile buffer");
        goto out;
    }
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, nb + 1), GCI_AlphaBand);
    double res_x = (merc->maxx - merc->minx) / size, res_y = (merc->maxy - merc->miny) / size;
    double gt[6] = { merc->minx, res_x, 0, merc->maxy, 0, -res_y };
    GDALSetGeoTransform(mem, gt);
    GDALSetProjection(mem, r->wkt3857);

    /* The same defaults as `gdalwarp -r near -dstalpha` (overview AUTO, error
     * threshold 0.125 px), which the differential tests use as reference. */
    char *argv[] = { "-r", (char *)(resampling ? resampling : "near"), "-dstalpha", NULL };
    wopts = GDALWarpAppOptionsNew(argv, NULL);
    if (!wopts) {
        err = CT_EINVAL;
        set_msg(msg, msgcap, "bad warp options");
        goto out;
    }
    CPLErrorReset();
    int usage = 0;
    GDALDatasetH src = r->ds;
    GDALDatasetH res = GDALWarp(NULL, mem, 1, &src, wopts, &usage);
    /* Only a failed warp counts: GDAL also reports points it cannot project
     * (beyond Mercator's latitude limit) as errors while the tile is fine. */
    if (!res) {
        err = CT_ESOURCE;
        set_msg(msg, msgcap, "cannot read the source");
        goto out;
    }

out:
    GDALWarpAppOptionsFree(wopts);
    if (mem)
        GDALClose(mem);
    if (err)
        raster_tile_free(out);
    return err;
}

int raster_range(struct raster *r, int band, double *min, double *max)
{
    if (band == 1 && r->range_known) {
        *min = r->range_min;
        *max = r->range_max;
        return CT_OK;
    }
    if (band < 1 || band > r->info.nbands)
        return CT_EINVAL;
    GDALRasterBandH b = GDALGetRasterBand(r->ds, band);
    double mn, mx, mean, sd;
    CPLErrorReset();
    /* Stored statistics first (bForce = FALSE reads only metadata). */
    if (GDALGetRasterStatistics(b, TRUE, FALSE, &mn, &mx, &mean, &sd) != CE_None) {
        CPLErrorReset();
        /* bApproxOK: GDAL uses an overview, or samples blocks when there is none. */
        if (GDALComputeRasterStatistics(b, TRUE, &mn, &mx, &mean, &sd, NULL, NULL) != CE_None)
            return CT_ESOURCE;
    }
    if (!isfinite(mn) || !isfinite(mx))
        return CT_ESOURCE;
    if (!(mx > mn))
        mx = mn + 1.0;
    if (band == 1) {
        r->range_known = 1;
        r->range_min = mn;
        r->range_max = mx;
    }
    *min = mn;
    *max = mx;
    return CT_OK;
}

int raster_palette(const struct raster *r, uint8_t rgba[256][4], int *n)
{
    GDALColorTableH ct = GDALGetRasterColorTable(GDALGetRasterBand(r->ds, 1));
    if (!ct)
        return CT_EINVAL;
    int count = GDALGetColorEntryCount(ct);
    if (count > 256)
        count = 256;
    for (int i = 0; i < count; i++) {
        GDALColorEntry e;
        GDALGetColorEntryAsRGB(ct, i, &e);
        rgba[i][0] = (uint8_t)e.c1;
        rgba[i][1] = (uint8_t)e.c2;
        rgba[i][2] = (uint8_t)e.c3;
        rgba[i][3] = (uint8_t)e.c4;
    }
    *n = count;
    return CT_OK;
}
