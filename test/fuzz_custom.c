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
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_custom: cannot open %s\n", path);
        return -1;
    }
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    /* an exact-size copy, so ASan sees a read past the end of the input */
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    if (n)
        memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_custom: no such file or directory: %s\n", argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += replay_file(argv[i]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "fuzz_custom: cannot read directory %s\n", argv[i]);
            failed++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            char path[4096];
            if (e->d_name[0] == '.' ||
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name) >= (int)sizeof path ||
                stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            failed += replay_file(path) != 0;
            files++;
        }
        closedir(d);
    }
    printf("fuzz_custom: replayed %d file(s), %d unreadable\n", files, failed);
    return failed ? 1 : 0;
}
#endif
