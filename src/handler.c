/* handler.c - dispatch and the metadata JSON. A request goes down once:
 * route -> method and body checks -> parameters (params.c) -> the work (a
 * tile, a page, a JSON body) -> the response. */
#include "handler.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets.h"
#include "buf.h"
#include "colormap.h"
#include "derive.h"
#include "err.h"
#include "fanout.h"
#include "gate.h"
#include "geojson.h"
#include "page.h"
#include "params.h"
#include "parse.h"
#include "route.h"
#include "stats.h"
#include "tile.h"
#include "tilemath.h"
#include "zonal.h"

#define CACHE_STATIC "public, max-age=86400"
#define CACHE_PAGE "public, max-age=300"
/* What a CORS preflight may ask for, and for how long a browser may keep the answer. */
#define CORS_METHODS "GET, HEAD, POST, OPTIONS"
#define CORS_MAX_AGE "86400"
static const char *const cors_request_headers[] = {
    "accept", "accept-language", "cache-control", "content-language", "content-type",
    "if-modified-since", "if-none-match", "x-requested-with",
};

/* What a route serves data from: a configured layer, or the url= source of a
 * "/cog/" route (named "cog", without defaults). Nothing here is owned. */
struct target {
    const char *name;
    const struct layer_conf *layer; /* NULL for url= */
    const char *url;                /* the url= value, or NULL */
    const struct config *cfg;
};

/* detail with every occurrence of src (GDAL quotes file names and URLs)
 * replaced by "source", into buf. */
static void scrub(char *buf, size_t cap, const char *detail, const char *src)
{
    size_t n = 0, sl = src ? strlen(src) : 0;
    const char *p = detail;
    buf[0] = '\0';
    while (*p && n + 1 < cap) {
        /* the url= gate's name of a URL is GATE_PREFIX + the URL */
        size_t gl = strncmp(p, GATE_PREFIX, sizeof GATE_PREFIX - 1) == 0 && sl &&
                            strncmp(p + sizeof GATE_PREFIX - 1, src, sl) == 0
                        ? sizeof GATE_PREFIX - 1
                        : 0;
        if (sl && strncmp(p + gl, src, sl) == 0) {
            n += (size_t)snprintf(buf + n, cap - n, "source");
            p += gl + sl;
        } else {
            buf[n++] = *p++;
            buf[n] = '\0';
        }
    }
    if (n >= cap)
        n = cap - 1;
    buf[n] = '\0';
}

/* The public form of a source's failure: the source's name (and a derived
 * layer's inputs' sources) in detail become "source", so a client learns
 * why, not where the data lives. */
static void set_source_error(struct response *resp, int err, const char *detail,
                             const struct target *t)
{
    char a[sizeof resp->detail], b[sizeof resp->detail];
    scrub(a, sizeof a, detail, t->layer ? t->layer->source : t->url);
    const struct derived *d = t->layer ? t->layer->derived : NULL;
    for (int k = 0; d && t->cfg && k < d->ninputs; k++) {
        scrub(b, sizeof b, a, t->cfg->layers[d->in[k].layer].source);
        memcpy(a, b, sizeof a);
    }
    http_error(resp, err, a);
}

static void set_error(struct response *resp, int err, const char *detail)
{
    http_error(resp, err, detail);
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

static void set_static(struct response *resp, const struct asset *a, const char *cache)
{
    resp->status = 200;
    resp->content_type = a->content_type;
    resp->cache_control = cache;
    resp->body = (unsigned char *)a->data;
    resp->len = a->len;
}

/* A 200 answer whose body (malloc'd, or NULL when it could not be made) the
 * response takes over. */
static void set_body(struct response *resp, const char *type, const char *cache, void *body,
                     size_t len)
{
    if (!body) {
        set_error(resp, CT_ENOMEM, NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = type;
    resp->cache_control = cache;
    resp->body = body;
    resp->len = len;
    resp->body_owned = 1;
}

/* A rendered tile (the response takes img's bytes over): its format's type
 * and the tiles' Cache-Control (the configured one, else CONFIG_TILE_CACHE). */
static void set_tile(struct response *resp, const struct config *c, enum img_format f,
                     struct pngbuf *img)
{
    set_body(resp, img_format_mime(f),
             c->tile_cache_control ? c->tile_cache_control : CONFIG_TILE_CACHE, img->data,
             img->len);
}

/* A JSON answer built with cJSON; takes ownership of o. */
static void set_json(struct response *resp, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    set_body(resp, "application/json", CACHE_STATIC, text, text ? strlen(text) : 0);
}

/* The target a route names: a configured layer (404 when unknown), or for
 * "/cog/" routes the url= source (400 without url=). 0, or the error set. */
static int find_target(struct worker *w, const struct request *req, const struct route *rt,
                       struct target *t, struct response *resp)
{
    char msg[256];
    memset(t, 0, sizeof *t);
    t->cfg = app_config(worker_app(w));
    if (rt->adhoc) {
        int err = params_url(req, &t->url, msg, sizeof msg);
        if (err) {
            set_error(resp, err, msg);
            return err;
        }
        t->name = "cog";
        return CT_OK;
    }
    t->layer = config_find(app_config(worker_app(w)), rt->layer.p, rt->layer.n);
    if (!t->layer) {
        snprintf(msg, sizeof msg, "unknown layer \"%.*s\"", (int)rt->layer.n, rt->layer.p);
        set_error(resp, CT_ENOLAYER, msg);
        return CT_ENOLAYER;
    }
    t->name = t->layer->name;
    return CT_OK;
}

/* The open dataset of t. */
/* CT_ETIMEOUT (with msg) when req's deadline has passed before its work starts, else 0. */
static int time_left(const struct request *req, char *msg, size_t msgcap)
{
    if (!req->deadline_ms || http_clock_ms() < req->deadline_ms)
        return CT_OK;
    snprintf(msg, msgcap, "no time left before the deadline");
    return CT_ETIMEOUT;
}

static int open_target(struct worker *w, const struct target *t, struct raster **r, char *msg,
                       size_t msgcap)
{
    if (t->layer && t->layer->derived) {
        snprintf(msg, msgcap, "not for a derived layer: ask the layers of its inputs");
        return CT_EINVAL;
    }
    return t->url ? app_adhoc_raster(w, t->url, r, msg, msgcap)
                  : app_raster(w, t->layer, r, msg, msgcap);
}

/* find_target + open_target, for the metadata routes. NULL after setting the error. */
static struct raster *target_raster(struct worker *w, const struct request *req,
                                    const struct route *rt, struct target *t,
                                    struct response *resp)
{
    char msg[256] = "";
    struct raster *r = NULL;
    if (find_target(w, req, rt, t, resp))
        return NULL;
    int err = open_target(w, t, &r, msg, sizeof msg);
    if (err) {
        set_source_error(resp, err, msg, t);
        return NULL;
    }
    return r;
}

/* --- derived layers and band math (docs/OVERLAY.md) ------------------------------- */

static int is_derived(const struct target *t)
{
    return t->layer && t->layer->derived;
}

/* Opens the layers of a derived layer's inputs into d (as d->in[k].r). */
static int open_inputs(struct worker *w, const struct target *t, struct derive *d, char *msg,
                       size_t msgcap)
{
    const struct derived *dv = t->layer->derived;
    for (int k = 0; k < dv->ninputs; k++) {
        const struct derived_input *in = &dv->in[k];
        const struct layer_conf *l = &t->cfg->layers[in->layer];
        struct raster *r = NULL;
        for (int j = 0; j < k; j++) /* one open per layer */
            if (dv->in[j].layer == in->layer)
                r = d->in[j].r;
        int err = r ? CT_OK : app_raster(w, l, &r, msg, msgcap);
        if (err)
            return err;
        if (in->band > raster_get_info(r)->nbands) {
            snprintf(msg, msgcap, "input \"%s\": layer \"%s\" has no band %d", in->name,
                     l->name, in->band);
            return CT_ECONFIG;
        }
        d->in[k].r = r;
    }
    return CT_OK;
}

/* The derived band a request asks for, into d (derive_clear after): a derived
 * layer's inputs (r NULL), or expression= over the bands of r (a plain layer
 * or url=). dp: the query's expression, weights and remaps. 0, or the error
 * with msg. */
static int derive_build(struct worker *w, const struct target *t, struct raster *r,
                        const struct derive_params *dp, const char *resampling,
                        long long deadline_ms, struct derive *d, char *msg, size_t msgcap)
{
    const char *names[DERIVE_MAX_INPUTS];
    char bn[DERIVE_MAX_INPUTS][16];
    const char *text = dp->expression;
    size_t len = dp->expression_len;
    memset(d, 0, sizeof *d);
    d->deadline_ms = deadline_ms;
    if (is_derived(t)) {
        const struct derived *dv = t->layer->derived;
        int err = open_inputs(w, t, d, msg, msgcap);
        if (err)
            return err;
        d->n = dv->ninputs;
        d->smin = dv->scale_min;
        d->smax = dv->scale_max;
        d->round = dv->round;
        d->grid = dv->grid;
        for (int k = 0; k < d->n; k++) {
            const struct derived_input *in = &dv->in[k];
            d->in[k].band = in->band;
            d->in[k].terrain = in->terrain;
            d->in[k].resampling = in->resampling;
            d->in[k].remap = dp->remapped & (1u << k) ? &dp->remap[k] : &in->remap;
            d->in[k].weight = dp->has_weights ? dp->weights[k] : in->weight;
            names[k] = in->name;
        }
        if (!text && dv->expression) {
            text = dv->expression;
            len = strlen(text);
        }
    } else {
        const struct raster_info *in = raster_get_info(r);
        d->n = in->nbands < DERIVE_MAX_INPUTS ? in->nbands : DERIVE_MAX_INPUTS;
        for (int k = 0; k < d->n; k++) {
            snprintf(bn[k], sizeof bn[k], "b%d", k + 1);
            names[k] = bn[k];
            d->in[k] = (struct derive_input){ .r = r, .band = k + 1,
                                              .resampling = resampling ? resampling : "near" };
        }
    }
    if (!text)
        return CT_OK;
    return expr_compile(text, len, names, d->n, &d->expr, msg, msgcap);
}

/* What a derived band's tile takes from the tile parameters: no bidx,
 * algorithm or nodata (the expression names its bands; each input has its
 * own nodata), no resampling for a derived layer (each input has its own);
 * a colour range: rescale=, the layer's, or the overlay's scale. */
static int derive_params_check(const struct target *t, const struct derive *d,
                               struct tile_params *p, char *msg, size_t msgcap)
{
    const char *what = is_derived(t) ? "a derived layer" : "expression=";
    const char *bad = p->nbands ? "bidx" : p->algorithm ? "algorithm" : p->has_nodata ? "nodata"
                    : is_derived(t) && p->resampling ? "resampling" : NULL;
    if (bad) {
        snprintf(msg, msgcap, "%s: not with %s", bad, what);
        return CT_EINVAL;
    }
    if (!d->expr) { /* the weighted overlay: its scale through CONFIG_OVERLAY_COLORMAP */
        if (!p->nrescale) {
            p->nrescale = 1;
            p->rmin[0] = d->smin;
            p->rmax[0] = d->smax;
        }
        if (!p->cmap && !p->has_custom)
            p->cmap = colormap_find(CONFIG_OVERLAY_COLORMAP, strlen(CONFIG_OVERLAY_COLORMAP));
    }
    if (p->nrescale > 1) {
        snprintf(msg, msgcap, "rescale: one range for %s", what);
        return CT_EINVAL;
    }
    if (!p->nrescale && !p->has_custom) {
        snprintf(msg, msgcap, "expression: give rescale=min,max (or a colormap= of values)");
        return CT_EINVAL;
    }
    return CT_OK;
}

/* A tile of a derived layer, or of expression= on a layer or url=. */
static void derived_tile(struct worker *w, const struct request *req, const struct route *rt,
                         const struct target *t, struct tile_params *p,
                         const struct derive_params *dp, struct response *resp)
{
    char msg[256] = "";
    struct raster *r = NULL;
    struct derive d = { 0 };
    struct pngbuf png = { 0 };
    int err = is_derived(t) ? CT_OK : open_target(w, t, &r, msg, sizeof msg);
    if (!err)
        err = derive_build(w, t, r, dp, p->resampling, req->deadline_ms, &d, msg, sizeof msg);
    if (!err)
        err = derive_params_check(t, &d, p, msg, sizeof msg);
    static const uint8_t black[4] = { 0, 0, 0, 255 };
    if (!err)
        err = tile_render_derived(&d, rt->z, rt->x, rt->y, p,
                                  is_derived(t) ? t->layer->derived->restricted_rgba : black, &png,
                                  msg, sizeof msg);
    derive_clear(&d);
    if (err) {
        set_source_error(resp, err, msg, t);
        return;
    }
    set_tile(resp, t->cfg, p->format, &png);
}

/* What describes a derived layer (info, TileJSON, /layers): the inputs'
 * common extent (the result is NoData outside any input), the finest
 * resolution, the grid input's size and CRS; one Float64 band. */
static int derived_info(struct worker *w, const struct target *t, struct raster_info *out,
                        char *msg, size_t msgcap)
{
    struct derive d = { 0 };
    int err = open_inputs(w, t, &d, msg, msgcap);
    if (err)
        return err;
    const struct derived *dv = t->layer->derived;
    *out = *raster_get_info(d.in[dv->grid].r);
    for (int k = 0; k < dv->ninputs; k++) {
        const struct raster_info *in = raster_get_info(d.in[k].r);
        if (in->lonlat.minx <= in->lonlat.maxx && out->lonlat.minx <= out->lonlat.maxx) {
            out->lonlat.minx = fmax(out->lonlat.minx, in->lonlat.minx);
            out->lonlat.maxx = fmin(out->lonlat.maxx, in->lonlat.maxx);
        }
        out->lonlat.miny = fmax(out->lonlat.miny, in->lonlat.miny);
        out->lonlat.maxy = fmin(out->lonlat.maxy, in->lonlat.maxy);
        if (in->merc_res > 0 && in->merc_res < out->merc_res)
            out->merc_res = in->merc_res;
    }
    out->nbands = 1;
    out->is_byte = 0;
    out->has_palette = 0;
    out->has_alpha = 0;
    out->has_nodata = 0;
    out->noverviews = 0;
    snprintf(out->dtype, sizeof out->dtype, "Float64");
    return CT_OK;
}

/* The layer's description of a derived layer: its inputs, scale, expression. */
static void describe_derived(cJSON *o, const struct target *t)
{
    const struct derived *dv = t->layer->derived;
    cJSON *d = cJSON_AddObjectToObject(o, "derived");
    cJSON *ins = d ? cJSON_AddArrayToObject(d, "inputs") : NULL;
    for (int k = 0; ins && k < dv->ninputs; k++) {
        const struct derived_input *in = &dv->in[k];
        cJSON *i = cJSON_CreateObject();
        if (!i || !cJSON_AddItemToArray(ins, i)) {
            cJSON_Delete(i);
            break;
        }
        cJSON_AddStringToObject(i, "name", in->name);
        cJSON_AddStringToObject(i, "layer", t->cfg->layers[in->layer].name);
        cJSON_AddNumberToObject(i, "band", in->band);
        if (in->terrain)
            cJSON_AddStringToObject(i, "terrain", in->terrain == TERRAIN_SLOPE ? "slope" : "aspect");
        if (!dv->expression)
            cJSON_AddNumberToObject(i, "weight", in->weight);
    }
    if (!d)
        return;
    if (dv->expression) {
        cJSON_AddStringToObject(d, "expression", dv->expression);
        return;
    }
    double sc[2] = { dv->scale_min, dv->scale_max };
    cJSON_AddItemToObject(d, "scale", cJSON_CreateDoubleArray(sc, 2));
    cJSON_AddNumberToObject(d, "restricted_value", dv->scale_min - 1);
    int rc[4] = { dv->restricted_rgba[0], dv->restricted_rgba[1], dv->restricted_rgba[2],
                  dv->restricted_rgba[3] };
    cJSON_AddItemToObject(d, "restricted_color", cJSON_CreateIntArray(rc, 4));
    if (!cJSON_GetObjectItemCaseSensitive(o, "colormap"))
        cJSON_AddStringToObject(o, "colormap", CONFIG_OVERLAY_COLORMAP);
    if (!cJSON_GetObjectItemCaseSensitive(o, "rescale"))
        cJSON_AddItemToObject(o, "rescale", cJSON_CreateDoubleArray(sc, 2));
}

static cJSON *num(double v);

/* What describes the route's target: its raster's info, or a derived layer's
 * (into *dinfo). NULL after setting the error. */
static const struct raster_info *target_info(struct worker *w, const struct request *req,
                                             const struct route *rt, struct target *t,
                                             struct raster_info *dinfo, struct response *resp)
{
    char msg[256] = "";
    if (find_target(w, req, rt, t, resp))
        return NULL;
    if (is_derived(t)) {
        int err = derived_info(w, t, dinfo, msg, sizeof msg);
        if (err) {
            set_source_error(resp, err, msg, t);
            return NULL;
        }
        return dinfo;
    }
    struct raster *r = target_raster(w, req, rt, t, resp);
    return r ? raster_get_info(r) : NULL;
}

static void handle_tile(struct worker *w, const struct request *req, const struct route *rt,
                        struct response *resp)
{
    char msg[256] = "";
    struct target t;
    struct tile_params p;
    struct derive_params dp;
    struct raster *r = NULL;
    struct pngbuf png = { 0 };
    if (find_target(w, req, rt, &t, resp))
        return;
    /* Every parameter is checked before the source is touched... */
    int err = params_tile(req, t.layer, rt->scale, &p, msg, sizeof msg);
    p.format = rt->format;
    if (!err)
        err = params_derive(req, t.layer, &dp, msg, sizeof msg);
    if (!err)
        err = time_left(req, msg, sizeof msg);
    if (!err && (is_derived(&t) || dp.expression)) {
        derived_tile(w, req, rt, &t, &p, &dp, resp);
        return;
    }
    if (!err)
        err = open_target(w, &t, &r, msg, sizeof msg);
    /* ... and against its shape before any pixel is read. */
    if (!err)
        err = params_check(&p, raster_get_info(r), msg, sizeof msg);
    if (!err)
        err = tile_render(r, rt->z, rt->x, rt->y, &p, req->deadline_ms, &png, msg, sizeof msg);
    if (err) {
        set_source_error(resp, err, msg, &t);
        return;
    }
    set_tile(resp, app_config(worker_app(w)), p.format, &png);
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
 * raster fits in about one tile; each replaced by the layer's "minzoom" /
 * "maxzoom" when configured (l may be NULL). */
static void zoom_range(const struct layer_conf *l, const struct raster_info *in, int *minz,
                       int *maxz)
{
    double z0 = tilemath_resolution(0, 256);
    double zmax = in->merc_res > 0 ? ceil(log2(z0 / in->merc_res) - 0.1) : 0;
    double big = (in->width > in->height ? in->width : in->height) / 256.0;
    double zmin = in->merc_res > 0 ? floor(log2(z0 / (in->merc_res * fmax(big, 1.0)))) : 0;
    *maxz = zmax < 0 ? 0 : zmax > TILEMATH_MAXZ ? TILEMATH_MAXZ : (int)zmax;
    *minz = zmin < 0 ? 0 : zmin > *maxz ? *maxz : (int)zmin;
    if (l && l->has_maxzoom) /* the configuration's, checked minzoom <= maxzoom */
        *maxz = l->maxzoom;
    if (l && l->has_minzoom)
        *minz = l->minzoom;
    if (*minz > *maxz) { /* a configured minzoom past the data's finest: over-zoomed */
        if (l && l->has_minzoom && !l->has_maxzoom)
            *maxz = *minz;
        else
            *minz = *maxz;
    }
}

/* "bounds": [west, south, east, north], latitudes within Web Mercator's. In
 * /info and /layers a source across the antimeridian keeps west > east; for
 * TileJSON (unwrapped) it spans every longitude, as TileJSON 3.0 requires
 * ("Bounds MUST NOT wrap around the ante-meridian"): MapLibre drew no tile of
 * such a source, its tile bounds were empty. */
static cJSON *bounds_json(const struct raster_info *in, int unwrapped)
{
    const int across = in->lonlat.minx > in->lonlat.maxx && unwrapped;
    double b[4] = { across ? -180.0 : in->lonlat.minx, fmax(in->lonlat.miny, -TILEMATH_MAXLAT),
                    across ? 180.0 : in->lonlat.maxx, fmin(in->lonlat.maxy, TILEMATH_MAXLAT) };
    return cJSON_CreateDoubleArray(b, 4);
}

static void add_bounds(cJSON *o, const struct raster_info *in)
{
    cJSON_AddItemToObject(o, "bounds", bounds_json(in, 0));
}

/* What every layer description carries: bounds, zooms, defaults. */
static cJSON *describe(const struct target *t, const struct raster_info *in)
{
    int minz, maxz;
    zoom_range(t->layer, in, &minz, &maxz);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const struct layer_conf *l = t->layer;
    cJSON_AddStringToObject(o, "name", t->name);
    if (l && l->attribution)
        cJSON_AddStringToObject(o, "attribution", l->attribution);
    add_bounds(o, in);
    cJSON_AddNumberToObject(o, "minzoom", minz);
    cJSON_AddNumberToObject(o, "maxzoom", maxz);
    if (l && l->colormap)
        cJSON_AddStringToObject(o, "colormap", l->colormap);
    if (l && l->has_rescale) {
        double rs[2] = { l->rescale_min, l->rescale_max };
        cJSON_AddItemToObject(o, "rescale", cJSON_CreateDoubleArray(rs, 2));
    }
    cJSON_AddStringToObject(o, "format", img_format_ext(l ? l->format : IMG_PNG));
    cJSON_AddNumberToObject(o, "bands", in->nbands);
    if (l && l->derived)
        describe_derived(o, t);
    return o;
}

/* GET /tiles/LAYER/info */
static void handle_info(struct worker *w, const struct request *req, const struct route *rt,
                        struct response *resp)
{
    struct target t;
    struct raster_info dinfo;
    const struct raster_info *in = target_info(w, req, rt, &t, &dinfo, resp);
    if (!in)
        return;
    cJSON *o = describe(&t, in);
    if (o) {
        cJSON_AddNumberToObject(o, "width", in->width);
        cJSON_AddNumberToObject(o, "height", in->height);
        cJSON_AddBoolToObject(o, "alpha", in->has_alpha);
        cJSON_AddBoolToObject(o, "colortable", in->has_palette);
        cJSON_AddStringToObject(o, "dtype", in->dtype);
        cJSON_AddStringToObject(o, "crs", in->crs);
        if (in->gcps) { /* placed by GCPs, in that CRS */
            cJSON_AddNumberToObject(o, "gcps", in->gcps);
            cJSON_AddStringToObject(o, "gcp_transform", in->gcp_method);
        }
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
static void handle_layers(struct worker *w, struct response *resp)
{
    const struct config *c = app_config(worker_app(w));
    cJSON *o = cJSON_CreateObject(), *arr = o ? cJSON_AddArrayToObject(o, "layers") : NULL;
    for (size_t i = 0; arr && i < c->nlayers; i++) {
        char msg[256];
        struct raster *r = NULL;
        struct target t = { c->layers[i].name, &c->layers[i], NULL, c };
        struct raster_info dinfo;
        cJSON *item;
        if (c->layers[i].derived && derived_info(w, &t, &dinfo, msg, sizeof msg) == CT_OK) {
            item = describe(&t, &dinfo);
        } else if (!c->layers[i].derived &&
                   app_raster(w, &c->layers[i], &r, msg, sizeof msg) == CT_OK) {
            item = describe(&t, raster_get_info(r));
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

/* True when h is a Host header value we may write into a URL: a DNS name or
 * IPv4 address (letters, digits, '-', '.', '_'), or an IPv6 literal in
 * brackets, then an optional ":port" of 1-5 digits. */
static int valid_host(const char *h)
{
    size_t n = strlen(h), i = 0, start;
    if (n == 0 || n > 255)
        return 0;
    if (h[0] == '[') {
        for (i = 1; i < n && h[i] != ']'; i++)
            if (!strchr("0123456789abcdefABCDEF:.", h[i]))
                return 0;
        if (i == n || i < 3)
            return 0;
        i++;
    } else {
        for (start = i; i < n && h[i] != ':'; i++) {
            char c = h[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_'))
                return 0;
        }
        if (i == start)
            return 0;
    }
    if (i == n)
        return 1;
    if (h[i] != ':' || n - i - 1 < 1 || n - i - 1 > 5)
        return 0;
    for (i++; i < n; i++)
        if (h[i] < '0' || h[i] > '9')
            return 0;
    return 1;
}

/* True when the request came through the distribution of template.yaml: it
 * carries the configured origin secret (compared in constant time). Only
 * then is its X-Forwarded-Host, which a CloudFront Function copies from the
 * viewer's Host, trusted; anyone else could send one. */
static int from_distribution(const struct config *c, const struct request *req)
{
    const char *got = request_header(req, "X-Cogtiler-Origin-Secret");
    if (!c->origin_secret || !*c->origin_secret || !got)
        return 0;
    size_t n = strlen(c->origin_secret), m = strlen(got);
    unsigned char diff = n != m;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(c->origin_secret[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

/* What TileJSON and the WMTS capabilities describe: a layer (or url=) whose
 * tiles are asked with the request's parameters, checked as a tile's would
 * be; its tile format (tile_format=, else the layer's) and the absolute base
 * of the service's URLs. */
struct tileset {
    struct target t;
    struct tile_params p;
    struct derive_params dp;
    struct raster_info dinfo;
    const struct raster_info *in;
    enum img_format format;
    char base[2048];
};

/* Fills *ts for the request; 0, or -1 with the error answered in resp. */
static int tileset_open(struct worker *w, const struct request *req, const struct route *rt,
                        struct tileset *ts, struct response *resp)
{
    const struct config *c = app_config(worker_app(w));
    const char *host = request_header(req, "Host");
    char msg[256];
    if (!c->public_url && host && !valid_host(host)) {
        set_error(resp, CT_EINVAL, "Host: not a valid host[:port]");
        return -1;
    }
    if (find_target(w, req, rt, &ts->t, resp))
        return -1;
    int err = params_tile(req, ts->t.layer, 1, &ts->p, msg, sizeof msg);
    if (!err)
        err = params_derive(req, ts->t.layer, &ts->dp, msg, sizeof msg);
    ts->format = ts->t.layer ? ts->t.layer->format : IMG_PNG;
    const char *tf = request_query(req, "tile_format");
    if (!err && tf && img_format_parse(tf, strlen(tf), &ts->format)) {
        err = CT_EINVAL;
        snprintf(msg, sizeof msg, "tile_format: expected png, webp, jpg or tif");
    }
    ts->p.format = ts->format;
    if (err) {
        set_error(resp, err, msg);
        return -1;
    }
    if (!(ts->in = target_info(w, req, rt, &ts->t, &ts->dinfo, resp)))
        return -1;
    if (!is_derived(&ts->t) && !ts->dp.expression &&
        (err = params_check(&ts->p, ts->in, msg, sizeof msg))) {
        set_error(resp, err, msg);
        return -1;
    }
    ts->base[0] = '\0';
    const char *fwd = from_distribution(c, req) ? request_header(req, "X-Forwarded-Host") : NULL;
    if (fwd && !valid_host(fwd)) {
        set_error(resp, CT_EINVAL, "X-Forwarded-Host: not a valid host[:port]");
        return -1;
    }
    if (c->public_url) {
        snprintf(ts->base, sizeof ts->base, "%s", c->public_url);
    } else if (fwd) { /* the viewer's host, over HTTPS (the distribution redirects HTTP) */
        snprintf(ts->base, sizeof ts->base, "https://%s", fwd);
    } else if (host && *host) {
        const char *proto = request_header(req, "X-Forwarded-Proto");
        snprintf(ts->base, sizeof ts->base, "%s://%s%s",
                 proto && !strcmp(proto, "https") ? "https" : "http", host,
                 req->base_path ? req->base_path : "");
    }
    size_t n = strlen(ts->base);
    while (n && ts->base[n - 1] == '/')
        ts->base[--n] = '\0';
    return 0;
}

/* Appends the tiles' URL path (from base) with the format's extension and the
 * request's query parameters that render the tile: the describing route's
 * own (tile_format; a WMTS client's SERVICE, REQUEST, VERSION) are left out.
 * z, x, y: the placeholders' text. */
static void tileset_url(const struct tileset *ts, const struct request *req, const struct route *rt,
                        const char *z, const char *x, const char *y, enum img_format f,
                        char *url, size_t cap)
{
    static const char *const own[] = { "tile_format", "service", "request", "version",
                                       "acceptversions" };
    if (rt->adhoc)
        snprintf(url, cap, "%s/cog/tiles/%s/%s/%s.%s", ts->base, z, x, y, img_format_ext(f));
    else
        snprintf(url, cap, "%s/tiles/%s/%s/%s/%s.%s", ts->base, ts->t.name, z, x, y,
                 img_format_ext(f));
    for (size_t i = 0, k = 0; i < req->nquery; i++) {
        const char *key = req->query[i].key ? req->query[i].key : "";
        int skip = 0;
        for (size_t j = 0; j < sizeof own / sizeof own[0]; j++)
            skip |= !strcasecmp(key, own[j]);
        if (skip)
            continue;
        strncat(url, k++ ? "&" : "?", cap - strlen(url) - 1);
        url_encode(url, cap, key);
        strncat(url, "=", cap - strlen(url) - 1);
        url_encode(url, cap, req->query[i].value ? req->query[i].value : "");
    }
}

/* GET /tiles/LAYER/tilejson.json: TileJSON 3.0.0 with an absolute tiles URL
 * (public_url, else X-Forwarded-Proto + Host + API stage), carrying the
 * request's query parameters into it, once they are known to render. */
static void handle_tilejson(struct worker *w, const struct request *req, const struct route *rt,
                            struct response *resp)
{
    struct tileset ts;
    if (tileset_open(w, req, rt, &ts, resp))
        return;
    char url[8192];
    tileset_url(&ts, req, rt, "{z}", "{x}", "{y}", ts.format, url, sizeof url);
    const struct raster_info *in = ts.in;
    cJSON *o = describe(&ts.t, in);
    if (o) { /* the format of these tiles (tile_format= or the layer's) */
        cJSON_ReplaceItemInObjectCaseSensitive(o, "format",
                                               cJSON_CreateString(img_format_ext(ts.format)));
        cJSON_ReplaceItemInObjectCaseSensitive(o, "bounds", bounds_json(in, 1));
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
        zoom_range(ts.t.layer, in, &minz, &maxz);
        double center[3] = { lon, lat, minz };
        cJSON_AddItemToObject(o, "center", cJSON_CreateDoubleArray(center, 3));
    }
    set_json(resp, o);
    resp->cache_control = CACHE_PAGE;
}

/* Appends text to b with XML's five special characters escaped, and the
 * control characters XML 1.0 forbids even escaped left out. */
static void xml_text(struct buf *b, const char *text)
{
    for (const char *p = text; *p; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            continue;
        const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
                        : *p == '"' ? "&quot;" : *p == '\'' ? "&apos;" : NULL;
        buf_add(b, e ? e : p, e ? strlen(e) : 1);
    }
}

/* Appends printf-formatted text (no XML escaping: numbers and fixed names). */
static void xml_raw(struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* The OGC's GoogleMapsCompatible well-known scale set: the scale denominator
 * of zoom 0 (0.28 mm pixels), and the matrix's top left corner. */
#define WMTS_SCALE0 559082264.0287178
#define WMTS_ORIGIN 20037508.3427892

/* GET /tiles/LAYER/WMTSCapabilities.xml: OGC WMTS 1.0.0, RESTful, one layer
 * in the GoogleMapsCompatible tile matrix set up to the layer's maxzoom, its
 * limits the tiles that touch the data, one ResourceURL per format served
 * (the layer's first), carrying the request's rendering parameters. */
static void handle_wmts(struct worker *w, const struct request *req, const struct route *rt,
                        struct response *resp)
{
    struct tileset ts;
    if (tileset_open(w, req, rt, &ts, resp))
        return;
    const struct raster_info *in = ts.in;
    int minz, maxz;
    zoom_range(ts.t.layer, in, &minz, &maxz);
    struct bbox ll = in->lonlat;
    if (ll.minx > ll.maxx) { /* across the antimeridian: the whole width */
        ll.minx = -180;
        ll.maxx = 180;
    }
    ll.minx = fmax(ll.minx, -180);
    ll.maxx = fmin(ll.maxx, 180);
    ll.miny = fmax(ll.miny, -TILEMATH_MAXLAT);
    ll.maxy = fmin(ll.maxy, TILEMATH_MAXLAT);
    const char *title = ts.t.name;
    struct buf b = { 0 };
    xml_raw(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<Capabilities xmlns=\"http://www.opengis.net/wmts/1.0\" "
                "xmlns:ows=\"http://www.opengis.net/ows/1.1\" "
                "xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
                "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                "xsi:schemaLocation=\"http://www.opengis.net/wmts/1.0 "
                "http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd\" "
                "version=\"1.0.0\">\n"
                "<ows:ServiceIdentification><ows:Title>cogtiler</ows:Title>"
                "<ows:ServiceType>OGC WMTS</ows:ServiceType>"
                "<ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>"
                "</ows:ServiceIdentification>\n<Contents>\n<Layer>\n<ows:Title>");
    xml_text(&b, title);
    xml_raw(&b, "</ows:Title>\n");
    if (ts.t.layer && ts.t.layer->attribution) {
        xml_raw(&b, "<ows:Abstract>");
        xml_text(&b, ts.t.layer->attribution);
        xml_raw(&b, "</ows:Abstract>\n");
    }
    xml_raw(&b, "<ows:WGS84BoundingBox><ows:LowerCorner>%.9g %.9g</ows:LowerCorner>"
                "<ows:UpperCorner>%.9g %.9g</ows:UpperCorner></ows:WGS84BoundingBox>\n"
                "<ows:Identifier>", ll.minx, ll.miny, ll.maxx, ll.maxy);
    xml_text(&b, title);
    xml_raw(&b, "</ows:Identifier>\n<Style isDefault=\"true\"><ows:Identifier>default"
                "</ows:Identifier></Style>\n");
    /* the formats these parameters render (a terrain algorithm has no .tif) */
    enum img_format order[4] = { ts.format };
    int nfmt = 1;
    for (int f = IMG_PNG; f <= IMG_TIFF; f++)
        if ((enum img_format)f != ts.format &&
            !(f == IMG_TIFF && ts.p.algorithm != ALGO_NONE))
            order[nfmt++] = (enum img_format)f;
    for (int k = 0; k < nfmt; k++)
        xml_raw(&b, "<Format>%s</Format>\n", img_format_mime(order[k]));
    xml_raw(&b, "<TileMatrixSetLink><TileMatrixSet>GoogleMapsCompatible</TileMatrixSet>"
                "<TileMatrixSetLimits>\n");
    for (int z = minz; z <= maxz; z++) {
        uint64_t x0 = 0, y0 = 0, x1 = (1ULL << z) - 1, y1 = x1; /* (in range: clamped above) */
        tilemath_lonlat_to_tile(ll.minx, ll.maxy, z, &x0, &y0);
        tilemath_lonlat_to_tile(ll.maxx, ll.miny, z, &x1, &y1);
        xml_raw(&b, "<TileMatrixLimits><TileMatrix>%d</TileMatrix><MinTileRow>%llu</MinTileRow>"
                    "<MaxTileRow>%llu</MaxTileRow><MinTileCol>%llu</MinTileCol><MaxTileCol>%llu"
                    "</MaxTileCol></TileMatrixLimits>\n", z, (unsigned long long)y0,
                (unsigned long long)y1, (unsigned long long)x0, (unsigned long long)x1);
    }
    xml_raw(&b, "</TileMatrixSetLimits></TileMatrixSetLink>\n");
    for (int k = 0; k < nfmt; k++) {
        char url[8192];
        tileset_url(&ts, req, rt, "{TileMatrix}", "{TileCol}", "{TileRow}", order[k], url,
                    sizeof url);
        xml_raw(&b, "<ResourceURL format=\"%s\" resourceType=\"tile\" template=\"",
                img_format_mime(order[k]));
        xml_text(&b, url);
        xml_raw(&b, "\"/>\n");
    }
    xml_raw(&b, "</Layer>\n<TileMatrixSet><ows:Identifier>GoogleMapsCompatible</ows:Identifier>"
                "<ows:SupportedCRS>urn:ogc:def:crs:EPSG::3857</ows:SupportedCRS>"
                "<WellKnownScaleSet>urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"
                "</WellKnownScaleSet>\n");
    for (int z = 0; z <= maxz; z++)
        xml_raw(&b, "<TileMatrix><ows:Identifier>%d</ows:Identifier>"
                    "<ScaleDenominator>%.10g</ScaleDenominator>"
                    "<TopLeftCorner>%.10f %.10f</TopLeftCorner><TileWidth>256</TileWidth>"
                    "<TileHeight>256</TileHeight><MatrixWidth>%llu</MatrixWidth>"
                    "<MatrixHeight>%llu</MatrixHeight></TileMatrix>\n",
                z, WMTS_SCALE0 / ldexp(1.0, z), -WMTS_ORIGIN, WMTS_ORIGIN,
                1ULL << z, 1ULL << z);
    xml_raw(&b, "</TileMatrixSet>\n</Contents>\n</Capabilities>\n");
    if (b.oom) {
        buf_free(&b);
        set_error(resp, CT_ENOMEM, NULL);
        return;
    }
    set_body(resp, "application/xml", CACHE_PAGE, b.p, b.n);
}

/* GET /tiles/LAYER/point/LON,LAT: the band values there. */
/* A point answer: {"coordinates": [lon, lat], "values": []}, with *vals the
 * array to fill; NULL (and *vals NULL) when out of memory. */
static cJSON *point_json(const struct route *rt, cJSON **vals)
{
    cJSON *o = cJSON_CreateObject();
    double c[2] = { rt->lon, rt->lat };
    *vals = NULL;
    if (o && (!cJSON_AddItemToObject(o, "coordinates", cJSON_CreateDoubleArray(c, 2)) ||
              !(*vals = cJSON_AddArrayToObject(o, "values")))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

/* GET /tiles/DERIVED/point/LON,LAT: the derived band's value there, as the
 * layer's finest tile (its maxzoom, 256 px) has it at the pixel holding the
 * point: that pixel alone through derive_tile() (terrain at the tile's
 * central latitude), with the query's weights, remaps and expression. */
static void derived_point(struct worker *w, const struct request *req, const struct route *rt,
                          const struct target *t, struct response *resp)
{
    char msg[256] = "";
    struct derive_params dp;
    struct raster_info in;
    struct derive d = { 0 };
    double v = NAN;
    uint8_t state = DERIVE_NODATA;
    int minz, maxz;
    int err = params_derive(req, t->layer, &dp, msg, sizeof msg);
    if (!err)
        err = derived_info(w, t, &in, msg, sizeof msg);
    if (!err)
        err = derive_build(w, t, NULL, &dp, NULL, req->deadline_ms, &d, msg, sizeof msg);
    if (!err) {
        zoom_range(NULL, &in, &minz, &maxz); /* the data's finest zoom, not a configured one */
        const double res = tilemath_resolution(maxz, 256), half = tilemath_resolution(0, 1) / 2;
        double mx, my;
        tilemath_lonlat_to_merc(rt->lon, rt->lat, &mx, &my);
        const double px = floor((mx + half) / res), py = floor((half - my) / res);
        struct bbox cell = { px * res - half, half - (py + 1) * res, (px + 1) * res - half,
                             half - py * res };
        struct bbox ll = { rt->lon, rt->lat, rt->lon, rt->lat };
        if (!derive_intersects(&d, &ll)) {
            snprintf(msg, sizeof msg, "the point is outside the data");
            err = CT_EOUTSIDE;
        }
        /* the ground size of the tile's pixels: at its central latitude, as the tile */
        uint64_t tx, ty;
        struct bbox tll;
        if (!err && !(err = tilemath_lonlat_to_tile(rt->lon, rt->lat, maxz, &tx, &ty)))
            err = tilemath_bounds_lonlat(maxz, tx, ty, &tll);
        if (!err)
            err = derive_tile(&d, &cell, 1, (tll.miny + tll.maxy) / 2, &v, &state, msg,
                              sizeof msg);
    }
    derive_clear(&d);
    if (err) {
        set_source_error(resp, err, msg, t);
        return;
    }
    cJSON *vals = NULL, *o = point_json(rt, &vals);
    if (o) {
        cJSON_AddItemToArray(vals, state == DERIVE_VALUE ? num(v) : cJSON_CreateNull());
        cJSON_AddBoolToObject(o, "restricted", state == DERIVE_RESTRICTED);
        cJSON_AddNumberToObject(o, "zoom", maxz);
    }
    set_json(resp, o);
}

static void handle_point(struct worker *w, const struct request *req, const struct route *rt,
                         struct response *resp)
{
    struct target t;
    if (!rt->adhoc) {
        if (find_target(w, req, rt, &t, resp))
            return;
        if (is_derived(&t)) {
            derived_point(w, req, rt, &t, resp);
            return;
        }
    }
    struct raster *r = target_raster(w, req, rt, &t, resp);
    if (!r)
        return;
    double v[16];
    int n = 0, valid = 0;
    char msg[256] = "";
    int err = raster_point(r, rt->lon, rt->lat, v, 16, &n, &valid, msg, sizeof msg);
    if (err) {
        set_source_error(resp, err, msg, &t);
        return;
    }
    cJSON *vals = NULL, *o = point_json(rt, &vals);
    if (o) {
        for (int b = 0; b < n; b++)
            cJSON_AddItemToArray(vals, valid && !isnan(v[b]) ? cJSON_CreateNumber(v[b])
                                                             : cJSON_CreateNull());
    }
    set_json(resp, o);
}

/* GET / and GET /map/LAYER: the viewer, opened on the default layer or on
 * LAYER. Its asset links are relative ("./" or "../"), so the page works under
 * any prefix (API stage, CloudFront path). Layer names are [A-Za-z0-9_.-], safe
 * in HTML and JavaScript strings. */
static void handle_page(struct worker *w, const struct request *req, const struct route *rt,
                        struct response *resp)
{
    const struct config *c = app_config(worker_app(w));
    const char *layer = c->layers[c->default_layer].name;
    if (rt->kind == ROUTE_MAP) {
        struct target t;
        if (find_target(w, req, rt, &t, resp))
            return;
        layer = t.name;
    }
    const struct asset *page = assets_find("index.html");
    if (!page) {
        set_error(resp, CT_EINTERNAL, "index page missing");
        return;
    }
    const char *const kv[][2] = { { "ROOT", rt->kind == ROUTE_MAP ? "../" : "./" },
                                  { "LAYER", layer } };
    size_t n = 0;
    char *body = page_fill(page->data, page->len, kv, 2, &n);
    set_body(resp, "text/html; charset=utf-8", CACHE_PAGE, body, n);
}

/* GET /static/NAME */
static void handle_static(struct strview name, struct response *resp)
{
    char buf[64];
    const struct asset *a = NULL;
    if (name.n < sizeof buf) {
        memcpy(buf, name.p, name.n);
        buf[name.n] = '\0';
        a = strcmp(buf, "index.html") == 0 ? NULL : assets_find(buf);
    }
    if (!a)
        set_error(resp, CT_ENOROUTE, "no such file");
    else
        set_static(resp, a, CACHE_STATIC);
}

/* A CORS preflight (or a plain OPTIONS): 204 with the methods the server
 * takes, and the request headers asked for that are in the fixed list. */
static void handle_options(const struct request *req, const struct route *rt,
                           struct response *resp)
{
    resp->status = 204;
    resp->allow = route_allow(rt->kind);
    resp->cors_methods = CORS_METHODS;
    resp->cors_max_age = CORS_MAX_AGE;
    const char *asked = request_header(req, "Access-Control-Request-Headers");
    size_t used = 0;
    for (const char *p = asked ? asked : ""; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        for (size_t k = 0; n && k < sizeof cors_request_headers / sizeof *cors_request_headers;
             k++) {
            const char *h = cors_request_headers[k];
            if (strlen(h) == n && strncasecmp(p, h, n) == 0 &&
                used + n + 3 < sizeof resp->cors_headers) {
                used += (size_t)snprintf(resp->cors_headers + used,
                                         sizeof resp->cors_headers - used, "%s%s",
                                         used ? ", " : "", h);
                break;
            }
        }
        p += n;
    }
}

/* --- statistics -------------------------------------------------------------------- */

/* A number that reads back as the same double (cJSON prints 15 digits when
 * they come close), or null for NaN. */
static cJSON *num(double v)
{
    char buf[32];
    if (!isfinite(v))
        return cJSON_CreateNull();
    parse_print_double(v, buf, sizeof buf);
    return cJSON_CreateRaw(buf);
}

static cJSON *num_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *x = num(v[i]);
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

struct cat_ctx {
    cJSON *o;
    double total;
};

static void add_category(void *ctx, double v, double w, double area)
{
    struct cat_ctx *c = ctx;
    char key[40];
    parse_print_double(v, key, sizeof key);
    cJSON *e = cJSON_AddObjectToObject(c->o, key);
    if (!e)
        return;
    cJSON_AddItemToObject(e, "count", num(w));
    cJSON_AddItemToObject(e, "fraction", num(c->total > 0 ? w / c->total : NAN));
    cJSON_AddItemToObject(e, "area_m2", num(area));
}

/* One band's statistics as docs/ZONAL.md names them; NULL when out of memory. */
static cJSON *band_json(const struct stats *s, const struct stats_params *p, int level)
{
    struct stats_moments m;
    stats_moments(s, &m);
    int have = m.count > 0, exact = stats_exact(s);
    size_t unique = 0;
    double majority = NAN, minority = NAN;
    if (have && exact && stats_unique(s, &unique, &majority, &minority))
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddItemToObject(o, "min", num(m.min));
    cJSON_AddItemToObject(o, "max", num(m.max));
    cJSON_AddItemToObject(o, "mean", num(m.mean));
    cJSON_AddItemToObject(o, "count", num(m.count));
    cJSON_AddItemToObject(o, "sum", num(m.sum));
    cJSON_AddItemToObject(o, "std", num(m.std));
    cJSON_AddItemToObject(o, "median", num(stats_percentile(s, 50)));
    cJSON_AddItemToObject(o, "majority", num(majority));
    cJSON_AddItemToObject(o, "minority", num(minority));
    if (have && exact)
        cJSON_AddItemToObject(o, "unique", num((double)unique));
    else
        cJSON_AddNullToObject(o, "unique");
    /* numpy.histogram's range: [min, max], or around the one value */
    double lo = p->has_range ? p->range_min : m.min, hi = p->has_range ? p->range_max : m.max;
    if (!p->has_range && lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    int nb = p->histogram_bins;
    double counts[1000], edges[1001];
    if (have && !stats_histogram(s, nb, lo, hi, counts)) {
        for (int i = 0; i <= nb; i++)
            edges[i] = i == nb ? hi : lo + i * ((hi - lo) / nb);
        cJSON *h = cJSON_AddArrayToObject(o, "histogram");
        cJSON_AddItemToArray(h, num_array(counts, nb));
        cJSON_AddItemToArray(h, num_array(edges, nb + 1));
    } else {
        cJSON_AddNullToObject(o, "histogram");
    }
    double total = m.count + m.masked;
    cJSON_AddItemToObject(o, "valid_percent", num(total > 0 ? 100 * m.count / total : NAN));
    cJSON_AddItemToObject(o, "masked_pixels", num(m.masked));
    cJSON_AddItemToObject(o, "valid_pixels", num(m.count));
    for (int i = 0; i < p->np; i++) {
        char key[48];
        snprintf(key, sizeof key, "percentile_%g", p->p[i]);
        cJSON_AddItemToObject(o, key, num(stats_percentile(s, p->p[i])));
    }
    cJSON_AddItemToObject(o, "area_m2", num(m.area_m2));
    if (!exact)
        cJSON_AddTrueToObject(o, "approximate");
    if (level >= 0)
        cJSON_AddNumberToObject(o, "overview", level);
    if (p->categorical) {
        if (!exact) {
            cJSON_AddNullToObject(o, "categories");
        } else {
            struct cat_ctx c = { cJSON_AddObjectToObject(o, "categories"), m.count };
            if (c.o && p->nclasses == 0 && have)
                stats_each(s, add_category, &c);
            for (int i = 0; c.o && i < p->nclasses; i++) {
                double w, a;
                stats_category(s, p->classes[i], &w, &a);
                add_category(&c, p->classes[i], w, a);
            }
        }
    }
    return o;
}

/* One feature's statistics into s: its zone opened once, then one run, or
 * a fan-out (fanout.h) when the window is large or parts= asks for one. */
static int feature_stats(struct worker *w, struct raster *r, const struct target *t,
                         const struct gj_feature *g, const struct zonal_opts *o, int parts,
                         struct stats **s, struct zonal_info *info, char *msg, size_t msgcap)
{
    const struct config *c = app_config(worker_app(w));
    struct fanout *f = app_fanout(worker_app(w));
    struct zonal_zone *zz = NULL;
    *info = (struct zonal_info){ .level = -1 }; /* what a zone that fails to open reads */
    int err = zonal_open(r, g->polys, g->npolys, o, &zz, msg, msgcap);
    if (!err) {
        /* a derived band is computed here: parts name a layer's bands only */
        int n = o->read ? 1
                        : fanout_count(f, zonal_zone_plan(zz), parts, c->fanout_min_cells,
                                       c->fanout_part_cells);
        struct fanout_source src = { t->layer ? t->layer->name : NULL, t->url };
        err = n <= 1 ? zonal_run(zz, o, s, info, msg, msgcap)
                     : fanout_run(f, zz, &src, g->polys, g->npolys, o, n, s, info, msg, msgcap);
    }
    zonal_close(zz);
    return err;
}

/* Computes the statistics of every feature into z. CT_EOUTSIDE only for a
 * single feature outside the data (a collection's get count 0). */
static int zones_stats(struct worker *w, struct raster *r, const struct target *t,
                       struct gj_zones *z, const struct stats_params *p, struct derive *d,
                       long long deadline_ms, char *msg, size_t msgcap)
{
    const struct config *c = app_config(worker_app(w));
    if (d) /* a derived band: one band on the grid input's cells */
        r = d->in[d->grid].r;
    const struct raster_info *in = raster_get_info(r);
    int bands[PARAMS_MAX_BANDS], nb = p->nbands;
    for (int i = 0; i < (nb ? nb : in->nbands) && i < PARAMS_MAX_BANDS; i++)
        bands[i] = nb ? p->bands[i] : i + 1;
    if (!nb)
        nb = in->nbands < PARAMS_MAX_BANDS ? in->nbands : PARAMS_MAX_BANDS;
    if (d) {
        nb = 1;
        bands[0] = 1;
    }
    struct zonal_opts o = { .coverage = p->coverage, .nbands = nb, .bands = bands,
                            .read = d ? derive_chunk : NULL, .read_ctx = d,
                            .has_nodata = p->has_nodata, .nodata = p->nodata,
                            .max_cells = c->max_cells, .chunk_cells = c->chunk_cells,
                            .max_unique = c->stats_max_unique, .max_size = p->max_size,
                            .deadline_ms = deadline_ms };
    app_progress(w, &o.progress, &o.progress_ctx);
    int err = CT_OK;
    for (size_t f = 0; !err && f < gj_count(z); f++) {
        struct stats *s[PARAMS_MAX_BANDS] = { 0 };
        struct zonal_info info;
        const struct gj_feature *g = gj_feature(z, f);
        for (int i = 0; !err && i < nb; i++)
            err = stats_new(o.max_unique, &s[i]);
        if (!err)
            err = feature_stats(w, r, t, g, &o, p->parts, s, &info, msg, msgcap);
        if (err == CT_EOUTSIDE && !gj_single(z))
            err = CT_OK; /* this feature's statistics: count 0 */
        cJSON *stats = err ? NULL : cJSON_CreateObject();
        for (int i = 0; stats && i < nb; i++) {
            char key[16];
            snprintf(key, sizeof key, "b%d", bands[i]);
            cJSON *b = band_json(s[i], p, info.level);
            if (!b || !cJSON_AddItemToObject(stats, key, b)) {
                cJSON_Delete(b);
                cJSON_Delete(stats);
                stats = NULL;
            }
        }
        if (!err && (!stats || gj_set_statistics(z, f, stats))) {
            err = CT_ENOMEM;
            snprintf(msg, msgcap, "out of memory");
        }
        for (int i = 0; i < nb; i++)
            stats_free(s[i]);
    }
    return err;
}

/* True when the request's Content-Type is one the route takes. */
static int json_body(const struct request *req)
{
    const char *ct = request_header(req, "Content-Type");
    if (!ct)
        return 0;
    ct += strspn(ct, " \t");
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return (n == 16 && !strncasecmp(ct, "application/json", 16)) ||
           (n == 20 && !strncasecmp(ct, "application/geo+json", 20));
}

/* POST /statistics/LAYER and /cog/statistics?url=: the GeoJSON body back
 * with properties.statistics per feature (docs/ZONAL.md). */
static void handle_statistics(struct worker *w, const struct request *req,
                              const struct route *rt, struct response *resp)
{
    char msg[256] = "";
    struct target t;
    struct stats_params p;
    struct gj_zones *z = NULL;
    struct raster *r = NULL;
    if (!json_body(req)) {
        set_error(resp, CT_EMEDIATYPE,
                  "Content-Type: expected application/json or application/geo+json");
        return;
    }
    if (!req->body_len) {
        set_error(resp, CT_EINVAL, "the body must be a GeoJSON Feature, FeatureCollection, "
                                   "Polygon or MultiPolygon");
        return;
    }
    if (find_target(w, req, rt, &t, resp))
        return;
    struct derive_params dp;
    struct derive d = { 0 };
    int err = params_stats(req, &p, msg, sizeof msg);
    if (!err)
        err = params_derive(req, t.layer, &dp, msg, sizeof msg);
    const int derived = !err && (is_derived(&t) || dp.expression);
    if (derived && (p.nbands || p.has_nodata)) {
        snprintf(msg, sizeof msg, "%s: not with %s", p.nbands ? "bidx" : "nodata",
                 is_derived(&t) ? "a derived layer" : "expression=");
        err = CT_EINVAL;
    }
    if (!err)
        err = gj_parse((const char *)req->body, req->body_len, &z, msg, sizeof msg);
    if (!err)
        err = time_left(req, msg, sizeof msg);
    if (!err && !is_derived(&t))
        err = open_target(w, &t, &r, msg, sizeof msg);
    if (!err && derived)
        err = derive_build(w, &t, r, &dp, NULL, req->deadline_ms, &d, msg, sizeof msg);
    else if (!err)
        err = params_stats_check(&p, raster_get_info(r), msg, sizeof msg);
    if (!err)
        err = zones_stats(w, r, &t, z, &p, derived ? &d : NULL, req->deadline_ms, msg,
                          sizeof msg);
    derive_clear(&d);
    char *text = err ? NULL : gj_print(z);
    gj_free(z);
    if (err) {
        set_source_error(resp, err, msg, &t);
        return;
    }
    set_body(resp, "application/json", "no-store", text, text ? strlen(text) : 0);
}

/* The message of a path route_parse() refused. */
static const char *route_error(int err, enum route_kind kind)
{
    if (err == CT_ENOROUTE)
        return "no such route";
    if (err == CT_ERANGE)
        return "z/x/y out of range: need 0 <= z <= 30 and 0 <= x, y < 2^z";
    if (kind == ROUTE_POINT)
        return "point: expected /tiles/{layer}/point/{lon},{lat} in degrees";
    if (kind == ROUTE_MAP || kind == ROUTE_STATISTICS)
        return "layer names are 1-64 characters of A-Z a-z 0-9 _ . -";
    return "malformed tile path: expected /tiles/{layer}/{z}/{x}/{y}[@2x].{png,webp,jpg,tif}";
}

static void dispatch(struct worker *w, const struct request *req, struct response *resp)
{
    const char *path = req->path ? req->path : "";
    const char *method = req->method ? req->method : "";
    struct route rt;
    int err = route_parse(path, strlen(path), &rt);
    if (err) {
        set_error(resp, err, route_error(err, rt.kind));
        return;
    }
    if (strcmp(method, "OPTIONS") == 0) {
        handle_options(req, &rt, resp);
        return;
    }
    int body = route_takes_body(rt.kind);
    if (body ? strcmp(method, "POST") != 0
             : strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "method %.16s: this route answers %s", method,
                 route_allow(rt.kind));
        set_error(resp, CT_EMETHOD, msg);
        resp->allow = route_allow(rt.kind);
        return;
    }
    switch (rt.kind) {
    case ROUTE_INDEX:
    case ROUTE_MAP: handle_page(w, req, &rt, resp); return;
    case ROUTE_STATIC: handle_static(rt.asset, resp); return;
    case ROUTE_TILE: handle_tile(w, req, &rt, resp); return;
    case ROUTE_COLORMAPS: handle_colormaps(resp); return;
    case ROUTE_COLORMAP: handle_colormap(rt.asset, resp); return;
    case ROUTE_LAYERS: handle_layers(w, resp); return;
    case ROUTE_INFO: handle_info(w, req, &rt, resp); return;
    case ROUTE_TILEJSON: handle_tilejson(w, req, &rt, resp); return;
    case ROUTE_WMTS: handle_wmts(w, req, &rt, resp); return;
    case ROUTE_POINT: handle_point(w, req, &rt, resp); return;
    case ROUTE_STATISTICS: handle_statistics(w, req, &rt, resp); return;
    case ROUTE_NONE: break;
    }
    set_error(resp, CT_ENOROUTE, "no such route");
}

/* Headers every answer carries. */
static void finish(struct worker *w, struct response *resp)
{
    const struct config *c = app_config(worker_app(w));
    resp->cors_origin = c->cors_origin ? c->cors_origin : "*";
}

void handler_refuse(void *ctx, struct response *resp, int err, const char *detail)
{
    http_error(resp, err, detail);
    finish(ctx, resp);
}

void handler_handle(void *ctx, const struct request *req, struct response *resp)
{
    struct worker *w = ctx;
    memset(resp, 0, sizeof *resp);
    app_request_begin(w, req->deadline_ms);
    dispatch(w, req, resp);
    app_request_end(w);
    finish(w, resp);
    if (resp->status != 200)
        return;
    set_etag(resp);
    const char *inm = request_header(req, "If-None-Match");
    if (inm && etag_matches(inm, resp->etag)) {
        response_free(resp);
        resp->status = 304;
    }
}

/* A fan-out part (fanout.h), on the invocation's worker. */
static int handler_part(void *ctx, const void *part, long long deadline_ms, char **json,
                        size_t *len)
{
    return fanout_part(ctx, part, deadline_ms, json, len);
}

const struct http_service handler_service = { handler_handle, handler_refuse, handler_part };
