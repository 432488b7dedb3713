import { accessSync, constants, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { SAMPLE_RATE } from '../audio/pcm.js';
import { HelperProcess } from './ps-process.js';
import { PocketsphinxStream } from './ps-stream.js';
import type { SpeechToText, SttStream, Transcript, SttStartOptions } from './types.js';

/** Where Debian's pocketsphinx-en-us puts the US English model. */
export const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
/** Longest utterance accepted; the helper enforces the same bound. */
export const DEFAULT_MAX_UTTERANCE_MS = 30_000;
/** From end() to the result; decoding a 3 s utterance takes well under a second. */
export const DEFAULT_DECODE_TIMEOUT_MS = 10_000;

export interface PocketsphinxOptions {
  /** JSGF grammar text; every word must be in the dictionary. */
  readonly jsgf: string;
  /** Holds `en-us/` (acoustic model) and `en-us-phone.lm.bin`; default Debian's. */
  readonly modelDir?: string;
  /** Default `<modelDir>/cmudict-en-us.dict`. */
  readonly dict?: string;
  /** Default `build/native/ps_decode`, built by native/build.sh. */
  readonly helperPath?: string;
  readonly maxUtteranceMs?: number;
  readonly decodeTimeoutMs?: number;
  /**
   * Keep one helper started and loaded (about 0.1 s of start-up and 40 MB) so
   * that the next utterance does not wait for it. Default true.
   */
  readonly warm?: boolean;
  readonly log?: Logger;
}

/** The helper built by native/build.sh, relative to this module (src/ or dist/). */
export function helperPath(): string {
  return fileURLToPath(new URL('../../build/native/ps_decode', import.meta.url));
}

function checkHelper(path: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new GatewayError('GW_ENGINE_MISSING',
      `the pocketsphinx helper ${path} is not built: run ./scripts/setup.sh ` +
      '(it needs the Debian packages libpocketsphinx-dev and libsphinxbase-dev)');
  }
}

function checkModel(files: readonly string[]): void {
  const missing = files.find((f) => !existsSync(f));
  if (missing !== undefined) {
    throw new GatewayError('GW_MODEL_MISSING',
      `the pocketsphinx model file ${missing} is missing: apt-get install pocketsphinx-en-us ` +
      '(or run ./scripts/setup.sh)');
  }
}

/** Grammar-constrained recognition with pocketsphinx, confidence from a phone-loop ratio. */
export class PocketsphinxStt implements SpeechToText {
  readonly engine = 'pocketsphinx' as const;
  private spare: HelperProcess | null = null;
  private readonly active = new Set<PocketsphinxStream>();
  private closed = false;

  private constructor(
    private readonly program: string,
    private readonly args: readonly string[],
    private readonly tempDir: string,
    private readonly options: PocketsphinxOptions,
  ) {}

  static async create(options: PocketsphinxOptions): Promise<PocketsphinxStt> {
    const program = options.helperPath ?? helperPath();
    const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
    const hmm = join(modelDir, 'en-us');
    const dict = options.dict ?? join(modelDir, 'cmudict-en-us.dict');
    const phoneLm = join(modelDir, 'en-us-phone.lm.bin');
    checkHelper(program);
    checkModel([join(hmm, 'mdef'), dict, phoneLm]);
    const maxMs = options.maxUtteranceMs ?? DEFAULT_MAX_UTTERANCE_MS;
    const tempDir = await mkdtemp(join(tmpdir(), 'gateway-stt-'));
    const grammar = join(tempDir, 'grammar.jsgf');
    const args = ['--grammar', grammar, '--hmm', hmm, '--dict', dict, '--phone-lm', phoneLm,
      '--max-seconds', String(Math.ceil(maxMs / 1000))];
    const stt = new PocketsphinxStt(program, args, tempDir, options);
    try {
      await writeFile(grammar, options.jsgf, { mode: 0o600 });
      await stt.check(dict);
    } catch (err) {
      await rm(tempDir, { recursive: true, force: true });
      throw err;
    }
    if (options.warm ?? true) stt.spare = new HelperProcess(program, args);
    return stt;
  }

  /** One run on empty input: fails now, not at the first command, on a bad grammar. */
  private async check(dict: string): Promise<void> {
    const probe = new HelperProcess(this.program, this.args);
    probe.endInput();
    const exit = await probe.done;
    if (exit.code === 0) return;
    if (exit.error) {
      throw new GatewayError('GW_ENGINE_MISSING',
        `the pocketsphinx helper ${this.program} cannot run: ${exit.error.message}`,
        { cause: exit.error });
    }
    throw new GatewayError('GW_ENGINE_FAILED',
      'pocketsphinx could not load the grammar: check its JSGF syntax and that every word ' +
      `is in ${dict}`);
  }

  start(options: SttStartOptions = {}): SttStream {
    const { signal, context, adaptToStart } = options;
    if (this.closed) throw new GatewayError('GW_ENGINE_FAILED', 'the speech recogniser is closed');
    const helper = this.spare?.alive ? this.spare : new HelperProcess(this.program, this.args);
    this.spare = null;
    const maxMs = this.options.maxUtteranceMs ?? DEFAULT_MAX_UTTERANCE_MS;
    const limits = {
      maxSamples: Math.ceil((maxMs * SAMPLE_RATE) / 1000),
      decodeTimeoutMs: this.options.decodeTimeoutMs ?? DEFAULT_DECODE_TIMEOUT_MS,
    };
    const stream: PocketsphinxStream = new PocketsphinxStream(helper, limits,
      () => this.active.delete(stream), this.options.log, signal, context, adaptToStart);
    this.active.add(stream);
    if (signal?.aborted) stream.abort();
    if (this.options.warm ?? true) this.spare = new HelperProcess(this.program, this.args);
    return stream;
  }

  transcribe(samples: Int16Array, options: SttStartOptions = {}): Promise<Transcript> {
    const stream = this.start(options);
    stream.write(samples);
    return stream.end();
  }

  /** Stops the spare helper and any utterance still being decoded; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stream of [...this.active]) stream.abort();
    const spare = this.spare;
    this.spare = null;
    if (spare) {
      spare.kill();
      await spare.done;
    }
    await rm(this.tempDir, { recursive: true, force: true });
  }
}
