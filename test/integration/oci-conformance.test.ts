/**
 * The OCI conformance suite (opencontainers/runtime-tools' validation programs) against
 * tsdocker-oci and runc on this machine: every program runc runs clean must run clean
 * with tsdocker-oci too, and tsdocker-oci may not print more `not ok` lines than runc.
 * The suite is not part of the project: build it outside the repository (README,
 * "OCI runtime") and point TSDOCKER_RUNTIME_TOOLS at the checkout holding `runtimetest`,
 * `rootfs-amd64.tar.gz` and `validation/*\/*.t`. Without it (or without runc) this file
 * says skipped. It takes minutes: the suite runs ~60 programs per runtime.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT, run } from '../helpers/sandbox.js';

const SUITE = process.env.TSDOCKER_RUNTIME_TOOLS ?? '';
const RUNC = '/usr/sbin/runc';
const ready = process.getuid?.() === 0 && SUITE !== '' && existsSync(join(SUITE, 'runtimetest')) && existsSync(RUNC);

interface Verdict {
  ok: number;
  notOk: number;
  clean: boolean;
}

async function runSuite(runtime: string): Promise<Map<string, Verdict>> {
  const cwd = mkdtempSync(join(tmpdir(), 'tsd-rt-'));
  copyFileSync(join(SUITE, 'runtimetest'), join(cwd, 'runtimetest'));
  copyFileSync(join(SUITE, 'rootfs-amd64.tar.gz'), join(cwd, 'rootfs-amd64.tar.gz'));
  const out = new Map<string, Verdict>();
  try {
    for (const name of readdirSync(join(SUITE, 'validation')).sort()) {
      const prog = join(SUITE, 'validation', name, `${name}.t`);
      if (!existsSync(prog)) continue;
      // a private mount namespace: a program that shares the host's (linux_ns_itype) leaves mounts behind with runc
      const r = await run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `cd ${cwd} && exec ${prog}`], {
        env: { ...process.env, RUNTIME: runtime },
        timeoutMs: 180_000,
      }).catch(() => ({ code: 124, stdout: '', stderr: '' }));
      const lines = r.stdout.split('\n');
      const ok = lines.filter((l) => /^ok\b/.test(l)).length;
      const notOk = lines.filter((l) => /^not ok\b/.test(l)).length;
      out.set(name, { ok, notOk, clean: r.code === 0 && notOk === 0 });
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  return out;
}

describe.skipIf(!ready)('OCI conformance (runtime-tools) against runc', () => {
  it('passes every program runc passes, with no more not-ok lines', async () => {
    const runc = await runSuite(RUNC);
    const ours = await runSuite(join(PROJECT, 'bin', 'tsdocker-oci'));
    const sum = (m: Map<string, Verdict>, k: 'ok' | 'notOk') => [...m.values()].reduce((a, v) => a + v[k], 0);
    const regressions = [...runc].filter(([n, v]) => v.clean && !ours.get(n)?.clean).map(([n]) => n);
    process.stderr.write(
      `runtime-tools: runc ${sum(runc, 'ok')} ok / ${sum(runc, 'notOk')} not ok, ${[...runc.values()].filter((v) => v.clean).length} clean; ` +
        `tsdocker-oci ${sum(ours, 'ok')} ok / ${sum(ours, 'notOk')} not ok, ${[...ours.values()].filter((v) => v.clean).length} clean\n`,
    );
    expect(regressions).toEqual([]);
    expect(sum(ours, 'notOk')).toBeLessThanOrEqual(sum(runc, 'notOk'));
  }, 3_600_000);
});
