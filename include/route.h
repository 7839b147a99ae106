/* route.h - request path -> what to serve. Pure: returns views into the caller's
 * string and allocates nothing. */
#ifndef COGTILER_ROUTE_H
#define COGTILER_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "imgfmt.h"

struct strview {
    const char *p;
    size_t n;
};

enum route_kind {
    ROUTE_NONE = 0,  /* no route (set by route_parse when the path has no known shape) */
    ROUTE_INDEX,     /* "/" : the map page */
    ROUTE_STATIC,    /* "/static/NAME" : an embedded asset, name in .asset */
    ROUTE_TILE,      /* "/tiles/LAYER/Z/X/Y[@2x].EXT"; "/cog/tiles/Z/X/Y[@2x].EXT" (adhoc);
                        EXT: png, webp, jpg or tif */
    ROUTE_COLORMAPS, /* "/colormaps" : the names */
    ROUTE_COLORMAP,  /* "/colormaps/NAME" : one table, name in .asset */
    ROUTE_LAYERS,    /* "/layers" */
    ROUTE_INFO,      /* "/tiles/LAYER/info"; "/cog/info" (adhoc) */
    ROUTE_TILEJSON,  /* "/tiles/LAYER/tilejson.json"; "/cog/tilejson.json" (adhoc) */
    ROUTE_POINT,     /* "/tiles/LAYER/point/LON,LAT"; "/cog/point/LON,LAT" (adhoc) */
    ROUTE_MAP,       /* "/map/LAYER" : the map page opened on LAYER */
    ROUTE_STATISTICS,/* "/statistics/LAYER"; "/cog/statistics" (adhoc): POST a GeoJSON body */
    ROUTE_WMTS,      /* "/tiles/LAYER/WMTSCapabilities.xml"; "/cog/WMTSCapabilities.xml" (adhoc) */
};

struct route {
    enum route_kind kind;
    struct strview layer;   /* ROUTE_TILE, _INFO, _TILEJSON, _POINT, _MAP, _STATISTICS, _WMTS */
    struct strview asset;   /* ROUTE_STATIC, ROUTE_COLORMAP */
    int z;
    uint64_t x, y;
    int scale;              /* 1, or 2 for "@2x" */
    enum img_format format; /* ROUTE_TILE: the extension's */
    double lon, lat;        /* ROUTE_POINT */
    int adhoc;              /* "/cog/..." : TILE, INFO, TILEJSON, POINT or STATISTICS of the
                               url= source */
};

/* Parses path[0..len) (already percent-decoded, no query string); reads
 * nothing outside it. Returns 0 and fills *out; CT_ENOROUTE when the path
 * matches no route; CT_EINVAL when it has the shape of a route with a
 * malformed layer name, number or extension (a point whose LON,LAT is not two
 * numbers within +-180 / +-90); CT_ERANGE when z/x/y are numbers outside the
 * matrix. On CT_ENOROUTE out->kind is ROUTE_NONE; on CT_EINVAL and CT_ERANGE
 * it is the route the path was shaped like; the other fields are unspecified
 * on any error. */
int route_parse(const char *path, size_t len, struct route *out);

/* The methods route kind answers, as an Allow header value. */
const char *route_allow(enum route_kind kind);

/* True when route kind takes a request body (then by POST only). */
int route_takes_body(enum route_kind kind);

/* True when the view equals the NUL-terminated string lit. */
int strview_eq(struct strview v, const char *lit);

#endif
