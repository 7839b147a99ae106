/* route.h - request path -> what to serve. Pure: returns views into the caller's
 * string and allocates nothing. */
#ifndef COGTILER_ROUTE_H
#define COGTILER_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct strview {
    const char *p;
    size_t n;
};

enum route_kind {
    ROUTE_INDEX,   /* "/" : the map page */
    ROUTE_STATIC,  /* "/static/NAME" : an embedded asset, name in .asset */
    ROUTE_TILE,    /* "/tiles/LAYER/Z/X/Y[@2x].png"; "/cog/tiles/Z/X/Y[@2x].png" (adhoc) */
    ROUTE_COLORMAPS, /* "/colormaps" : the names */
    ROUTE_COLORMAP,  /* "/colormaps/NAME" : one table, name in .asset */
    ROUTE_LAYERS,    /* "/layers" */
    ROUTE_INFO,      /* "/tiles/LAYER/info"; "/cog/info" (adhoc) */
    ROUTE_TILEJSON,  /* "/tiles/LAYER/tilejson.json"; "/cog/tilejson.json" (adhoc) */
    ROUTE_POINT,     /* "/tiles/LAYER/point/LON,LAT"; "/cog/point/LON,LAT" (adhoc) */
    ROUTE_MAP,       /* "/map/LAYER" : the map page opened on LAYER */
};

#define ROUTE_MAX_LAYER 64

struct route {
    enum route_kind kind;
    struct strview layer;   /* ROUTE_TILE, _INFO, _TILEJSON, _POINT, _MAP */
    struct strview asset;   /* ROUTE_STATIC, ROUTE_COLORMAP */
    int z;
    uint64_t x, y;
    int scale;              /* 1, or 2 for "@2x" */
    double lon, lat;        /* ROUTE_POINT */
    int adhoc;              /* "/cog/..." : TILE, INFO, TILEJSON or POINT of the url= source */
};

/* Parses path[0..len) (already percent-decoded, no query string).
 * Returns 0 and fills *out; CT_ENOROUTE when the path matches no route;
 * CT_EINVAL when it has the shape of a tile path with a malformed layer name,
 * number or extension, a /map/LAYER with a malformed layer name, or a point whose LON,LAT is not two numbers within
 * +-180 / +-90; CT_ERANGE when z/x/y are numbers outside the matrix.
 * On error *out is unspecified. */
int route_parse(const char *path, size_t len, struct route *out);

/* Parses a decimal number string s[0..n) made only of digits (no sign, no
 * spaces), at most 15 digits. Returns 0 or CT_EINVAL. */
int route_parse_u64(const char *s, size_t n, uint64_t *out);

/* Parses "MIN,MAX" (two finite decimal numbers, MIN < MAX). 0 or CT_EINVAL. */
int route_parse_range(const char *s, double *min, double *max);

/* Parses a band list "B" or "B1,B2,B3" (1-based, 1..65535) into bands and *n
 * (1 or 3). 0 or CT_EINVAL. */
int route_parse_bidx(const char *s, int bands[3], int *n);

/* Parses a finite decimal number, or "nan" (any case). 0 or CT_EINVAL. */
int route_parse_number(const char *s, double *out);

/* The gdalwarp name of a TiTiler resampling name (nearest, bilinear, cubic,
 * average, mode; "near" also accepted), or NULL. */
const char *route_resampling(const char *name);

/* True when the view equals the NUL-terminated string lit. */
int strview_eq(struct strview v, const char *lit);

#endif
