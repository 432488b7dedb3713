export interface VoiceActivityDetector {
  readonly engine: 'silero' | 'energy';
  /** Samples per decision (the detector buffers partial frames internally). */
  readonly frameSamples: number;
  /** Feed any number of 16 kHz samples; resolves to one speech probability per complete frame. */
  process(samples: Int16Array): Promise<number[]>;
  reset(): void;
  close(): Promise<void>;
}

export interface EndpointerOptions {
  /** Probability at or above which a frame counts as speech. */
  readonly threshold: number;
  /** Silence after speech that ends the utterance. */
  readonly trailingSilenceMs: number;
  /** Hard bound on one utterance; reaching it ends the utterance. */
  readonly maxUtteranceMs: number;
  /** After the turn opened, how long to wait for speech to start before giving up. */
  readonly noSpeechTimeoutMs: number;
  /** Speech shorter than this is treated as a click, not the start of an utterance. */
  readonly minSpeechMs: number;
}

/**
 * `atSample` is always where the decision was made, in 16 kHz samples since the last
 * reset. The optional fields (always set by `Endpointer`) say where the speech itself
 * began and stopped, which is earlier: by `minSpeechMs` at the start and by the trailing
 * silence at the end.
 */
export type EndpointEvent =
  | {
      readonly type: 'speech_start';
      readonly atSample: number;
      /** First sample of the speech run that opened the utterance. */
      readonly speechStartSample?: number;
    }
  | {
      readonly type: 'speech_end';
      readonly atSample: number;
      readonly reason: 'silence' | 'max_length';
      /** Sample after the last speech frame; equals `atSample` for 'max_length'. */
      readonly speechEndSample?: number;
      /** Same as on 'speech_start', repeated so the utterance can be cut from one event. */
      readonly speechStartSample?: number;
    }
  | { readonly type: 'no_speech'; readonly atSample: number };
