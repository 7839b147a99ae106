/* pyramid.c - the tiles of a pyramid export. */
#include "pyramid.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "parse.h"

/* --- the plan (pure) ------------------------------------------------------------ */

struct lon_iv {
    double lo, hi;
};

static int box_ok(const struct bbox *b)
{
    return isfinite(b->minx) && isfinite(b->maxx) && isfinite(b->miny) && isfinite(b->maxy) &&
           b->minx >= -180 && b->minx <= 180 && b->maxx >= -180 && b->maxx <= 180 &&
           b->miny >= -90 && b->maxy <= 90 && b->miny < b->maxy && b->minx != b->maxx;
}

/* The longitudes of b as one or two intervals (two across the antimeridian). */
static size_t lon_split(const struct bbox *b, struct lon_iv *out)
{
    if (b->minx < b->maxx) {
        out[0] = (struct lon_iv){ b->minx, b->maxx };
        return 1;
    }
    out[0] = (struct lon_iv){ b->minx, 180 };
    out[1] = (struct lon_iv){ -180, b->maxx };
    return 2;
}

/* Fraction of the world from the north at latitude lat (clamped). */
static double merc_frac(double lat)
{
    if (lat > TILEMATH_MAXLAT)
        lat = TILEMATH_MAXLAT;
    if (lat < -TILEMATH_MAXLAT)
        lat = -TILEMATH_MAXLAT;
    double r = lat * M_PI / 180;
    return (1 - asinh(tan(r)) / M_PI) / 2;
}

/* The tiles [i0, i1] of n whose open interval overlaps (lo, hi), fractions of 1. */
static void cover(double lo, double hi, uint64_t n, uint64_t *i0, uint64_t *i1)
{
    double a = floor(lo * (double)n), b = ceil(hi * (double)n) - 1;
    if (a < 0)
        a = 0;
    if (b > (double)(n - 1))
        b = (double)(n - 1);
    if (b < a)
        b = a;
    *i0 = (uint64_t)a;
    *i1 = (uint64_t)b;
}

int pyramid_plan(const struct bbox *bounds, const struct bbox *clip, int minz, int maxz,
                 struct pyramid_plan *out)
{
    if (minz < 0 || maxz > TILEMATH_MAXZ || minz > maxz || !box_ok(bounds) ||
        (clip && !box_ok(clip)))
        return CT_EINVAL;
    static const struct bbox world = { -180, -90, 180, 90 };
    if (!clip)
        clip = &world;
    out->n = 0;
    out->total = 0;
    double lat_lo = fmax(fmax(bounds->miny, clip->miny), -TILEMATH_MAXLAT);
    double lat_hi = fmin(fmin(bounds->maxy, clip->maxy), TILEMATH_MAXLAT);
    struct lon_iv a[2], b[2], iv[3];
    size_t na = lon_split(bounds, a), nb = lon_split(clip, b), niv = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            double lo = fmax(a[i].lo, b[j].lo), hi = fmin(a[i].hi, b[j].hi);
            /* two sets of at most two disjoint intervals meet in at most three */
            if (lo < hi && niv < 3)
                iv[niv++] = (struct lon_iv){ lo, hi };
        }
    if (!niv || !(lat_lo < lat_hi))
        return CT_OK;
    /* west to east, so that columns merge with their neighbour only */
    for (size_t i = 1; i < niv; i++)
        for (size_t j = i; j > 0 && iv[j].lo < iv[j - 1].lo; j--) {
            struct lon_iv t = iv[j];
            iv[j] = iv[j - 1];
            iv[j - 1] = t;
        }
    for (int z = minz; z <= maxz; z++) {
        uint64_t n = 1ULL << z, y0, y1;
        cover(merc_frac(lat_hi), merc_frac(lat_lo), n, &y0, &y1);
        size_t first = out->n;
        for (size_t i = 0; i < niv; i++) {
            uint64_t x0, x1;
            cover((iv[i].lo + 180) / 360, (iv[i].hi + 180) / 360, n, &x0, &x1);
            struct pyramid_range *last = out->n > first ? &out->r[out->n - 1] : NULL;
            if (last && x0 <= last->x1 + 1) {
                if (x1 > last->x1)
                    last->x1 = x1;
            } else {
                out->r[out->n++] = (struct pyramid_range){ z, x0, x1, y0, y1 };
            }
        }
        for (size_t i = first; i < out->n; i++)
            out->total += (out->r[i].x1 - out->r[i].x0 + 1) * (y1 - y0 + 1);
    }
    return CT_OK;
}

int pyramid_next(const struct pyramid_plan *plan, struct pyramid_cursor *c, int *z, uint64_t *x,
                 uint64_t *y)
{
    if (c->range >= plan->n)
        return 0;
    const struct pyramid_range *r = &plan->r[c->range];
    if (!c->started) {
        c->started = 1;
        c->x = r->x0;
        c->y = r->y0;
    } else if (c->y < r->y1) {
        c->y++;
    } else if (c->x < r->x1) {
        c->x++;
        c->y = r->y0;
    } else {
        if (++c->range >= plan->n)
            return 0;
        r = &plan->r[c->range];
        c->x = r->x0;
        c->y = r->y0;
    }
    *z = r->z;
    *x = c->x;
    *y = c->y;
    return 1;
}

int pyramid_parse_zooms(const char *s, size_t n, int *minz, int *maxz)
{
    const char *dash = memchr(s, '-', n);
    size_t n1 = dash ? (size_t)(dash - s) : n;
    uint64_t a, b;
    if (parse_u64(s, n1, &a) || (dash && parse_u64(dash + 1, n - n1 - 1, &b)))
        return CT_EINVAL;
    if (!dash)
        b = a;
    if (a > b || b > TILEMATH_MAXZ)
        return CT_EINVAL;
    *minz = (int)a;
    *maxz = (int)b;
    return CT_OK;
}

int pyramid_parse_bbox(const char *s, size_t n, struct bbox *out)
{
    double v[4];
    const char *p = s, *end = s + n;
    for (int i = 0; i < 4; i++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if ((i < 3) != (comma != NULL) || parse_decimal(p, (size_t)(stop - p), &v[i]))
            return CT_EINVAL;
        p = stop + 1;
    }
    struct bbox b = { v[0], v[1], v[2], v[3] };
    if (!box_ok(&b))
        return CT_EINVAL;
    *out = b;
    return CT_OK;
}
