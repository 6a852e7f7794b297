/* buffer.c - create (memfd), seal, recognise, validate and map shared buffers of every
 * kind; the other backends' creation is in backend.c */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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

int fdx_memfd_open(const char *name, unsigned extra)
{
	unsigned fl = MFD_CLOEXEC | MFD_ALLOW_SEALING | extra;
	int fd = memfd_create(name, fl | MFD_NOEXEC_SEAL);

	/* kernels before 6.3 refuse the unknown flag with EINVAL: retry without it */
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, fl);
	return fd < 0 ? -errno : fd;
}

static uint64_t system_page(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? (uint64_t)page : 4096;
}

static int map_range(struct fdx_buffer *b, int prot, unsigned flags)
{
	/* hugetlbfs maps, and unmaps, only whole huge pages from huge page offsets */
	uint64_t page = b->page ? b->page : system_page();
	uint64_t base = b->offset - b->offset % page;
	uint64_t len = b->offset - base + b->length;
	int mflags = MAP_SHARED | ((flags & FDX_BUF_POPULATE) ? MAP_POPULATE : 0);
	void *p;

	if (len % page && fdx_add_overflow(len, page - len % page, &len))
		return -EOVERFLOW;
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

int fdx_buffer_adopt(struct fdx_buffer *b, int fd, unsigned kind, unsigned backend,
		     uint64_t file_size, uint64_t page, unsigned flags)
{
	int r;

	buffer_clear(b);
	b->fd = fd;
	b->kind = kind;
	b->backend = backend;
	b->page = page;
	b->file_size = file_size;
	b->offset = 0;
	b->length = file_size;
	b->writable = true;
	r = map_range(b, PROT_READ | PROT_WRITE, flags);
	if (r < 0)
		fdx_buffer_release(b);
	return r;
}

int fdx_buffer_create(struct fdx_buffer *b, const char *name, uint64_t size, unsigned flags)
{
	int fd, r;

	buffer_clear(b);
	if (size == 0)
		return -EINVAL;
	if (size > INT64_MAX || size > SIZE_MAX)
		return -EFBIG;
	fd = fdx_memfd_open(name, 0);
	if (fd < 0)
		return fd;
	/* posix_fallocate returns the error instead of setting errno */
	r = posix_fallocate(fd, 0, (off_t)size);
	if (r != 0) {
		close(fd);
		return -r;
	}
	return fdx_buffer_adopt(b, fd, FDX_BUF_KIND_MEMFD, FDX_BACKEND_MEMFD, size, 0,
				flags);
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
	/* only memfds take seals; the others' consumers know what to expect of them */
	if (b->kind != FDX_BUF_KIND_MEMFD && b->kind != FDX_BUF_KIND_MEMFD_HUGE)
		return 0;
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

/* Does /proc say fd is a memfd? -1 when /proc cannot tell. */
static int is_memfd_link(int fd)
{
	char path[64], link[16];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	if (n < 0)
		return -1;
	return n >= 7 && memcmp(link, "/memfd:", 7) == 0;
}

/* The kind of a regular file: memfds are tmpfs (or hugetlbfs) files that /proc names so */
static unsigned regular_kind(int fd, unsigned long fs, unsigned seals)
{
	int memfd;

	if (fs != TMPFS_MAGIC && fs != HUGETLBFS_MAGIC)
		return FDX_BUF_KIND_FILE;
	memfd = is_memfd_link(fd);
	/* without /proc: only a memfd can hold seals other than F_SEAL_SEAL */
	if (memfd < 0)
		memfd = (seals & ~(unsigned)F_SEAL_SEAL) != 0;
	if (!memfd)
		return FDX_BUF_KIND_TMPFS;
	return fs == HUGETLBFS_MAGIC ? FDX_BUF_KIND_MEMFD_HUGE : FDX_BUF_KIND_MEMFD;
}

int fdx_buffer_identify(int fd, struct fdx_buffer_info *info)
{
	struct statfs sf;
	struct stat st;
	off_t end;
	int fl, r;

	memset(info, 0, sizeof(*info));
	if (fd < 0 || fstat(fd, &st) < 0)
		return fd < 0 ? -EBADF : -errno;
	/* an O_PATH reference passes fstat but can be neither sealed nor mapped */
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_PATH))
		return -EBADF;
	if (fstatfs(fd, &sf) < 0)
		return -errno;
	info->fs = (unsigned long)sf.f_type;
	info->page = system_page();
	/*
	 * A DMA-BUF is an anonymous inode (a regular file in its mode on recent kernels, no
	 * type at all on older ones): its file system says what it is, and lseek its size.
	 */
	if (info->fs == DMA_BUF_MAGIC) {
		end = lseek(fd, 0, SEEK_END);
		if (end < 0)
			return -errno;
		info->kind = FDX_BUF_KIND_DMABUF;
		info->size = (uint64_t)end;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	info->size = (uint64_t)st.st_size;
	/* files that cannot be sealed answer EINVAL: no seals */
	r = fcntl(fd, F_GET_SEALS);
	info->seals = r < 0 ? 0 : (unsigned)r;
	info->kind = regular_kind(fd, info->fs, info->seals);
	if (info->fs == HUGETLBFS_MAGIC && st.st_blksize > 0)
		info->page =
			(uint64_t)st.st_blksize; /* hugetlbfs says its page size here */
	return 0;
}

int fdx_buffer_inspect(int fd, uint64_t *size, unsigned *seals)
{
	struct fdx_buffer_info info;
	int r = fdx_buffer_identify(fd, &info);

	*size = info.size;
	*seals = info.seals;
	return r;
}

int fdx_buffer_import(struct fdx_buffer *b, int fd, uint64_t offset, uint64_t length,
		      unsigned flags)
{
	struct fdx_buffer_info info;
	uint64_t end;
	int r;

	buffer_clear(b);
	r = fdx_buffer_identify(fd, &info);
	if (fd < 0)
		return r;
	b->fd = fd;
	b->file_size = info.size;
	b->seals = info.seals;
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
	/* without the shrink seal the size just checked could change under the mapping;
	 * a DMA-BUF keeps the size it was made with */
	if (!(flags & FDX_BUF_UNSEALED) && info.kind != FDX_BUF_KIND_DMABUF &&
	    (b->seals & FDX_SEALS_REQUIRED) != FDX_SEALS_REQUIRED) {
		r = -EPERM;
		goto fail;
	}
	b->offset = offset;
	b->length = length;
	b->kind = info.kind;
	b->page = info.page;
	b->backend = FDX_BACKEND_MEMFD; /* the caller sets what the peer said it is */
	b->writable = flags & FDX_BUF_WRITABLE;
	r = map_range(b, PROT_READ | (b->writable ? PROT_WRITE : 0), flags);
	if (r < 0)
		goto fail;
	return 0;
fail:
	/* keep what was learnt for the caller's message, drop the resources */
	fdx_buffer_release(b);
	b->file_size = info.size;
	b->seals = info.seals;
	b->kind = info.kind;
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

const char *fdx_buf_kind_name(unsigned kind)
{
	switch (kind) {
	case FDX_BUF_KIND_MEMFD:
		return "memfd";
	case FDX_BUF_KIND_MEMFD_HUGE:
		return "memfd-huge";
	case FDX_BUF_KIND_TMPFS:
		return "tmpfs file";
	case FDX_BUF_KIND_FILE:
		return "file";
	case FDX_BUF_KIND_DMABUF:
		return "dma-buf";
	}
	return "private memory";
}

bool fdx_buffer_may_shrink(const struct fdx_buffer *b)
{
	if (b->fd < 0 || b->kind == FDX_BUF_KIND_DMABUF || b->kind == FDX_BUF_KIND_NONE)
		return false;
	return !(b->seals & F_SEAL_SHRINK);
}

static int dmabuf_sync(const struct fdx_buffer *b, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	if (b->kind != FDX_BUF_KIND_DMABUF || b->fd < 0)
		return 0;
	/* the exporter may wait for the device; a signal only interrupts the wait */
	while (ioctl(b->fd, DMA_BUF_IOCTL_SYNC, &sync) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int fdx_buffer_cpu_begin(const struct fdx_buffer *b, bool write)
{
	return dmabuf_sync(b, DMA_BUF_SYNC_START |
				      (write ? DMA_BUF_SYNC_RW : DMA_BUF_SYNC_READ));
}

int fdx_buffer_cpu_end(const struct fdx_buffer *b, bool write)
{
	return dmabuf_sync(b, DMA_BUF_SYNC_END |
				      (write ? DMA_BUF_SYNC_RW : DMA_BUF_SYNC_READ));
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
	case -EMEDIUMTYPE: /* an fd of another kind than the OBJECT says */
		return true;
	}
	return false;
}
