import { describe, it, expect } from 'vitest';
import { dropGuardScript, guardChain, macFor, portGuardScript } from '../../src/net/guard.js';
import type { NetworkRecord } from '../../src/net/store.js';

const net = { id: 'ab'.repeat(32), bridge: 'tsdbr-abababab' } as NetworkRecord;

describe('port bindings (anti-spoofing)', () => {
  it('derives the MAC from the address as Docker does, and the chain from the host veth', () => {
    expect(macFor('172.17.0.2')).toBe('02:42:ac:11:00:02');
    expect(macFor('10.255.1.10')).toBe('02:42:0a:ff:01:0a');
    expect(guardChain('tsd0123456789ab')).toBe('ep-0123456789ab');
  });
  it('binds MAC, ARP sender and IPv4 source; adds no table or base chain (a missing table fails the batch)', () => {
    const s = portGuardScript({ net, hostIf: 'tsd0123456789ab', ip: '10.89.0.5', mac: '02:42:0a:59:00:05' });
    expect(s).toContain('add rule bridge tsdocker ep-0123456789ab ether saddr != 02:42:0a:59:00:05 counter name spoofed drop');
    expect(s).toContain('add rule bridge tsdocker ep-0123456789ab arp saddr ip != 10.89.0.5 counter name spoofed drop');
    expect(s).toContain('add rule bridge tsdocker ep-0123456789ab ip saddr != 10.89.0.5 counter name spoofed drop');
    expect(s.some((l) => /^add (table|map|counter)/.test(l))).toBe(false);
    expect(s[0]).toBe('add element inet tsdocker netfwd { "tsdbr-abababab" : jump net-abababababab }');
  });
  it('removes a binding in one transaction that works whether or not it exists (add, then delete)', () => {
    const s = dropGuardScript('tsd0123456789ab');
    expect(s.findIndex((l) => l.startsWith('add element'))).toBeLessThan(s.findIndex((l) => l.startsWith('delete element')));
    expect(s.at(-1)).toBe('delete chain bridge tsdocker ep-0123456789ab');
  });
});
