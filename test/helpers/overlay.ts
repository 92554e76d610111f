/** Small helpers shared by the overlay tests: polling, a container's pid and address, kernel tables. */
import { tsdOk } from './sandbox.js';
import type { Host } from './cluster.js';

/** Poll `fn` until it returns true (or the deadline passes); returns the last result. */
export async function eventually(fn: () => Promise<boolean>, ms: number, step = 500): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, step));
  }
}

export async function inspectOne(h: Host, name: string): Promise<{ pid: number; ip: string; mac?: string }> {
  const j = JSON.parse(await tsdOk(h, ['inspect', name])) as { State: { Pid: number }; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[];
  return { pid: j[0]!.State.Pid, ip: Object.values(j[0]!.NetworkSettings.Networks)[0]!.IPAddress };
}

/** Run argv inside a container's network namespace (traffic that starts in the container). */
export function inCtr(h: Host, pid: number, argv: string[], timeoutMs = 20_000) {
  return h.sh(['nsenter', `--net=/proc/${pid}/ns/net`, '--', ...argv], { timeoutMs });
}

/** The static remote entries a host's VXLAN device holds: "mac dst" and "ip mac" lines, sorted. */
export async function remoteEntries(h: Host, vxlan: string): Promise<{ fdb: string[]; neigh: string[] }> {
  const f = JSON.parse((await h.sh(['bridge', '-j', 'fdb', 'show', 'dev', vxlan])).stdout || '[]') as { mac: string; dst?: string }[];
  const n = JSON.parse((await h.sh(['ip', '-j', 'neigh', 'show', 'dev', vxlan, 'nud', 'permanent'])).stdout || '[]') as { dst: string; lladdr: string }[];
  return {
    fdb: f.filter((r) => r.dst).map((r) => `${r.mac} ${r.dst}`).sort(),
    neigh: n.map((r) => `${r.dst} ${r.lladdr}`).sort(),
  };
}

export async function vxlanOf(h: Host, net: string): Promise<string> {
  const j = JSON.parse(await tsdOk(h, ['network', 'inspect', net])) as { Id: string }[];
  return `tsdvx-${j[0]!.Id.slice(0, 8)}`;
}
