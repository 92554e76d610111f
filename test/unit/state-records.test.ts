import { describe, expect, it } from 'vitest';
import { checkRecord, containerSchemas, schemaProblem } from '../../src/state/records.js';
import { isCorruptRecord } from '../../src/sys/errors.js';

const state = { monitorPid: 10, monitorStartTime: 5, pid: 11, pidStartTime: 6, startedAt: '2026-01-01T00:00:00Z' };

describe('record schemas', () => {
  it('accepts a record that fits, with optional fields absent or null', () => {
    expect(schemaProblem(state, containerSchemas.state)).toBeUndefined();
    expect(schemaProblem({ exitCode: 3, signal: null, finishedAt: 'x' }, containerSchemas.exit)).toBeUndefined();
  });

  it('names what is wrong: not an object, a missing field, a wrong type', () => {
    expect(schemaProblem([1, 2], containerSchemas.state)).toBe('not a JSON object');
    expect(schemaProblem(null, containerSchemas.state)).toBe('not a JSON object');
    const { pid: _pid, ...noPid } = state;
    expect(schemaProblem(noPid, containerSchemas.state)).toBe('field "pid" is missing');
    expect(schemaProblem({ ...state, pid: '11' }, containerSchemas.state)).toBe('field "pid" is not a number');
    expect(schemaProblem({ ...state, cleanedUp: 'yes' }, containerSchemas.state)).toBe('field "cleanedUp" is not a boolean');
    expect(schemaProblem({ a: ['x', 1] }, { a: 'strings' })).toBe('field "a" is not a list of strings');
    expect(schemaProblem({ a: [] }, { a: 'object' })).toBe('field "a" is not an object');
    expect(schemaProblem({ a: Number.NaN }, { a: 'number' })).toBe('field "a" is not a number');
  });

  it('checkRecord throws a CorruptRecord error naming the file', () => {
    let err: unknown;
    try {
      checkRecord('/r/state.json', { ...state, monitorPid: [1] }, containerSchemas.state);
    } catch (e) {
      err = e;
    }
    expect(isCorruptRecord(err)).toBe(true);
    expect((err as Error).message).toBe('corrupt record /r/state.json: field "monitorPid" is not a number');
    expect(checkRecord('/r/state.json', state, containerSchemas.state)).toBe(state);
  });
});
