/* pngenc.h - PNG encoding into memory with libpng and zlib. */
#ifndef COGTILER_PNGENC_H
#define COGTILER_PNGENC_H

#include <stddef.h>
#include <stdint.h>

struct pngbuf {
    unsigned char *data;
    size_t len, cap;
};

/* Encodes w x h RGBA pixels (row-major, 4 bytes each) losslessly in the
 * smallest colour type that holds them: 8-bit grey when every pixel is an
 * opaque grey; a palette (PLTE, plus tRNS when some alpha < 255; 1, 2, 4 or 8
 * bits per pixel) when there are at most 256 distinct RGBA values; else grey
 * + alpha, RGB when every alpha is 255, or RGBA. Returns 0 and fills *out
 * (free with pngbuf_free), or CT_ENOMEM / CT_ETOOBIG / CT_EINTERNAL. */
int pngenc_rgba(const uint8_t *rgba, int w, int h, struct pngbuf *out);

/* NULL-safe; releases the buffer and zeroes *b. */
void pngbuf_free(struct pngbuf *b);

#endif
