/**
 * The container record tsdocker-oci keeps under its --root, and the status derived from
 * the kernel, never from a monitor (nobody watches an OCI container): the init's pid with
 * its start time tells running from stopped (a zombie or a reused pid is stopped), the
 * FIFO's presence tells created from running, the freezer tells paused.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { ociPaths } from '../../state/paths.js';
import { TsdError } from '../../sys/errors.js';
import { writeFileAtomicSync } from '../../sys/fs.js';
import { isSameProcess } from '../../sys/proc.js';
import { isFrozen, type OciCgroup } from './cgroups.js';
import type { OciConfig } from './config.js';

export const OCI_VERSION = '1.0.2-dev';

export type OciStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface OciRecord {
  id: string;
  bundle: string;
  rootfs: string;
  pid: number;
  pidStartTime: number;
  created: string;
  /** what later commands need from config.json (it is never read again after create) */
  config: Pick<OciConfig, 'hooks' | 'annotations' | 'process'> & { namespaces: { type: string; path?: string }[]; seccomp: boolean };
  cgroup: OciCgroup;
  /** no mount namespace of its own: how many mounts the rootfs had before create (shared-root.ts) */
  sharedRoot?: number;
}

export const ID_RE = /^[\w+.-]+$/;

export function checkId(id: string | undefined): string {
  if (!id) throw new TsdError('BAD_ARGS', 'container id cannot be empty', { exitCode: 1, hint: 'give the container id as the last argument' });
  if (!ID_RE.test(id) || id === '.' || id === '..') {
    throw new TsdError('BAD_ARGS', `invalid container id "${id}"`, { exitCode: 1, hint: 'ids are letters, digits, _ + . and -' });
  }
  return id;
}

export function readRecord(root: string, id: string): OciRecord {
  checkId(id);
  let text: string;
  try {
    text = readFileSync(ociPaths.state(root, id), 'utf8');
  } catch {
    throw new TsdError('CONTAINER_NOT_FOUND', `container "${id}" does not exist`, { exitCode: 1, hint: `see \`tsdocker-oci --root ${root} list\`` });
  }
  return JSON.parse(text) as OciRecord;
}

export function writeRecord(root: string, rec: OciRecord): void {
  writeFileAtomicSync(ociPaths.state(root, rec.id), JSON.stringify(rec), 0o600);
}

export function statusOf(root: string, rec: OciRecord): OciStatus {
  if (!isSameProcess(rec.pid, rec.pidStartTime)) return 'stopped';
  if (existsSync(ociPaths.fifo(root, rec.id))) return 'created';
  return isFrozen(rec.cgroup) ? 'paused' : 'running';
}

/** The state the CLI prints and hooks read on stdin (specs.State, plus runc's extra fields). */
export function stateJson(root: string, rec: OciRecord, status: OciStatus = statusOf(root, rec)): Record<string, unknown> {
  return {
    ociVersion: OCI_VERSION,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: '',
    ...(rec.config.annotations ? { annotations: rec.config.annotations } : {}),
  };
}

export function listIds(root: string): string[] {
  try {
    return readdirSync(root).filter((id) => ID_RE.test(id) && existsSync(ociPaths.state(root, id))).sort();
  } catch {
    return [];
  }
}
