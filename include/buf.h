/* buf.h - a growable byte buffer, kept NUL-terminated after its n bytes (so
 * that text can be read as a string): what the Lambda runtime reads an event
 * into, a fan-out reads a part's answer into, and stats_pack() writes. Pure. */
#ifndef COGTILER_BUF_H
#define COGTILER_BUF_H

#include <stddef.h>

struct buf {
    char *p;     /* NULL until the first byte */
    size_t n;    /* bytes held (the NUL not counted) */
    size_t cap;
    int oom;     /* an append failed: later appends do nothing */
};

/* Appends data[0..len): 0, or CT_ENOMEM (or CT_ETOOBIG when the size would
 * overflow), after which b->oom is set and b keeps what it held. */
int buf_add(struct buf *b, const void *data, size_t len);

/* Empties b for reuse, keeping its memory (and clearing oom). */
void buf_reset(struct buf *b);

/* Frees b->p and empties b. */
void buf_free(struct buf *b);

#endif
