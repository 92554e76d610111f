/**
 * --install-peers: apt-get installs the peers that are missing, without starting their
 * services: a temporary /usr/sbin/policy-rc.d (Debian's mechanism, exit 101) keeps the
 * install from starting dockerd and containerd on the host, where dockerd would set the
 * iptables FORWARD policy to DROP for everyone. The bench starts its own dockerd inside a
 * sandbox namespace when it measures Docker, and stops it again.
 */
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { log } from './log.js';
import { run } from './proc.js';

const PEERS: [pkg: string, binary: string][] = [
  ['docker.io', '/usr/sbin/dockerd'],
  ['podman', '/usr/bin/podman'],
  ['runc', '/usr/sbin/runc'],
  ['iperf3', '/usr/bin/iperf3'],
  ['containernetworking-plugins', '/usr/lib/cni/bridge'],
];

const POLICY = '/usr/sbin/policy-rc.d';

export async function installPeers(): Promise<void> {
  const missing = PEERS.filter(([, bin]) => !existsSync(bin)).map(([pkg]) => pkg);
  if (missing.length === 0) {
    log(`--install-peers: ${PEERS.map(([p]) => p).join(', ')} are already installed`);
    return;
  }
  log(`--install-peers: apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const up = await run(['apt-get', 'update', '-q'], { env, timeoutMs: 600_000 });
  if (up.code !== 0) log(`apt-get update failed (${up.code}); trying the install anyway`);
  const ours = !existsSync(POLICY);
  if (ours) writeFileSync(POLICY, '#!/bin/sh\n# written by tsdocker bench --install-peers for the install only\nexit 101\n', { mode: 0o755 });
  let r;
  try {
    r = await run(['apt-get', 'install', '-y', '-q', ...missing], { env, timeoutMs: 1_200_000 });
  } finally {
    if (ours) unlinkSync(POLICY);
  }
  if (r.code !== 0) log(`apt-get install failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  else log(`installed ${missing.join(' ')}`);
}
