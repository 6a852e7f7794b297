/* test-buffer.c - unit tests of shared buffers: memfd creation, seals, import refusals */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buffer.h"
#include "codec.h"
#include "pattern.h"
#include "test-common.h"

/* Linux 6.3 names; older C library headers lack them. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008u
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

#define SEALS_ALL (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* A sealed buffer of size bytes holding the pattern (seed 1, frame 2). */
static void make_sealed(struct fdx_buffer *b, uint64_t size)
{
	struct fdx_pattern p;

	ck_assert_int_eq(fdx_buffer_create(b, "fdx-test", size, 0), 0);
	fdx_pattern_init(&p, 1, 2);
	fdx_pattern_fill(&p, b->map, size, 0);
	ck_assert_int_eq(fdx_buffer_seal(b), 0);
}

static int dup_cloexec(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	ck_assert_msg(d >= 0, "F_DUPFD_CLOEXEC: %s", strerror(errno));
	return d;
}

/* The permission field of the mapping that starts at addr in /proc/self/maps. */
static void map_perms(const void *addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	bool found = false;

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long start;

		if (sscanf(line, "%lx-%*x %4s", &start, perms) == 2 &&
		    start == (unsigned long)addr)
			found = true;
	}
	fclose(f);
	ck_assert_msg(found, "no mapping starts at %p", addr);
}

START_TEST(create_gives_memfd)
{
	struct fdx_buffer b;
	char link[256], path[64];
	struct stat st;
	ssize_t n;
	uint8_t back[64];

	ck_assert_int_eq(fdx_buffer_create(&b, "fdx-test-buf", 12345, 0), 0);
	ck_assert_int_ge(b.fd, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", b.fd);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_msg(strncmp(link, "/memfd:fdx-test-buf", 19) == 0, "fd is '%s'", link);
	ck_assert(tc_is_cloexec(b.fd));
	ck_assert_int_eq(fstat(b.fd, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 12345);
	ck_assert_uint_eq(b.file_size, 12345);
	ck_assert_uint_eq(b.offset, 0);
	ck_assert_uint_eq(b.length, 12345);
	ck_assert_uint_eq(b.backend, FDX_BACKEND_MEMFD);
	ck_assert(b.writable);
	ck_assert_ptr_nonnull(b.map);
	/* not sealed yet, but sealable (MFD_ALLOW_SEALING) */
	ck_assert_int_eq(fcntl(b.fd, F_GET_SEALS) & SEALS_ALL, 0);

	/* the map is the file: what is written there is read back through the fd */
	memset(b.map, 0x3c, 12345);
	memcpy(b.map + 12345 - 5, "tail!", 5);
	ck_assert_int_eq(pread(b.fd, back, 5, 12345 - 5), 5);
	ck_assert_mem_eq(back, "tail!", 5);
	ck_assert_int_eq(pread(b.fd, back, 64, 0), 64);
	for (unsigned i = 0; i < 64; i++)
		ck_assert_uint_eq(back[i], 0x3c);
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(create_not_executable)
{
	int probe = memfd_create("fdx-probe",
				 MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
	struct fdx_buffer b;
	struct stat st;

	ck_assert_int_eq(fdx_buffer_create(&b, "fdx-noexec", 4096, FDX_BUF_POPULATE), 0);
	ck_assert_int_eq(fstat(b.fd, &st), 0);
	if (probe >= 0) {
		/* this kernel knows MFD_NOEXEC_SEAL, so the buffer must carry it */
		close(probe);
		ck_assert_int_eq(st.st_mode & 0111, 0);
		ck_assert_int_ne(fcntl(b.fd, F_GET_SEALS) & F_SEAL_EXEC, 0);
	}
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(create_zero_size_refused)
{
	struct fdx_buffer b;

	ck_assert_int_lt(fdx_buffer_create(&b, "fdx-empty", 0, 0), 0);
	ck_assert_int_eq(b.fd, -1);
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(seal_blocks_resize)
{
	struct fdx_buffer b;
	int seals;

	ck_assert_int_eq(fdx_buffer_create(&b, "fdx-seal", 8192, 0), 0);
	ck_assert_int_eq(fdx_buffer_seal(&b), 0);
	seals = fcntl(b.fd, F_GET_SEALS);
	ck_assert_int_ge(seals, 0);
	ck_assert_int_eq(seals & SEALS_ALL, SEALS_ALL);
	ck_assert_uint_eq(b.seals & SEALS_ALL, SEALS_ALL);
	errno = 0;
	ck_assert_int_eq(ftruncate(b.fd, 4096), -1);
	ck_assert_int_eq(errno, EPERM);
	errno = 0;
	ck_assert_int_eq(ftruncate(b.fd, 16384), -1);
	ck_assert_int_eq(errno, EPERM);
	/* F_SEAL_SEAL: a consumer cannot add seals behind the producer's back */
	errno = 0;
	ck_assert_int_eq(fcntl(b.fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	ck_assert_int_eq(errno, EPERM);
	/* the producer still writes through its own map */
	b.map[8191] = 0x42;
	ck_assert_uint_eq(b.map[8191], 0x42);
	fdx_buffer_release(&b);
}
END_TEST

static int write_to_map(void *arg)
{
	volatile uint8_t *p = arg;
	struct rlimit nocore = { 0, 0 };

	/* the expected SIGSEGV should not leave a core file, nor be caught by ASan */
	setrlimit(RLIMIT_CORE, &nocore);
	signal(SIGSEGV, SIG_DFL);
	p[0] = 0x99;
	return 0;
}

START_TEST(import_sealed_read_only)
{
	const uint64_t size = 3 * 4096 + 17;
	struct fdx_buffer b, c;
	struct fdx_verify_result vr;
	struct fdx_pattern p;
	char perms[5];
	int fd;
	int status;

	make_sealed(&b, size);
	fd = dup_cloexec(b.fd);
	ck_assert_int_eq(fdx_buffer_import(&c, fd, 0, size, 0), 0);
	ck_assert_int_eq(c.fd, fd);
	ck_assert(!c.writable);
	ck_assert_uint_eq(c.offset, 0);
	ck_assert_uint_eq(c.length, size);
	ck_assert_uint_eq(c.file_size, size);
	ck_assert_uint_eq(c.seals, (unsigned)fcntl(fd, F_GET_SEALS));
	ck_assert_uint_eq(c.seals & SEALS_ALL, SEALS_ALL);
	ck_assert_ptr_ne(c.map, b.map);

	fdx_pattern_init(&p, 1, 2);
	ck_assert_int_eq(fdx_pattern_verify(&p, c.map, size, 0, &vr), 0);
	ck_assert_mem_eq(c.map, b.map, size);
	/* the producer's later writes show: it is the same memory, not a copy */
	b.map[size - 1] ^= 0xff;
	ck_assert_uint_eq(c.map[size - 1], b.map[size - 1]);
	b.map[size - 1] ^= 0xff;

	/* read-only for the consumer: in the page tables and in fact */
	map_perms(c.map_base, perms);
	ck_assert_msg(perms[0] == 'r' && perms[1] == '-' && perms[3] == 's',
		      "consumer mapping has permissions %s", perms);
	status = tc_wait_status(tc_fork(write_to_map, c.map));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		      "writing to the consumer's map did not fault (status 0x%x)", status);
	ck_assert_uint_eq(b.map[0], c.map[0]);

	fdx_buffer_release(&c);
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(import_range)
{
	static const uint64_t ranges[][2] = {
		{ 4097, 1000 },	     { 4096, 4096 }, { 1, 3 * 4096 - 1 },
		{ 3 * 4096 - 1, 1 }, { 0, 1 },
	};
	long page = sysconf(_SC_PAGESIZE);
	struct fdx_buffer b;

	make_sealed(&b, 3 * 4096);
	for (unsigned i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct fdx_buffer c;
		struct fdx_verify_result vr;
		struct fdx_pattern p;

		ck_assert_int_eq(fdx_buffer_import(&c, dup_cloexec(b.fd), ranges[i][0],
						   ranges[i][1], 0),
				 0);
		ck_assert_uint_eq(c.offset, ranges[i][0]);
		ck_assert_uint_eq(c.length, ranges[i][1]);
		/* mmap wants a page-aligned offset: map points into the mapping */
		ck_assert_uint_eq((uintptr_t)c.map_base % (uintptr_t)page, 0);
		ck_assert_uint_eq((uintptr_t)(c.map - (uint8_t *)c.map_base),
				  ranges[i][0] % (uint64_t)page);
		ck_assert_uint_ge(c.map_len, ranges[i][1]);
		fdx_pattern_init(&p, 1, 2);
		ck_assert_int_eq(
			fdx_pattern_verify(&p, c.map, ranges[i][1], ranges[i][0], &vr), 0);
		fdx_buffer_release(&c);
	}
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(import_writable)
{
	struct fdx_buffer b, c;
	char perms[5];

	make_sealed(&b, 4096);
	ck_assert_int_eq(
		fdx_buffer_import(&c, dup_cloexec(b.fd), 0, 4096, FDX_BUF_WRITABLE), 0);
	ck_assert(c.writable);
	map_perms(c.map_base, perms);
	ck_assert_uint_eq(perms[1], 'w');
	c.map[100] = (uint8_t)~b.map[100];
	ck_assert_uint_eq(b.map[100], c.map[100]);
	fdx_buffer_release(&c);
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(import_shrink_seal_is_enough)
{
	int fd = tc_memfd("fdx-shrink", 4096);
	struct fdx_buffer c;

	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	ck_assert_int_eq(fdx_buffer_import(&c, fd, 0, 4096, 0), 0);
	ck_assert_uint_eq(c.seals & SEALS_ALL, F_SEAL_SHRINK);
	fdx_buffer_release(&c);
}
END_TEST

/* An import that must fail with want, leaving fd closed and b empty. */
static void expect_refusal(int fd, uint64_t off, uint64_t len, int want, const char *what)
{
	struct fdx_buffer b;
	int r;

	memset(&b, 0x55, sizeof(b));
	r = fdx_buffer_import(&b, fd, off, len, 0);
	ck_assert_msg(r == want, "%s: import returned %d (%s), expected %d (%s)", what, r,
		      strerror(-r), want, strerror(-want));
	ck_assert_int_eq(b.fd, -1);
	ck_assert_ptr_null(b.map);
	ck_assert_ptr_null(b.map_base);
	if (fd >= 0)
		ck_assert_msg(!tc_fd_is_open(fd), "%s: fd %d left open after a refusal",
			      what, fd);
}

START_TEST(refuse_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_str_eq(fdx_fd_kind(p[0]), "pipe");
	expect_refusal(p[0], 0, 4096, -ENODEV, "pipe");
	close(p[1]);
}
END_TEST

START_TEST(refuse_dev_zero)
{
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(fdx_fd_kind(fd), "character device");
	expect_refusal(fd, 0, 4096, -ENODEV, "/dev/zero");
}
END_TEST

START_TEST(refuse_socket)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_str_eq(fdx_fd_kind(sv[0]), "socket");
	expect_refusal(sv[0], 0, 4096, -ENODEV, "socket");
	close(sv[1]);
}
END_TEST

START_TEST(refuse_directory)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(fdx_fd_kind(fd), "directory");
	expect_refusal(fd, 0, 4096, -ENODEV, "directory");
}
END_TEST

START_TEST(refuse_unsealed_memfd)
{
	struct fdx_buffer b;
	int fd;

	expect_refusal(tc_memfd("fdx-unsealed", 4096), 0, 4096, -EPERM, "unsealed memfd");
	/* the grow seal alone does not stop a shrink */
	fd = tc_memfd("fdx-grow-only", 4096);
	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SEAL), 0);
	expect_refusal(fd, 0, 4096, -EPERM, "memfd sealed against growing only");
	/* a memfd created without MFD_ALLOW_SEALING can never be sealed */
	fd = memfd_create("fdx-nosealing", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	expect_refusal(fd, 0, 4096, -EPERM, "memfd without sealing");

	/* b.seals says what was found, for the message */
	fd = tc_memfd("fdx-unsealed", 4096);
	ck_assert_int_eq(fdx_buffer_import(&b, fd, 0, 4096, 0), -EPERM);
	ck_assert_uint_eq(b.seals, 0);
	ck_assert_uint_eq(b.file_size, 4096);
}
END_TEST

START_TEST(refuse_disk_file)
{
	char *dir = tc_tmpdir();
	char path[256];
	int fd;

	/* a regular file is not a memfd: it has no shrink seal */
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	expect_refusal(fd, 0, 4096, -EPERM, "regular file");

	/* an O_PATH fd cannot be mapped, whatever it points at */
	fd = open(path, O_PATH | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	{
		struct fdx_buffer b;

		ck_assert_int_lt(fdx_buffer_import(&b, fd, 0, 4096, 0), 0);
		ck_assert(!tc_fd_is_open(fd));
	}
	tc_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(refuse_o_path_of_sealed)
{
	struct fdx_buffer b, c;
	char path[64];
	int fd;

	make_sealed(&b, 4096);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", b.fd);
	fd = open(path, O_PATH | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_lt(fdx_buffer_import(&c, fd, 0, 4096, 0), 0);
	ck_assert_int_eq(c.fd, -1);
	ck_assert(!tc_fd_is_open(fd));
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(refuse_smaller_than_claimed)
{
	struct fdx_buffer b, c;
	int r;

	make_sealed(&b, 4096);
	r = fdx_buffer_import(&c, dup_cloexec(b.fd), 0, 8192, 0);
	ck_assert_int_eq(r, -ERANGE);
	ck_assert_uint_eq(c.file_size, 4096);
	ck_assert_int_eq(c.fd, -1);
	expect_refusal(dup_cloexec(b.fd), 0, 4097, -ERANGE, "one byte short");
	expect_refusal(dup_cloexec(b.fd), 4096, 1, -ERANGE, "range just past the end");
	expect_refusal(dup_cloexec(b.fd), 1, 4096, -ERANGE, "range shifted by one");
	expect_refusal(dup_cloexec(b.fd), 1ull << 40, 4096, -ERANGE,
		       "range far past the end");
	/* the exact fit is fine */
	ck_assert_int_eq(fdx_buffer_import(&c, dup_cloexec(b.fd), 4095, 1, 0), 0);
	fdx_buffer_release(&c);
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(refuse_overflow_and_empty)
{
	struct fdx_buffer b;

	make_sealed(&b, 4096);
	expect_refusal(dup_cloexec(b.fd), UINT64_MAX, 1, -EOVERFLOW, "offset UINT64_MAX");
	expect_refusal(dup_cloexec(b.fd), 1, UINT64_MAX, -EOVERFLOW, "length UINT64_MAX");
	expect_refusal(dup_cloexec(b.fd), UINT64_MAX / 2 + 1, UINT64_MAX / 2 + 1,
		       -EOVERFLOW, "sum 2^64");
	expect_refusal(dup_cloexec(b.fd), 0, 0, -EOVERFLOW, "length 0");
	expect_refusal(dup_cloexec(b.fd), 4096, 0, -EOVERFLOW, "length 0 at the end");
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(refuse_closed_fd)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	close(fd);
	expect_refusal(fd, 0, 4096, -EBADF, "closed fd");
	expect_refusal(-1, 0, 4096, -EBADF, "fd -1");
}
END_TEST

/* A refused import must never close an fd the caller did not hand over. */
START_TEST(refusal_closes_only_its_fd)
{
	int p[2];
	int other;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(other, 0);
	expect_refusal(p[0], 0, 1, -ENODEV, "pipe");
	ck_assert(tc_fd_is_open(p[1]));
	ck_assert(tc_fd_is_open(other));
	close(p[1]);
	close(other);
}
END_TEST

START_TEST(seals_str)
{
	char buf[64], small[8];

	ck_assert_str_eq(fdx_seals_str(FDX_SEALS_PRODUCER, buf, sizeof(buf)),
			 "shrink,grow,seal");
	ck_assert_str_eq(fdx_seals_str(0, buf, sizeof(buf)), "none");
	ck_assert_str_eq(fdx_seals_str(F_SEAL_SHRINK, buf, sizeof(buf)), "shrink");
	ck_assert_ptr_eq(fdx_seals_str(F_SEAL_GROW, buf, sizeof(buf)), buf);
	ck_assert_str_eq(buf, "grow");
	/* a buffer too small: cut, terminated, nothing written past cap */
	for (size_t cap = 1; cap < sizeof(small); cap++) {
		const char *s;

		memset(small, 0x7e, sizeof(small));
		s = fdx_seals_str(FDX_SEALS_PRODUCER, small, cap);
		ck_assert_uint_lt(strnlen(s, cap), cap);
		for (size_t i = cap; i < sizeof(small); i++)
			ck_assert_uint_eq((uint8_t)small[i], 0x7e);
	}
}
END_TEST

/* A cut list must still be the start of the right answer, never a false "none". */
START_TEST(seals_str_truncated_not_none)
{
	char small[8];

	for (size_t cap = 2; cap < sizeof(small); cap++) {
		const char *s = fdx_seals_str(FDX_SEALS_PRODUCER, small, cap);

		ck_assert_msg(strncmp(s, "shrink,grow,seal", strlen(s)) == 0,
			      "seals shrink,grow,seal with cap %zu formatted as '%s'", cap,
			      s);
	}
}
END_TEST

START_TEST(release_twice)
{
	struct fdx_buffer b = FDX_BUFFER_INIT;
	int fd;

	/* an empty buffer is safe to release */
	fdx_buffer_release(&b);
	ck_assert_int_eq(b.fd, -1);
	ck_assert_int_eq(fdx_buffer_create(&b, "fdx-release", 4096, 0), 0);
	fd = b.fd;
	fdx_buffer_release(&b);
	ck_assert_int_eq(b.fd, -1);
	ck_assert_ptr_null(b.map);
	ck_assert_ptr_null(b.map_base);
	ck_assert(!tc_fd_is_open(fd));
	/* a second release must not close the number again (it may be reused by now) */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	fdx_buffer_release(&b);
	ck_assert_int_eq(b.fd, -1);
	ck_assert(tc_fd_is_open(fd));
	close(fd);
}
END_TEST

START_TEST(peer_errors)
{
	ck_assert(fdx_buffer_err_is_peer(-ENODEV));
	ck_assert(fdx_buffer_err_is_peer(-ERANGE));
	ck_assert(fdx_buffer_err_is_peer(-EOVERFLOW));
	ck_assert(fdx_buffer_err_is_peer(-EPERM));
	ck_assert(!fdx_buffer_err_is_peer(-ENOMEM));
	ck_assert(!fdx_buffer_err_is_peer(-ENOSPC));
	ck_assert(!fdx_buffer_err_is_peer(0));
}
END_TEST

static Suite *buffer_suite(void)
{
	Suite *s = suite_create("buffer");
	TCase *tc;

	tc = tc_case("create");
	tcase_add_test(tc, create_gives_memfd);
	tcase_add_test(tc, create_not_executable);
	tcase_add_test(tc, create_zero_size_refused);
	tcase_add_test(tc, seal_blocks_resize);
	tcase_add_test(tc, release_twice);
	suite_add_tcase(s, tc);

	tc = tc_case("import");
	tcase_add_test(tc, import_sealed_read_only);
	tcase_add_test(tc, import_range);
	tcase_add_test(tc, import_writable);
	tcase_add_test(tc, import_shrink_seal_is_enough);
	suite_add_tcase(s, tc);

	tc = tc_case("refuse");
	tcase_add_test(tc, refuse_pipe);
	tcase_add_test(tc, refuse_dev_zero);
	tcase_add_test(tc, refuse_socket);
	tcase_add_test(tc, refuse_directory);
	tcase_add_test(tc, refuse_unsealed_memfd);
	tcase_add_test(tc, refuse_disk_file);
	tcase_add_test(tc, refuse_o_path_of_sealed);
	tcase_add_test(tc, refuse_smaller_than_claimed);
	tcase_add_test(tc, refuse_overflow_and_empty);
	tcase_add_test(tc, refuse_closed_fd);
	tcase_add_test(tc, refusal_closes_only_its_fd);
	suite_add_tcase(s, tc);

	tc = tc_case("strings");
	tcase_add_test(tc, seals_str);
	tcase_add_test(tc, seals_str_truncated_not_none);
	tcase_add_test(tc, peer_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(buffer_suite());
}
