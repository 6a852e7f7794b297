/* codec.h - the fdx wire format: message structs and pure encode/decode (no I/O) */
#ifndef FDX_CODEC_H
#define FDX_CODEC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every message is a 24-byte little-endian header followed by a typed payload.
 *
 *   off size field
 *     0    4 magic        0x31584446, the bytes "FDX1"
 *     4    1 version_major FDX_PROTO_MAJOR; a different major is refused
 *     5    1 version_minor FDX_PROTO_MINOR; a higher minor may append payload fields
 *     6    2 type         enum fdx_msg_type
 *     8    2 flags        FDX_HF_*; unknown bits are refused
 *    10    2 nfds         number of fds attached to this message (SCM_RIGHTS)
 *    12    4 length       payload bytes that follow the header
 *    16    4 seq          per-direction sequence number, starting at 0
 *    20    4 reserved     zero
 *
 * fdx-protocol(7) is the normative description; keep the two in step.
 */

#define FDX_MAGIC	0x31584446u /* "FDX1" read as a little-endian u32 */
#define FDX_PROTO_MAJOR 1
#define FDX_PROTO_MINOR 0
#define FDX_HDR_SIZE	24u
#define FDX_NAME_MAX	64u  /* bytes in a name field, NUL included */
#define FDX_ERRTEXT_MAX 120u /* bytes in an ERROR text field, NUL included */
#define FDX_MAX_PLANES	4u
#define FDX_MAX_PAYLOAD 4096u /* no v1 payload comes near; a guard for stream framing */
#define FDX_MSG_MAX	(FDX_HDR_SIZE + FDX_MAX_PAYLOAD)
#define FDX_SCM_MAX_FD	253u /* the kernel refuses more fds in one sendmsg */

enum fdx_msg_type {
	FDX_MSG_HELLO = 1,
	FDX_MSG_OBJECT = 2,
	FDX_MSG_OBJECT_ACK = 3,
	FDX_MSG_READY = 4,
	FDX_MSG_RELEASE = 5,
	FDX_MSG_BYE = 6,
	FDX_MSG_ERROR = 7,
	FDX_MSG_DATA =
		8, /* copy streams only: frame bytes inline, the baseline of --copy */
};
#define FDX_MSG_TYPE_MAX FDX_MSG_DATA

/* DATA: a 16-byte head, then up to this many bytes (a SEQPACKET record must fit sndbuf) */
#define FDX_DATA_HEAD 16u
#define FDX_DATA_MAX  (128u * 1024u)

enum fdx_hdr_flags {
	FDX_HF_LAST = 1u << 0, /* OBJECT: the final object of the set */
	FDX_HF_STREAM =
		1u << 1, /* last OBJECT: a stream of frames (READY/RELEASE) follows */
};
#define FDX_HF_KNOWN (FDX_HF_LAST | FDX_HF_STREAM)

enum fdx_role {
	FDX_ROLE_PRODUCER = 1,
	FDX_ROLE_CONSUMER = 2,
};

enum fdx_caps {
	FDX_CAP_PATTERN = 1u << 0,  /* can fill or verify the seeded pattern */
	FDX_CAP_CHECKSUM = 1u << 1, /* can check XXH3 content checksums */
	FDX_CAP_STREAM = 1u << 2,   /* speaks READY/RELEASE */
	FDX_CAP_COPY = 1u << 3,	    /* takes copy objects and DATA (the copying baseline) */
};
#define FDX_CAP_KNOWN (FDX_CAP_PATTERN | FDX_CAP_CHECKSUM | FDX_CAP_STREAM | FDX_CAP_COPY)

enum fdx_object_kind {
	FDX_KIND_RAW = 1,
	FDX_KIND_IMAGE = 2,
};

enum fdx_backend {
	FDX_BACKEND_MEMFD = 1,
	FDX_BACKEND_SHM = 2,
	FDX_BACKEND_TMPFILE = 3,
	FDX_BACKEND_MEMFD_HUGE = 4,
	FDX_BACKEND_DMA_HEAP = 5,
	FDX_BACKEND_UDMABUF = 6,
	FDX_BACKEND_COPY =
		7, /* no fd: the consumer's own memory, filled by DATA messages */
};
#define FDX_BACKEND_MAX FDX_BACKEND_COPY

enum fdx_content {
	FDX_CONTENT_NONE = 0,	  /* nothing to check */
	FDX_CONTENT_PATTERN = 1,  /* seed + frame of the fdx pattern */
	FDX_CONTENT_CHECKSUM = 2, /* XXH3-64 of the object's bytes */
};

enum fdx_verdict {
	FDX_VERDICT_OK = 0,	   /* every byte checked and right */
	FDX_VERDICT_MISMATCH = 1,  /* checked, wrong bytes found */
	FDX_VERDICT_UNCHECKED = 2, /* mapped but not checked */
};
#define FDX_VERDICT_MAX FDX_VERDICT_UNCHECKED

#define FDX_NO_OFFSET UINT64_MAX /* "no mismatch" in first_mismatch fields */

struct fdx_hdr {
	uint32_t magic;
	uint8_t version_major;
	uint8_t version_minor;
	uint16_t type;
	uint16_t flags;
	uint16_t nfds;
	uint32_t length;
	uint32_t seq;
};

/* HELLO, 96 bytes */
struct fdx_hello {
	uint8_t role;		 /* enum fdx_role */
	uint32_t caps;		 /* enum fdx_caps */
	uint32_t pid;		 /* sender's pid, informative only */
	uint32_t max_fds;	 /* most fds the sender accepts in one message */
	uint32_t max_objects;	 /* most objects the sender accepts in a session */
	uint64_t max_size;	 /* largest object the sender accepts, 0 = no limit */
	char name[FDX_NAME_MAX]; /* NUL-terminated program name */
};

/* one plane of an OBJECT, 32 bytes */
struct fdx_plane {
	uint32_t fd_index; /* which of the message's fds holds the plane */
	uint32_t stride;   /* bytes per row, 0 for raw objects */
	uint64_t offset;   /* byte offset of the plane in that fd */
	uint64_t size;	   /* bytes of the plane */
	uint32_t width;	   /* pixels per row, 0 for raw objects */
	uint32_t height;   /* rows, 0 for raw objects */
};

/* OBJECT, 56 + 4 * 32 = 184 bytes */
struct fdx_object {
	uint32_t index;	  /* 0, 1, 2, ... in order */
	uint16_t kind;	  /* enum fdx_object_kind */
	uint16_t backend; /* enum fdx_backend */
	uint32_t format;  /* pixel format code, 0 for raw */
	uint32_t width;
	uint32_t height;
	uint16_t nplanes;  /* 1 .. FDX_MAX_PLANES */
	uint16_t content;  /* enum fdx_content */
	uint64_t size;	   /* sum of the plane sizes */
	uint64_t seed;	   /* FDX_CONTENT_PATTERN */
	uint64_t frame;	   /* FDX_CONTENT_PATTERN */
	uint64_t checksum; /* FDX_CONTENT_CHECKSUM */
	struct fdx_plane planes[FDX_MAX_PLANES];
};

/* OBJECT_ACK, 24 bytes */
struct fdx_object_ack {
	uint32_t index;
	uint32_t verdict;	   /* enum fdx_verdict */
	uint64_t first_mismatch;   /* byte offset in the object, FDX_NO_OFFSET if none */
	uint64_t mismatched_bytes; /* bytes that differ */
};

/* READY, 16 bytes: the producer hands a filled ring buffer to the consumer */
struct fdx_ready {
	uint32_t buffer;
	uint64_t frame;
};

/* RELEASE, 16 bytes: the consumer gives a ring buffer back */
struct fdx_release {
	uint32_t buffer;
	uint32_t verdict; /* enum fdx_verdict */
	uint64_t frame;
};

/* DATA, 16 + len bytes: bytes [offset, offset+len) of a copy buffer */
struct fdx_data {
	uint32_t buffer;
	uint64_t offset;
	uint32_t len;	      /* bytes after the head, 1 .. FDX_DATA_MAX */
	const uint8_t *bytes; /* decode: into the decoded buffer, when it holds them */
};

/* BYE, 32 bytes: totals as the sender counted them */
struct fdx_bye {
	uint64_t objects;
	uint64_t frames;
	uint64_t bytes;
	uint64_t mismatches; /* objects or frames with a mismatch verdict */
};

/* ERROR, 128 bytes */
struct fdx_error {
	uint32_t code; /* an fdx exit status (3 protocol, 4 system, ...) */
	char text[FDX_ERRTEXT_MAX];
};

struct fdx_msg {
	struct fdx_hdr hdr;
	union {
		struct fdx_hello hello;
		struct fdx_object object;
		struct fdx_object_ack ack;
		struct fdx_ready ready;
		struct fdx_release release;
		struct fdx_bye bye;
		struct fdx_error error;
		struct fdx_data data;
	} u;
};

/*
 * Errors of fdx_msg_decode(), one errno each so callers can tell them apart:
 *   -ENODATA          fewer bytes than a header
 *   -EBADMSG          wrong magic
 *   -EPROTONOSUPPORT  different major version
 *   -ENOMSG           unknown message type
 *   -EMSGSIZE         length field disagrees with the bytes received, or over the limit
 *   -EBADFD           fd count in the header differs from the fds received, or fds on
 *                     a message type that carries none
 *   -EPROTO           payload invalid (reserved field set, unknown flag or enum value,
 *                     unterminated string, inconsistent planes)
 */
int fdx_msg_decode(const void *buf, size_t len, unsigned nfds_received, struct fdx_msg *m);

/* Header only, without checking the payload or fds (stream framing, tracing). */
int fdx_hdr_decode(const void *buf, size_t len, struct fdx_hdr *h);

/*
 * Encode m into buf. Fills magic, version and length in the header itself; the caller
 * sets type, flags, nfds and seq. Returns the byte count, or -ENOSPC, -EINVAL. For DATA
 * only the header and head are written (length counts m->u.data.len bytes more): the
 * caller sends the bytes after them in the same record.
 */
int fdx_msg_encode(struct fdx_msg *m, void *buf, size_t cap);

/*
 * DATA, received in two parts: head holds the first FDX_HDR_SIZE + FDX_DATA_HEAD bytes
 * of a record of record_len bytes; the bytes themselves were put elsewhere. Same checks
 * and errors as fdx_msg_decode().
 */
int fdx_data_decode(const void *head, size_t record_len, unsigned nfds_received,
		    struct fdx_msg *m);

/* Payload size of a type at this protocol version, 0 for an unknown type. For DATA,
 * the size of its head: the bytes follow. */
size_t fdx_msg_payload_size(unsigned type);

const char *fdx_msg_type_name(unsigned type);
const char *fdx_backend_name(unsigned backend);
const char *fdx_verdict_name(unsigned verdict);
const char *fdx_role_name(unsigned role);

/* What a decode error means on the wire, for messages: "bad magic", ... */
const char *fdx_codec_strerror(int err);

/* One line describing m for -v traces (no trailing newline). */
int fdx_msg_describe(const struct fdx_msg *m, char *buf, size_t cap);

#endif
