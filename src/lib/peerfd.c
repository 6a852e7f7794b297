/* peerfd.c - file descriptors of other processes: take a copy of one (pidfd_getfd), and
 * read what /proc says an fd is */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "peerfd.h"

/* glibc has wrappers only from 2.36; the system calls themselves are older */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int fdx_pidfd_open(pid_t pid, int *pidfd)
{
	int fd;

	if (pid <= 0)
		return -ESRCH;
	/* a pidfd is close-on-exec without asking */
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	*pidfd = fd;
	return 0;
}

int fdx_pidfd_getfd(int pidfd, int fd, int *out)
{
	int got;

	if (fd < 0)
		return -EBADF;
	/* the fd it returns is close-on-exec too (the call sets it, no flag needed) */
	got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (got < 0)
		return -errno;
	*out = got;
	return 0;
}

int fdx_peerfd_take(pid_t pid, int fd, int *out)
{
	int pidfd = -1, r;

	if (fd < 0)
		return -EBADF;
	r = fdx_pidfd_open(pid, &pidfd);
	if (r < 0)
		return r;
	r = fdx_pidfd_getfd(pidfd, fd, out);
	close(pidfd);
	return r;
}

int fdx_fd_target(int fd, char *buf, size_t cap)
{
	char link[64];
	ssize_t n;

	if (cap == 0)
		return -EINVAL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, cap - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

const char *fdx_memfd_name(const char *target, char *buf, size_t cap)
{
	static const char prefix[] = "/memfd:", suffix[] = " (deleted)";
	size_t len;

	if (strncmp(target, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	target += sizeof(prefix) - 1;
	len = strlen(target);
	/* a memfd has no directory entry, so /proc always calls it deleted */
	if (len >= sizeof(suffix) - 1 &&
	    strcmp(target + len - (sizeof(suffix) - 1), suffix) == 0)
		len -= sizeof(suffix) - 1;
	if (len >= cap)
		return NULL;
	memcpy(buf, target, len);
	buf[len] = '\0';
	return buf;
}
