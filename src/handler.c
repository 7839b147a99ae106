#include "handler.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "assets.h"
#include "colormap.h"
#include "custom.h"
#include "err.h"
#include "route.h"
#include "tile.h"
#include "tilemath.h"

#define CACHE_STATIC "public, max-age=86400"
#define CACHE_ERROR_4XX "public, max-age=60"
#define CACHE_NONE "no-store"
#define CACHE_PAGE "public, max-age=300"

const char *request_query(const struct request *req, const char *key)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (req->query[i].key && strcmp(req->query[i].key, key) == 0)
            return req->query[i].value ? req->query[i].value : "";
    return NULL;
}

const char *request_header(const struct request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].key && strcasecmp(req->headers[i].key, name) == 0)
            return req->headers[i].value ? req->headers[i].value : "";
    return NULL;
}

size_t response_headers(const struct response *resp, struct kv *out)
{
    size_t n = 0;
    if (resp->content_type)
        out[n++] = (struct kv){ "Content-Type", resp->content_type };
    if (resp->cache_control)
        out[n++] = (struct kv){ "Cache-Control", resp->cache_control };
    if (resp->etag[0])
        out[n++] = (struct kv){ "ETag", resp->etag };
    if (resp->cors_origin)
        out[n++] = (struct kv){ "Access-Control-Allow-Origin", resp->cors_origin };
    return n;
}

void response_free(struct response *resp)
{
    if (!resp)
        return;
    if (resp->body_owned)
        free(resp->body);
    resp->body = NULL;
    resp->len = 0;
    resp->body_owned = 0;
}

/* The public message: for 4xx the detail (it is about the request); for 5xx
 * a generic text, since details may name internal paths (they go to the log). */
static void set_error(struct response *resp, int err, const char *detail)
{
    resp->status = ct_http_status(err);
    resp->content_type = "application/json";
    resp->cache_control = resp->status >= 500 ? CACHE_NONE : CACHE_ERROR_4XX;
    snprintf(resp->detail, sizeof resp->detail, "%s", detail && *detail ? detail : ct_strerror(err));
    /* Internal faults stay generic in public (the log has the detail); an
     * upstream fault says why, with the source's name already scrubbed. */
    const char *pub = resp->status < 500 || err == CT_ESOURCE ? resp->detail : ct_strerror(err);

    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "detail", pub))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text) {
        resp->body = (unsigned char *)text;
        resp->len = strlen(text);
        resp->body_owned = 1;
    } else {
        static const char oom[] = "{\"detail\":\"out of memory\"}";
        resp->status = 500;
        resp->cache_control = CACHE_NONE;
        resp->body = (unsigned char *)oom;
        resp->len = sizeof oom - 1;
    }
}

/* set_error for a failure of layer l's source: every occurrence of the
 * source's name in detail (GDAL quotes file names and URLs) becomes "source",
 * so a client learns why, not where the layer's data lives. */
static void set_source_error(struct response *resp, int err, const char *detail,
                             const struct layer_conf *l)
{
    char buf[sizeof resp->detail];
    size_t n = 0, sl = strlen(l->source);
    const char *p = detail;
    buf[0] = '\0';
    while (*p && n + 1 < sizeof buf) {
        if (sl && strncmp(p, l->source, sl) == 0) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "source");
            p += sl;
        } else {
            buf[n++] = *p++;
            buf[n] = '\0';
        }
    }
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    buf[n] = '\0';
    set_error(resp, err, buf);
}

/* FNV-1a (64 bit) of the body: a cheap, stable validator for If-None-Match. */
static void set_etag(struct response *resp)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < resp->len; i++) {
        h ^= resp->body[i];
        h *= 1099511628211ULL;
    }
    snprintf(resp->etag, sizeof resp->etag, "\"%016llx\"", (unsigned long long)h);
}

/* True when an If-None-Match value names etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (p[0] == 'W' && p[1] == '/') /* weak comparison, RFC 9110 13.1.2 */
            p += 2;
        if (*p == '*' || strncmp(p, etag, n) == 0)
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

long long handler_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_static(struct response *resp, const struct asset *a, const char *cache)
{
    resp->status = 200;
    resp->content_type = a->content_type;
    resp->cache_control = cache;
    resp->body = (unsigned char *)a->data;
    resp->len = a->len;
}

/* Reads the rendering parameters of a tile request (TiTiler's names). */
/* algorithm=hillshade|terrainrgb|terrarium and TiTiler's algorithm_params JSON
 * ({"azimuth": 315, "angle_altitude": 45, "z_factor": 1}). */
static int parse_algorithm(const struct request *req, struct tile_style *st, char *msg,
                           size_t msgcap)
{
    const char *name = request_query(req, "algorithm");
    const char *params = request_query(req, "algorithm_params");
    st->algo = ALGO_PARAMS_DEFAULT;
    if (!name) {
        if (params) {
            snprintf(msg, msgcap, "algorithm_params: given without algorithm");
            return CT_EINVAL;
        }
        return CT_OK;
    }
    enum algo_kind kind;
    if (algo_parse(name, &kind)) {
        snprintf(msg, msgcap, "algorithm: expected hillshade, terrainrgb or terrarium");
        return CT_EINVAL;
    }
    st->algorithm = 1 + (int)kind;
    /* Nearest resampling repeats rows and columns when it enlarges, which a
     * gradient shows as stripes: terrain defaults to bilinear. */
    if (kind == ALGO_HILLSHADE && !st->read.resampling)
        st->read.resampling = "bilinear";
    if (!params)
        return CT_OK;
    int err = CT_OK;
    cJSON *j = cJSON_Parse(params);
    static const char *const keys[] = { "azimuth", "angle_altitude", "z_factor" };
    double *dest[] = { &st->algo.azimuth, &st->algo.altitude, &st->algo.zfactor };
    if (!cJSON_IsObject(j)) {
        err = CT_EINVAL;
    } else {
        const cJSON *item;
        cJSON_ArrayForEach(item, j)
        {
            size_t k = 0;
            while (k < 3 && strcmp(item->string, keys[k]) != 0)
                k++;
            if (k == 3 || !cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
                err = CT_EINVAL;
                break;
            }
            *dest[k] = item->valuedouble;
        }
    }
    cJSON_Delete(j);
    if (!err && !(st->algo.altitude >= 0 && st->algo.altitude <= 90 && st->algo.zfactor > 0))
        err = CT_EINVAL;
    if (err)
        snprintf(msg, msgcap,
                 "algorithm_params: expected a JSON object of azimuth, angle_altitude (0-90) "
                 "and z_factor (> 0)");
    return err;
}

static int parse_style(const struct request *req, const struct layer_conf *l,
                       struct tile_style *st, int *size, char *msg, size_t msgcap)
{
    memset(st, 0, sizeof *st);
    const char *cm = request_query(req, "colormap_name");
    if (!cm)
        cm = l->colormap;
    if (cm && !(st->cmap = colormap_find(cm, strlen(cm)))) {
        snprintf(msg, msgcap, "colormap_name: unknown colormap \"%.40s\"", cm);
        return CT_EINVAL;
    }
    /* rescale may repeat: one range for every band, or one per band. */
    for (size_t i = 0; i < req->nquery; i++) {
        if (!req->query[i].key || strcmp(req->query[i].key, "rescale") != 0)
            continue;
        if (st->nrescale == 3) {
            snprintf(msg, msgcap, "rescale: at most 3 ranges");
            return CT_EINVAL;
        }
        const char *v = req->query[i].value ? req->query[i].value : "";
        if (route_parse_range(v, &st->rmin[st->nrescale], &st->rmax[st->nrescale])) {
            snprintf(msg, msgcap, "rescale: expected MIN,MAX with MIN < MAX");
            return CT_EINVAL;
        }
        st->nrescale++;
    }
    if (!st->nrescale && l->has_rescale) {
        st->nrescale = 1;
        st->rmin[0] = l->rescale_min;
        st->rmax[0] = l->rescale_max;
    }
    const char *ts = request_query(req, "tilesize");
    if (ts) {
        uint64_t v;
        if (route_parse_u64(ts, strlen(ts), &v) || (v != 256 && v != 512)) {
            snprintf(msg, msgcap, "tilesize: expected 256 or 512");
            return CT_EINVAL;
        }
        *size = (int)v;
    }
    const char *bidx = request_query(req, "bidx");
    if (bidx && route_parse_bidx(bidx, st->read.bands, &st->read.nbands)) {
        snprintf(msg, msgcap, "bidx: expected one band number or three (e.g. 4,3,2)");
        return CT_EINVAL;
    }
    const char *nd = request_query(req, "nodata");
    if (nd) {
        if (route_parse_number(nd, &st->read.nodata)) {
            snprintf(msg, msgcap, "nodata: expected a number or nan");
            return CT_EINVAL;
        }
        st->read.has_nodata = 1;
    }
    const char *rs = request_query(req, "resampling");
    if (rs && !(st->read.resampling = route_resampling(rs))) {
        snprintf(msg, msgcap, "resampling: expected nearest, bilinear, cubic, average or mode");
        return CT_EINVAL;
    }
    return parse_algorithm(req, st, msg, msgcap);
}

/* The layer a route names: a configured layer, or for "/cog/" routes the url=
 * source as a layer called "cog" without defaults (in *adhoc, pointing into
 * req). NULL after setting the error (404 unknown layer, 400 no url=). */
static const struct layer_conf *route_layer(struct app *app, const struct request *req,
                                            const struct route *rt, struct layer_conf *adhoc,
                                            struct response *resp)
{
    char msg[256];
    if (rt->adhoc) {
        const char *url = request_query(req, "url");
        if (!url || !*url) {
            set_error(resp, CT_EINVAL, "url: required by the /cog/ routes");
            return NULL;
        }
        memset(adhoc, 0, sizeof *adhoc);
        adhoc->name = (char *)"cog";
        adhoc->source = (char *)url;
        return adhoc;
    }
    const struct layer_conf *l = config_find(app_config(app), rt->layer.p, rt->layer.n);
    if (!l) {
        snprintf(msg, sizeof msg, "unknown layer \"%.*s\"", (int)rt->layer.n, rt->layer.p);
        set_error(resp, CT_ENOLAYER, msg);
    }
    return l;
}

/* The open dataset of l (route_layer's answer). */
static int open_layer(struct app *app, const struct route *rt, const struct layer_conf *l,
                      struct raster **r, char *msg, size_t msgcap)
{
    return rt->adhoc ? app_adhoc_raster(app, l->source, r, msg, msgcap)
                     : app_raster(app, l, r, msg, msgcap);
}

static void handle_tile(struct app *app, const struct request *req, const struct route *rt,
                        struct response *resp)
{
    char msg[256] = "";
    struct custom_cmap custom;
    struct layer_conf adhoc;
    const struct layer_conf *l = route_layer(app, req, rt, &adhoc, resp);
    if (!l)
        return;
    struct tile_style st;
    int size = 256 * rt->scale;
    int err = parse_style(req, l, &st, &size, msg, sizeof msg);
    const char *cj = request_query(req, "colormap");
    if (!err && cj) {
        char why[160];
        if (request_query(req, "colormap_name")) {
            snprintf(msg, sizeof msg, "colormap: give colormap or colormap_name, not both");
            err = CT_EINVAL;
        } else if (custom_parse(cj, strlen(cj), &custom, why, sizeof why)) {
            snprintf(msg, sizeof msg, "colormap: %s", why);
            err = CT_EINVAL;
        } else {
            st.custom = &custom;
        }
    }
    struct raster *r = NULL;
    struct pngbuf png = { 0 };
    if (!err && req->deadline_ms && handler_clock_ms() >= req->deadline_ms) {
        snprintf(msg, sizeof msg, "no time left before the deadline");
        err = CT_ETIMEOUT;
    }
    st.read.deadline_ms = req->deadline_ms;
    if (!err)
        err = open_layer(app, rt, l, &r, msg, sizeof msg);
    if (!err)
        err = tile_render(r, rt->z, rt->x, rt->y, size, &st, &png, msg, sizeof msg);
    if (err) {
        set_source_error(resp, err, msg, l);
        return;
    }
    const struct config *c = app_config(app);
    resp->status = 200;
    resp->content_type = "image/png";
    resp->cache_control = c->tile_cache_control ? c->tile_cache_control : CONFIG_TILE_CACHE;
    resp->body = png.data;
    resp->len = png.len;
    resp->body_owned = 1;
}

/* A JSON answer built with cJSON; takes ownership of o. */
static void set_json(struct response *resp, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) {
        set_error(resp, CT_ENOMEM, NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->cache_control = CACHE_STATIC;
    resp->body = (unsigned char *)text;
    resp->len = strlen(text);
    resp->body_owned = 1;
}

/* GET /colormaps: {"colormaps": [names]}. */
static void handle_colormaps(struct response *resp)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *names = o ? cJSON_AddArrayToObject(o, "colormaps") : NULL;
    for (size_t i = 0; names && i < colormap_count(); i++) {
        cJSON *n = cJSON_CreateString(colormap_at(i)->name);
        if (!n || !cJSON_AddItemToArray(names, n)) {
            cJSON_Delete(n);
            names = NULL;
        }
    }
    if (!names) {
        cJSON_Delete(o);
        o = NULL;
    }
    set_json(resp, o);
}

/* GET /colormaps/NAME: {"0": [r, g, b, a], ..., "255": [...]}, TiTiler's shape. */
static void handle_colormap(struct strview name, struct response *resp)
{
    const struct colormap *cm = colormap_find(name.p, name.n);
    if (!cm) {
        char msg[96];
        snprintf(msg, sizeof msg, "unknown colormap \"%.*s\"", (int)(name.n < 40 ? name.n : 40),
                 name.p);
        set_error(resp, CT_ENOROUTE, msg);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < 256; i++) {
        int v[4] = { cm->rgba[i][0], cm->rgba[i][1], cm->rgba[i][2], cm->rgba[i][3] };
        char key[4];
        snprintf(key, sizeof key, "%d", i);
        cJSON *a = cJSON_CreateIntArray(v, 4);
        if (!a || !cJSON_AddItemToObject(o, key, a)) {
            cJSON_Delete(a);
            cJSON_Delete(o);
            o = NULL;
        }
    }
    set_json(resp, o);
}

/* Zoom limits from the data's resolution: maxzoom is the first zoom whose
 * pixels are as fine as the data's; minzoom the zoom at which the whole
 * raster fits in about one tile. */
static void zoom_range(const struct raster_info *in, int *minz, int *maxz)
{
    double z0 = tilemath_resolution(0, 256);
    double zmax = in->merc_res > 0 ? ceil(log2(z0 / in->merc_res) - 0.1) : 0;
    double big = (in->width > in->height ? in->width : in->height) / 256.0;
    double zmin = in->merc_res > 0 ? floor(log2(z0 / (in->merc_res * fmax(big, 1.0)))) : 0;
    *maxz = zmax < 0 ? 0 : zmax > TILEMATH_MAXZ ? TILEMATH_MAXZ : (int)zmax;
    *minz = zmin < 0 ? 0 : zmin > *maxz ? *maxz : (int)zmin;
}

static void add_bounds(cJSON *o, const struct raster_info *in)
{
    double b[4] = { in->lonlat.minx, fmax(in->lonlat.miny, -TILEMATH_MAXLAT), in->lonlat.maxx,
                    fmin(in->lonlat.maxy, TILEMATH_MAXLAT) };
    cJSON_AddItemToObject(o, "bounds", cJSON_CreateDoubleArray(b, 4));
}

/* The layer's open raster, or an error answer. */
/* route_layer + open_layer, for the metadata routes. NULL after setting the error. */
static struct raster *layer_raster(struct app *app, const struct request *req,
                                   const struct route *rt, struct layer_conf *adhoc,
                                   const struct layer_conf **lout, struct response *resp)
{
    char msg[256] = "";
    struct raster *r = NULL;
    const struct layer_conf *l = route_layer(app, req, rt, adhoc, resp);
    if (!l)
        return NULL;
    int err = open_layer(app, rt, l, &r, msg, sizeof msg);
    if (err) {
        set_source_error(resp, err, msg, l);
        return NULL;
    }
    *lout = l;
    return r;
}

/* What every layer description carries: bounds, zooms, defaults. */
static cJSON *describe_layer(const struct layer_conf *l, const struct raster_info *in)
{
    int minz, maxz;
    zoom_range(in, &minz, &maxz);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", l->name);
    if (l->attribution)
        cJSON_AddStringToObject(o, "attribution", l->attribution);
    add_bounds(o, in);
    cJSON_AddNumberToObject(o, "minzoom", minz);
    cJSON_AddNumberToObject(o, "maxzoom", maxz);
    if (l->colormap)
        cJSON_AddStringToObject(o, "colormap", l->colormap);
    if (l->has_rescale) {
        double rs[2] = { l->rescale_min, l->rescale_max };
        cJSON_AddItemToObject(o, "rescale", cJSON_CreateDoubleArray(rs, 2));
    }
    cJSON_AddNumberToObject(o, "bands", in->nbands);
    return o;
}

/* GET /tiles/LAYER/info */
static void handle_info(struct app *app, const struct request *req, const struct route *rt,
                        struct response *resp)
{
    const struct layer_conf *l;
    struct layer_conf adhoc;
    struct raster *r = layer_raster(app, req, rt, &adhoc, &l, resp);
    if (!r)
        return;
    const struct raster_info *in = raster_get_info(r);
    cJSON *o = describe_layer(l, in);
    if (o) {
        cJSON_AddNumberToObject(o, "width", in->width);
        cJSON_AddNumberToObject(o, "height", in->height);
        cJSON_AddBoolToObject(o, "alpha", in->has_alpha);
        cJSON_AddBoolToObject(o, "colortable", in->has_palette);
        cJSON_AddStringToObject(o, "dtype", in->dtype);
        cJSON_AddStringToObject(o, "crs", in->crs);
        if (!in->has_nodata)
            cJSON_AddNullToObject(o, "nodata");
        else if (isnan(in->nodata))
            cJSON_AddStringToObject(o, "nodata", "nan");
        else
            cJSON_AddNumberToObject(o, "nodata", in->nodata);
        cJSON *ov = cJSON_AddArrayToObject(o, "overviews");
        for (int i = 0; ov && i < in->noverviews && i < 16; i++) {
            int wh[2] = { in->ovr_width[i], in->ovr_height[i] };
            cJSON_AddItemToArray(ov, cJSON_CreateIntArray(wh, 2));
        }
    }
    set_json(resp, o);
}

/* GET /layers */
static void handle_layers(struct app *app, struct response *resp)
{
    const struct config *c = app_config(app);
    cJSON *o = cJSON_CreateObject(), *arr = o ? cJSON_AddArrayToObject(o, "layers") : NULL;
    for (size_t i = 0; arr && i < c->nlayers; i++) {
        char msg[256];
        struct raster *r = NULL;
        cJSON *item;
        if (app_raster(app, &c->layers[i], &r, msg, sizeof msg) == CT_OK) {
            item = describe_layer(&c->layers[i], raster_get_info(r));
        } else { /* listed, with the reason it cannot be served */
            item = cJSON_CreateObject();
            cJSON_AddStringToObject(item, "name", c->layers[i].name);
            cJSON_AddStringToObject(item, "error", "source cannot be opened");
        }
        cJSON_AddItemToArray(arr, item);
    }
    if (o && c->nlayers)
        cJSON_AddStringToObject(o, "default", c->layers[c->default_layer].name);
    set_json(resp, o);
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) to buf. */
static void url_encode(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    for (; *s && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            buf[n++] = (char)c;
        else
            n += (size_t)snprintf(buf + n, cap - n, "%%%02X", c);
    }
    buf[n] = '\0';
}

/* GET /tiles/LAYER/tilejson.json: TileJSON 3.0.0 with an absolute tiles URL
 * (public_url, else X-Forwarded-Proto + Host + API stage), carrying the
 * request's query parameters into it. */
static void handle_tilejson(struct app *app, const struct request *req, const struct route *rt,
                            struct response *resp)
{
    const struct layer_conf *l;
    struct layer_conf adhoc;
    struct raster *r = layer_raster(app, req, rt, &adhoc, &l, resp);
    if (!r)
        return;
    const struct config *c = app_config(app);
    char url[8192] = "";
    const char *host = request_header(req, "Host");
    if (c->public_url) {
        snprintf(url, sizeof url, "%s", c->public_url);
    } else if (host && *host) {
        const char *proto = request_header(req, "X-Forwarded-Proto");
        snprintf(url, sizeof url, "%s://%s%s", proto && !strcmp(proto, "https") ? "https" : "http",
                 host, req->base_path ? req->base_path : "");
    }
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        url[--n] = '\0';
    if (rt->adhoc)
        snprintf(url + n, sizeof url - n, "/cog/tiles/{z}/{x}/{y}.png");
    else
        snprintf(url + n, sizeof url - n, "/tiles/%s/{z}/{x}/{y}.png", l->name);
    for (size_t i = 0; i < req->nquery; i++) {
        strncat(url, i ? "&" : "?", sizeof url - strlen(url) - 1);
        url_encode(url, sizeof url, req->query[i].key ? req->query[i].key : "");
        strncat(url, "=", sizeof url - strlen(url) - 1);
        url_encode(url, sizeof url, req->query[i].value ? req->query[i].value : "");
    }
    const struct raster_info *in = raster_get_info(r);
    cJSON *o = describe_layer(l, in);
    if (o) {
        cJSON_AddStringToObject(o, "tilejson", "3.0.0");
        cJSON *tiles = cJSON_AddArrayToObject(o, "tiles");
        cJSON_AddItemToArray(tiles, cJSON_CreateString(url));
        cJSON_AddStringToObject(o, "scheme", "xyz");
        double lon = (in->lonlat.minx + in->lonlat.maxx) / 2;
        if (in->lonlat.minx > in->lonlat.maxx)
            lon = lon > 0 ? lon - 180 : lon + 180;
        double lat = (fmax(in->lonlat.miny, -TILEMATH_MAXLAT) +
                      fmin(in->lonlat.maxy, TILEMATH_MAXLAT)) / 2;
        int minz, maxz;
        zoom_range(in, &minz, &maxz);
        double center[3] = { lon, lat, minz };
        cJSON_AddItemToObject(o, "center", cJSON_CreateDoubleArray(center, 3));
    }
    set_json(resp, o);
    resp->cache_control = CACHE_PAGE;
}

/* GET /tiles/LAYER/point/LON,LAT: the band values there. */
static void handle_point(struct app *app, const struct request *req, const struct route *rt,
                         struct response *resp)
{
    const struct layer_conf *l;
    struct layer_conf adhoc;
    struct raster *r = layer_raster(app, req, rt, &adhoc, &l, resp);
    if (!r)
        return;
    double v[16];
    int n = 0, valid = 0;
    char msg[256] = "";
    int err = raster_point(r, rt->lon, rt->lat, v, 16, &n, &valid, msg, sizeof msg);
    if (err) {
        set_source_error(resp, err, msg, l);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (o) {
        double c[2] = { rt->lon, rt->lat };
        cJSON_AddItemToObject(o, "coordinates", cJSON_CreateDoubleArray(c, 2));
        cJSON *vals = cJSON_AddArrayToObject(o, "values");
        for (int b = 0; vals && b < n; b++)
            cJSON_AddItemToArray(vals, valid && !isnan(v[b]) ? cJSON_CreateNumber(v[b])
                                                             : cJSON_CreateNull());
    }
    set_json(resp, o);
}

/* The page template with every "{{KEY}}" replaced by its value; NULL when out
 * of memory. Keys not listed are kept as they are. */
static char *fill_template(const char *tpl, size_t len, const char *const kv[][2], size_t nkv,
                           size_t *outlen)
{
    size_t n = 0; /* two passes: measure, then copy */
    char *out = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t at = 0;
        for (size_t i = 0; i < len;) {
            size_t k = nkv;
            if (tpl[i] == '{' && i + 1 < len && tpl[i + 1] == '{')
                for (k = 0; k < nkv; k++) {
                    size_t kl = strlen(kv[k][0]);
                    if (len - i >= kl + 4 && memcmp(tpl + i + 2, kv[k][0], kl) == 0 &&
                        memcmp(tpl + i + 2 + kl, "}}", 2) == 0)
                        break;
                }
            const char *src = k < nkv ? kv[k][1] : tpl + i;
            size_t sl = k < nkv ? strlen(kv[k][1]) : 1;
            if (pass)
                memcpy(out + at, src, sl);
            at += sl;
            i += k < nkv ? strlen(kv[k][0]) + 4 : 1;
        }
        if (!pass) {
            n = at;
            if (!(out = malloc(n + 1)))
                return NULL;
        }
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}

/* GET / and GET /map/LAYER: the viewer, opened on the default layer or on
 * LAYER. Its asset links are relative ("./" or "../"), so the page works under
 * any prefix (API stage, CloudFront path). Layer names are [A-Za-z0-9_.-], safe
 * in HTML and JavaScript strings. */
static void handle_page(struct app *app, const struct request *req, const struct route *rt,
                        struct response *resp)
{
    const struct config *c = app_config(app);
    const char *layer = c->layers[c->default_layer].name;
    if (rt->kind == ROUTE_MAP) {
        struct layer_conf unused;
        const struct layer_conf *l = route_layer(app, req, rt, &unused, resp);
        if (!l)
            return;
        layer = l->name;
    }
    const struct asset *page = assets_find("index.html");
    if (!page) {
        set_error(resp, CT_EINTERNAL, "index page missing");
        return;
    }
    const char *const kv[][2] = { { "ROOT", rt->kind == ROUTE_MAP ? "../" : "./" },
                                  { "LAYER", layer } };
    size_t n;
    char *body = fill_template(page->data, page->len, kv, 2, &n);
    if (!body) {
        set_error(resp, CT_ENOMEM, NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    resp->cache_control = CACHE_PAGE;
    resp->body = (unsigned char *)body;
    resp->len = n;
    resp->body_owned = 1;
}

static void route_request(struct app *app, const struct request *req, struct response *resp);

/* Headers every answer carries. */
static void finish(struct app *app, struct response *resp)
{
    const struct config *c = app_config(app);
    resp->cors_origin = c->cors_origin ? c->cors_origin : "*";
}

void handler_error(struct app *app, struct response *resp, int err, const char *detail)
{
    memset(resp, 0, sizeof *resp);
    set_error(resp, err, detail);
    finish(app, resp);
}

void handler_handle(struct app *app, const struct request *req, struct response *resp)
{
    memset(resp, 0, sizeof *resp);
    route_request(app, req, resp);
    finish(app, resp);
    if (resp->status != 200)
        return;
    set_etag(resp);
    const char *inm = request_header(req, "If-None-Match");
    if (inm && etag_matches(inm, resp->etag)) {
        response_free(resp);
        resp->status = 304;
    }
}

static void route_request(struct app *app, const struct request *req, struct response *resp)
{
    if (!req->method || (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)) {
        set_error(resp, CT_EMETHOD, "only GET and HEAD are supported");
        return;
    }
    const char *path = req->path ? req->path : "";
    struct route rt;
    int err = route_parse(path, strlen(path), &rt);
    if (err) {
        const char *why = err == CT_EINVAL && rt.kind == ROUTE_POINT
                              ? "point: expected /tiles/{layer}/point/{lon},{lat} in degrees"
                          : err == CT_EINVAL && rt.kind == ROUTE_MAP
                              ? "map: layer names are 1-64 characters of A-Z a-z 0-9 _ . -"
                          : err == CT_ENOROUTE ? "no such route"
                          : err == CT_ERANGE ? "z/x/y out of range: need 0 <= z <= 30 and "
                                               "0 <= x, y < 2^z"
                                             : "malformed tile path: expected "
                                               "/tiles/{layer}/{z}/{x}/{y}[@2x].png";
        set_error(resp, err, why);
        return;
    }
    switch (rt.kind) {
    case ROUTE_INDEX:
    case ROUTE_MAP:
        handle_page(app, req, &rt, resp);
        return;
    case ROUTE_STATIC: {
        char name[64];
        const struct asset *a = NULL;
        if (rt.asset.n < sizeof name) {
            memcpy(name, rt.asset.p, rt.asset.n);
            name[rt.asset.n] = '\0';
            a = assets_find(name);
        }
        if (!a || strcmp(name, "index.html") == 0)
            set_error(resp, CT_ENOROUTE, "no such file");
        else
            set_static(resp, a, CACHE_STATIC);
        return;
    }
    case ROUTE_TILE:
        handle_tile(app, req, &rt, resp);
        return;
    case ROUTE_COLORMAPS:
        handle_colormaps(resp);
        return;
    case ROUTE_COLORMAP:
        handle_colormap(rt.asset, resp);
        return;
    case ROUTE_LAYERS:
        handle_layers(app, resp);
        return;
    case ROUTE_INFO:
        handle_info(app, req, &rt, resp);
        return;
    case ROUTE_TILEJSON:
        handle_tilejson(app, req, &rt, resp);
        return;
    case ROUTE_POINT:
        handle_point(app, req, &rt, resp);
        return;
    }
    set_error(resp, CT_ENOROUTE, NULL);
}
