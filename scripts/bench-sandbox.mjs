// The dangerous tier's start-up cost: sandbox spawn-to-ready (bubblewrap, helper, Landlock,
// seccomp, Node.js loading the worker) against the same worker started as a plain child,
// over a bounded number of runs, and the resident memory of one worker.
// Run alone with `node scripts/bench-sandbox.mjs`, or as the sandbox section of bench.mjs.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { runSandboxed } = await import(`${root}/dist/isolation/sandbox/run.js`);
const { probeSandbox } = await import(`${root}/dist/isolation/sandbox/probe.js`);
const { FrameReader, encodeFrame } = await import(`${root}/dist/isolation/sandbox/frame.js`);
const { workerRuntimePath } = await import(`${root}/dist/isolation/sandbox/paths.js`);
const { createLogger } = await import(`${root}/dist/log.js`);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function rssOf(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The Node.js process somewhere below bubblewrap's pid. */
function nodeBelow(pid, depth = 0) {
  if (depth > 6) return null;
  let kids;
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return null;
  }
  for (const k of kids) {
    try {
      if (readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'node') return k;
    } catch { /* gone */ }
    const deeper = nodeBelow(k, depth + 1);
    if (deeper) return deeper;
  }
  return null;
}

/** The same worker runtime as a plain child: ready frame, request, response. */
function plainRun(modulePath) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // Same flags and the same clean environment as inside the sandbox, so only the sandbox
    // differs (an inherited NODE_EXTRA_CA_CERTS alone costs ~30 ms here).
    const child = spawn(process.execPath, ['--max-old-space-size=192',
      '--disallow-code-generation-from-strings', workerRuntimePath(), modulePath, '/nonexistent'],
    { stdio: ['pipe', 'pipe', 'inherit'],
      env: { TZ: 'UTC', HOME: '/nonexistent', OPENSSL_CONF: '/dev/null' } });
    const reader = new FrameReader();
    let readyMs = null;
    let rss = 0;
    child.stdout.on('data', (chunk) => {
      const frames = reader.push(chunk);
      if (frames.length > 0) {
        if (readyMs === null) {
          readyMs = performance.now() - t0;
          rss = rssOf(child.pid);
          child.stdin.end(encodeFrame({ action: 'ping', input: {}, settings: {}, secrets: {},
            now: new Date().toISOString(), timeZone: 'UTC', principal: 'bench' }));
        }
      }
    });
    child.once('error', reject);
    child.once('close', () => resolve({ readyMs, totalMs: performance.now() - t0, rss }));
  });
}

export async function benchSandbox(runs = Number(process.env.BENCH_SANDBOX_RUNS ?? 20)) {
  const probe = await probeSandbox();
  if (probe.unavailable) return { unavailable: probe.unavailable };
  const dir = mkdtempSync('/var/tmp/gw-bench-');
  chmodSync(dir, 0o755);
  const modulePath = path.join(dir, 'worker.mjs');
  writeFileSync(modulePath, "export const connector = { name: 'bench', " +
    "run: async () => ({ speech: 'ok' }) };\n", { mode: 0o644 });
  const log = createLogger({ level: 'silent' });
  const sandboxed = { ready: [], total: [], rss: [] };
  const plain = { ready: [], total: [], rss: [] };
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      let rss = 0;
      const r = await runSandboxed({ connector: 'bench', action: 'ping', input: {}, modulePath,
        endpoints: [], settings: {}, secrets: {}, now: new Date(), timeZone: 'UTC',
        principal: 'bench', signal: new AbortController().signal, deadlineMs: 60_000, log,
        bwrap: probe.bwrap, cgroupNs: probe.cgroupNs,
        onReady: (pid) => { const n = nodeBelow(pid); rss = n ? rssOf(n) : 0; } });
      if (r.outcome !== 'succeeded') throw new Error(`sandboxed run failed: ${JSON.stringify(r)}`);
      sandboxed.ready.push(r.readyMs);
      sandboxed.total.push(performance.now() - t0);
      sandboxed.rss.push(rss);
      const p = await plainRun(modulePath);
      plain.ready.push(p.readyMs);
      plain.total.push(p.totalMs);
      plain.rss.push(p.rss);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const sum = (x) => ({ p50: +pct(x, 50).toFixed(1), p95: +pct(x, 95).toFixed(1) });
  const mib = (x) => +(pct(x, 50) / 1024 / 1024).toFixed(1);
  return {
    runs,
    sandbox_ready_ms: sum(sandboxed.ready), sandbox_call_ms: sum(sandboxed.total),
    plain_ready_ms: sum(plain.ready), plain_call_ms: sum(plain.total),
    ready_ratio_p50: +(pct(sandboxed.ready, 50) / pct(plain.ready, 50)).toFixed(2),
    worker_rss_mib: mib(sandboxed.rss), plain_rss_mib: mib(plain.rss),
  };
}

export function printSandbox(s) {
  if (s.unavailable) {
    console.log(`sandbox: not measured (${s.unavailable})`);
    return;
  }
  console.log(`sandbox (dangerous tier), ${s.runs} runs each       p50     p95`);
  console.log(`  spawn to ready, sandboxed (ms)        ${String(s.sandbox_ready_ms.p50).padStart(7)} ${String(s.sandbox_ready_ms.p95).padStart(7)}`);
  console.log(`  spawn to ready, plain child (ms)      ${String(s.plain_ready_ms.p50).padStart(7)} ${String(s.plain_ready_ms.p95).padStart(7)}`);
  console.log(`  whole call, sandboxed (ms)            ${String(s.sandbox_call_ms.p50).padStart(7)} ${String(s.sandbox_call_ms.p95).padStart(7)}`);
  console.log(`  ready ratio sandboxed / plain (p50)   ${s.ready_ratio_p50}`);
  console.log(`  worker RSS (MiB, p50): sandboxed ${s.worker_rss_mib}, plain ${s.plain_rss_mib}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printSandbox(await benchSandbox());
}
