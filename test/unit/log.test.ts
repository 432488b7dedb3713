import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, levelFor } from '../../src/log.js';

function capture(personalData: boolean): { log: ReturnType<typeof createLogger>; lines: () => string[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ personalData, destination: sink });
  return { log, lines: () => chunks.join('').trim().split('\n') };
}

describe('logging policy', () => {
  it('censors transcripts and reply text at default settings', () => {
    const { log, lines } = capture(false);
    log.info({ transcript: 'close breaker seven', reply: 'Close breaker seven?', intent: 'x' }, 'turn finished');
    const out = lines().join('\n');
    expect(out).not.toContain('breaker seven');
    const rec = JSON.parse(lines()[0] ?? '{}') as Record<string, unknown>;
    expect(rec.transcript).toBe('[redacted]');
    expect(rec.intent).toBe('x');
    expect(rec.msg).toBe('turn finished');
  });

  it('logs personal data only when the setting allows it', () => {
    const { log, lines } = capture(true);
    log.info({ transcript: 'close breaker seven' }, 'turn finished');
    expect(lines()[0]).toContain('close breaker seven');
  });

  it('never logs secrets, even with personal data allowed, also when nested', () => {
    const { log, lines } = capture(true);
    log.info({ apiKey: 'sk-live-123', engine: { accessKey: 'pv-abc', token: 'eyJ' } }, 'engine ready');
    const out = lines().join('\n');
    expect(out).not.toContain('sk-live-123');
    expect(out).not.toContain('pv-abc');
    expect(out).not.toContain('eyJ');
  });

  it('chooses levels by outcome', () => {
    expect(levelFor('refused')).toBe('warn');
    expect(levelFor('crashed')).toBe('error');
    expect(levelFor('ok')).toBe('info');
    expect(levelFor('frame')).toBe('debug');
  });
});
