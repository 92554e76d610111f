/*
 * nf_tables transactions of our own over NETLINK_NETFILTER (no libnftables): the message
 * builders and the transaction of nftguard.c (a port's binding), shared with nftports.c (a
 * container's published ports). Internal to libtsdocker.so (hidden symbols).
 */
#ifndef TSD_NFTMSG_H
#define TSD_NFTMSG_H

#include <stddef.h>
#include <stdint.h>

#define NFT(msg) ((NFNL_SUBSYS_NFTABLES << 8) | (msg))

#pragma GCC visibility push(hidden)

/* one request or batch being built, on the stack; `overflow`: it did not fit (nothing is sent) */
struct batch {
  char buf[32768] __attribute__((aligned(4)));
  size_t len;    /* bytes used */
  size_t msg;    /* offset of the message being built */
  uint32_t seq;  /* seq of the last message */
  int overflow;
};

void msg_begin(struct batch *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id);
void msg_end(struct batch *b);
size_t attr(struct batch *b, uint16_t type, const void *data, size_t len);
void str(struct batch *b, uint16_t type, const char *s);
void u32(struct batch *b, uint16_t type, uint32_t v);
size_t nest(struct batch *b, uint16_t type);
void done(struct batch *b, size_t at);
/* NFTA_DATA_VALUE inside a nest of `type` */
void value(struct batch *b, uint16_t type, const void *data, size_t len);

struct expr {
  size_t elem, data;
};
struct expr expr_begin(struct batch *b, const char *name);
void expr_end(struct batch *b, struct expr x);
/* load into register 1; compare register 1 */
void payload(struct batch *b, uint32_t base, uint32_t offset, uint32_t len);
void cmp(struct batch *b, uint32_t op, const void *data, size_t len);

/* a verdict map element's data: `jump chain` */
void jump_data(struct batch *b, const char *chain);

/* NEWCHAIN (add), DELRULE of the whole chain (flush) or DELCHAIN, in `family` */
void chain_msg(struct batch *b, uint16_t type, uint8_t family, const char *table, const char *chain);
/* a NEWRULE appended to `chain`: returns where its expressions start, for rule_close */
size_t rule_open(struct batch *b, uint8_t family, const char *table, const char *chain);
void rule_close(struct batch *b, size_t exprs);

/* GETGEN, then the batch `build` makes at that generation (again while another commit slipped
   in): the generation G it committed from (it made exactly G+1), or -errno. `forward` (may be
   NULL): after a commit, whether iptables-nft's FORWARD drops by policy. */
typedef void (*build_fn)(struct batch *b, const void *arg);
long long transact(build_fn build, const void *arg, int *forward);

/* nftports.c: a container's DNAT chain, its rules and its entries in the ports map */
#define PORTS_MAX 256
struct port_rule {
  uint8_t proto;         /* IPPROTO_TCP or IPPROTO_UDP */
  int has_addr, loop;    /* `ip daddr ADDR` (not 0.0.0.0); ADDR is 127/8: `fib saddr type local` */
  uint8_t addr[4], ctr_ip[4];
  uint16_t port, ctr_port; /* network order */
};
struct port_rules {
  const char *table, *chain; /* the inet table, the container's chain */
  int n;
  struct port_rule r[PORTS_MAX];
};
/* lines "tcp|udp HOSTIP HOSTPORT CTRIP CTRPORT" (IPv4); 0 or -EINVAL */
int ports_parse(const char *text, struct port_rules *out);
/* containerPortsScript: add + flush the chain, a rule per port, the map entries */
void build_ports(struct batch *b, const struct port_rules *p);

#pragma GCC visibility pop

#endif
