/** Generated names (runtime/names.ts): Docker's adjective_scientist, never one the index has. */
import { describe, expect, it } from 'vitest';
import { generateName, validateName } from '../../src/runtime/names.js';

describe('generateName', () => {
  it('asks the index and never returns a name it has', () => {
    const asked: string[] = [];
    const plain = /^[a-z]+_[a-z]+$/;
    // every plain name taken: after the first tries it adds digits, as Docker does
    const name = generateName({ has: (n) => (asked.push(n), plain.test(n)) });
    expect(name).toMatch(/^[a-z]+_[a-z]+\d+$/);
    expect(asked.at(-1)).toBe(name);
    expect(asked.slice(0, -1).every((n) => plain.test(n))).toBe(true);
  });

  it('falls back to a random name when every candidate is taken', () => {
    expect(generateName({ has: () => true })).toMatch(/^tsd_[0-9a-f]{12}$/);
  });

  it('a generated name is a valid name', () => {
    for (let i = 0; i < 50; i++) expect(validateName(generateName(new Set()))).toMatch(/^[a-z]+_[a-z]+$/);
  });
});
