/**
 * What every API handler shares: Docker's JSON replies and error bodies, the request body,
 * query flags as dockerd reads them, and the mapping of our typed errors to HTTP statuses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TsdError, errorMessage, fromSystemError, type ErrorCode } from '../sys/errors.js';

/** The Engine API version we serve (docker 20.10's) and the oldest we answer, as dockerd. */
export { API_VERSION, MIN_API_VERSION } from '../runtime/system-info.js';

export interface Request {
  method: string;
  /** the path without the /v1.xx prefix */
  path: string;
  query: URLSearchParams;
  /** the API version the client asked for (its prefix), or ours */
  version: string;
  params: string[];
  raw: IncomingMessage;
}

export type Handler = (req: Request, res: ServerResponse) => Promise<void>;

/** An HTTP status with Docker's {"message": ...} body. */
export class ApiError extends TsdError {
  readonly status: number;
  constructor(status: number, message: string, code: ErrorCode = 'BAD_ARGS') {
    super(code, message);
    this.status = status;
  }
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_ARGS: 400,
  IMAGE_NOT_FOUND: 404,
  CONTAINER_NOT_FOUND: 404,
  NETWORK_NOT_FOUND: 404,
  VOLUME_NOT_FOUND: 404,
  CONTAINER_EXISTS: 409,
  CONTAINER_RUNNING: 409,
  CONTAINER_NOT_RUNNING: 409,
  CONTAINER_PAUSED: 409,
  CONTAINER_NOT_PAUSED: 409,
  IMAGE_IN_USE: 409,
  // dockerd: a pre-defined network or one with endpoints is Forbidden
  NETWORK_IN_USE: 403,
  NETWORK_EXISTS: 409,
  VOLUME_IN_USE: 409,
  NETWORK_INVALID: 400,
  PORT_IN_USE: 500,
  CMD_NOT_FOUND: 400,
  CMD_NOT_EXECUTABLE: 400,
  RESOURCE: 400,
};

export function statusOf(err: unknown): number {
  if (err instanceof ApiError) return err.status;
  if (err instanceof TsdError) return STATUS[err.code] ?? 500;
  return 500;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

/** Docker's error reply: the status for the error's kind and {"message": ...}. */
export function sendError(res: ServerResponse, raw: unknown): number {
  const err = fromSystemError(raw);
  const status = statusOf(err);
  const message = err instanceof TsdError ? err.message : `internal error: ${errorMessage(err)}`;
  if (res.headersSent) {
    res.destroy();
  } else sendJson(res, status, { message });
  return status;
}

const MAX_BODY = 4 << 20;

/** The request's JSON body; {} when empty; 400 when it is not JSON. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(400, `request body over ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new ApiError(400, `invalid JSON body: ${errorMessage(err)}`);
  }
}

/** dockerd's BoolValue: set and not one of "", "0", "no", "false", "none". */
export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

/** A whole-number query parameter, or undefined; 400 when it is not one. */
export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new ApiError(400, `invalid value for ${name}: ${v}`);
  return Number(v);
}

/**
 * The `filters` parameter as our Filters: {"key":["v",...]} (current) or {"key":{"v":true}}
 * (API < 1.22 clients), refusing keys the endpoint does not know, as dockerd.
 */
export async function filtersParam(q: URLSearchParams, valid: readonly string[]): Promise<Map<string, string[]>> {
  const { parseFilters } = await import('../query/filters.js');
  const text = q.get('filters');
  if (!text) return new Map();
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new ApiError(400, `invalid filter: ${text}`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new ApiError(400, `invalid filter: ${text}`);
  const specs: string[] = [];
  for (const [key, vs] of Object.entries(obj as Record<string, unknown>)) {
    const list = Array.isArray(vs) ? vs : vs && typeof vs === 'object' ? Object.keys(vs).filter((k) => (vs as Record<string, unknown>)[k]) : [];
    for (const v of list) specs.push(`${key}=${String(v)}`);
  }
  try {
    return parseFilters(specs, valid);
  } catch (err) {
    throw new ApiError(400, errorMessage(err));
  }
}
