/* busguard.h - reading buffers a peer can shrink under our mappings: a SIGBUS guard, and
 * the consumer's reads of an object (verify, explain, dump) done under it when needed */
#ifndef FDX_BUSGUARD_H
#define FDX_BUSGUARD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "dump.h"
#include "object.h"

/*
 * A file without the shrink seal can be truncated by its owner while we map it; reading
 * a page past the new end raises SIGBUS (FAULTS 19, 25). Under the guard that SIGBUS ends
 * the read early instead of the process. The guarded function must not take locks,
 * allocate or do stdio: it is left by siglongjmp. One guard at a time (single-threaded).
 */
struct busguard {
	struct sigaction old;
	bool on;
};

/* Run fn(arg) under a guard installed for this call: fn's return, or -EFAULT when a
 * SIGBUS cut it short. The SIGBUS handler there before is put back. */
int busguard_run(int (*fn)(void *), void *arg);

/*
 * For loops (a stream): install the handler once, then busguard_call() per frame costs
 * no system call. busguard_end() puts the old handler back; a guard that was not begun
 * (on false) is a no-op to end.
 */
int busguard_begin(struct busguard *g);
int busguard_call(struct busguard *g, int (*fn)(void *), void *arg);
void busguard_end(struct busguard *g);

/*
 * The consumer's reads of h: directly when h cannot shrink (the fast path, no signal
 * handling at all), else under g -- or, when g is NULL or not begun, a guard for the
 * call. DMA-BUFs are bracketed with DMA_BUF_IOCTL_SYNC. -EFAULT: h was truncated while
 * it was read (the results are unusable); other -errno: the DMA-BUF sync failed.
 */
int busguard_verify(struct busguard *g, const struct fdx_held *h,
		    struct fdx_object_result *res);

/* report_mismatch() (which reads h again to diagnose it) the same way. */
int busguard_explain(struct busguard *g, const struct fdx_held *h,
		     const struct fdx_object_result *res, const char *what, char *msg,
		     size_t cap, struct fdx_diagnosis *d);

/*
 * dump_object() (frame false) or dump_frame() (true). Writing files cannot be cut short
 * by a signal, so an object that may shrink is first copied into private memory under
 * the guard, and that copy is dumped.
 */
int busguard_dump(struct busguard *g, struct dump_plan *d, const struct fdx_held *h,
		  bool frame);

#endif
