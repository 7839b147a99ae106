/* The statistics accumulator (stats.h) against docs/ZONAL.md's definitions
 * on small sets worked by hand, and the property the chunked reads rely on:
 * any grouping and order of chunks gives the same answer. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

#include "err.h"
#include "stats.h"

static struct stats *make(int max_unique, const double *v, const double *w, size_t n)
{
    struct stats *s = NULL;
    assert_int_equal(stats_new(max_unique, &s), CT_OK);
    uint8_t valid[64];
    assert_true(n <= 64);
    memset(valid, 1, n);
    assert_int_equal(stats_add(s, v, w, valid, NULL, 1.0, n), CT_OK);
    return s;
}

static void test_definitions(void **state)
{
    (void)state;
    const double v[] = { 3, 1, 2, 3, 2, 3 };
    struct stats *s = make(100, v, NULL, 6);
    struct stats_moments m;
    stats_moments(s, &m);
    assert_true(m.count == 6 && m.sum == 14 && m.min == 1 && m.max == 3 && m.masked == 0);
    assert_true(fabs(m.mean - 14.0 / 6) < 1e-15);
    double var = (3 * pow(3 - 14.0 / 6, 2) + 2 * pow(2 - 14.0 / 6, 2) + pow(1 - 14.0 / 6, 2)) / 6;
    assert_true(fabs(m.std - sqrt(var)) < 1e-15);
    /* inverted CDF: the smallest value whose cumulative count reaches p% of 6 */
    static const struct {
        double p, want;
    } pc[] = { { 0, 1 }, { 2, 1 }, { 16.6, 1 }, { 16.7, 2 }, { 50, 2 }, { 50.1, 3 },
               { 98, 3 }, { 100, 3 } };
    for (size_t i = 0; i < sizeof pc / sizeof *pc; i++)
        if (stats_percentile(s, pc[i].p) != pc[i].want)
            fail_msg("percentile %g: got %g, want %g", pc[i].p, stats_percentile(s, pc[i].p),
                     pc[i].want);
    size_t unique;
    double maj, min;
    assert_int_equal(stats_unique(s, &unique, &maj, &min), CT_OK);
    assert_true(unique == 3 && maj == 3 && min == 1);
    double h[2];
    assert_int_equal(stats_histogram(s, 2, 1, 3, h), CT_OK); /* [1, 2) and [2, 3] */
    assert_true(h[0] == 1 && h[1] == 5);
    double h4[4];
    assert_int_equal(stats_histogram(s, 4, 1.5, 2.5, h4), CT_OK);
    assert_true(h4[0] == 0 && h4[1] == 0 && h4[2] == 2 && h4[3] == 0); /* 2 in [2, 2.25) */
    double w, a;
    assert_int_equal(stats_category(s, 2, &w, &a), CT_OK);
    assert_true(w == 2 && a == 2);
    assert_int_equal(stats_category(s, 7, &w, &a), CT_OK);
    assert_true(w == 0 && a == 0);
    stats_free(s);
}

static void test_ties_and_weights(void **state)
{
    (void)state;
    const double v[] = { 2, 1 };
    struct stats *s = make(100, v, NULL, 2);
    size_t unique;
    double maj, min;
    assert_int_equal(stats_unique(s, &unique, &maj, &min), CT_OK);
    assert_true(maj == 1 && min == 1); /* ties: the smaller value */
    stats_free(s);
    const double v2[] = { 10, 20, 30, 0.5 }, w2[] = { 0.5, 0.25, 0.25, 0 };
    s = make(100, v2, w2, 4); /* weight 0: not in the zone */
    struct stats_moments m;
    stats_moments(s, &m);
    assert_true(m.count == 1 && m.mean == 17.5 && m.min == 10 && m.max == 30);
    assert_true(stats_percentile(s, 50) == 10 && stats_percentile(s, 50.1) == 20);
    assert_true(stats_percentile(s, 75) == 20 && stats_percentile(s, 76) == 30);
    assert_int_equal(stats_unique(s, &unique, &maj, &min), CT_OK);
    assert_true(unique == 3 && maj == 10 && min == 20);
    stats_free(s);
}

static void test_masked_and_empty(void **state)
{
    (void)state;
    struct stats *s = NULL;
    assert_int_equal(stats_new(10, &s), CT_OK);
    const double v[] = { 1, NAN, 5 }, w[] = { 1, 0.5, 0.25 };
    const uint8_t valid[] = { 0, 1, 0 };
    assert_int_equal(stats_add(s, v, w, valid, NULL, 2.0, 3), CT_OK);
    struct stats_moments m;
    stats_moments(s, &m);
    assert_true(m.count == 0 && m.masked == 1.75 && isnan(m.mean) && isnan(m.min) &&
                m.area_m2 == 0);
    assert_true(isnan(stats_percentile(s, 50)));
    size_t u;
    double a, b;
    assert_int_equal(stats_unique(s, &u, &a, &b), CT_EINVAL);
    double h[3] = { 9, 9, 9 };
    assert_int_equal(stats_histogram(s, 3, 0, 1, h), CT_OK);
    assert_true(h[0] == 0 && h[1] == 0 && h[2] == 0);
    stats_free(s);
}

static uint64_t rng = 88172645463325252ULL;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

#define N 20000

/* The whole set in one chunk, and cut at random places into chunks whose
 * accumulators are merged in a random tree. */
static void split_and_merge(int max_unique, const double *v, const double *w,
                            const uint8_t *valid, const double *area, struct stats **whole,
                            struct stats **pieces)
{
    assert_int_equal(stats_new(max_unique, whole), CT_OK);
    assert_int_equal(stats_add(*whole, v, w, valid, area, 0, N), CT_OK);
    struct stats *part[64];
    size_t k = 0, at = 0;
    while (at < N && k < 64) {
        size_t len = k == 63 ? N - at : 1 + (size_t)(uniform() * 900);
        if (len > N - at)
            len = N - at;
        assert_int_equal(stats_new(max_unique, &part[k]), CT_OK);
        assert_int_equal(stats_add(part[k], v + at, w ? w + at : NULL, valid + at,
                                   area ? area + at : NULL, 0, len),
                         CT_OK);
        at += len;
        k++;
    }
    while (k > 1) { /* merge two random ones */
        size_t i = (size_t)(uniform() * k), j = (size_t)(uniform() * (k - 1));
        if (j >= i)
            j++;
        assert_int_equal(stats_merge(part[i], part[j]), CT_OK);
        stats_free(part[j]);
        part[j] = part[--k];
    }
    *pieces = part[0];
}

static void same(const struct stats *a, const struct stats *b, const char *what)
{
    struct stats_moments x, y;
    stats_moments(a, &x);
    stats_moments(b, &y);
    double sx[] = { x.count, x.masked, x.sum, x.mean, x.std, x.min, x.max, x.area_m2 };
    double sy[] = { y.count, y.masked, y.sum, y.mean, y.std, y.min, y.max, y.area_m2 };
    for (int i = 0; i < 8; i++)
        if (!(fabs(sx[i] - sy[i]) <= 1e-12 * fmax(1, fabs(sx[i]))))
            fail_msg("%s: moment %d: %.17g vs %.17g", what, i, sx[i], sy[i]);
    assert_int_equal(stats_exact(a), stats_exact(b));
    for (double p = 0; p <= 100; p += 0.5)
        if (stats_percentile(a, p) != stats_percentile(b, p))
            fail_msg("%s: percentile %g: %.17g vs %.17g", what, p, stats_percentile(a, p),
                     stats_percentile(b, p));
    double ha[37], hb[37];
    assert_int_equal(stats_histogram(a, 37, x.min, x.max, ha), CT_OK);
    assert_int_equal(stats_histogram(b, 37, x.min, x.max, hb), CT_OK);
    for (int i = 0; i < 37; i++)
        if (!(fabs(ha[i] - hb[i]) <= 1e-9 * fmax(1, ha[i])))
            fail_msg("%s: histogram bin %d: %.17g vs %.17g", what, i, ha[i], hb[i]);
    if (stats_exact(a)) {
        size_t ua, ub;
        double ma, mb, na, nb;
        assert_int_equal(stats_unique(a, &ua, &ma, &na), CT_OK);
        assert_int_equal(stats_unique(b, &ub, &mb, &nb), CT_OK);
        assert_true(ua == ub && ma == mb && na == nb);
    }
}

static void test_chunking_does_not_matter(void **state)
{
    (void)state;
    static double v[N], w[N], area[N];
    static uint8_t valid[N];
    static const struct {
        const char *name;
        int ints, weighted, max_unique;
    } cases[] = {
        { "land cover classes, weight 1", 1, 0, 100000 },
        { "land cover classes, covered fractions", 1, 1, 100000 },
        { "elevations (floats), weight 1, exact table", 0, 0, 100000 },
        { "elevations (floats), fractions, histogram fallback", 0, 1, 500 },
        { "classes over the cap: fallback", 1, 0, 20 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        for (size_t i = 0; i < N; i++) {
            v[i] = cases[c].ints ? floor(uniform() * 60) - 5 : 1500 + 800 * uniform() * uniform();
            w[i] = uniform() < 0.1 ? 0 : cases[c].weighted ? uniform() : 1;
            valid[i] = uniform() > 0.05;
            area[i] = 900 + uniform();
        }
        for (int round = 0; round < 5; round++) {
            struct stats *whole, *pieces;
            split_and_merge(cases[c].max_unique, v, cases[c].weighted ? w : NULL, valid, area,
                            &whole, &pieces);
            char what[160];
            snprintf(what, sizeof what, "%s, round %d", cases[c].name, round);
            same(whole, pieces, what);
            if (cases[c].max_unique == 500 && round == 0) {
                /* the fallback's percentiles are within a bin of the exact ones */
                struct stats *exact;
                assert_int_equal(stats_new(100000, &exact), CT_OK);
                assert_int_equal(stats_add(exact, v, w, valid, NULL, 1, N), CT_OK);
                assert_false(stats_exact(whole));
                struct stats_moments m;
                stats_moments(whole, &m);
                double bin = (m.max - m.min) / (STATS_FALLBACK_BINS / 2);
                for (double p = 1; p < 100; p += 7)
                    if (fabs(stats_percentile(whole, p) - stats_percentile(exact, p)) > bin)
                        fail_msg("fallback percentile %g: %.9g vs exact %.9g (bin %g)", p,
                                 stats_percentile(whole, p), stats_percentile(exact, p), bin);
                stats_free(exact);
            }
            stats_free(whole);
            stats_free(pieces);
        }
    }
}

struct each_list {
    double v[N], w[N], a[N];
    size_t n;
};

static void collect(void *ctx, double v, double w, double a)
{
    struct each_list *l = ctx;
    if (l->n < N) {
        l->v[l->n] = v;
        l->w[l->n] = w;
        l->a[l->n] = a;
    }
    l->n++;
}

/* A packed accumulator reads back as the same accumulator (every query
 * answers the same, bit for bit), merges as the original does, and bytes
 * that are not a packed accumulator are refused, never trusted. */
static void test_pack(void **state)
{
    (void)state;
    static double v[N], w[N], area[N];
    static uint8_t valid[N];
    static struct each_list la, lb;
    for (int c = 0; c < 4; c++) { /* integers; floats exact; floats fallback; empty */
        for (size_t i = 0; i < N; i++) {
            v[i] = c == 0 ? floor(uniform() * 300) - 40 : 1500 + 800 * uniform() * uniform();
            w[i] = c == 3 ? 0 : uniform();
            valid[i] = uniform() > 0.05;
            area[i] = 900 + uniform();
        }
        struct stats *a, *b, *ab, *ra, *rb;
        int mu = c == 2 ? 300 : 100000;
        assert_int_equal(stats_new(mu, &a), CT_OK);
        assert_int_equal(stats_new(mu, &b), CT_OK);
        assert_int_equal(stats_add(a, v, w, valid, area, 0, N / 2), CT_OK);
        assert_int_equal(stats_add(b, v + N / 2, w + N / 2, valid + N / 2, area + N / 2, 0, N / 2),
                         CT_OK);
        unsigned char *pa, *pb;
        size_t na, nb;
        assert_int_equal(stats_pack(a, &pa, &na), CT_OK);
        assert_int_equal(stats_pack(b, &pb, &nb), CT_OK);
        assert_int_equal(stats_unpack(pa, na, &ra), CT_OK);
        assert_int_equal(stats_unpack(pb, nb, &rb), CT_OK);
        struct stats_moments x, y;
        stats_moments(a, &x);
        stats_moments(ra, &y);
        assert_memory_equal(&x, &y, sizeof x); /* bit for bit, NaNs included */
        assert_int_equal(stats_exact(a), stats_exact(ra));
        if (c != 3) {
            for (double p = 0; p <= 100; p += 2.5)
                assert_true(stats_percentile(a, p) == stats_percentile(ra, p));
        }
        if (stats_exact(a) && c != 3) {
            la.n = lb.n = 0;
            assert_int_equal(stats_each(a, collect, &la), CT_OK);
            assert_int_equal(stats_each(ra, collect, &lb), CT_OK);
            assert_int_equal(la.n, lb.n);
            assert_true(la.n <= N);
            assert_memory_equal(la.v, lb.v, la.n * sizeof *la.v);
            assert_memory_equal(la.w, lb.w, la.n * sizeof *la.w);
            assert_memory_equal(la.a, lb.a, la.n * sizeof *la.a);
        }
        /* merged after the trip as before it */
        assert_int_equal(stats_new(mu, &ab), CT_OK);
        assert_int_equal(stats_merge(ab, a), CT_OK);
        assert_int_equal(stats_merge(ab, b), CT_OK);
        assert_int_equal(stats_merge(ra, rb), CT_OK);
        stats_moments(ab, &x);
        stats_moments(ra, &y);
        assert_memory_equal(&x, &y, sizeof x);
        if (c != 3) {
            double ha[50], hb[50];
            assert_int_equal(stats_histogram(ab, 50, x.min, x.max, ha), CT_OK);
            assert_int_equal(stats_histogram(ra, 50, x.min, x.max, hb), CT_OK);
            assert_memory_equal(ha, hb, sizeof ha);
        }
        /* every truncation, a wrong magic, a wrong length: refused */
        struct stats *bad = NULL;
        for (size_t cut = 0; cut < na; cut += cut < 200 ? 1 : 97)
            if (stats_unpack(pa, cut, &bad) != CT_EINVAL)
                fail_msg("case %d: %zu of %zu bytes read back", c, cut, na);
        unsigned char *longer = malloc(na + 1);
        memcpy(longer, pa, na);
        longer[na] = 0;
        assert_int_equal(stats_unpack(longer, na + 1, &bad), CT_EINVAL);
        longer[0] ^= 1;
        assert_int_equal(stats_unpack(longer, na, &bad), CT_EINVAL);
        free(longer);
        /* forged fields a merge would trust: refused (offsets of stats.c's layout:
         * 16 bytes of header, 11 doubles W mean M2 min max ..., then e, k0, nz, bins) */
        if (c == 2) {
            unsigned char *m = malloc(na);
            const double inf = INFINITY;
            uint32_t j = 8191;
            int32_t e;
            memcpy(m, pa, na);
            memcpy(m + 16 + 3 * 8, &(double){ -inf }, 8); /* min */
            assert_int_equal(stats_unpack(m, na, &bad), CT_EINVAL);
            memcpy(m, pa, na);
            memcpy(m + 16 + 4 * 8, &inf, 8); /* max */
            assert_int_equal(stats_unpack(m, na, &bad), CT_EINVAL);
            memcpy(m, pa, na);
            memcpy(&e, m + 104, 4);
            e++; /* bins coarser than the range's own would not nest in a merge */
            memcpy(m + 104, &e, 4);
            assert_int_equal(stats_unpack(m, na, &bad), CT_EINVAL);
            memcpy(m, pa, na);
            memcpy(m + 124, &j, 4); /* a bin past bin(max) */
            assert_int_equal(stats_unpack(m, na, &bad), CT_EINVAL);
            free(m);
        }
        /* flipped bytes: refused or read, never a crash (the sanitizers watch) */
        for (int k = 0; k < 300; k++) {
            unsigned char *m = malloc(na);
            memcpy(m, pa, na);
            m[(size_t)(uniform() * na)] ^= (unsigned char)(1 + uniform() * 255);
            if (stats_unpack(m, na, &bad) == CT_OK) {
                struct stats_moments mm;
                stats_moments(bad, &mm);
                stats_percentile(bad, 50);
                stats_free(bad);
            }
            free(m);
        }
        free(pa);
        free(pb);
        stats_free(a);
        stats_free(b);
        stats_free(ab);
        stats_free(ra);
        stats_free(rb);
    }
}

/* Integer values of the direct range take a path of their own (a pass that
 * gathers weights per value; moments from those sums). Against a reference
 * written here in long double, and against the general path: the same cells
 * plus one non-integral value in one chunk (general) and, cut before that
 * value, in two chunks merged (the integers alone take the integer path). */
static void test_integer_path(void **state)
{
    (void)state;
    static double v[N + 1], w[N + 1], area[N + 1];
    static uint8_t valid[N + 1];
    for (int weighted = 0; weighted < 2; weighted++) {
        for (size_t i = 0; i < N; i++) {
            v[i] = floor(uniform() * 300) - 40; /* -40 .. 259 */
            w[i] = uniform() < 0.1 ? 0 : weighted ? uniform() : 1;
            valid[i] = uniform() > 0.05;
            area[i] = 900 + uniform();
        }
        v[N] = 17.25, w[N] = 1, valid[N] = 1, area[N] = 900;
        const double *wp = weighted ? w : NULL;
        long double W = 0, S = 0, A = 0, M = 0, lo = INFINITY, hi = -INFINITY, per[300] = { 0 };
        for (size_t i = 0; i < N; i++) {
            long double wi = wp ? wp[i] : 1;
            if (wi > 0 && valid[i]) {
                W += wi, S += wi * v[i], A += wi * area[i], per[(int)v[i] + 40] += wi;
                lo = fminl(lo, v[i]), hi = fmaxl(hi, v[i]);
            } else if (wi > 0) {
                M += wi;
            }
        }
        long double mean = S / W, M2 = 0;
        for (size_t i = 0; i < N; i++) {
            long double wi = wp ? wp[i] : 1;
            if (wi > 0 && valid[i])
                M2 += wi * (v[i] - mean) * (v[i] - mean);
        }
        struct stats *s;
        assert_int_equal(stats_new(100000, &s), CT_OK);
        assert_int_equal(stats_add(s, v, wp, valid, area, 0, N), CT_OK);
        struct stats_moments m;
        stats_moments(s, &m);
        const double got[] = { m.count, m.masked, m.sum, m.mean, m.std, m.min, m.max, m.area_m2 };
        const double want[] = { (double)W, (double)M, (double)S, (double)mean,
                                (double)sqrtl(M2 / W), (double)lo, (double)hi, (double)A };
        for (int k = 0; k < 8; k++)
            if (!(fabs(got[k] - want[k]) <= 1e-13 * fmax(1, fabs(want[k]))))
                fail_msg("weighted %d, moment %d: %.17g, want %.17g", weighted, k, got[k], want[k]);
        for (int j = 0; j < 300; j++) {
            double cw, ca;
            assert_int_equal(stats_category(s, j - 40, &cw, &ca), CT_OK);
            if (!(fabs(cw - (double)per[j]) <= 1e-12 * fmax(1, (double)per[j])))
                fail_msg("weighted %d, value %d: weight %.17g, want %.17Lg", weighted, j - 40, cw,
                         per[j]);
        }
        stats_free(s);

        struct stats *general, *a, *b;
        assert_int_equal(stats_new(100000, &general), CT_OK);
        assert_int_equal(stats_add(general, v, wp, valid, area, 0, N + 1), CT_OK);
        assert_int_equal(stats_new(100000, &a), CT_OK);
        assert_int_equal(stats_new(100000, &b), CT_OK);
        assert_int_equal(stats_add(a, v, wp, valid, area, 0, N), CT_OK);
        assert_int_equal(stats_add(b, v + N, wp ? wp + N : NULL, valid + N, area + N, 0, 1), CT_OK);
        assert_int_equal(stats_merge(a, b), CT_OK);
        same(general, a, weighted ? "integer path vs general, fractions" : "integer path vs general");
        stats_free(general);
        stats_free(a);
        stats_free(b);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct stats *s = NULL;
    assert_int_equal(stats_new(0, &s), CT_EINVAL);
    assert_int_equal(stats_new(10, &s), CT_OK);
    double h[1];
    assert_int_equal(stats_histogram(s, 0, 0, 1, h), CT_EINVAL);
    assert_int_equal(stats_histogram(s, 1, 2, 1, h), CT_EINVAL);
    stats_free(s);
    stats_free(NULL);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_definitions),
        cmocka_unit_test(test_ties_and_weights),
        cmocka_unit_test(test_masked_and_empty),
        cmocka_unit_test(test_chunking_does_not_matter),
        cmocka_unit_test(test_integer_path),
        cmocka_unit_test(test_pack),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
