/**
 * Go's text/tabwriter as docker/cli uses it (minwidth 10, tabwidth 1, padding 3, spaces):
 * tab-terminated cells line up in column blocks (runs of lines that have that column); the
 * text after a line's last tab is not part of any column.
 */
export interface TabOptions { minWidth: number; padding: number }

const DOCKER: TabOptions = { minWidth: 10, padding: 3 };

/** Go counts runes: code points, which is the length unless the text has surrogate pairs (no array per cell). */
function width(s: string): number {
  return /[\ud800-\udfff]/.test(s) ? [...s].length : s.length;
}

export function tabwrite(text: string, opts: TabOptions = DOCKER): string {
  const rawLines = text.split('\n');
  const endsWithNewline = rawLines.length > 1 && rawLines[rawLines.length - 1] === '';
  if (endsWithNewline) rawLines.pop();
  const lines = rawLines.map((l) => l.split('\t'));
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      out.push(cells.map((c, j) => (j < cells.length - 1 && j < widths.length ? c + ' '.repeat(Math.max(0, widths[j]! - width(c))) : c)).join(''));
    }
  };

  // Go's format(): find column blocks recursively, one column deeper at a time
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let w = opts.minWidth;
      for (; i < line1 && column < lines[i]!.length - 1; i++) w = Math.max(w, width(lines[i]![column]!) + opts.padding);
      widths.push(w);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
