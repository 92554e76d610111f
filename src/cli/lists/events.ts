/**
 * Events as docker/cli and dockerd show them: the filters of moby's daemon/events/filter.go,
 * docker/cli's text line, and the events.Message a --format template sees (Go field names;
 * `{{json .}}` gives the API's JSON with the legacy status/id/from). Pure: reused by the
 * `events` command and the API's /events.
 */
import type { EventRecord } from '../../state/events.js';
import { exact, matchLabels, values, type Filters } from '../filters.js';
import { struct } from '../template/index.js';

export const EVENT_FILTERS = ['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume'] as const;

/** Docker's FuzzyMatch: no values passes; else a value equal to, or a prefix of, the text. */
function fuzzy(f: Filters, key: string, text: string | undefined): boolean {
  const vs = values(f, key);
  return vs.length === 0 || (text !== undefined && vs.some((v) => text.startsWith(v)));
}

function fuzzyName(f: Filters, key: string, e: EventRecord): boolean {
  return values(f, key).length === 0 || fuzzy(f, key, e.Actor.ID) || fuzzy(f, key, e.Actor.Attributes.name);
}

const stripTag = (ref: string) => ref.replace(/:[^/:@]*$/, '');

function matchImage(f: Filters, e: EventRecord): boolean {
  if (values(f, 'image').length === 0) return true;
  const name = e.Actor.Attributes[e.Type === 'image' ? 'name' : 'image'] ?? '';
  return [e.Actor.ID, name, stripTag(e.Actor.ID), stripTag(name)].some((t) => values(f, 'image').includes(t));
}

/** exec_create, exec_start and health_status name their command after a colon: those match by prefix. */
function matchAction(f: Filters, action: string): boolean {
  const vs = values(f, 'event');
  if (vs.some((v) => v === 'exec_create' || v === 'exec_start' || v === 'health_status')) return fuzzy(f, 'event', action);
  return exact(f, 'event', action);
}

/** moby's Filter.Include; filters of kinds tsdocker has none of (plugin, service, ...) match nothing. */
export function eventMatches(f: Filters, e: EventRecord): boolean {
  for (const k of ['config', 'daemon', 'node', 'plugin', 'secret', 'service']) if (values(f, k).length) return false;
  return (
    matchAction(f, e.Action) &&
    exact(f, 'type', e.Type) &&
    exact(f, 'scope', e.scope) &&
    fuzzyName(f, 'container', e) &&
    fuzzyName(f, 'volume', e) &&
    fuzzyName(f, 'network', e) &&
    matchImage(f, e) &&
    matchLabels(f, 'label', e.Actor.Attributes)
  );
}

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

/** The API's JSON object (events.Message's json tags), with dockerd's legacy fields for containers and images. */
export function eventWire(e: EventRecord): Record<string, unknown> {
  const legacy = e.Type === 'container' || e.Type === 'image'
    ? { status: e.Action, id: e.Actor.ID, ...(e.Type === 'container' && e.Actor.Attributes.image !== undefined ? { from: e.Actor.Attributes.image } : {}) }
    : {};
  // Go's encoding/json writes a map's keys sorted
  const attributes = Object.fromEntries(Object.keys(e.Actor.Attributes).sort().map((k) => [k, e.Actor.Attributes[k]]));
  return { ...legacy, Type: e.Type, Action: e.Action, Actor: { ID: e.Actor.ID, Attributes: attributes }, scope: e.scope, time: e.time, timeNano: e.timeNano };
}

/** One line of the API's stream: the JSON with timeNano as the exact integer. */
export function eventJsonLine(e: EventRecord): string {
  const { timeNano, ...rest } = eventWire(e);
  return `${JSON.stringify(rest).slice(0, -1)},"timeNano":${String(timeNano)}}\n`;
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
