/**
 * `inspect`: containers, images, networks or volumes as JSON, or through a Go template
 * (-f). Without --type each name is looked up as Docker does: container, image, network,
 * volume. `writeInspect` is the output of every `... inspect` command.
 */
import type { Command } from 'commander';
import { out, requireRoot } from './common.js';
import { ExitError, TsdError } from '../../sys/errors.js';
import { writeOut } from '../stdout.js';

type Kind = 'container' | 'image' | 'network' | 'volume';
const KINDS: Kind[] = ['container', 'image', 'network', 'volume'];

/** Print the found objects (JSON array, or the template per object); report the missing ones; exit 1 if any. */
export async function writeInspect(refs: string[], format: string | undefined, find: (ref: string) => Promise<unknown>): Promise<void> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      found.push(await find(ref));
    } catch (err) {
      if (!(err instanceof TsdError)) throw err;
      errors.push(err.message);
    }
  }
  if (format) {
    const { formatInspect } = await import('../template/index.js');
    writeOut(formatInspect(format, found));
  } else out(JSON.stringify(found, null, 4));
  for (const e of errors) process.stderr.write(`Error: ${e}\n`);
  if (errors.length) throw new ExitError(1);
}

async function lookup(kind: Kind, ref: string): Promise<unknown> {
  switch (kind) {
    case 'container': {
      const { findContainer } = await import('../../state/containers.js');
      const { inspectContainer } = await import('../../runtime/inspect.js');
      return inspectContainer(await findContainer(ref));
    }
    case 'image': {
      const { resolveImage, inspectImage } = await import('../../image/index.js');
      return inspectImage(await resolveImage(ref));
    }
    case 'network': {
      const { ensureLayout } = await import('../../state/paths.js');
      ensureLayout();
      const { inspectNetwork } = await import('../../net/networks.js');
      return inspectNetwork(ref);
    }
    case 'volume': {
      const { findVolume } = await import('../../state/volumes.js');
      return findVolume(ref);
    }
  }
}

/** One name of any kind: the first kind that has it, else Docker's "No such object". */
async function lookupAny(ref: string, kinds: Kind[]): Promise<unknown> {
  for (const k of kinds) {
    try {
      return await lookup(k, ref);
    } catch (err) {
      if (!(err instanceof TsdError) || !/NOT_FOUND|BAD_ARGS/.test(err.code)) throw err;
    }
  }
  throw new TsdError('BAD_ARGS', `No such ${kinds.length === 1 ? kinds[0] : 'object'}: ${ref}`, { exitCode: 1 });
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Return low-level information on containers, images, networks or volumes (JSON, or -f TEMPLATE)')
    .argument('<name...>', 'container, image, network or volume (looked up in that order, as Docker does)')
    .option('-f, --format <template>', 'format the output using a Go template, e.g. {{.State.Pid}}')
    .option('-s, --size', 'accepted for compatibility (sizes are not computed)')
    .option('--type <type>', 'only look for this kind: container, image, network or volume')
    .action(async (refs: string[], f: { format?: string; type?: string }) => {
      requireRoot();
      if (f.type !== undefined && !KINDS.includes(f.type as Kind)) {
        throw new TsdError('BAD_ARGS', `"${f.type}" is not a valid value for --type`, { exitCode: 1, hint: `use one of ${KINDS.join(', ')}` });
      }
      await writeInspect(refs, f.format, (ref) => lookupAny(ref, f.type ? [f.type as Kind] : KINDS));
    });
}
