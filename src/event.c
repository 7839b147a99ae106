#include "event.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* The request's strings are the parsed tree's own: percent-decoding only
 * ever shortens a string, so paths and query parts are decoded in place and
 * rawQueryString is split in place. Apart from the tree, an event allocates
 * only its header list. */
struct event {
    enum event_kind kind;
    const char *error;  /* static reason, or NULL */
    int error_code;     /* the ct_err of error */
    int multivalue;     /* the request came with multiValueHeaders */
    cJSON *root;        /* every string of req points into this tree */
    struct request req;
    struct kv query[EVENT_MAX_PAIRS];
    struct kv *headers;
    char base[136];     /* "/" + the API stage, when the client's URL has it */
};

static void set_msg(char *msg, size_t msgcap, const char *text)
{
    if (msg && msgcap)
        snprintf(msg, msgcap, "%s", text);
}

/* Percent-decodes s in place (see http_pct_decode); the new length, or -1 for
 * a bad or NUL encoding. */
static long pct_decode(char *s, int plus_is_space)
{
    int bad = 0;
    size_t n = http_pct_decode(s, plus_is_space, &bad);
    return bad ? -1 : (long)n;
}

/* For cJSON_ArrayForEach, which would also walk the members of the wrong
 * container type. */
static const cJSON *array_or_null(const cJSON *j)
{
    return cJSON_IsArray(j) ? j : NULL;
}

static const cJSON *object_or_null(const cJSON *j)
{
    return cJSON_IsObject(j) ? j : NULL;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static char *member_string(const cJSON *obj, const char *name)
{
    const cJSON *s = member(obj, name);
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

/* The shape decides the kind; see event.h. */
static int classify(const cJSON *root, enum event_kind *kind)
{
    const cJSON *rc = member(root, "requestContext");
    if (cJSON_IsObject(member(root, "cogtiler_part"))) {
        /* only an invocation can carry it: no HTTP event has this member, and
         * an HTTP shape beside it is refused rather than guessed at */
        if (rc || member(root, "httpMethod") || member(root, "rawPath") || member(root, "body"))
            return CT_EINVAL;
        *kind = EVENT_PART;
        return CT_OK;
    }
    if (cJSON_IsObject(member(rc, "elb"))) {
        *kind = EVENT_ALB;
        return CT_OK;
    }
    const char *version = member_string(root, "version");
    if (version && strcmp(version, "2.0") == 0 &&
        (member(root, "rawPath") || cJSON_IsObject(member(rc, "http")))) {
        const char *domain = member_string(rc, "domainName");
        *kind = domain && strstr(domain, ".lambda-url.") ? EVENT_FUNCTION_URL : EVENT_HTTP_V2;
        return CT_OK;
    }
    if (cJSON_IsObject(rc) && member(rc, "stage") &&
        (member(root, "resource") || member(root, "path"))) {
        *kind = EVENT_REST_V1;
        return CT_OK;
    }
    return CT_EINVAL;
}

/* An HTTP API's rawPath on the execute-api endpoint starts with a named
 * stage ("/prod/tiles/..."); the routes know nothing of stages. Returns the
 * path to decode, inside raw. */
static char *strip_stage(char *raw, const char *stage)
{
    if (!stage || !*stage || strcmp(stage, "$default") == 0)
        return raw;
    size_t n = strlen(stage);
    if (raw[0] != '/' || strncmp(raw + 1, stage, n) != 0)
        return raw;
    if (raw[1 + n] == '/')
        return raw + 1 + n;
    if (raw[1 + n] != '\0')
        return raw;
    raw[n] = '/'; /* "/prod" is the stage's root: "/" */
    return raw + n;
}

static const char *parse_path(struct event *ev)
{
    const cJSON *root = ev->root, *rc = member(root, "requestContext");
    char *raw = member_string(root, ev->kind == EVENT_HTTP_V2 || ev->kind == EVENT_FUNCTION_URL
                                        ? "rawPath"
                                        : "path");
    if (!raw || !*raw)
        return "missing path";
    const char *stage = member_string(rc, "stage");
    if (ev->kind == EVENT_HTTP_V2 || ev->kind == EVENT_FUNCTION_URL) {
        char *stripped = strip_stage(raw, stage);
        if (stripped != raw && strlen(stage) < sizeof ev->base - 1) {
            snprintf(ev->base, sizeof ev->base, "/%s", stage);
            ev->req.base_path = ev->base;
        }
        raw = stripped;
    } else if (ev->kind == EVENT_REST_V1 && stage && *stage && strcmp(stage, "$default") != 0 &&
               strlen(stage) < sizeof ev->base - 1) {
        /* a REST API's path has no stage, but its execute-api URL does */
        snprintf(ev->base, sizeof ev->base, "/%s", stage);
        ev->req.base_path = ev->base;
    }
    long n = pct_decode(raw, 0);
    if (n < 0)
        return "bad percent-encoding in path";
    if (n > EVENT_MAX_PATH)
        return "path too long";
    ev->req.path = raw;
    return NULL;
}

/* Adds one query pair, decoding the value for sources that pass it raw (a
 * key shared by several values is decoded by the caller, once). */
static const char *add_pair(struct event *ev, char *key, char *value, int decode_value)
{
    if (ev->req.nquery == EVENT_MAX_PAIRS)
        return "too many query parameters";
    if (decode_value && pct_decode(value, 1) < 0)
        return "bad percent-encoding in query";
    ev->query[ev->req.nquery++] = (struct kv){ key, value };
    return NULL;
}

/* HTTP API and Function URL: rawQueryString keeps repeated keys apart
 * (queryStringParameters joins their values with commas). Split in place. */
static const char *parse_raw_query(struct event *ev, char *q)
{
    if (strlen(q) > EVENT_MAX_QUERY)
        return "query string too long";
    while (*q) {
        char *amp = strchr(q, '&'), *next = amp ? amp + 1 : q + strlen(q);
        if (amp)
            *amp = '\0';
        if (*q) {
            char *eq = strchr(q, '='), *value = eq ? eq + 1 : q + strlen(q);
            if (eq)
                *eq = '\0';
            if (pct_decode(q, 1) < 0)
                return "bad percent-encoding in query";
            const char *err = add_pair(ev, q, value, 1);
            if (err)
                return err;
        }
        q = next;
    }
    return NULL;
}

/* One value of queryStringParameters / multiValueQueryStringParameters,
 * counted as part of the query string it came from: k=v&k=v. Values that are
 * not strings (null) are skipped. */
static const char *add_member(struct event *ev, size_t *total, char *key, const cJSON *value,
                              int decode)
{
    if (!cJSON_IsString(value))
        return NULL;
    *total += strlen(key) + strlen(value->valuestring) + 2;
    if (*total > EVENT_MAX_QUERY + 1)
        return "query string too long";
    return add_pair(ev, key, value->valuestring, decode);
}

/* API Gateway decodes these parameters; an ALB passes them as the client sent
 * them, so they are decoded here. */
static const char *parse_query_object(struct event *ev, const cJSON *obj, int multi, int decode)
{
    size_t total = 0;
    const cJSON *item, *v;
    const char *err = NULL;
    cJSON_ArrayForEach(item, object_or_null(obj))
    {
        if (decode && pct_decode(item->string, 1) < 0)
            return "bad percent-encoding in query";
        if (!multi)
            err = add_member(ev, &total, item->string, item, decode);
        else
            cJSON_ArrayForEach(v, array_or_null(item))
            {
                if ((err = add_member(ev, &total, item->string, v, decode)))
                    break;
            }
        if (err)
            return err;
    }
    return NULL;
}

static const char *parse_query(struct event *ev)
{
    const cJSON *root = ev->root;
    ev->req.query = ev->query;
    if (ev->kind == EVENT_HTTP_V2 || ev->kind == EVENT_FUNCTION_URL) {
        char *raw = member_string(root, "rawQueryString");
        if (raw)
            return parse_raw_query(ev, raw);
        return parse_query_object(ev, member(root, "queryStringParameters"), 0, 0);
    }
    int decode = ev->kind == EVENT_ALB;
    const cJSON *mv = member(root, "multiValueQueryStringParameters");
    if (cJSON_IsObject(mv))
        return parse_query_object(ev, mv, 1, decode);
    return parse_query_object(ev, member(root, "queryStringParameters"), 0, decode);
}

/* Header names and values are used as sent (no decoding). */
static int parse_headers(struct event *ev)
{
    const cJSON *obj = ev->multivalue ? member(ev->root, "multiValueHeaders")
                                      : member(ev->root, "headers");
    const cJSON *item, *v;
    size_t n = 0;
    cJSON_ArrayForEach(item, object_or_null(obj))
    {
        if (!ev->multivalue)
            n += cJSON_IsString(item);
        else
            cJSON_ArrayForEach(v, array_or_null(item))
            {
                n += cJSON_IsString(v);
            }
    }
    if (n == 0)
        return CT_OK;
    if (n > SIZE_MAX / sizeof *ev->headers)
        return CT_ENOMEM;
    ev->headers = calloc(n, sizeof *ev->headers);
    if (!ev->headers)
        return CT_ENOMEM;
    cJSON_ArrayForEach(item, obj)
    {
        if (!ev->multivalue) {
            if (cJSON_IsString(item))
                ev->headers[ev->req.nheaders++] = (struct kv){ item->string, item->valuestring };
            continue;
        }
        cJSON_ArrayForEach(v, array_or_null(item))
        {
            if (cJSON_IsString(v))
                ev->headers[ev->req.nheaders++] = (struct kv){ item->string, v->valuestring };
        }
    }
    ev->req.headers = ev->headers;
    return CT_OK;
}

/* The body, decoded in place from base64 when the event says so (the tree's
 * string buffer then holds bytes, not text). */
static const char *parse_body(struct event *ev)
{
    const cJSON *b = member(ev->root, "body");
    /* A body has no meaning for these methods (RFC 9110 9.3): it is dropped
     * unread, however it is encoded. */
    static const char *const bodiless[] = { "GET", "HEAD", "OPTIONS", "DELETE" };
    for (size_t i = 0; i < sizeof bodiless / sizeof *bodiless; i++)
        if (strcmp(ev->req.method, bodiless[i]) == 0)
            return NULL;
    if (!cJSON_IsString(b))
        return NULL; /* absent or null: no body */
    char *text = b->valuestring;
    size_t n = strlen(text);
    if (cJSON_IsTrue(member(ev->root, "isBase64Encoded"))) {
        if (n / 4 * 3 > HTTP_MAX_BODY + 2) {
            ev->error_code = CT_ETOOLARGE;
            return "request body larger than 6 MB";
        }
        if (event_unbase64(text, n, (unsigned char *)text, &n))
            return "request body is not valid base64";
    }
    if (n > HTTP_MAX_BODY) {
        ev->error_code = CT_ETOOLARGE;
        return "request body larger than 6 MB";
    }
    ev->req.body = (const unsigned char *)text;
    ev->req.body_len = n;
    return NULL;
}

void event_free(struct event *ev)
{
    if (!ev)
        return;
    cJSON_Delete(ev->root);
    free(ev->headers);
    free(ev);
}

int event_parse(const char *json, size_t len, struct event **out, char *msg, size_t msgcap)
{
    int err = CT_EINVAL;
    char text[96];
    const char *end = NULL;
    *out = NULL;
    struct event *ev = calloc(1, sizeof *ev);
    if (!ev) {
        set_msg(msg, msgcap, "out of memory");
        return CT_ENOMEM;
    }
    ev->root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!ev->root) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        snprintf(text, sizeof text, "event is not valid JSON (error at byte %zu)", at);
        set_msg(msg, msgcap, text);
        goto out;
    }
    while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != json + len) {
        set_msg(msg, msgcap, "event has data after its JSON value");
        goto out;
    }
    if (classify(ev->root, &ev->kind) != CT_OK) {
        set_msg(msg, msgcap,
                "event is not an API Gateway (REST or HTTP API), Function URL or ALB request");
        goto out;
    }
    if (ev->kind == EVENT_PART) {
        *out = ev;
        return CT_OK;
    }
    /* Only REST and ALB events carry multiValueHeaders; ALB sends them
     * instead of headers when its target group has multi-value headers on,
     * and then reads only multiValueHeaders from the response. */
    ev->multivalue = (ev->kind == EVENT_REST_V1 || ev->kind == EVENT_ALB) &&
                     cJSON_IsObject(member(ev->root, "multiValueHeaders"));
    err = parse_headers(ev);
    if (err) {
        set_msg(msg, msgcap, "out of memory");
        goto out;
    }
    /* A method, path or query that cannot be used is the client's fault: the
     * event is kept so the caller can answer 400 in the event's own shape. */
    const cJSON *rc = member(ev->root, "requestContext");
    ev->req.method = ev->kind == EVENT_HTTP_V2 || ev->kind == EVENT_FUNCTION_URL
                         ? member_string(member(rc, "http"), "method")
                         : member_string(ev->root, "httpMethod");
    ev->error = parse_path(ev);
    if (!ev->error)
        ev->error = parse_query(ev);
    if (!ev->error && (!ev->req.method || !*ev->req.method))
        ev->error = "missing method";
    if (!ev->error)
        ev->error = parse_body(ev);
    if (ev->error && !ev->error_code)
        ev->error_code = CT_EINVAL;
    *out = ev;
    ev = NULL;
    err = CT_OK;
out:
    event_free(ev);
    return err;
}

enum event_kind event_kind(const struct event *ev)
{
    return ev->kind;
}

const char *event_error(const struct event *ev)
{
    return ev->error;
}

int event_error_code(const struct event *ev)
{
    return ev->error ? ev->error_code : CT_OK;
}

const void *event_part(const struct event *ev)
{
    return ev->kind == EVENT_PART ? member(ev->root, "cogtiler_part") : NULL;
}

struct request *event_request(struct event *ev)
{
    return &ev->req;
}

size_t event_base64(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *w = out;
    size_t i = 0;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *w++ = abc[v >> 18];
        *w++ = abc[v >> 12 & 63];
        *w++ = abc[v >> 6 & 63];
        *w++ = abc[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *w++ = abc[v >> 18];
        *w++ = abc[v >> 12 & 63];
        *w++ = '=';
        *w++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *w++ = abc[v >> 18];
        *w++ = abc[v >> 12 & 63];
        *w++ = abc[v >> 6 & 63];
        *w++ = '=';
    }
    *w = '\0';
    return (size_t)(w - out);
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int event_unbase64(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
    if (n % 4)
        return CT_EINVAL;
    size_t w = 0;
    for (size_t i = 0; i < n; i += 4) {
        int pad = s[i + 3] == '=' ? (s[i + 2] == '=' ? 2 : 1) : 0;
        if (pad && i + 4 != n)
            return CT_EINVAL; /* padding only at the very end */
        int v[4];
        for (int k = 0; k < 4 - pad; k++)
            if ((v[k] = b64val((unsigned char)s[i + k])) < 0)
                return CT_EINVAL;
        uint32_t q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12;
        if (pad < 2)
            q |= (uint32_t)v[2] << 6;
        if (!pad)
            q |= (uint32_t)v[3];
        /* the bits padding drops must be zero (RFC 4648 3.5: canonical) */
        if ((pad == 1 && (q & 0xff)) || (pad == 2 && (q & 0xffff)))
            return CT_EINVAL;
        out[w++] = (unsigned char)(q >> 16);
        if (pad < 2)
            out[w++] = (unsigned char)(q >> 8);
        if (!pad)
            out[w++] = (unsigned char)q;
    }
    *outlen = w;
    return CT_OK;
}

/* The ALB wants "200 OK"; codes without a phrase here get their class's. */
static const char *reason_phrase(int status)
{
    static const struct {
        int status;
        const char *phrase;
    } phrases[] = {
        { 200, "OK" },
        { 201, "Created" },
        { 202, "Accepted" },
        { 204, "No Content" },
        { 206, "Partial Content" },
        { 301, "Moved Permanently" },
        { 302, "Found" },
        { 303, "See Other" },
        { 304, "Not Modified" },
        { 307, "Temporary Redirect" },
        { 308, "Permanent Redirect" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 406, "Not Acceptable" },
        { 408, "Request Timeout" },
        { 410, "Gone" },
        { 412, "Precondition Failed" },
        { 413, "Content Too Large" },
        { 414, "URI Too Long" },
        { 416, "Range Not Satisfiable" },
        { 429, "Too Many Requests" },
        { 500, "Internal Server Error" },
        { 501, "Not Implemented" },
        { 502, "Bad Gateway" },
        { 503, "Service Unavailable" },
        { 504, "Gateway Timeout" },
    };
    static const char *const classes[] = { "Informational", "Success", "Redirection",
                                           "Client Error", "Server Error" };
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
        if (phrases[i].status == status)
            return phrases[i].phrase;
    if (status >= 100 && status <= 599)
        return classes[status / 100 - 1];
    return "Unknown";
}

/* Lambda's response must be valid JSON, hence valid UTF-8: a "text" body
 * that is not (or holds a NUL) goes as base64 like any binary body. */
static int is_utf8_text(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int is_text_type(const char *type)
{
    return type && (strncmp(type, "application/json", 16) == 0 || strncmp(type, "text/", 5) == 0);
}

/* The body as the NUL-terminated string to send, and whether it is base64. */
static int body_string(const struct response *resp, char **out, int *base64)
{
    size_t n = resp->body ? resp->len : 0;
    *base64 = n > 0 && !(is_text_type(resp->content_type) && is_utf8_text(resp->body, n));
    size_t cap;
    if (*base64) {
        if (n / 3 >= (SIZE_MAX - 1) / 4 - 1)
            return CT_ENOMEM;
        cap = 4 * ((n + 2) / 3) + 1;
    } else {
        if (n == SIZE_MAX)
            return CT_ENOMEM;
        cap = n + 1;
    }
    char *s = malloc(cap);
    if (!s)
        return CT_ENOMEM;
    if (*base64) {
        event_base64(resp->body, n, s);
    } else {
        if (n)
            memcpy(s, resp->body, n);
        s[n] = '\0';
    }
    *out = s;
    return CT_OK;
}

int event_response(const struct event *ev, const struct response *resp, char **json, size_t *len)
{
    int err = CT_ENOMEM, base64 = 0;
    char *body = NULL, status_text[64];
    struct kv hdr[RESPONSE_MAX_HEADERS];
    size_t nhdr = response_headers(resp, hdr);
    *json = NULL;
    *len = 0;
    cJSON *o = cJSON_CreateObject(), *headers = NULL, *mv = NULL;
    if (!o || !cJSON_AddNumberToObject(o, "statusCode", resp->status))
        goto out;
    if (ev->kind == EVENT_ALB) {
        snprintf(status_text, sizeof status_text, "%d %s", resp->status,
                 reason_phrase(resp->status));
        if (!cJSON_AddStringToObject(o, "statusDescription", status_text))
            goto out;
    }
    if (!(headers = cJSON_AddObjectToObject(o, "headers")))
        goto out;
    if (ev->multivalue && !(mv = cJSON_AddObjectToObject(o, "multiValueHeaders")))
        goto out;
    for (size_t i = 0; i < nhdr; i++) {
        if (!cJSON_AddStringToObject(headers, hdr[i].key, hdr[i].value))
            goto out;
        if (!mv)
            continue;
        cJSON *values = cJSON_AddArrayToObject(mv, hdr[i].key);
        cJSON *v = cJSON_CreateString(hdr[i].value);
        if (!values || !v || !cJSON_AddItemToArray(values, v)) {
            cJSON_Delete(v);
            goto out;
        }
    }
    /* A reference: the body (a whole base64 tile) is not copied once more. */
    cJSON *b = NULL;
    if (body_string(resp, &body, &base64) != CT_OK || !(b = cJSON_CreateStringReference(body)) ||
        !cJSON_AddItemToObject(o, "body", b)) {
        cJSON_Delete(b);
        goto out;
    }
    if (!cJSON_AddBoolToObject(o, "isBase64Encoded", base64))
        goto out;
    char *text = cJSON_PrintUnformatted(o);
    if (!text)
        goto out;
    *json = text;
    *len = strlen(text);
    err = CT_OK;
out:
    free(body);
    cJSON_Delete(o);
    return err;
}
