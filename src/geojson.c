#include "geojson.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct gj_zones {
    cJSON *root;       /* the answer's tree: a Feature or a FeatureCollection */
    int single;
    cJSON **features;  /* each feature object inside root */
    struct gj_feature *geom;
    size_t n, cap;
    size_t positions;
    char *msg;         /* where the parser writes its reason */
    size_t msgcap;
};

/* Fails with "PATH: why". */
static int bad(struct gj_zones *z, const char *path, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(z->msg, z->msgcap, "%s%s%s", path, *path ? ": " : "", why);
    return CT_EINVAL;
}

static void free_polys(struct gj_feature *f)
{
    geom_free(f->polys, f->npolys);
    f->polys = NULL;
    f->npolys = 0;
}

void gj_free(struct gj_zones *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->n; i++)
        free_polys(&z->geom[i]);
    free(z->geom);
    free(z->features);
    cJSON_Delete(z->root);
    free(z);
}

/* One ring: positions [lon, lat(, alt)], closed, at least 4, every edge
 * under 180 degrees of longitude. */
const char *gj_position_error(double lon, double lat, const double *prev)
{
    if (!isfinite(lon) || !isfinite(lat) || fabs(lon) > 180 || fabs(lat) > 90)
        return "longitude must be within [-180, 180] and latitude within [-90, 90]";
    /* (an edge along a pole is a point on the sphere: Antarctica's ring) */
    if (prev && fabs(lon - prev[0]) > 180 && !(fabs(lat) == 90 && lat == prev[1]))
        return "an edge spans more than 180 degrees of longitude: split the polygon at the "
               "antimeridian (RFC 7946 3.1.9)";
    return NULL;
}

static int parse_ring(struct gj_zones *z, const cJSON *a, const char *path, struct ring *out)
{
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 0)
        return bad(z, path, "a ring must be an array of positions");
    if (n < 4)
        return bad(z, path, "a ring needs at least 4 positions (%d given)", n);
    if ((size_t)n > GJ_MAX_POSITIONS - z->positions)
        return bad(z, path, "more than %d positions in all", GJ_MAX_POSITIONS);
    z->positions += (size_t)n;
    out->xy = malloc((size_t)n * 2 * sizeof *out->xy);
    if (!out->xy)
        return CT_ENOMEM;
    out->n = (size_t)n;
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, a)
    {
        char at[256];
        snprintf(at, sizeof at, "%.200s[%d]", path, i);
        int k = cJSON_IsArray(p) ? cJSON_GetArraySize(p) : 0;
        const cJSON *x = cJSON_GetArrayItem(p, 0), *y = cJSON_GetArrayItem(p, 1);
        if ((k != 2 && k != 3) || !cJSON_IsNumber(x) || !cJSON_IsNumber(y) ||
            (k == 3 && !cJSON_IsNumber(cJSON_GetArrayItem(p, 2))))
            return bad(z, at, "a position is [longitude, latitude] or [longitude, latitude, "
                              "altitude] of numbers");
        double lon = x->valuedouble, lat = y->valuedouble;
        const char *why = gj_position_error(lon, lat, i > 0 ? out->xy + 2 * (i - 1) : NULL);
        if (why)
            return bad(z, at, "%s", why);
        out->xy[2 * i] = lon;
        out->xy[2 * i + 1] = lat;
        i++;
    }
    if (out->xy[0] != out->xy[2 * (n - 1)] || out->xy[1] != out->xy[2 * (n - 1) + 1])
        return bad(z, path, "a ring must be closed (its last position equal to its first)");
    return CT_OK;
}

/* Polygon coordinates: an array of rings. */
static int parse_polygon(struct gj_zones *z, const cJSON *a, const char *path, struct polygon *out)
{
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 1)
        return bad(z, path, "a polygon's coordinates are a non-empty array of rings");
    out->rings = calloc((size_t)n, sizeof *out->rings);
    if (!out->rings)
        return CT_ENOMEM;
    const cJSON *r;
    cJSON_ArrayForEach(r, a)
    {
        char at[256];
        snprintf(at, sizeof at, "%.200s[%zu]", path, out->nrings);
        int err = parse_ring(z, r, at, &out->rings[out->nrings]);
        out->nrings++; /* counted even when partly filled, so it is freed */
        if (err)
            return err;
    }
    return CT_OK;
}

/* A Polygon or MultiPolygon geometry object into f. */
static int parse_geometry(struct gj_zones *z, const cJSON *g, const char *path,
                          struct gj_feature *f)
{
    char at[256];
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(g, "type");
    if (!cJSON_IsObject(g) || !cJSON_IsString(type))
        return bad(z, path, "a geometry must be an object with a \"type\"");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(g, "coordinates");
    snprintf(at, sizeof at, "%.200s%scoordinates", path, *path ? "." : "");
    int multi = strcmp(type->valuestring, "MultiPolygon") == 0;
    if (!multi && strcmp(type->valuestring, "Polygon") != 0)
        return bad(z, path, "geometry type %.40s is not accepted: Polygon or MultiPolygon",
                   type->valuestring);
    int n = multi ? (cJSON_IsArray(c) ? cJSON_GetArraySize(c) : -1) : 1;
    if (n < 1)
        return bad(z, at, "a MultiPolygon's coordinates are a non-empty array of polygons");
    f->polys = calloc((size_t)n, sizeof *f->polys);
    if (!f->polys)
        return CT_ENOMEM;
    if (!multi) {
        f->npolys = 1;
        return parse_polygon(z, c, at, &f->polys[0]);
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, c)
    {
        char pat[256];
        snprintf(pat, sizeof pat, "%.200s[%zu]", at, f->npolys);
        int err = parse_polygon(z, p, pat, &f->polys[f->npolys]);
        f->npolys++;
        if (err)
            return err;
    }
    return CT_OK;
}

/* Adds feature object feat (inside z->root) with its geometry. */
static int add_feature(struct gj_zones *z, cJSON *feat, const char *path)
{
    char at[256];
    if (z->n == GJ_MAX_FEATURES)
        return bad(z, path, "more than %d features", GJ_MAX_FEATURES);
    if (z->n == z->cap) {
        size_t cap = z->cap ? 2 * z->cap : 8;
        cJSON **fs = realloc(z->features, cap * sizeof *fs);
        if (fs)
            z->features = fs;
        struct gj_feature *gs = realloc(z->geom, cap * sizeof *gs);
        if (gs)
            z->geom = gs;
        if (!fs || !gs)
            return CT_ENOMEM;
        z->cap = cap;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(feat, "type");
    if (!cJSON_IsObject(feat) || !cJSON_IsString(type) || strcmp(type->valuestring, "Feature"))
        return bad(z, path, "expected a Feature");
    cJSON *props = cJSON_GetObjectItemCaseSensitive(feat, "properties");
    if (props && !cJSON_IsObject(props) && !cJSON_IsNull(props))
        return bad(z, path, "\"properties\" must be an object or null");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(feat, "geometry");
    snprintf(at, sizeof at, "%.200s%sgeometry", path, *path ? "." : "");
    if (!g || cJSON_IsNull(g))
        return bad(z, at, "a feature without a geometry has no zone");
    z->features[z->n] = feat;
    memset(&z->geom[z->n], 0, sizeof z->geom[z->n]);
    z->n++;
    return parse_geometry(z, g, at, &z->geom[z->n - 1]);
}

int gj_parse(const char *text, size_t len, struct gj_zones **out, char *msg, size_t msgcap)
{
    *out = NULL;
    struct gj_zones *z = calloc(1, sizeof *z);
    char none[1];
    if (!z)
        return CT_ENOMEM;
    z->msg = msg && msgcap ? msg : none;
    z->msgcap = msg && msgcap ? msgcap : sizeof none;
    const char *end = NULL;
    int err = CT_EINVAL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        bad(z, "", "the body is not valid JSON (error at byte %zu)", at);
        goto out;
    }
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != text + len) {
        cJSON_Delete(root);
        bad(z, "", "the body has data after its JSON value");
        goto out;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsObject(root) || !cJSON_IsString(type)) {
        cJSON_Delete(root);
        bad(z, "", "expected a GeoJSON object with a \"type\"");
        goto out;
    }
    const char *t = type->valuestring;
    if (strcmp(t, "Polygon") == 0 || strcmp(t, "MultiPolygon") == 0) {
        /* a bare geometry: answered as a Feature of it */
        z->root = cJSON_CreateObject();
        if (!z->root || !cJSON_AddStringToObject(z->root, "type", "Feature") ||
            !cJSON_AddItemToObject(z->root, "geometry", root) ||
            !cJSON_AddObjectToObject(z->root, "properties")) {
            if (!z->root || !cJSON_GetObjectItemCaseSensitive(z->root, "geometry"))
                cJSON_Delete(root);
            err = CT_ENOMEM;
            goto out;
        }
        z->single = 1;
        err = add_feature(z, z->root, "");
    } else if (strcmp(t, "Feature") == 0) {
        z->root = root;
        z->single = 1;
        err = add_feature(z, root, "");
    } else if (strcmp(t, "FeatureCollection") == 0) {
        z->root = root;
        cJSON *fs = cJSON_GetObjectItemCaseSensitive(root, "features");
        if (!cJSON_IsArray(fs) || cJSON_GetArraySize(fs) < 1) {
            bad(z, "features", "a FeatureCollection needs a non-empty \"features\" array");
            goto out;
        }
        cJSON *f;
        err = CT_OK;
        cJSON_ArrayForEach(f, fs)
        {
            char at[32];
            snprintf(at, sizeof at, "features[%zu]", z->n);
            if ((err = add_feature(z, f, at)))
                break;
        }
    } else {
        bad(z, "type", "%.40s is not accepted: a Feature, a FeatureCollection, a Polygon or a "
                       "MultiPolygon",
            t);
        cJSON_Delete(root);
    }
out:
    if (err == CT_ENOMEM)
        snprintf(z->msg, z->msgcap, "out of memory");
    if (err) {
        gj_free(z);
        return err;
    }
    z->msg = NULL;
    *out = z;
    return CT_OK;
}

size_t gj_count(const struct gj_zones *z)
{
    return z->n;
}

const struct gj_feature *gj_feature(const struct gj_zones *z, size_t i)
{
    return &z->geom[i];
}

int gj_single(const struct gj_zones *z)
{
    return z->single;
}

int gj_set_statistics(struct gj_zones *z, size_t i, struct cJSON *stats)
{
    cJSON *feat = z->features[i];
    cJSON *props = cJSON_GetObjectItemCaseSensitive(feat, "properties");
    if (!cJSON_IsObject(props)) {
        cJSON *fresh = cJSON_CreateObject();
        if (!fresh || (props ? !cJSON_ReplaceItemInObjectCaseSensitive(feat, "properties", fresh)
                             : !cJSON_AddItemToObject(feat, "properties", fresh))) {
            cJSON_Delete(fresh);
            cJSON_Delete(stats);
            return CT_ENOMEM;
        }
        props = fresh;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(props, "statistics");
    if (!cJSON_AddItemToObject(props, "statistics", stats)) {
        cJSON_Delete(stats);
        return CT_ENOMEM;
    }
    return CT_OK;
}

char *gj_print(const struct gj_zones *z)
{
    return cJSON_PrintUnformatted(z->root);
}
