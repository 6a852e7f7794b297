/* test-census.c - the /proc census against real buffers in this process and its children */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "census.h"
#include "channel.h"
#include "test-common.h"

static uint64_t inode_of(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return (uint64_t)st.st_ino;
}

/* Scan the given processes (none: only what the flags add system-wide). */
static void scan(struct fdx_census *c, unsigned flags, const pid_t *pids, size_t npids)
{
	static const pid_t nobody[1];
	struct fdx_census_opts o = { .flags = flags,
				     .pids = npids ? pids : nobody,
				     .npids = npids };
	int r;

	memset(c, 0, sizeof(*c));
	r = fdx_census_scan(&o, c);
	ck_assert_msg(r == 0, "scan: %s (%s)", strerror(-r), c->failed);
}

static const struct fdx_census_buffer *find(const struct fdx_census *c, unsigned type,
					    uint64_t id)
{
	for (size_t i = 0; i < c->nbuffers; i++)
		if (c->buffers[i].type == type && c->buffers[i].id == id)
			return &c->buffers[i];
	return NULL;
}

static pid_t holder_pid(const struct fdx_census *c, const struct fdx_census_buffer *b,
			size_t i)
{
	ck_assert_uint_lt(i, b->nholders);
	return c->procs[b->holders[i].proc].pid;
}

static pid_t mapper_pid(const struct fdx_census *c, const struct fdx_census_buffer *b,
			size_t i)
{
	ck_assert_uint_lt(i, b->nmappers);
	return c->procs[b->mappers[i]].pid;
}

START_TEST(own_memfd)
{
	char name[64];
	struct fdx_census c;
	const struct fdx_census_buffer *b;
	pid_t me = getpid();
	int fd, fd2;
	void *p;

	snprintf(name, sizeof(name), "fdx:%d:2:5.1:sbeef", (int)me);
	fd = tc_memfd(name, 10000);
	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(fd2, 0);
	p = mmap(NULL, 10000, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);

	scan(&c, FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS, &me, 1);
	ck_assert_uint_eq(c.scanned, 1);
	ck_assert_uint_eq(c.vanished + c.denied, 0);
	b = find(&c, FDX_CENSUS_MEMFD, inode_of(fd));
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->name, name);
	ck_assert(b->has_size);
	ck_assert_uint_eq(b->size, 10000);
	ck_assert_int_eq(b->seals, fcntl(fd, F_GET_SEALS));
	ck_assert(b->seals & F_SEAL_SHRINK && b->seals & F_SEAL_GROW);
	ck_assert(b->has_owner);
	ck_assert_uint_eq(b->uid, geteuid());
	/* one holder with both fds, ascending; one mapper */
	ck_assert_uint_eq(b->nholders, 1);
	ck_assert_int_eq(holder_pid(&c, b, 0), me);
	ck_assert_uint_eq(b->holders[0].nfds, 2);
	ck_assert_int_eq(b->holders[0].fds[0], fd < fd2 ? fd : fd2);
	ck_assert_int_eq(b->holders[0].fds[1], fd < fd2 ? fd2 : fd);
	ck_assert_uint_eq(b->nmappers, 1);
	ck_assert_int_eq(mapper_pid(&c, b, 0), me);
	ck_assert(fdx_census_involves(&c, b, me));
	ck_assert(!fdx_census_involves(&c, b, me + 1));
	/* the name is an fdx name: who made it, for what */
	ck_assert(b->has_provenance);
	ck_assert_uint_eq(b->prov.pid, (uint32_t)me);
	ck_assert_uint_eq(b->prov.session, 2);
	ck_assert_uint_eq(b->prov.index, 5);
	ck_assert_int_eq(b->prov.plane, 1);
	ck_assert(b->prov.has_seed);
	ck_assert_uint_eq(b->prov.seed, 0xbeef);
	ck_assert_str_eq(c.procs[b->holders[0].proc].comm, "test-census");
	fdx_census_clear(&c);

	/* without FDX_CENSUS_SEALS nobody's fds are fetched */
	scan(&c, FDX_CENSUS_BUFFERS, &me, 1);
	b = find(&c, FDX_CENSUS_MEMFD, inode_of(fd));
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->seals, -1);
	fdx_census_clear(&c);
	munmap(p, 10000);
	close(fd);
	close(fd2);
}
END_TEST

START_TEST(names_not_ours)
{
	struct fdx_census c;
	const struct fdx_census_buffer *b;
	pid_t me = getpid();
	int plain = tc_memfd("camera-frame-7", 100), blank = tc_memfd("", 200);

	scan(&c, FDX_CENSUS_BUFFERS, &me, 1);
	b = find(&c, FDX_CENSUS_MEMFD, inode_of(plain));
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->name, "camera-frame-7");
	ck_assert(!b->has_provenance);
	ck_assert_uint_eq(b->nmappers, 0);
	b = find(&c, FDX_CENSUS_MEMFD, inode_of(blank));
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->name, "");
	ck_assert_uint_eq(b->size, 200);
	fdx_census_clear(&c);
	close(plain);
	close(blank);
}
END_TEST

struct hold_arg {
	int fd;	       /* the buffer to keep */
	int ready;     /* write end: one byte once set up */
	int go;	       /* read end: EOF means exit */
	int unused[2]; /* the parent's ends, closed here so that EOF can come */
};

static int hold_and_wait(void *arg)
{
	struct hold_arg *a = arg;
	char c;

	close(a->unused[0]);
	close(a->unused[1]);
	tc_child_assert(write(a->ready, "", 1) == 1, "write: %s", strerror(errno));
	tc_child_assert(read(a->go, &c, 1) == 0, "read");
	return 0;
}

/* A child that holds fd until the returned pipe end is closed. */
static pid_t holding_child(int fd, int *go_w)
{
	int ready[2], go[2];
	struct hold_arg a;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	a = (struct hold_arg){
		.fd = fd, .ready = ready[1], .go = go[0], .unused = { ready[0], go[1] }
	};
	pid = tc_fork(hold_and_wait, &a);
	close(ready[1]);
	close(go[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*go_w = go[1];
	return pid;
}

START_TEST(held_by_child)
{
	struct fdx_census c;
	const struct fdx_census_buffer *b;
	pid_t pids[2] = { getpid() };
	int both = tc_memfd("both", 4096), theirs = tc_memfd("theirs", 8192), go;

	pids[1] = holding_child(both, &go);
	close(theirs); /* the child's copy stays */

	scan(&c, FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS, pids, 2);
	ck_assert_uint_eq(c.scanned, 2);
	b = find(&c, FDX_CENSUS_MEMFD, inode_of(both));
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->nholders, 2);
	ck_assert_int_eq(holder_pid(&c, b, 0), pids[0]);
	ck_assert_int_eq(holder_pid(&c, b, 1), pids[1]);
	ck_assert_int_eq(b->holders[1].fds[0], both);
	ck_assert_int_eq(b->seals, 0);
	for (size_t i = 0; i < c.nbuffers; i++)
		if (c.buffers[i].name && !strcmp(c.buffers[i].name, "theirs")) {
			b = &c.buffers[i];
			ck_assert_uint_eq(b->nholders, 1);
			ck_assert_int_eq(holder_pid(&c, b, 0), pids[1]);
			ck_assert_uint_eq(b->size, 8192);
			ck_assert_int_eq(b->seals, 0);
			b = NULL;
			break;
		}
	ck_assert_msg(b == NULL, "the child's memfd was not found");
	fdx_census_clear(&c);
	close(go);
	tc_wait_child(pids[1], 0);
	close(both);
}
END_TEST

static int exit_now(void *arg)
{
	return 0;
}

/* A process gone between the listing of /proc and its scan: counted, not fatal. */
START_TEST(vanished_process)
{
	struct fdx_census c;
	pid_t pids[2] = { 0, getpid() };
	int fd = tc_memfd("still-here", 4096);

	pids[0] = tc_fork(exit_now, NULL);
	tc_wait_child(pids[0], 0); /* reaped: its pid names nothing now */
	scan(&c, FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS, pids, 2);
	ck_assert_uint_eq(c.scanned, 2);
	ck_assert_uint_eq(c.vanished, 1);
	ck_assert_uint_eq(c.denied, 0);
	ck_assert_ptr_nonnull(find(&c, FDX_CENSUS_MEMFD, inode_of(fd)));
	fdx_census_clear(&c);
	close(fd);
}
END_TEST

static int scan_as_nobody(void *arg)
{
	pid_t target = *(pid_t *)arg;
	struct fdx_census c = { 0 };
	struct fdx_census_opts o = { .flags = FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS,
				     .pids = &target,
				     .npids = 1 };
	int r;

	tc_child_assert(setgid(65534) == 0 && setuid(65534) == 0, "setuid: %s",
			strerror(errno));
	r = fdx_census_scan(&o, &c);
	tc_child_assert(r == 0, "scan: %s", strerror(-r));
	tc_child_assert(c.denied == 1 && c.vanished == 0 && c.scanned == 1,
			"denied %u vanished %u scanned %u", c.denied, c.vanished,
			c.scanned);
	tc_child_assert(c.nbuffers == 0, "%zu buffers seen", c.nbuffers);
	fdx_census_clear(&c);
	return 0;
}

/* Another user's process: counted as denied, the scan goes on. */
START_TEST(denied_process)
{
	pid_t me = getpid();
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr,
			"denied_process: needs root to become another user; skipped\n");
		return;
	}
	fd = tc_memfd("root-only", 4096);
	tc_wait_child(tc_fork(scan_as_nobody, &me), 0);
	close(fd);
}
END_TEST

START_TEST(mapped_only)
{
	struct fdx_census c;
	const struct fdx_census_buffer *b;
	pid_t me = getpid();
	int fd = tc_memfd("mapped-only", 12288);
	uint64_t ino = inode_of(fd);
	void *p;

	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
	p = mmap(NULL, 12288, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	close(fd);

	scan(&c, FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS, &me, 1);
	b = find(&c, FDX_CENSUS_MEMFD, ino);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->name, "mapped-only");
	ck_assert_uint_eq(b->nholders, 0);
	ck_assert_uint_eq(b->nmappers, 1);
	ck_assert_int_eq(mapper_pid(&c, b, 0), me);
	/* map_files tells the rest, to those who may read it (root) */
	if (geteuid() == 0) {
		ck_assert(b->has_size);
		ck_assert_uint_eq(b->size, 12288);
		ck_assert_int_eq(b->seals, F_SEAL_GROW);
	}
	fdx_census_clear(&c);
	munmap(p, 12288);
}
END_TEST

static void shm_name(char *buf, size_t cap)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, cap, "/fdx-test-census-%d-%lx", (int)getpid(),
		 (unsigned long)ts.tv_nsec);
}

/* A /dev/shm object that no process holds is still a buffer, and an orphan. */
START_TEST(unheld_shm)
{
	struct fdx_census c;
	const struct fdx_census_buffer *b;
	char name[64], path[80];
	uint64_t ino;
	bool found = false;
	int fd;

	shm_name(name, sizeof(name));
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 3000), 0);
	ino = inode_of(fd);
	close(fd);
	snprintf(path, sizeof(path), "/dev/shm%s", name);

	scan(&c, FDX_CENSUS_BUFFERS | FDX_CENSUS_SYSTEM | FDX_CENSUS_ORPHANS, NULL, 0);
	/* removed before any assertion can fail, so that a failure leaves nothing behind */
	ck_assert_int_eq(shm_unlink(name), 0);
	b = find(&c, FDX_CENSUS_SHM, ino);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->name, path);
	ck_assert_uint_eq(b->size, 3000);
	ck_assert_uint_eq(b->mode, 0640);
	ck_assert_uint_eq(b->nholders + b->nmappers, 0);
	for (size_t i = 0; i < c.norphans; i++)
		if (c.orphans[i].type == FDX_CENSUS_SHM && c.orphans[i].id == ino) {
			ck_assert_str_eq(c.orphans[i].name, path);
			ck_assert_uint_eq(c.orphans[i].size, 3000);
			found = true;
		}
	ck_assert_msg(found, "%s is not among the orphans", path);
	fdx_census_clear(&c);
}
END_TEST

START_TEST(held_shm)
{
	struct fdx_census c;
	const struct fdx_census_buffer *b;
	pid_t me = getpid();
	char name[64];
	int fd;

	shm_name(name, sizeof(name));
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 5000), 0);
	/* unlinked at once, as FAULTS 25 advises: found through the fd alone */
	ck_assert_int_eq(shm_unlink(name), 0);
	scan(&c, FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS | FDX_CENSUS_ORPHANS, &me, 1);
	b = find(&c, FDX_CENSUS_SHM, inode_of(fd));
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->size, 5000);
	ck_assert_uint_eq(b->nholders, 1);
	ck_assert_int_eq(b->seals, fcntl(fd, F_GET_SEALS)); /* tmpfs: F_SEAL_SEAL */
	ck_assert_ptr_nonnull(strstr(b->name, " (deleted)"));
	for (size_t i = 0; i < c.norphans; i++)
		ck_assert(c.orphans[i].id != b->id || c.orphans[i].type != FDX_CENSUS_SHM);
	fdx_census_clear(&c);
	close(fd);
}
END_TEST

START_TEST(sysv_segment)
{
	struct fdx_census c;
	const struct fdx_census_buffer *b;
	pid_t me = getpid();
	int id = shmget(IPC_PRIVATE, 40000, IPC_CREAT | 0640), id2;
	void *p;

	ck_assert_int_ge(id, 0);
	id2 = shmget(IPC_PRIVATE, 1000, IPC_CREAT | 0600);
	ck_assert_int_ge(id2, 0);
	p = shmat(id, NULL, SHM_RDONLY);
	ck_assert_ptr_ne(p, (void *)-1);

	scan(&c, FDX_CENSUS_BUFFERS | FDX_CENSUS_SYSTEM | FDX_CENSUS_ORPHANS, &me, 1);
	/* removed before any assertion can fail, so that a failure leaves nothing behind */
	shmdt(p);
	shmctl(id, IPC_RMID, NULL);
	shmctl(id2, IPC_RMID, NULL);
	b = find(&c, FDX_CENSUS_SYSV, (uint64_t)id);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->size, 40000);
	ck_assert_uint_eq(b->mode, 0640);
	ck_assert_int_eq(b->nattch, 1);
	ck_assert_int_eq(b->cpid, me);
	ck_assert_str_eq(b->name, "0x00000000");
	ck_assert_uint_eq(b->nmappers, 1);
	ck_assert_int_eq(mapper_pid(&c, b, 0), me);
	ck_assert_int_eq(b->seals, -1);
	b = find(&c, FDX_CENSUS_SYSV, (uint64_t)id2);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->nattch, 0);
	/* never attached: an orphan; the attached one is not */
	bool orphan = false;
	for (size_t i = 0; i < c.norphans; i++) {
		if (c.orphans[i].type != FDX_CENSUS_SYSV)
			continue;
		ck_assert_uint_ne(c.orphans[i].id, (uint64_t)id);
		orphan |= c.orphans[i].id == (uint64_t)id2;
	}
	ck_assert(orphan);
	fdx_census_clear(&c);
}
END_TEST

START_TEST(shared_file)
{
	struct fdx_census c;
	const struct fdx_census_buffer *b;
	char *dir = tc_tmpdir(), path[PATH_MAX], priv_path[PATH_MAX];
	pid_t me = getpid();
	int fd, pfd;
	void *p, *q;

	snprintf(path, sizeof(path), "%s/shared", dir);
	snprintf(priv_path, sizeof(priv_path), "%s/private", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	pfd = open(priv_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(pfd, 0);
	ck_assert_int_eq(ftruncate(fd, 6000), 0);
	ck_assert_int_eq(ftruncate(pfd, 6000), 0);
	p = mmap(NULL, 6000, PROT_READ, MAP_SHARED, fd, 0);
	q = mmap(NULL, 6000, PROT_READ, MAP_PRIVATE, pfd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_ptr_ne(q, MAP_FAILED);

	scan(&c, FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS, &me, 1);
	b = find(&c, FDX_CENSUS_FILE, inode_of(fd));
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->name, path);
	ck_assert_uint_eq(b->size, 6000);
	ck_assert_uint_eq(b->nholders, 1);
	ck_assert_int_eq(b->holders[0].fds[0], fd);
	ck_assert_uint_eq(b->nmappers, 1);
	ck_assert_int_eq(b->seals, -1);
	/* a private mapping shares nothing */
	ck_assert_ptr_null(find(&c, FDX_CENSUS_FILE, inode_of(pfd)));
	fdx_census_clear(&c);
	munmap(p, 6000);
	munmap(q, 6000);
	close(fd);
	close(pfd);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

/* A listening fdx endpoint with one client; then its stale file, once nobody listens. */
START_TEST(endpoint_and_stale_socket)
{
	char *dir = tc_tmpdir(), path[PATH_MAX];
	const char *dirs[] = { dir, NULL };
	struct fdx_census_opts o = { .flags = FDX_CENSUS_SOCKETS };
	struct fdx_census c = { 0 };
	const struct fdx_census_endpoint *ep = NULL;
	pid_t me = getpid();
	int lfd, lock, cfd, afd;
	bool stale = false;

	snprintf(path, sizeof(path), "%s/s.sock", dir);
	ck_assert_int_eq(fdx_channel_listen(path, &lfd, &lock), 0);
	ck_assert_int_eq(fdx_channel_connect(path, &cfd), 0);
	ck_assert_int_eq(fdx_channel_accept(lfd, &afd), 0);

	o.pids = &me;
	o.npids = 1;
	ck_assert_int_eq(fdx_census_scan(&o, &c), 0);
	for (size_t i = 0; i < c.nendpoints; i++)
		if (!strcmp(c.endpoints[i].path, path))
			ep = &c.endpoints[i];
	ck_assert_msg(ep, "no endpoint %s", path);
	ck_assert(ep->has_lock);
	ck_assert_uint_eq(ep->nlisteners, 1);
	ck_assert_int_eq(c.procs[ep->listeners[0]].pid, me);
	ck_assert_uint_eq(ep->connections, 1);
	ck_assert_uint_eq(ep->npeers, 1);
	ck_assert_int_eq(ep->peers[0].pid, me);
	fdx_census_clear(&c);

	/* while the lock is held the file is no orphan, listener or not */
	close(afd);
	close(cfd);
	close(lfd);
	o = (struct fdx_census_opts){
		.flags = FDX_CENSUS_ORPHANS, .pids = &me, .npids = 1, .socket_dirs = dirs
	};
	ck_assert_int_eq(fdx_census_scan(&o, &c), 0);
	for (size_t i = 0; i < c.norphans; i++)
		ck_assert_str_ne(c.orphans[i].name, path);
	fdx_census_clear(&c);

	close(lock);
	ck_assert_int_eq(fdx_census_scan(&o, &c), 0);
	for (size_t i = 0; i < c.norphans; i++)
		if (c.orphans[i].type == FDX_CENSUS_SOCKET &&
		    !strcmp(c.orphans[i].name, path))
			stale = true;
	ck_assert_msg(stale, "%s is not among the orphans", path);
	fdx_census_clear(&c);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(type_names)
{
	static const char *const names[] = { "memfd", "shm", "dmabuf", "sysv", "file" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int t = fdx_census_type_parse(names[i]);

		ck_assert_int_eq(t, 1 << i);
		ck_assert_str_eq(fdx_census_type_name((unsigned)t), names[i]);
	}
	ck_assert_str_eq(fdx_census_type_name(FDX_CENSUS_SOCKET), "socket");
	ck_assert_int_eq(fdx_census_type_parse("socket"), -EINVAL); /* orphans only */
	ck_assert_int_eq(fdx_census_type_parse("MEMFD"), -EINVAL);
	ck_assert_int_eq(fdx_census_type_parse(""), -EINVAL);
	ck_assert_ptr_null(fdx_census_type_name(0));
	ck_assert_ptr_null(fdx_census_type_name(3));
}
END_TEST

/* The whole of /proc, twice, leaks nothing and finds this process's buffer. */
START_TEST(whole_machine)
{
	struct fdx_census_opts o = { .flags = FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS |
					      FDX_CENSUS_SYSTEM | FDX_CENSUS_SOCKETS };
	struct fdx_census c = { 0 };
	int fd = tc_memfd("whole-machine", 4096);

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(fdx_census_scan(&o, &c), 0);
		ck_assert_uint_gt(c.scanned, 1);
		ck_assert_ptr_nonnull(find(&c, FDX_CENSUS_MEMFD, inode_of(fd)));
		fdx_census_clear(&c);
	}
	close(fd);
}
END_TEST

static Suite *census_suite(void)
{
	Suite *s = suite_create("census");
	TCase *tc = tc_case("census");

	tcase_add_test(tc, own_memfd);
	tcase_add_test(tc, names_not_ours);
	tcase_add_test(tc, held_by_child);
	tcase_add_test(tc, vanished_process);
	tcase_add_test(tc, denied_process);
	tcase_add_test(tc, mapped_only);
	tcase_add_test(tc, unheld_shm);
	tcase_add_test(tc, held_shm);
	tcase_add_test(tc, sysv_segment);
	tcase_add_test(tc, shared_file);
	tcase_add_test(tc, endpoint_and_stale_socket);
	tcase_add_test(tc, type_names);
	tcase_add_test(tc, whole_machine);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(census_suite());
}
