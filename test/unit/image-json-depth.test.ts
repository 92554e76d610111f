import { describe, it, expect } from 'vitest';
import { jsonDepthExceeds } from '../../src/image/archive.js';

describe('jsonDepthExceeds', () => {
  it('counts nested arrays and objects', () => {
    expect(jsonDepthExceeds('{"a":[1,{"b":[]}]}', 4)).toBe(false);
    expect(jsonDepthExceeds('{"a":[1,{"b":[]}]}', 3)).toBe(true);
    expect(jsonDepthExceeds('['.repeat(100_000) + ']'.repeat(100_000), 1000)).toBe(true);
  });
  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthExceeds(JSON.stringify({ s: '[[[[{{{{' }), 1)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ s: '\\"[[[[', t: 'x"{{{{' }), 1)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ s: '\\', t: [[]] }), 2)).toBe(true);
  });
});
