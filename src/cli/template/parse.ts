/**
 * The parser: pieces from the lexer into a tree of text, actions and control structures
 * (if / else if / with / range / break / continue), each action a pipeline of commands.
 * Functions are checked at parse time, as Go does ("function "x" not defined").
 */
import { lex, type Piece, type Token } from './lexer.js';
import { templateError } from './errors.js';

export type Arg =
  | { t: 'field'; names: string[]; pos: number; src: string }
  | { t: 'var'; name: string; names: string[]; pos: number; src: string }
  | { t: 'chain'; node: Arg; names: string[]; pos: number; src: string }
  | { t: 'dot'; pos: number; src: string }
  | { t: 'ident'; name: string; pos: number; src: string }
  | { t: 'const'; value: string | number | boolean; pos: number; src: string }
  | { t: 'nil'; pos: number; src: string }
  | { t: 'pipe'; pipe: Pipe; pos: number; src: string };

export interface Cmd { args: Arg[]; pos: number; src: string }
export interface Pipe { decl: string[]; assign: boolean; cmds: Cmd[]; pos: number; src: string }

export type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe; pos: number }
  | { t: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; else: Node[] | undefined; pos: number }
  | { t: 'break' | 'continue'; pos: number };

interface Cursor { toks: Token[]; i: number; line: number }

function srcOf(args: Arg[]): string {
  return args.map((a) => a.src).join(' ');
}

function parseOperand(c: Cursor, funcs: Set<string>): Arg | undefined {
  const tok = c.toks[c.i];
  if (!tok) return undefined;
  let arg: Arg;
  switch (tok.kind) {
    case 'field': arg = { t: 'field', names: [tok.text.slice(1)], pos: tok.pos, src: tok.text }; break;
    case 'dot': arg = { t: 'dot', pos: tok.pos, src: '.' }; break;
    case 'var': arg = { t: 'var', name: tok.text, names: [], pos: tok.pos, src: tok.text }; break;
    case 'string': case 'number': case 'bool': arg = { t: 'const', value: tok.value!, pos: tok.pos, src: tok.text }; break;
    case 'nil': arg = { t: 'nil', pos: tok.pos, src: 'nil' }; break;
    case 'ident':
      if (!funcs.has(tok.text)) throw templateError(`template: :${c.line}: function "${tok.text}" not defined`);
      arg = { t: 'ident', name: tok.text, pos: tok.pos, src: tok.text };
      break;
    case 'lparen': {
      c.i++;
      const pipe = parsePipe(c, funcs, 'parenthesized pipeline', true);
      if (c.toks[c.i]?.kind !== 'rparen') throw templateError(`template: :${c.line}: unclosed left paren`);
      arg = { t: 'pipe', pipe, pos: tok.pos, src: `(${pipe.src})` };
      break;
    }
    default:
      return undefined;
  }
  c.i++;
  // fields written right after an operand chain onto it: .A.B, $x.A, (pipe).A
  while (c.toks[c.i]?.kind === 'field' && !c.toks[c.i]!.spaced) {
    const name = c.toks[c.i]!.text.slice(1);
    const a: Arg = arg;
    if (a.t === 'field' || a.t === 'var' || a.t === 'chain') arg = { ...a, names: [...a.names, name], src: `${a.src}.${name}` };
    else if (a.t === 'pipe') arg = { t: 'chain', node: arg, names: [name], pos: arg.pos, src: `${arg.src}.${name}` };
    else throw templateError(`template: :${c.line}: unexpected . after term "${arg.src}"`);
    c.i++;
  }
  return arg;
}

function parsePipe(c: Cursor, funcs: Set<string>, context: string, inParen = false): Pipe {
  const start = c.toks[c.i]?.pos ?? 0;
  const decl: string[] = [];
  let assign = false;
  // $x := ..., $i, $e := ... (range), $x = ...
  const save = c.i;
  while (c.toks[c.i]?.kind === 'var') {
    decl.push(c.toks[c.i]!.text);
    const next = c.toks[c.i + 1];
    if (next?.kind === 'comma' && decl.length < 2) {
      c.i += 2;
      continue;
    }
    if (next?.kind === 'declare' || next?.kind === 'assign') {
      assign = next.kind === 'assign';
      c.i += 2;
      break;
    }
    decl.length = 0;
    c.i = save;
    break;
  }
  const cmds: Cmd[] = [];
  let args: Arg[] = [];
  const endCmd = () => {
    if (args.length === 0) throw templateError(`template: :${c.line}: missing value for command`);
    cmds.push({ args, pos: args[0]!.pos, src: srcOf(args) });
    args = [];
  };
  for (;;) {
    const tok = c.toks[c.i];
    if (!tok || (inParen && tok.kind === 'rparen')) break;
    if (tok.kind === 'pipe') {
      endCmd();
      c.i++;
      continue;
    }
    const arg = parseOperand(c, funcs);
    if (!arg) throw templateError(`template: :${c.line}: unexpected "${tok.text}" in operand`);
    args.push(arg);
  }
  if (args.length) endCmd();
  else if (cmds.length) throw templateError(`template: :${c.line}: missing command after |`);
  if (cmds.length === 0 && context !== 'action') throw templateError(`template: :${c.line}: missing value for ${context}`);
  if (cmds.length === 0 && decl.length === 0) throw templateError(`template: :${c.line}: missing value for command`);
  return { decl, assign, cmds, pos: start, src: cmds.map((x) => x.src).join(' | ') };
}

interface Parser { pieces: Piece[]; i: number; funcs: Set<string>; loops: number }

type Stop = { kind: 'end' } | { kind: 'else'; toks: Token[]; line: number; pos: number } | { kind: 'eof' };

function parseList(p: Parser): { list: Node[]; stop: Stop } {
  const list: Node[] = [];
  for (; p.i < p.pieces.length; p.i++) {
    const piece = p.pieces[p.i]!;
    if ('text' in piece) {
      list.push({ t: 'text', text: piece.text });
      continue;
    }
    if ('comment' in piece) continue;
    const { action: toks, line, pos } = piece;
    const head = toks[0];
    const kw = head?.kind === 'ident' ? head.text : '';
    if (kw === 'end' || kw === 'else') {
      if (kw === 'end' && toks.length > 1) throw templateError(`template: :${line}: unexpected "${toks[1]!.text}" in end`);
      return { list, stop: kw === 'end' ? { kind: 'end' } : { kind: 'else', toks: toks.slice(1), line, pos } };
    }
    if (kw === 'if' || kw === 'with' || kw === 'range') {
      p.i++;
      list.push(parseControl(p, kw, toks.slice(1), line, head!.pos));
      continue;
    }
    if (kw === 'break' || kw === 'continue') {
      if (p.loops === 0) throw templateError(`template: :${line}: {{${kw}}} outside {{range}}`);
      list.push({ t: kw, pos: head!.pos });
      continue;
    }
    if (kw === 'define' || kw === 'template' || kw === 'block') {
      throw templateError(`template: :${line}: {{${kw}}} is not supported by tsdocker`);
    }
    if (toks.length === 0) throw templateError(`template: :${line}: missing value for command`);
    list.push({ t: 'action', pipe: parsePipe({ toks, i: 0, line }, p.funcs, 'action'), pos });
  }
  return { list, stop: { kind: 'eof' } };
}

function parseControl(p: Parser, kw: 'if' | 'with' | 'range', toks: Token[], line: number, pos: number): Node {
  const pipe = parsePipe({ toks, i: 0, line }, p.funcs, kw);
  if (kw === 'range') p.loops++;
  const body = parseList(p);
  if (kw === 'range') p.loops--;
  if (body.stop.kind === 'eof') throw templateError(`template: :${line}: unexpected EOF`);
  let elseList: Node[] | undefined;
  if (body.stop.kind === 'else') {
    const rest = body.stop.toks;
    const chained = rest[0]?.kind === 'ident' && (rest[0].text === 'if' || rest[0].text === 'with') ? rest[0].text : undefined;
    if (chained) {
      // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}}: the inner control takes the one {{end}}
      p.i++;
      elseList = [parseControl(p, chained as 'if' | 'with', rest.slice(1), body.stop.line, rest[0]!.pos)];
      return { t: kw, pipe, list: body.list, else: elseList, pos };
    }
    if (rest.length) throw templateError(`template: :${body.stop.line}: unexpected "${rest[0]!.text}" in else`);
    p.i++;
    const tail = parseList(p);
    if (tail.stop.kind !== 'end') throw templateError(`template: :${line}: ${tail.stop.kind === 'eof' ? 'unexpected EOF' : 'expected end; found {{else}}'}`);
    elseList = tail.list;
  }
  return { t: kw, pipe, list: body.list, else: elseList, pos };
}

export function parse(src: string, funcs: Set<string>): Node[] {
  const p: Parser = { pieces: lex(src), i: 0, funcs, loops: 0 };
  const { list, stop } = parseList(p);
  if (stop.kind === 'end') throw templateError('template: :1: unexpected {{end}}');
  if (stop.kind === 'else') throw templateError(`template: :${stop.line}: unexpected {{else}}`);
  return list;
}
