#include "custom.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "parse.h"

/* The message may end up in a JSON error body; keep it printable ASCII. */
static void setmsg(char *msg, size_t msgcap, const char *fmt, ...)
{
    if (!msg || msgcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgcap, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
}

/* A quotable excerpt of a user-supplied key: at most 24 bytes, non-printables as '?'. */
static void excerpt(const char *s, char out[32])
{
    size_t i = 0;
    for (; s[i] && i < 24; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '"')
                     ? '?'
                     : s[i];
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* Keys are plain decimal notation (parse.h): no spaces, hex, "inf" or "nan". */
static int parse_key(const char *s, double *v)
{
    return parse_decimal(s, strlen(s), v) == CT_OK ? 0 : -1;
}

static int parse_colour(const cJSON *a, uint8_t rgba[4])
{
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    if (n != 3 && n != 4)
        return -1;
    rgba[3] = 255;
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, a)
    {
        if (!cJSON_IsNumber(c))
            return -1;
        double d = c->valuedouble; /* NaN fails both comparisons; inf fails the range */
        if (!(d >= 0 && d <= 255) || d != floor(d))
            return -1;
        rgba[i++] = (uint8_t)d;
    }
    return 0;
}

static int cmp_lo(const void *pa, const void *pb)
{
    const struct custom_entry *a = pa, *b = pb;
    return (a->lo > b->lo) - (a->lo < b->lo);
}

/* Counts children up to one past the limit, so a huge array costs no more than that. */
static int count_capped(const cJSON *parent)
{
    int n = 0;
    for (const cJSON *c = parent->child; c && n <= CUSTOM_MAX_ENTRIES; c = c->next)
        n++;
    return n;
}

static int parse_discrete(const cJSON *root, struct custom_cmap *out, char *msg, size_t msgcap)
{
    char key[32];
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        struct custom_entry *e = &out->e[out->n];
        /* cJSON keeps keys as C strings, so "1\u0000x" reads as "1". */
        if (parse_key(item->string, &e->lo) != 0) {
            excerpt(item->string, key);
            setmsg(msg, msgcap, "colormap key \"%s\" is not a finite decimal number", key);
            return CT_EINVAL;
        }
        e->hi = e->lo;
        if (parse_colour(item, e->rgba) != 0) {
            excerpt(item->string, key);
            setmsg(msg, msgcap, "colour of \"%s\" must be 3 or 4 integers 0..255", key);
            return CT_EINVAL;
        }
        out->n++;
    }
    qsort(out->e, (size_t)out->n, sizeof out->e[0], cmp_lo);
    for (int i = 1; i < out->n; i++)
        if (out->e[i].lo == out->e[i - 1].lo) {
            setmsg(msg, msgcap, "duplicate colormap value %.17g", out->e[i].lo);
            return CT_EINVAL;
        }
    return CT_OK;
}

static int parse_intervals(const cJSON *root, struct custom_cmap *out, char *msg, size_t msgcap)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        struct custom_entry *e = &out->e[out->n];
        int k = out->n + 1; /* 1-based in messages */
        const cJSON *range = cJSON_GetArrayItem(item, 0), *colour = cJSON_GetArrayItem(item, 1);
        if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2 || !cJSON_IsArray(range) ||
            cJSON_GetArraySize(range) != 2 || !cJSON_IsNumber(range->child) ||
            !cJSON_IsNumber(range->child->next)) {
            setmsg(msg, msgcap, "interval %d must be [[MIN, MAX], [r, g, b(, a)]]", k);
            return CT_EINVAL;
        }
        e->lo = range->child->valuedouble;
        e->hi = range->child->next->valuedouble;
        /* JSON has no inf or NaN, but cJSON turns 1e999 into inf. */
        if (!isfinite(e->lo) || !isfinite(e->hi)) {
            setmsg(msg, msgcap, "interval %d: MIN and MAX must be finite numbers", k);
            return CT_EINVAL;
        }
        if (!(e->lo < e->hi)) {
            setmsg(msg, msgcap, "interval %d: MIN %.17g must be less than MAX %.17g", k, e->lo,
                   e->hi);
            return CT_EINVAL;
        }
        if (parse_colour(colour, e->rgba) != 0) {
            setmsg(msg, msgcap, "colour of interval %d must be 3 or 4 integers 0..255", k);
            return CT_EINVAL;
        }
        out->n++;
    }
    /* Sorted by MIN with every MIN < MAX, any overlap shows between neighbours. */
    qsort(out->e, (size_t)out->n, sizeof out->e[0], cmp_lo);
    for (int i = 1; i < out->n; i++)
        if (out->e[i].lo < out->e[i - 1].hi) {
            setmsg(msg, msgcap, "intervals [%.17g, %.17g) and [%.17g, %.17g) overlap",
                   out->e[i - 1].lo, out->e[i - 1].hi, out->e[i].lo, out->e[i].hi);
            return CT_EINVAL;
        }
    return CT_OK;
}

int custom_parse(const char *json, size_t len, struct custom_cmap *out, char *msg, size_t msgcap)
{
    int err = CT_EINVAL;
    cJSON *root = NULL;
    out->intervals = 0;
    out->n = 0;
    if (msg && msgcap)
        msg[0] = '\0';
    if (!json || len == 0) {
        setmsg(msg, msgcap, "colormap is empty, not JSON");
        goto out;
    }
    /* cJSON_ParseWithLength stops after the first value and accepts whatever
     * follows; the end pointer lets trailing garbage be refused. On failure it
     * points at the error, and unlike cJSON_GetErrorPtr() it is not global. */
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        setmsg(msg, msgcap, "colormap is not valid JSON (error at byte %zu)",
               end && end >= json ? (size_t)(end - json) : (size_t)0);
        goto out;
    }
    size_t at = (size_t)(end - json);
    while (at < len && json[at] && strchr(" \t\r\n", json[at]))
        at++;
    if (at < len) {
        setmsg(msg, msgcap, "colormap is not valid JSON (unexpected data at byte %zu)", at);
        goto out;
    }
    if (!cJSON_IsObject(root) && !cJSON_IsArray(root)) {
        setmsg(msg, msgcap,
               "colormap must be an object {\"VALUE\": [r, g, b(, a)], ...} or an array "
               "[[[MIN, MAX], [r, g, b(, a)]], ...]");
        goto out;
    }
    int n = count_capped(root);
    if (n == 0) {
        setmsg(msg, msgcap, "colormap has no entries");
        goto out;
    }
    if (n > CUSTOM_MAX_ENTRIES) {
        setmsg(msg, msgcap, "colormap has more than %d entries", CUSTOM_MAX_ENTRIES);
        goto out;
    }
    out->intervals = cJSON_IsArray(root);
    err = out->intervals ? parse_intervals(root, out, msg, msgcap)
                         : parse_discrete(root, out, msg, msgcap);
out:
    cJSON_Delete(root);
    if (err) {
        out->n = 0;
        if (msg && msgcap && !msg[0])
            setmsg(msg, msgcap, "invalid colormap");
    }
    return err;
}

int custom_lookup(const struct custom_cmap *c, double v, uint8_t rgba[4])
{
    if (isnan(v) || c->n <= 0 || c->n > CUSTOM_MAX_ENTRIES)
        return 0;
    /* lo of the first entry above v: entries [0, i) have lo <= v */
    int a = 0, b = c->n;
    while (a < b) {
        int m = a + (b - a) / 2;
        if (c->e[m].lo <= v)
            a = m + 1;
        else
            b = m;
    }
    if (a == 0)
        return 0;
    const struct custom_entry *e = &c->e[a - 1];
    if (c->intervals ? !(v < e->hi) : e->lo != v)
        return 0;
    memcpy(rgba, e->rgba, 4);
    return 1;
}
