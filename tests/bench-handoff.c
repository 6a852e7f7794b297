/* bench-handoff.c - the baseline for fdx's handoff: a bare SEQPACKET ping-pong carrying an
 * fd
 *
 * usage: bench-handoff ROUNDS
 * Two processes on a socketpair: one sends 16 bytes with one fd attached (SCM_RIGHTS),
 * the other receives it, closes the fd and answers with 16 bytes. Prints the round trip
 * as "p50_ns p99_ns max_ns" on one line. Run it under `taskset -c 0` beside fdx's own
 * stream (scripts/bench.sh does) so both are measured on one core in the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void send_with_fd(int sock, int fd)
{
	char msg[16] = "ready";
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(msg)) {
		perror("bench-handoff: sendmsg");
		exit(1);
	}
}

/* The other side: take the fd, drop it, answer. */
static void echo(int sock)
{
	char msg[16];
	char ctl[CMSG_SPACE(sizeof(int))];

	for (;;) {
		struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			_exit(0);
		c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_type == SCM_RIGHTS) {
			int fd;

			memcpy(&fd, CMSG_DATA(c), sizeof(int));
			close(fd);
		}
		if (send(sock, "release", 16, MSG_NOSIGNAL) != 16)
			_exit(1);
	}
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 20000;
	static struct fdx_hist h;
	char reply[16];
	int sv[2], fd;
	pid_t pid;

	if (rounds < 1 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fprintf(stderr, "usage: bench-handoff ROUNDS\n");
		return 2;
	}
	fd = memfd_create("bench-handoff", MFD_CLOEXEC);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		echo(sv[1]);
	}
	close(sv[1]);
	fdx_hist_init(&h);
	for (long i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		send_with_fd(sv[0], fd);
		if (recv(sv[0], reply, sizeof(reply), 0) != sizeof(reply)) {
			perror("bench-handoff: recv");
			return 1;
		}
		/* the first rounds warm caches up; they are not the steady state */
		if (i >= rounds / 10)
			fdx_hist_add(&h, now_ns() - t0);
	}
	close(sv[0]);
	close(fd);
	waitpid(pid, NULL, 0);
	printf("%llu %llu %llu\n", (unsigned long long)fdx_hist_quantile(&h, 0.5),
	       (unsigned long long)fdx_hist_quantile(&h, 0.99),
	       (unsigned long long)h.max_ns);
	return 0;
}
