/*
 * The attach socket (spec key `attach`, native/PROTOCOL.md "Attach socket"): the monitor
 * listens on a unix stream socket (mode 0600) in the container's runtime dir for as long
 * as the container runs, so that any number of clients, one after another or together,
 * get its output from the moment they attach, write to its stdin (the pty or the stdin
 * pipe the monitor keeps) and resize its pty. Frames both ways are Docker's multiplexed
 * stream header (type, 0, 0, 0, length big-endian) and a payload. The monitor never blocks
 * on a client: one whose socket buffer is full is dropped, as is one that goes away; nor on
 * the container: stdin goes through a bounded queue (attach-stdin.c), and a client whose
 * frame does not fit is not read from until it does.
 * A client told all it gets (`exit`, `detached`) is hung up, not closed: our sending side is
 * shut down and what it still sends is read and dropped until it closes, so a client that
 * writes after the end (stdin that ends at once) never meets a reset before it read the end.
 * Also here: the detach-key matcher, shared with the foreground relay.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor.h"

#define MAX_CLIENTS 32

struct client {
  int fd;
  int ready;                 /* header read */
  int in, out, err;          /* which streams it wants */
  int closing;               /* hung up: its input is dropped until it closes */
  int stalled;               /* its next frame waits for room in the stdin queue: not read meanwhile */
  struct tsd_escape esc;
  unsigned char keys[16];
  unsigned char buf[16384 + 8];
  size_t len;
};

static struct client clients[MAX_CLIENTS];
static int nclients;
static int listen_fd = -1;
static char sock_path[4096];

int tsd_attach_listen(const char *path, struct tsd_error *e) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return tsd_fail(e, 125, ENAMETOOLONG, "attach socket %s: path too long (use a shorter --root)", path);
  snprintf(sock_path, sizeof sock_path, "%s", path);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = 0;
    /* <run>/containers/<id>: both levels, root's only */
    for (char *q = strchr(dir + 1, '/');; q = strchr(q + 1, '/')) {
      if (q) *q = 0;
      if (mkdir(dir, 0700) < 0 && errno != EEXIST) return tsd_fail(e, 125, errno, "mkdir %s: %s", dir, tsd_errname(errno));
      if (!q) break;
      *q = '/';
    }
  }
  unlink(path); /* a monitor that was killed left it */
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return tsd_fail(e, 125, errno, "socket: %s", tsd_errname(errno));
  mode_t old = umask(0177); /* born 0600: no window where another user could connect */
  int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (r < 0 || listen(fd, 16) < 0) {
    int er = errno;
    close(fd);
    return tsd_fail(e, 125, er, "attach socket %s: %s", path, tsd_errname(er));
  }
  listen_fd = fd;
  return fd;
}

static void drop(int i) {
  close(clients[i].fd);
  clients[i] = clients[--nclients];
}

/* The client has all it gets: EOF to it, its input drained (discard) until it closes. */
static void hang_up(struct client *c) {
  shutdown(c->fd, SHUT_WR);
  c->closing = 1;
  c->stalled = 0;
}

/* Read and drop what a hung-up client sends; 1 when it closed (or failed). */
static int discard(struct client *c) {
  ssize_t r = read(c->fd, c->buf, sizeof c->buf); /* one read a turn: a flood cannot hold the loop */
  return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

/* One whole frame or nothing: a client that cannot take it now is dropped (never block). */
static int send_frame(struct client *c, int type, const void *data, size_t n) {
  unsigned char h[8] = {(unsigned char)type, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
  struct iovec iov[2] = {{h, 8}, {(void *)data, n}};
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
  ssize_t w;
  do { w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL); } while (w < 0 && errno == EINTR);
  return w == (ssize_t)(n + 8) ? 0 : -1;
}

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

int tsd_escape_init(struct tsd_escape *es, unsigned char *store, size_t cap, const char *hex) {
  es->keys = store;
  es->nkeys = 0;
  es->matched = 0;
  for (size_t i = 0; hex && hex[i] && hex[i + 1] && (size_t)es->nkeys < cap; i += 2) {
    int a = hexval(hex[i]), b = hexval(hex[i + 1]);
    if (a < 0 || b < 0) return -1;
    store[es->nkeys++] = (unsigned char)(a * 16 + b);
  }
  return 0;
}

/*
 * Pass `in` through to `out` (room for n + nkeys bytes), holding back a prefix of the
 * detach sequence until it either completes (returns 1: detach, the sequence is dropped)
 * or breaks (the held bytes go through, as Docker's escape proxy does).
 */
int tsd_escape_feed(struct tsd_escape *es, const char *in, size_t n, char *out, size_t *outn) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)in[i];
    if (es->nkeys && ch == es->keys[es->matched]) {
      if (++es->matched == es->nkeys) {
        *outn = o;
        return 1;
      }
      continue;
    }
    for (int k = 0; k < es->matched; k++) out[o++] = (char)es->keys[k];
    es->matched = 0;
    if (es->nkeys && ch == es->keys[0]) { es->matched = 1; continue; }
    out[o++] = (char)ch;
  }
  *outn = o;
  return 0;
}

void tsd_attach_accept(void) {
  int fd;
  while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
    if (nclients == MAX_CLIENTS) { close(fd); continue; }
    struct client *c = &clients[nclients++];
    memset(c, 0, sizeof *c);
    c->fd = fd;
  }
}

int tsd_attach_pollfds(struct pollfd *p) {
  int n = 0;
  if (listen_fd >= 0) p[n++] = (struct pollfd){listen_fd, POLLIN, 0};
  for (int i = 0; i < nclients; i++) p[n++] = (struct pollfd){clients[i].fd, clients[i].stalled ? 0 : POLLIN, 0};
  return n + tsd_stdin_pollfd(p + n);
}

/* `attach <in> <out> <err> <detach-keys hex or ->`; returns 1 when complete, -1 when bad */
static int parse_header(struct client *c) {
  unsigned char *nl = memchr(c->buf, '\n', c->len);
  if (!nl) return c->len >= 256 ? -1 : 0;
  *nl = 0;
  char keys[40] = "";
  if (sscanf((char *)c->buf, "attach %d %d %d %32s", &c->in, &c->out, &c->err, keys) != 4) return -1;
  if (tsd_escape_init(&c->esc, c->keys, sizeof c->keys, strcmp(keys, "-") ? keys : NULL) < 0) return -1;
  size_t used = (size_t)(nl + 1 - c->buf);
  memmove(c->buf, nl + 1, c->len - used);
  c->len -= used;
  c->ready = 1;
  return 1;
}

/* Stdin bytes of a frame into the queue, as many as fit with room for held detach keys; -1 none fit, 1 detached. */
static int take_stdin(struct client *c, const char *data, size_t *k, struct tsd_attach_io *io) {
  size_t o;
  if (io->in < 0) { /* no stdin (closed): the keys still detach */
    char out[sizeof c->buf + 16];
    return tsd_escape_feed(&c->esc, data, *k, out, &o);
  }
  size_t room = tsd_stdin_room(), keys = (size_t)c->esc.nkeys;
  if (room <= keys) return -1;
  if (*k > room - keys) *k = room - keys;
  int det = tsd_escape_feed(&c->esc, data, *k, tsd_stdin_tail(), &o);
  tsd_stdin_added(o);
  return det;
}

/* Complete frames from a client: 0 stdin data, 3 close stdin, 4 resize "rows cols". Returns -1 to drop it, 1 when it
 * detached; stops at a frame the stdin queue has no room for (stalled: the rest of it stays in buf). */
static int client_frames(struct client *c, struct tsd_attach_io *io) {
  while (c->len >= 8) {
    size_t n = ((size_t)c->buf[4] << 24) | ((size_t)c->buf[5] << 16) | ((size_t)c->buf[6] << 8) | c->buf[7];
    if (n > sizeof c->buf - 8) return -1;
    if (c->len < n + 8) break;
    int type = c->buf[0];
    char *data = (char *)c->buf + 8;
    if (type == 0 && c->in) {
      size_t k = n;
      int det = take_stdin(c, data, &k, io);
      if (det > 0) {
        send_frame(c, 5, "detached", 8);
        return 1;
      }
      if (det < 0 || k < n) { /* the rest of the frame waits */
        k = det < 0 ? 0 : k;
        memmove(data, data + k, c->len - 8 - k);
        c->len -= k;
        n -= k;
        for (int b = 0; b < 4; b++) c->buf[4 + b] = (unsigned char)(n >> (24 - 8 * b));
        c->stalled = 1;
        return 0;
      }
    } else if (type == 3 && c->in) {
      if (!tsd_stdin_close(io)) {
        c->stalled = 1;
        return 0;
      }
    } else if (type == 4 && n < 32) {
      unsigned r, cl;
      data[n] = 0;
      if (sscanf(data, "%u %u", &r, &cl) == 2) io->resize(r, cl);
    }
    memmove(c->buf, c->buf + n + 8, c->len - n - 8);
    c->len -= n + 8;
  }
  return 0;
}

/* What a client sent, its header parsed (h: parse_header's result): its frames, then drop or hang up. */
static void took(int i, int h, struct tsd_attach_io *io) {
  int f = h > 0 ? client_frames(&clients[i], io) : 0;
  if (h < 0 || f < 0) drop(i);
  else if (f > 0) hang_up(&clients[i]);
}

/* Queued stdin to the container as far as it takes it; stalled clients go on where there is room again. */
static void stdin_turn(struct tsd_attach_io *io) {
  if (!tsd_stdin_queued()) return;
  tsd_stdin_flush(io);
  for (int i = nclients - 1; i >= 0; i--) {
    if (!clients[i].stalled || !tsd_stdin_room()) continue;
    clients[i].stalled = 0;
    took(i, 1, io);
  }
  tsd_stdin_flush(io);
}

/* After poll: p are the entries tsd_attach_pollfds filled, in the same order. */
void tsd_attach_handle(struct pollfd *p, int np, struct tsd_attach_io *io) {
  int k = 0;
  int had = nclients;
  if (listen_fd >= 0) k = 1;
  /* walk backwards: drop() moves the last client into the freed slot */
  for (int i = (np - k < had ? np - k : had) - 1; i >= 0; i--) {
    if (!p[k + i].revents) continue;
    struct client *c = &clients[i];
    if (c->closing) {
      if (discard(c)) drop(i);
      continue;
    }
    if (c->stalled) { /* polled for nothing: only its hangup wakes us */
      if (p[k + i].revents & (POLLHUP | POLLERR)) drop(i);
      continue;
    }
    ssize_t r;
    do { r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len); } while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EAGAIN) continue;
    if (r <= 0) { drop(i); continue; }
    c->len += (size_t)r;
    took(i, c->ready ? 1 : parse_header(c), io);
  }
  if (listen_fd >= 0 && p[0].revents) tsd_attach_accept();
  /* a client that connected before `go` sent its header at once: read it now, so it gets the first output */
  for (int i = nclients - 1; i >= had; i--) {
    struct client *c = &clients[i];
    ssize_t r = read(c->fd, c->buf, sizeof c->buf);
    if (r > 0) {
      c->len = (size_t)r;
      took(i, parse_header(c), io);
    } else if (r == 0) drop(i);
  }
  stdin_turn(io);
}

/* Container output (stream 1 stdout or the pty, 2 stderr) to every client that wants it. */
void tsd_attach_output(int stream, const char *buf, size_t n) {
  for (int i = nclients - 1; i >= 0; i--) {
    struct client *c = &clients[i];
    if (!c->ready || c->closing || (stream == 1 ? !c->out : !c->err)) continue;
    if (send_frame(c, stream, buf, n) < 0) drop(i);
  }
}

/* The container exited: each client gets `exit <status>` and is hung up (then tsd_attach_linger); the socket goes. */
void tsd_attach_finish(int status) {
  char msg[32];
  if (status < 0) nclients = 0; /* never ran: the clients see EOF (they are closed at our exit) */
  int n = snprintf(msg, sizeof msg, "exit %d", status);
  for (int i = nclients - 1; i >= 0; i--) {
    if (!clients[i].closing) send_frame(&clients[i], 5, msg, (size_t)n);
    hang_up(&clients[i]);
  }
  if (listen_fd < 0) return;
  close(listen_fd);
  listen_fd = -1;
  unlink(sock_path);
  char *slash = strrchr(sock_path, '/');
  if (slash) { *slash = 0; rmdir(sock_path); }
}

/* After the exit: the hung-up clients go to a lingering process (attach-linger.c) until they close; ours are closed. */
void tsd_attach_linger(void) {
  int fds[MAX_CLIENTS];
  for (int i = 0; i < nclients; i++) fds[i] = clients[i].fd;
  tsd_linger_fds(fds, nclients);
  while (nclients) drop(nclients - 1);
}
