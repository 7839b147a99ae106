/* tilestore.h - where exported tiles go, behind one interface: an MBTiles 1.3
 * file (SQLite; the only file with sqlite3.h) or a folder of {z}/{x}/{y}.EXT
 * files that a static host (S3, nginx) serves as they are. Every function is
 * safe to call from several threads at once. */
#ifndef COGTILER_TILESTORE_H
#define COGTILER_TILESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct tilestore;

/* Tiles put per MBTiles transaction (also committed after a second). */
#define TILESTORE_BATCH 256

/* What path names: TILESTORE_FOLDER when it ends in '/' or is a directory,
 * else TILESTORE_MBTILES when it ends in ".mbtiles", else 0 (neither). */
enum { TILESTORE_MBTILES = 1, TILESTORE_FOLDER };
int tilestore_kind(const char *path);

/* Opens path for tiles of extension ext ("png", "webp", "jpg"): a path that
 * ends in ".mbtiles" is an MBTiles file (created with the 1.3 schema, or
 * reopened to add tiles: its metadata "format" must then be ext), one that ends
 * in '/' or names a directory is a folder (created if missing, with its
 * parent). Returns 0 and *out (close with tilestore_close), or CT_EINVAL
 * (neither kind, or another format) / CT_EINTERNAL (cannot create or open)
 * with a message. */
int tilestore_open(const char *path, const char *ext, struct tilestore **out, char *msg,
                   size_t msgcap);

/* 1 when tile z/x/y (XYZ, y from the north) is already stored: a row of the
 * tiles table (whose tile_row is 2^z - 1 - y, MBTiles counting from the
 * south), or a file of non-zero size; else 0. */
int tilestore_has(struct tilestore *s, int z, uint64_t x, uint64_t y);

/* Stores len bytes as tile z/x/y, replacing any. MBTiles: inserted in the
 * open transaction (committed every TILESTORE_BATCH tiles or second); a
 * folder: written under a temporary name in the tile's directory and renamed,
 * so no reader and no interrupted run ever sees part of a tile. 0, or
 * CT_EINTERNAL with a message. */
int tilestore_put(struct tilestore *s, int z, uint64_t x, uint64_t y, const void *data,
                  size_t len, char *msg, size_t msgcap);

/* Sets the metadata pairs (MBTiles: rows of the metadata table, replacing
 * those of the same name; a folder: metadata.json, one string member each).
 * minzoom and maxzoom of an MBTiles file are widened to the zooms its tiles
 * table holds when it is closed. 0, or CT_EINTERNAL with a message. */
int tilestore_set_meta(struct tilestore *s, const struct kv *meta, size_t n, char *msg,
                       size_t msgcap);

/* 0 when the store's metadata has no member name, or has it equal to value;
 * else CT_EINVAL with a message naming both (a re-run must not add tiles of
 * another rendering to those already stored). */
int tilestore_check_meta(struct tilestore *s, const char *name, const char *value, char *msg,
                         size_t msgcap);

/* Commits what is pending and closes. NULL-safe. 0, or CT_EINTERNAL (the last
 * commit failed) with a message. */
int tilestore_close(struct tilestore *s, char *msg, size_t msgcap);

#endif
