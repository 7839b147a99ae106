/* Colormap tables and their application to tiles. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

#include "colormap.h"
#include "err.h"

static void test_known_entries(void **state)
{
    (void)state;
    const struct colormap *v = colormap_find("viridis", 7);
    assert_non_null(v);
    /* Published matplotlib hex values: 0 #440154, 128 #21918c, 255 #fde725. */
    const uint8_t want[3][4] = { { 0x44, 0x01, 0x54, 255 }, { 0x21, 0x91, 0x8c, 255 },
                                 { 0xfd, 0xe7, 0x25, 255 } };
    assert_memory_equal(v->rgba[0], want[0], 4);
    assert_memory_equal(v->rgba[128], want[1], 4);
    assert_memory_equal(v->rgba[255], want[2], 4);
    const struct colormap *g = colormap_find("gray", 4);
    assert_non_null(g);
    for (int i = 0; i < 256; i++) {
        const uint8_t e[4] = { (uint8_t)i, (uint8_t)i, (uint8_t)i, 255 };
        assert_memory_equal(g->rgba[i], e, 4);
    }
    assert_null(colormap_find("viridi", 6));
    assert_null(colormap_find("viridisx", 8));
    assert_null(colormap_find("", 0));
    assert_true(colormap_count() >= 2);
    assert_non_null(colormap_at(0));
    assert_null(colormap_at(colormap_count()));
}

/* Every colormap the issue names, each with its reversal, and known entries
 * (published matplotlib hex values). */
static void test_named_set(void **state)
{
    (void)state;
    static const char *const names[] = {
        "viridis", "plasma", "inferno", "magma", "cividis", "turbo", "terrain", "gray",
        "greys", "jet", "rainbow", "spectral", "rdylgn", "rdbu", "coolwarm", "blues",
        "greens", "reds", "ylgn", "hot", "ocean", "gist_earth",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char r[40];
        snprintf(r, sizeof r, "%s_r", names[i]);
        const struct colormap *a = colormap_find(names[i], strlen(names[i]));
        const struct colormap *b = colormap_find(r, strlen(r));
        if (!a || !b)
            fail_msg("missing %s or %s", names[i], r);
        for (int j = 0; j < 256; j++)
            assert_memory_equal(a->rgba[j], b->rgba[255 - j], 4);
    }
    static const struct {
        const char *name;
        int index;
        uint32_t hex;
    } known[] = {
        { "plasma", 0, 0x0d0887 }, { "plasma", 255, 0xf0f921 }, { "inferno", 255, 0xfcffa4 },
        { "magma", 0, 0x000004 },  { "turbo", 0, 0x30123b },    { "cividis", 0, 0x00224e },
        { "greys", 0, 0xffffff },  { "greys", 255, 0x000000 },  { "hot", 255, 0xffffff },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const struct colormap *c = colormap_find(known[i].name, strlen(known[i].name));
        assert_non_null(c);
        const uint8_t *e = c->rgba[known[i].index];
        uint32_t got = (uint32_t)e[0] << 16 | (uint32_t)e[1] << 8 | e[2];
        if (got != known[i].hex)
            fail_msg("%s[%d] = #%06x, want #%06x", known[i].name, known[i].index, got,
                     known[i].hex);
    }
}

/* Every entry of every built-in map against matplotlib itself: the tables
 * recomputed by test/colormaps_ref.py from Debian's python3-matplotlib 3.6.3
 * exactly as colormaps/README.md and each file's header say they were made
 * (NAME_r from matplotlib's own NAME_r, so a reversal is checked against
 * matplotlib too, not only against our NAME). Every map must be there, and
 * every map the reference lists must be built in. */
#define REF_CMD "/usr/bin/python3 test/colormaps_ref.py"
static void test_every_entry_matches_matplotlib(void **state)
{
    (void)state;
    FILE *p = popen(REF_CMD, "r");
    assert_non_null(p);
    char line[128], version[64] = "", name[40] = "", first[160] = "";
    const struct colormap *c = NULL;
    int entry = 256, maps = 0, wrong = 0, bad_line = 0;
    if (fgets(line, sizeof line, p))
        sscanf(line, "matplotlib %63s", version);
    while (fgets(line, sizeof line, p)) {
        unsigned v[4];
        if (sscanf(line, "%u %u %u %u", &v[0], &v[1], &v[2], &v[3]) != 4) {
            /* a map's name: the previous map must have been complete */
            if (entry != 256 || sscanf(line, "%39s", name) != 1) {
                bad_line = 1;
                break;
            }
            c = colormap_find(name, strlen(name));
            if (!c) {
                pclose(p);
                fail_msg("matplotlib's %s is not built in", name);
            }
            entry = 0;
            maps++;
            continue;
        }
        if (!c || entry > 255 || v[0] > 255 || v[1] > 255 || v[2] > 255 || v[3] > 255) {
            bad_line = 1;
            break;
        }
        const uint8_t want[4] = { (uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2], (uint8_t)v[3] };
        if (memcmp(c->rgba[entry], want, 4)) {
            const uint8_t *g = c->rgba[entry];
            char msg[160];
            snprintf(msg, sizeof msg, "%s entry %d is %u %u %u %u, matplotlib %s gives %u %u %u %u",
                     name, entry, g[0], g[1], g[2], g[3], version, v[0], v[1], v[2], v[3]);
            if (wrong < 20) /* enough to see a pattern, not a whole map */
                printf("  %s\n", msg);
            if (!wrong++)
                snprintf(first, sizeof first, "%s", msg);
        }
        entry++;
    }
    int rc = pclose(p);
    if (bad_line || rc != 0 || entry != 256)
        fail_msg("%s: bad output or exit status %d (is python3-matplotlib installed?)", REF_CMD,
                 rc);
    printf("  %d maps x 256 entries compared with matplotlib %s, %d differ\n", maps, version,
           wrong);
    if (wrong)
        fail_msg("%d entries differ from matplotlib, first: %s", wrong, first);
    /* colormap_find found each reference name; with the counts equal, no
     * built-in map went unchecked. */
    assert_int_equal(maps, 44);
    assert_int_equal(colormap_count(), (size_t)maps);
}

static void test_scale(void **state)
{
    (void)state;
    static const struct {
        double v, min, max;
        uint8_t want;
    } cases[] = {
        { 0, 0, 255, 0 },     { 255, 0, 255, 255 }, { 127.4, 0, 255, 127 },
        { 127.5, 0, 255, 128 }, { -5, 0, 255, 0 },  { 300, 0, 255, 255 },
        { 50, 0, 100, 128 },  /* 127.5 rounds up */
        { NAN, 0, 1, 0 },     { -1000, -1000, 1000, 0 }, { 0, -1000, 1000, 128 },
        { INFINITY, 0, 1, 255 }, { -INFINITY, 0, 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(colormap_scale(cases[i].v, cases[i].min, cases[i].max), cases[i].want);
}

static void test_apply_ramp_and_mask(void **state)
{
    (void)state;
    double data[4] = { 0.0, 1000.0, NAN, 500.0 };
    uint8_t mask[4] = { 255, 255, 255, 0 };
    struct raster_tile t = { 2, 1, 0, data, mask };
    const struct colormap *v = colormap_find("viridis", 7);
    struct color_spec s = { .mode = COLOR_RAMP, .lut = (const uint8_t(*)[4])v->rgba, .lut_n = 256,
                            .min = 0, .max = 1000 };
    uint8_t out[16];
    assert_int_equal(colormap_apply(&t, &s, out), CT_OK);
    assert_memory_equal(out + 0, v->rgba[0], 4);
    assert_memory_equal(out + 4, v->rgba[255], 4);
    const uint8_t clear[4] = { 0, 0, 0, 0 };
    assert_memory_equal(out + 8, clear, 4);  /* NaN */
    assert_memory_equal(out + 12, clear, 4); /* masked */
}

static void test_apply_rgb_and_palette(void **state)
{
    (void)state;
    /* RGB: 2x2 band-sequential, one masked pixel */
    uint8_t rgb[12] = { 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33 };
    uint8_t mask[4] = { 255, 255, 0, 255 };
    struct raster_tile t = { 2, 3, 1, rgb, mask };
    struct color_spec s = { .mode = COLOR_RGB };
    uint8_t out[16];
    assert_int_equal(colormap_apply(&t, &s, out), CT_OK);
    const uint8_t want[16] = { 10, 20, 30, 255, 11, 21, 31, 255, 0, 0, 0, 0, 13, 23, 33, 255 };
    assert_memory_equal(out, want, 16);

    /* RGB needs three bands */
    struct raster_tile t1 = { 2, 1, 1, rgb, mask };
    assert_int_equal(colormap_apply(&t1, &s, out), CT_EINVAL);

    /* palette: an index past the table is transparent, and so is a masked pixel */
    uint8_t pal[2][4] = { { 1, 2, 3, 255 }, { 4, 5, 6, 128 } };
    uint8_t idx[4] = { 0, 1, 2, 1 };
    uint8_t m4[4] = { 255, 255, 255, 0 };
    struct raster_tile tp = { 2, 1, 1, idx, m4 };
    struct color_spec sp = { .mode = COLOR_PALETTE, .lut = (const uint8_t(*)[4])pal, .lut_n = 2 };
    assert_int_equal(colormap_apply(&tp, &sp, out), CT_OK);
    assert_memory_equal(out, pal[0], 4);
    assert_memory_equal(out + 4, pal[1], 4);
    const uint8_t clear[4] = { 0, 0, 0, 0 };
    assert_memory_equal(out + 8, clear, 4);
    assert_memory_equal(out + 12, clear, 4);
}

static void test_apply_rgb_float_rescaled(void **state)
{
    (void)state;
    double d[3] = { 0, 500, 1000 };
    uint8_t m[1] = { 255 };
    struct raster_tile t = { 1, 3, 0, d, m };
    struct color_spec s = { .mode = COLOR_RGB, .rgb_min = { 0, 0, 0 },
                            .rgb_max = { 1000, 1000, 1000 } };
    uint8_t out[4];
    assert_int_equal(colormap_apply(&t, &s, out), CT_OK);
    const uint8_t want[4] = { 0, 128, 255, 255 };
    assert_memory_equal(out, want, 4);
    /* one range per band */
    s.rgb_max[1] = 500;
    s.rgb_min[2] = 1000;
    s.rgb_max[2] = 2000;
    assert_int_equal(colormap_apply(&t, &s, out), CT_OK);
    const uint8_t want2[4] = { 0, 255, 0, 255 };
    assert_memory_equal(out, want2, 4);
    s.rgb_min[0] = s.rgb_max[0] = 1;
    assert_int_equal(colormap_apply(&t, &s, out), CT_EINVAL);

    /* Byte RGB passes through, unless a rescale is asked for */
    uint8_t b3[3] = { 10, 20, 30 };
    struct raster_tile tb = { 1, 3, 1, b3, m };
    struct color_spec sb = { .mode = COLOR_RGB };
    assert_int_equal(colormap_apply(&tb, &sb, out), CT_OK);
    const uint8_t pass[4] = { 10, 20, 30, 255 };
    assert_memory_equal(out, pass, 4);
    sb.rgb_rescale = 1;
    for (int b = 0; b < 3; b++) {
        sb.rgb_min[b] = 10;
        sb.rgb_max[b] = 30;
    }
    assert_int_equal(colormap_apply(&tb, &sb, out), CT_OK);
    const uint8_t stretched[4] = { 0, 128, 255, 255 };
    assert_memory_equal(out, stretched, 4);
}

int main(int argc, char **argv)
{
    test_main_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_entries),
        cmocka_unit_test(test_named_set),
        cmocka_unit_test(test_every_entry_matches_matplotlib),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_apply_ramp_and_mask),
        cmocka_unit_test(test_apply_rgb_and_palette),
        cmocka_unit_test(test_apply_rgb_float_rescaled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
