/* codec.c - encode and decode fdx messages; the only code that knows byte layouts */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "macro.h"

/*
 * Payload layouts (little-endian, offsets in bytes). "rsv" fields are sent as zero and
 * refused when not zero, so that a later minor version can give them a meaning.
 *
 * HELLO (96):      0 u8 role, 1 u8 rsv, 2 u16 rsv, 4 u32 caps, 8 u32 pid,
 *                  12 u32 max_fds, 16 u32 max_objects, 20 u32 rsv, 24 u64 max_size,
 *                  32 char name[64]
 * OBJECT (184):    0 u32 index, 4 u16 kind, 6 u16 backend, 8 u32 format, 12 u32 width,
 *                  16 u32 height, 20 u16 nplanes, 22 u16 content, 24 u64 size,
 *                  32 u64 seed, 40 u64 frame, 48 u64 checksum, 56 plane[4] of 32 bytes:
 *                  +0 u32 fd_index, +4 u32 stride, +8 u64 offset, +16 u64 size,
 *                  +24 u32 width, +28 u32 height
 * OBJECT_ACK (24): 0 u32 index, 4 u32 verdict, 8 u64 first_mismatch, 16 u64 mismatched
 * READY (16):      0 u32 buffer, 4 u32 rsv, 8 u64 frame
 * RELEASE (16):    0 u32 buffer, 4 u32 verdict, 8 u64 frame
 * BYE (32):        0 u64 objects, 8 u64 frames, 16 u64 bytes, 24 u64 mismatches
 * ERROR (128):     0 u32 code, 4 u32 rsv, 8 char text[120]
 * DATA (16 + n):   0 u32 buffer, 4 u32 rsv, 8 u64 offset, 16 u8 bytes[n], 1 <= n <= 128 KiB
 */

#define HELLO_SIZE   96u
#define PLANE_SIZE   32u
#define OBJECT_SIZE  (56u + FDX_MAX_PLANES * PLANE_SIZE)
#define ACK_SIZE     24u
#define READY_SIZE   16u
#define RELEASE_SIZE 16u
#define BYE_SIZE     32u
#define ERROR_SIZE   (8u + FDX_ERRTEXT_MAX)

static const size_t payload_sizes[FDX_MSG_TYPE_MAX + 1] = {
	[FDX_MSG_HELLO] = HELLO_SIZE,	  [FDX_MSG_OBJECT] = OBJECT_SIZE,
	[FDX_MSG_OBJECT_ACK] = ACK_SIZE,  [FDX_MSG_READY] = READY_SIZE,
	[FDX_MSG_RELEASE] = RELEASE_SIZE, [FDX_MSG_BYE] = BYE_SIZE,
	[FDX_MSG_ERROR] = ERROR_SIZE,	  [FDX_MSG_DATA] = FDX_DATA_HEAD,
};

size_t fdx_msg_payload_size(unsigned type)
{
	return type <= FDX_MSG_TYPE_MAX ? payload_sizes[type] : 0;
}

static void put8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}
static void put16(uint8_t *p, size_t off, uint16_t v)
{
	v = htole16(v);
	memcpy(p + off, &v, 2);
}
static void put32(uint8_t *p, size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy(p + off, &v, 4);
}
static void put64(uint8_t *p, size_t off, uint64_t v)
{
	v = htole64(v);
	memcpy(p + off, &v, 8);
}

static uint8_t get8(const uint8_t *p, size_t off)
{
	return p[off];
}

static uint16_t get16(const uint8_t *p, size_t off)
{
	uint16_t v;
	memcpy(&v, p + off, 2);
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	uint64_t v;
	memcpy(&v, p + off, 8);
	return le64toh(v);
}

/* Copy a C string into a fixed field, always terminated, padded with zeros. */
static void put_str(uint8_t *p, size_t off, const char *s, size_t field)
{
	size_t n = s ? strnlen(s, field - 1) : 0;

	memset(p + off, 0, field);
	memcpy(p + off, s, n);
}

/* A fixed string field must hold a NUL; an unterminated one is refused. */
static int get_str(const uint8_t *p, size_t off, char *dst, size_t field)
{
	if (!memchr(p + off, '\0', field))
		return -EPROTO;
	memcpy(dst, p + off, field);
	return 0;
}

int fdx_hdr_decode(const void *buf, size_t len, struct fdx_hdr *h)
{
	const uint8_t *p = buf;

	if (len < FDX_HDR_SIZE)
		return -ENODATA;
	h->magic = get32(p, 0);
	h->version_major = get8(p, 4);
	h->version_minor = get8(p, 5);
	h->type = get16(p, 6);
	h->flags = get16(p, 8);
	h->nfds = get16(p, 10);
	h->length = get32(p, 12);
	h->seq = get32(p, 16);
	if (h->magic != FDX_MAGIC)
		return -EBADMSG;
	if (h->version_major != FDX_PROTO_MAJOR)
		return -EPROTONOSUPPORT;
	if (get32(p, 20) != 0)
		return -EPROTO;
	/* only DATA carries more than a small fixed payload */
	if (h->length >
	    (h->type == FDX_MSG_DATA ? FDX_DATA_HEAD + FDX_DATA_MAX : FDX_MAX_PAYLOAD))
		return -EMSGSIZE;
	return 0;
}

static int decode_hello(const uint8_t *p, struct fdx_hello *h)
{
	h->role = get8(p, 0);
	if (get8(p, 1) || get16(p, 2) || get32(p, 20))
		return -EPROTO;
	if (h->role != FDX_ROLE_PRODUCER && h->role != FDX_ROLE_CONSUMER)
		return -EPROTO;
	/* capability bits a later version adds are ignored, not refused */
	h->caps = get32(p, 4);
	h->pid = get32(p, 8);
	h->max_fds = get32(p, 12);
	h->max_objects = get32(p, 16);
	h->max_size = get64(p, 24);
	if (h->max_fds == 0 || h->max_objects == 0)
		return -EPROTO;
	return get_str(p, 32, h->name, FDX_NAME_MAX);
}

static bool plane_is_zero(const uint8_t *p)
{
	for (size_t i = 0; i < PLANE_SIZE; i++)
		if (p[i])
			return false;
	return true;
}

/* Structural checks that need no fd: sizes add up, fds are all used, planes apart. */
static int check_object(const struct fdx_object *o, unsigned nfds)
{
	uint64_t total = 0;
	unsigned used = 0;

	if (o->kind != FDX_KIND_RAW && o->kind != FDX_KIND_IMAGE)
		return -EPROTO;
	if (o->backend < 1 || o->backend > FDX_BACKEND_MAX)
		return -EPROTO;
	if (o->content > FDX_CONTENT_CHECKSUM)
		return -EPROTO;
	if (o->nplanes < 1 || o->nplanes > FDX_MAX_PLANES)
		return -EPROTO;
	if (o->backend == FDX_BACKEND_COPY) {
		/* the consumer's own memory: no fd, every plane in the one buffer it makes
		 */
		if (nfds != 0)
			return -EBADFD;
		for (unsigned i = 0; i < o->nplanes; i++)
			if (o->planes[i].fd_index)
				return -EPROTO;
	} else if (nfds < 1 || nfds > o->nplanes) {
		return -EBADFD;
	}
	if (o->kind == FDX_KIND_RAW &&
	    (o->nplanes != 1 || o->format || o->width || o->height || o->planes[0].stride ||
	     o->planes[0].width || o->planes[0].height))
		return -EPROTO;

	for (unsigned i = 0; i < o->nplanes; i++) {
		const struct fdx_plane *pl = &o->planes[i];
		uint64_t end;

		if (o->backend != FDX_BACKEND_COPY && pl->fd_index >= nfds)
			return -EBADFD;
		used |= 1u << pl->fd_index;
		if (pl->size == 0 || fdx_add_overflow(pl->offset, pl->size, &end))
			return -EPROTO;
		if (fdx_add_overflow(total, pl->size, &total))
			return -EPROTO;
		for (unsigned j = 0; j < i; j++) {
			const struct fdx_plane *q = &o->planes[j];

			if (q->fd_index == pl->fd_index &&
			    pl->offset < q->offset + q->size && q->offset < end)
				return -EPROTO;
		}
	}
	if (o->backend != FDX_BACKEND_COPY && used != (1u << nfds) - 1)
		return -EBADFD;
	if (total != o->size)
		return -EPROTO;
	return 0;
}

static int decode_object(const uint8_t *p, unsigned nfds, struct fdx_object *o)
{
	o->index = get32(p, 0);
	o->kind = get16(p, 4);
	o->backend = get16(p, 6);
	o->format = get32(p, 8);
	o->width = get32(p, 12);
	o->height = get32(p, 16);
	o->nplanes = get16(p, 20);
	o->content = get16(p, 22);
	o->size = get64(p, 24);
	o->seed = get64(p, 32);
	o->frame = get64(p, 40);
	o->checksum = get64(p, 48);
	for (unsigned i = 0; i < FDX_MAX_PLANES; i++) {
		const uint8_t *q = p + 56 + i * PLANE_SIZE;
		struct fdx_plane *pl = &o->planes[i];

		if (i >= o->nplanes) {
			if (!plane_is_zero(q))
				return -EPROTO;
			memset(pl, 0, sizeof(*pl));
			continue;
		}
		pl->fd_index = get32(q, 0);
		pl->stride = get32(q, 4);
		pl->offset = get64(q, 8);
		pl->size = get64(q, 16);
		pl->width = get32(q, 24);
		pl->height = get32(q, 28);
	}
	return check_object(o, nfds);
}

static int decode_ack(const uint8_t *p, struct fdx_object_ack *a)
{
	a->index = get32(p, 0);
	a->verdict = get32(p, 4);
	a->first_mismatch = get64(p, 8);
	a->mismatched_bytes = get64(p, 16);
	if (a->verdict > FDX_VERDICT_MAX)
		return -EPROTO;
	/*
	 * A verdict must agree with its evidence. A mismatch is located (an offset and a
	 * count) or, for a checksum that differs, not located at all (neither).
	 */
	if (a->verdict == FDX_VERDICT_MISMATCH) {
		if ((a->mismatched_bytes == 0) != (a->first_mismatch == FDX_NO_OFFSET))
			return -EPROTO;
	} else if (a->mismatched_bytes != 0 || a->first_mismatch != FDX_NO_OFFSET) {
		return -EPROTO;
	}
	return 0;
}

/*
 * avail bytes of a record of len bytes are at buf: all of them, except for DATA received
 * in two parts, where only the header and head are.
 */
static int decode(const void *buf, size_t avail, size_t len, unsigned nfds_received,
		  struct fdx_msg *m)
{
	const uint8_t *p = buf;
	const uint8_t *pl = p + FDX_HDR_SIZE;
	size_t want;
	int r;

	memset(m, 0, sizeof(*m));
	r = fdx_hdr_decode(buf, avail, &m->hdr);
	if (r < 0)
		return r;
	if ((size_t)m->hdr.length != len - FDX_HDR_SIZE)
		return -EMSGSIZE;
	if (m->hdr.nfds != nfds_received)
		return -EBADFD;
	if (m->hdr.type < 1 || m->hdr.type > FDX_MSG_TYPE_MAX)
		return -ENOMSG;
	want = payload_sizes[m->hdr.type];
	if (m->hdr.type == FDX_MSG_DATA) {
		if (m->hdr.length <= want || avail < FDX_HDR_SIZE + want)
			return -EMSGSIZE;
	} else if (avail != len ||
		   /* a newer minor version may append fields we do not know; older not */
		   (m->hdr.version_minor > FDX_PROTO_MINOR ? m->hdr.length < want
							   : m->hdr.length != want)) {
		return -EMSGSIZE;
	}
	if (m->hdr.flags & ~FDX_HF_KNOWN)
		return -EPROTO;
	if ((m->hdr.flags & FDX_HF_LAST) && m->hdr.type != FDX_MSG_OBJECT)
		return -EPROTO;
	/* a stream can only follow the last object */
	if ((m->hdr.flags & FDX_HF_STREAM) && !(m->hdr.flags & FDX_HF_LAST))
		return -EPROTO;
	if (m->hdr.type != FDX_MSG_OBJECT && m->hdr.nfds != 0)
		return -EBADFD;

	switch (m->hdr.type) {
	case FDX_MSG_HELLO:
		return decode_hello(pl, &m->u.hello);
	case FDX_MSG_OBJECT:
		return decode_object(pl, m->hdr.nfds, &m->u.object);
	case FDX_MSG_OBJECT_ACK:
		return decode_ack(pl, &m->u.ack);
	case FDX_MSG_READY:
		m->u.ready.buffer = get32(pl, 0);
		m->u.ready.frame = get64(pl, 8);
		return get32(pl, 4) ? -EPROTO : 0;
	case FDX_MSG_RELEASE:
		m->u.release.buffer = get32(pl, 0);
		m->u.release.verdict = get32(pl, 4);
		m->u.release.frame = get64(pl, 8);
		return m->u.release.verdict > FDX_VERDICT_MAX ? -EPROTO : 0;
	case FDX_MSG_BYE:
		m->u.bye.objects = get64(pl, 0);
		m->u.bye.frames = get64(pl, 8);
		m->u.bye.bytes = get64(pl, 16);
		m->u.bye.mismatches = get64(pl, 24);
		return 0;
	case FDX_MSG_ERROR:
		m->u.error.code = get32(pl, 0);
		if (get32(pl, 4))
			return -EPROTO;
		return get_str(pl, 8, m->u.error.text, FDX_ERRTEXT_MAX);
	case FDX_MSG_DATA:
		m->u.data.buffer = get32(pl, 0);
		m->u.data.offset = get64(pl, 8);
		m->u.data.len = m->hdr.length - FDX_DATA_HEAD;
		m->u.data.bytes = avail == len ? pl + FDX_DATA_HEAD : NULL;
		if (get32(pl, 4))
			return -EPROTO;
		return 0;
	}
	return -ENOMSG;
}

int fdx_msg_decode(const void *buf, size_t len, unsigned nfds_received, struct fdx_msg *m)
{
	return decode(buf, len, len, nfds_received, m);
}

int fdx_data_decode(const void *head, size_t record_len, unsigned nfds_received,
		    struct fdx_msg *m)
{
	size_t avail = FDX_HDR_SIZE + FDX_DATA_HEAD;
	struct fdx_hdr h;
	int r;

	memset(m, 0, sizeof(*m));
	r = fdx_hdr_decode(head, record_len < avail ? record_len : avail, &h);
	if (r < 0)
		return r;
	if (h.type != FDX_MSG_DATA)
		return -ENOMSG;
	if (record_len < avail)
		return -EMSGSIZE;
	return decode(head, avail, record_len, nfds_received, m);
}

static void encode_object(uint8_t *p, const struct fdx_object *o)
{
	put32(p, 0, o->index);
	put16(p, 4, o->kind);
	put16(p, 6, o->backend);
	put32(p, 8, o->format);
	put32(p, 12, o->width);
	put32(p, 16, o->height);
	put16(p, 20, o->nplanes);
	put16(p, 22, o->content);
	put64(p, 24, o->size);
	put64(p, 32, o->seed);
	put64(p, 40, o->frame);
	put64(p, 48, o->checksum);
	for (unsigned i = 0; i < FDX_MAX_PLANES && i < o->nplanes; i++) {
		uint8_t *q = p + 56 + i * PLANE_SIZE;
		const struct fdx_plane *pl = &o->planes[i];

		put32(q, 0, pl->fd_index);
		put32(q, 4, pl->stride);
		put64(q, 8, pl->offset);
		put64(q, 16, pl->size);
		put32(q, 24, pl->width);
		put32(q, 28, pl->height);
	}
}

int fdx_msg_encode(struct fdx_msg *m, void *buf, size_t cap)
{
	uint8_t *p = buf;
	uint8_t *pl = p + FDX_HDR_SIZE;
	size_t plen = fdx_msg_payload_size(m->hdr.type);

	if (plen == 0)
		return -EINVAL;
	if (m->hdr.type == FDX_MSG_DATA &&
	    (m->u.data.len == 0 || m->u.data.len > FDX_DATA_MAX))
		return -EINVAL;
	if (cap < FDX_HDR_SIZE + plen)
		return -ENOSPC;
	m->hdr.magic = FDX_MAGIC;
	m->hdr.version_major = FDX_PROTO_MAJOR;
	m->hdr.version_minor = FDX_PROTO_MINOR;
	/* DATA's bytes follow the head in the same record; the caller sends them */
	m->hdr.length = (uint32_t)plen + (m->hdr.type == FDX_MSG_DATA ? m->u.data.len : 0);
	memset(p, 0, FDX_HDR_SIZE + plen);
	put32(p, 0, m->hdr.magic);
	put8(p, 4, m->hdr.version_major);
	put8(p, 5, m->hdr.version_minor);
	put16(p, 6, m->hdr.type);
	put16(p, 8, m->hdr.flags);
	put16(p, 10, m->hdr.nfds);
	put32(p, 12, m->hdr.length);
	put32(p, 16, m->hdr.seq);

	switch (m->hdr.type) {
	case FDX_MSG_HELLO:
		put8(pl, 0, m->u.hello.role);
		put32(pl, 4, m->u.hello.caps);
		put32(pl, 8, m->u.hello.pid);
		put32(pl, 12, m->u.hello.max_fds);
		put32(pl, 16, m->u.hello.max_objects);
		put64(pl, 24, m->u.hello.max_size);
		put_str(pl, 32, m->u.hello.name, FDX_NAME_MAX);
		break;
	case FDX_MSG_OBJECT:
		encode_object(pl, &m->u.object);
		break;
	case FDX_MSG_OBJECT_ACK:
		put32(pl, 0, m->u.ack.index);
		put32(pl, 4, m->u.ack.verdict);
		put64(pl, 8, m->u.ack.first_mismatch);
		put64(pl, 16, m->u.ack.mismatched_bytes);
		break;
	case FDX_MSG_READY:
		put32(pl, 0, m->u.ready.buffer);
		put64(pl, 8, m->u.ready.frame);
		break;
	case FDX_MSG_RELEASE:
		put32(pl, 0, m->u.release.buffer);
		put32(pl, 4, m->u.release.verdict);
		put64(pl, 8, m->u.release.frame);
		break;
	case FDX_MSG_BYE:
		put64(pl, 0, m->u.bye.objects);
		put64(pl, 8, m->u.bye.frames);
		put64(pl, 16, m->u.bye.bytes);
		put64(pl, 24, m->u.bye.mismatches);
		break;
	case FDX_MSG_ERROR:
		put32(pl, 0, m->u.error.code);
		put_str(pl, 8, m->u.error.text, FDX_ERRTEXT_MAX);
		break;
	case FDX_MSG_DATA:
		put32(pl, 0, m->u.data.buffer);
		put64(pl, 8, m->u.data.offset);
		break;
	}
	return (int)(FDX_HDR_SIZE + plen);
}

static const char *const type_names[FDX_MSG_TYPE_MAX + 1] = {
	[FDX_MSG_HELLO] = "HELLO",	     [FDX_MSG_OBJECT] = "OBJECT",
	[FDX_MSG_OBJECT_ACK] = "OBJECT_ACK", [FDX_MSG_READY] = "READY",
	[FDX_MSG_RELEASE] = "RELEASE",	     [FDX_MSG_BYE] = "BYE",
	[FDX_MSG_ERROR] = "ERROR",	     [FDX_MSG_DATA] = "DATA",
};

const char *fdx_msg_type_name(unsigned type)
{
	return type >= 1 && type <= FDX_MSG_TYPE_MAX ? type_names[type] : "unknown";
}

static const char *const backend_names[FDX_BACKEND_MAX + 1] = {
	[FDX_BACKEND_MEMFD] = "memfd",	     [FDX_BACKEND_SHM] = "shm",
	[FDX_BACKEND_TMPFILE] = "tmpfile",   [FDX_BACKEND_MEMFD_HUGE] = "memfd-huge",
	[FDX_BACKEND_DMA_HEAP] = "dma-heap", [FDX_BACKEND_COPY] = "copy",
	[FDX_BACKEND_UDMABUF] = "udmabuf",
};

const char *fdx_backend_name(unsigned backend)
{
	return backend >= 1 && backend <= FDX_BACKEND_MAX ? backend_names[backend]
							  : "unknown";
}

const char *fdx_verdict_name(unsigned verdict)
{
	switch (verdict) {
	case FDX_VERDICT_OK:
		return "ok";
	case FDX_VERDICT_MISMATCH:
		return "mismatch";
	case FDX_VERDICT_UNCHECKED:
		return "unchecked";
	}
	return "unknown";
}

const char *fdx_role_name(unsigned role)
{
	switch (role) {
	case FDX_ROLE_PRODUCER:
		return "producer";
	case FDX_ROLE_CONSUMER:
		return "consumer";
	}
	return "unknown";
}

const char *fdx_codec_strerror(int err)
{
	switch (err) {
	case -ENODATA:
		return "message shorter than a header";
	case -EBADMSG:
		return "bad magic";
	case -EPROTONOSUPPORT:
		return "unsupported protocol version";
	case -ENOMSG:
		return "unknown message type";
	case -EMSGSIZE:
		return "length field disagrees with the message size";
	case -EBADFD:
		return "fd count mismatch";
	case -EPROTO:
		return "invalid payload";
	}
	return "undecodable message";
}

int fdx_msg_describe(const struct fdx_msg *m, char *buf, size_t cap)
{
	const struct fdx_hdr *h = &m->hdr;
	int n = snprintf(buf, cap, "%s seq=%" PRIu32 " nfds=%u%s%s",
			 fdx_msg_type_name(h->type), h->seq, h->nfds,
			 (h->flags & FDX_HF_LAST) ? " last" : "",
			 (h->flags & FDX_HF_STREAM) ? " stream" : "");
	size_t used = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap;

	buf += used;
	cap -= used;
	switch (h->type) {
	case FDX_MSG_HELLO:
		return snprintf(buf, cap,
				" role=%s pid=%" PRIu32 " caps=0x%" PRIx32
				" max_fds=%" PRIu32 " max_objects=%" PRIu32 " name=\"%s\"",
				fdx_role_name(m->u.hello.role), m->u.hello.pid,
				m->u.hello.caps, m->u.hello.max_fds, m->u.hello.max_objects,
				m->u.hello.name);
	case FDX_MSG_OBJECT: {
		const struct fdx_object *o = &m->u.object;
		char shape[64] = "", content[64] = "";

		if (o->kind == FDX_KIND_IMAGE)
			snprintf(shape, sizeof(shape),
				 " image format=%" PRIu32 " %" PRIu32 "x%" PRIu32,
				 o->format, o->width, o->height);
		if (o->content == FDX_CONTENT_PATTERN)
			snprintf(content, sizeof(content),
				 " seed=0x%" PRIx64 " frame=%" PRIu64, o->seed, o->frame);
		else if (o->content == FDX_CONTENT_CHECKSUM)
			snprintf(content, sizeof(content), " checksum=0x%016" PRIx64,
				 o->checksum);
		return snprintf(buf, cap,
				" index=%" PRIu32 " size=%" PRIu64
				" backend=%s%s planes=%u%s",
				o->index, o->size, fdx_backend_name(o->backend), shape,
				o->nplanes, content);
	}
	case FDX_MSG_OBJECT_ACK:
		return snprintf(buf, cap,
				" index=%" PRIu32 " verdict=%s mismatched=%" PRIu64,
				m->u.ack.index, fdx_verdict_name(m->u.ack.verdict),
				m->u.ack.mismatched_bytes);
	case FDX_MSG_READY:
		return snprintf(buf, cap, " buffer=%" PRIu32 " frame=%" PRIu64,
				m->u.ready.buffer, m->u.ready.frame);
	case FDX_MSG_RELEASE:
		return snprintf(buf, cap,
				" buffer=%" PRIu32 " frame=%" PRIu64 " verdict=%s",
				m->u.release.buffer, m->u.release.frame,
				fdx_verdict_name(m->u.release.verdict));
	case FDX_MSG_BYE:
		return snprintf(buf, cap,
				" objects=%" PRIu64 " frames=%" PRIu64 " bytes=%" PRIu64
				" mismatches=%" PRIu64,
				m->u.bye.objects, m->u.bye.frames, m->u.bye.bytes,
				m->u.bye.mismatches);
	case FDX_MSG_ERROR:
		return snprintf(buf, cap, " code=%" PRIu32 " text=\"%s\"", m->u.error.code,
				m->u.error.text);
	case FDX_MSG_DATA:
		return snprintf(buf, cap,
				" buffer=%" PRIu32 " offset=%" PRIu64 " len=%" PRIu32,
				m->u.data.buffer, m->u.data.offset, m->u.data.len);
	}
	return n;
}
