#include "pngenc.h"

#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

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
    int ncolors;          /* L_PALETTE */
    int ntrans;           /* palette entries with alpha < 255 (they come first) */
    uint8_t pal[256][4];  /* L_PALETTE, RGBA */
    uint8_t *index;       /* L_PALETTE: one palette index per pixel */
};

#define HASH_SLOTS 1024 /* power of two, > 2 x 256 */

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
    /* Entries with alpha < 255 first, so tRNS stops at the last of them. */
    uint8_t remap[256], sorted[256][4];
    int t = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < n; j++)
            if ((p->pal[j][3] < 255) == (pass == 0)) {
                remap[j] = (uint8_t)t;
                memcpy(sorted[t++], p->pal[j], 4);
            }
    p->ntrans = 0;
    for (int j = 0; j < n; j++)
        p->ntrans += p->pal[j][3] < 255;
    memcpy(p->pal, sorted, sizeof sorted[0] * (size_t)n);
    for (size_t i = 0; i < npx; i++)
        p->index[i] = remap[p->index[i]];
    p->ncolors = n;
    return 1;
}

static int plan_tile(const uint8_t *rgba, size_t npx, struct plan *p)
{
    int opaque = 1, grey = 1;
    for (size_t i = 0; i < npx && (opaque || grey); i++) {
        const uint8_t *q = rgba + 4 * i;
        opaque &= q[3] == 255;
        grey &= q[0] == q[1] && q[1] == q[2];
    }
    memset(p, 0, sizeof *p);
    if (grey && opaque) { /* 8-bit grey: as small as a palette, without PLTE */
        p->layout = L_GREY;
        return CT_OK;
    }
    int r = make_palette(rgba, npx, p);
    if (r < 0)
        return r;
    if (r == 1)
        p->layout = L_PALETTE;
    else
        p->layout = grey ? L_GREY_ALPHA : opaque ? L_RGB : L_RGBA;
    return CT_OK;
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

    png_structp png = NULL;
    png_infop info = NULL;
    /* The scratch row is set before setjmp and only freed after it. */
    unsigned char *row = malloc((size_t)w * 4);
    if (!row) {
        free(plan.index);
        return CT_ENOMEM;
    }
    err = CT_EINTERNAL;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png)
        goto out;
    info = png_create_info_struct(png);
    if (!info)
        goto out;
    if (setjmp(png_jmpbuf(png))) {
        err = CT_EINTERNAL;
        pngbuf_free(out);
        goto out;
    }
    png_set_write_fn(png, out, write_cb, flush_cb);
    static const int types[] = { PNG_COLOR_TYPE_PALETTE, PNG_COLOR_TYPE_GRAY,
                                 PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGBA };
    int depth = 8;
    if (plan.layout == L_PALETTE)
        depth = plan.ncolors <= 2 ? 1 : plan.ncolors <= 4 ? 2 : plan.ncolors <= 16 ? 4 : 8;
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, types[plan.layout],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (plan.layout == L_PALETTE) {
        png_color pal[256];
        png_byte trans[256];
        for (int j = 0; j < plan.ncolors; j++) {
            pal[j] = (png_color){ plan.pal[j][0], plan.pal[j][1], plan.pal[j][2] };
            trans[j] = plan.pal[j][3];
        }
        png_set_PLTE(png, info, pal, plan.ncolors);
        if (plan.ntrans)
            png_set_tRNS(png, info, trans, plan.ntrans, NULL);
    }
    /* Measured on real tiles (Blue Marble, Landsat and Sentinel-2 RGB, a
     * viridis DEM; see the closing notes of the foundation and Lambda issues):
     * zlib's RLE strategy with libpng choosing UP or SUB per row encodes 5-8x
     * faster than libpng's default (level 6, all five filters) at -8%..+10% of
     * its size. UP alone is as fast but doubles over-zoomed tiles (horizontal
     * runs of one colour are 3-4 bytes apart, out of RLE's reach until SUB
     * turns them into zeros); level 1 with the default strategy is 1.5-2x
     * slower; Huffman-only and fixed codes are slower and larger. */
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP | PNG_FILTER_SUB);
    png_set_compression_level(png, 6);
    png_set_compression_strategy(png, Z_RLE);
    png_write_info(png, info);
    if (depth < 8)
        png_set_packing(png); /* one index per byte in, packed bits out */
    for (int y = 0; y < h; y++) {
        const uint8_t *src = rgba + (size_t)y * (size_t)w * 4;
        switch (plan.layout) {
        case L_PALETTE:
            memcpy(row, plan.index + (size_t)y * (size_t)w, (size_t)w);
            break;
        case L_GREY:
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
            memcpy(row, src, (size_t)w * 4);
            break;
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    err = CT_OK;
out:
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    free(row);
    free(plan.index);
    return err;
}
