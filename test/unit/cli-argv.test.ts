/** pflag's boolean values and unknown commands (src/cli/argv.ts), and top's ps parsing. */
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { normalizeArgv } from '../../src/cli/argv.js';
import { parsePsOutput, validatePsArgs } from '../../src/runtime/top.js';

function program(): Command {
  const p = new Command('tsdocker').enablePositionalOptions().option('--root <dir>');
  p.command('run').passThroughOptions().option('--rm').option('-i, --interactive').option('-t, --tty').option('--name <n>').argument('<image>').argument('[cmd...]');
  p.command('ps').option('--no-trunc');
  return p;
}
const norm = (...args: string[]) => normalizeArgv(program(), ['node', 'tsdocker', ...args]).slice(2);

describe('boolean flag values', () => {
  it('true keeps the flag, false drops it and its earlier occurrences (clusters too)', () => {
    expect(norm('--root', '--rm=false', 'run', '--rm=true', 'img')).toEqual(['--root', '--rm=false', 'run', '--rm', 'img']);
    expect(norm('run', '--rm', '-it', '--rm=0', '--tty=False', 'img')).toEqual(['run', '-i', 'img']);
    expect(norm('run', '-t=f', '-t=T', 'img')).toEqual(['run', '--tty', 'img']);
    expect(norm('ps', '--no-trunc=false')).toEqual(['ps']);
    // the value of --name and what follows the image are not flags of run
    expect(norm('run', '--name', '--rm=false', 'img', '--rm=false')).toEqual(['run', '--name', '--rm=false', 'img', '--rm=false']);
  });

  it('refuses what strconv.ParseBool refuses, with pflag\'s message', () => {
    expect(() => norm('run', '--rm=yes', 'img')).toThrow('invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax');
    expect(() => norm('run', '-t=2', 'img')).toThrow('invalid argument "2" for "-t, --tty" flag');
  });

  it('an unknown command loses its --help', () => {
    expect(norm('nosuch', '--help', '-h')).toEqual(['nosuch']);
    expect(norm('run', '--help')).toEqual(['run', '--help']);
  });
});

describe('top: ps output', () => {
  const ps = ['UID        PID  PPID  C STIME TTY          TIME CMD', 'root         1     0  0 10:04 ?        00:00:07 /sbin/init splash', 'root       200     1  0 10:05 ?        00:00:00 sleep 60', 'root       201   200  0 10:05 ?        00:00:00 sh -c a  b', ''].join('\n');
  it("keeps the container's pids, the last column with its words", () => {
    expect(parsePsOutput(ps, [200, 201])).toEqual({
      titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
      processes: [['root', '200', '1', '0', '10:05', '?', '00:00:00', 'sleep 60'], ['root', '201', '200', '0', '10:05', '?', '00:00:00', 'sh -c a b']],
    });
  });
  it('thread lines ("-" PID) follow their process; no PID column is an error', () => {
    const threads = 'PID TID CMD\n200 - sleep\n- 200 -\n300 - other\n- 300 -\n';
    expect(parsePsOutput(threads, [200]).processes).toEqual([['200', '-', 'sleep'], ['-', '200', '-']]);
    expect(() => parsePsOutput('USER CMD\nroot x\n', [1])).toThrow("Couldn't find PID field in ps output");
  });
  it('refuses renaming a column to PID (except pid=)', () => {
    expect(() => validatePsArgs('-o user=PID')).toThrow('specifying "user=PID" is not allowed');
    expect(() => validatePsArgs('-o pid=PID')).not.toThrow();
  });
});
