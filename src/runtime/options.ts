/**
 * The container's process, resolved from the image config and `run` options with Docker's
 * rules: --entrypoint replaces the image entrypoint and drops its Cmd; COMMAND replaces Cmd;
 * -e overrides image Env; -w and -u override WorkingDir and User.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { TsdError } from '../sys/errors.js';
import { readImageFile } from '../image/files.js';

export interface ImageDefaults {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
}

export interface ProcessOptions {
  command: string[];
  entrypoint?: string;
  env: string[];
  envFiles: string[];
  workdir?: string;
  user?: string;
}

export interface ResolvedProcess {
  argv: string[];
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `-e KEY=VAL` sets; `-e KEY` copies KEY from tsdocker's environment when set. */
export function parseEnvArg(arg: string, hostEnv: NodeJS.ProcessEnv = process.env): string | undefined {
  const eq = arg.indexOf('=');
  if (eq === 0) throw new TsdError('BAD_ARGS', `invalid environment variable: ${arg}`, { hint: 'use -e NAME=VALUE' });
  if (eq > 0) return arg;
  const v = hostEnv[arg];
  return v === undefined ? undefined : `${arg}=${v}`;
}

/** The KEY[=VALUE] lines of an --env-file or --label-file (blank lines and # comments skipped). */
function readKeyValueLines(path: string, flag: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TsdError('BAD_ARGS', `open ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      hint: `give ${flag} a readable file of NAME=VALUE lines`,
    });
  }
  return text.split('\n').map((raw) => raw.replace(/^\s+/, '').replace(/\r$/, '')).filter((line) => line && !line.startsWith('#'));
}

export function readEnvFile(path: string, hostEnv: NodeJS.ProcessEnv = process.env): string[] {
  return readKeyValueLines(path, '--env-file').flatMap((line) => parseEnvArg(line, hostEnv) ?? []);
}

/** --label-file: KEY=VALUE lines (a bare KEY is an empty label), later files and lines win. */
export function readLabelFiles(paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of paths.flatMap((p) => readKeyValueLines(p, '--label-file'))) {
    const eq = line.indexOf('=');
    out[eq < 0 ? line : line.slice(0, eq)] = eq < 0 ? '' : line.slice(eq + 1);
  }
  return out;
}

/** Merge env lists; later entries override earlier ones with the same name, order kept. */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>();
  for (const list of lists) {
    for (const e of list) {
      const eq = e.indexOf('=');
      const k = eq < 0 ? e : e.slice(0, eq);
      map.delete(k);
      map.set(k, e);
    }
  }
  return [...map.values()];
}

export function resolveProcess(image: ImageDefaults, opts: ProcessOptions): ResolvedProcess {
  const entrypoint = opts.entrypoint !== undefined ? (opts.entrypoint === '' ? [] : [opts.entrypoint]) : (image.Entrypoint ?? []);
  const cmd = opts.command.length > 0 ? opts.command : opts.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) {
    throw new TsdError('BAD_ARGS', 'no command specified', { hint: 'give a command after the image name, or use an image with a default Cmd' });
  }
  const fromFiles = opts.envFiles.flatMap((f) => readEnvFile(f));
  const fromArgs = opts.env.map((e) => parseEnvArg(e)).filter((e): e is string => e !== undefined);
  let env = mergeEnv(image.Env ?? [], fromFiles, fromArgs);
  if (!env.some((e) => e.startsWith('PATH='))) env = [`PATH=${DEFAULT_PATH}`, ...env];
  const workingDir = opts.workdir ?? (image.WorkingDir || '/');
  if (!posix.isAbsolute(workingDir)) {
    throw new TsdError('BAD_ARGS', `the working directory '${workingDir}' is invalid, it needs to be an absolute path`, {
      hint: 'give -w an absolute path such as /app',
    });
  }
  return { argv, entrypoint, cmd, env, workingDir: posix.normalize(workingDir), user: opts.user ?? image.User ?? '' };
}

export interface Credentials {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
}

/**
 * `-u user[:group]` with names looked up in the image's /etc/passwd and /etc/group (top
 * layer first, read inside the image: image/files.ts), numbers taken as they are. An unknown name is an error, as in Docker.
 */
export function resolveUser(spec: string, layerDirs: readonly string[]): Credentials {
  const [userPart = '', groupPart] = spec.split(':');
  const passwd = (readImageFile(layerDirs, 'etc/passwd') ?? '').split('\n').map((l) => l.split(':'));
  const groupDb = (readImageFile(layerDirs, 'etc/group') ?? '').split('\n').map((l) => l.split(':'));
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  if (userPart === '' || /^\d+$/.test(userPart)) {
    uid = Number(userPart || 0);
    const entry = passwd.find((p) => p[2] === String(uid));
    if (entry) {
      gid = Number(entry[3]);
      home = entry[5] || '/';
      name = entry[0];
    } else {
      gid = 0; // Docker (runc): a uid without a passwd entry runs with gid 0
    }
  } else {
    const entry = passwd.find((p) => p[0] === userPart);
    if (!entry) {
      throw new TsdError('BAD_ARGS', `unable to find user ${userPart}: no matching entries in passwd file`, {
        hint: 'use a numeric uid, or a user that exists in the image',
      });
    }
    uid = Number(entry[2]);
    gid = Number(entry[3]);
    home = entry[5] || '/';
    name = entry[0];
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groupDb.find((x) => x[0] === groupPart);
      if (!g) {
        throw new TsdError('BAD_ARGS', `unable to find group ${groupPart}: no matching entries in group file`, {
          hint: 'use a numeric gid, or a group that exists in the image',
        });
      }
      gid = Number(g[2]);
    }
  }
  // Docker's supplementary groups: the primary gid, then (only when no group was given) the
  // groups /etc/group lists the user in: `id` shows groups=0(root),10(wheel) for busybox's root
  const member = name && !groupPart
    ? groupDb.filter((g) => (g[3] ?? '').split(',').includes(name!)).map((g) => Number(g[2])).filter((g) => g !== gid)
    : [];
  const groups = [gid, ...member];
  if (![uid, gid, ...groups].every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32 - 1)) {
    throw new TsdError('BAD_ARGS', `invalid user: ${spec}`, { hint: 'use -u uid[:gid] with numbers below 4294967295' });
  }
  return { uid, gid, groups, home };
}
