#include "log.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>

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
    char *line = cJSON_PrintUnformatted(o);
    if (line) {
        fprintf(stderr, "%s\n", line);
        free(line);
    }
    cJSON_Delete(o);
}
