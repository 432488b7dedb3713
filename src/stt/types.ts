export interface TranscriptWord {
  readonly word: string;
  readonly startMs: number;
  readonly endMs: number;
}

export interface Transcript {
  readonly engine: 'pocketsphinx' | 'openai';
  /** Lower-case words separated by single spaces; empty when nothing was recognised. */
  readonly text: string;
  /** 0..1, derived from a real signal; null when the engine gives none. */
  readonly confidence: number | null;
  readonly words?: readonly TranscriptWord[];
}

/** One utterance being decoded while it is still being spoken. */
export interface SttStream {
  write(samples: Int16Array): void;
  /** Signals the end of the utterance and resolves with the final transcript. */
  end(): Promise<Transcript>;
  abort(): void;
}

export interface SttStartOptions {
  readonly signal?: AbortSignal;
  /**
   * Audio heard just before the utterance (the wake phrase, the previous turn).
   * It is not transcribed; an engine may use it to adapt to the speaker and channel.
   */
  readonly context?: Int16Array;
  /**
   * Adapt to the utterance's own first moments too, before decoding starts (a short
   * answer whose context is mostly silence). Costs up to 0.8 s of decoding head start.
   */
  readonly adaptToStart?: boolean;
}

export interface SpeechToText {
  readonly engine: Transcript['engine'];
  start(options?: SttStartOptions): SttStream;
  transcribe(samples: Int16Array, options?: SttStartOptions): Promise<Transcript>;
  close(): Promise<void>;
}
