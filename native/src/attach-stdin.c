/*
 * The container's stdin as attach clients write it (attach.c): a bounded queue in front of
 * the pty master or the stdin pipe, written without blocking when the monitor's poll says
 * there is room. A container that does not read its stdin fills the queue; attach.c then
 * stops reading from the client whose frame does not fit (back-pressure down its socket),
 * so the monitor's loop goes on serving output, other clients, signals and the exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "monitor.h"

#define QUEUE_CAP 65536

static char queue[QUEUE_CAP];
static size_t qlen;
static int close_pending; /* a close frame came while bytes were queued: close once they are written */
static int qfd = -1;      /* io->in when it was last seen: what the POLLOUT entry watches */

size_t tsd_stdin_room(void) { return QUEUE_CAP - qlen; }

char *tsd_stdin_tail(void) { return queue + qlen; }

void tsd_stdin_added(size_t n) { qlen += n; }

/* A close frame, in its place after what is queued: a pty gets its EOF character (0 when there is no room yet). */
int tsd_stdin_close(struct tsd_attach_io *io) {
  if (io->in >= 0 && isatty(io->in)) {
    if (qlen == QUEUE_CAP) return 0;
    queue[qlen++] = '\x04';
    return 1;
  }
  if (qlen) close_pending = 1;
  else io->close_stdin(io);
  return 1;
}

/* Write what the container takes now (never blocking: O_NONBLOCK only around our write, as the fd is shared). */
void tsd_stdin_flush(struct tsd_attach_io *io) {
  qfd = io->in;
  if (io->in < 0) {
    qlen = 0;
    close_pending = 0;
    return;
  }
  if (qlen) {
    int fl = fcntl(io->in, F_GETFL);
    int set = fl >= 0 && !(fl & O_NONBLOCK);
    if (set) fcntl(io->in, F_SETFL, fl | O_NONBLOCK);
    ssize_t w;
    do { w = write(io->in, queue, qlen); } while (w < 0 && errno == EINTR);
    if (set) fcntl(io->in, F_SETFL, fl);
    if (w > 0) {
      memmove(queue, queue + w, qlen - (size_t)w);
      qlen -= (size_t)w;
    } else if (w < 0 && errno != EAGAIN) {
      qlen = 0; /* EPIPE: the container closed its stdin; EIO: its pty is gone */
    }
  }
  if (!qlen && close_pending) {
    close_pending = 0;
    io->close_stdin(io);
    qfd = io->in;
  }
}

/* While bytes wait: one entry that wakes the loop when the container's stdin has room. */
int tsd_stdin_pollfd(struct pollfd *p) {
  if (!qlen || qfd < 0) return 0;
  *p = (struct pollfd){qfd, POLLOUT, 0};
  return 1;
}

int tsd_stdin_queued(void) { return qlen > 0 || close_pending; }
