/* source.h - where raster data may come from: GDAL names for configured layer
 * sources, and the allow-list that guards the ad-hoc url= parameter.
 * URLs are parsed by libcurl's URL API (curl_url), never by hand; the redirect
 * probe is one libcurl request that does not follow redirects. */
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

/* The same decision for a GDAL name found inside a VRT ("/vsicurl/URL" or
 * "/vsis3/B/K"); any other name (a local path, another /vsi handler) is
 * CT_EFORBIDDEN. */
int source_allow_gdal_name(const char *const *prefixes, size_t nprefixes, const char *name,
                           char *msg, size_t msgcap);

/* For a "/vsicurl/" name: asks its server for one byte without following
 * redirects, and follows at most 5 redirects itself, each target checked with
 * source_allow_url. CT_OK when the chain ends in a 2xx answer; CT_EFORBIDDEN
 * (a redirect leaves the allow-list), CT_ENOTFOUND (404/410), CT_EDENIED
 * (401/403), CT_ESOURCE (other status, connection failure), CT_ETIMEOUT.
 * timeout_ms bounds the whole probe. Other names: CT_OK without a request. */
int source_probe(const char *const *prefixes, size_t nprefixes, const char *gdal_name,
                 long timeout_ms, char *msg, size_t msgcap);

#endif
