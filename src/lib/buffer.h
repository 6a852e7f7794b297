/* buffer.h - shared buffers: create and seal (producer), validate and map (consumer) */
#ifndef FDX_BUFFER_H
#define FDX_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The seals a producer sets and the one a consumer insists on. */
#define FDX_SEALS_PRODUCER (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define FDX_SEALS_REQUIRED (F_SEAL_SHRINK) /* no shrink: no SIGBUS on a checked size */

struct fdx_buffer {
	int fd;		 /* owned; -1 when none */
	uint8_t *map;	 /* start of the requested range inside the mapping */
	void *map_base;	 /* what mmap returned (page aligned) */
	size_t map_len;	 /* length passed to mmap */
	uint64_t offset; /* requested range: offset and length in the file */
	uint64_t length;
	uint64_t file_size; /* st_size when created or imported */
	unsigned seals;	    /* F_GET_SEALS, 0 when the file has none */
	unsigned backend;   /* enum fdx_backend */
	bool writable;
};

enum fdx_buffer_flags {
	FDX_BUF_WRITABLE = 1u << 0, /* import: map read-write (default read-only) */
	FDX_BUF_POPULATE =
		1u << 1, /* map with MAP_POPULATE so the first pass does not fault */
	FDX_BUF_UNSEALED = 1u << 2, /* import: accept a file without the shrink seal (the
				       caller reads it knowing it may shrink) */
};

/* A buffer that holds nothing; safe to pass to fdx_buffer_release(). */
#define FDX_BUFFER_INIT                                                                    \
	{                                                                                  \
		.fd = -1                                                                   \
	}

/*
 * Create a memfd named name (shown as /memfd:NAME in /proc), CLOEXEC, sealable, not
 * executable where the kernel knows MFD_NOEXEC_SEAL, with size bytes allocated up front
 * (posix_fallocate, so a full tmpfs or cgroup fails here with -ENOSPC instead of with a
 * SIGBUS later) and mapped read-write. -EINVAL for size 0, -EFBIG beyond off_t.
 */
int fdx_buffer_create(struct fdx_buffer *b, const char *name, uint64_t size,
		      unsigned flags);

/*
 * Private memory of size bytes, no fd, mapped read-write and prefaulted: what a consumer
 * of a copy stream receives frames into.
 */
int fdx_buffer_anon(struct fdx_buffer *b, uint64_t size);

/* Add FDX_SEALS_PRODUCER; F_SEAL_SEAL last so the consumer cannot add any. */
int fdx_buffer_seal(struct fdx_buffer *b);

/*
 * Validate fd as a buffer holding [offset, offset+length) and map that range. Takes
 * ownership of fd: on failure it is closed. Errors, one per cause:
 *   -EBADF     fd is not open, or is an O_PATH reference
 *   -ENODEV    not a regular file (pipe, socket, device, directory, ...)
 *   -EOVERFLOW offset + length does not fit in 64 bits, or length is zero
 *   -ERANGE    the file is smaller than offset + length
 *   -EPERM     FDX_SEALS_REQUIRED are not all set (unless FDX_BUF_UNSEALED)
 *   other      from fstat, fcntl or mmap (-ENOMEM, -EACCES for a write-sealed file
 *              asked for FDX_BUF_WRITABLE, ...)
 * On failure b->fd is -1 and b->file_size, b->seals hold what was learnt, for messages.
 */
int fdx_buffer_import(struct fdx_buffer *b, int fd, uint64_t offset, uint64_t length,
		      unsigned flags);

/*
 * What fd is, without taking it over: 0 for a regular file, with its size and seals
 * (0 when it cannot be sealed); -EBADF for a closed fd or an O_PATH reference; -ENODEV
 * for anything else (pipe, socket, device, directory); -errno from fstat.
 */
int fdx_buffer_inspect(int fd, uint64_t *size, unsigned *seals);

/* Unmap and close; leaves b empty. */
void fdx_buffer_release(struct fdx_buffer *b);

/* What kind of file fd is, for messages: "pipe", "socket", "directory", ... */
const char *fdx_fd_kind(int fd);

/* "shrink,grow,seal" style list of seals into buf; "none" when there are none. */
const char *fdx_seals_str(unsigned seals, char *buf, size_t cap);

/* True when a buffer error is the peer's doing (bad fd or layout), not this system's. */
bool fdx_buffer_err_is_peer(int err);

#endif
