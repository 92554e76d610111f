/**
 * IPv4 arithmetic on plain numbers (unsigned 32-bit). Our own ~80 lines instead of the
 * ip-address package: everything tsdocker needs is parse/format, prefix masks, containment
 * and overlap, and keeping addresses as numbers makes IPAM cursors and ranges trivial,
 * where ip-address works on BigInt-backed objects. Parsing is strict (four decimal octets,
 * no leading zeros) so "10.0.0/24" or "010.1.1.1" are refused rather than guessed.
 */
export interface Cidr {
  /** network address (host bits cleared) */
  net: number;
  prefix: number;
}

export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parse "a.b.c.d/len". `strict` refuses host bits set (Docker accepts and clears them; so do we by default). */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!m) return undefined;
  const ip = parseIp(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  return { net: (ip & maskOf(prefix)) >>> 0, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.net)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function first(c: Cidr): number {
  return c.net;
}

export function last(c: Cidr): number {
  return c.net + size(c) - 1;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefix)) >>> 0) === c.net;
}

/** c1 lies inside c2 */
export function within(c1: Cidr, c2: Cidr): boolean {
  return c1.prefix >= c2.prefix && contains(c2, c1.net);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return first(a) <= last(b) && first(b) <= last(a);
}

/** Split `c` into subnets of length `prefix` (lazily: pools are never enumerated eagerly). */
export function* subnets(c: Cidr, prefix: number): Generator<Cidr> {
  const step = 2 ** (32 - prefix);
  for (let n = first(c); n <= last(c); n += step) yield { net: n, prefix };
}

/** Lowercase hex of the address in /proc/net/{tcp,udp} byte order (little-endian host). */
export function procHex(ip: number): string {
  const b = [ip & 255, (ip >>> 8) & 255, (ip >>> 16) & 255, ip >>> 24];
  return b.map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
}
