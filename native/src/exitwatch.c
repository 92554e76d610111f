/*
 * tsd_exit_watch: the read end of a pipe that becomes readable (one byte, then EOF) when any
 * of the given processes exits. Node cannot poll a pidfd, but it can read a pipe on its event
 * loop; so `stop` and `rm -f` wait for the container's exit as the kernel reports it, instead
 * of sleeping and looking again (which answered 5-50 ms late).
 *
 * A detached thread of this process polls the pidfds and the pipe's write end: it writes the
 * byte when a process exits, and leaves quietly when Node closes the read end first (a
 * timeout: POLLERR on the write end), so no thread outlives its watch. The thread blocks every
 * signal (Node's handlers run on its own threads) and touches no namespace.
 *
 * Returns the read end (O_CLOEXEC) or -errno: -ESRCH when a process is already gone (reaped),
 * -ENOSYS where the kernel has no pidfd_open (before 5.3).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tsd.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define TSD_WATCH_MAX 4

struct watch {
  int n;
  int pidfds[TSD_WATCH_MAX];
  int wfd;
};

int tsd_exit_watch(const int *pids, int n);

static void watch_free(struct watch *w) {
  for (int i = 0; i < w->n; i++) close(w->pidfds[i]);
  if (w->wfd >= 0) close(w->wfd);
  free(w);
}

static void *watch_thread(void *arg) {
  struct watch *w = arg;
  struct pollfd p[TSD_WATCH_MAX + 1];
  for (int i = 0; i < w->n; i++) p[i] = (struct pollfd){ .fd = w->pidfds[i], .events = POLLIN };
  p[w->n] = (struct pollfd){ .fd = w->wfd, .events = 0 }; /* POLLERR: the reader has gone */
  int r;
  do r = poll(p, (nfds_t)w->n + 1, -1);
  while (r < 0 && errno == EINTR);
  int exited = 0;
  for (int i = 0; i < w->n; i++) exited |= p[i].revents != 0;
  if (exited || r < 0) {
    char c = 'x';
    (void)!write(w->wfd, &c, 1); /* EPIPE when the reader left meanwhile: SIGPIPE is blocked here */
  }
  watch_free(w);
  return NULL;
}

int tsd_exit_watch(const int *pids, int n) {
  if (n < 1 || n > TSD_WATCH_MAX) return -EINVAL;
  struct watch *w = calloc(1, sizeof *w);
  if (!w) return -ENOMEM;
  w->wfd = -1;
  for (; w->n < n; w->n++) {
    int fd = (int)syscall(SYS_pidfd_open, pids[w->n], 0);
    if (fd < 0) {
      int e = errno;
      watch_free(w);
      return -e;
    }
    w->pidfds[w->n] = fd;
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    int e = errno;
    watch_free(w);
    return -e;
  }
  w->wfd = pipefd[1];
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread starts with every signal blocked */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t t;
  int rc = pthread_create(&t, &attr, watch_thread, w);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    close(pipefd[0]);
    watch_free(w);
    return -rc;
  }
  return pipefd[0];
}
