/*
 * The seccomp spec (PROTOCOL.md) compiled with libseccomp. Compiled in the monitor, where
 * the host path is still reachable and errors are cheap to report; loaded by the child
 * as its last step before execve. Syscall names this kernel/arch does not know are skipped.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int tsd_seccomp_prepare(const char *path, void **out, struct tsd_error *err) {
  FILE *f = fopen(path, "re");
  if (!f) return tsd_fail(err, 125, errno, "open seccomp profile %s: %s", path, tsd_errname(errno));
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
  if (!r && !ctx) r = tsd_fail(err, 125, EINVAL, "seccomp %s: empty profile", path);
  if (r < 0) {
    if (ctx) seccomp_release(ctx);
    return r;
  }
  *out = ctx;
  return 0;
}

int tsd_seccomp_load(void *ctx, struct tsd_error *err) {
  int r = seccomp_load((scmp_filter_ctx)ctx);
  if (r < 0) return tsd_fail(err, 125, -r, "load seccomp filter: %s", tsd_errname(-r));
  return 0;
}

void tsd_seccomp_free(void *ctx) {
  if (ctx) seccomp_release((scmp_filter_ctx)ctx);
}
