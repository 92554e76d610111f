/*
 * tsd_veth_attach: the host side of a container's veth over rtnetlink, in the caller's
 * network namespace (no `ip` process on the start path). One RTM_NEWLINK creates the pair
 * with the peer already in the container's namespace (by pid) under its final name and MAC,
 * the host side in the bridge and up; a second request (AF_BRIDGE, IFLA_PROTINFO) turns
 * hairpin mode on when asked. Stack buffers only; touches no namespace of the caller.
 * Returns 0 or -errno (the kernel's answer, as `ip` would report it).
 */

#include <errno.h>
#include <net/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tsd.h"

int tsd_veth_attach(const char *host_if, const char *peer_if, const char *peer_mac, int mtu, int pid, const char *bridge, int hairpin);

static struct rtattr *put(struct nlmsghdr *nh, int type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
  a->rta_type = (unsigned short)type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len) {
    if (data) memcpy(RTA_DATA(a), data, len);
    else memset(RTA_DATA(a), 0, len);
  }
  nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static void end(struct nlmsghdr *nh, struct rtattr *nest) {
  nest->rta_len = (unsigned short)((char *)nh + nh->nlmsg_len - (char *)nest);
}

/* send one request, wait for its ack: 0 or -errno */
static int talk(int fd, struct nlmsghdr *nh) {
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != nh->nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
  }
}

static int parse_mac(const char *s, unsigned char mac[6]) {
  unsigned int b[6];
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return -EINVAL;
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)b[i];
  return 0;
}

int tsd_veth_attach(const char *host_if, const char *peer_if, const char *peer_mac, int mtu, int pid, const char *bridge, int hairpin) {
  unsigned char mac[6];
  if (strlen(host_if) >= IFNAMSIZ || strlen(peer_if) >= IFNAMSIZ || parse_mac(peer_mac, mac) < 0) return -EINVAL;
  unsigned int master = if_nametoindex(bridge);
  if (!master) return -ENODEV;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;

  char mbuf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct nlmsghdr *nh = (struct nlmsghdr *)mbuf;
  memset(mbuf, 0, sizeof mbuf);
  nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  nh->nlmsg_type = RTM_NEWLINK;
  nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
  nh->nlmsg_seq = 1;
  struct ifinfomsg *ifi = NLMSG_DATA(nh);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  uint32_t umtu = (uint32_t)mtu, upid = (uint32_t)pid;
  put(nh, IFLA_IFNAME, host_if, strlen(host_if) + 1);
  put(nh, IFLA_MTU, &umtu, 4);
  put(nh, IFLA_MASTER, &master, 4);
  struct rtattr *info = put(nh, IFLA_LINKINFO, NULL, 0);
  put(nh, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = put(nh, IFLA_INFO_DATA, NULL, 0);
  struct rtattr *peer = put(nh, VETH_INFO_PEER, NULL, sizeof(struct ifinfomsg)); /* zeroed ifinfomsg */
  put(nh, IFLA_IFNAME, peer_if, strlen(peer_if) + 1);
  put(nh, IFLA_ADDRESS, mac, 6);
  put(nh, IFLA_MTU, &umtu, 4);
  put(nh, IFLA_NET_NS_PID, &upid, 4);
  end(nh, peer);
  end(nh, data);
  end(nh, info);
  int rc = talk(fd, nh);

  if (rc == 0 && hairpin) {
    unsigned int idx = if_nametoindex(host_if);
    memset(mbuf, 0, sizeof mbuf);
    nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    nh->nlmsg_type = RTM_SETLINK;
    nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nh->nlmsg_seq = 2;
    ifi = NLMSG_DATA(nh);
    ifi->ifi_family = AF_BRIDGE;
    ifi->ifi_index = (int)idx;
    unsigned char on = 1;
    struct rtattr *prot = put(nh, IFLA_PROTINFO | NLA_F_NESTED, NULL, 0);
    put(nh, IFLA_BRPORT_MODE, &on, 1);
    end(nh, prot);
    rc = idx ? talk(fd, nh) : -ENODEV;
  }
  close(fd);
  return rc;
}
