/* coverage.c - exact cell coverage by signed-area accumulation.
 *
 * The rasterizer of FreeType's "gray" module and font-rs, in fixed point. For a
 * row of cells, the signed area of cell c inside a polygon is the sum, over the
 * pieces of edges crossing the row, of
 *   - the piece's height dy (signed by its direction), for every piece in a column
 *     left of c: the winding changes by it to the right of the piece;
 *   - dy times the part of the cell to the right of the piece, for a piece in c.
 * Each piece inside one cell deposits that second term a into its cell and dy - a
 * into the next; a prefix sum along the row then gives every cell's signed area.
 *
 * Why fixed point: in doubles the covers of a row (dy of the pieces) do not cancel
 * exactly, so cells outside the polygon would get 1e-17 instead of 0 and cells
 * inside 0.9999999999999999, and a cell of weight 0 must not count (ZONAL.md).
 * Heights are quantised per row to multiples of 2^-QBITS (the fractional part of
 * the piece's y in its row), a piece's dy is the difference of its ends' quantised
 * heights, so the dy of one edge's pieces and of a ring's consecutive edges
 * telescope exactly, and all sums are of integers: a cell no edge crosses gets
 * its winding number exactly. Areas are rounded to the same 2^-43 (1.1e-13 of a
 * cell), far below what the statistics can show.
 *
 * Overflow: the accumulator is uint64 (wrapping, so the order of deposits never
 * matters); only each cell's final sum must fit int64. That sum is the cell's mean
 * winding number times 2^43, and a closed polygon of n edges winds fewer than n/2
 * times around any point (each straight edge turns less than half a turn), so
 * n < 2^21 = COV_MAX_EDGES keeps it under 2^63.
 *
 * Window clipping keeps every cell of the window exact: rows outside it are
 * skipped (covers carry along rows only); the part of a piece left of c0 is moved
 * onto the line x = c0 (its cover still reaches every cell on its right), and the
 * part right of c0 + w is dropped. Moving a curve within x <= c0 changes no winding
 * number at x > c0. Every crossing is computed from the edge's own endpoints, never
 * from clipped points, so a sub-window computes the same integers, only summed in
 * another grouping: the result does not depend on the window.
 *
 * The accumulator lives in the caller's frac buffer (uint64 bits through memcpy,
 * C's way to reinterpret without aliasing faults), converted in place at the end. */
#include "coverage.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

#define QBITS 43
#define QSCALE ((double)((int64_t)1 << QBITS))

_Static_assert(sizeof(double) == sizeof(uint64_t), "the accumulator reuses frac's doubles");

/* The window as doubles, and the rows of the accumulator. */
struct win {
    double *frac;
    long c0, r0;
    int w, h;
    double xmin, xmax, ymin, ymax;
};

/* One edge with its ends ordered by y (ay < by), and the sign of its deposits:
 * its ring's orientation times its direction (+1 when it runs to larger y). */
struct seg {
    double ax, ay, bx, by;
    double xlo, xhi;
    int64_t sign;
};

static inline void deposit(double *cell, int64_t v)
{
    uint64_t u;
    memcpy(&u, cell, sizeof u);
    u += (uint64_t)v; /* modulo 2^64: see "Overflow" above */
    memcpy(cell, &u, sizeof u);
}

/* t in [0, 1] (a height inside the row) to fixed point. */
static inline int64_t quant(double t)
{
    return (int64_t)(t * QSCALE + 0.5);
}

/* Rounds half away from zero: an edge walked both ways (two parts sharing it, a
 * hole on its outer ring) deposits exact opposites, which cancel. */
static inline int64_t round_sym(double v)
{
    return v >= 0 ? (int64_t)(v + 0.5) : -(int64_t)(0.5 - v);
}

static inline int64_t as_signed(uint64_t u)
{
    return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

/* x of the edge at height y in [ay, by]; the ends exactly, within the edge's span. */
static double x_at(const struct seg *s, double y)
{
    if (y <= s->ay)
        return s->ax;
    if (y >= s->by)
        return s->bx;
    double x = s->ax + (y - s->ay) / (s->by - s->ay) * (s->bx - s->ax);
    return fmin(fmax(x, s->xlo), s->xhi);
}

/* y of a non-vertical edge at x, clamped to the piece's heights [ys, ye]. */
static double y_at(const struct seg *s, double x, double ys, double ye)
{
    double y = s->ay + (x - s->ax) / (s->bx - s->ax) * (s->by - s->ay);
    return fmin(fmax(y, ys), ye);
}

/* The piece of edge s in row r, from (xs, ys) to (xe, ye), ys < ye within the row:
 * walks it left to right, one deposit pair per column it crosses in the window. */
static void piece(const struct win *W, const struct seg *s, long r, double xs, double ys,
                  double xe, double ye)
{
    double rr = (double)r;
    double xl, yl, xr, yr;
    int64_t sg;
    /* Walking to larger x, heights rise if the lower end is on the left; the
     * deposits count rising heights, so the sign flips otherwise. */
    if (xs <= xe) {
        xl = xs, yl = ys, xr = xe, yr = ye, sg = s->sign;
    } else {
        xl = xe, yl = ye, xr = xs, yr = ys, sg = -s->sign;
    }
    if (xl >= W->xmax)
        return;
    double *row = W->frac + (size_t)(r - W->r0) * (size_t)W->w;
    int64_t qa = quant(yl - rr);
    long col;
    double xa;
    if (xl < W->xmin) {
        /* Left of the window: moved onto x = c0, the whole cover goes to cell 0
         * (the part of the cell right of the line x = c0 is all of it). */
        int done = xr <= W->xmin;
        int64_t qb = quant((done ? yr : y_at(s, W->xmin, ys, ye)) - rr);
        deposit(row, sg * (qb - qa));
        if (done)
            return;
        qa = qb;
        xa = W->xmin;
        col = W->c0;
    } else {
        xa = xl;
        col = (long)floor(xl);
    }
    for (;;) {
        double right = (double)(col + 1);
        int last = xr <= right;
        double xb = last ? xr : right;
        int64_t qb = quant((last ? yr : y_at(s, right, ys, ye)) - rr);
        int64_t d = sg * (qb - qa);
        /* The part of the cell right of the piece: 1 - (mean x - col). */
        int64_t a = round_sym((double)d * (0.5 * ((right - xa) + (right - xb))));
        long i = col - W->c0;
        deposit(row + i, a);
        if (i + 1 >= W->w)
            return; /* the rest lies right of the window */
        deposit(row + i + 1, d - a);
        if (last)
            return;
        xa = xb;
        qa = qb;
        col++;
    }
}

/* Deposits edge (x0, y0) -> (x1, y1) of a ring of orientation sign (+1 or -1). */
static void edge(const struct win *W, double x0, double y0, double x1, double y1, int sign)
{
    if (y0 == y1)
        return; /* horizontal: no cover, no area */
    struct seg s;
    if (y0 < y1) {
        s = (struct seg){ x0, y0, x1, y1, fmin(x0, x1), fmax(x0, x1), sign };
    } else {
        s = (struct seg){ x1, y1, x0, y0, fmin(x0, x1), fmax(x0, x1), -sign };
    }
    if (s.xlo >= W->xmax)
        return;
    double ylo = fmax(s.ay, W->ymin), yhi = fmin(s.by, W->ymax);
    if (!(ylo < yhi))
        return;
    long r = (long)floor(ylo);
    double ys = ylo, xs = x_at(&s, ys);
    for (;;) {
        double ye = fmin(yhi, (double)(r + 1));
        double xe = x_at(&s, ye);
        piece(W, &s, r, xs, ys, xe, ye);
        if (ye >= yhi)
            return;
        ys = ye, xs = xe, r++;
    }
}

/* Twice the signed (shoelace) area of a closed ring, about its first position
 * (smaller products, less cancellation). */
static double ring_area2(const struct cov_ring *ring)
{
    const double *p = ring->xy;
    double ox = p[0], oy = p[1], sum = 0;
    for (size_t i = 1; i + 1 < ring->n; i++) {
        sum += (p[2 * i] - ox) * (p[2 * i + 3] - oy) - (p[2 * i + 2] - ox) * (p[2 * i + 1] - oy);
    }
    return sum;
}

static int check_ring(const struct cov_ring *ring, size_t *edges)
{
    if (!ring->xy || ring->n < 4)
        return CT_EINVAL;
    for (size_t i = 0; i < 2 * ring->n; i++) {
        if (!(fabs(ring->xy[i]) <= COV_COORD_MAX)) /* also NaN */
            return CT_EINVAL;
    }
    const double *last = ring->xy + 2 * (ring->n - 1);
    if (last[0] != ring->xy[0] || last[1] != ring->xy[1])
        return CT_EINVAL;
    *edges += ring->n - 1;
    return CT_OK;
}

static int check(const struct cov_polygon *p, size_t np, long c0, long r0, int w, int h,
                 const double *frac)
{
    if ((np && !p) || !frac || w < 1 || h < 1)
        return CT_EINVAL;
    if ((size_t)w > SIZE_MAX / sizeof(double) / (size_t)h)
        return CT_EINVAL;
    /* In doubles, exact here: c0 + w cannot overflow, and within 2^50 the window's
     * corners are exact integers as doubles and as longs. */
    if (!(fabs((double)c0) <= COV_COORD_MAX && fabs((double)r0) <= COV_COORD_MAX &&
          (double)c0 + w <= COV_COORD_MAX && (double)r0 + h <= COV_COORD_MAX))
        return CT_EINVAL;
    size_t edges = 0;
    for (size_t k = 0; k < np; k++) {
        if (!p[k].rings || p[k].nrings < 1)
            return CT_EINVAL;
        for (size_t j = 0; j < p[k].nrings; j++) {
            int err = check_ring(&p[k].rings[j], &edges);
            if (err)
                return err;
        }
    }
    return edges >= COV_MAX_EDGES ? CT_ETOOLARGE : CT_OK;
}

int coverage_fractions(const struct cov_polygon *p, size_t np, long c0, long r0, int w, int h,
                       double *frac)
{
    int err = check(p, np, c0, r0, w, h, frac);
    if (err)
        return err;
    size_t cells = (size_t)w * (size_t)h;
    memset(frac, 0, cells * sizeof *frac); /* all-zero bits: uint64 0 */
    struct win W = { frac, c0, r0, w, h, (double)c0, (double)(c0 + w), (double)r0,
                     (double)(r0 + h) };
    for (size_t k = 0; k < np; k++) {
        for (size_t j = 0; j < p[k].nrings; j++) {
            const struct cov_ring *ring = &p[k].rings[j];
            /* A ring of positive shoelace area (counter-clockwise with y up)
             * deposits -1 inside: outer rings are made to deposit +1, holes -1. */
            double a2 = ring_area2(ring);
            int sign = a2 > 0 ? -1 : 1;
            if (j > 0)
                sign = -sign;
            const double *xy = ring->xy;
            for (size_t i = 0; i + 1 < ring->n; i++)
                edge(&W, xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3], sign);
        }
    }
    for (int r = 0; r < h; r++) {
        double *row = frac + (size_t)r * (size_t)w;
        uint64_t sum = 0;
        for (int c = 0; c < w; c++) {
            uint64_t u;
            memcpy(&u, &row[c], sizeof u);
            sum += u;
            double v = fabs((double)as_signed(sum) / QSCALE);
            row[c] = v < 1.0 ? v : 1.0;
        }
    }
    return CT_OK;
}
