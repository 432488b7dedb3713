import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayError } from '../../src/errors.js';
import { createSpeechToText } from '../../src/stt/index.js';
import { PocketsphinxStt } from '../../src/stt/pocketsphinx.js';
import type { Transcript } from '../../src/stt/types.js';
import { concat, mix, noise, silence, speak } from '../helpers/speech.js';

/** A hand-written grammar of the kind the intent compiler produces. */
const JSGF = `#JSGF V1.0;
grammar gateway;
public <command> = [hey jarvis] ( (what's | what is) on my calendar (today | tomorrow)
  | (open | close) breaker <num> at substation <num>
  | confirm | no | cancel );
<num> = one | two | three | four | five | six | seven | eight | nine | ten | eleven | twelve
  | thirteen | fourteen | fifteen | sixteen | seventeen | eighteen | nineteen | twenty;
`;

const VOICES = ['en-us', 'en-us+f3', 'en-us+m3', 'en'];
const SPEEDS = [140, 180];
const THRESHOLD = 0.5;

/** Sentences that every voice and speed decodes exactly ("seven", "nineteen" and
 * "confirm" do not always: seven -> two or ten, nineteen -> twenty, confirm -> cancel). */
const COMMANDS = [
  "hey jarvis what's on my calendar today",
  'what is on my calendar tomorrow',
  'open breaker eight at substation eleven',
  'hey jarvis open breaker twenty at substation five',
  'close breaker four at substation three',
  'cancel',
];
const UNRELATED = [
  'the quick brown fox jumps over the lazy dog',
  'i would like a cup of tea please',
];

let stt: PocketsphinxStt;

beforeAll(async () => {
  stt = await PocketsphinxStt.create({ jsgf: JSGF });
});
afterAll(async () => {
  await stt.close();
});

/** Our own ps_decode children, found in /proc. */
function helperChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'ps_decode' && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

async function waitUntilGone(pids: number[]): Promise<void> {
  while (pids.some((p) => helperChildren().includes(p))) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function babble(): Promise<Int16Array> {
  const voices = await Promise.all([
    speak(UNRELATED[0]!, { voice: 'en-us', speed: 150 }),
    speak(UNRELATED[1]!, { voice: 'en-us+f3', speed: 160 }),
    speak('it is going to rain later this afternoon', { voice: 'en-us+m3', speed: 170 }),
    speak('please remind me to buy some milk', { voice: 'en', speed: 150 }),
  ]);
  return voices.reduce((a, b) => mix(a, b));
}

describe('PocketsphinxStt transcripts', () => {
  it.each(COMMANDS)('transcribes "%s" for four voices at two speeds', async (sentence) => {
    for (const voice of VOICES) {
      for (const speed of SPEEDS) {
        const t = await stt.transcribe(await speak(sentence, { voice, speed }));
        expect({ voice, speed, text: t.text }).toEqual({ voice, speed, text: sentence });
        expect(t.engine).toBe('pocketsphinx');
        expect(t.confidence).toBeGreaterThanOrEqual(THRESHOLD);
        expect(t.words?.map((w) => w.word).join(' ')).toBe(sentence);
      }
    }
  });

  it('returns word times in order, without fillers or pronunciation markers', async () => {
    const audio = concat(silence(500), await speak('hey jarvis cancel'), silence(500));
    const t = await stt.transcribe(audio);
    expect(t.words?.map((w) => w.word)).toEqual(['hey', 'jarvis', 'cancel']);
    const words = t.words ?? [];
    for (const [i, w] of words.entries()) {
      expect(w.endMs).toBeGreaterThan(w.startMs);
      if (i > 0) expect(w.startMs).toBeGreaterThanOrEqual(words[i - 1]!.endMs);
    }
  });
});

describe('PocketsphinxStt confidence', () => {
  it('scores unrelated speech below the threshold for every voice and speed', async () => {
    for (const sentence of UNRELATED) {
      for (const voice of VOICES) {
        for (const speed of SPEEDS) {
          const t = await stt.transcribe(await speak(sentence, { voice, speed }));
          const what = `${sentence} ${voice} ${speed} -> ${t.text}`;
          expect(t.confidence, what).toBeLessThan(THRESHOLD);
        }
      }
    }
  });

  it('scores white noise and babble below the threshold', async () => {
    const cases: Array<[string, Int16Array]> = [
      ['white noise, faint', noise(2000, 100, 3)],
      ['white noise, quiet', noise(2000, 300, 1)],
      ['white noise, loud', noise(2000, 3000, 2)],
      ['babble of four voices', await babble()],
      ['silence', silence(2000)],
    ];
    for (const [name, audio] of cases) {
      const t = await stt.transcribe(audio);
      expect(t.confidence, `${name} -> ${t.text}`).toBeLessThan(THRESHOLD);
    }
  });
});

describe('PocketsphinxStt streaming', () => {
  it('gives the same transcript for 20 ms chunks as for one write', async () => {
    const audio = await speak('open breaker eight at substation eleven', { voice: 'en-us+m3' });
    const whole = await stt.transcribe(audio);
    const stream = stt.start();
    for (let at = 0; at < audio.length; at += 320) stream.write(audio.subarray(at, at + 320));
    const chunked = await stream.end();
    expect(chunked).toEqual(whole);
  });

  it('decodes utterances one after another from the warm helper', async () => {
    const results: Transcript[] = [];
    for (const sentence of ['cancel', 'no', 'cancel']) {
      results.push(await stt.transcribe(await speak(sentence)));
    }
    expect(results.map((r) => r.text)).toEqual(['cancel', 'no', 'cancel']);
  });

  it('kills the helper when a stream is aborted', async () => {
    const cold = await PocketsphinxStt.create({ jsgf: JSGF, warm: false });
    try {
      const others = helperChildren();
      const stream = cold.start();
      stream.write(await speak('what is on my calendar'));
      const pids = helperChildren().filter((p) => !others.includes(p));
      expect(pids.length).toBe(1);
      stream.abort();
      await expect(stream.end()).rejects.toMatchObject({ code: 'GW_ENGINE_FAILED' });
      await waitUntilGone(pids);
    } finally {
      await cold.close();
    }
  });

  it('rejects a pending end() when its signal aborts', async () => {
    const controller = new AbortController();
    const stream = stt.start({ signal: controller.signal });
    stream.write(await speak('what is on my calendar today'));
    const pending = stream.end();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'GW_ENGINE_FAILED' });
  });

  it('fails an utterance longer than the maximum with GW_AUDIO_TOO_LONG', async () => {
    const short = await PocketsphinxStt.create({ jsgf: JSGF, maxUtteranceMs: 1000, warm: false });
    try {
      await expect(short.transcribe(silence(1500)))
        .rejects.toMatchObject({ code: 'GW_AUDIO_TOO_LONG' });
    } finally {
      await short.close();
    }
  });

  it('kills the helper and fails with GW_ENGINE_TIMEOUT past the decode deadline', async () => {
    const hasty = await PocketsphinxStt.create({ jsgf: JSGF, decodeTimeoutMs: 1, warm: false });
    try {
      const sentence = 'hey jarvis open breaker twenty at substation five';
      const audio = await speak(sentence, { speed: 120 });
      const others = helperChildren();
      const pending = hasty.transcribe(audio);
      const pids = helperChildren().filter((p) => !others.includes(p));
      expect(pids.length).toBe(1);
      await expect(pending).rejects.toMatchObject({ code: 'GW_ENGINE_TIMEOUT' });
      await waitUntilGone(pids);
    } finally {
      await hasty.close();
    }
  });

  it('leaves no helper running after close()', async () => {
    const other = await PocketsphinxStt.create({ jsgf: JSGF });
    const before = helperChildren();
    await other.close();
    await other.close();
    const mine = before.filter((p) => !helperChildren().includes(p));
    expect(mine.length).toBeGreaterThan(0);
    expect(() => other.start()).toThrow(expect.objectContaining({ code: 'GW_ENGINE_FAILED' }));
  });
});

describe('PocketsphinxStt.create', () => {
  it('reports a missing helper with GW_ENGINE_MISSING', async () => {
    const err = await PocketsphinxStt.create({ jsgf: JSGF, helperPath: '/nonexistent/ps_decode' })
      .catch((e: GatewayError) => e);
    expect(err).toMatchObject({ code: 'GW_ENGINE_MISSING' });
    expect((err as GatewayError).message).toContain('setup.sh');
  });

  it('reports a missing model with GW_MODEL_MISSING', async () => {
    const err = await PocketsphinxStt.create({ jsgf: JSGF, modelDir: '/nonexistent/model' })
      .catch((e: GatewayError) => e);
    expect(err).toMatchObject({ code: 'GW_MODEL_MISSING' });
    expect((err as GatewayError).message).toContain('pocketsphinx-en-us');
  });

  it('refuses a grammar with a word that is not in the dictionary', async () => {
    const jsgf = '#JSGF V1.0;\ngrammar bad;\npublic <a> = open | frobnicatorzz;\n';
    await expect(PocketsphinxStt.create({ jsgf }))
      .rejects.toMatchObject({ code: 'GW_ENGINE_FAILED' });
  });

  it('is what the factory builds for engine pocketsphinx', async () => {
    const built = await createSpeechToText({ engine: 'pocketsphinx', jsgf: JSGF, warm: false });
    try {
      expect(built).toBeInstanceOf(PocketsphinxStt);
      expect((await built.transcribe(await speak('cancel'))).text).toBe('cancel');
    } finally {
      await built.close();
    }
  });
});
