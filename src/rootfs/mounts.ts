/**
 * The default container filesystem table, as data (runc's and Docker's defaults, moby
 * oci/defaults.go): what the monitor mounts inside the rootfs, the device nodes and
 * symlinks it creates, and the paths it masks or makes read-only. Flags are MS_* numbers,
 * exactly what the `mount` key of the spec file carries.
 */

/** MS_* flags from linux/mount.h */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  REC: 0x4000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
} as const;

export const S_IFCHR = 0o020000;

export interface MountEntry {
  source: string;
  /** container path, resolved inside the rootfs by the monitor */
  destination: string;
  /** a filesystem type, or `bind` */
  fstype: string;
  flags: number;
  /** filesystem options ("" for none) */
  data: string;
}

export interface DeviceEntry {
  path: string;
  /** S_IFCHR | permission bits */
  mode: number;
  major: number;
  minor: number;
  /** owner of the node (OCI linux.devices); absent: root */
  uid?: number;
  gid?: number;
}

export interface SymlinkEntry {
  target: string;
  path: string;
}

export interface DefaultMountOptions {
  /** /dev/shm size in bytes (Docker: 64 MiB) */
  shmSize?: number;
  /** --privileged: /sys read-write */
  privileged?: boolean;
}

/** /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, in mount order. */
export function defaultMounts(opts: DefaultMountOptions = {}): MountEntry[] {
  const { NOSUID, NOEXEC, NODEV, STRICTATIME, RDONLY } = MS;
  const shm = opts.shmSize ?? 64 * 1024 * 1024;
  return [
    { source: 'proc', destination: '/proc', fstype: 'proc', flags: NOSUID | NOEXEC | NODEV, data: '' },
    { source: 'tmpfs', destination: '/dev', fstype: 'tmpfs', flags: NOSUID | STRICTATIME, data: 'mode=755,size=65536k' },
    {
      source: 'devpts',
      destination: '/dev/pts',
      fstype: 'devpts',
      flags: NOSUID | NOEXEC,
      data: 'newinstance,ptmxmode=0666,mode=0620,gid=5',
    },
    { source: 'shm', destination: '/dev/shm', fstype: 'tmpfs', flags: NOSUID | NOEXEC | NODEV, data: `mode=1777,size=${Math.floor(shm / 1024)}k` },
    { source: 'mqueue', destination: '/dev/mqueue', fstype: 'mqueue', flags: NOSUID | NOEXEC | NODEV, data: '' },
    { source: 'sysfs', destination: '/sys', fstype: 'sysfs', flags: NOSUID | NOEXEC | NODEV | (opts.privileged ? 0 : RDONLY), data: '' },
  ];
}

/** The standard character devices (mode 0666), created in the container's /dev tmpfs. */
export function defaultDevices(): DeviceEntry[] {
  const dev = (name: string, major: number, minor: number): DeviceEntry => ({
    path: `/dev/${name}`,
    mode: S_IFCHR | 0o666,
    major,
    minor,
  });
  return [dev('null', 1, 3), dev('zero', 1, 5), dev('full', 1, 7), dev('random', 1, 8), dev('urandom', 1, 9), dev('tty', 5, 0)];
}

/** runc's default /dev symlinks. */
export function defaultSymlinks(): SymlinkEntry[] {
  return [
    { target: '/proc/self/fd', path: '/dev/fd' },
    { target: '/proc/self/fd/0', path: '/dev/stdin' },
    { target: '/proc/self/fd/1', path: '/dev/stdout' },
    { target: '/proc/self/fd/2', path: '/dev/stderr' },
    { target: 'pts/ptmx', path: '/dev/ptmx' },
    { target: '/proc/kcore', path: '/dev/core' },
  ];
}

/** Paths hidden from the container (Docker's defaults; none when privileged). */
export function maskedPaths(opts: { privileged?: boolean } = {}): string[] {
  if (opts.privileged) return [];
  return [
    '/proc/asound',
    '/proc/acpi',
    '/proc/interrupts',
    '/proc/kcore',
    '/proc/keys',
    '/proc/latency_stats',
    '/proc/timer_list',
    '/proc/timer_stats',
    '/proc/sched_debug',
    '/proc/scsi',
    '/sys/firmware',
    '/sys/devices/virtual/powercap',
  ];
}

/** Paths bind-remounted read-only (Docker's defaults; none when privileged). */
export function readonlyPaths(opts: { privileged?: boolean } = {}): string[] {
  if (opts.privileged) return [];
  return ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
}

/** A bind mount (volume or file) with Docker's `ro` handling. */
export function bindMount(source: string, destination: string, opts: { readonly?: boolean; recursive?: boolean } = {}): MountEntry {
  const flags = MS.BIND | (opts.recursive === false ? 0 : MS.REC) | (opts.readonly ? MS.RDONLY : 0);
  return { source, destination, fstype: 'bind', flags, data: '' };
}
