/*
 * Terminals: the container's pty comes from its own devpts instance (opened after
 * pivot_root), and its master travels to the monitor with SCM_RIGHTS. The monitor puts
 * its own terminal in raw mode while relaying and restores it on the way out.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "monitor.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int tsd_pty_open_in_container(int *master, int *slave, struct tsd_error *err) {
  int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return tsd_fail(err, 125, errno, "open /dev/pts/ptmx: %s", tsd_errname(errno));
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
    int e = errno;
    close(m);
    return tsd_fail(err, 125, e, "unlock pty: %s", tsd_errname(e));
  }
  /* the peer through the master, never through a path an image could have swapped */
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    int e = errno;
    close(m);
    return tsd_fail(err, 125, e, "open pty slave: %s", tsd_errname(e));
  }
  *master = m;
  *slave = s;
  return 0;
}

/* One sendmsg carrying `data` and exactly one SCM_RIGHTS descriptor; -errno on failure. */
static int send_one_fd(int sock, const void *data, size_t len, int fd) {
  struct iovec iov = {(void *)data, len};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  memset(&u, 0, sizeof u);
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do { n = sendmsg(sock, &mh, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

int tsd_send_fd(int sock, int fd, struct tsd_error *err) {
  struct tsd_msg msg = {.type = TSD_MSG_PTY};
  int r = send_one_fd(sock, &msg, sizeof msg, fd);
  if (r < 0) return tsd_fail(err, 125, -r, "send pty to monitor: %s", tsd_errname(-r));
  return 0;
}

/* Receive one message; *fd is set to a passed descriptor or -1. Returns bytes read. */
int tsd_recv_fd(int sock, void *buf, size_t len, int *fd) {
  struct iovec iov = {buf, len};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  *fd = -1;
  do { n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof *fd);
  return (int)n;
}

static struct termios saved;
static int saved_fd = -1;

int tsd_raw_mode(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return -errno;
  saved = t;
  saved_fd = fd;
  cfmakeraw(&t); /* the container's pty does the line discipline; ours passes bytes through */
  if (tcsetattr(fd, TCSADRAIN, &t) < 0) return -errno;
  return 0;
}

void tsd_restore_mode(void) {
  if (saved_fd >= 0) tcsetattr(saved_fd, TCSADRAIN, &saved);
  saved_fd = -1;
}

void tsd_set_winsize(int fd, unsigned rows, unsigned cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  ioctl(fd, TIOCSWINSZ, &ws);
}

/*
 * The OCI --console-socket protocol as runc speaks it: connect to the unix stream socket
 * and send one message, the master's name as data and the master as one SCM_RIGHTS fd.
 */
int tsd_send_console(const char *path, int fd, struct tsd_error *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return tsd_fail(err, 125, ENAMETOOLONG, "console socket %s: path too long", path);
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return tsd_fail(err, 125, errno, "socket: %s", tsd_errname(errno));
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(s);
    return tsd_fail(err, 125, e, "connect to console socket %s: %s", path, tsd_errname(e));
  }
  static const char name[] = "/dev/ptmx";
  int r = send_one_fd(s, name, sizeof name - 1, fd);
  close(s);
  if (r < 0) return tsd_fail(err, 125, -r, "send the pty to console socket %s: %s", path, tsd_errname(-r));
  return 0;
}
