/*
 * CRI log format (what the kubelet and `docker logs` of containerd read):
 *   <RFC3339Nano> <stream> <F|P> <content>\n
 * A line longer than the buffer is written in P(artial) pieces; the last piece is F.
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "monitor.h"

void tsd_rfc3339nano(char *out, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

static void emit(int logfd, const char *stream, const char *tag, const char *data, size_t n) {
  char head[80];
  char ts[40];
  tsd_rfc3339nano(ts, sizeof ts);
  int h = snprintf(head, sizeof head, "%s %s %s ", ts, stream, tag);
  struct iovec iov[3] = {{head, (size_t)h}, {(void *)data, n}, {"\n", 1}};
  /* one writev per line: with O_APPEND, readers never see half a line's header */
  char line[sizeof head + sizeof ((struct tsd_log_stream *)0)->buf + 1];
  size_t off = 0;
  for (int i = 0; i < 3; i++) { memcpy(line + off, iov[i].iov_base, iov[i].iov_len); off += iov[i].iov_len; }
  tsd_write_all(logfd, line, off);
}

void tsd_log_feed(int logfd, struct tsd_log_stream *s, const char *data, size_t n) {
  while (n) {
    const char *nl = memchr(data, '\n', n);
    size_t take = nl ? (size_t)(nl - data) : n;
    size_t room = sizeof s->buf - s->len;
    if (take > room) take = room;
    memcpy(s->buf + s->len, data, take);
    s->len += take;
    data += take;
    n -= take;
    if (nl && n && *data == '\n' && data == nl) {
      emit(logfd, s->name, "F", s->buf, s->len);
      s->len = 0;
      data++;
      n--;
    } else if (s->len == sizeof s->buf) {
      emit(logfd, s->name, "P", s->buf, s->len);
      s->len = 0;
    }
  }
}

void tsd_log_flush(int logfd, struct tsd_log_stream *s) {
  if (s->len) emit(logfd, s->name, "F", s->buf, s->len);
  s->len = 0;
}
