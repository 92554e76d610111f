/** `history`: rows as docker/cli's historyContext. */
import { humanSize, truncate } from '../format.js';
import { ago } from '../../query/human.js';
import { struct, type ListSpec } from '../template/index.js';
import type { HistoryItem } from '../../image/index.js';

export const HISTORY_SPEC: ListSpec = {
  table: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
  headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
};
/** with --human=false */
export const HISTORY_TABLE_NON_HUMAN = 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

/** Go's time.Unix(s, 0).Format(time.RFC3339), in local time. */
export function rfc3339(seconds: number): string {
  const d = new Date(seconds * 1000);
  const off = -d.getTimezoneOffset();
  const p = (n: number) => String(n).padStart(2, '0');
  const local = new Date(d.getTime() + off * 60_000).toISOString().slice(0, 19);
  return off === 0 ? `${local}Z` : `${local}${off < 0 ? '-' : '+'}${p(Math.trunc(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
}

export function historyRow(h: HistoryItem, o: { trunc: boolean; human: boolean }) {
  const createdBy = h.CreatedBy.replaceAll('\t', ' ');
  return struct('*formatter.historyContext', {
    ID: o.trunc ? h.Id.replace(/^[^:]*:/, '').slice(0, 12) : h.Id,
    CreatedAt: rfc3339(h.Created),
    CreatedSince: o.human ? ago(new Date(h.Created * 1000).toISOString()) : rfc3339(h.Created),
    CreatedBy: o.trunc ? truncate(createdBy, 45) : createdBy,
    Size: o.human ? humanSize(h.Size) : String(h.Size),
    Comment: h.Comment,
  });
}
