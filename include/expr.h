/* expr.h - band math: one expression over named variables, parsed and
 * evaluated by muparser (libmuparser's C API), a whole array per call. The
 * expression is the user's: its length, its variables and the functions it
 * may call are limited here, and what the library refuses is a 400 naming the
 * position. Handles are not thread-safe (one per request). */
#ifndef COGTILER_EXPR_H
#define COGTILER_EXPR_H

#include <stddef.h>

#define EXPR_MAX_LEN 256  /* bytes of an expression */
#define EXPR_MAX_VARS 16  /* variables it may name (b1..b16, or a derived layer's inputs) */

struct expr;

/* Compiles text[0..len) over the variables names[0..n) (n <= EXPR_MAX_VARS).
 * Functions: abs sqrt exp ln log2 log10 sin cos tan asin acos atan sinh cosh
 * tanh floor ceil rint min max (two arguments), with muparser's operators
 * (+ - * / ^, comparisons, && ||, ?:) and constants _pi and _e. Returns 0 and
 * *out (free with expr_free), or CT_EINVAL with "expression: WHAT at position
 * N" (0-based, as muparser counts), or CT_ENOMEM. */
int expr_compile(const char *text, size_t len, const char *const *names, int n,
                 struct expr **out, char *msg, size_t msgcap);

/* NULL-safe. */
void expr_free(struct expr *e);

/* True when the expression uses variable i (an index into the names given). */
int expr_uses(const struct expr *e, int i);

/* out[k] = the expression of vars[0][k] .. vars[n-1][k] for k < count; the
 * arrays of variables it does not use may be NULL. An assignment in the
 * expression (muparser has "=") writes into vars[], which callers treat as
 * scratch. A result that is not finite (a division by zero, sqrt(-1)) is NaN.
 * 0, or CT_EINVAL (count too large), CT_EINTERNAL with msg. */
int expr_eval(struct expr *e, double *const *vars, size_t count, double *out, char *msg,
              size_t msgcap);

#endif
