/* fuzz_png.c - libFuzzer target for the PNG encoder (pngenc.h), whose row
 * filters (vectorised PAETH, SUB/UP per row) and compression choice are
 * cogtiler's own: any bytes become a tile, are encoded, and must decode with
 * libpng (its simplified API, an independent reader) to the same RGBA pixels.
 * The first two bytes give the width and height (1..64), the third how many
 * distinct colours to draw from (so every layout is reached: grey, palettes of
 * 1-8 bits with and without transparency, grey+alpha, RGB, RGBA), the rest
 * the pixels.
 *
 * With -DCOGTILER_LIBFUZZER it is linked against libFuzzer; without, a plain
 * main() replays files (fuzz_replay.h). Seed corpus: test/png-corpus/. */
#include <png.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pngenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const int w = 1 + data[0] % 64, h = 1 + data[1] % 64, ncol = 1 + data[2];
    const uint8_t *rest = data + 3;
    size_t nrest = size - 3, npx = (size_t)w * (size_t)h;
    uint8_t *rgba = malloc(npx * 4);
    if (!rgba)
        return 0;
    /* a table of ncol colours from the input (grey when its byte is even),
     * then one table index per pixel */
    uint8_t table[256][4];
    for (int c = 0; c < ncol; c++) {
        for (int k = 0; k < 4; k++)
            table[c][k] = nrest ? rest[(size_t)(4 * c + k) % nrest] : (uint8_t)(c * 37 + k);
        if (!(table[c][0] & 1))
            table[c][1] = table[c][2] = table[c][0];
        if (data[2] & 0x80 && ncol < 128)
            table[c][3] = 255; /* opaque */
    }
    for (size_t i = 0; i < npx; i++) {
        uint8_t v = nrest ? rest[(i + (size_t)4 * (size_t)ncol) % nrest] : (uint8_t)i;
        memcpy(rgba + 4 * i, table[v % ncol], 4);
    }
    /* more than 256 colours: perturb with the input's bytes */
    if (ncol == 256)
        for (size_t i = 0; i < npx * 4 && nrest; i++)
            rgba[i] ^= rest[i % nrest] & 0x0f;

    struct pngbuf out;
    if (pngenc_rgba(rgba, w, h, &out) != 0)
        abort();
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, out.data, out.len))
        abort();
    im.format = PNG_FORMAT_RGBA;
    uint8_t *back = malloc(PNG_IMAGE_SIZE(im));
    if (!back || (int)im.width != w || (int)im.height != h ||
        !png_image_finish_read(&im, NULL, back, 0, NULL))
        abort();
    /* equal where visible; a clear pixel may come back as any clear colour */
    for (size_t i = 0; i < npx; i++) {
        const uint8_t *a = rgba + 4 * i, *b = back + 4 * i;
        if (a[3] != b[3] || (a[3] && memcmp(a, b, 3) != 0))
            abort();
    }
    free(back);
    pngbuf_free(&out);
    free(rgba);
    return 0;
}

#ifndef COGTILER_LIBFUZZER
#include "fuzz_replay.h"

int main(int argc, char **argv)
{
    return fuzz_replay_main("fuzz_png", argc, argv);
}
#endif
