/* pnmtool.c - pictures for the tests: make PNMs, pack them as raw pixels of a format,
 * compare two PNMs within a tolerance
 *
 * usage: pnmtool bars W H OUT.ppm        colour bars over a gray ramp (P6)
 *        pnmtool gray W H MAXVAL OUT.pgm  a diagonal gray ramp (P5, 8 or 16 bit)
 *        pnmtool raw FORMAT IN.pnm OUT    IN converted to FORMAT, planes packed tight
 *        pnmtool diff A B TOLERANCE       exit 0 when no sample differs by more
 *        pnmtool size FILE                "W H" of a PNM
 *        pnmtool pixel FILE X Y           the sample at (X, Y) of a P5 (8 bit)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

static int usage(void)
{
	fprintf(stderr, "usage: pnmtool bars|gray|raw|diff ...\n");
	return 2;
}

static int die(const char *what, const char *why)
{
	fprintf(stderr, "pnmtool: %s: %s\n", what, why);
	return 2;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int write_pnm(const char *path, const struct fdx_pnm *p)
{
	FILE *f = fopen(path, "wbe");
	int r;

	if (!f)
		return die(path, strerror(errno));
	r = fdx_pnm_write(f, p);
	if (fclose(f) != 0 || r < 0)
		return die(path, "write failed");
	return 0;
}

/* Eight bars whose edges fall on even columns when W is a multiple of 16. */
static int bars(uint32_t w, uint32_t h, const char *out)
{
	static const uint8_t c[8][3] = { { 255, 255, 255 }, { 255, 255, 0 },
					 { 0, 255, 255 },   { 0, 255, 0 },
					 { 255, 0, 255 },   { 255, 0, 0 },
					 { 0, 0, 255 },	    { 0, 0, 0 } };
	struct fdx_pnm p = { .channels = 3, .width = w, .height = h, .maxval = 255 };
	uint8_t *px = malloc((size_t)w * h * 3);

	if (!px)
		return die("bars", "out of memory");
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint8_t *d = px + ((size_t)y * w + x) * 3;

			if (y < h / 2) {
				memcpy(d, c[(uint64_t)x * 8 / w], 3);
			} else {
				uint8_t v = (uint8_t)(w > 1 ? x * 255 / (w - 1) : 0);

				d[0] = d[1] = d[2] = v;
			}
		}
	p.data = px;
	p.size = (size_t)w * h * 3;
	int r = write_pnm(out, &p);

	free(px);
	return r;
}

static int gray(uint32_t w, uint32_t h, unsigned maxval, const char *out)
{
	struct fdx_pnm p = { .channels = 1, .width = w, .height = h, .maxval = maxval };
	unsigned sb = maxval > 255 ? 2 : 1;
	uint8_t *px = malloc((size_t)w * h * sb);

	if (!px)
		return die("gray", "out of memory");
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			unsigned v = (unsigned)(((uint64_t)x + y) * maxval /
						(w + h - 2 ? w + h - 2 : 1));
			uint8_t *d = px + ((size_t)y * w + x) * sb;

			if (sb == 2) {
				d[0] = (uint8_t)(v >> 8);
				d[1] = (uint8_t)v;
			} else {
				d[0] = (uint8_t)v;
			}
		}
	p.data = px;
	p.size = (size_t)w * h * sb;
	int r = write_pnm(out, &p);

	free(px);
	return r;
}

static int load(const char *path, uint8_t **buf, struct fdx_pnm *p)
{
	char why[160];
	size_t len = 0;

	*buf = slurp(path, &len);
	if (!*buf)
		return die(path, strerror(errno ? errno : EIO));
	if (fdx_pnm_parse(*buf, len, p, why, sizeof(why)) < 0)
		return die(path, why);
	return 0;
}

static int raw(const char *format, const char *in, const char *out)
{
	uint8_t *planes[FDX_MAX_PLANES] = { NULL }, *buf, *mem;
	int code = fdx_format_from_name(format);
	struct fdx_object o;
	struct fdx_pnm p;
	FILE *f;
	int r;

	if (code < 0)
		return die(format, "unknown format");
	if ((r = load(in, &buf, &p)))
		return r;
	if (fdx_image_layout((unsigned)code, p.width, p.height, 1, false, &o) < 0)
		return die(in, "cannot lay out");
	mem = calloc(1, (size_t)o.size);
	for (unsigned i = 0; i < o.nplanes; i++)
		planes[i] = mem + o.planes[i].offset;
	if (!mem || fdx_image_from_pnm(&o, planes, &p) < 0)
		return die(in, "cannot convert");
	f = fopen(out, "wbe");
	if (!f || fwrite(mem, 1, (size_t)o.size, f) != o.size || fclose(f) != 0)
		return die(out, "write failed");
	free(mem);
	free(buf);
	return 0;
}

static int diff(const char *a, const char *b, unsigned tol)
{
	struct fdx_pnm pa, pb;
	uint8_t *ba, *bb;
	unsigned worst = 0;
	int r;

	if ((r = load(a, &ba, &pa)) || (r = load(b, &bb, &pb)))
		return r;
	if (pa.channels != pb.channels || pa.width != pb.width || pa.height != pb.height ||
	    pa.maxval != pb.maxval)
		return die(b, "not the same kind or size of picture");
	unsigned sb = fdx_pnm_sample_bytes(&pa);

	for (size_t i = 0; i < pa.size; i += sb) {
		unsigned x =
			sb == 2 ? (unsigned)pa.data[i] << 8 | pa.data[i + 1] : pa.data[i];
		unsigned y =
			sb == 2 ? (unsigned)pb.data[i] << 8 | pb.data[i + 1] : pb.data[i];
		unsigned d = x > y ? x - y : y - x;

		if (d > worst)
			worst = d;
	}
	printf("max difference %u\n", worst);
	free(ba);
	free(bb);
	return worst <= tol ? 0 : 1;
}

static int size_of(const char *path)
{
	struct fdx_pnm p;
	uint8_t *buf;
	int r = load(path, &buf, &p);

	if (r)
		return r;
	printf("%u %u\n", p.width, p.height);
	free(buf);
	return 0;
}

static int pixel(const char *path, uint32_t x, uint32_t y)
{
	struct fdx_pnm p;
	uint8_t *buf;
	int r = load(path, &buf, &p);

	if (r)
		return r;
	if (p.channels != 1 || fdx_pnm_sample_bytes(&p) != 1 || x >= p.width ||
	    y >= p.height)
		return die(path, "not an 8-bit PGM holding that pixel");
	printf("%u\n", p.data[(size_t)y * p.width + x]);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "size"))
		return size_of(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "pixel"))
		return pixel(argv[2], (uint32_t)atoi(argv[3]), (uint32_t)atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "bars"))
		return bars((uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]), argv[4]);
	if (argc == 6 && !strcmp(argv[1], "gray"))
		return gray((uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]),
			    (unsigned)atoi(argv[4]), argv[5]);
	if (argc == 5 && !strcmp(argv[1], "raw"))
		return raw(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "diff"))
		return diff(argv[2], argv[3], (unsigned)atoi(argv[4]));
	return usage();
}
