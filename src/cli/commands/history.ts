/** `tsdocker history IMAGE`: the image config's history, as docker history prints it. */
import { Option, type Command } from 'commander';
import { requireRoot } from './common.js';
import { writeOut } from '../stdout.js';

export function register(program: Command): void {
  program
    .command('history')
    .description('Show the history of an image')
    .argument('<image>', 'image name[:tag], id or id prefix')
    .option('--format <format>', 'Go template, "table TEMPLATE" or "json" (fields: ID CreatedSince CreatedAt CreatedBy Size Comment)')
    .option('-H, --human', 'print sizes and dates in human readable format (default true; --human=false for bytes and RFC 3339)')
    .addOption(new Option('--no-human').hideHelp())
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image ids')
    .action(async (ref: string, f: { format?: string; human?: boolean; trunc: boolean; quiet?: boolean }) => {
      requireRoot();
      const { imageHistory } = await import('../../image/index.js');
      const { HISTORY_SPEC, HISTORY_TABLE_NON_HUMAN, historyRow } = await import('../lists/history.js');
      const { chooseFormat, formatList } = await import('../template/index.js');
      const human = f.human !== false; // --no-human (from --human=false) is the only way to false
      const spec = human ? HISTORY_SPEC : { ...HISTORY_SPEC, table: HISTORY_TABLE_NON_HUMAN };
      const rows = (await imageHistory(ref)).map((h) => historyRow(h, { trunc: f.trunc, human }));
      writeOut(formatList(chooseFormat(f.format, !!f.quiet, spec), rows, spec));
    });
}
