import { describe, it, expect } from 'vitest';
import { diffEntries, endpointMac, vtepMac } from '../../src/net/overlay/vxlan.js';
import { peersScript } from '../../src/net/overlay/peers.js';
import { parseStore } from '../../src/net/overlay/config.js';
import { updateKnown, wellFormed, type Known, type Snapshot } from '../../src/net/overlay/reconcile.js';
import { buildRecord } from '../../src/net/networks.js';

const ep = (node: string, ip: string, vtep: string) => ({ netId: 'n1', ep: { containerId: `c-${ip}`, name: ip, aliases: [], ip, mac: endpointMac(ip), node, vtep } });

describe('overlay kernel entries', () => {
  it('the diff writes only what differs, with replace, and deletes what is not wanted', () => {
    const want = [
      { ip: '10.0.0.2', mac: endpointMac('10.0.0.2'), vtep: '192.0.2.2' },
      { ip: '10.0.0.3', mac: endpointMac('10.0.0.3'), vtep: '192.0.2.3' },
    ];
    const cur = {
      self: new Map([
        [endpointMac('10.0.0.2'), '192.0.2.2'],
        [endpointMac('10.0.0.3'), '192.0.2.9'],
        ['02:42:0a:00:00:09', '192.0.2.9'],
      ]),
      master: new Set([endpointMac('10.0.0.2'), endpointMac('10.0.0.3')]),
      neigh: new Map([[`10.0.0.2`, endpointMac('10.0.0.2')]]),
    };
    const d = diffEntries('vx', want, cur);
    expect(d.fdb).toEqual([`fdb replace 02:42:0a:00:00:03 dev vx self permanent dst 192.0.2.3`, 'fdb del 02:42:0a:00:00:09 dev vx self']);
    expect(d.neigh).toEqual(['neigh replace 10.0.0.3 lladdr 02:42:0a:00:00:03 dev vx nud permanent']);
    const done = { self: new Map(want.map((w) => [w.mac, w.vtep])), master: new Set(want.map((w) => w.mac)), neigh: new Map(want.map((w) => [w.ip, w.mac])) };
    expect(diffEntries('vx', want, done)).toEqual({ fdb: [], neigh: [] });
  });

  it('identities are derived: container MAC from its address, VTEP MAC from (node, network)', () => {
    expect(endpointMac('10.77.0.188')).toBe('02:42:0a:4d:00:bc');
    expect(vtepMac('n', 'x')).toBe(vtepMac('n', 'x'));
    expect(vtepMac('n', 'x')).not.toBe(vtepMac('m', 'x'));
    expect(vtepMac('n', 'x')).toMatch(/^02(:[0-9a-f]{2}){5}$/);
  });

  it('VXLAN is accepted from peers only: one atomic batch that rewrites the sets', () => {
    const s = peersScript(['192.0.2.2', '192.0.2.3', '192.0.2.2'], [4789]);
    expect(s).toContain('add rule inet tsdocker-overlay input udp dport @ports ip saddr != @peers counter name nonmember drop');
    expect(s).toContain('add element inet tsdocker-overlay peers { 192.0.2.2, 192.0.2.3 }');
    expect(s.indexOf('flush set inet tsdocker-overlay peers')).toBeLessThan(s.indexOf('add element inet tsdocker-overlay peers { 192.0.2.2, 192.0.2.3 }'));
    expect(peersScript([], [4789]).some((l) => l.includes('add element inet tsdocker-overlay peers'))).toBe(false);
    // conntrack stays off the VXLAN datagrams and container-to-container traffic; the gateway (NAT, hairpin) stays tracked
    const n = peersScript(['192.0.2.2'], [4789], [{ bridge: 'tsdov-1', subnet: '10.77.0.0/24', gateway: '10.77.0.1' }]);
    expect(n).toContain('add rule inet tsdocker-overlay pre udp dport @ports notrack');
    expect(n).toContain('add rule inet tsdocker-overlay pre iifname "tsdov-1" ip daddr 10.77.0.0/24 ip daddr != 10.77.0.1 notrack');
  });
});

describe('overlay control plane', () => {
  it('store addresses are etcd://HOST:PORT[,HOST:PORT]', () => {
    expect(parseStore('etcd://192.0.2.10:2379,192.0.2.11:2379')).toEqual(['192.0.2.10:2379', '192.0.2.11:2379']);
    expect(() => parseStore('consul://h:8500')).toThrow(/invalid cluster store/);
    expect(() => parseStore('etcd://h')).toThrow(/invalid cluster store/);
  });

  it('a node that left the store is kept while it answers, within the grace, else dropped', async () => {
    const known = new Map<string, Known>();
    const snap: Snapshot = { nets: [], nodes: new Map([['b', { addr: '192.0.2.2', mtu: 1450, lastSeen: '' }], ['c', { addr: '192.0.2.3', mtu: 1450, lastSeen: '' }]]), eps: [ep('b', '10.0.0.2', '192.0.2.2'), ep('c', '10.0.0.3', '192.0.2.3')] };
    await updateKnown(known, snap, 'a');
    expect([...known.keys()].sort()).toEqual(['b', 'c']);
    // both leases expire: b answers on the underlay, c does not
    const gone: Snapshot = { nets: [], nodes: new Map(), eps: [] };
    const answers = async (addr: string) => addr === '192.0.2.2';
    await updateKnown(known, gone, 'a', Date.now(), answers);
    expect([...known.keys()]).toEqual(['b']);
    expect(known.get('b')!.eps.map((e) => e.ep.ip)).toEqual(['10.0.0.2']);
    // past the grace even an answering node goes
    await updateKnown(known, gone, 'a', Date.now() + 11 * 60_000, answers);
    expect(known.size).toBe(0);
  });

  it('only well-formed store values reach the kernel batches (no line injection)', () => {
    const good = { containerId: 'a'.repeat(64), name: 'x', aliases: [], ip: '10.0.0.2', mac: endpointMac('10.0.0.2'), node: 'n', vtep: '192.0.2.2' };
    expect(wellFormed(good)).toBe(true);
    expect(wellFormed({ ...good, ip: '10.0.0.2\nfdb flush dev ul' })).toBe(false);
    expect(wellFormed({ ...good, mac: '02:42:0a:00:00:02 dev ul' })).toBe(false);
    expect(wellFormed({ ...good, vtep: 'evil' })).toBe(false);
  });

  it('overlay options are validated with the record', () => {
    const r = buildRecord({ name: 'ov', driver: 'overlay', subnet: '10.77.0.0/24', options: { vni: '5000', 'vxlan-port': '4790', mtu: '1400' } }, [], []);
    expect(r).toMatchObject({ driver: 'overlay', vni: 5000, vxlanPort: 4790, mtu: 1400, mtuFixed: true, dns: true });
    expect(r.bridge).toMatch(/^tsdov-[0-9a-f]{8}$/);
    expect(r.vxlan).toMatch(/^tsdvx-[0-9a-f]{8}$/);
    expect(() => buildRecord({ name: 'ov', driver: 'overlay', options: { vni: '0' } }, [], [])).toThrow(/invalid -o vni=0/);
    expect(() => buildRecord({ name: 'ov', driver: 'overlay', options: { 'vxlan-port': '70000' } }, [], [])).toThrow(/vxlan-port/);
  });
});
