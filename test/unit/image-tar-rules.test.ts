import { describe, expect, it } from 'vitest';
import { classifyWhiteout, entryComponents, keptMode, limits } from '../../src/image/tar-rules.js';

describe('layer entry names', () => {
  it('cleans harmless forms', () => {
    expect(entryComponents('a/b/c')).toEqual(['a', 'b', 'c']);
    expect(entryComponents('./a//b/./c/')).toEqual(['a', 'b', 'c']);
    expect(entryComponents('a/x/../b')).toEqual(['a', 'b']);
    expect(entryComponents('./')).toEqual([]);
  });

  it('contains absolute names inside the layer', () => {
    expect(entryComponents('/etc/passwd')).toEqual(['etc', 'passwd']);
    expect(entryComponents('//abs')).toEqual(['abs']);
  });

  it.each(['../evil', 'a/../../evil', '/../evil', '..', 'a/b/../../../c'])('refuses %j, which leaves the root', (name) => {
    expect(() => entryComponents(name)).toThrow(/leaves the layer root/);
  });

  it('refuses NUL bytes, over-long components and excessive depth', () => {
    expect(() => entryComponents('a\0b')).toThrow(/NUL/);
    expect(() => entryComponents('x'.repeat(256))).toThrow(/255/);
    expect(() => entryComponents('a/'.repeat(300))).toThrow(/deeper/);
    expect(entryComponents('x'.repeat(255))).toHaveLength(1);
  });

  it('refusals are IMAGE_INVALID with a hint', () => {
    try {
      entryComponents('../x', 'layer 1');
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'IMAGE_INVALID', exitCode: 125 });
      expect((err as Error).message).toMatch(/^layer 1: refusing entry '..\/x'/);
      expect((err as { hint?: string }).hint).toBeTruthy();
    }
  });
});

describe('whiteouts', () => {
  it('recognises file whiteouts', () => {
    expect(classifyWhiteout('.wh.foo')).toEqual({ kind: 'file', name: 'foo' });
    expect(classifyWhiteout('.wh..hidden')).toEqual({ kind: 'file', name: '.hidden' });
  });
  it('recognises the opaque marker', () => {
    expect(classifyWhiteout('.wh..wh..opq')).toEqual({ kind: 'opaque' });
  });
  it('drops aufs bookkeeping and degenerate names', () => {
    expect(classifyWhiteout('.wh..wh.plnk')).toEqual({ kind: 'meta' });
    expect(classifyWhiteout('.wh.')).toEqual({ kind: 'meta' });
    expect(classifyWhiteout('.wh...')).toEqual({ kind: 'meta' });
  });
  it('leaves ordinary names alone', () => {
    expect(classifyWhiteout('foo.wh.bar')).toEqual({ kind: 'none' });
    expect(classifyWhiteout('wh.foo')).toEqual({ kind: 'none' });
  });
});

describe('modes and limits', () => {
  it('keeps setuid, setgid and sticky bits', () => {
    expect(keptMode(0o104755)).toBe(0o4755);
    expect(keptMode(0o2755)).toBe(0o2755);
    expect(keptMode(0o1777)).toBe(0o1777);
  });
  it('reads caps from the environment', () => {
    process.env.TSDOCKER_IMAGE_MAX_BYTES = '1234';
    try {
      expect(limits().maxBytes).toBe(1234);
    } finally {
      delete process.env.TSDOCKER_IMAGE_MAX_BYTES;
    }
    expect(limits().maxBytes).toBeGreaterThan(1 << 30);
  });
});

describe('image run config', () => {
  it('accepts what Docker writes, and nothing', async () => {
    const { runConfigProblem } = await import('../../src/image/formats.js');
    expect(runConfigProblem(undefined)).toBeUndefined();
    expect(runConfigProblem(null)).toBeUndefined();
    expect(runConfigProblem({ Env: ['A=1'], Cmd: ['sh'], Entrypoint: null, WorkingDir: '/', User: '1', ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b' } })).toBeUndefined();
  });
  it.each([
    [{ Cmd: 'sh' }, /Cmd is not a list/],
    [{ Env: [1] }, /Env is not a list/],
    [{ User: 0 }, /User is not a string/],
    [{ Volumes: ['/data'] }, /Volumes is not an object/],
    [{ Labels: { a: 1 } }, /non-string/],
    [[], /not an object/],
  ])('refuses %j', async (cfg, why) => {
    const { runConfigProblem } = await import('../../src/image/formats.js');
    expect(runConfigProblem(cfg)).toMatch(why);
  });
});

describe('stored path length', () => {
  it('refuses a path the kernel would refuse (ENAMETOOLONG) once under the layer directory', async () => {
    const { checkStoredLength, PATH_MAX } = await import('../../src/image/tar-rules.js');
    const dest = '/store/layer/diff';
    const fits = `${dest}/${'a'.repeat(PATH_MAX - 2 - dest.length)}`;
    expect(Buffer.byteLength(fits)).toBe(PATH_MAX - 1);
    expect(() => checkStoredLength('l', 'x', fits)).not.toThrow();
    expect(() => checkStoredLength('l', 'x', `${fits}b`)).toThrow(/refusing entry 'x': path longer than 4095 bytes once stored/);
    // bytes, not characters
    expect(() => checkStoredLength('l', 'x', `${dest}/${'é'.repeat(2040)}`)).toThrow(/longer than 4095 bytes/);
  });
});
