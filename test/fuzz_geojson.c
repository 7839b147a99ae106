/* fuzz_geojson.c - libFuzzer target for the statistics body reader (geojson.h):
 * any bytes through gj_parse(); what it accepts must keep its promises (rings
 * closed, at least 4 finite positions within longitude/latitude bounds, edges
 * under 180 degrees, at most GJ_MAX_FEATURES features), and the answer built
 * back must be JSON. Refusals must name a reason. Without -DCOGTILER_LIBFUZZER
 * a plain main() replays saved inputs (test/geojson-corpus/ and
 * test/fuzz/crashers/geojson/). */
#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "geojson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gj_zones *z = NULL;
    char msg[256] = "";
    int err = gj_parse((const char *)data, size, &z, msg, sizeof msg);
    if (err) {
        if (z || (err != CT_EINVAL && err != CT_ENOMEM) || !msg[0])
            abort();
        return 0;
    }
    if (gj_count(z) < 1 || gj_count(z) > GJ_MAX_FEATURES)
        abort();
    for (size_t i = 0; i < gj_count(z); i++) {
        const struct gj_feature *f = gj_feature(z, i);
        if (f->npolys < 1)
            abort();
        for (size_t p = 0; p < f->npolys; p++) {
            if (f->polys[p].nrings < 1)
                abort();
            for (size_t r = 0; r < f->polys[p].nrings; r++) {
                const struct ring *g = &f->polys[p].rings[r];
                if (g->n < 4 || g->xy[0] != g->xy[2 * g->n - 2] || g->xy[1] != g->xy[2 * g->n - 1])
                    abort();
                for (size_t k = 0; k < g->n; k++) {
                    double x = g->xy[2 * k], y = g->xy[2 * k + 1];
                    if (!isfinite(x) || !isfinite(y) || fabs(x) > 180 || fabs(y) > 90 ||
                        (k && fabs(x - g->xy[2 * k - 2]) > 180))
                        abort();
                }
            }
        }
        cJSON *s = cJSON_CreateObject();
        if (gj_set_statistics(z, i, s) != CT_OK)
            break; /* out of memory */
    }
    char *out = gj_print(z);
    if (out) {
        cJSON *o = cJSON_Parse(out);
        if (!o)
            abort();
        cJSON_Delete(o);
        free(out);
    }
    gj_free(z);
    return 0;
}

#ifndef COGTILER_LIBFUZZER
#include "fuzz_replay.h"

int main(int argc, char **argv)
{
    return fuzz_replay_main("fuzz_geojson", argc, argv);
}
#endif
