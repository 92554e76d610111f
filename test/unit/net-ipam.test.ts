import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setRoot, paths } from '../../src/state/paths.js';
import { allocate, release, leaseCount } from '../../src/net/ipam.js';
import { buildRecord } from '../../src/net/networks.js';
import { saveNetwork, type NetworkRecord } from '../../src/net/store.js';
import { parseCidr } from '../../src/net/ipv4.js';

let root: string;
const ctr = (n: number) => String(n).padStart(64, '0');

function net(o: Partial<Parameters<typeof buildRecord>[0]> = {}, existing: NetworkRecord[] = []): NetworkRecord {
  const r = buildRecord({ name: 'n', subnet: '10.9.0.0/29', ...o }, existing, []);
  saveNetwork(r);
  return r;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsd-ipam-'));
  setRoot(root);
  for (let i = 0; i < 10; i++) mkdirSync(paths.container(ctr(i)), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('IPAM', () => {
  it('never hands out network, gateway or broadcast, and says when the subnet is exhausted', () => {
    const n = net(); // 10.9.0.0/29: .0 network, .1 gateway, .7 broadcast -> .2-.6
    const got = [1, 2, 3, 4, 5].map((i) => allocate(n, ctr(i), 'eth0'));
    expect(got.sort()).toEqual(['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    expect(() => allocate(n, ctr(6), 'eth0')).toThrow(/no available IPv4 addresses.*n \(10\.9\.0\.0\/29\)/);
    expect(release(n.id, ctr(3))).toEqual(['10.9.0.4']);
    expect(release(n.id, ctr(3))).toEqual([]); // idempotent
    expect(allocate(n, ctr(6), 'eth0')).toBe('10.9.0.4');
  });
  it('is round-robin: a released address is not reused at once', () => {
    const n = net({ subnet: '10.9.0.0/24' });
    expect(allocate(n, ctr(1), 'eth0')).toBe('10.9.0.2');
    release(n.id, ctr(1));
    expect(allocate(n, ctr(2), 'eth0')).toBe('10.9.0.3');
  });
  it('validates --ip: inside the subnet, not the gateway, not leased', () => {
    const n = net({ subnet: '10.9.0.0/24', ipRange: '10.9.0.128/25' });
    expect(allocate(n, ctr(1), 'eth0')).toBe('10.9.0.128');
    expect(allocate(n, ctr(2), 'eth0', '10.9.0.5')).toBe('10.9.0.5'); // --ip may lie outside the range, inside the subnet
    expect(() => allocate(n, ctr(3), 'eth0', '10.9.0.5')).toThrow(/Address already in use/);
    expect(() => allocate(n, ctr(3), 'eth0', '10.9.0.1')).toThrow(/Address already in use/);
    expect(() => allocate(n, ctr(3), 'eth0', '10.9.1.5')).toThrow(/no configured subnet/);
    expect(() => allocate(n, ctr(3), 'eth0', '10.9.0.255')).toThrow(/no configured subnet/);
    expect(() => allocate(n, ctr(3), 'eth0', 'x')).toThrow(/invalid IPv4/);
    expect(leaseCount(n.id)).toBe(2);
  });
  it('reclaims a lease whose container no longer exists (removed after a crash)', () => {
    const n = net({ subnet: '10.9.0.0/30' });
    expect(allocate(n, ctr(1), 'eth0')).toBe('10.9.0.2');
    rmSync(paths.container(ctr(1)), { recursive: true });
    expect(allocate(n, ctr(2), 'eth0')).toBe('10.9.0.2');
  });
});

describe('network records', () => {
  it('validates subnet, gateway, range, mtu, name, overlap', () => {
    const a = net({ name: 'a', subnet: '10.9.0.0/24' });
    expect(a.gateway).toBe('10.9.0.1');
    expect(a.bridge).toMatch(/^tsdbr-[0-9a-f]{8}$/);
    const b = (o: Parameters<typeof buildRecord>[0]) => () => buildRecord(o, [a], []);
    expect(b({ name: 'a' })).toThrow(/network with name a already exists/);
    expect(b({ name: 'x', subnet: '10.9.0.0/16' })).toThrow(/Pool overlaps/);
    expect(b({ name: 'x', subnet: '10.10.0/24' })).toThrow(/invalid CIDR address/);
    expect(b({ name: 'x', subnet: '10.10.0.0/31' })).toThrow(/too small/);
    expect(b({ name: 'x', subnet: '10.10.0.0/24', gateway: '10.10.1.1' })).toThrow(/no matching subnet for gateway/);
    expect(b({ name: 'x', subnet: '10.10.0.0/24', gateway: '10.10.0.0' })).toThrow(/no matching subnet for gateway/);
    expect(b({ name: 'x', subnet: '10.10.0.0/24', ipRange: '10.10.0.0/23' })).toThrow(/no matching subnet for range/);
    expect(b({ name: 'x', gateway: '10.10.0.1' })).toThrow(/need --subnet/);
    expect(b({ name: 'x', subnet: '10.10.0.0/24', options: { mtu: '9' } })).toThrow(/invalid MTU/);
    expect(b({ name: 'bad name' })).toThrow(/invalid network name/);
    expect(b({ name: 'x', driver: 'macvlan' })).toThrow(/not supported/);
    expect(buildRecord({ name: 'z', subnet: '10.11.0.0/24', options: { 'com.docker.network.bridge.name': 'br-web' } }, [a], []).bridge).toBe('br-web');
    expect(b({ name: 'x', subnet: '10.10.0.0/24', options: { 'com.docker.network.bridge.name': 'a-name-that-is-too-long' } })).toThrow(/invalid bridge name/);
    expect(b({ name: 'x', subnet: '10.10.0.0/24', options: { bridge: a.bridge } })).toThrow(/already used by network a/);
    const routes = [parseCidr('172.17.0.0/16'), parseCidr('172.18.0.0/15')];
    expect(buildRecord({ name: 'y' }, [a], routes).subnet).toBe('172.20.0.0/16');
  });
});
