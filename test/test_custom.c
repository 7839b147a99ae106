/* User colormaps (colormap= JSON): table-driven parsing, valid and garbage,
 * lookups at the edges, the entry limit, and a differential check of the
 * colours against gdaldem color-relief run as a separate program on GeoTIFFs
 * made by gdal_translate from hand-written ASCII grids. Run from the
 * repository root: it writes to test/out/custom/. */
#include "testutil.h"

#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "custom.h"
#include "err.h"

/* --- parsing ------------------------------------------------------------------ */

static void test_parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int want;
        const char *word; /* in the message when want != 0 */
        int intervals, n;
    } cases[] = {
        /* discrete: int and float keys, 3 and 4 components */
        { "{\"1\": [255, 0, 0]}", CT_OK, NULL, 0, 1 },
        { "{\"-9999\": [0, 0, 0, 0], \"0\": [1, 2, 3], \"2.5\": [4, 5, 6, 7], \"1e3\": [8, 9, 10]}",
          CT_OK, NULL, 0, 4 },
        { "{\"+7\": [1, 2, 3], \"-0.125\": [1, 2, 3], \".5\": [1, 2, 3], \"5.\": [1, 2, 3]}",
          CT_OK, NULL, 0, 4 },
        { "{\"1\": [255.0, 0e0, 1E2, 2.55e2]}", CT_OK, NULL, 0, 1 },
        { " \r\n\t{\"1\":[1,2,3]} \n", CT_OK, NULL, 0, 1 },
        { "{\"1e-400\": [1, 2, 3]}", CT_OK, NULL, 0, 1 }, /* underflows to 0: finite */
        /* intervals */
        { "[[[0, 1], [1, 2, 3]]]", CT_OK, NULL, 1, 1 },
        { "[[[-1.5, 0], [1, 2, 3, 4]], [[0, 2.25], [5, 6, 7]]]", CT_OK, NULL, 1, 2 },
        { "[[[10, 20], [1, 2, 3]], [[-10, -5], [1, 2, 3]], [[0, 10], [1, 2, 3, 0]]]", CT_OK, NULL,
          1, 3 },
        { "[[[-1e300, 1e300], [0, 0, 0, 0]]]", CT_OK, NULL, 1, 1 },

        /* not JSON */
        { "", CT_EINVAL, "JSON", 0, 0 },
        { "{", CT_EINVAL, "JSON", 0, 0 },
        { "{\"1\": [1, 2, 3]", CT_EINVAL, "JSON", 0, 0 },
        { "{\"1\": [1, 2, 3]} x", CT_EINVAL, "JSON", 0, 0 },
        { "{\"1\": [1, 2, 3]}{}", CT_EINVAL, "JSON", 0, 0 },
        { "{1: [1, 2, 3]}", CT_EINVAL, "JSON", 0, 0 },
        { "{'1': [1, 2, 3]}", CT_EINVAL, "JSON", 0, 0 },
        { "[[[0, 1], [1, 2, 3]],]", CT_EINVAL, "JSON", 0, 0 },
        { "[[[0, NaN], [1, 2, 3]]]", CT_EINVAL, "JSON", 0, 0 },
        { "[[[0, Infinity], [1, 2, 3]]]", CT_EINVAL, "JSON", 0, 0 },
        { "nul", CT_EINVAL, "JSON", 0, 0 },
        /* neither form */
        { "3", CT_EINVAL, "object", 0, 0 },
        { "\"{}\"", CT_EINVAL, "object", 0, 0 },
        { "null", CT_EINVAL, "object", 0, 0 },
        { "true", CT_EINVAL, "object", 0, 0 },
        { "{}", CT_EINVAL, "no entries", 0, 0 },
        { "[]", CT_EINVAL, "no entries", 0, 0 },
        /* keys that are not finite decimal numbers */
        { "{\"a\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\" 1\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"1 \": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"0x10\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"inf\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"-Infinity\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"nan\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"1e999\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"-1e400\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"-\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"1e\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"1.2.3\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"1,5\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        { "{\"1\": [1, 2, 3], \"x\": [1, 2, 3]}", CT_EINVAL, "number", 0, 0 },
        /* colours */
        { "{\"1\": 7}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": \"#ff0000\"}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": {\"r\": 1}}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": []}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [1, 2]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [1, 2, 3, 4, 5]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [256, 0, 0]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [0, -1, 0]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [0, 0, 1.5]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [0, 0, 0, 255.5]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [0, 0, 1e999]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [\"1\", 0, 0]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [null, 0, 0]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [true, 0, 0]}", CT_EINVAL, "colour", 0, 0 },
        { "{\"1\": [[1], 0, 0]}", CT_EINVAL, "colour", 0, 0 },
        { "[[[0, 1], [1, 2]]]", CT_EINVAL, "colour", 0, 0 },
        { "[[[0, 1], [1, 2, 3, 300]]]", CT_EINVAL, "colour", 0, 0 },
        { "[[[0, 1], \"red\"]]", CT_EINVAL, "colour", 0, 0 },
        /* interval shape */
        { "[1]", CT_EINVAL, "interval", 0, 0 },
        { "[[[0, 1]]]", CT_EINVAL, "interval", 0, 0 },
        { "[[[0, 1], [1, 2, 3], 4]]", CT_EINVAL, "interval", 0, 0 },
        { "[[[0], [1, 2, 3]]]", CT_EINVAL, "interval", 0, 0 },
        { "[[[0, 1, 2], [1, 2, 3]]]", CT_EINVAL, "interval", 0, 0 },
        { "[[[\"0\", 1], [1, 2, 3]]]", CT_EINVAL, "interval", 0, 0 },
        { "[[[0, null], [1, 2, 3]]]", CT_EINVAL, "interval", 0, 0 },
        { "[[{\"0\": 1}, [1, 2, 3]]]", CT_EINVAL, "interval", 0, 0 },
        { "[{\"1\": [1, 2, 3]}]", CT_EINVAL, "interval", 0, 0 },
        { "[[0, 1, [1, 2, 3]]]", CT_EINVAL, "interval", 0, 0 },
        { "[[[0, 1], [1, 2, 3]], []]", CT_EINVAL, "interval", 0, 0 },
        /* MIN >= MAX, non-finite bounds */
        { "[[[1, 1], [1, 2, 3]]]", CT_EINVAL, "less than", 0, 0 },
        { "[[[2, 1], [1, 2, 3]]]", CT_EINVAL, "less than", 0, 0 },
        { "[[[0, 1], [1, 2, 3]], [[5, -5], [1, 2, 3]]]", CT_EINVAL, "less than", 0, 0 },
        { "[[[-1e999, 0], [1, 2, 3]]]", CT_EINVAL, "finite", 0, 0 },
        { "[[[0, 1e400], [1, 2, 3]]]", CT_EINVAL, "finite", 0, 0 },
        /* duplicates */
        { "{\"1\": [1, 2, 3], \"1\": [4, 5, 6]}", CT_EINVAL, "duplicate", 0, 0 },
        { "{\"1\": [1, 2, 3], \"1.0\": [4, 5, 6]}", CT_EINVAL, "duplicate", 0, 0 },
        { "{\"0\": [1, 2, 3], \"-0\": [4, 5, 6]}", CT_EINVAL, "duplicate", 0, 0 },
        { "{\"100\": [1, 2, 3], \"7\": [1, 2, 3], \"1e2\": [4, 5, 6]}", CT_EINVAL, "duplicate",
          0, 0 },
        /* overlaps */
        { "[[[0, 2], [1, 2, 3]], [[1, 3], [1, 2, 3]]]", CT_EINVAL, "overlap", 0, 0 },
        { "[[[0, 10], [1, 2, 3]], [[2, 3], [1, 2, 3]]]", CT_EINVAL, "overlap", 0, 0 },
        { "[[[2, 3], [1, 2, 3]], [[0, 10], [1, 2, 3]]]", CT_EINVAL, "overlap", 0, 0 },
        { "[[[0, 1], [1, 2, 3]], [[0, 1], [1, 2, 3]]]", CT_EINVAL, "overlap", 0, 0 },
        { "[[[5, 6], [1, 2, 3]], [[0, 1], [1, 2, 3]], [[0.5, 2], [1, 2, 3]]]", CT_EINVAL,
          "overlap", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static struct custom_cmap c;
        char msg[256];
        memset(&c, 0xa5, sizeof c);
        memset(msg, 'x', sizeof msg);
        int err = custom_parse(cases[i].json, strlen(cases[i].json), &c, msg, sizeof msg);
        if (err != cases[i].want)
            fail_msg("%s: got %d (%s), want %d", cases[i].json, err, msg, cases[i].want);
        if (err) {
            assert_int_equal(c.n, 0);
            assert_non_null(memchr(msg, '\0', sizeof msg));
            if (!strstr(msg, cases[i].word))
                fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].json, msg, cases[i].word);
            for (const char *p = msg; *p; p++)
                assert_true(*p >= 0x20 && *p <= 0x7e);
            continue;
        }
        assert_int_equal(c.intervals, cases[i].intervals);
        assert_int_equal(c.n, cases[i].n);
        for (int k = 0; k < c.n; k++) {
            if (c.intervals)
                assert_true(c.e[k].lo < c.e[k].hi);
            else
                assert_true(c.e[k].lo == c.e[k].hi);
            if (k)
                assert_true(c.intervals ? c.e[k - 1].hi <= c.e[k].lo : c.e[k - 1].lo < c.e[k].lo);
        }
    }
}

/* The values and colours come out as given, discrete entries sorted. */
static void test_parse_values(void **state)
{
    (void)state;
    static struct custom_cmap c;
    char msg[128];
    const char *d = "{\"1e3\": [8, 9, 10], \"2.5\": [4, 5, 6, 7], \"-9999\": [0, 0, 0, 0], "
                    "\"0\": [1, 2, 3]}";
    assert_int_equal(custom_parse(d, strlen(d), &c, msg, sizeof msg), CT_OK);
    static const struct custom_entry want[] = {
        { -9999, -9999, { 0, 0, 0, 0 } },
        { 0, 0, { 1, 2, 3, 255 } },
        { 2.5, 2.5, { 4, 5, 6, 7 } },
        { 1000, 1000, { 8, 9, 10, 255 } },
    };
    assert_int_equal(c.intervals, 0);
    assert_int_equal(c.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_true(c.e[i].lo == want[i].lo && c.e[i].hi == want[i].hi);
        assert_memory_equal(c.e[i].rgba, want[i].rgba, 4);
    }
    const char *iv = "[[[10, 20], [1, 2, 3]], [[-2.5, 0.125], [4, 5, 6, 7]]]";
    assert_int_equal(custom_parse(iv, strlen(iv), &c, msg, sizeof msg), CT_OK);
    assert_int_equal(c.intervals, 1);
    assert_int_equal(c.n, 2);
    assert_true(c.e[0].lo == -2.5 && c.e[0].hi == 0.125);
    assert_memory_equal(c.e[0].rgba, ((uint8_t[]){ 4, 5, 6, 7 }), 4);
    assert_true(c.e[1].lo == 10 && c.e[1].hi == 20);
    assert_memory_equal(c.e[1].rgba, ((uint8_t[]){ 1, 2, 3, 255 }), 4);
}

/* Only json[0..len) is read: a valid prefix parses, a cut one does not, and an
 * exactly sized heap copy (no NUL) lets ASan see any read past the end. */
static void test_parse_uses_length(void **state)
{
    (void)state;
    static struct custom_cmap c;
    char msg[128];
    const char *s = "{\"1\": [1, 2, 3]}GARBAGE";
    assert_int_equal(custom_parse(s, 16, &c, msg, sizeof msg), CT_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(custom_parse(s, 15, &c, msg, sizeof msg), CT_EINVAL);
    assert_int_equal(custom_parse(s, 17, &c, msg, sizeof msg), CT_EINVAL);
    assert_int_equal(custom_parse(NULL, 0, &c, msg, sizeof msg), CT_EINVAL);
    /* a NUL inside the length is not whitespace */
    assert_int_equal(custom_parse("{\"1\": [1, 2, 3]}\0", 17, &c, msg, sizeof msg), CT_EINVAL);

    static const char *const texts[] = { "{\"1\": [1, 2, 3]}", "[[[0, 1], [1, 2, 3]]]",
                                         "{\"12", "[[[0, 1], [1, 2, 3]]", "1e5", "\"abc" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t n = strlen(texts[i]);
        char *exact = malloc(n);
        assert_non_null(exact);
        memcpy(exact, texts[i], n);
        int err = custom_parse(exact, n, &c, msg, sizeof msg);
        assert_int_equal(err, i < 2 ? CT_OK : CT_EINVAL);
        free(exact);
    }
}

/* msg may be tiny or absent; it is always terminated and never overrun. */
static void test_parse_msg_buffer(void **state)
{
    (void)state;
    static struct custom_cmap c;
    const char *bad = "{\"1\": [1, 2]}";
    char buf[8];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(custom_parse(bad, strlen(bad), &c, buf, 5), CT_EINVAL);
    assert_int_equal(strlen(buf), 4);
    assert_int_equal(buf[5], 'x');
    assert_int_equal(custom_parse(bad, strlen(bad), &c, buf, 1), CT_EINVAL);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(custom_parse(bad, strlen(bad), &c, NULL, 0), CT_EINVAL);
    /* a key with control characters and non-ASCII is quoted printable and short */
    const char *ctl = "{\"\\u0001\\n\\u00e9\\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": "
                      "[1, 2, 3]}";
    char msg[256];
    assert_int_equal(custom_parse(ctl, strlen(ctl), &c, msg, sizeof msg), CT_EINVAL);
    assert_true(strlen(msg) < 100);
    for (const char *p = msg; *p; p++)
        assert_true(*p >= 0x20 && *p <= 0x7e);
}

/* --- lookup ------------------------------------------------------------------- */

static void test_lookup_table(void **state)
{
    (void)state;
    static const char disc[] = "{\"1000\": [13, 23, 33], \"-9999\": [0, 0, 0, 0], "
                               "\"0\": [10, 20, 30], \"1\": [11, 21, 31, 41], "
                               "\"2.5\": [12, 22, 32, 42], \"0.1\": [1, 1, 1]}";
    static const char iv[] = "[[[10, 20], [1, 1, 1]], [[-5, 0], [2, 2, 2, 2]], "
                             "[[0, 2.5], [3, 3, 3]], [[30, 40], [4, 4, 4, 4]]]";
    static const char one[] = "[[[-1, 1], [9, 8, 7]]]";
    static const struct {
        const char *json;
        double v;
        int hit;
        uint8_t rgba[4];
    } cases[] = {
        { disc, -9999, 1, { 0, 0, 0, 0 } }, /* a hit, transparent by choice */
        { disc, 0, 1, { 10, 20, 30, 255 } },
        { disc, -0.0, 1, { 10, 20, 30, 255 } },
        { disc, 1, 1, { 11, 21, 31, 41 } },
        { disc, 2.5, 1, { 12, 22, 32, 42 } },
        { disc, 1000, 1, { 13, 23, 33, 255 } },
        { disc, 0.1, 1, { 1, 1, 1, 255 } },
        { disc, (double)0.1f, 0, { 0 } }, /* exact means exact */
        { disc, 0.5, 0, { 0 } },
        { disc, 2.4999999999999996, 0, { 0 } },
        { disc, 3, 0, { 0 } },
        { disc, -10000, 0, { 0 } }, /* below every entry */
        { disc, 1e6, 0, { 0 } },    /* above every entry */
        { disc, -9998.999999999998, 0, { 0 } },
        { disc, NAN, 0, { 0 } },
        { disc, INFINITY, 0, { 0 } },
        { disc, -INFINITY, 0, { 0 } },
        { iv, -5, 1, { 2, 2, 2, 2 } }, /* MIN inclusive */
        { iv, -5.000000000000001, 0, { 0 } },
        { iv, -1e-300, 1, { 2, 2, 2, 2 } },
        { iv, -0x1p-1074, 1, { 2, 2, 2, 2 } },
        { iv, 0, 1, { 3, 3, 3, 255 } }, /* MAX exclusive, the next MIN inclusive */
        { iv, -0.0, 1, { 3, 3, 3, 255 } },
        { iv, 2.4999999999999996, 1, { 3, 3, 3, 255 } },
        { iv, 2.5, 0, { 0 } }, /* a gap */
        { iv, 9.999999999999998, 0, { 0 } },
        { iv, 10, 1, { 1, 1, 1, 255 } },
        { iv, 15, 1, { 1, 1, 1, 255 } },
        { iv, 19.999999999999996, 1, { 1, 1, 1, 255 } },
        { iv, 20, 0, { 0 } },
        { iv, 25, 0, { 0 } },
        { iv, 30, 1, { 4, 4, 4, 4 } },
        { iv, 39.99999999999999, 1, { 4, 4, 4, 4 } },
        { iv, 40, 0, { 0 } },
        { iv, -6, 0, { 0 } },
        { iv, 1e300, 0, { 0 } },
        { iv, -1e300, 0, { 0 } },
        { iv, NAN, 0, { 0 } },
        { iv, INFINITY, 0, { 0 } },
        { iv, -INFINITY, 0, { 0 } },
        { one, -1, 1, { 9, 8, 7, 255 } },
        { one, 0.999, 1, { 9, 8, 7, 255 } },
        { one, 1, 0, { 0 } },
        { one, -1.0000001, 0, { 0 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static struct custom_cmap c;
        char msg[128];
        assert_int_equal(custom_parse(cases[i].json, strlen(cases[i].json), &c, msg, sizeof msg),
                         CT_OK);
        uint8_t got[4] = { 0xee, 0xee, 0xee, 0xee };
        int hit = custom_lookup(&c, cases[i].v, got);
        if (hit != cases[i].hit)
            fail_msg("case %zu: %.17g: got %d, want %d", i, cases[i].v, hit, cases[i].hit);
        if (hit)
            assert_memory_equal(got, cases[i].rgba, 4);
        else
            assert_memory_equal(got, ((uint8_t[]){ 0xee, 0xee, 0xee, 0xee }), 4);
    }
}

/* A table not made by custom_parse with a count out of range matches nothing. */
static void test_lookup_bad_count(void **state)
{
    (void)state;
    static struct custom_cmap c;
    uint8_t rgba[4];
    memset(&c, 0, sizeof c);
    c.n = CUSTOM_MAX_ENTRIES + 1;
    assert_int_equal(custom_lookup(&c, 0, rgba), 0);
    c.n = -1;
    assert_int_equal(custom_lookup(&c, 0, rgba), 0);
    c.n = 0;
    assert_int_equal(custom_lookup(&c, 0, rgba), 0);
}

/* --- the entry limit ---------------------------------------------------------- */

static char *make_json(int intervals, int n)
{
    size_t cap = 64 + (size_t)n * 48, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    len += (size_t)snprintf(s + len, cap - len, "%c", intervals ? '[' : '{');
    for (int i = 0; i < n; i++) {
        const char *sep = i ? ", " : "";
        if (intervals)
            len += (size_t)snprintf(s + len, cap - len, "%s[[%d, %d.5], [%d, %d, %d]]", sep, i, i,
                                    i % 256, (i * 7) % 256, 255 - i % 256);
        else
            len += (size_t)snprintf(s + len, cap - len, "%s\"%d\": [%d, %d, %d, %d]", sep,
                                    n - 1 - i, i % 256, (i * 7) % 256, 255 - i % 256, i % 200);
        assert_true(len < cap);
    }
    snprintf(s + len, cap - len, "%c", intervals ? ']' : '}');
    return s;
}

static void test_entry_limit(void **state)
{
    (void)state;
    static struct custom_cmap c;
    char msg[128];
    for (int intervals = 0; intervals < 2; intervals++) {
        char *s = make_json(intervals, CUSTOM_MAX_ENTRIES);
        assert_int_equal(custom_parse(s, strlen(s), &c, msg, sizeof msg), CT_OK);
        free(s);
        assert_int_equal(c.n, CUSTOM_MAX_ENTRIES);
        for (int i = 0; i < CUSTOM_MAX_ENTRIES; i++) {
            uint8_t rgba[4];
            int j = intervals ? i : CUSTOM_MAX_ENTRIES - 1 - i; /* the i-th written */
            uint8_t want[4] = { (uint8_t)(j % 256), (uint8_t)((j * 7) % 256),
                                (uint8_t)(255 - j % 256), intervals ? 255 : (uint8_t)(j % 200) };
            assert_int_equal(custom_lookup(&c, i, rgba), 1);
            assert_memory_equal(rgba, want, 4);
            assert_int_equal(custom_lookup(&c, i + 0.75, rgba), 0);
            assert_int_equal(custom_lookup(&c, i + 0.25, rgba), intervals);
        }
        static const int too_many[] = { CUSTOM_MAX_ENTRIES + 1, CUSTOM_MAX_ENTRIES + 2, 1000,
                                        100000 };
        for (size_t k = 0; k < sizeof too_many / sizeof too_many[0]; k++) {
            s = make_json(intervals, too_many[k]);
            assert_int_equal(custom_parse(s, strlen(s), &c, msg, sizeof msg), CT_EINVAL);
            free(s);
            assert_int_equal(c.n, 0);
            assert_non_null(strstr(msg, "more than 256"));
        }
    }
}

/* --- against gdaldem ---------------------------------------------------------- */

#define GRID 16
#define OUTDIR "test/out/custom"

/* A map as the test writes it: the same strings go into the JSON and into
 * gdaldem's colour file, so gdaldem does not see what custom_parse made of them. */
struct ref_entry {
    const char *lo, *hi; /* hi NULL: discrete */
    int ncomp;
    int rgba[4];
};

static void run(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof full, "%s 2>/dev/null", cmd);
    if (system(full) != 0)
        fail_msg("failed: %s", cmd);
}

/* Writes an ESRI ASCII grid of GRID x GRID values and converts it with
 * gdal_translate to a GeoTIFF of the given type. */
static void make_grid(const char *name, const char *type, const double *v)
{
    char asc[256], tif[256], cmd[1024];
    snprintf(asc, sizeof asc, OUTDIR "/%s.asc", name);
    snprintf(tif, sizeof tif, OUTDIR "/%s.tif", name);
    FILE *f = fopen(asc, "w");
    assert_non_null(f);
    fprintf(f, "ncols %d\nnrows %d\nxllcorner 0\nyllcorner 0\ncellsize 1\n", GRID, GRID);
    for (int i = 0; i < GRID * GRID; i++)
    {
        char sep = (i + 1) % GRID ? ' ' : '\n';
        /* %.9g round-trips a float. "nan" reads as NaN, but not first in a row:
         * the header parser would take a leading 'n' for a keyword. */
        if (isnan(v[i])) {
            assert_true(i % GRID != 0);
            fprintf(f, "nan%c", sep);
        } else {
            fprintf(f, "%.9g%c", v[i], sep);
        }
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "gdal_translate -q -of GTiff -ot %s %s %s", type, asc, tif);
    run(cmd);
}

static void read_band(const char *path, int band, GDALDataType type, void *buf)
{
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds)
        fail_msg("cannot open %s", path);
    assert_int_equal(GDALGetRasterXSize(ds), GRID);
    assert_int_equal(GDALGetRasterYSize(ds), GRID);
    assert_true(GDALGetRasterCount(ds) >= band);
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, band), GF_Read, 0, 0, GRID, GRID, buf,
                                  GRID, GRID, type, 0, 0),
                     CE_None);
    GDALClose(ds);
}

/* Reads the 4 bands of a gdaldem -alpha output into rgba (GRID*GRID*4). */
static void read_rgba(const char *path, uint8_t *rgba)
{
    uint8_t band[GRID * GRID];
    for (int b = 0; b < 4; b++) {
        read_band(path, b + 1, GDT_Byte, band);
        for (int i = 0; i < GRID * GRID; i++)
            rgba[i * 4 + b] = band[i];
    }
}

static void write_colour_line(FILE *f, const char *value, int ncomp, const int *rgba)
{
    fprintf(f, "%s %d %d %d", value, rgba[0], rgba[1], rgba[2]);
    if (ncomp == 4) /* with 3, gdaldem's own default alpha (255) is what is checked */
        fprintf(f, " %d", rgba[3]);
    fputc('\n', f);
}

static char *map_json(const struct ref_entry *m, int n, int intervals)
{
    size_t cap = 256 + (size_t)n * 96, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    len += (size_t)snprintf(s, cap, "%c", intervals ? '[' : '{');
    for (int i = n - 1; i >= 0; i--) { /* backwards, so the parser has to sort */
        char colour[64];
        snprintf(colour, sizeof colour, m[i].ncomp == 4 ? "[%d, %d, %d, %d]" : "[%d, %d, %d]",
                 m[i].rgba[0], m[i].rgba[1], m[i].rgba[2], m[i].rgba[3]);
        const char *sep = i == n - 1 ? "" : ", ";
        if (intervals)
            len += (size_t)snprintf(s + len, cap - len, "%s[[%s, %s], %s]", sep, m[i].lo, m[i].hi,
                                    colour);
        else
            len += (size_t)snprintf(s + len, cap - len, "%s\"%s\": %s", sep, m[i].lo, colour);
        assert_true(len < cap);
    }
    snprintf(s + len, cap - len, "%c", intervals ? ']' : '}');
    return s;
}

/* Pixel by pixel: custom_lookup on the values GDAL reads from the input
 * against the gdaldem output; a miss must be (0, 0, 0, 0) there. Some pixels
 * must miss, and exactly want_unused entries may colour none (the ones the
 * grid cannot hold), so that the comparison covers the whole map. */
static void compare(const char *grid, const uint8_t *ref, const struct custom_cmap *c,
                    const char *what, int want_unused)
{
    char tif[256];
    double v[GRID * GRID];
    snprintf(tif, sizeof tif, OUTDIR "/%s.tif", grid);
    read_band(tif, 1, GDT_Float64, v);
    int misses = 0, used[CUSTOM_MAX_ENTRIES] = { 0 };
    for (int i = 0; i < GRID * GRID; i++) {
        uint8_t got[4] = { 0, 0, 0, 0 };
        if (custom_lookup(c, v[i], got)) {
            for (int k = 0; k < c->n; k++)
                used[k] += memcmp(c->e[k].rgba, got, 4) == 0;
        } else {
            misses++;
        }
        if (memcmp(got, ref + i * 4, 4) != 0)
            fail_msg("%s on %s: pixel %d value %.17g: custom (%d,%d,%d,%d), gdaldem (%d,%d,%d,%d)",
                     what, grid, i, v[i], got[0], got[1], got[2], got[3], ref[i * 4],
                     ref[i * 4 + 1], ref[i * 4 + 2], ref[i * 4 + 3]);
    }
    if (misses == 0)
        fail_msg("%s on %s: no pixel misses, the test proves less than it should", what, grid);
    int unused = 0;
    for (int k = 0; k < c->n; k++)
        unused += !used[k];
    if (unused != want_unused)
        fail_msg("%s on %s: %d entries colour no pixel, want %d", what, grid, unused, want_unused);
}

/* Discrete maps against gdaldem color-relief -exact_color_entry -alpha.
 *
 * One gdaldem run per entry, the outputs OR-ed together: GDAL before 3.9.2
 * (this machine has 3.6) finds an exact entry only when it is the smallest of
 * the colour file (GDALColorReliefGetRGBA binary-searches for the first entry
 * >= v and then compares v with the entry before it; fixed in GDAL PR 10596),
 * so a multi-entry file turns most matches transparent. A one-entry file goes
 * through the branches that do compare correctly. Entries are distinct, so at
 * most one run colours a pixel (checked). */
static void check_discrete(const char *grid, const struct ref_entry *m, int n,
                           const struct custom_cmap *c, int want_unused)
{
    uint8_t *ref = calloc(GRID * GRID, 4), *one = malloc(GRID * GRID * 4);
    assert_true(ref && one);
    for (int k = 0; k < n; k++) {
        char txt[256], out[256], cmd[1024];
        snprintf(txt, sizeof txt, OUTDIR "/%s_exact_%02d.txt", grid, k);
        snprintf(out, sizeof out, OUTDIR "/%s_exact_%02d.tif", grid, k);
        FILE *f = fopen(txt, "w");
        assert_non_null(f);
        write_colour_line(f, m[k].lo, m[k].ncomp, m[k].rgba);
        fclose(f);
        snprintf(cmd, sizeof cmd,
                 "gdaldem color-relief -q -exact_color_entry -alpha -of GTiff " OUTDIR
                 "/%s.tif %s %s",
                 grid, txt, out);
        run(cmd);
        read_rgba(out, one);
        for (int i = 0; i < GRID * GRID; i++) {
            uint32_t a, b;
            memcpy(&a, ref + i * 4, 4);
            memcpy(&b, one + i * 4, 4);
            if (a && b)
                fail_msg("%s: pixel %d coloured by two entries", grid, i);
            memcpy(ref + i * 4, (uint32_t[]){ a | b }, 4);
        }
    }
    compare(grid, ref, c, "discrete", want_unused);
    free(ref);
    free(one);
}

/* Intervals against gdaldem color-relief -nearest_color_entry -alpha.
 *
 * The semantics differ: nearest_color_entry gives every value the colour of
 * the closest entry (a Voronoi partition of the number line around the
 * entries), colours everything, and breaks a tie - a value exactly halfway -
 * towards the upper entry (GDALColorReliefGetRGBA: `v - lo < hi - v ? lo :
 * hi`). Intervals are half-open [MIN, MAX), may leave gaps, and leave
 * everything outside transparent. They agree when the line is cut into cells
 * at every MIN and MAX, a transparent (0 0 0 0) entry is added for the region
 * below, each gap and the region above, and every cell gets one entry placed
 * so that each boundary lies exactly halfway between its neighbouring
 * entries: then a value at a boundary ties and goes up, into the cell whose
 * MIN it is, as [MIN, MAX) wants. Entry k+1 is entry k reflected about
 * boundary k, so the first entry x fixes all; each "entry inside its cell"
 * bounds x, and the maps below are chosen so that x exists (it does not for
 * every map: cells of widths 10 then 1 after a 10 cannot all hold their
 * reflections, so for such maps gdaldem is no reference and only the
 * hand-computed cases of test_lookup_table apply). Bounds and entries are short
 * binary fractions, so GDAL's halfway comparison is exact in double as long
 * as a value's distance to its boundary survives being added to the entry
 * spacing: the float just below 0 (-1.4e-45) does not, ties, and goes up into
 * [0, 2.5), so next to 0 the grid has -2^-24 instead (custom_lookup puts any
 * negative value in [-5, 0); test_lookup_table checks -1e-300 and the smallest
 * subnormal). NaN goes past the last
 * entry in GDAL's binary search and takes its colour, the transparent one
 * above: the same answer as custom_lookup, by construction rather than by
 * agreement of semantics. */
static void check_intervals(const char *grid, const struct ref_entry *m, int n,
                            const struct custom_cmap *c)
{
    double bound[2 * CUSTOM_MAX_ENTRIES];
    int cell[2 * CUSTOM_MAX_ENTRIES + 1]; /* index into m, or -1 for transparent */
    int nb = 0, nc = 0;
    double prev_hi = 0;
    cell[nc++] = -1;
    for (int i = 0; i < n; i++) {
        double lo = strtod(m[i].lo, NULL), hi = strtod(m[i].hi, NULL);
        if (i == 0 || lo > prev_hi) {
            if (i > 0)
                cell[nc++] = -1;
            bound[nb++] = lo;
        }
        cell[nc++] = i;
        bound[nb++] = hi;
        prev_hi = hi;
    }
    cell[nc++] = -1;
    assert_int_equal(nc, nb + 1);

    /* entry k = s_k * x + c_k; entry k < bound k < entry k+1 */
    double xlo = -INFINITY, xhi = INFINITY, s = 1, off = 0;
    for (int k = 0; k < nb; k++) {
        if (s > 0)
            xhi = fmin(xhi, bound[k] - off);
        else
            xlo = fmax(xlo, off - bound[k]);
        s = -s;
        off = 2 * bound[k] - off;
    }
    if (!(xlo < xhi))
        fail_msg("%s: no entries make nearest_color_entry cells of these intervals", grid);
    double x = isinf(xlo) ? xhi - 1 : (xlo + xhi) / 2;

    char txt[256], out[256], cmd[1024];
    snprintf(txt, sizeof txt, OUTDIR "/%s_nearest.txt", grid);
    snprintf(out, sizeof out, OUTDIR "/%s_nearest.tif", grid);
    FILE *f = fopen(txt, "w");
    assert_non_null(f);
    double q = x;
    for (int k = 0; k < nc; k++) {
        char val[64];
        snprintf(val, sizeof val, "%.17g", q);
        static const int clear[4] = { 0, 0, 0, 0 };
        if (cell[k] < 0)
            write_colour_line(f, val, 4, clear);
        else
            write_colour_line(f, val, m[cell[k]].ncomp, m[cell[k]].rgba);
        if (k < nb) {
            assert_true(q < bound[k]);
            q = 2 * bound[k] - q;
        }
    }
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "gdaldem color-relief -q -nearest_color_entry -alpha -of GTiff " OUTDIR
             "/%s.tif %s %s",
             grid, txt, out);
    run(cmd);
    uint8_t *ref = malloc(GRID * GRID * 4);
    assert_non_null(ref);
    read_rgba(out, ref);
    compare(grid, ref, c, "intervals", 0);
    free(ref);
}

static void parse_ref(const struct ref_entry *m, int n, int intervals, struct custom_cmap *c)
{
    char msg[256];
    char *json = map_json(m, n, intervals);
    int err = custom_parse(json, strlen(json), c, msg, sizeof msg);
    if (err)
        fail_msg("%s: %s", json, msg);
    free(json);
    assert_int_equal(c->n, n);
}

/* Values worth having in a grid first, then a spread to fill it. */
static void fill(double *v, const double *special, size_t nspecial, double step, double from)
{
    for (int i = 0; i < GRID * GRID; i++)
        v[i] = (size_t)i < nspecial ? special[i] : from + step * ((i * 37) % 211);
}

static const struct ref_entry discrete_map[] = {
    { "-32768", NULL, 3, { 1, 2, 3, 0 } },
    { "-9999", NULL, 4, { 0, 0, 0, 0 } },
    { "-20", NULL, 3, { 200, 100, 50, 0 } },
    { "-19.75", NULL, 4, { 9, 8, 7, 6 } },
    { "-1", NULL, 3, { 255, 255, 255, 0 } },
    { "-0.25", NULL, 4, { 30, 31, 32, 33 } },
    { "0", NULL, 3, { 10, 20, 30, 0 } },
    { "0.001", NULL, 3, { 1, 1, 1, 0 } },
    { "0.1", NULL, 4, { 2, 2, 2, 2 } },
    { "1", NULL, 4, { 11, 21, 31, 128 } },
    { "2", NULL, 3, { 12, 22, 32, 0 } },
    { "2.5", NULL, 4, { 40, 41, 42, 43 } },
    { "7", NULL, 4, { 70, 71, 72, 73 } },
    { "42", NULL, 4, { 0, 128, 255, 255 } },
    { "1e2", NULL, 4, { 13, 23, 33, 0 } }, /* alpha 0 with a colour: kept as given */
    { "16777216", NULL, 3, { 99, 98, 97, 0 } },
    { "1e30", NULL, 3, { 5, 5, 5, 0 } },
    { "32767", NULL, 4, { 4, 5, 6, 7 } },
};

static const struct ref_entry interval_map[] = {
    { "-5", "0", 3, { 10, 20, 30, 0 } },
    { "0", "2.5", 4, { 40, 50, 60, 70 } },
    { "10", "20", 3, { 80, 90, 100, 0 } },
    { "30", "40", 4, { 110, 120, 130, 140 } },
    { "40", "45", 3, { 150, 160, 170, 0 } },
};

static void test_against_gdaldem(void **state)
{
    (void)state;
    static struct custom_cmap disc, iv;
    mkdir("test/out", 0755);
    mkdir(OUTDIR, 0755);
    GDALAllRegister();
    parse_ref(discrete_map, (int)(sizeof discrete_map / sizeof discrete_map[0]), 0, &disc);
    parse_ref(interval_map, (int)(sizeof interval_map / sizeof interval_map[0]), 1, &iv);

    double v[GRID * GRID];
    static const double int16[] = { -32768, -9999, -20, -1, 0, 1, 2, 3, 7, 42, 100, 32767,
                                    -32767, 32766, 101, -5, -6, 9, 10, 19, 20, 29, 30, 39,
                                    40, 44, 45, 46 };
    fill(v, int16, sizeof int16 / sizeof int16[0], 1, -70);
    make_grid("int16", "Int16", v);

    const double f32[] = {
        -9999, 2.5, -0.25, 0.1 /* 0.1f: no match, in both */, 0.001, 3, 16777216,
        16777217 /* 16777216 as a float */, 1e30 /* not 1e30 as a float */, -0.0, 0, NAN,
        -20, -19.75, -1, 1, 2, 7, 42, 100, 32767, -32768, 3.4e38, -3.4e38, 1e-30,
        /* interval edges: each bound, and the floats just below and above */
        -5, nextafterf(-5, -INFINITY), nextafterf(-5, 0), -0x1p-24, 0x1p-24,
        2.5, nextafterf(2.5f, 0), nextafterf(2.5f, 3), 10, nextafterf(10, 0), 20,
        nextafterf(20, 0), 30, nextafterf(30, 0), 40, nextafterf(40, 0), nextafterf(40, 41), 45,
        nextafterf(45, 0), nextafterf(45, 46), 9.875, 25, 47.5, -7.5,
    };
    fill(v, f32, sizeof f32 / sizeof f32[0], 0.25, -25);
    make_grid("float32", "Float32", v);

    int nd = (int)(sizeof discrete_map / sizeof discrete_map[0]);
    int ni = (int)(sizeof interval_map / sizeof interval_map[0]);
    /* unused on Int16: the 5 fractions, 16777216 and 1e30; on Float32: 0.001,
     * 0.1 and 1e30, which no float equals */
    check_discrete("int16", discrete_map, nd, &disc, 7);
    check_discrete("float32", discrete_map, nd, &disc, 3);
    check_intervals("int16", interval_map, ni, &iv);
    check_intervals("float32", interval_map, ni, &iv);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),      cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_parse_uses_length), cmocka_unit_test(test_parse_msg_buffer),
        cmocka_unit_test(test_lookup_table),     cmocka_unit_test(test_lookup_bad_count),
        cmocka_unit_test(test_entry_limit),      cmocka_unit_test(test_against_gdaldem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
