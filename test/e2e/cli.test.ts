import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import type { TurnReport } from '../../src/dialogue/report.js';
import { TEST_POINTS_TOML } from '../support/points.js';
import { ROOT, UTTERANCES } from './harness.js';

const run = promisify(execFile);
const GATEWAY = path.join(ROOT, 'bin/gateway.js');
const NOW = '2026-12-07T08:00:00Z';

interface Result { code: number; stdout: string; stderr: string }

async function gateway(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [GATEWAY, ...args], {
      cwd: ROOT, env: { ...process.env, TZ: 'Europe/London', ...env }, maxBuffer: 16 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'gw-cli-'));
}

/**
 * A configuration for the breaker conversations: the test's own DNP3 points and no microVM
 * tier, so that "confirm" is refused the same way on every machine, whatever images, keys or
 * demo devices the checkout has.
 */
function breakerConfig(): string {
  const file = path.join(tmp(), 'gateway.toml');
  writeFileSync(file, `enable_firecracker_sandbox = false\n${TEST_POINTS_TOML}\n`);
  return file;
}

const u = (file: string): string => path.join(UTTERANCES, file);

function expectOneLineError(r: Result, code: string, exit: number): void {
  expect(r.code).toBe(exit);
  const lines = r.stderr.trim().split('\n');
  expect(lines.at(-1)).toMatch(new RegExp(`^gateway: ${code}: `));
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stdout).toBe('');
}

describe('gateway replay and say (the CLI, real engines)', () => {
  it('prints exactly one JSON line per input file, with the documented fields', async () => {
    const out = tmp();
    const r = await gateway(['replay', '--json', '--now', NOW, '--out', out,
      '--config', breakerConfig(),
      u('breaker_close_7_12__en-us_150.wav'), u('followup_confirm__en-us+f3_185.wav')]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TurnReport);
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      for (const key of ['wake', 'transcript', 'intent', 'tier', 'decision', 'outcome', 'reply', 'timings']) {
        expect(l).toHaveProperty(key);
      }
    }
    const [ask, confirm] = lines as [TurnReport, TurnReport];
    expect(ask.intent?.slots).toEqual({ operation: 'close', breaker: 7, substation: 12 });
    expect(ask.decision).toBe('confirmation_requested');
    expect(ask.tier).toBe('critical');
    expect(confirm.tier).toBe('critical');
    expect(confirm.decision).toBe('refused');
    expect(confirm.outcome).toBe('refused');
    expect(readFileSync(ask.reply?.audio ?? '').subarray(0, 4).toString()).toBe('RIFF');
  });

  it('runs text turns as one conversation with say', async () => {
    const r = await gateway(['say', '--json', '--now', NOW, '--out', tmp(),
      '--config', breakerConfig(), 'close breaker seven at substation twelve', 'confirm']);
    expect(r.code).toBe(0);
    const [ask, confirm] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TurnReport);
    expect(ask?.wake).toBeNull();
    expect(ask?.transcript?.confidence).toBeNull();
    expect(ask?.reply?.text).toBe('Close breaker seven at substation twelve. Say confirm to proceed.');
    expect(confirm?.intent?.name).toBe('system.confirm');
    expect(confirm?.action).toBe('scada_dnp3.operate');
    expect(confirm?.error?.code).toBe('GW_TIER_UNAVAILABLE');
  });

  it('never acts on a negated command, typed or pending', async () => {
    const r = await gateway(['say', '--json', '--out', tmp(),
      "don't close breaker seven at substation twelve",
      'close breaker seven at substation twelve', 'never mind close breaker seven at substation twelve']);
    const [negated, ask, cancel] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TurnReport);
    expect(negated?.decision).toBe('not_understood');
    expect(negated?.reason).toBe('negated');
    expect(negated?.outcome).toBeNull();
    expect(ask?.decision).toBe('confirmation_requested');
    expect(cancel?.decision).toBe('cancelled');
    expect(cancel?.reason).toBe('negated');
  });

  it('keeps transcripts and reply text out of the log at default settings', async () => {
    const r = await gateway(['replay', '--now', NOW, '--out', tmp(), u('calendar_tomorrow__en-us_150.wav')]);
    expect(r.code).toBe(0);
    const log = r.stderr;
    expect(log).toContain('"msg":"turn finished"');
    expect(log).not.toMatch(/calendar tomorrow|dentist|stand-up/);
    expect(r.stdout).toContain('dentist'); // the answer itself is on stdout
  });
});

describe('bad input: a stable code, one line, no stack trace, nothing run', () => {
  const dir = tmp();
  const good = readFileSync(u('calendar_tomorrow__en-us_150.wav'));
  const cases: [string, Buffer, string][] = [
    ['truncated', good.subarray(0, 2000), 'GW_AUDIO_TRUNCATED'],
    ['empty', Buffer.alloc(0), 'GW_AUDIO_EMPTY'],
    ['not a WAV', Buffer.from('ID3\u0003 this is an mp3, honest'.repeat(4)), 'GW_AUDIO_NOT_WAV'],
  ];
  it.each(cases)('refuses a %s file', async (name, bytes, code) => {
    const file = path.join(dir, `${name.replace(/ /g, '-')}.wav`);
    writeFileSync(file, bytes);
    expectOneLineError(await gateway(['replay', file]), code, 65);
  });

  it('refuses a 10-minute recording before decoding it', async () => {
    const file = path.join(dir, 'ten-minutes.wav');
    writeFileSync(file, encodeWav(new Int16Array(16_000 * 600), 16_000));
    expectOneLineError(await gateway(['replay', file]), 'GW_AUDIO_TOO_LONG', 65);
  });

  it('runs no turn when any file of a conversation is malformed', async () => {
    const bad = path.join(dir, 'bad-second.wav');
    writeFileSync(bad, good.subarray(0, 100));
    const r = await gateway(['replay', u('calendar_tomorrow__en-us_150.wav'), bad]);
    expectOneLineError(r, 'GW_AUDIO_TRUNCATED', 65);
  });

  it('reports a missing file', async () => {
    expectOneLineError(await gateway(['replay', path.join(dir, 'nope.wav')]), 'GW_AUDIO_NOT_FOUND', 66);
  });

  it('stops at start-up on a configuration typo, naming the key', async () => {
    const cfg = path.join(dir, 'typo.toml');
    writeFileSync(cfg, '[wake]\nkeywrod = "hey_jarvis"\n');
    const r = await gateway(['say', '--config', cfg, 'help']);
    expectOneLineError(r, 'GW_CONFIG_INVALID', 78);
    expect(r.stderr).toContain('wake.keywrod');
  });

  it('names the available wake words when the model is missing', async () => {
    const cfg = path.join(dir, 'model.toml');
    writeFileSync(cfg, '[wake]\nkeyword = "hey_nobody"\n');
    const r = await gateway(['replay', '--config', cfg, u('calendar_tomorrow__en-us_150.wav')]);
    expectOneLineError(r, 'GW_MODEL_MISSING', 69);
    expect(r.stderr).toContain('hey_jarvis');
  });

  it('reports a missing key in one line when both OpenAI engines lack it', async () => {
    // Guards against an unhandled rejection (stack trace, exit 1) when two engines fail.
    const cfg = path.join(dir, 'both-openai.toml');
    writeFileSync(cfg, '[stt]\nengine = "openai"\n[tts]\nengine = "openai"\n');
    const r = await gateway(['say', '--config', cfg, 'help'], { OPENAI_API_KEY: '' });
    expectOneLineError(r, 'GW_CLOUD_KEY_MISSING', 78);
  });

  it('stops at start-up on a voice espeak-ng does not have', async () => {
    const cfg = path.join(dir, 'voice.toml');
    writeFileSync(cfg, '[tts]\nvoice = "zz-nonexistent"\n');
    const r = await gateway(['say', '--config', cfg, 'help']);
    expectOneLineError(r, 'GW_CONFIG_INVALID', 78);
    expect(r.stderr).toContain('tts.voice');
  });

  it('stops at start-up in paranoid mode when a tier the connectors use is missing', async () => {
    // No microVM tier on this build: paranoid refuses to start instead of refusing later.
    const cfg = path.join(dir, 'paranoid.toml');
    writeFileSync(cfg, 'security_mode = "paranoid"\n');
    const r = await gateway(['say', '--config', cfg, 'what is on my calendar today']);
    expectOneLineError(r, 'GW_TIER_UNAVAILABLE', 69);
    expect(r.stderr).toContain('critical: ');
  });

  it('says what to install when espeak-ng is missing', async () => {
    const bin = tmp();
    const r = await gateway(['say', 'help'], { PATH: bin });
    expectOneLineError(r, 'GW_ENGINE_MISSING', 69);
    expect(r.stderr).toContain('espeak-ng');
  });

  it('gives Porcupine\'s rejection of a key as one line naming the setting', async () => {
    const cfg = path.join(dir, 'porcupine.toml');
    writeFileSync(cfg, '[wake]\nengine = "porcupine"\n');
    const r = await gateway(['replay', '--config', cfg, u('calendar_tomorrow__en-us_150.wav')],
      { PICOVOICE_ACCESS_KEY: 'not-a-real-key-123' });
    expectOneLineError(r, 'GW_WAKE_KEY_REJECTED', 78);
    expect(r.stderr).not.toContain('not-a-real-key-123');
  });

  it('rejects unknown commands and options with usage', async () => {
    const fly = await gateway(['fly']);
    expect(fly.code).toBe(64);
    expect(fly.stderr.trim().split('\n').at(-1)).toMatch(/^gateway: GW_USAGE: unknown command/);
    expectOneLineError(await gateway(['replay', '--bogus', 'x.wav']), 'GW_USAGE', 64);
    expectOneLineError(await gateway(['doctor', '--bogus']), 'GW_USAGE', 64);
    expectOneLineError(await gateway(['listen', 'x.wav']), 'GW_USAGE', 64);
    expectOneLineError(await gateway(['say', '--now', '1', 'help']), 'GW_USAGE', 64);
  });

  it('keeps an error on one line even when a file name holds a newline', async () => {
    const r = await gateway(['replay', path.join(dir, 'nope\nFAKE: injected.wav')]);
    expectOneLineError(r, 'GW_AUDIO_NOT_FOUND', 66);
    expect(r.stderr).toContain('\\n');
  });

  it('refuses a key file of more than one line, without repeating the key', async () => {
    // Guards against a two-line key reaching an HTTP header and the error quoting it.
    writeFileSync(path.join(dir, 'two-line.key'), 'sk-CANARY-one\nsk-CANARY-two\n');
    const cfg = path.join(dir, 'key.toml');
    writeFileSync(cfg, '[tts]\nengine = "openai"\n[tts.openai]\n' +
      'base_url = "http://127.0.0.1:9/v1"\napi_key_file = "two-line.key"\n');
    const r = await gateway(['say', '--config', cfg, 'help'], { OPENAI_API_KEY: '' });
    expectOneLineError(r, 'GW_SECRET_UNREADABLE', 78);
    expect(r.stderr).not.toContain('CANARY');
  });

  it('exits quietly when the reader of its output goes away', async () => {
    const { stdout, stderr } = await run('bash', ['-c',
      `"${process.execPath}" "${GATEWAY}" say --json help help help | head -c 10; ` +
      'echo " status=${PIPESTATUS[0]}"'], { cwd: ROOT });
    expect(stdout).toMatch(/status=0/);
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
  });
});

describe('gateway listen (microphone through node-record-lpcm16)', () => {
  /** A stand-in `sox` on PATH that plays WAV files as the microphone would deliver them. */
  function fakeRecorder(files: string[], thenSleep: number): string {
    const bin = tmp();
    const script = path.join(bin, 'sox');
    const plays = files.map((f) => `/usr/bin/sox -q "${f}" -t raw -r 16000 -c 1 -b 16 -e signed -`);
    writeFileSync(script, `#!/bin/sh\n${plays.join('\n')}\nsleep ${thenSleep}\n`);
    chmodSync(script, 0o755);
    return bin;
  }

  it('runs turns from the microphone and exits when the recorder ends', async () => {
    const bin = fakeRecorder([u('calendar_tomorrow__en-us_150.wav')], 0);
    const r = await gateway(['listen', '--json', '--now', NOW, '--out', tmp()],
      { PATH: `${bin}:${process.env.PATH}` });
    expect(r.code).toBe(0);
    const turns = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TurnReport);
    expect(turns[0]?.intent?.name).toBe('calendar.agenda');
    expect(turns[0]?.decision).toBe('answered');
  });

  it('exits non-zero with GW_AUDIO_DEVICE when the recorder fails', async () => {
    // Guards against a failed microphone ending `listen` with status 0.
    const bin = tmp();
    writeFileSync(path.join(bin, 'sox'), '#!/bin/sh\necho "sox FAIL: no default audio device" >&2\nexit 2\n');
    chmodSync(path.join(bin, 'sox'), 0o755);
    const r = await gateway(['listen'], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.code).toBe(69);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^gateway: GW_AUDIO_DEVICE: /);
  });

  it('stops cleanly on Ctrl-C, leaving no recorder behind', async () => {
    const bin = fakeRecorder([], 300);
    const child = spawn(process.execPath, [GATEWAY, 'listen'], {
      cwd: ROOT, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (stderr.includes('"msg":"listening"')) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const { stdout } = await run('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(`${bin}/sox`);
  });
});
