#include "zonal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coverage.h"
#include "err.h"
#include "http.h"

/* The buffers of one chunk, allocated once for the largest. */
struct chunk_bufs {
    double *w;       /* weights (0: not in the zone) */
    double *v;       /* values */
    uint8_t *valid;
    uint8_t *mask;
    double *area;    /* per cell, for a geographic grid */
    double *wk;      /* weights of the shrunk window */
};

static void bufs_free(struct chunk_bufs *b)
{
    free(b->w);
    free(b->v);
    free(b->valid);
    free(b->mask);
    free(b->area);
    free(b->wk);
}

static int bufs_alloc(struct chunk_bufs *b, size_t cells, int by_row)
{
    memset(b, 0, sizeof *b);
    if (cells > SIZE_MAX / sizeof(double))
        return CT_ETOOBIG;
    b->w = malloc(cells * sizeof *b->w);
    b->v = malloc(cells * sizeof *b->v);
    b->wk = malloc(cells * sizeof *b->wk);
    b->valid = malloc(cells);
    b->mask = malloc(cells);
    b->area = by_row ? malloc(cells * sizeof *b->area) : NULL;
    if (!b->w || !b->v || !b->wk || !b->valid || !b->mask || (by_row && !b->area)) {
        bufs_free(b);
        return CT_ENOMEM;
    }
    return CT_OK;
}

/* The zone's polygons in cell coordinates, as coverage.h takes them. */
struct cov_zone {
    struct cov_polygon *polys;
    struct cov_ring *rings;
    size_t n;
};

static int cov_zone_new(struct raster_zone *z, struct cov_zone *cz)
{
    size_t np, nr = 0;
    const struct polygon *p = raster_zone_cells(z, &np);
    for (size_t i = 0; i < np; i++)
        nr += p[i].nrings;
    cz->polys = calloc(np ? np : 1, sizeof *cz->polys);
    cz->rings = calloc(nr ? nr : 1, sizeof *cz->rings);
    cz->n = np;
    if (!cz->polys || !cz->rings)
        return CT_ENOMEM;
    for (size_t i = 0, k = 0; i < np; i++) {
        cz->polys[i] = (struct cov_polygon){ cz->rings + k, p[i].nrings };
        for (size_t j = 0; j < p[i].nrings; j++, k++)
            cz->rings[k] = (struct cov_ring){ p[i].rings[j].xy, p[i].rings[j].n };
    }
    return CT_OK;
}

static void cov_zone_free(struct cov_zone *cz)
{
    free(cz->polys);
    free(cz->rings);
}

/* The zone's weights over win into b->w: 0/1 from GDAL's rasterizer, or the
 * exact covered fractions. */
static int weights(struct raster_zone *z, const struct cov_zone *cz,
                   const struct raster_window *win, enum zonal_coverage cov,
                   struct chunk_bufs *b, char *msg, size_t msgcap)
{
    const size_t n = (size_t)win->w * (size_t)win->h;
    if (cov == ZONAL_EXACT) {
        int err = coverage_fractions(cz->polys, cz->n, win->x, win->y, win->w, win->h, b->w);
        if (err)
            snprintf(msg, msgcap, err == CT_ETOOLARGE
                                      ? "the polygon has too many edges for exact coverage"
                                      : "cannot compute the covered fractions");
        return err;
    }
    int err = raster_zone_mask(z, win, cov == ZONAL_ALL_TOUCHED, b->mask, msg, msgcap);
    for (size_t i = 0; !err && i < n; i++)
        b->w[i] = b->mask[i];
    return err;
}

/* The bounding box of the cells of weight > 0 in win (relative to it); 0
 * when there is none. */
static int extent(const double *w, const struct raster_window *win, struct raster_window *box)
{
    int x0 = win->w, y0 = win->h, x1 = -1, y1 = -1;
    for (int r = 0; r < win->h; r++) {
        const double *row = w + (size_t)r * win->w;
        int first = -1, last = -1;
        for (int c = 0; c < win->w; c++)
            if (row[c] > 0) {
                if (first < 0)
                    first = c;
                last = c;
            }
        if (first < 0)
            continue;
        x0 = first < x0 ? first : x0;
        x1 = last > x1 ? last : x1;
        y0 = r < y0 ? r : y0;
        y1 = r;
    }
    if (x1 < 0)
        return 0;
    *box = (struct raster_window){ x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
    return 1;
}

/* The finest overview level whose window fits max_size cells a side (the
 * coarsest when none does); -1 when full resolution fits. */
static int pick_level(struct raster *r, const struct raster_window *full, int max_size)
{
    const struct raster_info *in = raster_get_info(r);
    if (full->w <= max_size && full->h <= max_size)
        return -1;
    int level = in->noverviews > 16 ? 15 : in->noverviews - 1;
    for (int i = 0; i < in->noverviews && i < 16; i++) {
        double fx = (double)in->width / in->ovr_width[i], fy = (double)in->height / in->ovr_height[i];
        if (full->w / fx <= max_size && full->h / fy <= max_size) {
            level = i;
            break;
        }
    }
    return level;
}

/* The polygons on the raster's grid at the level max_size picks, the window
 * checked against max_cells, and the chunk grid: what a plan reports and
 * every run reads. */
struct zonal_zone {
    struct raster_zone *z;
    struct zonal_plan plan;
    long long cw, ch;                 /* a chunk's size */
    long long x0, y0;                 /* the first chunk's corner (block-aligned) */
    long long nx;                     /* chunks across */
};

void zonal_close(struct zonal_zone *zz)
{
    if (!zz)
        return;
    raster_zone_free(zz->z);
    free(zz);
}

int zonal_open(struct raster *r, const struct polygon *polys, size_t n, const struct zonal_opts *o,
               struct zonal_zone **out, char *msg, size_t msgcap)
{
    struct zonal_zone *L = calloc(1, sizeof *L);
    *out = NULL;
    if (!L) {
        snprintf(msg, msgcap, "out of memory");
        return CT_ENOMEM;
    }
    L->plan.level = -1;
    int err = raster_zone_new(r, polys, n, -1, &L->z, msg, msgcap);
    if (!err && o->max_size > 0 && raster_get_info(r)->noverviews > 0) {
        int level = pick_level(r, raster_zone_window(L->z), o->max_size);
        if (level >= 0) {
            raster_zone_free(L->z);
            L->z = NULL;
            L->plan.level = level;
            err = raster_zone_new(r, polys, n, level, &L->z, msg, msgcap);
        }
    }
    const struct raster_window *win = err ? NULL : raster_zone_window(L->z);
    if (win) {
        L->plan.window_cells = (long long)win->w * win->h;
        if (L->plan.window_cells > o->max_cells) {
            snprintf(msg, msgcap, "the polygon's window holds %lld cells, over max_cells (%lld)",
                     L->plan.window_cells, o->max_cells);
            err = CT_ETOOLARGE;
        }
    }
    if (err) {
        zonal_close(L);
        return err;
    }
    /* Chunks of whole blocks, aligned to the block grid: as wide as the
     * window allows within the budget, then as tall. */
    int bw, bh;
    raster_zone_blocks(L->z, &bw, &bh);
    long long budget = o->chunk_cells > 0 ? o->chunk_cells : 1;
    long long across = (win->x + win->w - 1) / bw - win->x / bw + 1; /* blocks the window spans */
    long long kx = budget / ((long long)bw * bh);
    kx = kx < 1 ? 1 : kx > across ? across : kx;
    long long ky = budget / (kx * bw * bh);
    L->cw = kx * bw;
    L->ch = (ky < 1 ? 1 : ky) * bh;
    /* (chunks start at the window's first block, so that each is whole blocks) */
    L->x0 = win->x / bw * bw;
    L->y0 = win->y / bh * bh;
    L->nx = (win->x + win->w - L->x0 + L->cw - 1) / L->cw;
    L->plan.nchunks = L->nx * ((win->y + win->h - L->y0 + L->ch - 1) / L->ch);
    *out = L;
    return CT_OK;
}

const struct zonal_plan *zonal_zone_plan(const struct zonal_zone *zz)
{
    return &zz->plan;
}

/* Chunk k of the plan, clipped to the window. */
static struct raster_window chunk_window(const struct zonal_zone *L, long long k)
{
    const struct raster_window *win = raster_zone_window(L->z);
    long long cx = L->x0 + k % L->nx * L->cw, cy = L->y0 + k / L->nx * L->ch;
    long long x0 = cx > win->x ? cx : win->x, y0 = cy > win->y ? cy : win->y;
    long long x1 = cx + L->cw < win->x + win->w ? cx + L->cw : win->x + win->w;
    long long y1 = cy + L->ch < win->y + win->h ? cy + L->ch : win->y + win->h;
    return (struct raster_window){ (int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0) };
}

int zonal_run(struct zonal_zone *L, const struct zonal_opts *o, struct stats **out,
              struct zonal_info *info, char *msg, size_t msgcap)
{
    struct chunk_bufs b = { 0 };
    struct cov_zone cz = { 0 };
    struct raster_zone *z = L->z;
    int err = CT_OK;
    *info = (struct zonal_info){ L->plan.level, L->plan.window_cells, 0, 0, 0 };
    long long cells = L->cw * L->ch;
    long long first = o->first_chunk, last = L->plan.nchunks;
    if (o->nchunks > 0 && first + o->nchunks < last)
        last = first + o->nchunks;
    if (first < 0 || first > last) {
        snprintf(msg, msgcap, "chunks %lld+%lld: the plan has %lld", first, o->nchunks,
                 L->plan.nchunks);
        return CT_EINVAL;
    }
    if (o->coverage == ZONAL_EXACT && (err = cov_zone_new(z, &cz))) {
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    if ((err = bufs_alloc(&b, (size_t)cells, raster_zone_area_by_row(z)))) {
        snprintf(msg, msgcap, "a chunk of %lld cells is too large for memory", cells);
        goto out;
    }
    long long done = 0, total = 0;
    for (long long k = first; k < last; k++) { /* the cells of the chunks to run */
        struct raster_window cwin = chunk_window(L, k);
        total += (long long)cwin.w * cwin.h;
    }
    for (long long k = first; k < last; k++) {
        if (o->deadline_ms && http_clock_ms() >= o->deadline_ms) {
            snprintf(msg, msgcap, "deadline reached after %lld chunks (%lld read)",
                     info->chunks, info->chunks_read);
            err = CT_ETIMEOUT;
            goto out;
        }
        struct raster_window cwin = chunk_window(L, k);
        struct raster_window box;
        info->chunks++;
        if ((err = weights(z, &cz, &cwin, o->coverage, &b, msg, msgcap)))
            goto out;
        done += (long long)cwin.w * cwin.h;
        if (extent(b.w, &cwin, &box)) { /* read only the zone's extent */
            struct raster_window rwin = { cwin.x + box.x, cwin.y + box.y, box.w, box.h };
            size_t kk = 0;
            for (int rr = 0; rr < box.h; rr++) {
                const double *src = b.w + (size_t)(box.y + rr) * cwin.w + box.x;
                double a = raster_zone_cell_area(z, rwin.y + rr);
                for (int c = 0; c < box.w; c++, kk++) {
                    b.wk[kk] = src[c];
                    if (b.area)
                        b.area[kk] = a;
                }
            }
            info->chunks_read++;
            info->cells_read += (long long)rwin.w * rwin.h;
            for (int i = 0; i < o->nbands; i++) {
                err = o->read ? o->read(o->read_ctx, z, &rwin, b.v, b.valid, msg, msgcap)
                              : raster_zone_read(z, o->bands[i], &rwin,
                                                 o->has_nodata ? &o->nodata : NULL, b.v, b.valid,
                                                 msg, msgcap);
                if (!err && (err = stats_add(out[i], b.v, b.wk, b.valid, b.area,
                                             raster_zone_cell_area(z, rwin.y), kk)))
                    snprintf(msg, msgcap, "out of memory");
                if (err)
                    goto out;
            }
            raster_zone_forget(z);
        }
        if (o->progress)
            o->progress(o->progress_ctx, done, total);
    }
out:
    bufs_free(&b);
    cov_zone_free(&cz);
    return err;
}
