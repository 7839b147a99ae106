/* raster.c - GDAL behind a narrow interface: open, describe, warp one tile. */
#include "raster.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <cpl_vsi_error.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <gdal_utils.h>
#include <gdalwarper.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "err.h"
#include "gate.h"
#include "http.h"

/* Earth ellipsoids have semi-major axes of 6377-6379 km; anything far from that
 * (Mars, Europa, the Moon) must not be drawn on a Web Mercator map of the Earth. */
#define EARTH_A_MIN 6.30e6
#define EARTH_A_MAX 6.45e6
/* Sources with more bands take the warp path (keeps the direct path's arrays small). */
#define DIRECT_MAX_BANDS 16
/* Overview levels the warp path keeps open datasets for. */
#define RASTER_MAX_OVR 16
/* Tile warps a handle keeps ready (struct warp_op), and the EPSG:3857 tile
 * buffers they write into (struct warp_dst): one per overview level,
 * resampling and layout used lately; one per tile layout, as a layer's
 * handle may serve a tile (256 px), its hillshade (260: TILE_PAD) and a
 * derived layer's slope input (258) in turn. Each buffer is at most
 * WARP_DST_MAX_BYTES, 0.6 MB for a 260 px Float64 band. */
#define RASTER_MAX_OPS 8
#define RASTER_MAX_DSTS 4
/* Band-subset / nodata VRTs a handle keeps (struct kept_vrt). */
#define RASTER_MAX_VRTS 4
/* A kept tile buffer is at most this many bytes; larger reads warp as before. */
#define WARP_DST_MAX_BYTES (8u << 20)
/* The approximate transformer's error bound for GCP-referenced sources, in
 * pixels (gdalwarp -et; GDAL's default, 0.125, elsewhere). Measured on
 * cog_gcps.tif (Sentinel-1 speckle, where a shift of a fraction of a pixel
 * changes values): at 0.125 a 512 px tile and its four 256 px quarters
 * differ by 1.06 grey levels on average along the quarters' seams and 0.64
 * inside; at 0.01 by 0.001 at both, for 1.7 ms a tile instead of 1.6 (thin
 * plate spline: 11.3 ms instead of 8.9). */
#define GCP_MAX_ERROR 0.01
/* Bytes of a remote file GDAL reads in its first GET (GDAL_INGESTED_BYTES_AT_OPEN). */
#define HEADER_BYTES 32768
#define STR_(x) #x
#define STR(x) STR_(x)

/* A MEM dataset in EPSG:3857 over buf: nb data bands of dt, then the alpha
 * band, size x size pixels each, band after band. Its geotransform is set per
 * tile; the warp writes here and the tile is copied out. */
struct warp_dst {
    GDALDatasetH mem; /* NULL: a free slot */
    void *buf;
    int size, nb;
    GDALDataType dt;
    unsigned long long used;
};

/* A warp from one source dataset into one warp_dst, built once the way
 * `gdalwarp -r ALG -dstalpha` builds it (see warp_op_new) and run per tile
 * with the tile's geotransform: the transformer (PROJ's coordinate operation)
 * and GDAL's warp operation are not made again for every tile. */
struct warp_op {
    GDALWarpOperationH op; /* NULL: a free slot */
    GDALDatasetH src;      /* r->ds or r->ovr_ds[i]: not owned */
    struct warp_dst *dst;
    GDALResampleAlg alg;
    void *gen;             /* the GenImgProj transformer, owned by approx */
    void *approx;
    long long deadline;    /* the progress callback's argument, set per tile */
    unsigned long long used;
};

/* A subset_vrt() of the handle's source, kept for the reads that ask the
 * same bands and nodata (bidx=, expression inputs, nodata=). */
struct kept_vrt {
    GDALDatasetH ds; /* NULL: a free slot */
    int nbands, bands[3], has_nodata;
    double nodata;
    unsigned long long used;
};

struct raster {
    GDALDatasetH ds;
    struct raster_info info;
    int direct;          /* EPSG:3857, north-up: read windows without warping */
    double gt[6];
    int mask_flags;      /* of band 1 */
    OGRSpatialReferenceH srs; /* the source's, traditional GIS axis order */
    OGRCoordinateTransformationH from_lonlat; /* EPSG:4326 -> the source's CRS */
    double (*range)[2];  /* per data band, valid where range_known[band - 1] */
    unsigned char *range_known;
    char *source;        /* GDAL's name, to forget its cached bytes at close */
    int untrusted;       /* a url= source: the GTiff driver only */
    /* The source opened at one overview level (OVERVIEW_LEVEL=i), opened on
     * first use and kept: the warp reads through it instead of letting GDALWarp
     * wrap and close an overview dataset per tile, which drops the level's
     * cached blocks (and for remote sources fetches them again). */
    GDALDatasetH ovr_ds[RASTER_MAX_OVR];
    /* The source is reprojected (its CRS is not EPSG:3857 as GDAL's
     * transformer compares them, or GCPs place it) and has no RPC metadata:
     * the condition for keeping warp_ops, decided at open. */
    int keep_warps;
    void *ovr_tr;        /* r->ds -> EPSG:3857 transformer of the overview choice */
    struct warp_dst dsts[RASTER_MAX_DSTS];
    struct warp_op ops[RASTER_MAX_OPS];
    struct kept_vrt vrts[RASTER_MAX_VRTS];
    unsigned long long ticks; /* for the least recently used op and dst */
    /* A GCP-referenced source (no geotransform; r->gt unused): */
    char **tr_opts;      /* its GenImgProj transformer options (SRC_METHOD, MAX_GCP_ORDER),
                            gdalwarp's -tps / -order N as they reach GDAL */
    void *px_lonlat;     /* source pixels <-> lon/lat (EPSG:4326) */
    double px_deg;       /* a source pixel's approximate size in degrees */
    /* the grids zones are computed on, made on first use: [0] the source,
     * [i + 1] overview level i, warped into the GCPs' CRS (gcp_grid) */
    GDALDatasetH grid[RASTER_MAX_OVR + 1];
};

static void warp_op_free(struct warp_op *w);
static void warp_dst_free(struct raster *r, struct warp_dst *d);

/* Remote reads (/vsicurl/, /vsis3/), set once; each can be overridden from the
 * environment under the same name. Measured with nginx's access log (make
 * bench, docs/ARCHITECTURE.md): unconfigured, opening a COG over HTTP costs a
 * directory listing and ~34 HEAD requests for sidecar files. */
static const char *const remote_defaults[][2] = {
    /* (GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR is set for /vsicurl/ and /vsis3/
     * paths only, in raster_global_init: local files keep their sidecars.) */
    /* Only these names exist remotely as far as GDAL is concerned: the sidecar
     * probes GDAL makes beyond the directory listing (the ~30 metadata files
     * such as .IMD, .RPB, _MTL.txt that an overview level's first use looks
     * for) are answered "absent" without a request. Other raster formats need
     * this variable set in the environment. */
    { "CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".tif,.tiff,.vrt,{noext}" },
    /* The first GET reads 32 KB: the whole header (IFDs, tile offsets and byte
     * counts) of typical COGs in one request. */
    { "GDAL_INGESTED_BYTES_AT_OPEN", STR(HEADER_BYTES) },
    /* Adjacent blocks of one read in one ranged GET. */
    { "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES", "YES" },
    /* GDAL's cache of downloaded ranges (shared by all files) and its block
     * cache, bounded for a 512 MB Lambda. */
    { "CPL_VSIL_CURL_CACHE_SIZE", "33554432" },
    { "GDAL_CACHEMAX", "64" },
    /* Time limits that leave an answer possible within API Gateway's 29 s:
     * 2 s to connect, 5 s per request, give up on a stalled transfer after
     * 3 s; 2 retries (429 and 5xx) after 0.5 s and about 1 s. At worst about
     * 17 s per read. */
    { "GDAL_HTTP_CONNECTTIMEOUT", "2" },
    { "GDAL_HTTP_TIMEOUT", "5" },
    { "GDAL_HTTP_LOW_SPEED_TIME", "3" },
    { "GDAL_HTTP_LOW_SPEED_LIMIT", "1" },
    { "GDAL_HTTP_MAX_RETRY", "2" },
    { "GDAL_HTTP_RETRY_DELAY", "0.5" },
    { "GDAL_HTTP_USERAGENT", "cogtiler" },
    /* A VRT never runs Python. */
    { "GDAL_VRT_ENABLE_PYTHON", "NO" },
};

/* The first message of a read that failed under GDAL since reset_errors():
 * GDAL opens a truncated file with warnings ("IO error during reading of
 * GeoPixelScale; tag ignored") and then lacks what it could not read. */
static _Thread_local char io_fault[200];

static void CPL_STDCALL quiet_errors(CPLErr cls, CPLErrorNum no, const char *msg)
{
    (void)cls;
    if (!io_fault[0] && msg &&
        (no == CPLE_FileIO || strstr(msg, "IO error") || strstr(msg, "Read error") ||
         strstr(msg, "Can not read")))
        snprintf(io_fault, sizeof io_fault, "%s", msg);
}

/* EPSG:3857 as WKT, made once (raster_global_init): every tile's warp
 * destination and GeoTIFF name it, and a per-tile OSRImportFromEPSG would ask
 * proj.db each time. NULL when PROJ cannot build it (every open then fails). */
static char *wkt3857;

void raster_global_init(void)
{
    GDALAllRegister();
    OGRSpatialReferenceH merc = wkt3857 ? NULL : OSRNewSpatialReference(NULL);
    if (merc && OSRImportFromEPSG(merc, 3857) == OGRERR_NONE)
        OSRExportToWkt(merc, &wkt3857);
    OSRDestroySpatialReference(merc);
    /* Never write .aux.xml next to a source (read-only buckets, test fixtures). */
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
    for (size_t i = 0; i < sizeof remote_defaults / sizeof remote_defaults[0]; i++)
        if (!getenv(remote_defaults[i][0]))
            CPLSetConfigOption(remote_defaults[i][0], remote_defaults[i][1]);
    /* Remote files: no directory listing and no sidecar probing (.ovr, .msk,
     * .aux.xml, and the ~30 metadata files GDAL looks for beside a GeoTIFF:
     * .IMD, .RPB, _MTL.txt ...), which unconfigured costs about 40 HEAD
     * requests per open. COGs carry their overviews and masks inside. */
    if (!getenv("GDAL_DISABLE_READDIR_ON_OPEN")) {
        VSISetPathSpecificOption("/vsicurl/", "GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
        VSISetPathSpecificOption("/vsis3/", "GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
    }
    /* Errors reach the caller through CPLGetLastErrorMsg(), not stderr. */
    CPLSetErrorHandler(quiet_errors);
}

/* Before each GDAL call whose failure we report: clears GDAL's last error,
 * the VSI error that source_fault() reads, and the read fault seen. */
static void reset_errors(void)
{
    CPLErrorReset();
    VSIErrorReset();
    io_fault[0] = '\0';
}

/* What a failed GDAL call on a source means, from the VSI error and GDAL's
 * message: the remote server's 404 / 403 / timeout, or any other failure. */
static int source_fault(void)
{
    int gate = gate_last_error(NULL, 0);
    if (gate)
        return gate; /* the url= gate decided, and says why (set_msg) */
    switch (VSIGetLastErrorNo()) {
    case VSIE_AWSObjectNotFound:
    case VSIE_AWSBucketNotFound: return CT_ENOTFOUND;
    case VSIE_AWSAccessDenied:
    case VSIE_AWSInvalidCredentials:
    case VSIE_AWSSignatureDoesNotMatch: return CT_EDENIED;
    default: break;
    }
    const char *m = CPLGetLastErrorMsg();
    const char *code = m ? strstr(m, "HTTP response code: ") : NULL;
    if (code) {
        int err = ct_upstream_err(atoi(code + 20));
        if (err == CT_ENOTFOUND || err == CT_EDENIED)
            return err;
    }
    /* S3 errors GDAL 3.6 files under the generic VSIE_AWSError. */
    if (m && (strcasestr(m, "Access Denied") || strcasestr(m, "Access Key Id") ||
              strcasestr(m, "security token")))
        return CT_EDENIED;
    if (m && (strstr(m, "timed out") || strstr(m, "Timeout was reached") ||
              strstr(m, "Operation too slow")))
        return CT_ETIMEOUT;
    return CT_ESOURCE;
}

void raster_global_cleanup(void)
{
    CPLFree(wkt3857);
    wkt3857 = NULL;
    GDALDestroyDriverManager();
    OSRCleanup();
}

/* GDAL's message without the places in its own code it sometimes names
 * ("./alg/gdalwarpoperation.cpp, 1847: "), which tell a client nothing. */
static void scrub(char *s)
{
    for (char *p = s; (p = strstr(p, ", ")) != NULL;) {
        char *start = p, *num = p + 2, *end = num;
        while (*end >= '0' && *end <= '9')
            end++;
        int is_loc = end > num && end[0] == ':' && end[1] == ' ';
        while (start > s && start[-1] != ' ')
            start--;
        size_t n = (size_t)(p - start);
        is_loc &= (n > 4 && !strncmp(p - 4, ".cpp", 4)) || (n > 2 && !strncmp(p - 2, ".c", 2)) ||
                  (n > 2 && !strncmp(p - 2, ".h", 2));
        if (is_loc)
            memmove(start, end + 2, strlen(end + 2) + 1);
        else
            p += 2;
    }
}

/* msg = prefix, then why: the url= gate's reason when it refused or failed a
 * request, else GDAL's last message. */
static void set_msg(char *msg, size_t cap, const char *prefix)
{
    if (!msg || cap == 0)
        return;
    char why[256] = "";
    if (!gate_last_error(why, sizeof why)) {
        const char *gdal = CPLGetLastErrorMsg();
        snprintf(why, sizeof why, "%s", gdal ? gdal : "");
    }
    if (*why)
        snprintf(msg, cap, "%s: %s", prefix, why);
    else
        snprintf(msg, cap, "%s", prefix);
    scrub(msg);
}

/* True for the names GDAL reads over the network. */
static int is_remote(const char *name)
{
    return strncmp(name, "/vsicurl/", 9) == 0 || strncmp(name, "/vsis3/", 7) == 0;
}

/* GDALOpenEx of a source (open_opts may be NULL); an untrusted one may only be
 * a GeoTIFF: a VRT (or another format naming other files) would make GDAL
 * open what it names itself, outside the gate. */
static GDALDatasetH open_ds(const char *name, int untrusted, const char *const *open_opts,
                            unsigned flags)
{
    static const char *const untrusted_drivers[] = { "GTiff", NULL };
    return GDALOpenEx(name, GDAL_OF_RASTER | GDAL_OF_READONLY | flags,
                      untrusted ? untrusted_drivers : NULL, open_opts, NULL);
}

/* Extent of the dataset in lon/lat, from its (possibly rotated) geotransform
 * gt, through to_lonlat (the source's CRS -> EPSG:4326). */
static int compute_lonlat(GDALDatasetH ds, const double gt[6], OGRSpatialReferenceH srs,
                          OGRCoordinateTransformationH to_lonlat, struct bbox *out)
{
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
    /* Densified edges; for a geographic target GDAL reports a crossing of the
     * antimeridian as minx > maxx. */
    if (!OCTTransformBounds(to_lonlat, minx, miny, maxx, maxy, &out->minx, &out->miny,
                            &out->maxx, &out->maxy, 21))
        return CT_EUNSUPPORTED;
    /* A geographic source wider than the world (e.g. -180.12..179.88) covers all longitudes. */
    if (OSRIsGeographic(srs) && maxx - minx >= 359.999) {
        out->minx = -180.0;
        out->maxx = 180.0;
    }
    out->miny = fmax(out->miny, -90.0);
    out->maxy = fmin(out->maxy, 90.0);
    return CT_OK;
}

/* A GCP-referenced source: the transformer gdalwarp would use (a polynomial
 * of the order GDAL chooses from the GCP count, or as opts say; a thin plate
 * spline with gcp_tps), kept as options for every warp of r, and made here
 * once from the source's pixels to lon/lat (wgs84) for the extent (as
 * gdalwarp -t_srs EPSG:4326 suggests it: the outline sampled through the
 * transformer) and for points. CT_EUNSUPPORTED when the GCPs define no
 * transformation (too few, collinear). */
static int gcp_open(struct raster *r, const struct raster_open_opts *opts,
                    OGRSpatialReferenceH wgs84, struct bbox *ll, char *msg, size_t msgcap)
{
    const int tps = opts && opts->gcp_tps, order = opts && !tps ? opts->gcp_order : 0;
    r->tr_opts = CSLSetNameValue(NULL, "SRC_METHOD", tps ? "GCP_TPS" : "GCP_POLYNOMIAL");
    if (order > 0 && order <= 3) {
        char v[4];
        snprintf(v, sizeof v, "%d", order);
        r->tr_opts = CSLSetNameValue(r->tr_opts, "MAX_GCP_ORDER", v);
    }
    r->info.gcps = GDALGetGCPCount(r->ds);
    r->info.gcp_method = tps ? "tps" : "polynomial";
    char *wkt = NULL;
    OSRExportToWkt(wgs84, &wkt);
    char **o = CSLSetNameValue(CSLDuplicate(r->tr_opts), "DST_SRS", wkt);
    CPLFree(wkt);
    reset_errors();
    r->px_lonlat = GDALCreateGenImgProjTransformer2(r->ds, NULL, o);
    CSLDestroy(o);
    double gt[6], ext[4];
    int w = 0, h = 0;
    if (!r->px_lonlat ||
        GDALSuggestedWarpOutput2(r->ds, GDALGenImgProjTransform, r->px_lonlat, gt, &w, &h, ext,
                                 0) != CE_None ||
        !(ext[2] > ext[0] && ext[3] > ext[1]) || !isfinite(ext[0]) || !isfinite(ext[1]) ||
        !isfinite(ext[2]) || !isfinite(ext[3])) {
        snprintf(msg, msgcap, "the source's %d GCPs define no transformation (too few, "
                              "collinear, or off the Earth's longitudes and latitudes)",
                 r->info.gcps);
        return CT_EUNSUPPORTED;
    }
    r->px_deg = fmax(fabs(gt[1]), fabs(gt[5]));
    *ll = (struct bbox){ ext[0], fmax(ext[1], -90.0), ext[2], fmin(ext[3], 90.0) };
    /* GCPs past the antimeridian (longitudes beyond 180): the crossing form */
    if (ll->maxx - ll->minx >= 360.0) {
        ll->minx = -180.0;
        ll->maxx = 180.0;
    } else if (ll->minx < -180.0) {
        ll->minx += 360.0;
    } else if (ll->maxx > 180.0) {
        ll->maxx -= 360.0;
    }
    if (ll->minx >= 180.0) /* wholly past it */
        ll->minx -= 360.0;
    return CT_OK;
}

int raster_open(const char *source, const struct raster_open_opts *opts, struct raster **out,
                char *msg, size_t msgcap)
{
    struct raster *r = NULL;
    OGRSpatialReferenceH srs = NULL, merc = NULL, wgs84 = NULL;
    OGRCoordinateTransformationH to_lonlat = NULL;
    int err;

    reset_errors();
    r = calloc(1, sizeof *r);
    if (!r) {
        err = CT_ENOMEM;
        set_msg(msg, msgcap, "out of memory");
        goto error;
    }
    r->source = CPLStrdup(source);
    /* Bytes and the size GDAL cached for this name may be older than
     * dataset_ttl (another worker's open of a since replaced object): start
     * from the object as it is now. */
    if (is_remote(source))
        VSICurlPartialClearCache(source);
    if (opts && strncmp(source, "/vsis3/", 7) == 0) {
        if (opts->requester_pays)
            VSISetPathSpecificOption(source, "AWS_REQUEST_PAYER", "requester");
        if (opts->unsigned_s3)
            VSISetPathSpecificOption(source, "AWS_NO_SIGN_REQUEST", "YES");
    }
    r->untrusted = opts && opts->untrusted;
    reset_errors();
    r->ds = open_ds(source, r->untrusted, NULL, GDAL_OF_VERBOSE_ERROR);
    if (!r->ds) {
        err = source_fault();
        set_msg(msg, msgcap, "cannot open source");
        if (r->untrusted && err == CT_ESOURCE && !gate_last_error(NULL, 0)) {
            /* Readable, not a GeoTIFF: what GDAL would take it for, from
             * its header alone (identification opens nothing else). */
            GDALDriverH d = GDALIdentifyDriverEx(source, GDAL_OF_RASTER, NULL, NULL);
            if (d) {
                err = CT_EFORBIDDEN;
                snprintf(msg, msgcap, "url: a %s source is not accepted: only GeoTIFF (COG); "
                                      "VRTs and other formats can be configured as layers",
                         GDALGetDriverShortName(d));
            }
        }
        goto error;
    }
    /* Opened, but parts could not be read: whatever is missing below is the
     * file's fault (truncated or corrupt), an upstream fault like any other. */
    if (io_fault[0]) {
        char why[sizeof io_fault];
        snprintf(why, sizeof why, "%s", io_fault);
        scrub(why);
        snprintf(msg, msgcap, "cannot open source: truncated or corrupt (%s)", why);
    }
    int nb = GDALGetRasterCount(r->ds);
    if (nb < 1) {
        err = io_fault[0] ? CT_ESOURCE : CT_EUNSUPPORTED;
        if (!io_fault[0])
            set_msg(msg, msgcap, "source has no raster band");
        goto error;
    }
    double gt[6];
    /* placed by a geotransform or, failing that, by GCPs */
    const int has_gt = GDALGetGeoTransform(r->ds, gt) == CE_None;
    const int by_gcps = !has_gt && GDALGetGCPCount(r->ds) > 0;
    if (!has_gt && !by_gcps) {
        err = io_fault[0] ? CT_ESOURCE : CT_EUNSUPPORTED;
        if (!io_fault[0])
            snprintf(msg, msgcap,
                     "source has no georeferencing (neither a geotransform nor GCPs)");
        goto error;
    }
    const OGRSpatialReferenceH dsrs =
        by_gcps ? GDALGetGCPSpatialRef(r->ds) : GDALGetSpatialRef(r->ds);
    if (!dsrs) {
        err = io_fault[0] ? CT_ESOURCE : CT_EUNSUPPORTED;
        if (!io_fault[0])
            snprintf(msg, msgcap, by_gcps ? "source's GCPs have no coordinate reference system"
                                          : "source has no coordinate reference system");
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

    /* The lon/lat transformations, built once: the extent now, points later. */
    wgs84 = OSRNewSpatialReference(NULL);
    if (wgs84 && OSRImportFromEPSG(wgs84, 4326) == OGRERR_NONE) {
        OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
        to_lonlat = OCTNewCoordinateTransformation(srs, wgs84);
        r->from_lonlat = OCTNewCoordinateTransformation(wgs84, srs);
    }
    if (!to_lonlat || !r->from_lonlat)
        err = CT_EUNSUPPORTED;
    else if (by_gcps && (err = gcp_open(r, opts, wgs84, &in->lonlat, msg, msgcap)))
        goto error;
    else if (!by_gcps)
        err = compute_lonlat(r->ds, gt, srs, to_lonlat, &in->lonlat);
    if (err) {
        set_msg(msg, msgcap, "cannot transform the source extent to longitude/latitude");
        goto error;
    }
    r->range = calloc((size_t)in->nbands, sizeof *r->range);
    r->range_known = calloc((size_t)in->nbands, 1);
    if (!r->range || !r->range_known) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto error;
    }

    merc = wkt3857 ? OSRNewSpatialReference(wkt3857) : NULL;
    if (!merc) {
        err = CT_EINTERNAL;
        set_msg(msg, msgcap, "cannot build EPSG:3857");
        goto error;
    }
    OSRSetAxisMappingStrategy(merc, OAMS_TRADITIONAL_GIS_ORDER);
    memcpy(r->gt, gt, sizeof gt);
    r->mask_flags = GDALGetMaskFlags(b1);
    snprintf(in->dtype, sizeof in->dtype, "%s",
             GDALGetDataTypeName(GDALGetRasterDataType(b1)));
    const char *auth = OSRGetAuthorityName(srs, NULL), *code = OSRGetAuthorityCode(srs, NULL);
    if (auth && code)
        snprintf(in->crs, sizeof in->crs, "%s:%s", auth, code);
    else
        snprintf(in->crs, sizeof in->crs, "%s", OSRGetName(srs) ? OSRGetName(srs) : "unknown");
    for (int i = 0; i < in->noverviews && i < 16; i++) {
        GDALRasterBandH ov = GDALGetOverview(b1, i);
        in->ovr_width[i] = ov ? GDALGetRasterBandXSize(ov) : 0;
        in->ovr_height[i] = ov ? GDALGetRasterBandYSize(ov) : 0;
    }
    {
        /* The extent's width in Web Mercator metres over its pixel count:
         * good enough for zoom limits. */
        const struct bbox *l = &in->lonlat;
        double dlon = l->maxx - l->minx + (l->minx > l->maxx ? 360.0 : 0.0);
        in->merc_res = dlon * (2.0 * TILEMATH_ORIGIN / 360.0) / in->width;
    }
    /* GCPs: a warp whatever their CRS; RPCs: GDALWarp() every tile */
    r->keep_warps = (by_gcps || !OSRIsSame(dsrs, merc)) && !GDALGetMetadata(r->ds, "RPC");
    r->direct = !by_gcps && OSRIsSame(srs, merc) && gt[2] == 0 && gt[4] == 0 && gt[1] > 0 &&
                gt[5] < 0 && in->nbands <= DIRECT_MAX_BANDS;
    OSRDestroySpatialReference(merc);
    OSRDestroySpatialReference(wgs84);
    OCTDestroyCoordinateTransformation(to_lonlat);
    r->srs = srs;
    *out = r;
    return CT_OK;

error:
    OCTDestroyCoordinateTransformation(to_lonlat);
    OSRDestroySpatialReference(wgs84);
    OSRDestroySpatialReference(merc);
    OSRDestroySpatialReference(srs);
    raster_close(r);
    return err;
}

void raster_close(struct raster *r)
{
    if (!r)
        return;
    for (int i = 0; i < RASTER_MAX_OPS; i++)
        warp_op_free(&r->ops[i]);
    for (int i = 0; i < RASTER_MAX_DSTS; i++)
        warp_dst_free(r, &r->dsts[i]);
    for (int i = 0; i < RASTER_MAX_VRTS; i++)
        if (r->vrts[i].ds)
            GDALClose(r->vrts[i].ds);
    if (r->ovr_tr)
        GDALDestroyGenImgProjTransformer(r->ovr_tr);
    for (int i = 0; i <= RASTER_MAX_OVR; i++) /* before the sources they warp */
        if (r->grid[i])
            GDALClose(r->grid[i]);
    if (r->px_lonlat)
        GDALDestroyGenImgProjTransformer(r->px_lonlat);
    CSLDestroy(r->tr_opts);
    for (int i = 0; i < RASTER_MAX_OVR; i++)
        if (r->ovr_ds[i])
            GDALClose(r->ovr_ds[i]);
    if (r->ds)
        GDALClose(r->ds);
    OCTDestroyCoordinateTransformation(r->from_lonlat);
    OSRDestroySpatialReference(r->srs);
    /* Forget downloaded bytes and the file size: a reopen sees a replaced object. */
    if (r->source && is_remote(r->source))
        VSICurlPartialClearCache(r->source);
    CPLFree(r->source);
    free(r->range);
    free(r->range_known);
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

/* The geotransform of a size x size tile over the EPSG:3857 window merc. */
static void tile_gt(const struct bbox *merc, int size, double gt[6])
{
    const double g[6] = { merc->minx, (merc->maxx - merc->minx) / size, 0, merc->maxy, 0,
                          -(merc->maxy - merc->miny) / size };
    memcpy(gt, g, sizeof g);
}

/* Adds a MEM band whose pixels live in buf, so the warp writes straight into it. */
static int add_mem_band(GDALDatasetH mem, GDALDataType type, void *buf)
{
    char ptr[64];
    snprintf(ptr, sizeof ptr, "DATAPOINTER=%p", buf);
    char *opts[] = { ptr, NULL };
    return GDALAddBand(mem, type, opts) == CE_None ? CT_OK : CT_EINTERNAL;
}

/* GDAL progress callback: cancels the read once the deadline has passed. */
static int CPL_STDCALL past_deadline(double done, const char *text, void *arg)
{
    (void)done;
    (void)text;
    const long long *deadline = arg;
    return http_clock_ms() < *deadline;
}

/* The error of a read GDAL failed (what: "the source", "the source mask"):
 * the deadline's, or the source's fault with its message. */
static int read_failed(long long deadline, const char *what, char *msg, size_t msgcap)
{
    if (deadline && http_clock_ms() >= deadline) {
        snprintf(msg, msgcap, "deadline reached while reading");
        return CT_ETIMEOUT;
    }
    int fault = source_fault();
    char prefix[64];
    snprintf(prefix, sizeof prefix, "cannot read %s", what);
    set_msg(msg, msgcap, prefix);
    return fault;
}

/* Buffer pixels [*i0, *i1) whose centres fall inside [0, n) source pixels, for
 * a buffer of size pixels starting at source coordinate p0 with step inc. */
static void covered_span(double p0, double inc, int n, int size, int *i0, int *i1)
{
    double a = ceil(-p0 / inc - 0.5), b = ceil(((double)n - p0) / inc - 0.5);
    *i0 = a < 0 ? 0 : a > size ? size : (int)a;
    *i1 = b < 0 ? 0 : b > size ? size : (int)b;
}

static int is_nodata(double v, double nodata, GDALDataType dt)
{
    if (isnan(nodata))
        return isnan(v);
    if (dt == GDT_Float32) /* beyond FLT_MAX the conversion is undefined: no match */
        return fabs(nodata) <= FLT_MAX && fabs(v) <= FLT_MAX && (float)v == (float)nodata;
    return v == nodata;
}

/* The read for sources already in EPSG:3857 and north-up: one RasterIO of the
 * covered window at the covered buffer size, sampling the source pixel under
 * each buffer pixel centre as the warper's nearest kernel does, with GDAL
 * picking the overview. Validity: the mask band for alpha and per-dataset
 * masks; for nodata, a pixel is void when every band holds its nodata value
 * (the warper's unified source nodata). */
static int read_direct(struct raster *r, const struct bbox *merc, int size, const int *bands,
                       int nb, const struct raster_read_opts *o, long long *deadline,
                       struct raster_tile *out, char *msg, size_t msgcap)
{
    const double *gt = r->gt;
    const int W = r->info.width, H = r->info.height;
    const size_t px = (size_t)size * (size_t)size;
    double x0 = (merc->minx - gt[0]) / gt[1], y0 = (merc->maxy - gt[3]) / gt[5];
    double sx = (merc->maxx - merc->minx) / gt[1] / size;
    double sy = (merc->miny - merc->maxy) / gt[5] / size;
    int i0, i1, j0, j1;
    covered_span(x0, sx, W, size, &i0, &i1);
    covered_span(y0, sy, H, size, &j0, &j1);
    if (i0 >= i1 || j0 >= j1)
        return CT_OK; /* nothing covered: all transparent */

    const int bw = i1 - i0, bh = j1 - j0;
    GDALRasterIOExtraArg ex;
    INIT_RASTERIO_EXTRA_ARG(ex);
    ex.eResampleAlg = GRIORA_NearestNeighbour;
    ex.bFloatingPointWindowValidity = TRUE;
    ex.dfXOff = x0 + i0 * sx;
    ex.dfYOff = y0 + j0 * sy;
    ex.dfXSize = bw * sx;
    ex.dfYSize = bh * sy;
    if (*deadline) {
        ex.pfnProgress = past_deadline;
        ex.pProgressData = deadline;
    }
    int xoff = (int)floor(ex.dfXOff), yoff = (int)floor(ex.dfYOff);
    int xend = (int)ceil(ex.dfXOff + ex.dfXSize), yend = (int)ceil(ex.dfYOff + ex.dfYSize);
    xoff = xoff < 0 ? 0 : xoff;
    yoff = yoff < 0 ? 0 : yoff;
    xend = xend > W ? W : xend;
    yend = yend > H ? H : yend;

    const GDALDataType dt = out->is_byte ? GDT_Byte : GDT_Float64;
    const int bpp = GDALGetDataTypeSizeBytes(dt);
    const GSpacing pixsp = bpp, linesp = (GSpacing)bpp * size, bandsp = (GSpacing)(bpp * px);
    unsigned char *first = (unsigned char *)out->data + ((size_t)j0 * size + (size_t)i0) * bpp;
    reset_errors();
    if (GDALDatasetRasterIOEx(r->ds, GF_Read, xoff, yoff, xend - xoff, yend - yoff, first, bw,
                              bh, dt, nb, (int *)bands, pixsp, linesp, bandsp, &ex) != CE_None)
        return read_failed(*deadline, "the source", msg, msgcap);

    uint8_t *m = out->mask + (size_t)j0 * size + (size_t)i0;
    GDALRasterBandH b1 = GDALGetRasterBand(r->ds, 1);
    if (!o->has_nodata && (r->mask_flags & (GMF_PER_DATASET | GMF_ALPHA))) {
        if (GDALRasterIOEx(GDALGetMaskBand(b1), GF_Read, xoff, yoff, xend - xoff, yend - yoff,
                           m, bw, bh, GDT_Byte, 1, size, &ex) != CE_None)
            return read_failed(*deadline, "the source mask", msg, msgcap);
        for (int j = 0; j < bh; j++)
            for (int i = 0; i < bw; i++)
                m[(size_t)j * size + i] = m[(size_t)j * size + i] ? 255 : 0;
        return CT_OK;
    }
    for (int j = 0; j < bh; j++)
        memset(m + (size_t)j * size, 255, (size_t)bw);
    if (!o->has_nodata && !(r->mask_flags & GMF_NODATA))
        return CT_OK;
    double nd[DIRECT_MAX_BANDS];
    GDALDataType sdt[DIRECT_MAX_BANDS];
    for (int b = 0; b < nb; b++) {
        GDALRasterBandH hb = GDALGetRasterBand(r->ds, bands[b]);
        int has = 1;
        nd[b] = o->has_nodata ? o->nodata : GDALGetRasterNoDataValue(hb, &has);
        sdt[b] = GDALGetRasterDataType(hb);
        if (!has)
            return CT_OK; /* a band without nodata keeps every pixel valid */
    }
    for (int j = j0; j < j1; j++) {
        for (int i = i0; i < i1; i++) {
            size_t k = (size_t)j * size + (size_t)i;
            int all = 1;
            for (int b = 0; b < nb && all; b++) {
                double v = out->is_byte ? ((const uint8_t *)out->data)[b * px + k]
                                        : ((const double *)out->data)[b * px + k];
                all = is_nodata(v, nd[b], sdt[b]);
            }
            if (all)
                out->mask[k] = 0;
        }
    }
    return CT_OK;
}

int raster_band_count(const struct raster *r)
{
    return GDALGetRasterCount(r->ds);
}

int raster_is_byte_band(const struct raster *r, int band)
{
    GDALRasterBandH b = GDALGetRasterBand(r->ds, band);
    return b && GDALGetRasterDataType(b) == GDT_Byte;
}

/* A virtual dataset over r with only the asked bands and/or another nodata
 * value (`gdal_translate -of VRT`: no pixel is copied, overviews stay visible),
 * or NULL with a message. A band subset loses the source's alpha band, so it
 * becomes the VRT's mask again unless nodata replaces the masks. */
static GDALDatasetH subset_vrt(struct raster *r, const struct raster_read_opts *o, char *msg,
                               size_t msgcap)
{
    char num[3][16], ci[3][24], mask[16], nodata[64];
    char *argv[2 + 4 * 3 + 2 + 2 + 1];
    int argc = 0;
    argv[argc++] = "-of";
    argv[argc++] = "VRT";
    for (int b = 0; b < o->nbands && b < 3; b++) { /* nbands 0: every band */
        snprintf(num[b], sizeof num[b], "%d", o->bands[b]);
        argv[argc++] = "-b";
        argv[argc++] = num[b];
    }
    /* the alpha band asked for as data (bidx=4 of RGBA): grey in the subset,
     * or the warper would take it for the subset's alpha and find no data band */
    for (int b = 0; b < o->nbands && b < 3; b++)
        if (GDALGetRasterColorInterpretation(GDALGetRasterBand(r->ds, o->bands[b])) ==
            GCI_AlphaBand) {
            snprintf(ci[b], sizeof ci[b], "-colorinterp_%d", b + 1);
            argv[argc++] = ci[b];
            argv[argc++] = "gray";
        }
    if (o->nbands && r->info.has_alpha && !o->has_nodata) {
        snprintf(mask, sizeof mask, "%d", GDALGetRasterCount(r->ds));
        argv[argc++] = "-mask";
        argv[argc++] = mask;
    }
    if (o->has_nodata) {
        snprintf(nodata, sizeof nodata, "%.17g", o->nodata);
        argv[argc++] = "-a_nodata";
        argv[argc++] = nodata;
    }
    argv[argc] = NULL;
    GDALTranslateOptions *to = GDALTranslateOptionsNew(argv, NULL);
    int usage = 0;
    reset_errors();
    GDALDatasetH vrt = to ? GDALTranslate("", r->ds, to, &usage) : NULL;
    GDALTranslateOptionsFree(to);
    if (!vrt)
        set_msg(msg, msgcap, "cannot select bands");
    return vrt;
}

/* The kept subset_vrt() for o's bands and nodata, made (in place of the
 * least recently used, with the warps that read it) when there is none; NULL
 * with a message when it cannot be made. Owned by r. */
static GDALDatasetH kept_vrt(struct raster *r, const struct raster_read_opts *o, char *msg,
                             size_t msgcap)
{
    struct kept_vrt *v = NULL;
    for (int i = 0; i < RASTER_MAX_VRTS; i++) {
        struct kept_vrt *c = &r->vrts[i];
        if (c->ds && c->nbands == o->nbands && c->has_nodata == o->has_nodata &&
            !memcmp(c->bands, o->bands, sizeof c->bands) &&
            (!o->has_nodata || !memcmp(&c->nodata, &o->nodata, sizeof c->nodata))) {
            c->used = ++r->ticks;
            return c->ds;
        }
        if (!v || (v->ds && (!c->ds || c->used < v->used)))
            v = c;
    }
    if (v->ds) {
        for (int i = 0; i < RASTER_MAX_OPS; i++)
            if (r->ops[i].src == v->ds)
                warp_op_free(&r->ops[i]);
        GDALClose(v->ds);
    }
    memset(v, 0, sizeof *v);
    if (!(v->ds = subset_vrt(r, o, msg, msgcap)))
        return NULL;
    v->nbands = o->nbands;
    memcpy(v->bands, o->bands, sizeof v->bands);
    v->has_nodata = o->has_nodata;
    v->nodata = o->has_nodata ? o->nodata : 0;
    v->used = ++r->ticks;
    return v->ds;
}

/* r->ds -> dst's CRS, the transformer GDALWarp would make, with dst's
 * geotransform gt; NULL when GDAL cannot make it. It is made once, from the
 * first dst, and given each tile's geotransform: nothing else in it depends
 * on the destination. */
static void *base_transformer(struct raster *r, GDALDatasetH dst, const double gt[6])
{
    if (!r->ovr_tr && !(r->ovr_tr = GDALCreateGenImgProjTransformer2(r->ds, dst, r->tr_opts)))
        return NULL;
    GDALSetGenImgProjTransformerDstGeoTransform(r->ovr_tr, gt);
    return r->ovr_tr;
}

/* The overview level `gdalwarp -ovr AUTO` reads when warping r into dst, whose
 * geotransform is gt (gdalwarp_lib.cpp of GDAL 3.6: a 10x10 grid of dst
 * pixels taken back to source pixels gives the decimation ratio; the level
 * whose ratio brackets it, or is within 0.1 of it), or -1 for full
 * resolution. */
static int auto_overview(struct raster *r, GDALDatasetH dst, const double gt[6])
{
    GDALRasterBandH b1 = GDALGetRasterBand(r->ds, 1);
    int nov = GDALGetOverviewCount(b1);
    if (nov < 1)
        return -1;
    if (!base_transformer(r, dst, gt))
        return -1;
    enum { N = 10 };
    double x[N * N], y[N * N], z[N * N];
    int ok[N * N], dw = GDALGetRasterXSize(dst), dh = GDALGetRasterYSize(dst), level = -1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            x[i * N + j] = dw * (double)i / (N - 1);
            y[i * N + j] = dh * (double)j / (N - 1);
            z[i * N + j] = 0;
        }
    double target = 0;
    if (GDALGenImgProjTransform(r->ovr_tr, TRUE, N * N, x, y, z, ok)) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < N * N; i++)
            if (ok[i]) {
                lo = fmin(lo, x[i]);
                hi = fmax(hi, x[i]);
            }
        if (hi > lo)
            target = (hi - lo) / dw;
    }
    if (target > 1.0) {
        double w = GDALGetRasterXSize(r->ds);
        for (; level < nov - 1; level++) {
            double ratio = level < 0 ? 1.0 : w / GDALGetRasterBandXSize(GDALGetOverview(b1, level));
            double next = w / GDALGetRasterBandXSize(GDALGetOverview(b1, level + 1));
            if ((ratio < target && next > target) || fabs(ratio - target) < 1e-1)
                break;
        }
    }
    return level;
}

/* The source at overview level i, opened once (see struct raster). NULL when
 * it cannot be opened: the caller then lets GDALWarp choose. */
static GDALDatasetH overview_ds(struct raster *r, int i)
{
    if (i < 0 || i >= RASTER_MAX_OVR)
        return NULL;
    if (!r->ovr_ds[i]) {
        char opt[32];
        snprintf(opt, sizeof opt, "OVERVIEW_LEVEL=%d", i);
        const char *const open_opts[] = { opt, NULL };
        r->ovr_ds[i] = open_ds(r->source, r->untrusted, open_opts, 0);
    }
    return r->ovr_ds[i];
}

/* Writes gdalwarp's options for r's GCP transformer at argv[argc], then
 * NULL: -et et unless et is NULL, and -to NAME=VALUE for each transformer
 * option (what -tps and -order N set); nothing for a geotransform. argv has
 * room for argc + 7. */
static void gcp_argv(const struct raster *r, char **argv, int argc, const char *et)
{
    if (et && r->px_lonlat) {
        argv[argc++] = "-et";
        argv[argc++] = (char *)et;
    }
    for (char **o = r->tr_opts; o && *o; o++) {
        argv[argc++] = "-to";
        argv[argc++] = *o;
    }
    argv[argc] = NULL;
}

/* `gdalwarp ARGV` of src into the existing dataset mem, cancelled at
 * deadline_ms (0: never). 0, CT_EINVAL (GDAL refuses the options: an unknown
 * resampling), or the read's fault (read_failed). */
static int warp_into(GDALDatasetH src, GDALDatasetH mem, char **argv, long long deadline_ms,
                     char *msg, size_t msgcap)
{
    GDALWarpAppOptions *wopts = GDALWarpAppOptionsNew(argv, NULL);
    if (!wopts) {
        set_msg(msg, msgcap, "resampling: unknown method");
        return CT_EINVAL;
    }
    if (deadline_ms)
        GDALWarpAppOptionsSetProgress(wopts, past_deadline, &deadline_ms);
    reset_errors();
    int usage = 0, err = CT_OK;
    /* Only a failed warp counts: GDAL also reports points it cannot project
     * (beyond Mercator's latitude limit) as errors while the window is fine. */
    if (!GDALWarp(NULL, mem, 1, &src, wopts, &usage))
        err = read_failed(deadline_ms, "the source", msg, msgcap);
    GDALWarpAppOptionsFree(wopts);
    return err;
}

/* gdalwarp's -r names (GetResampleAlg() in gdalwarp_lib.cpp); 0 or -1. */
static int resample_alg(const char *name, GDALResampleAlg *alg)
{
    static const struct {
        const char *name;
        GDALResampleAlg alg;
    } algs[] = {
        { "bilinear", GRA_Bilinear }, { "cubic", GRA_Cubic }, { "cubicspline", GRA_CubicSpline },
        { "lanczos", GRA_Lanczos },   { "average", GRA_Average }, { "rms", GRA_RMS },
        { "mode", GRA_Mode },         { "max", GRA_Max },     { "min", GRA_Min },
        { "med", GRA_Med },           { "q1", GRA_Q1 },       { "q3", GRA_Q3 },
        { "sum", GRA_Sum },
    };
    if (!name || !strncasecmp(name, "near", 4)) {
        *alg = GRA_NearestNeighbour;
        return 0;
    }
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (!strcasecmp(name, algs[i].name)) {
            *alg = algs[i].alg;
            return 0;
        }
    return -1;
}

static void warp_op_free(struct warp_op *w)
{
    if (w->op)
        GDALDestroyWarpOperation(w->op);
    if (w->approx)
        GDALDestroyApproxTransformer(w->approx); /* and gen, which it owns */
    else if (w->gen)
        GDALDestroyGenImgProjTransformer(w->gen);
    memset(w, 0, sizeof *w);
}

/* Frees d and the ops that write into it. */
static void warp_dst_free(struct raster *r, struct warp_dst *d)
{
    for (int i = 0; i < RASTER_MAX_OPS; i++)
        if (r->ops[i].dst == d)
            warp_op_free(&r->ops[i]);
    if (d->mem)
        GDALClose(d->mem);
    free(d->buf);
    memset(d, 0, sizeof *d);
}

/* The kept buffer of this layout, made (in place of the least recently used)
 * when there is none; NULL when it cannot be made. */
static struct warp_dst *warp_dst_get(struct raster *r, int size, int nb, GDALDataType dt)
{
    struct warp_dst *d = NULL;
    for (int i = 0; i < RASTER_MAX_DSTS; i++) {
        struct warp_dst *c = &r->dsts[i];
        if (c->mem && c->size == size && c->nb == nb && c->dt == dt) {
            c->used = ++r->ticks;
            return c;
        }
        if (!d || !c->mem || (d->mem && c->used < d->used))
            d = c;
    }
    warp_dst_free(r, d);
    const size_t px = (size_t)size * (size_t)size, bpp = (size_t)GDALGetDataTypeSizeBytes(dt);
    GDALDriverH drv = GDALGetDriverByName("MEM");
    d->buf = calloc(px, (size_t)nb * bpp + 1);
    d->mem = drv && d->buf ? GDALCreate(drv, "", size, size, 0, GDT_Byte, NULL) : NULL;
    int err = d->mem ? CT_OK : CT_EINTERNAL;
    for (int i = 0; i < nb && !err; i++)
        err = add_mem_band(d->mem, dt, (unsigned char *)d->buf + (size_t)i * px * bpp);
    if (!err)
        err = add_mem_band(d->mem, GDT_Byte, (unsigned char *)d->buf + (size_t)nb * px * bpp);
    if (err || GDALSetProjection(d->mem, wkt3857) != CE_None) {
        warp_dst_free(r, d);
        return NULL;
    }
    GDALSetRasterColorInterpretation(GDALGetRasterBand(d->mem, nb + 1), GCI_AlphaBand);
    d->size = size;
    d->nb = nb;
    d->dt = dt;
    d->used = ++r->ticks;
    return d;
}

/* GDAL progress callback of a kept warp: cancels once its deadline (if any) has passed. */
static int CPL_STDCALL op_progress(double done, const char *text, void *arg)
{
    (void)done;
    (void)text;
    const long long *deadline = arg;
    return !*deadline || http_clock_ms() < *deadline;
}

/* The warp GDALWarp() would run for `gdalwarp -r ALG -dstalpha src d->mem`
 * (GDALWarpDirect() in gdalwarp_lib.cpp of GDAL 3.6, for an existing
 * destination, no -srcnodata/-dstnodata, no -t_srs): transformer
 * GenImgProj(src, d->mem) under the approximate transformer at 0.125 px
 * (GCP_MAX_ERROR for GCPs); SKIP_NOSOURCE; the source's last band as alpha
 * when it is one; the source bands' nodata values (-123456.789 for a band
 * without) and no destination nodata (the alpha band says it). Besides,
 * INIT_DEST=0: the destination is zeroed before each tile, which gdalwarp
 * would otherwise read back as it is;
 * and one warp thread, as GDAL's default: the kernel's per-thread copies of
 * the transformer would not see the next tile's geotransform. The
 * operation keeps three things in the pixels of the tile it first warps, and
 * each stays right for later tiles: the pixel-aligned pure translation path
 * (never: the source is reprojected, r->keep_warps); the poles' positions
 * (its "special points", ~+-6e7 m and more in EPSG:3857, outside every
 * tile's pixels as they are outside the first's); and the grid points of
 * ComputeSourceWindowStartingFromSource(), which within_reach() keeps it
 * from ever computing. Returns 0, or the read's fault. */
static int warp_op_new(struct raster *r, struct warp_op *w, GDALDatasetH src,
                       struct warp_dst *d, GDALResampleAlg alg, char *msg, size_t msgcap)
{
    GDALWarpOptions *wo = NULL;
    int err = CT_OK;
    reset_errors();
    w->src = src;
    w->dst = d;
    w->alg = alg;
    if (!(w->gen = GDALCreateGenImgProjTransformer2(src, d->mem, r->tr_opts)) ||
        !(w->approx = GDALCreateApproxTransformer(GDALGenImgProjTransform, w->gen,
                                                  r->px_lonlat ? GCP_MAX_ERROR : 0.125))) {
        err = read_failed(0, "the source", msg, msgcap);
        goto out;
    }
    GDALApproxTransformerOwnsSubtransformer(w->approx, TRUE);
    if (!(wo = GDALCreateWarpOptions())) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    const int count = GDALGetRasterCount(src);
    const int src_alpha =
        GDALGetRasterColorInterpretation(GDALGetRasterBand(src, count)) == GCI_AlphaBand;
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "SKIP_NOSOURCE", "YES");
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "0");
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "NUM_THREADS", "1");
    wo->eResampleAlg = alg;
    wo->hSrcDS = src;
    wo->hDstDS = d->mem;
    wo->pfnProgress = op_progress;
    wo->pProgressArg = &w->deadline;
    wo->nBandCount = src_alpha ? count - 1 : count;
    wo->panSrcBands = CPLMalloc(sizeof(int) * (size_t)wo->nBandCount);
    wo->panDstBands = CPLMalloc(sizeof(int) * (size_t)wo->nBandCount);
    for (int i = 0; i < wo->nBandCount; i++)
        wo->panSrcBands[i] = wo->panDstBands[i] = i + 1;
    if (src_alpha)
        wo->nSrcAlphaBand = count;
    wo->nDstAlphaBand = GDALGetRasterCount(d->mem);
    int any = 0;
    for (int i = 0; i < wo->nBandCount && !any; i++)
        GDALGetRasterNoDataValue(GDALGetRasterBand(src, i + 1), &any);
    if (any) {
        wo->padfSrcNoDataReal = CPLMalloc(sizeof(double) * (size_t)wo->nBandCount);
        for (int i = 0; i < wo->nBandCount; i++) {
            int has = 0;
            double v = GDALGetRasterNoDataValue(GDALGetRasterBand(src, i + 1), &has);
            wo->padfSrcNoDataReal[i] = has ? v : -123456.789;
        }
    }
    wo->pfnTransformer = GDALApproxTransform;
    wo->pTransformerArg = w->approx;
    if (wo->nBandCount + 1 != GDALGetRasterCount(d->mem) || !(w->op = GDALCreateWarpOperation(wo)))
        err = read_failed(0, "the source", msg, msgcap);
out:
    GDALDestroyWarpOptions(wo);
    if (err)
        warp_op_free(w);
    else
        w->used = ++r->ticks;
    return err;
}

/* True when the tile dst (geotransform gt) is near the source: its outline,
 * sampled as GDALWarpOperation::ComputeSourceWindow() samples a chunk's (21
 * points an edge), transforms into the source's pixels, within one raster
 * size (at most 100,000 px) around the raster. Then no point of the tile,
 * nor of any chunk GDAL splits it into, fails to transform or lands
 * implausibly far (its "bogus window"): the warper never samples a grid
 * instead, whose source-to-destination points GDALWarpOperation caches for
 * its lifetime in the first such tile's pixels (GDALWarpPrivateData in
 * gdalwarpoperation.cpp), which a kept operation would give the next tile.
 * Tiles beyond (low zooms over a small source) are warped by GDALWarp(). */
static int within_reach(struct raster *r, GDALDatasetH dst, const double gt[6], int size)
{
    void *tr = base_transformer(r, dst, gt);
    if (!tr)
        return 0;
    enum { STEPS = 21, N = 4 * STEPS };
    double x[N], y[N], z[N];
    int ok[N];
    for (int i = 0; i < STEPS; i++) {
        double t = size * (double)i / (STEPS - 1);
        double px[4] = { t, t, 0, size }, py[4] = { 0, size, t, t };
        for (int k = 0; k < 4; k++) {
            x[4 * i + k] = px[k];
            y[4 * i + k] = py[k];
            z[4 * i + k] = 0;
        }
    }
    if (!GDALGenImgProjTransform(tr, TRUE, N, x, y, z, ok))
        return 0;
    const double w = r->info.width, h = r->info.height;
    const double mx = fmin(w, 1e5), my = fmin(h, 1e5);
    for (int i = 0; i < N; i++)
        if (!ok[i] || !(x[i] >= -mx && x[i] <= w + mx && y[i] >= -my && y[i] <= h + my))
            return 0;
    return 1;
}

/* warp_kept() could not make a kept warp for this source: read with GDALWarp(). */
#define WARP_NOT_KEPT 1

/* Warps src into out through a kept warp_op (made on first use, in place of
 * the least recently used). out's buffers are size x size, nb bands of dt.
 * 0, WARP_NOT_KEPT, or the read's fault. */
static int warp_kept(struct raster *r, GDALDatasetH src, struct warp_dst *d, GDALResampleAlg alg,
                     long long deadline_ms, struct raster_tile *out, char *msg, size_t msgcap)
{
    struct warp_op *w = NULL;
    int err, found = 0;
    for (int i = 0; i < RASTER_MAX_OPS && !found; i++) {
        struct warp_op *c = &r->ops[i];
        found = c->op && c->src == src && c->dst == d && c->alg == alg;
        if (found || !w || (w->op && (!c->op || c->used < w->used)))
            w = c;
    }
    if (!found) {
        warp_op_free(w);
        /* what the kept warp cannot be made for (GDAL's own checks) is left
         * to GDALWarp(), which read every tile before */
        if (warp_op_new(r, w, src, d, alg, msg, msgcap)) {
            warp_op_free(w);
            if (msgcap)
                msg[0] = '\0';
            return WARP_NOT_KEPT;
        }
    }
    w->used = ++r->ticks;
    double gt[6];
    GDALGetGeoTransform(d->mem, gt);
    GDALSetGenImgProjTransformerDstGeoTransform(w->gen, gt);
    const size_t px = (size_t)d->size * (size_t)d->size;
    const size_t data = px * (size_t)d->nb * (size_t)GDALGetDataTypeSizeBytes(d->dt);
    memset(d->buf, 0, data + px);
    w->deadline = deadline_ms;
    reset_errors();
    if (GDALChunkAndWarpImage(w->op, 0, 0, d->size, d->size) != CE_None) {
        err = read_failed(deadline_ms, "the source", msg, msgcap);
        warp_op_free(w); /* made again for the next tile, whatever state it is in */
        return err;
    }
    memcpy(out->data, d->buf, data);
    memcpy(out->mask, (unsigned char *)d->buf + data, px);
    return CT_OK;
}

int raster_read(struct raster *r, const struct bbox *merc, int size,
                const struct raster_read_opts *o, struct raster_tile *out, char *msg,
                size_t msgcap)
{
    GDALDatasetH mem = NULL;
    int err = CT_OK;
    static const struct raster_read_opts none = { 0 };
    if (!o)
        o = &none;
    long long deadline_ms = o->deadline_ms;
    const char *resampling = o->resampling;
    memset(out, 0, sizeof *out);

    if (size < 1 || size > 4096) {
        snprintf(msg, msgcap, "tile size out of range");
        return CT_EINVAL;
    }
    int bands[DIRECT_MAX_BANDS > 3 ? DIRECT_MAX_BANDS : 3];
    int nb = o->nbands ? o->nbands : r->info.nbands;
    int byte = 1;
    if (nb < 1 || (o->nbands && nb > 3)) {
        snprintf(msg, msgcap, "bidx: give one band or three");
        return CT_EINVAL;
    }
    for (int b = 0; b < nb && b < (int)(sizeof bands / sizeof bands[0]); b++) {
        bands[b] = o->nbands ? o->bands[b] : b + 1;
        if (bands[b] < 1 || bands[b] > GDALGetRasterCount(r->ds)) {
            snprintf(msg, msgcap, "bidx: band %d does not exist (the source has %d)", bands[b],
                     GDALGetRasterCount(r->ds));
            return CT_EINVAL;
        }
        byte &= GDALGetRasterDataType(GDALGetRasterBand(r->ds, bands[b])) == GDT_Byte;
    }
    byte &= !o->as_double;
    const size_t px = (size_t)size * (size_t)size;
    const size_t bpp = byte ? 1 : sizeof(double);
    /* nb <= INT_MAX and px <= 2^24, so only the product with bpp can overflow. */
    if ((size_t)nb > SIZE_MAX / bpp / px) {
        snprintf(msg, msgcap, "tile buffer too large");
        return CT_ETOOBIG;
    }
    out->size = size;
    out->nbands = nb;
    out->is_byte = byte;
    out->data = calloc((size_t)nb * px, bpp);
    out->mask = calloc(px, 1);
    if (!out->data || !out->mask) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    if (r->direct && nb <= DIRECT_MAX_BANDS && (!resampling || !strcmp(resampling, "near"))) {
        err = read_direct(r, merc, size, bands, nb, o, &deadline_ms, out, msg, msgcap);
        goto out;
    }
    GDALResampleAlg alg;
    if (resample_alg(resampling, &alg)) {
        snprintf(msg, msgcap, "resampling: unknown method");
        err = CT_EINVAL;
        goto out;
    }
    double gt[6];
    tile_gt(merc, size, gt);
    GDALDataType dt = byte ? GDT_Byte : GDT_Float64;
    GDALDatasetH src = r->ds;
    /* band 1 of a one-band source (no alpha) is the source itself: a subset
     * VRT would only cost its making (0.2-0.4 ms a tile) */
    const int whole = o->nbands == 1 && o->bands[0] == 1 && GDALGetRasterCount(r->ds) == 1;
    const int subset = (o->nbands && !whole) || o->has_nodata;

    if (subset) {
        if (!(src = kept_vrt(r, o, msg, msgcap))) {
            err = CT_ESOURCE;
            goto out;
        }
    }
    /* The usual read: the source (or an overview level of it, or a kept
     * subset without overviews, where GDALWarp would choose none),
     * reprojected, into a kept buffer by a kept warp. */
    struct warp_dst *d = NULL;
    if (r->keep_warps && px * ((size_t)nb * bpp + 1) <= WARP_DST_MAX_BYTES &&
        (!subset || GDALGetOverviewCount(GDALGetRasterBand(src, 1)) == 0) &&
        (d = warp_dst_get(r, size, nb, dt))) {
        GDALSetGeoTransform(d->mem, gt);
        int level = subset ? -1 : auto_overview(r, d->mem, gt);
        GDALDatasetH from = level >= 0 ? overview_ds(r, level) : src;
        if (from && within_reach(r, d->mem, gt, size) &&
            (err = warp_kept(r, from, d, alg, deadline_ms, out, msg, msgcap)) != WARP_NOT_KEPT)
            goto out;
        err = CT_OK;
    }
    GDALDriverH drv = GDALGetDriverByName("MEM");
    mem = drv ? GDALCreate(drv, "", size, size, 0, GDT_Byte, NULL) : NULL;
    if (!mem) {
        err = CT_EINTERNAL;
        set_msg(msg, msgcap, "cannot create the tile buffer");
        goto out;
    }
    for (int i = 0; i < nb && !err; i++)
        err = add_mem_band(mem, dt, (unsigned char *)out->data + (size_t)i * px * bpp);
    if (!err)
        err = add_mem_band(mem, GDT_Byte, out->mask);
    if (err) {
        set_msg(msg, msgcap, "cannot create the tile buffer");
        goto out;
    }
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, nb + 1), GCI_AlphaBand);
    GDALSetGeoTransform(mem, gt);
    GDALSetProjection(mem, wkt3857);

    /* The same defaults as `gdalwarp -r near -dstalpha` (overview AUTO, error
     * threshold 0.125 px; GCP_MAX_ERROR and the GCP method for a source
     * placed by GCPs), which the differential tests use as reference; the
     * overview level is chosen here as AUTO would, and read through the
     * dataset kept open for it. */
    char *argv[12] = { "-r", (char *)(resampling ? resampling : "near"), "-dstalpha" };
    int argc = 3;
    if (src == r->ds) {
        GDALDatasetH ovr = overview_ds(r, auto_overview(r, mem, gt));
        if (ovr) {
            src = ovr;
            argv[argc++] = "-ovr";
            argv[argc++] = "NONE";
        }
    }
    gcp_argv(r, argv, argc, STR(GCP_MAX_ERROR));
    err = warp_into(src, mem, argv, deadline_ms, msg, msgcap);

out:
    if (mem)
        GDALClose(mem);
    if (err)
        raster_tile_free(out);
    return err;
}

int raster_range(struct raster *r, int band, double *min, double *max)
{
    if (band < 1 || band > r->info.nbands)
        return CT_EINVAL;
    if (r->range_known[band - 1]) {
        *min = r->range[band - 1][0];
        *max = r->range[band - 1][1];
        return CT_OK;
    }
    GDALRasterBandH b = GDALGetRasterBand(r->ds, band);
    double mn, mx, mean, sd;
    reset_errors();
    /* Stored statistics first (bForce = FALSE reads only metadata). */
    if (GDALGetRasterStatistics(b, TRUE, FALSE, &mn, &mx, &mean, &sd) != CE_None) {
        reset_errors();
        /* bApproxOK: GDAL uses an overview, or samples blocks when there is none. */
        if (GDALComputeRasterStatistics(b, TRUE, &mn, &mx, &mean, &sd, NULL, NULL) != CE_None)
            return CT_ESOURCE;
    }
    if (!isfinite(mn) || !isfinite(mx))
        return CT_ESOURCE;
    if (!(mx > mn)) /* a constant band: any range that contains it */
        mx = mn + fmax(1.0, fabs(mn) * 1e-9);
    r->range_known[band - 1] = 1;
    r->range[band - 1][0] = mn;
    r->range[band - 1][1] = mx;
    *min = mn;
    *max = mx;
    return CT_OK;
}

/* The source pixel position (fractional) at lon/lat through the geotransform; -1
 * when the point cannot be transformed. */
static int gt_pixel(struct raster *r, double lon, double lat, double *px, double *py)
{
    double x = lon, y = lat, inv[6];
    if (!OCTTransform(r->from_lonlat, 1, &x, &y, NULL) || !GDALInvGeoTransform(r->gt, inv))
        return -1;
    *px = inv[0] + x * inv[1] + y * inv[2];
    *py = inv[3] + x * inv[4] + y * inv[5];
    return 0;
}

/* The same through the GCP transformer's inverse (as `gdaltransform -i`
 * takes it), kept only when the forward transformation brings the position
 * back within two pixels of lon/lat: a polynomial's inverse is fitted on its
 * own and, far outside the GCPs, may fold back onto the scene. */
static int gcp_pixel(const struct raster *r, double lon, double lat, double *px, double *py)
{
    double x = lon, y = lat, z = 0;
    int ok = 0;
    if (!GDALGenImgProjTransform(r->px_lonlat, TRUE, 1, &x, &y, &z, &ok) || !ok)
        return -1;
    double bx = x, by = y;
    z = 0;
    if (!GDALGenImgProjTransform(r->px_lonlat, FALSE, 1, &bx, &by, &z, &ok) || !ok)
        return -1;
    if (!(fabs(bx - lon) <= 2 * r->px_deg && fabs(by - lat) <= 2 * r->px_deg))
        return -1;
    *px = x;
    *py = y;
    return 0;
}

int raster_point(struct raster *r, double lon, double lat, double *values, int max, int *n,
                 int *valid, char *msg, size_t msgcap)
{
    double px, py;
    if (r->px_lonlat ? gcp_pixel(r, lon, lat, &px, &py) : gt_pixel(r, lon, lat, &px, &py)) {
        snprintf(msg, msgcap, "point outside the data"); /* not representable in the CRS */
        return CT_EOUTSIDE;
    }
    if (!(px >= 0 && py >= 0 && px < r->info.width && py < r->info.height)) {
        snprintf(msg, msgcap, "point outside the data");
        return CT_EOUTSIDE;
    }
    int ix = (int)px, iy = (int)py, nb = r->info.nbands < max ? r->info.nbands : max;
    reset_errors();
    for (int b = 0; b < nb; b++)
        if (GDALRasterIO(GDALGetRasterBand(r->ds, b + 1), GF_Read, ix, iy, 1, 1, &values[b], 1, 1,
                         GDT_Float64, 0, 0) != CE_None)
            return read_failed(0, "the source", msg, msgcap);
    uint8_t m = 0;
    if (GDALRasterIO(GDALGetMaskBand(GDALGetRasterBand(r->ds, 1)), GF_Read, ix, iy, 1, 1, &m, 1,
                     1, GDT_Byte, 0, 0) != CE_None)
        return read_failed(0, "the source mask", msg, msgcap);
    *n = nb;
    *valid = m != 0;
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

/* --- zonal reads --------------------------------------------------------------------- */

/* Edges of polygons in a projected CRS are split into pieces of at most this
 * many degrees before their positions are transformed (docs/ZONAL.md). */
#define ZONE_SEGMENT_DEG 0.01
/* The positions a zone may have once split: a polygon of long edges (a
 * zig-zag across a hemisphere) would otherwise become billions of points
 * before anything is read. 2,000,000 points take about 50 MB and half a
 * second to transform; a country's outline with edges of a few degrees
 * stays far below. */
#define ZONE_MAX_SEGMENTED 2000000

/* The positions of polys once every edge is split into pieces of at most
 * ZONE_SEGMENT_DEG, as OGR_G_Segmentize() splits them (in the coordinates'
 * own plane), counted up to the first over limit. */
static double segmented_positions(const struct polygon *polys, size_t n, double limit)
{
    double count = 0;
    for (size_t i = 0; i < n && count <= limit; i++)
        for (size_t k = 0; k < polys[i].nrings; k++) {
            const struct ring *rg = &polys[i].rings[k];
            count += 1;
            for (size_t m = 1; m < rg->n; m++) {
                double len = hypot(rg->xy[2 * m] - rg->xy[2 * m - 2],
                                   rg->xy[2 * m + 1] - rg->xy[2 * m - 1]);
                count += fmax(1, ceil(len / ZONE_SEGMENT_DEG));
            }
        }
    return count;
}

struct raster_zone {
    struct raster *r;
    int level;               /* -1: full resolution */
    GDALDatasetH ds;         /* the grid: r->ds or an overview dataset (not owned) */
    int width, height;
    double gt[6];            /* of the grid */
    OGRGeometryH geom;       /* the polygons in the source's CRS */
    struct polygon *cells;   /* the polygons in cell coordinates */
    size_t ncells;
    struct raster_window win;
    int by_row;              /* geographic: areas per row */
    double area_const;       /* projected: m2 per cell */
    double a, e2, dlon_rad;  /* geographic: ellipsoid, cell width in radians */
};

void raster_zone_free(struct raster_zone *z)
{
    if (!z)
        return;
    if (z->geom)
        OGR_G_DestroyGeometry(z->geom);
    geom_free(z->cells, z->ncells);
    free(z);
}

/* The polygons as one OGR multipolygon (longitude/latitude). */
static OGRGeometryH ogr_polygons(const struct polygon *polys, size_t n)
{
    OGRGeometryH mp = OGR_G_CreateGeometry(wkbMultiPolygon);
    for (size_t i = 0; mp && i < n; i++) {
        OGRGeometryH p = OGR_G_CreateGeometry(wkbPolygon);
        for (size_t j = 0; p && j < polys[i].nrings; j++) {
            OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
            if (!ring) {
                OGR_G_DestroyGeometry(p);
                p = NULL;
                break;
            }
            for (size_t k = 0; k < polys[i].rings[j].n; k++)
                OGR_G_AddPoint_2D(ring, polys[i].rings[j].xy[2 * k],
                                  polys[i].rings[j].xy[2 * k + 1]);
            OGR_G_AddGeometryDirectly(p, ring);
        }
        if (!p || OGR_G_AddGeometryDirectly(mp, p) != OGRERR_NONE) {
            OGR_G_DestroyGeometry(mp);
            return NULL;
        }
    }
    return mp;
}

/* z->cells from z->geom through the grid's inverse geotransform, and the
 * bounding box of every position in *minx.. */
static int to_cells(struct raster_zone *z, double box[4])
{
    double inv[6];
    if (!GDALInvGeoTransform(z->gt, inv))
        return CT_EUNSUPPORTED;
    int n = OGR_G_GetGeometryCount(z->geom);
    z->cells = calloc((size_t)(n > 0 ? n : 1), sizeof *z->cells);
    if (!z->cells)
        return CT_ENOMEM;
    box[0] = box[1] = INFINITY;
    box[2] = box[3] = -INFINITY;
    for (int i = 0; i < n; i++) {
        OGRGeometryH p = OGR_G_GetGeometryRef(z->geom, i);
        int nr = OGR_G_GetGeometryCount(p);
        struct polygon *cp = &z->cells[z->ncells++];
        cp->rings = calloc((size_t)(nr > 0 ? nr : 1), sizeof *cp->rings);
        if (!cp->rings)
            return CT_ENOMEM;
        for (int j = 0; j < nr; j++) {
            OGRGeometryH ring = OGR_G_GetGeometryRef(p, j);
            int np = OGR_G_GetPointCount(ring);
            struct ring *cr = &cp->rings[cp->nrings++];
            cr->xy = malloc((size_t)(np > 0 ? np : 1) * 2 * sizeof *cr->xy);
            if (!cr->xy)
                return CT_ENOMEM;
            cr->n = (size_t)np;
            for (int k = 0; k < np; k++) {
                double x = OGR_G_GetX(ring, k), y = OGR_G_GetY(ring, k);
                double c = inv[0] + x * inv[1] + y * inv[2], r = inv[3] + x * inv[4] + y * inv[5];
                cr->xy[2 * k] = c;
                cr->xy[2 * k + 1] = r;
                box[0] = fmin(box[0], c);
                box[1] = fmin(box[1], r);
                box[2] = fmax(box[2], c);
                box[3] = fmax(box[3], r);
            }
        }
    }
    return CT_OK;
}

/* The geodesic area of the quadrangle between latitudes p1, p2 (radians) and
 * dlon radians of longitude, on the ellipsoid of semi-major axis a and
 * eccentricity squared e2 (the authalic latitude's q function). */
static double quad_area(double a, double e2, double dlon, double p1, double p2)
{
    if (e2 <= 0)
        return fabs(dlon * a * a * (sin(p1) - sin(p2)));
    double e = sqrt(e2);
    double q1, q2, s;
    s = sin(p1);
    q1 = s / (1 - e2 * s * s) + log((1 + e * s) / (1 - e * s)) / (2 * e);
    s = sin(p2);
    q2 = s / (1 - e2 * s * s) + log((1 + e * s) / (1 - e * s)) / (2 * e);
    return fabs(dlon * a * a * (1 - e2) * (q1 - q2) / 2);
}

/* A GCP-referenced source's grid for zones at level (-1: full resolution):
 * the source, or that overview level of it, as `gdalwarp -of VRT -r near
 * -dstalpha -et 0 [-order N] | -et 0.01 -tps` warps it into the GCPs' CRS
 * (gdalwarp's own grid, which the statistics of the scene are then those
 * of), made on first use and kept. NULL with GDAL's error when it cannot be
 * made. The polynomial's warp is exact (-et 0: the cells' values do not depend on the
 * VRT's blocks, and cost no more: 0.09 s for the 1.5 million cells of
 * cog_gcps.tif either way); a thin plate spline's is approximate
 * (GCP_MAX_ERROR: exact, 2.65 s instead of 0.22). */
static GDALDatasetH gcp_grid(struct raster *r, int level)
{
    GDALDatasetH *slot = &r->grid[level + 1];
    if (*slot)
        return *slot;
    GDALDatasetH src = level < 0 ? r->ds : overview_ds(r, level);
    char *argv[12] = { "-of", "VRT", "-r", "near", "-dstalpha" };
    const char *method = CSLFetchNameValue(r->tr_opts, "SRC_METHOD");
    gcp_argv(r, argv, 5, method && !strcmp(method, "GCP_TPS") ? STR(GCP_MAX_ERROR) : "0");
    GDALWarpAppOptions *wo = src ? GDALWarpAppOptionsNew(argv, NULL) : NULL;
    int usage = 0;
    reset_errors();
    if (wo)
        *slot = GDALWarp("", NULL, 1, &src, wo, &usage);
    GDALWarpAppOptionsFree(wo);
    return *slot;
}

int raster_zone_new(struct raster *r, const struct polygon *polys, size_t n, int ovr,
                    struct raster_zone **out, char *msg, size_t msgcap)
{
    int err = CT_ENOMEM;
    struct raster_zone *z = calloc(1, sizeof *z);
    *out = NULL;
    if (!z)
        goto error;
    z->r = r;
    z->level = ovr;
    if (ovr >= r->info.noverviews || ovr >= RASTER_MAX_OVR) {
        err = CT_EINVAL;
        snprintf(msg, msgcap, "max_size: no overview level %d", ovr);
        goto error;
    }
    if (r->px_lonlat) {
        if (!(z->ds = gcp_grid(r, ovr))) {
            err = read_failed(0, "the source", msg, msgcap);
            goto error;
        }
        GDALGetGeoTransform(z->ds, z->gt);
    } else if (!(z->ds = ovr < 0 ? r->ds : overview_ds(r, ovr))) {
        err = CT_EINVAL;
        snprintf(msg, msgcap, "max_size: no overview level %d", ovr);
        goto error;
    }
    z->width = GDALGetRasterXSize(z->ds);
    z->height = GDALGetRasterYSize(z->ds);
    if (!r->px_lonlat) {
        memcpy(z->gt, r->gt, sizeof z->gt);
        for (int i = 1; i < 6; i++) /* an overview covers the same extent with fewer cells */
            if (i != 3)
                z->gt[i] *= i == 1 || i == 4 ? (double)r->info.width / z->width
                                             : (double)r->info.height / z->height;
    }
    if (!OSRIsGeographic(r->srs)) {
        double m = segmented_positions(polys, n, ZONE_MAX_SEGMENTED);
        if (m > ZONE_MAX_SEGMENTED) {
            err = CT_ETOOLARGE;
            snprintf(msg, msgcap, "the polygon's edges split every %g degree for a projected "
                                  "source make over %d positions: use shorter edges",
                     ZONE_SEGMENT_DEG, ZONE_MAX_SEGMENTED);
            goto error;
        }
    }
    if (!(z->geom = ogr_polygons(polys, n)))
        goto error;
    if (!OSRIsGeographic(r->srs))
        OGR_G_Segmentize(z->geom, ZONE_SEGMENT_DEG);
    reset_errors();
    if (OGR_G_Transform(z->geom, r->from_lonlat) != OGRERR_NONE) {
        err = CT_EINVAL;
        snprintf(msg, msgcap, "the polygon cannot be transformed to the source's CRS (a "
                              "position outside its domain)");
        goto error;
    }
    double box[4];
    if ((err = to_cells(z, box)))
        goto error;
    double x0 = fmax(floor(box[0]), 0), y0 = fmax(floor(box[1]), 0);
    double x1 = fmin(ceil(box[2]), z->width), y1 = fmin(ceil(box[3]), z->height);
    if (!(x1 > x0 && y1 > y0)) {
        err = CT_EOUTSIDE;
        snprintf(msg, msgcap, "the polygon is outside the data");
        goto error;
    }
    z->win = (struct raster_window){ (int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0) };
    OGRErr oe = OGRERR_NONE;
    if (OSRIsGeographic(r->srs)) {
        double to_rad = OSRGetAngularUnits(r->srs, NULL);
        double a = OSRGetSemiMajor(r->srs, &oe), inv_f = OSRGetInvFlattening(r->srs, &oe);
        double f = inv_f > 0 ? 1 / inv_f : 0;
        z->by_row = 1;
        z->a = a;
        z->e2 = f * (2 - f);
        /* axis-aligned cells: meridians and parallels; a rotated grid gets
         * the area of a cell of the same size in degrees at its row */
        z->dlon_rad = hypot(z->gt[1], z->gt[4]) * to_rad;
    } else {
        double to_m = OSRGetLinearUnits(r->srs, NULL);
        z->area_const = fabs(z->gt[1] * z->gt[5] - z->gt[2] * z->gt[4]) * to_m * to_m;
    }
    *out = z;
    return CT_OK;
error:
    if (err == CT_ENOMEM)
        snprintf(msg, msgcap, "out of memory");
    raster_zone_free(z);
    return err;
}

const struct raster_window *raster_zone_window(const struct raster_zone *z)
{
    return &z->win;
}

const struct polygon *raster_zone_cells(const struct raster_zone *z, size_t *n)
{
    *n = z->ncells;
    return z->cells;
}

void raster_zone_blocks(const struct raster_zone *z, int *bw, int *bh)
{
    GDALGetBlockSize(GDALGetRasterBand(z->ds, 1), bw, bh);
    if (*bw < 1)
        *bw = 1;
    if (*bh < 1)
        *bh = 1;
}

void raster_zone_grid(const struct raster_zone *z, int *width, int *height, int *level)
{
    *width = z->width;
    *height = z->height;
    *level = z->level;
}

int raster_zone_mask(struct raster_zone *z, const struct raster_window *win, int all_touched,
                     uint8_t *mask, char *msg, size_t msgcap)
{
    GDALDriverH drv = GDALGetDriverByName("MEM");
    GDALDatasetH mem = drv ? GDALCreate(drv, "", win->w, win->h, 0, GDT_Byte, NULL) : NULL;
    int err = CT_EINTERNAL;
    memset(mask, 0, (size_t)win->w * (size_t)win->h);
    if (!mem || add_mem_band(mem, GDT_Byte, mask))
        goto out;
    const double *g = z->gt;
    double gt[6] = { g[0] + win->x * g[1] + win->y * g[2], g[1], g[2],
                     g[3] + win->x * g[4] + win->y * g[5], g[4], g[5] };
    GDALSetGeoTransform(mem, gt);
    int band = 1;
    double burn = 1;
    char *opts[] = { all_touched ? "ALL_TOUCHED=TRUE" : NULL, NULL };
    reset_errors();
    if (GDALRasterizeGeometries(mem, 1, &band, 1, &z->geom, NULL, NULL, &burn, opts, NULL,
                                NULL) == CE_None)
        err = CT_OK;
out:
    if (err)
        set_msg(msg, msgcap, "cannot rasterize the polygon");
    if (mem)
        GDALClose(mem);
    return err;
}

int raster_zone_read(struct raster_zone *z, int band, const struct raster_window *win,
                     const double *nodata, double *v, uint8_t *valid, char *msg, size_t msgcap)
{
    if (band < 1 || band > GDALGetRasterCount(z->ds)) {
        snprintf(msg, msgcap, "bidx: band %d does not exist", band);
        return CT_EINVAL;
    }
    GDALRasterBandH b = GDALGetRasterBand(z->ds, band);
    const size_t n = (size_t)win->w * (size_t)win->h;
    reset_errors();
    if (GDALRasterIO(b, GF_Read, win->x, win->y, win->w, win->h, v, win->w, win->h, GDT_Float64,
                     0, 0) != CE_None)
        return read_failed(0, "the source", msg, msgcap);
    int has = 0, flags = GDALGetMaskFlags(b);
    double nd = nodata ? *nodata : GDALGetRasterNoDataValue(b, &has);
    GDALDataType dt = GDALGetRasterDataType(b);
    if (nodata || (flags & GMF_NODATA)) { /* the value decides (NaN never valid) */
        for (size_t i = 0; i < n; i++)
            valid[i] = !isnan(v[i]) && !is_nodata(v[i], nd, dt);
        return CT_OK;
    }
    if (flags & GMF_ALL_VALID) {
        for (size_t i = 0; i < n; i++)
            valid[i] = !isnan(v[i]);
        return CT_OK;
    }
    /* an alpha band or a per-dataset mask */
    if (GDALRasterIO(GDALGetMaskBand(b), GF_Read, win->x, win->y, win->w, win->h, valid,
                     win->w, win->h, GDT_Byte, 0, 0) != CE_None)
        return read_failed(0, "the source mask", msg, msgcap);
    for (size_t i = 0; i < n; i++)
        valid[i] = valid[i] && !isnan(v[i]);
    return CT_OK;
}

void raster_zone_forget(struct raster_zone *z)
{
    /* Each block of a zone is read once: kept, they would fill GDAL's block
     * cache (64 MB) with nothing to reuse. */
    for (int i = 1; i <= GDALGetRasterCount(z->ds); i++) {
        GDALRasterBandH b = GDALGetRasterBand(z->ds, i);
        GDALFlushRasterCache(b);
        GDALFlushRasterCache(GDALGetMaskBand(b));
    }
}

double raster_zone_cell_area(const struct raster_zone *z, int row)
{
    if (!z->by_row)
        return z->area_const;
    const double *g = z->gt;
    double to_rad = OSRGetAngularUnits(z->r->srs, NULL);
    double lat1 = (g[3] + row * g[5]) * to_rad, lat2 = (g[3] + (row + 1) * g[5]) * to_rad;
    double lim = M_PI / 2;
    lat1 = fmax(fmin(lat1, lim), -lim);
    lat2 = fmax(fmin(lat2, lim), -lim);
    return quad_area(z->a, z->e2, z->dlon_rad, lat1, lat2);
}

int raster_zone_area_by_row(const struct raster_zone *z)
{
    return z->by_row;
}

int raster_zone_warp(struct raster_zone *z, struct raster *src, int band,
                     const struct raster_window *win, int pad, const char *resampling,
                     long long deadline_ms, double *v, uint8_t *valid, char *msg, size_t msgcap)
{
    GDALDatasetH mem = NULL, vrt = NULL;
    int err = CT_OK;
    if (band < 1 || band > GDALGetRasterCount(src->ds)) {
        snprintf(msg, msgcap, "band %d does not exist (the source has %d)", band,
                 GDALGetRasterCount(src->ds));
        return CT_EINVAL;
    }
    if (pad < 0 || win->w > INT_MAX - 2 * pad || win->h > INT_MAX - 2 * pad) {
        snprintf(msg, msgcap, "window too large");
        return CT_ETOOBIG;
    }
    const int w = win->w + 2 * pad, h = win->h + 2 * pad;
    memset(valid, 0, (size_t)w * (size_t)h);
    struct raster_read_opts o = { .nbands = 1, .bands = { band } };
    if (!(vrt = kept_vrt(src, &o, msg, msgcap))) /* owned by src */
        return CT_ESOURCE;
    GDALDriverH drv = GDALGetDriverByName("MEM");
    mem = drv ? GDALCreate(drv, "", w, h, 0, GDT_Byte, NULL) : NULL;
    if (!mem || add_mem_band(mem, GDT_Float64, v) || add_mem_band(mem, GDT_Byte, valid)) {
        err = CT_EINTERNAL;
        set_msg(msg, msgcap, "cannot create the chunk buffer");
        goto out;
    }
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 2), GCI_AlphaBand);
    const double *g = z->gt;
    const double x0 = win->x - pad, y0 = win->y - pad;
    double gt[6] = { g[0] + x0 * g[1] + y0 * g[2], g[1], g[2],
                     g[3] + x0 * g[4] + y0 * g[5], g[4], g[5] };
    GDALSetGeoTransform(mem, gt);
    GDALSetProjection(mem, GDALGetProjectionRef(z->ds));
    /* `gdalwarp -r R -et 0 -dstalpha` onto the grid's cells (overview AUTO):
     * the reference of the statistics of derived layers. An exact transformer
     * (-et 0): the approximate one interpolates over the window, so a cell
     * near a tie could take another source cell in another chunking. */
    char *argv[12] = { "-r", (char *)(resampling ? resampling : "near"), "-et", "0", "-dstalpha" };
    gcp_argv(src, argv, 5, NULL);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        v[i] = NAN;
    err = warp_into(vrt, mem, argv, deadline_ms, msg, msgcap);
out:
    if (mem)
        GDALClose(mem);
    return err;
}

void raster_zone_terrain(const struct raster_zone *z, double *ewres, double *nsres,
                         double *scale)
{
    *ewres = z->gt[1];
    *nsres = z->gt[5];
    if (OSRIsGeographic(z->r->srs))
        *scale = 111120; /* gdaldem's -s for degrees */
    else
        *scale = OSRGetLinearUnits(z->r->srs, NULL); /* metres per unit */
}

/* --- GeoTIFF tiles ------------------------------------------------------------ */

/* True when v is a value of type dt, exactly (NaN only in a floating type). */
static int holds_value(GDALDataType dt, double v)
{
    static const struct {
        GDALDataType dt;
        double lo, hi;
    } ints[] = { { GDT_Byte, 0, 255 },           { GDT_UInt16, 0, 65535 },
                 { GDT_Int16, -32768, 32767 },   { GDT_UInt32, 0, 4294967295.0 },
                 { GDT_Int32, -2147483648.0, 2147483647.0 } };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (ints[i].dt == dt)
            return v >= ints[i].lo && v <= ints[i].hi && v == floor(v);
    if (dt == GDT_Float32)
        return isnan(v) || isinf(v) || (fabs(v) <= FLT_MAX && (double)(float)v == v);
    return dt == GDT_Float64;
}

/* Writes t's bands into ds; with has_nodata, masked cells take nodata (in a
 * scratch copy) and each band declares it. 1, 0 when GDAL fails, or -1 when
 * out of memory. */
static int write_values(GDALDatasetH ds, const struct raster_tile *t, int has_nodata,
                        double nodata)
{
    const size_t px = (size_t)t->size * (size_t)t->size;
    const size_t bpp = t->is_byte ? 1 : sizeof(double);
    unsigned char *scratch = has_nodata ? malloc(px * bpp) : NULL;
    if (has_nodata && !scratch)
        return -1;
    int ok = 1;
    for (int b = 0; b < t->nbands && ok; b++) {
        GDALRasterBandH h = GDALGetRasterBand(ds, b + 1);
        const unsigned char *src = (const unsigned char *)t->data + (size_t)b * px * bpp;
        if (has_nodata) {
            memcpy(scratch, src, px * bpp);
            for (size_t i = 0; i < px; i++)
                if (!t->mask[i]) {
                    if (t->is_byte)
                        scratch[i] = (uint8_t)nodata; /* a Byte value: holds_value() */
                    else
                        ((double *)scratch)[i] = nodata;
                }
            src = scratch;
            ok = GDALSetRasterNoDataValue(h, nodata) == CE_None;
        }
        ok = ok && GDALRasterIO(h, GF_Write, 0, 0, t->size, t->size, (void *)src, t->size,
                                t->size, t->is_byte ? GDT_Byte : GDT_Float64, 0, 0) == CE_None;
    }
    free(scratch);
    return ok;
}

int raster_geotiff(const struct raster *r, const int *bands, const struct raster_tile *t,
                   const struct bbox *merc, int has_nodata, double nodata,
                   struct pngbuf *out, char *msg, size_t msgcap)
{
    memset(out, 0, sizeof *out);
    const int size = t->size, nb = t->nbands;
    const size_t px = (size_t)size * (size_t)size;
    /* The type the source stores (the widest of the bands read), or Float32 for
     * a derived band: values are written as they were read, not coloured. */
    GDALDataType dt = GDT_Float32;
    if (r) {
        dt = GDT_Unknown;
        for (int b = 0; b < nb; b++) {
            GDALRasterBandH h = GDALGetRasterBand(r->ds, bands ? bands[b] : b + 1);
            if (!h) {
                snprintf(msg, msgcap, "no band %d", bands ? bands[b] : b + 1);
                return CT_EINTERNAL;
            }
            dt = dt == GDT_Unknown ? GDALGetRasterDataType(h)
                                   : GDALDataTypeUnion(dt, GDALGetRasterDataType(h));
        }
    }
    /* A nodata value the type cannot hold would turn into a valid one: then
     * the validity goes into an internal mask (as it does without nodata). */
    if (has_nodata && !holds_value(dt, nodata))
        has_nodata = 0;
    /* Nor may a valid cell hold it (a band of a multi-band source is 0 where
     * the pixel is valid by the others'): then a mask too. */
    for (size_t i = 0; has_nodata && i < px; i++)
        for (int b = 0; t->mask[i] && b < nb; b++) {
            size_t k = (size_t)b * px + i;
            double v = t->is_byte ? ((const uint8_t *)t->data)[k] : ((const double *)t->data)[k];
            if (v == nodata)
                has_nodata = 0;
        }
    if (!r && !has_nodata) {
        has_nodata = 1;
        nodata = NAN;
    }
    const int all_valid = memchr(t->mask, 0, px) == NULL; /* then no mask either */

    /* A name of this call's own: concurrent workers write apart. */
    char name[64];
    snprintf(name, sizeof name, "/vsimem/cogtiler-tile-%p.tif", (void *)name);
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    /* The horizontal predictor (floating point for floats) before DEFLATE. */
    char *co[] = { "COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256",
                   (char *)(nb > 1 ? "INTERLEAVE=PIXEL" : "INTERLEAVE=BAND"),
                   (char *)(GDALDataTypeIsFloating(dt) ? "PREDICTOR=3" : "PREDICTOR=2"), NULL };
    if (!drv) {
        set_msg(msg, msgcap, "no GTiff driver");
        return CT_EINTERNAL;
    }
    /* Internal, so the mask is in the bytes answered, not in a .msk beside. */
    CPLSetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", "YES");
    int err = CT_EINTERNAL;
    GDALDatasetH ds = GDALCreate(drv, name, size, size, nb, dt, co);
    if (!ds) {
        set_msg(msg, msgcap, "cannot create the GeoTIFF");
        goto out;
    }
    double gt[6];
    tile_gt(merc, size, gt);
    if (!wkt3857 || GDALSetProjection(ds, wkt3857) != CE_None ||
        GDALSetGeoTransform(ds, gt) != CE_None) {
        set_msg(msg, msgcap, "cannot georeference the GeoTIFF");
        goto out;
    }
    int ok = write_values(ds, t, has_nodata, nodata);
    if (ok < 0) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    if (ok && !has_nodata && !all_valid) {
        ok = GDALCreateDatasetMaskBand(ds, GMF_PER_DATASET) == CE_None;
        GDALRasterBandH m = ok ? GDALGetMaskBand(GDALGetRasterBand(ds, 1)) : NULL;
        ok = m && GDALRasterIO(m, GF_Write, 0, 0, size, size, t->mask, size, size, GDT_Byte, 0,
                               0) == CE_None;
    }
    if (!ok) {
        set_msg(msg, msgcap, "cannot write the GeoTIFF");
        goto out;
    }
    GDALClose(ds);
    ds = NULL;
    vsi_l_offset len = 0;
    GByte *bytes = VSIGetMemFileBuffer(name, &len, FALSE);
    if (!bytes || len == 0 || len > SIZE_MAX) {
        set_msg(msg, msgcap, "cannot write the GeoTIFF");
        goto out;
    }
    if (!(out->data = malloc((size_t)len))) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    memcpy(out->data, bytes, (size_t)len);
    out->len = out->cap = (size_t)len;
    err = CT_OK;
out:
    if (ds)
        GDALClose(ds);
    VSIUnlink(name);
    CPLSetThreadLocalConfigOption("GDAL_TIFF_INTERNAL_MASK", NULL);
    return err;
}
