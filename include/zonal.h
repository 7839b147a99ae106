/* zonal.h - the statistics of a raster's bands over polygons (docs/ZONAL.md):
 * the polygons' window cut into chunks of whole blocks, chunks the polygons
 * miss never read, each kept chunk read over the polygons' extent within it,
 * folded one after another into one mergeable accumulator per band. */
#ifndef COGTILER_ZONAL_H
#define COGTILER_ZONAL_H

#include <stddef.h>
#include <stdint.h>

#include "geom.h"
#include "raster.h"
#include "stats.h"

enum zonal_coverage {
    ZONAL_CENTER = 0, /* cells whose centre is inside (gdal_rasterize) */
    ZONAL_ALL_TOUCHED,/* cells the polygons touch (gdal_rasterize -at) */
    ZONAL_EXACT,      /* every cell, weighted by its covered fraction */
};

struct zonal_opts {
    enum zonal_coverage coverage;
    int nbands;
    const int *bands;           /* 1-based */
    int has_nodata;             /* nodata replaces the source's nodata and masks */
    double nodata;
    long long max_cells;        /* a window of more cells is refused (CT_ETOOLARGE) */
    long long chunk_cells;      /* cells per chunk (at least one block is read at once) */
    int max_unique;             /* exact value counts up to this many distinct values */
    int max_size;               /* > 0: read the finest overview whose window fits max_size^2 */
    long long deadline_ms;      /* epoch ms; 0 = none */
    /* The chunks to run, in the order of the plan (row by row): nchunks from
     * first_chunk; nchunks 0 = every chunk (the zone's plan counts them). */
    long long first_chunk, nchunks;
    /* NULL: band values are the source's (raster_zone_read). Else the one band
     * (nbands 1) is what read() computes on the cells win of the zone's grid
     * (a derived layer: derive_chunk), into v and valid (win->w * win->h). */
    int (*read)(void *ctx, struct raster_zone *z, const struct raster_window *win, double *v,
                uint8_t *valid, char *msg, size_t msgcap);
    void *read_ctx;
    /* Called after each chunk with the cells done and in all (for a progress bar). */
    void (*progress)(void *ctx, long long done, long long total);
    void *progress_ctx;
};

/* What was read. */
struct zonal_info {
    int level;                  /* the overview level read, -1: full resolution */
    long long window_cells;     /* cells of the polygons' window */
    long long chunks, chunks_read;
    long long cells_read;
};

/* What runs of a zone read, known before reading: the level, the window's
 * cells and the number of chunks, the unit of a fan-out's parts (fanout.h). */
struct zonal_plan {
    int level;
    long long window_cells;
    long long nchunks;
};

/* The polygons polys[0..n) (longitude/latitude) on r's grid, at the level
 * o->max_size picks, with the chunk grid of o->chunk_cells: transformed once,
 * run as often as wanted (the whole plan, or chunk ranges) on the thread that
 * owns r. */
struct zonal_zone;

/* 0 and *out (free with zonal_close); CT_EOUTSIDE when the polygons miss the
 * raster; CT_ETOOLARGE when the window holds more than o->max_cells (msg
 * gives the count); CT_EINVAL, CT_ENOMEM; with msg. */
int zonal_open(struct raster *r, const struct polygon *polys, size_t n, const struct zonal_opts *o,
               struct zonal_zone **out, char *msg, size_t msgcap);

/* NULL-safe. */
void zonal_close(struct zonal_zone *zz);

const struct zonal_plan *zonal_zone_plan(const struct zonal_zone *zz);

/* Folds the cells of the zone into out[0..o->nbands), accumulators the
 * caller made with stats_new(): the chunks o names (all by default; o's
 * max_size, max_cells and chunk_cells are the zone's, given to zonal_open).
 * The same chunks in any grouping give the same statistics (to rounding).
 * *info says what was read. Returns 0; CT_ETIMEOUT at the deadline; CT_EINVAL
 * (a chunk range outside the plan), CT_ENOMEM, or the source's faults; with
 * msg. */
int zonal_run(struct zonal_zone *zz, const struct zonal_opts *o, struct stats **out,
              struct zonal_info *info, char *msg, size_t msgcap);

#endif
