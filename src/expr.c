#include "expr.h"

#include <limits.h>
#include <math.h>
#include <muParserDLL.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct expr {
    muParserHandle_t h;
    int n;
    char names[EXPR_MAX_VARS][EXPR_MAX_LEN + 1];
    int used[EXPR_MAX_VARS];
    double scratch[EXPR_MAX_VARS]; /* what the variables point at while compiling */
};

/* What muparser's error codes (muParserDef.h, EErrorCodes) mean to a user. */
static const char *what(int code)
{
    switch (code) {
    case 0: return "unexpected operator";
    case 1: return "unknown name";
    case 2: return "unexpected end of expression";
    case 3: return "unexpected comma";
    case 4: return "unexpected argument";
    case 5: return "unexpected value";
    case 6: return "unexpected variable";
    case 7: return "unexpected parenthesis";
    case 8:
    case 9:
    case 13:
    case 17: return "strings are not allowed";
    case 10: return "a number was expected";
    case 11: return "missing parenthesis";
    case 12: return "unexpected function";
    case 14: return "too many arguments";
    case 15: return "too few arguments";
    case 25: return "empty expression";
    case 32: return "unexpected conditional";
    case 33: return "missing else clause";
    case 34: return "misplaced colon";
    case 36: return "name too long";
    case 38: return "invalid characters";
    default: return "invalid expression";
    }
}

static double f_abs(double x) { return fabs(x); }
static double f_ln(double x) { return log(x); }
static double f_min(double a, double b) { return fmin(a, b); }
static double f_max(double a, double b) { return fmax(a, b); }

static void define_functions(muParserHandle_t h)
{
    static const struct {
        const char *name;
        muFun1_t fn;
    } one[] = {
        { "abs", f_abs },   { "sqrt", sqrt }, { "exp", exp },   { "ln", f_ln },
        { "log2", log2 },   { "log10", log10 }, { "sin", sin }, { "cos", cos },
        { "tan", tan },     { "asin", asin }, { "acos", acos }, { "atan", atan },
        { "sinh", sinh },   { "cosh", cosh }, { "tanh", tanh }, { "floor", floor },
        { "ceil", ceil },   { "rint", rint },
    };
    mupClearFun(h); /* muparser's own set includes sum/avg of any arity and more */
    for (size_t i = 0; i < sizeof one / sizeof *one; i++)
        mupDefineFun1(h, one[i].name, one[i].fn, 1);
    mupDefineFun2(h, "min", f_min, 1);
    mupDefineFun2(h, "max", f_max, 1);
}

/* The refusal of the expression of len bytes in e's handle. muparser counts
 * positions from 0 and may point one past the end; that is the end. */
static int fail(struct expr *e, size_t len, char *msg, size_t msgcap)
{
    int code = mupGetErrorCode(e->h), pos = mupGetErrorPos(e->h);
    if (pos > (int)len)
        pos = (int)len;
    const char *tok = mupGetErrorToken(e->h);
    if (code == 1 && tok && *tok)
        snprintf(msg, msgcap, "expression: unknown name \"%.32s\" at position %d", tok,
                 pos < 0 ? 0 : pos);
    else
        snprintf(msg, msgcap, "expression: %s at position %d", what(code), pos < 0 ? 0 : pos);
    return CT_EINVAL;
}

int expr_compile(const char *text, size_t len, const char *const *names, int n,
                 struct expr **out, char *msg, size_t msgcap)
{
    *out = NULL;
    if (len == 0) {
        snprintf(msg, msgcap, "expression: empty expression at position 0");
        return CT_EINVAL;
    }
    if (len > EXPR_MAX_LEN) {
        snprintf(msg, msgcap, "expression: longer than %d characters", EXPR_MAX_LEN);
        return CT_EINVAL;
    }
    if (n < 0 || n > EXPR_MAX_VARS) {
        snprintf(msg, msgcap, "expression: more than %d variables", EXPR_MAX_VARS);
        return CT_EINVAL;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f) {
            snprintf(msg, msgcap, "expression: invalid character at position %zu", i);
            return CT_EINVAL;
        }
    struct expr *e = calloc(1, sizeof *e);
    if (!e || !(e->h = mupCreate(muBASETYPE_FLOAT))) {
        free(e);
        snprintf(msg, msgcap, "out of memory");
        return CT_ENOMEM;
    }
    e->n = n;
    define_functions(e->h);
    for (int i = 0; i < n; i++) {
        snprintf(e->names[i], sizeof e->names[i], "%s", names[i]);
        mupDefineVar(e->h, e->names[i], &e->scratch[i]);
    }
    char buf[EXPR_MAX_LEN + 1];
    memcpy(buf, text, len);
    buf[len] = '\0';
    mupSetExpr(e->h, buf);
    int nres = 0;
    mupEvalMulti(e->h, &nres); /* parses; errors stay with the handle */
    int err = CT_OK;
    if (mupError(e->h)) {
        err = fail(e, len, msg, msgcap);
    } else if (nres != 1) {
        snprintf(msg, msgcap, "expression: one result expected, not %d", nres);
        err = CT_EINVAL;
    }
    for (int k = 0; !err && k < mupGetExprVarNum(e->h); k++) {
        const muChar_t *name = NULL;
        muFloat_t *ptr = NULL;
        mupGetExprVar(e->h, (unsigned)k, &name, &ptr);
        for (int i = 0; name && i < n; i++)
            if (!strcmp(name, e->names[i]))
                e->used[i] = 1;
    }
    if (err) {
        expr_free(e);
        return err;
    }
    *out = e;
    return CT_OK;
}

void expr_free(struct expr *e)
{
    if (!e)
        return;
    if (e->h)
        mupRelease(e->h);
    free(e);
}

int expr_uses(const struct expr *e, int i)
{
    return i >= 0 && i < e->n && e->used[i];
}

int expr_eval(struct expr *e, double *const *vars, size_t count, double *out, char *msg,
              size_t msgcap)
{
    if (count > INT_MAX) {
        snprintf(msg, msgcap, "expression: too many cells");
        return CT_EINVAL;
    }
    if (!count)
        return CT_OK;
    for (int i = 0; i < e->n; i++)
        mupDefineBulkVar(e->h, e->names[i], e->used[i] ? vars[i] : &e->scratch[i]);
    /* Debian's muparser splits a bulk evaluation over OpenMP threads; requests
     * are the unit of parallelism here (worker threads, Lambda sandboxes), so
     * this thread evaluates alone. */
    omp_set_num_threads(1);
    mupEvalBulk(e->h, out, (int)count);
    if (mupError(e->h)) {
        snprintf(msg, msgcap, "expression: %s", what(mupGetErrorCode(e->h)));
        return CT_EINTERNAL;
    }
    for (size_t k = 0; k < count; k++)
        if (!isfinite(out[k]))
            out[k] = NAN;
    return CT_OK;
}
