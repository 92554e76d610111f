/**
 * Go templates for --format, as docker/cli uses them: `compile` a template once, render it per
 * item; `formatList` is docker/cli's formatter (a custom template per line, `table ...` with a
 * header line through the tabwriter, `json` for `{{json .}}`, -q for the ID); `formatInspect`
 * is its inspect path (a missing map key is an error). Errors read "Template parsing error: ...".
 */
import { parse, type Node } from './parse.js';
import { execute } from './exec.js';
import { builtins, dockerFuncs, headerFuncs, type Fn } from './funcs.js';
import { tabwrite } from './tabwriter.js';
import { isTemplateError, templateError } from './errors.js';

export { struct } from './values.js';
export { tabwrite } from './tabwriter.js';

const FUNCS: Record<string, Fn> = { ...builtins, ...dockerFuncs };
const HEADER_FUNCS: Record<string, Fn> = { ...FUNCS, ...headerFuncs };
const NAMES = new Set(Object.keys(FUNCS));

export interface Template {
  render(data: unknown, opts?: { missingKeyError?: boolean; header?: boolean; out?: string[] }): string;
}

export function compile(src: string): Template {
  const tree: Node[] = parse(src, NAMES);
  return {
    render: (data, opts = {}) =>
      execute(src, tree, data, { funcs: opts.header ? HEADER_FUNCS : FUNCS, missingKeyError: Boolean(opts.missingKeyError), ...(opts.out ? { out: opts.out } : {}) }),
  };
}

/** Docker's prefix for any template failure, parse or execution. */
function withPrefix<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isTemplateError(err)) throw templateError(`Template parsing error: ${err.message}`);
    throw err;
  }
}

export interface ListSpec {
  /** the command's default, e.g. 'table {{.ID}}\t{{.Image}}' */
  table: string;
  /** column titles by field, for the header line of a table */
  headers: Record<string, string>;
  /** what -q prints (default {{.ID}}) */
  quiet?: string;
}

/** The format docker/cli would use for these flags. */
export function chooseFormat(format: string | undefined, quiet: boolean, spec: ListSpec): string {
  if (quiet) return spec.quiet ?? '{{.ID}}';
  if (!format || format === 'table') return spec.table;
  if (format === 'json') return '{{json .}}';
  return format;
}

/** Render list rows (ps, images, network ls, volume ls, stats) as docker/cli does. */
export function formatList(format: string, rows: unknown[], spec: ListSpec): string {
  const isTable = format.startsWith('table');
  const body = (isTable ? format.slice('table'.length) : format).replace(/^ +| +$/g, '').replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  return withPrefix(() => {
    const t = compile(body);
    const lines = rows.map((r) => `${t.render(r)}\n`).join('');
    if (!isTable) return lines;
    const partial: string[] = [];
    try {
      t.render(spec.headers, { header: true, out: partial });
    } catch (err) {
      // Docker ignores a header that fails (a method with arguments, say) and keeps what it had
      if (!isTemplateError(err)) throw err;
    }
    const header = partial.join('');
    return tabwrite(`${header}\n${lines}`);
  });
}

/** `inspect -f`: one rendering per object, each followed by a newline; missing keys are errors. */
export function formatInspect(format: string, items: unknown[]): string {
  return withPrefix(() => {
    const t = compile(format);
    return items.map((i) => `${t.render(i, { missingKeyError: true })}\n`).join('');
  });
}
