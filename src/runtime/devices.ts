/**
 * --device HOST[:CONTAINER][:PERMS]: the host node's type, numbers and mode copied into the
 * container (created there with mknod, or bound when mknod is refused), and on cgroup v1 a
 * devices-controller rule `c MAJOR:MINOR PERMS` after the default allow list, as runc does.
 * cgroup v2 restricts devices only through an eBPF program, which tsdocker does not load:
 * there the node is made and no cgroup rule limits it (nor any other device; see guardDevices).
 */
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { TsdError } from '../sys/errors.js';
import type { DeviceEntry } from '../rootfs/mounts.js';

export interface DeviceRequest {
  /** Docker's HostConfig.Devices entry */
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

export interface PlannedDevice {
  entry: DeviceEntry;
  /** the v1 devices.allow line */
  rule: string;
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** docker/cli's parseDevice: HOST, HOST:CONTAINER, HOST:PERMS, HOST:CONTAINER:PERMS. */
export function parseDevice(spec: string): DeviceRequest {
  const parts = spec.split(':');
  const isMode = (s: string) => /^[rwm]{1,3}$/.test(s) && new Set(s).size === s.length;
  let [host, ctr, perms] = [parts[0] ?? '', '', 'rwm'];
  if (parts.length === 2) {
    if (isMode(parts[1]!)) perms = parts[1]!;
    else ctr = parts[1]!;
  } else if (parts.length === 3) {
    ctr = parts[1]!;
    if (!isMode(parts[2]!)) throw new TsdError('BAD_ARGS', `invalid argument "${spec}" for "--device" flag: invalid device mode: ${parts[2]}`, { hint: 'permissions are r, w and m, e.g. rwm' });
    perms = parts[2]!;
  } else if (parts.length !== 1) {
    throw new TsdError('BAD_ARGS', `invalid argument "${spec}" for "--device" flag: invalid device specification: ${spec}`, { hint: 'use --device HOST[:CONTAINER][:PERMS]' });
  }
  ctr ||= host;
  for (const p of [host, ctr]) {
    if (!posix.isAbsolute(p)) throw new TsdError('BAD_ARGS', `invalid argument "${spec}" for "--device" flag: ${p} is not an absolute path`, { hint: 'give absolute paths, e.g. /dev/fuse' });
  }
  return { PathOnHost: host, PathInContainer: posix.normalize(ctr), CgroupPermissions: perms };
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
const major = (d: number) => Number(((BigInt(d) >> 8n) & 0xfffn) | ((BigInt(d) >> 32n) & ~0xfffn));
const minor = (d: number) => Number((BigInt(d) & 0xffn) | ((BigInt(d) >> 12n) & ~0xffn));

/** The host node as the container gets it (the daemon's error when it is not a device). */
export function planDevice(req: DeviceRequest): PlannedDevice {
  let st;
  try {
    st = statSync(req.PathOnHost);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : String((err as Error).message);
    throw new TsdError('BAD_ARGS', `error gathering device information while adding custom device "${req.PathOnHost}": ${why}`, { hint: 'give a device node of this host, e.g. /dev/fuse' });
  }
  const type = st.mode & S_IFMT;
  if (type !== S_IFCHR && type !== S_IFBLK) {
    throw new TsdError('BAD_ARGS', `error gathering device information while adding custom device "${req.PathOnHost}": not a device node`, { hint: 'give a character or block device' });
  }
  const [maj, min] = [major(st.rdev), minor(st.rdev)];
  return {
    entry: { path: req.PathInContainer, mode: st.mode & (S_IFMT | 0o7777), major: maj, minor: min },
    rule: `${type === S_IFCHR ? 'c' : 'b'} ${maj}:${min} ${req.CgroupPermissions}`,
  };
}
