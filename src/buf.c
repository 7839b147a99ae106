#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int buf_add(struct buf *b, const void *data, size_t len)
{
    if (b->oom)
        return CT_ENOMEM;
    if (len > SIZE_MAX / 2 - 1 - b->n) {
        b->oom = 1;
        return CT_ETOOBIG;
    }
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return CT_ENOMEM;
        }
        b->p = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
    return CT_OK;
}

void buf_reset(struct buf *b)
{
    b->n = 0;
    b->oom = 0;
    if (b->p)
        b->p[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->p);
    *b = (struct buf){ 0 };
}
