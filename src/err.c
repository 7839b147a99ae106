#include "err.h"

const char *ct_strerror(int err)
{
    switch ((enum ct_err)err) {
    case CT_OK: return "ok";
    case CT_EINVAL: return "invalid parameter";
    case CT_ERANGE: return "tile coordinates out of range";
    case CT_ENOROUTE: return "not found";
    case CT_ENOLAYER: return "unknown layer";
    case CT_EOUTSIDE: return "tile outside the data";
    case CT_EFORBIDDEN: return "source not allowed";
    case CT_EMETHOD: return "method not allowed";
    case CT_ESOURCE: return "source cannot be read";
    case CT_EUNSUPPORTED: return "source not supported";
    case CT_ENOMEM: return "out of memory";
    case CT_ETOOBIG: return "size too large";
    case CT_EINTERNAL: return "internal error";
    case CT_ECONFIG: return "invalid configuration";
    case CT_ETIMEOUT: return "timed out";
    case CT_ENOTFOUND: return "source object not found";
    case CT_EDENIED: return "access to the source denied";
    case CT_ETOOLARGE: return "request too large";
    case CT_EMEDIATYPE: return "unsupported media type";
    case CT_EURI: return "URI too long";
    case CT_EHEADERS: return "request headers too large";
    case CT_EBUSY: return "server busy";
    }
    return "unknown error";
}

int ct_http_status(int err)
{
    switch ((enum ct_err)err) {
    case CT_OK: return 200;
    case CT_EINVAL:
    case CT_ERANGE: return 400;
    case CT_EFORBIDDEN:
    case CT_EDENIED: return 403;
    case CT_ENOROUTE:
    case CT_ENOLAYER:
    case CT_EOUTSIDE:
    case CT_ENOTFOUND: return 404;
    case CT_EMETHOD: return 405;
    case CT_ETOOLARGE: return 413;
    case CT_EURI: return 414;
    case CT_EMEDIATYPE: return 415;
    case CT_EHEADERS: return 431;
    case CT_EBUSY: return 503;
    case CT_ESOURCE: return 502;
    case CT_EUNSUPPORTED:
    case CT_ENOMEM:
    case CT_ETOOBIG:
    case CT_EINTERNAL:
    case CT_ECONFIG: return 500;
    case CT_ETIMEOUT: return 504;
    }
    return 500;
}

int ct_upstream_err(long http_status)
{
    if (http_status >= 200 && http_status < 300)
        return CT_OK;
    if (http_status == 404 || http_status == 410)
        return CT_ENOTFOUND;
    if (http_status == 401 || http_status == 403)
        return CT_EDENIED;
    return CT_ESOURCE;
}
