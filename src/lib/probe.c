/* probe.c - what this kernel and machine support, each feature tried for real */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/dma-heap.h>
#include <linux/magic.h>
#include <linux/udmabuf.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "macro.h"
#include "peerfd.h"
#include "probe.h"

/* What older C library headers lack; the numbers are the kernel's ABI. */
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020 /* Linux 6.3 */
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008u /* Linux 6.3 */
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010u /* Linux 6.3 */
#endif
/* socket options: asm-generic numbers, which x86, arm64, arm and riscv use */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83 /* Linux 6.16 */
#endif

#define CAP_SYS_PTRACE_BIT 19		 /* linux/capability.h */
#define SHM_LOW_BYTES	   (64ull << 20) /* /dev/shm with less free is "limited" */
/* the fds a process needs besides one full message: what fdx keeps in reserve */
#define NOFILE_NEEDED (FDX_SCM_MAX_FD + 32u)
#define SCM_TRY_MAX   1024u /* the fd count search stops here */
#define DATA_RECORD   (FDX_HDR_SIZE + FDX_DATA_HEAD + FDX_DATA_MAX)

/* ---- filling a result ---- */

const char *fdx_probe_status_name(enum fdx_probe_status s)
{
	switch (s) {
	case FDX_PROBE_OK:
		return "ok";
	case FDX_PROBE_MISSING:
		return "missing";
	case FDX_PROBE_DENIED:
		return "denied";
	case FDX_PROBE_LIMITED:
		return "limited";
	case FDX_PROBE_ERROR:
		break;
	}
	return "error";
}

int64_t fdx_probe_detail(const struct fdx_probe *p, const char *key, int64_t dflt)
{
	for (unsigned i = 0; i < p->ndetails; i++)
		if (strcmp(p->details[i].key, key) == 0)
			return p->details[i].value;
	return dflt;
}

_printf_(3, 4) static void start(struct fdx_probe *p, enum fdx_probe_id id, const char *fmt,
				 ...)
{
	va_list ap;

	memset(p, 0, sizeof(*p));
	p->id = id;
	va_start(ap, fmt);
	vsnprintf(p->name, sizeof(p->name), fmt, ap);
	va_end(ap);
}

static void detail(struct fdx_probe *p, const char *key, int64_t v)
{
	if (p->ndetails < FDX_PROBE_DETAILS_MAX)
		p->details[p->ndetails++] = (struct fdx_probe_detail){ key, v };
}

static void value(struct fdx_probe *p, int64_t v)
{
	p->has_value = true;
	p->value = v;
}

/* The verdict: status, the errno behind it, what was found. 0, or -err for an error. */
_printf_(4, 5) static int verdict(struct fdx_probe *p, enum fdx_probe_status s, int err,
				  const char *fmt, ...)
{
	va_list ap;

	p->status = s;
	p->err = err;
	va_start(ap, fmt);
	vsnprintf(p->found, sizeof(p->found), fmt, ap);
	va_end(ap);
	if (s != FDX_PROBE_ERROR)
		return 0;
	return err ? -err : -EIO;
}

/* ---- small helpers ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* "208 KiB", "23.5 GiB", "512 B" */
static const char *human(uint64_t v, char *buf, size_t cap)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	uint64_t div = 1;
	unsigned u = 0;

	while (u + 1 < FDX_ARRAY_SIZE(units) && v / div >= 1024) {
		div *= 1024;
		u++;
	}
	if (v % div == 0 || v / div >= 100)
		snprintf(buf, cap, "%" PRIu64 " %s", (v + div / 2) / div, units[u]);
	else
		snprintf(buf, cap, "%.1f %s", (double)v / (double)div, units[u]);
	return buf;
}

/* One integer from a file such as a sysctl; -errno, -EINVAL when it holds none. */
static int read_int(const char *path, int64_t *out)
{
	char buf[64];
	ssize_t n;
	char *end;
	int fd, err;
	long long v;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (end == buf || errno || (*end && *end != '\n'))
		return -EINVAL;
	*out = v;
	return 0;
}

/* The value of "Key:" in a /proc file of "Key: value" lines, in base 10 or 16. */
static int read_key(const char *path, const char *key, int base, int64_t *out)
{
	size_t klen = strlen(key);
	char line[256];
	int r = -ENOENT;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *end;

		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		errno = 0;
		*out = (int64_t)strtoull(line + klen + 1, &end, base);
		r = errno || end == line + klen + 1 ? -EINVAL : 0;
		break;
	}
	fclose(f);
	return r;
}

/* A memfd made the way fdx makes its buffers: sealable, not executable where possible. */
static int memfd_fdx(void)
{
	int fd = memfd_create("fdx-doctor",
			      MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("fdx-doctor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd < 0 ? -errno : fd;
}

static long page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? page : 4096;
}

/*
 * A process that holds a copy of every fd this one has, and waits until release is
 * closed; then it exits. Its stdio buffers are never flushed (it leaves with _exit).
 */
struct waiter {
	pid_t pid;
	int release; /* write end of its pipe: closing it lets the process go */
	bool child;  /* our child, to be reaped */
};

static void wait_eof(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int waiter_child(struct waiter *w)
{
	int p[2];
	pid_t pid;
	int err;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(p[0]);
		close(p[1]);
		return -err;
	}
	if (pid == 0) {
		close(p[1]);
		wait_eof(p[0]);
		_exit(0);
	}
	close(p[0]);
	*w = (struct waiter){ .pid = pid, .release = p[1], .child = true };
	return 0;
}

/*
 * A waiter that is not a descendant of this process: a grandchild whose parent has
 * exited, so that the kernel gave it to init (or to a subreaper above us). Once the
 * middle process is reaped the reparenting is done: it happens before the exit is seen.
 */
static int waiter_orphan(struct waiter *w)
{
	int rel[2], pp[2], err;
	pid_t mid, pid = -1;
	ssize_t n;

	if (pipe2(rel, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(pp, O_CLOEXEC) < 0) {
		err = errno;
		close(rel[0]);
		close(rel[1]);
		return -err;
	}
	mid = fork();
	if (mid < 0) {
		err = errno;
		close(rel[0]);
		close(rel[1]);
		close(pp[0]);
		close(pp[1]);
		return -err;
	}
	if (mid == 0) {
		pid = fork();
		if (pid == 0) {
			close(rel[1]);
			close(pp[1]);
			wait_eof(rel[0]);
			_exit(0);
		}
		if (write(pp[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		_exit(0);
	}
	close(rel[0]);
	close(pp[1]);
	do
		n = read(pp[0], &pid, sizeof(pid));
	while (n < 0 && errno == EINTR);
	err = n < 0 ? errno : EAGAIN;
	close(pp[0]);
	reap(mid);
	if (n != sizeof(pid) || pid <= 0) {
		close(rel[1]);
		return -err;
	}
	*w = (struct waiter){ .pid = pid, .release = rel[1] };
	return 0;
}

static void waiter_end(struct waiter *w)
{
	close_fd(&w->release);
	/* an orphan that came back to us (we are a subreaper) is ours to reap too */
	if (w->child || waitpid(w->pid, NULL, WNOHANG) == 0)
		reap(w->pid);
}

/* The parent of pid, from /proc; -errno. */
static pid_t parent_of(pid_t pid)
{
	char path[64];
	int64_t v;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	r = read_key(path, "PPid", 10, &v);
	return r < 0 ? r : (pid_t)v;
}

/* Two sockets of a pair, close-on-exec; SEQPACKET, or STREAM where it is missing. */
static int pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0)
		return 0;
	if (type == SOCK_SEQPACKET &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0)
		return 0;
	sv[0] = sv[1] = -1;
	return -errno;
}

static void close_pair(int sv[2])
{
	close_fd(&sv[0]);
	close_fd(&sv[1]);
}

/*
 * Send one byte with fd repeated n times (the kernel counts entries, not distinct files,
 * so one fd suffices) without waiting; 0 or -errno.
 */
static int send_fds(int sock, int fd, unsigned n)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * SCM_TRY_MAX)];
	} ctl;
	char byte = 'x';
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (n == 0 || n > SCM_TRY_MAX)
		return -EINVAL;
	memset(&ctl, 0, sizeof(ctl));
	m.msg_control = ctl.b;
	m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	for (unsigned i = 0; i < n; i++)
		memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	if (sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

/* Take one message off sock and close every fd that came with it. */
static void drain_fds(int sock)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * SCM_TRY_MAX)];
	} ctl;
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b) };

	if (recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return;
	/* under a low RLIMIT_NOFILE fewer arrive (MSG_CTRUNC): the kernel dropped the rest
	 */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

static const char *fs_name(unsigned long type, char *buf, size_t cap)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} known[] = {
		{ TMPFS_MAGIC, "tmpfs" },
		{ EXT4_SUPER_MAGIC, "ext2/3/4" },
		{ XFS_SUPER_MAGIC, "xfs" },
		{ BTRFS_SUPER_MAGIC, "btrfs" },
		{ OVERLAYFS_SUPER_MAGIC, "overlay" },
		{ RAMFS_MAGIC, "ramfs" },
		{ F2FS_SUPER_MAGIC, "f2fs" },
		{ NFS_SUPER_MAGIC, "nfs" },
		{ 0x65735546, "fuse" },
		{ 0x2fc12fc1, "zfs" },
		{ SQUASHFS_MAGIC, "squashfs" },
		{ V9FS_MAGIC, "9p" },
	};

	for (size_t i = 0; i < FDX_ARRAY_SIZE(known); i++)
		if (known[i].magic == type)
			return known[i].name;
	snprintf(buf, cap, "file system 0x%lx", type);
	return buf;
}

/* ---- memfd ---- */

int fdx_probe_memfd_seals(struct fdx_probe *p)
{
	const int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	long page = page_size();
	int fd, seals, err, r;

	start(p, FDX_PROBE_MEMFD_SEALS, "memfd-seals");
	fd = memfd_fdx();
	if (fd < 0)
		return verdict(p,
			       fd == -ENOSYS || fd == -EINVAL ? FDX_PROBE_MISSING
							      : FDX_PROBE_ERROR,
			       -fd, "memfd_create(MFD_ALLOW_SEALING) failed: %s",
			       strerror(-fd));
	if (ftruncate(fd, page) < 0) {
		err = errno;
		r = verdict(p, FDX_PROBE_ERROR, err, "cannot size a memfd: %s",
			    strerror(err));
		goto out;
	}
	/* the order fdx seals in: SEAL last, so that nothing can be added after it */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) < 0) {
		err = errno;
		r = verdict(p, err == EINVAL ? FDX_PROBE_MISSING : FDX_PROBE_ERROR, err,
			    "F_ADD_SEALS failed: %s", strerror(err));
		goto out;
	}
	seals = fcntl(fd, F_GET_SEALS);
	err = errno;
	if (seals < 0 || (seals & want) != want) {
		r = verdict(p, FDX_PROBE_ERROR, seals < 0 ? err : 0,
			    "F_GET_SEALS does not give back the seals added (%d)", seals);
		goto out;
	}
	/* read back is not enough: what they forbid must be refused */
	if (ftruncate(fd, page / 2) == 0 || errno != EPERM)
		r = verdict(p, FDX_PROBE_ERROR, 0, "sealed, yet it could be shrunk");
	else if (ftruncate(fd, page * 2) == 0 || errno != EPERM)
		r = verdict(p, FDX_PROBE_ERROR, 0, "sealed, yet it could be grown");
	else if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0 || errno != EPERM)
		r = verdict(p, FDX_PROBE_ERROR, 0,
			    "seal-sealed, yet a seal could be added");
	else
		r = verdict(p, FDX_PROBE_OK, 0,
			    "shrink,grow,seal added, read back and enforced");
out:
	close(fd);
	return r;
}

int fdx_probe_seal_future_write(struct fdx_probe *p)
{
	long page = page_size();
	int fd, err, r;
	void *m;

	start(p, FDX_PROBE_SEAL_FUTURE_WRITE, "seal-future-write");
	fd = memfd_fdx();
	if (fd < 0)
		return verdict(p, FDX_PROBE_MISSING, -fd, "no sealable memfd: %s",
			       strerror(-fd));
	if (ftruncate(fd, page) < 0) {
		err = errno;
		r = verdict(p, FDX_PROBE_ERROR, err, "cannot size a memfd: %s",
			    strerror(err));
		goto out;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0) {
		err = errno;
		r = verdict(p, err == EINVAL ? FDX_PROBE_MISSING : FDX_PROBE_ERROR, err,
			    "F_ADD_SEALS(F_SEAL_FUTURE_WRITE) refused: %s", strerror(err));
		goto out;
	}
	m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = errno;
	if (m != MAP_FAILED) {
		munmap(m, (size_t)page);
		r = verdict(p, FDX_PROBE_ERROR, 0, "sealed, yet mapped writable");
		goto out;
	}
	if (err != EPERM) {
		r = verdict(p, FDX_PROBE_ERROR, err, "a writable mapping failed oddly: %s",
			    strerror(err));
		goto out;
	}
	if (pwrite(fd, "x", 1, 0) >= 0 || errno != EPERM) {
		r = verdict(p, FDX_PROBE_ERROR, 0, "sealed, yet write(2) was not refused");
		goto out;
	}
	m = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	err = errno;
	if (m == MAP_FAILED) {
		r = verdict(p, FDX_PROBE_ERROR, err, "a read-only mapping failed: %s",
			    strerror(err));
		goto out;
	}
	munmap(m, (size_t)page);
	r = verdict(p, FDX_PROBE_OK, EPERM,
		    "added; write(2) and new writable mappings refused (EPERM), read-only "
		    "mappings allowed");
out:
	close(fd);
	return r;
}

int fdx_probe_mfd_noexec_seal(struct fdx_probe *p)
{
	struct stat st;
	int fd, seals, err, r;

	start(p, FDX_PROBE_MFD_NOEXEC_SEAL, "mfd-noexec-seal");
	fd = memfd_create("fdx-doctor", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
	if (fd < 0) {
		err = errno;
		return verdict(p, err == EINVAL ? FDX_PROBE_MISSING : FDX_PROBE_ERROR, err,
			       "memfd_create refuses MFD_NOEXEC_SEAL: %s", strerror(err));
	}
	seals = fcntl(fd, F_GET_SEALS);
	err = errno;
	if (seals < 0 || !(seals & F_SEAL_EXEC)) {
		r = verdict(p, FDX_PROBE_LIMITED, seals < 0 ? err : 0,
			    "accepted, but no exec seal was set");
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		r = verdict(p, FDX_PROBE_ERROR, err, "fstat of a memfd failed: %s",
			    strerror(err));
		goto out;
	}
	if (fchmod(fd, 0755) == 0 || errno != EPERM) {
		r = verdict(p, FDX_PROBE_LIMITED, 0,
			    "exec seal set, yet the mode could be made executable");
		goto out;
	}
	r = verdict(p, FDX_PROBE_OK, EPERM,
		    "accepted: exec seal set, mode %04o, chmod +x refused (EPERM)",
		    (unsigned)(st.st_mode & 07777));
out:
	close(fd);
	return r;
}

int fdx_probe_memfd_noexec_sysctl(struct fdx_probe *p)
{
	static const char *const meaning[] = {
		"memfds are executable unless made with MFD_NOEXEC_SEAL",
		"memfds are not executable unless made with MFD_EXEC",
		"executable memfds are forbidden",
	};
	int64_t v;
	int fd, r, err;

	start(p, FDX_PROBE_MEMFD_NOEXEC_SYSCTL, "vm.memfd_noexec");
	r = read_int("/proc/sys/vm/memfd_noexec", &v);
	if (r == -ENOENT)
		return verdict(p, FDX_PROBE_MISSING, ENOENT,
			       "no /proc/sys/vm/memfd_noexec: every memfd is executable");
	if (r < 0)
		return verdict(
			p, r == -EACCES || r == -EPERM ? FDX_PROBE_DENIED : FDX_PROBE_ERROR,
			-r, "cannot read /proc/sys/vm/memfd_noexec: %s", strerror(-r));
	value(p, v);
	/* what the setting does to a request for an executable memfd */
	fd = memfd_create("fdx-doctor", MFD_CLOEXEC | MFD_EXEC);
	err = errno;
	if (fd >= 0)
		close(fd);
	return verdict(p, FDX_PROBE_OK, fd < 0 ? err : 0,
		       "%" PRId64 ": %s; MFD_EXEC %s%s%s", v,
		       v >= 0 && v <= 2 ? meaning[v] : "a value unknown to fdx",
		       fd >= 0 ? "accepted" : "refused", fd >= 0 ? "" : ": ",
		       fd >= 0 ? "" : strerror(err));
}

/* ---- huge pages ---- */

int fdx_probe_mfd_hugetlb(struct fdx_probe *p)
{
	int64_t kb = 0;
	int fd, err;

	start(p, FDX_PROBE_MFD_HUGETLB, "mfd-hugetlb");
	fd = memfd_create("fdx-doctor", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
	if (fd < 0) {
		err = errno;
		return verdict(p,
			       err == EACCES || err == EPERM ? FDX_PROBE_DENIED
			       : err == EINVAL || err == ENOENT || err == ENODEV ||
					       err == ENOSYS
				       ? FDX_PROBE_MISSING
				       : FDX_PROBE_ERROR,
			       err, "memfd_create refuses MFD_HUGETLB: %s", strerror(err));
	}
	close(fd);
	if (read_key("/proc/meminfo", "Hugepagesize", 10, &kb) < 0 || kb <= 0)
		return verdict(p, FDX_PROBE_OK, 0,
			       "accepted; no default huge page size in /proc/meminfo");
	value(p, kb * 1024);
	return verdict(p, FDX_PROBE_OK, 0,
		       "accepted; default huge page size %" PRId64 " kB", kb);
}

struct pool {
	int64_t kb, nr, free;
};

static int cmp_pool(const void *a, const void *b)
{
	const struct pool *x = a, *y = b;

	return (x->kb > y->kb) - (x->kb < y->kb);
}

/* "2048 kB: 0 reserved, 0 free; 1048576 kB: ..." from /sys/kernel/mm/hugepages */
static void pools_text(char *buf, size_t cap)
{
	static const char dir[] = "/sys/kernel/mm/hugepages";
	struct pool pools[8];
	size_t n = 0, len = 0;
	struct dirent *de;
	DIR *d;

	buf[0] = '\0';
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) && n < FDX_ARRAY_SIZE(pools)) {
		char path[PATH_MAX];
		long long kb;

		if (sscanf(de->d_name, "hugepages-%lldkB", &kb) != 1)
			continue;
		pools[n] = (struct pool){ .kb = kb };
		snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, de->d_name);
		if (read_int(path, &pools[n].nr) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir, de->d_name);
		if (read_int(path, &pools[n].free) < 0)
			continue;
		n++;
	}
	closedir(d);
	qsort(pools, n, sizeof(*pools), cmp_pool);
	for (size_t i = 0; i < n && len < cap; i++) {
		int w = snprintf(buf + len, cap - len,
				 "%s%" PRId64 " kB: %" PRId64 " reserved, %" PRId64 " free",
				 i ? "; " : "", pools[i].kb, pools[i].nr, pools[i].free);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int fdx_probe_hugepages(struct fdx_probe *p)
{
	int64_t total, free, rsvd, kb, avail;
	char pools[160];
	int fd, r;

	start(p, FDX_PROBE_HUGEPAGES, "hugepages");
	if (read_key("/proc/meminfo", "HugePages_Total", 10, &total) < 0 ||
	    read_key("/proc/meminfo", "HugePages_Free", 10, &free) < 0 ||
	    read_key("/proc/meminfo", "HugePages_Rsvd", 10, &rsvd) < 0 ||
	    read_key("/proc/meminfo", "Hugepagesize", 10, &kb) < 0)
		return verdict(p, FDX_PROBE_MISSING, 0,
			       "no huge pages in /proc/meminfo (no hugetlbfs)");
	detail(p, "size_kb", kb);
	detail(p, "total", total);
	detail(p, "free", free);
	detail(p, "rsvd", rsvd);
	/* HugePages_Rsvd are promised to mappings already: not free for a new buffer */
	avail = free > rsvd ? free - rsvd : 0;
	value(p, avail);
	pools_text(pools, sizeof(pools));
	if (!pools[0])
		snprintf(pools, sizeof(pools),
			 "%" PRId64 " kB: %" PRId64 " reserved, %" PRId64 " free", kb,
			 total, free);
	if (avail == 0)
		return verdict(p, FDX_PROBE_MISSING, 0, "%s; none free for a new buffer",
			       pools);
	/* counts can be stale or capped by a cgroup: allocate one page for real */
	fd = memfd_create("fdx-doctor", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd < 0) {
		r = errno;
		return verdict(p, FDX_PROBE_MISSING, r,
			       "%s; but memfd_create(MFD_HUGETLB): %s", pools, strerror(r));
	}
	r = posix_fallocate(fd, 0, (off_t)kb * 1024);
	close(fd);
	if (r != 0)
		return verdict(
			p, FDX_PROBE_LIMITED, r,
			"%s; yet allocating one failed: %s (a cgroup hugetlb limit?)",
			pools, strerror(r));
	return verdict(p, FDX_PROBE_OK, 0, "%s; one page allocated and given back", pools);
}

/* ---- POSIX shm and files ---- */

int fdx_probe_dev_shm(struct fdx_probe *p)
{
	static const char path[] = "/dev/shm";
	char size_s[32], free_s[32], fsbuf[48];
	struct stat st, dev;
	struct statvfs vfs;
	struct statfs fs;
	uint64_t size, avail;
	const char *type;
	int err;

	start(p, FDX_PROBE_DEV_SHM, "dev-shm");
	if (stat(path, &st) < 0 || statfs(path, &fs) < 0 || statvfs(path, &vfs) < 0) {
		err = errno;
		return verdict(p,
			       err == ENOENT || err == ENOTDIR ? FDX_PROBE_MISSING
			       : err == EACCES		       ? FDX_PROBE_DENIED
							       : FDX_PROBE_ERROR,
			       err, "%s: %s", path, strerror(err));
	}
	type = fs_name((unsigned long)fs.f_type, fsbuf, sizeof(fsbuf));
	size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	detail(p, "size", (int64_t)size);
	detail(p, "free", (int64_t)avail);
	value(p, (int64_t)avail);
	human(size, size_s, sizeof(size_s));
	human(avail, free_s, sizeof(free_s));
	if (!S_ISDIR(st.st_mode))
		return verdict(p, FDX_PROBE_MISSING, ENOTDIR, "%s is not a directory",
			       path);
	/* a mount of its own has a device of its own; else it is a directory of /dev */
	if (stat("/dev", &dev) == 0 && dev.st_dev == st.st_dev)
		return verdict(p, FDX_PROBE_LIMITED, 0,
			       "not mounted: a directory on /dev (%s, %s free)", type,
			       free_s);
	if (fs.f_type != TMPFS_MAGIC)
		return verdict(p, FDX_PROBE_LIMITED, 0, "%s, not tmpfs: %s, %s free", type,
			       size_s, free_s);
	if (avail < SHM_LOW_BYTES)
		return verdict(p, FDX_PROBE_LIMITED, 0, "tmpfs, %s, only %s free", size_s,
			       free_s);
	return verdict(p, FDX_PROBE_OK, 0, "tmpfs, %s, %s free", size_s, free_s);
}

int fdx_probe_shm_open(struct fdx_probe *p)
{
	long page = page_size();
	char name[64];
	int fd = -1, err = 0, r;
	void *m;

	start(p, FDX_PROBE_SHM_OPEN, "shm-open");
	/* a name nobody else uses; O_EXCL makes sure, and a clash just tries the next */
	for (unsigned i = 0; i < 16 && fd < 0; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(name, sizeof(name), "/fdx-doctor-%d-%lx-%u", (int)getpid(),
			 (unsigned long)ts.tv_nsec, i);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		err = errno;
		if (fd < 0 && err != EEXIST)
			break;
	}
	if (fd < 0)
		return verdict(p,
			       err == EACCES || err == EPERM ? FDX_PROBE_DENIED
			       : err == ENOENT || err == ENOSYS || err == ENOTDIR
				       ? FDX_PROBE_MISSING
				       : FDX_PROBE_ERROR,
			       err, "shm_open(O_CREAT|O_EXCL) failed: %s", strerror(err));
	/* unlinked at once, as fdx does: nothing is left behind, whatever happens next */
	if (shm_unlink(name) < 0) {
		err = errno;
		r = verdict(p, FDX_PROBE_ERROR, err, "shm_unlink failed: %s",
			    strerror(err));
		goto out;
	}
	if (ftruncate(fd, page) < 0) {
		err = errno;
		r = verdict(p, err == ENOSPC ? FDX_PROBE_LIMITED : FDX_PROBE_ERROR, err,
			    "made, but cannot be sized: %s", strerror(err));
		goto out;
	}
	m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = errno;
	if (m == MAP_FAILED) {
		r = verdict(p, FDX_PROBE_ERROR, err, "made, but cannot be mapped: %s",
			    strerror(err));
		goto out;
	}
	munmap(m, (size_t)page);
	r = verdict(p, FDX_PROBE_OK, 0,
		    "made with O_CREAT|O_EXCL, unlinked at once, sized and mapped");
out:
	close(fd);
	return r;
}

int fdx_probe_tmpfile(const char *dir, struct fdx_probe *p)
{
	char fsbuf[48];
	struct statfs fs;
	struct stat st;
	int fd, err, r;

	start(p, FDX_PROBE_TMPFILE, "tmpfile:%s", dir);
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno;
		/* kernels or file systems without it: EOPNOTSUPP, or EISDIR from the
		 * O_DIRECTORY that O_TMPFILE contains */
		return verdict(p,
			       err == EACCES || err == EPERM || err == EROFS
				       ? FDX_PROBE_DENIED
			       : err == EOPNOTSUPP || err == EISDIR || err == ENOENT ||
					       err == ENOTDIR || err == EINVAL
				       ? FDX_PROBE_MISSING
				       : FDX_PROBE_ERROR,
			       err, "open(O_TMPFILE) in %s failed: %s", dir, strerror(err));
	}
	if (fstat(fd, &st) < 0 || fstatfs(fd, &fs) < 0) {
		err = errno;
		r = verdict(p, FDX_PROBE_ERROR, err, "fstat failed: %s", strerror(err));
		goto out;
	}
	if (st.st_nlink != 0) {
		r = verdict(p, FDX_PROBE_ERROR, 0, "the file has a name (%u links)",
			    (unsigned)st.st_nlink);
		goto out;
	}
	if (ftruncate(fd, page_size()) < 0) {
		err = errno;
		r = verdict(p, err == ENOSPC ? FDX_PROBE_LIMITED : FDX_PROBE_ERROR, err,
			    "made on %s, but cannot be sized: %s",
			    fs_name((unsigned long)fs.f_type, fsbuf, sizeof(fsbuf)),
			    strerror(err));
		goto out;
	}
	r = verdict(p, FDX_PROBE_OK, 0, "a nameless file made and sized, on %s",
		    fs_name((unsigned long)fs.f_type, fsbuf, sizeof(fsbuf)));
out:
	close(fd);
	return r;
}

/* ---- other processes' fds ---- */

static enum fdx_probe_status pidfd_status(int r)
{
	return r == -ENOSYS		     ? FDX_PROBE_MISSING
	       : r == -EPERM || r == -EACCES ? FDX_PROBE_DENIED
					     : FDX_PROBE_ERROR;
}

int fdx_probe_pidfd_open(struct fdx_probe *p)
{
	struct waiter w = { .pid = -1, .release = -1 };
	struct pollfd pfd;
	int pidfd = -1, r, before, after;

	start(p, FDX_PROBE_PIDFD_OPEN, "pidfd-open");
	r = waiter_child(&w);
	if (r < 0)
		return verdict(p, FDX_PROBE_ERROR, -r, "cannot fork a child: %s",
			       strerror(-r));
	r = fdx_pidfd_open(w.pid, &pidfd);
	if (r < 0) {
		waiter_end(&w);
		return verdict(p, pidfd_status(r), -r, "pidfd_open of a child failed: %s",
			       strerror(-r));
	}
	/* a pidfd becomes readable when its process exits: see that it tracks this one */
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	before = poll(&pfd, 1, 0);
	waiter_end(&w);
	pfd.revents = 0;
	after = poll(&pfd, 1, 5000);
	close(pidfd);
	if (before != 0 || after != 1)
		return verdict(p, FDX_PROBE_ERROR, 0,
			       "a pidfd of a child, but poll did not follow its exit");
	return verdict(p, FDX_PROBE_OK, 0,
		       "a pidfd of a child: not readable while it ran, readable once it "
		       "exited");
}

/* Take fd of w's process through a pidfd; the copy must be the same file, CLOEXEC. */
static int take_from(const struct waiter *w, int fd)
{
	struct stat a, b;
	int pidfd = -1, got = -1, r, flags;

	r = fdx_pidfd_open(w->pid, &pidfd);
	if (r < 0)
		return r;
	r = fdx_pidfd_getfd(pidfd, fd, &got);
	close(pidfd);
	if (r < 0)
		return r;
	flags = fcntl(got, F_GETFD);
	if (fstat(fd, &a) < 0 || fstat(got, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino || flags < 0 || !(flags & FD_CLOEXEC))
		r = -EBADFD;
	close(got);
	return r;
}

int fdx_probe_pidfd_getfd(struct fdx_probe *p)
{
	struct waiter w = { .pid = -1, .release = -1 };
	int fd, r;

	start(p, FDX_PROBE_PIDFD_GETFD, "pidfd-getfd");
	/* a memfd, not an eventfd: anonymous inodes are all one inode, which would make
	 * any fd look like "the same file" */
	fd = memfd_fdx();
	if (fd < 0)
		return verdict(p, FDX_PROBE_ERROR, -fd, "cannot make an fd to take: %s",
			       strerror(-fd));
	r = waiter_child(&w);
	if (r < 0) {
		close(fd);
		return verdict(p, FDX_PROBE_ERROR, -r, "cannot fork a child: %s",
			       strerror(-r));
	}
	r = take_from(&w, fd);
	waiter_end(&w);
	close(fd);
	if (r == -EBADFD)
		return verdict(p, FDX_PROBE_ERROR, 0,
			       "took an fd of a child, but not the same file, or not "
			       "close-on-exec");
	if (r < 0)
		return verdict(p, pidfd_status(r), -r, "cannot take an fd of a child: %s",
			       strerror(-r));
	return verdict(p, FDX_PROBE_OK, 0,
		       "took a copy of a child's fd: the same file, close-on-exec");
}

int fdx_probe_ptrace(struct fdx_probe *p)
{
	static const char *const scopes[] = {
		"Yama ptrace_scope 0 (classic: any process of the user)",
		"Yama ptrace_scope 1 (descendants only)",
		"Yama ptrace_scope 2 (CAP_SYS_PTRACE only)",
		"Yama ptrace_scope 3 (no attaching at all)",
	};
	int64_t scope = -1, caps = 0;
	char yama[64];
	const char *why;
	struct waiter w = { .pid = -1, .release = -1 };
	bool cap, back;
	int fd, r;

	start(p, FDX_PROBE_PTRACE, "ptrace");
	r = read_int("/proc/sys/kernel/yama/ptrace_scope", &scope);
	if (r < 0)
		scope = -1;
	if (scope >= 0 && scope <= 3)
		snprintf(yama, sizeof(yama), "%s", scopes[scope]);
	else if (scope >= 0)
		snprintf(yama, sizeof(yama), "Yama ptrace_scope %" PRId64, scope);
	else
		snprintf(yama, sizeof(yama), "no Yama");
	if (scope >= 0)
		value(p, scope);
	cap = read_key("/proc/self/status", "CapEff", 16, &caps) == 0 &&
	      (caps >> CAP_SYS_PTRACE_BIT) & 1;
	detail(p, "yama_scope", scope);
	detail(p, "cap_sys_ptrace", cap);

	/* a memfd, not an eventfd: anonymous inodes are all one inode, which would make
	 * any fd look like "the same file" */
	fd = memfd_fdx();
	if (fd < 0)
		return verdict(p, FDX_PROBE_ERROR, -fd, "cannot make an fd to take: %s",
			       strerror(-fd));
	r = waiter_orphan(&w);
	if (r < 0) {
		close(fd);
		return verdict(p, FDX_PROBE_ERROR, -r, "cannot fork: %s", strerror(-r));
	}
	/* a subreaper gets its orphans back: then the process is our child after all */
	back = parent_of(w.pid) == getpid();
	r = take_from(&w, fd);
	waiter_end(&w);
	close(fd);
	why = back ? " (this process is a subreaper: the test process was its child)" : "";
	if (r == 0)
		return verdict(
			p, FDX_PROBE_OK, 0,
			"%s; CAP_SYS_PTRACE %s; took an fd of a process of this user "
			"that is not a descendant%s",
			yama, cap ? "yes" : "no", why);
	if (r == -EBADFD)
		r = -EIO;
	return verdict(p, pidfd_status(r), -r,
		       "%s; CAP_SYS_PTRACE %s; cannot take an fd of a process of this user "
		       "that is not a descendant: %s%s",
		       yama, cap ? "yes" : "no", strerror(-r), why);
}

/* ---- socket options ---- */

int fdx_probe_so_peercred(struct fdx_probe *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int sv[2], r;

	start(p, FDX_PROBE_SO_PEERCRED, "so-peercred");
	r = pair(SOCK_STREAM, sv);
	if (r < 0)
		return verdict(p, FDX_PROBE_ERROR, -r, "socketpair failed: %s",
			       strerror(-r));
	r = getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len);
	r = r < 0 ? errno : 0;
	close_pair(sv);
	if (r)
		return verdict(p, r == ENOPROTOOPT ? FDX_PROBE_MISSING : FDX_PROBE_ERROR, r,
			       "getsockopt(SO_PEERCRED) failed: %s", strerror(r));
	if (cred.pid != getpid() || cred.uid != geteuid() || cred.gid != getegid())
		return verdict(p, FDX_PROBE_ERROR, 0,
			       "SO_PEERCRED names pid %d uid %u, not this process",
			       (int)cred.pid, (unsigned)cred.uid);
	return verdict(p, FDX_PROBE_OK, 0,
		       "pid, uid and gid of the peer read back (pid %d, this process)",
		       (int)cred.pid);
}

int fdx_probe_so_peerpidfd(struct fdx_probe *p)
{
	char path[64];
	int sv[2], pidfd = -1, r, flags;
	socklen_t len = sizeof(pidfd);
	int64_t pid = 0;

	start(p, FDX_PROBE_SO_PEERPIDFD, "so-peerpidfd");
	r = pair(SOCK_SEQPACKET, sv);
	if (r < 0)
		return verdict(p, FDX_PROBE_ERROR, -r, "socketpair failed: %s",
			       strerror(-r));
	r = getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len);
	r = r < 0 ? errno : 0;
	close_pair(sv);
	if (r)
		return verdict(p,
			       r == ENOPROTOOPT || r == EINVAL ? FDX_PROBE_MISSING
							       : FDX_PROBE_ERROR,
			       r, "getsockopt(SO_PEERPIDFD) refused: %s", strerror(r));
	/* the kernel says which process a pidfd is for in its fdinfo */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	r = read_key(path, "Pid", 10, &pid);
	flags = fcntl(pidfd, F_GETFD);
	close(pidfd);
	if (r < 0 || pid != getpid() || flags < 0 || !(flags & FD_CLOEXEC))
		return verdict(p, FDX_PROBE_ERROR, r < 0 ? -r : 0,
			       "a pidfd came, but not of the peer or not close-on-exec");
	return verdict(p, FDX_PROBE_OK, 0, "a pidfd of the peer (pid %d, this process)",
		       (int)pid);
}

int fdx_probe_so_passrights(struct fdx_probe *p)
{
	int sv[2], off = 0, fd, r;

	start(p, FDX_PROBE_SO_PASSRIGHTS, "so-passrights");
	r = pair(SOCK_SEQPACKET, sv);
	if (r < 0)
		return verdict(p, FDX_PROBE_ERROR, -r, "socketpair failed: %s",
			       strerror(-r));
	if (setsockopt(sv[1], SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off)) < 0) {
		r = errno;
		close_pair(sv);
		return verdict(p,
			       r == ENOPROTOOPT || r == EINVAL ? FDX_PROBE_MISSING
							       : FDX_PROBE_ERROR,
			       r, "setsockopt(SO_PASSRIGHTS) refused: %s", strerror(r));
	}
	/* accepted is not enough: an fd sent to that socket must now be refused */
	fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0) {
		r = errno;
		close_pair(sv);
		return verdict(p, FDX_PROBE_ERROR, r, "cannot make an fd to send: %s",
			       strerror(r));
	}
	r = send_fds(sv[0], fd, 1);
	if (r == 0)
		drain_fds(sv[1]);
	close(fd);
	close_pair(sv);
	if (r == 0)
		return verdict(p, FDX_PROBE_LIMITED, 0,
			       "accepted, yet an fd sent to the socket still arrived");
	if (r != -EPERM)
		return verdict(p, FDX_PROBE_ERROR, -r,
			       "accepted, but sending an fd failed oddly: %s",
			       strerror(-r));
	return verdict(p, FDX_PROBE_OK, EPERM,
		       "turned off on a socket: an fd sent to it is refused (EPERM)");
}

/* ---- devices ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir but . and .., sorted, in a malloc'ed array of malloc'ed names. */
static int list_dir(const char *dir, char ***out, size_t *n)
{
	struct dirent *de;
	char **v = NULL;
	size_t len = 0;
	int err = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char **w;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		w = realloc(v, (len + 1) * sizeof(*v));
		if (!w || !(w[len] = strdup(de->d_name))) {
			if (w)
				v = w;
			err = ENOMEM;
			break;
		}
		v = w;
		len++;
	}
	closedir(d);
	if (err) {
		for (size_t i = 0; i < len; i++)
			free(v[i]);
		free(v);
		return -err;
	}
	if (len)
		qsort(v, len, sizeof(*v), cmp_str);
	*out = v;
	*n = len;
	return 0;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int fdx_probe_dma_heaps(const char *dir, struct fdx_probe *p)
{
	char **names = NULL;
	size_t n = 0, len = 0;
	char list[FDX_PROBE_FOUND_MAX - 32];
	int r;

	start(p, FDX_PROBE_DMA_HEAPS, "dma-heap");
	r = list_dir(dir, &names, &n);
	if (r < 0)
		return verdict(p,
			       r == -ENOENT || r == -ENOTDIR ? FDX_PROBE_MISSING
			       : r == -EACCES		     ? FDX_PROBE_DENIED
							     : FDX_PROBE_ERROR,
			       -r, "%s: %s", dir,
			       r == -ENOENT ? "not there" : strerror(-r));
	value(p, (int64_t)n);
	list[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(list); i++) {
		int w = snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
				 names[i]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
	free_names(names, n);
	if (n == 0)
		return verdict(p, FDX_PROBE_MISSING, 0, "%s is empty: no heaps", dir);
	return verdict(p, FDX_PROBE_OK, 0, "%zu heap%s in %s: %s", n, n == 1 ? "" : "s",
		       dir, list);
}

int fdx_probe_dma_heap(const char *dir, const char *name, struct fdx_probe *p)
{
	struct dma_heap_allocation_data a = { 0 };
	char path[PATH_MAX];
	int fd, err;

	start(p, FDX_PROBE_DMA_HEAP, "dma-heap:%s", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		return verdict(p,
			       err == EACCES || err == EPERM ? FDX_PROBE_DENIED
			       : err == ENOENT || err == ENXIO || err == ENODEV
				       ? FDX_PROBE_MISSING
				       : FDX_PROBE_ERROR,
			       err, "cannot open %s: %s", path, strerror(err));
	}
	a.len = (uint64_t)page_size();
	a.fd_flags = O_RDWR | O_CLOEXEC;
	if (ioctl(fd, DMA_HEAP_IOCTL_ALLOC, &a) < 0) {
		err = errno;
		close(fd);
		return verdict(p,
			       err == ENOMEM		       ? FDX_PROBE_LIMITED
			       : err == EACCES || err == EPERM ? FDX_PROBE_DENIED
							       : FDX_PROBE_ERROR,
			       err,
			       "opened %s, but DMA_HEAP_IOCTL_ALLOC of one page failed: %s",
			       path, strerror(err));
	}
	close((int)a.fd);
	close(fd);
	return verdict(p, FDX_PROBE_OK, 0,
		       "opened %s; one page allocated as a DMA-BUF, and freed", path);
}

int fdx_probe_udmabuf(struct fdx_probe *p)
{
	static const char dev[] = "/dev/udmabuf";
	struct udmabuf_create c = { 0 };
	long page = page_size();
	char limit[48] = "";
	int64_t mb = -1;
	int fd, memfd, buf, err;

	start(p, FDX_PROBE_UDMABUF, "udmabuf");
	if (read_int("/sys/module/udmabuf/parameters/size_limit_mb", &mb) == 0) {
		value(p, mb);
		detail(p, "size_limit_mb", mb);
		snprintf(limit, sizeof(limit), "; size limit %" PRId64 " MiB per buffer",
			 mb);
	}
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		return verdict(p,
			       err == EACCES || err == EPERM ? FDX_PROBE_DENIED
			       : err == ENOENT || err == ENXIO || err == ENODEV
				       ? FDX_PROBE_MISSING
				       : FDX_PROBE_ERROR,
			       err, "%s: %s%s", dev,
			       err == ENOENT ? "not there" : strerror(err), limit);
	}
	/* udmabuf takes a memfd sealed against shrinking, as fdx's are */
	memfd = memfd_fdx();
	if (memfd < 0) {
		close(fd);
		return verdict(p, FDX_PROBE_ERROR, -memfd, "no sealable memfd: %s",
			       strerror(-memfd));
	}
	if (ftruncate(memfd, page) < 0 || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		err = errno;
		close(memfd);
		close(fd);
		return verdict(p, FDX_PROBE_ERROR, err, "cannot size and seal a memfd: %s",
			       strerror(err));
	}
	c.memfd = (uint32_t)memfd;
	c.flags = UDMABUF_FLAGS_CLOEXEC;
	c.size = (uint64_t)page;
	buf = ioctl(fd, UDMABUF_CREATE, &c);
	err = errno;
	close(memfd);
	close(fd);
	if (buf < 0)
		return verdict(p, FDX_PROBE_ERROR, err,
			       "opened %s, but UDMABUF_CREATE of one page failed: %s%s",
			       dev, strerror(err), limit);
	close(buf);
	return verdict(p, FDX_PROBE_OK, 0,
		       "opened %s; a one-page DMA-BUF made from a sealed memfd%s", dev,
		       limit);
}

/* ---- limits of fd passing ---- */

static void limit_text(int64_t v, char *buf, size_t cap)
{
	if (v < 0)
		snprintf(buf, cap, "unlimited");
	else
		snprintf(buf, cap, "%" PRId64, v);
}

int fdx_probe_rlimit_nofile(struct fdx_probe *p)
{
	char soft[24], hard[24];
	struct rlimit rl;
	int64_t s, h;

	start(p, FDX_PROBE_RLIMIT_NOFILE, "rlimit-nofile");
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return verdict(p, FDX_PROBE_ERROR, errno, "getrlimit failed: %s",
			       strerror(errno));
	s = rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur;
	h = rl.rlim_max == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_max;
	detail(p, "soft", s);
	detail(p, "hard", h);
	value(p, h);
	limit_text(s, soft, sizeof(soft));
	limit_text(h, hard, sizeof(hard));
	if (h >= 0 && h < (int64_t)NOFILE_NEEDED)
		return verdict(
			p, FDX_PROBE_LIMITED, 0,
			"soft %s, hard %s: below the %u fds one full message and fdx's "
			"own need",
			soft, hard, NOFILE_NEEDED);
	return verdict(p, FDX_PROBE_OK, 0, "soft %s, hard %s", soft, hard);
}

/* Send n fds and take them back off the other end; 0 or -errno of the send. */
static int try_fds(int sv[2], int fd, unsigned n)
{
	int r = send_fds(sv[0], fd, n);

	if (r == 0)
		drain_fds(sv[1]);
	return r;
}

int fdx_probe_scm_max_fd(struct fdx_probe *p)
{
	unsigned lo, hi; /* lo fds went, hi did not */
	int sv[2], fd, r, err;

	start(p, FDX_PROBE_SCM_MAX_FD, "scm-max-fd");
	r = pair(SOCK_SEQPACKET, sv);
	if (r < 0)
		return verdict(p, FDX_PROBE_ERROR, -r, "socketpair failed: %s",
			       strerror(-r));
	fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0) {
		err = errno;
		close_pair(sv);
		return verdict(p, FDX_PROBE_ERROR, err, "cannot make an fd to send: %s",
			       strerror(err));
	}
	/* the kernel's SCM_MAX_FD has been 253 for long: try it and one more first */
	r = try_fds(sv, fd, FDX_SCM_MAX_FD);
	if (r == 0) {
		lo = FDX_SCM_MAX_FD;
		hi = FDX_SCM_MAX_FD + 1;
		r = try_fds(sv, fd, hi);
		if (r == 0) {
			lo = hi;
			hi = SCM_TRY_MAX + 1;
		}
	} else {
		lo = 0;
		hi = FDX_SCM_MAX_FD;
	}
	err = r == 0 ? 0 : -r;
	/* unexpected errors (ETOOMANYREFS: this user has too many fds in flight) stop */
	while ((r == 0 || r == -EINVAL) && hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;

		r = try_fds(sv, fd, mid);
		if (r == 0)
			lo = mid;
		else if (r == -EINVAL)
			hi = mid;
		else
			err = -r;
	}
	close(fd);
	close_pair(sv);
	if (lo == 0 || (r != 0 && r != -EINVAL))
		return verdict(p, err == ETOOMANYREFS ? FDX_PROBE_LIMITED : FDX_PROBE_ERROR,
			       err, "sending fds failed: %s", strerror(err));
	value(p, lo);
	if (hi > SCM_TRY_MAX)
		return verdict(p, FDX_PROBE_OK, 0,
			       "%u fds in one sendmsg went; stopped there", lo);
	if (lo < FDX_SCM_MAX_FD)
		return verdict(p, FDX_PROBE_LIMITED, EINVAL,
			       "%u fds in one sendmsg went, %u were refused (EINVAL)", lo,
			       hi);
	return verdict(p, FDX_PROBE_OK, EINVAL,
		       "%u fds in one sendmsg went, %u were refused (EINVAL)", lo, hi);
}

int fdx_probe_seqpacket(struct fdx_probe *p)
{
	char in[16], snd_s[24], rcv_s[24];
	int sv[2], sndbuf = 0, rcvbuf = 0, err;
	socklen_t len = sizeof(int);
	int64_t wmem = -1, rmem = -1;
	ssize_t a, b;

	start(p, FDX_PROBE_SEQPACKET, "seqpacket");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		err = errno;
		return verdict(p,
			       err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT ||
					       err == EOPNOTSUPP
				       ? FDX_PROBE_MISSING
				       : FDX_PROBE_ERROR,
			       err, "socketpair(AF_UNIX, SOCK_SEQPACKET) failed: %s",
			       strerror(err));
	}
	getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
	len = sizeof(int);
	getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);
	read_int("/proc/sys/net/core/wmem_default", &wmem);
	read_int("/proc/sys/net/core/rmem_default", &rmem);
	detail(p, "sndbuf", sndbuf);
	detail(p, "rcvbuf", rcvbuf);
	detail(p, "wmem_default", wmem);
	detail(p, "rmem_default", rmem);
	value(p, sndbuf);
	/* two records must come out as two, each whole: what fdx's framing relies on */
	a = send(sv[0], "abc", 3, MSG_DONTWAIT | MSG_NOSIGNAL);
	b = send(sv[0], "defgh", 5, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (a == 3 && b == 5) {
		a = recv(sv[1], in, sizeof(in), MSG_DONTWAIT);
		b = recv(sv[1], in, sizeof(in), MSG_DONTWAIT);
	}
	err = errno;
	close_pair(sv);
	if (a != 3 || b != 5)
		return verdict(p, FDX_PROBE_ERROR, a < 0 || b < 0 ? err : 0,
			       "records of 3 and 5 bytes did not come back as sent");
	return verdict(p, FDX_PROBE_OK, 0,
		       "record boundaries kept; buffers: send %s, receive %s%s",
		       human((uint64_t)sndbuf, snd_s, sizeof(snd_s)),
		       human((uint64_t)rcvbuf, rcv_s, sizeof(rcv_s)),
		       wmem == sndbuf && rmem == rcvbuf
			       ? " (net.core.wmem_default, rmem_default)"
			       : "");
}

/* One record of n bytes from sv[0] to sv[1], received whole; 0 or -errno of the send. */
static int try_record(int sv[2], const uint8_t *out, uint8_t *in, size_t n)
{
	ssize_t got;

	if (send(sv[0], out, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	got = recv(sv[1], in, n + 1, MSG_DONTWAIT | MSG_TRUNC);
	if (got < 0)
		return -errno;
	return (size_t)got == n && memcmp(in, out, n) == 0 ? 0 : -EBADMSG;
}

int fdx_probe_data_record(int sndbuf, struct fdx_probe *p)
{
	const size_t want = DATA_RECORD;
	size_t lo = 0, hi = want;
	uint8_t *out = NULL, *in = NULL;
	int sv[2] = { -1, -1 }, r, err = 0;
	char want_s[24];

	start(p, FDX_PROBE_DATA_RECORD, "data-record");
	human(FDX_DATA_MAX, want_s, sizeof(want_s));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		err = errno;
		return verdict(p,
			       err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT
				       ? FDX_PROBE_MISSING
				       : FDX_PROBE_ERROR,
			       err, "no SOCK_SEQPACKET socket: %s", strerror(err));
	}
	if (sndbuf > 0 &&
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0) {
		err = errno;
		r = verdict(p, FDX_PROBE_ERROR, err, "SO_SNDBUF refused: %s",
			    strerror(err));
		goto out;
	}
	out = malloc(want);
	in = malloc(want + 1);
	if (!out || !in) {
		r = verdict(p, FDX_PROBE_ERROR, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < want; i++)
		out[i] = (uint8_t)(i * 31 + 7);
	r = try_record(sv, out, in, want);
	if (r == 0) {
		value(p, (int64_t)want);
		r = verdict(
			p, FDX_PROBE_OK, 0,
			"a record of %zu bytes (a DATA message with %s) sent and received "
			"whole",
			want, want_s);
		goto out;
	}
	if (r != -EMSGSIZE && r != -ENOBUFS) {
		r = verdict(p, FDX_PROBE_ERROR, -r, "a record of %zu bytes failed: %s",
			    want, strerror(-r));
		goto out;
	}
	err = -r;
	/* too large for the send buffer: find the largest record that goes */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		r = try_record(sv, out, in, mid);
		if (r == 0)
			lo = mid;
		else if (r == -EMSGSIZE || r == -ENOBUFS)
			hi = mid;
		else
			break;
	}
	if (lo > 0)
		value(p, (int64_t)lo);
	r = verdict(p, FDX_PROBE_LIMITED, err,
		    "a record of %zu bytes (a DATA message with %s) refused: %s; the "
		    "largest that goes has %zu bytes",
		    want, want_s, strerror(err), lo);
out:
	free(out);
	free(in);
	close_pair(sv);
	return r;
}

/* ---- all of them ---- */

int fdx_probe_host(struct fdx_probe_host *h)
{
	struct utsname u;

	if (uname(&u) < 0)
		return -errno;
	snprintf(h->sysname, sizeof(h->sysname), "%s", u.sysname);
	snprintf(h->release, sizeof(h->release), "%s", u.release);
	snprintf(h->machine, sizeof(h->machine), "%s", u.machine);
	return 0;
}

#define FIXED_PROBES 22u /* every call in fdx_probe_all but the heaps' */

int fdx_probe_all(struct fdx_probe_list *l)
{
	const char *heap_dir = FDX_PROBE_DMA_HEAP_DIR;
	char **heaps = NULL;
	size_t nheaps = 0, i = 0;
	struct fdx_probe *v;

	l->v = NULL;
	l->n = 0;
	/* a heap directory that cannot be read is the dma-heap probe's to report */
	if (list_dir(heap_dir, &heaps, &nheaps) < 0)
		nheaps = 0;
	v = calloc(FIXED_PROBES + nheaps, sizeof(*v));
	if (!v) {
		free_names(heaps, nheaps);
		return -ENOMEM;
	}
	fdx_probe_memfd_seals(&v[i++]);
	fdx_probe_seal_future_write(&v[i++]);
	fdx_probe_mfd_noexec_seal(&v[i++]);
	fdx_probe_memfd_noexec_sysctl(&v[i++]);
	fdx_probe_mfd_hugetlb(&v[i++]);
	fdx_probe_hugepages(&v[i++]);
	fdx_probe_dev_shm(&v[i++]);
	fdx_probe_shm_open(&v[i++]);
	fdx_probe_tmpfile("/dev/shm", &v[i++]);
	fdx_probe_tmpfile("/tmp", &v[i++]);
	fdx_probe_pidfd_open(&v[i++]);
	fdx_probe_pidfd_getfd(&v[i++]);
	fdx_probe_ptrace(&v[i++]);
	fdx_probe_so_peercred(&v[i++]);
	fdx_probe_so_peerpidfd(&v[i++]);
	fdx_probe_so_passrights(&v[i++]);
	fdx_probe_dma_heaps(heap_dir, &v[i++]);
	for (size_t k = 0; k < nheaps; k++)
		fdx_probe_dma_heap(heap_dir, heaps[k], &v[i++]);
	fdx_probe_udmabuf(&v[i++]);
	fdx_probe_rlimit_nofile(&v[i++]);
	fdx_probe_scm_max_fd(&v[i++]);
	fdx_probe_seqpacket(&v[i++]);
	fdx_probe_data_record(0, &v[i++]);
	free_names(heaps, nheaps);
	l->v = v;
	l->n = i;
	return 0;
}

void fdx_probe_list_free(struct fdx_probe_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
