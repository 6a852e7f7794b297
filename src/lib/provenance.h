/* provenance.h - the names fdx gives its buffers, so that anyone can tell who made one */
#ifndef FDX_PROVENANCE_H
#define FDX_PROVENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every buffer fdx creates carries a name (the memfd name, shown as /memfd:NAME in
 * /proc/PID/fd and /proc/PID/maps; DMA_BUF_SET_NAME for DMA-BUFs):
 *
 *   fdx:PID:SESSION:INDEX[.PLANE][:sSEED]
 *
 * PID is the creator's process ID, SESSION the connection it was made for (a serve
 * client's number from 1; 0 for a client such as send-image), INDEX the object's index,
 * PLANE the plane when each plane has an fd of its own, SEED the pattern seed in hex
 * when the buffer holds the fdx pattern. All numbers decimal except SEED.
 */
struct fdx_provenance {
	uint32_t pid;
	uint32_t session;
	uint64_t index;
	int plane; /* -1: the whole object is in this one buffer */
	bool has_seed;
	uint64_t seed;
};

/* Longest name fdx_provenance_format() writes, NUL included. */
#define FDX_PROVENANCE_MAX 96u

/* Write the name of p into buf; returns its length, or -ENAMETOOLONG / -EINVAL. */
int fdx_provenance_format(char *buf, size_t cap, const struct fdx_provenance *p);

/*
 * Parse a name as written above (nothing before it, nothing after it). Returns 0, or
 * -EINVAL for a name that is not an fdx buffer name; p is only written on success.
 */
int fdx_provenance_parse(const char *name, struct fdx_provenance *p);

/*
 * The same for the file name of a POSIX shm object fdx made: NAME-RANDOM, where RANDOM
 * (16 lowercase hex digits) keeps shm names unique; a name without it parses as above.
 */
int fdx_provenance_parse_file(const char *name, struct fdx_provenance *p);

#endif
