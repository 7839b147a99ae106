/* fuzz_replay.h - the plain main() of the fuzz targets: without libFuzzer, a
 * target replays saved inputs (seeds and kept crashers) as regression tests. */
#ifndef COGTILER_FUZZ_REPLAY_H
#define COGTILER_FUZZ_REPLAY_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

static int replay_file(const char *name, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open %s\n", name, path);
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

/* Replays every file named, and every regular file of every folder named,
 * through LLVMFuzzerTestOneInput. Returns 0, or 1 when one could not be read. */
static int fuzz_replay_main(const char *name, int argc, char **argv)
{
    int files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: no such file or directory: %s\n", name, argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += replay_file(name, argv[i]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "%s: cannot read directory %s\n", name, argv[i]);
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
            failed += replay_file(name, path) != 0;
            files++;
        }
        closedir(d);
    }
    printf("%s: replayed %d file(s), %d unreadable\n", name, files, failed);
    return failed ? 1 : 0;
}

#endif
