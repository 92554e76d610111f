/**
 * The Config and HostConfig fields of POST /containers/create that map onto `run` flags the
 * runtime has (restart policy, healthcheck, init, exposed ports, DNS, capabilities, sysctls,
 * limits, stop signal): each translated to the same RunOptions the CLI builds, so they are
 * checked by the same code with the same messages. create.ts keeps the core fields.
 */
import { ApiError } from './http.js';
import { str, strings } from './fields.js';
import type { RunOptions } from '../runtime/types.js';

type Obj = Record<string, unknown>;

export const RUN_CONFIG_FIELDS = ['Healthcheck', 'StopSignal', 'StopTimeout', 'Domainname'] as const;
export const RUN_HOST_FIELDS = ['RestartPolicy', 'Init', 'PublishAllPorts', 'Dns', 'DnsSearch', 'DnsOptions', 'ExtraHosts', 'CapAdd', 'CapDrop',
  'Privileged', 'SecurityOpt', 'Sysctls', 'ShmSize', 'GroupAdd', 'PidsLimit', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'CpusetCpus',
  'MemoryReservation', 'MemorySwap', 'OomScoreAdj', 'Ulimits'] as const;

const num = (v: unknown, field: string): number | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ApiError(400, `${field} must be a number`);
  return v;
};

/** RestartPolicy {Name, MaximumRetryCount} as the --restart value. */
function restartOf(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const name = str((v as Obj).Name, 'HostConfig.RestartPolicy.Name');
  if (!name) return undefined;
  const max = num((v as Obj).MaximumRetryCount, 'HostConfig.RestartPolicy.MaximumRetryCount') ?? 0;
  return name === 'on-failure' && max > 0 ? `on-failure:${max}` : name;
}

/** Config.Healthcheck (durations in ns) as the --health-* flags. */
function healthOf(v: unknown): RunOptions['health'] {
  if (!v || typeof v !== 'object') return undefined;
  const h = v as Obj;
  const test = strings(h.Test, 'Config.Healthcheck.Test');
  const dur = (k: string) => {
    const n = num(h[k], `Config.Healthcheck.${k}`);
    return n ? `${n}ns` : undefined;
  };
  const flags: NonNullable<RunOptions['health']> = {};
  if (test[0] === 'NONE') flags.none = true;
  else if (test[0] === 'CMD-SHELL' && test.length === 2) flags.cmd = test[1];
  else if (test.length) {
    throw new ApiError(400, `Config.Healthcheck.Test ${JSON.stringify(test)} is not supported by tsdocker yet; give ["CMD-SHELL", "command"] (what --health-cmd sends) or ["NONE"]`);
  }
  const interval = dur('Interval');
  const timeout = dur('Timeout');
  const startPeriod = dur('StartPeriod');
  const retries = num(h.Retries, 'Config.Healthcheck.Retries');
  if (interval) flags.interval = interval;
  if (timeout) flags.timeout = timeout;
  if (startPeriod) flags.startPeriod = startPeriod;
  if (retries) flags.retries = String(retries);
  return Object.keys(flags).length ? flags : undefined;
}

/** The run options these fields give (absent ones give nothing); resources are merged into `resources`. */
export function runFieldOptions(body: Obj, host: Obj, resources: Obj): Partial<RunOptions> {
  const o: Partial<RunOptions> = {};
  const restart = restartOf(host.RestartPolicy);
  if (restart) o.restart = restart;
  const health = healthOf(body.Healthcheck);
  if (health) o.health = health;
  if (host.Init === true) o.init = true;
  if (host.PublishAllPorts === true) o.publishAll = true;
  const stopSignal = str(body.StopSignal, 'Config.StopSignal');
  if (stopSignal) o.stopSignal = stopSignal;
  const stopTimeout = num(body.StopTimeout, 'Config.StopTimeout');
  if (stopTimeout !== undefined) o.stopTimeout = stopTimeout;
  const domainname = str(body.Domainname, 'Config.Domainname');
  if (domainname) o.domainname = domainname;
  o.dns = strings(host.Dns, 'HostConfig.Dns');
  o.dnsSearch = strings(host.DnsSearch, 'HostConfig.DnsSearch');
  o.dnsOptions = strings(host.DnsOptions, 'HostConfig.DnsOptions');
  o.addHosts = strings(host.ExtraHosts, 'HostConfig.ExtraHosts');
  o.securityOpt = strings(host.SecurityOpt, 'HostConfig.SecurityOpt');
  const groupAdd = strings(host.GroupAdd, 'HostConfig.GroupAdd');
  if (groupAdd.length) o.groupAdd = groupAdd;
  const sysctls = Object.entries((host.Sysctls ?? {}) as Obj).map(([k, v]) => `${k}=${String(v)}`);
  if (sysctls.length) o.sysctls = sysctls;
  const shm = num(host.ShmSize, 'HostConfig.ShmSize');
  if (shm) o.ns = { shmSize: `${shm}b` };
  const capAdd = strings(host.CapAdd, 'HostConfig.CapAdd');
  const capDrop = strings(host.CapDrop, 'HostConfig.CapDrop');
  if (capAdd.length) resources.capAdd = capAdd;
  if (capDrop.length) resources.capDrop = capDrop;
  if (host.Privileged === true) resources.privileged = true;
  const asString: [string, string][] = [['PidsLimit', 'pidsLimit'], ['CpuShares', 'cpuShares'], ['CpuQuota', 'cpuQuota'], ['CpuPeriod', 'cpuPeriod'],
    ['MemoryReservation', 'memoryReservation'], ['MemorySwap', 'memorySwap'], ['OomScoreAdj', 'oomScoreAdj']];
  for (const [field, key] of asString) {
    const n = num(host[field], `HostConfig.${field}`);
    if (n) resources[key] = String(n);
  }
  const cpuset = str(host.CpusetCpus, 'HostConfig.CpusetCpus');
  if (cpuset) resources.cpusetCpus = cpuset;
  const ulimits = ((host.Ulimits ?? []) as Obj[]).map((u) => `${String(u.Name)}=${String(u.Soft)}:${String(u.Hard)}`);
  if (ulimits.length) resources.ulimit = ulimits;
  return o;
}
