/* pyramid.c - the tiles of a pyramid export, and their rendering on threads. */
#include "pyramid.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "err.h"
#include "handler.h"
#include "http.h"
#include "parse.h"
#include "tilestore.h"

/* --- the plan (pure) ------------------------------------------------------------ */

struct lon_iv {
    double lo, hi;
};

static int box_ok(const struct bbox *b)
{
    return isfinite(b->minx) && isfinite(b->maxx) && isfinite(b->miny) && isfinite(b->maxy) &&
           b->minx >= -180 && b->minx <= 180 && b->maxx >= -180 && b->maxx <= 180 &&
           b->miny >= -90 && b->maxy <= 90 && b->miny < b->maxy && b->minx != b->maxx;
}

/* The longitudes of b as one or two intervals (two across the antimeridian). */
static size_t lon_split(const struct bbox *b, struct lon_iv *out)
{
    if (b->minx < b->maxx) {
        out[0] = (struct lon_iv){ b->minx, b->maxx };
        return 1;
    }
    out[0] = (struct lon_iv){ b->minx, 180 };
    out[1] = (struct lon_iv){ -180, b->maxx };
    return 2;
}

/* Fraction of the world from the north at latitude lat (clamped). */
static double merc_frac(double lat)
{
    if (lat > TILEMATH_MAXLAT)
        lat = TILEMATH_MAXLAT;
    if (lat < -TILEMATH_MAXLAT)
        lat = -TILEMATH_MAXLAT;
    double r = lat * M_PI / 180;
    return (1 - asinh(tan(r)) / M_PI) / 2;
}

/* The tiles [i0, i1] of n whose open interval overlaps (lo, hi), fractions of 1. */
static void cover(double lo, double hi, uint64_t n, uint64_t *i0, uint64_t *i1)
{
    double a = floor(lo * (double)n), b = ceil(hi * (double)n) - 1;
    if (a < 0)
        a = 0;
    if (b > (double)(n - 1))
        b = (double)(n - 1);
    if (b < a)
        b = a;
    *i0 = (uint64_t)a;
    *i1 = (uint64_t)b;
}

int pyramid_plan(const struct bbox *bounds, const struct bbox *clip, int minz, int maxz,
                 struct pyramid_plan *out)
{
    if (minz < 0 || maxz > TILEMATH_MAXZ || minz > maxz || !box_ok(bounds) ||
        (clip && !box_ok(clip)))
        return CT_EINVAL;
    static const struct bbox world = { -180, -90, 180, 90 };
    if (!clip)
        clip = &world;
    out->n = 0;
    out->total = 0;
    double lat_lo = fmax(fmax(bounds->miny, clip->miny), -TILEMATH_MAXLAT);
    double lat_hi = fmin(fmin(bounds->maxy, clip->maxy), TILEMATH_MAXLAT);
    struct lon_iv a[2], b[2], iv[3];
    size_t na = lon_split(bounds, a), nb = lon_split(clip, b), niv = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            double lo = fmax(a[i].lo, b[j].lo), hi = fmin(a[i].hi, b[j].hi);
            /* two sets of at most two disjoint intervals meet in at most three */
            if (lo < hi && niv < 3)
                iv[niv++] = (struct lon_iv){ lo, hi };
        }
    if (!niv || !(lat_lo < lat_hi))
        return CT_OK;
    /* west to east, so that columns merge with their neighbour only */
    for (size_t i = 1; i < niv; i++)
        for (size_t j = i; j > 0 && iv[j].lo < iv[j - 1].lo; j--) {
            struct lon_iv t = iv[j];
            iv[j] = iv[j - 1];
            iv[j - 1] = t;
        }
    for (int z = minz; z <= maxz; z++) {
        uint64_t n = 1ULL << z, y0, y1;
        cover(merc_frac(lat_hi), merc_frac(lat_lo), n, &y0, &y1);
        size_t first = out->n;
        for (size_t i = 0; i < niv; i++) {
            uint64_t x0, x1;
            cover((iv[i].lo + 180) / 360, (iv[i].hi + 180) / 360, n, &x0, &x1);
            struct pyramid_range *last = out->n > first ? &out->r[out->n - 1] : NULL;
            if (last && x0 <= last->x1 + 1) {
                if (x1 > last->x1)
                    last->x1 = x1;
            } else {
                out->r[out->n++] = (struct pyramid_range){ z, x0, x1, y0, y1 };
            }
        }
        for (size_t i = first; i < out->n; i++)
            out->total += (out->r[i].x1 - out->r[i].x0 + 1) * (y1 - y0 + 1);
    }
    return CT_OK;
}

int pyramid_next(const struct pyramid_plan *plan, struct pyramid_cursor *c, int *z, uint64_t *x,
                 uint64_t *y)
{
    if (c->range >= plan->n)
        return 0;
    const struct pyramid_range *r = &plan->r[c->range];
    if (!c->started) {
        c->started = 1;
        c->x = r->x0;
        c->y = r->y0;
    } else if (c->y < r->y1) {
        c->y++;
    } else if (c->x < r->x1) {
        c->x++;
        c->y = r->y0;
    } else {
        if (++c->range >= plan->n)
            return 0;
        r = &plan->r[c->range];
        c->x = r->x0;
        c->y = r->y0;
    }
    *z = r->z;
    *x = c->x;
    *y = c->y;
    return 1;
}

int pyramid_parse_zooms(const char *s, size_t n, int *minz, int *maxz)
{
    const char *dash = memchr(s, '-', n);
    size_t n1 = dash ? (size_t)(dash - s) : n;
    uint64_t a, b;
    if (parse_u64(s, n1, &a) || (dash && parse_u64(dash + 1, n - n1 - 1, &b)))
        return CT_EINVAL;
    if (!dash)
        b = a;
    if (a > b || b > TILEMATH_MAXZ)
        return CT_EINVAL;
    *minz = (int)a;
    *maxz = (int)b;
    return CT_OK;
}

int pyramid_parse_bbox(const char *s, size_t n, struct bbox *out)
{
    double v[4];
    const char *p = s, *end = s + n;
    for (int i = 0; i < 4; i++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if ((i < 3) != (comma != NULL) || parse_decimal(p, (size_t)(stop - p), &v[i]))
            return CT_EINVAL;
        p = stop + 1;
    }
    struct bbox b = { v[0], v[1], v[2], v[3] };
    if (!box_ok(&b))
        return CT_EINVAL;
    *out = b;
    return CT_OK;
}

/* --- the run ------------------------------------------------------------------------ */

/* What the render threads share, behind lock: the cursor, the counters and
 * the first store error. */
struct run {
    const struct pyramid_plan *plan;
    const struct pyramid_opts *o;
    struct tilestore *store;
    pthread_mutex_t lock;
    pthread_cond_t finished;
    int running;
    struct pyramid_cursor cur;
    struct pyramid_stats st;
    int err;
    char msg[256];
};

struct render_thread {
    struct run *run;
    struct worker *w;
    pthread_t tid;
};

static int stopping(const struct run *r)
{
    return r->err || (r->o->stop && *r->o->stop);
}

/* One tile through the service; the answer's fate counted. */
static void render_one(struct run *r, struct worker *w, int z, uint64_t x, uint64_t y)
{
    const struct pyramid_opts *o = r->o;
    char path[256], msg[256] = "";
    snprintf(path, sizeof path, "/tiles/%s/%d/%llu/%llu.%s", o->layer, z, (unsigned long long)x,
             (unsigned long long)y, o->ext);
    struct request req = { .method = "GET", .path = path, .query = o->query,
                           .nquery = o->nquery };
    struct response resp;
    handler_handle(w, &req, &resp);
    int err = CT_OK;
    if (resp.status == 200)
        err = tilestore_put(r->store, z, x, y, resp.body, resp.len, msg, sizeof msg);
    pthread_mutex_lock(&r->lock);
    r->st.done++;
    if (err) {
        if (!r->err) {
            r->err = err;
            snprintf(r->msg, sizeof r->msg, "%s", msg);
        }
    } else if (resp.status == 200) {
        r->st.written++;
        r->st.bytes += resp.len;
    } else if (resp.status == 404) {
        r->st.outside++;
    } else {
        r->st.failed++;
        if (o->failure)
            o->failure(o->ctx, z, x, y, resp.status, resp.detail);
    }
    pthread_mutex_unlock(&r->lock);
    response_free(&resp);
}

static void *render_main(void *arg)
{
    struct render_thread *t = arg;
    struct run *r = t->run;
    for (;;) {
        int z, more;
        uint64_t x, y;
        pthread_mutex_lock(&r->lock);
        more = !stopping(r) && pyramid_next(r->plan, &r->cur, &z, &x, &y);
        pthread_mutex_unlock(&r->lock);
        if (!more)
            break;
        /* present before the run (skipped in todo), or since */
        if (!tilestore_has(r->store, z, x, y))
            render_one(r, t->w, z, x, y);
    }
    pthread_mutex_lock(&r->lock);
    if (--r->running == 0)
        pthread_cond_signal(&r->finished);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int pyramid_run(struct app *app, const struct pyramid_plan *plan, struct tilestore *store,
                const struct pyramid_opts *o, struct pyramid_stats *st, char *msg,
                size_t msgcap)
{
    struct run r = { .plan = plan, .o = o, .store = store };
    struct render_thread *t = NULL;
    int err = CT_OK, started = 0, jobs = o->jobs > 0 ? o->jobs : 1;
    memset(st, 0, sizeof *st);
    r.st.total = plan->total;
    /* what a re-run finds done already: its own count, so the progress and its
     * rate are of the tiles this run renders */
    struct pyramid_cursor c = { 0 };
    int z;
    uint64_t x, y;
    while (!(o->stop && *o->stop) && pyramid_next(plan, &c, &z, &x, &y))
        r.st.present += (uint64_t)tilestore_has(store, z, x, y);
    r.st.todo = r.st.total - r.st.present;
    if (o->progress) /* the count, before the first tile */
        o->progress(o->ctx, &r.st, 0);

    if (pthread_mutex_init(&r.lock, NULL)) {
        snprintf(msg, msgcap, "cannot create a lock");
        return CT_EINTERNAL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int cond_err = pthread_cond_init(&r.finished, &ca);
    pthread_condattr_destroy(&ca);
    if (cond_err) {
        pthread_mutex_destroy(&r.lock);
        snprintf(msg, msgcap, "cannot create a condition variable");
        return CT_EINTERNAL;
    }
    if (!(t = calloc((size_t)jobs, sizeof *t))) {
        err = CT_ENOMEM;
        snprintf(msg, msgcap, "out of memory");
        goto out;
    }
    for (int i = 0; i < jobs; i++) {
        t[i].run = &r;
        if ((err = app_worker_new(app, &t[i].w))) {
            snprintf(msg, msgcap, "out of memory");
            goto out;
        }
    }
    double t0 = http_mono_ms();
    r.running = jobs;
    for (; started < jobs; started++)
        if (pthread_create(&t[started].tid, NULL, render_main, &t[started]))
            break;
    pthread_mutex_lock(&r.lock);
    r.running -= jobs - started; /* threads that never started never finish */
    if (!started) {
        err = CT_EINTERNAL;
        snprintf(msg, msgcap, "cannot start a render thread");
    }
    while (r.running > 0) {
        struct timespec ts = http_timespec_in(CLOCK_MONOTONIC, 100);
        pthread_cond_timedwait(&r.finished, &r.lock, &ts);
        r.st.seconds = (http_mono_ms() - t0) / 1000;
        if (r.running > 0 && o->progress)
            o->progress(o->ctx, &r.st, 0);
    }
    r.st.seconds = (http_mono_ms() - t0) / 1000;
    pthread_mutex_unlock(&r.lock);
    for (int i = 0; i < started; i++)
        pthread_join(t[i].tid, NULL);
    if (o->progress)
        o->progress(o->ctx, &r.st, 1);
    if (!err && r.err) {
        err = r.err;
        snprintf(msg, msgcap, "%s", r.msg);
    }
out:
    for (int i = 0; t && i < jobs; i++)
        app_worker_free(t[i].w);
    free(t);
    pthread_cond_destroy(&r.finished);
    pthread_mutex_destroy(&r.lock);
    *st = r.st;
    return err;
}
