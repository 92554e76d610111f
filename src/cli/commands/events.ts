/** `tsdocker events` (also `system events`): the events journal, past (--since) and as it grows. */
import type { Command } from 'commander';
import { collect, requireRoot } from './common.js';

interface EventsFlags {
  since?: string;
  until?: string;
  filter: string[];
  format?: string;
}

export function addEventsCommand(parent: Command, name: string): void {
  parent
    .command(name)
    .description('Get real time events (container, image, network, volume) from the events journal')
    .option('--since <time>', 'show events since a timestamp (2013-01-02T13:23:37Z), a Unix time or a duration (10m)')
    .option('--until <time>', 'stream events until this timestamp or duration, then exit')
    .option('-f, --filter <filter>', 'filter output: container, event, image, label, network, type, volume, scope (repeatable)', collect, [])
    .option('--format <format>', 'format the output with a Go template ({{json .}}, {{.Type}} {{.Action}} {{.Actor.ID}})')
    .action(async (f: EventsFlags) => {
      requireRoot();
      const { parseLogTime } = await import('../../runtime/logs.js');
      const { parseFilters } = await import('../../query/filters.js');
      const { eventRow, eventText } = await import('../lists/events.js');
      const { EVENT_FILTERS, eventMatches } = await import('../../query/events.js');
      const { streamEvents } = await import('../../state/events.js');
      const filters = parseFilters(f.filter, EVENT_FILTERS);
      const since = f.since === undefined ? undefined : parseLogTime('since', f.since);
      const until = f.until === undefined ? undefined : parseLogTime('until', f.until);
      let render = eventText;
      if (f.format !== undefined && f.format !== '') {
        const { compile } = await import('../template/index.js');
        const t = compile(f.format === 'json' ? '{{json .}}' : f.format);
        render = (e) => `${t.render(eventRow(e))}\n`;
      }
      // Docker replays the past only with --since (or --until alone: everything before it)
      const stream = streamEvents({
        ...(since !== undefined || until !== undefined ? { since: since ?? 0n } : {}),
        ...(until !== undefined ? { until } : {}),
        onEvent: (e) => {
          if (eventMatches(filters, e)) process.stdout.write(render(e));
        },
      });
      await stream.done;
    });
}

export function register(program: Command): void {
  addEventsCommand(program, 'events');
}
