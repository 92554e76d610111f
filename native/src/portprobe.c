/*
 * Is a host port free? Asked the way Docker's docker-proxy finds out: by binding it
 * (src/net/ports.ts). The kernel's own bind check sees every socket of the namespace, with
 * its address and family rules, at the cost of four syscalls; reading /proc/net/tcp{,6}
 * walks the kernel's whole socket hash for each file (1-5 ms) and sees only listeners.
 *
 *   TCP: SO_REUSEADDR, as Go's net.Listen sets for a listener: a TIME_WAIT socket or one
 *        merely bound with SO_REUSEADDR does not count, a LISTEN socket does.
 *   UDP: no SO_REUSEADDR, as Go's ListenUDP: any bound socket counts.
 *   IPv6: IPV6_V6ONLY, as Go's "tcp6"/"udp6" (the IPv4 side is probed on its own). An IPv4
 *        0.0.0.0 probe also meets a dual-stack [::] socket (the kernel's bind rules).
 *
 * The socket is closed at once: never listened on, so nothing lingers (no TIME_WAIT).
 * Returns 0 when the bind succeeded (free) or -errno (EADDRINUSE: taken; EADDRNOTAVAIL: no
 * such local address; EINVAL: not an address). Touches no namespace; stack only.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tsd_port_probe(const char *ip, int port, int udp);

int tsd_port_probe(const char *ip, int port, int udp) {
  if (port < 1 || port > 65535) return -EINVAL;
  struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
  int v6 = strchr(ip, ':') != NULL;
  if (v6 ? inet_pton(AF_INET6, ip, &a6.sin6_addr) != 1 : inet_pton(AF_INET, ip, &a4.sin_addr) != 1) return -EINVAL;
  int fd = socket(v6 ? AF_INET6 : AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1, rc = 0;
  if (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) rc = -errno;
  if (!rc && !udp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) rc = -errno;
  if (!rc && bind(fd, v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4, v6 ? sizeof a6 : sizeof a4) < 0) rc = -errno;
  close(fd);
  return rc;
}
