/* stream.c - the frame stream: a ring handed back and forth with READY and RELEASE */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "busguard.h"
#include "cli.h"
#include "consume.h"
#include "fdx.h"
#include "object.h"
#include "pattern.h"
#include "report.h"
#include "stream.h"

#define MAX_REPORTED 5 /* mismatching frames named one by one; then only counted */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/* A line on a terminal's stderr, rewritten once a second; nothing when not a terminal. */
struct progress {
	bool on;
	uint64_t next_ns;
	uint64_t start_ns;
};

static void progress_init(struct progress *p)
{
	p->on = !cli.quiet && !cli.json && isatty(STDERR_FILENO);
	p->start_ns = now_ns();
	p->next_ns = p->start_ns + 1000000000ull;
}

static void progress_tick(struct progress *p, uint64_t frames, uint64_t total)
{
	uint64_t t;
	double secs;

	if (!p->on || (t = now_ns()) < p->next_ns)
		return;
	p->next_ns = t + 1000000000ull;
	secs = (double)(t - p->start_ns) / 1e9;
	if (total)
		fprintf(stderr, "\r\033[K%s: frame %" PRIu64 " of %" PRIu64 ", %.0f fps",
			cli_prog, frames, total, (double)frames / secs);
	else
		fprintf(stderr, "\r\033[K%s: frame %" PRIu64 ", %.0f fps", cli_prog, frames,
			(double)frames / secs);
}

static void progress_done(struct progress *p)
{
	if (p->on && now_ns() > p->start_ns + 1000000000ull)
		fprintf(stderr, "\r\033[K");
}

static void tally(struct stream_report *rep, unsigned verdict)
{
	if (verdict == FDX_VERDICT_OK)
		rep->ok++;
	else if (verdict == FDX_VERDICT_MISMATCH)
		rep->mismatch++;
	else
		rep->unchecked++;
}

void stream_damage(struct fdx_held *h, unsigned kind, uint64_t seed, uint64_t frame,
		   uint64_t flip_offset)
{
	struct fdx_pattern other;
	uint64_t size = h->obj.size;
	uint8_t *b;

	/* the frame that comes next, as a producer that ran ahead would have written */
	fdx_pattern_init(&other, seed, frame + 1);
	switch (kind) {
	case INJECT_FLIP:
		b = fdx_held_at(h, flip_offset);
		if (b)
			*b ^= 0xff;
		break;
	case INJECT_STALE:
		fdx_held_fill(h, &other, 0, size);
		break;
	case INJECT_TORN:
		fdx_held_fill(h, &other, size / 2, size);
		break;
	}
}

/* The stream's testing aids, applied to the first frame that reuses a buffer. */
int stream_fill_frame(const struct stream_opts *o, struct fdx_held *h, uint64_t frame,
		      bool damage)
{
	struct fdx_pattern p;
	uint64_t len = h->obj.size;
	int r;

	if (!o->fill)
		return 0;
	fdx_pattern_init(&p, o->seed, frame);
	if (damage && o->inject == INJECT_STALE)
		return 0; /* the buffer keeps the frame it had */
	if (damage && o->inject == INJECT_TORN)
		len /= 2; /* the second half keeps the frame it had */
	/* a DMA-BUF is told that the CPU writes it (nothing for the other kinds) */
	r = fdx_held_cpu_begin(h, true);
	if (r < 0)
		return r;
	fdx_held_fill(h, &p, 0, len);
	if (damage && o->inject == INJECT_FLIP)
		stream_damage(h, INJECT_FLIP, o->seed, frame, o->flip_offset);
	return fdx_held_cpu_end(h, true);
}

int stream_produce(struct fdx_session *s, const struct stream_opts *o,
		   struct fdx_held *objs, uint32_t n, struct stream_report *rep)
{
	/* everything the loop needs is set up here: nothing is allocated per frame */
	uint32_t *queue = calloc(n, sizeof(*queue));
	uint64_t *sent = calloc(n, sizeof(*sent));
	uint32_t head = 0, qlen = n;
	uint64_t f = 0, deadline = 0, t0, heard;
	struct pollfd pfd = { .fd = s->fd };
	struct fdx_bye bye = { 0 }, peer_bye;
	struct progress prog;
	long faults;
	int r = 0;

	memset(rep, 0, sizeof(*rep));
	fdx_hist_init(&rep->lat);
	if (!queue || !sent) {
		r = fdx_session_fail(s, -ENOMEM, "out of memory for a ring of %" PRIu32, n);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		queue[i] = i;
	progress_init(&prog);
	faults = faults_now();
	t0 = heard = now_ns();
	if (!o->frames)
		deadline = t0 + (uint64_t)(o->duration * 1e9);

	for (;;) {
		bool more = o->frames ? f < o->frames : now_ns() < deadline;
		bool can_send = more && qlen > 0;

		if (!more && s->inflight == 0)
			break;
		/* always read what came back first: a producer that only sends can deadlock
		 */
		pfd.events = POLLIN | (can_send ? POLLOUT : 0);
		/* a stream connection may already hold the next RELEASE in its buffer */
		if (fdx_session_buffered(s)) {
			pfd.revents = POLLIN;
		} else if (poll(&pfd, 1, 250) < 0) {
			if (errno == EINTR)
				continue;
			r = fdx_session_fail(s, -errno, "poll: %s", strerror(errno));
			goto out;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			struct fdx_release rel;

			r = fdx_session_recv_release(s, &rel);
			if (r < 0)
				goto out;
			heard = now_ns();
			fdx_hist_add(&rep->lat, now_ns() - sent[rel.buffer]);
			tally(rep, rel.verdict);
			if (rel.verdict == FDX_VERDICT_MISMATCH && rep->mismatch == 1)
				rep->first_bad_frame = rel.frame;
			queue[(head + qlen) % n] = rel.buffer;
			qlen++;
		} else if (can_send && (pfd.revents & POLLOUT)) {
			uint32_t b = queue[head];

			head = (head + 1) % n;
			qlen--;
			/* the buffer is ours between its RELEASE and this READY: fill it
			 * now */
			r = stream_fill_frame(o, &objs[b], f,
					      o->inject != INJECT_NONE && f == n);
			if (r < 0) {
				r = fdx_session_fail(s, r,
						     "cannot fill buffer %" PRIu32
						     " (DMA_BUF_IOCTL_SYNC): %s",
						     b, strerror(-r));
				goto out;
			}
			sent[b] = now_ns();
			/* a copy buffer's whole memory: the planes and whatever lies
			 * between */
			r = o->copy ? fdx_session_send_data(s, b, objs[b].bufs[0].map,
							    objs[b].bufs[0].length)
				    : 0;
			if (r >= 0)
				r = fdx_session_send_ready(s, b, f);
			if (r < 0)
				goto out;
			f++;
			rep->frames++;
			rep->bytes += objs[b].obj.size;
		}
		progress_tick(&prog, f, o->frames);
		/* a consumer that holds buffers and gives none back is given up on */
		if (s->inflight && s->timeout_ms &&
		    now_ns() - heard > (uint64_t)s->timeout_ms * 1000000) {
			r = fdx_session_fail(
				s, -ETIMEDOUT,
				"no RELEASE for %.3g s: the consumer holds %" PRIu32
				" buffer%s",
				s->timeout_ms / 1e3, s->inflight,
				s->inflight == 1 ? "" : "s");
			fdx_session_send_error(s, FDX_EXIT_TIMEOUT, fdx_session_error(s));
			goto out;
		}
	}
	rep->seconds = (double)(now_ns() - t0) / 1e9;
	rep->faults = faults_now() - faults;
	progress_done(&prog);

	bye.objects = n;
	bye.frames = rep->frames;
	bye.bytes = rep->bytes;
	bye.mismatches = rep->mismatch;
	if (o->inject != INJECT_NONE && rep->frames <= n)
		cli_err("--inject: the stream ended before frame %" PRIu32
			", nothing was damaged",
			n);
	r = fdx_session_send_bye(s, &bye);
	if (r >= 0)
		r = fdx_session_recv_bye(s, &peer_bye);
	if (r >= 0 && peer_bye.frames != rep->frames)
		r = fdx_session_fail(s, -EPROTO,
				     "the consumer counted %" PRIu64 " frames, %" PRIu64
				     " were sent",
				     peer_bye.frames, rep->frames);
out:
	free(queue);
	free(sent);
	return r;
}

static int frame_mismatch(struct busguard *g, const struct fdx_held *h,
			  const struct fdx_object_result *res, struct stream_report *rep)
{
	struct fdx_diagnosis d;
	char what[64], msg[512];
	int r;

	if (rep->mismatch == 1)
		rep->first_bad_frame = h->obj.frame;
	if (rep->mismatch > MAX_REPORTED) {
		if (rep->mismatch == MAX_REPORTED + 1)
			cli_err("further mismatching frames are counted, not shown");
		return 0;
	}
	snprintf(what, sizeof(what), "frame %" PRIu64 " in buffer %" PRIu32, h->obj.frame,
		 h->obj.index);
	r = busguard_explain(g, h, res, what, msg, sizeof(msg), &d);
	if (r == 0)
		cli_err("%s", msg);
	return r;
}

static int consume_frames(struct fdx_session *s, bool verify, struct dump_plan *dump,
			  const struct consumer_aids *aids, struct fdx_held *objs,
			  uint32_t n, struct stream_report *rep, struct busguard *guard);

int stream_consume(struct fdx_session *s, bool verify, struct dump_plan *dump,
		   const struct consumer_aids *aids, struct fdx_held *objs, uint32_t n,
		   struct stream_report *rep)
{
	struct busguard guard = { .on = false };
	int r;

	/* buffers that may shrink are read under a SIGBUS guard, installed once for all
	 * frames; a ring of sealed buffers never touches the signal handlers */
	for (uint32_t i = 0; i < n && !guard.on; i++)
		if (fdx_held_may_shrink(&objs[i]) && (r = busguard_begin(&guard)) < 0)
			return fdx_session_fail(s, r, "cannot install a SIGBUS handler: %s",
						strerror(-r));
	r = consume_frames(s, verify, dump, aids, objs, n, rep, &guard);
	busguard_end(&guard);
	return r;
}

static int consume_frames(struct fdx_session *s, bool verify, struct dump_plan *dump,
			  const struct consumer_aids *aids, struct fdx_held *objs,
			  uint32_t n, struct stream_report *rep, struct busguard *guard)
{
	struct fdx_bye bye = { 0 }, peer_bye;
	struct progress prog;
	uint64_t t0;
	long faults;
	int r;

	memset(rep, 0, sizeof(*rep));
	fdx_hist_init(&rep->lat);
	progress_init(&prog);
	faults = faults_now();
	t0 = now_ns();
	for (;;) {
		struct fdx_object_result res = { .verdict = FDX_VERDICT_UNCHECKED };
		struct fdx_release rel = { 0 };
		struct fdx_ready ready;
		struct fdx_held *h;
		bool ended;
		uint64_t got;

		r = fdx_session_recv_frame(s, &ready, &ended, &peer_bye);
		if (r < 0)
			return r;
		if (ended)
			break;
		got = now_ns();
		/* the session checked that the buffer is one of the ring */
		h = &objs[ready.buffer];
		h->obj.frame = ready.frame;
		if (verify) {
			uint64_t v0 = now_ns();

			r = busguard_verify(guard, h, &res);
			if (r < 0)
				return consume_read_failed(s, h, r);
			rep->verify_seconds += (double)(now_ns() - v0) / 1e9;
			if (res.verdict != FDX_VERDICT_UNCHECKED)
				rep->verify_bytes += h->obj.size;
		}
		tally(rep, res.verdict);
		if (res.verdict == FDX_VERDICT_MISMATCH &&
		    (r = frame_mismatch(guard, h, &res, rep)) < 0)
			return consume_read_failed(s, h, r);
		if (dump && (r = busguard_dump(guard, dump, h, true)) < 0)
			return consume_read_failed(s, h, r);
		rep->frames++;
		rep->bytes += h->obj.size;
		rel.buffer = ready.buffer;
		rel.verdict = res.verdict;
		if (aids && aids->never_release) {
			/* a consumer that hangs on to frames: the producer must not wait
			 * forever */
			progress_tick(&prog, rep->frames, 0);
			continue;
		}
		if (aids && aids->slow_release_ms)
			nanosleep(
				&(struct timespec){
					.tv_sec = aids->slow_release_ms / 1000,
					.tv_nsec = (long)(aids->slow_release_ms % 1000) *
						   1000000 },
				NULL);
		r = fdx_session_send_release(s, &rel);
		if (r < 0)
			return r;
		fdx_hist_add(&rep->lat, now_ns() - got);
		progress_tick(&prog, rep->frames, 0);
	}
	rep->seconds = (double)(now_ns() - t0) / 1e9;
	rep->faults = faults_now() - faults;
	progress_done(&prog);
	if (peer_bye.frames != rep->frames) {
		fdx_session_fail(s, -EPROTO,
				 "the producer sent %" PRIu64 " frames, %" PRIu64
				 " arrived",
				 peer_bye.frames, rep->frames);
		/* say so instead of the BYE the producer waits for */
		fdx_session_send_error(s, FDX_EXIT_PEER, fdx_session_error(s));
		return -EPROTO;
	}
	/* in a stream the totals are the frames' */
	bye.objects = n;
	bye.frames = rep->frames;
	bye.bytes = rep->bytes;
	bye.mismatches = rep->mismatch;
	return fdx_session_send_bye(s, &bye);
}

void stream_print(const struct stream_report *rep, bool producer)
{
	double fps = rep->seconds > 0 ? (double)rep->frames / rep->seconds : 0;
	double gbs = rep->seconds > 0 ? (double)rep->bytes / rep->seconds / 1e9 : 0;
	char verify[64] = "", counts[160];

	if (!producer && rep->verify_seconds > 0 && rep->verify_bytes)
		snprintf(verify, sizeof(verify), "; verified at %.1f GB/s",
			 (double)rep->verify_bytes / rep->verify_seconds / 1e9);
	cli_verdict_counts(counts, sizeof(counts), rep->ok, rep->mismatch, rep->unchecked);
	if (rep->fanout) {
		size_t n = strlen(counts);

		snprintf(counts + n, sizeof(counts) - n,
			 "; %" PRIu64 " dropped, at most %" PRIu64 " frames behind",
			 rep->dropped, rep->max_lag);
	}
	cli_info("stream: %" PRIu64
		 " frames in %.2f s, %.0f fps, %.2f GB/s%s; %s p50 %.1f us, "
		 "p99 %.1f us, max %.1f us; %s; %ld page faults",
		 rep->frames, rep->seconds, fps, gbs, verify, producer ? "handoff" : "hold",
		 (double)fdx_hist_quantile(&rep->lat, 0.50) / 1e3,
		 (double)fdx_hist_quantile(&rep->lat, 0.99) / 1e3,
		 (double)rep->lat.max_ns / 1e3, counts, rep->faults);
}

struct json_object *stream_json(const struct stream_report *rep, bool producer)
{
	struct json_object *o = json_object_new_object();
	struct json_object *lat = json_object_new_object();
	double secs = rep->seconds > 0 ? rep->seconds : 0;

	json_object_object_add(o, "frames", json_object_new_uint64(rep->frames));
	json_object_object_add(o, "bytes", json_object_new_uint64(rep->bytes));
	json_object_object_add(o, "seconds", json_object_new_double(secs));
	json_object_object_add(
		o, "fps", json_object_new_double(secs ? (double)rep->frames / secs : 0));
	json_object_object_add(
		o, "bytes_per_second",
		json_object_new_double(secs ? (double)rep->bytes / secs : 0));
	json_object_object_add(lat, "p50",
			       json_object_new_uint64(fdx_hist_quantile(&rep->lat, 0.50)));
	json_object_object_add(lat, "p99",
			       json_object_new_uint64(fdx_hist_quantile(&rep->lat, 0.99)));
	json_object_object_add(lat, "max", json_object_new_uint64(rep->lat.max_ns));
	json_object_object_add(o, producer ? "handoff_ns" : "hold_ns", lat);
	json_object_object_add(o, "ok", json_object_new_uint64(rep->ok));
	json_object_object_add(o, "mismatch", json_object_new_uint64(rep->mismatch));
	json_object_object_add(o, "unchecked", json_object_new_uint64(rep->unchecked));
	json_object_object_add(o, "first_mismatch_frame",
			       rep->mismatch ? json_object_new_uint64(rep->first_bad_frame)
					     : NULL);
	if (!producer)
		json_object_object_add(
			o, "verify_bytes_per_second",
			json_object_new_double(rep->verify_seconds > 0
						       ? (double)rep->verify_bytes /
								 rep->verify_seconds
						       : 0));
	json_object_object_add(o, "page_faults", json_object_new_int64(rep->faults));
	if (producer) {
		json_object_object_add(o, "dropped", json_object_new_uint64(rep->dropped));
		json_object_object_add(o, "max_lag", json_object_new_uint64(rep->max_lag));
	}
	return o;
}
