/**
 * The world the escape suite attacks: the malicious connector built into a private folder,
 * files it must not read or write, and loopback servers that count what reaches them.
 * Everything lives on 127.0.0.1 or in folders this helper creates, and is removed after.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { validateConfig } from '../../src/config/load.js';
import type { ActionContext, ConnectorManifest, RegisteredConnector } from '../../src/connectors/types.js';
import { Executor, type ExecutorOptions } from '../../src/isolation/executor.js';
import type { Layers, Limits } from '../../src/isolation/sandbox/bwrap.js';
import { sandboxHelperPath, workerRuntimePath } from '../../src/isolation/sandbox/paths.js';
import { createLogger } from '../../src/log.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(ROOT, 'test/fixtures/connectors/evil');
export const SECRET = 'evil-test-secret-0123456789';

export const ACTIONS = ['ping', 'echo', 'hang', 'flood', 'secret', 'leak_secret', 'env', 'tcp_direct',
  'broker_other_port', 'dns', 'read_shadow', 'read_config', 'read_secret', 'write_outside',
  'write_tmp', 'fork_bomb', 'spawn', 'alloc', 'spin', 'ptrace', 'mount', 'unshare',
  'userns', 'raw_socket'] as const;
export type EvilAction = (typeof ACTIONS)[number];

export interface EvilWorld {
  readonly modulePath: string;
  readonly writePath: string;
  readonly secretPath: string;
  readonly configPath: string;
  /** Connections the loopback listener accepted (it must stay 0 under any layer). */
  listenerHits: () => number;
  dnsQueries: () => number;
  echoLines: () => string[];
  /** Resolves on the next line the echo server receives. */
  nextEchoLine: () => Promise<string>;
  readonly logLines: string[];
  executor: (opts?: { layers?: Layers; limits?: Partial<Limits>; timeoutMs?: number;
    extra?: Partial<ExecutorOptions> }) => Executor;
  run: (ex: Executor, action: EvilAction, signal?: AbortSignal) =>
    ReturnType<Executor['run']>;
  close: () => Promise<void>;
}

/** A folder the sandbox's user (nobody) can read, outside /tmp (which the sandbox replaces). */
function folder(prefix: string, mode: number): string {
  const dir = mkdtempSync(path.join('/var/tmp', prefix));
  chmodSync(dir, mode);
  return dir;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve((server.address() as net.AddressInfo).port)));
}

export function sandboxBuilt(): string | null {
  if (!existsSync(sandboxHelperPath())) return 'build/native/gw_sandbox is missing: run ./scripts/setup.sh';
  if (!existsSync(workerRuntimePath())) return 'dist/ is missing: run npm run build';
  return null;
}

export async function createEvilWorld(): Promise<EvilWorld> {
  const moduleDir = folder('gw-escape-mod-', 0o755);
  copyFileSync(path.join(FIXTURE, 'worker.mjs'), path.join(moduleDir, 'worker.mjs'));
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', path.join(moduleDir, 'evil.so'),
    path.join(FIXTURE, 'evil.c')]);
  chmodSync(path.join(moduleDir, 'evil.so'), 0o755);
  // World-readable and world-writable on purpose: file permissions alone would let the
  // sandbox's user in, so only the sandbox's layers can keep it out.
  const secretDir = folder('gw-escape-secret-', 0o755);
  const secretPath = path.join(secretDir, 'other-connector.token');
  writeFileSync(secretPath, 'another connector secret\n', { mode: 0o644 });
  chmodSync(secretPath, 0o644);
  const writeDir = folder('gw-escape-write-', 0o777);
  const writePath = path.join(writeDir, 'pwned');

  let hits = 0;
  const listener = net.createServer((s) => { hits++; s.destroy(); });
  const listenerPort = await listen(listener);
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  const echo = net.createServer((s) => s.on('data', (d: Buffer) => {
    const line = d.toString('utf8').trim();
    lines.push(line);
    waiters.shift()?.(line);
    if (line !== 'hanging') s.end(`echo:${line}`);
  }));
  const echoPort = await listen(echo);
  let queries = 0;
  const dns = dgram.createSocket('udp4');
  dns.on('message', () => { queries++; });
  await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', () => resolve()));
  const dnsPort = dns.address().port;

  const logLines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) {
    logLines.push(String(chunk));
    cb();
  } });
  const log = createLogger({ level: 'debug', destination });
  const configPath = path.join(ROOT, 'config/gateway.toml');
  const settings = { echoHost: '127.0.0.1', echoPort, listenerPort, dnsPort, configPath,
    secretPath, writePath };
  const names = ACTIONS;
  const manifest: ConnectorManifest = {
    name: 'evil', description: 'malicious test connector',
    actions: Object.fromEntries(names.map((a) => [a, { tier: 'dangerous', description: a,
      input: z.strictObject({}) }])),
    egress: [{ host: '127.0.0.1', port: echoPort }],
    secrets: ['token'],
  };
  const registry = new Map<string, RegisteredConnector>([['evil',
    { manifest, implementation: null }]]);
  const config = validateConfig({}, 'test');

  return {
    modulePath: path.join(moduleDir, 'worker.mjs'), writePath, secretPath, configPath,
    listenerHits: () => hits,
    dnsQueries: () => queries,
    echoLines: () => [...lines],
    nextEchoLine: () => new Promise((resolve) => waiters.push(resolve)),
    logLines,
    executor: (opts = {}) => new Executor(registry, config, opts.timeoutMs ?? 120_000, {
      workerModule: () => path.join(moduleDir, 'worker.mjs'),
      sandboxPlan: () => ({ settings, secrets: { token: SECRET } }),
      sandboxLayers: opts.layers,
      sandboxLimits: { cpuSeconds: 2, ...opts.limits },
      ...opts.extra,
    }),
    run: (ex, action, signal) => {
      const ctx: ActionContext = { now: new Date(0), timeZone: 'UTC', principal: 'tester',
        signal: signal ?? new AbortController().signal, log };
      return ex.run({ connector: 'evil', action, input: {}, tier: 'dangerous' }, ctx);
    },
    close: async () => {
      listener.close();
      echo.close();
      dns.close();
      for (const d of [moduleDir, secretDir, writeDir]) rmSync(d, { recursive: true, force: true });
    },
  };
}
