/* The pure parts of derived layers (docs/OVERLAY.md): the remap and weights
 * parsers (tables of accepted and refused texts), the overlay rule of a cell
 * (NoData before restricted, weights, rounding, clamping), band math through
 * muparser (a table of refused expressions with the position named, values,
 * non-finite results as NaN, limits), and slope/aspect on planes whose answer
 * is known analytically. The pixels against gdaldem/gdal_calc are in
 * test/test_overlay.sh. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "algo.h"
#include "err.h"
#include "expr.h"
#include "overlay.h"

static void test_remap_parse(void **state)
{
    (void)state;
    struct remap m;
    char msg[256];
    const char *good = "1:restricted,2:2,3..5.5:6,-10..0:nodata,7:9";
    assert_int_equal(overlay_remap_parse(good, strlen(good), 1, 9, &m, msg, sizeof msg), 0);
    assert_int_equal(m.n, 5);
    assert_int_equal(m.r[0].kind, REMAP_RESTRICTED);
    assert_int_equal(m.r[2].is_range, 1);
    assert_true(m.r[2].lo == 3 && m.r[2].hi == 5.5 && m.r[2].to == 6);
    assert_true(m.r[3].lo == -10 && m.r[3].hi == 0 && m.r[3].kind == REMAP_NODATA);
    double to = 0;
    assert_int_equal(overlay_remap(&m, 1, &to), REMAP_RESTRICTED);
    assert_int_equal(overlay_remap(&m, 3, &to), REMAP_VALUE);
    assert_true(to == 6);
    assert_int_equal(overlay_remap(&m, 5.4999, &to), REMAP_VALUE);
    assert_int_equal(overlay_remap(&m, 5.5, &to), REMAP_NODATA); /* [lo, hi): hi is out */
    assert_int_equal(overlay_remap(&m, -10, &to), REMAP_NODATA);
    assert_int_equal(overlay_remap(&m, 8, &to), REMAP_NODATA);   /* no rule */
    assert_int_equal(overlay_remap(&m, NAN, &to), REMAP_NODATA);
    /* the first matching rule decides */
    const char *first = "0..10:3,5:9";
    assert_int_equal(overlay_remap_parse(first, strlen(first), 1, 9, &m, msg, sizeof msg), 0);
    assert_int_equal(overlay_remap(&m, 5, &to), REMAP_VALUE);
    assert_true(to == 3);

    static const char *const bad[] = {
        "", "1", ":3", "1:", "1:10", "1:0", "5..1:3", "1..1:3", "a:3", "1:three",
        "1:restricte", "1:NODATA", "1..:3", "..2:3", "1:2,", ",1:2", "1 :2", "1:2:3",
        "inf:3", "nan:3", "0x10:3", "1..2..3:4",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        msg[0] = '\0';
        if (overlay_remap_parse(bad[i], strlen(bad[i]), 1, 9, &m, msg, sizeof msg) != CT_EINVAL)
            fail_msg("remap \"%s\" accepted", bad[i]);
        assert_non_null(strstr(msg, "remap"));
    }
    char many[1024] = "";
    for (int i = 0; i <= OVERLAY_MAX_RULES; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s%d:1", i ? "," : "", i);
    assert_int_equal(overlay_remap_parse(many, strlen(many), 1, 9, &m, msg, sizeof msg),
                     CT_EINVAL);
    assert_non_null(strstr(msg, "more than"));
}

static void test_weights(void **state)
{
    (void)state;
    double w[OVERLAY_MAX_INPUTS];
    char msg[256];
    assert_int_equal(overlay_weights_parse("60,40", 5, 2, w, msg, sizeof msg), 0);
    assert_true(w[0] == 60 && w[1] == 40);
    assert_int_equal(overlay_weights_parse("33.5,33.5,33", 12, 3, w, msg, sizeof msg), 0);
    assert_int_equal(overlay_weights_parse("100,0", 5, 2, w, msg, sizeof msg), 0);
    static const struct {
        const char *s;
        int n;
        const char *why;
    } bad[] = {
        { "60,30", 2, "sum to 100" },   { "60", 2, "expected 2" },
        { "50,30,20", 2, "expected 2" }, { "110,-10", 2, "0..100" },
        { "a,b", 2, "not a number" },   { "", 1, "not a number" },
        { "60,,40", 2, "not a number" }, { "nan,100", 2, "not a number" },
        { "50,50,", 2, "expected 2" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        msg[0] = '\0';
        if (overlay_weights_parse(bad[i].s, strlen(bad[i].s), bad[i].n, w, msg, sizeof msg) !=
            CT_EINVAL)
            fail_msg("weights \"%s\" accepted", bad[i].s);
        if (!strstr(msg, bad[i].why))
            fail_msg("weights \"%s\": \"%s\" lacks \"%s\"", bad[i].s, msg, bad[i].why);
    }
}

static void test_cell(void **state)
{
    (void)state;
    struct remap a, b;
    char msg[128];
    assert_int_equal(overlay_remap_parse("1:restricted,2:2,3:6,4:9,5:nodata", 33, 1, 9, &a, msg,
                                         sizeof msg), 0);
    assert_int_equal(overlay_remap_parse("0..1:9,1..3:7,3..90:restricted", 30, 1, 9, &b, msg,
                                         sizeof msg), 0);
    const struct remap *rm[2] = { &a, &b };
    const double w[2] = { 60, 40 };
    double s = -1;
    unsigned char ok[2] = { 1, 1 };
    double v[2] = { 3, 2 }; /* 60*6 + 40*7 = 640 -> 6.4 -> 6 */
    assert_int_equal(overlay_cell(2, v, ok, rm, w, OVERLAY_NEAREST, 1, 9, &s), OVERLAY_SCORE);
    assert_true(s == 6);
    v[0] = 4; /* 60*9 + 40*7 = 820 -> 8.2 */
    assert_int_equal(overlay_cell(2, v, ok, rm, w, OVERLAY_CEIL, 1, 9, &s), OVERLAY_SCORE);
    assert_true(s == 9);
    assert_int_equal(overlay_cell(2, v, ok, rm, w, OVERLAY_FLOOR, 1, 9, &s), OVERLAY_SCORE);
    assert_true(s == 8);
    const double half[2] = { 50, 50 };
    v[0] = 2;
    v[1] = 0.5; /* 50*2 + 50*9 = 550 -> 5.5: half up */
    assert_int_equal(overlay_cell(2, v, ok, rm, half, OVERLAY_NEAREST, 1, 9, &s), OVERLAY_SCORE);
    assert_true(s == 6);
    v[0] = 1; /* restricted by the first input */
    assert_int_equal(overlay_cell(2, v, ok, rm, w, OVERLAY_NEAREST, 1, 9, &s), OVERLAY_RESTRICTED);
    v[1] = 50; /* both restricted */
    assert_int_equal(overlay_cell(2, v, ok, rm, w, OVERLAY_NEAREST, 1, 9, &s), OVERLAY_RESTRICTED);
    ok[1] = 0; /* NoData wins over restricted */
    assert_int_equal(overlay_cell(2, v, ok, rm, w, OVERLAY_NEAREST, 1, 9, &s), OVERLAY_NODATA);
    ok[1] = 1;
    v[0] = 5; /* remapped to nodata, with a restricted other input */
    assert_int_equal(overlay_cell(2, v, ok, rm, w, OVERLAY_NEAREST, 1, 9, &s), OVERLAY_NODATA);
    v[0] = 7; /* no rule */
    v[1] = 0;
    assert_int_equal(overlay_cell(2, v, ok, rm, w, OVERLAY_NEAREST, 1, 9, &s), OVERLAY_NODATA);
    /* a weight of 0 still lets its input's NoData and restrictions count */
    const double zero[2] = { 100, 0 };
    v[0] = 4;
    v[1] = 50;
    assert_int_equal(overlay_cell(2, v, ok, rm, zero, OVERLAY_NEAREST, 1, 9, &s),
                     OVERLAY_RESTRICTED);
    v[1] = 0;
    assert_int_equal(overlay_cell(2, v, ok, rm, zero, OVERLAY_NEAREST, 1, 9, &s), OVERLAY_SCORE);
    assert_true(s == 9);
}

/* Evaluates text over two variables x, y on n points; NULL on failure. */
static void eval2(const char *text, const double *x, const double *y, int n, double *out)
{
    const char *names[] = { "x", "y" };
    struct expr *e = NULL;
    char msg[256] = "";
    if (expr_compile(text, strlen(text), names, 2, &e, msg, sizeof msg))
        fail_msg("%s: %s", text, msg);
    double xs[8], ys[8];
    memcpy(xs, x, sizeof(double) * (size_t)n);
    memcpy(ys, y, sizeof(double) * (size_t)n);
    double *vars[] = { xs, ys };
    assert_int_equal(expr_eval(e, vars, (size_t)n, out, msg, sizeof msg), 0);
    expr_free(e);
}

static void test_expr_values(void **state)
{
    (void)state;
    const double x[4] = { 4, 1, 3, 0 }, y[4] = { 2, 1, 3, 0 };
    double out[4];
    eval2("(x - y) / (x + y)", x, y, 4, out);
    assert_true(fabs(out[0] - 2.0 / 6) < 1e-15 && out[1] == 0 && out[2] == 0);
    assert_true(isnan(out[3])); /* 0/0 */
    eval2("1 / (x - y)", x, y, 4, out);
    assert_true(out[0] == 0.5 && isnan(out[1]) && isnan(out[2]) && isnan(out[3])); /* inf */
    eval2("sqrt(x - 2)", x, y, 4, out);
    assert_true(fabs(out[0] - sqrt(2)) < 1e-15 && isnan(out[1]));
    eval2("x > y ? min(x, y) : max(x, y) ^ 2", x, y, 4, out);
    assert_true(out[0] == 2 && out[1] == 1 && out[2] == 9 && out[3] == 0);
    eval2("ln(_e) + floor(x / 3) + rint(0.4) + abs(-y)", x, y, 2, out);
    assert_true(out[0] == 1 + 1 + 0 + 2 && out[1] == 1 + 0 + 0 + 1);
    /* which variables are used */
    const char *names[] = { "b1", "b2", "b3" };
    struct expr *e = NULL;
    char msg[128];
    assert_int_equal(expr_compile("b3 * 2", 6, names, 3, &e, msg, sizeof msg), 0);
    assert_false(expr_uses(e, 0));
    assert_false(expr_uses(e, 1));
    assert_true(expr_uses(e, 2));
    double b3[2] = { 1.5, -2 }, r[2];
    double *vars[] = { NULL, NULL, b3 };
    assert_int_equal(expr_eval(e, vars, 2, r, msg, sizeof msg), 0);
    assert_true(r[0] == 3 && r[1] == -4);
    expr_free(e);
}

static void test_expr_refused(void **state)
{
    (void)state;
    const char *names[] = { "b1", "b2" };
    static const struct {
        const char *text;
        const char *msg; /* the whole message */
    } bad[] = {
        { "(b1 - b2", "expression: missing parenthesis at position 8" },
        { "b1 +", "expression: unexpected end of expression at position 4" },
        { "foo(b1)", "expression: unknown name \"foo\" at position 0" },
        { "b1 + b3", "expression: unknown name \"b3\" at position 5" },
        { "sum(b1, b2)", "expression: unknown name \"sum\" at position 0" },
        { "b1, b2", "expression: one result expected, not 2" },
        { "\"text\"", "expression: strings are not allowed at position 6" },
        { "(b1))", "expression: unexpected parenthesis at position 4" },
        { "b1 b2", "expression: unexpected variable at position 3" },
        { "b1 ? 1", "expression: missing else clause at position 0" },
        { "sin(b1, b2)", "expression: too many arguments at position 10" },
        { "min(b1)", "expression: too few arguments at position 6" },
        { "", "expression: empty expression at position 0" },
        { "b1\x01", "expression: invalid character at position 2" },
        { "b1 + \xc3\xa9", "expression: invalid character at position 5" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct expr *e = NULL;
        char msg[256] = "";
        int err = expr_compile(bad[i].text, strlen(bad[i].text), names, 2, &e, msg, sizeof msg);
        if (err != CT_EINVAL || e)
            fail_msg("\"%s\" compiled", bad[i].text);
        if (strcmp(msg, bad[i].msg) != 0)
            fail_msg("\"%s\": \"%s\", expected \"%s\"", bad[i].text, msg, bad[i].msg);
    }
    char longer[EXPR_MAX_LEN + 2];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    struct expr *e = NULL;
    char msg[256];
    assert_int_equal(expr_compile(longer, strlen(longer), names, 2, &e, msg, sizeof msg),
                     CT_EINVAL);
    assert_string_equal(msg, "expression: longer than 256 characters");
    assert_int_equal(expr_compile(longer, EXPR_MAX_LEN, names, 2, &e, msg, sizeof msg), 0);
    expr_free(e);
    const char *many[EXPR_MAX_VARS + 1];
    for (int i = 0; i <= EXPR_MAX_VARS; i++)
        many[i] = "v";
    assert_int_equal(expr_compile("1", 1, many, EXPR_MAX_VARS + 1, &e, msg, sizeof msg),
                     CT_EINVAL);
    assert_non_null(strstr(msg, "variables"));
}

/* A plane z = a*x + b*y (x east, y north, in metres) on a 5 x 5 grid of
 * res metres; slope and aspect of the 3 x 3 interior. */
static void plane(double a, double b, double res, double *slope, double *aspect)
{
    double z[25];
    uint8_t ok[25], ov[9];
    double s[9], asp[9];
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++)
            z[r * 5 + c] = a * c * res + b * (4 - r) * res;
    memset(ok, 1, sizeof ok);
    assert_int_equal(algo_terrain(ALGO_SLOPE, z, ok, 3, 3, res, -res, 1, s, ov), 0);
    assert_int_equal(ov[4], 1);
    assert_int_equal(algo_terrain(ALGO_ASPECT, z, ok, 3, 3, res, -res, 1, asp, ov), 0);
    *slope = s[4];
    *aspect = asp[4];
}

static void test_terrain(void **state)
{
    (void)state;
    double s, a;
    plane(0, 0, 30, &s, &a);
    assert_true(s == 0 && a == -1); /* flat */
    plane(1, 0, 30, &s, &a);        /* rising to the east: 45 degrees, facing west */
    assert_true(fabs(s - 45) < 1e-4 && fabs(a - 270) < 1e-4);
    plane(0, tan(10 * M_PI / 180), 90, &s, &a); /* rising to the north: faces south */
    assert_true(fabs(s - 10) < 1e-3 && fabs(a - 180) < 1e-3);
    plane(-0.5, -0.5, 10, &s, &a); /* falling to the north-east: faces north-east */
    assert_true(fabs(s - atan(sqrt(0.5)) * 180 / M_PI) < 1e-3 && fabs(a - 45) < 1e-3);
    /* scale: the same plane in units of 1000 m */
    double z[25], out[9];
    uint8_t ok[25], ov[9];
    for (int i = 0; i < 25; i++) {
        z[i] = (i % 5) * 1000.0; /* 1000 m per cell of 1 unit = 1000 m */
        ok[i] = 1;
    }
    assert_int_equal(algo_terrain(ALGO_SLOPE, z, ok, 3, 3, 1, -1, 1000, out, ov), 0);
    assert_true(fabs(out[4] - 45) < 1e-4);
    /* a NoData neighbour makes the cell NoData, as gdaldem without -compute_edges */
    ok[0] = 0;
    assert_int_equal(algo_terrain(ALGO_SLOPE, z, ok, 3, 3, 1, -1, 1000, out, ov), 0);
    assert_int_equal(ov[0], 0);
    assert_int_equal(ov[1], 1);
    assert_true(isnan(out[0]));
    z[12] = NAN; /* so does a NaN */
    assert_int_equal(algo_terrain(ALGO_SLOPE, z, ok, 3, 3, 1, -1, 1000, out, ov), 0);
    for (int i = 0; i < 9; i++)
        assert_int_equal(ov[i], 0);
    assert_int_equal(algo_terrain(ALGO_SLOPE, z, ok, 3, 3, 0, -1, 1, out, ov), CT_EINVAL);
    assert_int_equal(algo_terrain(ALGO_SLOPE, z, ok, 3, 3, 1, -1, 0, out, ov), CT_EINVAL);
    assert_int_equal(algo_terrain((enum algo_terrain)7, z, ok, 3, 3, 1, -1, 1, out, ov),
                     CT_EINVAL);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remap_parse),  cmocka_unit_test(test_weights),
        cmocka_unit_test(test_cell),         cmocka_unit_test(test_expr_values),
        cmocka_unit_test(test_expr_refused), cmocka_unit_test(test_terrain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
