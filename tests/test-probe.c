/* test-probe.c - each probe of `fdx doctor` against facts this test finds out for itself:
 * the files the kernel exports, and the same calls made here by hand */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "probe.h"
#include "test-common.h"

#define NOBODY 65534

/* ---- facts, found without the code under test ---- */

/* A number from a file; false when the file is not there. */
static bool file_int(const char *path, int64_t *v)
{
	FILE *f = fopen(path, "re");
	long long x;
	int n;

	if (!f)
		return false;
	n = fscanf(f, "%lld", &x);
	fclose(f);
	ck_assert_int_eq(n, 1);
	*v = x;
	return true;
}

/* "Key:  N" of /proc/meminfo; -1 when absent */
static int64_t meminfo(const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* Become nobody in a forked child, as a program run by nobody would be. */
static void become_nobody(void)
{
	tc_child_assert(setgroups(0, NULL) == 0, "setgroups: %s", strerror(errno));
	tc_child_assert(setresgid(NOBODY, NOBODY, NOBODY) == 0, "setresgid: %s",
			strerror(errno));
	tc_child_assert(setresuid(NOBODY, NOBODY, NOBODY) == 0, "setresuid: %s",
			strerror(errno));
	/* a change of uid makes a process undumpable, which an exec would undo: without
	 * this, no process of nobody could take fds of ours, which is not what is tested */
	tc_child_assert(prctl(PR_SET_DUMPABLE, 1) == 0, "PR_SET_DUMPABLE: %s",
			strerror(errno));
}

static void assert_status(const struct fdx_probe *p, enum fdx_probe_status want)
{
	ck_assert_msg(p->status == want, "%s: %s (%s, errno %d), expected %s", p->name,
		      fdx_probe_status_name(p->status), p->found, p->err,
		      fdx_probe_status_name(want));
	ck_assert_msg(p->found[0], "%s: nothing said about what was found", p->name);
}

/* ---- memfd ---- */

START_TEST(memfd_seals)
{
	struct fdx_probe p;

	/* fdx cannot work without them, and every kernel fdx runs on has them */
	ck_assert_int_eq(fdx_probe_memfd_seals(&p), 0);
	ck_assert_str_eq(p.name, "memfd-seals");
	assert_status(&p, FDX_PROBE_OK);
	ck_assert_int_eq(p.err, 0);
}
END_TEST

START_TEST(future_write)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	bool have;
	struct fdx_probe p;

	ck_assert_int_ge(fd, 0);
	have = fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0;
	close(fd);
	ck_assert_int_eq(fdx_probe_seal_future_write(&p), 0);
	assert_status(&p, have ? FDX_PROBE_OK : FDX_PROBE_MISSING);
}
END_TEST

START_TEST(noexec_seal)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING | 0x0008u);
	bool have = fd >= 0 && (fcntl(fd, F_GET_SEALS) & 0x0020);
	struct fdx_probe p;

	if (fd >= 0)
		close(fd);
	else
		ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(fdx_probe_mfd_noexec_seal(&p), 0);
	assert_status(&p, have ? FDX_PROBE_OK : FDX_PROBE_MISSING);
	if (!have)
		ck_assert_int_eq(p.err, EINVAL);
}
END_TEST

START_TEST(noexec_sysctl)
{
	struct fdx_probe p;
	int64_t v;

	ck_assert_int_eq(fdx_probe_memfd_noexec_sysctl(&p), 0);
	ck_assert_str_eq(p.name, "vm.memfd_noexec");
	if (!file_int("/proc/sys/vm/memfd_noexec", &v)) {
		assert_status(&p, FDX_PROBE_MISSING);
		ck_assert(!p.has_value);
		return;
	}
	assert_status(&p, FDX_PROBE_OK);
	ck_assert(p.has_value);
	ck_assert_int_eq(p.value, v);
	/* 2 forbids executable memfds: MFD_EXEC was refused, and said so */
	if (v == 2)
		ck_assert_ptr_nonnull(strstr(p.found, "MFD_EXEC refused"));
	else
		ck_assert_ptr_nonnull(strstr(p.found, "MFD_EXEC accepted"));
}
END_TEST

/* ---- huge pages ---- */

START_TEST(hugetlb_flag)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_HUGETLB);
	struct fdx_probe p;

	if (fd >= 0)
		close(fd);
	ck_assert_int_eq(fdx_probe_mfd_hugetlb(&p), 0);
	assert_status(&p, fd >= 0 ? FDX_PROBE_OK : FDX_PROBE_MISSING);
	if (fd >= 0 && meminfo("Hugepagesize") > 0)
		ck_assert_int_eq(p.value, meminfo("Hugepagesize") * 1024);
}
END_TEST

/* The pool as /proc/meminfo has it: total, free, rsvd and the page size. */
struct pool {
	int64_t total, free, rsvd, kb;
};

static struct pool pool_now(void)
{
	return (struct pool){ meminfo("HugePages_Total"), meminfo("HugePages_Free"),
			      meminfo("HugePages_Rsvd"), meminfo("Hugepagesize") };
}

static bool same_pool(struct pool a, struct pool b)
{
	return a.total == b.total && a.free == b.free && a.rsvd == b.rsvd;
}

/*
 * The probe against the pool read just before and after it; other processes on the
 * machine may use huge pages too, so a run during which the pool moved is done again.
 */
static void check_pool(struct fdx_probe *p)
{
	for (int tries = 0; tries < 10; tries++) {
		struct pool before = pool_now(), after;

		ck_assert_int_eq(fdx_probe_hugepages(p), 0);
		after = pool_now();
		if (!same_pool(before, after)) {
			usleep(100 * 1000);
			continue;
		}
		if (before.total < 0) {
			assert_status(p, FDX_PROBE_MISSING);
			return;
		}
		/* the same before and after: the page it took to prove the pool went back
		 */
		ck_assert_int_eq(fdx_probe_detail(p, "total", -1), before.total);
		ck_assert_int_eq(fdx_probe_detail(p, "free", -1), before.free);
		ck_assert_int_eq(fdx_probe_detail(p, "rsvd", -1), before.rsvd);
		ck_assert_int_eq(fdx_probe_detail(p, "size_kb", -1), before.kb);
		ck_assert_int_eq(p->value, before.free - before.rsvd);
		if (before.free - before.rsvd > 0)
			assert_status(p, FDX_PROBE_OK);
		else
			assert_status(p, FDX_PROBE_MISSING);
		return;
	}
	ck_abort_msg("the huge page pool kept changing");
}

START_TEST(hugepages_as_found)
{
	struct fdx_probe p;

	check_pool(&p);
	if (p.status == FDX_PROBE_MISSING && p.ndetails)
		ck_assert_ptr_nonnull(strstr(p.found, "none free"));
}
END_TEST

/* Change the pool by delta pages (relative, so that another user's change survives). */
static bool add_pages(const char *path, int64_t delta)
{
	int64_t now;
	bool ok;
	FILE *f;

	if (!file_int(path, &now) || !(f = fopen(path, "we")))
		return false;
	ok = fprintf(f, "%" PRId64 "\n", now + delta < 0 ? 0 : now + delta) > 0;
	return (fclose(f) == 0) && ok;
}

/*
 * As root: reserve 4 pages more, probe, and give them back before asserting anything
 * (a failed assertion ends the test process at once). Not root, or the kernel found no
 * memory for them: whatever is free decides, and with none the probe says missing.
 */
START_TEST(hugepages_reserved)
{
	static const char path[] = "/proc/sys/vm/nr_hugepages";
	int64_t old = -1, during = -1, before_restore = -1, restored = -1;
	struct pool pool = { 0 };
	struct fdx_probe p;
	bool wrote = false;

	if (!file_int(path, &old)) {
		ck_assert_int_eq(fdx_probe_hugepages(&p), 0);
		assert_status(&p, FDX_PROBE_MISSING);
		return;
	}
	if (geteuid() == 0)
		wrote = add_pages(path, 4);
	if (!wrote) {
		/* cannot reserve: with none free, the probe must say missing */
		check_pool(&p);
		return;
	}
	file_int(path, &during);
	pool = pool_now();
	fdx_probe_hugepages(&p);
	file_int(path, &before_restore);
	add_pages(path, -(during - old));
	file_int(path, &restored);
	/* the old value is back, unless someone else changed the pool meanwhile */
	if (before_restore == during)
		ck_assert_int_eq(restored, old);
	if (pool.free - pool.rsvd > 0) {
		assert_status(&p, FDX_PROBE_OK);
		ck_assert_int_ge(fdx_probe_detail(&p, "total", -1), during);
		ck_assert_ptr_nonnull(strstr(p.found, "one page allocated and given back"));
	} else {
		/* the kernel found no memory for the pages */
		assert_status(&p, FDX_PROBE_MISSING);
	}
}
END_TEST

/* ---- shm and files ---- */

START_TEST(dev_shm)
{
	struct statvfs vfs;
	struct statfs fs;
	struct fdx_probe p;
	int64_t free_now;

	ck_assert_int_eq(fdx_probe_dev_shm(&p), 0);
	if (statvfs("/dev/shm", &vfs) < 0) {
		assert_status(&p, FDX_PROBE_MISSING);
		return;
	}
	ck_assert_int_eq(statfs("/dev/shm", &fs), 0);
	ck_assert_int_eq(fdx_probe_detail(&p, "size", -1),
			 (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize);
	/* other tests may write into /dev/shm meanwhile: near enough */
	free_now = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	ck_assert_int_lt(llabs(fdx_probe_detail(&p, "free", -1) - free_now), 64 << 20);
	ck_assert_int_eq(p.value, fdx_probe_detail(&p, "free", -1));
	if (fs.f_type == 0x01021994 && free_now > (128 << 20))
		assert_status(&p, FDX_PROBE_OK);
	else
		ck_assert_int_ne(p.status, FDX_PROBE_OK);
}
END_TEST

/* fdx-doctor-* objects in /dev/shm: none must be left */
static int shm_leftovers(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, "fdx-doctor-", 11) == 0;
	closedir(d);
	return n;
}

START_TEST(shm_open_works)
{
	struct fdx_probe p;

	ck_assert_int_eq(fdx_probe_shm_open(&p), 0);
	assert_status(&p, exists("/dev/shm") ? FDX_PROBE_OK : FDX_PROBE_MISSING);
	ck_assert_int_eq(shm_leftovers(), 0);
}
END_TEST

START_TEST(tmpfile_dirs)
{
	char *dir = tc_tmpdir(), file[512], none[512];
	struct fdx_probe p;
	int fd;

	ck_assert_int_eq(fdx_probe_tmpfile("/tmp", &p), 0);
	ck_assert_str_eq(p.name, "tmpfile:/tmp");
	fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	assert_status(&p, fd >= 0 ? FDX_PROBE_OK : FDX_PROBE_MISSING);
	if (fd >= 0)
		close(fd);
	ck_assert_int_eq(fdx_probe_tmpfile(dir, &p), 0);
	ck_assert_int_eq(p.status == FDX_PROBE_OK, fd >= 0);
	/* nothing is left in the directory: the file never had a name */
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);

	/* not there, not a directory, a file system that cannot: missing, with why */
	snprintf(none, sizeof(none), "%s/none", dir);
	ck_assert_int_eq(fdx_probe_tmpfile(none, &p), 0);
	assert_status(&p, FDX_PROBE_MISSING);
	ck_assert_int_eq(p.err, ENOENT);
	snprintf(file, sizeof(file), "%s/file", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(fdx_probe_tmpfile(file, &p), 0);
	assert_status(&p, FDX_PROBE_MISSING);
	ck_assert_int_eq(p.err, ENOTDIR);
	ck_assert_int_eq(fdx_probe_tmpfile("/proc", &p), 0);
	assert_status(&p, FDX_PROBE_MISSING);
	ck_assert_int_eq(p.err, EOPNOTSUPP);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

/* nobody in root's private directory: denied */
static int tmpfile_nobody(void *arg)
{
	struct fdx_probe p;

	become_nobody();
	fdx_probe_tmpfile(arg, &p);
	tc_child_assert(p.status == FDX_PROBE_DENIED && p.err == EACCES, "%s: %s",
			fdx_probe_status_name(p.status), p.found);
	return 0;
}

START_TEST(tmpfile_denied)
{
	char *dir;

	if (geteuid() != 0)
		return; /* needs a second user */
	dir = tc_tmpdir();
	ck_assert_int_eq(chmod(dir, 0700), 0);
	tc_wait_child(tc_fork(tmpfile_nobody, dir), 0);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- other processes ---- */

START_TEST(pidfds)
{
	struct fdx_probe p;

	ck_assert_int_eq(fdx_probe_pidfd_open(&p), 0);
	assert_status(&p, FDX_PROBE_OK);
	ck_assert_int_eq(fdx_probe_pidfd_getfd(&p), 0);
	assert_status(&p, FDX_PROBE_OK);
	/* the children it made are gone, reaped */
	ck_assert(no_children());
}
END_TEST

/* Yama's scope (-1 without Yama) and whether CAP_SYS_PTRACE is in CapEff. */
static void ptrace_facts(int64_t *scope, bool *cap)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f;

	if (!file_int("/proc/sys/kernel/yama/ptrace_scope", scope))
		*scope = -1;
	f = fopen("/proc/self/status", "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	*cap = (caps >> 19) & 1;
}

START_TEST(ptrace_self)
{
	struct fdx_probe p;
	int64_t scope;
	bool cap;

	ptrace_facts(&scope, &cap);
	ck_assert_int_eq(fdx_probe_ptrace(&p), 0);
	ck_assert_int_eq(fdx_probe_detail(&p, "yama_scope", -2), scope);
	ck_assert_int_eq(fdx_probe_detail(&p, "cap_sys_ptrace", -1), cap);
	ck_assert_int_eq(p.has_value, scope >= 0);
	/* Yama 0 (or none) lets any process of the user; 1 and 2 give way to the cap */
	if (scope < 1 || (cap && scope < 3))
		assert_status(&p, FDX_PROBE_OK);
	else
		assert_status(&p, FDX_PROBE_DENIED);
	ck_assert(no_children());
}
END_TEST

static int ptrace_nobody(void *arg)
{
	struct fdx_probe p;
	int64_t scope = *(int64_t *)arg;
	enum fdx_probe_status want = scope < 1 ? FDX_PROBE_OK : FDX_PROBE_DENIED;

	become_nobody();
	fdx_probe_ptrace(&p);
	tc_child_assert(p.status == want, "ptrace as nobody: %s (%s)",
			fdx_probe_status_name(p.status), p.found);
	tc_child_assert(fdx_probe_detail(&p, "cap_sys_ptrace", -1) == 0,
			"nobody has CAP_SYS_PTRACE?");
	fdx_probe_pidfd_getfd(&p);
	tc_child_assert(p.status == (scope < 3 ? FDX_PROBE_OK : FDX_PROBE_DENIED),
			"pidfd_getfd of its child as nobody: %s (%s)",
			fdx_probe_status_name(p.status), p.found);
	tc_child_assert(no_children(), "children left");
	return 0;
}

START_TEST(ptrace_as_nobody)
{
	int64_t scope;
	bool cap;

	if (geteuid() != 0)
		return; /* needs a second user */
	ptrace_facts(&scope, &cap);
	tc_wait_child(tc_fork(ptrace_nobody, &scope), 0);
}
END_TEST

/* ---- socket options ---- */

START_TEST(peer_options)
{
	int sv[2], v = 0;
	socklen_t len = sizeof(v);
	bool peerpidfd, passrights;
	struct fdx_probe p;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	peerpidfd = getsockopt(sv[0], SOL_SOCKET, 77, &v, &len) == 0;
	if (peerpidfd)
		close(v);
	v = 0;
	passrights = setsockopt(sv[1], SOL_SOCKET, 83, &v, sizeof(v)) == 0;
	if (passrights) {
		/* what the probe claims: an fd sent to that socket is refused */
		int fd = tc_memfd("t", 1);

		ck_assert_int_eq(tc_send_raw(sv[0], "x", 1, &fd, 1), -EPERM);
		close(fd);
	}
	close(sv[0]);
	close(sv[1]);

	ck_assert_int_eq(fdx_probe_so_peercred(&p), 0);
	assert_status(&p, FDX_PROBE_OK);
	ck_assert_int_eq(fdx_probe_so_peerpidfd(&p), 0);
	assert_status(&p, peerpidfd ? FDX_PROBE_OK : FDX_PROBE_MISSING);
	ck_assert_int_eq(fdx_probe_so_passrights(&p), 0);
	assert_status(&p, passrights ? FDX_PROBE_OK : FDX_PROBE_MISSING);
	if (!passrights)
		ck_assert(p.err == ENOPROTOOPT || p.err == EINVAL);
}
END_TEST

/* ---- devices ---- */

START_TEST(dma_heap_real)
{
	struct fdx_probe p;

	ck_assert_int_eq(fdx_probe_dma_heaps(FDX_PROBE_DMA_HEAP_DIR, &p), 0);
	ck_assert_str_eq(p.name, "dma-heap");
	if (!exists(FDX_PROBE_DMA_HEAP_DIR)) {
		assert_status(&p, FDX_PROBE_MISSING);
		ck_assert_int_eq(p.err, ENOENT);
	} else {
		ck_assert_int_ne(p.status, FDX_PROBE_ERROR);
	}
}
END_TEST

/* A heap directory of the test's own: what is not a heap is told apart. */
START_TEST(dma_heap_fake)
{
	char *dir = tc_tmpdir(), path[512];
	struct fdx_probe p;

	ck_assert_int_eq(fdx_probe_dma_heaps(dir, &p), 0);
	assert_status(&p, FDX_PROBE_MISSING); /* empty */
	ck_assert_int_eq(p.value, 0);
	snprintf(path, sizeof(path), "%s/null", dir);
	ck_assert_int_eq(symlink("/dev/null", path), 0);
	ck_assert_int_eq(fdx_probe_dma_heaps(dir, &p), 0);
	assert_status(&p, FDX_PROBE_OK);
	ck_assert_int_eq(p.value, 1);
	ck_assert_ptr_nonnull(strstr(p.found, "null"));
	/* it opens, but the allocation ioctl is not a device's of /dev/null */
	ck_assert_int_eq(fdx_probe_dma_heap(dir, "null", &p), -ENOTTY);
	ck_assert_str_eq(p.name, "dma-heap:null");
	assert_status(&p, FDX_PROBE_ERROR);
	ck_assert_int_eq(p.err, ENOTTY);
	ck_assert_int_eq(fdx_probe_dma_heap(dir, "gone", &p), 0);
	assert_status(&p, FDX_PROBE_MISSING);
	ck_assert_int_eq(p.err, ENOENT);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

static int heap_nobody(void *arg)
{
	struct fdx_probe p;

	become_nobody();
	fdx_probe_dma_heap(arg, "locked", &p);
	tc_child_assert(p.status == FDX_PROBE_DENIED && p.err == EACCES, "%s: %s",
			fdx_probe_status_name(p.status), p.found);
	return 0;
}

START_TEST(dma_heap_denied)
{
	char *dir, path[512];
	int fd;

	if (geteuid() != 0)
		return; /* needs a second user */
	dir = tc_tmpdir();
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/locked", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	tc_wait_child(tc_fork(heap_nobody, dir), 0);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(udmabuf)
{
	static const char limit[] = "/sys/module/udmabuf/parameters/size_limit_mb";
	struct fdx_probe p;
	int64_t mb;

	ck_assert_int_eq(fdx_probe_udmabuf(&p), 0);
	if (!exists("/dev/udmabuf")) {
		assert_status(&p, FDX_PROBE_MISSING);
		ck_assert_int_eq(p.err, ENOENT);
	}
	if (file_int(limit, &mb)) {
		ck_assert(p.has_value);
		ck_assert_int_eq(p.value, mb);
		ck_assert_int_eq(fdx_probe_detail(&p, "size_limit_mb", -1), mb);
	} else {
		ck_assert(!p.has_value);
	}
}
END_TEST

/* ---- limits ---- */

START_TEST(rlimit)
{
	struct rlimit rl;
	struct fdx_probe p;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(fdx_probe_rlimit_nofile(&p), 0);
	ck_assert_int_eq(fdx_probe_detail(&p, "soft", -2), (int64_t)rl.rlim_cur);
	ck_assert_int_eq(fdx_probe_detail(&p, "hard", -2), (int64_t)rl.rlim_max);
	ck_assert_int_eq(p.value, (int64_t)rl.rlim_max);
}
END_TEST

static int low_limits(void *arg)
{
	struct rlimit rl = { 64, 64 };
	struct fdx_probe p;

	(void)arg;
	tc_child_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s",
			strerror(errno));
	fdx_probe_rlimit_nofile(&p);
	tc_child_assert(p.status == FDX_PROBE_LIMITED && p.value == 64 &&
				fdx_probe_detail(&p, "soft", 0) == 64,
			"rlimit 64: %s (%s)", fdx_probe_status_name(p.status), p.found);
	/* the measure does not depend on the receiver's room: 253 go, 64 arrive */
	fdx_probe_scm_max_fd(&p);
	tc_child_assert(p.status == FDX_PROBE_OK && p.value == 253, "scm at 64: %s (%s)",
			fdx_probe_status_name(p.status), p.found);
	tc_child_assert(tc_count_fds() < 16, "%d fds open after the measure",
			tc_count_fds());
	return 0;
}

START_TEST(rlimit_low)
{
	tc_wait_child(tc_fork(low_limits, NULL), 0);
}
END_TEST

START_TEST(scm_max_fd)
{
	struct fdx_probe p;

	/* the kernel's SCM_MAX_FD: exactly 253, measured */
	ck_assert_int_eq(fdx_probe_scm_max_fd(&p), 0);
	assert_status(&p, FDX_PROBE_OK);
	ck_assert(p.has_value);
	ck_assert_int_eq(p.value, 253);
	ck_assert_int_eq(p.err, EINVAL);
}
END_TEST

static int scm_nobody(void *arg)
{
	struct fdx_probe p;

	(void)arg;
	become_nobody();
	fdx_probe_scm_max_fd(&p);
	tc_child_assert(p.status == FDX_PROBE_OK && p.value == 253, "as nobody: %s (%s)",
			fdx_probe_status_name(p.status), p.found);
	return 0;
}

START_TEST(scm_max_fd_nobody)
{
	if (geteuid() != 0)
		return;
	/* an unprivileged sender has a limit on fds in flight: one message is within it */
	tc_wait_child(tc_fork(scm_nobody, NULL), 0);
}
END_TEST

START_TEST(seqpacket)
{
	int sv[2], snd = 0, rcv = 0;
	socklen_t len = sizeof(int);
	struct fdx_probe p;
	int64_t v;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &snd, &len), 0);
	len = sizeof(int);
	ck_assert_int_eq(getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &rcv, &len), 0);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(fdx_probe_seqpacket(&p), 0);
	assert_status(&p, FDX_PROBE_OK);
	ck_assert_int_eq(fdx_probe_detail(&p, "sndbuf", -2), snd);
	ck_assert_int_eq(fdx_probe_detail(&p, "rcvbuf", -2), rcv);
	ck_assert_int_eq(p.value, snd);
	if (file_int("/proc/sys/net/core/wmem_default", &v))
		ck_assert_int_eq(fdx_probe_detail(&p, "wmem_default", -2), v);
	if (file_int("/proc/sys/net/core/rmem_default", &v))
		ck_assert_int_eq(fdx_probe_detail(&p, "rmem_default", -2), v);
}
END_TEST

/* Can a record of n bytes go from a socket with this SO_SNDBUF (0: default)? */
static int send_record(int sndbuf, size_t n)
{
	int sv[2], r = 0;
	char *buf = calloc(1, n);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	if (sndbuf)
		ck_assert_int_eq(
			setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)),
			0);
	if (send(sv[0], buf, n, MSG_DONTWAIT) < 0)
		r = -errno;
	close(sv[0]);
	close(sv[1]);
	free(buf);
	return r;
}

START_TEST(data_record)
{
	const size_t want = FDX_HDR_SIZE + FDX_DATA_HEAD + FDX_DATA_MAX;
	struct fdx_probe p;

	ck_assert_int_eq(fdx_probe_data_record(0, &p), 0);
	if (send_record(0, want) == 0) {
		assert_status(&p, FDX_PROBE_OK);
		ck_assert_int_eq(p.value, (int64_t)want);
	} else {
		assert_status(&p, FDX_PROBE_LIMITED);
	}
	/* a small send buffer: the largest record that goes, exactly */
	ck_assert_int_eq(fdx_probe_data_record(65536, &p), 0);
	assert_status(&p, FDX_PROBE_LIMITED);
	ck_assert_int_eq(p.err, EMSGSIZE);
	ck_assert_int_gt(p.value, 0);
	ck_assert_int_lt(p.value, (int64_t)want);
	ck_assert_int_eq(send_record(65536, (size_t)p.value), 0);
	ck_assert_int_eq(send_record(65536, (size_t)p.value + 1), -EMSGSIZE);
}
END_TEST

/* ---- all of them ---- */

START_TEST(host)
{
	struct fdx_probe_host h;
	struct utsname u;

	ck_assert_int_eq(uname(&u), 0);
	ck_assert_int_eq(fdx_probe_host(&h), 0);
	ck_assert_str_eq(h.release, u.release);
	ck_assert_str_eq(h.machine, u.machine);
	ck_assert_str_eq(h.sysname, "Linux");
}
END_TEST

START_TEST(all)
{
	struct fdx_probe_list l;
	size_t heaps = 0;
	DIR *d = opendir(FDX_PROBE_DMA_HEAP_DIR);

	if (d) {
		struct dirent *de;

		while ((de = readdir(d)))
			heaps += de->d_name[0] != '.';
		closedir(d);
	}
	ck_assert_int_eq(fdx_probe_all(&l), 0);
	ck_assert_uint_eq(l.n, 22 + heaps);
	for (size_t i = 0; i < l.n; i++) {
		ck_assert_msg(l.v[i].name[0] && l.v[i].found[0], "probe %zu is empty", i);
		ck_assert_int_le(l.v[i].status, FDX_PROBE_ERROR);
		/* nothing on this machine may leave a probe unable to decide */
		ck_assert_msg(l.v[i].status != FDX_PROBE_ERROR, "%s: %s", l.v[i].name,
			      l.v[i].found);
		for (size_t k = 0; k < i; k++)
			ck_assert_str_ne(l.v[i].name, l.v[k].name);
	}
	ck_assert_str_eq(l.v[0].name, "memfd-seals");
	ck_assert_str_eq(l.v[l.n - 1].name, "data-record");
	fdx_probe_list_free(&l);
	ck_assert_ptr_null(l.v);
	/* everything a probe made is gone: fds (the fixture), children, objects (the huge
	 * page is checked in hugepages_as_found) */
	ck_assert(no_children());
	ck_assert_int_eq(shm_leftovers(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tc_case("memfd");

	tcase_add_test(tc, memfd_seals);
	tcase_add_test(tc, future_write);
	tcase_add_test(tc, noexec_seal);
	tcase_add_test(tc, noexec_sysctl);
	suite_add_tcase(s, tc);
	tc = tc_case("hugepages");
	tcase_add_test(tc, hugetlb_flag);
	tcase_add_test(tc, hugepages_as_found);
	tcase_add_test(tc, hugepages_reserved);
	suite_add_tcase(s, tc);
	tc = tc_case("shm");
	tcase_add_test(tc, dev_shm);
	tcase_add_test(tc, shm_open_works);
	tcase_add_test(tc, tmpfile_dirs);
	tcase_add_test(tc, tmpfile_denied);
	suite_add_tcase(s, tc);
	tc = tc_case("processes");
	tcase_add_test(tc, pidfds);
	tcase_add_test(tc, ptrace_self);
	tcase_add_test(tc, ptrace_as_nobody);
	suite_add_tcase(s, tc);
	tc = tc_case("sockets");
	tcase_add_test(tc, peer_options);
	tcase_add_test(tc, scm_max_fd);
	tcase_add_test(tc, scm_max_fd_nobody);
	tcase_add_test(tc, seqpacket);
	tcase_add_test(tc, data_record);
	suite_add_tcase(s, tc);
	tc = tc_case("devices");
	tcase_add_test(tc, dma_heap_real);
	tcase_add_test(tc, dma_heap_fake);
	tcase_add_test(tc, dma_heap_denied);
	tcase_add_test(tc, udmabuf);
	suite_add_tcase(s, tc);
	tc = tc_case("limits");
	tcase_add_test(tc, rlimit);
	tcase_add_test(tc, rlimit_low);
	suite_add_tcase(s, tc);
	tc = tc_case("all");
	tcase_add_test(tc, host);
	tcase_add_test(tc, all);
	suite_add_tcase(s, tc);
	return tc_run_suite(s);
}
