/* Error values (crun style): fill a fixed-size struct, return -errno. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "monitor.h"

const char *tsd_errname(int err) {
  const char *n = err ? strerrorname_np(err) : NULL;
  return n ? n : "EUNKNOWN";
}

int tsd_fail(struct tsd_error *e, int code, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  e->code = code;
  e->err = err;
  /* keep the message on one line: the sync protocol is line based */
  for (char *p = e->msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  return err > 0 ? -err : -1;
}

int tsd_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
