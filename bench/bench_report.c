/* bench_report.c - the side-by-side tables of BENCHMARKS.md (bench_tiles --report).
 *
 * Input: the records bench/run.sh collected, one per line, fields separated by
 * blanks:
 *   S METHOD LAYER KIND Z/X/Y STATUS WALL_MS CPU_MS BYTES   one timed tile
 *       METHOD: warm (bench_tiles --warm), cold (one `bootstrap tile` process),
 *       mapserver (one mapserv CGI process), gdalwarp (gdalwarp [+ gdaldem]);
 *       CPU_MS is user + system time of the process(es); BYTES the PNG's size
 *   M METHOD LAYER PEAK_RSS_KIB                             peak memory
 *   H LAYER CONNS REQUESTS SECONDS P50_MS P95_MS P99_MS SERVER_CPU_MS
 *     SERVER_RSS_KIB SOCKET_ERRORS BAD_STATUSES             one wrk run
 *   C PEER LAYER KIND Z/X/Y WA HA WB HB COVER_A COVER_B MAD DMEAN
 *   C PEER LAYER KIND Z/X/Y bad REASON                     one output check
 *       (A is cogtiler's tile, B the peer's; see bench_tiles --check)
 * Other lines are ignored.
 *
 * "Tiles per second on one core" is 1000 / the mean CPU milliseconds per tile
 * (for the HTTP server: requests / the server's CPU seconds), so it does not
 * depend on what else the machine runs; ratios divide those figures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* AWS Lambda (x86, us-east-1) prices the cost table uses. */
#define LAMBDA_REQUEST_USD 0.20e-6
#define LAMBDA_GB_SECOND_USD 0.0000166667
#define LAMBDA_MIN_MB 128
#define LAMBDA_MAX_MB 10240
#define SLOW_FACTOR 10
#define SLOW_MB 1536

#define TARGET_RATIO 5.0
#define TARGET_NATIVE_MS 5.0
#define TARGET_LAYER "rgb3857"

#define MAX_LAYERS 16
#define MAX_GROUPS 512
#define MAX_HTTP 64
#define MAX_CHECKS 32
#define MAX_TILES 40

struct group {
    char method[16], layer[65], kind[16]; /* kind "" = every kind */
    double *wall;
    size_t n, cap;
    double cpu_sum, bytes_sum;
    size_t nbytes;
    long rss_kib;
    char tiles[MAX_TILES][24]; /* the distinct tiles seen */
    int ntiles;
};

struct http_run {
    char layer[65];
    int conns;
    double requests, seconds, p50, p95, p99, cpu_ms, errors, bad;
    long rss_kib;
};

struct check {
    char peer[16], layer[65];
    int n, size_ok, bad, agree;
    double cover_a, cover_b, mad_max, dmean_max;
    double mads[256];
    int nmads;
    char odd[8][512]; /* tiles that do not agree, for the note under the table */
    int nodd;
};

static struct {
    char layers[MAX_LAYERS][65];
    int nlayers;
    struct group groups[MAX_GROUPS];
    int ngroups;
    struct http_run http[MAX_HTTP];
    int nhttp;
    struct check checks[MAX_CHECKS];
    int nchecks;
} R;

static const char *const KINDS[] = { "world", "overview", "native", "overzoom", "edge",
                                     "outside" };
#define NKINDS (sizeof KINDS / sizeof KINDS[0])
static const char *const PROC_METHODS[] = { "warm", "cold", "mapserver", "gdalwarp" };
static const int HTTP_CONNS[] = { 1, 2, 8 };

static const char *method_label(const char *m)
{
    if (strcmp(m, "warm") == 0)
        return "cogtiler in-process, warm";
    if (strcmp(m, "cold") == 0)
        return "cogtiler, one process per tile";
    if (strcmp(m, "mapserver") == 0)
        return "MapServer CGI, one process per tile";
    if (strcmp(m, "gdalwarp") == 0)
        return "gdalwarp, one process per tile";
    return m;
}

static void note_layer(const char *layer)
{
    for (int i = 0; i < R.nlayers; i++)
        if (strcmp(R.layers[i], layer) == 0)
            return;
    if (R.nlayers < MAX_LAYERS)
        snprintf(R.layers[R.nlayers++], sizeof R.layers[0], "%s", layer);
}

static struct group *find_group(const char *method, const char *layer, const char *kind,
                                int create)
{
    for (int i = 0; i < R.ngroups; i++) {
        struct group *g = &R.groups[i];
        if (strcmp(g->method, method) == 0 && strcmp(g->layer, layer) == 0 &&
            strcmp(g->kind, kind) == 0)
            return g;
    }
    if (!create || R.ngroups == MAX_GROUPS)
        return NULL;
    struct group *g = &R.groups[R.ngroups++];
    memset(g, 0, sizeof *g);
    snprintf(g->method, sizeof g->method, "%s", method);
    snprintf(g->layer, sizeof g->layer, "%s", layer);
    snprintf(g->kind, sizeof g->kind, "%s", kind);
    return g;
}

static int add_sample(struct group *g, const char *tile, double wall, double cpu, int status,
                      double bytes)
{
    int seen = 0;
    for (int i = 0; i < g->ntiles && !seen; i++)
        seen = strcmp(g->tiles[i], tile) == 0;
    if (!seen && g->ntiles < MAX_TILES)
        snprintf(g->tiles[g->ntiles++], sizeof g->tiles[0], "%s", tile);
    if (g->n == g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 256;
        double *nw = realloc(g->wall, ncap * sizeof *nw);
        if (!nw)
            return -1;
        g->wall = nw;
        g->cap = ncap;
    }
    g->wall[g->n++] = wall;
    g->cpu_sum += cpu;
    if (status == 200) {
        g->bytes_sum += bytes;
        g->nbytes++;
    }
    return 0;
}

static struct check *find_check(const char *peer, const char *layer)
{
    for (int i = 0; i < R.nchecks; i++)
        if (strcmp(R.checks[i].peer, peer) == 0 && strcmp(R.checks[i].layer, layer) == 0)
            return &R.checks[i];
    if (R.nchecks == MAX_CHECKS)
        return NULL;
    struct check *c = &R.checks[R.nchecks++];
    memset(c, 0, sizeof *c);
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    snprintf(c->layer, sizeof c->layer, "%s", layer);
    return c;
}

/* A check agrees when the two tiles cover about the same pixels and those
 * pixels have about the same colours (nearest resampling on both sides, so
 * most pixels are identical; JPEG decoding and pixel-centre rounding at the
 * outline make the rest). */
#define AGREE_COVER_POINTS 5.0
#define AGREE_MAD 12.0

static int read_records(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_tiles --report: cannot read %s\n", path);
        return -1;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char method[16], layer[65], kind[16], tile[64], reason[128];
        int status, conns;
        double wall, cpu, bytes;
        long rss;
        if (line[0] == 'S' &&
            sscanf(line, "S %15s %64s %15s %63s %d %lf %lf %lf", method, layer, kind, tile,
                   &status, &wall, &cpu, &bytes) == 8) {
            note_layer(layer);
            struct group *all = find_group(method, layer, "", 1);
            struct group *one = find_group(method, layer, kind, 1);
            if (!all || !one || add_sample(all, tile, wall, cpu, status, bytes) ||
                add_sample(one, tile, wall, cpu, status, bytes)) {
                fclose(f);
                fprintf(stderr, "bench_tiles --report: out of memory or too many groups\n");
                return -1;
            }
        } else if (line[0] == 'M' && sscanf(line, "M %15s %64s %ld", method, layer, &rss) == 3) {
            struct group *g = find_group(method, layer, "", 1);
            if (g && rss > g->rss_kib)
                g->rss_kib = rss;
        } else if (line[0] == 'H' && R.nhttp < MAX_HTTP) {
            struct http_run *h = &R.http[R.nhttp];
            if (sscanf(line, "H %64s %d %lf %lf %lf %lf %lf %lf %ld %lf %lf", h->layer, &conns,
                       &h->requests, &h->seconds, &h->p50, &h->p95, &h->p99, &h->cpu_ms,
                       &h->rss_kib, &h->errors, &h->bad) == 11) {
                h->conns = conns;
                note_layer(h->layer);
                R.nhttp++;
            }
        } else if (line[0] == 'C') {
            int wa, ha, wb, hb;
            double ca, cb, mad, dmean;
            if (sscanf(line, "C %15s %64s %15s %63s", method, layer, kind, tile) != 4)
                continue;
            struct check *c = find_check(method, layer);
            if (!c)
                continue;
            c->n++;
            if (sscanf(line, "C %*s %*s %*s %*s %d %d %d %d %lf %lf %lf %lf", &wa, &ha, &wb, &hb,
                       &ca, &cb, &mad, &dmean) == 8) {
                c->size_ok += wb == 256 && hb == 256;
                c->cover_a += ca;
                c->cover_b += cb;
                if (mad >= 0 && c->nmads < (int)(sizeof c->mads / sizeof c->mads[0]))
                    c->mads[c->nmads++] = mad;
                if (mad > c->mad_max)
                    c->mad_max = mad;
                if (dmean > c->dmean_max)
                    c->dmean_max = dmean;
                if (fabs(ca - cb) <= AGREE_COVER_POINTS && mad <= AGREE_MAD)
                    c->agree++;
                else if (c->nodd < (int)(sizeof c->odd / sizeof c->odd[0]))
                    snprintf(c->odd[c->nodd++], sizeof c->odd[0],
                             "%s %s (cover %.2f %% / %.2f %%, mean abs diff %.1f)", kind, tile,
                             ca, cb, mad);
            } else if (sscanf(line, "C %*s %*s %*s %*s bad %127s", reason) == 1) {
                c->bad++;
            }
        }
    }
    fclose(f);
    return 0;
}

struct stats {
    int ok;
    size_t n;
    double median, p95, cpu_ms, tiles_per_s, bytes;
    long rss_kib;
};

static struct stats group_stats(const char *method, const char *layer, const char *kind)
{
    struct stats s = { 0 };
    struct group *g = find_group(method, layer, kind, 0);
    if (!g || g->n == 0)
        return s;
    double *v = malloc(g->n * sizeof *v);
    if (!v)
        return s;
    memcpy(v, g->wall, g->n * sizeof *v);
    s.ok = 1;
    s.n = g->n;
    s.median = bench_percentile(v, g->n, 0.5);
    s.p95 = bench_percentile(v, g->n, 0.95);
    free(v);
    s.cpu_ms = g->cpu_sum / (double)g->n;
    s.tiles_per_s = s.cpu_ms > 0 ? 1000.0 / s.cpu_ms : 0.0;
    s.bytes = g->nbytes ? g->bytes_sum / (double)g->nbytes : 0.0;
    s.rss_kib = g->rss_kib;
    return s;
}

static const struct http_run *find_http(const char *layer, int conns)
{
    for (int i = 0; i < R.nhttp; i++)
        if (strcmp(R.http[i].layer, layer) == 0 && R.http[i].conns == conns)
            return &R.http[i];
    return NULL;
}

static struct stats http_stats(const struct http_run *h)
{
    struct stats s = { 0 };
    if (!h || h->requests <= 0)
        return s;
    s.ok = 1;
    s.n = (size_t)h->requests;
    s.median = h->p50;
    s.p95 = h->p95;
    s.cpu_ms = h->cpu_ms / h->requests;
    s.tiles_per_s = h->cpu_ms > 0 ? h->requests / (h->cpu_ms / 1000.0) : 0.0;
    s.rss_kib = h->rss_kib;
    return s;
}

/* Milliseconds for a cell: 3 significant-ish digits. */
static const char *ms(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, v < 1.0 ? "%.3f" : v < 100.0 ? "%.2f" : "%.0f", v);
    return buf;
}

static const char *ratio(char *buf, size_t cap, double a, double b)
{
    if (a <= 0 || b <= 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, a / b < 10.0 ? "%.2fx" : a / b < 100.0 ? "%.1fx" : "%.0fx", a / b);
    return buf;
}

static void print_row(const char *layer, const char *label, const struct stats *s,
                      const struct stats *ms_peer, const struct stats *gw_peer, int show_bytes)
{
    char a[32], b[32], c[32], d[32], e[32];
    if (!s->ok) {
        printf("| %s | %s | - | - | - | - | - | - | - | - | - |\n", layer, label);
        return;
    }
    char bytes[32] = "-", rss[32] = "-";
    if (show_bytes && s->bytes > 0)
        snprintf(bytes, sizeof bytes, "%.0f", s->bytes);
    if (s->rss_kib > 0)
        snprintf(rss, sizeof rss, "%.1f", (double)s->rss_kib / 1024.0);
    printf("| %s | %s | %zu | %s | %s | %s | %.0f | %s | %s | %s | %s |\n", layer, label, s->n,
           ms(a, sizeof a, s->median), ms(b, sizeof b, s->p95), ms(c, sizeof c, s->cpu_ms),
           s->tiles_per_s, bytes, rss, ratio(d, sizeof d, s->tiles_per_s, ms_peer->tiles_per_s),
           ratio(e, sizeof e, s->tiles_per_s, gw_peer->tiles_per_s));
}

static void side_by_side(void)
{
    printf("### Side by side: every tile of the list, per dataset\n\n");
    printf("| dataset | renderer | renders | median ms | p95 ms | CPU ms/tile | tiles/s on one "
           "core | PNG bytes | peak RSS MiB | vs MapServer | vs gdalwarp |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < R.nlayers; i++) {
        const char *l = R.layers[i];
        struct stats msv = group_stats("mapserver", l, ""), gw = group_stats("gdalwarp", l, "");
        struct stats warm = group_stats("warm", l, "");
        print_row(l, method_label("warm"), &warm, &msv, &gw, 1);
        for (size_t c = 0; c < sizeof HTTP_CONNS / sizeof HTTP_CONNS[0]; c++) {
            const struct http_run *h = find_http(l, HTTP_CONNS[c]);
            if (!h)
                continue;
            struct stats hs = http_stats(h);
            char label[64];
            snprintf(label, sizeof label, "cogtiler HTTP server, wrk %d connection%s",
                     HTTP_CONNS[c], HTTP_CONNS[c] == 1 ? "" : "s");
            print_row(l, label, &hs, &msv, &gw, 0);
        }
        for (size_t m = 1; m < sizeof PROC_METHODS / sizeof PROC_METHODS[0]; m++) {
            struct stats s = group_stats(PROC_METHODS[m], l, "");
            print_row(l, method_label(PROC_METHODS[m]), &s, &msv, &gw, 1);
        }
    }
}

static void by_kind(void)
{
    printf("\n### Median ms per tile by kind (ratios of medians)\n\n");
    printf("| dataset | kind | tiles | cogtiler warm | cogtiler per process | MapServer CGI | "
           "gdalwarp | warm vs MapServer | warm vs gdalwarp |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < R.nlayers; i++) {
        for (size_t k = 0; k < NKINDS; k++) {
            struct stats s[4];
            for (int m = 0; m < 4; m++)
                s[m] = group_stats(PROC_METHODS[m], R.layers[i], KINDS[k]);
            if (!s[0].ok && !s[2].ok)
                continue;
            struct group *g = find_group(s[0].ok ? "warm" : "mapserver", R.layers[i], KINDS[k], 0);
            int ntiles = g ? g->ntiles : 0;
            printf("| %s | %s | %d |", R.layers[i], KINDS[k], ntiles);
            for (int m = 0; m < 4; m++) {
                char b[32];
                printf(" %s |", s[m].ok ? ms(b, sizeof b, s[m].median) : "-");
            }
            /* cogtiler answers 404 to outside tiles without reading: no ratio */
            char r1[32] = "-", r2[32] = "-";
            if (strcmp(KINDS[k], "outside") != 0) {
                ratio(r1, sizeof r1, s[2].median, s[0].median);
                ratio(r2, sizeof r2, s[3].median, s[0].median);
            }
            printf(" %s | %s |\n", r1, r2);
        }
    }
}

static int check_table(void)
{
    int rc = 0;
    printf("\n### Are the peers' tiles the same images? (cogtiler's tile vs the peer's, "
           "per tile of the list)\n\n");
    printf("| dataset | peer | tiles | 256x256 PNG | cover %% cogtiler | cover %% peer | "
           "mean abs RGB diff, median / max | mean colour diff, max | agree | not a PNG |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < R.nchecks; i++) {
        struct check *c = &R.checks[i];
        int good = c->n - c->bad;
        double med = c->nmads ? bench_percentile(c->mads, (size_t)c->nmads, 0.5) : -1;
        printf("| %s | %s | %d | %d | %.1f | %.1f | ", c->layer,
               strcmp(c->peer, "mapserver") == 0 ? "MapServer" : c->peer, c->n, c->size_ok,
               good ? c->cover_a / good : 0.0, good ? c->cover_b / good : 0.0);
        if (med >= 0)
            printf("%.2f / %.2f | %.1f | %d | %d |\n", med, c->mad_max, c->dmean_max, c->agree,
                   c->bad);
        else
            printf("- | - | %d | %d |\n", c->agree, c->bad);
        if (c->bad || c->size_ok != good)
            rc = 1;
    }
    int header = 0;
    for (int i = 0; i < R.nchecks; i++) {
        for (int j = 0; j < R.checks[i].nodd; j++) {
            if (!header++)
                printf("\nTiles that do not agree (cover within %.0f points and mean abs RGB "
                       "diff <= %.0f):\n\n",
                       AGREE_COVER_POINTS, AGREE_MAD);
            printf("- %s, %s: %s\n", R.checks[i].layer,
                   strcmp(R.checks[i].peer, "mapserver") == 0 ? "MapServer" : R.checks[i].peer,
                   R.checks[i].odd[j]);
        }
    }
    return rc;
}

static void http_table(void)
{
    if (!R.nhttp)
        return;
    printf("\n### The HTTP server under load (wrk, cycling through the dataset's tiles)\n\n");
    printf("| dataset | connections | requests | seconds | requests/s | p50 ms | p95 ms | "
           "p99 ms | server CPU ms/request | server peak RSS MiB | unexpected statuses | "
           "socket errors |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < R.nhttp; i++) {
        const struct http_run *h = &R.http[i];
        char a[32], b[32], c[32], d[32];
        printf("| %s | %d | %.0f | %.1f | %.0f | %s | %s | %s | %s | %.1f | %.0f | %.0f |\n",
               h->layer, h->conns, h->requests, h->seconds,
               h->seconds > 0 ? h->requests / h->seconds : 0.0, ms(a, sizeof a, h->p50),
               ms(b, sizeof b, h->p95), ms(c, sizeof c, h->p99),
               ms(d, sizeof d, h->requests > 0 ? h->cpu_ms / h->requests : 0.0),
               (double)h->rss_kib / 1024.0, h->bad, h->errors);
    }
}

double bench_lambda_usd(double billed_ms, int mb)
{
    return 1e6 * (LAMBDA_REQUEST_USD + (double)mb / 1024.0 * billed_ms / 1000.0 *
                                           LAMBDA_GB_SECOND_USD);
}

/* The smallest memory setting (1 MB steps) holding rss_kib; 0 if none does. */
static int lambda_mb(long rss_kib)
{
    int mb = (int)ceil((double)rss_kib / 1024.0);
    if (mb < LAMBDA_MIN_MB)
        mb = LAMBDA_MIN_MB;
    return mb <= LAMBDA_MAX_MB ? mb : 0;
}

static void cost_row(const char *label, double median, long rss_kib)
{
    int mb = lambda_mb(rss_kib);
    double billed = ceil(median), slow = ceil(median * SLOW_FACTOR);
    if (billed < 1)
        billed = 1;
    char a[32];
    printf("| %s | %s | %.0f | %.1f | %d | %.2f | %.2f | %.0f | %.2f |\n", label,
           ms(a, sizeof a, median), billed, (double)rss_kib / 1024.0, mb,
           mb ? bench_lambda_usd(billed, mb) : 0.0,
           bench_lambda_usd(billed, BENCH_LAMBDA_ONE_VCPU_MB), slow,
           bench_lambda_usd(slow, SLOW_MB));
}

static void cost_table(void)
{
    printf("\n### Serverless cost of a million tiles (AWS Lambda prices)\n\n");
    printf("Lambda bills $0.20 per million requests and $0.0000166667 per GB-second, per "
           "started ms, at 128..10240 MB in 1 MB steps. The memory setting is the smallest "
           "that holds the peak RSS (of the in-process run and of the HTTP server on that "
           "dataset). Assumption: the measured warm median (one full core) is the billed "
           "duration, rounded up to the ms. Lambda gives a function CPU in proportion to its "
           "memory (one vCPU at 1,769 MB), so below that a CPU-bound render runs slower by "
           "about 1769/MB and costs about what the 1,769 MB column says; the first column is "
           "the floor. The comparison is a function %d times slower at %d MB (a typical Python "
           "deployment).\n\n",
           SLOW_FACTOR, SLOW_MB);
    printf("| dataset | warm median ms | billed ms | peak RSS MiB | memory MB | $ per 1M tiles at "
           "that memory | $ per 1M at 1769 MB | %dx slower: billed ms | %dx slower at %d MB: $ "
           "per 1M |\n",
           SLOW_FACTOR, SLOW_FACTOR, SLOW_MB);
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    double *all = NULL;
    size_t nall = 0;
    long rss_all = 0;
    for (int i = 0; i < R.nlayers; i++) {
        struct group *g = find_group("warm", R.layers[i], "", 0);
        if (!g || !g->n)
            continue;
        struct stats s = group_stats("warm", R.layers[i], "");
        long rss = s.rss_kib;
        for (size_t c = 0; c < sizeof HTTP_CONNS / sizeof HTTP_CONNS[0]; c++) {
            const struct http_run *h = find_http(R.layers[i], HTTP_CONNS[c]);
            if (h && h->rss_kib > rss)
                rss = h->rss_kib;
        }
        if (rss > rss_all)
            rss_all = rss;
        cost_row(R.layers[i], s.median, rss);
        double *na = realloc(all, (nall + g->n) * sizeof *na);
        if (!na)
            continue;
        all = na;
        memcpy(all + nall, g->wall, g->n * sizeof *all);
        nall += g->n;
    }
    if (nall) {
        cost_row("all datasets", bench_percentile(all, nall, 0.5), rss_all);
    }
    free(all);
}

static void targets(void)
{
    printf("\n### Targets\n\n");
    printf("Target: cogtiler renders at least %.0fx the tiles per second (one core) of "
           "MapServer's CGI and of per-process gdalwarp on every dataset, and its warm median "
           "for native-zoom tiles of the EPSG:3857 COG (%s) is under %.0f ms.\n\n",
           TARGET_RATIO, TARGET_LAYER, TARGET_NATIVE_MS);
    printf("| dataset | cogtiler | vs MapServer | vs gdalwarp | >= %.0fx both |\n",
           TARGET_RATIO);
    printf("|---|---|---:|---:|---|\n");
    const char *methods[] = { "warm", "http1", "cold" };
    const char *labels[] = { "in-process, warm", "HTTP server, 1 connection",
                             "one process per tile" };
    int met[3] = { 1, 1, 1 }, seen[3] = { 0, 0, 0 };
    for (int i = 0; i < R.nlayers; i++) {
        const char *l = R.layers[i];
        struct stats msv = group_stats("mapserver", l, ""), gw = group_stats("gdalwarp", l, "");
        if (!msv.ok || !gw.ok)
            continue;
        for (int m = 0; m < 3; m++) {
            struct stats s = m == 1 ? http_stats(find_http(l, 1)) : group_stats(methods[m], l, "");
            if (!s.ok)
                continue;
            seen[m] = 1;
            char a[32], b[32];
            int ok = s.tiles_per_s >= TARGET_RATIO * msv.tiles_per_s &&
                     s.tiles_per_s >= TARGET_RATIO * gw.tiles_per_s;
            met[m] &= ok;
            printf("| %s | %s | %s | %s | %s |\n", l, labels[m],
                   ratio(a, sizeof a, s.tiles_per_s, msv.tiles_per_s),
                   ratio(b, sizeof b, s.tiles_per_s, gw.tiles_per_s), ok ? "yes" : "**no**");
        }
    }
    printf("\n");
    for (int m = 0; m < 3; m++)
        if (seen[m])
            printf("- %.0fx on every dataset, cogtiler %s: **%s**\n", TARGET_RATIO, labels[m],
                   met[m] ? "met" : "not met");
    struct stats nat = group_stats("warm", TARGET_LAYER, "native");
    if (nat.ok) {
        char a[32], b[32];
        printf("- warm median of %s native-zoom tiles under %.0f ms: %s ms (p95 %s ms over %zu "
               "renders): **%s**\n",
               TARGET_LAYER, TARGET_NATIVE_MS, ms(a, sizeof a, nat.median),
               ms(b, sizeof b, nat.p95), nat.n, nat.median < TARGET_NATIVE_MS ? "met" : "not met");
    }
}

int bench_report_main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_tiles --report SAMPLES\n");
        return 2;
    }
    if (read_records(argv[1]))
        return 2;
    side_by_side();
    by_kind();
    http_table();
    int rc = check_table();
    cost_table();
    targets();
    for (int i = 0; i < R.ngroups; i++)
        free(R.groups[i].wall);
    return rc;
}
