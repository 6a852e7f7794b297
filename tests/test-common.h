/* test-common.h - fixtures and helpers shared by the fdx unit tests */
#ifndef FDX_TEST_COMMON_H
#define FDX_TEST_COMMON_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Open fds of this process, not counting the one used to list them; -errno on failure. */
int tc_count_fds(void);

/*
 * The fd-count fixture: setup records tc_count_fds(), teardown fails the test when the
 * count changed. tc_fd_diff() is the comparison itself, so a test can prove it detects
 * a leak: it returns the count now minus the count recorded by the last setup.
 */
void tc_fd_setup(void);
void tc_fd_teardown(void);
int tc_fd_diff(void);

/* A TCase with the fd-count fixture already added; every test file uses this. */
TCase *tc_case(const char *name);

/* Run every test of s in check's default (fork) mode; returns the exit status for main.
 */
int tc_run_suite(Suite *s);

/*
 * Forked children cannot use ck_assert (it would report into the parent's test), so they
 * check with tc_child_assert, which prints the failure and exits with status 1; the
 * parent then asserts the exit status with tc_wait_child.
 */
#define tc_child_assert(cond, ...)                                                         \
	do {                                                                               \
		if (!(cond))                                                               \
			tc_child_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);             \
	} while (0)

__attribute__((noreturn, format(printf, 4, 5))) void tc_child_fail(const char *file,
								   int line,
								   const char *cond,
								   const char *fmt, ...);

/* fork(); the child runs fn(arg) and _exits with its return value. */
pid_t tc_fork(int (*fn)(void *arg), void *arg);

/* Wait for pid; ck_assert that it exited with status code (not killed by a signal). */
void tc_wait_child(pid_t pid, int code);

/* Wait for pid and return its raw wait status. */
int tc_wait_status(pid_t pid);

/* True when fd has FD_CLOEXEC; ck_asserts that fd is open at all. */
bool tc_is_cloexec(int fd);

/* True when both fds refer to the same file (device and inode). */
bool tc_same_file(int a, int b);

/* True when fd is open in this process. */
bool tc_fd_is_open(int fd);

/* A fresh memfd of size bytes (no seals), ck_asserted. */
int tc_memfd(const char *name, size_t size);

/*
 * A raw sendmsg of one record with nfds fds, MSG_NOSIGNAL, bypassing the library so a
 * test can send what fdx itself never would. Returns bytes sent or -errno.
 */
ssize_t tc_send_raw(int sock, const void *buf, size_t len, const int *fds, unsigned nfds);

/* A raw recvmsg into buf; any fds that came are closed and counted in *nfds. */
ssize_t tc_recv_raw(int sock, void *buf, size_t cap, unsigned *nfds, int flags);

/* mkdtemp() under /tmp; the caller removes it with tc_rmtree(). */
char *tc_tmpdir(void);
void tc_rmtree(const char *dir);

/* Store v little-endian at p + off: hand-built or patched wire bytes. */
void tc_put16(uint8_t *p, size_t off, uint16_t v);
void tc_put32(uint8_t *p, size_t off, uint32_t v);
void tc_put64(uint8_t *p, size_t off, uint64_t v);

#endif
