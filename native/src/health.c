/*
 * Healthchecks (spec key `health`, native/PROTOCOL.md): Docker's health monitor, run on the
 * monitor's own timer (the poll timeout of supervise.c), never blocking it. Every interval
 * after the last probe ended, the probe starts: a second monitor in exec mode
 * (`tsdocker-monitor exec <probe spec>`, written by Node at the start: the container's
 * namespaces, user and privileges, as `tsdocker exec`), its stdout and stderr into one pipe.
 * While it runs the monitor looks at it every few milliseconds without waiting: the `exit`
 * line ends it; past the timeout it is killed (its process dies with it: PDEATHSIG).
 *
 * Each result goes into the record Node reads (written aside, renamed), moby's rules:
 * exit 0 healthy and the failing streak back to 0; any other result counts a failure, except
 * while still `starting` within the start period; `retries` failures in a row: unhealthy.
 * The last 5 results are kept, their output cut at 4096 bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#define MAX_LOG 5
#define MAX_OUTPUT 4096
#define IN_FLIGHT_POLL_MS 10

struct result { char start[40], end[40]; int code; size_t outlen; char out[MAX_OUTPUT + 1]; };

static struct {
  int armed;
  long long interval, timeout, start_period, retries;
  long long started_ms, next_ms, deadline_ms;
  const char *status;
  int streak;
  struct result log[MAX_LOG];
  int nlog;
  /* the probe in flight */
  pid_t pid;
  pid_t probe;      /* the probe's own pid (host view): a session leader, its group goes with it */
  int sock, out;
  char line[512];
  size_t linelen;
  struct result cur;
  const struct tsd_spec *sp;
} H = {.pid = -1, .probe = -1, .sock = -1, .out = -1};

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void json_str(FILE *f, const char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void write_record(const struct tsd_spec *sp) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", sp->health[4]);
  FILE *f = fopen(tmp, "we");
  if (!f) return;
  fprintf(f, "{\"Status\":\"%s\",\"FailingStreak\":%d,\"Log\":[", H.status, H.streak);
  for (int i = 0; i < H.nlog; i++) {
    const struct result *r = &H.log[i];
    fprintf(f, "%s{\"Start\":\"%s\",\"End\":\"%s\",\"ExitCode\":%d,\"Output\":", i ? "," : "", r->start, r->end, r->code);
    json_str(f, r->out, r->outlen);
    fputc('}', f);
  }
  fputs("]}\n", f);
  if (fclose(f) == 0) rename(tmp, sp->health[4]);
  else unlink(tmp);
}

static void arm(const struct tsd_spec *sp) {
  H.armed = 1;
  H.sp = sp;
  H.interval = atoll(sp->health[0]);
  H.timeout = atoll(sp->health[1]);
  H.start_period = atoll(sp->health[2]);
  H.retries = atoll(sp->health[3]);
  H.started_ms = now_ms();
  H.next_ms = H.started_ms + H.interval;
  H.status = "starting";
  write_record(sp);
}

/* Go's time.Duration String() for whole milliseconds: 500ms, 1s, 1.5s, 1m30s, 1h0m0s. */
static void go_duration(char *b, size_t n, long long ms) {
  if (ms < 1000) { snprintf(b, n, "%lldms", ms); return; }
  long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  char sec[32];
  if (frac) {
    snprintf(sec, sizeof sec, "%lld.%03lld", s, frac);
    for (size_t l = strlen(sec); sec[l - 1] == '0'; l--) sec[l - 1] = 0;
  } else snprintf(sec, sizeof sec, "%lld", s);
  if (h) snprintf(b, n, "%lldh%lldm%ss", h, m, sec);
  else if (m) snprintf(b, n, "%lldm%ss", m, sec);
  else snprintf(b, n, "%ss", sec);
}

static void set_output(const char *s) {
  size_t n = strlen(s);
  if (n > MAX_OUTPUT) n = MAX_OUTPUT;
  memcpy(H.cur.out, s, n);
  H.cur.outlen = n;
}

static void start_probe(const struct tsd_spec *sp) {
  int sv[2], pp[2];
  memset(&H.cur, 0, sizeof H.cur);
  H.cur.code = -1;
  tsd_rfc3339nano(H.cur.start, sizeof H.cur.start);
  H.deadline_ms = now_ms() + H.timeout;
  H.linelen = 0;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return;
  if (pipe2(pp, O_CLOEXEC) < 0) { close(sv[0]); close(sv[1]); return; }
  pid_t p = fork();
  if (p == 0) {
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(pp[1], 1) < 0 || dup2(pp[1], 2) < 0 || dup2(sv[1], 3) < 0) _exit(125);
    syscall(SYS_close_range, 4, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execl("/proc/self/exe", "tsdocker-monitor", "exec", sp->health[5], (char *)NULL);
    _exit(127);
  }
  close(sv[1]);
  close(pp[1]);
  if (p < 0) { close(sv[0]); close(pp[0]); set_output("cannot start the probe"); return; }
  H.pid = p;
  H.sock = sv[0];
  H.out = pp[0];
  fcntl(H.sock, F_SETFL, O_NONBLOCK);
  fcntl(H.out, F_SETFL, O_NONBLOCK);
}

static void read_output(void) {
  char buf[4096];
  ssize_t n;
  while ((n = read(H.out, buf, sizeof buf)) > 0) {
    size_t room = MAX_OUTPUT - H.cur.outlen, take = (size_t)n < room ? (size_t)n : room;
    memcpy(H.cur.out + H.cur.outlen, buf, take);
    H.cur.outlen += take;
  }
}

/* Into the container's cgroups before `go`, as `tsdocker exec` does (best effort: a probe still runs). */
static void join_cgroups(const struct tsd_spec *sp, pid_t pid) {
  char num[24];
  int n = snprintf(num, sizeof num, "%d", (int)pid);
  for (int i = 0; i < sp->nhealth_cgroup; i++) {
    int fd = open(sp->health_cgroup[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (write(fd, num, (size_t)n) != n) { /* the probe runs in the monitor's cgroup then */ }
    close(fd);
  }
}

/* Lines from the exec monitor; returns 1 once the probe is over (exit, error or EOF). */
static int read_lines(void) {
  ssize_t n;
  while ((n = read(H.sock, H.line + H.linelen, sizeof H.line - 1 - H.linelen)) > 0) {
    H.linelen += (size_t)n;
    char *nl;
    while ((nl = memchr(H.line, '\n', H.linelen))) {
      *nl = 0;
      int code, er;
      char msg[400];
      if (!strncmp(H.line, "pid ", 4)) {
        H.probe = atoi(H.line + 4);
        join_cgroups(H.sp, H.probe);
        if (write(H.sock, "go\n", 3) != 3) return 1;
      }
      else if (sscanf(H.line, "exit %d", &code) == 1) { H.cur.code = code; return 1; }
      else if (sscanf(H.line, "error %d %d %399[^\n]", &code, &er, msg) == 3) { H.cur.code = -1; set_output(msg); return 1; }
      size_t used = (size_t)(nl + 1 - H.line);
      memmove(H.line, nl + 1, H.linelen - used);
      H.linelen -= used;
    }
    if (H.linelen == sizeof H.line - 1) H.linelen = 0;
  }
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* Closing the socket lets an exec monitor that reported `exit` go; one still running is killed. */
static void end_probe(int running) {
  if (H.sock >= 0) close(H.sock);
  if (H.out >= 0) close(H.out);
  if (H.pid > 0 && running) {
    if (H.probe > 1) kill(-H.probe, SIGKILL); /* and whatever it started (sh -c 'sleep 100') */
    kill(H.pid, SIGKILL);
    while (waitpid(H.pid, NULL, __WALL) < 0 && errno == EINTR) {}
  }
  H.pid = H.probe = -1;
  H.sock = H.out = -1;
}

static void record_result(const struct tsd_spec *sp) {
  tsd_rfc3339nano(H.cur.end, sizeof H.cur.end);
  H.cur.out[H.cur.outlen] = 0;
  if (H.nlog == MAX_LOG) { memmove(&H.log[0], &H.log[1], sizeof H.log[0] * (MAX_LOG - 1)); H.nlog--; }
  H.log[H.nlog++] = H.cur;
  if (H.cur.code == 0) {
    H.streak = 0;
    H.status = "healthy";
  } else if (!(!strcmp(H.status, "starting") && now_ms() - H.started_ms < H.start_period)) {
    /* within the start period a failure of a container never healthy yet does not count */
    if (++H.streak >= H.retries) H.status = "unhealthy";
  }
  write_record(sp);
  H.next_ms = now_ms() + H.interval;
}

/* The poll timeout: the sooner of `other` (-1 = none) and the next probe's (-1 without a healthcheck). */
int tsd_health_timeout(const struct tsd_spec *sp, int other) {
  if (!sp->health[0]) return other;
  if (!H.armed) arm(sp);
  long long left = H.pid > 0 ? IN_FLIGHT_POLL_MS : H.next_ms - now_ms();
  int mine = left < 0 ? 0 : (int)(left > 0x7fffffff ? 0x7fffffff : left);
  return other >= 0 && other < mine ? other : mine;
}

void tsd_health_check(const struct tsd_spec *sp) {
  if (!sp->health[0] || !H.armed) return;
  if (H.pid > 0) {
    read_output();
    int done = read_lines();
    if (done) read_output(); /* it has exited: all it wrote is in the pipe */
    if (!done && now_ms() < H.deadline_ms) return;
    if (!done) {
      char d[48];
      go_duration(d, sizeof d, H.timeout);
      char msg[96];
      snprintf(msg, sizeof msg, "Health check exceeded timeout (%s)", d);
      H.cur.code = -1;
      set_output(msg);
    }
    end_probe(!done);
    record_result(sp);
    return;
  }
  if (now_ms() >= H.next_ms) start_probe(sp);
  if (H.pid < 0 && H.cur.start[0] && now_ms() >= H.next_ms) record_result(sp); /* could not start it */
}

/* The container exited: a probe still running goes. */
void tsd_health_stop(void) {
  if (H.pid > 0) end_probe(1);
}
