/**
 * Healthchecks: the --health-* flags with docker/cli's rules and messages, merged over the
 * image's HEALTHCHECK as moby merges them (a field the user left at zero is the image's),
 * checked as moby checks them. The container's monitor runs the probe on its own timer
 * (native/src/health.c) and writes health.json, which inspect and ps read.
 */
import { join } from 'node:path';
import { containerFiles, type ContainerConfig, type HealthConfig } from '../state/containers.js';
import { readJsonIfExistsSync, writeFileAtomic } from '../sys/fs.js';
import { TsdError } from '../sys/errors.js';
import { buildExecSpec } from './build-spec.js';
import { containerCgroupProcs, securityFor } from './hooks.js';
import { renderSpec } from './spec.js';
import { containerCgroup } from './pause.js';

/** The flags as given (parsed here, so the CLI loads nothing for them). */
export interface HealthFlags {
  cmd?: string;
  interval?: string;
  timeout?: string;
  retries?: string;
  startPeriod?: string;
  none?: boolean;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DEFAULTS = { Interval: 30e9, Timeout: 30e9, StartPeriod: 0, Retries: 3 };

function flagError(flag: string, value: string, why: string): TsdError {
  return new TsdError('BAD_ARGS', `invalid argument "${value}" for "--${flag}" flag: ${why}`, { hint: 'give a duration such as 500ms, 10s or 1m30s' });
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(flag: string, value: string): number {
  const bad = () => flagError(flag, value, `time: invalid duration "${value}"`);
  let s = value;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let ns = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.' || (m[1] === '' && (m[2] ?? '') === '')) throw bad();
    s = s.slice(m[0].length);
    const unit = /^[^\d.]+/.exec(s)?.[0];
    if (!unit) throw flagError(flag, value, `time: missing unit in duration "${value}"`);
    if (UNIT_NS[unit] === undefined) throw flagError(flag, value, `time: unknown unit "${unit}" in duration "${value}"`);
    s = s.slice(unit.length);
    ns += Number(`${m[1] || '0'}.${m[2] || '0'}`) * UNIT_NS[unit]!;
  }
  return sign * Math.round(ns);
}

/** docker/cli's parse of the flags (runconfig opts.parse). */
export function healthFromFlags(f: HealthFlags): HealthConfig | undefined {
  const retriesText = f.retries ?? '0';
  if (!/^[+-]?\d+$/.test(retriesText)) throw new TsdError('BAD_ARGS', `invalid argument "${retriesText}" for "--health-retries" flag: strconv.ParseInt: parsing "${retriesText}": invalid syntax`, { hint: 'give a whole number' });
  const interval = parseGoDuration('health-interval', f.interval ?? '0');
  const timeout = parseGoDuration('health-timeout', f.timeout ?? '0');
  const startPeriod = parseGoDuration('health-start-period', f.startPeriod ?? '0');
  const retries = Number(retriesText);
  const any = Boolean(f.cmd) || interval !== 0 || timeout !== 0 || startPeriod !== 0 || retries !== 0;
  const hint = 'see `tsdocker run --help`';
  if (f.none) {
    if (any) throw new TsdError('BAD_ARGS', '--no-healthcheck conflicts with --health-* options', { hint });
    return { Test: ['NONE'] };
  }
  if (!any) return undefined;
  for (const [name, v] of [['interval', interval], ['timeout', timeout], ['retries', retries], ['start-period', startPeriod]] as const) {
    if (v < 0) throw new TsdError('BAD_ARGS', `--health-${name} cannot be negative`, { hint });
  }
  return omitZero({ Test: f.cmd ? ['CMD-SHELL', f.cmd] : undefined, Interval: interval, Timeout: timeout, StartPeriod: startPeriod, Retries: retries });
}

/** Go's `json:",omitempty"`: zero fields are left out. */
function omitZero(h: HealthConfig): HealthConfig {
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined && v !== 0 && !(Array.isArray(v) && v.length === 0))) as HealthConfig;
}

/** moby's merge of the user's healthcheck over the image's, then validateHealthCheck. */
export function mergeHealth(user: HealthConfig | undefined, image: unknown): HealthConfig | undefined {
  const img = image && typeof image === 'object' ? (image as HealthConfig) : undefined;
  let h: HealthConfig | undefined;
  if (!user) h = img ? omitZero({ ...img }) : undefined;
  else if (!img) h = user;
  else {
    h = omitZero({
      Test: user.Test?.length ? user.Test : img.Test,
      Interval: user.Interval || img.Interval,
      Timeout: user.Timeout || img.Timeout,
      StartPeriod: user.StartPeriod || img.StartPeriod,
      Retries: user.Retries || img.Retries,
    });
  }
  if (!h) return undefined;
  for (const [name, v] of [['Interval', h.Interval], ['Timeout', h.Timeout], ['StartPeriod', h.StartPeriod]] as const) {
    if (v !== undefined && v !== 0 && v < 1e6) throw new TsdError('BAD_ARGS', `${name} in Healthcheck cannot be less than 1ms`, { hint: 'give at least 1ms, or 0 for the default' });
  }
  if ((h.Retries ?? 0) < 0) throw new TsdError('BAD_ARGS', 'Retries in Healthcheck cannot be negative', { hint: 'give 0 for the default (3)' });
  return h;
}

/** The probe's argv (CMD: as given, CMD-SHELL: /bin/sh -c); undefined for NONE, none or an unknown type (moby's getProbe). */
export function probeArgv(h: HealthConfig | undefined): string[] | undefined {
  const [kind, ...rest] = h?.Test ?? [];
  if (kind === 'CMD' && rest.length) return rest;
  if (kind === 'CMD-SHELL' && rest.length) return ['/bin/sh', '-c', rest.join(' ')];
  return undefined;
}

const probeSpecPath = (id: string) => join(containerFiles.dir(id), 'health.spec');

/** The monitor's `health` spec key: Docker's defaults for what is zero. */
export function healthSpecInput(config: ContainerConfig) {
  const h = config.healthcheck;
  if (!probeArgv(h)) return undefined;
  const ms = (ns: number | undefined, d: number) => Math.max(1, Math.round((ns || d) / 1e6));
  return {
    intervalMs: ms(h!.Interval, DEFAULTS.Interval),
    timeoutMs: ms(h!.Timeout, DEFAULTS.Timeout),
    startPeriodMs: h!.StartPeriod ? ms(h!.StartPeriod, 0) : 0,
    retries: h!.Retries || DEFAULTS.Retries,
    record: containerFiles.health(config.id),
    probeSpec: probeSpecPath(config.id),
    // the probe joins the container's cgroups, as exec does
    cgroupProcs: containerCgroupProcs(config.id),
  };
}

/** At a start, once the container's pid is known: the exec spec the monitor's probes run with, and State.Health `starting`. */
export async function writeProbeSpec(config: ContainerConfig, image: { layerDirs: string[] }, pid: number): Promise<void> {
  const argv = probeArgv(config.healthcheck);
  if (!argv) return;
  const security = securityFor(config);
  const spec = buildExecSpec({
    config, image, targetPid: pid, command: argv, env: [], tty: false, interactive: false,
    resources: { ...security, mounts: [], readonlyRootfs: false, undo: async () => {} },
  });
  await writeFileAtomic(probeSpecPath(config.id), renderSpec(spec), { mode: 0o600, durable: false });
  // `starting` from the first instant (the monitor writes the same once it runs, then each result)
  const starting: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  await writeFileAtomic(containerFiles.health(config.id), `${JSON.stringify(starting)}\n`, { durable: false });
}

/** State.Health: undefined when the container has no probe (ps's health=none). */
export function readHealth(config: ContainerConfig): HealthState | undefined {
  if (!probeArgv(config.healthcheck)) return undefined;
  try {
    return readJsonIfExistsSync<HealthState>(containerFiles.health(config.id));
  } catch {
    return undefined;
  }
}

/** The words in ps's status: "health: starting", "healthy", "unhealthy". */
export function healthWords(h: HealthState): string {
  return h.Status === 'starting' ? 'health: starting' : h.Status;
}
