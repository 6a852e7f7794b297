/* shrink-shim.c - LD_PRELOAD shim for tests: the first shared mapping of a regular file
 * larger than one page is followed at once by the file losing its second half, as a
 * peer that truncates a buffer it handed out would do. Only with FDX_SHRINK_ON_MAP=1. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	static int done;
	void *p;
	struct stat st;

	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT,
									      "mmap");
	p = real(addr, len, prot, flags, fd, off);
	if (p == MAP_FAILED || done || fd < 0 || !(flags & MAP_SHARED) ||
	    !getenv("FDX_SHRINK_ON_MAP") || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 4096)
		return p;
	done = 1;
	{
		char path[64];
		int w;

		/* the mapping's fd may be read-only: reopen the same file for writing */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		w = open(path, O_WRONLY | O_CLOEXEC);
		if (w >= 0) {
			if (ftruncate(w, st.st_size / 2) < 0)
				perror("shrink-shim: ftruncate");
			close(w);
		}
	}
	return p;
}
