#include "algo.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define DEG2RAD (M_PI / 180.0)

/* The constants of gdaldem's GDALCreateHillshadeData() (apps/gdaldem_lib.cpp, GDAL 3.6)
 * for a north-up raster (geotransform[5] = -res_y) with -s 1, since res_x and res_y are
 * already ground metres. The 1/8 of Horn's kernel is folded into the z factor and the 254
 * of the output scaling into the numerator terms, as GDAL does. */
struct shade {
    int same_res;
    double inv_ewres, inv_nsres;
    double square_z;
    double sin_alt_254;
    double cos_az_cos_alt_z_254;
    double sin_az_cos_alt_z_254;
    /* same_res only: the above with the resolution folded in */
    double square_z_inv_res2;
    double cos_az_cos_alt_z_254_inv_res;
    double sin_az_cos_alt_z_254_inv_res;
};

static struct shade shade_setup(double res_x, double res_y, const struct algo_params *p)
{
    const double z = p->zfactor / 8.0;
    const double alt = p->altitude * DEG2RAD;
    const double az = p->azimuth * DEG2RAD;
    const double cos_alt_z = cos(alt) * z;
    struct shade s;
    s.same_res = res_x == res_y;
    s.inv_ewres = 1.0 / res_x;
    s.inv_nsres = 1.0 / -res_y;
    s.square_z = z * z;
    s.sin_alt_254 = 254.0 * sin(alt);
    s.cos_az_cos_alt_z_254 = 254.0 * (cos(az) * cos_alt_z);
    s.sin_az_cos_alt_z_254 = 254.0 * (sin(az) * cos_alt_z);
    s.square_z_inv_res2 = s.square_z * s.inv_ewres * s.inv_ewres;
    s.cos_az_cos_alt_z_254_inv_res = s.cos_az_cos_alt_z_254 * -s.inv_ewres;
    s.sin_az_cos_alt_z_254_inv_res = s.sin_az_cos_alt_z_254 * s.inv_ewres;
    return s;
}

/* Returns the grey of one pixel as the float gdaldem hands to RasterIO; w is the 3x3
 * window, row-major from the north-west corner.
 *
 * gdaldem reads every source as Float32 (Int32 for integer types) and forms Horn's sums
 * in that type, so they are float sums here too: with double sums 0.3-1% of the pixels
 * of a real DEM tile come out one grey level off gdaldem. Like gdaldem, square pixels
 * take GDALHillshadeAlg_same_res (differences first, then sums) and others
 * GDALHillshadeAlg<float, HORN> (two sums of four, then their difference). The rest is in
 * double. Where SSE2 is available GDAL divides by the square root with an rsqrt estimate
 * plus one Newton step; the exact square root used here differs from it by about 1e-7
 * relative, which moves a grey level only at a near tie. A NaN (from elevations so large
 * that the float sums overflow) gives 1 where gdaldem would give 0. */
static float shade_pixel(const struct shade *s, const float w[9])
{
    double num, den;
    if (s->same_res) {
        float acc_x = w[0] - w[8];
        const float six_minus_two = w[6] - w[2];
        float acc_y = acc_x;
        const float three_minus_five = w[3] - w[5];
        const float one_minus_seven = w[1] - w[7];
        acc_x += three_minus_five;
        acc_y += one_minus_seven;
        acc_x += three_minus_five;
        acc_y += one_minus_seven;
        acc_x += six_minus_two;
        acc_y -= six_minus_two;
        const double x = acc_x, y = acc_y;
        num = s->sin_alt_254 +
              (x * s->sin_az_cos_alt_z_254_inv_res + y * s->cos_az_cos_alt_z_254_inv_res);
        den = 1.0 + s->square_z_inv_res2 * (x * x + y * y);
    } else {
        const float west = w[0] + w[3] + w[3] + w[6], east = w[2] + w[5] + w[5] + w[8];
        const float south = w[6] + w[7] + w[7] + w[8], north = w[0] + w[1] + w[1] + w[2];
        const double x = (west - east) * s->inv_ewres;
        const double y = (south - north) * s->inv_nsres;
        num = s->sin_alt_254 - (y * s->cos_az_cos_alt_z_254 - x * s->sin_az_cos_alt_z_254);
        den = 1.0 + s->square_z * (x * x + y * y);
    }
    const double cang_254 = num / sqrt(den);
    return (float)(!(cang_254 > 0.0) ? 1.0 : 1.0 + cang_254);
}

/* GDALCopyWords' Float32 -> Byte conversion, which is what stores gdaldem's float
 * output in its Byte band: add 0.5 in float, clamp to 0..255, truncate (ties go up). */
static uint8_t float_to_byte(float f)
{
    float t = f + 0.5f;
    if (!(t > 0.0f))
        return 0;
    if (t >= 255.0f)
        return 255;
    return (uint8_t)t;
}

static int is_valid(const double *elev, const uint8_t *valid, size_t i)
{
    return (!valid || valid[i]) && isfinite(elev[i]);
}

static void put(uint8_t *px, uint8_t r, uint8_t g, uint8_t b, uint8_t a)
{
    px[0] = r;
    px[1] = g;
    px[2] = b;
    px[3] = a;
}

static void render_hillshade(const double *elev, const uint8_t *valid, int size, int pad,
                             double res_x, double res_y, const struct algo_params *p,
                             uint8_t *rgba)
{
    const struct shade s = shade_setup(res_x, res_y, p);
    const size_t stride = (size_t)size + 2 * (size_t)pad;
    for (int r = 0; r < size; r++) {
        for (int c = 0; c < size; c++) {
            const size_t centre = ((size_t)r + (size_t)pad) * stride + (size_t)c + (size_t)pad;
            uint8_t *px = rgba + 4 * ((size_t)r * (size_t)size + (size_t)c);
            float w[9];
            int ok = 1;
            for (int k = 0; k < 9 && ok; k++) {
                const size_t i = centre + (size_t)(k / 3) * stride + (size_t)(k % 3) - stride - 1;
                /* also keeps the conversion to float defined */
                ok = is_valid(elev, valid, i) && fabs(elev[i]) <= FLT_MAX;
                w[k] = ok ? (float)elev[i] : 0.0f;
            }
            if (!ok) {
                put(px, 0, 0, 0, 0);
                continue;
            }
            const uint8_t g = float_to_byte(shade_pixel(&s, w));
            put(px, g, g, g, 255);
        }
    }
}

/* Mapbox Terrain-RGB: 0.1 m steps from -10000 m in 24 bits. */
static void encode_terrainrgb(double h, uint8_t *px)
{
    const double v = round((h + 10000.0) * 10.0);
    uint32_t n;
    if (!(v > 0.0))
        n = 0;
    else if (v >= 16777215.0)
        n = 16777215u;
    else
        n = (uint32_t)v;
    put(px, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, 255);
}

/* Terrarium: metres + 32768 in 16 integer and 8 fractional bits, truncated. */
static void encode_terrarium(double h, uint8_t *px)
{
    double v = h + 32768.0;
    if (!(v > 0.0))
        v = 0.0;
    else if (v > 65535.0 + 255.0 / 256.0)
        v = 65535.0 + 255.0 / 256.0;
    const double whole = floor(v);
    const uint32_t n = (uint32_t)whole;
    const uint32_t frac = (uint32_t)floor((v - whole) * 256.0); /* 0..255: v - whole < 1 */
    put(px, (uint8_t)(n >> 8), (uint8_t)n, (uint8_t)frac, 255);
}

static int check_args(enum algo_kind kind, const double *elev, int size, int pad, double res_x,
                      double res_y, const struct algo_params *p, const uint8_t *rgba)
{
    if (!elev || !rgba || size < 1 || pad < (kind == ALGO_HILLSHADE ? 1 : 0))
        return CT_EINVAL;
    if (kind != ALGO_HILLSHADE && kind != ALGO_TERRAINRGB && kind != ALGO_TERRARIUM)
        return CT_EINVAL;
    /* The largest index is (size + 2*pad)^2 elevations or 4*size^2 bytes; both must fit
     * a size_t, and size + 2*pad an int. */
    if (pad > (0x7fffffff - size) / 2)
        return CT_EINVAL;
    const size_t side = (size_t)size + 2 * (size_t)pad;
    if (side > SIZE_MAX / side || (size_t)size > SIZE_MAX / 4 / (size_t)size)
        return CT_EINVAL;
    if (!isfinite(res_x) || !isfinite(res_y) || !(res_x > 0.0) || !(res_y > 0.0))
        return CT_EINVAL;
    if (!isfinite(p->azimuth) || !isfinite(p->altitude) || !isfinite(p->zfactor))
        return CT_EINVAL;
    if (p->altitude < 0.0 || p->altitude > 90.0)
        return CT_EINVAL;
    return 0;
}

int algo_render(enum algo_kind kind, const double *elev, const uint8_t *valid, int size, int pad,
                double res_x, double res_y, const struct algo_params *p, uint8_t *rgba)
{
    const struct algo_params defaults = ALGO_PARAMS_DEFAULT;
    if (!p)
        p = &defaults;
    int err = check_args(kind, elev, size, pad, res_x, res_y, p, rgba);
    if (err)
        return err;
    if (kind == ALGO_HILLSHADE) {
        render_hillshade(elev, valid, size, pad, res_x, res_y, p, rgba);
        return 0;
    }
    const size_t stride = (size_t)size + 2 * (size_t)pad;
    for (int r = 0; r < size; r++) {
        for (int c = 0; c < size; c++) {
            const size_t i = ((size_t)r + (size_t)pad) * stride + (size_t)c + (size_t)pad;
            uint8_t *px = rgba + 4 * ((size_t)r * (size_t)size + (size_t)c);
            if (!is_valid(elev, valid, i))
                put(px, 0, 0, 0, 0);
            else if (kind == ALGO_TERRAINRGB)
                encode_terrainrgb(elev[i], px);
            else
                encode_terrarium(elev[i], px);
        }
    }
    return 0;
}

int algo_parse(const char *name, enum algo_kind *out)
{
    static const struct {
        const char *name;
        enum algo_kind kind;
    } names[] = {
        { "hillshade", ALGO_HILLSHADE },
        { "terrainrgb", ALGO_TERRAINRGB },
        { "terrarium", ALGO_TERRARIUM },
    };
    if (!name || !out)
        return CT_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].kind;
            return 0;
        }
    }
    return CT_EINVAL;
}

int algo_terrain(enum algo_terrain kind, const double *elev, const uint8_t *valid, int w, int h,
                 double ewres, double nsres, double scale, double *out, uint8_t *ovalid)
{
    if (!elev || !out || !ovalid || w < 1 || h < 1 || w > 65536 || h > 65536 ||
        (kind != ALGO_SLOPE && kind != ALGO_ASPECT) || !(ewres != 0) || !(nsres != 0) ||
        !isfinite(ewres) || !isfinite(nsres) || !(scale > 0) || !isfinite(scale))
        return CT_EINVAL;
    const size_t stride = (size_t)w + 2, n = stride * ((size_t)h + 2);
    /* gdaldem reads the elevations as float32: converted once, with the
     * validity of each cell beside them */
    float *f = malloc(n * sizeof *f);
    uint8_t *ok = malloc(n);
    if (!f || !ok) {
        free(f);
        free(ok);
        return CT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        ok[i] = is_valid(elev, valid, i) && fabs(elev[i]) <= FLT_MAX;
        f[i] = ok[i] ? (float)elev[i] : 0.0f;
    }
    for (int r = 0; r < h; r++) {
        const size_t r0 = (size_t)r * stride;
        for (int c = 0; c < w; c++) {
            const size_t o = (size_t)r * (size_t)w + (size_t)c, i0 = r0 + (size_t)c;
            const size_t i1 = i0 + stride, i2 = i1 + stride;
            const int good = ok[i0] & ok[i0 + 1] & ok[i0 + 2] & ok[i1] & ok[i1 + 1] &
                             ok[i1 + 2] & ok[i2] & ok[i2 + 1] & ok[i2 + 2];
            ovalid[o] = (uint8_t)good;
            out[o] = NAN;
            if (!good)
                continue;
            const float a[9] = { f[i0], f[i0 + 1], f[i0 + 2], f[i1], f[i1 + 1],
                                 f[i1 + 2], f[i2], f[i2 + 1], f[i2 + 2] };
            if (kind == ALGO_SLOPE) {
                /* GDALSlopeHornAlg<float>: float sums, the rest in double */
                const double dx = ((a[0] + a[3] + a[3] + a[6]) - (a[2] + a[5] + a[5] + a[8])) /
                                  ewres;
                const double dy = ((a[6] + a[7] + a[7] + a[8]) - (a[0] + a[1] + a[1] + a[2])) /
                                  nsres;
                const double key = dx * dx + dy * dy;
                out[o] = (float)(atan(sqrt(key) / (8 * scale)) * (180.0 / M_PI));
            } else {
                /* GDALAspectAlg<float> with bAngleAsAzimuth */
                const double dx = (a[2] + a[5] + a[5] + a[8]) - (a[0] + a[3] + a[3] + a[6]);
                const double dy = (a[6] + a[7] + a[7] + a[8]) - (a[0] + a[1] + a[1] + a[2]);
                float asp = (float)(atan2(dy, -dx) / DEG2RAD);
                if (dx == 0 && dy == 0) {
                    out[o] = -1;
                    continue;
                }
                asp = asp > 90.0f ? 450.0f - asp : 90.0f - asp;
                if (asp == 360.0f)
                    asp = 0.0f;
                out[o] = asp;
            }
        }
    }
    free(f);
    free(ok);
    return CT_OK;
}
