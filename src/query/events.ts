/**
 * Which events a watcher gets and how they travel: the filters of moby's
 * daemon/events/filter.go and the API's JSON line (events.Message, with dockerd's legacy
 * status/id/from). Used by the `events` command and the API's /events.
 */
import type { EventRecord } from '../state/events.js';
import { exact, matchLabels, values, type Filters } from './filters.js';

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
