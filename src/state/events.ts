/**
 * The events journal: what dockerd's in-memory event bus is, without a daemon. Every state
 * change appends one JSON line to <root>/events.log (`emit`); `tsdocker events` and the API's
 * /events read past lines and follow the file (`streamEvents`).
 *
 * - One write(2) per line on an O_APPEND descriptor: the kernel serialises appends to a
 *   regular file, so lines of concurrent tsdocker processes never interleave.
 * - Bounded: when the file passes MAX_BYTES (1 MiB, about 4,000 events; dockerd keeps 256),
 *   it is renamed to events.log.1 (replacing the older generation), so the journal never
 *   holds more than twice that. Rotating rather than trimming in place keeps every write an
 *   append and lets a follower finish the old file by its descriptor. The rename happens
 *   under flock(2) on the journal's own descriptor, after checking that the path still names
 *   the file we wrote to, so two writers over the limit rotate once, never twice.
 * - No fsync: an event lost with a crash loses nothing the state itself does not record.
 * - `emit` never throws: a command that did its work does not fail for its journal line.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { paths } from './paths.js';
import { flock, LOCK_EX, LOCK_NB, LOCK_UN } from '../native/index.js';
import { log } from '../sys/log.js';
import { errorMessage } from '../sys/errors.js';

export type EventType = 'container' | 'image' | 'network' | 'volume';

export interface EventRecord {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: bigint;
}

const MAX_BYTES = Number(process.env.TSDOCKER_EVENTS_MAX_BYTES) || 1 << 20;

// wall-clock nanoseconds: Date.now() anchors a monotonic nanosecond clock
const anchorNs = BigInt(Date.now()) * 1_000_000n;
const anchorHr = process.hrtime.bigint();
export function nowNs(): bigint {
  return anchorNs + (process.hrtime.bigint() - anchorHr);
}

/** The line as written: JSON with timeNano as an exact integer (beyond a double's precision). */
export function eventLine(e: EventRecord): string {
  const { timeNano, ...rest } = e;
  return `${JSON.stringify(rest).slice(0, -1)},"timeNano":${timeNano}}`;
}

export function parseEventLine(line: string): EventRecord | undefined {
  const m = /,"timeNano":(\d+)\}$/.exec(line);
  if (!m) return undefined;
  try {
    const rest = JSON.parse(`${line.slice(0, m.index)}}`) as Omit<EventRecord, 'timeNano'>;
    return { ...rest, timeNano: BigInt(m[1]!) };
  } catch {
    return undefined;
  }
}

/**
 * Record one event: `emit('container', 'start', id, { image, name })`. Attributes as dockerd's
 * (name, image, exitCode, signal, container for network events, ...); values become strings.
 */
export function emit(type: EventType, action: string, id: string, attributes: Record<string, string | number | undefined> = {}): void {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) attrs[k] = String(v);
  const ns = nowNs();
  const line = `${eventLine({ Type: type, Action: action, Actor: { ID: id, Attributes: attrs }, scope: 'local', time: Number(ns / 1_000_000_000n), timeNano: ns })}\n`;
  let fd: number | undefined;
  try {
    fd = openSync(paths.events(), 'a', 0o600);
    writeSync(fd, Buffer.from(line));
    if (fstatSync(fd).size > MAX_BYTES) rotate(fd);
  } catch (err) {
    log.child({ mod: 'state.events' }).warn({ err: errorMessage(err) }, `cannot record the ${type} ${action} event`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function rotate(fd: number): void {
  if (!flock(fd, LOCK_EX | LOCK_NB)) return; // another writer is rotating it
  try {
    // someone may have rotated it between our write and our lock
    if (statSync(paths.events()).ino === fstatSync(fd).ino && fstatSync(fd).size > MAX_BYTES) renameSync(paths.events(), paths.eventsOld());
  } finally {
    flock(fd, LOCK_UN);
  }
}

/** Complete lines of `fd` from `offset`; returns them and the offset after the last one. */
function readLines(fd: number, offset: number): { lines: string[]; offset: number } {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 << 10);
  let pos = offset;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    pos += n;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return { lines: [], offset };
  return { lines: text.slice(0, end).split('\n'), offset: offset + Buffer.byteLength(text.slice(0, end + 1)) };
}

function openIfThere(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch {
    return undefined;
  }
}

function parseAll(lines: string[]): EventRecord[] {
  return lines.map(parseEventLine).filter((e): e is EventRecord => e !== undefined);
}

export interface StreamOptions {
  /** deliver past events from this time on (ns); without it, only new events */
  since?: bigint;
  /** stop after this time (ns) */
  until?: bigint;
  onEvent: (e: EventRecord) => void;
  /** how often the journal is looked at for new lines */
  pollMs?: number;
}

/**
 * Past events (with `since`), in time order, then new ones as they are appended, until
 * `until` passes or `stop()` is called. The journal's size is taken before the past is read,
 * so no event is both replayed and followed, and none falls between.
 */
export function streamEvents(o: StreamOptions): { done: Promise<void>; stop: () => void } {
  let fd = openIfThere(paths.events());
  let offset = fd === undefined ? 0 : fstatSync(fd).size;
  const inWindow = (e: EventRecord) => (o.since === undefined || e.timeNano >= o.since) && (o.until === undefined || e.timeNano <= o.until);
  if (o.since !== undefined) {
    const past: EventRecord[] = [];
    const old = openIfThere(paths.eventsOld());
    if (old !== undefined) {
      past.push(...parseAll(readLines(old, 0).lines));
      closeSync(old);
    }
    if (fd !== undefined) {
      const head = readLines(fd, 0);
      past.push(...parseAll(head.lines.slice(0, head.offset > offset ? countUpTo(head.lines, offset) : undefined)));
    }
    past.sort((a, b) => (a.timeNano < b.timeNano ? -1 : a.timeNano > b.timeNano ? 1 : 0));
    for (const e of past) if (inWindow(e)) o.onEvent(e);
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const close = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    finish();
  };
  const drain = () => {
    if (fd === undefined) return;
    const got = readLines(fd, offset);
    offset = got.offset;
    for (const e of parseAll(got.lines)) if (inWindow(e)) o.onEvent(e);
  };
  const tick = () => {
    if (stopped) return;
    try {
      drain();
      // rotated (or created): finish the old file by its descriptor, then follow the new one
      const cur = statSync(paths.events(), { throwIfNoEntry: false });
      if (cur && (fd === undefined || cur.ino !== fstatSync(fd).ino)) {
        if (fd !== undefined) closeSync(fd);
        fd = openIfThere(paths.events());
        offset = 0;
        drain();
      }
    } catch (err) {
      log.child({ mod: 'state.events' }).warn({ err: errorMessage(err) }, 'cannot read the events journal');
    }
    if (o.until !== undefined && nowNs() > o.until) return close();
    timer = setTimeout(tick, o.pollMs ?? 100);
  };
  if (o.until !== undefined && nowNs() > o.until) close();
  else tick();
  return { done, stop: close };
}

/** How many of `lines` (read from offset 0) end at or before byte `limit`. */
function countUpTo(lines: string[], limit: number): number {
  let bytes = 0;
  let n = 0;
  for (const l of lines) {
    bytes += Buffer.byteLength(l) + 1;
    if (bytes > limit) break;
    n++;
  }
  return n;
}

/** A container event with dockerd's attributes: the container's labels, image (as given) and name. */
export function emitContainer(c: { id: string; name: string; image: { ref: string }; labels?: Record<string, string> }, action: string, extra: Record<string, string | number | undefined> = {}): void {
  emit('container', action, c.id, { ...c.labels, image: c.image.ref, name: c.name, ...extra });
}

/** dockerd's image events: the image's id, `name` (the tag, or the id again) and its labels. */
export function emitImage(rec: { id: string; config?: { config?: Record<string, unknown> | null } }, action: string, name = rec.id): void {
  const labels = rec.config?.config?.Labels;
  emit('image', action, rec.id, { ...(labels && typeof labels === 'object' ? (labels as Record<string, string>) : {}), name });
}
