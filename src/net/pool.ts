/**
 * Default subnets: Docker's pools (172.17-31.0.0/16, then 192.168.0.0/16 in /20s), walked
 * lazily, skipping every subnet that overlaps a route of the host (`ip -j -4 route`: a LAN,
 * a VPN, another runtime's bridge) or a network tsdocker already has.
 */
import { exec } from '../sys/exec.js';
import { TsdError } from '../sys/errors.js';
import { overlaps, parseCidr, parseIp, subnets, type Cidr } from './ipv4.js';

export function* defaultPools(): Generator<Cidr> {
  for (let b = 17; b <= 31; b++) yield { net: parseIp(`172.${b}.0.0`)!, prefix: 16 };
  yield* subnets(parseCidr('192.168.0.0/16')!, 20);
}

export async function hostRoutes(): Promise<Cidr[]> {
  const r = await exec(['ip', '-j', '-4', 'route', 'show', 'table', 'main']);
  const out: Cidr[] = [];
  for (const route of JSON.parse(r.stdout || '[]') as { dst: string }[]) {
    if (!route.dst || route.dst === 'default') continue;
    const c = parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/32`);
    if (c) out.push(c);
  }
  return out;
}

export function pickSubnet(taken: Cidr[], pools: Iterable<Cidr> = defaultPools()): Cidr {
  for (const c of pools) {
    if (!taken.some((t) => overlaps(t, c))) return c;
  }
  throw new TsdError('IPAM_EXHAUSTED', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network', {
    hint: 'remove unused networks (`tsdocker network prune`) or give --subnet explicitly',
  });
}
