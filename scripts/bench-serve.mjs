#!/usr/bin/env node
// Load test for `gateway serve` on loopback: N concurrent WebSocket streams replay fixture
// utterances at real time for a bounded soak, and the bench reports turn latency (p50/p95
// of the server's end-of-speech-to-reply), errors, how far behind real time the server fell
// (audio the clients could not hand over), and the server's resident memory.
//
//   node scripts/bench-serve.mjs [--streams 10[,20,...]] [--seconds 60] [--mode push_to_talk|wake_word]
//                                [--url http://127.0.0.1:4000 --token-file .desktop_jwt]
//
// Without --url it starts its own `gateway serve` (dist/, run `npm run build` first) with
// fresh keys in a temporary folder. Several stream counts run one after the other.
// BENCH_DEBUG=1 prints every turn's decision, transcript and stage timings on stderr.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '60' },
    mode: { type: 'string', default: 'push_to_talk' },
    url: { type: 'string' },
    'token-file': { type: 'string' },
  },
});
const LEVELS = values.streams.split(',').map(Number);
const SECONDS = Number(values.seconds);
const MODE = values.mode;
const FRAME_MS = 100;
const FRAME_BYTES = 3_200; // 100 ms of 16 kHz PCM16
const UTTERANCES = path.join(ROOT, 'fixtures/utterances');
const FIXTURES = readdirSync(UTTERANCES)
  .filter((f) => /^(breaker_close|calendar_|followup_confirm|breaker_open)/.test(f))
  .map((f) => {
    const buf = readFileSync(path.join(UTTERANCES, f));
    return { file: f, pcm: buf.subarray(buf.indexOf('data') + 8) };
  });

function pct(xs, p) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]);
}

async function startServer(streams) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gateway-bench-'));
  const { generateKeys, loadKeyPair } = await import(path.join(ROOT, 'dist/keys/keys.js'));
  const { issueToken } = await import(path.join(ROOT, 'dist/auth/tokens.js'));
  generateKeys(path.join(dir, 'keys'));
  writeFileSync(path.join(dir, 'gateway.toml'), [
    `keys_dir = "${dir}/keys"`, `state_path = "${dir}/state.db"`,
    `audit_path = "${dir}/audit.jsonl"`, 'log_level = "warn"',
    '[connectors.calendar]', `ics_path = "${ROOT}/fixtures/calendar.ics"`,
    '[server.limits]', `concurrent_streams = ${streams}`, 'requests_per_minute = 100000',
  ].join('\n'));
  const { secretKey } = loadKeyPair(path.join(dir, 'keys'), 'token');
  const token = issueToken(secretKey, {
    sub: 'bench', tiers: ['safe', 'elevated', 'dangerous', 'critical'], ttlS: 86_400,
  });
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/gateway.js'), 'serve',
    '--config', path.join(dir, 'gateway.toml'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (c) => reject(new Error(`gateway serve exited ${c}`)));
  });
  return {
    url, token,
    async stop() {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One stream: replays fixtures at real time until the deadline, recording what it sees. */
async function runStream(url, token, index, deadline, stats) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/stream`,
    { headers: { Authorization: `Bearer ${token}` } });
  ws.on('message', (d, bin) => {
    if (bin) return;
    const e = JSON.parse(d.toString());
    if (e.type === 'result') {
      stats.turns += 1;
      if (typeof e.latency_ms === 'number') stats.latencies.push(e.latency_ms);
      if (process.env.BENCH_DEBUG) console.error(e.decision, e.transcript, JSON.stringify(e.timings));
      if (e.decision === 'confirmation_requested' || e.decision === 'answered'
        || e.outcome) stats.understood += 1;
    } else if (e.type === 'error') {
      stats.errors.push(e.code);
    }
  });
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  try {
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
  } catch (err) {
    stats.errors.push(`connect: ${err.message}`);
    return;
  }
  ws.send(JSON.stringify({ type: 'start', sample_rate: 16_000, mode: MODE }));
  const t0 = performance.now();
  let sent = 0; // ms of audio handed to the socket
  let k = index;
  const silence = Buffer.alloc(FRAME_BYTES * 15); // 1.5 s between utterances
  while (Date.now() < deadline && ws.readyState === WebSocket.OPEN) {
    const fixture = FIXTURES[k++ % FIXTURES.length];
    const audio = Buffer.concat([fixture.pcm, silence]);
    for (let i = 0; i < audio.length && ws.readyState === WebSocket.OPEN; i += FRAME_BYTES) {
      ws.send(audio.subarray(i, i + FRAME_BYTES));
      sent += FRAME_MS;
      // Audio the server has not taken yet (TCP backpressure) is how far it is behind.
      stats.maxBacklogMs = Math.max(stats.maxBacklogMs, ws.bufferedAmount / 32);
      const wait = t0 + sent - performance.now();
      if (wait > 0) await sleep(wait);
      else stats.lateFrames += 1;
    }
  }
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'end' }));
  const code = await Promise.race([closed, sleep(20_000).then(() => 'timeout')]);
  if (code !== 1000) stats.errors.push(`close ${code}`);
  ws.terminate();
}

async function memoryOf(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^gateway_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function level(n, server) {
  const stats = { turns: 0, understood: 0, latencies: [], errors: [], maxBacklogMs: 0,
    lateFrames: 0 };
  const deadline = Date.now() + SECONDS * 1000;
  let maxRss = await memoryOf(server.url);
  const sampler = setInterval(() => {
    memoryOf(server.url).then((m) => { maxRss = Math.max(maxRss, m); }, () => {});
  }, 2_000);
  await Promise.all(Array.from({ length: n }, (_, i) =>
    runStream(server.url, server.token, i, deadline, stats)));
  clearInterval(sampler);
  return {
    streams: n, mode: MODE, seconds: SECONDS, turns: stats.turns, understood: stats.understood,
    p50_ms: pct(stats.latencies, 50), p95_ms: pct(stats.latencies, 95),
    errors: stats.errors.length, error_codes: [...new Set(stats.errors)],
    max_backlog_ms: Math.round(stats.maxBacklogMs), late_frames: stats.lateFrames,
    max_rss_mib: Math.round(maxRss / 1_048_576),
  };
}

const rows = [];
for (const n of LEVELS) {
  const server = values.url
    ? { url: values.url, token: readFileSync(values['token-file'] ?? '.desktop_jwt', 'utf8').trim(),
      stop: async () => {} }
    : await startServer(Math.max(...LEVELS));
  try {
    const row = await level(n, server);
    rows.push(row);
    console.log(JSON.stringify(row));
  } finally {
    await server.stop();
  }
}
mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench-results/bench-serve.json'), `${JSON.stringify(rows, null, 2)}\n`);
