/* fuzz_url.h - the allow-list the url= fuzz target (fuzz_url.c) checks every
 * input against, shared with test_source.c, which checks that each seed of
 * test/url-corpus/ meets the verdict its name states under this same list. */
#ifndef COGTILER_FUZZ_URL_H
#define COGTILER_FUZZ_URL_H

#include <stddef.h>

static const char *const FUZZ_URL_PREFIXES[] = { "https://data.example.com/cogs/",
                                                 "http://127.0.0.1:8080/allowed",
                                                 "s3://bucket/public/" };
#define FUZZ_URL_NPREFIXES (sizeof FUZZ_URL_PREFIXES / sizeof FUZZ_URL_PREFIXES[0])

#endif
