/**
 * Platforms (`os/arch[/variant]`), as `--platform` takes them and as manifest lists and
 * OCI indexes describe their entries; choosing the entry for a platform follows
 * containerd's matcher in small: os and architecture must match, a variant given must
 * match (arm64's implicit variant is v8), attestation entries are never images.
 */
import { TsdError } from '../../sys/errors.js';

/** This host's architecture in the OCI spelling (amd64, arm64, ...). */
export function hostArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface IndexEntry {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: Partial<Platform>;
  annotations?: Record<string, string>;
}

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', x86: '386', aarch64: 'arm64', armhf: 'arm', armel: 'arm' };

export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new TsdError('BAD_ARGS', `invalid platform '${s}'`, { hint: 'use os/arch[/variant], e.g. linux/amd64 or linux/arm/v7' });
  }
  const architecture = ARCH_ALIASES[parts[1]!] ?? parts[1]!;
  return parts[2] ? { os: parts[0]!, architecture, variant: parts[2] } : { os: parts[0]!, architecture };
}

export const hostPlatform = (): Platform => ({ os: 'linux', architecture: hostArch() });

export const formatPlatform = (p: Partial<Platform>): string => [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');

const variantOf = (p: Partial<Platform>): string | undefined => p.variant ?? (p.architecture === 'arm64' ? 'v8' : undefined);

/** The entry of an index that serves `want`, or undefined. */
export function pickEntry(entries: IndexEntry[], want: Platform): IndexEntry | undefined {
  const images = entries.filter((e) => e.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' && e.platform?.os !== 'unknown');
  const fits = images.filter((e) => {
    const p = e.platform ?? {};
    if (p.os !== want.os || (ARCH_ALIASES[p.architecture ?? ''] ?? p.architecture) !== want.architecture) return false;
    return want.variant === undefined || variantOf(p) === variantOf(want);
  });
  // no variant asked: prefer the entry without one (or arm64's v8), then the first
  return fits.find((e) => variantOf(e.platform ?? {}) === variantOf(want)) ?? fits[0];
}
