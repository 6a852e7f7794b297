/* mkfds.c - test fixture: makes shared buffers of every kind in live processes for stat
 *
 *   mkfds all DIR            memfds (sealed, unsealed, named, unnamed, mapped only), a
 *                            POSIX shm object, SysV segments, a file in DIR mapped shared,
 *                            an unheld shm object; some handed to a forked child
 *   mkfds memfd NAME SIZE    one memfd, held and mapped
 *   mkfds bench NPROC NFDS   NPROC children holding NFDS memfds each, mapping 3 of them
 *
 * It prints one line of JSON on stdout describing what it made (pids, and for each
 * object its inode or shmid, size, seals, holders with their fds, mappers), then waits:
 * until stdin reaches EOF when stdin is a pipe or socket, and always until SIGTERM,
 * SIGINT or SIGHUP. On the way out it removes what it made (shm_unlink, IPC_RMID, the
 * file) and kills and reaps its children, so nothing is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

#define MAX_CHILDREN 4096

/* What to undo at exit; the signal handler only sets a flag, cleanup runs in main. */
static struct {
	char shm[2][64];
	int sysv[2];
	char file[4096];
	pid_t children[MAX_CHILDREN];
	size_t nchildren;
} made = { .sysv = { -1, -1 } };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void cleanup(void)
{
	for (size_t i = 0; i < made.nchildren; i++)
		kill(made.children[i], SIGKILL);
	for (size_t i = 0; i < made.nchildren; i++)
		waitpid(made.children[i], NULL, 0);
	made.nchildren = 0;
	for (int i = 0; i < 2; i++) {
		if (made.shm[i][0])
			shm_unlink(made.shm[i]);
		if (made.sysv[i] >= 0)
			shmctl(made.sysv[i], IPC_RMID, NULL);
	}
	if (made.file[0])
		unlink(made.file);
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mkfds: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	cleanup();
	exit(1);
}

static int memfd(const char *name, off_t size, unsigned flags)
{
	int fd = memfd_create(name, MFD_CLOEXEC | flags);

	if (fd < 0 || ftruncate(fd, size) < 0)
		die("memfd '%s'", name);
	return fd;
}

static void *map(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static uint64_t inode_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		die("fstat");
	return (uint64_t)st.st_ino;
}

/* The seals as JSON names, read back so that what the kernel adds is in there too. */
static void print_seals(int fd)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = { { F_SEAL_SHRINK, "shrink" }, { F_SEAL_GROW, "grow" },
		      { F_SEAL_WRITE, "write" },   { F_SEAL_FUTURE_WRITE, "future-write" },
		      { F_SEAL_SEAL, "seal" },	   { F_SEAL_EXEC, "exec" } };
	int seals = fcntl(fd, F_GET_SEALS);
	const char *sep = "";

	if (seals < 0)
		die("F_GET_SEALS");
	printf("\"seals\":[");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (seals & names[i].bit) {
			printf("%s\"%s\"", sep, names[i].name);
			sep = ",";
		}
	printf("]");
}

static void random_name(char *buf, size_t cap, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, cap, "/fdx-mkfds-%s-%d-%lx", what, (int)getpid(),
		 (unsigned long)ts.tv_nsec);
}

static int shm_object(int slot, const char *what, off_t size)
{
	int fd;

	random_name(made.shm[slot], sizeof(made.shm[slot]), what);
	fd = shm_open(made.shm[slot], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, size) < 0)
		die("shm_open '%s'", made.shm[slot]);
	return fd;
}

static int sysv_segment(int slot, size_t size)
{
	made.sysv[slot] = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
	if (made.sysv[slot] < 0)
		die("shmget");
	return made.sysv[slot];
}

static void attach(int id)
{
	if (shmat(id, NULL, SHM_RDONLY) == (void *)-1)
		die("shmat");
}

static pid_t fork_child(void)
{
	pid_t parent = getpid(), pid;

	if (made.nchildren == MAX_CHILDREN) {
		errno = E2BIG;
		die("fork");
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		made.nchildren = 0;
		made.shm[0][0] = made.shm[1][0] = '\0';
		made.sysv[0] = made.sysv[1] = -1;
		made.file[0] = '\0';
		/* never outlive the fixture, whatever kills it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		return 0;
	}
	made.children[made.nchildren++] = pid;
	return pid;
}

/* A child reports ready with one byte; then it only waits to be killed. */
static void child_ready(int fd)
{
	if (write(fd, "", 1) != 1)
		_exit(1);
	close(fd);
	for (;;)
		pause();
}

static void wait_ready(int fd, size_t n)
{
	char c;

	for (size_t i = 0; i < n; i++)
		if (read(fd, &c, 1) != 1)
			die("a child did not get ready");
	close(fd);
}

static int mode_all(const char *dir)
{
	const size_t sz_sealed = 12345, sz_unnamed = 4096, sz_maponly = 8192;
	const size_t sz_shm = 20000, sz_sysv = 30000, sz_file = 5000, sz_orphan = 1000;
	int sealed, unnamed, maponly, shm, orphan, file, sysv, osysv, ready[2];
	uint64_t ino_maponly, ino_orphan;
	char name[64];
	pid_t me = getpid(), child;

	snprintf(name, sizeof(name), "fdx:%d:7:3:s1234", (int)me);
	sealed = memfd(name, sz_sealed, MFD_ALLOW_SEALING);
	if (fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		die("F_ADD_SEALS");
	unnamed =
		memfd("", sz_unnamed, 0); /* no MFD_ALLOW_SEALING: born with F_SEAL_SEAL */
	maponly = memfd("mkfds-maponly", sz_maponly, MFD_ALLOW_SEALING);
	if (fcntl(maponly, F_ADD_SEALS, F_SEAL_GROW) < 0)
		die("F_ADD_SEALS");
	map(maponly, sz_maponly); /* the child inherits this mapping */
	ino_maponly = inode_of(maponly);
	shm = shm_object(0, "obj", sz_shm);
	orphan = shm_object(1, "orphan", sz_orphan);
	ino_orphan = inode_of(orphan);
	sysv = sysv_segment(0, sz_sysv);
	osysv = sysv_segment(1, sz_orphan);
	snprintf(made.file, sizeof(made.file), "%s/mkfds-file", dir);
	file = open(made.file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (file < 0 || ftruncate(file, sz_file) < 0)
		die("cannot make '%s'", made.file);
	if (pipe2(ready, O_CLOEXEC) < 0)
		die("pipe");

	child = fork_child();
	if (child == 0) {
		close(ready[0]);
		close(unnamed);
		close(maponly);
		close(orphan);
		map(sealed, sz_sealed);
		map(shm, sz_shm);
		close(shm);
		attach(sysv);
		child_ready(ready[1]); /* keeps sealed and file open */
	}
	close(ready[1]);
	close(maponly);
	close(orphan);
	map(unnamed, sz_unnamed);
	attach(sysv);
	map(file, sz_file);
	wait_ready(ready[0], 1);

	printf("{\"pid\":%d,\"child\":%d,\"objects\":[", (int)me, (int)child);
	printf("{\"key\":\"sealed\",\"type\":\"memfd\",\"name\":\"%s\",\"id\":%llu,\"size\":%zu,",
	       name, (unsigned long long)inode_of(sealed), sz_sealed);
	print_seals(sealed);
	printf(",\"holders\":[{\"pid\":%d,\"fds\":[%d]},{\"pid\":%d,\"fds\":[%d]}],"
	       "\"maps\":[%d]},",
	       (int)me, sealed, (int)child, sealed, (int)child);
	printf("{\"key\":\"unnamed\",\"type\":\"memfd\",\"name\":\"\",\"id\":%llu,\"size\":%zu,",
	       (unsigned long long)inode_of(unnamed), sz_unnamed);
	print_seals(unnamed);
	printf(",\"holders\":[{\"pid\":%d,\"fds\":[%d]}],\"maps\":[%d]},", (int)me, unnamed,
	       (int)me);
	printf("{\"key\":\"maponly\",\"type\":\"memfd\",\"name\":\"mkfds-maponly\","
	       "\"id\":%llu,\"size\":%zu,\"seals\":[\"grow\"],\"holders\":[],\"maps\":[%d,%d]},",
	       (unsigned long long)ino_maponly, sz_maponly, (int)me, (int)child);
	printf("{\"key\":\"shm\",\"type\":\"shm\",\"name\":\"/dev/shm%s\",\"id\":%llu,"
	       "\"size\":%zu,",
	       made.shm[0], (unsigned long long)inode_of(shm), sz_shm);
	print_seals(shm);
	printf(",\"holders\":[{\"pid\":%d,\"fds\":[%d]}],\"maps\":[%d]},", (int)me, shm,
	       (int)child);
	printf("{\"key\":\"sysv\",\"type\":\"sysv\",\"name\":\"0x00000000\",\"id\":%d,"
	       "\"size\":%zu,\"seals\":null,\"holders\":[],\"maps\":[%d,%d],\"nattch\":2},",
	       sysv, sz_sysv, (int)me, (int)child);
	printf("{\"key\":\"file\",\"type\":\"file\",\"name\":\"%s\",\"id\":%llu,\"size\":%zu,"
	       "\"seals\":null,\"holders\":[{\"pid\":%d,\"fds\":[%d]}],\"maps\":[%d]},",
	       made.file, (unsigned long long)inode_of(file), sz_file, (int)child, file,
	       (int)me);
	close(file);
	printf("{\"key\":\"orphan-shm\",\"type\":\"shm\",\"name\":\"/dev/shm%s\",\"id\":%llu,"
	       "\"size\":%zu,\"holders\":[],\"maps\":[]},",
	       made.shm[1], (unsigned long long)ino_orphan, sz_orphan);
	printf("{\"key\":\"orphan-sysv\",\"type\":\"sysv\",\"id\":%d,\"size\":%zu,"
	       "\"holders\":[],\"maps\":[],\"nattch\":0}]}\n",
	       osysv, sz_orphan);
	return 0;
}

static int mode_memfd(const char *name, const char *size_s)
{
	size_t size = strtoul(size_s, NULL, 10);
	int fd = memfd(name, (off_t)size, MFD_ALLOW_SEALING);

	map(fd, size);
	printf("{\"pid\":%d,\"fd\":%d,\"id\":%llu,\"size\":%zu}\n", (int)getpid(), fd,
	       (unsigned long long)inode_of(fd), size);
	return 0;
}

static int mode_bench(const char *nproc_s, const char *nfds_s)
{
	size_t nproc = strtoul(nproc_s, NULL, 10), nfds = strtoul(nfds_s, NULL, 10);
	int ready[2];

	if (nproc == 0 || nproc > MAX_CHILDREN || nfds == 0 || nfds > 1000) {
		errno = EINVAL;
		die("bench %s %s", nproc_s, nfds_s);
	}
	if (pipe2(ready, O_CLOEXEC) < 0)
		die("pipe");
	for (size_t i = 0; i < nproc; i++) {
		if (fork_child() != 0)
			continue;
		close(ready[0]);
		for (size_t k = 0; k < nfds; k++) {
			char name[32];
			int fd;

			snprintf(name, sizeof(name), "mkfds-bench-%zu", k);
			fd = memfd(name, 4096, MFD_ALLOW_SEALING);
			if (k < 3)
				map(fd, 4096);
		}
		child_ready(ready[1]);
	}
	close(ready[1]);
	wait_ready(ready[0], nproc);
	printf("{\"pid\":%d,\"children\":[", (int)getpid());
	for (size_t i = 0; i < made.nchildren; i++)
		printf("%s%d", i ? "," : "", (int)made.children[i]);
	printf("]}\n");
	return 0;
}

/* Until a signal, or EOF on a stdin that is a pipe or socket. */
static void wait_for_the_end(void)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	struct stat st;
	sigset_t none;
	nfds_t n = 0;

	if (fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		n = 1;
	sigemptyset(&none);
	while (!stop) {
		char buf[256];

		if (ppoll(&pfd, n, NULL, &none) <= 0)
			continue; /* EINTR: the handler set stop */
		if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
			break;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	int r;

	/* held until ppoll, so a signal that comes early is not lost */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (argc == 3 && strcmp(argv[1], "all") == 0)
		r = mode_all(argv[2]);
	else if (argc == 4 && strcmp(argv[1], "memfd") == 0)
		r = mode_memfd(argv[2], argv[3]);
	else if (argc == 4 && strcmp(argv[1], "bench") == 0)
		r = mode_bench(argv[2], argv[3]);
	else {
		fprintf(stderr,
			"usage: mkfds all DIR | memfd NAME SIZE | bench NPROC NFDS\n");
		return 2;
	}
	if (fflush(stdout) != 0)
		die("stdout");
	if (r == 0)
		wait_for_the_end();
	cleanup();
	return r;
}
