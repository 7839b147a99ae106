/* stats.h - the statistics of one band over one zone (docs/ZONAL.md) as a
 * mergeable accumulator, libvips' start / scan / stop: stats_new() starts one,
 * stats_add() folds a chunk of cells into it, stats_merge() folds another
 * accumulator in, and the stats_*() queries finish. Any grouping and order of
 * chunks gives the same answer (to rounding of floating sums). Pure C. */
#ifndef COGTILER_STATS_H
#define COGTILER_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Bins of the histogram that replaces the value table past max_unique. */
#define STATS_FALLBACK_BINS 8192

struct stats;

/* Starts an empty accumulator that counts values exactly while there are at
 * most max_unique distinct ones (then falls back to a histogram). 0 and *out
 * (free with stats_free), or CT_ENOMEM / CT_EINVAL. */
int stats_new(int max_unique, struct stats **out);

/* NULL-safe. */
void stats_free(struct stats *s);

/* One chunk of n cells: values v[i], weights w[i] (NULL: every weight 1; a
 * cell of weight 0 is not in the zone), valid[i] (0: masked), and each cell's
 * area in square metres area[i] (NULL: every cell area_const). 0, or
 * CT_ENOMEM (s is then unusable). */
int stats_add(struct stats *s, const double *v, const double *w, const uint8_t *valid,
              const double *area, double area_const, size_t n);

/* Folds from into into (from is unchanged). 0 or CT_ENOMEM. */
int stats_merge(struct stats *into, const struct stats *from);

/* The whole state of s as bytes (a fan-out part's answer, fanout.h): *out
 * (free with free()) of *len bytes, the same on every machine (little-endian
 * IEEE doubles), or CT_ENOMEM. */
int stats_pack(const struct stats *s, unsigned char **out, size_t *len);

/* An accumulator from stats_pack's bytes, equal to the one packed (merging
 * it gives what merging the original gives). 0 and *out, CT_EINVAL when buf
 * is not such bytes (checked: a part's answer is read, not trusted), or
 * CT_ENOMEM. */
int stats_unpack(const unsigned char *buf, size_t len, struct stats **out);

/* The moments: counts are sums of weights; the others are NaN without a valid cell. */
struct stats_moments {
    double count, masked, sum, mean, std, min, max, area_m2;
};
void stats_moments(const struct stats *s, struct stats_moments *out);

/* True while every value is counted exactly (the value table), false after
 * the fallback to the histogram. */
int stats_exact(const struct stats *s);

/* The inverted-CDF percentile p (0..100) of the valid values: exact with the
 * table; from the histogram otherwise (the middle of the bin where the CDF
 * crosses, clamped to [min, max]). NaN without a valid cell. */
double stats_percentile(const struct stats *s, double p);

/* Distinct values, and the values of largest and smallest total weight (ties:
 * the smaller value). 0, or CT_EINVAL after the fallback or without values. */
int stats_unique(const struct stats *s, size_t *unique, double *majority, double *minority);

/* nbins equal bins over [lo, hi] (numpy.histogram: the last bin closed);
 * counts are sums of weights. From the histogram after the fallback, by the
 * overlap of its bins. 0, or CT_EINVAL (nbins < 1, !(lo <= hi)). */
int stats_histogram(const struct stats *s, int nbins, double lo, double hi, double *counts);

/* The weight and the area of the cells whose value is exactly v (0, 0 when
 * none). CT_EINVAL after the fallback. */
int stats_category(const struct stats *s, double v, double *weight, double *area_m2);

/* Calls fn for every distinct value in increasing order, with its weight and
 * area. CT_EINVAL after the fallback. */
int stats_each(const struct stats *s, void (*fn)(void *ctx, double v, double w, double area),
               void *ctx);

#endif
