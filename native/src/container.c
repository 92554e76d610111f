/*
 * The container's first process between clone and execve. It waits for `go`, builds the
 * container (mounts, pivot_root, hostname, lo, pty, cwd), changes credentials, arranges
 * to die with the monitor, closes every inherited descriptor, installs seccomp and execs.
 * Any failure is sent to the monitor as a struct tsd_msg and the child exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

__attribute__((noreturn)) static void die(struct tsd_child_ctx *c, struct tsd_error *e) {
  struct tsd_msg m = {.type = TSD_MSG_ERROR, .e = *e};
  (void)!send(c->sync, &m, sizeof m, MSG_NOSIGNAL);
  _exit(e->code ? e->code : 125);
}

static int join_namespaces(struct tsd_child_ctx *c, struct tsd_error *err) {
  for (int i = 0; i < c->spec->njoins; i++) {
    if (c->join_fds[i] < 0) continue; /* pid: joined by the monitor for its children */
    if (setns(c->join_fds[i], c->spec->joins[i].nstype) < 0)
      return tsd_fail(err, 125, errno, "setns %s: %s", c->spec->joins[i].path, tsd_errname(errno));
    close(c->join_fds[i]);
  }
  return 0;
}

static int lo_up(struct tsd_error *err) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return tsd_fail(err, 125, errno, "socket for lo: %s", tsd_errname(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  int r = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (r == 0) {
    ifr.ifr_flags |= IFF_UP;
    r = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  close(s);
  if (r < 0) return tsd_fail(err, 125, e, "bring lo up: %s", tsd_errname(e));
  return 0;
}

static int last_cap(void) {
  int last = CAP_LAST_CAP;
  /* the running kernel may know more (or fewer) than our headers */
  while (prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) last++;
  while (last > 0 && prctl(PR_CAPBSET_READ, last, 0, 0, 0) < 0) last--;
  return last;
}

/* OCI: the five capability sets as given (bounding, effective, inheritable, permitted, ambient) */
static int set_caps5(const struct tsd_spec *sp, struct tsd_error *err) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  const uint64_t *m = sp->caps5;
  for (int i = 0; i < 2; i++) {
    d[i].effective = (uint32_t)(m[1] >> (32 * i));
    d[i].inheritable = (uint32_t)(m[2] >> (32 * i));
    d[i].permitted = (uint32_t)(m[3] >> (32 * i));
  }
  if (syscall(SYS_capset, &h, d) < 0) return tsd_fail(err, 125, errno, "capset: %s", tsd_errname(errno));
  /* an ambient capability needs to be permitted and inheritable too; runc skips one that is
     not (its own `runc spec` lists ambient without inheritable), and so do we */
  for (int cap = 0; cap < 64; cap++)
    if (m[4] & (1ULL << cap)) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  return 0;
}

static int set_creds(const struct tsd_spec *sp, struct tsd_error *err) {
  if (sp->has_caps5) {
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++)
      if (!(sp->caps5[0] & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
        return tsd_fail(err, 125, errno, "drop capability %d from the bounding set: %s", cap, tsd_errname(errno));
  } else if (sp->has_caps) {
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++)
      if (!(sp->caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
        return tsd_fail(err, 125, errno, "drop capability %d from the bounding set: %s", cap, tsd_errname(errno));
  }
  uid_t uid = sp->has_user ? sp->uid : 0;
  gid_t gid = sp->has_user ? sp->gid : 0;
  if (setgroups((size_t)sp->ngroups, sp->groups) < 0) return tsd_fail(err, 125, errno, "setgroups: %s", tsd_errname(errno));
  if (setresgid(gid, gid, gid) < 0) return tsd_fail(err, 125, errno, "setresgid %u: %s", gid, tsd_errname(errno));
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return tsd_fail(err, 125, errno, "keepcaps: %s", tsd_errname(errno));
  if (setresuid(uid, uid, uid) < 0) return tsd_fail(err, 125, errno, "setresuid %u: %s", uid, tsd_errname(errno));
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (sp->has_caps5) return set_caps5(sp, err);
  if (sp->has_caps) {
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    uint64_t eff = uid == 0 ? sp->caps : 0;
    /* inheritable stays empty, as Docker does since CVE-2022-24769 (file inheritable caps
       must not turn into permitted ones on exec) */
    d[0].permitted = (uint32_t)sp->caps;
    d[1].permitted = (uint32_t)(sp->caps >> 32);
    d[0].inheritable = d[1].inheritable = 0;
    d[0].effective = (uint32_t)eff;
    d[1].effective = (uint32_t)(eff >> 32);
    if (syscall(SYS_capset, &h, d) < 0) return tsd_fail(err, 125, errno, "capset: %s", tsd_errname(errno));
  }
  return 0;
}

static int set_limits(const struct tsd_spec *sp, struct tsd_error *err) {
  for (int i = 0; i < sp->nrlimits; i++) {
    const struct tsd_rlimit *l = &sp->rlimits[i];
    struct rlimit rl = {l->soft < 0 ? RLIM_INFINITY : (rlim_t)l->soft, l->hard < 0 ? RLIM_INFINITY : (rlim_t)l->hard};
    if (setrlimit(l->resource, &rl) < 0) return tsd_fail(err, 125, errno, "setrlimit %d: %s", l->resource, tsd_errname(errno));
  }
  if (sp->oom_score_adj) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || tsd_write_all(fd, sp->oom_score_adj, strlen(sp->oom_score_adj)) < 0) {
      int e = errno;
      if (fd >= 0) close(fd);
      return tsd_fail(err, 125, e, "write oom_score_adj %s: %s", sp->oom_score_adj, tsd_errname(e));
    }
    close(fd);
  }
  return 0;
}

static const char *env_get(const char *const *env, const char *name) {
  size_t n = strlen(name);
  const char *v = NULL;
  for (; *env; env++)
    if (!strncmp(*env, name, n) && (*env)[n] == '=') v = *env + n + 1;
  return v;
}

/* Find argv[0] the way Go's exec.LookPath does (Docker's messages), inside the container. */
static int look_path(const char *name, const char *const *env, char *out, size_t outlen, struct tsd_error *err) {
  if (strchr(name, '/')) {
    struct stat st;
    if (stat(name, &st) < 0)
      return tsd_fail(err, errno == ENOENT || errno == ENOTDIR ? 127 : 126, errno, "exec \"%s\": stat %s: %s", name, name, tsd_errname(errno));
    if (S_ISDIR(st.st_mode)) return tsd_fail(err, 126, EISDIR, "exec \"%s\": is a directory", name);
    if (access(name, X_OK) < 0) return tsd_fail(err, 126, errno, "exec \"%s\": permission denied", name);
    snprintf(out, outlen, "%s", name);
    return 0;
  }
  const char *path = env_get(env, "PATH");
  if (!path) path = DEFAULT_PATH;
  int denied = 0;
  while (1) {
    const char *colon = strchrnul(path, ':');
    int dlen = (int)(colon - path);
    snprintf(out, outlen, "%.*s/%s", dlen ? dlen : 1, dlen ? path : ".", name);
    struct stat st;
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(out, X_OK) == 0) return 0;
      denied = 1;
    }
    if (!*colon) break;
    path = colon + 1;
  }
  if (denied) return tsd_fail(err, 126, EACCES, "exec \"%s\": permission denied", name);
  return tsd_fail(err, 127, ENOENT, "exec \"%s\": executable file not found in $PATH", name);
}

/* close_range, or one close at a time when a seccomp profile refuses close_range */
static int close_from(unsigned lo, unsigned hi) {
  if (lo > hi) return 0;
  if (syscall(SYS_close_range, lo, hi, 0) == 0) return 0;
  if (errno != EPERM && errno != ENOSYS) return -1;
  struct rlimit rl;
  unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20 ? (unsigned)rl.rlim_cur : 1u << 20;
  for (unsigned fd = lo; fd <= hi && fd < top; fd++) close((int)fd);
  return 0;
}

static int close_fds(int keep, struct tsd_error *err) {
  /* CVE-2024-21626: nothing of ours but 0, 1, 2 may reach the container */
  if (keep > 3 && close_from(3, (unsigned)keep - 1) < 0) return tsd_fail(err, 125, errno, "close_range: %s", tsd_errname(errno));
  if (close_from((unsigned)keep + 1, ~0U) < 0) return tsd_fail(err, 125, errno, "close_range: %s", tsd_errname(errno));
  return 0; /* `keep` (the sync socket) is close-on-exec */
}

static int setup_stdio(struct tsd_child_ctx *c, struct tsd_error *err) {
  const struct tsd_spec *sp = c->spec;
  if (sp->tty) {
    int m, s;
    int r = tsd_pty_open_in_container(&m, &s, err);
    if (r < 0) return r;
    if ((r = tsd_send_fd(c->sync, m, err)) < 0) return r;
    close(m);
    if (ioctl(s, TIOCSCTTY, 0) < 0) return tsd_fail(err, 125, errno, "set controlling terminal: %s", tsd_errname(errno));
    for (int i = 0; i < 3; i++)
      if (dup2(s, i) < 0) return tsd_fail(err, 125, errno, "dup2 pty: %s", tsd_errname(errno));
    if (s > 2) close(s);
    return 0;
  }
  for (int i = 0; i < 3; i++)
    if (c->stdio[i] >= 0 && c->stdio[i] != i && dup2(c->stdio[i], i) < 0)
      return tsd_fail(err, 125, errno, "dup2 stdio: %s", tsd_errname(errno));
  return 0;
}

/* sysctls in the container's own namespaces, through its /proc (after pivot_root) */
static int set_sysctls(const struct tsd_spec *sp, struct tsd_error *err) {
  for (int i = 0; i < sp->nsysctls; i++) {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "/proc/sys/%s", sp->sysctls[i].key);
    if (n >= (int)sizeof path) return tsd_fail(err, 125, ENAMETOOLONG, "sysctl %s: name too long", sp->sysctls[i].key);
    for (char *p = path + 10; *p; p++) if (*p == '.') *p = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    const char *v = sp->sysctls[i].value;
    if (fd < 0 || tsd_write_all(fd, v, strlen(v)) < 0) {
      int e = errno;
      if (fd >= 0) close(fd);
      return tsd_fail(err, 125, e, "sysctl %s=%s: %s", sp->sysctls[i].key, v, tsd_errname(e));
    }
    close(fd);
  }
  return 0;
}

/*
 * OCI create: everything is ready. Tell the monitor (it reports `ok` and leaves, so we
 * belong to the caller's subreaper), keep only the FIFO handle and a handle on our own
 * /proc/self/fd (opened before pivot_root, so no /proc in the image is needed), and block
 * opening the FIFO for writing until `start` opens it for reading.
 */
static void wait_start(struct tsd_child_ctx *c, int procfd, struct tsd_error *e) {
  int a = fcntl(procfd, F_DUPFD_CLOEXEC, 1000), b = fcntl(c->fifo_fd, F_DUPFD_CLOEXEC, 1000);
  if (a < 0 || b < 0) { tsd_fail(e, 125, errno, "dup: %s", tsd_errname(errno)); die(c, e); }
  if (dup3(a, 3, O_CLOEXEC) < 0 || dup3(b, 4, O_CLOEXEC) < 0) { tsd_fail(e, 125, errno, "dup3: %s", tsd_errname(errno)); die(c, e); }
  struct tsd_msg m = {.type = TSD_MSG_READY};
  if (send(c->sync, &m, sizeof m, MSG_NOSIGNAL) < 0) _exit(125);
  /* CVE-2024-21626: nothing of ours but 0, 1, 2 may reach the container (3 and 4 are close-on-exec) */
  if (close_from(5, ~0U) < 0) _exit(125);
  int w;
  do { w = openat(3, "4", O_WRONLY | O_CLOEXEC); } while (w < 0 && errno == EINTR);
  if (w < 0 || write(w, "0", 1) != 1) _exit(125);
  close(w);
  close(4);
  close(3);
}

static int in_new_userns(const struct tsd_child_ctx *c) {
  if (!c->exec_mode && (c->spec->clone_flags & CLONE_NEWUSER)) return 1;
  for (int i = 0; i < c->spec->njoins; i++)
    if (c->spec->joins[i].nstype == CLONE_NEWUSER) return 1;
  return 0;
}

/* `go`: one packet, "g" and then one `IFNAME IP PREFIX GATEWAY|-` line per interface to configure */
static char go_pkt[512];

static void wait_go(struct tsd_child_ctx *c) {
  ssize_t n;
  do { n = read(c->sync, go_pkt, sizeof go_pkt - 1); } while (n < 0 && errno == EINTR);
  if (n < 1 || go_pkt[0] != 'g') _exit(125); /* the monitor gave up */
  go_pkt[n] = 0;
}

static int inet_ioctl(int s, unsigned long req, const char *ifname, uint32_t addr, struct tsd_error *err, const char *what) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = addr;
  if (ioctl(s, req, &ifr) < 0) return tsd_fail(err, 125, errno, "%s %s: %s", what, ifname, tsd_errname(errno));
  return 0;
}

/*
 * The container's side of its veth, in its own namespace before exec (no nsenter, no `ip`):
 * address and netmask, up, default route. Node sent the lease before `go`; the host side
 * and the port binding exist already.
 */
static int config_netifs(struct tsd_error *err) {
  char *save = NULL;
  for (char *l = strtok_r(go_pkt + 1, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char ifname[IFNAMSIZ], ip[16], gw[16];
    unsigned prefix;
    struct in_addr a, g;
    if (sscanf(l, "%15s %15s %u %15s", ifname, ip, &prefix, gw) != 4 || prefix > 32 || inet_pton(AF_INET, ip, &a) != 1)
      return tsd_fail(err, 125, EINVAL, "netif: bad line \"%s\"", l);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return tsd_fail(err, 125, errno, "socket for %s: %s", ifname, tsd_errname(errno));
    uint32_t mask = prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
    int r = inet_ioctl(s, SIOCSIFADDR, ifname, a.s_addr, err, "set address of");
    if (!r) r = inet_ioctl(s, SIOCSIFNETMASK, ifname, mask, err, "set netmask of");
    if (!r) r = inet_ioctl(s, SIOCSIFBRDADDR, ifname, a.s_addr | ~mask, err, "set broadcast of");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    if (!r && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
      ifr.ifr_flags |= IFF_UP;
      if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) r = tsd_fail(err, 125, errno, "bring %s up: %s", ifname, tsd_errname(errno));
    } else if (!r) r = tsd_fail(err, 125, errno, "flags of %s: %s", ifname, tsd_errname(errno));
    if (!r && strcmp(gw, "-")) {
      struct rtentry rt;
      memset(&rt, 0, sizeof rt);
      if (inet_pton(AF_INET, gw, &g) != 1) r = tsd_fail(err, 125, EINVAL, "netif: bad gateway %s", gw);
      else {
        ((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
        ((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
        struct sockaddr_in *gwa = (struct sockaddr_in *)&rt.rt_gateway;
        gwa->sin_family = AF_INET;
        gwa->sin_addr = g;
        rt.rt_flags = RTF_UP | RTF_GATEWAY;
        rt.rt_dev = ifname;
        if (ioctl(s, SIOCADDRT, &rt) < 0) r = tsd_fail(err, 125, errno, "default route via %s: %s", gw, tsd_errname(errno));
      }
    }
    close(s);
    if (r < 0) return r;
  }
  return 0;
}

void tsd_child_main(struct tsd_child_ctx *c) {
  const struct tsd_spec *sp = c->spec;
  struct tsd_error e = {0};
  char exe[PATH_MAX];
  prctl(PR_SET_NAME, "tsd-init", 0, 0, 0);
  /* signals: what the monitor changed goes back to the default. Only SIGPIPE: tsd_spawn
   * (ffi.c) reset every disposition before it exec'd the monitor, which then ignores SIGPIPE
   * and blocks the rest for its signalfd (64 sigactions here were 64 syscalls per start);
   * nothing stays blocked */
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (!sp->orphan && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(125);
  c->ppid = getppid(); /* 0 in a new pid namespace; the sync socket tells us about the monitor */
  wait_go(c);
  umask(0);
  if (join_namespaces(c, &e) < 0) die(c, &e);
  if (in_new_userns(c) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
    /* the ids are mapped now (Node wrote the maps before `go`): act as the namespace's root */
    tsd_fail(&e, 125, errno, "become root of the user namespace (are uid/gid 0 mapped?): %s", tsd_errname(errno));
    die(c, &e);
  }
  if (!c->exec_mode && (sp->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
    tsd_fail(&e, 125, errno, "unshare cgroup namespace: %s", tsd_errname(errno));
    die(c, &e);
  }
  if (setsid() < 0) { tsd_fail(&e, 125, errno, "setsid: %s", tsd_errname(errno)); die(c, &e); }
  int procfd = -1;
  if (c->fifo_fd >= 0 && (procfd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    tsd_fail(&e, 125, errno, "open /proc/self/fd: %s", tsd_errname(errno));
    die(c, &e);
  }
  if (!c->exec_mode) {
    if (tsd_setup_rootfs(sp, &e) < 0) die(c, &e);
    if (set_sysctls(sp, &e) < 0) die(c, &e);
  }
  int cwdfd = tsd_open_cwd(sp->cwd, !c->exec_mode, &e);
  if (cwdfd < 0) die(c, &e);
  if (!c->exec_mode) {
    if (tsd_finish_rootfs(sp, &e) < 0) die(c, &e);
    if (sp->hostname && sethostname(sp->hostname, strlen(sp->hostname)) < 0) {
      tsd_fail(&e, 125, errno, "sethostname %s: %s", sp->hostname, tsd_errname(errno));
      die(c, &e);
    }
    if (sp->domainname && setdomainname(sp->domainname, strlen(sp->domainname)) < 0) {
      tsd_fail(&e, 125, errno, "setdomainname %s: %s", sp->domainname, tsd_errname(errno));
      die(c, &e);
    }
    if (sp->lo && lo_up(&e) < 0) die(c, &e);
    if (config_netifs(&e) < 0) die(c, &e);
  }
  if (setup_stdio(c, &e) < 0) die(c, &e);
  if (set_limits(sp, &e) < 0) die(c, &e);
  /* without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we have it (runc does the same) */
  if (c->seccomp && !sp->nnp && tsd_seccomp_load(c->seccomp, &e) < 0) die(c, &e);
  if (set_creds(sp, &e) < 0) die(c, &e);
  if (tsd_enter_cwd(cwdfd, sp->cwd, &e) < 0) die(c, &e);
  if (sp->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    tsd_fail(&e, 125, errno, "no_new_privs: %s", tsd_errname(errno));
    die(c, &e);
  }
  /* the credential change cleared the death signal: set it again, then make sure the
     monitor did not die in between */
  if (!sp->orphan) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(125);
    struct pollfd pf = {c->sync, POLLIN, 0};
    if (getppid() != c->ppid || (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLHUP | POLLIN)))) _exit(125);
  }
  umask(sp->has_umask ? (mode_t)sp->umask_val : 022);
  if (look_path(sp->argv[0], sp->env, exe, sizeof exe, &e) < 0) die(c, &e);
  if (c->fifo_fd >= 0) wait_start(c, procfd, &e);
  else if (close_fds(c->sync, &e) < 0) die(c, &e);
  if (c->seccomp && sp->nnp && tsd_seccomp_load(c->seccomp, &e) < 0) die(c, &e);
  execve(exe, (char *const *)sp->argv, (char *const *)sp->env);
  int er = errno;
  if (c->fifo_fd >= 0) {
    /* after `start` nobody listens on the sync socket: say it on stderr, as runc does */
    dprintf(2, "exec \"%s\": %s\n", sp->argv[0], tsd_errname(er));
    _exit(er == ENOENT ? 127 : 126);
  }
  tsd_fail(&e, er == ENOENT ? 127 : 126, er, "exec \"%s\": %s", sp->argv[0], er == EACCES ? "permission denied" : tsd_errname(er));
  die(c, &e);
}
