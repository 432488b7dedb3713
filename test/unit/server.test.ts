import { describe, expect, it } from 'vitest';
import { AudioQueue } from '../../src/server/audio-queue.js';
import { bearerOf, parseObject } from '../../src/server/http.js';
import { RateLimiter, StreamSlots } from '../../src/server/limits.js';
import { Metrics } from '../../src/server/metrics.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('RateLimiter', () => {
  it('allows a minute of requests at once, then refills evenly', () => {
    let now = 0;
    const r = new RateLimiter(3, () => now);
    for (let i = 0; i < 3; i++) r.take('a');
    expect(codeOf(() => r.take('a'))).toBe('GW_RATE_LIMITED');
    expect(codeOf(() => r.take('b'))).toBeUndefined();
    now += 19_000;
    expect(codeOf(() => r.take('a'))).toBe('GW_RATE_LIMITED');
    now += 1_000; // 20 s: one request back
    expect(codeOf(() => r.take('a'))).toBeUndefined();
    expect(codeOf(() => r.take('a'))).toBe('GW_RATE_LIMITED');
  });
});

describe('StreamSlots', () => {
  it('counts per principal and releases once', () => {
    const s = new StreamSlots(2);
    const r1 = s.acquire('a');
    s.acquire('a');
    expect(codeOf(() => s.acquire('a'))).toBe('GW_STREAMS_LIMITED');
    r1();
    r1();
    expect(s.count('a')).toBe(1);
    expect(codeOf(() => s.acquire('a'))).toBeUndefined();
  });
});

describe('request bodies', () => {
  it('accepts one object with known fields only', () => {
    expect(parseObject(Buffer.from('{"task":"x"}'), ['task'])).toEqual({ task: 'x' });
    expect(codeOf(() => parseObject(Buffer.from('{"task":"x","y":1}'), ['task'])))
      .toBe('GW_HTTP_UNKNOWN_FIELD');
    for (const bad of ['', 'null', '"x"', '[]', '{', '\u0000']) {
      expect(codeOf(() => parseObject(Buffer.from(bad), ['task']))).toBe('GW_HTTP_INVALID_JSON');
    }
  });

  it('reads bearer tokens and nothing else', () => {
    expect(bearerOf('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerOf('bearer  abc')).toBe('abc');
    expect(bearerOf('Basic abc')).toBeNull();
    expect(bearerOf('Bearer a b')).toBeNull();
    expect(bearerOf(undefined)).toBeNull();
  });
});

describe('Metrics', () => {
  it('renders Prometheus text with cumulative buckets', () => {
    const m = new Metrics();
    m.observeTurn('stream', 250);
    m.observeTurn('stream', 3_000);
    m.countAction('critical', 'refused');
    const text = m.render();
    expect(text).toContain('gateway_turn_duration_seconds_bucket{channel="stream",le="0.3"} 1');
    expect(text).toContain('gateway_turn_duration_seconds_bucket{channel="stream",le="5"} 2');
    expect(text).toContain('gateway_turn_duration_seconds_count{channel="stream"} 2');
    expect(text).toContain('gateway_actions_total{tier="critical",outcome="refused"} 1');
    expect(text).toContain('gateway_microvm_boots_total 0');
    expect(text.endsWith('\n')).toBe(true);
  });
});

describe('AudioQueue', () => {
  it('pauses the source above the high-water mark and resumes below half', async () => {
    const flow: string[] = [];
    const q = new AudioQueue(100, 300, {
      pause: () => flow.push('pause'), resume: () => flow.push('resume'),
    });
    expect(q.push(new Int16Array(60))).toBe(true);
    expect(q.push(new Int16Array(60))).toBe(true);
    expect(flow).toEqual(['pause']);
    expect(q.push(new Int16Array(200))).toBe(false); // past the hard limit: refused
    q.end();
    const got: number[] = [];
    for await (const chunk of q) got.push(chunk.length);
    expect(got).toEqual([60, 60]);
    expect(flow).toEqual(['pause', 'resume']);
  });
});
