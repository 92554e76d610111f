/*
 * libtsdocker.so: the functions Node reaches through koffi.
 *
 * Rules (DESIGN.md, "Facts measured on our machines"): nothing here changes a namespace of
 * the calling (multithreaded) Node process. tsd_spawn is spawn-shaped: every buffer is
 * prepared by the caller, then we clone; the children run only raw, async-signal-safe
 * syscalls (no malloc, no stdio, never a return into JavaScript) until execve.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tsd.h"

#define TSD_MAX_FDS 16

int tsd_proto_version(void) { return TSD_PROTO_VERSION; }


static void child_fail(int errfd, int err) {
  int v = err;
  (void)!write(errfd, &v, sizeof v);
  syscall(SYS_exit_group, 126);
}

/*
 * Give the child its own open file description for a pipe: Node marks the pipes on its
 * stdio non-blocking, and that flag is shared by every copy of the descriptor. Reopening a
 * pipe through /proc/self/fd gives a new description whose flags are ours alone. Anything
 * else (tty, file, socket) keeps its description, with O_NONBLOCK cleared.
 */
static int own_description(int fd, char *buf) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
    int fl = fcntl(fd, F_GETFL);
    /* "/proc/self/fd/" + up to 10 digits, built without stdio */
    static const char prefix[] = "/proc/self/fd/";
    memcpy(buf, prefix, sizeof prefix - 1);
    char digits[12];
    int n = 0, v = fd;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v && n < 11);
    int p = sizeof prefix - 1;
    while (n) buf[p++] = digits[--n];
    buf[p] = 0;
    int nfd = open(buf, (fl & O_ACCMODE) | O_CLOEXEC);
    if (nfd >= 0) return nfd;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

/*
 * Start `path` as a daemon, never Node's child (no zombie for libuv to miss, and it outlives
 * the CLI): Node clones an intermediate, which clones the daemon and exits. The daemon starts
 * a new session, receives fds[i] as descriptor i (fds[i] < 0 means /dev/null), closes every
 * other descriptor and execs. Returns the daemon's pid, or -errno (the errno of execve when the
 * exec itself failed).
 *
 * Both clones share Node's memory (CLONE_VM | CLONE_VFORK, as posix_spawn does): a fork
 * copied the page tables of Node's whole heap, and the exec and the intermediate's exit then
 * tore two such copies down again, several ms of every start. CLONE_VFORK suspends the caller
 * until its child has exec'd or exited, so Node resumes once the daemon runs its own image.
 * The children run on stacks of their own, with every signal blocked until the daemon has
 * reset the dispositions (a handler of Node's must never run in them), touch nothing of Node's
 * but the request below, and leave only through execve or exit_group.
 */
struct spawn_req {
  const char *path;
  char *const *argv;
  char *const *envp;
  const int *fds;
  int nfds;
  int pidfd_w; /* the intermediate writes the daemon's pid here */
  int errfd_w; /* the daemon writes its errno here when it cannot exec */
  char *stack2;
  size_t stack2_size;
  char pathbuf[32];
};

#define SPAWN_STACK (64 * 1024)

static int spawn_daemon(void *arg) {
  struct spawn_req *r = arg;
  /* reset the signal dispositions Node installed (handlers do not survive exec, but
     ignored signals would); every signal is still blocked */
  for (int s = 1; s < 65; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    syscall(SYS_rt_sigaction, s, &sa, 0, sizeof(long));
  }
  setsid();
  int moved[TSD_MAX_FDS];
  int base = 100;
  for (int i = 0; i < r->nfds; i++) {
    int src = r->fds[i];
    if (src < 0) {
      src = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (src < 0) child_fail(r->errfd_w, errno);
    } else {
      src = own_description(src, r->pathbuf);
    }
    /* park every source above the target range first, so dup2 never clobbers one */
    moved[i] = fcntl(src, F_DUPFD_CLOEXEC, base);
    if (moved[i] < 0) child_fail(r->errfd_w, errno);
  }
  for (int i = 0; i < r->nfds; i++)
    if (dup2(moved[i], i) < 0) child_fail(r->errfd_w, errno);
  /* everything from nfds up, except the error pipe, must not reach the daemon */
  int ep = fcntl(r->errfd_w, F_DUPFD_CLOEXEC, 1000);
  if (ep < 0) child_fail(r->errfd_w, errno);
  if (syscall(SYS_close_range, r->nfds, 999, 0) < 0) {
    for (int fd = r->nfds; fd < 1000; fd++) close(fd);
  }
  if (syscall(SYS_close_range, 1001, ~0U, 0) < 0) {
    for (int fd = 1001; fd < 4096; fd++) close(fd);
  }
  sigset_t none;
  sigemptyset(&none);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, 0, sizeof(long));
  execve(r->path, r->argv, r->envp);
  child_fail(ep, errno);
  return 0;
}

static int spawn_intermediate(void *arg) {
  struct spawn_req *r = arg;
  /* returns once the daemon exec'd (or died): its parent, this process, goes now */
  int gc = clone(spawn_daemon, r->stack2 + r->stack2_size, CLONE_VM | CLONE_VFORK | SIGCHLD, r);
  if (gc < 0) child_fail(r->errfd_w, errno);
  (void)!write(r->pidfd_w, &gc, sizeof gc);
  syscall(SYS_exit_group, 0);
  return 0;
}

int tsd_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds) {
  if (nfds < 0 || nfds > TSD_MAX_FDS) return -EINVAL;
  int pidpipe[2], errpipe[2];
  if (pipe2(pidpipe, O_CLOEXEC) < 0) return -errno;
  if (pipe2(errpipe, O_CLOEXEC) < 0) {
    int e = errno;
    close(pidpipe[0]); close(pidpipe[1]);
    return -e;
  }
  char *stacks = mmap(NULL, 2 * SPAWN_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stacks == MAP_FAILED) {
    int e = errno;
    close(pidpipe[0]); close(pidpipe[1]); close(errpipe[0]); close(errpipe[1]);
    return -e;
  }
  struct spawn_req r = {.path = path, .argv = argv, .envp = envp, .fds = fds, .nfds = nfds,
                        .pidfd_w = pidpipe[1], .errfd_w = errpipe[1], .stack2 = stacks + SPAWN_STACK, .stack2_size = SPAWN_STACK};
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int child = clone(spawn_intermediate, stacks + SPAWN_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &r);
  int cerr = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  munmap(stacks, 2 * SPAWN_STACK);
  if (child < 0) {
    close(pidpipe[0]); close(pidpipe[1]); close(errpipe[0]); close(errpipe[1]);
    return -cerr;
  }
  close(pidpipe[1]);
  close(errpipe[1]);
  int status = 0;
  while (waitpid((pid_t)child, &status, __WALL) < 0 && errno == EINTR) {}
  int pid = -1, err = 0;
  ssize_t n;
  do { n = read(pidpipe[0], &pid, sizeof pid); } while (n < 0 && errno == EINTR);
  if (n != sizeof pid) pid = -1;
  do { n = read(errpipe[0], &err, sizeof err); } while (n < 0 && errno == EINTR);
  close(pidpipe[0]);
  close(errpipe[0]);
  if (n == sizeof err) return -(err ? err : EIO);
  if (pid <= 0) return -ECHILD;
  return pid;
}

int tsd_flock(int fd, int op) { return flock(fd, op) < 0 ? -errno : 0; }

int tsd_socketpair(int *out) {
  return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) < 0 ? -errno : 0;
}

/* An overlayfs whiteout: a character device 0:0. */
int tsd_mkwhiteout(const char *path) { return mknod(path, S_IFCHR | 0, makedev(0, 0)) < 0 ? -errno : 0; }

int tsd_mknod(const char *path, unsigned mode, unsigned major, unsigned minor) {
  return mknod(path, mode, makedev(major, minor)) < 0 ? -errno : 0;
}

int tsd_lsetxattr(const char *path, const char *name, const char *value, int len) {
  return lsetxattr(path, name, value, (size_t)len, 0) < 0 ? -errno : 0;
}

int tsd_kill(int pid, int sig) { return kill(pid, sig) < 0 ? -errno : 0; }

int tsd_close(int fd) { return close(fd) < 0 ? -errno : 0; }

/* shutdown(2) both ways: a thread blocked reading the socket (Node's thread pool) gets EOF at
   once, where close(2) would leave it blocked on a descriptor number that may be reused. */
int tsd_shutdown(int fd) { return shutdown(fd, SHUT_RDWR) < 0 ? -errno : 0; }

/*
 * Open `path` inside the directory `root` as if `root` were "/" (openat2 RESOLVE_IN_ROOT):
 * no symlink or ".." leaves it, magic links (/proc/self/...) and mount crossings are
 * refused. For files of an image that Node reads itself (/etc/passwd): the caller opens
 * with O_PATH, checks the type with fstat, and only then opens a regular file for reading.
 * Returns the descriptor (close-on-exec) or -errno.
 */
int tsd_open_in_root(const char *root, const char *path, int flags) {
  int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return -errno;
  struct open_how how = {
    .flags = (unsigned)(flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  while (*path == '/') path++;
  int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
  int e = errno;
  close(rootfd);
  return fd < 0 ? -e : fd;
}
