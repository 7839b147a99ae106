/* tilestore.c - MBTiles files (SQLite) and folders of tiles. */
#include "tilestore.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

struct tilestore {
    char *path;         /* the file, or the folder without a trailing '/' */
    char ext[8];
    sqlite3 *db;        /* NULL for a folder */
    sqlite3_stmt *has, *put;
    pthread_mutex_t lock; /* the connection: one thread at a time */
    int in_tx;          /* a transaction is open */
    int pending;        /* tiles put in it */
    double tx_start;    /* when it began (monotonic ms) */
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* --- MBTiles -------------------------------------------------------------------- */

static int db_fail(struct tilestore *s, const char *what, char *msg, size_t msgcap)
{
    snprintf(msg, msgcap, "%s: %s: %s", s->path, what, s->db ? sqlite3_errmsg(s->db) : "");
    return CT_EINTERNAL;
}

static int exec(struct tilestore *s, const char *sql, char *msg, size_t msgcap)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, sql, msg, msgcap);
    return CT_OK;
}

/* The metadata value called name into buf ("" when absent). */
static void meta_get(struct tilestore *s, const char *name, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM metadata WHERE name = ?", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static int mbtiles_open(struct tilestore *s, char *msg, size_t msgcap)
{
    /* One connection used under our lock: SQLite's own mutexes are not needed. */
    if (sqlite3_open_v2(s->path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return db_fail(s, "cannot open", msg, msgcap);
    sqlite3_busy_timeout(s->db, 5000);
    /* The MBTiles 1.3 schema; the unique index makes a tile's row its key. A
     * rollback journal (not WAL) leaves one self-contained file to copy. */
    int err = exec(s,
                   "PRAGMA synchronous = NORMAL;"
                   "CREATE TABLE IF NOT EXISTS metadata (name text, value text);"
                   "CREATE UNIQUE INDEX IF NOT EXISTS name ON metadata (name);"
                   "CREATE TABLE IF NOT EXISTS tiles (zoom_level integer, tile_column integer,"
                   " tile_row integer, tile_data blob);"
                   "CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles"
                   " (zoom_level, tile_column, tile_row);",
                   msg, msgcap);
    if (err)
        return err;
    char fmt[32];
    meta_get(s, "format", fmt, sizeof fmt);
    if (*fmt && strcmp(fmt, s->ext)) {
        snprintf(msg, msgcap, "%s holds %s tiles, not %s", s->path, fmt, s->ext);
        return CT_EINVAL;
    }
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM tiles WHERE zoom_level = ? AND tile_column = ?"
                           " AND tile_row = ?",
                           -1, &s->has, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row,"
                           " tile_data) VALUES (?, ?, ?, ?)",
                           -1, &s->put, NULL) != SQLITE_OK)
        return db_fail(s, "cannot prepare", msg, msgcap);
    return CT_OK;
}

/* Commits the open transaction, if any. Under the lock. */
static int commit(struct tilestore *s, char *msg, size_t msgcap)
{
    if (!s->in_tx)
        return CT_OK;
    s->in_tx = 0;
    s->pending = 0;
    return exec(s, "COMMIT", msg, msgcap);
}

static void bind_tile(sqlite3_stmt *st, int z, uint64_t x, uint64_t y)
{
    sqlite3_bind_int(st, 1, z);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)x);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)(((1ULL << z) - 1) - y)); /* TMS rows */
}

static int mbtiles_has(struct tilestore *s, int z, uint64_t x, uint64_t y)
{
    pthread_mutex_lock(&s->lock);
    bind_tile(s->has, z, x, y);
    int found = sqlite3_step(s->has) == SQLITE_ROW;
    sqlite3_reset(s->has);
    pthread_mutex_unlock(&s->lock);
    return found;
}

static int mbtiles_put(struct tilestore *s, int z, uint64_t x, uint64_t y, const void *data,
                       size_t len, char *msg, size_t msgcap)
{
    int err = CT_OK;
    pthread_mutex_lock(&s->lock);
    if (!s->in_tx) {
        if ((err = exec(s, "BEGIN", msg, msgcap)))
            goto out;
        s->in_tx = 1;
        s->tx_start = http_mono_ms();
    }
    bind_tile(s->put, z, x, y);
    sqlite3_bind_blob64(s->put, 4, data, len, SQLITE_STATIC);
    int rc = sqlite3_step(s->put);
    sqlite3_reset(s->put);
    sqlite3_clear_bindings(s->put);
    if (rc != SQLITE_DONE) {
        err = db_fail(s, "cannot insert a tile", msg, msgcap);
        goto out;
    }
    if (++s->pending >= TILESTORE_BATCH || http_mono_ms() - s->tx_start > 1000)
        err = commit(s, msg, msgcap);
out:
    pthread_mutex_unlock(&s->lock);
    return err;
}

static int mbtiles_meta(struct tilestore *s, const struct kv *meta, size_t n, char *msg,
                        size_t msgcap)
{
    sqlite3_stmt *st = NULL;
    int err = CT_OK;
    pthread_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO metadata (name, value) VALUES (?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        err = db_fail(s, "cannot prepare", msg, msgcap);
        goto out;
    }
    for (size_t i = 0; i < n && !err; i++) {
        sqlite3_bind_text(st, 1, meta[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, meta[i].value, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            err = db_fail(s, "cannot write metadata", msg, msgcap);
        sqlite3_reset(st);
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return err;
}

/* minzoom and maxzoom: the recorded ones widened to the tiles table's. */
static int mbtiles_zooms(struct tilestore *s, char *msg, size_t msgcap)
{
    sqlite3_stmt *st = NULL;
    int err = CT_OK;
    if (sqlite3_prepare_v2(s->db, "SELECT min(zoom_level), max(zoom_level) FROM tiles", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(s, "cannot prepare", msg, msgcap);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        int lo = sqlite3_column_int(st, 0), hi = sqlite3_column_int(st, 1);
        char v[32];
        meta_get(s, "minzoom", v, sizeof v);
        if (*v && atoi(v) < lo)
            lo = atoi(v);
        meta_get(s, "maxzoom", v, sizeof v);
        if (*v && atoi(v) > hi)
            hi = atoi(v);
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", lo);
        snprintf(b, sizeof b, "%d", hi);
        struct kv kv[2] = { { "minzoom", a }, { "maxzoom", b } };
        sqlite3_finalize(st);
        st = NULL;
        err = mbtiles_meta(s, kv, 2, msg, msgcap);
    }
    sqlite3_finalize(st);
    return err;
}

/* --- folders ------------------------------------------------------------------------- */

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        *p = '/';
        if (rc && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0777) && errno != EEXIST ? -1 : 0;
}

static int tile_path(const struct tilestore *s, int z, uint64_t x, uint64_t y, char *buf,
                     size_t cap)
{
    return (size_t)snprintf(buf, cap, "%s/%d/%llu/%llu.%s", s->path, z, (unsigned long long)x,
                            (unsigned long long)y, s->ext) < cap;
}

static int folder_has(struct tilestore *s, int z, uint64_t x, uint64_t y)
{
    char p[4096];
    struct stat sb;
    return tile_path(s, z, x, y, p, sizeof p) && stat(p, &sb) == 0 && S_ISREG(sb.st_mode) &&
           sb.st_size > 0;
}

/* data into file path through a temporary name beside it (unique per thread)
 * and a rename. 0, or -1 with errno. */
static int write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    const char *slash = strrchr(path, '/');
    snprintf(tmp, sizeof tmp, "%.*s.tmp-%ld-%lu-%s", (int)(slash + 1 - path), path, (long)getpid(),
             (unsigned long)pthread_self(), slash + 1);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    int e = left ? errno : 0;
    if (close(fd) && !e)
        e = errno;
    if (!e && rename(tmp, path))
        e = errno;
    if (e) {
        unlink(tmp);
        errno = e ? e : EIO;
        return -1;
    }
    return 0;
}

static int folder_put(struct tilestore *s, int z, uint64_t x, uint64_t y, const void *data,
                      size_t len, char *msg, size_t msgcap)
{
    char p[4096];
    if (!tile_path(s, z, x, y, p, sizeof p)) {
        snprintf(msg, msgcap, "%s: path too long", s->path);
        return CT_EINTERNAL;
    }
    char *slash = strrchr(p, '/');
    *slash = '\0';
    int rc = mkdirs(p);
    *slash = '/';
    if (rc || write_atomic(p, data, len)) {
        snprintf(msg, msgcap, "cannot write %s: %s", p, strerror(errno));
        return CT_EINTERNAL;
    }
    return CT_OK;
}

static int folder_meta(struct tilestore *s, const struct kv *meta, size_t n, char *msg,
                       size_t msgcap)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL, p[4096];
    int err = CT_EINTERNAL;
    for (size_t i = 0; o && i < n; i++)
        if (!cJSON_AddStringToObject(o, meta[i].key, meta[i].value))
            goto out;
    if (!o || !(text = cJSON_Print(o)))
        goto out;
    snprintf(p, sizeof p, "%s/metadata.json", s->path);
    if (write_atomic(p, text, strlen(text)) == 0)
        err = CT_OK;
out:
    if (err)
        snprintf(msg, msgcap, "cannot write %s/metadata.json", s->path);
    free(text);
    cJSON_Delete(o);
    return err;
}

/* The string member name of the folder's metadata.json into buf ("" when
 * there is no such file or member). */
static void folder_meta_get(struct tilestore *s, const char *name, char *buf, size_t cap)
{
    char p[4096];
    buf[0] = '\0';
    snprintf(p, sizeof p, "%s/metadata.json", s->path);
    FILE *f = fopen(p, "rb");
    if (!f)
        return;
    char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *o = cJSON_Parse(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v))
        snprintf(buf, cap, "%s", v->valuestring);
    cJSON_Delete(o);
}

/* --- the interface ------------------------------------------------------------------- */

int tilestore_kind(const char *path)
{
    struct stat sb;
    if (ends_with(path, "/") || (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
        return TILESTORE_FOLDER;
    return ends_with(path, ".mbtiles") ? TILESTORE_MBTILES : 0;
}

int tilestore_open(const char *path, const char *ext, struct tilestore **out, char *msg,
                   size_t msgcap)
{
    const int kind = tilestore_kind(path), is_dir = kind == TILESTORE_FOLDER;
    if (!kind) {
        snprintf(msg, msgcap, "-o names an .mbtiles file or a folder (ending in /)");
        return CT_EINVAL;
    }
    struct tilestore *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        snprintf(msg, msgcap, "out of memory");
        return CT_ENOMEM;
    }
    snprintf(s->ext, sizeof s->ext, "%s", ext);
    pthread_mutex_init(&s->lock, NULL);
    int err = CT_OK;
    if (is_dir) {
        size_t n = strlen(s->path);
        while (n > 1 && s->path[n - 1] == '/')
            s->path[--n] = '\0';
        if (mkdirs(s->path)) {
            snprintf(msg, msgcap, "cannot create %s: %s", s->path, strerror(errno));
            err = CT_EINTERNAL;
        }
    } else {
        err = mbtiles_open(s, msg, msgcap);
    }
    if (err) {
        tilestore_close(s, NULL, 0);
        return err;
    }
    *out = s;
    return CT_OK;
}

int tilestore_check_meta(struct tilestore *s, const char *name, const char *value, char *msg,
                         size_t msgcap)
{
    /* room beyond value: a longer stored value differs too, and the message
     * shows a good part of it */
    const size_t cap = strlen(value) + 1024;
    char *have = malloc(cap);
    if (!have) {
        snprintf(msg, msgcap, "out of memory");
        return CT_ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    if (s->db)
        meta_get(s, name, have, cap);
    else
        folder_meta_get(s, name, have, cap);
    pthread_mutex_unlock(&s->lock);
    int err = *have && strcmp(have, value) ? CT_EINVAL : CT_OK;
    if (err)
        snprintf(msg, msgcap, "%s holds tiles of %.600s, not of %.600s", s->path, have, value);
    free(have);
    return err;
}

int tilestore_has(struct tilestore *s, int z, uint64_t x, uint64_t y)
{
    return s->db ? mbtiles_has(s, z, x, y) : folder_has(s, z, x, y);
}

int tilestore_put(struct tilestore *s, int z, uint64_t x, uint64_t y, const void *data,
                  size_t len, char *msg, size_t msgcap)
{
    return s->db ? mbtiles_put(s, z, x, y, data, len, msg, msgcap)
                 : folder_put(s, z, x, y, data, len, msg, msgcap);
}

int tilestore_set_meta(struct tilestore *s, const struct kv *meta, size_t n, char *msg,
                       size_t msgcap)
{
    return s->db ? mbtiles_meta(s, meta, n, msg, msgcap) : folder_meta(s, meta, n, msg, msgcap);
}

int tilestore_close(struct tilestore *s, char *msg, size_t msgcap)
{
    if (!s)
        return CT_OK;
    char scratch[8];
    if (!msg) {
        msg = scratch;
        msgcap = sizeof scratch;
    }
    int err = CT_OK;
    if (s->db) {
        pthread_mutex_lock(&s->lock);
        err = commit(s, msg, msgcap);
        pthread_mutex_unlock(&s->lock);
        if (!err && s->put)
            err = mbtiles_zooms(s, msg, msgcap);
    }
    sqlite3_finalize(s->has);
    sqlite3_finalize(s->put);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK && !err) {
        snprintf(msg, msgcap, "%s: cannot close", s->path);
        err = CT_EINTERNAL;
    }
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
    return err;
}
