/** Pure parts of the events journal: the line format, moby's filters, docker/cli's text line. */
import { describe, expect, it } from 'vitest';
import { eventLine, parseEventLine, type EventRecord } from '../../src/state/events.js';
import { eventText, rfc3339NanoFixed } from '../../src/cli/lists/events.js';
import { eventJsonLine, eventMatches, EVENT_FILTERS } from '../../src/query/events.js';
import { parseFilters } from '../../src/query/filters.js';
import { compile } from '../../src/cli/template/index.js';
import { eventRow } from '../../src/cli/lists/events.js';

const ev: EventRecord = {
  Type: 'container',
  Action: 'die',
  Actor: { ID: 'abc123', Attributes: { name: 'web', image: 'busybox:1', exitCode: '3' } },
  scope: 'local',
  time: 1796130000,
  timeNano: 1796130000123456789n,
};
const f = (...specs: string[]) => parseFilters(specs, EVENT_FILTERS);

describe('events', () => {
  it('keeps timeNano exact through the journal line and the API line', () => {
    const line = eventLine(ev);
    expect(line.endsWith(',"timeNano":1796130000123456789}')).toBe(true);
    expect(parseEventLine(line)).toEqual(ev);
    expect(eventJsonLine(ev)).toBe('{"status":"die","id":"abc123","from":"busybox:1","Type":"container","Action":"die","Actor":{"ID":"abc123","Attributes":{"exitCode":"3","image":"busybox:1","name":"web"}},"scope":"local","time":1796130000,"timeNano":1796130000123456789}\n');
    expect(compile('{{json .}}').render(eventRow(ev))).toBe(eventJsonLine(ev).trimEnd());
    expect(compile('{{.TimeNano}} {{.Status}}').render(eventRow(ev))).toBe('1796130000123456789 die');
  });

  it("prints docker/cli's line, attributes sorted, nanoseconds fixed", () => {
    process.env.TZ = 'UTC';
    expect(rfc3339NanoFixed(1796130000000000005n)).toBe('2026-12-01T13:00:00.000000005Z');
    expect(eventText(ev)).toBe('2026-12-01T13:00:00.123456789Z container die abc123 (exitCode=3, image=busybox:1, name=web)\n');
  });

  it("matches as moby's filter: fuzzy names, exact events, image without tag", () => {
    expect(eventMatches(f('container=web'), ev)).toBe(true);
    expect(eventMatches(f('container=abc'), ev)).toBe(true);
    expect(eventMatches(f('container=we'), ev)).toBe(true); // FuzzyMatch: a prefix
    expect(eventMatches(f('container=eb'), ev)).toBe(false);
    expect(eventMatches(f('event=di'), ev)).toBe(false);
    expect(eventMatches(f('event=start', 'event=die'), ev)).toBe(true);
    expect(eventMatches(f('image=busybox'), ev)).toBe(true);
    expect(eventMatches(f('image=busybox:1'), ev)).toBe(true);
    expect(eventMatches(f('image=busybox:2'), ev)).toBe(false);
    expect(eventMatches(f('type=image'), ev)).toBe(false);
    expect(eventMatches(f('label=name=web', 'label=exitCode'), ev)).toBe(true);
    expect(eventMatches(f('label=name=db'), ev)).toBe(false);
    expect(eventMatches(f('service=x'), ev)).toBe(false);
  });
});
