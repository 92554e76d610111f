/**
 * tsdocker's default seccomp profile, in Docker's JSON format: deny by default (EPERM),
 * allow what ordinary programs need. Written for tsdocker, grouped by purpose; in effect it
 * matches Docker's default profile: blocked unless the container holds the capability that
 * makes them meaningful are mount and the new mount API, unshare/setns/clone with namespace
 * flags, kexec, module loading, bpf, perf, reboot, swap, quotas, clock setting, acct,
 * ptrace-family cross-process access (ptrace itself is allowed on kernels >= 4.8, as Docker
 * does); always blocked: keyctl/add_key/request_key, userfaultfd, io_uring, vm86, uselib,
 * ustat, sysfs, nfsservctl, lookup_dcookie (without CAP_SYS_ADMIN) and anything not listed.
 */
import type { SeccompProfile, SeccompRule } from './seccomp.js';

const FILES = `
  access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat fchmodat2 chown chown32 fchown fchown32
  fchownat lchown lchown32 creat open openat openat2 close close_range dup dup2 dup3 fcntl fcntl64 flock
  read readv pread64 preadv preadv2 write writev pwrite64 pwritev pwritev2 lseek _llseek sendfile sendfile64
  copy_file_range splice tee vmsplice readahead fadvise64 fadvise64_64 fallocate ftruncate ftruncate64 truncate truncate64
  fsync fdatasync sync syncfs sync_file_range stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx
  statfs statfs64 fstatfs fstatfs64 getdents getdents64 link linkat symlink symlinkat unlink unlinkat rename renameat
  renameat2 mkdir mkdirat rmdir mknod mknodat readlink readlinkat umask utime utimes utimensat utimensat_time64
  futimesat name_to_handle_at getxattr lgetxattr fgetxattr getxattrat listxattr llistxattr flistxattr listxattrat
  setxattr lsetxattr fsetxattr setxattrat removexattr lremovexattr fremovexattr removexattrat
  inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark memfd_create memfd_secret
  io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64 cachestat statmount listmount
`;
const MEMORY = `
  brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 munlock mlockall munlockall
  remap_file_pages membarrier pkey_alloc pkey_free pkey_mprotect map_shadow_stack mseal
`;
const PROCESSES = `
  execve execveat exit exit_group fork vfork wait4 waitid waitpid kill tkill tgkill getpid getppid gettid
  getpgid setpgid getpgrp getsid setsid getpriority setpriority sched_yield sched_getaffinity sched_setaffinity
  sched_getattr sched_setattr sched_getparam sched_setparam sched_getscheduler sched_setscheduler
  sched_get_priority_max sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64
  set_tid_address set_robust_list get_robust_list rseq restart_syscall prctl arch_prctl
  getrlimit setrlimit ugetrlimit prlimit64 getrusage times ioprio_get ioprio_set getcpu capget capset
  pidfd_open pidfd_send_signal process_mrelease seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self
  set_thread_area get_thread_area uname sysinfo uretprobe
`;
const CREDENTIALS = `
  getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getgroups getgroups32 setgroups setgroups32
  getresuid getresuid32 getresgid getresgid32 setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32
  setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32
`;
const SIGNALS_TIME = `
  rt_sigaction rt_sigprocmask rt_sigpending rt_sigqueueinfo rt_tgsigqueueinfo rt_sigreturn rt_sigsuspend
  rt_sigtimedwait rt_sigtimedwait_time64 sigaltstack signalfd signalfd4 sigprocmask sigreturn pause alarm
  nanosleep clock_nanosleep clock_nanosleep_time64 clock_gettime clock_gettime64 clock_getres clock_getres_time64
  clock_adjtime clock_adjtime64 adjtimex gettimeofday time getitimer setitimer timer_create timer_delete
  timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
  timerfd_gettime64 timerfd_settime timerfd_settime64 getrandom
`;
const WAITING_IPC = `
  poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64 epoll_create epoll_create1 epoll_ctl
  epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2 eventfd eventfd2 futex futex_time64
  futex_waitv futex_wait futex_wake futex_requeue pipe pipe2 ioctl ipc msgget msgctl msgrcv msgsnd semget semctl semop
  semtimedop semtimedop_time64 shmget shmctl shmat shmdt mq_open mq_unlink mq_getsetattr mq_notify
  mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64
`;
const NETWORK = `
  socketpair socketcall bind connect listen accept accept4 getsockname getpeername getsockopt setsockopt
  send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 shutdown
`;

const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** Syscalls a capability makes legitimate (Docker's includes.caps groups). */
const BY_CAPABILITY: [string, string][] = [
  ['CAP_DAC_READ_SEARCH', 'open_by_handle_at'],
  [
    'CAP_SYS_ADMIN',
    `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount
     open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare`,
  ],
  ['CAP_SYS_BOOT', 'reboot'],
  ['CAP_SYS_CHROOT', 'chroot'],
  ['CAP_SYS_MODULE', 'delete_module init_module finit_module'],
  ['CAP_SYS_PACCT', 'acct'],
  ['CAP_SYS_PTRACE', 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace'],
  ['CAP_SYS_RAWIO', 'iopl ioperm'],
  ['CAP_SYS_TIME', 'settimeofday stime clock_settime clock_settime64'],
  ['CAP_SYS_TTY_CONFIG', 'vhangup'],
  ['CAP_SYS_NICE', 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node'],
  ['CAP_SYSLOG', 'syslog'],
  ['CAP_BPF', 'bpf'],
  ['CAP_PERFMON', 'perf_event_open'],
];

/** Architecture-specific syscalls. */
const BY_ARCH: [string[], string][] = [
  [['amd64', 'x32', 'x86'], 'modify_ldt'],
  [['arm', 'arm64'], 'arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls'],
  [['s390', 's390x'], 's390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr'],
  [['riscv64'], 'riscv_flush_icache riscv_hwprobe'],
];

/** clone flags that create namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (0x7e020000) */
const CLONE_NS_FLAGS = 0x7e020000;
const AF_VSOCK = 40;
const ENOSYS = 38;

export function defaultSeccompProfile(): SeccompProfile {
  const allow = (names: string, extra: Partial<SeccompRule> = {}): SeccompRule => ({ names: words(names), action: 'SCMP_ACT_ALLOW', ...extra });
  const syscalls: SeccompRule[] = [
    allow([FILES, MEMORY, PROCESSES, CREDENTIALS, SIGNALS_TIME, WAITING_IPC, NETWORK].join(' '), { comment: 'what ordinary programs need' }),
    // personality: only the harmless personas (Linux, the 32-bit ones, query)
    ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map((v) =>
      allow('personality', { args: [{ index: 0, value: v, op: 'SCMP_CMP_EQ' }] }),
    ),
    allow('socket', { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }], comment: 'any address family but vsock' }),
    allow('ptrace', { includes: { minKernel: '4.8' }, comment: 'seccomp bypass through ptrace fixed in 4.8' }),
    // threads and fork, but no new namespaces without CAP_SYS_ADMIN
    allow('clone', {
      args: [{ index: 0, value: CLONE_NS_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    }),
    allow('clone', {
      args: [{ index: 1, value: CLONE_NS_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    // clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes libcs fall back to clone
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ...BY_CAPABILITY.map(([cap, names]) => allow(names, { includes: { caps: [cap] } })),
    ...BY_ARCH.map(([arches, names]) => allow(names, { includes: { arches } })),
  ];
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    syscalls,
  };
}
