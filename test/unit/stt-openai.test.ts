import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSpeechToText } from '../../src/stt/index.js';
import { normaliseText, OpenAiStt, segmentConfidence } from '../../src/stt/openai.js';

const KEY = 'sk-test-local';

interface Received {
  auth: string | undefined;
  model: string | null;
  format: string | null;
  wav: Buffer;
}

/** A local stand-in for POST /v1/audio/transcriptions that parses the real multipart body. */
const received: Received[] = [];
let mode: 'verbose' | 'json' | 'error' | 'unauthorised' | 'hang' = 'verbose';
let server: Server;
let baseURL: string;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (req.method !== 'POST' || req.url !== '/v1/audio/transcriptions') {
    res.writeHead(404).end();
    return;
  }
  const form = await new Response(Buffer.concat(chunks), {
    headers: { 'content-type': req.headers['content-type'] ?? '' },
  }).formData();
  const file = form.get('file');
  const wav = file instanceof Blob ? Buffer.from(await file.arrayBuffer()) : Buffer.alloc(0);
  const model = form.get('model');
  const format = form.get('response_format');
  received.push({
    auth: req.headers.authorization,
    model: typeof model === 'string' ? model : null,
    format: typeof format === 'string' ? format : null,
    wav,
  });
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  if (mode === 'hang') return;
  if (mode === 'error') {
    return json(500, { error: { message: 'model overloaded', type: 'server_error' } });
  }
  if (req.headers.authorization !== `Bearer ${KEY}` || mode === 'unauthorised') {
    return json(401, { error: { message: 'bad key', type: 'invalid_request_error' } });
  }
  const text = 'Close breaker 7, at substation twelve.';
  if (mode === 'json' || format !== 'verbose_json') return json(200, { text });
  json(200, {
    text, language: 'english', duration: 2,
    segments: [
      { id: 0, seek: 0, start: 0, end: 1, text, avg_logprob: -0.1, no_speech_prob: 0.02,
        compression_ratio: 1, temperature: 0, tokens: [] },
      { id: 1, seek: 0, start: 1, end: 2, text: '', avg_logprob: -0.3, no_speech_prob: 0.02,
        compression_ratio: 1, temperature: 0, tokens: [] },
    ],
  });
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received.length = 0;
  mode = 'verbose';
});

const tone = (n: number): Int16Array => Int16Array.from({ length: n }, (_, i) => (i % 200) - 100);

describe('OpenAiStt', () => {
  it('uploads a 16 kHz mono WAV with the model and the key, and normalises the text', async () => {
    const stt = new OpenAiStt({ apiKey: KEY, baseURL, maxRetries: 0 });
    const samples = tone(8000);
    const t = await stt.transcribe(samples);
    expect(t.engine).toBe('openai');
    expect(t.text).toBe('close breaker 7 at substation twelve');
    const [req] = received;
    expect(req?.auth).toBe(`Bearer ${KEY}`);
    expect(req?.model).toBe('whisper-1');
    expect(req?.format).toBe('verbose_json');
    const wav = req!.wav;
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.toString('ascii', 8, 16)).toBe('WAVEfmt ');
    expect(wav.readUInt16LE(22)).toBe(1);
    expect(wav.readUInt32LE(24)).toBe(16_000);
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.readUInt32LE(40)).toBe(samples.length * 2);
    expect(wav.readInt16LE(44 + 2 * 150)).toBe(samples[150]);
  });

  it('derives confidence from verbose_json segments', async () => {
    const stt = new OpenAiStt({ apiKey: KEY, baseURL, maxRetries: 0 });
    const t = await stt.transcribe(tone(1600));
    expect(t.confidence).toBeCloseTo(Math.exp(-0.2) * 0.98, 6);
  });

  it('gives null confidence when the server returns plain json', async () => {
    const model = 'gpt-4o-mini-transcribe';
    const stt = new OpenAiStt({ apiKey: KEY, baseURL, model, maxRetries: 0 });
    const t = await stt.transcribe(tone(1600));
    expect(received[0]?.model).toBe('gpt-4o-mini-transcribe');
    expect(received[0]?.format).toBe('json');
    expect(t.confidence).toBeNull();
  });

  it('sends streamed chunks in order as one file at end()', async () => {
    const stt = new OpenAiStt({ apiKey: KEY, baseURL, maxRetries: 0 });
    const samples = tone(3200);
    const stream = stt.start();
    for (let at = 0; at < samples.length; at += 320) stream.write(samples.subarray(at, at + 320));
    await stream.end();
    const wav = received[0]!.wav;
    const back = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
    expect(Array.from(back)).toEqual(Array.from(samples));
  });

  it('maps a server error to GW_CLOUD_FAILED', async () => {
    mode = 'error';
    const stt = new OpenAiStt({ apiKey: KEY, baseURL, maxRetries: 0 });
    await expect(stt.transcribe(tone(1600))).rejects.toMatchObject({ code: 'GW_CLOUD_FAILED' });
  });

  it('maps a rejected key to GW_CLOUD_FAILED', async () => {
    const stt = new OpenAiStt({ apiKey: 'sk-wrong', baseURL, maxRetries: 0 });
    await expect(stt.transcribe(tone(1600))).rejects.toMatchObject({ code: 'GW_CLOUD_FAILED' });
    expect(received[0]?.auth).toBe('Bearer sk-wrong');
  });

  it('fails with GW_ENGINE_TIMEOUT when the server does not answer in time', async () => {
    mode = 'hang';
    const stt = new OpenAiStt({ apiKey: KEY, baseURL, maxRetries: 0, timeoutMs: 300 });
    await expect(stt.transcribe(tone(1600))).rejects.toMatchObject({ code: 'GW_ENGINE_TIMEOUT' });
  });

  it('cancels the request when its signal aborts', async () => {
    mode = 'hang';
    const stt = new OpenAiStt({ apiKey: KEY, baseURL, maxRetries: 0 });
    const controller = new AbortController();
    const pending = stt.transcribe(tone(1600), { signal: controller.signal });
    while (received.length === 0) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'GW_ENGINE_FAILED' });
  });

  it('refuses an utterance longer than the maximum before uploading it', async () => {
    const stt = new OpenAiStt({ apiKey: KEY, baseURL, maxRetries: 0, maxUtteranceMs: 100 });
    await expect(stt.transcribe(tone(3200))).rejects.toMatchObject({ code: 'GW_AUDIO_TOO_LONG' });
    expect(received).toHaveLength(0);
  });

  it('needs an API key: GW_CLOUD_KEY_MISSING', async () => {
    const missing = expect.objectContaining({ code: 'GW_CLOUD_KEY_MISSING' });
    expect(() => new OpenAiStt({ baseURL })).toThrow(missing);
    await expect(createSpeechToText({ engine: 'openai', baseURL }))
      .rejects.toMatchObject({ code: 'GW_CLOUD_KEY_MISSING' });
  });

  it('is what the factory builds for engine openai', async () => {
    const stt = await createSpeechToText({ engine: 'openai', apiKey: KEY, baseURL, maxRetries: 0 });
    expect(stt).toBeInstanceOf(OpenAiStt);
    expect((await stt.transcribe(tone(1600))).text).toBe('close breaker 7 at substation twelve');
    await stt.close();
  });
});

describe('transcript text and confidence helpers', () => {
  it('lower-cases, drops punctuation and keeps apostrophes inside words', () => {
    expect(normaliseText("  What's on my calendar,  TODAY? ")).toBe("what's on my calendar today");
    expect(normaliseText("'quoted' well-known")).toBe('quoted well known');
    expect(normaliseText('...')).toBe('');
  });

  it('has no confidence without segments', () => {
    expect(segmentConfidence(undefined)).toBeNull();
    expect(segmentConfidence([])).toBeNull();
  });
});
