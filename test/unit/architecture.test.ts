/**
 * The rooms of DESIGN.md, enforced: dependencies point inward
 * (cli -> runtime -> {image, rootfs, net, state, native} -> sys), only src/native loads
 * koffi, and only src/cli/main.ts exits the process.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const ALLOWED: Record<string, string[]> = {
  sys: ['sys'],
  native: ['native', 'sys'],
  state: ['state', 'native', 'sys'],
  image: ['image', 'state', 'native', 'sys'],
  rootfs: ['rootfs', 'image', 'state', 'sys'],
  net: ['net', 'state', 'native', 'sys'],
  runtime: ['runtime', 'image', 'rootfs', 'net', 'state', 'native', 'sys'],
  // which objects a list selects (Docker's filters) and the words it shows them with: shared by both front ends
  query: ['query', 'runtime', 'image', 'net', 'state', 'sys'],
  cli: ['cli', 'api', 'query', 'runtime', 'image', 'rootfs', 'net', 'state', 'native', 'sys'],
  // the Engine API server: a front end beside cli (`serve` starts it); never imports cli
  api: ['api', 'query', 'runtime', 'image', 'net', 'state', 'sys'],
};

const room = (file: string) => relative(SRC, file).split('/')[0]!;

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

describe('architecture', () => {
  const all = files(SRC);

  it('every source file lives in a known room', () => {
    for (const f of all) expect(Object.keys(ALLOWED), relative(SRC, f)).toContain(room(f));
  });

  it('dependencies point inward', () => {
    const bad: string[] = [];
    for (const f of all) {
      for (const spec of imports(f)) {
        if (!spec.startsWith('.')) continue;
        const target = room(resolve(dirname(f), spec));
        if (!ALLOWED[room(f)]!.includes(target)) bad.push(`${relative(SRC, f)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('only src/native loads koffi', () => {
    const users = all.filter((f) => imports(f).includes('koffi') || /require\(['"]koffi['"]\)/.test(readFileSync(f, 'utf8')));
    expect(users.map((f) => room(f))).toEqual(users.map(() => 'native'));
  });

  it('only src/cli/main.ts exits the process', () => {
    const exits = all.filter((f) => /process\.exit\(/.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f));
    // the separate daemon programs (embedded DNS, overlay agent) own their process
    expect(exits.filter((f) => f !== 'cli/main.ts' && !f.startsWith('net/dnsd') && f !== 'net/overlay/agent.ts')).toEqual([]);
  });

  it('no shell strings: external commands go through argv arrays', () => {
    const offenders = all.filter((f) => /\bexecSync\(|shell:\s*true|\bexec\(\s*`/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });
});
