export interface SpeechAudio {
  readonly samples: Int16Array;
  readonly sampleRate: number;
}

export interface TextToSpeech {
  readonly engine: 'espeak-ng' | 'openai';
  synthesize(text: string, signal?: AbortSignal): Promise<SpeechAudio>;
}
