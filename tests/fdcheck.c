/* fdcheck.c - LD_PRELOAD shim that fails (exit 99) a process leaking fds at exit */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The fds open when the program started, sorted. Only open fds are stored, so a table
 * of a million slots with a few open costs nothing.
 */
static int *initial;
static size_t ninitial;
static bool armed;

#define LEAK_STATUS 99

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Open fds but the listing's own, into a malloc'ed array; -1 if /proc is unreadable */
static int list_fds(int **out, size_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t cap = 64, len = 0;
	int *v;

	if (!d)
		return -1;
	v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(d);
		return -1;
	}
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end || fd == dirfd(d))
			continue;
		if (len == cap) {
			int *w = realloc(v, 2 * cap * sizeof(*v));

			if (!w) {
				free(v);
				closedir(d);
				return -1;
			}
			v = w;
			cap *= 2;
		}
		v[len++] = (int)fd;
	}
	closedir(d);
	qsort(v, len, sizeof(*v), cmp_int);
	*out = v;
	*n = len;
	return 0;
}

__attribute__((constructor)) static void fdcheck_start(void)
{
	/* without /proc there is nothing to compare: stay out of the way */
	armed = list_fds(&initial, &ninitial) == 0;
}

__attribute__((destructor)) static void fdcheck_exit(void)
{
	int *now;
	size_t n;
	unsigned leaks = 0;

	if (!armed || list_fds(&now, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		char path[64], target[4096];
		ssize_t len;

		if (bsearch(&now[i], initial, ninitial, sizeof(*initial), cmp_int))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", now[i]);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			len = 0;
		target[len] = '\0';
		dprintf(STDERR_FILENO, "fdcheck: pid %d leaked fd %d (%s)\n", (int)getpid(),
			now[i], target);
		leaks++;
	}
	free(now);
	if (leaks) {
		/* _exit skips the rest of exit(): keep what the program already wrote */
		fflush(NULL);
		_exit(LEAK_STATUS);
	}
}
