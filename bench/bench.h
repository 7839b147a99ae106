/* bench.h - the parts of the benchmark tool (build/rel/bench_tiles, see
 * bench/README.md): in-process rendering (bench_tiles.c), timing whole processes
 * and checking their PNGs (bench_proc.c), and the side-by-side report
 * (bench_report.c). Timings are only printed, never judged. */
#ifndef COGTILER_BENCH_H
#define COGTILER_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in ms. */
double bench_now_ms(void);

/* CPU time (user + system) of the whole process in ms. */
double bench_cpu_ms(void);

/* Percentile p (0..1) of v[0..n), linear between closest ranks; sorts v. 0 when n is 0. */
double bench_percentile(double *v, size_t n, double p);

/* Peak resident size of this process (getrusage ru_maxrss) in KiB. */
long bench_peak_rss_kib(void);

/* Decodes the PNG in png[0..len) into malloc'd 8-bit RGBA (caller frees) and
 * sets *w, *h; NULL when it is not a PNG libpng can read. */
uint8_t *bench_png_decode(const unsigned char *png, size_t len, int *w, int *h);

/* bench_tiles --time STATS -- CMD [ARG...] [-- CMD [ARG...]]...
 * Runs the commands one after the other (stopping at the first that fails),
 * their stdout and stderr inherited, and writes one line "WALL_MS CPU_MS
 * RSS_KIB STATUS" to STATS: wall time from the first fork to the last exit,
 * user + system CPU of the children, the largest child's peak RSS, and the
 * first non-zero exit status (0 if all succeeded). Returns that status, or 2
 * on bad usage. */
int bench_time_main(int argc, char **argv);

/* bench_tiles --check A.png B.png [A.png B.png]...
 * For each pair, decodes the two tile images (anything before the PNG signature, such as CGI
 * headers, is skipped; a missing or empty A counts as a fully transparent
 * tile) and prints "WA HA WB HB COVER_A COVER_B MAD DMEAN": sizes, the share of
 * non-transparent pixels of each in percent, the mean absolute RGB difference
 * over the pixels opaque in both (-1 if none), and the largest difference
 * between the two images' mean R, G or B (over each image's own opaque pixels;
 * -1 if either has none); or "bad REASON" when B is not a decodable PNG of A's
 * size. One line per pair; returns 1 if any pair was bad. */
int bench_check_main(int argc, char **argv);

/* AWS Lambda (x86, us-east-1): 1,769 MB has the equivalent of one vCPU. */
#define BENCH_LAMBDA_ONE_VCPU_MB 1769

/* Dollars per million invocations of billed_ms at mb megabytes (Lambda's
 * request and GB-second prices, bench_report.c). */
double bench_lambda_usd(double billed_ms, int mb);

/* bench_tiles --report SAMPLES
 * Reads the records bench/run.sh collected and prints the side-by-side
 * Markdown tables (see bench_report.c for the record formats). Returns 0, 1
 * when a peer's output failed its check, 2 when SAMPLES cannot be read. */
int bench_report_main(int argc, char **argv);

#endif
