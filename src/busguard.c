/* busguard.c - reading buffers a peer can shrink under our mappings: a SIGBUS guard, and
 * the consumer's reads of an object (verify, explain, dump) done under it when needed */
#include <errno.h>
#include <setjmp.h>
#include <string.h>

#include "busguard.h"
#include "report.h"

/* A signal handler has nowhere else to find where to jump back to: the command layer's
 * one piece of state for it, armed only while a guarded read runs. */
static sigjmp_buf jump;
static volatile sig_atomic_t armed;

static void on_sigbus(int sig)
{
	if (armed) {
		armed = 0;
		siglongjmp(jump, 1);
	}
	/* not a read of ours: die of it, as the process would have without the guard */
	signal(sig, SIG_DFL);
	raise(sig);
}

int busguard_begin(struct busguard *g)
{
	/* SA_NODEFER: SIGBUS is not left blocked after the jump, so the jump needs not
	 * restore the signal mask, and a guarded call needs no system call */
	struct sigaction sa = { .sa_handler = on_sigbus, .sa_flags = SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &g->old) < 0)
		return -errno;
	g->on = true;
	return 0;
}

int busguard_call(struct busguard *g, int (*fn)(void *), void *arg)
{
	/* the jump back lands here with the registers of this call: keep r in memory */
	volatile int r = -EFAULT;

	(void)g;
	if (sigsetjmp(jump, 0) == 0) {
		armed = 1;
		r = fn(arg);
	}
	armed = 0;
	return r;
}

void busguard_end(struct busguard *g)
{
	if (g->on)
		sigaction(SIGBUS, &g->old, NULL);
	g->on = false;
}

int busguard_run(int (*fn)(void *), void *arg)
{
	struct busguard g = { .on = false };
	int r = busguard_begin(&g);

	if (r < 0)
		return r;
	r = busguard_call(&g, fn, arg);
	busguard_end(&g);
	return r;
}

/* fn(arg) reads h: bracketed for DMA-BUFs, guarded when h may shrink. */
static int read_held(struct busguard *g, const struct fdx_held *h, int (*fn)(void *),
		     void *arg)
{
	int r = fdx_held_cpu_begin(h, false), e;

	if (r < 0)
		return r;
	if (!fdx_held_may_shrink(h))
		r = fn(arg);
	else if (g && g->on)
		r = busguard_call(g, fn, arg);
	else
		r = busguard_run(fn, arg);
	e = fdx_held_cpu_end(h, false);
	return r < 0 ? r : e;
}

struct verify_call {
	const struct fdx_held *h;
	struct fdx_object_result *res;
};

static int do_verify(void *arg)
{
	struct verify_call *c = arg;

	fdx_held_verify(c->h, c->res);
	return 0;
}

int busguard_verify(struct busguard *g, const struct fdx_held *h,
		    struct fdx_object_result *res)
{
	struct verify_call c = { .h = h, .res = res };

	return read_held(g, h, do_verify, &c);
}

struct explain_call {
	const struct fdx_held *h;
	const struct fdx_object_result *res;
	const char *what;
	char *msg;
	size_t cap;
	struct fdx_diagnosis *d;
};

static int do_explain(void *arg)
{
	struct explain_call *c = arg;

	report_mismatch(c->h, c->res, c->what, c->msg, c->cap, c->d);
	return 0;
}

int busguard_explain(struct busguard *g, const struct fdx_held *h,
		     const struct fdx_object_result *res, const char *what, char *msg,
		     size_t cap, struct fdx_diagnosis *d)
{
	struct explain_call c = {
		.h = h, .res = res, .what = what, .msg = msg, .cap = cap, .d = d
	};

	msg[0] = '\0';
	d->kind = FDX_DIAG_NONE;
	return read_held(g, h, do_explain, &c);
}

struct copy_call {
	const struct fdx_held *from;
	struct fdx_held *to;
};

static int do_copy(void *arg)
{
	struct copy_call *c = arg;

	for (unsigned i = 0; i < c->from->nbufs; i++)
		memcpy(c->to->bufs[i].map, c->from->bufs[i].map,
		       (size_t)c->from->bufs[i].length);
	return 0;
}

/* A private copy of h, the same object at the same places, taken under the guard. */
static int snapshot(struct busguard *g, const struct fdx_held *h, struct fdx_held *snap)
{
	struct copy_call c = { .from = h, .to = snap };
	int r;

	fdx_held_init(snap);
	snap->obj = h->obj;
	for (unsigned i = 0; i < h->nbufs; i++) {
		r = fdx_buffer_anon(&snap->bufs[i], h->bufs[i].length);
		if (r < 0)
			goto fail;
		/* plane offsets are counted from the file's start, as in h */
		snap->bufs[i].offset = h->bufs[i].offset;
		snap->nbufs = i + 1;
	}
	r = read_held(g, h, do_copy, &c);
	if (r == 0)
		return 0;
fail:
	fdx_held_release(snap);
	return r;
}

int busguard_dump(struct busguard *g, struct dump_plan *d, const struct fdx_held *h,
		  bool frame)
{
	struct fdx_held snap;
	int r;

	if (!d->dir)
		return 0;
	/* a frame whose turn it is not is only counted: nothing of h is read */
	if (frame && !dump_frame_due(d)) {
		dump_frame(d, h);
		return 0;
	}
	if (!fdx_held_may_shrink(h)) {
		r = fdx_held_cpu_begin(h, false);
		if (r < 0)
			return r;
		if (frame)
			dump_frame(d, h);
		else
			dump_object(d, h);
		return fdx_held_cpu_end(h, false);
	}
	r = snapshot(g, h, &snap);
	if (r < 0)
		return r;
	if (frame)
		dump_frame(d, &snap);
	else
		dump_object(d, &snap);
	fdx_held_release(&snap);
	return 0;
}
