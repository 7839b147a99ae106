#include "source.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"

#define MAX_URL 2048

static const char VSICURL[] = "/vsicurl/", VSIS3[] = "/vsis3/";

static int starts_with_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int source_gdal_name(const char *src, char *out, size_t cap)
{
    int n;
    if (starts_with_ci(src, "s3://"))
        n = snprintf(out, cap, "%s%s", VSIS3, src + 5);
    else if (starts_with_ci(src, "http://") || starts_with_ci(src, "https://"))
        n = snprintf(out, cap, "%s%s", VSICURL, src);
    else
        n = snprintf(out, cap, "%s", src);
    return n >= 0 && (size_t)n < cap ? CT_OK : CT_ETOOBIG;
}

/* The parts of a URL, as libcurl's parser gives them (each curl_free'd). */
struct url_parts {
    char *scheme, *host, *port, *path, *query, *fragment, *user, *password;
    char *full; /* the normalised URL */
};

static void parts_free(struct url_parts *p)
{
    char **f[] = { &p->scheme, &p->host, &p->port,     &p->path, &p->query,
                   &p->fragment, &p->user, &p->password, &p->full };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        curl_free(*f[i]);
        *f[i] = NULL;
    }
}

/* Parses url with curl_url(); 0 or -1. */
static int parse_url(const char *url, struct url_parts *p)
{
    memset(p, 0, sizeof *p);
    CURLU *u = curl_url();
    if (!u)
        return -1;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &p->host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &p->path, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &p->full, 0) == CURLUE_OK) {
        /* Absent parts answer an error code and leave NULL: that is fine. */
        curl_url_get(u, CURLUPART_PORT, &p->port, CURLU_DEFAULT_PORT);
        curl_url_get(u, CURLUPART_QUERY, &p->query, 0);
        curl_url_get(u, CURLUPART_FRAGMENT, &p->fragment, 0);
        curl_url_get(u, CURLUPART_USER, &p->user, 0);
        curl_url_get(u, CURLUPART_PASSWORD, &p->password, 0);
        rc = 0;
    }
    curl_url_cleanup(u);
    if (rc)
        parts_free(p);
    return rc;
}

static int known_scheme(const char *s)
{
    return strcmp(s, "http") == 0 || strcmp(s, "https") == 0 || strcmp(s, "s3") == 0;
}

int source_check_prefix(const char *prefix, char *msg, size_t msgcap)
{
    struct url_parts p;
    int ok = (starts_with_ci(prefix, "http://") || starts_with_ci(prefix, "https://") ||
              starts_with_ci(prefix, "s3://")) &&
             strlen(prefix) < MAX_URL && parse_url(prefix, &p) == 0;
    if (!ok) {
        snprintf(msg, msgcap, "allowed URL prefix \"%.100s\" is not an http://, https:// or "
                              "s3:// URL",
                 prefix);
        return CT_ECONFIG;
    }
    ok = known_scheme(p.scheme) && *p.host && !p.user && !p.password && !p.query && !p.fragment;
    parts_free(&p);
    if (!ok) {
        snprintf(msg, msgcap, "allowed URL prefix \"%.100s\" needs a host and no credentials, "
                              "query or fragment",
                 prefix);
        return CT_ECONFIG;
    }
    return CT_OK;
}

/* True when a segment of the path in url (after "scheme://host") is "." or "..". */
static int has_dot_segment(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    while (p && *p == '/') {
        const char *seg = p + 1, *end = seg + strcspn(seg, "/?");
        size_t n = (size_t)(end - seg);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 1;
        p = end;
    }
    return 0;
}

/* The reason value can never be allowed, whatever the prefixes; NULL if none. */
static const char *malformed(const char *value)
{
    if (!(starts_with_ci(value, "http://") || starts_with_ci(value, "https://") ||
          starts_with_ci(value, "s3://")))
        return "url: only http://, https:// and s3:// URLs are accepted";
    if (strlen(value) >= MAX_URL)
        return "url: longer than 2047 bytes";
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '\\')
            return "url: spaces, control characters, backslashes and non-ASCII bytes must be "
                   "percent-encoded";
        if (*c == '#')
            return "url: fragments are not accepted";
        if (*c == '%') {
            static const char *const bad[] = { "%2e", "%2f", "%5c", "%25", "%00" };
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (strncasecmp((const char *)c, bad[i], 3) == 0)
                    return "url: percent-encoded dots, slashes, backslashes, percent signs and "
                           "NULs are not accepted";
        }
    }
    if (has_dot_segment(value))
        return "url: \".\" and \"..\" path segments are not accepted";
    return NULL;
}

/* True when the URL's path lies under the prefix's path at a '/' boundary. */
static int path_under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return 0;
    return n == 0 || prefix[n - 1] == '/' || path[n] == '\0' || path[n] == '/';
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int source_allow_url(const char *const *prefixes, size_t nprefixes, const char *value,
                     char *gdal, size_t cap, char *msg, size_t msgcap)
{
    const char *why = malformed(value);
    if (why) {
        snprintf(msg, msgcap, "%s", why);
        return CT_EFORBIDDEN;
    }
    if (nprefixes == 0) {
        snprintf(msg, msgcap, "url: ad-hoc sources are disabled (no allowed_url_prefixes)");
        return CT_EFORBIDDEN;
    }
    struct url_parts u;
    if (parse_url(value, &u) != 0) {
        snprintf(msg, msgcap, "url: not a valid URL");
        return CT_EFORBIDDEN;
    }
    int err = CT_EFORBIDDEN;
    if (u.user || u.password) {
        snprintf(msg, msgcap, "url: credentials in the URL are not accepted");
        goto out;
    }
    if (!known_scheme(u.scheme) || (strcmp(u.scheme, "s3") == 0 && u.query)) {
        snprintf(msg, msgcap, "url: only http://, https:// and s3:// URLs (s3:// without a "
                              "query) are accepted");
        goto out;
    }
    int allowed = 0;
    for (size_t i = 0; i < nprefixes && !allowed; i++) {
        struct url_parts p;
        if (parse_url(prefixes[i], &p) != 0)
            continue;
        allowed = strcmp(u.scheme, p.scheme) == 0 && strcasecmp(u.host, p.host) == 0 &&
                  same(u.port, p.port) && path_under(u.path, p.path);
        parts_free(&p);
    }
    if (!allowed) {
        snprintf(msg, msgcap, "url: not under an allowed prefix");
        goto out;
    }
    /* the limit holds for the URL as libcurl normalised it too (it percent-encodes
     * some bytes), which is what the gate checks again at every request */
    if (strlen(u.full) >= MAX_URL) {
        snprintf(msg, msgcap, "url: longer than 2047 bytes");
        goto out;
    }
    int n = strcmp(u.scheme, "s3") == 0 ? snprintf(gdal, cap, "%s%s%s", VSIS3, u.host, u.path)
                                         : snprintf(gdal, cap, "%s%s", VSICURL, u.full);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(msg, msgcap, "url: too long");
        goto out;
    }
    err = CT_OK;
out:
    parts_free(&u);
    return err;
}
