/* tilemath.h - XYZ tiles <-> EPSG:3857 (Web Mercator) bounds. Pure, no GDAL. */
#ifndef COGTILER_TILEMATH_H
#define COGTILER_TILEMATH_H

#include <stdint.h>

#define TILEMATH_ORIGIN 20037508.342789244 /* pi * 6378137 */
#define TILEMATH_MAXZ 30
#define TILEMATH_MAXLAT 85.0511287798066   /* atan(sinh(pi)) in degrees */

struct bbox {
    double minx, miny, maxx, maxy;
};

/* Returns 0 if 0 <= z <= TILEMATH_MAXZ and x, y < 2^z, else CT_ERANGE. */
int tilemath_check(int z, uint64_t x, uint64_t y);

/* EPSG:3857 bounds of tile z/x/y (y counted from the north). 0 or CT_ERANGE. */
int tilemath_bounds(int z, uint64_t x, uint64_t y, struct bbox *out);

/* Longitude/latitude (degrees) bounds of tile z/x/y. 0 or CT_ERANGE. */
int tilemath_bounds_lonlat(int z, uint64_t x, uint64_t y, struct bbox *out);

/* Size of one pixel in EPSG:3857 metres at zoom z for tiles of tilesize px. */
double tilemath_resolution(int z, int tilesize);

/* The tile containing lon/lat at zoom z; latitude is clamped to +-TILEMATH_MAXLAT,
 * longitude 180 belongs to the last column. 0, or CT_ERANGE for a bad z or a
 * non-finite / out-of-range coordinate (|lon| > 180, |lat| > 90). */
int tilemath_lonlat_to_tile(double lon, double lat, int z, uint64_t *x, uint64_t *y);

void tilemath_merc_to_lonlat(double mx, double my, double *lon, double *lat);
void tilemath_lonlat_to_merc(double lon, double lat, double *mx, double *my);

#endif
