/* source.h - where raster data may come from: GDAL names for configured layer
 * sources, and the allow-list that guards the ad-hoc url= parameter (checked
 * again by the url= gate, gate.h, on every request it makes). URLs are parsed
 * by libcurl's URL API (curl_url), never by hand. Makes no request. */
#ifndef COGTILER_SOURCE_H
#define COGTILER_SOURCE_H

#include <stddef.h>

/* GDAL's name for a configured layer source: "s3://B/K" -> "/vsis3/B/K",
 * "http(s)://..." -> "/vsicurl/http(s)://...", anything else unchanged.
 * Writes into out (cap bytes); CT_OK, or CT_ETOOBIG when it does not fit. */
int source_gdal_name(const char *src, char *out, size_t cap);

/* Checks one allow-list entry: an http://, https:// or s3:// URL with a host
 * and no credentials, query or fragment. CT_OK, or CT_ECONFIG with msg. */
int source_check_prefix(const char *prefix, char *msg, size_t msgcap);

/* Decides whether value (the url= parameter, percent-decoded once) may be read,
 * touching nothing: it must be an http://, https:// or s3:// URL without
 * credentials, fragment, dot segments or percent-encoded dots, slashes,
 * backslashes or percent signs, whose scheme, host and port equal those of one
 * prefix and whose path lies under that prefix's path (at a '/' boundary).
 * CT_OK and GDAL's name for it in gdal (cap bytes), or CT_EFORBIDDEN with the
 * reason in msg (CT_ETOOBIG, CT_ENOMEM). */
int source_allow_url(const char *const *prefixes, size_t nprefixes, const char *value,
                     char *gdal, size_t cap, char *msg, size_t msgcap);

#endif
