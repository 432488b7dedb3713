import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { samplesToMs } from '../audio/pcm.js';
import { writeWavFile } from '../audio/wav.js';
import type { GatewayConfig } from '../config/load.js';
import type { RegisteredConnector } from '../connectors/types.js';
import type { EndpointerOptions, VoiceActivityDetector } from '../endpoint/types.js';
import { asGatewayError } from '../errors.js';
import {
  DEFAULT_ACTION_TIMEOUT_MS, Executor, type Execution, type ExecutorOptions,
} from '../isolation/executor.js';
import { ActionRunner, type ActionAudit } from './act.js';
import type { Logger } from '../log.js';
import type { LlmUnderstanding } from '../nlu/llm.js';
import { mayAskLlm, proposalGrounded } from '../nlu/llm-guard.js';
import type { IntentSet, Understanding } from '../nlu/types.js';
import type { SpeechToText } from '../stt/types.js';
import type { TextToSpeech } from '../tts/types.js';
import type { WakeDetector, WakeEvent } from '../wake/types.js';
import { Listener, WAKE_PHRASE, chunksOf, rechunk } from './listener.js';
import { Conversation, type DialogueStep } from './conversation.js';
import { ActionGuard } from './guard.js';
import type { TurnReport } from './report.js';

/** Consecutive failed turns after which live listening gives up. */
const MAX_LIVE_FAILURES = 3;

export interface Engines {
  readonly wake: WakeDetector | null;
  readonly vad: VoiceActivityDetector;
  readonly stt: SpeechToText;
  readonly tts: TextToSpeech;
  readonly intents: IntentSet;
  /** The LLM fallback, when configured with a key. */
  readonly llm?: LlmUnderstanding;
}

export interface PipelineOptions {
  readonly config: GatewayConfig;
  readonly engines: Engines;
  readonly connectors: ReadonlyMap<string, RegisteredConnector>;
  readonly log: Logger;
  /** Directory reply WAVs are written to; null writes none. */
  readonly outputDir: string | null;
  /** The clock connectors see ("tomorrow" is relative to it). */
  readonly now?: () => Date;
  readonly timeZone: string;
  /** Where relative secret files (the PIN) resolve; the working directory by default. */
  readonly baseDir?: string;
  /** Endpoints, settings and secrets of each sandboxed connector's calls. */
  readonly sandboxPlan?: ExecutorOptions['sandboxPlan'];
  /**
   * The signed audit trail. Dangerous and critical actions run only after their record is
   * on disk, and are refused when there is no trail.
   */
  readonly audit?: ActionAudit;
}

export type { ActionAudit } from './act.js';

const WAKE_WORDS = new Set(WAKE_PHRASE.split(' '));

/** What reports and logs show in place of a secret answer (a spoken PIN). */
export const SECRET_INPUT = '[secret]';

export function stripWakePhrase(text: string): string {
  const words = text.split(' ').filter(Boolean);
  let i = 0;
  while (i < words.length && i < WAKE_WORDS.size && WAKE_WORDS.has(words[i] ?? '')) i++;
  return words.slice(i).join(' ');
}

/**
 * Runs turns: audio (or text) in, a TurnReport and a spoken reply out. One
 * Pipeline is one conversation; its clock advances by the audio it hears and
 * the replies it speaks, so follow-up and confirmation windows are counted in
 * conversation time whether the audio is live or replayed.
 */
export class Pipeline {
  readonly conversation: Conversation;
  private readonly runner: ActionRunner;
  private readonly listener: Listener;
  private clockMs = 0;
  private turn = 0;
  private lastStep: DialogueStep | null = null;
  /** Names this conversation's reply files, so that runs do not overwrite each other. */
  private readonly id = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '') +
    `-${process.pid}`;

  constructor(private readonly opts: PipelineOptions) {
    const { engines, config } = opts;
    const guard = ActionGuard.withDefaults(config, {
      timeZone: opts.timeZone,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.baseDir ? { baseDir: opts.baseDir } : {}),
    });
    this.conversation = new Conversation(config, engines.intents, opts.connectors, guard);
    const executor = new Executor(opts.connectors, config, DEFAULT_ACTION_TIMEOUT_MS,
      opts.sandboxPlan ? { sandboxPlan: opts.sandboxPlan } : {});
    this.runner = new ActionRunner(executor, config, opts.audit, opts.now, opts.timeZone);
    this.listener = new Listener(engines.wake, engines.vad, engines.stt, endpointerOptions(config));
  }

  get clock(): number {
    return this.clockMs;
  }

  /** One turn from 16 kHz mono audio. `pace` feeds it at real-time speed (bench, --realtime). */
  async runAudio(samples: Int16Array, source: string, pace = false): Promise<TurnReport> {
    const at = this.clockMs;
    const durationMs = samplesToMs(samples.length);
    const report = await this.runFrom(chunksOf(samples, pace), source, at, durationMs, pace);
    return report;
  }

  /**
   * Live audio (microphone, stream): runs turns until the source ends or the
   * signal aborts, handing each report to `onTurn`. The clock is the wall clock.
   */
  async runLive(
    frames: AsyncIterable<Int16Array>,
    onTurn: (r: TurnReport) => Promise<void> | void,
    signal?: AbortSignal,
  ): Promise<void> {
    const started = performance.now();
    const inner = rechunk(frames)[Symbol.asyncIterator]();
    let ended = false;
    let sourceFailure: unknown = null;
    const source: AsyncIterator<Int16Array> = {
      next: async () => {
        try {
          const r = signal?.aborted
            ? { done: true as const, value: undefined }
            : await inner.next();
          if (r.done) ended = true;
          return r;
        } catch (err) {
          sourceFailure = err; // the microphone itself failed: nothing more will come
          throw err;
        }
      },
    };
    let failures = 0;
    while (!ended && !signal?.aborted) {
      const at = performance.now() - started;
      let report: TurnReport;
      try {
        report = await this.runFrom(source, 'live', at, null, true);
        failures = 0;
      } catch (err) {
        // A passing failure (a cloud engine's 500, a timeout) loses one turn, not the session;
        // the same failure again and again is not passing.
        const e = asGatewayError(err);
        if (sourceFailure || !e.retryable || ++failures >= MAX_LIVE_FAILURES) throw e;
        this.opts.log.warn({ code: e.code, err: e.message }, 'turn failed; listening again');
        continue;
      }
      if (ended && report.decision === 'ignored') break;
      await onTurn(report);
      this.clockMs = performance.now() - started;
      if (this.lastStep) this.conversation.replied(this.lastStep, this.clockMs);
    }
    await inner.return?.(undefined);
  }

  private async runFrom(
    source: AsyncIterator<Int16Array>,
    name: string,
    at: number,
    durationMs: number | null,
    realtime: boolean,
  ): Promise<TurnReport> {
    const turn = ++this.turn;
    const addressed = this.opts.engines.wake === null || this.conversation.inFollowUp(at);
    const heard = await this.listener.hear(source, addressed);
    const text = heard.transcript ? stripWakePhrase(heard.transcript.text) : '';
    const confidence = heard.transcript?.confidence ?? null;
    const understanding = await this.understand(text, confidence, heard.timings);
    const transcript = heard.transcript ? { text, confidence: heard.transcript.confidence } : null;
    const step = this.conversation.handle({
      addressed: addressed || heard.wake !== null, transcript, understanding, at,
    });
    return this.finish({
      turn, at, durationMs: durationMs ?? samplesToMs(heard.samples), source: name, kind: 'audio',
      wake: heard.wake, transcript, transcriptEngine: heard.transcript?.engine ?? null, step,
      timings: heard.timings, realtime,
    });
  }

  /**
   * Templates first. Only when no template matches a confident transcript does the LLM
   * fallback (if configured) get to propose an action; its proposal then goes through
   * the same policy and confirmation as any other.
   */
  private async understand(
    text: string,
    confidence: number | null,
    timings: Record<string, number>,
  ): Promise<Understanding | null> {
    if (!text) return null;
    const n0 = performance.now();
    const matched = this.opts.engines.intents.match(text);
    timings.nlu = performance.now() - n0;
    const llm = this.opts.engines.llm;
    const confident = confidence === null || confidence >= this.opts.config.stt.min_confidence;
    if (matched.kind === 'intent' || matched.reason !== 'no_match' || !llm || !confident
      || this.conversation.awaitingAnswer) {
      return matched;
    }
    if (!mayAskLlm(text)) return matched;
    const l0 = performance.now();
    const proposed = await llm.understand(text);
    timings.llm = performance.now() - l0;
    if (proposed.kind !== 'intent') return matched;
    // A number the person did not say is never proposed for confirmation.
    if (!proposalGrounded(text, proposed.slots)) {
      return { kind: 'not_understood', reason: 'llm_ungrounded' };
    }
    // Held to the same lists and ranges as a template match: "breaker one hundred" is
    // refused with the range said, and a contact no list holds is not guessed at.
    const outside = this.opts.engines.intents.slotOutside(proposed.intent, proposed.slots);
    if (outside?.kind === 'range') {
      return { kind: 'not_understood', reason: 'out_of_range', detail: outside.detail };
    }
    if (outside) return { kind: 'not_understood', reason: 'llm_unknown_value' };
    return proposed;
  }

  /** One turn from text: no wake word and no speech-to-text. */
  async runText(text: string): Promise<TurnReport> {
    const turn = ++this.turn;
    const at = this.clockMs;
    const clean = text.trim();
    const timings: Record<string, number> = {};
    const understanding = await this.understand(clean, null, timings);
    const transcript = { text: clean, confidence: null };
    const step = this.conversation.handle({
      addressed: true, transcript, understanding, at, channel: 'text',
    });
    return this.finish({
      turn, at, durationMs: null, source: text, kind: 'text', wake: null, transcript,
      transcriptEngine: 'text', step, timings, realtime: false,
    });
  }

  private async finish(t: {
    turn: number; at: number; durationMs: number | null; source: string; kind: 'audio' | 'text';
    wake: WakeEvent | null; transcript: { text: string; confidence: number | null } | null;
    transcriptEngine: string | null; step: DialogueStep; timings: Record<string, number>;
    realtime: boolean;
  }): Promise<TurnReport> {
    const log = this.opts.log.child({ turn: t.turn });
    const r0 = performance.now();
    let step = t.step;
    let execution: Execution | null = null;
    let microvm: TurnReport['microvm'] = null;
    const clock = { heardAt: t.at + (t.durationMs ?? 0), realtime: t.realtime };
    if (step.execute) {
      const a0 = performance.now();
      ({ execution, microvm } = await this.runner.run(step.execute, step.tier ?? 'critical',
        clock, log));
      t.timings.action = performance.now() - a0;
      this.conversation.executed(step, execution);
      step = Conversation.settle(step, execution);
    }
    // A critical action being read back starts its microVM now, behind the prompt; one no
    // longer pending is dropped.
    const pending = this.conversation.pendingAction;
    if (step.decision === 'confirmation_requested') await this.runner.prepare(pending, clock, log);
    else await this.runner.keepFor(pending);
    const reply = step.reply ? await this.speak(step.reply, t.turn, t.timings) : null;
    t.timings.end_of_utterance_to_reply = (t.timings.stt ?? 0) + (performance.now() - r0);
    if (t.timings.trailing_silence !== undefined) {
      t.timings.end_of_speech_to_reply =
        t.timings.trailing_silence + t.timings.end_of_utterance_to_reply;
    }
    this.clockMs = t.at + (t.durationMs ?? 0) + (reply?.durationMs ?? 0);
    this.conversation.replied(step, this.clockMs);
    this.lastStep = step;
    const report: TurnReport = {
      turn: t.turn,
      input: {
        kind: t.kind,
        // Typed text is its own source; a file name says nothing secret.
        source: step.secretInput && t.kind === 'text' ? SECRET_INPUT : t.source,
        durationMs: t.durationMs,
      },
      wake: t.wake && {
        engine: t.wake.engine, keyword: t.wake.keyword, score: round(t.wake.score, 3),
        atMs: Math.round(samplesToMs(t.wake.atSample)),
      },
      transcript: t.transcript && {
        // A PIN is never echoed, logged or reported, whatever the log settings.
        text: step.secretInput ? SECRET_INPUT : t.transcript.text,
        engine: t.transcriptEngine ?? 'unknown',
        confidence: t.transcript.confidence === null ? null : round(t.transcript.confidence, 3),
      },
      intent: step.intent && {
        name: step.intent.intent, slots: step.intent.slots,
        source: 'source' in step.intent && step.intent.source === 'llm' ? 'llm' : 'template',
      },
      action: step.action,
      tier: step.tier,
      decision: step.decision,
      reason: step.reason,
      outcome: execution?.outcome ?? null,
      isolation: execution?.sandbox ?? null,
      microvm,
      reply,
      error: execution?.error ?? null,
      timings: Object.fromEntries(Object.entries(t.timings).map(([k, v]) => [k, round(v, 1)])),
    };
    log.info({
      decision: report.decision, reason: report.reason, intent: report.intent?.name ?? null,
      tier: report.tier, outcome: report.outcome, timings: report.timings,
      transcript: report.transcript?.text ?? null, reply: reply?.text ?? null,
    }, 'turn finished');
    return report;
  }

  /** Ends the conversation: a microVM started for an action never confirmed is destroyed. */
  async close(): Promise<void> {
    await this.runner.discard();
  }

  private async speak(
    text: string,
    turn: number,
    timings: Record<string, number>,
  ): Promise<TurnReport['reply']> {
    const t0 = performance.now();
    try {
      const audio = await this.opts.engines.tts.synthesize(text);
      timings.tts = performance.now() - t0;
      const durationMs = Math.round((audio.samples.length * 1000) / audio.sampleRate);
      if (!this.opts.outputDir) return { text, audio: null, durationMs };
      await mkdir(this.opts.outputDir, { recursive: true, mode: 0o700 });
      const file = path.join(this.opts.outputDir, `${this.id}-turn-${turn}.wav`);
      await writeWavFile(file, audio.samples, audio.sampleRate);
      return { text, audio: file, durationMs };
    } catch (err) {
      const e = asGatewayError(err);
      this.opts.log.error({ code: e.code, err: e.message }, 'speech synthesis failed');
      return { text, audio: null, durationMs: null };
    }
  }
}

export function endpointerOptions(config: GatewayConfig): EndpointerOptions {
  const e = config.endpoint;
  return {
    threshold: e.threshold,
    trailingSilenceMs: e.trailing_silence_ms,
    maxUtteranceMs: e.max_utterance_ms,
    noSpeechTimeoutMs: e.no_speech_timeout_ms,
    minSpeechMs: e.min_speech_ms,
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
