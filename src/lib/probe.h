/* probe.h - what this kernel and machine support, each feature tried for real */
#ifndef FDX_PROBE_H
#define FDX_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every probe uses the feature the way fdx would (it never guesses from the kernel
 * version), undoes whatever it made (fds, files, children, huge pages) and fills a struct
 * fdx_probe. A probe returns 0 when it reached a verdict, whatever the verdict is, and
 * -err when it could not (status FDX_PROBE_ERROR). Nothing here prints.
 */

enum fdx_probe_status {
	FDX_PROBE_OK,
	FDX_PROBE_MISSING, /* this kernel or machine lacks it */
	FDX_PROBE_DENIED,  /* it is there, but this process may not use it */
	FDX_PROBE_LIMITED, /* it works, within a limit that matters to fdx */
	FDX_PROBE_ERROR,   /* the probe failed in a way that tells nothing; err says why */
};

/* "ok", "missing", "denied", "limited", "error" */
const char *fdx_probe_status_name(enum fdx_probe_status s);

enum fdx_probe_id {
	FDX_PROBE_MEMFD_SEALS,	       /* MFD_ALLOW_SEALING, F_ADD_SEALS shrink,grow,seal */
	FDX_PROBE_SEAL_FUTURE_WRITE,   /* F_SEAL_FUTURE_WRITE */
	FDX_PROBE_MFD_NOEXEC_SEAL,     /* MFD_NOEXEC_SEAL and the exec seal (Linux 6.3) */
	FDX_PROBE_MEMFD_NOEXEC_SYSCTL, /* vm.memfd_noexec; value: 0, 1 or 2 */
	FDX_PROBE_MFD_HUGETLB,	       /* memfd_create(MFD_HUGETLB); value: page size */
	FDX_PROBE_HUGEPAGES,	       /* value: huge pages free for use (default size) */
	FDX_PROBE_DEV_SHM,	       /* /dev/shm mounted, tmpfs; value: bytes free */
	FDX_PROBE_SHM_OPEN,	       /* shm_open O_EXCL, shm_unlink */
	FDX_PROBE_TMPFILE,	 /* O_TMPFILE in a directory (one probe per directory) */
	FDX_PROBE_PIDFD_OPEN,	 /* pidfd_open of a child */
	FDX_PROBE_PIDFD_GETFD,	 /* pidfd_getfd of a child's fd */
	FDX_PROBE_PTRACE,	 /* pidfd_getfd of a non-descendant; value: Yama scope */
	FDX_PROBE_SO_PEERCRED,	 /* SO_PEERCRED on a socketpair */
	FDX_PROBE_SO_PEERPIDFD,	 /* SO_PEERPIDFD (Linux 6.5) */
	FDX_PROBE_SO_PASSRIGHTS, /* SO_PASSRIGHTS (Linux 6.16) */
	FDX_PROBE_DMA_HEAPS,	 /* the directory /dev/dma_heap; value: entries */
	FDX_PROBE_DMA_HEAP,	 /* one heap: open, allocate a page (one per entry) */
	FDX_PROBE_UDMABUF,	 /* /dev/udmabuf; value: size limit in MiB */
	FDX_PROBE_RLIMIT_NOFILE, /* value: the hard limit, which fdx raises the soft to */
	FDX_PROBE_SCM_MAX_FD,	 /* value: most fds one sendmsg carries, measured */
	FDX_PROBE_SEQPACKET,	 /* AF_UNIX SOCK_SEQPACKET; value: default send buffer */
	FDX_PROBE_DATA_RECORD,	 /* value: bytes of the largest copy DATA record sent */
};

#define FDX_PROBE_NAME_MAX    64
#define FDX_PROBE_FOUND_MAX   256
#define FDX_PROBE_DETAILS_MAX 6

/* A number behind the verdict, named for scripts ("soft", "free", ...). */
struct fdx_probe_detail {
	const char *key; /* a string literal */
	int64_t value;
};

struct fdx_probe {
	enum fdx_probe_id id;
	/* the item: "memfd-seals", "tmpfile:/tmp", "dma-heap:system" */
	char name[FDX_PROBE_NAME_MAX];
	enum fdx_probe_status status;
	bool has_value;
	int64_t value;			 /* see enum fdx_probe_id for what it counts */
	char found[FDX_PROBE_FOUND_MAX]; /* what was seen, in a few words */
	/* errno of the call that decided the outcome (also the refusal that proves an ok,
	 * as the EINVAL for a 254th fd), 0 when none failed */
	int err;
	struct fdx_probe_detail details[FDX_PROBE_DETAILS_MAX];
	unsigned ndetails;
};

/* The value of detail key, or dflt when the probe has none. */
int64_t fdx_probe_detail(const struct fdx_probe *p, const char *key, int64_t dflt);

/* ---- one function per probe ---- */

int fdx_probe_memfd_seals(struct fdx_probe *p);
int fdx_probe_seal_future_write(struct fdx_probe *p);
int fdx_probe_mfd_noexec_seal(struct fdx_probe *p);
/* Reads the sysctl, and tries MFD_EXEC to see what it does. */
int fdx_probe_memfd_noexec_sysctl(struct fdx_probe *p);
int fdx_probe_mfd_hugetlb(struct fdx_probe *p);
/*
 * Huge page pools: every size in /sys/kernel/mm/hugepages, the default size's counts from
 * /proc/meminfo (details size_kb, total, free, rsvd). ok only when one page of the
 * default size could really be allocated (and was given back); missing when none is free.
 */
int fdx_probe_hugepages(struct fdx_probe *p);
/* /dev/shm: mounted, tmpfs; details size and free (bytes, statvfs). */
int fdx_probe_dev_shm(struct fdx_probe *p);
int fdx_probe_shm_open(struct fdx_probe *p);
/* An O_TMPFILE file in dir: made, sized, unnamed (missing: the file system cannot). */
int fdx_probe_tmpfile(const char *dir, struct fdx_probe *p);
/* pidfd_open and pidfd_getfd on a child forked for the purpose. */
int fdx_probe_pidfd_open(struct fdx_probe *p);
int fdx_probe_pidfd_getfd(struct fdx_probe *p);
/*
 * May this process take fds of another process of its user, one that is not its
 * descendant (what `fdx verify --pid` does)? Tried on an orphaned grandchild, with the
 * Yama ptrace_scope (details yama_scope, -1 without Yama) and CAP_SYS_PTRACE
 * (cap_sys_ptrace 0 or 1) that explain the verdict.
 */
int fdx_probe_ptrace(struct fdx_probe *p);
int fdx_probe_so_peercred(struct fdx_probe *p);
int fdx_probe_so_peerpidfd(struct fdx_probe *p);
/* Sets SO_PASSRIGHTS off on one end of a socketpair and checks that an fd is refused. */
int fdx_probe_so_passrights(struct fdx_probe *p);
/* The heap directory (FDX_PROBE_DMA_HEAP_DIR normally): there, readable, how many. */
int fdx_probe_dma_heaps(const char *dir, struct fdx_probe *p);
/* One heap: opened O_RDONLY, one page allocated with DMA_HEAP_IOCTL_ALLOC, freed. */
int fdx_probe_dma_heap(const char *dir, const char *name, struct fdx_probe *p);
/* /dev/udmabuf: opened, a one-page DMA-BUF made from a sealed memfd; its size limit. */
int fdx_probe_udmabuf(struct fdx_probe *p);
/* The limits as this process has them now (details soft, hard). */
int fdx_probe_rlimit_nofile(struct fdx_probe *p);
/* Sends 253, then 254 fds in one sendmsg (searching further if the kernel differs). */
int fdx_probe_scm_max_fd(struct fdx_probe *p);
/* details sndbuf, rcvbuf (of a new socket), wmem_default, rmem_default (-1: unreadable) */
int fdx_probe_seqpacket(struct fdx_probe *p);
/*
 * One SEQPACKET record as large as the copy baseline's DATA (header, DATA head and
 * FDX_DATA_MAX bytes), sent and received whole; limited, with the largest record that
 * goes, when it does not fit. sndbuf > 0 sets SO_SNDBUF first (for tests); 0 keeps the
 * default.
 */
int fdx_probe_data_record(int sndbuf, struct fdx_probe *p);

#define FDX_PROBE_DMA_HEAP_DIR "/dev/dma_heap"

/* ---- all of them, in the order doctor shows them ---- */

struct fdx_probe_host {
	char sysname[65];
	char release[65]; /* uname -r */
	char machine[65]; /* uname -m */
};

int fdx_probe_host(struct fdx_probe_host *h);

struct fdx_probe_list {
	struct fdx_probe *v;
	size_t n;
};

/* Run every probe, one per heap in FDX_PROBE_DMA_HEAP_DIR; -ENOMEM only. */
int fdx_probe_all(struct fdx_probe_list *l);
void fdx_probe_list_free(struct fdx_probe_list *l);

#endif
