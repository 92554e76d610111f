/**
 * What Go's pflag accepts and commander does not, rewritten before commander parses:
 * a boolean flag with a value (`--rm=true`, `--tty=false`, `-d=false`, any value
 * strconv.ParseBool takes; the last occurrence wins, as in pflag), and an unknown command
 * followed by `--help`, which is the unknown command's error, not the top-level help.
 */
import type { Command, Option } from 'commander';
import { TsdError } from '../sys/errors.js';

const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

function optionFor(cmd: Command, flag: string): Option | undefined {
  return cmd.options.find((o) => o.long === flag || o.short === flag);
}

const isBoolean = (o: Option) => !o.required && !o.optional;

function pflagName(o: Option): string {
  return o.short ? `${o.short}, ${o.long}` : (o.long ?? '');
}

/** Drop the flag's earlier occurrences (and its letter from clusters such as -it). */
function dropEarlier(out: string[], o: Option): string[] {
  const letter = o.short?.slice(1);
  return out.flatMap((a) => {
    if (a === o.long || a === o.short) return [];
    if (letter && /^-[a-zA-Z]{2,}$/.test(a) && a.includes(letter)) {
      const rest = a.slice(1).replaceAll(letter, '');
      return rest ? [`-${rest}`] : [];
    }
    return [a];
  });
}

function walk(cmd: Command, args: string[]): string[] {
  let out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return [...out, ...args.slice(i)];
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const o = optionFor(cmd, eq > 0 ? a.slice(0, eq) : a);
      if (o && eq > 0 && isBoolean(o)) {
        const value = a.slice(eq + 1);
        if (!TRUE.includes(value) && !FALSE.includes(value)) {
          throw new TsdError('BAD_ARGS', `invalid argument "${value}" for "${pflagName(o)}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`, {
            hint: 'a boolean flag takes true or false (1, t, T, TRUE, True, 0, f, F, FALSE, False)',
          });
        }
        out = dropEarlier(out, o);
        const negated = o.long && !o.negate ? cmd.options.find((x) => x.negate && x.long === `--no-${o.long!.slice(2)}`) : undefined;
        if (TRUE.includes(value)) out.push(o.long ?? o.short!);
        else if (negated) out.push(negated.long!); // a flag that defaults to true (--pause=false)
        continue;
      }
      out.push(a);
      // the value of `--name X` / `-n X` is the next argument, whatever it looks like
      if (o && o.required && eq < 0 && (a === o.long || a === o.short) && i + 1 < args.length) out.push(args[++i]!);
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (sub) return [...out, a, ...walk(sub, args.slice(i + 1))];
    if (cmd.commands.length && a !== 'help') {
      // an unknown command: its error, even with --help after it
      return [...out, ...args.slice(i).filter((x) => x !== '--help' && x !== '-h')];
    }
    // with passThroughOptions (run, exec, top), what follows the first operand is not ours
    if ((cmd as unknown as { _passThroughOptions?: boolean })._passThroughOptions) return [...out, ...args.slice(i)];
    out.push(a);
  }
  return out;
}

export function normalizeArgv(program: Command, argv: string[]): string[] {
  return [...argv.slice(0, 2), ...walk(program, argv.slice(2))];
}
