/**
 * Seccomp profiles in Docker's JSON format: validation (a bad profile is one clear line,
 * exit 125) and rendering into the monitor's text spec (native/PROTOCOL.md), resolved for
 * one container: its capabilities, this machine's architecture and kernel. Rules follow
 * moby/runc semantics: `includes.caps` needs every listed capability, `excludes.caps` drops
 * the rule if any is held; conditions on distinct arguments are ANDed in one rule, several
 * conditions on the same argument become separate rules (ORed), as runc does.
 */
import { arch as nodeArch, release } from 'node:os';
import { TsdError } from '../sys/errors.js';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface SeccompRule {
  names?: string[];
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
  comment?: string;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: unknown;
  syscalls?: SeccompRule[];
}

const ACTIONS: Record<string, string | undefined> = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_KILL: 'kill',
  SCMP_ACT_KILL_THREAD: 'kill',
  SCMP_ACT_KILL_PROCESS: 'kill',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_LOG: 'log',
  SCMP_ACT_TRACE: undefined,
  SCMP_ACT_NOTIFY: undefined,
};

const OPS: Record<string, string> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'masked_eq',
};

const EPERM = 1;

function invalid(source: string, why: string): TsdError {
  return new TsdError('BAD_ARGS', `invalid seccomp profile ${source}: ${why}`, {
    hint: "use Docker's seccomp profile format (defaultAction, syscalls[{names, action, args}]) or seccomp=unconfined",
  });
}

function checkAction(a: unknown, where: string, source: string): void {
  if (typeof a !== 'string' || !(a in ACTIONS)) throw invalid(source, `${where}: unknown action ${JSON.stringify(a)}`);
  if (ACTIONS[a] === undefined) throw invalid(source, `${where}: action ${a} is not supported by tsdocker`);
}

const isUint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parse and check a Docker-format profile; every error names the profile and the place. */
export function parseProfile(text: string, source: string): SeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch (err) {
    throw invalid(source, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid(source, 'expected a JSON object');
  const prof = p as SeccompProfile;
  checkAction(prof.defaultAction, 'defaultAction', source);
  if (prof.defaultErrnoRet !== undefined && !isUint(prof.defaultErrnoRet)) throw invalid(source, 'defaultErrnoRet must be a number');
  if (prof.syscalls !== undefined && prof.syscalls !== null && !Array.isArray(prof.syscalls)) throw invalid(source, 'syscalls must be an array');
  (prof.syscalls ?? []).forEach((r, i) => {
    const where = `syscalls[${i}]`;
    if (typeof r !== 'object' || r === null) throw invalid(source, `${where} must be an object`);
    const names = r.names ?? (r.name !== undefined ? [r.name] : []);
    if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || !/^[a-z0-9_]+$/.test(n))) {
      throw invalid(source, `${where}: names must be a non-empty list of syscall names`);
    }
    checkAction(r.action, where, source);
    if (r.errnoRet !== undefined && !isUint(r.errnoRet)) throw invalid(source, `${where}: errnoRet must be a number`);
    if (r.args !== undefined && r.args !== null && !Array.isArray(r.args)) throw invalid(source, `${where}: args must be an array`);
    (r.args ?? []).forEach((a, j) => {
      if (!isUint(a.index) || a.index > 5) throw invalid(source, `${where}.args[${j}]: index must be 0..5`);
      if (!(a.op in OPS)) throw invalid(source, `${where}.args[${j}]: unknown op ${JSON.stringify(a.op)}`);
      if (!isUint(a.value)) throw invalid(source, `${where}.args[${j}]: value must be a non-negative integer`);
      if (a.valueTwo !== undefined && !isUint(a.valueTwo)) throw invalid(source, `${where}.args[${j}]: valueTwo must be a non-negative integer`);
    });
  });
  return prof;
}

/** Docker's architecture names for Node's. */
export function dockerArch(a: string = nodeArch()): string {
  return ({ x64: 'amd64', ia32: 'x86', arm64: 'arm64', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64le' } as Record<string, string>)[a] ?? a;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (v: string) => v.split(/[.-]/).slice(0, 2).map((x) => Number.parseInt(x, 10) || 0);
  const [a = 0, b = 0] = parse(kernel);
  const [c = 0, d = 0] = parse(min);
  return a > c || (a === c && b >= d);
}

export interface RenderContext {
  /** capability names the container holds (no CAP_ prefix) */
  caps: readonly string[];
  arch?: string;
  kernel?: string;
}

const capKey = (c: string) => c.trim().toUpperCase().replace(/^CAP_/, '');

function applies(r: SeccompRule, held: Set<string>, arch: string, kernel: string): boolean {
  const inc = r.includes ?? {};
  const exc = r.excludes ?? {};
  if (inc.caps?.length && !inc.caps.every((c) => held.has(capKey(c)))) return false;
  if (exc.caps?.some((c) => held.has(capKey(c)))) return false;
  if (inc.arches?.length && !inc.arches.includes(arch)) return false;
  if (exc.arches?.includes(arch)) return false;
  if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) return false;
  return true;
}

function action(a: string, errnoRet: number | undefined): string {
  const act = ACTIONS[a]!;
  return act === 'errno' ? `errno:${errnoRet ?? EPERM}` : act;
}

function cond(a: SeccompArg): string {
  const op = OPS[a.op]!;
  return op === 'masked_eq' ? `${a.index} ${op} ${a.value} ${a.valueTwo ?? 0}` : `${a.index} ${op} ${a.value}`;
}

/** The monitor's seccomp text spec for this profile, resolved for one container. */
export function renderProfile(p: SeccompProfile, ctx: RenderContext): string {
  const held = new Set(ctx.caps.map(capKey));
  const arch = ctx.arch ?? dockerArch();
  const kernel = ctx.kernel ?? release();
  const lines = [`default ${action(p.defaultAction, p.defaultErrnoRet)}`];
  for (const r of p.syscalls ?? []) {
    if (!applies(r, held, arch, kernel)) continue;
    const act = action(r.action, r.errnoRet ?? (r.action === 'SCMP_ACT_ERRNO' ? EPERM : undefined));
    const args = r.args ?? [];
    const perIndex = new Map<number, number>();
    for (const a of args) perIndex.set(a.index, (perIndex.get(a.index) ?? 0) + 1);
    const split = [...perIndex.values()].some((n) => n > 1);
    const condSets = args.length === 0 ? [''] : split ? args.map((a) => ` ${cond(a)}`) : [` ${args.map(cond).join(' ')}`];
    for (const name of r.names ?? [r.name!]) {
      for (const c of condSets) lines.push(`rule ${act} ${name}${c}`);
    }
  }
  return lines.join('\n') + '\n';
}
