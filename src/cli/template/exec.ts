/**
 * The evaluator: walks the tree over a data value with Go's semantics (field chains, methods on
 * structs, variables, pipelines passing the last value on, lazy and/or, range over slices and
 * maps in key order, break/continue). Errors carry Go's "template: :L:C: executing "" at <node>".
 */
import type { Arg, Cmd, Node, Pipe } from './parse.js';
import type { Fn } from './funcs.js';
import { templateError } from './errors.js';
import { GO_TYPE, goTypeName, isMap, isStruct, printValue, truthy } from './values.js';

export interface ExecOptions {
  /** Docker's inspect: a missing map key is an error (missingkey=error) */
  missingKeyError?: boolean;
  funcs: Record<string, Fn>;
  /** receives the output as it is made: what was written before a failure stays there */
  out?: string[];
}

interface State { src: string; vars: { name: string; value: unknown }[]; out: string[]; opts: ExecOptions }

type Flow = 'break' | 'continue' | undefined;
const NO_FINAL = Symbol('noFinal');

function fail(st: State, node: { pos: number; src: string }, msg: string): never {
  const before = st.src.slice(0, node.pos);
  const nl = before.lastIndexOf('\n');
  const line = before.split('\n').length;
  const col = Buffer.byteLength(nl < 0 ? before : before.slice(nl + 1));
  throw templateError(`template: :${line}:${col}: executing "" at <${node.src}>: ${msg}`);
}

function lookupVar(st: State, node: Arg, name: string): unknown {
  for (let i = st.vars.length - 1; i >= 0; i--) if (st.vars[i]!.name === name) return st.vars[i]!.value;
  return fail(st, node, `undefined variable: ${name}`);
}

function checkArg(st: State, node: Arg, kind: Fn['params'][number], v: unknown): void {
  const bad = (want: string) => fail(st, node, `wrong type for value; expected ${want}; got ${goTypeName(v)}`);
  if (kind === 'string' && typeof v !== 'string') bad('string');
  if (kind === 'int' && !(typeof v === 'number' && Number.isInteger(v))) bad('int');
  if (kind === 'strings' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) bad('[]string');
}

function call(st: State, cmd: { pos: number; src: string }, name: string, f: Fn, argNodes: Arg[], dot: unknown, final: unknown): unknown {
  const values = argNodes.map((a) => evalArg(st, dot, a));
  const nodes = [...argNodes];
  if (final !== NO_FINAL) {
    values.push(final);
    nodes.push({ t: 'dot', pos: cmd.pos, src: cmd.src });
  }
  const want = f.params.length;
  if (f.variadic ? values.length < want : values.length !== want) {
    fail(st, cmd, `wrong number of args for ${name}: want ${f.variadic ? 'at least ' : ''}${want} got ${values.length}`);
  }
  values.forEach((v, i) => checkArg(st, nodes[i]!, f.params[i] ?? f.variadic ?? 'any', v));
  try {
    return (f.fn as (...a: unknown[]) => unknown)(...values);
  } catch (err) {
    return fail(st, cmd, `error calling ${name}: ${(err as Error).message}`);
  }
}

function field(st: State, node: Arg, receiver: unknown, name: string, args: Arg[], dot: unknown, final: unknown): unknown {
  const hasArgs = args.length > 0 || final !== NO_FINAL;
  if (receiver === undefined || receiver === null) return fail(st, node, `nil pointer evaluating interface {}.${name}`);
  if (isStruct(receiver)) {
    if (!(name in receiver)) return fail(st, node, `can't evaluate field ${name} in type ${receiver[GO_TYPE]}`);
    const v = receiver[name];
    if (typeof v === 'function') {
      const params = Array.from({ length: v.length }, () => 'string' as const);
      return call(st, node, name, { params, fn: v as Fn['fn'] }, args, dot, final);
    }
    if (hasArgs) return fail(st, node, `${name} has arguments but cannot be invoked as function`);
    return v;
  }
  if (isMap(receiver)) {
    if (hasArgs) return fail(st, node, `${name} is not a method but has arguments`);
    if (Object.hasOwn(receiver, name)) return receiver[name];
    if (st.opts.missingKeyError) return fail(st, node, `map has no entry for key "${name}"`);
    return undefined;
  }
  return fail(st, node, `can't evaluate field ${name} in type ${goTypeName(receiver)}`);
}

function chain(st: State, node: Arg, receiver: unknown, names: string[], args: Arg[], dot: unknown, final: unknown): unknown {
  let v = receiver;
  names.forEach((n, i) => {
    const last = i === names.length - 1;
    v = field(st, node, v, n, last ? args : [], dot, last ? final : NO_FINAL);
  });
  return v;
}

function notAFunction(st: State, node: Arg, args: Arg[], final: unknown): void {
  if (args.length > 0 || final !== NO_FINAL) fail(st, node, `can't give argument to non-function ${node.src}`);
}

function evalCommand(st: State, dot: unknown, cmd: Cmd, final: unknown): unknown {
  const [first, ...rest] = cmd.args as [Arg, ...Arg[]];
  switch (first.t) {
    case 'field': return chain(st, first, dot, first.names, rest, dot, final);
    case 'var': {
      const v = lookupVar(st, first, first.name);
      if (first.names.length) return chain(st, first, v, first.names, rest, dot, final);
      notAFunction(st, first, rest, final);
      return v;
    }
    case 'chain': return chain(st, first, evalArg(st, dot, first.node), first.names, rest, dot, final);
    case 'ident': {
      if (first.name === 'and' || first.name === 'or') {
        const all = [...rest];
        if (all.length === 0 && final === NO_FINAL) fail(st, cmd, `wrong number of args for ${first.name}: want at least 1 got 0`);
        let v: unknown;
        for (const a of all) {
          v = evalArg(st, dot, a);
          if (truthy(v) !== (first.name === 'and')) return v;
        }
        return final !== NO_FINAL ? final : v;
      }
      return call(st, cmd, first.name, st.opts.funcs[first.name]!, rest, dot, final);
    }
    default:
      notAFunction(st, first, rest, final);
      return evalArg(st, dot, first);
  }
}

function evalArg(st: State, dot: unknown, a: Arg): unknown {
  switch (a.t) {
    case 'dot': return dot;
    case 'const': return a.value;
    case 'nil': return null;
    case 'pipe': return evalPipe(st, dot, a.pipe);
    case 'ident': return evalCommand(st, dot, { args: [a], pos: a.pos, src: a.src }, NO_FINAL);
    default: return evalCommand(st, dot, { args: [a], pos: a.pos, src: a.src }, NO_FINAL);
  }
}

function evalPipe(st: State, dot: unknown, pipe: Pipe, declare = true): unknown {
  let v: unknown = NO_FINAL;
  for (const cmd of pipe.cmds) v = evalCommand(st, dot, cmd, v);
  if (declare) {
    for (const name of pipe.decl) {
      if (pipe.assign) {
        const slot = [...st.vars].reverse().find((x) => x.name === name);
        if (!slot) throw templateError(`template: :1: undefined variable "${name}"`);
        slot.value = v;
      } else st.vars.push({ name, value: v });
    }
  }
  return v;
}

function walkList(st: State, dot: unknown, list: Node[]): Flow {
  for (const n of list) {
    const flow = walk(st, dot, n);
    if (flow) return flow;
  }
  return undefined;
}

function scoped(st: State, fn: () => Flow): Flow {
  const mark = st.vars.length;
  try {
    return fn();
  } finally {
    st.vars.length = mark;
  }
}

function walk(st: State, dot: unknown, n: Node): Flow {
  switch (n.t) {
    case 'text': st.out.push(n.text); return undefined;
    case 'action': {
      const v = evalPipe(st, dot, n.pipe);
      if (n.pipe.decl.length === 0) st.out.push(printValue(v));
      return undefined;
    }
    case 'break': case 'continue': return n.t;
    case 'if': case 'with': return scoped(st, () => {
      const v = evalPipe(st, dot, n.pipe);
      if (truthy(v)) return walkList(st, n.t === 'with' ? v : dot, n.list);
      return n.else ? walkList(st, dot, n.else) : undefined;
    });
    case 'range': return scoped(st, () => {
      const v = evalPipe(st, dot, n.pipe, false);
      let entries: [unknown, unknown][];
      if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
      else if (isMap(v)) entries = Object.keys(v).sort().map((k) => [k, v[k]]);
      else if (v === undefined || v === null) entries = [];
      else return fail(st, n.pipe.cmds[0]!, `range can't iterate over ${printValue(v)}`);
      if (entries.length === 0) return n.else ? walkList(st, dot, n.else) : undefined;
      for (const [k, e] of entries) {
        const flow = scoped(st, () => {
          const [a, b] = n.pipe.decl;
          if (a && b) st.vars.push({ name: a, value: k }, { name: b, value: e });
          else if (a) st.vars.push({ name: a, value: e });
          return walkList(st, e, n.list);
        });
        if (flow === 'break') break;
      }
      return undefined;
    });
  }
}

export function execute(src: string, tree: Node[], data: unknown, opts: ExecOptions): string {
  const st: State = { src, vars: [{ name: '$', value: data }], out: opts.out ?? [], opts };
  walkList(st, data, tree);
  return st.out.join('');
}
