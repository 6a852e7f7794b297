/* buffer.h - shared buffers: create and seal (producer), validate and map (consumer) */
#ifndef FDX_BUFFER_H
#define FDX_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * What an fd turned out to be, recognised from the fd itself (file system type, /proc
 * link), whatever the peer said about it.
 */
enum fdx_buf_kind {
	FDX_BUF_KIND_NONE = 0,	 /* private memory, no fd (a copy buffer) */
	FDX_BUF_KIND_MEMFD,	 /* memfd_create(2) on tmpfs */
	FDX_BUF_KIND_MEMFD_HUGE, /* memfd_create(2) with MFD_HUGETLB, on hugetlbfs */
	FDX_BUF_KIND_TMPFS,	 /* a tmpfs file that is no memfd: POSIX shm, O_TMPFILE */
	FDX_BUF_KIND_FILE,	 /* a regular file on another file system */
	FDX_BUF_KIND_DMABUF,	 /* a DMA-BUF: from a heap, udmabuf or a driver */
};

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
	unsigned kind;	    /* enum fdx_buf_kind */
	uint64_t page;	    /* the file's page size: mappings start at multiples of it */
	bool writable;
};

enum fdx_buffer_flags {
	FDX_BUF_WRITABLE = 1u << 0, /* import: map read-write (default read-only) */
	FDX_BUF_POPULATE =
		1u << 1, /* map with MAP_POPULATE so the first pass does not fault */
	FDX_BUF_UNSEALED = 1u << 2, /* import: accept a file without the shrink seal (the
				       caller reads it knowing it may shrink) */
	FDX_BUF_GUARDED =
		1u << 3, /* fdx_held_import: the caller reads buffers that may
			    shrink under a SIGBUS guard, so it takes unsealed files
			    where the OBJECT's backend cannot seal (shm, tmpfile) */
};

/* What fdx_buffer_identify() learns about an fd. */
struct fdx_buffer_info {
	unsigned kind;	  /* enum fdx_buf_kind */
	uint64_t size;	  /* bytes: st_size, or for a DMA-BUF its lseek(SEEK_END) */
	unsigned seals;	  /* F_GET_SEALS; 0 when the file cannot be sealed */
	uint64_t page;	  /* huge page size on hugetlbfs, else the system page size */
	unsigned long fs; /* statfs f_type */
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
 * A memfd named name: CLOEXEC, sealable, not executable where the kernel knows
 * MFD_NOEXEC_SEAL, with the memfd_create(2) flags in extra (MFD_HUGETLB). An fd or -errno.
 */
int fdx_memfd_open(const char *name, unsigned extra);

/*
 * Private memory of size bytes, no fd, mapped read-write and prefaulted: what a consumer
 * of a copy stream receives frames into.
 */
int fdx_buffer_anon(struct fdx_buffer *b, uint64_t size);

/*
 * Add FDX_SEALS_PRODUCER; F_SEAL_SEAL last so the consumer cannot add any. Buffers that
 * cannot be sealed (shm, tmpfile: not memfds; DMA-BUFs) are left as they are: their
 * consumers read them under a SIGBUS guard, or they cannot shrink.
 */
int fdx_buffer_seal(struct fdx_buffer *b);

/*
 * Validate fd as a buffer holding [offset, offset+length) and map that range. Takes
 * ownership of fd: on failure it is closed. Errors, one per cause:
 *   -EBADF     fd is not open, or is an O_PATH reference
 *   -ENODEV    not a buffer: neither a regular file nor a DMA-BUF (pipe, socket,
 *              device, directory, ...)
 *   -EOVERFLOW offset + length does not fit in 64 bits, or length is zero
 *   -ERANGE    the file is smaller than offset + length
 *   -EPERM     FDX_SEALS_REQUIRED are not all set (unless FDX_BUF_UNSEALED, or a
 *              DMA-BUF, which cannot shrink)
 *   other      from fstat, fcntl or mmap (-ENOMEM, -EACCES for a write-sealed file
 *              asked for FDX_BUF_WRITABLE, ...)
 * On failure b->fd is -1 and b->file_size, b->seals hold what was learnt, for messages.
 */
int fdx_buffer_import(struct fdx_buffer *b, int fd, uint64_t offset, uint64_t length,
		      unsigned flags);

/*
 * What fd is, without taking it over: 0 for a buffer -- a regular file or a DMA-BUF --
 * with its size and seals (0 when it cannot be sealed); -EBADF for a closed fd or an
 * O_PATH reference; -ENODEV for anything else (pipe, socket, device, directory); -errno
 * from fstat.
 */
int fdx_buffer_inspect(int fd, uint64_t *size, unsigned *seals);

/* The same, and what kind of buffer it is (a DMA-BUF is told by its file system magic,
 * not by its mode, which is an anonymous inode's). */
int fdx_buffer_identify(int fd, struct fdx_buffer_info *info);

/* "memfd", "memfd-huge", "tmpfs file", "file", "dma-buf"; "private memory" for none. */
const char *fdx_buf_kind_name(unsigned kind);

/*
 * May the file under b lose pages while it is mapped? True for a file without the
 * shrink seal; a DMA-BUF never changes size, and private memory has no file.
 */
bool fdx_buffer_may_shrink(const struct fdx_buffer *b);

/*
 * Bracket CPU access to a DMA-BUF (DMA_BUF_IOCTL_SYNC with DMA_BUF_SYNC_START, then
 * DMA_BUF_SYNC_END; read, write or both as write says) so that caches and the device
 * agree; nothing for other kinds. Returns 0 or -errno.
 */
int fdx_buffer_cpu_begin(const struct fdx_buffer *b, bool write);
int fdx_buffer_cpu_end(const struct fdx_buffer *b, bool write);

/*
 * Take over fd, a buffer just made of the given kind and backend, file_size bytes
 * long, and map all of it read-write: what every backend's creation ends with. On
 * failure fd is closed and b is empty.
 */
int fdx_buffer_adopt(struct fdx_buffer *b, int fd, unsigned kind, unsigned backend,
		     uint64_t file_size, uint64_t page, unsigned flags);

/* Unmap and close; leaves b empty. */
void fdx_buffer_release(struct fdx_buffer *b);

/* What kind of file fd is, for messages: "pipe", "socket", "directory", ... */
const char *fdx_fd_kind(int fd);

/* "shrink,grow,seal" style list of seals into buf; "none" when there are none. */
const char *fdx_seals_str(unsigned seals, char *buf, size_t cap);

/* True when a buffer error is the peer's doing (bad fd or layout), not this system's. */
bool fdx_buffer_err_is_peer(int err);

#endif
