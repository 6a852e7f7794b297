/* census.h - a census of the shared buffers alive on this machine, read from /proc */
#ifndef FDX_CENSUS_H
#define FDX_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "provenance.h"

/* Kinds of buffer; bits, so that a filter is a mask. */
enum fdx_census_type {
	FDX_CENSUS_MEMFD = 1u << 0,  /* memfd_create(2): /memfd:NAME */
	FDX_CENSUS_SHM = 1u << 1,    /* POSIX shm object, a file in /dev/shm */
	FDX_CENSUS_DMABUF = 1u << 2, /* DMA-BUF: /dmabuf:NAME or anon_inode:dmabuf */
	FDX_CENSUS_SYSV = 1u << 3,   /* SysV segment, /proc/sysvipc/shm */
	FDX_CENSUS_FILE = 1u << 4,   /* any other regular file mapped MAP_SHARED */
	FDX_CENSUS_SOCKET =
		1u << 5, /* orphans only: an fdx socket file nobody listens on */
};
#define FDX_CENSUS_BUFFER_TYPES 0x1fu

/* "memfd", "shm", ...; NULL for anything else. */
const char *fdx_census_type_name(unsigned type);
/* The type bit for a name fdx_census_type_name() gives for a buffer type, or -EINVAL. */
int fdx_census_type_parse(const char *name);

enum fdx_census_flags {
	FDX_CENSUS_BUFFERS = 1u << 0, /* buffers the processes hold (fds) or map */
	FDX_CENSUS_SEALS = 1u << 1, /* F_GET_SEALS through pidfd_getfd(2) where permitted */
	FDX_CENSUS_SYSTEM = 1u << 2,  /* also every SysV segment and /dev/shm object */
	FDX_CENSUS_SOCKETS = 1u << 3, /* fdx endpoints: listeners, connections, peers */
	FDX_CENSUS_ORPHANS = 1u << 4, /* leftovers: needs BUFFERS, SYSTEM and SOCKETS */
};

struct fdx_census_opts {
	unsigned flags;
	/* scan these processes only (a unit test scans itself); NULL: all of /proc */
	const pid_t *pids;
	size_t npids;
	/* directories to search for orphaned socket files besides /tmp/fdx-* and the
	 * directories of live endpoints; NULL-terminated, may be NULL */
	const char *const *socket_dirs;
};

/* A process that holds or maps something; buffers refer to it by index. */
struct fdx_census_proc {
	pid_t pid;
	char comm[64];
};

struct fdx_census_holder {
	size_t proc;
	int *fds; /* ascending */
	size_t nfds;
};

struct fdx_census_buffer {
	unsigned type;
	uint64_t id; /* inode number; the shmid for SysV */
	dev_t dev;   /* 0 for SysV */
	char *name;  /* memfd or DMA-BUF name, path, SysV key as 0x%08x; NULL: none */
	bool has_size;
	uint64_t size;
	bool has_owner; /* uid and mode are known */
	uid_t uid;
	mode_t mode; /* permission bits only */
	int seals;   /* F_GET_SEALS; -1: unknown, or a kind of file that has none */
	struct fdx_census_holder *holders; /* ascending pid */
	size_t nholders;
	size_t *mappers; /* indices into procs, ascending pid */
	size_t nmappers;
	bool has_provenance; /* the name is an fdx buffer name */
	struct fdx_provenance prov;
	/* SysV only (nattch -1 otherwise): as the kernel counts, whoever may be looked at
	 */
	int32_t key;
	pid_t cpid, lpid;
	int64_t nattch;
	/* DMA-BUF only: the exporting driver, when fdinfo gives it */
	char *exporter;
};

/* The process at the other end of an accepted connection: SO_PEERCRED of the server's
 * socket (the pid at connect time), read through pidfd_getfd(2) where permitted. */
struct fdx_census_peer {
	pid_t pid;
	char comm[64];
};

struct fdx_census_endpoint {
	char *path;
	uint64_t inode;	   /* the listening socket's */
	bool has_lock;	   /* PATH.lock beside it: an fdx server's */
	size_t *listeners; /* indices into procs */
	size_t nlisteners;
	size_t connections; /* accepted connections, as /proc/net/unix lists them */
	struct fdx_census_peer *peers; /* those whose peer could be told: see below */
	size_t npeers;
};

struct fdx_census_orphan {
	unsigned type; /* FDX_CENSUS_SHM, FDX_CENSUS_SYSV or FDX_CENSUS_SOCKET */
	uint64_t id;
	char *name;
	bool has_size;
	uint64_t size;
	uid_t uid;
	mode_t mode;
};

struct fdx_census_index;

struct fdx_census {
	struct fdx_census_buffer *buffers; /* sorted: type, provenance, id */
	size_t nbuffers;
	struct fdx_census_proc *procs;
	size_t nprocs;
	struct fdx_census_endpoint *endpoints; /* sorted by path */
	size_t nendpoints;
	struct fdx_census_orphan *orphans; /* sorted: type, name */
	size_t norphans;
	/* processes looked at, and those skipped because they went away (ENOENT, ESRCH)
	 * or would not let us look (EACCES, EPERM) */
	unsigned scanned, vanished, denied;
	/* after a failed scan: the file that could not be read */
	char failed[256];
	struct fdx_census_index *priv;
};

/*
 * Scan as opts say into c, which must be zeroed; release it with fdx_census_clear()
 * whatever the result. Returns 0, or -errno when a source the scan cannot do without
 * fails (c->failed names it). A process that vanishes or denies access is counted in
 * c->vanished or c->denied, never an error.
 */
int fdx_census_scan(const struct fdx_census_opts *opts, struct fdx_census *c) _must_check_;

void fdx_census_clear(struct fdx_census *c);

/* Does pid hold or map b? */
bool fdx_census_involves(const struct fdx_census *c, const struct fdx_census_buffer *b,
			 pid_t pid);

#endif
