/*
 * tsdocker-monitor internals (not part of libtsdocker.so). crun's convention: a function
 * that can fail takes `struct tsd_error *err`, fills it and returns a negative errno.
 */
#ifndef TSD_MONITOR_H
#define TSD_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

#include "tsd.h"

/* Exit codes that travel to Node (Docker's meaning). */
#define TSD_EXIT_RUNTIME 125
#define TSD_EXIT_CANNOT_INVOKE 126
#define TSD_EXIT_NOT_FOUND 127

struct tsd_error {
  int code;      /* 125, 126, 127 */
  int err;       /* errno, 0 when none */
  char msg[256]; /* one line */
};

/* error.c */
int tsd_fail(struct tsd_error *e, int code, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *tsd_errname(int err);

/* spec.c */
struct tsd_mount { const char *src, *dst, *fstype, *data; unsigned long flags; };
struct tsd_device { const char *path; unsigned mode, major, minor; int owned; uid_t uid; gid_t gid; };
struct tsd_sysctl { const char *key, *value; };
struct tsd_symlink { const char *target, *path; };
struct tsd_join { int nstype; const char *path; };
struct tsd_rlimit { int resource; long long soft, hard; };

#define TSD_MAX_ITEMS 1024

struct tsd_spec {
  char *buf; /* the file; every string points into it */
  const char *id;
  unsigned long clone_flags;
  struct tsd_join joins[16];
  int njoins;
  const char *rootfs;
  const char *ovl_lower, *ovl_upper, *ovl_work;
  struct tsd_mount mounts[TSD_MAX_ITEMS];
  int nmounts;
  struct tsd_device devices[TSD_MAX_ITEMS];
  int ndevices;
  struct tsd_symlink symlinks[64];
  int nsymlinks;
  struct tsd_symlink rootlinks[8]; /* in the rootfs itself, before any mount (Docker's init layer: /etc/mtab) */
  int nrootlinks;
  const char *masks[TSD_MAX_ITEMS];
  int nmasks;
  const char *readonly[TSD_MAX_ITEMS];
  int nreadonly;
  int rootfs_ro;
  const char *hostname;
  const char *domainname; /* --domainname: setdomainname in the new UTS namespace */
  int lo;
  const char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t groups[64];
  int ngroups;
  int has_user;
  const char *env[TSD_MAX_ITEMS + 1];
  int nenv;
  const char *argv[TSD_MAX_ITEMS + 1];
  int nargv;
  uint64_t caps;
  int has_caps;
  int nnp;
  struct tsd_rlimit rlimits[32];
  int nrlimits;
  const char *oom_score_adj;
  const char *seccomp;
  const char *seccomp_cache; /* directory of compiled filters (seccomp.c), or NULL */
  int tty;
  int stdin_open;
  const char *log;
  int log_tee; /* foreground with a log: the output goes to our stdout/stderr too */
  const char *attach;      /* the attach socket (attach.c) */
  const char *detach_keys; /* hex; the foreground relay detaches on them */
  const char *exit_path;
  int exit_nosync;
  const char *hook[64 + 1];
  int nhook;
  /* OCI front end (tsdocker-oci) */
  int orphan;            /* no death signal; the monitor leaves once the process is ready/exec'd */
  const char *fifo;      /* run mode: wait on this FIFO (opened for writing) before execve */
  const char *console;   /* send the pty master to this unix socket instead of relaying */
  uint64_t caps5[5];     /* bounding, effective, inheritable, permitted, ambient */
  int has_caps5;
  unsigned umask_val;
  int has_umask;
  struct tsd_sysctl sysctls[64];
  int nsysctls;
  unsigned long rootprop; /* propagation of / before the rootfs is bound (default MS_REC|MS_PRIVATE) */
  /* supervise: keep a daemon alive (supervise.c) */
  int sup_interval;
  const char *sup_pidfile;
  const char *sup_match;
  const char *sup_argv[64 + 1];
  int nsup;
  /* restart policy (restart.c): policy max count timeout-ms record marker; the restart command */
  const char *restart[6];
  const char *restart_argv[64 + 1];
  int nrestart_arg;
  /* healthcheck (health.c): interval-ms timeout-ms start-period-ms retries record probe-spec */
  const char *health[6];
  const char *health_cgroup[16]; /* cgroup.procs files the probe joins */
  int nhealth_cgroup;
  const char *cgroup[16]; /* cgroup.procs files the container's first process joins before `pid` */
  int ncgroup;
  const char *proxy6; /* proxy6.c: the published ports' IPv6 side, read at `go` */
};

int tsd_spec_load(const char *path, struct tsd_spec *spec, struct tsd_error *err);

/* supervise.c: the monitor's poll timeout, and the check it runs when that expires */
int tsd_supervise_timeout(const struct tsd_spec *spec);
void tsd_supervise_check(const struct tsd_spec *spec);

/* restart.c: after the exit, with Node gone: restart per policy (does not return then) or return */
void tsd_restart_after_exit(const struct tsd_spec *spec, int status, long long ran_ms);
/* claim.c: a live CLI that cleans up itself (stop) spares the exit hook */
void tsd_claim_init(const char *spec_path);
int tsd_cleanup_claimed(void);
long tsd_restart_backoff(long prev_ms, long long ran_ms);

/* health.c: the probe on the monitor's timer */
int tsd_health_timeout(const struct tsd_spec *spec, int other);
void tsd_health_check(const struct tsd_spec *spec);
void tsd_health_stop(void);
/* proxy6.c: bind at `go` (a failure fails the start), relay once the container runs, stop at its exit */
int tsd_proxy6_prepare(const struct tsd_spec *spec, struct tsd_error *err);
void tsd_proxy6_start(void);
void tsd_proxy6_stop(void);

/* seccomp.c: compiled in the monitor (it can still read host paths), loaded in the child */
int tsd_seccomp_prepare(const char *path, const char *cache_dir, void **ctx, struct tsd_error *err);
int tsd_seccomp_load(void *ctx, struct tsd_error *err);
void tsd_seccomp_free(void *ctx);

/* mounts.c: run in the container child, in its own mount namespace */
int tsd_setup_rootfs(const struct tsd_spec *spec, struct tsd_error *err);
int tsd_finish_rootfs(const struct tsd_spec *spec, struct tsd_error *err);
int tsd_open_in_root(int rootfd, const char *path, int create, int isfile, struct tsd_error *err);
int tsd_open_cwd(const char *cwd, int create, struct tsd_error *err);
int tsd_enter_cwd(int fd, const char *cwd, struct tsd_error *err);

/* pty.c */
int tsd_pty_open_in_container(int *master, int *slave, struct tsd_error *err);
int tsd_send_fd(int sock, int fd, struct tsd_error *err);
int tsd_send_console(const char *path, int fd, struct tsd_error *err);
int tsd_recv_fd(int sock, void *buf, size_t len, int *fd);
int tsd_raw_mode(int fd);
void tsd_restore_mode(void);
void tsd_set_winsize(int fd, unsigned rows, unsigned cols);

/* attach.c: the attach socket, and the detach-key matcher */
struct tsd_escape { unsigned char *keys; int nkeys; int matched; };
int tsd_escape_init(struct tsd_escape *es, unsigned char *store, size_t cap, const char *hex);
int tsd_escape_feed(struct tsd_escape *es, const char *in, size_t n, char *out, size_t *outn);
struct tsd_attach_io {
  int in; /* the pty master or the stdin pipe, -1 when the container has no stdin */
  void (*close_stdin)(struct tsd_attach_io *io);
  void (*resize)(unsigned rows, unsigned cols);
};
int tsd_attach_listen(const char *path, struct tsd_error *e);
int tsd_attach_pollfds(struct pollfd *p);
void tsd_attach_handle(struct pollfd *p, int np, struct tsd_attach_io *io);
void tsd_attach_output(int stream, const char *buf, size_t n);
void tsd_attach_finish(int status);
void tsd_attach_linger(void);
/* attach-linger.c: hung-up client sockets kept open by a process of their own until their clients close them */
void tsd_linger_fds(int *fds, int n);

/* attach-stdin.c: the bounded queue of what attach clients write to the container's stdin */
size_t tsd_stdin_room(void);
char *tsd_stdin_tail(void);
void tsd_stdin_added(size_t n);
int tsd_stdin_close(struct tsd_attach_io *io);
void tsd_stdin_flush(struct tsd_attach_io *io);
int tsd_stdin_pollfd(struct pollfd *p);
int tsd_stdin_queued(void);

/* log.c: CRI log lines */
struct tsd_log_stream {
  const char *name; /* "stdout" / "stderr" */
  char buf[16384];
  size_t len;
};
void tsd_log_feed(int logfd, struct tsd_log_stream *s, const char *data, size_t n);
void tsd_log_flush(int logfd, struct tsd_log_stream *s);
void tsd_rfc3339nano(char *out, size_t len);

/* container.c: the child between clone and execve */
struct tsd_child_ctx {
  const struct tsd_spec *spec;
  int exec_mode;
  int sync;          /* SOCK_SEQPACKET to the monitor */
  int join_fds[16];  /* opened by the monitor, -1 for namespaces the monitor joined itself */
  int stdio[3];      /* fds to install as 0/1/2 when no tty */
  void *seccomp;     /* struct tsd_filter (seccomp.c) or NULL */
  pid_t ppid;        /* getppid() right after clone, for the PDEATHSIG check */
  int fifo_fd;       /* O_PATH handle on spec->fifo, opened by the monitor, or -1 */
};

/* child -> monitor messages on the private SEQPACKET socket */
enum { TSD_MSG_ERROR = 1, TSD_MSG_PTY = 2, TSD_MSG_READY = 3 };
struct tsd_msg {
  int type;
  struct tsd_error e;
};

__attribute__((noreturn)) void tsd_child_main(struct tsd_child_ctx *c);

/* util */
int tsd_write_all(int fd, const void *buf, size_t len);

#endif
