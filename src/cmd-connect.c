/* cmd-connect.c - `fdx connect`: consumer and client; maps received buffers, verifies them
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "cli.h"
#include "consume.h"
#include "fdx.h"
#include "session.h"

struct connect_opts {
	double wait;
	int verify;
	struct dump_plan dump;
	struct consumer_aids aids; /* --inject */
};

/* --inject KIND: what this consumer does wrong on purpose, for testing producers. */
static int parse_inject(const char *spec, struct consumer_aids *a)
{
	uint64_t ms = 100;

	if (!strncmp(spec, "slow-release", 12) && (!spec[12] || spec[12] == ':')) {
		if (spec[12] && cli_parse_u64("--inject slow-release", spec + 13, 1, 60000,
					      false, &ms) < 0)
			return -EINVAL;
		a->slow_release_ms = (unsigned)ms;
		return 0;
	}
	if (!strcmp(spec, "never-release")) {
		a->never_release = true;
		return 0;
	}
	cli_err("--inject: unknown kind '%s' (known: slow-release[:MS], never-release)",
		spec);
	return -EINVAL;
}

static int consume(const char *path, struct connect_opts *o, struct json_object *doc)
{
	struct fdx_hello hello = consume_hello("fdx-connect");
	struct consume_report rep = { 0 };
	struct fdx_session s;
	int fd = -1, rc, r;

	if (doc)
		rep.objects_json = json_object_new_array();
	r = cli_connect_wait(path, o->wait, &fd);
	if (r < 0) {
		rc = cli_connect_error(path, o->wait, r, doc);
		if (doc)
			consume_json(&rep, doc);
		json_object_put(rep.objects_json);
		return rc;
	}
	fdx_session_init(&s, fd, false, &hello);
	s.trace = cli_trace;
	r = cli_session_setup(&s);
	if (r >= 0)
		r = cli_session_admit(&s, path, false, false);
	if (r >= 0)
		r = fdx_session_handshake(&s);
	if (r >= 0) {
		cli_info("connected to %s: server pid %" PRIu32 " (%s), protocol %u.%u",
			 path, s.peer.pid, s.peer.name, s.peer_major, s.peer_minor);
		if (doc)
			json_object_object_add(doc, "server", cli_peer_json(&s));
		r = consume_session(&s, o->verify, &o->dump, &o->aids, &rep);
	}
	if (r < 0) {
		cli_err("%s", fdx_session_error(&s));
		if (doc)
			json_object_object_add(
				doc, "error",
				json_object_new_string(fdx_session_error(&s)));
	} else {
		consume_print(&rep, o->verify);
	}
	rc = consume_exit(&rep, r);
	if (o->dump.failed && rc == FDX_EXIT_OK)
		rc = FDX_EXIT_SYSTEM;
	fdx_session_cleanup(&s);
	close(fd);
	if (doc) {
		consume_json(&rep, doc);
		cli_dump_json(&o->dump, doc);
	}
	json_object_put(rep.objects_json);
	return rc;
}

static int connect_main(int argc, const char **argv)
{
	struct connect_opts o = { .wait = 5, .dump.every = 1 };
	const char *wait_s = NULL, *dump_s = NULL, *every_s = NULL, *inject_s = NULL;
	struct poptOption options[] = {
		{ "wait", 'w', POPT_ARG_STRING, &wait_s, 0,
		  "wait up to SECONDS for the server to appear (default 5, 0 = try once)",
		  "SECONDS" },
		{ "verify", '\0', POPT_ARG_NONE, &o.verify, 0,
		  "check every byte of every buffer against its pattern or checksum",
		  NULL },
		CLI_DUMP_OPTIONS(dump_s, every_s),
		{ "inject", '\0', POPT_ARG_STRING, &inject_s, 0,
		  "testing aid for producers: misbehave on purpose (slow-release[:MS], "
		  "never-release)",
		  "KIND" },
		CLI_COMMON_TABLE,
		CLI_HELP_TABLE,
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext(argv[0], argc, argv, options, 0);
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct json_object *doc = NULL;
	int rc, r;

	rc = cli_parse(pc, "[OPTIONS]");
	if (rc >= 0)
		goto out;
	rc = FDX_EXIT_USAGE;
	if ((wait_s && cli_parse_seconds("--wait", wait_s, &o.wait) < 0) ||
	    (inject_s && parse_inject(inject_s, &o.aids) < 0))
		goto out;
	rc = cli_dump_setup(&o.dump, dump_s, every_s);
	if (rc >= 0)
		goto out;
	r = cli_socket_path(path, sizeof(path), false);
	if (r < 0) {
		rc = r == -ENAMETOOLONG || r == -EINVAL ? FDX_EXIT_USAGE : FDX_EXIT_SYSTEM;
		goto out;
	}
	if (cli.json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "socket", json_object_new_string(path));
		json_object_object_add(doc, "verify", json_object_new_boolean(o.verify));
		json_object_object_add(doc, "error", NULL);
	}
	rc = consume(path, &o, doc);
	if (doc)
		cli_print_json(doc, rc);
out:
	/* popt hands string arguments over to us */
	free((char *)wait_s);
	free((char *)dump_s);
	free((char *)every_s);
	free((char *)inject_s);
	poptFreeContext(pc);
	return rc;
}

const struct fdx_cmd fdx_cmd_connect = {
	.name = "connect",
	.run = connect_main,
	.summary = "consumer: connect, map the buffers received, verify them with --verify",
};
