#include "imgenc.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <webp/encode.h>

#include "err.h"

/* Takes over n bytes that a codec allocated with its own allocator. */
static int adopt(struct pngbuf *out, const uint8_t *data, size_t n)
{
    out->data = malloc(n ? n : 1);
    if (!out->data)
        return CT_ENOMEM;
    memcpy(out->data, data, n);
    out->len = out->cap = n;
    return CT_OK;
}

/* libwebp's effort, measured on 256 px tiles (libwebp 1.2.4, this machine;
 * median ms and bytes, in the order lossless level 0/1/2/3, lossy method
 * 0/1/2/4):
 *   viridis DEM     2.42 12912, 2.59 8554, 3.61 7448, 4.05 6882;  lossy 0.80 1518, 1.14 1010, 1.43 990, 3.14 934
 *   Sentinel-2 RGB  1.62 60462, 5.99 57074, 11.4 55902, 20.6 55442; lossy 1.11 8102, 1.38 7094, 1.86 6320, 4.17 5954
 *   Blue Marble     1.84 84662, 6.02 80506, 12.0 79396, 21.6 79710; lossy 2.07 18688, 2.59 18014, 3.38 16768, 6.22 16372
 * At CloudFront's egress price a kilobyte per tile costs about three times a
 * millisecond of a 1,769 MB function (bench_tiles --formats), so the effort
 * stops where a millisecond buys less than a third of a kilobyte: lossless
 * level 2 (coloured tiles; imagery goes lossy), lossy method 2. */
#define WEBP_LOSSY_METHOD 2
#define WEBP_LOSSLESS_LEVEL 2 /* WebPConfigLosslessPreset: 0 fastest .. 9 smallest */

static int encode_webp(const uint8_t *rgba, int w, int h, const struct img_opts *o,
                       struct pngbuf *out)
{
    WebPConfig cfg;
    WebPPicture pic;
    WebPMemoryWriter wr;
    if (!WebPConfigInit(&cfg) || !WebPPictureInit(&pic))
        return CT_EINTERNAL;
    if (o->lossy) {
        cfg.quality = (float)(o->quality ? o->quality : IMG_WEBP_QUALITY);
        cfg.method = WEBP_LOSSY_METHOD;
        cfg.alpha_quality = 100; /* the edge of the data stays where it is */
    } else {
        if (!WebPConfigLosslessPreset(&cfg, WEBP_LOSSLESS_LEVEL))
            return CT_EINTERNAL;
        cfg.exact = 1; /* keep the RGB of transparent pixels: identical to the PNG */
    }
    if (!WebPValidateConfig(&cfg))
        return CT_EINTERNAL;
    pic.use_argb = !o->lossy;
    pic.width = w;
    pic.height = h;
    if (!WebPPictureImportRGBA(&pic, rgba, w * 4)) {
        WebPPictureFree(&pic);
        return CT_ENOMEM;
    }
    WebPMemoryWriterInit(&wr);
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &wr;
    int ok = WebPEncode(&cfg, &pic);
    int err = !ok ? (pic.error_code == VP8_ENC_ERROR_OUT_OF_MEMORY ? CT_ENOMEM : CT_EINTERNAL)
                  : adopt(out, wr.mem, wr.size);
    WebPPictureFree(&pic);
    WebPMemoryWriterClear(&wr);
    return err;
}

struct jpeg_fail {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
};

static void jpeg_fail_exit(j_common_ptr c)
{
    longjmp(((struct jpeg_fail *)c->err)->jb, 1);
}

static void jpeg_quiet(j_common_ptr c, int level)
{
    (void)c;
    (void)level;
}

/* libjpeg's output into our buffer. (jpeg_mem_dest frees and replaces its
 * buffer as it grows and tells the caller only at the end, so after an error
 * the caller can neither free the live one nor avoid freeing a dead one.) The
 * buffer is out->data: always ours, whatever happens. */
struct jpeg_dest {
    struct jpeg_destination_mgr mgr;
    struct pngbuf *out;
    jmp_buf *fail;
};

static int dest_grow(struct jpeg_dest *d)
{
    struct pngbuf *b = d->out;
    size_t cap = b->cap ? b->cap * 2 : 16384;
    unsigned char *p = cap > b->cap ? realloc(b->data, cap) : NULL;
    if (!p)
        return 0;
    b->data = p;
    b->cap = cap;
    d->mgr.next_output_byte = p + b->len;
    d->mgr.free_in_buffer = cap - b->len;
    return 1;
}

static void dest_init(j_compress_ptr c)
{
    struct jpeg_dest *d = (struct jpeg_dest *)c->dest;
    d->out->len = 0;
    if (!dest_grow(d))
        longjmp(*d->fail, 1);
}

static boolean dest_empty(j_compress_ptr c)
{
    struct jpeg_dest *d = (struct jpeg_dest *)c->dest;
    d->out->len = d->out->cap; /* libjpeg asks when the whole buffer is full */
    if (!dest_grow(d))
        longjmp(*d->fail, 1);
    return TRUE;
}

static void dest_term(j_compress_ptr c)
{
    struct jpeg_dest *d = (struct jpeg_dest *)c->dest;
    d->out->len = d->out->cap - d->mgr.free_in_buffer;
}

static int encode_jpeg(const uint8_t *rgba, int w, int h, const struct img_opts *o,
                       struct pngbuf *out)
{
    struct jpeg_compress_struct c;
    struct jpeg_fail fail;
    struct jpeg_dest dest = { .mgr = { .init_destination = dest_init,
                                       .empty_output_buffer = dest_empty,
                                       .term_destination = dest_term },
                              .out = out, .fail = &fail.jb };
    /* set before setjmp, freed after it; out->data is freed by the caller's
     * pngbuf_free on an error */
    uint8_t *row = malloc((size_t)w * 3);
    if (!row)
        return CT_ENOMEM;
    c.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = jpeg_fail_exit;
    fail.mgr.emit_message = jpeg_quiet;
    if (setjmp(fail.jb)) {
        jpeg_destroy_compress(&c);
        free(row);
        pngbuf_free(out);
        return CT_EINTERNAL;
    }
    jpeg_create_compress(&c);
    c.dest = &dest.mgr;
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, o->quality ? o->quality : IMG_JPEG_QUALITY, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = rgba + (size_t)y * (size_t)w * 4;
        for (int x = 0; x < w; x++, s += 4)
            for (int k = 0; k < 3; k++) /* over the background, rounded */
                row[3 * x + k] = (uint8_t)((s[k] * s[3] + IMG_JPEG_BACKGROUND * (255 - s[3]) +
                                            127) / 255);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return CT_OK;
}

int imgenc_rgba(const uint8_t *rgba, int w, int h, const struct img_opts *o, struct pngbuf *out)
{
    memset(out, 0, sizeof *out);
    if (w < 1 || h < 1 || w > 16383 || h > 16383) /* WebP's limit; JPEG's is 65500 */
        return CT_ETOOBIG;
    if (o->quality < 0 || o->quality > 100)
        return CT_EINVAL;
    switch (o->format) {
    case IMG_PNG:
        return pngenc_rgba(rgba, w, h, out);
    case IMG_WEBP:
        return encode_webp(rgba, w, h, o, out);
    case IMG_JPEG:
        return encode_jpeg(rgba, w, h, o, out);
    case IMG_TIFF:
        break;
    }
    return CT_EINVAL;
}
