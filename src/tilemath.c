#include "tilemath.h"

#include <math.h>

#include "err.h"

#define R_EARTH 6378137.0

int tilemath_check(int z, uint64_t x, uint64_t y)
{
    if (z < 0 || z > TILEMATH_MAXZ)
        return CT_ERANGE;
    uint64_t n = (uint64_t)1 << z;
    if (x >= n || y >= n)
        return CT_ERANGE;
    return CT_OK;
}

double tilemath_resolution(int z, int tilesize)
{
    return 2.0 * TILEMATH_ORIGIN / (ldexp(1.0, z) * tilesize);
}

int tilemath_bounds(int z, uint64_t x, uint64_t y, struct bbox *out)
{
    int err = tilemath_check(z, x, y);
    if (err)
        return err;
    /* Computed from the tile edges so that neighbours share exact edges. */
    double size = 2.0 * TILEMATH_ORIGIN / ldexp(1.0, z);
    out->minx = -TILEMATH_ORIGIN + (double)x * size;
    out->maxx = -TILEMATH_ORIGIN + (double)(x + 1) * size;
    out->maxy = TILEMATH_ORIGIN - (double)y * size;
    out->miny = TILEMATH_ORIGIN - (double)(y + 1) * size;
    return CT_OK;
}

void tilemath_merc_to_lonlat(double mx, double my, double *lon, double *lat)
{
    *lon = mx / R_EARTH * 180.0 / M_PI;
    *lat = atan(sinh(my / R_EARTH)) * 180.0 / M_PI;
}

void tilemath_lonlat_to_merc(double lon, double lat, double *mx, double *my)
{
    *mx = lon * M_PI / 180.0 * R_EARTH;
    *my = asinh(tan(lat * M_PI / 180.0)) * R_EARTH;
}

int tilemath_bounds_lonlat(int z, uint64_t x, uint64_t y, struct bbox *out)
{
    struct bbox m;
    int err = tilemath_bounds(z, x, y, &m);
    if (err)
        return err;
    tilemath_merc_to_lonlat(m.minx, m.miny, &out->minx, &out->miny);
    tilemath_merc_to_lonlat(m.maxx, m.maxy, &out->maxx, &out->maxy);
    return CT_OK;
}

int tilemath_lonlat_to_tile(double lon, double lat, int z, uint64_t *x, uint64_t *y)
{
    if (z < 0 || z > TILEMATH_MAXZ || !isfinite(lon) || !isfinite(lat) ||
        fabs(lon) > 180.0 || fabs(lat) > 90.0)
        return CT_ERANGE;
    if (lat > TILEMATH_MAXLAT)
        lat = TILEMATH_MAXLAT;
    if (lat < -TILEMATH_MAXLAT)
        lat = -TILEMATH_MAXLAT;
    double n = ldexp(1.0, z);
    double mx, my;
    tilemath_lonlat_to_merc(lon, lat, &mx, &my);
    double fx = floor((mx + TILEMATH_ORIGIN) / (2.0 * TILEMATH_ORIGIN) * n);
    double fy = floor((TILEMATH_ORIGIN - my) / (2.0 * TILEMATH_ORIGIN) * n);
    if (fx < 0) fx = 0;
    if (fy < 0) fy = 0;
    if (fx > n - 1) fx = n - 1;
    if (fy > n - 1) fy = n - 1;
    *x = (uint64_t)fx;
    *y = (uint64_t)fy;
    return CT_OK;
}
