import { describe, expect, it } from 'vitest';
import { parseDetachKeys } from '../../src/runtime/detach-keys.js';

describe('parseDetachKeys (Docker --detach-keys)', () => {
  it('defaults to ctrl-p,ctrl-q', () => {
    expect([...parseDetachKeys(undefined)]).toEqual([16, 17]);
    expect([...parseDetachKeys('')]).toEqual([16, 17]);
  });
  it('takes single characters and ctrl-a..z, ctrl-@ [ \\ ] ^ _', () => {
    expect([...parseDetachKeys('a,ctrl-z,Q')]).toEqual([97, 26, 81]);
    expect([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')]).toEqual([0, 27, 28, 29, 30, 31]);
    expect([...parseDetachKeys('CTRL-X')]).toEqual([24]);
  });
  it("refuses others with Docker's message and the exit code asked for", () => {
    expect(() => parseDetachKeys('ctrl-1')).toThrow('Invalid detach keys (ctrl-1) provided');
    expect(() => parseDetachKeys('ab')).toThrow(/Invalid detach keys/);
    try {
      parseDetachKeys('ctrl-', 1);
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(1);
    }
  });
});
