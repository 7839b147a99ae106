/* fanout.c - see fanout.h. A fan-out is a job of nparts parts, each a run of
 * the plan's chunks [first, first + count). The coordinator runs part 0 on
 * its own worker; the others go to the part threads (local) or to Lambda
 * invocations driven by one libcurl multi handle on a thread of their own.
 * Settled parts are merged in part order. A part event carries the source,
 * the polygons (longitude/latitude, printed to read back exactly), the
 * options that decide the plan and the chunk range; its answer carries the
 * packed accumulators (stats_pack, base64) or an error. */
#include "fanout.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "event.h"
#include "geojson.h"
#include "http.h"
#include "log.h"
#include "parse.h"
#include "runtime.h"

#define PART_MSG 192
/* The bands of a part event (PARAMS_MAX_BANDS of a request). */
#define PART_MAX_BANDS 64
/* An invocation that answers more than this is refused (Lambda's own limit
 * is 6 MB; base64 and JSON add a third). */
#define INVOKE_MAX_ANSWER (8 << 20)
/* A part answers at most this much (Lambda's response limit less room for the
 * runtime's own framing); a larger part answers 413 and is computed by the
 * coordinator (a band of 100,000 distinct floating values packs to 3.2 MB). */
#define PART_MAX_ANSWER (RUNTIME_MAX_PAYLOAD - 65536)
/* A throttled invocation is tried again after 100, 200, 400, 800 ms. */
#define INVOKE_THROTTLE_TRIES 4
#define INVOKE_CONNECT_MS 3000

enum part_state { PART_TODO, PART_RUNNING, PART_DONE, PART_FAILED, PART_HERE };

struct part {
    long long first, count;
    struct stats **s;          /* nbands accumulators, NULL until settled */
    struct zonal_info info;
    enum part_state state;
    int err;                   /* of a failed part */
    int attempts, throttles;
    long long not_before;      /* monotonic ms: a throttled part waits */
    int here;                  /* computed by the coordinator */
    long long cells_done;      /* progress (atomic) */
    char msg[PART_MSG];
    struct part *next;         /* the local queue */
    struct job *job;
};

struct job {
    struct fanout *f;
    const struct fanout_source *src;
    const struct polygon *polys;
    size_t n;
    const struct zonal_opts *o;
    struct zonal_zone *zz;     /* the coordinator's */
    const struct zonal_plan *plan;
    struct part *parts;
    int nparts;
    int pending;               /* parts on the part threads not yet settled */
    pthread_cond_t settled;
    char *polytext;            /* the polygons as JSON (Lambda) */
};

enum fanout_kind { FANOUT_LOCAL, FANOUT_LAMBDA };

/* A part thread and the worker (GDAL handles) it owns. */
struct part_thread {
    struct fanout *f;
    struct worker *w;
    pthread_t t;
};

struct fanout {
    enum fanout_kind kind;
    /* local */
    struct app *app;
    struct part_thread *threads; /* jobs of them, nworkers with a worker, started running */
    int jobs, nworkers, started;
    pthread_mutex_t lock;
    pthread_cond_t work;
    int stop;
    struct part *head, *tail;
    /* Lambda */
    char *url;                 /* the Invoke URL of the function itself */
    char *sigv4;               /* "aws:amz:REGION:lambda" */
    char *key, *secret;
    char *token_header;        /* "X-Amz-Security-Token: ..." or NULL */
    int concurrency;
};

/* --- parts ------------------------------------------------------------------------ */

static void part_clear(struct part *p, int nbands)
{
    if (p->s)
        for (int i = 0; i < nbands; i++)
            stats_free(p->s[i]);
    free(p->s);
    p->s = NULL;
}

static int part_alloc(struct part *p, int nbands, int max_unique)
{
    part_clear(p, nbands);
    if (nbands < 1 || nbands > PART_MAX_BANDS)
        return CT_EINVAL;
    p->s = calloc((size_t)nbands, sizeof *p->s);
    if (!p->s)
        return CT_ENOMEM;
    for (int i = 0; i < nbands; i++)
        if (stats_new(max_unique, &p->s[i]))
            return CT_ENOMEM;
    return CT_OK;
}

static void part_progress(void *ctx, long long done, long long total)
{
    (void)total;
    __atomic_store_n(&((struct part *)ctx)->cells_done, done, __ATOMIC_RELAXED);
}

/* The job's progress, told through the caller's function. */
static void job_progress(struct job *j)
{
    if (!j->o->progress)
        return;
    long long done = 0;
    for (int i = 0; i < j->nparts; i++)
        done += __atomic_load_n(&j->parts[i].cells_done, __ATOMIC_RELAXED);
    j->o->progress(j->o->progress_ctx, done, j->plan->window_cells);
}

/* The coordinator's own parts report the whole job. */
static void own_progress(void *ctx, long long done, long long total)
{
    struct part *p = ctx;
    part_progress(p, done, total);
    job_progress(p->job);
}

/* Runs part p of j on zz (j's zone on a dataset of this thread's). */
static int part_compute(struct job *j, struct part *p, struct zonal_zone *zz, int own)
{
    struct zonal_opts o = *j->o;
    o.first_chunk = p->first;
    o.nchunks = p->count;
    o.progress = own ? own_progress : part_progress;
    p->here = own;
    o.progress_ctx = p;
    int err = part_alloc(p, o.nbands, o.max_unique);
    if (err) {
        snprintf(p->msg, sizeof p->msg, "out of memory");
        return err;
    }
    return zonal_run(zz, &o, p->s, &p->info, p->msg, sizeof p->msg);
}

/* The dataset of src on w. */
static int open_source(struct worker *w, const struct fanout_source *src, struct raster **r,
                       char *msg, size_t msgcap)
{
    if (src->url)
        return app_adhoc_raster(w, src->url, r, msg, msgcap);
    const struct config *c = app_config(worker_app(w));
    const struct layer_conf *l = config_find(c, src->layer, strlen(src->layer));
    if (!l) {
        snprintf(msg, msgcap, "no such layer");
        return CT_ENOLAYER;
    }
    return app_raster(w, l, r, msg, msgcap);
}

/* --- the part threads (local) -------------------------------------------------------- */

static void settle(struct part *p, int err)
{
    p->err = err;
    p->state = err ? PART_FAILED : PART_DONE;
}

static void *part_thread(void *arg)
{
    struct fanout *f = ((struct part_thread *)arg)->f;
    struct worker *w = ((struct part_thread *)arg)->w;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->head && !f->stop)
            pthread_cond_wait(&f->work, &f->lock);
        if (!f->head)
            break;
        struct part *p = f->head;
        f->head = p->next;
        if (!f->head)
            f->tail = NULL;
        p->state = PART_RUNNING;
        pthread_mutex_unlock(&f->lock);
        struct job *j = p->job;
        struct raster *r = NULL;
        app_request_begin(w, j->o->deadline_ms);
        int err = CT_ESOURCE;
        for (p->attempts = 1; err && p->attempts <= 2; p->attempts++) {
            struct zonal_zone *zz = NULL;
            err = open_source(w, j->src, &r, p->msg, sizeof p->msg);
            if (!err)
                err = zonal_open(r, j->polys, j->n, j->o, &zz, p->msg, sizeof p->msg);
            if (!err)
                err = part_compute(j, p, zz, 0);
            zonal_close(zz);
            if (err == CT_ETIMEOUT || err == CT_ENOMEM || err == CT_EFORBIDDEN || err == CT_EINVAL)
                break; /* not a fault another try mends */
        }
        app_request_end(w);
        pthread_mutex_lock(&f->lock);
        settle(p, err);
        j->pending--;
        pthread_cond_broadcast(&j->settled);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

int fanout_local_new(struct app *app, int jobs, struct fanout **out)
{
    struct fanout *f = calloc(1, sizeof *f);
    if (!f)
        return CT_ENOMEM;
    f->kind = FANOUT_LOCAL;
    f->app = app;
    f->jobs = jobs > 0 ? jobs : 0;
    f->threads = calloc((size_t)(f->jobs ? f->jobs : 1), sizeof *f->threads);
    if (!f->threads || pthread_mutex_init(&f->lock, NULL)) {
        free(f->threads);
        free(f);
        return CT_ENOMEM;
    }
    pthread_cond_init(&f->work, NULL);
    int err = CT_OK;
    for (int i = 0; i < f->jobs && !err; i++) {
        f->threads[i].f = f;
        if (!(err = app_worker_new(app, &f->threads[i].w)))
            f->nworkers = i + 1;
    }
    for (int i = 0; i < f->jobs && !err; i++) {
        if (pthread_create(&f->threads[i].t, NULL, part_thread, &f->threads[i]))
            err = CT_ENOMEM;
        else
            f->started = i + 1;
    }
    if (err) {
        fanout_free(f);
        return err;
    }
    *out = f;
    return CT_OK;
}

void fanout_free(struct fanout *f)
{
    if (!f)
        return;
    if (f->kind == FANOUT_LOCAL) {
        pthread_mutex_lock(&f->lock);
        f->stop = 1;
        pthread_cond_broadcast(&f->work);
        pthread_mutex_unlock(&f->lock);
        for (int i = 0; i < f->started; i++)
            pthread_join(f->threads[i].t, NULL);
        for (int i = 0; i < f->nworkers; i++)
            app_worker_free(f->threads[i].w);
        pthread_cond_destroy(&f->work);
        pthread_mutex_destroy(&f->lock);
    }
    free(f->threads);
    free(f->url);
    free(f->sigv4);
    free(f->key);
    free(f->secret);
    free(f->token_header);
    free(f);
}

/* Parts 1.. on the part threads; part 0, and any part still queued when the
 * coordinator is free, on the coordinator (it never waits while there is
 * work, so requests that fan out at once cannot starve each other). */
static void run_local(struct fanout *f, struct job *j)
{
    pthread_mutex_lock(&f->lock);
    for (int i = 1; i < j->nparts; i++) {
        struct part *p = &j->parts[i];
        p->next = NULL;
        if (f->tail)
            f->tail->next = p;
        else
            f->head = p;
        f->tail = p;
        j->pending++;
    }
    pthread_cond_broadcast(&f->work);
    pthread_mutex_unlock(&f->lock);
    settle(&j->parts[0], part_compute(j, &j->parts[0], j->zz, 1));
    pthread_mutex_lock(&f->lock);
    for (;;) {
        struct part *mine = NULL, *prev = NULL;
        for (struct part *p = f->head; p; prev = p, p = p->next)
            if (p->job == j) {
                mine = p;
                break;
            }
        if (mine) {
            if (prev)
                prev->next = mine->next;
            else
                f->head = mine->next;
            if (f->tail == mine)
                f->tail = prev;
            mine->state = PART_RUNNING;
            pthread_mutex_unlock(&f->lock);
            int err = part_compute(j, mine, j->zz, 1);
            pthread_mutex_lock(&f->lock);
            settle(mine, err);
            j->pending--;
            continue;
        }
        if (!j->pending)
            break;
        struct timespec ts = http_timespec_in(CLOCK_REALTIME, 100);
        pthread_cond_timedwait(&j->settled, &f->lock, &ts);
        pthread_mutex_unlock(&f->lock);
        job_progress(j);
        pthread_mutex_lock(&f->lock);
    }
    pthread_mutex_unlock(&f->lock);
}

/* --- part events ------------------------------------------------------------------------ */

/* [[[x,y,x,y,...],[hole...]],...]: flat rings, every number exact. */
static char *polygons_json(const struct polygon *polys, size_t n)
{
    struct buf b = { 0 };
    char num[40];
    buf_add(&b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        buf_add(&b, i ? ",[" : "[", i ? 2 : 1);
        for (size_t k = 0; k < polys[i].nrings; k++) {
            const struct ring *rg = &polys[i].rings[k];
            buf_add(&b, k ? ",[" : "[", k ? 2 : 1);
            for (size_t m = 0; m < 2 * rg->n; m++) {
                if (m)
                    buf_add(&b, ",", 1);
                buf_add(&b, num, (size_t)parse_print_double(rg->xy[m], num, sizeof num));
            }
            buf_add(&b, "]", 1);
        }
        buf_add(&b, "]", 1);
    }
    buf_add(&b, "]", 1);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* The event of part i of j: {"cogtiler_part": {...}}. */
static char *part_event(const struct job *j, int i, size_t *len)
{
    const struct zonal_opts *o = j->o;
    const struct part *p = &j->parts[i];
    cJSON *e = cJSON_CreateObject(), *b = cJSON_AddObjectToObject(e, "cogtiler_part");
    char num[40];
    if (!b) {
        cJSON_Delete(e);
        return NULL;
    }
    cJSON_AddNumberToObject(b, "v", 1);
    if (j->src->url)
        cJSON_AddStringToObject(b, "url", j->src->url);
    else
        cJSON_AddStringToObject(b, "layer", j->src->layer);
    cJSON_AddNumberToObject(b, "part", i);
    cJSON_AddNumberToObject(b, "parts", j->nparts);
    cJSON_AddNumberToObject(b, "first", (double)p->first);
    cJSON_AddNumberToObject(b, "count", (double)p->count);
    cJSON_AddNumberToObject(b, "nchunks", (double)j->plan->nchunks);
    cJSON_AddNumberToObject(b, "window_cells", (double)j->plan->window_cells);
    cJSON_AddNumberToObject(b, "coverage", o->coverage);
    cJSON *bands = cJSON_AddArrayToObject(b, "bands");
    for (int k = 0; bands && k < o->nbands; k++)
        cJSON_AddItemToArray(bands, cJSON_CreateNumber(o->bands[k]));
    if (o->has_nodata && isfinite(o->nodata)) {
        parse_print_double(o->nodata, num, sizeof num);
        cJSON_AddRawToObject(b, "nodata", num);
    } else if (o->has_nodata) {
        cJSON_AddStringToObject(b, "nodata", isnan(o->nodata) ? "nan" : o->nodata > 0 ? "inf" : "-inf");
    }
    cJSON_AddNumberToObject(b, "max_cells", (double)o->max_cells);
    cJSON_AddNumberToObject(b, "chunk_cells", (double)o->chunk_cells);
    cJSON_AddNumberToObject(b, "max_unique", o->max_unique);
    cJSON_AddNumberToObject(b, "max_size", o->max_size);
    if (o->deadline_ms)
        cJSON_AddNumberToObject(b, "deadline_ms", (double)(o->deadline_ms - FANOUT_MARGIN_MS));
    cJSON_AddRawToObject(b, "polygons", j->polytext);
    char *s = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    if (s)
        *len = strlen(s);
    return s;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A whole number in [lo, hi] at o.k into *v; 0 or CT_EINVAL. */
static int get_int(const cJSON *o, const char *k, long long lo, long long hi, long long *v)
{
    const cJSON *x = get(o, k);
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= (double)lo && x->valuedouble <= (double)hi) ||
        x->valuedouble != floor(x->valuedouble))
        return CT_EINVAL;
    *v = (long long)x->valuedouble;
    return CT_OK;
}

/* The polygons of a part event, into arrays the caller frees with geom_free. */
static int read_polys(const cJSON *a, struct polygon **out, size_t *n)
{
    size_t np = (size_t)cJSON_GetArraySize(a), positions = 0;
    if (!cJSON_IsArray(a) || np == 0)
        return CT_EINVAL;
    struct polygon *ps = calloc(np, sizeof *ps);
    if (!ps)
        return CT_ENOMEM;
    *out = ps;
    *n = np;
    size_t i = 0;
    for (const cJSON *pj = a->child; pj; pj = pj->next, i++) {
        size_t nr = (size_t)cJSON_GetArraySize(pj);
        if (!cJSON_IsArray(pj) || nr == 0)
            return CT_EINVAL;
        if (!(ps[i].rings = calloc(nr, sizeof *ps[i].rings)))
            return CT_ENOMEM;
        ps[i].nrings = nr;
        size_t k = 0;
        for (const cJSON *rj = pj->child; rj; rj = rj->next, k++) {
            size_t nv = (size_t)cJSON_GetArraySize(rj);
            if (!cJSON_IsArray(rj) || nv < 8 || nv % 2 || nv / 2 > GJ_MAX_POSITIONS - positions)
                return CT_EINVAL;
            positions += nv / 2;
            struct ring *rg = &ps[i].rings[k];
            if (!(rg->xy = malloc(nv * sizeof *rg->xy)))
                return CT_ENOMEM;
            rg->n = nv / 2;
            size_t m = 0;
            for (const cJSON *v = rj->child; v; v = v->next, m++) {
                if (!cJSON_IsNumber(v))
                    return CT_EINVAL;
                rg->xy[m] = v->valuedouble;
                /* the GeoJSON reader's rule for each position, as the coordinator applied it */
                if (m % 2 && gj_position_error(rg->xy[m - 1], rg->xy[m], m > 1 ? rg->xy + m - 3 : NULL))
                    return CT_EINVAL;
            }
            if (rg->xy[0] != rg->xy[nv - 2] || rg->xy[1] != rg->xy[nv - 1])
                return CT_EINVAL; /* not closed */
        }
    }
    return CT_OK;
}

static char *error_answer(int err, const char *msg, size_t *len)
{
    cJSON *e = cJSON_CreateObject(), *b = cJSON_AddObjectToObject(e, "cogtiler_partial");
    cJSON *x = cJSON_AddObjectToObject(b, "error");
    cJSON_AddNumberToObject(b, "v", 1);
    cJSON_AddNumberToObject(x, "status", ct_http_status(err));
    cJSON_AddStringToObject(x, "message", msg);
    char *s = x ? cJSON_PrintUnformatted(e) : NULL;
    cJSON_Delete(e);
    if (s)
        *len = strlen(s);
    return s;
}

/* The answer of a computed part. */
static char *part_answer(const struct part *p, int nbands, size_t *len)
{
    cJSON *e = cJSON_CreateObject(), *b = cJSON_AddObjectToObject(e, "cogtiler_partial");
    cJSON *bands = cJSON_AddArrayToObject(b, "bands");
    int ok = bands != NULL;
    cJSON_AddNumberToObject(b, "v", 1);
    cJSON_AddNumberToObject(b, "level", p->info.level);
    cJSON_AddNumberToObject(b, "chunks", (double)p->info.chunks);
    cJSON_AddNumberToObject(b, "chunks_read", (double)p->info.chunks_read);
    cJSON_AddNumberToObject(b, "cells_read", (double)p->info.cells_read);
    for (int i = 0; ok && i < nbands; i++) {
        unsigned char *buf = NULL;
        size_t n = 0;
        char *b64 = NULL;
        ok = !stats_pack(p->s[i], &buf, &n) && n < ((size_t)1 << 40) &&
             (b64 = malloc(4 * ((n + 2) / 3) + 1)) != NULL;
        if (ok) {
            event_base64(buf, n, b64);
            cJSON *str = cJSON_CreateString(b64);
            ok = str && cJSON_AddItemToArray(bands, str);
        }
        free(buf);
        free(b64);
    }
    char *s = ok ? cJSON_PrintUnformatted(e) : NULL;
    cJSON_Delete(e);
    if (s)
        *len = strlen(s);
    return s;
}

int fanout_part(struct worker *w, const void *ev, long long deadline_ms, char **json,
                size_t *json_len)
{
    const cJSON *b = ev;
    const struct config *c = app_config(worker_app(w));
    char msg[256] = "";
    struct polygon *polys = NULL;
    size_t n = 0;
    double t0 = http_mono_ms();
    long long v = 0, part = -1, parts = 0, first, count, nchunks, window, cov, max_cells, chunk_cells, max_unique,
              max_size, dl = 0;
    int bands[PART_MAX_BANDS], nb = 0;
    struct fanout_source src = { 0 };
    const cJSON *x;
    int err = CT_EINVAL;
    const struct {
        const char *k;
        long long lo, hi, *v;
    } fields[] = {
        { "v", 1, 1, &v },
        { "part", 0, FANOUT_MAX_PARTS - 1, &part },
        { "parts", 1, FANOUT_MAX_PARTS, &parts },
        { "first", 0, 1LL << 40, &first },
        { "count", 1, 1LL << 40, &count },
        { "nchunks", 1, 1LL << 40, &nchunks },
        { "window_cells", 1, 1LL << 50, &window },
        { "coverage", ZONAL_CENTER, ZONAL_EXACT, &cov },
        { "max_cells", 1, c->max_cells, &max_cells }, /* no more than this function allows */
        { "chunk_cells", 1, 1 << 26, &chunk_cells },
        { "max_unique", 1, 10000000, &max_unique },
        { "max_size", 0, 1 << 20, &max_size },
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (get_int(b, fields[i].k, fields[i].lo, fields[i].hi, fields[i].v)) {
            snprintf(msg, sizeof msg, "a part event's %s: a whole number from %lld to %lld",
                     fields[i].k, fields[i].lo, fields[i].hi);
            goto out;
        }
    if (get(b, "deadline_ms") && get_int(b, "deadline_ms", 0, 1LL << 50, &dl)) {
        snprintf(msg, sizeof msg, "a part event's deadline_ms: epoch milliseconds");
        goto out;
    }
    if (part >= parts) {
        snprintf(msg, sizeof msg, "a part event's part: below its parts");
        goto out;
    }
    src.layer = cJSON_GetStringValue(get(b, "layer"));
    src.url = cJSON_GetStringValue(get(b, "url"));
    if (!src.layer == !src.url) {
        snprintf(msg, sizeof msg, "a part event names a layer or a url");
        goto out;
    }
    x = get(b, "bands");
    for (const cJSON *e = cJSON_IsArray(x) ? x->child : NULL; e; e = e->next) {
        if (nb == (int)(sizeof bands / sizeof *bands) || !cJSON_IsNumber(e) ||
            !(e->valuedouble >= 1 && e->valuedouble <= 65535) ||
            e->valuedouble != floor(e->valuedouble)) {
            nb = 0;
            break;
        }
        bands[nb++] = (int)e->valuedouble;
    }
    if (!nb) {
        snprintf(msg, sizeof msg, "a part event's bands: 1 to 64 band numbers");
        goto out;
    }
    struct zonal_opts o = { .coverage = (enum zonal_coverage)cov, .nbands = nb, .bands = bands,
                            .max_cells = max_cells, .chunk_cells = chunk_cells,
                            .max_unique = (int)max_unique, .max_size = (int)max_size,
                            .first_chunk = first, .nchunks = count };
    x = get(b, "nodata");
    if (cJSON_IsNumber(x)) {
        o.has_nodata = 1;
        o.nodata = x->valuedouble;
    } else if (cJSON_IsString(x) && (!strcmp(x->valuestring, "nan") ||
                                     !strcmp(x->valuestring, "inf") ||
                                     !strcmp(x->valuestring, "-inf"))) {
        o.has_nodata = 1;
        o.nodata = !strcmp(x->valuestring, "nan")  ? NAN
                   : !strcmp(x->valuestring, "inf") ? INFINITY
                                                    : -INFINITY;
    } else if (x && !cJSON_IsNull(x)) {
        snprintf(msg, sizeof msg, "a part event's nodata: a number, \"nan\", \"inf\" or \"-inf\"");
        goto out;
    }
    o.deadline_ms = deadline_ms;
    if (dl && (!o.deadline_ms || dl < o.deadline_ms))
        o.deadline_ms = dl;
    if ((err = read_polys(get(b, "polygons"), &polys, &n))) {
        snprintf(msg, sizeof msg, err == CT_ENOMEM ? "out of memory"
                                                   : "a part event's polygons: arrays of closed "
                                                     "rings of at least 4 valid positions");
        goto out;
    }
    struct raster *r = NULL;
    struct zonal_zone *zz = NULL;
    const struct zonal_plan *plan = NULL;
    struct part p = { .first = first, .count = count };
    app_request_begin(w, o.deadline_ms);
    err = open_source(w, &src, &r, msg, sizeof msg);
    if (!err && !(err = zonal_open(r, polys, n, &o, &zz, msg, sizeof msg)))
        plan = zonal_zone_plan(zz);
    if (!err && (plan->nchunks != nchunks || plan->window_cells != window)) {
        snprintf(msg, sizeof msg,
                 "this function plans %lld chunks over %lld cells, the coordinator %lld over "
                 "%lld: not the same code or data",
                 plan->nchunks, plan->window_cells, nchunks, window);
        err = CT_EINVAL;
    }
    if (!err && first + count > nchunks) {
        snprintf(msg, sizeof msg, "chunks %lld+%lld: the plan has %lld", first, count, nchunks);
        err = CT_EINVAL;
    }
    if (!err && !(err = part_alloc(&p, nb, o.max_unique)))
        err = zonal_run(zz, &o, p.s, &p.info, msg, sizeof msg);
    zonal_close(zz);
    app_request_end(w);
    if (!err && !(*json = part_answer(&p, nb, json_len)))
        err = CT_ENOMEM;
    if (!err && *json_len > PART_MAX_ANSWER) {
        /* Lambda would refuse it (Function.ResponseSizeTooLarge): the coordinator
         * computes this part itself on a 413 */
        snprintf(msg, sizeof msg, "the part's accumulators take %zu bytes, over %d", *json_len,
                 PART_MAX_ANSWER);
        free(*json);
        *json = NULL;
        err = CT_ETOOLARGE;
    }
    part_clear(&p, nb);
out:
    geom_free(polys, n);
    if (err) {
        if (err == CT_ENOMEM)
            snprintf(msg, sizeof msg, "out of memory");
        *json = error_answer(err, msg, json_len);
    }
    log_part(NULL, (int)part, (int)parts, err ? ct_http_status(err) : 200, http_mono_ms() - t0);
    return *json ? CT_OK : CT_ENOMEM;
}

/* Reads a part's answer into p: 0, or the error it reports (msg in p):
 * CT_ETOOLARGE for accumulators too large to answer (the coordinator then
 * computes the part), CT_ETIMEOUT for the part's deadline; *retry says whether
 * another try could mend it (a 5xx, or an answer that does not read back). */
static int read_answer(const struct job *j, struct part *p, const char *body, size_t len,
                       int *retry)
{
    *retry = 1;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *b = get(root, "cogtiler_partial"), *e = get(b, "error");
    int err = CT_ESOURCE;
    if (!cJSON_IsObject(b)) {
        snprintf(p->msg, sizeof p->msg, "the invocation did not answer a part");
        goto out;
    }
    if (e) {
        const cJSON *st = get(e, "status");
        const char *m = cJSON_GetStringValue(get(e, "message"));
        int status = cJSON_IsNumber(st) ? st->valueint : 0;
        err = status == 504 ? CT_ETIMEOUT : status == 413 ? CT_ETOOLARGE : CT_ESOURCE;
        *retry = !(status >= 400 && status < 500); /* the same part answers the same */
        snprintf(p->msg, sizeof p->msg, "%d %.160s", status, m ? m : "");
        goto out;
    }
    const cJSON *bands = get(b, "bands");
    long long chunks, chunks_read, cells_read, level;
    if (cJSON_GetArraySize(bands) != j->o->nbands || get_int(b, "chunks", 0, 1LL << 40, &chunks) ||
        get_int(b, "chunks_read", 0, 1LL << 40, &chunks_read) ||
        get_int(b, "cells_read", 0, 1LL << 50, &cells_read) || get_int(b, "level", -1, 64, &level)) {
        snprintf(p->msg, sizeof p->msg, "a part's answer lacks its bands or counts");
        goto out;
    }
    part_clear(p, j->o->nbands);
    if (!(p->s = calloc((size_t)j->o->nbands, sizeof *p->s))) {
        err = CT_ENOMEM;
        goto out;
    }
    int i = 0;
    for (const cJSON *s = bands->child; s; s = s->next, i++) {
        const char *t = cJSON_GetStringValue(s);
        size_t tn = t ? strlen(t) : 0, n = 0;
        unsigned char *buf = t ? malloc(3 * (tn / 4) + 1) : NULL;
        int bad = !buf || event_unbase64(t, tn, buf, &n) || stats_unpack(buf, n, &p->s[i]);
        free(buf);
        if (bad) {
            snprintf(p->msg, sizeof p->msg, "a part's accumulators do not read back");
            goto out;
        }
    }
    p->info = (struct zonal_info){ (int)level, j->plan->window_cells, chunks, chunks_read,
                                   cells_read };
    err = CT_OK;
out:
    cJSON_Delete(root);
    return err;
}

/* --- parts as Lambda invocations --------------------------------------------------------- */

static char *dup_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strdup(v) : NULL;
}

int fanout_lambda_new(int concurrency, struct fanout **out, char *msg, size_t msgcap)
{
    char *name = dup_env("AWS_LAMBDA_FUNCTION_NAME"), *version = dup_env("AWS_LAMBDA_FUNCTION_VERSION");
    char *region = dup_env("AWS_REGION"), *endpoint = dup_env("AWS_ENDPOINT_URL_LAMBDA");
    struct fanout *f = calloc(1, sizeof *f);
    int err = CT_ENOMEM;
    if (!region)
        region = dup_env("AWS_DEFAULT_REGION");
    if (!endpoint)
        endpoint = dup_env("AWS_ENDPOINT_URL");
    if (!f)
        goto out;
    f->kind = FANOUT_LAMBDA;
    f->concurrency = concurrency;
    f->key = dup_env("AWS_ACCESS_KEY_ID");
    f->secret = dup_env("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    err = CT_ECONFIG;
    if (!name || !region || !f->key || !f->secret) {
        snprintf(msg, msgcap, "fan-out needs AWS_LAMBDA_FUNCTION_NAME, AWS_REGION and the "
                              "function's credentials");
        goto out;
    }
    for (const char *c = name; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_')) {
            snprintf(msg, msgcap, "AWS_LAMBDA_FUNCTION_NAME is not a function name");
            goto out;
        }
    int numbered = version && strcmp(version, "$LATEST") != 0;
    for (const char *c = numbered ? version : ""; *c; c++)
        if (*c < '0' || *c > '9') {
            snprintf(msg, msgcap, "AWS_LAMBDA_FUNCTION_VERSION is neither $LATEST nor a number");
            goto out;
        }
    /* the version the coordinator runs, so that every part runs the same code */
    size_t el = endpoint ? strlen(endpoint) : 0;
    while (el && endpoint[el - 1] == '/')
        el--;
    int cn = !strncmp(region, "cn-", 3); /* the China regions' domain */
    char *url = NULL;
    int n = endpoint ? asprintf(&url, "%.*s/2015-03-31/functions/%s/invocations%s%s", (int)el,
                                endpoint, name, numbered ? "?Qualifier=" : "",
                                numbered ? version : "")
                     : asprintf(&url,
                                "https://lambda.%s.amazonaws.com%s/2015-03-31/functions/%s/"
                                "invocations%s%s",
                                region, cn ? ".cn" : "", name, numbered ? "?Qualifier=" : "",
                                numbered ? version : "");
    f->url = n < 0 ? NULL : url;
    f->sigv4 = malloc(32 + strlen(region));
    err = CT_ENOMEM;
    if (!f->url || !f->sigv4)
        goto out;
    snprintf(f->sigv4, 32 + strlen(region), "aws:amz:%s:lambda", region);
    if (token && *token) {
        size_t tl = strlen(token) + 32;
        if (!(f->token_header = malloc(tl)))
            goto out;
        snprintf(f->token_header, tl, "X-Amz-Security-Token: %s", token);
    }
    err = CT_OK;
out:
    free(name);
    free(version);
    free(region);
    free(endpoint);
    if (err) {
        fanout_free(f);
        return err;
    }
    *out = f;
    return CT_OK;
}

const char *fanout_invoke_url(const struct fanout *f)
{
    return f && f->kind == FANOUT_LAMBDA ? f->url : NULL;
}

struct call {
    CURL *h;
    struct curl_slist *headers;
    char *event;
    struct buf answer;
    int function_error;        /* X-Amz-Function-Error was sent */
    int part;
};

static size_t on_answer(char *data, size_t size, size_t n, void *arg)
{
    struct call *c = arg;
    if (size * n > INVOKE_MAX_ANSWER - c->answer.n)
        return 0;
    return buf_add(&c->answer, data, size * n) ? 0 : size * n;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    static const char name[] = "x-amz-function-error:";
    if (size * n >= sizeof name - 1 && !strncasecmp(line, name, sizeof name - 1))
        ((struct call *)arg)->function_error = 1;
    return size * n;
}

static void call_free(struct call *c)
{
    if (c->h)
        curl_easy_cleanup(c->h);
    curl_slist_free_all(c->headers);
    free(c->event);
    buf_free(&c->answer);
    memset(c, 0, sizeof *c);
}

/* Starts the invocation of part i into c. */
static int call_start(struct fanout *f, struct job *j, int i, struct call *c, CURLM *m,
                      long long deadline_ms)
{
    size_t len = 0;
    memset(c, 0, sizeof *c);
    c->part = i;
    if (!(c->event = part_event(j, i, &len)) || !(c->h = curl_easy_init()))
        return CT_ENOMEM;
    const char *hs[] = { "Content-Type: application/json", "X-Amz-Invocation-Type: RequestResponse",
                         f->token_header };
    for (size_t k = 0; k < sizeof hs / sizeof *hs && hs[k]; k++) {
        struct curl_slist *l = curl_slist_append(c->headers, hs[k]);
        if (!l)
            return CT_ENOMEM; /* call_free() frees what was made */
        c->headers = l;
    }
    curl_easy_setopt(c->h, CURLOPT_URL, f->url);
    curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->event);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c->h, CURLOPT_AWS_SIGV4, f->sigv4);
    curl_easy_setopt(c->h, CURLOPT_USERNAME, f->key);
    curl_easy_setopt(c->h, CURLOPT_PASSWORD, f->secret);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, (long)INVOKE_CONNECT_MS);
    long long left = deadline_ms ? deadline_ms - http_clock_ms() : 900000;
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
    curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
    return curl_multi_add_handle(m, c->h) == CURLM_OK ? CT_OK : CT_ENOMEM;
}

/* A failed attempt of p: tried once more while there is time, else settled. */
static void attempt_failed(struct part *p, int err, long long deadline_ms)
{
    int time_left = !deadline_ms || deadline_ms - http_clock_ms() > FANOUT_MARGIN_MS;
    if (p->attempts < 2 && time_left && err != CT_ENOMEM) {
        p->state = PART_TODO;
        return;
    }
    if (!time_left)
        err = CT_ETIMEOUT;
    p->state = PART_FAILED;
    p->err = err;
}

/* The outcome of a finished call. */
static void call_done(struct job *j, struct call *c, CURLcode rc, long long deadline_ms)
{
    struct part *p = &j->parts[c->part];
    long status = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) { /* 504 only when the deadline is the cause: attempt_failed() */
        snprintf(p->msg, sizeof p->msg, "invocation: %s", curl_easy_strerror(rc));
        attempt_failed(p, CT_ESOURCE, deadline_ms);
        return;
    }
    if (status == 429) { /* throttled: back off, then compute it here */
        if (++p->throttles > INVOKE_THROTTLE_TRIES) {
            p->state = PART_HERE;
            return;
        }
        p->state = PART_TODO;
        p->attempts--; /* a throttle is not a failure */
        p->not_before = (long long)http_mono_ms() + (50LL << p->throttles);
        return;
    }
    if (c->function_error && c->answer.p && strstr(c->answer.p, "ResponseSizeTooLarge")) {
        p->state = PART_HERE; /* too large to answer: computed here */
        return;
    }
    if (status != 200 || c->function_error) {
        snprintf(p->msg, sizeof p->msg, "invocation: HTTP %ld%s %.120s", status,
                 c->function_error ? " (function error)" : "", c->answer.p ? c->answer.p : "");
        if (status >= 400 && status < 500) { /* refused: the same again (429 is above) */
            p->state = PART_FAILED;
            p->err = CT_ESOURCE;
            return;
        }
        /* a part that timed out on its side is the deadline's failure */
        int timed_out = c->answer.p && (strstr(c->answer.p, "Task timed out") ||
                                        strstr(c->answer.p, "Timedout"));
        attempt_failed(p, timed_out ? CT_ETIMEOUT : CT_ESOURCE, deadline_ms);
        return;
    }
    int retry, err = read_answer(j, p, c->answer.p ? c->answer.p : "", c->answer.n, &retry);
    if (err == CT_ETOOLARGE) {
        p->state = PART_HERE;
    } else if (err && !retry) {
        p->state = PART_FAILED;
        p->err = err;
    } else if (err) {
        attempt_failed(p, err, deadline_ms);
    } else {
        p->state = PART_DONE;
    }
}

/* Parts 1.. as invocations, at most f->concurrency in flight, until each is
 * settled (done, failed, or left to compute here). */
static void *run_lambda(void *arg)
{
    struct job *j = arg;
    struct fanout *f = j->f;
    /* every invocation ends in time for the coordinator to answer its failure */
    long long deadline_ms = j->o->deadline_ms ? j->o->deadline_ms - FANOUT_MARGIN_MS / 2 : 0;
    CURLM *m = curl_multi_init();
    struct call *calls = calloc((size_t)j->nparts, sizeof *calls);
    int running = 0;
    if (!m || !calls) {
        for (int i = 1; i < j->nparts; i++)
            j->parts[i].state = PART_HERE;
        goto out;
    }
    for (;;) {
        int unsettled = 0, inflight = 0;
        long long now = (long long)http_mono_ms(), wake = 100;
        for (int i = 1; i < j->nparts; i++) {
            struct part *p = &j->parts[i];
            unsettled += p->state == PART_TODO || p->state == PART_RUNNING;
            inflight += p->state == PART_RUNNING;
        }
        if (!unsettled)
            break;
        if (deadline_ms && http_clock_ms() >= deadline_ms) {
            for (int i = 1; i < j->nparts; i++)
                if (j->parts[i].state == PART_TODO || j->parts[i].state == PART_RUNNING) {
                    snprintf(j->parts[i].msg, sizeof j->parts[i].msg,
                             "no answer before the deadline");
                    j->parts[i].state = PART_FAILED;
                    j->parts[i].err = CT_ETIMEOUT;
                }
            break;
        }
        for (int i = 1; i < j->nparts && inflight < f->concurrency; i++) {
            struct part *p = &j->parts[i];
            if (p->state != PART_TODO)
                continue;
            if (p->not_before > now) {
                wake = p->not_before - now < wake ? p->not_before - now : wake;
                continue;
            }
            call_free(&calls[i]);
            p->attempts++;
            if (call_start(f, j, i, &calls[i], m, deadline_ms)) {
                snprintf(p->msg, sizeof p->msg, "out of memory");
                p->state = PART_HERE;
                call_free(&calls[i]);
                continue;
            }
            p->state = PART_RUNNING;
            inflight++;
        }
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct call *c = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            CURLcode rc = msg->data.result;
            curl_multi_remove_handle(m, c->h);
            call_done(j, c, rc, deadline_ms);
            call_free(c);
        }
        curl_multi_poll(m, NULL, 0, (int)(wake > 0 ? wake : 1), NULL);
    }
out:
    for (int i = 0; calls && i < j->nparts; i++) {
        if (calls[i].h)
            curl_multi_remove_handle(m, calls[i].h);
        call_free(&calls[i]);
    }
    free(calls);
    if (m)
        curl_multi_cleanup(m);
    return NULL;
}

/* --- the coordinator ---------------------------------------------------------------------- */

int fanout_count(const struct fanout *f, const struct zonal_plan *plan, int parts,
                 long long min_cells, long long part_cells)
{
    long long n = parts;
    if (n <= 0) {
        if (!f || plan->window_cells < min_cells || part_cells <= 0)
            return 1;
        n = (plan->window_cells + part_cells - 1) / part_cells;
    }
    n = n > FANOUT_MAX_PARTS ? FANOUT_MAX_PARTS : n;
    n = n > plan->nchunks ? plan->nchunks : n;
    return n < 1 ? 1 : (int)n;
}

int fanout_run(struct fanout *f, struct zonal_zone *zz, const struct fanout_source *src,
               const struct polygon *polys, size_t n, const struct zonal_opts *o, int nparts,
               struct stats **out, struct zonal_info *info, char *msg, size_t msgcap)
{
    const struct zonal_plan *plan = zonal_zone_plan(zz);
    struct job j = { .f = f, .src = src, .polys = polys, .n = n, .o = o, .zz = zz, .plan = plan,
                     .nparts = nparts };
    int err = CT_OK, here = 0, failed = 0;
    double t0 = http_mono_ms();
    if (nparts < 1 || nparts > FANOUT_MAX_PARTS || nparts > plan->nchunks)
        return CT_EINVAL;
    if (!(j.parts = calloc((size_t)nparts, sizeof *j.parts)))
        return CT_ENOMEM;
    pthread_cond_init(&j.settled, NULL);
    for (int i = 0; i < nparts; i++) {
        j.parts[i].first = plan->nchunks * i / nparts;
        j.parts[i].count = plan->nchunks * (i + 1) / nparts - j.parts[i].first;
        j.parts[i].job = &j;
    }
    if (f && f->kind == FANOUT_LOCAL && nparts > 1) {
        run_local(f, &j);
    } else if (f && f->kind == FANOUT_LAMBDA && nparts > 1) {
        pthread_t t;
        int threaded = 0;
        if ((j.polytext = polygons_json(polys, n)) && !pthread_create(&t, NULL, run_lambda, &j))
            threaded = 1;
        else
            for (int i = 1; i < nparts; i++)
                j.parts[i].state = PART_HERE;
        settle(&j.parts[0], part_compute(&j, &j.parts[0], zz, 1));
        if (threaded)
            pthread_join(t, NULL);
        for (int i = 1; i < nparts; i++) /* the throttled ones */
            if (j.parts[i].state == PART_HERE)
                settle(&j.parts[i], part_compute(&j, &j.parts[i], zz, 1));
    } else {
        for (int i = 0; i < nparts; i++)
            settle(&j.parts[i], part_compute(&j, &j.parts[i], zz, 1));
    }
    for (int i = 0; i < nparts; i++) {
        here += j.parts[i].here;
        failed += j.parts[i].state != PART_DONE;
    }
    log_fanout(!f ? "here" : f->kind == FANOUT_LOCAL ? "local" : "lambda", nparts, here,
               plan->nchunks, failed, http_mono_ms() - t0);
    /* every part, in order: the first failure decides; none is dropped */
    memset(info, 0, sizeof *info);
    info->level = plan->level;
    info->window_cells = plan->window_cells;
    for (int i = 0; i < nparts && !err; i++) {
        struct part *p = &j.parts[i];
        if (p->state != PART_DONE) {
            err = p->err;
            if (!err)
                err = CT_EINTERNAL;
            snprintf(msg, msgcap, "part %d of %d (chunks %lld-%lld) failed: %s", i + 1, nparts,
                     p->first, p->first + p->count - 1, p->msg);
            break;
        }
        info->chunks += p->info.chunks;
        info->chunks_read += p->info.chunks_read;
        info->cells_read += p->info.cells_read;
        for (int b = 0; b < o->nbands && !err; b++)
            if ((err = stats_merge(out[b], p->s[b])))
                snprintf(msg, msgcap, "out of memory");
    }
    for (int i = 0; i < nparts; i++)
        part_clear(&j.parts[i], o->nbands);
    pthread_cond_destroy(&j.settled);
    free(j.polytext);
    free(j.parts);
    return err;
}
