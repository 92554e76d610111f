/**
 * Starting and poking the embedded DNS (dnsd.ts). At most one per root: its pid file lives
 * in the runtime dir; attach and detach send SIGHUP so a new container's name is served at
 * once. The daemon is started detached in the namespace the CLI runs in (the host's), with
 * its log in <run>/dnsd.log, and exits by itself when no user network has containers.
 * After a kill it is started again by superviseDns: from ps, exec and network reload, and
 * from the monitors of containers on user networks (`supervise` spec key, every 3 s).
 */
import { createRequire } from 'node:module';
import { distFile } from '../sys/project.js';
import { openSync, closeSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootDir } from '../state/paths.js';
import { withLock } from '../state/lock.js';
import { log } from '../sys/log.js';
import { parseIp, procHex } from './ipv4.js';
import { isRunningSync } from '../state/containers.js';
import { listEndpoints, listNetworks, netFiles } from './store.js';

const dlog = log.child({ mod: 'net.dns' });
// child_process only when the daemon is started (most starts find it running, or need none)
const require = createRequire(import.meta.url);

function daemonPid(): number | undefined {
  try {
    const pid = Number(readFileSync(netFiles.dnsPid(), 'utf8').trim());
    if (!pid) return undefined;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('dnsd.js') && cmd.includes(rootDir()) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function bound(ip: string): boolean {
  const hex = `${procHex(parseIp(ip)!)}:0035`;
  try {
    return readFileSync('/proc/net/udp', 'utf8').includes(hex);
  } catch {
    return false;
  }
}

/** Make sure the resolver serves `gateway` (call after the endpoint record is written). */
export async function ensureDns(gateway: string): Promise<void> {
  // the check and the start under one lock: concurrent runs start one daemon, not several
  await withLock('dnsd', async () => startOrPoke());
  for (let i = 0; i < 100 && !bound(gateway); i++) await sleep(10);
  if (!bound(gateway)) dlog.warn({ gateway }, 'embedded DNS is not listening yet; names may resolve a moment later');
}

async function startOrPoke(): Promise<void> {
  const pid = daemonPid();
  if (pid) {
    try {
      process.kill(pid, 'SIGHUP');
    } catch {
      /* exiting: start another below */
    }
  }
  if (!pid || !daemonPid()) {
    mkdirSync(dirname(netFiles.dnsLog()), { recursive: true });
    const out = openSync(netFiles.dnsLog(), 'a');
    const script = distFile('net', 'dnsd.js');
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const child = spawn(process.execPath, [script, rootDir()], { detached: true, stdio: ['ignore', out, out] });
    child.unref();
    closeSync(out);
    dlog.debug({ pid: child.pid }, 'started the embedded DNS');
    // its pid file is written within a few ms; wait for it so the next caller pokes instead of starting
    for (let i = 0; i < 200 && !daemonPid(); i++) await sleep(5);
  }
}

/** Tell the resolver that endpoints changed (it exits by itself when none are left). */
export function pokeDns(): void {
  const pid = daemonPid();
  if (pid) {
    try {
      process.kill(pid, 'SIGHUP');
    } catch {
      /* gone */
    }
  }
}

/**
 * Supervision: bring the resolver back when it is gone (killed, OOM-killed) while a user
 * network still has running containers. Called by the commands that rely on names (ps,
 * exec, network ls/inspect/reload); costs a pid-file read when the daemon is alive.
 */
export async function superviseDns(): Promise<void> {
  if (daemonPid()) return;
  const net = listNetworks().find((n) => n.dns && listEndpoints(n.id).some((e) => isRunningSync(e.containerId) === true));
  if (!net) return;
  dlog.info({ network: net.name }, 'the embedded DNS was not running: starting it again');
  await ensureDns(net.gateway);
}

/** What a monitor watches to keep the resolver alive (its pid file, a word of its command line). */
export function dnsDaemonWatch(): { pidFile: string; match: string } {
  return { pidFile: netFiles.dnsPid(), match: 'dnsd.js' };
}
