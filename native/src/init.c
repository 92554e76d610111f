/*
 * tsdocker-init: the init `run --init` puts in the container as pid 1, mounted read-only at
 * /sbin/docker-init and run as `/sbin/docker-init -- CMD...`, as Docker does with its
 * tini-based docker-init. Behaviour kept to tini's defaults (Docker passes no options):
 *   - the command runs as a child in a process group of its own, the terminal's foreground
 *     group when stdin is one;
 *   - every signal the init gets is forwarded to the child (the child alone, tini without -g),
 *     except the synchronous ones (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS) which stay fatal, and
 *     TTIN/TTOU which are ignored;
 *   - every process that ends up its child is reaped (orphans re-parented to pid 1);
 *   - it exits with the child's status: its exit code, or 128+n when signal n killed it;
 *     an exec failure is 127 (not found) or 126 (cannot run), with tini's message.
 * Static, single file, no dependency: it runs inside any image (its own binary, not the monitor).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int kept_default[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};

static void fatal(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "[FATAL tini (%d)] ", (int)getpid());
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
}

static pid_t spawn(char **argv, const sigset_t *orig) {
  pid_t pid = fork();
  if (pid < 0) {
    fatal("fork failed: %s%s", strerror(errno), "");
    return -1;
  }
  if (pid > 0) return pid;
  // the child: a group of its own, in the foreground of the terminal if there is one
  if (setpgid(0, 0) < 0) _exit(1);
  if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY && errno != ENXIO && errno != EBADF) {
    fatal("tcsetpgrp failed: %s%s", strerror(errno), "");
    _exit(1);
  }
  signal(SIGTTIN, SIG_DFL);
  signal(SIGTTOU, SIG_DFL);
  sigprocmask(SIG_SETMASK, orig, NULL);
  execvp(argv[0], argv);
  int status = errno == ENOENT ? 127 : errno == EACCES ? 126 : 1;
  fatal("exec %s failed: %s", argv[0], strerror(errno));
  _exit(status);
}

/* Reap every child that has exited; returns the child's status once it is among them. */
static int reap(pid_t child, int *code) {
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p == 0 || (p < 0 && errno == ECHILD)) return 0;
    if (p < 0) {
      if (errno == EINTR) continue;
      fatal("waitpid failed: %s%s", strerror(errno), "");
      return -1;
    }
    if (p != child) continue;
    if (WIFEXITED(st)) *code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) *code = 128 + WTERMSIG(st);
    else continue;
  }
}

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && !strcmp(argv[1], "--")) first = 2;
  else if (argc > 1 && argv[1][0] == '-') {
    fprintf(stderr, "tsdocker-init: unknown option %s\nusage: %s -- PROGRAM [ARGS...]\n", argv[1], argv[0]);
    return 1;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: %s -- PROGRAM [ARGS...]\n", argv[0]);
    return 1;
  }
  // not pid 1 (e.g. run by hand): become the subreaper, so orphans still come to us
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  sigset_t all, orig;
  sigfillset(&all);
  for (size_t i = 0; i < sizeof kept_default / sizeof kept_default[0]; i++) sigdelset(&all, kept_default[i]);
  if (sigprocmask(SIG_SETMASK, &all, &orig) < 0) return 1;
  // ignored in the init, so that the child may take the terminal's foreground
  signal(SIGTTIN, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);

  pid_t child = spawn(argv + first, &orig);
  if (child < 0) return 1;
  int code = -1;
  for (;;) {
    struct timespec ts = {1, 0};
    siginfo_t si;
    int sig = sigtimedwait(&all, &si, &ts);
    if (sig < 0 && errno != EAGAIN && errno != EINTR) {
      fatal("sigtimedwait failed: %s%s", strerror(errno), "");
      return 1;
    }
    if (sig > 0 && sig != SIGCHLD && kill(child, sig) < 0 && errno != ESRCH) {
      fatal("forwarding a signal failed: %s%s", strerror(errno), "");
      return 1;
    }
    if (reap(child, &code) < 0) return 1;
    if (code >= 0) return code;
  }
}
