/*
 * TCP request/response latency, netperf TCP_RR style: one byte there, one byte back.
 *   rr server PORT              echo server (one connection at a time, until killed)
 *   rr client HOST PORT COUNT   COUNT round trips after 200 warmups; prints
 *                               "<median µs> <p99 µs>" with ns resolution
 * Built by the bench with the machine's cc; run from the host inside a container's network
 * namespace (nsenter --net), like iperf3.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static int server(int port) {
  int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 8)) { perror("rr server"); return 1; }
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char b[64];
    ssize_t n;
    while ((n = read(c, b, sizeof b)) > 0)
      if (write(c, b, n) != n) break;
    close(c);
  }
}

static int client(const char *host, int port, int count) {
  int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "rr: bad address %s\n", host); return 2; }
  if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("rr connect"); return 1; }
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  long *t = calloc(count, sizeof *t);
  char b = 'x';
  for (int i = -200; i < count; i++) {
    long t0 = now_ns();
    if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1) { perror("rr io"); return 1; }
    if (i >= 0) t[i] = now_ns() - t0;
  }
  qsort(t, count, sizeof *t, cmp);
  printf("%.2f %.2f\n", t[count / 2] / 1000.0, t[(long)count * 99 / 100] / 1000.0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "server")) return server(atoi(argv[2]));
  if (argc == 5 && !strcmp(argv[1], "client")) return client(argv[2], atoi(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage: rr server PORT | rr client HOST PORT COUNT\n");
  return 2;
}
