/* provenance.c - format and parse fdx buffer names: fdx:PID:SESSION:INDEX[.PLANE][:sSEED]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "provenance.h"

int fdx_provenance_format(char *buf, size_t cap, const struct fdx_provenance *p)
{
	char plane[16] = "", seed[24] = "";
	int n;

	if (p->plane >= (int)FDX_MAX_PLANES)
		return -EINVAL;
	if (p->plane >= 0)
		snprintf(plane, sizeof(plane), ".%d", p->plane);
	if (p->has_seed)
		snprintf(seed, sizeof(seed), ":s%" PRIx64, p->seed);
	n = snprintf(buf, cap, "fdx:%" PRIu32 ":%" PRIu32 ":%" PRIu64 "%s%s", p->pid,
		     p->session, p->index, plane, seed);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return n;
}

/* Decimal digits only, no sign or blank, value <= max; *s moves past them. */
static int parse_dec(const char **s, uint64_t max, uint64_t *out)
{
	const char *c = *s;
	uint64_t v = 0;

	if (*c < '0' || *c > '9')
		return -EINVAL;
	for (; *c >= '0' && *c <= '9'; c++) {
		unsigned d = (unsigned)(*c - '0');

		if (d > max || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*s = c;
	*out = v;
	return 0;
}

/* Lowercase hex digits, 1 to 16 of them, to the end of the string. */
static int parse_hex_to_end(const char *c, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; *c; c++, n++) {
		unsigned d;

		if (*c >= '0' && *c <= '9')
			d = (unsigned)(*c - '0');
		else if (*c >= 'a' && *c <= 'f')
			d = (unsigned)(*c - 'a' + 10);
		else
			return -EINVAL;
		if (n == 16)
			return -EINVAL;
		v = v << 4 | d;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int fdx_provenance_parse(const char *name, struct fdx_provenance *p)
{
	struct fdx_provenance n = { .plane = -1 };
	const char *c = name;
	uint64_t v;

	if (strncmp(c, "fdx:", 4) != 0)
		return -EINVAL;
	c += 4;
	if (parse_dec(&c, UINT32_MAX, &v) < 0 || *c++ != ':')
		return -EINVAL;
	n.pid = (uint32_t)v;
	if (parse_dec(&c, UINT32_MAX, &v) < 0 || *c++ != ':')
		return -EINVAL;
	n.session = (uint32_t)v;
	if (parse_dec(&c, UINT64_MAX, &n.index) < 0)
		return -EINVAL;
	if (*c == '.') {
		c++;
		if (parse_dec(&c, FDX_MAX_PLANES - 1, &v) < 0)
			return -EINVAL;
		n.plane = (int)v;
	}
	if (*c == ':') {
		if (c[1] != 's' || parse_hex_to_end(c + 2, &n.seed) < 0)
			return -EINVAL;
		n.has_seed = true;
	} else if (*c) {
		return -EINVAL;
	}
	*p = n;
	return 0;
}

int fdx_provenance_parse_file(const char *name, struct fdx_provenance *p)
{
	char copy[FDX_PROVENANCE_MAX + 1];
	size_t len = strlen(name);

	if (fdx_provenance_parse(name, p) == 0)
		return 0;
	/* NAME-RANDOM: drop the suffix that made the shm name unique */
	if (len < 18 || len - 17 > FDX_PROVENANCE_MAX || name[len - 17] != '-' ||
	    strspn(name + len - 16, "0123456789abcdef") != 16)
		return -EINVAL;
	memcpy(copy, name, len - 17);
	copy[len - 17] = '\0';
	return fdx_provenance_parse(copy, p);
}
