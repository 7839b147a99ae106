/* The exact coverage rule (src/coverage.c): named analytic cases computed by hand,
 * properties over seeded random polygons (total area, window independence,
 * translation, scaling), bad input, and an independent reference: point sampling
 * with the nonzero rule, written here. Prints a speed measure (not asserted). */
#include "testutil.h"

#include <limits.h>
#include <time.h>

#include "coverage.h"
#include "err.h"

#define TOL 1e-12

/* ---- helpers --------------------------------------------------------------------- */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A ring from its positions, a polygon from its rings, a list of polygons. */
#define RING(...) { (const double[]){ __VA_ARGS__ }, NELEM(((const double[]){ __VA_ARGS__ })) / 2 }
#define POLY(...) { (const struct cov_ring[]){ __VA_ARGS__ }, NELEM(((const struct cov_ring[]){ __VA_ARGS__ })) }
#define POLYS(...) (const struct cov_polygon[]){ __VA_ARGS__ }, NELEM(((const struct cov_polygon[]){ __VA_ARGS__ }))
#define CELLS(...) (const double[]){ __VA_ARGS__ }

/* splitmix64: the same polygons on every run and machine. */
static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s; }
static double rng01(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static double *alloc_cells(int w, int h)
{
    double *p = malloc((size_t)w * (size_t)h * sizeof *p);
    assert_non_null(p);
    return p;
}

/* Every cell within tol of want (tol 0: exactly), else fails naming the case. */
static void expect_cells(const char *name, const double *got, const double *want, long c0,
                         long r0, int w, int h, double tol)
{
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            double g = got[r * w + c], e = want[r * w + c];
            if (!(fabs(g - e) <= tol))
                fail_msg("%s: cell (col %ld, row %ld): got %.17g, want %.17g (diff %.3g)", name,
                         c0 + c, r0 + r, g, e, g - e);
        }
}

/* Twice the signed shoelace area of a closed ring, in long double. */
static long double area2(const double *xy, size_t n)
{
    long double s = 0;
    for (size_t i = 0; i + 1 < n; i++)
        s += (long double)xy[2 * i] * xy[2 * i + 3] - (long double)xy[2 * i + 2] * xy[2 * i + 1];
    return s;
}

/* The polygons' area: outer rings' absolute area minus their holes'. */
static double polys_area(const struct cov_polygon *p, size_t np)
{
    long double a = 0;
    for (size_t k = 0; k < np; k++)
        for (size_t j = 0; j < p[k].nrings; j++) {
            long double r = fabsl(area2(p[k].rings[j].xy, p[k].rings[j].n)) / 2;
            a += j == 0 ? r : -r;
        }
    return (double)a;
}

static void bbox(const struct cov_polygon *p, size_t np, double b[4])
{
    b[0] = b[1] = INFINITY, b[2] = b[3] = -INFINITY;
    for (size_t k = 0; k < np; k++)
        for (size_t j = 0; j < p[k].nrings; j++)
            for (size_t i = 0; i < p[k].rings[j].n; i++) {
                const double *q = p[k].rings[j].xy + 2 * i;
                b[0] = fmin(b[0], q[0]), b[1] = fmin(b[1], q[1]);
                b[2] = fmax(b[2], q[0]), b[3] = fmax(b[3], q[1]);
            }
}

/* A window holding the polygons with a margin of one cell. */
static void window_of(const struct cov_polygon *p, size_t np, long *c0, long *r0, int *w, int *h)
{
    double b[4];
    bbox(p, np, b);
    *c0 = (long)floor(b[0]) - 1, *r0 = (long)floor(b[1]) - 1;
    *w = (int)((long)ceil(b[2]) + 1 - *c0), *h = (int)((long)ceil(b[3]) + 1 - *r0);
}

static double sum_cells(const double *f, size_t n)
{
    long double s = 0;
    for (size_t i = 0; i < n; i++)
        s += f[i];
    return (double)s;
}

/* A star-shaped (so simple) ring of n vertices about (cx, cy), radii in
 * [rmin, rmax], positions rounded to multiples of 2^-quant_bits when quant_bits > 0
 * (then translations by whole cells are exact). xy holds 2 (n + 1) doubles. */
static void star(double *xy, size_t n, double cx, double cy, double rmin, double rmax,
                 int quant_bits)
{
    double q = ldexp(1.0, quant_bits);
    for (size_t i = 0; i < n; i++) {
        /* Angles apart by less than half a turn, even for n = 3. */
        double t = 2 * M_PI * ((double)i + 0.45 * rng01()) / (double)n;
        double rad = rmin + (rmax - rmin) * rng01();
        double x = cx + rad * cos(t), y = cy + rad * sin(t);
        if (quant_bits > 0)
            x = round(x * q) / q, y = round(y * q) / q;
        xy[2 * i] = x, xy[2 * i + 1] = y;
    }
    xy[2 * n] = xy[0], xy[2 * n + 1] = xy[1];
}

/* The positions of a ring, reversed (or, with shift, started shift positions on). */
static void ring_reversed(const double *xy, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[2 * i] = xy[2 * (n - 1 - i)], out[2 * i + 1] = xy[2 * (n - 1 - i) + 1];
}
static void ring_rotated(const double *xy, size_t n, size_t shift, double *out)
{
    for (size_t i = 0; i + 1 < n; i++) {
        size_t k = (i + shift) % (n - 1);
        out[2 * i] = xy[2 * k], out[2 * i + 1] = xy[2 * k + 1];
    }
    out[2 * (n - 1)] = out[0], out[2 * (n - 1) + 1] = out[1];
}

/* ---- analytic cases ------------------------------------------------------------- */

struct tcase {
    const char *name;
    const struct cov_polygon *p;
    size_t np;
    long c0, r0;
    int w, h;
    const double *want;
};

#define SQ(x0, y0, x1, y1) RING(x0, y0, x1, y0, x1, y1, x0, y1, x0, y0)

/* Runs check on each case of test_analytic; each value of want is the area of the
 * cell inside, worked out by hand (the comments say how). (A callback: the
 * compound literals live only in this function's block.) */
static void analytic_cases(void (*check)(const struct tcase *))
{
    const double h6 = 1.0 / 6, t12 = 1.0 / 12;
    struct tcase cases[] = {
        { "square on cell edges", POLYS(POLY(SQ(1, 1, 3, 3))), 0, 0, 4, 4,
          CELLS(0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0) },
        { "half a cell, vertical split", POLYS(POLY(SQ(0, 0, 0.5, 1))), 0, 0, 2, 1, CELLS(0.5, 0) },
        { "half a cell, horizontal split", POLYS(POLY(SQ(0, 0, 1, 0.5))), 0, 0, 1, 2,
          CELLS(0.5, 0) },
        { "half a cell, diagonal split", POLYS(POLY(RING(0, 0, 1, 0, 0, 1, 0, 0))), 0, 0, 2, 2,
          CELLS(0.5, 0, 0, 0) },
        { "half a cell, other diagonal", POLYS(POLY(RING(1, 0, 1, 1, 0, 1, 1, 0))), 0, 0, 1, 1,
          CELLS(0.5) },
        /* x >= 0.5, y >= 0.5, x + y <= 3: corner cell 0.5^2; edge cells 0.5 x 1;
         * cell (2, 0): integral over y in [0.5, 1] of (1 - y) = 1/8; (1, 1) half. */
        { "triangle on half cells", POLYS(POLY(RING(0.5, 0.5, 2.5, 0.5, 0.5, 2.5, 0.5, 0.5))), 0,
          0, 3, 3, CELLS(0.25, 0.5, 0.125, 0.5, 0.5, 0, 0.125, 0, 0) },
        /* y >= x / 3 over [0, 3] x [0, 1]: cell c holds 1 - (2c + 1) / 6. */
        { "triangle, shallow edge", POLYS(POLY(RING(0, 0, 3, 1, 0, 1, 0, 0))), 0, 0, 3, 1,
          CELLS(5 * h6, 3 * h6, h6) },
        /* x <= 2y/3: row 0 col 0: integral of 2y/3 on [0, 1] = 1/3; row 1 col 0:
         * integral of min(1, 2y/3) on [1, 2] = 5/12 + 1/2, col 1: the rest 1/12;
         * row 2: 1, and integral of 2y/3 - 1 on [2, 3] = 2/3. */
        { "triangle, steep edge across rows", POLYS(POLY(RING(0, 0, 2, 3, 0, 3, 0, 0))), 0, 0, 2,
          3, CELLS(4 * t12, 0, 11 * t12, t12, 1, 8 * t12) },
        { "hole on cell edges, same orientation as the outer ring",
          POLYS(POLY(SQ(0, 0, 4, 4), SQ(1, 1, 3, 3))), 0, 0, 4, 4,
          CELLS(1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1) },
        { "hole cutting a quarter of four cells",
          POLYS(POLY(SQ(0, 0, 4, 4), RING(1.5, 1.5, 1.5, 2.5, 2.5, 2.5, 2.5, 1.5, 1.5, 1.5))), 0,
          0, 4, 4, CELLS(1, 1, 1, 1, 1, 0.75, 0.75, 1, 1, 0.75, 0.75, 1, 1, 1, 1, 1) },
        /* cross product (0.5, 0.1) x (0.2, 0.6) = 0.28: area 0.14 in cell (2, 3). */
        { "triangle inside one cell", POLYS(POLY(RING(2.2, 3.3, 2.7, 3.4, 2.4, 3.9, 2.2, 3.3))), 1,
          2, 3, 3, CELLS(0, 0, 0, 0, 0.14, 0, 0, 0, 0) },
        { "sliver along a row", POLYS(POLY(SQ(0, 0.5, 6, 0.501))), 0, 0, 6, 2,
          CELLS(0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0, 0, 0, 0, 0, 0) },
        { "multipolygon of two parts, opposite orientations",
          POLYS(POLY(SQ(0.5, 0, 1.5, 1)), POLY(RING(2, 1, 2, 2, 3, 2, 3, 1, 2, 1))), 0, 0, 3, 2,
          CELLS(0.5, 0.5, 0, 0, 0, 1) },
        /* [-2.5, 1.5] x [-1.5, 2.5] seen through [0, 3]^2. */
        { "polygon partly outside the window", POLYS(POLY(SQ(-2.5, -1.5, 1.5, 2.5))), 0, 0, 3, 3,
          CELLS(1, 0.5, 0, 1, 0.5, 0, 0.5, 0.25, 0) },
        { "window inside the polygon",
          POLYS(POLY(RING(-100, -100, 200, -100, -100, 200, -100, -100))), 0, 0, 3, 3,
          CELLS(1, 1, 1, 1, 1, 1, 1, 1, 1) },
        { "window with a negative origin", POLYS(POLY(SQ(-3, -3, -1, -1))), -4, -4, 4, 4,
          CELLS(0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0) },
        { "polygon left of the window", POLYS(POLY(SQ(-5, 0, -4, 2))), 0, 0, 2, 2,
          CELLS(0, 0, 0, 0) },
        { "polygon right of the window", POLYS(POLY(SQ(5, 0, 6, 2))), 0, 0, 2, 2,
          CELLS(0, 0, 0, 0) },
        { "polygon above and below the window", POLYS(POLY(SQ(0, -3, 2, -1)), POLY(SQ(0, 3, 2, 4))),
          0, 0, 2, 2, CELLS(0, 0, 0, 0) },
        { "polygon crossing the window left to right", POLYS(POLY(SQ(-10, 0.25, 10, 0.75))), 0, 0,
          2, 1, CELLS(0.5, 0.5) },
        { "left edge on the window's left side", POLYS(POLY(SQ(0, 0, 2, 2))), 1, 0, 1, 2,
          CELLS(1, 1) },
        { "right edge on the window's left side", POLYS(POLY(SQ(0, 0, 2, 2))), 2, 0, 2, 2,
          CELLS(0, 0, 0, 0) },
        { "edges on cell sides inside the window", POLYS(POLY(SQ(1, 0, 2, 1))), 0, 0, 3, 2,
          CELLS(0, 1, 0, 0, 0, 0) },
        { "vertex on a cell corner", POLYS(POLY(RING(1, 1, 2, 0, 2, 1, 1, 1))), 0, 0, 3, 2,
          CELLS(0, 0.5, 0, 0, 0, 0) },
    };
    for (size_t i = 0; i < NELEM(cases); i++)
        check(&cases[i]);
}

#define MAX_RINGS 8
#define MAX_POS 64

/* Copies of a case's rings, each reversed or started elsewhere. */
struct variant {
    double xy[MAX_RINGS][2 * MAX_POS];
    struct cov_ring rings[MAX_RINGS];
    struct cov_polygon polys[MAX_RINGS];
};

static void make_variant(const struct tcase *tc, int kind, struct variant *v)
{
    size_t nr = 0;
    assert_true(tc->np <= MAX_RINGS);
    for (size_t k = 0; k < tc->np; k++) {
        v->polys[k].rings = &v->rings[nr];
        v->polys[k].nrings = tc->p[k].nrings;
        for (size_t j = 0; j < tc->p[k].nrings; j++, nr++) {
            const struct cov_ring *r = &tc->p[k].rings[j];
            assert_true(nr < MAX_RINGS && r->n <= MAX_POS);
            if (kind == 0)
                ring_reversed(r->xy, r->n, v->xy[nr]);
            else
                ring_rotated(r->xy, r->n, (size_t)kind, v->xy[nr]);
            v->rings[nr] = (struct cov_ring){ v->xy[nr], r->n };
        }
    }
}

static void check_analytic(const struct tcase *tc)
{
    double *f = alloc_cells(tc->w, tc->h);
    int err = coverage_fractions(tc->p, tc->np, tc->c0, tc->r0, tc->w, tc->h, f);
    if (err)
        fail_msg("%s: got error %d", tc->name, err);
    expect_cells(tc->name, f, tc->want, tc->c0, tc->r0, tc->w, tc->h, TOL);
    /* Whatever the geometry, a cell wholly in or out is exactly 1 or 0. */
    for (int k = 0; k < tc->w * tc->h; k++)
        if ((tc->want[k] == 0 || tc->want[k] == 1) && f[k] != tc->want[k])
            fail_msg("%s: cell %d is %.17g, not exactly %g", tc->name, k, f[k], tc->want[k]);
    free(f);
}

static void test_analytic(void **state)
{
    (void)state;
    analytic_cases(check_analytic);
}

/* Every ring reversed, or started at another position: the same fractions, bit for
 * bit (each ring is oriented first, so its deposits are the same integers). */
static void check_orientation(const struct tcase *tc)
{
    static struct variant v;
    double *f = alloc_cells(tc->w, tc->h), *g = alloc_cells(tc->w, tc->h);
    assert_int_equal(coverage_fractions(tc->p, tc->np, tc->c0, tc->r0, tc->w, tc->h, f), 0);
    for (int kind = 0; kind < 3; kind++) {
        make_variant(tc, kind, &v);
        assert_int_equal(coverage_fractions(v.polys, tc->np, tc->c0, tc->r0, tc->w, tc->h, g), 0);
        char name[160];
        snprintf(name, sizeof name, "%s (%s)", tc->name,
                 kind == 0 ? "rings reversed" : "rings started elsewhere");
        expect_cells(name, g, f, tc->c0, tc->r0, tc->w, tc->h, 0);
    }
    free(f);
    free(g);
}

static void test_orientation(void **state)
{
    (void)state;
    analytic_cases(check_orientation);
}

/* A parallelogram of height 0.01 along the diagonal y = x, x in [0, 10]: cell (c, c)
 * holds 0.01 over x in [c, c + 0.99] and a triangle of 0.01^2 / 2 less, cell
 * (c, c + 1) that triangle, 0.00005. */
static void test_diagonal_sliver(void **state)
{
    (void)state;
    const struct cov_ring ring = RING(0, 0, 10, 10, 10, 10.01, 0, 0.01, 0, 0);
    const struct cov_polygon poly = { &ring, 1 };
    enum { W = 12, H = 12 };
    double want[W * H] = { 0 }, f[W * H];
    for (int c = 0; c < 10; c++) {
        want[(c + 1) * W + (c + 1)] = 0.00995; /* window origin (-1, -1) */
        want[(c + 2) * W + (c + 1)] = 0.00005;
    }
    assert_int_equal(coverage_fractions(&poly, 1, -1, -1, W, H, f), 0);
    expect_cells("diagonal sliver", f, want, -1, -1, W, H, TOL);
}

/* An edge walked both ways (two parts sharing it, a hole on its outer ring) deposits
 * exact opposites, which cancel: even on a tie of the fixed point's rounding. */
static void test_shared_edges(void **state)
{
    (void)state;
    double f[4];
    /* Two rectangles 3 units of 2^-43 high, meeting at x = 0.5: each deposits +-1.5
     * units there, a tie; the cell holds exactly the 3 units of their union. */
    const struct cov_polygon halves[] = { POLY(SQ(0, 0, 0.5, 0x3p-43)), POLY(SQ(0.5, 0, 1, 0x3p-43)) };
    assert_int_equal(coverage_fractions(halves, 2, 0, 0, 1, 1, f), 0);
    if (f[0] != 0x3p-43)
        fail_msg("two parts meeting on a tie: %a, want exactly 0x3p-43", f[0]);
    /* A hole equal to its outer ring: nothing. */
    const struct cov_polygon same = POLY(RING(0.1, 0.2, 1.7, 0.5, 0.5, 1.9, 0.1, 0.2),
                                         RING(0.1, 0.2, 1.7, 0.5, 0.5, 1.9, 0.1, 0.2));
    assert_int_equal(coverage_fractions(&same, 1, 0, 0, 2, 2, f), 0);
    for (int k = 0; k < 4; k++)
        if (f[k] != 0)
            fail_msg("hole equal to its outer ring: cell %d is %.17g", k, f[k]);
    /* A star cut into the triangles of a fan from its centre: the spokes cancel, the
     * fractions are the star's, bit for bit. */
    enum { N = 40 };
    static double xy[2 * (N + 1)], tri[N][8];
    static struct cov_ring rings[N];
    static struct cov_polygon fan[N];
    rng_seed(7);
    for (int t = 0; t < 10; t++) {
        double cx = 3 * rng01(), cy = 3 * rng01();
        star(xy, N, cx, cy, 2, 6, 0);
        for (int i = 0; i < N; i++) {
            const double q[8] = { cx, cy, xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3], cx, cy };
            memcpy(tri[i], q, sizeof q);
            rings[i] = (struct cov_ring){ tri[i], 4 };
            fan[i] = (struct cov_polygon){ &rings[i], 1 };
        }
        struct cov_ring outer = { xy, N + 1 };
        struct cov_polygon whole = { &outer, 1 };
        long c0, r0;
        int w, h;
        window_of(&whole, 1, &c0, &r0, &w, &h);
        double *a = alloc_cells(w, h), *b = alloc_cells(w, h);
        assert_int_equal(coverage_fractions(&whole, 1, c0, r0, w, h, a), 0);
        assert_int_equal(coverage_fractions(fan, N, c0, r0, w, h, b), 0);
        expect_cells("star cut into a fan of triangles", b, a, c0, r0, w, h, 0);
        free(a);
        free(b);
    }
}

/* ---- properties over random polygons ------------------------------------------- */

#define MAXV 200

struct rpoly {
    double xy[2 * (MAXV + 1)];
    double hole[2 * 5];
    struct cov_ring rings[2];
    struct cov_polygon poly;
};

/* A random star of n vertices (0: 3..MAXV at random, 12 or more with a hole);
 * with_hole adds a triangular hole around its centre: with 12 vertices or more
 * (angles apart by under 44 degrees, radii over r0/2) the star holds the disc of
 * radius 0.46 r0, and the hole lies within 0.29 r0. */
static void random_poly(struct rpoly *p, size_t n, double span, double rmin, double rmax,
                        int with_hole, int quant_bits)
{
    if (n == 0)
        n = (with_hole ? 12 : 3) + (size_t)(rng01() * (MAXV - (with_hole ? 11 : 2)));
    if (n > MAXV)
        n = MAXV;
    double cx = (rng01() - 0.5) * span, cy = (rng01() - 0.5) * span;
    if (quant_bits > 0)
        cx = round(cx), cy = round(cy);
    double r0 = rmin + rng01() * (rmax - rmin);
    star(p->xy, n, cx, cy, r0 * 0.5, r0, quant_bits);
    p->rings[0] = (struct cov_ring){ p->xy, n + 1 };
    p->poly = (struct cov_polygon){ p->rings, 1 };
    if (with_hole) {
        double hr = r0 * 0.2;
        if (quant_bits > 0)
            hr = round(ldexp(hr, quant_bits)) / ldexp(1.0, quant_bits);
        const double hx[] = { cx - hr, cy - hr, cx + hr, cy - hr / 2, cx, cy + hr, cx - hr, cy - hr };
        memcpy(p->hole, hx, sizeof hx);
        p->rings[1] = (struct cov_ring){ p->hole, 4 };
        p->poly.nrings = 2;
    }
}

/* Marks the cells of the window that an edge may meet (its bounding box, one cell
 * wider): every other cell is wholly inside or outside the polygon. */
static void mark_near_edges(const struct cov_polygon *p, long c0, long r0, int w, int h,
                            unsigned char *near)
{
    memset(near, 0, (size_t)w * (size_t)h);
    for (size_t j = 0; j < p->nrings; j++)
        for (size_t i = 0; i + 1 < p->rings[j].n; i++) {
            const double *q = p->rings[j].xy + 2 * i;
            long ca = (long)floor(fmin(q[0], q[2])) - 1 - c0, cb = (long)floor(fmax(q[0], q[2])) - c0;
            long ra = (long)floor(fmin(q[1], q[3])) - 1 - r0, rb = (long)floor(fmax(q[1], q[3])) - r0;
            for (long r = ra < 0 ? 0 : ra; r <= rb && r < h; r++)
                for (long c = ca < 0 ? 0 : ca; c <= cb && c < w; c++)
                    near[r * w + c] = 1;
        }
}

/* The fractions over a window containing the polygon sum to its shoelace area, and
 * the cells no edge meets are exactly 0 or 1 (in doubles, the covers of a row would
 * not cancel exactly: 1e-17 outside, 0.9999999999999999 inside). */
static void test_total_area(void **state)
{
    (void)state;
    rng_seed(1);
    static struct rpoly rp;
    double worst = 0;
    for (int i = 0; i < 400; i++) {
        random_poly(&rp, 0, 100, 0.5, 40, i % 3 == 0, 0);
        long c0, r0;
        int w, h;
        window_of(&rp.poly, 1, &c0, &r0, &w, &h);
        double *f = alloc_cells(w, h);
        assert_int_equal(coverage_fractions(&rp.poly, 1, c0, r0, w, h, f), 0);
        unsigned char *near = malloc((size_t)w * (size_t)h);
        assert_non_null(near);
        mark_near_edges(&rp.poly, c0, r0, w, h, near);
        for (size_t k = 0; k < (size_t)w * (size_t)h; k++)
            if (!near[k] && f[k] != 0 && f[k] != 1)
                fail_msg("random polygon %d: cell (%ld, %ld), away from every edge, is %.17g", i,
                         c0 + (long)(k % (size_t)w), r0 + (long)(k / (size_t)w), f[k]);
        free(near);
        double got = sum_cells(f, (size_t)w * (size_t)h), want = polys_area(&rp.poly, 1);
        double rel = fabs(got - want) / want;
        worst = fmax(worst, rel);
        if (!(rel <= 1e-9))
            fail_msg("random polygon %d (%zu positions): sum %.17g, area %.17g", i, rp.rings[0].n,
                     got, want);
        for (size_t k = 0; k < (size_t)w * (size_t)h; k++)
            if (!(f[k] >= 0 && f[k] <= 1))
                fail_msg("random polygon %d: fraction %.17g outside [0, 1]", i, f[k]);
        free(f);
    }
    printf("total area: 400 random polygons, worst relative error %.3g\n", worst);
    /* Tiny polygons: the same in absolute terms, to the fixed point's rounding. */
    worst = 0;
    for (int i = 0; i < 200; i++) {
        random_poly(&rp, 0, 10, 0.01, 0.5, 0, 0);
        long c0, r0;
        int w, h;
        window_of(&rp.poly, 1, &c0, &r0, &w, &h);
        double *f = alloc_cells(w, h);
        assert_int_equal(coverage_fractions(&rp.poly, 1, c0, r0, w, h, f), 0);
        double err = fabs(sum_cells(f, (size_t)w * (size_t)h) - polys_area(&rp.poly, 1));
        worst = fmax(worst, err);
        if (!(err <= 1e-11))
            fail_msg("small random polygon %d (%zu positions): error %.3g", i, rp.rings[0].n, err);
        free(f);
    }
    printf("total area: 200 polygons under a cell across, worst absolute error %.3g\n", worst);
}

/* Cutting the window into tiles of any size gives each cell the same fraction, bit
 * for bit (the header's promise; 1e-12 would do for the statistics). */
static void test_subwindows(void **state)
{
    (void)state;
    rng_seed(2);
    static struct rpoly rp;
    static const int tiles[][2] = { { 1, 1 }, { 1, 3 }, { 2, 2 }, { 3, 5 }, { 7, 4 },
                                    { 16, 16 }, { 64, 1 }, { 1000, 1000 } };
    for (int i = 0; i < 30; i++) {
        random_poly(&rp, 0, 20, 0.5, 12, i % 2, 0);
        long c0, r0;
        int w, h;
        window_of(&rp.poly, 1, &c0, &r0, &w, &h);
        double *full = alloc_cells(w, h);
        assert_int_equal(coverage_fractions(&rp.poly, 1, c0, r0, w, h, full), 0);
        for (size_t t = 0; t < NELEM(tiles); t++) {
            int tw = tiles[t][0], th = tiles[t][1];
            double *part = alloc_cells(tw, th);
            for (int y = 0; y < h; y += th)
                for (int x = 0; x < w; x += tw) {
                    int pw = x + tw <= w ? tw : w - x, ph = y + th <= h ? th : h - y;
                    assert_int_equal(coverage_fractions(&rp.poly, 1, c0 + x, r0 + y, pw, ph, part), 0);
                    for (int r = 0; r < ph; r++)
                        for (int c = 0; c < pw; c++)
                            if (part[r * pw + c] != full[(y + r) * w + x + c])
                                fail_msg("polygon %d, tiles %dx%d: cell (%ld, %ld): %.17g in the tile, "
                                         "%.17g in the whole window", i, tw, th, c0 + x + c,
                                         r0 + y + r, part[r * pw + c], full[(y + r) * w + x + c]);
                }
            free(part);
        }
        free(full);
    }
}

/* Moving the polygon by whole cells moves the fractions. Positions on a 2^-20 grid
 * so that the moved positions are exact; the crossings computed from them round
 * differently at the new magnitude, hence 1e-12 rather than equality. */
static void test_translation(void **state)
{
    (void)state;
    rng_seed(3);
    static struct rpoly rp, moved;
    static const long shifts[][2] = { { 1, 0 }, { 0, -1 }, { -7, 3 }, { 64, -200 }, { -1000, 999 } };
    for (int i = 0; i < 30; i++) {
        random_poly(&rp, 0, 10, 0.5, 10, i % 2, 20);
        long c0, r0;
        int w, h;
        window_of(&rp.poly, 1, &c0, &r0, &w, &h);
        double *f = alloc_cells(w, h), *g = alloc_cells(w, h);
        assert_int_equal(coverage_fractions(&rp.poly, 1, c0, r0, w, h, f), 0);
        for (size_t s = 0; s < NELEM(shifts); s++) {
            moved = rp;
            moved.rings[0].xy = moved.xy, moved.rings[1].xy = moved.hole;
            moved.poly.rings = moved.rings;
            for (size_t k = 0; k < rp.rings[0].n; k++)
                moved.xy[2 * k] += (double)shifts[s][0], moved.xy[2 * k + 1] += (double)shifts[s][1];
            for (size_t k = 0; k < 4; k++)
                moved.hole[2 * k] += (double)shifts[s][0], moved.hole[2 * k + 1] += (double)shifts[s][1];
            assert_int_equal(coverage_fractions(&moved.poly, 1, c0 + shifts[s][0], r0 + shifts[s][1],
                                                w, h, g), 0);
            char name[96];
            snprintf(name, sizeof name, "polygon %d moved by (%ld, %ld)", i, shifts[s][0], shifts[s][1]);
            expect_cells(name, g, f, c0, r0, w, h, TOL);
        }
        free(f);
        free(g);
    }
}

/* Scaling the polygon and the grid by k: the total is k^2 times, and each cell's
 * fraction is the mean of its k x k sub-cells. */
static void test_scaling(void **state)
{
    (void)state;
    rng_seed(4);
    static struct rpoly rp, big;
    static const int ks[] = { 2, 3, 5 };
    for (int i = 0; i < 20; i++) {
        random_poly(&rp, 0, 10, 0.5, 6, i % 2, 0);
        long c0, r0;
        int w, h;
        window_of(&rp.poly, 1, &c0, &r0, &w, &h);
        double *f = alloc_cells(w, h);
        assert_int_equal(coverage_fractions(&rp.poly, 1, c0, r0, w, h, f), 0);
        double total = sum_cells(f, (size_t)w * (size_t)h);
        for (size_t s = 0; s < NELEM(ks); s++) {
            int k = ks[s];
            big = rp;
            big.rings[0].xy = big.xy, big.rings[1].xy = big.hole;
            big.poly.rings = big.rings;
            for (size_t j = 0; j < 2 * rp.rings[0].n; j++)
                big.xy[j] *= k;
            for (size_t j = 0; j < 8; j++)
                big.hole[j] *= k;
            double *g = alloc_cells(w * k, h * k);
            assert_int_equal(coverage_fractions(&big.poly, 1, c0 * k, r0 * k, w * k, h * k, g), 0);
            double tk = sum_cells(g, (size_t)w * k * (size_t)h * k);
            if (!(fabs(tk - (double)(k * k) * total) <= 1e-9 * tk))
                fail_msg("polygon %d scaled by %d: total %.17g, want %d^2 x %.17g", i, k, tk, k, total);
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++) {
                    double m = 0;
                    for (int y = 0; y < k; y++)
                        for (int x = 0; x < k; x++)
                            m += g[(size_t)(r * k + y) * (size_t)(w * k) + (size_t)(c * k + x)];
                    m /= k * k;
                    if (!(fabs(m - f[r * w + c]) <= 1e-11))
                        fail_msg("polygon %d scaled by %d: cell (%ld, %ld): %.17g, its sub-cells' mean "
                                 "%.17g", i, k, c0 + c, r0 + r, f[r * w + c], m);
                }
            free(g);
        }
        free(f);
    }
}

/* ---- bad input ------------------------------------------------------------------ */

static void test_bad_input(void **state)
{
    (void)state;
    const double sq[] = { 0, 0, 1, 0, 1, 1, 0, 1, 0, 0 };
    double nan_x[10], nan_y[10], inf_x[10], far[10], open[10];
    memcpy(nan_x, sq, sizeof sq), nan_x[4] = NAN;
    memcpy(nan_y, sq, sizeof sq), nan_y[5] = NAN;
    memcpy(inf_x, sq, sizeof sq), inf_x[2] = -INFINITY;
    memcpy(far, sq, sizeof sq), far[2] = 2 * COV_COORD_MAX;
    memcpy(open, sq, sizeof sq), open[9] = 0.5;
    const double three[] = { 0, 0, 1, 0, 0, 0 };
    const struct cov_ring good = { sq, 5 };
    const struct cov_polygon good_p = { &good, 1 };
    struct cov_ring rings[9] = {
        { nan_x, 5 }, { nan_y, 5 }, { inf_x, 5 }, { far, 5 }, { open, 5 }, { three, 3 },
        { NULL, 5 }, { sq, 0 }, { sq, 4 } /* 4 positions, the last not the first */
    };
    static const char *ring_names[] = { "NaN x", "NaN y", "infinite x", "x beyond 2^50",
                                        "unclosed ring", "three positions", "NULL positions",
                                        "no positions", "ring cut short (unclosed)" };
    double frac[4];
    for (size_t i = 0; i < NELEM(rings); i++) {
        /* The bad ring as an outer ring, and as a hole after a good one. */
        for (int as_hole = 0; as_hole < 2; as_hole++) {
            struct cov_ring two[2] = { good, rings[i] };
            struct cov_polygon p = as_hole ? (struct cov_polygon){ two, 2 }
                                           : (struct cov_polygon){ &rings[i], 1 };
            struct cov_polygon ps[2] = { good_p, p };
            for (int k = 0; k < 4; k++)
                frac[k] = 42;
            int err = coverage_fractions(ps, 2, 0, 0, 2, 2, frac);
            if (err != CT_EINVAL)
                fail_msg("%s%s: got %d, want CT_EINVAL", ring_names[i], as_hole ? " (hole)" : "", err);
            for (int k = 0; k < 4; k++)
                if (frac[k] != 42)
                    fail_msg("%s: wrote cell %d on failure", ring_names[i], k);
        }
    }
    static const struct {
        const char *name;
        int np, null_p, nrings0, null_frac;
        long c0, r0;
        int w, h;
    } calls[] = {
        { "w = 0", 1, 0, 0, 0, 0, 0, 0, 2 },
        { "h = 0", 1, 0, 0, 0, 0, 0, 2, 0 },
        { "w < 0", 1, 0, 0, 0, 0, 0, -2, 2 },
        { "h < 0", 1, 0, 0, 0, 0, 0, 2, -1 },
        { "NULL polygons", 1, 1, 0, 0, 0, 0, 2, 2 },
        { "NULL frac", 1, 0, 0, 1, 0, 0, 2, 2 },
        { "polygon without rings", 1, 0, 1, 0, 0, 0, 2, 2 },
        { "c0 beyond 2^50", 1, 0, 0, 0, 1L << 51, 0, 2, 2 },
        { "r0 below -2^50", 1, 0, 0, 0, 0, -(1L << 51), 2, 2 },
        { "c0 + w beyond 2^50", 1, 0, 0, 0, (1L << 50) - 1, 0, 2, 2 },
        { "c0 = LONG_MAX", 1, 0, 0, 0, LONG_MAX, 0, 2, 2 },
        { "r0 = LONG_MIN", 1, 0, 0, 0, 0, LONG_MIN, 2, 2 },
    };
    for (size_t i = 0; i < NELEM(calls); i++) {
        struct cov_polygon p = good_p;
        if (calls[i].nrings0)
            p.nrings = 0;
        for (int k = 0; k < 4; k++)
            frac[k] = 42;
        int err = coverage_fractions(calls[i].null_p ? NULL : &p, (size_t)calls[i].np, calls[i].c0,
                                     calls[i].r0, calls[i].w, calls[i].h,
                                     calls[i].null_frac ? NULL : frac);
        if (err != CT_EINVAL)
            fail_msg("%s: got %d, want CT_EINVAL", calls[i].name, err);
        for (int k = 0; k < 4; k++)
            if (frac[k] != 42)
                fail_msg("%s: wrote cell %d on failure", calls[i].name, k);
    }
    /* w * h past what a size_t of doubles holds is refused before any write; on 64
     * bits an int product cannot get there, so only the check's arithmetic shows. */
    assert_int_equal(coverage_fractions(&good_p, 1, 0, 0, INT_MAX, INT_MAX, frac), CT_EINVAL);
    /* No polygon: every cell 0; within the limits: fine. */
    for (int k = 0; k < 4; k++)
        frac[k] = 42;
    assert_int_equal(coverage_fractions(NULL, 0, 0, 0, 2, 2, frac), 0);
    for (int k = 0; k < 4; k++)
        assert_true(frac[k] == 0);
    assert_int_equal(coverage_fractions(&good_p, 1, (1L << 50) - 2, -(1L << 50), 2, 2, frac), 0);
}

/* Past COV_MAX_EDGES edges the winding bound no longer holds: refused. */
static void test_too_many_edges(void **state)
{
    (void)state;
    size_t n = COV_MAX_EDGES + 1; /* positions: COV_MAX_EDGES edges */
    double *xy = malloc(2 * n * sizeof *xy);
    assert_non_null(xy);
    for (size_t i = 0; i + 1 < n; i++) {
        double t = 2 * M_PI * (double)i / (double)(n - 1);
        xy[2 * i] = 10 * cos(t), xy[2 * i + 1] = 10 * sin(t);
    }
    xy[2 * (n - 1)] = xy[0], xy[2 * (n - 1) + 1] = xy[1];
    struct cov_ring ring = { xy, n };
    struct cov_polygon p = { &ring, 1 };
    double frac[4] = { 42, 42, 42, 42 };
    assert_int_equal(coverage_fractions(&p, 1, 0, 0, 2, 2, frac), CT_ETOOLARGE);
    assert_true(frac[0] == 42 && frac[3] == 42);
    ring.n = n - 1; /* one edge fewer (unclosed now: close it) */
    xy[2 * (n - 2)] = xy[0], xy[2 * (n - 2) + 1] = xy[1];
    assert_int_equal(coverage_fractions(&p, 1, 0, 0, 2, 2, frac), 0);
    free(xy);
}

/* ---- the reference: point sampling with the nonzero rule ----------------------- */

#define SAMPLES 256

/* The winding number of a closed ring about (px, py) (Sunday's crossing rule). */
static int winding(const double *xy, size_t n, double px, double py)
{
    int wn = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double x0 = xy[2 * i], y0 = xy[2 * i + 1], x1 = xy[2 * i + 2], y1 = xy[2 * i + 3];
        double side = (x1 - x0) * (py - y0) - (px - x0) * (y1 - y0);
        if (y0 <= py) {
            if (y1 > py && side > 0)
                wn++;
        } else if (y1 <= py && side < 0) {
            wn--;
        }
    }
    return wn;
}

/* Inside: the sum of the rings' winding numbers, outer rings counted positive and
 * holes negative whatever their orientation (sign[] per ring, in order), is not 0. */
static int inside(const struct cov_polygon *p, size_t np, const int *sign, double px, double py)
{
    int sum = 0;
    for (size_t k = 0; k < np; k++)
        for (size_t j = 0; j < p[k].nrings; j++, sign++) {
            const struct cov_ring *r = &p[k].rings[j];
            sum += *sign * winding(r->xy, r->n, px, py);
        }
    return sum != 0;
}

/* Edges whose bounding box meets cell (c, r): an upper bound of the pieces in it. */
static int edges_near(const struct cov_polygon *p, size_t np, long c, long r)
{
    int count = 0;
    for (size_t k = 0; k < np; k++)
        for (size_t j = 0; j < p[k].nrings; j++)
            for (size_t i = 0; i + 1 < p[k].rings[j].n; i++) {
                const double *q = p[k].rings[j].xy + 2 * i;
                if (fmax(q[0], q[2]) >= c && fmin(q[0], q[2]) <= c + 1 && fmax(q[1], q[3]) >= r &&
                    fmin(q[1], q[3]) <= r + 1)
                    count++;
            }
    return count;
}

/* 256 x 256 samples per cell at the sub-squares' centres: a sample differs from its
 * sub-square's covered fraction only where the boundary crosses that sub-square,
 * and a segment crosses at most 511 of them, so a cell is off by at most 511/65536
 * per edge near it, and exactly right with none. */
static void test_sampling_reference(void **state)
{
    (void)state;
    rng_seed(5);
    static struct rpoly rp;
    random_poly(&rp, 24, 2, 1.5, 2.5, 0, 0);
    const struct cov_ring tri = RING(0.3, 0.1, 3.7, 1.35, 1.1, 3.9, 0.3, 0.1);
    const struct cov_ring holed[] = {
        RING(0.2, 0.4, 4.6, 0.1, 4.3, 4.8, 0.6, 3.9, 0.2, 0.4),
        RING(1.3, 1.2, 2.9, 3.1, 3.4, 1.6, 1.3, 1.2),
    };
    const struct cov_ring parts[] = {
        RING(-0.6, -0.3, 1.7, 0.2, 0.4, 2.2, -0.6, -0.3),
        RING(2.5, 1.5, 3.25, 4.5, 4.75, 2.8, 4.1, 0.6, 2.5, 1.5),
    };
    const struct cov_polygon multi[] = { { &parts[0], 1 }, { &parts[1], 1 } };
    const struct cov_polygon single_tri = { &tri, 1 }, single_holed = { holed, 2 };
    static const char *names[] = { "triangle", "quadrilateral with a hole", "multipolygon",
                                   "random star" };
    const struct cov_polygon *polys[] = { &single_tri, &single_holed, multi, &rp.poly };
    const size_t nps[] = { 1, 1, 2, 1 };
    for (size_t t = 0; t < NELEM(polys); t++) {
        long c0, r0;
        int w, h;
        window_of(polys[t], nps[t], &c0, &r0, &w, &h);
        double *f = alloc_cells(w, h);
        assert_int_equal(coverage_fractions(polys[t], nps[t], c0, r0, w, h, f), 0);
        int sign[8], ns = 0;
        for (size_t k = 0; k < nps[t]; k++)
            for (size_t j = 0; j < polys[t][k].nrings; j++) {
                const struct cov_ring *ring = &polys[t][k].rings[j];
                int s = area2(ring->xy, ring->n) > 0 ? 1 : -1;
                sign[ns++] = j == 0 ? s : -s;
            }
        double worst = 0;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) {
                long in = 0;
                for (int sy = 0; sy < SAMPLES; sy++)
                    for (int sx = 0; sx < SAMPLES; sx++)
                        in += inside(polys[t], nps[t], sign, (double)(c0 + c) + (sx + 0.5) / SAMPLES,
                                     (double)(r0 + r) + (sy + 0.5) / SAMPLES);
                double ref = (double)in / (SAMPLES * SAMPLES);
                double tol = edges_near(polys[t], nps[t], c0 + c, r0 + r) * 511.0 /
                             (SAMPLES * SAMPLES);
                double diff = fabs(f[r * w + c] - ref);
                worst = fmax(worst, diff);
                if (!(diff <= tol))
                    fail_msg("%s: cell (%ld, %ld): %.17g, sampled %.17g (tolerance %.3g)", names[t],
                             c0 + c, r0 + r, f[r * w + c], ref, tol);
            }
        printf("sampling reference, %s: %dx%d cells, worst difference %.3g\n", names[t], w, h, worst);
        free(f);
    }
}

/* ---- speed (printed, not asserted) -------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One line of the speed report: the best of three runs. */
static void speed_line(const char *what, const double *xy, size_t n, int size, double *f)
{
    struct cov_ring ring = { xy, n };
    struct cov_polygon p = { &ring, 1 };
    double best = INFINITY;
    for (int i = 0; i < 3; i++) {
        double t0 = now();
        assert_int_equal(coverage_fractions(&p, 1, 0, 0, size, size, f), 0);
        best = fmin(best, now() - t0);
    }
    double area = polys_area(&p, 1), got = sum_cells(f, (size_t)size * size);
    assert_true(fabs(got - area) <= 1e-9 * area);
    double perim = 0;
    for (size_t i = 0; i + 1 < n; i++)
        perim += hypot(xy[2 * i + 2] - xy[2 * i], xy[2 * i + 3] - xy[2 * i + 1]);
    printf("speed: %s, %zu positions, perimeter %.0f cells, over %dx%d: %.1f ms, %.0f Mcells/s\n",
           what, n, perim, size, size, best * 1e3, (double)size * size / best / 1e6);
}

/* A 10,000-vertex polygon over a 4096 x 4096 window: a smooth one (the window's
 * w*h dominates), a spiky one (radii at random: 3.5 million cells of edges), and a
 * square (the w*h part alone). */
static void test_speed(void **state)
{
    (void)state;
    enum { N = 10000, SIZE = 4096 };
    rng_seed(6);
    double *xy = malloc(2 * (N + 1) * sizeof *xy);
    double *f = alloc_cells(SIZE, SIZE);
    assert_non_null(xy);
    for (size_t i = 0; i < N; i++) {
        double t = 2 * M_PI * (double)i / N, r = 1500 + 400 * sin(7 * t) + rng01();
        xy[2 * i] = SIZE / 2.0 + r * cos(t), xy[2 * i + 1] = SIZE / 2.0 + r * sin(t);
    }
    xy[2 * N] = xy[0], xy[2 * N + 1] = xy[1];
    speed_line("smooth polygon", xy, N + 1, SIZE, f);
    star(xy, N, SIZE / 2.0, SIZE / 2.0, 1000, 2040, 0);
    speed_line("spiky polygon", xy, N + 1, SIZE, f);
    const double sq[] = { 1, 1, SIZE - 1, 1, SIZE - 1, SIZE - 1, 1, SIZE - 1, 1, 1 };
    speed_line("square", sq, 5, SIZE, f);
    free(xy);
    free(f);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analytic),
        cmocka_unit_test(test_orientation),
        cmocka_unit_test(test_diagonal_sliver),
        cmocka_unit_test(test_shared_edges),
        cmocka_unit_test(test_total_area),
        cmocka_unit_test(test_subwindows),
        cmocka_unit_test(test_translation),
        cmocka_unit_test(test_scaling),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_too_many_edges),
        cmocka_unit_test(test_sampling_reference),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
