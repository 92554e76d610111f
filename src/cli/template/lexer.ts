/**
 * The lexer of Go's text/template subset tsdocker speaks: the text is cut into literal text
 * and actions (`{{ ... }}`, with `{{-`/`-}}` trimming the whitespace beside them); an action is
 * cut into tokens. Positions are byte offsets into the whole template, as Go reports them.
 */
import { templateError } from './errors.js';

export type TokKind =
  | 'field' | 'dot' | 'var' | 'ident' | 'string' | 'number' | 'bool' | 'nil'
  | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma';

export interface Token {
  kind: TokKind;
  text: string;
  /** the decoded value of a string, number or char constant */
  value?: string | number | boolean;
  pos: number;
  /** whitespace came right before it (a field right after a term without it chains on it) */
  spaced: boolean;
}

export type Piece = { text: string } | { action: Token[]; pos: number; line: number } | { comment: true };

const SPACE = /[ \t\r\n]/;
const IDENT = /[A-Za-z0-9_]/;

function lineOf(src: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos; i++) if (src.charCodeAt(i) === 10) n++;
  return n;
}

function unquote(src: string, start: number, end: number, line: number): string {
  const raw = src.slice(start, end);
  try {
    return JSON.parse(raw.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string;
  } catch {
    throw templateError(`template: :${line}: malformed string ${raw}`);
  }
}

/** Tokens of one action, starting after `{{` at `i`; returns them and where `}}` ends. */
function lexAction(src: string, i: number, line: number): { tokens: Token[]; end: number; trimAfter: boolean } {
  const tokens: Token[] = [];
  let spaced = true;
  const push = (kind: TokKind, text: string, pos: number, value?: string | number | boolean) => {
    tokens.push({ kind, text, pos, spaced, ...(value !== undefined ? { value } : {}) });
    spaced = false;
  };
  for (;;) {
    if (i >= src.length) throw templateError(`template: :${line}: unclosed action`);
    const c = src[i]!;
    if (src.startsWith(' -}}', i) || (spaced && src.startsWith('-}}', i) && i > 0 && SPACE.test(src[i - 1]!))) {
      return { tokens, end: i + (src[i] === ' ' ? 4 : 3), trimAfter: true };
    }
    if (src.startsWith('}}', i)) return { tokens, end: i + 2, trimAfter: false };
    if (SPACE.test(c)) {
      i++;
      spaced = true;
      continue;
    }
    const start = i;
    if (c === '.' && !/[0-9]/.test(src[i + 1] ?? '')) {
      i++;
      while (i < src.length && IDENT.test(src[i]!)) i++;
      push(i === start + 1 ? 'dot' : 'field', src.slice(start, i), start);
    } else if (c === '$') {
      i++;
      while (i < src.length && IDENT.test(src[i]!)) i++;
      push('var', src.slice(start, i), start);
    } else if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\n') throw templateError(`template: :${line}: unterminated quoted string`);
        i += src[i] === '\\' ? 2 : 1;
      }
      if (i >= src.length) throw templateError(`template: :${line}: unterminated quoted string`);
      i++;
      push('string', src.slice(start, i), start, unquote(src, start, i, line));
    } else if (c === '`') {
      const close = src.indexOf('`', i + 1);
      if (close < 0) throw templateError(`template: :${line}: unterminated raw quoted string`);
      i = close + 1;
      push('string', src.slice(start, i), start, src.slice(start + 1, close));
    } else if (c === "'") {
      const m = /^'(\\.|[^'\\])'/u.exec(src.slice(i));
      if (!m) throw templateError(`template: :${line}: unterminated character constant`);
      i += m[0].length;
      const ch = m[1]!.startsWith('\\') ? (JSON.parse(`"${m[1]}"`) as string) : m[1]!;
      push('number', m[0], start, ch.codePointAt(0)!);
    } else if (/[0-9+-]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^[+-]?(0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(src.slice(i));
      const text = m?.[0] ?? '';
      if (!text || text === '+' || text === '-' || IDENT.test(src[i + text.length] ?? '')) {
        throw templateError(`template: :${line}: bad number syntax: "${src.slice(i, i + Math.max(1, text.length + 1))}"`);
      }
      i += text.length;
      const v = /^[+-]?0[xob]/i.test(text) ? Number(text.replace(/_/g, '').replace(/^([+-]?)0o?/, '$10o')) : Number(text.replace(/_/g, ''));
      push('number', text, start, v);
    } else if (IDENT.test(c)) {
      while (i < src.length && IDENT.test(src[i]!)) i++;
      const word = src.slice(start, i);
      if (word === 'true' || word === 'false') push('bool', word, start, word === 'true');
      else if (word === 'nil') push('nil', word, start);
      else push('ident', word, start);
    } else if (c === '|') {
      i++;
      push('pipe', c, start);
    } else if (c === '(') {
      i++;
      push('lparen', c, start);
    } else if (c === ')') {
      i++;
      push('rparen', c, start);
    } else if (c === ',') {
      i++;
      push('comma', c, start);
    } else if (src.startsWith(':=', i)) {
      i += 2;
      push('declare', ':=', start);
    } else if (c === '=') {
      i++;
      push('assign', '=', start);
    } else {
      throw templateError(`template: :${line}: unexpected "${c}" in command`);
    }
  }
}

/** The template cut into text and actions, with Go's trim markers applied. */
export function lex(src: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    if (open < 0) {
      if (text) pieces.push({ text });
      break;
    }
    let at = open + 2;
    if (src.startsWith('- ', at) || src.startsWith('-\t', at) || src.startsWith('-\n', at) || src.startsWith('-\r', at)) {
      text = text.replace(/[ \t\r\n]+$/, '');
      at += 1;
    }
    if (text) pieces.push({ text });
    const line = lineOf(src, open);
    const rest = src.slice(at).replace(/^[ \t\r\n]*/, '');
    if (rest.startsWith('/*')) {
      const close = src.indexOf('*/', at);
      if (close < 0) throw templateError(`template: :${line}: unclosed comment`);
      const after = src.slice(close + 2);
      const m = /^([ \t\r\n]+-)?\}\}/.exec(after);
      if (!m) throw templateError(`template: :${line}: comment ends before closing delimiter`);
      trimNext = Boolean(m[1]);
      i = close + 2 + m[0].length;
      pieces.push({ comment: true });
      continue;
    }
    const { tokens, end, trimAfter } = lexAction(src, at, line);
    pieces.push({ action: tokens, pos: open, line });
    trimNext = trimAfter;
    i = end;
  }
  return pieces;
}
