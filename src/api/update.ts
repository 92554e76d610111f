/**
 * POST /containers/{id}/update (dockerd's UpdateConfig: Resources and RestartPolicy). A zero
 * field means "unchanged", as dockerd reads it; the fields `tsdocker update` knows go to the
 * runtime's updateContainer, any other non-zero one is a 400 naming it, never ignored.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, readJson, sendJson, type Request } from './http.js';
import { findContainer } from '../state/containers.js';

/** Body field -> UpdateOptions key, and how the value becomes the CLI's string. */
const FIELDS: Record<string, [key: string, conv: (v: number | string) => string]> = {
  Memory: ['memory', String],
  MemorySwap: ['memorySwap', String],
  MemoryReservation: ['memoryReservation', String],
  NanoCpus: ['cpus', (v) => String(Number(v) / 1e9)],
  CpuShares: ['cpuShares', String],
  CpuQuota: ['cpuQuota', String],
  CpuPeriod: ['cpuPeriod', String],
  CpusetCpus: ['cpusetCpus', String],
  PidsLimit: ['pidsLimit', String],
};

const isZero = (v: unknown): boolean =>
  v === undefined || v === null || v === 0 || v === '' || v === false || (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every(isZero));

export async function updateHandler(req: Request, res: ServerResponse): Promise<void> {
  const body = await readJson(req.raw);
  const change: Record<string, string> = {};
  for (const [field, value] of Object.entries(body)) {
    const known = FIELDS[field];
    if (known && !isZero(value) && (typeof value === 'number' || typeof value === 'string')) change[known[0]] = known[1](value);
    else if (!known && !isZero(value)) throw new ApiError(400, `${field} is not supported by tsdocker update yet; leave it out`);
  }
  const v = await findContainer(req.params[0]!);
  const { updateContainer } = await import('../runtime/update.js');
  if (Object.keys(change).length) await updateContainer(v.config.id, change);
  sendJson(res, 200, { Warnings: [] });
}
