/* custom.h - user-supplied colormaps (TiTiler's `colormap=` query parameter):
 * a JSON text parsed into a fixed-size table, and the colour of one value.
 * Pure, no I/O; the table holds no pointers and needs no freeing. */
#ifndef COGTILER_CUSTOM_H
#define COGTILER_CUSTOM_H

#include <stddef.h>
#include <stdint.h>

#define CUSTOM_MAX_ENTRIES 256

struct custom_entry {
    double lo, hi;   /* discrete: lo == hi == VALUE; intervals: [lo, hi), lo < hi, both finite */
    uint8_t rgba[4]; /* alpha 255 when the JSON gave 3 components */
};

struct custom_cmap {
    int intervals; /* 0: discrete {"VALUE": [r,g,b(,a)], ...}; 1: [[[MIN, MAX], [r,g,b(,a)]], ...] */
    int n;         /* entries */
    struct custom_entry e[CUSTOM_MAX_ENTRIES]; /* discrete: lo == hi == VALUE, sorted by value */
};

/* Parses the JSON text json[0..len). Returns 0 and fills *out, or CT_EINVAL with a short
 * message in msg naming the problem: not JSON, neither form, more than CUSTOM_MAX_ENTRIES
 * entries, a key that is not a finite number, a colour that is not 3 or 4 integers 0..255,
 * an interval with MIN >= MAX or non-finite bounds, a duplicate discrete value, overlapping
 * intervals. Keeps no allocation.
 * Also CT_EINVAL: no entries at all ({} or []); anything but JSON whitespace after the value;
 * cJSON running out of memory (it cannot be told from bad JSON). A key is a decimal number as
 * strtod reads it ("1", "-9999", "2.5", "1e3"), at most 63 characters of 0-9 + - . e E: no spaces,
 * hex, inf or nan. A colour component may be written 255 or 255.0 but not 254.5. Intervals
 * are sorted by MIN and may touch ([0, 1) and [1, 2)) but not overlap. json need not be
 * NUL-terminated and is read only within len. msg (msgcap bytes; may be NULL when msgcap is
 * 0) is NUL-terminated and holds printable ASCII only. On error out->n is 0. */
int custom_parse(const char *json, size_t len, struct custom_cmap *out, char *msg, size_t msgcap);

/* The colour of value v: discrete: the entry whose value equals v exactly (binary search);
 * intervals: the interval with MIN <= v < MAX. Returns 1 and fills rgba, or 0 when no entry
 * matches or v is NaN (the pixel is then transparent). Alpha defaults to 255 when the JSON
 * gave 3 components. rgba is left untouched on 0. Exact means exact: a Float32 pixel
 * 0.1f (0.100000001490116...) does not equal the key "0.1". */
int custom_lookup(const struct custom_cmap *c, double v, uint8_t rgba[4]);

#endif
