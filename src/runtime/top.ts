/**
 * `top CONTAINER [ps OPTIONS]` (Docker's daemon/top_unix.go): the host's `ps` (default -ef),
 * its rows kept for the pids in the container's cgroup, the PID column found by its title and
 * the last column keeping its spaces. `ps -q PIDS` first; options that do not go with -q
 * (such as f) are retried without it, as Docker does.
 */
import { emitContainer } from '../state/events.js';
import { findContainer } from '../state/containers.js';
import { exec } from '../sys/exec.js';
import { TsdError, errorMessage } from '../sys/errors.js';
import { cgroupPids } from './cgroups/freezer.js';
import { containerCgroup } from './pause.js';

export interface ProcList {
  titles: string[];
  processes: string[][];
}

/** Docker refuses `KEY=PID...` output renames other than pid= (they would hide the PID column). */
export function validatePsArgs(args: string): void {
  for (const m of args.matchAll(/\s+(\S*)=\s*(PID\S*)/g)) {
    if (m[1] !== 'pid') throw new TsdError('BAD_ARGS', `specifying "${m[1]}=${m[2]}" is not allowed`, { hint: 'rename a column other than PID' });
  }
}

/** ps output -> the rows of `pids` (a "-" PID is a thread line of the row above, with m). */
export function parsePsOutput(output: string, pids: number[]): ProcList {
  const lines = output.split('\n');
  const titles = (lines[0] ?? '').split(/[ \t]+/).filter(Boolean);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new TsdError('CMD_FAILED', "Couldn't find PID field in ps output", { hint: 'keep the PID column in the ps options' });
  const want = new Set(pids);
  const processes: string[][] = [];
  let lastKept = false;
  const keep = (fields: string[]) => processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  for (const line of lines.slice(1)) {
    const fields = line.split(/[ \t]+/).filter(Boolean);
    if (!fields.length) continue;
    const field = fields[pidIndex] ?? '';
    if (field === '-') {
      if (lastKept) keep(fields);
      continue;
    }
    const p = Number(field);
    if (!/^\d+$/.test(field)) throw new TsdError('CMD_FAILED', `Unexpected pid '${field}': ps output is not a table with a PID column`);
    lastKept = want.has(p);
    if (lastKept) keep(fields);
  }
  return { titles, processes };
}

export async function topContainer(ref: string, psArgs: string[]): Promise<ProcList> {
  const args = psArgs.length ? psArgs.join(' ') : '-ef';
  validatePsArgs(args);
  const v = await findContainer(ref);
  if (v.status !== 'running') throw new TsdError('CONTAINER_NOT_RUNNING', `Container ${v.config.id} is not running`, { hint: 'start it first with `tsdocker start`' });
  const pids = cgroupPids(containerCgroup(v.config.id));
  const argv = ['ps', ...args.split(' ')];
  let out: string;
  try {
    out = (await exec([...argv, '-q', pids.join(',')])).stdout;
  } catch {
    try {
      out = (await exec(argv)).stdout;
    } catch (err) {
      throw new TsdError('CMD_FAILED', `Error running ps: ${errorMessage(err)}`, { hint: 'check the ps options (see ps --help)' });
    }
  }
  const list = parsePsOutput(out, pids);
  emitContainer(v.config, 'top');
  return list;
}
