import { isAbsolute } from 'node:path';
import { GatewayError } from '../errors.js';
import type { WakeDetector, WakeEvent } from './types.js';

type PorcupineModule = typeof import('@picovoice/porcupine-node');
type PorcupineHandle = InstanceType<PorcupineModule['Porcupine']>;

export interface PorcupineDetectorOptions {
  /** Picovoice AccessKey; falls back to the environment variable PICOVOICE_ACCESS_KEY. */
  accessKey?: string;
  /**
   * A built-in keyword ('jarvis', 'computer', 'hey google', ...) or an absolute path to a
   * `.ppn` file. 'hey_jarvis', the openWakeWord default, means 'jarvis'. Default 'jarvis'.
   */
  keyword?: string;
  /** 0..1, stricter when higher; Porcupine's sensitivity is 1 - threshold. Default 0.5. */
  threshold?: number;
}

const KEY_SETTING =
  'set wake.porcupine_access_key_file in the configuration, or PICOVOICE_ACCESS_KEY';

async function loadLibrary(): Promise<PorcupineModule> {
  try {
    return await import('@picovoice/porcupine-node');
  } catch (err) {
    throw new GatewayError(
      'GW_ENGINE_MISSING',
      'the Porcupine engine needs the npm package @picovoice/porcupine-node',
      { cause: err },
    );
  }
}

function keywordPath(lib: PorcupineModule, keyword: string): string {
  if (keyword.endsWith('.ppn') && isAbsolute(keyword)) return keyword;
  const name = keyword === 'hey_jarvis' ? 'jarvis' : keyword.replace(/_/g, ' ').toLowerCase();
  const builtins: string[] = Object.values(lib.BuiltinKeyword);
  const builtin = Object.values(lib.BuiltinKeyword).find((k) => k === name);
  if (builtin === undefined) {
    throw new GatewayError(
      'GW_MODEL_MISSING',
      `Porcupine has no built-in keyword "${keyword}"; available: ${builtins.join(', ')}` +
        ' (or give an absolute path to a .ppn file)',
    );
  }
  return lib.getBuiltinKeywordPath(builtin);
}

/** Turns the library's errors into one line that does not repeat the key. */
function translate(lib: PorcupineModule, err: unknown): GatewayError {
  const E = lib.PorcupineErrors;
  const keyProblem =
    (err instanceof E.PorcupineInvalidArgumentError && /AccessKey/i.test(err.message)) ||
    err instanceof E.PorcupineActivationError ||
    err instanceof E.PorcupineActivationRefusedError ||
    err instanceof E.PorcupineActivationLimitReachedError ||
    err instanceof E.PorcupineActivationThrottledError;
  if (keyProblem) {
    return new GatewayError(
      'GW_WAKE_KEY_REJECTED',
      `Picovoice rejected the AccessKey (${err.constructor.name}); ` +
        'check the file named by wake.porcupine_access_key_file, or PICOVOICE_ACCESS_KEY',
      { cause: err },
    );
  }
  const reason = err instanceof Error ? err.constructor.name : 'unknown error';
  return new GatewayError('GW_ENGINE_FAILED', `Porcupine failed to start (${reason})`, {
    cause: err,
  });
}

/**
 * Picovoice Porcupine, an optional engine that needs an AccessKey. The library is loaded
 * only when this detector is created, so the default path never loads it.
 */
export class PorcupineDetector implements WakeDetector {
  readonly engine = 'porcupine' as const;
  readonly keyword: string;
  private readonly pending: Int16Array;
  private pendingLength = 0;
  private samplesSeen = 0;
  private closed = false;

  private constructor(
    private readonly handle: PorcupineHandle,
    keyword: string,
  ) {
    this.keyword = keyword;
    this.pending = new Int16Array(handle.frameLength);
  }

  static async create(options: PorcupineDetectorOptions = {}): Promise<PorcupineDetector> {
    const accessKey = options.accessKey ?? process.env['PICOVOICE_ACCESS_KEY'] ?? '';
    if (accessKey.trim() === '') {
      throw new GatewayError(
        'GW_WAKE_KEY_MISSING',
        `the Porcupine wake engine needs a Picovoice AccessKey: ${KEY_SETTING}`,
      );
    }
    const threshold = options.threshold ?? 0.5;
    if (!(threshold >= 0 && threshold <= 1)) {
      const message = `wake threshold must be in [0, 1], not ${threshold}`;
      throw new GatewayError('GW_CONFIG_INVALID', message);
    }
    const keyword = options.keyword ?? 'jarvis';
    const lib = await loadLibrary();
    const path = keywordPath(lib, keyword);
    let handle: PorcupineHandle;
    try {
      handle = new lib.Porcupine(accessKey.trim(), [path], [1 - threshold]);
    } catch (err) {
      throw translate(lib, err);
    }
    return new PorcupineDetector(handle, keyword);
  }

  process(samples: Int16Array): Promise<WakeEvent | null> {
    if (this.closed) {
      return Promise.reject(new GatewayError('GW_ENGINE_FAILED', 'the wake detector is closed'));
    }
    let event: WakeEvent | null = null;
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(this.pending.length - this.pendingLength, samples.length - at);
      this.pending.set(samples.subarray(at, at + take), this.pendingLength);
      this.pendingLength += take;
      at += take;
      if (this.pendingLength < this.pending.length) break;
      this.pendingLength = 0;
      this.samplesSeen += this.pending.length;
      const index = this.handle.process(this.pending);
      if (index >= 0 && event === null) {
        const atSample = this.samplesSeen;
        event = { engine: this.engine, keyword: this.keyword, score: 1, atSample };
      }
    }
    return Promise.resolve(event);
  }

  reset(): void {
    this.pendingLength = 0;
    this.samplesSeen = 0;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.handle.release();
    }
    return Promise.resolve();
  }
}
