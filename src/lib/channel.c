/* channel.c - AF_UNIX SOCK_SEQPACKET endpoints and one-message-with-fds send/receive */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
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

const char *fdx_transport_name(unsigned transport)
{
	return transport == FDX_TRANSPORT_STREAM ? "stream" : "seqpacket";
}

int fdx_transport_from_name(const char *name)
{
	if (!strcmp(name, "seqpacket"))
		return FDX_TRANSPORT_SEQPACKET;
	if (!strcmp(name, "stream"))
		return FDX_TRANSPORT_STREAM;
	return -EINVAL;
}

bool fdx_channel_is_abstract(const char *path)
{
	return path[0] == '@';
}

/*
 * A socket of the transport and the address for path; never a silently truncated path.
 * "@NAME" is NAME in the abstract namespace: sun_path[0] is 0, and the address is only as
 * long as the name (no trailing NUL), which *salen says.
 */
static int open_socket(const char *path, unsigned transport, struct sockaddr_un *sa,
		       socklen_t *salen)
{
	size_t len = strlen(path);
	int fd;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len == 0 || (fdx_channel_is_abstract(path) && len == 1))
		return -EINVAL;
	if (len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, len);
	*salen = sizeof(*sa);
	if (fdx_channel_is_abstract(path)) {
		sa->sun_path[0] = '\0';
		*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	}
	fd = socket(AF_UNIX,
		    (transport == FDX_TRANSPORT_STREAM ? SOCK_STREAM : SOCK_SEQPACKET) |
			    SOCK_CLOEXEC,
		    0);
	return fd < 0 ? -errno : fd;
}

/*
 * Does a live server answer at path? A probing connect(): refused means nobody listens;
 * a server of either transport (EPROTOTYPE for the other) or a full backlog means one
 * does. It costs that server a connection that closes at once, which beats unlinking
 * its socket.
 */
static bool answers(const char *path, unsigned transport)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int fd = open_socket(path, transport, &sa, &salen), r;

	if (fd < 0)
		return true; /* cannot tell: leave the socket alone */
	do
		r = connect(fd, (struct sockaddr *)&sa, salen);
	while (r < 0 && errno == EINTR);
	r = r < 0 ? errno : 0;
	close(fd);
	return r != ECONNREFUSED && r != ENOENT;
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
	return fdx_channel_listen_on(path, FDX_TRANSPORT_SEQPACKET, out_fd, out_lock_fd);
}

int fdx_channel_listen_on(const char *path, unsigned transport, int *out_fd,
			  int *out_lock_fd)
{
	struct sockaddr_un sa;
	socklen_t salen;
	struct stat st;
	int fd, lock, r;

	fd = open_socket(path, transport, &sa, &salen);
	if (fd < 0)
		return fd;
	/* an abstract name is the kernel's to guard: bound once, gone with its socket */
	if (fdx_channel_is_abstract(path)) {
		if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, 16) < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		*out_fd = fd;
		*out_lock_fd = -1;
		return 0;
	}
	lock = take_lock(path);
	if (lock < 0) {
		close(fd);
		return lock;
	}
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
		r = -errno;
		if (r != -EADDRINUSE)
			goto fail;
		/*
		 * We hold the lock, so no fdx server owns the file. Still, replace only a
		 * socket that nothing listens on (another program's, say), never a file:
		 * what /proc/net/unix says, and then whether anything answers there (a
		 * listener that bound another spelling of the path is not found by name).
		 */
		if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || has_listener(path) ||
		    answers(path, transport))
			goto fail;
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			goto fail;
		}
		if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
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
	return fdx_channel_connect_to(path, FDX_TRANSPORT_SEQPACKET, out_fd);
}

int fdx_channel_connect_to(const char *path, unsigned transport, int *out_fd)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int fd, r;

	fd = open_socket(path, transport, &sa, &salen);
	if (fd < 0)
		return fd;
	do
		r = connect(fd, (struct sockaddr *)&sa, salen);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*out_fd = fd;
	return 0;
}

int fdx_channel_peer_uid(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	*uid = cred.uid;
	return 0;
}

#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83 /* Linux 6.16; older headers lack it */
#endif

int fdx_channel_refuse_fds(int fd)
{
	int off = 0;

	if (setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off)) < 0)
		return -errno;
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

/* One sendmsg of buf with nfds fds, MSG_NOSIGNAL, EINTR retried; *sent says how much went.
 */
static int send_first(int fd, const void *buf, size_t len, const int *fds, unsigned nfds,
		      size_t *sent)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FDX_MAX_PLANES)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char *big = NULL;
	ssize_t n;

	*sent = 0;
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
	*sent = (size_t)n;
	return 0;
}

int fdx_channel_send(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	size_t sent;
	int r = send_first(fd, buf, len, fds, nfds, &sent);

	/* a SEQPACKET record goes whole or not at all */
	return r < 0 ? r : sent == len ? 0 : -EIO;
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

/* ---- SOCK_STREAM framing ---- */

void fdx_stream_rx_init(struct fdx_stream_rx *rx)
{
	rx->len = 0;
	rx->consumed = 0;
	rx->nq = 0;
	rx->broken = false;
}

void fdx_stream_rx_release(struct fdx_stream_rx *rx)
{
	for (unsigned i = 0; i < rx->nq; i++)
		close(rx->q[i].fd);
	rx->nq = 0;
}

int fdx_stream_send(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	const uint8_t *p = buf;
	size_t sent = 0;
	int r;

	/* the fds ride on the first byte: the first call carries them, the rest never */
	r = send_first(fd, p, len, fds, nfds, &sent);
	while (r == 0 && sent < len) {
		ssize_t n = send(fd, p + sent, len - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		sent += (size_t)n;
	}
	return r;
}

/* Read what the socket has into rx, queueing the fds that come with it. */
static ssize_t stream_fill(int fd, struct fdx_stream_rx *rx)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FDX_SCM_MAX_FD)];
	} ctl;
	struct iovec iov = { .iov_base = rx->buf + rx->len,
			     .iov_len = sizeof(rx->buf) - rx->len };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	uint64_t from = rx->consumed + rx->len;
	bool overflow = false, bad_cmsg = false;
	ssize_t n;

	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			bad_cmsg = true;
			continue;
		}
		for (size_t i = 0; i < k; i++) {
			int v;

			memcpy(&v, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (rx->nq == FDX_STREAM_FDQ_MAX) {
				close(v);
				overflow = true;
				continue;
			}
			rx->q[rx->nq++] = (struct fdx_stream_fd){
				.fd = v, .from = from, .to = from + (uint64_t)n
			};
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		return ctrunc_cause(fd);
	if (overflow || bad_cmsg)
		return overflow ? -ENOBUFS : -EPROTO;
	rx->len += (size_t)n;
	return n;
}

/*
 * The fds of the message at stream bytes [start, end). A read stops right after the part
 * of a sendmsg that carried fds, and fds ride on a sendmsg's first part: so the fds of a
 * read belong to the last message that starts within it -- to this one when it starts
 * in that read and ends at or after its end. All of those are handed over (the decoder
 * compares their count with the header's); fds read before start belonged to a message
 * that claimed none.
 */
static int stream_take_fds(struct fdx_stream_rx *rx, uint64_t start, uint64_t end, int *fds,
			   unsigned max_fds, unsigned *got)
{
	unsigned k = 0, n = 0;

	*got = 0;
	for (unsigned i = 0; i < rx->nq; i++) {
		if (rx->q[i].to <= start)
			return -EBADFD;
		if (rx->q[i].from <= start && start < rx->q[i].to && rx->q[i].to <= end)
			n++;
	}
	if (n > max_fds)
		return -ENOBUFS;
	for (unsigned i = 0; i < rx->nq; i++) {
		if (rx->q[i].from <= start && start < rx->q[i].to && rx->q[i].to <= end)
			fds[(*got)++] = rx->q[i].fd;
		else
			rx->q[k++] = rx->q[i];
	}
	rx->nq = k;
	return 0;
}

ssize_t fdx_stream_recv(int fd, struct fdx_stream_rx *rx, void *buf, size_t cap, int *fds,
			unsigned max_fds, unsigned *nfds)
{
	struct fdx_hdr h;
	size_t total = 0;
	ssize_t n;
	int r;

	*nfds = 0;
	if (rx->broken)
		return -EPROTO;
	for (;;) {
		if (rx->len >= FDX_HDR_SIZE) {
			/*
			 * A header that cannot be trusted (another magic or version, a
			 * length beyond any message) cannot frame the stream: hand its
			 * bytes on as the message, for the decoder to say what is wrong,
			 * and read no further.
			 */
			if (fdx_hdr_decode(rx->buf, rx->len, &h) < 0 ||
			    h.type == FDX_MSG_DATA) {
				if (cap < FDX_HDR_SIZE) {
					r = -EMSGSIZE;
					goto fail_r;
				}
				memcpy(buf, rx->buf, FDX_HDR_SIZE);
				fdx_stream_rx_release(rx);
				rx->broken = true;
				return FDX_HDR_SIZE;
			}
			total = FDX_HDR_SIZE + h.length;
			if (rx->len >= total)
				break;
		}
		n = stream_fill(fd, rx);
		if (n < 0) {
			r = (int)n;
			goto fail_r;
		}
		if (n == 0) {
			if (rx->len == 0 && rx->nq == 0)
				return 0;
			/* bytes or fds of a message that never ended */
			r = rx->len ? -EPIPE : -EBADFD;
			goto fail_r;
		}
	}
	if (total > cap) {
		r = -EMSGSIZE;
		goto fail_r;
	}
	r = stream_take_fds(rx, rx->consumed, rx->consumed + total, fds, max_fds, nfds);
	if (r < 0)
		goto fail_r;
	memcpy(buf, rx->buf, total);
	memmove(rx->buf, rx->buf + total, rx->len - total);
	rx->len -= total;
	rx->consumed += total;
	return (ssize_t)total;
fail_r:
	/* the stream cannot be trusted any more: nothing it brought stays open */
	fdx_stream_rx_release(rx);
	rx->broken = true;
	return r;
}
