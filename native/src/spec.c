/*
 * The spec file (PROTOCOL.md): NUL-terminated strings, a key then its fields. Read once;
 * every string in struct tsd_spec points into the file buffer. Unknown keys are errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor.h"

struct cursor {
  char *p, *end;
};

static const char *next(struct cursor *c) {
  if (c->p >= c->end) return NULL;
  char *s = c->p;
  char *z = memchr(s, 0, (size_t)(c->end - s));
  if (!z) return NULL;
  c->p = z + 1;
  return s;
}

static int num(const char *s, long long *out) {
  char *e;
  if (!s || !*s) return -1;
  errno = 0;
  long long v = strtoll(s, &e, 10);
  if (errno || *e) return -1;
  *out = v;
  return 0;
}

static int nstype(const char *s) {
  static const struct { const char *n; int t; } map[] = {
      {"net", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
      {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}, {"cgroup", CLONE_NEWCGROUP}, {"user", CLONE_NEWUSER},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(s, map[i].n)) return map[i].t;
  return 0;
}

static int read_file(const char *path, char **out, size_t *len, struct tsd_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tsd_fail(err, 125, errno, "open spec %s: %s", path, tsd_errname(errno));
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size > (1 << 22)) {
    close(fd);
    return tsd_fail(err, 125, EFBIG, "spec %s: too large", path);
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (!buf || got != (size_t)st.st_size) {
    free(buf);
    return tsd_fail(err, 125, EIO, "read spec %s: short read", path);
  }
  buf[got] = 0;
  *out = buf;
  *len = got;
  return 0;
}

#define NEED(n)                                                                  \
  do {                                                                           \
    for (int i_ = 0; i_ < (n); i_++)                                             \
      if (!(f[i_] = next(&c))) return tsd_fail(err, 125, EINVAL, "spec: key %s needs %d fields", key, (n)); \
  } while (0)
#define ROOM(count, arr) \
  if ((size_t)(count) >= sizeof(arr) / sizeof((arr)[0]) - 0) return tsd_fail(err, 125, E2BIG, "spec: too many %s entries", key)
#define NUM(s, out)                                                               \
  do {                                                                            \
    if (num((s), &v_) < 0) return tsd_fail(err, 125, EINVAL, "spec: %s: bad number \"%s\"", key, (s)); \
    (out) = v_;                                                                   \
  } while (0)

static int parse_groups(const char *s, struct tsd_spec *sp, struct tsd_error *err) {
  const char *key = "user";
  while (*s) {
    char *e;
    errno = 0;
    unsigned long g = strtoul(s, &e, 10);
    if (errno || e == s || (*e && *e != ',')) return tsd_fail(err, 125, EINVAL, "spec: %s: bad groups", key);
    if (sp->ngroups >= 64) return tsd_fail(err, 125, E2BIG, "spec: too many groups");
    sp->groups[sp->ngroups++] = (gid_t)g;
    s = *e ? e + 1 : e;
  }
  return 0;
}

int tsd_spec_load(const char *path, struct tsd_spec *sp, struct tsd_error *err) {
  size_t len = 0;
  int r = read_file(path, &sp->buf, &len, err);
  if (r < 0) return r;
  struct cursor c = {sp->buf, sp->buf + len};
  const char *f[6];
  long long v_;
  sp->lo = 0;
  const char *key = next(&c);
  if (!key || strcmp(key, "version") || !(f[0] = next(&c)) || strcmp(f[0], "1"))
    return tsd_fail(err, 125, EINVAL, "spec %s: must start with version 1", path);
  while ((key = next(&c))) {
    if (!strcmp(key, "id")) { NEED(1); sp->id = f[0]; }
    else if (!strcmp(key, "clone")) { NEED(1); NUM(f[0], sp->clone_flags); }
    else if (!strcmp(key, "join")) {
      NEED(2);
      ROOM(sp->njoins, sp->joins);
      int t = nstype(f[0]);
      if (!t) return tsd_fail(err, 125, EINVAL, "spec: join: unknown namespace type \"%s\"", f[0]);
      sp->joins[sp->njoins++] = (struct tsd_join){t, f[1]};
    }
    else if (!strcmp(key, "rootfs")) { NEED(1); sp->rootfs = f[0]; }
    else if (!strcmp(key, "overlay")) { NEED(3); sp->ovl_lower = f[0]; sp->ovl_upper = f[1]; sp->ovl_work = f[2]; }
    else if (!strcmp(key, "mount")) {
      NEED(5);
      ROOM(sp->nmounts, sp->mounts);
      struct tsd_mount *m = &sp->mounts[sp->nmounts++];
      m->src = f[0]; m->dst = f[1]; m->fstype = f[2]; m->data = f[4];
      NUM(f[3], m->flags);
    }
    else if (!strcmp(key, "device")) {
      NEED(4);
      ROOM(sp->ndevices, sp->devices);
      struct tsd_device *d = &sp->devices[sp->ndevices++];
      d->path = f[0];
      NUM(f[1], d->mode); NUM(f[2], d->major); NUM(f[3], d->minor);
    }
    else if (!strcmp(key, "symlink")) {
      NEED(2);
      ROOM(sp->nsymlinks, sp->symlinks);
      sp->symlinks[sp->nsymlinks++] = (struct tsd_symlink){f[0], f[1]};
    }
    else if (!strcmp(key, "rootlink")) {
      NEED(2);
      ROOM(sp->nrootlinks, sp->rootlinks);
      sp->rootlinks[sp->nrootlinks++] = (struct tsd_symlink){f[0], f[1]};
    }
    else if (!strcmp(key, "mask")) { NEED(1); ROOM(sp->nmasks, sp->masks); sp->masks[sp->nmasks++] = f[0]; }
    else if (!strcmp(key, "readonly")) { NEED(1); ROOM(sp->nreadonly, sp->readonly); sp->readonly[sp->nreadonly++] = f[0]; }
    else if (!strcmp(key, "rootfs_ro")) { NEED(1); NUM(f[0], sp->rootfs_ro); }
    else if (!strcmp(key, "hostname")) { NEED(1); sp->hostname = f[0]; }
    else if (!strcmp(key, "domainname")) { NEED(1); sp->domainname = f[0]; }
    else if (!strcmp(key, "lo")) { NEED(1); NUM(f[0], sp->lo); }
    else if (!strcmp(key, "cwd")) { NEED(1); sp->cwd = f[0]; }
    else if (!strcmp(key, "user")) {
      NEED(3);
      NUM(f[0], sp->uid); NUM(f[1], sp->gid);
      sp->ngroups = 0;
      if ((r = parse_groups(f[2], sp, err)) < 0) return r;
      sp->has_user = 1;
    }
    else if (!strcmp(key, "env")) { NEED(1); ROOM(sp->nenv + 1, sp->env); sp->env[sp->nenv++] = f[0]; }
    else if (!strcmp(key, "arg")) { NEED(1); ROOM(sp->nargv + 1, sp->argv); sp->argv[sp->nargv++] = f[0]; }
    else if (!strcmp(key, "caps")) {
      NEED(1);
      char *e;
      errno = 0;
      sp->caps = strtoull(f[0], &e, 16);
      if (errno || e == f[0] || *e) return tsd_fail(err, 125, EINVAL, "spec: caps: bad hex mask \"%s\"", f[0]);
      sp->has_caps = 1;
    }
    else if (!strcmp(key, "nnp")) { NEED(1); NUM(f[0], sp->nnp); }
    else if (!strcmp(key, "rlimit")) {
      NEED(3);
      ROOM(sp->nrlimits, sp->rlimits);
      struct tsd_rlimit *l = &sp->rlimits[sp->nrlimits++];
      NUM(f[0], l->resource); NUM(f[1], l->soft); NUM(f[2], l->hard);
    }
    else if (!strcmp(key, "oom_score_adj")) { NEED(1); NUM(f[0], v_); sp->oom_score_adj = f[0]; }
    else if (!strcmp(key, "seccomp")) { NEED(1); sp->seccomp = f[0]; }
    else if (!strcmp(key, "seccomp_cache")) { NEED(1); sp->seccomp_cache = f[0]; }
    else if (!strcmp(key, "tty")) { NEED(1); NUM(f[0], sp->tty); }
    else if (!strcmp(key, "stdin")) { NEED(1); NUM(f[0], sp->stdin_open); }
    else if (!strcmp(key, "log")) { NEED(1); sp->log = f[0]; }
    else if (!strcmp(key, "logtee")) { NEED(1); NUM(f[0], sp->log_tee); }
    else if (!strcmp(key, "attach")) { NEED(1); sp->attach = f[0]; }
    else if (!strcmp(key, "detach_keys")) { NEED(1); sp->detach_keys = f[0]; }
    else if (!strcmp(key, "exit")) { NEED(1); sp->exit_path = f[0]; }
    else if (!strcmp(key, "exit_nosync")) { NEED(1); NUM(f[0], sp->exit_nosync); }
    else if (!strcmp(key, "hook")) { NEED(1); ROOM(sp->nhook + 1, sp->hook); sp->hook[sp->nhook++] = f[0]; }
    else if (!strcmp(key, "orphan")) { NEED(1); NUM(f[0], sp->orphan); }
    else if (!strcmp(key, "fifo")) { NEED(1); sp->fifo = f[0]; }
    else if (!strcmp(key, "console")) { NEED(1); sp->console = f[0]; }
    else if (!strcmp(key, "caps5")) {
      NEED(5);
      for (int i = 0; i < 5; i++) {
        char *e;
        errno = 0;
        sp->caps5[i] = strtoull(f[i], &e, 16);
        if (errno || e == f[i] || *e) return tsd_fail(err, 125, EINVAL, "spec: caps5: bad hex mask \"%s\"", f[i]);
      }
      sp->has_caps5 = 1;
    }
    else if (!strcmp(key, "umask")) { NEED(1); NUM(f[0], sp->umask_val); sp->has_umask = 1; }
    else if (!strcmp(key, "sysctl")) {
      NEED(2);
      ROOM(sp->nsysctls, sp->sysctls);
      sp->sysctls[sp->nsysctls++] = (struct tsd_sysctl){f[0], f[1]};
    }
    else if (!strcmp(key, "odevice")) {
      NEED(6);
      ROOM(sp->ndevices, sp->devices);
      struct tsd_device *d = &sp->devices[sp->ndevices++];
      d->path = f[0];
      NUM(f[1], d->mode); NUM(f[2], d->major); NUM(f[3], d->minor); NUM(f[4], d->uid); NUM(f[5], d->gid);
      d->owned = 1;
    }
    else if (!strcmp(key, "rootprop")) { NEED(1); NUM(f[0], sp->rootprop); }
    else if (!strcmp(key, "supervise")) {
      NEED(3);
      NUM(f[0], sp->sup_interval);
      if (sp->sup_interval < 100) return tsd_fail(err, 125, EINVAL, "spec: supervise: interval %d ms is too short", sp->sup_interval);
      sp->sup_pidfile = f[1];
      sp->sup_match = f[2];
    }
    else if (!strcmp(key, "supervise_arg")) { NEED(1); ROOM(sp->nsup + 1, sp->sup_argv); sp->sup_argv[sp->nsup++] = f[0]; }
    else if (!strcmp(key, "health")) { NEED(6); memcpy(sp->health, f, sizeof sp->health); }
    else if (!strcmp(key, "cgroup")) { NEED(1); ROOM(sp->ncgroup, sp->cgroup); sp->cgroup[sp->ncgroup++] = f[0]; }
    else if (!strcmp(key, "health_cgroup")) { NEED(1); ROOM(sp->nhealth_cgroup, sp->health_cgroup); sp->health_cgroup[sp->nhealth_cgroup++] = f[0]; }
    else if (!strcmp(key, "restart")) { NEED(6); memcpy(sp->restart, f, sizeof sp->restart); }
    else if (!strcmp(key, "restart_arg")) { NEED(1); ROOM(sp->nrestart_arg + 1, sp->restart_argv); sp->restart_argv[sp->nrestart_arg++] = f[0]; }
    else if (!strcmp(key, "proxy6")) { NEED(1); sp->proxy6 = f[0]; }
    else return tsd_fail(err, 125, EINVAL, "spec: unknown key \"%s\"", key);
  }
  if (c.p != c.end) return tsd_fail(err, 125, EINVAL, "spec: trailing bytes without NUL");
  if (sp->nargv == 0) return tsd_fail(err, 125, EINVAL, "spec: no arg (the command to run)");
  sp->argv[sp->nargv] = NULL;
  sp->env[sp->nenv] = NULL;
  sp->hook[sp->nhook] = NULL;
  sp->sup_argv[sp->nsup] = NULL;
  sp->restart_argv[sp->nrestart_arg] = NULL;
  return 0;
}
