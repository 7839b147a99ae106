#include "pngenc.h"

#include <libdeflate.h>
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "err.h"

static void write_cb(png_structp png, png_bytep data, png_size_t n)
{
    struct pngbuf *b = png_get_io_ptr(png);
    if (n > SIZE_MAX - b->len)
        png_error(png, "png too large");
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n) {
            if (cap > SIZE_MAX / 2)
                png_error(png, "png too large");
            cap *= 2;
        }
        unsigned char *p = realloc(b->data, cap);
        if (!p)
            png_error(png, "out of memory");
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

static void flush_cb(png_structp png)
{
    (void)png;
}

void pngbuf_free(struct pngbuf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* How a tile is written: the smallest lossless PNG colour type that fits. */
enum layout { L_PALETTE, L_GREY, L_GREY_ALPHA, L_RGB, L_RGBA };

struct plan {
    enum layout layout;
    int depth;            /* bits per sample */
    int ncolors;          /* L_PALETTE */
    int ntrans;           /* palette entries with alpha < 255 (they come first) */
    uint8_t pal[256][4];  /* L_PALETTE, RGBA */
    uint8_t *index;       /* L_PALETTE: one palette index per pixel */
    int grey_trans;       /* L_GREY: the grey value written as tRNS, or -1 */
    int single;           /* one colour: every row is the same run of zeros */
};

#define HASH_SLOTS 1024 /* power of two, > 2 x 256 */

/* Orders the palette entries ids[0..n) as a chain, each the nearest (RGBA,
 * squared distance) of those left to the one before, from the darkest. A
 * colormap is a curve through colour space: the chain walks along it, so
 * neighbouring pixels get neighbouring indices and the row filters turn a
 * smooth ramp into small numbers, where indices in order of appearance look
 * like noise to them. */
static void chain_order(const uint8_t pal[][4], int *ids, int n)
{
    int best = 0, lum = 1 << 30;
    for (int j = 0; j < n; j++) {
        const uint8_t *c = pal[ids[j]];
        int l = 299 * c[0] + 587 * c[1] + 114 * c[2];
        if (l < lum) {
            lum = l;
            best = j;
        }
    }
    for (int k = 0; k < n; k++) {
        int t = ids[k];
        ids[k] = ids[best];
        ids[best] = t;
        const uint8_t *c = pal[ids[k]];
        int dmin = 1 << 30;
        for (int j = k + 1; j < n; j++) {
            const uint8_t *q = pal[ids[j]];
            int d0 = q[0] - c[0], d1 = q[1] - c[1], d2 = q[2] - c[2], d3 = q[3] - c[3];
            int d = d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
            if (d < dmin) {
                dmin = d;
                best = j;
            }
        }
    }
}

/* Builds the palette and index image when the tile has at most 256 distinct
 * RGBA values. Returns 1 (done), 0 (too many colours), or CT_ENOMEM. */
static int make_palette(const uint8_t *rgba, size_t npx, struct plan *p)
{
    uint32_t keys[HASH_SLOTS];
    int16_t slot_index[HASH_SLOTS];
    memset(slot_index, 0xff, sizeof slot_index); /* -1: empty */
    p->index = malloc(npx);
    if (!p->index)
        return CT_ENOMEM;
    int n = 0;
    uint32_t last_key = 0;
    int last = -1;
    for (size_t i = 0; i < npx; i++) {
        uint32_t k;
        memcpy(&k, rgba + 4 * i, 4);
        if (last >= 0 && k == last_key) { /* runs are the common case */
            p->index[i] = (uint8_t)last;
            continue;
        }
        uint32_t h = (k * 2654435761u) >> 22; /* 10 bits: HASH_SLOTS */
        while (slot_index[h] >= 0 && keys[h] != k)
            h = (h + 1) & (HASH_SLOTS - 1);
        if (slot_index[h] < 0) {
            if (n == 256) {
                free(p->index);
                p->index = NULL;
                return 0;
            }
            keys[h] = k;
            slot_index[h] = (int16_t)n;
            memcpy(p->pal[n], rgba + 4 * i, 4);
            n++;
        }
        last_key = k;
        last = slot_index[h];
        p->index[i] = (uint8_t)last;
    }
    /* Entries with alpha < 255 first, so tRNS stops at the last of them;
     * each group in chain order. */
    int ids[256], t = 0;
    for (int pass = 0; pass < 2; pass++) {
        int first = t;
        for (int j = 0; j < n; j++)
            if ((p->pal[j][3] < 255) == (pass == 0))
                ids[t++] = j;
        chain_order((const uint8_t(*)[4])p->pal, ids + first, t - first);
        if (pass == 0)
            p->ntrans = t;
    }
    uint8_t remap[256], sorted[256][4];
    for (int j = 0; j < n; j++) {
        remap[ids[j]] = (uint8_t)j;
        memcpy(sorted[j], p->pal[ids[j]], 4);
    }
    memcpy(p->pal, sorted, sizeof sorted[0] * (size_t)n);
    for (size_t i = 0; i < npx; i++)
        p->index[i] = remap[p->index[i]];
    p->ncolors = n;
    return 1;
}

static int plan_tile(const uint8_t *rgba, size_t npx, struct plan *p)
{
    int opaque = 1, grey = 1, single = 1;
    for (size_t i = 0; i < npx && (opaque || grey || single); i++) {
        const uint8_t *q = rgba + 4 * i;
        opaque &= q[3] == 255;
        grey &= q[0] == q[1] && q[1] == q[2];
        single &= memcmp(q, rgba, 4) == 0;
    }
    memset(p, 0, sizeof *p);
    p->depth = 8;
    p->grey_trans = -1;
    p->single = single;
    static const uint8_t clear[4] = { 0, 0, 0, 0 }, black[4] = { 0, 0, 0, 255 };
    if (single && (memcmp(rgba, clear, 4) == 0 || memcmp(rgba, black, 4) == 0)) {
        /* The empty tile (or a black one): 1-bit grey, all zeros, with a grey
         * tRNS (14 bytes) when clear, where a palette would take PLTE (15)
         * and tRNS (13). Another single colour is a 1-bit palette (all
         * zeros too); as 1-bit grey, white would be ones, 20 bytes more
         * once compressed than the PLTE. */
        p->layout = L_GREY;
        p->depth = 1;
        p->grey_trans = rgba[3] == 0 ? 0 : -1;
        return CT_OK;
    }
    if (grey && opaque && !single) { /* 8-bit grey: as small as a palette, without PLTE */
        p->layout = L_GREY;
        return CT_OK;
    }
    int r = make_palette(rgba, npx, p);
    if (r < 0)
        return r;
    if (r == 0) {
        p->layout = grey ? L_GREY_ALPHA : opaque ? L_RGB : L_RGBA;
        return CT_OK;
    }
    p->layout = L_PALETTE;
    p->depth = p->ncolors <= 2 ? 1 : p->ncolors <= 4 ? 2 : p->ncolors <= 16 ? 4 : 8;
    return CT_OK;
}

/* Packs row y of the tile as the PNG stores it (rowbytes bytes). */
static void raw_row(const struct plan *p, const uint8_t *rgba, int w, int y, uint8_t *row,
                    size_t rowbytes)
{
    const uint8_t *src = rgba + (size_t)y * (size_t)w * 4;
    switch (p->layout) {
    case L_PALETTE: {
        const uint8_t *ix = p->index + (size_t)y * (size_t)w;
        if (p->depth == 8) {
            memcpy(row, ix, (size_t)w);
            break;
        }
        /* 1, 2 or 4 bits, the leftmost pixel in the high bits */
        const int per = 8 / p->depth;
        memset(row, 0, rowbytes);
        for (int x = 0; x < w; x++)
            row[x / per] |= (uint8_t)(ix[x] << (8 - p->depth * (x % per + 1)));
        break;
    }
    case L_GREY:
        if (p->depth == 1) { /* the empty or black tile */
            memset(row, 0, rowbytes);
            break;
        }
        for (int x = 0; x < w; x++)
            row[x] = src[4 * x];
        break;
    case L_GREY_ALPHA:
        for (int x = 0; x < w; x++) {
            row[2 * x] = src[4 * x];
            row[2 * x + 1] = src[4 * x + 3];
        }
        break;
    case L_RGB:
        for (int x = 0; x < w; x++)
            memcpy(row + 3 * x, src + 4 * x, 3);
        break;
    case L_RGBA:
        memcpy(row, src, rowbytes);
        break;
    }
}

/* PNG filter types (PNG specification, section 9). */
enum { F_NONE, F_SUB, F_UP, F_AVERAGE, F_PAETH };

static inline uint8_t paeth(int a, int b, int c)
{
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

/* The encoder knows every input of the predictor, so Paeth vectorises: 8
 * bytes at a time in 16-bit lanes (GCC/Clang vector extensions: one SSE2 or
 * NEON register), 7x faster than the scalar loop at -O2 (16 lanes, two
 * registers, were no faster than scalar with GCC 12). From i on; returns
 * where it stopped, less than 8 short of n. */
typedef uint8_t u8x8 __attribute__((vector_size(8)));
typedef int16_t i16x8 __attribute__((vector_size(16)));

static size_t paeth_vec(const uint8_t *cur, const uint8_t *prev, size_t i, size_t n, size_t bpp,
                        uint8_t *out)
{
    for (; i + 8 <= n; i += 8) {
        u8x8 va, vb, vc, vx;
        memcpy(&va, cur + i - bpp, 8);
        memcpy(&vb, prev + i, 8);
        memcpy(&vc, prev + i - bpp, 8);
        memcpy(&vx, cur + i, 8);
        i16x8 a = __builtin_convertvector(va, i16x8), b = __builtin_convertvector(vb, i16x8),
              c = __builtin_convertvector(vc, i16x8), x = __builtin_convertvector(vx, i16x8);
        i16x8 pa = b - c, pb = a - c, pc = pa + pb; /* p - a, p - b, p - c */
        pa = (pa ^ (pa >> 15)) - (pa >> 15);
        pb = (pb ^ (pb >> 15)) - (pb >> 15);
        pc = (pc ^ (pc >> 15)) - (pc >> 15);
        i16x8 use_a = (pa <= pb) & (pa <= pc), use_b = ~use_a & (pb <= pc);
        i16x8 pred = (a & use_a) | (b & use_b) | (c & ~(use_a | use_b));
        u8x8 r = __builtin_convertvector((x - pred) & 0xff, u8x8);
        memcpy(out + i, &r, 8);
    }
    return i;
}

/* Filters cur (n bytes, bpp bytes per complete pixel, at least 1) with
 * filter type f (not F_AVERAGE: never chosen, see POLICY) against the row
 * above (zeros for the first row) into out. */
static void filter_row(int f, const uint8_t *cur, const uint8_t *prev, size_t n, size_t bpp,
                       uint8_t *out)
{
    size_t i;
    switch (f) {
    case F_NONE:
        memcpy(out, cur, n);
        break;
    case F_SUB:
        for (i = 0; i < bpp && i < n; i++)
            out[i] = cur[i];
        for (; i < n; i++)
            out[i] = (uint8_t)(cur[i] - cur[i - bpp]);
        break;
    case F_UP:
        for (i = 0; i < n; i++)
            out[i] = (uint8_t)(cur[i] - prev[i]);
        break;
    case F_PAETH:
        for (i = 0; i < bpp && i < n; i++)
            out[i] = (uint8_t)(cur[i] - prev[i]);
        for (i = paeth_vec(cur, prev, i, n, bpp, out); i < n; i++)
            out[i] = (uint8_t)(cur[i] - paeth(cur[i - bpp], prev[i], prev[i - bpp]));
        break;
    }
}

/* The sum of the filtered bytes as signed magnitudes: the PNG specification's
 * heuristic for choosing a filter per row (smaller is usually smaller after
 * deflate). */
static unsigned long row_cost(const uint8_t *b, size_t n)
{
    unsigned long s = 0;
    for (size_t i = 0; i < n; i++)
        s += b[i] < 128 ? b[i] : 256u - b[i];
    return s;
}

/* How each layout is filtered and compressed: one filter, or (several bits)
 * the cheapest by row_cost() for each row; libdeflate or zlib's RLE
 * strategy, and the level.
 *
 * Measured with bench_tiles' tiles, A/B alternated in one process, medians of
 * 40 calls on a shared 2-core x86-64 (bytes / ms; "before" is the libpng
 * encoder this replaced: zlib Z_RLE, libpng choosing SUB or UP per row):
 *
 * RGB, bluemarble native 4/8/8 (the speed goal: <= 1.5 ms, no larger):
 *   before 82651 / 2.09; PAETH + libdeflate 1: 82217 / 1.39; UP + libdeflate
 *   1: 80409 / 1.27; UP + libdeflate 2: 78217 / 1.78; SUB/UP/PAETH per row +
 *   libdeflate 1: 81231 / 2.46 (three filters and their costs per row);
 *   PAETH + zlib RLE: 82345 / 1.99; UP + zlib RLE: 83797 / 1.5 for the
 *   compression alone; zlib level 1 (default strategy): 103890 unfiltered,
 *   slower than libdeflate 1 at every filter.
 *   PAETH rather than UP: UP is smaller on this tile but 8-37 % larger on the
 *   over-zoomed ones (bluemarble 6/32/32: 16253 vs 14267, rgb3857 11/582/880:
 *   13955 vs 11931) and 5 % on Sentinel-2 (tci 10/579/415: 73008 vs 69338).
 *   zlib RLE is 0.5-0.7 ms slower than libdeflate 1 where the filtered
 *   bytes are mostly literals (here 38 % zeros; rgb3857 9/145/220, 14 %:
 *   147705 / 2.16 vs 148293 / 1.43) but as fast or faster and 0-18 % smaller
 *   where they are mostly zeros (large 12/2317/1663, 98 %: 7868 / 0.39 vs
 *   9555 / 0.52; tci 10/579/415, 58 %: 64444 / 1.26 vs 69281 / 1.02;
 *   bluemarble 4/0/0, 90 %: 11336 vs 13110): hence C_RUNS. Its threshold
 *   (half) leaves out bluemarble 2/2/2 (43 % zeros; RLE 8 % smaller, 0.6 ms
 *   slower). The zeros are counted in every 8th row.
 * RGBA, tci edge 10/580/417 (93 % zeros): before 21848 / 1.25; PAETH + zlib
 *   RLE: 21200 / 0.98; PAETH + libdeflate 1: 25220 / 1.01 (+19 %; 11-15 % on
 *   the other edge tiles: libdeflate's short matches cost more than the
 *   literals they replace in noisy data next to runs of clear pixels);
 *   libdeflate 6: 22241 / 2.45; 9: 21230 / 15.7. zlib RLE ignores the level.
 * Palette, the viridis DEM's tiles at z15-z17 (bytes / bytes of a plain
 *   RGBA PNG at libpng's level 6): before, indices in order of appearance,
 *   0.58-0.96; chain-ordered indices (chain_order) with SUB/UP per row and
 *   libdeflate 6: 0.40-0.58, median 0.46, 0.5-1.4 ms (before 0.4-0.7);
 *   libdeflate 4 / 5: 1-8 % larger, 0.1-0.3 ms faster; 7: 2-4 % smaller, 1.6-2.4
 *   ms; 8: 4-8 % smaller, 3-6 ms; 12: 10-20 % smaller, 24-37 ms; zlib 9: 4-14 %
 *   smaller, 4-28 ms. Adding PAETH to the choice: 5 % larger at z15, 5 %
 *   smaller at z17; filter NONE alone (the usual advice for palettes, right
 *   for unordered indices): 0.61-0.68. Counting non-zero bytes or estimating
 *   the row's entropy instead of row_cost(): within 1-3 %, mostly larger.
 * Grey and grey + alpha: no bench dataset; as palette and RGBA.
 *
 * C_RUNS: zlib RLE when at least half the filtered bytes are zeros (its cost
 * is per literal: on such data it is as fast as libdeflate 1 and smaller),
 * else libdeflate. */
enum codec { C_LIBDEFLATE, C_ZLIB_RLE, C_RUNS };

struct policy {
    unsigned filters; /* bit (1 << F_x) per candidate filter */
    enum codec codec;
    int level;
};

static const struct policy POLICY[] = {
    [L_PALETTE] = { 1u << F_SUB | 1u << F_UP, C_LIBDEFLATE, 6 },
    [L_GREY] = { 1u << F_SUB | 1u << F_UP, C_LIBDEFLATE, 6 },
    [L_GREY_ALPHA] = { 1u << F_PAETH, C_RUNS, 1 },
    [L_RGB] = { 1u << F_PAETH, C_RUNS, 1 },
    [L_RGBA] = { 1u << F_PAETH, C_RUNS, 1 },
};

/* The IDAT payload before compression: each row's filter type byte and its
 * filtered bytes, into img (h * (1 + rowbytes) bytes). Returns CT_OK or
 * CT_ENOMEM. */
static int filter_image(const struct plan *p, const uint8_t *rgba, int w, int h,
                        size_t rowbytes, size_t bpp, uint8_t *img)
{
    /* one colour: filter type 0 keeps the rows all zeros, one long run */
    const unsigned filters = p->single ? 1u << F_NONE : POLICY[p->layout].filters;
    const int fixed = (filters & (filters - 1)) == 0;
    /* rows: previous raw, current raw, and the candidates when choosing */
    uint8_t *buf = calloc(fixed ? 2 : 7, rowbytes);
    if (!buf)
        return CT_ENOMEM;
    uint8_t *prev = buf, *cur = buf + rowbytes, *cand = buf + 2 * rowbytes;
    for (int y = 0; y < h; y++) {
        uint8_t *out = img + (size_t)y * (rowbytes + 1);
        raw_row(p, rgba, w, y, cur, rowbytes);
        if (fixed) {
            int f = __builtin_ctz(filters);
            out[0] = (uint8_t)f;
            filter_row(f, cur, prev, rowbytes, bpp, out + 1);
        } else {
            int best = -1;
            unsigned long best_cost = 0;
            for (int f = F_NONE; f <= F_PAETH; f++) {
                if (!(filters & 1u << f))
                    continue;
                uint8_t *c = cand + (size_t)f * rowbytes;
                filter_row(f, cur, prev, rowbytes, bpp, c);
                unsigned long cost = row_cost(c, rowbytes);
                if (best < 0 || cost < best_cost) {
                    best = f;
                    best_cost = cost;
                }
            }
            out[0] = (uint8_t)best;
            memcpy(out + 1, cand + (size_t)best * rowbytes, rowbytes);
        }
        uint8_t *t = prev;
        prev = cur;
        cur = t;
    }
    free(buf);
    return CT_OK;
}

/* Compresses len bytes of in into a zlib stream, malloc'd into *z (*zlen
 * bytes). Returns CT_OK, CT_ENOMEM or CT_EINTERNAL. */
static int compress_image(const struct policy *pol, const uint8_t *in, size_t len, uint8_t **z,
                          size_t *zlen)
{
    *z = NULL;
    *zlen = 0;
    if (pol->codec == C_LIBDEFLATE) {
        struct libdeflate_compressor *c = libdeflate_alloc_compressor(pol->level);
        if (!c)
            return CT_ENOMEM;
        size_t cap = libdeflate_zlib_compress_bound(c, len);
        *z = malloc(cap);
        if (*z)
            *zlen = libdeflate_zlib_compress(c, in, len, *z, cap);
        libdeflate_free_compressor(c);
        if (!*z)
            return CT_ENOMEM;
        return *zlen ? CT_OK : CT_EINTERNAL;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, pol->level, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK)
        return CT_ENOMEM;
    size_t cap = deflateBound(&zs, len > ULONG_MAX ? ULONG_MAX : (uLong)len);
    int err = CT_ENOMEM, zr = Z_OK;
    if (len > ULONG_MAX || !(*z = malloc(cap)))
        goto out;
    zs.next_in = (Bytef *)in;
    zs.next_out = *z;
    size_t in_left = len, out_left = cap;
    while (zr == Z_OK) { /* avail_in and avail_out are 32 bits */
        size_t ni = in_left < UINT_MAX ? in_left : UINT_MAX;
        size_t no = out_left < UINT_MAX ? out_left : UINT_MAX;
        zs.avail_in = (uInt)ni;
        zs.avail_out = (uInt)no;
        zr = deflate(&zs, ni == in_left ? Z_FINISH : Z_NO_FLUSH);
        in_left -= ni - zs.avail_in;
        out_left -= no - zs.avail_out;
    }
    err = zr == Z_STREAM_END ? CT_OK : CT_EINTERNAL;
    *zlen = cap - out_left;
out:
    deflateEnd(&zs);
    if (err) {
        free(*z);
        *z = NULL;
    }
    return err;
}

#define IDAT_MAX ((size_t)1 << 30) /* a chunk holds at most 2^31 - 1 bytes */

/* The PNG around the compressed image data z: libpng writes the container
 * (signature, IHDR, PLTE, tRNS, chunk framing and CRCs), the IDAT data is
 * ours. Returns CT_OK, CT_ENOMEM or CT_EINTERNAL (out freed). */
static int write_png(const struct plan *p, int w, int h, const uint8_t *z, size_t zlen,
                     struct pngbuf *out)
{
    /* room for the whole file, so write_cb does not grow the buffer chunk by
     * chunk: signature 8, IHDR 25, PLTE at most 780, tRNS at most 268, IEND 12,
     * and 12 bytes of framing per IDAT */
    out->cap = zlen + 8 + 25 + 780 + 268 + 12 + 12 * (zlen / IDAT_MAX + 1);
    if (!(out->data = malloc(out->cap))) {
        out->cap = 0;
        return CT_ENOMEM;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info)
        goto fail;
    if (setjmp(png_jmpbuf(png)))
        goto fail;
    png_set_write_fn(png, out, write_cb, flush_cb);
    static const int types[] = { PNG_COLOR_TYPE_PALETTE, PNG_COLOR_TYPE_GRAY,
                                 PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGBA };
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, p->depth, types[p->layout],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (p->layout == L_PALETTE) {
        png_color pal[256];
        png_byte trans[256];
        for (int j = 0; j < p->ncolors; j++) {
            pal[j] = (png_color){ p->pal[j][0], p->pal[j][1], p->pal[j][2] };
            trans[j] = p->pal[j][3];
        }
        png_set_PLTE(png, info, pal, p->ncolors);
        if (p->ntrans)
            png_set_tRNS(png, info, trans, p->ntrans, NULL);
    }
    if (p->grey_trans >= 0) {
        png_color_16 grey = { .gray = (png_uint_16)p->grey_trans };
        png_set_tRNS(png, info, NULL, 0, &grey);
    }
    png_write_info(png, info);
    for (size_t off = 0; off < zlen; off += IDAT_MAX)
        png_write_chunk(png, (png_const_bytep) "IDAT", z + off,
                        zlen - off < IDAT_MAX ? zlen - off : IDAT_MAX);
    png_write_chunk(png, (png_const_bytep) "IEND", NULL, 0);
    png_destroy_write_struct(&png, &info);
    return CT_OK;
fail: /* png and info are not assigned after setjmp: safe to use here */
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    pngbuf_free(out);
    return CT_EINTERNAL;
}

int pngenc_rgba(const uint8_t *rgba, int w, int h, struct pngbuf *out)
{
    memset(out, 0, sizeof *out);
    if (w < 1 || h < 1 || w > 65536 || h > 65536)
        return CT_ETOOBIG;
    const size_t npx = (size_t)w * (size_t)h;
    struct plan plan;
    int err = plan_tile(rgba, npx, &plan);
    if (err)
        return err;

    static const int channels[] = { 1, 1, 2, 3, 4 };
    const int bits = channels[plan.layout] * plan.depth;
    const size_t rowbytes = ((size_t)w * (size_t)bits + 7) / 8;
    const size_t bpp = bits < 8 ? 1 : (size_t)bits / 8;
    uint8_t *img = NULL, *z = NULL;
    size_t zlen = 0;
    err = CT_ETOOBIG;
    if (rowbytes + 1 > SIZE_MAX / (size_t)h)
        goto out;
    const size_t imglen = (size_t)h * (rowbytes + 1);
    err = CT_ENOMEM;
    img = malloc(imglen);
    if (!img)
        goto out;
    err = filter_image(&plan, rgba, w, h, rowbytes, bpp, img);
    struct policy pol = POLICY[plan.layout];
    if (!err && pol.codec == C_RUNS) { /* zeros counted in every 8th row: 0.007 ms, not 0.05 */
        size_t zeros = 0, seen = 0;
        for (size_t y = 0; y < (size_t)h; y += 8, seen += rowbytes + 1)
            for (size_t i = 0; i <= rowbytes; i++)
                zeros += img[y * (rowbytes + 1) + i] == 0;
        pol.codec = zeros >= seen / 2 ? C_ZLIB_RLE : C_LIBDEFLATE;
    }
    if (!err)
        err = compress_image(&pol, img, imglen, &z, &zlen);
    if (!err)
        err = write_png(&plan, w, h, z, zlen, out);
out:
    free(z);
    free(img);
    free(plan.index);
    return err;
}
