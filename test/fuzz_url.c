/* fuzz_url.c - libFuzzer target for the url= allow-list (source_allow_url):
 * any bytes, NUL-terminated, as the url= value against a fixed list; whatever
 * it admits must keep the promises of source.h, checked with abort(). The list
 * is in fuzz_url.h (test_source.c checks each seed's verdict under it). Without
 * -DCOGTILER_LIBFUZZER, a plain main() replays saved inputs
 * (test/url-corpus/ and test/fuzz/crashers/url/). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "fuzz_url.h"
#include "source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char gdal[8192], msg[256];
    int err = source_allow_url(FUZZ_URL_PREFIXES, FUZZ_URL_NPREFIXES, s, gdal, sizeof gdal, msg,
                               sizeof msg);
    if (err == CT_OK) {
        /* what GDAL is given: one of the allowed prefixes' places, nothing else;
         * a prefix not ending in '/' ends at a '/' boundary ("allowedx" is not
         * under "allowed") */
        static const char *const starts[] = { "/vsicurl/https://data.example.com/cogs/",
                                              "/vsicurl/http://127.0.0.1:8080/allowed",
                                              "/vsis3/bucket/public/" };
        int under = 0;
        for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
            size_t l = strlen(starts[i]);
            under |= strncasecmp(gdal, starts[i], l) == 0 &&
                     (starts[i][l - 1] == '/' || gdal[l] == '\0' || gdal[l] == '/' ||
                      gdal[l] == '?');
        }
        if (!under || strchr(gdal, '\\') || strchr(gdal, '#') || strpbrk(gdal, " \t\r\n"))
            abort();
        /* the path (up to any query, which servers do not resolve) has no dot
         * segments and no encoded dots or slashes */
        char path[8192];
        snprintf(path, sizeof path, "%.*s", (int)strcspn(gdal, "?"), gdal);
        size_t pl = strlen(path);
        if (strstr(path, "/../") || strstr(path, "/./") || strcasestr(path, "%2e") ||
            strcasestr(path, "%2f") || (pl >= 3 && strcmp(path + pl - 3, "/..") == 0) ||
            (pl >= 2 && strcmp(path + pl - 2, "/.") == 0))
            abort();
        /* no credentials: no '@' between "://" and the path of a URL ('@' in a
         * path is fine; /vsis3/ names have no authority) */
        const char *auth = strncmp(gdal, "/vsicurl/", 9) == 0 ? strstr(gdal + 9, "://") : NULL;
        if (auth) {
            auth += 3;
            const char *at = strchr(auth, '@'), *slash = strchr(auth, '/');
            if (at && (!slash || at < slash))
                abort();
        }
        /* the URL as libcurl normalised it is admitted again: the url= gate
         * checks every request it makes with that URL */
        if (strncmp(gdal, "/vsicurl/", 9) == 0) {
            char again[8192];
            if (source_allow_url(FUZZ_URL_PREFIXES, FUZZ_URL_NPREFIXES, gdal + 9, again,
                                 sizeof again, msg, sizeof msg) != CT_OK ||
                strcmp(again, gdal) != 0)
                abort();
        }
    } else if (err != CT_EFORBIDDEN) {
        abort();
    }
    free(s);
    return 0;
}

#ifndef COGTILER_LIBFUZZER
#include "fuzz_replay.h"

int main(int argc, char **argv)
{
    return fuzz_replay_main("fuzz_url", argc, argv);
}
#endif
