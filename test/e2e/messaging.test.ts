import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TurnReport } from '../../src/dialogue/report.js';
import { WhatsAppServer } from '../support/whatsapp-server.js';
import { ROOT, UTTERANCES, synthesise } from './harness.js';

// A message, typed and spoken, sent from inside the dangerous-tier sandbox through the
// host's broker to a local server that checks the WhatsApp Cloud API request shape.
const run = promisify(execFile);
const GATEWAY = path.join(ROOT, 'bin/gateway.js');
const TOKEN = 'EAAG-test-token-7f3a9c';
const PHONE_ID = '106540352242922';
const NIGHT_SHIFT = '+447700900123';

let server: WhatsAppServer;
let dir: string;
let configFile: string;

async function gateway(...args: string[]): Promise<{ lines: TurnReport[]; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath,
    [GATEWAY, ...args.slice(0, 1), '--json', '-c', configFile, '--out', dir, ...args.slice(1)],
    { cwd: ROOT, maxBuffer: 16 << 20, env: { ...process.env, TZ: 'Europe/London' } });
  return { lines: stdout.trim().split('\n').map((l) => JSON.parse(l) as TurnReport), stderr };
}

beforeAll(async () => {
  server = await WhatsAppServer.start({ token: TOKEN, phoneNumberId: PHONE_ID });
  dir = await mkdtemp(path.join(tmpdir(), 'gw-messaging-'));
  await writeFile(path.join(dir, 'token'), `${TOKEN}\n`);
  configFile = path.join(dir, 'gateway.toml');
  // World-changing actions run only with a signed audit trail.
  await run(process.execPath, [GATEWAY, 'keys', '--dir', path.join(dir, 'keys')]);
  await writeFile(configFile, [
    `keys_dir = "${path.join(dir, 'keys')}"`,
    `state_path = "${path.join(dir, 'state.db')}"`,
    `audit_path = "${path.join(dir, 'audit.jsonl')}"`,
    '[connectors.messaging]',
    `base_url = "${server.baseUrl}"`,
    `phone_number_id = "${PHONE_ID}"`,
    `token_file = "${path.join(dir, 'token')}"`,
    '[connectors.messaging.contacts]',
    `night_shift = "${NIGHT_SHIFT}"`,
    'mum = "+447700900456"',
    '[policy.principals.local]',
    'allow = ["*"]',
    'contacts = ["night_shift"]',
  ].join('\n'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
});

describe('messaging through the sandbox', () => {
  it('sends exactly one documented request after "confirm", and names the tier and layers',
    async () => {
      const { lines, stderr } = await gateway('say',
        'send a whatsapp message to the night shift saying I will be late', 'confirm');
      const [ask, done] = lines;
      expect(ask).toMatchObject({ decision: 'confirmation_requested', tier: 'dangerous' });
      expect(ask?.reply?.text).toBe(
        'Send the night shift the message: I will be late. Say confirm to proceed.');
      expect(done).toMatchObject({ decision: 'executed', outcome: 'succeeded', tier: 'dangerous',
        isolation: { layers: ['namespaces', 'landlock', 'seccomp', 'rlimits', 'broker'] } });
      expect(server.requests).toHaveLength(1);
      const [req] = server.requests;
      expect(req?.problems).toEqual([]);
      expect(req?.json).toMatchObject({ to: NIGHT_SHIFT, text: { body: 'I will be late' } });
      // Neither the token nor the message reaches the log at default settings.
      expect(stderr).toContain('egress attempt');
      expect(stderr).not.toContain(TOKEN);
      expect(stderr).not.toMatch(/will be late/i);
      // The send was recorded before it ran and after; the signed chain verifies.
      const audit = await readFile(path.join(dir, 'audit.jsonl'), 'utf8');
      const records = audit.trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
      expect(records.slice(-2).map((r) => r.kind)).toEqual(['accepted', 'outcome']);
      expect(audit).not.toMatch(/will be late|447700900123/i);
      const verify = await run(process.execPath, [GATEWAY, 'audit', 'verify', '-c', configFile]);
      expect(verify.stdout).toMatch(/./);
    });

  it('refuses to send without an audit trail', async () => {
    const bare = path.join(dir, 'bare.toml');
    await writeFile(bare, (await readFile(configFile, 'utf8'))
      .replace(/^keys_dir = .*$/m, `keys_dir = "${path.join(dir, 'no-keys')}"`));
    const { stdout } = await run(process.execPath, [GATEWAY, 'say', '--json', '-c', bare,
      '--out', dir, 'tell the night shift thank you', 'confirm'],
    { cwd: ROOT, env: { ...process.env, TZ: 'Europe/London' } });
    const done = JSON.parse(stdout.trim().split('\n')[1] ?? '{}') as TurnReport;
    expect(done).toMatchObject({ outcome: 'refused', error: { code: 'GW_AUDIT_UNAVAILABLE' } });
    expect(server.requests).toHaveLength(0);
  });

  it('sends nothing when the answer is not "confirm"', async () => {
    const { lines } = await gateway('say', 'tell the night shift call me back', 'no');
    expect(lines[1]?.decision).toBe('cancelled');
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a contact outside the allowlist before asking to confirm', async () => {
    const { lines } = await gateway('say', "tell mum i'm on my way");
    expect(lines[0]).toMatchObject({ decision: 'refused', reason: 'policy.allowlist.contact' });
    expect(lines[0]?.reply?.text).toMatch(/contact/);
    expect(server.requests).toHaveLength(0);
  });

  it('says what the far side answered when it refuses', async () => {
    server.answerNext({ status: 401, body: { error: { message: 'Invalid OAuth access token.',
      type: 'OAuthException', code: 190, fbtrace_id: 'Atest' } } });
    const { lines } = await gateway('say', 'tell the night shift thank you', 'confirm');
    expect(lines[1]).toMatchObject({ outcome: 'failed', error: { code: 'GW_REMOTE_AUTH' } });
    expect(lines[1]?.reply?.text).not.toBe('Sorry, that did not work.');
  });

  it('works spoken, offline, for one of the short replies', async () => {
    const wav = await synthesise(
      'send a whatsapp message to the night shift saying i will be late', dir, 'message');
    const confirm = path.join(UTTERANCES, 'followup_confirm__en-us+f3_185.wav');
    const { lines } = await gateway('replay', wav, confirm);
    expect(lines[0]?.intent).toMatchObject({ name: 'messaging.send',
      slots: { contact: 'night_shift', body: 'i will be late' } });
    expect(lines[1]).toMatchObject({ decision: 'executed', outcome: 'succeeded' });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.json).toMatchObject({ text: { body: 'i will be late' } });
  });
});
