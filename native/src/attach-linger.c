/*
 * The end of attach clients after the container's exit (attach.c hung them up: `exit` sent,
 * our sending side shut down). Each socket stays open until its client closes it, at most
 * LINGER_MS, what it still sends read and dropped: a client that writes after the exit (its
 * stdin ended at once) meets no EPIPE before it read the end. The monitor does not wait for
 * that: a grandchild of its own (reparented to init, which reaps it) keeps the sockets, so
 * the exit hook starts when it would with no client (a hook that waited for the client would
 * run just as the client's next command, often `rm`, does).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#define LINGER_MS 10000

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static int by_fd(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Close every descriptor but fds[0..n) (sorted). */
static void keep_only(const int *fds, int n) {
  unsigned lo = 0;
  for (int i = 0; i < n; i++) {
    if ((unsigned)fds[i] > lo) syscall(SYS_close_range, lo, (unsigned)fds[i] - 1, 0);
    lo = (unsigned)fds[i] + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
}

static void linger(int *fds, int n) {
  long long end = now_ms() + LINGER_MS;
  while (n) {
    long long left = end - now_ms();
    if (left <= 0) return;
    struct pollfd p[64];
    for (int i = 0; i < n; i++) p[i] = (struct pollfd){fds[i], POLLIN, 0};
    int r = poll(p, (nfds_t)n, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    for (int i = n - 1; i >= 0; i--) {
      if (!p[i].revents) continue;
      char buf[16384];
      ssize_t got = read(fds[i], buf, sizeof buf);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) fds[i] = fds[--n]; /* closed: let go */
    }
  }
}

/* Hand the hung-up client sockets fds[0..n) (n <= 64) to a lingering grandchild; the caller closes its copies. */
void tsd_linger_fds(int *fds, int n) {
  if (n <= 0) return;
  pid_t child = fork();
  if (child < 0) return; /* no process: they are closed now, as before */
  if (child == 0) {
    if (fork() != 0) _exit(0);
    prctl(PR_SET_NAME, "tsd-attach-end", 0, 0, 0);
    qsort(fds, (size_t)n, sizeof *fds, by_fd);
    keep_only(fds, n);
    linger(fds, n);
    _exit(0);
  }
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
}
