/**
 * Living next to Docker. Docker sets the iptables FORWARD policy to DROP, which drops every
 * bridged/routed packet of other runtimes; an accept in our own nft table cannot override a
 * drop in another table. So when (and only when) FORWARD's policy is DROP, tsdocker inserts
 * two narrow ACCEPT rules per bridge of its own, tagged with a comment, and deletes exactly
 * those when the network goes: traffic from our bridge, and traffic to it that is a reply or
 * a published port (ctstate RELATED,ESTABLISHED,DNAT). Never a flush, never a policy change.
 */
import { readFileSync, statSync } from 'node:fs';
import { exec, type ExecResult } from '../sys/exec.js';
import { log } from '../sys/log.js';
import { readJsonIfExistsSync, unlinkIfExistsSync, writeJsonAtomicSync } from '../sys/fs.js';
import { nftForwardDrops, nftGenid } from '../native/index.js';
import { nftRun } from '../native/nftables.js';
import { TsdError } from '../sys/errors.js';
import { NET_LOCK, netFiles, readHostSettings, writeHostSettings } from './store.js';
import { withLock } from '../state/lock.js';

const clog = log.child({ mod: 'net.compat' });

function specs(br: string): string[][] {
  const tag = ['-m', 'comment', '--comment', `tsdocker:${br}`];
  return [
    ['-i', br, ...tag, '-j', 'ACCEPT'],
    ['-o', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED,DNAT', ...tag, '-j', 'ACCEPT'],
  ];
}

/**
 * The iptables front ends whose FORWARD chain may drop us: iptables (iptables-nft on current
 * distributions) always; iptables-legacy only when legacy tables are already in use in this
 * namespace (/proc/net/ip_tables_names non-empty), so checking never loads a module.
 */
function backends(): string[] {
  let legacy = false;
  try {
    legacy = readFileSync('/proc/net/ip_tables_names', 'utf8').trim() !== '';
  } catch {
    /* x_tables not loaded: nothing legacy can drop us */
  }
  return legacy ? ['iptables', 'iptables-legacy'] : ['iptables'];
}

export async function forwardPolicyDrops(bin = 'iptables'): Promise<boolean> {
  try {
    const r = await exec([bin, '-w', '-S', 'FORWARD'], { okCodes: [0, 1, 2, 3, 4] });
    return r.code === 0 && /^-P FORWARD DROP$/m.test(r.stdout);
  } catch {
    return false; // not installed: nothing of that kind can drop us
  }
}

/**
 * The last check that found nothing to do, keyed by boot and network namespace: at nf_tables
 * generation `genid`, FORWARD let these bridges through. With iptables-nft (no legacy tables
 * in use) every change to FORWARD (a policy, a flush, a rule) bumps the generation, so while
 * it is unchanged the check need not run again: no `iptables` process on the start path.
 */
interface ForwardOk {
  key: string;
  genid: number;
  bridges: string[];
}

/** What a commit of ours just saw: the generation it made, and the recorded check then (carried to it). */
export interface ForwardSeen {
  genid: number;
  ok: ForwardOk | undefined;
  /** iptables-nft's FORWARD policy, asked right after the commit (nftForwardDrops) */
  forwardDrops?: boolean | undefined;
}

/** boot id and network namespace: neither changes for a process (no setns on a Node thread) */
let nsKeyMemo: string | undefined;

function nsKey(): string | undefined {
  try {
    nsKeyMemo ??= `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}:${statSync('/proc/self/ns/net').ino}`;
    return nsKeyMemo;
  } catch {
    return undefined;
  }
}

function forwardDrops(): boolean | undefined {
  try {
    return nftForwardDrops();
  } catch {
    return undefined; // no native library: check the slow way
  }
}

function genid(): number | undefined {
  try {
    return nftGenid();
  } catch {
    return undefined; // no native library (a unit context): check the slow way
  }
}

/**
 * `callerHoldsNetLock`: called from inside the net lock (network setup), so do not take it.
 * `seen`: our own commit just made that generation and read the record (carryForwardCheck):
 * neither is asked again.
 */
export async function allowBridgeThroughForward(br: string, callerHoldsNetLock = false, seen?: ForwardSeen): Promise<void> {
  const bins = backends();
  const cacheable = bins.length === 1; // legacy tables change no nf_tables generation
  // no legacy tables: the FORWARD that `iptables -S` shows is nf_tables' `ip filter FORWARD`
  // (iptables-nft), or none (then ACCEPT); its policy is asked over netlink, and while it is
  // not DROP there is nothing to check and nothing to record (an old record is dropped, so
  // the carry after each of our commits reads no file)
  if (cacheable && (seen ? seen.forwardDrops : forwardDrops()) === false) {
    if (seen?.ok) unlinkIfExistsSync(netFiles.forwardOk());
    return;
  }
  const key = cacheable ? nsKey() : undefined;
  const before = key ? (seen?.genid ?? genid()) : undefined;
  const ok = before === undefined ? undefined : seen ? seen.ok : readJsonIfExistsSync<ForwardOk>(netFiles.forwardOk());
  const same = ok !== undefined && key !== undefined && ok.key === key && ok.genid === before;
  if (same && ok.bridges.includes(br)) return;
  let inserted = 0;
  for (const bin of bins) {
    if (!(await forwardPolicyDrops(bin))) continue;
    // inserting (rare) is serialised with other network changes; checking is not
    inserted += await (callerHoldsNetLock ? insertAccepts(bin, br) : withLock(NET_LOCK, () => insertAccepts(bin, br)));
  }
  // recorded only when nothing changed meanwhile (ours or anyone's): the next start after an
  // insertion checks once more, finds the rules, and records that generation
  if (before === undefined || !key || inserted || genid() !== before) return;
  const bridges = same ? [...ok.bridges, br] : [br];
  try {
    writeJsonAtomicSync(netFiles.forwardOk(), { key, genid: before, bridges } satisfies ForwardOk, { durable: false });
  } catch {
    /* the cache is an optimisation */
  }
}

/**
 * Where an nft script runs. `lib`: libnftables in this process (src/native/nftables.ts), for
 * what a start and removal of a container does when its own transactions cannot (guard.ts
 * `bindPort`, dnat.ts `dropContainerRules`: no native library; a removal without a record,
 * which lists the table): no helper process on those paths. `nft`: the command, for the rest
 * (network create and rm, `network reload`, the overlay agent, repairs): once per network or per
 * repair, never per container, where a process costs nobody a wait and the command is the
 * one an administrator reproduces by hand.
 */
export type NftVia = 'lib' | 'nft';

/**
 * `nft -f -` of `input`, by `via`; a code outside `okCodes` throws as `exec` does. `json`: one
 * command whose output is wanted as JSON (`nft -j list ...`: the command reads it from its
 * arguments, as `nft -j -f -` prints nothing for a list).
 */
export async function nftScript(input: string, okCodes: number[] = [0], via: NftVia = 'nft', json = false): Promise<ExecResult> {
  const argv = json ? ['nft', '-j', ...input.trim().split(/\s+/)] : ['nft', '-f', '-'];
  const inProcess = via === 'lib' ? nftRun(input, { json }) : undefined;
  if (!inProcess) return exec(argv, json ? { okCodes } : { input, okCodes });
  const r = await inProcess;
  if (!okCodes.includes(r.code)) {
    const detail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join('; ');
    throw new TsdError('CMD_FAILED', `${argv.join(' ')} (libnftables): exit ${r.code}${detail ? `: ${detail}` : ''}`);
  }
  return r;
}

/**
 * `nft -f -` of tsdocker's own rules (which never touch FORWARD). When the batch was the
 * only change to the ruleset (the generation moved by exactly its one commit), the
 * FORWARD check recorded before it still holds, and is carried to the new generation:
 * otherwise every start's own batch would make the next start check again.
 */
export async function nftBatch(input: string, okCodes: number[] = [0], via: NftVia = 'nft'): Promise<ExecResult> {
  const g0 = genid();
  const r = await nftScript(input, okCodes, via);
  if (g0 === undefined) return r;
  const g1 = genid();
  if (g1 === g0 + 1 && r.code === 0) carryForwardCheck(g0, g1);
  return r;
}

/** A native call's result (a transaction of native/src/nftguard.c), or undefined without the native library (a unit context: nft's way then). */
export function native(call: () => number): number | undefined {
  try {
    return call();
  } catch {
    return undefined;
  }
}

/** The generation after G (the kernel skips 0 when it wraps). */
export const after = (g: number): number => (g + 1) % 2 ** 32 || 1;

/**
 * Our commit took the ruleset from generation g0 to g1 = g0 + 1, the only change between: a
 * FORWARD check recorded at g0 holds at g1, and is recorded so. Returns what the next check
 * needs (the generation and the record), so it asks neither again.
 */
export function carryForwardCheck(g0: number, g1: number): ForwardSeen {
  let ok = readJsonIfExistsSync<ForwardOk>(netFiles.forwardOk());
  if (ok?.genid === g0) {
    ok = { ...ok, genid: g1 };
    try {
      writeJsonAtomicSync(netFiles.forwardOk(), ok, { durable: false });
    } catch {
      /* the cache is an optimisation */
    }
  }
  return { genid: g1, ok };
}

async function insertAccepts(bin: string, br: string): Promise<number> {
  {
    let inserted = 0;
    for (const spec of specs(br)) {
      const c = await exec([bin, '-w', '-C', 'FORWARD', ...spec], { okCodes: [0, 1, 2] });
      if (c.code !== 0) {
        await exec([bin, '-w', '-I', 'FORWARD', ...spec]);
        inserted++;
      }
    }
    if (!inserted) return 0;
    const h = readHostSettings();
    writeHostSettings({ ...h, iptablesAccept: [...new Set([...(h.iptablesAccept ?? []), br])] });
    clog.warn(
      { bridge: br, backend: bin },
      `${bin} FORWARD policy is DROP (Docker?): inserted 2 ACCEPT rules for ${br} (comment "tsdocker:${br}"); they go with the bridge`,
    );
    return inserted;
  }
}

export async function removeBridgeAccept(br: string): Promise<void> {
  const h = readHostSettings();
  if (!(h.iptablesAccept ?? []).includes(br)) return;
  for (const bin of backends()) {
    for (const spec of specs(br)) {
      for (let i = 0; i < 8; i++) {
        const r = await exec([bin, '-w', '-D', 'FORWARD', ...spec], { okCodes: [0, 1, 2] }).catch(() => ({ code: 1 }));
        if (r.code !== 0) break;
      }
    }
  }
  writeHostSettings({ ...readHostSettings(), iptablesAccept: (h.iptablesAccept ?? []).filter((b) => b !== br) });
}
