/* err.h - the one error enum of cogtiler, and the one place mapping it to HTTP. */
#ifndef COGTILER_ERR_H
#define COGTILER_ERR_H

enum ct_err {
    CT_OK = 0,
    CT_EINVAL = -1,       /* a bad request parameter (400) */
    CT_ERANGE = -2,       /* z/x/y outside the tile matrix (400) */
    CT_ENOROUTE = -3,     /* no such path (404) */
    CT_ENOLAYER = -4,     /* no such layer (404) */
    CT_EOUTSIDE = -5,     /* the tile lies outside the data (404) */
    CT_EFORBIDDEN = -6,   /* the source is not allowed (403) */
    CT_EMETHOD = -7,      /* HTTP method other than GET/HEAD (405) */
    CT_ESOURCE = -8,      /* the source cannot be opened or read: upstream fault (502) */
    CT_EUNSUPPORTED = -9, /* the source is not usable: no CRS, not Earth... (500) */
    CT_ENOMEM = -10,      /* allocation failed (500) */
    CT_ETOOBIG = -11,     /* a size computation overflowed (500) */
    CT_EINTERNAL = -12,   /* a bug or an unexpected library failure (500) */
    CT_ECONFIG = -13,     /* invalid configuration (start-up only) */
    CT_ETIMEOUT = -14,    /* the deadline passed, or the source's server did not answer in time (504) */
    CT_ENOTFOUND = -15,   /* the source's server has no such object (404) */
    CT_EDENIED = -16,     /* the source's server refused access (403) */
    CT_ETOOLARGE = -17,   /* the request (its body, or the work it asks for) is too large (413) */
    CT_EMEDIATYPE = -18,  /* a body whose Content-Type the route does not take (415) */
    CT_EURI = -19,        /* the URI or its query string is too long or has too many parts (414) */
    CT_EHEADERS = -20,    /* too many or too large request headers (431) */
    CT_EBUSY = -21,       /* the server has no room for the request now (503) */
};

/* Returns a short static description of err (never NULL). */
const char *ct_strerror(int err);

/* Returns the HTTP status for err; CT_OK maps to 200. The only such mapping. */
int ct_http_status(int err);

/* What a source server's HTTP status means for us: CT_OK for 2xx, CT_ENOTFOUND
 * for 404/410, CT_EDENIED for 401/403, CT_ESOURCE for anything else. The only
 * such mapping (GDAL's reads and the url= gate both use it). */
int ct_upstream_err(long http_status);

#endif
