/* page.h - the viewer page: the embedded index.html with its {{KEY}}
 * placeholders filled in. Pure string work, no I/O. */
#ifndef COGTILER_PAGE_H
#define COGTILER_PAGE_H

#include <stddef.h>

/* tpl[0..len) with every "{{KEY}}" whose KEY is kv[i][0] replaced by kv[i][1]
 * (other placeholders kept as they are). Returns the NUL-terminated result
 * (free with free()) and its length in *outlen, or NULL when out of memory.
 * Values are inserted as given: the caller passes only text that is safe in
 * HTML and JavaScript strings. */
char *page_fill(const char *tpl, size_t len, const char *const kv[][2], size_t nkv,
                size_t *outlen);

#endif
