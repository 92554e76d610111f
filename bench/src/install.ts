/**
 * --install-peers: apt-get installs the peers that are missing. Debian's policy-rc.d
 * mechanism is respected (services are not started by the install); the bench starts its
 * own dockerd in a sandbox when it measures Docker, and stops it again.
 */
import { existsSync } from 'node:fs';
import { log } from './log.js';
import { run } from './proc.js';

const PEERS: [pkg: string, binary: string][] = [
  ['docker.io', '/usr/sbin/dockerd'],
  ['podman', '/usr/bin/podman'],
  ['runc', '/usr/sbin/runc'],
  ['iperf3', '/usr/bin/iperf3'],
];

export async function installPeers(): Promise<void> {
  const missing = PEERS.filter(([, bin]) => !existsSync(bin)).map(([pkg]) => pkg);
  if (missing.length === 0) {
    log('--install-peers: docker.io, podman, runc and iperf3 are already installed');
    return;
  }
  log(`--install-peers: apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const up = await run(['apt-get', 'update', '-q'], { env, timeoutMs: 600_000 });
  if (up.code !== 0) log(`apt-get update failed (${up.code}); trying the install anyway`);
  const r = await run(['apt-get', 'install', '-y', '-q', ...missing], { env, timeoutMs: 1_200_000 });
  if (r.code !== 0) log(`apt-get install failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  else log(`installed ${missing.join(' ')}`);
}
