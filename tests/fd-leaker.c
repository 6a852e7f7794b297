/* fd-leaker.c - helper for fdcheck-selftest.sh: exits with or without an fd it opened */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	bool leak;
	int fd;

	if (argc != 2 || (strcmp(argv[1], "leak") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: fd-leaker leak|clean\n");
		return 2;
	}
	leak = strcmp(argv[1], "leak") == 0;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("fd-leaker: cannot open /dev/null");
		return 1;
	}
	if (!leak)
		close(fd);
	return 0;
}
