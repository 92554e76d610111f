/**
 * Living next to Docker. Docker sets the iptables FORWARD policy to DROP, which drops every
 * bridged/routed packet of other runtimes; an accept in our own nft table cannot override a
 * drop in another table. So when (and only when) FORWARD's policy is DROP, tsdocker inserts
 * two narrow ACCEPT rules per bridge of its own, tagged with a comment, and deletes exactly
 * those when the network goes: traffic from our bridge, and traffic to it that is a reply or
 * a published port (ctstate RELATED,ESTABLISHED,DNAT). Never a flush, never a policy change.
 */
import { readFileSync } from 'node:fs';
import { exec } from '../sys/exec.js';
import { log } from '../sys/log.js';
import { NET_LOCK, readHostSettings, writeHostSettings } from './store.js';
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

/** `callerHoldsNetLock`: called from inside the net lock (network setup), so do not take it. */
export async function allowBridgeThroughForward(br: string, callerHoldsNetLock = false): Promise<void> {
  for (const bin of backends()) {
    if (!(await forwardPolicyDrops(bin))) continue;
    // inserting (rare) is serialised with other network changes; checking is not
    await (callerHoldsNetLock ? insertAccepts(bin, br) : withLock(NET_LOCK, () => insertAccepts(bin, br)));
  }
}

async function insertAccepts(bin: string, br: string): Promise<void> {
  {
    let inserted = 0;
    for (const spec of specs(br)) {
      const c = await exec([bin, '-w', '-C', 'FORWARD', ...spec], { okCodes: [0, 1, 2] });
      if (c.code !== 0) {
        await exec([bin, '-w', '-I', 'FORWARD', ...spec]);
        inserted++;
      }
    }
    if (!inserted) return;
    const h = readHostSettings();
    writeHostSettings({ ...h, iptablesAccept: [...new Set([...(h.iptablesAccept ?? []), br])] });
    clog.warn(
      { bridge: br, backend: bin },
      `${bin} FORWARD policy is DROP (Docker?): inserted 2 ACCEPT rules for ${br} (comment "tsdocker:${br}"); they go with the bridge`,
    );
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
