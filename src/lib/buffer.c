/* buffer.c - create, seal, validate and map shared buffers (memfd for now) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "codec.h"
#include "macro.h"

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020 /* Linux 6.3: set by MFD_NOEXEC_SEAL */
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008u /* Linux 6.3; older headers lack it */
#endif

static void buffer_clear(struct fdx_buffer *b)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

static int memfd_open(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);

	/* kernels before 6.3 refuse the unknown flag with EINVAL: retry without it */
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd < 0 ? -errno : fd;
}

static int map_range(struct fdx_buffer *b, int prot, unsigned flags)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t base = b->offset - b->offset % (uint64_t)page;
	uint64_t len = b->offset - base + b->length;
	int mflags = MAP_SHARED | ((flags & FDX_BUF_POPULATE) ? MAP_POPULATE : 0);
	void *p;

	if (len > SIZE_MAX)
		return -EOVERFLOW;
	p = mmap(NULL, (size_t)len, prot, mflags, b->fd, (off_t)base);
	/* EPERM (a write seal) would read as "not sealed" to callers: call it EACCES */
	if (p == MAP_FAILED)
		return errno == EPERM ? -EACCES : -errno;
	b->map_base = p;
	b->map_len = (size_t)len;
	b->map = (uint8_t *)p + (b->offset - base);
	return 0;
}

int fdx_buffer_create(struct fdx_buffer *b, const char *name, uint64_t size, unsigned flags)
{
	int r;

	buffer_clear(b);
	if (size == 0)
		return -EINVAL;
	if (size > INT64_MAX || size > SIZE_MAX)
		return -EFBIG;
	r = memfd_open(name);
	if (r < 0)
		return r;
	b->fd = r;
	b->backend = FDX_BACKEND_MEMFD;
	/* posix_fallocate returns the error instead of setting errno */
	r = posix_fallocate(b->fd, 0, (off_t)size);
	if (r != 0) {
		r = -r;
		goto fail;
	}
	b->file_size = size;
	b->offset = 0;
	b->length = size;
	b->writable = true;
	r = map_range(b, PROT_READ | PROT_WRITE, flags);
	if (r < 0)
		goto fail;
	return 0;
fail:
	fdx_buffer_release(b);
	return r;
}

int fdx_buffer_anon(struct fdx_buffer *b, uint64_t size)
{
	void *p;

	buffer_clear(b);
	if (size == 0)
		return -EINVAL;
	if (size > SIZE_MAX)
		return -EFBIG;
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	b->map_base = p;
	b->map_len = (size_t)size;
	b->map = p;
	b->length = size;
	b->file_size = size;
	b->backend = FDX_BACKEND_COPY;
	b->writable = true;
	return 0;
}

int fdx_buffer_seal(struct fdx_buffer *b)
{
	/* F_SEAL_SEAL goes last: after it, not even we could add the others */
	if (fcntl(b->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return -errno;
	if (fcntl(b->fd, F_ADD_SEALS, F_SEAL_SEAL) < 0)
		return -errno;
	int seals = fcntl(b->fd, F_GET_SEALS);

	if (seals < 0)
		return -errno;
	b->seals = (unsigned)seals;
	return 0;
}

int fdx_buffer_inspect(int fd, uint64_t *size, unsigned *seals)
{
	struct stat st;
	int fl, r;

	*size = 0;
	*seals = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fd < 0 ? -EBADF : -errno;
	/* an O_PATH reference passes fstat but can be neither sealed nor mapped */
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_PATH))
		return -EBADF;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	*size = (uint64_t)st.st_size;
	/* files that cannot be sealed answer EINVAL: no seals */
	r = fcntl(fd, F_GET_SEALS);
	*seals = r < 0 ? 0 : (unsigned)r;
	return 0;
}

int fdx_buffer_import(struct fdx_buffer *b, int fd, uint64_t offset, uint64_t length,
		      unsigned flags)
{
	uint64_t end, size;
	unsigned seals;
	int r;

	buffer_clear(b);
	r = fdx_buffer_inspect(fd, &size, &seals);
	if (fd < 0)
		return r;
	b->fd = fd;
	b->file_size = size;
	b->seals = seals;
	if (r < 0)
		goto fail;
	if (length == 0 || fdx_add_overflow(offset, length, &end) || end > INT64_MAX) {
		r = -EOVERFLOW;
		goto fail;
	}
	if (b->file_size < end) {
		r = -ERANGE;
		goto fail;
	}
	/* without the shrink seal the size just checked could change under the mapping */
	if (!(flags & FDX_BUF_UNSEALED) &&
	    (b->seals & FDX_SEALS_REQUIRED) != FDX_SEALS_REQUIRED) {
		r = -EPERM;
		goto fail;
	}
	b->offset = offset;
	b->length = length;
	b->backend = FDX_BACKEND_MEMFD;
	b->writable = flags & FDX_BUF_WRITABLE;
	r = map_range(b, PROT_READ | (b->writable ? PROT_WRITE : 0), flags);
	if (r < 0)
		goto fail;
	return 0;
fail:
	/* keep what was learnt for the caller's message, drop the resources */
	fdx_buffer_release(b);
	b->file_size = size;
	b->seals = seals;
	return r;
}

void fdx_buffer_release(struct fdx_buffer *b)
{
	if (b->map_base)
		munmap(b->map_base, b->map_len);
	if (b->fd >= 0)
		close(b->fd);
	buffer_clear(b);
}

const char *fdx_fd_kind(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return "not an open fd";
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFIFO:
		return "pipe";
	case S_IFSOCK:
		return "socket";
	case S_IFDIR:
		return "directory";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	case S_IFLNK:
		return "symbolic link"; /* an O_PATH fd of a link */
	}
	return "file of unknown type";
}

const char *fdx_seals_str(unsigned seals, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ F_SEAL_SHRINK, "shrink" }, { F_SEAL_GROW, "grow" },
		{ F_SEAL_WRITE, "write" },   { F_SEAL_FUTURE_WRITE, "future-write" },
		{ F_SEAL_SEAL, "seal" },     { F_SEAL_EXEC, "exec" },
	};
	size_t used = 0;

	if (cap == 0)
		return buf;
	if (seals == 0) {
		snprintf(buf, cap, "none");
		return buf;
	}
	/* what does not fit is cut off; it never turns into "none" */
	buf[0] = '\0';
	for (size_t i = 0; i < FDX_ARRAY_SIZE(names) && used < cap - 1; i++) {
		if (!(seals & names[i].bit))
			continue;
		int n = snprintf(buf + used, cap - used, "%s%s", used ? "," : "",
				 names[i].name);

		if (n < 0)
			break;
		used += (size_t)n < cap - used ? (size_t)n : cap - 1 - used;
	}
	return buf;
}

bool fdx_buffer_err_is_peer(int err)
{
	switch (err) {
	case -EBADF:
	case -ENODEV:
	case -EOVERFLOW:
	case -ERANGE:
	case -EPERM:
	case -EOPNOTSUPP:
		return true;
	}
	return false;
}
