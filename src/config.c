#include "config.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colormap.h"
#include "err.h"
#include "expr.h"
#include "parse.h"
#include "source.h"
#include "tilemath.h"

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* The whole-number settings: the same key in the file and variable in the
 * environment, each with its range. */
static const struct int_setting {
    const char *key, *env;
    size_t offset;
    int min, max, dflt;
    const char *what; /* completes "must be ..." */
} int_settings[] = {
    { "dataset_ttl", "COGTILER_DATASET_TTL", offsetof(struct config, dataset_ttl_s), 0,
      86400 * 365, CONFIG_DATASET_TTL, "whole seconds from 0 (never) to a year" },
    { "negative_ttl", "COGTILER_NEGATIVE_TTL", offsetof(struct config, negative_ttl_s), 0, 3600,
      CONFIG_NEGATIVE_TTL, "whole seconds from 0 (off) to an hour" },
    { "url_max_requests", "COGTILER_URL_MAX_REQUESTS",
      offsetof(struct config, url_max_requests), 1, 10000, CONFIG_URL_MAX_REQUESTS,
      "a whole number of requests from 1 to 10000" },
    { "url_max_bytes", "COGTILER_URL_MAX_BYTES", offsetof(struct config, url_max_bytes), 65536,
      1 << 30, CONFIG_URL_MAX_BYTES, "a whole number of bytes from 65536 to 1 GiB" },
    { "max_cells", "COGTILER_MAX_CELLS", offsetof(struct config, max_cells), 1, 2000000000,
      CONFIG_MAX_CELLS, "a whole number of cells from 1 to 2,000,000,000" },
    { "chunk_cells", "COGTILER_CHUNK_CELLS", offsetof(struct config, chunk_cells), 1,
      1 << 26, CONFIG_CHUNK_CELLS, "a whole number of cells from 1 to 67,108,864" },
    { "stats_max_unique", "COGTILER_STATS_MAX_UNIQUE", offsetof(struct config, stats_max_unique),
      1, 10000000, CONFIG_STATS_MAX_UNIQUE, "a whole number from 1 to 10,000,000" },
    { "fanout_min_cells", "COGTILER_FANOUT_MIN_CELLS", offsetof(struct config, fanout_min_cells),
      0, 2000000000, CONFIG_FANOUT_MIN_CELLS, "a whole number of cells from 0 to 2,000,000,000" },
    { "fanout_part_cells", "COGTILER_FANOUT_PART_CELLS",
      offsetof(struct config, fanout_part_cells), 1, 2000000000, CONFIG_FANOUT_PART_CELLS,
      "a whole number of cells from 1 to 2,000,000,000" },
    { "fanout_concurrency", "COGTILER_FANOUT_CONCURRENCY",
      offsetof(struct config, fanout_concurrency), 0, 1000, CONFIG_FANOUT_CONCURRENCY,
      "a whole number of invocations from 0 (no fan-out) to 1000" },
    { "fanout_jobs", "COGTILER_FANOUT_JOBS", offsetof(struct config, fanout_jobs), 0, 256, 0,
      "a whole number of threads from 0 (one per CPU) to 256" },
};
#define N_INT_SETTINGS (sizeof int_settings / sizeof int_settings[0])

static int *int_field(struct config *c, const struct int_setting *s)
{
    return (int *)((char *)c + s->offset);
}

/* v into *out when it is a whole number within s's range. */
static int set_int(const struct int_setting *s, double v, int *out)
{
    if (!(v >= s->min && v <= s->max) || v != (int)v)
        return CT_ECONFIG;
    *out = (int)v;
    return CT_OK;
}

static void set_defaults(struct config *c)
{
    for (size_t i = 0; i < N_INT_SETTINGS; i++)
        *int_field(c, &int_settings[i]) = int_settings[i].dflt;
}

static int valid_name(const char *s)
{
    return parse_layer_name(s, strlen(s));
}

/* A header value must not smuggle in a line break or control character. */
static int valid_header_value(const char *s)
{
    if (strlen(s) > 256)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static void free_prefixes(struct config *c)
{
    for (size_t i = 0; i < c->nallowed; i++)
        free(c->allowed_prefixes[i]);
    free(c->allowed_prefixes);
    c->allowed_prefixes = NULL;
    c->nallowed = 0;
}

/* Appends a checked copy of prefix[0..n) to the allow-list. */
static int add_prefix(struct config *c, const char *prefix, size_t n, char *msg, size_t msgcap)
{
    char *d = malloc(n + 1);
    char **grown = realloc(c->allowed_prefixes, (c->nallowed + 1) * sizeof *grown);
    if (!d || !grown) {
        free(d);
        if (grown)
            c->allowed_prefixes = grown;
        snprintf(msg, msgcap, "out of memory");
        return CT_ENOMEM;
    }
    c->allowed_prefixes = grown;
    memcpy(d, prefix, n);
    d[n] = '\0';
    int err = source_check_prefix(d, msg, msgcap);
    if (err) {
        free(d);
        return err;
    }
    c->allowed_prefixes[c->nallowed++] = d;
    return CT_OK;
}

int config_apply_env(struct config *c, char *msg, size_t msgcap)
{
    static const char *const vars[] = { "COGTILER_CACHE_CONTROL", "COGTILER_CORS_ORIGIN",
                                        "COGTILER_PUBLIC_URL", "COGTILER_ORIGIN_SECRET" };
    char **dest[] = { &c->tile_cache_control, &c->cors_origin, &c->public_url,
                      &c->origin_secret };
    for (size_t i = 0; i < 4; i++) {
        const char *v = getenv(vars[i]);
        if (!v)
            continue;
        if (!valid_header_value(v)) {
            snprintf(msg, msgcap, "%s: control characters or over 256 bytes", vars[i]);
            return CT_ECONFIG;
        }
        char *d = dupstr(v);
        if (!d) {
            snprintf(msg, msgcap, "out of memory");
            return CT_ENOMEM;
        }
        free(*dest[i]);
        *dest[i] = d;
    }
    const char *list = getenv("COGTILER_ALLOWED_URL_PREFIXES");
    if (list) {
        free_prefixes(c);
        for (const char *p = list; *p;) {
            size_t n = strcspn(p, ", ");
            if (n) {
                int err = add_prefix(c, p, n, msg, msgcap);
                if (err) {
                    size_t used = strlen(msg);
                    snprintf(msg + used, msgcap - used, " (COGTILER_ALLOWED_URL_PREFIXES)");
                    return err;
                }
            }
            p += n;
            p += strspn(p, ", ");
        }
    }
    for (size_t i = 0; i < N_INT_SETTINGS; i++) {
        const struct int_setting *st = &int_settings[i];
        const char *v = getenv(st->env);
        double d;
        if (v && (parse_decimal(v, strlen(v), &d) || set_int(st, d, int_field(c, st)))) {
            snprintf(msg, msgcap, "%s: must be %s", st->env, st->what);
            return CT_ECONFIG;
        }
    }
    return CT_OK;
}

/* s3:// and http(s):// become GDAL's /vsis3/ and /vsicurl/ names; local
 * relative paths are taken relative to the config file; GDAL virtual paths,
 * "DRIVER:..." names and absolute paths are kept as they are. */
static char *resolve_source(const char *src, const char *basedir)
{
    char gdal[4096];
    if (source_gdal_name(src, gdal, sizeof gdal) != CT_OK)
        return NULL;
    if (strcmp(gdal, src) != 0)
        return dupstr(gdal);
    /* "DRIVER:..." connection names have a ':' before any '/' */
    const char *colon = strchr(src, ':'), *slash = strchr(src, '/');
    if (!basedir || !*basedir || src[0] == '/' || (colon && (!slash || colon < slash)))
        return dupstr(src);
    size_t n = strlen(basedir) + 1 + strlen(src) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", basedir, src);
    return p;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nlayers; i++) {
        free(c->layers[i].name);
        free(c->layers[i].attribution);
        free(c->layers[i].source);
        free(c->layers[i].colormap);
        if (c->layers[i].derived)
            free(c->layers[i].derived->expression);
        free(c->layers[i].derived);
    }
    free(c->layers);
    free(c->tile_cache_control);
    free(c->cors_origin);
    free(c->public_url);
    free(c->origin_secret);
    free_prefixes(c);
    memset(c, 0, sizeof *c);
}

/* A variable name muparser takes and a user can type: [A-Za-z_][A-Za-z0-9_]{0,31}. */
static int valid_var(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > DERIVED_MAX_NAME || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* One input of derived layer lname; its layer is resolved later (by name, into
 * *layer_name). */
static int parse_input(const char *lname, int k, const cJSON *o, const struct derived *d,
                       char layer_name[PARSE_MAX_LAYER + 1], struct derived_input *in,
                       char *msg, size_t msgcap)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *layer = cJSON_GetObjectItemCaseSensitive(o, "layer");
    const cJSON *band = cJSON_GetObjectItemCaseSensitive(o, "band");
    const cJSON *terrain = cJSON_GetObjectItemCaseSensitive(o, "terrain");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "resampling");
    const cJSON *remap = cJSON_GetObjectItemCaseSensitive(o, "remap");
    const cJSON *weight = cJSON_GetObjectItemCaseSensitive(o, "weight");
    char what[160];
    snprintf(what, sizeof what, "layer \"%s\", input %d", lname, k + 1);
    if (!cJSON_IsObject(o) || !cJSON_IsString(name) || !valid_var(name->valuestring)) {
        snprintf(msg, msgcap, "%s: needs a \"name\" of 1-%d characters of A-Z a-z 0-9 _ "
                              "(not starting with a digit)", what, DERIVED_MAX_NAME);
        return CT_ECONFIG;
    }
    snprintf(in->name, sizeof in->name, "%s", name->valuestring);
    if (!cJSON_IsString(layer) || !valid_name(layer->valuestring)) {
        snprintf(msg, msgcap, "%s: needs a \"layer\" naming a configured layer", what);
        return CT_ECONFIG;
    }
    snprintf(layer_name, PARSE_MAX_LAYER + 1, "%s", layer->valuestring);
    in->band = 1;
    if (band && (!cJSON_IsNumber(band) || band->valuedouble != (int)band->valuedouble ||
                 band->valuedouble < 1 || band->valuedouble > 65535)) {
        snprintf(msg, msgcap, "%s: \"band\" must be a band number from 1", what);
        return CT_ECONFIG;
    }
    if (band)
        in->band = (int)band->valuedouble;
    in->terrain = TERRAIN_NONE;
    if (terrain) {
        const char *t = cJSON_IsString(terrain) ? terrain->valuestring : "";
        if (!strcmp(t, "slope"))
            in->terrain = TERRAIN_SLOPE;
        else if (!strcmp(t, "aspect"))
            in->terrain = TERRAIN_ASPECT;
        else {
            snprintf(msg, msgcap, "%s: \"terrain\" must be \"slope\" or \"aspect\"", what);
            return CT_ECONFIG;
        }
    }
    in->resampling = "near";
    if (rs && (!cJSON_IsString(rs) || !(in->resampling = parse_resampling(rs->valuestring)))) {
        snprintf(msg, msgcap, "%s: \"resampling\" must be nearest, bilinear, cubic, average "
                              "or mode", what);
        return CT_ECONFIG;
    }
    if (remap) {
        char m[200];
        if (!cJSON_IsString(remap) ||
            overlay_remap_parse(remap->valuestring, strlen(remap->valuestring), d->scale_min,
                                d->scale_max, &in->remap, m, sizeof m)) {
            snprintf(msg, msgcap, "%s: %s", what,
                     cJSON_IsString(remap) ? m : "\"remap\" must be a string");
            return CT_ECONFIG;
        }
    } else if (!d->expression) {
        snprintf(msg, msgcap, "%s: a weighted overlay needs a \"remap\" for every input", what);
        return CT_ECONFIG;
    }
    if (weight && !cJSON_IsNumber(weight)) {
        snprintf(msg, msgcap, "%s: \"weight\" must be a number", what);
        return CT_ECONFIG;
    }
    in->weight = weight ? weight->valuedouble : 0;
    return CT_OK;
}

/* The "derived" object of layer l (its inputs' layers resolved by
 * resolve_derived() once every layer is known). */
static int parse_derived(const char *lname, const cJSON *o, struct derived *d,
                         char names[OVERLAY_MAX_INPUTS][PARSE_MAX_LAYER + 1], char *msg,
                         size_t msgcap)
{
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(o, "inputs");
    const cJSON *scale = cJSON_GetObjectItemCaseSensitive(o, "scale");
    const cJSON *round = cJSON_GetObjectItemCaseSensitive(o, "round");
    const cJSON *expr = cJSON_GetObjectItemCaseSensitive(o, "expression");
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(o, "grid");
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(o, "restricted_color");
    int n = cJSON_GetArraySize(inputs);
    if (!cJSON_IsObject(o) || !cJSON_IsArray(inputs) || n < 1 || n > OVERLAY_MAX_INPUTS) {
        snprintf(msg, msgcap, "layer \"%s\": \"derived\" needs \"inputs\", 1 to %d of them",
                 lname, OVERLAY_MAX_INPUTS);
        return CT_ECONFIG;
    }
    d->scale_min = 1;
    d->scale_max = 9;
    if (scale) {
        const cJSON *a = cJSON_GetArrayItem(scale, 0), *b = cJSON_GetArrayItem(scale, 1);
        if (!cJSON_IsArray(scale) || cJSON_GetArraySize(scale) != 2 || !cJSON_IsNumber(a) ||
            !cJSON_IsNumber(b) || !(a->valuedouble < b->valuedouble) ||
            a->valuedouble != (int)a->valuedouble || b->valuedouble != (int)b->valuedouble ||
            a->valuedouble < -1000000 || b->valuedouble > 1000000) {
            snprintf(msg, msgcap, "layer \"%s\": \"scale\" must be [min, max], whole numbers "
                                  "with min < max", lname);
            return CT_ECONFIG;
        }
        d->scale_min = a->valuedouble;
        d->scale_max = b->valuedouble;
    }
    if (round && (!cJSON_IsString(round) || overlay_round_parse(round->valuestring, &d->round))) {
        snprintf(msg, msgcap, "layer \"%s\": \"round\" must be nearest, floor or ceil", lname);
        return CT_ECONFIG;
    }
    if (expr) {
        if (!cJSON_IsString(expr) || !*expr->valuestring) {
            snprintf(msg, msgcap, "layer \"%s\": \"expression\" must be a string", lname);
            return CT_ECONFIG;
        }
        if (!(d->expression = dupstr(expr->valuestring))) {
            snprintf(msg, msgcap, "out of memory");
            return CT_ENOMEM;
        }
    }
    d->ninputs = n;
    double w[OVERLAY_MAX_INPUTS];
    for (int k = 0; k < n; k++) {
        int err = parse_input(lname, k, cJSON_GetArrayItem(inputs, k), d, names[k], &d->in[k],
                              msg, msgcap);
        if (err)
            return err;
        for (int j = 0; j < k; j++)
            if (!strcmp(d->in[j].name, d->in[k].name)) {
                snprintf(msg, msgcap, "layer \"%s\": two inputs are called \"%s\"", lname,
                         d->in[k].name);
                return CT_ECONFIG;
            }
        w[k] = d->in[k].weight;
    }
    char m[200];
    if (d->expression) {
        const char *vars[OVERLAY_MAX_INPUTS];
        struct expr *e = NULL;
        for (int k = 0; k < n; k++)
            vars[k] = d->in[k].name;
        int err = expr_compile(d->expression, strlen(d->expression), vars, n, &e, m, sizeof m);
        expr_free(e);
        if (err) {
            snprintf(msg, msgcap, "layer \"%s\": %s", lname, m);
            return err == CT_ENOMEM ? err : CT_ECONFIG;
        }
    }
    if (!d->expression && overlay_weights_check(w, n, m, sizeof m)) {
        snprintf(msg, msgcap, "layer \"%s\": %s", lname, m);
        return CT_ECONFIG;
    }
    d->grid = 0;
    if (grid) {
        d->grid = -1;
        for (int k = 0; cJSON_IsString(grid) && k < n; k++)
            if (!strcmp(grid->valuestring, d->in[k].name))
                d->grid = k;
        if (d->grid < 0) {
            snprintf(msg, msgcap, "layer \"%s\": \"grid\" must name one of its inputs", lname);
            return CT_ECONFIG;
        }
    }
    uint8_t black[4] = { 0, 0, 0, 255 };
    memcpy(d->restricted_rgba, black, 4);
    if (rc) {
        int m4 = cJSON_GetArraySize(rc);
        if (!cJSON_IsArray(rc) || (m4 != 3 && m4 != 4)) {
            snprintf(msg, msgcap, "layer \"%s\": \"restricted_color\" must be [r, g, b] or "
                                  "[r, g, b, a], each 0..255", lname);
            return CT_ECONFIG;
        }
        for (int i = 0; i < m4; i++) {
            const cJSON *c = cJSON_GetArrayItem(rc, i);
            if (!cJSON_IsNumber(c) || c->valuedouble < 0 || c->valuedouble > 255 ||
                c->valuedouble != (int)c->valuedouble) {
                snprintf(msg, msgcap, "layer \"%s\": \"restricted_color\" must be [r, g, b] "
                                      "or [r, g, b, a], each 0..255", lname);
                return CT_ECONFIG;
            }
            d->restricted_rgba[i] = (uint8_t)c->valuedouble;
        }
    }
    return CT_OK;
}

static int parse_layer(const cJSON *item, const char *basedir, struct layer_conf *l,
                       char names[OVERLAY_MAX_INPUTS][PARSE_MAX_LAYER + 1], char *msg,
                       size_t msgcap)
{
    const char *name = item->string;
    if (!valid_name(name)) {
        snprintf(msg, msgcap, "layer name \"%.80s\" must be 1-64 characters of A-Z a-z 0-9 _ . -",
                 name);
        return CT_ECONFIG;
    }
    if (!cJSON_IsObject(item)) {
        snprintf(msg, msgcap, "layer \"%s\" must be an object", name);
        return CT_ECONFIG;
    }
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(item, "source");
    const cJSON *der = cJSON_GetObjectItemCaseSensitive(item, "derived");
    if (der && src) {
        snprintf(msg, msgcap, "layer \"%s\": a derived layer has no \"source\"", name);
        return CT_ECONFIG;
    }
    if (der) {
        if (!(l->derived = calloc(1, sizeof *l->derived))) {
            snprintf(msg, msgcap, "out of memory");
            return CT_ENOMEM;
        }
        int err = parse_derived(name, der, l->derived, names, msg, msgcap);
        if (err)
            return err;
    } else if (!cJSON_IsString(src) || !*src->valuestring) {
        snprintf(msg, msgcap, "layer \"%s\" needs a \"source\" string", name);
        return CT_ECONFIG;
    }
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(item, "colormap");
    if (cm && (!cJSON_IsString(cm) ||
               !colormap_find(cm->valuestring, strlen(cm->valuestring)))) {
        snprintf(msg, msgcap, "layer \"%s\": unknown colormap", name);
        return CT_ECONFIG;
    }
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(item, "rescale");
    if (rs) {
        const cJSON *a = cJSON_GetArrayItem(rs, 0), *b = cJSON_GetArrayItem(rs, 1);
        if (!cJSON_IsArray(rs) || cJSON_GetArraySize(rs) != 2 || !cJSON_IsNumber(a) ||
            !cJSON_IsNumber(b) || !(a->valuedouble < b->valuedouble)) {
            snprintf(msg, msgcap, "layer \"%s\": \"rescale\" must be [min, max] with min < max",
                     name);
            return CT_ECONFIG;
        }
        l->has_rescale = 1;
        l->rescale_min = a->valuedouble;
        l->rescale_max = b->valuedouble;
    }
    const cJSON *rsm = cJSON_GetObjectItemCaseSensitive(item, "resampling");
    if (rsm && (!cJSON_IsString(rsm) || !(l->resampling = parse_resampling(rsm->valuestring)))) {
        snprintf(msg, msgcap, "layer \"%s\": \"resampling\" must be nearest, bilinear, cubic, "
                              "average or mode", name);
        return CT_ECONFIG;
    }
    static const char *const zooms[] = { "minzoom", "maxzoom" };
    int *zdest[] = { &l->minzoom, &l->maxzoom }, *zhas[] = { &l->has_minzoom, &l->has_maxzoom };
    for (size_t i = 0; i < 2; i++) {
        const cJSON *zj = cJSON_GetObjectItemCaseSensitive(item, zooms[i]);
        if (zj && (!cJSON_IsNumber(zj) || zj->valuedouble != floor(zj->valuedouble) ||
                   zj->valuedouble < 0 || zj->valuedouble > TILEMATH_MAXZ)) {
            snprintf(msg, msgcap, "layer \"%s\": \"%s\" must be a whole number 0..%d", name,
                     zooms[i], TILEMATH_MAXZ);
            return CT_ECONFIG;
        }
        if (zj) {
            *zhas[i] = 1;
            *zdest[i] = (int)zj->valuedouble;
        }
    }
    if (l->has_minzoom && l->has_maxzoom && l->minzoom > l->maxzoom) {
        snprintf(msg, msgcap, "layer \"%s\": \"minzoom\" above \"maxzoom\"", name);
        return CT_ECONFIG;
    }
    const cJSON *fm = cJSON_GetObjectItemCaseSensitive(item, "format");
    if (fm && (!cJSON_IsString(fm) || img_format_parse(fm->valuestring,
                                                        strlen(fm->valuestring), &l->format))) {
        snprintf(msg, msgcap, "layer \"%s\": \"format\" must be png, webp, jpg or tif", name);
        return CT_ECONFIG;
    }
    const cJSON *gm = cJSON_GetObjectItemCaseSensitive(item, "gcp_transform");
    if (gm && (!cJSON_IsString(gm) || (strcmp(gm->valuestring, "polynomial") &&
                                       strcmp(gm->valuestring, "tps")))) {
        snprintf(msg, msgcap, "layer \"%s\": \"gcp_transform\" must be polynomial or tps", name);
        return CT_ECONFIG;
    }
    l->gcp_tps = gm && !strcmp(gm->valuestring, "tps");
    const cJSON *go = cJSON_GetObjectItemCaseSensitive(item, "gcp_order");
    if (go && (!cJSON_IsNumber(go) || go->valuedouble != floor(go->valuedouble) ||
               go->valuedouble < 1 || go->valuedouble > 3 || l->gcp_tps)) {
        snprintf(msg, msgcap, "layer \"%s\": \"gcp_order\" must be 1, 2 or 3, with the "
                              "polynomial transform", name);
        return CT_ECONFIG;
    }
    l->gcp_order = go ? (int)go->valuedouble : 0;
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(item, "attribution");
    if (at && (!cJSON_IsString(at) || strlen(at->valuestring) > 512)) {
        snprintf(msg, msgcap, "layer \"%s\": \"attribution\" must be a string of at most 512 bytes",
                 name);
        return CT_ECONFIG;
    }
    static const char *const flags[] = { "requester_pays", "unsigned" };
    int *fdest[] = { &l->requester_pays, &l->unsigned_s3 };
    for (size_t i = 0; i < 2; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(item, flags[i]);
        if (f && !cJSON_IsBool(f)) {
            snprintf(msg, msgcap, "layer \"%s\": \"%s\" must be true or false", name, flags[i]);
            return CT_ECONFIG;
        }
        *fdest[i] = cJSON_IsTrue(f);
    }
    l->name = dupstr(name);
    l->source = src ? resolve_source(src->valuestring, basedir) : NULL;
    l->colormap = cm ? dupstr(cm->valuestring) : NULL;
    l->attribution = at ? dupstr(at->valuestring) : NULL;
    if (!l->name || (src && !l->source) || (cm && !l->colormap) || (at && !l->attribution)) {
        snprintf(msg, msgcap, "out of memory");
        return CT_ENOMEM;
    }
    return CT_OK;
}

/* Each derived layer's inputs name plain layers (a derived layer is not an input). */
static int resolve_derived(struct config *c,
                           char (*names)[OVERLAY_MAX_INPUTS][PARSE_MAX_LAYER + 1], char *msg,
                           size_t msgcap)
{
    for (size_t i = 0; i < c->nlayers; i++) {
        struct derived *d = c->layers[i].derived;
        for (int k = 0; d && k < d->ninputs; k++) {
            const char *ln = names[i][k];
            const struct layer_conf *l = config_find(c, ln, strlen(ln));
            if (!l || l->derived) {
                snprintf(msg, msgcap, "layer \"%s\", input \"%s\": \"%s\" is not a configured "
                                      "layer with a source", c->layers[i].name, d->in[k].name, ln);
                return CT_ECONFIG;
            }
            d->in[k].layer = (size_t)(l - c->layers);
        }
    }
    return CT_OK;
}

int config_parse(const char *json, const char *basedir, struct config *out, char *msg,
                 size_t msgcap)
{
    int err = CT_ECONFIG;
    char(*names)[OVERLAY_MAX_INPUTS][PARSE_MAX_LAYER + 1] = NULL;
    memset(out, 0, sizeof *out);
    set_defaults(out);
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        snprintf(msg, msgcap, "configuration is not valid JSON (near \"%.20s\")",
                 cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
        return CT_ECONFIG;
    }
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    int n = cJSON_GetArraySize(layers);
    if (!cJSON_IsObject(layers) || n < 1) {
        snprintf(msg, msgcap, "configuration needs a non-empty \"layers\" object");
        goto out;
    }
    out->layers = calloc((size_t)n, sizeof *out->layers);
    if (!out->layers) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    names = calloc((size_t)n, sizeof *names);
    if (!names) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, layers)
    {
        if (config_find(out, item->string, strlen(item->string))) {
            snprintf(msg, msgcap, "layer \"%.80s\" is defined twice", item->string);
            err = CT_ECONFIG;
            goto out;
        }
        err = parse_layer(item, basedir, &out->layers[out->nlayers], names[out->nlayers], msg,
                          msgcap);
        out->nlayers++; /* counted even when partly filled, so config_free frees it */
        if (err)
            goto out;
    }
    if ((err = resolve_derived(out, names, msg, msgcap)))
        goto out;
    err = CT_ECONFIG;
    static const char *const strings[] = { "cache_control", "cors_origin", "public_url",
                                           "origin_secret" };
    char **dest[] = { &out->tile_cache_control, &out->cors_origin, &out->public_url,
                      &out->origin_secret };
    for (size_t i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, strings[i]);
        if (!v)
            continue;
        if (!cJSON_IsString(v) || !valid_header_value(v->valuestring)) {
            snprintf(msg, msgcap, "\"%s\" must be a string of printable ASCII", strings[i]);
            goto out;
        }
        if (!(*dest[i] = dupstr(v->valuestring))) {
            err = CT_ENOMEM;
            goto out;
        }
    }
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(root, "default_layer");
    if (def) {
        const struct layer_conf *l =
            cJSON_IsString(def) ? config_find(out, def->valuestring, strlen(def->valuestring))
                                : NULL;
        if (!l) {
            snprintf(msg, msgcap, "\"default_layer\" names no configured layer");
            goto out;
        }
        out->default_layer = (size_t)(l - out->layers);
    }
    const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(root, "allowed_url_prefixes");
    if (allowed && !cJSON_IsArray(allowed)) {
        snprintf(msg, msgcap, "\"allowed_url_prefixes\" must be an array of URL strings");
        goto out;
    }
    const cJSON *pre;
    cJSON_ArrayForEach(pre, allowed)
    {
        if (!cJSON_IsString(pre)) {
            snprintf(msg, msgcap, "\"allowed_url_prefixes\" must be an array of URL strings");
            goto out;
        }
        if ((err = add_prefix(out, pre->valuestring, strlen(pre->valuestring), msg, msgcap)))
            goto out;
    }
    err = CT_ECONFIG;
    for (size_t i = 0; i < N_INT_SETTINGS; i++) {
        const struct int_setting *st = &int_settings[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, st->key);
        if (v && (!cJSON_IsNumber(v) || set_int(st, v->valuedouble, int_field(out, st)))) {
            snprintf(msg, msgcap, "\"%s\" must be %s", st->key, st->what);
            goto out;
        }
    }
    err = CT_OK;
out:
    free(names);
    cJSON_Delete(root);
    if (err)
        config_free(out);
    return err;
}

int config_load(const char *path, struct config *out, char *msg, size_t msgcap)
{
    char *text = NULL, *dir = NULL;
    int err = CT_ECONFIG;
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msgcap, "cannot open configuration file %.200s", path);
        return CT_ECONFIG;
    }
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len < 0 || len > (1L << 24) || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(msg, msgcap, "configuration file %.200s is not a seekable file, or over 16 MB",
                 path);
        goto out;
    }
    text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
        snprintf(msg, msgcap, "cannot read configuration file %.200s", path);
        goto out;
    }
    text[len] = '\0';
    dir = dupstr(path);
    if (!dir)
        goto out;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    err = config_parse(text, dir, out, msg, msgcap);
out:
    fclose(f);
    free(text);
    free(dir);
    return err;
}

int config_single(const char *name, const char *source, struct config *out)
{
    memset(out, 0, sizeof *out);
    out->layers = calloc(1, sizeof *out->layers);
    if (!out->layers)
        return CT_ENOMEM;
    out->nlayers = 1;
    set_defaults(out);
    out->layers[0].name = dupstr(name);
    out->layers[0].source = resolve_source(source, NULL);
    if (!out->layers[0].name || !out->layers[0].source) {
        config_free(out);
        return CT_ENOMEM;
    }
    return CT_OK;
}

const struct layer_conf *config_find(const struct config *c, const char *name, size_t n)
{
    for (size_t i = 0; i < c->nlayers; i++)
        if (c->layers[i].name && strlen(c->layers[i].name) == n &&
            memcmp(c->layers[i].name, name, n) == 0)
            return &c->layers[i];
    return NULL;
}
