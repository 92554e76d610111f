/**
 * A container's directories: the overlay's upper and work dirs, the mount point of its
 * root (mounted inside the container's own mount namespace by the monitor, so the host
 * never sees it), and the generated /etc/hostname, /etc/hosts and /etc/resolv.conf that
 * are bind-mounted into it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from '../state/paths.js';

export interface ContainerDirs {
  dir: string;
  upper: string;
  work: string;
  rootfs: string;
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export function containerDirs(id: string): ContainerDirs {
  const dir = paths.container(id);
  return {
    dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    rootfs: join(dir, 'rootfs'),
    hostname: join(dir, 'hostname'),
    hosts: join(dir, 'hosts'),
    resolvConf: join(dir, 'resolv.conf'),
  };
}

export function createContainerDir(id: string): ContainerDirs {
  const d = containerDirs(id);
  mkdirSync(d.dir, { mode: 0o710 });
  for (const sub of [d.upper, d.work, d.rootfs]) mkdirSync(sub, { mode: 0o755 });
  return d;
}

export function writeEtcFiles(d: ContainerDirs, files: { hostname: string; hosts: string; resolvConf: string }): void {
  writeFileSync(d.hostname, `${files.hostname}\n`, { mode: 0o644 });
  writeFileSync(d.hosts, files.hosts, { mode: 0o644 });
  writeFileSync(d.resolvConf, files.resolvConf, { mode: 0o644 });
}
