#include "derive.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "err.h"

void derive_clear(struct derive *d)
{
    expr_free(d->expr);
    d->expr = NULL;
}

int derive_uses(const struct derive *d, int i)
{
    return !d->expr || expr_uses(d->expr, i);
}

int derive_intersects(const struct derive *d, const struct bbox *ll)
{
    for (int i = 0; i < d->n; i++)
        if (derive_uses(d, i) && !raster_intersects(d->in[i].r, ll))
            return 0;
    return 1;
}

/* Per-input buffers of count cells (values and validity), allocated together. */
struct inputs {
    double *v[DERIVE_MAX_INPUTS];
    uint8_t *ok[DERIVE_MAX_INPUTS];
    double *scratch;  /* a padded read */
    uint8_t *smask;
};

static void inputs_free(struct inputs *b)
{
    for (int i = 0; i < DERIVE_MAX_INPUTS; i++) {
        free(b->v[i]);
        free(b->ok[i]);
    }
    free(b->scratch);
    free(b->smask);
}

/* The buffers of count cells each: for every input the expression uses
 * (tiles: only terrain inputs, the others take over their read's buffers),
 * and the padded scratch of terrain reads (statistics only). */
static int inputs_alloc(const struct derive *d, size_t count, size_t padded, int tile,
                        struct inputs *b)
{
    memset(b, 0, sizeof *b);
    if (padded > SIZE_MAX / sizeof(double))
        return CT_ETOOBIG;
    for (int i = 0; i < d->n; i++)
        if (derive_uses(d, i) && (!tile || d->in[i].terrain) &&
            (!(b->v[i] = malloc(count * sizeof(double))) || !(b->ok[i] = malloc(count))))
            return CT_ENOMEM;
    if (!tile && (!(b->scratch = malloc(padded * sizeof(double))) || !(b->smask = malloc(padded))))
        return CT_ENOMEM;
    return CT_OK;
}

/* The inputs' values into the derived band: v[] and state[] (count cells). */
static int combine(const struct derive *d, struct inputs *b, size_t count, double *v,
                   uint8_t *state, char *msg, size_t msgcap)
{
    if (d->expr) {
        int err = expr_eval(d->expr, b->v, count, v, msg, msgcap);
        if (err)
            return err;
        for (size_t k = 0; k < count; k++) {
            int ok = !isnan(v[k]);
            for (int i = 0; ok && i < d->n; i++)
                ok = !b->ok[i] || b->ok[i][k];
            state[k] = ok ? DERIVE_VALUE : DERIVE_NODATA;
        }
        return CT_OK;
    }
    /* each input remapped in a pass of its own (a lookup table for whole
     * values 0..255, a Byte input's), then the rule of each cell */
    double w[DERIVE_MAX_INPUTS], cto[DERIVE_MAX_INPUTS];
    unsigned char ck[DERIVE_MAX_INPUTS], lk[256];
    double lto[256];
    for (int i = 0; i < d->n; i++)
        w[i] = d->in[i].weight;
    /* in place: b->ok[i] becomes the kind, b->v[i] the remapped value */
    for (int i = 0; i < d->n; i++) {
        const struct remap *m = d->in[i].remap;
        double *vi = b->v[i];
        uint8_t *oi = b->ok[i];
        overlay_remap_lut(m, lk, lto);
        for (size_t k = 0; k < count; k++) {
            double x = vi[k], t = 0;
            unsigned char c;
            if (!oi[k])
                c = REMAP_NODATA;
            else if (x >= 0 && x <= 255 && x == (double)(int)x)
                c = lk[(int)x], t = lto[(int)x];
            else
                c = (unsigned char)overlay_remap(m, x, &t);
            oi[k] = c;
            vi[k] = t;
        }
    }
    for (size_t k = 0; k < count; k++) {
        for (int i = 0; i < d->n; i++) {
            ck[i] = b->ok[i][k];
            cto[i] = b->v[i][k];
        }
        double s = 0;
        enum overlay_cell c = overlay_combine(d->n, ck, cto, w, d->round, d->smin, d->smax, &s);
        state[k] = c == OVERLAY_SCORE ? DERIVE_VALUE
                   : c == OVERLAY_RESTRICTED ? DERIVE_RESTRICTED
                                             : DERIVE_NODATA;
        v[k] = c == OVERLAY_SCORE ? s : c == OVERLAY_RESTRICTED ? d->smin - 1 : NAN;
    }
    return CT_OK;
}

/* Slope or aspect of the padded window (w + 2) x (h + 2) in b->scratch into input i. */
static int terrain(const struct derive_input *in, struct inputs *b, int i, int w, int h,
                   double ewres, double nsres, double scale, char *msg, size_t msgcap)
{
    int err = algo_terrain(in->terrain == TERRAIN_SLOPE ? ALGO_SLOPE : ALGO_ASPECT, b->scratch,
                           b->smask, w, h, ewres, nsres, scale, b->v[i], b->ok[i]);
    if (err == CT_EINVAL) {
        snprintf(msg, msgcap, "terrain: bad window");
        return CT_EINTERNAL;
    }
    return err;
}

int derive_tile(const struct derive *d, const struct bbox *merc, int size, double lat,
                double *v, uint8_t *state, char *msg, size_t msgcap)
{
    struct inputs b;
    const size_t count = (size_t)size * (size_t)size;
    const size_t padded = (size_t)(size + 2) * (size_t)(size + 2);
    int err = inputs_alloc(d, count, padded, 1, &b);
    const double px = (merc->maxx - merc->minx) / size;
    for (int i = 0; !err && i < d->n; i++) {
        const struct derive_input *in = &d->in[i];
        if (!derive_uses(d, i))
            continue;
        struct raster_read_opts ro = { .resampling = in->resampling, .nbands = 1,
                                       .bands = { in->band }, .as_double = 1,
                                       .deadline_ms = d->deadline_ms };
        struct raster_tile t = { 0 };
        const int pad = in->terrain ? 1 : 0;
        struct bbox win = { merc->minx - pad * px, merc->miny - pad * px, merc->maxx + pad * px,
                            merc->maxy + pad * px };
        if ((err = raster_read(in->r, &win, size + 2 * pad, &ro, &t, msg, msgcap)))
            break;
        /* the read's buffers become the input's (no copy); is_byte is 0 (as_double) */
        double *tv = t.data;
        uint8_t *tm = t.mask;
        if (in->terrain) {
            free(b.scratch);
            free(b.smask);
            b.scratch = tv;
            b.smask = tm;
            /* gdaldem slope -s cos(lat) on the Web Mercator window: ground metres */
            err = terrain(in, &b, i, size, size, px, -px, cos(lat * M_PI / 180), msg, msgcap);
        } else {
            free(b.v[i]);
            free(b.ok[i]);
            b.v[i] = tv;
            b.ok[i] = tm;
            for (size_t k = 0; k < count; k++)
                tm[k] = tm[k] != 0 && !isnan(tv[k]);
        }
    }
    if (!err)
        err = combine(d, &b, count, v, state, msg, msgcap);
    if (err == CT_ENOMEM || err == CT_ETOOBIG)
        snprintf(msg, msgcap, "out of memory");
    inputs_free(&b);
    return err;
}

int derive_chunk(void *ctx, struct raster_zone *z, const struct raster_window *win, double *v,
                 uint8_t *valid, char *msg, size_t msgcap)
{
    const struct derive *d = ctx;
    struct inputs b;
    const size_t count = (size_t)win->w * (size_t)win->h;
    const size_t padded = (size_t)(win->w + 2) * (size_t)(win->h + 2);
    uint8_t *state = malloc(count ? count : 1);
    int err = state ? inputs_alloc(d, count, padded, 0, &b) : CT_ENOMEM;
    double ewres, nsres, scale;
    raster_zone_terrain(z, &ewres, &nsres, &scale);
    for (int i = 0; !err && i < d->n; i++) {
        const struct derive_input *in = &d->in[i];
        if (!derive_uses(d, i))
            continue;
        const int own = in->r == d->in[d->grid].r; /* the grid's raster */
        if (own && !in->terrain) { /* the grid's own cells */
            err = raster_zone_read(z, in->band, win, NULL, b.v[i], b.ok[i], msg, msgcap);
            continue;
        }
        const int pad = in->terrain ? 1 : 0;
        /* the grid input's terrain: its own cells plus a ring, no resampling */
        const char *rs = own ? "near" : in->resampling;
        double *dst = pad ? b.scratch : b.v[i];
        uint8_t *dok = pad ? b.smask : b.ok[i];
        err = raster_zone_warp(z, in->r, in->band, win, pad, rs, d->deadline_ms, dst, dok, msg,
                               msgcap);
        if (!err && pad)
            err = terrain(in, &b, i, win->w, win->h, ewres, nsres, scale, msg, msgcap);
        for (size_t k = 0; !err && !pad && k < count; k++)
            b.ok[i][k] = b.ok[i][k] && !isnan(b.v[i][k]);
    }
    if (!err)
        err = combine(d, &b, count, v, state, msg, msgcap);
    for (size_t k = 0; !err && k < count; k++)
        valid[k] = state[k] != DERIVE_NODATA;
    if (err == CT_ENOMEM || err == CT_ETOOBIG)
        snprintf(msg, msgcap, "out of memory");
    if (state)
        inputs_free(&b);
    free(state);
    return err;
}
