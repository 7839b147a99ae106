#include "page.h"

#include <stdlib.h>
#include <string.h>

char *page_fill(const char *tpl, size_t len, const char *const kv[][2], size_t nkv,
                size_t *outlen)
{
    size_t n = 0; /* two passes: measure, then copy */
    char *out = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t at = 0;
        for (size_t i = 0; i < len;) {
            size_t k = nkv;
            if (tpl[i] == '{' && i + 1 < len && tpl[i + 1] == '{')
                for (k = 0; k < nkv; k++) {
                    size_t kl = strlen(kv[k][0]);
                    if (len - i >= kl + 4 && memcmp(tpl + i + 2, kv[k][0], kl) == 0 &&
                        memcmp(tpl + i + 2 + kl, "}}", 2) == 0)
                        break;
                }
            const char *src = k < nkv ? kv[k][1] : tpl + i;
            size_t sl = k < nkv ? strlen(kv[k][1]) : 1;
            if (pass)
                memcpy(out + at, src, sl);
            at += sl;
            i += k < nkv ? strlen(kv[k][0]) + 4 : 1;
        }
        if (!pass) {
            n = at;
            if (!(out = malloc(n + 1)))
                return NULL;
        }
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}
