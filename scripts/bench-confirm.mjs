#!/usr/bin/env node
/**
 * Benchmark of the wait a critical action adds after "confirm": the shipped spoken
 * conversation ("hey jarvis, close breaker seven at substation twelve", then "confirm") is
 * played at real speed through `gateway replay --realtime` (the real engines, a signed image
 * installed in a sealed store, a real Modbus server from Debian's pymodbus on loopback). The
 * microVM starts while the read-back is spoken; the turn report says how much of its start
 * was hidden and how much was added after "confirm", measured on the wall clock. Runs with
 * snapshots (restore) and without (cold boot). Prints one table; writes
 * bench-results/bench-confirm.json. Needs `npm run build` first.
 *
 *   node scripts/bench-confirm.mjs [--runs 5] [--cold-runs 3]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const dist = (f) => import(path.join(ROOT, 'dist', f));
const { values } = parseArgs({ options: {
  runs: { type: 'string', default: '5' },
  'cold-runs': { type: 'string', default: '3' },
} });
const RUNS = Math.min(20, Number(values.runs));
const COLD_RUNS = Math.min(10, Number(values['cold-runs']));
const U = path.join(ROOT, 'fixtures/utterances');
const FILES = [path.join(U, 'breaker_close_7_12__en-us_150.wav'),
  path.join(U, 'followup_confirm__en-us+f3_185.wav')];

const { buildImage } = await dist('isolation/vm/build.js');
const { signImage } = await dist('isolation/vm/image.js');
const { installImage } = await dist('isolation/vm/store.js');
const { generateKeys, loadKeyPair } = await dist('keys/keys.js');

const say = (s) => process.stderr.write(`bench-confirm: ${s}\n`);
const run = promisify(execFile);
const work = mkdtempSync(path.join(os.tmpdir(), 'gw-bench-confirm-'));

function pct(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the Modbus server did not listen on ${port}`);
}

function config(name, port, snapshots) {
  const file = path.join(work, `${name}.toml`);
  writeFileSync(file, [
    'enable_firecracker_sandbox = true',
    `keys_dir = "${path.join(work, 'keys')}"`,
    `state_path = "${path.join(work, `${name}.db`)}"`,
    `audit_path = "${path.join(work, `${name}-audit.jsonl`)}"`,
    '[microvm]', `store_dir = "${path.join(work, 'store')}"`,
    `snapshots = ${snapshots}`, `snapshot_dir = "${path.join(work, 'snapshots')}"`,
    '[points."breaker 7 at substation 12"]', 'protocol = "modbus"', 'host = "127.0.0.1"',
    `port = ${port}`, 'unit_id = 1', 'kind = "coil"', 'address = 7', '',
  ].join('\n'));
  return file;
}

async function conversation(cfg) {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin/gateway.js'), 'replay',
    '--realtime', '--json', '--config', cfg, '--out', path.join(work, 'replies'), ...FILES],
  { cwd: ROOT, maxBuffer: 16 << 20 });
  const [ask, confirm] = stdout.trim().split('\n').map((l) => JSON.parse(l));
  if (ask?.decision !== 'confirmation_requested' || confirm?.outcome !== 'succeeded') {
    throw new Error(`unexpected turns: ${ask?.decision}/${ask?.reason}, ` +
      `${confirm?.decision}/${confirm?.outcome} ${confirm?.error?.code ?? ''}`);
  }
  return { ...confirm.microvm, promptMs: ask.reply?.durationMs ?? null,
    confirmMs: confirm.input.durationMs, actionMs: confirm.timings.action,
    replyMs: confirm.timings.end_of_speech_to_reply };
}

let modbus = null;
try {
  generateKeys(path.join(work, 'keys'), { purposes: ['image', 'snapshot', 'audit'] });
  const image = loadKeyPair(path.join(work, 'keys'), 'image');
  say('building the image (cached by its inputs)');
  await buildImage({ outDir: path.join(work, 'image') });
  signImage(path.join(work, 'image'), image.secretKey);
  await installImage(path.join(work, 'image'), path.join(work, 'store'), image.publicKey);
  const port = await freePort();
  // Debian's python3, which has pymodbus (another python3 may come first on PATH).
  modbus = spawn('/usr/bin/python3', [path.join(ROOT, 'test/servers/modbus_server.py'), '--host',
    '127.0.0.1', '--port', String(port), '--unit', '1'], { stdio: 'ignore' });
  await waitForPort(port);

  const series = {};
  for (const [mode, snapshots, n] of [['restored', true, RUNS], ['cold', false, COLD_RUNS]]) {
    const cfg = config(mode, port, snapshots);
    // The first conversation with snapshots on boots cold and saves the snapshot.
    if (snapshots) say(`warm-up (makes the snapshot): ${JSON.stringify(await conversation(cfg))}`);
    series[mode] = [];
    for (let i = 0; i < n; i++) {
      const r = await conversation(cfg);
      series[mode].push(r);
      say(`${mode} ${i + 1}/${n}: ${r.mode}, ready ${r.startMs} ms after launch, hidden ` +
        `${r.hiddenMs} ms, added ${r.addedWaitMs} ms`);
    }
  }
  const summary = Object.fromEntries(Object.entries(series).map(([k, rs]) => [k, {
    n: rs.length,
    startMs: { p50: pct(rs.map((r) => r.startMs), 50), p95: pct(rs.map((r) => r.startMs), 95) },
    hiddenMs: { p50: pct(rs.map((r) => r.hiddenMs), 50), p95: pct(rs.map((r) => r.hiddenMs), 95) },
    addedWaitMs: { p50: pct(rs.map((r) => r.addedWaitMs), 50),
      p95: pct(rs.map((r) => r.addedWaitMs), 95) },
    actionMs: { p50: pct(rs.map((r) => r.actionMs), 50), p95: pct(rs.map((r) => r.actionMs), 95) },
    replyMs: { p50: pct(rs.map((r) => r.replyMs), 50), p95: pct(rs.map((r) => r.replyMs), 95) },
    promptMs: rs[0]?.promptMs ?? null, runs: rs,
  }]));
  console.log('\nwait added after "confirm" (spoken breaker conversation at real speed, ' +
    'wall clock)');
  console.log('VM start   n   launch-to-ready p50/p95   hidden p50/p95   added p50/p95 (ms)');
  for (const [k, s] of Object.entries(summary)) {
    console.log(`${k.padEnd(9)} ${String(s.n).padStart(2)}   ${String(s.startMs.p50).padStart(8)} / ` +
      `${String(s.startMs.p95).padEnd(8)}   ${String(s.hiddenMs.p50).padStart(6)} / ` +
      `${String(s.hiddenMs.p95).padEnd(6)}   ${String(s.addedWaitMs.p50).padStart(5)} / ` +
      `${s.addedWaitMs.p95}`);
  }
  console.log(`(read-back prompt ${summary.restored?.promptMs ?? '?'} ms long; target: at most ` +
    '100 ms added after "confirm")');
  console.log('after "confirm": the action itself (write + read-back in the VM) and speaker stops ' +
    '-> reply audio ready');
  for (const [k, s] of Object.entries(summary)) {
    console.log(`${k.padEnd(9)} action p50 ${s.actionMs.p50} / p95 ${s.actionMs.p95} ms, ` +
      `reply p50 ${s.replyMs.p50} / p95 ${s.replyMs.p95} ms`);
  }
  mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench-results', 'bench-confirm.json'),
    `${JSON.stringify({ when: new Date().toISOString(), load: os.loadavg(), summary }, null, 1)}\n`);
} finally {
  modbus?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
