/* coverage.h - the exact fraction of grid cells covered by polygons: the `exact`
 * coverage rule of docs/ZONAL.md. Pure C + libm, no I/O, no allocation. */
#ifndef COGTILER_COVERAGE_H
#define COGTILER_COVERAGE_H

#include <stddef.h>

/* Grid coordinates: x = column, y = row, cell (c, r) spans [c, c+1) x [r, r+1). */

/* n positions as x,y pairs (2n doubles); closed (first == last), n >= 4. */
struct cov_ring {
    const double *xy;
    size_t n;
};

/* rings[0] is the outer ring, the others its holes; any orientation. */
struct cov_polygon {
    const struct cov_ring *rings;
    size_t nrings;
};

/* Positions and window corners must lie within +-COV_COORD_MAX (2^50): the
 * cell indices and the edges' differences stay exact integers and finite. */
#define COV_COORD_MAX 1125899906842624.0
/* At most this many edges (positions minus rings) in one call: below it no
 * winding number can overflow the fixed-point accumulator (see coverage.c). */
#define COV_MAX_EDGES ((size_t)1 << 21)

/* Writes the covered fraction of every cell of the window [c0, c0+w) x [r0, r0+h),
 * row-major into frac[(r - r0) * w + (c - c0)], each in [0, 1]. Each ring is first
 * oriented by the sign of its shoelace area (outer rings positive, holes negative);
 * a cell's fraction is min(1, |integral over the cell of the sum of the rings'
 * winding numbers|). For valid polygons (simple rings, holes inside their outer ring
 * and apart, parts apart) that is exactly the cell's area inside them (the nonzero
 * rule); where parts overlap their areas add, clamped to 1 (see ZONAL.md on invalid
 * rings). Exact up to rounding: fixed point of 2^-43 of a cell per edge piece; a
 * cell no edge crosses gets exactly 0 or 1, and the result does not depend on the
 * window (a sub-window's cells equal the whole window's, bit for bit).
 * Positions outside the window are allowed (the window clips). np may be 0 (all 0).
 * Cost: proportional to the positions, plus the rings' length in cells inside the
 * window's rows, plus w*h.
 * Returns 0; CT_EINVAL for NULL pointers, w or h < 1, w*h overflowing, a window or a
 * position outside +-COV_COORD_MAX or not finite, a polygon with no ring, a ring of
 * fewer than 4 positions or not closed; CT_ETOOLARGE for COV_MAX_EDGES edges or more.
 * On error frac is untouched. */
int coverage_fractions(const struct cov_polygon *p, size_t np, long c0, long r0, int w, int h,
                       double *frac);

#endif
