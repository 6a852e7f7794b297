/* channel.c - AF_UNIX SOCK_SEQPACKET endpoints and one-message-with-fds send/receive */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel.h"
#include "codec.h"
#include "macro.h"

void fdx_close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int private_dir(const char *dir, bool create)
{
	struct stat st;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	/* someone else's directory, or one others can enter, could hand us their socket */
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

int fdx_default_socket_path(char *buf, size_t cap, bool create)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char dir[64];
	int n;

	if (xdg && xdg[0] == '/') {
		n = snprintf(buf, cap, "%s/fdx.sock", xdg);
		return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/fdx-%u", (unsigned)geteuid());
	if (create || access(dir, F_OK) == 0) {
		int r = private_dir(dir, create);

		if (r < 0)
			return r;
	}
	n = snprintf(buf, cap, "%s/fdx.sock", dir);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* A SEQPACKET socket and the address for path; never a silently truncated path. */
static int open_socket(const char *path, struct sockaddr_un *sa)
{
	size_t len = strlen(path);
	int fd;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, len);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/*
 * Is some process listening on path? /proc/net/unix lists bound sockets with their
 * flags; __SO_ACCEPTCON (1 << 16) marks a listener. Reading it does not disturb a live
 * server the way a probing connect() would (it would count us as a client).
 */
static bool has_listener(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		unsigned long flags;
		char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
		int pos = 0;

		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags, &pos) < 1 ||
		    pos == 0)
			continue;
		snprintf(name, sizeof(name), "%s", line + pos);
		name[strcspn(name, "\n")] = '\0';
		found = (flags & (1ul << 16)) && strcmp(name, path) == 0;
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * PATH.lock, locked for as long as the server lives: whoever holds it owns PATH, however
 * PATH is spelled. It is left in place at exit, since unlinking a lock file races with a
 * process that has just opened it.
 */
static int take_lock(const char *path)
{
	char lock[PATH_MAX];
	int fd;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return -ENAMETOOLONG;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;

		close(fd);
		return r;
	}
	return fd;
}

int fdx_channel_listen(const char *path, int *out_fd, int *out_lock_fd)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, lock, r;

	fd = open_socket(path, &sa);
	if (fd < 0)
		return fd;
	lock = take_lock(path);
	if (lock < 0) {
		close(fd);
		return lock;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (r != -EADDRINUSE)
			goto fail;
		/*
		 * We hold the lock, so no fdx server owns the file. Still, replace only a
		 * socket that nothing listens on (another program's, say), never a file.
		 */
		if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || has_listener(path))
			goto fail;
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			goto fail;
		}
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (listen(fd, 16) < 0) {
		r = -errno;
		unlink(path);
		goto fail;
	}
	*out_fd = fd;
	*out_lock_fd = lock;
	return 0;
fail:
	close(lock);
	close(fd);
	return r;
}

int fdx_channel_accept(int listen_fd, int *out_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return -errno;
	*out_fd = fd;
	return 0;
}

int fdx_channel_connect(const char *path, int *out_fd)
{
	struct sockaddr_un sa;
	int fd, r;

	fd = open_socket(path, &sa);
	if (fd < 0)
		return fd;
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*out_fd = fd;
	return 0;
}

int fdx_channel_peer_pid(int fd, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	*pid = cred.pid;
	return 0;
}

int fdx_channel_send(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FDX_MAX_PLANES)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char *big = NULL;
	ssize_t n;

	if (nfds > FDX_SCM_MAX_FD)
		return -EINVAL;
	if (nfds > 0) {
		size_t space = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c;

		msg.msg_control = ctl.buf;
		if (space > sizeof(ctl.buf)) {
			big = calloc(1, space);
			if (!big)
				return -ENOMEM;
			msg.msg_control = big;
		} else {
			memset(ctl.buf, 0, sizeof(ctl.buf));
		}
		msg.msg_controllen = space;
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	/* MSG_NOSIGNAL: a vanished peer is an -EPIPE to report, not a SIGPIPE to die of */
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(big);
	if (n < 0)
		return -errno;
	/* a SEQPACKET record goes whole or not at all */
	return (size_t)n == len ? 0 : -EIO;
}

/* After MSG_CTRUNC: tell "peer sent too many" from "we are out of fds". */
static int ctrunc_cause(int sock)
{
	int probe = fcntl(sock, F_DUPFD_CLOEXEC, 0);

	if (probe < 0)
		return errno == EMFILE ? -EMFILE : -ENOBUFS;
	close(probe);
	return -ENOBUFS;
}

ssize_t fdx_channel_recv(int fd, void *buf, size_t cap, int *fds, unsigned max_fds,
			 unsigned *nfds)
{
	union {
		struct cmsghdr align;
		/*
		 * Sized with CMSG_SPACE(max): the padding after the last slot could admit
		 * an extra fd without MSG_CTRUNC, so the count is checked again below.
		 */
		char buf[CMSG_SPACE(sizeof(int) * FDX_SCM_MAX_FD)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = CMSG_SPACE(sizeof(int) * (max_fds ? max_fds : 1)),
	};
	unsigned got = 0;
	int extra[FDX_SCM_MAX_FD];
	unsigned nextra = 0;
	bool bad_cmsg = false;
	ssize_t n;

	*nfds = 0;
	if (max_fds > FDX_SCM_MAX_FD)
		return -EINVAL;
	if (max_fds == 0)
		msg.msg_controllen = CMSG_SPACE(sizeof(int)); /* still catch stray fds */
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			bad_cmsg = true;
			continue;
		}
		unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (unsigned i = 0; i < k; i++) {
			int v;

			memcpy(&v, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max_fds)
				fds[got++] = v;
			else if (nextra < FDX_SCM_MAX_FD)
				extra[nextra++] = v;
			else
				close(v);
		}
	}
	/* an empty record looks like the end of the stream, but may carry fds: refuse it */
	if ((msg.msg_flags & MSG_CTRUNC) || nextra || bad_cmsg ||
	    (msg.msg_flags & MSG_TRUNC) || (n == 0 && got)) {
		int r = (msg.msg_flags & MSG_CTRUNC) ? ctrunc_cause(fd)
			: nextra		     ? -ENOBUFS
			: bad_cmsg		     ? -EPROTO
			: n == 0		     ? -ENODATA
						     : -EMSGSIZE;

		fdx_close_fds(fds, got);
		fdx_close_fds(extra, nextra);
		return r;
	}
	*nfds = got;
	return n;
}

int fdx_channel_sendv(int fd, const void *head, size_t headlen, const void *data,
		      size_t datalen)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)head, .iov_len = headlen },
		{ .iov_base = (void *)data, .iov_len = datalen },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == headlen + datalen ? 0 : -EIO;
}

ssize_t fdx_channel_peek(int fd, void *buf, size_t len)
{
	ssize_t n;

	/* MSG_TRUNC: the record's whole length, though only len bytes are copied */
	do
		n = recv(fd, buf, len, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t fdx_channel_recv_into(int fd, void *head, size_t headlen, void *data,
			      size_t datalen)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FDX_MAX_PLANES)];
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = head, .iov_len = headlen },
		{ .iov_base = data, .iov_len = datalen },
	};
	struct msghdr msg = { .msg_iov = iov,
			      .msg_iovlen = 2,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	bool fds = false;
	ssize_t n;

	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* DATA never carries fds: whatever came is closed and the record refused */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int v;

			memcpy(&v, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(v);
			fds = true;
		}
	}
	if (fds || (msg.msg_flags & MSG_CTRUNC))
		return -ENOBUFS;
	if ((msg.msg_flags & MSG_TRUNC) || (size_t)n != headlen + datalen)
		return -EMSGSIZE;
	return n;
}
