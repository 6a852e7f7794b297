/* peerfd.h - file descriptors of other processes: take a copy of one (pidfd_getfd), and
 * read what /proc says an fd is */
#ifndef FDX_PEERFD_H
#define FDX_PEERFD_H

#include <stddef.h>
#include <sys/types.h>

/*
 * A pidfd of process pid (pidfd_open, Linux 5.3; close-on-exec), and a copy of its fd
 * number fd through it (pidfd_getfd, Linux 5.6; close-on-exec). Errors: -ESRCH no such
 * process; -EPERM this process may not ptrace it (another user, Yama's ptrace_scope, an
 * undumpable process); -EBADF it has no such fd; -ENOSYS the kernel lacks the calls.
 * A scan that takes many fds of one process opens its pidfd once.
 */
int fdx_pidfd_open(pid_t pid, int *pidfd);
int fdx_pidfd_getfd(int pidfd, int fd, int *out);

/* Both at once, for one fd. */
int fdx_peerfd_take(pid_t pid, int fd, int *out);

/* What /proc/self/fd/FD links to ("/memfd:NAME (deleted)", a path, "pipe:[123]"). */
int fdx_fd_target(int fd, char *buf, size_t cap);

/*
 * The NAME of a memfd target "/memfd:NAME (deleted)" into buf, or NULL for a target that
 * is not a memfd.
 */
const char *fdx_memfd_name(const char *target, char *buf, size_t cap);

#endif
