#include "overlay.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "parse.h"

/* Parses one rule s[0..n) ("FROM:TO"). */
static int rule_parse(const char *s, size_t n, double smin, double smax, struct remap_rule *r)
{
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return CT_EINVAL;
    size_t fn = (size_t)(colon - s), tn = n - fn - 1;
    const char *to = colon + 1;
    memset(r, 0, sizeof *r);
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < fn; i++)
        if (s[i] == '.' && s[i + 1] == '.') {
            dots = s + i;
            break;
        }
    if (dots) {
        r->is_range = 1;
        if (parse_decimal(s, (size_t)(dots - s), &r->lo) ||
            parse_decimal(dots + 2, fn - (size_t)(dots - s) - 2, &r->hi) || !(r->lo < r->hi))
            return CT_EINVAL;
    } else if (parse_decimal(s, fn, &r->lo)) {
        return CT_EINVAL;
    }
    if (tn == 10 && !memcmp(to, "restricted", 10)) {
        r->kind = REMAP_RESTRICTED;
    } else if (tn == 6 && !memcmp(to, "nodata", 6)) {
        r->kind = REMAP_NODATA;
    } else {
        r->kind = REMAP_VALUE;
        if (parse_decimal(to, tn, &r->to) || r->to < smin || r->to > smax)
            return CT_EINVAL;
    }
    return CT_OK;
}

int overlay_remap_parse(const char *s, size_t n, double smin, double smax, struct remap *out,
                        char *msg, size_t msgcap)
{
    struct remap m = { 0 };
    size_t i = 0;
    if (n == 0) {
        snprintf(msg, msgcap, "remap: no rules (expected FROM:TO,...)");
        return CT_EINVAL;
    }
    while (i <= n) {
        const char *p = s + i;
        const char *comma = memchr(p, ',', n - i);
        size_t len = comma ? (size_t)(comma - p) : n - i;
        if (m.n == OVERLAY_MAX_RULES) {
            snprintf(msg, msgcap, "remap: more than %d rules", OVERLAY_MAX_RULES);
            return CT_EINVAL;
        }
        if (rule_parse(p, len, smin, smax, &m.r[m.n])) {
            snprintf(msg, msgcap,
                     "remap: rule %d \"%.*s\": expected VALUE:TO or LO..HI:TO (LO < HI), TO a "
                     "number in %g..%g, restricted or nodata",
                     m.n + 1, (int)(len > 40 ? 40 : len), p, smin, smax);
            return CT_EINVAL;
        }
        m.n++;
        if (!comma)
            break;
        i += len + 1;
    }
    *out = m;
    return CT_OK;
}

enum remap_kind overlay_remap(const struct remap *m, double v, double *to)
{
    for (int i = 0; i < m->n; i++) {
        const struct remap_rule *r = &m->r[i];
        if (r->is_range ? v >= r->lo && v < r->hi : v == r->lo) {
            *to = r->to;
            return r->kind;
        }
    }
    return REMAP_NODATA;
}

int overlay_weights_check(const double *w, int n, char *msg, size_t msgcap)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (!(w[i] >= 0 && w[i] <= 100)) {
            snprintf(msg, msgcap, "weights: each weight is a percentage, 0..100");
            return CT_EINVAL;
        }
        sum += w[i];
    }
    if (fabs(sum - 100) > 1e-9) {
        snprintf(msg, msgcap, "weights: they must sum to 100 (they sum to %g)", sum);
        return CT_EINVAL;
    }
    return CT_OK;
}

int overlay_weights_parse(const char *s, size_t len, int n, double *w, char *msg,
                          size_t msgcap)
{
    double v[OVERLAY_MAX_INPUTS];
    int k = 0;
    size_t i = 0;
    while (i <= len) {
        const char *comma = memchr(s + i, ',', len - i);
        size_t l = comma ? (size_t)(comma - (s + i)) : len - i;
        if (k == n || k == OVERLAY_MAX_INPUTS) {
            snprintf(msg, msgcap, "weights: expected %d weights, one per input", n);
            return CT_EINVAL;
        }
        if (parse_decimal(s + i, l, &v[k])) {
            snprintf(msg, msgcap, "weights: weight %d is not a number", k + 1);
            return CT_EINVAL;
        }
        k++;
        if (!comma)
            break;
        i += l + 1;
    }
    if (k != n) {
        snprintf(msg, msgcap, "weights: expected %d weights, one per input", n);
        return CT_EINVAL;
    }
    if (overlay_weights_check(v, n, msg, msgcap))
        return CT_EINVAL;
    memcpy(w, v, sizeof *w * (size_t)n);
    return CT_OK;
}

int overlay_round_parse(const char *s, enum overlay_round *out)
{
    if (!s)
        return CT_EINVAL;
    if (!strcmp(s, "nearest"))
        *out = OVERLAY_NEAREST;
    else if (!strcmp(s, "floor"))
        *out = OVERLAY_FLOOR;
    else if (!strcmp(s, "ceil"))
        *out = OVERLAY_CEIL;
    else
        return CT_EINVAL;
    return CT_OK;
}

void overlay_remap_lut(const struct remap *m, unsigned char kind[256], double to[256])
{
    for (int v = 0; v < 256; v++) {
        to[v] = 0;
        kind[v] = (unsigned char)overlay_remap(m, v, &to[v]);
    }
}

enum overlay_cell overlay_cell(int n, const double *v, const unsigned char *valid,
                               const struct remap *const *remaps, const double *w,
                               enum overlay_round round, double smin, double smax,
                               double *score)
{
    unsigned char kind[OVERLAY_MAX_INPUTS];
    double to[OVERLAY_MAX_INPUTS];
    if (n > OVERLAY_MAX_INPUTS)
        return OVERLAY_NODATA;
    for (int i = 0; i < n; i++) {
        to[i] = 0;
        kind[i] = valid[i] ? (unsigned char)overlay_remap(remaps[i], v[i], &to[i])
                           : (unsigned char)REMAP_NODATA;
    }
    return overlay_combine(n, kind, to, w, round, smin, smax, score);
}
