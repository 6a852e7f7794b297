/* channel.h - UNIX socket endpoints: listen, accept, connect, one message with its fds */
#ifndef FDX_CHANNEL_H
#define FDX_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Fill buf with the default socket path: $XDG_RUNTIME_DIR/fdx.sock when that variable
 * names an absolute directory, else /tmp/fdx-UID/fdx.sock. With create, the /tmp
 * directory is made 0700 if missing and refused (-EPERM) if it is not a directory owned
 * by this user with no access for others. -ENAMETOOLONG if it does not fit.
 */
int fdx_default_socket_path(char *buf, size_t cap, bool create);

/*
 * Bind and listen on a SOCK_SEQPACKET socket at path, holding PATH.lock (flock) as proof
 * of ownership: close *out_lock_fd only when done with the socket. While another server
 * holds the lock, or a foreign process listens on path, -EADDRINUSE. A socket file left
 * by a dead server is replaced. Paths that do not fit sun_path give -ENAMETOOLONG, never
 * a truncated bind.
 */
int fdx_channel_listen(const char *path, int *out_fd, int *out_lock_fd);

/* Accept one connection, CLOEXEC. -EINTR is returned, not retried, so signals stop it. */
int fdx_channel_accept(int listen_fd, int *out_fd);

/* Connect to path; -ENOENT / -ECONNREFUSED when nothing listens there. */
int fdx_channel_connect(const char *path, int *out_fd);

/* pid of the peer from SO_PEERCRED, or -errno. */
int fdx_channel_peer_pid(int fd, pid_t *pid);

/*
 * Send one message with nfds fds (at most FDX_SCM_MAX_FD) as one record, MSG_NOSIGNAL,
 * EINTR retried. Returns 0; -EPIPE / -ECONNRESET when the peer is gone.
 */
int fdx_channel_send(int fd, const void *buf, size_t len, const int *fds, unsigned nfds);

/*
 * Receive one record into buf and up to max_fds fds (CLOEXEC) into fds; *nfds says how
 * many came. Returns the byte count; 0 means the peer closed the connection. On any
 * failure no fd is left open. Errors:
 *   -EMSGSIZE  the record was longer than cap (MSG_TRUNC)
 *   -ENOBUFS   control data truncated: the peer sent more fds than max_fds
 *   -EMFILE    control data truncated because this process is out of fds
 *   -EPROTO    control message of an unexpected kind
 *   -ENODATA   an empty record that carried fds (an empty record without is the end)
 *   other      from recvmsg
 */
ssize_t fdx_channel_recv(int fd, void *buf, size_t cap, int *fds, unsigned max_fds,
			 unsigned *nfds);

/*
 * Copy streams (DATA). Send head and data as one record, no fds. Peek at the first len
 * bytes of the next record without taking it, and without a control buffer (peeking
 * with one would install the fds twice); returns the record's full length. Receive the
 * next record as head then data, refusing any fd (-ENOBUFS, all closed) and records of
 * another length (-EMSGSIZE).
 */
int fdx_channel_sendv(int fd, const void *head, size_t headlen, const void *data,
		      size_t datalen);
ssize_t fdx_channel_peek(int fd, void *buf, size_t len);
ssize_t fdx_channel_recv_into(int fd, void *head, size_t headlen, void *data,
			      size_t datalen);

/* Close every fd of an array and set the slots to -1. */
void fdx_close_fds(int *fds, unsigned n);

#endif
