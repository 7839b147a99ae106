/* stats.c - the accumulator of docs/ZONAL.md. A chunk is folded in two passes
 * of its own (its weighted mean first, then its M2), or, when its values are all
 * integers of the direct range, in one pass that gathers each value's weight
 * (the moments then come from those sums, add_direct); chunks meet only in
 * the merge (Chan et al.), so sums stay accurate whatever the chunking; floating
 * sums are compensated (Neumaier). Values are counted exactly in a table (an
 * array for the integers -32768..65535, an open-addressed hash for any other
 * value) until there are more than max_unique of them; then in a histogram of
 * STATS_FALLBACK_BINS bins [k 2^e, (k + 1) 2^e), e a function of the range
 * only, so that merges in any order meet on the same bins. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

#define DIRECT_LO (-32768)
#define DIRECT_N (65536 + 32768)

/* A compensated sum. */
struct ksum {
    double s, c;
};

static void kadd(struct ksum *k, double x)
{
    double t = k->s + x;
    k->c += fabs(k->s) >= fabs(x) ? (k->s - t) + x : (x - t) + k->s;
    k->s = t;
}

static double kval(const struct ksum *k)
{
    return k->s + k->c;
}

struct entry {
    double key, w, a;
    int used;
};

struct stats {
    int max_unique;
    double W, mean, M2, min, max;
    struct ksum masked, sum, area;
    int any;                /* a valid cell with weight > 0 was seen */
    int fallback;
    /* the table */
    double *dw, *da;        /* DIRECT_N weights and areas, or NULL */
    size_t ndirect;         /* entries of dw in use */
    size_t dlo, dhi;        /* the entries in use lie in [dlo, dhi] (dlo > dhi: none), so
                               that a merge or a pack reads only those pages */
    struct entry *hash;
    size_t hcap, hn;
    /* the fallback histogram */
    int e;
    long long k0;
    double *hist;
    /* a chunk's weights and areas per integer value (add_direct), zero between calls */
    double *cw, *ca;
};

int stats_new(int max_unique, struct stats **out)
{
    if (max_unique < 1)
        return CT_EINVAL;
    struct stats *s = calloc(1, sizeof *s);
    if (!s)
        return CT_ENOMEM;
    s->max_unique = max_unique;
    s->dlo = DIRECT_N;
    s->min = INFINITY;
    s->max = -INFINITY;
    *out = s;
    return CT_OK;
}

static void free_scratch(struct stats *s)
{
    free(s->cw);
    free(s->ca);
    s->cw = s->ca = NULL;
}

static void free_table(struct stats *s)
{
    free(s->dw);
    free(s->da);
    free(s->hash);
    s->dw = s->da = NULL;
    s->hash = NULL;
    s->ndirect = s->hcap = s->hn = 0;
    s->dlo = DIRECT_N;
    s->dhi = 0;
}

void stats_free(struct stats *s)
{
    if (!s)
        return;
    free_table(s);
    free_scratch(s);
    free(s->hist);
    free(s);
}

/* --- the table ------------------------------------------------------------------ */

static int direct_index(double v, size_t *i)
{
    if (v >= DIRECT_LO && v < DIRECT_LO + DIRECT_N && v == floor(v)) {
        *i = (size_t)(v - DIRECT_LO);
        return 1;
    }
    return 0;
}

static size_t hash_of(double v)
{
    uint64_t b;
    if (v == 0)
        v = 0; /* -0 and 0 are one value */
    memcpy(&b, &v, sizeof b);
    b ^= b >> 33;
    b *= 0xff51afd7ed558ccdULL;
    b ^= b >> 33;
    return (size_t)b;
}

static struct entry *hash_slot(struct entry *h, size_t cap, double v)
{
    size_t i = hash_of(v) & (cap - 1);
    while (h[i].used && h[i].key != v)
        i = (i + 1) & (cap - 1);
    return &h[i];
}

static int hash_grow(struct stats *s)
{
    size_t cap = s->hcap ? 2 * s->hcap : 1024;
    struct entry *h = calloc(cap, sizeof *h);
    if (!h)
        return CT_ENOMEM;
    for (size_t i = 0; i < s->hcap; i++)
        if (s->hash[i].used)
            *hash_slot(h, cap, s->hash[i].key) = s->hash[i];
    free(s->hash);
    s->hash = h;
    s->hcap = cap;
    return CT_OK;
}

/* Adds weight w and area a to value v's entry. */
static int table_add(struct stats *s, double v, double w, double a)
{
    size_t i;
    if (direct_index(v, &i)) {
        if (!s->dw) {
            s->dw = calloc(DIRECT_N, sizeof *s->dw);
            s->da = calloc(DIRECT_N, sizeof *s->da);
            if (!s->dw || !s->da)
                return CT_ENOMEM;
        }
        if (s->dw[i] == 0 && s->da[i] == 0)
            s->ndirect++;
        s->dlo = i < s->dlo ? i : s->dlo;
        s->dhi = i > s->dhi ? i : s->dhi;
        s->dw[i] += w;
        s->da[i] += a;
        return CT_OK;
    }
    if (s->hn + 1 > s->hcap / 2 && hash_grow(s))
        return CT_ENOMEM;
    struct entry *e = hash_slot(s->hash, s->hcap, v);
    if (!e->used) {
        e->used = 1;
        e->key = v;
        s->hn++;
    }
    e->w += w;
    e->a += a;
    return CT_OK;
}

/* --- the fallback histogram --------------------------------------------------------- */

static long long bin_of(double v, int e)
{
    return (long long)floor(ldexp(v, -e));
}

/* The smallest e whose aligned bins hold [lo, hi] in STATS_FALLBACK_BINS, and
 * coarse enough that bin numbers stay far inside a long long. */
static int e_for(double lo, double hi)
{
    double mag = fmax(fabs(lo), fabs(hi));
    int e = mag > 0 ? ilogb(mag) - 50 : -1074;
    if (hi > lo) {
        int e2 = (int)ceil(log2((hi - lo) / (STATS_FALLBACK_BINS - 1)));
        e = e2 > e ? e2 : e;
    }
    while (bin_of(hi, e) - bin_of(lo, e) >= STATS_FALLBACK_BINS)
        e++;
    return e;
}

/* Moves the histogram to the bins of [lo, hi] (e only grows: old bins nest). */
static int hist_fit(struct stats *s, double lo, double hi)
{
    int e = e_for(lo, hi);
    if (e < s->e)
        e = s->e;
    long long k0 = bin_of(lo, e);
    if (s->hist && e == s->e && k0 == s->k0)
        return CT_OK;
    double *h = calloc(STATS_FALLBACK_BINS, sizeof *h);
    if (!h)
        return CT_ENOMEM;
    if (s->hist) {
        long long step = 1LL << (e - s->e > 62 ? 62 : e - s->e);
        for (long long j = 0; j < STATS_FALLBACK_BINS; j++) {
            if (!s->hist[j])
                continue;
            long long k = s->k0 + j, kn = k >= 0 ? k / step : -((-k + step - 1) / step);
            h[kn - k0] += s->hist[j];
        }
        free(s->hist);
    }
    s->hist = h;
    s->e = e;
    s->k0 = k0;
    return CT_OK;
}

static void hist_add(struct stats *s, double v, double w)
{
    s->hist[bin_of(v, s->e) - s->k0] += w;
}

/* Replaces the table by the histogram of the range seen so far. */
static int to_fallback(struct stats *s)
{
    s->e = -100000; /* below any e_for(): the range alone decides */
    if (hist_fit(s, s->min, s->max))
        return CT_ENOMEM;
    if (s->dw)
        for (size_t i = s->dlo; i <= s->dhi; i++)
            if (s->dw[i])
                hist_add(s, (double)i + DIRECT_LO, s->dw[i]);
    for (size_t i = 0; i < s->hcap; i++)
        if (s->hash[i].used)
            hist_add(s, s->hash[i].key, s->hash[i].w);
    free_table(s);
    s->fallback = 1;
    return CT_OK;
}

static size_t distinct(const struct stats *s)
{
    return s->ndirect + s->hn;
}

/* --- folding chunks --------------------------------------------------------------- */

/* Chan et al.: (W, mean, M2) of two parts into one. */
static void chan(struct stats *s, double W, double mean, double M2)
{
    if (W <= 0)
        return;
    double n = s->W + W, d = mean - s->mean;
    s->mean += d * (W / n);
    s->M2 += M2 + d * d * (s->W * W / n);
    s->W = n;
}

/* The chunk's (W, mean, M2), range, sum and area into s; the values go to the
 * table or the histogram by the caller. */
static void fold_moments(struct stats *s, double Wc, double sum, double M2, double area,
                         double lo, double hi)
{
    kadd(&s->sum, sum);
    kadd(&s->area, area);
    chan(s, Wc, sum / Wc, M2);
    s->min = fmin(s->min, lo);
    s->max = fmax(s->max, hi);
    s->any = 1;
}

/* The common case, a chunk whose valid values are all integers of the direct
 * range (land cover, classes, most DEMs stored as integers): one pass gathers
 * each value's weight and area, and the moments come from those sums (the same
 * quantities as the per-cell passes below, with fewer roundings). 1 when done,
 * 0 when a value is outside the direct range (nothing changed: the caller takes
 * the general path), -1 on CT_ENOMEM. */
static int add_direct(struct stats *s, const double *v, const double *w, const uint8_t *valid,
                      const double *area, double area_const, size_t n)
{
    if (!s->cw) {
        s->cw = calloc(DIRECT_N, sizeof *s->cw);
        s->ca = calloc(DIRECT_N, sizeof *s->ca);
        if (!s->cw || !s->ca) {
            free_scratch(s);
            return -1;
        }
    }
    double *cw = s->cw, *ca = s->ca;
    struct ksum masked = { 0, 0 };
    size_t jlo = DIRECT_N, jhi = 0, i;
    for (i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (!(wi > 0))
            continue;
        double vi = v[i];
        if (!valid[i] || isnan(vi)) {
            kadd(&masked, wi);
            continue;
        }
        double t = vi - DIRECT_LO;
        if (!(t >= 0 && t < DIRECT_N))
            break;
        size_t j = (size_t)t;
        if ((double)j != t)
            break;
        cw[j] += wi;
        if (area)
            ca[j] += wi * area[i];
        jlo = j < jlo ? j : jlo;
        jhi = j > jhi ? j : jhi;
    }
    if (i < n) { /* a value for the general path: leave the scratch zero again */
        if (jlo <= jhi) {
            memset(cw + jlo, 0, (jhi - jlo + 1) * sizeof *cw);
            memset(ca + jlo, 0, (jhi - jlo + 1) * sizeof *ca);
        }
        return 0;
    }
    kadd(&s->masked, kval(&masked));
    if (jlo > jhi)
        return 1; /* no valid cell */
    struct ksum W = { 0, 0 }, sum = { 0, 0 }, A = { 0, 0 }, M2 = { 0, 0 };
    for (size_t j = jlo; j <= jhi; j++)
        if (cw[j] > 0) {
            kadd(&W, cw[j]);
            kadd(&sum, cw[j] * ((double)j + DIRECT_LO));
            kadd(&A, area ? ca[j] : cw[j] * area_const);
        }
    double Wc = kval(&W), mean = kval(&sum) / Wc;
    for (size_t j = jlo; j <= jhi; j++)
        if (cw[j] > 0) {
            double d = (double)j + DIRECT_LO - mean;
            kadd(&M2, cw[j] * d * d);
        }
    fold_moments(s, Wc, kval(&sum), kval(&M2), kval(&A), (double)jlo + DIRECT_LO,
                 (double)jhi + DIRECT_LO);
    int err = s->fallback ? hist_fit(s, s->min, s->max) : CT_OK;
    for (size_t j = jlo; j <= jhi && !err; j++) {
        if (cw[j] > 0) {
            double a = area ? ca[j] : cw[j] * area_const;
            if (s->fallback)
                hist_add(s, (double)j + DIRECT_LO, cw[j]);
            else
                err = table_add(s, (double)j + DIRECT_LO, cw[j], a);
        }
    }
    memset(cw + jlo, 0, (jhi - jlo + 1) * sizeof *cw);
    memset(ca + jlo, 0, (jhi - jlo + 1) * sizeof *ca);
    if (!err && !s->fallback && distinct(s) > (size_t)s->max_unique)
        err = to_fallback(s);
    return err ? -1 : 1;
}

int stats_add(struct stats *s, const double *v, const double *w, const uint8_t *valid,
              const double *area, double area_const, size_t n)
{
    int fast = add_direct(s, v, w, valid, area, area_const, n);
    if (fast)
        return fast > 0 ? CT_OK : CT_ENOMEM;
    struct ksum W = { 0, 0 }, sum = { 0, 0 };
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) { /* pass 1: counts, sums, range */
        double wi = w ? w[i] : 1.0;
        if (wi <= 0)
            continue;
        double ai = wi * (area ? area[i] : area_const);
        if (!valid[i] || isnan(v[i])) {
            kadd(&s->masked, wi);
            continue;
        }
        kadd(&W, wi);
        kadd(&sum, wi * v[i]);
        kadd(&s->area, ai);
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    double Wc = kval(&W);
    if (Wc <= 0)
        return CT_OK;
    double mean = kval(&sum) / Wc;
    struct ksum M2 = { 0, 0 };
    for (size_t i = 0; i < n; i++) { /* pass 2: M2 and the values */
        double wi = w ? w[i] : 1.0;
        if (wi <= 0 || !valid[i] || isnan(v[i]))
            continue;
        double d = v[i] - mean;
        kadd(&M2, wi * d * d);
    }
    kadd(&s->sum, kval(&sum));
    chan(s, Wc, mean, kval(&M2));
    s->min = fmin(s->min, lo);
    s->max = fmax(s->max, hi);
    s->any = 1;
    if (s->fallback && hist_fit(s, s->min, s->max))
        return CT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi <= 0 || !valid[i] || isnan(v[i]))
            continue;
        if (s->fallback) {
            hist_add(s, v[i], wi);
            continue;
        }
        if (table_add(s, v[i], wi, wi * (area ? area[i] : area_const)))
            return CT_ENOMEM;
        if (distinct(s) > (size_t)s->max_unique && to_fallback(s))
            return CT_ENOMEM;
    }
    return CT_OK;
}

int stats_merge(struct stats *into, const struct stats *from)
{
    kadd(&into->masked, kval(&from->masked));
    if (!from->any)
        return CT_OK;
    kadd(&into->sum, kval(&from->sum));
    kadd(&into->area, kval(&from->area));
    chan(into, from->W, from->mean, from->M2);
    into->min = fmin(into->min, from->min);
    into->max = fmax(into->max, from->max);
    into->any = 1;
    if (from->fallback && !into->fallback && to_fallback(into))
        return CT_ENOMEM;
    if (into->fallback) {
        if (hist_fit(into, into->min, into->max))
            return CT_ENOMEM;
        if (from->fallback) {
            for (long long j = 0; j < STATS_FALLBACK_BINS; j++)
                if (from->hist[j]) /* from's bins nest in into's (e and k0 of a wider range) */
                    hist_add(into, ldexp((double)(from->k0 + j), from->e), from->hist[j]);
            return CT_OK;
        }
    }
    if (from->dw)
        for (size_t i = from->dlo; i <= from->dhi; i++)
            if (from->dw[i] || from->da[i]) {
                double v = (double)i + DIRECT_LO;
                if (into->fallback)
                    hist_add(into, v, from->dw[i]);
                else if (table_add(into, v, from->dw[i], from->da[i]))
                    return CT_ENOMEM;
            }
    for (size_t i = 0; i < from->hcap; i++) {
        const struct entry *e = &from->hash[i];
        if (!e->used)
            continue;
        if (into->fallback)
            hist_add(into, e->key, e->w);
        else if (table_add(into, e->key, e->w, e->a))
            return CT_ENOMEM;
    }
    if (!into->fallback && distinct(into) > (size_t)into->max_unique)
        return to_fallback(into);
    return CT_OK;
}

/* --- queries ---------------------------------------------------------------------- */

void stats_moments(const struct stats *s, struct stats_moments *out)
{
    out->count = s->any ? s->W : 0;
    out->masked = kval(&s->masked);
    out->area_m2 = s->any ? kval(&s->area) : 0;
    if (!s->any) {
        out->sum = out->mean = out->std = out->min = out->max = NAN;
        return;
    }
    out->sum = kval(&s->sum);
    out->mean = s->mean;
    out->std = sqrt(fmax(s->M2, 0) / s->W);
    out->min = s->min;
    out->max = s->max;
}

int stats_exact(const struct stats *s)
{
    return !s->fallback;
}

struct valw {
    double v, w, a;
};

static int cmp_valw(const void *a, const void *b)
{
    double x = ((const struct valw *)a)->v, y = ((const struct valw *)b)->v;
    return x < y ? -1 : x > y;
}

/* The table as (value, weight, area) in increasing order; *n entries; NULL
 * (with *n = 0) when empty or out of memory (*oom set). */
static struct valw *sorted(const struct stats *s, size_t *n, int *oom)
{
    size_t k = 0, total = distinct(s);
    *n = 0;
    *oom = 0;
    if (!total)
        return NULL;
    struct valw *a = malloc(total * sizeof *a);
    if (!a) {
        *oom = 1;
        return NULL;
    }
    if (s->dw)
        for (size_t i = s->dlo; i <= s->dhi; i++)
            if (s->dw[i] || s->da[i])
                a[k++] = (struct valw){ (double)i + DIRECT_LO, s->dw[i], s->da[i] };
    for (size_t i = 0; i < s->hcap; i++)
        if (s->hash[i].used)
            a[k++] = (struct valw){ s->hash[i].key, s->hash[i].w, s->hash[i].a };
    qsort(a, k, sizeof *a, cmp_valw);
    *n = k;
    return a;
}

double stats_percentile(const struct stats *s, double p)
{
    if (!s->any || !(p >= 0 && p <= 100))
        return NAN;
    double target = p / 100.0 * s->W, cum = 0;
    if (s->fallback) {
        for (long long j = 0; j < STATS_FALLBACK_BINS; j++) {
            cum += s->hist[j];
            if (s->hist[j] && cum >= target) {
                double mid = ldexp((double)(s->k0 + j) + 0.5, s->e);
                return fmin(fmax(mid, s->min), s->max);
            }
        }
        return s->max;
    }
    size_t n;
    int oom;
    struct valw *a = sorted(s, &n, &oom);
    double r = NAN;
    for (size_t i = 0; i < n; i++) {
        cum += a[i].w;
        if (cum >= target) {
            r = a[i].v;
            break;
        }
    }
    if (isnan(r) && n)
        r = a[n - 1].v; /* rounding left the last sum a hair short */
    free(a);
    return r;
}

int stats_unique(const struct stats *s, size_t *unique, double *majority, double *minority)
{
    if (s->fallback || !s->any)
        return CT_EINVAL;
    size_t n;
    int oom;
    struct valw *a = sorted(s, &n, &oom);
    if (!a)
        return oom ? CT_ENOMEM : CT_EINVAL;
    size_t hi = 0, lo = 0;
    for (size_t i = 1; i < n; i++) { /* increasing values: strict > keeps the smaller on ties */
        if (a[i].w > a[hi].w)
            hi = i;
        if (a[i].w < a[lo].w)
            lo = i;
    }
    *unique = n;
    *majority = a[hi].v;
    *minority = a[lo].v;
    free(a);
    return CT_OK;
}

/* numpy.histogram's bin of v among nbins equal bins over [lo, hi] (edges as
 * numpy.linspace makes them), or -1 outside. */
static long np_bin(double v, int nbins, double lo, double hi)
{
    if (!(v >= lo && v <= hi))
        return -1;
    double step = (hi - lo) / nbins;
    long i = hi > lo ? (long)((v - lo) * (nbins / (hi - lo))) : 0;
    if (i >= nbins)
        i = nbins - 1;
    double e_i = i * step + lo, e_next = i + 1 == nbins ? hi : (i + 1) * step + lo;
    if (v < e_i)
        i--;
    else if (v >= e_next && i != nbins - 1)
        i++;
    return i;
}

int stats_histogram(const struct stats *s, int nbins, double lo, double hi, double *counts)
{
    if (nbins < 1 || !(lo <= hi))
        return CT_EINVAL;
    for (int i = 0; i < nbins; i++)
        counts[i] = 0;
    if (!s->any)
        return CT_OK;
    if (s->fallback) {
        /* each bin's weight spread over [its start, its end) by overlap */
        double width = hi - lo;
        for (long long j = 0; j < STATS_FALLBACK_BINS; j++) {
            if (!s->hist[j])
                continue;
            double b0 = fmax(ldexp((double)(s->k0 + j), s->e), s->min);
            double b1 = fmin(ldexp((double)(s->k0 + j + 1), s->e), s->max);
            if (b1 <= b0) { /* all of it at one value */
                long i = np_bin(b0, nbins, lo, hi);
                if (i >= 0)
                    counts[i] += s->hist[j];
                continue;
            }
            for (int i = 0; i < nbins && width > 0; i++) {
                double e0 = lo + width * i / nbins, e1 = lo + width * (i + 1) / nbins;
                double ov = fmin(b1, e1) - fmax(b0, e0);
                if (ov > 0)
                    counts[i] += s->hist[j] * ov / (b1 - b0);
            }
        }
        return CT_OK;
    }
    size_t n;
    int oom;
    struct valw *a = sorted(s, &n, &oom);
    if (oom)
        return CT_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        long i = np_bin(a[k].v, nbins, lo, hi);
        if (i >= 0)
            counts[i] += a[k].w;
    }
    free(a);
    return CT_OK;
}

int stats_category(const struct stats *s, double v, double *weight, double *area_m2)
{
    if (s->fallback)
        return CT_EINVAL;
    size_t i;
    *weight = *area_m2 = 0;
    if (direct_index(v, &i)) {
        if (s->dw) {
            *weight = s->dw[i];
            *area_m2 = s->da[i];
        }
    } else if (s->hcap) {
        const struct entry *e = hash_slot(s->hash, s->hcap, v);
        if (e->used) {
            *weight = e->w;
            *area_m2 = e->a;
        }
    }
    return CT_OK;
}

int stats_each(const struct stats *s, void (*fn)(void *ctx, double v, double w, double area),
               void *ctx)
{
    if (s->fallback)
        return CT_EINVAL;
    size_t n;
    int oom;
    struct valw *a = sorted(s, &n, &oom);
    if (oom)
        return CT_ENOMEM;
    for (size_t i = 0; i < n; i++)
        fn(ctx, a[i].v, a[i].w, a[i].a);
    free(a);
    return CT_OK;
}

/* --- packing ---------------------------------------------------------------------- */

/* "CTS1", max_unique, fallback, any (u32 each), then W mean M2 min max and the
 * (s, c) of masked, sum and area (f64), then either e (i32) k0 (i64) and the
 * nonzero bins as (u32 index, f64 weight), or the table as (value, weight,
 * area) triples; each list after its u64 length. Little-endian. */
#define PACK_MAGIC 0x31535443u /* "CTS1" */

/* The bytes of x (n <= 8) in little-endian order, appended to b. */
static void put(struct buf *b, const void *x, size_t n)
{
    const unsigned char *s = x;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    unsigned char le[8];
    for (size_t i = 0; i < n; i++)
        le[i] = s[n - 1 - i];
    s = le;
#endif
    buf_add(b, s, n);
}

static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void put_f64(struct buf *b, double v) { put(b, &v, 8); }

struct rbuf {
    const unsigned char *p;
    size_t n, at;
    int bad;
};

static void get(struct rbuf *b, void *x, size_t n)
{
    if (b->bad || b->n - b->at < n) {
        b->bad = 1;
        memset(x, 0, n);
        return;
    }
    unsigned char *d = x;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++)
        d[i] = b->p[b->at + n - 1 - i];
#else
    memcpy(d, b->p + b->at, n);
#endif
    b->at += n;
}

static uint32_t get_u32(struct rbuf *b) { uint32_t v; get(b, &v, 4); return v; }
static uint64_t get_u64(struct rbuf *b) { uint64_t v; get(b, &v, 8); return v; }
static double get_f64(struct rbuf *b) { double v; get(b, &v, 8); return v; }

static void put_entry(struct buf *b, double v, double w, double a)
{
    put_f64(b, v);
    put_f64(b, w);
    put_f64(b, a);
}

int stats_pack(const struct stats *s, unsigned char **out, size_t *len)
{
    struct buf b = { 0 };
    put_u32(&b, PACK_MAGIC);
    put_u32(&b, (uint32_t)s->max_unique);
    put_u32(&b, (uint32_t)s->fallback);
    put_u32(&b, (uint32_t)s->any);
    const double f[] = { s->W, s->mean, s->M2, s->min, s->max, s->masked.s, s->masked.c,
                         s->sum.s, s->sum.c, s->area.s, s->area.c };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        put_f64(&b, f[i]);
    if (s->fallback) {
        uint64_t nz = 0;
        for (size_t j = 0; j < STATS_FALLBACK_BINS; j++)
            nz += s->hist[j] != 0;
        put_u32(&b, (uint32_t)s->e);
        put_u64(&b, (uint64_t)s->k0);
        put_u64(&b, nz);
        for (uint32_t j = 0; j < STATS_FALLBACK_BINS; j++)
            if (s->hist[j]) {
                put_u32(&b, j);
                put_f64(&b, s->hist[j]);
            }
    } else {
        put_u64(&b, (uint64_t)distinct(s));
        if (s->dw)
            for (size_t i = s->dlo; i <= s->dhi; i++)
                if (s->dw[i] || s->da[i])
                    put_entry(&b, (double)i + DIRECT_LO, s->dw[i], s->da[i]);
        for (size_t i = 0; i < s->hcap; i++)
            if (s->hash[i].used)
                put_entry(&b, s->hash[i].key, s->hash[i].w, s->hash[i].a);
    }
    if (b.oom) {
        buf_free(&b);
        return CT_ENOMEM;
    }
    *out = (unsigned char *)b.p;
    *len = b.n;
    return CT_OK;
}

int stats_unpack(const unsigned char *buf, size_t len, struct stats **out)
{
    struct rbuf b = { buf, len, 0, 0 };
    struct stats *s = NULL;
    if (get_u32(&b) != PACK_MAGIC)
        return CT_EINVAL;
    uint32_t max_unique = get_u32(&b), fallback = get_u32(&b), any = get_u32(&b);
    if (b.bad || max_unique < 1 || max_unique > INT32_MAX || fallback > 1 || any > 1)
        return CT_EINVAL;
    int err = stats_new((int)max_unique, &s);
    if (err)
        return err;
    s->W = get_f64(&b);
    s->mean = get_f64(&b);
    s->M2 = get_f64(&b);
    s->min = get_f64(&b);
    s->max = get_f64(&b);
    s->masked.s = get_f64(&b);
    s->masked.c = get_f64(&b);
    s->sum.s = get_f64(&b);
    s->sum.c = get_f64(&b);
    s->area.s = get_f64(&b);
    s->area.c = get_f64(&b);
    s->any = (int)any;
    /* every number finite, the moments of some weight, the range ordered */
    const double f[] = { s->W, s->mean, s->M2, s->min, s->max, s->masked.s, s->masked.c,
                         s->sum.s, s->sum.c, s->area.s, s->area.c };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (!isfinite(f[i]) && (i >= 5 || any))
            b.bad = 1;
    if (any && !(s->min <= s->max && s->W > 0 && s->M2 >= 0))
        b.bad = 1;
    if (fallback) {
        s->fallback = 1;
        s->e = (int32_t)get_u32(&b);
        s->k0 = (long long)get_u64(&b);
        uint64_t nz = get_u64(&b);
        /* the bins as hist_fit() leaves them: e the range's own (so that they
         * nest in the bins of any wider range a merge makes), k0 the bin of
         * min, every weight in [bin(min), bin(max)] */
        long long kmax = 0;
        if (!b.bad && (!any || s->e < -1100 || s->e > 1100 || s->e != e_for(s->min, s->max) ||
                       nz > STATS_FALLBACK_BINS))
            b.bad = 1;
        if (!b.bad) {
            kmax = bin_of(s->max, s->e) - s->k0;
            if (s->k0 != bin_of(s->min, s->e) || kmax < 0 || kmax >= STATS_FALLBACK_BINS)
                b.bad = 1;
        }
        if (!b.bad && !(s->hist = calloc(STATS_FALLBACK_BINS, sizeof *s->hist)))
            err = CT_ENOMEM;
        for (uint64_t i = 0; !err && !b.bad && i < nz; i++) {
            uint32_t j = get_u32(&b);
            double w = get_f64(&b);
            if (j > kmax || !(w > 0) || !isfinite(w) || s->hist[j])
                b.bad = 1;
            else
                s->hist[j] = w;
        }
    } else {
        uint64_t n = get_u64(&b);
        if (n > max_unique || n > (b.n - b.at) / 24)
            b.bad = 1;
        for (uint64_t i = 0; !err && !b.bad && i < n; i++) {
            double v = get_f64(&b), w = get_f64(&b), a = get_f64(&b);
            if (!isfinite(v) || !(w >= 0) || !isfinite(w) || !isfinite(a) || v < s->min ||
                v > s->max)
                b.bad = 1;
            else if ((err = table_add(s, v, w, a)) == CT_OK && distinct(s) != i + 1)
                b.bad = 1; /* a value twice, or of no weight and no area */
        }
    }
    if (!err && (b.bad || b.at != b.n))
        err = CT_EINVAL;
    if (err) {
        stats_free(s);
        return err;
    }
    *out = s;
    return CT_OK;
}
