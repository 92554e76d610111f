/** Facts about processes from /proc: a pid's start time tells a live process from a reused pid. */
import { closeSync, constants, openSync, readSync } from 'node:fs';

// /proc/<pid>/stat is one short line (a 16-byte comm and numbers): one read into a buffer kept
// for the process, 3 syscalls where readFileSync makes 5 (fstat, and a read to see the end);
// `ps` asks it twice per running container
const statBuf = Buffer.allocUnsafe(4096);

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined if gone. */
export function processStartTime(pid: number): number | undefined {
  let n: number;
  try {
    const fd = openSync(`/proc/${pid}/stat`, constants.O_RDONLY);
    try {
      n = readSync(fd, statBuf, 0, statBuf.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const stat = statBuf.toString('latin1', 0, n);
  // comm (field 2) may contain spaces and parentheses: count fields after the last ')'
  let at = stat.lastIndexOf(')') + 2; // field 3, the state
  const state = stat[at];
  if (state === 'Z' || state === 'X') return undefined;
  for (let field = 3; field < 22 && at > 0; field++) at = stat.indexOf(' ', at) + 1;
  const start = at > 0 ? Number(stat.slice(at, stat.indexOf(' ', at))) : NaN;
  return Number.isFinite(start) ? start : undefined;
}

/** True when `pid` is alive and is the same process that started at `startTime`. */
export function isSameProcess(pid: number | undefined, startTime: number | undefined): boolean {
  if (!pid || startTime === undefined) return false;
  return processStartTime(pid) === startTime;
}

/** Is there a process `pid` (a zombie too)? A signal 0: no file to open, no start time. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
