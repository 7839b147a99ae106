/* fuzz_expr.c - libFuzzer target for band math (expr.h): any bytes as an
 * expression= over b1, b2 and b3, compiled by muparser (a C++ library fed the
 * user's text) and, when it compiles, evaluated over a few awkward values.
 * Invariants expr.h promises are checked with abort(): a refusal is
 * CT_EINVAL with a message "expression: ..." whose position lies within the
 * text; a result is finite or NaN.
 *
 * With -DCOGTILER_LIBFUZZER it is linked against libFuzzer; without, a plain
 * main() replays files (fuzz_replay.h). Seed corpus: test/expr-corpus/. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = { "b1", "b2", "b3" };
    struct expr *e = NULL;
    char msg[256] = "";
    int err = expr_compile((const char *)data, size, names, 3, &e, msg, sizeof msg);
    if (err) {
        if (err != CT_EINVAL || e || strncmp(msg, "expression: ", 12) != 0)
            abort();
        /* the last one: a quoted name may itself contain the words */
        const char *pos = NULL;
        for (const char *p = msg; (p = strstr(p, " at position ")); p++)
            pos = p;
        if (pos && (size_t)strtol(pos + 13, NULL, 10) > size)
            abort();
        return 0;
    }
    if (!e || size > EXPR_MAX_LEN)
        abort();
    enum { N = 8 };
    double a[N] = { 0, 1, -1, 0.5, 1e308, -1e-308, NAN, 255 };
    double b[N] = { 0, 0, 2, -0.5, 1e308, 3, 1, 0 };
    double c[N] = { 1, -1, 0, 7, -1e308, NAN, 0, 255 };
    double *vars[3] = { a, b, c }, out[N];
    if (expr_eval(e, vars, N, out, msg, sizeof msg) == CT_OK)
        for (int k = 0; k < N; k++)
            if (isinf(out[k]))
                abort();
    expr_free(e);
    return 0;
}

#ifndef COGTILER_LIBFUZZER
#include "fuzz_replay.h"

int main(int argc, char **argv)
{
    return fuzz_replay_main("fuzz_expr", argc, argv);
}
#endif
