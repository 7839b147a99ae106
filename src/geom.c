#include "geom.h"

#include <stdlib.h>

void geom_free(struct polygon *polys, size_t n)
{
    for (size_t i = 0; polys && i < n; i++) {
        for (size_t k = 0; polys[i].rings && k < polys[i].nrings; k++)
            free(polys[i].rings[k].xy);
        free(polys[i].rings);
    }
    free(polys);
}
