import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayError } from '../../src/errors.js';
import { OpenAiTts } from '../../src/tts/openai.js';
import { createTextToSpeech } from '../../src/tts/index.js';

const KEY = 'sk-test-local';

interface SpeechRequest {
  auth: string | undefined;
  body: { model?: string; voice?: string; input?: string; response_format?: string };
}

/** A local stand-in for POST /v1/audio/speech that answers with real espeak-ng audio. */
const requests: SpeechRequest[] = [];
let server: Server;
let baseURL: string;
let mode: 'ok' | 'error' | 'hang' | 'not-wav' = 'ok';

function speechWav(text: string): Buffer {
  return execFileSync('espeak-ng', ['-v', 'en-us', '--stdout', '--', text]);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/audio/speech') {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SpeechRequest['body'];
    requests.push({ auth: req.headers.authorization, body });
    if (mode === 'hang') return;
    if (mode === 'error') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'voice engine down', type: 'server_error' } }));
      return;
    }
    if (mode === 'not-wav') {
      res.writeHead(200, { 'content-type': 'audio/wav' }).end('ID3 an mp3 instead');
      return;
    }
    const wav = speechWav(body.input ?? '');
    if (body.response_format === 'pcm') {
      // The API's raw format: 24 kHz s16le mono.
      const raw = execFileSync('sox', ['-t', 'wav', '-', '-r', '24000', '-t', 'raw', '-'], {
        input: wav,
      });
      res.writeHead(200, { 'content-type': 'audio/pcm' }).end(raw);
      return;
    }
    res.writeHead(200, { 'content-type': 'audio/wav' }).end(wav);
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function tts(extra: Partial<ConstructorParameters<typeof OpenAiTts>[0]> = {}): OpenAiTts {
  return new OpenAiTts({ apiKey: KEY, baseURL, maxRetries: 0, ...extra });
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'no error',
    (e: unknown) => e,
  );
}

describe('OpenAiTts against a local speech endpoint', () => {
  it('posts model, voice and text with the key and decodes the WAV it gets back', async () => {
    mode = 'ok';
    requests.length = 0;
    const audio = await tts({ model: 'tts-1', voice: 'nova' }).synthesize('the breaker is closed');
    expect(requests).toHaveLength(1);
    expect(requests[0]?.auth).toBe(`Bearer ${KEY}`);
    expect(requests[0]?.body).toMatchObject({
      model: 'tts-1',
      voice: 'nova',
      input: 'the breaker is closed',
      response_format: 'wav',
    });
    expect(audio.sampleRate).toBe(22050);
    expect(audio.samples.length).toBeGreaterThan(22050);
  });

  it('reads the raw pcm format as 24 kHz samples', async () => {
    mode = 'ok';
    const audio = await tts({ format: 'pcm' }).synthesize('confirm');
    expect(audio.sampleRate).toBe(24000);
    const wavLen = (await tts().synthesize('confirm')).samples.length;
    expect(Math.abs(audio.samples.length - (wavLen * 24000) / 22050)).toBeLessThan(50);
  });

  it('is built by createTextToSpeech with engine openai', async () => {
    mode = 'ok';
    const engine = createTextToSpeech({ engine: 'openai', apiKey: KEY, baseURL, maxRetries: 0 });
    expect(engine.engine).toBe('openai');
    expect((await engine.synthesize('yes')).samples.length).toBeGreaterThan(0);
  });

  it('refuses to start without an API key (GW_CLOUD_KEY_MISSING)', () => {
    expect(() => new OpenAiTts({ baseURL })).toThrow(expect.objectContaining({
      code: 'GW_CLOUD_KEY_MISSING',
    }) as Error);
  });

  it('turns an HTTP error into GW_CLOUD_FAILED', async () => {
    mode = 'error';
    const err = (await errorOf(tts().synthesize('hello'))) as GatewayError;
    expect(err.code).toBe('GW_CLOUD_FAILED');
    expect(err.message).toContain('500');
    expect(err.retryable).toBe(true);
  });

  it('turns a body that is not a WAV into GW_CLOUD_FAILED', async () => {
    mode = 'not-wav';
    const err = (await errorOf(tts().synthesize('hello'))) as GatewayError;
    expect(err.code).toBe('GW_CLOUD_FAILED');
  });

  it('turns an unreachable endpoint into GW_CLOUD_FAILED', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await errorOf(tts({ baseURL: `http://127.0.0.1:${port}/v1` }).synthesize('x'));
    expect((err as GatewayError).code).toBe('GW_CLOUD_FAILED');
  });

  it('rejects with the abort reason when aborted while the server is silent', async () => {
    mode = 'hang';
    requests.length = 0;
    const ac = new AbortController();
    const pending = errorOf(tts().synthesize('hello', ac.signal));
    while (requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    expect(((await pending) as Error).name).toBe('AbortError');
  });

  it('gives GW_CLOUD_FAILED when the server stays silent past the deadline', async () => {
    mode = 'hang';
    const err = await errorOf(tts({ timeoutMs: 300 }).synthesize('hello'));
    expect((err as GatewayError).code).toBe('GW_CLOUD_FAILED');
  });
});
