/* backend.c - make shared buffers of every backend: memfd, memfd-huge, POSIX shm,
 * O_TMPFILE, DMA-BUF heap, udmabuf; and find out up front whether this machine can */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/magic.h>
#include <linux/udmabuf.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "codec.h"
#include "macro.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004u
#endif

#define SHM_TRIES 16 /* random names tried before giving up on EEXIST */

static const char *const tmpfile_dirs[] = { "/dev/shm", "/tmp" };

int fdx_backend_parse(const char *s, struct fdx_backend_spec *spec)
{
	static const struct {
		const char *name;
		unsigned backend;
	} plain[] = {
		{ "memfd", FDX_BACKEND_MEMFD },
		{ "memfd-huge", FDX_BACKEND_MEMFD_HUGE },
		{ "shm", FDX_BACKEND_SHM },
		{ "tmpfile", FDX_BACKEND_TMPFILE },
		{ "udmabuf", FDX_BACKEND_UDMABUF },
	};

	memset(spec, 0, sizeof(*spec));
	for (size_t i = 0; i < FDX_ARRAY_SIZE(plain); i++)
		if (!strcmp(s, plain[i].name)) {
			spec->backend = plain[i].backend;
			return 0;
		}
	if (strncmp(s, "dma-heap", 8) != 0 || (s[8] != '\0' && s[8] != ':'))
		return -EINVAL;
	spec->backend = FDX_BACKEND_DMA_HEAP;
	if (s[8] == ':') {
		/* a heap is a file in /dev/dma_heap: no way out of it */
		if (!s[9] || strchr(s + 9, '/') || !strcmp(s + 9, ".") ||
		    !strcmp(s + 9, ".."))
			return -EINVAL;
		spec->heap = s + 9;
	}
	return 0;
}

const char *fdx_backend_list(void)
{
	return "memfd, memfd-huge, shm, tmpfile, dma-heap[:NAME], udmabuf";
}

bool fdx_backend_sealable(unsigned backend)
{
	return backend == FDX_BACKEND_MEMFD || backend == FDX_BACKEND_MEMFD_HUGE;
}

static uint64_t system_page(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? (uint64_t)page : 4096;
}

int fdx_backend_round(const struct fdx_backend_spec *spec, uint64_t size, uint64_t *out)
{
	uint64_t page = spec->page ? spec->page : system_page();
	uint64_t r = size % page;

	if (r && fdx_add_overflow(size, page - r, &size))
		return -EOVERFLOW;
	if (size > INT64_MAX || size > SIZE_MAX)
		return -EOVERFLOW;
	*out = size;
	return 0;
}

int fdx_huge_pages(uint64_t *free, uint64_t *total, uint64_t *size)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	uint64_t v;
	unsigned seen = 0;

	*free = *total = *size = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "HugePages_Free: %" SCNu64, &v) == 1)
			*free = v, seen |= 1;
		else if (sscanf(line, "HugePages_Total: %" SCNu64, &v) == 1)
			*total = v, seen |= 2;
		else if (sscanf(line, "Hugepagesize: %" SCNu64 " kB", &v) == 1)
			*size = v * 1024, seen |= 4;
	}
	fclose(f);
	return seen == 7 ? 0 : -ENOENT;
}

/* Why a huge page allocation failed, in numbers a person can act on. */
static void no_huge_pages(char *why, size_t cap, uint64_t bytes)
{
	uint64_t free, total, size;

	if (fdx_huge_pages(&free, &total, &size) < 0 || !size) {
		snprintf(why, cap, "no free huge pages for %" PRIu64 " bytes", bytes);
		return;
	}
	snprintf(why, cap,
		 "no free huge pages (HugePages_Free %" PRIu64 " of %" PRIu64 ", %" PRIu64
		 " kB each; %" PRIu64 " needed: reserve them with sysctl vm.nr_hugepages)",
		 free, total, size / 1024, (bytes + size - 1) / size);
}

/* memfd-huge: a memfd on hugetlbfs, whole huge pages allocated now. */
static int make_huge(struct fdx_buffer *b, const char *name, uint64_t size, unsigned flags,
		     char *why, size_t cap)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_MEMFD_HUGE };
	struct stat st;
	int fd, r;

	fd = fdx_memfd_open(name, MFD_HUGETLB);
	if (fd < 0) {
		snprintf(
			why, cap,
			"memfd_create(MFD_HUGETLB): %s (this kernel has no huge page memfds: "
			"CONFIG_HUGETLBFS)",
			strerror(-fd));
		return fd == -EINVAL ? -EOPNOTSUPP : fd;
	}
	/* hugetlbfs files grow in whole huge pages: the size of ours is in st_blksize */
	if (fstat(fd, &st) < 0 || st.st_blksize <= 0) {
		r = -errno;
		snprintf(why, cap, "fstat of a huge page memfd: %s", strerror(-r));
		goto fail;
	}
	sp.page = (uint64_t)st.st_blksize;
	r = fdx_backend_round(&sp, size, &size);
	if (r < 0) {
		snprintf(why, cap, "%" PRIu64 " bytes in huge pages: too large", size);
		goto fail;
	}
	r = -posix_fallocate(fd, 0, (off_t)size);
	if (r == -ENOSPC || r == -ENOMEM) {
		no_huge_pages(why, cap, size);
		r = -ENOMEM;
		goto fail;
	}
	if (r < 0) {
		snprintf(why, cap, "posix_fallocate of %" PRIu64 " bytes of huge pages: %s",
			 size, strerror(-r));
		goto fail;
	}
	r = fdx_buffer_adopt(b, fd, FDX_BUF_KIND_MEMFD_HUGE, FDX_BACKEND_MEMFD_HUGE, size,
			     sp.page, flags);
	if (r == -ENOMEM)
		no_huge_pages(why, cap, size);
	else if (r < 0)
		snprintf(why, cap, "mmap of %" PRIu64 " bytes of huge pages: %s", size,
			 strerror(-r));
	return r;
fail:
	close(fd);
	return r;
}

/* 64 bits that nobody can guess, for a name nobody can take first. */
static uint64_t random64(void)
{
	uint64_t v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == sizeof(v))
		return v;
	/* no entropy yet (early boot): O_EXCL still keeps the name ours */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid() << 32 ^
	    (uint64_t)ts.tv_sec;
	return v;
}

/* Allocate size bytes of a file up front: a full tmpfs says so now, not by SIGBUS. */
static int allocate(int fd, uint64_t size, const char *what, char *why, size_t cap)
{
	int r = posix_fallocate(fd, 0, (off_t)size);

	if (r == 0)
		return 0;
	snprintf(why, cap, "cannot allocate %" PRIu64 " bytes in %s: %s", size, what,
		 strerror(r));
	return -r;
}

/*
 * shm: a POSIX shared memory object under a name no one can guess, taken with O_EXCL
 * and unlinked at once, so that nothing is left in /dev/shm whatever happens next.
 */
static int make_shm(struct fdx_buffer *b, const char *name, uint64_t size, unsigned flags,
		    char *why, size_t cap)
{
	char shm_name[NAME_MAX + 1];
	int fd = -1, r;

	for (unsigned i = 0; i < SHM_TRIES && fd < 0; i++) {
		snprintf(shm_name, sizeof(shm_name), "/%.200s-%016" PRIx64, name,
			 random64());
		fd = shm_open(shm_name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		r = -errno;
		snprintf(why, cap, "shm_open '%s': %s%s", shm_name, strerror(-r),
			 r == -ENOENT ? " (POSIX shared memory needs a tmpfs on /dev/shm)"
				      : "");
		return r;
	}
	if (shm_unlink(shm_name) < 0) {
		r = -errno;
		snprintf(why, cap, "shm_unlink '%s': %s", shm_name, strerror(-r));
		close(fd);
		return r;
	}
	r = allocate(fd, size, "/dev/shm", why, cap);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = fdx_buffer_adopt(b, fd, FDX_BUF_KIND_TMPFS, FDX_BACKEND_SHM, size, 0, flags);
	if (r < 0)
		snprintf(why, cap, "mmap of a shm object of %" PRIu64 " bytes: %s", size,
			 strerror(-r));
	return r;
}

/* An unnamed file in dir; the directory that took it in *used. */
static int open_tmpfile(const char *dir, const char **used, char *why, size_t cap)
{
	int fd, r = 0;

	for (size_t i = 0; i < (dir ? 1 : FDX_ARRAY_SIZE(tmpfile_dirs)); i++) {
		const char *d = dir ? dir : tmpfile_dirs[i];

		fd = open(d, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*used = d;
			return fd;
		}
		/* the first refusal is the one that matters: /tmp was only the fallback */
		if (!r) {
			r = -errno;
			snprintf(why, cap, "O_TMPFILE in '%s': %s%s", d, strerror(-r),
				 r == -EOPNOTSUPP || r == -EISDIR
					 ? " (this file system cannot make unnamed files)"
					 : "");
		}
	}
	if (!dir) {
		size_t n = strlen(why);

		snprintf(why + n, cap - n, ", nor in '%s'", tmpfile_dirs[1]);
	}
	return r;
}

static int make_tmpfile(struct fdx_buffer *b, const char *dir, uint64_t size,
			unsigned flags, char *why, size_t cap)
{
	const char *used = NULL;
	struct statfs sf;
	unsigned kind;
	int fd, r;

	fd = open_tmpfile(dir, &used, why, cap);
	if (fd < 0)
		return fd;
	r = allocate(fd, size, used, why, cap);
	if (r < 0)
		goto fail;
	kind = fstatfs(fd, &sf) == 0 && sf.f_type == TMPFS_MAGIC ? FDX_BUF_KIND_TMPFS
								 : FDX_BUF_KIND_FILE;
	r = fdx_buffer_adopt(b, fd, kind, FDX_BACKEND_TMPFILE, size, 0, flags);
	if (r < 0)
		snprintf(why, cap, "mmap of a tmpfile in '%s': %s", used, strerror(-r));
	return r;
fail:
	close(fd);
	return r;
}

/* DMA_BUF_SET_NAME: what stat and /proc show; a kernel without it just shows none. */
static void name_dmabuf(int fd, const char *name)
{
	char n[DMA_BUF_NAME_LEN];

	snprintf(n, sizeof(n), "%s", name); /* cut to DMA_BUF_NAME_LEN - 1 */
	(void)ioctl(fd, DMA_BUF_SET_NAME, n);
}

/* The size of a DMA-BUF: it has no st_size to trust, but lseek to its end works. */
static int dmabuf_size(int fd, uint64_t *size)
{
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < 0)
		return -errno;
	*size = (uint64_t)end;
	return 0;
}

/* What is in /dev/dma_heap, for the message about a heap that is not there. */
static void list_heaps(char *buf, size_t cap)
{
	DIR *d = opendir(FDX_DMA_HEAP_DIR);
	struct dirent *de;
	size_t used = 0;

	buf[0] = '\0';
	if (!d)
		return;
	while ((de = readdir(d)) && used + 2 < cap) {
		int n;

		if (de->d_name[0] == '.')
			continue;
		n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", de->d_name);
		if (n > 0)
			used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
	}
	closedir(d);
}

/* Open the heap's device file, saying what a missing or locked one means. */
static int open_heap(const char *heap, char *path, size_t pathcap, char *why, size_t cap)
{
	struct stat st;
	int fd, r;

	snprintf(path, pathcap, "%s/%s", FDX_DMA_HEAP_DIR, heap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	r = -errno;
	if (r == -ENOENT && stat(FDX_DMA_HEAP_DIR, &st) < 0) {
		snprintf(why, cap, "%s: %s (this kernel or board has no DMA-BUF heaps)",
			 path, strerror(-r));
	} else if (r == -ENOENT) {
		char heaps[256];

		list_heaps(heaps, sizeof(heaps));
		snprintf(why, cap, "%s: %s (the heaps here: %s)", path, strerror(-r),
			 heaps[0] ? heaps : "none");
	} else if (r == -EACCES || r == -EPERM) {
		snprintf(why, cap, "%s: %s (its owner or group may open it: see ls -l %s)",
			 path, strerror(-r), FDX_DMA_HEAP_DIR);
	} else {
		snprintf(why, cap, "%s: %s", path, strerror(-r));
	}
	return r;
}

/* dma-heap: a DMA-BUF allocated by a heap (the J7's carveout, or the system heap). */
static int make_dma_heap(struct fdx_buffer *b, const char *heap, const char *name,
			 uint64_t size, unsigned flags, char *why, size_t cap)
{
	struct dma_heap_allocation_data d = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
	char path[sizeof(FDX_DMA_HEAP_DIR) + 256];
	uint64_t have = 0;
	int hfd, r;

	hfd = open_heap(heap, path, sizeof(path), why, cap);
	if (hfd < 0)
		return hfd;
	r = ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &d) < 0 ? -errno : 0;
	close(hfd);
	if (r < 0) {
		snprintf(why, cap, "%s: DMA_HEAP_IOCTL_ALLOC of %" PRIu64 " bytes: %s",
			 path, size, strerror(-r));
		return r;
	}
	name_dmabuf((int)d.fd, name);
	r = dmabuf_size((int)d.fd, &have);
	if (r == 0 && have < size)
		r = -ERANGE; /* a heap that gives less than asked is broken */
	if (r < 0) {
		snprintf(why, cap, "%s: the DMA-BUF it gave for %" PRIu64 " bytes: %s",
			 path, size, r == -ERANGE ? "it is smaller" : strerror(-r));
		close((int)d.fd);
		return r;
	}
	r = fdx_buffer_adopt(b, (int)d.fd, FDX_BUF_KIND_DMABUF, FDX_BACKEND_DMA_HEAP, have,
			     0, flags);
	if (r < 0)
		snprintf(why, cap, "mmap of a DMA-BUF from %s: %s", path, strerror(-r));
	return r;
}

static int open_udmabuf(char *why, size_t cap)
{
	int fd = open(FDX_UDMABUF_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	fd = -errno;
	snprintf(why, cap, "%s: %s%s", FDX_UDMABUF_DEVICE, strerror(-fd),
		 fd == -ENOENT	 ? " (this kernel has no udmabuf: CONFIG_UDMABUF, modprobe "
				   "udmabuf)"
		 : fd == -EACCES ? " (its owner or group may open it)"
				 : "");
	return fd;
}

/*
 * udmabuf: a memfd whose pages the kernel turns into a DMA-BUF. udmabuf takes only a
 * memfd that cannot shrink, so it is sealed first; the DMA-BUF is what is sent.
 */
static int make_udmabuf(struct fdx_buffer *b, const char *name, uint64_t size,
			unsigned flags, char *why, size_t cap)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
	int ufd, mfd, fd = -1, r;
	uint64_t have = 0;

	ufd = open_udmabuf(why, cap);
	if (ufd < 0)
		return ufd;
	mfd = fdx_memfd_open(name, 0);
	if (mfd < 0) {
		snprintf(why, cap, "memfd_create for udmabuf: %s", strerror(-mfd));
		close(ufd);
		return mfd;
	}
	r = allocate(mfd, size, "a memfd", why, cap);
	if (r == 0 &&
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = -errno;
		snprintf(why, cap, "sealing the memfd for udmabuf: %s", strerror(-r));
	}
	if (r == 0) {
		c.memfd = (uint32_t)mfd;
		fd = ioctl(ufd, UDMABUF_CREATE, &c);
		if (fd < 0) {
			r = -errno;
			snprintf(why, cap, "%s: UDMABUF_CREATE of %" PRIu64 " bytes: %s%s",
				 FDX_UDMABUF_DEVICE, size, strerror(-r),
				 r == -EINVAL || r == -E2BIG
					 ? " (udmabuf.size_limit_mb caps a buffer, 64 MiB "
					   "by default)"
					 : "");
		}
	}
	/* the DMA-BUF holds the pages: neither the memfd nor the device are needed now */
	close(mfd);
	close(ufd);
	if (r < 0)
		return r;
	name_dmabuf(fd, name);
	r = dmabuf_size(fd, &have);
	if (r < 0) {
		snprintf(why, cap, "lseek on a udmabuf DMA-BUF: %s", strerror(-r));
		close(fd);
		return r;
	}
	r = fdx_buffer_adopt(b, fd, FDX_BUF_KIND_DMABUF, FDX_BACKEND_UDMABUF, have, 0,
			     flags);
	if (r < 0)
		snprintf(why, cap, "mmap of a udmabuf DMA-BUF: %s", strerror(-r));
	return r;
}

int fdx_backend_create(struct fdx_buffer *b, const struct fdx_backend_spec *spec,
		       const char *name, uint64_t size, unsigned flags, char *why,
		       size_t whycap)
{
	uint64_t rounded;
	int r;

	*b = (struct fdx_buffer)FDX_BUFFER_INIT;
	why[0] = '\0';
	if (size == 0) {
		snprintf(why, whycap, "a buffer of 0 bytes");
		return -EINVAL;
	}
	/* memfd-huge rounds to its own page size, which it learns from the file */
	r = fdx_backend_round(spec, size, &rounded);
	if (r < 0) {
		snprintf(why, whycap, "a buffer of %" PRIu64 " bytes: too large", size);
		return -EFBIG;
	}
	switch (spec->backend) {
	case FDX_BACKEND_MEMFD:
		r = fdx_buffer_create(b, name, size, flags);
		if (r < 0)
			snprintf(why, whycap, "memfd of %" PRIu64 " bytes: %s", size,
				 strerror(-r));
		return r;
	case FDX_BACKEND_MEMFD_HUGE:
		return make_huge(b, name, size, flags, why, whycap);
	case FDX_BACKEND_SHM:
		return make_shm(b, name, size, flags, why, whycap);
	case FDX_BACKEND_TMPFILE:
		return make_tmpfile(b, spec->dir, size, flags, why, whycap);
	case FDX_BACKEND_DMA_HEAP:
		return make_dma_heap(b, spec->heap ? spec->heap : FDX_DMA_HEAP_NAME, name,
				     rounded, flags, why, whycap);
	case FDX_BACKEND_UDMABUF:
		return make_udmabuf(b, name, rounded, flags, why, whycap);
	}
	snprintf(why, whycap, "backend %u makes no buffers", spec->backend);
	return -EINVAL;
}

int fdx_backend_probe(struct fdx_backend_spec *spec, char *why, size_t whycap)
{
	struct fdx_buffer b = FDX_BUFFER_INIT;
	char path[sizeof(FDX_DMA_HEAP_DIR) + 256];
	const char *used = NULL;
	int fd, r = 0;

	why[0] = '\0';
	spec->page = system_page();
	switch (spec->backend) {
	case FDX_BACKEND_MEMFD:
		return 0;
	case FDX_BACKEND_MEMFD_HUGE:
		/* one huge page: the kernel can, and some are reserved and free */
		r = make_huge(&b, "fdx-probe", 1, 0, why, whycap);
		if (r == 0)
			spec->page = b.page;
		break;
	case FDX_BACKEND_SHM:
		r = make_shm(&b, "fdx-probe", spec->page, 0, why, whycap);
		break;
	case FDX_BACKEND_TMPFILE:
		fd = open_tmpfile(spec->dir, &used, why, whycap);
		if (fd < 0)
			return fd;
		close(fd);
		spec->dir = used; /* from now on no fallback: the same place every time */
		return 0;
	case FDX_BACKEND_DMA_HEAP:
		/* allocating would prove more, but a heap may be small: opening it will do
		 */
		fd = open_heap(spec->heap ? spec->heap : FDX_DMA_HEAP_NAME, path,
			       sizeof(path), why, whycap);
		if (fd < 0)
			return fd;
		close(fd);
		return 0;
	case FDX_BACKEND_UDMABUF:
		fd = open_udmabuf(why, whycap);
		if (fd < 0)
			return fd;
		close(fd);
		return 0;
	default:
		snprintf(why, whycap, "backend %u makes no buffers", spec->backend);
		return -EINVAL;
	}
	fdx_buffer_release(&b);
	return r;
}
