/**
 * Living next to Docker. Docker sets the iptables FORWARD policy to DROP, which drops every
 * bridged/routed packet of other runtimes; an accept in our own nft table cannot override a
 * drop in another table. So when (and only when) FORWARD's policy is DROP, tsdocker inserts
 * two narrow ACCEPT rules per bridge of its own, tagged with a comment, and deletes exactly
 * those when the network goes: traffic from our bridge, and traffic to it that is a reply or
 * a published port (ctstate RELATED,ESTABLISHED,DNAT). Never a flush, never a policy change.
 */
import { exec } from '../sys/exec.js';
import { log } from '../sys/log.js';
import { readHostSettings, writeHostSettings } from './store.js';

const clog = log.child({ mod: 'net.compat' });

function specs(br: string): string[][] {
  const tag = ['-m', 'comment', '--comment', `tsdocker:${br}`];
  return [
    ['-i', br, ...tag, '-j', 'ACCEPT'],
    ['-o', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED,DNAT', ...tag, '-j', 'ACCEPT'],
  ];
}

export async function forwardPolicyDrops(): Promise<boolean> {
  try {
    const r = await exec(['iptables', '-w', '-S', 'FORWARD'], { okCodes: [0, 1, 2, 3, 4] });
    return r.code === 0 && /^-P FORWARD DROP$/m.test(r.stdout);
  } catch {
    return false; // no iptables on this host: nothing of that kind can drop us
  }
}

export async function allowBridgeThroughForward(br: string): Promise<void> {
  if (!(await forwardPolicyDrops())) return;
  let inserted = 0;
  for (const spec of specs(br)) {
    const c = await exec(['iptables', '-w', '-C', 'FORWARD', ...spec], { okCodes: [0, 1, 2] });
    if (c.code !== 0) {
      await exec(['iptables', '-w', '-I', 'FORWARD', ...spec]);
      inserted++;
    }
  }
  if (!inserted) return;
  const h = readHostSettings();
  writeHostSettings({ ...h, iptablesAccept: [...new Set([...(h.iptablesAccept ?? []), br])] });
  clog.warn(
    { bridge: br },
    `iptables FORWARD policy is DROP (Docker?): inserted 2 ACCEPT rules for ${br} (comment "tsdocker:${br}"); they go when the network is removed`,
  );
}

export async function removeBridgeAccept(br: string): Promise<void> {
  const h = readHostSettings();
  if (!(h.iptablesAccept ?? []).includes(br)) return;
  for (const spec of specs(br)) {
    for (let i = 0; i < 8; i++) {
      const r = await exec(['iptables', '-w', '-D', 'FORWARD', ...spec], { okCodes: [0, 1, 2] }).catch(() => ({ code: 1 }));
      if (r.code !== 0) break;
    }
  }
  writeHostSettings({ ...readHostSettings(), iptablesAccept: (h.iptablesAccept ?? []).filter((b) => b !== br) });
}
