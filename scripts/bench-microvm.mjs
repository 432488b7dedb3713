#!/usr/bin/env node
/**
 * Benchmark of the critical tier's microVMs with real components (QEMU, the signed image, a
 * signed snapshot): cold boot to agent ready and snapshot restore to (reseeded) agent ready,
 * p50/p95; resident memory of one QEMU (memory per VM); the most VMs that complete an
 * action concurrently without error (1, 2, 4, 8, 16: stops at the first error). Prints one
 * table and writes bench-results/bench-microvm.json. Needs `npm run build` first.
 *
 *   node scripts/bench-microvm.mjs [--cold 10] [--restore 10] [--max-concurrent 16]
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const dist = (f) => import(path.join(ROOT, 'dist', f));
const { values } = parseArgs({ options: {
  cold: { type: 'string', default: '10' },
  restore: { type: 'string', default: '10' },
  'max-concurrent': { type: 'string', default: '16' },
} });
const COLD = Math.min(50, Number(values.cold));
const RESTORE = Math.min(100, Number(values.restore));
const MAX_CONCURRENT = Math.min(16, Number(values['max-concurrent']));

const { buildImage } = await dist('isolation/vm/build.js');
const { signImage } = await dist('isolation/vm/image.js');
const { generateKeys, loadKeyPair } = await dist('keys/keys.js');
const { createLogger } = await dist('log.js');
const { Firelog } = await dist('isolation/vm/firelog.js');
const { runInVm } = await dist('isolation/vm/run.js');
const { launchVm } = await dist('isolation/vm/launch.js');

const work = mkdtempSync(path.join(os.tmpdir(), 'gw-bench-microvm-'));
const imageDir = path.join(work, 'image');
const snapshotDir = path.join(work, 'snapshots');
const say = (s) => process.stderr.write(`bench-microvm: ${s}\n`);

function pct(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]);
}

/** Resident memory (KiB) of the QEMU processes booted from this bench's image. */
function qemuRssKiB() {
  const out = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(imageDir)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      if (m) out.push(Number(m[1]));
    } catch {
      // gone
    }
  }
  return out;
}

try {
  generateKeys(path.join(work, 'keys'), { purposes: ['image', 'snapshot'] });
  const image = loadKeyPair(path.join(work, 'keys'), 'image');
  const snapshotKey = loadKeyPair(path.join(work, 'keys'), 'snapshot');
  say('building the image (cached by its inputs)');
  await buildImage({ outDir: imageDir,
    extraConnectors: { vmrand: path.join(ROOT, 'test/fixtures/connectors/vmrand') } });
  signImage(imageDir, image.secretKey);
  const base = { connector: 'vmrand', endpoints: [], imageDir, publicKey: image.publicKey,
    bootDeadlineMs: 300_000, log: createLogger({ level: 'silent' }),
    firelog: new Firelog(path.join(work, 'firecracker.log')) };
  const req = (text) => ({ action: 'echo', input: { text }, settings: {}, secrets: {},
    now: new Date(), timeZone: 'UTC', principal: 'bench', signal: new AbortController().signal,
    actionDeadlineMs: 120_000 });
  const once = async (over, text) => {
    const r = await runInVm({ ...base, ...over, ...req(text) });
    if (r.outcome !== 'succeeded') throw new Error(`${r.error?.code}: ${r.error?.message}`);
    return r;
  };

  const cold = [];
  for (let i = 0; i < COLD; i++) {
    cold.push((await once({}, `cold ${i}`)).bootMs);
    say(`cold boot ${i + 1}/${COLD}: ${Math.round(cold.at(-1))} ms`);
  }
  const snap = { snapshotDir, snapshotKey };
  const first = await once(snap, 'make the snapshot');
  say(`snapshot made (cold boot ${Math.round(first.bootMs)} ms)`);
  const restored = [];
  for (let i = 0; i < RESTORE; i++) {
    const r = await once(snap, `restore ${i}`);
    if (r.mode !== 'restored') throw new Error(`expected a restore, got ${r.mode}`);
    restored.push(r.bootMs);
    say(`restore ${i + 1}/${RESTORE}: ${Math.round(r.bootMs)} ms`);
  }

  // Memory per VM: one restored and one cold VM, ready and idle.
  const rss = {};
  for (const [what, over] of [['restored', snap], ['cold', {}]]) {
    const h = launchVm({ ...base, ...over });
    await h.ready;
    await new Promise((r) => setTimeout(r, 500));
    rss[what] = Math.max(0, ...qemuRssKiB());
    await h.destroy();
  }

  const concurrency = [];
  for (let n = 1; n <= MAX_CONCURRENT; n *= 2) {
    const t0 = performance.now();
    const rs = await Promise.allSettled(Array.from({ length: n }, (_, i) =>
      once(snap, `parallel ${i}`)));
    const errors = rs.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
    concurrency.push({ n, ok: errors.length === 0, ms: Math.round(performance.now() - t0),
      errors: errors.slice(0, 3) });
    say(`${n} concurrent: ${errors.length ? `${errors.length} failed` : 'all completed'}`);
    if (errors.length) break;
  }
  const maxOk = Math.max(0, ...concurrency.filter((c) => c.ok).map((c) => c.n));

  const results = {
    when: new Date().toISOString(), cores: os.cpus().length, load: os.loadavg(),
    coldBootMs: { n: cold.length, p50: pct(cold, 50), p95: pct(cold, 95),
      all: cold.map(Math.round) },
    restoreMs: { n: restored.length, p50: pct(restored, 50), p95: pct(restored, 95),
      all: restored.map(Math.round) },
    qemuRssMiB: { restored: Math.round(rss.restored / 1024), cold: Math.round(rss.cold / 1024) },
    concurrency, maxConcurrentOk: maxOk,
    targets: { restoreP50Ms: 150, coldBootMs: 3500 },
  };
  const rows = [
    ['measure', 'p50', 'p95', 'target'],
    ['cold boot to agent ready (ms)', results.coldBootMs.p50, results.coldBootMs.p95, '<= 3500'],
    ['restore to reseeded agent ready (ms)', results.restoreMs.p50, results.restoreMs.p95,
      'p50 <= 150'],
    ['RSS of one QEMU, restored / cold (MiB)',
      `${results.qemuRssMiB.restored} / ${results.qemuRssMiB.cold}`, '', ''],
    ['most concurrent VMs without error', maxOk, '', `of ${MAX_CONCURRENT} tried`],
  ];
  for (const r of rows) {
    console.log(`${String(r[0]).padEnd(40)} ${String(r[1] ?? '-').padStart(9)} ` +
      `${String(r[2] ?? '-').padStart(7)}  ${r[3]}`);
  }
  mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench-results', 'bench-microvm.json'),
    `${JSON.stringify(results, null, 1)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
