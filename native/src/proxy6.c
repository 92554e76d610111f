/*
 * Published ports over IPv6 (spec key `proxy6 <file>`). Containers have IPv4 only, so the
 * host's IPv6 side of a published TCP port cannot be DNAT'ed to them; Docker 20.10 relays
 * it through its userland proxy. Here the monitor does the same with nothing resident of
 * its own: when `go` arrives it reads the file Node wrote meanwhile (lines
 * `tcp <host IPv6> <host port> <container IPv4> <container port>`; a missing file means no
 * such port) and binds every listener (IPV6_V6ONLY: IPv4 stays with the DNAT rules), so a
 * port that cannot be bound fails the start; once the container runs it forks one relay
 * process (`tsd-proxy6`) that accepts and forks one child per connection, copying bytes both
 * ways with half-close. The relay and its children die with the monitor (PDEATHSIG), and the
 * monitor kills the relay the moment the container exits, before its exit hook tears down
 * the rest. The container sees connections from its gateway, as behind Docker's proxy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

#define PROXY_MAX 64
#define FD_BASE 1000 /* the relay moves its listeners here before closing everything else */

static int listeners[PROXY_MAX];
static struct sockaddr_in targets[PROXY_MAX];
static int nproxy;
static int relay_pidfd = -1; /* a pidfd: the monitor reaps any child, so a bare pid could be reused */

static int add_rule(const char *host, int hport, const char *ip4, int cport, struct tsd_error *e) {
  if (nproxy >= PROXY_MAX) return tsd_fail(e, 125, E2BIG, "proxy6: more than %d ports", PROXY_MAX);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)hport)};
  struct sockaddr_in *t = &targets[nproxy];
  *t = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)cport)};
  if (inet_pton(AF_INET6, host, &a.sin6_addr) != 1 || inet_pton(AF_INET, ip4, &t->sin_addr) != 1 || hport < 1 || hport > 65535)
    return tsd_fail(e, 125, EINVAL, "proxy6: bad rule %s %d %s %d", host, hport, ip4, cport);
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tsd_fail(e, 125, errno, "Error starting userland proxy: listen tcp6 [%s]:%d: socket: %s", host, hport, tsd_errname(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
    int err = errno;
    close(fd);
    return tsd_fail(e, 125, err, "Error starting userland proxy: listen tcp6 [%s]:%d: bind: %s", host, hport, tsd_errname(err));
  }
  listeners[nproxy++] = fd;
  return 0;
}

int tsd_proxy6_prepare(const struct tsd_spec *sp, struct tsd_error *e) {
  if (!sp->proxy6) return 0;
  int fd = open(sp->proxy6, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : tsd_fail(e, 125, errno, "open %s: %s", sp->proxy6, tsd_errname(errno));
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) return tsd_fail(e, 125, errno, "read %s: %s", sp->proxy6, tsd_errname(errno));
  buf[n] = 0;
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    char host[64], ip4[32];
    int hport, cport;
    if (sscanf(line, "tcp %63s %d %31s %d", host, &hport, ip4, &cport) != 4)
      return tsd_fail(e, 125, EINVAL, "%s: bad line \"%.80s\"", sp->proxy6, line);
    int r = add_rule(host, hport, ip4, cport, e);
    if (r < 0) return r;
  }
  return 0;
}

/* Copy both ways until both sides have closed; a side's EOF half-closes the other. */
__attribute__((noreturn)) static void relay(int a, int b) {
  char buf[65536];
  int open_in[2] = {1, 1};
  int fds[2] = {a, b};
  while (open_in[0] || open_in[1]) {
    struct pollfd p[2];
    int n = 0, which[2];
    for (int i = 0; i < 2; i++) if (open_in[i]) { which[n] = i; p[n++] = (struct pollfd){fds[i], POLLIN, 0}; }
    if (poll(p, (nfds_t)n, -1) < 0) { if (errno == EINTR) continue; _exit(1); }
    for (int k = 0; k < n; k++) {
      if (!p[k].revents) continue;
      int i = which[k];
      ssize_t r = read(fds[i], buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) { open_in[i] = 0; shutdown(fds[1 - i], SHUT_WR); continue; }
      if (tsd_write_all(fds[1 - i], buf, (size_t)r) < 0) _exit(1);
    }
  }
  _exit(0);
}

static void connection(int c, const struct sockaddr_in *to) {
  pid_t pid = fork();
  if (pid != 0) return; /* the relay goes on accepting; SIGCHLD is ignored, so no zombies */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  for (int i = 0; i < nproxy; i++) close(FD_BASE + i);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect(s, (const struct sockaddr *)to, sizeof *to) < 0) _exit(1); /* closing c resets the client */
  relay(c, s);
}

__attribute__((noreturn)) static void relay_main(pid_t monitor) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != monitor) _exit(0);
  prctl(PR_SET_NAME, "tsd-proxy6", 0, 0, 0);
  for (int i = 0; i < nproxy; i++) if (fcntl(listeners[i], F_DUPFD_CLOEXEC, FD_BASE + i) != FD_BASE + i) _exit(125);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
  syscall(SYS_close_range, 3, FD_BASE - 1, 0);
  syscall(SYS_close_range, FD_BASE + nproxy, ~0U, 0);
  signal(SIGCHLD, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct pollfd p[PROXY_MAX];
  for (int i = 0; i < nproxy; i++) p[i] = (struct pollfd){FD_BASE + i, POLLIN, 0};
  while (1) {
    if (poll(p, (nfds_t)nproxy, -1) < 0) { if (errno == EINTR) continue; _exit(1); }
    for (int i = 0; i < nproxy; i++) {
      if (!p[i].revents) continue;
      int c = accept4(FD_BASE + i, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) continue;
      connection(c, &targets[i]);
      close(c);
    }
  }
}

void tsd_proxy6_start(void) {
  if (nproxy == 0) return;
  pid_t self = getpid();
  pid_t pid = fork();
  if (pid == 0) relay_main(self);
  /* a failed fork leaves the IPv6 side unserved; IPv4 is unaffected */
  if (pid > 0) relay_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  for (int i = 0; i < nproxy; i++) close(listeners[i]);
}

void tsd_proxy6_stop(void) {
  if (relay_pidfd < 0) return;
  syscall(SYS_pidfd_send_signal, relay_pidfd, SIGKILL, NULL, 0);
  siginfo_t si;
  while (waitid(P_PIDFD, (id_t)relay_pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR) {}
  close(relay_pidfd);
  relay_pidfd = -1;
}
