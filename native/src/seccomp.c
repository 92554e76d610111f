/*
 * The seccomp spec (PROTOCOL.md) compiled with libseccomp. Compiled in the monitor, where
 * the host path is still reachable and errors are cheap to report; loaded by the child
 * as its last step before execve. Syscall names this kernel/arch does not know are skipped.
 *
 * Compiled filters are kept (spec key seccomp_cache): libseccomp took ~1.1 ms to build the
 * default profile's rule tree and ~1.9 ms to generate its BPF at load, on every start, for
 * the same text. The cache file holds the BPF that libseccomp generated for the text
 * (seccomp_export_bpf: the very program seccomp_load installs), named by a hash of the text
 * and libseccomp's version, with the text's hash and the program's hash inside; a file that
 * does not check out is ignored and written again. The child then installs the program
 * itself with seccomp(2), flags 0, as seccomp_load does with our attributes (no TSYNC, no
 * LOG, no SPEC_ALLOW; no_new_privs set apart by the spec's nnp key).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor.h"

static int parse_action(const char *s, uint32_t *act) {
  if (!strcmp(s, "allow")) *act = SCMP_ACT_ALLOW;
  else if (!strcmp(s, "kill")) *act = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(s, "trap")) *act = SCMP_ACT_TRAP;
  else if (!strcmp(s, "log")) *act = SCMP_ACT_LOG;
  else if (!strncmp(s, "errno:", 6)) {
    char *e;
    long n = strtol(s + 6, &e, 10);
    if (*e || n < 0 || n > 4095) return -1;
    *act = SCMP_ACT_ERRNO((uint32_t)n);
  } else return -1;
  return 0;
}

static int parse_op(const char *s, enum scmp_compare *op) {
  static const struct { const char *n; enum scmp_compare op; } ops[] = {
      {"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE}, {"eq", SCMP_CMP_EQ},
      {"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"masked_eq", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(s, ops[i].n)) { *op = ops[i].op; return 0; }
  return -1;
}

/* one `rule` line, already split into words */
static int add_rule(scmp_filter_ctx ctx, char **w, int nw, int lineno, struct tsd_error *err) {
  uint32_t act;
  if (nw < 3 || parse_action(w[1], &act) < 0)
    return tsd_fail(err, 125, EINVAL, "seccomp line %d: expected rule <action> <syscall> ...", lineno);
  int nr = seccomp_syscall_resolve_name(w[2]);
  if (nr == __NR_SCMP_ERROR) return 0; /* unknown here: skipped */
  struct scmp_arg_cmp cmp[6];
  int n = 0, i = 3;
  while (i < nw) {
    if (n >= 6 || i + 2 >= nw) return tsd_fail(err, 125, EINVAL, "seccomp line %d: bad argument condition", lineno);
    char *e;
    unsigned long idx = strtoul(w[i], &e, 10);
    enum scmp_compare op;
    if (*e || idx > 5 || parse_op(w[i + 1], &op) < 0)
      return tsd_fail(err, 125, EINVAL, "seccomp line %d: bad argument condition", lineno);
    uint64_t v1 = strtoull(w[i + 2], &e, 0), v2 = 0;
    if (*e) return tsd_fail(err, 125, EINVAL, "seccomp line %d: bad value %s", lineno, w[i + 2]);
    i += 3;
    if (op == SCMP_CMP_MASKED_EQ) {
      if (i >= nw) return tsd_fail(err, 125, EINVAL, "seccomp line %d: masked_eq needs two values", lineno);
      v2 = strtoull(w[i], &e, 0);
      if (*e) return tsd_fail(err, 125, EINVAL, "seccomp line %d: bad value %s", lineno, w[i]);
      i++;
    }
    cmp[n++] = (struct scmp_arg_cmp){(unsigned)idx, op, v1, v2};
  }
  int r = seccomp_rule_add_array(ctx, act, nr, (unsigned)n, cmp);
  /* EACCES: the rule's action equals the default; EEXIST: a duplicate. Both are harmless. */
  if (r < 0 && r != -EACCES && r != -EEXIST && r != -EOPNOTSUPP)
    return tsd_fail(err, 125, -r, "seccomp line %d: add rule for %s: %s", lineno, w[2], tsd_errname(-r));
  return 0;
}

struct tsd_filter {
  scmp_filter_ctx ctx;      /* built by libseccomp (no usable cache), or NULL */
  struct sock_filter *prog; /* from the cache, or NULL */
  unsigned short len;
};

#define CACHE_MAGIC "TSDBPF1"
struct cache_head {
  char magic[8];
  uint64_t text_hash;
  uint64_t prog_hash;
  uint32_t len; /* sock_filter entries */
  uint32_t pad;
};

static uint64_t fnv1a(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

static int cache_path(char *out, size_t size, const char *dir, uint64_t text_hash) {
  return snprintf(out, size, "%s/%016llx-%d.%d.%d.bpf", dir, (unsigned long long)text_hash, SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO) < (int)size ? 0 : -1;
}

/* The cached program for this text, or NULL (absent, or not what it claims to be). */
static struct tsd_filter *cache_read(const char *dir, uint64_t text_hash) {
  char path[4096];
  if (cache_path(path, sizeof path, dir, text_hash) < 0) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  struct stat st;
  struct cache_head h;
  struct tsd_filter *f = NULL;
  if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof h && st.st_size < (1 << 20) &&
      read(fd, &h, sizeof h) == (ssize_t)sizeof h && !memcmp(h.magic, CACHE_MAGIC, 8) && h.text_hash == text_hash &&
      h.len > 0 && h.len <= BPF_MAXINSNS && st.st_size == (off_t)(sizeof h + h.len * sizeof(struct sock_filter))) {
    f = calloc(1, sizeof *f);
    if (f && (f->prog = malloc(h.len * sizeof(struct sock_filter))) &&
        read(fd, f->prog, h.len * sizeof(struct sock_filter)) == (ssize_t)(h.len * sizeof(struct sock_filter)) &&
        fnv1a(f->prog, h.len * sizeof(struct sock_filter)) == h.prog_hash) {
      f->len = (unsigned short)h.len;
    } else if (f) {
      free(f->prog);
      free(f);
      f = NULL;
    }
  }
  close(fd);
  return f;
}

/* Keep the program libseccomp generates for this text (best effort: a start never fails on it). */
static void cache_write(const char *dir, uint64_t text_hash, scmp_filter_ctx ctx) {
  char path[4096], tmp[4200];
  if (cache_path(path, sizeof path, dir, text_hash) < 0) return;
  int mfd = memfd_create("tsd-bpf", MFD_CLOEXEC);
  if (mfd < 0) return;
  void *prog = NULL;
  off_t size = -1;
  if (seccomp_export_bpf(ctx, mfd) == 0 && (size = lseek(mfd, 0, SEEK_END)) > 0 && size % (off_t)sizeof(struct sock_filter) == 0 &&
      size / (off_t)sizeof(struct sock_filter) <= BPF_MAXINSNS && (prog = malloc((size_t)size)) && pread(mfd, prog, (size_t)size, 0) == size) {
    struct cache_head h = {.text_hash = text_hash, .prog_hash = fnv1a(prog, (size_t)size), .len = (uint32_t)(size / (off_t)sizeof(struct sock_filter))};
    memcpy(h.magic, CACHE_MAGIC, 8);
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
      *slash = 0;
      mkdir(parent, 0700); /* <root>/cache */
    }
    mkdir(dir, 0700);
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      /* no fsync: a torn file after a crash fails its hashes and is compiled again */
      int ok = write(fd, &h, sizeof h) == (ssize_t)sizeof h && write(fd, prog, (size_t)size) == size;
      close(fd);
      if (!ok || rename(tmp, path) < 0) unlink(tmp);
    }
  }
  free(prog);
  close(mfd);
}

/* The whole spec file (NUL-terminated, *len bytes), or NULL with errno set. */
static char *read_spec(const char *path, size_t *len) {
  FILE *f = fopen(path, "re");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0, got;
  do {
    if (n + 4096 + 1 > cap) {
      char *nb = realloc(buf, cap = (cap ? cap * 2 : 16384));
      if (!nb) { free(buf); fclose(f); errno = ENOMEM; return NULL; }
      buf = nb;
    }
    n += got = fread(buf + n, 1, cap - n - 1, f);
  } while (got > 0);
  int bad = ferror(f);
  fclose(f);
  if (bad) { free(buf); errno = EIO; return NULL; }
  buf[n] = 0;
  *len = n;
  return buf;
}

int tsd_seccomp_prepare(const char *path, const char *cache_dir, void **out, struct tsd_error *err) {
  size_t len;
  char *text = read_spec(path, &len);
  if (!text) return tsd_fail(err, 125, errno, "open seccomp profile %s: %s", path, tsd_errname(errno));
  uint64_t text_hash = fnv1a(text, len);
  struct tsd_filter *hit = cache_dir ? cache_read(cache_dir, text_hash) : NULL;
  if (hit) {
    free(text);
    *out = hit;
    return 0;
  }
  FILE *f = fmemopen(text, len, "r");
  if (!f) {
    free(text);
    return tsd_fail(err, 125, errno, "read seccomp profile %s: %s", path, tsd_errname(errno));
  }
  char line[1024];
  char *w[24];
  int lineno = 0, r = 0;
  scmp_filter_ctx ctx = NULL;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    int nw = 0;
    for (char *t = strtok(line, " \t\r\n"); t && nw < 24; t = strtok(NULL, " \t\r\n")) w[nw++] = t;
    if (nw == 0 || w[0][0] == '#') continue;
    if (!ctx) {
      uint32_t def;
      if (strcmp(w[0], "default") || nw != 2 || parse_action(w[1], &def) < 0) {
        r = tsd_fail(err, 125, EINVAL, "seccomp %s line %d: must start with default <action>", path, lineno);
        break;
      }
      ctx = seccomp_init(def);
      if (!ctx) { r = tsd_fail(err, 125, ENOMEM, "seccomp_init: ENOMEM"); break; }
      /* no_new_privs follows the spec's nnp key, not libseccomp's default */
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
      continue;
    }
    if (strcmp(w[0], "rule")) { r = tsd_fail(err, 125, EINVAL, "seccomp %s line %d: unknown line", path, lineno); break; }
    if ((r = add_rule(ctx, w, nw, lineno, err)) < 0) break;
  }
  fclose(f);
  free(text);
  if (!r && !ctx) r = tsd_fail(err, 125, EINVAL, "seccomp %s: empty profile", path);
  if (r < 0) {
    if (ctx) seccomp_release(ctx);
    return r;
  }
  if (cache_dir) cache_write(cache_dir, text_hash, ctx);
  struct tsd_filter *flt = calloc(1, sizeof *flt);
  if (!flt) {
    seccomp_release(ctx);
    return tsd_fail(err, 125, ENOMEM, "seccomp: ENOMEM");
  }
  flt->ctx = ctx;
  *out = flt;
  return 0;
}

int tsd_seccomp_load(void *filter, struct tsd_error *err) {
  struct tsd_filter *f = filter;
  if (f->prog) {
    struct sock_fprog prog = {.len = f->len, .filter = f->prog};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) return tsd_fail(err, 125, errno, "load seccomp filter: %s", tsd_errname(errno));
    return 0;
  }
  int r = seccomp_load(f->ctx);
  if (r < 0) return tsd_fail(err, 125, -r, "load seccomp filter: %s", tsd_errname(-r));
  return 0;
}

void tsd_seccomp_free(void *filter) {
  struct tsd_filter *f = filter;
  if (!f) return;
  if (f->ctx) seccomp_release(f->ctx);
  free(f->prog);
  free(f);
}
