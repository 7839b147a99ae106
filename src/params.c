#include "params.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "parse.h"

int params_range(const char *s, double *min, double *max)
{
    const char *comma = strchr(s, ',');
    double a, b;
    if (!comma || parse_decimal(s, (size_t)(comma - s), &a) ||
        parse_decimal(comma + 1, strlen(comma + 1), &b) || !(a < b))
        return CT_EINVAL;
    *min = a;
    *max = b;
    return CT_OK;
}

int params_number(const char *s, double *out)
{
    if (strcasecmp(s, "nan") == 0) {
        *out = NAN;
        return CT_OK;
    }
    return parse_decimal(s, strlen(s), out);
}

int params_bidx(const char *s, int bands[3], int *n)
{
    int k = 0, got[3];
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        uint64_t v;
        if (k == 3 || parse_u64(p, len, &v) || v < 1 || v > 65535)
            return CT_EINVAL;
        got[k++] = (int)v;
        if (!p[len])
            break;
        p += len + 1;
    }
    if (k != 1 && k != 3)
        return CT_EINVAL;
    memcpy(bands, got, sizeof got);
    *n = k;
    return CT_OK;
}

/* algorithm=hillshade|terrainrgb|terrarium and TiTiler's algorithm_params JSON
 * ({"azimuth": 315, "angle_altitude": 45, "z_factor": 1}). */
static int parse_algorithm(const struct request *req, struct tile_params *p, char *msg,
                           size_t msgcap)
{
    const char *name = request_query(req, "algorithm");
    const char *params = request_query(req, "algorithm_params");
    p->algorithm = ALGO_NONE;
    p->algo = ALGO_PARAMS_DEFAULT;
    if (!name) {
        if (params) {
            snprintf(msg, msgcap, "algorithm_params: given without algorithm");
            return CT_EINVAL;
        }
        return CT_OK;
    }
    if (algo_parse(name, &p->algorithm)) {
        snprintf(msg, msgcap, "algorithm: expected hillshade, terrainrgb or terrarium");
        return CT_EINVAL;
    }
    /* Nearest resampling repeats rows and columns when it enlarges, which a
     * gradient shows as stripes: hillshade defaults to bilinear. */
    if (p->algorithm == ALGO_HILLSHADE && !p->resampling)
        p->resampling = "bilinear";
    if (!params)
        return CT_OK;
    int err = CT_OK;
    cJSON *j = cJSON_Parse(params);
    static const char *const keys[] = { "azimuth", "angle_altitude", "z_factor" };
    double *dest[] = { &p->algo.azimuth, &p->algo.altitude, &p->algo.zfactor };
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
    if (!err && !(p->algo.altitude >= 0 && p->algo.altitude <= 90 && p->algo.zfactor > 0))
        err = CT_EINVAL;
    if (err)
        snprintf(msg, msgcap,
                 "algorithm_params: expected a JSON object of azimuth, angle_altitude (0-90) "
                 "and z_factor (> 0)");
    return err;
}

/* colormap_name= (or the layer's default) and colormap= (a custom JSON map). */
static int parse_colours(const struct request *req, const struct layer_conf *defaults,
                         struct tile_params *p, char *msg, size_t msgcap)
{
    const char *name = request_query(req, "colormap_name");
    const char *json = request_query(req, "colormap");
    const char *cm = name ? name : defaults ? defaults->colormap : NULL;
    if (cm && !(p->cmap = colormap_find(cm, strlen(cm)))) {
        snprintf(msg, msgcap, "colormap_name: unknown colormap \"%.40s\"", cm);
        return CT_EINVAL;
    }
    if (!json)
        return CT_OK;
    if (name) {
        snprintf(msg, msgcap, "colormap: give colormap or colormap_name, not both");
        return CT_EINVAL;
    }
    char why[160];
    if (custom_parse(json, strlen(json), &p->custom, why, sizeof why)) {
        snprintf(msg, msgcap, "colormap: %s", why);
        return CT_EINVAL;
    }
    p->has_custom = 1;
    return CT_OK;
}

int params_tile(const struct request *req, const struct layer_conf *defaults, int scale,
                struct tile_params *p, char *msg, size_t msgcap)
{
    memset(p, 0, sizeof *p);
    p->size = 256 * scale;
    int err = parse_colours(req, defaults, p, msg, msgcap);
    if (err)
        return err;
    /* rescale may repeat: one range for every band, or one per band. */
    for (size_t i = 0; i < req->nquery; i++) {
        if (!req->query[i].key || strcmp(req->query[i].key, "rescale") != 0)
            continue;
        if (p->nrescale == 3) {
            snprintf(msg, msgcap, "rescale: at most 3 ranges");
            return CT_EINVAL;
        }
        const char *v = req->query[i].value ? req->query[i].value : "";
        if (params_range(v, &p->rmin[p->nrescale], &p->rmax[p->nrescale])) {
            snprintf(msg, msgcap, "rescale: expected MIN,MAX with MIN < MAX");
            return CT_EINVAL;
        }
        p->nrescale++;
    }
    if (!p->nrescale && defaults && defaults->has_rescale) {
        p->nrescale = 1;
        p->rmin[0] = defaults->rescale_min;
        p->rmax[0] = defaults->rescale_max;
    }
    const char *ts = request_query(req, "tilesize");
    if (ts) {
        uint64_t v;
        if (parse_u64(ts, strlen(ts), &v) || (v != 256 && v != 512)) {
            snprintf(msg, msgcap, "tilesize: expected 256 or 512");
            return CT_EINVAL;
        }
        p->size = (int)v;
    }
    const char *bidx = request_query(req, "bidx");
    if (bidx && params_bidx(bidx, p->bands, &p->nbands)) {
        snprintf(msg, msgcap, "bidx: expected one band number or three (e.g. 4,3,2)");
        return CT_EINVAL;
    }
    const char *nd = request_query(req, "nodata");
    if (nd) {
        if (params_number(nd, &p->nodata)) {
            snprintf(msg, msgcap, "nodata: expected a number or nan");
            return CT_EINVAL;
        }
        p->has_nodata = 1;
    }
    const char *rs = request_query(req, "resampling");
    if (rs && !(p->resampling = parse_resampling(rs))) {
        snprintf(msg, msgcap, "resampling: expected nearest, bilinear, cubic, average or mode");
        return CT_EINVAL;
    }
    if (!rs && defaults)
        p->resampling = defaults->resampling; /* the layer's, or NULL */
    const char *q = request_query(req, "quality");
    if (q) {
        uint64_t v;
        if (parse_u64(q, strlen(q), &v) || v < 1 || v > 100) {
            snprintf(msg, msgcap, "quality: expected a whole number 1..100");
            return CT_EINVAL;
        }
        p->quality = (int)v;
    }
    return parse_algorithm(req, p, msg, msgcap);
}

int params_check(const struct tile_params *p, const struct raster_info *in, char *msg,
                 size_t msgcap)
{
    const int total = in->nbands + (in->has_alpha ? 1 : 0);
    for (int b = 0; b < p->nbands; b++)
        if (p->bands[b] > total) {
            snprintf(msg, msgcap, "bidx: band %d does not exist (the source has %d)",
                     p->bands[b], total);
            return CT_EINVAL;
        }
    if (p->algorithm != ALGO_NONE) {
        if (p->format == IMG_TIFF) {
            snprintf(msg, msgcap, "algorithm: a .tif tile holds the source's values; "
                                  "ask for .png, .webp or .jpg");
            return CT_EINVAL;
        }
        if (p->nbands > 1) {
            snprintf(msg, msgcap, "algorithm: needs one band (bidx=N)");
            return CT_EINVAL;
        }
        return CT_OK;
    }
    const int rendered = p->nbands ? p->nbands : in->nbands;
    if (rendered >= 3) {
        if (p->nrescale > 1 && p->nrescale != 3) {
            snprintf(msg, msgcap, "rescale: give one range, or one per band (3)");
            return CT_EINVAL;
        }
    } else if (p->nrescale > 1) {
        snprintf(msg, msgcap, "rescale: one range for a single band");
        return CT_EINVAL;
    }
    return CT_OK;
}

int params_url(const struct request *req, const char **url, char *msg, size_t msgcap)
{
    const char *u = request_query(req, "url");
    if (!u || !*u) {
        snprintf(msg, msgcap, "url: required by the /cog/ routes");
        return CT_EINVAL;
    }
    *url = u;
    return CT_OK;
}

/* Appends the comma-separated numbers of every value of key to out (at most
 * max); 0, or CT_EINVAL for a bad number or too many. */
static int number_list(const struct request *req, const char *key, double *out, int *n, int max)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (!req->query[i].key || strcmp(req->query[i].key, key) != 0)
            continue;
        for (const char *p = req->query[i].value ? req->query[i].value : "";;) {
            size_t len = strcspn(p, ",");
            if (*n == max || parse_decimal(p, len, &out[*n]))
                return CT_EINVAL;
            (*n)++;
            if (!p[len])
                break;
            p += len + 1;
        }
    }
    return CT_OK;
}

static int boolean(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        *out = 0;
    else
        return CT_EINVAL;
    return CT_OK;
}

/* The query value key, when given, as a whole number 1..max into *out; else
 * *out is left as it is. 0, or CT_EINVAL ("key: expected 1..max[unit]"). */
static int whole(const struct request *req, const char *key, int max, const char *unit, int *out,
                 char *msg, size_t msgcap)
{
    const char *v = request_query(req, key);
    uint64_t n;
    if (!v)
        return CT_OK;
    if (parse_u64(v, strlen(v), &n) || n < 1 || n > (uint64_t)max) {
        snprintf(msg, msgcap, "%s: expected 1..%d%s", key, max, unit);
        return CT_EINVAL;
    }
    *out = (int)n;
    return CT_OK;
}

int params_stats(const struct request *req, struct stats_params *p, char *msg, size_t msgcap)
{
    memset(p, 0, sizeof *p);
    p->histogram_bins = 10;
    const char *v = request_query(req, "coverage");
    if (v) {
        static const char *const names[] = { "center", "all_touched", "exact" };
        int k = 0;
        while (k < 3 && strcmp(v, names[k]) != 0)
            k++;
        if (k == 3) {
            snprintf(msg, msgcap, "coverage: expected center, all_touched or exact");
            return CT_EINVAL;
        }
        p->coverage = (enum zonal_coverage)k;
    }
    double bands[PARAMS_MAX_BANDS];
    if (number_list(req, "bidx", bands, &p->nbands, PARAMS_MAX_BANDS)) {
        snprintf(msg, msgcap, "bidx: expected band numbers 1..65535 (at most %d)",
                 PARAMS_MAX_BANDS);
        return CT_EINVAL;
    }
    for (int i = 0; i < p->nbands; i++) {
        if (!(bands[i] >= 1 && bands[i] <= 65535) || bands[i] != floor(bands[i])) {
            snprintf(msg, msgcap, "bidx: expected band numbers 1..65535 (at most %d)",
                     PARAMS_MAX_BANDS);
            return CT_EINVAL;
        }
        p->bands[i] = (int)bands[i];
    }
    if ((v = request_query(req, "nodata"))) {
        if (params_number(v, &p->nodata)) {
            snprintf(msg, msgcap, "nodata: expected a number or nan");
            return CT_EINVAL;
        }
        p->has_nodata = 1;
    }
    if ((v = request_query(req, "categorical")) && boolean(v, &p->categorical)) {
        snprintf(msg, msgcap, "categorical: expected true or false");
        return CT_EINVAL;
    }
    if (number_list(req, "c", p->classes, &p->nclasses, PARAMS_MAX_CLASSES)) {
        snprintf(msg, msgcap, "c: expected class values (numbers, at most %d)",
                 PARAMS_MAX_CLASSES);
        return CT_EINVAL;
    }
    if (number_list(req, "p", p->p, &p->np, PARAMS_MAX_PERCENTILES)) {
        snprintf(msg, msgcap, "p: expected percentiles 0..100 (at most %d)",
                 PARAMS_MAX_PERCENTILES);
        return CT_EINVAL;
    }
    for (int i = 0; i < p->np; i++)
        if (!(p->p[i] >= 0 && p->p[i] <= 100)) {
            snprintf(msg, msgcap, "p: expected percentiles 0..100 (at most %d)",
                     PARAMS_MAX_PERCENTILES);
            return CT_EINVAL;
        }
    if (!request_query(req, "p")) {
        p->np = 2;
        p->p[0] = 2;
        p->p[1] = 98;
    }
    if (whole(req, "histogram_bins", 1000, "", &p->histogram_bins, msg, msgcap))
        return CT_EINVAL;
    if ((v = request_query(req, "histogram_range"))) {
        if (params_range(v, &p->range_min, &p->range_max)) {
            snprintf(msg, msgcap, "histogram_range: expected MIN,MAX with MIN < MAX");
            return CT_EINVAL;
        }
        p->has_range = 1;
    }
    if (whole(req, "max_size", 1000000, " cells", &p->max_size, msg, msgcap) ||
        whole(req, "parts", PARAMS_MAX_PARTS, "", &p->parts, msg, msgcap))
        return CT_EINVAL;
    return CT_OK;
}

int params_stats_check(const struct stats_params *p, const struct raster_info *in, char *msg,
                       size_t msgcap)
{
    const int total = in->nbands + (in->has_alpha ? 1 : 0);
    for (int b = 0; b < p->nbands; b++)
        if (p->bands[b] > total) {
            snprintf(msg, msgcap, "bidx: band %d does not exist (the source has %d)",
                     p->bands[b], total);
            return CT_EINVAL;
        }
    return CT_OK;
}

int params_derive(const struct request *req, const struct layer_conf *l,
                  struct derive_params *out, char *msg, size_t msgcap)
{
    const struct derived *d = l ? l->derived : NULL;
    const int overlay = d && !d->expression;
    memset(out, 0, sizeof *out);
    const char *e = request_query(req, "expression");
    if (e) {
        out->expression = e;
        out->expression_len = strlen(e);
    }
    const char *w = request_query(req, "weights");
    if (w && (!overlay || e)) {
        snprintf(msg, msgcap, "weights: only for a derived layer's weighted overlay");
        return CT_EINVAL;
    }
    if (w) {
        if (overlay_weights_parse(w, strlen(w), d->ninputs, out->weights, msg, msgcap))
            return CT_EINVAL;
        out->has_weights = 1;
    }
    for (size_t i = 0; i < req->nquery; i++) {
        if (!req->query[i].key || strcmp(req->query[i].key, "remap") != 0)
            continue;
        if (!overlay || e) {
            snprintf(msg, msgcap, "remap: only for a derived layer's weighted overlay");
            return CT_EINVAL;
        }
        const char *v = req->query[i].value ? req->query[i].value : "";
        const char *colon = strchr(v, ':');
        size_t n = colon ? (size_t)(colon - v) : 0;
        int k = -1;
        for (int j = 0; j < d->ninputs; j++)
            if (strlen(d->in[j].name) == n && !strncmp(d->in[j].name, v, n))
                k = j;
        if (k < 0) {
            snprintf(msg, msgcap, "remap: expected INPUT:RULES, INPUT one of the layer's inputs");
            return CT_EINVAL;
        }
        if (out->remapped & (1u << k)) {
            snprintf(msg, msgcap, "remap: input \"%s\" given twice", d->in[k].name);
            return CT_EINVAL;
        }
        if (overlay_remap_parse(colon + 1, strlen(colon + 1), d->scale_min, d->scale_max,
                                &out->remap[k], msg, msgcap))
            return CT_EINVAL;
        out->remapped |= 1u << k;
    }
    return CT_OK;
}
