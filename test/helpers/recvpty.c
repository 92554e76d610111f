/*
 * Test helper (compiled by oci-cli.test.ts): the receiving end of the OCI --console-socket
 * protocol, as containerd's go-runc and conmon are. Listens on argv[1], accepts one
 * connection, requires exactly one message carrying exactly one SCM_RIGHTS fd, prints
 * "msg=<data> fds=<n>" and then copies what the pty master gives until EIO/EOF to stdout.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
  unlink(argv[1]);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 1) < 0) return 3;
  printf("listening\n");
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  if (c < 0) return 4;
  char data[256] = {0};
  union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } u;
  struct iovec iov = {data, sizeof data - 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  if (recvmsg(c, &mh, 0) < 0) return 5;
  int nfds = 0, fd = -1;
  for (struct cmsghdr *m = CMSG_FIRSTHDR(&mh); m; m = CMSG_NXTHDR(&mh, m)) {
    if (m->cmsg_type != SCM_RIGHTS) continue;
    nfds += (int)((m->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    memcpy(&fd, CMSG_DATA(m), sizeof fd);
  }
  printf("msg=%s fds=%d controllen=%zu\n", data, nfds, (size_t)mh.msg_controllen);
  fflush(stdout);
  close(c);
  char buf[4096];
  ssize_t n;
  while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0) {
    fwrite(buf, 1, (size_t)n, stdout);
    fflush(stdout);
  }
  return 0;
}
