/* cmd-doctor.c - `fdx doctor`: what this machine supports, and what fdx makes of it */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libsmartcols.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "fdx.h"
#include "probe.h"

/* the fds serve and connect keep for themselves besides objects (FD_RESERVE there) */
#define FD_RESERVE  32u
#define MAX_OBJECTS 65536u /* the most objects a consumer takes in a session */
#define ACTION_MAX  256

struct doctor_opts {
	int json, quiet;
};

_printf_(3, 4) static const char *say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return buf;
}

/* "2 MiB" for a huge page size; sizes here are powers of two */
static const char *page_text(int64_t kb, char *buf, size_t cap)
{
	if (kb >= 1024 * 1024 && kb % (1024 * 1024) == 0)
		return say(buf, cap, "%" PRId64 " GiB", kb / (1024 * 1024));
	if (kb >= 1024 && kb % 1024 == 0)
		return say(buf, cap, "%" PRId64 " MiB", kb / 1024);
	return say(buf, cap, "%" PRId64 " KiB", kb);
}

static const char *action_rlimit(const struct fdx_probe *p, char *buf, size_t cap)
{
	int64_t hard = fdx_probe_detail(p, "hard", 0);
	uint64_t room;

	if (p->status == FDX_PROBE_ERROR)
		return "assume the soft limit it finds";
	if (hard < 0)
		return say(
			buf, cap,
			"raise the soft limit as far as the kernel allows at start: room "
			"for %u objects per session",
			MAX_OBJECTS);
	room = (uint64_t)hard > FD_RESERVE ? (uint64_t)hard - FD_RESERVE : 0;
	if (room > MAX_OBJECTS)
		room = MAX_OBJECTS;
	return say(buf, cap,
		   "raise the soft limit to %" PRId64 " at start: room for %" PRIu64
		   " one-fd objects per session%s",
		   hard, room,
		   p->status == FDX_PROBE_LIMITED
			   ? "; raise the hard limit (ulimit -Hn, limits.conf) for more"
			   : "");
}

/*
 * What fdx does about a finding, in a few words for the FDX WILL column. The backends
 * named here are those of `fdx serve --backend`.
 */
static const char *action(const struct fdx_probe *p, char *buf, size_t cap)
{
	bool ok = p->status == FDX_PROBE_OK;
	char size[32];

	switch (p->id) {
	case FDX_PROBE_MEMFD_SEALS:
		return ok ? "seal every buffer it sends (shrink,grow,seal); consumers insist "
			    "on the shrink seal"
			  : "fail to make buffers: the memfd backend needs sealing";
	case FDX_PROBE_SEAL_FUTURE_WRITE:
		return "not use it: consumers map every buffer read-only instead";
	case FDX_PROBE_MFD_NOEXEC_SEAL:
		return ok ? "make every memfd non-executable (exec seal)"
			  : "fall back to sealable memfds without the exec seal";
	case FDX_PROBE_MEMFD_NOEXEC_SYSCTL:
		if (p->status == FDX_PROBE_MISSING)
			return "nothing: fdx's memfds are sealed against everything but exec";
		return "ask for MFD_NOEXEC_SEAL itself: this setting changes nothing for "
		       "fdx";
	case FDX_PROBE_MFD_HUGETLB:
		return ok ? "--backend memfd-huge makes huge-page memfds (when pages are "
			    "free)"
			  : "--backend memfd-huge fails, naming MFD_HUGETLB";
	case FDX_PROBE_HUGEPAGES:
		if (ok)
			return say(buf, cap,
				   "--backend memfd-huge has %" PRId64 " free page%s of %s",
				   p->value, p->value == 1 ? "" : "s",
				   page_text(fdx_probe_detail(p, "size_kb", 0), size,
					     sizeof(size)));
		if (p->status == FDX_PROBE_MISSING && p->ndetails)
			return "reserve some: echo N > /proc/sys/vm/nr_hugepages; --backend "
			       "memfd-huge fails without them";
		return "--backend memfd-huge fails, naming the huge pages it lacks";
	case FDX_PROBE_DEV_SHM:
		if (ok)
			return "--backend shm and tmpfile (by default) put buffers there";
		if (p->status == FDX_PROBE_LIMITED)
			return "--backend shm fails with ENOSPC for buffers beyond its free "
			       "space; tmpfile takes --dir";
		return "--backend shm fails; tmpfile needs --dir";
	case FDX_PROBE_SHM_OPEN:
		return ok ? "--backend shm: O_EXCL, unlinked at once; consumers read under a "
			    "SIGBUS guard (shm cannot be sealed)"
			  : "--backend shm fails, naming shm_open";
	case FDX_PROBE_TMPFILE:
		return ok ? say(buf, cap, "--backend tmpfile can use --dir %s",
				p->name + strlen("tmpfile:"))
			  : say(buf, cap,
				"--backend tmpfile fails in %s: give another --dir",
				p->name + strlen("tmpfile:"));
	case FDX_PROBE_PIDFD_OPEN:
		return ok ? "open pidfds for verify --pid and stat's seals"
			  : "fail verify --pid; stat shows no seals";
	case FDX_PROBE_PIDFD_GETFD:
		return ok ? "take fds of other processes: verify --pid, stat's SEALS"
			  : "fail verify --pid; stat leaves SEALS empty";
	case FDX_PROBE_PTRACE:
		if (ok)
			return "verify --pid and stat's SEALS reach every process of this user";
		if (p->status == FDX_PROBE_DENIED)
			return "verify --pid and stat's SEALS reach only what ptrace allows: "
			       "run as root, with CAP_SYS_PTRACE, or lower "
			       "kernel.yama.ptrace_scope";
		return "fail verify --pid; stat leaves SEALS empty";
	case FDX_PROBE_SO_PEERCRED:
		return ok ? "learn each client's pid at accept (serve's report)"
			  : "report clients without their pid";
	case FDX_PROBE_SO_PEERPIDFD:
		return ok ? "not need it yet: a peer is named by SO_PEERCRED at connect"
			  : "name a peer by SO_PEERCRED at connect";
	case FDX_PROBE_SO_PASSRIGHTS:
		return ok ? "can refuse fds at the socket where none may come"
			  : "close fds that come where none may, and drop that peer";
	case FDX_PROBE_DMA_HEAPS:
		if (ok)
			return "--backend dma-heap[:NAME] allocates from these heaps";
		if (p->status == FDX_PROBE_DENIED)
			return say(buf, cap, "--backend dma-heap fails: %s cannot be read",
				   FDX_PROBE_DMA_HEAP_DIR);
		return say(buf, cap, "--backend dma-heap fails, naming %s",
			   FDX_PROBE_DMA_HEAP_DIR);
	case FDX_PROBE_DMA_HEAP:
		if (ok)
			return say(buf, cap, "--backend %s allocates buffers here",
				   p->name);
		if (p->status == FDX_PROBE_DENIED)
			return say(buf, cap,
				   "--backend %s fails: no permission (join the device's "
				   "group)",
				   p->name);
		return say(buf, cap, "--backend %s fails", p->name);
	case FDX_PROBE_UDMABUF:
		if (ok)
			return "--backend udmabuf turns sealed memfds into DMA-BUFs";
		if (p->status == FDX_PROBE_DENIED)
			return "--backend udmabuf fails: no permission on /dev/udmabuf";
		if (p->status == FDX_PROBE_MISSING)
			return "--backend udmabuf fails, naming /dev/udmabuf (modprobe "
			       "udmabuf)";
		return "--backend udmabuf fails";
	case FDX_PROBE_RLIMIT_NOFILE:
		return action_rlimit(p, buf, cap);
	case FDX_PROBE_SCM_MAX_FD:
		if (ok || (p->status == FDX_PROBE_LIMITED && p->has_value))
			return say(
				buf, cap,
				"send at most %u fds per message (an object has %u at most)",
				FDX_SCM_MAX_FD, FDX_MAX_PLANES);
		return "fail to send fds";
	case FDX_PROBE_SEQPACKET:
		return ok ? "talk over SOCK_SEQPACKET, its default transport"
			  : "fail over its default transport, SOCK_SEQPACKET";
	case FDX_PROBE_DATA_RECORD:
		if (ok)
			return "send serve --copy's bytes in DATA records of 128 KiB";
		if (p->status == FDX_PROBE_LIMITED)
			return "fail serve --copy (message too long): raise "
			       "net.core.wmem_default";
		return "fail serve --copy";
	}
	return "";
}

/* ---- text ---- */

/* The terminal's width, or 0 when stdout is not a terminal: then lines are not wrapped. */
static size_t term_width(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return 0;
	return ws.ws_col;
}

/*
 * s broken at spaces into lines of at most width columns (a longer word stays whole), in
 * a malloc'ed copy; libsmartcols wraps at the newlines (its own wrap cuts words).
 */
static char *wrap(const char *s, size_t width)
{
	char *out = strdup(s);
	size_t line = 0, last = 0; /* start of the line; last space seen in it */

	if (!out || width == 0)
		return out;
	/* the table prints these raw: a heap's name must not reach the terminal as
	 * control characters */
	for (size_t i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	for (size_t i = 0; out[i]; i++) {
		if (out[i] == ' ')
			last = i;
		if (i - line >= width && last > line) {
			out[last] = '\n';
			line = last + 1;
		}
	}
	return out;
}

enum { COL_ITEM, COL_STATUS, COL_FOUND, COL_WILL, NCOLS };

static bool shown(const struct doctor_opts *o, const struct fdx_probe *p)
{
	return !o->quiet || p->status != FDX_PROBE_OK;
}

static int oom(void)
{
	cli_err("out of memory");
	return FDX_EXIT_SYSTEM;
}

/* The longest word of s: what a column must hold for it to wrap at spaces only. */
static size_t longest_word(const char *s)
{
	size_t most = 0, n;

	for (; *s; s += n + (s[n] == ' ')) {
		n = strcspn(s, " ");
		if (n > most)
			most = n;
	}
	return most;
}

/* Widths of FOUND and FDX WILL on a terminal of width cols; 0: do not wrap. */
static void text_widths(const struct doctor_opts *o, const struct fdx_probe_list *l,
			size_t cols, size_t *found, size_t *will)
{
	size_t item = strlen("ITEM"), rest, word_f = 0, word_w = 0;

	*found = *will = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct fdx_probe *p = &l->v[i];
		char buf[ACTION_MAX];
		size_t w;

		if (!shown(o, p))
			continue;
		if (strlen(p->name) > item)
			item = strlen(p->name);
		if ((w = longest_word(p->found)) > word_f)
			word_f = w;
		if ((w = longest_word(action(p, buf, sizeof(buf)))) > word_w)
			word_w = w;
	}
	/* ITEM, STATUS ("missing") and the three spaces between the four columns */
	if (cols < item + 7 + 3 + 40)
		return;
	rest = cols - item - 7 - 3;
	/* a little more room for what was found; each column at least its longest word
	 * (a terminal too narrow for both gets longer lines, never cut words) */
	*will = rest * 9 / 20 > word_w ? rest * 9 / 20 : word_w;
	*found = rest - *will > word_f ? rest - *will : word_f;
}

static int print_text(const struct doctor_opts *o, const struct fdx_probe_host *h,
		      const struct fdx_probe_list *l)
{
	static const char *const names[NCOLS] = { "ITEM", "STATUS", "FOUND", "FDX WILL" };
	size_t counts[FDX_PROBE_ERROR + 1] = { 0 }, found_w, will_w, rows = 0;
	struct libscols_table *tb = scols_new_table();
	int rc = FDX_EXIT_OK, r;

	if (!tb)
		return oom();
	text_widths(o, l, term_width(), &found_w, &will_w);
	/* the newlines wrap() puts in must stay newlines, not become \x0a */
	if (found_w)
		scols_table_enable_noencoding(tb, 1);
	for (int c = 0; c < NCOLS; c++) {
		struct libscols_column *cl = scols_table_new_column(
			tb, names[c], 0, c >= COL_FOUND && found_w ? SCOLS_FL_WRAP : 0);

		if (!cl) {
			scols_unref_table(tb);
			return oom();
		}
		if (c >= COL_FOUND && found_w)
			scols_column_set_wrapfunc(cl, scols_wrapnl_chunksize,
						  scols_wrapnl_nextchunk, NULL);
	}
	for (size_t i = 0; i < l->n && rc == FDX_EXIT_OK; i++) {
		const struct fdx_probe *p = &l->v[i];
		char buf[ACTION_MAX];
		struct libscols_line *ln;
		char *found, *will;

		counts[p->status]++;
		if (!shown(o, p))
			continue;
		ln = scols_table_new_line(tb, NULL);
		found = wrap(p->found, found_w);
		will = wrap(action(p, buf, sizeof(buf)), will_w);
		/* set_data copies; refer_data takes over the strings wrap() made */
		if (!ln || !found || !will ||
		    scols_line_set_data(ln, COL_ITEM, p->name) < 0 ||
		    scols_line_set_data(ln, COL_STATUS, fdx_probe_status_name(p->status)) <
			    0 ||
		    scols_line_refer_data(ln, COL_FOUND, found) < 0) {
			free(found);
			free(will);
			rc = oom();
			break;
		}
		if (scols_line_refer_data(ln, COL_WILL, will) < 0) {
			free(will);
			rc = oom();
			break;
		}
		rows++;
	}
	if (rc != FDX_EXIT_OK) {
		scols_unref_table(tb);
		return rc;
	}
	if (!o->quiet)
		printf("%s %s %s\n\n", h->sysname, h->release, h->machine);
	if (rows) {
		r = scols_print_table(tb);
		/* a write error is left for cli_close_stdout() to report */
		if (r < 0 && !ferror(stdout)) {
			cli_err("cannot print the table: %s", strerror(-r));
			rc = FDX_EXIT_SYSTEM;
		}
	}
	scols_unref_table(tb);
	if (!o->quiet)
		printf("\n%zu items: %zu ok, %zu missing, %zu denied, %zu limited, %zu error\n",
		       l->n, counts[FDX_PROBE_OK], counts[FDX_PROBE_MISSING],
		       counts[FDX_PROBE_DENIED], counts[FDX_PROBE_LIMITED],
		       counts[FDX_PROBE_ERROR]);
	return rc;
}

/* ---- JSON ---- */

static struct json_object *probe_json(const struct fdx_probe *p)
{
	struct json_object *o = json_object_new_object(), *d = json_object_new_object();
	char buf[ACTION_MAX];

	if (!o || !d) {
		json_object_put(o);
		json_object_put(d);
		return NULL;
	}
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "status",
			       json_object_new_string(fdx_probe_status_name(p->status)));
	json_object_object_add(o, "value",
			       p->has_value ? json_object_new_int64(p->value) : NULL);
	json_object_object_add(o, "found", json_object_new_string(p->found));
	json_object_object_add(o, "action",
			       json_object_new_string(action(p, buf, sizeof(buf))));
	json_object_object_add(o, "errno", p->err ? json_object_new_int(p->err) : NULL);
	for (unsigned i = 0; i < p->ndetails; i++)
		json_object_object_add(d, p->details[i].key,
				       json_object_new_int64(p->details[i].value));
	json_object_object_add(o, "details", d);
	return o;
}

static int print_json(const struct doctor_opts *o, const struct fdx_probe_host *h,
		      const struct fdx_probe_list *l)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *k = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct json_object *sum = json_object_new_object();
	size_t counts[FDX_PROBE_ERROR + 1] = { 0 };

	if (!doc || !k || !arr || !sum) {
		json_object_put(doc);
		json_object_put(k);
		json_object_put(arr);
		json_object_put(sum);
		return oom();
	}
	json_object_object_add(k, "sysname", json_object_new_string(h->sysname));
	json_object_object_add(k, "release", json_object_new_string(h->release));
	json_object_object_add(k, "machine", json_object_new_string(h->machine));
	json_object_object_add(doc, "kernel", k);
	for (size_t i = 0; i < l->n; i++) {
		struct json_object *p;

		counts[l->v[i].status]++;
		if (!shown(o, &l->v[i]))
			continue;
		p = probe_json(&l->v[i]);
		if (!p) {
			json_object_put(doc);
			json_object_put(arr);
			json_object_put(sum);
			return oom();
		}
		json_object_array_add(arr, p);
	}
	json_object_object_add(doc, "probes", arr);
	for (int s = FDX_PROBE_OK; s <= FDX_PROBE_ERROR; s++)
		json_object_object_add(sum, fdx_probe_status_name((enum fdx_probe_status)s),
				       json_object_new_uint64(counts[s]));
	json_object_object_add(doc, "summary", sum);
	cli_print_json(doc, FDX_EXIT_OK);
	return FDX_EXIT_OK;
}

static int doctor_main(const struct doctor_opts *o)
{
	struct fdx_probe_host h;
	struct fdx_probe_list l;
	int r, rc;

	r = fdx_probe_host(&h);
	if (r < 0) {
		cli_err("cannot name the kernel: uname: %s", strerror(-r));
		return FDX_EXIT_SYSTEM;
	}
	r = fdx_probe_all(&l);
	if (r < 0) {
		cli_err("cannot run the probes: %s", strerror(-r));
		return FDX_EXIT_SYSTEM;
	}
	rc = o->json ? print_json(o, &h, &l) : print_text(o, &h, &l);
	fdx_probe_list_free(&l);
	return rc;
}

static int doctor_run(int argc, const char **argv)
{
	struct doctor_opts o = { 0 };
	struct poptOption options[] = { { "json", '\0', POPT_ARG_NONE, &o.json, 0,
					  "print a JSON report: one object per probe",
					  NULL },
					{ "quiet", 'q', POPT_ARG_NONE, &o.quiet, 0,
					  "show only the problems: what is not ok", NULL },
					CLI_HELP_TABLE,
					POPT_TABLEEND };
	poptContext pc = poptGetContext(cli_prog, argc, argv, options, 0);
	int rc = cli_parse(pc, "[OPTIONS]");

	if (rc < 0)
		rc = doctor_main(&o);
	poptFreeContext(pc);
	return rc;
}

const struct fdx_cmd fdx_cmd_doctor = {
	.name = "doctor",
	.run = doctor_run,
	.summary = "probe what this kernel and machine support, and what fdx will do",
};
