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
