import { describe, it, expect } from 'vitest';
import { contains, formatCidr, formatIp, overlaps, parseCidr, parseIp, procHex, within } from '../../src/net/ipv4.js';
import { pickSubnet, defaultPools } from '../../src/net/pool.js';

describe('ipv4', () => {
  it('parses strictly', () => {
    expect(parseIp('10.0.0.1')).toBe(0x0a000001);
    expect(parseIp('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', 'a.b.c.d', '', '1..2.3']) expect(parseIp(bad)).toBeUndefined();
    expect(formatIp(parseIp('172.31.0.2')!)).toBe('172.31.0.2');
  });
  it('parses CIDRs and clears host bits', () => {
    expect(formatCidr(parseCidr('10.1.2.3/16')!)).toBe('10.1.0.0/16');
    expect(parseCidr('10.0.0/24')).toBeUndefined();
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0')).toBeUndefined();
    expect(formatCidr(parseCidr('0.0.0.0/0')!)).toBe('0.0.0.0/0');
  });
  it('contains, within, overlaps', () => {
    const a = parseCidr('10.0.0.0/16')!;
    expect(contains(a, parseIp('10.0.255.255')!)).toBe(true);
    expect(contains(a, parseIp('10.1.0.0')!)).toBe(false);
    expect(within(parseCidr('10.0.3.0/24')!, a)).toBe(true);
    expect(within(a, parseCidr('10.0.3.0/24')!)).toBe(false);
    expect(overlaps(a, parseCidr('10.0.128.0/17')!)).toBe(true);
    expect(overlaps(a, parseCidr('10.1.0.0/16')!)).toBe(false);
  });
  it('formats addresses as /proc/net shows them', () => {
    expect(procHex(parseIp('127.0.0.1')!)).toBe('0100007F');
  });
});

describe('subnet pool', () => {
  it('skips what is taken (host routes, networks) and says when nothing is left', () => {
    const taken = [parseCidr('172.16.0.0/12')!, parseCidr('192.168.0.0/20')!];
    expect(formatCidr(pickSubnet(taken))).toBe('192.168.16.0/20');
    expect(formatCidr(pickSubnet([parseCidr('172.17.5.0/24')!]))).toBe('172.18.0.0/16');
    expect(() => pickSubnet([parseCidr('0.0.0.0/0')!])).toThrow(/non-overlapping IPv4 address pool/);
    expect([...defaultPools()]).toHaveLength(15 + 16);
  });
});
