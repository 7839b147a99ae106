/* bench_proc.c - timing whole processes (--time) and comparing their tile
 * images (--check) for bench/run.sh. See bench.h for the contracts. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

int bench_time_main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: bench_tiles --time STATS -- CMD [ARG...] [-- CMD [ARG...]]...\n");
        return 2;
    }
    double cpu = 0.0;
    long rss = 0;
    int status = 0;
    /* fork, not posix_spawn: glibc's posix_spawn shares this process's memory
     * until exec (CLONE_VM), and the kernel then counts this process's peak RSS
     * (libgdal's pages) in the child's ru_maxrss. A forked child starts with
     * only the anonymous pages it copied, well below any measured tool. */
    double t0 = bench_now_ms();
    for (int i = 3; i < argc && status == 0;) {
        int j = i;
        while (j < argc && strcmp(argv[j], "--") != 0)
            j++;
        if (j == i) {
            fprintf(stderr, "bench_tiles --time: empty command\n");
            return 2;
        }
        argv[j] = NULL; /* argv[argc] is NULL already */
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("bench_tiles --time: fork");
            return 2;
        }
        if (pid == 0) {
            execvp(argv[i], argv + i);
            fprintf(stderr, "bench_tiles --time: cannot run %s: %s\n", argv[i], strerror(errno));
            _exit(127);
        }
        int st;
        struct rusage ru;
        while (wait4(pid, &st, 0, &ru) < 0) {
            if (errno != EINTR) {
                perror("bench_tiles --time: wait4");
                return 2;
            }
        }
        cpu += tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
        if (ru.ru_maxrss > rss)
            rss = ru.ru_maxrss;
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        i = j + 1;
    }
    double wall = bench_now_ms() - t0;

    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%.3f %.3f %ld %d\n", wall, cpu, rss, status) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_tiles --time: cannot write %s\n", argv[1]);
        return 2;
    }
    return status;
}

/* Reads a whole file into malloc'd memory; NULL (and *len 0) when missing or empty. */
static unsigned char *slurp(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        if (*len == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            unsigned char *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                free(buf);
                fclose(f);
                *len = 0;
                return NULL;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        if (n == 0)
            break;
        *len += n;
    }
    fclose(f);
    if (*len == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The image in path, after any CGI headers: 1 decoded, 0 missing or empty, -1 not a PNG. */
static int load_tile(const char *path, uint8_t **rgba, int *w, int *h)
{
    static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    size_t len;
    unsigned char *data = slurp(path, &len);
    *rgba = NULL;
    *w = *h = 0;
    if (!data)
        return 0;
    size_t off = 0;
    while (off + sizeof sig <= len && memcmp(data + off, sig, sizeof sig) != 0)
        off++;
    if (off + sizeof sig <= len)
        *rgba = bench_png_decode(data + off, len - off, w, h);
    free(data);
    return *rgba ? 1 : -1;
}

struct image_stats {
    double cover;   /* % of pixels with alpha > 0 */
    double mean[3]; /* mean R, G, B over those pixels */
};

static struct image_stats image_stats(const uint8_t *rgba, int w, int h)
{
    struct image_stats s = { 0 };
    size_t n = (size_t)w * (size_t)h, set = 0;
    double sum[3] = { 0 };
    for (size_t i = 0; rgba && i < n; i++) {
        if (!rgba[4 * i + 3])
            continue;
        set++;
        for (int c = 0; c < 3; c++)
            sum[c] += rgba[4 * i + (size_t)c];
    }
    s.cover = n ? 100.0 * (double)set / (double)n : 0.0;
    for (int c = 0; c < 3; c++)
        s.mean[c] = set ? sum[c] / (double)set : -1.0;
    return s;
}

/* One --check line for the pair a, b; returns 1 when b is not a usable PNG. */
static int check_pair(const char *path_a, const char *path_b)
{
    uint8_t *a = NULL, *b = NULL;
    int wa, ha, wb, hb, rc = 0;
    int la = load_tile(path_a, &a, &wa, &ha);
    int lb = load_tile(path_b, &b, &wb, &hb);
    if (la < 0 || lb <= 0) {
        printf("bad %s_is_not_a_png\n", la < 0 ? "A" : "B");
        rc = 1;
        goto out;
    }
    if (la == 0) { /* a 404: compare with an empty tile of B's size */
        wa = wb;
        ha = hb;
    }
    if (wa != wb || ha != hb) {
        printf("bad size_%dx%d_vs_%dx%d\n", wa, ha, wb, hb);
        rc = 1;
        goto out;
    }
    struct image_stats sa = image_stats(a, wa, ha), sb = image_stats(b, wb, hb);
    double diff = 0.0, dmean = -1.0, mad = -1.0;
    size_t common = 0, n = (size_t)wa * (size_t)ha;
    for (size_t i = 0; a && i < n; i++) {
        if (!a[4 * i + 3] || !b[4 * i + 3])
            continue;
        common++;
        for (int c = 0; c < 3; c++)
            diff += fabs((double)a[4 * i + (size_t)c] - (double)b[4 * i + (size_t)c]);
    }
    if (common)
        mad = diff / (3.0 * (double)common);
    if (sa.mean[0] >= 0 && sb.mean[0] >= 0)
        for (int c = 0; c < 3; c++)
            if (fabs(sa.mean[c] - sb.mean[c]) > dmean)
                dmean = fabs(sa.mean[c] - sb.mean[c]);
    printf("%d %d %d %d %.1f %.1f %.2f %.2f\n", wa, ha, wb, hb, sa.cover, sb.cover, mad, dmean);
out:
    free(a);
    free(b);
    return rc;
}

int bench_check_main(int argc, char **argv)
{
    if (argc < 3 || argc % 2 == 0) {
        fprintf(stderr, "usage: bench_tiles --check A.png B.png [A.png B.png]...\n");
        return 2;
    }
    int rc = 0;
    for (int i = 1; i + 1 < argc; i += 2)
        rc |= check_pair(argv[i], argv[i + 1]);
    return rc;
}
