/** `tsdocker images`: the image table, ids only (-q), or one JSON object per line. */
import type { Command } from 'commander';
import { out, requireRoot } from './common.js';
import { ago, humanSize, table } from '../format.js';
import { TsdError } from '../../sys/errors.js';

interface Row {
  repo: string;
  tag: string;
  id: string;
  created: string;
  size: number;
  digest: string;
}

export function register(program: Command): void {
  program
    .command('images')
    .description('List images')
    .argument('[reference]', 'only images matching REPOSITORY[:TAG]')
    .option('-a, --all', 'show all images (there are no intermediate images; accepted for Docker compatibility)')
    .option('-q, --quiet', 'only show image ids')
    .option('--no-trunc', 'do not truncate ids')
    .option('--digests', 'show digests')
    .option('--format <format>', 'table (default) or json')
    .action(async (reference: string | undefined, f: { quiet?: boolean; trunc: boolean; digests?: boolean; format?: string }) => {
      requireRoot();
      if (f.format && f.format !== 'json' && f.format !== 'table') {
        throw new TsdError('BAD_ARGS', `unsupported --format '${f.format}'`, { hint: 'use --format json or --format table' });
      }
      const { listImages, parseNameRef } = await import('../../image/index.js');
      const want = reference ? parseNameRef(reference) : undefined;
      const tagGiven = !!reference && reference.lastIndexOf(':') > reference.lastIndexOf('/');
      const rows: Row[] = [];
      for (const img of await listImages()) {
        const shown = f.trunc ? img.id.slice(7, 19) : img.id;
        const base = { id: shown, created: img.created, size: img.size };
        const digestOf = (repo: string): string => img.repoDigests.find((d) => d.startsWith(`${repo}@`))?.slice(repo.length + 1) ?? '<none>';
        const tags = img.repoTags.map((t) => {
          const i = t.lastIndexOf(':');
          return { repo: t.slice(0, i), tag: t.slice(i + 1), digest: digestOf(t.slice(0, i)) };
        });
        if (tags.length === 0 && !want) {
          const d = img.repoDigests[0];
          rows.push({ ...base, repo: d ? d.slice(0, d.indexOf('@')) : '<none>', tag: '<none>', digest: d ? d.slice(d.indexOf('@') + 1) : '<none>' });
        }
        for (const t of tags) {
          if (want && (t.repo !== want.name || (tagGiven && t.tag !== want.tag))) continue;
          rows.push({ ...base, ...t });
        }
      }
      const since = (c: string): string => (c && !Number.isNaN(Date.parse(c)) ? ago(c) : 'N/A');
      if (f.quiet) {
        for (const id of [...new Set(rows.map((r) => r.id))]) out(id);
      } else if (f.format === 'json') {
        for (const r of rows) {
          out(JSON.stringify({
            Containers: 'N/A', CreatedAt: r.created, CreatedSince: since(r.created), Digest: r.digest, ID: r.id,
            Repository: r.repo, SharedSize: 'N/A', Size: humanSize(r.size), Tag: r.tag, UniqueSize: 'N/A', VirtualSize: humanSize(r.size),
          }));
        }
      } else {
        const head = f.digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
        const cells = (r: Row): string[] => [r.repo, r.tag, ...(f.digests ? [r.digest] : []), r.id, since(r.created), humanSize(r.size)];
        out(table(head, rows.map(cells)));
      }
    });
}
