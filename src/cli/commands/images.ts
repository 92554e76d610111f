/** `tsdocker images`: the image list as docker/cli prints it (table, -q, --format TEMPLATE|json, --filter). */
import type { Command } from 'commander';
import { collect, requireRoot } from './common.js';
import { writeOut } from '../stdout.js';

export function register(program: Command): void {
  program
    .command('images')
    .description('List images')
    .argument('[reference]', 'only images matching REPOSITORY[:TAG] (a reference= filter)')
    .option('-a, --all', 'show all images (there are no intermediate images; accepted for Docker compatibility)')
    .option('--digests', 'show digests')
    .option('-f, --filter <filter>', 'filter output: before, dangling=true|false, label=KEY[=VALUE], reference=PATTERN, since (repeatable)', collect, [])
    .option('--format <format>', 'Go template, "table TEMPLATE" or "json" (fields: ID Repository Tag Digest CreatedSince CreatedAt Size Containers VirtualSize SharedSize UniqueSize)')
    .option('--no-trunc', 'do not truncate ids')
    .option('-q, --quiet', 'only show image ids')
    .action(async (reference: string | undefined, f: { quiet?: boolean; trunc: boolean; format?: string; filter: string[]; digests?: boolean }) => {
      requireRoot();
      const { listImages } = await import('../../image/index.js');
      const { IMAGES_SPEC, imageRow } = await import('../lists/images.js');
      const { IMAGE_FILTERS, imageRows } = await import('../../query/images.js');
      const { parseFilters } = await import('../../query/filters.js');
      const { chooseFormat, formatList } = await import('../template/index.js');
      const filters = parseFilters([...f.filter, ...(reference ? [`reference=${reference}`] : [])], IMAGE_FILTERS);
      const spec = f.digests ? { ...IMAGES_SPEC, table: IMAGES_SPEC.table.replace('{{.Tag}}', '{{.Tag}}\t{{.Digest}}') } : IMAGES_SPEC;
      const rows = (await imageRows(await listImages(), filters)).map((r) => imageRow(r, f.trunc));
      if (f.quiet) {
        // -q lists each image once
        const seen = new Set<string>();
        for (const r of rows) if (!seen.has(r.ID)) writeOut(`${r.ID}\n`), seen.add(r.ID);
        return;
      }
      writeOut(formatList(chooseFormat(f.format, false, spec), rows, spec));
    });
}
