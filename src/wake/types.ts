export interface WakeEvent {
  readonly engine: 'openwakeword' | 'porcupine';
  readonly keyword: string;
  /** Detector score in 0..1 (Porcupine reports 1 on detection). */
  readonly score: number;
  /** Index, in 16 kHz samples since the detector's last reset, where the detection fired. */
  readonly atSample: number;
}

export interface WakeDetector {
  readonly engine: WakeEvent['engine'];
  readonly keyword: string;
  /** Feed any number of 16 kHz mono samples; resolves to a detection if one fired within them. */
  process(samples: Int16Array): Promise<WakeEvent | null>;
  /** Forget the audio history (after a detection, or between turns). */
  reset(): void;
  close(): Promise<void>;
}
