/*
 * Restart policies (spec keys `restart` and `restart_arg`, native/PROTOCOL.md): Docker's
 * restart manager, run by the monitor once its container has exited and Node is gone.
 *
 * Whether to restart follows moby's rules: `always` and `unless-stopped` restart unless the
 * container was stopped by hand (tsdocker's stop/kill made the `stopped` marker first, the
 * restart manager's cancel); `on-failure[:N]` restarts on a non-zero status while fewer
 * than N restarts were made (0 = no limit). The back-off: 100 ms, doubled at every
 * restart up to a minute, back to 100 ms when the container had run 10 s.
 *
 * A restart: the record says `restarting` (RestartCount already counted, as Docker's
 * SetRestarting), the exit hook runs as our child (network released), we sleep the back-off
 * (a SIGTERM or SIGINT, from `stop`, ends the wait: no restart), then exec the restart
 * command (`tsdocker internal restart ID`), which starts the container with a new monitor
 * and exits. Between runs only this monitor stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 60000
#define RESET_AFTER_MS 10000

/* The record Node reads (RestartCount, State.Restarting); atomic: written aside, renamed. */
static void write_record(const char *path, long count, long timeout_ms, int restarting) {
  char tmp[4200], body[160];
  int n = snprintf(body, sizeof body, "{\"count\":%ld,\"timeoutMs\":%ld,\"restarting\":%s}\n", count, timeout_ms, restarting ? "true" : "false");
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  int ok = tsd_write_all(fd, body, (size_t)n) == 0;
  close(fd);
  if (ok) rename(tmp, path);
  else unlink(tmp);
}

static int want_restart(const struct tsd_spec *sp, const char *policy, long max, int status, long count) {
  if (access(sp->restart[5], F_OK) == 0) return 0; /* stopped by hand */
  if (!strcmp(policy, "always") || !strcmp(policy, "unless-stopped")) return 1;
  if (!strcmp(policy, "on-failure")) return status != 0 && (max == 0 || count < max);
  return 0;
}

/* `update --restart` of a running container: `<record>.policy` ("name max") replaces the spec's policy. */
static void updated_policy(const struct tsd_spec *sp, char *policy, size_t len, long *max) {
  char path[4200], buf[64];
  snprintf(path, sizeof path, "%s.policy", sp->restart[4]);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  char name[32];
  long m;
  if (sscanf(buf, "%31s %ld", name, &m) != 2) return;
  snprintf(policy, len, "%s", name);
  *max = m;
}

/* Docker's back-off, from the previous run's timeout and how long this run lasted. */
long tsd_restart_backoff(long prev_ms, long long ran_ms) {
  long t = ran_ms >= RESET_AFTER_MS ? 0 : prev_ms;
  if (t == 0) t = BACKOFF_FIRST_MS;
  else if (t < BACKOFF_MAX_MS) t *= 2;
  return t > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : t;
}

static void reset_for_exec(void) {
  syscall(SYS_close_range, 3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Run argv as our child and wait for it (the exit hook, before the back-off). */
static void run_and_wait(const char *const *argv) {
  if (!argv[0]) return;
  pid_t p = fork();
  if (p < 0) return;
  if (p == 0) {
    reset_for_exec();
    execvp(argv[0], (char *const *)argv);
    _exit(125);
  }
  while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {}
}

/* Sleep `ms` unless SIGTERM/SIGINT arrives (both blocked in the monitor): 1 when interrupted. */
static int backoff_wait(long ms) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  struct timespec end, now;
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += ms / 1000;
  end.tv_nsec += (ms % 1000) * 1000000L;
  if (end.tv_nsec >= 1000000000L) { end.tv_sec++; end.tv_nsec -= 1000000000L; }
  while (1) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = (end.tv_sec - now.tv_sec) * 1000000000LL + (end.tv_nsec - now.tv_nsec);
    if (left <= 0) return 0;
    struct timespec ts = {left / 1000000000LL, left % 1000000000LL};
    int s = sigtimedwait(&set, NULL, &ts);
    if (s == SIGTERM || s == SIGINT) return 1;
    /* SIGCHLD and the like (blocked, not in the set) do not wake us; EAGAIN = timed out */
  }
}

void tsd_restart_after_exit(const struct tsd_spec *sp, int status, long long ran_ms) {
  if (!sp->restart[0]) return;
  char policy[32];
  long max = atol(sp->restart[1]);
  snprintf(policy, sizeof policy, "%s", sp->restart[0]);
  updated_policy(sp, policy, sizeof policy, &max);
  if (!strcmp(policy, "no") || !policy[0]) return;
  long count = atol(sp->restart[2]);
  long timeout = tsd_restart_backoff(atol(sp->restart[3]), ran_ms);
  if (!want_restart(sp, policy, max, status, count) || sp->nrestart_arg == 0) {
    write_record(sp->restart[4], count, timeout, 0);
    return;
  }
  write_record(sp->restart[4], count + 1, timeout, 1);
  run_and_wait(sp->hook);
  if (backoff_wait(timeout) || access(sp->restart[5], F_OK) == 0) {
    write_record(sp->restart[4], count + 1, timeout, 0);
    _exit(0);
  }
  reset_for_exec();
  execvp(sp->restart_argv[0], (char *const *)sp->restart_argv);
  write_record(sp->restart[4], count + 1, timeout, 0);
  _exit(125);
}
