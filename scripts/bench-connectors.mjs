#!/usr/bin/env node
// Per-action latency of every connector in the tier its manifest names, through the real
// executor from dist/: safe and elevated in process, dangerous in the sandbox, critical in a
// microVM booted from a freshly built and signed image (boot included: that is the cost of
// the tier). Each action runs against the local stand-in server the tests use (loaded from
// test/support through Vite). Bounded: BENCH_VM_RUNS (default 5) per critical action,
// BENCH_RUNS (default 20) per other action. The critical tier restores a signed snapshot, as
// shipped (BENCH_SNAPSHOTS=0: cold boots). The VM is launched at the run, so its start and
// the connector's module import are counted in full here; in a conversation both happen
// while the read-back is spoken (scripts/bench-confirm.mjs measures that).
// Prints one table; writes bench-results/connectors.json.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const VM_RUNS = Number(process.env.BENCH_VM_RUNS ?? 5);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const SNAPSHOTS = process.env.BENCH_SNAPSHOTS !== '0';

const { validateConfig } = await import('../dist/config/load.js');
const { createConnectors, sandboxPlans } = await import('../dist/connectors/registry.js');
const { Executor, DEFAULT_ACTION_TIMEOUT_MS } = await import('../dist/isolation/executor.js');
const { buildImage } = await import('../dist/isolation/vm/build.js');
const { signImage } = await import('../dist/isolation/vm/image.js');
const { generateKeys, loadKeyPair } = await import('../dist/keys/keys.js');
const { createLogger } = await import('../dist/log.js');

const vite = await createServer({ server: { middlewareMode: true, hmr: false, ws: false },
  appType: 'custom', logLevel: 'silent', optimizeDeps: { noDiscovery: true, include: [] } });
const load = (f) => vite.ssrLoadModule(`/test/support/${f}`);
const { BinanceServer } = await load('binance-server.ts');
const { PlaidServer } = await load('plaid-server.ts');
const { PLAID_ACCOUNTS } = await load('plaid-accounts.ts');
const { SmartcarServer } = await load('smartcar-server.ts');
const { Dnp3Outstation } = await load('dnp3-outstation.ts');
const { WhatsAppServer } = await load('whatsapp-server.ts');

const work = mkdtempSync(path.join(os.tmpdir(), 'gw-bench-connectors-'));
const secrets = {
  BINANCE_API_KEY: 'bench-bn-key', BINANCE_SECRET_KEY: 'bench-bn-secret',
  PLAID_SECRET: 'bench-plaid-secret', PLAID_ACCESS_TOKEN: 'access-sandbox-bench',
  SMARTCAR_ACCESS_TOKEN: 'bench-sc-token', WHATSAPP_TOKEN: 'bench-wa-token',
};
Object.assign(process.env, secrets);
const CLIENT_ID = '5f1a9c0e7d2b4a0012ab34cd';
const VEHICLE = '36ab27d0-fd9d-4455-823a-ce30af709ffc';
const PHONE_ID = '106540352242922';

const servers = {
  binance: await BinanceServer.start({ apiKey: secrets.BINANCE_API_KEY,
    secretKey: secrets.BINANCE_SECRET_KEY, prices: { BTCUSDT: '40000.00' } }),
  plaid: await PlaidServer.start({ clientId: CLIENT_ID, secret: secrets.PLAID_SECRET,
    accessToken: secrets.PLAID_ACCESS_TOKEN, accounts: PLAID_ACCOUNTS }),
  car: await SmartcarServer.start({ token: secrets.SMARTCAR_ACCESS_TOKEN, vehicleId: VEHICLE,
    make: 'tesla', position: { latitude: 51.5, longitude: -0.14 } }),
  dnp3: await Dnp3Outstation.start({ address: 12, binaryInputs: { 7: false }, crobs: [7] }),
  whatsapp: await WhatsAppServer.start({ token: secrets.WHATSAPP_TOKEN, phoneNumberId: PHONE_ID }),
};

process.stderr.write('building and signing the microVM image (cached by its inputs)...\n');
const keysDir = path.join(work, 'keys');
generateKeys(keysDir);
const imageDir = path.join(work, 'image');
await buildImage({ outDir: imageDir });
signImage(imageDir, loadKeyPair(keysDir, 'image').secretKey);
for (const f of readdirSync(imageDir)) chmodSync(path.join(imageDir, f), 0o444);
chmodSync(imageDir, 0o555);

const config = validateConfig({
  keys_dir: keysDir, enable_firecracker_sandbox: true, vmm: 'qemu',
  microvm: { image_dir: imageDir, snapshots: SNAPSHOTS, warm_pool: 0,
    snapshot_dir: path.join(work, 'snapshots') },
  connectors: {
    calendar: { ics_path: path.join(root, 'fixtures/calendar.ics') },
    binance: { base_url: servers.binance.baseUrl },
    banking_plaid: { base_url: servers.plaid.baseUrl, client_id: CLIENT_ID },
    smart_car_fleet: { api_origin: servers.car.origin, vehicle_id: VEHICLE },
    messaging: { base_url: servers.whatsapp.baseUrl, phone_number_id: PHONE_ID,
      contacts: { night_shift: '+447700900123' } },
  },
  points: { 'breaker 7 at substation 12': { protocol: 'dnp3', host: '127.0.0.1',
    port: servers.dnp3.port, address: 12, index: 7, kind: 'crob' } },
}, '(bench)');
const connectors = createConnectors(config, root);
const executor = new Executor(connectors, config, DEFAULT_ACTION_TIMEOUT_MS,
  { sandboxPlan: sandboxPlans(config, root) });
const log = createLogger({ level: 'silent' });

const money = (amount) => ({ amount, currency: 'USD' });
const CASES = [
  ['calendar', 'agenda', { day: 'tomorrow' }],
  ['binance', 'price', { asset: 'BTC' }],
  ['binance', 'order', { side: 'buy', asset: 'BTC', amount: money(100) }],
  ['banking_plaid', 'balance', { account: 'savings' }],
  ['banking_plaid', 'transfer', { account: 'savings', amount: money(25) }],
  ['smart_car_fleet', 'location', {}],
  ['smart_car_fleet', 'unlock', {}],
  ['scada_dnp3', 'status', { breaker: 7, substation: 12 }],
  ['scada_dnp3', 'operate', { operation: 'close', breaker: 7, substation: 12 }],
  ['messaging', 'send', { contact: 'night_shift', body: 'bench message' }],
];

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const rows = [];
let seq = 0;
for (const [connector, action, input] of CASES) {
  const tier = connectors.get(connector).manifest.actions[action].tier;
  const runs = tier === 'critical' ? VM_RUNS : RUNS;
  const ms = [];
  const boots = [];
  const failures = {};
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const r = await executor.run({ connector, action, input, tier }, {
      now: new Date(), timeZone: 'Europe/London', principal: 'bench', log,
      signal: new AbortController().signal, idempotencyKey: `bench-${process.pid}-${++seq}`,
    });
    const took = performance.now() - started;
    if (r.outcome === 'succeeded') ms.push(took);
    else failures[r.error?.code ?? r.outcome] = (failures[r.error?.code ?? r.outcome] ?? 0) + 1;
    if (r.microvm?.bootMs) boots.push(r.microvm.bootMs);
  }
  ms.sort((a, b) => a - b);
  boots.sort((a, b) => a - b);
  const row = { action: `${connector}.${action}`, tier, runs, ok: ms.length,
    p50: quantile(ms, 0.5), p95: quantile(ms, 0.95), bootP50: quantile(boots, 0.5), failures };
  rows.push(row);
  process.stderr.write(`${row.action}: ${ms.length}/${runs} ok\n`);
}

const fmt = (v) => (v === null ? '-' : String(Math.round(v)));
const header = ['action', 'tier', 'ok/runs', 'p50 ms', 'p95 ms', 'VM boot p50 ms', 'failures'];
const table = [header, ...rows.map((r) => [r.action, r.tier, `${r.ok}/${r.runs}`, fmt(r.p50),
  fmt(r.p95), fmt(r.bootP50), Object.entries(r.failures).map(([k, v]) => `${k} x${v}`)
    .join(', ') || '-'])];
const widths = header.map((_, i) => Math.max(...table.map((t) => t[i].length)));
for (const t of table) {
  process.stdout.write(`${t.map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i])
    : c.padEnd(widths[i]))).join('  ')}\n`);
}
const load1 = os.loadavg()[0].toFixed(1);
process.stdout.write(`(critical: a microVM per action, ${SNAPSHOTS ? 'snapshots allowed'
  : 'cold boots'}; QEMU; load average ${load1}; ${os.cpus().length} cores)\n`);

mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/connectors.json', `${JSON.stringify({ when: new Date().toISOString(),
  node: process.version, loadAverage: os.loadavg(), snapshots: SNAPSHOTS, rows }, null, 2)}\n`);

for (const s of Object.values(servers)) await s.close();
await vite.close();
rmSync(work, { recursive: true, force: true });
