/*
 * Keeping a daemon alive from the monitor (spec keys `supervise` and `supervise_arg`): the
 * embedded DNS of the container's user network. Every `interval` ms of the container's life
 * the monitor reads the daemon's pid file and checks that the process's command line still
 * contains `match`; when it does not, it starts the given command (tsdocker, which starts
 * the daemon if a network still needs it) as a daemon of its own, with /dev/null for stdio.
 * Of all the monitors that notice at the same moment only one starts it: the start holds an
 * flock on `<pidfile>.lock` until it ends, and a monitor that cannot take the lock skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static long long last_check_ms;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll(2) timeout until the next check: -1 when nothing is supervised. */
int tsd_supervise_timeout(const struct tsd_spec *sp) {
  if (!sp->sup_pidfile || sp->nsup == 0) return -1;
  long long left = last_check_ms + sp->sup_interval - now_ms();
  return left < 0 ? 0 : (int)left;
}

static int daemon_alive(const struct tsd_spec *sp) {
  char buf[4096];
  int fd = open(sp->sup_pidfile, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, 31);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  int pid = atoi(buf);
  if (pid <= 0) return 0;
  snprintf(buf, sizeof buf, "/proc/%d/cmdline", pid);
  fd = open(buf, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  for (ssize_t i = 0; i < n; i++) if (buf[i] == 0) buf[i] = ' ';
  buf[n] = 0;
  return strstr(buf, sp->sup_match) != NULL;
}

/* Start the command detached (double fork); the grandchild keeps the lock until it exits. */
static void start_command(const struct tsd_spec *sp, int lockfd) {
  pid_t p = fork();
  if (p < 0) return;
  if (p == 0) {
    if (fork() != 0) _exit(0);
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
    if (dup2(lockfd, 3) < 0) _exit(125);
    syscall(SYS_close_range, 4, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(sp->sup_argv[0], (char *const *)sp->sup_argv);
    _exit(127);
  }
  while (waitpid(p, NULL, __WALL) < 0 && errno == EINTR) {}
}

void tsd_supervise_check(const struct tsd_spec *sp) {
  if (tsd_supervise_timeout(sp) != 0) return;
  last_check_ms = now_ms();
  if (daemon_alive(sp)) return;
  char lock[4200];
  snprintf(lock, sizeof lock, "%s.lock", sp->sup_pidfile);
  int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) start_command(sp, fd);
  close(fd); /* the grandchild's copy keeps the lock */
}
