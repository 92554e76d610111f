/**
 * Several simulated hosts on one machine for the overlay tests: an "underlay" namespace
 * holding a bridge, each host a sandbox (its own net+mount namespace and --root) with a veth
 * `ul` into it (192.0.2.0/24), and etcd (Debian's etcd-server) in a namespace of its own on
 * the underlay, with a throwaway data dir, stopped by pid. Each host's cluster settings are
 * in <root>/cluster.json.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandbox, run, startHolder, type Sandbox } from './sandbox.js';

export const ETCD_IP = '192.0.2.100';
export const STORE = `etcd://${ETCD_IP}:2379`;

export interface Host extends Sandbox {
  ip: string;
  name: string;
}

export interface Cluster {
  hosts: Host[];
  underlayPid: number;
  etcdPid(): number | undefined;
  startEtcd(): Promise<void>;
  stopEtcd(): Promise<void>;
  /** etcdctl against the cluster's etcd (from the etcd namespace) */
  etcdctl(args: string[]): Promise<string>;
  /** the overlay agent's pid on a host */
  agentPid(h: Host): number | undefined;
  close(): Promise<void>;
}

function ulExec(pid: number, argv: string[]): void {
  execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', ...argv]);
}

/** veth from a namespace (by pid) into the underlay bridge, address ip/24 on `ul`. */
export function plug(ulPid: number, nsPid: number, port: string, ip: string, mtu: number, gro = false): void {
  ulExec(ulPid, ['ip', 'link', 'add', port, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'ul', 'mtu', String(mtu), 'netns', String(nsPid)]);
  ulExec(ulPid, ['ip', 'link', 'set', port, 'master', 'ul0', 'up']);
  ulExec(nsPid, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'ul']);
  ulExec(nsPid, ['ip', 'link', 'set', 'ul', 'up']);
  // a host's NIC aggregates received segments (GRO); a veth does so only when asked
  if (gro) ulExec(nsPid, ['ethtool', '-K', 'ul', 'gro', 'on']);
}

export async function createCluster(n: number, opts: { mtu?: number; gro?: boolean } = {}): Promise<Cluster> {
  const mtu = opts.mtu ?? 1500;
  const underlay = await startHolder(['--net']);
  const ulPid = underlay.pid!;
  ulExec(ulPid, ['ip', 'link', 'add', 'ul0', 'mtu', String(mtu), 'type', 'bridge']);
  ulExec(ulPid, ['ip', 'link', 'set', 'ul0', 'up']);
  const etcdNs = await startHolder(['--net']);
  ulExec(etcdNs.pid!, ['ip', 'link', 'set', 'lo', 'up']);
  plug(ulPid, etcdNs.pid!, 'etcd', ETCD_IP, mtu);
  const dataDir = mkdtempSync(join(tmpdir(), 'tsd-etcd-'));
  let etcd: ChildProcess | undefined;
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const sb = await createSandbox(`tsd-ov${i}`);
    const ip = `192.0.2.${i + 1}`;
    plug(ulPid, sb.holderPid, `h${i}`, ip, mtu, opts.gro);
    writeFileSync(join(sb.root, 'cluster.json'), JSON.stringify({ 'cluster-store': STORE, 'advertise-addr': ip }));
    hosts.push(Object.assign(sb, { ip, name: `host${i}` }));
  }
  const etcdctl = async (args: string[]) => {
    const r = await run(['nsenter', `--net=/proc/${etcdNs.pid}/ns/net`, '--', 'etcdctl', `--endpoints=http://${ETCD_IP}:2379`, '--dial-timeout=2s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const c: Cluster = {
    hosts,
    underlayPid: ulPid,
    etcdPid: () => etcd?.pid,
    async startEtcd() {
      etcd = spawn(
        'nsenter',
        [
          `--net=/proc/${etcdNs.pid}/ns/net`,
          '--',
          'etcd',
          '--data-dir', dataDir,
          '--listen-client-urls', `http://${ETCD_IP}:2379`,
          '--advertise-client-urls', `http://${ETCD_IP}:2379`,
          '--listen-peer-urls', 'http://127.0.0.1:2380',
          '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
          '--initial-cluster', 'default=http://127.0.0.1:2380',
          '--log-level', 'error',
        ],
        { stdio: 'ignore' },
      );
      for (let i = 0; i < 100; i++) {
        try {
          await etcdctl(['endpoint', 'health']);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      throw new Error('etcd did not come up');
    },
    async stopEtcd() {
      if (!etcd || etcd.exitCode !== null) return;
      const e = etcd;
      e.kill('SIGTERM');
      await new Promise((r) => e.once('exit', r));
    },
    etcdctl,
    agentPid(h) {
      try {
        const pid = (JSON.parse(readFileSync(join(h.root, 'run', 'ovagent.json'), 'utf8')) as { pid: number }).pid;
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent.js') ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    async close() {
      for (const h of hosts) {
        const pid = c.agentPid(h);
        await h.close().catch(() => undefined);
        if (pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* exited by itself */
          }
        }
      }
      await c.stopEtcd();
      for (const p of [etcdNs, underlay]) {
        p.kill('SIGKILL');
        await new Promise((r) => p.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await c.startEtcd();
  return c;
}
