import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { issueToken } from '../../src/auth/tokens.js';
import type { Tier } from '../../src/connectors/types.js';
import { generateKeys, loadKeyPair } from '../../src/keys/keys.js';
import { TEST_POINTS_TOML } from './points.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const ALL_TIERS: Tier[] = ['safe', 'elevated', 'dangerous', 'critical'];

/**
 * A real `gateway serve` (dist/, as a user runs it) on 127.0.0.1 with a port the kernel
 * picks, its own key directory, state database and configuration in a temporary folder.
 */
export class ServeHarness {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'gateway-serve-'));
  private child: ChildProcess | null = null;
  url = '';
  stderr = '';

  constructor(extraToml = '') {
    generateKeys(path.join(this.dir, 'keys'));
    writeFileSync(path.join(this.dir, 'gateway.toml'), [
      `keys_dir = "${path.join(this.dir, 'keys')}"`,
      `state_path = "${path.join(this.dir, 'state.db')}"`,
      `audit_path = "${path.join(this.dir, 'audit.jsonl')}"`,
      'log_level = "info"',
      '[connectors.calendar]',
      `ics_path = "${path.join(ROOT, 'fixtures/calendar.ics')}"`,
      extraToml,
      TEST_POINTS_TOML,
    ].join('\n'));
  }

  token(sub: string, tiers: Tier[] = ALL_TIERS, ttlS = 3600): string {
    const { secretKey } = loadKeyPair(path.join(this.dir, 'keys'), 'token');
    return issueToken(secretKey, { sub, tiers, ttlS });
  }

  /** Starts the server and resolves once it prints its address. */
  async start(): Promise<string> {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/gateway.js'), 'serve',
      '--config', path.join(this.dir, 'gateway.toml'), '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
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

  /** SIGTERM and wait: the server closes its sockets and engines and exits 0. */
  async stop(): Promise<number | null> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const done = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return done;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs raw bytes with no content type, as the original guide's `curl -d` nearly does. */
export async function post(
  url: string, body: string, headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', body: Buffer.from(body), headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string,
    unknown> };
}

export function errorCode(a: Answer): string | undefined {
  return (a.body.error as { code?: string } | undefined)?.code;
}
