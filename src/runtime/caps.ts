/**
 * Linux capabilities: names <-> numbers (linux/capability.h, through CAP_CHECKPOINT_RESTORE),
 * Docker's default set, and the hex mask the monitor's `caps` spec key takes.
 */
import { TsdError } from '../sys/errors.js';

/** Index = capability number. */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID',
  'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW',
  'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
] as const;

export type CapName = (typeof CAPABILITIES)[number];

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPS: readonly CapName[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

const byName = new Map<string, number>(CAPABILITIES.map((n, i) => [n, i]));

/** Canonical name (no CAP_ prefix, upper case); throws BAD_ARGS for an unknown one. */
export function capName(name: string): CapName {
  const n = name.trim().toUpperCase().replace(/^CAP_/, '');
  const num = byName.get(n);
  if (num === undefined) {
    throw new TsdError('BAD_ARGS', `unknown capability "${name}"`, {
      hint: `use a name such as NET_ADMIN or CAP_SYS_PTRACE (see capabilities(7))`,
    });
  }
  return CAPABILITIES[num]!;
}

export function capNumber(name: string): number {
  return byName.get(capName(name))!;
}

/** Hex mask (no 0x) of the given capabilities, as the monitor's `caps` key takes it. */
export function capMask(names: readonly string[]): string {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(capNumber(n));
  return mask.toString(16);
}

/** Names in a hex mask such as /proc/self/status CapBnd shows. */
export function capsFromMask(hex: string): CapName[] {
  const mask = BigInt(`0x${hex}`);
  return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/**
 * Docker's --cap-add/--cap-drop arithmetic: start from the default set, `ALL` adds or drops
 * every capability; drops apply after adds, as in moby's TweakCapabilities.
 */
export function effectiveCaps(add: readonly string[] = [], drop: readonly string[] = []): CapName[] {
  const isAll = (s: string) => /^(CAP_)?ALL$/i.test(s.trim());
  const set = new Set<CapName>(add.some(isAll) ? CAPABILITIES : DEFAULT_CAPS);
  for (const a of add) if (!isAll(a)) set.add(capName(a));
  if (drop.some(isAll)) {
    set.clear();
    for (const a of add) if (!isAll(a)) set.add(capName(a));
  }
  for (const d of drop) if (!isAll(d)) set.delete(capName(d));
  return CAPABILITIES.filter((c) => set.has(c));
}
