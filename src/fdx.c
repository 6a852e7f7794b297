/* fdx.c - the multi-call binary: global options, the command table, argv[0] dispatch */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fdx.h"

static const struct fdx_cmd *const commands[] = {
	&fdx_cmd_serve,	 &fdx_cmd_connect, &fdx_cmd_send_image,
	&fdx_cmd_verify, &fdx_cmd_stat,	   &fdx_cmd_doctor,
};

/* Exact names only: a prefix must never pick a command by accident. */
static const struct fdx_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < FDX_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fdx [-h|--help] [-V|--version] COMMAND [OPTIONS]\n"
		"       fdx help [COMMAND]\n\n"
		"Zero-copy buffer exchange between processes by passing file descriptors.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < FDX_ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-11s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out,
		"\nOptions:\n"
		"  -h, --help     show this help and exit\n"
		"  -V, --version  print the version and exit\n\n"
		"'fdx COMMAND --help' shows a command's options; see fdx(1) for the exit "
		"statuses.\n");
}

static int run_cmd(const struct fdx_cmd *cmd, int argc, const char **argv,
		   const char *display)
{
	static char prog[64];

	snprintf(prog, sizeof(prog), "%s", display);
	cli_prog = prog;
	argv[0] = prog;
	return cmd->run(argc, argv);
}

static int dispatch(int argc, const char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const struct fdx_cmd *cmd;
	char display[64];

	base = base ? base + 1 : argv[0];
	/* fdx-serve & co: the links make install puts beside fdx */
	if (strncmp(base, "fdx-", 4) == 0 && (cmd = find_cmd(base + 4)))
		return run_cmd(cmd, argc, argv, base);

	if (argc < 2) {
		usage(stderr);
		return FDX_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return FDX_EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("fdx %s\n", PACKAGE_VERSION);
		return FDX_EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		static const char *help_argv[] = { NULL, "--help", NULL };

		if (argc < 3) {
			usage(stdout);
			return FDX_EXIT_OK;
		}
		cmd = find_cmd(argv[2]);
		if (!cmd || argc > 3) {
			fprintf(stderr,
				"fdx: %s '%s'\nTry 'fdx --help' for the commands.\n",
				cmd ? "unexpected argument" : "no such command",
				cmd ? argv[3] : argv[2]);
			return FDX_EXIT_USAGE;
		}
		snprintf(display, sizeof(display), "fdx %s", cmd->name);
		return run_cmd(cmd, 2, help_argv, display);
	}
	cmd = find_cmd(argv[1]);
	if (!cmd) {
		fprintf(stderr,
			"fdx: '%s' is not a command\nTry 'fdx --help' for the commands.\n",
			argv[1]);
		return FDX_EXIT_USAGE;
	}
	snprintf(display, sizeof(display), "fdx %s", cmd->name);
	return run_cmd(cmd, argc - 1, argv + 1, display);
}

int main(int argc, char **argv)
{
	int rc = dispatch(argc, (const char **)argv);

	cli_cleanup();
	if (cli_close_stdout() < 0 && rc == FDX_EXIT_OK)
		rc = FDX_EXIT_SYSTEM;
	return rc;
}
