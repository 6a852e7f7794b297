/* test-backend.c - unit tests of the buffer backends: each one this machine has is made,
 * recognised and imported for real; the missing ones fail naming what is missing */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "backend.h"
#include "buffer.h"
#include "codec.h"
#include "object.h"
#include "pattern.h"
#include "test-common.h"

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

/* What /proc/self/fd says fd is. */
static void fd_link(int fd, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, cap - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
}

/* Names of this file's buffers: other tests make /dev/shm files of their own meanwhile. */
static int ours(const struct dirent *de)
{
	return strncmp(de->d_name, "fdx:1:2:3:", 10) == 0;
}

/* Our names in a directory, sorted, joined with '\n' (a listing to compare). */
static char *listing(const char *dir)
{
	struct dirent **ents;
	size_t cap = 1, used = 0;
	char *out;
	int n = scandir(dir, &ents, ours, alphasort);

	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++)
		cap += strlen(ents[i]->d_name) + 1;
	out = calloc(1, cap);
	ck_assert_ptr_nonnull(out);
	for (int i = 0; i < n; i++) {
		used += (size_t)snprintf(out + used, cap - used, "%s\n", ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return out;
}

/* Make a buffer of spec holding the pattern (seed 7, frame 0), as a producer does. */
static void make(struct fdx_buffer *b, const struct fdx_backend_spec *spec, uint64_t size)
{
	struct fdx_pattern p;
	char why[400];
	int r = fdx_backend_create(b, spec, "fdx:1:2:3:s7", size, FDX_BUF_POPULATE, why,
				   sizeof(why));

	ck_assert_msg(r == 0, "create %s: %s (%s)", fdx_backend_name(spec->backend),
		      strerror(-r), why);
	ck_assert(tc_is_cloexec(b->fd));
	fdx_pattern_init(&p, 7, 0);
	fdx_pattern_fill(&p, b->map, (size_t)size, 0);
	ck_assert_int_eq(fdx_buffer_seal(b), 0);
}

/* Import a duplicate of b's fd as the raw object of backend a consumer was told of. */
static int import_as(struct fdx_held *h, const struct fdx_buffer *b, unsigned backend,
		     uint64_t size, unsigned flags, char *err, size_t cap)
{
	struct fdx_object o;
	int fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	fdx_object_raw(&o, size, backend, 7, 0);
	return fdx_held_import(h, &o, &fd, 1, flags, err, cap);
}

/* Imported as the consumer of backend: recognised as kind, and every byte right. */
static void round_trip(const struct fdx_buffer *b, unsigned backend, uint64_t size,
		       unsigned kind)
{
	struct fdx_object_result res;
	struct fdx_held h;
	char err[256];
	int r = import_as(&h, b, backend, size, FDX_BUF_GUARDED, err, sizeof(err));

	ck_assert_msg(r == 0, "import: %s (%s)", strerror(-r), err);
	ck_assert_str_eq(fdx_buf_kind_name(fdx_held_kind(&h)), fdx_buf_kind_name(kind));
	ck_assert_int_eq(h.bufs[0].backend, backend);
	ck_assert_int_eq(fdx_held_verify(&h, &res), FDX_VERDICT_OK);
	fdx_held_release(&h);
}

START_TEST(parse_names)
{
	static const char *const bad[] = {
		"",	     "bogus",	    "memfd2",	   "dma-heap:",
		"dma-heapx", "dma-heap:..", "dma-heap:a/b"
	};
	struct fdx_backend_spec sp;

	ck_assert_int_eq(fdx_backend_parse("memfd", &sp), 0);
	ck_assert_int_eq(sp.backend, FDX_BACKEND_MEMFD);
	ck_assert_int_eq(fdx_backend_parse("memfd-huge", &sp), 0);
	ck_assert_int_eq(sp.backend, FDX_BACKEND_MEMFD_HUGE);
	ck_assert_int_eq(fdx_backend_parse("shm", &sp), 0);
	ck_assert_int_eq(sp.backend, FDX_BACKEND_SHM);
	ck_assert_int_eq(fdx_backend_parse("tmpfile", &sp), 0);
	ck_assert_int_eq(sp.backend, FDX_BACKEND_TMPFILE);
	ck_assert_int_eq(fdx_backend_parse("udmabuf", &sp), 0);
	ck_assert_int_eq(sp.backend, FDX_BACKEND_UDMABUF);
	ck_assert_int_eq(fdx_backend_parse("dma-heap", &sp), 0);
	ck_assert_int_eq(sp.backend, FDX_BACKEND_DMA_HEAP);
	ck_assert_ptr_null(sp.heap);
	ck_assert_int_eq(fdx_backend_parse("dma-heap:carveout_vision", &sp), 0);
	ck_assert_str_eq(sp.heap, "carveout_vision");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fdx_backend_parse(bad[i], &sp) == -EINVAL, "'%s' accepted",
			      bad[i]);
	ck_assert(fdx_backend_sealable(FDX_BACKEND_MEMFD));
	ck_assert(fdx_backend_sealable(FDX_BACKEND_MEMFD_HUGE));
	ck_assert(!fdx_backend_sealable(FDX_BACKEND_SHM));
	ck_assert(!fdx_backend_sealable(FDX_BACKEND_DMA_HEAP));
}
END_TEST

START_TEST(memfd_sealed)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_MEMFD };
	struct fdx_buffer b;
	char link[256], why[256];

	ck_assert_int_eq(fdx_backend_probe(&sp, why, sizeof(why)), 0);
	make(&b, &sp, 10000);
	fd_link(b.fd, link, sizeof(link));
	ck_assert_msg(strncmp(link, "/memfd:fdx:1:2:3:s7", 19) == 0, "link '%s'", link);
	ck_assert_int_eq(b.kind, FDX_BUF_KIND_MEMFD);
	ck_assert_uint_eq(b.seals & FDX_SEALS_PRODUCER, FDX_SEALS_PRODUCER);
	ck_assert(!fdx_buffer_may_shrink(&b));
	round_trip(&b, FDX_BACKEND_MEMFD, 10000, FDX_BUF_KIND_MEMFD);
	fdx_buffer_release(&b);
}
END_TEST

/* shm: O_EXCL, unlinked at once (nothing left in /dev/shm), unsealable, guarded. */
START_TEST(shm_unlinked_unsealed)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_SHM };
	char *before = listing("/dev/shm"), *during, *after;
	struct fdx_held h;
	struct fdx_buffer b;
	char link[256], err[256];

	ck_assert_int_eq(fdx_backend_probe(&sp, err, sizeof(err)), 0);
	make(&b, &sp, 100000);
	during = listing("/dev/shm");
	fd_link(b.fd, link, sizeof(link));
	/* the provenance name and a random part, gone from the directory already */
	ck_assert_msg(strncmp(link, "/dev/shm/fdx:1:2:3:s7-", 22) == 0, "link '%s'", link);
	ck_assert_msg(strstr(link, " (deleted)"), "link '%s'", link);
	ck_assert_str_eq(during, before);
	ck_assert_int_eq(b.kind, FDX_BUF_KIND_TMPFS);
	ck_assert_int_eq(b.backend, FDX_BACKEND_SHM);
	/* sealing is skipped, not failed: the kernel keeps shm objects unsealable */
	ck_assert_uint_eq(b.seals & F_SEAL_SHRINK, 0);
	ck_assert_int_eq(fcntl(b.fd, F_GET_SEALS) & F_SEAL_SHRINK, 0);
	ck_assert(fdx_buffer_may_shrink(&b));
	round_trip(&b, FDX_BACKEND_SHM, 100000, FDX_BUF_KIND_TMPFS);

	/* only for a consumer that reads under a guard */
	ck_assert_int_eq(import_as(&h, &b, FDX_BACKEND_SHM, 100000, 0, err, sizeof(err)),
			 -EPERM);
	ck_assert_msg(strstr(err, "not sealed against shrinking"), "'%s'", err);
	/* and only when the OBJECT says it is what it is */
	ck_assert_int_eq(import_as(&h, &b, FDX_BACKEND_MEMFD, 100000, FDX_BUF_GUARDED, err,
				   sizeof(err)),
			 -EMEDIUMTYPE);
	ck_assert_str_eq(err, "buffer 0: the OBJECT says memfd, fd 0 is a tmpfs file");
	ck_assert_int_eq(import_as(&h, &b, FDX_BACKEND_DMA_HEAP, 100000, FDX_BUF_GUARDED,
				   err, sizeof(err)),
			 -EMEDIUMTYPE);
	ck_assert(fdx_buffer_err_is_peer(-EMEDIUMTYPE));
	fdx_buffer_release(&b);
	after = listing("/dev/shm");
	ck_assert_str_eq(after, before);
	free(before);
	free(during);
	free(after);
}
END_TEST

/* A memfd sent as shm, or a sealed memfd as a DMA-BUF: named both ways. */
START_TEST(memfd_claimed_as_other)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_MEMFD };
	struct fdx_held h;
	struct fdx_buffer b;
	char err[256];

	make(&b, &sp, 4096);
	ck_assert_int_eq(
		import_as(&h, &b, FDX_BACKEND_SHM, 4096, FDX_BUF_GUARDED, err, sizeof(err)),
		-EMEDIUMTYPE);
	ck_assert_str_eq(err, "buffer 0: the OBJECT says shm, fd 0 is a memfd");
	ck_assert_int_eq(import_as(&h, &b, FDX_BACKEND_DMA_HEAP, 4096, FDX_BUF_GUARDED, err,
				   sizeof(err)),
			 -EMEDIUMTYPE);
	ck_assert_str_eq(err, "buffer 0: the OBJECT says dma-heap, fd 0 is a memfd");
	ck_assert_int_eq(
		import_as(&h, &b, FDX_BACKEND_MEMFD_HUGE, 4096, 0, err, sizeof(err)),
		-EMEDIUMTYPE);
	fdx_buffer_release(&b);
}
END_TEST

static void tmpfile_in(const char *dir, const char *expect_dir, unsigned kind)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_TMPFILE, .dir = dir };
	struct fdx_buffer b;
	char link[256], why[256], prefix[64];

	ck_assert_int_eq(fdx_backend_probe(&sp, why, sizeof(why)), 0);
	ck_assert_str_eq(sp.dir, expect_dir);
	make(&b, &sp, 70000);
	/* no name at all: an inode number in the directory, never linked */
	fd_link(b.fd, link, sizeof(link));
	snprintf(prefix, sizeof(prefix), "%s/#", expect_dir);
	ck_assert_msg(strncmp(link, prefix, strlen(prefix)) == 0, "link '%s'", link);
	ck_assert_int_eq(b.kind, kind);
	ck_assert(fdx_buffer_may_shrink(&b));
	round_trip(&b, FDX_BACKEND_TMPFILE, 70000, kind);
	fdx_buffer_release(&b);
}

START_TEST(tmpfile_dev_shm)
{
	tmpfile_in(NULL, "/dev/shm", FDX_BUF_KIND_TMPFS);
	tmpfile_in("/dev/shm", "/dev/shm", FDX_BUF_KIND_TMPFS);
}
END_TEST

START_TEST(tmpfile_tmp)
{
	struct statfs sf;

	ck_assert_int_eq(statfs("/tmp", &sf), 0);
	tmpfile_in("/tmp", "/tmp",
		   sf.f_type == TMPFS_MAGIC ? FDX_BUF_KIND_TMPFS : FDX_BUF_KIND_FILE);
}
END_TEST

/* A --dir that cannot take O_TMPFILE fails, naming it; no fallback to another place. */
START_TEST(tmpfile_refused)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_TMPFILE, .dir = "/proc" };
	struct fdx_buffer b;
	char why[256];

	ck_assert_int_lt(fdx_backend_probe(&sp, why, sizeof(why)), 0);
	ck_assert_msg(strncmp(why, "O_TMPFILE in '/proc': ", 22) == 0, "'%s'", why);
	sp.dir = "/nonexistent-fdx-dir";
	ck_assert_int_eq(fdx_backend_create(&b, &sp, "x", 4096, 0, why, sizeof(why)),
			 -ENOENT);
	ck_assert_str_eq(why, "O_TMPFILE in '/nonexistent-fdx-dir': No such file or "
			      "directory");
	ck_assert_int_eq(b.fd, -1);
}
END_TEST

/* ---- huge pages: reserved for the case by its fixture (as root), given back after ---- */

static long saved_hugepages = -1;
static int hugepages_lock = -1; /* tests/backends.sh under make -j reserves them too */

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "we");
	int r;

	if (!f)
		return -errno;
	r = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Runs in check's parent process, so the old value comes back even if a test dies. */
static void reserve_huge(void)
{
	uint64_t free, total, size;

	int r;

	hugepages_lock =
		open("/tmp/fdx-hugepages.lock", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (hugepages_lock >= 0)
		flock(hugepages_lock, LOCK_EX);
	saved_hugepages = read_long(NR_HUGEPAGES);
	if (saved_hugepages < 0 || fdx_huge_pages(&free, &total, &size) < 0 || free >= 4)
		return;
	r = write_long(NR_HUGEPAGES, saved_hugepages + 4);
	if (r < 0) {
		printf("test-backend: cannot reserve huge pages (%s): testing the error "
		       "instead\n",
		       strerror(-r));
		saved_hugepages = -1;
	}
}

static void restore_huge(void)
{
	int r;

	/* in check's parent: no ck_assert here, a word on stdout if it went wrong */
	if (saved_hugepages >= 0 && read_long(NR_HUGEPAGES) != saved_hugepages &&
	    (r = write_long(NR_HUGEPAGES, saved_hugepages)) < 0)
		printf("test-backend: cannot put %s back to %ld: %s\n", NR_HUGEPAGES,
		       saved_hugepages, strerror(-r));
	if (hugepages_lock >= 0)
		close(hugepages_lock); /* and the lock goes with it */
	hugepages_lock = -1;
}

START_TEST(huge_when_free)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_MEMFD_HUGE };
	uint64_t free, total, size, free_after;
	struct fdx_buffer b, part;
	struct fdx_verify_result vr;
	struct fdx_pattern p;
	struct statfs sf;
	char why[256];
	int fd;

	ck_assert_int_eq(fdx_huge_pages(&free, &total, &size), 0);
	if (free < 2) {
		/* not reservable here (not root): the clear error is what there is to see
		 */
		ck_assert_int_eq(fdx_backend_probe(&sp, why, sizeof(why)), -ENOMEM);
		ck_assert_msg(strncmp(why, "no free huge pages (HugePages_Free ", 35) == 0,
			      "'%s'", why);
		return;
	}
	ck_assert_int_eq(fdx_backend_probe(&sp, why, sizeof(why)), 0);
	ck_assert_uint_eq(sp.page, size);
	make(&b, &sp, size + 4096); /* rounded up to two huge pages */
	ck_assert_uint_eq(b.file_size, 2 * size);
	ck_assert_int_eq(b.kind, FDX_BUF_KIND_MEMFD_HUGE);
	ck_assert_uint_eq(b.page, size);
	ck_assert_int_eq(fstatfs(b.fd, &sf), 0);
	ck_assert(sf.f_type == HUGETLBFS_MAGIC);
	ck_assert_uint_eq(b.seals & FDX_SEALS_PRODUCER, FDX_SEALS_PRODUCER);
	ck_assert_int_eq(fdx_huge_pages(&free_after, &total, &size), 0);
	ck_assert_uint_eq(free_after, free - 2);
	round_trip(&b, FDX_BACKEND_MEMFD_HUGE, size + 4096, FDX_BUF_KIND_MEMFD_HUGE);

	/* a range that starts inside the second huge page: mapped from that page's start */
	fd = fcntl(b.fd, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_eq(fdx_buffer_import(&part, fd, size + 8, 4000, 0), 0);
	fdx_pattern_init(&p, 7, 0);
	ck_assert_int_eq(fdx_pattern_verify(&p, part.map, 4000, size + 8, &vr), 0);
	fdx_buffer_release(&part);
	fdx_buffer_release(&b);
	/* unmapped and closed for real: the pages are free again */
	ck_assert_int_eq(fdx_huge_pages(&free_after, &total, &size), 0);
	ck_assert_uint_eq(free_after, free);
}
END_TEST

/* More huge pages than are free: -ENOMEM, and the numbers to act on. */
START_TEST(huge_exhausted)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_MEMFD_HUGE };
	uint64_t free, total, size;
	struct fdx_buffer b;
	char why[256];

	if (read_long("/proc/sys/vm/nr_overcommit_hugepages") > 0) {
		printf("test-backend: huge page overcommit is on: no exhaustion to see\n");
		return;
	}
	ck_assert_int_eq(fdx_huge_pages(&free, &total, &size), 0);
	ck_assert_int_eq(fdx_backend_create(&b, &sp, "fdx-huge", (free + 1) * size, 0, why,
					    sizeof(why)),
			 -ENOMEM);
	ck_assert_msg(strncmp(why, "no free huge pages (HugePages_Free ", 35) == 0, "'%s'",
		      why);
	ck_assert_int_eq(b.fd, -1);
}
END_TEST

/* ---- devices: the error here when the device is missing, the real thing where not ---- */

START_TEST(dma_heap)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_DMA_HEAP };
	struct fdx_buffer b;
	struct stat st;
	char why[400];

	if (stat(FDX_DMA_HEAP_DIR, &st) < 0) {
		ck_assert_int_eq(fdx_backend_probe(&sp, why, sizeof(why)), -ENOENT);
		ck_assert_str_eq(why,
				 "/dev/dma_heap/system: No such file or directory (this "
				 "kernel or board has no DMA-BUF heaps)");
		ck_assert_int_eq(
			fdx_backend_create(&b, &sp, "x", 4096, 0, why, sizeof(why)),
			-ENOENT);
		ck_assert_int_eq(b.fd, -1);
		return;
	}
	/* heaps here: one that is not there is named with those that are */
	sp.heap = "fdx-no-such-heap";
	ck_assert_int_eq(fdx_backend_probe(&sp, why, sizeof(why)), -ENOENT);
	ck_assert_msg(strstr(why, "(the heaps here: "), "'%s'", why);
	sp.heap = NULL;
	if (fdx_backend_probe(&sp, why, sizeof(why)) < 0) {
		printf("test-backend: %s: the success path is left to tests/backends.sh\n",
		       why);
		return;
	}
	make(&b, &sp, 10000);
	ck_assert_int_eq(b.kind, FDX_BUF_KIND_DMABUF);
	ck_assert_uint_eq(b.file_size % 4096, 0);
	ck_assert_int_eq(fdx_buffer_cpu_begin(&b, true), 0);
	ck_assert_int_eq(fdx_buffer_cpu_end(&b, true), 0);
	round_trip(&b, FDX_BACKEND_DMA_HEAP, 10000, FDX_BUF_KIND_DMABUF);
	fdx_buffer_release(&b);
}
END_TEST

START_TEST(udmabuf)
{
	struct fdx_backend_spec sp = { .backend = FDX_BACKEND_UDMABUF };
	struct fdx_buffer b;
	struct stat st;
	char why[400];

	if (stat(FDX_UDMABUF_DEVICE, &st) < 0) {
		ck_assert_int_eq(fdx_backend_probe(&sp, why, sizeof(why)), -ENOENT);
		ck_assert_str_eq(why,
				 "/dev/udmabuf: No such file or directory (this kernel "
				 "has no udmabuf: CONFIG_UDMABUF, modprobe udmabuf)");
		ck_assert_int_eq(
			fdx_backend_create(&b, &sp, "x", 4096, 0, why, sizeof(why)),
			-ENOENT);
		ck_assert_int_eq(b.fd, -1);
		return;
	}
	if (fdx_backend_probe(&sp, why, sizeof(why)) < 0) {
		printf("test-backend: %s: the success path is left to tests/backends.sh\n",
		       why);
		return;
	}
	make(&b, &sp, 10000);
	ck_assert_int_eq(b.kind, FDX_BUF_KIND_DMABUF);
	round_trip(&b, FDX_BACKEND_UDMABUF, 10000, FDX_BUF_KIND_DMABUF);
	fdx_buffer_release(&b);
}
END_TEST

static Suite *backend_suite(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tc_case("kinds");

	tcase_add_test(tc, parse_names);
	tcase_add_test(tc, memfd_sealed);
	tcase_add_test(tc, shm_unlinked_unsealed);
	tcase_add_test(tc, memfd_claimed_as_other);
	tcase_add_test(tc, tmpfile_dev_shm);
	tcase_add_test(tc, tmpfile_tmp);
	tcase_add_test(tc, tmpfile_refused);
	suite_add_tcase(s, tc);

	tc = tc_case("huge");
	tcase_add_unchecked_fixture(tc, reserve_huge, restore_huge);
	tcase_add_test(tc, huge_when_free);
	tcase_add_test(tc, huge_exhausted);
	suite_add_tcase(s, tc);

	tc = tc_case("devices");
	tcase_add_test(tc, dma_heap);
	tcase_add_test(tc, udmabuf);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(backend_suite());
}
