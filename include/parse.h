/* parse.h - the lexical rules shared by the route, parameter and configuration
 * parsers: decimal numbers, unsigned integers and layer names, and the
 * printing of numbers that read back. Pure: they read [s, s + n) only,
 * allocate nothing and write their result only on success. */
#ifndef COGTILER_PARSE_H
#define COGTILER_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PARSE_MAX_LAYER 64

/* A finite decimal number spelled with 0-9 + - . e E only (no spaces, hex,
 * "inf" or "nan"), at most 63 bytes. 0, or CT_EINVAL. */
int parse_decimal(const char *s, size_t n, double *out);

/* 1-15 decimal digits, nothing else. 0, or CT_EINVAL. */
int parse_u64(const char *s, size_t n, uint64_t *out);

/* The shortest of %.15g, %.16g and %.17g that reads back as v (finite), into
 * buf (cap bytes, 32 are enough): the inverse of parse_decimal for what the
 * service prints. Returns the length written. */
int parse_print_double(double v, char *buf, size_t cap);

/* True when s[0..n) is a layer name: 1-PARSE_MAX_LAYER characters of
 * A-Z a-z 0-9 _ . -, and neither "." nor "..". */
int parse_layer_name(const char *s, size_t n);

/* The gdalwarp name of a TiTiler resampling name (nearest, bilinear, cubic,
 * average, mode; "near" also accepted), or NULL. */
const char *parse_resampling(const char *name);

#endif
