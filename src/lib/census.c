/* census.c - find the shared buffers alive on this machine: who holds, maps, made them */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "census.h"
#include "peerfd.h"

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif

#define SO_ACCEPTCON_FLAG (1ul << 16) /* __SO_ACCEPTCON in /proc/net/unix: a listener */
#define UNIX_CONNECTED	  3	      /* SS_CONNECTED */
#define SYSV_DEV	  UINT64_MAX  /* SysV ids live in a key space of their own */
#define NONE		  SIZE_MAX

struct slot {
	uint64_t dev, ino;
	size_t buf; /* NONE: empty */
};

/* What the scan keeps beside each buffer until it is done. */
struct buf_extra {
	pid_t map_pid; /* a mapping to stat through map_files when no fd was seen */
	unsigned long map_start, map_end;
	bool listed;	  /* found in /dev/shm by name */
	bool from_fd;	  /* size and owner came from a holder's fd */
	bool not_regular; /* a "file" mapping that a stat showed to be no regular file */
};

struct sock_rec {
	uint64_t ino;
	pid_t pid;
	int fd;
};

/* A regular file's fd: a holder, if some process maps that file shared. */
struct plain_rec {
	pid_t pid;
	size_t proc; /* NONE until the process has an entry */
	int fd;
	char *path;
};

struct unix_rec {
	uint64_t ino;
	bool listening;
	char *path;
};

struct fdx_census_index {
	struct slot *slots;
	size_t nslots, used; /* nslots: a power of two */
	struct buf_extra *extra;
	size_t capbuffers, capextra, capprocs;
	struct sock_rec *socks;
	size_t nsocks, capsocks;
	struct plain_rec *plain;
	size_t nplain, capplain;
	struct unix_rec *unix_socks;
	size_t nunix, capunix;
	char *maps; /* the maps of one process, read whole */
	size_t capmaps;
};

/* The state of the scan of one process. */
struct scan {
	struct fdx_census *c;
	unsigned flags;
	pid_t pid;
	size_t proc; /* NONE until the process holds or maps something */
	int pidfd;   /* -1: not opened yet */
	bool getfd_denied;
};

static const char *const type_names[] = {
	"memfd", "shm", "dmabuf", "sysv", "file", "socket"
};

const char *fdx_census_type_name(unsigned type)
{
	for (size_t i = 0; i < FDX_ARRAY_SIZE(type_names); i++)
		if (type == 1u << i)
			return type_names[i];
	return NULL;
}

int fdx_census_type_parse(const char *name)
{
	for (size_t i = 0; i < FDX_ARRAY_SIZE(type_names); i++)
		if ((1u << i) & FDX_CENSUS_BUFFER_TYPES && strcmp(name, type_names[i]) == 0)
			return (int)(1u << i);
	return -EINVAL;
}

/* Make room for need elements of size elem in *arr, doubling. */
static int reserve(void *arr, size_t *cap, size_t need, size_t elem)
{
	void **p = arr;
	size_t ncap = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*p, ncap * elem);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = ncap;
	return 0;
}

/* For arrays that keep no capacity: grow when the count reaches a power of two. */
static int grow_pow2(void *arr, size_t n, size_t elem)
{
	void **p = arr;
	void *q;

	if (n && (n & (n - 1)))
		return 0;
	q = realloc(*p, (n ? n * 2 : 1) * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	return 0;
}

static uint64_t mix(uint64_t dev, uint64_t ino)
{
	uint64_t z = ino * 0x9e3779b97f4a7c15ull ^ dev;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t key_dev(const struct fdx_census_buffer *b)
{
	return b->type == FDX_CENSUS_SYSV ? SYSV_DEV : (uint64_t)b->dev;
}

static struct slot *slot_for(struct fdx_census_index *x, uint64_t dev, uint64_t ino)
{
	size_t mask = x->nslots - 1;

	for (size_t i = mix(dev, ino) & mask;; i = (i + 1) & mask) {
		struct slot *s = &x->slots[i];

		if (s->buf == NONE || (s->dev == dev && s->ino == ino))
			return s;
	}
}

static int index_grow(struct fdx_census *c)
{
	struct fdx_census_index *x = c->priv;
	size_t n = x->nslots ? x->nslots * 2 : 1024;
	struct slot *old = x->slots;

	x->slots = malloc(n * sizeof(*x->slots));
	if (!x->slots) {
		x->slots = old;
		return -ENOMEM;
	}
	x->nslots = n;
	for (size_t i = 0; i < n; i++)
		x->slots[i].buf = NONE;
	free(old);
	for (size_t i = 0; i < c->nbuffers; i++) {
		struct fdx_census_buffer *b = &c->buffers[i];
		struct slot *s = slot_for(x, key_dev(b), b->id);

		*s = (struct slot){ .dev = key_dev(b), .ino = b->id, .buf = i };
	}
	return 0;
}

/* The buffer with this key, made with type and name if it is new; NULL: no memory. */
static struct fdx_census_buffer *buffer_at(struct fdx_census *c, unsigned type,
					   uint64_t dev, uint64_t ino, const char *name,
					   size_t name_len)
{
	struct fdx_census_index *x = c->priv;
	uint64_t kdev = type == FDX_CENSUS_SYSV ? SYSV_DEV : dev;
	struct fdx_census_buffer *b;
	struct slot *s;

	if ((x->used + 1) * 2 > x->nslots && index_grow(c) < 0)
		return NULL;
	s = slot_for(x, kdev, ino);
	if (s->buf != NONE)
		return &c->buffers[s->buf];
	if (reserve(&c->buffers, &x->capbuffers, c->nbuffers + 1, sizeof(*c->buffers)) <
		    0 ||
	    reserve(&x->extra, &x->capextra, c->nbuffers + 1, sizeof(*x->extra)) < 0)
		return NULL;
	b = &c->buffers[c->nbuffers];
	*b = (struct fdx_census_buffer){
		.type = type, .id = ino, .seals = -1, .nattch = -1
	};
	if (type != FDX_CENSUS_SYSV)
		b->dev = (dev_t)dev;
	if (name && !(b->name = strndup(name, name_len)))
		return NULL;
	x->extra[c->nbuffers] = (struct buf_extra){ .map_pid = 0 };
	*s = (struct slot){ .dev = kdev, .ino = ino, .buf = c->nbuffers };
	x->used++;
	c->nbuffers++;
	return b;
}

static struct buf_extra *extra_of(struct fdx_census *c, const struct fdx_census_buffer *b)
{
	return &c->priv->extra[b - c->buffers];
}

/* comm of pid, or "?" when it cannot be read (gone by now). */
static void read_comm(pid_t pid, char *comm, size_t cap)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, cap - 1);
		close(fd);
	}
	if (n <= 0) {
		snprintf(comm, cap, "?");
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static size_t add_proc(struct fdx_census *c, pid_t pid)
{
	struct fdx_census_proc *p;

	if (reserve(&c->procs, &c->priv->capprocs, c->nprocs + 1, sizeof(*c->procs)) < 0)
		return NONE;
	p = &c->procs[c->nprocs];
	p->pid = pid;
	read_comm(pid, p->comm, sizeof(p->comm));
	return c->nprocs++;
}

/* The entry of pid, made on first need; procs stay few, so a linear search does. */
static size_t proc_of_pid(struct fdx_census *c, pid_t pid)
{
	for (size_t i = c->nprocs; i-- > 0;)
		if (c->procs[i].pid == pid)
			return i;
	return add_proc(c, pid);
}

static size_t scan_proc(struct scan *s)
{
	if (s->proc == NONE)
		s->proc = add_proc(s->c, s->pid);
	return s->proc;
}

static int add_holder(struct fdx_census_buffer *b, size_t proc, int fd)
{
	struct fdx_census_holder *h = b->nholders ? &b->holders[b->nholders - 1] : NULL;

	if (!h || h->proc != proc) {
		if (grow_pow2(&b->holders, b->nholders, sizeof(*b->holders)) < 0)
			return -ENOMEM;
		h = &b->holders[b->nholders++];
		*h = (struct fdx_census_holder){ .proc = proc };
	}
	if (grow_pow2(&h->fds, h->nfds, sizeof(*h->fds)) < 0)
		return -ENOMEM;
	h->fds[h->nfds++] = fd;
	return 0;
}

static int add_mapper(struct fdx_census_buffer *b, size_t proc)
{
	if (b->nmappers && b->mappers[b->nmappers - 1] == proc)
		return 0;
	/* one process may map a buffer many times, not always next to each other */
	for (size_t i = 0; i < b->nmappers; i++)
		if (b->mappers[i] == proc)
			return 0;
	if (grow_pow2(&b->mappers, b->nmappers, sizeof(*b->mappers)) < 0)
		return -ENOMEM;
	b->mappers[b->nmappers++] = proc;
	return 0;
}

static void set_stat(struct fdx_census *c, struct fdx_census_buffer *b,
		     const struct stat *st)
{
	c->priv->extra[b - c->buffers].not_regular = !S_ISREG(st->st_mode);
	b->has_size = true;
	b->size = (uint64_t)st->st_size;
	b->has_owner = true;
	b->uid = st->st_uid;
	b->mode = st->st_mode & 07777;
}

/*
 * Seals through a copy of the holder's fd: pidfd_getfd needs the right to ptrace the
 * holder, so where that is refused the seals stay unknown. The copy is checked to be the
 * file that was looked at (the fd may have been reused since) and closed at once.
 */
static void fetch_seals(struct scan *s, struct fdx_census_buffer *b, int fd)
{
	struct stat st;
	int f, seals, r;

	if (s->getfd_denied)
		return;
	if (s->pidfd < 0 && fdx_pidfd_open(s->pid, &s->pidfd) < 0) {
		s->getfd_denied = true;
		return;
	}
	r = fdx_pidfd_getfd(s->pidfd, fd, &f);
	if (r < 0) {
		/* EBADF: that one fd is gone; anything else will not get better */
		if (r != -EBADF)
			s->getfd_denied = true;
		return;
	}
	if (fstat(f, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->id) {
		seals = fcntl(f, F_GET_SEALS);
		if (seals >= 0)
			b->seals = seals;
	}
	close(f);
}

/* Value of "key:\t..." in fdinfo text, copied into out (NUL-terminated). */
static bool fdinfo_field(const char *text, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		size_t n;

		if (strncmp(l, key, klen) != 0 || l[klen] != ':')
			continue;
		l += klen + 1;
		l += strspn(l, " \t");
		n = strcspn(l, "\n");
		if (n >= cap)
			n = cap - 1;
		memcpy(out, l, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* What DMA-BUF fdinfo adds (Linux 5.x on: size, count, exp_name, name); absent fields
 * leave things as they were. */
static int read_dmabuf_info(struct scan *s, struct fdx_census_buffer *b, int fd)
{
	char path[64], text[2048], val[256];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)s->pid, fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	n = read(f, text, sizeof(text) - 1);
	close(f);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (fdinfo_field(text, "size", val, sizeof(val))) {
		b->has_size = true;
		b->size = strtoull(val, NULL, 10);
	}
	if (!b->exporter && fdinfo_field(text, "exp_name", val, sizeof(val)) &&
	    !(b->exporter = strdup(val)))
		return -ENOMEM;
	if (fdinfo_field(text, "name", val, sizeof(val)) && val[0]) {
		char *name = strdup(val);

		if (!name)
			return -ENOMEM;
		free(b->name);
		b->name = name;
	}
	return 0;
}

static size_t strip_deleted(const char *s, size_t len)
{
	static const char tail[] = " (deleted)";

	if (len >= sizeof(tail) - 1 &&
	    memcmp(s + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0)
		return len - (sizeof(tail) - 1);
	return len;
}

static bool is_dmabuf_link(const char *l)
{
	return strncmp(l, "/dmabuf:", 8) == 0 || strcmp(l, "anon_inode:dmabuf") == 0;
}

/* The buffer kind a fd link or maps path names; 0: none of ours. */
static unsigned buffer_kind(const char *l)
{
	if (strncmp(l, "/memfd:", 7) == 0)
		return FDX_CENSUS_MEMFD;
	if (strncmp(l, "/dev/shm/", 9) == 0)
		return FDX_CENSUS_SHM;
	if (is_dmabuf_link(l))
		return FDX_CENSUS_DMABUF;
	return 0;
}

/* The name a buffer of kind gets from link l: memfd names without their decoration. */
static const char *buffer_name(unsigned kind, const char *l, size_t *len)
{
	size_t n = strlen(l);

	switch (kind) {
	case FDX_CENSUS_MEMFD:
		*len = strip_deleted(l, n) - 7;
		return l + 7;
	case FDX_CENSUS_DMABUF:
		if (l[0] != '/')
			return NULL;
		*len = strip_deleted(l, n) - 8;
		return l + 8;
	}
	*len = n;
	return l;
}

static int add_sock(struct fdx_census *c, pid_t pid, int fd, const char *link)
{
	struct fdx_census_index *x = c->priv;
	uint64_t ino = strtoull(link + 8, NULL, 10);

	if (reserve(&x->socks, &x->capsocks, x->nsocks + 1, sizeof(*x->socks)) < 0)
		return -ENOMEM;
	x->socks[x->nsocks++] = (struct sock_rec){ .ino = ino, .pid = pid, .fd = fd };
	return 0;
}

static bool plain_candidate(const char *l)
{
	/* devices and kernel files are not buffers; /dev/shm was taken before */
	return l[0] == '/' && strncmp(l, "/dev/", 5) != 0 && strncmp(l, "/proc/", 6) != 0 &&
	       strncmp(l, "/sys/", 5) != 0;
}

static int add_plain(struct scan *s, int fd, const char *link)
{
	struct fdx_census_index *x = s->c->priv;
	struct plain_rec *p;

	if (reserve(&x->plain, &x->capplain, x->nplain + 1, sizeof(*x->plain)) < 0)
		return -ENOMEM;
	p = &x->plain[x->nplain];
	*p = (struct plain_rec){ .pid = s->pid, .proc = s->proc, .fd = fd };
	if (!(p->path = strdup(link)))
		return -ENOMEM;
	x->nplain++;
	return 0;
}

static int held_buffer(struct scan *s, int dfd, const char *name, int fd, unsigned kind,
		       const char *link)
{
	struct fdx_census_buffer *b;
	const char *bname;
	size_t len = 0, proc;
	struct stat st;

	/* stat follows the link to the file without opening it: FIFOs cannot block us */
	if (fstatat(dfd, name, &st, 0) < 0)
		return 0; /* closed since readdir */
	bname = buffer_name(kind, link, &len);
	b = buffer_at(s->c, kind, st.st_dev, st.st_ino, bname, len);
	if (!b)
		return -ENOMEM;
	if (!extra_of(s->c, b)->from_fd) {
		extra_of(s->c, b)->from_fd = true;
		set_stat(s->c, b, &st);
		if (kind == FDX_CENSUS_DMABUF && read_dmabuf_info(s, b, fd) < 0)
			return -ENOMEM;
	}
	proc = scan_proc(s);
	if (proc == NONE || add_holder(b, proc, fd) < 0)
		return -ENOMEM;
	if ((s->flags & FDX_CENSUS_SEALS) && b->seals < 0 &&
	    (kind == FDX_CENSUS_MEMFD || kind == FDX_CENSUS_SHM))
		fetch_seals(s, b, fd);
	return 0;
}

static int scan_fds(struct scan *s)
{
	char path[64], link[4096];
	struct dirent *de;
	int dfd, r = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)s->pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	for (;;) {
		unsigned kind;
		ssize_t n;
		int fd;

		errno = 0;
		de = readdir(d);
		if (!de) {
			r = -errno; /* ENOENT: the process died under us */
			break;
		}
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		n = readlinkat(dfd, de->d_name, link, sizeof(link) - 1);
		if (n < 0 && (errno == EACCES || errno == EPERM)) {
			/* a listing we may read of fds we may not: a process we may not see
			 */
			r = -errno;
			break;
		}
		if (n < 0)
			continue; /* closed since readdir */
		link[n] = '\0';
		kind = buffer_kind(link);
		if (kind && (s->flags & FDX_CENSUS_BUFFERS))
			r = held_buffer(s, dfd, de->d_name, fd, kind, link);
		else if ((s->flags & FDX_CENSUS_SOCKETS) &&
			 strncmp(link, "socket:[", 8) == 0)
			r = add_sock(s->c, s->pid, fd, link);
		else if ((s->flags & FDX_CENSUS_BUFFERS) && plain_candidate(link))
			r = add_plain(s, fd, link);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

/* Read a /proc file whole into x->maps; returns its length or -errno. */
static ssize_t read_whole(struct fdx_census_index *x, const char *path)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (reserve(&x->maps, &x->capmaps, len + 65536 + 1, 1) < 0) {
			close(fd);
			return -ENOMEM;
		}
		n = read(fd, x->maps + len, x->capmaps - len - 1);
		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	x->maps[len] = '\0';
	return (ssize_t)len;
}

struct map_line {
	unsigned long start, end;
	char perms[4];
	unsigned major, minor;
	uint64_t ino;
	const char *path; /* NUL-terminated in place */
};

/* "start-end perms offset major:minor inode   path"; line is NUL-terminated. */
static bool parse_map_line(char *line, struct map_line *m)
{
	char *p;

	m->start = strtoul(line, &p, 16);
	if (*p != '-')
		return false;
	m->end = strtoul(p + 1, &p, 16);
	if (*p != ' ' || strlen(p) < 6)
		return false;
	memcpy(m->perms, p + 1, 4);
	p += 5;
	if (*p != ' ')
		return false;
	strtoull(p + 1, &p, 16); /* offset */
	m->major = (unsigned)strtoul(p + 1, &p, 16);
	if (*p != ':')
		return false;
	m->minor = (unsigned)strtoul(p + 1, &p, 16);
	m->ino = strtoull(p + 1, &p, 10);
	p += strspn(p, " ");
	m->path = p;
	return true;
}

static int mapped_buffer(struct scan *s, const struct map_line *m)
{
	const char *path = m->path;
	unsigned kind = buffer_kind(path);
	struct fdx_census_buffer *b;
	struct buf_extra *e;
	const char *name;
	size_t len = 0, proc;
	char key[16];

	if (strncmp(path, "/SYSV", 5) == 0) {
		/* "/SYSV%08x (deleted)": the key; the inode number is the shmid */
		kind = FDX_CENSUS_SYSV;
		snprintf(key, sizeof(key), "0x%.8s", path + 5);
		name = key;
		len = strlen(key);
	} else if (kind) {
		name = buffer_name(kind, path, &len);
	} else if (m->perms[3] == 's' && plain_candidate(path)) {
		kind = FDX_CENSUS_FILE;
		name = path;
		len = strlen(path);
	} else {
		return 0;
	}
	b = buffer_at(s->c, kind, makedev(m->major, m->minor), m->ino, name, len);
	if (!b)
		return -ENOMEM;
	e = extra_of(s->c, b);
	if (!e->map_pid) {
		e->map_pid = s->pid;
		e->map_start = m->start;
		e->map_end = m->end;
	}
	proc = scan_proc(s);
	if (proc == NONE)
		return -ENOMEM;
	return add_mapper(b, proc);
}

static int scan_maps(struct scan *s)
{
	struct fdx_census_index *x = s->c->priv;
	char path[64], *line, *next;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)s->pid);
	len = read_whole(x, path);
	if (len < 0)
		return (int)len;
	for (line = x->maps; line < x->maps + len; line = next) {
		struct map_line m;
		char *nl = strchr(line, '\n');
		int r;

		next = nl ? nl + 1 : x->maps + len;
		if (nl)
			*nl = '\0';
		/* most lines are libraries and anonymous memory: cheap tests first */
		if (!strchr(line, '/') && !strstr(line, "anon_inode:dmabuf"))
			continue;
		if (!parse_map_line(line, &m))
			continue;
		r = mapped_buffer(s, &m);
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_process(struct fdx_census *c, unsigned flags, pid_t pid)
{
	struct scan s = { .c = c, .flags = flags, .pid = pid, .proc = NONE, .pidfd = -1 };
	int r;

	r = scan_fds(&s);
	if (r == 0 && (flags & FDX_CENSUS_BUFFERS))
		r = scan_maps(&s);
	if (s.pidfd >= 0)
		close(s.pidfd);
	c->scanned++;
	switch (r) {
	case 0:
		return 0;
	case -ENOENT:
	case -ESRCH:
		c->vanished++;
		return 0;
	case -EACCES:
	case -EPERM:
		c->denied++;
		return 0;
	}
	snprintf(c->failed, sizeof(c->failed), "/proc/%d", (int)pid);
	return r;
}

static int fail(struct fdx_census *c, const char *what, int err)
{
	snprintf(c->failed, sizeof(c->failed), "%s", what);
	return -err;
}

static int scan_all_processes(struct fdx_census *c, unsigned flags)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int r = 0;

	if (!d)
		return fail(c, "/proc", errno);
	for (;;) {
		char *end;
		long pid;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				r = fail(c, "/proc", errno);
			break;
		}
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		r = scan_process(c, flags, (pid_t)pid);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

static int read_sysv(struct fdx_census *c)
{
	static const char path[] = "/proc/sysvipc/shm";
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return errno == ENOENT ? 0 : fail(c, path, errno); /* no SysV IPC here */
	while (getline(&line, &cap, f) > 0) {
		struct fdx_census_buffer *b;
		int key, shmid, cpid, lpid;
		unsigned perms, uid;
		uint64_t size, nattch;
		char name[16];

		if (sscanf(line, "%d %d %o %" SCNu64 " %d %d %" SCNu64 " %u", &key, &shmid,
			   &perms, &size, &cpid, &lpid, &nattch, &uid) != 8)
			continue; /* the heading */
		snprintf(name, sizeof(name), "0x%08x", (unsigned)key);
		b = buffer_at(c, FDX_CENSUS_SYSV, 0, (uint64_t)shmid, name, strlen(name));
		if (!b) {
			r = -ENOMEM;
			break;
		}
		b->has_size = true;
		b->size = size;
		b->has_owner = true;
		b->uid = uid;
		b->mode = perms & 0777;
		b->key = key;
		b->cpid = cpid;
		b->lpid = lpid;
		b->nattch = (int64_t)nattch;
	}
	if (r == 0 && ferror(f))
		r = fail(c, path, errno ? errno : EIO);
	free(line);
	fclose(f);
	return r;
}

/* Objects in /dev/shm, held or not: a leaked one is exactly what nobody holds. */
static int list_devshm(struct fdx_census *c)
{
	static const char dir[] = "/dev/shm";
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : fail(c, dir, errno);
	for (;;) {
		struct fdx_census_buffer *b;
		char path[sizeof(dir) + 256];
		struct stat st;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				r = fail(c, dir, errno);
			break;
		}
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		b = buffer_at(c, FDX_CENSUS_SHM, st.st_dev, st.st_ino, path, strlen(path));
		if (!b) {
			r = -ENOMEM;
			break;
		}
		if (!extra_of(c, b)->from_fd)
			set_stat(c, b, &st);
		extra_of(c, b)->listed = true;
	}
	closedir(d);
	return r;
}

/* Size and owner of buffers seen only as mappings: through map_files (needs
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), else through a path that still names the
 * same file. */
static void stat_mapped_only(struct fdx_census *c, struct fdx_census_buffer *b)
{
	struct buf_extra *e = extra_of(c, b);
	char path[96];
	struct stat st;

	if (b->has_size || b->type == FDX_CENSUS_SYSV || !e->map_pid)
		return;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)e->map_pid,
		 e->map_start, e->map_end);
	if (stat(path, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->id) {
		set_stat(c, b, &st);
		return;
	}
	if (b->name && b->name[0] == '/' && stat(b->name, &st) == 0 &&
	    st.st_dev == b->dev && st.st_ino == b->id)
		set_stat(c, b, &st);
}

/*
 * Seals of a memfd or shm object that is mapped but no longer held: open the mapping
 * through map_files (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE). What can be mapped is
 * never a FIFO or a device that could block the open.
 */
static void seals_mapped_only(struct fdx_census *c, struct fdx_census_buffer *b)
{
	struct buf_extra *e = extra_of(c, b);
	char path[96];
	struct stat st;
	int f, seals;

	if (b->seals >= 0 || !e->map_pid ||
	    (b->type != FDX_CENSUS_MEMFD && b->type != FDX_CENSUS_SHM))
		return;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)e->map_pid,
		 e->map_start, e->map_end);
	f = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (f < 0)
		return;
	if (fstat(f, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->id) {
		seals = fcntl(f, F_GET_SEALS);
		if (seals >= 0)
			b->seals = seals;
	}
	close(f);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	const struct fdx_census_buffer *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* fds on files that turned out to be mapped shared somewhere: holders of those. */
static int match_plain_holders(struct fdx_census *c)
{
	struct fdx_census_index *x = c->priv;
	struct fdx_census_buffer **files = NULL;
	size_t nfiles = 0;
	int r = 0;

	for (size_t i = 0; i < c->nbuffers; i++)
		if (c->buffers[i].type == FDX_CENSUS_FILE)
			nfiles++;
	if (!nfiles || !x->nplain)
		return 0;
	files = malloc(nfiles * sizeof(*files));
	if (!files)
		return -ENOMEM;
	nfiles = 0;
	for (size_t i = 0; i < c->nbuffers; i++)
		if (c->buffers[i].type == FDX_CENSUS_FILE)
			files[nfiles++] = &c->buffers[i];
	qsort(files, nfiles, sizeof(*files), cmp_str_ptr);
	for (size_t i = 0; i < x->nplain && r == 0; i++) {
		struct plain_rec *p = &x->plain[i];
		struct fdx_census_buffer key = { .name = p->path }, *kp = &key, **hit;
		char path[64];
		struct stat st;

		hit = bsearch(&kp, files, nfiles, sizeof(*files), cmp_str_ptr);
		if (!hit)
			continue;
		/* the same path may name another file by now: the inode decides */
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)p->pid, p->fd);
		if (stat(path, &st) < 0 || st.st_dev != (*hit)->dev ||
		    st.st_ino != (*hit)->id)
			continue;
		if (p->proc == NONE)
			p->proc = proc_of_pid(c, p->pid);
		if (p->proc == NONE) {
			r = -ENOMEM;
			break;
		}
		if (!(*hit)->has_size)
			set_stat(c, *hit, &st);
		extra_of(c, *hit)->from_fd = true;
		r = add_holder(*hit, p->proc, p->fd);
	}
	free(files);
	return r;
}

static void free_buffer(struct fdx_census_buffer *b)
{
	for (size_t i = 0; i < b->nholders; i++)
		free(b->holders[i].fds);
	free(b->holders);
	free(b->mappers);
	free(b->name);
	free(b->exporter);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int cmp_holder(const void *a, const void *b, void *census)
{
	const struct fdx_census_holder *x = a, *y = b;
	const struct fdx_census_proc *procs = ((const struct fdx_census *)census)->procs;
	pid_t p = procs[x->proc].pid, q = procs[y->proc].pid;

	return (p > q) - (p < q);
}

static int cmp_mapper(const void *a, const void *b, void *census)
{
	const struct fdx_census_proc *procs = ((const struct fdx_census *)census)->procs;
	pid_t p = procs[*(const size_t *)a].pid, q = procs[*(const size_t *)b].pid;

	return (p > q) - (p < q);
}

#define CMP(a, b)                                                                          \
	do {                                                                               \
		if ((a) != (b))                                                            \
			return (a) < (b) ? -1 : 1;                                         \
	} while (0)

static int cmp_buffer(const void *a, const void *b)
{
	const struct fdx_census_buffer *x = a, *y = b;

	CMP(x->type, y->type);
	CMP(!x->has_provenance, !y->has_provenance);
	if (x->has_provenance) {
		CMP(x->prov.pid, y->prov.pid);
		CMP(x->prov.session, y->prov.session);
		CMP(x->prov.index, y->prov.index);
		CMP(x->prov.plane, y->prov.plane);
	}
	CMP(x->id, y->id);
	CMP((uint64_t)x->dev, (uint64_t)y->dev);
	return 0;
}

/* The name an fdx buffer name would be in: all of a memfd's or DMA-BUF's, the last
 * part of a shm object's path. */
static void parse_provenance(struct fdx_census_buffer *b)
{
	char name[FDX_PROVENANCE_MAX + 16];
	const char *n = b->name;

	if (!n || b->type == FDX_CENSUS_SYSV || b->type == FDX_CENSUS_FILE)
		return;
	if (b->type == FDX_CENSUS_SHM) {
		n = strrchr(n, '/') + 1;
		snprintf(name, sizeof(name), "%.*s", (int)strip_deleted(n, strlen(n)), n);
		n = name;
	}
	b->has_provenance =
		(b->type == FDX_CENSUS_SHM ? fdx_provenance_parse_file(n, &b->prov)
					   : fdx_provenance_parse(n, &b->prov)) == 0;
}

/* Drop "file" mappings that a stat showed to be no regular file, and tidy up the rest.
 * (A file no stat got through stays: its path said it was no device.) */
static void finish_buffers(struct fdx_census *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->nbuffers; i++) {
		struct fdx_census_buffer *b = &c->buffers[i];

		if (b->type == FDX_CENSUS_FILE && c->priv->extra[i].not_regular) {
			free_buffer(b);
			continue;
		}
		c->priv->extra[kept] = c->priv->extra[i];
		c->buffers[kept++] = *b;
	}
	c->nbuffers = kept;
	for (size_t i = 0; i < c->nbuffers; i++) {
		struct fdx_census_buffer *b = &c->buffers[i];

		/* qsort's array must not be NULL, even empty: sort only what has order */
		for (size_t h = 0; h < b->nholders; h++)
			if (b->holders[h].nfds > 1)
				qsort(b->holders[h].fds, b->holders[h].nfds, sizeof(int),
				      cmp_int);
		if (b->nholders > 1)
			qsort_r(b->holders, b->nholders, sizeof(*b->holders), cmp_holder,
				c);
		if (b->nmappers > 1)
			qsort_r(b->mappers, b->nmappers, sizeof(*b->mappers), cmp_mapper,
				c);
		parse_provenance(b);
	}
}

static int cmp_sock(const void *a, const void *b)
{
	const struct sock_rec *x = a, *y = b;

	CMP(x->ino, y->ino);
	CMP(x->pid, y->pid);
	return 0;
}

static const struct sock_rec *sock_find(struct fdx_census_index *x, uint64_t ino)
{
	size_t lo = 0, hi = x->nsocks;

	/* the first record of ino: several processes may share one socket */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->socks[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->nsocks && x->socks[lo].ino == ino ? &x->socks[lo] : NULL;
}

static int read_unix(struct fdx_census *c)
{
	static const char path[] = "/proc/net/unix";
	struct fdx_census_index *x = c->priv;
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return fail(c, path, errno);
	while (getline(&line, &cap, f) > 0) {
		unsigned long flags;
		unsigned state;
		uint64_t ino;
		int pos = 0;
		char *p;

		if (sscanf(line, "%*s %*x %*x %lx %*x %x %" SCNu64 " %n", &flags, &state,
			   &ino, &pos) != 3 ||
		    pos == 0)
			continue;
		p = line + pos;
		p[strcspn(p, "\n")] = '\0';
		/* abstract names (shown with @) have no file, so no lock beside them */
		if (p[0] == '\0' || p[0] == '@')
			continue;
		if (!(flags & SO_ACCEPTCON_FLAG) && state != UNIX_CONNECTED)
			continue;
		if (reserve(&x->unix_socks, &x->capunix, x->nunix + 1,
			    sizeof(*x->unix_socks)) < 0) {
			r = -ENOMEM;
			break;
		}
		x->unix_socks[x->nunix] =
			(struct unix_rec){ .ino = ino,
					   .listening = flags & SO_ACCEPTCON_FLAG,
					   .path = strdup(p) };
		if (!x->unix_socks[x->nunix++].path) {
			r = -ENOMEM;
			break;
		}
	}
	free(line);
	fclose(f);
	return r;
}

static bool has_lock_file(const char *path)
{
	char lock[4096 + 8];
	struct stat st;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	return lstat(lock, &st) == 0 && S_ISREG(st.st_mode);
}

/* A listener bound to a relative path: resolve it against the holder's cwd. */
static char *absolute_path(const char *path, pid_t pid)
{
	char link[64], cwd[4096], *out;
	ssize_t n;

	if (path[0] == '/' || !pid)
		return strdup(path);
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	n = readlink(link, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return strdup(path);
	cwd[n] = '\0';
	if (asprintf(&out, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) < 0)
		return NULL;
	return out;
}

/* Who is at the other end of the server's accepted socket sr (pid at connect time). */
static bool peer_of(const struct sock_rec *sr, struct fdx_census_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	bool ok = false;
	int f;

	if (fdx_peerfd_take(sr->pid, sr->fd, &f) < 0)
		return false;
	if (getsockopt(f, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
		peer->pid = cred.pid;
		read_comm(cred.pid, peer->comm, sizeof(peer->comm));
		ok = true;
	}
	close(f);
	return ok;
}

static int add_endpoint_procs(struct fdx_census *c, struct fdx_census_endpoint *ep,
			      const struct sock_rec *sr, bool *fdx_comm)
{
	struct fdx_census_index *x = c->priv;

	for (; sr < x->socks + x->nsocks && sr->ino == ep->inode; sr++) {
		size_t proc = proc_of_pid(c, sr->pid);

		if (proc == NONE ||
		    grow_pow2(&ep->listeners, ep->nlisteners, sizeof(*ep->listeners)) < 0)
			return -ENOMEM;
		if (ep->nlisteners && ep->listeners[ep->nlisteners - 1] == proc)
			continue;
		ep->listeners[ep->nlisteners++] = proc;
		if (strncmp(c->procs[proc].comm, "fdx", 3) == 0)
			*fdx_comm = true;
	}
	return 0;
}

static int add_connections(struct fdx_census *c, struct fdx_census_endpoint *ep,
			   const char *bound)
{
	struct fdx_census_index *x = c->priv;

	for (size_t i = 0; i < x->nunix; i++) {
		const struct unix_rec *u = &x->unix_socks[i];
		const struct sock_rec *sr;

		if (u->listening || strcmp(u->path, bound) != 0)
			continue;
		ep->connections++;
		sr = sock_find(x, u->ino);
		if (!sr)
			continue;
		if (grow_pow2(&ep->peers, ep->npeers, sizeof(*ep->peers)) < 0)
			return -ENOMEM;
		if (peer_of(sr, &ep->peers[ep->npeers]))
			ep->npeers++;
	}
	return 0;
}

static int cmp_endpoint(const void *a, const void *b)
{
	const struct fdx_census_endpoint *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static void free_endpoint(struct fdx_census_endpoint *ep)
{
	free(ep->path);
	free(ep->listeners);
	free(ep->peers);
}

/* fdx endpoints: listeners with a path that an fdx process holds or that have the
 * PATH.lock an fdx server keeps beside its socket. */
static int find_endpoints(struct fdx_census *c)
{
	struct fdx_census_index *x = c->priv;
	size_t cap = 0;
	int r;

	if (x->nsocks > 1)
		qsort(x->socks, x->nsocks, sizeof(*x->socks), cmp_sock);
	r = read_unix(c);
	for (size_t i = 0; r == 0 && i < x->nunix; i++) {
		const struct unix_rec *u = &x->unix_socks[i];
		const struct sock_rec *sr;
		struct fdx_census_endpoint ep = { .inode = u->ino };
		bool fdx_comm = false;

		if (!u->listening)
			continue;
		sr = sock_find(x, u->ino);
		ep.path = absolute_path(u->path, sr ? sr->pid : 0);
		if (!ep.path)
			return -ENOMEM;
		ep.has_lock = has_lock_file(ep.path);
		r = sr ? add_endpoint_procs(c, &ep, sr, &fdx_comm) : 0;
		if (r == 0 && (ep.has_lock || fdx_comm))
			r = add_connections(c, &ep, u->path);
		if (r == 0 && (ep.has_lock || fdx_comm)) {
			r = reserve(&c->endpoints, &cap, c->nendpoints + 1,
				    sizeof(*c->endpoints));
			if (r == 0) {
				c->endpoints[c->nendpoints++] = ep;
				continue;
			}
		}
		free_endpoint(&ep);
	}
	if (c->nendpoints)
		qsort(c->endpoints, c->nendpoints, sizeof(*c->endpoints), cmp_endpoint);
	return r;
}

struct orphan_list {
	size_t cap;
	char **dirs;
	size_t ndirs, capdirs;
	uint64_t *locked; /* dev/ino pairs of files /proc/locks says are locked */
	size_t nlocked, caplocked;
};

static int add_orphan(struct fdx_census *c, struct orphan_list *ol,
		      const struct fdx_census_orphan *o, const char *name)
{
	if (reserve(&c->orphans, &ol->cap, c->norphans + 1, sizeof(*c->orphans)) < 0)
		return -ENOMEM;
	c->orphans[c->norphans] = *o;
	if (!(c->orphans[c->norphans].name = strdup(name)))
		return -ENOMEM;
	c->norphans++;
	return 0;
}

static int add_dir(struct orphan_list *ol, const char *dir, size_t len)
{
	while (len > 1 && dir[len - 1] == '/')
		len--;
	for (size_t i = 0; i < ol->ndirs; i++)
		if (strlen(ol->dirs[i]) == len && strncmp(ol->dirs[i], dir, len) == 0)
			return 0;
	if (reserve(&ol->dirs, &ol->capdirs, ol->ndirs + 1, sizeof(*ol->dirs)) < 0 ||
	    !(ol->dirs[ol->ndirs] = strndup(dir, len)))
		return -ENOMEM;
	ol->ndirs++;
	return 0;
}

/* /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF" */
static int read_locks(struct orphan_list *ol)
{
	FILE *f = fopen("/proc/locks", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return 0; /* without it, the listener check alone decides */
	while (getline(&line, &cap, f) > 0) {
		unsigned major, minor;
		uint64_t ino;
		char *p = strstr(line, " ->");

		/* "->" marks a waiter, not a holder */
		if (p)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %*s %x:%x:%" SCNu64, &major, &minor,
			   &ino) != 3)
			continue;
		if (reserve(&ol->locked, &ol->caplocked, ol->nlocked + 2,
			    sizeof(uint64_t)) < 0) {
			r = -ENOMEM;
			break;
		}
		ol->locked[ol->nlocked++] = (uint64_t)makedev(major, minor);
		ol->locked[ol->nlocked++] = ino;
	}
	free(line);
	fclose(f);
	return r;
}

static bool is_locked(const struct orphan_list *ol, const struct stat *st)
{
	for (size_t i = 0; i < ol->nlocked; i += 2)
		if (ol->locked[i] == (uint64_t)st->st_dev &&
		    ol->locked[i + 1] == st->st_ino)
			return true;
	return false;
}

static bool has_listener(const struct fdx_census *c, const char *path)
{
	for (size_t i = 0; i < c->nendpoints; i++)
		if (strcmp(c->endpoints[i].path, path) == 0)
			return true;
	for (size_t i = 0; i < c->priv->nunix; i++)
		if (c->priv->unix_socks[i].listening &&
		    strcmp(c->priv->unix_socks[i].path, path) == 0)
			return true;
	return false;
}

/* In dir, sockets with a PATH.lock beside them that nobody listens on or locks. */
static int stale_sockets_in(struct fdx_census *c, struct orphan_list *ol, const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return 0; /* gone, or not ours to look into: nothing to report there */
	while (r == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char sock[4096], lockp[4096 + 8];
		struct stat st, lst;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".lock") != 0)
			continue;
		snprintf(sock, sizeof(sock), "%s/%.*s", strcmp(dir, "/") ? dir : "",
			 (int)(len - 5), de->d_name);
		snprintf(lockp, sizeof(lockp), "%s.lock", sock);
		if (lstat(sock, &st) < 0 || !S_ISSOCK(st.st_mode) ||
		    lstat(lockp, &lst) < 0 || !S_ISREG(lst.st_mode))
			continue;
		if (has_listener(c, sock) || is_locked(ol, &lst))
			continue;
		r = add_orphan(c, ol,
			       &(struct fdx_census_orphan){ .type = FDX_CENSUS_SOCKET,
							    .id = st.st_ino,
							    .uid = st.st_uid,
							    .mode = st.st_mode & 07777 },
			       sock);
	}
	closedir(d);
	return r;
}

/* /tmp/fdx-*: the default socket directories (and any other fdx- directory there). */
static int add_tmp_dirs(struct orphan_list *ol)
{
	struct dirent *de;
	DIR *d = opendir("/tmp");
	int r = 0;

	if (!d)
		return 0;
	while (r == 0 && (de = readdir(d))) {
		char path[300];
		struct stat st;

		if (strncmp(de->d_name, "fdx-", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			r = add_dir(ol, path, strlen(path));
	}
	closedir(d);
	return r;
}

static int cmp_orphan(const void *a, const void *b)
{
	const struct fdx_census_orphan *x = a, *y = b;

	CMP(x->type, y->type);
	return strcmp(x->name, y->name);
}

static int find_orphans(struct fdx_census *c, const struct fdx_census_opts *o)
{
	struct orphan_list ol = { 0 };
	int r = 0;

	for (size_t i = 0; r == 0 && i < c->nbuffers; i++) {
		const struct fdx_census_buffer *b = &c->buffers[i];
		bool shm = b->type == FDX_CENSUS_SHM && extra_of(c, b)->listed;
		bool sysv = b->type == FDX_CENSUS_SYSV && b->nattch == 0;

		if ((!shm && !sysv) || b->nholders || b->nmappers)
			continue;
		r = add_orphan(c, &ol,
			       &(struct fdx_census_orphan){ .type = b->type,
							    .id = b->id,
							    .has_size = b->has_size,
							    .size = b->size,
							    .uid = b->uid,
							    .mode = b->mode },
			       b->name);
	}
	for (const char *const *d = o->socket_dirs; r == 0 && d && *d; d++)
		r = add_dir(&ol, *d, strlen(*d));
	if (r == 0)
		r = add_tmp_dirs(&ol);
	for (size_t i = 0; r == 0 && i < c->nendpoints; i++) {
		const char *p = c->endpoints[i].path, *slash = strrchr(p, '/');

		if (slash)
			r = add_dir(&ol, p, slash == p ? 1 : (size_t)(slash - p));
	}
	if (r == 0)
		r = read_locks(&ol);
	for (size_t i = 0; r == 0 && i < ol.ndirs; i++)
		r = stale_sockets_in(c, &ol, ol.dirs[i]);
	for (size_t i = 0; i < ol.ndirs; i++)
		free(ol.dirs[i]);
	free(ol.dirs);
	free(ol.locked);
	if (c->norphans)
		qsort(c->orphans, c->norphans, sizeof(*c->orphans), cmp_orphan);
	return r;
}

static void free_index(struct fdx_census_index *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nplain; i++)
		free(x->plain[i].path);
	for (size_t i = 0; i < x->nunix; i++)
		free(x->unix_socks[i].path);
	free(x->plain);
	free(x->unix_socks);
	free(x->socks);
	free(x->slots);
	free(x->extra);
	free(x->maps);
	free(x);
}

int fdx_census_scan(const struct fdx_census_opts *o, struct fdx_census *c)
{
	unsigned flags = o->flags;
	int r = 0;

	c->priv = calloc(1, sizeof(*c->priv));
	if (!c->priv)
		return -ENOMEM;
	if (index_grow(c) < 0)
		return -ENOMEM;
	/* orphans are what is left once everything alive was found */
	if (flags & FDX_CENSUS_ORPHANS)
		flags |= FDX_CENSUS_BUFFERS | FDX_CENSUS_SYSTEM | FDX_CENSUS_SOCKETS;
	if (o->pids) {
		for (size_t i = 0; r == 0 && i < o->npids; i++)
			r = scan_process(c, flags, o->pids[i]);
	} else {
		r = scan_all_processes(c, flags);
	}
	if (r == 0 && (flags & FDX_CENSUS_SYSTEM))
		r = read_sysv(c);
	if (r == 0 && (flags & FDX_CENSUS_SYSTEM))
		r = list_devshm(c);
	if (r == 0)
		r = match_plain_holders(c);
	for (size_t i = 0; r == 0 && i < c->nbuffers; i++) {
		stat_mapped_only(c, &c->buffers[i]);
		if (flags & FDX_CENSUS_SEALS)
			seals_mapped_only(c, &c->buffers[i]);
	}
	if (r == 0)
		finish_buffers(c);
	if (r == 0 && (flags & FDX_CENSUS_SOCKETS))
		r = find_endpoints(c);
	if (r == 0 && (flags & FDX_CENSUS_ORPHANS))
		r = find_orphans(c, o);
	if (r == 0 && c->nbuffers > 1)
		qsort(c->buffers, c->nbuffers, sizeof(*c->buffers), cmp_buffer);
	/* the index refers to positions the sort just changed: done with it */
	free_index(c->priv);
	c->priv = NULL;
	return r;
}

void fdx_census_clear(struct fdx_census *c)
{
	for (size_t i = 0; i < c->nbuffers; i++)
		free_buffer(&c->buffers[i]);
	for (size_t i = 0; i < c->nendpoints; i++)
		free_endpoint(&c->endpoints[i]);
	for (size_t i = 0; i < c->norphans; i++)
		free(c->orphans[i].name);
	free(c->buffers);
	free(c->procs);
	free(c->endpoints);
	free(c->orphans);
	free_index(c->priv);
	memset(c, 0, sizeof(*c));
}

bool fdx_census_involves(const struct fdx_census *c, const struct fdx_census_buffer *b,
			 pid_t pid)
{
	for (size_t i = 0; i < b->nholders; i++)
		if (c->procs[b->holders[i].proc].pid == pid)
			return true;
	for (size_t i = 0; i < b->nmappers; i++)
		if (c->procs[b->mappers[i]].pid == pid)
			return true;
	return false;
}
