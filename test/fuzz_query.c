/* fuzz_query.c - libFuzzer target for the query-value parsers (params.h:
 * rescale, bidx, nodata, resampling), the lexical rules (parse.h), the
 * route module's paths, and a whole query string (split and percent-decoded
 * as the transports do) through params_tile() and params_check(): any
 * bytes, NUL-terminated, through each; invariants they promise are checked
 * with abort(). Without -DCOGTILER_LIBFUZZER, a plain main() replays saved
 * inputs (test/query-corpus/ and test/fuzz/crashers/query/). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http.h"
#include "params.h"
#include "parse.h"
#include "route.h"
#include "tilemath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    double a, b;
    if (params_range(s, &a, &b) == CT_OK && !(isfinite(a) && isfinite(b) && a < b))
        abort();
    int bands[3], n = 0;
    if (params_bidx(s, bands, &n) == CT_OK) {
        if (n != 1 && n != 3)
            abort();
        for (int i = 0; i < n; i++)
            if (bands[i] < 1 || bands[i] > 65535)
                abort();
    }
    double v;
    if (params_number(s, &v) == CT_OK && isinf(v))
        abort();
    const char *rs = parse_resampling(s);
    if (rs && strlen(rs) > 16)
        abort();
    uint64_t u;
    if (parse_u64(s, strlen(s), &u) == CT_OK && strlen(s) > 15)
        abort();
    struct route rt;
    /* paths: the raw bytes (with any NULs) as a length-delimited view */
    if (route_parse((const char *)data, size, &rt) == CT_OK && rt.kind == ROUTE_TILE) {
        if (rt.layer.n < 1 || rt.layer.n > PARSE_MAX_LAYER || tilemath_check(rt.z, rt.x, rt.y))
            abort();
        if (rt.scale != 1 && rt.scale != 2)
            abort();
    }
    /* the bytes as a query string: k=v&k=v, decoded like a transport does */
    struct kv pairs[HTTP_MAX_PAIRS];
    size_t np = 0;
    for (char *q = s; q && *q && np < HTTP_MAX_PAIRS;) {
        char *amp = strchr(q, '&'), *next = amp ? amp + 1 : NULL;
        if (amp)
            *amp = '\0';
        char *eq = strchr(q, '='), *val = eq ? eq + 1 : q + strlen(q);
        if (eq)
            *eq = '\0';
        http_pct_decode(q, 1, NULL);
        http_pct_decode(val, 1, NULL);
        pairs[np++] = (struct kv){ q, val };
        q = next;
    }
    struct request req = { .method = "GET", .path = "/", .query = pairs, .nquery = np };
    static const struct layer_conf dem = { .name = "dem", .colormap = "viridis",
                                           .has_rescale = 1, .rescale_min = 0,
                                           .rescale_max = 1 };
    struct tile_params p;
    char msg[256];
    for (int scale = 1; scale <= 2; scale++) {
        msg[0] = '\0';
        int err = params_tile(&req, scale == 2 ? &dem : NULL, scale, &p, msg, sizeof msg);
        if (err && (err != CT_EINVAL || !msg[0]))
            abort();
        if (err)
            continue;
        if ((p.size != 256 && p.size != 512) || p.nrescale < 0 || p.nrescale > 3 ||
            (p.nbands != 0 && p.nbands != 1 && p.nbands != 3) ||
            p.algorithm < ALGO_NONE || p.algorithm > ALGO_TERRARIUM)
            abort();
        for (int i = 0; i < p.nrescale; i++)
            if (!(p.rmin[i] < p.rmax[i]) || !isfinite(p.rmin[i]) || !isfinite(p.rmax[i]))
                abort();
        for (int i = 0; i < p.nbands; i++)
            if (p.bands[i] < 1 || p.bands[i] > 65535)
                abort();
        struct raster_info in = { .nbands = 3 };
        int c = params_check(&p, &in, msg, sizeof msg);
        if (c && c != CT_EINVAL)
            abort();
    }
    /* weights= and remap= of a derived layer's overlay (docs/OVERLAY.md) */
    static struct derived overlay = {
        .ninputs = 2,
        .in = { { .name = "cover", .weight = 60 }, { .name = "slope", .weight = 40 } },
        .scale_min = 1,
        .scale_max = 9,
    };
    static const struct layer_conf derived = { .name = "priority", .derived = &overlay };
    static struct derive_params dp; /* 8 KB: off the fuzzer's stack */
    msg[0] = '\0';
    int err = params_derive(&req, &derived, &dp, msg, sizeof msg);
    if (err && (err != CT_EINVAL || !msg[0]))
        abort();
    if (!err) {
        double sum = 0;
        for (int i = 0; dp.has_weights && i < 2; i++) {
            if (!(dp.weights[i] >= 0 && dp.weights[i] <= 100))
                abort();
            sum += dp.weights[i];
        }
        if (dp.has_weights && fabs(sum - 100) > 1e-9)
            abort();
        if (dp.remapped & ~3u)
            abort();
        for (int i = 0; i < 2; i++)
            for (int k = 0; (dp.remapped & (1u << i)) && k < dp.remap[i].n; k++) {
                const struct remap_rule *r = &dp.remap[i].r[k];
                if (dp.remap[i].n > OVERLAY_MAX_RULES || (r->is_range && !(r->lo < r->hi)) ||
                    (r->kind == REMAP_VALUE && !(r->to >= 1 && r->to <= 9)))
                    abort();
            }
    }
    free(s);
    return 0;
}

#ifndef COGTILER_LIBFUZZER
#include "fuzz_replay.h"

int main(int argc, char **argv)
{
    return fuzz_replay_main("fuzz_query", argc, argv);
}
#endif
