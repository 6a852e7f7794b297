/* cli.h - what the commands share: common options, argument parsing, messages, output */
#ifndef FDX_CLI_H
#define FDX_CLI_H

#include <popt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "codec.h"
#include "macro.h"

struct json_object;

/* Options every talking command takes; filled by popt through cli_common_options. */
struct cli_common {
	const char *socket;
	const char *transport_s; /* --transport as given; see cli_transport() */
	unsigned transport;	 /* enum fdx_transport, once cli_parse() checked it */
	const char *allow_s;	 /* --allow-uid as given */
	uid_t allow[16];	 /* the uids it names */
	unsigned nallow;	 /* 0: the default, this user and root */
	const char *timeout_s;	 /* --timeout as given */
	double timeout;		 /* seconds any wait for the peer may last, 0 = none */
	int verbose;
	int quiet;
	int json;
};

extern struct cli_common cli;
extern const char *cli_prog; /* "fdx serve": the prefix of every message */

extern struct poptOption cli_common_options[];
extern struct poptOption cli_help_options[];

#define CLI_COMMON_TABLE                                                                   \
	{                                                                                  \
		NULL, '\0', POPT_ARG_INCLUDE_TABLE, cli_common_options, 0,                 \
			"Common options:", NULL                                            \
	}
#define CLI_HELP_TABLE                                                                     \
	{                                                                                  \
		NULL, '\0', POPT_ARG_INCLUDE_TABLE, cli_help_options, 0,                   \
			"Help options:", NULL                                              \
	}

/*
 * Run popt over argv. Returns -1 to go on, or an exit status: 0 after --help, --usage
 * or --version, FDX_EXIT_USAGE after a bad option or a stray argument (one line on
 * stderr and a pointer to --help).
 */
int cli_parse(poptContext pc, const char *usage_args);

/* The same for commands that take arguments: they are left for poptGetArgs(). */
int cli_parse_with_args(poptContext pc, const char *usage_args);

/* Parse an unsigned number (decimal or 0x hex) for option opt, within [min, max];
 * with suffixes, K/M/G multiply by powers of 1024. Prints the error itself. */
int cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, bool suffixes,
		  uint64_t *out) _must_check_;
int cli_parse_seconds(const char *opt, const char *s, double *out) _must_check_;

void cli_err(const char *fmt, ...) _printf_(1, 2);
/* The text of the last cli_err() (without the "fdx CMD: " prefix), "" if none. */
const char *cli_last_error(void);
void cli_info(const char *fmt, ...) _printf_(1, 2); /* stdout, not with -q or --json */

/* "3 ok, 1 mismatch, 2 unchecked" (zero mismatch and unchecked counts left out). */
const char *cli_verdict_counts(char *buf, size_t cap, uint64_t ok, uint64_t mismatch,
			       uint64_t unchecked);

/* Exit status for a library error met while talking to a peer. */
int cli_exit_for(int err);

/* The socket path: --socket, or the default (creating its private directory). */
int cli_socket_path(char *buf, size_t cap, bool create);

/* Protocol trace for -v; a fdx_trace_fn. */
void cli_trace(void *ctx, bool sent, const struct fdx_msg *m);

/* Raise the soft fd limit to the hard one; returns the limit now in force. */
uint64_t cli_raise_nofile(void);

double cli_now(void); /* monotonic seconds */

/* Add "exit": rc to a JSON report, print it on stdout (pretty) and drop it. */
void cli_print_json(struct json_object *doc, int rc);

/*
 * Connect to path, retrying while nothing listens there yet (so that `fdx serve &
 * fdx connect` cannot race) for up to wait seconds. cli_connect_error() prints why it
 * failed (and sets "error" in doc) and returns the exit status.
 */
int cli_connect_wait(const char *path, double wait, int *fd);
int cli_connect_error(const char *path, double wait, int err, struct json_object *doc);

struct fdx_session;
/* {pid, name, protocol} of the peer of a session after its handshake. */
struct json_object *cli_peer_json(const struct fdx_session *s);

/* --dump DIR and --dump-every N, for the commands that receive objects. */
#define CLI_DUMP_OPTIONS(dir_s, every_s)                                                    \
	{ "dump",                                                                           \
	  '\0',                                                                             \
	  POPT_ARG_STRING,                                                                  \
	  &(dir_s),                                                                         \
	  0,                                                                                \
	  "write every object received into DIR as a picture (PGM/PPM) or its raw bytes",   \
	  "DIR" },                                                                          \
	{                                                                                   \
		"dump-every", '\0', POPT_ARG_STRING, &(every_s), 0,                         \
			"in a stream, dump the first frame and then every Nth (default 1)", \
			"N"                                                                 \
	}

struct dump_plan;
/* Check the dump options into plan (DIR made if missing); -1 to go on, or an exit status.
 */
int cli_dump_setup(struct dump_plan *plan, const char *dir_s, const char *every_s);
/* "dumps": {dir, written, failed} in doc, when dumps were asked for. */
void cli_dump_json(const struct dump_plan *plan, struct json_object *doc);

/*
 * A session as the common options say: --transport (a stream sets up its framing) and
 * --timeout on every wait for the peer. -errno (the session says why).
 */
struct fdx_session;
int cli_session_setup(struct fdx_session *s);

/*
 * May the peer on fd be here? Its uid (SO_PEERCRED) is checked against --allow-uid, by
 * default this user or root. When not, why says so; false.
 */
bool cli_peer_allowed(int fd, char *why, size_t cap);

/*
 * The checks a side makes before it speaks: is the peer allowed (for a server always;
 * for a client only at an abstract name, which no file permissions guard), and a
 * producer refuses fds at the socket. -EPERM (the session says why, the peer is told)
 * or 0.
 */
int cli_session_admit(struct fdx_session *s, const char *path, bool server, bool producer);

/* Turn off fds from the peer where the kernel can (a producer never takes any). */
void cli_refuse_fds(int fd);

/* --timeout's default, in seconds */
#define CLI_TIMEOUT_DEFAULT 30.0

/* Free what popt allocated for the common options (string arguments are ours to free). */
void cli_cleanup(void);

/* Flush and close stdout; a write error (a full disk, /dev/full) is an error. */
int cli_close_stdout(void);

#endif
