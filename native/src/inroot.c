/*
 * tsd_open_across: open(2) of `path` resolved inside `root` as if it were "/"
 * (openat2 RESOLVE_IN_ROOT, no magic links), crossing the mounts below root. `cp`, the
 * API's archive endpoints and `export` use it on a running container's /proc/PID/root,
 * where the container's volumes and bind mounts are mounts of its own namespace: a
 * symlink anywhere in the path (or swapped in while it is resolved) stays in the
 * container (CVE-2018-15664, CVE-2019-14271).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

int tsd_open_across(const char *root, const char *path, int flags) {
  int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return -errno;
  struct open_how how = {
    .flags = (unsigned)(flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  while (*path == '/') path++;
  int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
  int e = errno;
  close(rootfd);
  return fd < 0 ? -e : fd;
}

/* lgetxattr(2): the value's length, or -errno (ENODATA when the attribute is not set) */
int tsd_lgetxattr(const char *path, const char *name, unsigned char *buf, int len) {
  ssize_t n = lgetxattr(path, name, buf, (size_t)len);
  return n < 0 ? -errno : (int)n;
}
