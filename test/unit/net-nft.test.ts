import { describe, it, expect } from 'vitest';
import { baseScript, ctrChain, natChain, netChain, networkScript } from '../../src/net/nft.js';
import { containerPortsScript } from '../../src/net/dnat.js';
import type { NetworkRecord } from '../../src/net/store.js';

const net: NetworkRecord = {
  id: 'ab'.repeat(32),
  name: 'front',
  driver: 'bridge',
  created: '2026-01-01T00:00:00Z',
  subnet: '10.89.0.0/24',
  gateway: '10.89.0.1',
  internal: false,
  mtu: 1500,
  bridge: 'tsdbr-abababab',
  dns: true,
  options: {},
  labels: {},
};

describe('nft rendering', () => {
  it('names chains from ids so they can be found after a crash', () => {
    expect(netChain(net.id)).toBe('net-abababababab');
    expect(natChain(net.id)).toBe('nat-abababababab');
    expect(ctrChain('0123456789abcdef'.repeat(4))).toBe('ctr-0123456789ab');
  });
  it('keeps everything in table inet tsdocker and is idempotent (add + flush)', () => {
    const s = networkScript(net, ['tsd0']);
    expect(s.every((l) => l.includes('inet tsdocker'))).toBe(true);
    expect(s).toContain('flush chain inet tsdocker net-abababababab');
    expect(s.some((l) => /policy drop/.test(l))).toBe(false); // never a drop policy of ours
    expect(s).toContain('add element inet tsdocker bridges { "tsd0", "tsdbr-abababab" }');
    expect(s).toContain('add rule inet tsdocker nat-abababababab oifname != "tsdbr-abababab" masquerade');
    expect(s).toContain('add rule inet tsdocker net-abababababab iifname "tsdbr-abababab" oifname != "tsdbr-abababab" oifname @bridges drop');
    expect(baseScript().filter((l) => l.startsWith('add chain')).every((l) => l.includes('policy accept'))).toBe(true);
  });
  it('internal networks get no masquerade and drop both ways', () => {
    const s = networkScript({ ...net, internal: true }, []);
    expect(s.some((l) => /oifname != "tsdbr-abababab" masquerade/.test(l))).toBe(false);
    expect(s).toContain('add rule inet tsdocker net-abababababab iifname "tsdbr-abababab" oifname != "tsdbr-abababab" drop');
    expect(s).toContain('add rule inet tsdocker net-abababababab oifname "tsdbr-abababab" iifname != "tsdbr-abababab" drop');
  });
  it('renders one DNAT rule per port and one dispatch element per proto/port', () => {
    const s = containerPortsScript('cd'.repeat(32), [
      { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.89.0.2', containerPort: 80 },
      { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.89.0.2', containerPort: 53 },
    ]);
    expect(s).toContain('add rule inet tsdocker ctr-cdcdcdcdcdcd meta l4proto tcp th dport 8080 dnat ip to 10.89.0.2:80');
    expect(s).toContain('add rule inet tsdocker ctr-cdcdcdcdcdcd ip daddr 127.0.0.1 fib saddr type local meta l4proto udp th dport 5353 dnat ip to 10.89.0.2:53');
    expect(s).toContain('add element inet tsdocker ports { tcp . 8080 : jump ctr-cdcdcdcdcdcd, udp . 5353 : jump ctr-cdcdcdcdcdcd }');
    expect(containerPortsScript('cd'.repeat(32), [])).toEqual([]);
  });
});
