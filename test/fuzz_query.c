/* fuzz_query.c - libFuzzer target for the query-value parsers (params.h:
 * rescale, bidx, nodata, resampling), the lexical rules (parse.h) and the
 * route module's paths: any
 * bytes, NUL-terminated, through each; invariants they promise are checked
 * with abort(). Without -DCOGTILER_LIBFUZZER, a plain main() replays saved
 * inputs (test/query-corpus/ and test/fuzz/crashers/query/). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
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
    const char *rs = params_resampling(s);
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
