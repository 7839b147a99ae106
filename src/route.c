#include "route.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "imgfmt.h"
#include "parse.h"
#include "tilemath.h"

int strview_eq(struct strview v, const char *lit)
{
    size_t n = strlen(lit);
    return v.n == n && memcmp(v.p, lit, n) == 0;
}

/* Splits the next '/'-terminated segment off [*p, end). */
static struct strview next_segment(const char **p, const char *end)
{
    struct strview v = { *p, 0 };
    while (*p < end && **p != '/')
        (*p)++;
    v.n = (size_t)(*p - v.p);
    if (*p < end)
        (*p)++; /* skip '/' */
    return v;
}

static int valid_layer(struct strview v)
{
    return parse_layer_name(v.p, v.n);
}

/* "LON,LAT" into the route; 0 or CT_EINVAL. */
static int parse_lonlat(struct strview v, struct route *out)
{
    const char *comma = memchr(v.p, ',', v.n);
    if (!comma || parse_decimal(v.p, (size_t)(comma - v.p), &out->lon) ||
        parse_decimal(comma + 1, (size_t)(v.p + v.n - comma - 1), &out->lat))
        return CT_EINVAL;
    return fabs(out->lon) <= 180 && fabs(out->lat) <= 90 ? CT_OK : CT_EINVAL;
}

static int parse_tile(const char *p, const char *end, struct route *out)
{
    struct strview seg[4];
    int nseg = 0;
    while (p < end && nseg < 4)
        seg[nseg++] = next_segment(&p, end);
    /* A trailing '/' or more segments: no such route. */
    if (nseg < 2 || p != end || end[-1] == '/')
        return CT_ENOROUTE;
    if (nseg == 2 && (strview_eq(seg[1], "info") || strview_eq(seg[1], "tilejson.json") ||
                      strview_eq(seg[1], "WMTSCapabilities.xml"))) {
        out->kind = strview_eq(seg[1], "info")            ? ROUTE_INFO
                    : strview_eq(seg[1], "tilejson.json") ? ROUTE_TILEJSON
                                                          : ROUTE_WMTS;
        out->layer = seg[0];
        return valid_layer(seg[0]) ? CT_OK : CT_EINVAL;
    }
    if (nseg == 3 && strview_eq(seg[1], "point")) {
        out->kind = ROUTE_POINT;
        out->layer = seg[0];
        return valid_layer(seg[0]) ? parse_lonlat(seg[2], out) : CT_EINVAL;
    }
    if (nseg != 4)
        return CT_ENOROUTE;
    if (!valid_layer(seg[0]))
        return CT_EINVAL;
    out->layer = seg[0];

    /* Last segment: digits, optional "@2x", "." and a format's extension. */
    const char *y = seg[3].p, *yend = seg[3].p + seg[3].n, *d = y;
    while (d < yend && *d >= '0' && *d <= '9')
        d++;
    struct strview ydigits = { y, (size_t)(d - y) };
    out->scale = 1;
    if (yend - d >= 3 && memcmp(d, "@2x", 3) == 0) {
        out->scale = 2;
        d += 3;
    }
    if (d == yend || *d != '.' || img_format_parse(d + 1, (size_t)(yend - d - 1), &out->format))
        return CT_EINVAL;

    uint64_t z, x, yy;
    if (parse_u64(seg[1].p, seg[1].n, &z) || parse_u64(seg[2].p, seg[2].n, &x) ||
        parse_u64(ydigits.p, ydigits.n, &yy))
        return CT_EINVAL;
    if (z > TILEMATH_MAXZ)
        return CT_ERANGE;
    out->z = (int)z;
    out->x = x;
    out->y = yy;
    return tilemath_check(out->z, x, yy);
}

/* True when path[0..len) is prefix followed by something; *rest is that. */
static int one_segment(const char *path, size_t len, const char *prefix, struct strview *rest)
{
    size_t n = strlen(prefix);
    if (len <= n || memcmp(path, prefix, n) != 0)
        return 0;
    *rest = (struct strview){ path + n, len - n };
    return 1;
}

static int parse_path(const char *path, size_t len, struct route *out)
{
    const char *end = path + len;
    if (len == 1 && path[0] == '/') {
        out->kind = ROUTE_INDEX;
        return CT_OK;
    }
    static const char tiles[] = "/tiles/", stat[] = "/static/", cmaps[] = "/colormaps/",
                      map[] = "/map/";
    if (len == 7 && memcmp(path, "/layers", 7) == 0) {
        out->kind = ROUTE_LAYERS;
        return CT_OK;
    }
    if (len == sizeof cmaps - 2 && memcmp(path, cmaps, len) == 0) {
        out->kind = ROUTE_COLORMAPS;
        return CT_OK;
    }
    if (one_segment(path, len, cmaps, &out->asset)) {
        out->kind = ROUTE_COLORMAP;
        return memchr(out->asset.p, '/', out->asset.n) ? CT_ENOROUTE : CT_OK;
    }
    if (len > sizeof tiles - 1 && memcmp(path, tiles, sizeof tiles - 1) == 0) {
        out->kind = ROUTE_TILE;
        return parse_tile(path + sizeof tiles - 1, end, out);
    }
    static const char stats[] = "/statistics/";
    if (one_segment(path, len, stats, &out->layer)) {
        out->kind = ROUTE_STATISTICS;
        if (memchr(out->layer.p, '/', out->layer.n))
            return CT_ENOROUTE;
        return valid_layer(out->layer) ? CT_OK : CT_EINVAL;
    }
    if (len == 15 && memcmp(path, "/cog/statistics", 15) == 0) {
        out->kind = ROUTE_STATISTICS;
        out->adhoc = 1;
        return CT_OK;
    }
    /* "/cog/...": the same routes for the url= source, TiTiler's shape. The
     * segment before the route's own ("tiles" or "cog") stands in for a layer. */
    static const char cog[] = "/cog/", cogtiles[] = "/cog/tiles/";
    if (len > sizeof cog - 1 && memcmp(path, cog, sizeof cog - 1) == 0) {
        int tiles_form = len > sizeof cogtiles - 1 && memcmp(path, cogtiles, sizeof cogtiles - 1) == 0;
        out->kind = ROUTE_TILE;
        int err = parse_tile(path + (tiles_form ? sizeof cog - 1 : 1), end, out);
        if ((out->kind == ROUTE_TILE) != tiles_form)
            return CT_ENOROUTE;
        out->adhoc = 1;
        return err;
    }
    if (one_segment(path, len, map, &out->layer)) {
        out->kind = ROUTE_MAP;
        if (memchr(out->layer.p, '/', out->layer.n))
            return CT_ENOROUTE;
        return valid_layer(out->layer) ? CT_OK : CT_EINVAL;
    }
    if (one_segment(path, len, stat, &out->asset)) {
        out->kind = ROUTE_STATIC;
        return memchr(out->asset.p, '/', out->asset.n) ? CT_ENOROUTE : CT_OK;
    }
    return CT_ENOROUTE;
}

int route_parse(const char *path, size_t len, struct route *out)
{
    memset(out, 0, sizeof *out);
    int err = parse_path(path, len, out);
    if (err == CT_ENOROUTE)
        out->kind = ROUTE_NONE;
    return err;
}

const char *route_allow(enum route_kind kind)
{
    switch (kind) {
    case ROUTE_NONE: return NULL;
    case ROUTE_INDEX:
    case ROUTE_STATIC:
    case ROUTE_TILE:
    case ROUTE_COLORMAPS:
    case ROUTE_COLORMAP:
    case ROUTE_LAYERS:
    case ROUTE_INFO:
    case ROUTE_TILEJSON:
    case ROUTE_POINT:
    case ROUTE_MAP:
    case ROUTE_WMTS: return "GET, HEAD, OPTIONS";
    case ROUTE_STATISTICS: return "POST, OPTIONS";
    }
    return NULL;
}

int route_takes_body(enum route_kind kind)
{
    return kind == ROUTE_STATISTICS;
}
