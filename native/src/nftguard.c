/*
 * A bridge port's binding (anti-spoofing, src/net/guard.ts), and with it the container's
 * published ports (nftports.c), as one nf_tables transaction over NETLINK_NETFILTER, without
 * libnftables: the same messages `nft -f -` sends for
 * portGuardScript / dropGuardScript (checked against what nft makes of them by
 * test/integration/start-path.test.ts), so a plain bridge start and its removal load no
 * nft library, fill no rule cache (nft dumps every table, chain, set and object first) and
 * read no iproute2 tables.
 *
 * One socket (kept open, see nl_socket): NFT_MSG_GETGEN, then the batch with that generation (NFNL_BATCH_GENID: the
 * kernel refuses it with ERESTART if anything committed in between, and we ask again), so
 * on success the transaction took the ruleset from generation G to exactly G+1 and the
 * caller knows it was the only change. Returns G (>= 0) or -errno of the first message the
 * kernel refused (ENOENT: a table, chain, set or counter of ours is gone). After a bind, on
 * the same socket, whether iptables-nft's FORWARD policy drops (`*forward`): the FORWARD
 * check of compat.ts has nothing to do, and nothing to record, while it does not. Stack only.
 */

#include <errno.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tsd.h"
#include "nftmsg.h"

long long tsd_guard_bind(const char *inet_table, const char *bridge, const char *net_chain, const char *br_table,
                         const char *host_if, const char *chain, const char *mac, const char *ip, const char *ctr_chain,
                         const char *ports, int *forward);
long long tsd_guard_unbind(const char *br_table, const char *host_if, const char *chain);
int tsd_nft_forward_drops(void);
long long tsd_nft_genid(void);

static void *room(struct batch *b, size_t n) {
  if (b->len + NLA_ALIGN(n) > sizeof b->buf) {
    b->overflow = 1;
    return NULL;
  }
  void *p = b->buf + b->len;
  memset(p, 0, NLA_ALIGN(n));
  b->len += NLA_ALIGN(n);
  return p;
}

void msg_end(struct batch *b) {
  if (b->overflow) return;
  ((struct nlmsghdr *)(b->buf + b->msg))->nlmsg_len = (uint32_t)(b->len - b->msg);
}

void msg_begin(struct batch *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id) {
  b->msg = b->len;
  struct nlmsghdr *nh = room(b, NLMSG_HDRLEN);
  struct nfgenmsg *g = room(b, sizeof *g);
  if (!nh || !g) return;
  nh->nlmsg_type = type;
  nh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  nh->nlmsg_seq = ++b->seq;
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
  g->res_id = htons(res_id);
}

size_t attr(struct batch *b, uint16_t type, const void *data, size_t len) {
  size_t at = b->len;
  struct nlattr *a = room(b, NLA_HDRLEN + len);
  if (!a) return at;
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  if (len) memcpy((char *)a + NLA_HDRLEN, data, len);
  return at;
}

void str(struct batch *b, uint16_t type, const char *s) { attr(b, type, s, strlen(s) + 1); }

void u32(struct batch *b, uint16_t type, uint32_t v) {
  uint32_t be = htonl(v);
  attr(b, type, &be, 4);
}

size_t nest(struct batch *b, uint16_t type) { return attr(b, (uint16_t)(type | NLA_F_NESTED), NULL, 0); }

void done(struct batch *b, size_t at) {
  if (!b->overflow) ((struct nlattr *)(b->buf + at))->nla_len = (uint16_t)(b->len - at);
}

/* NFTA_DATA_VALUE inside a nest of `type` */
void value(struct batch *b, uint16_t type, const void *data, size_t len) {
  size_t n = nest(b, type);
  attr(b, NFTA_DATA_VALUE, data, len);
  done(b, n);
}

/* an interface name as an `ifname` key: IFNAMSIZ bytes, zero-padded */
static void ifkey(struct batch *b, uint16_t type, const char *name) {
  char k[IFNAMSIZ] = { 0 };
  strncpy(k, name, IFNAMSIZ - 1);
  value(b, type, k, sizeof k);
}

/* a verdict map element's data: `jump chain` */
void jump_data(struct batch *b, const char *chain) {
  size_t d = nest(b, NFTA_SET_ELEM_DATA);
  size_t v = nest(b, NFTA_DATA_VERDICT);
  u32(b, NFTA_VERDICT_CODE, (uint32_t)NFT_JUMP);
  str(b, NFTA_VERDICT_CHAIN, chain);
  done(b, v);
  done(b, d);
}

/* one element of an `ifname : verdict` map (`jump` to `chain`), or of the key alone (`chain` NULL) */
static void elem_list(struct batch *b, uint16_t type, uint8_t family, const char *table, const char *set, const char *key,
                      const char *chain) {
  msg_begin(b, NFT(type), type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, family, 0);
  str(b, NFTA_SET_ELEM_LIST_TABLE, table);
  str(b, NFTA_SET_ELEM_LIST_SET, set);
  size_t l = nest(b, NFTA_SET_ELEM_LIST_ELEMENTS);
  size_t e = nest(b, NFTA_LIST_ELEM);
  ifkey(b, NFTA_SET_ELEM_KEY, key);
  if (chain) jump_data(b, chain);
  done(b, e);
  done(b, l);
  msg_end(b);
}

/* NEWCHAIN (add: no EXCL), DELRULE of the whole chain (flush) or DELCHAIN */
void chain_msg(struct batch *b, uint16_t type, uint8_t family, const char *table, const char *chain) {
  msg_begin(b, NFT(type), type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0, family, 0);
  str(b, type == NFT_MSG_DELRULE ? NFTA_RULE_TABLE : NFTA_CHAIN_TABLE, table);
  str(b, type == NFT_MSG_DELRULE ? NFTA_RULE_CHAIN : NFTA_CHAIN_NAME, chain);
  msg_end(b);
}

struct expr expr_begin(struct batch *b, const char *name) {
  struct expr x;
  x.elem = nest(b, NFTA_LIST_ELEM);
  str(b, NFTA_EXPR_NAME, name);
  x.data = nest(b, NFTA_EXPR_DATA);
  return x;
}

void expr_end(struct batch *b, struct expr x) {
  done(b, x.data);
  done(b, x.elem);
}

void payload(struct batch *b, uint32_t base, uint32_t offset, uint32_t len) {
  struct expr e = expr_begin(b, "payload");
  u32(b, NFTA_PAYLOAD_DREG, NFT_REG_1);
  u32(b, NFTA_PAYLOAD_BASE, base);
  u32(b, NFTA_PAYLOAD_OFFSET, offset);
  u32(b, NFTA_PAYLOAD_LEN, len);
  expr_end(b, e);
}

void cmp(struct batch *b, uint32_t op, const void *data, size_t len) {
  struct expr e = expr_begin(b, "cmp");
  u32(b, NFTA_CMP_SREG, NFT_REG_1);
  u32(b, NFTA_CMP_OP, op);
  value(b, NFTA_CMP_DATA, data, len);
  expr_end(b, e);
}

/* `counter name spoofed drop`: the end of every rule of a port's chain */
static void count_drop(struct batch *b) {
  struct expr e = expr_begin(b, "objref");
  u32(b, NFTA_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
  str(b, NFTA_OBJREF_IMM_NAME, "spoofed");
  expr_end(b, e);
  e = expr_begin(b, "immediate");
  u32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
  size_t d = nest(b, NFTA_IMMEDIATE_DATA);
  size_t v = nest(b, NFTA_DATA_VERDICT);
  u32(b, NFTA_VERDICT_CODE, NF_DROP);
  done(b, v);
  done(b, d);
  expr_end(b, e);
}

/* a NEWRULE appended to `chain`: the offset of its expression list, for rule_close */
size_t rule_open(struct batch *b, uint8_t family, const char *table, const char *chain) {
  msg_begin(b, NFT(NFT_MSG_NEWRULE), NLM_F_CREATE | NLM_F_APPEND, family, 0);
  str(b, NFTA_RULE_TABLE, table);
  str(b, NFTA_RULE_CHAIN, chain);
  return nest(b, NFTA_RULE_EXPRESSIONS);
}

void rule_close(struct batch *b, size_t exprs) {
  done(b, exprs);
  msg_end(b);
}

static size_t rule_begin(struct batch *b, const char *table, const char *chain) { return rule_open(b, NFPROTO_BRIDGE, table, chain); }

static void rule_end(struct batch *b, size_t exprs) {
  count_drop(b);
  rule_close(b, exprs);
}

static const uint8_t ETH_ARP[2] = { 0x08, 0x06 }, ETH_IP[2] = { 0x08, 0x00 };

/* the anonymous set { ip, arp, ip6 } as nft 1.0 sends it (its user data: "typeof ether type") */
static void ethertypes(struct batch *b, const char *table, uint32_t id) {
  static const uint8_t udata[] = { 0x00, 0x04, 0x02, 0x00, 0x00, 0x00, 0x03, 0x14, 0x00, 0x04, 0x07, 0x00, 0x00, 0x00,
                                   0x01, 0x0c, 0x00, 0x04, 0x11, 0x00, 0x00, 0x00, 0x01, 0x04, 0x03, 0x00, 0x00, 0x00 };
  msg_begin(b, NFT(NFT_MSG_NEWSET), NLM_F_CREATE, NFPROTO_BRIDGE, 0);
  str(b, NFTA_SET_TABLE, table);
  str(b, NFTA_SET_NAME, "__set%d");
  u32(b, NFTA_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT);
  u32(b, NFTA_SET_KEY_TYPE, 10); /* nft's TYPE_ETHERTYPE */
  u32(b, NFTA_SET_KEY_LEN, 2);
  u32(b, NFTA_SET_ID, id);
  size_t d = nest(b, NFTA_SET_DESC);
  u32(b, NFTA_SET_DESC_SIZE, 3);
  done(b, d);
  attr(b, NFTA_SET_USERDATA, udata, sizeof udata);
  msg_end(b);
  msg_begin(b, NFT(NFT_MSG_NEWSETELEM), NLM_F_CREATE, NFPROTO_BRIDGE, 0);
  str(b, NFTA_SET_ELEM_LIST_TABLE, table);
  str(b, NFTA_SET_ELEM_LIST_SET, "__set%d");
  u32(b, NFTA_SET_ELEM_LIST_SET_ID, id);
  size_t l = nest(b, NFTA_SET_ELEM_LIST_ELEMENTS);
  static const uint8_t types[3][2] = { { 0x08, 0x00 }, { 0x08, 0x06 }, { 0x86, 0xdd } };
  for (int i = 0; i < 3; i++) {
    size_t e = nest(b, NFTA_LIST_ELEM);
    value(b, NFTA_SET_ELEM_KEY, types[i], 2);
    done(b, e);
  }
  done(b, l);
  msg_end(b);
}

static void batch_edge(struct batch *b, uint16_t type, uint32_t genid) {
  msg_begin(b, type, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  if (type == NFNL_MSG_BATCH_BEGIN) u32(b, NFNL_BATCH_GENID, genid);
  msg_end(b);
}

/*
 * One NETLINK_NETFILTER socket per process, kept open. Closing an nfnetlink socket runs
 * nf_tables' release notifier, which first flushes the deferred destruction of whatever a
 * commit deleted (the unbind's chain, rules and element): an RCU grace period, 7-16 ms on
 * this VM (measured: close() after the unbind 9-13 ms, after the bind 0.02 ms). Kept open,
 * that destruction finishes meanwhile on its own and the socket goes with the process.
 * Also one socket() and close() fewer per transaction. Sequence numbers run on across
 * requests and every answer is matched by its number. Callers: the JS main thread (koffi
 * synchronous calls).
 */
static int nl_fd = -1;
static uint32_t nl_seq = 1000;

static int nl_socket(void) {
  if (nl_fd < 0) nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  return nl_fd < 0 ? -errno : nl_fd;
}

/* after a failure to send or receive, half an answer may be queued: a new socket next time */
static int nl_broken(int err) {
  if (nl_fd >= 0) close(nl_fd);
  nl_fd = -1;
  return err;
}

/* the u32 attribute `type` of an nf_tables message (after its nfgenmsg): 0, or -ENOENT when absent */
static int attr_u32(const struct nlmsghdr *h, int type, uint32_t *out) {
  const char *p = (const char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg)), *end = (const char *)h + h->nlmsg_len;
  while (p + NLA_HDRLEN <= end) {
    const struct nlattr *a = (const struct nlattr *)p;
    if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
    if ((a->nla_type & NLA_TYPE_MASK) == type && a->nla_len >= NLA_HDRLEN + 4) {
      memcpy(out, p + NLA_HDRLEN, 4);
      *out = ntohl(*out);
      return 0;
    }
    p += NLA_ALIGN(a->nla_len);
  }
  return -ENOENT;
}

/*
 * Send one request (or batch) and hand every answer to `take` until it says it has what it
 * waited for (1); 0 or -errno of the transport. The kernel answers within our sendto.
 */
typedef int (*take_fn)(const struct nlmsghdr *h, void *ctx);

static int talk(int fd, const void *msg, size_t len, take_fn take, void *ctx) {
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, msg, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return nl_broken(-errno);
  char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return nl_broken(-errno);
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
      if (take(h, ctx)) return 0;
  }
}

/* the answer to one request: its error, or the u32 attribute `attr` of a message of type `type` */
struct one {
  uint32_t seq;
  uint16_t type;
  int attr;
  long long result; /* the value, -ENOENT without the attribute, or the kernel's -errno */
};

static int take_one(const struct nlmsghdr *h, void *ctx) {
  struct one *o = ctx;
  if (h->nlmsg_seq != o->seq) return 0;
  if (h->nlmsg_type == NLMSG_ERROR) {
    o->result = ((const struct nlmsgerr *)NLMSG_DATA(h))->error ?: -EPROTO;
    return 1;
  }
  if (h->nlmsg_type != o->type) return 0;
  uint32_t v;
  o->result = attr_u32(h, o->attr, &v) == 0 ? (long long)v : -ENOENT;
  return 1;
}

static long long ask(int fd, struct batch *req, uint16_t type, int attr) {
  struct one o = { req->seq, type, attr, -EPROTO };
  int rc = talk(fd, req->buf, req->len, take_one, &o);
  return rc < 0 ? rc : o.result;
}

/* the generation id */
static long long getgen(int fd) {
  struct batch b;
  b.len = b.msg = 0;
  b.seq = nl_seq;
  b.overflow = 0;
  msg_begin(&b, NFT(NFT_MSG_GETGEN), 0, AF_UNSPEC, 0);
  msg_end(&b);
  nl_seq = b.seq;
  long long gen = ask(fd, &b, NFT(NFT_MSG_NEWGEN), NFTA_GEN_ID);
  return gen == -ENOENT ? -EPROTO : gen;
}

/*
 * The answers to a batch. The kernel runs the whole transaction inside our sendto and
 * queues an answer for each message that failed and for the last one, which asks for an
 * ack (nft reads the same errors): one recv on success; after a failure, every refusal
 * comes first, in order, then that ack. A refusal of the batch itself (ERESTART: the
 * generation moved) answers BATCH_BEGIN (`begin`), and nothing follows it.
 */
struct acks {
  uint32_t begin, last;
  int first;
};

static int take_ack(const struct nlmsghdr *h, void *ctx) {
  struct acks *k = ctx;
  if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < k->begin || h->nlmsg_seq > k->last) return 0;
  int err = ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
  if (err && !k->first) k->first = err;
  return h->nlmsg_seq == k->begin || h->nlmsg_seq == k->last;
}

static int commit(int fd, struct batch *b, uint32_t begin, uint32_t last) {
  struct acks k = { begin, last, 0 };
  int rc = talk(fd, b->buf, b->len, take_ack, &k);
  return rc < 0 ? rc : k.first;
}

/*
 * Does iptables-nft's FORWARD chain (nf_tables: table ip filter, chain FORWARD) drop by
 * policy, as `iptables -S FORWARD` would print `-P FORWARD DROP`? 1 yes, 0 no (another
 * policy, or no such table or chain: iptables would show ACCEPT), or -errno. One NFT_MSG_GETCHAIN.
 */
static int forward_drops(int fd) {
  struct batch b;
  b.len = b.msg = 0;
  b.seq = nl_seq;
  b.overflow = 0;
  msg_begin(&b, NFT(NFT_MSG_GETCHAIN), 0, NFPROTO_IPV4, 0);
  str(&b, NFTA_CHAIN_TABLE, "filter");
  str(&b, NFTA_CHAIN_NAME, "FORWARD");
  msg_end(&b);
  nl_seq = b.seq;
  long long policy = ask(fd, &b, NFT(NFT_MSG_NEWCHAIN), NFTA_CHAIN_POLICY);
  if (policy == -ENOENT) return 0; /* no such table or chain, or no policy (not a base chain) */
  return policy < 0 ? (int)policy : policy == NF_DROP;
}

/*
 * The nf_tables generation id of the caller's network namespace (~0.05 ms, against ~2-7 ms
 * for an `iptables -S` process). Every transaction bumps it, so a firewall check recorded at
 * generation G still holds while the id is G. Returns the id (0..2^32-1) or -errno.
 */
long long tsd_nft_genid(void) {
  int fd = nl_socket();
  return fd < 0 ? fd : getgen(fd);
}

int tsd_nft_forward_drops(void) {
  int fd = nl_socket();
  return fd < 0 ? fd : forward_drops(fd);
}

/* GETGEN, then the batch at that generation; again while another commit slipped in between */
/* `forward` (may be NULL): after a commit, forward_drops on the same socket */
long long transact(build_fn build, const void *arg, int *forward) {
  long long rc = -EAGAIN;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && rc == -EAGAIN; attempt++) {
    fd = nl_socket();
    if (fd < 0) return fd;
    long long gen = getgen(fd);
    if (gen < 0) {
      rc = gen;
      break;
    }
    struct batch b;
    b.len = b.msg = 0;
    b.seq = nl_seq;
    b.overflow = 0;
    batch_edge(&b, NFNL_MSG_BATCH_BEGIN, (uint32_t)gen);
    uint32_t begin = b.seq;
    build(&b, arg);
    uint32_t last = b.seq;
    if (!b.overflow) ((struct nlmsghdr *)(b.buf + b.msg))->nlmsg_flags |= NLM_F_ACK;
    batch_edge(&b, NFNL_MSG_BATCH_END, 0);
    nl_seq = b.seq;
    if (b.overflow) {
      rc = -ENAMETOOLONG;
      break;
    }
    int err = commit(fd, &b, begin, last);
    rc = err == -ERESTART ? -EAGAIN : err ? err : gen;
  }
  if (forward) *forward = rc >= 0 ? forward_drops(nl_fd) : -EAGAIN;
  return rc;
}

struct bind_args {
  const char *inet_table, *bridge, *net_chain, *br_table, *host_if, *chain;
  uint8_t mac[6];
  uint8_t ip[4];
  const struct port_rules *ports; /* the container's published ports, in the same transaction (nftports.c) */
};

/* `arp saddr ether|ip != value`: ether type arp (nft's dependency), then the sender field at `offset` */
static void arp_sender_rule(struct batch *b, const struct bind_args *a, uint32_t offset, const uint8_t *value, uint32_t len) {
  size_t r = rule_begin(b, a->br_table, a->chain);
  payload(b, NFT_PAYLOAD_LL_HEADER, 12, 2);
  cmp(b, NFT_CMP_EQ, ETH_ARP, 2);
  payload(b, NFT_PAYLOAD_NETWORK_HEADER, offset, len);
  cmp(b, NFT_CMP_NEQ, value, len);
  rule_end(b, r);
}

/* portGuardScript, message by message */
static void build_bind(struct batch *b, const void *arg) {
  const struct bind_args *a = arg;
  elem_list(b, NFT_MSG_NEWSETELEM, NFPROTO_INET, a->inet_table, "netfwd", a->bridge, a->net_chain);
  chain_msg(b, NFT_MSG_NEWCHAIN, NFPROTO_BRIDGE, a->br_table, a->chain);
  chain_msg(b, NFT_MSG_DELRULE, NFPROTO_BRIDGE, a->br_table, a->chain);
  /* ether saddr != MAC */
  size_t r = rule_begin(b, a->br_table, a->chain);
  payload(b, NFT_PAYLOAD_LL_HEADER, 6, 6);
  cmp(b, NFT_CMP_NEQ, a->mac, 6);
  rule_end(b, r);
  /* ether type != { ip, arp, ip6 } */
  ethertypes(b, a->br_table, 1);
  r = rule_begin(b, a->br_table, a->chain);
  payload(b, NFT_PAYLOAD_LL_HEADER, 12, 2);
  struct expr e = expr_begin(b, "lookup");
  u32(b, NFTA_LOOKUP_SREG, NFT_REG_1);
  str(b, NFTA_LOOKUP_SET, "__set%d");
  u32(b, NFTA_LOOKUP_SET_ID, 1);
  u32(b, NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  expr_end(b, e);
  rule_end(b, r);
  arp_sender_rule(b, a, 8, a->mac, 6); /* arp saddr ether != MAC */
  arp_sender_rule(b, a, 14, a->ip, 4); /* arp saddr ip != IP */
  /* ip saddr != IP (nft's dependency for ip in the bridge family: meta protocol ip) */
  r = rule_begin(b, a->br_table, a->chain);
  e = expr_begin(b, "meta");
  u32(b, NFTA_META_KEY, NFT_META_PROTOCOL);
  u32(b, NFTA_META_DREG, NFT_REG_1);
  expr_end(b, e);
  cmp(b, NFT_CMP_EQ, ETH_IP, 2);
  payload(b, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
  cmp(b, NFT_CMP_NEQ, a->ip, 4);
  rule_end(b, r);
  elem_list(b, NFT_MSG_NEWSETELEM, NFPROTO_BRIDGE, a->br_table, "guard", a->host_if, a->chain);
  if (a->ports) build_ports(b, a->ports);
}

/* dropGuardScript: add, then delete, so it succeeds whether or not the binding is there */
static void build_unbind(struct batch *b, const void *arg) {
  const struct bind_args *a = arg;
  chain_msg(b, NFT_MSG_NEWCHAIN, NFPROTO_BRIDGE, a->br_table, a->chain);
  chain_msg(b, NFT_MSG_DELRULE, NFPROTO_BRIDGE, a->br_table, a->chain);
  elem_list(b, NFT_MSG_NEWSETELEM, NFPROTO_BRIDGE, a->br_table, "guard", a->host_if, a->chain);
  elem_list(b, NFT_MSG_DELSETELEM, NFPROTO_BRIDGE, a->br_table, "guard", a->host_if, NULL);
  chain_msg(b, NFT_MSG_DELCHAIN, NFPROTO_BRIDGE, a->br_table, a->chain);
}

static int names_ok(const char *host_if, const char *chain) {
  return strlen(host_if) < IFNAMSIZ && strlen(chain) < NFT_CHAIN_MAXNAMELEN;
}

/* `ports` (may be NULL or empty): lines "tcp|udp HOSTIP HOSTPORT CTRIP CTRPORT" of the container's
   IPv4 ports, its DNAT chain `ctr_chain`, made in the same transaction as the binding */
long long tsd_guard_bind(const char *inet_table, const char *bridge, const char *net_chain, const char *br_table,
                         const char *host_if, const char *chain, const char *mac, const char *ip, const char *ctr_chain,
                         const char *ports, int *forward) {
  struct bind_args a = { inet_table, bridge, net_chain, br_table, host_if, chain, { 0 }, { 0 }, NULL };
  unsigned int m[6];
  if (forward) *forward = -EINVAL;
  if (!names_ok(host_if, chain) || strlen(bridge) >= IFNAMSIZ) return -EINVAL;
  if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) return -EINVAL;
  for (int i = 0; i < 6; i++) a.mac[i] = (uint8_t)m[i];
  if (inet_pton(AF_INET, ip, a.ip) != 1) return -EINVAL;
  struct port_rules p = { .table = inet_table, .chain = ctr_chain, .n = 0 };
  if (ports && *ports) {
    if (!ctr_chain || strlen(ctr_chain) >= NFT_CHAIN_MAXNAMELEN) return -EINVAL;
    int rc = ports_parse(ports, &p);
    if (rc < 0) return rc;
    a.ports = &p;
  }
  return transact(build_bind, &a, forward);
}

long long tsd_guard_unbind(const char *br_table, const char *host_if, const char *chain) {
  struct bind_args a = { NULL, NULL, NULL, br_table, host_if, chain, { 0 }, { 0 }, NULL };
  if (!names_ok(host_if, chain)) return -EINVAL;
  return transact(build_unbind, &a, NULL);
}
