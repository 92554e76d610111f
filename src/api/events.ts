/**
 * GET /events: the events journal as dockerd streams it: past events with `since` (or
 * `until`), then new ones as they are appended, one JSON object per line, until `until`
 * passes or the client goes. Filters are moby's (query/events.ts).
 */
import type { ServerResponse } from 'node:http';
import { filtersParam, type Request } from './http.js';
import type { Route } from './router.js';

async function eventsHandler(req: Request, res: ServerResponse): Promise<void> {
  const { parseLogTime } = await import('../runtime/logs.js');
  const { EVENT_FILTERS, eventJsonLine, eventMatches } = await import('../query/events.js');
  const { streamEvents } = await import('../state/events.js');
  const filters = await filtersParam(req.query, EVENT_FILTERS);
  const param = (name: 'since' | 'until') => {
    const v = req.query.get(name);
    return v && v !== '0' ? parseLogTime(name, v) : undefined;
  };
  const since = param('since');
  const until = param('until');
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const stream = streamEvents({
    ...(since !== undefined || until !== undefined ? { since: since ?? 0n } : {}),
    ...(until !== undefined ? { until } : {}),
    onEvent: (e) => {
      if (eventMatches(filters, e)) res.write(eventJsonLine(e));
    },
  });
  res.on('close', stream.stop);
  await stream.done;
  res.end();
}

export const eventRoutes: Route[] = [['GET', /^\/events$/, eventsHandler]];
