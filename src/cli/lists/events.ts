/**
 * Events as docker/cli shows them: its text line, and the events.Message a --format template
 * sees (Go field names; `{{json .}}` gives the API's JSON, src/query/events.ts's eventWire).
 */
import type { EventRecord } from '../../state/events.js';
import { eventWire } from '../../query/events.js';
import { struct } from '../template/index.js';

/** jsonmessage.RFC3339NanoFixed, in local time as Go's time.Unix(0, n) is. */
export function rfc3339NanoFixed(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const off = -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + off * 60_000).toISOString().slice(0, 19);
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  return `${local}.${frac}${zone}`;
}

/** docker/cli's printOutput: time, type, action, actor id, then (k=v, ...) sorted by key. */
export function eventText(e: EventRecord): string {
  const attrs = Object.keys(e.Actor.Attributes).sort().map((k) => `${k}=${e.Actor.Attributes[k]}`);
  return `${rfc3339NanoFixed(e.timeNano)} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs.length ? ` (${attrs.join(', ')})` : ''}\n`;
}

/** What a --format template sees: events.Message with Go's field names. */
export function eventRow(e: EventRecord): unknown {
  const w = eventWire(e);
  return struct('events.Message', {
    Status: (w.status as string | undefined) ?? '',
    ID: (w.id as string | undefined) ?? '',
    From: (w.from as string | undefined) ?? '',
    Type: e.Type,
    Action: e.Action,
    Actor: struct('events.Actor', { ID: e.Actor.ID, Attributes: e.Actor.Attributes }),
    Scope: e.scope,
    Time: e.time,
    TimeNano: e.timeNano,
    toJSON: () => w,
  });
}
