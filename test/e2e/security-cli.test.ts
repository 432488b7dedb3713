import { execFile } from 'node:child_process';
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { loadKeyPair } from '../../src/keys/keys.js';
import { StateStore } from '../../src/state/store.js';
import { ROOT } from './harness.js';

/**
 * The real CLI (dist/, built by `npm run build`) in a project folder of its own: keys,
 * then a token issued, verified, revoked and refused; then `audit verify` on a log the
 * real AuditLog wrote, before and after tampering.
 */
const run = promisify(execFile);
const GATEWAY = path.join(ROOT, 'bin/gateway.js');

interface Result { code: number; stdout: string; stderr: string }

async function gateway(args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [GATEWAY, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function project(): { dir: string; config: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sec-'));
  mkdirSync(path.join(dir, 'config'));
  const config = path.join(dir, 'config', 'gateway.toml');
  // the defaults, spelled out: relative to the project folder (the parent of config/)
  writeFileSync(config, 'keys_dir = "keys"\nstate_path = "state/gateway.db"\n' +
    'audit_path = "logs/audit.jsonl"\n');
  return { dir, config };
}

function expectError(r: Result, code: string, exit: number): void {
  expect([r.code, r.stderr.trim()]).toEqual([exit, expect.stringMatching(
    new RegExp(`^gateway: ${code}: `))]);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('gateway keys, token and audit (the real CLI)', () => {
  it('keys -> token issue -> verify -> revoke -> rejected', async () => {
    const { dir, config } = project();
    const keys = await gateway(['keys', '-c', config]);
    expect(keys.code).toBe(0);
    expect(statSync(path.join(dir, 'keys')).mode & 0o777).toBe(0o700);
    for (const p of ['token', 'audit', 'image']) {
      expect(statSync(path.join(dir, 'keys', `${p}.key`)).mode & 0o777).toBe(0o600);
    }
    expectError(await gateway(['keys', '-c', config]), 'GW_KEY_EXISTS', 73);

    const issue = await gateway(['token', 'issue', '-c', config, '--principal', 'alice',
      '--tiers', 'safe,critical', '--ttl', '2h']);
    expect(issue.code).toBe(0);
    const jwtFile = path.join(dir, '.desktop_jwt'); // where the guide's curl reads it
    const token = readFileSync(jwtFile, 'utf8').trim();
    expect(statSync(jwtFile).mode & 0o777).toBe(0o600);
    expect(token.split('.')).toHaveLength(3);
    expect(issue.stdout).not.toContain(token); // never printed without --print
    const jti = /issued (\S+) for alice/.exec(issue.stdout)?.[1];
    expect(jti).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const ok = await gateway(['token', 'verify', '-c', config]);
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringContaining(`valid: ${jti} for alice`)]);
    const list = await gateway(['token', 'list', '-c', config, '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject({ jti, sub: 'alice', status: 'valid',
      tiers: ['safe', 'critical'] });

    const revoke = await gateway(['token', 'revoke', '-c', config, jwtFile]);
    expect([revoke.code, revoke.stdout.trim()]).toEqual([0, `revoked ${jti}`]);
    expectError(await gateway(['token', 'verify', '-c', config, jwtFile]),
      'GW_TOKEN_REVOKED', 77);
    const after = await gateway(['token', 'list', '-c', config, '--json']);
    expect(JSON.parse(after.stdout)).toMatchObject({ jti, status: 'revoked' });

    // a second token, revoked by its id
    const second = await gateway(['token', 'issue', '-c', config, '--out',
      path.join(dir, 'b.jwt'), '--print']);
    const secondJti = /issued (\S+) for desktop/.exec(second.stdout)?.[1] as string;
    expect(second.stdout).toContain(readFileSync(path.join(dir, 'b.jwt'), 'utf8').trim());
    expect((await gateway(['token', 'verify', '-c', config, path.join(dir, 'b.jwt')])).code)
      .toBe(0);
    expect((await gateway(['token', 'revoke', '-c', config, secondJti])).code).toBe(0);
    expectError(await gateway(['token', 'verify', '-c', config, path.join(dir, 'b.jwt')]),
      'GW_TOKEN_REVOKED', 77);

    // a secret key others can read is refused, with the chmod to run
    const secret = path.join(dir, 'keys', 'token.key');
    chmodSync(secret, 0o644);
    const insecure = await gateway(['token', 'issue', '-c', config]);
    expectError(insecure, 'GW_KEY_INSECURE', 78);
    expect(insecure.stderr).toContain(`chmod 600 ${secret}`);
  });

  it('audit verify passes on a real log and names the first bad record otherwise', async () => {
    const { dir, config } = project();
    expect((await gateway(['keys', '-c', config])).code).toBe(0);
    const file = path.join(dir, 'logs', 'audit.jsonl');
    expect((await gateway(['audit', 'verify', '-c', config])).stdout).toMatch(/^audit log empty/);

    const store = StateStore.open(path.join(dir, 'state', 'gateway.db'));
    const log = await AuditLog.open({ file, keys: loadKeyPair(path.join(dir, 'keys'), 'audit'),
      store });
    for (let i = 0; i < 3; i++) {
      const id = await log.accepted({ principal: 'alice', connector: 'scada_dnp3',
        action: 'operate', tier: 'critical', slots: { breaker: 7, substation: 12 } });
      await log.outcome(id, 'succeeded');
    }
    await log.close();
    store.close();

    const good = await gateway(['audit', 'verify', '-c', config]);
    expect([good.code, good.stdout]).toEqual([0, expect.stringMatching(
      /^audit log intact: 6 records, head 6:[0-9a-f]{16}/)]);
    expect(good.stdout.trim().split('\n')).toHaveLength(1);
    const head = (await gateway(['audit', 'head', '-c', config])).stdout.trim();
    expect(head).toMatch(/^6:[0-9a-f]{64}$/);
    expect((await gateway(['audit', 'verify', '-c', config, '--anchor', head])).code).toBe(0);

    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    writeFileSync(file, `${lines.slice(0, 5).join('\n')}\n`); // the last record cut off
    const cut = await gateway(['audit', 'verify', '-c', config]);
    expectError(cut, 'GW_AUDIT_TAMPERED', 65);
    expect(cut.stderr).toMatch(/record 6 \(line 6\): head:/);

    lines[2] = (lines[2] as string).replace('"alice"', '"mallory"');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const edited = await gateway(['audit', 'verify', '-c', config]);
    expectError(edited, 'GW_AUDIT_TAMPERED', 65);
    expect(edited.stderr).toMatch(/record 3 \(line 3\): signature:/);
    expect(existsSync(file)).toBe(true);
  });
});

describe('an action interrupted by a crash (real process, SIGKILL)', () => {
  it('is recorded as indeterminate at the next start and never run again', async () => {
    const { dir, config } = project();
    expect((await gateway(['keys', '-c', config])).code).toBe(0);
    const keysDir = path.join(dir, 'keys');
    const dbFile = path.join(dir, 'state', 'gateway.db');
    const file = path.join(dir, 'logs', 'audit.jsonl');
    const ran = path.join(dir, 'ran');
    // The child accepts an action, "runs" it (appends to a file), and is killed before it
    // can record the outcome.
    const child = `
      import { appendFileSync } from 'node:fs';
      import { openAuditTrail } from ${JSON.stringify(path.join(ROOT, 'dist/audit/setup.js'))};
      import { StateStore } from ${JSON.stringify(path.join(ROOT, 'dist/state/store.js'))};
      const store = StateStore.open(${JSON.stringify(dbFile)});
      const { audit } = await openAuditTrail({ keysDir: ${JSON.stringify(keysDir)},
        auditPath: ${JSON.stringify(file)}, store });
      const id = await audit.accepted({ principal: 'alice', connector: 'scada_dnp3',
        action: 'operate', tier: 'critical', slots: { breaker: 7 }, id: 'turn-1' });
      appendFileSync(${JSON.stringify(ran)}, id + '\\n');
      process.kill(process.pid, 'SIGKILL');
    `;
    const died = await run(process.execPath, ['--input-type=module', '-e', child])
      .then(() => null, (err: { signal?: string }) => err.signal);
    expect(died).toBe('SIGKILL');
    expect(readFileSync(ran, 'utf8')).toBe('turn-1\n');
    // the open action is visible to verify, and the log is intact
    expect((await gateway(['audit', 'verify', '-c', config])).stdout)
      .toContain('1 action(s) awaiting an outcome');

    const { openAuditTrail } = await import('../../src/audit/setup.js');
    for (let start = 0; start < 2; start++) {
      const store = StateStore.open(dbFile);
      const { audit, recovered } = await openAuditTrail({ keysDir, auditPath: file, store });
      expect(recovered).toBe(start === 0 ? 1 : 0);
      await audit.close();
      store.close();
    }
    const last = JSON.parse(readFileSync(file, 'utf8').trimEnd().split('\n').at(-1) as string);
    expect(last).toMatchObject({ seq: 2, kind: 'recovered', id: 'turn-1',
      outcome: 'indeterminate', principal: 'alice' });
    expect(readFileSync(ran, 'utf8')).toBe('turn-1\n'); // never run again
    const v = await gateway(['audit', 'verify', '-c', config]);
    expect([v.code, v.stdout]).toEqual([0, expect.stringContaining('2 records')]);
  });
});
