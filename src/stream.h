/* stream.h - the frame stream of serve and connect: loops, damage on purpose, reports */
#ifndef FDX_STREAM_H
#define FDX_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "dump.h"
#include "object.h"
#include "session.h"
#include "stats.h"

struct json_object;

/* --inject: what serve damages on purpose, a testing aid for consumers. */
enum inject_kind {
	INJECT_NONE,
	INJECT_FLIP,  /* one byte inverted */
	INJECT_STALE, /* another frame than the one announced */
	INJECT_TORN,  /* the announced frame up to the middle, another after */
};

struct stream_opts {
	uint64_t frames; /* how many, or 0 with a duration */
	double duration; /* seconds, or 0 with a frame count */
	bool fill;	 /* false: --no-fill, measure the handoff alone */
	bool copy;	 /* send each frame's bytes as DATA (the copying baseline) */
	uint64_t seed;
	unsigned inject; /* enum inject_kind, applied to frame `count` (the first reuse) */
	uint64_t flip_offset; /* an object position */
};

/* What a consumer does wrong on purpose (connect --inject): testing aids for producers. */
struct consumer_aids {
	unsigned slow_release_ms; /* slow-release: wait this long before each RELEASE */
	bool never_release;	  /* never-release: keep every frame it is given */
};

struct stream_report {
	uint64_t frames, bytes, ok, mismatch, unchecked;
	double seconds;
	struct fdx_hist lat;   /* producer: READY->RELEASE; consumer: READY->RELEASE held */
	long faults;	       /* minor + major page faults during the stream */
	double verify_seconds; /* consumer with --verify */
	uint64_t verify_bytes;
	uint64_t first_bad_frame; /* first mismatching frame, if any */
	bool fanout;	  /* producer of a shared ring (--concurrent): the next two */
	uint64_t dropped; /* frames this consumer did not get: it held too many */
	uint64_t max_lag; /* most frames it was behind the producer at a RELEASE */
};

/* Producer: stream over the ring objs[0..n) (objects sent); ends with the BYEs. */
int stream_produce(struct fdx_session *s, const struct stream_opts *o,
		   struct fdx_held *objs, uint32_t n, struct stream_report *rep);

/*
 * Consumer: answer READYs for the objects received until the producer's BYE, verifying
 * each frame with verify and dumping those the plan asks for.
 */
int stream_consume(struct fdx_session *s, bool verify, struct dump_plan *dump,
		   const struct consumer_aids *aids, struct fdx_held *objs, uint32_t n,
		   struct stream_report *rep);

/*
 * Fill h with frame (and the testing aid's damage when damage is set), as streams do.
 * 0, or -errno when a DMA-BUF's CPU access cannot be begun or ended (DMA_BUF_IOCTL_SYNC).
 */
int stream_fill_frame(const struct stream_opts *o, struct fdx_held *h, uint64_t frame,
		      bool damage);

/*
 * --inject on the producer: damage object h, which holds frame `frame` of the pattern
 * of seed, the way kind says (after it was filled).
 */
void stream_damage(struct fdx_held *h, unsigned kind, uint64_t seed, uint64_t frame,
		   uint64_t flip_offset);

/* "stream: 1000 frames in 0.52 s, ..." and the JSON object of a report. */
void stream_print(const struct stream_report *rep, bool producer);
struct json_object *stream_json(const struct stream_report *rep, bool producer);

#endif
