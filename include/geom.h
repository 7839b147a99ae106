/* geom.h - polygons as plain arrays: the one shape the GeoJSON reader
 * (longitude/latitude), the raster module (the source's CRS and pixel grid)
 * and the exact coverage (pixel grid) pass between them. */
#ifndef COGTILER_GEOM_H
#define COGTILER_GEOM_H

#include <stddef.h>

struct ring {
    double *xy; /* n positions as x, y pairs; closed: the last equals the first */
    size_t n;
};

struct polygon {
    struct ring *rings; /* rings[0] the outer ring, the others its holes */
    size_t nrings;
};

/* Frees polys[0..n), their rings and positions (rings that were never
 * filled hold NULL), and polys itself. NULL-safe. */
void geom_free(struct polygon *polys, size_t n);

#endif
