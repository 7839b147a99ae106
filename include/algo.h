/* algo.h - terrain algorithms turning an elevation tile into RGBA pixels:
 * hillshade (as gdaldem), Mapbox Terrain-RGB and Mapzen Terrarium encodings.
 * Pure C + libm, no I/O; only algo_terrain allocates (a float32 copy of its window). */
#ifndef COGTILER_ALGO_H
#define COGTILER_ALGO_H

#include <stdint.h>

/* ALGO_NONE: no algorithm (the tile is coloured instead); algo_render refuses it. */
enum algo_kind { ALGO_NONE = 0, ALGO_HILLSHADE, ALGO_TERRAINRGB, ALGO_TERRARIUM };

struct algo_params {
    double azimuth;  /* degrees clockwise from north, default 315 */
    double altitude; /* degrees above the horizon, 0..90, default 45 */
    double zfactor;  /* vertical exaggeration, default 1 */
};

#define ALGO_PARAMS_DEFAULT ((struct algo_params){ 315.0, 45.0, 1.0 })

/* elev: (size + 2*pad) x (size + 2*pad) elevations in metres, row-major, north up: the
 * tile plus pad pixels on every side (pad >= 1 for hillshade, >= 0 for the encodings).
 * valid: the same shape, 0 = no data; NULL means every pixel is valid. A non-finite
 * elevation counts as no data too. res_x, res_y: the GROUND size of one pixel in metres
 * (the caller passes the Web Mercator pixel size times cos(latitude)). p: NULL means
 * ALGO_PARAMS_DEFAULT; only hillshade reads it, but it is checked for every kind.
 * Writes size*size RGBA pixels to rgba; no-data pixels become (0,0,0,0).
 *
 * Hillshade: gdaldem hillshade's classic formula (Horn's 3x3 gradient, not -combined,
 * -multidirectional or -igor), grey 1..255 opaque, transparent where the pixel or any of
 * its 8 neighbours is invalid (gdaldem without -compute_edges writes nodata there).
 * The same pixels as `gdaldem hillshade -az A -alt H -z Z -s S` (GDAL 3.6) on a raster
 * whose pixel is res_x/S by res_y/S horizontal units: as in gdaldem, elevations enter
 * Horn's sums as float32 (an elevation beyond float range counts as no data), and
 * res_x == res_y takes gdaldem's same-resolution arithmetic.
 * Terrain-RGB (Mapbox): height = -10000 + (R*65536 + G*256 + B) * 0.1, i.e. encodes
 * round((h + 10000) * 10) clamped to 0..16777215; alpha 255.
 * Terrarium (Mapzen/AWS terrain tiles): h = (R*256 + G + B/256) - 32768, i.e. with
 * v = h + 32768 clamped to 0..65535+255/256: R = floor(v/256), G = floor(v) % 256,
 * B = floor((v - floor(v)) * 256); alpha 255.
 *
 * Returns 0, or CT_EINVAL for bad arguments (NULL elev or rgba, size < 1, pad too small,
 * sizes overflowing, non-positive or non-finite resolution, non-finite parameters,
 * altitude outside 0..90, ALGO_NONE or an unknown kind); rgba is untouched then. */
int algo_render(enum algo_kind kind, const double *elev, const uint8_t *valid, int size, int pad,
                double res_x, double res_y, const struct algo_params *p, uint8_t *rgba);

/* Parses an algorithm name ("hillshade", "terrainrgb", "terrarium"; exact, lower case).
 * Returns 0 and sets *out, or CT_EINVAL (NULL or unknown name, *out untouched). */
int algo_parse(const char *name, enum algo_kind *out);

/* Slope and aspect of a DEM, as `gdaldem slope` / `gdaldem aspect` (GDAL 3.6,
 * Horn's 3x3 window, elevations summed as float32, no -compute_edges), for the
 * inputs of derived layers. */
enum algo_terrain { ALGO_SLOPE = 1, ALGO_ASPECT };

/* elev and valid: (w + 2) x (h + 2) cells, row-major, north up (the window
 * plus one cell on every side); out and ovalid: w x h. ewres, nsres: the
 * geotransform's pixel size (nsres negative for north up), scale gdaldem's -s
 * (metres per horizontal unit). Slope in degrees. Aspect as an azimuth
 * (degrees clockwise from north, 0..360), and -1 for a flat cell (gdaldem
 * writes its nodata there; a flat cell is a value a remap can take). A cell
 * any of whose 9 neighbours is invalid or not finite is invalid. Returns 0,
 * CT_EINVAL for bad arguments, or CT_ENOMEM. */
int algo_terrain(enum algo_terrain kind, const double *elev, const uint8_t *valid, int w, int h,
                 double ewres, double nsres, double scale, double *out, uint8_t *ovalid);

#endif
