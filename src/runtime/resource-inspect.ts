/** The resources of a container as Docker's `inspect` shows them (HostConfig fields, Mounts). */
import { readResourceRecordSync, type InspectMount } from '../state/volumes.js';
import { parseBytes, parseSwap, parseUlimit } from './resource-parse.js';
import type { ResourceOptions } from './resource-plan.js';
import { parseDevice } from './devices.js';

/** Docker's inspect `Mounts` for a container (empty before its first start). */
export function inspectMounts(id: string): InspectMount[] {
  return readResourceRecordSync(id)?.mounts ?? [];
}

/** The resource flags as Docker's inspect `HostConfig` fields (sizes in bytes, NanoCpus, ...). */
export function inspectHostConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const o = raw as ResourceOptions;
  const tryOr = <T>(fn: () => T, dflt: T): T => {
    try {
      return fn();
    } catch {
      return dflt;
    }
  };
  const tmpfs: Record<string, string> = {};
  for (const t of o.tmpfs ?? []) {
    const i = t.indexOf(':');
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
  }
  return {
    Binds: o.volume?.length ? o.volume : null,
    Memory: o.memory !== undefined ? tryOr(() => parseBytes(o.memory!, '--memory'), 0) : 0,
    MemorySwap: o.memorySwap !== undefined ? tryOr(() => parseSwap(o.memorySwap!, '--memory-swap'), 0) : 0,
    NanoCpus: o.cpus !== undefined ? Math.round(Number(o.cpus) * 1e9) : 0,
    CpuShares: o.cpuShares !== undefined ? Number(o.cpuShares) : 0,
    CpusetCpus: o.cpusetCpus ?? '',
    PidsLimit: o.pidsLimit !== undefined ? Number(o.pidsLimit) : null,
    Ulimits: (o.ulimit ?? []).map((u) => tryOr(() => {
      const r = parseUlimit(u);
      return { Name: r.name, Soft: r.soft, Hard: r.hard };
    }, { Name: u, Soft: 0, Hard: 0 })),
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : null,
    ReadonlyRootfs: Boolean(o.readOnly),
    CapAdd: o.capAdd?.length ? o.capAdd : null,
    CapDrop: o.capDrop?.length ? o.capDrop : null,
    Privileged: Boolean(o.privileged),
    SecurityOpt: o.securityOpt?.length ? o.securityOpt : null,
    MemoryReservation: o.memoryReservation !== undefined ? tryOr(() => parseBytes(o.memoryReservation!, '--memory-reservation'), 0) : 0,
    CpuQuota: o.cpuQuota !== undefined ? Number(o.cpuQuota) : 0,
    CpuPeriod: o.cpuPeriod !== undefined ? Number(o.cpuPeriod) : 0,
    OomScoreAdj: o.oomScoreAdj !== undefined ? Number(o.oomScoreAdj) : 0,
    OomKillDisable: Boolean(o.oomKillDisable),
    Devices: (o.device ?? []).map((d) => tryOr(() => parseDevice(d), { PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' })),
  };
}
