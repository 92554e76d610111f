/**
 * Starting the overlay agent (agent.ts) on first need, one per root, as the embedded DNS is
 * started: a state file in the runtime dir ({pid, lease}), checked against /proc/<pid>/cmdline,
 * a detached `node agent.js <root> <store> <advertise>` when it is not running. Any tsdocker
 * command on a host that has overlay links restarts a dead agent (ensureAgentIfNeeded).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootDir } from '../../state/paths.js';
import { withLock } from '../../state/lock.js';
import { distFile } from '../../sys/project.js';
import { TsdError } from '../../sys/errors.js';
import { log } from '../../sys/log.js';
import { listNetworks, netFiles } from '../store.js';
import { clusterConfigured, requireCluster, type ClusterConfig } from './config.js';

const alog = log.child({ mod: 'net.overlay.agent' });

export interface AgentState {
  pid: number;
  /** the node's etcd lease (hex id) once registered */
  lease?: string;
  store: string;
}

/** The running agent of this root, or undefined. */
export function agentState(): AgentState | undefined {
  try {
    const st = JSON.parse(readFileSync(netFiles.agentState(), 'utf8')) as AgentState;
    const cmd = readFileSync(`/proc/${st.pid}/cmdline`, 'utf8').split('\0');
    return cmd.some((a) => a.endsWith('agent.js')) && cmd.includes(rootDir()) ? st : undefined;
  } catch {
    return undefined;
  }
}

export async function ensureAgent(cfg: ClusterConfig): Promise<AgentState> {
  return withLock('ovagent', async () => {
    const cur = agentState();
    if (cur) return cur;
    mkdirSync(dirname(netFiles.agentLog()), { recursive: true });
    const out = openSync(netFiles.agentLog(), 'a');
    const child = spawn(process.execPath, [distFile('net', 'overlay', 'agent.js'), rootDir(), cfg.store, cfg.advertise], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.unref();
    closeSync(out);
    alog.debug({ pid: child.pid }, 'started the overlay agent');
    for (let i = 0; i < 300; i++) {
      const st = agentState();
      if (st && st.pid === child.pid) return st;
      await sleep(10);
    }
    throw new TsdError('INTERNAL', `the overlay agent did not start (see ${netFiles.agentLog()})`);
  });
}

/** The node's lease, for keys that must go when this host does. */
export async function agentLease(cfg: ClusterConfig): Promise<string> {
  await ensureAgent(cfg);
  for (let i = 0; i < 100; i++) {
    const st = agentState();
    if (st?.lease) return st.lease;
    await sleep(50);
  }
  throw new TsdError('CLUSTER_STORE', `this host is not registered with the cluster store ${cfg.store} (its agent has no lease yet)`, {
    hint: `see ${netFiles.agentLog()}`,
  });
}

/** Called before every command on a host with a cluster store: a dead agent comes back. */
export async function ensureAgentIfNeeded(): Promise<void> {
  if (!clusterConfigured()) return;
  if (agentState()) return;
  if (!listNetworks().some((n) => n.driver === 'overlay' && hasLink(n.bridge))) return;
  await ensureAgent(requireCluster());
}

function hasLink(name: string): boolean {
  try {
    return readFileSync('/proc/net/dev', 'utf8').split('\n').some((l) => l.trimStart().startsWith(`${name}:`));
  } catch {
    return false;
  }
}
