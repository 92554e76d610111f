/*
 * tsdocker-monitor: the per-container parent (native/PROTOCOL.md). Single-threaded, so it
 * may setns and clone with namespace flags. It clones the container, reports its pid,
 * waits for `go`, relays the terminal or captures the log, records the exit status and
 * execs the exit hook when Node is no longer there to clean up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#define NODE_FD 3

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct mon {
  struct tsd_spec spec;
  int exec_mode;
  pid_t child;
  int sync;          /* our end of the SEQPACKET pair with the child */
  int sigfd;
  int node_gone;     /* fd 3 reached EOF */
  int acked;
  char line[4096];   /* partial line from Node */
  char go[512];      /* the packet that starts the child: "g" and the `netif` lines */
  size_t golen;
  size_t linelen;
  int master;        /* pty master, -1 without tty */
  int out, err;      /* log pipes, -1 when not logging */
  int logfd;
  int stdin_open;    /* relay fd 0 -> master */
  int in;            /* detached -i without a tty: the container's stdin pipe (attach.c writes it) */
  int fg_detached;   /* the foreground client typed the detach keys: fds 0-2 are /dev/null now */
  unsigned rows, cols;
  struct tsd_log_stream lout, lerr;
};

static struct mon M = {.master = -1, .out = -1, .err = -1, .logfd = -1, .sigfd = -1, .in = -1};

/* the exit record's reserved space (see prealloc_exit_record) */
static int exit_fd = -1;
static char exit_pre[4200];

/* The container never ran: its reserved exit record goes. */
static void drop_exit_record(void) {
  tsd_attach_finish(-1);
  if (exit_fd >= 0) unlink(exit_pre);
}

static void to_node(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void to_node(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  if (M.node_gone) return;
  const char *p = buf;
  while (n > 0) {
    ssize_t w = send(NODE_FD, p, (size_t)n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { M.node_gone = 1; return; }
    p += w;
    n -= (int)w;
  }
}

__attribute__((noreturn)) static void fail_early(struct tsd_error *e) {
  drop_exit_record();
  to_node("error %d %d %s", e->code ? e->code : 125, e->err, e->msg);
  _exit(e->code ? e->code : 125);
}

/* One line from Node. */
static int handle_line(char *l) {
  unsigned r, c;
  if (!strcmp(l, "go")) return 1;
  if (!strcmp(l, "ack")) M.acked = 1;
  else if (!strncmp(l, "netif ", 6)) {
    /* for the child, which configures its interface in its namespace before exec */
    size_t n = strlen(l + 6);
    if (!M.golen) M.go[M.golen++] = 'g';
    if (M.golen + n + 1 < sizeof M.go) {
      memcpy(M.go + M.golen, l + 6, n);
      M.golen += n;
      M.go[M.golen++] = '\n';
    }
  }
  else if (sscanf(l, "resize %u %u", &r, &c) == 2) {
    M.rows = r;
    M.cols = c;
    if (M.master >= 0) tsd_set_winsize(M.master, r, c);
  }
  return 0;
}

/* Read what Node sent; returns 1 when a `go` line was seen, -1 on EOF. */
static int read_node(void) {
  ssize_t n;
  do { n = read(NODE_FD, M.line + M.linelen, sizeof M.line - 1 - M.linelen); } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    M.node_gone = 1;
    return -1;
  }
  M.linelen += (size_t)n;
  int go = 0;
  char *start = M.line, *nl;
  while ((nl = memchr(start, '\n', M.linelen - (size_t)(start - M.line)))) {
    *nl = 0;
    go |= handle_line(start);
    start = nl + 1;
  }
  M.linelen -= (size_t)(start - M.line);
  memmove(M.line, start, M.linelen);
  if (M.linelen == sizeof M.line - 1) M.linelen = 0; /* an absurd line: drop it */
  return go;
}

static int open_joins(struct tsd_child_ctx *c, struct tsd_error *e) {
  for (int i = 0; i < M.spec.njoins; i++) {
    const struct tsd_join *j = &M.spec.joins[i];
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tsd_fail(e, 125, errno, "open namespace %s: %s", j->path, tsd_errname(errno));
    if (j->nstype == CLONE_NEWPID) {
      /* affects only our future children: the container lands in that pid namespace */
      if (setns(fd, CLONE_NEWPID) < 0) {
        int er = errno;
        close(fd);
        return tsd_fail(e, 125, er, "setns %s: %s", j->path, tsd_errname(er));
      }
      close(fd);
      fd = -1;
    }
    c->join_fds[i] = fd;
  }
  return 0;
}

static int prepare_stdio(struct tsd_child_ctx *c, struct tsd_error *e) {
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return tsd_fail(e, 125, errno, "open /dev/null: %s", tsd_errname(errno));
  if (M.spec.stdin_open) {
    close(devnull);
    devnull = 0;
  }
  c->stdio[0] = devnull;
  c->stdio[1] = 1;
  c->stdio[2] = 2;
  if (M.spec.log) {
    M.logfd = open(M.spec.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (M.logfd < 0) return tsd_fail(e, 125, errno, "open log %s: %s", M.spec.log, tsd_errname(errno));
    int p1[2], p2[2];
    if (!M.spec.tty) {
      if (pipe2(p1, O_CLOEXEC) < 0 || pipe2(p2, O_CLOEXEC) < 0) return tsd_fail(e, 125, errno, "pipe: %s", tsd_errname(errno));
      M.out = p1[0];
      M.err = p2[0];
      c->stdio[1] = p1[1];
      c->stdio[2] = p2[1];
    }
  }
  if (M.spec.stdin_open && !M.spec.tty && M.logfd >= 0 && !M.spec.log_tee) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return tsd_fail(e, 125, errno, "pipe: %s", tsd_errname(errno));
    c->stdio[0] = p[0];
    M.in = p[1];
  }
  M.lout.name = "stdout";
  M.lerr.name = "stderr";
  return 0;
}

static int block_signals(struct tsd_error *e) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaddset(&set, forwarded[i]);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return tsd_fail(e, 125, errno, "sigprocmask: %s", tsd_errname(errno));
  M.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (M.sigfd < 0) return tsd_fail(e, 125, errno, "signalfd: %s", tsd_errname(errno));
  return 0;
}

static pid_t start_child(struct tsd_child_ctx *c, struct tsd_error *e) {
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return tsd_fail(e, 125, errno, "socketpair: %s", tsd_errname(errno));
  unsigned long flags = M.exec_mode ? 0 : (M.spec.clone_flags & ~(unsigned long)CLONE_NEWCGROUP);
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return tsd_fail(e, 125, errno, "clone: %s", tsd_errname(errno));
  if (pid == 0) {
    close(sp[0]);
    c->sync = sp[1];
    /* every monitor-only fd is O_CLOEXEC, and close_range closes them all before exec */
    tsd_child_main(c);
  }
  close(sp[1]);
  M.sync = sp[0];
  return (pid_t)pid;
}

__attribute__((noreturn)) static void run_hook(void);

/*
 * Wait for `go`; EOF first means Node gave up: kill the container. If Node was killed
 * (no `ack` before the EOF), run the exit hook, so what the start had set up (network, a
 * --rm record) is cleaned up now rather than by whichever command comes next.
 */
static void wait_go(void) {
  while (1) {
    int r = read_node();
    if (r == 1) return;
    if (r < 0) {
      kill(M.child, SIGKILL);
      while (waitpid(M.child, NULL, __WALL) < 0 && errno == EINTR) {}
      drop_exit_record();
      if (M.acked) _exit(1); /* Node undoes its own failed start */
      run_hook();
    }
  }
}

/*
 * The container's first process into its cgroups (spec `cgroup`), right after the clone and
 * before `pid`: done here rather than by Node, it costs no round trip through Node's thread
 * pool while the container waits for `go`. On cgroup v1 the first migration waits for an
 * RCU grace period (~8 ms here); Node writes its own pid into its own cgroup when it creates
 * the container's cgroups (primeCgroupMigration), so that wait is over by the time we get here.
 */
static int join_cgroups(pid_t pid, struct tsd_error *e) {
  char num[24];
  int n = snprintf(num, sizeof num, "%d", (int)pid);
  for (int i = 0; i < M.spec.ncgroup; i++) {
    int fd = open(M.spec.cgroup[i], O_WRONLY | O_CLOEXEC);
    int ok = fd >= 0 && write(fd, num, (size_t)n) == n;
    int er = errno;
    if (fd >= 0) close(fd);
    if (!ok) return tsd_fail(e, 125, er, "cannot move process %d into cgroup %s: %s", (int)pid, M.spec.cgroup[i], tsd_errname(er));
  }
  return 0;
}

__attribute__((noreturn)) static void child_failed(struct tsd_error *e) {
  to_node("error %d %d %s", e->code, e->err, e->msg);
  kill(M.child, SIGKILL);
  while (waitpid(M.child, NULL, __WALL) < 0 && errno == EINTR) {}
  _exit(e->code ? e->code : 125);
}

/* After `go`: the child either sends an error, the pty master, or execs (EOF). */
static void await_exec(void) {
  struct tsd_msg m;
  if (!M.golen) M.go[M.golen++] = 'g';
  if (write(M.sync, M.go, M.golen) != (ssize_t)M.golen) { /* child already gone */ }
  while (1) {
    int fd;
    int n = tsd_recv_fd(M.sync, &m, sizeof m, &fd);
    if (n == 0 || n == -ECONNRESET) break;
    if (n < 0) break;
    if (m.type == TSD_MSG_PTY && fd >= 0 && M.spec.console) {
      struct tsd_error e = {0};
      int r = tsd_send_console(M.spec.console, fd, &e);
      close(fd);
      if (r < 0) child_failed(&e);
      continue;
    }
    if (m.type == TSD_MSG_PTY && fd >= 0) {
      M.master = fd;
      if (M.rows) tsd_set_winsize(fd, M.rows, M.cols);
      continue;
    }
    if (m.type == TSD_MSG_READY) {
      /* OCI create: the init waits on its FIFO for `start`; it belongs to our parent now */
      if (fd >= 0) close(fd);
      to_node("ok");
      _exit(0);
    }
    if (fd >= 0) close(fd);
    if (m.type == TSD_MSG_ERROR) {
      m.e.msg[sizeof m.e.msg - 1] = 0;
      to_node("error %d %d %s", m.e.code, m.e.err, m.e.msg);
      kill(M.child, SIGKILL);
      while (waitpid(M.child, NULL, __WALL) < 0 && errno == EINTR) {}
      drop_exit_record();
      _exit(m.e.code ? m.e.code : 125);
    }
  }
  close(M.sync);
  M.sync = -1;
  if (M.spec.fifo && !M.exec_mode) {
    struct tsd_error e = {0};
    tsd_fail(&e, 125, ECHILD, "the container's init exited before it was ready");
    child_failed(&e);
  }
  to_node("ok");
  if (M.spec.orphan) _exit(0); /* OCI exec --detach: the process is our parent's now */
}

/*
 * The exit record's space is taken before the container runs: `<exit>.pre`, filled with a
 * placeholder as long as any record, so the status can still be written when the disk has
 * filled up meanwhile (rewritten in place, then renamed). A disk already full at start
 * fails the start with a clear error instead of losing the status later.
 */
#define EXIT_RECORD_MAX 256

static int prealloc_exit_record(struct tsd_error *e) {
  if (!M.spec.exit_path || M.exec_mode) return 0;
  snprintf(exit_pre, sizeof exit_pre, "%s.pre", M.spec.exit_path);
  char pad[EXIT_RECORD_MAX];
  memset(pad, ' ', sizeof pad);
  exit_fd = open(exit_pre, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (exit_fd < 0) return tsd_fail(e, 125, errno, "cannot reserve the exit record %s: %s", exit_pre, tsd_errname(errno));
  if (tsd_write_all(exit_fd, pad, sizeof pad) < 0) {
    int er = errno;
    close(exit_fd);
    exit_fd = -1;
    unlink(exit_pre);
    return tsd_fail(e, 125, er, "cannot reserve the exit record %s: %s", exit_pre, tsd_errname(er));
  }
  return 0;
}

static void write_exit_record(int status, int sig) {
  if (!M.spec.exit_path) return;
  char tmp[4200], ts[40], body[EXIT_RECORD_MAX];
  tsd_rfc3339nano(ts, sizeof ts);
  int n = sig ? snprintf(body, sizeof body, "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\"}\n", status, sig, ts)
              : snprintf(body, sizeof body, "{\"exitCode\":%d,\"signal\":null,\"finishedAt\":\"%s\"}\n", status, ts);
  if (n < 0 || n >= (int)sizeof body) return;
  if (exit_fd >= 0) {
    /* in place: no new blocks needed. fsync: a kept container's exit code must survive a
     * crash (`ps -a` shows it after a reboot); a --rm container's record is read by the CLI
     * at once and removed (exit_nosync) */
    int ok = pwrite(exit_fd, body, (size_t)n, 0) == n && ftruncate(exit_fd, n) == 0 && (M.spec.exit_nosync || fsync(exit_fd) == 0);
    close(exit_fd);
    exit_fd = -1;
    if (ok && rename(exit_pre, M.spec.exit_path) == 0) return;
    unlink(exit_pre);
  }
  snprintf(tmp, sizeof tmp, "%s.tmp", M.spec.exit_path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  int ok = tsd_write_all(fd, body, (size_t)n) == 0 && (M.spec.exit_nosync || fsync(fd) == 0);
  close(fd);
  if (ok) rename(tmp, M.spec.exit_path);
  else unlink(tmp);
}

/* Move container output: returns 0 on EOF/EIO (stream finished), 1 otherwise. */
static int pump(int from, struct tsd_log_stream *ls) {
  char buf[16384];
  ssize_t n;
  do { n = read(from, buf, sizeof buf); } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return 1;
  if (n <= 0) return 0;
  if (M.logfd >= 0) tsd_log_feed(M.logfd, ls, buf, (size_t)n);
  if ((M.logfd < 0 || M.spec.log_tee) && !M.fg_detached) tsd_write_all(ls == &M.lerr ? 2 : 1, buf, (size_t)n);
  tsd_attach_output(ls == &M.lerr ? 2 : 1, buf, (size_t)n);
  return 1;
}

static void drain(int *fd, struct tsd_log_stream *ls) {
  if (*fd < 0) return;
  fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
  while (1) {
    struct pollfd p = {*fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0 || !pump(*fd, ls)) break;
  }
  if (M.logfd >= 0) tsd_log_flush(M.logfd, ls);
  close(*fd);
  *fd = -1;
}

static int handle_signals(int *status, int *sig) {
  struct signalfd_siginfo si;
  int exited = 0;
  while (read(M.sigfd, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo != SIGCHLD) {
      kill(M.child, (int)si.ssi_signo);
      continue;
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
      if (p != M.child) continue;
      exited = 1;
      if (WIFSIGNALED(st)) { *sig = WTERMSIG(st); *status = 128 + *sig; }
      else { *sig = 0; *status = WEXITSTATUS(st); }
    }
  }
  return exited;
}

static void close_stdin(struct tsd_attach_io *io) {
  if (M.master >= 0) { tsd_write_all(M.master, "\x04", 1); return; } /* the pty's EOF */
  if (M.in >= 0) close(M.in);
  M.in = io->in = -1;
}

static void resize(unsigned rows, unsigned cols) {
  if (M.master >= 0) tsd_set_winsize(M.master, rows, cols);
}

/* The foreground client left (its keys or its end): let go of its terminal; the container runs on. */
static void fg_release(void) {
  if (M.fg_detached) return;
  tsd_restore_mode();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null >= 0; fd++) dup2(null, fd);
  if (null > 2) close(null);
  M.fg_detached = 1;
}

static void fg_detach(void) {
  fg_release();
  to_node("detached");
}

/* Our stdin to the pty, watching for the detach keys. Returns 0 when the relay is over. */
static int relay_stdin(struct tsd_escape *esc) {
  char buf[4096], out[4096 + 16];
  size_t o;
  ssize_t r = read(0, buf, sizeof buf);
  if (r < 0 && errno == EINTR) return 1;
  if (r <= 0) return 0;
  int det = tsd_escape_feed(esc, buf, (size_t)r, out, &o);
  if (o) tsd_write_all(M.master, out, o);
  if (det) fg_detach();
  return !det;
}

/* Relay and log until the container exits. */
static void run_loop(int *status, int *sig) {
  int relay_in = M.master >= 0 && (M.logfd < 0 || M.spec.log_tee) && M.spec.stdin_open;
  int raw = relay_in && isatty(0) && tsd_raw_mode(0) == 0;
  (void)raw;
  unsigned char keys[16];
  struct tsd_escape esc;
  tsd_escape_init(&esc, keys, sizeof keys, M.spec.detach_keys);
  struct tsd_attach_io io = {.in = M.master >= 0 ? M.master : M.in, .close_stdin = close_stdin, .resize = resize};
  while (1) {
    struct pollfd p[6 + 40];
    int n = 0, inode = -1, isig, imaster = -1, iout = -1, ierr = -1, iin = -1;
    isig = n; p[n++] = (struct pollfd){M.sigfd, POLLIN, 0};
    if (!M.node_gone) { inode = n; p[n++] = (struct pollfd){NODE_FD, POLLIN, 0}; }
    if (M.master >= 0) { imaster = n; p[n++] = (struct pollfd){M.master, POLLIN, 0}; }
    if (M.out >= 0) { iout = n; p[n++] = (struct pollfd){M.out, POLLIN, 0}; }
    if (M.err >= 0) { ierr = n; p[n++] = (struct pollfd){M.err, POLLIN, 0}; }
    if (relay_in) { iin = n; p[n++] = (struct pollfd){0, POLLIN, 0}; }
    int iatt = n;
    n += tsd_attach_pollfds(p + n);
    int pr = poll(p, (nfds_t)n, tsd_health_timeout(&M.spec, tsd_supervise_timeout(&M.spec)));
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    tsd_supervise_check(&M.spec);
    tsd_health_check(&M.spec);
    if (pr == 0) continue;
    if (inode >= 0 && p[inode].revents && read_node() < 0 && (M.spec.log_tee || relay_in)) {
      fg_release(); /* the CLI is gone (run -d never had our terminal) */
      relay_in = 0;
    }
    tsd_attach_handle(p + iatt, n - iatt, &io); /* first: a client attached before `go` gets the first output */
    if (imaster >= 0 && p[imaster].revents && !pump(M.master, &M.lout)) {
      /* EIO: every slave is closed; keep the master until exit so the child never sees a hangup from us */
      drain(&M.master, &M.lout);
    }
    if (iout >= 0 && p[iout].revents && !pump(M.out, &M.lout)) drain(&M.out, &M.lout);
    if (ierr >= 0 && p[ierr].revents && !pump(M.err, &M.lerr)) drain(&M.err, &M.lerr);
    if (iin >= 0 && p[iin].revents) relay_in = relay_stdin(&esc);
    if (p[isig].revents && handle_signals(status, sig)) break;
  }
  drain(&M.master, &M.lout);
  drain(&M.out, &M.lout);
  drain(&M.err, &M.lerr);
  tsd_restore_mode();
}

__attribute__((noreturn)) static void run_hook(void) {
  tsd_restore_mode();
  if (M.spec.nhook == 0 || tsd_cleanup_claimed()) _exit(0);
  syscall(SYS_close_range, 3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvp(M.spec.hook[0], (char *const *)M.spec.hook);
  _exit(125);
}

int main(int argc, char **argv) {
  struct tsd_error e = {0};
  struct tsd_child_ctx c = {.spec = &M.spec, .fifo_fd = -1};
  prctl(PR_SET_NAME, "tsd-monitor", 0, 0, 0);
  /* no process in a container may open us through /proc (CVE-2019-5736) */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  if (argc != 3 || (strcmp(argv[1], "run") && strcmp(argv[1], "exec"))) {
    tsd_fail(&e, 125, EINVAL, "usage: tsdocker-monitor run|exec <spec-file>");
    fail_early(&e);
  }
  M.exec_mode = !strcmp(argv[1], "exec");
  c.exec_mode = M.exec_mode;
  if (tsd_spec_load(argv[2], &M.spec, &e) < 0) fail_early(&e);
  tsd_claim_init(argv[2]);
  /* never pin Node's working directory (it may be a mount someone wants to unmount) */
  if (chdir("/") < 0) { tsd_fail(&e, 125, errno, "chdir /: %s", tsd_errname(errno)); fail_early(&e); }
  if (M.spec.fifo && !M.exec_mode && (c.fifo_fd = open(M.spec.fifo, O_PATH | O_CLOEXEC)) < 0) {
    tsd_fail(&e, 125, errno, "open %s: %s", M.spec.fifo, tsd_errname(errno));
    fail_early(&e);
  }
  if (M.spec.seccomp && tsd_seccomp_prepare(M.spec.seccomp, M.spec.seccomp_cache, &c.seccomp, &e) < 0) fail_early(&e);
  if (prealloc_exit_record(&e) < 0 || open_joins(&c, &e) < 0 || prepare_stdio(&c, &e) < 0 || block_signals(&e) < 0) fail_early(&e);
  if (M.spec.attach && !M.exec_mode && tsd_attach_listen(M.spec.attach, &e) < 0) fail_early(&e);
  M.child = start_child(&c, &e);
  if (M.child < 0) fail_early(&e);
  /* what only the child needed */
  for (int i = 0; i < M.spec.njoins; i++) if (c.join_fds[i] >= 0) close(c.join_fds[i]);
  if (c.stdio[0] > 2) close(c.stdio[0]);
  if (M.out >= 0) { close(c.stdio[1]); close(c.stdio[2]); }
  tsd_seccomp_free(c.seccomp);
  if (join_cgroups(M.child, &e) < 0) {
    drop_exit_record();
    child_failed(&e);
  }
  to_node("pid %d", M.child);
  wait_go();
  if (tsd_proxy6_prepare(&M.spec, &e) < 0) child_failed(&e);
  await_exec();
  tsd_proxy6_start();
  struct timespec t0, t1; /* how long it ran: the restart back-off resets after 10 s */
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int status = 0, sig = 0;
  run_loop(&status, &sig);
  tsd_health_stop();
  tsd_proxy6_stop();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  write_exit_record(status, sig);
  tsd_attach_finish(status);
  to_node("exit %d", status);
  tsd_attach_linger();
  if (M.logfd >= 0) close(M.logfd);
  while (!M.node_gone && !M.acked) read_node();
  if (M.acked) _exit(0);
  tsd_restart_after_exit(&M.spec, status, (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000);
  run_hook();
}
