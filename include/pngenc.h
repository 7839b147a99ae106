/* pngenc.h - PNG encoding into memory with libpng and zlib. */
#ifndef COGTILER_PNGENC_H
#define COGTILER_PNGENC_H

#include <stddef.h>
#include <stdint.h>

struct pngbuf {
    unsigned char *data;
    size_t len, cap;
};

/* Encodes w x h RGBA pixels (row-major, 4 bytes each). The PNG is RGB when
 * every alpha is 255, RGBA otherwise. Returns 0 and fills *out (free with
 * pngbuf_free), or CT_ENOMEM / CT_ETOOBIG / CT_EINTERNAL. */
int pngenc_rgba(const uint8_t *rgba, int w, int h, struct pngbuf *out);

/* NULL-safe; releases the buffer and zeroes *b. */
void pngbuf_free(struct pngbuf *b);

#endif
