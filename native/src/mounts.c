/*
 * The container's filesystem, built inside its own mount namespace by the child:
 * rprivate /, overlay (or bind) rootfs, the mount table, devices and symlinks, pivot_root,
 * then masked and read-only paths.
 *
 * Every target inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) from a handle on the rootfs, and the mount goes onto
 * /proc/self/fd/N of the handle we resolved: a symlink in the image can point anywhere, it
 * is always followed as if the rootfs were `/` (CVE-2021-30465). Missing components are
 * created one by one under handles obtained the same way.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "monitor.h"

#define PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define PERMOUNT (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

struct fdpath { char s[32]; };
static const char *fdp(struct fdpath *b, int fd) {
  snprintf(b->s, sizeof b->s, "/proc/self/fd/%d", fd);
  return b->s;
}

static int open_scoped(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (unsigned)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Create the component `name` in `parent` (dir, or empty file when `isfile`). */
static int create_at(int parent, const char *name, int isfile) {
  if (!isfile) return mkdirat(parent, name, 0755);
  int fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

/*
 * Open `path` (a container path) under `rootfd` as O_PATH, creating what is missing when
 * `create`. A dangling symlink on the way is followed inside the root, and what it names
 * is created there.
 */
int tsd_open_in_root(int rootfd, const char *path, int create, int isfile, struct tsd_error *err) {
  char cur[PATH_MAX], next[PATH_MAX], link[PATH_MAX];
  if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur) return tsd_fail(err, 125, ENAMETOOLONG, "path %s: too long", path);
  for (int round = 0; round < 40; round++) {
    int fd = open_scoped(rootfd, cur, O_PATH);
    if (fd >= 0) return fd;
    if (errno != ENOENT || !create) return tsd_fail(err, 125, errno, "open %s in container: %s", path, tsd_errname(errno));
    /* the common case first: only the last component is missing and its parent resolves (the
     * cgroup dirs, /dev/shm, ...): 5 syscalls instead of a walk from the root (2 per component).
     * Anything else (a missing parent, a dangling symlink at the end) takes the walk below. */
    char *slash = strrchr(cur, '/');
    if (slash && slash[1]) {
      *slash = 0;
      int dir = open_scoped(rootfd, cur, O_PATH);
      *slash = '/';
      if (dir >= 0) {
        int made = create_at(dir, slash + 1, isfile);
        close(dir);
        if (made == 0 && (fd = open_scoped(rootfd, cur, O_PATH)) >= 0) return fd;
      }
    }
    int parent = open_scoped(rootfd, "/", O_PATH);
    if (parent < 0) return tsd_fail(err, 125, errno, "open container root: %s", tsd_errname(errno));
    size_t len = strlen(cur), i = 0;
    int restarted = 0;
    while (i < len) {
      while (i < len && cur[i] == '/') i++;
      if (i >= len) break;
      size_t start = i;
      while (i < len && cur[i] != '/') i++;
      char save = cur[i];
      cur[i] = 0;
      int sub = open_scoped(rootfd, cur, O_PATH);
      if (sub < 0 && errno == ENOENT) {
        int last = save == 0 || cur[i + 1 + strspn(cur + i + 1, "/")] == 0;
        const char *name = cur + start;
        if (create_at(parent, name, last && isfile) < 0) {
          int e = errno;
          ssize_t n = e == EEXIST ? readlinkat(parent, name, link, sizeof link - 1) : -1;
          if (n < 0) {
            close(parent);
            return tsd_fail(err, 125, e, "create %s in container: %s", path, tsd_errname(e));
          }
          /* a dangling symlink: continue with its target, resolved inside the root */
          link[n] = 0;
          cur[i] = save;
          const char *rest = cur + i;
          int w = link[0] == '/' ? snprintf(next, sizeof next, "%s%s", link, rest)
                                 : snprintf(next, sizeof next, "%.*s%s%s", (int)start, cur, link, rest);
          close(parent);
          if (w >= (int)sizeof next) return tsd_fail(err, 125, ENAMETOOLONG, "path %s: too long", path);
          memcpy(cur, next, (size_t)w + 1);
          restarted = 1;
          break;
        }
        sub = open_scoped(rootfd, cur, O_PATH);
      }
      cur[i] = save;
      if (sub < 0) {
        int e = errno;
        close(parent);
        return tsd_fail(err, 125, e, "open %s in container: %s", path, tsd_errname(e));
      }
      close(parent);
      parent = sub;
    }
    if (!restarted) return parent;
  }
  return tsd_fail(err, 125, ELOOP, "open %s in container: ELOOP", path);
}

/* MS_* flags a bind remount must keep (statvfs of the mount) */
static unsigned long kept_flags(int fd) {
  struct statvfs sv;
  unsigned long f = 0;
  if (fstatvfs(fd, &sv) < 0) return 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

static int do_mount(int rootfd, const struct tsd_mount *m, struct tsd_error *err) {
  int bind = !strcmp(m->fstype, "bind") || (m->flags & MS_BIND);
  int isfile = 0;
  struct stat st;
  if (bind && stat(m->src, &st) == 0 && !S_ISDIR(st.st_mode)) isfile = 1;
  int fd = tsd_open_in_root(rootfd, m->dst, 1, isfile, err);
  if (fd < 0) return fd;
  struct fdpath b;
  const char *data = m->data && *m->data ? m->data : NULL;
  int r;
  if (bind) r = mount(m->src, fdp(&b, fd), NULL, MS_BIND | (m->flags & MS_REC), NULL);
  else r = mount(m->src, fdp(&b, fd), m->fstype, m->flags & ~(PROPAGATION | MS_REC), data);
  close(fd);
  if (r < 0) return tsd_fail(err, 125, errno, "mount %s on %s: %s", bind ? m->src : m->fstype, m->dst, tsd_errname(errno));
  unsigned long extra = m->flags & PERMOUNT, prop = m->flags & PROPAGATION;
  if ((bind && extra) || prop) {
    /* the new mount sits on top of the old handle: resolve again to reach it */
    fd = tsd_open_in_root(rootfd, m->dst, 0, 0, err);
    if (fd < 0) return fd;
    if (bind && extra) r = mount(NULL, fdp(&b, fd), NULL, MS_BIND | MS_REMOUNT | extra | kept_flags(fd), NULL);
    if (r == 0 && prop) r = mount(NULL, fdp(&b, fd), NULL, prop | (m->flags & MS_REC), NULL);
    close(fd);
    if (r < 0) return tsd_fail(err, 125, errno, "remount %s: %s", m->dst, tsd_errname(errno));
  }
  return 0;
}

/* Split a container path into an O_PATH handle on its (created) parent and its last name. */
static int open_parent(int rootfd, const char *path, const char **base, struct tsd_error *err) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash || !slash[1]) return tsd_fail(err, 125, EINVAL, "bad container path \"%s\"", path);
  snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  *base = slash + 1;
  return tsd_open_in_root(rootfd, dir[0] ? dir : "/", 1, 0, err);
}

static int make_device(int rootfd, const struct tsd_device *d, struct tsd_error *err) {
  const char *base;
  int parent = open_parent(rootfd, d->path, &base, err);
  if (parent < 0) return parent;
  int r = mknodat(parent, base, d->mode, makedev(d->major, d->minor));
  if (r == 0 && d->owned && fchownat(parent, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) {
    int e = errno;
    close(parent);
    return tsd_fail(err, 125, e, "chown %s: %s", d->path, tsd_errname(e));
  }
  if (r < 0 && errno == EEXIST) r = 0;
  else if (r < 0) {
    /* no mknod here (e.g. a user namespace): bind the host's node instead */
    int e = errno, fd = -1;
    if (create_at(parent, base, 1) == 0 || errno == EEXIST) fd = tsd_open_in_root(rootfd, d->path, 0, 0, err);
    struct fdpath b;
    if (fd < 0 || mount(d->path, fdp(&b, fd), NULL, MS_BIND, NULL) < 0) {
      if (fd >= 0) close(fd);
      close(parent);
      return tsd_fail(err, 125, e, "mknod %s: %s", d->path, tsd_errname(e));
    }
    close(fd);
  }
  close(parent);
  return 0;
}

static int make_symlink(int rootfd, const struct tsd_symlink *l, struct tsd_error *err) {
  const char *base;
  int parent = open_parent(rootfd, l->path, &base, err);
  if (parent < 0) return parent;
  int r = symlinkat(l->target, parent, base);
  int e = errno;
  close(parent);
  if (r < 0 && e != EEXIST) return tsd_fail(err, 125, e, "symlink %s -> %s: %s", l->path, l->target, tsd_errname(e));
  return 0;
}

static int do_pivot(int rootfd, const char *rootfs, struct tsd_error *err) {
  if (fchdir(rootfd) < 0) return tsd_fail(err, 125, errno, "chdir %s: %s", rootfs, tsd_errname(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) return tsd_fail(err, 125, errno, "pivot_root %s: %s", rootfs, tsd_errname(errno));
  /* the old root is stacked under the new one at "."; detach it */
  if (umount2(".", MNT_DETACH) < 0) return tsd_fail(err, 125, errno, "umount old root: %s", tsd_errname(errno));
  if (chdir("/") < 0) return tsd_fail(err, 125, errno, "chdir /: %s", tsd_errname(errno));
  return 0;
}

/*
 * No mount namespace of its own (an OCI config that lists none: the container inherits the
 * runtime's, as the spec says): the caller's `/` is never touched, the rootfs bind is made
 * private so nothing mounted under it propagates to the caller's peers, and the root is
 * entered with chroot, as runc does; tsdocker-oci delete unmounts the tree.
 */
static int do_chroot(int rootfd, const char *rootfs, struct tsd_error *err) {
  if (fchdir(rootfd) < 0) return tsd_fail(err, 125, errno, "chdir %s: %s", rootfs, tsd_errname(errno));
  if (chroot(".") < 0) return tsd_fail(err, 125, errno, "chroot %s: %s", rootfs, tsd_errname(errno));
  if (chdir("/") < 0) return tsd_fail(err, 125, errno, "chdir /: %s", tsd_errname(errno));
  return 0;
}

static int own_mount_ns(const struct tsd_spec *sp) {
  for (int i = 0; i < sp->njoins; i++) if (sp->joins[i].nstype == CLONE_NEWNS) return 1;
  return (sp->clone_flags & CLONE_NEWNS) != 0;
}

int tsd_setup_rootfs(const struct tsd_spec *sp, struct tsd_error *err) {
  char data[4096];
  if (!sp->rootfs) return tsd_fail(err, 125, EINVAL, "spec: run mode needs rootfs");
  int own = own_mount_ns(sp);
  /* pivot_root refuses a shared parent: a shared root propagation is applied after it */
  unsigned long prop = sp->rootprop && !(sp->rootprop & MS_SHARED) ? sp->rootprop : MS_REC | MS_PRIVATE;
  if (own && mount(NULL, "/", NULL, prop, NULL) < 0)
    return tsd_fail(err, 125, errno, "set the propagation of / (%#lx): %s", prop, tsd_errname(errno));
  if (sp->ovl_lower) {
    if (snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s", sp->ovl_lower, sp->ovl_upper, sp->ovl_work) >= (int)sizeof data)
      return tsd_fail(err, 125, E2BIG, "mount overlay on %s: options longer than a page", sp->rootfs);
    if (mount("overlay", sp->rootfs, "overlay", 0, data) < 0)
      return tsd_fail(err, 125, errno, "mount overlay on %s: %s", sp->rootfs, tsd_errname(errno));
  } else if (mount(sp->rootfs, sp->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
    return tsd_fail(err, 125, errno, "bind %s: %s", sp->rootfs, tsd_errname(errno));
  }
  if (!own && mount(NULL, sp->rootfs, NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return tsd_fail(err, 125, errno, "make %s private: %s", sp->rootfs, tsd_errname(errno));
  int rootfd = open(sp->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return tsd_fail(err, 125, errno, "open %s: %s", sp->rootfs, tsd_errname(errno));
  int r = 0;
  for (int i = 0; r == 0 && i < sp->nrootlinks; i++) r = make_symlink(rootfd, &sp->rootlinks[i], err);
  for (int i = 0; r == 0 && i < sp->nmounts; i++) r = do_mount(rootfd, &sp->mounts[i], err);
  for (int i = 0; r == 0 && i < sp->ndevices; i++) r = make_device(rootfd, &sp->devices[i], err);
  for (int i = 0; r == 0 && i < sp->nsymlinks; i++) r = make_symlink(rootfd, &sp->symlinks[i], err);
  if (r == 0) r = own ? do_pivot(rootfd, sp->rootfs, err) : do_chroot(rootfd, sp->rootfs, err);
  if (r == 0 && own && (sp->rootprop & MS_SHARED) && mount(NULL, "/", NULL, sp->rootprop, NULL) < 0)
    r = tsd_fail(err, 125, errno, "set the propagation of the container's / (%#lx): %s", sp->rootprop, tsd_errname(errno));
  close(rootfd);
  return r;
}

/* /dev/null of the container, checked to be the real 1:3 (CVE-2025-31133) */
static int open_devnull(struct tsd_error *err) {
  int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return tsd_fail(err, 125, errno, "open /dev/null: %s", tsd_errname(errno));
  if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    close(fd);
    return tsd_fail(err, 125, EINVAL, "/dev/null in the container is not the null device");
  }
  return fd;
}

static int mask_path(int rootfd, const char *path, struct tsd_error *err) {
  int fd = open_scoped(rootfd, path, O_PATH | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? 0 : tsd_fail(err, 125, errno, "mask %s: %s", path, tsd_errname(errno));
  struct stat st;
  struct fdpath a, b;
  int r;
  if (fstat(fd, &st) < 0) r = -1;
  else if (S_ISDIR(st.st_mode)) r = mount("tmpfs", fdp(&a, fd), "tmpfs", MS_RDONLY, NULL);
  else {
    int nul = open_devnull(err);
    if (nul < 0) { close(fd); return nul; }
    r = mount(fdp(&b, nul), fdp(&a, fd), NULL, MS_BIND, NULL);
    close(nul);
  }
  int e = errno;
  close(fd);
  if (r < 0) return tsd_fail(err, 125, e, "mask %s: %s", path, tsd_errname(e));
  return 0;
}

static int readonly_path(int rootfd, const char *path, struct tsd_error *err) {
  int fd = open_scoped(rootfd, path, O_PATH | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? 0 : tsd_fail(err, 125, errno, "readonly %s: %s", path, tsd_errname(errno));
  struct fdpath a;
  int r = mount(fdp(&a, fd), fdp(&a, fd), NULL, MS_BIND | MS_REC, NULL);
  close(fd);
  if (r == 0) {
    fd = open_scoped(rootfd, path, O_PATH | O_NOFOLLOW);
    r = fd < 0 ? -1 : mount(NULL, fdp(&a, fd), NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(fd), NULL);
  }
  int e = errno;
  if (fd >= 0) close(fd);
  if (r < 0) return tsd_fail(err, 125, e, "readonly %s: %s", path, tsd_errname(e));
  return 0;
}

/* masking works through /proc/self/fd: refuse a fake /proc (CVE-2019-16884) */
static int check_procfs(void) {
  struct statfs sf;
  return statfs("/proc/self/fd", &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

int tsd_finish_rootfs(const struct tsd_spec *sp, struct tsd_error *err) {
  if ((sp->nmasks || sp->nreadonly) && !check_procfs())
    return tsd_fail(err, 125, EINVAL, "/proc in the container is not procfs: cannot mask paths");
  int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return tsd_fail(err, 125, errno, "open /: %s", tsd_errname(errno));
  int r = 0;
  for (int i = 0; r == 0 && i < sp->nmasks; i++) r = mask_path(rootfd, sp->masks[i], err);
  for (int i = 0; r == 0 && i < sp->nreadonly; i++) r = readonly_path(rootfd, sp->readonly[i], err);
  if (r == 0 && sp->rootfs_ro &&
      mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(rootfd), NULL) < 0)
    r = tsd_fail(err, 125, errno, "remount / read-only: %s", tsd_errname(errno));
  close(rootfd);
  return r;
}

/* The working directory, resolved inside the root; created when missing if `create` (a
   container's start, as Docker does), never for exec (Docker: "chdir to cwd ... failed", 126).
   Returns an O_PATH handle; tsd_enter_cwd changes into it once we have the final credentials. */
int tsd_open_cwd(const char *cwd, int create, struct tsd_error *err) {
  if (!cwd || !*cwd) cwd = "/";
  int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return tsd_fail(err, 125, errno, "open /: %s", tsd_errname(errno));
  int fd = tsd_open_in_root(rootfd, cwd, create, 0, err);
  close(rootfd);
  if (fd < 0 && !create) {
    char why[128]; /* Go's wording of errno: "no such file or directory" */
    snprintf(why, sizeof why, "%s", strerror(err->err));
    why[0] = (char)tolower((unsigned char)why[0]);
    return tsd_fail(err, 126, err->err, "chdir to cwd (\"%s\") failed: %s", cwd, why);
  }
  if (fd < 0) return fd;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
    close(fd);
    return tsd_fail(err, 125, ENOTDIR, "working directory %s: not a directory", cwd);
  }
  return fd;
}

/* chdir as the container user (runc: "chdir to cwd ... failed: permission denied") */
int tsd_enter_cwd(int fd, const char *cwd, struct tsd_error *err) {
  if (!cwd || !*cwd) cwd = "/";
  int r = fchdir(fd);
  int e = errno;
  close(fd);
  if (r < 0) return tsd_fail(err, e == EACCES ? 126 : 125, e, "chdir to working directory %s: %s", cwd, tsd_errname(e));
  char buf[PATH_MAX];
  /* getcwd fails (or says "(unreachable)") when the cwd is outside our root (CVE-2024-21626) */
  if (!getcwd(buf, sizeof buf) || buf[0] != '/')
    return tsd_fail(err, 125, EPERM, "working directory %s is outside the container", cwd);
  return 0;
}
