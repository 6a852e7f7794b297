/* session.h - the protocol state machines of a producer and a consumer over one channel */
#ifndef FDX_SESSION_H
#define FDX_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "channel.h"
#include "codec.h"
#include "macro.h"

/*
 * A session is one connection. The server side speaks first: it sends HELLO and the
 * client answers with its own. Then the producer sends OBJECT messages one at a time,
 * each answered by an OBJECT_ACK (stop-and-wait, so neither side's socket queue can
 * fill and deadlock), the last flagged FDX_HF_LAST. The consumer then sends BYE and the
 * producer answers BYE. Either side may send ERROR instead and close.
 *
 * Every call checks that its message is legal in the current state, numbers what it
 * sends and checks the numbers of what it receives. On failure the call returns -errno
 * and fdx_session_error() says what went wrong in words; the session is then finished.
 * fds that arrive on a rejected message are closed before the call returns.
 */

enum fdx_session_state {
	FDX_SS_HELLO,	   /* nothing exchanged yet */
	FDX_SS_OBJECTS,	   /* producer may send / consumer expects an OBJECT */
	FDX_SS_ACK,	   /* an OBJECT is out, its ACK due */
	FDX_SS_BYE,	   /* objects done: consumer sends BYE, producer expects it */
	FDX_SS_BYE_REPLY,  /* consumer awaits the producer's BYE / producer must send it */
	FDX_SS_FRAMES,	   /* stream: READY from the producer, RELEASE from the consumer */
	FDX_SS_STREAM_END, /* producer ended the stream with BYE, awaits the consumer's */
	FDX_SS_DONE,
	FDX_SS_FAILED,
};

/* Called for every message sent (sent = true) or received and decoded. */
typedef void (*fdx_trace_fn)(void *ctx, bool sent, const struct fdx_msg *m);

struct fdx_session {
	int fd;		/* the connection; not owned */
	unsigned state; /* enum fdx_session_state */
	bool server;	/* speaks first */
	bool greeted;	/* server: its HELLO is out */
	bool last_sent; /* producer: the object out (or acked) was the last one */
	uint32_t seq_out;
	uint32_t seq_in;
	uint32_t next_index; /* index of the next OBJECT to send or receive */
	struct fdx_hello local;
	struct fdx_hello peer; /* valid after the handshake */
	uint8_t peer_major;    /* protocol version of the peer's HELLO */
	uint8_t peer_minor;
	uint32_t peer_error; /* code of an ERROR the peer sent, 0 if none */
	fdx_trace_fn trace;
	void *trace_ctx;
	bool want_stream;  /* producer: flag the last OBJECT with FDX_HF_STREAM */
	bool stream;	   /* the object set is followed by a stream of frames */
	bool copy;	   /* the objects are copy buffers: frames travel in DATA */
	uint32_t nbuffers; /* FRAMES: the ring, one buffer per object */
	uint32_t inflight; /* FRAMES: buffers between READY and RELEASE */
	struct fdx_ring_slot
		*slots;	     /* FRAMES: per buffer; freed by fdx_session_cleanup() */
	unsigned timeout_ms; /* longest wait for the peer, 0 = none: fdx_session_set_timeout
			      */
	unsigned transport;  /* enum fdx_transport */
	struct fdx_stream_rx *rx; /* STREAM: framing and fd queue; freed by cleanup */
	char err[256];
};

struct fdx_ring_slot {
	bool out;	 /* between READY and RELEASE */
	uint64_t frame;	 /* the frame READY announced */
	uint8_t *dst;	 /* copy streams, consumer: its own memory for this buffer */
	uint64_t size;	 /* copy streams: bytes of the buffer */
	uint64_t filled; /* copy streams: bytes received so far for the next frame */
};

/* local.role says which machine runs; server says who greets first. */
void fdx_session_init(struct fdx_session *s, int fd, bool server,
		      const struct fdx_hello *local);

/*
 * Speak over a SOCK_STREAM connection instead of SEQPACKET (before the handshake):
 * messages are framed by their length and fds taken from a queue (see channel.h).
 * Copy streams (DATA) need SEQPACKET and are refused. 0 or -ENOMEM.
 */
int fdx_session_set_transport(struct fdx_session *s, unsigned transport) _must_check_;

/*
 * Bound every wait for the peer to ms milliseconds (0: wait as long as it takes): a
 * message that does not come, or does not come whole, and a peer that does not read
 * what is sent fail the call with -ETIMEDOUT. Sets SO_RCVTIMEO and SO_SNDTIMEO on the
 * connection. 0 or -errno.
 */
int fdx_session_set_timeout(struct fdx_session *s, unsigned ms) _must_check_;

/*
 * True when bytes of the peer's next message are already read (a stream connection
 * reads ahead): a caller that polls the socket must not wait for it to become readable
 * before receiving them.
 */
bool fdx_session_buffered(const struct fdx_session *s);

/* Exchange HELLOs; refuses a peer of the same role or another major version. */
int fdx_session_handshake(struct fdx_session *s) _must_check_;

/*
 * The handshake in two halves, for an event loop: greet sends the server's HELLO (a
 * client sends nothing yet); meet receives the peer's, checks it, and for a client
 * answers with its own. Same checks and errors as fdx_session_handshake().
 */
int fdx_session_greet(struct fdx_session *s) _must_check_;
int fdx_session_meet(struct fdx_session *s) _must_check_;

/* Producer: send one OBJECT with its fds (index is set from the session), then its ACK. */
int fdx_session_send_object(struct fdx_session *s, struct fdx_object *o, const int *fds,
			    unsigned nfds, bool last) _must_check_;
int fdx_session_recv_ack(struct fdx_session *s, struct fdx_object_ack *ack) _must_check_;

/*
 * Consumer: receive the next OBJECT. fds must have room for FDX_MAX_PLANES; on success
 * the caller owns *nfds fds there, and *last tells whether more will follow.
 */
int fdx_session_recv_object(struct fdx_session *s, struct fdx_object *o, int *fds,
			    unsigned *nfds, bool *last) _must_check_;
/* ack->index is ignored: the ACK always answers the OBJECT received last. */
int fdx_session_send_ack(struct fdx_session *s,
			 const struct fdx_object_ack *ack) _must_check_;

/* Both: the closing BYEs, in the order described above. */
int fdx_session_send_bye(struct fdx_session *s, const struct fdx_bye *bye) _must_check_;
int fdx_session_recv_bye(struct fdx_session *s, struct fdx_bye *bye) _must_check_;

/*
 * The stream of frames (FDX_CAP_STREAM on both sides; the producer sets want_stream
 * before its last OBJECT). Each object is a buffer of the ring. The producer sends
 * READY(buffer, frame) for a buffer it holds and filled, the consumer answers
 * RELEASE(buffer, frame, verdict) when done with it; a buffer is never announced twice
 * before its RELEASE. The producer ends the stream with BYE once every buffer is back,
 * and the consumer answers BYE.
 */
int fdx_session_send_ready(struct fdx_session *s, uint32_t buffer,
			   uint64_t frame) _must_check_;
int fdx_session_recv_release(struct fdx_session *s, struct fdx_release *rel) _must_check_;
/* Consumer: the next READY, or the producer's BYE (*ended set) that ends the stream. */
int fdx_session_recv_frame(struct fdx_session *s, struct fdx_ready *ready, bool *ended,
			   struct fdx_bye *bye) _must_check_;
int fdx_session_send_release(struct fdx_session *s,
			     const struct fdx_release *rel) _must_check_;

/*
 * Copy streams (objects of backend FDX_BACKEND_COPY, both sides with FDX_CAP_COPY): the
 * frame's bytes travel in DATA messages before its READY, in order from offset 0, at
 * most FDX_DATA_MAX each; the consumer receives them straight into the memory it named
 * with fdx_session_copy_target() and checks that a READY follows a complete buffer.
 */
int fdx_session_send_data(struct fdx_session *s, uint32_t buffer, const void *bytes,
			  uint64_t size) _must_check_;
int fdx_session_copy_target(struct fdx_session *s, uint32_t buffer, uint8_t *dst,
			    uint64_t size) _must_check_;

/* Free what the session allocated (the ring slots); the fd is the caller's. */
void fdx_session_cleanup(struct fdx_session *s);

/* Tell the peer why we give up (best effort) and mark the session failed. */
void fdx_session_send_error(struct fdx_session *s, uint32_t code, const char *text);

const char *fdx_session_error(const struct fdx_session *s);

/* Record a failure reason from outside (an import that failed, say); returns err. */
int fdx_session_fail(struct fdx_session *s, int err, const char *fmt, ...) _printf_(3, 4);

#endif
