/**
 * Shared set-up of the critical-tier end-to-end tests (test/e2e/critical-*.test.ts): one
 * image per input set (built once; later files take it from the build cache), signed with a
 * fresh key, and a private copy of the project (dist/, package.json, node_modules linked)
 * whose build/rootfs holds that image, so `gateway say` and `gateway serve` run from it boot
 * exactly this image without touching the clone's own build/rootfs or keys.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { issueToken } from '../../src/auth/tokens.js';
import type { TurnReport } from '../../src/dialogue/report.js';
import { buildImage } from '../../src/isolation/vm/build.js';
import { signImage } from '../../src/isolation/vm/image.js';
import { generateKeys, loadKeyPair } from '../../src/keys/keys.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const GUESTPKG = path.join(ROOT, 'test/fixtures/connectors/guestpkg');
/** Boot deadline for tests: software emulation on a busy shared 2-core machine. */
export const BOOT_DEADLINE_MS = 300_000;

export interface CriticalProject {
  /** The private project copy: run bin/gateway.js from here. */
  readonly root: string;
  readonly keysDir: string;
  readonly imageDir: string;
  readonly publicKey: Uint8Array;
  readonly work: string;
  cleanup(): void;
}

/**
 * Builds (or takes from the cache) the image with the test-only guest package probe, signs it
 * with a fresh image key, and lays out a private project around it.
 */
export async function criticalProject(label: string): Promise<CriticalProject> {
  if (!existsSync(path.join(ROOT, 'dist/isolation/vm/guest/agent.js'))) {
    throw new Error('dist/ is not built: run npm run build');
  }
  const work = mkdtempSync(path.join(os.tmpdir(), `gw-critical-${label}-`));
  const root = path.join(work, 'project');
  mkdirSync(root);
  // A snapshot of dist/: other builds of the clone during the run change neither side.
  cpSync(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
  for (const f of ['package.json', 'bin', 'intents', 'config']) {
    cpSync(path.join(ROOT, f), path.join(root, f), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
  if (existsSync(path.join(ROOT, 'build/native'))) {
    cpSync(path.join(ROOT, 'build/native'), path.join(root, 'build/native'), { recursive: true });
  }
  const keysDir = path.join(work, 'keys');
  generateKeys(keysDir, { purposes: ['image', 'audit', 'token'] });
  const pair = loadKeyPair(keysDir, 'image');
  const imageDir = path.join(root, 'build', 'rootfs');
  await buildImage({ outDir: imageDir, extraConnectors: { guestpkg: GUESTPKG } });
  signImage(imageDir, pair.secretKey);
  // Sealed as the gateway demands of an image it boots (root: 0444 files in a 0555 folder).
  for (const f of readdirSync(imageDir)) chmodSync(path.join(imageDir, f), 0o444);
  chmodSync(imageDir, 0o555);
  return { root, keysDir, imageDir, publicKey: pair.publicKey, work,
    cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

/**
 * A configuration for the project copy: its own state and audit files, the microVM tier on
 * (QEMU, cold boots: no snapshots, no warm pool), and the given connector lines.
 */
export function writeConfig(p: CriticalProject, name: string, lines: readonly string[]): string {
  const file = path.join(p.work, `${name}.toml`);
  writeFileSync(file, [
    `keys_dir = "${p.keysDir}"`,
    `state_path = "${path.join(p.work, `${name}.db`)}"`,
    `audit_path = "${path.join(p.work, `${name}.audit.jsonl`)}"`,
    'enable_firecracker_sandbox = true',
    'vmm = "qemu"',
    ...lines,
    '[microvm]',
    `boot_deadline_ms = ${BOOT_DEADLINE_MS}`,
    'snapshots = false',
    'warm_pool = 0',
  ].join('\n'));
  return file;
}

const run = promisify(execFile);

export interface Said {
  readonly reports: TurnReport[];
  readonly log: string;
}

/** `gateway say --json` from the project copy; each text is one turn. */
export async function say(p: CriticalProject, config: string, texts: readonly string[],
  env: Readonly<Record<string, string>> = {}, extra: readonly string[] = []): Promise<Said> {
  const args = [path.join(p.root, 'bin/gateway.js'), 'say', '--json', '-c', config,
    '--out', path.join(p.work, 'replies'), ...extra, ...texts];
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(process.execPath, args, { cwd: p.root,
      env: { ...process.env, TZ: 'Europe/London', ...env }, maxBuffer: 16 << 20 }));
  } catch (err) {
    ({ stdout, stderr } = err as { stdout: string; stderr: string });
  }
  const reports = stdout.trim().split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as TurnReport);
  return { reports, log: stderr };
}

/** The audit trail's records of one configuration, in order. */
export function auditRecords(p: CriticalProject, name: string):
Array<{ kind: string; id: string; action: string; outcome: string | null }> {
  const file = path.join(p.work, `${name}.audit.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as { kind: string; id: string; action: string;
      outcome: string | null });
}

/** `gateway serve` from the project copy on a kernel-chosen loopback port. */
export class Serve {
  private child: ChildProcess | null = null;
  url = '';
  stderr = '';

  constructor(private readonly p: CriticalProject, private readonly config: string,
    private readonly env: Readonly<Record<string, string>> = {}) {}

  token(sub: string): string {
    const { secretKey } = loadKeyPair(this.p.keysDir, 'token');
    return issueToken(secretKey, { sub, tiers: ['safe', 'elevated', 'dangerous', 'critical'],
      ttlS: 3600 });
  }

  async start(): Promise<string> {
    const child = spawn(process.execPath, [path.join(this.p.root, 'bin/gateway.js'), 'serve',
      '--config', this.config, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.p.root, env: { ...process.env, ...this.env } });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${this.stderr}`)));
    });
    return this.url;
  }

  /** SIGKILL: no clean-up of any kind, as a power cut or the OOM killer would do. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await done;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await done;
  }

  async post(pathname: string, body: unknown, headers: Record<string, string> = {}):
  Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const res = await fetch(`${this.url}${pathname}`, { method: 'POST',
      body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
    return { status: res.status, headers: res.headers,
      body: JSON.parse(await res.text()) as Record<string, unknown> };
  }
}
