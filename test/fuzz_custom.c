/* fuzz_custom.c - libFuzzer target for custom_parse: any bytes as the JSON of
 * a colormap= parameter; what parses goes on to custom_lookup at every entry's
 * edges and at a few awkward values. Invariants the module promises are
 * checked with abort(), so a broken one counts as a crash.
 *
 * With -DCOGTILER_LIBFUZZER it is linked against libFuzzer
 * (-fsanitize=fuzzer); without, a plain main() replays every file of the
 * directories (or the files) given as arguments, so saved crashers run as
 * regression tests with any compiler. Seed corpus: test/custom-corpus/. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "custom.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_lookup(const struct custom_cmap *c, double v)
{
    uint8_t rgba[4] = { 1, 2, 3, 4 };
    int hit = custom_lookup(c, v, rgba);
    if (hit != 0 && hit != 1)
        abort();
    if (!hit) {
        if (memcmp(rgba, (uint8_t[]){ 1, 2, 3, 4 }, 4) != 0)
            abort();
        return;
    }
    if (isnan(v))
        abort();
    /* the answer is the entry that covers v, found by a linear scan */
    int found = -1;
    for (int k = 0; k < c->n; k++)
        if (c->intervals ? (c->e[k].lo <= v && v < c->e[k].hi) : c->e[k].lo == v) {
            if (found >= 0)
                abort(); /* two entries cover v: duplicates or an overlap got through */
            found = k;
        }
    if (found < 0 || memcmp(rgba, c->e[found].rgba, 4) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct custom_cmap c;
    char msg[128];
    memset(msg, 0x7f, sizeof msg);
    int err = custom_parse((const char *)data, size, &c, msg, sizeof msg);
    if (err != CT_OK) {
        if (err != CT_EINVAL || c.n != 0 || !memchr(msg, '\0', sizeof msg) || !msg[0])
            abort();
        for (const char *p = msg; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                abort();
        return 0;
    }
    if (c.n < 1 || c.n > CUSTOM_MAX_ENTRIES || (c.intervals != 0 && c.intervals != 1))
        abort();
    for (int k = 0; k < c.n; k++) {
        const struct custom_entry *e = &c.e[k];
        if (!isfinite(e->lo) || !isfinite(e->hi) ||
            (c.intervals ? !(e->lo < e->hi) : e->lo != e->hi))
            abort();
        if (k && (c.intervals ? c.e[k - 1].hi > e->lo : !(c.e[k - 1].lo < e->lo)))
            abort(); /* not sorted, or overlapping */
        check_lookup(&c, e->lo);
        check_lookup(&c, e->hi);
        check_lookup(&c, nextafter(e->lo, -INFINITY));
        check_lookup(&c, nextafter(e->hi, INFINITY));
        check_lookup(&c, (e->lo + e->hi) / 2);
    }
    static const double odd[] = { 0.0, -0.0, 1.0, -1.0, 0.5, 255, -9999, 1e308, -1e308,
                                  5e-324, NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        check_lookup(&c, odd[i]);
    return 0;
}

#ifndef COGTILER_LIBFUZZER
#include "fuzz_replay.h"

int main(int argc, char **argv)
{
    return fuzz_replay_main("fuzz_custom", argc, argv);
}
#endif
