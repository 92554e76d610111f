/*
 * A container's published ports (src/net/dnat.ts containerPortsScript) as nf_tables messages
 * of our own: its DNAT chain ctr-<id>, one rule per IPv4 port, and its entries in the
 * `ports` verdict map. The same messages `nft -f -` sends for that script (checked against
 * what nft makes of it by test/integration/start-path.test.ts), so a start with -p and its
 * removal load no libnftables and fill no rule cache. A start sends them in the transaction of
 * its port's binding (tsd_guard_bind, nftguard.c); the removal is tsd_ports_unbind.
 *
 *   [ip daddr ADDR [fib saddr type local]] meta l4proto P th dport HOSTPORT dnat ip to CTRIP:CTRPORT
 *   ports { P . HOSTPORT : jump ctr-<id> }
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "nftmsg.h"

long long tsd_ports_unbind(const char *inet_table, const char *chain, const char *keys);

/* `meta KEY` into register 1 */
static void meta(struct batch *b, uint32_t key) {
  struct expr e = expr_begin(b, "meta");
  u32(b, NFTA_META_KEY, key);
  u32(b, NFTA_META_DREG, NFT_REG_1);
  expr_end(b, e);
}

static void immediate(struct batch *b, uint32_t reg, const void *data, size_t len) {
  struct expr e = expr_begin(b, "immediate");
  u32(b, NFTA_IMMEDIATE_DREG, reg);
  value(b, NFTA_IMMEDIATE_DATA, data, len);
  expr_end(b, e);
}

static void dnat_rule(struct batch *b, const struct port_rules *p, const struct port_rule *r) {
  size_t x = rule_open(b, NFPROTO_INET, p->table, p->chain);
  if (r->has_addr) {
    /* ip daddr ADDR (nft's dependency in the inet family: meta nfproto ipv4) */
    static const uint8_t ipv4 = NFPROTO_IPV4;
    meta(b, NFT_META_NFPROTO);
    cmp(b, NFT_CMP_EQ, &ipv4, 1);
    payload(b, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
    cmp(b, NFT_CMP_EQ, r->addr, 4);
  }
  if (r->loop) {
    /* fib saddr type local: a published loopback address answers the host itself only */
    static const uint32_t local = RTN_LOCAL;
    struct expr e = expr_begin(b, "fib");
    u32(b, NFTA_FIB_FLAGS, NFTA_FIB_F_SADDR);
    u32(b, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    u32(b, NFTA_FIB_DREG, NFT_REG_1);
    expr_end(b, e);
    cmp(b, NFT_CMP_EQ, &local, 4);
  }
  meta(b, NFT_META_L4PROTO);
  cmp(b, NFT_CMP_EQ, &r->proto, 1);
  payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
  cmp(b, NFT_CMP_EQ, &r->port, 2);
  immediate(b, NFT_REG_1, r->ctr_ip, 4);
  immediate(b, NFT_REG_2, &r->ctr_port, 2);
  struct expr e = expr_begin(b, "nat");
  u32(b, NFTA_NAT_TYPE, NFT_NAT_DNAT);
  u32(b, NFTA_NAT_FAMILY, NFPROTO_IPV4);
  u32(b, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
  u32(b, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
  u32(b, NFTA_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
  expr_end(b, e);
  rule_close(b, x);
}

/* the key `proto . port` of the ports map: each field in a 32-bit word of its own */
static void port_key(struct batch *b, uint8_t proto, uint16_t port) {
  uint8_t k[8] = { proto, 0, 0, 0, 0, 0, 0, 0 };
  memcpy(k + 4, &port, 2);
  value(b, NFTA_SET_ELEM_KEY, k, sizeof k);
}

/* NEWSETELEM (`chain` set: each entry jumps there) or DELSETELEM of the first `n` keys, once each */
static void port_elems(struct batch *b, uint16_t type, const char *table, const char *chain, const struct port_rule *r, int n) {
  msg_begin(b, NFT(type), type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, NFPROTO_INET, 0);
  str(b, NFTA_SET_ELEM_LIST_TABLE, table);
  str(b, NFTA_SET_ELEM_LIST_SET, "ports");
  size_t l = nest(b, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (int i = 0; i < n; i++) {
    int seen = 0;
    for (int j = 0; j < i && !seen; j++) seen = r[j].proto == r[i].proto && r[j].port == r[i].port;
    if (seen) continue;
    size_t e = nest(b, NFTA_LIST_ELEM);
    port_key(b, r[i].proto, r[i].port);
    if (chain) jump_data(b, chain);
    done(b, e);
  }
  done(b, l);
  msg_end(b);
}

void build_ports(struct batch *b, const struct port_rules *p) {
  if (p->n == 0) return;
  chain_msg(b, NFT_MSG_NEWCHAIN, NFPROTO_INET, p->table, p->chain);
  chain_msg(b, NFT_MSG_DELRULE, NFPROTO_INET, p->table, p->chain);
  for (int i = 0; i < p->n; i++) dnat_rule(b, p, &p->r[i]);
  port_elems(b, NFT_MSG_NEWSETELEM, p->table, p->chain, p->r, p->n);
}

static int proto_of(const char *name, uint8_t *out) {
  if (strcmp(name, "tcp") == 0) *out = IPPROTO_TCP;
  else if (strcmp(name, "udp") == 0) *out = IPPROTO_UDP;
  else return -EINVAL;
  return 0;
}

static int port_of(int v, uint16_t *out) {
  if (v < 1 || v > 65535) return -EINVAL;
  *out = htons((uint16_t)v);
  return 0;
}

int ports_parse(const char *text, struct port_rules *out) {
  out->n = 0;
  for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    char proto[8], host[16], ctr[16];
    int hport, cport;
    if (*line == '\n') continue;
    if (out->n >= PORTS_MAX) return -E2BIG;
    struct port_rule *r = &out->r[out->n];
    if (sscanf(line, "%7s %15s %d %15s %d", proto, host, &hport, ctr, &cport) != 5 || proto_of(proto, &r->proto) ||
        port_of(hport, &r->port) || port_of(cport, &r->ctr_port) || inet_pton(AF_INET, host, r->addr) != 1 ||
        inet_pton(AF_INET, ctr, r->ctr_ip) != 1)
      return -EINVAL;
    r->has_addr = strcmp(host, "0.0.0.0") != 0;
    r->loop = r->addr[0] == 127;
    out->n++;
  }
  return 0;
}

/* dropContainerScript: the entries, then the chain's rules and the chain (ENOENT, EBUSY: nothing changed) */
static void build_unbind(struct batch *b, const void *arg) {
  const struct port_rules *p = arg;
  port_elems(b, NFT_MSG_DELSETELEM, p->table, NULL, p->r, p->n);
  chain_msg(b, NFT_MSG_DELRULE, NFPROTO_INET, p->table, p->chain);
  chain_msg(b, NFT_MSG_DELCHAIN, NFPROTO_INET, p->table, p->chain);
}

/* `keys`: lines "tcp|udp HOSTPORT"; returns as tsd_guard_bind (the generation, or -errno) */
long long tsd_ports_unbind(const char *inet_table, const char *chain, const char *keys) {
  struct port_rules p = { .table = inet_table, .chain = chain, .n = 0 };
  if (strlen(chain) >= NFT_CHAIN_MAXNAMELEN) return -EINVAL;
  for (const char *line = keys; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    char proto[8];
    int port;
    if (*line == '\n') continue;
    if (p.n >= PORTS_MAX) return -E2BIG;
    if (sscanf(line, "%7s %d", proto, &port) != 2 || proto_of(proto, &p.r[p.n].proto) || port_of(port, &p.r[p.n].port)) return -EINVAL;
    p.n++;
  }
  if (p.n == 0) return -EINVAL;
  return transact(build_unbind, &p, NULL);
}
