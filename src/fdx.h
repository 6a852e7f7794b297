/* fdx.h - the command table and the exit statuses every command shares */
#ifndef FDX_H
#define FDX_H

/*
 * Adding a command:
 *  1. write src/cmd-NAME.c ending with its `const struct fdx_cmd fdx_cmd_NAME`;
 *  2. declare it below and add it to the table in src/fdx.c;
 *  3. add the file to fdx_SOURCES and NAME to FDX_COMMANDS in Makefile.am;
 *  4. write man/fdx-NAME.1 (add it to dist_man_MANS) and list it in fdx(1);
 *  5. add a shell test tests/NAME*.sh to SH_TESTS.
 */

/* The exit statuses are a contract with scripts; fdx(1) documents them. */
enum fdx_exit {
	FDX_EXIT_OK = 0,
	FDX_EXIT_MISMATCH = 1, /* a buffer's content was wrong */
	FDX_EXIT_USAGE = 2,
	FDX_EXIT_PEER = 3, /* the peer broke the protocol or went away */
	FDX_EXIT_SYSTEM = 4,
	FDX_EXIT_TIMEOUT = 5,
};

struct fdx_cmd {
	const char *name;
	int (*run)(int argc, const char **argv); /* argv[0] is the command's display name */
	const char *summary;
};

extern const struct fdx_cmd fdx_cmd_serve;
extern const struct fdx_cmd fdx_cmd_connect;
extern const struct fdx_cmd fdx_cmd_send_image;
extern const struct fdx_cmd fdx_cmd_verify;
extern const struct fdx_cmd fdx_cmd_stat;
extern const struct fdx_cmd fdx_cmd_doctor;

#endif
