/* bench_tiles.c - the benchmark tool behind `make bench` (see bench/README.md).
 *
 *   bench_tiles CONFIG.json [ITER]   renders the hand-picked tile of each kind
 *                                    (DATASETS below) through handler_handle()
 *                                    and prints Markdown tables with the time
 *                                    split into read, colour and encode
 *   bench_tiles --list [SEED]        prints the seeded tile list of every
 *                                    dataset ("LAYER KIND Z X Y STATUS")
 *   bench_tiles --warm CONFIG TILES ITER
 *                                    renders every tile of TILES (a --list
 *                                    output, lines "LAYER KIND Z X Y STATUS"
 *                                    with an optional 7th field QUERY,
 *                                    "k=v&k=v") once untimed, then ITER timed
 *                                    passes over the list; prints one record
 *                                    per timed call for --report
 *   bench_tiles --time | --check | --report   see bench.h
 *
 * Timings are only printed, never judged; the exit status is 1 only when a
 * tile answers an unexpected HTTP status (a broken benchmark, not a slow one),
 * 2 for usage/set-up errors. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "bench.h"
#include "config.h"
#include "err.h"
#include "event.h"
#include "route.h"
#include "runtime.h"
#include "handler.h"
#include "imgenc.h"
#include "pngenc.h"
#include "raster.h"
#include "tilemath.h"

#define DEFAULT_ITER 50
#define TILE_PX 256

/* One benchmark dataset. Coordinates come from `gdalinfo -json` wgs84Extent of
 * each file (the box around its corners; centre = middle of that box); zooms
 * from the pixel size in EPSG:3857 metres at the centre latitude:
 * native z = round(log2(156543.03 / res)). */
struct dataset {
    const char *layer;      /* layer name in the configuration */
    double lon, lat;        /* centre: overview, native and over-zoom tiles */
    double edge_lon, edge_lat; /* a point on the data outline: edge tile */
    int native_z;
    int has_outside;        /* 0 when the data covers the whole Web Mercator world */
    double west, south, east, north; /* the wgs84Extent box: seeded tiles */
};

static const struct dataset DATASETS[] = {
    /* data/bluemarble_topo_bathy_200412_4326_cog.tif: EPSG:4326, 5400x2700 Byte RGB,
     * JPEG, 3 overviews; extent -180,-90,180,90; 0.0667 deg = 7421 m -> z4.40 ~ z4.
     * Covers the world, so there is no outside tile; the edge tile is the
     * top-left one (antimeridian and the latitude limit). */
    { "bluemarble", 0.0, 0.0, -180.0, 85.0, 4, 0, -180.0, -90.0, 180.0, 90.0 },
    /* bench/out/rgb_3857.tif: RGB.byte.tif re-gridded by gdal_translate -of COG
     * -co TILING_SCHEME=GoogleMapsCompatible: EPSG:3857, 1280x1024 Byte RGB,
     * DEFLATE, 256 px blocks on the z9 tile grid, 3 overviews; extent
     * -79.453125,23.2413461,-75.9375,25.7998912. Native z9 (305.7 m). The centre
     * latitude sits just south of a z9 row border (rows 218-221: it gives 220). */
    { "rgb3857", -77.6953125, 24.5206187, -79.4531, 24.5206187, 9, 1,
      -79.453125, 23.2413461, -75.9375, 25.7998912 },
    /* bench/out/large.tif: TCI.tif upsampled 10x (bilinear) by gdal_translate
     * -of COG: UTM 34N, 10980x10980 Byte RGB (the size of a Sentinel-2 scene),
     * DEFLATE, 512 px blocks, 5 overviews, nodata 0, about 45 MB; the extent of
     * TCI.tif. 10 m = 11.79 m projected -> z13.70 ~ z14. Same edge point as tci. */
    { "large", 23.7012704, 32.0122543, 24.08, 31.51, 14, 1,
      23.1060762, 31.5051737, 24.2964645, 32.5193349 },
    /* test/data/titiler/TCI.tif: UTM 34N, 1098x1098 Byte RGB, DEFLATE, 64 px
     * blocks, 5 overviews; extent 23.1060762,31.5051737,24.2964645,32.5193349;
     * 100 m = 117.9 m projected -> z10.37 ~ z10. Its western part is nodata (0),
     * so the edge point lies just inside the southern outline (lat 31.5052),
     * giving the edge tile of test/data/tiles.txt (48 % alpha in gdalwarp). */
    { "tci", 23.7012704, 32.0122543, 24.08, 31.51, 10, 1,
      23.1060762, 31.5051737, 24.2964645, 32.5193349 },
    /* test/data/titiler/dem.tif: CH1903+/LV95, 400x400 Float32, nodata -9999, LZW,
     * no overviews; extent 7.0906249,45.9160584,7.1035698,45.9250930;
     * 2.5 m = 3.594 m projected -> z15.41 ~ z15. Coloured with viridis. The data
     * (about 1 km) is smaller than a z15 tile and its centre sits near a tile
     * corner, so even the native tile is partly empty; the edge tile is the one
     * north of it (on the northern outline). */
    { "dem", 7.0970974, 45.9205757, 7.0970974, 45.92505, 15, 1,
      7.0906249, 45.9160584, 7.1035698, 45.925093 },
};
#define NDATASETS (sizeof DATASETS / sizeof DATASETS[0])

enum kind { K_WORLD, K_OVERVIEW, K_NATIVE, K_OVERZOOM, K_EDGE, K_OUTSIDE, NKINDS };
static const char *const KIND_NAMES[NKINDS] = { "z0 world", "overview", "native",
                                                "over-zoom", "edge", "outside" };
static const char *const KIND_IDS[NKINDS] = { "world", "overview", "native",
                                              "overzoom", "edge", "outside" };

struct tile {
    const struct dataset *ds;
    enum kind kind;
    int z;
    uint64_t x, y;
    int expect; /* HTTP status */
};

/* The tile of kind k for dataset d; 0, or -1 when the kind does not apply. */
static int make_tile(const struct dataset *d, enum kind k, struct tile *t)
{
    double lon = d->lon, lat = d->lat;
    memset(t, 0, sizeof *t);
    t->ds = d;
    t->kind = k;
    t->expect = 200;
    switch (k) {
    case K_WORLD:
        t->z = 0;
        break;
    case K_OVERVIEW:
        t->z = d->native_z - 2;
        break;
    case K_NATIVE:
        t->z = d->native_z;
        break;
    case K_OVERZOOM:
        t->z = d->native_z + 2;
        break;
    case K_EDGE:
        t->z = d->native_z;
        lon = d->edge_lon;
        lat = d->edge_lat;
        break;
    case K_OUTSIDE:
        if (!d->has_outside)
            return -1;
        /* The antipode of the centre. */
        t->z = d->native_z;
        lon = d->lon > 0 ? d->lon - 180.0 : d->lon + 180.0;
        lat = -d->lat;
        t->expect = 404;
        break;
    default:
        return -1;
    }
    if (t->z < 0)
        t->z = 0;
    return tilemath_lonlat_to_tile(lon, lat, t->z, &t->x, &t->y) ? -1 : 0;
}

/* Milliseconds for a table cell: 3 decimals below 1 ms, else 2. */
static const char *fmt_ms(char *buf, size_t cap, double ms)
{
    snprintf(buf, cap, ms < 1.0 ? "%.3f" : "%.2f", ms);
    return buf;
}

static double peak_rss_mib(void)
{
    return (double)bench_peak_rss_kib() / 1024.0;
}

/* Share of pixels with alpha > 0, in percent. */
static double coverage(const uint8_t *rgba, int w, int h)
{
    size_t n = (size_t)w * (size_t)h, set = 0;
    for (size_t i = 0; i < n; i++)
        set += rgba[4 * i + 3] != 0;
    return n ? 100.0 * (double)set / (double)n : 0.0;
}

struct encode_stats {
    double median, p95;
    size_t bytes;
    int ok;
};

/* Times pngenc_rgba() on rgba iter times into times[]. */
static void mem_write(png_structp png, png_bytep data, png_size_t n)
{
    size_t *total = png_get_io_ptr(png);
    *total += n;
    (void)data;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* The baseline: a plain 8-bit RGBA PNG at zlib level 6 with libpng's default
 * filters, what rio-tiler/TiTiler write. Returns its bytes and sets *ms. */
static size_t baseline_rgba6(const uint8_t *rgba, int w, int h, double *ms)
{
    size_t total = 0;
    double t0 = bench_now_ms();
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_set_write_fn(png, &total, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGBA,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(rgba + (size_t)y * (size_t)w * 4));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *ms = bench_now_ms() - t0;
    return total;
}

static struct encode_stats time_encode(const uint8_t *rgba, int w, int h, int iter,
                                       double *times)
{
    struct encode_stats s = { 0 };
    s.ok = 1;
    for (int i = 0; i < iter; i++) {
        struct pngbuf pb;
        double t0 = bench_now_ms();
        int err = pngenc_rgba(rgba, w, h, &pb);
        times[i] = bench_now_ms() - t0;
        if (err)
            s.ok = 0;
        s.bytes = pb.len;
        pngbuf_free(&pb);
    }
    s.median = bench_percentile(times, (size_t)iter, 0.5);
    s.p95 = bench_percentile(times, (size_t)iter, 0.95);
    return s;
}

/* Median of raster_read() alone (the GDAL warp into a tile buffer) for t. */
static double time_read(struct worker *wk, const struct tile *t, int iter, double *times)
{
    const struct layer_conf *l = config_find(app_config(worker_app(wk)), t->ds->layer, strlen(t->ds->layer));
    struct raster *r = NULL;
    struct bbox merc;
    char msg[256];
    if (!l || app_raster(wk, l, &r, msg, sizeof msg) || tilemath_bounds(t->z, t->x, t->y, &merc))
        return -1.0;
    for (int i = 0; i < iter; i++) {
        struct raster_tile rt;
        double t0 = bench_now_ms();
        int err = raster_read(r, &merc, TILE_PX, NULL, &rt, msg, sizeof msg);
        times[i] = bench_now_ms() - t0;
        raster_tile_free(&rt);
        if (err)
            return -1.0;
    }
    return bench_percentile(times, (size_t)iter, 0.5);
}

/* A decoded tile kept for the PNG-encoding section. */
struct sample {
    char what[64];
    uint8_t *rgba;
    int w, h;
    size_t handler_bytes; /* 0: not a handler's tile */
    size_t rgba6_bytes;   /* the baseline_rgba6() encode */
};

/* DEM tiles at least this covered count as well-covered: the paletted tiles
 * whose size the encoding section compares with a plain RGBA PNG. The DEM is
 * smaller than a z15 tile, so its native tiles are about 35 % covered. */
#define WELL_COVERED_PCT 30.0
#define MAX_SAMPLES 16

/* One event of each kind for the tile PATH (printf argument). */
static const struct {
    const char *kind, *fmt;
} EVENTS[] = {
    { "HTTP API 2.0",
      "{\"version\":\"2.0\",\"routeKey\":\"$default\",\"rawPath\":\"%s\","
      "\"rawQueryString\":\"a=1&a=2\",\"headers\":{\"accept\":\"image/png\","
      "\"host\":\"x.execute-api.us-east-1.amazonaws.com\"},\"requestContext\":{"
      "\"domainName\":\"x.execute-api.us-east-1.amazonaws.com\",\"http\":{\"method\":"
      "\"GET\",\"path\":\"%s\"},\"stage\":\"$default\"},\"isBase64Encoded\":false}" },
    { "REST 1.0",
      "{\"resource\":\"/{proxy+}\",\"path\":\"%s\",\"httpMethod\":\"GET\","
      "\"headers\":{\"Accept\":\"image/png\"},\"multiValueHeaders\":{\"Accept\":"
      "[\"image/png\"]},\"queryStringParameters\":null,\"multiValueQueryStringParameters\":"
      "null,\"requestContext\":{\"stage\":\"prod\",\"path\":\"/prod%s\"},"
      "\"body\":null,\"isBase64Encoded\":false}" },
    { "ALB",
      "{\"requestContext\":{\"elb\":{\"targetGroupArn\":\"arn:aws:elasticloadbalancing:"
      "us-east-1:123456789012:targetgroup/t/1\"}},\"httpMethod\":\"GET\",\"path\":\"%s\","
      "\"queryStringParameters\":{},\"headers\":{\"accept\":\"image/png\"},"
      "\"body\":\"\",\"isBase64Encoded\":false}" },
};

/* Lambda per-invocation overhead without the render (event parse, routing,
 * base64 and the response JSON, on a real 97 KB tile body), and 10,000
 * invocations through runtime_invoke() with the peak RSS along the way. */
static int bench_lambda(struct worker *wk, int iter, double *times)
{
    const char *tile = "/tiles/bluemarble/2/1/1.png";
    struct request treq = { .method = "GET", .path = tile, .query = NULL, .nquery = 0,
                            .headers = NULL, .nheaders = 0, .deadline_ms = 0, .base_path = NULL };
    struct response tile_resp;
    handler_handle(wk, &treq, &tile_resp);
    if (tile_resp.status != 200) {
        fprintf(stderr, "bench_tiles: %s answered %d\n", tile, tile_resp.status);
        response_free(&tile_resp);
        return 1;
    }
    printf("\n### Lambda invocation overhead (no render; %zu-byte PNG body, %d calls)\n\n",
           tile_resp.len, iter);
    printf("| event | median us | p95 us | response JSON bytes |\n|---|---:|---:|---:|\n");
    char event[4096];
    for (size_t e = 0; e < sizeof EVENTS / sizeof EVENTS[0]; e++) {
        snprintf(event, sizeof event, EVENTS[e].fmt, tile, tile);
        size_t out_len = 0;
        for (int i = 0; i < iter; i++) {
            double t0 = bench_now_ms();
            struct event *ev = NULL;
            char msg[256], *json = NULL;
            struct route rt;
            if (event_parse(event, strlen(event), &ev, msg, sizeof msg) || event_error(ev)) {
                fprintf(stderr, "bench_tiles: %s event rejected: %s\n", EVENTS[e].kind, msg);
                event_free(ev);
                response_free(&tile_resp);
                return 1;
            }
            const struct request *r = event_request(ev);
            route_parse(r->path, strlen(r->path), &rt);
            event_response(ev, &tile_resp, &json, &out_len);
            free(json);
            event_free(ev);
            times[i] = (bench_now_ms() - t0) * 1000.0;
        }
        printf("| %s | %.1f | %.1f | %zu |\n", EVENTS[e].kind, bench_percentile(times, (size_t)iter, 0.5),
               bench_percentile(times, (size_t)iter, 0.95), out_len);
    }
    response_free(&tile_resp);

    /* A cheap tile (the empty z0 tile of rgb3857), so 10,000 fit in seconds. */
    const int total = 10000;
    snprintf(event, sizeof event, EVENTS[0].fmt, "/tiles/rgb3857/0/0/0.png",
             "/tiles/rgb3857/0/0/0.png");
    printf("\n### 10,000 invocations through runtime_invoke() (rgb3857 0/0/0)\n\n");
    printf("| after invocation | peak RSS MiB |\n|---:|---:|\n");
    /* the log line per invocation would dominate; send it away */
    fflush(stderr);
    FILE *saved = stderr;
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull)
        stderr = devnull;
    int rc = 0;
    double t0 = bench_now_ms();
    for (int i = 1; i <= total; i++) {
        char *json = NULL, msg[256];
        size_t n;
        if (runtime_invoke(&handler_service, wk, event, strlen(event), 0, "bench", &json, &n, msg, sizeof msg)) {
            rc = 1;
            break;
        }
        free(json);
        if (i == 100 || i == 1000 || i == total) {
            stderr = saved;
            printf("| %d | %.1f |\n", i, peak_rss_mib());
            stderr = devnull ? devnull : saved;
        }
    }
    double ms = bench_now_ms() - t0;
    stderr = saved;
    if (devnull)
        fclose(devnull);
    printf("\n%d invocations in %.0f ms (%.3f ms each, render included)\n", total, ms,
           ms / total);
    return rc;
}

/* The seeded tile list: per dataset and kind, the hand-picked tile of
 * make_tile() and then random ones up to LIST_COUNT[kind], drawn with splitmix64
 * (the same sequence on every machine) from a state that depends only on the
 * seed and the dataset's position, so adding a dataset leaves the others'
 * tiles alone. A drawn tile already in the dataset's list is drawn again. */
static const int LIST_COUNT[NKINDS] = { 3, 4, 6, 3, 3, 2 };
#define LIST_MAX 32
#define DEFAULT_SEED 8

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static double rng_uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* Uniform in lo..hi, both included. */
static int rng_int(uint64_t *s, int lo, int hi)
{
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

/* One random tile of kind k for d; 0, or -1 when the draw does not fit the kind. */
static int draw_tile(const struct dataset *d, enum kind k, int nth, uint64_t *s, struct tile *t)
{
    const double south = d->south > -TILEMATH_MAXLAT ? d->south : -TILEMATH_MAXLAT;
    const double north = d->north < TILEMATH_MAXLAT ? d->north : TILEMATH_MAXLAT;
    /* edge points sit this far inside the outline, so their tile touches the data */
    const double inset_x = (d->east - d->west) * 1e-4, inset_y = (north - south) * 1e-4;
    const int nz = d->native_z;
    double lon = rng_uniform(s, d->west, d->east), lat = rng_uniform(s, south, north);
    memset(t, 0, sizeof *t);
    t->ds = d;
    t->kind = k;
    t->expect = 200;
    switch (k) {
    case K_WORLD: /* z1, z2, ...: the n-th extra world tile is at zoom n */
        t->z = nth;
        break;
    case K_OVERVIEW:
        t->z = rng_int(s, nz >= 3 ? nz - 3 : 0, nz >= 1 ? nz - 1 : 0);
        break;
    case K_NATIVE:
        t->z = nz;
        break;
    case K_OVERZOOM:
        t->z = rng_int(s, nz + 1, nz + 3);
        break;
    case K_EDGE:
        t->z = nz;
        switch (rng_int(s, 0, 3)) {
        case 0: lon = d->west + inset_x; break;
        case 1: lon = d->east - inset_x; break;
        case 2: lat = south + inset_y; break;
        default: lat = north - inset_y; break;
        }
        break;
    case K_OUTSIDE: {
        if (!d->has_outside)
            return -1;
        t->z = nz;
        t->expect = 404;
        lon = rng_uniform(s, -180.0, 180.0);
        lat = rng_uniform(s, -TILEMATH_MAXLAT, TILEMATH_MAXLAT);
        struct bbox b;
        if (tilemath_lonlat_to_tile(lon, lat, t->z, &t->x, &t->y) ||
            tilemath_bounds_lonlat(t->z, t->x, t->y, &b))
            return -1;
        /* two tiles of margin around the data's box */
        double m = 2.0 * 360.0 / (double)(1ull << t->z);
        if (b.maxx > d->west - m && b.minx < d->east + m && b.maxy > d->south - m &&
            b.miny < d->north + m)
            return -1;
        return 0;
    }
    default:
        return -1;
    }
    return tilemath_lonlat_to_tile(lon, lat, t->z, &t->x, &t->y) ? -1 : 0;
}

static int same_tile(const struct tile *a, const struct tile *b)
{
    return a->z == b->z && a->x == b->x && a->y == b->y;
}

/* Fills list[] (LIST_MAX entries) with dataset i's tiles, grouped by kind;
 * returns how many. A drawn tile equal to any tile already listed or
 * hand-picked is drawn again (up to 200 draws per kind, so a small dataset
 * may get fewer tiles of a kind). */
static size_t dataset_tiles(size_t i, uint64_t seed, struct tile *list)
{
    const struct dataset *d = &DATASETS[i];
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + (uint64_t)(i + 1);
    struct tile picked[NKINDS];
    int has[NKINDS];
    for (int k = 0; k < NKINDS; k++)
        has[k] = make_tile(d, (enum kind)k, &picked[k]) == 0;
    size_t n = 0;
    for (int k = 0; k < NKINDS; k++) {
        int have = 0;
        if (has[k] && n < LIST_MAX) {
            list[n++] = picked[k];
            have++;
        }
        for (int tries = 0; have < LIST_COUNT[k] && n < LIST_MAX && tries < 200; tries++) {
            struct tile t;
            if (draw_tile(d, (enum kind)k, have, &s, &t))
                continue;
            int dup = 0;
            for (size_t j = 0; j < n && !dup; j++)
                dup = same_tile(&list[j], &t);
            for (int j = 0; j < NKINDS && !dup; j++)
                dup = has[j] && same_tile(&picked[j], &t);
            if (dup)
                continue;
            list[n++] = t;
            have++;
        }
    }
    return n;
}

static int list_tiles(uint64_t seed)
{
    for (size_t i = 0; i < NDATASETS; i++) {
        struct tile list[LIST_MAX];
        size_t n = dataset_tiles(i, seed, list);
        for (size_t j = 0; j < n; j++)
            printf("%s %s %d %llu %llu %d\n", list[j].ds->layer, KIND_IDS[list[j].kind], list[j].z,
                   (unsigned long long)list[j].x, (unsigned long long)list[j].y, list[j].expect);
    }
    return 0;
}

/* ITER from text: 1..100000, else -1 with a message. */
static int parse_iter(const char *text)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < 1 || v > 100000) {
        fprintf(stderr, "bench_tiles: ITER must be 1..100000, got %s\n", text);
        return -1;
    }
    return (int)v;
}

/* The app of configuration file path with the one worker the bench uses,
 * or NULL with a message. Free with close_app(). */
static struct worker *open_app(const char *path)
{
    char msg[512];
    struct config cfg;
    if (config_load(path, &cfg, msg, sizeof msg)) {
        fprintf(stderr, "bench_tiles: %s\n", msg);
        return NULL;
    }
    struct app *app = NULL;
    struct worker *wk = NULL;
    if (app_create(&cfg, &app) || app_worker_new(app, &wk)) {
        config_free(&cfg);
        app_destroy(app);
        fprintf(stderr, "bench_tiles: cannot create the app\n");
        return NULL;
    }
    return wk;
}

static void close_app(struct worker *wk)
{
    struct app *app = worker_app(wk);
    app_worker_free(wk);
    app_destroy(app);
}

/* One line of a tile list: "LAYER KIND Z X Y STATUS [QUERY]". QUERY (no
 * spaces, no percent-encoding) is "key=value&key=value..." (bench/overlay.sh:
 * bidx=4, resampling=bilinear&rescale=0,100). */
#define LISTED_MAX_QUERY 8
struct listed {
    char layer[65], kind[16];
    int z;
    unsigned long long x, y;
    int expect;
    char path[128];
    char query[256];             /* as listed, "" for none */
    char qbuf[256];              /* a copy split into pairs[] */
    struct kv pairs[LISTED_MAX_QUERY];
    size_t npairs;
    int failed;
};

/* Splits a copy of t->query into t->pairs; -1 when it has too many pairs or one without '='. */
static int split_query(struct listed *t)
{
    t->npairs = 0;
    memcpy(t->qbuf, t->query, sizeof t->qbuf);
    for (char *p = t->qbuf; *p;) {
        char *amp = strchr(p, '&'), *eq = strchr(p, '=');
        if (amp)
            *amp = '\0';
        if (!eq || (amp && eq > amp) || t->npairs == LISTED_MAX_QUERY)
            return -1;
        *eq = '\0';
        t->pairs[t->npairs].key = p;
        t->pairs[t->npairs].value = eq + 1;
        t->npairs++;
        if (!amp)
            break;
        p = amp + 1;
    }
    return 0;
}

/* Reads a --list file into *out (caller frees); returns the count, -1 on error. */
static long read_list(const char *file, struct listed **out)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "bench_tiles: cannot read %s\n", file);
        return -1;
    }
    struct listed *v = NULL;
    size_t n = 0, cap = 0;
    char line[256];
    long rc = 0;
    while (fgets(line, sizeof line, f)) {
        struct listed t = { 0 };
        if (line[0] == '\n' || line[0] == '#')
            continue;
        int got = sscanf(line, "%64s %15s %d %llu %llu %d %255s", t.layer, t.kind, &t.z, &t.x,
                         &t.y, &t.expect, t.query);
        if (got < 6) {
            fprintf(stderr, "bench_tiles: %s: bad line: %s", file, line);
            rc = -1;
            break;
        }
        snprintf(t.path, sizeof t.path, "/tiles/%s/%d/%llu/%llu.png", t.layer, t.z, t.x, t.y);
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct listed *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = -1;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[n++] = t;
    }
    fclose(f);
    /* the pairs point into v[i].qbuf: split once v no longer moves */
    for (size_t i = 0; !rc && i < n; i++)
        if (split_query(&v[i])) {
            fprintf(stderr, "bench_tiles: %s: bad query (at most %d key=value pairs): %s\n",
                    file, LISTED_MAX_QUERY, v[i].query);
            rc = -1;
        }
    if (rc) {
        free(v);
        return -1;
    }
    *out = v;
    return (long)n;
}

/* The start of the modes over a tile list, "MODE CONFIG TILES ITER" in
 * argv[0..4): the list read, ITER parsed, the app opened. 0, or 2 after a
 * message (nothing to free). */
static int open_listed(int argc, char **argv, const char *mode, struct listed **tiles, long *n,
                       int *iter, struct worker **wk)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_tiles %s CONFIG TILES ITER\n", mode);
        return 2;
    }
    *tiles = NULL;
    *iter = parse_iter(argv[3]);
    *n = read_list(argv[2], tiles);
    if (*iter < 0 || *n < 0) {
        free(*tiles); /* set only when the list was read */
        return 2;
    }
    if (!(*wk = open_app(argv[1]))) {
        free(*tiles);
        return 2;
    }
    return 0;
}

/* --formats: every 200 tile of the list in each format, warm and in process:
 * one untimed pass, then iter passes alternating the formats tile by tile.
 * Prints per dataset the bytes per tile, the handler's median and p95 and the
 * encode alone (imgenc_rgba on the decoded PNG tile; WebP both ways), then
 * the cost of a million tiles with delivery. */
enum { NFMT = 4 };
static const char *const FMT_EXT[NFMT] = { "png", "webp", "jpg", "tif" };

/* Delivery prices (us-east-1 / North America, on-demand, first tier): CloudFront
 * egress to the internet per GB, CloudFront HTTPS requests, API Gateway HTTP
 * API requests; Lambda's from bench_lambda_usd() at one vCPU. Origin fetches
 * from an AWS origin to CloudFront are free. */
#define CF_EGRESS_USD_PER_GB 0.085
#define CF_HTTPS_USD_PER_M 1.00
#define HTTP_API_USD_PER_M 1.00

static double encode_median(const uint8_t *rgba, int w, int h, const struct img_opts *o,
                            int iter, double *times, size_t *bytes)
{
    for (int n = 0; n < iter; n++) {
        struct pngbuf b;
        double t0 = bench_now_ms();
        int err = imgenc_rgba(rgba, w, h, o, &b);
        times[n] = bench_now_ms() - t0;
        *bytes = err ? 0 : b.len;
        pngbuf_free(&b);
    }
    return bench_percentile(times, (size_t)iter, 0.5);
}

static int formats_main(int argc, char **argv)
{
    struct listed *tiles;
    long n;
    int iter;
    struct worker *wk;
    if (open_listed(argc, argv, "--formats", &tiles, &n, &iter, &wk))
        return 2;
    long m = 0; /* the tiles that answer 200 */
    for (long i = 0; i < n; i++)
        if (tiles[i].expect == 200)
            tiles[m++] = tiles[i];
    double *wall = calloc((size_t)(m ? m : 1) * NFMT * (size_t)iter, sizeof *wall);
    double *times = calloc((size_t)iter, sizeof *times);
    double bytes[NFMT] = { 0 }, enc[5] = { 0 }, encb[5] = { 0 };
    int rc = 0, nenc = 0;
    if (!wall || !times) {
        rc = 2;
        goto done;
    }
    for (int pass = 0; pass <= iter; pass++)
        for (long i = 0; i < m; i++)
            for (int f = 0; f < NFMT; f++) {
                char path[160];
                snprintf(path, sizeof path, "/tiles/%s/%d/%llu/%llu.%s", tiles[i].layer,
                         tiles[i].z, tiles[i].x, tiles[i].y, FMT_EXT[f]);
                struct request req = { .method = "GET", .path = path,
                                       .query = tiles[i].npairs ? tiles[i].pairs : NULL,
                                       .nquery = tiles[i].npairs };
                struct response resp;
                double t0 = bench_now_ms();
                handler_handle(wk, &req, &resp);
                double ms = bench_now_ms() - t0;
                if (resp.status != 200) {
                    if (!tiles[i].failed)
                        fprintf(stderr, "bench_tiles: %s: HTTP %d: %s\n", path, resp.status,
                                resp.detail);
                    tiles[i].failed = 1;
                    rc = 1;
                }
                if (pass > 0)
                    wall[((size_t)i * NFMT + (size_t)f) * (size_t)iter + (size_t)(pass - 1)] = ms;
                else
                    bytes[f] += (double)resp.len / (double)(m ? m : 1);
                int w = 0, h = 0;
                uint8_t *rgba = pass == 0 && f == 0 && resp.status == 200
                                    ? bench_png_decode(resp.body, resp.len, &w, &h)
                                    : NULL;
                response_free(&resp);
                if (!rgba)
                    continue;
                static const struct img_opts opts[5] = {
                    { IMG_PNG, 0, 0 }, { IMG_WEBP, 0, 0 }, { IMG_WEBP, 1, 0 }, { IMG_JPEG, 0, 0 },
                };
                for (int k = 0; k < 4; k++) {
                    size_t b = 0;
                    enc[k] += encode_median(rgba, w, h, &opts[k], iter, times, &b);
                    encb[k] += (double)b;
                }
                nenc++;
                free(rgba);
            }
    const char *layer = m ? tiles[0].layer : "-";
    printf("\n#### %s (%ld tiles, %d passes)\n\n", layer, m, iter);
    printf("| format | mean bytes | bytes / PNG | tile median ms | tile p95 ms | $ egress per 1M "
           "| $ Lambda per 1M | $ requests per 1M | $ total per 1M | largest term |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int f = 0; f < NFMT; f++) {
        size_t k = 0, cnt = (size_t)m * (size_t)iter;
        double *all = malloc((cnt ? cnt : 1) * sizeof *all);
        if (!all)
            continue;
        for (long i = 0; i < m; i++)
            for (int p = 0; p < iter; p++)
                all[k++] = wall[((size_t)i * NFMT + (size_t)f) * (size_t)iter + (size_t)p];
        double med = bench_percentile(all, k, 0.5), p95 = bench_percentile(all, k, 0.95);
        free(all);
        /* a million tiles, each rendered once and delivered once */
        double egress = bytes[f] * 1e6 / 1e9 * CF_EGRESS_USD_PER_GB;
        double billed = ceil(med) < 1 ? 1 : ceil(med);
        double lambda = bench_lambda_usd(billed, BENCH_LAMBDA_ONE_VCPU_MB);
        double reqs = CF_HTTPS_USD_PER_M + HTTP_API_USD_PER_M;
        const char *big = egress >= lambda && egress >= reqs ? "egress"
                          : lambda >= reqs                   ? "Lambda"
                                                             : "requests";
        printf("| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s |\n", FMT_EXT[f],
               bytes[f], bytes[0] > 0 ? bytes[f] / bytes[0] : 0, med, p95, egress, lambda, reqs,
               egress + lambda + reqs, big);
    }
    if (nenc) {
        static const char *const names[4] = { "PNG", "WebP lossless", "WebP lossy (q80)",
                                              "JPEG (q85)" };
        printf("\nEncode alone (imgenc_rgba on the decoded PNG tiles, mean of the per-tile "
               "medians of %d calls):\n\n| encoder | ms | bytes |\n|---|---:|---:|\n", iter);
        for (int k = 0; k < 4; k++)
            printf("| %s | %.2f | %.0f |\n", names[k], enc[k] / nenc, encb[k] / nenc);
    }
done:
    free(wall);
    free(times);
    free(tiles);
    close_app(wk);
    return rc;
}

/* --warm: one untimed pass over the list (opens the sources, fills GDAL's
 * caches), then iter timed passes; each timed call prints
 * "S warm LAYER KIND Z/X/Y STATUS WALL_MS CPU_MS BYTES", and at the end
 * "M warm LAYER PEAK_RSS_KIB" for each layer (the process's peak so far). Passes
 * go through the whole list, so consecutive calls render different tiles. */
static int warm_main(int argc, char **argv)
{
    struct listed *tiles;
    long n;
    int iter;
    struct worker *wk;
    if (open_listed(argc, argv, "--warm", &tiles, &n, &iter, &wk))
        return 2;
    int rc = 0;
    for (int pass = 0; pass <= iter; pass++) {
        for (long i = 0; i < n; i++) {
            struct listed *t = &tiles[i];
            struct request req = { .method = "GET", .path = t->path,
                                   .query = t->npairs ? t->pairs : NULL, .nquery = t->npairs,
                                   .headers = NULL, .nheaders = 0, .deadline_ms = 0,
                                   .base_path = NULL };
            struct response resp;
            double c0 = bench_cpu_ms(), t0 = bench_now_ms();
            handler_handle(wk, &req, &resp);
            double wall = bench_now_ms() - t0, cpu = bench_cpu_ms() - c0;
            if (resp.status != t->expect && !t->failed) {
                fprintf(stderr, "bench_tiles: %s%s%s: HTTP %d, expected %d: %s\n", t->path,
                        t->npairs ? "?" : "", t->query, resp.status, t->expect, resp.detail);
                t->failed = 1;
                rc = 1;
            }
            if (pass > 0)
                printf("S warm %s %s %d/%llu/%llu %d %.4f %.4f %zu\n", t->layer, t->kind, t->z,
                       t->x, t->y, resp.status, wall, cpu, resp.status == 200 ? resp.len : 0);
            response_free(&resp);
        }
    }
    for (long i = 0; i < n; i++) {
        int seen = 0;
        for (long j = 0; j < i && !seen; j++)
            seen = strcmp(tiles[j].layer, tiles[i].layer) == 0;
        if (!seen)
            printf("M warm %s %ld\n", tiles[i].layer, bench_peak_rss_kib());
    }
    free(tiles);
    close_app(wk);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--list") == 0 && argc <= 3) {
        uint64_t seed = argc == 3 ? strtoull(argv[2], NULL, 10) : DEFAULT_SEED;
        return list_tiles(seed);
    }
    if (argc >= 2 && strcmp(argv[1], "--warm") == 0)
        return warm_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--formats") == 0)
        return formats_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--time") == 0)
        return bench_time_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--check") == 0)
        return bench_check_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--report") == 0)
        return bench_report_main(argc - 1, argv + 1);
    if (argc < 2 || argc > 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bench_tiles CONFIG.json [ITER]\n"
                        "       bench_tiles --list [SEED]\n"
                        "       bench_tiles --warm CONFIG TILES ITER\n"
                        "       bench_tiles --formats CONFIG TILES ITER\n"
                        "       bench_tiles --time STATS -- CMD [ARG...] [-- CMD [ARG...]]...\n"
                        "       bench_tiles --check A.png B.png\n"
                        "       bench_tiles --report SAMPLES\n");
        return 2;
    }
    int iter = argc == 3 ? parse_iter(argv[2]) : DEFAULT_ITER;
    if (iter < 0)
        return 2;

    char msg[512];
    struct worker *wk = open_app(argv[1]);
    if (!wk)
        return 2;
    double *times = malloc((size_t)iter * sizeof *times);
    if (!times) {
        close_app(wk);
        return 2;
    }
    int rc = 0;

    for (size_t i = 0; i < NDATASETS; i++)
        if (!config_find(app_config(worker_app(wk)), DATASETS[i].layer, strlen(DATASETS[i].layer))) {
            fprintf(stderr, "bench_tiles: layer \"%s\" is not in %s\n", DATASETS[i].layer,
                    argv[1]);
            rc = 2;
            goto done;
        }

    /* Layers: time the first open of each. */
    printf("### Layers\n\n");
    printf("| layer | source | size | bands | overviews | open ms |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < NDATASETS; i++) {
        const char *name = DATASETS[i].layer;
        const struct layer_conf *l = config_find(app_config(worker_app(wk)), name, strlen(name));
        struct raster *r = NULL;
        double t0 = bench_now_ms();
        int err = app_raster(wk, l, &r, msg, sizeof msg);
        double open_ms = bench_now_ms() - t0;
        if (err) {
            fprintf(stderr, "bench_tiles: layer %s: %s\n", name, msg);
            rc = 2;
            goto done;
        }
        const struct raster_info *in = raster_get_info(r);
        const char *base = strrchr(l->source, '/');
        printf("| %s | %s%s%s | %dx%d | %d%s %s | %d | %.1f |\n", name, base ? base + 1 : l->source,
               l->colormap ? ", colormap " : "", l->colormap ? l->colormap : "", in->width,
               in->height, in->nbands, in->has_alpha ? "+alpha" : "",
               in->is_byte ? "Byte" : "non-Byte", in->noverviews, open_ms);
    }

    printf("\n### Tiles (%d px, %d timed calls each after one first call)\n\n", TILE_PX, iter);
    printf("| layer | kind | z/x/y | status | 1st ms | median ms | p95 ms | read ms | "
           "encode ms | PNG bytes | RGBA-6 bytes (ms) | bytes/RGBA-6 | cover %% | "
           "peak RSS MiB |\n");
    printf("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");

    struct sample samples[MAX_SAMPLES] = { { "opaque (bluemarble native)", NULL, 0, 0, 0, 0 },
                                           { "with transparency (tci edge)", NULL, 0, 0, 0, 0 },
                                           { "empty (256 px, clear)", NULL, 0, 0, 0, 0 } };
    size_t nsamples = 3;
    samples[2].rgba = calloc((size_t)TILE_PX * TILE_PX, 4);
    samples[2].w = samples[2].h = TILE_PX;
    for (size_t i = 0; i < NDATASETS; i++) {
        for (int k = 0; k < NKINDS; k++) {
            struct tile t;
            if (make_tile(&DATASETS[i], (enum kind)k, &t))
                continue;
            char path[256];
            snprintf(path, sizeof path, "/tiles/%s/%d/%llu/%llu.png", t.ds->layer, t.z,
                     (unsigned long long)t.x, (unsigned long long)t.y);
            struct request req = { .method = "GET", .path = path, .query = NULL, .nquery = 0,
                                   .headers = NULL, .nheaders = 0, .deadline_ms = 0,
                                   .base_path = NULL };
            struct response resp;

            double t0 = bench_now_ms();
            handler_handle(wk, &req, &resp);
            double first = bench_now_ms() - t0;
            int status = resp.status;
            size_t bytes = resp.len;
            uint8_t *rgba = NULL;
            int w = 0, h = 0;
            if (status == 200 && !(rgba = bench_png_decode(resp.body, resp.len, &w, &h))) {
                fprintf(stderr, "bench_tiles: %s: the handler's PNG does not decode\n", path);
                rc = 1;
            }
            if (status != t.expect)
                fprintf(stderr, "bench_tiles: %s: HTTP %d, expected %d: %s\n", path, status,
                        t.expect, resp.detail);
            response_free(&resp);

            int changed = 0;
            for (int n = 0; n < iter; n++) {
                t0 = bench_now_ms();
                handler_handle(wk, &req, &resp);
                times[n] = bench_now_ms() - t0;
                changed |= resp.status != status || resp.len != bytes;
                response_free(&resp);
            }
            double med = bench_percentile(times, (size_t)iter, 0.5);
            double p95 = bench_percentile(times, (size_t)iter, 0.95);
            if (changed) {
                fprintf(stderr, "bench_tiles: %s: answers differ between calls\n", path);
                rc = 1;
            }

            char read_s[32] = "-", enc_s[32] = "-", cover_s[32] = "-", base_s[48] = "-";
            char ratio_s[16] = "-";
            size_t bb = 0;
            double cover = 0;
            if (status == 200) {
                double rd = time_read(wk, &t, iter, times);
                if (rd >= 0)
                    fmt_ms(read_s, sizeof read_s, rd);
            }
            if (rgba) {
                struct encode_stats es = time_encode(rgba, w, h, iter, times);
                if (es.ok)
                    fmt_ms(enc_s, sizeof enc_s, es.median);
                cover = coverage(rgba, w, h);
                snprintf(cover_s, sizeof cover_s, "%.1f", cover);
                double bms = 0;
                bb = baseline_rgba6(rgba, w, h, &bms);
                if (bb) {
                    snprintf(base_s, sizeof base_s, "%zu (%.2f)", bb, bms);
                    snprintf(ratio_s, sizeof ratio_s, "%.2f", (double)bytes / (double)bb);
                }
            }

            const char *mark = "";
            if (status != t.expect) {
                mark = t.expect == 200 ? " (want 200!)" : " (want 404!)";
                rc = 1;
            }
            char first_s[32], med_s[32], p95_s[32];
            printf("| %s | %s | %d/%llu/%llu | %d%s | %s | %s | %s | %s | %s | %zu | %s | %s | "
                   "%s | %.1f |\n",
                   t.ds->layer, KIND_NAMES[k], t.z, (unsigned long long)t.x,
                   (unsigned long long)t.y, status, mark, fmt_ms(first_s, sizeof first_s, first),
                   fmt_ms(med_s, sizeof med_s, med), fmt_ms(p95_s, sizeof p95_s, p95), read_s,
                   enc_s, status == 200 ? bytes : (size_t)0, base_s, ratio_s, cover_s,
                   peak_rss_mib());
            fflush(stdout);

            struct sample *keep = NULL;
            if (i == 0 && k == K_NATIVE)
                keep = &samples[0];
            else if (strcmp(t.ds->layer, "tci") == 0 && k == K_EDGE)
                keep = &samples[1];
            else if (strcmp(t.ds->layer, "dem") == 0 && cover >= WELL_COVERED_PCT &&
                     nsamples < MAX_SAMPLES) {
                keep = &samples[nsamples++];
                snprintf(keep->what, sizeof keep->what, "paletted (dem %s %d/%llu/%llu)",
                         KIND_IDS[k], t.z, (unsigned long long)t.x, (unsigned long long)t.y);
            }
            if (keep && rgba && !keep->rgba) {
                keep->rgba = rgba;
                keep->w = w;
                keep->h = h;
                keep->handler_bytes = bytes;
                keep->rgba6_bytes = bb;
                rgba = NULL;
            }
            free(rgba);
        }
    }

    printf("\n### PNG encoding alone (pngenc_rgba on a decoded handler tile, %d calls)\n\n",
           iter);
    printf("| tile | median ms | p95 ms | PNG bytes | RGBA-6 bytes | bytes/RGBA-6 |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    double ratios[MAX_SAMPLES];
    size_t nratios = 0;
    for (size_t s = 0; s < nsamples; s++) {
        if (!samples[s].rgba) {
            printf("| %s | - | - | - | - | - |\n", samples[s].what);
            continue;
        }
        struct encode_stats es = time_encode(samples[s].rgba, samples[s].w, samples[s].h, iter,
                                             times);
        if (!samples[s].rgba6_bytes) {
            double bms;
            samples[s].rgba6_bytes = baseline_rgba6(samples[s].rgba, samples[s].w,
                                                    samples[s].h, &bms);
        }
        double ratio = samples[s].rgba6_bytes ? (double)es.bytes / (double)samples[s].rgba6_bytes
                                              : 0.0;
        if (s >= 3)
            ratios[nratios++] = ratio;
        char med_s[32], p95_s[32];
        printf("| %s | %s | %s | %zu | %zu | %.2f |\n", samples[s].what,
               fmt_ms(med_s, sizeof med_s, es.median), fmt_ms(p95_s, sizeof p95_s, es.p95),
               es.bytes, samples[s].rgba6_bytes, ratio);
        if (!es.ok || (samples[s].handler_bytes && es.bytes != samples[s].handler_bytes)) {
            fprintf(stderr, "bench_tiles: re-encoding %s gave %zu bytes, the handler %zu\n",
                    samples[s].what, es.bytes, samples[s].handler_bytes);
            rc = 1;
        }
        free(samples[s].rgba);
    }
    if (nratios)
        printf("\nPaletted DEM tiles (cover >= %.0f %%): median %.3f of a plain RGBA PNG at "
               "level 6 (%zu tiles)\n",
               WELL_COVERED_PCT, bench_percentile(ratios, nratios, 0.5), nratios);

    if (bench_lambda(wk, iter, times))
        rc = 1;

    printf("\nPeak RSS of the process: %.1f MiB\n", peak_rss_mib());
    if (rc == 1)
        fprintf(stderr, "bench_tiles: some tiles answered unexpectedly (see above)\n");
done:
    free(times);
    close_app(wk);
    return rc;
}
