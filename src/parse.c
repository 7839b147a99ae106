#include "parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int parse_print_double(double v, char *buf, size_t cap)
{
    int len = 0;
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return len;
}

int parse_decimal(const char *s, size_t n, double *out)
{
    /* strtod alone would also take leading spaces, hex, "inf" and "nan".
     * Underflow reads as 0 or a subnormal, which is a finite number. */
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return CT_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr("0123456789+-.eE", s[i]))
            return CT_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *stop;
    double v = strtod(buf, &stop);
    if (stop != buf + n || !isfinite(v))
        return CT_EINVAL;
    *out = v;
    return CT_OK;
}

int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 15)
        return CT_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return CT_EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return CT_OK;
}

int parse_layer_name(const char *s, size_t n)
{
    if (n == 0 || n > PARSE_MAX_LAYER || (n == 1 && s[0] == '.') ||
        (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

const char *parse_resampling(const char *name)
{
    static const char *const names[][2] = {
        { "nearest", "near" }, { "near", "near" },       { "bilinear", "bilinear" },
        { "cubic", "cubic" },  { "average", "average" }, { "mode", "mode" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i][0]) == 0)
            return names[i][1];
    return NULL;
}
