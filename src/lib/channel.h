/* channel.h - UNIX socket endpoints: listen, accept, connect, one message with its fds */
#ifndef FDX_CHANNEL_H
#define FDX_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"

/*
 * Fill buf with the default socket path: $XDG_RUNTIME_DIR/fdx.sock when that variable
 * names an absolute directory, else /tmp/fdx-UID/fdx.sock. With create, the /tmp
 * directory is made 0700 if missing and refused (-EPERM) if it is not a directory owned
 * by this user with no access for others. -ENAMETOOLONG if it does not fit.
 */
int fdx_default_socket_path(char *buf, size_t cap, bool create);

/*
 * Transports. SEQPACKET keeps record boundaries, so a message and its fds arrive
 * together. STREAM (as TI's demo uses) carries the same messages back to back: the
 * receiver frames them by the header's length and keeps the fds that arrive in a queue,
 * handing each message the fds that came with its first byte.
 */
enum fdx_transport {
	FDX_TRANSPORT_SEQPACKET = 0,
	FDX_TRANSPORT_STREAM = 1,
};

const char *fdx_transport_name(unsigned transport);
/* FDX_TRANSPORT_* of "seqpacket" or "stream", or -EINVAL. */
int fdx_transport_from_name(const char *name);

/* fdx_channel_listen() and fdx_channel_connect() for either transport. */
int fdx_channel_listen_on(const char *path, unsigned transport, int *out_fd,
			  int *out_lock_fd);
int fdx_channel_connect_to(const char *path, unsigned transport, int *out_fd);

/*
 * Bind and listen on a SOCK_SEQPACKET socket at path, holding PATH.lock (flock) as proof
 * of ownership: close *out_lock_fd only when done with the socket (-1 for "@NAME", an
 * abstract name, which the kernel guards itself: bound again it gives -EADDRINUSE). While
 * another server holds the lock, or a foreign process listens on path, -EADDRINUSE. A
 * socket file left by a dead server is replaced. Paths that do not fit sun_path give
 * -ENAMETOOLONG, never a truncated bind.
 */
int fdx_channel_listen(const char *path, int *out_fd, int *out_lock_fd);

/* Accept one connection, CLOEXEC. -EINTR is returned, not retried, so signals stop it. */
int fdx_channel_accept(int listen_fd, int *out_fd);

/* Connect to path; -ENOENT / -ECONNREFUSED when nothing listens there. */
int fdx_channel_connect(const char *path, int *out_fd);

/* uid of the peer from SO_PEERCRED (fixed when it connected), or -errno. */
int fdx_channel_peer_uid(int fd, uid_t *uid);

/*
 * Have the kernel refuse fds that the peer sends on this connection (SO_PASSRIGHTS off,
 * Linux 6.16): its sendmsg fails with EPERM. For a side that never takes fds, such as a
 * producer. -ENOPROTOOPT (or -EINVAL) on kernels without it.
 */
int fdx_channel_refuse_fds(int fd);

/* "@NAME": a name in the abstract namespace, without a file or its permissions. */
bool fdx_channel_is_abstract(const char *path);

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

/*
 * SOCK_STREAM framing. A message is sent with its fds on the first sendmsg; a short
 * write continues without them (fds are sent once, with the first byte). The receiver
 * reads what is there into rx and queues every fd that comes, noting the bytes of the
 * stream read with it. A read ends right after the part of a sendmsg that carried fds,
 * so its fds belong to the last message starting in it: that message gets them (and the
 * decoder compares their count with its header's); an fd read with the bytes of a
 * message that claimed none is a protocol error.
 */
#define FDX_STREAM_RX_BYTES (2 * FDX_MSG_MAX) /* room for two of the largest messages */
#define FDX_STREAM_FDQ_MAX  16u		      /* queued fds before the peer is cut off */

struct fdx_stream_fd {
	int fd;
	uint64_t from, to; /* the stream bytes [from, to) read along with it */
};

struct fdx_stream_rx {
	uint8_t buf[FDX_STREAM_RX_BYTES];
	size_t len;	   /* bytes in buf, from the start of the next message */
	uint64_t consumed; /* stream offset of buf[0] */
	struct fdx_stream_fd q[FDX_STREAM_FDQ_MAX];
	unsigned nq;
	bool broken; /* framing was lost: every later receive fails */
};

void fdx_stream_rx_init(struct fdx_stream_rx *rx);
/* Close the fds still queued. */
void fdx_stream_rx_release(struct fdx_stream_rx *rx);

int fdx_stream_send(int fd, const void *buf, size_t len, const int *fds, unsigned nfds);

/*
 * Receive one whole message into buf (the header's length says how long it is) and the
 * fds that came with it into fds (CLOEXEC; *nfds says how many: not the header's count
 * when the peer sent another number, which the decoder refuses). Returns the byte count;
 * 0 when the peer closed the connection between messages. A header that cannot frame
 * the stream (another magic or major version, a length beyond any message, DATA) is
 * returned alone, its 24 bytes, for the decoder to refuse; every later call then fails
 * with -EPROTO. On failure no fd is left open, queued or not:
 *   -EPIPE       closed in the middle of a message
 *   -EMSGSIZE    longer than cap
 *   -EBADFD      an earlier message left fds it did not claim (or they came alone)
 *   -ENOBUFS     more fds queued than FDX_STREAM_FDQ_MAX, or more than max_fds came
 *                with one message
 *   -EMFILE      control data truncated: this process is out of fds
 *   -EPROTO      the stream was given up earlier
 *   other        from recvmsg
 */
ssize_t fdx_stream_recv(int fd, struct fdx_stream_rx *rx, void *buf, size_t cap, int *fds,
			unsigned max_fds, unsigned *nfds);

/* Close every fd of an array and set the slots to -1. */
void fdx_close_fds(int *fds, unsigned n);

#endif
