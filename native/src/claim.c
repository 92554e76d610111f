/*
 * A cleanup claimed by a live tsdocker process. `stop` (and `restart`) clean up after the exit
 * themselves, but they are not the CLI that started the container, so they cannot send `ack`:
 * without a word the monitor would exec its exit hook, a whole Node process (`tsdocker
 * internal cleanup`) that finds the work done. Such a CLI writes "PID STARTTIME" (its own
 * pid and /proc start time) to `.cleanup-claim` next to the spec before it signals; the
 * monitor skips the hook while that process is alive. A claim whose process has gone (the
 * CLI was killed) does not count: the hook runs, as without one.
 */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "monitor.h"

static char claim_path[4096];

/* Called before the monitor's chdir("/"): a relative spec path is made absolute first. */
void tsd_claim_init(const char *spec_path) {
  const char *slash = strrchr(spec_path, '/');
  size_t dir = slash ? (size_t)(slash - spec_path) : 0;
  size_t at = 0;
  if (spec_path[0] != '/') {
    if (!getcwd(claim_path, sizeof claim_path)) return;
    at = strlen(claim_path);
    claim_path[at++] = '/';
  }
  if (at + dir + sizeof "/.cleanup-claim" > sizeof claim_path) {
    claim_path[0] = 0;
    return;
  }
  memcpy(claim_path + at, spec_path, dir);
  memcpy(claim_path + at + dir, "/.cleanup-claim", sizeof "/.cleanup-claim");
}

static int read_small(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  return 0;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks); 0 when gone or a zombie. */
static unsigned long long start_time(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (read_small(path, buf, sizeof buf) < 0) return 0;
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X') return 0;
  p += 2;
  for (int field = 3; field < 22 && p; field++) p = strchr(p + 1, ' ');
  unsigned long long t = 0;
  return p && sscanf(p, " %llu", &t) == 1 ? t : 0;
}

int tsd_cleanup_claimed(void) {
  char buf[64];
  int pid;
  unsigned long long t;
  if (!claim_path[0] || read_small(claim_path, buf, sizeof buf) < 0) return 0;
  if (sscanf(buf, "%d %llu", &pid, &t) != 2 || pid <= 0 || t == 0) return 0;
  return start_time(pid) == t;
}
