import { describe, expect, it } from 'vitest';
import { createUndoStack, runAll } from '../../src/sys/undo.js';
import { TsdError } from '../../src/sys/errors.js';

const typed = (msg: string, hint?: string, exitCode?: number) => new TsdError('RESOURCE', msg, { hint, exitCode });

describe('teardown errors keep their type', () => {
  it('runAll runs every step and throws one TsdError listing each failure, with the first typed code and hints', async () => {
    const ran: string[] = [];
    const err = await runAll([
      ['a', () => void ran.push('a')],
      ['b', () => { ran.push('b'); throw typed('cgroup busy', 'a process still runs in it', 1); }],
      ['c', () => { ran.push('c'); throw new Error('EBUSY: rmdir x'); }],
      ['d', () => { ran.push('d'); throw typed('rule gone', 'run network reload'); }],
    ]).catch((e: unknown) => e);
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    expect(err).toBeInstanceOf(TsdError);
    expect(err).toMatchObject({
      code: 'RESOURCE',
      exitCode: 1,
      message: 'b: cgroup busy; c: EBUSY: rmdir x; d: rule gone',
      hint: 'a process still runs in it; run network reload',
    });
    expect(((err as Error).cause as AggregateError).errors).toHaveLength(3);
  });

  it('a single failure keeps its own code, hint and exit code; an untyped one still gets a hint', async () => {
    await expect(runAll([['detach', () => { throw typed('x', 'do y', 3); }]])).rejects.toMatchObject({ message: 'detach: x', hint: 'do y', exitCode: 3 });
    const plain = await runAll([['remove state', () => { throw new Error('EACCES'); }]]).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(TsdError);
    expect(plain).toMatchObject({ code: 'STATE', exitCode: 125, message: 'remove state: EACCES' });
    expect((plain as TsdError).hint).toMatch(/run the command again/);
    await expect(runAll([['ok', () => undefined]])).resolves.toBeUndefined();
  });

  it('nested teardowns keep the inner type', async () => {
    const inner = () => runAll([['port rules', () => { throw typed('nft failed', 'run network reload'); }]]);
    await expect(runAll([['detach network', inner]])).rejects.toMatchObject({ code: 'RESOURCE', message: 'detach network: port rules: nft failed', hint: 'run network reload' });
  });
});

describe('rollback keeps the setup failure and the undo failure', () => {
  it('undoes in reverse and returns the original error untouched when the undo went well', async () => {
    const undo = createUndoStack();
    const order: string[] = [];
    undo.push('one', () => void order.push('one'));
    undo.push('two', () => void order.push('two'));
    const orig = typed('port in use', 'pick another port');
    expect(await undo.rollback(orig)).toBe(orig);
    expect(order).toEqual(['two', 'one']);
    expect(await undo.run()).toEqual([]); // the steps are gone once run
  });

  it('a failed undo is reported with the original failure, which keeps its code and hint', async () => {
    const undo = createUndoStack();
    undo.push('delete veth', () => { throw typed('veth busy', 'retry'); });
    undo.push('release lease', () => { throw new Error('EIO'); });
    const err = await undo.rollback(typed('port in use', 'pick another port', 125));
    expect(err).toBeInstanceOf(TsdError);
    expect(err).toMatchObject({
      code: 'RESOURCE',
      message: 'port in use; undoing it failed too: release lease: EIO; delete veth: veth busy',
      hint: 'pick another port; retry',
    });
    expect(((err as Error).cause as AggregateError).errors).toHaveLength(2);
  });

  it('a bug during setup stays a bug (not a TsdError), with the undo failure in its message and its own stack', async () => {
    const undo = createUndoStack();
    undo.push('x', () => { throw new Error('undo broke'); });
    const bug = new TypeError('cannot read properties of undefined');
    const err = (await undo.rollback(bug)) as Error;
    expect(err).not.toBeInstanceOf(TsdError);
    expect(err.message).toBe('cannot read properties of undefined; undoing it failed too: x: undo broke');
    expect(err.stack).toContain('undo.test.ts');
  });
});
