/* test-peerfd.c - fds of other processes: taken through pidfd_getfd from a real child,
 * close-on-exec, the errors for a process or fd that is not there, memfd names */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peerfd.h"
#include "test-common.h"

/* A child that holds a memfd named name at fd 42 and waits to be killed. */
static pid_t holder(const char *name)
{
	int p[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = memfd_create(name, MFD_CLOEXEC);

		if (fd < 0 || dup2(fd, 42) < 0 || ftruncate(42, 4096) < 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

START_TEST(take_from_child)
{
	pid_t pid = holder("fdx:1:2:3:s4");
	char target[256], name[128];
	int fd = -1;

	ck_assert_int_eq(fdx_peerfd_take(pid, 42, &fd), 0);
	ck_assert(tc_is_cloexec(fd));
	ck_assert_int_eq(fdx_fd_target(fd, target, sizeof(target)), 0);
	ck_assert_str_eq(target, "/memfd:fdx:1:2:3:s4 (deleted)");
	ck_assert_str_eq(fdx_memfd_name(target, name, sizeof(name)), "fdx:1:2:3:s4");
	/* the same file the child holds: its size is what the child gave it */
	ck_assert_int_eq(lseek(fd, 0, SEEK_END), 4096);
	close(fd);
	/* no fd 43 there */
	ck_assert_int_eq(fdx_peerfd_take(pid, 43, &fd), -EBADF);
	ck_assert_int_eq(fdx_peerfd_take(pid, -1, &fd), -EBADF);
	kill(pid, SIGKILL);
	tc_wait_status(pid);
	/* reaped: gone */
	ck_assert_int_eq(fdx_peerfd_take(pid, 42, &fd), -ESRCH);
	ck_assert_int_eq(fdx_peerfd_take(0, 42, &fd), -ESRCH);
}
END_TEST

/* One pidfd, several fds: what a scan of a process does. */
START_TEST(one_pidfd_many_fds)
{
	pid_t pid = holder("x");
	int pidfd = -1, a = -1, b = -1;

	ck_assert_int_eq(fdx_pidfd_open(pid, &pidfd), 0);
	ck_assert(tc_is_cloexec(pidfd));
	ck_assert_int_eq(fdx_pidfd_getfd(pidfd, 42, &a), 0);
	ck_assert_int_eq(fdx_pidfd_getfd(pidfd, 42, &b), 0);
	ck_assert(tc_same_file(a, b));
	close(a);
	close(b);
	close(pidfd);
	kill(pid, SIGKILL);
	tc_wait_status(pid);
}
END_TEST

START_TEST(memfd_names)
{
	char buf[16];

	ck_assert_str_eq(fdx_memfd_name("/memfd:abc (deleted)", buf, sizeof(buf)), "abc");
	ck_assert_str_eq(fdx_memfd_name("/memfd:abc", buf, sizeof(buf)), "abc");
	ck_assert_str_eq(fdx_memfd_name("/memfd: (deleted)", buf, sizeof(buf)), "");
	ck_assert_ptr_null(fdx_memfd_name("/dev/shm/abc", buf, sizeof(buf)));
	ck_assert_ptr_null(fdx_memfd_name("pipe:[123]", buf, sizeof(buf)));
	/* a name that does not fit is refused, never cut */
	ck_assert_ptr_null(
		fdx_memfd_name("/memfd:0123456789abcdef (deleted)", buf, sizeof(buf)));
}
END_TEST

static Suite *peerfd_suite(void)
{
	Suite *s = suite_create("peerfd");
	TCase *tc = tc_case("peerfd");

	tcase_add_test(tc, take_from_child);
	tcase_add_test(tc, one_pidfd_many_fds);
	tcase_add_test(tc, memfd_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(peerfd_suite());
}
