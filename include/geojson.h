/* geojson.h - the zones of a statistics request: a GeoJSON text (RFC 7946: a
 * Feature, a FeatureCollection, or a bare Polygon or MultiPolygon) parsed with
 * cJSON, checked, and kept so that the answer is the same GeoJSON with each
 * feature's properties.statistics set (docs/ZONAL.md). No GDAL. */
#ifndef COGTILER_GEOJSON_H
#define COGTILER_GEOJSON_H

#include <stddef.h>

#include "geom.h"

#define GJ_MAX_FEATURES 1000
#define GJ_MAX_POSITIONS 1000000

/* NULL when (lon, lat) may follow prev (the ring's previous position, NULL
 * for the first) in a ring: finite, within [-180, 180] x [-90, 90], and an
 * edge of under 180 degrees of longitude (RFC 7946 3.1.9; along a pole any).
 * Else why not. The rule of the GeoJSON reader, shared with fan-out parts. */
const char *gj_position_error(double lon, double lat, const double *prev);

struct cJSON;
struct gj_zones;

/* One feature's geometry: its polygons, longitude/latitude. */
struct gj_feature {
    struct polygon *polys;
    size_t npolys;
};

/* Parses text[0..len). Returns 0 and *out (free with gj_free), or CT_EINVAL
 * with a message naming the JSON path of the fault ("features[3].geometry.
 * coordinates[0][5]: ..."): not JSON, not one of the accepted types, a
 * geometry other than Polygon or MultiPolygon, a missing geometry, an empty
 * collection, a position that is not 2 or 3 finite numbers or lies outside
 * [-180, 180] x [-90, 90], a ring with fewer than 4 positions or not closed,
 * an edge spanning more than 180 degrees of longitude (RFC 7946 3.1.9: split
 * it), more than GJ_MAX_FEATURES features or GJ_MAX_POSITIONS positions;
 * CT_ENOMEM. */
int gj_parse(const char *text, size_t len, struct gj_zones **out, char *msg, size_t msgcap);

/* NULL-safe. */
void gj_free(struct gj_zones *z);

size_t gj_count(const struct gj_zones *z);

/* Feature i (0-based, < gj_count). Owned by z. */
const struct gj_feature *gj_feature(const struct gj_zones *z, size_t i);

/* True when the body was a single feature or geometry (not a collection). */
int gj_single(const struct gj_zones *z);

/* Sets feature i's properties.statistics to stats (a cJSON object z takes
 * over, also on failure). 0 or CT_ENOMEM. */
int gj_set_statistics(struct gj_zones *z, size_t i, struct cJSON *stats);

/* The answer: the body's GeoJSON with the statistics set (a bare geometry
 * becomes a Feature). NUL-terminated, free with free(); NULL when out of memory. */
char *gj_print(const struct gj_zones *z);

#endif
