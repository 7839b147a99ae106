/* overlay.h - the weighted overlay of docs/OVERLAY.md (ArcGIS Spatial
 * Analyst's Weighted Overlay): each input's values remapped to a common
 * evaluation scale, multiplied by its percent influence, summed and rounded;
 * "restricted" and "nodata" remap targets handled explicitly. Pure: the
 * parsers read [s, s + n) only and allocate nothing. */
#ifndef COGTILER_OVERLAY_H
#define COGTILER_OVERLAY_H

#include <math.h>
#include <stddef.h>

#define OVERLAY_MAX_INPUTS 8
#define OVERLAY_MAX_RULES 32

enum remap_kind { REMAP_VALUE = 0, REMAP_RESTRICTED, REMAP_NODATA };

/* One rule: the value lo exactly (is_range 0), or [lo, hi) (is_range 1). */
struct remap_rule {
    int is_range;
    double lo, hi;
    enum remap_kind kind;
    double to; /* REMAP_VALUE only */
};

/* The first rule that matches a value decides; a value no rule matches is NoData. */
struct remap {
    int n;
    struct remap_rule r[OVERLAY_MAX_RULES];
};

/* "FROM:TO,FROM:TO,..." where FROM is a number or LO..HI (LO < HI: the range
 * [LO, HI)) and TO a number on the scale [smin, smax], "restricted" or
 * "nodata"; 1..OVERLAY_MAX_RULES rules. 0, or CT_EINVAL with msg naming the
 * rule. */
int overlay_remap_parse(const char *s, size_t n, double smin, double smax, struct remap *out,
                        char *msg, size_t msgcap);

/* The remap of v: REMAP_VALUE with *to, REMAP_RESTRICTED or REMAP_NODATA. */
enum remap_kind overlay_remap(const struct remap *m, double v, double *to);

/* "W1,W2,...": exactly n finite weights, each 0..100, summing to 100 (within
 * 1e-9). 0, or CT_EINVAL with msg. */
int overlay_weights_parse(const char *s, size_t len, int n, double *w, char *msg,
                          size_t msgcap);

/* The same check for weights given as numbers (the configuration). */
int overlay_weights_check(const double *w, int n, char *msg, size_t msgcap);

enum overlay_round { OVERLAY_NEAREST = 0, OVERLAY_FLOOR, OVERLAY_CEIL };

/* "nearest" (half up: floor(s + 0.5)), "floor" or "ceil". 0 or CT_EINVAL. */
int overlay_round_parse(const char *s, enum overlay_round *out);

/* What a cell of the overlay is. */
enum overlay_cell { OVERLAY_NODATA = 0, OVERLAY_SCORE, OVERLAY_RESTRICTED };

/* The remap of every whole value 0..255 (a Byte input's), in kind[] and to[]:
 * a lookup instead of a search per cell. */
void overlay_remap_lut(const struct remap *m, unsigned char kind[256], double to[256]);

/* The rule of a cell from its inputs' remaps (kind[i], and to[i] where
 * REMAP_VALUE): NoData when any is REMAP_NODATA; else restricted when any is
 * REMAP_RESTRICTED; else the score round(sum(w[i] * to[i]) / 100), clamped
 * to [smin, smax], in *score. Inline: it runs once per cell of a tile. */
static inline enum overlay_cell overlay_combine(int n, const unsigned char *kind,
                                                const double *to, const double *w,
                                                enum overlay_round round, double smin,
                                                double smax, double *score)
{
    double sum = 0;
    int restricted = 0;
    for (int i = 0; i < n; i++) {
        if (kind[i] == REMAP_NODATA)
            return OVERLAY_NODATA;
        if (kind[i] == REMAP_RESTRICTED)
            restricted = 1;
        else
            sum += w[i] * to[i];
    }
    if (restricted)
        return OVERLAY_RESTRICTED;
    double s = sum / 100;
    s = round == OVERLAY_FLOOR ? floor(s) : round == OVERLAY_CEIL ? ceil(s) : floor(s + 0.5);
    *score = s < smin ? smin : s > smax ? smax : s;
    return OVERLAY_SCORE;
}

/* The overlay of n inputs at one cell: v[i] the input values, valid[i] 0 for
 * an input's NoData (which counts as REMAP_NODATA); each remapped, then
 * overlay_combine(). */
enum overlay_cell overlay_cell(int n, const double *v, const unsigned char *valid,
                               const struct remap *const *remaps, const double *w,
                               enum overlay_round round, double smin, double smax,
                               double *score);

#endif
