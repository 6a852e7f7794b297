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

#include "cli.h"
#include "fdx.h"
#include "object.h"
#include "pattern.h"
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

/* The stream's testing aids, applied to the first frame that reuses a buffer. */
static void fill_frame(const struct stream_opts *o, struct fdx_buffer *b, uint64_t frame,
		       bool damage)
{
	struct fdx_pattern p;
	uint64_t len = b->length;

	if (!o->fill)
		return;
	fdx_pattern_init(&p, o->seed, frame);
	if (damage && o->inject == INJECT_STALE)
		return; /* the buffer keeps the frame it had */
	if (damage && o->inject == INJECT_TORN)
		len /= 2; /* the second half keeps the frame it had */
	fdx_pattern_fill(&p, b->map, len, 0);
	if (damage && o->inject == INJECT_FLIP)
		b->map[o->flip_offset] ^= 0xff;
}

int stream_produce(struct fdx_session *s, const struct stream_opts *o,
		   struct fdx_buffer *bufs, uint32_t n, uint64_t size,
		   struct stream_report *rep)
{
	/* everything the loop needs is set up here: nothing is allocated per frame */
	uint32_t *queue = calloc(n, sizeof(*queue));
	uint64_t *sent = calloc(n, sizeof(*sent));
	uint32_t head = 0, qlen = n;
	uint64_t f = 0, deadline = 0, t0;
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
	t0 = now_ns();
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
		if (poll(&pfd, 1, 250) < 0) {
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
			fill_frame(o, &bufs[b], f, o->inject != INJECT_NONE && f == n);
			sent[b] = now_ns();
			r = o->copy ? fdx_session_send_data(s, b, bufs[b].map, size) : 0;
			if (r >= 0)
				r = fdx_session_send_ready(s, b, f);
			if (r < 0)
				goto out;
			f++;
			rep->frames++;
			rep->bytes += size;
		}
		progress_tick(&prog, f, o->frames);
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

static void report_mismatch(const struct received *h, const struct fdx_object *o,
			    const struct fdx_verify_result *vr, struct stream_report *rep)
{
	struct fdx_diagnosis d;
	char why[160];

	if (rep->mismatch == 1)
		rep->first_bad_frame = o->frame;
	if (rep->mismatch > MAX_REPORTED) {
		if (rep->mismatch == MAX_REPORTED + 1)
			cli_err("further mismatching frames are counted, not shown");
		return;
	}
	fdx_object_diagnose(o, h->bufs, FDX_DIAG_WINDOW, &d);
	fdx_diagnosis_describe(&d, why, sizeof(why));
	cli_err("frame %" PRIu64 " in buffer %" PRIu32
		" differs from the pattern at offset %" PRIu64 " (%" PRIu64 " byte%s); %s",
		o->frame, o->index, vr->first_mismatch, vr->mismatched_bytes,
		vr->mismatched_bytes == 1 ? "" : "s", why);
}

int stream_consume(struct fdx_session *s, bool verify, struct received *objs, uint32_t n,
		   struct stream_report *rep)
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
		struct fdx_verify_result vr = { .first_mismatch = FDX_NO_OFFSET };
		struct fdx_release rel = { 0 };
		struct fdx_ready ready;
		struct fdx_object o;
		unsigned verdict = FDX_VERDICT_UNCHECKED;
		bool ended;
		uint64_t got;

		r = fdx_session_recv_frame(s, &ready, &ended, &peer_bye);
		if (r < 0)
			return r;
		if (ended)
			break;
		got = now_ns();
		/* the session checked that the buffer is one of the ring */
		o = objs[ready.buffer].obj;
		o.frame = ready.frame;
		if (verify) {
			uint64_t v0 = now_ns();

			verdict = fdx_object_verify(&o, objs[ready.buffer].bufs, &vr);
			rep->verify_seconds += (double)(now_ns() - v0) / 1e9;
			if (verdict != FDX_VERDICT_UNCHECKED)
				rep->verify_bytes += o.size;
		}
		tally(rep, verdict);
		if (verdict == FDX_VERDICT_MISMATCH)
			report_mismatch(&objs[ready.buffer], &o, &vr, rep);
		rep->frames++;
		rep->bytes += o.size;
		rel.buffer = ready.buffer;
		rel.verdict = verdict;
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
	char verify[64] = "", counts[96];

	if (!producer && rep->verify_seconds > 0 && rep->verify_bytes)
		snprintf(verify, sizeof(verify), "; verified at %.1f GB/s",
			 (double)rep->verify_bytes / rep->verify_seconds / 1e9);
	cli_verdict_counts(counts, sizeof(counts), rep->ok, rep->mismatch, rep->unchecked);
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
	return o;
}
