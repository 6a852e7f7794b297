/* cli.c - shared option tables, argument parsing, messages and output for the commands */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "channel.h"
#include "cli.h"
#include "dump.h"
#include "fdx.h"
#include "session.h"

struct cli_common cli;
const char *cli_prog = "fdx";

enum { OPT_HELP = 1000, OPT_USAGE, OPT_VERSION };

struct poptOption cli_common_options[] = {
	{ "socket", 's', POPT_ARG_STRING, &cli.socket, 0,
	  "socket path (default: $XDG_RUNTIME_DIR/fdx.sock or /tmp/fdx-UID/fdx.sock)",
	  "PATH" },
	{ "transport", '\0', POPT_ARG_STRING, &cli.transport_s, 0,
	  "seqpacket (default: messages keep their boundaries) or stream (framed by "
	  "length, as TI's demo speaks)",
	  "KIND" },
	{ "allow-uid", '\0', POPT_ARG_STRING, &cli.allow_s, 0,
	  "the users the peer may run as: uids or names (default: this user and root)",
	  "UID[,UID...]" },
	{ "timeout", '\0', POPT_ARG_STRING, &cli.timeout_s, 0,
	  "longest wait for the peer: a reply, an ACK, a RELEASE, a frame (default 30, 0 = "
	  "no limit)",
	  "SECONDS" },
	{ "verbose", 'v', POPT_ARG_NONE, &cli.verbose, 0,
	  "print the protocol trace on stderr", NULL },
	{ "quiet", 'q', POPT_ARG_NONE, &cli.quiet, 0, "print nothing but errors", NULL },
	{ "json", '\0', POPT_ARG_NONE, &cli.json, 0, "print a JSON report on stdout",
	  NULL },
	POPT_TABLEEND
};

struct poptOption cli_help_options[] = { { "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP,
					   "show this help and exit", NULL },
					 { "usage", '\0', POPT_ARG_NONE, NULL, OPT_USAGE,
					   "show a short usage message and exit", NULL },
					 { "version", 'V', POPT_ARG_NONE, NULL, OPT_VERSION,
					   "print the version and exit", NULL },
					 POPT_TABLEEND };

static char last_error[512];
static int stdout_errno; /* why a flush of stdout failed, for cli_close_stdout() */

void cli_err(const char *fmt, ...)
{
	va_list ap;

	/* what was written before the error comes first; a failed flush keeps its why */
	errno = 0;
	if (fflush(stdout) != 0 && !stdout_errno)
		stdout_errno = errno;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", cli_prog, last_error);
}

const char *cli_last_error(void)
{
	return last_error;
}

void cli_info(const char *fmt, ...)
{
	va_list ap;

	if (cli.quiet || cli.json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* "fdx serve" is documented in fdx-serve(1) */
static const char *cli_man_page(void)
{
	static char page[64];

	snprintf(page, sizeof(page), "%s", cli_prog);
	for (char *c = page; *c; c++)
		if (*c == ' ')
			*c = '-';
	return page;
}

static int parse(poptContext pc, const char *usage_args, bool args);

/* --allow-uid: numbers or user names, comma separated. */
static int parse_allow(const char *list)
{
	const char *t = list;

	cli.nallow = 0;
	for (;;) {
		size_t len = strcspn(t, ",");
		char name[64];
		struct passwd *pw;
		uint64_t v;

		if (!len || len >= sizeof(name) ||
		    cli.nallow == FDX_ARRAY_SIZE(cli.allow)) {
			cli_err("--allow-uid: '%s' is not a list of up to %zu users", list,
				FDX_ARRAY_SIZE(cli.allow));
			return -EINVAL;
		}
		memcpy(name, t, len);
		name[len] = '\0';
		if (isdigit((unsigned char)name[0])) {
			if (cli_parse_u64("--allow-uid", name, 0, UINT32_MAX - 1, false,
					  &v) < 0)
				return -EINVAL;
			cli.allow[cli.nallow++] = (uid_t)v;
		} else if ((pw = getpwnam(name))) {
			cli.allow[cli.nallow++] = pw->pw_uid;
		} else {
			cli_err("--allow-uid: no user '%s'", name);
			return -EINVAL;
		}
		if (!t[len])
			return 0;
		t += len + 1;
	}
}

bool cli_peer_allowed(int fd, char *why, size_t cap)
{
	uid_t uid;
	int r = fdx_channel_peer_uid(fd, &uid);

	if (r < 0) {
		snprintf(why, cap, "cannot tell who the peer is: %s", strerror(-r));
		return false;
	}
	if (!cli.nallow) {
		if (uid == geteuid() || uid == 0)
			return true;
		snprintf(
			why, cap,
			"the peer runs as uid %u: only this user (%u) and root may, unless "
			"--allow-uid says otherwise",
			(unsigned)uid, (unsigned)geteuid());
		return false;
	}
	for (unsigned i = 0; i < cli.nallow; i++)
		if (cli.allow[i] == uid)
			return true;
	snprintf(why, cap, "the peer runs as uid %u, which --allow-uid does not name",
		 (unsigned)uid);
	return false;
}

int cli_session_admit(struct fdx_session *s, const char *path, bool server, bool producer)
{
	char why[200];

	if ((server || fdx_channel_is_abstract(path)) &&
	    !cli_peer_allowed(s->fd, why, sizeof(why))) {
		fdx_session_fail(s, -EPERM, "%s", why);
		fdx_session_send_error(s, FDX_EXIT_PEER, why);
		return -EPERM;
	}
	if (producer)
		cli_refuse_fds(s->fd);
	return 0;
}

void cli_refuse_fds(int fd)
{
	/* a kernel without SO_PASSRIGHTS still has the session's own checks */
	(void)fdx_channel_refuse_fds(fd);
}

int cli_parse(poptContext pc, const char *usage_args)
{
	return parse(pc, usage_args, false);
}

int cli_parse_with_args(poptContext pc, const char *usage_args)
{
	return parse(pc, usage_args, true);
}

static int parse(poptContext pc, const char *usage_args, bool args)
{
	int rc;

	poptSetOtherOptionHelp(pc, usage_args);
	while ((rc = poptGetNextOpt(pc)) > 0) {
		switch (rc) {
		case OPT_HELP:
			poptPrintHelp(pc, stdout, 0);
			printf("\nSee %s(1) for details and exit statuses.\n",
			       cli_man_page());
			return FDX_EXIT_OK;
		case OPT_USAGE:
			poptPrintUsage(pc, stdout, 0);
			return FDX_EXIT_OK;
		case OPT_VERSION:
			printf("%s %s\n", cli_prog, PACKAGE_VERSION);
			return FDX_EXIT_OK;
		}
	}
	if (rc < -1) {
		cli_err("%s: %s\nTry '%s --help' for more information.",
			poptBadOption(pc, POPT_BADOPTION_NOALIAS), poptStrerror(rc),
			cli_prog);
		return FDX_EXIT_USAGE;
	}
	if (!args && poptPeekArg(pc)) {
		cli_err("unexpected argument '%s'\nTry '%s --help' for more information.",
			poptPeekArg(pc), cli_prog);
		return FDX_EXIT_USAGE;
	}
	if (cli.quiet && cli.verbose) {
		cli_err("--quiet and --verbose exclude each other");
		return FDX_EXIT_USAGE;
	}
	if (cli.allow_s && parse_allow(cli.allow_s) < 0)
		return FDX_EXIT_USAGE;
	cli.timeout = CLI_TIMEOUT_DEFAULT;
	if (cli.timeout_s &&
	    cli_parse_seconds("--timeout", cli.timeout_s, &cli.timeout) < 0)
		return FDX_EXIT_USAGE;
	if (cli.timeout > 4000000) {
		cli_err("--timeout: '%s' is more than 4000000 seconds", cli.timeout_s);
		return FDX_EXIT_USAGE;
	}
	/* --transport, else FDX_TRANSPORT: a board script (or a test run) picks it once */
	const char *t_s = cli.transport_s ? cli.transport_s : getenv("FDX_TRANSPORT");

	if (t_s && *t_s) {
		int t = fdx_transport_from_name(t_s);

		if (t < 0) {
			cli_err("%s: '%s' is not seqpacket or stream",
				cli.transport_s ? "--transport" : "FDX_TRANSPORT", t_s);
			return FDX_EXIT_USAGE;
		}
		cli.transport = (unsigned)t;
	}
	return -1;
}

int cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, bool suffixes,
		  uint64_t *out)
{
	const char *digits = s;
	uint64_t v, mul = 1;
	int base = 10;
	char *end;

	if (!s || !*s)
		goto bad;
	/* decimal or 0x hex; a leading 0 is not octal, which would surprise */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	/* strtoull would skip blanks and accept a sign: only digits may start */
	if (!isxdigit((unsigned char)*digits) ||
	    (base == 10 && !isdigit((unsigned char)*digits)))
		goto bad;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno == ERANGE)
		goto range;
	if (suffixes && *end) {
		switch (*end) {
		case 'K':
		case 'k':
			mul = 1ull << 10;
			break;
		case 'M':
			mul = 1ull << 20;
			break;
		case 'G':
			mul = 1ull << 30;
			break;
		default:
			goto bad;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2; /* KiB, MiB, GiB mean the same */
	}
	if (*end)
		goto bad;
	if (fdx_mul_overflow(v, mul, &v))
		goto range;
	if (v < min || v > max)
		goto range;
	*out = v;
	return 0;
bad:
	cli_err("%s: '%s' is not a %snumber\nTry '%s --help' for more information.", opt,
		s ? s : "", suffixes ? "size or " : "", cli_prog);
	return -EINVAL;
range:
	cli_err("%s: '%s' is out of range (%" PRIu64 " to %" PRIu64 ")", opt, s, min, max);
	return -ERANGE;
}

int cli_parse_seconds(const char *opt, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = s ? strtod(s, &end) : 0;
	if (!s || !*s || end == s || *end || errno || !isfinite(v) || v < 0 ||
	    v > 86400.0 * 365) {
		cli_err("%s: '%s' is not a number of seconds (0 or more)", opt, s ? s : "");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

const char *cli_verdict_counts(char *buf, size_t cap, uint64_t ok, uint64_t mismatch,
			       uint64_t unchecked)
{
	int n = snprintf(buf, cap, "%" PRIu64 " ok", ok);

	if (mismatch && n >= 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, ", %" PRIu64 " mismatch", mismatch);
	if (unchecked && n >= 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, ", %" PRIu64 " unchecked", unchecked);
	return buf;
}

int cli_exit_for(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return FDX_EXIT_TIMEOUT;
	case -ECONNRESET:
	case -ECONNABORTED:
	case -EPIPE:
	case -EPROTO:
	case -EBADMSG:
	case -EPROTONOSUPPORT:
	case -ENOMSG:
	case -EMSGSIZE:
	case -ENODATA:
	case -EBADFD:
	case -ENOBUFS:
	case -E2BIG:
	case -EFBIG:
		return FDX_EXIT_PEER;
	}
	/* a buffer the peer sent that cannot be used is the peer's fault too */
	return fdx_buffer_err_is_peer(err) ? FDX_EXIT_PEER : FDX_EXIT_SYSTEM;
}

int cli_socket_path(char *buf, size_t cap, bool create)
{
	int r;

	if (cli.socket) {
		if (strlen(cli.socket) >= cap) {
			cli_err("socket path '%s' is longer than %zu bytes", cli.socket,
				cap - 1);
			return -ENAMETOOLONG;
		}
		if (!cli.socket[0]) {
			cli_err("--socket: the path is empty");
			return -EINVAL;
		}
		strcpy(buf, cli.socket);
		return 0;
	}
	r = fdx_default_socket_path(buf, cap, create);
	if (r == -EPERM)
		cli_err("refusing the default socket directory /tmp/fdx-%u: not a directory of "
			"this user closed to others (mode 0700)",
			(unsigned)geteuid());
	else if (r < 0)
		cli_err("cannot set up the default socket path: %s", strerror(-r));
	return r;
}

void cli_trace(void *ctx, bool sent, const struct fdx_msg *m)
{
	char line[512];

	if (!cli.verbose)
		return;
	fdx_msg_describe(m, line, sizeof(line));
	fflush(stdout);
	fprintf(stderr, "%s: %s %s\n", cli_prog, sent ? "->" : "<-", line);
}

uint64_t cli_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE,
			  &rl); /* failing leaves the old limit, still valid */
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_print_json(struct json_object *doc, int rc)
{
	json_object_object_add(doc, "exit", json_object_new_int(rc));
	fputs(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	putchar('\n');
	json_object_put(doc);
}

int cli_connect_wait(const char *path, double wait, int *fd)
{
	double deadline = cli_now() + wait;
	int r;

	for (;;) {
		r = fdx_channel_connect_to(path, cli.transport, fd);
		if (r != -ENOENT && r != -ECONNREFUSED)
			return r;
		if (cli_now() >= deadline)
			return r;
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	}
}

int cli_connect_error(const char *path, double wait, int err, struct json_object *doc)
{
	char msg[512];

	if (err == -ENOENT || err == -ECONNREFUSED)
		snprintf(msg, sizeof(msg), "cannot connect to '%s': %s (waited %g s)", path,
			 strerror(-err), wait);
	else if (err == -EPROTOTYPE)
		/* a server of the other transport listens there */
		snprintf(msg, sizeof(msg),
			 "cannot connect to '%s': the server there does not speak %s (try "
			 "--transport %s)",
			 path, fdx_transport_name(cli.transport),
			 cli.transport == FDX_TRANSPORT_STREAM ? "seqpacket" : "stream");
	else
		snprintf(msg, sizeof(msg), "cannot connect to '%s': %s", path,
			 err == -ENAMETOOLONG ? "path too long for a UNIX socket"
					      : strerror(-err));
	cli_err("%s", msg);
	if (doc)
		json_object_object_add(doc, "error", json_object_new_string(msg));
	return err == -ENOENT || err == -ECONNREFUSED ? FDX_EXIT_TIMEOUT
	       : err == -ENAMETOOLONG		      ? FDX_EXIT_USAGE
	       : err == -EPROTOTYPE		      ? FDX_EXIT_PEER
						      : FDX_EXIT_SYSTEM;
}

struct json_object *cli_peer_json(const struct fdx_session *s)
{
	struct json_object *o = json_object_new_object();
	char proto[16];

	snprintf(proto, sizeof(proto), "%u.%u", s->peer_major, s->peer_minor);
	json_object_object_add(o, "pid", json_object_new_int64(s->peer.pid));
	json_object_object_add(o, "name", json_object_new_string(s->peer.name));
	json_object_object_add(o, "protocol", json_object_new_string(proto));
	return o;
}

int cli_dump_setup(struct dump_plan *plan, const char *dir_s, const char *every_s)
{
	int r;

	plan->every = 1;
	if (every_s && !dir_s) {
		cli_err("--dump-every needs --dump DIR");
		return FDX_EXIT_USAGE;
	}
	if (every_s &&
	    cli_parse_u64("--dump-every", every_s, 1, UINT64_MAX, false, &plan->every) < 0)
		return FDX_EXIT_USAGE;
	if (!dir_s)
		return -1;
	if (!dir_s[0]) {
		cli_err("--dump: the directory name is empty");
		return FDX_EXIT_USAGE;
	}
	r = dump_prepare_dir(dir_s);
	if (r < 0) {
		cli_err("--dump: cannot write into '%s': %s", dir_s, strerror(-r));
		return FDX_EXIT_USAGE;
	}
	plan->dir = dir_s;
	return -1;
}

void cli_dump_json(const struct dump_plan *plan, struct json_object *doc)
{
	struct json_object *d;

	if (!plan->dir)
		return;
	d = json_object_new_object();
	json_object_object_add(d, "dir", json_object_new_string(plan->dir));
	json_object_object_add(d, "written", json_object_new_uint64(plan->written));
	json_object_object_add(d, "failed", json_object_new_uint64(plan->failed));
	json_object_object_add(doc, "dumps", d);
}

int cli_session_setup(struct fdx_session *s)
{
	int r = fdx_session_set_transport(s, cli.transport);

	if (r >= 0 && cli.timeout > 0)
		r = fdx_session_set_timeout(s, (unsigned)(cli.timeout * 1000 + 0.5));
	return r;
}

void cli_cleanup(void)
{
	free((char *)cli.socket);
	cli.socket = NULL;
	free((char *)cli.transport_s);
	cli.transport_s = NULL;
	free((char *)cli.timeout_s);
	cli.timeout_s = NULL;
	free((char *)cli.allow_s);
	cli.allow_s = NULL;
}

int cli_close_stdout(void)
{
	bool failed = ferror(stdout);
	int err = 0;

	if (fclose(stdout) != 0) {
		failed = true;
		err = errno;
	}
	if (failed && !err)
		err = stdout_errno; /* an earlier flush (cli_err) saw why */
	if (failed) {
		/* EBADF: stdout was closed before we started; nothing was lost */
		if (err == EBADF)
			return 0;
		fprintf(stderr, "%s: write error on standard output%s%s\n", cli_prog,
			err ? ": " : "", err ? strerror(err) : "");
		return -EIO;
	}
	return 0;
}
