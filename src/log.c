#include "log.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static void emit(cJSON *o)
{
    char *line = o ? cJSON_PrintUnformatted(o) : NULL;
    if (line) {
        fprintf(stderr, "%s\n", line);
        free(line);
    }
    cJSON_Delete(o);
}

void log_fanout(const char *where, int parts, int here, long long chunks, int failed, double ms)
{
    cJSON *o = cJSON_CreateObject(), *f = cJSON_AddObjectToObject(o, "fanout");
    cJSON_AddStringToObject(f, "on", where);
    cJSON_AddNumberToObject(f, "parts", parts);
    cJSON_AddNumberToObject(f, "computed_here", here);
    cJSON_AddNumberToObject(f, "chunks", (double)chunks);
    cJSON_AddNumberToObject(f, "failed", failed);
    cJSON_AddNumberToObject(f, "ms", (double)(long)(ms * 1000) / 1000);
    emit(o);
}

void log_part(const char *request_id, int part, int parts, int status, double ms)
{
    cJSON *o = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(o, "part");
    if (request_id)
        cJSON_AddStringToObject(o, "request_id", request_id);
    cJSON_AddNumberToObject(p, "part", part);
    cJSON_AddNumberToObject(p, "parts", parts);
    cJSON_AddNumberToObject(p, "status", status);
    cJSON_AddNumberToObject(p, "ms", (double)(long)(ms * 1000) / 1000);
    emit(o);
}

void log_request(const char *request_id, const struct request *req, const struct response *resp,
                 double ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    if (request_id)
        cJSON_AddStringToObject(o, "request_id", request_id);
    cJSON_AddStringToObject(o, "method", req->method ? req->method : "");
    cJSON_AddStringToObject(o, "path", req->path ? req->path : "");
    cJSON_AddNumberToObject(o, "status", resp->status);
    cJSON_AddNumberToObject(o, "ms", (double)(long)(ms * 1000) / 1000);
    cJSON_AddNumberToObject(o, "bytes", (double)resp->len);
    if (resp->status >= 400 && resp->detail[0])
        cJSON_AddStringToObject(o, "error", resp->detail);
    emit(o);
}
