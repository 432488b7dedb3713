import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket, RawData } from 'ws';
import { SAMPLE_RATE } from '../audio/pcm.js';
import { createResampler, type Resampler } from '../audio/resample.js';
import { decodeWavMono } from '../audio/wav.js';
import type { GatewayConfig } from '../config/load.js';
import { SECRET_INPUT, stripWakePhrase } from '../dialogue/pipeline.js';
import type { TurnReport } from '../dialogue/report.js';
import { GatewayError, asGatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { AudioQueue } from './audio-queue.js';
import type { ConversationHub } from './conversations.js';
import type { Metrics } from './metrics.js';
import type { Grant, OpenedPipeline, PipelineFactory } from './pipelines.js';

/** Close codes (docs/stream.md). 4400: protocol, 4408: session too long, 4413: limits. */
export const CLOSE = { normal: 1000, protocol: 4400, tooLong: 4408, limit: 4413, failed: 1011 };
/** Reply audio goes out in 100 ms frames, paced at real time so that barge-in can stop it. */
const REPLY_FRAME_MS = 100;
/** Outgoing bytes queued on the socket beyond which reply audio waits (slow reader). */
const SEND_HIGH_WATER = 256 * 1024;
const DENY = 'cancel';

export interface StreamDeps {
  readonly config: GatewayConfig;
  readonly factory: PipelineFactory;
  readonly hub: ConversationHub;
  readonly metrics: Metrics;
  readonly log: Logger;
}

type Mode = 'push_to_talk' | 'wake_word';

interface StreamConfirmation { id: string; expiresAt: number }

/**
 * One WebSocket stream: a `start` message, then PCM16 frames in; events and reply audio out.
 * Everything a client sends is checked; a bad message closes this stream with an error
 * event and a close code, and never reaches past it.
 */
export class AudioStream {
  private state: 'await_start' | 'opening' | 'running' | 'closed' = 'await_start';
  private opened: OpenedPipeline | null = null;
  private queue: AudioQueue | null = null;
  private resampler: Resampler | null = null;
  private readonly abort = new AbortController();
  private pending: StreamConfirmation | null = null;
  private playing: AbortController | null = null;
  private textChain: Promise<unknown> = Promise.resolve();
  private playDone: Promise<void> = Promise.resolve();
  private runDone: Promise<void> = Promise.resolve();
  private outDir: string | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;
  readonly id = randomUUID();

  constructor(
    private readonly ws: WebSocket,
    private readonly grant: Grant,
    private readonly deps: StreamDeps,
    private readonly release: () => void,
  ) {
    this.log = deps.log.child({ stream: this.id, principal: grant.principal });
    const limits = deps.config.server.limits;
    this.timer = setTimeout(() => this.fail(new GatewayError('GW_STREAM_LIMIT',
      `the stream passed its ${limits.max_stream_seconds} s limit`), CLOSE.tooLong),
    limits.max_stream_seconds * 1000);
    deps.metrics.streamsOpen += 1;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => void this.cleanup());
    ws.on('error', () => void this.cleanup());
  }

  private send(event: Record<string, unknown>): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(event));
  }

  private fail(err: unknown, code: number): void {
    const e = asGatewayError(err);
    this.log.warn({ code: e.code }, 'stream closed on error');
    this.send({ type: 'error', code: e.code, message: e.message });
    this.close(code, e.code);
  }

  private close(code: number, reason = ''): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(code, reason.slice(0, 100));
    // A paused socket would never read the peer's close frame: read (and drop) what is left.
    if (this.ws.isPaused) this.ws.resume();
    void this.cleanup();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.state === 'closed') return;
    try {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (isBinary) this.onAudio(buf);
      else this.onControl(buf.toString('utf8'));
    } catch (err) {
      this.fail(err, asGatewayError(err).code === 'GW_STREAM_LIMIT' ? CLOSE.limit : CLOSE.protocol);
    }
  }

  private onControl(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      throw protocol('a text message is not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      throw protocol('a text message must be one JSON object');
    }
    const m = msg as Record<string, unknown>;
    if (this.state === 'await_start') {
      if (m.type !== 'start') throw protocol('the first message must be {"type":"start",...}');
      this.start(m);
      return;
    }
    switch (m.type) {
      case 'start': throw protocol('"start" was already sent');
      case 'end': this.queue?.end(); return;
      case 'confirm':
      case 'cancel': this.decide(m); return;
      default: throw protocol('unknown message type');
    }
  }

  private start(m: Record<string, unknown>): void {
    const allowed = ['type', 'sample_rate', 'mode', 'format'];
    if (Object.keys(m).some((k) => !allowed.includes(k))) throw protocol('unknown field in start');
    const rate = m.sample_rate;
    if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 8_000 || rate > 96_000) {
      throw protocol('sample_rate must be an integer from 8000 to 96000');
    }
    if (m.format !== undefined && m.format !== 'pcm16') throw protocol('format must be pcm16');
    const mode = m.mode ?? 'push_to_talk';
    if (mode !== 'push_to_talk' && mode !== 'wake_word') {
      throw protocol('mode must be push_to_talk or wake_word');
    }
    this.state = 'opening';
    const limits = this.deps.config.server.limits;
    const high = Math.round((limits.max_buffered_ms * SAMPLE_RATE) / 1000);
    // Frames already parsed when the pause takes effect still arrive: room for a few more.
    const maxFrameSamples = Math.ceil((limits.max_frame_bytes / 2) * (SAMPLE_RATE / rate));
    this.queue = new AudioQueue(high, high * 4 + 4 * maxFrameSamples,
      { pause: () => this.ws.pause(), resume: () => this.ws.resume() });
    this.resampler = createResampler(rate, SAMPLE_RATE);
    void this.run(mode, rate);
  }

  private onAudio(buf: Buffer): void {
    if (this.state === 'await_start') throw protocol('audio before the start message');
    if (buf.length % 2 !== 0) throw protocol('a PCM16 frame has an odd number of bytes');
    const samples = new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    const converted = this.resampler?.push(samples) ?? samples;
    if (this.queue && !this.queue.push(converted)) {
      throw new GatewayError('GW_STREAM_LIMIT', 'too much audio buffered: send at real time');
    }
  }

  private async run(mode: Mode, rate: number): Promise<void> {
    try {
      this.outDir = await mkdtemp(path.join(tmpdir(), 'gateway-stream-'));
      this.opened = await this.deps.factory.open(this.grant, {
        audio: mode, outputDir: this.outDir,
        hooks: {
          onWake: (e) => this.send({ type: 'wake', keyword: e.keyword, score: e.score }),
          onSpeechStart: () => {
            this.bargeIn();
            this.send({ type: 'speech_start' });
          },
          onTranscript: (t) => {
            // An answer to "Say your PIN" is a secret: never echoed, not even to its speaker.
            const secret = this.opened?.pipeline.conversation.pendingAction?.awaitingPin;
            this.send({
              type: 'transcript', final: true,
              text: secret ? SECRET_INPUT : stripWakePhrase(t.text), confidence: t.confidence,
            });
          },
        },
      });
    } catch (err) {
      this.fail(err, CLOSE.failed);
      return;
    }
    if (this.isClosed()) {
      await this.opened.close(); // closed while its detectors were loading
      return;
    }
    this.state = 'running';
    const limits = this.deps.config.server.limits;
    this.send({
      type: 'ready', stream: this.id, mode, sample_rate: rate, principal: this.grant.principal,
      limits: { max_frame_bytes: limits.max_frame_bytes, max_stream_seconds:
        limits.max_stream_seconds, max_buffered_ms: limits.max_buffered_ms },
      recent: this.deps.hub.recentOf(this.grant.principal),
    });
    const queue = this.queue;
    if (!queue) return;
    this.runDone = this.opened.pipeline.runLive(queue, (r) => this.onTurn(r), this.abort.signal);
    try {
      await this.runDone;
      await this.textChain;
      await this.playDone;
      this.send({ type: 'end' });
      this.close(CLOSE.normal, 'end');
    } catch (err) {
      if (!this.isClosed()) this.fail(err, CLOSE.failed);
    }
  }

  private onTurn(r: TurnReport): void {
    if (this.isClosed() || r.decision === 'ignored') return;
    const { metrics, hub } = this.deps;
    const latency = r.timings.end_of_speech_to_reply ?? r.timings.end_of_utterance_to_reply;
    if (latency !== undefined) metrics.observeTurn('stream', latency);
    if (r.tier) metrics.countAction(r.tier, r.outcome ?? r.decision);
    if (r.microvm) metrics.microvmBoots += 1;
    hub.record(this.grant.principal, 'stream', r);
    if (r.intent) this.send({ type: 'intent', name: r.intent.name, slots: r.intent.slots });
    this.pending = null;
    if (r.decision === 'confirmation_requested') {
      const window = this.deps.config.dialogue.confirmation_window_ms;
      this.pending = { id: randomUUID(), expiresAt: Date.now() + (r.reply?.durationMs ?? 0)
        + window };
      this.send({
        type: 'confirmation', id: this.pending.id, readback: r.reply?.text ?? '',
        action: r.action, tier: r.tier, expires_at: new Date(this.pending.expiresAt).toISOString(),
      });
    }
    this.send({
      type: 'result', turn: r.turn, decision: r.decision, reason: r.reason, action: r.action,
      tier: r.tier, outcome: r.outcome, error: r.error, transcript: r.transcript?.text ?? null,
      reply: r.reply?.text ?? null, latency_ms: latency ?? null, timings: r.timings,
    });
    if (r.reply?.audio) this.playDone = this.play(r.reply.audio);
  }

  /** Button confirm/cancel for the stream's pending confirmation (typed, not spoken). */
  private decide(m: Record<string, unknown>): void {
    if (Object.keys(m).some((k) => k !== 'type' && k !== 'id') || typeof m.id !== 'string') {
      throw protocol('confirm and cancel carry exactly {"type", "id"}');
    }
    const p = this.pending;
    if (!p || p.id !== m.id) {
      this.send({ type: 'error', code: 'GW_CONFIRMATION_UNKNOWN',
        message: 'no pending confirmation with this id' });
      return;
    }
    this.pending = null;
    const expired = Date.now() > p.expiresAt;
    const text = m.type === 'confirm' && !expired
      ? this.deps.config.dialogue.confirmation_phrase : DENY;
    if (expired) {
      this.send({ type: 'error', code: 'GW_CONFIRMATION_EXPIRED',
        message: 'the confirmation window has passed' });
    }
    const pipeline = this.opened?.pipeline;
    if (!pipeline) return;
    this.textChain = this.textChain.then(async () => {
      this.bargeIn();
      const r = await pipeline.runText(text);
      this.onTurn(r);
    }).catch((err: unknown) => this.fail(err, CLOSE.failed));
  }

  /** New speech while a reply plays stops the reply. */
  private bargeIn(): void {
    if (!this.playing || this.playing.signal.aborted) return;
    this.playing.abort();
    this.send({ type: 'barge_in' });
  }

  /** Sends the reply WAV as PCM16 frames at real time, until done or barged in. */
  private async play(file: string): Promise<void> {
    this.bargeIn();
    const ctl = new AbortController();
    this.playing = ctl;
    try {
      const wav = decodeWavMono(await readFile(file));
      await rm(file, { force: true });
      const { samples, sampleRate } = wav;
      const step = Math.round((sampleRate * REPLY_FRAME_MS) / 1000);
      this.send({ type: 'reply_start', sample_rate: sampleRate, samples: samples.length });
      const t0 = Date.now();
      let i = 0;
      for (; i < samples.length && !ctl.signal.aborted; i += step) {
        while (this.ws.bufferedAmount > SEND_HIGH_WATER && !ctl.signal.aborted
          && !this.isClosed()) await sleep(20);
        if (this.ws.readyState !== this.ws.OPEN) return;
        const part = samples.subarray(i, i + step);
        this.ws.send(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
        const ahead = t0 + ((i + step) * 1000) / sampleRate - Date.now() - REPLY_FRAME_MS;
        if (ahead > 0) await sleep(ahead);
      }
      this.send({ type: 'reply_end', stopped: ctl.signal.aborted });
    } catch (err) {
      this.log.warn({ code: asGatewayError(err).code }, 'reply audio not sent');
    } finally {
      if (this.playing === ctl) this.playing = null;
      ctl.abort();
    }
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private async cleanup(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    this.abort.abort();
    this.queue?.end();
    this.playing?.abort();
    this.deps.metrics.streamsOpen -= 1;
    this.release();
    // The detectors are closed only once nothing is using them any more.
    await Promise.allSettled([this.runDone, this.textChain, this.playDone]);
    await this.opened?.close();
    if (this.outDir) await rm(this.outDir, { recursive: true, force: true });
  }
}

function protocol(message: string): GatewayError {
  return new GatewayError('GW_STREAM_PROTOCOL', message);
}
