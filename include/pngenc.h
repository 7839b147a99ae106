/* pngenc.h - PNG encoding into memory with libpng, libdeflate and zlib. */
#ifndef COGTILER_PNGENC_H
#define COGTILER_PNGENC_H

#include <stddef.h>
#include <stdint.h>

struct pngbuf {
    unsigned char *data;
    size_t len, cap;
};

/* Encodes w x h RGBA pixels (row-major, 4 bytes each) losslessly in the
 * smallest colour type that holds them: 1-bit grey (plus a grey tRNS when
 * clear) when every pixel is (0,0,0,0) or every one (0,0,0,255), about 100
 * bytes at 256 px; 8-bit grey when every pixel is an opaque grey; a palette
 * (PLTE, plus tRNS when some alpha < 255; 1, 2, 4 or 8 bits per pixel) when
 * there are at most 256 distinct RGBA values; else grey + alpha, RGB when
 * every alpha is 255, or RGBA. libpng writes the container, libdeflate or
 * zlib the image data. Returns 0 and fills *out (free with pngbuf_free), or
 * CT_ENOMEM / CT_ETOOBIG / CT_EINTERNAL. */
int pngenc_rgba(const uint8_t *rgba, int w, int h, struct pngbuf *out);

/* NULL-safe; releases the buffer and zeroes *b. */
void pngbuf_free(struct pngbuf *b);

#endif
